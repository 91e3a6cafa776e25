//! The single writer: it owns the write connection, batches requests into one transaction
//! (group commit) and appends events with their hashes. Replies go out only after COMMIT.

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
    Import(Vec<ImportedCase>),
}

pub(crate) enum Outcome {
    Case(Box<Case>, bool),
    Imported(usize),
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
                    let _ = job.reply.send(r);
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
                    let _ = job.reply.send(r);
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
    let mut tx = pool.begin().await?;
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
    for op in ops {
        out.push(run_op(&mut tx, backend, &mut head, op).await?);
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
            let Some(mut case) = Case::from_received(id.clone(), &ev, *now) else {
                return Ok(Err(StoreError::Corrupt("intake produced no case".into())));
            };
            case.version = 0;
            let last = append(
                conn,
                head,
                &mut case,
                &[ev],
                &ActorRef::of(actor),
                *now,
                None,
            )
            .await?;
            insert_projection(conn, juris, &case, &last, idempotency.as_ref()).await?;
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
                head,
                &mut case,
                &events,
                &ActorRef::of(actor),
                *now,
                None,
            )
            .await?;
            update_projection(conn, juris, &case, &last).await?;
            Ok(Ok(Outcome::Case(Box::new(case), false)))
        }
        Op::Import(cases) => {
            let juris = Jurisdiction::default();
            let mut n = 0;
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
                case.version = 0;
                let mut last = String::new();
                // Append event by event so each carries its own time and actor.
                for (ev, at, actor) in &ic.events {
                    let prev = (!last.is_empty()).then_some(last.as_str());
                    last = append(
                        conn,
                        head,
                        &mut case,
                        std::slice::from_ref(ev),
                        actor,
                        *at,
                        prev,
                    )
                    .await?;
                }
                bump_number(conn, backend, &case.number).await?;
                insert_projection_paths(conn, &case, &last, None, &juris).await?;
                n += 1;
            }
            Ok(Ok(Outcome::Imported(n)))
        }
    }
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
    number: &str,
) -> Result<(), sqlx::Error> {
    if number.len() != 14 {
        return Ok(());
    }
    let (day, seq) = number.split_at(8);
    let Ok(seq) = seq.parse::<i64>() else {
        return Ok(());
    };
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
    head: &mut Head,
    case: &mut Case,
    events: &[CaseEvent],
    actor: &ActorRef,
    at: Time,
    known_prev: Option<&str>,
) -> Result<String, sqlx::Error> {
    let mut prev = if case.version == 0 {
        crate::GENESIS_HASH.to_string()
    } else if let Some(p) = known_prev {
        p.to_string()
    } else {
        sqlx::query_scalar("SELECT last_hash FROM cases WHERE id = $1")
            .bind(&case.id)
            .fetch_one(&mut *conn)
            .await?
    };
    let at_ms = at.timestamp_millis();
    for ev in events {
        let seq = case.version as i64 + 1;
        let data = serde_json::to_string(ev).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
        let kind = ev.type_name();
        let hash = event_hash(&prev, &case.id, seq, kind, &actor.id, at_ms, &data);
        let gseq = head.seq + 1;
        let ghash = global_hash(&head.hash, &hash);
        sqlx::query(
            "INSERT INTO case_events (global_seq, case_id, seq, type, actor_id, actor_name, actor_role, at, data, prev_hash, hash, global_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(gseq)
        .bind(&case.id)
        .bind(seq)
        .bind(kind)
        .bind(&actor.id)
        .bind(&actor.name)
        .bind(&actor.role)
        .bind(at_ms)
        .bind(&data)
        .bind(&prev)
        .bind(&hash)
        .bind(&ghash)
        .execute(&mut *conn)
        .await?;
        head.seq = gseq;
        head.hash = ghash;
        if seq == 1 {
            case.version = 1;
        } else {
            case.evolve(ev, at);
        }
        prev = hash;
    }
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

async fn insert_projection(
    conn: &mut AnyConnection,
    juris: &Jurisdiction,
    case: &Case,
    last_hash: &str,
    idem: Option<&(String, String)>,
) -> Result<(), sqlx::Error> {
    insert_projection_paths(conn, case, last_hash, idem, juris).await
}

async fn insert_projection_paths(
    conn: &mut AnyConnection,
    case: &Case,
    last_hash: &str,
    idem: Option<&(String, String)>,
    juris: &Jurisdiction,
) -> Result<(), sqlx::Error> {
    let doc = serde_json::to_string(case).map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    // Imports carry no jurisdiction: their paths are filled from the units table.
    let (intake_path, scope_path) = if juris.org.is_empty() {
        let ip: Option<String> = sqlx::query_scalar("SELECT path FROM units WHERE id = $1")
            .bind(case.intake_unit.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        let sp: Option<String> = sqlx::query_scalar("SELECT path FROM units WHERE id = $1")
            .bind(case.current_unit().as_str())
            .fetch_optional(&mut *conn)
            .await?;
        (
            ip.unwrap_or_else(|| format!("/?/{}/", case.intake_unit)),
            sp.unwrap_or_else(|| format!("/?/{}/", case.current_unit())),
        )
    } else {
        (
            path_of(juris, &case.intake_unit),
            path_of(juris, case.current_unit()),
        )
    };
    sqlx::query(
        "INSERT INTO cases (id, number, state, kind, channel, urgency, category_id, title, intake_unit, intake_path, \
         assigned_unit, scope_path, waiting_on, is_open, next_due, resolve_due, reporter_user, created_at, updated_at, \
         version, last_hash, idempotency_key, idempotency_fingerprint, doc) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)",
    )
    .bind(&case.id)
    .bind(&case.number)
    .bind(case.state.as_str())
    .bind(case.draft.kind.as_str())
    .bind(case.draft.channel.as_str())
    .bind(case.draft.urgency.as_str())
    .bind(case.draft.category.as_deref())
    .bind(&case.draft.title)
    .bind(case.intake_unit.as_str())
    .bind(intake_path)
    .bind(case.assigned_unit.as_ref().map(|u| u.as_str()))
    .bind(scope_path)
    .bind(case.waiting_on().map(|u| u.as_str()))
    .bind(i64::from(case.state.is_open()))
    .bind(case.next_due().map_or(FAR_FUTURE_MS, |t| t.timestamp_millis()))
    .bind(case.deadlines.as_ref().map(|d| d.resolve_due.timestamp_millis()))
    .bind(case.draft.reporter.user_id.as_deref())
    .bind(case.received_at.timestamp_millis())
    .bind(case.updated_at.timestamp_millis())
    .bind(case.version as i64)
    .bind(last_hash)
    .bind(idem.map(|i| i.0.as_str()))
    .bind(idem.map(|i| i.1.as_str()))
    .bind(doc)
    .execute(&mut *conn)
    .await?;
    Ok(())
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
            Outcome::Imported(_) => Err(StoreError::Corrupt("unexpected outcome".into())),
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
            Outcome::Imported(_) => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }

    /// Imports whole cases with their trails (hash-chained like any other write).
    pub async fn import(&self, cases: Vec<ImportedCase>) -> Result<usize, StoreError> {
        match self.submit(Op::Import(cases)).await? {
            Outcome::Imported(n) => Ok(n),
            Outcome::Case(..) => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }
}
