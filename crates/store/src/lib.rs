//! jiesu's storage: the append-only, hash-chained event log and the projections that serve reads,
//! on SQLite (embedded, the default) or PostgreSQL. Reads and setup go through one sqlx `Any` code
//! path; the group-commit writer has one batch logic with a statement set per backend.
//!
//! Writes go through one writer task per process that batches many requests into one transaction
//! (group commit): a caller hears "done" only after that transaction has committed.

pub mod admin;
pub mod assessment;
mod attachments;
mod audit;
pub mod backup;
mod chain;
mod clock;
mod monitoring;
mod open311;
mod reads;
mod recalendar;
mod report_reads;
mod setup;
mod supervision;
pub mod testing;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use jiesu_domain::DomainError;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyPool, Executor};
use std::str::FromStr;
use tokio::sync::{mpsc, oneshot};

pub use admin::{AdminChange, AdminOutcome, UserListing};
pub use attachments::{AttachmentMeta, NewAttachment};
pub use audit::{AuditEntry, AuditFilter, AuditReport, StoredAudit, audit_hash};
pub use chain::{CaseChainReport, GENESIS_HASH, VerifyReport, event_hash, global_hash};
pub use monitoring::{
    AlarmRow, ReadingRow, SampleRow, StationRow, decode_readings, encode_readings,
};
pub use open311::{Open311Client, Open311ClientRow};
pub use reads::{COUNT_CAP, CaseFilter, LiveEvent, StoredEvent};
pub use report_reads::{DueRow, PlaceRow, SupervisionEventRow, VolumeRow};
pub use setup::{NO_PASSWORD, NewUser, SessionRow, UserRow};
pub use supervision::{CallbackItem, WaitingCounts};
pub use writer::{ActorRef, ImportedCase, NewAlarm, WriterStats};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("not found")]
    NotFound,
    /// The case changed after the caller read it; read again and retry.
    #[error("the case changed meanwhile")]
    Stale,
    #[error("this idempotency key was used for a different request")]
    IdempotencyMismatch,
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the write could not be committed: {0}")]
    Unavailable(String),
    /// An administrative change refused by what is stored (a username taken, a grant missing).
    #[error("{code}: {message}")]
    Refused { code: &'static str, message: String },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: use sqlite://FILE or postgres://…")]
    BadUrl(String),
}

/// What every SQLite connection is set to, the sqlx pools' and the writer's alike. WAL lets readers
/// run beside the writer; FULL makes every commit durable before the caller hears about it;
/// statement journals stay in memory instead of temp files.
pub(crate) const SQLITE_SETTINGS: &str = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; \
     PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON; \
     PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;";

/// Migrations, embedded; both folders carry the same versions (a test checks it).
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_init.sql")),
    (2, include_str!("../migrations/sqlite/0002_monitoring.sql")),
    (3, include_str!("../migrations/sqlite/0003_samples.sql")),
    (
        4,
        include_str!("../migrations/sqlite/0004_sessions_expiry.sql"),
    ),
    (
        5,
        include_str!("../migrations/sqlite/0005_unit_day_stats.sql"),
    ),
    (6, include_str!("../migrations/sqlite/0006_clock.sql")),
    (
        7,
        include_str!("../migrations/sqlite/0007_case_parties.sql"),
    ),
    (8, include_str!("../migrations/sqlite/0008_attachments.sql")),
    (
        9,
        include_str!("../migrations/sqlite/0009_case_filters.sql"),
    ),
    (10, include_str!("../migrations/sqlite/0010_audit_log.sql")),
    (
        11,
        include_str!("../migrations/sqlite/0011_case_readers.sql"),
    ),
    (
        12,
        include_str!("../migrations/sqlite/0012_audit_chain.sql"),
    ),
    (
        13,
        include_str!("../migrations/sqlite/0013_administration.sql"),
    ),
    (14, include_str!("../migrations/sqlite/0014_places.sql")),
    (15, include_str!("../migrations/sqlite/0015_open311.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_init.sql")),
    (
        2,
        include_str!("../migrations/postgres/0002_monitoring.sql"),
    ),
    (3, include_str!("../migrations/postgres/0003_samples.sql")),
    (
        4,
        include_str!("../migrations/postgres/0004_sessions_expiry.sql"),
    ),
    (
        5,
        include_str!("../migrations/postgres/0005_unit_day_stats.sql"),
    ),
    (6, include_str!("../migrations/postgres/0006_clock.sql")),
    (
        7,
        include_str!("../migrations/postgres/0007_case_parties.sql"),
    ),
    (
        8,
        include_str!("../migrations/postgres/0008_attachments.sql"),
    ),
    (
        9,
        include_str!("../migrations/postgres/0009_case_filters.sql"),
    ),
    (
        10,
        include_str!("../migrations/postgres/0010_audit_log.sql"),
    ),
    (
        11,
        include_str!("../migrations/postgres/0011_case_readers.sql"),
    ),
    (
        12,
        include_str!("../migrations/postgres/0012_audit_chain.sql"),
    ),
    (
        13,
        include_str!("../migrations/postgres/0013_administration.sql"),
    ),
    (14, include_str!("../migrations/postgres/0014_places.sql")),
    (15, include_str!("../migrations/postgres/0015_open311.sql")),
];

pub fn migration_versions(backend: Backend) -> Vec<i64> {
    match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS.iter().map(|m| m.0).collect(),
        Backend::Postgres => POSTGRES_MIGRATIONS.iter().map(|m| m.0).collect(),
    }
}

#[derive(Clone)]
pub struct Store {
    read: AnyPool,
    backend: Backend,
    writer: mpsc::Sender<writer::Job>,
    stats: Arc<WriterStats>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

/// Hides the password of a database URL in logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

impl Store {
    /// Opens (creating if needed) the database at `url`, runs migrations and starts the writer.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::BadUrl(redact_url(url)));
        };
        let opts: AnyConnectOptions = url.parse()?;
        let pool_opts = || {
            let o = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(30));
            if backend == Backend::Sqlite {
                o.after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_SETTINGS).await?;
                        Ok(())
                    })
                })
            } else {
                o
            }
        };
        let stats = Arc::new(WriterStats::default());
        let (tx, rx) = mpsc::channel(4096);
        // The writer is the one serial path every write waits on: on its own thread (with its
        // connection made there) it is never queued behind request handlers.
        let (ready_tx, ready_rx) = oneshot::channel::<Result<(), StoreError>>();
        let writer_stats = stats.clone();
        let (write_opts, write_conn) = (pool_opts(), opts.clone());
        // SQLite's writer talks to the file directly (see the writer module).
        let sqlite_file = match backend {
            Backend::Sqlite => {
                let file = SqliteConnectOptions::from_str(url)?
                    .get_filename()
                    .to_path_buf();
                // The writer and the readers are separate connections: they must share a file.
                if url.contains(":memory:") || url.contains("mode=memory") {
                    return Err(StoreError::BadUrl(redact_url(url)));
                }
                Some(file)
            }
            Backend::Postgres => None,
        };
        std::thread::Builder::new()
            .name("jiesu-writer".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(StoreError::Unavailable(format!(
                            "cannot start the writer: {e}"
                        ))));
                        return;
                    }
                };
                rt.block_on(async move {
                    let migrated = async {
                        let pool = write_opts
                            .max_connections(1)
                            .min_connections(1)
                            .test_before_acquire(false)
                            .connect_with(write_conn)
                            .await?;
                        migrate(&pool, backend).await?;
                        Ok::<_, StoreError>(pool)
                    }
                    .await;
                    let pool = match migrated {
                        Ok(pool) => pool,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    match sqlite_file {
                        None => {
                            // No ping before each batch: a dead connection fails the batch,
                            // which is retried, and the pool reconnects.
                            let _ = ready_tx.send(Ok(()));
                            writer::run(writer::PgDb::new(pool), rx, writer_stats).await;
                        }
                        Some(path) => {
                            pool.close().await;
                            let db = match writer::SqliteDb::open(&path) {
                                Ok(db) => db,
                                Err(e) => {
                                    let _ = ready_tx.send(Err(StoreError::Unavailable(format!(
                                        "cannot open the write connection: {e}"
                                    ))));
                                    return;
                                }
                            };
                            // The checkpointer stops when the writer's end of this drops.
                            let (_stop, stopped) = std::sync::mpsc::channel::<()>();
                            let cp_path = path.clone();
                            let _ = std::thread::Builder::new()
                                .name("jiesu-checkpoint".into())
                                .spawn(move || writer::checkpoint_loop(&cp_path, stopped));
                            let _ = ready_tx.send(Ok(()));
                            writer::run(db, rx, writer_stats).await;
                        }
                    }
                });
            })
            .map_err(|e| StoreError::Unavailable(format!("cannot start the writer: {e}")))?;
        ready_rx
            .await
            .map_err(|_| StoreError::Unavailable("the writer stopped while opening".into()))??;
        let readers = std::thread::available_parallelism()
            .map_or(4, |n| n.get() * 2)
            .max(4) as u32;
        let read = pool_opts()
            .max_connections(readers)
            .connect_with(opts)
            .await?;
        Ok(Store {
            read,
            backend,
            writer: tx,
            stats,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn writer_stats(&self) -> &WriterStats {
        &self.stats
    }

    /// Waits for pending writes and closes the pools.
    pub async fn close(self) {
        self.read.close().await;
    }
}

async fn migrate(pool: &AnyPool, backend: Backend) -> Result<(), StoreError> {
    let mut conn = pool.acquire().await?;
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await?;
    let list = match backend {
        Backend::Sqlite => SQLITE_MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    for (version, sql) in list {
        let done: Option<i64> =
            sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(*version)
                .fetch_optional(&mut *conn)
                .await?;
        if done.is_some() {
            continue;
        }
        let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(*version)
            .bind(chrono::Utc::now().timestamp_millis())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::info!(version, "applied migration");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migration_versions() {
        assert_eq!(
            migration_versions(Backend::Sqlite),
            migration_versions(Backend::Postgres)
        );
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://jiesu:secret@db:5432/jiesu"),
            "postgres://jiesu:***@db:5432/jiesu"
        );
        assert_eq!(redact_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[tokio::test]
    async fn in_memory_sqlite_is_refused() {
        // The writer and the readers would each get a database of their own.
        for url in ["sqlite::memory:", "sqlite://x.db?mode=memory"] {
            match Store::open(url).await {
                Err(StoreError::BadUrl(_)) => {}
                Err(e) => panic!("{url}: {e}"),
                Ok(_) => panic!("{url} was accepted"),
            }
        }
    }
}
