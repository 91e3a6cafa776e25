//! The working calendar: China's public holidays and make-up workdays (调休), office hours,
//! and working-time arithmetic. Pure: callers pass the data in; nothing here reads a file or the clock.
//!
//! A date in a year without loaded data is an error, never a silent weekends-only guess:
//! a deadline computed on a guess would be wrong in a way nobody notices until a card is issued.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveTime, TimeZone, Weekday};
use serde::{Deserialize, Serialize};

/// All times in jiesu are Beijing time (UTC+8, no daylight saving).
pub type Time = DateTime<FixedOffset>;

pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// Converts any instant to Beijing time.
pub fn to_beijing<Tz: TimeZone>(t: DateTime<Tz>) -> Time {
    t.with_timezone(&beijing())
}

/// Converts unix milliseconds to Beijing time.
pub fn from_unix_ms(ms: i64) -> Option<Time> {
    DateTime::from_timestamp_millis(ms).map(to_beijing)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DayKind {
    /// A statutory holiday or a rest day moved next to one.
    Holiday,
    /// A weekend day worked in exchange (调休).
    MakeUpWorkday,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecialDay {
    pub date: NaiveDate,
    pub kind: DayKind,
    pub name: String,
    pub name_en: String,
}

/// One year's schedule as published by the State Council (国务院办公厅).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    pub source: String,
    pub days: Vec<SpecialDay>,
    /// Computed from the national rules because the year's notice is not installed
    /// (see [`crate::provisional`]); never true for a parsed file.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalendarError {
    #[error(
        "no holiday data for year {0}: import the State Council's schedule for that year first"
    )]
    YearNotCovered(i32),
    #[error("calendar file: {0}")]
    Parse(String),
    #[error("calendar file for {year}: {message}")]
    Invalid { year: i32, message: String },
    #[error("office hours: {0}")]
    OfficeHours(String),
    #[error("time span too long: {0} days")]
    SpanTooLong(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: String,
    #[serde(default)]
    period: Vec<PeriodFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodFile {
    name: String,
    name_en: String,
    /// Dates or inclusive ranges `YYYY-MM-DD..YYYY-MM-DD`.
    rest: Vec<String>,
    #[serde(default)]
    work: Vec<String>,
}

fn parse_date(s: &str) -> Result<NaiveDate, CalendarError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|e| CalendarError::Parse(format!("bad date {s:?}: {e}")))
}

fn parse_dates(s: &str) -> Result<Vec<NaiveDate>, CalendarError> {
    match s.split_once("..") {
        None => Ok(vec![parse_date(s)?]),
        Some((a, b)) => {
            let (a, b) = (parse_date(a)?, parse_date(b)?);
            if b < a || (b - a).num_days() > 31 {
                return Err(CalendarError::Parse(format!("bad range {s:?}")));
            }
            Ok(a.iter_days().take_while(|d| *d <= b).collect())
        }
    }
}

impl CalendarYear {
    /// Parses and checks one year's TOML file (see `calendar/README.md` in the repository).
    pub fn parse_toml(text: &str) -> Result<Self, CalendarError> {
        let f: YearFile = toml::from_str(text).map_err(|e| CalendarError::Parse(e.to_string()))?;
        let year = f.year;
        if !(2000..=2100).contains(&year) {
            return Err(CalendarError::Parse(format!("implausible year {year}")));
        }
        let invalid = |message: String| CalendarError::Invalid { year, message };
        let mut days: BTreeMap<NaiveDate, SpecialDay> = BTreeMap::new();
        for p in &f.period {
            if p.rest.is_empty() {
                return Err(invalid(format!("{} has no rest days", p.name)));
            }
            for (list, kind) in [
                (&p.rest, DayKind::Holiday),
                (&p.work, DayKind::MakeUpWorkday),
            ] {
                for spec in list {
                    for date in parse_dates(spec)? {
                        if date.year() != year {
                            return Err(invalid(format!("{date} lies outside {year}")));
                        }
                        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
                        if kind == DayKind::MakeUpWorkday && !weekend {
                            return Err(invalid(format!(
                                "{date} is a weekday and cannot be a make-up workday"
                            )));
                        }
                        let day = SpecialDay {
                            date,
                            kind,
                            name: p.name.clone(),
                            name_en: p.name_en.clone(),
                        };
                        if days.insert(date, day).is_some() {
                            return Err(invalid(format!("{date} is listed twice")));
                        }
                    }
                }
            }
        }
        Ok(CalendarYear {
            year,
            source: f.source,
            days: days.into_values().collect(),
            provisional: false,
        })
    }
}

/// A holiday schedule an operator must install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScheduleWarning {
    /// Deadlines this year are counted on a provisional schedule (or cannot be counted).
    CurrentYearMissing(i32),
    /// Deadlines reaching into next year will be provisional until its notice is imported.
    NextYearMissing(i32),
}

impl ScheduleWarning {
    pub fn code(self) -> &'static str {
        match self {
            ScheduleWarning::CurrentYearMissing(_) => "calendar_current_year_missing",
            ScheduleWarning::NextYearMissing(_) => "calendar_next_year_missing",
        }
    }
    pub fn message_zh(self) -> String {
        match self {
            ScheduleWarning::CurrentYearMissing(y) => format!(
                "未安装{y}年国务院节假日安排，本年度办理时限按法定假日临时推算，请尽快导入（jiesu calendar import）"
            ),
            ScheduleWarning::NextYearMissing(y) => format!(
                "未安装{y}年国务院节假日安排，跨年时限按法定假日临时推算，通知发布后请导入（jiesu calendar import）"
            ),
        }
    }
    pub fn message_en(self) -> String {
        match self {
            ScheduleWarning::CurrentYearMissing(y) => format!(
                "the State Council's {y} holiday schedule is not installed: this year's deadlines are provisional; import it (jiesu calendar import)"
            ),
            ScheduleWarning::NextYearMissing(y) => format!(
                "the State Council's {y} holiday schedule is not installed: deadlines reaching into {y} are provisional until it is imported (jiesu calendar import)"
            ),
        }
    }
}

/// Office hours as half-open intervals within one day, in Beijing time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OfficeHours {
    pub intervals: Vec<(NaiveTime, NaiveTime)>,
}

impl Default for OfficeHours {
    fn default() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid time");
        Self {
            intervals: vec![(t(8, 30), t(12, 0)), (t(14, 0), t(17, 30))],
        }
    }
}

impl OfficeHours {
    /// Parses `08:30-12:00,14:00-17:30`.
    pub fn parse(s: &str) -> Result<Self, CalendarError> {
        let mut intervals = Vec::new();
        for part in s.split(',') {
            let (a, b) = part.split_once('-').ok_or_else(|| {
                CalendarError::OfficeHours(format!("{part:?} is not HH:MM-HH:MM"))
            })?;
            let p = |x: &str| {
                NaiveTime::parse_from_str(x.trim(), "%H:%M")
                    .map_err(|e| CalendarError::OfficeHours(format!("{x:?}: {e}")))
            };
            intervals.push((p(a)?, p(b)?));
        }
        let ok = !intervals.is_empty()
            && intervals.iter().all(|(a, b)| a < b)
            && intervals.windows(2).all(|w| w[0].1 <= w[1].0);
        if !ok {
            return Err(CalendarError::OfficeHours(format!(
                "{s:?}: intervals must be non-empty, ordered and disjoint"
            )));
        }
        Ok(Self { intervals })
    }

    /// Working time in one full working day.
    pub fn day_length(&self) -> Duration {
        self.intervals.iter().map(|(a, b)| *b - *a).sum()
    }
}

/// The longest span (in days) any calendar computation walks, so bad input cannot spin forever.
const MAX_SPAN_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, Default)]
pub struct WorkCalendar {
    special: HashMap<NaiveDate, SpecialDay>,
    years: BTreeMap<i32, String>,
    /// Years computed by [`crate::provisional`] rather than published (a subset of `years`).
    provisional: BTreeSet<i32>,
    pub hours: OfficeHours,
}

impl WorkCalendar {
    pub fn new(hours: OfficeHours) -> Self {
        Self {
            hours,
            ..Self::default()
        }
    }

    /// Adds (or replaces) one year's schedule. An official year replaces a provisional one.
    pub fn add_year(&mut self, y: CalendarYear) {
        self.special.retain(|d, _| d.year() != y.year);
        for d in y.days {
            self.special.insert(d.date, d);
        }
        if y.provisional {
            self.provisional.insert(y.year);
        } else {
            self.provisional.remove(&y.year);
        }
        self.years.insert(y.year, y.source);
    }

    /// Fills every year after the newest published one, up to `through`, with a provisional
    /// schedule from the national rules, so deadlines can still be computed (and are marked
    /// provisional). Years before the newest published one are left alone: a gap there is a
    /// missing import, not the future.
    pub fn with_provisional_years(mut self, through: i32) -> Self {
        let newest_official = self
            .years
            .keys()
            .copied()
            .filter(|y| !self.provisional.contains(y))
            .max();
        let from = newest_official.map_or(crate::provisional::FIRST_RULE_YEAR, |y| y + 1);
        for year in from.max(crate::provisional::FIRST_RULE_YEAR)..=through {
            if self.covers(year) {
                continue;
            }
            if let Ok(y) = crate::provisional::provisional_year(year) {
                self.add_year(y);
            }
        }
        self
    }

    /// Every covered year with its source, provisional ones included.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years.iter().map(|(y, s)| (*y, s.as_str()))
    }

    /// Whether `year` is covered only by a provisional schedule.
    pub fn is_provisional(&self, year: i32) -> bool {
        self.provisional.contains(&year)
    }

    /// Whether any year from `a`'s to `b`'s is provisional: a deadline walked through it is.
    pub fn provisional_between(&self, a: Time, b: Time) -> bool {
        let (a, b) = (to_beijing(a).year(), to_beijing(b).year());
        self.provisional.range(a.min(b)..=a.max(b)).next().is_some()
    }

    /// What an operator must be told about the schedule on `today`: the current year running on
    /// a provisional schedule, or (from 1 November) next year's notice not yet installed.
    pub fn schedule_warnings(&self, today: NaiveDate) -> Vec<ScheduleWarning> {
        let mut out = Vec::new();
        let year = today.year();
        if !self.has_official(year) {
            out.push(ScheduleWarning::CurrentYearMissing(year));
        }
        if today.month() >= 11 && !self.has_official(year + 1) {
            out.push(ScheduleWarning::NextYearMissing(year + 1));
        }
        out
    }

    /// Whether `year` has its published schedule installed.
    pub fn has_official(&self, year: i32) -> bool {
        self.covers(year) && !self.is_provisional(year)
    }

    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    fn check(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if self.covers(date.year()) {
            Ok(())
        } else {
            Err(CalendarError::YearNotCovered(date.year()))
        }
    }

    /// The holiday or make-up workday on `date`, if any.
    pub fn special_day(&self, date: NaiveDate) -> Result<Option<&SpecialDay>, CalendarError> {
        self.check(date)?;
        Ok(self.special.get(&date))
    }

    pub fn is_workday(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.check(date)?;
        Ok(match self.special.get(&date) {
            Some(d) => d.kind == DayKind::MakeUpWorkday,
            None => !matches!(date.weekday(), Weekday::Sat | Weekday::Sun),
        })
    }

    fn at(date: NaiveDate, time: NaiveTime) -> Time {
        beijing()
            .from_local_datetime(&date.and_time(time))
            .single()
            .expect("a fixed offset has exactly one local time")
    }

    /// The first moment at or after `t` that lies inside office hours on a working day.
    pub fn next_working_moment(&self, t: Time) -> Result<Time, CalendarError> {
        let t = to_beijing(t);
        let mut date = t.date_naive();
        for i in 0..MAX_SPAN_DAYS {
            if self.is_workday(date)? {
                for (start, end) in &self.hours.intervals {
                    let (s, e) = (Self::at(date, *start), Self::at(date, *end));
                    if i > 0 || t < e {
                        return Ok(if i == 0 && t > s { t } else { s });
                    }
                }
            }
            date = date
                .succ_opt()
                .ok_or(CalendarError::SpanTooLong(MAX_SPAN_DAYS))?;
        }
        Err(CalendarError::SpanTooLong(MAX_SPAN_DAYS))
    }

    /// The working day after `date`.
    pub fn next_workday(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let mut d = date;
        for _ in 0..MAX_SPAN_DAYS {
            d = d
                .succ_opt()
                .ok_or(CalendarError::SpanTooLong(MAX_SPAN_DAYS))?;
            if self.is_workday(d)? {
                return Ok(d);
            }
        }
        Err(CalendarError::SpanTooLong(MAX_SPAN_DAYS))
    }

    /// The same office time `n` working days later. A start outside office hours first moves to the
    /// next working moment, so a case received on Saturday night runs from Monday 08:30.
    pub fn add_working_days(&self, from: Time, n: u32) -> Result<Time, CalendarError> {
        if i64::from(n) > MAX_SPAN_DAYS {
            return Err(CalendarError::SpanTooLong(i64::from(n)));
        }
        let start = self.next_working_moment(from)?;
        let mut date = start.date_naive();
        for _ in 0..n {
            date = self.next_workday(date)?;
        }
        Ok(Self::at(date, start.time()))
    }

    /// `from` plus `d` of working time (office hours on working days only).
    pub fn add_working_time(&self, from: Time, d: Duration) -> Result<Time, CalendarError> {
        let mut remaining = d.max(Duration::zero());
        let mut t = self.next_working_moment(from)?;
        let limit = to_beijing(from) + Duration::days(MAX_SPAN_DAYS);
        loop {
            let date = t.date_naive();
            let end = self
                .hours
                .intervals
                .iter()
                .map(|(s, e)| (Self::at(date, *s), Self::at(date, *e)))
                .find(|(s, e)| *s <= t && t < *e)
                .map(|(_, e)| e)
                .ok_or(CalendarError::SpanTooLong(MAX_SPAN_DAYS))?;
            let available = end - t;
            if remaining <= available {
                return Ok(t + remaining);
            }
            remaining -= available;
            if end > limit {
                return Err(CalendarError::SpanTooLong(MAX_SPAN_DAYS));
            }
            t = self.next_working_moment(end)?;
        }
    }

    pub fn add_working_hours(&self, from: Time, hours: u32) -> Result<Time, CalendarError> {
        self.add_working_time(from, Duration::hours(i64::from(hours)))
    }

    /// Working time (office hours on working days) between two moments; zero if `b <= a`.
    pub fn working_time_between(&self, a: Time, b: Time) -> Result<Duration, CalendarError> {
        let (a, b) = (to_beijing(a), to_beijing(b));
        if b <= a {
            return Ok(Duration::zero());
        }
        let days = (b.date_naive() - a.date_naive()).num_days();
        if days > MAX_SPAN_DAYS {
            return Err(CalendarError::SpanTooLong(days));
        }
        let mut total = Duration::zero();
        let mut date = a.date_naive();
        while date <= b.date_naive() {
            if self.is_workday(date)? {
                for (s, e) in &self.hours.intervals {
                    let (s, e) = (Self::at(date, *s).max(a), Self::at(date, *e).min(b));
                    if e > s {
                        total += e - s;
                    }
                }
            }
            date = date
                .succ_opt()
                .ok_or(CalendarError::SpanTooLong(MAX_SPAN_DAYS))?;
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> WorkCalendar {
        let mut c = WorkCalendar::new(OfficeHours::default());
        c.add_year(
            CalendarYear::parse_toml(
                r#"
year = 2026
source = "test"
[[period]]
name = "国庆节"
name_en = "National Day"
rest = ["2026-10-01..2026-10-07"]
work = ["2026-09-20", "2026-10-10"]
"#,
            )
            .unwrap(),
        );
        c
    }

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).unwrap()
    }

    #[test]
    fn working_days_skip_golden_week_and_count_make_up_saturday() {
        let c = cal();
        let due = c
            .add_working_days(t("2026-09-30T16:00:00+08:00"), 5)
            .unwrap();
        assert_eq!(due, t("2026-10-13T16:00:00+08:00"));
    }

    #[test]
    fn start_outside_office_hours_moves_to_next_working_moment() {
        let c = cal();
        assert_eq!(
            c.next_working_moment(t("2026-09-19T22:00:00+08:00"))
                .unwrap(),
            t("2026-09-20T08:30:00+08:00"),
            "Sunday 20 September 2026 is a make-up workday"
        );
        assert_eq!(
            c.next_working_moment(t("2026-09-21T12:30:00+08:00"))
                .unwrap(),
            t("2026-09-21T14:00:00+08:00")
        );
        assert_eq!(
            c.next_working_moment(t("2026-09-30T17:30:00+08:00"))
                .unwrap(),
            t("2026-10-08T08:30:00+08:00")
        );
    }

    #[test]
    fn working_hours_cross_lunch_and_nights() {
        let c = cal();
        assert_eq!(
            c.add_working_hours(t("2026-09-21T11:00:00+08:00"), 2)
                .unwrap(),
            t("2026-09-21T15:00:00+08:00")
        );
        assert_eq!(
            c.add_working_hours(t("2026-09-30T17:00:00+08:00"), 2)
                .unwrap(),
            t("2026-10-08T10:00:00+08:00")
        );
    }

    #[test]
    fn working_time_between_counts_office_hours_only() {
        let c = cal();
        let d = c
            .working_time_between(
                t("2026-09-30T08:00:00+08:00"),
                t("2026-10-08T09:30:00+08:00"),
            )
            .unwrap();
        assert_eq!(d, Duration::hours(7) + Duration::hours(1));
    }

    #[test]
    fn warns_from_november_when_next_years_notice_is_missing() {
        let c = cal().with_provisional_years(2028);
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(c.schedule_warnings(d("2026-10-31")), vec![]);
        assert_eq!(
            c.schedule_warnings(d("2026-11-01")),
            vec![ScheduleWarning::NextYearMissing(2027)]
        );
        assert_eq!(
            c.schedule_warnings(d("2027-03-01")),
            vec![ScheduleWarning::CurrentYearMissing(2027)]
        );
        // Provisional years count working days: 2027-01-01 is 元旦, 2027-01-04 a Monday.
        assert!(!c.is_workday(d("2027-01-01")).unwrap());
        assert!(c.is_workday(d("2027-01-04")).unwrap());
        assert!(c.is_provisional(2027) && c.is_provisional(2028) && !c.is_provisional(2026));
    }

    #[test]
    fn uncovered_year_is_an_error() {
        let c = cal();
        assert_eq!(
            c.is_workday(NaiveDate::from_ymd_opt(2027, 1, 4).unwrap()),
            Err(CalendarError::YearNotCovered(2027))
        );
        assert_eq!(
            c.add_working_days(t("2026-12-30T10:00:00+08:00"), 5),
            Err(CalendarError::YearNotCovered(2027))
        );
    }

    #[test]
    fn rejects_weekday_make_up_and_duplicates() {
        let bad = r#"
year = 2026
source = "x"
[[period]]
name = "a"
name_en = "a"
rest = ["2026-10-01"]
work = ["2026-10-09"]
"#;
        assert!(matches!(
            CalendarYear::parse_toml(bad),
            Err(CalendarError::Invalid { .. })
        ));
        let dup = r#"
year = 2026
source = "x"
[[period]]
name = "a"
name_en = "a"
rest = ["2026-10-01..2026-10-02", "2026-10-02"]
"#;
        assert!(matches!(
            CalendarYear::parse_toml(dup),
            Err(CalendarError::Invalid { .. })
        ));
    }

    #[test]
    fn office_hours_parse() {
        assert_eq!(
            OfficeHours::parse("08:30-12:00,14:00-17:30").unwrap(),
            OfficeHours::default()
        );
        assert!(OfficeHours::parse("14:00-12:00").is_err());
        assert!(OfficeHours::parse("08:00-12:00,11:00-13:00").is_err());
    }
}
