//! Keeps a running server's holiday schedule current. `jiesu calendar import` (from any node, or
//! a second process beside it) writes the year to the database; each node notices within a
//! minute, swaps the calendar its commands are checked against, and recomputes the provisional
//! deadlines the new year moves. Recomputing is idempotent across nodes: a case's deadlines are
//! recomputed at most once per change, because the write is refused when the case moved on
//! (`Stale`) and a recomputed case is no longer provisional.
//!
//! It also says, at start and then daily, when a year's notice is missing (see
//! `WorkCalendar::schedule_warnings`); `/healthz` carries the same warnings.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use jiesu_api::AppState;

const POLL: Duration = Duration::from_secs(60);
const WARN_EVERY: Duration = Duration::from_secs(24 * 3600);

fn log_warnings(state: &AppState) {
    let today = state.now().date_naive();
    for w in state.juris().calendar.schedule_warnings(today) {
        tracing::warn!(code = w.code(), "{} / {}", w.message_zh(), w.message_en());
    }
}

/// Years whose schedule differs between two snapshots of `calendar_years`.
fn changed_years(old: &BTreeMap<i64, String>, new: &BTreeMap<i64, String>) -> Vec<i32> {
    new.iter()
        .filter(|(y, body)| old.get(y) != Some(body))
        .filter_map(|(y, _)| i32::try_from(*y).ok())
        .collect()
}

pub fn start(state: AppState) {
    tokio::spawn(async move {
        log_warnings(&state);
        let mut last_warned = std::time::Instant::now();
        let mut seen = match state.store.calendar_bodies().await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "calendar watch not started");
                return;
            }
        };
        let mut every = tokio::time::interval(POLL);
        every.tick().await;
        loop {
            every.tick().await;
            if last_warned.elapsed() >= WARN_EVERY {
                log_warnings(&state);
                last_warned = std::time::Instant::now();
            }
            let now_bodies = match state.store.calendar_bodies().await {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(error = %e, "calendar not checked");
                    continue;
                }
            };
            let years = changed_years(&seen, &now_bodies);
            if years.is_empty() {
                continue;
            }
            match state.store.load_jurisdiction().await {
                Ok(j) => state.set_juris(j),
                Err(e) => {
                    tracing::warn!(error = %e, "new calendar not loaded");
                    continue;
                }
            }
            tracing::info!(?years, "holiday schedule changed; calendar reloaded");
            let juris: Arc<_> = state.juris();
            for y in years {
                if let Err(e) = state.store.recalendar(juris.clone(), y, state.now()).await {
                    tracing::warn!(year = y, error = %e, "deadlines not recomputed");
                }
            }
            seen = now_bodies;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replaced_or_new_year_is_a_change() {
        let old = BTreeMap::from([(2026, "a".to_string())]);
        let new = BTreeMap::from([(2026, "a".to_string()), (2027, "b".to_string())]);
        assert_eq!(changed_years(&old, &new), vec![2027]);
        let new = BTreeMap::from([(2026, "c".to_string())]);
        assert_eq!(changed_years(&old, &new), vec![2026]);
        assert!(changed_years(&old, &old).is_empty());
    }
}
