//! jiesu's HTTP API (`/api/v1`). The only crate that knows HTTP status codes and JSON shapes.
//! Handlers authenticate, then hand the command to the store, which checks it with the domain.

pub mod admin;
mod assessment;
mod attachments;
pub mod auth;
mod cases;
pub mod dto;
pub mod extract;
mod live;
mod meta;
pub mod monitoring;
pub mod open311;
pub mod openapi;
pub mod password;
pub mod problem;
pub mod reports;
mod routing;
mod search;
mod supervision;
pub mod throttle;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use jiesu_domain::{Jurisdiction, Time};
use jiesu_store::Store;

use crate::problem::ApiError;

/// The largest request body accepted (a case description is at most 5,000 characters).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ApiConfig {
    pub session_ttl_ms: i64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            session_ttl_ms: 8 * 3600 * 1000,
        }
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub requests: AtomicU64,
    pub errors: AtomicU64,
    pub cases_created: AtomicU64,
    pub commands: AtomicU64,
}

impl Metrics {
    pub fn case_created(&self) {
        self.cases_created.fetch_add(1, Ordering::Relaxed);
    }
}

type Clock = Arc<dyn Fn() -> Time + Send + Sync>;

/// What every handler shares. Cloned for each request (axum's `State`, the middleware), so it is
/// one `Arc`: a clone is one atomic increment, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

#[derive(Clone)]
pub struct Shared {
    pub store: Store,
    juris: Arc<RwLock<Arc<Jurisdiction>>>,
    pub config: Arc<ApiConfig>,
    pub metrics: Arc<Metrics>,
    pub(crate) sessions: Arc<auth::SessionCache>,
    pub(crate) sign_ins: Arc<throttle::SignInThrottle>,
    pub(crate) hashing: Arc<password::HashGate>,
    pub(crate) live: Arc<live::Hub>,
    /// The node's search index, once opened (`None` until then: search answers 503).
    search: Arc<std::sync::OnceLock<Arc<jiesu_search::CaseIndex>>>,
    /// The node's routing suggestions, retrained now and then (`None` until first trained).
    router: Arc<RwLock<Option<Arc<jiesu_routing::Router>>>>,
    clock: Clock,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, juris: Jurisdiction, config: ApiConfig) -> Self {
        AppState(Arc::new(Shared {
            store,
            juris: Arc::new(RwLock::new(Arc::new(juris))),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            sessions: Arc::new(auth::SessionCache::default()),
            sign_ins: throttle::SignInThrottle::new(),
            hashing: password::HashGate::new(
                password::default_hash_permits(),
                password::MAX_WAITING_HASHES,
            ),
            live: Arc::new(live::Hub::default()),
            search: Arc::new(std::sync::OnceLock::new()),
            router: Arc::new(RwLock::new(None)),
            clock: Arc::new(|| jiesu_domain::calendar::to_beijing(chrono::Utc::now())),
        }))
    }

    /// Replaces the clock (tests pin time to exercise deadlines).
    pub fn with_clock(mut self, clock: impl Fn() -> Time + Send + Sync + 'static) -> Self {
        Arc::make_mut(&mut self.0).clock = Arc::new(clock);
        self
    }

    pub fn now(&self) -> Time {
        (self.clock)()
    }

    /// The jurisdiction in force (org tree, calendar, policy, categories).
    pub fn juris(&self) -> Arc<Jurisdiction> {
        match self.juris.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Swaps in a new jurisdiction after an admin change.
    /// Gives the node its search index (once; a second index is ignored).
    pub fn attach_search(&self, index: Arc<jiesu_search::CaseIndex>) {
        let _ = self.search.set(index);
    }

    pub fn search_index(&self) -> Option<&Arc<jiesu_search::CaseIndex>> {
        self.search.get()
    }

    /// Replaces the node's routing suggestions (a retrained router).
    pub fn set_router(&self, r: Arc<jiesu_routing::Router>) {
        match self.router.write() {
            Ok(mut g) => *g = Some(r),
            Err(p) => *p.into_inner() = Some(r),
        }
    }

    pub fn router(&self) -> Option<Arc<jiesu_routing::Router>> {
        match self.router.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub fn set_juris(&self, j: Jurisdiction) {
        match self.juris.write() {
            Ok(mut g) => *g = Arc::new(j),
            Err(p) => *p.into_inner() = Arc::new(j),
        }
    }
}

/// What a parameter accepts, as the OpenAPI document states it. `Component` names a schema the
/// document builds from the jurisdiction in force (units, categories, states…).
#[derive(Debug, Clone, Copy)]
pub enum Schema {
    Text,
    /// An integer in `min..=max`.
    Int(i64, i64),
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// RFC 3339.
    DateTime,
    Enum(&'static [&'static str]),
    Pattern(&'static str),
    Component(&'static str),
}

/// A query parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub desc: &'static str,
    pub schema: Schema,
    pub required: bool,
}

const fn q(name: &'static str, desc: &'static str, schema: Schema) -> Param {
    Param {
        name,
        desc,
        schema,
        required: false,
    }
}

const fn q_required(name: &'static str, desc: &'static str, schema: Schema) -> Param {
    Param {
        name,
        desc,
        schema,
        required: true,
    }
}

/// A list cursor: the `next_cursor` of the page before (received time in ms, '.', case id).
pub const CURSOR: &str = r"^[+-]?[0-9]{1,18}\.[\s\S]*$";
/// A case number (14 digits) or a phone number; blank is no filter.
pub const CASE_OR_PHONE: &str = r"^\s*([0-9-]{7,20})?\s*$";
/// A period: a year, an ISO week, a quarter, a month or a day (weeks 53 and days 29-31 exist only
/// in some years and months: the document leaves them out, the handler takes them where they exist).
pub const PERIOD: &str =
    r"^[0-9]{4}(-W(0[1-9]|[1-4][0-9]|5[0-2])|-Q[1-4]|-(0[1-9]|1[0-2])(-(0[1-9]|1[0-9]|2[0-8]))?)?$";

/// `u32` query values: any of them is accepted (limits are clamped, not refused).
const U32: Schema = Schema::Int(0, u32::MAX as i64);

/// The filters the case list and search share.
const STATE_PARAM: Param = q(
    "state",
    "case state; several comma-separated",
    Schema::Component("CaseStateList"),
);
const UNIT_PARAM: Param = q(
    "unit",
    "only cases held within this unit's subtree",
    Schema::Component("UnitId"),
);
const CATEGORY_PARAM: Param = q(
    "category",
    "a category and those below it",
    Schema::Component("CategoryId"),
);

/// One row per route: the router and the OpenAPI document are both built from this table.
pub struct RouteDoc {
    pub method: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    pub summary_zh: &'static str,
    pub tag: &'static str,
    pub auth: bool,
    /// Name of the request body schema in `openapi::schemas()`.
    pub body: Option<&'static str>,
    /// Query parameters.
    pub query: &'static [Param],
    pub ok: u16,
}

pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "post",
        path: "/api/v1/auth/login",
        summary: "Sign in; returns a bearer token",
        summary_zh: "登录",
        tag: "auth",
        auth: false,
        body: Some("LoginRequest"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/auth/password",
        summary: "Change one's own password (the current one required; every other session ends)",
        summary_zh: "修改密码",
        tag: "auth",
        auth: true,
        body: Some("PasswordChange"),
        query: &[],
        ok: 204,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/auth/logout",
        summary: "End the session",
        summary_zh: "退出登录",
        tag: "auth",
        auth: true,
        body: None,
        query: &[],
        ok: 204,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/auth/me",
        summary: "The signed-in user and grants",
        summary_zh: "当前用户",
        tag: "auth",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/cases",
        summary: "Record a case (send Idempotency-Key to make retries safe)",
        summary_zh: "受理工单",
        tag: "cases",
        auth: true,
        body: Some("IntakeRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases",
        summary: "Cases in your scope, newest first",
        summary_zh: "工单列表",
        tag: "cases",
        auth: true,
        body: None,
        query: &[
            q(
                "cursor",
                "next_cursor of the previous page",
                Schema::Pattern(CURSOR),
            ),
            q(
                "limit",
                "default 50; more than 200 counts as 200, 0 as 1 (without page)",
                U32,
            ),
            q(
                "page",
                "page number from 1: the answer adds total (counted up to 10,000); a page past the first 10,000 cases is empty",
                Schema::Int(1, u32::MAX as i64),
            ),
            q(
                "page_size",
                "default 20; more than 100 counts as 100, 0 as 1 (with page)",
                U32,
            ),
            STATE_PARAM,
            UNIT_PARAM,
            CATEGORY_PARAM,
            q("channel", "intake channel", Schema::Component("Channel")),
            q(
                "grid",
                "a unit with an area (street, community, grid): cases located in it",
                Schema::Component("UnitId"),
            ),
            q(
                "overdue",
                "true: open cases past their resolve deadline",
                Schema::Bool,
            ),
            q(
                "mine",
                "true: only the cases the caller reported",
                Schema::Bool,
            ),
            q(
                "from",
                "received on or after this Beijing day",
                Schema::Date,
            ),
            q("to", "received on or before this Beijing day", Schema::Date),
            q(
                "q",
                "a case number, or a reporter's phone (roles that call reporters); blank is no filter",
                Schema::Pattern(CASE_OR_PHONE),
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases/export",
        summary: "The filtered case list (same filters as GET /cases) as an .xlsx workbook, at most 10,000 rows",
        summary_zh: "导出工单列表",
        tag: "cases",
        auth: true,
        body: None,
        query: &[
            STATE_PARAM,
            UNIT_PARAM,
            CATEGORY_PARAM,
            q("channel", "intake channel", Schema::Component("Channel")),
            q(
                "grid",
                "a unit with an area: cases located in it",
                Schema::Component("UnitId"),
            ),
            q(
                "overdue",
                "true: open cases past their resolve deadline",
                Schema::Bool,
            ),
            q(
                "mine",
                "true: only the cases the caller reported",
                Schema::Bool,
            ),
            q(
                "from",
                "received on or after this Beijing day",
                Schema::Date,
            ),
            q("to", "received on or before this Beijing day", Schema::Date),
            q(
                "q",
                "a case number, or a reporter's phone; blank is no filter",
                Schema::Pattern(CASE_OR_PHONE),
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases/{id}",
        summary: "One case by id or number",
        summary_zh: "工单详情",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases/{id}/timeline",
        summary: "The case's hash-chained trail",
        summary_zh: "办理留痕",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/cases/{id}/reveal",
        summary: "The reporter's name and number in full (roles entitled to them; every reveal is audited)",
        summary_zh: "查看完整联系方式（留审计记录）",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/public/track",
        summary: "Follow a case by its number and the reporter's phone (no login; failures throttled)",
        summary_zh: "进度查询",
        tag: "public",
        auth: false,
        body: Some("TrackRequest"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/audit",
        summary: "The hash-chained audit log (inspectors, admins): sign-ins and reveals of reporters' data; about one target oldest first, else the newest",
        summary_zh: "审计日志",
        tag: "admin",
        auth: true,
        body: None,
        query: &[
            q(
                "target",
                "what the entries are about: a case id, user:NAME, unit:ID, category:ID",
                Schema::Text,
            ),
            q(
                "action",
                "one action: sign_in, sign_in_failed, sign_in_locked, reveal_reporter, password_changed, user_created, grant_removed, unit_moved, …",
                Schema::Text,
            ),
            q(
                "limit",
                "at most this many entries (default 100; more than 1000 counts as 1000)",
                U32,
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases/{id}/verify",
        summary: "Recompute the case's hash chain: {ok, events, head, broken_at?, problem?}",
        summary_zh: "校验留痕哈希链",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/cases/{id}/attachments",
        summary: "Add a photo or document (multipart field `file`: JPEG, PNG or PDF, at most 10 MiB)",
        summary_zh: "上传附件",
        tag: "cases",
        auth: true,
        body: Some("AttachmentUpload"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/cases/{id}/attachments",
        summary: "The case's photos and documents",
        summary_zh: "附件列表",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/attachments/{id}",
        summary: "Download an attachment (for readers of its case)",
        summary_zh: "下载附件",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/attachments/{id}/thumbnail",
        summary: "An image attachment's JPEG thumbnail (320 px)",
        summary_zh: "附件缩略图",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/cases/{id}/commands",
        summary: "Give a lifecycle command",
        summary_zh: "工单操作",
        tag: "cases",
        auth: true,
        body: Some("Command"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/worklist",
        summary: "Open cases waiting on your units, soonest deadline first",
        summary_zh: "待办工作台",
        tag: "cases",
        auth: true,
        body: None,
        query: &[q("limit", "default 50; more than 200 counts as 200", U32)],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/events/stream",
        summary: "Committed case events as server-sent events (event `case`, id = log position), scoped like lists; resume with Last-Event-ID",
        summary_zh: "实时事件流",
        tag: "cases",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/callbacks",
        summary: "Cases waiting for their callback in your scope, oldest approval first",
        summary_zh: "回访队列",
        tag: "supervision",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/supervision/board",
        summary: "Per unit: open, near-due and overdue cases, cards, appeals and supervisions",
        summary_zh: "督办看板",
        tag: "supervision",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/units",
        summary: "The org tree",
        summary_zh: "组织机构",
        tag: "reference",
        auth: true,
        body: None,
        query: &[q(
            "geometry",
            "include grid polygons (GeoJSON)",
            Schema::Bool,
        )],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/categories",
        summary: "The category tree",
        summary_zh: "诉求分类",
        tag: "reference",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/calendar/days",
        summary: "Working days and holidays",
        summary_zh: "工作日历",
        tag: "reference",
        auth: true,
        body: None,
        query: &[
            q_required("from", "first day", Schema::Date),
            q_required(
                "to",
                "last day (at most 400 days after from are listed; before from, none)",
                Schema::Date,
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/deadline-policy",
        summary: "Deadline policy in force",
        summary_zh: "办理时限规则",
        tag: "reference",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/stations",
        summary: "Monitoring stations with latest class, status and open alarms",
        summary_zh: "监测站点",
        tag: "monitoring",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/stations",
        summary: "Register or update a station (admin)",
        summary_zh: "登记监测站点",
        tag: "monitoring",
        auth: true,
        body: Some("StationRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/stations/{mn}/readings",
        summary: "A station's readings",
        summary_zh: "监测数据",
        tag: "monitoring",
        auth: true,
        body: None,
        query: &[
            q("factor", "HJ 212 factor code, e.g. w21003", Schema::Text),
            q("from", "default 24 h before to", Schema::DateTime),
            q("to", "default now", Schema::DateTime),
            q(
                "kind",
                "rtd (default), min, hour, day",
                Schema::Enum(&["rtd", "min", "hour", "day"]),
            ),
            q(
                "limit",
                "default 5000; more than 100,000 counts as 100,000",
                U32,
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/alarms",
        summary: "Monitoring alarms and their cases",
        summary_zh: "监测告警",
        tag: "monitoring",
        auth: true,
        body: None,
        query: &[
            q("open", "true: only open alarms", Schema::Bool),
            q("limit", "default 200; more than 1000 counts as 1000", U32),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/stations/{mn}/classes",
        summary: "GB 3838 class per hour or day, from period means",
        summary_zh: "水质类别",
        tag: "monitoring",
        auth: true,
        body: None,
        query: &[
            q(
                "period",
                "hour (default) or day",
                Schema::Enum(&["hour", "day"]),
            ),
            q(
                "from",
                "default 48 hours (or 31 days) before to",
                Schema::DateTime,
            ),
            q("to", "default now", Schema::DateTime),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/reports/{kind}",
        summary: "Weekly dispatch, monthly analysis or quarterly assessment, as JSON or .xlsx",
        summary_zh: "周调度、月分析、季考核报表",
        tag: "reports",
        auth: true,
        body: None,
        query: &[
            q_required(
                "period",
                "weekly: ISO week 2026-W45; monthly: 2026-10; quarterly: 2026-Q3",
                Schema::Text,
            ),
            q(
                "format",
                "json (default) or xlsx",
                Schema::Enum(&["json", "xlsx"]),
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/assessment",
        summary: "Assessment figures per unit over a period, ranked within a peer group (leaders, inspectors, dispatchers, admins)",
        summary_zh: "考核排名",
        tag: "assessment",
        auth: true,
        body: None,
        query: &[
            q_required(
                "group",
                "the peer group ranked",
                Schema::Enum(&["street", "department", "community"]),
            ),
            q_required(
                "period",
                "2026-10-15, 2026-W45, 2026-10, 2026-Q3 or 2026. Instead of period, from and to (YYYY-MM-DD, inclusive, at most 366 days) may be given together",
                Schema::Pattern(PERIOD),
            ),
            q(
                "within",
                "only units within this unit, e.g. one street's communities",
                Schema::Component("UnitId"),
            ),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/public/board",
        summary: "Public board: streets' and departments' rankings and counts, no login, nothing personal",
        summary_zh: "晾晒榜",
        tag: "assessment",
        // Deliberately public: figures per unit only, no case, no person.
        auth: false,
        body: None,
        query: &[q_required(
            "period",
            "2026-10 (also 2026-W45, 2026-Q3, 2026, 2026-10-15)",
            Schema::Pattern(PERIOD),
        )],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/admin/users",
        summary: "Users you administer, with their grants",
        summary_zh: "用户列表",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/users",
        summary: "Create a user with grants (the password must be changed at first sign-in)",
        summary_zh: "新建用户",
        tag: "admin",
        auth: true,
        body: Some("NewUserRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/users/{id}/disable",
        summary: "Disable a user: no sign-in, every session ends on every node",
        summary_zh: "停用用户",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/users/{id}/enable",
        summary: "Enable a disabled user",
        summary_zh: "启用用户",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/users/{id}/password",
        summary: "Reset a user's password (every session ends; must be changed at sign-in)",
        summary_zh: "重置密码",
        tag: "admin",
        auth: true,
        body: Some("PasswordReset"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/users/{id}/grants",
        summary: "Grant a role at a unit",
        summary_zh: "授予角色",
        tag: "admin",
        auth: true,
        body: Some("GrantRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "delete",
        path: "/api/v1/admin/users/{id}/grants/{role}/{unit}",
        summary: "Remove a grant (takes effect at once on every node)",
        summary_zh: "撤销角色",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/units",
        summary: "Create a unit under a parent",
        summary_zh: "新建单位",
        tag: "admin",
        auth: true,
        body: Some("NewUnitRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "patch",
        path: "/api/v1/admin/units/{id}",
        summary: "Rename a unit and/or move it under another parent",
        summary_zh: "修改单位",
        tag: "admin",
        auth: true,
        body: Some("UnitChange"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/units/{id}/close",
        summary: "Close a unit (keeps its history, takes no new cases)",
        summary_zh: "撤销单位",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/categories",
        summary: "Add a category",
        summary_zh: "新增分类",
        tag: "admin",
        auth: true,
        body: Some("NewCategoryRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "patch",
        path: "/api/v1/admin/categories/{id}",
        summary: "Rename a category or change its default kind and unit",
        summary_zh: "修改分类",
        tag: "admin",
        auth: true,
        body: Some("CategoryChange"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/categories/{id}/retire",
        summary: "Retire a category (old cases keep it, new ones may not use it)",
        summary_zh: "停用分类",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/admin/deadline-policy",
        summary: "The deadline policy as stored (TOML) and as read",
        summary_zh: "时限规则",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "put",
        path: "/api/v1/admin/deadline-policy",
        summary: "Replace the deadline policy (validated; applies to deadlines set from now on)",
        summary_zh: "修改时限规则",
        tag: "admin",
        auth: true,
        body: Some("TomlBody"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/calendar-years",
        summary: "Import a year's holiday schedule (TOML)",
        summary_zh: "导入节假日",
        tag: "admin",
        auth: true,
        body: Some("TomlBody"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/openapi.json",
        summary: "This document",
        summary_zh: "接口文档",
        tag: "meta",
        auth: false,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/search",
        summary: "Full-text search of the cases in your scope (Chinese words inside longer text too), best first",
        summary_zh: "工单检索",
        tag: "cases",
        auth: true,
        body: None,
        query: &[
            q_required(
                "q",
                "words separated by spaces; a case must contain each (blank: no hits; past 200 characters ignored)",
                Schema::Text,
            ),
            q(
                "limit",
                "default 20; more than 50 counts as 50, 0 as 1",
                U32,
            ),
            q(
                "offset",
                "hits to skip; past 10,000 the page is empty (the total stays)",
                U32,
            ),
            STATE_PARAM,
            UNIT_PARAM,
            CATEGORY_PARAM,
            q(
                "grid",
                "only cases located in this unit's area (street, community or grid)",
                Schema::Component("UnitId"),
            ),
            q(
                "from",
                "received on or after this Beijing day",
                Schema::Date,
            ),
            q("to", "received on or before this Beijing day", Schema::Date),
        ],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/routing/suggest",
        summary: "Where a case is, whose it is and whether it is already open: grid and community, likely categories and lead units with their confidence, and open cases nearby saying the same",
        summary_zh: "智能分拨建议",
        tag: "cases",
        auth: true,
        body: Some("SuggestRequest"),
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/api/v1/admin/open311/clients",
        summary: "Open311 clients (accounts holding API keys for POST /open311/v2/requests), with the endpoint's jurisdiction_id",
        summary_zh: "Open311 接入方",
        tag: "admin",
        auth: true,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "post",
        path: "/api/v1/admin/open311/clients",
        summary: "Issue an Open311 client a new API key (the client is created the first time); the key is in this answer only",
        summary_zh: "发放 Open311 接入密钥",
        tag: "admin",
        auth: true,
        body: Some("Open311ClientRequest"),
        query: &[],
        ok: 201,
    },
    RouteDoc {
        method: "get",
        path: "/healthz",
        summary: "Liveness and database check",
        summary_zh: "健康检查",
        tag: "meta",
        auth: false,
        body: None,
        query: &[],
        ok: 200,
    },
    RouteDoc {
        method: "get",
        path: "/metrics",
        summary: "Prometheus metrics",
        summary_zh: "监控指标",
        tag: "meta",
        auth: false,
        body: None,
        query: &[],
        ok: 200,
    },
];

fn handler_for(method: &str, path: &str) -> Option<MethodRouter<AppState>> {
    Some(match (method, path) {
        ("post", "/api/v1/auth/login") => post(auth::login),
        ("post", "/api/v1/auth/logout") => post(auth::logout),
        ("post", "/api/v1/auth/password") => post(auth::change_password),
        ("get", "/api/v1/auth/me") => get(auth::me),
        ("post", "/api/v1/cases") => post(cases::create_case),
        ("get", "/api/v1/cases") => get(cases::list_cases),
        ("get", "/api/v1/cases/export") => get(cases::export_cases),
        ("get", "/api/v1/cases/{id}") => get(cases::get_case),
        ("get", "/api/v1/cases/{id}/timeline") => get(cases::timeline),
        ("post", "/api/v1/cases/{id}/commands") => post(cases::command),
        ("get", "/api/v1/cases/{id}/verify") => get(cases::verify),
        ("post", "/api/v1/cases/{id}/reveal") => post(cases::reveal),
        ("get", "/api/v1/audit") => get(cases::audit),
        ("post", "/api/v1/public/track") => post(cases::track),
        ("post", "/api/v1/cases/{id}/attachments") => post(attachments::upload).layer(
            DefaultBodyLimit::max(attachments::MAX_FILE_BYTES + 64 * 1024),
        ),
        ("get", "/api/v1/cases/{id}/attachments") => get(attachments::list),
        ("get", "/api/v1/attachments/{id}") => get(attachments::download),
        ("get", "/api/v1/attachments/{id}/thumbnail") => get(attachments::download_thumbnail),
        ("get", "/api/v1/worklist") => get(cases::worklist),
        ("get", "/api/v1/search") => get(search::search),
        ("post", "/api/v1/routing/suggest") => post(routing::suggest),
        ("get", "/api/v1/events/stream") => get(live::stream),
        ("get", "/api/v1/callbacks") => get(supervision::callbacks),
        ("get", "/api/v1/supervision/board") => get(supervision::board),
        ("get", "/api/v1/units") => get(meta::units),
        ("get", "/api/v1/categories") => get(meta::categories),
        ("get", "/api/v1/calendar/days") => get(meta::calendar_days),
        ("get", "/api/v1/deadline-policy") => get(meta::deadline_policy),
        ("get", "/api/v1/stations") => get(monitoring::stations),
        ("post", "/api/v1/stations") => post(monitoring::put_station),
        ("get", "/api/v1/stations/{mn}/readings") => get(monitoring::readings),
        ("get", "/api/v1/stations/{mn}/classes") => get(monitoring::classes),
        ("get", "/api/v1/alarms") => get(monitoring::alarms),
        ("get", "/api/v1/reports/{kind}") => get(reports::report),
        ("get", "/api/v1/assessment") => get(assessment::assessment),
        ("get", "/api/v1/public/board") => get(assessment::public_board),
        ("get", "/api/v1/admin/users") => get(admin::list_users),
        ("post", "/api/v1/admin/users") => post(admin::create_user),
        ("post", "/api/v1/admin/users/{id}/disable") => post(admin::disable_user),
        ("post", "/api/v1/admin/users/{id}/enable") => post(admin::enable_user),
        ("post", "/api/v1/admin/users/{id}/password") => post(admin::reset_password),
        ("post", "/api/v1/admin/users/{id}/grants") => post(admin::add_grant),
        ("delete", "/api/v1/admin/users/{id}/grants/{role}/{unit}") => delete(admin::remove_grant),
        ("post", "/api/v1/admin/units") => post(admin::create_unit),
        ("patch", "/api/v1/admin/units/{id}") => patch(admin::change_unit),
        ("post", "/api/v1/admin/units/{id}/close") => post(admin::close_unit),
        ("post", "/api/v1/admin/categories") => post(admin::create_category),
        ("patch", "/api/v1/admin/categories/{id}") => patch(admin::change_category),
        ("post", "/api/v1/admin/categories/{id}/retire") => post(admin::retire_category),
        ("get", "/api/v1/admin/deadline-policy") => get(admin::get_policy),
        ("put", "/api/v1/admin/deadline-policy") => put(admin::put_policy),
        ("post", "/api/v1/admin/calendar-years") => post(admin::import_calendar_year),
        ("get", "/api/v1/admin/open311/clients") => get(open311::clients::list),
        ("post", "/api/v1/admin/open311/clients") => post(open311::clients::create),
        ("get", "/api/v1/openapi.json") => get(openapi::serve),
        ("get", "/healthz") => get(meta::healthz),
        ("get", "/metrics") => get(meta::metrics),
        _ => return None,
    })
}

async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    state.metrics.requests.fetch_add(1, Ordering::Relaxed);
    if res.status().as_u16() >= 400 {
        state.metrics.errors.fetch_add(1, Ordering::Relaxed);
    }
    res
}

async fn not_found(uri: axum::http::Uri) -> Response {
    if open311::owns(uri.path()) {
        return open311::not_found(uri.path());
    }
    ApiError::not_found("not_found", "no such endpoint").into_response()
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

fn panic_to_problem(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::internal("a handler panicked").into_response()
}

pub fn router(state: AppState) -> Router {
    router_with_console(state, None)
}

/// The API, with `console` (the web console's static files) answering every path outside
/// `/api/`; an unknown `/api/` path stays a problem+json 404.
pub fn router_with_console(state: AppState, console: Option<Router>) -> Router {
    let mut r: Router<AppState> = Router::new();
    for d in ROUTES {
        match handler_for(d.method, d.path) {
            Some(h) => r = r.route(d.path, h),
            None => tracing::error!(path = d.path, "route without handler"),
        }
    }
    let r = r.merge(open311::routes());
    let r = match console {
        None => r.fallback(not_found),
        Some(console) => r.fallback(move |req: axum::extract::Request| async move {
            let path = req.uri().path();
            if path == "/api" || path.starts_with("/api/") || open311::owns(path) {
                return not_found(req.uri().clone()).await;
            }
            match tower::ServiceExt::oneshot(console, req).await {
                Ok(res) => res,
                Err(never) => match never {},
            }
        }),
    };
    r.method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_to_problem,
        ))
        .with_state(state)
}

/// A bare axum JSON echo: the baseline the intake benchmark is measured against.
pub fn echo_router() -> Router {
    async fn echo(axum::Json(v): axum::Json<serde_json::Value>) -> axum::Json<serde_json::Value> {
        axum::Json(v)
    }
    Router::new().route("/echo", post(echo))
}

/// Serves until `shutdown` resolves. Each request carries its peer's address (`ConnectInfo`),
/// which sign-in counts failures by.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_documented_route_has_a_handler() {
        for d in super::ROUTES {
            assert!(
                super::handler_for(d.method, d.path).is_some(),
                "{} {}",
                d.method,
                d.path
            );
        }
    }
}
