//! Full-text search end to end: Chinese recall, scope, filters, masking, refusals; the index
//! following the log on two nodes; and an index that must not outlive its store.

mod support;

use std::time::{Duration, Instant};

use jiesu::client::{Client, Response};
use serde_json::{Value, json};
use support::{Env, Node};

const DEPT1: &str = "420381D01";
const DEPT2: &str = "420381D02";

fn assert_problem(r: &Response, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["code"], code);
}

/// A tag unique to this run and backend, so the shared test store's other cases never match.
fn tag(env_backend: &str, what: &str) -> String {
    format!("{what}{}{}", env_backend.len(), std::process::id())
}

async fn intake(c: &Client, title: &str, description: &str, phone: &str) -> Value {
    let r = c
        .post(
            "/api/v1/cases",
            &json!({
                "kind": "complaint", "category": "urban.street_vending", "title": title,
                "description": description,
                "address": "丹江口市均州路街道丹二巷",
                "reporter": {"name": "王先生", "phone": phone}
            }),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn search_path(q: &str, more: &str) -> String {
    let mut s = String::new();
    for b in q.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => s.push(b as char),
            b => s.push_str(&format!("%{b:02X}")),
        }
    }
    format!("/api/v1/search?q={s}{more}")
}

async fn search(c: &Client, q: &str, more: &str) -> Value {
    let r = c.get(&search_path(q, more)).await.unwrap();
    assert_eq!(r.status, 200, "{q}: {}", String::from_utf8_lossy(&r.body));
    r.json()
}

fn numbers(v: &Value) -> Vec<String> {
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["number"].as_str().unwrap().to_string())
        .collect()
}

/// Searches until `number` is among the hits or `within` passes; returns the time it took.
async fn until_found(c: &Client, q: &str, number: &str, within: Duration) -> Duration {
    let t = Instant::now();
    loop {
        if numbers(&search(c, q, "").await).iter().any(|n| n == number) {
            return t.elapsed();
        }
        assert!(
            t.elapsed() < within,
            "{number} not found by {q:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn finds_words_places_and_numbers(env: &Env) {
    let op = env.login("operator").await;
    let t = tag(env.backend, "检索");
    let a = intake(
        &op,
        &format!("{t}小区门口井盖破损"),
        "均州路小区门口井盖破损，夜里有人差点掉下去，请尽快修复。",
        "13700001111",
    )
    .await;
    let b = intake(
        &op,
        &format!("{t}路灯不亮"),
        "海淀区中关村路灯不亮已经一周，市民拨打12345反映。幸福里社区3号楼前也黑。",
        "13700002222",
    )
    .await;
    let (an, bn) = (
        a["number"].as_str().unwrap().to_string(),
        b["number"].as_str().unwrap().to_string(),
    );
    let disp = env.login("dispatcher").await;
    until_found(&disp, &format!("{t} 井盖"), &an, Duration::from_secs(10)).await;
    let only = |q: &str| format!("{t} {q}");
    // One word inside a longer phrase; a word jieba alone would cut apart (中关村/路/灯不亮).
    assert_eq!(
        numbers(&search(&disp, &only("井盖"), "").await),
        vec![an.clone()]
    );
    assert_eq!(
        numbers(&search(&disp, &only("路灯"), "").await),
        vec![bn.clone()]
    );
    // Digits and mixed digits; a place name.
    assert_eq!(
        numbers(&search(&disp, &only("12345"), "").await),
        vec![bn.clone()]
    );
    assert_eq!(
        numbers(&search(&disp, &only("3号楼"), "").await),
        vec![bn.clone()]
    );
    assert_eq!(
        numbers(&search(&disp, &only("幸福里社区"), "").await),
        vec![bn.clone()]
    );
    let both = search(&disp, &only("均州路"), "").await;
    assert_eq!(both["total"], 2, "{both}");
    // The address is searched too (both share it).
    assert_eq!(search(&disp, &only("丹二巷"), "").await["total"], 2);
    // Every word must match.
    assert_eq!(search(&disp, &only("井盖 路灯"), "").await["total"], 0);
    // The hit: title, state, and a snippet with the match marked and the text escaped.
    let v = search(&disp, &only("井盖"), "").await;
    let hit = &v["hits"][0];
    assert_eq!(hit["id"], a["id"]);
    assert_eq!(hit["state"], "received");
    assert!(hit["title"].as_str().unwrap().ends_with("小区门口井盖破损"));
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(snippet.contains("<mark>井盖</mark>"), "{snippet}");
    // Limit and offset page through the hits, the total stays.
    let p1 = search(&disp, &only("均州路"), "&limit=1").await;
    let p2 = search(&disp, &only("均州路"), "&limit=1&offset=1").await;
    assert_eq!(
        (p1["total"].clone(), p2["total"].clone()),
        (json!(2), json!(2))
    );
    assert_ne!(numbers(&p1), numbers(&p2));
    let far = search(&disp, &only("均州路"), "&offset=20000").await;
    assert_eq!(
        (far["total"].clone(), far["hits"].as_array().unwrap().len()),
        (json!(2), 0)
    );
    // Blank: nothing, not an error.
    assert_eq!(search(&disp, "   ", "").await["total"], 0);
}

async fn state_unit_and_scope(env: &Env) {
    let op = env.login("operator").await;
    let disp = env.login("dispatcher").await;
    let t = tag(env.backend, "范围");
    let phone = format!("1390000{:04}", std::process::id() % 10_000);
    let c = intake(
        &op,
        &format!("{t}渣土车扰民（来电{phone}）"),
        &format!("{t}：来电人{phone}反映渣土车夜间施工扰民"),
        &phone,
    )
    .await;
    let n = c["number"].as_str().unwrap().to_string();
    let r = disp
        .post(
            &format!("/api/v1/cases/{}/commands", c["id"].as_str().unwrap()),
            &json!({"type": "dispatch", "unit": DEPT1}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    // The index catches the dispatch: by state and by unit.
    let t0 = Instant::now();
    loop {
        let v = search(&disp, &t, "&state=dispatched").await;
        if numbers(&v) == vec![n.clone()] {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "dispatch not indexed: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(search(&disp, &t, "&state=received").await["total"], 0);
    assert_eq!(
        numbers(&search(&disp, &t, &format!("&unit={DEPT1}")).await),
        vec![n.clone()]
    );
    assert_eq!(
        search(&disp, &t, &format!("&unit={DEPT2}")).await["total"],
        0
    );
    assert_eq!(search(&disp, &t, "&category=urban").await["total"], 1);
    assert_eq!(search(&disp, &t, "&to=2026-06-09").await["total"], 0);
    assert_eq!(
        search(&disp, &t, "&from=2026-06-10&to=2026-06-10").await["total"],
        1
    );
    // The department holding it finds it; another department, and another street, do not.
    let d1 = env.login("handler_d01").await;
    let v = search(&d1, &t, "").await;
    assert_eq!(numbers(&v), vec![n.clone()]);
    // The handler is not a caller: the reporter's number is masked in title and snippet.
    for field in ["title", "snippet"] {
        let shown = v["hits"][0][field].as_str().unwrap();
        assert!(!shown.contains(&phone), "{shown}");
        assert!(shown.contains(&phone[..3]), "{shown}");
    }
    // Staff who may call the reporter see it masked too until they reveal it on the case page.
    let v = search(&disp, &t, "").await;
    let snippet = v["hits"][0]["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("来电人") && !snippet.contains(&phone),
        "{snippet}"
    );
    assert_eq!(
        search(&env.login("handler_d02").await, &t, "").await["total"],
        0
    );
    assert_eq!(
        search(&env.login("handler_s01").await, &t, "").await["total"],
        0
    );
    // A citizen finds only what he reported.
    assert_eq!(
        search(&env.login("citizen01").await, &t, "").await["total"],
        0
    );
    // Refusals: a unit outside the caller's scope, unknown values, no q.
    assert_problem(
        &d1.get(&search_path(&t, &format!("&unit={DEPT2}")))
            .await
            .unwrap(),
        403,
        "out_of_scope",
    );
    for more in [
        "&state=nonsense",
        "&unit=nowhere",
        "&grid=nowhere",
        "&category=nope",
        "&from=2026-13-01",
    ] {
        assert_problem(
            &disp.get(&search_path(&t, more)).await.unwrap(),
            400,
            "invalid_query",
        );
    }
    assert_problem(
        &disp.get("/api/v1/search").await.unwrap(),
        400,
        "invalid_query",
    );
    assert_eq!(
        env.client().get(&search_path(&t, "")).await.unwrap().status,
        401
    );
}

on_both_backends!(finds_words_places_and_numbers, state_unit_and_scope);

/// Two nodes on one PostgreSQL, each with its own index: a case taken on one is found on the
/// other within 2 s. A node that was down catches up when it starts again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_find_each_others_cases_and_catch_up() {
    let Some((a, b, dir, url)) = support::two_nodes("jiesu_search2").await else {
        return;
    };
    let op_a = a.login("operator").await;
    let disp_b = b.login("dispatcher").await;
    let c = intake(&op_a, "双节点检索窨井异味", "窨井异味很重", "13700003333").await;
    let took = until_found(
        &disp_b,
        "窨井异味",
        c["number"].as_str().unwrap(),
        Duration::from_secs(2),
    )
    .await;
    println!("found on the other node after {took:?}");
    // B stops; a case is taken on A meanwhile; B starts again on its own index and finds it.
    b.stop();
    let d = intake(&op_a, "停机期间化粪池外溢", "化粪池外溢", "13700004444").await;
    let b = Node::start(dir.join("b"), Some(url), "b2", None);
    let disp_b = b.login("dispatcher").await;
    until_found(
        &disp_b,
        "化粪池",
        d["number"].as_str().unwrap(),
        Duration::from_secs(10),
    )
    .await;
    a.stop();
    b.stop();
}

/// An index whose position the store does not hold (here: a node's index moved onto another
/// database) is rebuilt from that store, so it never shows cases the store does not have.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_index_ahead_of_its_store_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap().keep();
    let first = Node::start(dir.join("first"), None, "first", None);
    let op = first.login("operator").await;
    let c = intake(&op, "只在第一个库的井盖工单", "井盖丢失", "13700005555").await;
    let disp = first.login("dispatcher").await;
    until_found(
        &disp,
        "第一个库",
        c["number"].as_str().unwrap(),
        Duration::from_secs(10),
    )
    .await;
    first.stop();
    // A second store, fresh, given the first one's index.
    let second_dir = dir.join("second");
    std::fs::create_dir_all(second_dir.join("search")).unwrap();
    for f in std::fs::read_dir(dir.join("first/search")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), second_dir.join("search").join(f.file_name())).unwrap();
    }
    let second = Node::start(second_dir, None, "second", None);
    let disp = second.login("dispatcher").await;
    let t0 = Instant::now();
    // Until the rebuild is committed the index may still be the copied one; it must not stay so.
    loop {
        let v = search(&disp, "第一个库", "").await;
        if v["total"] == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "stale index kept: {v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // And it follows its own store from there.
    let op = second.login("operator").await;
    let d = intake(&op, "第二个库的路灯工单", "路灯不亮", "13700006666").await;
    until_found(
        &disp,
        "第二个库",
        d["number"].as_str().unwrap(),
        Duration::from_secs(10),
    )
    .await;
    second.stop();
}
