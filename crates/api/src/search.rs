//! `GET /api/v1/search`: full-text search over the cases the caller may read.
//!
//! The index answers which cases match, scoped by the same rule as every read (the units the
//! caller reads, expanded to their subtrees as the tree stands now, and the cases he reported);
//! each hit is then read from the store and checked again with `Case::visible_to`, and its
//! title and snippet pass through the same redaction as the case view.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::UnitId;
use jiesu_search::{Scope, SearchQuery};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Authed;
use crate::cases::{bad, category_subtree, day_ms, parse_states, unit_in_scope};
use crate::dto::{Redactor, json_body, time};
use crate::extract::ApiQuery;
use crate::problem::ApiError;

/// Characters of a query beyond this are ignored.
const MAX_QUERY_CHARS: usize = 200;
/// Hits past this are not served (a search that long is narrowed, not paged through).
const MAX_OFFSET: u32 = 10_000;
/// Characters of a snippet.
const SNIPPET_CHARS: usize = 80;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    q: String,
    limit: Option<u32>,
    offset: Option<u32>,
    state: Option<String>,
    unit: Option<String>,
    category: Option<String>,
    grid: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[derive(Serialize)]
struct UnitRef {
    id: String,
    name: Option<String>,
}

#[derive(Serialize)]
struct Hit {
    id: String,
    number: String,
    title: String,
    /// HTML: the text escaped, matches inside `<mark>`.
    snippet: String,
    state: &'static str,
    state_zh: &'static str,
    received_at: String,
    category: Option<String>,
    unit: Option<UnitRef>,
}

#[derive(Serialize)]
struct Answer {
    total: usize,
    hits: Vec<Hit>,
}

fn subtrees(juris: &jiesu_domain::Jurisdiction, units: &[UnitId]) -> Vec<String> {
    let mut out: Vec<String> = units
        .iter()
        .flat_map(|u| juris.org.subtree(u))
        .map(|u| u.to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

pub async fn search(
    State(state): State<AppState>,
    auth: Authed,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(index) = state.search_index().cloned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "search_unavailable",
            "this node has no search index open",
        ));
    };
    let juris = state.juris();
    let text: String = p.q.chars().take(MAX_QUERY_CHARS).collect();
    let states = parse_states(p.state.as_deref())?;
    let readers = auth.actor.reader_units();
    let holders = match p.unit.as_deref() {
        None => Vec::new(),
        Some(u) => {
            unit_in_scope(&juris, &readers, u)?;
            subtrees(&juris, &[UnitId::new(u)])
        }
    };
    let places = match p.grid.as_deref() {
        None => Vec::new(),
        Some(g) if !juris.org.contains(&UnitId::new(g)) => {
            return Err(bad(format!("unknown unit {g}")));
        }
        Some(g) => subtrees(&juris, &[UnitId::new(g)]),
    };
    let categories = category_subtree(&juris, p.category.as_deref())?;
    let from_ms = p.from.as_deref().map(|d| day_ms(d, false)).transpose()?;
    let until_ms = p.to.as_deref().map(|d| day_ms(d, true)).transpose()?;
    let limit = p.limit.unwrap_or(20).clamp(1, 50);
    let offset = p.offset.unwrap_or(0);
    let everything = juris.org.root().is_some_and(|root| readers.contains(root));
    let query = SearchQuery {
        text: text.clone(),
        scope: Scope {
            everything,
            units: if everything {
                Vec::new()
            } else {
                subtrees(&juris, &readers)
            },
            reporter: Some(auth.actor.user_id.clone()),
        },
        states,
        holders,
        categories,
        places,
        from_ms,
        until_ms,
        offset: offset.min(MAX_OFFSET) as usize,
        // Past the cap the page is empty but still counted.
        limit: if offset > MAX_OFFSET {
            0
        } else {
            limit as usize
        },
    };
    let found = tokio::task::spawn_blocking({
        let index = index.clone();
        move || index.search(&query)
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)?;
    let terms = index.highlight_terms(&text);
    let mut hits = Vec::with_capacity(found.ids.len());
    for id in &found.ids {
        // The index may trail the store by a moment: the store's case, checked again, is shown.
        let Some(case) = state.store.get_case(id).await? else {
            continue;
        };
        if !case.visible_to(&auth.actor, &juris.org) {
            continue;
        }
        let red = Redactor::new(&case, &auth.actor, &juris);
        let d = &case.draft;
        let reply = case.reply.as_ref().map(|r| r.text.as_str());
        let texts: Vec<String> = [
            Some(d.description.as_str()),
            reply,
            case.direct_answer.as_deref(),
            d.address.as_deref(),
            Some(d.title.as_str()),
        ]
        .into_iter()
        .flatten()
        .map(|t| red.text(t).into_owned())
        .collect();
        let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
        let unit = case.assigned_unit.as_ref().map(|u| UnitRef {
            id: u.to_string(),
            name: juris.org.get(u).map(|x| x.name.clone()),
        });
        hits.push(Hit {
            id: case.id.clone(),
            number: case.number.clone(),
            title: red.text(&d.title).into_owned(),
            snippet: jiesu_search::snippet(&texts, &terms, SNIPPET_CHARS),
            state: case.state.as_str(),
            state_zh: case.state.name_zh(),
            received_at: time(case.received_at),
            category: d
                .category
                .as_ref()
                .and_then(|c| juris.categories.get(c))
                .map(|c| c.name.clone()),
            unit,
        });
    }
    Ok(json_body(
        StatusCode::OK,
        &Answer {
            total: found.total,
            hits,
        },
    ))
}
