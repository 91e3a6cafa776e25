//! Sessions expire, and a disabled lookup never resurrects them.

use jiesu_domain::{Grant, OrgUnit, Role, UnitId, UnitKind};
use jiesu_store::{NewUser, Store};

#[tokio::test]
async fn sessions_expire_and_logout_deletes_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::open(&url).await.unwrap();
    store
        .put_units(
            &[OrgUnit {
                id: UnitId::new("c"),
                parent: None,
                kind: UnitKind::County,
                name: "县".into(),
            }],
            &[],
        )
        .await
        .unwrap();
    store
        .create_user(
            &NewUser {
                id: "u1".into(),
                username: "op".into(),
                display_name: "接线员".into(),
                password_hash: "x".into(),
                phone: None,
                must_change_password: false,
                grants: vec![Grant {
                    role: Role::Operator,
                    unit: UnitId::new("c"),
                }],
            },
            0,
        )
        .await
        .unwrap();
    store.create_session("h1", "u1", 0, 1_000).await.unwrap();
    let s = store
        .session("h1", 999)
        .await
        .unwrap()
        .expect("live before expiry");
    assert_eq!(s.user.username, "op");
    assert_eq!(
        s.grants,
        vec![Grant {
            role: Role::Operator,
            unit: UnitId::new("c")
        }]
    );
    assert!(
        store.session("h1", 1_000).await.unwrap().is_none(),
        "expired at its deadline"
    );
    store.create_session("h2", "u1", 0, 5_000).await.unwrap();
    store.delete_session("h2").await.unwrap();
    assert!(store.session("h2", 1).await.unwrap().is_none());
    assert_eq!(store.purge_sessions(2_000).await.unwrap(), 1);
}
