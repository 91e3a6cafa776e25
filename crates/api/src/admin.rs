//! Administration (`/api/v1/admin/…`): users, grants, units, categories, the deadline policy and
//! calendar years. Every handler needs the admin role; users, grants and units are managed within
//! the admin's own part of the org tree, categories, policy and calendar only by an admin at the
//! root. Each change commits with its audit entry (`Store::administer`); the node that made it
//! applies it at once (session cache, jurisdiction), the others through `follow_admin_changes`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::{
    Actor, Category, DeadlinePolicy, Grant, Jurisdiction, Kind, OrgTree, OrgUnit, Role, UnitId,
    UnitKind, mask_phone,
};
use jiesu_store::admin::{JURISDICTION_ACTIONS, SESSION_ACTIONS};
use jiesu_store::{AdminChange, AdminOutcome, AuditEntry, NewUser, StoredAudit, UserListing};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Authed, ClientAddr};
use crate::extract::{ApiJson, ApiPath};
use crate::problem::ApiError;
use crate::{AppState, password};

/// An optional field given must carry a value: `null` is refused, so a body says exactly what
/// changes.
fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

fn invalid(field: &str, detail: impl Into<String>) -> ApiError {
    ApiError::unprocessable("validation_failed", detail).on_field(field)
}

fn conflict(code: &'static str, detail: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, code, detail)
}

fn need_admin(actor: &Actor) -> Result<(), ApiError> {
    if actor.has_role(Role::Admin) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "role_forbidden",
            "only administrators do this",
        ))
    }
}

/// The admin role over `unit` (at it or above it).
fn need_admin_over(actor: &Actor, org: &OrgTree, unit: &UnitId) -> Result<(), ApiError> {
    need_admin(actor)?;
    if actor.may_act_on(org, &[Role::Admin], unit) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "out_of_scope",
            format!("unit {unit} is outside the part of the org tree you administer"),
        ))
    }
}

/// County-wide standing data (categories, policy, calendar) is for an admin of the whole county:
/// at the county the platform serves (`OrgTree::intake_center`) or above.
pub(crate) fn need_root_admin(actor: &Actor, org: &OrgTree) -> Result<(), ApiError> {
    let root = org
        .intake_center()
        .ok_or_else(|| ApiError::internal("the org tree is empty"))?;
    need_admin(actor)?;
    if actor.may_act_on(org, &[Role::Admin], root) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "out_of_scope",
            "only an administrator of the whole county changes this",
        ))
    }
}

/// An admin manages a user when every grant of the user lies within his scope; a user with no
/// grant left is the county admin's.
fn manages(actor: &Actor, org: &OrgTree, grants: &[Grant]) -> bool {
    match org.intake_center() {
        Some(root) if grants.is_empty() => actor.may_act_on(org, &[Role::Admin], root),
        _ => grants
            .iter()
            .all(|g| actor.may_act_on(org, &[Role::Admin], &g.unit)),
    }
}

pub(crate) fn text_ok(field: &str, s: &str, max: usize) -> Result<(), ApiError> {
    let n = s.chars().count();
    if s.trim().is_empty() || n > max {
        return Err(invalid(field, format!("1 to {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(invalid(field, "contains control characters"));
    }
    Ok(())
}

/// Ids and usernames: lowercase ASCII letters, digits and `_ . -`, starting with a letter or
/// digit (they appear in paths and in the audit log).
pub const ID_PATTERN: &str = "^[a-z0-9][a-z0-9_.-]*$";

fn id_ok(field: &str, s: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let ok = (min..=max).contains(&s.len())
        && s.bytes().enumerate().all(|(i, b)| {
            b.is_ascii_lowercase()
                || b.is_ascii_digit()
                || (i > 0 && matches!(b, b'_' | b'.' | b'-'))
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            format!(
                "{min} to {max} lowercase letters, digits, '_', '.' or '-', starting with a letter or digit"
            ),
        ))
    }
}

fn grant_json(g: &Grant, org: &OrgTree) -> Value {
    json!({
        "role": g.role, "role_zh": g.role.name_zh(), "unit": g.unit,
        "unit_name": org.get(&g.unit).map(|u| u.name.clone()),
    })
}

fn user_json(u: &UserListing, org: &OrgTree) -> Value {
    json!({
        "id": u.id,
        "username": u.username,
        "display_name": u.display_name,
        // An account list is not a case: the number is masked as everywhere else.
        "phone": u.phone.as_deref().map(mask_phone),
        "disabled": u.disabled,
        "must_change_password": u.must_change_password,
        "created_at": crate::dto::time_ms(u.created_at_ms),
        "grants": u.grants.iter().map(|g| grant_json(g, org)).collect::<Vec<_>>(),
    })
}

fn unit_json(org: &OrgTree, id: &UnitId) -> Value {
    match org.get(id) {
        Some(u) => json!({
            "id": u.id, "parent": u.parent, "kind": u.kind, "kind_zh": u.kind.name_zh(),
            "name": u.name, "closed": org.is_closed(id), "path": org.path(id),
        }),
        None => Value::Null,
    }
}

fn category_json(j: &Jurisdiction, id: &str) -> Value {
    match j.categories.get(id) {
        Some(c) => json!({
            "id": c.id, "parent": c.parent, "name": c.name, "name_en": c.name_en,
            "default_kind": c.default_kind, "default_unit": c.default_unit,
            "retired": j.categories.is_retired(id),
        }),
        None => Value::Null,
    }
}

pub(crate) struct Audit<'a> {
    auth: &'a Authed,
    ip: std::net::IpAddr,
    at_ms: i64,
}

impl<'a> Audit<'a> {
    pub(crate) fn now(state: &AppState, auth: &'a Authed, ip: std::net::IpAddr) -> Self {
        Audit {
            auth,
            ip,
            at_ms: state.now().timestamp_millis(),
        }
    }
    pub(crate) fn entry(&self, action: &str, target: String, detail: String) -> AuditEntry {
        AuditEntry {
            at_ms: self.at_ms,
            actor_id: self.auth.actor.user_id.clone(),
            actor_name: self.auth.actor.username.clone(),
            address: self.ip.to_string(),
            action: action.to_string(),
            target,
            detail,
        }
    }
}

/// Makes the change with its audit entry, then applies it on this node at once.
pub(crate) async fn administer(
    state: &AppState,
    change: AdminChange,
    entry: AuditEntry,
) -> Result<AdminOutcome, ApiError> {
    let out = state.store.administer(&change, &entry).await?;
    for t in &out.ended_sessions {
        state.sessions.remove(t);
    }
    apply_locally(state, &[entry]).await?;
    Ok(out)
}

/// What an administrative change means for a node's caches: a user's cached sessions are
/// dropped; the jurisdiction is reloaded from the store.
async fn apply_locally(state: &AppState, entries: &[AuditEntry]) -> Result<(), ApiError> {
    let mut reload = false;
    for e in entries {
        if SESSION_ACTIONS.contains(&e.action.as_str())
            && let Some(name) = e.target.strip_prefix("user:")
        {
            state.sessions.forget_user(name);
            state.live.end_streams_of(name);
        }
        reload |= JURISDICTION_ACTIONS.contains(&e.action.as_str());
    }
    if reload {
        state.set_juris(state.store.load_jurisdiction().await?);
    }
    Ok(())
}

/// Follows administrative changes made on other nodes: polls the audit log past `after` and
/// applies what it finds. Returns the last id seen. Run by the binary every fraction of a second.
pub async fn follow_admin_changes(state: &AppState, after: i64) -> Result<i64, ApiError> {
    let actions: Vec<&str> = SESSION_ACTIONS
        .iter()
        .chain(JURISDICTION_ACTIONS)
        .copied()
        .collect();
    let found: Vec<StoredAudit> = state.store.audit_after(after, &actions).await?;
    let Some(last) = found.last().map(|s| s.id) else {
        return Ok(after);
    };
    let entries: Vec<AuditEntry> = found.into_iter().map(|s| s.entry).collect();
    apply_locally(state, &entries).await?;
    Ok(last)
}

async fn user_or_404(state: &AppState, id: &str) -> Result<UserListing, ApiError> {
    state
        .store
        .user(id)
        .await?
        .ok_or_else(|| ApiError::not_found("unknown_user", format!("no user {id}")))
}

/// The user, if the admin manages him (someone outside the scope is answered as not found).
async fn managed_user(state: &AppState, auth: &Authed, id: &str) -> Result<UserListing, ApiError> {
    need_admin(&auth.actor)?;
    let u = user_or_404(state, id).await?;
    if !manages(&auth.actor, &state.juris().org, &u.grants) {
        return Err(ApiError::not_found("unknown_user", format!("no user {id}")));
    }
    Ok(u)
}

// ---- users ----------------------------------------------------------------------------------

pub async fn list_users(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    need_admin(&auth.actor)?;
    let org = &state.juris().org;
    let items: Vec<Value> = state
        .store
        .users()
        .await?
        .iter()
        .filter(|u| manages(&auth.actor, org, &u.grants))
        .map(|u| user_json(u, org))
        .collect();
    Ok(Json(json!({"items": items})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantRequest {
    role: Role,
    unit: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    username: String,
    display_name: String,
    password: String,
    #[serde(default, deserialize_with = "present")]
    phone: Option<String>,
    #[serde(deserialize_with = "crate::extract::objects")]
    grants: Vec<GrantRequest>,
}

fn check_grant(actor: &Actor, org: &OrgTree, g: &GrantRequest) -> Result<Grant, ApiError> {
    let unit = UnitId::new(g.unit.clone());
    if !org.contains(&unit) {
        return Err(
            ApiError::unprocessable("unknown_unit", format!("no unit {unit}")).on_field("unit"),
        );
    }
    need_admin_over(actor, org, &unit)?;
    if org.is_closed(&unit) {
        return Err(conflict("unit_closed", format!("unit {unit} is closed")));
    }
    Ok(Grant { role: g.role, unit })
}

async fn hash_password(state: &AppState, username: &str, pw: String) -> Result<String, ApiError> {
    password::check_policy(username, &pw, "password")?;
    password::hash_through(&state.hashing, pw).await
}

/// Creates a user with his grants. The password is the admin's to hand over: the user must change
/// it at his first sign-in.
pub async fn create_user(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> Result<impl IntoResponse, ApiError> {
    need_admin(&auth.actor)?;
    id_ok("username", &req.username, 3, 32)?;
    text_ok("display_name", &req.display_name, 50)?;
    if let Some(p) = &req.phone {
        let ok = (3..=20).contains(&p.len())
            && p.chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '+');
        if !ok {
            return Err(invalid("phone", "3 to 20 digits, '-' or '+'"));
        }
    }
    if req.grants.is_empty() || req.grants.len() > 20 {
        return Err(invalid("grants", "1 to 20 grants"));
    }
    let juris = state.juris();
    let mut grants = Vec::new();
    for g in &req.grants {
        let g = check_grant(&auth.actor, &juris.org, g)?;
        if !grants.contains(&g) {
            grants.push(g);
        }
    }
    let hash = hash_password(&state, &req.username, req.password).await?;
    let id = format!("u-{}", ulid::Ulid::new().to_string().to_lowercase());
    let audit = Audit::now(&state, &auth, ip);
    let now = audit.at_ms;
    let detail = grants
        .iter()
        .map(|g| format!("{}@{}", g.role.as_str(), g.unit))
        .collect::<Vec<_>>()
        .join(", ");
    administer(
        &state,
        AdminChange::CreateUser {
            user: NewUser {
                id: id.clone(),
                username: req.username.clone(),
                display_name: req.display_name.trim().to_string(),
                password_hash: hash,
                phone: req.phone,
                grants,
                must_change_password: true,
            },
            at_ms: now,
        },
        audit.entry(
            "user_created",
            format!("user:{}", req.username),
            format!("grants: {detail}"),
        ),
    )
    .await?;
    let u = user_or_404(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(user_json(&u, &juris.org))))
}

async fn set_disabled(
    state: AppState,
    auth: Authed,
    ip: std::net::IpAddr,
    id: String,
    disabled: bool,
) -> Result<Json<Value>, ApiError> {
    let u = managed_user(&state, &auth, &id).await?;
    if u.id == auth.actor.user_id {
        return Err(conflict(
            "own_account",
            "you cannot disable your own account",
        ));
    }
    let audit = Audit::now(&state, &auth, ip);
    let (action, detail) = if disabled {
        ("user_disabled", "every session ended")
    } else {
        ("user_enabled", "")
    };
    administer(
        &state,
        AdminChange::SetDisabled {
            user_id: u.id.clone(),
            disabled,
        },
        audit.entry(action, format!("user:{}", u.username), detail.into()),
    )
    .await?;
    let u = user_or_404(&state, &id).await?;
    Ok(Json(user_json(&u, &state.juris().org)))
}

/// Disables a user: he cannot sign in, and every session of his ends on every node.
pub async fn disable_user(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    set_disabled(state, auth, ip, id, true).await
}

pub async fn enable_user(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    set_disabled(state, auth, ip, id, false).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordReset {
    new_password: String,
}

/// Sets a forgotten password: every session ends and the user must change it at sign-in.
pub async fn reset_password(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<PasswordReset>,
) -> Result<impl IntoResponse, ApiError> {
    let u = managed_user(&state, &auth, &id).await?;
    if u.id == auth.actor.user_id {
        return Err(conflict(
            "own_account",
            "change your own password with POST /api/v1/auth/password",
        ));
    }
    let hash = hash_password(&state, &u.username, req.new_password)
        .await
        .map_err(|e| e.on_field("new_password"))?;
    let audit = Audit::now(&state, &auth, ip);
    let out = administer(
        &state,
        AdminChange::ResetPassword {
            user_id: u.id.clone(),
            password_hash: hash,
        },
        audit.entry(
            "password_reset",
            format!("user:{}", u.username),
            "must change at next sign-in".into(),
        ),
    )
    .await?;
    Ok(Json(
        json!({"user": user_json(&user_or_404(&state, &id).await?, &state.juris().org),
               "sessions_ended": out.ended_sessions.len()}),
    ))
}

pub async fn add_grant(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<GrantRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let u = managed_user(&state, &auth, &id).await?;
    let juris = state.juris();
    let grant = check_grant(&auth.actor, &juris.org, &req)?;
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::AddGrant {
            user_id: u.id.clone(),
            grant: grant.clone(),
        },
        audit.entry(
            "grant_added",
            format!("user:{}", u.username),
            format!("{}@{}", grant.role.as_str(), grant.unit),
        ),
    )
    .await?;
    let u = user_or_404(&state, &id).await?;
    Ok((StatusCode::CREATED, Json(user_json(&u, &juris.org))))
}

/// Removes a grant; the user's sessions lose it at once on every node.
pub async fn remove_grant(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath((id, role, unit)): ApiPath<(String, String, String)>,
) -> Result<impl IntoResponse, ApiError> {
    let u = managed_user(&state, &auth, &id).await?;
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::not_found("grant_not_found", format!("no role {role}")))?;
    let grant = Grant {
        role,
        unit: UnitId::new(unit),
    };
    let juris = state.juris();
    if !u.grants.contains(&grant) {
        return Err(ApiError::not_found(
            "grant_not_found",
            format!("the user has no {} at {}", role.as_str(), grant.unit),
        ));
    }
    need_admin_over(&auth.actor, &juris.org, &grant.unit)?;
    if u.id == auth.actor.user_id && role == Role::Admin {
        return Err(conflict(
            "own_account",
            "you cannot remove your own administrator grant",
        ));
    }
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::RemoveGrant {
            user_id: u.id.clone(),
            grant: grant.clone(),
        },
        audit.entry(
            "grant_removed",
            format!("user:{}", u.username),
            format!("{}@{}", role.as_str(), grant.unit),
        ),
    )
    .await?;
    let u = user_or_404(&state, &id).await?;
    Ok(Json(user_json(&u, &juris.org)))
}

// ---- units ----------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUnitRequest {
    id: String,
    parent: String,
    kind: UnitKind,
    name: String,
}

fn known_unit(org: &OrgTree, id: &str, field: Option<&str>) -> Result<UnitId, ApiError> {
    let unit = UnitId::new(id);
    if org.contains(&unit) {
        return Ok(unit);
    }
    Err(match field {
        Some(f) => ApiError::unprocessable("unknown_unit", format!("no unit {unit}")).on_field(f),
        None => ApiError::not_found("unknown_unit", format!("no unit {unit}")),
    })
}

pub async fn create_unit(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<NewUnitRequest>,
) -> Result<impl IntoResponse, ApiError> {
    need_admin(&auth.actor)?;
    id_ok("id", &req.id, 1, 64)?;
    text_ok("name", &req.name, 50)?;
    let juris = state.juris();
    let parent = known_unit(&juris.org, &req.parent, Some("parent"))?;
    need_admin_over(&auth.actor, &juris.org, &parent)?;
    if juris.org.is_closed(&parent) {
        return Err(conflict("unit_closed", format!("unit {parent} is closed")));
    }
    if juris.org.contains(&UnitId::new(req.id.clone())) {
        return Err(conflict("unit_exists", format!("unit {} exists", req.id)));
    }
    let path = format!("{}{}/", juris.org.path(&parent).unwrap_or("/"), req.id);
    let unit = OrgUnit {
        id: UnitId::new(req.id.clone()),
        parent: Some(parent.clone()),
        kind: req.kind,
        name: req.name.trim().to_string(),
    };
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::CreateUnit {
            unit: unit.clone(),
            path,
        },
        audit.entry(
            "unit_created",
            format!("unit:{}", unit.id),
            format!("{} {} under {parent}", unit.kind.as_str(), unit.name),
        ),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(unit_json(&state.juris().org, &unit.id)),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitChange {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    parent: Option<String>,
}

/// Renames a unit and/or moves it (with its subtree) under another parent. A move rewrites the
/// stored paths of the subtree's cases and works out again who may read them.
pub async fn change_unit(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UnitChange>,
) -> Result<impl IntoResponse, ApiError> {
    need_admin(&auth.actor)?;
    let juris = state.juris();
    let unit = known_unit(&juris.org, &id, None)?;
    need_admin_over(&auth.actor, &juris.org, &unit)?;
    if req.name.is_none() && req.parent.is_none() {
        return Err(invalid("name", "give a new name, a new parent or both"));
    }
    if let Some(name) = &req.name {
        text_ok("name", name, 50)?;
    }
    let new_parent = match &req.parent {
        Some(p) => {
            let p = known_unit(&juris.org, p, Some("parent"))?;
            if juris.org.root() == Some(&unit) {
                return Err(conflict("root_unit", "the root unit cannot be moved"));
            }
            if juris.org.is_within(&p, &unit) {
                return Err(conflict(
                    "move_into_own_subtree",
                    format!("{p} lies within {unit}"),
                ));
            }
            need_admin_over(&auth.actor, &juris.org, &p)?;
            if juris.org.is_closed(&p) {
                return Err(conflict("unit_closed", format!("unit {p} is closed")));
            }
            let current = juris.org.get(&unit).and_then(|u| u.parent.clone());
            (current.as_ref() != Some(&p)).then_some(p)
        }
        None => None,
    };
    let audit = Audit::now(&state, &auth, ip);
    if let Some(name) = &req.name {
        let old = juris
            .org
            .get(&unit)
            .map(|u| u.name.clone())
            .unwrap_or_default();
        administer(
            &state,
            AdminChange::RenameUnit {
                unit: unit.clone(),
                name: name.trim().to_string(),
            },
            audit.entry(
                "unit_renamed",
                format!("unit:{unit}"),
                format!("{old} → {}", name.trim()),
            ),
        )
        .await?;
    }
    if let Some(parent) = new_parent {
        let juris = state.juris();
        let old_parent = juris.org.get(&unit).and_then(|u| u.parent.clone());
        let out = administer(
            &state,
            AdminChange::MoveUnit {
                unit: unit.clone(),
                parent: parent.clone(),
                juris: juris.clone(),
            },
            audit.entry(
                "unit_moved",
                format!("unit:{unit}"),
                format!(
                    "{} → {parent}",
                    old_parent.map(|p| p.to_string()).unwrap_or_default()
                ),
            ),
        )
        .await?;
        tracing::info!(%unit, %parent, cases = out.cases_reread, "unit moved");
    }
    Ok(Json(unit_json(&state.juris().org, &unit)))
}

/// Closes a unit: it keeps its history and takes no new cases. Refused while it holds open cases
/// or has open units under it.
pub async fn close_unit(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    need_admin(&auth.actor)?;
    let juris = state.juris();
    let unit = known_unit(&juris.org, &id, None)?;
    need_admin_over(&auth.actor, &juris.org, &unit)?;
    if juris.org.root() == Some(&unit) {
        return Err(conflict("root_unit", "the root unit cannot be closed"));
    }
    if juris.org.is_closed(&unit) {
        return Err(conflict(
            "unit_closed",
            format!("unit {unit} is already closed"),
        ));
    }
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::CloseUnit {
            unit: unit.clone(),
            at_ms: audit.at_ms,
        },
        audit.entry("unit_closed", format!("unit:{unit}"), String::new()),
    )
    .await?;
    Ok(Json(unit_json(&state.juris().org, &unit)))
}

// ---- categories -----------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    id: String,
    #[serde(default, deserialize_with = "present")]
    parent: Option<String>,
    name: String,
    name_en: String,
    #[serde(default, deserialize_with = "present")]
    default_kind: Option<Kind>,
    #[serde(default, deserialize_with = "present")]
    default_unit: Option<String>,
}

fn check_default_unit(org: &OrgTree, u: &Option<String>) -> Result<Option<UnitId>, ApiError> {
    let Some(u) = u else { return Ok(None) };
    let unit = known_unit(org, u, Some("default_unit"))?;
    if org.is_closed(&unit) {
        return Err(conflict("unit_closed", format!("unit {unit} is closed")));
    }
    Ok(Some(unit))
}

pub async fn create_category(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<NewCategoryRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    need_root_admin(&auth.actor, &juris.org)?;
    id_ok("id", &req.id, 1, 64)?;
    text_ok("name", &req.name, 50)?;
    text_ok("name_en", &req.name_en, 100)?;
    if let Some(p) = &req.parent
        && juris.categories.get(p).is_none()
    {
        return Err(
            ApiError::unprocessable("unknown_category", format!("no category {p}"))
                .on_field("parent"),
        );
    }
    if juris.categories.get(&req.id).is_some() {
        return Err(conflict(
            "category_exists",
            format!("category {} exists", req.id),
        ));
    }
    let category = Category {
        id: req.id.clone(),
        parent: req.parent,
        name: req.name.trim().to_string(),
        name_en: req.name_en.trim().to_string(),
        default_kind: req.default_kind,
        default_unit: check_default_unit(&juris.org, &req.default_unit)?,
    };
    let audit = Audit::now(&state, &auth, ip);
    let detail = format!("{} / {}", category.name, category.name_en);
    administer(
        &state,
        AdminChange::PutCategory {
            category,
            create: true,
        },
        audit.entry("category_added", format!("category:{}", req.id), detail),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(category_json(&state.juris(), &req.id)),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryChange {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    name_en: Option<String>,
    #[serde(default, deserialize_with = "present")]
    default_kind: Option<Kind>,
    #[serde(default, deserialize_with = "present")]
    default_unit: Option<String>,
}

/// Renames a category or changes its defaults (what is not given stays).
pub async fn change_category(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CategoryChange>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    need_root_admin(&auth.actor, &juris.org)?;
    let mut c = juris
        .categories
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::not_found("unknown_category", format!("no category {id}")))?;
    let mut changed = Vec::new();
    if let Some(n) = &req.name {
        text_ok("name", n, 50)?;
        changed.push(format!("name {} → {}", c.name, n.trim()));
        c.name = n.trim().to_string();
    }
    if let Some(n) = &req.name_en {
        text_ok("name_en", n, 100)?;
        changed.push(format!("name_en {} → {}", c.name_en, n.trim()));
        c.name_en = n.trim().to_string();
    }
    if let Some(k) = req.default_kind {
        changed.push(format!("default_kind → {}", k.as_str()));
        c.default_kind = Some(k);
    }
    if req.default_unit.is_some() {
        c.default_unit = check_default_unit(&juris.org, &req.default_unit)?;
        changed.push(format!(
            "default_unit → {}",
            req.default_unit.as_deref().unwrap_or_default()
        ));
    }
    if changed.is_empty() {
        return Err(invalid("name", "nothing to change"));
    }
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::PutCategory {
            category: c,
            create: false,
        },
        audit.entry(
            "category_changed",
            format!("category:{id}"),
            changed.join("; "),
        ),
    )
    .await?;
    Ok(Json(category_json(&state.juris(), &id)))
}

/// Retires a category: old cases keep it; no new case may be filed under it.
pub async fn retire_category(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiPath(id): ApiPath<String>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    need_root_admin(&auth.actor, &juris.org)?;
    if juris.categories.get(&id).is_none() {
        return Err(ApiError::not_found(
            "unknown_category",
            format!("no category {id}"),
        ));
    }
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::RetireCategory {
            id: id.clone(),
            at_ms: audit.at_ms,
        },
        audit.entry("category_retired", format!("category:{id}"), String::new()),
    )
    .await?;
    Ok(Json(category_json(&state.juris(), &id)))
}

// ---- deadline policy and calendar -----------------------------------------------------------

/// The longest policy or holiday file taken (the routes take bodies up to `MAX_TOML_BODY`).
pub const MAX_TOML_CHARS: usize = 65_536;
/// Room for that many characters, each escaped in JSON.
pub const MAX_TOML_BODY: usize = 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TomlBody {
    toml: String,
}

/// The deadline policy's TOML text (the built-in default's while none is stored), whether it is
/// stored, and the policy as read.
pub async fn get_policy(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    need_root_admin(&auth.actor, &state.juris().org)?;
    let text = state.store.get_setting("deadline_policy").await?;
    Ok(Json(json!({
        "stored": text.is_some(),
        "toml": text.as_deref().unwrap_or(jiesu_domain::deadline::DEFAULT_POLICY_TOML),
        "policy": serde_json::to_value(&state.juris().policy).map_err(ApiError::internal)?,
    })))
}

/// Replaces the deadline policy. It applies to deadlines computed from now on; running deadlines
/// keep the policy they were set under.
pub async fn put_policy(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<TomlBody, MAX_TOML_BODY>,
) -> Result<impl IntoResponse, ApiError> {
    need_root_admin(&auth.actor, &state.juris().org)?;
    if req.toml.chars().count() > MAX_TOML_CHARS {
        return Err(invalid("toml", "at most 65,536 characters"));
    }
    DeadlinePolicy::from_toml(&req.toml)
        .map_err(|e| ApiError::unprocessable("invalid_policy", e.to_string()).on_field("toml"))?;
    let audit = Audit::now(&state, &auth, ip);
    let digest = hex::encode(
        &sha2::Digest::finalize(sha2::Digest::chain_update(
            sha2::Sha256::default(),
            req.toml.as_bytes(),
        ))[..8],
    );
    administer(
        &state,
        AdminChange::PutSetting {
            key: "deadline_policy".into(),
            value: req.toml,
        },
        audit.entry(
            "deadline_policy_replaced",
            "setting:deadline_policy".into(),
            format!("sha256 {digest}…"),
        ),
    )
    .await?;
    Ok(Json(
        serde_json::to_value(&state.juris().policy).map_err(ApiError::internal)?,
    ))
}

/// Imports one year's holiday schedule (the State Council's notice as TOML). Open cases'
/// provisional deadlines in that year are recomputed by every node's calendar watch.
pub async fn import_calendar_year(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<TomlBody, MAX_TOML_BODY>,
) -> Result<impl IntoResponse, ApiError> {
    need_root_admin(&auth.actor, &state.juris().org)?;
    if req.toml.chars().count() > MAX_TOML_CHARS {
        return Err(invalid("toml", "at most 65,536 characters"));
    }
    let year = jiesu_domain::CalendarYear::parse_toml(&req.toml)
        .map_err(|e| ApiError::unprocessable("invalid_calendar", e.to_string()).on_field("toml"))?;
    let audit = Audit::now(&state, &auth, ip);
    administer(
        &state,
        AdminChange::PutCalendarYear { body: req.toml },
        audit.entry(
            "calendar_year_imported",
            format!("calendar:{}", year.year),
            year.source.clone(),
        ),
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"year": year.year, "source": year.source})),
    ))
}
