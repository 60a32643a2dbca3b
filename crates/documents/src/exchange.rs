//! The service functions the edXML exchange (next session) calls: what to send, how a
//! sending went (transport status), what a recipient reported (business status), and the
//! registration of a document received from outside.
//!
//! Invariants: a received package is registered at most once per receiving agency and
//! document identifier (a repeat answers the existing entry and writes nothing); statuses are
//! only the protocol's values; every change is audited. These functions run as the exchange
//! worker (a local caller) or as an official with the clerk's right over the agency.

use serde::Serialize;
use sqlx::Row;
use tinhso_core::access::Action as Access;
use tinhso_platform::audit::Change;
use tinhso_platform::org::agency_by_id;
use tinhso_platform::{Ctx, Platform, Result, WriteTx};

use crate::common::{active_agency, check_right, not_found};
use crate::domain::metadata::{Metadata, check_len};
use crate::domain::numbering::parse_document_identifier;
use crate::domain::workflow::{TransportStatus, check_business_status};
use crate::files;
use crate::incoming;

/// One package the exchange must send to an external recipient.
#[derive(Debug, Clone, Serialize)]
pub struct PendingSend {
    pub recipient_id: i64,
    pub outgoing_id: i64,
    pub sender_code: String,
    pub organ_id: String,
    pub organ_name: String,
    /// `new`, `revoke` or `update` (edXML BussinessDocType 0, 1, 2).
    pub package: String,
    pub document_id: Option<String>,
    /// Still on the list (false: the update removes it).
    pub active: bool,
}

/// Up to `limit` packages waiting to be sent (transport status INITIAL), oldest first.
pub async fn pending_sends(p: &Platform, limit: i64) -> Result<Vec<PendingSend>> {
    let rows = sqlx::query("SELECT r.id, r.outgoing_id, o.agency_id, r.organ_id, r.organ_name, r.package, o.document_id, r.active FROM doc_recipients r JOIN doc_outgoing o ON o.id = r.outgoing_id WHERE r.kind = 'external' AND r.transport_status = 'INITIAL' ORDER BY r.status_ms, r.id LIMIT $1")
        .bind(limit.clamp(1, 1000))
        .fetch_all(p.db.pool())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let sender = agency_by_id(p, r.try_get(2)?)
            .await?
            .ok_or_else(|| not_found("agency"))?;
        out.push(PendingSend {
            recipient_id: r.try_get(0)?,
            outgoing_id: r.try_get(1)?,
            sender_code: sender.code,
            organ_id: r.try_get(3)?,
            organ_name: r.try_get(4)?,
            package: r.try_get(5)?,
            document_id: r.try_get(6)?,
            active: r.try_get::<i64, _>(7)? != 0,
        });
    }
    Ok(out)
}

async fn recipient_agency(p: &Platform, recipient_id: i64) -> Result<tinhso_platform::org::Agency> {
    let agency_id: i64 = sqlx::query_scalar("SELECT o.agency_id FROM doc_recipients r JOIN doc_outgoing o ON o.id = r.outgoing_id WHERE r.id = $1 AND r.kind = 'external'")
        .bind(recipient_id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| not_found("recipient"))?;
    agency_by_id(p, agency_id)
        .await?
        .ok_or_else(|| not_found("agency"))
}

/// How the sending of a package went: INITIAL, PROCESSING, DONE or FAIL, with a detail.
pub async fn record_transport_status(
    p: &Platform,
    ctx: &Ctx,
    recipient_id: i64,
    status: TransportStatus,
    detail: &str,
) -> Result<()> {
    let sender = recipient_agency(p, recipient_id).await?;
    check_right(ctx, Access::RegisterDocuments, &sender.agency_path())?;
    check_len(detail, 1000, "document.transport_detail.too_long")?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("UPDATE doc_recipients SET transport_status = $1, transport_detail = $2, status_ms = $3, dispatched_ms = CASE WHEN $1 = 'DONE' THEN $3 ELSE dispatched_ms END WHERE id = $4")
        .bind(status.as_str())
        .bind(detail)
        .bind(ctx.now_ms)
        .bind(recipient_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "document_recipient.transport_status",
            "document_recipient",
            &recipient_id.to_string(),
            &serde_json::json!({ "status": status.as_str(), "detail": detail }),
        ),
    )
    .await?;
    tx.commit().await
}

/// What a recipient reported about a document we sent (status package): `code` is one of
/// 01–06, 13, 15, 16. Returns the recipient row's id.
pub async fn record_business_status(
    p: &Platform,
    ctx: &Ctx,
    document_id: &str,
    from_organ_id: &str,
    code: &str,
    description: &str,
) -> Result<i64> {
    let mut tx = p.db.begin_write().await?;
    let recipient_id = record_business_status_in(
        p,
        &mut tx,
        ctx,
        document_id,
        from_organ_id,
        code,
        description,
    )
    .await?;
    tx.commit().await?;
    Ok(recipient_id)
}

/// One attachment of a received package, already checked and in the blob store
/// ([`files::put_checked_file`]), so that a 500 MB attachment is never held in memory.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub filename: String,
    pub blob: files::StoredBlob,
}

/// A document that arrived from outside (decoded from an edXML package).
#[derive(Debug, Clone)]
pub struct ReceivedDocument {
    /// The receiving agency of this installation.
    pub to_agency_code: String,
    /// The package's DocumentId.
    pub document_id: String,
    pub metadata: Metadata,
    pub files: Vec<ReceivedFile>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Received {
    pub incoming_id: i64,
    /// False when the same document had been registered before (nothing was written).
    pub created: bool,
}

/// Registers a received document in the receiving agency's incoming register, once per
/// document identifier, in its own transaction ([`register_received_in`]).
pub async fn register_received(
    p: &Platform,
    ctx: &Ctx,
    doc: &ReceivedDocument,
) -> Result<Received> {
    let mut tx = p.db.begin_write().await?;
    match register_received_in(p, &mut tx, ctx, doc).await {
        Ok(received) => {
            tx.commit().await?;
            Ok(received)
        }
        // A concurrent delivery of the same package won the race: answer its entry.
        Err(e) if e.code() == tinhso_core::ErrorCode::Conflict => {
            drop(tx);
            let agency = active_agency(p, &doc.to_agency_code).await?;
            match incoming::by_document_id(p, agency.id, &doc.document_id).await? {
                Some(id) => Ok(Received {
                    incoming_id: id,
                    created: false,
                }),
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Registers a received document inside the caller's transaction `tx` (the exchange
/// registers one package for several agencies, with its own rows, atomically). A document
/// identifier already registered for the agency — committed, or earlier in `tx` — answers
/// that entry and writes nothing. On an error `tx` must be rolled back (dropped): a refused
/// duplicate by number and notation, for one, has already drawn an arrival number in it.
pub async fn register_received_in(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    doc: &ReceivedDocument,
) -> Result<Received> {
    let agency = active_agency(p, &doc.to_agency_code).await?;
    check_right(ctx, Access::RegisterDocuments, &agency.agency_path())?;
    parse_document_identifier(&doc.document_id)?;
    doc.metadata.check_incoming()?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM doc_incoming WHERE agency_id = $1 AND document_id = $2")
            .bind(agency.id)
            .bind(&doc.document_id)
            .fetch_optional(&mut *tx.tx)
            .await?;
    if let Some(id) = existing {
        return Ok(Received {
            incoming_id: id,
            created: false,
        });
    }
    let mut views = Vec::new();
    for f in &doc.files {
        let size = usize::try_from(f.blob.size)
            .map_err(|e| tinhso_platform::Error::Other(e.to_string()))?;
        views.push(files::insert(tx, ctx, &f.filename, size, &f.blob.checked, &f.blob.key).await?);
    }
    let entry = incoming::Entry {
        source: "external",
        document_id: Some(doc.document_id.clone()),
        metadata: &doc.metadata,
        files: views,
        from_outgoing_id: None,
        registrar: None,
    };
    let incoming_id = incoming::insert(p, tx, ctx, &agency, &entry).await?;
    Ok(Received {
        incoming_id,
        created: true,
    })
}

/// Links the received entry `incoming_id` to the outgoing document of its own agency that it
/// answers (ResponseFor's DocumentId `answered_document_id`), inside the caller's transaction.
/// Returns the outgoing document's id, or `None` when it is not one of the agency's (a
/// ResponseFor naming a document of someone else, or a paper one, links nothing).
pub async fn link_answer_in(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    incoming_id: i64,
    answered_document_id: &str,
) -> Result<Option<i64>> {
    let outgoing_id: Option<i64> = sqlx::query_scalar("SELECT o.id FROM doc_outgoing o JOIN doc_incoming i ON i.agency_id = o.agency_id WHERE i.id = $1 AND o.document_id = $2")
        .bind(incoming_id)
        .bind(answered_document_id.trim())
        .fetch_optional(&mut *tx.tx)
        .await?;
    let Some(outgoing_id) = outgoing_id else {
        return Ok(None);
    };
    sqlx::query("UPDATE doc_incoming SET answers_outgoing_id = $1 WHERE id = $2")
        .bind(outgoing_id)
        .bind(incoming_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        tx,
        ctx,
        Change::after(
            "document_incoming.answers",
            "document_incoming",
            &incoming_id.to_string(),
            &serde_json::json!({ "outgoing_id": outgoing_id }),
        ),
    )
    .await?;
    Ok(Some(outgoing_id))
}

/// A received document revoked by its sender (edXML BussinessDocType 1), inside the caller's
/// transaction. Returns the entry's id, or `None` when the document never arrived here.
pub async fn revoke_received_in(
    p: &Platform,
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    to_agency_code: &str,
    document_id: &str,
    reason: &str,
) -> Result<Option<i64>> {
    let agency = active_agency(p, to_agency_code).await?;
    check_right(ctx, Access::RegisterDocuments, &agency.agency_path())?;
    check_len(reason, 500, "document.revoke_reason.too_long")?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM doc_incoming WHERE agency_id = $1 AND document_id = $2 AND revoked_ms IS NULL")
        .bind(agency.id)
        .bind(document_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
    let Some(id) = id else {
        return Ok(None);
    };
    incoming::mark_revoked(tx, ctx, id, reason).await?;
    p.audit(
        tx,
        ctx,
        Change::after(
            "document_incoming.revoked_by_sender",
            "document_incoming",
            &id.to_string(),
            &serde_json::json!({ "document_id": document_id, "reason": reason }),
        ),
    )
    .await?;
    Ok(Some(id))
}

/// The state of a received entry, for the exchange's status reporter: its business status
/// code (`domain::workflow::business_status_of`) and whether it was revoked.
pub async fn received_state(p: &Platform, incoming_id: i64) -> Result<Option<(String, bool)>> {
    let row = sqlx::query("SELECT status, revoked_ms FROM doc_incoming WHERE id = $1")
        .bind(incoming_id)
        .fetch_optional(p.db.pool())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let status: String = row.try_get(0)?;
    let revoked: Option<i64> = row.try_get(1)?;
    let status = crate::domain::workflow::IncomingStatus::parse(&status)?;
    Ok(Some((
        crate::domain::workflow::business_status_of(status).to_owned(),
        revoked.is_some(),
    )))
}

/// [`record_business_status`] inside the caller's transaction (the exchange writes its
/// received-package and log rows with it).
pub async fn record_business_status_in(
    p: &Platform,
    tx: &mut tinhso_platform::WriteTx,
    ctx: &Ctx,
    document_id: &str,
    from_organ_id: &str,
    code: &str,
    description: &str,
) -> Result<i64> {
    check_business_status(code)?;
    check_len(
        description,
        1000,
        "document.business_status.description.too_long",
    )?;
    let row = sqlx::query("SELECT r.id, o.agency_id FROM doc_recipients r JOIN doc_outgoing o ON o.id = r.outgoing_id WHERE o.document_id = $1 AND r.organ_id = $2")
        .bind(document_id)
        .bind(from_organ_id)
        .fetch_optional(&mut *tx.tx)
        .await?
        .ok_or_else(|| not_found("recipient of that document"))?;
    let recipient_id: i64 = row.try_get(0)?;
    let sender = agency_by_id(p, row.try_get(1)?)
        .await?
        .ok_or_else(|| not_found("agency"))?;
    check_right(ctx, Access::RegisterDocuments, &sender.agency_path())?;
    sqlx::query("UPDATE doc_recipients SET business_status = $1, status_ms = $2 WHERE id = $3")
        .bind(code)
        .bind(ctx.now_ms)
        .bind(recipient_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        tx,
        ctx,
        Change::after(
            "document_recipient.business_status",
            "document_recipient",
            &recipient_id.to_string(),
            &serde_json::json!({ "code": code, "description": description }),
        ),
    )
    .await?;
    Ok(recipient_id)
}
