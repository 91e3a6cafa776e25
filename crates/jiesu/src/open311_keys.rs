//! Open311 clients and their API keys (`jiesu open311 key`, and the demo's own client). A client
//! is an account that never signs in, holding a citizen's grant at the county: its reports are
//! filed like a citizen's own, at the street whose area holds them. Only a key's SHA-256 is
//! stored; the key itself is shown once.

use anyhow::{Context, bail};
use jiesu_domain::{Grant, Role};
use jiesu_store::{AdminChange, AuditEntry, NewUser, Store};
use sha2::{Digest, Sha256};

/// A client's name: what its account is called (`open311:NAME`).
pub fn check_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !ok {
        bail!("a client name is 1 to 32 of a-z, 0-9, '-' and '_'");
    }
    Ok(())
}

/// A new key: 32 random bytes, hex, with a prefix that says what it is when it turns up in a
/// log or a config file.
fn new_key() -> anyhow::Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    Ok(format!("o311_{}", hex::encode(b)))
}

/// Issues `name` a new key (creating the client the first time, shown as `display`), recorded in
/// the audit log as `audit` says; returns the key.
pub async fn issue(
    store: &Store,
    name: &str,
    display: &str,
    audit: impl FnOnce(&str) -> AuditEntry,
) -> anyhow::Result<String> {
    check_name(name)?;
    let juris = store.load_jurisdiction().await?;
    // Held at the county (not a city root above it), so the county's admins manage the client.
    let county = juris
        .org
        .intake_center()
        .cloned()
        .context("the org tree is empty: install a county first")?;
    let key = new_key()?;
    let username = format!("open311:{name}");
    let client = NewUser {
        id: format!("u-open311-{name}"),
        username: username.clone(),
        display_name: display.to_string(),
        password_hash: jiesu_store::NO_PASSWORD.into(),
        phone: None,
        grants: vec![Grant {
            role: Role::Citizen,
            unit: county,
        }],
        must_change_password: false,
    };
    let at_ms = chrono::Utc::now().timestamp_millis();
    store
        .administer(
            &AdminChange::IssueOpen311Key {
                client,
                key_hash: hex::encode(Sha256::digest(key.as_bytes())),
                at_ms,
            },
            &audit(&username),
        )
        .await?;
    Ok(key)
}
