//! An agency's document settings: the issuer abbreviation its notations carry (`UBND`,
//! `STP`) and the abbreviations of its drafting units or fields (`VX`, `VP`) for Công văn.
//! Read by its officials, edited by its administrators; a change replaces the whole set.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use tinhso_core::DomainError;
use tinhso_core::access::Action as Access;
use tinhso_platform::audit::Change;
use tinhso_platform::{Ctx, Platform, Result};

use crate::common::{active_agency, check_right, check_view};
use crate::domain::metadata::check_len;
use crate::domain::numbering::check_abbreviation;
use crate::domain::types::Confidentiality;

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Unit {
    pub abbreviation: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
pub struct Settings {
    pub issuer_abbreviation: String,
    #[serde(default)]
    pub units: Vec<Unit>,
}

async fn read(p: &Platform, agency_id: i64) -> Result<Settings> {
    let issuer: Option<String> =
        sqlx::query_scalar("SELECT issuer_abbreviation FROM doc_settings WHERE agency_id = $1")
            .bind(agency_id)
            .fetch_optional(p.db.pool())
            .await?;
    let mut units = Vec::new();
    for r in sqlx::query(
        "SELECT abbreviation, name FROM doc_units WHERE agency_id = $1 ORDER BY abbreviation",
    )
    .bind(agency_id)
    .fetch_all(p.db.pool())
    .await?
    {
        units.push(Unit {
            abbreviation: r.try_get(0)?,
            name: r.try_get(1)?,
        });
    }
    Ok(Settings {
        issuer_abbreviation: issuer.unwrap_or_default(),
        units,
    })
}

/// The settings of an agency (empty when never set), for its officials and administrators.
pub async fn get(p: &Platform, ctx: &Ctx, agency_code: &str) -> Result<Settings> {
    let agency = active_agency(p, agency_code).await?;
    let path = agency.agency_path();
    if check_right(ctx, Access::ManageDocumentSettings, &path).is_err() {
        check_view(ctx, &path, Confidentiality::Normal, &[], "agency")?;
    }
    read(p, agency.id).await
}

/// Replaces the settings of an agency (its administrators).
pub async fn put(p: &Platform, ctx: &Ctx, agency_code: &str, input: &Settings) -> Result<Settings> {
    let agency = active_agency(p, agency_code).await?;
    check_right(ctx, Access::ManageDocumentSettings, &agency.agency_path())?;
    check_abbreviation(
        input.issuer_abbreviation.trim(),
        "document.issuer_abbreviation.invalid",
    )?;
    let mut seen = std::collections::BTreeSet::new();
    for u in &input.units {
        check_abbreviation(u.abbreviation.trim(), "document.unit_abbreviation.invalid")?;
        check_len(&u.name, 200, "document.unit_name.too_long")?;
        if !seen.insert(u.abbreviation.trim()) {
            return Err(
                DomainError::invalid(format!("unit {} is listed twice", u.abbreviation))
                    .with_rule("document.unit_abbreviation.duplicate")
                    .into(),
            );
        }
    }
    let before = read(p, agency.id).await?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO doc_settings (agency_id, issuer_abbreviation, updated_ms) VALUES ($1, $2, $3) ON CONFLICT (agency_id) DO UPDATE SET issuer_abbreviation = excluded.issuer_abbreviation, updated_ms = excluded.updated_ms")
        .bind(agency.id)
        .bind(input.issuer_abbreviation.trim())
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("DELETE FROM doc_units WHERE agency_id = $1")
        .bind(agency.id)
        .execute(&mut *tx.tx)
        .await?;
    for u in &input.units {
        sqlx::query("INSERT INTO doc_units (agency_id, abbreviation, name) VALUES ($1, $2, $3)")
            .bind(agency.id)
            .bind(u.abbreviation.trim())
            .bind(u.name.trim())
            .execute(&mut *tx.tx)
            .await?;
    }
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "document_settings.put",
            object_type: "agency",
            object_id: &agency.code,
            before: Some(&before),
            after: Some(input),
        },
    )
    .await?;
    tx.commit().await?;
    read(p, agency.id).await
}
