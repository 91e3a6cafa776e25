//! Reports over HTTP and from the command line, on SQLite and PostgreSQL: JSON, `.xlsx` workbooks
//! (content type, a Chinese file name RFC 5987-encoded, figures read back with calamine), the
//! refusals (a period that does not parse, an unknown report, a role without the whole county).
//! The figures themselves are pinned by hand in crates/reports/tests/figures.rs.

mod support;

use std::io::Cursor;
use std::process::Command;

use calamine::{Data, Reader, Xlsx};
use jiesu::client::Response;
use serde_json::{Value, json};
use support::Env;

const DEPT1: &str = "420381D01";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

fn assert_problem(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/problem+json");
    let p = r.json();
    assert_eq!(p["code"], code, "{p}");
    let (zh, en) = (
        p["title"].as_str().unwrap(),
        p["title_en"].as_str().unwrap(),
    );
    assert!(!zh.is_ascii() && en.is_ascii() && !en.is_empty(), "{p}");
}

/// The figure in row `row` (0 = first data row), column `col` of a sheet.
fn cell(bytes: &[u8], sheet: &str, row: u32, col: u32) -> Data {
    let mut wb: Xlsx<_> =
        calamine::open_workbook_from_rs(Cursor::new(bytes.to_vec())).expect("an xlsx workbook");
    let range = wb.worksheet_range(sheet).expect(sheet);
    range
        .get_value((row + 3, col))
        .cloned()
        .unwrap_or(Data::Empty)
}

fn total(report: &Value) -> i64 {
    report["total"]["count"].as_i64().expect("a total")
}

fn unit_count(report: &Value, unit: &str) -> i64 {
    report["by_unit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["key"] == unit)
        .map_or(0, |v| v["count"].as_i64().unwrap())
}

async fn reports_over_http(env: &Env) {
    let leader = env.login("leader").await;
    let month = "/api/v1/reports/monthly?period=2026-06";
    let before = leader.get(month).await.unwrap();
    assert_eq!(
        before.status,
        200,
        "{}",
        String::from_utf8_lossy(&before.body)
    );
    assert_eq!(before.content_type, "application/json");
    let before = before.json();

    // One more case this month (the test clock is June 2026), dispatched to a department.
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let body = json!({
        "kind": "complaint", "category": "urban.street_vending", "title": "占道经营",
        "description": "早晚有商贩占道经营", "address": "均州路街道丹二巷",
        "reporter": {"name": "王先生", "phone": "13812345678"}
    });
    let r = op.post("/api/v1/cases", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = disp
        .post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": DEPT1}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let after = leader.get(month).await.unwrap().json();
    assert_eq!(after["kind"], "monthly");
    assert_eq!(after["period"], "2026-06");
    assert_eq!(total(&after), total(&before) + 1);
    assert_eq!(unit_count(&after, DEPT1), unit_count(&before, DEPT1) + 1);
    assert!(!after.to_string().contains("13812345678"));

    // The same report as a workbook: its figures are the JSON's.
    let x = leader.get(&format!("{month}&format=xlsx")).await.unwrap();
    assert_eq!(x.status, 200, "{}", String::from_utf8_lossy(&x.body));
    assert_eq!(x.content_type, XLSX);
    assert_eq!(
        x.headers
            .get("content-disposition")
            .and_then(|v| v.to_str().ok()),
        Some(
            "attachment; filename=\"monthly-2026-06.xlsx\"; \
             filename*=UTF-8''%E6%9C%88%E5%88%86%E6%9E%90-2026-06.xlsx"
        )
    );
    assert_eq!(
        cell(&x.body, "概况", 0, 2),
        Data::Float(total(&after) as f64)
    );
    let channels = after["by_channel"].as_array().unwrap();
    for (i, v) in channels.iter().enumerate() {
        assert_eq!(
            cell(&x.body, "按渠道", i as u32, 2),
            Data::Float(v["count"].as_f64().unwrap()),
            "channel {}",
            v["key"]
        );
    }

    // Weekly and quarterly, both formats.
    let w = leader
        .get("/api/v1/reports/weekly?period=2026-W24")
        .await
        .unwrap();
    assert_eq!(w.status, 200, "{}", String::from_utf8_lossy(&w.body));
    let w = w.json();
    assert_eq!(w["kind"], "weekly");
    assert_eq!(w["from"], "2026-06-08");
    let q = leader
        .get("/api/v1/reports/quarterly?period=2026-Q2&format=xlsx")
        .await
        .unwrap();
    assert_eq!(q.status, 200);
    assert_eq!(q.content_type, XLSX);
    assert!(
        q.headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with("filename*=UTF-8''%E5%AD%A3%E8%80%83%E6%A0%B8-2026-Q2.xlsx")
    );

    // Refusals.
    for path in [
        "/api/v1/reports/monthly?period=2026-13",
        "/api/v1/reports/monthly?period=2026-W24",
        "/api/v1/reports/weekly?period=2026-06",
        "/api/v1/reports/quarterly?period=2026-Q5&format=xlsx",
    ] {
        assert_problem(&leader.get(path).await.unwrap(), 400, "invalid_period");
    }
    assert_problem(
        &leader
            .get("/api/v1/reports/yearly?period=2026")
            .await
            .unwrap(),
        404,
        "unknown_report",
    );
    assert_problem(
        &leader
            .get("/api/v1/reports/monthly?period=2026-06&format=pdf")
            .await
            .unwrap(),
        400,
        "invalid_query",
    );
    assert_problem(
        &leader.get("/api/v1/reports/monthly").await.unwrap(),
        400,
        "invalid_query",
    );
    // A department's handler does not read the county's reports.
    let h = env.login("handler_d01").await;
    assert_problem(&h.get(month).await.unwrap(), 403, "role_forbidden");
    assert_problem(&env.client().get(month).await.unwrap(), 401, "unauthorized");
}

on_both_backends!(reports_over_http);

// ---------------------------------------------------------------------------------------------
// `jiesu report` on a data directory (SQLite) and on --database (PostgreSQL).

/// Stores a tiny county with one case received and dispatched in October 2026.
async fn county_with_a_case(data_dir: &std::path::Path, database: Option<&str>) {
    use jiesu_domain::*;
    let store = jiesu::server::open(data_dir, database).await.expect("open");
    let u = |id: &str, p: Option<&str>, k: UnitKind, name: &str| OrgUnit {
        id: UnitId::new(id),
        parent: p.map(UnitId::new),
        kind: k,
        name: name.into(),
    };
    store
        .put_units(
            &[
                u("county", None, UnitKind::County, "丹江口市"),
                u("dept", Some("county"), UnitKind::Department, "城管局"),
            ],
            &[],
        )
        .await
        .expect("units");
    store
        .put_categories(&[Category {
            id: "urban".into(),
            parent: None,
            name: "城市管理".into(),
            name_en: "Urban".into(),
            default_kind: None,
            default_unit: None,
        }])
        .await
        .expect("categories");
    let juris = std::sync::Arc::new(store.load_jurisdiction().await.expect("jurisdiction"));
    let who = |role: Role| Actor {
        user_id: role.as_str().into(),
        username: role.as_str().into(),
        display_name: role.as_str().into(),
        grants: vec![Grant {
            role,
            unit: UnitId::new("county"),
        }],
    };
    let at = chrono::DateTime::parse_from_rfc3339("2026-10-12T09:00:00+08:00").unwrap();
    let draft = CaseDraft {
        channel: Channel::Hotline,
        kind: Kind::Complaint,
        category: Some("urban".into()),
        urgency: Urgency::Normal,
        title: "占道经营".into(),
        description: "早晚有商贩占道".into(),
        address: None,
        location: None,
        reporter: Default::default(),
    };
    let (case, _) = store
        .intake(juris.clone(), draft, &who(Role::Operator), at, None)
        .await
        .expect("intake");
    store
        .command(
            juris,
            &case.id,
            Command::Dispatch {
                unit: UnitId::new("dept"),
                co_units: vec![],
                note: None,
            },
            &who(Role::Dispatcher),
            at,
        )
        .await
        .expect("dispatch");
    store.close().await;
}

fn jiesu(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jiesu"))
        .args(args)
        .env_remove("JIESU_DATABASE")
        .output()
        .expect("run jiesu");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn cli_writes_reports(database: Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    county_with_a_case(dir.path(), database.as_deref()).await;
    let data_dir = dir.path().to_str().unwrap();
    let file = dir.path().join("月分析-2026-10.xlsx");
    let mut args = vec![
        "report",
        "monthly",
        "--data-dir",
        data_dir,
        "--period",
        "2026-10",
        "--out",
        file.to_str().unwrap(),
    ];
    if let Some(db) = database.as_deref() {
        args.extend(["--database", db]);
    }
    let (ok, _, err) = jiesu(&args);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&file).expect("the workbook was written");
    assert_eq!(cell(&bytes, "概况", 0, 2), Data::Float(1.0));
    assert_eq!(
        cell(&bytes, "按承办单位", 0, 1),
        Data::String("城管局".into())
    );
    assert_eq!(cell(&bytes, "按承办单位", 0, 2), Data::Float(1.0));

    // JSON on standard output: the same figures.
    args.truncate(6);
    args.extend(["--format", "json"]);
    if let Some(db) = database.as_deref() {
        args.extend(["--database", db]);
    }
    let (ok, out, err) = jiesu(&args);
    assert!(ok, "{err}");
    let j: Value = serde_json::from_slice(&out).expect("JSON");
    assert_eq!(total(&j), 1);
    assert_eq!(unit_count(&j, "dept"), 1);
    assert_eq!(j["by_channel"][0]["key"], "hotline");

    // A period that does not parse fails, naming the form.
    args[5] = "2026-13";
    let (ok, _, err) = jiesu(&args);
    assert!(!ok);
    assert!(err.contains("2026-13") && err.contains("YYYY-MM"), "{err}");
}

#[tokio::test]
async fn sqlite_cli_writes_reports() {
    cli_writes_reports(None).await;
}

#[tokio::test]
async fn postgres_cli_writes_reports() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_report_cli").await else {
        return;
    };
    cli_writes_reports(Some(url)).await;
}
