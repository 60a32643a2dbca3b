//! Outgoing documents (văn bản đi): drafts with versions, the review and approval chain,
//! the signing step, release with the yearly number and notation, dispatch to internal and
//! external recipients, updates of the recipient list and revocation.
//!
//! Invariants: each step is allowed by [`crate::domain::workflow`] from the state read, and
//! the write is guarded by that state (a concurrent step fails instead of being applied
//! twice); a number is given only at release, from the issuer's yearly series of the
//! document's register (confidential documents have their own), in the release's
//! transaction; an internal recipient's incoming entry is written in the dispatch's
//! transaction; external recipients get a row the exchange service sends from (transport
//! status INITIAL); confidential documents are never dispatched outside the installation.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::Action as Access;
use tinhso_core::agency::AgencyId;
use tinhso_platform::audit::Change;
use tinhso_platform::org::{Agency, agency_by_id, resolve_agency_code};
use tinhso_platform::{Ctx, Error, Platform, Result, WriteTx};

use crate::common::{
    active_agency, check_right, check_view, from_json_text, json_text, map_rows, next_number,
    not_found, parse_date, series_of, today, user_id, year_of,
};
use crate::domain::metadata::{Metadata, check_len};
use crate::domain::numbering::{code, document_identifier, format_number, notation};
use crate::domain::types::{Confidentiality, DocType};
use crate::domain::workflow::{
    OutgoingStatus, OutgoingStep, changed_meanwhile, check_comment, check_person, outgoing_next,
};
use crate::files::{self, FileView};
use crate::incoming;
use crate::signatures::{self, FileSignatures};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewDraft {
    pub agency_code: String,
    pub metadata: Metadata,
    /// The drafting unit's abbreviation (one of the agency's units): required for a Công văn.
    #[serde(default)]
    pub unit_abbreviation: String,
    /// The first version's file.
    pub file_id: i64,
    /// The incoming document this one answers (ResponseFor), of the same agency.
    #[serde(default)]
    pub response_for: Option<i64>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewVersion {
    pub file_id: i64,
    /// Changed metadata; the previous version's when absent.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct SignInput {
    /// The signed PDF the signer produced.
    pub file_id: i64,
    /// TM., KT., TL., TUQ., Q. or empty.
    #[serde(default)]
    pub competence: String,
    pub signer_position: String,
    pub signer_name: String,
}

/// What the signer says when the server signs (the key is the organisation's).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ServerSignInput {
    /// TM., KT., TL., TUQ., Q. or empty.
    pub competence: String,
    pub signer_position: String,
    /// Empty: the certificate's common name.
    pub signer_name: String,
}

/// The certificate a document was signed with on the server, and when.
#[derive(Debug, Clone, Serialize)]
pub struct ServerSignature {
    pub subject: String,
    pub serial: String,
    pub signing_ms: i64,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct RecipientInput {
    pub organ_id: String,
    /// For external recipients; internal ones are named from the agency list.
    #[serde(default)]
    pub organ_name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct RecipientChange {
    pub add: Vec<RecipientInput>,
    /// Agency identifiers to take off the list.
    pub remove: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: i64,
    pub file: Option<FileView>,
    pub note: String,
    pub created_by: Option<i64>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewView {
    pub step: String,
    pub user_id: Option<i64>,
    pub actor: String,
    pub comment: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecipientView {
    pub id: i64,
    /// `internal` or `external`.
    pub kind: String,
    pub organ_id: String,
    pub organ_name: String,
    pub incoming_id: Option<i64>,
    pub transport_status: Option<String>,
    pub business_status: Option<String>,
    pub package: String,
    pub active: bool,
}

/// ResponseFor: the document this one answers.
#[derive(Debug, Clone, Serialize)]
pub struct ResponseFor {
    pub incoming_id: i64,
    pub organ_id: String,
    pub code: String,
    pub issued_date: Option<NaiveDate>,
    pub document_id: Option<String>,
}

/// A received entry answering an outgoing document.
#[derive(Debug, Clone, Serialize)]
pub struct AnsweredBy {
    pub incoming_id: i64,
    pub organ_id: String,
    pub organ_name: String,
    pub code: String,
    pub document_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutgoingView {
    pub id: i64,
    pub agency_code: String,
    pub status: OutgoingStatus,
    pub type_name: String,
    pub metadata: Metadata,
    pub unit_abbreviation: String,
    pub drafter_id: i64,
    pub current_version: i64,
    pub versions: Vec<VersionView>,
    pub reviews: Vec<ReviewView>,
    pub signed_file: Option<FileView>,
    pub signed_by: Option<i64>,
    pub signed_ms: Option<i64>,
    /// What verifying the signed file found (signer, time, validity).
    pub signatures: Vec<FileSignatures>,
    /// The certificate the server signed with, when signed on the server.
    pub server_signature: Option<ServerSignature>,
    pub year: Option<i64>,
    pub series: Option<String>,
    pub number: Option<i64>,
    /// `Số/KýHiệu`, once released (`05/KH-UBND`).
    pub code: Option<String>,
    pub issued_date: Option<NaiveDate>,
    pub document_id: Option<String>,
    pub released_ms: Option<i64>,
    pub response_for: Option<ResponseFor>,
    /// Documents received from outside that answer this one (their ResponseFor names it).
    pub answered_by: Vec<AnsweredBy>,
    pub recipients: Vec<RecipientView>,
    pub revoked_ms: Option<i64>,
    pub revoke_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutgoingSummary {
    pub id: i64,
    pub status: OutgoingStatus,
    pub subject: String,
    pub code: Option<String>,
    pub confidentiality: Confidentiality,
    pub created_ms: i64,
    pub released_ms: Option<i64>,
}

pub(crate) struct Header {
    pub agency: Agency,
    pub status: OutgoingStatus,
    pub confidentiality: Confidentiality,
    pub drafter: i64,
    pub participants: Vec<i64>,
}

async fn header(p: &Platform, id: i64) -> Result<Header> {
    let row = sqlx::query("SELECT agency_id, status, confidentiality, drafter_id, approved_by, signed_by FROM doc_outgoing WHERE id = $1")
        .bind(id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| not_found("outgoing document"))?;
    let agency = agency_by_id(p, row.try_get(0)?)
        .await?
        .ok_or_else(|| not_found("agency"))?;
    let drafter: i64 = row.try_get(3)?;
    let mut participants: Vec<i64> = sqlx::query_scalar(
        "SELECT user_id FROM doc_reviews WHERE outgoing_id = $1 AND user_id IS NOT NULL",
    )
    .bind(id)
    .fetch_all(p.db.pool())
    .await?;
    participants.push(drafter);
    participants.extend(row.try_get::<Option<i64>, _>(4)?);
    participants.extend(row.try_get::<Option<i64>, _>(5)?);
    Ok(Header {
        agency,
        status: OutgoingStatus::parse(&row.try_get::<String, _>(1)?)?,
        confidentiality: Confidentiality::from_level(row.try_get(2)?)?,
        drafter,
        participants,
    })
}

async fn visible(p: &Platform, ctx: &Ctx, id: i64) -> Result<Header> {
    let h = header(p, id).await?;
    check_view(
        ctx,
        &h.agency.agency_path(),
        h.confidentiality,
        &h.participants,
        "outgoing document",
    )?;
    Ok(h)
}

/// The header of a visible document, with the step's right, person rule and transition
/// checked; returns the state to move to.
async fn begin_step(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    step: OutgoingStep,
) -> Result<(Header, OutgoingStatus)> {
    let h = visible(p, ctx, id).await?;
    check_right(ctx, step.permission(), &h.agency.agency_path())?;
    if let Some(me) = user_id(ctx) {
        check_person(step, me, h.drafter)?;
    }
    let next = outgoing_next(h.status, step)?;
    Ok((h, next))
}

async fn move_status(
    tx: &mut WriteTx,
    id: i64,
    from: OutgoingStatus,
    to: OutgoingStatus,
) -> Result<()> {
    let moved = sqlx::query("UPDATE doc_outgoing SET status = $1 WHERE id = $2 AND status = $3")
        .bind(to.as_str())
        .bind(id)
        .bind(from.as_str())
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if moved == 1 {
        Ok(())
    } else {
        Err(changed_meanwhile().into())
    }
}

async fn review_row(
    tx: &mut WriteTx,
    ctx: &Ctx,
    id: i64,
    step: OutgoingStep,
    comment: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO doc_reviews (outgoing_id, step, user_id, actor, comment, at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(id)
        .bind(step.as_str())
        .bind(user_id(ctx))
        .bind(&ctx.actor)
        .bind(comment.trim())
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

async fn audit_step<A: Serialize>(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    id: i64,
    action: &str,
    from: OutgoingStatus,
    after: &A,
) -> Result<()> {
    p.audit(
        tx,
        ctx,
        Change {
            action,
            object_type: "document_outgoing",
            object_id: &id.to_string(),
            before: Some(&from.as_str()),
            after: Some(after),
        },
    )
    .await?;
    Ok(())
}

async fn check_unit(p: &Platform, agency: &Agency, doc_type: &DocType, unit: &str) -> Result<()> {
    if unit.is_empty() {
        if doc_type.is_official_letter() {
            return Err(DomainError::invalid("a Công văn names its drafting unit")
                .with_rule("document.unit_abbreviation.required")
                .into());
        }
        return Ok(());
    }
    let known: Option<String> =
        sqlx::query_scalar("SELECT name FROM doc_units WHERE agency_id = $1 AND abbreviation = $2")
            .bind(agency.id)
            .bind(unit)
            .fetch_optional(p.db.pool())
            .await?;
    if known.is_none() {
        return Err(
            DomainError::invalid(format!("`{unit}` is not a unit of {}", agency.code))
                .with_rule("document.unit_abbreviation.unknown")
                .into(),
        );
    }
    Ok(())
}

/// A specialist (or leader) starts a draft with its first version.
pub async fn create_draft(p: &Platform, ctx: &Ctx, input: &NewDraft) -> Result<OutgoingView> {
    let agency = active_agency(p, &input.agency_code).await?;
    check_right(ctx, Access::DraftDocuments, &agency.agency_path())?;
    let drafter = user_id(ctx).ok_or_else(|| {
        Error::from(
            DomainError::invalid("a draft is written by an official")
                .with_rule("document.draft.drafter_required"),
        )
    })?;
    let doc_type = input.metadata.check_outgoing()?;
    check_len(&input.note, 1000, "document.comment.too_long")?;
    check_unit(p, &agency, &doc_type, input.unit_abbreviation.trim()).await?;
    if let Some(incoming_id) = input.response_for {
        let answered = incoming::visible(p, ctx, incoming_id).await?;
        if answered.agency.id != agency.id {
            return Err(
                DomainError::invalid("a reply answers a document of its own agency")
                    .with_rule("document.response_for.other_agency")
                    .into(),
            );
        }
    }
    let m = &input.metadata;
    let mut tx = p.db.begin_write().await?;
    let file = files::claim(&mut tx, ctx, input.file_id).await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO doc_outgoing (agency_id, status, type_code, subject, unit_abbreviation, metadata, urgency, confidentiality, drafter_id, created_ms, current_version, response_for_incoming_id) VALUES ($1, 'draft', $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) RETURNING id")
        .bind(agency.id)
        .bind(&m.type_code)
        .bind(m.subject.trim())
        .bind(input.unit_abbreviation.trim())
        .bind(json_text(m)?)
        .bind(m.urgency.priority())
        .bind(m.confidentiality.level())
        .bind(drafter)
        .bind(ctx.now_ms)
        .bind(input.response_for)
        .fetch_one(&mut *tx.tx)
        .await?;
    insert_version(&mut tx, ctx, id, 1, file.id, m, &input.note).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after("document_outgoing.draft", "document_outgoing", &id.to_string(), &serde_json::json!({ "agency": agency.code, "subject": m.subject, "file": file.id, "response_for": input.response_for })),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

async fn insert_version(
    tx: &mut WriteTx,
    ctx: &Ctx,
    id: i64,
    version: i64,
    file_id: i64,
    m: &Metadata,
    note: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO doc_versions (outgoing_id, version, file_id, metadata, note, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(id)
        .bind(version)
        .bind(file_id)
        .bind(json_text(m)?)
        .bind(note.trim())
        .bind(user_id(ctx))
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// The drafter saves a new version (file, and metadata when changed).
pub async fn add_version(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    input: &NewVersion,
) -> Result<OutgoingView> {
    let (h, next) = begin_step(p, ctx, id, OutgoingStep::NewVersion).await?;
    check_len(&input.note, 1000, "document.comment.too_long")?;
    let row = sqlx::query(
        "SELECT metadata, current_version, unit_abbreviation FROM doc_outgoing WHERE id = $1",
    )
    .bind(id)
    .fetch_one(p.db.pool())
    .await?;
    let metadata: Metadata = match &input.metadata {
        Some(m) => {
            let doc_type = m.check_outgoing()?;
            check_unit(p, &h.agency, &doc_type, &row.try_get::<String, _>(2)?).await?;
            m.clone()
        }
        None => from_json_text(&row.try_get::<String, _>(0)?)?,
    };
    let version = row.try_get::<i64, _>(1)? + 1;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    let file = files::claim(&mut tx, ctx, input.file_id).await?;
    insert_version(&mut tx, ctx, id, version, file.id, &metadata, &input.note).await?;
    sqlx::query("UPDATE doc_outgoing SET current_version = $1, metadata = $2, subject = $3, type_code = $4, urgency = $5, confidentiality = $6 WHERE id = $7")
        .bind(version)
        .bind(json_text(&metadata)?)
        .bind(metadata.subject.trim())
        .bind(&metadata.type_code)
        .bind(metadata.urgency.priority())
        .bind(metadata.confidentiality.level())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    audit_step(
        p,
        &mut tx,
        ctx,
        id,
        "document_outgoing.version",
        h.status,
        &serde_json::json!({ "version": version, "file": file.id }),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Submit for review, review, approve, or send back for changes (with a reason).
pub async fn review(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    step: OutgoingStep,
    comment: &str,
) -> Result<OutgoingView> {
    if !matches!(
        step,
        OutgoingStep::Submit | OutgoingStep::Review | OutgoingStep::Approve | OutgoingStep::Return
    ) {
        return Err(
            DomainError::invalid("the step is submit, review, approve or return")
                .with_rule("document.step.unknown")
                .into(),
        );
    }
    check_comment(step, comment)?;
    let (h, next) = begin_step(p, ctx, id, step).await?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    if step == OutgoingStep::Approve {
        sqlx::query("UPDATE doc_outgoing SET approved_by = $1, approved_ms = $2 WHERE id = $3")
            .bind(user_id(ctx))
            .bind(ctx.now_ms)
            .bind(id)
            .execute(&mut *tx.tx)
            .await?;
    }
    review_row(&mut tx, ctx, id, step, comment).await?;
    audit_step(
        p,
        &mut tx,
        ctx,
        id,
        &format!("document_outgoing.{}", step.as_str()),
        h.status,
        &serde_json::json!({ "status": next.as_str(), "comment": comment.trim() }),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// The signer's name and position written into the metadata at the signing step.
async fn signed_metadata(
    p: &Platform,
    id: i64,
    competence: &str,
    position: &str,
    name: &str,
) -> Result<Metadata> {
    check_len(position, 100, "document.signer_position.too_long")?;
    check_len(name, 50, "document.signer_name.too_long")?;
    check_len(competence, 10, "document.signer_competence.too_long")?;
    if name.trim().is_empty() {
        return Err(DomainError::invalid("name the signer")
            .with_rule("document.signer_name.required")
            .into());
    }
    let mut metadata: Metadata = from_json_text(
        &sqlx::query_scalar::<_, String>("SELECT metadata FROM doc_outgoing WHERE id = $1")
            .bind(id)
            .fetch_one(p.db.pool())
            .await?,
    )?;
    metadata.signer_name = name.trim().to_owned();
    metadata.signer_position = [competence.trim(), position.trim()]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join(" ");
    Ok(metadata)
}

/// What the signing step records: the signed file, the signer's metadata and the verdict
/// on the file's signatures.
struct Signed<'a> {
    file: &'a FileView,
    metadata: &'a Metadata,
    verdict: Option<&'a FileSignatures>,
}

/// Records the signed file on the document (row, chain step, audit) inside `tx`.
async fn record_signed(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    id: i64,
    from: OutgoingStatus,
    signed: Signed<'_>,
) -> Result<()> {
    let Signed {
        file,
        metadata,
        verdict,
    } = signed;
    sqlx::query("UPDATE doc_outgoing SET signed_file_id = $1, signed_by = $2, signed_ms = $3, metadata = $4 WHERE id = $5")
        .bind(file.id)
        .bind(user_id(ctx))
        .bind(ctx.now_ms)
        .bind(json_text(metadata)?)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    review_row(tx, ctx, id, OutgoingStep::Sign, &metadata.signer_position).await?;
    audit_step(
        p,
        tx,
        ctx,
        id,
        "document_outgoing.sign",
        from,
        &serde_json::json!({
            "file": file.id, "sha256": file.sha256,
            "signature": verdict.map(|v| v.status.as_str()),
            "problem": verdict.and_then(|v| v.problem.as_deref()),
        }),
    )
    .await
}

/// The signer attaches the signed PDF produced in their own tool; its signatures are
/// verified against the trust anchors and the verdict stored (an invalid or unsigned PDF
/// is still recorded, with its verdict, so the clerk sees it before release).
pub async fn sign(p: &Platform, ctx: &Ctx, id: i64, input: &SignInput) -> Result<OutgoingView> {
    let (h, next) = begin_step(p, ctx, id, OutgoingStep::Sign).await?;
    let metadata = signed_metadata(
        p,
        id,
        &input.competence,
        &input.signer_position,
        &input.signer_name,
    )
    .await?;
    let anchors = signatures::anchors(p)?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    let file = files::claim(&mut tx, ctx, input.file_id).await?;
    if file.content_type != "application/pdf" {
        return Err(DomainError::invalid("the signed document is a PDF")
            .with_rule("document.sign.pdf_required")
            .into());
    }
    let verdict =
        signatures::verify_and_store(p, &mut tx, &file, &anchors, ctx.now_ms, ctx.now_ms).await?;
    record_signed(
        p,
        &mut tx,
        ctx,
        id,
        h.status,
        Signed {
            file: &file,
            metadata: &metadata,
            verdict: verdict.as_ref(),
        },
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// The signer has the server sign the approved version's PDF with the organisation's key
/// (PAdES B-B, or B-T when a timestamp authority is configured); the signed PDF becomes the
/// signed file, with the certificate's subject, serial and the signing time recorded. No key
/// configured: `document.signing.no_key`; a version that is no PDF:
/// `document.signing.not_pdf`. Either way nothing is written.
pub async fn sign_on_server(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    input: &ServerSignInput,
) -> Result<OutgoingView> {
    let (h, next) = begin_step(p, ctx, id, OutgoingStep::Sign).await?;
    let file_id: i64 = sqlx::query_scalar("SELECT v.file_id FROM doc_versions v JOIN doc_outgoing o ON o.id = v.outgoing_id AND o.current_version = v.version WHERE o.id = $1")
        .bind(id)
        .fetch_one(p.db.pool())
        .await?;
    let approved = files::views(p, &[file_id])
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| not_found("file"))?;
    let pdf = p
        .blobs
        .get(&approved.sha256)
        .await?
        .ok_or_else(|| Error::Other(format!("blob of file {file_id} is missing")))?;
    let signed = signatures::sign_on_server(
        p,
        &pdf,
        &approved.content_type,
        ctx.now_ms,
        input.signer_position.trim(),
    )
    .await?;
    let name = if input.signer_name.trim().is_empty() {
        signed.common_name.clone().unwrap_or_default()
    } else {
        input.signer_name.clone()
    };
    let metadata = signed_metadata(p, id, &input.competence, &input.signer_position, &name).await?;
    let anchors = signatures::anchors(p)?;
    let key = p.blobs.put(&signed.pdf).await?;
    let checked = files::Checked {
        content_type: "application/pdf",
        verdict: if approved.scan_verdict == "clean" {
            "clean"
        } else {
            "not_scanned"
        },
    };
    let filename = match approved.filename.strip_suffix(".pdf") {
        Some(stem) => format!("{stem}-da-ky.pdf"),
        None => format!("{}-da-ky.pdf", approved.filename),
    };
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    let file = files::insert(&mut tx, ctx, &filename, signed.pdf.len(), &checked, &key).await?;
    let verdict =
        signatures::verify_and_store(p, &mut tx, &file, &anchors, ctx.now_ms, ctx.now_ms).await?;
    record_signed(
        p,
        &mut tx,
        ctx,
        id,
        h.status,
        Signed {
            file: &file,
            metadata: &metadata,
            verdict: verdict.as_ref(),
        },
    )
    .await?;
    sqlx::query("UPDATE doc_outgoing SET signer_subject = $1, signer_serial = $2, signature_ms = $3, signed_on_server = 1 WHERE id = $4")
        .bind(&signed.subject)
        .bind(&signed.serial)
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action: "document_outgoing.sign_on_server",
            object_type: "document_outgoing",
            object_id: &id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "file": file.id, "subject": signed.subject, "serial": signed.serial,
                "timestamped": !p.config.signing.timestamp_url.is_empty(),
            })),
        },
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// The clerk releases the signed document: number from the issuer's yearly series of the
/// register (normal or confidential), notation, date and document identifier.
pub async fn release(p: &Platform, ctx: &Ctx, id: i64) -> Result<OutgoingView> {
    let (h, next) = begin_step(p, ctx, id, OutgoingStep::Release).await?;
    let issuer: String =
        sqlx::query_scalar("SELECT issuer_abbreviation FROM doc_settings WHERE agency_id = $1")
            .bind(h.agency.id)
            .fetch_optional(p.db.pool())
            .await?
            .ok_or_else(|| {
                Error::from(
                    DomainError::invalid(format!(
                        "{} has no issuer abbreviation yet",
                        h.agency.code
                    ))
                    .with_rule("document.settings.missing"),
                )
            })?;
    let row = sqlx::query("SELECT type_code, unit_abbreviation FROM doc_outgoing WHERE id = $1")
        .bind(id)
        .fetch_one(p.db.pool())
        .await?;
    let doc_type = DocType::parse(&row.try_get::<String, _>(0)?)?;
    let unit: String = row.try_get(1)?;
    let notation = notation(&doc_type, &issuer, Some(unit.as_str()))?;
    let year = year_of(ctx.now_ms);
    let issued = today(ctx.now_ms);
    let series = series_of(h.confidentiality);
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    let number = next_number(&mut tx, h.agency.id, year, "out", series).await?;
    let code = code(number, &notation);
    let document_id = document_identifier(&h.agency.code, issued, &code);
    sqlx::query("UPDATE doc_outgoing SET year = $1, series = $2, number = $3, code_notation = $4, issued_date = $5, document_id = $6, released_ms = $7, released_by = $8 WHERE id = $9")
        .bind(year)
        .bind(series)
        .bind(number)
        .bind(&notation)
        .bind(issued.to_string())
        .bind(&document_id)
        .bind(ctx.now_ms)
        .bind(&ctx.actor)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    review_row(&mut tx, ctx, id, OutgoingStep::Release, &code).await?;
    audit_step(p, &mut tx, ctx, id, "document_outgoing.release", h.status, &serde_json::json!({ "number": number, "code": code, "document_id": document_id, "series": series })).await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// What a released document is, as its recipients receive it.
struct Released {
    metadata: Metadata,
    document_id: String,
    signed_file: Option<FileView>,
}

async fn released(p: &Platform, id: i64, sender: &Agency) -> Result<Released> {
    let row = sqlx::query("SELECT metadata, number, code_notation, issued_date, document_id, signed_file_id FROM doc_outgoing WHERE id = $1")
        .bind(id)
        .fetch_one(p.db.pool())
        .await?;
    let mut metadata: Metadata = from_json_text(&row.try_get::<String, _>(0)?)?;
    metadata.code_number = format_number(row.try_get::<Option<i64>, _>(1)?.unwrap_or_default());
    metadata.code_notation = row.try_get::<Option<String>, _>(2)?.unwrap_or_default();
    metadata.issued_date = parse_date(row.try_get(3)?);
    metadata.organ_id = sender.code.clone();
    metadata.organ_name = sender.name.clone();
    let signed: Option<i64> = row.try_get(5)?;
    let signed_file = match signed {
        Some(f) => files::views(p, &[f]).await?.into_iter().next(),
        None => None,
    };
    Ok(Released {
        metadata,
        document_id: row.try_get::<Option<String>, _>(4)?.unwrap_or_default(),
        signed_file,
    })
}

fn recipient_error(rule: &'static str, detail: String) -> Error {
    DomainError::invalid(detail).with_rule(rule).into()
}

/// The clerk dispatches to recipients (adding some) and/or takes some off the list.
/// Internal recipients (agencies of this installation) get their incoming entry in this
/// transaction; external ones a row the exchange sends from.
pub async fn change_recipients(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    change: &RecipientChange,
) -> Result<OutgoingView> {
    let step = if change.add.is_empty() {
        OutgoingStep::UpdateRecipients
    } else {
        OutgoingStep::Dispatch
    };
    if change.add.is_empty() && change.remove.is_empty() {
        return Err(recipient_error(
            "document.recipient.required",
            "name at least one recipient".into(),
        ));
    }
    // The list is checked before the state, so a bad recipient is named as such.
    let h = visible(p, ctx, id).await?;
    check_right(ctx, step.permission(), &h.agency.agency_path())?;
    let current: Vec<(i64, String, String, Option<i64>, bool)> = sqlx::query(
        "SELECT id, organ_id, kind, incoming_id, active FROM doc_recipients WHERE outgoing_id = $1",
    )
    .bind(id)
    .fetch_all(p.db.pool())
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            r.try_get(1)?,
            r.try_get(2)?,
            r.try_get(3)?,
            r.try_get::<i64, _>(4)? != 0,
        ))
    })
    .collect::<Result<_>>()?;
    let mut plan = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for r in &change.add {
        let organ_id = r.organ_id.trim();
        AgencyId::parse(organ_id)
            .map_err(|e| recipient_error("document.recipient.invalid", e.detail))?;
        check_len(&r.organ_name, 200, "document.recipient.organ_name.too_long")?;
        if organ_id == h.agency.code {
            return Err(recipient_error(
                "document.recipient.self",
                "an agency does not send to itself".into(),
            ));
        }
        if !seen.insert(organ_id.to_owned()) || current.iter().any(|c| c.1 == organ_id && c.4) {
            return Err(recipient_error(
                "document.recipient.duplicate",
                format!("{organ_id} is already a recipient"),
            ));
        }
        let internal = resolve_agency_code(p, organ_id).await?.filter(|a| a.active);
        if internal.is_none() && h.confidentiality.is_secret() {
            return Err(recipient_error(
                "document.recipient.secret_external",
                "a confidential document is not sent outside the installation".into(),
            ));
        }
        if internal.is_none() && r.organ_name.trim().is_empty() {
            return Err(recipient_error(
                "document.recipient.organ_name.required",
                format!("name the external recipient {organ_id}"),
            ));
        }
        plan.push((
            organ_id.to_owned(),
            r.organ_name.trim().to_owned(),
            internal,
        ));
    }
    let mut removals = Vec::new();
    for organ_id in &change.remove {
        let found = current
            .iter()
            .find(|c| c.1 == organ_id.trim() && c.4)
            .ok_or_else(|| {
                recipient_error(
                    "document.recipient.unknown",
                    format!("{organ_id} is not a recipient"),
                )
            })?;
        removals.push(found.clone());
    }
    let next = outgoing_next(h.status, step)?;
    let doc = released(p, id, &h.agency).await?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    for (organ_id, organ_name, internal) in &plan {
        // A recipient taken off earlier and added again reuses its row.
        sqlx::query("DELETE FROM doc_recipients WHERE outgoing_id = $1 AND organ_id = $2 AND active = 0 AND incoming_id IS NULL")
            .bind(id)
            .bind(organ_id)
            .execute(&mut *tx.tx)
            .await?;
        match internal {
            Some(agency) => {
                let entry = incoming::Entry {
                    source: "internal",
                    document_id: Some(doc.document_id.clone()),
                    metadata: &doc.metadata,
                    files: doc.signed_file.iter().cloned().collect(),
                    from_outgoing_id: Some(id),
                    registrar: None,
                };
                let incoming_id = incoming::insert(p, &mut tx, ctx, agency, &entry).await?;
                sqlx::query("INSERT INTO doc_recipients (outgoing_id, kind, organ_id, organ_name, incoming_id, transport_status, business_status, status_ms, active, added_ms, dispatched_ms) VALUES ($1, 'internal', $2, $3, $4, 'DONE', '03', $5, 1, $5, $5)")
                    .bind(id)
                    .bind(organ_id)
                    .bind(&agency.name)
                    .bind(incoming_id)
                    .bind(ctx.now_ms)
                    .execute(&mut *tx.tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO doc_recipients (outgoing_id, kind, organ_id, organ_name, transport_status, status_ms, active, added_ms, package) VALUES ($1, 'external', $2, $3, 'INITIAL', $4, 1, $4, 'new')")
                    .bind(id)
                    .bind(organ_id)
                    .bind(organ_name)
                    .bind(ctx.now_ms)
                    .execute(&mut *tx.tx)
                    .await?;
            }
        }
    }
    for (recipient_id, _, kind, incoming_id, _) in &removals {
        sqlx::query("UPDATE doc_recipients SET active = 0, package = 'update', transport_status = CASE WHEN kind = 'external' THEN 'INITIAL' ELSE transport_status END, status_ms = $1 WHERE id = $2")
            .bind(ctx.now_ms)
            .bind(recipient_id)
            .execute(&mut *tx.tx)
            .await?;
        if let (Some(incoming_id), "internal") = (incoming_id, kind.as_str()) {
            incoming::mark_revoked(
                &mut tx,
                ctx,
                *incoming_id,
                "removed from the recipient list",
            )
            .await?;
        }
    }
    sqlx::query("UPDATE doc_outgoing SET dispatched_ms = $1 WHERE id = $2")
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    let added: Vec<&str> = plan.iter().map(|(o, _, _)| o.as_str()).collect();
    let removed: Vec<&str> = removals.iter().map(|r| r.1.as_str()).collect();
    review_row(&mut tx, ctx, id, step, &added.join(", ")).await?;
    audit_step(
        p,
        &mut tx,
        ctx,
        id,
        &format!("document_outgoing.{}", step.as_str()),
        h.status,
        &serde_json::json!({ "added": added, "removed": removed }),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Revocation (thu hồi) of a released document: internal recipients' entries are marked
/// revoked; external ones are queued for the exchange's revocation package.
pub async fn revoke(p: &Platform, ctx: &Ctx, id: i64, reason: &str) -> Result<OutgoingView> {
    check_comment(OutgoingStep::Revoke, reason)?;
    let (h, next) = begin_step(p, ctx, id, OutgoingStep::Revoke).await?;
    let internal: Vec<i64> = sqlx::query_scalar("SELECT incoming_id FROM doc_recipients WHERE outgoing_id = $1 AND kind = 'internal' AND active = 1 AND incoming_id IS NOT NULL")
        .bind(id)
        .fetch_all(p.db.pool())
        .await?;
    let mut tx = p.db.begin_write().await?;
    move_status(&mut tx, id, h.status, next).await?;
    sqlx::query("UPDATE doc_outgoing SET revoked_ms = $1, revoke_reason = $2 WHERE id = $3")
        .bind(ctx.now_ms)
        .bind(reason.trim())
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    for incoming_id in internal {
        incoming::mark_revoked(&mut tx, ctx, incoming_id, reason.trim()).await?;
    }
    sqlx::query("UPDATE doc_recipients SET package = 'revoke', transport_status = 'INITIAL', status_ms = $1 WHERE outgoing_id = $2 AND kind = 'external' AND active = 1")
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    review_row(&mut tx, ctx, id, OutgoingStep::Revoke, reason).await?;
    audit_step(
        p,
        &mut tx,
        ctx,
        id,
        "document_outgoing.revoke",
        h.status,
        &serde_json::json!({ "reason": reason.trim() }),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// One outgoing document with its versions, chain, recipients.
pub async fn get(p: &Platform, ctx: &Ctx, id: i64) -> Result<OutgoingView> {
    let h = visible(p, ctx, id).await?;
    let r = sqlx::query("SELECT type_code, metadata, unit_abbreviation, current_version, signed_file_id, signed_by, signed_ms, year, series, number, code_notation, issued_date, document_id, released_ms, response_for_incoming_id, revoked_ms, revoke_reason, signer_subject, signer_serial, signature_ms FROM doc_outgoing WHERE id = $1")
        .bind(id)
        .fetch_one(p.db.pool())
        .await?;
    let metadata: Metadata = from_json_text(&r.try_get::<String, _>(1)?)?;
    let version_rows = sqlx::query("SELECT version, file_id, note, created_by, created_ms FROM doc_versions WHERE outgoing_id = $1 ORDER BY version")
        .bind(id)
        .fetch_all(p.db.pool())
        .await?;
    let file_ids = map_rows(&version_rows, |v| Ok(v.try_get::<i64, _>(1)?))?;
    let version_files = files::views(p, &file_ids).await?;
    let versions = map_rows(&version_rows, |v| {
        let file_id: i64 = v.try_get(1)?;
        Ok(VersionView {
            version: v.try_get(0)?,
            file: version_files.iter().find(|f| f.id == file_id).cloned(),
            note: v.try_get(2)?,
            created_by: v.try_get(3)?,
            created_ms: v.try_get(4)?,
        })
    })?;
    let reviews = map_rows(
        &sqlx::query("SELECT step, user_id, actor, comment, at_ms FROM doc_reviews WHERE outgoing_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(p.db.pool())
            .await?,
        |v| {
            Ok(ReviewView {
            step: v.try_get(0)?,
            user_id: v.try_get(1)?,
            actor: v.try_get(2)?,
            comment: v.try_get(3)?,
            at_ms: v.try_get(4)?,
            })
        },
    )?;
    let recipients = map_rows(
        &sqlx::query("SELECT id, kind, organ_id, organ_name, incoming_id, transport_status, business_status, package, active FROM doc_recipients WHERE outgoing_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(p.db.pool())
            .await?,
        |v| {
            Ok(RecipientView {
            id: v.try_get(0)?,
            kind: v.try_get(1)?,
            organ_id: v.try_get(2)?,
            organ_name: v.try_get(3)?,
            incoming_id: v.try_get(4)?,
            transport_status: v.try_get(5)?,
            business_status: v.try_get(6)?,
            package: v.try_get(7)?,
            active: v.try_get::<i64, _>(8)? != 0,
            })
        },
    )?;
    let response_for = match r.try_get::<Option<i64>, _>(14)? {
        Some(incoming_id) => {
            let a = sqlx::query("SELECT organ_id, code_number, code_notation, issued_date, document_id FROM doc_incoming WHERE id = $1")
                .bind(incoming_id)
                .fetch_one(p.db.pool())
                .await?;
            Some(ResponseFor {
                incoming_id,
                organ_id: a.try_get(0)?,
                code: crate::common::code_text(
                    &a.try_get::<String, _>(1)?,
                    &a.try_get::<String, _>(2)?,
                ),
                issued_date: parse_date(a.try_get(3)?),
                document_id: a.try_get(4)?,
            })
        }
        None => None,
    };
    let number: Option<i64> = r.try_get(9)?;
    let notation: Option<String> = r.try_get(10)?;
    let signed: Option<i64> = r.try_get(4)?;
    Ok(OutgoingView {
        id,
        agency_code: h.agency.code.clone(),
        status: h.status,
        type_name: DocType::parse(&r.try_get::<String, _>(0)?)
            .map(|t| t.name_vi.to_owned())
            .unwrap_or_default(),
        metadata,
        unit_abbreviation: r.try_get(2)?,
        drafter_id: h.drafter,
        current_version: r.try_get(3)?,
        versions,
        reviews,
        signed_file: match signed {
            Some(f) => files::views(p, &[f]).await?.into_iter().next(),
            None => None,
        },
        signed_by: r.try_get(5)?,
        signed_ms: r.try_get(6)?,
        signatures: signatures::of_files(p, &signed.into_iter().collect::<Vec<_>>()).await?,
        server_signature: match (
            r.try_get::<Option<String>, _>(17)?,
            r.try_get::<Option<String>, _>(18)?,
            r.try_get::<Option<i64>, _>(19)?,
        ) {
            (Some(subject), Some(serial), Some(signing_ms)) => Some(ServerSignature {
                subject,
                serial,
                signing_ms,
            }),
            _ => None,
        },
        year: r.try_get(7)?,
        series: r.try_get(8)?,
        number,
        code: number.zip(notation).map(|(n, t)| code(n, &t)),
        issued_date: parse_date(r.try_get(11)?),
        document_id: r.try_get(12)?,
        released_ms: r.try_get(13)?,
        response_for,
        answered_by: answered_by(p, id).await?,
        recipients,
        revoked_ms: r.try_get(15)?,
        revoke_reason: r.try_get(16)?,
    })
}

/// The received entries answering document `id` (their ResponseFor named it), oldest first.
async fn answered_by(p: &Platform, id: i64) -> Result<Vec<AnsweredBy>> {
    let rows = sqlx::query("SELECT id, organ_id, organ_name, code_number, code_notation, document_id FROM doc_incoming WHERE answers_outgoing_id = $1 ORDER BY id")
        .bind(id)
        .fetch_all(p.db.pool())
        .await?;
    map_rows(&rows, |a| {
        Ok(AnsweredBy {
            incoming_id: a.try_get(0)?,
            organ_id: a.try_get(1)?,
            organ_name: a.try_get(2)?,
            code: crate::common::code_text(
                &a.try_get::<String, _>(3)?,
                &a.try_get::<String, _>(4)?,
            ),
            document_id: a.try_get(5)?,
        })
    })
}

/// The outgoing documents of an agency the caller sees, newest first.
pub async fn list(p: &Platform, ctx: &Ctx, agency_code: &str) -> Result<Vec<OutgoingSummary>> {
    let agency = active_agency(p, agency_code).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "agency",
    )?;
    let rows = sqlx::query("SELECT id, status, subject, number, code_notation, confidentiality, created_ms, released_ms FROM doc_outgoing WHERE agency_id = $1 ORDER BY id DESC LIMIT 1000")
        .bind(agency.id)
        .fetch_all(p.db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let confidentiality = Confidentiality::from_level(r.try_get(5)?)?;
        if confidentiality.is_secret() && visible(p, ctx, id).await.is_err() {
            continue;
        }
        let number: Option<i64> = r.try_get(3)?;
        let notation: Option<String> = r.try_get(4)?;
        out.push(OutgoingSummary {
            id,
            status: OutgoingStatus::parse(&r.try_get::<String, _>(1)?)?,
            subject: r.try_get(2)?,
            code: number.zip(notation).map(|(n, t)| code(n, &t)),
            confidentiality,
            created_ms: r.try_get(6)?,
            released_ms: r.try_get(7)?,
        });
    }
    Ok(out)
}
