//! The reports' figures on a small county with hand-counted cases, on SQLite and PostgreSQL; and
//! each report's workbook, read back with calamine, carries exactly the JSON's figures.
//!
//! The county (the domain tests' one, plus a second category):
//! - October 2026: A1–A3 and the hazard H (hotline, urban) at deptA — A1 handled on time and
//!   rated satisfied, A2 given a yellow card that deptA appeals and the inspector revokes, A3
//!   supervised (重点督办); W1, W2 (web, roads) at street1, passed down to comm1; U (hotline,
//!   urban) never dispatched.
//! - September 2026: S1, S2 (hotline, urban) at deptA, never handled: overdue by mid-October.
//! - October 2025: Y1–Y4 (hotline, urban) at deptB, never handled.

#[path = "../../domain/tests/common/mod.rs"]
mod common;

use std::io::Cursor;
use std::sync::Arc;

use calamine::{Data, Reader, Xlsx};
use common::{actor, dispatch, draft, reply, staff, t};
use jiesu_domain::case::{ReviewDecision, Satisfaction};
use jiesu_domain::supervision::{
    AppealDecision, Card, CardColor, CardReason, CardStatus, SuperviseLevel,
};
use jiesu_domain::*;
use jiesu_reports::{Report, ReportKind};
use jiesu_store::Store;
use serde_json::{Value, json};

async fn setup(store: &Store) -> Arc<Jurisdiction> {
    let w = common::world();
    let units: Vec<OrgUnit> = w.org.units().cloned().collect();
    store.put_units(&units, &[]).await.expect("units");
    let mut categories: Vec<Category> = w.categories.all().cloned().collect();
    categories.push(Category {
        id: "road".into(),
        parent: None,
        name: "道路交通".into(),
        name_en: "Roads".into(),
        default_kind: None,
        default_unit: None,
    });
    store.put_categories(&categories).await.expect("categories");
    for body in [
        include_str!("../../../calendar/2025.toml"),
        include_str!("../../../calendar/2026.toml"),
    ] {
        store.put_calendar_year(body).await.expect("calendar");
    }
    Arc::new(store.load_jurisdiction().await.expect("jurisdiction"))
}

/// Case numbers by name.
struct Made(Vec<(&'static str, Case)>);

impl Made {
    fn number(&self, name: &str) -> &str {
        &self
            .0
            .iter()
            .find(|(n, _)| *n == name)
            .expect(name)
            .1
            .number
    }
}

async fn make(store: &Store, juris: &Arc<Jurisdiction>) -> Made {
    let s = staff();
    let j = || juris.clone();
    let mut made = Vec::new();
    let intake = |kind: Kind, channel: Channel, category: &str| CaseDraft {
        channel,
        category: Some(category.into()),
        ..draft(kind)
    };
    // Hotline cases at deptA / deptB, dispatched at intake time.
    let plan: [(&str, &str, &str, Kind); 11] = [
        ("A1", "2026-10-12T09:00:00+08:00", "deptA", Kind::Complaint),
        ("A2", "2026-10-12T09:00:00+08:00", "deptA", Kind::Complaint),
        ("A3", "2026-10-12T09:00:00+08:00", "deptA", Kind::Complaint),
        ("H", "2026-10-13T09:00:00+08:00", "deptA", Kind::Hazard),
        ("S1", "2026-09-14T09:00:00+08:00", "deptA", Kind::Complaint),
        ("S2", "2026-09-14T09:00:00+08:00", "deptA", Kind::Complaint),
        ("Y1", "2025-10-13T09:00:00+08:00", "deptB", Kind::Complaint),
        ("Y2", "2025-10-13T09:00:00+08:00", "deptB", Kind::Complaint),
        ("Y3", "2025-10-13T09:00:00+08:00", "deptB", Kind::Complaint),
        ("Y4", "2025-10-13T09:00:00+08:00", "deptB", Kind::Complaint),
        ("U", "2026-10-12T09:00:00+08:00", "", Kind::Complaint),
    ];
    for (name, at, unit, kind) in plan {
        let (mut c, _) = store
            .intake(
                j(),
                intake(kind, Channel::Hotline, "urban"),
                &s.operator,
                t(at),
                None,
            )
            .await
            .expect("intake");
        if !unit.is_empty() {
            c = store
                .command(j(), &c.id, dispatch(unit), &s.dispatcher, t(at))
                .await
                .expect("dispatch");
        }
        made.push((name, c));
    }
    // Web cases about roads, passed down by the street to its community.
    for name in ["W1", "W2"] {
        let at = t("2026-10-12T10:00:00+08:00");
        let (c, _) = store
            .intake(
                j(),
                intake(Kind::Complaint, Channel::Web, "road"),
                &s.citizen,
                at,
                None,
            )
            .await
            .expect("intake");
        store
            .command(j(), &c.id, dispatch("street1"), &s.dispatcher, at)
            .await
            .expect("dispatch");
        let c = store
            .command(
                j(),
                &c.id,
                Command::Redispatch {
                    unit: UnitId::new("comm1"),
                    note: None,
                },
                &s.street_handler,
                t("2026-10-12T11:00:00+08:00"),
            )
            .await
            .expect("redispatch");
        made.push((name, c));
    }
    let made = Made(made);
    let id = |name: &str| {
        made.0
            .iter()
            .find(|(n, _)| *n == name)
            .expect(name)
            .1
            .id
            .clone()
    };
    // A1: accepted and contacted on time, replied, approved, rated satisfied: closed.
    let a1 = id("A1");
    let steps = [
        (
            Command::Accept { note: None },
            &s.handler_a,
            "2026-10-12T09:30:00+08:00",
        ),
        (
            Command::Contact { note: None },
            &s.handler_a,
            "2026-10-12T10:00:00+08:00",
        ),
        (reply(), &s.handler_a, "2026-10-13T10:00:00+08:00"),
        (
            Command::Review {
                decision: ReviewDecision::Approve,
                comment: None,
            },
            &s.dispatcher,
            "2026-10-13T11:00:00+08:00",
        ),
        (
            Command::Callback {
                unit_at_fault: None,
                resolved: true,
                satisfaction: Satisfaction::Satisfied,
                note: None,
            },
            &s.operator,
            "2026-10-14T09:00:00+08:00",
        ),
    ];
    for (cmd, who, at) in steps {
        store
            .command(j(), &a1, cmd, who, t(at))
            .await
            .expect("A1 step");
    }
    // A2: a yellow card for the missed accept deadline, appealed by deptA, revoked.
    let a2 = store.get_case(&id("A2")).await.unwrap().unwrap();
    let issued = t("2026-10-14T10:00:00+08:00");
    store
        .system_event(
            j(),
            &a2.id,
            a2.version,
            CaseEvent::YellowCard {
                card: Card {
                    id: "Y1".into(),
                    color: CardColor::Yellow,
                    unit: UnitId::new("deptA"),
                    reason: CardReason::AcceptLate,
                    due: a2.deadlines.as_ref().map(|d| d.accept_due),
                    issued_at: issued,
                    status: CardStatus::Active,
                    appeal_reason: None,
                    decision_reason: None,
                },
            },
            issued,
        )
        .await
        .expect("yellow card");
    store
        .command(
            j(),
            &a2.id,
            Command::Appeal {
                card: "Y1".into(),
                reason: "系统故障未能签收".into(),
            },
            &s.handler_a,
            t("2026-10-15T09:00:00+08:00"),
        )
        .await
        .expect("appeal");
    store
        .command(
            j(),
            &a2.id,
            Command::DecideAppeal {
                card: "Y1".into(),
                decision: AppealDecision::Revoke,
                reason: "经核实属系统故障".into(),
            },
            &s.inspector,
            t("2026-10-16T09:00:00+08:00"),
        )
        .await
        .expect("revoke");
    // A3: supervised by the county leader.
    store
        .command(
            j(),
            &id("A3"),
            Command::Supervise {
                level: SuperviseLevel::Key,
                note: "本周内办结".into(),
                due: None,
            },
            &s.leader,
            t("2026-10-15T10:00:00+08:00"),
        )
        .await
        .expect("supervise");
    let _ = actor;
    made
}

/// A volume line as the JSON carries it: key, count, previous, year ago, and the two changes.
fn vol(key: &str, n: i64, prev: i64, ago: i64, cp: Option<f64>, ca: Option<f64>) -> Value {
    json!({"key": key, "count": n, "previous": prev, "year_ago": ago,
           "change_previous": cp, "change_year_ago": ca})
}

fn strip(rows: &Value) -> Vec<Value> {
    rows.as_array()
        .expect("an array")
        .iter()
        .map(|r| {
            json!({"key": r["key"], "count": r["count"], "previous": r["previous"],
                   "year_ago": r["year_ago"], "change_previous": r["change_previous"],
                   "change_year_ago": r["change_year_ago"]})
        })
        .collect()
}

async fn build(store: &Store, juris: &Jurisdiction, kind: ReportKind, period: &str) -> Report {
    jiesu_reports::build(store, juris, kind, period, t("2026-12-03T09:00:00+08:00"))
        .await
        .expect("report")
}

async fn figures(store: Store) {
    let juris = setup(&store).await;
    let made = make(&store, &juris).await;

    // 月分析 2026-10.
    let monthly = build(&store, &juris, ReportKind::Monthly, "2026-10").await;
    let m = serde_json::to_value(&monthly).unwrap();
    assert_eq!(monthly.file_name(), "月分析-2026-10.xlsx");
    assert_eq!(m["kind"], "monthly");
    assert_eq!(m["previous_period"], "2026-09");
    assert_eq!(m["year_ago_period"], "2025-10");
    assert_eq!(
        strip(&json!([m["total"].clone()])),
        vec![vol("total", 7, 2, 4, Some(2.5), Some(0.75))]
    );
    assert_eq!(
        strip(&m["by_channel"]),
        vec![
            vol("hotline", 5, 2, 4, Some(1.5), Some(0.25)),
            vol("web", 2, 0, 0, None, None),
        ]
    );
    assert_eq!(
        strip(&m["by_category"]),
        vec![
            vol("urban", 5, 2, 4, Some(1.5), Some(0.25)),
            vol("road", 2, 0, 0, None, None),
        ]
    );
    assert_eq!(
        strip(&m["by_unit"]),
        vec![
            vol("deptA", 4, 2, 0, Some(1.0), None),
            vol("comm1", 2, 0, 0, None, None),
            vol("", 1, 0, 0, None, None),
            vol("deptB", 0, 0, 4, None, Some(-1.0)),
        ]
    );
    assert_eq!(m["by_unit"][2]["name"], "未派单");
    assert_eq!(
        strip(&m["by_street"]),
        vec![
            vol("", 5, 2, 4, Some(1.5), Some(0.25)),
            vol("street1", 2, 0, 0, None, None),
        ]
    );
    assert_eq!(m["by_street"][0]["name"], "未落到街道（乡镇）");
    assert_eq!(m["by_category"][1]["name"], "道路交通");
    assert_eq!(
        m["top_categories"],
        json!([
            {"rank": 1, "category_id": "urban", "name": "城市管理", "count": 5,
             "share": 5.0 / 7.0, "change_previous": 1.5},
            {"rank": 2, "category_id": "road", "name": "道路交通", "count": 2,
             "share": 2.0 / 7.0, "change_previous": null},
        ])
    );
    assert_eq!(
        m["top_places"],
        json!([{"rank": 1, "unit_id": "comm1", "name": "comm1", "street": "street1",
                "count": 2, "share": 2.0 / 7.0, "top_category": "道路交通"}])
    );
    // Rankings: streets, departments, then each street's communities.
    let groups: Vec<(&str, Option<&str>, Vec<&str>)> = m["rankings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["group"].as_str().unwrap(),
                g["within"].as_str(),
                g["rows"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["unit_id"].as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![
            ("street", None, vec!["street1", "street2"]),
            ("department", None, vec!["deptA", "deptB"]),
            ("community", Some("street1"), vec!["comm1"]),
        ]
    );
    // deptA in October: 4 dispatched, A1 responded on time, rated satisfied and resolved, closed
    // on time; the yellow card was revoked. 20 × 1/4 + 40 × 1 + 40 × 1 = 85. One rated case is
    // under the minimum sample of 10: listed, not ranked.
    let dept_a = &m["rankings"][1]["rows"][0];
    assert_eq!(
        (
            &dept_a["received"],
            &dept_a["rated"],
            &dept_a["response_rate"],
            &dept_a["resolution_rate"],
            &dept_a["satisfaction_rate"],
            &dept_a["on_time_rate"],
            &dept_a["yellow_cards"],
            &dept_a["score"],
            &dept_a["rank"],
        ),
        (
            &json!(4),
            &json!(1),
            &json!(0.25),
            &json!(1.0),
            &json!(1.0),
            &json!(1.0),
            &json!(0),
            &json!(85.0),
            &Value::Null
        )
    );
    // street1 received W1 and W2 and passed them down; comm1 received them in turn.
    assert_eq!(m["rankings"][0]["rows"][0]["received"], 2);
    assert_eq!(m["rankings"][0]["rows"][0]["score"], 0.0);
    assert_eq!(m["rankings"][2]["rows"][0]["received"], 2);
    // deptB had nothing in October: no score.
    assert_eq!(m["rankings"][1]["rows"][1]["score"], Value::Null);
    workbook_matches(&monthly);

    // 周调度 2026-W42 (12–18 October), judged at the end of the week.
    let weekly = build(&store, &juris, ReportKind::Weekly, "2026-W42").await;
    let w = serde_json::to_value(&weekly).unwrap();
    assert_eq!(weekly.file_name(), "周调度-2026-W42.xlsx");
    assert_eq!(w["as_of"], "2026-10-19T00:00:00+08:00");
    assert_eq!(
        w["totals"],
        json!({"overdue": 6, "due_soon": 1, "yellow_cards": 1, "red_cards": 0,
               "cards_revoked": 1, "supervisions": 1})
    );
    // S1, S2 (due in early October) and Y1–Y4 are overdue; H (a hazard, 5 working days from
    // 13 October: due 20 October 09:00) is near due. A2, A3, W1, W2 are due in November.
    assert_eq!(
        w["by_unit"],
        json!([
            {"unit_id": "deptB", "unit_name": "deptB", "overdue": 4, "due_soon": 0},
            {"unit_id": "deptA", "unit_name": "deptA", "overdue": 2, "due_soon": 1},
        ])
    );
    let due: Vec<(&str, &str)> = w["due_cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["number"].as_str().unwrap(), c["status"].as_str().unwrap()))
        .collect();
    let mut expected: Vec<(&str, &str)> = ["Y1", "Y2", "Y3", "Y4", "S1", "S2"]
        .iter()
        .map(|n| (made.number(n), "overdue"))
        .collect();
    expected.push((made.number("H"), "due_soon"));
    assert_eq!(due, expected);
    assert_eq!(
        w["due_cases"][6]["resolve_due"],
        "2026-10-20T09:00:00+08:00"
    );
    let cards: Vec<(&str, &str, &str, &str, &str)> = w["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["number"].as_str().unwrap(),
                c["event"].as_str().unwrap(),
                c["card_id"].as_str().unwrap(),
                c["unit_id"].as_str().unwrap(),
                c["reason"].as_str().unwrap(),
            )
        })
        .collect();
    let a2 = made.number("A2");
    assert_eq!(
        cards,
        vec![
            (a2, "yellow_card", "Y1", "deptA", "accept_late"),
            (a2, "card_revoked", "Y1", "deptA", "accept_late"),
        ]
    );
    assert_eq!(w["supervisions"][0]["number"], made.number("A3"));
    assert_eq!(w["supervisions"][0]["unit_id"], "deptA");
    assert_eq!(w["supervisions"][0]["level"], "key");
    // No personal data: neither the reporter nor the case text.
    let text = w.to_string() + &m.to_string();
    for private in ["王先生", "13812345678", "丹二巷", "商贩"] {
        assert!(!text.contains(private), "{private} in a report");
    }
    workbook_matches(&weekly);

    // 季考核 2026-Q4 against Q3 and Q4 2025.
    let quarterly = build(&store, &juris, ReportKind::Quarterly, "2026-Q4").await;
    let q = serde_json::to_value(&quarterly).unwrap();
    assert_eq!(
        strip(&json!([q["total"].clone()])),
        vec![vol("total", 7, 2, 4, Some(2.5), Some(0.75))]
    );
    assert_eq!(q["rankings"][1]["rows"][0]["score"], 85.0);
    workbook_matches(&quarterly);

    // A period that does not parse is refused before anything is read.
    for (kind, bad) in [
        (ReportKind::Monthly, "2026-13"),
        (ReportKind::Weekly, "2026-10"),
        (ReportKind::Quarterly, "2026-Q5"),
    ] {
        let e = jiesu_reports::build(&store, &juris, kind, bad, t("2026-12-03T09:00:00+08:00"))
            .await
            .expect_err(bad);
        assert!(matches!(e, jiesu_reports::ReportError::Period(_)), "{e}");
    }
    store.close().await;
}

// ---------------------------------------------------------------------------------------------
// Reading the workbook back.

/// What a cell should hold: text, a number, or "—" for a missing rate.
#[derive(Debug, PartialEq)]
enum X {
    S(String),
    N(f64),
}

fn s(v: &Value) -> X {
    X::S(v.as_str().map_or_else(|| v.to_string(), str::to_string))
}

fn n(v: &Value) -> X {
    match v.as_f64() {
        Some(f) => X::N(f),
        None => X::S("—".into()),
    }
}

fn when(v: &Value) -> X {
    let t = chrono::DateTime::parse_from_rfc3339(v.as_str().expect("a time")).expect("RFC 3339");
    X::S(t.format("%Y-%m-%d %H:%M").to_string())
}

fn read(wb: &mut Xlsx<Cursor<Vec<u8>>>, sheet: &str) -> Vec<Vec<X>> {
    let range = wb.worksheet_range(sheet).expect(sheet);
    range
        .rows()
        .skip(3) // title, subtitle, header
        .map(|row| {
            row.iter()
                .map(|c| match c {
                    Data::Float(f) => X::N(*f),
                    Data::Int(i) => X::N(*i as f64),
                    Data::String(s) => X::S(s.clone()),
                    // An empty code (cases not dispatched) is a blank cell.
                    Data::Empty => X::S(String::new()),
                    other => panic!("{sheet}: unexpected cell {other:?}"),
                })
                .collect()
        })
        .collect()
}

fn volumes(rows: &Value) -> Vec<Vec<X>> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            vec![
                s(&v["key"]),
                s(&v["name"]),
                n(&v["count"]),
                n(&v["previous"]),
                n(&v["change_previous"]),
                n(&v["year_ago"]),
                n(&v["change_year_ago"]),
            ]
        })
        .collect()
}

fn each(rows: &Value, f: impl Fn(&Value) -> Vec<X>) -> Vec<Vec<X>> {
    rows.as_array().unwrap().iter().map(f).collect()
}

/// Every sheet of the workbook, read with calamine, holds the JSON's figures row for row.
fn workbook_matches(report: &Report) {
    let bytes = report.to_xlsx().expect("workbook");
    let j = serde_json::to_value(report).unwrap();
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).expect("xlsx");
    let mut expected: Vec<(&str, Vec<Vec<X>>)> = Vec::new();
    match report.kind() {
        ReportKind::Weekly => {
            let k = &j["totals"];
            expected.push((
                "概况",
                [
                    ("超期未办结工单", "overdue"),
                    ("临期工单", "due_soon"),
                    ("本周黄牌", "yellow_cards"),
                    ("本周红牌", "red_cards"),
                    ("本周撤销的牌", "cards_revoked"),
                    ("本周督办", "supervisions"),
                ]
                .iter()
                .map(|(label, key)| vec![X::S(label.to_string()), n(&k[key])])
                .collect(),
            ));
            expected.push((
                "分单位",
                each(&j["by_unit"], |u| {
                    vec![
                        s(&u["unit_id"]),
                        s(&u["unit_name"]),
                        n(&u["overdue"]),
                        n(&u["due_soon"]),
                    ]
                }),
            ));
            expected.push((
                "超期临期工单",
                each(&j["due_cases"], |c| {
                    vec![
                        s(&c["number"]),
                        s(&c["unit_name"]),
                        s(&c["category"]),
                        s(&c["status_zh"]),
                        when(&c["resolve_due"]),
                    ]
                }),
            ));
            expected.push((
                "红黄牌",
                each(&j["cards"], |c| {
                    vec![
                        when(&c["at"]),
                        s(&c["number"]),
                        s(&c["event_zh"]),
                        s(&c["card_id"]),
                        s(&c["unit_name"]),
                        s(&c["reason_zh"]),
                    ]
                }),
            ));
            expected.push((
                "督办",
                each(&j["supervisions"], |c| {
                    vec![
                        when(&c["at"]),
                        s(&c["number"]),
                        s(&c["unit_name"]),
                        s(&c["level_zh"]),
                        if c["due"].is_null() {
                            X::S("—".into())
                        } else {
                            when(&c["due"])
                        },
                    ]
                }),
            ));
        }
        _ => {
            expected.push(("概况", volumes(&json!([j["total"].clone()]))));
            expected.push(("按渠道", volumes(&j["by_channel"])));
            expected.push(("按类别", volumes(&j["by_category"])));
            expected.push(("按承办单位", volumes(&j["by_unit"])));
            expected.push(("按街道", volumes(&j["by_street"])));
            expected.push((
                "热点类别",
                each(&j["top_categories"], |c| {
                    vec![
                        n(&c["rank"]),
                        s(&c["category_id"]),
                        s(&c["name"]),
                        n(&c["count"]),
                        n(&c["share"]),
                        n(&c["change_previous"]),
                    ]
                }),
            ));
            expected.push((
                "热点地点",
                each(&j["top_places"], |p| {
                    vec![
                        n(&p["rank"]),
                        s(&p["name"]),
                        s(&p["street"]),
                        n(&p["count"]),
                        n(&p["share"]),
                        s(&p["top_category"]),
                    ]
                }),
            ));
            let mut ranks = Vec::new();
            for g in j["rankings"].as_array().unwrap() {
                for r in g["rows"].as_array().unwrap() {
                    ranks.push(vec![
                        s(&g["group_zh"]),
                        g["within_name"]
                            .as_str()
                            .map_or(X::S("全县".into()), |w| X::S(w.into())),
                        r["rank"].as_f64().map_or(X::S("样本不足".into()), X::N),
                        s(&r["unit_name"]),
                        n(&r["received"]),
                        n(&r["rated"]),
                        n(&r["response_rate"]),
                        n(&r["resolution_rate"]),
                        n(&r["satisfaction_rate"]),
                        n(&r["on_time_rate"]),
                        n(&r["returns"]),
                        n(&r["extensions"]),
                        n(&r["yellow_cards"]),
                        n(&r["red_cards"]),
                        n(&r["score"]),
                    ]);
                }
            }
            expected.push(("考核排名", ranks));
        }
    }
    let names = wb.sheet_names();
    assert_eq!(
        names.len(),
        expected.len(),
        "sheets {names:?} for {:?}",
        report.kind()
    );
    for (sheet, rows) in expected {
        assert!(!rows.is_empty() || sheet == "热点地点", "{sheet} is empty");
        assert_eq!(read(&mut wb, sheet), rows, "sheet {sheet}");
    }
    // The title row names the report and its period.
    let range = wb.worksheet_range("概况").unwrap();
    assert_eq!(
        range.get((0, 0)),
        Some(&Data::String(j["title"].as_str().unwrap().to_string()))
    );
}

#[tokio::test]
async fn sqlite_report_figures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    figures(Store::open(&url).await.expect("open")).await;
}

#[tokio::test]
async fn postgres_report_figures() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_reports").await else {
        return;
    };
    figures(Store::open(&url).await.expect("open")).await;
}
