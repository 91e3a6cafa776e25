//! Administration end to end on SQLite and PostgreSQL: users, grants, units, categories, the
//! deadline policy and calendar years; each refusal with its code; the audit trail of each
//! change; and (PostgreSQL) two nodes, where a change made on one takes effect on the other.

mod support;

use std::time::{Duration, Instant};

use jiesu::client::{Client, Response};
use serde_json::{Value, json};
use support::{Env, Node};

const COUNTY: &str = "420381";
const STREET1: &str = "420381001";
const STREET2: &str = "420381002";
const DEPT1: &str = "420381D01";
const NEW_PASSWORD: &str = "汉江北岸接诉即办-2026";

fn assert_problem(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.content_type, "application/problem+json");
    let p = r.json();
    assert_eq!(p["code"], code, "{p}");
    for f in ["title", "title_en", "detail"] {
        assert!(p[f].as_str().is_some_and(|s| !s.is_empty()), "{p}");
    }
}

fn body(r: &Response, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn audit_actions(env: &Env, target: &str) -> Vec<(String, String)> {
    let insp = env.login("inspector").await;
    let log = body(
        &insp
            .get(&format!("/api/v1/audit?target={target}"))
            .await
            .unwrap(),
        200,
    );
    log["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_string(),
                e["actor_name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Creates a user through the API and signs him in with a password of his own.
async fn new_user(env: &Env, admin: &Client, username: &str, grants: Value) -> (String, Client) {
    let temp = "管理员给的临时口令-0001";
    let u = body(
        &admin
            .post(
                "/api/v1/admin/users",
                &json!({"username": username, "display_name": "新同事", "password": temp,
                        "phone": "13900001111", "grants": grants}),
            )
            .await
            .unwrap(),
        201,
    );
    assert_eq!(u["must_change_password"], true);
    assert_eq!(u["phone"], "139****1111", "masked");
    let c = env.client().login(username, temp).await.unwrap();
    let r = c
        .post(
            "/api/v1/auth/password",
            &json!({"old_password": temp, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    (u["id"].as_str().unwrap().to_string(), c)
}

async fn users_and_sessions(env: &Env) {
    let admin = env.login("admin").await;
    let temp = "临时密码-handler-new-0001";
    let create = |username: &str, grants: Value| json!({"username": username, "display_name": "张办事员", "password": temp, "grants": grants});
    // Refusals first: each its own code, nothing created.
    for (req, status, code) in [
        (
            create("Bad Name", json!([{"role": "handler", "unit": DEPT1}])),
            422,
            "validation_failed",
        ),
        (
            create(
                "h_admin_test",
                json!([{"role": "handler", "unit": "nowhere"}]),
            ),
            422,
            "unknown_unit",
        ),
        (create("h_admin_test", json!([])), 422, "validation_failed"),
        (
            create("operator", json!([{"role": "handler", "unit": DEPT1}])),
            409,
            "username_taken",
        ),
        (
            json!({"username": "h_admin_test", "display_name": "张", "password": "h_admin_test-1",
                   "grants": [{"role": "handler", "unit": DEPT1}]}),
            422,
            "weak_password",
        ),
    ] {
        let r = admin.post("/api/v1/admin/users", &req).await.unwrap();
        assert_problem(&r, status, code);
    }
    // Not an admin.
    let op = env.login("operator").await;
    assert_problem(
        &op.post(
            "/api/v1/admin/users",
            &create("h_admin_test", json!([{"role": "handler", "unit": DEPT1}])),
        )
        .await
        .unwrap(),
        403,
        "role_forbidden",
    );
    assert_problem(
        &op.get("/api/v1/admin/users").await.unwrap(),
        403,
        "role_forbidden",
    );

    // Created: the password is the admin's, so it must be changed before anything else.
    let u = body(
        &admin
            .post(
                "/api/v1/admin/users",
                &create("h_admin_test", json!([{"role": "handler", "unit": DEPT1}])),
            )
            .await
            .unwrap(),
        201,
    );
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(u["grants"][0]["role"], "handler");
    let login = body(
        &env.client()
            .post(
                "/api/v1/auth/login",
                &json!({"username": "h_admin_test", "password": temp}),
            )
            .await
            .unwrap(),
        200,
    );
    assert_eq!(login["must_change_password"], true);
    let h = env
        .client()
        .with_token(login["token"].as_str().unwrap().to_string());
    assert_problem(
        &h.get("/api/v1/worklist").await.unwrap(),
        403,
        "password_change_required",
    );
    assert_eq!(
        body(&h.get("/api/v1/auth/me").await.unwrap(), 200)["must_change_password"],
        true
    );
    let r = h
        .post(
            "/api/v1/auth/password",
            &json!({"old_password": temp, "new_password": NEW_PASSWORD}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 204);
    assert_eq!(h.get("/api/v1/worklist").await.unwrap().status, 200);

    // Grants: add one, refuse it twice, remove it; the live session sees each change at once.
    let path = format!("/api/v1/admin/users/{id}/grants");
    let g = json!({"role": "dispatcher", "unit": STREET1});
    assert_eq!(admin.post(&path, &g).await.unwrap().status, 201);
    assert_problem(&admin.post(&path, &g).await.unwrap(), 409, "grant_exists");
    let me = body(&h.get("/api/v1/auth/me").await.unwrap(), 200);
    assert_eq!(me["grants"].as_array().unwrap().len(), 2, "{me}");
    let del = format!("/api/v1/admin/users/{id}/grants/dispatcher/{STREET1}");
    let after = body(&admin.delete(&del).await.unwrap(), 200);
    assert_eq!(after["grants"].as_array().unwrap().len(), 1);
    let me = body(&h.get("/api/v1/auth/me").await.unwrap(), 200);
    assert_eq!(me["grants"].as_array().unwrap().len(), 1, "{me}");
    assert_problem(&admin.delete(&del).await.unwrap(), 404, "grant_not_found");

    // Disabled: the session ends at once and sign-in is refused; enabled again, he signs in.
    let r = admin
        .post(&format!("/api/v1/admin/users/{id}/disable"), &json!({}))
        .await
        .unwrap();
    assert_eq!(body(&r, 200)["disabled"], true);
    assert_problem(
        &h.get("/api/v1/worklist").await.unwrap(),
        401,
        "unauthorized",
    );
    assert!(
        env.client()
            .login("h_admin_test", NEW_PASSWORD)
            .await
            .is_err()
    );
    admin
        .post(&format!("/api/v1/admin/users/{id}/enable"), &json!({}))
        .await
        .unwrap();
    let h = env
        .client()
        .login("h_admin_test", NEW_PASSWORD)
        .await
        .unwrap();

    // Reset: every session ends; the new password must be changed at sign-in.
    let reset = "管理员重置的密码-42";
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{id}/password"),
            &json!({"new_password": reset}),
        )
        .await
        .unwrap();
    assert_eq!(body(&r, 200)["sessions_ended"], 1);
    assert_problem(
        &h.get("/api/v1/auth/me").await.unwrap(),
        401,
        "unauthorized",
    );
    let again = body(
        &env.client()
            .post(
                "/api/v1/auth/login",
                &json!({"username": "h_admin_test", "password": reset}),
            )
            .await
            .unwrap(),
        200,
    );
    assert_eq!(again["must_change_password"], true);

    // An admin does not lock himself out.
    let me = body(&admin.get("/api/v1/auth/me").await.unwrap(), 200);
    let admin_id = me["id"].as_str().unwrap();
    assert_problem(
        &admin
            .post(
                &format!("/api/v1/admin/users/{admin_id}/disable"),
                &json!({}),
            )
            .await
            .unwrap(),
        409,
        "own_account",
    );
    assert_problem(
        &admin
            .post(
                &format!("/api/v1/admin/users/{admin_id}/password"),
                &json!({"new_password": "Another-Strong-Pass-9"}),
            )
            .await
            .unwrap(),
        409,
        "own_account",
    );
    let own_grant = &me["grants"][0];
    assert_problem(
        &admin
            .delete(&format!(
                "/api/v1/admin/users/{admin_id}/grants/{}/{}",
                own_grant["role"].as_str().unwrap(),
                own_grant["unit"]["id"]
                    .as_str()
                    .or(own_grant["unit"].as_str())
                    .unwrap()
            ))
            .await
            .unwrap(),
        409,
        "own_account",
    );
    // A reset is held to the same policy as any password.
    assert_problem(
        &admin
            .post(
                &format!("/api/v1/admin/users/{id}/password"),
                &json!({"new_password": "h_admin_test-1234"}),
            )
            .await
            .unwrap(),
        422,
        "weak_password",
    );
    assert_problem(
        &admin
            .post("/api/v1/admin/users/u-nobody/disable", &json!({}))
            .await
            .unwrap(),
        404,
        "unknown_user",
    );

    // Listed with grants; every change is in the audit log, by the admin.
    let list = body(&admin.get("/api/v1/admin/users").await.unwrap(), 200);
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "h_admin_test")
        .expect("listed");
    assert_eq!(listed["must_change_password"], true);
    let trail = audit_actions(env, "user:h_admin_test").await;
    let actions: Vec<&str> = trail.iter().map(|(a, _)| a.as_str()).collect();
    for a in [
        "user_created",
        "sign_in",
        "password_changed",
        "grant_added",
        "grant_removed",
        "user_disabled",
        "user_enabled",
        "password_reset",
    ] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    assert!(
        trail
            .iter()
            .filter(|(a, _)| a.starts_with("grant_") || a.starts_with("user_"))
            .all(|(_, who)| who == "admin"),
        "{trail:?}"
    );
}

/// A street's admin administers his street only.
async fn scoped_admin(env: &Env) {
    let admin = env.login("admin").await;
    let (_, s1) = new_user(
        env,
        &admin,
        "admin_street1",
        json!([{"role": "admin", "unit": STREET1}]),
    )
    .await;
    // Within the street: yes. Another street, a department, county-wide data: no.
    let (uid, _) = new_user(
        env,
        &s1,
        "h_street1_new",
        json!([{"role": "handler", "unit": "420381001002"}]),
    )
    .await;
    for (unit, role) in [(STREET2, "handler"), (DEPT1, "handler"), (COUNTY, "admin")] {
        let r = s1
            .post(
                "/api/v1/admin/users",
                &json!({"username": "h_elsewhere", "display_name": "李", "password": "临时密码-elsewhere-1",
                        "grants": [{"role": role, "unit": unit}]}),
            )
            .await
            .unwrap();
        assert_problem(&r, 403, "out_of_scope");
    }
    let listed = body(&s1.get("/api/v1/admin/users").await.unwrap(), 200);
    let names: Vec<&str> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"h_street1_new") && names.contains(&"handler_s01"));
    assert!(
        !names.contains(&"operator") && !names.contains(&"dispatcher_s02"),
        "{names:?}"
    );
    // A user outside the street is not his to see.
    let all = body(&admin.get("/api/v1/admin/users").await.unwrap(), 200);
    let s2 = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "dispatcher_s02")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_problem(
        &s1.post(&format!("/api/v1/admin/users/{s2}/disable"), &json!({}))
            .await
            .unwrap(),
        404,
        "unknown_user",
    );
    assert_problem(
        &s1.post(
            &format!("/api/v1/admin/users/{uid}/grants"),
            &json!({"role": "handler", "unit": STREET2}),
        )
        .await
        .unwrap(),
        403,
        "out_of_scope",
    );
    assert_problem(
        &s1.post(
            "/api/v1/admin/categories",
            &json!({"id": "x.y", "name": "某类", "name_en": "Some"}),
        )
        .await
        .unwrap(),
        403,
        "out_of_scope",
    );
}

async fn intake(env: &Env, title: &str, category: &str) -> Response {
    env.login("operator")
        .await
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": category, "title": title,
                    "description": "市民反映情况，请核实处理。", "address": "丹江口市"}),
        )
        .await
        .unwrap()
}

async fn dispatch(env: &Env, id: &str, unit: &str) -> Response {
    env.login("dispatcher")
        .await
        .post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": unit}),
        )
        .await
        .unwrap()
}

async fn units_lifecycle(env: &Env) {
    let admin = env.login("admin").await;
    let unit_id = format!("{STREET1}901");
    let r = admin
        .post(
            "/api/v1/admin/units",
            &json!({"id": unit_id, "parent": STREET1, "kind": "community", "name": "新建社区"}),
        )
        .await
        .unwrap();
    let u = body(&r, 201);
    assert_eq!(u["path"], format!("/420300/{COUNTY}/{STREET1}/{unit_id}/"));
    for (req, status, code) in [
        (
            json!({"id": unit_id, "parent": STREET1, "kind": "community", "name": "重名"}),
            409,
            "unit_exists",
        ),
        (
            json!({"id": "x1", "parent": "nowhere", "kind": "community", "name": "无上级"}),
            422,
            "unknown_unit",
        ),
        (
            json!({"id": "x1", "parent": STREET1, "kind": "planet", "name": "无此类"}),
            422,
            "invalid_body",
        ),
    ] {
        assert_problem(
            &admin.post("/api/v1/admin/units", &req).await.unwrap(),
            status,
            code,
        );
    }
    // Renamed; a case dispatched to it; closing refused while it holds the case.
    let r = admin
        .send_json(
            "PATCH",
            &format!("/api/v1/admin/units/{unit_id}"),
            &json!({"name": "幸福社区"}),
        )
        .await
        .unwrap();
    assert_eq!(body(&r, 200)["name"], "幸福社区");
    let c = body(
        &intake(env, "新社区路灯不亮", "urban.street_vending").await,
        201,
    );
    let case_id = c["id"].as_str().unwrap();
    assert_eq!(dispatch(env, case_id, &unit_id).await.status, 200);
    let close = format!("/api/v1/admin/units/{unit_id}/close");
    assert_problem(
        &admin.post(&close, &json!({})).await.unwrap(),
        409,
        "unit_has_open_cases",
    );
    assert_problem(
        &admin
            .post(&format!("/api/v1/admin/units/{STREET1}/close"), &json!({}))
            .await
            .unwrap(),
        409,
        "unit_has_open_children",
    );
    // An empty unit closes; it takes no new case.
    let empty = format!("{STREET1}902");
    body(
        &admin
            .post(
                "/api/v1/admin/units",
                &json!({"id": empty, "parent": STREET1, "kind": "community", "name": "待撤社区"}),
            )
            .await
            .unwrap(),
        201,
    );
    let closed = body(
        &admin
            .post(&format!("/api/v1/admin/units/{empty}/close"), &json!({}))
            .await
            .unwrap(),
        200,
    );
    assert_eq!(closed["closed"], true);
    let c2 = body(
        &intake(env, "撤销社区的诉求", "urban.street_vending").await,
        201,
    );
    assert_problem(
        &dispatch(env, c2["id"].as_str().unwrap(), &empty).await,
        409,
        "unit_closed",
    );
    // Nothing new goes to a closed unit: no unit below it, no user or grant at it.
    assert_problem(
        &admin
            .post(
                "/api/v1/admin/units",
                &json!({"id": format!("{empty}01"), "parent": empty, "kind": "grid", "name": "撤销后的网格"}),
            )
            .await
            .unwrap(),
        409,
        "unit_closed",
    );
    assert_problem(
        &admin
            .post(
                "/api/v1/admin/users",
                &json!({"username": format!("closed_{}", env.backend), "display_name": "撤销社区干部",
                        "password": "Wudang-Mountain-77", "grants": [{"role": "handler", "unit": empty}]}),
            )
            .await
            .unwrap(),
        409,
        "unit_closed",
    );
    assert_problem(
        &admin
            .post(
                "/api/v1/admin/users/u-handler_d01/grants",
                &json!({"role": "handler", "unit": empty}),
            )
            .await
            .unwrap(),
        409,
        "unit_closed",
    );
    assert_problem(
        &admin
            .post("/api/v1/admin/units/420300/close", &json!({}))
            .await
            .unwrap(),
        403,
        "out_of_scope",
    );
    let trail = audit_actions(env, &format!("unit:{empty}")).await;
    assert_eq!(
        trail.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        ["unit_created", "unit_closed"]
    );
}

/// Moving a community to another street moves its cases' readers with it.
async fn unit_move(env: &Env) {
    let admin = env.login("admin").await;
    let comm = format!("{STREET1}012");
    let c = body(
        &intake(env, "社区划转前的诉求", "urban.street_vending").await,
        201,
    );
    let id = c["id"].as_str().unwrap().to_string();
    body(&dispatch(env, &id, &comm).await, 200);
    let (s1, s2) = (
        env.login("dispatcher_s01").await,
        env.login("dispatcher_s02").await,
    );
    let in_list = |c: Client| {
        let id = id.clone();
        async move {
            let l = body(&c.get("/api/v1/cases?limit=200").await.unwrap(), 200);
            l["items"]
                .as_array()
                .unwrap()
                .iter()
                .any(|i| i["id"] == id.as_str())
        }
    };
    assert!(in_list(s1.clone()).await);
    assert!(!in_list(s2.clone()).await);
    assert_problem(
        &admin
            .send_json(
                "PATCH",
                &format!("/api/v1/admin/units/{STREET1}"),
                &json!({"parent": comm}),
            )
            .await
            .unwrap(),
        409,
        "move_into_own_subtree",
    );
    let moved = body(
        &admin
            .send_json(
                "PATCH",
                &format!("/api/v1/admin/units/{comm}"),
                &json!({"parent": STREET2}),
            )
            .await
            .unwrap(),
        200,
    );
    assert_eq!(moved["path"], format!("/420300/{COUNTY}/{STREET2}/{comm}/"));
    let renamed = body(
        &admin
            .send_json(
                "PATCH",
                &format!("/api/v1/admin/units/{comm}"),
                &json!({"name": "迁入社区"}),
            )
            .await
            .unwrap(),
        200,
    );
    assert_eq!(renamed["name"], "迁入社区");
    let trail = audit_actions(env, &format!("unit:{comm}")).await;
    let actions: Vec<&str> = trail.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["unit_moved", "unit_renamed"], "{trail:?}");
    assert!(in_list(s2.clone()).await, "the new street lists the case");
    assert!(!in_list(s1.clone()).await, "the old street no longer does");
    assert_eq!(
        s2.get(&format!("/api/v1/cases/{id}")).await.unwrap().status,
        200
    );
    assert_eq!(
        s1.get(&format!("/api/v1/cases/{id}")).await.unwrap().status,
        404
    );
    // Filtering by the new street finds it too (the stored paths moved).
    let l = body(
        &s2.get(&format!("/api/v1/cases?unit={STREET2}&limit=200"))
            .await
            .unwrap(),
        200,
    );
    assert!(
        l["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == id.as_str())
    );
}

async fn categories_policy_calendar(env: &Env) {
    let admin = env.login("admin").await;
    let cat = json!({"id": "urban.test_admin", "parent": "urban", "name": "测试分类",
                     "name_en": "Test category", "default_kind": "complaint", "default_unit": DEPT1});
    let r = admin.post("/api/v1/admin/categories", &cat).await.unwrap();
    assert_eq!(body(&r, 201)["default_unit"], DEPT1);
    assert_problem(
        &admin.post("/api/v1/admin/categories", &cat).await.unwrap(),
        409,
        "category_exists",
    );
    let r = admin
        .send_json(
            "PATCH",
            "/api/v1/admin/categories/urban.test_admin",
            &json!({"name": "测试分类（改）"}),
        )
        .await
        .unwrap();
    assert_eq!(body(&r, 200)["name"], "测试分类（改）");
    assert_eq!(
        intake(env, "新分类下的诉求", "urban.test_admin")
            .await
            .status,
        201
    );
    let r = admin
        .post(
            "/api/v1/admin/categories/urban.test_admin/retire",
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(body(&r, 200)["retired"], true);
    let r = intake(env, "停用分类下的诉求", "urban.test_admin").await;
    assert_problem(&r, 409, "category_retired");
    assert_problem(
        &admin
            .send_json(
                "PATCH",
                "/api/v1/admin/categories/nope",
                &json!({"name": "无"}),
            )
            .await
            .unwrap(),
        404,
        "unknown_category",
    );

    // Policy: validated; once replaced, deadlines set from now on follow it.
    let bad = admin
        .send_json(
            "PUT",
            "/api/v1/admin/deadline-policy",
            &json!({"toml": "[resolve]\nunknown_kind = \"3wd\"\n"}),
        )
        .await
        .unwrap();
    assert_problem(&bad, 422, "invalid_policy");
    let stored = body(
        &admin.get("/api/v1/admin/deadline-policy").await.unwrap(),
        200,
    );
    let old = stored["toml"].as_str().unwrap();
    assert!(old.contains("complaint = \"15 working days\""), "{old}");
    let policy = old.replace(
        "complaint = \"15 working days\"",
        "complaint = \"12 working days\"",
    );
    let r = admin
        .send_json(
            "PUT",
            "/api/v1/admin/deadline-policy",
            &json!({"toml": policy}),
        )
        .await
        .unwrap();
    body(&r, 200);
    let c = body(
        &intake(env, "新时限下的诉求", "urban.street_vending").await,
        201,
    );
    let d = body(&dispatch(env, c["id"].as_str().unwrap(), DEPT1).await, 200);
    assert_eq!(d["deadlines"]["resolve_rule"], "12 working days", "{d}");
    // Put back what was there, so other scenarios keep their deadlines.
    let r = admin
        .send_json(
            "PUT",
            "/api/v1/admin/deadline-policy",
            &json!({"toml": old}),
        )
        .await
        .unwrap();
    body(&r, 200);

    // Calendar: a year's notice imported; a malformed one refused.
    assert_problem(
        &admin
            .post(
                "/api/v1/admin/calendar-years",
                &json!({"toml": "year = \"x\""}),
            )
            .await
            .unwrap(),
        422,
        "invalid_calendar",
    );
    let year = include_str!("../../../calendar/2026.toml");
    let r = admin
        .post("/api/v1/admin/calendar-years", &json!({"toml": year}))
        .await
        .unwrap();
    assert_eq!(body(&r, 201)["year"], 2026);
    let trail = audit_actions(env, "calendar:2026").await;
    assert!(
        trail
            .iter()
            .any(|(a, who)| a == "calendar_year_imported" && who == "admin"),
        "{trail:?}"
    );
    let actions: Vec<String> = audit_actions(env, "category:urban.test_admin")
        .await
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        actions,
        ["category_added", "category_changed", "category_retired"]
    );
    assert_eq!(
        audit_actions(env, "setting:deadline_policy").await.len(),
        2,
        "replaced and put back"
    );
}

on_both_backends!(
    users_and_sessions,
    scoped_admin,
    units_lifecycle,
    unit_move,
    categories_policy_calendar
);

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        if check().await {
            return t.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within 5 s");
}

/// Two nodes on one PostgreSQL: a user disabled, a grant removed or a unit created on one node
/// takes effect on the other at once (its session cache would otherwise keep them 30 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_reach_the_other_node() {
    let Some(url) = support::fresh_pg_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap().keep();
    let a = Node::start(dir.join("a"), Some(url.clone()), "a", None);
    let b = Node::start(dir.join("b"), Some(url), "b", None);
    let admin = a.login("admin").await;
    let h = b.login("handler_s01").await;
    let d = b.login("dispatcher_s02").await;
    // Both sessions are in node b's cache now.
    assert_eq!(h.get("/api/v1/worklist").await.unwrap().status, 200);
    let me = body(&d.get("/api/v1/auth/me").await.unwrap(), 200);
    assert_eq!(me["grants"].as_array().unwrap().len(), 1);
    let users = body(&admin.get("/api/v1/admin/users").await.unwrap(), 200);
    let id_of = |name: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["username"] == name)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let r = admin
        .post(
            &format!("/api/v1/admin/users/{}/disable", id_of("handler_s01")),
            &json!({}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    let took = eventually("disabled user refused on node b", async || {
        h.get("/api/v1/worklist").await.unwrap().status == 401
    })
    .await;
    println!("disable reached node b in {took:?}");
    let r = admin
        .delete(&format!(
            "/api/v1/admin/users/{}/grants/dispatcher/{STREET2}",
            id_of("dispatcher_s02")
        ))
        .await
        .unwrap();
    assert_eq!(r.status, 200);
    eventually("removed grant gone on node b", async || {
        let me = d.get("/api/v1/auth/me").await.unwrap();
        me.status == 200 && me.json()["grants"].as_array().unwrap().is_empty()
    })
    .await;
    // A unit created on node a can be dispatched to on node b.
    let r = admin
        .post(
            "/api/v1/admin/units",
            &json!({"id": "420381001950", "parent": STREET1, "kind": "community", "name": "两节点社区"}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201);
    let op = b.login("operator").await;
    let disp = b.login("dispatcher").await;
    let c = body(
        &op.post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "title": "新社区的第一件诉求", "description": "请处理"}),
        )
        .await
        .unwrap(),
        201,
    );
    let id = c["id"].as_str().unwrap().to_string();
    eventually("new unit known on node b", async || {
        disp.post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": "420381001950"}),
        )
        .await
        .unwrap()
        .status
            == 200
    })
    .await;
    a.stop();
    b.stop();
}
