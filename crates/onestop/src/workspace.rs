//! What the officials' workspace needs beside the dossier services: the full record of a
//! dossier for its page (applicant, proxy, form answers, the procedure version it was filed
//! under) and bulk approval for leaders, one decision per dossier.

use serde::Serialize;
use serde_json::{Map, Value};
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::{Action as AccessAction, role_allows};
use tinhso_platform::{Caller, Ctx, Error, Platform, Result};

use crate::catalog::{self, StoredProcedure};
use crate::dossiers::{self, Applicant, Command, DossierView, Proxy};

/// A dossier with everything its page shows.
#[derive(Debug, Clone, Serialize)]
pub struct DossierRecord {
    pub view: DossierView,
    pub applicant: Applicant,
    pub proxy: Option<Proxy>,
    pub form: Map<String, Value>,
    /// The procedure version the dossier was filed under.
    pub procedure: StoredProcedure,
    /// The agency processing it after a transfer, if any.
    pub handling_agency_code: Option<String>,
}

/// Reads a dossier for its page, with the access check of [`dossiers::view`].
pub async fn record(p: &Platform, ctx: &Ctx, code: &str) -> Result<DossierRecord> {
    let view = dossiers::view(p, ctx, code).await?;
    let row = sqlx::query("SELECT d.applicant_name, d.applicant_id_number, d.applicant_phone, d.applicant_email, d.proxy_json, d.form_json, d.procedure_version_id, h.code FROM dossiers d LEFT JOIN agencies h ON h.id = d.handling_agency_id WHERE d.code = $1")
        .bind(code)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("dossier"))?;
    let proxy = row
        .try_get::<Option<String>, _>(4)?
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|e| Error::Other(format!("stored proxy: {e}")))?;
    let form = serde_json::from_str(&row.try_get::<String, _>(5)?)
        .map_err(|e| Error::Other(format!("stored form: {e}")))?;
    Ok(DossierRecord {
        view,
        applicant: Applicant {
            name: row.try_get(0)?,
            id_number: row.try_get(1)?,
            phone: row.try_get(2)?,
            email: row.try_get(3)?,
        },
        proxy,
        form,
        procedure: catalog::version(p, row.try_get(6)?).await?,
        handling_agency_code: row.try_get(7)?,
    })
}

/// The outcome of one dossier of a bulk approval.
#[derive(Debug, Clone, Serialize)]
pub struct BulkOutcome {
    pub code: String,
    pub approved: bool,
    /// The stable error code and broken rule when it was not approved.
    pub error: Option<String>,
    pub rule: Option<String>,
}

/// At most this many dossiers per bulk approval.
pub const MAX_BULK: usize = 100;

/// A leader approves several dossiers at once: each is its own decision (its own transaction,
/// history line and audit record), so one failure leaves the others approved and nothing is
/// half-written inside a dossier. Callers who may decide nowhere are refused outright.
pub async fn approve_many(
    p: &Platform,
    ctx: &Ctx,
    codes: &[String],
    note: &str,
) -> Result<Vec<BulkOutcome>> {
    let may_decide = match &ctx.caller {
        Caller::Local => true,
        Caller::User(principal) => {
            principal
                .grants
                .iter()
                .any(|g| role_allows(g.role, AccessAction::DecideDossier))
                && principal
                    .token_scopes
                    .as_ref()
                    .is_none_or(|scopes| scopes.contains(&AccessAction::DecideDossier))
        }
        Caller::Anonymous => {
            return Err(Error::domain(
                tinhso_core::ErrorCode::Unauthenticated,
                "log in first",
            ));
        }
    };
    if !may_decide {
        return Err(DomainError::forbidden().into());
    }
    let mut unique: Vec<&str> = Vec::new();
    for code in codes {
        let code = code.trim();
        if !code.is_empty() && !unique.contains(&code) {
            unique.push(code);
        }
    }
    if unique.is_empty() || unique.len() > MAX_BULK {
        return Err(
            DomainError::invalid(format!("choose between 1 and {MAX_BULK} dossiers"))
                .with_rule("bulk.count")
                .into(),
        );
    }
    let command = Command::Approve {
        note: note.to_owned(),
        result_documents: Vec::new(),
    };
    let mut outcomes = Vec::with_capacity(unique.len());
    for code in unique {
        let outcome = match dossiers::act(p, ctx, code, &command).await {
            Ok(_) => BulkOutcome {
                code: code.to_owned(),
                approved: true,
                error: None,
                rule: None,
            },
            Err(e) => BulkOutcome {
                code: code.to_owned(),
                approved: false,
                error: Some(e.code().as_str().to_owned()),
                rule: match &e {
                    Error::Domain(d) => d.rule.map(str::to_owned),
                    _ => None,
                },
            },
        };
        outcomes.push(outcome);
    }
    Ok(outcomes)
}
