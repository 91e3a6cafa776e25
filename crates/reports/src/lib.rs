//! Reports (周调度、月分析、季考核): built from the store as plain serializable structs, answered as
//! JSON or written as `.xlsx` workbooks (one formatted Chinese sheet per section, with charts).
//!
//! This crate owns the reports so that the API and the CLI produce the same figures and the same
//! workbook, and so that neither the store nor the API needs the workbook writer. The SQL lives in
//! the store (`report_reads.rs`), the figures' rules in the domain (`assessment`).

pub mod period;
mod xlsx;

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use jiesu_domain::assessment::{self, Counters, PeerGroup, UnitFigures};
use jiesu_domain::supervision::{CardColor, CardReason, SuperviseLevel};
use jiesu_domain::{CalendarError, CaseEvent, Jurisdiction, Time, UnitId, UnitKind};
use jiesu_store::{Store, StoreError};
use serde::Serialize;

pub use period::{Period, PeriodError, PeriodKind};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Period(#[from] PeriodError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("writing the workbook: {0}")]
    Xlsx(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    Weekly,
    Monthly,
    Quarterly,
}

impl ReportKind {
    pub const ALL: [ReportKind; 3] = [
        ReportKind::Weekly,
        ReportKind::Monthly,
        ReportKind::Quarterly,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Weekly => "weekly",
            ReportKind::Monthly => "monthly",
            ReportKind::Quarterly => "quarterly",
        }
    }
    pub fn parse(s: &str) -> Option<ReportKind> {
        ReportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
    pub fn name_zh(self) -> &'static str {
        match self {
            ReportKind::Weekly => "周调度",
            ReportKind::Monthly => "月分析",
            ReportKind::Quarterly => "季考核",
        }
    }
    pub fn period_kind(self) -> PeriodKind {
        match self {
            ReportKind::Weekly => PeriodKind::Week,
            ReportKind::Monthly => PeriodKind::Month,
            ReportKind::Quarterly => PeriodKind::Quarter,
        }
    }
}

/// A built report.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Report {
    Weekly(Weekly),
    Analysis(Analysis),
}

impl Report {
    pub fn kind(&self) -> ReportKind {
        match self {
            Report::Weekly(w) => w.kind,
            Report::Analysis(a) => a.kind,
        }
    }
    pub fn period(&self) -> &str {
        match self {
            Report::Weekly(w) => &w.period,
            Report::Analysis(a) => &a.period,
        }
    }
    /// `月分析-2026-10.xlsx`.
    pub fn file_name(&self) -> String {
        format!("{}-{}.xlsx", self.kind().name_zh(), self.period())
    }
    /// The report as an `.xlsx` workbook.
    pub fn to_xlsx(&self) -> Result<Vec<u8>, ReportError> {
        let sheets = match self {
            Report::Weekly(w) => xlsx::weekly_sheets(w),
            Report::Analysis(a) => xlsx::analysis_sheets(a),
        };
        xlsx::workbook(&sheets).map_err(|e| ReportError::Xlsx(e.to_string()))
    }
}

/// Builds the report of `kind` for `period` (as the API takes it). `now` bounds the weekly
/// report's "as of" moment.
pub async fn build(
    store: &Store,
    juris: &Jurisdiction,
    kind: ReportKind,
    period: &str,
    now: Time,
) -> Result<Report, ReportError> {
    let p = Period::parse(kind.period_kind(), period)?;
    Ok(match kind {
        ReportKind::Weekly => Report::Weekly(weekly(store, juris, p, now).await?),
        ReportKind::Monthly | ReportKind::Quarterly => {
            Report::Analysis(analysis(store, juris, kind, p).await?)
        }
    })
}

// ---------------------------------------------------------------------------------------------
// 周调度

/// The weekly dispatch: open cases past or near their resolve deadline per unit, and the week's
/// cards and supervisions.
#[derive(Debug, Clone, Serialize)]
pub struct Weekly {
    pub kind: ReportKind,
    pub period: String,
    pub title: String,
    pub from: NaiveDate,
    /// The last day of the week.
    pub to: NaiveDate,
    /// Deadlines are judged at this moment: the end of the week, or now while the week runs.
    /// Which cases are open is as of the report's making.
    pub as_of: Time,
    /// Due within 2 working days of `as_of` means due by this moment.
    pub due_soon_until: Time,
    pub totals: WeeklyTotals,
    pub by_unit: Vec<DueByUnit>,
    pub due_cases: Vec<DueCase>,
    pub cards: Vec<CardItem>,
    pub supervisions: Vec<SupervisionItem>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WeeklyTotals {
    pub overdue: i64,
    pub due_soon: i64,
    pub yellow_cards: i64,
    pub red_cards: i64,
    pub cards_revoked: i64,
    pub supervisions: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueByUnit {
    pub unit_id: String,
    pub unit_name: String,
    pub overdue: i64,
    pub due_soon: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DueCase {
    pub number: String,
    pub unit_id: String,
    pub unit_name: String,
    pub category: String,
    /// `overdue` or `due_soon`.
    pub status: &'static str,
    pub status_zh: &'static str,
    pub resolve_due: Time,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardItem {
    pub at: Time,
    pub number: String,
    /// `yellow_card`, `red_card` or `card_revoked`.
    pub event: &'static str,
    pub event_zh: &'static str,
    pub card_id: String,
    pub color: CardColor,
    pub unit_id: String,
    pub unit_name: String,
    pub reason: CardReason,
    pub reason_zh: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SupervisionItem {
    pub at: Time,
    pub number: String,
    /// The unit holding the case now.
    pub unit_id: String,
    pub unit_name: String,
    pub level: SuperviseLevel,
    pub level_zh: &'static str,
    pub due: Option<Time>,
}

fn unit_name(juris: &Jurisdiction, id: &str) -> String {
    if id.is_empty() {
        return "未派单".into();
    }
    juris
        .org
        .get(&UnitId::new(id))
        .map_or_else(|| id.to_string(), |u| u.name.clone())
}

fn category_name(juris: &Jurisdiction, id: Option<&str>) -> String {
    match id {
        None | Some("") => "未分类".into(),
        Some(id) => juris
            .categories
            .get(id)
            .map_or_else(|| id.to_string(), |c| c.name.clone()),
    }
}

/// Working days a case may still have and count as "near due".
pub const DUE_SOON_WORKING_DAYS: u32 = 2;

pub async fn weekly(
    store: &Store,
    juris: &Jurisdiction,
    p: Period,
    now: Time,
) -> Result<Weekly, ReportError> {
    let as_of = now.min(p.to());
    let due_soon_until = juris
        .calendar
        .add_working_days(as_of, DUE_SOON_WORKING_DAYS)?;
    let mut totals = WeeklyTotals::default();
    let mut per_unit: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let mut due_cases = Vec::new();
    for r in store.open_cases_due_by(due_soon_until).await? {
        let unit = r.assigned_unit.unwrap_or_default();
        let overdue = r.resolve_due < as_of;
        let e = per_unit.entry(unit.clone()).or_default();
        if overdue {
            e.0 += 1;
            totals.overdue += 1;
        } else {
            e.1 += 1;
            totals.due_soon += 1;
        }
        due_cases.push(DueCase {
            number: r.number,
            unit_name: unit_name(juris, &unit),
            unit_id: unit,
            category: category_name(juris, r.category.as_deref()),
            status: if overdue { "overdue" } else { "due_soon" },
            status_zh: if overdue { "已超期" } else { "临期" },
            resolve_due: r.resolve_due,
        });
    }
    let mut by_unit: Vec<DueByUnit> = per_unit
        .into_iter()
        .map(|(unit_id, (overdue, due_soon))| DueByUnit {
            unit_name: unit_name(juris, &unit_id),
            unit_id,
            overdue,
            due_soon,
        })
        .collect();
    by_unit.sort_by(|a, b| {
        (b.overdue, b.due_soon)
            .cmp(&(a.overdue, a.due_soon))
            .then(a.unit_id.cmp(&b.unit_id))
    });
    let mut cards = Vec::new();
    let mut supervisions = Vec::new();
    for r in store.supervision_events(p.from(), p.to()).await? {
        let (event, event_zh, card) = match &r.event {
            CaseEvent::YellowCard { card } => ("yellow_card", "黄牌", Some(card.clone())),
            CaseEvent::RedCard { card } => ("red_card", "红牌", Some(card.clone())),
            CaseEvent::CardRevoked { card, .. } => (
                "card_revoked",
                "撤销",
                r.case.cards.iter().find(|c| &c.id == card).cloned(),
            ),
            CaseEvent::Supervised { level, due, .. } => {
                let unit = r
                    .case
                    .assigned_unit
                    .as_ref()
                    .map(|u| u.as_str().to_string())
                    .unwrap_or_default();
                totals.supervisions += 1;
                supervisions.push(SupervisionItem {
                    at: r.at,
                    number: r.number.clone(),
                    unit_name: unit_name(juris, &unit),
                    unit_id: unit,
                    level: *level,
                    level_zh: level.name_zh(),
                    due: *due,
                });
                continue;
            }
            _ => continue,
        };
        let Some(card) = card else { continue };
        match event {
            "yellow_card" => totals.yellow_cards += 1,
            "red_card" => totals.red_cards += 1,
            _ => totals.cards_revoked += 1,
        }
        cards.push(CardItem {
            at: r.at,
            number: r.number.clone(),
            event,
            event_zh,
            card_id: card.id.clone(),
            color: card.color,
            unit_name: unit_name(juris, card.unit.as_str()),
            unit_id: card.unit.as_str().to_string(),
            reason: card.reason,
            reason_zh: card.reason.name_zh(),
        });
    }
    Ok(Weekly {
        kind: ReportKind::Weekly,
        period: p.label(),
        title: format!("周调度 · {}", p.label_zh()),
        from: p.start,
        to: p.last_day(),
        as_of,
        due_soon_until,
        totals,
        by_unit,
        due_cases,
        cards,
        supervisions,
    })
}

// ---------------------------------------------------------------------------------------------
// 月分析 and 季考核

/// The monthly analysis or the quarterly assessment: volumes compared with the period before and
/// the same period a year earlier, the candidate 每月一题 topics, and the peer rankings.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub kind: ReportKind,
    pub period: String,
    pub title: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_period: Option<String>,
    pub year_ago_period: Option<String>,
    pub total: Volume,
    pub by_channel: Vec<Volume>,
    pub by_category: Vec<Volume>,
    /// By the unit holding the case now (`""`: not dispatched).
    pub by_unit: Vec<Volume>,
    /// By the street or town the case is in: its location's, else its holding unit's (`""`:
    /// neither lies in a street or town).
    pub by_street: Vec<Volume>,
    pub top_categories: Vec<Topic>,
    pub top_places: Vec<Place>,
    pub rankings: Vec<RankingGroup>,
}

/// Cases received, with the change against the previous and the year-ago period (a fraction;
/// `None` when that period had none).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub key: String,
    pub name: String,
    pub count: i64,
    pub previous: i64,
    pub year_ago: i64,
    pub change_previous: Option<f64>,
    pub change_year_ago: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Topic {
    pub rank: u32,
    pub category_id: String,
    pub name: String,
    pub count: i64,
    /// Of all cases received in the period.
    pub share: Option<f64>,
    pub change_previous: Option<f64>,
}

/// A community or village with many cases: where a 每月一题 topic may lie.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Place {
    pub rank: u32,
    pub unit_id: String,
    pub name: String,
    pub street: String,
    pub count: i64,
    pub share: Option<f64>,
    pub top_category: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RankingGroup {
    pub group: PeerGroup,
    pub group_zh: &'static str,
    /// The street whose communities are ranked (community groups only).
    pub within: Option<String>,
    pub within_name: Option<String>,
    pub rows: Vec<UnitFigures>,
}

/// How many top categories and places are listed as candidate topics.
pub const TOP_N: usize = 10;

fn change(now: i64, before: i64) -> Option<f64> {
    (before > 0).then(|| (now - before) as f64 / before as f64)
}

fn share(n: i64, total: i64) -> Option<f64> {
    (total > 0).then(|| n as f64 / total as f64)
}

/// The units on a materialised path (`/county/street1/comm1/`), root first.
fn path_units(path: &str) -> impl Iterator<Item = &str> {
    path.split('/').filter(|s| !s.is_empty())
}

fn kind_of(juris: &Jurisdiction, id: &str) -> Option<UnitKind> {
    juris.org.get(&UnitId::new(id)).map(|u| u.kind)
}

fn street_of(juris: &Jurisdiction, path: &str) -> String {
    path_units(path)
        .find(|u| matches!(kind_of(juris, u), Some(UnitKind::Street | UnitKind::Town)))
        .unwrap_or("")
        .to_string()
}

fn community_of<'a>(juris: &Jurisdiction, path: &'a str) -> Option<&'a str> {
    path_units(path).find(|u| {
        matches!(
            kind_of(juris, u),
            Some(UnitKind::Community | UnitKind::Village)
        )
    })
}

type Tally = [BTreeMap<String, i64>; 3];

/// The path that places a case: the unit its location falls in, else the unit holding it.
fn place_path<'a>(juris: &'a Jurisdiction, r: &'a jiesu_store::PlaceRow) -> &'a str {
    r.location
        .and_then(|g| juris.org.locate(g.lon, g.lat))
        .and_then(|u| juris.org.path(u))
        .unwrap_or(&r.scope_path)
}

/// Cases per street or town, placed by [`place_path`].
fn street_tally(juris: &Jurisdiction, rows: &[jiesu_store::PlaceRow]) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for r in rows {
        *m.entry(street_of(juris, place_path(juris, r))).or_default() += 1;
    }
    m
}

/// Counts per channel, category and holding unit of one period's volume rows.
fn tally(rows: &[jiesu_store::VolumeRow]) -> (i64, Tally) {
    let mut t: Tally = Default::default();
    let mut total = 0;
    for r in rows {
        total += r.count;
        let keys = [
            r.channel.clone(),
            r.category.clone().unwrap_or_default(),
            r.assigned_unit.clone().unwrap_or_default(),
        ];
        for (m, k) in t.iter_mut().zip(keys) {
            *m.entry(k).or_default() += r.count;
        }
    }
    (total, t)
}

fn volume(key: String, name: String, count: i64, previous: i64, year_ago: i64) -> Volume {
    Volume {
        key,
        name,
        count,
        previous,
        year_ago,
        change_previous: change(count, previous),
        change_year_ago: change(count, year_ago),
    }
}

/// One dimension's volumes: every key seen in any of the three periods, most cases first.
fn volumes(
    now: &BTreeMap<String, i64>,
    prev: &BTreeMap<String, i64>,
    ago: &BTreeMap<String, i64>,
    name: impl Fn(&str) -> String,
) -> Vec<Volume> {
    let mut keys: Vec<&String> = now.keys().chain(prev.keys()).chain(ago.keys()).collect();
    keys.sort();
    keys.dedup();
    let get = |m: &BTreeMap<String, i64>, k: &str| m.get(k).copied().unwrap_or(0);
    let mut v: Vec<Volume> = keys
        .into_iter()
        .map(|k| volume(k.clone(), name(k), get(now, k), get(prev, k), get(ago, k)))
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    v
}

/// Each unit's assessment counters over the days `from..to` (Beijing days, `to` exclusive), from
/// the incremental per-unit-day aggregates the writer keeps.
async fn unit_counters(
    store: &Store,
    from: Time,
    to: Time,
) -> Result<HashMap<UnitId, Counters>, ReportError> {
    let first = jiesu_domain::calendar::to_beijing(from).date_naive();
    let end = jiesu_domain::calendar::to_beijing(to).date_naive();
    let Some(last) = end.pred_opt().filter(|l| *l >= first) else {
        return Ok(HashMap::new());
    };
    let period = jiesu_domain::assessment::Period {
        from: first,
        to: last,
    };
    Ok(store
        .unit_counters(&period)
        .await?
        .into_iter()
        .map(|(u, c)| (UnitId::new(u), c))
        .collect())
}

fn ranking(
    juris: &Jurisdiction,
    counters: &HashMap<UnitId, Counters>,
    group: PeerGroup,
    within: Option<&UnitId>,
) -> RankingGroup {
    let rules = &juris.policy.assessment;
    let empty = Counters::default();
    let mut rows: Vec<UnitFigures> = assessment::peers(&juris.org, group, within)
        .iter()
        .map(|u| {
            let name = juris.org.get(u).map_or(u.as_str(), |x| x.name.as_str());
            assessment::figures(u, name, counters.get(u).unwrap_or(&empty), rules)
        })
        .collect();
    assessment::rank(&mut rows, rules);
    RankingGroup {
        group,
        group_zh: group.name_zh(),
        within: within.map(|w| w.as_str().to_string()),
        within_name: within.map(|w| unit_name(juris, w.as_str())),
        rows,
    }
}

pub async fn analysis(
    store: &Store,
    juris: &Jurisdiction,
    kind: ReportKind,
    p: Period,
) -> Result<Analysis, ReportError> {
    let rows_of = |q: Option<Period>| async move {
        match q {
            Some(q) => store.case_volumes(q.from(), q.to()).await,
            None => Ok(vec![]),
        }
    };
    let (prev_p, ago_p) = (p.previous(), p.year_ago());
    let (total, now) = tally(&rows_of(Some(p)).await?);
    let (prev_total, prev) = tally(&rows_of(prev_p).await?);
    let (ago_total, ago) = tally(&rows_of(ago_p).await?);
    // Streets by where the case is (its location), not only by who holds it: a department's
    // case in a street counts for that street.
    let places_of = |q: Option<Period>| async move {
        match q {
            Some(q) => store.case_places(q.from(), q.to()).await,
            None => Ok(vec![]),
        }
    };
    let here = places_of(Some(p)).await?;
    let streets = [
        street_tally(juris, &here),
        street_tally(juris, &places_of(prev_p).await?),
        street_tally(juris, &places_of(ago_p).await?),
    ];
    let channel_name = |k: &str| {
        jiesu_domain::Channel::parse(k).map_or_else(|| k.to_string(), |c| c.name_zh().to_string())
    };
    let cat_name = |k: &str| category_name(juris, Some(k));
    let unit = |k: &str| unit_name(juris, k);
    let street = |k: &str| {
        if k.is_empty() {
            "未落到街道（乡镇）".to_string()
        } else {
            unit_name(juris, k)
        }
    };
    let by_channel = volumes(&now[0], &prev[0], &ago[0], channel_name);
    let by_category = volumes(&now[1], &prev[1], &ago[1], cat_name);
    let by_unit = volumes(&now[2], &prev[2], &ago[2], unit);
    let by_street = volumes(&streets[0], &streets[1], &streets[2], street);

    let top_categories = by_category
        .iter()
        .filter(|v| v.count > 0 && !v.key.is_empty())
        .take(TOP_N)
        .enumerate()
        .map(|(i, v)| Topic {
            rank: i as u32 + 1,
            category_id: v.key.clone(),
            name: v.name.clone(),
            count: v.count,
            share: share(v.count, total),
            change_previous: v.change_previous,
        })
        .collect();

    // Places: the community or village of the case's location, else of its holding unit.
    // Per community: its cases, and its cases per category.
    type PlaceTally = (i64, BTreeMap<String, i64>);
    let mut places: HashMap<String, PlaceTally> = HashMap::new();
    for r in here {
        let Some(c) = community_of(juris, place_path(juris, &r))
            .or_else(|| community_of(juris, &r.scope_path))
        else {
            continue;
        };
        let e = places.entry(c.to_string()).or_default();
        e.0 += 1;
        *e.1.entry(r.category.unwrap_or_default()).or_default() += 1;
    }
    let mut places: Vec<(String, PlaceTally)> = places.into_iter().collect();
    places.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(&b.0)));
    let top_places = places
        .into_iter()
        .take(TOP_N)
        .enumerate()
        .map(|(i, (id, (count, cats)))| {
            let top = cats
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(k, _)| category_name(juris, Some(k)))
                .unwrap_or_default();
            let street_id = juris
                .org
                .path(&UnitId::new(id.as_str()))
                .map(|path| street_of(juris, path))
                .unwrap_or_default();
            Place {
                rank: i as u32 + 1,
                name: unit_name(juris, &id),
                street: street(&street_id),
                unit_id: id,
                count,
                share: share(count, total),
                top_category: top,
            }
        })
        .collect();

    let counters = unit_counters(store, p.from(), p.to()).await?;
    let mut rankings = vec![
        ranking(juris, &counters, PeerGroup::Street, None),
        ranking(juris, &counters, PeerGroup::Department, None),
    ];
    for s in assessment::peers(&juris.org, PeerGroup::Street, None) {
        let g = ranking(juris, &counters, PeerGroup::Community, Some(&s));
        if !g.rows.is_empty() {
            rankings.push(g);
        }
    }
    rankings.retain(|g| !g.rows.is_empty());

    Ok(Analysis {
        kind,
        period: p.label(),
        title: format!("{} · {}", kind.name_zh(), p.label_zh()),
        from: p.start,
        to: p.last_day(),
        previous_period: prev_p.map(|q| q.label()),
        year_ago_period: ago_p.map(|q| q.label()),
        total: volume(
            "total".into(),
            "受理总量".into(),
            total,
            prev_total,
            ago_total,
        ),
        by_channel,
        by_category,
        by_unit,
        by_street,
        top_categories,
        top_places,
        rankings,
    })
}
