//! Property tests: no sequence of commands, by any actor, breaks the case's invariants, and the
//! case read back from its stored document decides every command as the case itself does.

mod common;

use common::*;
use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::*;
use proptest::prelude::*;

fn any_command() -> impl Strategy<Value = Command> {
    let unit = prop::sample::select(vec![
        "deptA", "deptB", "street1", "comm1", "grid1", "street2", "county",
    ]);
    let sat = prop::sample::select(vec![
        Satisfaction::Satisfied,
        Satisfaction::BasicallySatisfied,
        Satisfaction::Unsatisfied,
        Satisfaction::Unreachable,
    ]);
    let outcome = prop::sample::select(vec![
        ReplyOutcome::Resolved,
        ReplyOutcome::Explained,
        ReplyOutcome::Unresolvable,
    ]);
    prop_oneof![
        Just(Command::AnswerDirectly {
            answer: "已答复".into()
        }),
        unit.clone().prop_map(|u| Command::Dispatch {
            unit: UnitId::new(u),
            co_units: vec![],
            note: None
        }),
        unit.prop_map(|u| Command::Redispatch {
            unit: UnitId::new(u),
            note: None
        }),
        Just(Command::Accept { note: None }),
        Just(Command::Return {
            reason: "非本单位职责".into()
        }),
        Just(Command::Contact { note: None }),
        (outcome, any::<bool>()).prop_map(|(o, r)| Command::Reply {
            outcome: o,
            text: "已处理".into(),
            reason: r.then(|| "历史遗留".into())
        }),
        any::<bool>().prop_map(|a| Command::Review {
            decision: if a {
                ReviewDecision::Approve
            } else {
                ReviewDecision::Reject
            },
            comment: Some("意见".into())
        }),
        (any::<bool>(), sat).prop_map(|(r, s)| Command::Callback {
            unit_at_fault: None,
            resolved: r,
            satisfaction: s,
            note: None
        }),
        Just(Command::Close { note: None }),
        Just(Command::Reopen {
            reason: "不满意".into()
        }),
        (1u32..40).prop_map(|d| Command::RequestExtension {
            working_days: d,
            reason: "协调".into()
        }),
        Just(Command::ApproveExtension { comment: None }),
        Just(Command::DenyExtension {
            reason: "不予延期".into()
        }),
        Just(Command::Suspend {
            reason: "等待鉴定".into()
        }),
        Just(Command::Resume { note: None }),
        Just(Command::Merge {
            into: "other".into()
        }),
        Just(Command::Annotate {
            text: "备注".into()
        }),
    ]
}

fn actors() -> Vec<Actor> {
    let s = staff();
    vec![
        s.operator,
        s.dispatcher,
        s.handler_a,
        s.handler_b,
        s.street_handler,
        s.comm_handler,
        s.street2_handler,
        s.inspector,
        s.leader,
        s.citizen,
        s.admin,
        actor("g", Role::GridWorker, "grid1"),
        actor("sd", Role::Dispatcher, "street1"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_command_sequence_breaks_an_invariant(
        steps in prop::collection::vec((any_command(), 0usize..13, 1i64..3000, any::<bool>()), 1..60)
    ) {
        let w = world();
        let people = actors();
        let mut now = t("2026-03-02T09:00:00+08:00");
        let mut case = new_case(&w, Kind::Complaint, now);
        let mut trail: Vec<(CaseEvent, Time)> = vec![(
            Case::intake("20260610000001".into(), draft(Kind::Complaint), &staff().operator, &w.ctx()).unwrap(),
            now,
        )];
        for (cmd, who, minutes, seek) in steps {
            now += chrono::Duration::minutes(minutes);
            let before = case.clone();
            // Half the steps look for an actor who may give the command, so runs reach deep states.
            let who = if seek {
                (0..people.len())
                    .map(|i| (who + i) % people.len())
                    .find(|i| case.apply(&cmd, &people[*i], now, &w.ctx()).is_ok())
                    .unwrap_or(who)
            } else {
                who
            };
            let decision = case.apply(&cmd, &people[who], now, &w.ctx());
            // The writer does not decide on this value but on the case it reads back from the
            // projection's document: the two must be the same case and decide alike. (`apply`
            // takes `&self`, so whether a refusal changes nothing is tested where it can break,
            // through the store: crates/store/tests/refusals.rs.)
            let doc = serde_json::to_string(&case).unwrap();
            let loaded: Case = serde_json::from_str(&doc).unwrap();
            prop_assert_eq!(&loaded, &case, "the document {} reads back differently", doc);
            prop_assert_eq!(&loaded.apply(&cmd, &people[who], now, &w.ctx()), &decision);
            match decision {
                Err(_) => {}
                Ok(events) => {
                    prop_assert!(!events.is_empty());
                    for e in &events {
                        let due_before = case.deadlines.as_ref().map(|d| d.resolve_due);
                        case.evolve(e, now);
                        trail.push((e.clone(), now));
                        let due_after = case.deadlines.as_ref().map(|d| d.resolve_due);
                        if due_before != due_after {
                            // The resolve deadline moves only when the clock starts or by rule.
                            prop_assert!(matches!(
                                e,
                                CaseEvent::Dispatched { .. } | CaseEvent::ExtensionApproved { .. }
                                    | CaseEvent::Resumed { .. } | CaseEvent::Reopened { .. }
                            ), "deadline moved by {:?}", e.type_name());
                        }
                    }
                    prop_assert_eq!(case.version, before.version + events.len() as u64);
                    if before.state == CaseState::Merged {
                        let annotate = matches!(cmd, Command::Annotate { .. });
                        prop_assert!(annotate, "a merged case only takes annotations");
                    }
                }
            }
            // A closed case has a callback or a direct answer.
            if case.state == CaseState::Closed {
                prop_assert!(case.callback.is_some() || case.direct_answer.is_some());
            }
            // A case being handled has a unit handling it.
            if matches!(case.state, CaseState::Dispatched | CaseState::Accepted | CaseState::InProgress | CaseState::Replied | CaseState::AwaitingCallback) {
                prop_assert!(case.assigned_unit.is_some());
                prop_assert!(case.deadlines.is_some());
            }
            if matches!(case.state, CaseState::InProgress | CaseState::Replied | CaseState::AwaitingCallback) {
                prop_assert!(case.accepted_at.is_some() && case.contacted_at.is_some());
            }
            if let Some(u) = &case.assigned_unit {
                prop_assert!(w.org.contains(u));
            }
            prop_assert!(case.reopen_count <= 1 || case.state != CaseState::Received);
        }
        // Replaying the trail rebuilds exactly the same case: the trail is the truth.
        let replayed = Case::replay(case.id.clone(), trail.iter().map(|(e, t)| (e, *t))).unwrap();
        prop_assert_eq!(replayed, case);
    }
}

#[test]
fn events_serialize_round_trip() {
    let (w, s) = (world(), staff());
    let at = t("2026-06-10T09:10:00+08:00");
    let mut c = new_case(&w, Kind::Complaint, at);
    let evs = run(
        &w,
        &mut c,
        Command::Dispatch {
            unit: UnitId::new("deptA"),
            co_units: vec![UnitId::new("deptB")],
            note: None,
        },
        &s.dispatcher,
        at,
    )
    .unwrap();
    for e in evs {
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"type\":\"dispatched\""));
        let back: CaseEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
    }
}
