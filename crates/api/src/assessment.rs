//! Assessment (考核) figures per unit and period, ranked within a peer group, and the public board
//! (晾晒): the same figures for streets and departments, without login, without anything personal.
//! Both sum the incremental counters (`unit_day_stats`) in one query; the domain makes the figures
//! and ranks (docs/ASSESSMENT.md).

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use jiesu_domain::assessment::{Counters, PeerGroup, Period, UnitFigures, figures, peers, rank};
use jiesu_domain::{Jurisdiction, Role, UnitId};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Authed;
use crate::extract::ApiQuery;
use crate::problem::ApiError;

/// Who reads staff-wide assessment figures: the people who set and judge them.
pub const ASSESSMENT_READERS: &[Role] =
    &[Role::Leader, Role::Inspector, Role::Dispatcher, Role::Admin];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssessmentQuery {
    from: Option<String>,
    to: Option<String>,
    period: Option<String>,
    group: PeerGroup,
    within: Option<String>,
}

fn invalid_period(detail: impl Into<String>) -> ApiError {
    ApiError::bad_request("invalid_period", detail)
}

/// `period`, or `from` and `to` (inclusive dates), never both.
fn period_of(
    period: Option<&str>,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<Period, ApiError> {
    // Strictly YYYY-MM-DD (chrono's parser would take 2026-6-1): the period parser's day form.
    let date = |s: &str| {
        Period::parse(s)
            .ok()
            .filter(|p| s.len() == 10 && p.from == p.to)
            .map(|p| p.from)
            .ok_or_else(|| invalid_period(format!("{s:?} is not a date (YYYY-MM-DD)")))
    };
    match (period, from, to) {
        (Some(p), None, None) => Period::parse(p).map_err(|e| invalid_period(e.0)),
        (None, Some(f), Some(t)) => {
            Period::range(date(f)?, date(t)?).map_err(|e| invalid_period(e.0))
        }
        _ => Err(invalid_period(
            "give period (2026-10, 2026-W45, 2026-Q3, 2026, 2026-10-15) or both from and to",
        )),
    }
}

/// The figures of `group`'s units (within `within`) from their counters, ranked.
fn ranking(
    juris: &Jurisdiction,
    counters: &HashMap<String, Counters>,
    group: PeerGroup,
    within: Option<&UnitId>,
) -> Vec<UnitFigures> {
    let rules = &juris.policy.assessment;
    let mut rows: Vec<UnitFigures> = peers(&juris.org, group, within)
        .into_iter()
        .map(|id| {
            let name = juris.org.get(&id).map_or("", |u| u.name.as_str());
            let c = counters.get(id.as_str()).cloned().unwrap_or_default();
            figures(&id, name, &c, rules)
        })
        .collect();
    rank(&mut rows, rules);
    rows
}

pub async fn assessment(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(q): ApiQuery<AssessmentQuery>,
) -> Result<impl IntoResponse, ApiError> {
    if !ASSESSMENT_READERS.iter().any(|r| auth.actor.has_role(*r)) {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "assessment figures are for leaders, inspectors, dispatchers and admins",
        ));
    }
    let period = period_of(q.period.as_deref(), q.from.as_deref(), q.to.as_deref())?;
    let juris = state.juris();
    let within = q.within.as_deref().map(UnitId::new);
    if let Some(w) = &within
        && !juris.org.contains(w)
    {
        return Err(ApiError::unprocessable(
            "unknown_unit",
            format!("no unit {w}"),
        ));
    }
    let counters = state.store.unit_counters(&period).await?;
    let rows = ranking(&juris, &counters, q.group, within.as_ref());
    Ok(Json(json!({
        "from": period.from,
        "to": period.to,
        "group": q.group,
        "group_zh": q.group.name_zh(),
        "within": within,
        "min_rated": juris.policy.assessment.min_rated,
        "rows": rows,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    period: String,
}

/// What the public sees of a unit: counts, rates, score, rank and cards; nothing of any case.
fn public_row(f: &UnitFigures) -> Value {
    json!({
        "unit_id": f.unit_id, "unit_name": f.unit_name,
        "received": f.received, "rated": f.rated,
        "response_rate": f.response_rate, "resolution_rate": f.resolution_rate,
        "satisfaction_rate": f.satisfaction_rate, "on_time_rate": f.on_time_rate,
        "score": f.score, "rank": f.rank,
        "yellow_cards": f.yellow_cards, "red_cards": f.red_cards,
    })
}

/// 晾晒: deliberately public (no `Authed`).
pub async fn public_board(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<BoardQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let period = period_of(Some(&q.period), None, None)?;
    let juris = state.juris();
    let counters = state.store.unit_counters(&period).await?;
    let mut groups = Vec::new();
    for group in [PeerGroup::Street, PeerGroup::Department] {
        let rows = ranking(&juris, &counters, group, None);
        groups.push(json!({
            "group": group, "group_zh": group.name_zh(),
            "rows": rows.iter().map(public_row).collect::<Vec<_>>(),
        }));
    }
    Ok(Json(json!({
        "period": q.period,
        "from": period.from,
        "to": period.to,
        "min_rated": juris.policy.assessment.min_rated,
        "groups": groups,
    })))
}
