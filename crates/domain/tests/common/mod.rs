// Shared fixture for the domain tests (and crates/store/tests/refusals.rs, which stores this same
// county): a small county, its staff, the 2025–2026 calendars.
#![allow(dead_code)]

use jiesu_domain::case::{GeoPoint, ReplyOutcome, Reporter};
use jiesu_domain::*;

pub fn t(s: &str) -> Time {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}

pub fn world() -> Jurisdiction {
    let u = |id: &str, p: Option<&str>, k: UnitKind| OrgUnit {
        id: UnitId::new(id),
        parent: p.map(UnitId::new),
        kind: k,
        name: id.to_string(),
    };
    let org = OrgTree::new(vec![
        u("county", None, UnitKind::County),
        u("street1", Some("county"), UnitKind::Street),
        u("comm1", Some("street1"), UnitKind::Community),
        u("grid1", Some("comm1"), UnitKind::Grid),
        u("street2", Some("county"), UnitKind::Street),
        u("deptA", Some("county"), UnitKind::Department),
        u("deptB", Some("county"), UnitKind::Department),
    ])
    .unwrap();
    let mut calendar = WorkCalendar::new(OfficeHours::default());
    for f in [
        include_str!("../../../../calendar/2025.toml"),
        include_str!("../../../../calendar/2026.toml"),
    ] {
        calendar.add_year(CalendarYear::parse_toml(f).unwrap());
    }
    let categories = CategoryTree::new(vec![Category {
        id: "urban".into(),
        parent: None,
        name: "城市管理".into(),
        name_en: "Urban".into(),
        default_kind: None,
        default_unit: None,
    }])
    .unwrap();
    Jurisdiction {
        org,
        calendar,
        policy: DeadlinePolicy::default(),
        categories,
    }
}

pub fn actor(name: &str, role: Role, unit: &str) -> Actor {
    Actor {
        user_id: name.into(),
        username: name.into(),
        display_name: name.into(),
        grants: vec![Grant {
            role,
            unit: UnitId::new(unit),
        }],
    }
}

pub struct Staff {
    pub operator: Actor,
    pub dispatcher: Actor,
    pub handler_a: Actor,
    pub handler_b: Actor,
    pub street_handler: Actor,
    pub comm_handler: Actor,
    pub street2_handler: Actor,
    pub inspector: Actor,
    pub leader: Actor,
    pub citizen: Actor,
    pub admin: Actor,
}

pub fn staff() -> Staff {
    Staff {
        operator: actor("op", Role::Operator, "county"),
        dispatcher: actor("disp", Role::Dispatcher, "county"),
        handler_a: actor("ha", Role::Handler, "deptA"),
        handler_b: actor("hb", Role::Handler, "deptB"),
        street_handler: actor("hs", Role::Handler, "street1"),
        comm_handler: actor("hc", Role::Handler, "comm1"),
        street2_handler: actor("hs2", Role::Handler, "street2"),
        inspector: actor("insp", Role::Inspector, "county"),
        leader: actor("lead", Role::Leader, "county"),
        citizen: actor("cit", Role::Citizen, "county"),
        admin: actor("adm", Role::Admin, "county"),
    }
}

pub fn draft(kind: Kind) -> CaseDraft {
    CaseDraft {
        channel: Channel::Hotline,
        kind,
        category: Some("urban".into()),
        urgency: Urgency::Normal,
        title: "丹二巷占道经营".into(),
        description: "早晚有商贩占道".into(),
        address: Some("均州路街道丹二巷".into()),
        location: Some(GeoPoint {
            lon: 111.5,
            lat: 32.5,
        }),
        reporter: Reporter {
            name: Some("王先生".into()),
            phone: Some("13812345678".into()),
            anonymous: false,
            user_id: None,
        },
    }
}

/// Dispatch to `unit`, no co-units.
pub fn dispatch(unit: &str) -> Command {
    Command::Dispatch {
        unit: UnitId::new(unit),
        co_units: vec![],
        note: None,
    }
}

/// A resolved reply.
pub fn reply() -> Command {
    Command::Reply {
        outcome: ReplyOutcome::Resolved,
        text: "已清理".into(),
        reason: None,
    }
}

/// A case fresh from intake by the operator at `at`.
pub fn new_case(w: &Jurisdiction, kind: Kind, at: Time) -> Case {
    let s = staff();
    let ev = Case::intake("20260610000001".into(), draft(kind), &s.operator, &w.ctx()).unwrap();
    Case::from_received("c1".into(), &ev, at).unwrap()
}

/// Applies a command and folds its events in; returns the events.
pub fn run(
    w: &Jurisdiction,
    c: &mut Case,
    cmd: Command,
    who: &Actor,
    at: Time,
) -> Result<Vec<CaseEvent>, DomainError> {
    let evs = c.apply(&cmd, who, at, &w.ctx())?;
    for e in &evs {
        c.evolve(e, at);
    }
    Ok(evs)
}
