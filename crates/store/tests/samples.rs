//! Monitoring samples on both backends: one row per upload, split parts side by side, resends
//! replacing, period means from valid readings only, and the migration from one row per factor.

use jiesu_monitor::Reading;
use jiesu_store::{SampleRow, Store};
use sqlx::Connection;

async fn fresh_pg() -> Option<String> {
    jiesu_store::testing::fresh_pg_database("jiesu_store").await
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display())
}

fn fv(factor: &str, value: Option<f64>, flag: Option<&str>) -> Reading {
    Reading {
        factor: factor.into(),
        value,
        flag: flag.map(str::to_string),
    }
}

fn sample(at_ms: i64, part: i64, readings: Vec<Reading>) -> SampleRow {
    SampleRow {
        mn: "MN01".into(),
        kind: "rtd",
        at_ms,
        part,
        received_ms: at_ms + 5,
        readings,
    }
}

const H: i64 = 3_600_000;
/// 2026-11-23 00:00 Beijing time.
const DAY: i64 = 1_795_363_200_000;

async fn samples_behave(store: &Store) {
    // A split upload: two parts with the same data time, different factors.
    let stored = store
        .store_samples(vec![
            sample(DAY, 1, vec![fv("w01001", Some(7.5), Some("N"))]),
            sample(DAY, 2, vec![fv("w21003", Some(0.25), Some("N"))]),
            sample(
                DAY + 60_000,
                1,
                vec![
                    fv("w21003", Some(0.25), Some("N")),
                    fv("w01001", None, Some("D")),
                ],
            ),
        ])
        .await
        .unwrap();
    assert_eq!(stored.len(), 3, "the rows come back to the caller");
    let all = store
        .readings("MN01", None, "rtd", DAY, DAY + H, 100)
        .await
        .unwrap();
    let got: Vec<(i64, &str, Option<f64>, Option<&str>)> = all
        .iter()
        .map(|r| (r.at_ms, r.factor.as_str(), r.value, r.flag.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (DAY, "w01001", Some(7.5), Some("N")),
            (DAY, "w21003", Some(0.25), Some("N")),
            (DAY + 60_000, "w01001", None, Some("D")),
            (DAY + 60_000, "w21003", Some(0.25), Some("N")),
        ]
    );
    let nh3 = store
        .readings("MN01", Some("w21003"), "rtd", DAY, DAY + H, 100)
        .await
        .unwrap();
    assert_eq!(nh3.len(), 2);
    assert!(nh3.iter().all(|r| r.factor == "w21003"));
    let first = store
        .readings("MN01", Some("w21003"), "rtd", DAY, DAY + H, 1)
        .await
        .unwrap();
    assert_eq!(first.len(), 1, "the limit counts readings");
    assert_eq!(first[0].value, Some(0.25));
    assert!(
        store
            .readings("MN01", None, "min", DAY, DAY + H, 100)
            .await
            .unwrap()
            .is_empty(),
        "kinds are kept apart"
    );
    assert_eq!(store.count_readings("MN01").await.unwrap(), 4);

    // A resend of the same sample, twice in one batch: stored once, the last copy winning.
    store
        .store_samples(vec![
            sample(DAY, 2, vec![fv("w21003", Some(9.0), Some("N"))]),
            sample(DAY, 2, vec![fv("w21003", Some(0.5), Some("N"))]),
        ])
        .await
        .unwrap();
    assert_eq!(store.count_all_samples().await.unwrap(), 3);
    let again = store
        .readings("MN01", Some("w21003"), "rtd", DAY, DAY, 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].value, Some(0.5));

    // Hourly means: the fault-flagged reading and the empty value do not count.
    store
        .store_samples(vec![sample(
            DAY + H + 60_000,
            1,
            vec![fv("w21003", Some(1.0), Some("M"))],
        )])
        .await
        .unwrap();
    let means = store
        .period_means("MN01", H, DAY, DAY + 2 * H)
        .await
        .unwrap();
    assert_eq!(
        means,
        vec![
            (DAY, "w01001".to_string(), 7.5, 1),
            (DAY, "w21003".to_string(), 0.375, 2),
        ]
    );

    // Retention deletes whole samples by data time.
    assert_eq!(store.purge_readings(DAY + 1).await.unwrap(), 2);
    assert_eq!(store.count_all_samples().await.unwrap(), 2);
}

#[tokio::test]
async fn sqlite_samples() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&sqlite_url(&dir)).await.unwrap();
    samples_behave(&store).await;
}

#[tokio::test]
async fn postgres_samples() {
    let Some(url) = fresh_pg().await else { return };
    let store = Store::open(&url).await.unwrap();
    samples_behave(&store).await;
}

/// Builds a database as migration 2 left it, with per-factor readings, then opens it.
async fn migrated_from_v2(url: &str, init: &str, monitoring: &str) -> Store {
    sqlx::any::install_default_drivers();
    let mut c = sqlx::AnyConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);\n\
         {init}\n{monitoring}\n\
         INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0), (2, 0);\n\
         INSERT INTO readings (mn, factor, kind, at, value, flag, received_at) VALUES \
         ('MN01', 'w21003', 'rtd', {DAY}, 0.125, 'N', {DAY}), \
         ('MN01', 'w01001', 'rtd', {DAY}, 7, NULL, {DAY}), \
         ('MN01', 'w01009', 'rtd', {DAY}, NULL, 'D', {DAY}), \
         ('MN01', 'w21003', 'hour', {DAY}, 0.3, 'N', {DAY});"
    )))
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
    Store::open(url).await.unwrap()
}

async fn per_factor_readings_survive_the_migration(store: &Store) {
    let rtd = store
        .readings("MN01", None, "rtd", DAY, DAY, 10)
        .await
        .unwrap();
    let got: Vec<(&str, Option<f64>, Option<&str>)> = rtd
        .iter()
        .map(|r| (r.factor.as_str(), r.value, r.flag.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("w01001", Some(7.0), None),
            ("w01009", None, Some("D")),
            ("w21003", Some(0.125), Some("N")),
        ]
    );
    assert_eq!(store.count_all_samples().await.unwrap(), 2);
}

#[tokio::test]
async fn sqlite_migration_from_per_factor_readings() {
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_from_v2(
        &sqlite_url(&dir),
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/sqlite/0002_monitoring.sql"),
    )
    .await;
    per_factor_readings_survive_the_migration(&store).await;
}

#[tokio::test]
async fn postgres_migration_from_per_factor_readings() {
    let Some(url) = fresh_pg().await else { return };
    let store = migrated_from_v2(
        &url,
        include_str!("../migrations/postgres/0001_init.sql"),
        include_str!("../migrations/postgres/0002_monitoring.sql"),
    )
    .await;
    per_factor_readings_survive_the_migration(&store).await;
}
