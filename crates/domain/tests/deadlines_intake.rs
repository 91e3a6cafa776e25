//! Deadlines that cannot be gamed, provisional holiday years, channels that belong to their path,
//! and where a citizen's report is filed. Expected times are worked out by hand from the 2026
//! schedule (calendar/2026.toml) and office hours 08:30–12:00, 14:00–17:30.

mod common;

use common::*;
use jiesu_domain::case::{GeoPoint, IntakePath};
use jiesu_domain::geo::Area;
use jiesu_domain::*;

fn dispatch(unit: &str) -> Command {
    Command::Dispatch {
        unit: UnitId::new(unit),
        co_units: vec![],
        note: None,
    }
}

#[test]
fn contact_is_never_due_before_accept() {
    let (w, s) = (world(), staff());
    // Friday 27 November 2026, 16:30.
    let mut c = new_case(&w, Kind::Complaint, t("2026-11-27T16:00:00+08:00"));
    run(
        &w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-11-27T16:30:00+08:00"),
    )
    .unwrap();
    let d = c.deadlines.clone().unwrap();
    // Accept: 2 working hours = 1 h on Friday (16:30–17:30) + 1 h on Monday from 08:30.
    assert_eq!(d.accept_due, t("2026-11-30T09:30:00+08:00"));
    // Contact: 24 calendar hours would be Saturday 16:30, before accept is due; it waits for it.
    assert_eq!(d.contact_due, t("2026-11-30T09:30:00+08:00"));
    // Resolve: 15 working days from Friday 16:30 — 30 Nov … 18 Dec, no holidays in between.
    assert_eq!(d.resolve_due, t("2026-12-18T16:30:00+08:00"));
    assert!(!d.provisional);
}

#[test]
fn a_returned_and_redispatched_case_keeps_its_first_resolve_deadline() {
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T08:40:00+08:00"));
    // Wednesday 10 June, 09:00. 15 working days: 11, 12, 15–18 June (6), 19 June is 端午 (rest),
    // 22–26 (11), 29, 30 June, 1 July (14), 2 July (15).
    run(
        &w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T09:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(
        c.deadlines.as_ref().unwrap().resolve_due,
        t("2026-07-02T09:00:00+08:00")
    );
    run(
        &w,
        &mut c,
        Command::Return {
            reason: "不属于本部门职责".into(),
        },
        &s.handler_a,
        t("2026-06-15T10:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Received);
    run(
        &w,
        &mut c,
        dispatch("deptB"),
        &s.dispatcher,
        t("2026-06-16T09:00:00+08:00"),
    )
    .unwrap();
    let d = c.deadlines.clone().unwrap();
    assert_eq!(
        d.resolve_due,
        t("2026-07-02T09:00:00+08:00"),
        "not reset by the bounce"
    );
    // The new unit still gets its own time to accept: 2 working hours from Tuesday 09:00.
    assert_eq!(d.accept_due, t("2026-06-16T11:00:00+08:00"));
}

fn with_provisional(mut w: Jurisdiction) -> Jurisdiction {
    w.calendar = w.calendar.with_provisional_years(2028);
    w
}

#[test]
fn a_deadline_into_a_year_without_its_notice_is_provisional_then_recomputed() {
    let w = with_provisional(world());
    let s = staff();
    assert!(w.calendar.is_provisional(2027) && !w.calendar.is_provisional(2026));
    let mut c = new_case(&w, Kind::Complaint, t("2026-12-21T09:00:00+08:00"));
    let mut trail = vec![];
    let received = CaseEvent::Received {
        number: c.number.clone(),
        intake_unit: c.intake_unit.clone(),
        draft: c.draft.clone(),
    };
    trail.push((received, t("2026-12-21T09:00:00+08:00")));
    let at = t("2026-12-21T10:00:00+08:00");
    for e in run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap() {
        trail.push((e, at));
    }
    let d = c.deadlines.clone().unwrap();
    // 22–25 Dec (4), 28–31 Dec (8), 1 Jan 2027 is 元旦 under the national rules (provisional),
    // 4–8 Jan (13), 11 Jan (14), 12 Jan (15).
    assert_eq!(d.resolve_due, t("2027-01-12T10:00:00+08:00"));
    assert!(d.provisional, "counted on a provisional year");

    // The notice arrives and (in this made-up version) gives 1–4 January off.
    let mut official = w.clone();
    official.calendar.add_year(
        CalendarYear::parse_toml(
            r#"
year = 2027
source = "test notice"
[[period]]
name = "元旦"
name_en = "New Year's Day"
rest = ["2027-01-01..2027-01-04"]
"#,
        )
        .unwrap(),
    );
    assert!(!official.calendar.is_provisional(2027));
    let refs: Vec<(&CaseEvent, Time)> = trail.iter().map(|(e, t)| (e, *t)).collect();
    let ev = c
        .recalendar(&refs, "2027年节假日安排已导入", &official.ctx())
        .unwrap()
        .expect("the deadline moves");
    let CaseEvent::DeadlinesRecomputed { deadlines, reason } = &ev else {
        panic!("{ev:?}")
    };
    assert_eq!(reason, "2027年节假日安排已导入");
    // 4 January is now a rest day: the 15th working day is 13 January.
    assert_eq!(deadlines.resolve_due, t("2027-01-13T10:00:00+08:00"));
    assert!(!deadlines.provisional);
    c.evolve(&ev, t("2026-12-22T09:00:00+08:00"));
    assert_eq!(
        c.deadlines.as_ref().unwrap().resolve_due,
        t("2027-01-13T10:00:00+08:00")
    );
    // Done once: nothing provisional is left to move.
    assert_eq!(c.recalendar(&refs, "again", &official.ctx()).unwrap(), None);
}

#[test]
fn an_extension_and_a_resume_are_replayed_on_the_new_calendar() {
    let w = with_provisional(world());
    let s = staff();
    let mut c = new_case(&w, Kind::Request, t("2026-12-21T09:00:00+08:00"));
    let mut trail = vec![(
        CaseEvent::Received {
            number: c.number.clone(),
            intake_unit: c.intake_unit.clone(),
            draft: c.draft.clone(),
        },
        t("2026-12-21T09:00:00+08:00"),
    )];
    let mut step = |c: &mut Case, cmd: Command, who: &Actor, at: &str| {
        let at = t(at);
        for e in run(&w, c, cmd, who, at).unwrap() {
            trail.push((e, at));
        }
    };
    step(
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        "2026-12-21T10:00:00+08:00",
    );
    // Request: 5 working days → 28 December 10:00.
    assert_eq!(
        c.deadlines.as_ref().unwrap().resolve_due,
        t("2026-12-28T10:00:00+08:00")
    );
    step(
        &mut c,
        Command::Accept { note: None },
        &s.handler_a,
        "2026-12-21T11:00:00+08:00",
    );
    step(
        &mut c,
        Command::RequestExtension {
            working_days: 5,
            reason: "需协调".into(),
        },
        &s.handler_a,
        "2026-12-22T09:00:00+08:00",
    );
    step(
        &mut c,
        Command::ApproveExtension { comment: None },
        &s.dispatcher,
        "2026-12-22T10:00:00+08:00",
    );
    // 28 Dec + 5 working days: 29, 30, 31 Dec, (1 Jan rests), 4, 5 Jan → 5 January 10:00.
    let d = c.deadlines.clone().unwrap();
    assert_eq!(d.resolve_due, t("2027-01-05T10:00:00+08:00"));
    assert!(d.provisional);
    let mut official = w.clone();
    official.calendar.add_year(
        CalendarYear::parse_toml(
            "year = 2027\nsource = \"t\"\n[[period]]\nname = \"元旦\"\nname_en = \"NY\"\nrest = [\"2027-01-01..2027-01-04\"]\n",
        )
        .unwrap(),
    );
    let refs: Vec<(&CaseEvent, Time)> = trail.iter().map(|(e, t)| (e, *t)).collect();
    let ev = c.recalendar(&refs, "r", &official.ctx()).unwrap().unwrap();
    let CaseEvent::DeadlinesRecomputed { deadlines, .. } = ev else {
        panic!()
    };
    // The extension is counted again from 28 Dec: 29, 30, 31 Dec, 5, 6 Jan.
    assert_eq!(deadlines.resolve_due, t("2027-01-06T10:00:00+08:00"));
}

#[test]
fn each_channel_belongs_to_its_path() {
    let (w, s) = (world(), staff());
    let with = |ch: Channel| {
        let mut d = draft(Kind::Complaint);
        d.channel = ch;
        d
    };
    let refused = |r: Result<CaseEvent, DomainError>| {
        matches!(
            r,
            Err(DomainError::Forbidden {
                code: "channel_forbidden",
                ..
            })
        )
    };
    for ch in [Channel::Monitor, Channel::Open311] {
        assert!(
            refused(Case::intake("n".into(), with(ch), &s.operator, &w.ctx())),
            "{ch}"
        );
        assert!(
            refused(Case::intake("n".into(), with(ch), &s.dispatcher, &w.ctx())),
            "{ch}"
        );
    }
    // Only grid workers patrol.
    assert!(refused(Case::intake(
        "n".into(),
        with(Channel::GridPatrol),
        &s.operator,
        &w.ctx()
    )));
    let g = actor("g", Role::GridWorker, "grid1");
    assert!(Case::intake("n".into(), with(Channel::GridPatrol), &g, &w.ctx()).is_ok());
    // The ingest makes monitor cases and nothing else; Open311 likewise.
    let sys = actor("monitor", Role::Operator, "county");
    assert!(
        Case::intake_by(
            "n".into(),
            with(Channel::Monitor),
            &sys,
            IntakePath::Ingest,
            &w.ctx()
        )
        .is_ok()
    );
    assert!(refused(Case::intake_by(
        "n".into(),
        with(Channel::Hotline),
        &sys,
        IntakePath::Ingest,
        &w.ctx()
    )));
    assert!(
        Case::intake_by(
            "n".into(),
            with(Channel::Open311),
            &s.citizen,
            IntakePath::Open311,
            &w.ctx()
        )
        .is_ok()
    );
    // A citizen may not pose as the hotline.
    assert!(refused(Case::intake(
        "n".into(),
        with(Channel::Hotline),
        &s.citizen,
        &w.ctx()
    )));
    assert!(Case::intake("n".into(), with(Channel::Hotline), &s.operator, &w.ctx()).is_ok());
}

fn filed_at(ev: CaseEvent) -> UnitId {
    match ev {
        CaseEvent::Received { intake_unit, .. } => intake_unit,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_citizens_report_is_filed_where_a_dispatcher_sees_it() {
    let mut w = world();
    let s = staff();
    let mut d = draft(Kind::Complaint);
    d.channel = Channel::Mobile;
    d.location = None;
    // No place given: the county's dispatch centre.
    assert_eq!(
        filed_at(Case::intake("n".into(), d.clone(), &s.citizen, &w.ctx()).unwrap()),
        UnitId::new("county")
    );
    // A place inside grid1 (street1 › comm1 › grid1): street1's dispatch centre.
    w.org = w.org.clone().with_areas(vec![
        Area::from_geojson(
            UnitId::new("grid1"),
            r#"{"type":"Polygon","coordinates":[[[111.4,32.4],[111.6,32.4],[111.6,32.6],[111.4,32.6],[111.4,32.4]]]}"#,
        )
        .unwrap(),
    ]);
    d.location = Some(GeoPoint {
        lon: 111.5,
        lat: 32.5,
    });
    assert_eq!(
        filed_at(Case::intake("n".into(), d.clone(), &s.citizen, &w.ctx()).unwrap()),
        UnitId::new("street1")
    );
    // Outside every area: the county again.
    d.location = Some(GeoPoint {
        lon: 100.0,
        lat: 30.0,
    });
    assert_eq!(
        filed_at(Case::intake("n".into(), d, &s.citizen, &w.ctx()).unwrap()),
        UnitId::new("county")
    );
}

#[test]
fn a_city_root_over_one_county_files_at_the_county() {
    let u = |id: &str, p: Option<&str>, k: UnitKind| OrgUnit {
        id: UnitId::new(id),
        parent: p.map(UnitId::new),
        kind: k,
        name: id.into(),
    };
    let one = OrgTree::new(vec![
        u("city", None, UnitKind::City),
        u("county", Some("city"), UnitKind::County),
    ])
    .unwrap();
    assert_eq!(one.intake_center(), Some(&UnitId::new("county")));
    let two = OrgTree::new(vec![
        u("city", None, UnitKind::City),
        u("c1", Some("city"), UnitKind::County),
        u("c2", Some("city"), UnitKind::County),
    ])
    .unwrap();
    assert_eq!(two.intake_center(), Some(&UnitId::new("city")));
}

#[test]
fn a_second_unit_is_judged_on_its_own_accept_and_contact() {
    use jiesu_domain::assessment::{Metric, deltas};
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T08:40:00+08:00"));
    run(
        &w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T09:00:00+08:00"),
    )
    .unwrap();
    // deptA accepts at once, then finds it is not its business and returns it.
    run(
        &w,
        &mut c,
        Command::Accept { note: None },
        &s.handler_a,
        t("2026-06-10T09:05:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Return {
            reason: "不属于本部门职责".into(),
        },
        &s.handler_a,
        t("2026-06-11T10:00:00+08:00"),
    )
    .unwrap();
    // deptB gets it the next week and answers within its own deadlines (accept by 11:00).
    run(
        &w,
        &mut c,
        dispatch("deptB"),
        &s.dispatcher,
        t("2026-06-16T09:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.accepted_at, None, "deptA's accept is not deptB's");
    run(
        &w,
        &mut c,
        Command::Accept { note: None },
        &s.handler_b,
        t("2026-06-16T10:00:00+08:00"),
    )
    .unwrap();
    let before = c.clone();
    let at = t("2026-06-16T10:30:00+08:00");
    let evs = run(
        &w,
        &mut c,
        Command::Contact { note: None },
        &s.handler_b,
        at,
    )
    .unwrap();
    let d = deltas(&before, &evs[0], &c, at);
    assert!(
        d.iter().any(|d| d.unit == UnitId::new("deptB")
            && d.metric == Metric::Responded
            && d.delta == 1),
        "{d:?}"
    );
}

#[test]
fn a_grid_worker_reads_the_patrol_report_he_filed_and_no_other_workers() {
    let w = world();
    let mut d = draft(Kind::Hazard);
    d.channel = Channel::GridPatrol;
    let g = actor("g", Role::GridWorker, "grid1");
    let ev = Case::intake("n".into(), d, &g, &w.ctx()).unwrap();
    // Filed at street1's dispatch centre, above his grid: he reads it as its reporter.
    let case = Case::from_received("c1".into(), &ev, t("2026-03-02T09:00:00+08:00")).unwrap();
    assert_eq!(case.intake_unit, UnitId::new("street1"));
    assert!(case.visible_to(&g, &w.org));
    let other = actor("g2", Role::GridWorker, "grid1");
    assert!(!case.visible_to(&other, &w.org));
}
