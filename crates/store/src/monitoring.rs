//! Stations, readings, alarms and the ingest log.

use jiesu_monitor::Reading;
use sqlx::Row;

use crate::{Store, StoreError};

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

/// One factor's value in a sample, flattened for the readings API.
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

/// One upload as stored: a station's factors at one data time (one row, not one per factor).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleRow {
    pub mn: String,
    /// `rtd`, `min`, `hour` or `day` (HJ 212 CN 2011, 2051, 2061, 2031).
    pub kind: &'static str,
    pub at_ms: i64,
    /// PNO of a split upload, 1 when not split: the parts of a sample are stored side by side.
    pub part: i64,
    pub received_ms: i64,
    pub readings: Vec<Reading>,
}

/// The stored form of a sample's factors: `code,value,flag` joined by `;`. HJ 212 uses both
/// characters as separators, so no parsed code or flag contains them; anything else that does
/// has them replaced rather than corrupting its neighbours.
pub fn encode_readings(readings: &[Reading]) -> String {
    use std::fmt::Write;
    fn push_clean(out: &mut String, s: &str) {
        if s.contains([',', ';']) {
            out.push_str(&s.replace([',', ';'], "_"));
        } else {
            out.push_str(s);
        }
    }
    let mut out = String::with_capacity(readings.len() * 20);
    for (i, r) in readings.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        push_clean(&mut out, &r.factor);
        out.push(',');
        if let Some(v) = r.value.filter(|v| v.is_finite()) {
            // Debug is the shortest text that parses back to the same f64, with an exponent
            // for the very large and very small (Display would write 300 zeros).
            let _ = write!(out, "{v:?}");
        }
        out.push(',');
        if let Some(f) = &r.flag {
            push_clean(&mut out, f);
        }
    }
    out
}

/// Reads back [`encode_readings`]; entries that are not `code,value,flag` are skipped.
pub fn decode_readings(s: &str) -> Vec<Reading> {
    s.split(';')
        .filter_map(|item| {
            let mut it = item.splitn(3, ',');
            let factor = it.next().filter(|f| !f.is_empty())?;
            let value = it.next()?;
            let flag = it.next()?;
            Some(Reading {
                factor: factor.to_string(),
                value: value.parse::<f64>().ok().filter(|v| v.is_finite()),
                flag: (!flag.is_empty()).then(|| flag.to_string()),
            })
        })
        .collect()
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

/// Inserts samples; a sample sent again (same station, kind, data time and part) replaces the
/// stored one. Callers pass at most one row per key (PostgreSQL refuses a statement that would
/// update one row twice).
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

    /// Readings of a station, oldest first (by data time, then factor), optionally one factor
    /// and a time window; at most `limit` readings.
    pub async fn readings(
        &self,
        mn: &str,
        factor: Option<&str>,
        kind: &str,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> Result<Vec<ReadingRow>, StoreError> {
        let limit = limit.clamp(1, 100_000) as usize;
        let mut out: Vec<ReadingRow> = Vec::new();
        // Page through samples: with a factor filter, a sample may hold none of the wanted ones.
        let mut after = (from_ms.saturating_sub(1), i64::MAX);
        loop {
            let rows = sqlx::query(
                "SELECT at, part, received_at, readings FROM samples \
                 WHERE mn = $1 AND kind = $2 AND at <= $3 AND (at > $4 OR (at = $5 AND part > $6)) \
                 ORDER BY at, part LIMIT $7",
            )
            .bind(mn)
            .bind(kind)
            .bind(to_ms)
            .bind(after.0)
            .bind(after.0)
            .bind(after.1)
            .bind(limit as i64)
            .fetch_all(&self.read)
            .await?;
            let n = rows.len();
            for r in rows {
                let at_ms: i64 = r.try_get(0)?;
                let part: i64 = r.try_get(1)?;
                let received_ms: i64 = r.try_get(2)?;
                let text: String = r.try_get(3)?;
                after = (at_ms, part);
                let first = out.len();
                out.extend(
                    decode_readings(&text)
                        .into_iter()
                        .filter(|f| factor.is_none_or(|w| w == f.factor))
                        .map(|f| ReadingRow {
                            mn: mn.to_string(),
                            factor: f.factor,
                            kind: kind.to_string(),
                            at_ms,
                            value: f.value,
                            flag: f.flag,
                            received_ms,
                        }),
                );
                // Parts of a split sample share a data time: keep each time's factors in order.
                let same_time = out[..first]
                    .iter()
                    .rev()
                    .take_while(|x| x.at_ms == at_ms)
                    .count();
                out[first - same_time..].sort_by(|a, b| a.factor.cmp(&b.factor));
            }
            if out.len() >= limit || n < limit {
                break;
            }
        }
        out.truncate(limit);
        Ok(out)
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

    /// Stored samples of every station (one per upload, or per part of a split upload).
    pub async fn count_all_samples(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM samples")
            .fetch_one(&self.read)
            .await?)
    }

    /// Stored factor values of one station, over all its samples.
    pub async fn count_readings(&self, mn: &str) -> Result<i64, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT readings FROM samples WHERE mn = $1")
            .bind(mn)
            .fetch_all(&self.read)
            .await?;
        Ok(rows.iter().map(|r| decode_readings(r).len() as i64).sum())
    }

    /// Means of every factor per period (`period_ms`: 3,600,000 for hours, 86,400,000 for days)
    /// from valid real-time readings (a value, and flag N or S or none): (period start, factor,
    /// mean, count), ordered by period then factor. Periods are aligned to Beijing midnight.
    pub async fn period_means(
        &self,
        mn: &str,
        period_ms: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<(i64, String, f64, i64)>, StoreError> {
        const OFFSET: i64 = 8 * 3600 * 1000;
        let period = period_ms.max(60_000);
        let rows = sqlx::query(
            "SELECT at, readings FROM samples WHERE mn = $1 AND kind = 'rtd' AND at >= $2 AND at < $3",
        )
        .bind(mn)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.read)
        .await?;
        let mut sums: std::collections::BTreeMap<(i64, String), (f64, i64)> =
            std::collections::BTreeMap::new();
        for r in rows {
            let at: i64 = r.try_get(0)?;
            let text: String = r.try_get(1)?;
            let start = (at + OFFSET).div_euclid(period) * period - OFFSET;
            for f in decode_readings(&text) {
                let valid = matches!(f.flag.as_deref(), None | Some("N") | Some("S"));
                if let (Some(v), true) = (f.value, valid) {
                    let e = sums.entry((start, f.factor)).or_insert((0.0, 0));
                    e.0 += v;
                    e.1 += 1;
                }
            }
        }
        Ok(sums
            .into_iter()
            .map(|((p, factor), (sum, n))| (p, factor, sum / n as f64, n))
            .collect())
    }

    /// Deletes samples older than `before_ms` (retention); the case trail is never touched.
    pub async fn purge_readings(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM samples WHERE at < $1")
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

    /// Alarms of the stations whose unit lies within one of `scope_paths` (materialised unit
    /// paths; empty = none), newest first.
    pub async fn alarms(
        &self,
        scope_paths: &[String],
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<AlarmRow>, StoreError> {
        if scope_paths.is_empty() {
            return Ok(vec![]);
        }
        let within: Vec<String> = (1..=scope_paths.len())
            .map(|i| format!("u.path LIKE ${i} ESCAPE '\\'"))
            .collect();
        let sql = format!(
            "SELECT a.id, a.mn, a.problem, a.case_id, a.opened_at, a.recovered_at, a.summary \
             FROM alarms a JOIN stations s ON s.mn = a.mn JOIN units u ON u.id = s.unit_id \
             WHERE ({}){} ORDER BY a.id DESC LIMIT {}",
            within.join(" OR "),
            if open_only {
                " AND a.recovered_at IS NULL"
            } else {
                ""
            },
            limit.clamp(1, 1000)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for p in scope_paths {
            q = q.bind(crate::reads::like_prefix(p));
        }
        let rows = q.fetch_all(&self.read).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fv(factor: &str, value: Option<f64>, flag: Option<&str>) -> Reading {
        Reading {
            factor: factor.into(),
            value,
            flag: flag.map(str::to_string),
        }
    }

    #[test]
    fn stored_readings_read_back_exactly() {
        let r = vec![
            fv("w01001", Some(7.5), Some("N")),
            fv("w21003", Some(0.1 + 0.2), None),
            fv("w01009", None, Some("D")),
            fv("a34004", Some(-1e-300), Some("T")),
            fv("w01010", Some(f64::NAN), Some("N")),
        ];
        let text = encode_readings(&r);
        assert_eq!(
            text,
            "w01001,7.5,N;w21003,0.30000000000000004,;w01009,,D;a34004,-1e-300,T;w01010,,N"
        );
        let mut expected = r.clone();
        expected[4].value = None; // not a number is stored as no value
        assert_eq!(decode_readings(&text), expected);
        assert_eq!(decode_readings(""), vec![]);
    }

    #[test]
    fn separators_in_a_code_cannot_shift_its_neighbours() {
        let r = vec![
            fv("w0;1,x", Some(1.0), Some("N,;")),
            fv("w2", Some(2.0), None),
        ];
        assert_eq!(
            decode_readings(&encode_readings(&r)),
            vec![
                fv("w0_1_x", Some(1.0), Some("N__")),
                fv("w2", Some(2.0), None)
            ]
        );
    }
}
