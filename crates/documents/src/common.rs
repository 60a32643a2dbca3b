//! What the services share: agencies by identifier, Vietnam-time dates, the yearly number
//! series, and the one visibility rule of documents.
//!
//! Visibility (decided here and nowhere else): an official sees a document only with the
//! `view_documents` right over its agency (clerks, specialists and leaders of that agency or
//! an ancestor). A confidential document (độ mật above "thường") is further limited to the
//! people it names — its handlers, its drafter, approver and signer, the clerk who registered
//! it — and to the leaders and clerks of its agency. Anyone else gets "not found", never a
//! hint that the document exists. Local callers (command line, the exchange worker) see all.

use chrono::NaiveDate;
use tinhso_core::access::{Action as Access, Role, Target};
use tinhso_core::agency::AgencyPath;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::org::{Agency, resolve_agency_code};
use tinhso_platform::{Caller, Ctx, Error, Platform, Result, WriteTx};

use crate::domain::types::Confidentiality;

/// An active agency by its identifier (current or former).
pub async fn active_agency(p: &Platform, code: &str) -> Result<Agency> {
    resolve_agency_code(p, code.trim())
        .await?
        .filter(|a| a.active)
        .ok_or_else(|| DomainError::not_found(format!("agency {code}")).into())
}

pub fn today(now_ms: i64) -> NaiveDate {
    tinhso_core::calendar::vietnam_instant(now_ms).date_naive()
}

pub fn year_of(now_ms: i64) -> i64 {
    i64::from(chrono::Datelike::year(&today(now_ms)))
}

/// The number series of a register: confidential documents have their own.
pub fn series_of(c: Confidentiality) -> &'static str {
    if c.is_secret() { "secret" } else { "normal" }
}

/// The next number of a register, from its counter row upserted inside `tx` (the row lock
/// orders concurrent writers, so numbers are consecutive and never repeat).
pub async fn next_number(
    tx: &mut WriteTx,
    agency_id: i64,
    year: i64,
    direction: &str,
    series: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar("INSERT INTO doc_registers (agency_id, year, direction, series, last_number) VALUES ($1, $2, $3, $4, 1) ON CONFLICT (agency_id, year, direction, series) DO UPDATE SET last_number = doc_registers.last_number + 1 RETURNING last_number")
        .bind(agency_id)
        .bind(year)
        .bind(direction)
        .bind(series)
        .fetch_one(&mut *tx.tx)
        .await?)
}

/// The caller's account, when a person is calling.
pub fn user_id(ctx: &Ctx) -> Option<i64> {
    ctx.principal().map(|p| p.user_id)
}

pub fn not_found(what: &str) -> Error {
    DomainError::not_found(what.to_owned()).into()
}

/// Whether the caller leads or keeps the registers of the agency at `path` (who sees every
/// confidential document there).
pub fn leads_or_keeps(ctx: &Ctx, path: &AgencyPath) -> bool {
    match &ctx.caller {
        Caller::Local => true,
        Caller::Anonymous => false,
        Caller::User(principal) => {
            ctx.authorize(Access::ViewDocuments, &Target::Agency(path))
                .is_ok()
                && principal.grants.iter().any(|g| {
                    matches!(g.role, Role::Leader | Role::Clerk) && path.is_within(&g.agency_path)
                })
        }
    }
}

/// The visibility rule (see the module's documentation); "not found" when refused.
pub fn check_view(
    ctx: &Ctx,
    path: &AgencyPath,
    confidentiality: Confidentiality,
    participants: &[i64],
    what: &str,
) -> Result<()> {
    if matches!(ctx.caller, Caller::Anonymous) {
        return Err(DomainError::new(ErrorCode::Unauthenticated, "log in first").into());
    }
    if ctx
        .authorize(Access::ViewDocuments, &Target::Agency(path))
        .is_err()
    {
        return Err(not_found(what));
    }
    if !confidentiality.is_secret() || leads_or_keeps(ctx, path) {
        return Ok(());
    }
    match user_id(ctx) {
        Some(me) if participants.contains(&me) => Ok(()),
        _ => Err(not_found(what)),
    }
}

/// The right a step needs on the document's agency (after the caller was shown to see it,
/// so a refusal here is an honest 403).
pub fn check_right(ctx: &Ctx, action: Access, path: &AgencyPath) -> Result<()> {
    Ok(ctx.authorize(action, &Target::Agency(path))?)
}

/// The rows of a query mapped to views, the first failure failing all: the one loop the
/// services' detail views share.
pub fn map_rows<T>(
    rows: &[sqlx::any::AnyRow],
    map: impl FnMut(&sqlx::any::AnyRow) -> Result<T>,
) -> Result<Vec<T>> {
    rows.iter().map(map).collect()
}

/// `Số/KýHiệu` as written on a received document; empty when it has no number.
pub fn code_text(number: &str, notation: &str) -> String {
    if number.is_empty() {
        String::new()
    } else {
        format!("{number}/{notation}")
    }
}

/// A stored date (`YYYY-MM-DD`).
pub fn parse_date(s: Option<String>) -> Option<NaiveDate> {
    s.and_then(|s| NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok())
}

pub fn json_text<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::Other(e.to_string()))
}

pub fn from_json_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| Error::Other(format!("stored metadata: {e}")))
}
