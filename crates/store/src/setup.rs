//! Standing data: org units, categories, the calendar, settings, users, grants and sessions.

use chrono::Datelike;
use jiesu_domain::geo::Area;
use jiesu_domain::{
    CalendarYear, Category, CategoryTree, DeadlinePolicy, Grant, Jurisdiction, Kind, OfficeHours,
    OrgTree, OrgUnit, Role, UnitId, UnitKind, WorkCalendar,
};
use sqlx::Row;

use crate::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub phone: Option<String>,
    pub grants: Vec<Grant>,
    /// Set by someone else (the first admin, an admin's create or reset): the user must choose
    /// his own password before anything else.
    pub must_change_password: bool,
}

/// The password hash of an account that acts but never signs in (the monitoring system, an
/// Open311 client): no password verifies against it.
pub const NO_PASSWORD: &str = "!";

#[derive(Debug, Clone)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until_ms: i64,
    pub disabled: bool,
    pub must_change_password: bool,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user: UserRow,
    pub grants: Vec<Grant>,
    pub expires_at_ms: i64,
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// A `units` row read as `id, parent_id, kind, name` (its first four columns).
pub(crate) fn unit_row(r: &sqlx::any::AnyRow) -> Result<OrgUnit, StoreError> {
    let kind: String = r.try_get(2)?;
    let parent: Option<String> = r.try_get(1)?;
    Ok(OrgUnit {
        id: UnitId(r.try_get(0)?),
        parent: parent.map(UnitId),
        kind: UnitKind::parse(&kind).ok_or_else(|| corrupt("unit kind"))?,
        name: r.try_get(3)?,
    })
}

impl Store {
    /// Replaces the org tree (units are upserted; paths recomputed).
    pub async fn put_units(
        &self,
        units: &[OrgUnit],
        geometry: &[(UnitId, String)],
    ) -> Result<(), StoreError> {
        let tree = OrgTree::new(units.to_vec()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let geo: std::collections::HashMap<&UnitId, &String> =
            geometry.iter().map(|(u, g)| (u, g)).collect();
        let mut tx = self.read.begin().await?;
        for (i, u) in units.iter().enumerate() {
            sqlx::query(
                "INSERT INTO units (id, parent_id, kind, name, path, geometry, sort) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, kind = excluded.kind, name = excluded.name, \
                 path = excluded.path, geometry = excluded.geometry, sort = excluded.sort",
            )
            .bind(u.id.as_str())
            .bind(u.parent.as_ref().map(|p| p.as_str()))
            .bind(u.kind.as_str())
            .bind(&u.name)
            .bind(tree.path(&u.id).unwrap_or_default())
            .bind(geo.get(&u.id).map(|s| s.as_str()))
            .bind(i as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every unit with its GeoJSON area, in the admins' order.
    pub async fn load_units(&self) -> Result<Vec<(OrgUnit, Option<String>)>, StoreError> {
        let rows =
            sqlx::query("SELECT id, parent_id, kind, name, geometry FROM units ORDER BY sort, id")
                .fetch_all(&self.read)
                .await?;
        rows.iter()
            .map(|r| Ok((unit_row(r)?, r.try_get(4)?)))
            .collect()
    }

    pub async fn put_categories(&self, cats: &[Category]) -> Result<(), StoreError> {
        let mut tx = self.read.begin().await?;
        for c in cats {
            upsert_category(&mut *tx, c).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn load_categories(&self) -> Result<Vec<Category>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, parent_id, name, name_en, default_kind, default_unit FROM categories ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let kind: Option<String> = r.try_get(4)?;
                let unit: Option<String> = r.try_get(5)?;
                Ok(Category {
                    id: r.try_get(0)?,
                    parent: r.try_get(1)?,
                    name: r.try_get(2)?,
                    name_en: r.try_get(3)?,
                    default_kind: kind.as_deref().and_then(Kind::parse),
                    default_unit: unit.map(UnitId),
                })
            })
            .collect()
    }

    /// Stores one year's holiday schedule (the file's text is kept as published).
    pub async fn put_calendar_year(&self, body: &str) -> Result<CalendarYear, StoreError> {
        upsert_calendar_year(&self.read, body).await
    }

    /// Each stored year's file, to notice an import made by another process or node.
    pub async fn calendar_bodies(
        &self,
    ) -> Result<std::collections::BTreeMap<i64, String>, StoreError> {
        let rows = sqlx::query("SELECT year, body FROM calendar_years ORDER BY year")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    pub async fn load_calendar(&self, hours: OfficeHours) -> Result<WorkCalendar, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM calendar_years ORDER BY year")
                .fetch_all(&self.read)
                .await?;
        let mut cal = WorkCalendar::new(hours);
        for b in bodies {
            cal.add_year(
                CalendarYear::parse_toml(&b).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            );
        }
        // Years after the newest notice get the national rules' schedule, marked provisional, so
        // dispatching never stops for a notice not yet imported (two years ahead of today).
        let this_year = jiesu_domain::calendar::to_beijing(chrono::Utc::now()).year();
        Ok(cal.with_provisional_years(this_year + 2))
    }

    pub async fn put_setting(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.read)
        .await?;
        Ok(())
    }

    pub async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// The gazetteer as stored (a row of an unknown kind is skipped with a warning).
    pub async fn load_places(
        &self,
    ) -> Result<Vec<(String, jiesu_domain::PlaceKind, UnitId)>, StoreError> {
        let rows = sqlx::query("SELECT name, kind, unit_id FROM places ORDER BY unit_id, name")
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let kind: String = r.try_get(1)?;
            match jiesu_domain::PlaceKind::parse(&kind) {
                Some(k) => out.push((r.try_get(0)?, k, UnitId(r.try_get(2)?))),
                None => tracing::warn!(kind, "place of an unknown kind ignored"),
            }
        }
        Ok(out)
    }

    /// Loads the org tree, calendar, deadline policy and categories that commands are checked against.
    pub async fn load_jurisdiction(&self) -> Result<Jurisdiction, StoreError> {
        let mut units = Vec::new();
        let mut areas = Vec::new();
        for (u, geometry) in self.load_units().await? {
            if let Some(g) = geometry {
                // A bad polygon only costs that unit its area; reports there go to the county.
                match Area::from_geojson(u.id.clone(), &g) {
                    Ok(a) => areas.push(a),
                    Err(e) => tracing::warn!(error = %e, "unit area ignored"),
                }
            }
            units.push(u);
        }
        let closed: Vec<String> =
            sqlx::query_scalar("SELECT id FROM units WHERE closed_at IS NOT NULL")
                .fetch_all(&self.read)
                .await?;
        let org = OrgTree::new(units)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?
            .with_areas(areas)
            .with_places(self.load_places().await?)
            .with_closed(closed.into_iter().map(UnitId));
        let hours = match self.get_setting("office_hours").await? {
            Some(h) => OfficeHours::parse(&h).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            None => OfficeHours::default(),
        };
        let calendar = self.load_calendar(hours).await?;
        let policy = match self.get_setting("deadline_policy").await? {
            Some(p) => {
                DeadlinePolicy::from_toml(&p).map_err(|e| StoreError::Corrupt(e.to_string()))?
            }
            None => DeadlinePolicy::default(),
        };
        let retired: Vec<String> =
            sqlx::query_scalar("SELECT id FROM categories WHERE retired_at IS NOT NULL")
                .fetch_all(&self.read)
                .await?;
        let categories = CategoryTree::new(self.load_categories().await?)
            .map_err(StoreError::Corrupt)?
            .with_retired(retired);
        Ok(Jurisdiction {
            org,
            calendar,
            policy,
            categories,
        })
    }

    pub async fn create_user(&self, u: &NewUser, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.read.begin().await?;
        sqlx::query(
            "INSERT INTO users (id, username, display_name, password_hash, phone, created_at, must_change_password) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&u.id)
        .bind(&u.username)
        .bind(&u.display_name)
        .bind(&u.password_hash)
        .bind(u.phone.as_deref())
        .bind(now_ms)
        .bind(i64::from(u.must_change_password))
        .execute(&mut *tx)
        .await?;
        for g in &u.grants {
            sqlx::query("INSERT INTO grants (user_id, role, unit_id) VALUES ($1, $2, $3)")
                .bind(&u.id)
                .bind(g.role.as_str())
                .bind(g.unit.as_str())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn user_by_username(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, username, display_name, password_hash, failed_logins, locked_until, disabled, must_change_password FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.read)
        .await?;
        r.map(|r| user_row(&r)).transpose()
    }

    pub async fn grants_of(&self, user_id: &str) -> Result<Vec<Grant>, StoreError> {
        let rows = sqlx::query(
            "SELECT role, unit_id FROM grants WHERE user_id = $1 ORDER BY role, unit_id",
        )
        .bind(user_id)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let role: String = r.try_get(0)?;
                Ok(Grant {
                    role: Role::parse(&role).ok_or_else(|| corrupt("role"))?,
                    unit: UnitId(r.try_get(1)?),
                })
            })
            .collect()
    }

    pub async fn create_session(
        &self,
        token_hash: &str,
        user_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(user_id)
            .bind(now_ms)
            .bind(expires_at_ms)
            .execute(&self.read)
            .await?;
        Ok(())
    }

    /// The live session for a token hash, with its user and grants; expired sessions are not found.
    pub async fn session(
        &self,
        token_hash: &str,
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let r = sqlx::query(
            "SELECT u.id, u.username, u.display_name, u.password_hash, u.failed_logins, u.locked_until, u.disabled, u.must_change_password, s.expires_at \
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.read)
        .await?;
        let Some(r) = r else { return Ok(None) };
        let user = user_row(&r)?;
        if user.disabled {
            return Ok(None);
        }
        let grants = self.grants_of(&user.id).await?;
        Ok(Some(SessionRow {
            user,
            grants,
            expires_at_ms: r.try_get(8)?,
        }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&self.read)
            .await?;
        Ok(())
    }

    pub async fn purge_sessions(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.read)
            .await?
            .rows_affected())
    }
}

/// Adds a category or changes an existing one (used by the demo's install and by admins).
pub(crate) async fn upsert_category<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    c: &Category,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO categories (id, parent_id, name, name_en, default_kind, default_unit) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, name = excluded.name, name_en = excluded.name_en, \
         default_kind = excluded.default_kind, default_unit = excluded.default_unit",
    )
    .bind(&c.id)
    .bind(c.parent.as_deref())
    .bind(&c.name)
    .bind(&c.name_en)
    .bind(c.default_kind.map(|k| k.as_str()))
    .bind(c.default_unit.as_ref().map(|u| u.as_str()))
    .execute(db)
    .await?;
    Ok(())
}

/// Stores one year's holiday schedule, replacing that year's (the file's text kept as published).
pub(crate) async fn upsert_calendar_year<'e>(
    db: impl sqlx::Executor<'e, Database = sqlx::Any>,
    body: &str,
) -> Result<CalendarYear, StoreError> {
    let y = CalendarYear::parse_toml(body).map_err(|e| StoreError::Refused {
        code: "invalid_calendar",
        message: e.to_string(),
    })?;
    sqlx::query(
        "INSERT INTO calendar_years (year, source, body) VALUES ($1, $2, $3) \
         ON CONFLICT (year) DO UPDATE SET source = excluded.source, body = excluded.body",
    )
    .bind(i64::from(y.year))
    .bind(&y.source)
    .bind(body)
    .execute(db)
    .await?;
    Ok(y)
}

fn user_row(r: &sqlx::any::AnyRow) -> Result<UserRow, StoreError> {
    let disabled: i64 = r.try_get(6)?;
    let must_change: i64 = r.try_get(7)?;
    Ok(UserRow {
        id: r.try_get(0)?,
        username: r.try_get(1)?,
        display_name: r.try_get(2)?,
        password_hash: r.try_get(3)?,
        failed_logins: r.try_get(4)?,
        locked_until_ms: r.try_get(5)?,
        disabled: disabled != 0,
        must_change_password: must_change != 0,
    })
}
