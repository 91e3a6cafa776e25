//! The HTTP API end to end, over real TCP, on SQLite and on PostgreSQL: every lifecycle path,
//! the refusals (state, role, scope), bad input, idempotency, masking, sessions.

mod support;

use jiesu::client::{Client, Response};
use serde_json::{Value, json};
use support::Env;

const COUNTY: &str = "420381";
const DEPT1: &str = "420381D01";
const STREET1: &str = "420381001";
const COMM1: &str = "420381001001";

fn assert_problem(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/problem+json");
    let p = r.json();
    assert_eq!(p["code"], code, "{p}");
    assert_eq!(p["status"], status);
    for f in ["title", "title_en", "detail", "type"] {
        assert!(
            p[f].as_str().is_some_and(|s| !s.is_empty()),
            "problem lacks {f}: {p}"
        );
    }
}

fn intake_body(title: &str) -> Value {
    json!({
        "kind": "complaint", "category": "urban.street_vending", "title": title,
        "description": "市民反映丹二巷早晚有商贩占道经营，行人只能走机动车道。",
        "address": "丹江口市均州路街道丹二巷",
        "reporter": {"name": "王先生", "phone": "13812345678"}
    })
}

async fn create(c: &Client, title: &str) -> Value {
    let r = c.post("/api/v1/cases", &intake_body(title)).await.unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn cmd(c: &Client, id: &str, body: Value) -> Response {
    c.post(&format!("/api/v1/cases/{id}/commands"), &body)
        .await
        .unwrap()
}

async fn ok(c: &Client, id: &str, body: Value) -> Value {
    let r = cmd(c, id, body.clone()).await;
    assert_eq!(
        r.status,
        200,
        "{body} → {}",
        String::from_utf8_lossy(&r.body)
    );
    r.json()
}

async fn main_line(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d01").await;
    let c = create(&op, "丹二巷占道经营严重").await;
    assert_eq!(c["state"], "received");
    assert!(c["number"].as_str().unwrap().starts_with("20260610"));
    assert_eq!(c["number"].as_str().unwrap().len(), 14);
    let id = c["id"].as_str().unwrap().to_string();
    let c = ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    assert_eq!(c["state"], "dispatched");
    assert_eq!(c["assigned_unit"]["id"], DEPT1);
    let due = c["deadlines"]["resolve_due"].as_str().unwrap();
    // Wednesday 10 June 2026 + 15 working days, skipping 端午 (19 June).
    assert!(due.starts_with("2026-07-02T"), "{due}");
    assert_eq!(c["deadlines"]["resolve_rule"], "15 working days");
    assert_eq!(c["deadlines"]["resolve_rule_zh"], "15个工作日");
    ok(&h, &id, json!({"type": "accept"})).await;
    ok(
        &h,
        &id,
        json!({"type": "contact", "note": "已电话联系诉求人"}),
    )
    .await;
    let c = ok(
        &h,
        &id,
        json!({"type": "reply", "outcome": "resolved", "text": "已清理占道摊点"}),
    )
    .await;
    assert_eq!(c["state"], "replied");
    let c = ok(&disp, &id, json!({"type": "review", "decision": "approve"})).await;
    assert_eq!(c["state"], "awaiting_callback");
    let c = ok(
        &op,
        &id,
        json!({"type": "callback", "resolved": true, "satisfaction": "satisfied"}),
    )
    .await;
    assert_eq!(c["state"], "closed");
    assert_eq!(c["callback"]["satisfaction"], "satisfied");
    // The trail: totally ordered, hash-chained, nothing missing.
    let t = op
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap()
        .json();
    let events = t["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "received",
            "dispatched",
            "accepted",
            "contacted",
            "replied",
            "reply_approved",
            "callback_recorded",
            "closed"
        ]
    );
    let mut prev = "0".repeat(64);
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"], i as u64 + 1);
        assert_eq!(e["prev_hash"], prev.as_str());
        assert_eq!(e["hash"].as_str().unwrap().len(), 64);
        assert!(e["actor"]["id"].as_str().is_some() && e["at"].as_str().is_some());
        prev = e["hash"].as_str().unwrap().to_string();
    }
    // The case is reachable by its number too.
    let by_number = op
        .get(&format!("/api/v1/cases/{}", c["number"].as_str().unwrap()))
        .await
        .unwrap();
    assert_eq!(by_number.json()["id"], id.as_str());
}

async fn refusals(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h1 = env.login("handler_d01").await;
    let h2 = env.login("handler_d02").await;
    let leader = env.login("leader").await;
    let id = create(&op, "北京路路灯不亮").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Before dispatch the department cannot read the case, so for its commands there is none.
    assert_problem(
        &cmd(&h1, &id, json!({"type": "dispatch", "unit": DEPT1})).await,
        404,
        "case_not_found",
    );
    assert_problem(
        &cmd(&leader, &id, json!({"type": "dispatch", "unit": DEPT1})).await,
        403,
        "role_forbidden",
    );
    assert_problem(
        &cmd(&leader, &id, json!({"type": "accept"})).await,
        403,
        "role_forbidden",
    );
    assert_problem(
        &cmd(&op, &id, json!({"type": "review", "decision": "approve"})).await,
        403,
        "role_forbidden",
    );
    ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    assert_problem(
        &cmd(&h2, &id, json!({"type": "accept"})).await,
        404,
        "case_not_found",
    );
    assert_problem(
        &cmd(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await,
        409,
        "wrong_state",
    );
    ok(&h1, &id, json!({"type": "accept"})).await;
    assert_problem(
        &cmd(&h1, &id, json!({"type": "accept"})).await,
        409,
        "wrong_state",
    );
    assert_problem(
        &cmd(
            &h1,
            &id,
            json!({"type": "reply", "outcome": "resolved", "text": "x"}),
        )
        .await,
        409,
        "wrong_state",
    );
    assert_problem(
        &cmd(&h1, &id, json!({"type": "fly"})).await,
        422,
        "invalid_body",
    );
    assert_problem(
        &cmd(&h1, &id, json!({"type": "accept", "extra": 1})).await,
        422,
        "invalid_body",
    );
    assert_problem(
        &cmd(
            &disp,
            &id,
            json!({"type": "merge", "into": "20990101000001"}),
        )
        .await,
        404,
        "merge_target_invalid",
    );
    // Another department cannot read it; a citizen who did not report it cannot see it exists.
    assert_problem(
        &h2.get(&format!("/api/v1/cases/{id}")).await.unwrap(),
        404,
        "case_not_found",
    );
    let cit = env.login("citizen01").await;
    assert_problem(
        &cit.get(&format!("/api/v1/cases/{id}")).await.unwrap(),
        404,
        "case_not_found",
    );
    assert_problem(
        &cmd(&cit, &id, json!({"type": "annotate", "text": "x"})).await,
        404,
        "case_not_found",
    );
    assert_problem(
        &op.get("/api/v1/cases/nope").await.unwrap(),
        404,
        "case_not_found",
    );
    // Out-of-scope list filters are refused, not silently emptied.
    assert_problem(
        &h1.get(&format!("/api/v1/cases?unit={STREET1}"))
            .await
            .unwrap(),
        403,
        "out_of_scope",
    );
    assert_problem(
        &h1.get("/api/v1/cases?state=bogus").await.unwrap(),
        400,
        "invalid_query",
    );
    // Staff must be signed in at all.
    assert_problem(
        &env.client()
            .get(&format!("/api/v1/cases/{id}"))
            .await
            .unwrap(),
        401,
        "unauthorized",
    );
    assert_problem(
        &env.client()
            .with_token("forged")
            .get("/api/v1/worklist")
            .await
            .unwrap(),
        401,
        "unauthorized",
    );
}

async fn return_and_redispatch(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let hs = env.login("handler_s01").await;
    let hc = env.login(&format!("handler_c{COMM1}")).await;
    let hd = env.login("handler_d01").await;
    let id = create(&op, "丹二社区楼道堆放杂物").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    assert_problem(
        &cmd(&hd, &id, json!({"type": "return", "reason": ""})).await,
        422,
        "validation_failed",
    );
    let c = ok(
        &hd,
        &id,
        json!({"type": "return", "reason": "属地管理事项，不属于本部门职责"}),
    )
    .await;
    assert_eq!(c["state"], "received");
    assert_eq!(c["return_count"], 1);
    ok(&disp, &id, json!({"type": "dispatch", "unit": STREET1})).await;
    // The street passes it down to its community, never sideways.
    assert_problem(
        &cmd(&hs, &id, json!({"type": "redispatch", "unit": DEPT1})).await,
        403,
        "out_of_scope",
    );
    let c = ok(&hs, &id, json!({"type": "redispatch", "unit": COMM1})).await;
    assert_eq!(c["assigned_unit"]["id"], COMM1);
    let c = ok(
        &hc,
        &id,
        json!({"type": "return", "reason": "该楼栋不在本社区"}),
    )
    .await;
    assert_eq!(c["assigned_unit"]["id"], STREET1);
    assert_eq!(c["state"], "dispatched");
    ok(&hs, &id, json!({"type": "accept"})).await;
    ok(&hs, &id, json!({"type": "contact"})).await;
    let c = ok(&hs, &id, json!({"type": "reply", "outcome": "unresolvable", "text": "涉及产权纠纷", "reason": "需法院判决"})).await;
    assert_eq!(c["reply"]["outcome"], "unresolvable");
    let c = ok(
        &disp,
        &id,
        json!({"type": "review", "decision": "reject", "comment": "请协调物业先行清理"}),
    )
    .await;
    assert_eq!(c["state"], "in_progress");
}

async fn extension_suspension_reopen_merge(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d01").await;
    let insp = env.login("inspector").await;
    let id = create(&op, "汉江花园楼下烧烤店夜间噪音").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    ok(&h, &id, json!({"type": "accept"})).await;
    let c = ok(
        &h,
        &id,
        json!({"type": "request_extension", "working_days": 5, "reason": "需联合市场监管部门执法"}),
    )
    .await;
    let due = c["deadlines"]["resolve_due"].as_str().unwrap().to_string();
    assert_problem(
        &cmd(
            &h,
            &id,
            json!({"type": "request_extension", "working_days": 3, "reason": "x"}),
        )
        .await,
        409,
        "extension_pending",
    );
    assert_problem(
        &cmd(&h, &id, json!({"type": "approve_extension"})).await,
        403,
        "role_forbidden",
    );
    let c = ok(
        &disp,
        &id,
        json!({"type": "approve_extension", "comment": "同意延期5个工作日"}),
    )
    .await;
    let new_due = c["deadlines"]["resolve_due"].as_str().unwrap();
    assert!(new_due > due.as_str(), "{new_due} after {due}");
    assert_eq!(c["extensions_granted"], 1);
    assert_problem(
        &cmd(&disp, &id, json!({"type": "deny_extension", "reason": "x"})).await,
        409,
        "no_extension_pending",
    );
    let c = ok(
        &disp,
        &id,
        json!({"type": "suspend", "reason": "等待噪音检测报告"}),
    )
    .await;
    assert_eq!(c["state"], "suspended");
    assert_problem(
        &cmd(&h, &id, json!({"type": "contact"})).await,
        409,
        "wrong_state",
    );
    let c = ok(&disp, &id, json!({"type": "resume"})).await;
    assert_eq!(c["state"], "accepted");
    ok(&h, &id, json!({"type": "contact"})).await;
    ok(
        &h,
        &id,
        json!({"type": "reply", "outcome": "resolved", "text": "已责令整改"}),
    )
    .await;
    ok(&disp, &id, json!({"type": "review", "decision": "approve"})).await;
    // Unsatisfied for a reason the unit caused: reopened once at once (重办), with a new deadline.
    let c = ok(&op, &id, json!({"type": "callback", "resolved": false, "satisfaction": "unsatisfied", "note": "晚上仍有噪音"})).await;
    assert_eq!(c["state"], "in_progress");
    assert_eq!(c["reopen_count"], 1);
    ok(
        &h,
        &id,
        json!({"type": "reply", "outcome": "resolved", "text": "已安装隔音设施"}),
    )
    .await;
    ok(&disp, &id, json!({"type": "review", "decision": "approve"})).await;
    // The second rating closes it, whatever it is.
    let c = ok(
        &op,
        &id,
        json!({"type": "callback", "resolved": false, "satisfaction": "unsatisfied"}),
    )
    .await;
    assert_eq!(c["state"], "closed");
    assert_problem(
        &cmd(&disp, &id, json!({"type": "reopen", "reason": "again"})).await,
        409,
        "wrong_state",
    );
    let c = ok(
        &insp,
        &id,
        json!({"type": "reopen", "reason": "督查抽查发现问题仍存在"}),
    )
    .await;
    assert_eq!(c["state"], "in_progress");
    // A duplicate follows its master.
    let dup = create(&op, "汉江花园烧烤噪音（重复来电）").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = ok(&disp, &dup, json!({"type": "merge", "into": id})).await;
    assert_eq!(c["state"], "merged");
    assert_eq!(c["merged_into"], id.as_str());
    assert_problem(
        &cmd(&disp, &dup, json!({"type": "dispatch", "unit": DEPT1})).await,
        409,
        "wrong_state",
    );
    ok(
        &disp,
        &dup,
        json!({"type": "annotate", "text": "已并入主工单"}),
    )
    .await;
    // An inquiry answered on the phone.
    let q = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "inquiry", "title": "社保卡补办咨询"}),
        )
        .await
        .unwrap()
        .json();
    let c = ok(
        &op,
        q["id"].as_str().unwrap(),
        json!({"type": "answer_directly", "answer": "已告知补办地点和材料"}),
    )
    .await;
    assert_eq!(c["state"], "closed");
    assert_eq!(c["direct_answer"], "已告知补办地点和材料");
}

async fn idempotency(env: &Env) {
    let op = env.login("operator").await;
    let key = format!(
        "idem-{}-{}",
        env.backend,
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    );
    let h = [("idempotency-key", key.as_str())];
    let first = op
        .post_with("/api/v1/cases", &h, &intake_body("重复提交测试"))
        .await
        .unwrap();
    assert_eq!(first.status, 201);
    let again = op
        .post_with("/api/v1/cases", &h, &intake_body("重复提交测试"))
        .await
        .unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["id"], first.json()["id"]);
    let other = op
        .post_with("/api/v1/cases", &h, &intake_body("另一个诉求"))
        .await
        .unwrap();
    assert_problem(&other, 409, "idempotency_key_mismatch");
    // A keyed request the domain refuses is refused with its reason, and makes nothing: the key
    // stays free for a corrected request.
    let bad_key = format!("{key}-bad");
    let mut bad = intake_body("分类不存在");
    bad["category"] = json!("no.such.category");
    for _ in 0..2 {
        let r = op
            .post_with(
                "/api/v1/cases",
                &[("idempotency-key", bad_key.as_str())],
                &bad,
            )
            .await
            .unwrap();
        assert_problem(&r, 422, "validation_failed");
    }
    let fixed = op
        .post_with(
            "/api/v1/cases",
            &[("idempotency-key", bad_key.as_str())],
            &intake_body("分类不存在"),
        )
        .await
        .unwrap();
    assert_eq!(fixed.status, 201);
    // Twenty concurrent retries of one new key make exactly one case.
    let key2 = format!("{key}-burst");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let op = op.clone();
        let k = key2.clone();
        tasks.push(tokio::spawn(async move {
            op.post_with(
                "/api/v1/cases",
                &[("idempotency-key", k.as_str())],
                &intake_body("并发重试"),
            )
            .await
            .unwrap()
        }));
    }
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for t in tasks {
        let r = t.await.unwrap();
        assert!(r.status == 200 || r.status == 201);
        created += usize::from(r.status == 201);
        ids.insert(r.json()["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(created, 1);
    // Keys belong to their user: another operator's same key is a different case.
    let op2 = env.login("operator2").await;
    let r = op2
        .post_with("/api/v1/cases", &h, &intake_body("重复提交测试"))
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    assert_ne!(r.json()["id"], first.json()["id"]);
    assert_problem(
        &op.post_with(
            "/api/v1/cases",
            &[("idempotency-key", "")],
            &intake_body("x"),
        )
        .await
        .unwrap(),
        400,
        "invalid_idempotency_key",
    );
}

async fn bad_input(env: &Env) {
    let op = env.login("operator").await;
    let stamp = format!(
        "{}-{}",
        env.backend,
        chrono::Utc::now().timestamp_nanos_opt().unwrap()
    );
    let key = |n: u32| format!("bad-{stamp}-{n}");
    let send = |n: u32, ct: &'static str, body: Vec<u8>| {
        let op = op.clone();
        let k = key(n);
        async move {
            op.send(
                "POST",
                "/api/v1/cases",
                &[("content-type", ct), ("idempotency-key", k.as_str())],
                body,
            )
            .await
            .unwrap()
        }
    };
    let json_ct = "application/json";
    assert_problem(
        &send(
            1,
            json_ct,
            b"{\"kind\": \"complaint\", \"title\": ".to_vec(),
        )
        .await,
        400,
        "invalid_json",
    );
    assert_problem(
        &send(
            2,
            json_ct,
            b"{\"kind\":\"complaint\",\"title\":\"\xff\xfe\"}".to_vec(),
        )
        .await,
        400,
        "invalid_utf8",
    );
    assert_problem(
        &send(
            3,
            json_ct,
            br#"{"kind":"complaint","title":"x","colour":"red"}"#.to_vec(),
        )
        .await,
        422,
        "invalid_body",
    );
    assert_problem(
        &send(4, json_ct, br#"{"kind":"complaint","title":42}"#.to_vec()).await,
        422,
        "invalid_body",
    );
    assert_problem(
        &send(5, json_ct, br#"{"kind":"gossip","title":"x"}"#.to_vec()).await,
        422,
        "invalid_body",
    );
    let huge = format!(
        r#"{{"kind":"complaint","title":"{}"}}"#,
        "字".repeat(350_000)
    );
    assert_problem(
        &send(6, json_ct, huge.into_bytes()).await,
        413,
        "payload_too_large",
    );
    let long_title = json!({"kind": "complaint", "title": "长".repeat(101)}).to_string();
    let r = send(7, json_ct, long_title.into_bytes()).await;
    assert_problem(&r, 422, "validation_failed");
    assert_eq!(r.json()["field"], "title");
    assert_problem(
        &send(
            8,
            "text/plain",
            br#"{"kind":"complaint","title":"x"}"#.to_vec(),
        )
        .await,
        415,
        "unsupported_media_type",
    );
    assert_problem(
        &send(9, json_ct, br#"[1,2,3]"#.to_vec()).await,
        422,
        "invalid_body",
    );
    assert_problem(&send(10, json_ct, Vec::new()).await, 400, "invalid_json");
    assert_problem(
        &send(
            11,
            json_ct,
            br#"{"kind":"complaint","title":"x","reporter":{"phone":"call me maybe"}}"#.to_vec(),
        )
        .await,
        422,
        "validation_failed",
    );
    assert_problem(
        &send(
            12,
            json_ct,
            br#"{"kind":"complaint","title":"x","location":{"lon":999,"lat":0}}"#.to_vec(),
        )
        .await,
        422,
        "validation_failed",
    );
    // Nothing was written: every key is still unused, so a good request with it creates a case.
    for n in 1..=12 {
        let r = op
            .post_with(
                "/api/v1/cases",
                &[("idempotency-key", key(n).as_str())],
                &intake_body("校验后重新提交"),
            )
            .await
            .unwrap();
        assert_eq!(r.status, 201, "key {n} was used by a refused request");
    }
    // Login and commands refuse bad bodies the same way.
    let r = env
        .client()
        .send(
            "POST",
            "/api/v1/auth/login",
            &[("content-type", json_ct)],
            b"{\"username\":1}".to_vec(),
        )
        .await
        .unwrap();
    assert_problem(&r, 422, "invalid_body");
    let r = op
        .send(
            "POST",
            "/api/v1/cases/x/commands",
            &[("content-type", json_ct)],
            b"nonsense".to_vec(),
        )
        .await
        .unwrap();
    assert_problem(&r, 400, "invalid_json");
    // Unknown routes and methods are problems too.
    assert_problem(
        &op.get("/api/v1/nothing-here").await.unwrap(),
        404,
        "not_found",
    );
    assert_problem(
        &op.send("DELETE", "/api/v1/cases", &[], Vec::new())
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    );
    assert_problem(
        &op.get("/api/v1/cases?limit=abc").await.unwrap(),
        400,
        "invalid_query",
    );
}

async fn sessions_and_lockout(env: &Env) {
    let c = env.client();
    let r = c
        .post(
            "/api/v1/auth/login",
            &json!({"username": "operator", "password": "wrong"}),
        )
        .await
        .unwrap();
    assert_problem(&r, 401, "invalid_credentials");
    let r = c
        .post(
            "/api/v1/auth/login",
            &json!({"username": "nobody", "password": "wrong"}),
        )
        .await
        .unwrap();
    assert_problem(&r, 401, "invalid_credentials");
    let op = env.login("operator3").await;
    let me = op.get("/api/v1/auth/me").await.unwrap().json();
    assert_eq!(me["username"], "operator3");
    assert_eq!(me["grants"][0]["role"], "operator");
    assert!(me["expires_at"].as_str().is_some());
    let r = op.post("/api/v1/auth/logout", &json!({})).await.unwrap();
    assert_eq!(r.status, 204);
    assert_problem(
        &op.get("/api/v1/auth/me").await.unwrap(),
        401,
        "unauthorized",
    );
    // Five wrong passwords lock the username from this address for 15 minutes, even against the
    // right password (tests/signin.rs: other addresses, spraying, unknown usernames).
    for _ in 0..5 {
        let r = c
            .post(
                "/api/v1/auth/login",
                &json!({"username": "citizen02", "password": "guess"}),
            )
            .await
            .unwrap();
        assert_problem(&r, 401, "invalid_credentials");
    }
    let r = c
        .post(
            "/api/v1/auth/login",
            &json!({"username": "citizen02", "password": env.password("citizen02")}),
        )
        .await
        .unwrap();
    assert_problem(&r, 429, "too_many_attempts");
    // Every sign-in is in the hash-chained audit log, with its address: failures, the lock, and
    // the successes; inspectors read it, nobody else.
    let insp = env.login("inspector").await;
    let log = insp
        .get("/api/v1/audit?target=user:citizen02")
        .await
        .unwrap()
        .json();
    let actions: Vec<&str> = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let failed = actions.iter().filter(|a| **a == "sign_in_failed").count();
    assert_eq!(failed, 5, "{actions:?}");
    assert!(actions.contains(&"sign_in_locked"), "{actions:?}");
    let ok = insp
        .get("/api/v1/audit?action=sign_in&limit=1000")
        .await
        .unwrap()
        .json();
    assert!(
        ok["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["actor_name"] == "operator3"
                && e["address"] == "127.0.0.1"
                && e["hash"].as_str().is_some_and(|h| h.len() == 64)),
        "{ok}"
    );
    let op = env.login("operator3").await;
    assert_problem(
        &op.get("/api/v1/audit?action=sign_in").await.unwrap(),
        403,
        "role_forbidden",
    );
}

async fn password_change(env: &Env) {
    let old = env.password("citizen03");
    let a = env.login("citizen03").await;
    let b = env.login("citizen03").await;
    let change = |old: &str, new: &str| json!({"old_password": old, "new_password": new});
    let r = a
        .post(
            "/api/v1/auth/password",
            &change("not-it", "丹江口市接诉即办2026"),
        )
        .await
        .unwrap();
    assert_problem(&r, 403, "wrong_password");
    for weak in ["short", "1234567890", "my-citizen03-pass"] {
        let r = a
            .post("/api/v1/auth/password", &change(&old, weak))
            .await
            .unwrap();
        assert_problem(&r, 422, "weak_password");
        assert_eq!(r.json()["field"], "new_password");
    }
    // Refusals changed nothing: the other session still works.
    assert_eq!(b.get("/api/v1/auth/me").await.unwrap().status, 200);
    let r = a
        .post(
            "/api/v1/auth/password",
            &change(&old, "丹江口市接诉即办2026"),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204, "{}", String::from_utf8_lossy(&r.body));
    // Every other session ended; this one goes on.
    assert_problem(
        &b.get("/api/v1/auth/me").await.unwrap(),
        401,
        "unauthorized",
    );
    assert_eq!(a.get("/api/v1/auth/me").await.unwrap().status, 200);
    let c = env.client();
    let r = c
        .post(
            "/api/v1/auth/login",
            &json!({"username": "citizen03", "password": old}),
        )
        .await
        .unwrap();
    assert_problem(&r, 401, "invalid_credentials");
    c.login("citizen03", "丹江口市接诉即办2026")
        .await
        .expect("the new password signs in");
    let insp = env.login("inspector").await;
    let log = insp
        .get("/api/v1/audit?target=user:citizen03")
        .await
        .unwrap()
        .json();
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "password_changed"),
        "{log}"
    );
}

async fn masking_and_scope(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let leader = env.login("leader").await;
    let h = env.login("handler_d01").await;
    let c = create(&op, "市民手机号脱敏测试").await;
    let id = c["id"].as_str().unwrap();
    // Even the operator who took the call sees the number masked until he reveals it.
    assert_eq!(c["reporter"]["phone"], "138****5678");
    assert_eq!(c["reporter"]["name"], "王**");
    assert_eq!(c["reporter"]["revealable"], true);
    let l = leader
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .unwrap()
        .json();
    assert_eq!(l["reporter"]["phone"], "138****5678");
    assert_eq!(l["reporter"]["phone_masked"], true);
    let t = leader
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap()
        .json();
    assert_eq!(
        t["events"][0]["data"]["draft"]["reporter"]["phone"],
        "138****5678"
    );
    assert!(!t.to_string().contains("13812345678"));
    // Before dispatch the department cannot see it; after, its handler sees the number to call back.
    assert_eq!(
        h.get(&format!("/api/v1/cases/{id}")).await.unwrap().status,
        404
    );
    ok(&disp, id, json!({"type": "dispatch", "unit": DEPT1})).await;
    let hc = h.get(&format!("/api/v1/cases/{id}")).await.unwrap().json();
    assert_eq!(hc["reporter"]["phone"], "138****5678");
    assert_eq!(hc["reporter"]["revealable"], true);
    let r = h
        .post(&format!("/api/v1/cases/{id}/reveal"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["phone"], "13812345678");
    assert_eq!(r.json()["name"], "王先生");
    // The reveal is in the audit log: who, from where, which case.
    let insp = env.login("inspector").await;
    let a = insp
        .get(&format!("/api/v1/audit?target={id}"))
        .await
        .unwrap()
        .json();
    let a = &a["items"].as_array().unwrap()[0];
    assert_eq!(a["action"], "reveal_reporter");
    assert_eq!(a["actor_id"], "u-handler_d01");
    assert_eq!(a["address"], "127.0.0.1");
    let r = h.get(&format!("/api/v1/audit?target={id}")).await.unwrap();
    assert_problem(&r, 403, "role_forbidden");
    // The leader may not reveal (masked is all his role sees); the inspector may, anonymous or not.
    assert_eq!(l["reporter"]["revealable"], false);
    let r = leader
        .post(&format!("/api/v1/cases/{id}/reveal"), &json!({}))
        .await
        .unwrap();
    assert_problem(&r, 403, "role_forbidden");
    // The department's list holds only what it may see.
    let list = h.get("/api/v1/cases?limit=200").await.unwrap().json();
    let items = list["items"].as_array().unwrap();
    assert!(items.iter().any(|i| i["id"] == id));
    for i in items {
        let involved = i["assigned_unit"]["id"] == DEPT1 || i["intake_unit"]["id"] == DEPT1;
        assert!(involved, "{} leaked to {DEPT1}", i["id"]);
    }
    // Anonymous reporters stay anonymous.
    let r = op.post("/api/v1/cases", &json!({"kind": "report", "title": "举报违规收费", "reporter": {"name": "张三", "phone": "13900001111", "anonymous": true}})).await.unwrap().json();
    let l = leader
        .get(&format!("/api/v1/cases/{}", r["id"].as_str().unwrap()))
        .await
        .unwrap()
        .json();
    assert_eq!(l["reporter"]["name"], "匿名");
    assert!(l["reporter"]["phone"].is_null());
    let anon = r["id"].as_str().unwrap();
    let r = op
        .post(&format!("/api/v1/cases/{anon}/reveal"), &json!({}))
        .await
        .unwrap();
    assert_problem(&r, 403, "role_forbidden");
    let insp = env.login("inspector").await;
    let v = insp
        .get(&format!("/api/v1/cases/{anon}"))
        .await
        .unwrap()
        .json();
    assert_eq!(v["reporter"]["phone"], "139****1111");
    let r = insp
        .post(&format!("/api/v1/cases/{anon}/reveal"), &json!({}))
        .await
        .unwrap();
    assert_eq!(r.json()["phone"], "13900001111");
    assert_eq!(r.json()["anonymous"], true);
}

async fn lists_worklist_and_citizens(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d03").await;
    // Three cases for department 3 of different urgency: the critical one comes first.
    let mut ids = Vec::new();
    for (title, urgency) in [
        ("道路破损一般", "normal"),
        ("道路塌方特急", "critical"),
        ("道路积水紧急", "urgent"),
    ] {
        let c = op
            .post(
                "/api/v1/cases",
                &json!({"kind": "complaint", "title": title, "urgency": urgency}),
            )
            .await
            .unwrap()
            .json();
        let id = c["id"].as_str().unwrap().to_string();
        ok(&disp, &id, json!({"type": "dispatch", "unit": "420381D03"})).await;
        ids.push(id);
    }
    let w = h.get("/api/v1/worklist").await.unwrap().json();
    let items = w["items"].as_array().unwrap();
    assert!(items.len() >= 3);
    assert_eq!(items[0]["id"], ids[1].as_str(), "critical first");
    let dues: Vec<&str> = items
        .iter()
        .filter_map(|i| i["deadlines"]["accept_due"].as_str())
        .collect();
    assert!(dues.len() == items.len());
    // The dispatcher's worklist holds what waits on the county (e.g. new cases).
    let new = create(&op, "待派单工单").await;
    let w = disp.get("/api/v1/worklist?limit=200").await.unwrap().json();
    assert!(
        w["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == new["id"])
    );
    // Paging by cursor never repeats an item.
    let p1 = op.get("/api/v1/cases?limit=2").await.unwrap().json();
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = op
        .get(&format!("/api/v1/cases?limit=2&cursor={cursor}"))
        .await
        .unwrap()
        .json();
    let a: Vec<&Value> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    let b: Vec<&Value> = p2["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &i["id"])
        .collect();
    assert_eq!(a.len(), 2);
    assert!(b.iter().all(|x| !a.contains(x)));
    let received = op
        .get("/api/v1/cases?state=received&limit=50")
        .await
        .unwrap()
        .json();
    assert!(
        received["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["state"] == "received")
    );
    // A citizen reports online and sees only his own cases.
    let cit = env.login("citizen01").await;
    let mine = cit
        .post(
            "/api/v1/cases",
            &json!({"kind": "suggestion", "title": "建议增设公交站点"}),
        )
        .await
        .unwrap();
    assert_eq!(mine.status, 201);
    assert_eq!(mine.json()["channel"], "web");
    // Filed at the county's dispatch centre, where a dispatcher holds a grant (not at the
    // city root, where nobody would ever see it).
    assert_eq!(mine.json()["intake_unit"]["id"], COUNTY);
    let mine_id = mine.json()["id"].as_str().unwrap().to_string();
    let disp = env.login("dispatcher").await;
    let wl = disp.get("/api/v1/worklist?limit=200").await.unwrap().json();
    let on_worklist = wl["items"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == mine_id.as_str());
    assert!(
        on_worklist,
        "the county dispatcher's worklist shows the citizen's case"
    );
    let d = ok(
        &disp,
        &mine_id,
        json!({"type": "dispatch", "unit": DEPT1, "note": "请研究"}),
    )
    .await;
    assert_eq!(d["state"], "dispatched");
    let list = cit.get("/api/v1/cases").await.unwrap().json();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["title"] == "建议增设公交站点"));
    assert_problem(
        &cit.post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "title": "x", "channel": "hotline"}),
        )
        .await
        .unwrap(),
        403,
        "channel_forbidden",
    );
    assert_problem(
        &cit.get("/api/v1/worklist").await.unwrap(),
        403,
        "role_forbidden",
    );
}

async fn reference_and_ops(env: &Env) {
    let op = env.login("operator").await;
    let units = op.get("/api/v1/units").await.unwrap().json();
    let items = units["items"].as_array().unwrap();
    let count = |k: &str| items.iter().filter(|u| u["kind"] == k).count();
    assert_eq!(count("department"), 25);
    assert!(count("street") + count("town") >= 10);
    assert!(count("community") + count("village") >= 150);
    assert!(count("grid") >= 400);
    assert!(
        items
            .iter()
            .any(|u| u["id"] == COUNTY && u["name"] == "丹江口市")
    );
    let g = op.get("/api/v1/units?geometry=true").await.unwrap().json();
    let grid = g["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["kind"] == "grid")
        .unwrap()
        .clone();
    assert_eq!(grid["geometry"]["type"], "Polygon");
    let cats = op.get("/api/v1/categories").await.unwrap().json();
    assert!(
        cats["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "urban.street_vending" && c["name"] == "占道经营")
    );
    let days = op
        .get("/api/v1/calendar/days?from=2026-09-30&to=2026-10-10")
        .await
        .unwrap()
        .json();
    let days = days["items"].as_array().unwrap();
    assert_eq!(days[0]["workday"], true);
    assert_eq!(days[1]["workday"], false);
    assert_eq!(days[1]["name"], "国庆节");
    assert_eq!(
        days[10]["workday"], true,
        "10 October 2026 is a make-up Saturday"
    );
    // No 2027 notice is installed: 2027 runs on the national rules' schedule, marked provisional.
    let days = op
        .get("/api/v1/calendar/days?from=2027-01-01&to=2027-01-04")
        .await
        .unwrap()
        .json();
    let days = days["items"].as_array().unwrap();
    assert_eq!(days[0]["workday"], false);
    assert_eq!(days[0]["name"], "元旦");
    assert_eq!(days[0]["provisional"], true);
    assert_eq!(days[3]["workday"], true, "Monday 4 January 2027");
    // Years before the newest notice are never guessed: their days are listed as unknown.
    let old = op
        .get("/api/v1/calendar/days?from=2018-01-01&to=2018-01-02")
        .await
        .unwrap()
        .json();
    assert_eq!(old["items"].as_array().unwrap().len(), 2);
    assert!(old["items"][0]["workday"].is_null(), "{old}");
    // A range before its start lists nothing; a long one lists 400 days.
    let none = op
        .get("/api/v1/calendar/days?from=2026-10-10&to=2026-10-01")
        .await
        .unwrap()
        .json();
    assert_eq!(none["items"].as_array().unwrap().len(), 0);
    let long = op
        .get("/api/v1/calendar/days?from=2026-01-01&to=2027-12-31")
        .await
        .unwrap()
        .json();
    assert_eq!(long["items"].as_array().unwrap().len(), 400);
    let policy = op.get("/api/v1/deadline-policy").await.unwrap().json();
    assert_eq!(policy["accept"]["unit"], "working_hours");
    let doc = env
        .client()
        .get("/api/v1/openapi.json")
        .await
        .unwrap()
        .json();
    assert_eq!(doc["openapi"], "3.1.0");
    for p in [
        "/api/v1/cases",
        "/api/v1/cases/{id}/commands",
        "/api/v1/worklist",
        "/api/v1/auth/login",
        "/api/v1/stations",
        "/api/v1/stations/{mn}/readings",
        "/api/v1/stations/{mn}/classes",
        "/api/v1/alarms",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from OpenAPI");
    }
    assert!(
        doc["components"]["schemas"]["Command"]["oneOf"]
            .as_array()
            .unwrap()
            .len()
            >= 18
    );
    let h = env.client().get("/healthz").await.unwrap();
    assert_eq!(h.status, 200);
    assert_eq!(h.json()["status"], "ok");
    let m = env.client().get("/metrics").await.unwrap();
    let text = String::from_utf8_lossy(&m.body);
    assert!(m.content_type.starts_with("text/plain"));
    assert!(text.contains("jiesu_http_requests_total"));
    assert!(text.contains("jiesu_writer_batches_total"));
}

/// A co-unit is summoned with the dispatch: it finds the case in its list and, while it owes its
/// report-in and part, on its worklist; the lead's reply waits for its part.
async fn summoned_units_find_their_cases(env: &Env) {
    let (op, disp) = (env.login("operator").await, env.login("dispatcher").await);
    let id = create(&op, "丹二巷占道经营（需城管与市场监管联合处置）").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    ok(
        &disp,
        &id,
        json!({"type": "dispatch", "unit": DEPT1, "co_units": ["420381D02"]}),
    )
    .await;
    let lead = env.login("handler_d01").await;
    let co = env.login("handler_d02").await;
    let on = |v: Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str())
    };
    assert!(
        on(co.get("/api/v1/cases?limit=200").await.unwrap().json()),
        "co-unit's list"
    );
    assert!(
        on(co.get("/api/v1/worklist?limit=200").await.unwrap().json()),
        "co-unit's worklist"
    );
    ok(&lead, &id, json!({"type": "accept"})).await;
    ok(&lead, &id, json!({"type": "contact"})).await;
    assert_problem(
        &cmd(
            &lead,
            &id,
            json!({"type": "reply", "outcome": "resolved", "text": "已处理"}),
        )
        .await,
        409,
        "parts_missing",
    );
    ok(&co, &id, json!({"type": "report_in", "note": "已到场"})).await;
    assert_problem(
        &cmd(&co, &id, json!({"type": "report_in"})).await,
        409,
        "already_done",
    );
    let c = ok(
        &co,
        &id,
        json!({"type": "record_part", "text": "已对无证摊贩立案查处"}),
    )
    .await;
    assert_eq!(c["summons"][0]["part"], "已对无证摊贩立案查处");
    assert!(
        !on(co.get("/api/v1/worklist?limit=200").await.unwrap().json()),
        "nothing owed"
    );
    assert!(
        on(co.get("/api/v1/cases?limit=200").await.unwrap().json()),
        "still listed"
    );
    let c = ok(
        &lead,
        &id,
        json!({"type": "reply", "outcome": "resolved", "text": "已联合处置"}),
    )
    .await;
    assert_eq!(c["state"], "replied");
}

/// The console's pages get their commands from the case, and check its trail.
async fn allowed_commands_and_verify(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d01").await;
    let c = create(&op, "单条工单可做的操作").await;
    let id = c["id"].as_str().unwrap().to_string();
    let view = disp
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .unwrap()
        .json();
    let cmds: Vec<&str> = view["allowed_commands"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        cmds.contains(&"dispatch") && !cmds.contains(&"accept"),
        "{cmds:?}"
    );
    // Lists leave it out: it is worked out per case.
    let list = disp.get("/api/v1/worklist").await.unwrap().json();
    assert!(list["items"][0].get("allowed_commands").is_none());
    let c = ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    assert!(
        !c["allowed_commands"]
            .as_array()
            .unwrap()
            .contains(&json!("dispatch"))
    );
    let view = h.get(&format!("/api/v1/cases/{id}")).await.unwrap().json();
    assert!(
        view["allowed_commands"]
            .as_array()
            .unwrap()
            .contains(&json!("accept"))
    );
    ok(&h, &id, json!({"type": "accept"})).await;

    let v = h.get(&format!("/api/v1/cases/{id}/verify")).await.unwrap();
    assert_eq!(v.status, 200);
    let v = v.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["events"], 3);
    let tl = h
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap()
        .json();
    assert_eq!(v["head"], tl["events"][2]["hash"]);
    // Out of scope: as unknown.
    let other = env.login("handler_d02").await;
    let r = other
        .get(&format!("/api/v1/cases/{id}/verify"))
        .await
        .unwrap();
    assert_problem(&r, 404, "case_not_found");
}

/// `/` and every path outside `/api/` serve the console (or, unbuilt, how to build it); an
/// unknown API path stays a problem.
async fn console_beside_the_api(env: &Env) {
    let c = env.client();
    for path in ["/", "/workbench", "/cases/20260610000001"] {
        let r = c.get(path).await.unwrap();
        assert_eq!(r.status, 200, "{path}");
        assert!(
            r.content_type.starts_with("text/html"),
            "{path}: {}",
            r.content_type
        );
        assert_eq!(r.headers["cache-control"], "no-cache");
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            body.contains("id=\"app\"") || body.contains("npm run build"),
            "{path}: {body}"
        );
    }
    let r = c.get("/assets/no-such-chunk-1234.js").await.unwrap();
    assert_eq!(r.status, 404);
    let r = c.get("/api/v1/no-such-endpoint").await.unwrap();
    assert_problem(&r, 404, "not_found");
}

fn multipart(name: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "jiesu-test-boundary-7d1c";
    let mut body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
         content-type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn upload(c: &Client, id: &str, name: &str, bytes: &[u8]) -> Response {
    let (ct, body) = multipart(name, bytes);
    c.send(
        "POST",
        &format!("/api/v1/cases/{id}/attachments"),
        &[("content-type", &ct)],
        body,
    )
    .await
    .unwrap()
}

/// A 640×480 photo-like PNG.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// Photos on a case: checked by content, stored in the database, named on the trail by their
/// hash, served to the case's readers only.
async fn attachments(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let h = env.login("handler_d01").await;
    let c = create(&op, "井盖破损附照片").await;
    let id = c["id"].as_str().unwrap().to_string();
    ok(&disp, &id, json!({"type": "dispatch", "unit": DEPT1})).await;
    let photo = png();
    let r = upload(&h, &id, "现场照片.png", &photo).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let a = r.json();
    assert_eq!(a["mime"], "image/png");
    assert_eq!(a["name"], "现场照片.png");
    assert_eq!(a["size"], photo.len());
    assert_eq!(a["has_thumbnail"], true);
    let att = a["id"].as_str().unwrap().to_string();
    let sha = a["sha256"].as_str().unwrap().to_string();
    let list = h
        .get(&format!("/api/v1/cases/{id}/attachments"))
        .await
        .unwrap()
        .json();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The dispatcher reads the same bytes back; the thumbnail is a small JPEG.
    let r = disp
        .get(&format!("/api/v1/attachments/{att}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "image/png");
    assert_eq!(&r.body[..], &photo[..]);
    let r = disp
        .get(&format!("/api/v1/attachments/{att}/thumbnail"))
        .await
        .unwrap();
    assert_eq!(r.content_type, "image/jpeg");
    let thumb = image::load_from_memory(&r.body).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));
    // The trail names the file by its hash, and the chain still verifies.
    let tl = h
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap()
        .json();
    let ev = tl["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(ev["type"], "attachment_added", "{ev}");
    assert_eq!(ev["data"]["sha256"], sha.as_str());
    let v = h
        .get(&format!("/api/v1/cases/{id}/verify"))
        .await
        .unwrap()
        .json();
    assert_eq!(v["ok"], true, "{v}");

    // Refusals: content that is not an image or PDF, whatever its name; a fake JPEG; a file over
    // 10 MiB; the trail written directly; someone outside the case.
    let r = upload(&h, &id, "photo.jpg", b"#!/bin/sh\necho not a photo\n").await;
    assert_problem(&r, 415, "unsupported_file_type");
    let r = upload(
        &h,
        &id,
        "broken.jpg",
        &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0, 1, 2, 3],
    )
    .await;
    assert_problem(&r, 422, "validation_failed");
    let mut big = b"%PDF-1.7\n".to_vec();
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let r = upload(&h, &id, "big.pdf", &big).await;
    assert_eq!(r.status, 413, "{}", String::from_utf8_lossy(&r.body));
    let r = cmd(
        &h,
        &id,
        json!({"type": "attach", "attachment": "att_x", "name": "x.png", "mime": "image/png",
               "size": 1, "sha256": sha}),
    )
    .await;
    assert_problem(&r, 422, "invalid_body");
    let other = env.login("handler_d02").await;
    let r = other
        .get(&format!("/api/v1/attachments/{att}"))
        .await
        .unwrap();
    assert_problem(&r, 404, "attachment_not_found");
    let r = upload(&other, &id, "x.png", &photo).await;
    assert_problem(&r, 404, "case_not_found");
    let list = h
        .get(&format!("/api/v1/cases/{id}/attachments"))
        .await
        .unwrap()
        .json();
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        1,
        "refused files are not kept"
    );
    // A PDF is taken, without a thumbnail.
    let r = upload(
        &h,
        &id,
        "处理报告.pdf",
        b"%PDF-1.4\n%\xe2\xe3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["has_thumbnail"], false);
}

/// A point inside the first grid with an area, that grid's id, and another grid's id.
async fn a_grid_point(c: &Client) -> ((f64, f64), String, String) {
    let units = c.get("/api/v1/units?geometry=true").await.unwrap().json();
    let grids: Vec<&Value> = units["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["kind"] == "grid" && u["geometry"].is_object())
        .collect();
    let g = grids[0];
    let ring = g["geometry"]["coordinates"][0].as_array().unwrap();
    let n = (ring.len() - 1) as f64;
    let (lon, lat) = ring[..ring.len() - 1].iter().fold((0.0, 0.0), |(x, y), p| {
        (
            x + p[0].as_f64().unwrap() / n,
            y + p[1].as_f64().unwrap() / n,
        )
    });
    (
        (lon, lat),
        g["id"].as_str().unwrap().to_string(),
        grids[1]["id"].as_str().unwrap().to_string(),
    )
}

/// The console's list filters, each against cases made for it, and the export of a filtered list.
async fn list_filters_and_export(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let phone = format!("1370000{:04}", std::process::id() % 10_000);
    let ((lon, lat), grid, other_grid) = a_grid_point(&op).await;
    let mut body = intake_body("筛选：网格内占道经营");
    body["reporter"]["phone"] = json!(phone);
    body["location"] = json!({"lon": lon, "lat": lat});
    body["channel"] = json!("web");
    let located = op.post("/api/v1/cases", &body).await.unwrap().json();
    let located_no = located["number"].as_str().unwrap().to_string();
    // Its title quotes the caller's number: the export must mask it as the list does.
    let mut body = intake_body(&format!("筛选：来电人{phone}第二件"));
    body["reporter"]["phone"] = json!(phone);
    let second = op.post("/api/v1/cases", &body).await.unwrap().json();
    ok(
        &disp,
        second["id"].as_str().unwrap(),
        json!({"type": "dispatch", "unit": DEPT1}),
    )
    .await;

    let numbers = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["number"].as_str().unwrap().to_string())
            .collect()
    };
    let list = |q: String| {
        let disp = disp.clone();
        async move {
            let r = disp.get(&format!("/api/v1/cases?{q}")).await.unwrap();
            assert_eq!(r.status, 200, "{q}: {}", String::from_utf8_lossy(&r.body));
            r.json()
        }
    };
    // By the reporter's phone: both, newest first.
    let v = list(format!("q={phone}")).await;
    assert_eq!(
        numbers(&v),
        vec![
            second["number"].as_str().unwrap().to_string(),
            located_no.clone()
        ]
    );
    // By number; by place; by channel and state together; by days.
    assert_eq!(
        numbers(&list(format!("q={located_no}")).await),
        vec![located_no.clone()]
    );
    assert!(numbers(&list(format!("grid={grid}")).await).contains(&located_no));
    assert!(!numbers(&list(format!("grid={other_grid}")).await).contains(&located_no));
    let v = list(format!("q={phone}&state=dispatched,accepted")).await;
    assert_eq!(
        numbers(&v),
        vec![second["number"].as_str().unwrap().to_string()]
    );
    let v = list(format!("q={phone}&channel=web&category=urban")).await;
    assert_eq!(numbers(&v), vec![located_no.clone()]);
    assert!(numbers(&list(format!("q={phone}&to=2026-06-09")).await).is_empty());
    assert_eq!(
        numbers(&list(format!("q={phone}&from=2026-06-10&to=2026-06-10")).await).len(),
        2
    );
    // Pages with a total.
    let v = list("page=1&page_size=2".into()).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2);
    assert!(v["total"].as_i64().unwrap() >= 2, "{}", v["total"]);
    assert_eq!(v["page_size"], 2);
    let p2 = list("page=2&page_size=2".into()).await;
    assert_ne!(numbers(&v), numbers(&p2));
    // A page past the first 10,000 cases is empty, with its total.
    // (Filtered to this test's caller: other tests may add cases to the shared store meanwhile.)
    let far = list(format!("q={phone}&page=600&page_size=20")).await;
    assert!(far["items"].as_array().unwrap().is_empty(), "{far}");
    assert_eq!(far["total"], 2);
    // Refusals: a leader may not look a caller up by phone; bad values are 400.
    let leader = env.login("leader").await;
    let r = leader
        .get(&format!("/api/v1/cases?q={phone}"))
        .await
        .unwrap();
    assert_problem(&r, 403, "role_forbidden");
    for q in [
        "state=open",
        "from=2026-13-01",
        "page=0",
        "q=abc",
        "channel=fax",
        "category=nope",
    ] {
        let r = disp.get(&format!("/api/v1/cases?{q}")).await.unwrap();
        assert_problem(&r, 400, "invalid_query");
    }
    // The export holds the filtered list, read back from the workbook.
    let r = disp
        .get(&format!("/api/v1/cases/export?q={phone}"))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.content_type.contains("spreadsheetml"));
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(r.body.to_vec())).unwrap();
    let sheet = wb.worksheet_range("工单列表").unwrap();
    let rows: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect();
    assert_eq!(rows[0][0], "工单编号");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert_eq!(rows[2][0], located_no);
    assert_eq!(rows[1][6], "已派单");
    assert!(!rows.concat().contains(&phone), "no phone in an export");
}

/// 进度查询: number and phone, no login; progress only; guessing is throttled.
async fn public_tracking(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let phone = format!("1360000{:04}", std::process::id() % 10_000);
    let mut body = intake_body("进度查询：小区路灯不亮");
    body["reporter"]["phone"] = json!(phone);
    let c = op.post("/api/v1/cases", &body).await.unwrap().json();
    let (id, number) = (c["id"].as_str().unwrap(), c["number"].as_str().unwrap());
    ok(
        &disp,
        id,
        json!({"type": "dispatch", "unit": DEPT1, "note": "内部备注不外传"}),
    )
    .await;
    let anyone = env.client();
    let r = anyone
        .post(
            "/api/v1/public/track",
            &json!({"number": number, "phone": phone}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let t = r.json();
    assert_eq!(t["state"], "dispatched");
    assert_eq!(t["unit"]["id"], DEPT1);
    let steps: Vec<&str> = t["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(steps, ["received", "dispatched"]);
    let text = t.to_string();
    assert!(
        !text.contains(&phone) && !text.contains("内部备注") && !text.contains("hash"),
        "{text}"
    );
    // A wrong phone, a wrong number: one answer. Five failures lock the number for this address.
    for (n, p) in [(number, "13000000000"), ("20990101000001", phone.as_str())] {
        let r = anyone
            .post("/api/v1/public/track", &json!({"number": n, "phone": p}))
            .await
            .unwrap();
        assert_problem(&r, 404, "case_not_found");
    }
    for _ in 0..4 {
        anyone
            .post(
                "/api/v1/public/track",
                &json!({"number": number, "phone": "13000000000"}),
            )
            .await
            .unwrap();
    }
    let r = anyone
        .post(
            "/api/v1/public/track",
            &json!({"number": number, "phone": phone}),
        )
        .await
        .unwrap();
    assert_problem(&r, 429, "too_many_attempts");
}

on_both_backends!(
    public_tracking,
    list_filters_and_export,
    attachments,
    allowed_commands_and_verify,
    console_beside_the_api,
    summoned_units_find_their_cases,
    main_line,
    refusals,
    return_and_redispatch,
    extension_suspension_reopen_merge,
    idempotency,
    bad_input,
    sessions_and_lockout,
    password_change,
    masking_and_scope,
    lists_worklist_and_citizens,
    reference_and_ops,
);
