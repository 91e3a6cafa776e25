//! When a year's holiday schedule changes (the State Council's notice imported over a provisional
//! year), every open case whose deadlines were counted on the provisional schedule gets them
//! recomputed, with a `deadlines_recomputed` event that says why they moved.

use std::sync::Arc;

use chrono::NaiveDate;
use jiesu_domain::{CaseEvent, Jurisdiction, Time, calendar};
use sqlx::Row;

use crate::{Store, StoreError};

/// How often a case that keeps changing under us is tried again before it is left for next time.
const ATTEMPTS: usize = 5;

impl Store {
    /// A case's trail as domain events with their times.
    pub async fn trail(&self, case_id: &str) -> Result<Vec<(CaseEvent, Time)>, StoreError> {
        let rows = sqlx::query("SELECT at, data FROM case_events WHERE case_id = $1 ORDER BY seq")
            .bind(case_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                let at: i64 = r.try_get(0)?;
                let data: String = r.try_get(1)?;
                let ev: CaseEvent = serde_json::from_str(&data)
                    .map_err(|e| StoreError::Corrupt(format!("event data: {e}")))?;
                let at = calendar::from_unix_ms(at)
                    .ok_or_else(|| StoreError::Corrupt(format!("event time {at}")))?;
                Ok((ev, at))
            })
            .collect()
    }

    /// Recomputes the deadlines of open cases that reach into `year` on `juris`'s calendar (which
    /// must already hold the new schedule). Returns how many cases' deadlines moved.
    pub async fn recalendar(
        &self,
        juris: Arc<Jurisdiction>,
        year: i32,
        now: Time,
    ) -> Result<usize, StoreError> {
        let from = NaiveDate::from_ymd_opt(year, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc().timestamp_millis() - 8 * 3_600_000)
            .ok_or_else(|| StoreError::Corrupt(format!("year {year}")))?;
        // Deadlines that reach into the year; the domain decides which of them were provisional.
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM cases WHERE is_open = 1 AND resolve_due >= $1 ORDER BY id",
        )
        .bind(from)
        .fetch_all(&self.read)
        .await?;
        let source = juris
            .calendar
            .years()
            .find(|(y, _)| *y == year)
            .map(|(_, s)| s.to_string())
            .unwrap_or_default();
        let reason = format!(
            "{year}年节假日安排已更新（{source}），按新安排重新计算办理时限 \
             (the {year} holiday schedule changed; deadlines recomputed)"
        );
        let mut moved = 0;
        for id in ids {
            for attempt in 1..=ATTEMPTS {
                let Some(case) = self.get_case(&id).await? else {
                    break;
                };
                let trail = self.trail(&case.id).await?;
                let refs: Vec<(&CaseEvent, Time)> = trail.iter().map(|(e, t)| (e, *t)).collect();
                let event = match case.recalendar(&refs, &reason, &juris.ctx()) {
                    Ok(Some(ev)) => ev,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(case = %case.number, error = %e, "deadlines not recomputed");
                        break;
                    }
                };
                match self
                    .system_event(juris.clone(), &case.id, case.version, event, now)
                    .await
                {
                    Ok(_) => {
                        moved += 1;
                        break;
                    }
                    Err(StoreError::Stale) if attempt < ATTEMPTS => continue,
                    Err(e) => return Err(e),
                }
            }
        }
        if moved > 0 {
            tracing::info!(
                year,
                moved,
                "deadlines recomputed on the new holiday schedule"
            );
        }
        Ok(moved)
    }
}
