//! The writer's statements on PostgreSQL, through sqlx. Rows go in multi-row inserts: each
//! statement is a network round trip, so a batch is a handful of them whatever its size.

use sqlx::{Any, AnyPool, Row, Transaction};

use super::{EventRow, Head, KeyedCases, ProjectionRow, WriteDb, WriteError, WriteTx};
use crate::SampleRow;
use crate::assessment::{DayStats, upsert_rows};
use crate::monitoring::encode_readings;

pub(crate) struct PgDb {
    pool: AnyPool,
}

impl PgDb {
    pub(crate) fn new(pool: AnyPool) -> Self {
        PgDb { pool }
    }
}

pub(crate) struct PgTx {
    tx: Transaction<'static, Any>,
}

impl WriteDb for PgDb {
    type Tx<'a> = PgTx;

    async fn begin(&mut self) -> Result<PgTx, WriteError> {
        Ok(PgTx {
            tx: self.pool.begin().await?,
        })
    }
}

/// `($1, $2, …), ($k+1, …)` for `rows` rows of `cols` columns.
fn values_list(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=cols {
            if c > 1 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c).to_string());
        }
        s.push(')');
    }
    s
}

impl WriteTx for PgTx {
    async fn head(&mut self) -> Result<Head, WriteError> {
        // Several API nodes may share one PostgreSQL: the row lock orders their batches.
        let row =
            sqlx::query("SELECT global_seq, global_hash FROM chain_head WHERE id = 1 FOR UPDATE")
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(Head {
            seq: row.try_get(0)?,
            hash: row.try_get(1)?,
        })
    }

    async fn set_head(&mut self, head: &Head) -> Result<(), WriteError> {
        sqlx::query("UPDATE chain_head SET global_seq = $1, global_hash = $2 WHERE id = 1")
            .bind(head.seq)
            .bind(&head.hash)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn cases_by_key(&mut self, keys: &[&str]) -> Result<KeyedCases, WriteError> {
        let mut found = KeyedCases::new();
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
            for row in q.fetch_all(&mut *self.tx).await? {
                found.insert(row.try_get(0)?, (row.try_get(1)?, row.try_get(2)?));
            }
        }
        Ok(found)
    }

    async fn case_doc(&mut self, id_or_number: &str) -> Result<Option<String>, WriteError> {
        Ok(
            sqlx::query_scalar("SELECT doc FROM cases WHERE id = $1 OR number = $1")
                .bind(id_or_number)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    async fn last_hash(&mut self, case_id: &str) -> Result<String, WriteError> {
        Ok(
            sqlx::query_scalar("SELECT last_hash FROM cases WHERE id = $1")
                .bind(case_id)
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    async fn reserve_numbers(&mut self, day: &str, n: i64) -> Result<i64, WriteError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO case_numbers (day, last) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET last = case_numbers.last + excluded.last RETURNING last",
        )
        .bind(day)
        .bind(n)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn raise_number(&mut self, day: &str, seq: i64) -> Result<(), WriteError> {
        sqlx::query(
            "INSERT INTO case_numbers (day, last) VALUES ($1, $2) \
             ON CONFLICT (day) DO UPDATE SET last = GREATEST(case_numbers.last, excluded.last)",
        )
        .bind(day)
        .bind(seq)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn insert_events(&mut self, rows: &[EventRow]) -> Result<(), WriteError> {
        for chunk in rows.chunks(128) {
            let sql = format!(
                "INSERT INTO case_events (global_seq, case_id, seq, type, actor_id, actor_name, actor_role, at, data, prev_hash, hash, global_hash) VALUES {}",
                values_list(chunk.len(), 12)
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
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn insert_projections(&mut self, rows: &[ProjectionRow]) -> Result<(), WriteError> {
        for chunk in rows.chunks(64) {
            let sql = format!(
                "INSERT INTO cases (id, number, state, kind, channel, urgency, category_id, title, intake_unit, intake_path, \
                 assigned_unit, scope_path, waiting_on, is_open, next_due, resolve_due, reporter_user, created_at, updated_at, \
                 version, last_hash, idempotency_key, idempotency_fingerprint, doc, next_fire, place_path, reporter_phone) VALUES {}",
                values_list(chunk.len(), 27)
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
                    .bind(&r.doc)
                    .bind(r.next_fire)
                    .bind(r.place_path.as_deref())
                    .bind(r.reporter_phone.as_deref());
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn update_projection(&mut self, r: &ProjectionRow) -> Result<(), WriteError> {
        sqlx::query(
            "UPDATE cases SET state = $2, assigned_unit = $3, scope_path = $4, waiting_on = $5, is_open = $6, \
             next_due = $7, resolve_due = $8, updated_at = $9, version = $10, last_hash = $11, doc = $12, \
             next_fire = $13 WHERE id = $1",
        )
        .bind(&r.id)
        .bind(r.state)
        .bind(r.assigned_unit.as_deref())
        .bind(&r.scope_path)
        .bind(r.waiting_on.as_deref())
        .bind(r.is_open)
        .bind(r.next_due)
        .bind(r.resolve_due)
        .bind(r.updated_at)
        .bind(r.version)
        .bind(&r.last_hash)
        .bind(&r.doc)
        .bind(r.next_fire)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn upsert_samples(&mut self, rows: &[&SampleRow]) -> Result<(), WriteError> {
        for chunk in rows.chunks(128) {
            let sql = format!(
                "INSERT INTO samples (mn, kind, at, part, received_at, readings) VALUES {} \
                 ON CONFLICT (mn, kind, at, part) DO UPDATE SET received_at = excluded.received_at, \
                 readings = excluded.readings",
                values_list(chunk.len(), 6)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(&r.mn)
                    .bind(r.kind)
                    .bind(r.at_ms)
                    .bind(r.part)
                    .bind(r.received_ms)
                    .bind(encode_readings(&r.readings));
            }
            q.execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn replace_parties(
        &mut self,
        case_id: &str,
        rows: &[(String, String, i64)],
    ) -> Result<(), WriteError> {
        sqlx::query("DELETE FROM case_parties WHERE case_id = $1")
            .bind(case_id)
            .execute(&mut *self.tx)
            .await?;
        for (unit, path, waiting) in rows {
            sqlx::query(
                "INSERT INTO case_parties (case_id, unit_id, path, waiting) VALUES ($1, $2, $3, $4)",
            )
            .bind(case_id)
            .bind(unit)
            .bind(path)
            .bind(waiting)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    async fn add_readers(&mut self, rows: &[super::ReaderRow]) -> Result<(), WriteError> {
        for chunk in rows.chunks(256) {
            let sql = format!(
                "INSERT INTO case_readers (reader, created_at, case_id, category_id, channel) VALUES {} \
                 ON CONFLICT DO NOTHING",
                values_list(chunk.len(), 5)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                q = q
                    .bind(&r.reader)
                    .bind(r.created_at)
                    .bind(&r.case_id)
                    .bind(r.category.as_deref())
                    .bind(r.channel);
            }
            q.execute(&mut *self.tx).await?;
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
        sqlx::query(
            "INSERT INTO alarms (mn, problem, case_id, opened_at, summary) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(mn)
        .bind(problem)
        .bind(case_id)
        .bind(at_ms)
        .bind(summary)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn add_unit_day_stats(&mut self, rows: &[DayStats]) -> Result<(), WriteError> {
        Ok(upsert_rows(&mut self.tx, rows).await?)
    }

    async fn commit(self) -> Result<(), WriteError> {
        self.tx.commit().await?;
        Ok(())
    }
}
