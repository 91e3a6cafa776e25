//! `jiesu demo`: builds a realistic county modelled on Danjiangkou (org tree, grids with polygons,
//! departments, categories, users for every role) and twelve months of case history, made by
//! running real domain commands at historical times so every trail is a valid one.

use std::collections::HashMap;

use chrono::{Duration, Timelike};
use jiesu_domain::case::{ReplyOutcome, Reporter, ReviewDecision, Satisfaction};
use jiesu_domain::{
    Actor, Case, CaseDraft, CaseEvent, Category, Channel, Command, Grant, Jurisdiction, Kind,
    OrgUnit, Role, Time, UnitId, UnitKind, Urgency,
};
use jiesu_store::{ActorRef, ImportedCase, NewUser, Store};

use crate::demo_data::*;
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
}

fn unit(id: &str, parent: Option<&str>, kind: UnitKind, name: &str) -> OrgUnit {
    OrgUnit {
        id: UnitId::new(id),
        parent: parent.map(UnitId::new),
        kind,
        name: name.to_string(),
    }
}

fn rect(lon: f64, lat: f64, w: f64, h: f64) -> String {
    let ring = [
        [lon, lat],
        [lon + w, lat],
        [lon + w, lat + h],
        [lon, lat + h],
        [lon, lat],
    ];
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
            // Communities sit on a 4-wide lattice around the street's centre, ~1.1 km apart.
            let (cx, cy) = (
                lon + (ci % 4) as f64 * 0.012 - 0.024,
                lat + (ci / 4) as f64 * 0.010 - 0.015,
            );
            geometry.push((UnitId::new(ccode.as_str()), rect(cx, cy, 0.012, 0.010)));
            if ci < 3 {
                let name = format!("{cname}书记{}", person(&mut rng));
                add_user(
                    &mut rng,
                    format!("handler_c{ccode}"),
                    Role::Handler,
                    &ccode,
                    name,
                );
            }
            let grids = 3;
            for gi in 0..grids {
                let gcode = format!("{ccode}{:02}", gi + 1);
                units.push(unit(
                    &gcode,
                    Some(&ccode),
                    UnitKind::Grid,
                    &format!("{cname}第{}网格", gi + 1),
                ));
                let gx = cx + gi as f64 * 0.004;
                geometry.push((UnitId::new(gcode.as_str()), rect(gx, cy, 0.004, 0.010)));
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
                            rect(gx, cy + mi as f64 * 0.005, 0.004, 0.005),
                        ));
                    }
                }
            }
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
    for i in 1..=2 {
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

/// Writes the county, its categories and its users (passwords hashed with argon2id in parallel).
pub async fn install(store: &Store, county: &County, now: Time) -> anyhow::Result<()> {
    ensure_calendar(store).await?;
    store.put_units(&county.units, &county.geometry).await?;
    store.put_categories(&county.categories).await?;
    let mut tasks = Vec::new();
    for u in county.users.clone() {
        tasks.push(tokio::task::spawn_blocking(move || {
            jiesu_api::password::hash(&u.password).map(|h| (u, h))
        }));
    }
    for t in tasks {
        let (u, hash) = t.await??;
        store
            .create_user(
                &NewUser {
                    id: format!("u-{}", u.username),
                    username: u.username.clone(),
                    display_name: u.display_name.clone(),
                    password_hash: hash,
                    phone: None,
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

fn actor_of(u: &DemoUser) -> Actor {
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

fn fill(t: &str, rng: &mut Rng, street: &str, community: &str) -> String {
    t.replace("{road}", rng.pick_str(ROADS))
        .replace("{compound}", rng.pick_str(COMPOUNDS))
        .replace("{community}", community)
        .replace("{street}", street)
        .replace(
            "{market}",
            &format!(
                "{}农贸市场",
                rng.pick_str(&["均州路", "三官殿", "大坝", "六里坪", "丁家营"])
            ),
        )
}

fn phone(rng: &mut Rng) -> String {
    let p = rng.pick_str(&[
        "138", "139", "135", "136", "150", "151", "157", "158", "177", "180", "186", "189",
    ]);
    format!("{p}{:08}", rng.below(100_000_000))
}

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
    /// The latest case of each category, a merge target for duplicates.
    recent: HashMap<&'static str, String>,
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
        let actors = county
            .users
            .iter()
            .map(|u| (u.username.clone(), actor_of(u)))
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
            recent: HashMap::new(),
        }
    }

    pub fn total(&self) -> usize {
        self.times.len()
    }

    fn actor(&self, name: &str) -> Option<&Actor> {
        self.actors.get(name)
    }

    fn pick_leaf(&mut self) -> &'static Leaf {
        let total: u32 = self.weights.iter().sum();
        let mut x = self.rng.below(total as usize) as u32;
        for (i, w) in self.weights.iter().enumerate() {
            if x < *w {
                return &LEAVES[i];
            }
            x -= w;
        }
        &LEAVES[0]
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
        let ctx = self.juris.ctx();
        let leaf = self.pick_leaf();
        let si = self.rng.below(self.county.communities.len());
        let (street, comms) = &self.county.communities[si];
        let community = self.rng.pick(comms).clone();
        let sname = self.juris.org.get(street)?.name.clone();
        let cname = self.juris.org.get(&community)?.name.clone();
        let kind = Kind::parse(leaf.kind)?;
        let title = fill(
            self.rng.pick_str(leaf.titles),
            &mut self.rng,
            &sname,
            &cname,
        );
        let description = fill(
            self.rng.pick_str(leaf.details),
            &mut self.rng,
            &sname,
            &cname,
        );
        let urgency = if kind == Kind::Hazard && self.rng.chance(0.3) {
            Urgency::Urgent
        } else if self.rng.chance(0.01) {
            Urgency::Critical
        } else {
            Urgency::Normal
        };
        // Grid workers report what they find on patrol; most cases come by the hotline.
        let grid_reporter = format!("grid_{}01", comms.first()?);
        let (channel, intake_user) = if kind == Kind::Hazard
            && self.actors.contains_key(&grid_reporter)
            && self.rng.chance(0.5)
        {
            (Channel::GridPatrol, grid_reporter)
        } else if kind == Kind::EnterpriseDemand {
            (Channel::Enterprise, "cadre01".to_string())
        } else if self.rng.chance(0.12) {
            (Channel::Web, "operator2".to_string())
        } else {
            (
                Channel::Hotline,
                self.rng
                    .pick_str(&["operator", "operator2", "operator3"])
                    .to_string(),
            )
        };
        let anonymous = kind == Kind::Report && self.rng.chance(0.3);
        let draft = CaseDraft {
            channel,
            kind,
            category: Some(leaf.id.to_string()),
            urgency,
            title,
            description,
            address: Some(format!(
                "丹江口市{sname}{cname}{}",
                self.rng.pick_str(ROADS)
            )),
            location: None,
            reporter: Reporter {
                name: (!anonymous).then(|| person(&mut self.rng)),
                phone: Some(phone(&mut self.rng)),
                anonymous,
                user_id: None,
            },
        };
        let day = jiesu_domain::case::number_day(t0);
        let seq = self.day_seq.entry(day.clone()).or_insert(0);
        *seq += 1;
        let number = jiesu_domain::case::case_number(&day, i64::from(*seq));
        let intake_actor = self.actor(&intake_user)?.clone();
        let first = Case::intake(number, draft, &intake_actor, &ctx).ok()?;
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
        let dispatch_center = case.intake_unit.clone();
        let dispatcher = if dispatch_center.as_str() == COUNTY {
            "dispatcher".to_string()
        } else {
            format!("dispatcher_s{:02}", si + 1)
        };
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
            let at = t + Duration::minutes(rng.range(minutes.0, minutes.1));
            if at >= now {
                return false;
            }
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
        // About one case in a hundred repeats an open case of the same category and is merged.
        let recent = self.recent.get(leaf.id).cloned();
        self.recent.insert(leaf.id, id.clone());
        if let Some(master) = recent
            && stop > 0
            && self.rng.chance(0.01)
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
            return Some(ImportedCase { id, events });
        }
        let r = &mut self.rng;
        let actors = &self.actors;
        // Most inquiries are answered on the phone.
        if kind == Kind::Inquiry && r.chance(0.6) && stop > 0 {
            let answer = fill(
                r.pick_str(leaf.replies),
                &mut Rng::new(i as u64),
                &sname,
                &cname,
            );
            step(
                &mut case,
                &mut events,
                r,
                &intake_user,
                Command::AnswerDirectly { answer },
                (3, 15),
                actors,
            );
            return Some(ImportedCase { id, events });
        }
        if stop == 0 {
            return Some(ImportedCase { id, events });
        }
        let dept_idx = leaf.dept;
        let to_street = dispatch_center.as_str() == COUNTY && leaf.local && r.chance(0.5);
        let (unit, handler) = if dispatch_center.as_str() != COUNTY {
            (dispatch_center.clone(), format!("handler_s{:02}", si + 1))
        } else if to_street {
            (street.clone(), format!("handler_s{:02}", si + 1))
        } else {
            (
                self.county.departments[dept_idx].clone(),
                format!("handler_d{:02}", dept_idx + 1),
            )
        };
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
            return Some(ImportedCase { id, events });
        }
        // A wrongly routed case is sometimes returned and dispatched again.
        if r.chance(0.04) {
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
        // Streets pass local problems down to the community.
        if to_street || dispatch_center.as_str() != COUNTY {
            let ch = format!("handler_c{}", comms.first()?);
            if r.chance(0.5) && actors.contains_key(&ch) {
                let cu = comms.first()?.clone();
                if step(
                    &mut case,
                    &mut events,
                    r,
                    &handler,
                    Command::Redispatch {
                        unit: cu,
                        note: Some("请社区现场核实处置".into()),
                    },
                    (10, 120),
                    actors,
                ) {
                    handler = ch;
                }
            }
        }
        if !step(
            &mut case,
            &mut events,
            r,
            &handler,
            Command::Accept { note: None },
            (5, 150),
            actors,
        ) || stop == 2
        {
            return Some(ImportedCase { id, events });
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
            return Some(ImportedCase { id, events });
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
        if stop == 4 && r.chance(0.3) {
            step(
                &mut case,
                &mut events,
                r,
                &dispatcher,
                Command::Suspend {
                    reason: "需等待司法鉴定结论".into(),
                },
                (600, 3000),
                actors,
            );
            return Some(ImportedCase { id, events });
        }
        if stop == 4 {
            return Some(ImportedCase { id, events });
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
        let text = fill(
            r.pick_str(leaf.replies),
            &mut Rng::new(i as u64 ^ 0x55),
            &sname,
            &cname,
        );
        let reason = (outcome == ReplyOutcome::Unresolvable)
            .then(|| "涉及历史遗留问题，需纳入年度计划统筹解决".to_string());
        if !step(
            &mut case,
            &mut events,
            r,
            &handler,
            Command::Reply {
                outcome,
                text: text.clone(),
                reason: reason.clone(),
            },
            (120, 8000),
            actors,
        ) || stop == 5
        {
            return Some(ImportedCase { id, events });
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
                &handler,
                Command::Reply {
                    outcome,
                    text: format!("{text}（已补充现场照片和处置记录）"),
                    reason: reason.clone(),
                },
                (120, 2000),
                actors,
            );
        }
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
            return Some(ImportedCase { id, events });
        }
        let caller = if intake_user.starts_with("operator") {
            intake_user.clone()
        } else {
            "operator".into()
        };
        let caller = if dispatch_center.as_str() == COUNTY {
            caller
        } else {
            dispatcher.clone()
        };
        let sat = match r.below(100) {
            0..=71 => Satisfaction::Satisfied,
            72..=86 => Satisfaction::BasicallySatisfied,
            87..=95 => Satisfaction::Unsatisfied,
            _ => Satisfaction::Unreachable,
        };
        let resolved = outcome == ReplyOutcome::Resolved && sat != Satisfaction::Unsatisfied;
        if !step(
            &mut case,
            &mut events,
            r,
            &caller,
            Command::Callback {
                resolved,
                satisfaction: sat,
                note: None,
            },
            (60, 2880),
            actors,
        ) || stop == 7
        {
            return Some(ImportedCase { id, events });
        }
        if sat == Satisfaction::Unsatisfied {
            if r.chance(0.6) {
                if step(
                    &mut case,
                    &mut events,
                    r,
                    &dispatcher,
                    Command::Reopen {
                        reason: "诉求人不满意，重新办理".into(),
                    },
                    (30, 600),
                    actors,
                ) {
                    step(
                        &mut case,
                        &mut events,
                        r,
                        &handler,
                        Command::Reply {
                            outcome: ReplyOutcome::Resolved,
                            text: format!("重办：{text}"),
                            reason: None,
                        },
                        (600, 6000),
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
                    let sat2 = if r.chance(0.8) {
                        Satisfaction::Satisfied
                    } else {
                        Satisfaction::BasicallySatisfied
                    };
                    step(
                        &mut case,
                        &mut events,
                        r,
                        &caller,
                        Command::Callback {
                            resolved: true,
                            satisfaction: sat2,
                            note: None,
                        },
                        (60, 2880),
                        actors,
                    );
                }
            } else {
                step(
                    &mut case,
                    &mut events,
                    r,
                    &caller,
                    Command::Close {
                        note: Some("诉求人要求超出政策范围，已做好解释".into()),
                    },
                    (30, 600),
                    actors,
                );
            }
        }
        Some(ImportedCase { id, events })
    }
}
