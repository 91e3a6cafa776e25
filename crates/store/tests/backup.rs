//! A backup taken while cases keep arriving holds a consistent store: restored, it verifies, it
//! serves, and it has every case acknowledged before the backup began.

mod world;

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use jiesu_domain::*;
use jiesu_store::Store;
use jiesu_store::backup::{BackupError, backup_sqlite, restore_sqlite};
use world::common::{dispatch, draft, staff, t};

async fn setup(store: &Store) -> Arc<Jurisdiction> {
    world::install(store, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_to_a_store_that_verifies_and_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let live = dir.path().join("live");
    std::fs::create_dir_all(&live).expect("dir");
    let db = live.join("jiesu.db");
    let store = Store::open(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .expect("open");
    let juris = setup(&store).await;
    let s = staff();

    // Writers: intakes, each followed by a dispatch, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    // Acknowledged cases, in the order their dispatch was acknowledged.
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let n_acked = |a: &Mutex<Vec<String>>| a.lock().expect("lock").len();
    let mut writers = Vec::new();
    for w in 0..4 {
        let (store, juris, stop, acked) =
            (store.clone(), juris.clone(), stop.clone(), acked.clone());
        let (op, disp) = (s.operator.clone(), s.dispatcher.clone());
        writers.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            let mut i = 0u32;
            while !stop.load(Ordering::Relaxed) {
                let at = t("2026-06-10T09:00:00+08:00") + chrono::Duration::seconds(i64::from(i));
                let (case, _) = store
                    .intake(juris.clone(), draft(Kind::Complaint), &op, at, None)
                    .await
                    .expect("intake");
                store
                    .command(juris.clone(), &case.id, dispatch("deptA"), &disp, at)
                    .await
                    .expect("dispatch");
                acked.lock().expect("lock").push(case.id.clone());
                ids.push(case.id);
                i += 1 + w;
            }
            ids
        }));
    }
    while n_acked(&acked) < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let before: Vec<String> = acked.lock().expect("lock").clone();
    let out = dir.path().join("backup.db");
    let (db2, out2) = (db.clone(), out.clone());
    let report = tokio::task::spawn_blocking(move || backup_sqlite(&db2, &out2))
        .await
        .expect("join")
        .expect("backup");
    let during = n_acked(&acked);
    // Keep writing a little after the backup, then stop.
    while n_acked(&acked) < during + 20 {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.expect("writer"));
    }
    assert!(report.cases as usize >= before.len(), "{report:?}");
    assert!(
        (report.cases as usize) < written.len(),
        "the writes went on"
    );
    assert!(!out.with_extension("db.partial").exists());

    // Restored into an empty directory: it verifies, serves, and lost nothing acknowledged.
    let restored = dir.path().join("restored");
    let r = restore_sqlite(&out, &restored, false).expect("restore");
    assert_eq!((r.cases, r.events), (report.cases, report.events));
    let back = Store::open(&format!(
        "sqlite://{}?mode=rwc",
        restored.join("jiesu.db").display()
    ))
    .await
    .expect("open restored");
    let v = back.verify().await.expect("verify");
    assert!(v.first_broken.is_none(), "{v:?}");
    assert_eq!(v.cases as i64, report.cases);
    let mut found = 0;
    for id in &written {
        // Each case the backup holds, it holds whole: received, or dispatched.
        if let Some(c) = back.get_case(id).await.expect("read") {
            found += 1;
            assert!(matches!(
                c.state,
                CaseState::Received | CaseState::Dispatched
            ));
        }
    }
    assert_eq!(found as i64, report.cases);
    // Cases acknowledged before the backup began were committed before its snapshot, dispatch
    // included: every one is there, dispatched.
    for id in &before {
        let c = back
            .get_case(id)
            .await
            .expect("read")
            .expect("acknowledged case kept");
        assert_eq!(c.state, CaseState::Dispatched, "{id}");
    }
    let juris2 = Arc::new(back.load_jurisdiction().await.expect("jurisdiction"));
    let (c, created) = back
        .intake(
            juris2,
            draft(Kind::Complaint),
            &s.operator,
            t("2026-06-11T09:00:00+08:00"),
            None,
        )
        .await
        .expect("the restored store takes new cases");
    assert!(created && !c.number.is_empty());

    // Restoring over a store needs --force; a file that is not a store is refused.
    let again = restore_sqlite(&out, &restored, false);
    assert!(
        matches!(again, Err(BackupError::TargetExists(_))),
        "{again:?}"
    );
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all, just bytes").expect("junk");
    let bad = restore_sqlite(&junk, &dir.path().join("other"), false);
    assert!(bad.is_err(), "{bad:?}");
    assert!(!dir.path().join("other").join("jiesu.db").exists());
}
