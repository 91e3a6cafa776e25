//! The single writer: it owns the write connection, batches requests into one transaction
//! (group commit) and appends events with their hashes. Replies go out only after COMMIT.
//!
//! The batch logic here is the same for both backends; what it asks of the database is the
//! [`WriteTx`] trait. PostgreSQL answers through sqlx (`pg`); SQLite through rusqlite on the
//! writer's own thread (`sqlite`), because through sqlx every statement is a hand-off to another
//! thread, and those hand-offs, not SQLite, were most of a batch's time.

mod pg;
mod sqlite;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiesu_domain::case::{IntakePath, ReceivedRef};
use jiesu_domain::{Actor, Case, CaseDraft, CaseEvent, Command, Jurisdiction, Time};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::assessment::{DayStats, StatDeltas};
use crate::chain::{event_hash, global_hash};
use crate::{SampleRow, Store, StoreError};

pub(crate) use pg::PgDb;
pub(crate) use sqlite::{SqliteDb, checkpoint_loop};

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
    /// Time spent running batches (not waiting for work), in microseconds.
    pub busy_micros: AtomicU64,
}

pub(crate) enum Op {
    Intake {
        juris: Arc<Jurisdiction>,
        new: Box<NewCase>,
    },
    Command {
        juris: Arc<Jurisdiction>,
        case_id: String,
        cmd: Box<Command>,
        actor: Box<Actor>,
        now: Time,
    },
    Import(Arc<Jurisdiction>, Vec<ImportedCase>),
    Readings(Vec<SampleRow>),
    /// An alarm's case, its dispatch and its `alarms` row, in one transaction.
    OpenAlarm {
        juris: Arc<Jurisdiction>,
        alarm: Box<NewAlarm>,
    },
    /// Events the system writes (not a user's command), on a case still at `version`; none
    /// refreshes the projection (the clock's `next_fire`).
    SystemEvent {
        juris: Arc<Jurisdiction>,
        case_id: String,
        version: u64,
        events: Vec<CaseEvent>,
        now: Time,
    },
}

/// What the ingest asks for when a station's problem opens: a case made and dispatched, and the
/// alarm that points at it. All of it commits, or none of it does.
pub struct NewAlarm {
    pub draft: CaseDraft,
    pub dispatch: Command,
    pub actor: Actor,
    /// One case per alarm even when two nodes race: a repeat returns the first case.
    pub key: String,
    pub mn: String,
    pub problem: String,
    pub at_ms: i64,
    pub summary: String,
    pub now: Time,
}

/// A case as intake made it, before the writer gives it an id and a number. The domain's checks
/// ran in the caller's task, beside the other requests, not on the writer's serial path.
pub(crate) struct NewCase {
    /// The domain's refusal is kept, not returned at once: a retry under a key whose first
    /// request made a case still gets that case.
    case: Result<Case, StoreError>,
    actor: ActorRef,
    /// The day the number counts in (YYYYMMDD, Beijing time).
    day: String,
    idempotency: Option<(String, String)>,
}

pub(crate) enum Outcome {
    Case(Box<Case>, bool),
    /// The answer is in the intake's [`NewCase`]: the case the writer stored, or the domain's
    /// refusal. It moves into the reply after the batch, uncopied.
    FromNewCase,
    Imported(usize),
    /// Stored samples, handed back to the caller (the ingest judges them next).
    Samples(Vec<SampleRow>),
}

/// The reply for a job: stored samples go back to their sender instead of being dropped.
fn finish(op: Op, r: Result<Outcome, StoreError>) -> Result<Outcome, StoreError> {
    match (op, r) {
        (Op::Readings(rows), Ok(Outcome::Imported(_))) => Ok(Outcome::Samples(rows)),
        (Op::Intake { new, .. }, Ok(Outcome::FromNewCase)) => {
            new.case.map(|c| Outcome::Case(Box::new(c), true))
        }
        (_, r) => r,
    }
}

pub(crate) struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Outcome, StoreError>>,
}

/// The tip of the global chain.
pub(crate) struct Head {
    seq: i64,
    hash: String,
}

/// Why a batch failed as a whole (nothing of it was written).
#[derive(Debug, thiserror::Error)]
pub(crate) enum WriteError {
    #[error(transparent)]
    Sqlx(#[from] sqlx::Error),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot encode: {0}")]
    Encode(#[from] serde_json::Error),
    #[error("{0}")]
    Invariant(&'static str),
}

/// A database the writer can open transactions on.
pub(crate) trait WriteDb {
    type Tx<'a>: WriteTx
    where
        Self: 'a;
    /// Starts the batch's transaction, holding the write lock from the start: a reader's commit
    /// between our first read and first write must make us wait, not void our snapshot.
    async fn begin(&mut self) -> Result<Self::Tx<'_>, WriteError>;
}

/// What a batch asks of its transaction. Dropping it without `commit` rolls back.
pub(crate) trait WriteTx {
    /// The global chain head, locked against other writers until commit.
    async fn head(&mut self) -> Result<Head, WriteError>;
    async fn set_head(&mut self, head: &Head) -> Result<(), WriteError>;
    /// Cases already made under these idempotency keys: key → (document, fingerprint).
    async fn cases_by_key(&mut self, keys: &[&str]) -> Result<KeyedCases, WriteError>;
    async fn case_doc(&mut self, id_or_number: &str) -> Result<Option<String>, WriteError>;
    async fn last_hash(&mut self, case_id: &str) -> Result<String, WriteError>;
    /// Reserves `n` numbers of `day`; returns the last one reserved.
    async fn reserve_numbers(&mut self, day: &str, n: i64) -> Result<i64, WriteError>;
    /// Makes sure `day`'s counter is at least `seq` (imported cases bring their numbers).
    async fn raise_number(&mut self, day: &str, seq: i64) -> Result<(), WriteError>;
    async fn insert_events(&mut self, rows: &[EventRow]) -> Result<(), WriteError>;
    async fn insert_projections(&mut self, rows: &[ProjectionRow]) -> Result<(), WriteError>;
    /// Rewrites the changing columns of an existing case's projection.
    async fn update_projection(&mut self, row: &ProjectionRow) -> Result<(), WriteError>;
    /// Replaces a case's `case_parties` rows: (unit, path, waiting).
    async fn replace_parties(
        &mut self,
        case_id: &str,
        rows: &[(String, String, i64)],
    ) -> Result<(), WriteError>;
    /// Adds `case_readers` rows; rows already there are kept.
    async fn add_readers(&mut self, rows: &[ReaderRow]) -> Result<(), WriteError>;
    /// Stores samples; a repeat of a key replaces the earlier copy.
    async fn upsert_samples(&mut self, rows: &[&SampleRow]) -> Result<(), WriteError>;
    /// Opens an alarm (the unique index allows one open per station and problem).
    async fn insert_alarm(
        &mut self,
        mn: &str,
        problem: &str,
        case_id: &str,
        at_ms: i64,
        summary: &str,
    ) -> Result<(), WriteError>;
    /// Adds the batch's assessment counters to `unit_day_stats` (one row per day and unit).
    async fn add_unit_day_stats(&mut self, rows: &[DayStats]) -> Result<(), WriteError>;
    async fn commit(self) -> Result<(), WriteError>;
}

pub(crate) type KeyedCases = HashMap<String, (String, Option<String>)>;

const MAX_BATCH: usize = 512;

pub(crate) async fn run<D: WriteDb>(
    mut db: D,
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
        let started = std::time::Instant::now();
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats.jobs.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let mut ops: Vec<&mut Op> = jobs.iter_mut().map(|j| &mut j.op).collect();
        let batch = run_batch(&mut db, &mut ops).await;
        drop(ops);
        match batch {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(finish(job.op, r));
                }
            }
            Err(e) if jobs.len() > 1 => {
                // One bad job must not sink its neighbours: retry each in its own transaction.
                stats.failed_batches.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, n = jobs.len(), "batch failed; retrying one by one");
                for mut job in jobs {
                    let r = match run_batch(&mut db, &mut [&mut job.op]).await {
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
        stats
            .busy_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
    }
}

/// Runs the batch in one transaction. The outer error aborts the whole batch (nothing written);
/// inner errors are refusals of single jobs, which wrote nothing.
///
/// Intakes are given their ids and numbers in place; a batch that fails gives them new ones when
/// it is retried.
async fn run_batch<D: WriteDb>(
    db: &mut D,
    ops: &mut [&mut Op],
) -> Result<Vec<Result<Outcome, StoreError>>, WriteError> {
    let mut tx = db.begin().await?;
    let mut head = tx.head().await?;
    let start_seq = head.seq;
    // What the batch's events count for the assessment, added once at the end.
    let mut stats = StatDeltas::default();
    let mut out = Vec::with_capacity(ops.len());
    let mut i = 0;
    while i < ops.len() {
        match ops[i] {
            Op::Intake { .. } => {
                // Runs of intakes go in bulk: a handful of statements for the whole run.
                let n = ops[i..]
                    .iter()
                    .take_while(|o| matches!(o, Op::Intake { .. }))
                    .count();
                out.extend(run_intakes(&mut tx, &mut head, &mut ops[i..i + n]).await?);
                i += n;
            }
            Op::Readings(_) => {
                // Many devices' uploads in one write.
                let n = ops[i..]
                    .iter()
                    .take_while(|o| matches!(o, Op::Readings(..)))
                    .count();
                let rows = latest_per_key(ops[i..i + n].iter().flat_map(|op| match &**op {
                    Op::Readings(r) => r.as_slice(),
                    _ => &[],
                }));
                tx.upsert_samples(&rows).await?;
                for op in &ops[i..i + n] {
                    if let Op::Readings(r) = &**op {
                        out.push(Ok(Outcome::Imported(r.len())));
                    }
                }
                i += n;
            }
            Op::Command {
                juris,
                case_id,
                cmd,
                actor,
                now,
            } => {
                out.push(
                    run_command(
                        &mut tx, &mut head, &mut stats, juris, case_id, cmd, actor, *now,
                    )
                    .await?,
                );
                i += 1;
            }
            Op::Import(juris, cases) => {
                out.push(run_import(&mut tx, &mut head, &mut stats, juris, cases).await?);
                i += 1;
            }
            Op::OpenAlarm { juris, alarm } => {
                out.push(run_open_alarm(&mut tx, &mut head, &mut stats, juris, alarm).await?);
                i += 1;
            }
            Op::SystemEvent {
                juris,
                case_id,
                version,
                events,
                now,
            } => {
                out.push(
                    run_system_event(
                        &mut tx, &mut head, &mut stats, juris, case_id, *version, events, *now,
                    )
                    .await?,
                );
                i += 1;
            }
        }
    }
    if head.seq != start_seq {
        tx.set_head(&head).await?;
    }
    // Intakes count nothing (a case is received by a unit when it is dispatched): a batch of
    // them adds no statement here.
    let stat_rows = stats.rows();
    if !stat_rows.is_empty() {
        tx.add_unit_day_stats(&stat_rows).await?;
    }
    tx.commit().await?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
async fn run_command<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    stats: &mut StatDeltas,
    juris: &Jurisdiction,
    case_id: &str,
    cmd: &Command,
    actor: &Actor,
    now: Time,
) -> Result<Result<Outcome, StoreError>, WriteError> {
    let Some(doc) = tx.case_doc(case_id).await? else {
        return Ok(Err(StoreError::NotFound));
    };
    let mut case = match parse_case(&doc) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if !case.visible_to(actor, &juris.org) {
        // A case the actor cannot read does not exist for him, whatever the command or state.
        return Ok(Err(StoreError::NotFound));
    }
    // A merge names its master by id or number; the master is looked up as the actor would read
    // it, and checked after the command itself (role, state), so a refusal keeps that order.
    let mut cmd = cmd.clone();
    let mut master = None;
    if let Command::Merge { into } = &cmd {
        let target = match tx.case_doc(into).await? {
            Some(doc) => match parse_case(&doc) {
                Ok(t) => Some(t),
                Err(e) => return Ok(Err(e)),
            },
            None => None,
        };
        let into = into.clone();
        if let Some(t) = target.as_ref().filter(|t| t.visible_to(actor, &juris.org)) {
            cmd = Command::Merge { into: t.id.clone() };
        }
        master = Some((into, target));
    }
    let events = match case.apply(&cmd, actor, now, &juris.ctx()) {
        Ok(e) => e,
        Err(e) => return Ok(Err(e.into())),
    };
    if let Some((into, target)) = &master
        && let Err(e) = Case::check_merge_target(into, target.as_ref(), actor, &juris.org)
    {
        return Ok(Err(e.into()));
    }
    // Append to the case's chain and the global chain, folding each event into the case.
    append_events(
        tx,
        head,
        stats,
        juris,
        &mut case,
        &events,
        &ActorRef::of(actor),
        now,
    )
    .await?;
    Ok(Ok(Outcome::Case(Box::new(case), false)))
}

/// Appends the events of `case`'s new `events` to both chains, folding them in, and rewrites its
/// projection. `case` is as stored; its version is the last event's sequence number.
#[allow(clippy::too_many_arguments)]
async fn append_events<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    stats: &mut StatDeltas,
    juris: &Jurisdiction,
    case: &mut Case,
    events: &[CaseEvent],
    actor: &ActorRef,
    now: Time,
) -> Result<(), WriteError> {
    let parties_before = parties_of(juris, case);
    let readers_before = readers_of(juris, case);
    let mut prev = tx.last_hash(&case.id).await?;
    let mut rows = Vec::with_capacity(events.len());
    for ev in events {
        let row = EventRow::of_event(
            head,
            &case.id,
            case.version as i64 + 1,
            &prev,
            ev,
            actor,
            now,
        )?;
        stats.fold(case, ev, now);
        prev = row.hash.clone();
        rows.push(row);
    }
    tx.insert_events(&rows).await?;
    let parties = parties_of(juris, case);
    if parties != parties_before {
        tx.replace_parties(&case.id, &parties).await?;
    }
    // Taking part only grows: the new readers are added, none is ever taken away.
    let new_readers: Vec<ReaderRow> = readers_of(juris, case)
        .difference(&readers_before)
        .map(|r| ReaderRow::of(case, r.clone()))
        .collect();
    if !new_readers.is_empty() {
        tx.add_readers(&new_readers).await?;
    }
    tx.update_projection(&ProjectionRow::new(juris, case, &prev, None)?)
        .await
}

/// A `case_readers` row.
pub(crate) struct ReaderRow {
    pub reader: String,
    pub created_at: i64,
    pub case_id: String,
    /// Fixed at intake, copied so that lists filter on them without reading the case.
    pub category: Option<String>,
    pub channel: &'static str,
}

impl ReaderRow {
    fn of(case: &Case, reader: String) -> Self {
        ReaderRow {
            reader,
            created_at: case.received_at.timestamp_millis(),
            case_id: case.id.clone(),
            category: case.draft.category.clone(),
            channel: case.draft.channel.as_str(),
        }
    }
}

/// Who finds the case in a list (`case_readers`, see migration 0011): every unit at or above a
/// unit that ever took part, and `user:<id>` for the account that reported it. The rule of
/// `Case::visible_to`, precomputed per unit (a unit outside the tree is nobody's to read).
pub(crate) fn readers_of(juris: &Jurisdiction, case: &Case) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let took_part = case
        .involved_units
        .iter()
        .chain(std::iter::once(&case.intake_unit))
        .chain(case.assigned_unit.iter())
        .chain(case.co_units.iter());
    for u in took_part {
        if let Some(path) = juris.org.path(u) {
            // "/root/a/b/": every unit on the way down.
            out.extend(
                path.split('/')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
        }
    }
    if let Some(user) = &case.draft.reporter.user_id {
        out.insert(reporter_key(user));
    }
    out
}

/// The `case_readers` key of a reporting account.
pub(crate) fn reporter_key(user_id: &str) -> String {
    format!("user:{user_id}")
}

fn reader_rows(juris: &Jurisdiction, case: &Case) -> Vec<ReaderRow> {
    readers_of(juris, case)
        .into_iter()
        .map(|r| ReaderRow::of(case, r))
        .collect()
}

/// A `case_parties` row: (unit, its path, whether it owes something).
pub(crate) type PartyRow = (String, String, i64);

/// The `case_parties` rows of a case.
fn parties_of(juris: &Jurisdiction, case: &Case) -> Vec<PartyRow> {
    case.parties()
        .into_iter()
        .map(|(u, waiting)| (u.to_string(), path_of(juris, u), i64::from(waiting)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
async fn run_system_event<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    stats: &mut StatDeltas,
    juris: &Jurisdiction,
    case_id: &str,
    version: u64,
    events: &[CaseEvent],
    now: Time,
) -> Result<Result<Outcome, StoreError>, WriteError> {
    let Some(doc) = tx.case_doc(case_id).await? else {
        return Ok(Err(StoreError::NotFound));
    };
    let mut case = match parse_case(&doc) {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    if case.version != version {
        // Computed on a trail that has grown since: the caller computes again.
        return Ok(Err(StoreError::Stale));
    }
    append_events(
        tx,
        head,
        stats,
        juris,
        &mut case,
        events,
        &ActorRef::system(),
        now,
    )
    .await?;
    Ok(Ok(Outcome::Case(Box::new(case), false)))
}

async fn run_open_alarm<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    stats: &mut StatDeltas,
    juris: &Jurisdiction,
    a: &NewAlarm,
) -> Result<Result<Outcome, StoreError>, WriteError> {
    if let Some((doc, _)) = tx.cases_by_key(&[a.key.as_str()]).await?.get(&a.key) {
        return Ok(parse_case(doc).map(|c| Outcome::Case(Box::new(c), false)));
    }
    let received = match Case::intake_by(
        String::new(),
        a.draft.clone(),
        &a.actor,
        IntakePath::Ingest,
        &juris.ctx(),
    ) {
        Ok(ev) => ev,
        Err(e) => return Ok(Err(e.into())),
    };
    let Some(mut case) = Case::from_received_owned(new_case_id(), received, a.now) else {
        return Ok(Err(StoreError::Corrupt("intake made no case".into())));
    };
    let dispatch = match case.apply(&a.dispatch, &a.actor, a.now, &juris.ctx()) {
        Ok(evs) => evs,
        Err(e) => return Ok(Err(e.into())),
    };
    let day = jiesu_domain::case::number_day(a.now);
    let seq = tx.reserve_numbers(&day, 1).await?;
    case.number = jiesu_domain::case::case_number(&day, seq);
    let actor = ActorRef::of(&a.actor);
    let data = serde_json::to_string(&ReceivedRef::of(&case))?;
    let mut prev = crate::GENESIS_HASH.to_string();
    let mut rows = vec![EventRow::new(
        head, &case.id, 1, &prev, "received", data, &actor, a.now,
    )];
    prev = rows[0].hash.clone();
    for ev in &dispatch {
        let row = EventRow::of_event(
            head,
            &case.id,
            case.version as i64 + 1,
            &prev,
            ev,
            &actor,
            a.now,
        )?;
        stats.fold(&mut case, ev, a.now);
        prev = row.hash.clone();
        rows.push(row);
    }
    let key = (a.key.clone(), a.key.clone());
    tx.insert_events(&rows).await?;
    tx.insert_projections(&[ProjectionRow::new(juris, &case, &prev, Some(&key))?])
        .await?;
    tx.add_readers(&reader_rows(juris, &case)).await?;
    tx.insert_alarm(&a.mn, &a.problem, &case.id, a.at_ms, &a.summary)
        .await?;
    Ok(Ok(Outcome::Case(Box::new(case), true)))
}

async fn run_import<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    stats: &mut StatDeltas,
    juris: &Jurisdiction,
    cases: &[ImportedCase],
) -> Result<Result<Outcome, StoreError>, WriteError> {
    let mut event_rows = Vec::new();
    let mut projections = Vec::with_capacity(cases.len());
    let mut parties_rows: Vec<(String, Vec<PartyRow>)> = Vec::new();
    let mut readers: Vec<ReaderRow> = Vec::new();
    let mut last_number: HashMap<String, i64> = HashMap::new();
    // Counted apart and added only if the whole import goes in.
    let mut counted = StatDeltas::default();
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
            let row = EventRow::of_event(head, &case.id, i as i64 + 1, &prev, ev, actor, *at)?;
            if i > 0 {
                counted.fold(&mut case, ev, *at);
            }
            prev = row.hash.clone();
            event_rows.push(row);
        }
        if let Some((day, seq)) = jiesu_domain::case::parse_case_number(&case.number) {
            let e = last_number.entry(day.to_string()).or_insert(0);
            *e = (*e).max(seq);
        }
        projections.push(ProjectionRow::new(juris, &case, &prev, None)?);
        readers.extend(reader_rows(juris, &case));
        let parties = parties_of(juris, &case);
        if !parties.is_empty() {
            parties_rows.push((case.id.clone(), parties));
        }
    }
    tx.insert_events(&event_rows).await?;
    tx.insert_projections(&projections).await?;
    tx.add_readers(&readers).await?;
    for (id, rows) in &parties_rows {
        tx.replace_parties(id, rows).await?;
    }
    for (day, seq) in last_number {
        tx.raise_number(&day, seq).await?;
    }
    stats.merge(counted);
    Ok(Ok(Outcome::Imported(projections.len())))
}

enum Slot {
    Done(Result<Outcome, StoreError>),
    /// Stored by this request: the case travels back in its `NewCase`.
    Made,
    /// A repeat, within this batch, of the key of the intake at this index.
    SameAs(usize),
}

/// Intakes in bulk: one idempotency lookup, one number reservation per day, then each new case
/// gets its id and number and goes in with its first event.
async fn run_intakes<T: WriteTx>(
    tx: &mut T,
    head: &mut Head,
    ops: &mut [&mut Op],
) -> Result<Vec<Result<Outcome, StoreError>>, WriteError> {
    let existing = {
        let keys: Vec<&str> = ops
            .iter()
            .filter_map(|o| match &**o {
                Op::Intake { new, .. } => new.idempotency.as_ref().map(|(k, _)| k.as_str()),
                _ => None,
            })
            .collect();
        if keys.is_empty() {
            KeyedCases::new()
        } else {
            tx.cases_by_key(&keys).await?
        }
    };
    let mut slots = Vec::with_capacity(ops.len());
    // Key → index of the intake in this batch that makes its case.
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    // Cases to make this batch, per day: (day, how many).
    let mut per_day: Vec<(&str, i64)> = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let Op::Intake { new, .. } = &**op else {
            slots.push(Slot::Done(Err(StoreError::NotFound)));
            continue;
        };
        if let Some((key, fp)) = &new.idempotency {
            if let Some((doc, stored_fp)) = existing.get(key) {
                slots.push(Slot::Done(if stored_fp.as_deref() == Some(fp.as_str()) {
                    parse_case(doc).map(|c| Outcome::Case(Box::new(c), false))
                } else {
                    Err(StoreError::IdempotencyMismatch)
                }));
                continue;
            }
            if let Some(&first) = by_key.get(key.as_str()) {
                let same = match &*ops[first] {
                    Op::Intake { new: f, .. } => f.idempotency.as_ref().map(|x| &x.1) == Some(fp),
                    _ => false,
                };
                slots.push(if same {
                    Slot::SameAs(first)
                } else {
                    Slot::Done(Err(StoreError::IdempotencyMismatch))
                });
                continue;
            }
            if new.case.is_ok() {
                by_key.insert(key.as_str(), i);
            }
        }
        if new.case.is_ok() {
            match per_day.iter_mut().find(|(d, _)| *d == new.day) {
                Some((_, n)) => *n += 1,
                None => per_day.push((&new.day, 1)),
            }
        }
        // A refusal answers from the NewCase too.
        slots.push(Slot::Made);
    }
    // Daily numbers: one upsert per day reserves a block.
    let mut next_in_day: HashMap<String, i64> = HashMap::new();
    for (day, n) in &per_day {
        let last = tx.reserve_numbers(day, *n).await?;
        next_in_day.insert(day.to_string(), last - n + 1);
    }
    let mut event_rows: Vec<EventRow> = Vec::with_capacity(slots.len());
    let mut rows: Vec<ProjectionRow> = Vec::with_capacity(slots.len());
    let mut readers: Vec<ReaderRow> = Vec::with_capacity(slots.len() * 4);
    for (op, slot) in ops.iter_mut().zip(&slots) {
        let (Op::Intake { juris, new }, Slot::Made) = (&mut **op, slot) else {
            continue;
        };
        let NewCase {
            case: Ok(case),
            actor,
            day,
            idempotency,
        } = &mut **new
        else {
            continue;
        };
        let Some(seq) = next_in_day.get_mut(day.as_str()) else {
            return Err(WriteError::Invariant("no number reserved for the day"));
        };
        case.number = jiesu_domain::case::case_number(day, *seq);
        *seq += 1;
        case.id = new_case_id();
        let data = serde_json::to_string(&ReceivedRef::of(case))?;
        let row = EventRow::new(
            head,
            &case.id,
            1,
            crate::GENESIS_HASH,
            "received",
            data,
            actor,
            case.received_at,
        );
        rows.push(ProjectionRow::new(
            juris,
            case,
            &row.hash,
            idempotency.as_ref(),
        )?);
        readers.extend(reader_rows(juris, case));
        event_rows.push(row);
    }
    tx.insert_events(&event_rows).await?;
    tx.insert_projections(&rows).await?;
    tx.add_readers(&readers).await?;
    Ok(slots
        .into_iter()
        .map(|s| match s {
            Slot::Done(r) => r,
            Slot::Made => Ok(Outcome::FromNewCase),
            // Only an intake that makes a case is ever repeated (see `by_key`).
            Slot::SameAs(first) => match &*ops[first] {
                Op::Intake { new, .. } => match &new.case {
                    Ok(c) => Ok(Outcome::Case(Box::new(c.clone()), false)),
                    Err(_) => Err(StoreError::Corrupt("a repeated key's first intake".into())),
                },
                _ => Err(StoreError::Corrupt("a repeated key's first intake".into())),
            },
        })
        .collect())
}

/// A new case id: a ULID, strictly increasing on this writer, so ids sort in the order the cases
/// were made (`ulid::Ulid::new` orders ids made in the same millisecond at random).
fn new_case_id() -> String {
    thread_local! {
        static IDS: std::cell::RefCell<ulid::Generator> =
            const { std::cell::RefCell::new(ulid::Generator::new()) };
    }
    IDS.with(|g| g.borrow_mut().generate())
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

/// One row of `case_events`, hashed and placed on both chains.
pub(crate) struct EventRow {
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
    fn of_event(
        head: &mut Head,
        case_id: &str,
        seq: i64,
        prev_hash: &str,
        ev: &CaseEvent,
        actor: &ActorRef,
        at: Time,
    ) -> Result<Self, WriteError> {
        let data = serde_json::to_string(ev)?;
        Ok(Self::new(
            head,
            case_id,
            seq,
            prev_hash,
            ev.type_name(),
            data,
            actor,
            at,
        ))
    }

    /// An event already serialized (`data`) whose type is `kind`.
    #[allow(clippy::too_many_arguments)]
    fn new(
        head: &mut Head,
        case_id: &str,
        seq: i64,
        prev_hash: &str,
        kind: &'static str,
        data: String,
        actor: &ActorRef,
        at: Time,
    ) -> Self {
        let at_ms = at.timestamp_millis();
        let hash = event_hash(prev_hash, case_id, seq, kind, &actor.id, at_ms, &data);
        head.seq += 1;
        head.hash = global_hash(&head.hash, &hash);
        EventRow {
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
        }
    }
}

/// One row per sample key, the later copy winning, in order of first appearance: a device
/// resending within one batch must not make one statement update a row twice.
fn latest_per_key<'a>(rows: impl Iterator<Item = &'a SampleRow>) -> Vec<&'a SampleRow> {
    let mut slot: HashMap<(&str, &str, i64, i64), usize> = HashMap::new();
    let mut out: Vec<&SampleRow> = Vec::new();
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

/// One row of the `cases` projection.
pub(crate) struct ProjectionRow {
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
    /// When the clock must look at the case next (`None`: nothing pending).
    next_fire: Option<i64>,
    reporter_user: Option<String>,
    /// Fixed at intake: where the case is ([`jiesu_domain::OrgTree::locate`]) and who called.
    place_path: Option<String>,
    reporter_phone: Option<String>,
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
    ) -> Result<Self, WriteError> {
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
            next_fire: jiesu_domain::supervision::next_fire(case, &juris.ctx())
                .map(|t| t.timestamp_millis()),
            reporter_user: case.draft.reporter.user_id.clone(),
            place_path: juris
                .org
                .place_of_report(case.draft.location, case.draft.address.as_deref())
                .map(|u| path_of(juris, &u)),
            reporter_phone: case.draft.reporter.phone.clone(),
            created_at: case.received_at.timestamp_millis(),
            updated_at: case.updated_at.timestamp_millis(),
            version: case.version as i64,
            last_hash: last_hash.to_string(),
            idempotency_key: idem.map(|i| i.0.clone()),
            idempotency_fingerprint: idem.map(|i| i.1.clone()),
            doc: serde_json::to_string(case)?,
        })
    }
}

pub(crate) fn parse_case(doc: &str) -> Result<Case, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("case document: {e}")))
}

const FAR_FUTURE_MS: i64 = 253_402_300_799_000; // 9999-12-31, "no deadline" sorts last

fn path_of(juris: &Jurisdiction, unit: &jiesu_domain::UnitId) -> String {
    juris
        .org
        .path(unit)
        .map(str::to_string)
        .unwrap_or_else(|| format!("/?/{unit}/"))
}

impl Store {
    /// Stores samples through the group-commit writer: when this returns they are durable and
    /// may be acknowledged to the device. The rows come back, for the caller to judge.
    pub async fn store_samples(&self, rows: Vec<SampleRow>) -> Result<Vec<SampleRow>, StoreError> {
        match self.submit(Op::Readings(rows)).await? {
            Outcome::Samples(rows) => Ok(rows),
            _ => Err(StoreError::Corrupt("unexpected outcome".into())),
        }
    }

    /// Submits a job whose answer is a case (and whether this job made it).
    async fn submit_case(&self, op: Op) -> Result<(Case, bool), StoreError> {
        match self.submit(op).await? {
            Outcome::Case(c, created) => Ok((*c, created)),
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
        self.intake_by(juris, draft, actor, IntakePath::Api, now, idempotency)
            .await
    }

    /// [`Store::intake`] by another path than the JSON API (the Open311 endpoint): the domain
    /// admits each channel only from the path that produces it.
    pub async fn intake_by(
        &self,
        juris: Arc<Jurisdiction>,
        draft: CaseDraft,
        actor: &Actor,
        path: IntakePath,
        now: Time,
        idempotency: Option<(String, String)>,
    ) -> Result<(Case, bool), StoreError> {
        let case = Case::intake_by(String::new(), draft, actor, path, &juris.ctx())
            .map_err(StoreError::from)
            .and_then(|ev| {
                Case::from_received_owned(String::new(), ev, now)
                    .ok_or_else(|| StoreError::Corrupt("intake made no case".into()))
            });
        let case = match (case, &idempotency) {
            // Nothing to look up: refused without a trip to the writer.
            (Err(e), None) => return Err(e),
            (case, _) => case,
        };
        let new = NewCase {
            case,
            actor: ActorRef::of(actor),
            day: jiesu_domain::case::number_day(now),
            idempotency,
        };
        self.submit_case(Op::Intake {
            juris,
            new: Box::new(new),
        })
        .await
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
        self.submit_case(Op::Command {
            juris,
            case_id: case_id.to_string(),
            cmd: Box::new(cmd),
            actor: Box::new(actor.clone()),
            now,
        })
        .await
        .map(|(c, _)| c)
    }

    /// Opens an alarm: its case is recorded, dispatched and linked in one transaction, so a
    /// failure leaves no orphan case and no alarm without a case.
    pub async fn open_alarm_case(
        &self,
        juris: Arc<Jurisdiction>,
        alarm: NewAlarm,
    ) -> Result<(Case, bool), StoreError> {
        self.submit_case(Op::OpenAlarm {
            juris,
            alarm: Box::new(alarm),
        })
        .await
    }

    /// Writes a system event on a case still at `version` (`Stale` if it moved on since).
    pub async fn system_event(
        &self,
        juris: Arc<Jurisdiction>,
        case_id: &str,
        version: u64,
        event: CaseEvent,
        now: Time,
    ) -> Result<Case, StoreError> {
        self.system_events(juris, case_id, version, vec![event], now)
            .await
    }

    /// Writes system events (none: only recomputes the projection) on a case still at `version`.
    pub async fn system_events(
        &self,
        juris: Arc<Jurisdiction>,
        case_id: &str,
        version: u64,
        events: Vec<CaseEvent>,
        now: Time,
    ) -> Result<Case, StoreError> {
        self.submit_case(Op::SystemEvent {
            juris,
            case_id: case_id.to_string(),
            version,
            events,
            now,
        })
        .await
        .map(|(c, _)| c)
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
