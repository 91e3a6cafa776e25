//! Administrative changes to the standing data (users, grants, units, categories, settings,
//! calendar years). Each change commits in one transaction with its audit entry, under the audit
//! log's write lock, so the log never misses a change and never records one that did not happen.
//! Checks that need the whole jurisdiction (scope, policy) are the API's; the checks here are the
//! ones two admins racing each other could defeat (a username taken, a grant already there).

use std::sync::Arc;

use jiesu_domain::{Category, Grant, Jurisdiction, OrgUnit, UnitId};
use sqlx::Row;

use crate::audit::{AuditEntry, StoredAudit, append_audit, end_audited};
use crate::setup::NewUser;
use crate::writer::{parse_case, readers_of, reporter_key};
use crate::{Store, StoreError};

/// One administrative change.
#[derive(Debug, Clone)]
pub enum AdminChange {
    CreateUser {
        user: NewUser,
        at_ms: i64,
    },
    /// Disabling also ends every session of the user.
    SetDisabled {
        user_id: String,
        disabled: bool,
    },
    /// A password set by an admin: every session ends and the user must change it at sign-in.
    ResetPassword {
        user_id: String,
        password_hash: String,
    },
    /// A user's own new password: every session of his but `keep` (the one he changed it in)
    /// ends.
    ChangeOwnPassword {
        user_id: String,
        password_hash: String,
        keep: String,
    },
    AddGrant {
        user_id: String,
        grant: Grant,
    },
    RemoveGrant {
        user_id: String,
        grant: Grant,
    },
    CreateUnit {
        unit: OrgUnit,
        path: String,
    },
    RenameUnit {
        unit: UnitId,
        name: String,
    },
    /// Moves a unit (and its subtree) under another parent: every stored path under its path is
    /// rewritten, and who may read the subtree's cases is worked out again on the tree as
    /// stored after the move (`juris` gives the rest: calendar, policy, categories). The paths
    /// are read inside the transaction, so two admins moving units at once on two nodes cannot
    /// make a cycle.
    MoveUnit {
        unit: UnitId,
        parent: UnitId,
        juris: Arc<Jurisdiction>,
    },
    CloseUnit {
        unit: UnitId,
        at_ms: i64,
    },
    /// Adds a category (`create`) or changes one's names, default kind and default unit.
    PutCategory {
        category: Category,
        create: bool,
    },
    RetireCategory {
        id: String,
        at_ms: i64,
    },
    PutSetting {
        key: String,
        value: String,
    },
    PutCalendarYear {
        body: String,
    },
    /// Adds grids (or replaces the name and area of grids already there) from an import: each
    /// unit with its materialised path and GeoJSON geometry; the parents must exist.
    ImportGrids {
        grids: Vec<(OrgUnit, String, String)>,
    },
    /// Replaces the gazetteer: `(name, kind, unit)`.
    ReplacePlaces {
        places: Vec<(String, String, UnitId)>,
    },
    /// Gives an Open311 client a new API key (its SHA-256), creating the client's account (one
    /// that cannot sign in) the first time.
    IssueOpen311Key {
        client: NewUser,
        key_hash: String,
        at_ms: i64,
    },
}

/// What a change did beyond itself.
#[derive(Debug, Clone, Default)]
pub struct AdminOutcome {
    /// Token hashes of the sessions it ended (for the caller's session cache).
    pub ended_sessions: Vec<String>,
    /// Cases whose readers were worked out again (a move).
    pub cases_reread: u64,
}

fn refused(code: &'static str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        code,
        message: message.into(),
    }
}

/// Actions after which every node reloads its jurisdiction.
pub const JURISDICTION_ACTIONS: &[&str] = &[
    "unit_created",
    "unit_renamed",
    "unit_moved",
    "unit_closed",
    "category_added",
    "category_changed",
    "category_retired",
    "deadline_policy_replaced",
    "calendar_year_imported",
    "grids_imported",
    "places_replaced",
];

/// Actions after which every node drops the target user's cached sessions.
pub const SESSION_ACTIONS: &[&str] = &[
    "user_disabled",
    "user_enabled",
    "password_reset",
    "password_changed",
    "grant_added",
    "grant_removed",
];

impl Store {
    /// Makes `change` and appends `audit` in one transaction.
    pub async fn administer(
        &self,
        change: &AdminChange,
        audit: &AuditEntry,
    ) -> Result<AdminOutcome, StoreError> {
        let mut conn = self.read.acquire().await?;
        self.begin_audited(&mut conn).await?;
        let done = async {
            let out = apply(&mut conn, change).await?;
            append_audit(&mut conn, audit).await?;
            Ok::<_, StoreError>(out)
        }
        .await;
        end_audited(&mut conn, done.is_ok()).await?;
        done
    }

    /// Audit entries after `after_id` whose action is one of `actions`, oldest first: how a node
    /// learns of administrative changes made on another.
    pub async fn audit_after(
        &self,
        after_id: i64,
        actions: &[&str],
    ) -> Result<Vec<StoredAudit>, StoreError> {
        let list: Vec<String> = actions.iter().map(|a| format!("'{a}'")).collect();
        // The actions are this crate's constants, never input.
        let sql = format!(
            "SELECT id, at, actor_id, actor_name, address, action, target, detail, prev_hash, hash \
             FROM audit_log WHERE id > $1 AND action IN ({}) ORDER BY id LIMIT 500",
            list.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(after_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(crate::audit::stored).collect()
    }

    /// The newest audit entry's id (0 when empty).
    pub async fn audit_tip(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM audit_log")
            .fetch_one(&self.read)
            .await?;
        Ok(id.unwrap_or(0))
    }

    /// Every user with his grants, by username.
    pub async fn users(&self) -> Result<Vec<UserListing>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, username, display_name, phone, disabled, must_change_password, created_at \
             FROM users ORDER BY username",
        )
        .fetch_all(&self.read)
        .await?;
        let grants =
            sqlx::query("SELECT user_id, role, unit_id FROM grants ORDER BY role, unit_id")
                .fetch_all(&self.read)
                .await?;
        let mut by_user: std::collections::HashMap<String, Vec<Grant>> = Default::default();
        for g in grants {
            let role: String = g.try_get(1)?;
            by_user.entry(g.try_get(0)?).or_default().push(Grant {
                role: jiesu_domain::Role::parse(&role)
                    .ok_or_else(|| StoreError::Corrupt("role".into()))?,
                unit: UnitId(g.try_get(2)?),
            });
        }
        rows.iter()
            .map(|r| {
                let id: String = r.try_get(0)?;
                let disabled: i64 = r.try_get(4)?;
                let must: i64 = r.try_get(5)?;
                Ok(UserListing {
                    grants: by_user.remove(&id).unwrap_or_default(),
                    id,
                    username: r.try_get(1)?,
                    display_name: r.try_get(2)?,
                    phone: r.try_get(3)?,
                    disabled: disabled != 0,
                    must_change_password: must != 0,
                    created_at_ms: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// One user by id, with his grants.
    pub async fn user(&self, id: &str) -> Result<Option<UserListing>, StoreError> {
        Ok(self.users().await?.into_iter().find(|u| u.id == id))
    }
}

/// A user as the administration pages list him.
#[derive(Debug, Clone)]
pub struct UserListing {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub disabled: bool,
    pub must_change_password: bool,
    pub created_at_ms: i64,
    pub grants: Vec<Grant>,
}

async fn exists(
    conn: &mut sqlx::AnyConnection,
    sql: &'static str,
    binds: &[&str],
) -> Result<bool, sqlx::Error> {
    let mut q = sqlx::query(sql);
    for b in binds {
        q = q.bind(*b);
    }
    Ok(q.fetch_optional(&mut *conn).await?.is_some())
}

async fn end_sessions(
    conn: &mut sqlx::AnyConnection,
    user_id: &str,
) -> Result<Vec<String>, sqlx::Error> {
    let ended: Vec<String> =
        sqlx::query_scalar("SELECT token_hash FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .fetch_all(&mut *conn)
            .await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(ended)
}

async fn insert_user(
    conn: &mut sqlx::AnyConnection,
    u: &NewUser,
    at_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, password_hash, phone, created_at, \
         must_change_password) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(&u.display_name)
    .bind(&u.password_hash)
    .bind(u.phone.as_deref())
    .bind(at_ms)
    .bind(i64::from(u.must_change_password))
    .execute(&mut *conn)
    .await?;
    for g in &u.grants {
        sqlx::query(
            "INSERT INTO grants (user_id, role, unit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&u.id)
        .bind(g.role.as_str())
        .bind(g.unit.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn need_user(conn: &mut sqlx::AnyConnection, user_id: &str) -> Result<(), StoreError> {
    if !exists(conn, "SELECT 1 FROM users WHERE id = $1", &[user_id]).await? {
        return Err(refused("unknown_user", format!("no user {user_id}")));
    }
    Ok(())
}

async fn apply(
    conn: &mut sqlx::AnyConnection,
    change: &AdminChange,
) -> Result<AdminOutcome, StoreError> {
    let mut out = AdminOutcome::default();
    match change {
        AdminChange::CreateUser { user: u, at_ms } => {
            if exists(
                conn,
                "SELECT 1 FROM users WHERE username = $1 OR id = $2",
                &[&u.username, &u.id],
            )
            .await?
            {
                return Err(refused(
                    "username_taken",
                    format!("the username {} is taken", u.username),
                ));
            }
            insert_user(conn, u, *at_ms).await?;
        }
        AdminChange::IssueOpen311Key {
            client,
            key_hash,
            at_ms,
        } => {
            let known: Option<String> =
                sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                    .bind(&client.id)
                    .fetch_optional(&mut *conn)
                    .await?;
            match known {
                None => {
                    if exists(
                        conn,
                        "SELECT 1 FROM users WHERE username = $1",
                        &[&client.username],
                    )
                    .await?
                    {
                        return Err(refused(
                            "username_taken",
                            format!("the username {} is taken", client.username),
                        ));
                    }
                    insert_user(conn, client, *at_ms).await?;
                }
                // A key never makes a person's account an API client: only accounts that cannot
                // sign in carry keys.
                Some(hash) if hash != crate::setup::NO_PASSWORD => {
                    return Err(refused(
                        "not_a_client",
                        format!("{} is a person's account, not an Open311 client", client.id),
                    ));
                }
                Some(_) => {}
            }
            sqlx::query(
                "INSERT INTO open311_keys (key_hash, user_id, created_at) VALUES ($1, $2, $3)",
            )
            .bind(key_hash)
            .bind(&client.id)
            .bind(*at_ms)
            .execute(&mut *conn)
            .await?;
        }
        AdminChange::SetDisabled { user_id, disabled } => {
            need_user(conn, user_id).await?;
            sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
                .bind(i64::from(*disabled))
                .bind(user_id)
                .execute(&mut *conn)
                .await?;
            if *disabled {
                out.ended_sessions = end_sessions(conn, user_id).await?;
            }
        }
        AdminChange::ResetPassword {
            user_id,
            password_hash,
        } => {
            need_user(conn, user_id).await?;
            sqlx::query(
                "UPDATE users SET password_hash = $1, must_change_password = 1, failed_logins = 0, \
                 locked_until = 0 WHERE id = $2",
            )
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            out.ended_sessions = end_sessions(conn, user_id).await?;
        }
        AdminChange::ChangeOwnPassword {
            user_id,
            password_hash,
            keep,
        } => {
            need_user(conn, user_id).await?;
            sqlx::query(
                "UPDATE users SET password_hash = $1, must_change_password = 0 WHERE id = $2",
            )
            .bind(password_hash)
            .bind(user_id)
            .execute(&mut *conn)
            .await?;
            out.ended_sessions = sqlx::query_scalar(
                "SELECT token_hash FROM sessions WHERE user_id = $1 AND token_hash <> $2",
            )
            .bind(user_id)
            .bind(keep)
            .fetch_all(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
                .bind(user_id)
                .bind(keep)
                .execute(&mut *conn)
                .await?;
        }
        AdminChange::AddGrant { user_id, grant } => {
            need_user(conn, user_id).await?;
            let added = sqlx::query(
                "INSERT INTO grants (user_id, role, unit_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(grant.role.as_str())
            .bind(grant.unit.as_str())
            .execute(&mut *conn)
            .await?;
            if added.rows_affected() == 0 {
                return Err(refused(
                    "grant_exists",
                    format!(
                        "the user already has {} at {}",
                        grant.role.as_str(),
                        grant.unit
                    ),
                ));
            }
        }
        AdminChange::RemoveGrant { user_id, grant } => {
            need_user(conn, user_id).await?;
            let removed =
                sqlx::query("DELETE FROM grants WHERE user_id = $1 AND role = $2 AND unit_id = $3")
                    .bind(user_id)
                    .bind(grant.role.as_str())
                    .bind(grant.unit.as_str())
                    .execute(&mut *conn)
                    .await?;
            if removed.rows_affected() == 0 {
                return Err(refused(
                    "grant_not_found",
                    format!("the user has no {} at {}", grant.role.as_str(), grant.unit),
                ));
            }
        }
        AdminChange::CreateUnit { unit, path } => {
            if exists(
                conn,
                "SELECT 1 FROM units WHERE id = $1",
                &[unit.id.as_str()],
            )
            .await?
            {
                return Err(refused("unit_exists", format!("unit {} exists", unit.id)));
            }
            let sort: Option<i64> = sqlx::query_scalar("SELECT MAX(sort) FROM units")
                .fetch_one(&mut *conn)
                .await?;
            sqlx::query(
                "INSERT INTO units (id, parent_id, kind, name, path, sort) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(unit.id.as_str())
            .bind(unit.parent.as_ref().map(|p| p.as_str()))
            .bind(unit.kind.as_str())
            .bind(&unit.name)
            .bind(path)
            .bind(sort.unwrap_or(0) + 1)
            .execute(&mut *conn)
            .await?;
        }
        AdminChange::RenameUnit { unit, name } => {
            sqlx::query("UPDATE units SET name = $1 WHERE id = $2")
                .bind(name)
                .bind(unit.as_str())
                .execute(&mut *conn)
                .await?;
        }
        AdminChange::MoveUnit {
            unit,
            parent,
            juris,
        } => {
            let path_of = async |conn: &mut sqlx::AnyConnection, u: &UnitId| {
                let p: Option<String> = sqlx::query_scalar("SELECT path FROM units WHERE id = $1")
                    .bind(u.as_str())
                    .fetch_optional(&mut *conn)
                    .await?;
                p.ok_or_else(|| refused("unknown_unit", format!("no unit {u}")))
            };
            let old_path = &path_of(conn, unit).await?;
            let parent_path = path_of(conn, parent).await?;
            if parent_path.starts_with(old_path.as_str()) {
                return Err(refused(
                    "move_into_own_subtree",
                    format!("{parent} lies within {unit}"),
                ));
            }
            let new_path = &format!("{parent_path}{unit}/");
            sqlx::query("UPDATE units SET parent_id = $1 WHERE id = $2")
                .bind(parent.as_str())
                .bind(unit.as_str())
                .execute(&mut *conn)
                .await?;
            // Every stored path under the old one gets the new prefix.
            for (table, col) in [
                ("units", "path"),
                ("cases", "intake_path"),
                ("cases", "scope_path"),
                ("cases", "place_path"),
                ("case_parties", "path"),
            ] {
                let sql = format!(
                    "UPDATE {table} SET {col} = $1 || SUBSTR({col}, CAST($2 AS INTEGER)) \
                     WHERE {col} >= $3 AND {col} < $4"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(new_path)
                    .bind(old_path.chars().count() as i64 + 1)
                    .bind(old_path)
                    .bind(path_end(old_path))
                    .execute(&mut *conn)
                    .await?;
            }
            let after = Jurisdiction {
                org: stored_tree(conn).await?,
                calendar: juris.calendar.clone(),
                policy: juris.policy.clone(),
                categories: juris.categories.clone(),
            };
            out.cases_reread = reread_readers(conn, unit, &after).await?;
        }
        AdminChange::CloseUnit { unit, at_ms } => {
            // Checked here, under the lock, so a case dispatched meanwhile is not stranded.
            if exists(
                conn,
                "SELECT 1 FROM cases WHERE assigned_unit = $1 AND state NOT IN ('closed', 'merged') LIMIT 1",
                &[unit.as_str()],
            )
            .await?
            {
                return Err(refused(
                    "unit_has_open_cases",
                    format!("unit {unit} holds open cases: redispatch them first"),
                ));
            }
            if exists(
                conn,
                "SELECT 1 FROM units WHERE parent_id = $1 AND closed_at IS NULL LIMIT 1",
                &[unit.as_str()],
            )
            .await?
            {
                return Err(refused(
                    "unit_has_open_children",
                    format!("units under {unit} are still open: close or move them first"),
                ));
            }
            sqlx::query("UPDATE units SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL")
                .bind(*at_ms)
                .bind(unit.as_str())
                .execute(&mut *conn)
                .await?;
        }
        AdminChange::PutCategory {
            category: c,
            create,
        } => {
            let there = exists(conn, "SELECT 1 FROM categories WHERE id = $1", &[&c.id]).await?;
            if *create && there {
                return Err(refused(
                    "category_exists",
                    format!("category {} exists", c.id),
                ));
            }
            if !*create && !there {
                return Err(refused("unknown_category", format!("no category {}", c.id)));
            }
            crate::setup::upsert_category(&mut *conn, c).await?;
        }
        AdminChange::RetireCategory { id, at_ms } => {
            sqlx::query(
                "UPDATE categories SET retired_at = $1 WHERE id = $2 AND retired_at IS NULL",
            )
            .bind(*at_ms)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        }
        AdminChange::PutSetting { key, value } => {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(key)
            .bind(value)
            .execute(&mut *conn)
            .await?;
        }
        AdminChange::PutCalendarYear { body } => {
            crate::setup::upsert_calendar_year(&mut *conn, body).await?;
        }
        AdminChange::ImportGrids { grids } => {
            let sort: Option<i64> = sqlx::query_scalar("SELECT MAX(sort) FROM units")
                .fetch_one(&mut *conn)
                .await?;
            let mut sort = sort.unwrap_or(0);
            for (unit, path, geometry) in grids {
                let Some(parent) = &unit.parent else {
                    return Err(refused(
                        "unknown_unit",
                        format!("grid {} has no parent", unit.id),
                    ));
                };
                if !exists(
                    conn,
                    "SELECT 1 FROM units WHERE id = $1",
                    &[parent.as_str()],
                )
                .await?
                {
                    return Err(refused(
                        "unknown_unit",
                        format!("grid {}: no parent unit {parent}", unit.id),
                    ));
                }
                sort += 1;
                sqlx::query(
                    "INSERT INTO units (id, parent_id, kind, name, path, geometry, sort) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, geometry = excluded.geometry",
                )
                .bind(unit.id.as_str())
                .bind(parent.as_str())
                .bind(unit.kind.as_str())
                .bind(&unit.name)
                .bind(path)
                .bind(geometry)
                .bind(sort)
                .execute(&mut *conn)
                .await?;
            }
        }
        AdminChange::ReplacePlaces { places } => {
            sqlx::query("DELETE FROM places")
                .execute(&mut *conn)
                .await?;
            for (name, kind, unit) in places {
                if !exists(conn, "SELECT 1 FROM units WHERE id = $1", &[unit.as_str()]).await? {
                    return Err(refused(
                        "unknown_unit",
                        format!("place {name}: no unit {unit}"),
                    ));
                }
                sqlx::query(
                    "INSERT INTO places (name, kind, unit_id) VALUES ($1, $2, $3) ON CONFLICT (unit_id, name) DO UPDATE SET kind = excluded.kind",
                )
                .bind(name)
                .bind(kind)
                .bind(unit.as_str())
                .execute(&mut *conn)
                .await?;
            }
        }
    }
    Ok(out)
}

/// The org tree as stored, read on the transaction's connection.
async fn stored_tree(conn: &mut sqlx::AnyConnection) -> Result<jiesu_domain::OrgTree, StoreError> {
    let rows = sqlx::query("SELECT id, parent_id, kind, name FROM units")
        .fetch_all(&mut *conn)
        .await?;
    let units = rows
        .iter()
        .map(crate::setup::unit_row)
        .collect::<Result<Vec<_>, StoreError>>()?;
    jiesu_domain::OrgTree::new(units).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The first string after every path that starts with `prefix` ('/' + 1 is '0').
fn path_end(prefix: &str) -> String {
    let mut s = prefix.trim_end_matches('/').to_string();
    s.push('0');
    s
}

/// Works out again who may read each case in which `unit` (or its subtree) took part, against the
/// jurisdiction after a move: the units above the moved one changed.
async fn reread_readers(
    conn: &mut sqlx::AnyConnection,
    unit: &UnitId,
    juris: &Jurisdiction,
) -> Result<u64, StoreError> {
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT DISTINCT case_id FROM case_readers WHERE reader = $1")
            .bind(unit.as_str())
            .fetch_all(&mut *conn)
            .await?;
    for id in &ids {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(doc) = doc else { continue };
        let case = parse_case(&doc)?;
        sqlx::query("DELETE FROM case_readers WHERE case_id = $1 AND reader NOT LIKE 'user:%'")
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let user_key = case.draft.reporter.user_id.as_deref().map(reporter_key);
        for r in readers_of(juris, &case) {
            if Some(&r) == user_key.as_ref() {
                continue;
            }
            sqlx::query(
                "INSERT INTO case_readers (reader, created_at, case_id, category_id, channel) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(&r)
            .bind(case.received_at.timestamp_millis())
            .bind(id)
            .bind(case.draft.category.as_deref())
            .bind(case.draft.channel.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(ids.len() as u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_end_bounds_exactly_the_subtree() {
        let end = super::path_end("/root/s1/");
        assert!("/root/s1/" < end.as_str());
        assert!("/root/s1/c9/g/" < end.as_str());
        assert!("/root/s10/" >= end.as_str(), "a sibling sharing the prefix");
        assert!("/root/s1" < "/root/s1/");
    }
}
