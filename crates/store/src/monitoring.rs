//! Stations, readings, alarms and the ingest log.

use sqlx::{AnyConnection, Row};

use crate::writer::values_list;
use crate::{Backend, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub struct StationRow {
    pub mn: String,
    pub name: String,
    pub st: String,
    pub password: String,
    pub crc_mode: String,
    pub unit_id: String,
    pub lon: Option<f64>,
    pub lat: Option<f64>,
    /// The monitor crate's `Station` as JSON (target class, waterbody, units, limits, interval).
    pub config: String,
    pub last_seen_ms: Option<i64>,
    pub last_class: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReadingRow {
    pub mn: String,
    pub factor: String,
    /// `rtd`, `min`, `hour` or `day` (HJ 212 CN 2011, 2051, 2061, 2031).
    pub kind: String,
    pub at_ms: i64,
    pub value: Option<f64>,
    pub flag: Option<String>,
    pub received_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRow {
    pub id: i64,
    pub mn: String,
    pub problem: String,
    pub case_id: String,
    pub opened_ms: i64,
    pub recovered_ms: Option<i64>,
    pub summary: String,
}

pub(crate) async fn insert_readings(
    conn: &mut AnyConnection,
    backend: Backend,
    rows: &[ReadingRow],
) -> Result<(), sqlx::Error> {
    for chunk in rows.chunks(128) {
        let sql = format!(
            "INSERT INTO readings (mn, factor, kind, at, value, flag, received_at) VALUES {} \
             ON CONFLICT (mn, kind, at, factor) DO UPDATE SET value = excluded.value, flag = excluded.flag, \
             received_at = excluded.received_at",
            values_list(backend, chunk.len(), 7)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(&r.mn)
                .bind(&r.factor)
                .bind(&r.kind)
                .bind(r.at_ms)
                .bind(r.value)
                .bind(r.flag.as_deref())
                .bind(r.received_ms);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

fn station_row(r: &sqlx::any::AnyRow) -> Result<StationRow, StoreError> {
    Ok(StationRow {
        mn: r.try_get(0)?,
        name: r.try_get(1)?,
        st: r.try_get(2)?,
        password: r.try_get(3)?,
        crc_mode: r.try_get(4)?,
        unit_id: r.try_get(5)?,
        lon: r.try_get(6)?,
        lat: r.try_get(7)?,
        config: r.try_get(8)?,
        last_seen_ms: r.try_get(9)?,
        last_class: r.try_get(10)?,
    })
}

const STATION_COLS: &str =
    "mn, name, st, password, crc_mode, unit_id, lon, lat, config, last_seen, last_class";

impl Store {
    /// Registers or updates a station.
    pub async fn put_station(&self, s: &StationRow, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stations (mn, name, st, password, crc_mode, unit_id, lon, lat, config, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (mn) DO UPDATE SET name = excluded.name, \
             st = excluded.st, password = excluded.password, crc_mode = excluded.crc_mode, unit_id = excluded.unit_id, \
             lon = excluded.lon, lat = excluded.lat, config = excluded.config",
        )
        .bind(&s.mn)
        .bind(&s.name)
        .bind(&s.st)
        .bind(&s.password)
        .bind(&s.crc_mode)
        .bind(&s.unit_id)
        .bind(s.lon)
        .bind(s.lat)
        .bind(&s.config)
        .bind(now_ms)
        .execute(&self.read)
        .await?;
        Ok(())
    }

    pub async fn stations(&self) -> Result<Vec<StationRow>, StoreError> {
        let sql = format!("SELECT {STATION_COLS} FROM stations ORDER BY mn");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(station_row).collect()
    }

    pub async fn station(&self, mn: &str) -> Result<Option<StationRow>, StoreError> {
        let sql = format!("SELECT {STATION_COLS} FROM stations WHERE mn = $1");
        let r = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(mn)
            .fetch_optional(&self.read)
            .await?;
        r.as_ref().map(station_row).transpose()
    }

    /// Readings of a station, oldest first, optionally one factor and a time window.
    pub async fn readings(
        &self,
        mn: &str,
        factor: Option<&str>,
        kind: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<ReadingRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT mn, factor, kind, at, value, flag, received_at FROM readings \
             WHERE mn = $1 AND kind = $2 AND at >= $3 AND at <= $4 AND ($5 = '' OR factor = $6) \
             ORDER BY at, factor LIMIT $7",
        )
        .bind(mn)
        .bind(kind)
        .bind(from_ms)
        .bind(to_ms)
        .bind(factor.unwrap_or(""))
        .bind(factor.unwrap_or(""))
        .bind(i64::from(limit.clamp(1, 100_000)))
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ReadingRow {
                    mn: r.try_get(0)?,
                    factor: r.try_get(1)?,
                    kind: r.try_get(2)?,
                    at_ms: r.try_get(3)?,
                    value: r.try_get(4)?,
                    flag: r.try_get(5)?,
                    received_ms: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Each station's last contact and latest class (status, not data: flushed periodically).
    pub async fn update_station_status(
        &self,
        seen: &[(String, i64, Option<String>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.read.begin().await?;
        for (mn, at, class) in seen {
            sqlx::query(
                "UPDATE stations SET last_seen = $2, last_class = COALESCE($3, last_class) \
                 WHERE mn = $1 AND (last_seen IS NULL OR last_seen <= $2)",
            )
            .bind(mn)
            .bind(*at)
            .bind(class.as_deref())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn count_all_readings(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM readings")
            .fetch_one(&self.read)
            .await?)
    }

    pub async fn count_readings(&self, mn: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM readings WHERE mn = $1")
                .bind(mn)
                .fetch_one(&self.read)
                .await?,
        )
    }

    /// Means of every factor per period (`period_ms`: 3,600,000 for hours, 86,400,000 for days)
    /// from valid real-time readings: (period start, factor, mean, count). Periods are aligned
    /// to Beijing midnight (`offset_ms` = 8 h).
    pub async fn period_means(
        &self,
        mn: &str,
        period_ms: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, String, f64, i64)>, StoreError> {
        const OFFSET: i64 = 8 * 3600 * 1000;
        let rows = sqlx::query(
            "SELECT ((at + $1) / $2) * $2 - $1 AS p, factor, AVG(value), COUNT(value) FROM readings \
             WHERE mn = $3 AND kind = 'rtd' AND at >= $4 AND at < $5 \
             AND value IS NOT NULL AND (flag IS NULL OR flag IN ('N', 'S')) \
             GROUP BY ((at + $1) / $2) * $2 - $1, factor ORDER BY p, factor",
        )
        .bind(OFFSET)
        .bind(period_ms.max(60_000))
        .bind(mn)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.read)
        .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }

    /// Deletes readings older than `before_ms` (retention); the case trail is never touched.
    pub async fn purge_readings(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM readings WHERE at < $1")
            .bind(before_ms)
            .execute(&self.read)
            .await?
            .rows_affected())
    }

    pub async fn open_alarm(
        &self,
        mn: &str,
        problem: &str,
    ) -> Result<Option<AlarmRow>, StoreError> {
        let r = sqlx::query(
            "SELECT id, mn, problem, case_id, opened_at, recovered_at, summary FROM alarms \
             WHERE mn = $1 AND problem = $2 AND recovered_at IS NULL",
        )
        .bind(mn)
        .bind(problem)
        .fetch_optional(&self.read)
        .await?;
        r.as_ref().map(alarm_row).transpose()
    }

    pub async fn record_alarm(
        &self,
        mn: &str,
        problem: &str,
        case_id: &str,
        at_ms: i64,
        summary: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alarms (mn, problem, case_id, opened_at, summary) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(mn)
        .bind(problem)
        .bind(case_id)
        .bind(at_ms)
        .bind(summary)
        .execute(&self.read)
        .await?;
        Ok(())
    }

    pub async fn close_alarm(&self, mn: &str, problem: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE alarms SET recovered_at = $3 WHERE mn = $1 AND problem = $2 AND recovered_at IS NULL",
        )
        .bind(mn)
        .bind(problem)
        .bind(at_ms)
        .execute(&self.read)
        .await?;
        Ok(())
    }

    /// Every open alarm (at most one per station and problem, so bounded by the register).
    pub async fn open_alarms(&self) -> Result<Vec<AlarmRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, mn, problem, case_id, opened_at, recovered_at, summary FROM alarms \
             WHERE recovered_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(alarm_row).collect()
    }

    pub async fn alarms(&self, open_only: bool, limit: u32) -> Result<Vec<AlarmRow>, StoreError> {
        let sql = if open_only {
            "SELECT id, mn, problem, case_id, opened_at, recovered_at, summary FROM alarms WHERE recovered_at IS NULL ORDER BY id DESC LIMIT $1"
        } else {
            "SELECT id, mn, problem, case_id, opened_at, recovered_at, summary FROM alarms ORDER BY id DESC LIMIT $1"
        };
        let rows = sqlx::query(sql)
            .bind(i64::from(limit.clamp(1, 1000)))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(alarm_row).collect()
    }

    pub async fn log_ingest(
        &self,
        at_ms: i64,
        peer: &str,
        mn: Option<&str>,
        outcome: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ingest_log (at, peer, mn, outcome, detail) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(at_ms)
        .bind(peer)
        .bind(mn)
        .bind(outcome)
        .bind(detail)
        .execute(&self.read)
        .await?;
        Ok(())
    }

    /// Refusals logged for a station (or for unknown stations when `mn` is None).
    pub async fn ingest_refusals(&self, mn: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT outcome, detail FROM ingest_log WHERE mn = $1 ORDER BY id")
            .bind(mn)
            .fetch_all(&self.read)
            .await?;
        rows.into_iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }
}

fn alarm_row(r: &sqlx::any::AnyRow) -> Result<AlarmRow, StoreError> {
    Ok(AlarmRow {
        id: r.try_get(0)?,
        mn: r.try_get(1)?,
        problem: r.try_get(2)?,
        case_id: r.try_get(3)?,
        opened_ms: r.try_get(4)?,
        recovered_ms: r.try_get(5)?,
        summary: r.try_get(6)?,
    })
}
