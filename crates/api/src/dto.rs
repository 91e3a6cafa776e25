//! The JSON shapes the API returns. Separate from the domain types: this is where personal data is
//! masked and names are added for display.

use std::borrow::Cow;

use jiesu_domain::actor::{Disclosure, Reveal, disclosure, mask_name};
use jiesu_domain::case::{GeoPoint, ReplyOutcome, Reporter, Satisfaction};
use jiesu_domain::{
    Actor, Case, CaseEvent, CaseState, Channel, Jurisdiction, Kind, Time, UnitId, Urgency,
    calendar, mask_phone,
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

/// The reporter's personal data as one viewer may see it ([`disclosure`]), applied to every
/// output of a case: the case view, lists, the worklist, the trail, and free text quoting the
/// reporter's name or number (a description, a note, an annotation).
pub struct Redactor<'a> {
    pub disclosure: Disclosure,
    reporter: &'a Reporter,
    /// The viewer may see the data in full, but only by asking (`POST /cases/{id}/reveal`),
    /// which is audited: until then it reads masked.
    pub revealable: bool,
}

impl<'a> Redactor<'a> {
    /// How a case shows in views, lists and the trail: staff entitled to the reporter's data see
    /// it masked and may reveal it; the reporter sees his own.
    pub fn new(case: &'a Case, actor: &Actor, juris: &Jurisdiction) -> Self {
        let mut d = disclosure(case, actor, &juris.org);
        let own = case.draft.reporter.user_id.as_deref() == Some(actor.user_id.as_str());
        let revealable = !own
            && d.phone == Reveal::Full
            && (case.draft.reporter.phone.is_some() || case.draft.reporter.name.is_some());
        if !own && d.phone == Reveal::Full {
            d.name = Reveal::Masked;
            d.phone = Reveal::Masked;
        }
        Redactor {
            disclosure: d,
            reporter: &case.draft.reporter,
            revealable,
        }
    }

    /// For anyone at all (the public Open311 reads): the reporter's name and number never show.
    pub fn public(case: &'a Case) -> Self {
        Redactor {
            disclosure: Disclosure {
                name: Reveal::Hidden,
                phone: Reveal::Hidden,
                internal: false,
            },
            reporter: &case.draft.reporter,
            revealable: false,
        }
    }

    /// For the caller's own work list of reporters to call back: the data as
    /// [`disclosure`] allows it, unmasked for the roles that call.
    pub fn for_calling(case: &'a Case, actor: &Actor, juris: &Jurisdiction) -> Self {
        Redactor {
            disclosure: disclosure(case, actor, &juris.org),
            reporter: &case.draft.reporter,
            revealable: false,
        }
    }

    /// Whether the viewer sees the case's working record or only its progress (its reporter).
    pub fn internal(&self) -> bool {
        self.disclosure.internal
    }

    pub fn name(&self) -> Option<Cow<'a, str>> {
        let name = self.reporter.name.as_deref();
        match self.disclosure.name {
            Reveal::Full => name.map(Cow::Borrowed),
            Reveal::Masked => name.map(|n| Cow::Owned(mask_name(n))),
            Reveal::Hidden => self.reporter.anonymous.then_some(Cow::Borrowed(ANONYMOUS)),
        }
    }

    pub fn phone(&self) -> Option<Cow<'a, str>> {
        let phone = self.reporter.phone.as_deref();
        match self.disclosure.phone {
            Reveal::Full => phone.map(Cow::Borrowed),
            Reveal::Masked => phone.map(|p| Cow::Owned(mask_phone(p))),
            Reveal::Hidden => None,
        }
    }

    /// `s` with the reporter's name and number replaced as the viewer must see them. A one-
    /// character name is left alone in free text: it cannot be told from an ordinary word.
    pub fn text<'t>(&self, s: &'t str) -> Cow<'t, str> {
        let mut out = Cow::Borrowed(s);
        if self.full() {
            return out;
        }
        if let Some(n) = &self.reporter.name
            && n.chars().count() > 1
            && out.contains(n.as_str())
        {
            let with = match self.disclosure.name {
                Reveal::Full => None,
                Reveal::Masked => Some(mask_name(n)),
                Reveal::Hidden => Some(ANONYMOUS.to_string()),
            };
            if let Some(with) = with {
                out = Cow::Owned(out.replace(n.as_str(), &with));
            }
        }
        if let Some(p) = &self.reporter.phone
            && !p.is_empty()
            && out.contains(p.as_str())
        {
            let with = match self.disclosure.phone {
                Reveal::Full => None,
                Reveal::Masked => Some(mask_phone(p)),
                Reveal::Hidden => Some("*".repeat(p.chars().count())),
            };
            if let Some(with) = with {
                out = Cow::Owned(out.replace(p.as_str(), &with));
            }
        }
        out
    }

    /// Whether the viewer sees the reporter's name and number as they are.
    fn full(&self) -> bool {
        self.disclosure.name == Reveal::Full && self.disclosure.phone == Reveal::Full
    }

    fn opt_text<'t>(&self, s: Option<&'t str>) -> Option<Cow<'t, str>> {
        s.map(|s| self.text(s))
    }

    /// Every string inside `v`, through [`Redactor::text`].
    fn scrub(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Cow::Owned(t) = self.text(s) {
                    *s = t;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| self.scrub(v)),
            Value::Object(o) => o.values_mut().for_each(|v| self.scrub(v)),
            _ => {}
        }
    }

    /// The `received` event's reporter, as the case view shows it.
    fn reporter_json(&self) -> Value {
        json!({
            "name": self.name(),
            "phone": self.phone(),
            "anonymous": self.reporter.anonymous,
        })
    }
}

/// What stands for an anonymous reporter's identity.
const ANONYMOUS: &str = "匿名";

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
    name: Option<Cow<'a, str>>,
    phone: Option<Cow<'a, str>>,
    name_masked: bool,
    phone_masked: bool,
    anonymous: bool,
    /// `POST /cases/{id}/reveal` shows the caller the data in full (and records that he did).
    revealable: bool,
}

#[derive(Serialize)]
pub struct DeadlinesView {
    accept_due: String,
    contact_due: String,
    resolve_due: String,
    resolve_rule: String,
    resolve_rule_zh: String,
    /// Counted on a year whose holiday notice is not installed yet: may move when it is.
    provisional: bool,
}

#[derive(Serialize)]
pub struct ReplyView<'a> {
    outcome: ReplyOutcome,
    outcome_zh: &'static str,
    text: Cow<'a, str>,
    reason: Option<Cow<'a, str>>,
    at: String,
}

#[derive(Serialize)]
pub struct CallbackView<'a> {
    resolved: bool,
    satisfaction: Satisfaction,
    satisfaction_zh: &'static str,
    /// The operator's note: staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<Cow<'a, str>>,
    at: String,
}

#[derive(Serialize)]
pub struct ExtensionView<'a> {
    working_days: u32,
    reason: Cow<'a, str>,
    requested_at: String,
}

#[derive(Serialize)]
pub struct SuspensionView<'a> {
    since: String,
    reason: Cow<'a, str>,
    prior_state: CaseState,
}

/// A case as the API shows it. Typed (not a `json!` tree) because it is on every hot path. The
/// reporting citizen gets the same shape without `internal`'s fields (the case's progress only).
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
    title: Cow<'a, str>,
    description: Cow<'a, str>,
    address: Option<Cow<'a, str>>,
    location: Option<GeoPoint>,
    reporter: ReporterView<'a>,
    intake_unit: UnitRef<'a>,
    assigned_unit: Option<UnitRef<'a>>,
    deadlines: Option<DeadlinesView>,
    overdue: bool,
    received_at: String,
    dispatched_at: Option<String>,
    accepted_at: Option<String>,
    contacted_at: Option<String>,
    closed_at: Option<String>,
    updated_at: String,
    direct_answer: Option<Cow<'a, str>>,
    /// For the reporting citizen, only a reply the dispatch centre approved.
    reply: Option<ReplyView<'a>>,
    callback: Option<CallbackView<'a>>,
    #[serde(flatten)]
    internal: Option<InternalView<'a>>,
    /// On a single case (`GET`, a command's answer): the commands the caller may give now
    /// (`Case::allowed_commands`), so a console offers only those.
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed_commands: Option<Vec<&'static str>>,
}

/// The working record of a case: staff in scope only.
#[derive(Serialize)]
pub struct InternalView<'a> {
    co_units: Vec<UnitRef<'a>>,
    waiting_on: Option<UnitRef<'a>>,
    pending_extension: Option<ExtensionView<'a>>,
    extensions_granted: u32,
    suspension: Option<SuspensionView<'a>>,
    reopen_count: u32,
    return_count: u32,
    merged_into: Option<&'a str>,
    /// 吹哨报到: the unit whose reply completes the case, and every summoned unit's progress.
    lead: Option<UnitRef<'a>>,
    summons: Vec<SummonsView<'a>>,
    supervisions: Vec<SupervisionView<'a>>,
    reminders: u32,
    cards: Vec<CardView<'a>>,
    callback_attempts: u32,
    version: u64,
}

#[derive(Serialize)]
pub struct SummonsView<'a> {
    unit: UnitRef<'a>,
    summoned_at: String,
    report_in_due: String,
    reported_at: Option<String>,
    part: Option<Cow<'a, str>>,
}

#[derive(Serialize)]
pub struct SupervisionView<'a> {
    level: jiesu_domain::supervision::SuperviseLevel,
    level_zh: &'static str,
    note: Cow<'a, str>,
    due: Option<String>,
    at: String,
}

#[derive(Serialize)]
pub struct CardView<'a> {
    id: &'a str,
    color: jiesu_domain::supervision::CardColor,
    color_zh: &'static str,
    unit: UnitRef<'a>,
    reason: jiesu_domain::supervision::CardReason,
    reason_zh: &'static str,
    due: Option<String>,
    issued_at: String,
    status: jiesu_domain::supervision::CardStatus,
    status_zh: &'static str,
    appeal_reason: Option<Cow<'a, str>>,
    decision_reason: Option<Cow<'a, str>>,
}

/// [`case_json`] with the commands the caller may give now.
pub fn case_json_full<'a>(
    case: &'a Case,
    actor: &Actor,
    juris: &'a Jurisdiction,
    now: Time,
) -> CaseView<'a> {
    let mut v = case_json(case, actor, juris, now);
    v.allowed_commands = Some(case.allowed_commands(actor, now, &juris.ctx()));
    v
}

pub fn case_json<'a>(
    case: &'a Case,
    actor: &Actor,
    juris: &'a Jurisdiction,
    now: Time,
) -> CaseView<'a> {
    let red = Redactor::new(case, actor, juris);
    let internal = red.internal();
    let r = &case.draft.reporter;
    let d = case.deadlines.as_ref();
    let overdue = case.state.is_open()
        && case.state != CaseState::Suspended
        && d.is_some_and(|d| d.resolve_due < now);
    // A reply is the citizen's once approved: a rejected one is redone, not shown.
    let reply_public = matches!(case.state, CaseState::AwaitingCallback | CaseState::Closed);
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
        title: red.text(&case.draft.title),
        description: red.text(&case.draft.description),
        address: red.opt_text(case.draft.address.as_deref()),
        location: case.draft.location,
        reporter: ReporterView {
            name: red.name(),
            phone: red.phone(),
            name_masked: red.disclosure.name != Reveal::Full,
            phone_masked: red.disclosure.phone != Reveal::Full,
            anonymous: r.anonymous,
            revealable: red.revealable,
        },
        intake_unit: unit_ref(juris, &case.intake_unit),
        assigned_unit: case.assigned_unit.as_ref().map(|u| unit_ref(juris, u)),
        deadlines: d.map(|d| DeadlinesView {
            accept_due: time(d.accept_due),
            contact_due: time(d.contact_due),
            resolve_due: time(d.resolve_due),
            resolve_rule: d.resolve_span.describe(),
            resolve_rule_zh: d.resolve_span.describe_zh(),
            provisional: d.provisional,
        }),
        overdue,
        received_at: time(case.received_at),
        dispatched_at: case.dispatched_at.map(time),
        accepted_at: case.accepted_at.map(time),
        contacted_at: case.contacted_at.map(time),
        closed_at: case.closed_at.map(time),
        updated_at: time(case.updated_at),
        direct_answer: red.opt_text(case.direct_answer.as_deref()),
        reply: case
            .reply
            .as_ref()
            .filter(|_| internal || reply_public)
            .map(|r| reply_view(&red, r.outcome, &r.text, r.reason.as_deref(), r.at)),
        callback: case.callback.as_ref().map(|c| CallbackView {
            resolved: c.resolved,
            satisfaction: c.satisfaction,
            satisfaction_zh: c.satisfaction.name_zh(),
            note: red.opt_text(c.note.as_deref().filter(|_| internal)),
            at: time(c.at),
        }),
        internal: internal.then(|| InternalView {
            co_units: case.co_units.iter().map(|u| unit_ref(juris, u)).collect(),
            waiting_on: case.waiting_on().map(|u| unit_ref(juris, u)),
            pending_extension: case.pending_extension.as_ref().map(|e| ExtensionView {
                working_days: e.working_days,
                reason: red.text(&e.reason),
                requested_at: time(e.requested_at),
            }),
            extensions_granted: case.extensions_granted,
            suspension: case.suspension.as_ref().map(|s| SuspensionView {
                since: time(s.since),
                reason: red.text(&s.reason),
                prior_state: s.prior,
            }),
            reopen_count: case.reopen_count,
            return_count: case.return_count,
            merged_into: case.merged_into.as_deref(),
            lead: case.lead.as_ref().map(|u| unit_ref(juris, u)),
            summons: case
                .summons
                .iter()
                .map(|s| SummonsView {
                    unit: unit_ref(juris, &s.unit),
                    summoned_at: time(s.summoned_at),
                    report_in_due: time(s.report_in_due),
                    reported_at: s.reported_at.map(time),
                    part: red.opt_text(s.part.as_deref()),
                })
                .collect(),
            supervisions: case
                .supervisions
                .iter()
                .map(|s| SupervisionView {
                    level: s.level,
                    level_zh: s.level.name_zh(),
                    note: red.text(&s.note),
                    due: s.due.map(time),
                    at: time(s.at),
                })
                .collect(),
            reminders: case.reminders,
            cards: case
                .cards
                .iter()
                .map(|c| CardView {
                    id: &c.id,
                    color: c.color,
                    color_zh: c.color.name_zh(),
                    unit: unit_ref(juris, &c.unit),
                    reason: c.reason,
                    reason_zh: c.reason.name_zh(),
                    due: c.due.map(time),
                    issued_at: time(c.issued_at),
                    status: c.status,
                    status_zh: c.status.name_zh(),
                    appeal_reason: red.opt_text(c.appeal_reason.as_deref()),
                    decision_reason: red.opt_text(c.decision_reason.as_deref()),
                })
                .collect(),
            callback_attempts: case.callback_attempts,
            version: case.version,
        }),
        allowed_commands: None,
    }
}

fn reply_view<'a>(
    red: &Redactor<'_>,
    outcome: ReplyOutcome,
    text: &'a str,
    reason: Option<&'a str>,
    at: Time,
) -> ReplyView<'a> {
    ReplyView {
        outcome,
        outcome_zh: outcome.name_zh(),
        text: red.text(text),
        reason: red.opt_text(reason),
        at: time(at),
    }
}

/// A case's trail as the viewer may see it: staff in scope get every event with the reporter's
/// data disclosed as on the case; the reporting citizen gets [`citizen_timeline`].
pub fn timeline_json(
    case: &Case,
    events: &[StoredEvent],
    actor: &Actor,
    juris: &Jurisdiction,
) -> Result<Vec<Value>, serde_json::Error> {
    let red = Redactor::new(case, actor, juris);
    if !red.internal() {
        return citizen_timeline(case, events, &red, juris);
    }
    Ok(events.iter().map(|e| event_json(e, &red, case)).collect())
}

/// A case as the public tracking page shows it to whoever holds its number and the reporter's
/// phone: progress only, the reporter's own data masked (the request carries no login).
pub fn tracking_json(
    case: &Case,
    events: &[StoredEvent],
    juris: &Jurisdiction,
) -> Result<Value, serde_json::Error> {
    let red = Redactor {
        disclosure: Disclosure {
            name: Reveal::Masked,
            phone: Reveal::Masked,
            internal: false,
        },
        reporter: &case.draft.reporter,
        revealable: false,
    };
    let approved = matches!(case.state, CaseState::AwaitingCallback | CaseState::Closed);
    Ok(json!({
        "number": case.number,
        "state": case.state,
        "state_zh": case.state.name_zh(),
        "title": red.text(&case.draft.title),
        "category_name": case.draft.category.as_deref()
            .and_then(|c| juris.categories.get(c)).map(|c| c.name.clone()),
        "received_at": time(case.received_at),
        "unit": case.assigned_unit.as_ref().map(|u| unit_ref(juris, u)),
        "closed_at": case.closed_at.map(time),
        "reply": case.reply.as_ref().filter(|_| approved).map(|r| json!({
            "outcome": r.outcome, "outcome_zh": r.outcome.name_zh(), "text": red.text(&r.text),
        })),
        "timeline": citizen_timeline(case, events, &red, juris)?,
    }))
}

/// A trail event for staff. The `received` event's reporter is disclosed as on the case, the
/// reporting citizen (as the event's actor) likewise, and every text quoting him is redacted.
fn event_json(e: &StoredEvent, red: &Redactor<'_>, case: &Case) -> Value {
    let full = red.full();
    let mut data = e.data.clone();
    let by_reporter = case.draft.reporter.user_id.as_deref() == Some(e.actor_id.as_str());
    let mut actor = json!({"id": e.actor_id, "name": e.actor_name, "role": e.actor_role});
    if !full {
        if let Some(rep) = data.pointer_mut("/draft/reporter") {
            *rep = red.reporter_json();
        }
        red.scrub(&mut data);
        if by_reporter {
            // A citizen reporting online is the event's actor: his account is his identity.
            actor = json!({"id": null, "name": red.name(), "role": e.actor_role});
        }
    }
    json!({
        "seq": e.seq,
        "type": e.kind,
        "actor": actor,
        "at": time_ms(e.at_ms),
        "data": data,
        "prev_hash": e.prev_hash,
        "hash": e.hash,
        "global_seq": e.global_seq,
    })
}

/// The reporting citizen's trail: the case's progress (each step's time and the state it led
/// to), the unit handling it, the direct answer, the approved reply and the callback. Not
/// notes, annotations, return or rejection reasons, reviews, extension or suspension reasons,
/// staff names or ids, hashes.
fn citizen_timeline(
    case: &Case,
    events: &[StoredEvent],
    red: &Redactor<'_>,
    juris: &Jurisdiction,
) -> Result<Vec<Value>, serde_json::Error> {
    let mut out = Vec::new();
    let mut progress: Option<Case> = None;
    for e in events {
        let ev: CaseEvent = serde_json::from_value(e.data.clone())?;
        let Some(at) = calendar::from_unix_ms(e.at_ms) else {
            continue;
        };
        match progress.as_mut() {
            Some(c) => c.evolve(&ev, at),
            None => progress = Case::from_received(case.id.clone(), &ev, at),
        }
        let Some(now) = progress.as_ref() else {
            continue;
        };
        let extra = match &ev {
            CaseEvent::Received { .. }
            | CaseEvent::Accepted { .. }
            | CaseEvent::Contacted { .. }
            | CaseEvent::Closed { .. }
            | CaseEvent::Reopened { .. }
            | CaseEvent::ExtensionApproved { .. }
            | CaseEvent::Suspended { .. }
            | CaseEvent::Resumed { .. }
            | CaseEvent::Merged { .. } => json!({}),
            CaseEvent::AnsweredDirectly { answer } => json!({"answer": red.text(answer)}),
            CaseEvent::Dispatched { unit, .. } | CaseEvent::Redispatched { to: unit, .. } => {
                json!({"unit": unit_ref(juris, unit)})
            }
            CaseEvent::ReplyApproved { .. } => match &now.reply {
                Some(r) => {
                    json!({"reply": reply_view(red, r.outcome, &r.text, r.reason.as_deref(), r.at)})
                }
                None => json!({}),
            },
            CaseEvent::CallbackRecorded {
                resolved,
                satisfaction,
                ..
            } => json!({
                "resolved": resolved,
                "satisfaction": satisfaction,
                "satisfaction_zh": satisfaction.name_zh(),
            }),
            // The working record (returns, replies before review, rejections, extension
            // requests and denials, annotations) and any event added later: not the citizen's
            // until it is listed above.
            _ => continue,
        };
        let mut entry = json!({
            "type": ev.type_name(),
            "at": time_ms(e.at_ms),
            "state": now.state,
            "state_zh": now.state.name_zh(),
        });
        if let (Value::Object(m), Value::Object(x)) = (&mut entry, extra) {
            m.extend(x);
        }
        out.push(entry);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiesu_domain::case::{ReviewDecision, Satisfaction};
    use jiesu_domain::{
        CalendarYear, CaseDraft, Command, Grant, OfficeHours, OrgTree, OrgUnit, Role, UnitKind,
        WorkCalendar,
    };

    fn juris() -> Jurisdiction {
        let u = |id: &str, p: Option<&str>, kind| OrgUnit {
            id: UnitId::new(id),
            parent: p.map(UnitId::new),
            kind,
            name: id.into(),
        };
        let mut calendar = WorkCalendar::new(OfficeHours::default());
        calendar.add_year(
            CalendarYear::parse_toml(include_str!("../../../calendar/2026.toml")).unwrap(),
        );
        Jurisdiction {
            org: OrgTree::new(vec![
                u("county", None, UnitKind::County),
                u("deptA", Some("county"), UnitKind::Department),
            ])
            .unwrap(),
            calendar,
            ..Default::default()
        }
    }

    fn actor(id: &str, role: Role, unit: &str) -> Actor {
        Actor {
            user_id: id.into(),
            username: id.into(),
            display_name: format!("{id}的姓名"),
            grants: vec![Grant {
                role,
                unit: UnitId::new(unit),
            }],
        }
    }

    /// A citizen's case through a return, a rejected reply, notes and an annotation.
    fn lived_case(j: &Jurisdiction) -> (Case, Vec<StoredEvent>) {
        let cit = actor("cit", Role::Citizen, "county");
        let disp = actor("staff-d1", Role::Dispatcher, "county");
        let hand = actor("staff-h1", Role::Handler, "deptA");
        let draft = CaseDraft {
            channel: Channel::Web,
            kind: Kind::Complaint,
            category: None,
            urgency: Urgency::Normal,
            title: "路灯不亮".into(),
            description: String::new(),
            address: None,
            location: None,
            reporter: Reporter::default(),
        };
        let at = |m: i64| calendar::from_unix_ms(1_781_053_200_000 + m * 60_000).unwrap();
        let first = Case::intake("20260610000001".into(), draft, &cit, &j.ctx()).unwrap();
        let mut case = Case::from_received("c1".into(), &first, at(0)).unwrap();
        let mut events = vec![(first, &cit, at(0))];
        let note = |s: &str| Some(s.to_string());
        let steps: Vec<(&Actor, Command)> = vec![
            (
                &disp,
                Command::Dispatch {
                    unit: UnitId::new("deptA"),
                    co_units: vec![],
                    note: note("内部派单备注"),
                },
            ),
            (
                &hand,
                Command::Return {
                    reason: "不属于本部门职责".into(),
                },
            ),
            (
                &disp,
                Command::Dispatch {
                    unit: UnitId::new("deptA"),
                    co_units: vec![],
                    note: None,
                },
            ),
            (&hand, Command::Accept { note: None }),
            (
                &hand,
                Command::Contact {
                    note: note("联系备注"),
                },
            ),
            (
                &hand,
                Command::Reply {
                    outcome: ReplyOutcome::Resolved,
                    text: "第一次答复".into(),
                    reason: None,
                },
            ),
            (
                &disp,
                Command::Review {
                    decision: ReviewDecision::Reject,
                    comment: note("答复不充分"),
                },
            ),
            (
                &hand,
                Command::Reply {
                    outcome: ReplyOutcome::Resolved,
                    text: "已更换灯泡".into(),
                    reason: None,
                },
            ),
            (
                &disp,
                Command::Review {
                    decision: ReviewDecision::Approve,
                    comment: note("审核意见"),
                },
            ),
            (
                &disp,
                Command::Annotate {
                    text: "内部批注".into(),
                },
            ),
            (
                &disp,
                Command::Callback {
                    unit_at_fault: None,
                    resolved: true,
                    satisfaction: Satisfaction::Satisfied,
                    note: note("回访备注"),
                },
            ),
        ];
        for (i, (who, cmd)) in steps.into_iter().enumerate() {
            let t = at(i as i64 + 1);
            for ev in case.apply(&cmd, who, t, &j.ctx()).unwrap() {
                case.evolve(&ev, t);
                events.push((ev, who, t));
            }
        }
        let stored = events
            .into_iter()
            .enumerate()
            .map(|(i, (ev, who, t))| StoredEvent {
                seq: i as i64 + 1,
                kind: ev.type_name().into(),
                actor_id: who.user_id.clone(),
                actor_name: who.display_name.clone(),
                actor_role: who.primary_role().as_str().into(),
                at_ms: t.timestamp_millis(),
                data: serde_json::to_value(&ev).unwrap(),
                prev_hash: "p".repeat(64),
                hash: "h".repeat(64),
                global_seq: i as i64 + 1,
            })
            .collect();
        (case, stored)
    }

    const INTERNAL: &[&str] = &[
        "内部派单备注",
        "不属于本部门职责",
        "联系备注",
        "第一次答复",
        "答复不充分",
        "审核意见",
        "内部批注",
        "回访备注",
        "staff-",
        "的姓名",
        "hhhh",
    ];

    #[test]
    fn the_citizen_follows_progress_not_the_working_record() {
        let j = juris();
        let (case, events) = lived_case(&j);
        assert_eq!(case.state, CaseState::Closed);
        let cit = actor("cit", Role::Citizen, "county");
        let mine = timeline_json(&case, &events, &cit, &j).unwrap();
        let types: Vec<&str> = mine.iter().map(|e| e["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            [
                "received",
                "dispatched",
                "dispatched",
                "accepted",
                "contacted",
                "reply_approved",
                "callback_recorded",
                "closed"
            ]
        );
        assert_eq!(mine[5]["reply"]["text"], "已更换灯泡");
        assert_eq!(mine[5]["state"], "awaiting_callback");
        assert_eq!(mine[7]["state"], "closed");
        let all = serde_json::to_string(&mine).unwrap();
        let view = serde_json::to_string(&case_json(&case, &cit, &j, case.updated_at)).unwrap();
        for s in INTERNAL {
            assert!(!all.contains(s), "{s} in the citizen's timeline: {all}");
            assert!(!view.contains(s), "{s} in the citizen's case: {view}");
        }
        assert!(view.contains("已更换灯泡"));
        // Staff in scope read the whole record.
        let disp = actor("staff-d1", Role::Dispatcher, "county");
        let staff =
            serde_json::to_string(&timeline_json(&case, &events, &disp, &j).unwrap()).unwrap();
        for s in INTERNAL {
            assert!(staff.contains(s), "{s} missing from the staff timeline");
        }
    }
}
