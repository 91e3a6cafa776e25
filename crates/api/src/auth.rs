//! Sign-in, sessions and the `Authed` extractor that every protected handler takes.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use jiesu_domain::Actor;
use jiesu_store::LoginAudit;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::extract::ApiJson;
use crate::problem::ApiError;
use crate::{AppState, password};

pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// A signed-in caller.
#[derive(Debug, Clone)]
pub struct Authed {
    pub actor: Actor,
    pub token_hash: String,
    pub expires_at_ms: i64,
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(ApiError::internal)?;
    Ok(hex::encode(b))
}

/// Sessions recently read from the store, so a busy client does not cost two queries per request.
/// An entry is trusted for `SESSION_CACHE_SECS`: a logout on another node, or a grant change,
/// takes effect within that time; a logout on this node takes effect at once.
#[derive(Default)]
pub struct SessionCache {
    entries: std::sync::Mutex<std::collections::HashMap<String, (Actor, i64, std::time::Instant)>>,
}

pub const SESSION_CACHE_SECS: u64 = 30;

impl SessionCache {
    fn get(&self, token_hash: &str, now_ms: i64) -> Option<(Actor, i64)> {
        let map = self.entries.lock().ok()?;
        let (actor, expires, at) = map.get(token_hash)?;
        (at.elapsed().as_secs() < SESSION_CACHE_SECS && *expires > now_ms)
            .then(|| (actor.clone(), *expires))
    }
    fn put(&self, token_hash: String, actor: Actor, expires: i64) {
        if let Ok(mut map) = self.entries.lock() {
            if map.len() > 50_000 {
                map.clear();
            }
            map.insert(token_hash, (actor, expires, std::time::Instant::now()));
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
        if let Some((actor, expires_at_ms)) = state.sessions.get(&th, now) {
            return Ok(Authed {
                actor,
                token_hash: th,
                expires_at_ms,
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
        state
            .sessions
            .put(th.clone(), actor.clone(), s.expires_at_ms);
        Ok(Authed {
            actor,
            token_hash: th,
            expires_at_ms: s.expires_at_ms,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    username: String,
    password: String,
}

/// A real argon2id hash of a random password, so unknown users cost as much time as known ones.
fn dummy_hash() -> String {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| {
        let mut b = [0u8; 16];
        let _ = getrandom::fill(&mut b);
        password::hash(&hex::encode(b)).unwrap_or_default()
    })
    .clone()
}

pub async fn login(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<impl IntoResponse, ApiError> {
    if req.username.len() > 64 || req.password.len() > 256 {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password",
        ));
    }
    let now = state.now().timestamp_millis();
    let user = state.store.user_by_username(&req.username).await?;
    let audit = |ok: bool, detail: &str| LoginAudit {
        username: req.username.clone(),
        at_ms: now,
        ok,
        detail: detail.to_string(),
    };
    if let Some(u) = &user
        && u.locked_until_ms > now
    {
        state.store.audit_login(&audit(false, "locked")).await?;
        return Err(ApiError::new(
            axum::http::StatusCode::LOCKED,
            "account_locked",
            format!(
                "too many failed sign-ins; try again in {} minutes",
                (u.locked_until_ms - now).div_euclid(60_000) + 1
            ),
        ));
    }
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone())
        .unwrap_or_default();
    let pw = req.password.clone();
    let ok = tokio::task::spawn_blocking(move || {
        let phc = if phc.is_empty() { dummy_hash() } else { phc };
        password::verify(&pw, &phc)
    })
    .await
    .map_err(ApiError::internal)?;
    let Some(user) = user.filter(|u| ok && !u.disabled) else {
        if let Some(u) = state.store.user_by_username(&req.username).await? {
            let n = state
                .store
                .note_login_failure(&u.id, MAX_FAILED_LOGINS, now + LOCKOUT_MS)
                .await?;
            tracing::warn!(username = %req.username, failures = n, "failed sign-in");
        }
        state
            .store
            .audit_login(&audit(false, "bad credentials"))
            .await?;
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "wrong username or password",
        ));
    };
    state.store.note_login_success(&user.id).await?;
    let token = new_token()?;
    let expires = now + state.config.session_ttl_ms;
    state
        .store
        .create_session(&token_hash(&token), &user.id, now, expires)
        .await?;
    state.store.audit_login(&audit(true, "ok")).await?;
    let grants = state.store.grants_of(&user.id).await?;
    Ok(Json(json!({
        "token": token,
        "token_type": "Bearer",
        "expires_at": crate::dto::time_ms(expires),
        "user": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "grants": grants.iter().map(|g| json!({"role": g.role, "role_zh": g.role.name_zh(), "unit": g.unit})).collect::<Vec<_>>(),
        }
    })))
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
        "grants": auth.actor.grants.iter().map(|g| json!({
            "role": g.role, "role_zh": g.role.name_zh(), "unit": g.unit,
            "unit_name": juris.org.get(&g.unit).map(|u| u.name.clone()),
        })).collect::<Vec<_>>(),
    })))
}
