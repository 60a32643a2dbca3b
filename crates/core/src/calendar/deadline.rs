//! A pausable deadline clock counting working time.
//!
//! A dossier's legal time limit stops while the agency waits for the citizen (a supplement
//! request) and goes on from the resubmission. The clock therefore stores what was already
//! used instead of a due date: the budget, the working time consumed by finished runs and the
//! start of the current run, if any. It is plain serde data, so it is persisted with the
//! dossier, and every question that needs the calendar takes it as a parameter.
//!
//! Invariants: `running_since` is `Some` exactly while the clock runs; consumed time only
//! grows; consumption is kept in seconds so that many pauses do not lose rounding minutes.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::{CalendarError, WorkingCalendar};

/// Working-time budget of a dossier, with pause and resume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineClock {
    pub budget_minutes: u64,
    pub consumed_seconds: u64,
    pub running_since: Option<DateTime<FixedOffset>>,
}

impl DeadlineClock {
    /// A stopped clock with `budget_minutes` of working time.
    pub fn new(budget_minutes: u64) -> Self {
        Self {
            budget_minutes,
            consumed_seconds: 0,
            running_since: None,
        }
    }

    /// A stopped clock of `days` working days of `calendar`'s office day.
    pub fn for_working_days(days: u64, calendar: &WorkingCalendar) -> Self {
        Self::new(days.saturating_mul(calendar.office_hours.working_day_minutes()))
    }

    pub fn is_running(&self) -> bool {
        self.running_since.is_some()
    }

    /// Whole working minutes used so far by finished runs.
    pub fn consumed_minutes(&self) -> u64 {
        self.consumed_seconds / 60
    }

    /// Starts the clock (on receipt of a complete dossier).
    pub fn start(&mut self, at: DateTime<FixedOffset>) -> Result<(), CalendarError> {
        self.resume(at)
    }

    /// Stops the clock at `at`, adding the working time of the current run to the consumed.
    pub fn pause(
        &mut self,
        at: DateTime<FixedOffset>,
        calendar: &WorkingCalendar,
    ) -> Result<(), CalendarError> {
        let since = self.running_since.ok_or(CalendarError::ClockNotRunning)?;
        let used = self.run_seconds(since, at, calendar)?;
        self.consumed_seconds = self.consumed_seconds.saturating_add(used);
        self.running_since = None;
        Ok(())
    }

    /// Restarts a paused clock (on the citizen's resubmission).
    pub fn resume(&mut self, at: DateTime<FixedOffset>) -> Result<(), CalendarError> {
        if self.is_running() {
            return Err(CalendarError::ClockRunning);
        }
        self.running_since = Some(at);
        Ok(())
    }

    /// When the budget runs out if the clock keeps running; `None` while it is stopped. If
    /// the budget was already used up before the current run, that is the run's first
    /// working instant.
    pub fn due(
        &self,
        calendar: &WorkingCalendar,
    ) -> Result<Option<DateTime<FixedOffset>>, CalendarError> {
        let Some(since) = self.running_since else {
            return Ok(None);
        };
        let left = self.budget_seconds().saturating_sub(self.consumed_seconds);
        calendar.add_working_seconds(since, left).map(Some)
    }

    /// Working minutes left at `at` (negative once overdue), rounded down so that the sign
    /// is exact: `< 0` means the budget is exceeded.
    pub fn remaining(
        &self,
        at: DateTime<FixedOffset>,
        calendar: &WorkingCalendar,
    ) -> Result<i64, CalendarError> {
        let running = match self.running_since {
            Some(since) => self.run_seconds(since, at, calendar)?,
            None => 0,
        };
        let used = i128::from(self.consumed_seconds) + i128::from(running);
        let left = (i128::from(self.budget_seconds()) - used).div_euclid(60);
        // Budgets are bounded by u64 minutes, so this never saturates in practice.
        Ok(i64::try_from(left).unwrap_or(if left < 0 { i64::MIN } else { i64::MAX }))
    }

    fn budget_seconds(&self) -> u64 {
        self.budget_minutes.saturating_mul(60)
    }

    /// Working seconds of a run from `since` to `at`.
    fn run_seconds(
        &self,
        since: DateTime<FixedOffset>,
        at: DateTime<FixedOffset>,
        calendar: &WorkingCalendar,
    ) -> Result<u64, CalendarError> {
        if at < since {
            return Err(CalendarError::BeforeClockStart);
        }
        let seconds = calendar.working_seconds_between(since, at)?;
        Ok(seconds.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(s).expect("RFC 3339 test instant")
    }

    #[test]
    fn pause_and_resume_across_a_weekend() {
        let calendar = WorkingCalendar::default();
        let mut clock = DeadlineClock::for_working_days(1, &calendar);
        assert_eq!(clock.budget_minutes, 480);
        assert_eq!(clock.due(&calendar), Ok(None));

        // Friday 14:00 → 16:00: 120 minutes used, then a supplement request stops the clock.
        clock.start(at("2027-03-05T14:00:00+07:00")).expect("start");
        assert_eq!(
            clock.due(&calendar),
            Ok(Some(at("2027-03-08T14:00:00+07:00")))
        );
        clock
            .pause(at("2027-03-05T16:00:00+07:00"), &calendar)
            .expect("pause");
        assert_eq!(clock.consumed_minutes(), 120);
        assert_eq!(clock.due(&calendar), Ok(None));
        assert_eq!(
            clock.remaining(at("2027-03-07T09:00:00+07:00"), &calendar),
            Ok(360)
        );

        // Resubmitted on Saturday: nothing counts until Monday 07:30; 360 minutes are
        // 07:30–11:30 (240) and 13:00–15:00 (120).
        clock
            .resume(at("2027-03-06T10:00:00+07:00"))
            .expect("resume");
        assert_eq!(
            clock.due(&calendar),
            Ok(Some(at("2027-03-08T15:00:00+07:00")))
        );
        assert_eq!(
            clock.remaining(at("2027-03-08T08:30:00+07:00"), &calendar),
            Ok(300)
        );
        assert_eq!(
            clock.remaining(at("2027-03-08T16:00:00+07:00"), &calendar),
            Ok(-60)
        );
    }

    #[test]
    fn seconds_are_not_lost_over_many_pauses() {
        let calendar = WorkingCalendar::default();
        let mut clock = DeadlineClock::new(60);
        for minute in 0..4 {
            let start = at(&format!("2027-03-04T08:{:02}:00+07:00", minute * 10));
            let stop = at(&format!("2027-03-04T08:{:02}:30+07:00", minute * 10));
            clock.start(start).expect("start");
            clock.pause(stop, &calendar).expect("pause");
        }
        assert_eq!(clock.consumed_seconds, 120);
        assert_eq!(clock.consumed_minutes(), 2);
    }

    #[test]
    fn misuse_is_reported_with_stable_codes() {
        let calendar = WorkingCalendar::default();
        let mut clock = DeadlineClock::new(60);
        let t = at("2027-03-04T08:00:00+07:00");
        let code = |r: Result<(), CalendarError>| r.map_err(|e| e.code());
        assert_eq!(
            code(clock.pause(t, &calendar)),
            Err("calendar.clock_not_running")
        );
        clock.start(t).expect("start");
        assert_eq!(code(clock.resume(t)), Err("calendar.clock_running"));
        let earlier = at("2027-03-04T07:59:00+07:00");
        assert_eq!(
            code(clock.pause(earlier, &calendar)),
            Err("calendar.before_clock_start")
        );
        assert!(clock.is_running());
    }

    #[test]
    fn clock_state_round_trips_through_json() {
        let mut clock = DeadlineClock::new(480);
        clock.start(at("2027-03-04T08:00:00+07:00")).expect("start");
        let json = serde_json::to_string(&clock).expect("serialize");
        assert_eq!(
            serde_json::from_str::<DeadlineClock>(&json).expect("deserialize"),
            clock
        );
    }
}
