//! Assessment (考核): what each event adds to a unit's counters, and how counters become the
//! three rates (三率), the on-time rate, a composite score and a rank among peers. Pure; the store
//! keeps the counters per unit and day, incrementally, as events commit (docs/ASSESSMENT.md
//! defines every figure).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::calendar::{Time, to_beijing};
use crate::case::{Case, CaseEvent, Satisfaction};
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
        }
        CaseEvent::Closed { .. } => {
            // Only a handled case counts for a unit; its final rating is the one that closes it.
            if let Some(u) = after.assigned_unit.as_ref() {
                add(u, day(at), Metric::Closed, 1);
                if let (Some(r), Some(d)) = (&after.reply, &after.deadlines)
                    && r.at <= d.resolve_due
                {
                    add(u, day(at), Metric::OnTime, 1);
                }
                if let Some(cb) = &after.callback {
                    let m = match cb.satisfaction {
                        Satisfaction::Satisfied => Some(Metric::Satisfied),
                        Satisfaction::BasicallySatisfied => Some(Metric::BasicallySatisfied),
                        Satisfaction::Unsatisfied => Some(Metric::Unsatisfied),
                        Satisfaction::Unreachable => None,
                    };
                    match m {
                        Some(m) => {
                            add(u, day(at), Metric::Rated, 1);
                            add(u, day(at), m, 1);
                            if cb.resolved {
                                add(u, day(at), Metric::Resolved, 1);
                            }
                        }
                        None => add(u, day(at), Metric::Unreachable, 1),
                    }
                }
            }
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
