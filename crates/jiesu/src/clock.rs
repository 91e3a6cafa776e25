//! The deadline clock: fires warnings, missed deadlines and the cards they earn, as events on the
//! case, within a second of the due moment.
//!
//! Nothing is kept in memory but the lease: each case's next firing moment is a column of its
//! projection (`next_fire`, computed by the domain whenever the case is written), so the clock asks
//! an index what is due every [`TICK`], a restart loses nothing (whatever fell due while no node
//! ran fires at once; the event carries its due moment), and a million pending deadlines cost the
//! clock no memory at all.
//!
//! Several nodes may serve one database: only the holder of the `clock` lease fires; the others
//! try to take the lease every [`TICK`] and succeed once it has expired ([`LEASE_TTL`]). Should two
//! nodes ever fire the same case at once, the writer accepts only the first (the second was
//! computed on an older version, is refused as stale and finds nothing left to fire).

use std::sync::Arc;
use std::time::Duration;

use jiesu_api::AppState;
use jiesu_domain::supervision::{self, same_month};
use jiesu_domain::{Jurisdiction, Time, UnitId};
use jiesu_store::{Store, StoreError};

pub const TICK: Duration = Duration::from_millis(200);
pub const LEASE_TTL: Duration = Duration::from_secs(5);
const LEASE: &str = "clock";
const BATCH: u32 = 500;

/// `at`'s calendar month (Beijing days).
fn month_of(at: Time) -> jiesu_domain::assessment::Period {
    use chrono::{Datelike, NaiveDate};
    let d = jiesu_domain::calendar::to_beijing(at).date_naive();
    let first = NaiveDate::from_ymd_opt(d.year(), d.month(), 1).unwrap_or(d);
    let last = first
        .checked_add_months(chrono::Months::new(1))
        .and_then(|n| n.pred_opt())
        .unwrap_or(d);
    jiesu_domain::assessment::Period {
        from: first,
        to: last,
    }
}

/// Fires whatever is due on one case at `now`. Returns how many events were written.
pub async fn fire(
    store: &Store,
    juris: &Arc<Jurisdiction>,
    case_id: &str,
    now: Time,
) -> Result<usize, StoreError> {
    for _ in 0..5 {
        let Some(case) = store.get_case(case_id).await? else {
            return Ok(0);
        };
        // A yellow card may tip its unit over the month's limit: count the unit's yellows then.
        let mut counts: Vec<(UnitId, Time, u32)> = Vec::new();
        let probe = supervision::due_events(&case, now, &juris.ctx(), &|_, _| 0);
        for ev in &probe {
            if let jiesu_domain::CaseEvent::YellowCard { card } = ev
                && !counts
                    .iter()
                    .any(|(u, t, _)| *u == card.unit && same_month(*t, card.issued_at))
            {
                let n = store
                    .unit_metric(
                        card.unit.as_str(),
                        &month_of(card.issued_at),
                        jiesu_domain::assessment::Metric::YellowCards,
                    )
                    .await?;
                counts.push((card.unit.clone(), card.issued_at, n.max(0) as u32));
            }
        }
        let events = supervision::due_events(&case, now, &juris.ctx(), &|u, at| {
            counts
                .iter()
                .find(|(cu, t, _)| cu == u && same_month(*t, at))
                .map_or(0, |c| c.2)
        });
        let n = events.len();
        // Nothing due (the case moved on since its row was read): the write only refreshes its
        // next firing moment.
        match store
            .system_events(juris.clone(), &case.id, case.version, events, now)
            .await
        {
            Ok(_) => return Ok(n),
            Err(StoreError::Stale) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(0)
}

/// One pass: everything due now. Returns the number of events written.
pub async fn tick(
    store: &Store,
    juris: &Arc<Jurisdiction>,
    now: Time,
) -> Result<usize, StoreError> {
    let mut fired = 0;
    loop {
        let due = store.due_cases(now.timestamp_millis(), BATCH).await?;
        let n = due.len();
        for id in due {
            fired += fire(store, juris, &id, now).await?;
        }
        if n < BATCH as usize {
            return Ok(fired);
        }
    }
}

/// Computes `next_fire` for cases written before the clock existed (once per database).
pub async fn backfill(
    store: &Store,
    juris: &Arc<Jurisdiction>,
    now: Time,
) -> Result<usize, StoreError> {
    let mut done = 0;
    loop {
        let ids = store.clock_backfill_candidates(BATCH).await?;
        if ids.is_empty() {
            store.mark_clock_backfilled().await?;
            return Ok(done);
        }
        for id in &ids {
            let Some(case) = store.get_case(id).await? else {
                continue;
            };
            match store
                .system_events(juris.clone(), &case.id, case.version, vec![], now)
                .await
            {
                Ok(c) if supervision::next_fire(&c, &juris.ctx()).is_none() => {
                    // Nothing will ever fire on it; leave it out of the next pass.
                    done += 1;
                }
                Ok(_) | Err(StoreError::Stale) => done += 1,
                Err(e) => return Err(e),
            }
        }
        if ids.len() < BATCH as usize {
            store.mark_clock_backfilled().await?;
            return Ok(done);
        }
    }
}

/// Runs the clock on this node until the process ends. `node` names it in the lease.
pub fn start(state: AppState, node: String) {
    tokio::spawn(async move {
        let store = state.store.clone();
        let mut leader = false;
        let mut backfilled = false;
        let mut every = tokio::time::interval(TICK);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = state.now();
            let now_ms = now.timestamp_millis();
            match store
                .try_lease(LEASE, &node, now_ms, LEASE_TTL.as_millis() as i64)
                .await
            {
                Ok(held) => {
                    if held && !leader {
                        tracing::info!(node = %node, "this node runs the deadline clock");
                    }
                    leader = held;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "clock lease not checked");
                    leader = false;
                }
            }
            if !leader {
                continue;
            }
            let juris = state.juris();
            if !backfilled {
                match backfill(&store, &juris, now).await {
                    Ok(n) => {
                        if n > 0 {
                            tracing::info!(cases = n, "clock: deadlines of older cases indexed");
                        }
                        backfilled = true;
                    }
                    Err(e) => tracing::warn!(error = %e, "clock backfill failed; retrying"),
                }
            }
            match tick(&store, &juris, now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(events = n, "clock fired"),
                Err(e) => tracing::warn!(error = %e, "clock tick failed"),
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_its_beijing_days() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-10-31T23:30:00+08:00").unwrap();
        let m = month_of(t);
        assert_eq!(
            (m.from.to_string(), m.to.to_string()),
            ("2026-10-01".into(), "2026-10-31".into())
        );
        let t = chrono::DateTime::parse_from_rfc3339("2026-02-01T00:10:00+08:00").unwrap();
        assert_eq!(month_of(t).to.to_string(), "2026-02-28");
    }
}
