//! The demo county's history holds together: a case names one place, its point lies in that
//! place's grid, patrols come from that grid's worker, citizens report some of it themselves and
//! suspended cases resume. The history is generated in memory, as `jiesu demo` generates it
//! before importing it, over the county's own org tree, categories and calendar.

use std::collections::HashMap;
use std::sync::OnceLock;

use jiesu::demo::{self, County, History};
use jiesu::rng::Rng;
use jiesu_domain::case::GeoPoint;
use jiesu_domain::{
    CalendarYear, Case, CaseEvent, CaseState, CategoryTree, Channel, DeadlinePolicy, Jurisdiction,
    OfficeHours, OrgTree, Time, UnitId, UnitKind, WorkCalendar,
};
use jiesu_store::ImportedCase;

const CASES: usize = 3000;

struct Demo {
    county: County,
    juris: Jurisdiction,
    now: Time,
    /// Each grid's polygon ring, as the county's GeoJSON gives it.
    grids: Vec<(UnitId, Vec<[f64; 2]>)>,
    /// Each case's trail and the case it folds into.
    cases: Vec<(ImportedCase, Case)>,
}

fn ring_of(geojson: &str) -> Vec<[f64; 2]> {
    let v: serde_json::Value = serde_json::from_str(geojson).expect("GeoJSON");
    v["coordinates"][0]
        .as_array()
        .expect("a polygon's outer ring")
        .iter()
        .map(|p| [p[0].as_f64().expect("lon"), p[1].as_f64().expect("lat")])
        .collect()
}

fn inside(ring: &[[f64; 2]], p: GeoPoint) -> bool {
    let mut inside = false;
    let mut j = ring.len() - 1;
    for i in 0..ring.len() {
        let ([xi, yi], [xj, yj]) = (ring[i], ring[j]);
        if (yi > p.lat) != (yj > p.lat) && p.lon < (xj - xi) * (p.lat - yi) / (yj - yi) + xi {
            inside = !inside;
        }
        j = i;
    }
    inside
}

fn demo() -> &'static Demo {
    static D: OnceLock<Demo> = OnceLock::new();
    D.get_or_init(|| {
        let county = demo::build_county(7);
        let mut calendar = WorkCalendar::new(OfficeHours::default());
        for f in demo::CALENDAR_FILES {
            calendar.add_year(CalendarYear::parse_toml(f).expect("calendar"));
        }
        let juris = Jurisdiction {
            org: OrgTree::new(county.units.clone()).expect("org tree"),
            calendar,
            policy: DeadlinePolicy::default(),
            categories: CategoryTree::new(county.categories.clone()).expect("categories"),
        };
        let now = jiesu_domain::calendar::to_beijing(
            chrono::DateTime::parse_from_rfc3339("2026-06-10T08:00:00+08:00").expect("time"),
        );
        let kinds: HashMap<&UnitId, UnitKind> =
            county.units.iter().map(|u| (&u.id, u.kind)).collect();
        let grids = county
            .geometry
            .iter()
            .filter(|(id, _)| kinds.get(id) == Some(&UnitKind::Grid))
            .map(|(id, g)| (id.clone(), ring_of(g)))
            .collect();
        let mut cases = Vec::new();
        {
            let mut h = History::new(&juris, &county, CASES, 7, now);
            while let Some(batch) = h.next_batch(500) {
                for c in batch {
                    let case = Case::replay(c.id.clone(), c.events.iter().map(|(e, t, _)| (e, *t)))
                        .expect("a trail starts with its intake");
                    cases.push((c, case));
                }
            }
        }
        assert!(cases.len() > CASES * 9 / 10, "{} cases", cases.len());
        Demo {
            county,
            juris,
            now,
            grids,
            cases,
        }
    })
}

impl Demo {
    /// The grids whose polygon holds the point.
    fn grids_at(&self, p: GeoPoint) -> Vec<&UnitId> {
        self.grids
            .iter()
            .filter(|(_, r)| inside(r, p))
            .map(|(id, _)| id)
            .collect()
    }
    fn parent(&self, u: &UnitId) -> &UnitId {
        self.juris
            .org
            .get(u)
            .and_then(|u| u.parent.as_ref())
            .expect("a parent")
    }
    fn name(&self, u: &UnitId) -> &str {
        &self.juris.org.get(u).expect("a unit").name
    }
    /// The street or town a unit lies in, if any.
    fn street_of(&self, u: &UnitId) -> Option<&UnitId> {
        let org = &self.juris.org;
        let mut cur = org.get(u)?;
        loop {
            if matches!(cur.kind, UnitKind::Street | UnitKind::Town) {
                return Some(&cur.id);
            }
            cur = org.get(cur.parent.as_ref()?)?;
        }
    }
    fn user(&self, actor_id: &str) -> &demo::DemoUser {
        let name = actor_id.strip_prefix("u-").expect("a demo user's id");
        self.county
            .users
            .iter()
            .find(|u| u.username == name)
            .expect("a demo user")
    }
    /// The grid a case happened in: the one grid its point lies in.
    fn grid_of(&self, case: &Case) -> &UnitId {
        let p = case
            .draft
            .location
            .unwrap_or_else(|| panic!("{}: no point", case.draft.title));
        let at = self.grids_at(p);
        assert_eq!(
            at.len(),
            1,
            "{}: {p:?} lies in grids {at:?}",
            case.draft.title
        );
        at[0]
    }
}

#[test]
fn grids_do_not_overlap() {
    let d = demo();
    let mut rng = Rng::new(1);
    for (id, ring) in &d.grids {
        let (x0, x1) = (
            ring.iter().map(|p| p[0]).fold(f64::MAX, f64::min),
            ring.iter().map(|p| p[0]).fold(f64::MIN, f64::max),
        );
        let (y0, y1) = (
            ring.iter().map(|p| p[1]).fold(f64::MAX, f64::min),
            ring.iter().map(|p| p[1]).fold(f64::MIN, f64::max),
        );
        for _ in 0..20 {
            let p = GeoPoint {
                lon: x0 + rng.float() * (x1 - x0),
                lat: y0 + rng.float() * (y1 - y0),
            };
            if inside(ring, p) {
                assert_eq!(d.grids_at(p), vec![id], "{p:?}");
            }
        }
    }
}

#[test]
fn every_case_lies_in_a_grid_of_the_street_and_community_that_handle_it() {
    let d = demo();
    for (_, case) in &d.cases {
        let grid = d.grid_of(case);
        let community = d.parent(grid);
        let street = d.parent(community);
        // Filed at a street: that street. Sent to a street or below: that street, and to a
        // community: that community.
        let units = std::iter::once(&case.intake_unit).chain(&case.involved_units);
        for u in units {
            if let Some(s) = d.street_of(u) {
                assert_eq!(s, street, "{}: {u} is not in {street}", case.draft.title);
            }
            let kind = d.juris.org.get(u).map(|u| u.kind);
            if matches!(kind, Some(UnitKind::Community | UnitKind::Village)) {
                assert_eq!(u, community, "{}", case.draft.title);
            }
        }
    }
    // Streets do pass cases down to communities.
    let to_communities = d
        .cases
        .iter()
        .filter(|(_, c)| {
            c.assigned_unit.as_ref().is_some_and(|u| {
                matches!(
                    d.juris.org.get(u).map(|u| u.kind),
                    Some(UnitKind::Community | UnitKind::Village)
                )
            })
        })
        .count();
    assert!(to_communities > 0);
}

#[test]
fn title_details_address_and_reply_name_the_same_place() {
    let d = demo();
    let others: Vec<&str> = d
        .county
        .units
        .iter()
        .filter(|u| matches!(u.kind, UnitKind::Community | UnitKind::Village))
        .map(|u| u.name.as_str())
        .collect();
    let mut replies = 0;
    for (_, case) in &d.cases {
        let grid = d.grid_of(case);
        let community = d.name(d.parent(grid));
        let street = d.name(d.parent(d.parent(grid)));
        let address = case.draft.address.as_deref().expect("an address");
        // 丹江口市 + street + community (a village's own places begin with its name) + place + detail.
        let rest = address
            .strip_prefix("丹江口市")
            .and_then(|a| a.strip_prefix(street))
            .unwrap_or_else(|| panic!("{address} is not in {street}"));
        assert!(
            rest.starts_with(community),
            "{address} is not in {community}"
        );
        let rest = rest
            .strip_prefix(community)
            .filter(|r| !r.is_empty())
            .unwrap_or(rest);
        let place = rest
            .trim_end_matches('号')
            .trim_end_matches("单元")
            .trim_end_matches(|c: char| c.is_ascii_digit())
            .trim_end_matches('栋')
            .trim_end_matches(|c: char| c.is_ascii_digit());
        assert!(!place.is_empty(), "{address}");
        let draft = &case.draft;
        assert!(
            draft.title.contains(place),
            "{}: title {} ≠ {address}",
            draft.title,
            place
        );
        assert!(
            draft.description.contains(place),
            "{}: {address}",
            draft.description
        );
        let reply = case
            .reply
            .as_ref()
            .map(|r| &r.text)
            .or(case.direct_answer.as_ref());
        if let Some(r) = reply {
            replies += 1;
            assert!(r.contains(place), "{}: reply {r} ≠ {address}", draft.title);
        }
        // And no other community or village.
        for text in [&draft.title, &draft.description].into_iter().chain(reply) {
            if let Some(other) = others
                .iter()
                .find(|n| **n != community && text.contains(**n))
            {
                panic!("{text} names {other}, but happened in {community}");
            }
        }
    }
    assert!(replies > d.cases.len() / 2);
}

#[test]
fn patrol_cases_come_from_the_worker_of_their_grid() {
    let d = demo();
    let patrols: Vec<_> = d
        .cases
        .iter()
        .filter(|(_, c)| c.draft.channel == Channel::GridPatrol)
        .collect();
    assert!(patrols.len() > 20, "{} patrol cases", patrols.len());
    for (trail, case) in patrols {
        let reporter = d.user(&trail.events[0].2.id);
        assert_eq!(reporter.role, jiesu_domain::Role::GridWorker);
        assert_eq!(&reporter.unit, d.grid_of(case), "{}", case.draft.title);
    }
}

#[test]
fn citizens_report_some_cases_online_and_they_are_dispatched() {
    let d = demo();
    let org = &d.juris.org;
    let mut by_citizens = 0;
    let mut by_app = 0;
    let mut dispatched = 0;
    for (trail, case) in &d.cases {
        let online = matches!(
            case.draft.channel,
            Channel::Web | Channel::Mobile | Channel::Open311
        );
        if case.draft.channel == Channel::Open311 {
            // Through the citizens' app, the demo's Open311 client, with a person as reporter.
            assert_eq!(
                trail.events[0].2.id,
                format!("u-open311-{}", demo::OPEN311_CLIENT)
            );
            assert!(case.draft.reporter.name.is_some() && case.draft.reporter.phone.is_some());
            by_app += 1;
        } else {
            let reporter = d.user(&trail.events[0].2.id);
            assert_eq!(
                online,
                reporter.role == jiesu_domain::Role::Citizen,
                "{}: {} through {}",
                case.draft.title,
                reporter.username,
                case.draft.channel.as_str()
            );
        }
        if !online {
            continue;
        }
        by_citizens += 1;
        assert_eq!(
            case.draft.reporter.user_id.as_ref(),
            Some(&trail.events[0].2.id)
        );
        for (ev, _, who) in &trail.events {
            if matches!(ev, CaseEvent::Dispatched { .. }) {
                dispatched += 1;
                // By the dispatcher of the centre the case was filed at.
                let u = d.user(&who.id);
                assert_eq!(u.role, jiesu_domain::Role::Dispatcher);
                assert!(org.is_within(&case.intake_unit, &u.unit), "{}", u.username);
            }
        }
    }
    let app = by_app as f64 / by_citizens as f64;
    assert!((0.15..=0.35).contains(&app), "by the app: {app:.3}");
    let share = by_citizens as f64 / d.cases.len() as f64;
    assert!(
        (0.05..=0.15).contains(&share),
        "citizens reported {share:.3}"
    );
    assert!(
        dispatched > by_citizens / 2,
        "{dispatched} of {by_citizens}"
    );
}

#[test]
fn suspended_cases_resume_but_for_a_few_recent_ones() {
    let d = demo();
    let had =
        |trail: &ImportedCase, f: fn(&CaseEvent) -> bool| trail.events.iter().any(|e| f(&e.0));
    let suspended = d
        .cases
        .iter()
        .filter(|(t, _)| had(t, |e| matches!(e, CaseEvent::Suspended { .. })))
        .count();
    let resumed = d
        .cases
        .iter()
        .filter(|(t, _)| had(t, |e| matches!(e, CaseEvent::Resumed { .. })))
        .count();
    let still: Vec<&Case> = d
        .cases
        .iter()
        .map(|(_, c)| c)
        .filter(|c| c.state == CaseState::Suspended)
        .collect();
    assert!(
        resumed > 10,
        "{resumed} of {suspended} suspended cases resumed"
    );
    assert_eq!(suspended, resumed + still.len());
    assert!(
        still.len() <= suspended / 4,
        "{} still suspended",
        still.len()
    );
    for c in still {
        let since = c.suspension.as_ref().expect("a suspension").since;
        assert!(
            d.now - since < chrono::Duration::days(21),
            "{} suspended since {since}",
            c.draft.title
        );
    }
}

fn types_in_history(d: &Demo) -> HashMap<&'static str, usize> {
    let mut n: HashMap<&'static str, usize> = HashMap::new();
    for (t, _) in &d.cases {
        for (e, _, _) in &t.events {
            *n.entry(e.type_name()).or_default() += 1;
        }
    }
    n
}

#[test]
fn the_history_holds_every_kind_of_supervision_event() {
    use jiesu_domain::case::Satisfaction;
    use jiesu_domain::supervision::{CardReason, SuperviseLevel};
    let d = demo();
    let n = types_in_history(d);
    for t in [
        "deadline_warning",
        "deadline_missed",
        "yellow_card",
        "red_card",
        "card_appealed",
        "card_upheld",
        "card_revoked",
        "whistled",
        "reported_in",
        "part_recorded",
        "supervised",
        "reminded",
        "callback_attempted",
        "reopened",
    ] {
        assert!(n.get(t).copied().unwrap_or(0) >= 3, "{t}: {n:?}");
    }
    let events = || {
        d.cases
            .iter()
            .flat_map(|(t, _)| t.events.iter().map(|e| &e.0))
    };
    for level in SuperviseLevel::ALL {
        assert!(
            events().any(|e| matches!(e, CaseEvent::Supervised { level: l, .. } if l == level)),
            "no {level} supervision"
        );
    }
    for reason in [
        CardReason::AcceptLate,
        CardReason::ResolveLate,
        CardReason::ResolveFarLate,
    ] {
        assert!(
            events().any(|e| matches!(e,
                CaseEvent::YellowCard { card } | CaseEvent::RedCard { card } if card.reason == reason)),
            "no card for {reason}"
        );
    }
    // Callbacks of every outcome, and 重办 rated a second time.
    for sat in Satisfaction::ALL {
        assert!(
            events().any(
                |e| matches!(e, CaseEvent::CallbackRecorded { satisfaction, .. } if satisfaction == sat)
            ),
            "no {sat} callback"
        );
    }
    let rated_twice = d
        .cases
        .iter()
        .filter(|(t, c)| {
            c.state == CaseState::Closed
                && t.events
                    .iter()
                    .filter(|e| matches!(e.0, CaseEvent::CallbackRecorded { .. }))
                    .count()
                    == 2
        })
        .count();
    assert!(rated_twice >= 3, "{rated_twice} cases rated twice");
    // Unreachable is an outcome only after three unanswered calls.
    for (t, _) in &d.cases {
        let unreachable = t.events.iter().any(|e| {
            matches!(
                e.0,
                CaseEvent::CallbackRecorded {
                    satisfaction: Satisfaction::Unreachable,
                    ..
                }
            )
        });
        if unreachable {
            let attempts = t
                .events
                .iter()
                .filter(|e| matches!(e.0, CaseEvent::CallbackAttempted { .. }))
                .count();
            assert_eq!(attempts, 2, "{}", t.id);
        }
    }
}

#[test]
fn every_card_falls_on_a_deadline_really_missed_in_its_trail() {
    use jiesu_domain::supervision::{CardReason, DeadlineKind, far_late_at, live_deadlines};
    let d = demo();
    let ctx = d.juris.ctx();
    let mut checked = 0;
    for (trail, _) in &d.cases {
        // Trails run forward in time, the clock's events included.
        assert!(
            trail.events.windows(2).all(|w| w[0].1 <= w[1].1),
            "{}: events out of order: {:?}",
            trail.id,
            trail
                .events
                .iter()
                .map(|e| (e.0.type_name(), e.1))
                .collect::<Vec<_>>()
        );
        let mut case: Option<Case> = None;
        for (e, at, _) in &trail.events {
            let card = match e {
                CaseEvent::YellowCard { card } | CaseEvent::RedCard { card } => Some(card),
                _ => None,
            };
            if let (Some(card), Some(before)) = (card, &case) {
                let kind = match card.reason {
                    CardReason::AcceptLate => Some(DeadlineKind::Accept),
                    CardReason::ContactLate => Some(DeadlineKind::Contact),
                    CardReason::ReportInLate => Some(DeadlineKind::ReportIn),
                    CardReason::ResolveLate | CardReason::ResolveFarLate => {
                        Some(DeadlineKind::Resolve)
                    }
                    CardReason::YellowLimit => None,
                };
                if let Some(kind) = kind {
                    let due = card.due.expect("a missed deadline's card names its due");
                    // Still running when the card came: nothing had met it.
                    let live = live_deadlines(before);
                    assert!(
                        live.iter()
                            .any(|l| l.kind == kind && l.unit == card.unit && l.due == due),
                        "{}: card {} for {kind} due {due}, but running were {live:?}",
                        trail.id,
                        card.id
                    );
                    let from = if card.reason == CardReason::ResolveFarLate {
                        far_late_at(due, ctx.calendar, &ctx.policy.supervision).expect("calendar")
                    } else {
                        due
                    };
                    assert!(*at >= from && card.issued_at >= from, "{}", trail.id);
                    checked += 1;
                }
            }
            match &mut case {
                None => case = Case::from_received(trail.id.clone(), e, *at),
                Some(c) => c.evolve(e, *at),
            }
        }
    }
    assert!(checked > 50, "{checked} cards checked");
}

#[test]
fn the_laggard_units_collect_more_cards_per_case() {
    let d = demo();
    // Cards per case dispatched to a unit, for the departments.
    let mut cases: HashMap<&UnitId, f64> = HashMap::new();
    let mut cards: HashMap<&UnitId, f64> = HashMap::new();
    for (t, _) in &d.cases {
        for (e, _, _) in &t.events {
            match e {
                CaseEvent::Dispatched { unit, .. } => *cases.entry(unit).or_default() += 1.0,
                CaseEvent::YellowCard { card } | CaseEvent::RedCard { card } => {
                    *cards.entry(&card.unit).or_default() += 1.0
                }
                _ => {}
            }
        }
    }
    let rate =
        |u: &UnitId| cards.get(u).copied().unwrap_or(0.0) / cases.get(u).copied().unwrap_or(1.0);
    let depts = &d.county.departments;
    let laggards = [&depts[7], &depts[13]];
    let others: Vec<f64> = depts
        .iter()
        .filter(|u| !laggards.contains(u) && cases.get(u).copied().unwrap_or(0.0) >= 20.0)
        .map(rate)
        .collect();
    let typical = others.iter().sum::<f64>() / others.len() as f64;
    for u in laggards {
        assert!(
            rate(u) > 2.0 * typical,
            "{u}: {:.2} cards per case against {typical:.2}",
            rate(u)
        );
    }
}

/// The demo's gazetteer reads addresses as callers give them: each case's address, with no
/// point, is placed in the grid its point lies in — as written, with the province and city
/// before it, and as a caller says it: without the county, the community (or the town and
/// village) then the place, its suffix said another way (路 → 街, 小区 → 花园, 组 → 村民小组…).
#[test]
fn addresses_are_placed_by_the_gazetteer() {
    let d = demo();
    let places: Vec<(String, jiesu_domain::PlaceKind, UnitId)> = demo::gazetteer(&d.county)
        .into_iter()
        .map(|(n, k, u)| (n, jiesu_domain::PlaceKind::parse(&k).expect("a kind"), u))
        .collect();
    let org = OrgTree::new(d.county.units.clone())
        .expect("org tree")
        .with_places(places);
    // The place's own suffix: at the end, or before the house number.
    let swap = |s: &str| {
        for (a, b) in [
            ("小区", "花园"),
            ("路", "街"),
            ("巷", "胡同"),
            ("组", "村民小组"),
        ] {
            for (i, _) in s.match_indices(a) {
                let rest = &s[i + a.len()..];
                if rest.is_empty() || rest.starts_with(|c: char| c.is_ascii_digit()) {
                    return format!("{}{b}{rest}", &s[..i]);
                }
            }
        }
        s.to_string()
    };
    // [as written, with province and city, as a caller says it]: grid right, community right
    let mut right = [[0usize; 2]; 3];
    let mut total = 0;
    for (_, case) in &d.cases {
        let Some(address) = case.draft.address.as_deref() else {
            continue;
        };
        total += 1;
        let grid = d.grid_of(case);
        let community = d.parent(grid);
        let street = d.parent(community);
        let bare = address
            .trim_start_matches("丹江口市")
            .trim_start_matches(d.name(street));
        let place = bare.trim_start_matches(d.name(community));
        let forms = [
            address.to_string(),
            format!("湖北省十堰市{address}"),
            // Village names repeat from town to town: a caller names the town with the village.
            if d.juris.org.get(community).map(|u| u.kind) == Some(UnitKind::Village) {
                format!("{}{}", d.name(street), swap(bare))
            } else {
                format!("{}{}", d.name(community), swap(place))
            },
        ];
        for (i, form) in forms.iter().enumerate() {
            let Some(placed) = org.place_of(form) else {
                continue;
            };
            if &placed == grid {
                right[i][0] += 1;
            }
            if org.is_within(&placed, community) {
                right[i][1] += 1;
            }
        }
    }
    println!(
        "{total} addresses; [grid, community] right: as written {:?}, with province {:?}, as a caller says it {:?}",
        right[0], right[1], right[2]
    );
    assert!(total > 1000);
    assert_eq!(right[0], [total, total], "as written");
    assert_eq!(right[1], [total, total], "with the province and city");
    // Without the street, a community name two streets share (王家社区) is a guess.
    assert!(
        right[2][1] * 1000 >= total * 998,
        "as a caller says it: community right for {:?} of {total}",
        right[2]
    );
    assert!(
        right[2][0] * 100 >= total * 95,
        "as a caller says it: grid right for {:?} of {total}",
        right[2]
    );
}
