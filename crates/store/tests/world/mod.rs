//! The domain tests' county, stored: the org tree, categories and the 2025–2026 holiday years that
//! the store tests run against.
#![allow(dead_code)]

#[path = "../../../domain/tests/common/mod.rs"]
pub mod common;

use std::sync::Arc;

use jiesu_domain::{Category, Jurisdiction, OrgUnit};
use jiesu_store::Store;

/// Stores the county (with `categories` instead of the domain tests' own, when given) and returns
/// the jurisdiction as the store reads it back.
pub async fn install(store: &Store, categories: Option<&[Category]>) -> Arc<Jurisdiction> {
    let w = common::world();
    let units: Vec<OrgUnit> = w.org.units().cloned().collect();
    store.put_units(&units, &[]).await.expect("units");
    let own: Vec<Category> = w.categories.all().cloned().collect();
    store
        .put_categories(categories.unwrap_or(&own))
        .await
        .expect("categories");
    for body in [
        include_str!("../../../../calendar/2025.toml"),
        include_str!("../../../../calendar/2026.toml"),
    ] {
        store.put_calendar_year(body).await.expect("calendar");
    }
    Arc::new(store.load_jurisdiction().await.expect("jurisdiction"))
}
