//! Errors of the calendar module, each with a stable code.
//!
//! Codes are part of the public API (clients and the UI translation table key on them), so a
//! code is never renamed once released; the `Display` text is English detail for logs.

use chrono::NaiveDate;

/// Why a calendar computation could not give an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The lunar date does not exist (month 13, day 30 of a 29-day month, leap flag on a month
    /// that is not leap that year, …).
    #[error("invalid lunar date {year}-{month:02}-{day:02}{}: {reason}", if *.leap { " (leap)" } else { "" })]
    InvalidLunarDate {
        year: i32,
        month: u32,
        day: u32,
        leap: bool,
        reason: &'static str,
    },
    /// A year or instant outside what the calendar supports.
    #[error("{what} is outside the supported range")]
    OutOfRange { what: String },
    /// Office hours that are empty, reversed or overlapping.
    #[error("invalid office hours: {0}")]
    InvalidOfficeHours(String),
    /// No working time was found within the search bound: the calendar has (almost) no
    /// working days, or the requested span is longer than the bound.
    #[error("no working time found within {years} years after {from}")]
    NoWorkingTime { from: NaiveDate, years: u32 },
    /// `start`/`resume` on a deadline clock that is already running.
    #[error("the deadline clock is already running")]
    ClockRunning,
    /// `pause` on a deadline clock that is not running.
    #[error("the deadline clock is not running")]
    ClockNotRunning,
    /// An instant earlier than the one the clock was last started or resumed at.
    #[error("instant is before the clock's last start")]
    BeforeClockStart,
}

impl CalendarError {
    /// The stable, machine-readable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidLunarDate { .. } => "calendar.invalid_lunar_date",
            Self::OutOfRange { .. } => "calendar.out_of_range",
            Self::InvalidOfficeHours(_) => "calendar.invalid_office_hours",
            Self::NoWorkingTime { .. } => "calendar.no_working_time",
            Self::ClockRunning => "calendar.clock_running",
            Self::ClockNotRunning => "calendar.clock_not_running",
            Self::BeforeClockStart => "calendar.before_clock_start",
        }
    }

    pub(crate) fn out_of_range(what: impl Into<String>) -> Self {
        Self::OutOfRange { what: what.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_namespaced_and_display_is_readable() {
        let err = CalendarError::InvalidLunarDate {
            year: 2027,
            month: 2,
            day: 30,
            leap: true,
            reason: "no such leap month",
        };
        assert_eq!(err.code(), "calendar.invalid_lunar_date");
        assert_eq!(
            err.to_string(),
            "invalid lunar date 2027-02-30 (leap): no such leap month"
        );
        assert_eq!(CalendarError::ClockRunning.code(), "calendar.clock_running");
    }
}
