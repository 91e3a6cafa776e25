//! Case handlers: intake, reads, worklist and commands. Every one checks role and org scope.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::case::GeoPoint;
use jiesu_domain::{CaseDraft, Channel, Command, Kind, Role, UnitId, Urgency, case::Reporter};
use jiesu_store::CaseFilter;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::Authed;
use crate::dto::{case_json, case_json_full, json_body, timeline_json};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntakeRequest {
    #[serde(default)]
    channel: Option<Channel>,
    kind: Kind,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    urgency: Option<Urgency>,
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::object_opt")]
    location: Option<GeoPoint>,
    #[serde(default, deserialize_with = "crate::extract::object_opt")]
    reporter: Option<ReporterInput>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReporterInput {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    #[serde(default)]
    anonymous: bool,
}

/// The `Idempotency-Key` header, checked, read without copying the request's headers.
pub struct IdempotencyKey(Option<String>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for IdempotencyKey {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, ApiError> {
        idempotency_key(&parts.headers).map(IdempotencyKey)
    }
}

/// The `Idempotency-Key` header's value, if sent: 1 to 128 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let k = v
        .to_str()
        .ok()
        .map(|s| s.trim().trim_matches('"'))
        .filter(|s| !s.is_empty() && s.len() <= 128 && s.chars().all(|c| c.is_ascii_graphic()))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_idempotency_key",
                "1 to 128 visible ASCII characters",
            )
        })?;
    Ok(Some(k.to_string()))
}

pub async fn create_case(
    State(state): State<AppState>,
    auth: Authed,
    IdempotencyKey(key): IdempotencyKey,
    ApiJson(req): ApiJson<IntakeRequest>,
) -> Result<impl IntoResponse, ApiError> {
    // Keys are per user: two clients cannot collide on each other's keys.
    let key = key.map(|k| format!("{}:{k}", auth.actor.user_id));
    let citizen = !auth.actor.is_staff();
    let draft = CaseDraft {
        channel: req.channel.unwrap_or(if citizen {
            Channel::Web
        } else {
            Channel::Hotline
        }),
        kind: req.kind,
        category: req.category,
        urgency: req.urgency.unwrap_or(Urgency::Normal),
        title: req.title,
        description: req.description.unwrap_or_default(),
        address: req.address,
        location: req.location,
        reporter: req
            .reporter
            .map(|r| Reporter {
                name: r.name,
                phone: r.phone,
                anonymous: r.anonymous,
                user_id: None,
            })
            .unwrap_or_default(),
    };
    let idem = match key {
        Some(k) => {
            let body = serde_json::to_vec(&draft).map_err(ApiError::internal)?;
            Some((k, hex::encode(Sha256::digest(&body))))
        }
        None => None,
    };
    let juris = state.juris();
    let now = state.now();
    let (case, created) = state
        .store
        .intake(juris.clone(), draft, &auth.actor, now, idem)
        .await?;
    if created {
        state.metrics.case_created();
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut res = json_body(status, &case_json(&case, &auth.actor, &juris, now));
    if let Ok(v) = format!("/api/v1/cases/{}", case.id).parse() {
        res.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    Ok(res)
}

/// The materialised paths of `units`: a list query's scope.
pub(crate) fn unit_paths(juris: &jiesu_domain::Jurisdiction, units: &[UnitId]) -> Vec<String> {
    units
        .iter()
        .filter_map(|u| juris.org.path(u).map(str::to_string))
        .collect()
}

/// The case by id or number if the caller may read it; otherwise it does not exist for him.
pub(crate) async fn visible_case(
    state: &AppState,
    auth: &Authed,
    juris: &jiesu_domain::Jurisdiction,
    id: &str,
) -> Result<jiesu_domain::Case, ApiError> {
    state
        .store
        .get_case(id)
        .await?
        .filter(|c| c.visible_to(&auth.actor, &juris.org))
        .ok_or_else(ApiError::case_not_found)
}

pub async fn get_case(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    Ok(json_body(
        StatusCode::OK,
        &case_json_full(&case, &auth.actor, &juris, state.now()),
    ))
}

pub async fn timeline(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    let events = state.store.timeline(&case.id).await?;
    let events = timeline_json(&case, &events, &auth.actor, &juris).map_err(ApiError::internal)?;
    Ok(Json(json!({
        "case_id": case.id,
        "number": case.number,
        "events": events,
    })))
}

/// The reporter's name and number in full, for a caller entitled to them; every reveal is
/// written to the audit log (who, from where, which case) before the answer leaves.
pub async fn reveal(
    State(state): State<AppState>,
    auth: Authed,
    addr: crate::auth::ClientAddr,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    let red = crate::dto::Redactor::new(&case, &auth.actor, &juris);
    if !red.revealable {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "your role may not see this reporter's data in full",
        ));
    }
    let r = &case.draft.reporter;
    state
        .store
        .audit(&jiesu_store::AuditEntry {
            at_ms: state.now().timestamp_millis(),
            actor_id: auth.actor.user_id.clone(),
            actor_name: auth.actor.display_name.clone(),
            address: addr.0.to_string(),
            action: "reveal_reporter".into(),
            target: case.id.clone(),
            detail: format!(
                "case {}{}",
                case.number,
                if r.anonymous {
                    " (anonymous reporter)"
                } else {
                    ""
                }
            ),
        })
        .await?;
    Ok(Json(json!({
        "case_id": case.id, "number": case.number, "name": r.name, "phone": r.phone,
        "anonymous": r.anonymous,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrackRequest {
    number: String,
    phone: String,
}

/// 进度查询: a citizen follows a case by its number and the phone he gave, without an account.
/// Both must match, or it is `case_not_found` (one answer for a wrong number and a wrong phone);
/// failures count against the address and the number like sign-ins, so guessing stops.
pub async fn track(
    State(state): State<AppState>,
    crate::auth::ClientAddr(ip): crate::auth::ClientAddr,
    ApiJson(req): ApiJson<TrackRequest>,
) -> Result<axum::response::Response, ApiError> {
    let number = req.number.trim();
    let phone: String = req.phone.chars().filter(|c| !c.is_whitespace()).collect();
    let now = state.now().timestamp_millis();
    let attempt = match state.sign_ins.begin(&format!("track:{number}"), ip, now) {
        Ok(a) => a,
        Err(t) => {
            let err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed look-ups; try again after Retry-After seconds",
            );
            return Ok(crate::auth::retry_after(err, t.retry_after_secs));
        }
    };
    let case = if number.len() == 14 && !phone.is_empty() {
        state
            .store
            .get_case(number)
            .await?
            .filter(|c| c.number == number && c.draft.reporter.phone.as_deref() == Some(&phone))
    } else {
        None
    };
    let Some(case) = case else {
        attempt.failed(now);
        return Err(ApiError::case_not_found());
    };
    attempt.succeeded();
    let juris = state.juris();
    let events = state.store.timeline(&case.id).await?;
    let body = crate::dto::tracking_json(&case, &events, &juris).map_err(ApiError::internal)?;
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// One case (its id) or other target, e.g. `user:NAME`: its entries, oldest first.
    target: Option<String>,
    /// One action (`reveal_reporter`, `sign_in`, `sign_in_failed`, `sign_in_locked`, …), newest first.
    action: Option<String>,
    /// At most this many (1–1000, default 100).
    limit: Option<u32>,
}

/// The audit log, for inspectors and admins: about one target (oldest first, as a trail reads),
/// or the newest entries, of one action or all.
pub async fn audit(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !auth.actor.has_role(Role::Inspector) && !auth.actor.has_role(Role::Admin) {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "the audit log is for inspectors and admins",
        ));
    }
    let mut entries = state
        .store
        .audit_entries(&jiesu_store::AuditFilter {
            target: q.target.clone(),
            action: q.action.clone(),
            limit: q.limit.unwrap_or(100).clamp(1, 1000),
        })
        .await?;
    if q.target.is_some() {
        entries.reverse();
    }
    let items: Vec<_> = entries
        .into_iter()
        .map(|s| {
            let e = s.entry;
            json!({
                "id": s.id, "at": crate::dto::time_ms(e.at_ms), "actor_id": e.actor_id,
                "actor_name": e.actor_name, "address": e.address, "action": e.action,
                "target": e.target, "detail": e.detail, "hash": s.hash,
            })
        })
        .collect();
    Ok(Json(json!({ "items": items })))
}

/// Staff check a case's trail; a citizen's view of it carries no hashes to check.
pub async fn verify(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let case = visible_case(&state, &auth, &juris, &id).await?;
    if !auth.actor.is_staff() {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "checking the trail is for staff",
        ));
    }
    let report = state.store.verify_case(&case.id).await?;
    Ok(Json(report))
}

/// The filtered list as a workbook: the first 10,000 cases, newest first. Reporters' names and
/// numbers are left out: an export leaves the system's access control behind.
pub async fn export_cases(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<axum::response::Response, ApiError> {
    if !auth.actor.is_staff() {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "exports are for staff",
        ));
    }
    let juris = state.juris();
    let now = state.now();
    let mut filter = case_filter(&q, &auth, &juris, now)?;
    filter.limit = 500;
    filter.offset = 0;
    let mut cases = Vec::new();
    loop {
        let page = state.store.list_cases(&filter).await?;
        let full = page.len() == filter.limit as usize;
        filter.cursor = page
            .last()
            .map(|c| (c.received_at.timestamp_millis(), c.id.clone()));
        cases.extend(
            page.into_iter()
                .filter(|c| c.visible_to(&auth.actor, &juris.org)),
        );
        if !full || cases.len() >= jiesu_store::COUNT_CAP as usize {
            break;
        }
    }
    cases.truncate(jiesu_store::COUNT_CAP as usize);
    let actor = auth.actor.clone();
    let bytes = tokio::task::spawn_blocking(move || case_workbook(&cases, &actor, &juris, now))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let day = now.format("%Y%m%d").to_string();
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    h.insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(crate::reports::XLSX),
    );
    h.insert(
        axum::http::header::CONTENT_DISPOSITION,
        axum::http::HeaderValue::from_str(&crate::reports::content_disposition(
            &format!("工单列表-{day}.xlsx"),
            &format!("cases-{day}.xlsx"),
        ))
        .map_err(ApiError::internal)?,
    );
    Ok(res)
}

fn case_workbook(
    cases: &[jiesu_domain::Case],
    actor: &jiesu_domain::Actor,
    juris: &jiesu_domain::Jurisdiction,
    now: jiesu_domain::Time,
) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("工单列表")?;
    let bold = Format::new().set_bold();
    let headers = [
        ("工单编号", 17.0),
        ("受理时间", 20.0),
        ("标题", 40.0),
        ("类别", 16.0),
        ("渠道", 10.0),
        ("紧急程度", 9.0),
        ("状态", 9.0),
        ("承办单位", 22.0),
        ("办结时限", 20.0),
        ("是否超期", 9.0),
    ];
    for (i, (h, w)) in headers.iter().enumerate() {
        ws.write_with_format(0, i as u16, *h, &bold)?;
        ws.set_column_width(i as u16, *w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    let stamp = |t: jiesu_domain::Time| t.format("%Y-%m-%d %H:%M").to_string();
    for (r, c) in cases.iter().enumerate() {
        let row = r as u32 + 1;
        let overdue = c.state.is_open()
            && c.state != jiesu_domain::CaseState::Suspended
            && c.deadlines.as_ref().is_some_and(|d| d.resolve_due < now);
        let category = c
            .draft
            .category
            .as_deref()
            .and_then(|id| juris.categories.get(id))
            .map(|k| k.name.clone())
            .unwrap_or_default();
        let unit = c
            .assigned_unit
            .as_ref()
            .and_then(|u| juris.org.get(u))
            .map(|u| u.name.clone())
            .unwrap_or_default();
        ws.write(row, 0, &c.number)?;
        ws.write(row, 1, stamp(c.received_at))?;
        // Titles may quote the reporter: they go out as the list shows them to this caller.
        let title = crate::dto::Redactor::new(c, actor, juris);
        ws.write(row, 2, title.text(&c.draft.title).as_ref())?;
        ws.write(row, 3, category)?;
        ws.write(row, 4, c.draft.channel.name_zh())?;
        ws.write(row, 5, c.draft.urgency.name_zh())?;
        ws.write(row, 6, c.state.name_zh())?;
        ws.write(row, 7, unit)?;
        ws.write(
            row,
            8,
            c.deadlines
                .as_ref()
                .map(|d| stamp(d.resolve_due))
                .unwrap_or_default(),
        )?;
        ws.write(row, 9, if overdue { "是" } else { "" })?;
    }
    if !cases.is_empty() {
        ws.autofilter(0, 0, cases.len() as u32, headers.len() as u16 - 1)?;
    }
    wb.save_to_buffer()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// One state or several, comma-separated.
    state: Option<String>,
    unit: Option<String>,
    category: Option<String>,
    channel: Option<String>,
    /// A unit with an area (street, community, grid): cases located in it.
    grid: Option<String>,
    overdue: Option<bool>,
    /// Only the cases the caller reported himself (a grid worker's 我上报的).
    mine: Option<bool>,
    /// Received from / to these Beijing days, inclusive (`YYYY-MM-DD`).
    from: Option<String>,
    to: Option<String>,
    /// A case number, or (for roles that call reporters) a reporter's phone number.
    q: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
    page: Option<u32>,
    page_size: Option<u32>,
}

pub(crate) fn bad(detail: String) -> ApiError {
    ApiError::bad_request("invalid_query", detail)
}

/// A unit named in a query: known, and within the caller's scope.
pub(crate) fn unit_in_scope(
    juris: &jiesu_domain::Jurisdiction,
    scope_units: &[UnitId],
    u: &str,
) -> Result<String, ApiError> {
    let u = UnitId::new(u.to_string());
    if !juris.org.contains(&u) {
        return Err(bad(format!("unknown unit {u}")));
    }
    if !scope_units.iter().any(|s| juris.org.is_within(&u, s)) {
        return Err(ApiError::forbidden(
            "out_of_scope",
            format!("unit {u} is outside your scope"),
        ));
    }
    Ok(juris.org.path(&u).unwrap_or_default().to_string())
}

/// The start of a Beijing day, in ms (`next`: of the day after).
pub(crate) fn day_ms(s: &str, next: bool) -> Result<i64, ApiError> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| bad(format!("{s:?} is not a date (YYYY-MM-DD)")))?;
    let d = if next { d.succ_opt().unwrap_or(d) } else { d };
    let t = d
        .and_hms_opt(0, 0, 0)
        .and_then(|t| {
            t.and_local_timezone(jiesu_domain::calendar::beijing())
                .single()
        })
        .ok_or_else(|| bad(format!("{s:?} is not a date")))?;
    Ok(t.timestamp_millis())
}

/// `state=a,b`: known states (none: every state).
pub(crate) fn parse_states(q: Option<&str>) -> Result<Vec<String>, ApiError> {
    let mut states = Vec::new();
    for s in q.iter().flat_map(|s| s.split(',')).map(str::trim) {
        if s.is_empty() {
            continue;
        }
        if jiesu_domain::CaseState::parse(s).is_none() {
            return Err(bad(format!("unknown state {s:?}")));
        }
        states.push(s.to_string());
    }
    Ok(states)
}

/// `category=c`: it and the categories below it (none: every category).
pub(crate) fn category_subtree(
    juris: &jiesu_domain::Jurisdiction,
    c: Option<&str>,
) -> Result<Vec<String>, ApiError> {
    Ok(match c {
        None => Vec::new(),
        Some(c) if juris.categories.get(c).is_none() => {
            return Err(bad(format!("unknown category {c:?}")));
        }
        Some(c) => juris
            .categories
            .subtree(c)
            .into_iter()
            .map(str::to_string)
            .collect(),
    })
}

/// The filter a list query asks for, within what the caller may read.
fn case_filter(
    q: &ListQuery,
    auth: &Authed,
    juris: &jiesu_domain::Jurisdiction,
    now: jiesu_domain::Time,
) -> Result<CaseFilter, ApiError> {
    let states = parse_states(q.state.as_deref())?;
    // The units whose subtrees the caller reads: the rule `GET` applies (`Case::visible_to`).
    let scope_units = auth.actor.reader_units();
    let unit = q
        .unit
        .as_deref()
        .map(|u| unit_in_scope(juris, &scope_units, u).map(|path| (u.to_string(), path)))
        .transpose()?;
    let place_path = match q.grid.as_deref() {
        None => None,
        Some(g) => {
            let u = UnitId::new(g.to_string());
            Some(
                juris
                    .org
                    .path(&u)
                    .ok_or_else(|| bad(format!("unknown unit {u}")))?
                    .to_string(),
            )
        }
    };
    let categories = category_subtree(juris, q.category.as_deref())?;
    if let Some(c) = &q.channel
        && jiesu_domain::Channel::parse(c).is_none()
    {
        return Err(bad(format!("unknown channel {c:?}")));
    }
    let (mut number, mut phone) = (None, None);
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let digits = text.chars().all(|c| c.is_ascii_digit() || c == '-');
        if jiesu_domain::case::parse_case_number(text).is_some() && text.len() == 14 {
            number = Some(text.to_string());
        } else if digits && (7..=20).contains(&text.len()) {
            if !auth
                .actor
                .grants
                .iter()
                .any(|g| g.role.sees_reporter_phone())
            {
                return Err(ApiError::forbidden(
                    "role_forbidden",
                    "looking a reporter up by phone is for the roles that call reporters",
                ));
            }
            phone = Some(text.to_string());
        } else {
            return Err(bad(format!(
                "q is a case number (14 digits) or a phone number, not {text:?}"
            )));
        }
    }
    let cursor = match &q.cursor {
        None => None,
        Some(c) => Some(
            c.split_once('.')
                .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.to_string())))
                .ok_or_else(|| bad("bad cursor".into()))?,
        ),
    };
    let from_ms = q.from.as_deref().map(|d| day_ms(d, false)).transpose()?;
    let until_ms = q.to.as_deref().map(|d| day_ms(d, true)).transpose()?;
    let page_size = q.page_size.unwrap_or(20).clamp(1, 100);
    let (limit, offset) = match q.page {
        Some(0) => return Err(bad("page counts from 1".into())),
        // Pages reach the first COUNT_CAP cases; a page past them is empty (`list_cases`).
        Some(p) => (page_size, (p - 1).saturating_mul(page_size)),
        None => (q.limit.unwrap_or(50).clamp(1, 200), 0),
    };
    Ok(CaseFilter {
        states,
        unit,
        categories,
        channel: q.channel.clone(),
        place_path,
        overdue_at: q.overdue.filter(|o| *o).map(|_| now.timestamp_millis()),
        reported_only: q.mine == Some(true),
        from_ms,
        until_ms,
        number,
        phone,
        cursor,
        offset,
        limit,
        ..CaseFilter::readable_by(&auth.actor, &juris.org)
    })
}

pub async fn list_cases(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let now = state.now();
    let mut filter = case_filter(&q, &auth, &juris, now)?;
    let limit = filter.limit;
    // A page past the first COUNT_CAP cases is empty: its total is still counted.
    let beyond = i64::from(filter.offset) >= jiesu_store::COUNT_CAP;
    if beyond {
        (filter.offset, filter.limit) = (0, 1);
    }
    let (mut cases, total) = state.store.list_page(&filter, q.page.is_some()).await?;
    if beyond {
        cases.clear();
    }
    let next_cursor = (cases.len() == limit as usize)
        .then(|| {
            cases
                .last()
                .map(|c| format!("{}.{}", c.received_at.timestamp_millis(), c.id))
        })
        .flatten();
    #[derive(serde::Serialize)]
    struct Page<'a> {
        items: Vec<crate::dto::CaseView<'a>>,
        next_cursor: Option<String>,
        /// With `page`: how many cases match, counted up to 10,000 (`total_capped`: more).
        #[serde(skip_serializing_if = "Option::is_none")]
        total: Option<i64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        total_capped: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        page: Option<u32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        page_size: Option<u32>,
    }
    // The query selects by the same rule; this keeps a list from ever showing what `GET` refuses.
    let items = cases
        .iter()
        .filter(|c| c.visible_to(&auth.actor, &juris.org))
        .map(|c| case_json(c, &auth.actor, &juris, now))
        .collect();
    Ok(json_body(
        StatusCode::OK,
        &Page {
            items,
            next_cursor,
            total: total.map(|t| t.0),
            total_capped: total.map(|t| t.1),
            page: q.page,
            page_size: q.page.map(|_| limit),
        },
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorklistQuery {
    limit: Option<u32>,
}

pub async fn worklist(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<WorklistQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !auth.actor.is_staff() {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "the worklist is for staff",
        ));
    }
    let juris = state.juris();
    let units = auth.actor.reader_units();
    let cases = state
        .store
        .worklist(&units, q.limit.unwrap_or(50).clamp(1, 200))
        .await?;
    let now = state.now();
    #[derive(serde::Serialize)]
    struct Worklist<'a> {
        units: &'a [UnitId],
        items: Vec<crate::dto::CaseView<'a>>,
    }
    let items = cases
        .iter()
        .filter(|c| c.visible_to(&auth.actor, &juris.org))
        .map(|c| case_json(c, &auth.actor, &juris, now))
        .collect();
    Ok(json_body(
        StatusCode::OK,
        &Worklist {
            units: &units,
            items,
        },
    ))
}

pub async fn command(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(id): ApiPath<String>,
    ApiJson(cmd): ApiJson<Command>,
) -> Result<impl IntoResponse, ApiError> {
    if matches!(cmd, Command::Attach(_)) {
        // The trail may only name a file the server stored and hashed itself.
        return Err(ApiError::unprocessable(
            "invalid_body",
            "attachments are added by uploading the file to /cases/{id}/attachments",
        ));
    }
    let juris = state.juris();
    let now = state.now();
    let case = state
        .store
        .command(juris.clone(), &id, cmd, &auth.actor, now)
        .await?;
    state
        .metrics
        .commands
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Ok(json_body(
        StatusCode::OK,
        &case_json_full(&case, &auth.actor, &juris, now),
    ))
}
