//! The organisation model: administrative units with eras, agencies with identifiers and
//! their tree, departments and positions.
//!
//! Renaming or merging an agency never deletes its old identifier: the old code moves to
//! `agency_aliases`, so documents and dossiers filed under it still resolve to the agency
//! that carries on its work.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;
use tinhso_core::access::{Action, Target};
use tinhso_core::agency::{AgencyId, AgencyPath};
use tinhso_core::units::{AdminUnit, UnitEra, UnitLevel, era_on, shipped_eras};
use tinhso_core::{DomainError, ErrorCode};

use crate::audit::Change;
use crate::context::Ctx;
use crate::error::{Error, Result};
use crate::{Platform, WriteTx};

// ---------------------------------------------------------------- administrative units

/// Loads a unit file's units (one era) in one transaction; re-importing updates names.
pub async fn import_units(p: &Platform, ctx: &Ctx, units: &[AdminUnit]) -> Result<usize> {
    let Some(era_name) = units.first().map(|u| u.era.clone()) else {
        return Err(DomainError::invalid("no units to import").into());
    };
    let era = shipped_eras()
        .into_iter()
        .find(|e| e.name == era_name)
        .ok_or_else(|| DomainError::invalid(format!("unknown unit era `{era_name}`")))?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("INSERT INTO admin_unit_eras (name, valid_from, valid_to) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET valid_from = excluded.valid_from, valid_to = excluded.valid_to")
        .bind(&era.name)
        .bind(era.valid_from.to_string())
        .bind(era.valid_to.map(|d| d.to_string()))
        .execute(&mut *tx.tx)
        .await?;
    // Multi-row inserts: the three-level file has ~11,000 units, one statement per row would
    // make the first demo start noticeably slow.
    for chunk in units.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 5;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO admin_units (era, code, name, level, parent_code) VALUES {} ON CONFLICT (era, code) DO UPDATE SET name = excluded.name, level = excluded.level, parent_code = excluded.parent_code",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for u in chunk {
            query = query
                .bind(u.era.clone())
                .bind(u.code.clone())
                .bind(u.name.clone())
                .bind(u.level.as_str())
                .bind(u.parent_code.clone());
        }
        query.execute(&mut *tx.tx).await?;
    }
    let summary = serde_json::json!({ "era": era_name, "units": units.len() });
    p.audit(
        &mut tx,
        ctx,
        Change::after("units.import", "unit_era", &era_name, &summary),
    )
    .await?;
    tx.commit().await?;
    Ok(units.len())
}

pub async fn unit_eras(p: &Platform) -> Result<Vec<UnitEra>> {
    let rows =
        sqlx::query("SELECT name, valid_from, valid_to FROM admin_unit_eras ORDER BY valid_from")
            .fetch_all(p.db.pool())
            .await?;
    rows.iter()
        .map(|r| {
            Ok(UnitEra {
                name: r.try_get(0)?,
                valid_from: parse_date(&r.try_get::<String, _>(1)?)?,
                valid_to: r
                    .try_get::<Option<String>, _>(2)?
                    .map(|d| parse_date(&d))
                    .transpose()?,
            })
        })
        .collect()
}

fn parse_date(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid(format!("`{s}` is not a YYYY-MM-DD date")).into())
}

/// A unit together with its ancestors (nearest first), as in force on a date.
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedUnit {
    pub era: String,
    pub unit: AdminUnit,
    pub ancestors: Vec<AdminUnit>,
}

pub async fn get_unit(p: &Platform, era: &str, code: &str) -> Result<Option<AdminUnit>> {
    let row = sqlx::query(
        "SELECT era, code, name, level, parent_code FROM admin_units WHERE era = $1 AND code = $2",
    )
    .bind(era)
    .bind(code)
    .fetch_optional(p.db.pool())
    .await?;
    row.as_ref().map(unit_from_row).transpose()
}

fn unit_from_row(r: &AnyRow) -> Result<AdminUnit> {
    Ok(AdminUnit {
        era: r.try_get(0)?,
        code: r.try_get(1)?,
        name: r.try_get(2)?,
        level: UnitLevel::parse(&r.try_get::<String, _>(3)?)?,
        parent_code: r.try_get(4)?,
    })
}

/// Resolves the unit a record dated `date` means by `code`: a 2024 commune code resolves in
/// the three-level set (with its district), a 2026 one in the two-level set.
pub async fn resolve_unit(p: &Platform, code: &str, date: NaiveDate) -> Result<ResolvedUnit> {
    let eras = unit_eras(p).await?;
    let era = era_on(&eras, date).ok_or_else(|| {
        DomainError::not_found(format!("no administrative unit list covers {date}"))
    })?;
    let unit = get_unit(p, &era.name, code)
        .await?
        .ok_or_else(|| DomainError::not_found(format!("unit {code} did not exist on {date}")))?;
    let mut ancestors = Vec::new();
    let mut parent = unit.parent_code.clone();
    // Unit trees are at most three deep; the bound guards against a cycle in bad data.
    for _ in 0..4 {
        let Some(code) = parent else { break };
        let Some(up) = get_unit(p, &era.name, &code).await? else {
            break;
        };
        parent = up.parent_code.clone();
        ancestors.push(up);
    }
    Ok(ResolvedUnit {
        era: era.name.clone(),
        unit,
        ancestors,
    })
}

pub async fn child_units(p: &Platform, era: &str, parent: &str) -> Result<Vec<AdminUnit>> {
    let rows = sqlx::query("SELECT era, code, name, level, parent_code FROM admin_units WHERE era = $1 AND parent_code = $2 ORDER BY code")
        .bind(era)
        .bind(parent)
        .fetch_all(p.db.pool())
        .await?;
    rows.iter().map(unit_from_row).collect()
}

// ---------------------------------------------------------------- agencies

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agency {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub short_name: String,
    pub parent_id: Option<i64>,
    pub path: String,
    pub level: String,
    pub unit_era: Option<String>,
    pub unit_code: Option<String>,
    pub merged_into: Option<i64>,
    pub active: bool,
}

impl Agency {
    pub fn agency_path(&self) -> AgencyPath {
        AgencyPath(self.path.clone())
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct NewAgency {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub short_name: String,
    /// Identifier of the parent agency; `None` for a root (the province).
    pub parent_code: Option<String>,
    #[serde(default = "default_level")]
    pub level: String,
    pub unit_era: Option<String>,
    pub unit_code: Option<String>,
}

fn default_level() -> String {
    "province".into()
}

const AGENCY_COLUMNS: &str =
    "id, code, name, short_name, parent_id, path, level, unit_era, unit_code, merged_into, active";

/// How many columns [`agency_columns`] lists.
pub const AGENCY_COLUMN_COUNT: usize = 11;

/// An agency's columns under table alias `alias`, for a query that reads an agency with other
/// rows (one statement instead of a lookup per agency); read them back with [`agency_at`].
pub fn agency_columns(alias: &str) -> String {
    crate::db::qualified(AGENCY_COLUMNS, alias)
}

/// The agency whose [`agency_columns`] start at column `at` of `r`; `None` when an outer
/// join found none.
pub fn agency_at(r: &AnyRow, at: usize) -> Result<Option<Agency>> {
    let Some(id) = r.try_get::<Option<i64>, _>(at)? else {
        return Ok(None);
    };
    Ok(Some(Agency {
        id,
        code: r.try_get(at + 1)?,
        name: r.try_get(at + 2)?,
        short_name: r.try_get(at + 3)?,
        parent_id: r.try_get(at + 4)?,
        path: r.try_get(at + 5)?,
        level: r.try_get(at + 6)?,
        unit_era: r.try_get(at + 7)?,
        unit_code: r.try_get(at + 8)?,
        merged_into: r.try_get(at + 9)?,
        active: r.try_get::<i64, _>(at + 10)? != 0,
    }))
}

fn agency_from_row(r: &AnyRow) -> Result<Agency> {
    agency_at(r, 0)?.ok_or_else(|| Error::Other("an agency row without an id".into()))
}

async fn fetch_agency<'e, E>(
    exec: E,
    by_id: Option<i64>,
    by_code: Option<&str>,
) -> Result<Option<Agency>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = match (by_id, by_code) {
        (Some(id), _) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {AGENCY_COLUMNS} FROM agencies WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(exec)
            .await?
        }
        (None, Some(code)) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {AGENCY_COLUMNS} FROM agencies WHERE code = $1"
            )))
            .bind(code)
            .fetch_optional(exec)
            .await?
        }
        (None, None) => None,
    };
    row.as_ref().map(agency_from_row).transpose()
}

pub async fn agency_by_id(p: &Platform, id: i64) -> Result<Option<Agency>> {
    fetch_agency(p.db.pool(), Some(id), None).await
}

/// Finds an agency by its current identifier or by one it used before a rename or merger.
pub async fn resolve_agency_code(p: &Platform, code: &str) -> Result<Option<Agency>> {
    if let Some(agency) = fetch_agency(p.db.pool(), None, Some(code)).await? {
        return Ok(Some(agency));
    }
    let alias: Option<i64> =
        sqlx::query_scalar("SELECT agency_id FROM agency_aliases WHERE code = $1")
            .bind(code)
            .fetch_optional(p.db.pool())
            .await?;
    match alias {
        Some(id) => agency_by_id(p, id).await,
        None => Ok(None),
    }
}

/// The agency that carries on `agency`'s work today: itself, or the end of its merger chain.
pub async fn successor(p: &Platform, agency: Agency) -> Result<Agency> {
    let mut current = agency;
    // Merger chains are short; the bound guards against a cycle in bad data.
    for _ in 0..16 {
        let Some(next) = current.merged_into else {
            return Ok(current);
        };
        current = agency_by_id(p, next)
            .await?
            .ok_or_else(|| DomainError::not_found("agency"))?;
    }
    Err(Error::Other("agency merger chain too long".into()))
}

/// Reads one agency if the caller may see it.
pub async fn view_agency(p: &Platform, ctx: &Ctx, id: i64) -> Result<Agency> {
    let agency = agency_by_id(p, id)
        .await?
        .ok_or_else(|| DomainError::not_found("agency"))?;
    ctx.authorize(Action::ViewAgency, &Target::Agency(&agency.agency_path()))?;
    Ok(agency)
}

/// Every agency the caller may see, in tree order.
pub async fn list_agencies(p: &Platform, ctx: &Ctx) -> Result<Vec<Agency>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {AGENCY_COLUMNS} FROM agencies ORDER BY path"
    )))
    .fetch_all(p.db.pool())
    .await?;
    let mut visible = Vec::new();
    for row in &rows {
        let agency = agency_from_row(row)?;
        if ctx
            .authorize(Action::ViewAgency, &Target::Agency(&agency.agency_path()))
            .is_ok()
        {
            visible.push(agency);
        }
    }
    Ok(visible)
}

pub async fn create_agency(p: &Platform, ctx: &Ctx, input: &NewAgency) -> Result<Agency> {
    let code = AgencyId::parse(&input.code)?;
    let name = required_text("name", &input.name, 200)?;
    let mut tx = p.db.begin_write().await?;
    let parent = match &input.parent_code {
        Some(parent_code) => Some(
            fetch_agency(&mut *tx.tx, None, Some(parent_code))
                .await?
                .ok_or_else(|| DomainError::not_found(format!("parent agency {parent_code}")))?,
        ),
        None => None,
    };
    match &parent {
        Some(parent) => {
            ctx.authorize(Action::ManageAgency, &Target::Agency(&parent.agency_path()))?
        }
        None => {
            if !matches!(ctx.caller, crate::Caller::Local) {
                return Err(DomainError::forbidden().into());
            }
        }
    }
    if code_in_use(&mut tx, code.as_str()).await? {
        return Err(Error::domain(
            ErrorCode::Conflict,
            format!("agency identifier {code} is already used"),
        ));
    }
    let id: i64 = sqlx::query_scalar("INSERT INTO agencies (code, name, short_name, parent_id, path, level, unit_era, unit_code, created_ms, updated_ms) VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8, $8) RETURNING id")
        .bind(code.as_str())
        .bind(&name)
        .bind(input.short_name.trim())
        .bind(parent.as_ref().map(|a| a.id))
        .bind(&input.level)
        .bind(&input.unit_era)
        .bind(&input.unit_code)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    let path = match &parent {
        Some(parent) => parent.agency_path().child(id),
        None => AgencyPath::root(id),
    };
    sqlx::query("UPDATE agencies SET path = $1 WHERE id = $2")
        .bind(&path.0)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    if let (Some(era), Some(unit)) = (&input.unit_era, &input.unit_code) {
        sqlx::query(
            "INSERT INTO agency_units (agency_id, unit_era, unit_code) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(era)
        .bind(unit)
        .execute(&mut *tx.tx)
        .await?;
    }
    let agency = fetch_agency(&mut *tx.tx, Some(id), None)
        .await?
        .ok_or_else(|| Error::Other("agency vanished".into()))?;
    p.audit(
        &mut tx,
        ctx,
        Change::after("agency.create", "agency", &id.to_string(), &agency),
    )
    .await?;
    tx.commit().await?;
    Ok(agency)
}

async fn code_in_use(tx: &mut WriteTx, code: &str) -> Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT (SELECT COUNT(*) FROM agencies WHERE code = $1) + (SELECT COUNT(*) FROM agency_aliases WHERE code = $1)")
        .bind(code)
        .fetch_one(&mut *tx.tx)
        .await?;
    Ok(n > 0)
}

fn required_text(field: &str, value: &str, max_chars: usize) -> Result<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(DomainError::invalid(format!("{field} is required")).into());
    }
    if trimmed.chars().count() > max_chars {
        return Err(
            DomainError::invalid(format!("{field} has at most {max_chars} characters")).into(),
        );
    }
    Ok(trimmed.to_owned())
}

/// Gives an agency a new identifier and/or name; the old identifier stays resolvable.
pub async fn rename_agency(
    p: &Platform,
    ctx: &Ctx,
    id: i64,
    new_code: &str,
    new_name: &str,
) -> Result<Agency> {
    let code = AgencyId::parse(new_code)?;
    let name = required_text("name", new_name, 200)?;
    let mut tx = p.db.begin_write().await?;
    let before = fetch_agency(&mut *tx.tx, Some(id), None)
        .await?
        .ok_or_else(|| DomainError::not_found("agency"))?;
    ctx.authorize(Action::ManageAgency, &Target::Agency(&before.agency_path()))?;
    if code.as_str() != before.code {
        if code_in_use(&mut tx, code.as_str()).await? {
            return Err(Error::domain(
                ErrorCode::Conflict,
                format!("agency identifier {code} is already used"),
            ));
        }
        add_alias(&mut tx, &before, id, ctx.now_ms, "rename").await?;
    }
    sqlx::query("UPDATE agencies SET code = $1, name = $2, updated_ms = $3 WHERE id = $4")
        .bind(code.as_str())
        .bind(&name)
        .bind(ctx.now_ms)
        .bind(id)
        .execute(&mut *tx.tx)
        .await?;
    let after = fetch_agency(&mut *tx.tx, Some(id), None)
        .await?
        .ok_or_else(|| Error::Other("agency vanished".into()))?;
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "agency.rename",
            object_type: "agency",
            object_id: &id.to_string(),
            before: Some(&before),
            after: Some(&after),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

async fn add_alias(
    tx: &mut WriteTx,
    former: &Agency,
    now_points_to: i64,
    now_ms: i64,
    reason: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO agency_aliases (code, agency_id, former_name, valid_until_ms, reason) VALUES ($1, $2, $3, $4, $5)")
        .bind(&former.code)
        .bind(now_points_to)
        .bind(&former.name)
        .bind(now_ms)
        .bind(reason)
        .execute(&mut *tx.tx)
        .await?;
    // Earlier aliases of the merged agency follow it to its successor.
    sqlx::query("UPDATE agency_aliases SET agency_id = $1 WHERE agency_id = $2")
        .bind(now_points_to)
        .bind(former.id)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// Merges `source` into `target`: the source becomes inactive and its identifier resolves to
/// the target from now on.
pub async fn merge_agency(
    p: &Platform,
    ctx: &Ctx,
    source_id: i64,
    target_id: i64,
) -> Result<Agency> {
    if source_id == target_id {
        return Err(DomainError::invalid("an agency cannot be merged into itself").into());
    }
    let mut tx = p.db.begin_write().await?;
    let source = fetch_agency(&mut *tx.tx, Some(source_id), None)
        .await?
        .ok_or_else(|| DomainError::not_found("source agency"))?;
    let target = fetch_agency(&mut *tx.tx, Some(target_id), None)
        .await?
        .ok_or_else(|| DomainError::not_found("target agency"))?;
    ctx.authorize(Action::ManageAgency, &Target::Agency(&source.agency_path()))?;
    ctx.authorize(Action::ManageAgency, &Target::Agency(&target.agency_path()))?;
    if !source.active {
        return Err(Error::domain(
            ErrorCode::Conflict,
            "the source agency was already merged",
        ));
    }
    // The source keeps its identifier (identifiers are never reused) and points at its
    // successor: old records still name the agency they were filed with, and new work goes
    // to the target.
    sqlx::query("UPDATE agencies SET active = 0, merged_into = $1, updated_ms = $2 WHERE id = $3")
        .bind(target_id)
        .bind(ctx.now_ms)
        .bind(source_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "agency.merge",
            object_type: "agency",
            object_id: &source_id.to_string(),
            before: Some(&source),
            after: Some(&serde_json::json!({ "merged_into": target_id })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(target)
}

// ---------------------------------------------------------------- departments, positions

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgPart {
    Department,
    Position,
}

impl OrgPart {
    fn table(self) -> &'static str {
        match self {
            Self::Department => "departments",
            Self::Position => "positions",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NamedPart {
    pub id: i64,
    pub agency_id: i64,
    pub name: String,
}

/// Adds a department (phòng) or a position (chức vụ) to an agency.
pub async fn add_part(
    p: &Platform,
    ctx: &Ctx,
    part: OrgPart,
    agency_id: i64,
    name: &str,
) -> Result<NamedPart> {
    let name = required_text("name", name, 200)?;
    let mut tx = p.db.begin_write().await?;
    let agency = fetch_agency(&mut *tx.tx, Some(agency_id), None)
        .await?
        .ok_or_else(|| DomainError::not_found("agency"))?;
    ctx.authorize(Action::ManageAgency, &Target::Agency(&agency.agency_path()))?;
    let sql = match part {
        OrgPart::Department => {
            "INSERT INTO departments (agency_id, name) VALUES ($1, $2) RETURNING id"
        }
        OrgPart::Position => "INSERT INTO positions (agency_id, name) VALUES ($1, $2) RETURNING id",
    };
    let id: i64 = sqlx::query_scalar(sql)
        .bind(agency_id)
        .bind(&name)
        .fetch_one(&mut *tx.tx)
        .await?;
    let created = NamedPart {
        id,
        agency_id,
        name,
    };
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action: if part == OrgPart::Department {
                "department.create"
            } else {
                "position.create"
            },
            object_type: part.table(),
            object_id: &id.to_string(),
            before: None,
            after: Some(&created),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

pub async fn list_parts(
    p: &Platform,
    ctx: &Ctx,
    part: OrgPart,
    agency_id: i64,
) -> Result<Vec<NamedPart>> {
    view_agency(p, ctx, agency_id).await?;
    let sql = match part {
        OrgPart::Department => {
            "SELECT id, agency_id, name FROM departments WHERE agency_id = $1 ORDER BY name"
        }
        OrgPart::Position => {
            "SELECT id, agency_id, name FROM positions WHERE agency_id = $1 ORDER BY name"
        }
    };
    let rows = sqlx::query(sql)
        .bind(agency_id)
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(NamedPart {
                id: r.try_get(0)?,
                agency_id: r.try_get(1)?,
                name: r.try_get(2)?,
            })
        })
        .collect()
}
