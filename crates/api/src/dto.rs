//! The JSON shapes the API returns. Separate from the domain types: this is where personal data is
//! masked and names are added for display.

use jiesu_domain::{Actor, Case, Jurisdiction, Role, Time, UnitId, calendar, mask_phone};
use jiesu_store::StoredEvent;
use serde_json::{Value, json};

pub fn time(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

pub fn time_ms(ms: i64) -> Option<String> {
    calendar::from_unix_ms(ms).map(time)
}

fn unit(juris: &Jurisdiction, u: &UnitId) -> Value {
    json!({"id": u, "name": juris.org.get(u).map(|x| x.name.clone())})
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

pub fn case_json(case: &Case, actor: &Actor, juris: &Jurisdiction, now: Time) -> Value {
    let full = sees_reporter(case, actor, juris);
    let r = &case.draft.reporter;
    let hidden = r.anonymous && !actor.has_role(Role::Inspector);
    let reporter = json!({
        "name": if hidden { Some("匿名".to_string()) } else { r.name.clone() },
        "phone": if hidden { None } else { r.phone.as_ref().map(|p| if full { p.clone() } else { mask_phone(p) }) },
        "phone_masked": hidden || !full,
        "anonymous": r.anonymous,
    });
    let d = case.deadlines.as_ref();
    let overdue = case.state.is_open()
        && case.state != jiesu_domain::CaseState::Suspended
        && d.is_some_and(|d| d.resolve_due < now);
    json!({
        "id": case.id,
        "number": case.number,
        "state": case.state,
        "state_zh": case.state.name_zh(),
        "channel": case.draft.channel,
        "channel_zh": case.draft.channel.name_zh(),
        "kind": case.draft.kind,
        "kind_zh": case.draft.kind.name_zh(),
        "category": case.draft.category,
        "category_name": case.draft.category.as_deref().and_then(|c| juris.categories.get(c)).map(|c| c.name.clone()),
        "urgency": case.draft.urgency,
        "urgency_zh": case.draft.urgency.name_zh(),
        "title": case.draft.title,
        "description": case.draft.description,
        "address": case.draft.address,
        "location": case.draft.location,
        "reporter": reporter,
        "intake_unit": unit(juris, &case.intake_unit),
        "assigned_unit": case.assigned_unit.as_ref().map(|u| unit(juris, u)),
        "co_units": case.co_units.iter().map(|u| unit(juris, u)).collect::<Vec<_>>(),
        "waiting_on": case.waiting_on().map(|u| unit(juris, u)),
        "deadlines": d.map(|d| json!({
            "accept_due": time(d.accept_due),
            "contact_due": time(d.contact_due),
            "resolve_due": time(d.resolve_due),
            "resolve_rule": d.resolve_span.describe(),
        })),
        "overdue": overdue,
        "received_at": time(case.received_at),
        "dispatched_at": case.dispatched_at.map(time),
        "accepted_at": case.accepted_at.map(time),
        "contacted_at": case.contacted_at.map(time),
        "closed_at": case.closed_at.map(time),
        "updated_at": time(case.updated_at),
        "direct_answer": case.direct_answer,
        "reply": case.reply.as_ref().map(|r| json!({"outcome": r.outcome, "outcome_zh": r.outcome.name_zh(), "text": r.text, "reason": r.reason, "at": time(r.at)})),
        "callback": case.callback.as_ref().map(|c| json!({"resolved": c.resolved, "satisfaction": c.satisfaction, "satisfaction_zh": c.satisfaction.name_zh(), "note": c.note, "at": time(c.at)})),
        "pending_extension": case.pending_extension.as_ref().map(|e| json!({"working_days": e.working_days, "reason": e.reason, "requested_at": time(e.requested_at)})),
        "extensions_granted": case.extensions_granted,
        "suspension": case.suspension.as_ref().map(|s| json!({"since": time(s.since), "reason": s.reason, "prior_state": s.prior})),
        "reopen_count": case.reopen_count,
        "return_count": case.return_count,
        "merged_into": case.merged_into,
        "version": case.version,
    })
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
