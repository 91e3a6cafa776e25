//! Kill -9 under load: every case whose 201 reached the client survives, the hash chains verify,
//! and no idempotency key ever has two cases.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jiesu::client::Client;
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_jiesu");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_healthy(base: &str, child: &mut Child) {
    let c = Client::new(base);
    let start = Instant::now();
    loop {
        if let Ok(r) = c.get("/healthz").await
            && r.status == 200
        {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("jiesu exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "jiesu did not come up at {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn spawn(args: &[&str], dir: &Path) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join(format!("{}.log", args[0]))).unwrap())
        .spawn()
        .unwrap()
}

#[derive(Default)]
struct Ledger {
    /// Keys whose 201/200 arrived, with the case id in it.
    acked: HashMap<String, String>,
    /// Keys sent whose answer never arrived (the server died under them).
    unknown: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_concurrent_intake_loses_no_acknowledged_case() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = spawn(
        &[
            "demo",
            "--data-dir",
            d.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--cases",
            "0",
            // Only this test's intakes may write: no monitoring traffic.
            "--hj212-listen",
            "off",
        ],
        d,
    );
    wait_healthy(&base, &mut server).await;
    let users = std::fs::read_to_string(d.join("demo-users.txt")).unwrap();
    let pw = users
        .lines()
        .find_map(|l| {
            l.strip_prefix("operator\t")
                .and_then(|r| r.split('\t').next())
        })
        .unwrap()
        .to_string();
    let op = Client::new(&base).login("operator", &pw).await.unwrap();

    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let mut tasks = Vec::new();
    for w in 0..24 {
        let op = op.clone();
        let ledger = ledger.clone();
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("crash-{w}-{n}");
                let body = json!({"kind": "complaint", "title": format!("崩溃测试 {w}-{n}"), "reporter": {"phone": "13800000000"}});
                match op.post_with("/api/v1/cases", &[("idempotency-key", key.as_str())], &body).await {
                    Ok(r) if r.status == 201 || r.status == 200 => {
                        let id = r.json()["id"].as_str().unwrap().to_string();
                        ledger.lock().unwrap().acked.insert(key, id);
                    }
                    _ => {
                        ledger.lock().unwrap().unknown.push(key);
                        return;
                    }
                }
            }
        }));
    }
    // Let the load run, then kill the server without warning.
    let start = Instant::now();
    while ledger.lock().unwrap().acked.len() < 300 && start.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill().unwrap(); // SIGKILL
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let ledger = Arc::try_unwrap(ledger).ok().unwrap().into_inner().unwrap();
    assert!(
        ledger.acked.len() >= 300,
        "only {} acknowledged before the kill",
        ledger.acked.len()
    );

    // The log verifies after the crash.
    let out = Command::new(BIN)
        .args(["verify", "--data-dir", d.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let port2 = free_port();
    let base2 = format!("http://127.0.0.1:{port2}");
    let mut server2 = spawn(
        &[
            "serve",
            "--data-dir",
            d.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port2}"),
            "--hj212-listen",
            "off",
        ],
        d,
    );
    wait_healthy(&base2, &mut server2).await;
    let op = Client::new(&base2).login("operator", &pw).await.unwrap();
    // Every acknowledged case is there, and retrying its key returns it instead of a new case.
    for (key, id) in &ledger.acked {
        let r = op.get(&format!("/api/v1/cases/{id}")).await.unwrap();
        assert_eq!(r.status, 200, "acknowledged case {id} ({key}) lost");
        let (w, n) = key.trim_start_matches("crash-").split_once('-').unwrap();
        let body = json!({"kind": "complaint", "title": format!("崩溃测试 {w}-{n}"), "reporter": {"phone": "13800000000"}});
        let r = op
            .post_with("/api/v1/cases", &[("idempotency-key", key.as_str())], &body)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "retry of {key} made a new case");
        assert_eq!(r.json()["id"], id.as_str());
    }
    // A request cut off by the kill either committed or not; its retry settles it, once.
    let mut settled = 0;
    for key in &ledger.unknown {
        let (w, n) = key.trim_start_matches("crash-").split_once('-').unwrap();
        let body = json!({"kind": "complaint", "title": format!("崩溃测试 {w}-{n}"), "reporter": {"phone": "13800000000"}});
        let a = op
            .post_with("/api/v1/cases", &[("idempotency-key", key.as_str())], &body)
            .await
            .unwrap();
        assert!(a.status == 200 || a.status == 201);
        let b = op
            .post_with("/api/v1/cases", &[("idempotency-key", key.as_str())], &body)
            .await
            .unwrap();
        assert_eq!(b.status, 200);
        assert_eq!(a.json()["id"], b.json()["id"]);
        settled += 1;
    }
    server2.kill().unwrap();
    server2.wait().unwrap();
    let out = Command::new(BIN)
        .args(["verify", "--data-dir", d.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "verify failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Exactly one case per key: the store holds as many cases as keys were used.
    let report = String::from_utf8_lossy(&out.stdout);
    let cases: usize = report
        .split(" in ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("unexpected verify output: {report}"));
    assert_eq!(cases, ledger.acked.len() + settled, "{report}");
}

#[test]
fn verify_names_the_first_broken_case() {
    // A log edited behind jiesu's back (triggers dropped, an event rewritten) must be caught.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = Command::new(BIN)
        .args([
            "demo",
            "--data-dir",
            d.to_str().unwrap(),
            "--cases",
            "50",
            "--no-serve",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ok = Command::new(BIN)
        .args(["verify", "--data-dir", d.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(ok.status.success());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let victim: String = rt.block_on(async {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", d.join("jiesu.db").display());
        let mut c = sqlx::AnyConnection::connect(&url).await.unwrap();
        // The append-only trigger refuses the edit…
        let refused = sqlx::raw_sql("UPDATE case_events SET data = '{}' WHERE global_seq = 10")
            .execute(&mut c)
            .await;
        assert!(refused.is_err(), "an UPDATE on the log must be refused");
        // …so a forger drops it first; verify must still notice.
        sqlx::raw_sql("DROP TRIGGER case_events_no_update")
            .execute(&mut c)
            .await
            .unwrap();
        sqlx::raw_sql(
            "UPDATE case_events SET data = replace(data, '\"', '\"') || ' ' WHERE global_seq = 10",
        )
        .execute(&mut c)
        .await
        .unwrap();
        sqlx::query_scalar::<_, String>("SELECT case_id FROM case_events WHERE global_seq = 10")
            .fetch_one(&mut c)
            .await
            .unwrap()
    });
    let bad = Command::new(BIN)
        .args(["verify", "--data-dir", d.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let msg = String::from_utf8_lossy(&bad.stderr);
    assert!(
        msg.contains(&victim),
        "verify should name case {victim}: {msg}"
    );
}
