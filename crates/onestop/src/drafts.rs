//! Online application drafts: what a citizen typed and chose for one procedure version, kept
//! on the server at every step (also when it fails validation), and submitted into exactly one
//! dossier.
//!
//! Invariants:
//! - A draft belongs to one citizen; anyone else is told it does not exist.
//! - At most one open draft per citizen and procedure version (a partial unique index); a
//!   newer version of the procedure opens a new draft that carries over the answers whose
//!   fields still exist.
//! - Submitting is idempotent: the draft is claimed inside the transaction that writes the
//!   dossier (row-locked on PostgreSQL, serialised on SQLite), so a double click or a re-post
//!   returns the dossier the first submission made, never a second one.
//! - Answers posted after the session ended are kept under a random token for a short time
//!   (only its digest is stored) and merged into the draft after the next login.
//! - Sizes are bounded: answers per draft, characters per answer, open drafts per citizen.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use tinhso_core::access::{Action as AccessAction, Role, Target};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::audit::Change;
use tinhso_platform::{Ctx, Dialect, Error, Platform, Result, WriteTx};

use crate::catalog;
use crate::domain::catalog::Channel;
use crate::domain::documents::{DocumentInput, MAX_DOCUMENTS, RequirementRef};
use crate::dossiers::{self, Applicant, DossierView, NewDossier};

/// Longest answer kept (characters).
pub const MAX_ANSWER_CHARS: usize = 4000;
/// Largest answers object of one draft (bytes of JSON).
pub const MAX_ANSWERS_BYTES: usize = 64 * 1024;
/// Open drafts one citizen may have.
pub const MAX_OPEN_DRAFTS: i64 = 100;
/// How long answers posted after the session ended are kept for the next login.
pub const PENDING_TTL_MS: i64 = 2 * 3_600_000;

/// One required document chosen in a draft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftDocument {
    /// Index into the procedure version's required documents.
    pub requirement: usize,
    #[serde(default)]
    pub upload_id: Option<i64>,
    #[serde(default)]
    pub store_document_id: Option<i64>,
    /// The file's name as shown to the citizen.
    #[serde(default)]
    pub filename: String,
}

/// A draft as its owner sees it.
#[derive(Debug, Clone, Serialize)]
pub struct DraftView {
    pub id: i64,
    pub procedure_code: String,
    pub procedure_version_id: i64,
    pub agency_code: String,
    pub answers: Map<String, Value>,
    pub documents: Vec<DraftDocument>,
    pub step: String,
    /// Set once submitted: the dossier it became.
    pub dossier_code: Option<String>,
    pub updated_ms: i64,
}

/// A change to a draft: only what is given changes.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DraftUpdate {
    /// Answers to set; an empty string or `null` clears the answer.
    #[serde(default)]
    pub answers: Option<Map<String, Value>>,
    #[serde(default)]
    pub agency_code: Option<String>,
    /// Documents to set, one per requirement (replacing that requirement's earlier choice).
    #[serde(default)]
    pub documents: Option<Vec<DraftDocument>>,
    /// Requirements whose choice is removed.
    #[serde(default)]
    pub clear_documents: Vec<usize>,
    #[serde(default)]
    pub step: Option<String>,
}

/// The calling citizen, allowed to file for themself.
fn citizen(ctx: &Ctx) -> Result<i64> {
    let principal = ctx
        .principal()
        .ok_or_else(|| Error::domain(ErrorCode::Unauthenticated, "log in first"))?;
    if !principal.has_role(Role::Citizen) {
        return Err(DomainError::forbidden().into());
    }
    ctx.authorize(
        AccessAction::SubmitDossier,
        &Target::OwnedBy(principal.user_id),
    )?;
    Ok(principal.user_id)
}

fn json_text<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Other(e.to_string()))
}

const SELECT_DRAFT: &str = "SELECT id, owner_user_id, procedure_code, procedure_version_id, agency_code, answers_json, documents_json, step, dossier_code, updated_ms FROM citizen_drafts";

fn view_of(row: &sqlx::any::AnyRow) -> Result<(i64, DraftView)> {
    let answers: Map<String, Value> =
        serde_json::from_str(&row.try_get::<String, _>(5)?).unwrap_or_default();
    let documents: Vec<DraftDocument> =
        serde_json::from_str(&row.try_get::<String, _>(6)?).unwrap_or_default();
    Ok((
        row.try_get(1)?,
        DraftView {
            id: row.try_get(0)?,
            procedure_code: row.try_get(2)?,
            procedure_version_id: row.try_get(3)?,
            agency_code: row.try_get(4)?,
            answers,
            documents,
            step: row.try_get(7)?,
            dossier_code: row.try_get(8)?,
            updated_ms: row.try_get(9)?,
        },
    ))
}

/// A draft of `owner`; another's draft (or none) is "not found".
async fn owned(p: &Platform, owner: i64, id: i64) -> Result<DraftView> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT_DRAFT} WHERE id = $1")))
        .bind(id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("draft"))?;
    let (row_owner, view) = view_of(&row)?;
    if row_owner != owner {
        return Err(DomainError::not_found("draft").into());
    }
    Ok(view)
}

/// Opens the caller's draft for the current version of a procedure offered online: the open
/// one, or a new one (carrying over the answers of an open draft of an older version).
pub async fn open(p: &Platform, ctx: &Ctx, procedure_code: &str) -> Result<DraftView> {
    let owner = citizen(ctx)?;
    let procedure = catalog::get(p, procedure_code.trim()).await?;
    if !procedure.spec.accepts(Channel::Online) {
        return Err(DomainError::invalid(format!(
            "procedure {} is not offered online",
            procedure.spec.code
        ))
        .with_rule("draft.not_online")
        .into());
    }
    let find = |version_id: i64| {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_DRAFT} WHERE owner_user_id = $1 AND procedure_version_id = $2 AND dossier_code IS NULL"
        )))
        .bind(owner)
        .bind(version_id)
    };
    if let Some(row) = find(procedure.version_id)
        .fetch_optional(p.db.pool())
        .await?
    {
        return Ok(view_of(&row)?.1);
    }
    // Answers of an open draft under an older version, for the fields that still exist.
    let older = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_DRAFT} WHERE owner_user_id = $1 AND procedure_code = $2 AND dossier_code IS NULL ORDER BY id DESC LIMIT 1"
    )))
    .bind(owner)
    .bind(&procedure.spec.code)
    .fetch_optional(p.db.pool())
    .await?;
    let (answers, agency_code) = match &older {
        Some(row) => {
            let (_, old) = view_of(row)?;
            let kept: Map<String, Value> = old
                .answers
                .into_iter()
                .filter(|(k, _)| procedure.spec.form.fields.iter().any(|f| f.key == *k))
                .collect();
            (kept, old.agency_code)
        }
        None => (Map::new(), String::new()),
    };
    let mut tx = p.db.begin_write().await?;
    let open_count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM citizen_drafts WHERE owner_user_id = $1 AND dossier_code IS NULL",
    )
    .bind(owner)
    .fetch_one(&mut *tx.tx)
    .await?;
    if open_count >= MAX_OPEN_DRAFTS {
        return Err(DomainError::new(
            ErrorCode::RateLimited,
            format!("at most {MAX_OPEN_DRAFTS} open drafts; submit or finish some first"),
        )
        .with_rule("draft.too_many")
        .into());
    }
    // A concurrent open of the same draft: the unique index lets one insert through.
    let inserted = sqlx::query("INSERT INTO citizen_drafts (owner_user_id, procedure_code, procedure_version_id, agency_code, answers_json, documents_json, step, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, '[]', '', $6, $6) ON CONFLICT DO NOTHING RETURNING id")
        .bind(owner)
        .bind(&procedure.spec.code)
        .bind(procedure.version_id)
        .bind(&agency_code)
        .bind(json_text(&answers)?)
        .bind(ctx.now_ms)
        .fetch_optional(&mut *tx.tx)
        .await?;
    if let Some(id) = inserted {
        let id: i64 = id.try_get(0)?;
        p.audit(
            &mut tx,
            ctx,
            Change::<(), _> {
                action: "draft.create",
                object_type: "draft",
                object_id: &id.to_string(),
                before: None,
                after: Some(&serde_json::json!({
                    "procedure": procedure.spec.code, "version": procedure.version,
                    "carried_answers": answers.len(),
                })),
            },
        )
        .await?;
        tx.commit().await?;
    } else {
        drop(tx);
    }
    let row = find(procedure.version_id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| Error::Other("the draft just opened is missing".into()))?;
    Ok(view_of(&row)?.1)
}

/// The caller's draft.
pub async fn get(p: &Platform, ctx: &Ctx, id: i64) -> Result<DraftView> {
    let owner = citizen(ctx)?;
    owned(p, owner, id).await
}

/// Applies `update` to answers and documents, checking keys and sizes (pure).
fn apply_update(
    spec: &crate::domain::catalog::ProcedureSpec,
    draft: &mut DraftView,
    update: &DraftUpdate,
) -> Result<()> {
    if let Some(answers) = &update.answers {
        for (key, value) in answers {
            if !spec.form.fields.iter().any(|f| f.key == *key) {
                return Err(
                    DomainError::invalid(format!("the form has no field `{key}`"))
                        .with_rule("draft.unknown_field")
                        .into(),
                );
            }
            let text = match value {
                Value::Null => String::new(),
                Value::String(s) => s.trim().to_owned(),
                _ => {
                    return Err(DomainError::invalid(format!("answer `{key}` is text"))
                        .with_rule("draft.not_text")
                        .into());
                }
            };
            if text.chars().count() > MAX_ANSWER_CHARS {
                return Err(DomainError::invalid(format!(
                    "answer `{key}` has more than {MAX_ANSWER_CHARS} characters"
                ))
                .with_rule("draft.answer_too_long")
                .into());
            }
            if text.is_empty() {
                draft.answers.remove(key);
            } else {
                draft.answers.insert(key.clone(), Value::String(text));
            }
        }
    }
    for index in &update.clear_documents {
        draft.documents.retain(|d| d.requirement != *index);
    }
    if let Some(documents) = &update.documents {
        if documents.len() > MAX_DOCUMENTS {
            return Err(
                DomainError::invalid(format!("at most {MAX_DOCUMENTS} documents"))
                    .with_rule("dossier.documents_too_many")
                    .into(),
            );
        }
        for doc in documents {
            let Some(requirement) = spec.required_documents.get(doc.requirement) else {
                return Err(DomainError::invalid(format!(
                    "the procedure has no required document {}",
                    doc.requirement
                ))
                .with_rule("dossier.document_requirement")
                .into());
            };
            match (doc.upload_id, doc.store_document_id) {
                (Some(_), None) => {}
                (None, Some(_)) if requirement.reusable => {}
                (None, Some(_)) => {
                    return Err(DomainError::invalid(format!(
                        "`{}` cannot be reused from the document store",
                        requirement.name
                    ))
                    .with_rule("dossier.document_not_reusable")
                    .into());
                }
                _ => {
                    return Err(DomainError::invalid(
                        "a document is an upload or a document of the store",
                    )
                    .with_rule("dossier.document_source")
                    .into());
                }
            }
            draft.documents.retain(|d| d.requirement != doc.requirement);
            let mut doc = doc.clone();
            doc.filename = doc.filename.chars().take(200).collect();
            draft.documents.push(doc);
        }
        draft.documents.sort_by_key(|d| d.requirement);
    }
    if let Some(agency) = &update.agency_code {
        draft.agency_code = agency.trim().chars().take(40).collect();
    }
    if let Some(step) = &update.step {
        draft.step = step.trim().chars().take(20).collect();
    }
    if json_text(&draft.answers)?.len() > MAX_ANSWERS_BYTES {
        return Err(DomainError::new(
            ErrorCode::PayloadTooLarge,
            format!("a draft's answers have at most {MAX_ANSWERS_BYTES} bytes"),
        )
        .with_rule("draft.too_large")
        .into());
    }
    Ok(())
}

/// Checks that the chosen documents are the caller's own: unattached uploads, store documents.
async fn check_documents(p: &Platform, owner: i64, documents: &[DraftDocument]) -> Result<()> {
    for doc in documents {
        let found = if let Some(id) = doc.upload_id {
            sqlx::query_scalar::<_, i64>("SELECT id FROM uploads WHERE id = $1 AND owner_user_id = $2 AND attached_ms IS NULL")
                .bind(id)
                .bind(owner)
                .fetch_optional(p.db.pool())
                .await?
        } else if let Some(id) = doc.store_document_id {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM citizen_documents WHERE id = $1 AND owner_user_id = $2",
            )
            .bind(id)
            .bind(owner)
            .fetch_optional(p.db.pool())
            .await?
        } else {
            None
        };
        if found.is_none() {
            return Err(DomainError::not_found("document").into());
        }
    }
    Ok(())
}

/// Saves a change to the caller's open draft (whether or not the answers are valid yet).
pub async fn save(p: &Platform, ctx: &Ctx, id: i64, update: &DraftUpdate) -> Result<DraftView> {
    let owner = citizen(ctx)?;
    let mut draft = owned(p, owner, id).await?;
    if draft.dossier_code.is_some() {
        return Err(
            DomainError::new(ErrorCode::Conflict, "this draft was submitted already")
                .with_rule("draft.submitted")
                .into(),
        );
    }
    let procedure = catalog::version(p, draft.procedure_version_id).await?;
    apply_update(&procedure.spec, &mut draft, update)?;
    if let Some(documents) = &update.documents {
        check_documents(p, owner, documents).await?;
    }
    let mut tx = p.db.begin_write().await?;
    let changed = sqlx::query("UPDATE citizen_drafts SET agency_code = $1, answers_json = $2, documents_json = $3, step = $4, updated_ms = $5 WHERE id = $6 AND dossier_code IS NULL")
        .bind(&draft.agency_code)
        .bind(json_text(&draft.answers)?)
        .bind(json_text(&draft.documents)?)
        .bind(&draft.step)
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if changed == 0 {
        return Err(
            DomainError::new(ErrorCode::Conflict, "this draft was submitted already")
                .with_rule("draft.submitted")
                .into(),
        );
    }
    // The audit record says what changed, not the answers (personal data stays in the draft).
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action: "draft.save",
            object_type: "draft",
            object_id: &id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "step": draft.step,
                "answers": draft.answers.len(),
                "documents": draft.documents.len(),
            })),
        },
    )
    .await?;
    tx.commit().await?;
    draft.updated_ms = ctx.now_ms;
    Ok(draft)
}

/// Submits the caller's draft as an online filing: the dossier, or the one it already became.
pub async fn submit(p: &Platform, ctx: &Ctx, id: i64) -> Result<DossierView> {
    let owner = citizen(ctx)?;
    let draft = owned(p, owner, id).await?;
    if let Some(code) = &draft.dossier_code {
        return dossiers::view(p, ctx, code).await;
    }
    let current = catalog::get(p, &draft.procedure_code).await?;
    if current.version_id != draft.procedure_version_id {
        return Err(DomainError::new(
            ErrorCode::Conflict,
            "the procedure changed since this draft was started; open it again to review",
        )
        .with_rule("draft.outdated")
        .into());
    }
    let input = NewDossier {
        procedure_code: draft.procedure_code.clone(),
        agency_code: draft.agency_code.clone(),
        channel: Channel::Online,
        applicant: Applicant::default(),
        proxy: None,
        form: draft.answers.clone(),
        documents: draft
            .documents
            .iter()
            .map(|d| DocumentInput {
                requirement: RequirementRef::Index(d.requirement),
                upload_id: d.upload_id,
                store_document_id: d.store_document_id,
                paper: false,
            })
            .collect(),
    };
    match dossiers::submit_draft(p, ctx, &input, id).await {
        Ok(view) => Ok(view),
        // A racing submission of the same draft won (its uploads are attached now): its
        // dossier is the answer.
        Err(e) => match owned(p, owner, id).await?.dossier_code {
            Some(code) => dossiers::view(p, ctx, &code).await,
            None => Err(e),
        },
    }
}

/// Inside the filing's transaction: locks the draft and returns the dossier it already
/// became, if any.
pub(crate) async fn claim(tx: &mut WriteTx, id: i64) -> Result<Option<String>> {
    let sql = match tx.dialect {
        Dialect::Postgres => "SELECT dossier_code FROM citizen_drafts WHERE id = $1 FOR UPDATE",
        Dialect::Sqlite => "SELECT dossier_code FROM citizen_drafts WHERE id = $1",
    };
    let code: Option<Option<String>> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(&mut *tx.tx)
        .await?;
    code.ok_or_else(|| DomainError::not_found("draft").into())
}

/// Inside the filing's transaction: the draft became dossier `code`.
pub(crate) async fn mark_submitted(
    p: &Platform,
    tx: &mut WriteTx,
    ctx: &Ctx,
    id: i64,
    code: &str,
) -> Result<()> {
    sqlx::query("UPDATE citizen_drafts SET dossier_code = $1, submitted_ms = $2, updated_ms = $2, step = 'submitted' WHERE id = $3")
        .bind(code)
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        tx,
        ctx,
        Change::after(
            "draft.submit",
            "draft",
            &id.to_string(),
            &serde_json::json!({ "dossier": code }),
        ),
    )
    .await?;
    Ok(())
}

fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Keeps answers posted without a valid session under `token` (random, from the caller's
/// cookie) for [`PENDING_TTL_MS`]. Anonymous: the answers are only merged into a draft by its
/// owner after logging in, and only into fields of the procedure's form.
pub async fn stash_pending(
    p: &Platform,
    ctx: &Ctx,
    token: &str,
    procedure_code: &str,
    step: &str,
    answers: &Map<String, Value>,
) -> Result<()> {
    if token.len() < 32 || token.len() > 128 {
        return Err(DomainError::invalid("bad pending token").into());
    }
    let procedure = catalog::get(p, procedure_code.trim()).await?;
    let mut kept = Map::new();
    for (key, value) in answers {
        if procedure.spec.form.fields.iter().any(|f| f.key == *key)
            && let Value::String(s) = value
        {
            kept.insert(
                key.clone(),
                Value::String(s.chars().take(MAX_ANSWER_CHARS).collect()),
            );
        }
    }
    let text = json_text(&kept)?;
    if text.len() > MAX_ANSWERS_BYTES {
        return Err(DomainError::new(ErrorCode::PayloadTooLarge, "answers too large").into());
    }
    let digest = token_digest(token);
    let mut tx = p.db.begin_write().await?;
    sqlx::query("DELETE FROM citizen_pending_answers WHERE expires_ms < $1 OR token_sha256 = $2")
        .bind(ctx.now_ms)
        .bind(&digest)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("INSERT INTO citizen_pending_answers (token_sha256, procedure_code, step, answers_json, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&digest)
        .bind(&procedure.spec.code)
        .bind(step.chars().take(20).collect::<String>())
        .bind(&text)
        .bind(ctx.now_ms)
        .bind(ctx.now_ms + PENDING_TTL_MS)
        .execute(&mut *tx.tx)
        .await?;
    tx.commit().await
}

/// After login: merges the answers kept under `token` into the caller's open draft of the same
/// procedure (and forgets them). Returns the step they were posted from, when there were any.
pub async fn take_pending(
    p: &Platform,
    ctx: &Ctx,
    token: &str,
    draft_id: i64,
) -> Result<Option<String>> {
    let owner = citizen(ctx)?;
    let draft = owned(p, owner, draft_id).await?;
    let digest = token_digest(token);
    let row = sqlx::query("SELECT procedure_code, step, answers_json FROM citizen_pending_answers WHERE token_sha256 = $1 AND expires_ms >= $2")
        .bind(&digest)
        .bind(ctx.now_ms)
        .fetch_optional(p.db.pool())
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (procedure_code, step, answers): (String, String, String) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if procedure_code != draft.procedure_code || draft.dossier_code.is_some() {
        return Ok(None);
    }
    let answers: Map<String, Value> = serde_json::from_str(&answers).unwrap_or_default();
    let procedure = catalog::version(p, draft.procedure_version_id).await?;
    let answers: Map<String, Value> = answers
        .into_iter()
        .filter(|(k, _)| procedure.spec.form.fields.iter().any(|f| f.key == *k))
        .collect();
    save(
        p,
        ctx,
        draft_id,
        &DraftUpdate {
            answers: Some(answers),
            step: Some(step.clone()),
            ..DraftUpdate::default()
        },
    )
    .await?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("DELETE FROM citizen_pending_answers WHERE token_sha256 = $1")
        .bind(&digest)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "draft.restore_pending",
            "draft",
            &draft_id.to_string(),
            &serde_json::json!({ "step": step }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(step))
}

/// One open draft of the caller, for "my dossiers".
#[derive(Debug, Clone, Serialize)]
pub struct OpenDraft {
    pub id: i64,
    pub procedure_code: String,
    pub procedure_name: String,
    pub answers: usize,
    pub updated_ms: i64,
}

/// The caller's open drafts that hold something (answers or documents), newest first.
pub async fn mine(p: &Platform, ctx: &Ctx) -> Result<Vec<OpenDraft>> {
    let owner = citizen(ctx)?;
    let rows = sqlx::query("SELECT d.id, d.procedure_code, pr.name, d.answers_json, d.documents_json, d.updated_ms FROM citizen_drafts d JOIN procedures pr ON pr.code = d.procedure_code WHERE d.owner_user_id = $1 AND d.dossier_code IS NULL ORDER BY d.updated_ms DESC, d.id DESC LIMIT $2")
        .bind(owner)
        .bind(MAX_OPEN_DRAFTS)
        .fetch_all(p.db.pool())
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let answers: Map<String, Value> =
            serde_json::from_str(&row.try_get::<String, _>(3)?).unwrap_or_default();
        let documents: Vec<DraftDocument> =
            serde_json::from_str(&row.try_get::<String, _>(4)?).unwrap_or_default();
        if answers.is_empty() && documents.is_empty() {
            continue;
        }
        out.push(OpenDraft {
            id: row.try_get(0)?,
            procedure_code: row.try_get(1)?,
            procedure_name: row.try_get(2)?,
            answers: answers.len(),
            updated_ms: row.try_get(5)?,
        });
    }
    Ok(out)
}
