//! Vietnamese lunisolar calendar (âm lịch): solar ↔ lunar conversion and the date of Tết.
//!
//! The rules are those of the Vietnamese calendar as described by Hồ Ngọc Đức, evaluated in
//! the Vietnamese time zone (UTC+7) — not the Chinese calendar, which is computed at UTC+8
//! and puts Tết on another day in some years (1985, 2007, …):
//!
//! * a lunar month starts on the local day of a new moon;
//! * month 11 is the month containing the winter solstice;
//! * when 13 new moons separate two months 11, the first month after month 11 that contains
//!   no major solar term (a 30° step of the Sun's longitude) is a leap month and repeats the
//!   number of the month before it;
//! * Tết is the first day of month 1, which follows month 12 (or a leap 11/12).
//!
//! Invariants: conversions are pure; `lunar_to_solar(solar_to_lunar(d)) == Ok(d)` for every
//! date `d` whose lunar year is in [`SUPPORTED_YEARS`]; dates are proleptic Gregorian.
//! Results are checked against an independent table for Tết 1900–2100 (see the tests).

use std::ops::RangeInclusive;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::CalendarError;
use super::astro::{NEW_MOON_EPOCH, SYNODIC_MONTH, new_moon_day, sun_sector_at_day_start};

/// Vietnam's time zone offset, in hours east of UT, at which the calendar is computed.
pub const TIME_ZONE_HOURS: f64 = 7.0;

/// Lunar years accepted by [`lunar_to_solar`]: the span over which the published algorithm is
/// meant to be used. Checked: every day of 1900–2100 equals an independent implementation of
/// the same algorithm, and Tết 1800–2199 equals a full-precision ephemeris except in 2175 and
/// 2199, where the published formulae say one day later than the ephemeris (and than Hồ Ngọc
/// Đức's precomputed tables). Outside this span the formulae drift and answers are guesses.
pub const SUPPORTED_YEARS: RangeInclusive<i32> = 1800..=2199;

/// Julian Day Number of 0001-01-01 (proleptic Gregorian) minus one: chrono counts that day as 1.
const JDN_OF_CE_DAY_ZERO: i64 = 1_721_425;

/// Years are clamped to this magnitude before any arithmetic: it keeps every intermediate far
/// from overflow, and beyond chrono's ±262 143 years no date could be returned anyway.
const YEAR_CLAMP: i32 = 300_000;

/// A date of the Vietnamese lunar calendar. `leap` marks the repeated (nhuận) month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LunarDate {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub leap: bool,
}

/// The lunar date of a solar (Gregorian) date.
pub fn solar_to_lunar(date: NaiveDate) -> LunarDate {
    let day = jdn(date);
    let solar_year = date.year();
    // Months from the month 11 that starts in December (or late November) of `solar_year`
    // onwards belong to the table of the next lunar year.
    let table_year = if day >= month11_start(solar_year) {
        solar_year.saturating_add(1)
    } else {
        solar_year
    };
    let table = MonthTable::new(table_year);
    let offset = table.offset_containing(day);
    let (month, leap) = table.month_at(offset);
    LunarDate {
        year: table.lunar_year_of(month),
        month,
        day: u32::try_from(day - table.starts[offset] + 1).unwrap_or(1),
        leap,
    }
}

/// The solar date of a lunar date; an error if that lunar date does not exist.
pub fn lunar_to_solar(date: LunarDate) -> Result<NaiveDate, CalendarError> {
    let invalid = |reason| CalendarError::InvalidLunarDate {
        year: date.year,
        month: date.month,
        day: date.day,
        leap: date.leap,
        reason,
    };
    if !SUPPORTED_YEARS.contains(&date.year) {
        return Err(CalendarError::out_of_range(format!(
            "lunar year {}",
            date.year
        )));
    }
    if !(1..=12).contains(&date.month) {
        return Err(invalid("month must be 1..=12"));
    }
    if !(1..=30).contains(&date.day) {
        return Err(invalid("day must be 1..=30"));
    }
    let table = MonthTable::new(MonthTable::year_holding(date.year, date.month));
    let offset = table
        .offset_of(date.month, date.leap)
        .ok_or_else(|| invalid("this month is not a leap month in that year"))?;
    if i64::from(date.day) > table.month_length(offset) {
        return Err(invalid("this month has only 29 days in that year"));
    }
    date_from_jdn(table.starts[offset] + i64::from(date.day) - 1)
        .ok_or_else(|| CalendarError::out_of_range(format!("lunar year {}", date.year)))
}

/// Solar date of Tết Nguyên đán (lunar 1/1) of lunar year `year`. Accurate over
/// [`SUPPORTED_YEARS`]; beyond chrono's date range the result saturates.
pub fn tet(year: i32) -> NaiveDate {
    let table = MonthTable::new(year);
    // Every table holds a non-leap month 1 (offset 2, or 3 after a leap 11/12).
    let offset = table.offset_of(1, false).unwrap_or(2);
    let day = table.starts[offset];
    date_from_jdn(day).unwrap_or(if day < 0 {
        NaiveDate::MIN
    } else {
        NaiveDate::MAX
    })
}

/// The leap month of lunar year `year` (e.g. `Some(6)` for 2025), if it has one.
pub fn leap_month(year: i32) -> Option<u32> {
    // A leap 11 or 12 of `year` sits in the table of `year + 1`; the others in `year`'s.
    [year, year.saturating_add(1)]
        .into_iter()
        .find_map(|table_year| {
            let table = MonthTable::new(table_year);
            let (month, _) = table.month_at(table.leap_offset?);
            (table.lunar_year_of(month) == year).then_some(month)
        })
}

/// The lunar months from month 11 of lunar year `year - 1` up to (excluding) month 11 of
/// `year`: twelve or thirteen months, their first days and the position of the leap month.
struct MonthTable {
    year: i32,
    /// Local day numbers of each month's first day; `starts[len]` is the next month 11.
    starts: [i64; 14],
    len: usize,
    /// Offset (from month 11, which is offset 0) of the leap month, in 13-month tables.
    leap_offset: Option<usize>,
}

impl MonthTable {
    fn new(year: i32) -> Self {
        let year = year.clamp(-YEAR_CLAMP, YEAR_CLAMP);
        let first = month11_start(year.saturating_sub(1));
        let next = month11_start(year);
        let k = ((first as f64 - NEW_MOON_EPOCH) / SYNODIC_MONTH + 0.5).floor() as i64;
        // Two solstice months 13 lunations apart span 384 days or so, 12 apart 354 or so.
        let len = if next - first > 365 { 13 } else { 12 };
        let mut starts = [next; 14];
        starts[0] = first;
        for (i, start) in (1..len).zip(starts.iter_mut().skip(1)) {
            *start = new_moon_day(k + i as i64, TIME_ZONE_HOURS);
        }
        let leap_offset = (len == 13).then(|| first_month_without_major_term(&starts));
        Self {
            year,
            starts,
            len,
            leap_offset,
        }
    }

    /// The year whose table holds `month` of lunar year `year`.
    fn year_holding(year: i32, month: u32) -> i32 {
        if month >= 11 {
            year.saturating_add(1)
        } else {
            year
        }
    }

    /// Lunar year a month number of this table belongs to (11 and 12 are last year's).
    fn lunar_year_of(&self, month: u32) -> i32 {
        if month >= 11 {
            self.year.saturating_sub(1)
        } else {
            self.year
        }
    }

    /// Month number and leap flag of the month at `offset` (offset 0 is month 11).
    fn month_at(&self, offset: usize) -> (u32, bool) {
        let (ordinal, leap) = match self.leap_offset {
            Some(leap_at) if offset >= leap_at => (offset - 1, offset == leap_at),
            _ => (offset, false),
        };
        let month = (ordinal + 10) % 12 + 1;
        (u32::try_from(month).unwrap_or(1), leap)
    }

    fn offset_of(&self, month: u32, leap: bool) -> Option<usize> {
        (0..self.len).find(|&offset| self.month_at(offset) == (month, leap))
    }

    /// Offset of the month containing local day `day` (which must be inside the table).
    fn offset_containing(&self, day: i64) -> usize {
        (0..self.len)
            .rev()
            .find(|&offset| self.starts[offset] <= day)
            .unwrap_or(0)
    }

    fn month_length(&self, offset: usize) -> i64 {
        self.starts[offset + 1] - self.starts[offset]
    }
}

/// In a 13-month table, the first month after month 11 during which the Sun enters no new
/// 30° sector. Should astronomy ever find none, the last month is taken so that the table
/// still numbers its months consistently.
fn first_month_without_major_term(starts: &[i64; 14]) -> usize {
    let sector = |day| sun_sector_at_day_start(day, TIME_ZONE_HOURS);
    (1..=12)
        .find(|&i| sector(starts[i]) == sector(starts[i + 1]))
        .unwrap_or(12)
}

/// Local day number of the first day of the lunar month containing the winter solstice of
/// solar year `year` (month 11, tháng Một).
fn month11_start(year: i32) -> i64 {
    let december_31 = gregorian_jdn(i64::from(year), 12, 31);
    let k = ((december_31 - 2_415_021) as f64 / SYNODIC_MONTH).floor() as i64;
    let candidate = new_moon_day(k, TIME_ZONE_HOURS);
    // A new moon on or after the solstice (Sun past 270°) starts month 12 instead.
    if sun_sector_at_day_start(candidate, TIME_ZONE_HOURS) >= 9 {
        new_moon_day(k - 1, TIME_ZONE_HOURS)
    } else {
        candidate
    }
}

/// Julian Day Number of a proleptic Gregorian date, total over all `i64` years that matter
/// (unlike chrono, which stops at ±262 143).
fn gregorian_jdn(year: i64, month: i64, day: i64) -> i64 {
    let a = (14 - month) / 12;
    let y = year + 4800 - a;
    let m = month + 12 * a - 3;
    day + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400)
        - 32_045
}

fn jdn(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) + JDN_OF_CE_DAY_ZERO
}

fn date_from_jdn(day: i64) -> Option<NaiveDate> {
    i32::try_from(day - JDN_OF_CE_DAY_ZERO)
        .ok()
        .and_then(NaiveDate::from_num_days_from_ce_opt)
}

#[cfg(test)]
mod tests;
