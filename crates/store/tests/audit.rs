//! The audit log is one hash chain on both backends: two nodes appending at once never fork it,
//! the database refuses edits, and an entry edited behind the triggers' back is named by
//! `verify_audit`.

use jiesu_store::{AuditEntry, AuditFilter, Store};
use sqlx::Connection;

fn entry(i: usize, node: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1_780_000_000_000 + i as i64,
        actor_id: format!("u{i}"),
        actor_name: format!("张三{i}"),
        address: "10.0.0.7".into(),
        action: if i.is_multiple_of(3) {
            "reveal"
        } else {
            "sign_in"
        }
        .into(),
        target: format!("user:{node}{}", i % 5),
        detail: format!("node {node}, entry {i}"),
    }
}

async fn one_chain_refused_edits_and_named_tampering(url: &str) {
    // A line from before the chain began (as migration 0012 leaves older entries).
    let a = Store::open(url).await.expect("open a");
    let mut conn = sqlx::AnyConnection::connect(url).await.expect("connect");
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_name, address, action, target, detail) \
         VALUES (1, 'old', 'old', '', 'reveal', 'x', 'before 0012')",
    )
    .execute(&mut conn)
    .await
    .expect("old entry");
    // Two nodes on one database, appending at the same time.
    let b = Store::open(url).await.expect("open b");
    let mut tasks = Vec::new();
    for (node, store) in [("a", a.clone()), ("b", b.clone())] {
        for i in 0..30 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                store.audit(&entry(i, node)).await.expect("append")
            }));
        }
    }
    for t in tasks {
        t.await.expect("join");
    }
    let r = a.verify_audit().await.expect("verify");
    assert_eq!(r.first_broken, None);
    assert_eq!((r.chained, r.before_chain), (60, 1));
    let newest = b
        .audit_entries(&AuditFilter {
            action: Some("reveal".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .expect("read");
    assert_eq!(newest.len(), 21, "20 reveals and the old one");
    assert!(newest.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    let about = a
        .audit_entries(&AuditFilter {
            target: Some("user:a1".into()),
            limit: 1000,
            ..AuditFilter::default()
        })
        .await
        .expect("of target");
    assert_eq!(about.len(), 6);
    assert!(about.iter().all(|e| e.entry.target == "user:a1"));

    // The database refuses to change or remove an entry.
    let victim = newest[3].id;
    for sql in [
        format!("UPDATE audit_log SET detail = 'nothing to see' WHERE id = {victim}"),
        format!("DELETE FROM audit_log WHERE id = {victim}"),
    ] {
        let refused = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.clone()))
            .execute(&mut conn)
            .await;
        assert!(refused.is_err(), "{sql} was allowed");
    }
    // Someone with the database's owner rights drops the guard and edits: verify names the entry.
    let unguard = if url.starts_with("sqlite") {
        "DROP TRIGGER audit_log_no_update"
    } else {
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"
    };
    sqlx::raw_sql(unguard)
        .execute(&mut conn)
        .await
        .expect("unguard");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "UPDATE audit_log SET detail = 'nothing to see' WHERE id = {victim}"
    )))
    .execute(&mut conn)
    .await
    .expect("edit");
    let r = a.verify_audit().await.expect("verify");
    let (id, what) = r.first_broken.expect("the edit is found");
    assert_eq!(id, victim);
    assert!(what.contains("changed"), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_audit_log_is_one_chain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    one_chain_refused_edits_and_named_tampering(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_audit_log_is_one_chain() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_audit").await else {
        return;
    };
    one_chain_refused_edits_and_named_tampering(&url).await;
}
