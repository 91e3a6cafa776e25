//! Through the store, on SQLite and PostgreSQL: an alarm's case is made, dispatched and linked
//! atomically; importing a year's notice recomputes the provisional deadlines of open cases once,
//! with an event saying why; a system event on a case that moved on is refused as stale.

mod world;

use std::sync::Arc;

use jiesu_domain::*;
use jiesu_store::{NewAlarm, Store, StoreError};
use world::common::{dispatch, draft, staff, t};

async fn setup(store: &Store) -> Arc<Jurisdiction> {
    world::install(store, None).await
}

fn alarm(unit: &str, key: &str) -> NewAlarm {
    let mut d = draft(Kind::Alarm);
    d.channel = Channel::Monitor;
    d.urgency = Urgency::Urgent;
    NewAlarm {
        draft: d,
        dispatch: dispatch(unit),
        actor: world::common::actor("monitor", Role::Dispatcher, "county"),
        key: key.into(),
        mn: "MN01".into(),
        problem: "exceedance".into(),
        at_ms: 1_781_060_400_000,
        summary: "氨氮 2.3 mg/L 超 III 类".into(),
        now: t("2026-06-10T10:00:00+08:00"),
    }
}

async fn alarms_are_atomic(store: &Store) {
    let juris = setup(store).await;
    // The dispatch is refused (no such unit): neither a case nor an alarm may be left behind.
    let r = store
        .open_alarm_case(juris.clone(), alarm("nowhere", "alarm:MN01:exceedance:1"))
        .await;
    assert!(matches!(r, Err(StoreError::Domain(_))), "{r:?}");
    assert_eq!(store.count_cases().await.unwrap(), 0, "no orphan case");
    assert!(
        store
            .open_alarm("MN01", "exceedance")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(store.event_count().await.unwrap(), 0);

    let (case, created) = store
        .open_alarm_case(juris.clone(), alarm("deptA", "alarm:MN01:exceedance:2"))
        .await
        .unwrap();
    assert!(created);
    assert_eq!(case.state, CaseState::Dispatched);
    assert_eq!(case.draft.channel, Channel::Monitor);
    let open = store
        .open_alarm("MN01", "exceedance")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(open.case_id, case.id);
    // A second node racing on the same alarm gets the same case, not a second one.
    let (again, created) = store
        .open_alarm_case(juris.clone(), alarm("deptA", "alarm:MN01:exceedance:2"))
        .await
        .unwrap();
    assert!(!created);
    assert_eq!(again.id, case.id);
    assert_eq!(store.count_cases().await.unwrap(), 1);
    let report = store.verify().await.unwrap();
    assert!(report.first_broken.is_none(), "{report:?}");
    // Staff cannot forge the monitor channel through intake.
    let mut d = draft(Kind::Complaint);
    d.channel = Channel::Monitor;
    let r = store
        .intake(
            juris.clone(),
            d,
            &staff().operator,
            t("2026-06-10T10:00:00+08:00"),
            None,
        )
        .await;
    assert!(
        matches!(
            &r,
            Err(StoreError::Domain(DomainError::Forbidden {
                code: "channel_forbidden",
                ..
            }))
        ),
        "{r:?}"
    );
}

async fn importing_a_notice_recomputes_provisional_deadlines(store: &Store) {
    let juris = setup(store).await;
    assert!(
        juris.calendar.is_provisional(2027),
        "2027 has no notice yet"
    );
    let s = staff();
    let at = t("2026-12-21T09:00:00+08:00");
    let (case, _) = store
        .intake(juris.clone(), draft(Kind::Complaint), &s.operator, at, None)
        .await
        .unwrap();
    let case = store
        .command(
            juris.clone(),
            &case.id,
            dispatch("deptA"),
            &s.dispatcher,
            t("2026-12-21T10:00:00+08:00"),
        )
        .await
        .unwrap();
    let d = case.deadlines.clone().unwrap();
    assert_eq!(d.resolve_due, t("2027-01-12T10:00:00+08:00"));
    assert!(d.provisional);
    // A case whose deadlines stay in 2026 is not touched.
    let (other, _) = store
        .intake(juris.clone(), draft(Kind::Inquiry), &s.operator, at, None)
        .await
        .unwrap();
    let other = store
        .command(
            juris.clone(),
            &other.id,
            dispatch("deptA"),
            &s.dispatcher,
            at,
        )
        .await
        .unwrap();
    assert!(!other.deadlines.as_ref().unwrap().provisional);

    store
        .put_calendar_year(
            "year = 2027\nsource = \"测试通知\"\n[[period]]\nname = \"元旦\"\nname_en = \"New Year's Day\"\nrest = [\"2027-01-01..2027-01-04\"]\n",
        )
        .await
        .unwrap();
    let juris = Arc::new(store.load_jurisdiction().await.unwrap());
    assert!(!juris.calendar.is_provisional(2027));
    let now = t("2026-12-22T09:00:00+08:00");
    assert_eq!(store.recalendar(juris.clone(), 2027, now).await.unwrap(), 1);
    let moved = store.get_case(&case.id).await.unwrap().unwrap();
    let d = moved.deadlines.unwrap();
    assert_eq!(d.resolve_due, t("2027-01-13T10:00:00+08:00"));
    assert!(!d.provisional);
    let trail = store.timeline(&case.id).await.unwrap();
    let last = trail.last().unwrap();
    assert_eq!(last.kind, "deadlines_recomputed");
    assert_eq!(last.actor_id, "system");
    assert!(
        last.data["reason"]
            .as_str()
            .unwrap()
            .contains("2027年节假日安排已更新")
    );
    // Another node doing the same finds nothing left to move.
    assert_eq!(store.recalendar(juris.clone(), 2027, now).await.unwrap(), 0);
    assert_eq!(store.timeline(&other.id).await.unwrap().len(), 2);
    let report = store.verify().await.unwrap();
    assert!(report.first_broken.is_none(), "{report:?}");

    // A system event computed on an old version is refused, and writes nothing.
    let before = store.event_count().await.unwrap();
    let r = store
        .system_event(
            juris.clone(),
            &case.id,
            case.version,
            CaseEvent::Annotated { text: "x".into() },
            now,
        )
        .await;
    assert!(matches!(r, Err(StoreError::Stale)), "{r:?}");
    assert_eq!(store.event_count().await.unwrap(), before);
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())
}

#[tokio::test]
async fn sqlite_alarms_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    alarms_are_atomic(&Store::open(&sqlite_url(&dir)).await.unwrap()).await;
}

#[tokio::test]
async fn postgres_alarms_are_atomic() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_store").await else {
        return;
    };
    alarms_are_atomic(&Store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_importing_a_notice_recomputes_provisional_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    importing_a_notice_recomputes_provisional_deadlines(
        &Store::open(&sqlite_url(&dir)).await.unwrap(),
    )
    .await;
}

#[tokio::test]
async fn postgres_importing_a_notice_recomputes_provisional_deadlines() {
    let Some(url) = jiesu_store::testing::fresh_pg_database("jiesu_store").await else {
        return;
    };
    importing_a_notice_recomputes_provisional_deadlines(&Store::open(&url).await.unwrap()).await;
}
