//! Incoming documents (văn bản đến): registration by the clerk with the yearly arrival
//! number, duplicate detection, routing by a leader, handling progress and completion.
//!
//! Invariants: the arrival number comes from the register's counter row upserted in the
//! registering transaction, taken before the duplicate check so that concurrent
//! registrations of one register are ordered by that row's lock (consecutive numbers, and a
//! duplicate racing its original is seen and refused); a duplicate (same document identifier,
//! or same number, notation and issuer, in the same agency) writes nothing; every change is
//! audited in its own transaction; reads go through the visibility rule of [`crate::common`].

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tinhso_core::access::Action as Access;
use tinhso_core::identity::AccountKind;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::Change;
use tinhso_platform::identity::user_by_id;
use tinhso_platform::org::{Agency, agency_by_id};
use tinhso_platform::{Caller, Ctx, Error, Platform, Result, WriteTx};

use crate::common::{
    active_agency, check_right, check_view, from_json_text, json_text, map_rows, next_number,
    not_found, parse_date, series_of, today, user_id, year_of,
};
use crate::domain::metadata::{Metadata, check_len};
use crate::domain::numbering::{format_number, parse_document_identifier};
use crate::domain::types::Confidentiality;
use crate::domain::workflow::{
    Assignment, HandlerPart, IncomingStatus, IncomingStep, check_handler, incoming_next,
};
use crate::files::{self, FileView};

pub const RULE_DUPLICATE: &str = "document.duplicate";

/// What the clerk registers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewIncoming {
    /// The receiving agency.
    pub agency_code: String,
    /// `paper` (a scan of the paper original) or `electronic`.
    #[serde(default = "paper")]
    pub source: String,
    /// The document identifier (`OrganId,yyyy/MM/dd,Số/KýHiệu`) when the document has one.
    #[serde(default)]
    pub document_id: Option<String>,
    pub metadata: Metadata,
    /// Uploaded files (`POST /documents/files`).
    #[serde(default)]
    pub file_ids: Vec<i64>,
}

fn paper() -> String {
    "paper".into()
}

/// One entry of the incoming register, as services build it.
#[derive(Debug, Clone)]
pub(crate) struct Entry<'a> {
    pub source: &'a str,
    pub document_id: Option<String>,
    pub metadata: &'a Metadata,
    pub files: Vec<FileView>,
    pub from_outgoing_id: Option<i64>,
    /// The official who registered it (none when it arrived by dispatch or exchange).
    pub registrar: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HandlerView {
    pub user_id: i64,
    pub display_name: String,
    pub part: HandlerPart,
    pub assigned_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgressView {
    pub kind: String,
    pub actor: String,
    pub user_id: Option<i64>,
    pub note: String,
    pub at_ms: i64,
}

/// A reply: an outgoing document answering this one (ResponseFor).
#[derive(Debug, Clone, Serialize)]
pub struct ReplyView {
    pub outgoing_id: i64,
    pub status: String,
    pub code: Option<String>,
    pub document_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncomingView {
    pub id: i64,
    pub agency_code: String,
    pub year: i64,
    /// `normal` or `secret` (the confidential register).
    pub series: String,
    pub arrival_number: i64,
    /// The number as written in the register (`05`).
    pub arrival_label: String,
    pub arrival_ms: i64,
    pub source: String,
    pub document_id: Option<String>,
    /// `Số/KýHiệu` as written on the document (empty when it has none).
    pub code: String,
    pub type_name: String,
    pub metadata: Metadata,
    pub status: IncomingStatus,
    pub deadline: Option<chrono::NaiveDate>,
    pub direction_note: String,
    pub handlers: Vec<HandlerView>,
    pub progress: Vec<ProgressView>,
    pub files: Vec<FileView>,
    /// What verifying each PDF file's signatures found (signer, time, validity).
    pub signatures: Vec<crate::signatures::FileSignatures>,
    pub replies: Vec<ReplyView>,
    pub from_outgoing_id: Option<i64>,
    /// The outgoing document of this installation that this entry answers (its ResponseFor).
    pub answers_outgoing_id: Option<i64>,
    pub revoked: bool,
}

/// One line of a list.
#[derive(Debug, Clone, Serialize)]
pub struct IncomingSummary {
    pub id: i64,
    pub year: i64,
    pub series: String,
    pub arrival_number: i64,
    pub arrival_ms: i64,
    pub code: String,
    pub organ_name: String,
    pub subject: String,
    pub status: IncomingStatus,
    pub urgency: crate::domain::types::Urgency,
    pub confidentiality: Confidentiality,
    pub deadline: Option<chrono::NaiveDate>,
}

fn code_of(m: &Metadata) -> String {
    crate::common::code_text(&m.code_number, &m.code_notation)
}

/// The clerk registers a document that arrived (on paper or electronically).
pub async fn register(p: &Platform, ctx: &Ctx, input: &NewIncoming) -> Result<IncomingView> {
    let agency = active_agency(p, &input.agency_code).await?;
    check_right(ctx, Access::RegisterDocuments, &agency.agency_path())?;
    if !matches!(input.source.as_str(), "paper" | "electronic") {
        return Err(DomainError::invalid("source is `paper` or `electronic`")
            .with_rule("document.source.unknown")
            .into());
    }
    input.metadata.check_incoming()?;
    if let Some(id) = &input.document_id {
        parse_document_identifier(id)?;
    }
    let mut tx = p.db.begin_write().await?;
    let mut claimed = Vec::new();
    for id in &input.file_ids {
        claimed.push(files::claim(&mut tx, ctx, *id).await?);
    }
    let entry = Entry {
        source: &input.source,
        document_id: input.document_id.clone().filter(|d| !d.is_empty()),
        metadata: &input.metadata,
        files: claimed,
        from_outgoing_id: None,
        registrar: user_id(ctx),
    };
    let id = insert(p, &mut tx, ctx, &agency, &entry).await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Writes one register entry inside `tx`: number, duplicate check, row, files, audit.
pub(crate) async fn insert(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    agency: &Agency,
    entry: &Entry<'_>,
) -> Result<i64> {
    let m = entry.metadata;
    let year = year_of(ctx.now_ms);
    let series = series_of(m.confidentiality);
    let number = next_number(tx, agency.id, year, "in", series).await?;
    if let Some(existing) = find_duplicate(tx, agency.id, entry).await? {
        return Err(duplicate(&existing));
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO doc_incoming (agency_id, year, series, arrival_number, arrival_ms, source, document_id, type_code, subject, code_number, code_notation, issued_date, organ_id, organ_name, metadata, urgency, confidentiality, status, registered_by, registered_user_id, from_outgoing_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, 'registered', $18, $19, $20) RETURNING id")
        .bind(agency.id)
        .bind(year)
        .bind(series)
        .bind(number)
        .bind(ctx.now_ms)
        .bind(entry.source)
        .bind(&entry.document_id)
        .bind(&m.type_code)
        .bind(m.subject.trim())
        .bind(m.code_number.trim())
        .bind(m.code_notation.trim())
        .bind(m.issued_date.map(|d| d.to_string()))
        .bind(m.organ_id.trim())
        .bind(m.organ_name.trim())
        .bind(json_text(m)?)
        .bind(m.urgency.priority())
        .bind(m.confidentiality.level())
        .bind(&ctx.actor)
        .bind(entry.registrar)
        .bind(entry.from_outgoing_id)
        .fetch_one(&mut *tx.tx)
        .await?;
    // Signatures are checked against the anchors at the registration instant, in this
    // transaction, so no entry exists without its files' verdicts.
    let anchors = crate::signatures::anchors(p)?;
    for file in &entry.files {
        sqlx::query("INSERT INTO doc_incoming_files (incoming_id, file_id) VALUES ($1, $2)")
            .bind(id)
            .bind(file.id)
            .execute(&mut *tx.tx)
            .await?;
        crate::signatures::verify_and_store(p, tx, file, &anchors, ctx.now_ms, ctx.now_ms).await?;
    }
    crate::notices::arrival(tx, agency, id, m.subject.trim(), ctx.now_ms).await?;
    progress_row(
        tx,
        ctx,
        id,
        "registered",
        &format!("{}/{year}", format_number(number)),
    )
    .await?;
    p.audit(
        tx,
        ctx,
        Change::<(), _> {
            action: "document_incoming.register",
            object_type: "document_incoming",
            object_id: &id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "agency": agency.code, "year": year, "series": series, "number": number,
                "document_id": entry.document_id, "subject": m.subject, "source": entry.source,
            })),
        },
    )
    .await?;
    Ok(id)
}

struct Existing {
    id: i64,
    year: i64,
    series: String,
    number: i64,
}

async fn find_duplicate(
    tx: &mut WriteTx,
    agency_id: i64,
    entry: &Entry<'_>,
) -> Result<Option<Existing>> {
    let m = entry.metadata;
    let row = sqlx::query("SELECT id, year, series, arrival_number FROM doc_incoming WHERE agency_id = $1 AND revoked_ms IS NULL AND ((document_id IS NOT NULL AND document_id = $2) OR ($3 <> '' AND code_number = $3 AND code_notation = $4 AND (($5 <> '' AND organ_id = $5) OR organ_name = $6))) ORDER BY id LIMIT 1")
        .bind(agency_id)
        .bind(entry.document_id.clone().unwrap_or_default())
        .bind(m.code_number.trim())
        .bind(m.code_notation.trim())
        .bind(m.organ_id.trim())
        .bind(m.organ_name.trim())
        .fetch_optional(&mut *tx.tx)
        .await?;
    row.map(|r| {
        Ok(Existing {
            id: r.try_get(0)?,
            year: r.try_get(1)?,
            series: r.try_get(2)?,
            number: r.try_get(3)?,
        })
    })
    .transpose()
}

fn duplicate(existing: &Existing) -> Error {
    DomainError::new(
        ErrorCode::Conflict,
        format!(
            "already registered as incoming document {} of {} ({} register), id {}",
            format_number(existing.number),
            existing.year,
            existing.series,
            existing.id
        ),
    )
    .with_rule(RULE_DUPLICATE)
    .into()
}

/// The id of the entry a document identifier was registered under in `agency_id`, if any.
pub(crate) async fn by_document_id(
    p: &Platform,
    agency_id: i64,
    document_id: &str,
) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM doc_incoming WHERE agency_id = $1 AND document_id = $2")
            .bind(agency_id)
            .bind(document_id)
            .fetch_optional(p.db.pool())
            .await?,
    )
}

async fn progress_row(tx: &mut WriteTx, ctx: &Ctx, id: i64, kind: &str, note: &str) -> Result<()> {
    sqlx::query("INSERT INTO doc_progress (incoming_id, user_id, actor, kind, note, at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(user_id(ctx))
        .bind(&ctx.actor)
        .bind(kind)
        .bind(note)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// The header the access rule and the workflow need.
pub(crate) struct Header {
    pub agency: Agency,
    pub status: IncomingStatus,
    pub confidentiality: Confidentiality,
    pub participants: Vec<i64>,
}

pub(crate) async fn header(p: &Platform, id: i64) -> Result<Header> {
    let exec = p.db.pool();
    let row = sqlx::query("SELECT agency_id, status, confidentiality, registered_user_id FROM doc_incoming WHERE id = $1")
        .bind(id)
        .fetch_optional(exec)
        .await?
        .ok_or_else(|| not_found("incoming document"))?;
    let agency = agency_by_id(p, row.try_get(0)?)
        .await?
        .ok_or_else(|| not_found("agency"))?;
    let mut participants: Vec<i64> =
        sqlx::query_scalar("SELECT user_id FROM doc_handlers WHERE incoming_id = $1")
            .bind(id)
            .fetch_all(exec)
            .await?;
    if let Some(registrar) = row.try_get::<Option<i64>, _>(3)? {
        participants.push(registrar);
    }
    Ok(Header {
        agency,
        status: IncomingStatus::parse(&row.try_get::<String, _>(1)?)?,
        confidentiality: Confidentiality::from_level(row.try_get(2)?)?,
        participants,
    })
}

/// The header of a document the caller sees.
pub(crate) async fn visible(p: &Platform, ctx: &Ctx, id: i64) -> Result<Header> {
    let h = header(p, id).await?;
    check_view(
        ctx,
        &h.agency.agency_path(),
        h.confidentiality,
        &h.participants,
        "incoming document",
    )?;
    Ok(h)
}

/// One incoming document with its handling, files and replies.
pub async fn get(p: &Platform, ctx: &Ctx, id: i64) -> Result<IncomingView> {
    let h = visible(p, ctx, id).await?;
    let r = sqlx::query("SELECT year, series, arrival_number, arrival_ms, source, document_id, metadata, status, deadline, direction_note, from_outgoing_id, revoked_ms, answers_outgoing_id FROM doc_incoming WHERE id = $1")
        .bind(id)
        .fetch_one(p.db.pool())
        .await?;
    let metadata: Metadata = from_json_text(&r.try_get::<String, _>(6)?)?;
    let handlers = map_rows(
        &sqlx::query("SELECT h.user_id, u.display_name, h.part, h.assigned_ms FROM doc_handlers h JOIN users u ON u.id = h.user_id WHERE h.incoming_id = $1 AND h.active = 1 ORDER BY h.id")
            .bind(id)
            .fetch_all(p.db.pool())
            .await?,
        |row| {
            Ok(HandlerView {
            user_id: row.try_get(0)?,
            display_name: row.try_get(1)?,
            part: HandlerPart::parse(&row.try_get::<String, _>(2)?)?,
            assigned_ms: row.try_get(3)?,
            })
        },
    )?;
    let progress = map_rows(
        &sqlx::query("SELECT kind, actor, user_id, note, at_ms FROM doc_progress WHERE incoming_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(p.db.pool())
            .await?,
        |row| {
            Ok(ProgressView {
            kind: row.try_get(0)?,
            actor: row.try_get(1)?,
            user_id: row.try_get(2)?,
            note: row.try_get(3)?,
            at_ms: row.try_get(4)?,
            })
        },
    )?;
    let file_ids: Vec<i64> = sqlx::query_scalar(
        "SELECT file_id FROM doc_incoming_files WHERE incoming_id = $1 ORDER BY file_id",
    )
    .bind(id)
    .fetch_all(p.db.pool())
    .await?;
    let mut replies = Vec::new();
    for row in sqlx::query("SELECT id, status, number, code_notation, document_id FROM doc_outgoing WHERE response_for_incoming_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(p.db.pool())
        .await?
    {
        let number: Option<i64> = row.try_get(2)?;
        let notation: Option<String> = row.try_get(3)?;
        replies.push(ReplyView {
            outgoing_id: row.try_get(0)?,
            status: row.try_get(1)?,
            code: number
                .zip(notation)
                .map(|(n, t)| crate::domain::numbering::code(n, &t)),
            document_id: row.try_get(4)?,
        });
    }
    let number: i64 = r.try_get(2)?;
    let type_name = crate::domain::types::DocType::parse(&metadata.type_code)
        .map(|t| t.name_vi.to_owned())
        .unwrap_or_default();
    Ok(IncomingView {
        id,
        agency_code: h.agency.code.clone(),
        year: r.try_get(0)?,
        series: r.try_get(1)?,
        arrival_number: number,
        arrival_label: format_number(number),
        arrival_ms: r.try_get(3)?,
        source: r.try_get(4)?,
        document_id: r.try_get(5)?,
        code: code_of(&metadata),
        type_name,
        status: IncomingStatus::parse(&r.try_get::<String, _>(7)?)?,
        deadline: parse_date(r.try_get(8)?),
        direction_note: r.try_get(9)?,
        handlers,
        progress,
        files: files::views(p, &file_ids).await?,
        signatures: crate::signatures::of_files(p, &file_ids).await?,
        replies,
        from_outgoing_id: r.try_get(10)?,
        revoked: r.try_get::<Option<i64>, _>(11)?.is_some(),
        answers_outgoing_id: r.try_get(12)?,
        metadata,
    })
}

/// Verifies the signatures of the document's PDF files again, now and against the anchors
/// configured now (after a trust anchor was added, say); audited.
pub async fn reverify(p: &Platform, ctx: &Ctx, id: i64) -> Result<IncomingView> {
    let h = visible(p, ctx, id).await?;
    check_right(ctx, Access::RegisterDocuments, &h.agency.agency_path())?;
    let file_ids: Vec<i64> =
        sqlx::query_scalar("SELECT file_id FROM doc_incoming_files WHERE incoming_id = $1")
            .bind(id)
            .fetch_all(p.db.pool())
            .await?;
    let anchors = crate::signatures::anchors(p)?;
    let mut tx = p.db.begin_write().await?;
    let mut verdicts = Vec::new();
    for file in files::views(p, &file_ids).await? {
        if let Some(v) =
            crate::signatures::verify_and_store(p, &mut tx, &file, &anchors, ctx.now_ms, ctx.now_ms)
                .await?
        {
            verdicts.push(
                serde_json::json!({ "file": v.file_id, "status": v.status, "problem": v.problem }),
            );
        }
    }
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "document_incoming.verify_signatures",
            "document_incoming",
            &id.to_string(),
            &verdicts,
        ),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// The incoming documents of an agency in a year that the caller sees, newest first.
pub async fn list(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
    year: Option<i64>,
) -> Result<Vec<IncomingSummary>> {
    let agency = active_agency(p, agency_code).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "agency",
    )?;
    let year = year.unwrap_or_else(|| year_of(ctx.now_ms));
    let rows = sqlx::query("SELECT id, year, series, arrival_number, arrival_ms, code_number, code_notation, organ_name, subject, status, urgency, confidentiality, deadline FROM doc_incoming WHERE agency_id = $1 AND year = $2 ORDER BY id DESC LIMIT 1000")
        .bind(agency.id)
        .bind(year)
        .fetch_all(p.db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let confidentiality = Confidentiality::from_level(r.try_get(11)?)?;
        if confidentiality.is_secret() && visible(p, ctx, id).await.is_err() {
            continue;
        }
        out.push(IncomingSummary {
            id,
            year: r.try_get(1)?,
            series: r.try_get(2)?,
            arrival_number: r.try_get(3)?,
            arrival_ms: r.try_get(4)?,
            code: crate::common::code_text(
                &r.try_get::<String, _>(5)?,
                &r.try_get::<String, _>(6)?,
            ),
            organ_name: r.try_get(7)?,
            subject: r.try_get(8)?,
            status: IncomingStatus::parse(&r.try_get::<String, _>(9)?)?,
            urgency: crate::domain::types::Urgency::from_priority(r.try_get(10)?)?,
            confidentiality,
            deadline: parse_date(r.try_get(12)?),
        });
    }
    Ok(out)
}

/// A leader routes (or reroutes) the document: main handler, co-handlers, for information,
/// deadline and direction.
pub async fn assign(p: &Platform, ctx: &Ctx, id: i64, a: &Assignment) -> Result<IncomingView> {
    let h = visible(p, ctx, id).await?;
    let path = h.agency.agency_path();
    check_right(ctx, IncomingStep::Assign.permission(), &path)?;
    a.check(today(ctx.now_ms))?;
    for (person, _) in a.people() {
        let ok = match user_by_id(p, person).await? {
            Some(u) if u.kind == AccountKind::Official && !u.disabled => match u.agency_id {
                Some(agency_id) => agency_by_id(p, agency_id)
                    .await?
                    .is_some_and(|ag| ag.agency_path().is_within(&path)),
                None => false,
            },
            _ => false,
        };
        if !ok {
            return Err(DomainError::invalid(format!(
                "user {person} is not an official of {}",
                h.agency.code
            ))
            .with_rule("document.assignment.unknown_user")
            .into());
        }
    }
    let current = h;
    let next = incoming_next(current.status, IncomingStep::Assign)?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, current.status, next).await?;
    sqlx::query("UPDATE doc_handlers SET active = 0 WHERE incoming_id = $1 AND active = 1")
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    for (person, part) in a.people() {
        sqlx::query("INSERT INTO doc_handlers (incoming_id, user_id, part, assigned_ms, active) VALUES ($1, $2, $3, $4, 1)")
            .bind(id)
            .bind(person)
            .bind(part.as_str())
            .bind(ctx.now_ms)
            .execute(&mut *tx.tx)
            .await?;
    }
    sqlx::query("UPDATE doc_incoming SET deadline = $1, direction_note = $2, assigned_by = $3, assigned_ms = $4 WHERE id = $5")
        .bind(a.deadline.map(|d| d.to_string()))
        .bind(a.direction.trim())
        .bind(user_id(ctx))
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    let kind = if current.status == IncomingStatus::Registered {
        "assigned"
    } else {
        "reassigned"
    };
    progress_row(&mut tx, ctx, id, kind, a.direction.trim()).await?;
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "document_incoming.assign",
            object_type: "document_incoming",
            object_id: &id.to_string(),
            before: Some(&current.status.as_str()),
            after: Some(a),
        },
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Moves the status from `from` to `to` inside `tx`, refusing when another request moved it
/// since it was read (the same request twice, two leaders at once).
async fn move_status(
    tx: &mut WriteTx,
    id: i64,
    from: IncomingStatus,
    to: IncomingStatus,
) -> Result<()> {
    let moved = sqlx::query("UPDATE doc_incoming SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to.as_str())
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if moved == 1 {
        Ok(())
    } else {
        Err(crate::domain::workflow::changed_meanwhile().into())
    }
}

/// The caller's part in the document's current assignment.
async fn part_of(p: &Platform, id: i64, me: i64) -> Result<Option<HandlerPart>> {
    let parts: Vec<String> = sqlx::query_scalar(
        "SELECT part FROM doc_handlers WHERE incoming_id = $1 AND user_id = $2 AND active = 1",
    )
    .bind(id)
    .bind(me)
    .fetch_all(p.db.pool())
    .await?;
    Ok(parts.first().map(|s| HandlerPart::parse(s)).transpose()?)
}

/// A handler notes progress (`Progress`) or the main handler closes the document
/// (`Complete`).
pub async fn handle(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    step: IncomingStep,
    note: &str,
) -> Result<IncomingView> {
    if step == IncomingStep::Assign {
        return Err(DomainError::invalid("use assign")
            .with_rule("document.step.unknown")
            .into());
    }
    let h = visible(p, ctx, id).await?;
    check_right(ctx, step.permission(), &h.agency.agency_path())?;
    if !matches!(ctx.caller, Caller::Local) {
        let part = match user_id(ctx) {
            Some(me) => part_of(p, id, me).await?,
            None => None,
        };
        check_handler(step, part)?;
    }
    check_len(note, 2000, "document.progress.note.too_long")?;
    if step == IncomingStep::Progress && note.trim().is_empty() {
        return Err(DomainError::invalid("say what was done")
            .with_rule("document.progress.note.required")
            .into());
    }
    let current = h;
    let next = incoming_next(current.status, step)?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, current.status, next).await?;
    if step == IncomingStep::Complete {
        sqlx::query("UPDATE doc_incoming SET done_ms = $1, done_by = $2 WHERE id = $3")
            .bind(ctx.now_ms)
            .bind(user_id(ctx))
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
    }
    let kind = if step == IncomingStep::Complete {
        "done"
    } else {
        "progress"
    };
    progress_row(&mut tx, ctx, id, kind, note.trim()).await?;
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: if step == IncomingStep::Complete {
                "document_incoming.done"
            } else {
                "document_incoming.progress"
            },
            object_type: "document_incoming",
            object_id: &id.to_string(),
            before: Some(&current.status.as_str()),
            after: Some(&serde_json::json!({ "status": next.as_str(), "note": note.trim() })),
        },
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Marks the entries a revoked outgoing document created as revoked (inside its `tx`).
pub(crate) async fn mark_revoked(
    tx: &mut WriteTx,
    ctx: &Ctx,
    incoming_id: i64,
    reason: &str,
) -> Result<()> {
    sqlx::query("UPDATE doc_incoming SET revoked_ms = $1 WHERE id = $2")
        .bind(ctx.now_ms)
        .bind(incoming_id)
        .execute(&mut *tx.tx)
        .await?;
    progress_row(tx, ctx, incoming_id, "revoked", reason).await
}
