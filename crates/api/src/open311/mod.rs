//! Open311 GeoReport v2 at `/open311/v2`: the international protocol for reporting a problem
//! at a place, so that any Open311 client (a city app, FixMyStreet, a partner's platform) can file
//! cases with the county and follow them.
//!
//! Services are the county's leaf categories (grouped by their parent); every service is
//! `realtime`: a POST records the case at once and answers its number, which is the
//! `service_request_id`. Only POST needs an `api_key`: each key belongs to a client account that
//! cannot sign in (`jiesu open311 key`), and the case is recorded through the domain's Open311
//! intake path (channel `open311`), located and filed like a citizen's own report. The GETs are
//! public, so they show only cases that came in through Open311, with the reporter's name and
//! number hidden wherever the text quotes them. Errors are the spec's `errors` list, not
//! problem+json: that is what Open311 clients parse.

pub mod clients;
mod wire;

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use chrono::{DateTime, Duration, NaiveDate, TimeZone};
use jiesu_domain::case::{GeoPoint, IntakePath, Reporter};
use jiesu_domain::{
    Actor, Case, CaseDraft, CaseState, Channel, Jurisdiction, Kind, Time, UnitId, Urgency, calendar,
};
use jiesu_store::CaseFilter;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::dto::{Redactor, time};
use crate::problem::{ApiError, titles};
pub use wire::{Format, Node};

/// The spec's identifier of this protocol, as discovery names it.
pub const SPECIFICATION: &str = "http://wiki.open311.org/GeoReport_v2";
/// The most requests one GET answers (the spec's default cap), advertised in discovery.
pub const MAX_REQUESTS: u32 = 1000;
/// GET requests covers at most this many days (the spec's window).
pub const WINDOW_DAYS: i64 = 90;
/// The spec's limit on a description.
pub const MAX_DESCRIPTION: usize = 4000;
/// The longest `media_url` kept.
const MAX_MEDIA_URL: usize = 1000;
/// The setting naming this county's `jurisdiction_id` (default: the county unit's id, its
/// administrative division code in the demo).
pub const JURISDICTION_SETTING: &str = "open311_jurisdiction_id";
/// The setting with the contact line of the discovery document.
pub const CONTACT_SETTING: &str = "open311_contact";

/// The kinds a citizen may choose for a report (the `kind` attribute).
const KINDS: &[Kind] = &[
    Kind::Complaint,
    Kind::Request,
    Kind::Inquiry,
    Kind::Suggestion,
    Kind::Report,
    Kind::Praise,
    Kind::Hazard,
];

/// The Open311 routes, merged into the API's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open311/v2/{file}", any(top))
        .route("/open311/v2/services/{file}", any(service_definition))
        .route("/open311/v2/requests/{file}", any(one_request))
        .route("/open311/v2/tokens/{file}", any(token))
}

/// Whether a path belongs to the Open311 endpoint (an unknown one answers in its format).
pub fn owns(path: &str) -> bool {
    path == "/open311" || path.starts_with("/open311/")
}

/// An unknown resource under `/open311`.
pub fn not_found(path: &str) -> Response {
    let format = wire::split_format(path).map_or(Format::Json, |(_, f)| f);
    Open311Error::new(
        StatusCode::NOT_FOUND,
        "没有这个资源",
        "no such resource (see discovery.json)",
    )
    .respond(format)
}

/// An error as the spec's `errors` list: `code` is the HTTP status, `description` says what
/// went wrong in Chinese and English.
#[derive(Debug, Clone)]
pub struct Open311Error {
    status: StatusCode,
    description: String,
}

impl Open311Error {
    fn new(status: StatusCode, zh: &str, en: &str) -> Self {
        Open311Error {
            status,
            description: format!("{zh} / {en}"),
        }
    }

    fn bad(zh: &str, en: &str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, zh, en)
    }

    fn respond(&self, format: Format) -> Response {
        let body = Node::List(
            "error",
            vec![Node::Obj(vec![
                ("code", Node::Int(i64::from(self.status.as_u16()))),
                ("description", Node::text(self.description.clone())),
            ])],
        );
        wire::respond(self.status, format, "errors", &body)
    }
}

/// The API's refusals in the spec's terms: 403 and 404 stay; what the spec has no status for
/// (a conflict, a failed validation) is its general 400; a server fault stays a server fault.
impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        let status = match e.status.as_u16() {
            403 | 404 => e.status,
            s if s >= 500 => e.status,
            _ => StatusCode::BAD_REQUEST,
        };
        let (zh, en) = titles(e.code);
        Open311Error {
            status,
            description: format!("{zh} / {en}: {}", e.detail),
        }
    }
}

impl From<jiesu_store::StoreError> for Open311Error {
    fn from(e: jiesu_store::StoreError) -> Self {
        ApiError::from(e).into()
    }
}

type Answer = Result<(&'static str, Node), Open311Error>;

fn finish(format: Format, answer: Answer) -> Response {
    match answer {
        Ok((root, body)) => wire::respond(StatusCode::OK, format, root, &body),
        Err(e) => e.respond(format),
    }
}

/// Query or form pairs, where an empty value is no value (the spec's rule for optional
/// arguments) and the first of repeated plain names counts.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(raw: &[u8]) -> Params {
        Params(form_urlencoded::parse(raw).into_owned().collect())
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim())
    }

    /// `attribute[CODE]` and `attribute[CODE][]` values, by code.
    fn attributes(&self) -> HashMap<&str, Vec<&str>> {
        let mut out: HashMap<&str, Vec<&str>> = HashMap::new();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix("attribute[") else {
                continue;
            };
            let code = rest
                .strip_suffix("][]")
                .or_else(|| rest.strip_suffix(']'))
                .unwrap_or(rest);
            if !v.trim().is_empty() {
                out.entry(code).or_default().push(v.trim());
            }
        }
        out
    }
}

/// The jurisdiction this endpoint serves, and the check of a `jurisdiction_id` given: one
/// endpoint serves one county, so leaving it out is fine and naming another is a 404.
async fn jurisdiction(state: &AppState, p: &Params) -> Result<String, Open311Error> {
    let id = jurisdiction_id(state).await?;
    match p.get("jurisdiction_id") {
        Some(given) if given != id => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            "jurisdiction_id 不是本平台服务的辖区",
            "jurisdiction_id not served here",
        )),
        _ => Ok(id),
    }
}

async fn jurisdiction_id(state: &AppState) -> Result<String, Open311Error> {
    if let Some(id) = state.store.get_setting(JURISDICTION_SETTING).await? {
        return Ok(id);
    }
    Ok(state
        .juris()
        .org
        .intake_center()
        .map(|u| u.as_str().to_string())
        .unwrap_or_default())
}

async fn top(
    State(state): State<AppState>,
    Path(file): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let (stem, format) = match wire::split_format(&file) {
        Ok(x) => x,
        Err(_) => return unknown_format(),
    };
    let p = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let answer = match (stem, &method) {
        ("discovery", &Method::GET) => discovery(&state, &headers).await,
        ("services", &Method::GET) => services(&state, &p).await,
        ("requests", &Method::GET) => list_requests(&state, &p).await,
        ("requests", &Method::POST) => post_request(&state, &headers, &p, &body).await,
        ("discovery" | "services" | "requests", _) => Err(wrong_method()),
        _ => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            "没有这个资源",
            "no such resource (see discovery.json)",
        )),
    };
    finish(format, answer)
}

fn unknown_format() -> Response {
    Open311Error::bad("格式须为 .json 或 .xml", "the format must be .json or .xml")
        .respond(Format::Json)
}

fn wrong_method() -> Open311Error {
    Open311Error::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "此资源不接受该请求方法",
        "this resource does not take that method",
    )
}

/// The endpoint's own address as the client reached it (behind a proxy, as the proxy says).
fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        })
        .unwrap_or("localhost");
    let scheme = match headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
    {
        Some("https") => "https",
        _ => "http",
    };
    format!("{scheme}://{host}/open311/v2")
}

async fn discovery(state: &AppState, headers: &HeaderMap) -> Answer {
    let id = jurisdiction_id(state).await?;
    let changed = state.store.services_changed_at().await?;
    let changeset = time_ms(changed);
    let contact = state
        .store
        .get_setting(CONTACT_SETTING)
        .await?
        .unwrap_or_else(|| "12345 政务服务便民热线 / the 12345 government service hotline".into());
    let juris = state.juris();
    let name = juris
        .org
        .intake_center()
        .and_then(|r| juris.org.get(r))
        .map(|u| u.name.clone());
    Ok((
        "discovery",
        Node::Obj(vec![
            ("changeset", Node::text(changeset.clone())),
            ("contact", Node::text(contact)),
            (
                "key_service",
                Node::text(
                    "提交诉求需要 api_key，请向本县政务服务数据管理部门申请 / \
                     POSTing a request needs an api_key: ask the county's government data office",
                ),
            ),
            ("jurisdiction_id", Node::text(id)),
            ("jurisdiction_name", Node::opt_text(name)),
            ("max_requests", Node::Int(i64::from(MAX_REQUESTS))),
            (
                "endpoints",
                Node::List(
                    "endpoint",
                    vec![Node::Obj(vec![
                        ("specification", Node::text(SPECIFICATION)),
                        ("url", Node::text(base_url(headers))),
                        ("changeset", Node::text(changeset)),
                        ("type", Node::text("production")),
                        (
                            "formats",
                            Node::List(
                                "format",
                                vec![Node::text("text/xml"), Node::text("application/json")],
                            ),
                        ),
                    ])],
                ),
            ),
        ]),
    ))
}

fn time_ms(ms: i64) -> String {
    calendar::from_unix_ms(ms)
        .map(time)
        .unwrap_or_else(|| "1970-01-01T08:00:00+08:00".into())
}

/// The categories a report may be filed under: leaves that are not retired.
fn service_categories(juris: &Jurisdiction) -> Vec<&jiesu_domain::Category> {
    juris
        .categories
        .leaves()
        .into_iter()
        .filter(|c| !juris.categories.is_retired(&c.id))
        .collect()
}

fn service(juris: &Jurisdiction, code: &str) -> Option<jiesu_domain::Category> {
    service_categories(juris)
        .into_iter()
        .find(|c| c.id == code)
        .cloned()
}

/// How long the county takes over a case of this category, by the deadline policy in force.
fn resolve_span(juris: &Jurisdiction, c: &jiesu_domain::Category) -> jiesu_domain::deadline::Span {
    let kind = c.default_kind.unwrap_or(Kind::Complaint);
    juris.policy.spans(kind, Some(&c.id), Urgency::Normal).2
}

async fn services(state: &AppState, p: &Params) -> Answer {
    jurisdiction(state, p).await?;
    let juris = state.juris();
    let list = service_categories(&juris)
        .into_iter()
        .map(|c| {
            let parent = c.parent.as_deref().and_then(|id| juris.categories.get(id));
            let unit = c
                .default_unit
                .as_ref()
                .and_then(|u| juris.org.get(u))
                .map(|u| u.name.as_str());
            let span = resolve_span(&juris, c);
            let description = match unit {
                Some(u) => format!(
                    "{}：一般由{u}办理，{}内办结 / {}: usually handled by {u}, resolved within {}",
                    c.name,
                    span.describe_zh(),
                    c.name_en,
                    span.describe()
                ),
                None => format!(
                    "{}：{}内办结 / {}: resolved within {}",
                    c.name,
                    span.describe_zh(),
                    c.name_en,
                    span.describe()
                ),
            };
            let mut keywords = vec![c.name.clone(), c.name_en.clone()];
            if let Some(p) = parent {
                keywords.push(p.name_en.clone());
            }
            Node::Obj(vec![
                ("service_code", Node::text(c.id.clone())),
                ("service_name", Node::text(c.name.clone())),
                ("description", Node::text(description)),
                ("metadata", Node::Bool(true)),
                ("type", Node::text("realtime")),
                ("keywords", Node::text(keywords.join(","))),
                ("group", Node::opt_text(parent.map(|p| p.name.clone()))),
            ])
        })
        .collect();
    Ok(("services", Node::List("service", list)))
}

fn attribute(
    code: &'static str,
    datatype: &'static str,
    order: i64,
    description: String,
    values: Option<Vec<(String, String)>>,
    variable: bool,
) -> Node {
    Node::Obj(vec![
        ("variable", Node::Bool(variable)),
        ("code", Node::text(code)),
        ("datatype", Node::text(datatype)),
        ("required", Node::Bool(false)),
        ("datatype_description", Node::Null),
        ("order", Node::Int(order)),
        ("description", Node::text(description)),
        (
            "values",
            match values {
                Some(v) => Node::List(
                    "value",
                    v.into_iter()
                        .map(|(k, n)| {
                            Node::Obj(vec![("key", Node::text(k)), ("name", Node::text(n))])
                        })
                        .collect(),
                ),
                None => Node::Null,
            },
        ),
    ])
}

async fn service_definition(
    State(state): State<AppState>,
    Path(file): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    item(state, file, method, query, |state, code| async move {
        let juris = state.juris();
        let c = service(&juris, &code).ok_or_else(unknown_service)?;
        let kind = c.default_kind.unwrap_or(Kind::Complaint);
        let span = resolve_span(&juris, &c);
        let attributes = vec![
            attribute(
                "title",
                "string",
                1,
                format!(
                    "标题，不超过 {} 字；不填则取描述的开头 / A title of at most {} characters; the description's first words if left out",
                    jiesu_domain::case::MAX_TITLE,
                    jiesu_domain::case::MAX_TITLE
                ),
                None,
                true,
            ),
            attribute(
                "kind",
                "singlevaluelist",
                2,
                format!(
                    "诉求类型，不填为“{}” / Kind of request (default: {})",
                    kind.name_zh(),
                    kind.as_str()
                ),
                Some(
                    KINDS
                        .iter()
                        .map(|k| (k.as_str().to_string(), k.name_zh().to_string()))
                        .collect(),
                ),
                true,
            ),
            attribute(
                "anonymous",
                "singlevaluelist",
                3,
                "匿名反映：办理部门看不到您的姓名和电话 / Anonymous: the handling department sees neither your name nor your number".into(),
                Some(vec![
                    ("false".into(), "署名 / named".into()),
                    ("true".into(), "匿名 / anonymous".into()),
                ]),
                true,
            ),
            attribute(
                "deadline",
                "string",
                4,
                format!(
                    "此类诉求派单后{}内办结，节假日不计 / Resolved within {} of dispatch, holidays not counted",
                    span.describe_zh(),
                    span.describe()
                ),
                None,
                false,
            ),
        ];
        Ok((
            "service_definition",
            Node::Obj(vec![
                ("service_code", Node::text(c.id.clone())),
                ("attributes", Node::List("attribute", attributes)),
            ]),
        ))
    })
    .await
}

fn unknown_service() -> Open311Error {
    Open311Error::new(
        StatusCode::NOT_FOUND,
        "没有这个 service_code",
        "no such service_code (see services.json)",
    )
}

/// The client holding `api_key` (form field, or query as v2.1 has it), as the actor that files
/// its cases.
async fn client(state: &AppState, form: &Params, query: &Params) -> Result<Actor, Open311Error> {
    let Some(key) = form.get("api_key").or_else(|| query.get("api_key")) else {
        return Err(Open311Error::new(
            StatusCode::FORBIDDEN,
            "缺少 api_key",
            "api_key missing",
        ));
    };
    let hash = hex::encode(Sha256::digest(key.as_bytes()));
    match state.store.open311_client(&hash).await? {
        Some(c) => Ok(Actor {
            user_id: c.user_id,
            username: c.username,
            display_name: c.display_name,
            grants: c.grants,
        }),
        None => Err(Open311Error::new(
            StatusCode::FORBIDDEN,
            "api_key 无效或已停用",
            "api_key invalid or disabled",
        )),
    }
}

fn parse_coordinate(p: &Params, name: &str, max: f64) -> Result<Option<f64>, Open311Error> {
    match p.get(name) {
        None => Ok(None),
        Some(s) => match s.parse::<f64>() {
            Ok(v) if v.is_finite() && v.abs() <= max => Ok(Some(v)),
            _ => Err(Open311Error::bad(
                &format!("{name} 须为 WGS84 度数"),
                &format!("{name} must be WGS84 degrees"),
            )),
        },
    }
}

/// The title: the one given, else the description's first line cut to 30 characters, else the
/// service's name.
fn title_of(given: Option<&str>, description: &str, service: &str) -> String {
    if let Some(t) = given {
        return t.to_string();
    }
    let first = description
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if first.is_empty() {
        return service.to_string();
    }
    let cut: String = first.chars().take(30).collect();
    if cut.chars().count() < first.chars().count() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// One value of a single-value attribute from its list.
fn one_of<'a>(
    attrs: &HashMap<&str, Vec<&'a str>>,
    code: &str,
    allowed: &[&str],
) -> Result<Option<&'a str>, Open311Error> {
    match attrs.get(code).map(Vec::as_slice) {
        None | Some([]) => Ok(None),
        Some([v]) if allowed.contains(v) => Ok(Some(v)),
        Some(_) => Err(Open311Error::bad(
            &format!("attribute[{code}] 须为 {} 之一", allowed.join("、")),
            &format!("attribute[{code}] must be one of {}", allowed.join(", ")),
        )),
    }
}

/// The case a form describes, checked as far as Open311 goes (the domain checks the rest).
fn draft_of(form: &Params, c: &jiesu_domain::Category) -> Result<CaseDraft, Open311Error> {
    let lat = parse_coordinate(form, "lat", 90.0)?;
    let lon = parse_coordinate(form, "long", 180.0)?;
    let location = match (lat, lon) {
        (Some(lat), Some(lon)) => Some(GeoPoint { lon, lat }),
        (None, None) => None,
        _ => {
            return Err(Open311Error::bad(
                "lat 与 long 须同时给出",
                "lat and long go together",
            ));
        }
    };
    let address = match (form.get("address_string"), form.get("address_id")) {
        (Some(a), _) => Some(a.to_string()),
        (None, Some(id)) => Some(format!("地址编号 {id}")),
        (None, None) => None,
    };
    if location.is_none() && address.is_none() {
        return Err(Open311Error::bad(
            "须给出位置：lat 和 long，或 address_string，或 address_id",
            "a location is required: lat and long, address_string or address_id",
        ));
    }
    let mut description = form.get("description").unwrap_or("").to_string();
    if description.chars().count() > MAX_DESCRIPTION {
        return Err(Open311Error::bad(
            &format!("description 不能超过 {MAX_DESCRIPTION} 字"),
            &format!("description is limited to {MAX_DESCRIPTION} characters"),
        ));
    }
    if let Some(url) = form.get("media_url") {
        let ok = url.len() <= MAX_MEDIA_URL
            && (url.starts_with("https://") || url.starts_with("http://"))
            && !url.chars().any(char::is_whitespace);
        if !ok {
            return Err(Open311Error::bad(
                "media_url 须为 http(s) 地址",
                "media_url must be an http(s) URL",
            ));
        }
        // jiesu fetches nothing from outside: the link is kept with the text for the handler.
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str("图片：");
        description.push_str(url);
    }
    let attrs = form.attributes();
    if let Some(code) = attrs
        .keys()
        .find(|k| !matches!(**k, "title" | "kind" | "anonymous"))
    {
        return Err(Open311Error::bad(
            &format!("没有 attribute[{code}]（见服务定义）"),
            &format!("no attribute[{code}] (see the service definition)"),
        ));
    }
    let kinds: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
    let kind = one_of(&attrs, "kind", &kinds)?
        .and_then(Kind::parse)
        .or(c.default_kind)
        .unwrap_or(Kind::Complaint);
    let anonymous = one_of(&attrs, "anonymous", &["true", "false"])? == Some("true");
    let given_title = match attrs.get("title").map(Vec::as_slice) {
        None | Some([]) => None,
        Some([t]) => Some(*t),
        Some(_) => {
            return Err(Open311Error::bad(
                "attribute[title] 只能有一个",
                "attribute[title] takes one value",
            ));
        }
    };
    let name: String = [form.get("last_name"), form.get("first_name")]
        .into_iter()
        .flatten()
        .collect();
    Ok(CaseDraft {
        channel: Channel::Open311,
        kind,
        category: Some(c.id.clone()),
        urgency: Urgency::Normal,
        title: title_of(given_title, &description, &c.name),
        description,
        address,
        location,
        reporter: Reporter {
            name: (!name.is_empty()).then_some(name),
            phone: form.get("phone").map(str::to_string),
            anonymous,
            user_id: None,
        },
    })
}

/// The key that makes a POST safe to repeat: the client's `Idempotency-Key` if it sends one,
/// else the form itself on that day. Open311 has no retry token of its own, so a client that
/// lost the answer and posts the same report again the same day gets the same case, while the
/// same words posted another day are a new report.
fn idempotency(
    headers: &HeaderMap,
    form: &Params,
    client: &Actor,
    draft: &CaseDraft,
    now: Time,
) -> Result<(String, String), Open311Error> {
    let body = serde_json::to_vec(draft).map_err(|e| Open311Error::from(ApiError::internal(e)))?;
    let body_hash = hex::encode(Sha256::digest(&body));
    let key = match crate::cases::idempotency_key(headers).map_err(Open311Error::from)? {
        Some(k) => k,
        None => {
            let mut pairs: Vec<&(String, String)> =
                form.0.iter().filter(|(k, _)| k != "api_key").collect();
            pairs.sort();
            let mut h = Sha256::new();
            for (k, v) in pairs {
                h.update(k.as_bytes());
                h.update([0]);
                h.update(v.as_bytes());
                h.update([0]);
            }
            format!(
                "open311:{}:{}",
                jiesu_domain::case::number_day(now),
                hex::encode(h.finalize())
            )
        }
    };
    Ok((format!("{}:{key}", client.user_id), body_hash))
}

async fn post_request(
    state: &AppState,
    headers: &HeaderMap,
    query: &Params,
    body: &[u8],
) -> Answer {
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_encoded {
        return Err(Open311Error::bad(
            "请求体须为 application/x-www-form-urlencoded",
            "the body must be application/x-www-form-urlencoded",
        ));
    }
    let form = Params::parse(body);
    let actor = client(state, &form, query).await?;
    // The id may come in the form (the spec) or the query.
    if form.get("jurisdiction_id").is_some() {
        jurisdiction(state, &form).await?;
    } else {
        jurisdiction(state, query).await?;
    }
    let code = form
        .get("service_code")
        .ok_or_else(|| Open311Error::bad("缺少 service_code", "service_code missing"))?;
    let juris = state.juris();
    let c = service(&juris, code).ok_or_else(unknown_service)?;
    let draft = draft_of(&form, &c)?;
    let span = juris.policy.spans(draft.kind, Some(&c.id), draft.urgency).2;
    let now = state.now();
    let idem = idempotency(headers, &form, &actor, &draft, now)?;
    let (case, created) = state
        .store
        .intake_by(
            juris.clone(),
            draft,
            &actor,
            IntakePath::Open311,
            now,
            Some(idem),
        )
        .await?;
    if created {
        state.metrics.case_created();
    }
    Ok((
        "service_requests",
        Node::List(
            "request",
            vec![Node::Obj(vec![
                ("service_request_id", Node::text(case.number.clone())),
                (
                    "service_notice",
                    Node::text(format!(
                        "已受理，工单号 {n}，派单后{}内办结；可凭工单号和电话查询进度 / Received as case {n}, to be resolved within {} of dispatch",
                        span.describe_zh(),
                        span.describe(),
                        n = case.number
                    )),
                ),
                ("account_id", Node::opt_text(form.get("account_id"))),
            ])],
        ),
    ))
}

/// `open` or `closed`, as GeoReport v2 knows only these two.
fn status(state: CaseState) -> &'static str {
    if state.is_open() { "open" } else { "closed" }
}

fn request_node(case: &Case, juris: &Jurisdiction) -> Node {
    // Public: the reporter's name and number are hidden wherever the text quotes them.
    let red = Redactor::public(case);
    let category = case.draft.category.as_deref();
    let service_name = category
        .and_then(|c| juris.categories.get(c))
        .map(|c| c.name.clone());
    let unit_name = |u: &UnitId| juris.org.get(u).map(|x| x.name.clone());
    let notes = match case.state {
        CaseState::Merged => {
            "已合并，与同一问题的工单一并办理 / merged into a case about the same problem"
                .to_string()
        }
        s => format!("{} / {}", s.name_zh(), s.as_str()),
    };
    let updated = if case.state.is_open() {
        case.updated_at
    } else {
        case.closed_at.unwrap_or(case.updated_at)
    };
    let (lat, lon) = match case.draft.location {
        Some(p) => (Node::Float(p.lat), Node::Float(p.lon)),
        None => (Node::Null, Node::Null),
    };
    Node::Obj(vec![
        ("service_request_id", Node::text(case.number.clone())),
        ("status", Node::text(status(case.state))),
        ("status_notes", Node::text(notes)),
        ("service_name", Node::opt_text(service_name)),
        ("service_code", Node::opt_text(category)),
        (
            "description",
            Node::text(red.text(&case.draft.description).into_owned()),
        ),
        (
            "agency_responsible",
            Node::opt_text(case.assigned_unit.as_ref().and_then(unit_name)),
        ),
        ("service_notice", Node::Null),
        ("requested_datetime", Node::text(time(case.received_at))),
        ("updated_datetime", Node::text(time(updated))),
        (
            "expected_datetime",
            Node::opt_text(case.deadlines.as_ref().map(|d| time(d.resolve_due))),
        ),
        (
            "address",
            Node::opt_text(
                case.draft
                    .address
                    .as_deref()
                    .map(|a| red.text(a).into_owned()),
            ),
        ),
        ("address_id", Node::Null),
        ("zipcode", Node::Null),
        ("lat", lat),
        ("long", lon),
        ("media_url", Node::Null),
    ])
}

/// A `start_date`/`end_date` value: W3C date-time with its zone, or a date (a Beijing day: its
/// start, or for an end its last moment).
fn parse_when(s: &str, end: bool) -> Option<Time> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(calendar::to_beijing(t.with_timezone(&chrono::Utc)));
    }
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    let t = if end {
        d.and_hms_milli_opt(23, 59, 59, 999)?
    } else {
        d.and_hms_opt(0, 0, 0)?
    };
    calendar::beijing().from_local_datetime(&t).single()
}

fn date_param(p: &Params, name: &str, end: bool) -> Result<Option<Time>, Open311Error> {
    p.get(name)
        .map(|s| {
            parse_when(s, end).ok_or_else(|| {
                Open311Error::bad(
                    &format!("{name} 须为带时区的 W3C 时间，如 2026-12-01T00:00:00+08:00"),
                    &format!("{name} must be a W3C date-time with its zone, e.g. 2026-12-01T00:00:00+08:00"),
                )
            })
        })
        .transpose()
}

fn uint_param(p: &Params, name: &str, min: u32, max: u32) -> Result<Option<u32>, Open311Error> {
    p.get(name)
        .map(|s| {
            s.parse::<u32>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| {
                    Open311Error::bad(
                        &format!("{name} 须为 {min} 到 {max} 的整数"),
                        &format!("{name} must be a whole number from {min} to {max}"),
                    )
                })
        })
        .transpose()
}

/// Whether a case is one the public Open311 reads may show.
fn public(case: &Case) -> bool {
    case.draft.channel == Channel::Open311
}

async fn list_requests(state: &AppState, p: &Params) -> Answer {
    jurisdiction(state, p).await?;
    let juris = state.juris();
    // A list of ids overrides every other parameter.
    if let Some(ids) = p.get("service_request_id") {
        let ids: Vec<&str> = ids
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        if ids.len() > MAX_REQUESTS as usize {
            return Err(Open311Error::bad(
                "service_request_id 一次最多 1000 个",
                "at most 1000 service_request_id at once",
            ));
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(case) = state.store.get_case(id).await?
                && public(&case)
            {
                out.push(request_node(&case, &juris));
            }
        }
        return Ok(("service_requests", Node::List("request", out)));
    }
    let mut states = Vec::new();
    if let Some(s) = p.get("status") {
        for v in s.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            match v {
                "open" => states.extend(
                    CaseState::ALL
                        .iter()
                        .filter(|s| s.is_open())
                        .map(|s| s.as_str().to_string()),
                ),
                "closed" => states.extend(
                    CaseState::ALL
                        .iter()
                        .filter(|s| !s.is_open())
                        .map(|s| s.as_str().to_string()),
                ),
                _ => {
                    return Err(Open311Error::bad(
                        "status 只能是 open 或 closed",
                        "status is open or closed",
                    ));
                }
            }
        }
    }
    let mut categories = Vec::new();
    if let Some(codes) = p.get("service_code") {
        for code in codes.split(',').map(str::trim).filter(|v| !v.is_empty()) {
            if juris.categories.get(code).is_none() {
                return Err(unknown_service());
            }
            categories.push(code.to_string());
        }
    }
    let window = Duration::days(WINDOW_DAYS);
    let (from, until) = match (
        date_param(p, "start_date", false)?,
        date_param(p, "end_date", true)?,
    ) {
        (Some(f), Some(u)) => (f, u),
        (Some(f), None) => (f, f + window),
        (None, Some(u)) => (u - window, u),
        (None, None) => {
            let now = state.now();
            (now - window, now)
        }
    };
    if until < from {
        return Err(Open311Error::bad(
            "end_date 早于 start_date",
            "end_date is before start_date",
        ));
    }
    // A date given as a day ends at its last millisecond, so 90 whole days may span 90 days plus
    // one day less a millisecond.
    if until - from >= window + Duration::days(1) {
        return Err(Open311Error::bad(
            "查询区间不能超过 90 天",
            "the date range is limited to 90 days",
        ));
    }
    let page = uint_param(p, "page", 1, u32::MAX)?.unwrap_or(1);
    let page_size = uint_param(p, "page_size", 1, MAX_REQUESTS)?.unwrap_or(MAX_REQUESTS);
    let Some(root) = juris.org.root() else {
        return Ok(("service_requests", Node::List("request", vec![])));
    };
    let mut f = CaseFilter {
        reader_units: vec![root.as_str().to_string()],
        states,
        categories,
        channel: Some(Channel::Open311.as_str().to_string()),
        from_ms: Some(from.timestamp_millis()),
        until_ms: Some(until.timestamp_millis()),
        offset: (page - 1).saturating_mul(page_size),
        limit: page_size.min(500),
        ..CaseFilter::default()
    };
    let mut out = Vec::new();
    while out.len() < page_size as usize {
        f.limit = (page_size as usize - out.len()).min(500) as u32;
        let (cases, _) = state.store.list_page(&f, false).await?;
        let Some(last) = cases.last() else { break };
        f.cursor = Some((last.received_at.timestamp_millis(), last.id.clone()));
        let short = cases.len() < f.limit as usize;
        out.extend(
            cases
                .iter()
                .filter(|c| public(c))
                .map(|c| request_node(c, &juris)),
        );
        if short {
            break;
        }
    }
    Ok(("service_requests", Node::List("request", out)))
}

async fn case_for(state: &AppState, id: &str) -> Result<Case, Open311Error> {
    match state.store.get_case(id).await? {
        Some(c) if public(&c) => Ok(c),
        _ => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            "没有这个诉求",
            "no such service request",
        )),
    }
}

/// The shell of a GET of one item (`services/{code}`, `requests/{id}`, `tokens/{token}`): the
/// format from the suffix, GET only, the jurisdiction checked; `answer` gets the item's name.
async fn item<F, Fut>(
    state: AppState,
    file: String,
    method: Method,
    query: Option<String>,
    answer: F,
) -> Response
where
    F: FnOnce(AppState, String) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let Ok((name, format)) = wire::split_format(&file) else {
        return unknown_format();
    };
    let p = Params::parse(query.as_deref().unwrap_or("").as_bytes());
    let result = async {
        if method != Method::GET {
            return Err(wrong_method());
        }
        jurisdiction(&state, &p).await?;
        answer(state.clone(), name.to_string()).await
    }
    .await;
    finish(format, result)
}

async fn one_request(
    State(state): State<AppState>,
    Path(file): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    item(state, file, method, query, |state, id| async move {
        let case = case_for(&state, &id).await?;
        Ok((
            "service_requests",
            Node::List("request", vec![request_node(&case, &state.juris())]),
        ))
    })
    .await
}

/// A token is what a `batch` service answers instead of an id. jiesu's services are realtime, so
/// it issues none of its own; a case's internal id serves as its token, and this resolves it to
/// the case number.
async fn token(
    State(state): State<AppState>,
    Path(file): Path<String>,
    method: Method,
    RawQuery(query): RawQuery,
) -> Response {
    item(state, file, method, query, |state, token| async move {
        let case = case_for(&state, &token).await?;
        if case.id != token {
            return Err(Open311Error::new(
                StatusCode::NOT_FOUND,
                "没有这个 token",
                "no such token",
            ));
        }
        Ok((
            "service_requests",
            Node::List(
                "request",
                vec![Node::Obj(vec![
                    ("service_request_id", Node::text(case.number.clone())),
                    ("token", Node::text(case.id.clone())),
                ])],
            ),
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn category() -> jiesu_domain::Category {
        jiesu_domain::Category {
            id: "urban.manhole".into(),
            parent: Some("urban".into()),
            name: "井盖缺失破损".into(),
            name_en: "Manholes".into(),
            default_kind: Some(Kind::Hazard),
            default_unit: None,
        }
    }

    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("lat".to_string()),
            Just("long".to_string()),
            Just("address_string".to_string()),
            Just("address_id".to_string()),
            Just("description".to_string()),
            Just("media_url".to_string()),
            Just("first_name".to_string()),
            Just("phone".to_string()),
            "attribute\\[(kind|title|anonymous|[a-z]{0,4})\\](\\[\\])?",
            ".{0,12}",
        ]
    }

    proptest! {
        /// Whatever bytes a client posts, the form is read and answered, never a panic.
        #[test]
        fn any_body_is_answered(raw in proptest::collection::vec(proptest::arbitrary::any::<u8>(), 0..600)) {
            let p = Params::parse(&raw);
            let _ = draft_of(&p, &category());
            let _ = p.attributes();
        }

        /// Forms made of the real field names with any values: a draft that passes carries a
        /// location, a title and a description within the spec's limit.
        #[test]
        fn drafts_that_pass_are_whole(
            pairs in proptest::collection::vec((field(), ".{0,60}"), 0..10)
        ) {
            let raw = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs.iter())
                .finish();
            if let Ok(d) = draft_of(&Params::parse(raw.as_bytes()), &category()) {
                prop_assert!(d.location.is_some() || d.address.is_some());
                prop_assert!(!d.title.is_empty());
                prop_assert_eq!(d.channel, Channel::Open311);
                prop_assert!(d.description.chars().count() <= MAX_DESCRIPTION + MAX_MEDIA_URL + 5);
                if let Some(p) = d.location {
                    prop_assert!(p.lat.abs() <= 90.0 && p.lon.abs() <= 180.0);
                }
            }
        }

        #[test]
        fn any_date_or_suffix_is_answered(s in ".{0,40}") {
            let _ = parse_when(&s, false);
            let _ = parse_when(&s, true);
            let _ = wire::split_format(&s);
        }
    }

    #[test]
    fn empty_values_count_as_absent_and_attributes_are_read_by_code() {
        let p = Params::parse(
            "a=&a=2&attribute[kind]=hazard&attribute[tags][]=x&attribute[tags][]=y&attribute[title]="
                .as_bytes(),
        );
        assert_eq!(p.get("a"), Some("2"));
        assert_eq!(p.get("b"), None);
        let at = p.attributes();
        assert_eq!(at["kind"], vec!["hazard"]);
        assert_eq!(at["tags"], vec!["x", "y"]);
        assert!(!at.contains_key("title"));
    }

    #[test]
    fn title_comes_from_the_description_when_not_given() {
        assert_eq!(title_of(Some("井盖"), "x", "s"), "井盖");
        assert_eq!(title_of(None, "\n  路灯不亮\n很久了", "s"), "路灯不亮");
        assert_eq!(title_of(None, "", "道路破损"), "道路破损");
        let long = "字".repeat(40);
        assert_eq!(title_of(None, &long, "s").chars().count(), 31);
    }

    #[test]
    fn dates_need_their_zone_or_are_beijing_days() {
        let t = parse_when("2026-12-01T00:00:00Z", false).unwrap();
        assert_eq!(time(t), "2026-12-01T08:00:00+08:00");
        let d = parse_when("2026-12-01", true).unwrap();
        assert_eq!(time(d), "2026-12-01T23:59:59+08:00");
        assert!(parse_when("2026-12-01T00:00:00", false).is_none());
        assert!(parse_when("yesterday", false).is_none());
    }
}
