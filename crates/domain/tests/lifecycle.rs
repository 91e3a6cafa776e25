//! Every path of the case lifecycle in the pure domain, refusals included.

mod common;

use common::*;
use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::*;

/// Takes a case through dispatch, accept, contact and reply to deptA.
fn to_replied(w: &Jurisdiction, s: &Staff) -> Case {
    let mut c = new_case(w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    run(
        w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T09:10:00+08:00"),
    )
    .unwrap();
    run(
        w,
        &mut c,
        Command::Accept { note: None },
        &s.handler_a,
        t("2026-06-10T09:30:00+08:00"),
    )
    .unwrap();
    run(
        w,
        &mut c,
        Command::Contact { note: None },
        &s.handler_a,
        t("2026-06-10T10:00:00+08:00"),
    )
    .unwrap();
    run(
        w,
        &mut c,
        reply(),
        &s.handler_a,
        t("2026-06-11T10:00:00+08:00"),
    )
    .unwrap();
    c
}

#[test]
fn main_line_from_intake_to_close() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    assert_eq!(c.state, CaseState::Replied);
    let d = c.deadlines.clone().unwrap();
    // Dispatched Wed 10 June 2026 09:10: accept by 11:10, contact by next day 09:10,
    // resolve 15 working days later (19 June, 端午, is a holiday).
    assert_eq!(d.accept_due, t("2026-06-10T11:10:00+08:00"));
    assert_eq!(d.contact_due, t("2026-06-11T09:10:00+08:00"));
    assert_eq!(d.resolve_due, t("2026-07-02T09:10:00+08:00"));
    run(
        &w,
        &mut c,
        Command::Review {
            decision: ReviewDecision::Approve,
            comment: None,
        },
        &s.dispatcher,
        t("2026-06-11T11:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::AwaitingCallback);
    let evs = run(
        &w,
        &mut c,
        Command::Callback {
            unit_at_fault: None,
            resolved: true,
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
        &s.operator,
        t("2026-06-12T10:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(evs.len(), 2, "callback recorded, then closed");
    assert_eq!(c.state, CaseState::Closed);
    assert!(c.closed_at.is_some());
    assert_eq!(c.version, 8);
}

#[test]
fn inquiry_answered_directly_closes_at_once() {
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Inquiry, t("2026-06-10T09:00:00+08:00"));
    run(
        &w,
        &mut c,
        Command::AnswerDirectly {
            answer: "已告知办理流程".into(),
        },
        &s.operator,
        t("2026-06-10T09:05:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
    assert!(c.direct_answer.is_some());
    assert!(c.deadlines.is_none());
}

#[test]
fn kinds_get_their_resolve_spans() {
    let (w, s) = (world(), staff());
    for (kind, due) in [
        (Kind::Inquiry, "2026-06-15T09:10:00+08:00"),
        (Kind::Request, "2026-06-17T09:10:00+08:00"),
    ] {
        let mut c = new_case(&w, kind, t("2026-06-10T09:00:00+08:00"));
        run(
            &w,
            &mut c,
            dispatch("deptA"),
            &s.dispatcher,
            t("2026-06-10T09:10:00+08:00"),
        )
        .unwrap();
        assert_eq!(c.deadlines.unwrap().resolve_due, t(due), "{kind}");
    }
    let mut d = draft(Kind::Complaint);
    d.urgency = Urgency::Critical;
    let ev = Case::intake("n".into(), d, &s.operator, &w.ctx()).unwrap();
    let mut c = Case::from_received("c".into(), &ev, t("2026-06-13T22:00:00+08:00")).unwrap();
    run(
        &w,
        &mut c,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-13T22:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(
        c.deadlines.unwrap().resolve_due,
        t("2026-06-14T00:00:00+08:00"),
        "critical counts calendar hours"
    );
}

#[test]
fn refusals_by_role_scope_and_state() {
    let (w, s) = (world(), staff());
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    let at = t("2026-06-10T09:10:00+08:00");
    // A leader may not dispatch; an admin may not handle cases.
    assert!(matches!(
        c.apply(&dispatch("deptA"), &s.leader, at, &w.ctx()),
        Err(DomainError::Forbidden {
            code: "role_forbidden",
            ..
        })
    ));
    assert!(matches!(
        c.apply(&Command::Accept { note: None }, &s.admin, at, &w.ctx()),
        Err(DomainError::Forbidden { .. })
    ));
    // Accepting before dispatch: the case is not the department's yet, so it does not exist for it.
    assert!(matches!(
        c.apply(&Command::Accept { note: None }, &s.handler_a, at, &w.ctx()),
        Err(DomainError::Forbidden {
            code: "case_not_found",
            ..
        })
    ));
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    // Another department may not accept deptA's case: for it, there is no such case.
    assert!(matches!(
        c.apply(&Command::Accept { note: None }, &s.handler_b, at, &w.ctx()),
        Err(DomainError::Forbidden {
            code: "case_not_found",
            ..
        })
    ));
    // Dispatching twice is a state error.
    assert!(matches!(
        c.apply(&dispatch("deptB"), &s.dispatcher, at, &w.ctx()),
        Err(DomainError::WrongState {
            command: "dispatch",
            state: CaseState::Dispatched
        })
    ));
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    assert!(matches!(
        c.apply(&Command::Accept { note: None }, &s.handler_a, at, &w.ctx()),
        Err(DomainError::WrongState { .. })
    ));
    // Replying before contacting the reporter.
    assert!(matches!(
        c.apply(&reply(), &s.handler_a, at, &w.ctx()),
        Err(DomainError::WrongState { .. })
    ));
    // A street dispatcher cannot dispatch to a department outside his street.
    let mut c2 = new_case(&w, Kind::Complaint, at);
    let sd = actor("sd", Role::Dispatcher, "street1");
    assert!(matches!(
        c2.apply(&dispatch("deptA"), &sd, at, &w.ctx()),
        Err(DomainError::Forbidden { .. })
    ));
    // Unknown unit.
    assert!(matches!(
        c2.apply(&dispatch("nowhere"), &s.dispatcher, at, &w.ctx()),
        Err(DomainError::Invalid { field: "unit", .. })
    ));
    run(&w, &mut c2, dispatch("street1"), &s.dispatcher, at).unwrap();
}

#[test]
fn return_goes_back_to_the_dispatcher_or_the_unit_above() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    assert!(matches!(
        c.apply(
            &Command::Return { reason: " ".into() },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Invalid {
            field: "reason",
            ..
        })
    ));
    run(
        &w,
        &mut c,
        Command::Return {
            reason: "不属于本单位职责".into(),
        },
        &s.handler_a,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Received);
    assert_eq!(c.assigned_unit, None);
    assert_eq!(c.return_count, 1);
    // Street → community, and the community returns it to the street, not to the dispatcher.
    run(&w, &mut c, dispatch("street1"), &s.dispatcher, at).unwrap();
    run(
        &w,
        &mut c,
        Command::Redispatch {
            unit: UnitId::new("comm1"),
            note: None,
        },
        &s.street_handler,
        at,
    )
    .unwrap();
    assert_eq!(c.assigned_unit, Some(UnitId::new("comm1")));
    // Redispatch only goes down: not sideways to another street.
    assert!(matches!(
        c.apply(
            &Command::Redispatch {
                unit: UnitId::new("street2"),
                note: None
            },
            &s.comm_handler,
            at,
            &w.ctx()
        ),
        Err(DomainError::Forbidden { .. })
    ));
    run(
        &w,
        &mut c,
        Command::Return {
            reason: "非本社区辖区".into(),
        },
        &s.comm_handler,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Dispatched);
    assert_eq!(c.assigned_unit, Some(UnitId::new("street1")));
    // The street still sees the case; the other street does not.
    assert!(c.visible_to(&s.street_handler, &w.org));
    assert!(!c.visible_to(&s.street2_handler, &w.org));
}

#[test]
fn extensions_move_the_deadline_by_working_days_only_when_approved() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    let due = c.deadlines.clone().unwrap().resolve_due;
    run(
        &w,
        &mut c,
        Command::RequestExtension {
            working_days: 5,
            reason: "需多部门协调".into(),
        },
        &s.handler_a,
        at,
    )
    .unwrap();
    assert!(matches!(
        c.apply(
            &Command::RequestExtension {
                working_days: 2,
                reason: "x".into()
            },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Conflict {
            code: "extension_pending",
            ..
        })
    ));
    assert!(matches!(
        c.apply(
            &Command::ApproveExtension { comment: None },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Forbidden { .. })
    ));
    run(
        &w,
        &mut c,
        Command::DenyExtension {
            reason: "可以按期办结".into(),
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    assert_eq!(c.deadlines.clone().unwrap().resolve_due, due);
    run(
        &w,
        &mut c,
        Command::RequestExtension {
            working_days: 5,
            reason: "需多部门协调".into(),
        },
        &s.handler_a,
        at,
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::ApproveExtension { comment: None },
        &s.dispatcher,
        at,
    )
    .unwrap();
    // Due Thu 2 July 09:10; five working days on: Fri 3, Mon 6, Tue 7, Wed 8, Thu 9 July.
    assert_eq!(due, t("2026-07-02T09:10:00+08:00"));
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-07-09T09:10:00+08:00")
    );
    assert_eq!(c.extensions_granted, 1);
    assert!(matches!(
        c.apply(
            &Command::RequestExtension {
                working_days: 31,
                reason: "x".into()
            },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Invalid { .. })
    ));
}

#[test]
fn suspension_stops_the_clock() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    let due = c.deadlines.clone().unwrap().resolve_due;
    run(
        &w,
        &mut c,
        Command::Suspend {
            reason: "等待鉴定结论".into(),
        },
        &s.dispatcher,
        t("2026-06-11T09:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Suspended);
    assert!(matches!(
        c.apply(&Command::Contact { note: None }, &s.handler_a, at, &w.ctx()),
        Err(DomainError::WrongState { .. })
    ));
    // Suspended Thu 11 June 09:00 to Fri 12 June 09:00: one full working day (7 h) lost.
    run(
        &w,
        &mut c,
        Command::Resume { note: None },
        &s.dispatcher,
        t("2026-06-12T09:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Accepted);
    // Thu 09:00–12:00 (3 h) + 14:00–17:30 (3.5 h) + Fri 08:30–09:00 (0.5 h) = 7 h lost. From the
    // due time Thu 2 July 09:10: 2 h 50 to noon, 3 h 30 in the afternoon (6 h 20), the last 40 min
    // on Fri 3 July from 08:30.
    assert_eq!(due, t("2026-07-02T09:10:00+08:00"));
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-07-03T09:10:00+08:00")
    );
}

/// Deadlines below are worked out by hand from calendar/2026.toml, office hours 08:30–12:00 and
/// 14:00–17:30 (7 h a day) and the built-in policy (accept 2 working hours; resolve: inquiry 3,
/// request 5, complaint 15 working days), never with the calendar code under test.
fn dispatched_at(w: &Jurisdiction, kind: Kind, at: &str) -> Deadlines {
    let mut c = new_case(w, kind, t(at));
    run(w, &mut c, dispatch("deptA"), &staff().dispatcher, t(at)).unwrap();
    c.deadlines.expect("the clock starts at dispatch")
}

#[test]
fn deadlines_across_national_day_2026_count_the_make_up_days() {
    let w = world();
    // 中秋 Fri 25–Sun 27 Sep, 国庆 Thu 1–Wed 7 Oct; Sun 20 Sep and Sat 10 Oct are worked.
    // Complaint, Fri 18 Sep 10:00, 15 working days: Sun 20 (1), Mon 21–Thu 24 (2–5),
    // Mon 28–Wed 30 (6–8), Thu 8 Oct (9), Fri 9 (10), Sat 10 (11), Mon 12–Thu 15 (12–15).
    let d = dispatched_at(&w, Kind::Complaint, "2026-09-18T10:00:00+08:00");
    assert_eq!(d.resolve_due, t("2026-10-15T10:00:00+08:00"));
    // Request, Wed 30 Sep 16:30, the last afternoon before the holiday. Accept: 1 h to 17:30,
    // the second hour on Thu 8 Oct from 08:30. Resolve, 5 working days: Thu 8 (1), Fri 9 (2),
    // Sat 10 (3, make-up), Mon 12 (4), Tue 13 (5).
    let d = dispatched_at(&w, Kind::Request, "2026-09-30T16:30:00+08:00");
    assert_eq!(d.accept_due, t("2026-10-08T09:30:00+08:00"));
    assert_eq!(d.resolve_due, t("2026-10-13T16:30:00+08:00"));
}

#[test]
fn deadlines_across_the_2026_spring_festival() {
    let w = world();
    // 春节 rest Sun 15–Mon 23 Feb; Sat 14 Feb and Sat 28 Feb are worked.
    // Complaint, Fri 13 Feb 17:00. Accept: 30 min to 17:30, 1 h 30 on Sat 14 from 08:30.
    // Resolve, 15 working days: Sat 14 (1), Tue 24–Fri 27 (2–5), Sat 28 (6), Mon 2–Fri 6 Mar
    // (7–11), Mon 9–Thu 12 (12–15).
    let d = dispatched_at(&w, Kind::Complaint, "2026-02-13T17:00:00+08:00");
    assert_eq!(d.accept_due, t("2026-02-14T10:00:00+08:00"));
    assert_eq!(d.resolve_due, t("2026-03-12T17:00:00+08:00"));
    // Inquiry dispatched on the make-up Saturday itself, 16:00. Accept: 1 h 30 to 17:30, the
    // last 30 min after the nine days off, Tue 24 from 08:30. Resolve, 3 working days:
    // Tue 24, Wed 25, Thu 26.
    let d = dispatched_at(&w, Kind::Inquiry, "2026-02-14T16:00:00+08:00");
    assert_eq!(d.accept_due, t("2026-02-24T09:00:00+08:00"));
    assert_eq!(d.resolve_due, t("2026-02-26T16:00:00+08:00"));
}

#[test]
fn two_working_hours_to_accept_skip_lunch_nights_weekends_and_holidays() {
    let w = world();
    for (at, due, why) in [
        // Wed 10 June 2026.
        (
            "2026-06-10T10:00:00+08:00",
            "2026-06-10T12:00:00+08:00",
            "ends at noon",
        ),
        (
            "2026-06-10T11:00:00+08:00",
            "2026-06-10T15:00:00+08:00",
            "1 h + lunch + 1 h",
        ),
        (
            "2026-06-10T12:30:00+08:00",
            "2026-06-10T16:00:00+08:00",
            "from 14:00",
        ),
        (
            "2026-06-10T07:00:00+08:00",
            "2026-06-10T10:30:00+08:00",
            "from 08:30",
        ),
        (
            "2026-06-10T16:45:00+08:00",
            "2026-06-11T09:45:00+08:00",
            "45 min + night + 1 h 15",
        ),
        (
            "2026-06-10T20:00:00+08:00",
            "2026-06-11T10:30:00+08:00",
            "Thu from 08:30",
        ),
        // Fri 12 June: 30 min, then Monday.
        (
            "2026-06-12T17:00:00+08:00",
            "2026-06-15T10:00:00+08:00",
            "over the weekend",
        ),
        // Thu 18 June: 1 h 30, then 端午 (Fri 19–Sun 21), then 30 min on Monday.
        (
            "2026-06-18T16:00:00+08:00",
            "2026-06-22T09:00:00+08:00",
            "over 端午",
        ),
    ] {
        let d = dispatched_at(&w, Kind::Complaint, at);
        assert_eq!(d.accept_due, t(due), "dispatched {at}: {why}");
    }
}

#[test]
fn resume_moves_the_deadline_by_working_time_only() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    // Wed 10 June + 15 working days, 端午 Fri 19 June off: Thu 2 July 09:10.
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-07-02T09:10:00+08:00")
    );
    // Suspended over lunch only: no working time lost, the deadline stays.
    let suspend = || Command::Suspend {
        reason: "等待鉴定结论".into(),
    };
    run(
        &w,
        &mut c,
        suspend(),
        &s.dispatcher,
        t("2026-06-11T12:05:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Resume { note: None },
        &s.dispatcher,
        t("2026-06-11T13:55:00+08:00"),
    )
    .unwrap();
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-07-02T09:10:00+08:00")
    );
    // Suspended Thu 18 June 15:00, resumed Mon 22 June 10:00: Thu 15:00–17:30 (2 h 30), 端午 and
    // the weekend nothing, Mon 08:30–10:00 (1 h 30): 4 h lost. From Thu 2 July 09:10: 2 h 50 to
    // noon, the last 1 h 10 from 14:00.
    run(
        &w,
        &mut c,
        suspend(),
        &s.dispatcher,
        t("2026-06-18T15:00:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::Resume { note: None },
        &s.dispatcher,
        t("2026-06-22T10:00:00+08:00"),
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Accepted);
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-07-02T15:10:00+08:00")
    );
}

#[test]
fn an_extension_counts_working_days_across_labour_day_2026() {
    let (w, s) = (world(), staff());
    // Request, Thu 23 April 10:00, 5 working days: Fri 24, Mon 27–Thu 30 → Thu 30 April 10:00.
    let at = t("2026-04-23T10:00:00+08:00");
    let mut c = new_case(&w, Kind::Request, at);
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-04-30T10:00:00+08:00")
    );
    run(
        &w,
        &mut c,
        Command::Accept { note: None },
        &s.handler_a,
        t("2026-04-23T10:30:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::RequestExtension {
            working_days: 5,
            reason: "需多部门协调".into(),
        },
        &s.handler_a,
        t("2026-04-28T09:00:00+08:00"),
    )
    .unwrap();
    run(
        &w,
        &mut c,
        Command::ApproveExtension { comment: None },
        &s.dispatcher,
        t("2026-04-28T10:00:00+08:00"),
    )
    .unwrap();
    // 劳动节 Fri 1–Tue 5 May off, Sat 9 May worked: Wed 6 (1), Thu 7 (2), Fri 8 (3), Sat 9 (4),
    // Mon 11 (5).
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        t("2026-05-11T10:00:00+08:00")
    );
}

fn callback(satisfaction: Satisfaction, unit_at_fault: Option<bool>) -> Command {
    Command::Callback {
        resolved: satisfaction != Satisfaction::Unsatisfied,
        satisfaction,
        note: None,
        unit_at_fault,
    }
}

fn approve() -> Command {
    Command::Review {
        decision: ReviewDecision::Approve,
        comment: None,
    }
}

#[test]
fn unsatisfied_by_the_units_fault_reopens_once_then_the_second_rating_closes() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    let at = t("2026-06-12T10:00:00+08:00");
    run(&w, &mut c, approve(), &s.dispatcher, at).unwrap();
    // A dispatcher's reopen needs an unsatisfied callback first; closing needs a callback.
    assert!(matches!(
        c.apply(
            &Command::Reopen { reason: "x".into() },
            &s.dispatcher,
            at,
            &w.ctx()
        ),
        Err(DomainError::Conflict { .. })
    ));
    assert!(matches!(
        c.apply(&Command::Close { note: None }, &s.operator, at, &w.ctx()),
        Err(DomainError::Conflict {
            code: "callback_missing",
            ..
        })
    ));
    // 重办: reopened at once, with a full resolve period from now (request: 5 working days,
    // Fri 12 June 10:00 → 15, 16, 17, 18 June, (19 June 端午), 22 June 10:00).
    let evs = run(
        &w,
        &mut c,
        callback(Satisfaction::Unsatisfied, None),
        &s.operator,
        at,
    )
    .unwrap();
    assert!(
        matches!(evs.last(), Some(CaseEvent::Reopened { .. })),
        "{evs:?}"
    );
    assert_eq!(c.state, CaseState::InProgress);
    assert_eq!(c.reopen_count, 1);
    assert!(c.callback.is_none() && c.reply.is_none());
    run(&w, &mut c, reply(), &s.handler_a, at).unwrap();
    run(&w, &mut c, approve(), &s.dispatcher, at).unwrap();
    // The second rating closes the case, unsatisfied or not.
    run(
        &w,
        &mut c,
        callback(Satisfaction::Unsatisfied, None),
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
    assert_eq!(
        c.callback.as_ref().map(|c| c.satisfaction),
        Some(Satisfaction::Unsatisfied)
    );
    assert!(matches!(
        c.apply(
            &Command::Reopen {
                reason: "again".into()
            },
            &s.dispatcher,
            at,
            &w.ctx()
        ),
        Err(DomainError::WrongState { .. })
    ));
    // An inspector may reopen a closed case any time.
    run(
        &w,
        &mut c,
        Command::Reopen {
            reason: "督查发现未实际解决".into(),
        },
        &s.inspector,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::InProgress);
    assert_eq!(c.reopen_count, 2);
}

#[test]
fn unsatisfied_not_by_the_units_fault_closes() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    let at = t("2026-06-12T10:00:00+08:00");
    run(&w, &mut c, approve(), &s.dispatcher, at).unwrap();
    run(
        &w,
        &mut c,
        callback(Satisfaction::Unsatisfied, Some(false)),
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
    assert_eq!(c.reopen_count, 0);
}

#[test]
fn unreachable_is_an_outcome_only_after_the_last_attempt() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    let at = t("2026-06-12T10:00:00+08:00");
    run(&w, &mut c, approve(), &s.dispatcher, at).unwrap();
    for attempt in 1..=2 {
        let evs = run(
            &w,
            &mut c,
            callback(Satisfaction::Unreachable, None),
            &s.operator,
            at,
        )
        .unwrap();
        assert_eq!(
            evs,
            vec![CaseEvent::CallbackAttempted {
                attempt,
                note: None
            }]
        );
        assert_eq!(c.state, CaseState::AwaitingCallback);
        assert!(c.callback.is_none());
    }
    // The third (the policy's default) records "unreachable" and closes.
    run(
        &w,
        &mut c,
        callback(Satisfaction::Unreachable, None),
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
    assert_eq!(
        c.callback.as_ref().map(|c| c.satisfaction),
        Some(Satisfaction::Unreachable)
    );
}

#[test]
fn review_reject_needs_a_comment_and_returns_to_handling() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    let at = t("2026-06-12T10:00:00+08:00");
    assert!(matches!(
        c.apply(
            &Command::Review {
                decision: ReviewDecision::Reject,
                comment: None
            },
            &s.dispatcher,
            at,
            &w.ctx()
        ),
        Err(DomainError::Invalid { .. })
    ));
    assert!(matches!(
        c.apply(
            &Command::Review {
                decision: ReviewDecision::Approve,
                comment: None
            },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Forbidden { .. })
    ));
    run(
        &w,
        &mut c,
        Command::Review {
            decision: ReviewDecision::Reject,
            comment: Some("请补充现场照片".into()),
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::InProgress);
    assert!(matches!(
        c.apply(
            &Command::Reply {
                outcome: ReplyOutcome::Unresolvable,
                text: "暂无法解决".into(),
                reason: None
            },
            &s.handler_a,
            at,
            &w.ctx()
        ),
        Err(DomainError::Invalid {
            field: "reason",
            ..
        })
    ));
}

#[test]
fn merge_is_terminal_and_annotate_is_not_a_state_change() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    run(
        &w,
        &mut c,
        Command::Annotate {
            text: "重复来电".into(),
        },
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Received);
    assert!(matches!(
        c.apply(
            &Command::Annotate { text: "x".into() },
            &s.citizen,
            at,
            &w.ctx()
        ),
        Err(DomainError::Forbidden { .. })
    ));
    assert!(matches!(
        c.apply(
            &Command::Merge { into: "c1".into() },
            &s.dispatcher,
            at,
            &w.ctx()
        ),
        Err(DomainError::Invalid { .. })
    ));
    run(
        &w,
        &mut c,
        Command::Merge {
            into: "master".into(),
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Merged);
    assert!(matches!(
        c.apply(&dispatch("deptA"), &s.dispatcher, at, &w.ctx()),
        Err(DomainError::WrongState { .. })
    ));
    run(
        &w,
        &mut c,
        Command::Annotate {
            text: "已并入主工单".into(),
        },
        &s.leader,
        at,
    )
    .unwrap();
}

#[test]
fn intake_checks_fields_and_channels() {
    let (w, s) = (world(), staff());
    let mut d = draft(Kind::Complaint);
    d.title = "x".repeat(101);
    assert!(matches!(
        Case::intake("n".into(), d, &s.operator, &w.ctx()),
        Err(DomainError::Invalid { field: "title", .. })
    ));
    let mut d = draft(Kind::Complaint);
    d.reporter.phone = Some("call me".into());
    assert!(matches!(
        Case::intake("n".into(), d, &s.operator, &w.ctx()),
        Err(DomainError::Invalid {
            field: "reporter.phone",
            ..
        })
    ));
    let mut d = draft(Kind::Complaint);
    d.category = Some("nope".into());
    assert!(matches!(
        Case::intake("n".into(), d, &s.operator, &w.ctx()),
        Err(DomainError::Invalid {
            field: "category",
            ..
        })
    ));
    // Citizens report online, and their case remembers who they are.
    assert!(matches!(
        Case::intake("n".into(), draft(Kind::Complaint), &s.citizen, &w.ctx()),
        Err(DomainError::Forbidden { .. })
    ));
    let mut d = draft(Kind::Complaint);
    d.channel = Channel::Web;
    let ev = Case::intake("n".into(), d, &s.citizen, &w.ctx()).unwrap();
    let c = Case::from_received("x".into(), &ev, t("2026-06-10T09:00:00+08:00")).unwrap();
    assert!(c.visible_to(&s.citizen, &w.org));
    assert!(!c.visible_to(&actor("other", Role::Citizen, "county"), &w.org));
    // A grid worker's report is filed at his street.
    let g = actor("g", Role::GridWorker, "grid1");
    match Case::intake("n".into(), draft(Kind::Hazard), &g, &w.ctx()).unwrap() {
        CaseEvent::Received { intake_unit, .. } => assert_eq!(intake_unit, UnitId::new("street1")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_deadline_in_an_unloaded_year_is_refused_not_guessed() {
    let (w, s) = (world(), staff());
    let at = t("2026-12-28T09:00:00+08:00");
    let c = new_case(&w, Kind::Complaint, at);
    assert!(matches!(
        c.apply(&dispatch("deptA"), &s.dispatcher, at, &w.ctx()),
        Err(DomainError::Calendar(CalendarError::YearNotCovered(2027)))
    ));
}

/// The writer records a new case's first event from the case itself; the trail must hold exactly
/// what the owned event would have, or replay and hashes would disagree with older entries.
#[test]
fn received_ref_serializes_as_the_received_event() {
    let w = world();
    let s = staff();
    let mut d = draft(Kind::Complaint);
    d.address = Some("均州路 \"12\" 号\n后院".into());
    let ev = Case::intake("20260610000001".into(), d, &s.operator, &w.ctx()).unwrap();
    let c =
        Case::from_received_owned("x".into(), ev.clone(), t("2026-06-10T09:00:00+08:00")).unwrap();
    let borrowed = serde_json::to_string(&jiesu_domain::case::ReceivedRef::of(&c)).unwrap();
    assert_eq!(borrowed, serde_json::to_string(&ev).unwrap());
    assert_eq!(serde_json::from_str::<CaseEvent>(&borrowed).unwrap(), ev);
}

/// The projection stores cases as JSON without their empty fields; documents written before
/// that (with explicit nulls and empty lists) must still read back as the same case.
#[test]
fn a_case_document_round_trips_with_or_without_empty_fields() {
    let w = world();
    let s = staff();
    let ev = Case::intake(
        "20260610000001".into(),
        draft(Kind::Complaint),
        &s.operator,
        &w.ctx(),
    )
    .unwrap();
    let c = Case::from_received_owned("x".into(), ev, t("2026-06-10T09:00:00+08:00")).unwrap();
    let doc = serde_json::to_string(&c).unwrap();
    for k in [
        "assigned_unit",
        "co_units",
        "deadlines",
        "dispatched_at",
        "reply",
        "suspension",
    ] {
        assert!(!doc.contains(&format!("\"{k}\"")), "{k} in {doc}");
    }
    assert_eq!(serde_json::from_str::<Case>(&doc).unwrap(), c);
    let mut old = serde_json::to_value(&c).unwrap();
    for k in [
        "assigned_unit",
        "deadlines",
        "closed_at",
        "reply",
        "callback",
        "merged_into",
    ] {
        old[k] = serde_json::Value::Null;
    }
    old["co_units"] = serde_json::json!([]);
    assert_eq!(serde_json::from_value::<Case>(old).unwrap(), c);
    let mut dispatched = c.clone();
    run(
        &w,
        &mut dispatched,
        dispatch("deptA"),
        &s.dispatcher,
        t("2026-06-10T10:00:00+08:00"),
    )
    .unwrap();
    assert!(dispatched.deadlines.is_some() && dispatched.assigned_unit.is_some());
    let doc = serde_json::to_string(&dispatched).unwrap();
    assert_eq!(serde_json::from_str::<Case>(&doc).unwrap(), dispatched);
}

/// Numbers are the day and a six-digit sequence; imports read them back to raise the day's counter.
#[test]
fn case_numbers_read_back_as_day_and_sequence() {
    use jiesu_domain::case::{case_number, number_day, parse_case_number};
    let day = number_day(t("2026-10-01T23:59:00+08:00"));
    assert_eq!(day, "20261001");
    assert_eq!(case_number(&day, 42), "20261001000042");
    assert_eq!(parse_case_number("20261001000042"), Some(("20261001", 42)));
    assert_eq!(
        parse_case_number(&case_number(&day, 1_234_567)),
        Some(("20261001", 1_234_567))
    );
    assert_eq!(parse_case_number("2026100"), None);
    assert_eq!(parse_case_number("20261001abc"), None);
}

#[test]
fn allowed_commands_follow_role_scope_and_state() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:05:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, t("2026-06-10T09:00:00+08:00"));
    let allowed = |c: &Case, a: &Actor| c.allowed_commands(a, at, &w.ctx());
    let d = allowed(&c, &s.dispatcher);
    for name in ["dispatch", "answer_directly", "merge", "annotate"] {
        assert!(
            d.contains(&name),
            "dispatcher on a received case: {name} in {d:?}"
        );
    }
    for name in ["accept", "reply", "review", "callback"] {
        assert!(
            !d.contains(&name),
            "dispatcher on a received case: {name} in {d:?}"
        );
    }
    // Nothing yet for the department it has not reached.
    assert!(!allowed(&c, &s.handler_a).contains(&"accept"));
    run(&w, &mut c, dispatch("deptA"), &s.dispatcher, at).unwrap();
    let h = allowed(&c, &s.handler_a);
    assert!(h.contains(&"accept") && h.contains(&"return"), "{h:?}");
    assert!(!h.contains(&"dispatch") && !h.contains(&"contact"), "{h:?}");
    assert!(!allowed(&c, &s.dispatcher).contains(&"accept"));
    // Every command offered is one `apply` would take with real fields: accept goes through.
    run(&w, &mut c, Command::Accept { note: None }, &s.handler_a, at).unwrap();
    assert!(allowed(&c, &s.handler_a).contains(&"contact"));
}
