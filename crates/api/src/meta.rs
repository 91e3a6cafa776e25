//! Reference data (units, categories, calendar, deadline policy) and operational endpoints.

use chrono::Datelike;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Authed;
use crate::extract::ApiQuery;
use crate::problem::ApiError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitsQuery {
    #[serde(default)]
    geometry: bool,
}

pub async fn units(
    State(state): State<AppState>,
    _auth: Authed,
    ApiQuery(q): ApiQuery<UnitsQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let rows = state.store.load_units().await?;
    let juris = state.juris();
    let items: Vec<_> = rows
        .iter()
        .map(|(u, g)| {
            let mut v = json!({
                "id": u.id, "parent": u.parent, "kind": u.kind, "kind_zh": u.kind.name_zh(),
                "name": u.name, "has_geometry": g.is_some(), "closed": juris.org.is_closed(&u.id),
            });
            if q.geometry
                && let Some(g) = g
            {
                v["geometry"] = serde_json::from_str(g).unwrap_or(serde_json::Value::Null);
            }
            v
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

pub async fn categories(
    State(state): State<AppState>,
    _auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    let items: Vec<_> = juris
        .categories
        .all()
        .map(|c| {
            json!({
                "id": c.id, "parent": c.parent, "name": c.name, "name_en": c.name_en,
                "default_kind": c.default_kind, "default_unit": c.default_unit,
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaysQuery {
    from: NaiveDate,
    to: NaiveDate,
}

pub async fn calendar_days(
    State(state): State<AppState>,
    _auth: Authed,
    ApiQuery(q): ApiQuery<DaysQuery>,
) -> Result<impl IntoResponse, ApiError> {
    // At most 400 days are listed; a `to` before `from` lists none.
    let juris = state.juris();
    let mut items = Vec::new();
    for d in q.from.iter_days().take(400).take_while(|d| *d <= q.to) {
        // A day of a year with no schedule (neither imported nor provisional) is listed as
        // unknown: `workday` null.
        let (Ok(work), Ok(special)) = (juris.calendar.is_workday(d), juris.calendar.special_day(d))
        else {
            items.push(json!({"date": d, "workday": null, "name": null, "name_en": null, "provisional": null}));
            continue;
        };
        items.push(json!({
            "date": d, "workday": work,
            "name": special.map(|s| s.name.clone()), "name_en": special.map(|s| s.name_en.clone()),
            "provisional": juris.calendar.is_provisional(d.year()),
        }));
    }
    Ok(Json(json!({"items": items})))
}

pub async fn deadline_policy(
    State(state): State<AppState>,
    _auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    Ok(Json(
        serde_json::to_value(&juris.policy).map_err(ApiError::internal)?,
    ))
}

/// Cheap on purpose (one row): load balancers call it every few seconds.
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let warnings: Vec<_> = state
        .juris()
        .calendar
        .schedule_warnings(state.now().date_naive())
        .into_iter()
        .map(|w| json!({"code": w.code(), "message": w.message_zh(), "message_en": w.message_en()}))
        .collect();
    match state.store.event_count().await {
        Ok(n) => Json(json!({"status": "ok", "events": n, "warnings": warnings})).into_response(),
        Err(e) => ApiError::internal(e).into_response(),
    }
}

/// Prometheus text format.
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    use std::fmt::Write;
    let m = &state.metrics;
    let w = state.store.writer_stats();
    let mut out = String::new();
    let mut counter = |name: &str, help: &str, v: u64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
        );
    };
    counter(
        "jiesu_http_requests_total",
        "HTTP requests served.",
        m.requests.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_http_errors_total",
        "HTTP responses with status >= 400.",
        m.errors.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_cases_created_total",
        "Cases recorded by intake.",
        m.cases_created.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_commands_total",
        "Case commands applied.",
        m.commands.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_writer_batches_total",
        "Group-commit transactions.",
        w.batches.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_writer_jobs_total",
        "Writes carried by those transactions.",
        w.jobs.load(Ordering::Relaxed),
    );
    counter(
        "jiesu_writer_failed_batches_total",
        "Transactions that failed.",
        w.failed_batches.load(Ordering::Relaxed),
    );
    if let Ok(states) = state.store.cases_by_state().await {
        let _ = writeln!(
            out,
            "# HELP jiesu_cases Cases by state.\n# TYPE jiesu_cases gauge"
        );
        for (s, n) in states {
            let _ = writeln!(out, "jiesu_cases{{state=\"{s}\"}} {n}");
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
