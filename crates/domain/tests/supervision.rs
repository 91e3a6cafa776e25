//! Supervision in the pure domain: 吹哨报到 (whistle, report in, parts), 督办 and 催办, cards and
//! their appeals, and what the deadline clock fires (`supervision::due_events`, `next_fire`) at
//! literal moments worked out by hand on the 2026 calendar (office hours 08:30–12:00, 14:00–17:30).

mod common;

use common::*;
use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::supervision::{
    AppealDecision, CardColor, CardReason, CardStatus, DeadlineKind, SuperviseLevel, due_events,
    next_fire,
};
use jiesu_domain::*;

fn u(id: &str) -> UnitId {
    UnitId::new(id)
}

fn code_of(e: &DomainError) -> &'static str {
    match e {
        DomainError::Forbidden { code, .. }
        | DomainError::Conflict { code, .. }
        | DomainError::Unknown { code, .. } => code,
        DomainError::Invalid { field, .. } => field,
        DomainError::WrongState { .. } => "wrong_state",
        DomainError::Calendar(_) => "calendar",
    }
}

fn refused(w: &Jurisdiction, c: &Case, cmd: Command, who: &Actor, at: Time) -> &'static str {
    match c.apply(&cmd, who, at, &w.ctx()) {
        Ok(evs) => panic!("{} was accepted: {evs:?}", cmd.name()),
        Err(e) => code_of(&e),
    }
}

fn no_yellows(_: &UnitId, _: Time) -> u32 {
    0
}

/// Fires what is due at `at` and folds it in; returns the events' type names.
fn tick(w: &Jurisdiction, c: &mut Case, at: Time) -> Vec<CaseEvent> {
    let evs = due_events(c, at, &w.ctx(), &no_yellows);
    for e in &evs {
        c.evolve(e, at);
    }
    evs
}

fn names(evs: &[CaseEvent]) -> Vec<&'static str> {
    evs.iter().map(|e| e.type_name()).collect()
}

/// A case held by street1: dispatched Wed 10 June 2026 09:10, accepted 09:30, contacted 10:00.
fn at_street(w: &Jurisdiction, s: &Staff) -> Case {
    let mut c = new_case(w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    run(
        w,
        &mut c,
        dispatch("street1"),
        &s.dispatcher,
        t("2026-06-10T09:10:00+08:00"),
    )
    .unwrap();
    run(
        w,
        &mut c,
        Command::Accept { note: None },
        &s.street_handler,
        t("2026-06-10T09:30:00+08:00"),
    )
    .unwrap();
    run(
        w,
        &mut c,
        Command::Contact { note: None },
        &s.street_handler,
        t("2026-06-10T10:00:00+08:00"),
    )
    .unwrap();
    c
}

fn whistle(units: &[&str], lead: &str) -> Command {
    Command::Whistle {
        units: units.iter().map(|x| u(x)).collect(),
        lead: u(lead),
        note: Some("占道问题涉及城管和市场监管".into()),
    }
}

#[test]
fn a_street_whistles_departments_who_report_in_and_record_parts_before_the_lead_replies() {
    let (w, s) = (world(), staff());
    let mut c = at_street(&w, &s);
    // Whistled Wed 11:00: two working hours are 11:00–12:00 and 14:00–15:00.
    let at = t("2026-06-10T11:00:00+08:00");
    let evs = run(
        &w,
        &mut c,
        whistle(&["deptA", "deptB"], "deptA"),
        &s.street_handler,
        at,
    )
    .unwrap();
    let CaseEvent::Whistled { report_in_due, .. } = &evs[0] else {
        panic!("{evs:?}");
    };
    assert_eq!(*report_in_due, t("2026-06-10T15:00:00+08:00"));
    assert_eq!(c.lead, Some(u("deptA")));
    let summoned: Vec<&str> = c.summons.iter().map(|s| s.unit.as_str()).collect();
    assert_eq!(summoned, ["deptA", "deptB"]);
    assert!(c.summons.iter().all(|s| s.report_in_due == *report_in_due));

    let later = t("2026-06-10T14:10:00+08:00");
    // Only a summoned unit reports in or records a part, and each once.
    let report = Command::ReportIn { note: None };
    assert_eq!(
        refused(&w, &c, report.clone(), &s.street_handler, later),
        "not_summoned"
    );
    run(&w, &mut c, report.clone(), &s.handler_a, later).unwrap();
    assert_eq!(c.summons[0].reported_at, Some(later));
    assert_eq!(refused(&w, &c, report, &s.handler_a, later), "already_done");

    // The lead's reply waits for every summoned unit's part but its own.
    assert_eq!(
        refused(&w, &c, reply(), &s.handler_a, later),
        "parts_missing"
    );
    let part = |text: &str| Command::RecordPart { text: text.into() };
    assert_eq!(
        refused(&w, &c, part("x"), &s.street_handler, later),
        "not_summoned"
    );
    // Recording a part reports in as well.
    let evs = run(&w, &mut c, part("已清理占道摊点"), &s.handler_b, later).unwrap();
    assert_eq!(names(&evs), ["reported_in", "part_recorded"]);
    assert_eq!(c.summons[1].part.as_deref(), Some("已清理占道摊点"));
    assert_eq!(
        refused(&w, &c, part("again"), &s.handler_b, later),
        "already_done"
    );
    // The street holds the case, but the lead replies.
    assert_eq!(
        refused(&w, &c, reply(), &s.street_handler, later),
        "out_of_scope"
    );
    run(&w, &mut c, reply(), &s.handler_a, later).unwrap();
    assert_eq!(c.state, CaseState::Replied);
    // Nothing ran late: nothing to fire at the report-in due.
    assert!(due_events(&c, t("2026-06-10T15:00:00+08:00"), &w.ctx(), &no_yellows).is_empty());
}

#[test]
fn whistle_refusals() {
    let (w, s) = (world(), staff());
    let c = at_street(&w, &s);
    let at = t("2026-06-10T11:00:00+08:00");
    let e = c
        .apply(
            &whistle(&["deptA", "nowhere"], "deptA"),
            &s.street_handler,
            at,
            &w.ctx(),
        )
        .unwrap_err();
    assert!(
        matches!(
            e,
            DomainError::Unknown {
                code: "unknown_unit",
                ..
            }
        ),
        "{e:?}"
    );
    // The lead is the whistling unit or one of those summoned.
    assert_eq!(
        refused(&w, &c, whistle(&["deptA"], "deptB"), &s.street_handler, at),
        "lead"
    );
    // The street may lead itself.
    let mut led = c.clone();
    run(
        &w,
        &mut led,
        whistle(&["deptA"], "street1"),
        &s.street_handler,
        at,
    )
    .unwrap();
    assert_eq!(led.lead, Some(u("street1")));
    // A unit takes part once.
    assert_eq!(
        refused(
            &w,
            &led,
            whistle(&["deptA"], "street1"),
            &s.street_handler,
            at
        ),
        "units"
    );
    assert_eq!(
        refused(&w, &c, whistle(&[], "street1"), &s.street_handler, at),
        "units"
    );
    // Handlers and leaders whistle; a community below the street cannot whistle for it.
    assert_eq!(
        refused(&w, &c, whistle(&["deptA"], "deptA"), &s.dispatcher, at),
        "role_forbidden"
    );
    assert_eq!(
        refused(&w, &c, whistle(&["deptA"], "deptA"), &s.comm_handler, at),
        "case_not_found"
    );
    run(
        &w,
        &mut c.clone(),
        whistle(&["deptA"], "deptA"),
        &s.leader,
        at,
    )
    .unwrap();

    // A department holding a case does not whistle.
    let mut d = new_case(&w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    run(
        &w,
        &mut d,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T09:10:00+08:00"),
    )
    .unwrap();
    run(&w, &mut d, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    assert_eq!(
        refused(&w, &d, whistle(&["deptB"], "deptA"), &s.handler_a, at),
        "whistle_not_grassroots"
    );
}

#[test]
fn dispatch_co_units_are_summoned_like_a_whistle() {
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    // Dispatched Wed 09:10: reports in by 11:10.
    let at = t("2026-06-10T09:10:00+08:00");
    run(
        &w,
        &mut c,
        Command::Dispatch {
            unit: u("deptA"),
            co_units: vec![u("deptB")],
            note: None,
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    assert_eq!(c.summons.len(), 1);
    assert_eq!(c.summons[0].unit, u("deptB"));
    assert_eq!(c.summons[0].report_in_due, t("2026-06-10T11:10:00+08:00"));
    let later = t("2026-06-10T10:00:00+08:00");
    for cmd in [
        Command::Accept { note: None },
        Command::Contact { note: None },
    ] {
        run(&w, &mut c, cmd, &s.handler_a, later).unwrap();
    }
    assert_eq!(
        refused(&w, &c, reply(), &s.handler_a, later),
        "parts_missing"
    );
    run(
        &w,
        &mut c,
        Command::RecordPart {
            text: "已配合执法".into(),
        },
        &s.handler_b,
        later,
    )
    .unwrap();
    run(&w, &mut c, reply(), &s.handler_a, later).unwrap();
    assert_eq!(c.state, CaseState::Replied);
}

#[test]
fn a_summoned_unit_that_does_not_report_in_is_warned_then_carded() {
    let (w, s) = (world(), staff());
    let mut c = at_street(&w, &s);
    run(
        &w,
        &mut c,
        whistle(&["deptA", "deptB"], "deptA"),
        &s.street_handler,
        t("2026-06-10T11:00:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::ReportIn { note: None },
        &s.handler_a,
        t("2026-06-10T11:30:00+08:00"),
    )
    .unwrap();
    // 80 % of two working hours is 96 minutes: 11:00–12:00, then 14:00–14:36.
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-10T14:36:00+08:00"))
    );
    assert!(tick(&w, &mut c, t("2026-06-10T14:35:59+08:00")).is_empty());
    let evs = tick(&w, &mut c, t("2026-06-10T14:36:00+08:00"));
    assert_eq!(
        evs,
        vec![CaseEvent::DeadlineWarning {
            kind: DeadlineKind::ReportIn,
            unit: u("deptB"),
            due: t("2026-06-10T15:00:00+08:00"),
        }]
    );
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-10T15:00:00+08:00"))
    );
    let evs = tick(&w, &mut c, t("2026-06-10T15:00:00+08:00"));
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card"]);
    let card = &c.cards[0];
    assert_eq!(
        (
            card.id.as_str(),
            card.color,
            card.reason,
            card.unit.as_str()
        ),
        ("Y1", CardColor::Yellow, CardReason::ReportInLate, "deptB")
    );
    assert_eq!(card.due, Some(t("2026-06-10T15:00:00+08:00")));
    assert_eq!(card.issued_at, t("2026-06-10T15:00:00+08:00"));
    // Fired once: asking again, now or later, adds nothing for the report-in.
    assert!(tick(&w, &mut c, t("2026-06-10T15:00:00+08:00")).is_empty());
    assert!(
        tick(&w, &mut c, t("2026-06-10T17:00:00+08:00"))
            .iter()
            .all(|e| !matches!(
                e,
                CaseEvent::DeadlineMissed {
                    kind: DeadlineKind::ReportIn,
                    ..
                }
            ))
    );
}

/// A case dispatched to deptA on Wed 10 June 2026 09:10 and left alone: accept due 11:10
/// (2 working hours), contact due Thu 11 June 09:10 (24 hours), resolve due Thu 2 July 09:10
/// (15 working days; Fri 19 June is 端午).
fn dispatched(w: &Jurisdiction, s: &Staff) -> Case {
    let mut c = new_case(w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    run(
        w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T09:10:00+08:00"),
    )
    .unwrap();
    c
}

#[test]
fn the_clock_warns_at_80_percent_and_cards_at_the_due_moment_once() {
    let (w, s) = (world(), staff());
    let mut c = dispatched(&w, &s);
    // 80 % of 2 working hours from 09:10 is 96 minutes: 10:46.
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-10T10:46:00+08:00"))
    );
    assert!(tick(&w, &mut c, t("2026-06-10T10:45:00+08:00")).is_empty());
    let evs = tick(&w, &mut c, t("2026-06-10T10:46:00+08:00"));
    assert_eq!(
        evs,
        vec![CaseEvent::DeadlineWarning {
            kind: DeadlineKind::Accept,
            unit: u("deptA"),
            due: t("2026-06-10T11:10:00+08:00"),
        }]
    );
    assert!(tick(&w, &mut c, t("2026-06-10T10:50:00+08:00")).is_empty());
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-10T11:10:00+08:00"))
    );
    let evs = tick(&w, &mut c, t("2026-06-10T11:10:00+08:00"));
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card"]);
    assert_eq!(
        (c.cards[0].reason, c.cards[0].due, c.cards[0].issued_at),
        (
            CardReason::AcceptLate,
            Some(t("2026-06-10T11:10:00+08:00")),
            t("2026-06-10T11:10:00+08:00")
        )
    );
    // Next: the contact warning at 80 % of 24 calendar hours, Thu 04:22.
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-11T04:22:00+08:00"))
    );
    assert!(tick(&w, &mut c, t("2026-06-10T16:00:00+08:00")).is_empty());
}

#[test]
fn a_deadline_passed_while_the_server_was_down_fires_without_a_warning() {
    let (w, s) = (world(), staff());
    let mut c = dispatched(&w, &s);
    // Nobody asked until Thu 10:00: the accept and contact deadlines both passed.
    let evs = tick(&w, &mut c, t("2026-06-11T10:00:00+08:00"));
    assert_eq!(
        names(&evs),
        [
            "deadline_missed",
            "yellow_card",
            "deadline_missed",
            "yellow_card"
        ]
    );
    let cards: Vec<(&str, CardReason, Time)> = c
        .cards
        .iter()
        .map(|k| (k.id.as_str(), k.reason, k.issued_at))
        .collect();
    // Each stamped with its own due moment, in the order they fell due.
    assert_eq!(
        cards,
        [
            ("Y1", CardReason::AcceptLate, t("2026-06-10T11:10:00+08:00")),
            (
                "Y2",
                CardReason::ContactLate,
                t("2026-06-11T09:10:00+08:00")
            ),
        ]
    );
    // Resolve: 80 % of 15 working days is 12 working days, Mon 29 June 09:10.
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-29T09:10:00+08:00"))
    );
}

#[test]
fn resolution_late_by_more_than_five_working_days_earns_a_red_card() {
    let (w, s) = (world(), staff());
    let mut c = dispatched(&w, &s);
    let at = t("2026-06-10T09:30:00+08:00");
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    run(
        &w,
        &mut c,
        Command::Contact { note: None },
        &s.handler_a,
        at,
    )
    .unwrap();
    let evs = tick(&w, &mut c, t("2026-06-29T09:10:00+08:00"));
    assert_eq!(names(&evs), ["deadline_warning"]);
    let evs = tick(&w, &mut c, t("2026-07-02T09:10:00+08:00"));
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card"]);
    assert_eq!(c.cards[0].reason, CardReason::ResolveLate);
    // Five working days after Thu 2 July 09:10: 3, 6, 7, 8, 9 July.
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-07-09T09:10:00+08:00"))
    );
    assert!(tick(&w, &mut c, t("2026-07-09T09:09:59+08:00")).is_empty());
    let evs = tick(&w, &mut c, t("2026-07-09T09:10:00+08:00"));
    assert_eq!(names(&evs), ["red_card"]);
    let red = &c.cards[1];
    assert_eq!(
        (red.id.as_str(), red.color, red.reason, red.due),
        (
            "R1",
            CardColor::Red,
            CardReason::ResolveFarLate,
            Some(t("2026-07-02T09:10:00+08:00"))
        )
    );
    assert!(tick(&w, &mut c, t("2026-08-31T09:10:00+08:00")).is_empty());
    assert_eq!(next_fire(&c, &w.ctx()), None);
}

#[test]
fn more_than_three_yellows_in_a_month_earn_a_red_card() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T11:10:00+08:00");
    // The unit already holds 2 yellows this month elsewhere: this one is its 3rd, no red.
    let c = dispatched(&w, &s);
    let two = |_: &UnitId, _: Time| 2;
    let evs = due_events(&c, at, &w.ctx(), &two);
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card"]);
    // With 3 held, this is the 4th: a red card for the limit, at the same moment.
    let three = |unit: &UnitId, when: Time| {
        assert_eq!((unit.as_str(), when), ("deptA", at));
        3
    };
    let evs = due_events(&c, at, &w.ctx(), &three);
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card", "red_card"]);
    let CaseEvent::RedCard { card } = &evs[2] else {
        panic!()
    };
    assert_eq!(
        (
            card.id.as_str(),
            card.reason,
            card.unit.as_str(),
            card.issued_at
        ),
        ("R1", CardReason::YellowLimit, "deptA", at)
    );
    // Yellows on this same case count too: 2 elsewhere + accept + contact = 4 by Thu 09:10.
    let evs = due_events(&c, t("2026-06-11T10:00:00+08:00"), &w.ctx(), &two);
    assert_eq!(
        names(&evs),
        [
            "deadline_missed",
            "yellow_card",
            "deadline_missed",
            "yellow_card",
            "red_card"
        ]
    );
}

#[test]
fn a_suspended_case_fires_nothing() {
    let (w, s) = (world(), staff());
    let mut c = dispatched(&w, &s);
    let at = t("2026-06-10T09:30:00+08:00");
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    run(
        &w,
        &mut c,
        Command::Contact { note: None },
        &s.handler_a,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Suspend {
            reason: "等待鉴定".into(),
        },
        &s.dispatcher,
        t("2026-06-10T10:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(next_fire(&c, &w.ctx()), None);
    assert!(due_events(&c, t("2026-08-03T10:00:00+08:00"), &w.ctx(), &no_yellows).is_empty());
    // Resumed Fri 12 June 10:00 after 14 working hours: resolve due moves to Mon 6 July 09:10.
    // Its warning: 80 % of the 119 working hours from Wed 10 June 09:10 is 95 h 12 min, 13 working
    // days (Tue 30 June 09:10) and 4 h 12 min more (09:10–12:00, 14:00–15:22).
    run(
        &w,
        &mut c,
        Command::Resume { note: None },
        &s.dispatcher,
        t("2026-06-12T10:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(
        c.deadlines.as_ref().map(|d| d.resolve_due),
        Some(t("2026-07-06T09:10:00+08:00"))
    );
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-06-30T15:22:00+08:00"))
    );
    assert_eq!(
        names(&tick(&w, &mut c, t("2026-07-06T09:09:00+08:00"))),
        ["deadline_warning"]
    );
    assert_eq!(
        next_fire(&c, &w.ctx()),
        Some(t("2026-07-06T09:10:00+08:00"))
    );
}

fn carded(w: &Jurisdiction, s: &Staff) -> Case {
    let mut c = dispatched(w, s);
    tick(w, &mut c, t("2026-06-10T11:10:00+08:00"));
    assert_eq!(c.cards.len(), 1);
    c
}

#[test]
fn a_card_is_appealed_once_by_its_unit_and_decided_by_an_inspector() {
    let (w, s) = (world(), staff());
    let mut c = carded(&w, &s);
    let at = t("2026-06-10T14:00:00+08:00");
    let appeal = |card: &str| Command::Appeal {
        card: card.into(),
        reason: "系统故障未能签收".into(),
    };
    let decide = |d: AppealDecision| Command::DecideAppeal {
        card: "Y1".into(),
        decision: d,
        reason: "经核实".into(),
    };
    assert_eq!(
        refused(&w, &c, decide(AppealDecision::Revoke), &s.inspector, at),
        "no_appeal_pending"
    );
    assert_eq!(
        refused(&w, &c, appeal("Y9"), &s.handler_a, at),
        "card_not_found"
    );
    // Only the carded unit appeals.
    assert_eq!(
        refused(&w, &c, appeal("Y1"), &s.dispatcher, at),
        "role_forbidden"
    );
    run(&w, &mut c, appeal("Y1"), &s.handler_a, at).unwrap();
    assert_eq!(c.cards[0].status, CardStatus::Appealed);
    assert_eq!(
        refused(&w, &c, appeal("Y1"), &s.handler_a, at),
        "appeal_exists"
    );
    // Only an inspector decides.
    for who in [&s.leader, &s.dispatcher, &s.handler_a] {
        assert_eq!(
            refused(&w, &c, decide(AppealDecision::Revoke), who, at),
            "role_forbidden"
        );
    }
    let mut upheld = c.clone();
    run(
        &w,
        &mut upheld,
        decide(AppealDecision::Uphold),
        &s.inspector,
        at,
    )
    .unwrap();
    assert_eq!(upheld.cards[0].status, CardStatus::Upheld);
    assert!(upheld.cards[0].counts());
    // Once decided, neither a new appeal nor a new decision.
    assert_eq!(
        refused(&w, &upheld, appeal("Y1"), &s.handler_a, at),
        "appeal_exists"
    );
    assert_eq!(
        refused(
            &w,
            &upheld,
            decide(AppealDecision::Revoke),
            &s.inspector,
            at
        ),
        "no_appeal_pending"
    );
    let evs = run(&w, &mut c, decide(AppealDecision::Revoke), &s.inspector, at).unwrap();
    assert_eq!(names(&evs), ["card_revoked"]);
    assert_eq!(c.cards[0].status, CardStatus::Revoked);
    assert_eq!(c.cards[0].decision_reason.as_deref(), Some("经核实"));
    assert!(!c.cards[0].counts());
}

#[test]
fn a_revoked_card_does_not_count_towards_the_monthly_limit() {
    let (w, s) = (world(), staff());
    let mut c = carded(&w, &s);
    let at = t("2026-06-10T14:00:00+08:00");
    run(
        &w,
        &mut c,
        Command::Appeal {
            card: "Y1".into(),
            reason: "停电".into(),
        },
        &s.handler_a,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::DecideAppeal {
            card: "Y1".into(),
            decision: AppealDecision::Revoke,
            reason: "属实".into(),
        },
        &s.inspector,
        at,
    )
    .unwrap();
    // 3 elsewhere + the contact yellow = 4, the revoked accept yellow not counted: one red.
    let three = |_: &UnitId, _: Time| 3;
    let evs = due_events(&c, t("2026-06-11T09:10:00+08:00"), &w.ctx(), &three);
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card", "red_card"]);
    let CaseEvent::YellowCard { card } = &evs[1] else {
        panic!()
    };
    assert_eq!(card.id, "Y2");
    // With 2 elsewhere it is the 3rd counting yellow: no red, though the case holds two yellows.
    let two = |_: &UnitId, _: Time| 2;
    let evs = due_events(&c, t("2026-06-11T09:10:00+08:00"), &w.ctx(), &two);
    assert_eq!(names(&evs), ["deadline_missed", "yellow_card"]);
}

#[test]
fn supervise_and_remind() {
    let (w, s) = (world(), staff());
    let mut c = dispatched(&w, &s);
    let at = t("2026-06-10T10:00:00+08:00");
    let sup = |due: Option<&str>| Command::Supervise {
        level: SuperviseLevel::Listed,
        note: "限期办结".into(),
        due: due.map(t),
    };
    assert_eq!(
        refused(&w, &c, sup(None), &s.dispatcher, at),
        "role_forbidden"
    );
    assert_eq!(
        refused(
            &w,
            &c,
            sup(Some("2026-06-10T09:59:00+08:00")),
            &s.leader,
            at
        ),
        "due"
    );
    run(
        &w,
        &mut c,
        sup(Some("2026-06-12T10:00:00+08:00")),
        &s.leader,
        at,
    )
    .unwrap();
    let v = &c.supervisions[0];
    assert_eq!(
        (v.level, v.due, v.at),
        (
            SuperviseLevel::Listed,
            Some(t("2026-06-12T10:00:00+08:00")),
            at
        )
    );
    for level in [SuperviseLevel::General, SuperviseLevel::Key] {
        run(
            &w,
            &mut c,
            Command::Supervise {
                level,
                note: "督办".into(),
                due: None,
            },
            &s.leader,
            at,
        )
        .unwrap();
    }
    assert_eq!(c.supervisions.len(), 3);
    // The supervision's own due fires a miss but no card (the resolve deadline carries cards).
    let mut late = c.clone();
    run(
        &w,
        &mut late,
        Command::Accept { note: None },
        &s.handler_a,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut late,
        Command::Contact { note: None },
        &s.handler_a,
        at,
    )
    .unwrap();
    let evs = tick(&w, &mut late, t("2026-06-12T10:00:00+08:00"));
    assert_eq!(
        evs,
        vec![CaseEvent::DeadlineMissed {
            kind: DeadlineKind::Supervision,
            unit: u("deptA"),
            due: t("2026-06-12T10:00:00+08:00"),
        }]
    );

    let remind = Command::Remind {
        note: "请尽快签收".into(),
    };
    assert_eq!(
        refused(&w, &c, remind.clone(), &s.handler_a, at),
        "role_forbidden"
    );
    run(&w, &mut c, remind.clone(), &s.dispatcher, at).unwrap();
    run(&w, &mut c, remind, &s.leader, at).unwrap();
    assert_eq!(c.reminders, 2);
}

#[test]
fn a_case_returned_to_the_dispatcher_drops_its_summons() {
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    let at = t("2026-06-10T09:10:00+08:00");
    run(
        &w,
        &mut c,
        Command::Dispatch {
            unit: u("deptA"),
            co_units: vec![u("deptB")],
            note: None,
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Return {
            reason: "非本单位职责".into(),
        },
        &s.handler_a,
        t("2026-06-10T09:20:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Received);
    // deptB is no longer on the case: it neither reports in nor is carded for not doing so.
    assert!(c.summons.is_empty());
    assert!(due_events(&c, t("2026-06-10T17:00:00+08:00"), &w.ctx(), &no_yellows).is_empty());
    assert_eq!(next_fire(&c, &w.ctx()), None);
}

#[test]
fn callbacks_of_every_outcome() {
    let (w, s) = (world(), staff());
    let to_callback = || {
        let mut c = dispatched(&w, &s);
        let at = t("2026-06-10T10:00:00+08:00");
        for cmd in [
            Command::Accept { note: None },
            Command::Contact { note: None },
            reply(),
        ] {
            run(&w, &mut c, cmd, &s.handler_a, at).unwrap();
        }
        run(
            &w,
            &mut c,
            Command::Review {
                decision: ReviewDecision::Approve,
                comment: None,
            },
            &s.dispatcher,
            at,
        )
        .unwrap();
        c
    };
    let cb = |sat: Satisfaction, fault: Option<bool>| Command::Callback {
        resolved: sat != Satisfaction::Unsatisfied,
        satisfaction: sat,
        note: None,
        unit_at_fault: fault,
    };
    let at = t("2026-06-11T10:00:00+08:00");
    for sat in [Satisfaction::Satisfied, Satisfaction::BasicallySatisfied] {
        let mut c = to_callback();
        run(&w, &mut c, cb(sat, None), &s.operator, at).unwrap();
        assert_eq!(c.state, CaseState::Closed);
    }
    // Unsatisfied by the unit's fault: 重办, then the second rating closes.
    let mut c = to_callback();
    let evs = run(
        &w,
        &mut c,
        cb(Satisfaction::Unsatisfied, Some(true)),
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(names(&evs), ["callback_recorded", "reopened"]);
    run(
        &w,
        &mut c,
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            text: "重新处理".into(),
            reason: None,
        },
        &s.handler_a,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Review {
            decision: ReviewDecision::Approve,
            comment: None,
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        cb(Satisfaction::BasicallySatisfied, None),
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
    // Unreachable three times: two attempts, then the outcome.
    let mut c = to_callback();
    let mut all = Vec::new();
    for _ in 0..3 {
        all.extend(names(
            &run(
                &w,
                &mut c,
                cb(Satisfaction::Unreachable, None),
                &s.operator,
                at,
            )
            .unwrap(),
        ));
    }
    assert_eq!(
        all,
        [
            "callback_attempted",
            "callback_attempted",
            "callback_recorded",
            "closed"
        ]
    );
}

#[test]
fn a_deadline_that_fell_during_a_suspension_is_moved_not_carded() {
    let (w, s) = (world(), staff());
    // Dispatched Wed 10 June 09:10: accept due 11:10. Suspended at 09:40, resumed Thu 11 June
    // 09:00: 2 h 20 min (to noon) + 3 h 30 min (afternoon) + 30 min (Thursday from 08:30) =
    // 6 h 20 min of working time lost.
    let mut c = dispatched(&w, &s);
    let suspend = Command::Suspend {
        reason: "等待现场勘验".into(),
    };
    run(
        &w,
        &mut c,
        suspend,
        &s.dispatcher,
        t("2026-06-10T09:40:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Resume { note: None },
        &s.dispatcher,
        t("2026-06-11T09:00:00+08:00"),
    )
    .unwrap();
    // 11:10 + 6 h 20 min of working time: 50 min to noon, 3 h 30 min in the afternoon (to 17:30),
    // 2 h on Thursday from 08:30: 10:30.
    assert_eq!(
        c.deadlines.as_ref().map(|d| d.accept_due),
        Some(t("2026-06-11T10:30:00+08:00"))
    );
    // Resuming after the old due moment earns no card; the moved one does.
    assert!(
        tick(&w, &mut c, t("2026-06-11T09:00:00+08:00"))
            .iter()
            .all(|e| !matches!(
                e,
                CaseEvent::YellowCard { .. } | CaseEvent::DeadlineMissed { .. }
            ))
    );
    assert!(names(&tick(&w, &mut c, t("2026-06-11T10:30:00+08:00"))).contains(&"yellow_card"));
}
