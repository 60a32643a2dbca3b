//! The catalogue editor's service: an administrator's edit of one procedure becomes a new
//! version (dossiers keep the version they were filed under), validated, access-checked and
//! audited in one transaction — the same path as an import of a one-procedure file.

use serde::Serialize;
use tinhso_core::DomainError;
use tinhso_core::access::Action;
use tinhso_platform::identity::authorize_installation;
use tinhso_platform::{Ctx, Platform, Result};

use crate::catalog::{self, StoredProcedure};
use crate::domain::catalog::{CatalogFile, ProcedureSpec, SpecPart};

#[derive(Debug, Clone, Serialize)]
pub struct Saved {
    /// The version now current.
    pub procedure: StoredProcedure,
    /// False when the edit changed nothing (no version was written).
    pub new_version: bool,
}

/// The stable rule key of a part of a specification, so a client can place the error.
pub fn part_rule(part: SpecPart) -> &'static str {
    match part {
        SpecPart::Code => "procedure.code",
        SpecPart::Name => "procedure.name",
        SpecPart::Levels => "procedure.levels",
        SpecPart::Channels => "procedure.channels",
        SpecPart::ProcessingTime => "procedure.processing_time",
        SpecPart::Step(_) => "procedure.step",
        SpecPart::FormFieldKey(_) => "procedure.form_field_key",
        SpecPart::FormFieldOptions(_) => "procedure.form_field_options",
    }
}

/// Saves `spec` as the next version of the existing procedure `code`. Refused, with nothing
/// written, when the caller is not a provincial administrator, the procedure does not exist,
/// the code in the body differs from the one edited, or the specification is invalid (the
/// error's rule names the part; [`ProcedureSpec::first_problem`] gives its index).
pub async fn save_procedure(
    p: &Platform,
    ctx: &Ctx,
    code: &str,
    spec: &ProcedureSpec,
) -> Result<Saved> {
    authorize_installation(ctx, Action::ManageAgency)?;
    if spec.code != code {
        return Err(DomainError::invalid(format!(
            "the body is procedure {}, not {code}; the code cannot be changed",
            spec.code
        ))
        .with_rule("procedure.code")
        .into());
    }
    let current = catalog::get(p, code).await?;
    if let Some((part, e)) = spec.first_problem() {
        return Err(e.with_rule(part_rule(part)).into());
    }
    let report = catalog::import(
        p,
        ctx,
        &CatalogFile {
            version: 1,
            procedures: vec![spec.clone()],
        },
    )
    .await?;
    let procedure = if report.new_versions == 0 {
        current
    } else {
        catalog::get(p, code).await?
    };
    Ok(Saved {
        procedure,
        new_version: report.new_versions > 0,
    })
}

/// Imports a catalogue file (JSON or xlsx, told apart by content) for a provincial
/// administrator: the right is checked before the file is read.
pub async fn import_file(p: &Platform, ctx: &Ctx, bytes: &[u8]) -> Result<catalog::ImportReport> {
    authorize_installation(ctx, Action::ManageAgency)?;
    let file = catalog::parse_file(bytes)?;
    catalog::import(p, ctx, &file).await
}
