//! Supervision (督办): deadlines that fire, yellow and red cards (黄牌/红牌) with their appeals
//! (申诉), the summons of 吹哨报到, leaders' instructions (督办) and reminders (催办).
//!
//! Everything here is pure: the clock service asks [`due_events`] what a case's passing deadlines
//! mean at `now`, and writes what it answers through the store like any other event.

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Time, WorkCalendar};
use crate::case::{Case, CaseEvent, CaseState, Context};
use crate::deadline::{PolicyError, Span};
use crate::org::UnitId;

string_enum!(
    /// Which clock a deadline belongs to.
    DeadlineKind {
        Accept = "accept" / "签收",
        Contact = "contact" / "联系群众",
        ReportIn = "report_in" / "报到",
        Resolve = "resolve" / "办结",
        Supervision = "supervision" / "督办",
    }
);

string_enum!(
    CardColor {
        Yellow = "yellow" / "黄牌",
        Red = "red" / "红牌",
    }
);

string_enum!(
    CardStatus {
        Active = "active" / "有效",
        Appealed = "appealed" / "申诉中",
        Upheld = "upheld" / "申诉驳回",
        Revoked = "revoked" / "已撤销",
    }
);

string_enum!(
    /// Why a card was issued.
    CardReason {
        AcceptLate = "accept_late" / "超时未签收",
        ContactLate = "contact_late" / "超时未联系群众",
        ReportInLate = "report_in_late" / "超时未报到",
        ResolveLate = "resolve_late" / "超期未办结",
        ResolveFarLate = "resolve_far_late" / "严重超期未办结",
        YellowLimit = "yellow_limit" / "当月黄牌超限",
    }
);

string_enum!(
    /// 督办级别.
    SuperviseLevel {
        General = "general" / "一般督办",
        Key = "key" / "重点督办",
        Listed = "listed" / "挂牌督办",
    }
);

string_enum!(
    AppealDecision {
        Uphold = "uphold" / "维持",
        Revoke = "revoke" / "撤销",
    }
);

/// A card against a unit, issued on a case. `id` is unique within the case (`Y1`, `R1`, …); the
/// case number and the id name it everywhere.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Card {
    pub id: String,
    pub color: CardColor,
    pub unit: UnitId,
    pub reason: CardReason,
    /// The due moment that was missed (for yellow cards and late-resolution reds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Time>,
    pub issued_at: Time,
    pub status: CardStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appeal_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
}

impl Card {
    /// Whether it counts against its unit: until an inspector revokes it.
    pub fn counts(&self) -> bool {
        self.status != CardStatus::Revoked
    }
}

/// A unit summoned to a case (吹哨报到, or a co-unit named at dispatch): it must report in by
/// `report_in_due` and record its part before the lead unit's reply completes the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summons {
    pub unit: UnitId,
    pub summoned_at: Time,
    pub report_in_due: Time,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
}

/// A leader's instruction on a case (督办).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Supervision {
    pub level: SuperviseLevel,
    pub note: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<Time>,
    // Who gave it is the `supervised` event's actor in the trail, not repeated here.
    pub at: Time,
}

/// How far a deadline has fired; one mark per (kind, unit, due) and stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Warned,
    Missed,
    /// Resolution late beyond the red-card limit.
    FarLate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    pub kind: DeadlineKind,
    pub unit: UnitId,
    pub due: Time,
    pub stage: Stage,
}

/// The supervision rules, from the `[supervision]` table of the deadline policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisionRules {
    /// A warning fires when this share of a deadline's time has passed (working time for working
    /// spans, calendar time otherwise).
    pub warn_share: f64,
    /// A red card when resolution is late by more than this many working days.
    pub red_after_working_days: u32,
    /// A red card when a unit collects more than this many yellow cards in a calendar month.
    pub yellow_limit_per_month: u32,
    /// How long a summoned unit has to report in.
    pub report_in: Span,
    /// Unreachable callback attempts before "unreachable" is the outcome.
    pub callback_attempts: u32,
}

impl Default for SupervisionRules {
    fn default() -> Self {
        SupervisionRules {
            warn_share: 0.8,
            red_after_working_days: 5,
            yellow_limit_per_month: 3,
            report_in: Span::WorkingHours(2),
            callback_attempts: 3,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct SupervisionFile {
    warn_share: Option<f64>,
    red_after_working_days: Option<u32>,
    yellow_limit_per_month: Option<u32>,
    report_in: Option<String>,
    callback_attempts: Option<u32>,
}

impl SupervisionFile {
    pub(crate) fn parse(self) -> Result<SupervisionRules, PolicyError> {
        let d = SupervisionRules::default();
        let warn_share = self.warn_share.unwrap_or(d.warn_share);
        if !(warn_share > 0.0 && warn_share < 1.0) {
            return Err(PolicyError(format!(
                "[supervision] warn_share {warn_share}: between 0 and 1"
            )));
        }
        let callback_attempts = self.callback_attempts.unwrap_or(d.callback_attempts);
        if !(1..=10).contains(&callback_attempts) {
            return Err(PolicyError(
                "[supervision] callback_attempts: 1 to 10".into(),
            ));
        }
        Ok(SupervisionRules {
            warn_share,
            red_after_working_days: self
                .red_after_working_days
                .unwrap_or(d.red_after_working_days),
            yellow_limit_per_month: self
                .yellow_limit_per_month
                .unwrap_or(d.yellow_limit_per_month),
            report_in: match self.report_in {
                Some(s) => Span::parse(&s)?,
                None => d.report_in,
            },
            callback_attempts,
        })
    }
}

/// A deadline that is running now.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveDeadline {
    pub kind: DeadlineKind,
    pub unit: UnitId,
    pub start: Time,
    pub due: Time,
    /// Counted in working time (so the warning share is too).
    pub working: bool,
}

fn is_working(span: Option<Span>) -> bool {
    matches!(span, Some(Span::WorkingDays(_) | Span::WorkingHours(_)))
}

/// The deadlines running on a case: accept while dispatched, contact until the reporter is
/// contacted, resolve while the unit holds it, each summoned unit's report-in, and a leader's
/// supervision due while the case is open. A suspended case's clocks stand still.
pub fn live_deadlines(case: &Case) -> Vec<LiveDeadline> {
    let mut out = Vec::new();
    let (Some(d), Some(unit)) = (&case.deadlines, &case.assigned_unit) else {
        return out;
    };
    let started = case.dispatched_at.unwrap_or(case.received_at);
    let holding = matches!(
        case.state,
        CaseState::Dispatched | CaseState::Accepted | CaseState::InProgress
    );
    if case.state == CaseState::Dispatched {
        out.push(LiveDeadline {
            kind: DeadlineKind::Accept,
            unit: unit.clone(),
            start: d.started_at.unwrap_or(started),
            due: d.accept_due,
            working: is_working(d.accept_span),
        });
    }
    if holding && case.contacted_at.is_none() {
        out.push(LiveDeadline {
            kind: DeadlineKind::Contact,
            unit: unit.clone(),
            start: d.started_at.unwrap_or(started),
            due: d.contact_due,
            working: is_working(d.contact_span),
        });
    }
    if holding {
        out.push(LiveDeadline {
            kind: DeadlineKind::Resolve,
            unit: unit.clone(),
            start: d.resolve_started_at.unwrap_or(started),
            due: d.resolve_due,
            working: is_working(Some(d.resolve_span)),
        });
    }
    if case.state.is_open() && case.state != CaseState::Suspended {
        for s in &case.summons {
            if s.reported_at.is_none() {
                out.push(LiveDeadline {
                    kind: DeadlineKind::ReportIn,
                    unit: s.unit.clone(),
                    start: s.summoned_at,
                    due: s.report_in_due,
                    working: true,
                });
            }
        }
    }
    if holding {
        for s in &case.supervisions {
            if let Some(due) = s.due {
                out.push(LiveDeadline {
                    kind: DeadlineKind::Supervision,
                    unit: unit.clone(),
                    start: s.at,
                    due,
                    working: false,
                });
            }
        }
    }
    out
}

/// The moment the warning of `d` fires.
pub fn warn_at(d: &LiveDeadline, cal: &WorkCalendar, share: f64) -> Time {
    if d.due <= d.start {
        return d.due;
    }
    let working = if d.working {
        cal.working_time_between(d.start, d.due).ok()
    } else {
        None
    };
    match working {
        Some(w) if !w.is_zero() => {
            let part = Duration::milliseconds((w.num_milliseconds() as f64 * share) as i64);
            cal.add_working_time(d.start, part)
                .unwrap_or(d.due)
                .min(d.due)
        }
        _ => {
            let total = (d.due - d.start).num_milliseconds() as f64;
            d.start + Duration::milliseconds((total * share) as i64)
        }
    }
}

/// When resolution late by more than the rule allows earns a red card.
pub fn far_late_at(
    due: Time,
    cal: &WorkCalendar,
    rules: &SupervisionRules,
) -> Result<Time, CalendarError> {
    cal.add_working_days(due, rules.red_after_working_days)
}

fn fired(case: &Case, d: &LiveDeadline, stage: Stage) -> bool {
    case.fired
        .iter()
        .any(|f| f.kind == d.kind && f.unit == d.unit && f.due == d.due && f.stage == stage)
}

/// The stages of a live deadline still to fire, with their moments.
fn pending(case: &Case, d: &LiveDeadline, ctx: &Context<'_>) -> Vec<(Stage, Time)> {
    let rules = &ctx.policy.supervision;
    let mut v = Vec::new();
    if !fired(case, d, Stage::Missed) {
        if !fired(case, d, Stage::Warned) {
            v.push((Stage::Warned, warn_at(d, ctx.calendar, rules.warn_share)));
        }
        v.push((Stage::Missed, d.due));
    }
    if d.kind == DeadlineKind::Resolve
        && !fired(case, d, Stage::FarLate)
        && let Ok(t) = far_late_at(d.due, ctx.calendar, rules)
    {
        v.push((Stage::FarLate, t));
    }
    v
}

/// The next moment something fires on this case, for the clock's index.
pub fn next_fire(case: &Case, ctx: &Context<'_>) -> Option<Time> {
    live_deadlines(case)
        .iter()
        .flat_map(|d| pending(case, d, ctx))
        .map(|(_, t)| t)
        .min()
}

fn next_card_id(case: &Case, color: CardColor, issued: usize) -> String {
    let prefix = match color {
        CardColor::Yellow => 'Y',
        CardColor::Red => 'R',
    };
    let n = case.cards.iter().filter(|c| c.color == color).count() + issued + 1;
    format!("{prefix}{n}")
}

fn card_reason(kind: DeadlineKind) -> Option<CardReason> {
    match kind {
        DeadlineKind::Accept => Some(CardReason::AcceptLate),
        DeadlineKind::Contact => Some(CardReason::ContactLate),
        DeadlineKind::ReportIn => Some(CardReason::ReportInLate),
        DeadlineKind::Resolve => Some(CardReason::ResolveLate),
        // A leader's due date is pressure, not a card of its own: the resolve deadline carries it.
        DeadlineKind::Supervision => None,
    }
}

/// What the case's deadlines mean at `now`: warnings, misses, and the cards they earn, in the
/// order they fell due. `month_yellows(unit, at)` is how many yellow cards (not revoked) the unit
/// already holds in `at`'s calendar month, on every case this one included (as stored); crossing
/// the monthly limit earns a red card. Deadlines that were already fired are not fired again, so
/// asking twice is harmless.
pub fn due_events(
    case: &Case,
    now: Time,
    ctx: &Context<'_>,
    month_yellows: &dyn Fn(&UnitId, Time) -> u32,
) -> Vec<CaseEvent> {
    let rules = &ctx.policy.supervision;
    let mut steps: Vec<(Time, Stage, LiveDeadline)> = Vec::new();
    for d in live_deadlines(case) {
        for (stage, at) in pending(case, &d, ctx) {
            // A deadline already missed needs no warning first (the server was down, say).
            let moot = stage == Stage::Warned && d.due <= now;
            if at <= now && !moot {
                steps.push((at, stage, d.clone()));
            }
        }
    }
    steps.sort_by_key(|s| s.0);
    let mut out = Vec::new();
    let mut yellows: Vec<Card> = Vec::new();
    let mut reds = 0;
    for (at, stage, d) in steps {
        match stage {
            Stage::Warned => out.push(CaseEvent::DeadlineWarning {
                kind: d.kind,
                unit: d.unit.clone(),
                due: d.due,
            }),
            Stage::Missed => {
                out.push(CaseEvent::DeadlineMissed {
                    kind: d.kind,
                    unit: d.unit.clone(),
                    due: d.due,
                });
                let Some(reason) = card_reason(d.kind) else {
                    continue;
                };
                let card = Card {
                    id: next_card_id(case, CardColor::Yellow, yellows.len()),
                    color: CardColor::Yellow,
                    unit: d.unit.clone(),
                    reason,
                    due: Some(d.due),
                    issued_at: at,
                    status: CardStatus::Active,
                    appeal_reason: None,
                    decision_reason: None,
                };
                out.push(CaseEvent::YellowCard { card: card.clone() });
                let this_batch = yellows
                    .iter()
                    .filter(|c| {
                        c.color == CardColor::Yellow
                            && c.counts()
                            && c.unit == d.unit
                            && same_month(c.issued_at, at)
                    })
                    .count() as u32;
                let held = month_yellows(&d.unit, at) + this_batch + 1;
                yellows.push(card);
                if held == rules.yellow_limit_per_month + 1 {
                    out.push(CaseEvent::RedCard {
                        card: Card {
                            id: next_card_id(case, CardColor::Red, reds),
                            color: CardColor::Red,
                            unit: d.unit.clone(),
                            reason: CardReason::YellowLimit,
                            due: None,
                            issued_at: at,
                            status: CardStatus::Active,
                            appeal_reason: None,
                            decision_reason: None,
                        },
                    });
                    reds += 1;
                }
            }
            Stage::FarLate => {
                out.push(CaseEvent::RedCard {
                    card: Card {
                        id: next_card_id(case, CardColor::Red, reds),
                        color: CardColor::Red,
                        unit: d.unit.clone(),
                        reason: CardReason::ResolveFarLate,
                        due: Some(d.due),
                        issued_at: at,
                        status: CardStatus::Active,
                        appeal_reason: None,
                        decision_reason: None,
                    },
                });
                reds += 1;
            }
        }
    }
    out
}

/// Whether two moments fall in the same calendar month (Beijing time).
pub fn same_month(a: Time, b: Time) -> bool {
    use chrono::Datelike;
    let (a, b) = (
        crate::calendar::to_beijing(a),
        crate::calendar::to_beijing(b),
    );
    a.year() == b.year() && a.month() == b.month()
}
