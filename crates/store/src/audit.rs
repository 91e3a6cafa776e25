//! The audit log: who signed in, who saw sealed data, who administered what. Append-only (the
//! triggers of migration 0010 refuse UPDATE and DELETE) and hash-chained (0012), one chain for the
//! whole log, appended under a lock so that several nodes on one PostgreSQL never fork it.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::chain::GENESIS_HASH;
use crate::{Backend, Store, StoreError};

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    pub at_ms: i64,
    pub actor_id: String,
    pub actor_name: String,
    pub address: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// A stored line, with its place in the chain.
#[derive(Debug, Clone)]
pub struct StoredAudit {
    pub id: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

/// Which lines to read: about one target, or of one action; newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub target: Option<String>,
    pub action: Option<String>,
    pub limit: u32,
}

/// What `verify_audit` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// Entries on the chain.
    pub chained: u64,
    /// Entries from before the chain began (migration 0012), not covered by it.
    pub before_chain: u64,
    /// The first entry that does not verify: (id, what is wrong).
    pub first_broken: Option<(i64, String)>,
}

/// SHA-256 over the entry's fields, length-prefixed, chained to the entry before it.
pub fn audit_hash(prev_hash: &str, e: &AuditEntry) -> String {
    let mut h = Sha256::new();
    for part in [
        prev_hash,
        &e.at_ms.to_string(),
        &e.actor_id,
        &e.actor_name,
        &e.address,
        &e.action,
        &e.target,
        &e.detail,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The advisory lock that serialises appends on PostgreSQL (any fixed number will do).
const AUDIT_LOCK: i64 = 0x6a_6965_7375_a0d1;

const COLUMNS: &str =
    "id, at, actor_id, actor_name, address, action, target, detail, prev_hash, hash";

pub(crate) fn stored(r: &sqlx::any::AnyRow) -> Result<StoredAudit, StoreError> {
    Ok(StoredAudit {
        id: r.try_get(0)?,
        entry: AuditEntry {
            at_ms: r.try_get(1)?,
            actor_id: r.try_get(2)?,
            actor_name: r.try_get(3)?,
            address: r.try_get(4)?,
            action: r.try_get(5)?,
            target: r.try_get(6)?,
            detail: r.try_get(7)?,
        },
        prev_hash: r.try_get(8)?,
        hash: r.try_get(9)?,
    })
}

impl Store {
    /// Appends an entry to the chain. The tip is read and the entry written in one transaction
    /// that holds the log's write lock (SQLite: `BEGIN IMMEDIATE`; PostgreSQL: an advisory lock),
    /// so two appends, on one node or two, never name the same predecessor.
    pub async fn audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        let mut conn = self.read.acquire().await?;
        self.begin_audited(&mut conn).await?;
        let appended = append_audit(&mut conn, e).await;
        end_audited(&mut conn, appended.is_ok()).await?;
        appended?;
        Ok(())
    }

    /// Begins a transaction holding the audit log's write lock, for a change that must commit
    /// together with its audit entry (`append_audit`, then `end_audited`).
    pub(crate) async fn begin_audited(
        &self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut *conn).await?;
            }
            Backend::Postgres => {
                sqlx::raw_sql("BEGIN").execute(&mut *conn).await?;
                let locked = sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(AUDIT_LOCK)
                    .execute(&mut *conn)
                    .await;
                if let Err(e) = locked {
                    let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Entries under the filter, newest first (at most 1,000).
    pub async fn audit_entries(&self, f: &AuditFilter) -> Result<Vec<StoredAudit>, StoreError> {
        let mut conds = Vec::new();
        if f.target.is_some() {
            conds.push(format!("target = ${}", conds.len() + 1));
        }
        if f.action.is_some() {
            conds.push(format!("action = ${}", conds.len() + 1));
        }
        let wh = if conds.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conds.join(" AND "))
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM audit_log{wh} ORDER BY id DESC LIMIT {}",
            f.limit.clamp(1, 1000)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in [&f.target, &f.action].into_iter().flatten() {
            q = q.bind(v);
        }
        q.fetch_all(&self.read).await?.iter().map(stored).collect()
    }

    /// Walks the audit chain in order and recomputes every hash.
    pub async fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let mut report = AuditReport {
            chained: 0,
            before_chain: 0,
            first_broken: None,
        };
        let mut prev: Option<String> = None;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT 2000"
            )))
            .bind(after)
            .fetch_all(&self.read)
            .await?;
            if rows.is_empty() {
                return Ok(report);
            }
            for r in &rows {
                let s = stored(r)?;
                after = s.id;
                let broken = |what: String| Some((s.id, what));
                match (&prev, s.hash.is_empty()) {
                    (None, true) => report.before_chain += 1,
                    (Some(_), true) => {
                        report.first_broken =
                            broken("an entry without a hash inside the chain".into());
                    }
                    (p, false) => {
                        let expect_prev = p.clone().unwrap_or_else(|| GENESIS_HASH.to_string());
                        if s.prev_hash != expect_prev {
                            report.first_broken = broken(
                                "does not follow the entry before it (one removed or inserted)"
                                    .into(),
                            );
                        } else if audit_hash(&s.prev_hash, &s.entry) != s.hash {
                            report.first_broken =
                                broken("its fields were changed after it was written".into());
                        } else {
                            report.chained += 1;
                            prev = Some(s.hash.clone());
                        }
                    }
                }
                if report.first_broken.is_some() {
                    return Ok(report);
                }
            }
        }
    }
}

/// Appends `e` to the chain inside a transaction begun by `Store::begin_audited`.
pub(crate) async fn append_audit(
    conn: &mut sqlx::AnyConnection,
    e: &AuditEntry,
) -> Result<(), sqlx::Error> {
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE hash <> '' ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev = prev.unwrap_or_else(|| GENESIS_HASH.to_string());
    let hash = audit_hash(&prev, e);
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor_name, address, action, target, detail, \
         prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(e.at_ms)
    .bind(&e.actor_id)
    .bind(&e.actor_name)
    .bind(&e.address)
    .bind(&e.action)
    .bind(&e.target)
    .bind(&e.detail)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Commits (or rolls back) the transaction of `begin_audited`; the connection is never handed
/// back mid-transaction.
pub(crate) async fn end_audited(
    conn: &mut sqlx::AnyConnection,
    commit: bool,
) -> Result<(), sqlx::Error> {
    let end = if commit { "COMMIT" } else { "ROLLBACK" };
    sqlx::raw_sql(end).execute(&mut *conn).await?;
    Ok(())
}
