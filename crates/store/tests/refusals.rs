//! A refused command writes nothing, on both backends. The claim is tested where it can break: the
//! writer loads the case from its projection, runs `Case::apply`, and only then appends. Every
//! refusal here goes through `Store::command`, and afterwards every row of `case_events` (all
//! columns, hashes included), every row of the `cases` projection (the document byte for byte),
//! the global chain head and the day counters are exactly what they were, and `verify` passes.
//!
//! The refusals are a hand-written table (role, scope, state, fields, the writer's own checks)
//! sent one by one, then every command × actor × case that the domain refuses, sent all at once
//! so the writer batches them.

// The domain tests' county, staff and draft, so both crates test the same small world.
mod world;

use std::sync::Arc;

use jiesu_domain::case::{ReplyOutcome, ReviewDecision, Satisfaction};
use jiesu_domain::*;
use jiesu_store::{Store, StoreError};
use sqlx::{Connection, Row};
use world::common::{Staff, actor, dispatch, draft, reply, staff, t};

/// The domain tests' staff, and a few more: a street dispatcher, a second citizen, a grid worker.
struct People {
    s: Staff,
    street_dispatcher: Actor,
    other_citizen: Actor,
    grid: Actor,
}

fn people() -> People {
    People {
        s: staff(),
        street_dispatcher: actor("sd", Role::Dispatcher, "street1"),
        other_citizen: actor("cit2", Role::Citizen, "county"),
        grid: actor("g", Role::GridWorker, "grid1"),
    }
}

impl People {
    fn all(&self) -> Vec<&Actor> {
        let s = &self.s;
        vec![
            &s.operator,
            &s.dispatcher,
            &s.handler_a,
            &s.handler_b,
            &s.street_handler,
            &s.comm_handler,
            &s.street2_handler,
            &s.inspector,
            &s.leader,
            &s.citizen,
            &s.admin,
            &self.street_dispatcher,
            &self.other_citizen,
            &self.grid,
        ]
    }
}

/// Stores the domain tests' county and its 2025–2026 calendar, and loads it back as the server does.
async fn setup(store: &Store) -> Arc<Jurisdiction> {
    world::install(store, None).await
}

fn draft_on(kind: Kind, channel: Channel) -> CaseDraft {
    CaseDraft {
        channel,
        ..draft(kind)
    }
}

/// The cases, by name, each in another state; built through the store like any other.
struct Cases(Vec<(&'static str, String)>);

impl Cases {
    fn id(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, id)| id.as_str())
            .expect("a case of that name")
    }
}

async fn make_cases(store: &Store, juris: &Arc<Jurisdiction>, p: &People) -> Cases {
    let at = t("2026-06-10T09:00:00+08:00");
    let later = t("2026-06-10T09:30:00+08:00");
    // (name, kind, reporter, the steps after intake)
    type Steps = Vec<(Command, Actor)>;
    let to_accepted = |mut extra: Steps| {
        let mut v = vec![
            (dispatch("deptA"), p.s.dispatcher.clone()),
            (Command::Accept { note: None }, p.s.handler_a.clone()),
        ];
        v.append(&mut extra);
        v
    };
    let contact = (Command::Contact { note: None }, p.s.handler_a.clone());
    let approve = (
        Command::Review {
            decision: ReviewDecision::Approve,
            comment: None,
        },
        p.s.dispatcher.clone(),
    );
    let plan: Vec<(&'static str, Kind, &Actor, Steps)> = vec![
        ("received", Kind::Complaint, &p.s.operator, vec![]),
        (
            "dispatched",
            Kind::Complaint,
            &p.s.operator,
            vec![(dispatch("deptA"), p.s.dispatcher.clone())],
        ),
        (
            "accepted",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![]),
        ),
        (
            "in_progress",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![contact.clone()]),
        ),
        (
            "extension_pending",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![
                contact.clone(),
                (
                    Command::RequestExtension {
                        working_days: 5,
                        reason: "需多部门协调".into(),
                    },
                    p.s.handler_a.clone(),
                ),
            ]),
        ),
        (
            "replied",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![contact.clone(), (reply(), p.s.handler_a.clone())]),
        ),
        (
            "awaiting_callback",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![
                contact.clone(),
                (reply(), p.s.handler_a.clone()),
                approve.clone(),
            ]),
        ),
        (
            "closed",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![
                contact.clone(),
                (reply(), p.s.handler_a.clone()),
                approve.clone(),
                (
                    Command::Callback {
                        unit_at_fault: None,
                        resolved: true,
                        satisfaction: Satisfaction::Satisfied,
                        note: None,
                    },
                    p.s.operator.clone(),
                ),
            ]),
        ),
        (
            "suspended",
            Kind::Complaint,
            &p.s.operator,
            to_accepted(vec![(
                Command::Suspend {
                    reason: "等待鉴定".into(),
                },
                p.s.dispatcher.clone(),
            )]),
        ),
        (
            "answered",
            Kind::Inquiry,
            &p.s.operator,
            vec![(
                Command::AnswerDirectly {
                    answer: "已告知办理流程".into(),
                },
                p.s.operator.clone(),
            )],
        ),
        (
            "at_community",
            Kind::Complaint,
            &p.s.operator,
            vec![
                (dispatch("street1"), p.s.dispatcher.clone()),
                (
                    Command::Redispatch {
                        unit: UnitId::new("comm1"),
                        note: None,
                    },
                    p.s.street_handler.clone(),
                ),
            ],
        ),
        ("citizens", Kind::Complaint, &p.s.citizen, vec![]),
    ];
    let mut cases = Vec::new();
    for (name, kind, reporter, steps) in plan {
        let channel = if reporter.grants[0].role == Role::Citizen {
            Channel::Web
        } else {
            Channel::Hotline
        };
        let (case, created) = store
            .intake(juris.clone(), draft_on(kind, channel), reporter, at, None)
            .await
            .expect("intake");
        assert!(created);
        for (cmd, who) in steps {
            store
                .command(juris.clone(), &case.id, cmd, &who, later)
                .await
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        cases.push((name, case.id));
    }
    // A merged case, merged into the first.
    let (case, _) = store
        .intake(
            juris.clone(),
            draft_on(Kind::Complaint, Channel::Hotline),
            &p.s.operator,
            at,
            None,
        )
        .await
        .expect("intake");
    let into = cases[0].1.clone();
    store
        .command(
            juris.clone(),
            &case.id,
            Command::Merge { into },
            &p.s.dispatcher,
            later,
        )
        .await
        .expect("merge");
    cases.push(("merged", case.id));
    Cases(cases)
}

/// Every row the claim is about, every column as text (NULL as None).
struct Snapshot {
    events: Vec<Vec<Option<String>>>,
    cases: Vec<Vec<Option<String>>>,
    head: Vec<Vec<Option<String>>>,
    numbers: Vec<Vec<Option<String>>>,
}

/// Reads `table`'s columns in order; a column named with a leading `#` is an integer.
async fn rows(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    cols: &[&str],
    order: &str,
) -> Vec<Vec<Option<String>>> {
    let names: Vec<&str> = cols.iter().map(|c| c.trim_start_matches('#')).collect();
    let sql = format!("SELECT {} FROM {table} ORDER BY {order}", names.join(", "));
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .fetch_all(conn)
        .await
        .expect("snapshot query")
        .iter()
        .map(|r| {
            cols.iter()
                .enumerate()
                .map(|(i, c)| {
                    if c.starts_with('#') {
                        r.try_get::<Option<i64>, _>(i)
                            .expect("an integer column")
                            .map(|v| v.to_string())
                    } else {
                        r.try_get::<Option<String>, _>(i).expect("a text column")
                    }
                })
                .collect()
        })
        .collect()
}

/// Fails on the first row that differs, naming its table, instead of printing both snapshots.
fn assert_unchanged(before: &Snapshot, after: &Snapshot, when: &str) {
    for (table, b, a) in [
        ("case_events", &before.events, &after.events),
        ("cases", &before.cases, &after.cases),
        ("chain_head", &before.head, &after.head),
        ("case_numbers", &before.numbers, &after.numbers),
    ] {
        for (i, (rb, ra)) in b.iter().zip(a.iter()).enumerate() {
            assert_eq!(rb, ra, "{when}: {table} row {i} changed");
        }
        assert_eq!(
            b.len(),
            a.len(),
            "{when}: {table} has another number of rows"
        );
    }
}

async fn snapshot(url: &str) -> Snapshot {
    let mut conn = sqlx::AnyConnection::connect(url)
        .await
        .expect("a second connection");
    let s = Snapshot {
        events: rows(
            &mut conn,
            "case_events",
            &[
                "#global_seq",
                "case_id",
                "#seq",
                "type",
                "actor_id",
                "actor_name",
                "actor_role",
                "#at",
                "data",
                "prev_hash",
                "hash",
                "global_hash",
            ],
            "global_seq",
        )
        .await,
        cases: rows(
            &mut conn,
            "cases",
            &[
                "id",
                "number",
                "state",
                "kind",
                "channel",
                "urgency",
                "category_id",
                "title",
                "intake_unit",
                "intake_path",
                "assigned_unit",
                "scope_path",
                "waiting_on",
                "#is_open",
                "#next_due",
                "#resolve_due",
                "reporter_user",
                "#created_at",
                "#updated_at",
                "#version",
                "last_hash",
                "idempotency_key",
                "idempotency_fingerprint",
                "doc",
            ],
            "id",
        )
        .await,
        head: rows(
            &mut conn,
            "chain_head",
            &["#id", "#global_seq", "global_hash"],
            "id",
        )
        .await,
        numbers: rows(&mut conn, "case_numbers", &["day", "#last"], "day").await,
    };
    conn.close().await.expect("close");
    s
}

/// Commands of every kind, including ones whose fields are wrong.
fn commands(cases: &Cases) -> Vec<Command> {
    let mut v = Vec::new();
    for u in [
        "deptA", "deptB", "street1", "comm1", "grid1", "street2", "county", "nowhere",
    ] {
        v.push(dispatch(u));
        v.push(Command::Redispatch {
            unit: UnitId::new(u),
            note: None,
        });
    }
    v.extend([
        Command::Dispatch {
            unit: UnitId::new("deptA"),
            co_units: vec![UnitId::new("deptA")],
            note: None,
        },
        Command::AnswerDirectly {
            answer: "已答复".into(),
        },
        Command::AnswerDirectly { answer: " ".into() },
        Command::Accept { note: None },
        Command::Accept {
            note: Some("长".repeat(10_000)),
        },
        Command::Return {
            reason: "非本单位职责".into(),
        },
        Command::Return { reason: " ".into() },
        Command::Contact { note: None },
        reply(),
        Command::Reply {
            outcome: ReplyOutcome::Unresolvable,
            text: "暂无法解决".into(),
            reason: None,
        },
        Command::Reply {
            outcome: ReplyOutcome::Resolved,
            text: String::new(),
            reason: None,
        },
        Command::Review {
            decision: ReviewDecision::Approve,
            comment: None,
        },
        Command::Review {
            decision: ReviewDecision::Reject,
            comment: None,
        },
        Command::Callback {
            unit_at_fault: None,
            resolved: true,
            satisfaction: Satisfaction::Satisfied,
            note: None,
        },
        Command::Callback {
            unit_at_fault: None,
            resolved: false,
            satisfaction: Satisfaction::Unsatisfied,
            note: None,
        },
        Command::Close { note: None },
        Command::Reopen {
            reason: "不满意".into(),
        },
        Command::Reopen { reason: " ".into() },
        Command::RequestExtension {
            working_days: 5,
            reason: "协调".into(),
        },
        Command::RequestExtension {
            working_days: 0,
            reason: "协调".into(),
        },
        Command::RequestExtension {
            working_days: 31,
            reason: "协调".into(),
        },
        Command::ApproveExtension { comment: None },
        Command::DenyExtension {
            reason: "不予延期".into(),
        },
        Command::Suspend {
            reason: "等待鉴定".into(),
        },
        Command::Suspend { reason: " ".into() },
        Command::Resume { note: None },
        Command::Annotate {
            text: "备注".into(),
        },
        Command::Annotate {
            text: String::new(),
        },
    ]);
    for (_, id) in &cases.0 {
        v.push(Command::Merge { into: id.clone() });
    }
    v
}

#[derive(Debug)]
enum Expected {
    NotFound,
    Same(DomainError),
    AnyRefusal,
}

fn is_forbidden(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::Forbidden { .. }))
}
fn is_wrong_state(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::WrongState { .. }))
}
fn is_invalid(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::Invalid { .. }))
}
fn is_unknown(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::Unknown { .. }))
}
fn is_conflict(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::Conflict { .. }))
}
fn is_not_found(e: &StoreError) -> bool {
    matches!(e, StoreError::NotFound)
}
fn is_calendar(e: &StoreError) -> bool {
    matches!(e, StoreError::Domain(DomainError::Calendar(_)))
}

async fn refusals_write_nothing(store: Store, url: &str) {
    let juris = setup(&store).await;
    let p = people();
    let cases = make_cases(&store, &juris, &p).await;
    let before = snapshot(url).await;
    let report = store.verify().await.expect("verify");
    assert_eq!(report.first_broken, None);
    assert!(before.events.len() > 40, "{}", before.events.len());
    assert_eq!(before.cases.len(), cases.0.len());

    let now = t("2026-06-12T10:00:00+08:00");
    type Check = fn(&StoreError) -> bool;
    // One by one, each in its own transaction, with the refusal it must get.
    let table: Vec<(&str, &str, Command, &Actor, Time, Check)> = vec![
        // Role.
        (
            "received",
            "handler dispatches",
            dispatch("deptA"),
            &p.s.handler_a,
            now,
            // deptA's handler cannot see a case still at the county: it does not exist for him.
            is_not_found,
        ),
        (
            "dispatched",
            "admin accepts",
            Command::Accept { note: None },
            &p.s.admin,
            now,
            is_not_found, // not a reader of cases: the case does not exist for him
        ),
        (
            "replied",
            "handler approves own reply",
            Command::Review {
                decision: ReviewDecision::Approve,
                comment: None,
            },
            &p.s.handler_a,
            now,
            is_forbidden,
        ),
        (
            "extension_pending",
            "handler approves own extension",
            Command::ApproveExtension { comment: None },
            &p.s.handler_a,
            now,
            is_forbidden,
        ),
        // Scope.
        (
            "dispatched",
            "other department accepts",
            Command::Accept { note: None },
            &p.s.handler_b,
            now,
            is_not_found, // outside his scope: no such case
        ),
        (
            "received",
            "street dispatcher dispatches to a department",
            dispatch("deptA"),
            &p.street_dispatcher,
            now,
            is_not_found, // a county case is outside the street: no such case
        ),
        (
            "at_community",
            "redispatch sideways",
            Command::Redispatch {
                unit: UnitId::new("street2"),
                note: None,
            },
            &p.s.comm_handler,
            now,
            is_forbidden,
        ),
        (
            "received",
            "another citizen's case does not exist",
            Command::Annotate { text: "x".into() },
            &p.other_citizen,
            now,
            is_not_found,
        ),
        // State.
        (
            "dispatched",
            "dispatch twice",
            dispatch("deptB"),
            &p.s.dispatcher,
            now,
            is_wrong_state,
        ),
        (
            "accepted",
            "reply before contact",
            reply(),
            &p.s.handler_a,
            now,
            is_wrong_state,
        ),
        (
            "suspended",
            "contact while suspended",
            Command::Contact { note: None },
            &p.s.handler_a,
            now,
            is_wrong_state,
        ),
        (
            "merged",
            "dispatch a merged case",
            dispatch("deptA"),
            &p.s.dispatcher,
            now,
            is_wrong_state,
        ),
        (
            "closed",
            "accept a closed case",
            Command::Accept { note: None },
            &p.s.handler_a,
            now,
            is_wrong_state,
        ),
        (
            "awaiting_callback",
            "close without callback",
            Command::Close { note: None },
            &p.s.operator,
            now,
            is_conflict,
        ),
        (
            "extension_pending",
            "second extension while one is pending",
            Command::RequestExtension {
                working_days: 2,
                reason: "x".into(),
            },
            &p.s.handler_a,
            now,
            is_conflict,
        ),
        // Fields.
        (
            "received",
            "unknown unit",
            dispatch("nowhere"),
            &p.s.dispatcher,
            now,
            is_invalid,
        ),
        (
            "dispatched",
            "blank return reason",
            Command::Return { reason: " ".into() },
            &p.s.handler_a,
            now,
            is_invalid,
        ),
        (
            "replied",
            "reject without comment",
            Command::Review {
                decision: ReviewDecision::Reject,
                comment: None,
            },
            &p.s.dispatcher,
            now,
            is_invalid,
        ),
        (
            "in_progress",
            "extension too long",
            Command::RequestExtension {
                working_days: 31,
                reason: "x".into(),
            },
            &p.s.handler_a,
            now,
            is_invalid,
        ),
        // The calendar: a deadline in a year without data is refused, not guessed (the store
        // fills provisional years only two years past today, so 2040 has none).
        (
            "received",
            "dispatch into 2040",
            dispatch("deptA"),
            &p.s.dispatcher,
            t("2040-03-01T09:00:00+08:00"),
            is_calendar,
        ),
        // The writer's own checks, before the domain's.
        (
            "received",
            "merge into no case",
            Command::Merge {
                into: "nowhere".into(),
            },
            &p.s.dispatcher,
            now,
            is_unknown,
        ),
        (
            "received",
            "merge into a merged case",
            Command::Merge {
                into: cases.id("merged").into(),
            },
            &p.s.dispatcher,
            now,
            is_conflict,
        ),
    ];
    let mut wrong = Vec::new();
    for (case, what, cmd, who, at, check) in table {
        let r = store
            .command(juris.clone(), cases.id(case), cmd, who, at)
            .await;
        match r {
            Err(e) if check(&e) => {}
            other => wrong.push(format!("{case}: {what}: got {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    let r = store
        .command(
            juris.clone(),
            "no-such-case",
            Command::Contact { note: None },
            &p.s.handler_a,
            now,
        )
        .await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    assert_unchanged(&before, &snapshot(url).await, "after the table of refusals");

    // Every command × actor × case the domain refuses, all in flight at once so the writer takes
    // them in batches; each must be refused the way the domain refuses it.
    let mut jobs = tokio::task::JoinSet::new();
    let mut sent = 0;
    for (name, id) in &cases.0 {
        let case = store
            .get_case(id)
            .await
            .expect("read")
            .expect("the case exists");
        for cmd in commands(&cases) {
            for who in p.all() {
                let Err(refusal) = case.apply(&cmd, who, now, &juris.ctx()) else {
                    continue;
                };
                // A case the actor cannot read does not exist for him (staff and citizens
                // alike). A merge target is checked by the writer after the domain's role and
                // state checks, so its refusal may be the target's.
                let merge_into_merged =
                    matches!(&cmd, Command::Merge { into } if into == cases.id("merged"));
                let expected = if !case.visible_to(who, &juris.org) {
                    Expected::NotFound
                } else if merge_into_merged {
                    Expected::AnyRefusal
                } else {
                    Expected::Same(refusal)
                };
                let (store, juris, id, who, name, cmd) = (
                    store.clone(),
                    juris.clone(),
                    id.clone(),
                    who.clone(),
                    *name,
                    cmd.clone(),
                );
                sent += 1;
                jobs.spawn(async move {
                    let r = store.command(juris, &id, cmd.clone(), &who, now).await;
                    let ok = match (&r, &expected) {
                        (Err(StoreError::NotFound), Expected::NotFound) => true,
                        (Err(StoreError::Domain(e)), Expected::Same(x)) => e == x,
                        (Err(StoreError::Domain(_)), Expected::AnyRefusal) => true,
                        _ => false,
                    };
                    assert!(
                        ok,
                        "{name}: {cmd:?} by {}: expected {expected:?}, got {r:?}",
                        who.username
                    );
                });
            }
        }
    }
    while let Some(done) = jobs.join_next().await {
        done.expect("a refusal as the domain gives it");
    }
    assert!(sent > 3000, "only {sent} refusals");
    assert_unchanged(
        &before,
        &snapshot(url).await,
        &format!("after {sent} refusals"),
    );
    let after = store.verify().await.expect("verify");
    assert_eq!(after.first_broken, None);
    assert_eq!((after.events, after.cases), (report.events, report.cases));
    store.close().await;
}

#[tokio::test]
async fn sqlite_refused_commands_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::open(&url).await.expect("open");
    refusals_write_nothing(store, &url).await;
}

#[tokio::test]
async fn postgres_refused_commands_write_nothing() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_refusals").await else {
        return;
    };
    let store = Store::open(&url).await.expect("open");
    refusals_write_nothing(store, &url).await;
}
