//! For tests that need a real PostgreSQL server: this crate's and the binary's share it.

use sqlx::Connection;

/// The server tests use: `DATABASE_URL`, or the machine's local test server.
pub fn pg_admin_url() -> String {
    std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Creates an empty database on that server and returns its URL. When no server answers it prints
/// a notice and returns None, so a developer without PostgreSQL can still run the suite; with
/// `JIESU_REQUIRE_PG=1` (as CI sets it) it panics instead, so CI can never skip these tests.
pub async fn fresh_pg_database(prefix: &str) -> Option<String> {
    sqlx::any::install_default_drivers();
    let admin = pg_admin_url();
    // Tests run in parallel threads: the counter keeps two names apart within one microsecond.
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let created = async {
        let mut c = sqlx::AnyConnection::connect(&admin).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut c)
            .await?;
        Ok::<_, sqlx::Error>(())
    }
    .await;
    match created {
        Ok(()) => Some(format!("{}/{name}", admin.rsplit_once('/')?.0)),
        Err(e) if std::env::var("JIESU_REQUIRE_PG").is_ok_and(|v| v == "1") => {
            panic!("PostgreSQL is required (JIESU_REQUIRE_PG=1) but {admin} did not answer: {e}")
        }
        Err(e) => {
            eprintln!("NOTICE: PostgreSQL tests skipped, {admin} did not answer: {e}");
            None
        }
    }
}
