//! Monitoring for the console: stations with their latest class and status, reading series,
//! alarms; registering stations (admin).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::actor::CASE_READERS;
use jiesu_domain::{Jurisdiction, Role, UnitId};
use jiesu_monitor::Station;
use jiesu_store::StationRow;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Authed;
use crate::dto::time_ms;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::problem::ApiError;

/// Monitoring is scoped like cases: a station exists for the caller when its unit lies within a
/// unit on which he holds a case-reading role ([`CASE_READERS`]).
fn reader(auth: &Authed) -> Result<(), ApiError> {
    if auth
        .actor
        .grants
        .iter()
        .any(|g| CASE_READERS.contains(&g.role))
    {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "role_forbidden",
            "monitoring data is for staff",
        ))
    }
}

fn station_in_scope(auth: &Authed, juris: &Jurisdiction, unit: &str) -> bool {
    auth.actor
        .may_act_on(&juris.org, CASE_READERS, &UnitId::new(unit))
}

/// The station if the caller may see it; otherwise it does not exist for him.
async fn visible_station(
    state: &AppState,
    auth: &Authed,
    juris: &Jurisdiction,
    mn: &str,
) -> Result<StationRow, ApiError> {
    state
        .store
        .station(mn)
        .await?
        .filter(|r| station_in_scope(auth, juris, &r.unit_id))
        .ok_or_else(|| ApiError::not_found("station_not_found", format!("no station {mn}")))
}

fn st_name(st: &str) -> &'static str {
    match st {
        "21" => "地表水质量监测",
        "22" => "空气质量监测",
        "31" => "大气环境污染源",
        "32" => "水污染源排放",
        "39" => "工地扬尘",
        _ => "其他",
    }
}

pub async fn stations(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    reader(&auth)?;
    let juris = state.juris();
    let now = state.now().timestamp_millis();
    let open = state.store.open_alarms().await?;
    let mut items = Vec::new();
    for r in state.store.stations().await? {
        if !station_in_scope(&auth, &juris, &r.unit_id) {
            continue;
        }
        let s: Option<Station> = serde_json::from_str(&r.config).ok();
        let interval = s.as_ref().map_or(300, |s| i64::from(s.interval_secs));
        let status = match r.last_seen_ms {
            None => "never",
            Some(t) if now - t <= interval * 3 * 1000 => "online",
            Some(_) => "offline",
        };
        let alarms: Vec<&str> = open
            .iter()
            .filter(|a| a.mn == r.mn)
            .map(|a| a.problem.as_str())
            .collect();
        items.push(json!({
            "mn": r.mn, "name": r.name, "st": r.st, "st_name": st_name(&r.st),
            "unit": {"id": r.unit_id, "name": juris.org.get(&UnitId::new(r.unit_id.clone())).map(|u| u.name.clone())},
            "location": match (r.lon, r.lat) { (Some(lon), Some(lat)) => json!({"lon": lon, "lat": lat}), _ => json!(null) },
            "waterbody": s.as_ref().and_then(|s| s.waterbody),
            "target_class": s.as_ref().and_then(|s| s.target),
            "latest_class": r.last_class,
            "last_seen": r.last_seen_ms.and_then(time_ms),
            "status": status,
            "open_alarms": alarms,
            "interval_secs": interval,
        }));
    }
    Ok(Json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadingsQuery {
    factor: Option<String>,
    /// RFC 3339; default: 24 hours before `to`.
    from: Option<String>,
    /// RFC 3339; default: now.
    to: Option<String>,
    /// rtd (default), min, hour, day.
    kind: Option<String>,
    limit: Option<u32>,
}

fn parse_time(field: &str, v: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(v)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request("invalid_query", format!("{field}: RFC 3339 time expected"))
        })
}

pub async fn readings(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(mn): ApiPath<String>,
    ApiQuery(q): ApiQuery<ReadingsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    reader(&auth)?;
    visible_station(&state, &auth, &state.juris(), &mn).await?;
    let to = match &q.to {
        Some(t) => parse_time("to", t)?,
        None => state.now().timestamp_millis(),
    };
    let from = match &q.from {
        Some(t) => parse_time("from", t)?,
        None => to - 24 * 3600 * 1000,
    };
    let kind = q.kind.as_deref().unwrap_or("rtd");
    if !["rtd", "min", "hour", "day"].contains(&kind) {
        return Err(ApiError::bad_request(
            "invalid_query",
            "kind: rtd, min, hour or day",
        ));
    }
    let rows = state
        .store
        .readings(
            &mn,
            q.factor.as_deref(),
            kind,
            from,
            to,
            q.limit.unwrap_or(5000).min(100_000),
        )
        .await?;
    let items: Vec<_> = rows
        .iter()
        .map(|r| json!({"factor": r.factor, "at": time_ms(r.at_ms), "value": r.value, "flag": r.flag}))
        .collect();
    Ok(Json(json!({"mn": mn, "kind": kind, "items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassesQuery {
    /// hour (default) or day.
    period: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// The station's GB 3838 class per hour or day, from the period means of its valid real-time
/// readings (the evaluation rules average first, then classify).
pub async fn classes(
    State(state): State<AppState>,
    auth: Authed,
    ApiPath(mn): ApiPath<String>,
    ApiQuery(q): ApiQuery<ClassesQuery>,
) -> Result<impl IntoResponse, ApiError> {
    reader(&auth)?;
    let row = visible_station(&state, &auth, &state.juris(), &mn).await?;
    let station: Station = serde_json::from_str(&row.config).map_err(ApiError::internal)?;
    let (period, ms) = match q.period.as_deref().unwrap_or("hour") {
        "hour" => ("hour", 3_600_000),
        "day" => ("day", 86_400_000),
        _ => {
            return Err(ApiError::bad_request(
                "invalid_query",
                "period: hour or day",
            ));
        }
    };
    let to = match &q.to {
        Some(t) => parse_time("to", t)?,
        None => state.now().timestamp_millis(),
    };
    let from = match &q.from {
        Some(t) => parse_time("from", t)?,
        None => to - if period == "hour" { 48 } else { 31 * 24 } * 3_600_000,
    };
    let means = state.store.period_means(&mn, ms, from, to).await?;
    let wb = station.waterbody.unwrap_or(jiesu_monitor::Waterbody::River);
    let mut items = Vec::new();
    let mut i = 0;
    while i < means.len() {
        let p = means[i].0;
        let group: Vec<&(i64, String, f64, i64)> =
            means[i..].iter().take_while(|m| m.0 == p).collect();
        i += group.len();
        let c = jiesu_monitor::classify(group.iter().map(|m| (m.1.as_str(), m.2)), wb);
        items.push(json!({
            "start": time_ms(p),
            "class": c.class.map(|c| c.as_str()),
            "worst": c.worst,
            "meets_target": station.target.and_then(|t| c.meets(t)),
            "means": group.iter().map(|m| json!({"factor": m.1, "mean": m.2, "count": m.3})).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(
        json!({"mn": mn, "period": period, "target_class": station.target, "items": items}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmsQuery {
    #[serde(default)]
    open: bool,
    limit: Option<u32>,
}

pub async fn alarms(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<AlarmsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    reader(&auth)?;
    let juris = state.juris();
    let scope = crate::cases::unit_paths(&juris, &auth.actor.reader_units());
    let rows = state
        .store
        .alarms(&scope, q.open, q.limit.unwrap_or(200).min(1000))
        .await?;
    let items: Vec<_> = rows
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "mn": a.mn, "problem": a.problem,
                "problem_zh": jiesu_monitor::Problem::parse(&a.problem).map(|p| p.name_zh()),
                "case_id": a.case_id, "opened_at": time_ms(a.opened_ms),
                "recovered_at": a.recovered_ms.and_then(time_ms), "summary": a.summary,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn put_station(
    State(state): State<AppState>,
    auth: Authed,
    ApiJson(spec): ApiJson<jiesu_monitor::StationSpec>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    if !auth.actor.has_role(Role::Admin) {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "only admins register stations",
        ));
    }
    spec.validate()
        .map_err(|m| ApiError::unprocessable("validation_failed", m))?;
    let unit = UnitId::new(spec.unit.clone());
    if !juris.org.contains(&unit) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("unknown unit {unit}"),
        ));
    }
    if !auth.actor.may_act_on(&juris.org, &[Role::Admin], &unit) {
        return Err(ApiError::forbidden(
            "out_of_scope",
            format!("unit {unit} is outside your scope"),
        ));
    }
    let row = station_row(&spec).map_err(ApiError::internal)?;
    state
        .store
        .put_station(&row, state.now().timestamp_millis())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"mn": row.mn, "name": row.name, "unit": row.unit_id})),
    ))
}

/// The store's row for a registration.
pub fn station_row(spec: &jiesu_monitor::StationSpec) -> Result<StationRow, serde_json::Error> {
    Ok(StationRow {
        mn: spec.mn.clone(),
        name: spec.name.clone(),
        st: spec.st.clone(),
        password: spec.password.clone(),
        crc_mode: spec.crc_mode().to_string(),
        unit_id: spec.unit.clone(),
        lon: spec.lon,
        lat: spec.lat,
        config: serde_json::to_string(&spec.station())?,
        last_seen_ms: None,
        last_class: None,
    })
}
