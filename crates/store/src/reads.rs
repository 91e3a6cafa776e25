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
    /// Any of these states (empty: all).
    pub states: Vec<String>,
    /// Only cases held within this unit's subtree (a materialised path).
    pub unit_path: Option<String>,
    /// A category and the categories below it.
    pub category: Option<String>,
    pub channel: Option<String>,
    /// Only cases located in this unit's area (a materialised path: street, community, grid).
    pub place_path: Option<String>,
    /// Open, not suspended, and past the resolve deadline at this moment (ms).
    pub overdue_at: Option<i64>,
    /// Received at or after / before these moments (ms).
    pub from_ms: Option<i64>,
    pub until_ms: Option<i64>,
    /// A case number, exactly.
    pub number: Option<String>,
    /// The reporter's number, exactly (only for roles allowed to see it).
    pub phone: Option<String>,
    /// Newest first; the cursor is the last item's `(created_at_ms, id)`.
    pub cursor: Option<(i64, String)>,
    /// Rows to skip (page-numbered lists); ignored with a cursor.
    pub offset: u32,
    pub limit: u32,
}

/// Counts stop here: a list that long is narrowed, not paged through.
pub const COUNT_CAP: i64 = 10_000;

enum Bind {
    Text(String),
    Int(i64),
}

/// The WHERE clause of a case list, with its binds.
fn case_where(f: &CaseFilter) -> (String, Vec<Bind>) {
    let mut binds: Vec<Bind> = Vec::new();
    let mark = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    let mut ors = Vec::new();
    for p in &f.scope_paths {
        let a = mark(&mut binds, Bind::Text(like_prefix(p)));
        let b = mark(&mut binds, Bind::Text(like_prefix(p)));
        let c = mark(&mut binds, Bind::Text(like_prefix(p)));
        // A case is listed where it can be read: its holder, its intake unit, and every
        // unit taking part (co-units, summoned units, earlier holders).
        ors.push(format!(
            "scope_path LIKE {a} ESCAPE '\\' OR intake_path LIKE {b} ESCAPE '\\' \
             OR id IN (SELECT case_id FROM case_parties WHERE path LIKE {c} ESCAPE '\\')"
        ));
    }
    if let Some(u) = &f.reporter_user {
        let a = mark(&mut binds, Bind::Text(u.clone()));
        ors.push(format!("reporter_user = {a}"));
    }
    let mut sql = format!("({})", ors.join(" OR "));
    if !f.states.is_empty() {
        let marks: Vec<String> = f
            .states
            .iter()
            .map(|s| mark(&mut binds, Bind::Text(s.clone())))
            .collect();
        sql.push_str(&format!(" AND state IN ({})", marks.join(", ")));
    }
    if let Some(p) = &f.unit_path {
        let a = mark(&mut binds, Bind::Text(like_prefix(p)));
        sql.push_str(&format!(" AND scope_path LIKE {a} ESCAPE '\\'"));
    }
    if let Some(c) = &f.category {
        let a = mark(&mut binds, Bind::Text(c.clone()));
        let b = mark(&mut binds, Bind::Text(like_prefix(&format!("{c}."))));
        sql.push_str(&format!(
            " AND (category_id = {a} OR category_id LIKE {b} ESCAPE '\\')"
        ));
    }
    if let Some(c) = &f.channel {
        let a = mark(&mut binds, Bind::Text(c.clone()));
        sql.push_str(&format!(" AND channel = {a}"));
    }
    if let Some(p) = &f.place_path {
        let a = mark(&mut binds, Bind::Text(like_prefix(p)));
        sql.push_str(&format!(" AND place_path LIKE {a} ESCAPE '\\'"));
    }
    if let Some(at) = f.overdue_at {
        let a = mark(&mut binds, Bind::Int(at));
        sql.push_str(&format!(
            " AND is_open = 1 AND state <> 'suspended' AND resolve_due < {a}"
        ));
    }
    if let Some(t) = f.from_ms {
        let a = mark(&mut binds, Bind::Int(t));
        sql.push_str(&format!(" AND created_at >= {a}"));
    }
    if let Some(t) = f.until_ms {
        let a = mark(&mut binds, Bind::Int(t));
        sql.push_str(&format!(" AND created_at < {a}"));
    }
    if let Some(n) = &f.number {
        let a = mark(&mut binds, Bind::Text(n.clone()));
        sql.push_str(&format!(" AND number = {a}"));
    }
    if let Some(p) = &f.phone {
        let a = mark(&mut binds, Bind::Text(p.clone()));
        sql.push_str(&format!(" AND reporter_phone = {a}"));
    }
    (sql, binds)
}

fn bind_all<'q>(
    mut q: sqlx::query::QueryScalar<'q, sqlx::Any, String, sqlx::any::AnyArguments>,
    binds: Vec<Bind>,
) -> sqlx::query::QueryScalar<'q, sqlx::Any, String, sqlx::any::AnyArguments> {
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    q
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
        let (mut sql, mut binds) = case_where(f);
        sql = format!("SELECT doc FROM cases WHERE {sql}");
        if let Some((at, id)) = &f.cursor {
            let n = binds.len();
            sql.push_str(&format!(
                " AND (created_at < ${} OR (created_at = ${} AND id < ${}))",
                n + 1,
                n + 2,
                n + 3
            ));
            binds.push(Bind::Int(*at));
            binds.push(Bind::Int(*at));
            binds.push(Bind::Text(id.clone()));
        }
        sql.push_str(&format!(
            " ORDER BY created_at DESC, id DESC LIMIT {}",
            f.limit.clamp(1, 500)
        ));
        if f.cursor.is_none() && f.offset > 0 {
            sql.push_str(&format!(" OFFSET {}", f.offset));
        }
        let q = bind_all(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)),
            binds,
        );
        let docs = q.fetch_all(&self.read).await?;
        docs.iter().map(|d| parse_doc(d)).collect()
    }

    /// How many cases the filter selects, counted up to [`COUNT_CAP`] (`true`: there are more).
    pub async fn count_filtered(&self, f: &CaseFilter) -> Result<(i64, bool), StoreError> {
        if f.scope_paths.is_empty() && f.reporter_user.is_none() {
            return Ok((0, false));
        }
        let (wh, binds) = case_where(f);
        let sql = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM (SELECT 1 FROM cases WHERE {wh} LIMIT {}) t",
            COUNT_CAP + 1
        );
        let q = bind_all(
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql)),
            binds,
        );
        let n: i64 = q
            .fetch_one(&self.read)
            .await?
            .parse()
            .map_err(|_| StoreError::Corrupt("count".into()))?;
        Ok((n.min(COUNT_CAP), n > COUNT_CAP))
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
