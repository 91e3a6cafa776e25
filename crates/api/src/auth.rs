//! Sign-in, sessions and the `Authed` extractor that every protected handler takes.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiesu_domain::Actor;
use jiesu_store::{AdminChange, AuditEntry};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::extract::ApiJson;
use crate::problem::ApiError;
use crate::{AppState, password};

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Authed {
    pub actor: Actor,
    pub token_hash: String,
    pub expires_at_ms: i64,
    pub must_change_password: bool,
}

/// What a user whose password was set by someone else may still do: change it, see who he is,
/// sign out. Everything else answers `403 password_change_required`.
const BEFORE_OWN_PASSWORD: &[&str] = &[
    "/api/v1/auth/password",
    "/api/v1/auth/me",
    "/api/v1/auth/logout",
];

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    Ok(hex::encode(b))
}

/// Sessions recently read from the store, so a busy client does not cost two queries per request.
/// An entry is trusted for `SESSION_CACHE_SECS`: a logout on another node takes effect within
/// that time; a logout on this node at once. Administrative changes to a user (disabled, grant
/// removed, password reset) drop his entries at once on the node that made them and, through the
/// admin watch reading the audit log, within a fraction of a second on every other node.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, CachedSession>>,
}

struct CachedSession {
    actor: Actor,
    expires_at_ms: i64,
    must_change_password: bool,
    at: std::time::Instant,
}

pub const SESSION_CACHE_SECS: u64 = 30;

impl SessionCache {
    fn get(&self, token_hash: &str, now_ms: i64) -> Option<(Actor, i64, bool)> {
        let map = self.entries.lock().ok()?;
        let c = map.get(token_hash)?;
        (c.at.elapsed().as_secs() < SESSION_CACHE_SECS && c.expires_at_ms > now_ms)
            .then(|| (c.actor.clone(), c.expires_at_ms, c.must_change_password))
    }
    fn put(&self, token_hash: String, actor: Actor, expires: i64, must_change_password: bool) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 50_000 {
                map.clear();
            }
            map.insert(
                token_hash,
                CachedSession {
                    actor,
                    expires_at_ms: expires,
                    must_change_password,
                    at: std::time::Instant::now(),
                },
            );
        }
    }
    /// Drops every cached session of one user (by username), so his next request reads the store.
    pub fn forget_user(&self, username: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.retain(|_, c| c.actor.username != username);
        }
    }
    pub fn remove(&self, token_hash: &str) {
        if let Ok(mut map) = self.entries.lock() {
            map.remove(token_hash);
        }
    }
}

impl FromRequestParts<AppState> for Authed {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("send Authorization: Bearer TOKEN"))?;
        let token = header
            .strip_prefix("Bearer ")
            .map(str::trim)
            .filter(|t| !t.is_empty() && t.len() <= 256)
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be Bearer TOKEN")
            })?;
        let th = token_hash(token);
        let now = state.now().timestamp_millis();
        let must_change = |must: bool| {
            if must && !BEFORE_OWN_PASSWORD.contains(&parts.uri.path()) {
                return Err(ApiError::forbidden(
                    "password_change_required",
                    "your password was set by an administrator: change it first (POST /api/v1/auth/password)",
                ));
            }
            Ok(())
        };
        if let Some((actor, expires_at_ms, must)) = state.sessions.get(&th, now) {
            must_change(must)?;
            return Ok(Authed {
                actor,
                token_hash: th,
                expires_at_ms,
                must_change_password: must,
            });
        }
        let s = state
            .store
            .session(&th, now)
            .await?
            .ok_or_else(|| ApiError::unauthorized("the session is unknown or has expired"))?;
        let actor = Actor {
            user_id: s.user.id,
            username: s.user.username,
            display_name: s.user.display_name,
            grants: s.grants,
        };
        state.sessions.put(
            th.clone(),
            actor.clone(),
            s.expires_at_ms,
            s.user.must_change_password,
        );
        must_change(s.user.must_change_password)?;
        Ok(Authed {
            actor,
            token_hash: th,
            expires_at_ms: s.expires_at_ms,
            must_change_password: s.user.must_change_password,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// The address of the connection a request came on, which failed sign-ins are counted by.
/// `X-Forwarded-For` is not read: behind a proxy every client counts as the proxy.
pub struct ClientAddr(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        // `serve` always records the peer; a router served some other way counts every client
        // as one address, which throttles sooner rather than never.
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong username or password",
    )
}

/// A problem with `Retry-After`.
pub(crate) fn retry_after(err: ApiError, secs: u64) -> Response {
    ([(header::RETRY_AFTER, secs.to_string())], err).into_response()
}

/// Signs in. Whether the username exists changes nothing in the answer or in the work done:
/// unknown and disabled users are verified against a dummy hash and counted like real ones, and
/// a lock (`429 too_many_attempts`) is decided from earlier attempts before anything is looked
/// up (docs/API.md, "Sign-in").
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    if req.username.len() > 64 || req.password.len() > 256 {
        // Longer than sign-in accepts: nothing to count, hash or look up.
        return Err(invalid_credentials());
    }
    let now = state.now().timestamp_millis();
    let attempt = match state.sign_ins.begin(&req.username, ip, now) {
        Ok(a) => a,
        Err(t) => {
            let err = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed sign-ins; try again after Retry-After seconds",
            );
            return Ok(retry_after(err, t.retry_after_secs));
        }
    };
    let Ok(hashing) = state.hashing.admit() else {
        // Dropping `attempt` gives its count back: this answer says nothing about the password.
        let err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "too many sign-ins are being checked; retry shortly",
        );
        return Ok(retry_after(err, 1));
    };
    let user = state
        .store
        .user_by_username(&req.username)
        .await?
        .filter(|u| !u.disabled);
    let phc = user
        .as_ref()
        .map_or(password::DUMMY_HASH, |u| &u.password_hash);
    let ok = hashing
        .verify(req.password, phc.to_string())
        .await
        .map_err(ApiError::internal)?;
    // Every sign-in, failed or not, goes into the audit log (the username as given, the address).
    let audit = |action: &str, user_id: &str, detail: String| AuditEntry {
        at_ms: now,
        actor_id: user_id.to_string(),
        actor_name: req.username.clone(),
        address: ip.to_string(),
        action: action.to_string(),
        target: format!("user:{}", req.username),
        detail,
    };
    let Some(user) = user.filter(|_| ok) else {
        let locks = attempt.failed(now);
        state
            .store
            .audit(&audit(
                "sign_in_failed",
                "",
                "wrong username or password".into(),
            ))
            .await?;
        if !locks.is_empty() {
            tracing::warn!(username = ?req.username, %ip, ?locks, "sign-ins locked");
            state
                .store
                .audit(&audit("sign_in_locked", "", format!("locked: {locks:?}")))
                .await?;
        }
        return Err(invalid_credentials());
    };
    attempt.succeeded();
    let token = new_token()?;
    let expires = now + state.config.session_ttl_ms;
    state
        .store
        .create_session(&token_hash(&token), &user.id, now, expires)
        .await?;
    state
        .store
        .audit(&audit("sign_in", &user.id, "ok".into()))
        .await?;
    let grants = state.store.grants_of(&user.id).await?;
    Ok(Json(json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": crate::dto::time_ms(expires),
        "must_change_password": user.must_change_password,
        "user": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "grants": grants.iter().map(|g| json!({"role": g.role, "role_zh": g.role.name_zh(), "unit": g.unit})).collect::<Vec<_>>(),
        }
    }))
    .into_response())
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    old_password: String,
    new_password: String,
}

/// A user changes his own password: the current one is required, the new one must meet the
/// policy, and every other session of his ends (at once on this node; on the others as soon as
/// their admin watch reads the audit entry). Recorded in the audit log with the change.
pub async fn change_password(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<PasswordChange>,
) -> Result<impl IntoResponse, ApiError> {
    password::check_policy(&auth.actor.username, &req.new_password, "new_password")?;
    let user = state
        .store
        .user_by_username(&auth.actor.username)
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "no such user"))?;
    let ok = state
        .hashing
        .admit()
        .map_err(|_| password::busy())?
        .verify(req.old_password.clone(), user.password_hash.clone())
        .await
        .map_err(ApiError::internal)?;
    if !ok || req.old_password.len() > 256 {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "the current password is wrong",
        )
        .on_field("old_password"));
    }
    let hash = password::hash_through(&state.hashing, req.new_password).await?;
    // The change and its audit entry commit together: the entry is how other nodes learn to
    // drop the ended sessions, so one never lands without the other.
    let out = state
        .store
        .administer(
            &AdminChange::ChangeOwnPassword {
                user_id: user.id.clone(),
                password_hash: hash,
                keep: auth.token_hash.clone(),
            },
            &AuditEntry {
                at_ms: state.now().timestamp_millis(),
                actor_id: user.id.clone(),
                actor_name: user.username.clone(),
                address: ip.to_string(),
                action: "password_changed".into(),
                target: format!("user:{}", user.username),
                detail: "own password; other sessions ended".into(),
            },
        )
        .await?;
    for t in &out.ended_sessions {
        state.sessions.remove(t);
    }
    // This session's cached entry still says the password must change.
    state.sessions.remove(&auth.token_hash);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    state.sessions.remove(&auth.token_hash);
    state.store.delete_session(&auth.token_hash).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn me(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    Ok(Json(json!({
        "id": auth.actor.user_id,
        "username": auth.actor.username,
        "display_name": auth.actor.display_name,
        "expires_at": crate::dto::time_ms(auth.expires_at_ms),
        "must_change_password": auth.must_change_password,
        "grants": auth.actor.grants.iter().map(|g| json!({
            "role": g.role, "role_zh": g.role.name_zh(), "unit": g.unit,
            "unit_name": juris.org.get(&g.unit).map(|u| u.name.clone()),
        })).collect::<Vec<_>>(),
    })))
}
