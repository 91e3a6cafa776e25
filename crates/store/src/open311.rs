//! What the Open311 endpoint reads: its clients by API key, and when its service list last
//! changed.

use jiesu_domain::Grant;
use sqlx::Row;

use crate::{Store, StoreError};

/// An Open311 client: the account its key belongs to, with its grants.
#[derive(Debug, Clone)]
pub struct Open311Client {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub grants: Vec<Grant>,
}

/// A client as the administration lists it.
#[derive(Debug, Clone)]
pub struct Open311ClientRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub disabled: bool,
    /// Keys issued to it (each still valid while the account is enabled).
    pub keys: i64,
}

/// Audit actions that change what the Open311 service list says.
const SERVICE_ACTIONS: &[&str] = &["category_added", "category_changed", "category_retired"];

impl Store {
    /// The enabled client holding the key whose SHA-256 is `key_hash`.
    pub async fn open311_client(
        &self,
        key_hash: &str,
    ) -> Result<Option<Open311Client>, StoreError> {
        let r = sqlx::query(
            "SELECT u.id, u.username, u.display_name FROM open311_keys k \
             JOIN users u ON u.id = k.user_id WHERE k.key_hash = $1 AND u.disabled = 0",
        )
        .bind(key_hash)
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let user_id: String = r.try_get(0)?;
        let grants = self.grants_of(&user_id).await?;
        Ok(Some(Open311Client {
            username: r.try_get(1)?,
            display_name: r.try_get(2)?,
            user_id,
            grants,
        }))
    }

    /// Every client account that holds a key, by username.
    pub async fn open311_clients(&self) -> Result<Vec<Open311ClientRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.disabled, COUNT(*) FROM open311_keys k \
             JOIN users u ON u.id = k.user_id GROUP BY u.id, u.username, u.display_name, u.disabled \
             ORDER BY u.username",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let disabled: i64 = r.try_get(3)?;
                Ok(Open311ClientRow {
                    id: r.try_get(0)?,
                    username: r.try_get(1)?,
                    display_name: r.try_get(2)?,
                    disabled: disabled != 0,
                    keys: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// When the service list (the categories) last changed, in ms: the newest audited category
    /// change, else the audit log's first entry (the county's installation), else 0. Every node
    /// reads the same answer, so clients see one changeset whichever node they ask.
    pub async fn services_changed_at(&self) -> Result<i64, StoreError> {
        let list: Vec<String> = SERVICE_ACTIONS.iter().map(|a| format!("'{a}'")).collect();
        // The actions are this module's constants, never input.
        let sql = format!(
            "SELECT MAX(at) FROM audit_log WHERE action IN ({})",
            list.join(", ")
        );
        let changed: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.read)
            .await?;
        if let Some(at) = changed {
            return Ok(at);
        }
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(at) FROM audit_log")
            .fetch_one(&self.read)
            .await?;
        Ok(first.unwrap_or(0))
    }
}
