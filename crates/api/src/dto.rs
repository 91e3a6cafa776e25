//! The JSON shapes the API returns. Separate from the domain types: this is where personal data is
//! masked and names are added for display.

use jiesu_domain::case::{GeoPoint, ReplyOutcome, Satisfaction};
use jiesu_domain::{
    Actor, Case, CaseState, Channel, Jurisdiction, Kind, Role, Time, UnitId, Urgency, calendar,
    mask_phone,
};
use jiesu_store::StoredEvent;
use serde::Serialize;
use serde_json::{Value, json};

/// Serializes straight to a response body (no intermediate `Value` tree).
pub fn json_body<T: Serialize>(status: axum::http::StatusCode, v: &T) -> axum::response::Response {
    use axum::response::IntoResponse;
    match serde_json::to_vec(v) {
        Ok(b) => (
            status,
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            b,
        )
            .into_response(),
        Err(e) => crate::problem::ApiError::internal(e).into_response(),
    }
}

pub fn time(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn time_ms(ms: i64) -> Option<String> {
    calendar::from_unix_ms(ms).map(time)
}

/// Whether the actor may see the reporter's identity in full on this case.
pub fn sees_reporter(case: &Case, actor: &Actor, juris: &Jurisdiction) -> bool {
    if case.draft.reporter.user_id.as_deref() == Some(actor.user_id.as_str()) {
        return true;
    }
    let roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| r.sees_reporter_phone())
        .collect();
    case.involved_units
        .iter()
        .chain(case.assigned_unit.iter())
        .any(|u| actor.may_act_on(&juris.org, &roles, u))
}

#[derive(Serialize)]
pub struct UnitRef<'a> {
    id: &'a UnitId,
    name: Option<&'a str>,
}

fn unit_ref<'a>(juris: &'a Jurisdiction, u: &'a UnitId) -> UnitRef<'a> {
    UnitRef {
        id: u,
        name: juris.org.get(u).map(|x| x.name.as_str()),
    }
}

#[derive(Serialize)]
pub struct ReporterView<'a> {
    name: Option<&'a str>,
    phone: Option<String>,
    phone_masked: bool,
    anonymous: bool,
}

#[derive(Serialize)]
pub struct DeadlinesView {
    accept_due: String,
    contact_due: String,
    resolve_due: String,
    resolve_rule: String,
}

#[derive(Serialize)]
pub struct ReplyView<'a> {
    outcome: ReplyOutcome,
    outcome_zh: &'static str,
    text: &'a str,
    reason: Option<&'a str>,
    at: String,
}

#[derive(Serialize)]
pub struct CallbackView<'a> {
    resolved: bool,
    satisfaction: Satisfaction,
    satisfaction_zh: &'static str,
    note: Option<&'a str>,
    at: String,
}

#[derive(Serialize)]
pub struct ExtensionView<'a> {
    working_days: u32,
    reason: &'a str,
    requested_at: String,
}

#[derive(Serialize)]
pub struct SuspensionView<'a> {
    since: String,
    reason: &'a str,
    prior_state: CaseState,
}

/// A case as the API shows it. Typed (not a `json!` tree) because it is on every hot path.
#[derive(Serialize)]
pub struct CaseView<'a> {
    id: &'a str,
    number: &'a str,
    state: CaseState,
    state_zh: &'static str,
    channel: Channel,
    channel_zh: &'static str,
    kind: Kind,
    kind_zh: &'static str,
    category: Option<&'a str>,
    category_name: Option<&'a str>,
    urgency: Urgency,
    urgency_zh: &'static str,
    title: &'a str,
    description: &'a str,
    address: Option<&'a str>,
    location: Option<GeoPoint>,
    reporter: ReporterView<'a>,
    intake_unit: UnitRef<'a>,
    assigned_unit: Option<UnitRef<'a>>,
    co_units: Vec<UnitRef<'a>>,
    waiting_on: Option<UnitRef<'a>>,
    deadlines: Option<DeadlinesView>,
    overdue: bool,
    received_at: String,
    dispatched_at: Option<String>,
    accepted_at: Option<String>,
    contacted_at: Option<String>,
    closed_at: Option<String>,
    updated_at: String,
    direct_answer: Option<&'a str>,
    reply: Option<ReplyView<'a>>,
    callback: Option<CallbackView<'a>>,
    pending_extension: Option<ExtensionView<'a>>,
    extensions_granted: u32,
    suspension: Option<SuspensionView<'a>>,
    reopen_count: u32,
    return_count: u32,
    merged_into: Option<&'a str>,
    version: u64,
}

pub fn case_json<'a>(
    case: &'a Case,
    actor: &Actor,
    juris: &'a Jurisdiction,
    now: Time,
) -> CaseView<'a> {
    let full = sees_reporter(case, actor, juris);
    let r = &case.draft.reporter;
    let hidden = r.anonymous && !actor.has_role(Role::Inspector);
    let d = case.deadlines.as_ref();
    let overdue = case.state.is_open()
        && case.state != CaseState::Suspended
        && d.is_some_and(|d| d.resolve_due < now);
    CaseView {
        id: &case.id,
        number: &case.number,
        state: case.state,
        state_zh: case.state.name_zh(),
        channel: case.draft.channel,
        channel_zh: case.draft.channel.name_zh(),
        kind: case.draft.kind,
        kind_zh: case.draft.kind.name_zh(),
        category: case.draft.category.as_deref(),
        category_name: case
            .draft
            .category
            .as_deref()
            .and_then(|c| juris.categories.get(c))
            .map(|c| c.name.as_str()),
        urgency: case.draft.urgency,
        urgency_zh: case.draft.urgency.name_zh(),
        title: &case.draft.title,
        description: &case.draft.description,
        address: case.draft.address.as_deref(),
        location: case.draft.location,
        reporter: ReporterView {
            name: if hidden {
                Some("匿名")
            } else {
                r.name.as_deref()
            },
            phone: if hidden {
                None
            } else {
                r.phone
                    .as_ref()
                    .map(|p| if full { p.clone() } else { mask_phone(p) })
            },
            phone_masked: hidden || !full,
            anonymous: r.anonymous,
        },
        intake_unit: unit_ref(juris, &case.intake_unit),
        assigned_unit: case.assigned_unit.as_ref().map(|u| unit_ref(juris, u)),
        co_units: case.co_units.iter().map(|u| unit_ref(juris, u)).collect(),
        waiting_on: case.waiting_on().map(|u| unit_ref(juris, u)),
        deadlines: d.map(|d| DeadlinesView {
            accept_due: time(d.accept_due),
            contact_due: time(d.contact_due),
            resolve_due: time(d.resolve_due),
            resolve_rule: d.resolve_span.describe(),
        }),
        overdue,
        received_at: time(case.received_at),
        dispatched_at: case.dispatched_at.map(time),
        accepted_at: case.accepted_at.map(time),
        contacted_at: case.contacted_at.map(time),
        closed_at: case.closed_at.map(time),
        updated_at: time(case.updated_at),
        direct_answer: case.direct_answer.as_deref(),
        reply: case.reply.as_ref().map(|r| ReplyView {
            outcome: r.outcome,
            outcome_zh: r.outcome.name_zh(),
            text: &r.text,
            reason: r.reason.as_deref(),
            at: time(r.at),
        }),
        callback: case.callback.as_ref().map(|c| CallbackView {
            resolved: c.resolved,
            satisfaction: c.satisfaction,
            satisfaction_zh: c.satisfaction.name_zh(),
            note: c.note.as_deref(),
            at: time(c.at),
        }),
        pending_extension: case.pending_extension.as_ref().map(|e| ExtensionView {
            working_days: e.working_days,
            reason: &e.reason,
            requested_at: time(e.requested_at),
        }),
        extensions_granted: case.extensions_granted,
        suspension: case.suspension.as_ref().map(|s| SuspensionView {
            since: time(s.since),
            reason: &s.reason,
            prior_state: s.prior,
        }),
        reopen_count: case.reopen_count,
        return_count: case.return_count,
        merged_into: case.merged_into.as_deref(),
        version: case.version,
    }
}

/// A trail event. Personal data inside `received` is masked the same way as on the case.
pub fn event_json(e: &StoredEvent, mask: bool) -> Value {
    let mut data = e.data.clone();
    if mask
        && let Some(phone) = data.pointer_mut("/draft/reporter/phone")
        && let Some(p) = phone.as_str()
    {
        *phone = Value::String(mask_phone(p));
    }
    json!({
        "seq": e.seq,
        "type": e.kind,
        "actor": {"id": e.actor_id, "name": e.actor_name, "role": e.actor_role},
        "at": time_ms(e.at_ms),
        "data": data,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
        "global_seq": e.global_seq,
    })
}
