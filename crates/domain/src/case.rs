//! The case (工单) and its lifecycle. `Case::apply` is the only way a case changes: it checks the
//! actor's role, the org scope and the state, and returns events; `Case::evolve` folds an event into
//! the state. Both are pure.

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::calendar::{CalendarError, Time, WorkCalendar};
use crate::category::CategoryTree;
use crate::deadline::{DeadlinePolicy, Deadlines, Span};
use crate::org::{OrgTree, UnitId};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal / $zh:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $($name::$variant => $s),+ } }
            pub fn name_zh(self) -> &'static str { match self { $($name::$variant => $zh),+ } }
            pub fn parse(s: &str) -> Option<Self> { match s { $($s => Some($name::$variant),)+ _ => None } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// Where a case came from (渠道).
    Channel {
        Hotline = "hotline" / "12345热线",
        Web = "web" / "网站",
        Mobile = "mobile" / "移动端",
        Open311 = "open311" / "Open311",
        GridPatrol = "grid_patrol" / "网格巡查",
        Enterprise = "enterprise" / "企业诉求",
        Project = "project" / "重点项目",
        Monitor = "monitor" / "智慧监管",
        Whistleblower = "whistleblower" / "监督一点通",
        Supervision = "supervision" / "督查督办",
    }
);

string_enum!(
    /// 诉求类型.
    Kind {
        Complaint = "complaint" / "投诉",
        Request = "request" / "求助",
        Inquiry = "inquiry" / "咨询",
        Suggestion = "suggestion" / "建议",
        Report = "report" / "举报",
        Praise = "praise" / "表扬",
        Hazard = "hazard" / "隐患",
        EnterpriseDemand = "enterprise_demand" / "企业诉求",
        ProjectIssue = "project_issue" / "项目难题",
        Alarm = "alarm" / "监测告警",
    }
);

string_enum!(
    Urgency {
        Normal = "normal" / "一般",
        Urgent = "urgent" / "紧急",
        Critical = "critical" / "特急",
    }
);

string_enum!(
    CaseState {
        Received = "received" / "已受理",
        Dispatched = "dispatched" / "已派单",
        Accepted = "accepted" / "已签收",
        InProgress = "in_progress" / "办理中",
        Replied = "replied" / "已反馈",
        AwaitingCallback = "awaiting_callback" / "待回访",
        Closed = "closed" / "已办结",
        Suspended = "suspended" / "已挂起",
        Merged = "merged" / "已合并",
    }
);

string_enum!(
    ReplyOutcome {
        Resolved = "resolved" / "已解决",
        Explained = "explained" / "已解释",
        Unresolvable = "unresolvable" / "暂无法解决",
    }
);

string_enum!(
    Satisfaction {
        Satisfied = "satisfied" / "满意",
        BasicallySatisfied = "basically_satisfied" / "基本满意",
        Unsatisfied = "unsatisfied" / "不满意",
        Unreachable = "unreachable" / "联系不上",
    }
);

string_enum!(
    ReviewDecision {
        Approve = "approve" / "通过",
        Reject = "reject" / "退回重办",
    }
);

impl CaseState {
    /// Open cases are on someone's worklist.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseState::Closed | CaseState::Merged)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lon: f64,
    pub lat: f64,
}

/// 诉求人. The phone is personal data: shown masked unless the role may see it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reporter {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub anonymous: bool,
    /// The citizen account that reported it, when reported online.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// What intake records: everything a case is, before anyone acts on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDraft {
    pub channel: Channel,
    pub kind: Kind,
    pub category: Option<String>,
    pub urgency: Urgency,
    pub title: String,
    pub description: String,
    pub address: Option<String>,
    pub location: Option<GeoPoint>,
    pub reporter: Reporter,
}

/// Limits on intake fields, in characters.
pub const MAX_TITLE: usize = 100;
pub const MAX_DESCRIPTION: usize = 5000;
pub const MAX_ADDRESS: usize = 200;
pub const MAX_NAME: usize = 50;
pub const MAX_NOTE: usize = 2000;

/// The day a case number counts in: the day it was received, `YYYYMMDD` (Beijing time, as `at` is).
pub fn number_day(at: Time) -> String {
    at.format("%Y%m%d").to_string()
}

/// 工单编号: the day, then the case's sequence within it, at least six digits.
pub fn case_number(day: &str, seq: i64) -> String {
    format!("{day}{seq:06}")
}

/// The day and sequence of a number made by [`case_number`].
pub fn parse_case_number(number: &str) -> Option<(&str, i64)> {
    let (day, seq) = number.split_at_checked(8)?;
    Some((day, seq.parse().ok()?))
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DomainError {
    /// The actor may not give this command (role or org scope).
    #[error("forbidden: {message}")]
    Forbidden { code: &'static str, message: String },
    /// The case's state does not allow this command.
    #[error("command {command} is not allowed in state {state}")]
    WrongState {
        command: &'static str,
        state: CaseState,
    },
    /// The state allows the command in general, but something about the case forbids it now.
    #[error("conflict: {message}")]
    Conflict { code: &'static str, message: String },
    #[error("invalid {field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

fn forbidden(code: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::Forbidden {
        code,
        message: message.into(),
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        field,
        message: message.into(),
    }
}

fn check_text(field: &'static str, s: &str, max: usize, required: bool) -> Result<(), DomainError> {
    if required && s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    let n = s.chars().count();
    if n > max {
        return Err(invalid(
            field,
            format!("{n} characters, at most {max} allowed"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

fn check_opt(field: &'static str, s: &Option<String>, max: usize) -> Result<(), DomainError> {
    match s {
        Some(s) => check_text(field, s, max, false),
        None => Ok(()),
    }
}

fn required(field: &'static str, s: &Option<String>, max: usize) -> Result<(), DomainError> {
    match s {
        Some(s) => check_text(field, s, max, true),
        None => Err(invalid(field, "is required")),
    }
}

impl CaseDraft {
    pub fn validate(&self, categories: &CategoryTree) -> Result<(), DomainError> {
        check_text("title", &self.title, MAX_TITLE, true)?;
        check_text("description", &self.description, MAX_DESCRIPTION, false)?;
        check_opt("address", &self.address, MAX_ADDRESS)?;
        check_opt("reporter.name", &self.reporter.name, MAX_NAME)?;
        if let Some(p) = &self.reporter.phone {
            let ok = (3..=20).contains(&p.len())
                && p.chars()
                    .all(|c| c.is_ascii_digit() || c == '-' || c == '+');
            if !ok {
                return Err(invalid("reporter.phone", "3 to 20 digits, '-' or '+'"));
            }
        }
        if let Some(c) = &self.category
            && categories.get(c).is_none()
        {
            return Err(invalid("category", format!("unknown category {c:?}")));
        }
        if let Some(p) = self.location {
            let ok = p.lon.is_finite()
                && p.lat.is_finite()
                && (-180.0..=180.0).contains(&p.lon)
                && (-90.0..=90.0).contains(&p.lat);
            if !ok {
                return Err(invalid("location", "lon in [-180, 180], lat in [-90, 90]"));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    pub outcome: ReplyOutcome,
    pub text: String,
    pub reason: Option<String>,
    pub at: Time,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallbackResult {
    pub resolved: bool,
    pub satisfaction: Satisfaction,
    pub note: Option<String>,
    pub at: Time,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtensionRequest {
    pub working_days: u32,
    pub reason: String,
    pub requested_at: Time,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspension {
    pub prior: CaseState,
    pub since: Time,
    pub reason: String,
}

/// A command, as given through the API: `{"type": "dispatch", "unit": "…"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    AnswerDirectly {
        answer: String,
    },
    Dispatch {
        unit: UnitId,
        #[serde(default)]
        co_units: Vec<UnitId>,
        #[serde(default)]
        note: Option<String>,
    },
    Redispatch {
        unit: UnitId,
        #[serde(default)]
        note: Option<String>,
    },
    Accept {
        #[serde(default)]
        note: Option<String>,
    },
    Return {
        reason: String,
    },
    Contact {
        #[serde(default)]
        note: Option<String>,
    },
    Reply {
        outcome: ReplyOutcome,
        text: String,
        #[serde(default)]
        reason: Option<String>,
    },
    Review {
        decision: ReviewDecision,
        #[serde(default)]
        comment: Option<String>,
    },
    Callback {
        resolved: bool,
        satisfaction: Satisfaction,
        #[serde(default)]
        note: Option<String>,
    },
    Close {
        #[serde(default)]
        note: Option<String>,
    },
    Reopen {
        reason: String,
    },
    RequestExtension {
        working_days: u32,
        reason: String,
    },
    ApproveExtension {
        #[serde(default)]
        comment: Option<String>,
    },
    DenyExtension {
        reason: String,
    },
    Suspend {
        reason: String,
    },
    Resume {
        #[serde(default)]
        note: Option<String>,
    },
    Merge {
        into: String,
    },
    Annotate {
        text: String,
    },
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::AnswerDirectly { .. } => "answer_directly",
            Command::Dispatch { .. } => "dispatch",
            Command::Redispatch { .. } => "redispatch",
            Command::Accept { .. } => "accept",
            Command::Return { .. } => "return",
            Command::Contact { .. } => "contact",
            Command::Reply { .. } => "reply",
            Command::Review { .. } => "review",
            Command::Callback { .. } => "callback",
            Command::Close { .. } => "close",
            Command::Reopen { .. } => "reopen",
            Command::RequestExtension { .. } => "request_extension",
            Command::ApproveExtension { .. } => "approve_extension",
            Command::DenyExtension { .. } => "deny_extension",
            Command::Suspend { .. } => "suspend",
            Command::Resume { .. } => "resume",
            Command::Merge { .. } => "merge",
            Command::Annotate { .. } => "annotate",
        }
    }
}

/// A new case's `received` event, borrowed from the case it made: it serializes exactly as the
/// owned [`CaseEvent::Received`] does, so a writer can record it without copying the draft.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename = "received")]
pub struct ReceivedRef<'a> {
    pub number: &'a str,
    pub intake_unit: &'a UnitId,
    pub draft: &'a CaseDraft,
}

impl<'a> ReceivedRef<'a> {
    pub fn of(case: &'a Case) -> Self {
        ReceivedRef {
            number: &case.number,
            intake_unit: &case.intake_unit,
            draft: &case.draft,
        }
    }
}

/// What happened to a case. Stored, hash-chained, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEvent {
    Received {
        number: String,
        intake_unit: UnitId,
        draft: CaseDraft,
    },
    AnsweredDirectly {
        answer: String,
    },
    Dispatched {
        unit: UnitId,
        co_units: Vec<UnitId>,
        deadlines: Deadlines,
        note: Option<String>,
    },
    Redispatched {
        from: UnitId,
        to: UnitId,
        note: Option<String>,
    },
    Accepted {
        note: Option<String>,
    },
    /// Back to the unit that passed it down (`to`), or to the dispatcher when `to` is empty.
    Returned {
        reason: String,
        to: Option<UnitId>,
    },
    Contacted {
        note: Option<String>,
    },
    Replied {
        outcome: ReplyOutcome,
        text: String,
        reason: Option<String>,
    },
    ReplyApproved {
        comment: Option<String>,
    },
    ReplyRejected {
        comment: Option<String>,
    },
    CallbackRecorded {
        resolved: bool,
        satisfaction: Satisfaction,
        note: Option<String>,
    },
    Closed {
        note: Option<String>,
    },
    Reopened {
        reason: String,
        resolve_due: Time,
    },
    ExtensionRequested {
        working_days: u32,
        reason: String,
    },
    ExtensionApproved {
        working_days: u32,
        resolve_due: Time,
        comment: Option<String>,
    },
    ExtensionDenied {
        reason: String,
    },
    Suspended {
        reason: String,
    },
    Resumed {
        resolve_due: Option<Time>,
        note: Option<String>,
    },
    Merged {
        into: String,
    },
    Annotated {
        text: String,
    },
}

impl CaseEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            CaseEvent::Received { .. } => "received",
            CaseEvent::AnsweredDirectly { .. } => "answered_directly",
            CaseEvent::Dispatched { .. } => "dispatched",
            CaseEvent::Redispatched { .. } => "redispatched",
            CaseEvent::Accepted { .. } => "accepted",
            CaseEvent::Returned { .. } => "returned",
            CaseEvent::Contacted { .. } => "contacted",
            CaseEvent::Replied { .. } => "replied",
            CaseEvent::ReplyApproved { .. } => "reply_approved",
            CaseEvent::ReplyRejected { .. } => "reply_rejected",
            CaseEvent::CallbackRecorded { .. } => "callback_recorded",
            CaseEvent::Closed { .. } => "closed",
            CaseEvent::Reopened { .. } => "reopened",
            CaseEvent::ExtensionRequested { .. } => "extension_requested",
            CaseEvent::ExtensionApproved { .. } => "extension_approved",
            CaseEvent::ExtensionDenied { .. } => "extension_denied",
            CaseEvent::Suspended { .. } => "suspended",
            CaseEvent::Resumed { .. } => "resumed",
            CaseEvent::Merged { .. } => "merged",
            CaseEvent::Annotated { .. } => "annotated",
        }
    }
}

/// Everything `apply` needs to know besides the case: the org tree, the calendar, the policy.
pub struct Context<'a> {
    pub org: &'a OrgTree,
    pub calendar: &'a WorkCalendar,
    pub policy: &'a DeadlinePolicy,
    pub categories: &'a CategoryTree,
}

/// Stored as the projection's document: empty fields are left out (a third of a new case's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: String,
    pub number: String,
    pub draft: CaseDraft,
    pub state: CaseState,
    pub intake_unit: UnitId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_unit: Option<UnitId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub co_units: Vec<UnitId>,
    /// Units that passed the case down (street › community › grid), nearest last.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dispatch_chain: Vec<UnitId>,
    /// Every unit that ever held the case: they keep read access to its trail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub involved_units: Vec<UnitId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadlines: Option<Deadlines>,
    pub received_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatched_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contacted_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Time>,
    pub updated_at: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<CallbackResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_extension: Option<ExtensionRequest>,
    pub extensions_granted: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspension: Option<Suspension>,
    pub reopen_count: u32,
    pub return_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
    /// Number of events folded in; the next event gets `version + 1`.
    pub version: u64,
}

const HANDLING: &[Role] = &[Role::Handler, Role::GridWorker];
const DISPATCHING: &[Role] = &[Role::Dispatcher];
const CALLING_BACK: &[Role] = &[Role::Operator, Role::Dispatcher];
const INTAKE: &[Role] = &[
    Role::Citizen,
    Role::Operator,
    Role::Dispatcher,
    Role::Handler,
    Role::GridWorker,
    Role::Cadre,
    Role::Inspector,
];
const STAFF: &[Role] = crate::actor::CASE_READERS;

/// The refusal for a case the actor cannot read (`Forbidden` with this code): the API answers it
/// exactly as it answers a case that does not exist.
pub const CASE_NOT_FOUND: &str = "case_not_found";

impl Case {
    /// Records a new case. The store supplies the daily number. The case is filed at the dispatch
    /// centre above the actor's unit (a grid worker's report goes to his street), a citizen's at the root.
    pub fn intake(
        number: String,
        mut draft: CaseDraft,
        actor: &Actor,
        ctx: &Context<'_>,
    ) -> Result<CaseEvent, DomainError> {
        let grant = actor
            .grants
            .iter()
            .find(|g| INTAKE.contains(&g.role))
            .ok_or_else(|| forbidden("role_forbidden", "this role cannot record cases"))?;
        let intake_unit = if grant.role == Role::Citizen {
            if !matches!(
                draft.channel,
                Channel::Web | Channel::Mobile | Channel::Open311
            ) {
                return Err(forbidden(
                    "channel_forbidden",
                    "citizens report through the web, mobile or Open311 channels",
                ));
            }
            draft.reporter.user_id = Some(actor.user_id.clone());
            ctx.org
                .root()
                .cloned()
                .ok_or_else(|| invalid("org", "the org tree is empty"))?
        } else {
            ctx.org.dispatch_center(&grant.unit)
        };
        draft.validate(ctx.categories)?;
        Ok(CaseEvent::Received {
            number,
            intake_unit,
            draft,
        })
    }

    /// Builds a case from its first event.
    pub fn from_received(id: String, ev: &CaseEvent, at: Time) -> Option<Case> {
        match ev {
            CaseEvent::Received { .. } => Case::from_received_owned(id, ev.clone(), at),
            _ => None,
        }
    }

    /// [`Case::from_received`], taking the event: the draft moves into the case, uncopied.
    pub fn from_received_owned(id: String, ev: CaseEvent, at: Time) -> Option<Case> {
        let CaseEvent::Received {
            number,
            intake_unit,
            draft,
        } = ev
        else {
            return None;
        };
        Some(Case {
            id,
            number,
            draft,
            state: CaseState::Received,
            intake_unit: intake_unit.clone(),
            assigned_unit: None,
            co_units: vec![],
            dispatch_chain: vec![],
            involved_units: vec![intake_unit],
            deadlines: None,
            received_at: at,
            dispatched_at: None,
            accepted_at: None,
            contacted_at: None,
            closed_at: None,
            updated_at: at,
            direct_answer: None,
            reply: None,
            callback: None,
            pending_extension: None,
            extensions_granted: 0,
            suspension: None,
            reopen_count: 0,
            return_count: 0,
            merged_into: None,
            version: 1,
        })
    }

    /// Rebuilds a case from its whole trail.
    pub fn replay<'a>(
        id: String,
        events: impl IntoIterator<Item = (&'a CaseEvent, Time)>,
    ) -> Option<Case> {
        let mut it = events.into_iter();
        let (first, at) = it.next()?;
        let mut case = Case::from_received(id, first, at)?;
        for (ev, at) in it {
            case.evolve(ev, at);
        }
        Some(case)
    }

    /// The unit whose staff handle the case now (assigned unit, or the intake unit before dispatch).
    pub fn current_unit(&self) -> &UnitId {
        self.assigned_unit.as_ref().unwrap_or(&self.intake_unit)
    }

    /// Whether the actor may read this case: citizens their own, the case-reading roles
    /// ([`crate::actor::CASE_READERS`]) within their subtrees. Lists, the worklist and every
    /// command go by the same rule: a case the actor cannot read does not exist for him.
    pub fn visible_to(&self, actor: &Actor, org: &OrgTree) -> bool {
        (actor.grants.iter().any(|g| g.role == Role::Citizen)
            && self.draft.reporter.user_id.as_deref() == Some(actor.user_id.as_str()))
            || self.held_within(actor, org, STAFF)
    }

    /// Checks the master case a merge names: it must exist *for the actor* (a case he cannot
    /// read is answered exactly like one that does not exist) and still be open. Called by the
    /// store, which looks `into` up, before `apply` records the merge into `target.id`.
    pub fn check_merge_target(
        into: &str,
        target: Option<&Case>,
        actor: &Actor,
        org: &OrgTree,
    ) -> Result<(), DomainError> {
        match target {
            Some(t) if t.visible_to(actor, org) => match t.state {
                CaseState::Merged => Err(DomainError::Conflict {
                    code: "merge_target_merged",
                    message: "the master case is itself merged".into(),
                }),
                CaseState::Closed => Err(DomainError::Conflict {
                    code: "merge_target_closed",
                    message: "the master case is closed".into(),
                }),
                _ => Ok(()),
            },
            _ => Err(invalid("into", format!("no case {into} in your scope"))),
        }
    }

    /// True when one of `roles` is granted over a unit that holds or ever held the case.
    pub fn held_within(&self, actor: &Actor, org: &OrgTree, roles: &[Role]) -> bool {
        self.involved_units
            .iter()
            .chain(self.co_units.iter())
            .chain(self.assigned_unit.iter())
            .any(|u| actor.may_act_on(org, roles, u))
    }

    fn need_role(
        &self,
        actor: &Actor,
        ctx: &Context<'_>,
        roles: &[Role],
        unit: &UnitId,
        what: &str,
    ) -> Result<(), DomainError> {
        if !actor.grants.iter().any(|g| roles.contains(&g.role)) {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            return Err(forbidden(
                "role_forbidden",
                format!("{what} needs one of the roles {}", names.join(", ")),
            ));
        }
        if !actor.may_act_on(ctx.org, roles, unit) {
            // The actor can read the case, but this step belongs to a unit above or beside his.
            return Err(forbidden(
                "out_of_scope",
                format!("{what}: this step is not your unit's on this case"),
            ));
        }
        Ok(())
    }

    fn need_state(&self, command: &'static str, allowed: &[CaseState]) -> Result<(), DomainError> {
        if allowed.contains(&self.state) {
            Ok(())
        } else {
            Err(DomainError::WrongState {
                command,
                state: self.state,
            })
        }
    }

    /// Checks a command against the actor's role and scope and the case's state; returns its events.
    pub fn apply(
        &self,
        cmd: &Command,
        actor: &Actor,
        now: Time,
        ctx: &Context<'_>,
    ) -> Result<Vec<CaseEvent>, DomainError> {
        use CaseState as S;
        let name = cmd.name();
        let assigned = self.current_unit().clone();
        // A case the actor cannot read does not exist for him: before role or state, so a refusal
        // tells him nothing about it. (A merged case refuses every command but `annotate` through
        // `need_state`, after the role check: no state list below contains `Merged`.)
        if !self.visible_to(actor, ctx.org) {
            return Err(forbidden(CASE_NOT_FOUND, "no such case in your scope"));
        }
        let ev = match cmd {
            Command::AnswerDirectly { answer } => {
                self.need_role(actor, ctx, CALLING_BACK, &self.intake_unit, name)?;
                self.need_state(name, &[S::Received])?;
                check_text("answer", answer, MAX_NOTE, true)?;
                vec![
                    CaseEvent::AnsweredDirectly {
                        answer: answer.clone(),
                    },
                    CaseEvent::Closed { note: None },
                ]
            }
            Command::Dispatch {
                unit,
                co_units,
                note,
            } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Received])?;
                check_opt("note", note, MAX_NOTE)?;
                for u in std::iter::once(unit).chain(co_units) {
                    if !ctx.org.contains(u) {
                        return Err(invalid("unit", format!("unknown unit {u}")));
                    }
                    if !actor.may_act_on(ctx.org, DISPATCHING, u) {
                        return Err(forbidden(
                            "out_of_scope",
                            format!("unit {u} is outside your org scope"),
                        ));
                    }
                }
                if co_units.contains(unit) {
                    return Err(invalid(
                        "co_units",
                        "the lead unit cannot also be a co-unit",
                    ));
                }
                let deadlines = ctx.policy.compute(
                    ctx.calendar,
                    self.draft.kind,
                    self.draft.category.as_deref(),
                    self.draft.urgency,
                    now,
                )?;
                let mut co = co_units.clone();
                co.sort();
                co.dedup();
                vec![CaseEvent::Dispatched {
                    unit: unit.clone(),
                    co_units: co,
                    deadlines,
                    note: note.clone(),
                }]
            }
            Command::Redispatch { unit, note } => {
                self.need_role(
                    actor,
                    ctx,
                    &[Role::Handler, Role::Dispatcher],
                    &assigned,
                    name,
                )?;
                self.need_state(name, &[S::Dispatched, S::Accepted])?;
                check_opt("note", note, MAX_NOTE)?;
                if !ctx.org.contains(unit) {
                    return Err(invalid("unit", format!("unknown unit {unit}")));
                }
                if !ctx.org.is_strictly_within(unit, &assigned) {
                    return Err(forbidden(
                        "out_of_scope",
                        format!(
                            "redispatch goes down the subtree of {assigned}; {unit} is not in it"
                        ),
                    ));
                }
                vec![CaseEvent::Redispatched {
                    from: assigned,
                    to: unit.clone(),
                    note: note.clone(),
                }]
            }
            Command::Accept { note } => {
                self.need_role(actor, ctx, HANDLING, &assigned, name)?;
                self.need_state(name, &[S::Dispatched])?;
                check_opt("note", note, MAX_NOTE)?;
                vec![CaseEvent::Accepted { note: note.clone() }]
            }
            Command::Return { reason } => {
                self.need_role(actor, ctx, HANDLING, &assigned, name)?;
                self.need_state(name, &[S::Dispatched, S::Accepted])?;
                check_text("reason", reason, MAX_NOTE, true)?;
                vec![CaseEvent::Returned {
                    reason: reason.clone(),
                    to: self.dispatch_chain.last().cloned(),
                }]
            }
            Command::Contact { note } => {
                self.need_role(actor, ctx, HANDLING, &assigned, name)?;
                self.need_state(name, &[S::Accepted])?;
                check_opt("note", note, MAX_NOTE)?;
                vec![CaseEvent::Contacted { note: note.clone() }]
            }
            Command::Reply {
                outcome,
                text,
                reason,
            } => {
                self.need_role(actor, ctx, HANDLING, &assigned, name)?;
                self.need_state(name, &[S::InProgress])?;
                check_text("text", text, MAX_NOTE, true)?;
                if *outcome == ReplyOutcome::Unresolvable {
                    required("reason", reason, MAX_NOTE)?;
                } else {
                    check_opt("reason", reason, MAX_NOTE)?;
                }
                vec![CaseEvent::Replied {
                    outcome: *outcome,
                    text: text.clone(),
                    reason: reason.clone(),
                }]
            }
            Command::Review { decision, comment } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Replied])?;
                check_opt("comment", comment, MAX_NOTE)?;
                match decision {
                    ReviewDecision::Approve => vec![CaseEvent::ReplyApproved {
                        comment: comment.clone(),
                    }],
                    ReviewDecision::Reject => {
                        required("comment", comment, MAX_NOTE)?;
                        vec![CaseEvent::ReplyRejected {
                            comment: comment.clone(),
                        }]
                    }
                }
            }
            Command::Callback {
                resolved,
                satisfaction,
                note,
            } => {
                self.need_role(actor, ctx, CALLING_BACK, &self.intake_unit, name)?;
                self.need_state(name, &[S::AwaitingCallback])?;
                check_opt("note", note, MAX_NOTE)?;
                if self.callback.is_some() {
                    return Err(DomainError::Conflict {
                        code: "callback_recorded",
                        message: "the callback is already recorded: close or reopen the case"
                            .into(),
                    });
                }
                let mut evs = vec![CaseEvent::CallbackRecorded {
                    resolved: *resolved,
                    satisfaction: *satisfaction,
                    note: note.clone(),
                }];
                // An unsatisfied reporter leaves the decision (reopen or close) to the dispatcher.
                if *satisfaction != Satisfaction::Unsatisfied {
                    evs.push(CaseEvent::Closed { note: None });
                }
                evs
            }
            Command::Close { note } => {
                self.need_role(actor, ctx, CALLING_BACK, &self.intake_unit, name)?;
                self.need_state(name, &[S::AwaitingCallback])?;
                check_opt("note", note, MAX_NOTE)?;
                if self.callback.is_none() {
                    return Err(DomainError::Conflict {
                        code: "callback_missing",
                        message: "a case closes only after its callback is recorded".into(),
                    });
                }
                vec![CaseEvent::Closed { note: note.clone() }]
            }
            Command::Reopen { reason } => {
                check_text("reason", reason, MAX_NOTE, true)?;
                let by_inspector = actor.may_act_on(ctx.org, &[Role::Inspector], &self.intake_unit)
                    || actor.may_act_on(ctx.org, &[Role::Inspector], &assigned);
                if by_inspector {
                    self.need_state(name, &[S::Closed, S::AwaitingCallback])?;
                } else {
                    self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                    self.need_state(name, &[S::AwaitingCallback])?;
                    let unsatisfied = self.callback.as_ref().is_some_and(|c| {
                        c.satisfaction == Satisfaction::Unsatisfied || !c.resolved
                    });
                    if !unsatisfied {
                        return Err(DomainError::Conflict {
                            code: "reopen_needs_unsatisfied_callback",
                            message: "a dispatcher reopens only after an unsatisfied or unresolved callback".into(),
                        });
                    }
                    if self.reopen_count >= 1 {
                        return Err(DomainError::Conflict {
                            code: "reopen_limit",
                            message: "the rule allows one reopening; an inspector may reopen again"
                                .into(),
                        });
                    }
                }
                if self.assigned_unit.is_none() {
                    return Err(DomainError::Conflict {
                        code: "never_dispatched",
                        message: "a case answered directly has no unit to reopen it at".into(),
                    });
                }
                let span = self
                    .deadlines
                    .as_ref()
                    .map(|d| d.resolve_span)
                    .unwrap_or(Span::WorkingDays(5));
                let resolve_due = span.due_from(ctx.calendar, now)?;
                vec![CaseEvent::Reopened {
                    reason: reason.clone(),
                    resolve_due,
                }]
            }
            Command::RequestExtension {
                working_days,
                reason,
            } => {
                self.need_role(actor, ctx, HANDLING, &assigned, name)?;
                self.need_state(name, &[S::Accepted, S::InProgress])?;
                check_text("reason", reason, MAX_NOTE, true)?;
                if !(1..=30).contains(working_days) {
                    return Err(invalid("working_days", "1 to 30 working days"));
                }
                if self.pending_extension.is_some() {
                    return Err(DomainError::Conflict {
                        code: "extension_pending",
                        message: "an extension request is already waiting for a decision".into(),
                    });
                }
                vec![CaseEvent::ExtensionRequested {
                    working_days: *working_days,
                    reason: reason.clone(),
                }]
            }
            Command::ApproveExtension { comment } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Accepted, S::InProgress])?;
                check_opt("comment", comment, MAX_NOTE)?;
                let (Some(req), Some(d)) = (&self.pending_extension, &self.deadlines) else {
                    return Err(DomainError::Conflict {
                        code: "no_extension_pending",
                        message: "there is no extension request to decide".into(),
                    });
                };
                let resolve_due = ctx
                    .calendar
                    .add_working_days(d.resolve_due, req.working_days)?;
                vec![CaseEvent::ExtensionApproved {
                    working_days: req.working_days,
                    resolve_due,
                    comment: comment.clone(),
                }]
            }
            Command::DenyExtension { reason } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Accepted, S::InProgress])?;
                check_text("reason", reason, MAX_NOTE, true)?;
                if self.pending_extension.is_none() {
                    return Err(DomainError::Conflict {
                        code: "no_extension_pending",
                        message: "there is no extension request to decide".into(),
                    });
                }
                vec![CaseEvent::ExtensionDenied {
                    reason: reason.clone(),
                }]
            }
            Command::Suspend { reason } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Dispatched, S::Accepted, S::InProgress])?;
                check_text("reason", reason, MAX_NOTE, true)?;
                vec![CaseEvent::Suspended {
                    reason: reason.clone(),
                }]
            }
            Command::Resume { note } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(name, &[S::Suspended])?;
                check_opt("note", note, MAX_NOTE)?;
                let since = self.suspension.as_ref().map(|s| s.since).unwrap_or(now);
                // The clock stood still while suspended: move the deadline by the time lost,
                // counted the way the deadline itself is counted.
                let resolve_due = match &self.deadlines {
                    None => None,
                    Some(d) => Some(match d.resolve_span {
                        Span::WorkingDays(_) | Span::WorkingHours(_) => {
                            let lost = ctx.calendar.working_time_between(since, now)?;
                            if lost.is_zero() {
                                d.resolve_due
                            } else {
                                ctx.calendar.add_working_time(d.resolve_due, lost)?
                            }
                        }
                        Span::CalendarHours(_) | Span::CalendarMinutes(_) => {
                            d.resolve_due + (now - since).max(chrono::Duration::zero())
                        }
                    }),
                };
                vec![CaseEvent::Resumed {
                    resolve_due,
                    note: note.clone(),
                }]
            }
            Command::Merge { into } => {
                self.need_role(actor, ctx, DISPATCHING, &self.intake_unit, name)?;
                self.need_state(
                    name,
                    &[S::Received, S::Dispatched, S::Accepted, S::InProgress],
                )?;
                if into == &self.id || into == &self.number {
                    return Err(invalid("into", "a case cannot be merged into itself"));
                }
                check_text("into", into, 64, true)?;
                // The store resolves `into` to the master's id through `merge_target` first.
                vec![CaseEvent::Merged { into: into.clone() }]
            }
            Command::Annotate { text } => {
                let units: Vec<&UnitId> = self
                    .involved_units
                    .iter()
                    .chain(self.assigned_unit.iter())
                    .chain(self.co_units.iter())
                    .collect();
                if !actor.grants.iter().any(|g| STAFF.contains(&g.role)) {
                    return Err(forbidden("role_forbidden", "only staff annotate cases"));
                }
                if !units.iter().any(|u| actor.may_act_on(ctx.org, STAFF, u)) {
                    return Err(forbidden(
                        "out_of_scope",
                        "the case is outside your org scope",
                    ));
                }
                check_text("text", text, MAX_NOTE, true)?;
                vec![CaseEvent::Annotated { text: text.clone() }]
            }
        };
        Ok(ev)
    }

    /// Folds one event into the case. Total: an event that does not fit is still recorded in
    /// `version`, so replay never fails on an old trail.
    pub fn evolve(&mut self, ev: &CaseEvent, at: Time) {
        use CaseState as S;
        self.version += 1;
        self.updated_at = at;
        match ev {
            CaseEvent::Received { .. } => {}
            CaseEvent::AnsweredDirectly { answer } => self.direct_answer = Some(answer.clone()),
            CaseEvent::Dispatched {
                unit,
                co_units,
                deadlines,
                ..
            } => {
                self.state = S::Dispatched;
                self.assigned_unit = Some(unit.clone());
                self.co_units = co_units.clone();
                self.dispatch_chain.clear();
                self.deadlines = Some(deadlines.clone());
                self.dispatched_at = Some(at);
                for u in std::iter::once(unit).chain(co_units) {
                    if !self.involved_units.contains(u) {
                        self.involved_units.push(u.clone());
                    }
                }
            }
            CaseEvent::Redispatched { from, to, .. } => {
                self.state = S::Dispatched;
                self.dispatch_chain.push(from.clone());
                self.assigned_unit = Some(to.clone());
                if !self.involved_units.contains(to) {
                    self.involved_units.push(to.clone());
                }
            }
            CaseEvent::Accepted { .. } => {
                self.state = S::Accepted;
                self.accepted_at.get_or_insert(at);
            }
            CaseEvent::Returned { to, .. } => {
                self.return_count += 1;
                self.pending_extension = None;
                match to {
                    Some(parent) => {
                        self.dispatch_chain.pop();
                        self.assigned_unit = Some(parent.clone());
                        self.state = S::Dispatched;
                    }
                    None => {
                        self.assigned_unit = None;
                        self.co_units.clear();
                        self.state = S::Received;
                    }
                }
            }
            CaseEvent::Contacted { .. } => {
                self.state = S::InProgress;
                self.contacted_at.get_or_insert(at);
            }
            CaseEvent::Replied {
                outcome,
                text,
                reason,
            } => {
                self.state = S::Replied;
                self.pending_extension = None;
                self.reply = Some(Reply {
                    outcome: *outcome,
                    text: text.clone(),
                    reason: reason.clone(),
                    at,
                });
            }
            CaseEvent::ReplyApproved { .. } => self.state = S::AwaitingCallback,
            CaseEvent::ReplyRejected { .. } => self.state = S::InProgress,
            CaseEvent::CallbackRecorded {
                resolved,
                satisfaction,
                note,
            } => {
                self.callback = Some(CallbackResult {
                    resolved: *resolved,
                    satisfaction: *satisfaction,
                    note: note.clone(),
                    at,
                })
            }
            CaseEvent::Closed { .. } => {
                self.state = S::Closed;
                self.closed_at = Some(at);
            }
            CaseEvent::Reopened { resolve_due, .. } => {
                self.state = S::InProgress;
                self.reopen_count += 1;
                self.callback = None;
                self.reply = None;
                self.closed_at = None;
                if let Some(d) = &mut self.deadlines {
                    d.resolve_due = *resolve_due;
                }
            }
            CaseEvent::ExtensionRequested {
                working_days,
                reason,
            } => {
                self.pending_extension = Some(ExtensionRequest {
                    working_days: *working_days,
                    reason: reason.clone(),
                    requested_at: at,
                })
            }
            CaseEvent::ExtensionApproved { resolve_due, .. } => {
                self.pending_extension = None;
                self.extensions_granted += 1;
                if let Some(d) = &mut self.deadlines {
                    d.resolve_due = *resolve_due;
                }
            }
            CaseEvent::ExtensionDenied { .. } => self.pending_extension = None,
            CaseEvent::Suspended { reason } => {
                self.suspension = Some(Suspension {
                    prior: self.state,
                    since: at,
                    reason: reason.clone(),
                });
                self.state = S::Suspended;
            }
            CaseEvent::Resumed { resolve_due, .. } => {
                if let Some(s) = self.suspension.take() {
                    self.state = s.prior;
                }
                if let (Some(d), Some(due)) = (&mut self.deadlines, resolve_due) {
                    d.resolve_due = *due;
                }
            }
            CaseEvent::Merged { into } => {
                self.state = S::Merged;
                self.merged_into = Some(into.clone());
                self.closed_at = Some(at);
            }
            CaseEvent::Annotated { .. } => {}
        }
    }

    /// The unit whose move it is: the dispatch centre before dispatch and for review, callback and
    /// resumption; the assigned unit while it handles the case; nobody once it is closed.
    pub fn waiting_on(&self) -> Option<&UnitId> {
        match self.state {
            CaseState::Dispatched | CaseState::Accepted | CaseState::InProgress => {
                self.assigned_unit.as_ref()
            }
            CaseState::Received
            | CaseState::Replied
            | CaseState::AwaitingCallback
            | CaseState::Suspended => Some(&self.intake_unit),
            CaseState::Closed | CaseState::Merged => None,
        }
    }

    /// The deadline that falls next for whoever holds the case, for worklist ordering.
    pub fn next_due(&self) -> Option<Time> {
        let d = self.deadlines.as_ref()?;
        match self.state {
            CaseState::Dispatched => Some(d.accept_due.min(d.resolve_due)),
            CaseState::Accepted => Some(d.contact_due.min(d.resolve_due)),
            CaseState::InProgress | CaseState::Replied | CaseState::AwaitingCallback => {
                Some(d.resolve_due)
            }
            _ => None,
        }
    }
}
