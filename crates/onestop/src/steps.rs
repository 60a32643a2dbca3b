//! Stored steps of each dossier's internal process, with per-step deadlines and lateness.
//!
//! Runs inside the transaction of the dossier action that causes it (the rules of which
//! step closes and opens live in [`crate::domain::steps`]), so a dossier's status, its
//! history line and its steps never disagree. A step's deadline is its duration in working
//! hours from the moment it opens, on the calendar of the agency handling it; its clock stops
//! while the citizen owes a supplement or the fee, exactly like the legal clock.

use chrono::{DateTime, FixedOffset};
use serde::Serialize;
use sqlx::Row;
use tinhso_core::calendar::{DeadlineClock, WorkingCalendar};
use tinhso_platform::batch::AnyQuery;
use tinhso_platform::{Batch, Ctx, Dialect, Error, Outcomes, Result, StatementId};

use crate::domain::catalog::ProcessStep;
use crate::domain::dossier::Action;
use crate::domain::steps::{StepEffect, budget_minutes, check_forward, completed_range, effect};

/// What a dossier action needs to know to move the steps.
pub(crate) struct StepInput<'a> {
    pub dossier_id: i64,
    pub process: &'a [ProcessStep],
    /// The agency that handles the step opened now (after a transfer: the new one).
    pub agency_id: i64,
    pub calendar: &'a WorkingCalendar,
    /// The calendar of the agency that ran the open step (differs from `calendar` only
    /// when the action transfers the dossier).
    pub closing_calendar: &'a WorkingCalendar,
    pub action: Action,
    /// The open step as read with the dossier before the transaction (none for a dossier
    /// created in it). The writes below fail with a conflict if that step was closed
    /// meanwhile; a step opened meanwhile meets the dossier's own guarded change or the
    /// steps' unique index.
    pub open: Option<OpenStep>,
}

/// The open step: its index, clock and deadline.
#[derive(Debug, Clone)]
pub(crate) struct OpenStep {
    id: i64,
    index: usize,
    clock: Option<DeadlineClock>,
}

impl OpenStep {
    /// From the stored columns `id, step_index, clock_json` of an open step.
    pub(crate) fn from_columns(id: i64, index: i64, clock: Option<String>) -> Result<Self> {
        Ok(Self {
            id,
            index: usize::try_from(index).unwrap_or(usize::MAX),
            clock: clock
                .map(|text| serde_json::from_str(&text))
                .transpose()
                .map_err(|e| Error::Other(format!("stored step clock: {e}")))?,
        })
    }
}

/// Fails when an update guarded on the step being open found it closed: a concurrent action
/// moved the steps after this one read them.
fn still_open(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 {
        return Err(crate::dossiers::changed_meanwhile());
    }
    Ok(())
}

/// The step write of an action whose row count proves the step it moved was still open;
/// checked once the batch ran.
#[must_use = "a step write is only safe once checked"]
pub(crate) struct StepWrite(Option<StatementId>);

impl StepWrite {
    /// An action that moves no step.
    pub(crate) fn none() -> Self {
        Self(None)
    }

    /// A conflict when the step was closed meanwhile (the caller's transaction then rolls
    /// back, with everything else the batch wrote).
    pub(crate) fn check(&self, outcomes: &Outcomes) -> Result<()> {
        match self.0 {
            Some(id) => still_open(outcomes.get(id).affected),
            None => Ok(()),
        }
    }
}

/// Moves the steps of a dossier for one action: the writes join the action's batch.
pub(crate) fn apply<'a>(
    dialect: Dialect,
    batch: &mut Batch<'a>,
    ctx: &Ctx,
    input: StepInput<'a>,
) -> Result<StepWrite> {
    let open = input.open.clone();
    let now = tinhso_core::calendar::vietnam_instant(ctx.now_ms);
    // Two forwards racing from the same step cannot pass over the leader's decision or the
    // return: the second one's close of that step finds it closed and fails.
    if matches!(input.action, Action::CompleteStep | Action::Transfer) && !input.process.is_empty()
    {
        check_forward(input.process, open.as_ref().map(|o| o.index))?;
    }
    let none = StepWrite::none();
    match effect(input.process, open.as_ref().map(|o| o.index), input.action) {
        StepEffect::None => Ok(none),
        StepEffect::Pause => match open {
            Some(step) => pause_or_resume(batch, &step, input.calendar, now, true),
            None => Ok(none),
        },
        StepEffect::Resume => match open {
            Some(step) => pause_or_resume(batch, &step, input.calendar, now, false),
            None => Ok(none),
        },
        StepEffect::Stop => match open {
            Some(step) => {
                let closing = Closing::of(ctx, &step, input.closing_calendar, "stopped")?;
                advance(dialect, batch, ctx, &input, Some(closing), &[])
            }
            None => Ok(none),
        },
        StepEffect::Advance {
            complete_through,
            open: next,
        } => {
            let current = open.as_ref().map(|o| o.index);
            let closing = open
                .as_ref()
                .map(|step| Closing::of(ctx, step, input.closing_calendar, "done"))
                .transpose()?;
            let mut inserted: Vec<(usize, Option<DeadlineClock>)> =
                completed_range(current, complete_through)
                    .filter(|passed| Some(*passed) != current)
                    .map(|passed| (passed, None))
                    .collect();
            if let Some(next) = next {
                let mut clock = DeadlineClock::new(
                    input
                        .process
                        .get(next)
                        .map(budget_minutes)
                        .unwrap_or_default(),
                );
                clock.start(now).map_err(crate::dossiers::calendar_error)?;
                inserted.push((next, Some(clock)));
            }
            advance(dialect, batch, ctx, &input, closing, &inserted)
        }
    }
}

fn pause_or_resume(
    batch: &mut Batch<'_>,
    step: &OpenStep,
    calendar: &WorkingCalendar,
    now: DateTime<FixedOffset>,
    pause: bool,
) -> Result<StepWrite> {
    let Some(mut clock) = step.clock.clone() else {
        return Ok(StepWrite::none());
    };
    match (pause, clock.is_running()) {
        (true, true) => clock
            .pause(now, calendar)
            .map_err(crate::dossiers::calendar_error)?,
        (false, false) => clock.resume(now).map_err(crate::dossiers::calendar_error)?,
        _ => return Ok(StepWrite::none()),
    }
    // While stopped the deadline is unknown; the last one stays on record.
    let due = clock
        .due(calendar)
        .map_err(crate::dossiers::calendar_error)?
        .map(|d| d.timestamp_millis());
    let (clock_json, step_id) = (crate::dossiers::clock_text(&clock)?, step.id);
    Ok(StepWrite(Some(batch.push_expecting(
        "UPDATE dossier_steps SET clock_json = $1, due_ms = COALESCE($2, due_ms) WHERE id = $3 AND completed_ms IS NULL",
        1,
        move |q| q.bind(clock_json).bind(due).bind(step_id),
    ))))
}

/// How the open step is closed: with which outcome, and whether after its deadline (its
/// working time ran out before now).
struct Closing<'a> {
    step_id: i64,
    outcome: &'a str,
    late: bool,
}

impl<'a> Closing<'a> {
    fn of(
        ctx: &Ctx,
        step: &OpenStep,
        calendar: &WorkingCalendar,
        outcome: &'a str,
    ) -> Result<Self> {
        let late = match &step.clock {
            Some(clock) => {
                clock
                    .remaining(tinhso_core::calendar::vietnam_instant(ctx.now_ms), calendar)
                    .map_err(crate::dossiers::calendar_error)?
                    < 0
            }
            None => false,
        };
        Ok(Self {
            step_id: step.id,
            outcome,
            late,
        })
    }

    fn bind<'q>(&self, query: AnyQuery<'q>, by: &Doer) -> AnyQuery<'q> {
        query
            .bind(by.now_ms)
            .bind(by.actor.clone())
            .bind(self.outcome.to_owned())
            .bind(i64::from(self.late))
            .bind(self.step_id)
    }
}

/// Who moves the steps, when, and of which dossier and agency: what the bound rows carry
/// besides the steps themselves, owned so the batch can bind it later.
#[derive(Clone)]
struct Doer {
    now_ms: i64,
    actor: String,
    dossier_id: i64,
    agency_id: i64,
}

/// Closes the open step, binding [`Closing::bind`]'s five values as `$1`…`$5`.
const CLOSE_STEP: &str = "UPDATE dossier_steps SET completed_ms = $1, completed_by = $2, outcome = $3, late = $4 WHERE id = $5 AND completed_ms IS NULL";

/// The columns of an inserted step, bound by [`NewStep::bind`].
const STEP_COLUMNS: &str = "dossier_id, step_index, name, role, agency_id, started_ms, due_ms, clock_json, completed_ms, completed_by, outcome";
const STEP_COLUMN_COUNT: usize = 11;

/// A step to insert: open with its running clock, or (no clock) done now by the action that
/// completed a later step (a decision completes the review before it).
struct NewStep<'a> {
    index: usize,
    step: &'a ProcessStep,
    due: Option<i64>,
    clock_json: Option<String>,
}

impl NewStep<'_> {
    fn bind<'q>(self, query: AnyQuery<'q>, by: &Doer) -> AnyQuery<'q> {
        let open = self.clock_json.is_some();
        query
            .bind(by.dossier_id)
            .bind(i64::try_from(self.index).unwrap_or(i64::MAX))
            .bind(self.step.name.clone())
            .bind(self.step.role.as_str())
            .bind(by.agency_id)
            .bind(by.now_ms)
            .bind(self.due)
            .bind(self.clock_json)
            .bind((!open).then_some(by.now_ms))
            .bind((!open).then(|| by.actor.clone()))
            .bind((!open).then_some("done"))
    }
}

/// The given steps as rows to insert; indexes outside the process are skipped.
fn new_steps<'a>(
    input: &StepInput<'a>,
    steps: &[(usize, Option<DeadlineClock>)],
) -> Result<Vec<NewStep<'a>>> {
    let mut rows = Vec::with_capacity(steps.len());
    for (index, clock) in steps {
        let Some(step) = input.process.get(*index) else {
            continue;
        };
        let due = match clock {
            Some(c) => c
                .due(input.calendar)
                .map_err(crate::dossiers::calendar_error)?
                .map(|d| d.timestamp_millis()),
            None => None,
        };
        let clock_json = clock
            .as_ref()
            .map(crate::dossiers::clock_text)
            .transpose()?;
        rows.push(NewStep {
            index: *index,
            step,
            due,
            clock_json,
        });
    }
    Ok(rows)
}

/// Closes the open step (if any) and inserts the given steps into the batch: the rows go in
/// only if the step was still open. SQLite runs the two statements back to back (the close
/// checked where it ran, so the batch stops before the insert); PostgreSQL as one statement whose insert
/// reads the update's `RETURNING`. Either way the statement returned is the one that
/// affects no row when the step was closed meanwhile.
fn advance<'a>(
    dialect: Dialect,
    batch: &mut Batch<'a>,
    ctx: &Ctx,
    input: &StepInput<'a>,
    closing: Option<Closing<'a>>,
    steps: &[(usize, Option<DeadlineClock>)],
) -> Result<StepWrite> {
    let rows = new_steps(input, steps)?;
    let by = Doer {
        now_ms: ctx.now_ms,
        actor: ctx.actor.clone(),
        dossier_id: input.dossier_id,
        agency_id: input.agency_id,
    };
    let values = |first| crate::sql::values_placeholders_from(first, rows.len(), STEP_COLUMN_COUNT);
    let checked = match (closing, rows.is_empty(), dialect) {
        (None, true, _) => None,
        (Some(closing), true, _) => {
            Some(batch.push_expecting(CLOSE_STEP, 1, move |q| closing.bind(q, &by)))
        }
        (None, false, _) => {
            let sql = format!(
                "INSERT INTO dossier_steps ({STEP_COLUMNS}) VALUES {}",
                values(1)
            );
            batch.push(sql, move |q| bind_rows(q, rows, &by));
            None
        }
        (Some(closing), false, Dialect::Sqlite) => {
            // A close that matched nothing stops the batch: the new steps are not written.
            let sql = format!(
                "INSERT INTO dossier_steps ({STEP_COLUMNS}) VALUES {}",
                values(1)
            );
            let close_by = by.clone();
            let close = batch.push_expecting(CLOSE_STEP, 1, move |q| closing.bind(q, &close_by));
            batch.push(sql, move |q| bind_rows(q, rows, &by));
            Some(close)
        }
        (Some(closing), false, Dialect::Postgres) => {
            let sql = format!(
                "WITH closed AS ({CLOSE_STEP} RETURNING id) INSERT INTO dossier_steps ({STEP_COLUMNS}) SELECT v.* FROM (VALUES {}) AS v WHERE EXISTS (SELECT 1 FROM closed)",
                values(6)
            );
            let opened = rows.len() as u64;
            Some(batch.push_expecting(sql, opened, move |q| {
                bind_rows(closing.bind(q, &by), rows, &by)
            }))
        }
    };
    Ok(StepWrite(checked))
}

/// Binds each row's values after those already bound.
fn bind_rows<'q>(mut query: AnyQuery<'q>, rows: Vec<NewStep<'_>>, by: &Doer) -> AnyQuery<'q> {
    for row in rows {
        query = row.bind(query, by);
    }
    query
}

/// One step as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct StepView {
    pub index: i64,
    pub name: String,
    pub role: String,
    pub agency_code: String,
    pub started_at: String,
    /// The step's own deadline (none for steps passed over).
    pub due_at: Option<String>,
    pub completed_at: Option<String>,
    /// `done` or `stopped`; none while the step is open.
    pub outcome: Option<String>,
    /// Completed after its deadline, or still open past it at the time of reading.
    pub late: bool,
}

/// A dossier's steps in the column slots of the dossier's lists query (see
/// `crate::dossiers::with_lists`): kind 1, ordered by step index.
pub(crate) const STEP_SLOTS: &str = "SELECT CAST(1 AS BIGINT), s.step_index, s.started_ms, s.due_ms, s.completed_ms, s.late, s.name, s.role, a.code, s.outcome, s.clock_json, NULL FROM dossier_steps s JOIN agencies a ON a.id = s.agency_id WHERE s.dossier_id = $1";

/// A step from a row of [`STEP_SLOTS`], lateness of the open one judged at `now_ms`.
pub(crate) fn step_from_slots(
    r: &sqlx::any::AnyRow,
    now_ms: i64,
    fmt: impl Fn(i64) -> String,
) -> Result<StepView> {
    let due: Option<i64> = r.try_get(3)?;
    let completed: Option<i64> = r.try_get(4)?;
    let running = r
        .try_get::<Option<String>, _>(10)?
        .and_then(|c| serde_json::from_str::<DeadlineClock>(&c).ok())
        .is_some_and(|c| c.is_running());
    // An open, running step is late once its deadline has passed.
    let late = r.try_get::<i64, _>(5)? != 0
        || (completed.is_none() && running && due.is_some_and(|d| now_ms > d));
    Ok(StepView {
        index: r.try_get(1)?,
        name: r.try_get(6)?,
        role: r.try_get(7)?,
        agency_code: r.try_get(8)?,
        started_at: fmt(r.try_get(2)?),
        due_at: due.map(&fmt),
        completed_at: completed.map(&fmt),
        outcome: r.try_get(9)?,
        late,
    })
}
