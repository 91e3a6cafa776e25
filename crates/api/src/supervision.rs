//! The callback queue (回访队列) and the supervision board (督办看板). Both are scoped like case
//! lists: the units of the caller's grants and their subtrees, and every case shown passes
//! `Case::visible_to`; the reporter's data goes through the same [`Redactor`] as the case view.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::supervision::{CardColor, CardStatus, SuperviseLevel};
use jiesu_domain::{Actor, Case, Jurisdiction, Role, UnitId};
use serde::Serialize;

use crate::AppState;
use crate::auth::Authed;
use crate::dto::{Redactor, json_body, time, time_ms};
use crate::problem::ApiError;

/// Every unit in the subtrees of the actor's grants with one of `roles`.
fn covered_units(actor: &Actor, juris: &Jurisdiction, roles: &[Role]) -> Vec<UnitId> {
    let mut units: Vec<UnitId> = actor
        .grants
        .iter()
        .filter(|g| roles.contains(&g.role))
        .flat_map(|g| juris.org.subtree(&g.unit))
        .collect();
    units.sort();
    units.dedup();
    units
}

fn need_one_of(actor: &Actor, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.iter().any(|r| actor.has_role(*r)) {
        Ok(())
    } else {
        let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        Err(ApiError::forbidden(
            "role_forbidden",
            format!("{what} is for {}", names.join(", ")),
        ))
    }
}

fn unit_name<'a>(juris: &'a Jurisdiction, u: &UnitId) -> Option<&'a str> {
    juris.org.get(u).map(|x| x.name.as_str())
}

#[derive(Serialize)]
struct CallbackRow<'a> {
    id: &'a str,
    number: &'a str,
    title: std::borrow::Cow<'a, str>,
    category: Option<&'a str>,
    unit_id: Option<&'a UnitId>,
    unit_name: Option<&'a str>,
    approved_at: Option<String>,
    /// Unanswered calls so far; the policy's `callback_attempts`-th makes "unreachable" the outcome.
    attempts: u32,
    attempts_allowed: u32,
    /// A reopened case (重办) waits for its second, final rating.
    reopen_count: u32,
    reply_outcome: Option<&'static str>,
    reporter_name: Option<std::borrow::Cow<'a, str>>,
    reporter_phone: Option<std::borrow::Cow<'a, str>>,
}

/// `GET /api/v1/callbacks`: cases in `awaiting_callback` whose callback falls to the caller.
pub async fn callbacks(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    const CALLING_BACK: &[Role] = &[Role::Operator, Role::Dispatcher];
    need_one_of(&auth.actor, CALLING_BACK, "the callback queue")?;
    let juris = state.juris();
    let units = covered_units(&auth.actor, &juris, CALLING_BACK);
    let items = state.store.callback_queue(&units).await?;
    let allowed = juris.policy.supervision.callback_attempts;
    let rows: Vec<CallbackRow<'_>> = items
        .iter()
        .filter(|i| i.case.visible_to(&auth.actor, &juris.org))
        .map(|i| {
            let c: &Case = &i.case;
            // The caller's own list of people to call: numbers as the role may see them.
            let red = Redactor::for_calling(c, &auth.actor, &juris);
            CallbackRow {
                id: &c.id,
                number: &c.number,
                title: red.text(&c.draft.title),
                category: c.draft.category.as_deref(),
                unit_id: c.assigned_unit.as_ref(),
                unit_name: c.assigned_unit.as_ref().and_then(|u| unit_name(&juris, u)),
                approved_at: i.approved_at_ms.and_then(time_ms),
                attempts: c.callback_attempts,
                attempts_allowed: allowed,
                reopen_count: c.reopen_count,
                reply_outcome: c.reply.as_ref().map(|r| r.outcome.as_str()),
                reporter_name: red.name(),
                reporter_phone: red.phone(),
            }
        })
        .collect();
    #[derive(Serialize)]
    struct Queue<'a> {
        items: Vec<CallbackRow<'a>>,
    }
    Ok(json_body(StatusCode::OK, &Queue { items: rows }))
}

#[derive(Serialize, Default)]
struct LevelCounts {
    general: u32,
    key: u32,
    listed: u32,
}

#[derive(Serialize, Default)]
struct UnitRow<'a> {
    unit_id: String,
    unit_name: Option<&'a str>,
    /// Open cases waiting on the unit.
    open: i64,
    /// Their next deadline falls within one working day.
    due_soon: i64,
    overdue: i64,
    /// Cards on open cases that still count (not revoked).
    yellow_cards: u32,
    red_cards: u32,
    appeals_waiting: u32,
    supervisions: LevelCounts,
}

#[derive(Serialize)]
struct SupervisedRow<'a> {
    case_id: &'a str,
    number: &'a str,
    title: std::borrow::Cow<'a, str>,
    unit_id: &'a UnitId,
    level: SuperviseLevel,
    level_zh: &'static str,
    note: std::borrow::Cow<'a, str>,
    due: Option<String>,
    at: String,
}

#[derive(Serialize)]
struct AppealRow<'a> {
    case_id: &'a str,
    number: &'a str,
    card: &'a str,
    color: CardColor,
    unit_id: &'a UnitId,
    unit_name: Option<&'a str>,
    reason: &'static str,
    appeal_reason: Option<std::borrow::Cow<'a, str>>,
    issued_at: String,
}

/// `GET /api/v1/supervision/board`.
pub async fn board(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    need_one_of(
        &auth.actor,
        &[Role::Leader, Role::Inspector, Role::Dispatcher],
        "the supervision board",
    )?;
    let juris = state.juris();
    let now = state.now();
    let units = covered_units(&auth.actor, &juris, jiesu_domain::actor::CASE_READERS);
    let soon = juris
        .calendar
        .add_working_days(now, 1)
        .unwrap_or(now + chrono::Duration::days(1));
    let counts = state
        .store
        .waiting_counts(&units, now.timestamp_millis(), soon.timestamp_millis())
        .await?;
    let cases = state.store.supervised_cases(&units).await?;
    let mut rows: BTreeMap<String, UnitRow<'_>> = BTreeMap::new();
    let row = |rows: &mut BTreeMap<String, UnitRow<'_>>, u: &UnitId| {
        if !rows.contains_key(u.as_str()) {
            rows.insert(
                u.to_string(),
                UnitRow {
                    unit_id: u.to_string(),
                    ..UnitRow::default()
                },
            );
        }
    };
    for c in &counts {
        let u = UnitId::new(c.unit.clone());
        row(&mut rows, &u);
        if let Some(r) = rows.get_mut(u.as_str()) {
            r.open = c.open;
            r.due_soon = c.due_soon;
            r.overdue = c.overdue;
        }
    }
    let mut supervised = Vec::new();
    let mut appeals = Vec::new();
    let in_scope = |u: &UnitId| units.binary_search(u).is_ok();
    for c in cases
        .iter()
        .filter(|c| c.visible_to(&auth.actor, &juris.org))
    {
        let red = Redactor::new(c, &auth.actor, &juris);
        for card in c.cards.iter().filter(|k| k.counts()) {
            if in_scope(&card.unit) {
                row(&mut rows, &card.unit);
                if let Some(r) = rows.get_mut(card.unit.as_str()) {
                    match card.color {
                        CardColor::Yellow => r.yellow_cards += 1,
                        CardColor::Red => r.red_cards += 1,
                    }
                    if card.status == CardStatus::Appealed {
                        r.appeals_waiting += 1;
                    }
                }
            }
            if card.status == CardStatus::Appealed {
                appeals.push(AppealRow {
                    case_id: &c.id,
                    number: &c.number,
                    card: &card.id,
                    color: card.color,
                    unit_id: &card.unit,
                    unit_name: unit_name(&juris, &card.unit),
                    reason: card.reason.as_str(),
                    appeal_reason: card.appeal_reason.as_deref().map(|t| red.text(t)),
                    issued_at: time(card.issued_at),
                });
            }
        }
        let holder = c.current_unit();
        for s in &c.supervisions {
            if in_scope(holder) {
                row(&mut rows, holder);
                if let Some(r) = rows.get_mut(holder.as_str()) {
                    match s.level {
                        SuperviseLevel::General => r.supervisions.general += 1,
                        SuperviseLevel::Key => r.supervisions.key += 1,
                        SuperviseLevel::Listed => r.supervisions.listed += 1,
                    }
                }
            }
            supervised.push(SupervisedRow {
                case_id: &c.id,
                number: &c.number,
                title: red.text(&c.draft.title),
                unit_id: holder,
                level: s.level,
                level_zh: s.level.name_zh(),
                note: red.text(&s.note),
                due: s.due.map(time),
                at: time(s.at),
            });
        }
    }
    for r in rows.values_mut() {
        r.unit_name = unit_name(&juris, &UnitId::new(r.unit_id.clone()));
    }
    #[derive(Serialize)]
    struct Board<'a> {
        as_of: String,
        units: Vec<UnitRow<'a>>,
        supervised: Vec<SupervisedRow<'a>>,
        appeals: Vec<AppealRow<'a>>,
    }
    Ok(json_body(
        StatusCode::OK,
        &Board {
            as_of: time(now),
            units: rows.into_values().collect(),
            supervised,
            appeals,
        },
    ))
}
