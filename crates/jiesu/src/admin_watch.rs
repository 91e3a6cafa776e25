//! Follows administrative changes made on other nodes. Every change commits with an entry in the
//! audit log; each node reads the log past the last entry it saw, four times a second, and drops
//! the cached sessions of users who were disabled, lost a grant or had their password reset, or
//! reloads its jurisdiction after a unit, category, policy or calendar change. The node that made
//! a change applied it already; applying it again is harmless.

use std::time::Duration;

use jiesu_api::AppState;

const POLL: Duration = Duration::from_millis(250);

pub fn start(state: AppState) {
    tokio::spawn(async move {
        let mut seen = match state.store.audit_tip().await {
            Ok(id) => id,
            Err(e) => {
                tracing::error!(error = %e, "admin watch not started: other nodes' changes will not reach this one");
                return;
            }
        };
        // The jurisdiction was loaded before the tip was read: load it again, so that a change
        // committed in between is not missed (those after the tip are followed below).
        match state.store.load_jurisdiction().await {
            Ok(j) => state.set_juris(j),
            Err(e) => tracing::warn!(error = %e, "jurisdiction not reloaded at start"),
        }
        let mut every = tokio::time::interval(POLL);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match jiesu_api::admin::follow_admin_changes(&state, seen).await {
                Ok(id) => seen = id,
                Err(e) => tracing::warn!(error = ?e, "administrative changes not read; retrying"),
            }
        }
    });
}
