//! Report periods: an ISO week (`2026-W45`), a month (`2026-10`) or a quarter (`2026-Q3`), in
//! Beijing days. (The assessment API parses its own periods; the two parsers are to be unified.)

use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Weekday};
use jiesu_domain::Time;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Week,
    Month,
    Quarter,
}

/// Days `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub kind: PeriodKind,
    pub year: i32,
    /// The ISO week (1–53), month (1–12) or quarter (1–4).
    pub n: u32,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a period of this report: use {1}")]
pub struct PeriodError(pub String, pub &'static str);

fn month_start(year: i32, month: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, 1)
}

impl Period {
    pub fn week(year: i32, week: u32) -> Option<Period> {
        let start = NaiveDate::from_isoywd_opt(year, week, Weekday::Mon)?;
        Some(Period {
            kind: PeriodKind::Week,
            year,
            n: week,
            start,
            end: start + chrono::Duration::days(7),
        })
    }

    pub fn month(year: i32, month: u32) -> Option<Period> {
        let start = month_start(year, month)?;
        let end = if month == 12 {
            month_start(year + 1, 1)?
        } else {
            month_start(year, month + 1)?
        };
        Some(Period {
            kind: PeriodKind::Month,
            year,
            n: month,
            start,
            end,
        })
    }

    pub fn quarter(year: i32, q: u32) -> Option<Period> {
        if !(1..=4).contains(&q) {
            return None;
        }
        let start = month_start(year, q * 3 - 2)?;
        let end = if q == 4 {
            month_start(year + 1, 1)?
        } else {
            month_start(year, q * 3 + 1)?
        };
        Some(Period {
            kind: PeriodKind::Quarter,
            year,
            n: q,
            start,
            end,
        })
    }

    /// Parses a period of `kind`: `2026-W45`, `2026-10`, `2026-Q3`.
    pub fn parse(kind: PeriodKind, s: &str) -> Result<Period, PeriodError> {
        let form = match kind {
            PeriodKind::Week => "YYYY-Www, e.g. 2026-W45",
            PeriodKind::Month => "YYYY-MM, e.g. 2026-10",
            PeriodKind::Quarter => "YYYY-Qn, e.g. 2026-Q3",
        };
        let bad = || PeriodError(s.to_string(), form);
        let (y, rest) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || !y.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let digits = |t: &str, len: usize| -> Option<u32> {
            (t.len() == len && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let p = match kind {
            PeriodKind::Week => rest
                .strip_prefix('W')
                .and_then(|w| digits(w, 2))
                .and_then(|w| Period::week(year, w))
                // A week 53 that the year does not have rolls into the next year: refuse it.
                .filter(|p| p.start.iso_week().year() == year),
            PeriodKind::Month => digits(rest, 2).and_then(|m| Period::month(year, m)),
            PeriodKind::Quarter => rest
                .strip_prefix('Q')
                .and_then(|q| digits(q, 1))
                .and_then(|q| Period::quarter(year, q)),
        };
        p.ok_or_else(bad)
    }

    /// The period's name as the API takes it: `2026-W45`, `2026-10`, `2026-Q3`.
    pub fn label(&self) -> String {
        match self.kind {
            PeriodKind::Week => format!("{}-W{:02}", self.year, self.n),
            PeriodKind::Month => format!("{}-{:02}", self.year, self.n),
            PeriodKind::Quarter => format!("{}-Q{}", self.year, self.n),
        }
    }

    /// In Chinese: `2026年第45周`, `2026年10月`, `2026年第三季度`.
    pub fn label_zh(&self) -> String {
        match self.kind {
            PeriodKind::Week => format!("{}年第{}周", self.year, self.n),
            PeriodKind::Month => format!("{}年{}月", self.year, self.n),
            PeriodKind::Quarter => {
                let q = ["一", "二", "三", "四"][(self.n as usize).clamp(1, 4) - 1];
                format!("{}年第{q}季度", self.year)
            }
        }
    }

    /// The period before (環比): the previous week, month or quarter.
    pub fn previous(&self) -> Option<Period> {
        match self.kind {
            PeriodKind::Week => {
                let d = (self.start - chrono::Duration::days(7)).iso_week();
                Period::week(d.year(), d.week())
            }
            PeriodKind::Month if self.n == 1 => Period::month(self.year - 1, 12),
            PeriodKind::Month => Period::month(self.year, self.n - 1),
            PeriodKind::Quarter if self.n == 1 => Period::quarter(self.year - 1, 4),
            PeriodKind::Quarter => Period::quarter(self.year, self.n - 1),
        }
    }

    /// The same period a year earlier (同比).
    pub fn year_ago(&self) -> Option<Period> {
        match self.kind {
            PeriodKind::Week => Period::week(self.year - 1, self.n.min(52)),
            PeriodKind::Month => Period::month(self.year - 1, self.n),
            PeriodKind::Quarter => Period::quarter(self.year - 1, self.n),
        }
    }

    /// The first moment of the period, Beijing time.
    pub fn from(&self) -> Time {
        beijing_midnight(self.start)
    }

    /// The first moment after the period, Beijing time.
    pub fn to(&self) -> Time {
        beijing_midnight(self.end)
    }

    /// The last day of the period.
    pub fn last_day(&self) -> NaiveDate {
        self.end.pred_opt().unwrap_or(self.end)
    }
}

pub(crate) fn beijing_midnight(d: NaiveDate) -> Time {
    let east8 = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    east8.from_utc_datetime(&(d.and_time(chrono::NaiveTime::MIN) - chrono::Duration::hours(8)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms_and_their_neighbours() {
        let w = Period::parse(PeriodKind::Week, "2026-W45").unwrap();
        assert_eq!(w.start, NaiveDate::from_ymd_opt(2026, 11, 2).unwrap());
        assert_eq!(w.end, NaiveDate::from_ymd_opt(2026, 11, 9).unwrap());
        assert_eq!(w.previous().unwrap().label(), "2026-W44");
        assert_eq!(
            Period::parse(PeriodKind::Week, "2026-W01")
                .unwrap()
                .previous()
                .unwrap()
                .label(),
            "2025-W52"
        );
        let m = Period::parse(PeriodKind::Month, "2026-10").unwrap();
        assert_eq!(
            (m.start.to_string(), m.end.to_string()),
            ("2026-10-01".into(), "2026-11-01".into())
        );
        assert_eq!(m.previous().unwrap().label(), "2026-09");
        assert_eq!(m.year_ago().unwrap().label(), "2025-10");
        assert_eq!(m.label_zh(), "2026年10月");
        assert_eq!(m.from().to_rfc3339(), "2026-10-01T00:00:00+08:00");
        let q = Period::parse(PeriodKind::Quarter, "2026-Q3").unwrap();
        assert_eq!(
            (q.start.to_string(), q.end.to_string()),
            ("2026-07-01".into(), "2026-10-01".into())
        );
        assert_eq!(q.label_zh(), "2026年第三季度");
        assert_eq!(
            Period::parse(PeriodKind::Quarter, "2026-Q1")
                .unwrap()
                .previous()
                .unwrap()
                .label(),
            "2025-Q4"
        );
        assert_eq!(
            Period::parse(PeriodKind::Month, "2026-12")
                .unwrap()
                .end
                .to_string(),
            "2027-01-01"
        );
    }

    #[test]
    fn refuses_what_is_not_a_period_of_its_kind() {
        for (kind, s) in [
            (PeriodKind::Month, "2026-13"),
            (PeriodKind::Month, "2026-1"),
            (PeriodKind::Month, "2026-10-01"),
            (PeriodKind::Month, "2026-W45"),
            (PeriodKind::Month, "october"),
            (PeriodKind::Month, ""),
            (PeriodKind::Week, "2026-W54"),
            // 2026 has 53 ISO weeks, 2025 has 52.
            (PeriodKind::Week, "2025-W53"),
            (PeriodKind::Week, "2026-45"),
            (PeriodKind::Quarter, "2026-Q5"),
            (PeriodKind::Quarter, "2026-Q0"),
            (PeriodKind::Quarter, "+026-Q1"),
        ] {
            assert!(Period::parse(kind, s).is_err(), "{kind:?} {s}");
        }
        assert!(Period::parse(PeriodKind::Week, "2026-W53").is_ok());
    }
}
