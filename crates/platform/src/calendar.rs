//! The working calendar as administrators configure it: holiday rules and yearly schedules
//! for the whole installation, office hours per agency (inherited down the agency tree).
//! The arithmetic itself lives in `tinhso_core::calendar`; this module only loads and stores
//! its data and applies the access rules.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use tinhso_core::DomainError;
use tinhso_core::access::{Action, Target};
use tinhso_core::calendar::{
    DayOff, HolidayRules, OfficeHours, WorkingCalendar, YearSchedule, default_schedules,
};

use crate::Platform;
use crate::audit::Change;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::org::{Agency, agency_by_id, resolve_agency_code};

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Other(format!("stored {what} is invalid: {e}")))
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Other(e.to_string()))
}

async fn stored_rules(p: &Platform) -> Result<HolidayRules> {
    let text: Option<String> =
        sqlx::query_scalar("SELECT rules_json FROM calendar_rules WHERE id = 1")
            .fetch_optional(p.db.pool())
            .await?;
    text.map(|t| parse_json("holiday rules", &t))
        .transpose()
        .map(Option::unwrap_or_default)
}

/// Shipped schedules, each replaced by the administrator's version of the same year.
async fn stored_schedules(p: &Platform) -> Result<Vec<YearSchedule>> {
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT schedule_json FROM calendar_schedules ORDER BY year")
            .fetch_all(p.db.pool())
            .await?;
    let edited: Vec<YearSchedule> = rows
        .iter()
        .map(|t| parse_json("schedule", t))
        .collect::<Result<_>>()?;
    let mut schedules: Vec<YearSchedule> = default_schedules()
        .into_iter()
        .filter(|d| !edited.iter().any(|e| e.year == d.year))
        .collect();
    schedules.extend(edited);
    schedules.sort_by_key(|s| s.year);
    Ok(schedules)
}

/// Office hours of an agency: its own, else its nearest ancestor's, else the default.
async fn office_hours_for(p: &Platform, agency: Option<&Agency>) -> Result<OfficeHours> {
    let Some(agency) = agency else {
        return Ok(OfficeHours::default());
    };
    let ids: Vec<i64> = agency
        .path
        .split('/')
        .filter_map(|s| s.parse().ok())
        .collect();
    for id in ids.iter().rev() {
        let text: Option<String> =
            sqlx::query_scalar("SELECT hours_json FROM agency_office_hours WHERE agency_id = $1")
                .bind(id)
                .fetch_optional(p.db.pool())
                .await?;
        if let Some(text) = text {
            return parse_json("office hours", &text);
        }
    }
    Ok(OfficeHours::default())
}

/// The settings key of the calendar stamp: a random token every writer of calendar data
/// replaces in its own transaction. A token names one state of the calendar data (a restored
/// backup brings back its token with its data), so a cached calendar is served only while
/// the stored token is the one it was read under — on any node.
pub const STAMP_KEY: &str = "calendar_stamp";

/// Calendars by agency path (office hours are inherited along it), bounded.
struct CalendarCache(crate::cache::Bounded<String, WorkingCalendar>);

impl Default for CalendarCache {
    fn default() -> Self {
        Self(crate::cache::Bounded::new(4096))
    }
}

/// Replaces the calendar stamp, in the transaction that changes calendar data.
async fn bump_stamp(tx: &mut crate::WriteTx) -> Result<()> {
    crate::cache::bump_stamp(tx, STAMP_KEY).await
}

/// Gives a database without a calendar stamp its first one.
pub(crate) async fn ensure_stamp(p: &Platform) -> Result<()> {
    crate::cache::ensure_stamp(p, STAMP_KEY).await
}

async fn stamp(p: &Platform) -> Result<Option<String>> {
    p.setting(STAMP_KEY).await
}

/// The calendar that applies to `agency` (or the installation default). One statement (the
/// stamp) while the cached calendar is current.
pub async fn working_calendar(p: &Platform, agency: Option<&Agency>) -> Result<WorkingCalendar> {
    // The stamp is read before the data: a writer committing in between leaves newer data
    // under the older stamp, never older data under the newer one.
    let stamp = stamp(p).await?;
    working_calendar_under(p, agency, stamp).await
}

/// [`working_calendar`] with the stamp (settings key [`STAMP_KEY`]) already read by the
/// caller — in a statement of its own that ran before, so no statement at all while the
/// cached calendar is current.
pub async fn working_calendar_under(
    p: &Platform,
    agency: Option<&Agency>,
    stamp: Option<String>,
) -> Result<WorkingCalendar> {
    let cache = p.caches.get::<CalendarCache>();
    let key = agency.map(|a| a.path.clone()).unwrap_or_default();
    if let Some(stamp) = &stamp
        && let Some(calendar) = cache.0.get(Some(stamp), &key)
    {
        return Ok(calendar);
    }
    let calendar = WorkingCalendar::new(
        stored_rules(p).await?,
        stored_schedules(p).await?,
        office_hours_for(p, agency).await?,
    );
    if let Some(stamp) = &stamp {
        cache.0.insert(Some(stamp), key, calendar.clone());
    }
    Ok(calendar)
}

pub async fn holidays(p: &Platform, year: i32) -> Result<Vec<DayOff>> {
    Ok(working_calendar(p, None).await?.holidays_in_year(year))
}

/// The due instant `working_days` (or `working_hours`) after `from`, under the office hours of
/// the agency with identifier `agency_code` when given.
pub async fn due(
    p: &Platform,
    from: DateTime<FixedOffset>,
    working_days: Option<i64>,
    working_hours: Option<i64>,
    agency_code: Option<&str>,
) -> Result<DateTime<FixedOffset>> {
    let agency = match agency_code {
        Some(code) => Some(
            resolve_agency_code(p, code)
                .await?
                .ok_or_else(|| DomainError::not_found(format!("agency {code}")))?,
        ),
        None => None,
    };
    let calendar = working_calendar(p, agency.as_ref()).await?;
    let amount = |n: i64, unit: &str| {
        u64::try_from(n)
            .ok()
            .filter(|n| *n <= 3650)
            .ok_or_else(|| DomainError::invalid(format!("{unit} must be between 0 and 3650")))
    };
    let result = match (working_days, working_hours) {
        (Some(days), None) => calendar.add_working_days(from, amount(days, "working days")?),
        (None, Some(hours)) => calendar.add_working_hours(from, amount(hours, "working hours")?),
        _ => return Err(DomainError::invalid("give either working days or working hours").into()),
    };
    result.map_err(|e| {
        DomainError::invalid(e.to_string())
            .with_rule(e.code())
            .into()
    })
}

/// Installation-wide calendar data is the province's to set.
fn authorize_province(ctx: &Ctx) -> Result<()> {
    crate::identity::authorize_installation(ctx, Action::ManageCalendar)
}

/// Stores one year's official schedule (replacing the shipped one for that year).
pub async fn set_schedule(p: &Platform, ctx: &Ctx, schedule: &YearSchedule) -> Result<()> {
    authorize_province(ctx)?;
    if !(1900..=2100).contains(&schedule.year) {
        return Err(DomainError::invalid("year must be between 1900 and 2100").into());
    }
    let wrong_year = schedule
        .extra_days_off
        .iter()
        .chain(&schedule.extra_working_days)
        .any(|d| chrono::Datelike::year(&d.date) != schedule.year);
    if wrong_year {
        return Err(DomainError::invalid("every date of a schedule must fall in its year").into());
    }
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO calendar_schedules (year, schedule_json, updated_ms) VALUES ($1, $2, $3) ON CONFLICT (year) DO UPDATE SET schedule_json = excluded.schedule_json, updated_ms = excluded.updated_ms")
        .bind(i64::from(schedule.year))
        .bind(to_json(schedule)?)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    bump_stamp(&mut tx).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "calendar.schedule_set",
            "calendar_schedule",
            &schedule.year.to_string(),
            schedule,
        ),
    )
    .await?;
    tx.commit().await
}

pub async fn set_rules(p: &Platform, ctx: &Ctx, rules: &HolidayRules) -> Result<()> {
    authorize_province(ctx)?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO calendar_rules (id, rules_json, updated_ms) VALUES (1, $1, $2) ON CONFLICT (id) DO UPDATE SET rules_json = excluded.rules_json, updated_ms = excluded.updated_ms")
        .bind(to_json(rules)?)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    bump_stamp(&mut tx).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after("calendar.rules_set", "calendar_rules", "1", rules),
    )
    .await?;
    tx.commit().await
}

/// Sets an agency's office hours (they apply to its whole subtree unless overridden).
pub async fn set_office_hours(
    p: &Platform,
    ctx: &Ctx,
    agency_id: i64,
    hours: &OfficeHours,
) -> Result<()> {
    let agency = agency_by_id(p, agency_id)
        .await?
        .ok_or_else(|| DomainError::not_found("agency"))?;
    ctx.authorize(
        Action::ManageCalendar,
        &Target::Agency(&agency.agency_path()),
    )?;
    let validated = OfficeHours::new(hours.periods().to_vec())
        .map_err(|e| DomainError::invalid(e.to_string()))?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO agency_office_hours (agency_id, hours_json, updated_ms) VALUES ($1, $2, $3) ON CONFLICT (agency_id) DO UPDATE SET hours_json = excluded.hours_json, updated_ms = excluded.updated_ms")
        .bind(agency_id)
        .bind(to_json(&validated)?)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    bump_stamp(&mut tx).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "calendar.office_hours_set",
            "agency",
            &agency_id.to_string(),
            &validated,
        ),
    )
    .await?;
    tx.commit().await
}
