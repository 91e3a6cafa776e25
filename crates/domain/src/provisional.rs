//! A provisional holiday schedule for a year whose State Council notice is not yet installed.
//!
//! The notice for a year usually appears in November, sometimes later, but a county cannot stop
//! dispatching cases in December because a 15-working-day deadline reaches into January. So a
//! year without a notice gets the schedule the national rules alone give: 《全国年节及纪念日放假办法》
//! as revised in 2024 (in force since 2025-01-01). Those rules fix the statutory days only; the
//! notice later adds bridge days and make-up workdays (调休), which cannot be predicted. Every
//! deadline computed on such a year is marked provisional and recomputed when the notice is
//! imported.
//!
//! Statutory days (2024 revision): 元旦 1 day (1 January); 春节 4 days from 除夕 (New Year's Eve of
//! the lunar calendar) to 正月初三; 清明 1 day (the day of the solar term); 劳动节 2 days (1–2 May);
//! 端午 1 day (5th of the 5th lunar month); 中秋 1 day (15th of the 8th lunar month); 国庆 3 days
//! (1–3 October). Weekends rest as usual.

use chinese_lunisolar_calendar::LunisolarDate;
use chrono::{Datelike, Duration, NaiveDate};

use crate::calendar::{CalendarError, CalendarYear, DayKind, SpecialDay};

/// The first year the 2024 revision governs; earlier years had other rules and need their notice.
pub const FIRST_RULE_YEAR: i32 = 2025;
/// The last year the lunar tables cover.
pub const LAST_LUNAR_YEAR: i32 = 2100;

pub const PROVISIONAL_SOURCE: &str = "临时推算：依据《全国年节及纪念日放假办法》(2024年修订) 的法定假日，未含调休；待国务院办公厅通知发布后导入 (provisional: statutory days only, no make-up workdays)";

fn lunar(year: i32, month: u8, day: u8) -> Result<NaiveDate, CalendarError> {
    let y = u16::try_from(year).map_err(|_| CalendarError::YearNotCovered(year))?;
    LunisolarDate::from_ymd(y, month, false, day)
        .map(|d| d.to_naive_date())
        .map_err(|_| CalendarError::YearNotCovered(year))
}

/// The day of the 清明 solar term (the sun at 15° ecliptic longitude), by the standard
/// approximation for 2001–2099: `floor(Y·0.2422 + 4.81) − floor(Y/4)` April, Y = year − 2000.
/// Checked against the published dates 2019–2035 in the tests.
pub fn qingming(year: i32) -> Result<NaiveDate, CalendarError> {
    if !(2001..=2099).contains(&year) {
        return Err(CalendarError::YearNotCovered(year));
    }
    let y = f64::from(year - 2000);
    let day = (y * 0.2422 + 4.81).floor() as u32 - (year - 2000) as u32 / 4;
    NaiveDate::from_ymd_opt(year, 4, day).ok_or(CalendarError::YearNotCovered(year))
}

/// 除夕: the day before 正月初一 of the lunar year that begins in `year`.
pub fn chinese_new_years_eve(year: i32) -> Result<NaiveDate, CalendarError> {
    let first = lunar(year, 1, 1)?;
    first.pred_opt().ok_or(CalendarError::YearNotCovered(year))
}

pub fn dragon_boat(year: i32) -> Result<NaiveDate, CalendarError> {
    lunar(year, 5, 5)
}

pub fn mid_autumn(year: i32) -> Result<NaiveDate, CalendarError> {
    lunar(year, 8, 15)
}

/// The statutory rest days of `year` under the 2024 rules, as a year's schedule marked provisional.
pub fn provisional_year(year: i32) -> Result<CalendarYear, CalendarError> {
    if !(FIRST_RULE_YEAR..=LAST_LUNAR_YEAR.min(2099)).contains(&year) {
        return Err(CalendarError::YearNotCovered(year));
    }
    let d =
        |m, day| NaiveDate::from_ymd_opt(year, m, day).ok_or(CalendarError::YearNotCovered(year));
    let eve = chinese_new_years_eve(year)?;
    let periods: Vec<(&str, &str, Vec<NaiveDate>)> = vec![
        ("元旦", "New Year's Day", vec![d(1, 1)?]),
        (
            "春节",
            "Spring Festival",
            (0..4).map(|i| eve + Duration::days(i)).collect(),
        ),
        ("清明节", "Qingming Festival", vec![qingming(year)?]),
        ("劳动节", "Labour Day", vec![d(5, 1)?, d(5, 2)?]),
        ("端午节", "Dragon Boat Festival", vec![dragon_boat(year)?]),
        ("中秋节", "Mid-Autumn Festival", vec![mid_autumn(year)?]),
        (
            "国庆节",
            "National Day",
            vec![d(10, 1)?, d(10, 2)?, d(10, 3)?],
        ),
    ];
    let mut days: Vec<SpecialDay> = Vec::new();
    for (name, name_en, dates) in periods {
        for date in dates {
            // 中秋 and 国庆 can coincide (2031: 1 October); the day is listed once.
            if date.year() != year || days.iter().any(|s| s.date == date) {
                continue;
            }
            days.push(SpecialDay {
                date,
                kind: DayKind::Holiday,
                name: name.into(),
                name_en: name_en.into(),
            });
        }
    }
    days.sort_by_key(|s| s.date);
    Ok(CalendarYear {
        year,
        source: PROVISIONAL_SOURCE.into(),
        days,
        provisional: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    // Published dates (Purple Mountain Observatory almanac), not computed here.
    #[test]
    fn spring_festival_matches_published_dates() {
        let first_day = [
            (2019, "2019-02-05"),
            (2020, "2020-01-25"),
            (2021, "2021-02-12"),
            (2022, "2022-02-01"),
            (2023, "2023-01-22"),
            (2024, "2024-02-10"),
            (2025, "2025-01-29"),
            (2026, "2026-02-17"),
            (2027, "2027-02-06"),
            (2028, "2028-01-26"),
            (2029, "2029-02-13"),
            (2030, "2030-02-03"),
            (2031, "2031-01-23"),
            (2032, "2032-02-11"),
            (2033, "2033-01-31"),
            (2034, "2034-02-19"),
            (2035, "2035-02-08"),
        ];
        for (y, d) in first_day {
            assert_eq!(
                chinese_new_years_eve(y).unwrap() + Duration::days(1),
                date(d),
                "{y}"
            );
        }
    }

    #[test]
    fn qingming_matches_published_dates() {
        let known = [
            (2019, 5),
            (2020, 4),
            (2021, 4),
            (2022, 5),
            (2023, 5),
            (2024, 4),
            (2025, 4),
            (2026, 5),
            (2027, 5),
            (2028, 4),
            (2029, 4),
            (2030, 5),
            (2031, 5),
            (2032, 4),
            (2033, 4),
            (2034, 5),
            (2035, 5),
        ];
        for (y, d) in known {
            assert_eq!(
                qingming(y).unwrap(),
                NaiveDate::from_ymd_opt(y, 4, d).unwrap(),
                "{y}"
            );
        }
    }

    #[test]
    fn dragon_boat_and_mid_autumn_match_published_dates() {
        let known = [
            (2025, "2025-05-31", "2025-10-06"),
            (2026, "2026-06-19", "2026-09-25"),
            (2027, "2027-06-09", "2027-09-15"),
            (2028, "2028-05-28", "2028-10-03"),
            (2029, "2029-06-16", "2029-09-22"),
            (2030, "2030-06-05", "2030-09-12"),
            (2031, "2031-06-24", "2031-10-01"),
            (2032, "2032-06-12", "2032-09-19"),
            (2033, "2033-06-01", "2033-09-08"),
            (2034, "2034-06-20", "2034-09-27"),
            (2035, "2035-06-10", "2035-09-16"),
        ];
        for (y, db, ma) in known {
            assert_eq!(dragon_boat(y).unwrap(), date(db), "端午 {y}");
            assert_eq!(mid_autumn(y).unwrap(), date(ma), "中秋 {y}");
        }
    }

    #[test]
    fn provisional_2027_lists_the_statutory_days() {
        let y = provisional_year(2027).unwrap();
        assert!(y.provisional);
        let rest: Vec<String> = y.days.iter().map(|d| d.date.to_string()).collect();
        assert_eq!(
            rest,
            [
                "2027-01-01",
                "2027-02-05",
                "2027-02-06",
                "2027-02-07",
                "2027-02-08",
                "2027-04-05",
                "2027-05-01",
                "2027-05-02",
                "2027-06-09",
                "2027-09-15",
                "2027-10-01",
                "2027-10-02",
                "2027-10-03",
            ]
        );
        assert!(y.days.iter().all(|d| d.kind == DayKind::Holiday));
        // 2031: 中秋 falls on 1 October, so 国庆's three days carry it once.
        let y = provisional_year(2031).unwrap();
        assert_eq!(y.days.len(), 12);
    }

    #[test]
    fn every_year_2025_to_2035_is_well_formed() {
        for year in 2025..=2035 {
            let y = provisional_year(year).unwrap();
            assert!(y.days.len() >= 12, "{year}");
            assert!(y.days.windows(2).all(|w| w[0].date < w[1].date), "{year}");
            assert!(y.days.iter().all(|d| d.date.year() == year), "{year}");
        }
        assert!(
            provisional_year(2024).is_err(),
            "older rules: needs the notice"
        );
    }
}
