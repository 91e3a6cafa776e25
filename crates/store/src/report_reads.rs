//! The reads behind the weekly, monthly and quarterly reports (crates/reports): volumes grouped
//! over the `cases` projection, open cases near or past their resolve deadline, and the cards and
//! supervisions of a period from the trail. Units' assessment counters come from the incremental
//! aggregates (`assessment.rs`).

use jiesu_domain::case::GeoPoint;
use jiesu_domain::{Case, CaseEvent, Time, calendar};
use serde::Deserialize;
use sqlx::Row;

use crate::{Store, StoreError};

/// Cases received in a period, counted per channel, category and holding unit.
#[derive(Debug, Clone, PartialEq)]
pub struct VolumeRow {
    pub channel: String,
    pub category: Option<String>,
    pub assigned_unit: Option<String>,
    pub count: i64,
}

/// Where a case of the period is: its location when it has one, and the path of the unit holding
/// it (the intake unit before dispatch).
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceRow {
    pub location: Option<GeoPoint>,
    pub scope_path: String,
    pub category: Option<String>,
}

/// An open case with a resolve deadline (no title, no reporter: reports carry no personal data).
#[derive(Debug, Clone, PartialEq)]
pub struct DueRow {
    pub number: String,
    pub state: String,
    pub assigned_unit: Option<String>,
    pub category: Option<String>,
    pub resolve_due: Time,
}

/// A card, revocation or supervision written in a period, with the case it is on.
#[derive(Debug, Clone)]
pub struct SupervisionEventRow {
    pub number: String,
    pub at: Time,
    pub event: CaseEvent,
    /// The case as it is now (a revocation names its card by id; the card is on the case).
    pub case: Case,
}

#[derive(Deserialize)]
struct DocPlace {
    draft: DraftPlace,
}

#[derive(Deserialize)]
struct DraftPlace {
    #[serde(default)]
    location: Option<GeoPoint>,
}

fn time(ms: i64) -> Result<Time, StoreError> {
    calendar::from_unix_ms(ms).ok_or_else(|| StoreError::Corrupt(format!("time {ms}")))
}

fn event(data: &str) -> Result<CaseEvent, StoreError> {
    serde_json::from_str(data).map_err(|e| StoreError::Corrupt(format!("event data: {e}")))
}

impl Store {
    /// Cases received in `[from, to)`, grouped by channel, category and holding unit.
    pub async fn case_volumes(&self, from: Time, to: Time) -> Result<Vec<VolumeRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT channel, category_id, assigned_unit, COUNT(*) FROM cases \
             WHERE created_at >= $1 AND created_at < $2 \
             GROUP BY channel, category_id, assigned_unit",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(VolumeRow {
                    channel: r.try_get(0)?,
                    category: r.try_get(1)?,
                    assigned_unit: r.try_get(2)?,
                    count: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The place of every case received in `[from, to)`. Reads each case's document for its
    /// location (only the location is parsed).
    pub async fn case_places(&self, from: Time, to: Time) -> Result<Vec<PlaceRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT scope_path, category_id, doc FROM cases \
             WHERE created_at >= $1 AND created_at < $2",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let doc: String = r.try_get(2)?;
                let d: DocPlace = serde_json::from_str(&doc)
                    .map_err(|e| StoreError::Corrupt(format!("case document: {e}")))?;
                Ok(PlaceRow {
                    location: d.draft.location,
                    scope_path: r.try_get(0)?,
                    category: r.try_get(1)?,
                })
            })
            .collect()
    }

    /// Open cases (suspended ones excepted: their clock stands still) whose resolve deadline is
    /// at or before `until`, the soonest first.
    pub async fn open_cases_due_by(&self, until: Time) -> Result<Vec<DueRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT number, state, assigned_unit, category_id, resolve_due FROM cases \
             WHERE is_open = 1 AND state <> 'suspended' AND resolve_due IS NOT NULL \
             AND resolve_due <= $1 ORDER BY resolve_due, number",
        )
        .bind(until.timestamp_millis())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(DueRow {
                    number: r.try_get(0)?,
                    state: r.try_get(1)?,
                    assigned_unit: r.try_get(2)?,
                    category: r.try_get(3)?,
                    resolve_due: time(r.try_get(4)?)?,
                })
            })
            .collect()
    }

    /// Yellow and red cards, revocations and supervisions written in `[from, to)`, in log order.
    pub async fn supervision_events(
        &self,
        from: Time,
        to: Time,
    ) -> Result<Vec<SupervisionEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.number, e.at, e.data, c.doc FROM case_events e \
             JOIN cases c ON c.id = e.case_id \
             WHERE e.at >= $1 AND e.at < $2 \
             AND e.type IN ('yellow_card', 'red_card', 'card_revoked', 'supervised') \
             ORDER BY e.global_seq",
        )
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                let data: String = r.try_get(2)?;
                let doc: String = r.try_get(3)?;
                Ok(SupervisionEventRow {
                    number: r.try_get(0)?,
                    at: time(r.try_get(1)?)?,
                    event: event(&data)?,
                    case: serde_json::from_str(&doc)
                        .map_err(|e| StoreError::Corrupt(format!("case document: {e}")))?,
                })
            })
            .collect()
    }
}
