//! Administrative changes checked where two admins could race: moves are decided on the tree as
//! stored, inside the transaction, so two moves made on two nodes from the same (stale) view of
//! the tree cannot make a cycle; and every change lands with its audit entry, or neither does.

mod world;

use jiesu_domain::UnitId;
use jiesu_store::{AdminChange, AuditEntry, AuditFilter, Store, StoreError};

fn entry(action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        at_ms: 1_780_000_000_000,
        actor_id: "u-admin".into(),
        actor_name: "admin".into(),
        address: "127.0.0.1".into(),
        action: action.into(),
        target: target.into(),
        detail: String::new(),
    }
}

async fn racing_moves_make_no_cycle(url: &str) {
    let store = Store::open(url).await.expect("open");
    let stale = world::install(&store, None).await;
    let mv = |unit: &str, parent: &str| AdminChange::MoveUnit {
        unit: UnitId::new(unit),
        parent: UnitId::new(parent),
        juris: stale.clone(),
    };
    // Both moves were checked against the same tree (street1 and street2 side by side); the first
    // lands, the second would close a loop and is refused by what is stored.
    store
        .administer(
            &mv("street1", "street2"),
            &entry("unit_moved", "unit:street1"),
        )
        .await
        .expect("first move");
    let second = store
        .administer(
            &mv("street2", "comm1"),
            &entry("unit_moved", "unit:street2"),
        )
        .await;
    assert!(
        matches!(
            second,
            Err(StoreError::Refused {
                code: "move_into_own_subtree",
                ..
            })
        ),
        "{second:?}"
    );
    // The tree as stored still loads, with the first move's paths.
    let j = store.load_jurisdiction().await.expect("the tree loads");
    assert_eq!(
        j.org.path(&UnitId::new("grid1")),
        Some("/county/street2/street1/comm1/grid1/")
    );
    // The refused move left no audit entry; the first left one.
    let log = store
        .audit_entries(&AuditFilter {
            action: Some("unit_moved".into()),
            limit: 10,
            ..AuditFilter::default()
        })
        .await
        .expect("audit");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].entry.target, "unit:street1");
    assert!(
        store
            .verify_audit()
            .await
            .expect("verify")
            .first_broken
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_racing_moves_make_no_cycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    racing_moves_make_no_cycle(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_racing_moves_make_no_cycle() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_admin").await else {
        return;
    };
    racing_moves_make_no_cycle(&url).await;
}
