//! Dossier documents, the services: uploads (scanned, typed by content, owned by their
//! uploader, bounded in size and number), documents attached to a dossier (submitted with the
//! filing, supplements, results) and the citizen's document store.
//!
//! Invariants: a stored upload was reported clean by the configured scanner (or no scanner is
//! configured) and is a PDF, JPEG or PNG by its content; an upload is attached to one dossier
//! at most, by its owner, in the transaction that writes the dossier change; a citizen sees
//! only their own uploads, store and dossiers (anything else is "not found").

use serde::Serialize;
use sqlx::Row;
use tinhso_core::access::{Action as AccessAction, Role, Target};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::Change;
use tinhso_platform::scanner::ScanVerdict;
use tinhso_platform::{
    Batch, Caller, Ctx, Error, Outcomes, Platform, Result, StatementId, WriteTx,
};

use crate::domain::catalog::RequiredDocument;
use crate::domain::documents::{Planned, Source, detect_type, sanitize_filename};

/// What a stored upload looks like to its owner.
#[derive(Debug, Clone, Serialize)]
pub struct UploadView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub scan_verdict: String,
}

/// One document of a dossier.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub id: i64,
    /// `submitted`, `supplement` or `result`.
    pub role: String,
    pub requirement_index: Option<i64>,
    pub name: String,
    /// `upload`, `store` or `paper`.
    pub source: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
    /// False for paper documents: nothing to download.
    pub downloadable: bool,
}

/// One document of the citizen's store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreDocumentView {
    pub id: i64,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub source_dossier: Option<String>,
    pub created_ms: i64,
}

/// Rules of the upload errors (stable, for clients and the UI).
pub const RULE_TOO_LARGE: &str = "upload.too_large";
pub const RULE_TYPE: &str = "upload.type_not_allowed";
pub const RULE_INFECTED: &str = "upload.infected";
pub const RULE_PENDING: &str = "upload.too_many_pending";

/// Who may upload: citizens for their own filings, and officers who handle dossiers (scans at
/// the counter, result documents). Returns the owner account (none for the platform itself).
/// Refuses a caller who may not upload, before the body is read (the HTTP handler calls it
/// first, so nobody else can make the server buffer 10 MiB).
pub fn check_may_upload(ctx: &Ctx) -> Result<()> {
    check_uploader(ctx).map(|_| ())
}

fn check_uploader(ctx: &Ctx) -> Result<Option<i64>> {
    match &ctx.caller {
        Caller::Local => Ok(None),
        Caller::Anonymous => Err(Error::domain(
            ErrorCode::Unauthenticated,
            "log in to upload",
        )),
        Caller::User(principal) => {
            let citizen = principal.has_role(Role::Citizen)
                && ctx
                    .authorize(
                        AccessAction::SubmitDossier,
                        &Target::OwnedBy(principal.user_id),
                    )
                    .is_ok();
            let officer = principal.grants.iter().any(|g| {
                ctx.authorize(AccessAction::ViewDossier, &Target::Agency(&g.agency_path))
                    .is_ok()
            });
            if citizen || officer {
                Ok(Some(principal.user_id))
            } else {
                Err(DomainError::forbidden().into())
            }
        }
    }
}

async fn pending_uploads(p: &Platform, owner: i64) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM uploads WHERE owner_user_id = $1 AND attached_ms IS NULL",
    )
    .bind(owner)
    .fetch_one(p.db.pool())
    .await?)
}

fn too_many_pending(max: u32) -> Error {
    DomainError::new(
        ErrorCode::RateLimited,
        format!("at most {max} uploads may wait to be attached; file or discard some first"),
    )
    .with_rule(RULE_PENDING)
    .into()
}

/// Stores one uploaded file after the checks, in this order: who, size, quota, malware scan
/// (first among the content checks, so malware is named as such whatever it pretends to be),
/// then the type by content. Nothing is stored or recorded unless every check passes.
pub async fn upload(p: &Platform, ctx: &Ctx, filename: &str, bytes: &[u8]) -> Result<UploadView> {
    let owner = check_uploader(ctx)?;
    let limits = &p.config.limits;
    if bytes.len() > limits.max_upload_bytes {
        return Err(DomainError::new(
            ErrorCode::PayloadTooLarge,
            format!("an upload has at most {} bytes", limits.max_upload_bytes),
        )
        .with_rule(RULE_TOO_LARGE)
        .into());
    }
    if bytes.is_empty() {
        return Err(DomainError::invalid("the file is empty")
            .with_rule(RULE_TYPE)
            .into());
    }
    if let Some(owner) = owner
        && pending_uploads(p, owner).await? >= i64::from(limits.max_pending_uploads)
    {
        return Err(too_many_pending(limits.max_pending_uploads));
    }
    let verdict = p.scanner.scan(bytes).await?;
    if let ScanVerdict::Infected(signature) = &verdict {
        return Err(DomainError::invalid(format!(
            "the file is infected ({signature}) and was not accepted"
        ))
        .with_rule(RULE_INFECTED)
        .into());
    }
    let content_type = detect_type(bytes).ok_or_else(|| {
        Error::from(
            DomainError::invalid("only PDF, JPEG and PNG files are accepted (checked by content)")
                .with_rule(RULE_TYPE),
        )
    })?;
    let filename = sanitize_filename(filename, content_type);
    // Content-addressed: a blob left behind by a failed transaction below is harmless (no
    // row points at it) and is reused if the same file comes again.
    let key = p.blobs.put(bytes).await?;
    let size = i64::try_from(bytes.len()).map_err(|e| Error::Other(e.to_string()))?;
    let mut tx = p.db.begin_write().await?;
    if let Some(owner) = owner {
        // Checked again under the write lock: concurrent uploads cannot overshoot the quota.
        let pending: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM uploads WHERE owner_user_id = $1 AND attached_ms IS NULL",
        )
        .bind(owner)
        .fetch_one(&mut *tx.tx)
        .await?;
        if pending >= i64::from(limits.max_pending_uploads) {
            return Err(too_many_pending(limits.max_pending_uploads));
        }
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO uploads (owner_user_id, uploaded_by, blob_key, sha256, size_bytes, content_type, filename, scan_verdict, created_ms) VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8) RETURNING id")
        .bind(owner)
        .bind(&ctx.actor)
        .bind(&key)
        .bind(size)
        .bind(content_type)
        .bind(&filename)
        .bind(verdict.as_str())
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action: "upload.create",
            object_type: "upload",
            object_id: &id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "sha256": key, "size": size, "content_type": content_type, "scan": verdict.as_str(),
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(UploadView {
        id,
        filename,
        content_type: content_type.to_owned(),
        size_bytes: size,
        sha256: key,
        scan_verdict: verdict.as_str().to_owned(),
    })
}

/// A document ready to be linked to a dossier, checked against its owner.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    requirement_index: Option<i64>,
    name: String,
    source: &'static str,
    upload_id: Option<i64>,
    citizen_document_id: Option<i64>,
    blob_key: Option<String>,
    filename: String,
    content_type: Option<String>,
    size_bytes: Option<i64>,
}

fn already_attached(id: i64) -> Error {
    DomainError::new(
        ErrorCode::Conflict,
        format!("upload {id} is already attached to a dossier"),
    )
    .with_rule("upload.already_attached")
    .into()
}

fn not_found_upload(id: i64) -> Error {
    DomainError::not_found(format!("upload {id}")).into()
}

/// Loads an upload the caller may attach: their own (the platform itself may attach any), not
/// attached yet. Another account's upload is "not found".
async fn attachable_upload(p: &Platform, ctx: &Ctx, id: i64) -> Result<Resolved> {
    let row = sqlx::query("SELECT owner_user_id, attached_ms, blob_key, filename, content_type, size_bytes FROM uploads WHERE id = $1")
        .bind(id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| not_found_upload(id))?;
    let owner: Option<i64> = row.try_get(0)?;
    let mine = match &ctx.caller {
        Caller::Local => true,
        Caller::User(principal) => owner == Some(principal.user_id),
        Caller::Anonymous => false,
    };
    if !mine {
        return Err(not_found_upload(id));
    }
    if row.try_get::<Option<i64>, _>(1)?.is_some() {
        return Err(already_attached(id));
    }
    let filename: String = row.try_get(3)?;
    Ok(Resolved {
        requirement_index: None,
        name: filename.clone(),
        source: "upload",
        upload_id: Some(id),
        citizen_document_id: None,
        blob_key: Some(row.try_get(2)?),
        filename,
        content_type: Some(row.try_get(4)?),
        size_bytes: Some(row.try_get(5)?),
    })
}

/// Resolves the planned documents of a filing: uploads of the caller, store documents of the
/// applicant, paper. Reads only; the links are written by [`link`] in the filing's
/// transaction.
pub(crate) async fn resolve_filing(
    p: &Platform,
    ctx: &Ctx,
    applicant_user: Option<i64>,
    required: &[RequiredDocument],
    planned: &[Planned],
) -> Result<Vec<Resolved>> {
    let mut resolved = Vec::with_capacity(planned.len());
    for plan in planned {
        let requirement = &required[plan.requirement_index];
        let index = i64::try_from(plan.requirement_index).ok();
        let doc = match plan.source {
            Source::Upload(id) => Resolved {
                requirement_index: index,
                name: requirement.name.clone(),
                ..attachable_upload(p, ctx, id).await?
            },
            Source::Store(id) => {
                let row = sqlx::query("SELECT owner_user_id, name, blob_key, content_type, size_bytes FROM citizen_documents WHERE id = $1")
                    .bind(id)
                    .fetch_optional(p.db.pool())
                    .await?;
                let row = match row {
                    Some(row)
                        if applicant_user.is_some()
                            && row.try_get::<i64, _>(0)? == applicant_user.unwrap_or(-1) =>
                    {
                        row
                    }
                    _ => {
                        return Err(DomainError::not_found(format!("store document {id}")).into());
                    }
                };
                Resolved {
                    requirement_index: index,
                    name: requirement.name.clone(),
                    source: "store",
                    upload_id: None,
                    citizen_document_id: Some(id),
                    blob_key: Some(row.try_get(2)?),
                    filename: row.try_get(1)?,
                    content_type: Some(row.try_get(3)?),
                    size_bytes: Some(row.try_get(4)?),
                }
            }
            Source::Paper => Resolved {
                requirement_index: index,
                name: requirement.name.clone(),
                source: "paper",
                upload_id: None,
                citizen_document_id: None,
                blob_key: None,
                filename: String::new(),
                content_type: None,
                size_bytes: None,
            },
        };
        resolved.push(doc);
    }
    Ok(resolved)
}

/// Resolves uploads given with a supplement or as results (the caller's own, unattached).
pub(crate) async fn resolve_uploads(p: &Platform, ctx: &Ctx, ids: &[i64]) -> Result<Vec<Resolved>> {
    if ids.len() > crate::domain::documents::MAX_DOCUMENTS {
        return Err(DomainError::invalid(format!(
            "at most {} documents at once",
            crate::domain::documents::MAX_DOCUMENTS
        ))
        .with_rule("dossier.documents_too_many")
        .into());
    }
    let mut resolved = Vec::with_capacity(ids.len());
    for (n, id) in ids.iter().enumerate() {
        if ids[..n].contains(id) {
            return Err(DomainError::invalid(format!("upload {id} is given twice"))
                .with_rule("dossier.document_duplicate")
                .into());
        }
        resolved.push(attachable_upload(p, ctx, *id).await?);
    }
    Ok(resolved)
}

/// The claims of a linking's uploads in its batch (see [`link`]).
#[must_use = "a claim is only safe once checked"]
pub(crate) struct Claims(Vec<(StatementId, i64)>);

impl Claims {
    /// A conflict when another dossier took one of the uploads meanwhile: its claim changed
    /// nothing and the batch stopped there (the caller's transaction then rolls back).
    pub(crate) fn check(&self, outcomes: &Outcomes) -> Result<()> {
        match self
            .0
            .iter()
            .find(|(id, _)| outcomes.stopped_at() == Some(*id))
        {
            Some((_, upload_id)) => Err(already_attached(*upload_id)),
            None => Ok(()),
        }
    }
}

/// Links checked documents to a dossier in the caller's batch: each upload is claimed by a
/// checked statement (the batch stops when another dossier took it meanwhile; see
/// [`Claims::check`]), and the rows go in as one statement (a counter intake links three or
/// more).
pub(crate) fn link<'a>(
    batch: &mut Batch<'a>,
    ctx: &Ctx,
    dossier_id: i64,
    role: &str,
    docs: &'a [Resolved],
) -> Claims {
    let now_ms = ctx.now_ms;
    let claims = docs
        .iter()
        .filter_map(|doc| doc.upload_id)
        .map(|upload_id| {
            let claim = batch.push_expecting(
                "UPDATE uploads SET attached_ms = $1 WHERE id = $2 AND attached_ms IS NULL",
                1,
                move |q| q.bind(now_ms).bind(upload_id),
            );
            (claim, upload_id)
        })
        .collect();
    let claims = Claims(claims);
    if docs.is_empty() {
        return claims;
    }
    let sql = format!(
        "INSERT INTO dossier_documents (dossier_id, role, requirement_index, name, source, upload_id, citizen_document_id, blob_key, filename, content_type, size_bytes, added_by, added_ms) VALUES {}",
        crate::sql::values_placeholders(docs.len(), 13)
    );
    let (role, actor) = (role.to_owned(), ctx.actor.clone());
    batch.push(sql, move |mut insert| {
        for doc in docs {
            insert = insert
                .bind(dossier_id)
                .bind(role.clone())
                .bind(doc.requirement_index)
                .bind(doc.name.clone())
                .bind(doc.source)
                .bind(doc.upload_id)
                .bind(doc.citizen_document_id)
                .bind(doc.blob_key.clone())
                .bind(doc.filename.clone())
                .bind(doc.content_type.clone())
                .bind(doc.size_bytes)
                .bind(actor.clone())
                .bind(now_ms);
        }
        insert
    });
    claims
}

/// Copies the result documents of a dossier into its applicant's store (when the result is
/// returned), in the caller's transaction.
pub(crate) async fn copy_results_to_store(
    tx: &mut WriteTx,
    ctx: &Ctx,
    dossier_id: i64,
    owner: i64,
) -> Result<u64> {
    Ok(sqlx::query("INSERT INTO citizen_documents (owner_user_id, name, blob_key, content_type, size_bytes, source_dossier_id, created_ms) SELECT $1, name, blob_key, content_type, size_bytes, dossier_id, $2 FROM dossier_documents WHERE dossier_id = $3 AND role = 'result' AND blob_key IS NOT NULL ORDER BY id")
        .bind(owner)
        .bind(ctx.now_ms)
        .bind(dossier_id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected())
}

/// The documents of a dossier (by internal id); results only when asked.
pub(crate) async fn of_dossier(
    p: &Platform,
    dossier_id: i64,
    with_results: bool,
) -> Result<Vec<DocumentView>> {
    sqlx::query(sqlx::AssertSqlSafe(format!("{DOCUMENT_SLOTS} ORDER BY 2")))
        .bind(dossier_id)
        .bind(i64::from(with_results))
        .fetch_all(p.db.pool())
        .await?
        .iter()
        .map(document_from_slots)
        .collect()
}

/// A dossier's documents in the column slots of the dossier's lists query (see
/// `crate::dossiers::with_lists`): kind 2, ordered by id; result documents only when `$2` is 1.
pub(crate) const DOCUMENT_SLOTS: &str = "SELECT CAST(2 AS BIGINT), id, requirement_index, size_bytes, NULL, NULL, role, name, source, filename, content_type, blob_key FROM dossier_documents WHERE dossier_id = $1 AND (role <> 'result' OR $2 = 1)";

/// A document from a row of [`DOCUMENT_SLOTS`].
pub(crate) fn document_from_slots(r: &sqlx::any::AnyRow) -> Result<DocumentView> {
    Ok(DocumentView {
        id: r.try_get(1)?,
        role: r.try_get(6)?,
        requirement_index: r.try_get(2)?,
        name: r.try_get(7)?,
        source: r.try_get(8)?,
        filename: r.try_get(9)?,
        content_type: r.try_get(10)?,
        size_bytes: r.try_get(3)?,
        downloadable: r.try_get::<Option<String>, _>(11)?.is_some(),
    })
}

/// The documents of a dossier, for those who may read it.
pub async fn list(p: &Platform, ctx: &Ctx, code: &str) -> Result<Vec<DocumentView>> {
    let (dossier_id, with_results) = crate::dossiers::document_access(p, ctx, code).await?;
    of_dossier(p, dossier_id, with_results).await
}

/// A downloadable document: its description and bytes.
pub struct Download {
    pub document: DocumentView,
    pub bytes: Vec<u8>,
}

/// One document's file, for those who may read the dossier; anything else is "not found".
pub async fn download(p: &Platform, ctx: &Ctx, code: &str, id: i64) -> Result<Download> {
    let (dossier_id, with_results) = crate::dossiers::document_access(p, ctx, code).await?;
    let not_found = || Error::from(DomainError::not_found("document"));
    let document = of_dossier(p, dossier_id, with_results)
        .await?
        .into_iter()
        .find(|d| d.id == id && d.downloadable)
        .ok_or_else(not_found)?;
    let key: Option<String> =
        sqlx::query_scalar("SELECT blob_key FROM dossier_documents WHERE id = $1")
            .bind(id)
            .fetch_one(p.db.pool())
            .await?;
    let key = key.ok_or_else(not_found)?;
    let bytes = p
        .blobs
        .get(&key)
        .await?
        .ok_or_else(|| Error::Other(format!("blob {key} of document {id} is missing")))?;
    Ok(Download { document, bytes })
}

/// The caller's document store (citizens), newest first, bounded.
pub async fn my_store(p: &Platform, ctx: &Ctx) -> Result<Vec<StoreDocumentView>> {
    let user_id = crate::dossiers::own_records_owner(ctx)?;
    sqlx::query("SELECT c.id, c.name, c.content_type, c.size_bytes, d.code, c.created_ms FROM citizen_documents c LEFT JOIN dossiers d ON d.id = c.source_dossier_id WHERE c.owner_user_id = $1 ORDER BY c.id DESC LIMIT 500")
        .bind(user_id)
        .fetch_all(p.db.pool())
        .await?
        .iter()
        .map(|r| {
            Ok(StoreDocumentView {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                content_type: r.try_get(2)?,
                size_bytes: r.try_get(3)?,
                source_dossier: r.try_get(4)?,
                created_ms: r.try_get(5)?,
            })
        })
        .collect()
}
