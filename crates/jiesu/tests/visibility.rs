//! Who sees what of a case, end to end on SQLite and PostgreSQL: one visibility rule for reads,
//! lists, the worklist, commands and monitoring (outside it, a case or station does not exist),
//! and one personal-data rule for every output that carries a case.

mod support;

use jiesu::client::{Client, Response};
use serde_json::{Value, json};
use support::Env;

const STREET1: &str = "420381001";
const COMM1: &str = "420381001001";
const GRID1: &str = "42038100100101";
/// cadre01's department.
const DEPT17: &str = "420381D17";
const DEPT1: &str = "420381D01";

/// What a role may see of a reporter.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sees {
    /// Masked like `Masked`, but he may reveal it in full (`POST /reveal`, audited).
    Revealable,
    Masked,
    /// Anonymous: "匿名", no number.
    Hidden,
    /// The case does not exist for him.
    Nothing,
}

struct Person {
    name: &'static str,
    phone: &'static str,
    masked_name: &'static str,
    masked_phone: &'static str,
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

async fn create(c: &Client, body: Value) -> Value {
    let r = c.post("/api/v1/cases", &body).await.unwrap();
    assert_eq!(r.status, 201, "{}", text(&r));
    r.json()
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

/// What a caller outside the scope gets: the answer for a case that does not exist.
async fn no_such_case(c: &Client) -> Value {
    let r = c.get("/api/v1/cases/NO-SUCH-CASE").await.unwrap();
    assert_eq!(r.status, 404);
    r.json()
}

fn assert_absent(r: &Response, missing: &Value, what: &str) {
    assert_eq!(r.status, 404, "{what}: {}", text(r));
    assert_eq!(
        &r.json(),
        missing,
        "{what}: a refusal must look like no such case"
    );
}

fn check_reporter(v: &Value, p: &Person, sees: Sees, what: &str) {
    let (name, phone) = match sees {
        Sees::Revealable | Sees::Masked => (json!(p.masked_name), json!(p.masked_phone)),
        Sees::Hidden => (json!("匿名"), Value::Null),
        Sees::Nothing => unreachable!(),
    };
    assert_eq!(v["name"], name, "{what}: {v}");
    assert_eq!(v["phone"], phone, "{what}: {v}");
    if let Some(r) = v.get("revealable") {
        assert_eq!(r, &json!(sees == Sees::Revealable), "{what}: {v}");
    }
}

/// Neither the reporter's name nor number, in any form the role may not see, anywhere in `r`.
fn assert_no_leak(r: &Response, p: &Person, sees: Sees, what: &str) {
    let forbidden: &[&str] = match sees {
        Sees::Revealable | Sees::Masked => &[p.name, p.phone],
        Sees::Hidden | Sees::Nothing => &[p.name, p.phone, p.masked_name, p.masked_phone],
    };
    let body = text(r);
    for f in forbidden {
        assert!(!body.contains(f), "{what}: {f} leaked: {body}");
    }
}

/// Files the case at the county and passes it down to a grid, with a county department as
/// co-unit; the grid worker calls the reporter back and writes him into a note and an annotation.
async fn route_to_grid(env: &Env, id: &str, p: &Person) {
    let disp = env.login("dispatcher").await;
    let hs = env.login("handler_s01").await;
    let hc = env.login(&format!("handler_c{COMM1}")).await;
    let grid = env.login(&format!("grid_{GRID1}")).await;
    ok(
        &disp,
        id,
        json!({"type": "dispatch", "unit": STREET1, "co_units": [DEPT17]}),
    )
    .await;
    ok(&hs, id, json!({"type": "redispatch", "unit": COMM1})).await;
    ok(&hc, id, json!({"type": "redispatch", "unit": GRID1})).await;
    ok(&grid, id, json!({"type": "accept"})).await;
    let note = format!("已电话联系{}（{}）", p.name, p.phone);
    ok(&grid, id, json!({"type": "contact", "note": note})).await;
    let text = format!("{}反映属实，联系电话{}", p.name, p.phone);
    ok(&grid, id, json!({"type": "annotate", "text": text})).await;
}

/// Every endpoint that returns case data, for every role, on an anonymous case and on a named
/// one: the reporter is shown masked (revealable in full by an audited request, or not), as
/// "匿名", or the case does not exist.
async fn no_personal_data_leaks(env: &Env) {
    use Sees::*;
    let op = env.login("operator").await;
    let named = Person {
        name: "张三丰",
        phone: "13912345678",
        masked_name: "张**",
        masked_phone: "139****5678",
    };
    let anon = Person {
        name: "欧阳娜娜",
        phone: "13800001111",
        masked_name: "欧***",
        masked_phone: "138****1111",
    };
    let mut cases = Vec::new();
    for (p, anonymous) in [(&named, false), (&anon, true)] {
        let c = create(
            &op,
            json!({
                "kind": "report", "title": "举报村干部违规收费",
                "description": format!("诉求人{}，电话{}，反映村干部收取办证费。", p.name, p.phone),
                "reporter": {"name": p.name, "phone": p.phone, "anonymous": anonymous}
            }),
        )
        .await;
        let id = id_of(&c);
        route_to_grid(env, &id, p).await;
        cases.push((id, p, anonymous));
    }
    let missing = no_such_case(&op).await;
    // (user, a named reporter, an anonymous one)
    let roles = [
        ("operator", Revealable, Hidden),
        ("dispatcher", Revealable, Hidden),
        ("leader", Masked, Hidden),
        ("inspector", Revealable, Revealable),
        ("handler_s01", Revealable, Hidden),
        ("leader_s01", Masked, Hidden),
        ("handler_c420381001001", Revealable, Hidden),
        ("grid_42038100100101", Revealable, Hidden),
        ("cadre01", Masked, Hidden),
        ("admin", Nothing, Nothing),
        ("handler_d01", Nothing, Nothing),
        ("cadre02", Nothing, Nothing),
        ("dispatcher_s02", Nothing, Nothing),
        ("citizen01", Nothing, Nothing),
    ];
    for (user, named_sees, anon_sees) in roles {
        let c = env.login(user).await;
        let list = c.get("/api/v1/cases?limit=200").await.unwrap();
        let work = c.get("/api/v1/worklist?limit=200").await.unwrap();
        for (id, p, anonymous) in &cases {
            let sees = if *anonymous { anon_sees } else { named_sees };
            let what = format!(
                "{user} on the {} case",
                if *anonymous { "anonymous" } else { "named" }
            );
            let view = c.get(&format!("/api/v1/cases/{id}")).await.unwrap();
            let trail = c
                .get(&format!("/api/v1/cases/{id}/timeline"))
                .await
                .unwrap();
            let answer = cmd(&c, id, json!({"type": "annotate", "text": "已阅"})).await;
            let reveal = c
                .post(&format!("/api/v1/cases/{id}/reveal"), &json!({}))
                .await
                .unwrap();
            match sees {
                Revealable => {
                    assert_eq!(reveal.status, 200, "{what}: reveal: {}", text(&reveal));
                    assert_eq!(reveal.json()["phone"], p.phone, "{what}: reveal");
                    assert_eq!(reveal.json()["name"], p.name, "{what}: reveal");
                }
                Masked | Hidden => assert_eq!(reveal.status, 403, "{what}: reveal"),
                Nothing => assert_absent(&reveal, &missing, &format!("{what}: reveal")),
            }
            if sees == Nothing {
                assert_absent(&view, &missing, &format!("{what}: GET"));
                assert_absent(&trail, &missing, &format!("{what}: timeline"));
                assert_absent(&answer, &missing, &format!("{what}: command"));
            } else {
                for (r, endpoint) in [(&view, "GET"), (&trail, "timeline"), (&answer, "command")] {
                    assert_eq!(r.status, 200, "{what}: {endpoint}: {}", text(r));
                }
                check_reporter(&view.json()["reporter"], p, sees, &what);
                check_reporter(&answer.json()["reporter"], p, sees, &what);
                let events = trail.json()["events"].clone();
                assert_eq!(events[0]["type"], "received");
                check_reporter(&events[0]["data"]["draft"]["reporter"], p, sees, &what);
            }
            // The list holds the case exactly when GET answers it (co-units included), shown
            // the same way.
            let items = list.json()["items"].as_array().cloned().unwrap_or_default();
            let item = items.iter().find(|i| i["id"] == id.as_str());
            assert_eq!(item.is_some(), sees != Nothing, "{what}: list");
            assert!(item.is_none() || sees != Nothing, "{what}: list");
            if let Some(i) = item {
                check_reporter(&i["reporter"], p, sees, &format!("{what}: list"));
            }
            let work_items = work.json()["items"].as_array().cloned().unwrap_or_default();
            if let Some(i) = work_items.iter().find(|i| i["id"] == id.as_str()) {
                assert_ne!(sees, Nothing, "{what}: worklist");
                check_reporter(&i["reporter"], p, sees, &format!("{what}: worklist"));
            }
            for (r, endpoint) in [
                (&view, "GET"),
                (&trail, "timeline"),
                (&answer, "command"),
                (&list, "list"),
                (&work, "worklist"),
            ] {
                assert_no_leak(r, p, sees, &format!("{what}: {endpoint}"));
            }
        }
    }
    // The grid worker's worklist has the case he holds; the intake answer is the operator's view.
    let grid = env.login(&format!("grid_{GRID1}")).await;
    let w = grid.get("/api/v1/worklist?limit=200").await.unwrap().json();
    assert!(
        w["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == cases[0].0.as_str())
    );
}

/// A command on a case outside the caller's scope is answered exactly like a read of a case that
/// does not exist, whatever the case's state, and never names a unit.
async fn out_of_scope_commands_look_like_no_such_case(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let other = env.login("handler_d02").await;
    let missing = no_such_case(&other).await;
    let body = json!({"kind": "complaint", "title": "施工噪音扰民"});
    let open = id_of(&create(&op, body.clone()).await);
    ok(&disp, &open, json!({"type": "dispatch", "unit": DEPT1})).await;
    let merged = id_of(&create(&op, body.clone()).await);
    ok(&disp, &merged, json!({"type": "merge", "into": open})).await;
    let closed = id_of(&create(&op, body.clone()).await);
    ok(
        &op,
        &closed,
        json!({"type": "answer_directly", "answer": "已告知"}),
    )
    .await;
    for id in [&open, &merged, &closed] {
        for c in [
            json!({"type": "accept"}),
            json!({"type": "dispatch", "unit": DEPT1}),
            json!({"type": "annotate", "text": "x"}),
            json!({"type": "reopen", "reason": "x"}),
            json!({"type": "merge", "into": open}),
        ] {
            let r = cmd(&other, id, c.clone()).await;
            assert_absent(&r, &missing, &format!("{c} on {id}"));
            assert!(!text(&r).contains("4203"), "a unit named: {}", text(&r));
        }
        let r = other.get(&format!("/api/v1/cases/{id}")).await.unwrap();
        assert_absent(&r, &missing, "GET");
    }
    // In scope, the same commands are refused for what they are.
    let r = cmd(&disp, &merged, json!({"type": "accept"})).await;
    assert_eq!(r.status, 403, "{}", text(&r));
}

/// The master of a merge must be a case the dispatcher can read, and still open.
async fn merge_targets_must_be_readable_and_open(env: &Env) {
    let op = env.login("operator").await;
    let hs = env.login("handler_s01").await;
    let ds = env.login("dispatcher_s01").await;
    let body = json!({"kind": "complaint", "title": "小区路灯损坏"});
    // Cases recorded by the street's handler are filed at the street.
    let src = create(&hs, body.clone()).await;
    assert_eq!(src["intake_unit"]["id"], STREET1);
    let src = id_of(&src);
    let county = create(&op, body.clone()).await;
    let refused = |r: &Response| {
        assert_eq!(r.status, 404, "{}", text(r));
        let p = r.json();
        assert_eq!(p["code"], "merge_target_invalid");
        assert_eq!(p["field"], "into");
        p
    };
    // Out of scope, by id or number, is answered like a case that does not exist.
    let none = refused(&cmd(&ds, &src, json!({"type": "merge", "into": "NO-SUCH-CASE"})).await);
    for key in [&county["id"], &county["number"]] {
        let key = key.as_str().unwrap();
        let p = refused(&cmd(&ds, &src, json!({"type": "merge", "into": key})).await);
        assert_eq!(
            p["detail"].as_str().unwrap().replace(key, "X"),
            none["detail"]
                .as_str()
                .unwrap()
                .replace("NO-SUCH-CASE", "X")
        );
        assert_eq!(p["title"], none["title"]);
    }
    // A closed master, and a merged one.
    let closed = id_of(&create(&hs, body.clone()).await);
    ok(
        &ds,
        &closed,
        json!({"type": "answer_directly", "answer": "已告知维修电话"}),
    )
    .await;
    let r = cmd(&ds, &src, json!({"type": "merge", "into": closed})).await;
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.json()["code"], "merge_target_closed");
    let master = id_of(&create(&hs, body.clone()).await);
    let dup = id_of(&create(&hs, body.clone()).await);
    ok(&ds, &dup, json!({"type": "merge", "into": master})).await;
    let r = cmd(&ds, &src, json!({"type": "merge", "into": dup})).await;
    assert_eq!(r.status, 409, "{}", text(&r));
    assert_eq!(r.json()["code"], "merge_target_merged");
    // Nothing happened to the case; an open master in scope takes it.
    let c = ds
        .get(&format!("/api/v1/cases/{src}"))
        .await
        .unwrap()
        .json();
    assert_eq!(c["state"], "received");
    assert_eq!(c["version"], 1);
    let c = ok(&ds, &src, json!({"type": "merge", "into": master})).await;
    assert_eq!(c["merged_into"], master.as_str());
    let county_case = op
        .get(&format!("/api/v1/cases/{}", id_of(&county)))
        .await
        .unwrap()
        .json();
    assert_eq!(county_case["state"], "received");
}

/// Lists and the worklist hold exactly what `GET` answers: an admin, who does not read cases,
/// lists none; for everyone, every listed case can be read.
async fn lists_and_reads_agree(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let c = id_of(&create(&op, json!({"kind": "complaint", "title": "列表与详情一致"})).await);
    ok(&disp, &c, json!({"type": "dispatch", "unit": STREET1})).await;
    let waiting = id_of(&create(&op, json!({"kind": "complaint", "title": "待派单"})).await);
    let admin = env.login("admin").await;
    let missing = no_such_case(&admin).await;
    for id in [&c, &waiting] {
        let r = admin.get(&format!("/api/v1/cases/{id}")).await.unwrap();
        assert_absent(&r, &missing, "admin GET");
    }
    let list = admin.get("/api/v1/cases?limit=200").await.unwrap();
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"], json!([]), "the admin's list");
    let work = admin.get("/api/v1/worklist?limit=200").await.unwrap();
    assert_eq!(work.json()["items"], json!([]), "the admin's worklist");
    for user in [
        "operator",
        "leader",
        "handler_s01",
        "dispatcher_s01",
        "grid_42038100100101",
        "cadre01",
        "admin",
    ] {
        let u = env.login(user).await;
        for path in ["/api/v1/cases?limit=50", "/api/v1/worklist?limit=50"] {
            let items = u.get(path).await.unwrap().json()["items"].clone();
            for i in items.as_array().unwrap() {
                let r = u
                    .get(&format!("/api/v1/cases/{}", i["id"].as_str().unwrap()))
                    .await
                    .unwrap();
                assert_eq!(
                    r.status, 200,
                    "{user}: {path} lists {} but GET refuses",
                    i["id"]
                );
            }
        }
    }
}

/// The reporting citizen follows his case's progress: his own data, states and times, not the
/// working record (version, co-units, counts, notes, staff, hashes).
async fn citizens_see_progress_only(env: &Env) {
    let cit = env.login("citizen01").await;
    let c = create(
        &cit,
        json!({"kind": "complaint", "title": "小区门口积水", "reporter": {"name": "李大明", "phone": "13700002222"}}),
    )
    .await;
    let id = id_of(&c);
    let internal = [
        "version",
        "co_units",
        "waiting_on",
        "pending_extension",
        "extensions_granted",
        "suspension",
        "reopen_count",
        "return_count",
        "merged_into",
    ];
    let view = cit
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .unwrap()
        .json();
    let list = cit.get("/api/v1/cases").await.unwrap().json();
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == id.as_str())
        .cloned()
        .unwrap();
    for v in [&c, &view, &item] {
        assert_eq!(v["state"], "received");
        assert_eq!(v["reporter"]["name"], "李大明", "his own name, in full");
        assert_eq!(v["reporter"]["phone"], "13700002222");
        for k in internal {
            assert!(v.get(k).is_none(), "{k} shown to the citizen: {v}");
        }
    }
    let t = cit
        .get(&format!("/api/v1/cases/{id}/timeline"))
        .await
        .unwrap()
        .json();
    let events = t["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["type"], "received");
    assert_eq!(events[0]["state"], "received");
    assert!(events[0]["at"].is_string());
    for k in ["actor", "data", "hash", "prev_hash", "seq", "global_seq"] {
        assert!(events[0].get(k).is_none(), "{k} shown to the citizen");
    }
    // Another citizen: no such case, for reads and commands alike.
    let other = env.login("citizen02").await;
    let missing = no_such_case(&other).await;
    for r in [
        other.get(&format!("/api/v1/cases/{id}")).await.unwrap(),
        other
            .get(&format!("/api/v1/cases/{id}/timeline"))
            .await
            .unwrap(),
        cmd(&other, &id, json!({"type": "annotate", "text": "x"})).await,
    ] {
        assert_absent(&r, &missing, "another citizen");
    }
}

/// Stations, readings and classes are scoped by the station's unit, like cases.
async fn monitoring_is_scoped_by_station_unit(env: &Env) {
    let admin = env.login("admin").await;
    let mn = "VIS0GRID000001";
    let r = admin
        .post(
            "/api/v1/stations",
            &json!({"mn": mn, "name": "网格内监测点", "st": "21", "unit": GRID1,
                "waterbody": "river", "target": "II", "password": "pw1234", "interval_secs": 300}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", text(&r));
    let stations = |v: Value| -> Vec<(String, String)> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["mn"].as_str().unwrap().to_string(),
                    s["unit"]["id"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let disp = env.login("dispatcher").await;
    let all = stations(disp.get("/api/v1/stations").await.unwrap().json());
    assert!(all.len() > 90, "the county's stations: {}", all.len());
    let elsewhere = all
        .iter()
        .find(|(_, u)| !u.starts_with(GRID1))
        .unwrap()
        .0
        .clone();
    // The grid worker sees his grid's station and nothing else.
    let grid = env.login(&format!("grid_{GRID1}")).await;
    let mine = stations(grid.get("/api/v1/stations").await.unwrap().json());
    assert_eq!(mine, vec![(mn.to_string(), GRID1.to_string())]);
    let r = grid
        .get(&format!("/api/v1/stations/{mn}/readings"))
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", text(&r));
    for path in ["readings", "classes"] {
        let theirs = grid
            .get(&format!("/api/v1/stations/{elsewhere}/{path}"))
            .await
            .unwrap();
        let none = grid
            .get(&format!("/api/v1/stations/NOPE/{path}"))
            .await
            .unwrap();
        assert_eq!(theirs.status, 404, "{}", text(&theirs));
        assert_eq!(theirs.json()["code"], "station_not_found");
        assert_eq!(
            text(&theirs).replace(&elsewhere, "X"),
            text(&none).replace("NOPE", "X")
        );
    }
    let alarms = grid.get("/api/v1/alarms").await.unwrap();
    assert_eq!(alarms.status, 200, "{}", text(&alarms));
    assert!(
        alarms.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["mn"] == mn)
    );
    // The street's handler sees his street's stations, the grid's among them.
    let hs = env.login("handler_s01").await;
    let street = stations(hs.get("/api/v1/stations").await.unwrap().json());
    assert!(street.iter().any(|(m, _)| m == mn));
    assert!(
        street.iter().all(|(_, u)| u.starts_with(STREET1)),
        "{street:?}"
    );
    assert!(street.len() < all.len());
}

on_both_backends!(
    no_personal_data_leaks,
    out_of_scope_commands_look_like_no_such_case,
    merge_targets_must_be_readable_and_open,
    lists_and_reads_agree,
    citizens_see_progress_only,
    monitoring_is_scoped_by_station_unit,
);
