//! Assessment counters per unit and day (`unit_day_stats`, migration 0005). The writer adds what
//! each event counts ([`jiesu_domain::assessment::deltas`]) inside the batch that appends it, one
//! upsert per (day, unit) per batch; reads sum a period's rows in one indexed query; and
//! [`Store::rebuild_assessment`] recomputes the table from the trail.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use jiesu_domain::assessment::{Counters, Delta, Metric, Period, deltas, may_count};
use jiesu_domain::{Case, CaseEvent, UnitId, calendar};
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

/// Adds `rows` to the stored counters through sqlx, in multi-row upserts (the rebuild, the
/// benchmark's load and the PostgreSQL writer).
pub(crate) async fn upsert_rows(
    conn: &mut sqlx::AnyConnection,
    rows: &[DayStats],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(100) {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(upsert_sql(chunk.len(), '$')));
        for r in chunk {
            q = q.bind(r.day).bind(&r.unit_id);
            for n in r.counts {
                q = q.bind(n);
            }
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
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

    /// One counter of one unit summed over a period (the clock asks a unit's yellow cards in a
    /// month: one indexed range, revoked cards already taken off).
    pub async fn unit_metric(
        &self,
        unit: &str,
        period: &Period,
        metric: Metric,
    ) -> Result<i64, StoreError> {
        let sql = format!(
            "SELECT CAST(SUM({}) AS BIGINT) FROM unit_day_stats WHERE day >= $1 AND day <= $2 AND unit_id = $3",
            metric.as_str()
        );
        let n: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(day_key(period.from))
            .bind(day_key(period.to))
            .bind(unit)
            .fetch_one(&self.read)
            .await?;
        Ok(n.unwrap_or(0))
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
        upsert_rows(&mut tx, &rows).await?;
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

/// Synthetic load for `jiesu bench assessment` (never used by the server): counters and
/// projection rows for many cases, written straight into `unit_day_stats` and `cases`.
pub mod bench {
    use super::*;

    /// A small deterministic generator (xorshift), so two runs load the same county.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    const DAY_MS: i64 = 86_400_000;

    /// Beijing midnight of `d` in unix milliseconds.
    fn midnight_ms(d: NaiveDate) -> i64 {
        d.and_hms_opt(0, 0, 0)
            .map_or(0, |t| t.and_utc().timestamp_millis() - 8 * 3_600_000)
    }

    /// `cases` cases dispatched over `year` to `units` (uniformly), with what they count: 92 %
    /// responded, 3 % returned, 4 % extended, 80 % closed three days later (rated: 70 %
    /// satisfied, 15 % basically, 8 % unsatisfied, 7 % unreachable; 90 % on time; 2 % reopened),
    /// 5 % with a yellow card, 1 % with a red one. Each case also gets a minimal row in `cases`
    /// (state, unit, times) for the plain GROUP BY. Returns the number of counter rows.
    pub async fn fill(
        store: &Store,
        cases: usize,
        units: &[String],
        year: i32,
    ) -> Result<usize, StoreError> {
        let (Some(first), false) = (NaiveDate::from_ymd_opt(year, 1, 1), units.is_empty()) else {
            return Err(StoreError::Corrupt("no units or no year".into()));
        };
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut sums = StatDeltas::default();
        let mut tx = store.read.begin().await?;
        let mut batch: Vec<(String, String, bool, i64, i64)> = Vec::with_capacity(400);
        for i in 0..cases {
            let unit = UnitId::new(&units[rng.below(units.len() as u64) as usize]);
            let day = first + chrono::Days::new(rng.below(365));
            let closed_day = day + chrono::Days::new(3);
            let mut add = |d: NaiveDate, m: Metric| {
                sums.add(vec![Delta {
                    unit: unit.clone(),
                    day: d,
                    metric: m,
                    delta: 1,
                }])
            };
            add(day, Metric::Received);
            let roll = |rng: &mut Rng, pct: u64| rng.below(100) < pct;
            if roll(&mut rng, 92) {
                add(day, Metric::Responded);
            }
            if roll(&mut rng, 3) {
                add(day, Metric::Returned);
            }
            if roll(&mut rng, 4) {
                add(day, Metric::Extended);
            }
            if roll(&mut rng, 5) {
                add(day, Metric::YellowCards);
            }
            if roll(&mut rng, 1) {
                add(day, Metric::RedCards);
            }
            let closed = roll(&mut rng, 80);
            if closed {
                add(closed_day, Metric::Closed);
                if roll(&mut rng, 90) {
                    add(closed_day, Metric::OnTime);
                }
                if roll(&mut rng, 2) {
                    add(closed_day, Metric::Reopened);
                }
                match rng.below(100) {
                    0..70 => [Metric::Rated, Metric::Satisfied, Metric::Resolved]
                        .into_iter()
                        .for_each(|m| add(closed_day, m)),
                    70..85 => [Metric::Rated, Metric::BasicallySatisfied, Metric::Resolved]
                        .into_iter()
                        .for_each(|m| add(closed_day, m)),
                    85..93 => [Metric::Rated, Metric::Unsatisfied]
                        .into_iter()
                        .for_each(|m| add(closed_day, m)),
                    _ => add(closed_day, Metric::Unreachable),
                }
            }
            let at = midnight_ms(day) + 9 * 3_600_000 + rng.below(8 * 3_600_000) as i64;
            batch.push((
                format!("B{i:09}"),
                unit.to_string(),
                closed,
                at,
                at + 3 * DAY_MS,
            ));
            if batch.len() == 400 || i + 1 == cases {
                insert_cases(&mut tx, &batch).await?;
                batch.clear();
            }
        }
        let rows = sums.rows();
        upsert_rows(&mut tx, &rows).await?;
        tx.commit().await?;
        for table in ["cases", "unit_day_stats"] {
            sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                .execute(&store.read)
                .await?;
        }
        Ok(rows.len())
    }

    async fn insert_cases(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        batch: &[(String, String, bool, i64, i64)],
    ) -> Result<(), StoreError> {
        let mut sql = String::from(
            "INSERT INTO cases (id, number, state, kind, channel, urgency, title, intake_unit, \
             intake_path, assigned_unit, scope_path, is_open, next_due, resolve_due, created_at, \
             updated_at, version, last_hash, doc) VALUES ",
        );
        for i in 0..batch.len() {
            let b = i * 8;
            let _ = write!(
                sql,
                "{}(${}, ${}, ${}, 'complaint', 'hotline', 'normal', 'bench', 'county', '/', ${}, '/', ${}, ${}, ${}, ${}, ${}, 1, '', '{{}}')",
                if i == 0 { "" } else { ", " },
                b + 1,
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7,
                b + 8,
            );
        }
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, unit, closed, at, closed_at) in batch {
            let resolve_due = at + 21 * DAY_MS;
            q = q
                .bind(id)
                .bind(if *closed { "closed" } else { "in_progress" })
                .bind(unit)
                .bind(i64::from(!*closed))
                .bind(if *closed { i64::MAX / 2 } else { resolve_due })
                .bind(resolve_due)
                .bind(*at)
                .bind(if *closed { *closed_at } else { *at });
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }

    /// The plain way, for comparison: one GROUP BY over the `cases` projection for the cases
    /// created in `period` (counts, closed, closed on time per unit). It reads every case of
    /// the period, and still has no ratings (those are only in each case's document).
    pub async fn projection_group_by(
        store: &Store,
        period: &Period,
    ) -> Result<Vec<(Option<String>, i64, i64, i64)>, StoreError> {
        let from = midnight_ms(period.from);
        let to = midnight_ms(period.to) + DAY_MS;
        let rows = sqlx::query(
            "SELECT assigned_unit, COUNT(*), \
             CAST(SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS BIGINT), \
             CAST(SUM(CASE WHEN state = 'closed' AND updated_at <= resolve_due THEN 1 ELSE 0 END) AS BIGINT) \
             FROM cases WHERE created_at >= $1 AND created_at < $2 GROUP BY assigned_unit",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&store.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                    r.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}
