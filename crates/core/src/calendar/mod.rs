//! Working-day calendar of Vietnamese public administration.
//!
//! Legal time limits for administrative procedures are counted in working days, which
//! depend on the Vietnamese lunar calendar (Tết, Giỗ Tổ Hùng Vương), on statutory holidays
//! and their compensatory days, on the yearly schedules decided by the Prime Minister, and on
//! each agency's office hours. This module computes all of that as pure functions: nothing
//! here reads the clock or performs I/O; "now" and the calendar data are always parameters.
//!
//! * [`lunar`] — solar ↔ lunar conversion at UTC+7 and the date of Tết;
//! * [`holidays`] — data-driven statutory holiday rules, compensatory days, yearly schedules;
//! * [`working_time`] — office hours and deadline arithmetic in Vietnamese time (UTC+7);
//! * [`deadline`] — a pausable deadline clock for dossiers.

mod astro;
pub mod deadline;
mod error;
pub mod holidays;
pub mod lunar;
pub mod working_time;

pub use deadline::DeadlineClock;
pub use error::CalendarError;
pub use holidays::{
    Adjacent, DayNote, DayOff, DayOffKind, HolidayAnchor, HolidayRule, HolidayRules, HolidaySpan,
    YearSchedule, default_schedules, holidays_in_year,
};
pub use lunar::{LunarDate, lunar_to_solar, solar_to_lunar, tet};
pub use working_time::{
    OfficeHours, SpanCounter, WorkingCalendar, vietnam_instant, vietnam_offset,
};
