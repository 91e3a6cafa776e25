//! Case lists select exactly what `Case::visible_to` and the filter allow, whichever way the store
//! reads them (the scope's readers or one filter's index), on both backends; and migration 0011's
//! backfill derives the same readers as the writer does.
//!
//! Every list is checked against the answer worked out in Rust from every case: the same items in
//! the same order, through one page, through numbered pages and through the cursor, and the same
//! count.

mod world;

use std::collections::BTreeSet;
use std::sync::Arc;

use jiesu_domain::*;
use jiesu_store::{CaseFilter, Store};
use sqlx::{Connection, Row};
use world::common::{actor, dispatch, draft, reply, staff, t};

fn category(id: &str, parent: Option<&str>) -> Category {
    Category {
        id: id.into(),
        parent: parent.map(str::to_string),
        name: id.into(),
        name_en: id.into(),
        default_kind: None,
        default_unit: None,
    }
}

async fn setup(store: &Store) -> Arc<Jurisdiction> {
    world::install(
        store,
        Some(&[
            category("urban", None),
            category("urban.noise", Some("urban")),
            category("urban.noise.night", Some("urban.noise")),
            // Shares a prefix with "urban" but is not below it.
            category("urbanism", None),
            category("water", None),
        ]),
    )
    .await
}

/// Sixty cases, a minute apart, that differ in channel, category, reporter and history: held
/// by a department, a street, a community; with a co-unit summoned; moved on; answered; closed.
async fn make_cases(store: &Store, juris: &Arc<Jurisdiction>) -> Vec<Case> {
    let s = staff();
    let other_citizen = actor("cit2", Role::Citizen, "county");
    let cats = [
        Some("urban"),
        Some("urban.noise"),
        Some("urban.noise.night"),
        Some("urbanism"),
        Some("water"),
        None,
    ];
    let start = t("2026-06-01T09:00:00+08:00");
    let mut ids = Vec::new();
    for i in 0..60i64 {
        let at = start + chrono::Duration::minutes(i * 37);
        let reporter = match i % 5 {
            0 => &s.citizen,
            3 => &other_citizen,
            _ => &s.operator,
        };
        let mut d = draft(if i % 11 == 4 {
            Kind::Inquiry
        } else {
            Kind::Complaint
        });
        d.channel = match (reporter.grants[0].role, i % 3) {
            (Role::Citizen, _) => Channel::Web,
            (_, 0) => Channel::Mobile,
            _ => Channel::Hotline,
        };
        d.category = cats[(i % 6) as usize].map(str::to_string);
        let (case, _) = store
            .intake(juris.clone(), d, reporter, at, None)
            .await
            .expect("intake");
        let later = at + chrono::Duration::minutes(5);
        let steps: Vec<(Command, &Actor)> = match i % 8 {
            0 => vec![],
            1 => vec![(dispatch("deptA"), &s.dispatcher)],
            2 => vec![
                (dispatch("deptB"), &s.dispatcher),
                (Command::Accept { note: None }, &s.handler_b),
            ],
            3 => vec![
                (dispatch("street1"), &s.dispatcher),
                (
                    Command::Redispatch {
                        unit: UnitId::new("comm1"),
                        note: None,
                    },
                    &s.street_handler,
                ),
            ],
            // 吹哨报到: deptB is summoned beside deptA.
            4 if i % 11 != 4 => vec![(
                Command::Dispatch {
                    unit: UnitId::new("deptA"),
                    co_units: vec![UnitId::new("deptB")],
                    note: None,
                },
                &s.dispatcher,
            )],
            5 => vec![
                (dispatch("deptA"), &s.dispatcher),
                (Command::Accept { note: None }, &s.handler_a),
                (Command::Contact { note: None }, &s.handler_a),
                (reply(), &s.handler_a),
            ],
            6 => vec![
                (dispatch("street2"), &s.dispatcher),
                (
                    Command::Return {
                        reason: "不属本街道".into(),
                    },
                    &s.street2_handler,
                ),
            ],
            _ if i % 11 == 4 => vec![(
                Command::AnswerDirectly {
                    answer: "已告知".into(),
                },
                &s.operator,
            )],
            _ => vec![(dispatch("street1"), &s.dispatcher)],
        };
        for (cmd, who) in steps {
            store
                .command(juris.clone(), &case.id, cmd, who, later)
                .await
                .unwrap_or_else(|e| panic!("case {i}: {e}"));
        }
        ids.push(case.id);
    }
    let mut cases = Vec::new();
    for id in ids {
        cases.push(store.get_case(&id).await.expect("read").expect("stored"));
    }
    cases
}

/// A named filter, and the rule it stands for.
type Rule = Box<dyn Fn(&Case) -> bool>;

fn filters(cases: &[Case], org: &OrgTree) -> Vec<(&'static str, CaseFilter, Rule)> {
    let mid = cases[20].received_at.timestamp_millis();
    let end = cases[45].received_at.timestamp_millis();
    let number = cases[17].number.clone();
    let overdue_at = t("2026-09-01T00:00:00+08:00");
    let street1 = org.path(&UnitId::new("street1")).unwrap_or("").to_string();
    let f = CaseFilter::default;
    let state_is = |names: &'static [&'static str]| -> Rule {
        Box::new(move |c: &Case| names.contains(&c.state.as_str()))
    };
    vec![
        ("everything", f(), Box::new(|_: &Case| true)),
        (
            "dispatched",
            CaseFilter {
                states: vec!["dispatched".into()],
                ..f()
            },
            state_is(&["dispatched"]),
        ),
        (
            "received or accepted",
            CaseFilter {
                states: vec!["received".into(), "accepted".into()],
                ..f()
            },
            state_is(&["received", "accepted"]),
        ),
        (
            "category urban and below",
            CaseFilter {
                categories: vec![
                    "urban".into(),
                    "urban.noise".into(),
                    "urban.noise.night".into(),
                ],
                ..f()
            },
            Box::new(|c: &Case| {
                c.draft
                    .category
                    .as_deref()
                    .is_some_and(|k| k == "urban" || k.starts_with("urban.noise"))
            }),
        ),
        (
            "channel web",
            CaseFilter {
                channel: Some("web".into()),
                ..f()
            },
            Box::new(|c: &Case| c.draft.channel == Channel::Web),
        ),
        (
            "mobile and dispatched",
            CaseFilter {
                channel: Some("mobile".into()),
                states: vec!["dispatched".into()],
                ..f()
            },
            Box::new(|c: &Case| {
                c.draft.channel == Channel::Mobile && c.state == CaseState::Dispatched
            }),
        ),
        (
            "overdue",
            CaseFilter {
                overdue_at: Some(overdue_at.timestamp_millis()),
                ..f()
            },
            Box::new(move |c: &Case| {
                c.state.is_open()
                    && c.state != CaseState::Suspended
                    && c.deadlines
                        .as_ref()
                        .is_some_and(|d| d.resolve_due < overdue_at)
            }),
        ),
        (
            "period",
            CaseFilter {
                from_ms: Some(mid),
                until_ms: Some(end),
                ..f()
            },
            Box::new(move |c: &Case| {
                let at = c.received_at.timestamp_millis();
                at >= mid && at < end
            }),
        ),
        (
            "number",
            CaseFilter {
                number: Some(number.clone()),
                ..f()
            },
            Box::new(move |c: &Case| c.number == number),
        ),
        (
            "phone",
            CaseFilter {
                phone: Some("13812345678".into()),
                ..f()
            },
            Box::new(|c: &Case| c.draft.reporter.phone.as_deref() == Some("13812345678")),
        ),
        (
            "held within street1",
            CaseFilter {
                unit: Some(("street1".into(), street1.clone())),
                ..f()
            },
            Box::new(move |c: &Case| {
                org_path_of(c.current_unit()).is_some_and(|p| p.starts_with(&street1))
            }),
        ),
    ]
}

/// The world's paths, for the rule of "held within" (the store keeps the holder's path).
fn org_path_of(u: &UnitId) -> Option<String> {
    world::common::world().org.path(u).map(str::to_string)
}

/// Every list, as the store answers it, against the rule.
async fn lists_select_what_the_rule_allows(store: Store, url: &str) {
    let juris = setup(&store).await;
    let cases = make_cases(&store, &juris).await;
    let s = staff();
    let grid = actor("g", Role::GridWorker, "grid1");
    let street_dispatcher = actor("sd", Role::Dispatcher, "street1");
    let other_citizen = actor("cit2", Role::Citizen, "county");
    let mut two_grants = actor("two", Role::Handler, "deptB");
    two_grants.grants.push(Grant {
        role: Role::Handler,
        unit: UnitId::new("street1"),
    });
    let actors = [
        &s.dispatcher,
        &s.handler_a,
        &s.handler_b,
        &s.street_handler,
        &s.comm_handler,
        &s.street2_handler,
        &s.citizen,
        &other_citizen,
        &s.admin,
        &grid,
        &street_dispatcher,
        &two_grants,
    ];
    let mut plans = BTreeSet::new();
    let mut nonempty = 0;
    for who in actors {
        for (name, filter, rule) in filters(&cases, &juris.org) {
            if let Some((unit, _)) = &filter.unit
                && !who
                    .reader_units()
                    .iter()
                    .any(|r| juris.org.is_within(&UnitId::new(unit.as_str()), r))
            {
                continue; // The API refuses a unit outside the caller's scope.
            }
            let mut expected: Vec<&Case> = cases
                .iter()
                .filter(|c| c.visible_to(who, &juris.org) && rule(c))
                .collect();
            expected.sort_by(|a, b| (b.received_at, &b.id).cmp(&(a.received_at, &a.id)));
            let expected: Vec<&str> = expected.iter().map(|c| c.id.as_str()).collect();
            nonempty += usize::from(!expected.is_empty());
            let readable = CaseFilter::readable_by(who, &juris.org);
            let base = CaseFilter {
                reader_units: readable.reader_units,
                reporter: readable.reporter,
                limit: 500,
                ..filter
            };
            let what = format!("{} / {name}", who.username);
            if let Some(p) = store.list_plan(&base).await.expect("plan") {
                plans.insert(p);
            }
            let got = store.list_cases(&base).await.expect("list");
            let got: Vec<&str> = got.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(got, expected, "{what}: one page");
            let (first, total) = store.list_page(&base, true).await.expect("count");
            assert_eq!(first.len(), expected.len(), "{what}: page with its total");
            assert_eq!(total, Some((expected.len() as i64, false)), "{what}: count");
            // Numbered pages of 7, and the cursor, walk the same list.
            let (mut paged, mut walked) = (Vec::new(), Vec::new());
            let mut cursor = None;
            for page in 0..20u32 {
                let by_page = CaseFilter {
                    limit: 7,
                    offset: page * 7,
                    ..base.clone()
                };
                paged.extend(store.list_cases(&by_page).await.expect("page"));
                let by_cursor = CaseFilter {
                    limit: 7,
                    cursor: cursor.clone(),
                    ..base.clone()
                };
                if walked.len() % 7 == 0 && (page == 0 || cursor.is_some()) {
                    let step = store.list_cases(&by_cursor).await.expect("cursor");
                    // Past the end there is no cursor: the walk stops.
                    cursor = step
                        .last()
                        .map(|c| (c.received_at.timestamp_millis(), c.id.clone()));
                    walked.extend(step);
                }
            }
            let paged: Vec<&str> = paged.iter().map(|c| c.id.as_str()).collect();
            let walked: Vec<&str> = walked.iter().map(|c| c.id.as_str()).collect();
            assert_eq!(paged, expected, "{what}: numbered pages");
            assert_eq!(walked, expected, "{what}: cursor");
        }
    }
    // Only what he reported: the citizens' own cases, nobody else's, whatever else he reads.
    for who in actors {
        let mut expected: Vec<&Case> = cases
            .iter()
            .filter(|c| c.draft.reporter.user_id.as_deref() == Some(who.user_id.as_str()))
            .collect();
        expected.sort_by(|a, b| (b.received_at, &b.id).cmp(&(a.received_at, &a.id)));
        let expected: Vec<&str> = expected.iter().map(|c| c.id.as_str()).collect();
        let mine = CaseFilter {
            reported_only: true,
            limit: 500,
            ..CaseFilter::readable_by(who, &juris.org)
        };
        let got = store.list_cases(&mine).await.expect("mine");
        let got: Vec<&str> = got.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(got, expected, "{}: reported only", who.username);
        if who.user_id == s.citizen.user_id {
            assert!(!got.is_empty(), "the citizen reported cases");
        }
    }
    assert!(nonempty > 60, "the lists are mostly empty ({nonempty})");
    // Both ways in were taken, or the comparison proved only one of them.
    assert!(plans.contains("scope"), "plans: {plans:?}");
    assert!(
        plans.iter().any(|p| p != "scope"),
        "no list started from a filter index: {plans:?}"
    );
    backfill_matches_the_writer(url).await;
}

/// Migration 0011's backfill, run again over the same cases, derives the readers the writer wrote.
async fn backfill_matches_the_writer(url: &str) {
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    type Row = (String, i64, String, Option<String>, String);
    let read = |rows: Vec<sqlx::any::AnyRow>| -> Vec<Row> {
        rows.iter()
            .map(|r| {
                (
                    r.try_get(0).expect("reader"),
                    r.try_get(1).expect("created_at"),
                    r.try_get(2).expect("case_id"),
                    r.try_get(3).expect("category_id"),
                    r.try_get(4).expect("channel"),
                )
            })
            .collect()
    };
    let all = "SELECT reader, created_at, case_id, category_id, channel FROM case_readers \
               ORDER BY 1, 2, 3";
    let written = read(sqlx::query(all).fetch_all(&mut conn).await.expect("rows"));
    // The root reads every case.
    assert_eq!(written.iter().filter(|r| r.0 == "county").count(), 60);
    assert!(
        written.iter().any(|r| r.0.starts_with("user:")),
        "no reporter rows"
    );
    let migration = if url.starts_with("sqlite") {
        include_str!("../migrations/sqlite/0011_case_readers.sql")
    } else {
        include_str!("../migrations/postgres/0011_case_readers.sql")
    };
    sqlx::query("DELETE FROM case_readers")
        .execute(&mut conn)
        .await
        .expect("empty");
    for stmt in migration.split(';').map(str::trim) {
        // Statements, not comments: each INSERT follows its own comment lines.
        let body: String = stmt
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n");
        if body.trim_start().starts_with("INSERT") {
            sqlx::raw_sql(sqlx::AssertSqlSafe(body))
                .execute(&mut conn)
                .await
                .expect("backfill");
        }
    }
    let derived = read(sqlx::query(all).fetch_all(&mut conn).await.expect("rows"));
    assert_eq!(derived, written);
}

#[tokio::test]
async fn sqlite_lists_select_what_the_rule_allows() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::open(&url).await.expect("open");
    lists_select_what_the_rule_allows(store, &url).await;
}

#[tokio::test]
async fn postgres_lists_select_what_the_rule_allows() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_lists").await else {
        return;
    };
    let store = Store::open(&url).await.expect("open");
    lists_select_what_the_rule_allows(store, &url).await;
}
