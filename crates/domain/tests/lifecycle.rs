//! Every path of the case lifecycle in the pure domain, refusals included.

mod common;

use common::*;
use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::*;

fn dispatch(unit: &str) -> Command {
    Command::Dispatch {
        unit: UnitId::new(unit),
        co_units: vec![],
        note: None,
    }
}

fn reply() -> Command {
    Command::Reply {
        outcome: ReplyOutcome::Resolved,
        text: "已清理".into(),
        reason: None,
    }
}

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
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        w.calendar.add_working_days(due, 5).unwrap()
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
    assert_eq!(
        c.deadlines.clone().unwrap().resolve_due,
        w.calendar.add_working_hours(due, 7).unwrap()
    );
}

#[test]
fn unsatisfied_callback_allows_one_reopen_then_inspector_only() {
    let (w, s) = (world(), staff());
    let mut c = to_replied(&w, &s);
    let at = t("2026-06-12T10:00:00+08:00");
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
    // Reopen needs an unsatisfied callback first.
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
    run(
        &w,
        &mut c,
        Command::Callback {
            resolved: false,
            satisfaction: Satisfaction::Unsatisfied,
            note: None,
        },
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::AwaitingCallback);
    run(
        &w,
        &mut c,
        Command::Reopen {
            reason: "诉求人不满意".into(),
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::InProgress);
    assert!(c.callback.is_none() && c.reply.is_none());
    run(&w, &mut c, reply(), &s.handler_a, at).unwrap();
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
        Command::Callback {
            resolved: false,
            satisfaction: Satisfaction::Unsatisfied,
            note: None,
        },
        &s.operator,
        at,
    )
    .unwrap();
    assert!(matches!(
        c.apply(
            &Command::Reopen {
                reason: "again".into()
            },
            &s.dispatcher,
            at,
            &w.ctx()
        ),
        Err(DomainError::Conflict {
            code: "reopen_limit",
            ..
        })
    ));
    run(
        &w,
        &mut c,
        Command::Close {
            note: Some("已做好解释".into()),
        },
        &s.operator,
        at,
    )
    .unwrap();
    assert_eq!(c.state, CaseState::Closed);
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
