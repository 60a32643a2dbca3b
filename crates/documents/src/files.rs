//! Files of documents: scans of paper documents, electronic originals, draft versions and
//! signed PDFs.
//!
//! Invariants: a stored file passed the configured malware scanner (or none is configured) and
//! is a PDF, JPEG or PNG by its content (the one-stop shop's rules, reused); its bytes live in
//! the content-addressed blob store. Until a document refers to it, only its uploader may use
//! or read it; after that, whoever sees one of the documents it belongs to.

use serde::Serialize;
use sqlx::Row;
use std::path::Path;
use tinhso_core::access::{Action as Access, Target};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_onestop::domain::documents::{detect_type, sanitize_filename};
use tinhso_platform::audit::Change;
use tinhso_platform::scanner::ScanVerdict;
use tinhso_platform::{Caller, Ctx, Error, Platform, Result, WriteTx};
use tokio::io::AsyncReadExt;

use crate::common::{not_found, user_id};

pub const RULE_TOO_LARGE: &str = "document.file.too_large";
pub const RULE_TYPE: &str = "document.file.type_not_allowed";
pub const RULE_INFECTED: &str = "document.file.infected";
pub const RULE_UNKNOWN: &str = "document.file.unknown";

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub scan_verdict: String,
    pub created_ms: i64,
}

/// Who may upload: officials who work with documents somewhere, and local callers.
pub fn check_may_upload(ctx: &Ctx) -> Result<()> {
    match &ctx.caller {
        Caller::Local => Ok(()),
        Caller::Anonymous => Err(Error::domain(
            ErrorCode::Unauthenticated,
            "log in to upload",
        )),
        Caller::User(principal) => {
            if principal.grants.iter().any(|g| {
                ctx.authorize(Access::DraftDocuments, &Target::Agency(&g.agency_path))
                    .is_ok()
            }) {
                Ok(())
            } else {
                Err(DomainError::forbidden().into())
            }
        }
    }
}

/// Checks and stores one file; the row is written in its own audited transaction.
pub async fn store(p: &Platform, ctx: &Ctx, filename: &str, bytes: &[u8]) -> Result<FileView> {
    check_may_upload(ctx)?;
    let checked = check_content(p, bytes).await?;
    let key = p.blobs.put(bytes).await?;
    record(p, ctx, filename, bytes.len(), &checked, &key).await
}

/// [`store`] for a file on disk of up to `limit` bytes, streamed into the blob store
/// (memory does not grow with its size).
pub async fn store_file(
    p: &Platform,
    ctx: &Ctx,
    filename: &str,
    path: &Path,
    limit: u64,
) -> Result<FileView> {
    check_may_upload(ctx)?;
    let blob = put_checked_file(p, path, limit).await?;
    let size = usize::try_from(blob.size).map_err(|e| Error::Other(e.to_string()))?;
    record(p, ctx, filename, size, &blob.checked, &blob.key).await
}

/// The row of a stored file, in its own audited transaction.
async fn record(
    p: &Platform,
    ctx: &Ctx,
    filename: &str,
    size: usize,
    checked: &Checked,
    key: &str,
) -> Result<FileView> {
    let mut tx = p.db.begin_write().await?;
    let view = insert(&mut tx, ctx, filename, size, checked, key).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "document_file.create",
            "document_file",
            &view.id.to_string(),
            &view,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// What the checks found out about a file.
#[derive(Debug, Clone)]
pub struct Checked {
    pub content_type: &'static str,
    /// `clean` or `not_scanned` (no scanner configured).
    pub verdict: &'static str,
}

/// A checked file whose bytes are in the blob store, with no row yet (the exchange stores
/// attachments while it reads a package, then registers them with the document).
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub key: String,
    pub size: u64,
    pub checked: Checked,
}

/// Size, malware, then type by content.
pub async fn check_content(p: &Platform, bytes: &[u8]) -> Result<Checked> {
    check_size(bytes.len() as u64, p.config.limits.max_upload_bytes as u64)?;
    let verdict = verdict(p.scanner.scan(bytes).await?)?;
    content_type(bytes, verdict)
}

/// The bytes a type is recognised by (see `detect_type`): the longest signature is PNG's.
const TYPE_PREFIX: usize = 16;

/// [`check_content`] for a file on disk, up to `limit` bytes (attachments of received
/// packages may be far larger than uploads): the size from its metadata, the scanner fed in
/// chunks, the type from its first bytes. Memory does not grow with the file's size.
pub async fn check_file(p: &Platform, path: &Path, limit: u64) -> Result<(Checked, u64)> {
    let size = tokio::fs::metadata(path).await?.len();
    check_size(size, limit)?;
    let verdict = verdict(p.scanner.scan_file(path).await?)?;
    let mut head = Vec::with_capacity(TYPE_PREFIX);
    tokio::fs::File::open(path)
        .await?
        .take(TYPE_PREFIX as u64)
        .read_to_end(&mut head)
        .await?;
    Ok((content_type(&head, verdict)?, size))
}

/// Checks the file at `path` ([`check_file`]) and stores it in the blob store, streaming.
pub async fn put_checked_file(p: &Platform, path: &Path, limit: u64) -> Result<StoredBlob> {
    let (checked, size) = check_file(p, path, limit).await?;
    let key = p.blobs.put_file(path).await?;
    Ok(StoredBlob { key, size, checked })
}

/// Checks `bytes` ([`check_content`]) and stores them in the blob store.
pub async fn put_checked_bytes(p: &Platform, bytes: &[u8]) -> Result<StoredBlob> {
    let checked = check_content(p, bytes).await?;
    let key = p.blobs.put(bytes).await?;
    Ok(StoredBlob {
        key,
        size: bytes.len() as u64,
        checked,
    })
}

fn check_size(size: u64, limit: u64) -> Result<()> {
    if size > limit {
        return Err(DomainError::new(
            ErrorCode::PayloadTooLarge,
            format!("a file has at most {limit} bytes"),
        )
        .with_rule(RULE_TOO_LARGE)
        .into());
    }
    if size == 0 {
        return Err(DomainError::invalid("the file is empty")
            .with_rule(RULE_TYPE)
            .into());
    }
    Ok(())
}

fn verdict(verdict: ScanVerdict) -> Result<&'static str> {
    match verdict {
        ScanVerdict::Infected(signature) => Err(DomainError::invalid(format!(
            "the file is infected ({signature}) and was not accepted"
        ))
        .with_rule(RULE_INFECTED)
        .into()),
        ScanVerdict::Clean => Ok("clean"),
        ScanVerdict::NotScanned => Ok("not_scanned"),
    }
}

/// The type of a file by its first bytes; `verdict` is carried along.
fn content_type(head: &[u8], verdict: &'static str) -> Result<Checked> {
    let content_type = detect_type(head).ok_or_else(|| {
        Error::from(
            DomainError::invalid("only PDF, JPEG and PNG files are accepted (checked by content)")
                .with_rule(RULE_TYPE),
        )
    })?;
    Ok(Checked {
        content_type,
        verdict,
    })
}

/// Inserts the row of a checked file whose bytes are already in the blob store.
pub async fn insert(
    tx: &mut WriteTx,
    ctx: &Ctx,
    filename: &str,
    size: usize,
    checked: &Checked,
    key: &str,
) -> Result<FileView> {
    let content_type = checked.content_type;
    let verdict = checked.verdict;
    let filename = sanitize_filename(filename, content_type);
    let size = i64::try_from(size).map_err(|e| Error::Other(e.to_string()))?;
    let id: i64 = sqlx::query_scalar("INSERT INTO doc_files (uploaded_by, owner_user_id, blob_key, size_bytes, content_type, filename, scan_verdict, created_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(&ctx.actor)
        .bind(user_id(ctx))
        .bind(key)
        .bind(size)
        .bind(content_type)
        .bind(&filename)
        .bind(verdict)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    Ok(FileView {
        id,
        filename,
        content_type: content_type.to_owned(),
        size_bytes: size,
        sha256: key.to_owned(),
        scan_verdict: verdict.into(),
        created_ms: ctx.now_ms,
    })
}

const FILE_COLUMNS: &str =
    "id, filename, content_type, size_bytes, blob_key, scan_verdict, created_ms, owner_user_id";

fn file_from_row(r: &sqlx::any::AnyRow) -> Result<(FileView, Option<i64>)> {
    Ok((
        FileView {
            id: r.try_get(0)?,
            filename: r.try_get(1)?,
            content_type: r.try_get(2)?,
            size_bytes: r.try_get(3)?,
            sha256: r.try_get(4)?,
            scan_verdict: r.try_get(5)?,
            created_ms: r.try_get(6)?,
        },
        r.try_get(7)?,
    ))
}

/// A file the caller uploaded (or any file, for local callers), read inside `tx` so that
/// the document referring to it is written with it. Other people's files are "unknown".
pub async fn claim(tx: &mut WriteTx, ctx: &Ctx, file_id: i64) -> Result<FileView> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FILE_COLUMNS} FROM doc_files WHERE id = $1"
    )))
    .bind(file_id)
    .fetch_optional(&mut *tx.tx)
    .await?;
    let unknown = || {
        Error::from(
            DomainError::invalid(format!("file {file_id} is not one of your uploads"))
                .with_rule(RULE_UNKNOWN),
        )
    };
    let (view, owner) = file_from_row(&row.ok_or_else(unknown)?)?;
    match &ctx.caller {
        Caller::Local => Ok(view),
        _ if owner.is_some() && owner == user_id(ctx) => Ok(view),
        _ => Err(unknown()),
    }
}

/// Files by id, in the given order.
pub async fn views(p: &Platform, ids: &[i64]) -> Result<Vec<FileView>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM doc_files WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(p.db.pool())
        .await?;
        if let Some(row) = row {
            out.push(file_from_row(&row)?.0);
        }
    }
    Ok(out)
}

/// A file's metadata and bytes, for its uploader or for anyone who sees a document it
/// belongs to.
pub async fn download(p: &Platform, ctx: &Ctx, file_id: i64) -> Result<(FileView, Vec<u8>)> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {FILE_COLUMNS} FROM doc_files WHERE id = $1"
    )))
    .bind(file_id)
    .fetch_optional(p.db.pool())
    .await?
    .ok_or_else(|| not_found("file"))?;
    let (view, owner) = file_from_row(&row)?;
    let mine = matches!(ctx.caller, Caller::Local) || (owner.is_some() && owner == user_id(ctx));
    if !mine && !visible_through_documents(p, ctx, file_id).await? {
        return Err(not_found("file"));
    }
    let bytes = p
        .blobs
        .get(&view.sha256)
        .await?
        .ok_or_else(|| Error::Other(format!("blob of file {file_id} is missing")))?;
    Ok((view, bytes))
}

async fn visible_through_documents(p: &Platform, ctx: &Ctx, file_id: i64) -> Result<bool> {
    let incoming: Vec<i64> =
        sqlx::query_scalar("SELECT incoming_id FROM doc_incoming_files WHERE file_id = $1")
            .bind(file_id)
            .fetch_all(p.db.pool())
            .await?;
    for id in incoming {
        if crate::incoming::get(p, ctx, id).await.is_ok() {
            return Ok(true);
        }
    }
    let outgoing: Vec<i64> = sqlx::query_scalar("SELECT outgoing_id FROM doc_versions WHERE file_id = $1 UNION SELECT id FROM doc_outgoing WHERE signed_file_id = $1")
        .bind(file_id)
        .fetch_all(p.db.pool())
        .await?;
    for id in outgoing {
        if crate::outgoing::get(p, ctx, id).await.is_ok() {
            return Ok(true);
        }
    }
    Ok(false)
}
