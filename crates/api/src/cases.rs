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
    #[serde(default)]
    location: Option<GeoPoint>,
    #[serde(default)]
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
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdempotencyKey(None));
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
        Ok(IdempotencyKey(Some(k.to_string())))
    }
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
        state
            .metrics
            .cases_created
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    state: Option<String>,
    unit: Option<String>,
    cursor: Option<String>,
    limit: Option<u32>,
}

pub async fn list_cases(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    if let Some(s) = &q.state
        && jiesu_domain::CaseState::parse(s).is_none()
    {
        return Err(ApiError::bad_request(
            "invalid_query",
            format!("unknown state {s:?}"),
        ));
    }
    // The units whose subtrees the caller reads: the rule `GET` applies (`Case::visible_to`).
    let scope_units = auth.actor.reader_units();
    let unit_path = match &q.unit {
        None => None,
        Some(u) => {
            let u = UnitId::new(u.clone());
            if !juris.org.contains(&u) {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("unknown unit {u}"),
                ));
            }
            if !scope_units.iter().any(|s| juris.org.is_within(&u, s)) {
                return Err(ApiError::forbidden(
                    "out_of_scope",
                    format!("unit {u} is outside your scope"),
                ));
            }
            juris.org.path(&u).map(str::to_string)
        }
    };
    let cursor = match &q.cursor {
        None => None,
        Some(c) => {
            let (ms, id) = c
                .split_once('.')
                .and_then(|(a, b)| Some((a.parse::<i64>().ok()?, b.to_string())))
                .ok_or_else(|| ApiError::bad_request("invalid_query", "bad cursor"))?;
            Some((ms, id))
        }
    };
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let filter = CaseFilter {
        scope_paths: unit_paths(&juris, &scope_units),
        reporter_user: (!auth.actor.is_staff() || auth.actor.has_role(Role::Citizen))
            .then(|| auth.actor.user_id.clone()),
        state: q.state.clone(),
        unit_path,
        cursor,
        limit,
    };
    let cases = state.store.list_cases(&filter).await?;
    let now = state.now();
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
    }
    // The query selects by the same rule; this keeps a list from ever showing what `GET` refuses.
    let items = cases
        .iter()
        .filter(|c| c.visible_to(&auth.actor, &juris.org))
        .map(|c| case_json(c, &auth.actor, &juris, now))
        .collect();
    Ok(json_body(StatusCode::OK, &Page { items, next_cursor }))
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
