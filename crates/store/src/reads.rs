//! Reads from the projections and the trail, on the reader pool.

use jiesu_domain::{Case, UnitId};
use serde::Serialize;
use sqlx::Row;

use crate::{Store, StoreError};

/// One event of a case's trail, as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    #[serde(rename = "type")]
    pub kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub actor_role: String,
    pub at_ms: i64,
    pub data: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
    pub global_seq: i64,
}

/// A page request over the cases an actor may see.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    /// Materialised paths of the units whose subtrees are visible (empty = none).
    pub scope_paths: Vec<String>,
    /// Citizens see the cases they reported.
    pub reporter_user: Option<String>,
    pub state: Option<String>,
    /// Only cases held within this unit's subtree (a materialised path).
    pub unit_path: Option<String>,
    /// Newest first; the cursor is the last item's `(created_at_ms, id)`.
    pub cursor: Option<(i64, String)>,
    pub limit: u32,
}

pub(crate) fn like_prefix(path: &str) -> String {
    // Paths are unit codes and slashes; escape LIKE wildcards anyway.
    let mut s = path
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    s.push('%');
    s
}

fn parse_doc(doc: &str) -> Result<Case, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt(format!("case document: {e}")))
}

impl Store {
    /// A case by id or by number.
    pub async fn get_case(&self, id_or_number: &str) -> Result<Option<Case>, StoreError> {
        let doc: Option<String> =
            sqlx::query_scalar("SELECT doc FROM cases WHERE id = $1 OR number = $1")
                .bind(id_or_number)
                .fetch_optional(&self.read)
                .await?;
        doc.as_deref().map(parse_doc).transpose()
    }

    pub async fn timeline(&self, case_id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, type, actor_id, actor_name, actor_role, at, data, prev_hash, hash, global_seq \
             FROM case_events WHERE case_id = $1 ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let data: String = r.try_get(6)?;
                Ok(StoredEvent {
                    seq: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    actor_id: r.try_get(2)?,
                    actor_name: r.try_get(3)?,
                    actor_role: r.try_get(4)?,
                    at_ms: r.try_get(5)?,
                    data: serde_json::from_str(&data)
                        .map_err(|e| StoreError::Corrupt(format!("event data: {e}")))?,
                    prev_hash: r.try_get(7)?,
                    hash: r.try_get(8)?,
                    global_seq: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// Cases visible under the filter, newest first.
    pub async fn list_cases(&self, f: &CaseFilter) -> Result<Vec<Case>, StoreError> {
        if f.scope_paths.is_empty() && f.reporter_user.is_none() {
            return Ok(vec![]);
        }
        let mut sql = String::from("SELECT doc FROM cases WHERE (");
        let mut binds: Vec<String> = Vec::new();
        let mut n = 0;
        let mut next = |binds: &mut Vec<String>, v: String| {
            binds.push(v);
            n += 1;
            format!("${n}")
        };
        let mut ors = Vec::new();
        for p in &f.scope_paths {
            let a = next(&mut binds, like_prefix(p));
            let b = next(&mut binds, like_prefix(p));
            let c = next(&mut binds, like_prefix(p));
            // A case is listed where it can be read: its holder, its intake unit, and every
            // unit taking part (co-units, summoned units, earlier holders).
            ors.push(format!(
                "scope_path LIKE {a} ESCAPE '\\' OR intake_path LIKE {b} ESCAPE '\\' \
                 OR id IN (SELECT case_id FROM case_parties WHERE path LIKE {c} ESCAPE '\\')"
            ));
        }
        if let Some(u) = &f.reporter_user {
            let a = next(&mut binds, u.clone());
            ors.push(format!("reporter_user = {a}"));
        }
        sql.push_str(&ors.join(" OR "));
        sql.push(')');
        if let Some(s) = &f.state {
            let a = next(&mut binds, s.clone());
            sql.push_str(&format!(" AND state = {a}"));
        }
        if let Some(p) = &f.unit_path {
            let a = next(&mut binds, like_prefix(p));
            sql.push_str(&format!(" AND scope_path LIKE {a} ESCAPE '\\'"));
        }
        let mut cursor_binds: Option<(i64, String)> = None;
        if let Some((at, id)) = &f.cursor {
            let a = n + 1;
            let b = n + 2;
            let c = n + 3;
            sql.push_str(&format!(
                " AND (created_at < ${a} OR (created_at = ${b} AND id < ${c}))"
            ));
            cursor_binds = Some((*at, id.clone()));
            n += 3;
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            f.limit.clamp(1, 500)
        ));
        let _ = n;
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
        for b in binds {
            q = q.bind(b);
        }
        if let Some((at, id)) = cursor_binds {
            q = q.bind(at).bind(at).bind(id);
        }
        let docs = q.fetch_all(&self.read).await?;
        docs.iter().map(|d| parse_doc(d)).collect()
    }

    /// Open cases waiting on one of `units`, the soonest deadline first.
    pub async fn worklist(&self, units: &[UnitId], limit: u32) -> Result<Vec<Case>, StoreError> {
        if units.is_empty() {
            return Ok(vec![]);
        }
        let marks: Vec<String> = (1..=units.len()).map(|i| format!("${i}")).collect();
        let limit = limit.clamp(1, 500);
        // Waiting on a unit: it holds the case (the worklist index gives these in order), or it
        // was summoned and owes its report-in or part (few; merged in by due time).
        let held = format!(
            "SELECT doc FROM cases WHERE waiting_on IN ({}) ORDER BY next_due, id LIMIT {limit}",
            marks.join(", ")
        );
        let owed = format!(
            "SELECT c.doc FROM case_parties p JOIN cases c ON c.id = p.case_id \
             WHERE p.waiting = 1 AND p.unit_id IN ({}) ORDER BY c.next_due, c.id LIMIT {limit}",
            marks.join(", ")
        );
        let mut docs = Vec::new();
        for sql in [held, owed] {
            let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
            for u in units {
                q = q.bind(u.as_str());
            }
            docs.extend(q.fetch_all(&self.read).await?);
        }
        let mut cases: Vec<Case> = docs
            .iter()
            .map(|d| parse_doc(d))
            .collect::<Result<_, _>>()?;
        // The same order as the index: no deadline sorts last.
        let due = |c: &Case| c.next_due().map_or(i64::MAX, |t| t.timestamp_millis());
        cases.sort_by(|a, b| (due(a), &a.id).cmp(&(due(b), &b.id)));
        cases.dedup_by(|a, b| a.id == b.id);
        cases.truncate(limit as usize);
        Ok(cases)
    }

    /// Events in the log, from the chain head (one row, no scan).
    pub async fn event_count(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT global_seq FROM chain_head WHERE id = 1")
                .fetch_one(&self.read)
                .await?,
        )
    }

    pub async fn count_cases(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cases")
            .fetch_one(&self.read)
            .await?)
    }

    /// Cases per state, for /metrics.
    pub async fn cases_by_state(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) FROM cases GROUP BY state ORDER BY state")
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Cases created under an idempotency key (to prove a retry made no second case).
    pub async fn count_idempotency_key(&self, key: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE idempotency_key = $1")
                .bind(key)
                .fetch_one(&self.read)
                .await?,
        )
    }
}

/// One committed event with what a live stream needs to scope and show it.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub global_seq: i64,
    pub case_id: String,
    pub kind: String,
    pub at_ms: i64,
    pub number: String,
    pub state: String,
    pub assigned_unit: Option<String>,
    pub scope_path: String,
    pub intake_path: String,
    pub reporter_user: Option<String>,
}

impl Store {
    /// Events committed after `after` (global order), at most `limit`, with their case's current
    /// state and scope. Every node reads the same log, so every node's stream sees every write.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<LiveEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.global_seq, e.case_id, e.type, e.at, c.number, c.state, c.assigned_unit, \
             c.scope_path, c.intake_path, c.reporter_user \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             WHERE e.global_seq > $1 ORDER BY e.global_seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(LiveEvent {
                    global_seq: r.try_get(0)?,
                    case_id: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                    number: r.try_get(4)?,
                    state: r.try_get(5)?,
                    assigned_unit: r.try_get(6)?,
                    scope_path: r.try_get(7)?,
                    intake_path: r.try_get(8)?,
                    reporter_user: r.try_get(9)?,
                })
            })
            .collect()
    }

    /// The newest event's global position (0 for an empty log).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(global_seq) FROM case_events")
            .fetch_one(&self.read)
            .await?;
        Ok(seq.unwrap_or(0))
    }
}
