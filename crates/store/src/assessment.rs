//! Assessment counters per unit and day (`unit_day_stats`, migration 0005). The writer adds what
//! each event counts ([`jiesu_domain::assessment::deltas`]) inside the batch that appends it, one
//! upsert per (day, unit) per batch; reads sum a period's rows in one indexed query; and
//! [`Store::rebuild_assessment`] recomputes the table from the trail.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use jiesu_domain::assessment::{Counters, Delta, Metric, Period, deltas, may_count};
use jiesu_domain::{Case, CaseEvent, calendar};
use sqlx::Row;

use crate::{Store, StoreError};

/// How many counters a row holds: one per [`Metric`], in [`Metric::ALL`]'s order.
pub const METRICS: usize = Metric::ALL.len();

/// One row of `unit_day_stats`: a unit's counters on one day (`yyyymmdd`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DayStats {
    pub day: i64,
    pub unit_id: String,
    /// In [`Metric::ALL`]'s order.
    pub counts: [i64; METRICS],
}

impl DayStats {
    pub fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for (m, n) in Metric::ALL.iter().zip(self.counts) {
            c.add(*m, n);
        }
        c
    }
}

/// `2026-10-15` → `20261015`, the table's day key.
pub fn day_key(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 10_000 + i64::from(d.month()) * 100 + i64::from(d.day())
}

/// A batch's deltas, summed per (day, unit).
#[derive(Debug, Default)]
pub(crate) struct StatDeltas(HashMap<(i64, String), [i64; METRICS]>);

impl StatDeltas {
    pub(crate) fn add(&mut self, deltas: Vec<Delta>) {
        for d in deltas {
            let row = self
                .0
                .entry((day_key(d.day), d.unit.to_string()))
                .or_insert([0; METRICS]);
            row[d.metric as usize] += d.delta;
        }
    }

    pub(crate) fn merge(&mut self, other: StatDeltas) {
        for (k, c) in other.0 {
            let row = self.0.entry(k).or_insert([0; METRICS]);
            for (a, b) in row.iter_mut().zip(c) {
                *a += b;
            }
        }
    }

    /// What `ev` counts, folded into `case` at `at` (the case moves on either way).
    pub(crate) fn fold(&mut self, case: &mut Case, ev: &CaseEvent, at: jiesu_domain::Time) {
        if may_count(ev) {
            let before = case.clone();
            case.evolve(ev, at);
            self.add(deltas(&before, ev, case, at));
        } else {
            case.evolve(ev, at);
        }
    }

    /// The rows to add, without those that sum to nothing, in key order (two nodes on one
    /// PostgreSQL then lock the rows they share in the same order).
    pub(crate) fn rows(&self) -> Vec<DayStats> {
        let mut v: Vec<DayStats> = self
            .0
            .iter()
            .filter(|(_, c)| c.iter().any(|n| *n != 0))
            .map(|((day, unit), c)| DayStats {
                day: *day,
                unit_id: unit.clone(),
                counts: *c,
            })
            .collect();
        v.sort();
        v
    }
}

/// `received, responded, …` in [`Metric::ALL`]'s order.
fn columns() -> String {
    Metric::ALL
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An upsert of `rows` rows that adds to what is stored; `mark` is the placeholder prefix
/// (`?` for rusqlite, `$` for sqlx).
pub(crate) fn upsert_sql(rows: usize, mark: char) -> String {
    let cols = METRICS + 2;
    let mut s = format!(
        "INSERT INTO unit_day_stats (day, unit_id, {}) VALUES ",
        columns()
    );
    for r in 0..rows {
        s.push_str(if r == 0 { "(" } else { ", (" });
        for c in 1..=cols {
            if c > 1 {
                s.push_str(", ");
            }
            let _ = write!(s, "{mark}{}", r * cols + c);
        }
        s.push(')');
    }
    s.push_str(" ON CONFLICT (day, unit_id) DO UPDATE SET ");
    for (i, m) in Metric::ALL.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let m = m.as_str();
        let _ = write!(s, "{m} = unit_day_stats.{m} + excluded.{m}");
    }
    s
}

/// What a rebuild found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    pub cases: usize,
    pub events: usize,
    /// Rows written to `unit_day_stats`.
    pub rows: usize,
}

const REBUILD_PAGE: i64 = 5_000;

impl Store {
    /// Each unit's counters summed over `period`: one range scan of the (day, unit) key.
    pub async fn unit_counters(
        &self,
        period: &Period,
    ) -> Result<HashMap<String, Counters>, StoreError> {
        let sums: Vec<String> = Metric::ALL
            .iter()
            .map(|m| format!("CAST(SUM({}) AS BIGINT)", m.as_str()))
            .collect();
        let sql = format!(
            "SELECT unit_id, {} FROM unit_day_stats WHERE day >= $1 AND day <= $2 GROUP BY unit_id",
            sums.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(day_key(period.from))
            .bind(day_key(period.to))
            .fetch_all(&self.read)
            .await?;
        let mut out = HashMap::with_capacity(rows.len());
        for r in rows {
            let mut c = Counters::default();
            for (i, m) in Metric::ALL.iter().enumerate() {
                let n: Option<i64> = r.try_get(i + 1)?;
                c.add(*m, n.unwrap_or(0));
            }
            out.insert(r.try_get(0)?, c);
        }
        Ok(out)
    }

    /// The whole table in key order, without rows that sum to nothing (a revoked card leaves a
    /// row of zeros behind; a rebuild does not write one).
    pub async fn assessment_table(&self) -> Result<Vec<DayStats>, StoreError> {
        let sql = format!(
            "SELECT day, unit_id, {} FROM unit_day_stats ORDER BY day, unit_id",
            columns()
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let mut counts = [0; METRICS];
            for (i, n) in counts.iter_mut().enumerate() {
                *n = r.try_get(i + 2)?;
            }
            if counts.iter().any(|n| *n != 0) {
                out.push(DayStats {
                    day: r.try_get(0)?,
                    unit_id: r.try_get(1)?,
                    counts,
                });
            }
        }
        Ok(out)
    }

    /// Recomputes `unit_day_stats` from the trail: each case replayed event by event (as
    /// `Case::replay` does) with what each event counts. Runs in one transaction that first takes
    /// the writer's lock (the chain head), so no batch commits between the read and the
    /// replacement; writes wait until it is done.
    pub async fn rebuild_assessment(&self) -> Result<RebuildReport, StoreError> {
        let mut tx = self.read.begin().await?;
        // A no-op write on the chain head: SQLite's write lock, PostgreSQL's row lock, the one
        // every writer batch takes first.
        sqlx::query("UPDATE chain_head SET global_seq = global_seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        let mut sums = StatDeltas::default();
        let (mut cases, mut events) = (0, 0);
        let mut current: Option<Case> = None;
        let mut after = (String::new(), 0i64);
        loop {
            let page = sqlx::query(
                "SELECT case_id, seq, at, data FROM case_events \
                 WHERE case_id > $1 OR (case_id = $1 AND seq > $2) \
                 ORDER BY case_id, seq LIMIT $3",
            )
            .bind(&after.0)
            .bind(after.1)
            .bind(REBUILD_PAGE)
            .fetch_all(&mut *tx)
            .await?;
            let n = page.len();
            for r in page {
                let (id, seq, at, data): (String, i64, i64, String) =
                    (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
                let ev: CaseEvent = serde_json::from_str(&data)
                    .map_err(|e| StoreError::Corrupt(format!("event {id}/{seq}: {e}")))?;
                let at = calendar::from_unix_ms(at)
                    .ok_or_else(|| StoreError::Corrupt(format!("event {id}/{seq} time {at}")))?;
                events += 1;
                match current.as_mut() {
                    Some(case) if case.id == id => sums.fold(case, &ev, at),
                    _ => {
                        let case = Case::from_received(id.clone(), &ev, at).ok_or_else(|| {
                            StoreError::Corrupt(format!("case {id} does not start with received"))
                        })?;
                        cases += 1;
                        current = Some(case);
                    }
                }
                after = (id, seq);
            }
            if (n as i64) < REBUILD_PAGE {
                break;
            }
        }
        sqlx::query("DELETE FROM unit_day_stats")
            .execute(&mut *tx)
            .await?;
        let rows = sums.rows();
        for chunk in rows.chunks(100) {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert_sql(chunk.len(), '$')));
            for r in chunk {
                q = q.bind(r.day).bind(&r.unit_id);
                for n in r.counts {
                    q = q.bind(n);
                }
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(RebuildReport {
            cases,
            events,
            rows: rows.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enum_order_is_the_array_order() {
        // `counts[metric as usize]` relies on it.
        for (i, m) in Metric::ALL.iter().enumerate() {
            assert_eq!(*m as usize, i);
        }
    }

    #[test]
    fn upsert_adds_to_every_column() {
        let s = upsert_sql(2, '$');
        assert!(s.contains("($1, $2, $3"));
        assert!(s.contains(&format!("${}", 2 * (METRICS + 2))));
        assert!(s.contains("whistled = unit_day_stats.whistled + excluded.whistled"));
    }
}
