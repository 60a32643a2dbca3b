//! Storing the catalogue: import (each changed procedure gets a new version), reading, export.

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_platform::audit::Change;
use tinhso_platform::identity::authorize_installation;
use tinhso_platform::{Ctx, Error, Platform, Result};

use crate::domain::catalog::{CatalogFile, Level, ProcedureSpec};

/// A procedure's current version as stored.
#[derive(Debug, Clone, Serialize)]
pub struct StoredProcedure {
    pub version_id: i64,
    pub version: i64,
    pub spec: ProcedureSpec,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub created: usize,
    pub new_versions: usize,
    pub unchanged: usize,
}

fn digest(spec_json: &str) -> String {
    hex::encode(Sha256::digest(spec_json.as_bytes()))
}

fn levels_text(levels: &[Level]) -> String {
    levels
        .iter()
        .map(|l| match l {
            Level::Commune => "commune",
            Level::Province => "province",
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Imports a catalogue file in one transaction: all procedures or none. The catalogue is the
/// province's, so importing needs the right at installation level.
pub async fn import(p: &Platform, ctx: &Ctx, file: &CatalogFile) -> Result<ImportReport> {
    authorize_installation(ctx, tinhso_core::access::Action::ManageAgency)?;
    let mut seen = std::collections::BTreeSet::new();
    for spec in &file.procedures {
        spec.validate()?;
        if !seen.insert(spec.code.as_str()) {
            return Err(
                DomainError::invalid(format!("procedure {} appears twice", spec.code)).into(),
            );
        }
    }
    let mut report = ImportReport::default();
    let mut tx = p.db.begin_write().await?;
    for spec in &file.procedures {
        let json = serde_json::to_string(spec).map_err(|e| Error::Other(e.to_string()))?;
        let spec_digest = digest(&json);
        let existing = sqlx::query("SELECT p.id, p.current_version, v.spec_digest FROM procedures p JOIN procedure_versions v ON v.procedure_id = p.id AND v.version = p.current_version WHERE p.code = $1")
            .bind(&spec.code)
            .fetch_optional(&mut *tx.tx)
            .await?;
        let (procedure_id, version) = match existing {
            Some(row) if row.try_get::<String, _>(2)? == spec_digest => {
                report.unchanged += 1;
                continue;
            }
            Some(row) => {
                report.new_versions += 1;
                (row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)? + 1)
            }
            None => {
                report.created += 1;
                let id: i64 = sqlx::query_scalar("INSERT INTO procedures (code, name, field_name, levels, current_version, updated_ms) VALUES ($1, $2, $3, $4, 0, $5) RETURNING id")
                    .bind(&spec.code)
                    .bind(&spec.name)
                    .bind(&spec.field.name)
                    .bind(levels_text(&spec.levels))
                    .bind(ctx.now_ms)
                    .fetch_one(&mut *tx.tx)
                    .await?;
                (id, 1)
            }
        };
        sqlx::query("INSERT INTO procedure_versions (procedure_id, version, spec_json, spec_digest, created_ms, created_by) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(procedure_id)
            .bind(version)
            .bind(&json)
            .bind(&spec_digest)
            .bind(ctx.now_ms)
            .bind(&ctx.actor)
            .execute(&mut *tx.tx)
            .await?;
        sqlx::query("UPDATE procedures SET current_version = $1, name = $2, field_name = $3, levels = $4, updated_ms = $5 WHERE id = $6")
            .bind(version)
            .bind(&spec.name)
            .bind(&spec.field.name)
            .bind(levels_text(&spec.levels))
            .bind(ctx.now_ms)
            .bind(procedure_id)
            .execute(&mut *tx.tx)
            .await?;
        p.audit(
            &mut tx,
            ctx,
            Change::<(), _> {
                action: if version == 1 {
                    "procedure.create"
                } else {
                    "procedure.new_version"
                },
                object_type: "procedure",
                object_id: &spec.code,
                before: None,
                after: Some(spec),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok(report)
}

fn stored_from_row(row: &sqlx::any::AnyRow) -> Result<StoredProcedure> {
    let json: String = row.try_get(2)?;
    Ok(StoredProcedure {
        version_id: row.try_get(0)?,
        version: row.try_get(1)?,
        spec: serde_json::from_str(&json)
            .map_err(|e| Error::Other(format!("stored procedure is invalid: {e}")))?,
    })
}

/// The current version of every active procedure, by code. Public: the catalogue is what
/// the portal shows to everyone.
pub async fn list(p: &Platform) -> Result<Vec<StoredProcedure>> {
    let rows = sqlx::query("SELECT v.id, v.version, v.spec_json FROM procedures p JOIN procedure_versions v ON v.procedure_id = p.id AND v.version = p.current_version WHERE p.active = 1 ORDER BY p.code")
        .fetch_all(p.db.pool())
        .await?;
    rows.iter().map(stored_from_row).collect()
}

pub async fn get(p: &Platform, code: &str) -> Result<StoredProcedure> {
    let row = sqlx::query("SELECT v.id, v.version, v.spec_json FROM procedures p JOIN procedure_versions v ON v.procedure_id = p.id AND v.version = p.current_version WHERE p.code = $1 AND p.active = 1")
        .bind(code)
        .fetch_optional(p.db.pool())
        .await?;
    row.as_ref()
        .map(stored_from_row)
        .transpose()?
        .ok_or_else(|| DomainError::not_found(format!("procedure {code}")).into())
}

/// Stored procedure versions by id. A version row is never changed once written (an import
/// that changes a procedure writes a new version), so an entry never goes stale; the bound
/// keeps memory flat however many versions the catalogue accumulates.
struct VersionCache(tinhso_platform::cache::Bounded<i64, StoredProcedure>);

impl Default for VersionCache {
    fn default() -> Self {
        Self(tinhso_platform::cache::Bounded::new(1024))
    }
}

/// A specific version (what a dossier was filed under); read once per process.
pub async fn version(p: &Platform, version_id: i64) -> Result<StoredProcedure> {
    let cache = p.caches.get::<VersionCache>();
    if let Some(stored) = cache.0.get(None, &version_id) {
        return Ok(stored);
    }
    let row = sqlx::query("SELECT id, version, spec_json FROM procedure_versions WHERE id = $1")
        .bind(version_id)
        .fetch_optional(p.db.pool())
        .await?;
    let stored: StoredProcedure = row
        .as_ref()
        .map(stored_from_row)
        .transpose()?
        .ok_or_else(|| Error::from(DomainError::not_found("procedure version")))?;
    cache.0.insert(None, version_id, stored.clone());
    Ok(stored)
}

/// Largest catalogue file accepted for import, JSON or xlsx.
pub const MAX_IMPORT_BYTES: usize = crate::workbook::MAX_BYTES;

/// A catalogue file in either import format, told apart by content: an xlsx workbook is a
/// zip archive (`PK\x03\x04`), anything else must be the JSON format. Nothing is stored.
pub fn parse_file(bytes: &[u8]) -> Result<CatalogFile> {
    if bytes.len() > MAX_IMPORT_BYTES {
        return Err(DomainError::invalid(format!(
            "the catalogue file has {} bytes, more than the limit of {MAX_IMPORT_BYTES}",
            bytes.len()
        ))
        .with_rule("catalog.too_large")
        .into());
    }
    if crate::workbook::is_xlsx(bytes) {
        return crate::workbook::read(bytes);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        DomainError::invalid(format!("the catalogue file is not valid JSON: {e}"))
            .with_rule("catalog.json")
            .into()
    })
}

/// The whole current catalogue in the import format.
pub async fn export(p: &Platform) -> Result<CatalogFile> {
    Ok(CatalogFile {
        version: 1,
        procedures: list(p).await?.into_iter().map(|s| s.spec).collect(),
    })
}

/// Loads the demo catalogue once (when the catalogue is still empty).
pub async fn seed_demo(p: &Platform) -> Result<bool> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM procedures")
        .fetch_one(p.db.pool())
        .await?;
    if count > 0 {
        return Ok(false);
    }
    import(p, &Ctx::system(p.now_ms()), &demo_catalogue()?).await?;
    Ok(true)
}

/// The demo catalogue shipped for `serve --demo`: real, commonly used procedures with their
/// national codes (sources and unverified facts in `data/demo-catalogue.SOURCES.md`).
pub const DEMO_CATALOGUE: &str = include_str!("../data/demo-catalogue.json");

pub fn demo_catalogue() -> Result<CatalogFile> {
    serde_json::from_str(DEMO_CATALOGUE).map_err(|e| Error::Other(format!("demo catalogue: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_catalogue_is_valid_and_large_enough() {
        let file = demo_catalogue().unwrap();
        assert!(file.procedures.iter().filter(|p| p.code_verified).count() >= 30);
        for spec in &file.procedures {
            spec.validate()
                .unwrap_or_else(|e| panic!("{}: {e}", spec.code));
        }
        assert!(
            file.procedures
                .iter()
                .any(|p| p.levels.contains(&Level::Province))
        );
    }
}
