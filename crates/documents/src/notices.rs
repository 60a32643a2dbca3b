//! In-app notices to officials (the platform has notifications for citizens only): a
//! document arrived in an incoming register of their agency, and work files due for the
//! archive.
//!
//! Invariants: an arrival notice is written in the registering transaction (clerk,
//! internal dispatch or exchange — all go through `incoming::insert`), one per leader and
//! clerk of the receiving agency, at most once per person and document; a notice is read by
//! its addressee only. Work files due for archiving (closed more than
//! [`ARCHIVE_AFTER_DAYS`] days ago and not handed over) are computed when asked, not
//! stored: the reminder stays until the file is handed over, which is what it is for.

use serde::Serialize;
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::{Action as Access, Role};
use tinhso_platform::audit::Change;
use tinhso_platform::org::Agency;
use tinhso_platform::{Caller, Ctx, Platform, Result, WriteTx};

use crate::common::{active_agency, check_right, not_found};

/// Nghị định 30, Điều 28: a closed work file is handed to the archive within this time.
pub const ARCHIVE_AFTER_DAYS: i64 = 30;
const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Clone, Serialize)]
pub struct Notice {
    /// Absent for computed reminders (`archive_due`), which cannot be marked read.
    pub id: Option<i64>,
    /// `arrival` or `archive_due`; the UI translates it.
    pub kind: String,
    pub agency_code: String,
    /// `incoming` or `work_file`.
    pub object_type: String,
    pub object_id: i64,
    /// The document's subject or the work file's title, as written.
    pub subject: String,
    pub created_ms: i64,
    pub read: bool,
}

/// A work file closed more than 30 days ago and not yet handed to the archive.
#[derive(Debug, Clone, Serialize)]
pub struct DueForArchiving {
    pub work_file_id: i64,
    pub agency_code: String,
    pub file_code: String,
    pub title: String,
    pub closed_ms: i64,
    /// Days since the file was closed.
    pub days_closed: i64,
}

/// Arrival notices for the leaders and clerks of `agency`, inside the registering `tx`.
pub(crate) async fn arrival(
    tx: &mut WriteTx,
    agency: &Agency,
    incoming_id: i64,
    subject: &str,
    now_ms: i64,
) -> Result<()> {
    sqlx::query("INSERT INTO doc_notices (user_id, kind, agency_id, object_type, object_id, subject, created_ms) SELECT DISTINCT g.user_id, 'arrival', $1, 'incoming', $2, $3, $4 FROM role_grants g JOIN users u ON u.id = g.user_id WHERE g.agency_id = $1 AND g.role IN ($5, $6) AND u.disabled = 0 ON CONFLICT (user_id, kind, object_type, object_id) DO NOTHING")
        .bind(agency.id)
        .bind(incoming_id)
        .bind(subject)
        .bind(now_ms)
        .bind(Role::Leader.as_str())
        .bind(Role::Clerk.as_str())
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

fn me(ctx: &Ctx) -> Result<i64> {
    match &ctx.caller {
        Caller::User(principal) => Ok(principal.user_id),
        _ => Err(DomainError::new(
            tinhso_core::ErrorCode::Unauthenticated,
            "notices are an official's own",
        )
        .into()),
    }
}

/// The caller's notices, newest first: stored ones (arrivals) and the archiving reminders
/// of agencies where the caller leads or keeps the registers.
pub async fn mine(p: &Platform, ctx: &Ctx, unread_only: bool) -> Result<Vec<Notice>> {
    let user = me(ctx)?;
    let rows = sqlx::query("SELECT n.id, n.kind, a.code, n.object_type, n.object_id, n.subject, n.created_ms, n.read_ms FROM doc_notices n JOIN agencies a ON a.id = n.agency_id WHERE n.user_id = $1 AND ($2 = 0 OR n.read_ms IS NULL) ORDER BY n.id DESC LIMIT 500")
        .bind(user)
        .bind(i64::from(unread_only))
        .fetch_all(p.db.pool())
        .await?;
    let mut out = Vec::new();
    let mut agencies = std::collections::BTreeSet::new();
    if let Caller::User(principal) = &ctx.caller {
        for g in &principal.grants {
            if matches!(g.role, Role::Leader | Role::Clerk) {
                agencies.insert(g.agency_id);
            }
        }
    }
    for agency_id in agencies {
        for due in due_rows(p, ctx.now_ms, agency_id).await? {
            out.push(Notice {
                id: None,
                kind: "archive_due".into(),
                agency_code: due.agency_code.clone(),
                object_type: "work_file".into(),
                object_id: due.work_file_id,
                subject: due.title.clone(),
                created_ms: due.closed_ms + ARCHIVE_AFTER_DAYS * DAY_MS,
                read: false,
            });
        }
    }
    for r in rows {
        out.push(Notice {
            id: Some(r.try_get(0)?),
            kind: r.try_get(1)?,
            agency_code: r.try_get(2)?,
            object_type: r.try_get(3)?,
            object_id: r.try_get(4)?,
            subject: r.try_get(5)?,
            created_ms: r.try_get(6)?,
            read: r.try_get::<Option<i64>, _>(7)?.is_some(),
        });
    }
    Ok(out)
}

/// The addressee marks a notice read (someone else's is "not found"); audited.
pub async fn mark_read(p: &Platform, ctx: &Ctx, id: i64) -> Result<()> {
    let user = me(ctx)?;
    let mut tx = p.db.begin_write().await?;
    let changed = sqlx::query(
        "UPDATE doc_notices SET read_ms = $1 WHERE id = $2 AND user_id = $3 AND read_ms IS NULL",
    )
    .bind(ctx.now_ms)
    .bind(id)
    .bind(user)
    .execute(&mut *tx.tx)
    .await?
    .rows_affected();
    if changed == 0 {
        let exists: Option<i64> =
            sqlx::query_scalar("SELECT id FROM doc_notices WHERE id = $1 AND user_id = $2")
                .bind(id)
                .bind(user)
                .fetch_optional(&mut *tx.tx)
                .await?;
        // Already read: nothing to do; someone else's or unknown: not found.
        return match exists {
            Some(_) => Ok(()),
            None => Err(not_found("notice")),
        };
    }
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "document_notice.read",
            "document_notice",
            &id.to_string(),
            &ctx.now_ms,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn due_rows(p: &Platform, now_ms: i64, agency_id: i64) -> Result<Vec<DueForArchiving>> {
    let limit = now_ms - ARCHIVE_AFTER_DAYS * DAY_MS;
    let rows = sqlx::query("SELECT w.id, a.code, w.file_code, w.metadata, w.closed_ms FROM doc_work_files w JOIN agencies a ON a.id = w.agency_id WHERE w.agency_id = $1 AND w.closed_ms IS NOT NULL AND w.closed_ms < $2 AND w.archived_ms IS NULL ORDER BY w.closed_ms, w.id")
        .bind(agency_id)
        .bind(limit)
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let metadata: crate::domain::metadata::WorkFileMetadata =
                crate::common::from_json_text(&r.try_get::<String, _>(3)?)?;
            let closed_ms: i64 = r.try_get(4)?;
            Ok(DueForArchiving {
                work_file_id: r.try_get(0)?,
                agency_code: r.try_get(1)?,
                file_code: r.try_get(2)?,
                title: metadata.title,
                closed_ms,
                days_closed: (now_ms - closed_ms) / DAY_MS,
            })
        })
        .collect()
}

/// The agency's work files due for archiving (its leaders and clerks, who hand files over).
pub async fn due_for_archiving(
    p: &Platform,
    ctx: &Ctx,
    agency_code: &str,
) -> Result<Vec<DueForArchiving>> {
    let agency = active_agency(p, agency_code).await?;
    crate::common::check_view(
        ctx,
        &agency.agency_path(),
        crate::domain::types::Confidentiality::Normal,
        &[],
        "agency",
    )?;
    check_right(ctx, Access::RegisterDocuments, &agency.agency_path())
        .or_else(|_| check_right(ctx, Access::ApproveDocuments, &agency.agency_path()))?;
    due_rows(p, ctx.now_ms, agency.id).await
}
