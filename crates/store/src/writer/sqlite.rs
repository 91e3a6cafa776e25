//! The writer's statements on SQLite, through rusqlite, called on the writer's own thread. SQLite
//! runs in-process, so a statement costs microseconds and there is no round trip to save: each row
//! is one execution of a cached prepared statement, and the batch never leaves this thread until
//! COMMIT has reached the disk.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use rusqlite::{
    Connection, OpenFlags, OptionalExtension, Transaction, TransactionBehavior, params,
};

use super::{EventRow, Head, KeyedCases, ProjectionRow, WriteDb, WriteError, WriteTx};
use crate::SampleRow;
use crate::assessment::{DayStats, upsert_sql};
use crate::monitoring::encode_readings;

pub(crate) struct SqliteDb {
    conn: Connection,
}

/// A connection to the database file with the settings every jiesu SQLite connection has.
fn connect(path: &Path) -> Result<Connection, rusqlite::Error> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(crate::SQLITE_SETTINGS)?;
    Ok(conn)
}

impl SqliteDb {
    /// Opens the write connection on an existing, migrated database file.
    pub(crate) fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn = connect(path)?;
        // Checkpoints are `checkpoint_loop`'s job, beside the writer; the writer's own automatic
        // one (at 20,000 pages, 80 MB) is only a backstop.
        conn.execute_batch("PRAGMA wal_autocheckpoint=20000;")?;
        conn.set_prepared_statement_cache_capacity(32);
        Ok(SqliteDb { conn })
    }
}

/// At full intake the WAL grows by about 4,000 pages in 100 ms; with 500 ms it reached the
/// writer's own threshold first, and the writer checkpointed on its serial path anyway (7–10 % of
/// the process's CPU samples, and the p99 of intake doubled).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Copies the WAL back into the database file every [`CHECKPOINT_EVERY`] on a connection of its
/// own, so the committing writer never does it on the serial path. Returns when `stop`'s sender
/// is dropped.
pub(crate) fn checkpoint_loop(path: &Path, stop: Receiver<()>) {
    let conn = match connect(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "no checkpoint connection; the writer will checkpoint");
            return;
        }
    };
    let mut last = (0, 0);
    loop {
        match stop.recv_timeout(CHECKPOINT_EVERY) {
            Err(RecvTimeoutError::Timeout) => {}
            _ => return,
        }
        // (busy, pages in the WAL, pages copied back so far)
        match conn.query_row("PRAGMA wal_checkpoint(PASSIVE);", [], |r| {
            Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        }) {
            Ok(now) if now != last => {
                tracing::debug!(wal_pages = now.0, copied = now.1, "checkpoint");
                last = now;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "checkpoint failed"),
        }
    }
}

pub(crate) struct SqliteTx<'c> {
    tx: Transaction<'c>,
}

impl WriteDb for SqliteDb {
    type Tx<'a> = SqliteTx<'a>;

    async fn begin(&mut self) -> Result<SqliteTx<'_>, WriteError> {
        if !self.conn.is_autocommit() {
            // A rollback that failed when a batch was dropped (rusqlite cannot report it) left
            // the transaction open; end it, or every later BEGIN would fail.
            self.conn.execute_batch("ROLLBACK;")?;
        }
        Ok(SqliteTx {
            tx: self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?,
        })
    }
}

impl WriteTx for SqliteTx<'_> {
    async fn head(&mut self) -> Result<Head, WriteError> {
        // BEGIN IMMEDIATE already holds the write lock.
        Ok(self
            .tx
            .prepare_cached("SELECT global_seq, global_hash FROM chain_head WHERE id = 1")?
            .query_row([], |r| {
                Ok(Head {
                    seq: r.get(0)?,
                    hash: r.get(1)?,
                })
            })?)
    }

    async fn set_head(&mut self, head: &Head) -> Result<(), WriteError> {
        self.tx
            .prepare_cached("UPDATE chain_head SET global_seq = ?1, global_hash = ?2 WHERE id = 1")?
            .execute(params![head.seq, head.hash])?;
        Ok(())
    }

    async fn cases_by_key(&mut self, keys: &[&str]) -> Result<KeyedCases, WriteError> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT doc, idempotency_fingerprint FROM cases WHERE idempotency_key = ?1",
        )?;
        let mut found = KeyedCases::new();
        for key in keys {
            if let Some(hit) = stmt
                .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?
            {
                found.insert(key.to_string(), hit);
            }
        }
        Ok(found)
    }

    async fn case_doc(&mut self, id_or_number: &str) -> Result<Option<String>, WriteError> {
        Ok(self
            .tx
            .prepare_cached("SELECT doc FROM cases WHERE id = ?1 OR number = ?1")?
            .query_row([id_or_number], |r| r.get(0))
            .optional()?)
    }

    async fn last_hash(&mut self, case_id: &str) -> Result<String, WriteError> {
        Ok(self
            .tx
            .prepare_cached("SELECT last_hash FROM cases WHERE id = ?1")?
            .query_row([case_id], |r| r.get(0))?)
    }

    async fn reserve_numbers(&mut self, day: &str, n: i64) -> Result<i64, WriteError> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT INTO case_numbers (day, last) VALUES (?1, ?2) \
                 ON CONFLICT (day) DO UPDATE SET last = case_numbers.last + excluded.last RETURNING last",
            )?
            .query_row(params![day, n], |r| r.get(0))?)
    }

    async fn raise_number(&mut self, day: &str, seq: i64) -> Result<(), WriteError> {
        self.tx
            .prepare_cached(
                "INSERT INTO case_numbers (day, last) VALUES (?1, ?2) \
                 ON CONFLICT (day) DO UPDATE SET last = MAX(case_numbers.last, excluded.last)",
            )?
            .execute(params![day, seq])?;
        Ok(())
    }

    async fn insert_events(&mut self, rows: &[EventRow]) -> Result<(), WriteError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO case_events (global_seq, case_id, seq, type, actor_id, actor_name, actor_role, at, data, prev_hash, hash, global_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.global_seq,
                r.case_id,
                r.seq,
                r.kind,
                r.actor.id,
                r.actor.name,
                r.actor.role,
                r.at_ms,
                r.data,
                r.prev_hash,
                r.hash,
                r.global_hash
            ])?;
        }
        Ok(())
    }

    async fn insert_projections(&mut self, rows: &[ProjectionRow]) -> Result<(), WriteError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO cases (id, number, state, kind, channel, urgency, category_id, title, intake_unit, intake_path, \
             assigned_unit, scope_path, waiting_on, is_open, next_due, resolve_due, reporter_user, created_at, updated_at, \
             version, last_hash, idempotency_key, idempotency_fingerprint, doc, next_fire, place_path, reporter_phone) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.id,
                r.number,
                r.state,
                r.kind,
                r.channel,
                r.urgency,
                r.category,
                r.title,
                r.intake_unit,
                r.intake_path,
                r.assigned_unit,
                r.scope_path,
                r.waiting_on,
                r.is_open,
                r.next_due,
                r.resolve_due,
                r.reporter_user,
                r.created_at,
                r.updated_at,
                r.version,
                r.last_hash,
                r.idempotency_key,
                r.idempotency_fingerprint,
                r.doc,
                r.next_fire,
                r.place_path,
                r.reporter_phone
            ])?;
        }
        Ok(())
    }

    async fn update_projection(&mut self, r: &ProjectionRow) -> Result<(), WriteError> {
        self.tx
            .prepare_cached(
                "UPDATE cases SET state = ?2, assigned_unit = ?3, scope_path = ?4, waiting_on = ?5, is_open = ?6, \
                 next_due = ?7, resolve_due = ?8, updated_at = ?9, version = ?10, last_hash = ?11, doc = ?12, \
                 next_fire = ?13 WHERE id = ?1",
            )?
            .execute(params![
                r.id,
                r.state,
                r.assigned_unit,
                r.scope_path,
                r.waiting_on,
                r.is_open,
                r.next_due,
                r.resolve_due,
                r.updated_at,
                r.version,
                r.last_hash,
                r.doc,
                r.next_fire
            ])?;
        Ok(())
    }

    async fn upsert_samples(&mut self, rows: &[&SampleRow]) -> Result<(), WriteError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO samples (mn, kind, at, part, received_at, readings) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (mn, kind, at, part) DO UPDATE SET received_at = excluded.received_at, \
             readings = excluded.readings",
        )?;
        for r in rows {
            stmt.execute(params![
                r.mn,
                r.kind,
                r.at_ms,
                r.part,
                r.received_ms,
                encode_readings(&r.readings)
            ])?;
        }
        Ok(())
    }

    async fn replace_parties(
        &mut self,
        case_id: &str,
        rows: &[(String, String, i64)],
    ) -> Result<(), WriteError> {
        self.tx
            .prepare_cached("DELETE FROM case_parties WHERE case_id = ?1")?
            .execute(params![case_id])?;
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO case_parties (case_id, unit_id, path, waiting) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for (unit, path, waiting) in rows {
            stmt.execute(params![case_id, unit, path, waiting])?;
        }
        Ok(())
    }

    async fn add_readers(&mut self, rows: &[super::ReaderRow]) -> Result<(), WriteError> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO case_readers (reader, created_at, case_id, category_id, channel) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for r in rows {
            stmt.execute(params![
                r.reader,
                r.created_at,
                r.case_id,
                r.category,
                r.channel
            ])?;
        }
        Ok(())
    }

    async fn insert_alarm(
        &mut self,
        mn: &str,
        problem: &str,
        case_id: &str,
        at_ms: i64,
        summary: &str,
    ) -> Result<(), WriteError> {
        self.tx
            .prepare_cached(
                "INSERT INTO alarms (mn, problem, case_id, opened_at, summary) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![mn, problem, case_id, at_ms, summary])?;
        Ok(())
    }

    async fn add_unit_day_stats(&mut self, rows: &[DayStats]) -> Result<(), WriteError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| upsert_sql(1, '?'));
        let mut stmt = self.tx.prepare_cached(&SQL)?;
        for r in rows {
            let mut values: Vec<&dyn rusqlite::ToSql> = Vec::with_capacity(r.counts.len() + 2);
            values.push(&r.day);
            values.push(&r.unit_id);
            values.extend(r.counts.iter().map(|n| n as &dyn rusqlite::ToSql));
            stmt.execute(values.as_slice())?;
        }
        Ok(())
    }

    async fn commit(self) -> Result<(), WriteError> {
        self.tx.commit()?;
        Ok(())
    }
}
