//! Reads from the projections and the trail, on the reader pool.

use jiesu_domain::{Actor, Case, OrgTree, UnitId};
use serde::Serialize;
use sqlx::Row;

use crate::{Backend, Store, StoreError};

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
    /// The units whose subtrees the caller reads (ids; none nested in another).
    pub reader_units: Vec<String>,
    /// The caller's account: the cases he reported are his to read too (`Case::visible_to`).
    pub reporter: Option<String>,
    /// Only the cases he reported (needs `reporter`).
    pub reported_only: bool,
    /// Any of these states (empty: all).
    pub states: Vec<String>,
    /// Only cases held within this unit's subtree: (id, materialised path). The unit lies within
    /// the caller's scope (the API checks it).
    pub unit: Option<(String, String)>,
    /// Any of these categories: the one asked for and those below it.
    pub categories: Vec<String>,
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

impl CaseFilter {
    /// Everything `actor` may read, by the rule of `Case::visible_to`, before any filter: the
    /// subtrees of his reading grants and what he reported.
    pub fn readable_by(actor: &Actor, org: &OrgTree) -> Self {
        let units = actor.reader_units();
        CaseFilter {
            // A unit inside another granted unit adds nothing.
            reader_units: units
                .iter()
                .filter(|u| !units.iter().any(|o| o != *u && org.is_within(u, o)))
                .map(|u| u.to_string())
                .collect(),
            reporter: Some(actor.user_id.clone()),
            ..CaseFilter::default()
        }
    }
}

/// Counts stop here: a list that long is narrowed, not paged through.
pub const COUNT_CAP: i64 = 10_000;

/// How far a driver's size is counted when choosing one: past this, a set is "big", and the
/// choice between big sets follows the density the counts imply.
const PROBE_CAP: i64 = 50_000;

/// The states an overdue case can be in: open, and not suspended (its clock stands still).
fn overdue_states() -> Vec<String> {
    jiesu_domain::CaseState::ALL
        .iter()
        .filter(|s| s.is_open() && **s != jiesu_domain::CaseState::Suspended)
        .map(|s| s.as_str().to_string())
        .collect()
}

#[derive(Clone)]
enum Bind {
    Text(String),
    Int(i64),
}

/// SQL text with its numbered binds.
#[derive(Default)]
struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn arg(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
    fn args(&mut self, items: &[String]) -> String {
        let marks: Vec<String> = items
            .iter()
            .map(|i| self.arg(Bind::Text(i.clone())))
            .collect();
        marks.join(", ")
    }
    fn scalar(
        self,
    ) -> sqlx::query::QueryScalar<'static, sqlx::Any, String, sqlx::any::AnyArguments> {
        let mut q = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(self.text));
        for b in self.binds {
            q = match b {
                Bind::Text(t) => q.bind(t),
                Bind::Int(i) => q.bind(i),
            };
        }
        q
    }
}

/// The filters that have an index of their own, each a way into a list.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Filter {
    Number,
    Phone,
    State,
    Category,
    Channel,
    Place,
    Overdue,
}

impl Filter {
    /// Fixed at intake and copied onto `case_readers`.
    fn on_readers(self) -> bool {
        matches!(self, Filter::Category | Filter::Channel)
    }

    /// The SQLite index that serves it (named, so the plan cannot drift to another).
    fn sqlite_index(self) -> Option<&'static str> {
        match self {
            Filter::State => Some("cases_state_created"),
            Filter::Category => Some("cases_category_created"),
            Filter::Channel => Some("cases_channel_created"),
            Filter::Place => Some("cases_place_created"),
            // Overdue cases are open ones: each open state's range, newest first, with the
            // deadline in the index.
            Filter::Overdue => Some("cases_state_created"),
            Filter::Number | Filter::Phone => None,
        }
    }
}

/// Where a list starts reading: the scope's readers in time order, or one filter's index (each
/// row then checked against the scope).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Driver {
    Scope,
    Index(Filter),
}

/// Whose cases a list reads, resolved: these `case_readers` keys.
struct Scope(Vec<String>);

fn filters_of(f: &CaseFilter) -> Vec<Filter> {
    let mut v = Vec::new();
    if f.number.is_some() {
        v.push(Filter::Number);
    }
    if f.phone.is_some() {
        v.push(Filter::Phone);
    }
    if !f.states.is_empty() {
        v.push(Filter::State);
    }
    if !f.categories.is_empty() {
        v.push(Filter::Category);
    }
    if f.channel.is_some() {
        v.push(Filter::Channel);
    }
    if f.place_path.is_some() {
        v.push(Filter::Place);
    }
    if f.overdue_at.is_some() {
        v.push(Filter::Overdue);
    }
    v
}

/// One filter's condition on `cases c`.
/// Category and channel are also on `case_readers r` (fixed at intake): `on_readers` tests them
/// there, so a list driven by its readers reads no case row for them.
fn filter_cond(
    f: &CaseFilter,
    which: Filter,
    backend: Backend,
    on_readers: bool,
    q: &mut Sql,
) -> String {
    let fixed = if on_readers { "r" } else { "c" };
    match which {
        Filter::Number => {
            let a = q.arg(Bind::Text(f.number.clone().unwrap_or_default()));
            format!("c.number = {a}")
        }
        Filter::Phone => {
            let a = q.arg(Bind::Text(f.phone.clone().unwrap_or_default()));
            format!("c.reporter_phone = {a}")
        }
        Filter::State => format!("c.state IN ({})", q.args(&f.states)),
        Filter::Category => format!("{fixed}.category_id IN ({})", q.args(&f.categories)),
        Filter::Channel => {
            let a = q.arg(Bind::Text(f.channel.clone().unwrap_or_default()));
            format!("{fixed}.channel = {a}")
        }
        Filter::Place => {
            let p = f.place_path.clone().unwrap_or_default();
            match backend {
                // SQLite's LIKE is case-insensitive, so it never narrows an index: a range does.
                Backend::Sqlite => {
                    let (lo, hi) = prefix_range(&p);
                    let a = q.arg(Bind::Text(lo));
                    let b = q.arg(Bind::Text(hi));
                    format!("c.place_path >= {a} AND c.place_path < {b}")
                }
                // PostgreSQL's text_pattern_ops index serves a prefix LIKE.
                Backend::Postgres => {
                    let a = q.arg(Bind::Text(like_prefix(&p)));
                    format!("c.place_path LIKE {a}")
                }
            }
        }
        Filter::Overdue => {
            let states = q.args(&overdue_states());
            let a = q.arg(Bind::Int(f.overdue_at.unwrap_or_default()));
            format!("c.state IN ({states}) AND c.resolve_due < {a}")
        }
    }
}

/// Every condition of the filter on `cases c`, the period and cursor on `at`/`id` columns.
fn conditions(
    f: &CaseFilter,
    backend: Backend,
    on_readers: bool,
    at: &str,
    id: &str,
    q: &mut Sql,
) -> Vec<String> {
    let mut conds: Vec<String> = filters_of(f)
        .into_iter()
        .map(|w| filter_cond(f, w, backend, on_readers, q))
        .collect();
    if let Some((_, path)) = &f.unit {
        let a = q.arg(Bind::Text(like_prefix(path)));
        conds.push(format!("c.scope_path LIKE {a} ESCAPE '\\'"));
    }
    conds.extend(period(f, at, q));
    if let Some((t, last)) = &f.cursor {
        let a = q.arg(Bind::Int(*t));
        let b = q.arg(Bind::Int(*t));
        let c = q.arg(Bind::Text(last.clone()));
        conds.push(format!("({at} < {a} OR ({at} = {b} AND {id} < {c}))"));
    }
    conds
}

/// The cheaper way into a list, by the work each costs to fill a page and count to the cap.
/// `sizes`: each filter's matches and `in_scope` the scope's readers (each counted up to
/// [`PROBE_CAP`]), `total` the cases stored. Reading by a filter's index costs an index entry and
/// a reader lookup per case until the scope's share of them has given [`COUNT_CAP`]; reading by
/// the scope costs a reader entry (or a case row, ten times that, for a filter only the row
/// holds) per case until the filters' share has. A place filter pages by sorting its range.
fn choose_driver(sizes: &[(Filter, i64)], in_scope: i64, total: i64, rows: bool) -> Driver {
    let (cap, p, n) = (COUNT_CAP as f64, PROBE_CAP as f64, total as f64);
    // A count that reached the probe's cap is at least that and at most everything: each way in
    // is priced at its worst.
    let big = |x: i64| x >= PROBE_CAP;
    let (scope_most, scope_least) = if big(in_scope) {
        (n, p)
    } else {
        (in_scope as f64, in_scope as f64)
    };
    let narrowest = sizes.iter().map(|s| s.1).min().unwrap_or(0);
    let by_scope = if narrowest == 0 || in_scope == 0 {
        0.0
    } else {
        let per = if rows { 10.0 } else { 1.0 };
        per * scope_most.min(cap * n / (narrowest as f64).min(p))
    };
    let mut best = (Driver::Scope, by_scope);
    for &(w, m) in sizes {
        let most = if big(m) { n } else { m as f64 };
        let entries = if w == Filter::Place {
            most
        } else {
            most.min(cap * n / scope_least.max(1.0))
        };
        if 2.0 * entries < best.1 {
            best = (Driver::Index(w), 2.0 * entries);
        }
    }
    best.0
}

/// True when a list by the scope's readers must read case rows to test the filter.
fn needs_rows(f: &CaseFilter) -> bool {
    f.unit.is_some() || filters_of(f).iter().any(|w| !w.on_readers())
}

fn period(f: &CaseFilter, at: &str, q: &mut Sql) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(t) = f.from_ms {
        v.push(format!("{at} >= {}", q.arg(Bind::Int(t))));
    }
    if let Some(t) = f.until_ms {
        v.push(format!("{at} < {}", q.arg(Bind::Int(t))));
    }
    v
}

/// `[lo, hi)` holding every string that starts with `prefix`: paths end in '/', and '0' follows
/// '/' in byte order.
fn prefix_range(prefix: &str) -> (String, String) {
    let mut hi = prefix.to_string();
    match hi.pop() {
        Some(last) => hi.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX)),
        None => hi.push(char::MAX),
    }
    (prefix.to_string(), hi)
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

fn parse_count(n: String) -> Result<i64, StoreError> {
    n.parse()
        .map_err(|_| StoreError::Corrupt(format!("count {n:?}")))
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
        Ok(self.list_page(f, false).await?.0)
    }

    /// A page of the list and, with `count`, its total: one plan for both.
    pub async fn list_page(
        &self,
        f: &CaseFilter,
        count: bool,
    ) -> Result<(Vec<Case>, Option<(i64, bool)>), StoreError> {
        let Some((scope, driver)) = self.plan(f).await? else {
            return Ok((vec![], count.then_some((0, false))));
        };
        let limit = f.limit.clamp(1, 500);
        let offset = if f.cursor.is_none() { f.offset } else { 0 };
        let mut q = Sql::default();
        let arms: Vec<CaseFilter> = match driver {
            // Several states or categories, or the open states of overdue cases: each value's
            // index range is already in time order,
            // so each gives its first rows and the page is merged from those, not sorted from all.
            Driver::Index(Filter::State) if f.states.len() > 1 => f
                .states
                .iter()
                .map(|v| CaseFilter {
                    states: vec![v.clone()],
                    ..f.clone()
                })
                .collect(),
            Driver::Index(Filter::Overdue) => overdue_states()
                .into_iter()
                .filter(|st| f.states.is_empty() || f.states.contains(st))
                .map(|st| CaseFilter {
                    states: vec![st],
                    ..f.clone()
                })
                .collect(),
            Driver::Index(Filter::Category) if f.categories.len() > 1 => f
                .categories
                .iter()
                .map(|v| CaseFilter {
                    categories: vec![v.clone()],
                    ..f.clone()
                })
                .collect(),
            _ => vec![],
        };
        let keys = if arms.is_empty() {
            self.keys_select(f, &scope, driver, &mut q)
        } else {
            let parts: Vec<String> = arms
                .iter()
                .enumerate()
                .map(|(i, arm)| {
                    let k = self.keys_select(arm, &scope, driver, &mut q);
                    format!(
                        "SELECT * FROM ({k} ORDER BY k_at DESC, k_id DESC LIMIT {}) a{i}",
                        u64::from(limit) + u64::from(offset)
                    )
                })
                .collect();
            format!("SELECT k_at, k_id FROM ({}) u", parts.join(" UNION ALL "))
        };
        let mut page = format!("{keys} ORDER BY k_at DESC, k_id DESC LIMIT {limit}");
        if offset > 0 {
            page.push_str(&format!(" OFFSET {offset}"));
        }
        // The page's keys first, from indexes alone; then the documents.
        q.text = format!(
            "SELECT c.doc FROM ({page}) k JOIN cases c ON c.id = k.k_id ORDER BY k.k_at DESC, k.k_id DESC"
        );
        let docs = q.scalar().fetch_all(&self.read).await?;
        let cases = docs
            .iter()
            .map(|d| parse_doc(d))
            .collect::<Result<_, _>>()?;
        let total = if count {
            Some(self.count_planned(f, &scope, driver).await?)
        } else {
            None
        };
        Ok((cases, total))
    }

    async fn count_planned(
        &self,
        f: &CaseFilter,
        scope: &Scope,
        driver: Driver,
    ) -> Result<(i64, bool), StoreError> {
        let mut q = Sql::default();
        let keys = self.keys_select(f, scope, driver, &mut q);
        q.text = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM ({keys} LIMIT {}) t",
            COUNT_CAP + 1
        );
        let n = parse_count(q.scalar().fetch_one(&self.read).await?)?;
        Ok((n.min(COUNT_CAP), n > COUNT_CAP))
    }

    /// Which way a list reads, for tests and diagnostics: `scope` (the readers' order) or the
    /// filter whose index it starts from; `None` when the caller reads nothing.
    pub async fn list_plan(&self, f: &CaseFilter) -> Result<Option<String>, StoreError> {
        Ok(self.plan(f).await?.map(|(_, d)| match d {
            Driver::Scope => "scope".to_string(),
            Driver::Index(w) => format!("{w:?}").to_lowercase(),
        }))
    }

    /// Whose cases the list reads and where it starts: the scope's readers, or the filter index
    /// with the fewest entries when that is fewer (counted up to the smaller so far, so choosing
    /// costs at most a few thousand index entries per filter). `None`: the caller reads nothing.
    async fn plan(&self, f: &CaseFilter) -> Result<Option<(Scope, Driver)>, StoreError> {
        let scope = if f.reported_only {
            match &f.reporter {
                Some(user) => Scope(vec![crate::writer::reporter_key(user)]),
                None => return Ok(None),
            }
        } else if let Some((unit, _)) = &f.unit {
            // Held within a unit implies read by it: its key is the narrowest scope.
            Scope(vec![unit.clone()])
        } else {
            let mut keys = f.reader_units.clone();
            if let Some(user) = &f.reporter {
                // Only an account that reported something has a key; most staff never do, and
                // a second key would cost every list of theirs a sort.
                let key = crate::writer::reporter_key(user);
                let mut q = Sql::default();
                q.text = format!(
                    "SELECT reader FROM case_readers WHERE reader = {} LIMIT 1",
                    q.arg(Bind::Text(key.clone()))
                );
                if q.scalar().fetch_optional(&self.read).await?.is_some() {
                    keys.push(key);
                }
            }
            if keys.is_empty() {
                return Ok(None);
            }
            Scope(keys)
        };
        let filters = filters_of(f);
        // A case number or a phone number selects a handful of cases: start there.
        if let Some(point) = filters
            .iter()
            .find(|w| matches!(w, Filter::Number | Filter::Phone))
        {
            return Ok(Some((scope, Driver::Index(*point))));
        }
        if filters.is_empty() {
            return Ok(Some((scope, Driver::Scope)));
        }
        // Each set counted up to PROBE_CAP (an index-only count, a few milliseconds at most),
        // then the cheaper way in by the densities those counts imply.
        let mut sizes = Vec::with_capacity(filters.len());
        for w in filters {
            let mut q = Sql::default();
            let mut conds = vec![filter_cond(f, w, self.backend, false, &mut q)];
            conds.extend(period(f, "c.created_at", &mut q));
            q.text = format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM (SELECT 1 FROM cases c{} WHERE {} LIMIT {PROBE_CAP}) t",
                self.indexed_by(w),
                conds.join(" AND "),
            );
            sizes.push((w, parse_count(q.scalar().fetch_one(&self.read).await?)?));
        }
        let mut q = Sql::default();
        let mut conds = vec![format!("r.reader IN ({})", q.args(&scope.0))];
        conds.extend(period(f, "r.created_at", &mut q));
        q.text = format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM (SELECT 1 FROM case_readers r WHERE {} LIMIT {PROBE_CAP}) t",
            conds.join(" AND ")
        );
        let in_scope = parse_count(q.scalar().fetch_one(&self.read).await?)?;
        let total = self.cases_estimate().await?.max(in_scope).max(1);
        Ok(Some((
            scope,
            choose_driver(&sizes, in_scope, total, needs_rows(f)),
        )))
    }

    /// About how many cases are stored: cheap, for the planner's densities.
    async fn cases_estimate(&self) -> Result<i64, StoreError> {
        let sql = match self.backend {
            // Rows are only ever added: the largest rowid is the count, read from the b-tree's edge.
            Backend::Sqlite => "SELECT CAST(COALESCE(MAX(rowid), 0) AS TEXT) FROM cases",
            Backend::Postgres => {
                "SELECT CAST(GREATEST(reltuples, 0)::bigint AS TEXT) FROM pg_class WHERE relname = 'cases'"
            }
        };
        let n = sqlx::query_scalar::<_, String>(sql)
            .fetch_optional(&self.read)
            .await?
            .map(parse_count)
            .transpose()?
            .unwrap_or(0);
        Ok(n)
    }

    /// `INDEXED BY` for SQLite, whose planner has no statistics to pick the index we counted.
    fn indexed_by(&self, w: Filter) -> String {
        match (self.backend, w.sqlite_index()) {
            (Backend::Sqlite, Some(ix)) => format!(" INDEXED BY {ix}"),
            _ => String::new(),
        }
    }

    /// The list's `(k_at, k_id)` keys, unordered and unlimited: the caller pages or counts them.
    fn keys_select(&self, f: &CaseFilter, scope: &Scope, driver: Driver, q: &mut Sql) -> String {
        let keys = &scope.0;
        match driver {
            Driver::Scope => {
                let readers = q.args(keys);
                let conds = conditions(f, self.backend, true, "r.created_at", "r.case_id", q);
                // The readers' own order serves; a case row is read only for a filter not on them.
                let mut wh = vec![format!("r.reader IN ({readers})")];
                let join = if needs_rows(f) {
                    wh.push("c.id = r.case_id".into());
                    " CROSS JOIN cases c"
                } else {
                    ""
                };
                wh.extend(conds);
                let distinct = if keys.len() > 1 { "DISTINCT " } else { "" };
                format!(
                    "SELECT {distinct}r.created_at AS k_at, r.case_id AS k_id FROM case_readers r{join} WHERE {}",
                    wh.join(" AND ")
                )
            }
            Driver::Index(w) => {
                let mut conds = conditions(f, self.backend, false, "c.created_at", "c.id", q);
                conds.push(format!(
                    "EXISTS (SELECT 1 FROM case_readers r WHERE r.reader IN ({}) \
                     AND r.created_at = c.created_at AND r.case_id = c.id)",
                    q.args(keys)
                ));
                format!(
                    "SELECT c.created_at AS k_at, c.id AS k_id FROM cases c{} WHERE {}",
                    self.indexed_by(w),
                    conds.join(" AND ")
                )
            }
        }
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
    /// The event's place in the chain of the whole log (see `jiesu verify`).
    pub global_hash: String,
    /// The case as it stands, for the stream to apply `Case::visible_to` (shared by the events
    /// of one case in a batch). `None` if its document does not parse: nobody is shown the
    /// event, and the stream still moves past it.
    pub case: Option<std::sync::Arc<Case>>,
}

impl Store {
    /// Events committed after `after` (global order), at most `limit`, with their case's current
    /// state and scope. Every node reads the same log, so every node's stream sees every write.
    pub async fn events_after(&self, after: i64, limit: i64) -> Result<Vec<LiveEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.global_seq, e.case_id, e.type, e.at, c.number, c.state, c.assigned_unit, c.doc, e.global_hash \
             FROM case_events e JOIN cases c ON c.id = e.case_id \
             WHERE e.global_seq > $1 ORDER BY e.global_seq LIMIT $2",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        let mut parsed: std::collections::HashMap<String, Option<std::sync::Arc<Case>>> =
            std::collections::HashMap::new();
        rows.into_iter()
            .map(|r| {
                let case_id: String = r.try_get(1)?;
                let case = match parsed.get(&case_id) {
                    Some(c) => c.clone(),
                    None => {
                        let doc: String = r.try_get(7)?;
                        let c = match parse_doc(&doc) {
                            Ok(c) => Some(std::sync::Arc::new(c)),
                            Err(e) => {
                                tracing::error!(case = %case_id, error = %e, "live events: unreadable case document");
                                None
                            }
                        };
                        parsed.insert(case_id.clone(), c.clone());
                        c
                    }
                };
                Ok(LiveEvent {
                    global_seq: r.try_get(0)?,
                    case_id,
                    kind: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                    number: r.try_get(4)?,
                    state: r.try_get(5)?,
                    assigned_unit: r.try_get(6)?,
                    global_hash: r.try_get(8)?,
                    case,
                })
            })
            .collect()
    }

    /// The chain hash of the event at this global position, if the log holds it.
    pub async fn event_hash(&self, global_seq: i64) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT global_hash FROM case_events WHERE global_seq = $1")
                .bind(global_seq)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// The newest event's position and chain hash (`None` for an empty log).
    pub async fn log_tip(&self) -> Result<Option<(i64, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT global_seq, global_hash FROM case_events ORDER BY global_seq DESC LIMIT 1",
        )
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
    }

    /// Cases in id order after `after_id`, at most `limit`: a scan of the whole store in pages
    /// (a search rebuild), with the last id read (the next page's `after_id`; `None` at the end).
    /// A document that does not parse is skipped with an error logged.
    pub async fn cases_after(
        &self,
        after_id: &str,
        limit: i64,
    ) -> Result<(Vec<Case>, Option<String>), StoreError> {
        let rows = sqlx::query("SELECT id, doc FROM cases WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        let mut last = None;
        for r in rows {
            let id: String = r.try_get(0)?;
            let doc: String = r.try_get(1)?;
            match parse_doc(&doc) {
                Ok(c) => out.push(c),
                Err(e) => tracing::error!(case = %id, error = %e, "unreadable case document"),
            }
            last = Some(id);
        }
        Ok((out, last))
    }

    /// The newest event's global position (0 for an empty log).
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT MAX(global_seq) FROM case_events")
            .fetch_one(&self.read)
            .await?;
        Ok(seq.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MILLION: i64 = 1_000_000;

    #[test]
    fn a_county_wide_list_of_open_states_starts_from_the_state_index() {
        let d = choose_driver(&[(Filter::State, 34_000)], PROBE_CAP, MILLION, true);
        assert_eq!(d, Driver::Index(Filter::State));
    }

    #[test]
    fn a_street_list_of_closed_cases_reads_the_street_not_the_closed_million() {
        let d = choose_driver(&[(Filter::State, PROBE_CAP)], 24_000, MILLION, true);
        assert_eq!(d, Driver::Scope);
    }

    #[test]
    fn a_filter_on_the_readers_is_cheaper_through_the_scope_when_both_are_big() {
        let d = choose_driver(&[(Filter::Channel, PROBE_CAP)], PROBE_CAP, MILLION, false);
        assert_eq!(d, Driver::Scope);
        // The same share on the rows is ten times dearer: the index wins.
        let d = choose_driver(&[(Filter::State, PROBE_CAP)], PROBE_CAP, MILLION, true);
        assert_eq!(d, Driver::Index(Filter::State));
    }

    #[test]
    fn a_rare_value_starts_from_its_index_and_a_small_scope_from_itself() {
        let d = choose_driver(&[(Filter::Place, 9_000)], PROBE_CAP, MILLION, true);
        assert_eq!(d, Driver::Index(Filter::Place));
        let d = choose_driver(&[(Filter::Place, 9_000)], 300, MILLION, true);
        assert_eq!(d, Driver::Scope);
        // Nothing matches: either way is free, and the scope is the one asked first.
        let d = choose_driver(&[(Filter::Overdue, 0)], 300, MILLION, true);
        assert_eq!(d, Driver::Scope);
    }
}
