//! The deadline clock with real servers and real time: a missed deadline becomes a yellow card
//! within a second of its due moment; a restart loses nothing and doubles nothing, even when the
//! server was down at the due moment; two servers on one PostgreSQL fire each deadline once, and
//! the second takes over when the first stops. Deadlines are one calendar minute long, so each
//! test waits about a minute (they run side by side).

mod support;

use std::time::Duration;

use jiesu::client::Client;
use jiesu_store::Store;
use serde_json::{Value, json};
use support::Node;

const DEPT: &str = "420381D01";

const POLICY: &str = r#"
accept = "1 minutes"
contact = "2 minutes"
[resolve]
default = "30 minutes"
"#;

/// Records a case and dispatches it to the department; returns its id and accept due (ms, as
/// stored: the API shows whole seconds).
async fn dispatched_case(store: &Store, op: &Client, disp: &Client, title: &str) -> (String, i64) {
    let r = op
        .post(
            "/api/v1/cases",
            &json!({"kind": "complaint", "category": "urban.street_vending", "title": title}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let id = r.json()["id"].as_str().unwrap().to_string();
    let r = disp
        .post(
            &format!("/api/v1/cases/{id}/commands"),
            &json!({"type": "dispatch", "unit": DEPT}),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["deadlines"]["accept_due"].is_string());
    let case = store.get_case(&id).await.unwrap().unwrap();
    (id, case.deadlines.unwrap().accept_due.timestamp_millis())
}

/// The case's events of type `kind` as (at_ms, data).
async fn events(store: &Store, id: &str, kind: &str) -> Vec<(i64, Value)> {
    store
        .timeline(id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e| (e.at_ms, e.data))
        .collect()
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn sleep_until(ms: i64) {
    let d = ms - now_ms();
    if d > 0 {
        tokio::time::sleep(Duration::from_millis(d as u64)).await;
    }
}

/// Waits (up to `limit`) until the case has an event of `kind`.
async fn wait_for(store: &Store, id: &str, kind: &str, limit: Duration) -> Vec<(i64, Value)> {
    let until = std::time::Instant::now() + limit;
    loop {
        let e = events(store, id, kind).await;
        if !e.is_empty() || std::time::Instant::now() > until {
            return e;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn fires_within_a_second(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap().keep();
    let node = Node::start(dir, database, "a", Some(POLICY));
    let (op, disp) = (node.login("operator").await, node.login("dispatcher").await);
    let (id, due) = dispatched_case(&node.store, &op, &disp, "一分钟签收时限").await;
    // The warning at 80 % of the minute, then the miss and its yellow card at the minute.
    let warned = wait_for(
        &node.store,
        &id,
        "deadline_warning",
        Duration::from_secs(70),
    )
    .await;
    assert_eq!(warned.len(), 1, "{warned:?}");
    assert_eq!(warned[0].1["kind"], "accept");
    sleep_until(due).await;
    let missed = wait_for(&node.store, &id, "deadline_missed", Duration::from_secs(5)).await;
    assert_eq!(missed.len(), 1);
    let late = missed[0].0 - due;
    assert!(
        (0..=1000).contains(&late),
        "fired {late} ms after the due moment"
    );
    let cards = events(&node.store, &id, "yellow_card").await;
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].1["card"]["unit"], DEPT);
    assert_eq!(cards[0].1["card"]["reason"], "accept_late");
    assert!(cards[0].0 - due <= 1000);
    // The card shows on the case; the contact deadline (2 minutes) is still pending.
    let case = disp
        .get(&format!("/api/v1/cases/{id}"))
        .await
        .unwrap()
        .json();
    assert_eq!(case["state"], "dispatched", "{case}");
    assert_eq!(case["cards"][0]["id"], "Y1");
    assert_eq!(case["cards"][0]["status"], "active");
    // The carded department appeals, once; only an inspector decides.
    let handler = node.login("handler_d01").await;
    let command = |c: &Client, body: Value| {
        let (c, id) = (c.clone(), id.clone());
        async move {
            c.post(&format!("/api/v1/cases/{id}/commands"), &body)
                .await
                .unwrap()
        }
    };
    let appeal = json!({"type": "appeal", "card": "Y1", "reason": "系统派单时本部门值班电话故障"});
    let r = command(&handler, appeal.clone()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let r = command(&handler, appeal).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (409, json!("appeal_exists"))
    );
    let decide = json!({"type": "decide_appeal", "card": "Y1", "decision": "revoke", "reason": "经核实属实"});
    let leader = node.login("leader").await;
    let r = command(&leader, decide.clone()).await;
    assert_eq!(
        (r.status, r.json()["code"].clone()),
        (403, json!("role_forbidden"))
    );
    let inspector = node.login("inspector").await;
    let r = command(&inspector, decide).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["cards"][0]["status"], "revoked");
    assert_eq!(events(&node.store, &id, "card_revoked").await.len(), 1);
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_missed_deadline_is_carded_within_a_second() {
    fires_within_a_second(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_missed_deadline_is_carded_within_a_second() {
    if let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_clock").await {
        fires_within_a_second(Some(url)).await;
    }
}

async fn restart_loses_and_doubles_nothing(database: Option<String>) {
    let dir = tempfile::tempdir().unwrap().keep();
    let node = Node::start(dir.clone(), database.clone(), "first", Some(POLICY));
    let (op, disp) = (node.login("operator").await, node.login("dispatcher").await);
    let (down, due_down) = dispatched_case(&node.store, &op, &disp, "停机期间到期").await;
    node.stop();
    // Down through the warning and the due moment.
    sleep_until(due_down + 1500).await;
    let node = Node::start(dir.clone(), database.clone(), "second", Some(POLICY));
    let missed = wait_for(
        &node.store,
        &down,
        "deadline_missed",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(missed.len(), 1, "fired once, at once");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(missed[0].1["due"].as_str().unwrap())
            .unwrap()
            .timestamp_millis(),
        due_down,
        "stamped with its due moment"
    );
    // Already missed: no warning after the fact.
    assert!(
        events(&node.store, &down, "deadline_warning")
            .await
            .is_empty()
    );
    // A case that falls due while this node runs.
    let (op, disp) = (node.login("operator").await, node.login("dispatcher").await);
    let (up, due_up) = dispatched_case(&node.store, &op, &disp, "运行期间到期").await;
    node.stop();
    let node = Node::start(dir.clone(), database.clone(), "third", Some(POLICY));
    sleep_until(due_up + 1500).await;
    assert_eq!(
        wait_for(&node.store, &up, "deadline_missed", Duration::from_secs(5))
            .await
            .len(),
        1
    );
    node.stop();
    // One more restart changes nothing: nothing lost, nothing fired twice.
    let node = Node::start(dir, database, "fourth", Some(POLICY));
    tokio::time::sleep(Duration::from_secs(2)).await;
    // (By now the two-minute contact deadlines have fallen due too: count each kind.)
    for id in [&down, &up] {
        let missed = events(&node.store, id, "deadline_missed").await;
        let cards = events(&node.store, id, "yellow_card").await;
        for kind in ["accept", "contact"] {
            let n = missed.iter().filter(|(_, d)| d["kind"] == kind).count();
            assert!(n <= 1, "{kind} fired {n} times on {id}");
            let reason = format!("{kind}_late");
            let c = cards
                .iter()
                .filter(|(_, d)| d["card"]["reason"] == reason.as_str())
                .count();
            assert_eq!(c, n, "one card per miss");
        }
        assert_eq!(
            missed.iter().filter(|(_, d)| d["kind"] == "accept").count(),
            1,
            "accept fired once on {id}"
        );
    }
    let report = node.store.verify().await.unwrap();
    assert!(report.first_broken.is_none(), "{report:?}");
    node.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_restart_with_deadlines_pending() {
    restart_loses_and_doubles_nothing(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restart_with_deadlines_pending() {
    if let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_clock").await {
        restart_loses_and_doubles_nothing(Some(url)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_fire_each_deadline_once() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_clock").await else {
        return;
    };
    let a = Node::start(
        tempfile::tempdir().unwrap().keep(),
        Some(url.clone()),
        "node-a",
        Some(POLICY),
    );
    let b = Node::start(
        tempfile::tempdir().unwrap().keep(),
        Some(url),
        "node-b",
        Some(POLICY),
    );
    // Cases made through both nodes.
    let mut first = Vec::new();
    for (i, n) in [&a, &b, &a, &b].into_iter().enumerate() {
        let (op, disp) = (n.login("operator").await, n.login("dispatcher").await);
        first.push(dispatched_case(&n.store, &op, &disp, &format!("双节点{i}")).await);
    }
    let last_due = first.iter().map(|c| c.1).max().unwrap();
    sleep_until(last_due + 2000).await;
    for (id, _) in &first {
        assert_eq!(
            events(&a.store, id, "deadline_missed").await.len(),
            1,
            "{id}"
        );
        assert_eq!(
            events(&a.store, id, "deadline_warning").await.len(),
            1,
            "{id}"
        );
        assert_eq!(events(&a.store, id, "yellow_card").await.len(), 1, "{id}");
    }
    // The node holding the clock stops; the other takes over within the lease's life.
    let holder = a.store.lease_holder("clock").await.unwrap().unwrap();
    let (stopped, survivor) = if holder == "node-a" { (a, b) } else { (b, a) };
    let (op, disp) = (
        survivor.login("operator").await,
        survivor.login("dispatcher").await,
    );
    let (late, due) = dispatched_case(&survivor.store, &op, &disp, "接管后到期").await;
    stopped.stop();
    sleep_until(due).await;
    let missed = wait_for(
        &survivor.store,
        &late,
        "deadline_missed",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(missed.len(), 1);
    assert_eq!(
        survivor
            .store
            .lease_holder("clock")
            .await
            .unwrap()
            .as_deref(),
        Some(if holder == "node-a" {
            "node-b"
        } else {
            "node-a"
        })
    );
    survivor.stop();
}
