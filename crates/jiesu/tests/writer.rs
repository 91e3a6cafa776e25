//! The group-commit writer on both backends: a write the database refuses (here an import that
//! repeats an existing case's id and number) fails alone. The writes submitted with it still land,
//! nothing of the refused one is written, and the chains still verify.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiesu_domain::case::Reporter;
use jiesu_domain::{Actor, CaseDraft, CaseEvent, Channel, Kind, Urgency};
use jiesu_store::{ActorRef, ImportedCase, StoreError};

fn draft(i: usize) -> CaseDraft {
    CaseDraft {
        channel: Channel::Hotline,
        kind: Kind::Complaint,
        category: Some("urban.street_vending".into()),
        urgency: Urgency::Normal,
        title: format!("丹二巷占道经营 {i}"),
        description: "市民反映丹二巷早晚有商贩占道经营。".into(),
        address: Some("丹江口市均州路街道丹二巷".into()),
        location: None,
        reporter: Reporter {
            name: Some("王先生".into()),
            phone: Some("13812345678".into()),
            anonymous: false,
            user_id: None,
        },
    }
}

async fn refused_write_fails_alone(dir: &Path, database: Option<&str>) {
    let store = jiesu::server::open(dir, database).await.expect("open");
    let now = jiesu_domain::calendar::to_beijing(
        chrono::DateTime::parse_from_rfc3339("2026-06-10T09:00:00+08:00").unwrap(),
    );
    jiesu::server::build_demo(&store, dir, 0, 7, now)
        .await
        .expect("demo county");
    let juris = Arc::new(store.load_jurisdiction().await.expect("jurisdiction"));
    let user = store
        .user_by_username("operator")
        .await
        .expect("lookup")
        .expect("operator");
    let actor = Actor {
        grants: store.grants_of(&user.id).await.expect("grants"),
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
    };
    let (first, _) = store
        .intake(juris.clone(), draft(0), &actor, now, None)
        .await
        .expect("first case");
    let repeat = ImportedCase {
        id: first.id.clone(),
        events: vec![(
            CaseEvent::Received {
                number: first.number.clone(),
                intake_unit: first.intake_unit.clone(),
                draft: first.draft.clone(),
            },
            now,
            ActorRef::system(),
        )],
    };
    // Submitted together (the import between the intakes), so that the writer is likely to batch
    // them with the refused import; what is asserted holds however they are batched.
    let mut intakes = Vec::new();
    let mut import = None;
    for i in 1..=40 {
        let (s, j, actor) = (store.clone(), juris.clone(), actor.clone());
        intakes.push(tokio::spawn(async move {
            s.intake(
                j,
                draft(i),
                &actor,
                now,
                Some((format!("key-{i}"), format!("fp-{i}"))),
            )
            .await
        }));
        if i == 20 {
            let (store, juris, repeat) = (store.clone(), juris.clone(), repeat.clone());
            import = Some(tokio::spawn(async move {
                store.import(juris, vec![repeat]).await
            }));
        }
    }
    let import = import.expect("spawned").await.expect("task");
    assert!(
        matches!(import, Err(StoreError::Unavailable(_))),
        "the repeated case must be refused, got {import:?}"
    );
    for (i, h) in intakes.into_iter().enumerate() {
        let (_, created) = h
            .await
            .expect("task")
            .expect("intake beside a refused write");
        assert!(created, "intake {} made no case", i + 1);
    }
    assert!(store.writer_stats().failed_batches.load(Ordering::Relaxed) >= 1);
    let report = store.verify().await.expect("verify");
    assert_eq!(report.first_broken, None);
    assert_eq!(
        report.cases, 41,
        "40 intakes and the first case, no second copy"
    );
    assert_eq!(report.events, 41);
}

#[tokio::test]
async fn sqlite_refused_write_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    refused_write_fails_alone(dir.path(), None).await;
}

#[tokio::test]
async fn postgres_refused_write_fails_alone() {
    let Some(url) = support::fresh_pg_database() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    refused_write_fails_alone(dir.path(), Some(&url)).await;
}
