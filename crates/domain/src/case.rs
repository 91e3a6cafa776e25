//! The case (工单) and its lifecycle. `Case::apply` is the only way a case changes: it checks the
//! actor's role, the org scope and the state, and returns events; `Case::evolve` folds an event into
//! the state. Both are pure.

use serde::{Deserialize, Serialize};

use crate::actor::{Actor, Role};
use crate::calendar::{CalendarError, Time, WorkCalendar};
use crate::category::CategoryTree;
use crate::deadline::{DeadlinePolicy, Deadlines, Span};
use crate::org::{OrgTree, UnitId, UnitKind};
use crate::supervision::{
    AppealDecision, Card, CardStatus, DeadlineKind, Fired, Stage, Summons, SuperviseLevel,
    Supervision,
};

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
    /// The command names something that does not exist (a unit, a card): 422 with its own code.
    #[error("{code}: {message}")]
    Unknown { code: &'static str, message: String },
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

/// A closed unit is sent no new work (dispatch, redispatch, summons).
fn refuse_closed(org: &OrgTree, unit: &UnitId) -> Result<(), DomainError> {
    if org.is_closed(unit) {
        return Err(DomainError::Unknown {
            code: "unit_closed",
            message: format!("unit {unit} is closed and takes no new cases"),
        });
    }
    Ok(())
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
        if let Some(c) = &self.category
            && categories.is_retired(c)
        {
            return Err(DomainError::Conflict {
                code: "category_retired",
                message: format!("category {c:?} is retired; choose a current one"),
            });
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
        /// For an unsatisfied reporter: whether the unit caused it (then the case is reopened
        /// once, 重办); `false` when the demand itself cannot be met. Default `true`.
        #[serde(default)]
        unit_at_fault: Option<bool>,
    },
    Close {
        #[serde(default)]
        note: Option<String>,
    },
    Reopen {
        reason: String,
    },
    RequestExtension {
        #[serde(deserialize_with = "crate::whole_u32")]
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
    /// 吹哨: the street or community holding the case summons units, naming the lead.
    Whistle {
        units: Vec<UnitId>,
        lead: UnitId,
        #[serde(default)]
        note: Option<String>,
    },
    /// 报到: a summoned unit confirms it takes part.
    ReportIn {
        #[serde(default)]
        note: Option<String>,
    },
    /// A summoned unit records its part of the work.
    RecordPart {
        text: String,
    },
    /// 督办: a leader's instruction, with a level and optionally its own due moment.
    Supervise {
        level: SuperviseLevel,
        note: String,
        #[serde(default)]
        due: Option<Time>,
    },
    /// 催办.
    Remind {
        note: String,
    },
    /// 申诉: the carded unit contests a card.
    Appeal {
        card: String,
        reason: String,
    },
    /// An inspector upholds or revokes an appealed card.
    DecideAppeal {
        card: String,
        decision: AppealDecision,
        reason: String,
    },
    /// A photo or document joins the case. Given by the upload endpoint, which stored the file
    /// first; the trail keeps its SHA-256, so the chain vouches for the file as well.
    Attach(AttachmentRef),
}

/// A stored file, as the trail names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentRef {
    pub attachment: String,
    pub name: String,
    pub mime: String,
    pub size: u64,
    pub sha256: String,
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
            Command::Whistle { .. } => "whistle",
            Command::ReportIn { .. } => "report_in",
            Command::RecordPart { .. } => "record_part",
            Command::Supervise { .. } => "supervise",
            Command::Remind { .. } => "remind",
            Command::Appeal { .. } => "appeal",
            Command::DecideAppeal { .. } => "decide_appeal",
            Command::Attach(_) => "attach",
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
        /// When the co-units must report in (they are summoned like a whistle's units).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        report_in_due: Option<Time>,
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
        /// The new due lies in (or runs through) a provisional calendar year.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        provisional: bool,
    },
    ExtensionRequested {
        #[serde(deserialize_with = "crate::whole_u32")]
        working_days: u32,
        reason: String,
    },
    ExtensionApproved {
        working_days: u32,
        resolve_due: Time,
        comment: Option<String>,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        provisional: bool,
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
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        provisional: bool,
        /// Accept and contact dues, moved by the time lost (absent in older trails).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accept_due: Option<Time>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact_due: Option<Time>,
    },
    Merged {
        into: String,
    },
    Annotated {
        text: String,
    },
    AttachmentAdded(AttachmentRef),
    /// The deadlines were computed again because the holiday schedule they were counted on
    /// changed (a provisional year replaced by the State Council's notice). Written by the system.
    DeadlinesRecomputed {
        deadlines: Deadlines,
        reason: String,
    },
    Whistled {
        units: Vec<UnitId>,
        lead: UnitId,
        report_in_due: Time,
        note: Option<String>,
    },
    ReportedIn {
        unit: UnitId,
        note: Option<String>,
    },
    PartRecorded {
        unit: UnitId,
        text: String,
    },
    Supervised {
        level: SuperviseLevel,
        note: String,
        due: Option<Time>,
    },
    Reminded {
        note: String,
    },
    /// An unanswered callback call; after the policy's number of attempts the callback is
    /// recorded as unreachable instead.
    CallbackAttempted {
        attempt: u32,
        note: Option<String>,
    },
    /// Written by the clock.
    DeadlineWarning {
        kind: DeadlineKind,
        unit: UnitId,
        due: Time,
    },
    /// Written by the clock.
    DeadlineMissed {
        kind: DeadlineKind,
        unit: UnitId,
        due: Time,
    },
    YellowCard {
        card: Card,
    },
    RedCard {
        card: Card,
    },
    CardAppealed {
        card: String,
        reason: String,
    },
    CardUpheld {
        card: String,
        reason: String,
    },
    CardRevoked {
        card: String,
        reason: String,
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
            CaseEvent::AttachmentAdded(_) => "attachment_added",
            CaseEvent::DeadlinesRecomputed { .. } => "deadlines_recomputed",
            CaseEvent::Whistled { .. } => "whistled",
            CaseEvent::ReportedIn { .. } => "reported_in",
            CaseEvent::PartRecorded { .. } => "part_recorded",
            CaseEvent::Supervised { .. } => "supervised",
            CaseEvent::Reminded { .. } => "reminded",
            CaseEvent::CallbackAttempted { .. } => "callback_attempted",
            CaseEvent::DeadlineWarning { .. } => "deadline_warning",
            CaseEvent::DeadlineMissed { .. } => "deadline_missed",
            CaseEvent::YellowCard { .. } => "yellow_card",
            CaseEvent::RedCard { .. } => "red_card",
            CaseEvent::CardAppealed { .. } => "card_appealed",
            CaseEvent::CardUpheld { .. } => "card_upheld",
            CaseEvent::CardRevoked { .. } => "card_revoked",
        }
    }
}

/// The path a new case enters by; each channel belongs to one (see [`Case::intake_by`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntakePath {
    /// `POST /api/v1/cases`: staff and citizens.
    Api,
    /// The HJ 212 ingest's alarms.
    Ingest,
    /// The Open311 endpoint.
    Open311,
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
    /// The unit whose reply completes the case after a whistle (the assigned unit when `None`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lead: Option<UnitId>,
    /// Units summoned to the case (co-units at dispatch and whistled units), one per co-unit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub summons: Vec<Summons>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supervisions: Vec<Supervision>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reminders: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<Card>,
    /// Deadline stages the clock has fired, so none fires twice.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fired: Vec<Fired>,
    /// Unanswered callback calls since the reply was approved.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub callback_attempts: u32,
    /// Number of events folded in; the next event gets `version + 1`.
    pub version: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
const WHISTLING: &[Role] = &[Role::Handler, Role::Leader];
/// Every state of an open case.
const OPEN_STATES: &[CaseState] = &[
    CaseState::Received,
    CaseState::Dispatched,
    CaseState::Accepted,
    CaseState::InProgress,
    CaseState::Replied,
    CaseState::AwaitingCallback,
    CaseState::Suspended,
];
const STAFF: &[Role] = crate::actor::CASE_READERS;

/// The refusal for a case the actor cannot read (`Forbidden` with this code): the API answers it
/// exactly as it answers a case that does not exist.
pub const CASE_NOT_FOUND: &str = "case_not_found";

impl Case {
    /// Records a new case given through the API (see [`Case::intake_by`]).
    pub fn intake(
        number: String,
        draft: CaseDraft,
        actor: &Actor,
        ctx: &Context<'_>,
    ) -> Result<CaseEvent, DomainError> {
        Self::intake_by(number, draft, actor, IntakePath::Api, ctx)
    }

    /// Records a new case. The store supplies the daily number. Staff cases are filed at the
    /// dispatch centre above the actor's unit (a grid worker's report goes to his street). A
    /// citizen's report is filed where a dispatcher will see it: the street whose area holds its
    /// location, else the county's dispatch centre ([`OrgTree::intake_center`]).
    ///
    /// Each channel belongs to the path that produces it, because the assessment counts cases by
    /// channel: `monitor` only from the HJ 212 ingest, `open311` only from the Open311 endpoint,
    /// `grid_patrol` only from grid workers.
    pub fn intake_by(
        number: String,
        mut draft: CaseDraft,
        actor: &Actor,
        path: IntakePath,
        ctx: &Context<'_>,
    ) -> Result<CaseEvent, DomainError> {
        let grant = actor
            .grants
            .iter()
            .find(|g| INTAKE.contains(&g.role))
            .ok_or_else(|| forbidden("role_forbidden", "this role cannot record cases"))?;
        let channel_ok = match (path, draft.channel) {
            (IntakePath::Ingest, ch) => ch == Channel::Monitor,
            (IntakePath::Open311, ch) => ch == Channel::Open311,
            (IntakePath::Api, Channel::Monitor | Channel::Open311) => false,
            (IntakePath::Api, ch) if grant.role == Role::Citizen => {
                matches!(ch, Channel::Web | Channel::Mobile)
            }
            (IntakePath::Api, Channel::GridPatrol) => grant.role == Role::GridWorker,
            (IntakePath::Api, _) => true,
        };
        if !channel_ok {
            return Err(forbidden(
                "channel_forbidden",
                match draft.channel {
                    Channel::Monitor => "monitor cases come only from the monitoring ingest",
                    Channel::Open311 => "open311 cases come only through the Open311 endpoint",
                    Channel::GridPatrol => "grid_patrol cases are reported by grid workers",
                    _ if grant.role == Role::Citizen => {
                        "citizens report through the web or mobile channels"
                    }
                    _ => "this channel is not produced by this path",
                },
            ));
        }
        let intake_unit = if grant.role == Role::Citizen {
            draft.reporter.user_id = Some(actor.user_id.clone());
            let located = draft
                .location
                .filter(|p| p.lon.is_finite() && p.lat.is_finite())
                .and_then(|p| ctx.org.locate(p.lon, p.lat))
                .map(|u| ctx.org.dispatch_center(u));
            match located {
                Some(u) => u,
                None => ctx
                    .org
                    .intake_center()
                    .cloned()
                    .ok_or_else(|| invalid("org", "the org tree is empty"))?,
            }
        } else {
            if draft.channel == Channel::GridPatrol {
                // The grid worker is the reporter: he follows the case he filed from his phone.
                draft.reporter.user_id = Some(actor.user_id.clone());
            }
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
            lead: None,
            summons: vec![],
            supervisions: vec![],
            reminders: 0,
            cards: vec![],
            fired: vec![],
            callback_attempts: 0,
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

    /// Whether the actor may read this case: its reporter (a citizen, or the grid worker who
    /// filed it on patrol), and the case-reading roles ([`crate::actor::CASE_READERS`]) within
    /// their subtrees. Lists, the worklist and every command go by the same rule: a case the
    /// actor cannot read does not exist for him.
    pub fn visible_to(&self, actor: &Actor, org: &OrgTree) -> bool {
        self.draft.reporter.user_id.as_deref() == Some(actor.user_id.as_str())
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
            _ => Err(DomainError::Unknown {
                code: "merge_target_invalid",
                message: format!("no case {into} in your scope"),
            }),
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

    /// Every unit that ever took part in the case.
    fn involved<'a>(&'a self, _ctx: &Context<'_>) -> impl Iterator<Item = &'a UnitId> + 'a {
        self.involved_units
            .iter()
            .chain(self.assigned_unit.iter())
            .chain(self.co_units.iter())
    }

    /// One of `roles` over any unit that took part (supervision and reminders come from above).
    fn need_role_over_involved(
        &self,
        actor: &Actor,
        ctx: &Context<'_>,
        roles: &[Role],
        what: &str,
    ) -> Result<(), DomainError> {
        if !roles.iter().any(|r| actor.has_role(*r)) {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            return Err(forbidden(
                "role_forbidden",
                format!("{what} needs one of the roles {}", names.join(", ")),
            ));
        }
        if !self
            .involved(ctx)
            .any(|u| actor.may_act_on(ctx.org, roles, u))
        {
            return Err(forbidden(
                "out_of_scope",
                "the case is outside your org scope",
            ));
        }
        Ok(())
    }

    fn card(&self, id: &str) -> Result<&Card, DomainError> {
        self.cards
            .iter()
            .find(|c| c.id == id)
            .ok_or_else(|| DomainError::Unknown {
                code: "card_not_found",
                message: format!("no card {id} on this case"),
            })
    }

    /// The summoned unit the actor acts for: the first of the case's summons still `open` (by
    /// `open`) on which he holds a handling role.
    fn summoned_unit_of(
        &self,
        actor: &Actor,
        ctx: &Context<'_>,
        what: &str,
        open: impl Fn(&Summons) -> bool,
    ) -> Result<UnitId, DomainError> {
        if !self.state.is_open() {
            return Err(DomainError::WrongState {
                command: if what == "report_in" {
                    "report_in"
                } else {
                    "record_part"
                },
                state: self.state,
            });
        }
        let roles = &[Role::Handler, Role::Leader, Role::GridWorker];
        let mine: Vec<&Summons> = self
            .summons
            .iter()
            .filter(|s| actor.may_act_on(ctx.org, roles, &s.unit))
            .collect();
        if mine.is_empty() {
            return Err(forbidden(
                "not_summoned",
                format!("{what}: none of your units is summoned to this case"),
            ));
        }
        mine.into_iter()
            .find(|s| open(s))
            .map(|s| s.unit.clone())
            .ok_or_else(|| DomainError::Conflict {
                code: "already_done",
                message: format!("{what}: your unit has already done so"),
            })
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
    /// The commands `actor` may give now, by name: each is tried on the case with placeholder
    /// fields. A refusal for the role, the scope, the state or the case's circumstances rules it
    /// out; a refusal of the placeholder fields (which the real form fills) does not. The console
    /// shows only these; the command itself is still judged in full when given.
    pub fn allowed_commands(
        &self,
        actor: &Actor,
        now: Time,
        ctx: &Context<'_>,
    ) -> Vec<&'static str> {
        let text = || "—".to_string();
        let nobody = || UnitId::new(String::new());
        let mut probes = vec![
            Command::AnswerDirectly { answer: text() },
            Command::Dispatch {
                unit: nobody(),
                co_units: vec![],
                note: None,
            },
            Command::Redispatch {
                unit: nobody(),
                note: None,
            },
            Command::Accept { note: None },
            Command::Return { reason: text() },
            Command::Contact { note: None },
            Command::Reply {
                outcome: ReplyOutcome::Resolved,
                text: text(),
                reason: None,
            },
            Command::Review {
                decision: ReviewDecision::Approve,
                comment: None,
            },
            Command::Callback {
                resolved: true,
                satisfaction: Satisfaction::Satisfied,
                note: None,
                unit_at_fault: None,
            },
            Command::Close { note: None },
            Command::Reopen { reason: text() },
            Command::RequestExtension {
                working_days: 1,
                reason: text(),
            },
            Command::ApproveExtension { comment: None },
            Command::DenyExtension { reason: text() },
            Command::Suspend { reason: text() },
            Command::Resume { note: None },
            Command::Merge {
                into: String::new(),
            },
            Command::Annotate { text: text() },
            Command::Whistle {
                units: vec![],
                lead: nobody(),
                note: None,
            },
            Command::ReportIn { note: None },
            Command::RecordPart { text: text() },
            Command::Supervise {
                level: SuperviseLevel::General,
                note: text(),
                due: None,
            },
            Command::Remind { note: text() },
        ];
        for c in &self.cards {
            probes.push(Command::Appeal {
                card: c.id.clone(),
                reason: text(),
            });
            probes.push(Command::DecideAppeal {
                card: c.id.clone(),
                decision: AppealDecision::Uphold,
                reason: text(),
            });
        }
        let mut out: Vec<&'static str> = Vec::new();
        for p in &probes {
            let allowed = match self.apply(p, actor, now, ctx) {
                Ok(_) => true,
                // Placeholder units are empty ids: refused as unknown before any scope check.
                Err(DomainError::Invalid { .. } | DomainError::Unknown { .. }) => true,
                Err(_) => false,
            };
            if allowed && !out.contains(&p.name()) {
                out.push(p.name());
            }
        }
        out
    }

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
                    refuse_closed(ctx.org, u)?;
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
                // A case returned to the dispatcher keeps its resolve deadline (see `Deadlines::start`).
                let deadlines = Deadlines::start(
                    ctx.calendar,
                    ctx.policy.spans(
                        self.draft.kind,
                        self.draft.category.as_deref(),
                        self.draft.urgency,
                    ),
                    now,
                    self.deadlines.as_ref(),
                )?;
                let mut co = co_units.clone();
                co.sort();
                co.dedup();
                let report_in_due = if co.is_empty() {
                    None
                } else {
                    Some(
                        ctx.policy
                            .supervision
                            .report_in
                            .due_from(ctx.calendar, now)?,
                    )
                };
                vec![CaseEvent::Dispatched {
                    unit: unit.clone(),
                    co_units: co,
                    deadlines,
                    note: note.clone(),
                    report_in_due,
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
                refuse_closed(ctx.org, unit)?;
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
                // After a whistle the lead unit replies (the assigned unit unless another leads).
                let replier = self.lead.as_ref().unwrap_or(&assigned);
                self.need_role(actor, ctx, HANDLING, replier, name)?;
                self.need_state(name, &[S::InProgress])?;
                let missing: Vec<&str> = self
                    .summons
                    .iter()
                    .filter(|s| s.part.is_none() && Some(&s.unit) != self.lead.as_ref())
                    .map(|s| s.unit.as_str())
                    .collect();
                if !missing.is_empty() {
                    return Err(DomainError::Conflict {
                        code: "parts_missing",
                        message: format!(
                            "every summoned unit records its part first; missing: {}",
                            missing.join(", ")
                        ),
                    });
                }
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
                unit_at_fault,
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
                let recorded = CaseEvent::CallbackRecorded {
                    resolved: *resolved,
                    satisfaction: *satisfaction,
                    note: note.clone(),
                };
                match satisfaction {
                    // An unanswered call is an attempt; only the last allowed one is an outcome.
                    Satisfaction::Unreachable => {
                        let attempt = self.callback_attempts + 1;
                        if attempt < ctx.policy.supervision.callback_attempts {
                            vec![CaseEvent::CallbackAttempted {
                                attempt,
                                note: note.clone(),
                            }]
                        } else {
                            vec![recorded, CaseEvent::Closed { note: None }]
                        }
                    }
                    // The unit's fault: reopened once (重办); the second rating closes it.
                    Satisfaction::Unsatisfied
                        if unit_at_fault.unwrap_or(true) && self.reopen_count == 0 =>
                    {
                        let resolve_due = match &self.deadlines {
                            Some(d) => d.reopened(ctx.calendar, now)?,
                            None => Span::WorkingDays(5).due_from(ctx.calendar, now)?,
                        };
                        vec![
                            recorded,
                            CaseEvent::Reopened {
                                reason: "群众不满意，责任单位重办 (unsatisfied: reopened once)"
                                    .into(),
                                resolve_due,
                                provisional: ctx.calendar.provisional_between(now, resolve_due),
                            },
                        ]
                    }
                    _ => vec![recorded, CaseEvent::Closed { note: None }],
                }
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
                let resolve_due = match &self.deadlines {
                    Some(d) => d.reopened(ctx.calendar, now)?,
                    None => Span::WorkingDays(5).due_from(ctx.calendar, now)?,
                };
                vec![CaseEvent::Reopened {
                    reason: reason.clone(),
                    resolve_due,
                    provisional: ctx.calendar.provisional_between(now, resolve_due),
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
                let resolve_due = d.extended(ctx.calendar, req.working_days)?;
                vec![CaseEvent::ExtensionApproved {
                    working_days: req.working_days,
                    resolve_due,
                    comment: comment.clone(),
                    provisional: ctx.calendar.provisional_between(now, resolve_due),
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
                let resolve_due = match &self.deadlines {
                    None => None,
                    Some(d) => Some(d.resumed(ctx.calendar, since, now)?),
                };
                // Accept and contact stood still too: a unit is not carded for a deadline that
                // fell while the case was suspended.
                let response = match &self.deadlines {
                    Some(d) => Some(d.resumed_response(ctx.calendar, since, now)?),
                    None => None,
                };
                vec![CaseEvent::Resumed {
                    resolve_due,
                    note: note.clone(),
                    provisional: resolve_due
                        .is_some_and(|due| ctx.calendar.provisional_between(now, due)),
                    accept_due: response.map(|r| r.0),
                    contact_due: response.map(|r| r.1),
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
            Command::Attach(file) => {
                // The reporting citizen adds to his own case; staff to a case their unit is in.
                let own = self.draft.reporter.user_id.as_deref() == Some(actor.user_id.as_str());
                if !own {
                    self.need_role_over_involved(actor, ctx, STAFF, name)?;
                }
                if self.state == S::Merged {
                    return Err(DomainError::WrongState {
                        command: name,
                        state: self.state,
                    });
                }
                check_text("name", &file.name, 200, true)?;
                if file.sha256.len() != 64 || !file.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid("sha256", "64 hexadecimal digits"));
                }
                vec![CaseEvent::AttachmentAdded(file.clone())]
            }
            Command::Whistle { units, lead, note } => {
                self.need_role(actor, ctx, WHISTLING, &assigned, name)?;
                self.need_state(name, &[S::Accepted, S::InProgress])?;
                check_opt("note", note, MAX_NOTE)?;
                let grassroots = ctx.org.get(&assigned).is_some_and(|u| {
                    matches!(
                        u.kind,
                        UnitKind::Street | UnitKind::Town | UnitKind::Community | UnitKind::Village
                    )
                });
                if !grassroots {
                    return Err(DomainError::Conflict {
                        code: "whistle_not_grassroots",
                        message:
                            "only a street, town, community or village holding the case whistles"
                                .into(),
                    });
                }
                if units.is_empty() || units.len() > 20 {
                    return Err(invalid("units", "1 to 20 units"));
                }
                let mut summoned: Vec<UnitId> = Vec::new();
                for u in units {
                    if !ctx.org.contains(u) {
                        return Err(DomainError::Unknown {
                            code: "unknown_unit",
                            message: format!("no unit {u}"),
                        });
                    }
                    refuse_closed(ctx.org, u)?;
                    if u == &assigned || self.co_units.contains(u) || summoned.contains(u) {
                        return Err(invalid(
                            "units",
                            format!("{u} already takes part in the case"),
                        ));
                    }
                    summoned.push(u.clone());
                }
                if lead != &assigned && !summoned.contains(lead) {
                    return Err(invalid(
                        "lead",
                        "the lead is the whistling unit or one of the units summoned",
                    ));
                }
                let report_in_due = ctx
                    .policy
                    .supervision
                    .report_in
                    .due_from(ctx.calendar, now)?;
                vec![CaseEvent::Whistled {
                    units: summoned,
                    lead: lead.clone(),
                    report_in_due,
                    note: note.clone(),
                }]
            }
            Command::ReportIn { note } => {
                check_opt("note", note, MAX_NOTE)?;
                let unit = self.summoned_unit_of(actor, ctx, name, |s| s.reported_at.is_none())?;
                vec![CaseEvent::ReportedIn {
                    unit,
                    note: note.clone(),
                }]
            }
            Command::RecordPart { text } => {
                check_text("text", text, MAX_NOTE, true)?;
                self.need_state(name, &[S::Dispatched, S::Accepted, S::InProgress])?;
                let unit = self.summoned_unit_of(actor, ctx, name, |s| s.part.is_none())?;
                let mut evs = Vec::new();
                // Recording a part is taking part: it reports in if that was not done.
                if self
                    .summons
                    .iter()
                    .any(|s| s.unit == unit && s.reported_at.is_none())
                {
                    evs.push(CaseEvent::ReportedIn {
                        unit: unit.clone(),
                        note: None,
                    });
                }
                evs.push(CaseEvent::PartRecorded {
                    unit,
                    text: text.clone(),
                });
                evs
            }
            Command::Supervise { level, note, due } => {
                self.need_role_over_involved(actor, ctx, &[Role::Leader], name)?;
                // Any open case, suspended ones included: a leader may press on a stalled case.
                self.need_state(name, OPEN_STATES)?;
                check_text("note", note, MAX_NOTE, true)?;
                if let Some(d) = due
                    && *d <= now
                {
                    return Err(invalid(
                        "due",
                        "the supervision's due moment lies in the future",
                    ));
                }
                vec![CaseEvent::Supervised {
                    level: *level,
                    note: note.clone(),
                    due: *due,
                }]
            }
            Command::Remind { note } => {
                let roles = [Role::Leader, Role::Dispatcher, Role::Inspector];
                self.need_role_over_involved(actor, ctx, &roles, name)?;
                // A reminder is for someone who can act now: not on a suspended case.
                let live: Vec<CaseState> = OPEN_STATES
                    .iter()
                    .copied()
                    .filter(|st| *st != S::Suspended)
                    .collect();
                self.need_state(name, &live)?;
                check_text("note", note, MAX_NOTE, true)?;
                vec![CaseEvent::Reminded { note: note.clone() }]
            }
            Command::Appeal { card, reason } => {
                check_text("reason", reason, MAX_NOTE, true)?;
                let c = self.card(card)?;
                self.need_role(actor, ctx, &[Role::Handler, Role::Leader], &c.unit, name)?;
                if c.status != CardStatus::Active {
                    return Err(DomainError::Conflict {
                        code: "appeal_exists",
                        message: format!(
                            "card {card} was already appealed ({})",
                            c.status.as_str()
                        ),
                    });
                }
                vec![CaseEvent::CardAppealed {
                    card: c.id.clone(),
                    reason: reason.clone(),
                }]
            }
            Command::DecideAppeal {
                card,
                decision,
                reason,
            } => {
                if !actor.has_role(Role::Inspector) {
                    return Err(forbidden("role_forbidden", "an inspector decides appeals"));
                }
                check_text("reason", reason, MAX_NOTE, true)?;
                let c = self.card(card)?;
                if !actor.may_act_on(ctx.org, &[Role::Inspector], &c.unit)
                    && !actor.may_act_on(ctx.org, &[Role::Inspector], &self.intake_unit)
                {
                    return Err(forbidden(
                        "out_of_scope",
                        "the card's unit is outside your org scope",
                    ));
                }
                if c.status != CardStatus::Appealed {
                    return Err(DomainError::Conflict {
                        code: "no_appeal_pending",
                        message: format!(
                            "card {card} has no appeal waiting ({})",
                            c.status.as_str()
                        ),
                    });
                }
                let (card, reason) = (c.id.clone(), reason.clone());
                vec![match decision {
                    AppealDecision::Uphold => CaseEvent::CardUpheld { card, reason },
                    AppealDecision::Revoke => CaseEvent::CardRevoked { card, reason },
                }]
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
                report_in_due,
                ..
            } => {
                self.state = S::Dispatched;
                self.assigned_unit = Some(unit.clone());
                self.co_units = co_units.clone();
                self.lead = None;
                self.summons = co_units
                    .iter()
                    .map(|u| Summons {
                        unit: u.clone(),
                        summoned_at: at,
                        // A trail from before summons had no report-in: counted as reported.
                        report_in_due: report_in_due.unwrap_or(at),
                        reported_at: if report_in_due.is_some() {
                            None
                        } else {
                            Some(at)
                        },
                        part: None,
                    })
                    .collect();
                self.dispatch_chain.clear();
                self.deadlines = Some(deadlines.clone());
                self.dispatched_at = Some(at);
                // A new dispatch is a new unit's turn: its own accept and contact are judged.
                self.accepted_at = None;
                self.contacted_at = None;
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
                        // Back at the dispatcher, nobody is summoned: the next dispatch summons anew.
                        self.summons.clear();
                        self.lead = None;
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
            CaseEvent::Reopened {
                resolve_due,
                provisional,
                ..
            } => {
                self.state = S::InProgress;
                self.reopen_count += 1;
                self.callback = None;
                self.callback_attempts = 0;
                self.reply = None;
                self.closed_at = None;
                self.set_resolve_due(*resolve_due, *provisional);
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
            CaseEvent::ExtensionApproved {
                resolve_due,
                provisional,
                ..
            } => {
                self.pending_extension = None;
                self.extensions_granted += 1;
                self.set_resolve_due(*resolve_due, *provisional);
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
            CaseEvent::Resumed {
                resolve_due,
                provisional,
                accept_due,
                contact_due,
                ..
            } => {
                if let Some(s) = self.suspension.take() {
                    self.state = s.prior;
                }
                if let Some(due) = resolve_due {
                    self.set_resolve_due(*due, *provisional);
                }
                if let Some(d) = &mut self.deadlines {
                    if let Some(a) = accept_due {
                        d.accept_due = *a;
                    }
                    if let Some(c) = contact_due {
                        d.contact_due = *c;
                    }
                }
            }
            CaseEvent::Merged { into } => {
                self.state = S::Merged;
                self.merged_into = Some(into.clone());
                self.closed_at = Some(at);
            }
            CaseEvent::Annotated { .. } | CaseEvent::AttachmentAdded(_) => {}
            CaseEvent::DeadlinesRecomputed { deadlines, .. } => {
                self.deadlines = Some(deadlines.clone());
            }
            CaseEvent::Whistled {
                units,
                lead,
                report_in_due,
                ..
            } => {
                self.lead = Some(lead.clone());
                for u in units {
                    if !self.co_units.contains(u) {
                        self.co_units.push(u.clone());
                    }
                    if !self.involved_units.contains(u) {
                        self.involved_units.push(u.clone());
                    }
                    self.summons.push(Summons {
                        unit: u.clone(),
                        summoned_at: at,
                        report_in_due: *report_in_due,
                        reported_at: None,
                        part: None,
                    });
                }
            }
            CaseEvent::ReportedIn { unit, .. } => {
                if let Some(s) = self.summons.iter_mut().find(|s| &s.unit == unit) {
                    s.reported_at.get_or_insert(at);
                }
            }
            CaseEvent::PartRecorded { unit, text } => {
                if let Some(s) = self.summons.iter_mut().find(|s| &s.unit == unit) {
                    s.part = Some(text.clone());
                }
            }
            CaseEvent::Supervised { level, note, due } => self.supervisions.push(Supervision {
                level: *level,
                note: note.clone(),
                due: *due,
                at,
            }),
            CaseEvent::Reminded { .. } => self.reminders += 1,
            CaseEvent::CallbackAttempted { attempt, .. } => self.callback_attempts = *attempt,
            CaseEvent::DeadlineWarning { kind, unit, due } => self.fired.push(Fired {
                kind: *kind,
                unit: unit.clone(),
                due: *due,
                stage: Stage::Warned,
            }),
            CaseEvent::DeadlineMissed { kind, unit, due } => self.fired.push(Fired {
                kind: *kind,
                unit: unit.clone(),
                due: *due,
                stage: Stage::Missed,
            }),
            CaseEvent::YellowCard { card } => self.cards.push(card.clone()),
            CaseEvent::RedCard { card } => {
                if card.reason == crate::supervision::CardReason::ResolveFarLate
                    && let (Some(due), Some(unit)) = (card.due, &self.assigned_unit)
                {
                    self.fired.push(Fired {
                        kind: DeadlineKind::Resolve,
                        unit: unit.clone(),
                        due,
                        stage: Stage::FarLate,
                    });
                }
                self.cards.push(card.clone())
            }
            CaseEvent::CardAppealed { card, reason } => {
                if let Some(c) = self.cards.iter_mut().find(|c| &c.id == card) {
                    c.status = CardStatus::Appealed;
                    c.appeal_reason = Some(reason.clone());
                }
            }
            CaseEvent::CardUpheld { card, reason } | CaseEvent::CardRevoked { card, reason } => {
                let revoked = matches!(ev, CaseEvent::CardRevoked { .. });
                if let Some(c) = self.cards.iter_mut().find(|c| &c.id == card) {
                    c.status = if revoked {
                        CardStatus::Revoked
                    } else {
                        CardStatus::Upheld
                    };
                    c.decision_reason = Some(reason.clone());
                }
            }
        }
    }

    fn set_resolve_due(&mut self, due: Time, provisional: bool) {
        if let Some(d) = &mut self.deadlines {
            d.resolve_due = due;
            d.provisional |= provisional;
        }
    }

    /// The deadlines this case's trail gives on `ctx`'s calendar, computed as the commands that
    /// set them did (first dispatch, later dispatches, extensions, suspensions, reopenings).
    /// Accept and contact spans come from the policy in force; the resolve span is the one the
    /// first dispatch recorded. `None` for a case never dispatched.
    pub fn deadlines_on(
        trail: &[(&CaseEvent, Time)],
        kind: Kind,
        category: Option<&str>,
        urgency: Urgency,
        ctx: &Context<'_>,
    ) -> Result<Option<Deadlines>, DomainError> {
        let mut d: Option<Deadlines> = None;
        let mut suspended_since: Option<Time> = None;
        for (ev, at) in trail {
            let at = *at;
            match ev {
                CaseEvent::Dispatched { deadlines, .. } => {
                    let (a, c, _) = ctx.policy.spans(kind, category, urgency);
                    let spans = (a, c, deadlines.resolve_span);
                    d = Some(Deadlines::start(ctx.calendar, spans, at, d.as_ref())?);
                }
                CaseEvent::ExtensionApproved { working_days, .. } => {
                    if let Some(cur) = d.take() {
                        let due = cur.extended(ctx.calendar, *working_days)?;
                        d = Some(cur.with_resolve_due(ctx.calendar, at, due));
                    }
                }
                CaseEvent::Suspended { .. } => suspended_since = Some(at),
                CaseEvent::Resumed {
                    resolve_due,
                    accept_due,
                    ..
                } => {
                    let since = suspended_since.take().unwrap_or(at);
                    if let (Some(mut cur), Some(_)) = (d.take(), resolve_due) {
                        if accept_due.is_some() {
                            (cur.accept_due, cur.contact_due) =
                                cur.resumed_response(ctx.calendar, since, at)?;
                        }
                        let due = cur.resumed(ctx.calendar, since, at)?;
                        d = Some(cur.with_resolve_due(ctx.calendar, at, due));
                    }
                }
                CaseEvent::Reopened { .. } => {
                    if let Some(cur) = d.take() {
                        let due = cur.reopened(ctx.calendar, at)?;
                        d = Some(cur.with_resolve_due(ctx.calendar, at, due));
                    }
                }
                _ => {}
            }
        }
        // Recomputed on this calendar: provisional only if it still runs through such a year.
        if let Some(cur) = &mut d {
            let first = trail.first().map(|(_, at)| *at);
            let latest = cur.accept_due.max(cur.contact_due).max(cur.resolve_due);
            cur.provisional = first.is_some_and(|f| ctx.calendar.provisional_between(f, latest));
        }
        Ok(d)
    }

    /// The event that brings an open case's deadlines in line with a changed holiday schedule
    /// (`trail` is the case's whole trail), or `None` when nothing moves.
    pub fn recalendar(
        &self,
        trail: &[(&CaseEvent, Time)],
        reason: &str,
        ctx: &Context<'_>,
    ) -> Result<Option<CaseEvent>, DomainError> {
        // Only deadlines counted on a provisional year move: a policy edited since dispatch
        // must not move settled deadlines through the back door.
        let Some(current) = self.deadlines.as_ref().filter(|d| d.provisional) else {
            return Ok(None);
        };
        if !self.state.is_open() {
            return Ok(None);
        }
        let Some(new) = Self::deadlines_on(
            trail,
            self.draft.kind,
            self.draft.category.as_deref(),
            self.draft.urgency,
            ctx,
        )?
        else {
            return Ok(None);
        };
        if &new == current {
            return Ok(None);
        }
        Ok(Some(CaseEvent::DeadlinesRecomputed {
            deadlines: new,
            reason: reason.to_string(),
        }))
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

    /// Units taking part besides the holder and the intake unit (co-units, summoned units, units
    /// that held it before), each with whether it still owes a report-in or its part.
    pub fn parties(&self) -> Vec<(&UnitId, bool)> {
        let mut v: Vec<(&UnitId, bool)> = Vec::new();
        let open = self.state.is_open();
        for u in self.involved_units.iter().chain(self.co_units.iter()) {
            if Some(u) == self.assigned_unit.as_ref()
                || u == &self.intake_unit
                || v.iter().any(|(x, _)| *x == u)
            {
                continue;
            }
            let owes = open
                && self
                    .summons
                    .iter()
                    .any(|s| &s.unit == u && (s.reported_at.is_none() || s.part.is_none()));
            v.push((u, owes));
        }
        v
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
