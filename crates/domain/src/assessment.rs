//! Assessment (考核): what each event adds to a unit's counters, and how counters become the
//! three rates (三率), the on-time rate, a composite score and a rank among peers. Pure; the store
//! keeps the counters per unit and day, incrementally, as events commit (docs/ASSESSMENT.md
//! defines every figure).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Time, to_beijing};
use crate::case::{Case, CaseEvent, CaseState, Satisfaction};
use crate::deadline::PolicyError;
use crate::org::{OrgTree, UnitId, UnitKind};
use crate::supervision::CardColor;

string_enum!(
    /// One counter kept per unit and day.
    Metric {
        Received = "received" / "派单量",
        Responded = "responded" / "及时响应",
        Rated = "rated" / "回访评价",
        Resolved = "resolved" / "已解决",
        Satisfied = "satisfied" / "满意",
        BasicallySatisfied = "basically_satisfied" / "基本满意",
        Unsatisfied = "unsatisfied" / "不满意",
        Unreachable = "unreachable" / "联系不上",
        Closed = "closed" / "办结",
        OnTime = "on_time" / "按时办结",
        Returned = "returned" / "退回",
        Extended = "extended" / "延期",
        Reopened = "reopened" / "重办",
        YellowCards = "yellow_cards" / "黄牌",
        RedCards = "red_cards" / "红牌",
        Supervised = "supervised" / "督办",
        Whistled = "whistled" / "吹哨",
    }
);

/// One change to a counter: `metric` of `unit` on `day` moves by `delta`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Delta {
    pub unit: UnitId,
    pub day: NaiveDate,
    pub metric: Metric,
    pub delta: i64,
}

fn day(t: Time) -> NaiveDate {
    to_beijing(t).date_naive()
}

/// What `ev`, applied at `at` to `before` (giving `after`), adds to the counters. Each figure is
/// counted on the day its event happened, against the unit that held the case then, except:
/// responses count on the day of the dispatch they answer (so the response rate of a period is a
/// share of that period's dispatches), and cards count on the day they were issued (a revoked
/// card leaves the month it was issued in).
pub fn deltas(before: &Case, ev: &CaseEvent, after: &Case, at: Time) -> Vec<Delta> {
    let mut out = Vec::new();
    let mut add = |unit: &UnitId, day: NaiveDate, metric: Metric, delta: i64| {
        out.push(Delta {
            unit: unit.clone(),
            day,
            metric,
            delta,
        })
    };
    let holder = before.assigned_unit.as_ref();
    match ev {
        CaseEvent::Dispatched { unit, .. } | CaseEvent::Redispatched { to: unit, .. } => {
            add(unit, day(at), Metric::Received, 1);
        }
        CaseEvent::Contacted { .. } => {
            // A response is on time when accept and contact both were.
            if let (Some(unit), Some(d), Some(accepted)) =
                (holder, &after.deadlines, after.accepted_at)
                && before.contacted_at.is_none()
            {
                let started = d.started_at.or(after.dispatched_at).unwrap_or(at);
                if accepted <= d.accept_due && at <= d.contact_due {
                    add(unit, day(started), Metric::Responded, 1);
                }
            }
        }
        CaseEvent::Returned { .. } => {
            if let Some(u) = holder {
                add(u, day(at), Metric::Returned, 1);
            }
        }
        CaseEvent::ExtensionApproved { .. } => {
            if let Some(u) = holder {
                add(u, day(at), Metric::Extended, 1);
            }
        }
        CaseEvent::Reopened { .. } => {
            if let Some(u) = holder {
                add(u, day(at), Metric::Reopened, 1);
            }
            // An inspector reopening a closed case: its first closing no longer counts (only the
            // final rating does), so it leaves the day it was counted on.
            if before.state == CaseState::Closed
                && let Some(closed) = before.closed_at
            {
                close_counts(before, day(closed), -1, &mut add);
            }
        }
        CaseEvent::Closed { .. } => {
            // Only a handled case counts for a unit; its final rating is the one that closes it.
            close_counts(after, day(at), 1, &mut add);
        }
        CaseEvent::YellowCard { card } | CaseEvent::RedCard { card } => {
            let m = match card.color {
                CardColor::Yellow => Metric::YellowCards,
                CardColor::Red => Metric::RedCards,
            };
            add(&card.unit, day(card.issued_at), m, 1);
        }
        CaseEvent::CardRevoked { card, .. } => {
            if let Some(c) = before.cards.iter().find(|c| &c.id == card) {
                let m = match c.color {
                    CardColor::Yellow => Metric::YellowCards,
                    CardColor::Red => Metric::RedCards,
                };
                add(&c.unit, day(c.issued_at), m, -1);
            }
        }
        CaseEvent::Supervised { .. } => {
            if let Some(u) = after.assigned_unit.as_ref() {
                add(u, day(at), Metric::Supervised, 1);
            }
        }
        CaseEvent::Whistled { .. } => {
            if let Some(u) = holder {
                add(u, day(at), Metric::Whistled, 1);
            }
        }
        _ => {}
    }
    out
}

/// What closing `case` (as it stands closed) counts on `day`, times `sign`: closed, on time, and
/// its rating (rated, the rating's own counter, resolved) or `unreachable`.
fn close_counts(
    case: &Case,
    day: NaiveDate,
    sign: i64,
    add: &mut impl FnMut(&UnitId, NaiveDate, Metric, i64),
) {
    let Some(u) = case.assigned_unit.as_ref() else {
        return;
    };
    add(u, day, Metric::Closed, sign);
    if let (Some(r), Some(d)) = (&case.reply, &case.deadlines)
        && r.at <= d.resolve_due
    {
        add(u, day, Metric::OnTime, sign);
    }
    if let Some(cb) = &case.callback {
        let m = match cb.satisfaction {
            Satisfaction::Satisfied => Some(Metric::Satisfied),
            Satisfaction::BasicallySatisfied => Some(Metric::BasicallySatisfied),
            Satisfaction::Unsatisfied => Some(Metric::Unsatisfied),
            Satisfaction::Unreachable => None,
        };
        match m {
            Some(m) => {
                add(u, day, Metric::Rated, sign);
                add(u, day, m, sign);
                if cb.resolved {
                    add(u, day, Metric::Resolved, sign);
                }
            }
            None => add(u, day, Metric::Unreachable, sign),
        }
    }
}

/// Whether [`deltas`] can count anything for `ev`: the writer skips the work (a copy of the case
/// before the event) for every other event, intakes above all.
pub fn may_count(ev: &CaseEvent) -> bool {
    matches!(
        ev,
        CaseEvent::Dispatched { .. }
            | CaseEvent::Redispatched { .. }
            | CaseEvent::Contacted { .. }
            | CaseEvent::Returned { .. }
            | CaseEvent::ExtensionApproved { .. }
            | CaseEvent::Reopened { .. }
            | CaseEvent::Closed { .. }
            | CaseEvent::YellowCard { .. }
            | CaseEvent::RedCard { .. }
            | CaseEvent::CardRevoked { .. }
            | CaseEvent::Supervised { .. }
            | CaseEvent::Whistled { .. }
    )
}

/// One unit's counters over a period.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters(pub std::collections::BTreeMap<String, i64>);

impl Counters {
    pub fn get(&self, m: Metric) -> i64 {
        self.0.get(m.as_str()).copied().unwrap_or(0)
    }
    pub fn add(&mut self, m: Metric, n: i64) {
        *self.0.entry(m.as_str().to_string()).or_insert(0) += n;
    }
}

/// How counters become a score, from the `[assessment]` table of the policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentRules {
    pub weight_response: f64,
    pub weight_resolution: f64,
    pub weight_satisfaction: f64,
    /// A "basically satisfied" rating counts this much of a "satisfied" one.
    pub basically_satisfied_weight: f64,
    pub yellow_card_penalty: f64,
    pub red_card_penalty: f64,
    /// Fewer rated cases than this: listed, not ranked.
    pub min_rated: i64,
}

impl Default for AssessmentRules {
    fn default() -> Self {
        AssessmentRules {
            weight_response: 20.0,
            weight_resolution: 40.0,
            weight_satisfaction: 40.0,
            basically_satisfied_weight: 0.8,
            yellow_card_penalty: 1.0,
            red_card_penalty: 3.0,
            min_rated: 10,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssessmentFile {
    weight_response: Option<f64>,
    weight_resolution: Option<f64>,
    weight_satisfaction: Option<f64>,
    basically_satisfied_weight: Option<f64>,
    yellow_card_penalty: Option<f64>,
    red_card_penalty: Option<f64>,
    min_rated: Option<i64>,
}

impl AssessmentFile {
    pub(crate) fn parse(self) -> Result<AssessmentRules, PolicyError> {
        let d = AssessmentRules::default();
        let r = AssessmentRules {
            weight_response: self.weight_response.unwrap_or(d.weight_response),
            weight_resolution: self.weight_resolution.unwrap_or(d.weight_resolution),
            weight_satisfaction: self.weight_satisfaction.unwrap_or(d.weight_satisfaction),
            basically_satisfied_weight: self
                .basically_satisfied_weight
                .unwrap_or(d.basically_satisfied_weight),
            yellow_card_penalty: self.yellow_card_penalty.unwrap_or(d.yellow_card_penalty),
            red_card_penalty: self.red_card_penalty.unwrap_or(d.red_card_penalty),
            min_rated: self.min_rated.unwrap_or(d.min_rated),
        };
        let all = [
            r.weight_response,
            r.weight_resolution,
            r.weight_satisfaction,
            r.yellow_card_penalty,
            r.red_card_penalty,
        ];
        if all.iter().any(|w| !w.is_finite() || *w < 0.0)
            || !(0.0..=1.0).contains(&r.basically_satisfied_weight)
            || r.min_rated < 0
        {
            return Err(PolicyError(
                "[assessment]: weights and penalties >= 0, basically_satisfied_weight in [0, 1]"
                    .into(),
            ));
        }
        Ok(r)
    }
}

/// A unit's figures for a period, as the API and the reports show them. Rates are fractions
/// (0–1), `None` when their denominator is zero.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitFigures {
    pub unit_id: UnitId,
    pub unit_name: String,
    pub received: i64,
    pub rated: i64,
    pub response_rate: Option<f64>,
    pub resolution_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub returns: i64,
    pub extensions: i64,
    pub reopened: i64,
    pub unreachable: i64,
    pub yellow_cards: i64,
    pub red_cards: i64,
    pub score: Option<f64>,
    /// Among its peers; `None` under the minimum number of rated cases.
    pub rank: Option<u32>,
}

fn ratio(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 / d as f64)
}

/// The figures of one unit from its counters (rank left for [`rank`]).
pub fn figures(unit: &UnitId, name: &str, c: &Counters, rules: &AssessmentRules) -> UnitFigures {
    let rated = c.get(Metric::Rated);
    let response_rate = ratio(c.get(Metric::Responded), c.get(Metric::Received));
    let resolution_rate = ratio(c.get(Metric::Resolved), rated);
    let satisfaction_rate = (rated > 0).then(|| {
        (c.get(Metric::Satisfied) as f64
            + rules.basically_satisfied_weight * c.get(Metric::BasicallySatisfied) as f64)
            / rated as f64
    });
    let (yellow, red) = (c.get(Metric::YellowCards), c.get(Metric::RedCards));
    // A missing rate scores zero: a unit that answered nothing earned nothing for it.
    let score = (c.get(Metric::Received) > 0 || rated > 0).then(|| {
        rules.weight_response * response_rate.unwrap_or(0.0)
            + rules.weight_resolution * resolution_rate.unwrap_or(0.0)
            + rules.weight_satisfaction * satisfaction_rate.unwrap_or(0.0)
            - rules.yellow_card_penalty * yellow as f64
            - rules.red_card_penalty * red as f64
    });
    UnitFigures {
        unit_id: unit.clone(),
        unit_name: name.to_string(),
        received: c.get(Metric::Received),
        rated,
        response_rate,
        resolution_rate,
        satisfaction_rate,
        on_time_rate: ratio(c.get(Metric::OnTime), c.get(Metric::Closed)),
        returns: c.get(Metric::Returned),
        extensions: c.get(Metric::Extended),
        reopened: c.get(Metric::Reopened),
        unreachable: c.get(Metric::Unreachable),
        yellow_cards: yellow,
        red_cards: red,
        score,
        rank: None,
    }
}

/// Ranks peers by score, best first; units under `min_rated` rated cases are listed after the
/// ranked ones with no rank (one report must not put a unit on top). Ties share a rank
/// (competition ranking: 1, 2, 2, 4); equal scores are listed by unit id.
pub fn rank(rows: &mut [UnitFigures], rules: &AssessmentRules) {
    let eligible = |r: &UnitFigures| r.rated >= rules.min_rated && r.score.is_some();
    rows.sort_by(|a, b| {
        eligible(b)
            .cmp(&eligible(a))
            .then(
                b.score
                    .unwrap_or(f64::MIN)
                    .total_cmp(&a.score.unwrap_or(f64::MIN)),
            )
            .then(a.unit_id.cmp(&b.unit_id))
    });
    let mut last: Option<(f64, u32)> = None;
    for (i, r) in rows.iter_mut().enumerate() {
        if !eligible(r) {
            r.rank = None;
            continue;
        }
        let s = r.score.unwrap_or(0.0);
        let rank = match last {
            Some((ls, lr)) if (ls - s).abs() < 1e-9 => lr,
            _ => i as u32 + 1,
        };
        r.rank = Some(rank);
        last = Some((s, rank));
    }
}

string_enum!(
    /// The peer groups rankings are made within.
    PeerGroup {
        Street = "street" / "街道（乡镇）",
        Department = "department" / "职能部门",
        Community = "community" / "社区（村）",
    }
);

/// The units of a peer group: streets and towns; departments; communities and villages (within
/// `within` when given, e.g. one street's communities).
pub fn peers(org: &OrgTree, group: PeerGroup, within: Option<&UnitId>) -> Vec<UnitId> {
    let kinds: &[UnitKind] = match group {
        PeerGroup::Street => &[UnitKind::Street, UnitKind::Town],
        PeerGroup::Department => &[UnitKind::Department],
        PeerGroup::Community => &[UnitKind::Community, UnitKind::Village],
    };
    let mut v: Vec<UnitId> = org
        .units()
        .filter(|u| kinds.contains(&u.kind))
        .filter(|u| within.is_none_or(|w| org.is_within(&u.id, w)))
        .map(|u| u.id.clone())
        .collect();
    v.sort();
    v
}

/// A period figures are counted over: the days `from..=to` (Beijing dates).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// A period that does not parse, runs backwards or is too long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PeriodError(pub String);

impl Period {
    /// The longest period figures are counted over (a leap year).
    pub const MAX_DAYS: i64 = 366;

    /// `from..=to`, refused when it runs backwards or spans more than [`Period::MAX_DAYS`].
    pub fn range(from: NaiveDate, to: NaiveDate) -> Result<Period, PeriodError> {
        if to < from {
            return Err(PeriodError(format!("{from} is after {to}")));
        }
        if (to - from).num_days() + 1 > Self::MAX_DAYS {
            return Err(PeriodError(format!(
                "{from}..{to} is longer than {} days",
                Self::MAX_DAYS
            )));
        }
        Ok(Period { from, to })
    }

    /// A day `2026-10-15`, an ISO week `2026-W45`, a month `2026-10`, a quarter `2026-Q3` or a
    /// year `2026`.
    pub fn parse(s: &str) -> Result<Period, PeriodError> {
        let bad = || {
            PeriodError(format!(
                "{s:?} is not a period: use 2026-10-15, 2026-W45, 2026-10, 2026-Q3 or 2026"
            ))
        };
        let num = |t: &str| -> Result<u32, PeriodError> {
            if t.is_empty() || t.len() > 4 || !t.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            t.parse().map_err(|_| bad())
        };
        let ymd = |y: u32, m: u32, d: u32| NaiveDate::from_ymd_opt(y as i32, m, d).ok_or_else(bad);
        let parts: Vec<&str> = s.split('-').collect();
        let (from, to) = match parts.as_slice() {
            [y] if y.len() == 4 => {
                let y = num(y)?;
                (ymd(y, 1, 1)?, ymd(y, 12, 31)?)
            }
            [y, w] if y.len() == 4 && w.len() == 3 && w.starts_with('W') => {
                let (y, w) = (num(y)? as i32, num(&w[1..])?);
                let monday = NaiveDate::from_isoywd_opt(y, w, chrono::Weekday::Mon);
                let monday = monday.ok_or_else(bad)?;
                (monday, monday + chrono::Days::new(6))
            }
            [y, q] if y.len() == 4 && q.len() == 2 && q.starts_with('Q') => {
                let (y, q) = (num(y)?, num(&q[1..])?);
                if !(1..=4).contains(&q) {
                    return Err(bad());
                }
                let first = ymd(y, 3 * q - 2, 1)?;
                (first, last_of_month(ymd(y, 3 * q, 1)?))
            }
            [y, m] if y.len() == 4 && m.len() == 2 => {
                let first = ymd(num(y)?, num(m)?, 1)?;
                (first, last_of_month(first))
            }
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                let day = ymd(num(y)?, num(m)?, num(d)?)?;
                (day, day)
            }
            _ => return Err(bad()),
        };
        Period::range(from, to)
    }

    /// Whether `day` lies in the period.
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.from <= day && day <= self.to
    }
}

fn last_of_month(first: NaiveDate) -> NaiveDate {
    use chrono::Datelike;
    let (y, m) = (first.year(), first.month());
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).unwrap_or(first)
}

#[cfg(test)]
mod period_tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_period_form_parses_to_its_days() {
        let p = |s| Period::parse(s).map(|p| (p.from, p.to));
        assert_eq!(p("2026-10-15"), Ok((d(2026, 10, 15), d(2026, 10, 15))));
        assert_eq!(p("2026-10"), Ok((d(2026, 10, 1), d(2026, 10, 31))));
        assert_eq!(p("2024-02"), Ok((d(2024, 2, 1), d(2024, 2, 29))));
        assert_eq!(p("2026-12"), Ok((d(2026, 12, 1), d(2026, 12, 31))));
        assert_eq!(p("2026-Q3"), Ok((d(2026, 7, 1), d(2026, 9, 30))));
        assert_eq!(p("2026-Q4"), Ok((d(2026, 10, 1), d(2026, 12, 31))));
        assert_eq!(p("2026"), Ok((d(2026, 1, 1), d(2026, 12, 31))));
        // ISO weeks: week 1 holds the year's first Thursday; 2026-W01 starts in 2025.
        assert_eq!(p("2026-W45"), Ok((d(2026, 11, 2), d(2026, 11, 8))));
        assert_eq!(p("2026-W01"), Ok((d(2025, 12, 29), d(2026, 1, 4))));
        assert_eq!(p("2026-W53"), Ok((d(2026, 12, 28), d(2027, 1, 3))));
        // A leap year is the longest period.
        assert_eq!(p("2024"), Ok((d(2024, 1, 1), d(2024, 12, 31))));
    }

    #[test]
    fn what_does_not_parse_is_refused() {
        for s in [
            "",
            "2026-13",
            "2026-00",
            "2026-Q5",
            "2026-Q0",
            "2025-W53",
            "2026-W00",
            "2026-02-30",
            "26-10",
            "2026-1",
            "2026/10",
            "2026-10-15-1",
            "october",
            "2026-W4",
            "+2026",
            "2026-1a",
        ] {
            assert!(Period::parse(s).is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn ranges_must_run_forwards_and_stay_within_a_year() {
        assert!(Period::range(d(2026, 10, 2), d(2026, 10, 1)).is_err());
        assert!(Period::range(d(2026, 1, 1), d(2027, 1, 1)).is_ok()); // 366 days
        assert!(Period::range(d(2026, 1, 1), d(2027, 1, 2)).is_err()); // 367
        assert!(Period::range(d(2026, 10, 1), d(2026, 10, 1)).is_ok());
    }
}
