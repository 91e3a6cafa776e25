//! `jiesu open311 key` and the demo's own client: a key issued from the command line, through
//! the same change the console's administration makes (`jiesu_api::open311::clients`).

use anyhow::{Context, bail};
use jiesu_api::open311::clients;
use jiesu_store::{AuditEntry, Store};

/// Issues client `name` a new key (creating it the first time, shown as `display`), recorded in
/// the audit log as `audit` (given the client's username) says; returns the key.
pub async fn issue(
    store: &Store,
    name: &str,
    display: &str,
    audit: impl FnOnce(&str) -> AuditEntry,
) -> anyhow::Result<String> {
    if !clients::name_ok(name) {
        bail!("a client name is 1 to 32 of a-z, 0-9, '-' and '_'");
    }
    let juris = store.load_jurisdiction().await?;
    let key = clients::new_key().map_err(|e| anyhow::anyhow!("no system randomness: {e}"))?;
    let change = clients::issue(
        &juris.org,
        name,
        display,
        &key,
        chrono::Utc::now().timestamp_millis(),
    )
    .context("the org tree is empty: install a county first")?;
    store
        .administer(&change, &audit(&clients::account(name).1))
        .await?;
    Ok(key)
}
