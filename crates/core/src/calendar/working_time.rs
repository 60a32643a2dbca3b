//! Office hours and working-time arithmetic for legal time limits.
//!
//! Time limits of administrative procedures run in working time of the receiving agency: a
//! dossier received outside office hours starts counting at the next office period, and one
//! working day is the length of a full office day (8 hours by default), which is how the
//! Vietnamese one-stop systems count (Thanh Hóa `CaculateTime`, OpenCPS `HolidayUtils`).
//!
//! Invariants:
//! * every instant is interpreted and returned in Vietnamese time (UTC+07:00), whatever
//!   offset the caller used;
//! * [`OfficeHours`] are non-empty, each period starts before it ends, and periods are
//!   ordered and do not overlap (checked on construction and on deserialization);
//! * arithmetic walks day by day and period by period, never minute by minute, and every
//!   walk stops after [`SEARCH_YEARS`] years with [`CalendarError::NoWorkingTime`], so a
//!   calendar without working days cannot loop forever;
//! * `working_minutes_between(t, add_working_minutes(t, m)) == m`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta, Utc,
    Weekday,
};
use serde::{Deserialize, Serialize};

use super::CalendarError;
use super::holidays::{DayOff, HolidayRules, YearSchedule, default_schedules, holidays_in_year};

/// How many years a search for working time may cover before giving up.
pub const SEARCH_YEARS: u32 = 100;

const SEARCH_DAYS: u32 = SEARCH_YEARS * 366;

/// Vietnam's offset, UTC+07:00 (no daylight saving time).
pub fn vietnam_offset() -> FixedOffset {
    // `east_opt` only fails beyond ±24 h; the fallback is unreachable.
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| Utc.fix())
}

/// A stored instant (milliseconds since the epoch, UTC) in Vietnam time; out-of-range values
/// (never stored) fall back to the epoch.
pub fn vietnam_instant(ms: i64) -> DateTime<FixedOffset> {
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .with_timezone(&vietnam_offset())
}

/// The daily office periods of an agency, e.g. 07:30–11:30 and 13:00–17:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "OfficeHoursData", into = "OfficeHoursData")]
pub struct OfficeHours {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

/// The serialized form of [`OfficeHours`], validated on the way in.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficeHoursData {
    periods: Vec<(NaiveTime, NaiveTime)>,
}

impl TryFrom<OfficeHoursData> for OfficeHours {
    type Error = CalendarError;

    fn try_from(data: OfficeHoursData) -> Result<Self, Self::Error> {
        Self::new(data.periods)
    }
}

impl From<OfficeHours> for OfficeHoursData {
    fn from(hours: OfficeHours) -> Self {
        Self {
            periods: hours.periods,
        }
    }
}

impl Default for OfficeHours {
    fn default() -> Self {
        let at = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Self {
            periods: vec![(at(7, 30), at(11, 30)), (at(13, 0), at(17, 0))],
        }
    }
}

impl OfficeHours {
    /// Office hours from `(opens, closes)` periods, which must be non-empty, each opening
    /// before it closes, in order and not overlapping (touching is allowed).
    pub fn new(periods: Vec<(NaiveTime, NaiveTime)>) -> Result<Self, CalendarError> {
        let invalid = |detail: String| Err(CalendarError::InvalidOfficeHours(detail));
        if periods.is_empty() {
            return invalid("at least one period is required".to_owned());
        }
        if let Some((open, close)) = periods.iter().find(|(open, close)| open >= close) {
            return invalid(format!(
                "period {open}–{close} does not start before it ends"
            ));
        }
        if let Some(pair) = periods.windows(2).find(|pair| pair[0].1 > pair[1].0) {
            return invalid(format!(
                "period {}–{} overlaps or precedes {}–{}",
                pair[1].0, pair[1].1, pair[0].0, pair[0].1
            ));
        }
        Ok(Self { periods })
    }

    pub fn periods(&self) -> &[(NaiveTime, NaiveTime)] {
        &self.periods
    }

    /// Length of a full office day in minutes (480 by default): one "working day".
    pub fn working_day_minutes(&self) -> u64 {
        self.working_day_seconds().unsigned_abs() / 60
    }

    fn working_day_seconds(&self) -> i64 {
        self.periods
            .iter()
            .map(|(open, close)| (*close - *open).num_seconds())
            .sum()
    }
}

/// Everything needed to count working time: holiday rules, yearly schedules, office hours
/// and the days the office is closed every week.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkingCalendar {
    pub rules: HolidayRules,
    pub schedules: Vec<YearSchedule>,
    pub office_hours: OfficeHours,
    /// Days the office is closed every week (Saturday and Sunday by default); a schedule's
    /// extra working day opens the office even on one of them.
    pub rest_days: Vec<Weekday>,
    /// Each year's days off once computed, shared by this calendar's clones.
    #[serde(skip)]
    days_off: DaysOffMemo,
}

/// Days off by year, computed once for a calendar and its clones: the lunar holidays take
/// astronomy to place (new moons), which cost more than the rest of a deadline's arithmetic,
/// and a server computes deadlines on one cached calendar all day. It remembers the rules and
/// schedules it computed under and starts over when a calendar's public fields changed.
#[derive(Debug, Default, Clone)]
struct DaysOffMemo(Arc<Mutex<DaysOffYears>>);

#[derive(Debug, Default)]
struct DaysOffYears {
    under: Option<(HolidayRules, Vec<YearSchedule>)>,
    years: HashMap<i32, Arc<HashSet<NaiveDate>>>,
}

impl DaysOffMemo {
    /// At most this many years are kept (a report over a century does not grow it forever).
    const YEARS: usize = 64;

    fn year(&self, calendar: &WorkingCalendar, year: i32) -> Arc<HashSet<NaiveDate>> {
        let mut memo = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let current = memo.under.as_ref().is_some_and(|(rules, schedules)| {
            *rules == calendar.rules && *schedules == calendar.schedules
        });
        if !current || memo.years.len() >= Self::YEARS && !memo.years.contains_key(&year) {
            memo.under = Some((calendar.rules.clone(), calendar.schedules.clone()));
            memo.years.clear();
        }
        memo.years
            .entry(year)
            .or_insert_with(|| {
                Arc::new(
                    calendar
                        .holidays_in_year(year)
                        .into_iter()
                        .map(|day| day.date)
                        .collect(),
                )
            })
            .clone()
    }
}

/// The memo is a cache: two calendars are equal by their data alone.
impl PartialEq for DaysOffMemo {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for DaysOffMemo {}

impl Default for WorkingCalendar {
    fn default() -> Self {
        Self {
            rules: HolidayRules::default(),
            schedules: default_schedules(),
            office_hours: OfficeHours::default(),
            rest_days: vec![Weekday::Sat, Weekday::Sun],
            days_off: DaysOffMemo::default(),
        }
    }
}

impl WorkingCalendar {
    /// A calendar of these rules, schedules and office hours, closed on Saturday and Sunday.
    pub fn new(
        rules: HolidayRules,
        schedules: Vec<YearSchedule>,
        office_hours: OfficeHours,
    ) -> Self {
        Self {
            rules,
            schedules,
            office_hours,
            ..Self::default()
        }
    }

    /// The days off of `year` under this calendar's rules and schedules.
    pub fn holidays_in_year(&self, year: i32) -> Vec<DayOff> {
        holidays_in_year(year, &self.rules, &self.schedules)
    }

    /// Whether the office works on `date` (a swapped working Saturday does).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        DayBook::new(self).is_working(date)
    }

    /// The first working instant at or after `t`: `t` itself inside office hours, else the
    /// opening of the next period (13:00 after lunch, 07:30 of the next working day).
    pub fn next_working_instant(
        &self,
        t: DateTime<FixedOffset>,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        self.add_working_seconds(t, 0)
    }

    /// The instant at which `minutes` of working time after `t` have elapsed. A span that
    /// ends exactly at a closing time ends there (17:00), not at the next opening.
    pub fn add_working_minutes(
        &self,
        t: DateTime<FixedOffset>,
        minutes: u64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        self.add_working_seconds(t, minutes_to_seconds(minutes)?)
    }

    pub fn add_working_hours(
        &self,
        t: DateTime<FixedOffset>,
        hours: u64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let minutes = hours
            .checked_mul(60)
            .ok_or_else(|| CalendarError::out_of_range(format!("{hours} working hours")))?;
        self.add_working_minutes(t, minutes)
    }

    /// `days` working days after `t`, a working day being a full office day of time.
    pub fn add_working_days(
        &self,
        t: DateTime<FixedOffset>,
        days: u64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let seconds = u64::try_from(self.office_hours.working_day_seconds())
            .ok()
            .and_then(|per_day| per_day.checked_mul(days))
            .ok_or_else(|| CalendarError::out_of_range(format!("{days} working days")))?;
        self.add_working_seconds(t, seconds)
    }

    /// Working minutes from `a` to `b` (negative when `b` is before `a`), whole minutes
    /// truncated toward zero.
    pub fn working_minutes_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<i64, CalendarError> {
        Ok(self.working_seconds_between(a, b)? / 60)
    }

    pub(crate) fn add_working_seconds(
        &self,
        t: DateTime<FixedOffset>,
        seconds: u64,
    ) -> Result<DateTime<FixedOffset>, CalendarError> {
        let seconds = i64::try_from(seconds)
            .map_err(|_| CalendarError::out_of_range(format!("{seconds} working seconds")))?;
        from_local(self.advance(to_local(t), seconds)?)
    }

    pub(crate) fn working_seconds_between(
        &self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<i64, CalendarError> {
        self.span_seconds(&mut DayBook::new(self), a, b)
    }

    fn span_seconds(
        &self,
        book: &mut DayBook<'_>,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<i64, CalendarError> {
        let (a, b) = (to_local(a), to_local(b));
        if b < a {
            return self.seconds_within(book, b, a).map(|seconds| -seconds);
        }
        self.seconds_within(book, a, b)
    }

    /// For many spans on one calendar (statistics over a million dossiers): each year's days
    /// off are computed once for all of them instead of once per span.
    pub fn span_counter(&self) -> SpanCounter<'_> {
        SpanCounter {
            calendar: self,
            book: DayBook::new(self),
        }
    }

    /// Walks forward from `start` until `remaining` seconds of office time are used up.
    fn advance(
        &self,
        start: NaiveDateTime,
        mut remaining: i64,
    ) -> Result<NaiveDateTime, CalendarError> {
        let mut book = DayBook::new(self);
        let mut day = start.date();
        let mut not_before = start.time();
        for _ in 0..SEARCH_DAYS {
            if book.is_working(day) {
                for &(open, close) in self.office_hours.periods() {
                    if close <= not_before {
                        continue;
                    }
                    let from = open.max(not_before);
                    let available = (close - from).num_seconds();
                    if remaining <= available {
                        return day
                            .and_time(from)
                            .checked_add_signed(TimeDelta::seconds(remaining))
                            .ok_or_else(|| CalendarError::out_of_range(format!("{day}")));
                    }
                    remaining -= available;
                }
            }
            day = next_day(day)?;
            not_before = NaiveTime::MIN;
        }
        Err(CalendarError::NoWorkingTime {
            from: start.date(),
            years: SEARCH_YEARS,
        })
    }

    /// Office seconds inside `[a, b]`, `a <= b`.
    fn seconds_within(
        &self,
        book: &mut DayBook<'_>,
        a: NaiveDateTime,
        b: NaiveDateTime,
    ) -> Result<i64, CalendarError> {
        if (b.date() - a.date()).num_days() > i64::from(SEARCH_DAYS) {
            return Err(CalendarError::out_of_range(format!(
                "a span of more than {SEARCH_YEARS} years"
            )));
        }
        let mut total = 0;
        let mut day = a.date();
        while day <= b.date() {
            if book.is_working(day) {
                for &(open, close) in self.office_hours.periods() {
                    let from = day.and_time(open).max(a);
                    let until = day.and_time(close).min(b);
                    total += (until - from).num_seconds().max(0);
                }
            }
            day = next_day(day)?;
        }
        Ok(total)
    }
}

/// Working time between many pairs of instants on one calendar, sharing the days off.
pub struct SpanCounter<'a> {
    calendar: &'a WorkingCalendar,
    book: DayBook<'a>,
}

impl std::fmt::Debug for SpanCounter<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpanCounter").finish_non_exhaustive()
    }
}

impl SpanCounter<'_> {
    /// Whole working minutes from `a` to `b`, as [`WorkingCalendar::working_minutes_between`].
    pub fn working_minutes_between(
        &mut self,
        a: DateTime<FixedOffset>,
        b: DateTime<FixedOffset>,
    ) -> Result<i64, CalendarError> {
        Ok(self.calendar.span_seconds(&mut self.book, a, b)? / 60)
    }
}

/// Answers "is this a working day?" during one computation, computing each year's days off
/// once instead of once per day.
struct DayBook<'a> {
    calendar: &'a WorkingCalendar,
    extra_working: HashSet<NaiveDate>,
    days_off: HashMap<i32, Arc<HashSet<NaiveDate>>>,
}

impl<'a> DayBook<'a> {
    fn new(calendar: &'a WorkingCalendar) -> Self {
        let extra_working = calendar
            .schedules
            .iter()
            .flat_map(|schedule| &schedule.extra_working_days)
            .map(|note| note.date)
            .collect();
        Self {
            calendar,
            extra_working,
            days_off: HashMap::new(),
        }
    }

    fn is_working(&mut self, date: NaiveDate) -> bool {
        if self.extra_working.contains(&date) {
            return true;
        }
        if self.calendar.rest_days.contains(&date.weekday()) {
            return false;
        }
        let calendar = self.calendar;
        !self
            .days_off
            .entry(date.year())
            .or_insert_with(|| calendar.days_off.year(calendar, date.year()))
            .contains(&date)
    }
}

fn minutes_to_seconds(minutes: u64) -> Result<u64, CalendarError> {
    minutes
        .checked_mul(60)
        .ok_or_else(|| CalendarError::out_of_range(format!("{minutes} working minutes")))
}

fn next_day(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    day.succ_opt()
        .ok_or_else(|| CalendarError::out_of_range(format!("the day after {day}")))
}

fn to_local(t: DateTime<FixedOffset>) -> NaiveDateTime {
    t.with_timezone(&vietnam_offset()).naive_local()
}

fn from_local(local: NaiveDateTime) -> Result<DateTime<FixedOffset>, CalendarError> {
    local
        .and_local_timezone(vietnam_offset())
        .single()
        .ok_or_else(|| CalendarError::out_of_range(format!("{local}")))
}

#[cfg(test)]
mod tests;
