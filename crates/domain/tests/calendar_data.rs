//! The shipped holiday files (calendar/*.toml) against the State Council notices for 2024–2026,
//! typed here a second time from the notices so a slip in either copy fails.

use chrono::NaiveDate;
use jiesu_domain::{CalendarYear, OfficeHours, WorkCalendar};

const FILES: &[&str] = &[
    include_str!("../../../calendar/2019.toml"),
    include_str!("../../../calendar/2020.toml"),
    include_str!("../../../calendar/2021.toml"),
    include_str!("../../../calendar/2022.toml"),
    include_str!("../../../calendar/2023.toml"),
    include_str!("../../../calendar/2024.toml"),
    include_str!("../../../calendar/2025.toml"),
    include_str!("../../../calendar/2026.toml"),
];

fn cal() -> WorkCalendar {
    let mut c = WorkCalendar::new(OfficeHours::default());
    for f in FILES {
        c.add_year(CalendarYear::parse_toml(f).expect("shipped file parses"));
    }
    c
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// (holiday, first rest day, last rest day, make-up workdays)
const NOTICES: &[(&str, &str, &str, &[&str])] = &[
    ("2024 元旦", "2024-01-01", "2024-01-01", &[]),
    (
        "2024 春节",
        "2024-02-10",
        "2024-02-17",
        &["2024-02-04", "2024-02-18"],
    ),
    ("2024 清明", "2024-04-04", "2024-04-06", &["2024-04-07"]),
    (
        "2024 劳动节",
        "2024-05-01",
        "2024-05-05",
        &["2024-04-28", "2024-05-11"],
    ),
    ("2024 端午", "2024-06-08", "2024-06-10", &[]),
    ("2024 中秋", "2024-09-15", "2024-09-17", &["2024-09-14"]),
    (
        "2024 国庆",
        "2024-10-01",
        "2024-10-07",
        &["2024-09-29", "2024-10-12"],
    ),
    ("2025 元旦", "2025-01-01", "2025-01-01", &[]),
    (
        "2025 春节",
        "2025-01-28",
        "2025-02-04",
        &["2025-01-26", "2025-02-08"],
    ),
    ("2025 清明", "2025-04-04", "2025-04-06", &[]),
    ("2025 劳动节", "2025-05-01", "2025-05-05", &["2025-04-27"]),
    ("2025 端午", "2025-05-31", "2025-06-02", &[]),
    (
        "2025 国庆中秋",
        "2025-10-01",
        "2025-10-08",
        &["2025-09-28", "2025-10-11"],
    ),
    ("2026 元旦", "2026-01-01", "2026-01-03", &["2026-01-04"]),
    (
        "2026 春节",
        "2026-02-15",
        "2026-02-23",
        &["2026-02-14", "2026-02-28"],
    ),
    ("2026 清明", "2026-04-04", "2026-04-06", &[]),
    ("2026 劳动节", "2026-05-01", "2026-05-05", &["2026-05-09"]),
    ("2026 端午", "2026-06-19", "2026-06-21", &[]),
    ("2026 中秋", "2026-09-25", "2026-09-27", &[]),
    (
        "2026 国庆",
        "2026-10-01",
        "2026-10-07",
        &["2026-09-20", "2026-10-10"],
    ),
];

#[test]
fn every_holiday_period_2024_to_2026_is_rest_and_every_make_up_day_is_work() {
    let c = cal();
    for (name, from, to, work) in NOTICES {
        for day in d(from).iter_days().take_while(|x| *x <= d(to)) {
            assert!(
                !c.is_workday(day).unwrap(),
                "{name}: {day} must be a rest day"
            );
            let s = c.special_day(day).unwrap();
            // Weekend days inside a period may be listed or not; weekdays must be listed.
            if !matches!(
                chrono::Datelike::weekday(&day),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            ) {
                assert!(s.is_some(), "{name}: {day} should be named as a holiday");
            }
        }
        for w in *work {
            assert!(
                c.is_workday(d(w)).unwrap(),
                "{name}: make-up day {w} must be a workday"
            );
        }
        // The working days just outside the period stay working days.
        let before = d(from).pred_opt().unwrap();
        let after = d(to).succ_opt().unwrap();
        for x in [before, after] {
            let weekend = matches!(
                chrono::Datelike::weekday(&x),
                chrono::Weekday::Sat | chrono::Weekday::Sun
            );
            let listed_work = work.iter().any(|w| d(w) == x);
            if !weekend || listed_work {
                assert!(
                    c.is_workday(x).unwrap(),
                    "{name}: {x} next to the holiday is a workday"
                );
            }
        }
    }
}

#[test]
fn no_listed_day_falls_outside_the_notices_for_2024_to_2026() {
    let c = cal();
    let mut listed = 0;
    for day in d("2024-01-01")
        .iter_days()
        .take_while(|x| *x <= d("2026-12-31"))
    {
        if let Some(s) = c.special_day(day).unwrap() {
            listed += 1;
            let in_notice = NOTICES.iter().any(|(_, from, to, work)| {
                (day >= d(from) && day <= d(to)) || work.iter().any(|w| d(w) == day)
            });
            assert!(
                in_notice,
                "{day} ({}) is in the file but in no notice",
                s.name
            );
        }
    }
    assert!(listed > 60);
}

#[test]
fn ordinary_weekends_and_weekdays() {
    let c = cal();
    assert!(!c.is_workday(d("2026-11-21")).unwrap(), "a plain Saturday");
    assert!(c.is_workday(d("2026-11-23")).unwrap(), "a plain Monday");
    assert!(c.is_workday(d("2025-12-31")).unwrap());
}

#[test]
fn every_year_2019_to_2026_is_covered_and_2027_is_not() {
    let c = cal();
    for y in 2019..=2026 {
        assert!(c.covers(y), "{y}");
    }
    assert!(c.is_workday(d("2027-01-04")).is_err());
}

#[test]
fn deadlines_across_the_2026_spring_festival() {
    let c = cal();
    let from = chrono::DateTime::parse_from_rfc3339("2026-02-13T10:00:00+08:00").unwrap();
    // Fri 13 Feb → Sat 14 (make-up) is day 1; 15–23 off; Tue 24 is day 2; Wed 25 day 3.
    assert_eq!(
        c.add_working_days(from, 3).unwrap().to_rfc3339(),
        "2026-02-25T10:00:00+08:00"
    );
    // Two working hours from 16:30 on the last day before the break: 1 h that day, 1 h on the make-up Saturday.
    let from = chrono::DateTime::parse_from_rfc3339("2026-02-13T16:30:00+08:00").unwrap();
    assert_eq!(
        c.add_working_hours(from, 2).unwrap().to_rfc3339(),
        "2026-02-14T09:30:00+08:00"
    );
}
