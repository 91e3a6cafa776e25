//! 吹哨报到, the callback queue and the supervision board, end to end on SQLite and PostgreSQL.
//! Each scenario uses units no other scenario in this file touches, so counts are exact.

mod support;

use jiesu::client::{Client, Response};
use serde_json::{Value, json};
use support::Env;

const STREET1: &str = "420381001";

fn dept(n: u32) -> String {
    format!("420381D{n:02}")
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

async fn cmd(c: &Client, id: &str, body: Value) -> Response {
    c.post(&format!("/api/v1/cases/{id}/commands"), &body)
        .await
        .unwrap()
}

async fn ok(c: &Client, id: &str, body: Value) -> Value {
    let r = cmd(c, id, body.clone()).await;
    assert_eq!(r.status, 200, "{body} → {}", text(&r));
    r.json()
}

fn refused(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", text(r));
    assert_eq!(r.json()["code"], code, "{}", text(r));
    assert!(r.json()["title"].as_str().is_some_and(|t| !t.is_empty()));
}

/// A case recorded by the operator and dispatched to `unit`; its id.
async fn dispatched(env: &Env, unit: &str, title: &str) -> String {
    let op = env.login("operator").await;
    let r = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "title": title,
                    "reporter": {"name": "李女士", "phone": "13912345678"}}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", text(&r));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let disp = env.login("dispatcher").await;
    ok(&disp, &id, json!({"type": "dispatch", "unit": unit})).await;
    id
}

async fn timeline_types(c: &Client, id: &str) -> Vec<String> {
    let r = c
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    r.json()["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect()
}

async fn a_street_whistles_two_departments(env: &Env) {
    let id = dispatched(env, STREET1, "小区雨污管网混接，多部门职责").await;
    let hs = env.login("handler_s01").await;
    ok(&hs, &id, json!({"type": "accept"})).await;
    ok(&hs, &id, json!({"type": "contact"})).await;
    let (d1, d2) = (dept(1), dept(2));
    // A unit that does not exist: its own code, not a generic validation failure.
    refused(
        &cmd(
            &hs,
            &id,
            json!({"type": "whistle", "units": [d1, "420381D99"], "lead": d1}),
        )
        .await,
        422,
        "unknown_unit",
    );
    let c = ok(
        &hs,
        &id,
        json!({"type": "whistle", "units": [d1, d2], "lead": d1, "note": "请住建、水务到场"}),
    )
    .await;
    assert_eq!(c["state"], "in_progress");
    let h1 = env.login("handler_d01").await;
    let h2 = env.login("handler_d02").await;
    ok(&h1, &id, json!({"type": "report_in", "note": "已到场"})).await;
    refused(
        &cmd(&h1, &id, json!({"type": "report_in"})).await,
        409,
        "already_done",
    );
    ok(&h2, &id, json!({"type": "report_in"})).await;
    // The street holds the case but is not summoned.
    refused(
        &cmd(&hs, &id, json!({"type": "record_part", "text": "x"})).await,
        403,
        "not_summoned",
    );
    let reply = json!({"type": "reply", "outcome": "resolved", "text": "管网已改造"});
    refused(&cmd(&h1, &id, reply.clone()).await, 409, "parts_missing");
    ok(
        &h2,
        &id,
        json!({"type": "record_part", "text": "已完成管网排查"}),
    )
    .await;
    let c = ok(&h1, &id, reply).await;
    assert_eq!(c["state"], "replied");
    let types = timeline_types(&hs, &id).await;
    for t in ["whistled", "reported_in", "part_recorded", "replied"] {
        assert!(types.iter().any(|x| x == t), "{t} missing from {types:?}");
    }
}

async fn callback_queue_lists_cases_waiting_for_their_callback(env: &Env) {
    let unit = dept(3);
    let id = dispatched(env, &unit, "路灯不亮，回访队列").await;
    let h = env.login("handler_d03").await;
    ok(&h, &id, json!({"type": "accept"})).await;
    ok(&h, &id, json!({"type": "contact"})).await;
    ok(
        &h,
        &id,
        json!({"type": "reply", "outcome": "resolved", "text": "已修复"}),
    )
    .await;
    let op = env.login("operator").await;
    let queue = |v: Value| -> Option<Value> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id.as_str())
            .cloned()
    };
    // Not in the queue before its reply is approved.
    let r = op.get("/api/v1/callbacks").await.unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(queue(r.json()).is_none());
    let disp = env.login("dispatcher").await;
    ok(&disp, &id, json!({"type": "review", "decision": "approve"})).await;
    let item = queue(op.get("/api/v1/callbacks").await.unwrap().json()).expect("queued");
    assert_eq!(item["attempts"], 0);
    assert_eq!(item["attempts_allowed"], 3);
    assert_eq!(item["unit_id"], unit.as_str());
    assert!(item["approved_at"].as_str().is_some());
    // The operator calls reporters back: he sees the number in full.
    assert_eq!(item["reporter_phone"], "13912345678");
    let unreachable = json!({"type": "callback", "resolved": false, "satisfaction": "unreachable"});
    ok(&op, &id, unreachable.clone()).await;
    ok(&op, &id, unreachable.clone()).await;
    let item = queue(op.get("/api/v1/callbacks").await.unwrap().json()).expect("still queued");
    assert_eq!(item["attempts"], 2);
    // The third unanswered call is the outcome: out of the queue, closed.
    let c = ok(&op, &id, unreachable).await;
    assert_eq!(c["state"], "closed");
    assert!(queue(op.get("/api/v1/callbacks").await.unwrap().json()).is_none());
    // Leaders do not call back.
    let leader = env.login("leader").await;
    refused(
        &leader.get("/api/v1/callbacks").await.unwrap(),
        403,
        "role_forbidden",
    );
}

async fn the_board_counts_open_cases_supervisions_and_reminders(env: &Env) {
    let unit = dept(4);
    let a = dispatched(env, &unit, "占道经营，督办看板一").await;
    let b = dispatched(env, &unit, "噪音扰民，督办看板二").await;
    let leader = env.login("leader").await;
    ok(
        &leader,
        &a,
        json!({"type": "supervise", "level": "listed", "note": "挂牌督办，限期办结",
               "due": "2026-06-20T17:00:00+08:00"}),
    )
    .await;
    ok(
        &leader,
        &b,
        json!({"type": "supervise", "level": "key", "note": "重点督办"}),
    )
    .await;
    ok(&leader, &b, json!({"type": "remind", "note": "请尽快签收"})).await;
    let r = leader.get("/api/v1/supervision/board").await.unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    let board = r.json();
    let row = board["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit_id"] == unit.as_str())
        .cloned()
        .expect("the unit's row");
    assert_eq!(row["open"], 2, "{row}");
    // Both were dispatched just now: each must be accepted within 2 working hours.
    assert_eq!(row["due_soon"], 2, "{row}");
    assert_eq!(row["overdue"], 0);
    assert_eq!(
        row["supervisions"],
        json!({"general": 0, "key": 1, "listed": 1})
    );
    let listed: Vec<&Value> = board["supervised"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["case_id"] == a.as_str())
        .collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["level"], "listed");
    assert_eq!(listed[0]["level_zh"], "挂牌督办");
    // Handlers have no board; an appeal decided without the role, and a card that is not there.
    let h = env.login("handler_d04").await;
    refused(
        &h.get("/api/v1/supervision/board").await.unwrap(),
        403,
        "role_forbidden",
    );
    refused(
        &cmd(
            &leader,
            &a,
            json!({"type": "decide_appeal", "card": "Y1", "decision": "revoke", "reason": "x"}),
        )
        .await,
        403,
        "role_forbidden",
    );
    refused(
        &cmd(
            &h,
            &a,
            json!({"type": "appeal", "card": "Y1", "reason": "系统故障"}),
        )
        .await,
        404,
        "card_not_found",
    );
}

on_both_backends!(
    a_street_whistles_two_departments,
    callback_queue_lists_cases_waiting_for_their_callback,
    the_board_counts_open_cases_supervisions_and_reminders,
);
