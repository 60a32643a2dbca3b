//! Work files (hồ sơ công việc): the documents of one matter grouped under a file with
//! Phụ lục VI's file metadata (FileCode, Title, Maintenance, Rights, Creator, Language,
//! StartDate, EndDate, DocTotal, PageTotal, Description).
//!
//! Invariants: a file belongs to one agency and holds only that agency's documents, each
//! once; FileCode (`OrganId.Year.FileNotation`) is unique; DocTotal is counted, never
//! stored; a reader sees only the items they may see (confidential documents stay hidden).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tinhso_core::access::Action as Access;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::Change;
use tinhso_platform::org::agency_by_id;
use tinhso_platform::{Ctx, Platform, Result};

use crate::common::{
    active_agency, check_right, check_view, from_json_text, json_text, not_found, year_of,
};
use crate::domain::metadata::{WorkFileMetadata, file_code};
use crate::domain::types::Confidentiality;
use crate::{incoming, outgoing};

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewWorkFile {
    pub agency_code: String,
    /// FileCatalog: the year of the agency's file list (default: this year).
    #[serde(default)]
    pub year: Option<i64>,
    pub metadata: WorkFileMetadata,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewItem {
    /// `in` or `out`.
    pub direction: String,
    pub document_id: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemView {
    pub direction: String,
    pub document_id: i64,
    pub code: Option<String>,
    pub subject: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct WorkFileView {
    pub id: i64,
    pub agency_code: String,
    pub year: i64,
    pub file_code: String,
    pub metadata: WorkFileMetadata,
    /// DocTotal: the documents in the file.
    pub doc_total: i64,
    pub items: Vec<ItemView>,
    /// When the matter was finished and the file closed.
    pub closed_ms: Option<i64>,
    /// When the file was handed to the archive (nộp lưu).
    pub archived_ms: Option<i64>,
}

/// Opens a work file of an agency (its specialists, leaders and clerks).
pub async fn create(p: &Platform, ctx: &Ctx, input: &NewWorkFile) -> Result<WorkFileView> {
    let agency = active_agency(p, &input.agency_code).await?;
    check_right(ctx, Access::DraftDocuments, &agency.agency_path())?;
    input.metadata.check()?;
    let year = input.year.unwrap_or_else(|| year_of(ctx.now_ms));
    if !(1900..=9999).contains(&year) {
        return Err(DomainError::invalid("a four-digit year")
            .with_rule("work_file.year.invalid")
            .into());
    }
    let code = file_code(
        &agency.code,
        i32::try_from(year).unwrap_or_default(),
        input.metadata.file_notation.trim(),
    );
    let mut tx = p.db.begin_write().await?;
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM doc_work_files WHERE file_code = $1")
            .bind(&code)
            .fetch_optional(&mut *tx.tx)
            .await?;
    if let Some(existing) = taken {
        return Err(DomainError::new(
            ErrorCode::Conflict,
            format!("file {code} exists (id {existing})"),
        )
        .with_rule("work_file.file_code.duplicate")
        .into());
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO doc_work_files (agency_id, year, file_code, metadata, created_by, created_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(agency.id)
        .bind(year)
        .bind(&code)
        .bind(json_text(&input.metadata)?)
        .bind(&ctx.actor)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "work_file.create",
            "work_file",
            &id.to_string(),
            &serde_json::json!({ "file_code": code, "metadata": input.metadata }),
        ),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

async fn header(
    p: &Platform,
    id: i64,
) -> Result<(tinhso_platform::org::Agency, i64, String, String)> {
    let r = sqlx::query(
        "SELECT agency_id, year, file_code, metadata FROM doc_work_files WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(p.db.pool())
    .await?
    .ok_or_else(|| not_found("work file"))?;
    let agency = agency_by_id(p, r.try_get(0)?)
        .await?
        .ok_or_else(|| not_found("agency"))?;
    Ok((agency, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?))
}

/// A work file with the items the caller may see.
pub async fn get(p: &Platform, ctx: &Ctx, id: i64) -> Result<WorkFileView> {
    let (agency, year, code, metadata) = header(p, id).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "work file",
    )?;
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT direction, document_row_id FROM doc_work_file_items WHERE work_file_id = $1 ORDER BY added_ms, document_row_id")
        .bind(id)
        .fetch_all(p.db.pool())
        .await?;
    let doc_total = i64::try_from(rows.len()).unwrap_or_default();
    let (closed_ms, archived_ms): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT closed_ms, archived_ms FROM doc_work_files WHERE id = $1")
            .bind(id)
            .fetch_one(p.db.pool())
            .await?;
    let mut items = Vec::new();
    for (direction, document_id) in rows {
        let item = if direction == "in" {
            incoming::get(p, ctx, document_id)
                .await
                .ok()
                .map(|d| ItemView {
                    direction: direction.clone(),
                    document_id,
                    code: Some(d.code).filter(|c| !c.is_empty()),
                    subject: d.metadata.subject,
                })
        } else {
            outgoing::get(p, ctx, document_id)
                .await
                .ok()
                .map(|d| ItemView {
                    direction: direction.clone(),
                    document_id,
                    code: d.code,
                    subject: d.metadata.subject,
                })
        };
        items.extend(item);
    }
    Ok(WorkFileView {
        id,
        agency_code: agency.code,
        year,
        file_code: code,
        metadata: from_json_text(&metadata)?,
        doc_total,
        items,
        closed_ms,
        archived_ms,
    })
}

/// Puts one of the agency's documents into the file.
pub async fn add_item(p: &Platform, ctx: &Ctx, id: i64, item: &NewItem) -> Result<WorkFileView> {
    let (agency, _, _, _) = header(p, id).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "work file",
    )?;
    check_right(ctx, Access::DraftDocuments, &agency.agency_path())?;
    let owner = match item.direction.as_str() {
        "in" => incoming::get(p, ctx, item.document_id).await?.agency_code,
        "out" => outgoing::get(p, ctx, item.document_id).await?.agency_code,
        _ => {
            return Err(DomainError::invalid("direction is `in` or `out`")
                .with_rule("work_file.item.direction")
                .into());
        }
    };
    if owner != agency.code {
        return Err(
            DomainError::invalid("a work file holds its own agency's documents")
                .with_rule("work_file.item.other_agency")
                .into(),
        );
    }
    let mut tx = p.db.begin_write().await?;
    let present: Option<i64> = sqlx::query_scalar("SELECT work_file_id FROM doc_work_file_items WHERE work_file_id = $1 AND direction = $2 AND document_row_id = $3")
        .bind(id)
        .bind(&item.direction)
        .bind(item.document_id)
        .fetch_optional(&mut *tx.tx)
        .await?;
    if present.is_some() {
        return Err(
            DomainError::new(ErrorCode::Conflict, "the document is already in the file")
                .with_rule("work_file.item.duplicate")
                .into(),
        );
    }
    sqlx::query("INSERT INTO doc_work_file_items (work_file_id, direction, document_row_id, added_ms) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(&item.direction)
        .bind(item.document_id)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after("work_file.add_item", "work_file", &id.to_string(), item),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

/// Sets one of the file's instants (`closed_ms`, `archived_ms`) once, in order: a file is
/// closed before it is handed over, and neither happens twice.
async fn stamp(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    column: Stamp,
    right: Access,
) -> Result<WorkFileView> {
    let (agency, _, _, _) = header(p, id).await?;
    check_view(
        ctx,
        &agency.agency_path(),
        Confidentiality::Normal,
        &[],
        "work file",
    )?;
    check_right(ctx, right, &agency.agency_path())?;
    let sql = match column {
        Stamp::Closed => {
            "UPDATE doc_work_files SET closed_ms = $1 WHERE id = $2 AND closed_ms IS NULL"
        }
        Stamp::Archived => {
            "UPDATE doc_work_files SET archived_ms = $1 WHERE id = $2 AND closed_ms IS NOT NULL AND archived_ms IS NULL"
        }
    };
    let mut tx = p.db.begin_write().await?;
    let changed = sqlx::query(sql)
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(DomainError::new(
            ErrorCode::Conflict,
            "the work file is not open (to close) or not closed (to hand over)",
        )
        .with_rule(column.rule())
        .into());
    }
    p.audit(
        &mut tx,
        ctx,
        Change::after(column.action(), "work_file", &id.to_string(), &ctx.now_ms),
    )
    .await?;
    tx.commit().await?;
    get(p, ctx, id).await
}

#[derive(Clone, Copy)]
enum Stamp {
    Closed,
    Archived,
}

impl Stamp {
    fn rule(self) -> &'static str {
        match self {
            Stamp::Closed => "work_file.close.not_open",
            Stamp::Archived => "work_file.archive.not_closed",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Stamp::Closed => "work_file.close",
            Stamp::Archived => "work_file.hand_over",
        }
    }
}

/// Closes the file when its matter is finished (who drafts there).
pub async fn close(p: &Platform, ctx: &Ctx, id: i64) -> Result<WorkFileView> {
    stamp(p, ctx, id, Stamp::Closed, Access::DraftDocuments).await
}

/// Records that the closed file was handed to the archive (the clerk).
pub async fn hand_over(p: &Platform, ctx: &Ctx, id: i64) -> Result<WorkFileView> {
    stamp(p, ctx, id, Stamp::Archived, Access::RegisterDocuments).await
}
