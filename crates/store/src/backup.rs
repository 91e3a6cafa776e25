//! Backups of a SQLite store, taken while it serves, and their restore.
//!
//! A backup is SQLite's online backup of one read snapshot: the server's writer keeps committing
//! (WAL readers never block it), and the copy holds exactly the transactions committed before the
//! snapshot began, so its event log and projections agree. PostgreSQL is backed up with its own
//! tools (docs/OPERATIONS.md).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags};

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}: {1}")]
    Sqlite(String, rusqlite::Error),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0} is not a jiesu store: {1}")]
    NotAStore(String, String),
    #[error("{0} already holds a store: stop the server, then restore with --force to replace it")]
    TargetExists(String),
}

/// What a backup or restore copied.
#[derive(Debug, Clone, Copy)]
pub struct BackupReport {
    pub pages: i64,
    pub bytes: u64,
    pub cases: i64,
    pub events: i64,
    pub millis: u128,
}

fn sql_err(what: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |e| BackupError::Sqlite(what.display().to_string(), e)
}

fn io_err(what: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io(what.display().to_string(), e)
}

/// Copies the store at `db` into `out`, live. The copy is written beside `out` and renamed into
/// place once complete and on disk, so a killed backup never leaves a partial file under `out`.
pub fn backup_sqlite(db: &Path, out: &Path) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    let src = Connection::open_with_flags(
        db,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err(db))?;
    src.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql_err(db))?;
    check_store(&src, db)?;
    let partial = partial_path(out);
    let _ = std::fs::remove_file(&partial);
    copy_all(&src, &partial)?;
    let report = finish(&partial, out, started)?;
    Ok(report)
}

/// Puts the backup `from` in place as `data_dir/jiesu.db`. The backup is checked first (SQLite's
/// quick check, and that it is a jiesu store); an existing store is replaced only with `force`,
/// and only whole: the copy is completed beside it and renamed over it, its WAL files removed.
/// The server must be stopped: a running one would keep writing to the file it had open.
pub fn restore_sqlite(
    from: &Path,
    data_dir: &Path,
    force: bool,
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    let src = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err(from))?;
    let check: String = src
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .map_err(sql_err(from))?;
    if check != "ok" {
        return Err(BackupError::NotAStore(from.display().to_string(), check));
    }
    check_store(&src, from)?;
    std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
    let target = data_dir.join("jiesu.db");
    if target.exists() && !force {
        return Err(BackupError::TargetExists(target.display().to_string()));
    }
    let partial = partial_path(&target);
    let _ = std::fs::remove_file(&partial);
    copy_all(&src, &partial)?;
    // The old store's WAL belongs to the old file: left beside the new one it would be replayed
    // into it.
    for suffix in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", target.display()));
        match std::fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(BackupError::Io(p.display().to_string(), e)),
        }
    }
    finish(&partial, &target, started)
}

fn partial_path(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

/// A jiesu store has its migrations table and its log.
fn check_store(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' \
             AND name IN ('schema_migrations', 'case_events', 'cases')",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err(path))?;
    if tables != 3 {
        return Err(BackupError::NotAStore(
            path.display().to_string(),
            "no schema_migrations, case_events and cases tables".into(),
        ));
    }
    Ok(())
}

/// One backup step over every page: a single read snapshot, so concurrent commits cannot make
/// SQLite restart the copy (as a step-by-step backup of a written database would, again and again).
fn copy_all(src: &Connection, to: &Path) -> Result<(), BackupError> {
    let mut dst = Connection::open(to).map_err(sql_err(to))?;
    {
        let backup = rusqlite::backup::Backup::new(src, &mut dst).map_err(sql_err(to))?;
        loop {
            match backup.step(-1).map_err(sql_err(to))? {
                rusqlite::backup::StepResult::Done => break,
                // Busy or locked: the source is mid-checkpoint; try again shortly.
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    // A backup is one self-contained file, not a database with a WAL beside it.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sql_err(to))?;
    dst.close().map_err(|(_, e)| sql_err(to)(e))?;
    Ok(())
}

/// Syncs the finished copy, renames it into place and syncs the directory, then reports.
fn finish(partial: &Path, out: &Path, started: Instant) -> Result<BackupReport, BackupError> {
    std::fs::File::open(partial)
        .and_then(|f| f.sync_all())
        .map_err(io_err(partial))?;
    std::fs::rename(partial, out).map_err(io_err(out))?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(io_err(dir))?;
    }
    let conn =
        Connection::open_with_flags(out, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sql_err(out))?;
    let count = |sql: &str| -> Result<i64, BackupError> {
        conn.query_row(sql, [], |r| r.get(0)).map_err(sql_err(out))
    };
    Ok(BackupReport {
        pages: count("PRAGMA page_count")?,
        bytes: std::fs::metadata(out).map_err(io_err(out))?.len(),
        cases: count("SELECT COUNT(*) FROM cases")?,
        events: count("SELECT COUNT(*) FROM case_events")?,
        millis: started.elapsed().as_millis(),
    })
}
