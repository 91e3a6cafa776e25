//! `jiesu demo`: builds a realistic county modelled on Danjiangkou (org tree, grids with polygons,
//! departments, categories, users for every role) and twelve months of case history, made by
//! running real domain commands at historical times so every trail is a valid one.

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{Duration, Timelike};
use jiesu_domain::case::{IntakePath, ReplyOutcome, Reporter, ReviewDecision, Satisfaction};
use jiesu_domain::supervision::{
    AppealDecision, CardStatus, SuperviseLevel, due_events, live_deadlines, next_fire, warn_at,
};
use jiesu_domain::{
    Actor, Case, CaseDraft, CaseEvent, CaseState, Category, Channel, Command, Grant, Jurisdiction,
    Kind, OrgUnit, Role, Time, UnitId, UnitKind, Urgency,
};
use jiesu_store::{ActorRef, ImportedCase, NewUser, Store};

use crate::demo_data::*;
use crate::demo_places::{CompoundNames, Grid, Place, community_places, sample_in};
use crate::rng::Rng;

pub const COUNTY: &str = "420381";
pub const CITY: &str = "420300";

#[derive(Debug, Clone)]
pub struct DemoUser {
    pub username: String,
    pub password: String,
    pub display_name: String,
    pub role: Role,
    pub unit: UnitId,
}

pub struct County {
    pub units: Vec<OrgUnit>,
    pub geometry: Vec<(UnitId, String)>,
    pub categories: Vec<Category>,
    pub users: Vec<DemoUser>,
    /// Street/town code → its community/village codes.
    pub communities: Vec<(UnitId, Vec<UnitId>)>,
    pub departments: Vec<UnitId>,
    /// Every grid with its polygon, community and street.
    pub grids: Vec<Grid>,
    /// Where cases happen: each place lies in one of `grids`.
    pub places: Vec<Place>,
}

/// Citizen accounts (`citizen01`…) that report online.
pub const CITIZENS: usize = 12;

fn unit(id: &str, parent: Option<&str>, kind: UnitKind, name: &str) -> OrgUnit {
    OrgUnit {
        id: UnitId::new(id),
        parent: parent.map(UnitId::new),
        kind,
        name: name.to_string(),
    }
}

/// An axis-aligned rectangle as a closed ring, corners rounded to six decimals (about 0.1 m).
fn rect(lon: f64, lat: f64, w: f64, h: f64) -> Vec<[f64; 2]> {
    let r = |v: f64| (v * 1e6).round() / 1e6;
    let (x0, y0, x1, y1) = (r(lon), r(lat), r(lon + w), r(lat + h));
    vec![[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
}

/// A ring as a GeoJSON polygon.
fn polygon(ring: &[[f64; 2]]) -> String {
    let coords: Vec<String> = ring
        .iter()
        .map(|p| format!("[{:.6},{:.6}]", p[0], p[1]))
        .collect();
    format!(
        r#"{{"type":"Polygon","coordinates":[[{}]]}}"#,
        coords.join(",")
    )
}

fn password(rng: &mut Rng) -> String {
    const WORDS: &[&str] = &[
        "Danjiang", "Hanjiang", "Wudang", "Canglang", "Junzhou", "Qingshui",
    ];
    format!("{}-{:04}", rng.pick_str(WORDS), rng.below(10_000))
}

fn person(rng: &mut Rng) -> String {
    format!("{}{}", rng.pick_str(SURNAMES), rng.pick_str(GIVEN))
}

/// The county: about 12 streets/towns, 150+ communities/villages, 450+ grids, 25 departments.
pub fn build_county(seed: u64) -> County {
    let mut rng = Rng::new(seed);
    let mut units = vec![
        unit(CITY, None, UnitKind::City, "十堰市"),
        unit(COUNTY, Some(CITY), UnitKind::County, "丹江口市"),
    ];
    let mut geometry = Vec::new();
    let mut communities = Vec::new();
    let mut grids = Vec::new();
    let mut places = Vec::new();
    let mut compounds = CompoundNames::new(seed);
    let mut users = Vec::new();
    let mut add_user =
        |rng: &mut Rng, username: String, role: Role, unit: &str, display: String| {
            users.push(DemoUser {
                username,
                password: password(rng),
                display_name: display,
                role,
                unit: UnitId::new(unit),
            });
        };
    add_user(
        &mut rng,
        "admin".into(),
        Role::Admin,
        COUNTY,
        "系统管理员".into(),
    );
    for (i, n) in ["operator", "operator2", "operator3"].iter().enumerate() {
        let name = format!("12345接线员{}", person(&mut rng));
        let _ = i;
        add_user(&mut rng, n.to_string(), Role::Operator, COUNTY, name);
    }
    // The city's 12345 centre, where citizens' own online reports have been filed.
    let name = format!("十堰市12345派单员{}", person(&mut rng));
    add_user(
        &mut rng,
        "dispatcher_city".into(),
        Role::Dispatcher,
        CITY,
        name,
    );
    for n in ["dispatcher", "dispatcher2"] {
        let name = format!("市派单员{}", person(&mut rng));
        add_user(&mut rng, n.into(), Role::Dispatcher, COUNTY, name);
    }
    let name = format!("分管副市长{}", person(&mut rng));
    add_user(&mut rng, "leader".into(), Role::Leader, COUNTY, name);
    let name = format!("市纪委监委{}", person(&mut rng));
    add_user(&mut rng, "inspector".into(), Role::Inspector, COUNTY, name);
    let mut used_names: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (si, (sname, skind, lon, lat, real)) in STREETS.iter().enumerate() {
        let scode = format!("{COUNTY}{:03}", si + 1);
        let is_street = *skind == "street";
        units.push(unit(
            &scode,
            Some(COUNTY),
            if is_street {
                UnitKind::Street
            } else {
                UnitKind::Town
            },
            sname,
        ));
        let sn = format!("s{:02}", si + 1);
        let name = format!("{sname}派单员{}", person(&mut rng));
        add_user(
            &mut rng,
            format!("dispatcher_{sn}"),
            Role::Dispatcher,
            &scode,
            name,
        );
        let name = format!("{sname}承办人{}", person(&mut rng));
        add_user(
            &mut rng,
            format!("handler_{sn}"),
            Role::Handler,
            &scode,
            name,
        );
        if si == 0 {
            let name = format!("{sname}党工委书记{}", person(&mut rng));
            add_user(&mut rng, format!("leader_{sn}"), Role::Leader, &scode, name);
        }
        let count = 12 + rng.below(3);
        let roads = STREET_ROADS.get(si).copied().unwrap_or(&[]);
        // Communities sit on a 4-wide lattice around the centre: an urban community is about
        // 450 m × 450 m, a village about 1.1 km square. No two streets' lattices overlap.
        let (cw, ch) = if is_street {
            (0.0045, 0.004)
        } else {
            (0.012, 0.010)
        };
        let mut list = Vec::new();
        for ci in 0..count {
            let ccode = format!("{scode}{:03}", ci + 1);
            let cname = if ci < real.len() {
                real[ci].to_string()
            } else {
                let suffix = if is_street { "社区" } else { "村" };
                loop {
                    let n = format!("{}{}", rng.pick_str(PLACE_WORDS), suffix);
                    if used_names.insert(format!("{scode}{n}")) && !real.contains(&n.as_str()) {
                        break n;
                    }
                }
            };
            let ckind = if cname.ends_with('村') {
                UnitKind::Village
            } else {
                UnitKind::Community
            };
            units.push(unit(&ccode, Some(&scode), ckind, &cname));
            let (cx, cy) = (
                lon + (ci % 4) as f64 * cw - 2.0 * cw,
                lat + (ci / 4) as f64 * ch - 2.0 * ch,
            );
            geometry.push((UnitId::new(ccode.as_str()), polygon(&rect(cx, cy, cw, ch))));
            // Every community has its secretary, who takes the cases the street passes down.
            let name = format!("{cname}书记{}", person(&mut rng));
            add_user(
                &mut rng,
                format!("handler_c{ccode}"),
                Role::Handler,
                &ccode,
                name,
            );
            let grids_per_community = 3;
            let (gw, first_grid) = (cw / grids_per_community as f64, grids.len());
            for gi in 0..grids_per_community {
                let gcode = format!("{ccode}{:02}", gi + 1);
                units.push(unit(
                    &gcode,
                    Some(&ccode),
                    UnitKind::Grid,
                    &format!("{cname}第{}网格", gi + 1),
                ));
                let gx = cx + gi as f64 * gw;
                let ring = rect(gx, cy, gw, ch);
                geometry.push((UnitId::new(gcode.as_str()), polygon(&ring)));
                grids.push(Grid {
                    id: UnitId::new(gcode.as_str()),
                    community: UnitId::new(ccode.as_str()),
                    street: UnitId::new(scode.as_str()),
                    ring,
                });
                if ci < 3 && gi == 0 {
                    let name = format!("网格员{}", person(&mut rng));
                    add_user(
                        &mut rng,
                        format!("grid_{gcode}"),
                        Role::GridWorker,
                        &gcode,
                        name,
                    );
                }
                if is_street {
                    for mi in 0..2 {
                        let mcode = format!("{gcode}{:02}", mi + 1);
                        units.push(unit(
                            &mcode,
                            Some(&gcode),
                            UnitKind::MicroGrid,
                            &format!("{cname}第{}网格{}号楼栋微网格", gi + 1, mi + 1),
                        ));
                        geometry.push((
                            UnitId::new(mcode.as_str()),
                            polygon(&rect(gx, cy + mi as f64 * ch / 2.0, gw, ch / 2.0)),
                        ));
                    }
                }
            }
            let grid_ids: Vec<usize> = (first_grid..grids.len()).collect();
            places.extend(community_places(
                sname,
                roads,
                is_street,
                ci,
                &cname,
                &grid_ids,
                &mut compounds,
            ));
            list.push(UnitId::new(ccode));
        }
        communities.push((UnitId::new(scode), list));
    }
    let mut departments = Vec::new();
    for (di, dname) in DEPARTMENTS.iter().enumerate() {
        let dcode = format!("{COUNTY}D{:02}", di + 1);
        units.push(unit(&dcode, Some(COUNTY), UnitKind::Department, dname));
        let name = format!("{dname}承办人{}", person(&mut rng));
        add_user(
            &mut rng,
            format!("handler_d{:02}", di + 1),
            Role::Handler,
            &dcode,
            name,
        );
        departments.push(UnitId::new(dcode));
    }
    for (i, d) in [16usize, 23, 5, 15, 12].iter().enumerate() {
        let name = format!("包联干部{}", person(&mut rng));
        add_user(
            &mut rng,
            format!("cadre{:02}", i + 1),
            Role::Cadre,
            departments[*d].as_str(),
            name,
        );
    }
    for i in 1..=CITIZENS {
        let name = person(&mut rng);
        add_user(
            &mut rng,
            format!("citizen{i:02}"),
            Role::Citizen,
            CITY,
            name,
        );
    }
    let mut categories = Vec::new();
    for (id, name, en) in CATEGORY_GROUPS {
        categories.push(Category {
            id: id.to_string(),
            parent: None,
            name: name.to_string(),
            name_en: en.to_string(),
            default_kind: None,
            default_unit: None,
        });
    }
    for l in LEAVES {
        let parent = l.id.split('.').next().unwrap_or(l.id);
        let parent = if CATEGORY_GROUPS.iter().any(|g| g.0 == parent) {
            parent
        } else {
            match parent {
                "forest" => "safety",
                _ => "service",
            }
        };
        categories.push(Category {
            id: l.id.to_string(),
            parent: Some(parent.to_string()),
            name: l.name.to_string(),
            name_en: l.name_en.to_string(),
            default_kind: Kind::parse(l.kind),
            default_unit: Some(departments[l.dept].clone()),
        });
    }
    County {
        units,
        geometry,
        categories,
        users,
        communities,
        departments,
        grids,
        places,
    }
}

/// The built-in holiday schedules (State Council notices 2019–2026), one file per year.
pub const CALENDAR_FILES: &[&str] = &[
    include_str!("../../../calendar/2019.toml"),
    include_str!("../../../calendar/2020.toml"),
    include_str!("../../../calendar/2021.toml"),
    include_str!("../../../calendar/2022.toml"),
    include_str!("../../../calendar/2023.toml"),
    include_str!("../../../calendar/2024.toml"),
    include_str!("../../../calendar/2025.toml"),
    include_str!("../../../calendar/2026.toml"),
];

/// Loads the built-in calendar years that the store does not have yet.
pub async fn ensure_calendar(store: &Store) -> anyhow::Result<()> {
    let have = store.load_calendar(Default::default()).await?;
    for f in CALENDAR_FILES {
        let y = jiesu_domain::CalendarYear::parse_toml(f)?;
        if !have.has_official(y.year) {
            store.put_calendar_year(f).await?;
        }
    }
    Ok(())
}

/// The county's gazetteer: its streets and towns, communities and villages, and every place
/// where its cases happen, each with the unit answering for it (a place, its grid).
pub fn gazetteer(county: &County) -> Vec<(String, String, UnitId)> {
    use crate::demo_places::PlaceKind as P;
    use jiesu_domain::PlaceKind as G;
    let mut out: Vec<(String, String, UnitId)> = county
        .units
        .iter()
        .filter_map(|u| {
            let kind = match u.kind {
                UnitKind::Street | UnitKind::Town => G::Street,
                UnitKind::Community | UnitKind::Village => G::Community,
                _ => return None,
            };
            Some((u.name.clone(), kind.as_str().to_string(), u.id.clone()))
        })
        .collect();
    for p in &county.places {
        let kind = match p.kind {
            P::Road | P::VillageRoad if p.name.ends_with('巷') => G::Alley,
            P::Road | P::VillageRoad => G::Road,
            P::Compound => G::Compound,
            P::Market | P::School | P::Square => G::Landmark,
            P::Field => G::Group,
        };
        out.push((
            p.name.clone(),
            kind.as_str().to_string(),
            county.grids[p.grid].id.clone(),
        ));
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0 && a.2 == b.2);
    out
}

/// Writes the county, its categories and its users (passwords hashed with argon2id in parallel).
pub async fn install(store: &Store, county: &County, now: Time) -> anyhow::Result<()> {
    ensure_calendar(store).await?;
    store.put_units(&county.units, &county.geometry).await?;
    store
        .administer(
            &jiesu_store::AdminChange::ReplacePlaces {
                places: gazetteer(county),
            },
            &jiesu_store::AuditEntry {
                at_ms: now.timestamp_millis(),
                actor_id: "system".into(),
                actor_name: "演示数据".into(),
                address: "local".into(),
                action: "places_replaced".into(),
                target: "places".into(),
                detail: format!("{} places of the demo county", county.places.len()),
            },
        )
        .await?;
    store.put_categories(&county.categories).await?;
    // One hashing thread per core: argon2id takes 19 MiB a hash, and a thread per user made
    // hundreds of them at once for no more speed.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for k in 0..workers {
        let (tx, users) = (tx.clone(), county.users.clone());
        tokio::task::spawn_blocking(move || {
            for u in users.into_iter().skip(k).step_by(workers) {
                let hashed = jiesu_api::password::hash(&u.password).map(|h| (u, h));
                if tx.send(hashed).is_err() {
                    return;
                }
            }
        });
    }
    drop(tx);
    while let Some(hashed) = rx.recv().await {
        let (u, hash) = hashed?;
        store
            .create_user(
                &NewUser {
                    id: format!("u-{}", u.username),
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    password_hash: hash,
                    phone: None,
                    must_change_password: false,
                    grants: vec![Grant {
                        role: u.role,
                        unit: u.unit.clone(),
                    }],
                },
                now.timestamp_millis(),
            )
            .await?;
    }
    Ok(())
}

pub fn users_file(users: &[DemoUser]) -> String {
    let mut s = String::new();
    for u in users {
        s.push_str(&format!(
            "{}\t{}\t{}\t{}\n",
            u.username,
            u.password,
            u.role.as_str(),
            u.unit
        ));
    }
    s
}

pub fn actor_of(u: &DemoUser) -> Actor {
    Actor {
        user_id: format!("u-{}", u.username),
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        grants: vec![Grant {
            role: u.role,
            unit: u.unit.clone(),
        }],
    }
}

/// A template filled in for the one place a case is about.
/// Which of its category's stories a demo case's title tells (the phrasing it was written
/// from), by the title template whose fixed words it contains, in order. `None` for a case not
/// written by the demo.
pub fn story_of(category: &str, title: &str) -> Option<usize> {
    let leaf = crate::demo_data::LEAVES.iter().find(|l| l.id == category)?;
    let mut best: Option<(usize, usize)> = None;
    for (i, template) in leaf.titles.iter().enumerate() {
        let fixed: Vec<&str> = template
            .split(['{', '}'])
            .enumerate()
            .filter(|(k, part)| k % 2 == 0 && !part.is_empty())
            .map(|(_, part)| part)
            .collect();
        let mut at = 0;
        let all = fixed.iter().all(|f| match title[at..].find(f) {
            Some(j) => {
                at += j + f.len();
                true
            }
            None => false,
        });
        let len: usize = fixed.iter().map(|f| f.len()).sum();
        if all && best.is_none_or(|(_, l)| len > l) {
            best = Some((i, len));
        }
    }
    best.map(|(i, _)| i)
}

fn fill(t: &str, place: &str, community: &str, street: &str) -> String {
    t.replace("{place}", place)
        .replace("{community}", community)
        .replace("{street}", street)
}

fn phone(rng: &mut Rng) -> String {
    let p = rng.pick_str(&[
        "138", "139", "135", "136", "150", "151", "157", "158", "177", "180", "186", "189",
    ]);
    format!("{p}{:08}", rng.below(100_000_000))
}

/// The demo's Open311 client (a citizens' app, `jiesu open311 key --name demo-app`): a quarter of
/// the citizens' online reports came through it.
pub const OPEN311_CLIENT: &str = "demo-app";
pub const OPEN311_CLIENT_NAME: &str = "丹江口市民随手拍";
const OPEN311_USER: &str = "open311:demo-app";

/// The share of cases citizens report themselves, online.
const CITIZEN_SHARE: f64 = 0.10;
/// The share of cases in handling that wait for something (a ruling, an appraisal) a while.
const SUSPEND_SHARE: f64 = 0.03;

/// Generates `n` cases over the twelve months before `now`, in batches of `batch` cases.
pub struct History<'a> {
    juris: &'a Jurisdiction,
    county: &'a County,
    rng: Rng,
    times: Vec<Time>,
    next: usize,
    day_seq: HashMap<String, u32>,
    actors: HashMap<String, Actor>,
    now: Time,
    weights: Vec<u32>,
    /// Per category (index into `LEAVES`): for each street that has any, the places such a case
    /// can happen at (indices into `County::places`).
    eligible: Vec<Vec<Vec<usize>>>,
    /// Per category: the grid workers with such places in their grid, and those places.
    patrols: Vec<Vec<(String, Vec<usize>)>>,
    /// The dispatcher and the handler of each unit that has one.
    dispatchers: HashMap<UnitId, String>,
    handlers: HashMap<UnitId, String>,
    citizens: Vec<String>,
    /// The latest case of each category at each place, a merge target for a repeat.
    recent: HashMap<(usize, usize), (String, Time)>,
    /// Yellow cards issued so far per unit and month (`YYYY-MM`), for the monthly limit.
    yellows: RefCell<HashMap<(UnitId, String), u32>>,
    /// The units that do clearly worse: slow to accept and to reply, more returns.
    laggards: Vec<UnitId>,
}

/// What the deadline clock would have written on `case` up to `at` (as `supervision::due_events`
/// answers it), each event stamped with the moment it fell due.
fn fire_clock(
    case: &mut Case,
    events: &mut Vec<(CaseEvent, Time, ActorRef)>,
    at: Time,
    ctx: &jiesu_domain::Context<'_>,
    yellows: &RefCell<HashMap<(UnitId, String), u32>>,
) {
    // The clock ran all along: it fires first at the earliest moment due (so the first warning
    // comes before its miss), then everything else due by `at`. (Firing at every moment in turn
    // would double the demo's build time for a few more warnings.)
    if let Some(next) = next_fire(case, ctx).filter(|n| *n <= at) {
        if next < at {
            fire_at(case, events, next, ctx, yellows);
        }
        fire_at(case, events, at, ctx, yellows);
    }
}

fn fire_at(
    case: &mut Case,
    events: &mut Vec<(CaseEvent, Time, ActorRef)>,
    at: Time,
    ctx: &jiesu_domain::Context<'_>,
    yellows: &RefCell<HashMap<(UnitId, String), u32>>,
) {
    let month = |t: Time| t.format("%Y-%m").to_string();
    let fired = {
        let held = yellows.borrow();
        due_events(case, at, ctx, &|u, t| {
            held.get(&(u.clone(), month(t))).copied().unwrap_or(0)
        })
    };
    for e in fired {
        let when = match &e {
            CaseEvent::DeadlineWarning { kind, unit, due } => live_deadlines(case)
                .iter()
                .find(|d| d.kind == *kind && &d.unit == unit && d.due == *due)
                .map(|d| warn_at(d, ctx.calendar, ctx.policy.supervision.warn_share))
                .unwrap_or(at),
            CaseEvent::DeadlineMissed { due, .. } => *due,
            CaseEvent::YellowCard { card } => {
                *yellows
                    .borrow_mut()
                    .entry((card.unit.clone(), month(card.issued_at)))
                    .or_insert(0) += 1;
                card.issued_at
            }
            CaseEvent::RedCard { card } => card.issued_at,
            _ => at,
        }
        // A deadline that came alive already past its warning (a resumed or reopened case) is
        // warned when it does: the trail runs forward.
        .min(at)
        .max(case.updated_at);
        case.evolve(&e, when);
        events.push((e, when, ActorRef::system()));
    }
}

impl<'a> History<'a> {
    pub fn new(
        juris: &'a Jurisdiction,
        county: &'a County,
        n: usize,
        seed: u64,
        now: Time,
    ) -> Self {
        let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
        let mut times: Vec<Time> = (0..n)
            .map(|_| {
                // More cases in office hours, a trickle at night; none in the future.
                let day = rng.range(0, 365);
                let hour = if rng.chance(0.85) {
                    rng.range(8, 20)
                } else {
                    rng.range(0, 24)
                };
                let t = now - Duration::days(day);
                let t = t
                    .with_hour(hour as u32)
                    .and_then(|t| t.with_minute(rng.below(60) as u32))
                    .and_then(|t| t.with_second(rng.below(60) as u32))
                    .unwrap_or(t);
                if t >= now { t - Duration::days(1) } else { t }
            })
            .collect();
        times.sort();
        let mut actors: HashMap<String, Actor> = county
            .users
            .iter()
            .map(|u| (u.username.clone(), actor_of(u)))
            .collect();
        if let Some(county_unit) = juris.org.intake_center() {
            actors.insert(
                OPEN311_USER.into(),
                Actor {
                    user_id: format!("u-open311-{OPEN311_CLIENT}"),
                    username: OPEN311_USER.into(),
                    display_name: OPEN311_CLIENT_NAME.into(),
                    grants: vec![Grant {
                        role: Role::Citizen,
                        unit: county_unit.clone(),
                    }],
                },
            );
        }
        let of_role = |role: Role| {
            let mut m: HashMap<UnitId, String> = HashMap::new();
            for u in county.users.iter().filter(|u| u.role == role) {
                m.entry(u.unit.clone())
                    .or_insert_with(|| u.username.clone());
            }
            m
        };
        let streets: Vec<&UnitId> = county.communities.iter().map(|(s, _)| s).collect();
        let eligible = LEAVES
            .iter()
            .map(|leaf| {
                let mut by_street = vec![Vec::new(); streets.len()];
                for (pi, p) in county.places.iter().enumerate() {
                    let street = &county.grids[p.grid].street;
                    if let Some(si) = streets.iter().position(|s| *s == street)
                        && leaf.places.contains(&p.kind)
                    {
                        by_street[si].push(pi);
                    }
                }
                by_street.retain(|v| !v.is_empty());
                by_street
            })
            .collect();
        let workers: Vec<&DemoUser> = county
            .users
            .iter()
            .filter(|u| u.role == Role::GridWorker)
            .collect();
        let patrols = LEAVES
            .iter()
            .map(|leaf| {
                workers
                    .iter()
                    .filter_map(|w| {
                        let here: Vec<usize> = (0..county.places.len())
                            .filter(|&pi| {
                                let p = &county.places[pi];
                                county.grids[p.grid].id == w.unit && leaf.places.contains(&p.kind)
                            })
                            .collect();
                        (!here.is_empty()).then(|| (w.username.clone(), here))
                    })
                    .collect()
            })
            .collect();
        Self {
            juris,
            county,
            rng,
            times,
            next: 0,
            day_seq: HashMap::new(),
            actors,
            now,
            weights: LEAVES.iter().map(|l| l.weight).collect(),
            eligible,
            patrols,
            dispatchers: of_role(Role::Dispatcher),
            handlers: of_role(Role::Handler),
            citizens: county
                .users
                .iter()
                .filter(|u| u.role == Role::Citizen)
                .map(|u| u.username.clone())
                .collect(),
            recent: HashMap::new(),
            yellows: RefCell::new(HashMap::new()),
            // Two departments and one town's communities do clearly worse than the rest.
            laggards: [7usize, 13]
                .iter()
                .filter_map(|i| county.departments.get(*i).cloned())
                .chain(
                    county
                        .communities
                        .get(3)
                        .into_iter()
                        .flat_map(|(s, cs)| std::iter::once(s.clone()).chain(cs.iter().cloned())),
                )
                .collect(),
        }
    }

    pub fn total(&self) -> usize {
        self.times.len()
    }

    fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.get(name)
    }

    /// The dispatcher who answers for cases filed at `unit`: its own, or the nearest above it.
    fn dispatcher_for(&self, unit: &UnitId) -> Option<String> {
        let mut cur = unit;
        for _ in 0..16 {
            if let Some(d) = self.dispatchers.get(cur) {
                return Some(d.clone());
            }
            cur = self.juris.org.get(cur)?.parent.as_ref()?;
        }
        None
    }

    /// A category, by weight; its index into `LEAVES`.
    fn pick_leaf(&mut self) -> usize {
        let total: u32 = self.weights.iter().sum();
        let mut x = self.rng.below(total as usize) as u32;
        for (i, w) in self.weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }

    /// The next batch of cases, or `None` when all are generated.
    pub fn next_batch(&mut self, batch: usize) -> Option<Vec<ImportedCase>> {
        if self.next >= self.times.len() {
            return None;
        }
        let end = (self.next + batch).min(self.times.len());
        let mut out = Vec::with_capacity(end - self.next);
        for i in self.next..end {
            let t = self.times[i];
            if let Some(c) = self.one(t, i) {
                out.push(c);
            }
        }
        self.next = end;
        Some(out)
    }

    fn one(&mut self, t0: Time, i: usize) -> Option<ImportedCase> {
        let (imported, case) = self.story(t0, i)?;
        Some(self.finish(imported, case))
    }

    /// Gives `cmd` at `at` after the clock has fired what fell due before it.
    fn act(
        &self,
        case: &mut Case,
        events: &mut Vec<(CaseEvent, Time, ActorRef)>,
        who: &str,
        cmd: Command,
        at: Time,
    ) -> bool {
        let ctx = self.juris.ctx();
        let Some(actor) = self.actors.get(who) else {
            return false;
        };
        let at = at.max(case.updated_at);
        if at >= self.now {
            return false;
        }
        fire_clock(case, events, at, &ctx, &self.yellows);
        match case.apply(&cmd, actor, at, &ctx) {
            Ok(evs) => {
                for e in evs {
                    case.evolve(&e, at);
                    events.push((e, at, ActorRef::of(actor)));
                }
                true
            }
            Err(_) => false,
        }
    }

    /// After a case's story: some carded units appeal (申诉) and the inspector decides; an open
    /// case gets what the clock fired up to now.
    fn finish(&mut self, imported: ImportedCase, mut case: Case) -> ImportedCase {
        let ImportedCase { id, mut events } = imported;
        let cards: Vec<(String, UnitId)> = case
            .cards
            .iter()
            .filter(|c| c.status == CardStatus::Active)
            .map(|c| (c.id.clone(), c.unit.clone()))
            .collect();
        for (card, unit) in cards {
            if !self.rng.chance(0.3) {
                continue;
            }
            let Some(handler) = self.handlers.get(&unit).cloned() else {
                continue;
            };
            let at = case.updated_at + Duration::minutes(self.rng.range(60, 2880));
            let reason = self
                .rng
                .pick_str(&[
                    "系统派单信息延迟，实际已按时到场处置",
                    "当日停电，线上系统无法签收，已电话报备",
                    "诉求人要求改约时间，非本单位原因",
                ])
                .to_string();
            if !self.act(
                &mut case,
                &mut events,
                &handler,
                Command::Appeal {
                    card: card.clone(),
                    reason,
                },
                at,
            ) {
                continue;
            }
            let revoke = self.rng.chance(0.45);
            let at = case.updated_at + Duration::minutes(self.rng.range(600, 6000));
            self.act(
                &mut case,
                &mut events,
                "inspector",
                Command::DecideAppeal {
                    card,
                    decision: if revoke {
                        AppealDecision::Revoke
                    } else {
                        AppealDecision::Uphold
                    },
                    reason: if revoke {
                        "经核实申诉理由属实，撤销此牌".into()
                    } else {
                        "申诉理由不成立，维持原判".into()
                    },
                },
                at,
            );
        }
        if case.state.is_open() {
            let ctx = self.juris.ctx();
            fire_clock(&mut case, &mut events, self.now, &ctx, &self.yellows);
        }
        ImportedCase { id, events }
    }

    fn story(&mut self, t0: Time, i: usize) -> Option<(ImportedCase, Case)> {
        let ctx = self.juris.ctx();
        let li = self.pick_leaf();
        let leaf = &LEAVES[li];
        let kind = Kind::parse(leaf.kind)?;
        // Grid workers report what they find on patrol, in their own grid.
        let on_patrol =
            (kind == Kind::Hazard && self.rng.chance(0.5)) || (leaf.local && self.rng.chance(0.15));
        let (pi, grid_worker) = if on_patrol && !self.patrols[li].is_empty() {
            let (w, here) = self.rng.pick(&self.patrols[li]);
            (*self.rng.pick(here), Some(w.clone()))
        } else {
            let by_street = &self.eligible[li];
            if by_street.is_empty() {
                return None;
            }
            let here = self.rng.pick(by_street);
            (*self.rng.pick(here), None)
        };
        let county = self.county;
        let place = &county.places[pi];
        let grid = &county.grids[place.grid];
        let sname = self.juris.org.get(&grid.street)?.name.clone();
        let cname = self.juris.org.get(&grid.community)?.name.clone();
        // One story: its title, details and reply all tell of this place.
        let story = self.rng.below(
            leaf.titles
                .len()
                .max(leaf.details.len())
                .max(leaf.replies.len()),
        );
        let told = |list: &[&str]| fill(list[story % list.len()], &place.name, &cname, &sname);
        let (title, description, text) =
            (told(leaf.titles), told(leaf.details), told(leaf.replies));
        let urgency = if kind == Kind::Hazard && self.rng.chance(0.3) {
            Urgency::Urgent
        } else if self.rng.chance(0.01) {
            Urgency::Critical
        } else {
            Urgency::Normal
        };
        // Most cases come by the hotline; some citizens report online themselves.
        let (channel, intake_user) = if let Some(w) = grid_worker {
            (Channel::GridPatrol, w)
        } else if kind == Kind::EnterpriseDemand {
            (Channel::Enterprise, "cadre01".to_string())
        } else if !self.citizens.is_empty() && self.rng.chance(CITIZEN_SHARE) {
            let channel = if self.rng.chance(0.6) {
                Channel::Web
            } else {
                Channel::Mobile
            };
            let citizen = self.rng.pick(&self.citizens).clone();
            // One online report in four came through the citizens' app, by Open311. Chosen by
            // the case's index rather than drawn, so the rest of the history stays as it was.
            if i % 4 == 1 {
                (Channel::Open311, OPEN311_USER.to_string())
            } else {
                (channel, citizen)
            }
        } else {
            (
                Channel::Hotline,
                self.rng
                    .pick_str(&["operator", "operator2", "operator3"])
                    .to_string(),
            )
        };
        let intake_actor = self.actor(&intake_user)?.clone();
        let via_open311 = channel == Channel::Open311;
        let reporter = if via_open311 {
            // The app's user, named from the case's own generator; the number is drawn as a
            // citizen's is, so the shared generator moves as it would have.
            let mut own = Rng::new(i as u64);
            Reporter {
                name: Some(person(&mut own)),
                phone: Some(phone(&mut self.rng)),
                anonymous: false,
                user_id: None,
            }
        } else if intake_actor.grants.iter().any(|g| g.role == Role::Citizen) {
            Reporter {
                name: Some(intake_actor.display_name.clone()),
                phone: Some(phone(&mut self.rng)),
                anonymous: false,
                user_id: None,
            }
        } else {
            let anonymous = kind == Kind::Report && self.rng.chance(0.3);
            Reporter {
                name: (!anonymous).then(|| person(&mut self.rng)),
                phone: Some(phone(&mut self.rng)),
                anonymous,
                user_id: None,
            }
        };
        let draft = CaseDraft {
            channel,
            kind,
            category: Some(leaf.id.to_string()),
            urgency,
            title,
            description,
            address: Some(place.address(&sname, &cname, &mut self.rng)),
            location: sample_in(&grid.ring, &mut self.rng),
            reporter,
        };
        let day = jiesu_domain::case::number_day(t0);
        let seq = self.day_seq.entry(day.clone()).or_insert(0);
        *seq += 1;
        let number = jiesu_domain::case::case_number(&day, i64::from(*seq));
        let path = if via_open311 {
            IntakePath::Open311
        } else {
            IntakePath::Api
        };
        let first = Case::intake_by(number, draft, &intake_actor, path, &ctx).ok()?;
        // Time-ordered ids, as live intake makes them.
        let id = ulid::Ulid::from_parts(
            t0.timestamp_millis() as u64,
            (u128::from(self.rng.next_u64()) << 32) ^ i as u128,
        )
        .to_string();
        let mut case = Case::from_received(id.clone(), &first, t0)?;
        let mut events = vec![(first, t0, ActorRef::of(&intake_actor))];
        let mut t = t0;
        let now = self.now;
        let age_days = (now - t0).num_days();
        // How far this case gets: old cases are nearly all closed, recent ones are spread out.
        let stop: u32 = if age_days > 30 {
            if self.rng.chance(0.97) {
                99
            } else {
                self.rng.below(7) as u32
            }
        } else if age_days > 7 {
            if self.rng.chance(0.75) {
                99
            } else {
                self.rng.below(8) as u32
            }
        } else {
            self.rng.below(10) as u32
        };
        // The case is dispatched, reviewed and called back by the centre it was filed at.
        let dispatch_center = case.intake_unit.clone();
        let dispatcher = self.dispatcher_for(&dispatch_center)?;
        let at_street = matches!(
            self.juris.org.get(&dispatch_center).map(|u| u.kind),
            Some(UnitKind::Street | UnitKind::Town)
        );
        let yellows = &self.yellows;
        let mut step = |case: &mut Case,
                        events: &mut Vec<(CaseEvent, Time, ActorRef)>,
                        rng: &mut Rng,
                        who: &str,
                        cmd: Command,
                        minutes: (i64, i64),
                        actors: &HashMap<String, Actor>|
         -> bool {
            let Some(actor) = actors.get(who) else {
                return false;
            };
            // After the last event, the clock's included (a refused step may have fired some).
            let at = t.max(case.updated_at) + Duration::minutes(rng.range(minutes.0, minutes.1));
            if at >= now {
                return false;
            }
            fire_clock(case, events, at, &ctx, yellows);
            match case.apply(&cmd, actor, at, &ctx) {
                Ok(evs) => {
                    for e in evs {
                        case.evolve(&e, at);
                        events.push((e, at, ActorRef::of(actor)));
                    }
                    t = at;
                    true
                }
                Err(_) => false,
            }
        };
        // A repeat of a case at the same place within a fortnight is merged into it.
        let recent = self.recent.insert((li, pi), (id.clone(), t0));
        if let Some((master, since)) = recent
            && stop > 0
            && t0 - since < Duration::days(14)
            && self.rng.chance(0.08)
        {
            step(
                &mut case,
                &mut events,
                &mut self.rng,
                &dispatcher,
                Command::Merge { into: master },
                (5, 60),
                &self.actors,
            );
            return Some((ImportedCase { id, events }, case));
        }
        let r = &mut self.rng;
        let actors = &self.actors;
        // Most inquiries are answered on the phone (or, online, by the centre's dispatcher).
        if kind == Kind::Inquiry && r.chance(0.6) && stop > 0 {
            let answerer = if intake_user.starts_with("operator") {
                &intake_user
            } else {
                &dispatcher
            };
            step(
                &mut case,
                &mut events,
                r,
                answerer,
                Command::AnswerDirectly {
                    answer: text.clone(),
                },
                (3, 15),
                actors,
            );
            return Some((ImportedCase { id, events }, case));
        }
        if stop == 0 {
            return Some((ImportedCase { id, events }, case));
        }
        // A street sends what happened in one of its communities to that community; the county
        // sends local problems to the street half of the time (属地管理), the rest to departments.
        let org = &self.juris.org;
        let handler_of = |u: &UnitId| self.handlers.get(u).cloned();
        let (unit, pass_down) = if at_street {
            if org.is_within(&grid.community, &dispatch_center) && r.chance(0.8) {
                (grid.community.clone(), false)
            } else {
                (dispatch_center.clone(), false)
            }
        } else if leaf.local && r.chance(0.5) {
            (grid.street.clone(), true)
        } else {
            (self.county.departments.get(leaf.dept)?.clone(), false)
        };
        let handler = handler_of(&unit)?;
        let lag = self.laggards.contains(&unit);
        if !step(
            &mut case,
            &mut events,
            r,
            &dispatcher,
            Command::Dispatch {
                unit: unit.clone(),
                co_units: vec![],
                note: None,
            },
            (5, 90),
            actors,
        ) || stop == 1
        {
            return Some((ImportedCase { id, events }, case));
        }
        // A wrongly routed case is sometimes returned and dispatched again (laggards more often).
        if r.chance(if lag { 0.2 } else { 0.04 }) {
            step(
                &mut case,
                &mut events,
                r,
                &handler,
                Command::Return {
                    reason: "不属于本单位职责范围，建议改派".into(),
                },
                (20, 240),
                actors,
            );
            step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Dispatch {
                    unit: unit.clone(),
                    co_units: vec![],
                    note: Some("经核实属该单位职责，请予办理".into()),
                },
                (10, 120),
                actors,
            );
        }
        let mut handler = handler;
        // The street passes most of them on to the community where it happened.
        if pass_down
            && r.chance(0.6)
            && let Some(ch) = handler_of(&grid.community)
            && step(
                &mut case,
                &mut events,
                r,
                &handler,
                Command::Redispatch {
                    unit: grid.community.clone(),
                    note: Some(format!("请{cname}现场核实处置")),
                },
                (10, 120),
                actors,
            )
        {
            handler = ch;
        }
        if !step(
            &mut case,
            &mut events,
            r,
            &handler,
            Command::Accept { note: None },
            if lag { (150, 900) } else { (5, 100) },
            actors,
        ) || stop == 2
        {
            return Some((ImportedCase { id, events }, case));
        }
        if !step(
            &mut case,
            &mut events,
            r,
            &handler,
            Command::Contact {
                note: Some("已电话联系诉求人，了解具体情况".into()),
            },
            (20, 600),
            actors,
        ) || stop == 3
        {
            return Some((ImportedCase { id, events }, case));
        }
        // 吹哨报到: a street or community summons departments on a hard case; they report in
        // and record their parts, and the lead replies.
        let mut replier = handler.clone();
        let grassroots = matches!(
            org.get(case.current_unit()).map(|u| u.kind),
            Some(UnitKind::Street | UnitKind::Town | UnitKind::Community | UnitKind::Village)
        );
        if grassroots && r.chance(0.12) {
            let depts = &self.county.departments;
            let first = depts.get(leaf.dept)?.clone();
            let mut units = vec![first.clone()];
            let other = r.pick(depts).clone();
            if other != first && r.chance(0.5) {
                units.push(other);
            }
            let holder = case.current_unit().clone();
            let lead = if r.chance(0.6) { holder } else { first.clone() };
            if step(
                &mut case,
                &mut events,
                r,
                &handler,
                Command::Whistle {
                    units: units.clone(),
                    lead: lead.clone(),
                    note: Some("问题涉及多个部门职责，请相关部门到场报到、联合处置".into()),
                },
                (30, 900),
                actors,
            ) {
                for u in &units {
                    let Some(h) = handler_of(u) else { continue };
                    let late = self.laggards.contains(u);
                    step(
                        &mut case,
                        &mut events,
                        r,
                        &h,
                        Command::ReportIn {
                            note: Some("已安排专人到场".into()),
                        },
                        if late { (90, 900) } else { (10, 100) },
                        actors,
                    );
                    step(
                        &mut case,
                        &mut events,
                        r,
                        &h,
                        Command::RecordPart {
                            text: "已按职责完成现场核查和处置，处理情况已反馈牵头单位".into(),
                        },
                        (120, 3000),
                        actors,
                    );
                }
                if let Some(h) = handler_of(&lead) {
                    replier = h;
                }
            }
        }
        // 督办 by the county's leader on some cases, and reminders (催办).
        if r.chance(0.03) {
            let level = *r.pick(SuperviseLevel::ALL);
            let due = case.updated_at + Duration::days(r.range(3, 12));
            step(
                &mut case,
                &mut events,
                r,
                "leader",
                Command::Supervise {
                    level,
                    note: "请责任单位高度重视，限期办结并报送结果".into(),
                    due: Some(due),
                },
                (60, 1440),
                actors,
            );
        }
        if r.chance(if lag { 0.15 } else { 0.04 }) {
            let who = if r.chance(0.5) {
                "leader"
            } else {
                dispatcher.as_str()
            };
            step(
                &mut case,
                &mut events,
                r,
                who,
                Command::Remind {
                    note: "该工单临近时限，请抓紧办理".into(),
                },
                (600, 4000),
                actors,
            );
        }
        if r.chance(0.05) {
            step(
                &mut case,
                &mut events,
                r,
                &handler,
                Command::RequestExtension {
                    working_days: 5,
                    reason: "涉及多部门协调，需延期办理".into(),
                },
                (600, 4000),
                actors,
            );
            if r.chance(0.8) {
                step(
                    &mut case,
                    &mut events,
                    r,
                    &dispatcher,
                    Command::ApproveExtension { comment: None },
                    (30, 600),
                    actors,
                );
            } else {
                step(
                    &mut case,
                    &mut events,
                    r,
                    &dispatcher,
                    Command::DenyExtension {
                        reason: "时限内可以办结，不予延期".into(),
                    },
                    (30, 600),
                    actors,
                );
            }
        }
        // Some cases wait a while for something outside the handler's hands, then go on; those
        // whose day to resume has not come yet are still suspended.
        let (why, back) = *r.pick(&[
            ("需等待司法鉴定结论", "鉴定结论已出具，恢复办理"),
            ("涉及诉讼，需等待法院判决", "法院已作出判决，恢复办理"),
            ("需待汛期结束后施工", "汛期已过，恢复办理"),
        ]);
        if r.chance(SUSPEND_SHARE)
            && step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Suspend { reason: why.into() },
                (600, 3000),
                actors,
            )
            && !step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Resume {
                    note: Some(back.into()),
                },
                (3 * 1440, 20 * 1440),
                actors,
            )
        {
            return Some((ImportedCase { id, events }, case));
        }
        if stop == 4 {
            return Some((ImportedCase { id, events }, case));
        }
        let outcome = if kind == Kind::Inquiry || kind == Kind::Praise {
            ReplyOutcome::Explained
        } else if r.chance(0.9) {
            ReplyOutcome::Resolved
        } else if r.chance(0.6) {
            ReplyOutcome::Explained
        } else {
            ReplyOutcome::Unresolvable
        };
        let reason = (outcome == ReplyOutcome::Unresolvable)
            .then(|| "涉及历史遗留问题，需纳入年度计划统筹解决".to_string());
        if !step(
            &mut case,
            &mut events,
            r,
            &replier,
            Command::Reply {
                outcome,
                text: text.clone(),
                reason: reason.clone(),
            },
            if lag { (6000, 24000) } else { (120, 6000) },
            actors,
        ) || stop == 5
        {
            return Some((ImportedCase { id, events }, case));
        }
        if r.chance(0.05) {
            step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Review {
                    decision: ReviewDecision::Reject,
                    comment: Some("答复内容不完整，请补充现场处置情况".into()),
                },
                (30, 600),
                actors,
            );
            step(
                &mut case,
                &mut events,
                r,
                &replier,
                Command::Reply {
                    outcome,
                    text: format!("{text}（已补充现场照片和处置记录）"),
                    reason: reason.clone(),
                },
                (120, 2000),
                actors,
            );
        }
        // The operator who took the call calls back; the centre's dispatcher for other channels.
        let caller = if intake_user.starts_with("operator") {
            intake_user.clone()
        } else if dispatch_center.as_str() == COUNTY {
            "operator".to_string()
        } else {
            dispatcher.clone()
        };
        if !step(
            &mut case,
            &mut events,
            r,
            &dispatcher,
            Command::Review {
                decision: ReviewDecision::Approve,
                comment: None,
            },
            (30, 600),
            actors,
        ) || stop == 6
        {
            // Still in the callback queue: some after an unanswered call or two.
            if stop == 6 && r.chance(0.4) {
                step(
                    &mut case,
                    &mut events,
                    r,
                    &caller,
                    Command::Callback {
                        unit_at_fault: None,
                        resolved: false,
                        satisfaction: Satisfaction::Unreachable,
                        note: Some("电话无人接听，稍后再拨".into()),
                    },
                    (60, 1440),
                    actors,
                );
            }
            return Some((ImportedCase { id, events }, case));
        }
        let sat = match r.below(100) {
            0..=69 => Satisfaction::Satisfied,
            70..=84 => Satisfaction::BasicallySatisfied,
            85..=94 => Satisfaction::Unsatisfied,
            _ => Satisfaction::Unreachable,
        };
        // Nobody answers: an attempt each time, "unreachable" the outcome after the policy's
        // number of attempts; some answer at the second or third call.
        let mut sat = sat;
        if sat == Satisfaction::Unreachable {
            for attempt in 1..=3 {
                if attempt > 1 && r.chance(0.25) {
                    sat = Satisfaction::Satisfied;
                    break;
                }
                if !step(
                    &mut case,
                    &mut events,
                    r,
                    &caller,
                    Command::Callback {
                        unit_at_fault: None,
                        resolved: false,
                        satisfaction: Satisfaction::Unreachable,
                        note: Some(format!("第{attempt}次回访，电话无人接听")),
                    },
                    (60, 1440),
                    actors,
                ) {
                    return Some((ImportedCase { id, events }, case));
                }
            }
            if !case.state.is_open() {
                return Some((ImportedCase { id, events }, case));
            }
        }
        let resolved = outcome == ReplyOutcome::Resolved && sat != Satisfaction::Unsatisfied;
        // Unsatisfied because of the unit: reopened once (重办), then the second rating closes it;
        // a demand beyond policy closes at once.
        let at_fault = r.chance(0.65);
        if !step(
            &mut case,
            &mut events,
            r,
            &caller,
            Command::Callback {
                unit_at_fault: Some(at_fault),
                resolved,
                satisfaction: sat,
                note: (sat == Satisfaction::Unsatisfied && !at_fault)
                    .then(|| "诉求人要求超出政策范围，已做好解释".into()),
            },
            (60, 2880),
            actors,
        ) || stop == 7
        {
            return Some((ImportedCase { id, events }, case));
        }
        if case.state == CaseState::InProgress {
            step(
                &mut case,
                &mut events,
                r,
                &replier,
                Command::Reply {
                    outcome: ReplyOutcome::Resolved,
                    text: format!("重办：{text}"),
                    reason: None,
                },
                if lag { (3000, 12000) } else { (600, 6000) },
                actors,
            );
            step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Review {
                    decision: ReviewDecision::Approve,
                    comment: None,
                },
                (30, 600),
                actors,
            );
            let sat2 = match r.below(10) {
                0..=5 => Satisfaction::Satisfied,
                6..=8 => Satisfaction::BasicallySatisfied,
                _ => Satisfaction::Unsatisfied,
            };
            step(
                &mut case,
                &mut events,
                r,
                &caller,
                Command::Callback {
                    unit_at_fault: None,
                    resolved: sat2 != Satisfaction::Unsatisfied,
                    satisfaction: sat2,
                    note: Some("重办后二次回访".into()),
                },
                (60, 2880),
                actors,
            );
        }
        Some((ImportedCase { id, events }, case))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_story_names_its_place_and_every_category_has_places() {
        for leaf in LEAVES {
            for t in leaf.titles.iter().chain(leaf.details).chain(leaf.replies) {
                assert!(t.contains("{place}"), "{}: {t}", leaf.id);
            }
        }
        let county = build_county(7);
        for leaf in LEAVES {
            assert!(
                county.places.iter().any(|p| leaf.places.contains(&p.kind)),
                "no place for {}",
                leaf.id
            );
        }
        // Every community has a handler to take what its street passes down.
        for (_, comms) in &county.communities {
            for c in comms {
                assert!(
                    county
                        .users
                        .iter()
                        .any(|u| u.role == Role::Handler && &u.unit == c),
                    "{c}"
                );
            }
        }
    }
}
