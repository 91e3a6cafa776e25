//! `POST /api/v1/routing/suggest`: where a case is, whose it is, and whether it is already open —
//! suggestions for the intake form while the operator types.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::case::GeoPoint;
use jiesu_domain::{CaseState, UnitId, UnitKind};
use jiesu_store::CaseFilter;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Authed;
use crate::dto::json_body;
use crate::extract::ApiJson;
use crate::problem::ApiError;

/// Open cases within this distance of the point are candidates for merging.
pub const DUPLICATE_RADIUS_M: f64 = 200.0;
/// Text similarity (shared character pairs) from which a nearby open case is offered.
pub const DUPLICATE_SIMILARITY: f64 = 0.2;
/// Nearby open cases read to look for duplicates (newest first).
const DUPLICATE_CANDIDATES: u32 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuggestRequest {
    title: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    address: Option<String>,
    #[serde(default)]
    lon: Option<f64>,
    #[serde(default)]
    lat: Option<f64>,
}

#[derive(Serialize)]
struct Named {
    id: String,
    name: String,
}

#[derive(Serialize)]
struct Scored {
    id: String,
    name: String,
    confidence: f64,
    /// Put first by an admin's routing rule.
    by_rule: bool,
}

#[derive(Serialize)]
struct Duplicate {
    id: String,
    number: String,
    title: String,
    state: &'static str,
    /// Metres between the two points (`null` when either has none: same place by address).
    distance_m: Option<f64>,
    similarity: f64,
}

#[derive(Serialize)]
struct Answer {
    grid: Option<Named>,
    community: Option<Named>,
    units: Vec<Scored>,
    categories: Vec<Scored>,
    duplicates: Vec<Duplicate>,
    /// No confident suggestion for the lead unit: dispatch by hand.
    manual: bool,
    /// Whether the suggestions have been trained yet on this node.
    trained: bool,
}

/// Great-circle distance in metres.
pub fn distance_m(a: GeoPoint, b: GeoPoint) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dla = la2 - la1;
    let dlo = (b.lon - a.lon).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * h.sqrt().asin()
}

fn pairs(s: &str) -> std::collections::HashSet<(char, char)> {
    let cs: Vec<char> = s.chars().filter(|c| c.is_alphanumeric()).collect();
    cs.windows(2).map(|w| (w[0], w[1])).collect()
}

/// Jaccard similarity of two texts' character pairs (0 to 1).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (a, b) = (pairs(a), pairs(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.intersection(&b).count();
    shared as f64 / (a.len() + b.len() - shared) as f64
}

fn too_long(field: &str, s: Option<&str>, max: usize) -> Result<(), ApiError> {
    if s.is_some_and(|s| s.chars().count() > max) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            format!("{field}: at most {max} characters"),
        )
        .on_field(field));
    }
    Ok(())
}

pub async fn suggest(
    State(state): State<AppState>,
    auth: Authed,
    ApiJson(r): ApiJson<SuggestRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if !auth.actor.is_staff() {
        return Err(ApiError::forbidden(
            "role_forbidden",
            "routing suggestions are for staff taking and dispatching cases",
        ));
    }
    too_long("title", Some(&r.title), 100)?;
    too_long("description", r.description.as_deref(), 5000)?;
    too_long("address", r.address.as_deref(), 200)?;
    // A point needs both coordinates: one alone is no point (it is ignored, as a half-typed
    // form gives it).
    let point = match (r.lon, r.lat) {
        (Some(lon), Some(lat))
            if (-180.0..=180.0).contains(&lon) && (-90.0..=90.0).contains(&lat) =>
        {
            Some(GeoPoint { lon, lat })
        }
        (Some(_), Some(_)) => {
            return Err(ApiError::unprocessable(
                "validation_failed",
                "lon within -180..180 and lat within -90..90",
            )
            .on_field("lon"));
        }
        _ => None,
    };
    let juris = state.juris();
    let org = &juris.org;
    let description = r.description.as_deref().unwrap_or("");
    // The address names the place; failing that, the text may.
    let place = org
        .place_of_report(point, r.address.as_deref())
        .or_else(|| org.place_of(&format!("{}\n{description}", r.title)));
    let named = |u: &UnitId| Named {
        id: u.to_string(),
        name: org.get(u).map(|x| x.name.clone()).unwrap_or_default(),
    };
    let up_to = |kinds: &[UnitKind]| {
        let mut cur = place.as_ref().and_then(|u| org.get(u));
        while let Some(u) = cur {
            if kinds.contains(&u.kind) {
                return Some(u.id.clone());
            }
            cur = u.parent.as_ref().and_then(|p| org.get(p));
        }
        None
    };
    let grid = up_to(&[UnitKind::Grid, UnitKind::MicroGrid]);
    let community = up_to(&[UnitKind::Community, UnitKind::Village]);
    let street = up_to(&[UnitKind::Street, UnitKind::Town]);

    let router = state.router();
    let (mut units, mut categories) = (Vec::new(), Vec::new());
    if let Some(router) = &router {
        let s = router.suggest(
            &r.title,
            description,
            street.as_ref().map(|s| s.as_str()),
            3,
        );
        units = s
            .units
            .into_iter()
            .filter(|x| !org.is_closed(&UnitId::new(x.label.as_str())))
            .map(|x| Scored {
                name: org
                    .get(&UnitId::new(x.label.as_str()))
                    .map(|u| u.name.clone())
                    .unwrap_or_default(),
                id: x.label,
                confidence: x.confidence,
                by_rule: x.by_rule,
            })
            .collect();
        categories = s
            .categories
            .into_iter()
            .filter(|x| !juris.categories.is_retired(&x.label))
            .map(|x| Scored {
                name: juris
                    .categories
                    .get(&x.label)
                    .map(|c| c.name.clone())
                    .unwrap_or_default(),
                id: x.label,
                confidence: x.confidence,
                by_rule: x.by_rule,
            })
            .collect();
    }
    let manual = units
        .first()
        .is_none_or(|u| u.confidence < jiesu_routing::CONFIDENT);

    // Duplicates: open cases the caller may read in the same community (or street), received
    // in the last 90 days, within the radius of the point or at the same place, saying much the
    // same.
    let mut duplicates = Vec::new();
    if let Some(area) = community.clone().or(street.clone()) {
        let now = state.now().timestamp_millis();
        let filter = CaseFilter {
            states: CaseState::ALL
                .iter()
                .filter(|s| s.is_open())
                .map(|s| s.as_str().to_string())
                .collect(),
            place_path: org.path(&area).map(str::to_string),
            from_ms: Some(now - 90 * 86_400_000),
            limit: DUPLICATE_CANDIDATES,
            ..CaseFilter::readable_by(&auth.actor, org)
        };
        let (cases, _) = state.store.list_page(&filter, false).await?;
        let text = format!("{}{description}", r.title);
        for c in cases {
            if !c.visible_to(&auth.actor, org) {
                continue;
            }
            let d = &c.draft;
            let distance = match (point, d.location) {
                (Some(a), Some(b)) => Some(distance_m(a, b)),
                _ => None,
            };
            let near = match distance {
                Some(m) => m <= DUPLICATE_RADIUS_M,
                None => {
                    place.is_some()
                        && org.place_of_report(d.location, d.address.as_deref()) == place
                }
            };
            if !near {
                continue;
            }
            let sim = similarity(&text, &format!("{}{}", d.title, d.description));
            if sim >= DUPLICATE_SIMILARITY {
                duplicates.push(Duplicate {
                    id: c.id.clone(),
                    number: c.number.clone(),
                    title: crate::dto::Redactor::new(&c, &auth.actor, &juris)
                        .text(&d.title)
                        .into_owned(),
                    state: c.state.as_str(),
                    distance_m: distance.map(|m| m.round()),
                    similarity: (sim * 100.0).round() / 100.0,
                });
            }
        }
        duplicates.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
        duplicates.truncate(5);
    }
    Ok(json_body(
        StatusCode::OK,
        &Answer {
            grid: grid.as_ref().map(named),
            community: community.as_ref().map(named),
            units,
            categories,
            duplicates,
            manual,
            trained: router.is_some(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_similarity() {
        let a = GeoPoint {
            lon: 111.5,
            lat: 32.5,
        };
        let b = GeoPoint {
            lon: 111.5,
            lat: 32.501,
        };
        assert!(
            (distance_m(a, b) - 111.2).abs() < 1.0,
            "{}",
            distance_m(a, b)
        );
        assert_eq!(distance_m(a, a), 0.0);
        assert_eq!(similarity("小区门口井盖破损", "小区门口井盖破损"), 1.0);
        assert!(similarity("小区门口井盖破损", "门口的井盖破损了") > 0.3);
        assert!(similarity("小区门口井盖破损", "路灯不亮") < 0.05);
        assert_eq!(similarity("", "x"), 0.0);
    }
}
