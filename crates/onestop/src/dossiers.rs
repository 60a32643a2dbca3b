//! Dossier intake and reading: online filing by a citizen, counter intake by an officer (also
//! on someone's behalf, with the proxy's details), acceptance of online filings with the
//! receipt's appointment date, and access-checked reads.
//!
//! A dossier's code is taken from the per-agency, per-day counter inside the transaction that
//! inserts the dossier and its audit record: under any concurrency the codes of a day are
//! consecutive, with no duplicate and no gap.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::Row;
use tinhso_core::access::{Action as AccessAction, Role, Target};
use tinhso_core::identity::check_personal_id;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::{Change, PendingAudit};
use tinhso_platform::batch::Finished;
use tinhso_platform::org::{
    AGENCY_COLUMN_COUNT, Agency, agency_at, agency_by_id, agency_columns, resolve_agency_code,
};
use tinhso_platform::{
    Batch, Caller, Ctx, Dialect, Error, Outcomes, Platform, Result, StatementId, WriteTx,
};

use crate::catalog;
use crate::documents as docs;
use crate::domain::catalog::{Channel, Level, validate_form};
use crate::domain::documents::{DocumentInput, plan_documents};
use crate::domain::dossier::{Action, Status, dossier_code, dossier_code_prefix, next_status};
use tinhso_core::calendar::{DeadlineClock, WorkingCalendar};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Applicant {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub email: String,
}

/// Someone filing on the applicant's behalf (người được ủy quyền).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Proxy {
    pub name: String,
    pub id_number: String,
    /// The authorisation: document number and date, or its description.
    pub authorization: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewDossier {
    pub procedure_code: String,
    /// Identifier of the receiving agency.
    pub agency_code: String,
    pub channel: Channel,
    /// Officers fill it at the counter; for a citizen filing online it comes from the account.
    #[serde(default)]
    pub applicant: Applicant,
    #[serde(default)]
    pub proxy: Option<Proxy>,
    #[serde(default)]
    pub form: Map<String, Value>,
    /// One item per required document of the procedure (at least): an upload, a document of
    /// the citizen's store (online, where the procedure marks it reusable) or, at the counter,
    /// the paper original the officer checked.
    #[serde(default)]
    pub documents: Vec<DocumentInput>,
}

/// A dossier as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct DossierView {
    pub code: String,
    pub status: Status,
    /// `TrangThaiHoSo` of the national portal.
    pub national_status: u8,
    pub procedure_code: String,
    pub procedure_version: i64,
    pub agency_code: String,
    pub channel: String,
    pub applicant_name: String,
    pub submitted_at: String,
    pub received_at: Option<String>,
    pub due_at: Option<String>,
    /// The new appointment of an apology letter, if one was issued (`due_at` stays the legal one).
    pub apology_due_at: Option<String>,
    /// Decided after the appointment.
    pub resolved_late: bool,
    /// The fee last requested (whole đồng), if any.
    pub fee_amount: Option<i64>,
    /// Whether that fee was paid (through a verified gateway callback).
    pub fee_paid: bool,
    pub events: Vec<EventView>,
    /// The internal process so far, each step with its own deadline and lateness.
    pub steps: Vec<crate::steps::StepView>,
    /// Documents filed, supplemented and (once returned, or to officers) the results.
    pub documents: Vec<crate::documents::DocumentView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub at: String,
    pub action: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: String,
    /// The appointment after this event (it moves when the clock stops and restarts).
    pub due_at: Option<String>,
}

fn vietnam_time(ms: i64) -> String {
    tinhso_core::calendar::vietnam_instant(ms).to_rfc3339()
}

/// Who files: a citizen for themself online, or a counter officer of the receiving agency.
fn check_intake_caller(ctx: &Ctx, input: &NewDossier, agency: &Agency) -> Result<Option<i64>> {
    match &ctx.caller {
        Caller::Local => Ok(None),
        Caller::Anonymous => Err(Error::domain(
            ErrorCode::Unauthenticated,
            "log in to file a dossier",
        )),
        Caller::User(principal) if principal.has_role(Role::Citizen) => {
            ctx.authorize(
                AccessAction::SubmitDossier,
                &Target::OwnedBy(principal.user_id),
            )?;
            if input.channel != Channel::Online {
                return Err(DomainError::invalid(
                    "citizens file online; counter and postal dossiers are taken in by an officer",
                )
                .into());
            }
            Ok(Some(principal.user_id))
        }
        Caller::User(_) => {
            ctx.authorize(
                AccessAction::ReceiveDossier,
                &Target::Agency(&agency.agency_path()),
            )?;
            if input.channel == Channel::Online {
                return Err(DomainError::invalid(
                    "an officer takes dossiers in at the counter or by post",
                )
                .into());
            }
            Ok(None)
        }
    }
}

fn level_matches(levels: &[Level], agency: &Agency) -> bool {
    let commune = agency.level == "commune";
    levels.iter().any(|l| (*l == Level::Commune) == commune)
}

fn required(field: &str, value: &str, max: usize) -> Result<String> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(
            DomainError::invalid(format!("{field}: required, at most {max} characters")).into(),
        );
    }
    Ok(value.to_owned())
}

/// Files a dossier. Online filings wait for acceptance; counter and postal intake is received
/// at once, with its appointment date.
pub async fn submit(p: &Platform, ctx: &Ctx, input: &NewDossier) -> Result<DossierView> {
    submit_inner(p, ctx, input, None).await
}

/// Files a citizen's draft (see `crate::drafts::submit`): the draft is claimed in the filing's
/// transaction, so a second submission returns the dossier of the first.
pub(crate) async fn submit_draft(
    p: &Platform,
    ctx: &Ctx,
    input: &NewDossier,
    draft_id: i64,
) -> Result<DossierView> {
    submit_inner(p, ctx, input, Some(draft_id)).await
}

async fn submit_inner(
    p: &Platform,
    ctx: &Ctx,
    input: &NewDossier,
    draft: Option<i64>,
) -> Result<DossierView> {
    let agency = resolve_agency_code(p, input.agency_code.trim())
        .await?
        .filter(|a| a.active)
        .ok_or_else(|| DomainError::not_found(format!("receiving agency {}", input.agency_code)))?;
    let applicant_user = check_intake_caller(ctx, input, &agency)?;
    let procedure = catalog::get(p, input.procedure_code.trim()).await?;
    let spec = &procedure.spec;
    if !spec.accepts(input.channel) {
        return Err(DomainError::invalid(format!(
            "procedure {} is not offered through the {} channel",
            spec.code,
            input.channel.as_str()
        ))
        .into());
    }
    if !level_matches(&spec.levels, &agency) {
        return Err(DomainError::invalid(format!(
            "{} does not handle procedure {} at its level",
            agency.code, spec.code
        ))
        .into());
    }
    let field_errors = validate_form(&spec.form, &input.form);
    if !field_errors.is_empty() {
        let listed: Vec<String> = field_errors
            .iter()
            .map(|e| format!("{}={}", e.field, e.rule))
            .collect();
        return Err(DomainError::invalid(format!("form: {}", listed.join(", ")))
            .with_rule("form.invalid")
            .into());
    }
    let planned = plan_documents(&spec.required_documents, &input.documents, input.channel)?;
    let documents =
        docs::resolve_filing(p, ctx, applicant_user, &spec.required_documents, &planned).await?;
    let applicant = match applicant_user {
        Some(user_id) => {
            let user = tinhso_platform::identity::user_by_id(p, user_id)
                .await?
                .ok_or_else(DomainError::forbidden)?;
            Applicant {
                name: user.display_name,
                id_number: user.personal_id.or(user.tax_code).unwrap_or_default(),
                phone: if input.applicant.phone.is_empty() {
                    user.phone
                } else {
                    input.applicant.phone.clone()
                },
                email: if input.applicant.email.is_empty() {
                    user.email
                } else {
                    input.applicant.email.clone()
                },
            }
        }
        None => input.applicant.clone(),
    };
    let name = required("applicant name", &applicant.name, 200)?;
    let id_number = required("applicant ID number", &applicant.id_number, 20)?;
    if let Some(proxy) = &input.proxy {
        required("proxy name", &proxy.name, 200)?;
        check_personal_id(proxy.id_number.trim())?;
        required("proxy authorisation", &proxy.authorization, 500)?;
    }
    let online = input.channel == Channel::Online;
    let status = if online {
        Status::Submitted
    } else {
        Status::Received
    };
    // Read before the write transaction: nothing slow happens while the write lock is held.
    let calendar = tinhso_platform::calendar::working_calendar(p, Some(&agency)).await?;
    let (received_ms, clock_json, due_ms) = if online {
        (None, None, None)
    } else {
        let (clock, due) = start_clock(&calendar, spec.processing_time.hours(), ctx.now_ms)?;
        (Some(ctx.now_ms), Some(clock), Some(due))
    };
    let local_day = tinhso_core::calendar::vietnam_instant(ctx.now_ms).date_naive();
    let form_json = serde_json::to_string(&input.form).map_err(|e| Error::Other(e.to_string()))?;
    let proxy_json = input
        .proxy
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Other(e.to_string()))?;
    let received_by = if online {
        None
    } else {
        ctx.principal().map(|pr| pr.user_id)
    };

    let mut tx = p.db.begin_write().await?;
    if let Some(draft_id) = draft
        && let Some(existing) = crate::drafts::claim(&mut tx, draft_id).await?
    {
        drop(tx);
        return load(p, &existing, false).await;
    }
    // The agency's daily counter row stays locked until the commit, so every intake of that
    // agency waits for the one before it. SQLite runs one writer at a time anyway: the code is
    // taken first, by the dossier's insert itself. PostgreSQL runs writers side by side: the
    // dossier goes in under a placeholder and the code is taken as late as possible (after
    // its documents, steps and history line), so the wait covers only what names the code
    // (the audit record and the notifications) and the commit.
    let dialect = p.db.dialect();
    let day = local_day.to_string();
    let code_sql = match dialect {
        Dialect::Sqlite => {
            tx.take_turn(&counter_row(&agency.code, &day)).await;
            CODE_FROM_COUNTER
        }
        Dialect::Postgres => "$1",
    };
    // The new row comes back as the response shows it: no reading it again after the commit.
    let sql = format!(
        "INSERT INTO dossiers (code, agency_id, procedure_version_id, procedure_code, applicant_user_id, applicant_name, applicant_id_number, applicant_phone, applicant_email, proxy_json, channel, status, form_json, submitted_ms, received_ms, due_ms, received_by, clock_json, updated_ms) VALUES ({code_sql}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $14) RETURNING {HEAD_COLUMNS}"
    );
    let code_or_prefix = match dialect {
        Dialect::Sqlite => dossier_code_prefix(&agency.code, local_day),
        Dialect::Postgres => placeholder_code(),
    };
    let mut first = Batch::new();
    if dialect == Dialect::Sqlite {
        push_counter_step(&mut first, &agency.code, &day);
    }
    let (agency_code, counter_day) = (agency.code.clone(), day.clone());
    let (agency_id, version_id, procedure_code) =
        (agency.id, procedure.version_id, spec.code.clone());
    let (applicant_name, applicant_id) = (name.clone(), id_number.clone());
    let (phone, email) = (
        applicant.phone.trim().to_owned(),
        applicant.email.trim().to_owned(),
    );
    let (channel, now_ms) = (input.channel.as_str(), ctx.now_ms);
    let dossier_insert = first.push(sql, move |q| {
        let q = q
            .bind(code_or_prefix)
            .bind(agency_id)
            .bind(version_id)
            .bind(procedure_code)
            .bind(applicant_user)
            .bind(applicant_name)
            .bind(applicant_id)
            .bind(phone)
            .bind(email)
            .bind(proxy_json)
            .bind(channel)
            .bind(status.as_str())
            .bind(form_json)
            .bind(now_ms)
            .bind(received_ms)
            .bind(due_ms)
            .bind(received_by)
            .bind(clock_json);
        match dialect {
            Dialect::Sqlite => q.bind(agency_code).bind(counter_day),
            Dialect::Postgres => q,
        }
    });
    let inserted = first
        .run(&mut tx)
        .await?
        .take_rows(dossier_insert)
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("the dossier's insert returned no row".into()))?;
    let insert_code: String = inserted.try_get(1)?;
    let early_code = (dialect == Dialect::Sqlite).then(|| insert_code.clone());
    let mut head = head_view(&inserted, procedure.version, agency.code.clone())?;
    let id = head.0;
    // What follows the dossier's row goes to the database as one batch.
    let mut batch = Batch::new();
    let claims = docs::link(&mut batch, ctx, id, "submitted", &documents);
    let steps = if online {
        crate::steps::StepWrite::none()
    } else {
        crate::steps::apply(
            tx.dialect,
            &mut batch,
            ctx,
            crate::steps::StepInput {
                dossier_id: id,
                process: &spec.process,
                agency_id: agency.id,
                calendar: &calendar,
                closing_calendar: &calendar,
                action: Action::Accept,
                open: None,
            },
        )?
    };
    let event = Event {
        dossier_id: id,
        code: &insert_code,
        email: applicant.email.trim(),
        phone: applicant.phone.trim(),
        action: "submit",
        from: None,
        to: status,
        note: "",
        due_ms,
    };
    let line = push_event(&mut batch, ctx, &event);
    let summary = |code: &str| serde_json::json!({ "code": code, "status": status, "procedure": spec.code, "channel": input.channel, "documents": documents.len() });
    // With the code known (SQLite), the audit record joins the batch.
    let early_summary = early_code.as_deref().map(summary);
    let audit = match (&early_code, &early_summary) {
        (Some(code), Some(after)) => Some(p.defer_audit(
            &mut batch,
            &mut tx,
            ctx,
            Change::after("dossier.submit", "dossier", code, after),
        )),
        _ => None,
    };
    let parts = ActionBatch {
        batch,
        checks: ActionChecks {
            dossier: None,
            claims,
            steps,
            line,
        },
    };
    // With nothing to write after the batch, it commits in its own call.
    let commit_in_call = early_code.is_some() && draft.is_none() && !may_queue_for_event(p, &event);
    let (ran, mut tx) = match finish_action_batch(tx, parts, commit_in_call).await? {
        (ran, None) => {
            if let Some(pending) = audit {
                pending.settle_committed(&ran.outcomes)?;
            }
            return with_lists(p, head, false).await;
        }
        (ran, Some(tx)) => (ran, tx),
    };
    let code = match early_code {
        Some(code) => code,
        None => {
            let code = take_dossier_code(&mut tx, &agency.code, local_day).await?;
            sqlx::query("UPDATE dossiers SET code = $1 WHERE id = $2")
                .bind(&code)
                .bind(id)
                .execute(&mut *tx.tx)
                .await?;
            code
        }
    };
    head.1.code.clone_from(&code);
    match audit {
        Some(pending) => p.settle_audit(&mut tx, pending, &ran.outcomes).await?,
        None => {
            let after = summary(&code);
            let change = Change::after("dossier.submit", "dossier", &code, &after);
            p.audit(&mut tx, ctx, change).await?
        }
    };
    let event = Event {
        code: &code,
        ..event
    };
    queue_for_event(p, &mut tx, ctx, ran.event_id, &event).await?;
    if let Some(draft_id) = draft {
        crate::drafts::mark_submitted(p, &mut tx, ctx, draft_id, &code).await?;
    }
    tx.commit().await?;
    with_lists(p, head, false).await
}

/// The next code of the agency's day from its counter row, upserted in the caller's
/// transaction: consecutive and never duplicated, because the row stays locked until commit.
async fn take_dossier_code(
    tx: &mut WriteTx,
    agency_code: &str,
    local_day: chrono::NaiveDate,
) -> Result<String> {
    let day = local_day.to_string();
    tx.take_turn(&counter_row(agency_code, &day)).await;
    let mut batch = Batch::new();
    let step = push_counter_step(&mut batch, agency_code, &day);
    let row = batch
        .run(tx)
        .await?
        .take_rows(step)
        .into_iter()
        .next()
        .ok_or_else(|| Error::Other("the dossier counter returned no row".into()))?;
    Ok(dossier_code(agency_code, local_day, row.try_get(0)?))
}

/// The turn's name of an agency's daily counter row (see `WriteTx::take_turn`).
fn counter_row(agency_code: &str, day: &str) -> String {
    format!("dossier_counters/{agency_code}/{day}")
}

/// Adds the step of an agency's daily counter to the batch; it returns the new `last_seq`.
fn push_counter_step<'q>(batch: &mut Batch<'q>, agency_code: &str, day: &str) -> StatementId {
    let (agency_code, day) = (agency_code.to_owned(), day.to_owned());
    batch.push(
        "INSERT INTO dossier_counters (agency_code, day, last_seq) VALUES ($1, $2, 1) ON CONFLICT (agency_code, day) DO UPDATE SET last_seq = dossier_counters.last_seq + 1 RETURNING last_seq",
        move |q| q.bind(agency_code).bind(day),
    )
}

/// A dossier's code in its insert on SQLite, from the counter row the statement before
/// stepped: `$1` is the code's prefix ([`dossier_code_prefix`]), `$19` and `$20` the counter's
/// agency and day. SQLite's `printf('%04d')` pads as [`dossier_code`] does (a test checks
/// the two agree).
const CODE_FROM_COUNTER: &str = "$1 || printf('%04d', (SELECT last_seq FROM dossier_counters WHERE agency_code = $19 AND day = $20))";

/// A unique stand-in for a dossier's code until its real code is taken later in the same
/// transaction; no other transaction ever sees it.
fn placeholder_code() -> String {
    format!("~{}", tinhso_platform::identity::random_token())
}

/// Starts the legal clock at receipt: the statutory working time under the receiving
/// agency's calendar and office hours (a receipt outside office hours starts at the next
/// period). Returns the clock to store and the appointment instant.
fn start_clock(calendar: &WorkingCalendar, hours: u64, from_ms: i64) -> Result<(String, i64)> {
    let mut clock = DeadlineClock::new(hours * 60);
    clock
        .start(tinhso_core::calendar::vietnam_instant(from_ms))
        .map_err(calendar_error)?;
    let due = clock
        .due(calendar)
        .map_err(calendar_error)?
        .ok_or_else(|| Error::Other("a running clock has a due date".into()))?;
    Ok((clock_text(&clock)?, due.timestamp_millis()))
}

pub(crate) fn calendar_error(e: tinhso_core::calendar::CalendarError) -> Error {
    DomainError::invalid(e.to_string())
        .with_rule(e.code())
        .into()
}

pub(crate) fn clock_text(clock: &DeadlineClock) -> Result<String> {
    serde_json::to_string(clock).map_err(|e| Error::Other(e.to_string()))
}

/// One line of a dossier's history.
pub(crate) struct Event<'a> {
    pub(crate) dossier_id: i64,
    /// The dossier's code and the applicant's contacts, for the notifications it causes
    /// (the caller has them already; reading them again would cost a statement per event).
    pub(crate) code: &'a str,
    pub(crate) email: &'a str,
    pub(crate) phone: &'a str,
    pub(crate) action: &'a str,
    pub(crate) from: Option<Status>,
    pub(crate) to: Status,
    pub(crate) note: &'a str,
    pub(crate) due_ms: Option<i64>,
}

/// Adds the history line of `e` to the transaction's batch; the statement returns its id.
fn push_event<'a>(batch: &mut Batch<'a>, ctx: &Ctx, e: &Event<'a>) -> StatementId {
    let (dossier_id, at_ms, actor) = (e.dossier_id, ctx.now_ms, ctx.actor.clone());
    let (action, from, to, note, due_ms) = (e.action, e.from, e.to, e.note, e.due_ms);
    batch.push(
        "INSERT INTO dossier_events (dossier_id, at_ms, actor, action, from_status, to_status, note, due_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        move |q| {
            q.bind(dossier_id)
                .bind(at_ms)
                .bind(actor)
                .bind(action)
                .bind(from.map(Status::as_str))
                .bind(to.as_str())
                .bind(note)
                .bind(due_ms)
        },
    )
}

/// The id of the history line [`push_event`] added, once the batch ran.
fn event_id(outcomes: &Outcomes, line: StatementId) -> Result<i64> {
    let row = outcomes
        .get(line)
        .rows
        .first()
        .ok_or_else(|| Error::Other("the history line returned no id".into()))?;
    Ok(row.try_get(0)?)
}

/// Whether a history line causes anything to queue (see [`queue_for_event`]).
fn may_queue_for_event(p: &Platform, e: &Event<'_>) -> bool {
    crate::notifications::may_enqueue(e) || p.config.national_portal.enabled
}

/// Queues what a history line causes — the citizen's notifications and, when the connector
/// is enabled, the national portal's sync — in the caller's transaction.
async fn queue_for_event(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    event_id: i64,
    e: &Event<'_>,
) -> Result<()> {
    crate::notifications::enqueue_for_event(tx, ctx, event_id, e).await?;
    if p.config.national_portal.enabled {
        crate::portal_sync::enqueue_for_event(tx, ctx, event_id, e).await?;
    }
    Ok(())
}

/// The writes of an action batched together, and what to check once they ran.
struct ActionBatch<'a> {
    batch: Batch<'a>,
    checks: ActionChecks,
}

/// What an action's batch is checked for: the dossier's own change (when it is in the
/// batch), the uploads it claims, its steps, its history line.
struct ActionChecks {
    /// The statement changing the dossier and returning its row.
    dossier: Option<StatementId>,
    /// The claims of the uploads it links.
    claims: docs::Claims,
    steps: crate::steps::StepWrite,
    line: StatementId,
}

/// An action batch that ran and passed its checks.
struct Ran {
    outcomes: Outcomes,
    /// The dossier's changed row, when its change was in the batch.
    changed: Option<sqlx::any::AnyRow>,
    event_id: i64,
}

/// Runs an action's batch in the caller's transaction and checks it.
async fn run_action_batch(tx: &mut WriteTx, parts: ActionBatch<'_>) -> Result<Ran> {
    let ran = parts.batch.run(tx).await;
    parts.checks.check(ran)
}

/// Runs an action's batch and checks it; with `commit_in_call`, commits in the same call
/// where the database allows (see [`Batch::run_and_commit`]). The transaction comes back
/// when it is still open, for what must follow the batch and the commit.
async fn finish_action_batch(
    mut tx: WriteTx,
    parts: ActionBatch<'_>,
    commit_in_call: bool,
) -> Result<(Ran, Option<WriteTx>)> {
    if !commit_in_call {
        let ran = run_action_batch(&mut tx, parts).await?;
        return Ok((ran, Some(tx)));
    }
    let (outcomes, open) = match parts.batch.run_and_commit(tx).await {
        Ok(Finished::Committed(outcomes)) => (Ok(outcomes), None),
        Ok(Finished::Open(outcomes, tx)) => (Ok(outcomes), Some(tx)),
        Err(e) => (Err(e), None),
    };
    Ok((parts.checks.check(outcomes)?, open))
}

impl ActionChecks {
    /// Checks an action's batch, the dossier's own change first: when that found the dossier
    /// changed meanwhile, the batch stopped there and the error rolls back what it did
    /// before. A racing action can also end in a unique violation (the step it opens, opened
    /// already): that is the same conflict. (A batch that committed passed these checks as
    /// its guards.)
    fn check(&self, ran: Result<Outcomes>) -> Result<Ran> {
        let mut outcomes = match ran {
            Err(e) if self.dossier.is_some() && is_unique_violation(&e) => {
                return Err(changed_meanwhile());
            }
            ran => ran?,
        };
        self.claims.check(&outcomes)?;
        let changed = match self.dossier {
            Some(id) => Some(
                outcomes
                    .take_rows(id)
                    .into_iter()
                    .next()
                    .ok_or_else(changed_meanwhile)?,
            ),
            None => None,
        };
        self.steps.check(&outcomes)?;
        let event_id = event_id(&outcomes, self.line)?;
        Ok(Ran {
            outcomes,
            changed,
            event_id,
        })
    }
}

/// What an action that lost a race to another one gets.
pub(crate) fn changed_meanwhile() -> Error {
    Error::domain(
        ErrorCode::Conflict,
        "the dossier changed meanwhile; reload it",
    )
}

fn is_unique_violation(e: &Error) -> bool {
    matches!(e, Error::Database(sqlx::Error::Database(db)) if db.is_unique_violation())
}

/// The counter accepts a dossier filed online: receipt now, appointment from now.
pub async fn accept(p: &Platform, ctx: &Ctx, code: &str) -> Result<DossierView> {
    act(p, ctx, code, &Command::Accept).await
}

/// What can be done to a dossier after intake, with its parameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Command {
    /// Accept a dossier filed online (receipt, appointment).
    Accept,
    /// Do not accept a dossier filed online (incomplete or not this agency's), with the reason.
    RejectAtIntake {
        reason: String,
    },
    StartProcessing,
    /// Ask the citizen for missing items: the legal clock stops.
    RequestSupplement {
        items: Vec<String>,
        reason: String,
    },
    /// The citizen (or the counter on their behalf) supplements: the clock restarts.
    Supplement {
        #[serde(default)]
        note: String,
        /// Uploads (the caller's own) linked to the dossier as supplement documents.
        #[serde(default)]
        documents: Vec<i64>,
    },
    /// Ask for the fee: the clock stops until it is paid.
    RequestPayment {
        amount: u64,
    },
    /// The fee was paid: the clock restarts. Only the payments service issues it, on a
    /// verified gateway callback; it can neither be sent through the API nor run by `act`.
    #[serde(skip_deserializing)]
    ConfirmPayment {
        reference: String,
    },
    /// Decide favourably, attaching the result documents (the deciding officer's uploads:
    /// the signed licence, certificate, extract…). They reach the citizen's document store
    /// when the result is returned.
    Approve {
        #[serde(default)]
        note: String,
        #[serde(default)]
        result_documents: Vec<i64>,
    },
    Refuse {
        reason: String,
    },
    Suspend {
        reason: String,
    },
    Withdraw {
        #[serde(default)]
        reason: String,
    },
    ReturnResult {
        method: Channel,
    },
    /// Hand processing to another agency (liên thông); the receiving agency still returns
    /// the result.
    Transfer {
        to_agency_code: String,
        #[serde(default)]
        note: String,
    },
    /// Phiếu xin lỗi và hẹn lại ngày trả kết quả: a new appointment later than the legal
    /// one, with the reason; both dates are kept.
    Apologize {
        new_due: DateTime<FixedOffset>,
        reason: String,
    },
    /// Complete the open step of the internal process and hand the dossier to the next
    /// (chuyển bước); the decision and the return complete their own steps.
    CompleteStep {
        #[serde(default)]
        note: String,
    },
}

impl Command {
    fn action(&self) -> Action {
        match self {
            Self::Accept => Action::Accept,
            Self::RejectAtIntake { .. } => Action::RejectAtIntake,
            Self::StartProcessing => Action::StartProcessing,
            Self::RequestSupplement { .. } => Action::RequestSupplement,
            Self::Supplement { .. } => Action::Supplement,
            Self::RequestPayment { .. } => Action::RequestPayment,
            Self::ConfirmPayment { .. } => Action::ConfirmPayment,
            Self::Approve { .. } => Action::Approve,
            Self::Refuse { .. } => Action::Refuse,
            Self::Suspend { .. } => Action::Suspend,
            Self::Withdraw { .. } => Action::Withdraw,
            Self::ReturnResult { .. } => Action::ReturnResult,
            Self::Transfer { .. } => Action::Transfer,
            Self::Apologize { .. } => Action::Apologize,
            Self::CompleteStep { .. } => Action::CompleteStep,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::RejectAtIntake { .. } => "reject_at_intake",
            Self::StartProcessing => "start_processing",
            Self::RequestSupplement { .. } => "request_supplement",
            Self::Supplement { .. } => "supplement",
            Self::RequestPayment { .. } => "request_payment",
            Self::ConfirmPayment { .. } => "confirm_payment",
            Self::Approve { .. } => "approve",
            Self::Refuse { .. } => "refuse",
            Self::Suspend { .. } => "suspend",
            Self::Withdraw { .. } => "withdraw",
            Self::ReturnResult { .. } => "return_result",
            Self::Transfer { .. } => "transfer",
            Self::Apologize { .. } => "apologize",
            Self::CompleteStep { .. } => "complete_step",
        }
    }

    /// The note kept in the history; reasons are required where the law asks for one.
    fn note(&self) -> Result<String> {
        let text = match self {
            Self::RequestSupplement { items, reason } => {
                if items.is_empty() || items.iter().any(|i| i.trim().is_empty()) {
                    return Err(DomainError::invalid("list each missing item")
                        .with_rule("dossier.supplement_items")
                        .into());
                }
                format!("{} — {}", reason.trim(), items.join("; "))
            }
            Self::Refuse { reason }
            | Self::Suspend { reason }
            | Self::RejectAtIntake { reason }
            | Self::Apologize { reason, .. } => {
                if reason.trim().is_empty() {
                    return Err(DomainError::invalid("a reason is required")
                        .with_rule("dossier.reason_required")
                        .into());
                }
                reason.trim().to_owned()
            }
            Self::RequestPayment { amount } => {
                if *amount == 0 || *amount > tinhso_platform::payment::MAX_AMOUNT.unsigned_abs() {
                    return Err(DomainError::invalid("the fee is a positive amount of đồng")
                        .with_rule("dossier.fee_amount")
                        .into());
                }
                format!("{amount} đ")
            }
            Self::ConfirmPayment { reference } => reference.clone(),
            Self::ReturnResult { method } => method.as_str().to_owned(),
            Self::Transfer {
                to_agency_code,
                note,
            } => format!("→ {} {}", to_agency_code.trim(), note.trim())
                .trim_end()
                .to_owned(),
            Self::Supplement { note, .. }
            | Self::CompleteStep { note }
            | Self::Approve { note, .. }
            | Self::Withdraw { reason: note } => note.trim().to_owned(),
            Self::Accept | Self::StartProcessing => String::new(),
        };
        if text.chars().count() > 2000 {
            return Err(DomainError::invalid("the note has at most 2000 characters").into());
        }
        Ok(text)
    }
}

/// Who may do what: the applicant supplements and withdraws their own dossier; the counter
/// receives, supplements on the applicant's behalf and returns results; specialists and
/// leaders process; leaders decide. Callers who may not even see the dossier are told it
/// does not exist.
fn authorize_command(
    ctx: &Ctx,
    command: &Command,
    row: &DossierRow,
    receiving: &Agency,
    handling: &Agency,
) -> Result<()> {
    if matches!(ctx.caller, Caller::Local) {
        return Ok(());
    }
    let (receiving_path, handling_path) = (receiving.agency_path(), handling.agency_path());
    let at_receiving = |action| {
        ctx.authorize(action, &Target::Agency(&receiving_path))
            .is_ok()
    };
    let at_handling = |action| {
        ctx.authorize(action, &Target::Agency(&handling_path))
            .is_ok()
    };
    let own = row.applicant_user_id.is_some_and(|owner| {
        ctx.principal().is_some_and(|pr| pr.user_id == owner)
            && ctx
                .authorize(AccessAction::SubmitDossier, &Target::OwnedBy(owner))
                .is_ok()
    });
    if !own && !at_receiving(AccessAction::ViewDossier) && !at_handling(AccessAction::ViewDossier) {
        return Err(DomainError::not_found("dossier").into());
    }
    let allowed = match command {
        Command::Accept | Command::RejectAtIntake { .. } | Command::ReturnResult { .. } => {
            at_receiving(AccessAction::ReceiveDossier)
        }
        Command::Supplement { .. } | Command::Withdraw { .. } => {
            own || at_receiving(AccessAction::ReceiveDossier)
        }
        Command::StartProcessing
        | Command::RequestSupplement { .. }
        | Command::RequestPayment { .. }
        | Command::Transfer { .. }
        | Command::CompleteStep { .. }
        | Command::Apologize { .. } => at_handling(AccessAction::ProcessDossier),
        Command::Approve { .. } | Command::Refuse { .. } | Command::Suspend { .. } => {
            at_handling(AccessAction::DecideDossier)
        }
        // Paid only on a verified gateway callback (see `payments`), never by a person.
        Command::ConfirmPayment { .. } => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(DomainError::forbidden().into())
    }
}

/// The legal clock after `command`: started at acceptance, stopped while the citizen owes a
/// supplement or the fee, restarted when they deliver. Returns the clock and the due instant.
fn clock_after(
    calendar: &WorkingCalendar,
    spec: &crate::domain::catalog::ProcedureSpec,
    row: &DossierRow,
    command: &Command,
    now_ms: i64,
) -> Result<(Option<String>, Option<i64>)> {
    if let Command::Accept = command {
        let (clock, due) = start_clock(calendar, spec.processing_time.hours(), now_ms)?;
        return Ok((Some(clock), Some(due)));
    }
    let Some(text) = &row.clock_json else {
        return Ok((None, row.due_ms));
    };
    let mut clock: DeadlineClock =
        serde_json::from_str(text).map_err(|e| Error::Other(format!("stored clock: {e}")))?;
    let now = tinhso_core::calendar::vietnam_instant(now_ms);
    match command {
        Command::RequestSupplement { .. } | Command::RequestPayment { .. }
            if clock.is_running() =>
        {
            clock.pause(now, calendar).map_err(calendar_error)?;
        }
        Command::Supplement { .. } | Command::ConfirmPayment { .. } if !clock.is_running() => {
            clock.resume(now).map_err(calendar_error)?
        }
        _ => {}
    }
    let due = match clock.due(calendar).map_err(calendar_error)? {
        Some(due) => Some(due.timestamp_millis()),
        // While stopped the appointment is unknown; the last one stays on record.
        None => row.due_ms,
    };
    Ok((Some(clock_text(&clock)?), due))
}

/// Applies one command to a dossier, with its history line and audit record, atomically.
pub async fn act(p: &Platform, ctx: &Ctx, code: &str, command: &Command) -> Result<DossierView> {
    if matches!(command, Command::ConfirmPayment { .. }) {
        return Err(DomainError::forbidden().into());
    }
    let (row, agency, handling) = dossier_with_agencies(p, code).await?;
    authorize_command(ctx, command, &row, &agency, &handling)?;
    let transition = prepare(p, ctx, row, &agency, &handling, command).await?;
    let tx = p.db.begin_write().await?;
    let head = commit_transition(p, tx, ctx, code, &transition).await?;
    // The applicant sees result documents only once the result is handed over.
    let applicant_acting = ctx
        .principal()
        .is_some_and(|pr| Some(pr.user_id) == transition.row.applicant_user_id);
    // The dossier's columns came back from the change itself; its lists are read now.
    with_lists(
        p,
        head,
        !applicant_acting || transition.to == Status::Returned,
    )
    .await
}

/// A dossier with its receiving agency and the agency processing it.
pub(crate) async fn dossier_with_agencies(
    p: &Platform,
    code: &str,
) -> Result<(DossierRow, Agency, Agency)> {
    let mut row = dossier_row(p, code).await?;
    let agency = row.agency.clone();
    let handling = match row.handling_agency.take() {
        Some(handling) => handling,
        None if row.handling_agency_id.is_none() => agency.clone(),
        None => return Err(DomainError::not_found("dossier").into()),
    };
    Ok((row, agency, handling))
}

/// A checked command, ready to be written: everything is read and validated before the
/// write transaction starts.
pub(crate) struct Transition {
    row: DossierRow,
    command: Command,
    to: Status,
    note: String,
    clock: Option<String>,
    due: Option<i64>,
    resolved_late: bool,
    transfer_to: Option<i64>,
    apology_due: Option<i64>,
    /// The internal process of the dossier's procedure version, and the agency (with its
    /// calendar) of the step this command opens.
    process: Vec<crate::domain::catalog::ProcessStep>,
    step_agency_id: i64,
    step_calendar: WorkingCalendar,
    /// The calendar of the agency that ran the step this command closes (after a transfer
    /// the step opened next runs elsewhere).
    closing_calendar: Option<WorkingCalendar>,
    /// Documents the command attaches (supplement or result), already checked.
    attachment_role: &'static str,
    attached: Vec<docs::Resolved>,
    /// What the response shows beside the dossier's own columns: the version number of its
    /// procedure and the receiving agency's identifier.
    procedure_version: i64,
    agency_code: String,
}

/// Validates `command` on the dossier (after the caller was authorised) and computes its
/// effects.
pub(crate) async fn prepare(
    p: &Platform,
    ctx: &Ctx,
    row: DossierRow,
    agency: &Agency,
    handling: &Agency,
    command: &Command,
) -> Result<Transition> {
    let transfer_to = match command {
        Command::Transfer { to_agency_code, .. } => {
            let target = resolve_agency_code(p, to_agency_code.trim())
                .await?
                .filter(|a| a.active)
                .ok_or_else(|| DomainError::not_found(format!("agency {to_agency_code}")))?;
            if target.id == handling.id {
                return Err(DomainError::invalid("the dossier is already at that agency").into());
            }
            Some(target.id)
        }
        _ => None,
    };
    let note = command.note()?;
    let to = next_status(row.status, command.action())?;
    let (role, attached) = match command {
        Command::Supplement { documents, .. } => (
            "supplement",
            docs::resolve_uploads(p, ctx, documents).await?,
        ),
        Command::Approve {
            result_documents, ..
        } => (
            "result",
            docs::resolve_uploads(p, ctx, result_documents).await?,
        ),
        _ => ("", Vec::new()),
    };
    let apology_due = match command {
        Command::Apologize { new_due, .. } => {
            let new_due = new_due.timestamp_millis();
            if row.due_ms.is_none_or(|due| new_due <= due) || new_due <= ctx.now_ms {
                return Err(DomainError::invalid(
                    "the new appointment must be later than the current one and in the future",
                )
                .with_rule("dossier.apology_date")
                .into());
            }
            Some(new_due)
        }
        _ => None,
    };
    let procedure = catalog::version(p, row.procedure_version_id).await?;
    // The legal clock runs on the receiving agency's calendar; the step opened by this
    // action on the calendar of the agency that handles it.
    let calendar = tinhso_platform::calendar::working_calendar_under(
        p,
        Some(agency),
        row.calendar_stamp.clone(),
    )
    .await?;
    let (clock, due) = clock_after(&calendar, &procedure.spec, &row, command, ctx.now_ms)?;
    let step_agency = match transfer_to {
        Some(id) => agency_by_id(p, id)
            .await?
            .ok_or_else(|| DomainError::not_found("agency"))?,
        None => handling.clone(),
    };
    let closing_calendar = match transfer_to {
        Some(_) if handling.id == agency.id => Some(calendar.clone()),
        Some(_) => Some(tinhso_platform::calendar::working_calendar(p, Some(handling)).await?),
        None => None,
    };
    let step_calendar = if step_agency.id == agency.id {
        calendar
    } else {
        tinhso_platform::calendar::working_calendar(p, Some(&step_agency)).await?
    };
    let resolved_late =
        matches!(command, Command::Approve { .. }) && due.is_some_and(|d| ctx.now_ms > d);
    Ok(Transition {
        row,
        command: command.clone(),
        to,
        note,
        clock,
        due,
        resolved_late,
        transfer_to,
        apology_due,
        process: procedure.spec.process,
        step_agency_id: step_agency.id,
        step_calendar,
        closing_calendar,
        attachment_role: role,
        attached,
        procedure_version: procedure.version,
        agency_code: agency.code.clone(),
    })
}

/// The change of a dossier by an action: status, clock, and the fee asked for and whether it
/// was paid, kept beside the status; it returns what the response shows of the dossier. The
/// status in the WHERE clause makes a concurrent second action fail instead of applying
/// twice.
static TRANSITION_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "UPDATE dossiers SET status = $1, clock_json = $2, due_ms = $3, updated_ms = $4, received_ms = CASE WHEN $5 = 1 THEN $4 ELSE received_ms END, received_by = CASE WHEN $5 = 1 THEN $6 ELSE received_by END, resolved_ms = CASE WHEN $7 = 1 THEN $4 ELSE resolved_ms END, resolved_late = CASE WHEN $7 = 1 THEN $8 ELSE resolved_late END, closed_ms = CASE WHEN $9 = 1 THEN $4 ELSE closed_ms END, result_method = COALESCE($10, result_method), handling_agency_id = COALESCE($13, handling_agency_id), apology_due_ms = COALESCE($14, apology_due_ms), fee_amount = CASE WHEN $15 = 1 THEN $16 ELSE fee_amount END, fee_paid_ms = CASE WHEN $15 = 1 THEN NULL WHEN $17 = 1 THEN $4 ELSE fee_paid_ms END WHERE id = $11 AND status = $12 RETURNING {HEAD_COLUMNS}"
    )
});

/// Writes a prepared transition in the caller's transaction: the new status and clock, the
/// steps, the history line (and the citizen's notifications) and the audit record. The
/// writes nobody reads before the end go to the database as one batch. The caller commits.
pub(crate) async fn write_transition<'a>(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &'a Ctx,
    code: &'a str,
    t: &'a Transition,
) -> Result<(i64, DossierView)> {
    let (parts, audit, event) = transition_batch(p, tx, ctx, code, t).await?;
    let ran = run_action_batch(tx, parts).await?;
    after_transition_batch(p, tx, ctx, t, audit, &event, ran).await
}

/// Writes a transition and commits it: when nothing has to be written after its batch, in
/// the batch's own call.
async fn commit_transition<'a>(
    p: &Platform,
    mut tx: WriteTx,
    ctx: &'a Ctx,
    code: &'a str,
    t: &'a Transition,
) -> Result<(i64, DossierView)> {
    let (parts, audit, event) = transition_batch(p, &mut tx, ctx, code, t).await?;
    let commit_in_call = !(copies_results(t) || may_queue_for_event(p, &event));
    match finish_action_batch(tx, parts, commit_in_call).await? {
        (mut ran, None) => {
            audit.settle_committed(&ran.outcomes)?;
            transition_head(&mut ran, t)
        }
        (ran, Some(mut tx)) => {
            let head = after_transition_batch(p, &mut tx, ctx, t, audit, &event, ran).await?;
            tx.commit().await?;
            Ok(head)
        }
    }
}

/// Whether the transition hands the result over to an applicant with an account: their
/// document store gets copies after the batch.
fn copies_results(t: &Transition) -> bool {
    t.to == Status::Returned && t.row.applicant_user_id.is_some()
}

/// The writes of a transition in one batch, its deferred audit record and its history
/// event; the open payment is voided first when the transition leaves `awaiting_payment`.
async fn transition_batch<'a>(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &'a Ctx,
    code: &'a str,
    t: &'a Transition,
) -> Result<(ActionBatch<'a>, PendingAudit, Event<'a>)> {
    let Transition {
        row,
        command,
        to,
        note,
        due,
        apology_due,
        ..
    } = t;
    let (to, due, apology_due) = (*to, *due, *apology_due);
    // Leaving `awaiting_payment` otherwise than by the payment (withdrawn, refused,
    // suspended) voids the open attempt: money the gateway still takes for it is kept as
    // `paid_unapplied`. On PostgreSQL this locks the payment before the dossier, the order
    // the payment callback takes them in, so the two cannot deadlock.
    if row.status == Status::AwaitingPayment
        && !matches!(
            command,
            Command::RequestPayment { .. } | Command::ConfirmPayment { .. }
        )
    {
        void_open_payment(p, tx, ctx, code, row.id).await?;
    }
    let mut batch = Batch::new();
    let dossier = push_transition(&mut batch, ctx, t);
    let claims = docs::link(&mut batch, ctx, row.id, t.attachment_role, &t.attached);
    let steps = crate::steps::apply(
        tx.dialect,
        &mut batch,
        ctx,
        crate::steps::StepInput {
            dossier_id: row.id,
            process: &t.process,
            agency_id: t.step_agency_id,
            calendar: &t.step_calendar,
            closing_calendar: t.closing_calendar.as_ref().unwrap_or(&t.step_calendar),
            action: command.action(),
            open: row.open_step.clone(),
        },
    )?;
    let event = Event {
        dossier_id: row.id,
        code,
        email: &row.applicant_email,
        phone: &row.applicant_phone,
        action: command.name(),
        from: Some(row.status),
        to,
        note,
        due_ms: apology_due.or(due),
    };
    let line = push_event(&mut batch, ctx, &event);
    let audit = p.defer_audit(
        &mut batch,
        tx,
        ctx,
        Change {
            action: &format!("dossier.{}", command.name()),
            object_type: "dossier",
            object_id: code,
            before: Some(&row.status),
            after: Some(&to),
        },
    );
    let parts = ActionBatch {
        batch,
        checks: ActionChecks {
            dossier: Some(dossier),
            claims,
            steps,
            line,
        },
    };
    Ok((parts, audit, event))
}

/// What follows a transition's batch in its transaction: the results copied to the
/// applicant's store, the audit record settled, the event's messages queued.
async fn after_transition_batch(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    t: &Transition,
    audit: PendingAudit,
    event: &Event<'_>,
    mut ran: Ran,
) -> Result<(i64, DossierView)> {
    // The result is the citizen's once it is handed over (not at the decision: fees may still
    // be owed and the counter checks who collects it); only then it enters their store. After
    // the batch: the change is known to have applied, and results it attached are linked.
    if copies_results(t)
        && let Some(owner) = t.row.applicant_user_id
    {
        docs::copy_results_to_store(tx, ctx, t.row.id, owner).await?;
    }
    p.settle_audit(tx, audit, &ran.outcomes).await?;
    queue_for_event(p, tx, ctx, ran.event_id, event).await?;
    transition_head(&mut ran, t)
}

/// The dossier's head as the transition's change returned it.
fn transition_head(ran: &mut Ran, t: &Transition) -> Result<(i64, DossierView)> {
    let changed = ran
        .changed
        .take()
        .ok_or_else(|| Error::Other("the dossier's change returned no row".into()))?;
    head_view(&changed, t.procedure_version, t.agency_code.clone())
}

/// Adds the dossier's change by the transition to the batch (see [`TRANSITION_SQL`]).
fn push_transition<'a>(batch: &mut Batch<'a>, ctx: &Ctx, t: &'a Transition) -> StatementId {
    let (set_fee, fee, paid) = match &t.command {
        Command::RequestPayment { amount } => {
            (1, Some(i64::try_from(*amount).unwrap_or(i64::MAX)), 0)
        }
        Command::ConfirmPayment { .. } => (0, None, 1),
        _ => (0, None, 0),
    };
    let (now_ms, by) = (ctx.now_ms, ctx.principal().map(|pr| pr.user_id));
    let result_method = match &t.command {
        Command::ReturnResult { method } => Some(method.as_str()),
        _ => None,
    };
    // The dossier changed meanwhile when it matches nothing: the batch stops there.
    batch.push_expecting(TRANSITION_SQL.as_str(), 1, move |q| {
        q.bind(t.to.as_str())
            .bind(t.clock.as_deref())
            .bind(t.due)
            .bind(now_ms)
            .bind(i64::from(matches!(t.command, Command::Accept)))
            .bind(by)
            .bind(i64::from(t.to == Status::Resolved))
            .bind(i64::from(t.resolved_late))
            .bind(i64::from(t.to.is_final()))
            .bind(result_method)
            .bind(t.row.id)
            .bind(t.row.status.as_str())
            .bind(t.transfer_to)
            .bind(t.apology_due)
            .bind(set_fee)
            .bind(fee)
            .bind(paid)
    })
}

/// Voids the dossier's open payment attempt, audited when there was one.
async fn void_open_payment(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    code: &str,
    dossier_id: i64,
) -> Result<()> {
    let voided = sqlx::query(
        "UPDATE payments SET status = 'void', updated_ms = $1 WHERE dossier_id = $2 AND status = 'pending'",
    )
    .bind(ctx.now_ms)
    .bind(dossier_id)
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    if voided > 0 {
        p.audit(
            tx,
            ctx,
            Change {
                action: "payment.void",
                object_type: "dossier",
                object_id: code,
                before: Some(&"pending"),
                after: Some(&"void"),
            },
        )
        .await?;
    }
    Ok(())
}

pub(crate) struct DossierRow {
    pub(crate) id: i64,
    pub(crate) agency_id: i64,
    pub(crate) applicant_user_id: Option<i64>,
    procedure_version_id: i64,
    pub(crate) status: Status,
    clock_json: Option<String>,
    due_ms: Option<i64>,
    handling_agency_id: Option<i64>,
    applicant_email: String,
    applicant_phone: String,
    /// The open step of its internal process, read with the dossier (one statement less in
    /// the action's transaction; the step writes check it is still open).
    open_step: Option<crate::steps::OpenStep>,
    /// The calendar stamp as it was when the row was read.
    calendar_stamp: Option<String>,
    /// The receiving agency and the one processing the dossier after a transfer, read in the
    /// same statement.
    pub(crate) agency: Agency,
    handling_agency: Option<Agency>,
}

/// The columns [`dossier_row`] reads before the two agencies'.
const DOSSIER_ROW_COLUMNS: usize = 14;

static DOSSIER_ROW_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT d.id, d.agency_id, d.applicant_user_id, d.procedure_version_id, d.status, d.clock_json, d.due_ms, d.handling_agency_id, d.applicant_email, d.applicant_phone, s.id, s.step_index, s.clock_json, (SELECT value FROM settings WHERE key = $2), {}, {} FROM dossiers d JOIN agencies ra ON ra.id = d.agency_id LEFT JOIN agencies ha ON ha.id = d.handling_agency_id LEFT JOIN dossier_steps s ON s.dossier_id = d.id AND s.completed_ms IS NULL WHERE d.code = $1",
        agency_columns("ra"),
        agency_columns("ha")
    )
});

pub(crate) async fn dossier_row(p: &Platform, code: &str) -> Result<DossierRow> {
    // The calendar stamp comes along (read before any calendar data, as its rule wants): an
    // action then reads its calendar from the cache without a statement of its own.
    // Its agencies too: an action needs both, and they cost no statement of their own here.
    let row = sqlx::query(sqlx::AssertSqlSafe(DOSSIER_ROW_SQL.as_str()))
        .bind(code)
        .bind(tinhso_platform::calendar::STAMP_KEY)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("dossier"))?;
    Ok(DossierRow {
        id: row.try_get(0)?,
        agency_id: row.try_get(1)?,
        applicant_user_id: row.try_get(2)?,
        procedure_version_id: row.try_get(3)?,
        status: Status::parse(&row.try_get::<String, _>(4)?)?,
        clock_json: row.try_get(5)?,
        due_ms: row.try_get(6)?,
        handling_agency_id: row.try_get(7)?,
        applicant_email: row.try_get(8)?,
        applicant_phone: row.try_get(9)?,
        open_step: match row.try_get::<Option<i64>, _>(10)? {
            Some(step_id) => Some(crate::steps::OpenStep::from_columns(
                step_id,
                row.try_get(11)?,
                row.try_get(12)?,
            )?),
            None => None,
        },
        calendar_stamp: row.try_get(13)?,
        agency: agency_at(&row, DOSSIER_ROW_COLUMNS)?
            .ok_or_else(|| Error::Other("a dossier without its receiving agency".into()))?,
        handling_agency: agency_at(&row, DOSSIER_ROW_COLUMNS + AGENCY_COLUMN_COUNT)?,
    })
}

/// Reads a dossier: its applicant, or an officer of the receiving agency's subtree. Anyone
/// else is told it does not exist, so codes cannot be probed.
pub async fn view(p: &Platform, ctx: &Ctx, code: &str) -> Result<DossierView> {
    let (_, with_results) = document_access(p, ctx, code).await?;
    load(p, code, with_results).await
}

/// The access check of [`view`], for the dossier's documents too: returns the dossier's id and
/// whether result documents may be shown (to officers always; to the applicant once the
/// result was returned).
pub(crate) async fn document_access(p: &Platform, ctx: &Ctx, code: &str) -> Result<(i64, bool)> {
    let row = dossier_row(p, code).await?;
    let own = ctx
        .principal()
        .is_some_and(|pr| Some(pr.user_id) == row.applicant_user_id)
        && row.applicant_user_id.is_some_and(|owner| {
            ctx.authorize(AccessAction::ViewOwnRecords, &Target::OwnedBy(owner))
                .is_ok()
        });
    if !own && !matches!(ctx.caller, Caller::Local) {
        // Officers of the receiving agency and of the agency processing it after a transfer.
        let mut visible = false;
        for id in std::iter::once(row.agency_id).chain(row.handling_agency_id) {
            if let Some(agency) = agency_by_id(p, id).await? {
                visible |= ctx
                    .authorize(
                        AccessAction::ViewDossier,
                        &Target::Agency(&agency.agency_path()),
                    )
                    .is_ok();
            }
        }
        if !visible {
            return Err(DomainError::not_found("dossier").into());
        }
    }
    Ok((row.id, !own || row.status == Status::Returned))
}

/// The dossier columns a [`DossierView`] shows, in the order [`head_view`] reads them (a
/// `SELECT` and the `RETURNING` of an action's `UPDATE` alike).
const HEAD_COLUMNS: &str = "id, code, status, procedure_code, channel, applicant_name, submitted_ms, received_ms, due_ms, resolved_late, apology_due_ms, fee_amount, fee_paid_ms";

/// A dossier's view from its [`HEAD_COLUMNS`], without its lists (see [`with_lists`]).
fn head_view(
    row: &sqlx::any::AnyRow,
    procedure_version: i64,
    agency_code: String,
) -> Result<(i64, DossierView)> {
    let status = Status::parse(&row.try_get::<String, _>(2)?)?;
    Ok((
        row.try_get(0)?,
        DossierView {
            code: row.try_get(1)?,
            status,
            national_status: status.national_code(),
            procedure_code: row.try_get(3)?,
            procedure_version,
            agency_code,
            channel: row.try_get(4)?,
            applicant_name: row.try_get(5)?,
            submitted_at: vietnam_time(row.try_get(6)?),
            received_at: row.try_get::<Option<i64>, _>(7)?.map(vietnam_time),
            due_at: row.try_get::<Option<i64>, _>(8)?.map(vietnam_time),
            resolved_late: row.try_get::<i64, _>(9)? != 0,
            apology_due_at: row.try_get::<Option<i64>, _>(10)?.map(vietnam_time),
            fee_amount: row.try_get(11)?,
            fee_paid: row.try_get::<Option<i64>, _>(12)?.is_some(),
            events: Vec::new(),
            steps: Vec::new(),
            documents: Vec::new(),
        },
    ))
}

/// Fills a dossier's history, steps and documents into its view.
async fn with_lists(
    p: &Platform,
    (id, mut view): (i64, DossierView),
    with_results: bool,
) -> Result<DossierView> {
    // One statement for the three lists: each part fills the same typed column slots
    // (kind, order, four numbers, six texts), so they read as one union.
    let now_ms = p.now_ms();
    let rows = sqlx::query(sqlx::AssertSqlSafe(LISTS_SQL.as_str()))
        .bind(id)
        .bind(i64::from(with_results))
        .fetch_all(p.db.pool())
        .await?;
    for row in &rows {
        match row.try_get::<i64, _>(0)? {
            0 => view.events.push(event_from_slots(row)?),
            1 => view
                .steps
                .push(crate::steps::step_from_slots(row, now_ms, vietnam_time)?),
            _ => view.documents.push(docs::document_from_slots(row)?),
        }
    }
    Ok(view)
}

/// A dossier's history in the column slots of [`LISTS_SQL`]: kind 0, ordered by id.
const EVENT_SLOTS: &str = "SELECT CAST(0 AS BIGINT), id, at_ms, due_ms, NULL, NULL, action, from_status, to_status, note, NULL, NULL FROM dossier_events WHERE dossier_id = $1";

/// A dossier's history, steps and documents (results only when `$2` is 1), each in order.
static LISTS_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{EVENT_SLOTS} UNION ALL {} UNION ALL {} ORDER BY 1, 2",
        crate::steps::STEP_SLOTS,
        docs::DOCUMENT_SLOTS
    )
});

fn event_from_slots(r: &sqlx::any::AnyRow) -> Result<EventView> {
    Ok(EventView {
        at: vietnam_time(r.try_get(2)?),
        action: r.try_get(6)?,
        from_status: r.try_get(7)?,
        to_status: r.try_get(8)?,
        note: r.try_get(9)?,
        due_at: r.try_get::<Option<i64>, _>(3)?.map(vietnam_time),
    })
}

async fn load(p: &Platform, code: &str, with_results: bool) -> Result<DossierView> {
    let sql = format!(
        "SELECT {}, v.version, a.code FROM dossiers d JOIN procedure_versions v ON v.id = d.procedure_version_id JOIN agencies a ON a.id = d.agency_id WHERE d.code = $1",
        tinhso_platform::db::qualified(HEAD_COLUMNS, "d")
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(code)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("dossier"))?;
    let head = head_view(&row, row.try_get(13)?, row.try_get(14)?)?;
    with_lists(p, head, with_results).await
}

/// The logged-in caller allowed to read their own records (dossiers, documents): their id.
pub(crate) fn own_records_owner(ctx: &Ctx) -> Result<i64> {
    let principal = ctx
        .principal()
        .ok_or_else(|| Error::domain(ErrorCode::Unauthenticated, "log in first"))?;
    ctx.authorize(
        AccessAction::ViewOwnRecords,
        &Target::OwnedBy(principal.user_id),
    )?;
    Ok(principal.user_id)
}

/// The caller's own dossiers (citizens), newest first.
pub async fn mine(p: &Platform, ctx: &Ctx) -> Result<Vec<String>> {
    let user_id = own_records_owner(ctx)?;
    Ok(sqlx::query_scalar(
        "SELECT code FROM dossiers WHERE applicant_user_id = $1 ORDER BY id DESC LIMIT 200",
    )
    .bind(user_id)
    .fetch_all(p.db.pool())
    .await?)
}

/// What anyone holding the dossier code and the second factor may see: status, dates and
/// steps, and no personal data (no names, numbers, notes or actors).
#[derive(Debug, Clone, Serialize)]
pub struct PublicStatus {
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub agency_name: String,
    pub status: Status,
    pub national_status: u8,
    pub submitted_at: String,
    pub received_at: Option<String>,
    pub due_at: Option<String>,
    pub steps: Vec<PublicStep>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PublicStep {
    pub at: String,
    pub action: String,
    pub status: String,
}

/// Public lookup by code plus the last four digits of the applicant's ID number or phone. A
/// wrong factor looks exactly like an unknown code, so codes cannot be confirmed by guessing.
pub async fn public_status(p: &Platform, code: &str, check: &str) -> Result<PublicStatus> {
    let check = check.trim();
    let not_found = || Error::from(DomainError::not_found("dossier"));
    if check.len() != 4 || !check.bytes().all(|b| b.is_ascii_digit()) || code.len() > 40 {
        return Err(not_found());
    }
    let row = sqlx::query("SELECT d.applicant_id_number, d.applicant_phone, d.procedure_version_id, a.name FROM dossiers d JOIN agencies a ON a.id = d.agency_id WHERE d.code = $1")
        .bind(code)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(not_found)?;
    let (id_number, phone): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
    if !(digits(&id_number).ends_with(check)
        || (!phone.is_empty() && digits(&phone).ends_with(check)))
    {
        return Err(not_found());
    }
    let procedure = catalog::version(p, row.try_get(2)?).await?;
    let full = load(p, code, false).await?;
    Ok(PublicStatus {
        code: full.code,
        procedure_code: full.procedure_code,
        procedure_name: procedure.spec.name,
        agency_name: row.try_get(3)?,
        status: full.status,
        national_status: full.national_status,
        submitted_at: full.submitted_at,
        received_at: full.received_at,
        due_at: full.due_at,
        steps: full
            .events
            .into_iter()
            .map(|e| PublicStep {
                at: e.at,
                action: e.action,
                status: e.to_status,
            })
            .collect(),
    })
}

/// The applicant rates the service once the result was returned: 1 very satisfied,
/// 2 satisfied, 3 not satisfied, with an optional comment.
pub async fn rate(p: &Platform, ctx: &Ctx, code: &str, level: u8, comment: &str) -> Result<()> {
    let row = dossier_row(p, code).await?;
    let principal = ctx
        .principal()
        .ok_or_else(|| Error::from(DomainError::not_found("dossier")))?;
    let own = row.applicant_user_id == Some(principal.user_id)
        && ctx
            .authorize(
                AccessAction::SubmitDossier,
                &Target::OwnedBy(principal.user_id),
            )
            .is_ok();
    if !own {
        return Err(DomainError::not_found("dossier").into());
    }
    if !(1..=3).contains(&level) {
        return Err(DomainError::invalid(
            "level is 1 (very satisfied), 2 (satisfied) or 3 (not satisfied)",
        )
        .with_rule("rating.level")
        .into());
    }
    if comment.chars().count() > 2000 {
        return Err(DomainError::invalid("the comment has at most 2000 characters").into());
    }
    if row.status != Status::Returned {
        return Err(DomainError::new(
            ErrorCode::Conflict,
            "a dossier is rated after its result was returned",
        )
        .with_rule("rating.too_early")
        .into());
    }
    let mut tx = p.db.begin_write().await?;
    let inserted = sqlx::query("INSERT INTO dossier_ratings (dossier_id, level, comment, user_id, rated_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (dossier_id) DO NOTHING")
        .bind(row.id)
        .bind(i64::from(level))
        .bind(comment.trim())
        .bind(principal.user_id)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if inserted == 0 {
        return Err(
            DomainError::new(ErrorCode::Conflict, "this dossier was already rated")
                .with_rule("rating.already")
                .into(),
        );
    }
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "dossier.rate",
            "dossier",
            code,
            &serde_json::json!({ "level": level }),
        ),
    )
    .await?;
    tx.commit().await
}

/// One line of an officer's inbox.
#[derive(Debug, Clone, Serialize)]
pub struct InboxItem {
    pub code: String,
    pub procedure_code: String,
    pub status: Status,
    pub due_at: Option<String>,
    /// `on_time`, `due_soon` (due within 8 hours) or `overdue`, at the time of asking.
    pub urgency: &'static str,
    /// The open step of the internal process and its own deadline.
    pub step: Option<String>,
    pub step_due_at: Option<String>,
    /// The open step is past its deadline (the dossier may still be on time overall).
    pub step_overdue: bool,
}

/// Open dossiers of the agencies the caller may see, most urgent first (bounded).
pub async fn inbox(p: &Platform, ctx: &Ctx) -> Result<Vec<InboxItem>> {
    let principal = ctx
        .principal()
        .ok_or_else(|| Error::domain(ErrorCode::Unauthenticated, "log in first"))?;
    let scopes: Vec<&tinhso_core::agency::AgencyPath> = principal
        .grants
        .iter()
        .filter(|g| {
            ctx.authorize(AccessAction::ViewDossier, &Target::Agency(&g.agency_path))
                .is_ok()
        })
        .map(|g| &g.agency_path)
        .collect();
    if scopes.is_empty() {
        return Err(DomainError::forbidden().into());
    }
    // The caller's subtrees become path-prefix conditions, so the database does the filtering
    // (the inbox stays cheap with millions of dossiers).
    // The agencies in scope are found first, so the (agency_id, status) and
    // handling_agency_id indexes pick the open dossiers: with a million stored dossiers the
    // inbox reads only its own agencies' rows instead of scanning the table.
    let in_scope = (1..=scopes.len())
        .map(|i| format!("path LIKE ${i}"))
        .collect::<Vec<_>>()
        .join(" OR ");
    let sql = format!(
        "SELECT d.code, d.procedure_code, d.status, d.due_ms, s.name, s.due_ms FROM dossiers d LEFT JOIN dossier_steps s ON s.dossier_id = d.id AND s.completed_ms IS NULL WHERE d.status IN ('submitted', 'received', 'processing', 'supplement_requested', 'awaiting_payment', 'resolved') AND (d.agency_id IN (SELECT id FROM agencies WHERE {in_scope}) OR d.handling_agency_id IN (SELECT id FROM agencies WHERE {in_scope})) ORDER BY d.due_ms IS NULL, d.due_ms, d.id LIMIT 500"
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for scope in &scopes {
        query = query.bind(format!("{}%", scope.0));
    }
    let rows = query.fetch_all(p.db.pool()).await?;
    let soon = 8 * 3_600_000;
    let mut items = Vec::new();
    for row in &rows {
        let due: Option<i64> = row.try_get(3)?;
        let step_due: Option<i64> = row.try_get(5)?;
        let status = Status::parse(&row.try_get::<String, _>(2)?)?;
        let urgency = match due {
            Some(d) if d < ctx.now_ms => "overdue",
            Some(d) if d - ctx.now_ms < soon => "due_soon",
            _ => "on_time",
        };
        items.push(InboxItem {
            code: row.try_get(0)?,
            procedure_code: row.try_get(1)?,
            status,
            due_at: due.map(vietnam_time),
            urgency,
            step: row.try_get(4)?,
            step_due_at: step_due.map(vietnam_time),
            // A paused step keeps its last deadline on record; it is not overdue while the
            // citizen owes something, like the dossier itself.
            step_overdue: step_due.is_some_and(|d| d < ctx.now_ms)
                && !matches!(
                    status,
                    Status::SupplementRequested | Status::AwaitingPayment
                ),
        });
    }
    Ok(items)
}
