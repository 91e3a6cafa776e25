//! The shipped holiday files (calendar/*.toml) against the State Council notices for 2019–2026,
//! typed here a second time from the notices (国办发明电, 国务院办公厅关于 YYYY 年部分节假日安排的
//! 通知), not from the files, so a slip in either copy fails.

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
    // 国办发明电〔2018〕15号. 元旦 ran 2018-12-30..2019-01-01 with Sat 2018-12-29 worked; 2018 is
    // not shipped, so only its 2019 day is checked.
    ("2019 元旦", "2019-01-01", "2019-01-01", &[]),
    (
        "2019 春节",
        "2019-02-04",
        "2019-02-10",
        &["2019-02-02", "2019-02-03"],
    ),
    ("2019 清明", "2019-04-05", "2019-04-07", &[]),
    // As changed in March 2019 (four days instead of one).
    (
        "2019 劳动节",
        "2019-05-01",
        "2019-05-04",
        &["2019-04-28", "2019-05-05"],
    ),
    ("2019 端午", "2019-06-07", "2019-06-09", &[]),
    ("2019 中秋", "2019-09-13", "2019-09-15", &[]),
    (
        "2019 国庆",
        "2019-10-01",
        "2019-10-07",
        &["2019-09-29", "2019-10-12"],
    ),
    // 国办发明电〔2019〕16号; 春节 extended to 2 February by 国办发明电〔2020〕1号, which turned
    // the make-up Saturday 1 February into a rest day (asserted below).
    ("2020 元旦", "2020-01-01", "2020-01-01", &[]),
    ("2020 春节", "2020-01-24", "2020-02-02", &["2020-01-19"]),
    ("2020 清明", "2020-04-04", "2020-04-06", &[]),
    (
        "2020 劳动节",
        "2020-05-01",
        "2020-05-05",
        &["2020-04-26", "2020-05-09"],
    ),
    ("2020 端午", "2020-06-25", "2020-06-27", &["2020-06-28"]),
    (
        "2020 国庆中秋",
        "2020-10-01",
        "2020-10-08",
        &["2020-09-27", "2020-10-10"],
    ),
    // 国办发明电〔2020〕27号
    ("2021 元旦", "2021-01-01", "2021-01-03", &[]),
    (
        "2021 春节",
        "2021-02-11",
        "2021-02-17",
        &["2021-02-07", "2021-02-20"],
    ),
    ("2021 清明", "2021-04-03", "2021-04-05", &[]),
    (
        "2021 劳动节",
        "2021-05-01",
        "2021-05-05",
        &["2021-04-25", "2021-05-08"],
    ),
    ("2021 端午", "2021-06-12", "2021-06-14", &[]),
    ("2021 中秋", "2021-09-19", "2021-09-21", &["2021-09-18"]),
    (
        "2021 国庆",
        "2021-10-01",
        "2021-10-07",
        &["2021-09-26", "2021-10-09"],
    ),
    // 国办发明电〔2021〕11号
    ("2022 元旦", "2022-01-01", "2022-01-03", &[]),
    (
        "2022 春节",
        "2022-01-31",
        "2022-02-06",
        &["2022-01-29", "2022-01-30"],
    ),
    ("2022 清明", "2022-04-03", "2022-04-05", &["2022-04-02"]),
    (
        "2022 劳动节",
        "2022-04-30",
        "2022-05-04",
        &["2022-04-24", "2022-05-07"],
    ),
    ("2022 端午", "2022-06-03", "2022-06-05", &[]),
    ("2022 中秋", "2022-09-10", "2022-09-12", &[]),
    (
        "2022 国庆",
        "2022-10-01",
        "2022-10-07",
        &["2022-10-08", "2022-10-09"],
    ),
    // 国办发明电〔2022〕16号. 元旦 starts on Sat 2022-12-31.
    ("2023 元旦", "2022-12-31", "2023-01-02", &[]),
    (
        "2023 春节",
        "2023-01-21",
        "2023-01-27",
        &["2023-01-28", "2023-01-29"],
    ),
    ("2023 清明", "2023-04-05", "2023-04-05", &[]),
    (
        "2023 劳动节",
        "2023-04-29",
        "2023-05-03",
        &["2023-04-23", "2023-05-06"],
    ),
    ("2023 端午", "2023-06-22", "2023-06-24", &["2023-06-25"]),
    (
        "2023 中秋国庆",
        "2023-09-29",
        "2023-10-06",
        &["2023-10-07", "2023-10-08"],
    ),
    // 国办发明电〔2023〕7号
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
    // 国办发明电〔2024〕12号
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
    // 国办发明电〔2025〕7号
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
fn every_holiday_period_2019_to_2026_is_rest_and_every_make_up_day_is_work() {
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
            // A make-up day is a weekend day in every notice; a weekday here is a typing slip.
            assert!(
                matches!(
                    chrono::Datelike::weekday(&d(w)),
                    chrono::Weekday::Sat | chrono::Weekday::Sun
                ),
                "{name}: make-up day {w} is not a weekend day"
            );
            assert!(
                c.is_workday(d(w)).unwrap(),
                "{name}: make-up day {w} must be a workday"
            );
        }
        // The working days just outside the period stay working days.
        let before = d(from).pred_opt().unwrap();
        let after = d(to).succ_opt().unwrap();
        for x in [before, after] {
            // 2018 is not shipped: the day before 2019's 元旦 cannot be asked about.
            if !c.covers(chrono::Datelike::year(&x)) {
                continue;
            }
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
fn no_listed_day_falls_outside_the_notices_for_2019_to_2026() {
    let c = cal();
    let mut listed = 0;
    for day in d("2019-01-01")
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
    // Eight years of about 30 listed days each.
    assert!(listed > 200, "{listed}");
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

/// Days where the notices did something unusual, each checked on its own.
#[test]
fn the_unusual_days_of_2019_to_2023() {
    let c = cal();
    // 2020: the make-up Saturday 1 February was cancelled when 春节 was extended to 2 February.
    assert!(!c.is_workday(d("2020-02-01")).unwrap());
    assert!(
        c.is_workday(d("2020-02-03")).unwrap(),
        "back to work Monday"
    );
    // 2022 国庆: both make-up days after the holiday, a whole weekend worked.
    assert!(c.is_workday(d("2022-10-08")).unwrap());
    assert!(c.is_workday(d("2022-10-09")).unwrap());
    // 2023 元旦 began on Saturday 31 December 2022; Monday 2 January was the day off.
    assert!(!c.is_workday(d("2023-01-02")).unwrap());
    // 2023 清明 was one day, a Wednesday, with no make-up day.
    assert!(!c.is_workday(d("2023-04-05")).unwrap());
    assert!(c.is_workday(d("2023-04-06")).unwrap());
    // 2023: 中秋 and 国庆 joined, eight days from Friday 29 September, then a worked weekend.
    assert!(!c.is_workday(d("2023-09-29")).unwrap());
    assert!(c.is_workday(d("2023-10-07")).unwrap());
    assert!(c.is_workday(d("2023-10-08")).unwrap());
}
