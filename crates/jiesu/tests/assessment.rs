//! `GET /api/v1/assessment` and the public board over HTTP, on SQLite and PostgreSQL: who may
//! read them, the contract's shape, periods, and that the board shows no case and no person.
//! Every figure is pinned by hand in crates/store/tests/assessment.rs; here one case is enough
//! to see the counters reach the API.

mod support;

use jiesu::client::Response;
use serde_json::{Value, json};
use support::Env;

const DEPT1: &str = "420381D01";
const STREET1: &str = "420381001";

fn assert_problem(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/problem+json");
    let p = r.json();
    assert_eq!(p["code"], code, "{p}");
    assert!(p["title"].as_str().is_some_and(|t| !t.is_ascii()), "{p}");
}

fn row<'a>(v: &'a Value, unit: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["unit_id"] == unit))
        .unwrap_or_else(|| panic!("{unit} not in {v}"))
}

async fn assessment_and_board(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d01").await;
    // One case through its whole life on 10 June 2026 (the test clock's day), rated satisfied.
    let body = json!({
        "kind": "complaint", "category": "urban.street_vending", "title": "考核测试工单标题",
        "description": "考核测试：商贩占道经营。", "address": "丹江口市均州路街道丹二巷",
        "reporter": {"name": "赵女士", "phone": "13912345678"}
    });
    let c = op.post("/api/v1/cases", &body).await.unwrap().json();
    let id = c["id"].as_str().unwrap().to_string();
    let number = c["number"].as_str().unwrap().to_string();
    for (who, cmd) in [
        (&disp, json!({"type": "dispatch", "unit": DEPT1})),
        (&h, json!({"type": "accept"})),
        (&h, json!({"type": "contact"})),
        (
            &h,
            json!({"type": "reply", "outcome": "resolved", "text": "已清理"}),
        ),
        (&disp, json!({"type": "review", "decision": "approve"})),
        (
            &op,
            json!({"type": "callback", "resolved": true, "satisfaction": "satisfied"}),
        ),
    ] {
        let r = who
            .post(&format!("/api/v1/cases/{id}/commands"), &cmd)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{cmd}: {}", String::from_utf8_lossy(&r.body));
    }

    // Leaders, inspectors, dispatchers and admins read it; from/to and period agree.
    let mut answers = Vec::new();
    for user in ["leader", "inspector", "dispatcher", "admin"] {
        let c = env.login(user).await;
        for q in [
            "from=2026-06-01&to=2026-06-30&group=department",
            "period=2026-06&group=department",
        ] {
            let r = c.get(&format!("/api/v1/assessment?{q}")).await.unwrap();
            assert_eq!(
                r.status,
                200,
                "{user} {q}: {}",
                String::from_utf8_lossy(&r.body)
            );
            answers.push(r.json());
        }
    }
    let v = &answers[0];
    assert!(answers.iter().all(|a| a == v));
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("2026-06-01"), Some("2026-06-30"))
    );
    assert_eq!(v["group"], "department");
    let d = row(v, DEPT1);
    for (k, want) in [
        ("received", json!(1)),
        ("rated", json!(1)),
        ("response_rate", json!(1.0)),
        ("resolution_rate", json!(1.0)),
        ("satisfaction_rate", json!(1.0)),
        ("on_time_rate", json!(1.0)),
        ("score", json!(100.0)),
        // 1 rated case, under the minimum of 10: listed, not ranked.
        ("rank", Value::Null),
        ("yellow_cards", json!(0)),
        ("red_cards", json!(0)),
        ("returns", json!(0)),
        ("extensions", json!(0)),
        ("reopened", json!(0)),
        ("unreachable", json!(0)),
    ] {
        assert_eq!(d[k], want, "{k} in {d}");
    }
    assert!(d["unit_name"].as_str().is_some_and(|n| !n.is_empty()));
    // A department with nothing: zero counts, no rates, no score.
    let idle = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit_id"] != DEPT1)
        .unwrap();
    assert_eq!(
        (idle["received"].clone(), idle["response_rate"].clone()),
        (json!(0), Value::Null)
    );
    // Other periods do not see it.
    let may = disp
        .get("/api/v1/assessment?period=2026-05&group=department")
        .await
        .unwrap()
        .json();
    assert_eq!(row(&may, DEPT1)["received"], 0);
    // One street's communities.
    let comms = disp
        .get(&format!(
            "/api/v1/assessment?period=2026-Q2&group=community&within={STREET1}"
        ))
        .await
        .unwrap()
        .json();
    let rows = comms["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|r| r["unit_id"].as_str().unwrap().starts_with(STREET1))
    );

    // Refusals.
    for user in ["operator", "handler_d01"] {
        let c = env.login(user).await;
        let r = c
            .get("/api/v1/assessment?period=2026-06&group=street")
            .await
            .unwrap();
        assert_problem(&r, 403, "role_forbidden");
    }
    let r = env
        .client()
        .get("/api/v1/assessment?period=2026-06&group=street")
        .await
        .unwrap();
    assert_eq!(r.status, 401);
    for q in [
        "period=2026-13&group=street",
        "period=june&group=street",
        "from=2026-06-30&to=2026-06-01&group=street",
        "from=2025-01-01&to=2026-06-01&group=street",
        "from=2026-06-01&group=street",
        "group=street",
        "period=2026-06&from=2026-06-01&to=2026-06-02&group=street",
        "from=2026-6-1&to=2026-06-02&group=street",
    ] {
        let r = disp.get(&format!("/api/v1/assessment?{q}")).await.unwrap();
        assert_problem(&r, 400, "invalid_period");
    }
    let r = disp
        .get("/api/v1/assessment?period=2026-06&group=planet")
        .await
        .unwrap();
    assert_problem(&r, 400, "invalid_query");
    let r = disp
        .get("/api/v1/assessment?period=2026-06&group=community&within=nowhere")
        .await
        .unwrap();
    assert_problem(&r, 422, "unknown_unit");

    // The public board: no login, streets and departments, the same figures, nothing personal.
    let r = env
        .client()
        .get("/api/v1/public/board?period=2026-06")
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let text = String::from_utf8_lossy(&r.body).to_string();
    let b = r.json();
    let groups: Vec<&str> = b["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["street", "department"]);
    let d = row(&b["groups"][1], DEPT1);
    for k in [
        "received",
        "rated",
        "response_rate",
        "satisfaction_rate",
        "score",
        "rank",
        "red_cards",
    ] {
        assert_eq!(d[k], row(v, DEPT1)[k], "{k}");
    }
    for secret in [
        id.as_str(),
        number.as_str(),
        "考核测试",
        "赵女士",
        "13912345678",
        "丹二巷",
    ] {
        assert!(!text.contains(secret), "the board shows {secret:?}");
    }
    let r = env
        .client()
        .get("/api/v1/public/board?period=2026-6")
        .await
        .unwrap();
    assert_problem(&r, 400, "invalid_period");

    // Both routes are documented; only the board is public.
    let doc = env
        .client()
        .get("/api/v1/openapi.json")
        .await
        .unwrap()
        .json();
    assert!(doc["paths"]["/api/v1/assessment"]["get"]["security"].is_array());
    let board = &doc["paths"]["/api/v1/public/board"]["get"];
    assert!(board.is_object() && board["security"].is_null(), "{board}");
}

on_both_backends!(assessment_and_board);
