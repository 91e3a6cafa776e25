//! Deadline policies: how long a unit has to accept, contact the reporter and resolve a case,
//! per kind, category and urgency. Computed once when the clock starts, then stored with the case.

use std::collections::BTreeMap;

use chrono::Duration;
use serde::{Deserialize, Serialize};

use crate::calendar::{CalendarError, Time, WorkCalendar};
use crate::case::{Kind, Urgency};

/// A span of time, counted either in working time or in calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "n", rename_all = "snake_case")]
pub enum Span {
    WorkingDays(u32),
    WorkingHours(u32),
    CalendarHours(u32),
    CalendarMinutes(u32),
}

impl Span {
    /// Parses `3 working days`, `2 working hours`, `24 hours`, `30 minutes`.
    pub fn parse(s: &str) -> Result<Span, PolicyError> {
        let bad = || {
            PolicyError(format!(
                "{s:?}: expected e.g. \"3 working days\", \"2 working hours\", \"24 hours\""
            ))
        };
        let mut words = s.split_whitespace();
        let n: u32 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let rest: Vec<&str> = words.collect();
        let span = match rest.as_slice() {
            ["working", "day" | "days"] => Span::WorkingDays(n),
            ["working", "hour" | "hours"] => Span::WorkingHours(n),
            ["hour" | "hours"] | ["calendar", "hour" | "hours"] => Span::CalendarHours(n),
            ["minute" | "minutes"] | ["calendar", "minute" | "minutes"] => Span::CalendarMinutes(n),
            _ => return Err(bad()),
        };
        if n == 0 || n > 1000 {
            return Err(bad());
        }
        Ok(span)
    }

    pub fn due_from(self, cal: &WorkCalendar, start: Time) -> Result<Time, CalendarError> {
        match self {
            Span::WorkingDays(n) => cal.add_working_days(start, n),
            Span::WorkingHours(n) => cal.add_working_hours(start, n),
            Span::CalendarHours(n) => Ok(start + Duration::hours(i64::from(n))),
            Span::CalendarMinutes(n) => Ok(start + Duration::minutes(i64::from(n))),
        }
    }

    pub fn describe(self) -> String {
        match self {
            Span::WorkingDays(n) => format!("{n} working days"),
            Span::WorkingHours(n) => format!("{n} working hours"),
            Span::CalendarHours(n) => format!("{n} hours"),
            Span::CalendarMinutes(n) => format!("{n} minutes"),
        }
    }

    /// The same in Chinese, for the console and the printed dispatch.
    pub fn describe_zh(self) -> String {
        match self {
            Span::WorkingDays(n) => format!("{n}个工作日"),
            Span::WorkingHours(n) => format!("{n}个工作小时"),
            Span::CalendarHours(n) => format!("{n}小时"),
            Span::CalendarMinutes(n) => format!("{n}分钟"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("deadline policy: {0}")]
pub struct PolicyError(pub String);

/// Spans for one (kind, category, urgency); `None` leaves the default in force.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SpanSet {
    pub accept: Option<Span>,
    pub contact: Option<Span>,
    pub resolve: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadlinePolicy {
    pub accept: Span,
    pub contact: Span,
    pub resolve_by_kind: BTreeMap<String, Span>,
    pub resolve_default: Span,
    /// Category id → overrides; a category inherits from the nearest listed prefix (`city.road` from `city`).
    pub categories: BTreeMap<String, SpanSet>,
    pub urgent: SpanSet,
    pub critical: SpanSet,
    /// Warnings, cards, report-in and callback rules (`[supervision]`).
    #[serde(default)]
    pub supervision: crate::supervision::SupervisionRules,
    /// Weights, penalties and the minimum sample of the assessment (`[assessment]`).
    #[serde(default)]
    pub assessment: crate::assessment::AssessmentRules,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self::from_toml(DEFAULT_POLICY_TOML).expect("the built-in policy parses")
    }
}

pub const DEFAULT_POLICY_TOML: &str = r#"# jiesu deadline policy. Spans: "N working days", "N working hours", "N hours", "N minutes".
# Accept and contact count from each dispatch; contact is never due before accept (a case dispatched
# on Friday afternoon is accepted by Monday morning, and its contact deadline is at least that).
# Resolve counts from the first dispatch: a return and a new dispatch do not restart it; only an
# approved extension, a suspension (the time lost) or a reopening moves it.
accept = "2 working hours"
contact = "24 hours"

[resolve]
default = "15 working days"
inquiry = "3 working days"
request = "5 working days"
complaint = "15 working days"
report = "15 working days"
suggestion = "15 working days"
hazard = "5 working days"
alarm = "2 working days"

# Urgent and critical cases count calendar time: nights and holidays do not stop the clock.
[urgency.urgent]
accept = "1 hours"
contact = "2 hours"
resolve = "24 hours"

[urgency.critical]
accept = "15 minutes"
contact = "30 minutes"
resolve = "2 hours"

# Supervision: warnings at this share of a deadline's time; a yellow card for each missed
# accept / contact / report-in / resolve deadline; a red card when resolution is late by more than
# N working days or a unit collects more than M yellow cards in a calendar month.
[supervision]
warn_share = 0.8
red_after_working_days = 5
yellow_limit_per_month = 3
report_in = "2 working hours"
callback_attempts = 3

# Assessment: composite score = response × 20 + resolution × 40 + satisfaction × 40 (rates as
# fractions) − 1 per yellow card − 3 per red card; a "basically satisfied" rating counts 0.8; a
# unit with fewer than 10 rated cases in the period is listed but not ranked.
[assessment]
weight_response = 20
weight_resolution = 40
weight_satisfaction = 40
basically_satisfied_weight = 0.8
yellow_card_penalty = 1
red_card_penalty = 3
min_rated = 10

# Per-category overrides, e.g.:
# [category."urban.appearance"]
# resolve = "7 working days"
"#;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    accept: String,
    contact: String,
    resolve: BTreeMap<String, String>,
    #[serde(default)]
    urgency: BTreeMap<String, SpanSetFile>,
    #[serde(default)]
    category: BTreeMap<String, SpanSetFile>,
    #[serde(default)]
    supervision: crate::supervision::SupervisionFile,
    #[serde(default)]
    assessment: crate::assessment::AssessmentFile,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SpanSetFile {
    accept: Option<String>,
    contact: Option<String>,
    resolve: Option<String>,
}

impl SpanSetFile {
    fn parse(self) -> Result<SpanSet, PolicyError> {
        let p = |o: Option<String>| o.as_deref().map(Span::parse).transpose();
        Ok(SpanSet {
            accept: p(self.accept)?,
            contact: p(self.contact)?,
            resolve: p(self.resolve)?,
        })
    }
}

/// The deadlines of one case, computed when its clock starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deadlines {
    pub accept_due: Time,
    pub contact_due: Time,
    pub resolve_due: Time,
    /// The spans they came from, so the API can show the rule.
    pub resolve_span: Span,
    /// Some day between the start and a due moment lies in a year whose holiday schedule is
    /// provisional: the dues move when the State Council's notice is imported.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    /// When accept and contact started counting (this dispatch) and when resolve did (the first
    /// dispatch); the clock's warnings are a share of these spans. Absent in older trails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_started_at: Option<Time>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_span: Option<Span>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_span: Option<Span>,
}

/// `due` moved by the time lost between `since` and `now`: working time for a working span (or an
/// unknown one), calendar time otherwise.
fn shift(
    cal: &WorkCalendar,
    due: Time,
    span: Option<Span>,
    since: Time,
    now: Time,
) -> Result<Time, CalendarError> {
    match span {
        Some(Span::CalendarHours(_) | Span::CalendarMinutes(_)) => {
            Ok(due + (now - since).max(Duration::zero()))
        }
        _ => {
            let lost = cal.working_time_between(since, now)?;
            if lost.is_zero() {
                Ok(due)
            } else {
                cal.add_working_time(due, lost)
            }
        }
    }
}

impl Deadlines {
    /// The deadlines a dispatch at `now` starts. Accept and contact run from this dispatch; the
    /// resolve deadline runs from the case's first dispatch, so a unit that returns a case and has
    /// it dispatched again does not win a fresh resolve period (`previous` carries it, with any
    /// extension or suspension already applied). Contact is never due before accept: a unit cannot
    /// be late contacting the reporter about a case it still had time to accept.
    pub fn start(
        cal: &WorkCalendar,
        spans: (Span, Span, Span),
        now: Time,
        previous: Option<&Deadlines>,
    ) -> Result<Deadlines, CalendarError> {
        let (a, c, r) = spans;
        let accept_due = a.due_from(cal, now)?;
        let contact_due = c.due_from(cal, now)?.max(accept_due);
        let (resolve_due, resolve_span, resolve_started_at) = match previous {
            Some(p) => (
                p.resolve_due,
                p.resolve_span,
                p.resolve_started_at.or(p.started_at),
            ),
            None => (r.due_from(cal, now)?, r, Some(now)),
        };
        let latest = accept_due.max(contact_due).max(resolve_due);
        Ok(Deadlines {
            accept_due,
            contact_due,
            resolve_due,
            resolve_span,
            provisional: cal.provisional_between(now, latest)
                || previous.is_some_and(|p| p.provisional),
            started_at: Some(now),
            resolve_started_at,
            accept_span: Some(a),
            contact_span: Some(c),
        })
    }

    /// An approved extension: `working_days` more, counted from the current resolve due.
    pub fn extended(&self, cal: &WorkCalendar, working_days: u32) -> Result<Time, CalendarError> {
        cal.add_working_days(self.resolve_due, working_days)
    }

    /// The resolve due after a suspension from `since` to `now`: the clock stood still, so the
    /// deadline moves by the time lost, counted the way the deadline itself is counted.
    pub fn resumed(
        &self,
        cal: &WorkCalendar,
        since: Time,
        now: Time,
    ) -> Result<Time, CalendarError> {
        shift(cal, self.resolve_due, Some(self.resolve_span), since, now)
    }

    /// Accept and contact dues after a suspension, moved like the resolve due (`None` when their
    /// spans are unknown, in trails from before they were stored).
    pub fn resumed_response(
        &self,
        cal: &WorkCalendar,
        since: Time,
        now: Time,
    ) -> Result<(Time, Time), CalendarError> {
        Ok((
            shift(cal, self.accept_due, self.accept_span, since, now)?,
            shift(cal, self.contact_due, self.contact_span, since, now)?,
        ))
    }

    /// The resolve due of a reopening at `now`: a full resolve period again (重办).
    pub fn reopened(&self, cal: &WorkCalendar, now: Time) -> Result<Time, CalendarError> {
        self.resolve_span.due_from(cal, now)
    }

    /// Marks the deadlines provisional when a new resolve due reaches into a provisional year.
    pub fn with_resolve_due(mut self, cal: &WorkCalendar, from: Time, due: Time) -> Deadlines {
        self.provisional |= cal.provisional_between(from, due);
        self.resolve_due = due;
        self
    }
}

impl DeadlinePolicy {
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        let f: PolicyFile = toml::from_str(text).map_err(|e| PolicyError(e.to_string()))?;
        let mut resolve_by_kind = BTreeMap::new();
        let mut resolve_default = None;
        for (k, v) in f.resolve {
            let span = Span::parse(&v)?;
            if k == "default" {
                resolve_default = Some(span);
            } else if Kind::parse(&k).is_some() {
                resolve_by_kind.insert(k, span);
            } else {
                return Err(PolicyError(format!("[resolve] names unknown kind {k:?}")));
            }
        }
        let mut urgent = SpanSet::default();
        let mut critical = SpanSet::default();
        for (k, v) in f.urgency {
            match k.as_str() {
                "urgent" => urgent = v.parse()?,
                "critical" => critical = v.parse()?,
                _ => return Err(PolicyError(format!("unknown urgency {k:?}"))),
            }
        }
        let mut categories = BTreeMap::new();
        for (k, v) in f.category {
            categories.insert(k, v.parse()?);
        }
        Ok(Self {
            accept: Span::parse(&f.accept)?,
            contact: Span::parse(&f.contact)?,
            resolve_by_kind,
            resolve_default: resolve_default
                .ok_or_else(|| PolicyError("[resolve] needs a default".into()))?,
            categories,
            urgent,
            critical,
            supervision: f.supervision.parse()?,
            assessment: f.assessment.parse()?,
        })
    }

    fn category_overrides(&self, category: Option<&str>) -> SpanSet {
        let mut out = SpanSet::default();
        let Some(mut c) = category else { return out };
        // Walk from the most specific id to its ancestors (`a.b.c`, `a.b`, `a`): the nearest wins.
        loop {
            if let Some(s) = self.categories.get(c) {
                out.accept = out.accept.or(s.accept);
                out.contact = out.contact.or(s.contact);
                out.resolve = out.resolve.or(s.resolve);
            }
            match c.rfind('.') {
                Some(i) => c = &c[..i],
                None => return out,
            }
        }
    }

    /// The spans that apply: urgency beats category, category beats kind, kind beats default.
    pub fn spans(
        &self,
        kind: Kind,
        category: Option<&str>,
        urgency: Urgency,
    ) -> (Span, Span, Span) {
        let u = match urgency {
            Urgency::Normal => SpanSet::default(),
            Urgency::Urgent => self.urgent.clone(),
            Urgency::Critical => self.critical.clone(),
        };
        let c = self.category_overrides(category);
        let accept = u.accept.or(c.accept).unwrap_or(self.accept);
        let contact = u.contact.or(c.contact).unwrap_or(self.contact);
        let resolve = u
            .resolve
            .or(c.resolve)
            .or_else(|| self.resolve_by_kind.get(kind.as_str()).copied())
            .unwrap_or(self.resolve_default);
        (accept, contact, resolve)
    }

    /// The deadlines of a first dispatch at `start` (see [`Deadlines::start`]).
    pub fn compute(
        &self,
        cal: &WorkCalendar,
        kind: Kind,
        category: Option<&str>,
        urgency: Urgency,
        start: Time,
    ) -> Result<Deadlines, CalendarError> {
        Deadlines::start(cal, self.spans(kind, category, urgency), start, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_matches_the_issue() {
        let p = DeadlinePolicy::default();
        let (a, c, r) = p.spans(Kind::Inquiry, None, Urgency::Normal);
        assert_eq!(
            (a, c, r),
            (
                Span::WorkingHours(2),
                Span::CalendarHours(24),
                Span::WorkingDays(3)
            )
        );
        assert_eq!(
            p.spans(Kind::Request, None, Urgency::Normal).2,
            Span::WorkingDays(5)
        );
        for k in [Kind::Complaint, Kind::Report, Kind::Suggestion] {
            assert_eq!(p.spans(k, None, Urgency::Normal).2, Span::WorkingDays(15));
        }
        assert_eq!(
            p.spans(Kind::Complaint, None, Urgency::Urgent).2,
            Span::CalendarHours(24)
        );
        assert_eq!(
            p.spans(Kind::Complaint, None, Urgency::Critical).2,
            Span::CalendarHours(2)
        );
    }

    #[test]
    fn category_overrides_inherit_down_the_tree() {
        let text = format!(
            "{DEFAULT_POLICY_TOML}\n[category.\"urban\"]\nresolve = \"7 working days\"\n[category.\"urban.lights\"]\naccept = \"1 working hours\"\n"
        );
        let p = DeadlinePolicy::from_toml(&text).unwrap();
        let (a, _, r) = p.spans(
            Kind::Complaint,
            Some("urban.lights.street"),
            Urgency::Normal,
        );
        assert_eq!(a, Span::WorkingHours(1));
        assert_eq!(r, Span::WorkingDays(7));
        // Urgency still wins over a category.
        assert_eq!(
            p.spans(Kind::Complaint, Some("urban.lights"), Urgency::Critical)
                .2,
            Span::CalendarHours(2)
        );
    }

    #[test]
    fn rejects_bad_spans_and_kinds() {
        assert!(Span::parse("3 weeks").is_err());
        assert!(Span::parse("0 working days").is_err());
        assert!(Span::parse("x working days").is_err());
        let bad = DEFAULT_POLICY_TOML.replace("inquiry =", "enquiry =");
        assert!(DeadlinePolicy::from_toml(&bad).is_err());
    }
}
