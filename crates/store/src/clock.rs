//! What the deadline clock asks of the store: which cases have something due (an indexed range
//! over `cases.next_fire`, never a scan of the case table) and a lease so that one node at a time
//! runs the clock (a unit's yellow cards in a month come from the assessment counters).

use sqlx::Row;

use crate::{Store, StoreError};

const BACKFILLED: &str = "clock_backfilled";

impl Store {
    /// Cases whose next firing moment is at or before `now_ms`, earliest first.
    pub async fn due_cases(&self, now_ms: i64, limit: u32) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM cases WHERE next_fire IS NOT NULL AND next_fire <= $1 \
             ORDER BY next_fire LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?)
    }

    /// The earliest pending firing moment, if any.
    pub async fn next_fire_at(&self) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar::<_, Option<i64>>(
            "SELECT MIN(next_fire) FROM cases WHERE next_fire IS NOT NULL",
        )
        .fetch_one(&self.read)
        .await?)
    }

    /// How many cases the clock watches.
    pub async fn pending_fires(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE next_fire IS NOT NULL")
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Open, dispatched cases written before the clock existed (their `next_fire` was never
    /// computed), until the backfill is marked done.
    pub async fn clock_backfill_candidates(&self, limit: u32) -> Result<Vec<String>, StoreError> {
        if self.get_setting(BACKFILLED).await?.is_some() {
            return Ok(vec![]);
        }
        Ok(sqlx::query_scalar(
            "SELECT id FROM cases WHERE is_open = 1 AND resolve_due IS NOT NULL AND next_fire IS NULL \
             ORDER BY id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?)
    }

    pub async fn mark_clock_backfilled(&self) -> Result<(), StoreError> {
        self.put_setting(BACKFILLED, "1").await
    }

    /// Takes or renews the lease `name` for `holder` until `now_ms + ttl_ms`; true when held.
    /// Another holder's lease is taken only once it has expired.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        ttl_ms: i64,
    ) -> Result<bool, StoreError> {
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
             WHERE leases.holder = excluded.holder OR leases.expires_at < $4",
        )
        .bind(name)
        .bind(holder)
        .bind(now_ms + ttl_ms)
        .bind(now_ms)
        .execute(&self.read)
        .await?;
        let row = sqlx::query("SELECT holder FROM leases WHERE name = $1")
            .bind(name)
            .fetch_one(&self.read)
            .await?;
        let h: String = row.try_get(0)?;
        Ok(h == holder)
    }

    /// Who holds the lease `name` (expired or not).
    pub async fn lease_holder(&self, name: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Gives the lease up (a clean shutdown), so another node takes over at once.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder)
            .execute(&self.read)
            .await?;
        Ok(())
    }
}
