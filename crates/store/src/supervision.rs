//! Reads for the callback queue and the supervision board, from the `cases` projection.
//!
//! What is read: every query here goes through the worklist index `cases_worklist (waiting_on,
//! next_due)` with `waiting_on IN (…)` the units the caller covers. Closed and merged cases have no
//! `waiting_on`, so they are never read; each open case waiting on one of those units is read once
//! (its row for the counts, its document only where the board needs cards or supervisions, which
//! serde leaves out of the document when empty, so `doc LIKE` skips the rest before any parsing).
//! No query scans the whole table.

use jiesu_domain::{Case, UnitId};
use sqlx::Row;

use crate::{Store, StoreError};

/// Units per `IN (…)` list: far below both backends' bind limits.
const CHUNK: usize = 500;

/// A case waiting for its callback, with the moment its reply was approved.
#[derive(Debug, Clone)]
pub struct CallbackItem {
    pub case: Case,
    /// Unix ms of the latest `reply_approved` event (absent only in a damaged trail).
    pub approved_at_ms: Option<i64>,
}

/// The open cases waiting on one unit, counted on their projection rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaitingCounts {
    pub unit: String,
    pub open: i64,
    /// The holder's next deadline falls within the window given.
    pub due_soon: i64,
    /// The holder's next deadline has passed.
    pub overdue: i64,
}

fn marks(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_doc(doc: &str) -> Result<Case, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("case document: {e}")))
}

impl Store {
    /// Cases in `awaiting_callback` whose callback falls to one of `units` (a case waits for its
    /// callback on its intake unit), the oldest approval first.
    pub async fn callback_queue(&self, units: &[UnitId]) -> Result<Vec<CallbackItem>, StoreError> {
        let mut cases = Vec::new();
        for chunk in units.chunks(CHUNK) {
            let sql = format!(
                "SELECT doc FROM cases WHERE waiting_on IN ({}) AND state = 'awaiting_callback'",
                marks(1, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(u.as_str());
            }
            for doc in q.fetch_all(&self.read).await? {
                cases.push(parse_doc(&doc)?);
            }
        }
        // The approval moment is in the trail: one probe of `(case_id, seq)` per case.
        let mut approved = std::collections::HashMap::new();
        for chunk in cases.chunks(CHUNK) {
            let sql = format!(
                "SELECT case_id, MAX(at) FROM case_events WHERE case_id IN ({}) \
                 AND type = 'reply_approved' GROUP BY case_id",
                marks(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for c in chunk {
                q = q.bind(c.id.as_str());
            }
            for r in q.fetch_all(&self.read).await? {
                let id: String = r.try_get(0)?;
                let at: i64 = r.try_get(1)?;
                approved.insert(id, at);
            }
        }
        let mut items: Vec<CallbackItem> = cases
            .into_iter()
            .map(|case| CallbackItem {
                approved_at_ms: approved.get(&case.id).copied(),
                case,
            })
            .collect();
        items.sort_by(|a, b| {
            (a.approved_at_ms.unwrap_or(i64::MAX), &a.case.id)
                .cmp(&(b.approved_at_ms.unwrap_or(i64::MAX), &b.case.id))
        });
        Ok(items)
    }

    /// Per unit of `units` that has open cases waiting on it: how many, how many fall due before
    /// `soon_ms`, how many are past due at `now_ms`.
    pub async fn waiting_counts(
        &self,
        units: &[UnitId],
        now_ms: i64,
        soon_ms: i64,
    ) -> Result<Vec<WaitingCounts>, StoreError> {
        let mut out = Vec::new();
        for chunk in units.chunks(CHUNK) {
            let sql = format!(
                "SELECT waiting_on, COUNT(*), \
                 SUM(CASE WHEN next_due >= $1 AND next_due < $2 THEN 1 ELSE 0 END), \
                 SUM(CASE WHEN next_due < $1 THEN 1 ELSE 0 END) \
                 FROM cases WHERE waiting_on IN ({}) GROUP BY waiting_on",
                marks(3, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now_ms)
                .bind(soon_ms);
            for u in chunk {
                q = q.bind(u.as_str());
            }
            for r in q.fetch_all(&self.read).await? {
                out.push(WaitingCounts {
                    unit: r.try_get(0)?,
                    open: r.try_get(1)?,
                    due_soon: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                    overdue: r.try_get::<Option<i64>, _>(3)?.unwrap_or(0),
                });
            }
        }
        out.sort_by(|a, b| a.unit.cmp(&b.unit));
        Ok(out)
    }

    /// The open cases waiting on one of `units` that carry cards or supervisions.
    pub async fn supervised_cases(&self, units: &[UnitId]) -> Result<Vec<Case>, StoreError> {
        let mut out = Vec::new();
        for chunk in units.chunks(CHUNK) {
            let sql = format!(
                "SELECT doc FROM cases WHERE waiting_on IN ({}) \
                 AND (doc LIKE '%\"cards\":%' OR doc LIKE '%\"supervisions\":%') ORDER BY id",
                marks(1, chunk.len())
            );
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for u in chunk {
                q = q.bind(u.as_str());
            }
            for doc in q.fetch_all(&self.read).await? {
                out.push(parse_doc(&doc)?);
            }
        }
        Ok(out)
    }
}
