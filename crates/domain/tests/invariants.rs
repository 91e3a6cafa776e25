//! Property tests: no sequence of commands, by any actor, breaks the case's invariants, and the
//! case read back from its stored document decides every command as the case itself does.

mod common;

use common::*;
use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::supervision::{AppealDecision, SuperviseLevel, due_events};
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
        (any::<bool>(), sat, prop::option::of(any::<bool>())).prop_map(|(r, s, f)| {
            Command::Callback {
                unit_at_fault: f,
                resolved: r,
                satisfaction: s,
                note: None,
            }
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
        supervision_command(),
    ]
}

/// The supervision commands (吹哨报到, 督办, 催办, appeals), and dispatch with co-units.
fn supervision_command() -> impl Strategy<Value = Command> {
    let unit = || {
        prop::sample::select(vec![
            "deptA", "deptB", "street1", "comm1", "grid1", "street2", "county", "nowhere",
        ])
    };
    let card = prop::sample::select(vec!["Y1", "Y2", "Y3", "R1", "R2"]);
    prop_oneof![
        (unit(), prop::collection::vec(unit(), 0..3)).prop_map(|(u, co)| Command::Dispatch {
            unit: UnitId::new(u),
            co_units: co.into_iter().map(UnitId::new).collect(),
            note: None
        }),
        (prop::collection::vec(unit(), 0..3), unit()).prop_map(|(us, lead)| Command::Whistle {
            units: us.into_iter().map(UnitId::new).collect(),
            lead: UnitId::new(lead),
            note: None
        }),
        Just(Command::ReportIn { note: None }),
        Just(Command::RecordPart {
            text: "已配合".into()
        }),
        (
            prop::sample::select(SuperviseLevel::ALL.to_vec()),
            prop::option::of(-100i64..5000)
        )
            .prop_map(|(level, due)| Command::Supervise {
                level,
                note: "督办".into(),
                // Relative to the test's start: some in the past, most ahead.
                due: due.map(|m| t("2026-03-02T09:00:00+08:00") + chrono::Duration::minutes(m))
            }),
        Just(Command::Remind {
            note: "催办".into()
        }),
        card.clone().prop_map(|c| Command::Appeal {
            card: c.into(),
            reason: "情况特殊".into()
        }),
        (card, any::<bool>()).prop_map(|(c, up)| Command::DecideAppeal {
            card: c.into(),
            decision: if up {
                AppealDecision::Uphold
            } else {
                AppealDecision::Revoke
            },
            reason: "经核实".into()
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
        actor("sl", Role::Leader, "street1"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_command_sequence_breaks_an_invariant(
        steps in prop::collection::vec((any_command(), 0usize..14, 1i64..3000, any::<bool>()), 1..60)
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
                        // Its cards still count against their units, so they stay appealable.
                        let allowed = matches!(
                            cmd,
                            Command::Annotate { .. } | Command::Appeal { .. } | Command::DecideAppeal { .. }
                        );
                        prop_assert!(allowed, "a merged case only takes annotations and appeals");
                    }
                }
            }
            // The clock: what is due now fires once; asked again at once, nothing more.
            let fired = due_events(&case, now, &w.ctx(), &|_, _| 0);
            for e in &fired {
                case.evolve(e, now);
                trail.push((e.clone(), now));
            }
            let again = due_events(&case, now, &w.ctx(), &|_, _| 0);
            prop_assert!(again.is_empty(), "fired twice: {:?}", again);
            if let Some(next) = supervision::next_fire(&case, &w.ctx()) {
                prop_assert!(next > now, "next_fire {} is not after {}", next, now);
            }
            // Card ids are unique within the case; a summoned unit is summoned once.
            let mut ids: Vec<&str> = case.cards.iter().map(|c| c.id.as_str()).collect();
            ids.sort();
            ids.dedup();
            prop_assert_eq!(ids.len(), case.cards.len());
            let mut units: Vec<&UnitId> = case.summons.iter().map(|s| &s.unit).collect();
            units.sort();
            units.dedup();
            prop_assert_eq!(units.len(), case.summons.len());
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
