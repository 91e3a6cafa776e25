//! The single writer: it owns the write connection, batches requests into one transaction
//! (group commit) and appends events with their hashes. Replies go out only after COMMIT.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiesu_domain::{Actor, Case, CaseDraft, CaseEvent, Command, DomainError, Jurisdiction, Time};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool, Row};
use tokio::sync::{mpsc, oneshot};

use crate::chain::{event_hash, global_hash};
use crate::{Backend, Store, StoreError};

/// Who did it, as recorded in the trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorRef {
    pub id: String,
    pub name: String,
    pub role: String,
}

impl ActorRef {
    pub fn of(actor: &Actor) -> Self {
        ActorRef {
            id: actor.user_id.clone(),
            name: actor.display_name.clone(),
            role: actor.primary_role().as_str().to_string(),
        }
    }
    pub fn system() -> Self {
        ActorRef {
            id: "system".into(),
            name: "系统".into(),
            role: "system".into(),
        }
    }
}

/// A case with its whole trail, for bulk import (the demo's history, migrations from other systems).
#[derive(Debug, Clone)]
pub struct ImportedCase {
    pub id: String,
    pub events: Vec<(CaseEvent, Time, ActorRef)>,
}

#[derive(Debug, Default)]
pub struct WriterStats {
    pub batches: AtomicU64,
    pub jobs: AtomicU64,
    pub failed_batches: AtomicU64,
}

pub(crate) enum Op {
    Intake {
        juris: Arc<Jurisdiction>,
        draft: Box<CaseDraft>,
        actor: Box<Actor>,
        now: Time,
        idempotency: Option<(String, String)>,
    },
    Command {
        juris: Arc<Jurisdiction>,
        case_id: String,
        cmd: Box<Command>,
        actor: Box<Actor>,
        now: Time,
    },
    Import(Arc<Jurisdiction>, Vec<ImportedCase>),
    Readings(Vec<crate::SampleRow>),
}

pub(crate) enum Outcome {
    Case(Box<Case>, bool),
    Imported(usize),
    /// Stored samples, handed back to the caller (the ingest judges them next).
    Samples(Vec<crate::SampleRow>),
}

/// The reply for a job: stored samples go back to their sender instead of being dropped.
fn finish(op: Op, r: Result<Outcome, StoreError>) -> Result<Outcome, StoreError> {
    match (op, r) {
        (Op::Readings(rows), Ok(Outcome::Imported(_))) => Ok(Outcome::Samples(rows)),
        (_, r) => r,
    }
}

pub(crate) struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

struct Head {
    seq: i64,
    hash: String,
}

const MAX_BATCH: usize = 512;

pub(crate) async fn run(
    pool: AnyPool,
    backend: Backend,
    mut rx: mpsc::Receiver<Job>,
    stats: Arc<WriterStats>,
) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let ops: Vec<&Op> = jobs.iter().map(|j| &j.op).collect();
        match run_batch(&pool, backend, &ops).await {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(finish(job.op, r));
                }
            }
            Err(e) if jobs.len() > 1 => {
                // One bad job must not sink its neighbours: retry each in its own transaction.
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, n = jobs.len(), "batch failed; retrying one by one");
                for job in jobs {
                    let r = match run_batch(&pool, backend, &[&job.op]).await {
                        Ok(mut v) => v.pop().unwrap_or(Err(StoreError::NotFound)),
                        Err(e) => Err(StoreError::Unavailable(e.to_string())),
                    };
                    let _ = job.reply.send(finish(job.op, r));
                }
            }
            Err(e) => {
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "write failed");
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

/// Runs the batch in one transaction. The outer error aborts the whole batch (nothing written);
/// inner errors are refusals of single jobs, which wrote nothing.
async fn run_batch(
    pool: &AnyPool,
    backend: Backend,
    ops: &[&Op],
) -> Result<Vec<Result<Outcome, StoreError>>, sqlx::Error> {
    // SQLite: take the write lock up front, or a reader's commit between our first read and first
    // write would void the snapshot (SQLITE_BUSY_SNAPSHOT) instead of simply waiting.
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    let lock = match backend {
        // Several API nodes may share one PostgreSQL: the row lock orders their batches.
        Backend::Postgres => {
            "SELECT global_seq, global_hash FROM chain_head WHERE id = 1 FOR UPDATE"
        }
        Backend::Sqlite => "SELECT global_seq, global_hash FROM chain_head WHERE id = 1",
    };
    let row = sqlx::query(lock).fetch_one(&mut *tx).await?;
    let mut head = Head {
        seq: row.try_get(0)?,
        hash: row.try_get(1)?,
    };
    let start_seq = head.seq;
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        // Runs of intakes go in bulk: a handful of statements for the whole run.
        let run = ops[i..]
            .iter()
            .take_while(|o| matches!(o, Op::Intake { .. }))
            .count();
        let readings = ops[i..]
            .iter()
            .take_while(|o| matches!(o, Op::Readings(..)))
            .count();
        if run > 1 {
            out.extend(run_intakes(&mut tx, backend, &mut head, &ops[i..i + run]).await?);
            i += run;
        } else if readings > 1 {
            // Many devices' uploads in one multi-row insert.
            let rows = latest_per_key(ops[i..i + readings].iter().flat_map(|op| match op {
                Op::Readings(r) => r.as_slice(),
                _ => &[],
            }));
            crate::monitoring::insert_samples(&mut tx, backend, &rows).await?;
            for op in &ops[i..i + readings] {
                if let Op::Readings(r) = op {
                    out.push(Ok(Outcome::Imported(r.len())));
                }
            }
            i += readings;
        } else {
            out.push(run_op(&mut tx, backend, &mut head, ops[i]).await?);
            i += 1;
        }
    }
    if head.seq != start_seq {
        sqlx::query("UPDATE chain_head SET global_seq = $1, global_hash = $2 WHERE id = 1")
            .bind(head.seq)
            .bind(&head.hash)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(out)
}

async fn run_op(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &mut Head,
    op: &Op,
) -> Result<Result<Outcome, StoreError>, sqlx::Error> {
    match op {
        Op::Intake {
            juris,
            draft,
            actor,
            now,
            idempotency,
        } => {
            if let Some((key, fingerprint)) = idempotency {
                let row = sqlx::query(
                    "SELECT doc, idempotency_fingerprint FROM cases WHERE idempotency_key = $1",
                )
                .bind(key)
                .fetch_optional(&mut *conn)
                .await?;
                if let Some(row) = row {
                    let fp: Option<String> = row.try_get(1)?;
                    if fp.as_deref() != Some(fingerprint.as_str()) {
                        return Ok(Err(StoreError::IdempotencyMismatch));
                    }
                    let doc: String = row.try_get(0)?;
                    return Ok(parse_case(&doc).map(|c| Outcome::Case(Box::new(c), false)));
                }
            }
            let ev = match Case::intake(String::new(), (**draft).clone(), actor, &juris.ctx()) {
                Ok(ev) => ev,
                Err(e) => return Ok(Err(e.into())),
            };
            let number = next_number(conn, *now).await?;
            let ev = match ev {
                CaseEvent::Received {
                    intake_unit, draft, ..
                } => CaseEvent::Received {
                    number,
                    intake_unit,
                    draft,
                },
                other => other,
            };
            let id = ulid::Ulid::new().to_string();
            let Some(case) = Case::from_received(id.clone(), &ev, *now) else {
                return Ok(Err(StoreError::Corrupt("intake produced no case".into())));
            };
            let actor = ActorRef::of(actor);
            let row = EventRow::new(head, &id, 1, crate::GENESIS_HASH, &ev, &actor, *now)?;
            insert_events(conn, backend, std::slice::from_ref(&row)).await?;
            let projection = ProjectionRow::new(juris, &case, &row.hash, idempotency.as_ref())?;
            insert_projections(conn, backend, &[projection]).await?;
            Ok(Ok(Outcome::Case(Box::new(case), true)))
        }
        Op::Command {
            juris,
            case_id,
            cmd,
            actor,
            now,
        } => {
            let row = sqlx::query("SELECT doc FROM cases WHERE id = $1 OR number = $1")
                .bind(case_id)
                .fetch_optional(&mut *conn)
                .await?;
            let Some(row) = row else {
                return Ok(Err(StoreError::NotFound));
            };
            let doc: String = row.try_get(0)?;
            let mut case = match parse_case(&doc) {
                Ok(c) => c,
                Err(e) => return Ok(Err(e)),
            };
            if !actor.is_staff() && !case.visible_to(actor, &juris.org) {
                // A citizen's view: other people's cases do not exist. Staff out of scope get
                // the domain's explicit refusal instead, which says why.
                return Ok(Err(StoreError::NotFound));
            }
            let mut cmd = (**cmd).clone();
            if let Command::Merge { into } = &cmd {
                let target =
                    sqlx::query("SELECT id, state FROM cases WHERE id = $1 OR number = $1")
                        .bind(into)
                        .fetch_optional(&mut *conn)
                        .await?;
                match target {
                    None => {
                        return Ok(Err(DomainError::Invalid {
                            field: "into",
                            message: format!("no case {into}"),
                        }
                        .into()));
                    }
                    Some(t) => {
                        let state: String = t.try_get(1)?;
                        if state == "merged" {
                            return Ok(Err(DomainError::Conflict {
                                code: "merge_target_merged",
                                message: "the master case is itself merged".into(),
                            }
                            .into()));
                        }
                        cmd = Command::Merge {
                            into: t.try_get(0)?,
                        };
                    }
                }
            }
            let events = match case.apply(&cmd, actor, *now, &juris.ctx()) {
                Ok(e) => e,
                Err(e) => return Ok(Err(e.into())),
            };
            let last = append(
                conn,
                backend,
                head,
                &mut case,
                &events,
                &ActorRef::of(actor),
                *now,
            )
            .await?;
            update_projection(conn, juris, &case, &last).await?;
            Ok(Ok(Outcome::Case(Box::new(case), false)))
        }
        Op::Readings(rows) => {
            crate::monitoring::insert_samples(conn, backend, &latest_per_key(rows.iter())).await?;
            Ok(Ok(Outcome::Imported(rows.len())))
        }
        Op::Import(juris, cases) => {
            let mut event_rows = Vec::new();
            let mut projections = Vec::with_capacity(cases.len());
            let mut last_number: HashMap<String, i64> = HashMap::new();
            for ic in cases {
                let Some((first, at, _)) = ic.events.first() else {
                    continue;
                };
                let Some(mut case) = Case::from_received(ic.id.clone(), first, *at) else {
                    return Ok(Err(StoreError::Corrupt(format!(
                        "case {} does not start with received",
                        ic.id
                    ))));
                };
                let mut prev = crate::GENESIS_HASH.to_string();
                for (i, (ev, at, actor)) in ic.events.iter().enumerate() {
                    let row = EventRow::new(head, &case.id, i as i64 + 1, &prev, ev, actor, *at)?;
                    if i > 0 {
                        case.evolve(ev, *at);
                    }
                    prev = row.hash.clone();
                    event_rows.push(row);
                }
                if let Some((day, seq)) = case.number.split_at_checked(8)
                    && let Ok(seq) = seq.parse::<i64>()
                {
                    let e = last_number.entry(day.to_string()).or_insert(0);
                    *e = (*e).max(seq);
                }
                projections.push(ProjectionRow::new(juris, &case, &prev, None)?);
            }
            insert_events(conn, backend, &event_rows).await?;
            insert_projections(conn, backend, &projections).await?;
            for (day, seq) in last_number {
                bump_number(conn, backend, &day, seq).await?;
            }
            Ok(Ok(Outcome::Imported(projections.len())))
        }
    }
}

/// A new case decided in this batch, waiting for its number.
struct Pending<'a> {
    juris: &'a Jurisdiction,
    event: CaseEvent,
    actor: ActorRef,
    now: Time,
    day: String,
    idempotency: Option<&'a (String, String)>,
}

enum Slot {
    Done(Result<Outcome, StoreError>),
    /// Index into the pending list; `true` when this request created it.
    Pending(usize, bool),
}

/// Intakes in bulk: one idempotency lookup, one number allocation per day, multi-row inserts.
async fn run_intakes(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &mut Head,
    ops: &[&Op],
) -> Result<Vec<Result<Outcome, StoreError>>, sqlx::Error> {
    let keys: Vec<&str> = ops
        .iter()
        .filter_map(|o| match o {
            Op::Intake {
                idempotency: Some((k, _)),
                ..
            } => Some(k.as_str()),
            _ => None,
        })
        .collect();
    let mut existing: HashMap<String, (String, Option<String>)> = HashMap::new();
    for chunk in keys.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT idempotency_key, doc, idempotency_fingerprint FROM cases WHERE idempotency_key IN ({})",
            marks.join(", ")
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for k in chunk {
            q = q.bind(*k);
        }
        for row in q.fetch_all(&mut *conn).await? {
            existing.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
        }
    }
    let mut pending: Vec<Pending> = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    let mut slots = Vec::with_capacity(ops.len());
    for op in ops {
        let Op::Intake {
            juris,
            draft,
            actor,
            now,
            idempotency,
        } = op
        else {
            continue;
        };
        if let Some((key, fp)) = idempotency {
            if let Some((doc, stored_fp)) = existing.get(key) {
                slots.push(Slot::Done(if stored_fp.as_deref() == Some(fp.as_str()) {
                    parse_case(doc).map(|c| Outcome::Case(Box::new(c), false))
                } else {
                    Err(StoreError::IdempotencyMismatch)
                }));
                continue;
            }
            if let Some(&i) = by_key.get(key.as_str()) {
                let same = pending[i].idempotency.map(|x| &x.1) == Some(fp);
                slots.push(if same {
                    Slot::Pending(i, false)
                } else {
                    Slot::Done(Err(StoreError::IdempotencyMismatch))
                });
                continue;
            }
        }
        match Case::intake(String::new(), (**draft).clone(), actor, &juris.ctx()) {
            Err(e) => slots.push(Slot::Done(Err(e.into()))),
            Ok(event) => {
                if let Some((k, _)) = idempotency {
                    by_key.insert(k.as_str(), pending.len());
                }
                slots.push(Slot::Pending(pending.len(), true));
                pending.push(Pending {
                    juris,
                    event,
                    actor: ActorRef::of(actor),
                    now: *now,
                    day: now.format("%Y%m%d").to_string(),
                    idempotency: idempotency.as_ref(),
                });
            }
        }
    }
    // Daily numbers: one upsert per day reserves a block.
    let mut per_day: Vec<(String, i64)> = Vec::new();
    for p in &pending {
        match per_day.iter_mut().find(|(d, _)| *d == p.day) {
            Some((_, n)) => *n += 1,
            None => per_day.push((p.day.clone(), 1)),
        }
    }
    let mut next_in_day: HashMap<String, i64> = HashMap::new();
    for (day, n) in &per_day {
        let last: i64 = sqlx::query_scalar(
            "INSERT INTO case_numbers (day, last) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET last = case_numbers.last + excluded.last RETURNING last",
        )
        .bind(day)
        .bind(*n)
        .fetch_one(&mut *conn)
        .await?;
        next_in_day.insert(day.clone(), last - n + 1);
    }
    let mut cases: Vec<(Case, String)> = Vec::with_capacity(pending.len());
    let mut event_rows: Vec<EventRow> = Vec::with_capacity(pending.len());
    for p in &pending {
        let seq = next_in_day.entry(p.day.clone()).or_insert(1);
        let number = format!("{}{:06}", p.day, *seq);
        *seq += 1;
        let event = match &p.event {
            CaseEvent::Received {
                intake_unit, draft, ..
            } => CaseEvent::Received {
                number,
                intake_unit: intake_unit.clone(),
                draft: draft.clone(),
            },
            other => other.clone(),
        };
        let id = ulid::Ulid::new().to_string();
        let Some(case) = Case::from_received(id.clone(), &event, p.now) else {
            return Err(sqlx::Error::Protocol("intake produced no case".into()));
        };
        let row = EventRow::new(head, &id, 1, crate::GENESIS_HASH, &event, &p.actor, p.now)?;
        cases.push((case, row.hash.clone()));
        event_rows.push(row);
    }
    insert_events(conn, backend, &event_rows).await?;
    let rows: Vec<ProjectionRow> = pending
        .iter()
        .zip(&cases)
        .map(|(p, (case, last))| ProjectionRow::new(p.juris, case, last, p.idempotency))
        .collect::<Result<_, _>>()?;
    insert_projections(conn, backend, &rows).await?;
    Ok(slots
        .into_iter()
        .map(|s| match s {
            Slot::Done(r) => r,
            Slot::Pending(i, created) => Ok(Outcome::Case(Box::new(cases[i].0.clone()), created)),
        })
        .collect())
}

/// One row of `case_events`, hashed and placed on both chains.
struct EventRow {
    global_seq: i64,
    case_id: String,
    seq: i64,
    kind: &'static str,
    actor: ActorRef,
    at_ms: i64,
    data: String,
    prev_hash: String,
    hash: String,
    global_hash: String,
}

impl EventRow {
    fn new(
        head: &mut Head,
        case_id: &str,
        seq: i64,
        prev_hash: &str,
        ev: &CaseEvent,
        actor: &ActorRef,
        at: Time,
    ) -> Result<Self, sqlx::Error> {
        let data = serde_json::to_string(ev).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let kind = ev.type_name();
        let at_ms = at.timestamp_millis();
        let hash = event_hash(prev_hash, case_id, seq, kind, &actor.id, at_ms, &data);
        head.seq += 1;
        head.hash = global_hash(&head.hash, &hash);
        Ok(EventRow {
            global_seq: head.seq,
            case_id: case_id.to_string(),
            seq,
            kind,
            actor: actor.clone(),
            at_ms,
            data,
            prev_hash: prev_hash.to_string(),
            hash,
            global_hash: head.hash.clone(),
        })
    }
}

/// `VALUES (…), (…)` for a multi-row insert. SQLite gets anonymous `?` markers: naming them `$n`
/// makes binding quadratic (SQLite looks each name up in a list), which dominated bulk inserts.
/// One row per sample key, the later copy winning, in order of first appearance: a device
/// resending within one batch must not make one statement update a row twice.
fn latest_per_key<'a>(
    rows: impl Iterator<Item = &'a crate::SampleRow>,
) -> Vec<&'a crate::SampleRow> {
    let mut slot: HashMap<(&str, &str, i64, i64), usize> = HashMap::new();
    let mut out: Vec<&crate::SampleRow> = Vec::new();
    for row in rows {
        match slot.entry((row.mn.as_str(), row.kind, row.at_ms, row.part)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = row,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(row);
            }
        }
    }
    out
}

pub(crate) fn values_list(backend: Backend, rows: usize, cols: usize) -> String {
    let row = |r: usize| {
        let marks: Vec<String> = (1..=cols)
            .map(|c| match backend {
                Backend::Sqlite => "?".to_string(),
                Backend::Postgres => format!("${}", r * cols + c),
            })
            .collect();
        format!("({})", marks.join(", "))
    };
    (0..rows).map(row).collect::<Vec<_>>().join(", ")
}

async fn insert_events(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[EventRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(128) {
        let values = values_list(backend, chunk.len(), 12);
        let sql = format!(
            "INSERT INTO case_events (global_seq, case_id, seq, type, actor_id, actor_name, actor_role, at, data, prev_hash, hash, global_hash) VALUES {values}"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.global_seq)
                .bind(&r.case_id)
                .bind(r.seq)
                .bind(r.kind)
                .bind(&r.actor.id)
                .bind(&r.actor.name)
                .bind(&r.actor.role)
                .bind(r.at_ms)
                .bind(&r.data)
                .bind(&r.prev_hash)
                .bind(&r.hash)
                .bind(&r.global_hash);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// One row of the `cases` projection.
struct ProjectionRow {
    id: String,
    number: String,
    state: &'static str,
    kind: &'static str,
    channel: &'static str,
    urgency: &'static str,
    category: Option<String>,
    title: String,
    intake_unit: String,
    intake_path: String,
    assigned_unit: Option<String>,
    scope_path: String,
    waiting_on: Option<String>,
    is_open: i64,
    next_due: i64,
    resolve_due: Option<i64>,
    reporter_user: Option<String>,
    created_at: i64,
    updated_at: i64,
    version: i64,
    last_hash: String,
    idempotency_key: Option<String>,
    idempotency_fingerprint: Option<String>,
    doc: String,
}

impl ProjectionRow {
    fn new(
        juris: &Jurisdiction,
        case: &Case,
        last_hash: &str,
        idem: Option<&(String, String)>,
    ) -> Result<Self, sqlx::Error> {
        Ok(ProjectionRow {
            id: case.id.clone(),
            number: case.number.clone(),
            state: case.state.as_str(),
            kind: case.draft.kind.as_str(),
            channel: case.draft.channel.as_str(),
            urgency: case.draft.urgency.as_str(),
            category: case.draft.category.clone(),
            title: case.draft.title.clone(),
            intake_unit: case.intake_unit.to_string(),
            intake_path: path_of(juris, &case.intake_unit),
            assigned_unit: case.assigned_unit.as_ref().map(|u| u.to_string()),
            scope_path: path_of(juris, case.current_unit()),
            waiting_on: case.waiting_on().map(|u| u.to_string()),
            is_open: i64::from(case.state.is_open()),
            next_due: case
                .next_due()
                .map_or(FAR_FUTURE_MS, |t| t.timestamp_millis()),
            resolve_due: case
                .deadlines
                .as_ref()
                .map(|d| d.resolve_due.timestamp_millis()),
            reporter_user: case.draft.reporter.user_id.clone(),
            created_at: case.received_at.timestamp_millis(),
            updated_at: case.updated_at.timestamp_millis(),
            version: case.version as i64,
            last_hash: last_hash.to_string(),
            idempotency_key: idem.map(|i| i.0.clone()),
            idempotency_fingerprint: idem.map(|i| i.1.clone()),
            doc: serde_json::to_string(case).map_err(|e| sqlx::Error::Encode(Box::new(e)))?,
        })
    }
}

async fn insert_projections(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[ProjectionRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(64) {
        let values = values_list(backend, chunk.len(), 24);
        let sql = format!(
            "INSERT INTO cases (id, number, state, kind, channel, urgency, category_id, title, intake_unit, intake_path, \
             assigned_unit, scope_path, waiting_on, is_open, next_due, resolve_due, reporter_user, created_at, updated_at, \
             version, last_hash, idempotency_key, idempotency_fingerprint, doc) VALUES {values}"
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.id)
                .bind(&r.number)
                .bind(r.state)
                .bind(r.kind)
                .bind(r.channel)
                .bind(r.urgency)
                .bind(r.category.as_deref())
                .bind(&r.title)
                .bind(&r.intake_unit)
                .bind(&r.intake_path)
                .bind(r.assigned_unit.as_deref())
                .bind(&r.scope_path)
                .bind(r.waiting_on.as_deref())
                .bind(r.is_open)
                .bind(r.next_due)
                .bind(r.resolve_due)
                .bind(r.reporter_user.as_deref())
                .bind(r.created_at)
                .bind(r.updated_at)
                .bind(r.version)
                .bind(&r.last_hash)
                .bind(r.idempotency_key.as_deref())
                .bind(r.idempotency_fingerprint.as_deref())
                .bind(&r.doc);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn parse_case(doc: &str) -> Result<Case, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("case document: {e}")))
}

/// `YYYYMMDD` + 6-digit daily sequence, as hotline staff read them aloud.
async fn next_number(conn: &mut AnyConnection, now: Time) -> Result<String, sqlx::Error> {
    let day = now.format("%Y%m%d").to_string();
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO case_numbers (day, last) VALUES ($1, 1) \
         ON CONFLICT (day) DO UPDATE SET last = case_numbers.last + 1 RETURNING last",
    )
    .bind(&day)
    .fetch_one(&mut *conn)
    .await?;
    Ok(format!("{day}{n:06}"))
}

async fn bump_number(
    conn: &mut AnyConnection,
    backend: Backend,
    day: &str,
    seq: i64,
) -> Result<(), sqlx::Error> {
    let sql = match backend {
        Backend::Sqlite => {
            "INSERT INTO case_numbers (day, last) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET last = MAX(case_numbers.last, excluded.last)"
        }
        Backend::Postgres => {
            "INSERT INTO case_numbers (day, last) VALUES ($1, $2) ON CONFLICT (day) DO UPDATE SET last = GREATEST(case_numbers.last, excluded.last)"
        }
    };
    sqlx::query(sql)
        .bind(day)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends events to the case's chain and the global chain, folding each into `case`.
/// Returns the hash of the last event.
async fn append(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &mut Head,
    case: &mut Case,
    events: &[CaseEvent],
    actor: &ActorRef,
    at: Time,
) -> Result<String, sqlx::Error> {
    let mut prev: String = sqlx::query_scalar("SELECT last_hash FROM cases WHERE id = $1")
        .bind(&case.id)
        .fetch_one(&mut *conn)
        .await?;
    let mut rows = Vec::with_capacity(events.len());
    for ev in events {
        let row = EventRow::new(
            head,
            &case.id,
            case.version as i64 + 1,
            &prev,
            ev,
            actor,
            at,
        )?;
        case.evolve(ev, at);
        prev = row.hash.clone();
        rows.push(row);
    }
    insert_events(conn, backend, &rows).await?;
    Ok(prev)
}

const FAR_FUTURE_MS: i64 = 253_402_300_799_000; // 9999-12-31, "no deadline" sorts last

fn path_of(juris: &Jurisdiction, unit: &jiesu_domain::UnitId) -> String {
    juris
        .org
        .path(unit)
        .map(str::to_string)
        .unwrap_or_else(|| format!("/?/{unit}/"))
}

async fn update_projection(
    conn: &mut AnyConnection,
    juris: &Jurisdiction,
    case: &Case,
    last_hash: &str,
) -> Result<(), sqlx::Error> {
    let doc = serde_json::to_string(case).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    sqlx::query(
        "UPDATE cases SET state = $2, assigned_unit = $3, scope_path = $4, waiting_on = $5, is_open = $6, \
         next_due = $7, resolve_due = $8, updated_at = $9, version = $10, last_hash = $11, doc = $12 WHERE id = $1",
    )
    .bind(&case.id)
    .bind(case.state.as_str())
    .bind(case.assigned_unit.as_ref().map(|u| u.as_str()))
    .bind(path_of(juris, case.current_unit()))
    .bind(case.waiting_on().map(|u| u.as_str()))
    .bind(i64::from(case.state.is_open()))
    .bind(case.next_due().map_or(FAR_FUTURE_MS, |t| t.timestamp_millis()))
    .bind(case.deadlines.as_ref().map(|d| d.resolve_due.timestamp_millis()))
    .bind(case.updated_at.timestamp_millis())
    .bind(case.version as i64)
    .bind(last_hash)
    .bind(doc)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Stores samples through the group-commit writer: when this returns they are durable and
    /// may be acknowledged to the device. The rows come back, for the caller to judge.
    pub async fn store_samples(
        &self,
        rows: Vec<crate::SampleRow>,
    ) -> Result<Vec<crate::SampleRow>, StoreError> {
        match self.submit(Op::Readings(rows)).await? {
            Outcome::Samples(rows) => Ok(rows),
            _ => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }

    async fn submit(&self, op: Op) -> Result<Outcome, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.writer
            .send(Job { op, reply: tx })
            .await
            .map_err(|_| StoreError::Unavailable("the writer has stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("the writer dropped the request".into()))?
    }

    /// Records a new case. With an idempotency key, a retry returns the first case
    /// (`created == false`) and never makes a second one.
    pub async fn intake(
        &self,
        juris: Arc<Jurisdiction>,
        draft: CaseDraft,
        actor: &Actor,
        now: Time,
        idempotency: Option<(String, String)>,
    ) -> Result<(Case, bool), StoreError> {
        match self
            .submit(Op::Intake {
                juris,
                draft: Box::new(draft),
                actor: Box::new(actor.clone()),
                now,
                idempotency,
            })
            .await?
        {
            Outcome::Case(c, created) => Ok((*c, created)),
            _ => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }

    /// Gives a command on a case (by id or number). A case outside the actor's scope is `NotFound`.
    pub async fn command(
        &self,
        juris: Arc<Jurisdiction>,
        case_id: &str,
        cmd: Command,
        actor: &Actor,
        now: Time,
    ) -> Result<Case, StoreError> {
        match self
            .submit(Op::Command {
                juris,
                case_id: case_id.to_string(),
                cmd: Box::new(cmd),
                actor: Box::new(actor.clone()),
                now,
            })
            .await?
        {
            Outcome::Case(c, _) => Ok(*c),
            _ => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }

    /// Imports whole cases with their trails (hash-chained like any other write).
    pub async fn import(
        &self,
        juris: Arc<Jurisdiction>,
        cases: Vec<ImportedCase>,
    ) -> Result<usize, StoreError> {
        match self.submit(Op::Import(juris, cases)).await? {
            Outcome::Imported(n) => Ok(n),
            _ => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }
}
