//! Open311 clients and their API keys: who may POST reports. A client is an account that never
//! signs in, holding a citizen's grant at the county, so its reports are filed like a citizen's
//! own; only a key's SHA-256 is stored, and disabling the account refuses its keys at once. Keys
//! are issued here for both the console (`/api/v1/admin/open311/clients`) and the CLI
//! (`jiesu open311 key`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use jiesu_domain::{Grant, OrgTree, Role};
use jiesu_store::{AdminChange, NewUser, Open311ClientRow};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{Authed, ClientAddr};
use crate::extract::ApiJson;
use crate::problem::ApiError;

/// A client's name, as the OpenAPI document states it.
pub const NAME_PATTERN: &str = "^[a-z0-9_-]{1,32}$";

/// Whether `name` may name a client: 1 to 32 of a-z, 0-9, '-' and '_'.
pub fn name_ok(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// The client's account id and username.
pub fn account(name: &str) -> (String, String) {
    (format!("u-open311-{name}"), format!("open311:{name}"))
}

/// A new key: 32 random bytes in hex, with a prefix that says what it is when it turns up in a
/// log or a configuration file.
pub fn new_key() -> Result<String, getrandom::Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)?;
    Ok(format!("o311_{}", hex::encode(b)))
}

pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The change that gives client `name` the key `key` (creating the client, shown as `display`,
/// the first time); `None` when the org tree has no county to hold the client.
pub fn issue(
    org: &OrgTree,
    name: &str,
    display: &str,
    key: &str,
    at_ms: i64,
) -> Option<AdminChange> {
    let county = org.intake_center()?.clone();
    let (id, username) = account(name);
    Some(AdminChange::IssueOpen311Key {
        client: NewUser {
            id,
            username,
            display_name: display.to_string(),
            password_hash: jiesu_store::NO_PASSWORD.into(),
            phone: None,
            grants: vec![Grant {
                role: Role::Citizen,
                unit: county,
            }],
            must_change_password: false,
        },
        key_hash: key_hash(key),
        at_ms,
    })
}

fn client_json(c: &Open311ClientRow) -> serde_json::Value {
    json!({"id": c.id, "username": c.username, "display_name": c.display_name,
           "disabled": c.disabled, "keys": c.keys})
}

/// The endpoint's clients and what a client needs to reach it.
pub async fn list(
    State(state): State<AppState>,
    auth: Authed,
) -> Result<impl IntoResponse, ApiError> {
    crate::admin::need_root_admin(&auth.actor, &state.juris().org)?;
    let items: Vec<_> = state
        .store
        .open311_clients()
        .await?
        .into_iter()
        .map(|c| client_json(&c))
        .collect();
    let jurisdiction_id = super::jurisdiction_id(&state)
        .await
        .map_err(|_| ApiError::internal("reading the jurisdiction_id"))?;
    Ok(axum::Json(json!({
        "endpoint": "/open311/v2",
        "jurisdiction_id": jurisdiction_id,
        "items": items,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    name: String,
    display_name: String,
}

/// Issues a client a new key (creating the client the first time). The key is in this answer
/// and nowhere else.
pub async fn create(
    State(state): State<AppState>,
    auth: Authed,
    ClientAddr(ip): ClientAddr,
    ApiJson(req): ApiJson<IssueRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let juris = state.juris();
    crate::admin::need_root_admin(&auth.actor, &juris.org)?;
    if !name_ok(&req.name) {
        return Err(ApiError::unprocessable(
            "validation_failed",
            "name: 1 to 32 of a-z, 0-9, '-' and '_'",
        )
        .on_field("name"));
    }
    crate::admin::text_ok("display_name", &req.display_name, 50)?;
    let key = new_key().map_err(ApiError::internal)?;
    let display = req.display_name.trim();
    let change = issue(
        &juris.org,
        &req.name,
        display,
        &key,
        state.now().timestamp_millis(),
    )
    .ok_or_else(|| ApiError::internal("the org tree is empty"))?;
    let (id, username) = account(&req.name);
    let audit = crate::admin::Audit::now(&state, &auth, ip);
    crate::admin::administer(
        &state,
        change,
        audit.entry(
            "open311_key_issued",
            format!("user:{username}"),
            display.to_string(),
        ),
    )
    .await?;
    let client = state
        .store
        .open311_clients()
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .map(|c| client_json(&c));
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"client": client, "key": key})),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_documented_pattern() {
        for ok in ["a", "wx-app", "demo_app", "a2", &"x".repeat(32)] {
            assert!(name_ok(ok), "{ok}");
        }
        for bad in ["", "Wx", "a b", "a.b", "é", &"x".repeat(33), "open311:x"] {
            assert!(!name_ok(bad), "{bad}");
        }
    }

    #[test]
    fn keys_are_random_and_stored_only_as_their_hash() {
        let (a, b) = (new_key().unwrap(), new_key().unwrap());
        assert_ne!(a, b);
        assert!(a.starts_with("o311_") && a.len() == 69);
        assert_eq!(key_hash(&a).len(), 64);
        assert!(!key_hash(&a).contains(&a[5..]));
    }
}
