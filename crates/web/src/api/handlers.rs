//! API handlers: extract, call one platform service, return JSON.

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tinhso_core::DomainError;
use tinhso_core::access::{Action, Role, Target};
use tinhso_platform::audit::Verdict;
use tinhso_platform::identity::{self, NewUser};
use tinhso_platform::org::{self, NewAgency, OrgPart};
use tinhso_platform::{audit, calendar};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

pub async fn me(State(state): State<AppState>, ApiCtx(ctx): ApiCtx) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let principal = ctx.principal().ok_or_else(DomainError::forbidden)?;
    let user = identity::view_user(&state.platform, &ctx, principal.user_id).await?;
    Ok(Json(
        json!({ "user": user, "grants": principal.grants, "token_scopes": principal.token_scopes }),
    ))
}

pub async fn list_agencies(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Vec<org::Agency>>> {
    require_caller(&ctx)?;
    Ok(Json(org::list_agencies(&state.platform, &ctx).await?))
}

pub async fn create_agency(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<NewAgency>,
) -> WebResult<Json<org::Agency>> {
    require_caller(&ctx)?;
    Ok(Json(
        org::create_agency(&state.platform, &ctx, &input).await?,
    ))
}

pub async fn get_agency(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<org::Agency>> {
    require_caller(&ctx)?;
    Ok(Json(org::view_agency(&state.platform, &ctx, id).await?))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct RenameInput {
    pub code: String,
    pub name: String,
}

pub async fn rename_agency(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RenameInput>,
) -> WebResult<Json<org::Agency>> {
    require_caller(&ctx)?;
    Ok(Json(
        org::rename_agency(&state.platform, &ctx, id, &input.code, &input.name).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct MergeInput {
    pub into_agency_id: i64,
}

pub async fn merge_agency(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<MergeInput>,
) -> WebResult<Json<org::Agency>> {
    require_caller(&ctx)?;
    Ok(Json(
        org::merge_agency(&state.platform, &ctx, id, input.into_agency_id).await?,
    ))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct NameInput {
    pub name: String,
}

async fn list_parts(
    state: &AppState,
    ctx: &tinhso_platform::Ctx,
    part: OrgPart,
    id: i64,
) -> WebResult<Json<Vec<org::NamedPart>>> {
    require_caller(ctx)?;
    Ok(Json(org::list_parts(&state.platform, ctx, part, id).await?))
}

async fn add_part(
    state: &AppState,
    ctx: &tinhso_platform::Ctx,
    part: OrgPart,
    id: i64,
    name: &str,
) -> WebResult<Json<org::NamedPart>> {
    require_caller(ctx)?;
    Ok(Json(
        org::add_part(&state.platform, ctx, part, id, name).await?,
    ))
}

pub async fn list_departments(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<Vec<org::NamedPart>>> {
    list_parts(&state, &ctx, OrgPart::Department, id).await
}

pub async fn add_department(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NameInput>,
) -> WebResult<Json<org::NamedPart>> {
    add_part(&state, &ctx, OrgPart::Department, id, &input.name).await
}

pub async fn list_positions(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<Vec<org::NamedPart>>> {
    list_parts(&state, &ctx, OrgPart::Position, id).await
}

pub async fn add_position(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NameInput>,
) -> WebResult<Json<org::NamedPart>> {
    add_part(&state, &ctx, OrgPart::Position, id, &input.name).await
}

/// Resolves an identifier, including one retired by a rename, and names the successor of a
/// merged agency. Visible to any authenticated caller who may see the agency.
pub async fn resolve_agency_code(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let agency = org::resolve_agency_code(&state.platform, &code)
        .await?
        .ok_or_else(|| DomainError::not_found("agency identifier"))?;
    ctx.authorize(Action::ViewAgency, &Target::Agency(&agency.agency_path()))?;
    let successor = org::successor(&state.platform, agency.clone()).await?;
    Ok(Json(json!({ "agency": agency, "current": successor })))
}

#[derive(Debug, Deserialize)]
pub struct UnitQuery {
    pub code: String,
    pub date: String,
}

/// Public reference data: which unit a code meant on a date.
pub async fn resolve_unit(
    State(state): State<AppState>,
    Query(q): Query<UnitQuery>,
) -> WebResult<Json<org::ResolvedUnit>> {
    let date = NaiveDate::parse_from_str(&q.date, "%Y-%m-%d")
        .map_err(|_| DomainError::invalid("date must be YYYY-MM-DD"))?;
    Ok(Json(
        org::resolve_unit(&state.platform, q.code.trim(), date).await?,
    ))
}

pub async fn list_users(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Vec<identity::User>>> {
    require_caller(&ctx)?;
    Ok(Json(identity::list_users(&state.platform, &ctx).await?))
}

pub async fn create_user(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<NewUser>,
) -> WebResult<Json<identity::User>> {
    require_caller(&ctx)?;
    Ok(Json(
        identity::create_user(&state.platform, &ctx, &input).await?,
    ))
}

pub async fn get_user(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<identity::User>> {
    require_caller(&ctx)?;
    Ok(Json(identity::view_user(&state.platform, &ctx, id).await?))
}

#[derive(Debug, Deserialize, Serialize)]
pub struct GrantInput {
    pub role: Role,
    pub agency_id: i64,
}

pub async fn grant_role(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<GrantInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    identity::grant_role(&state.platform, &ctx, id, input.role, input.agency_id).await?;
    Ok(Json(json!({ "granted": input })))
}

pub async fn revoke_role(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<GrantInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    identity::revoke_role(&state.platform, &ctx, id, input.role, input.agency_id).await?;
    Ok(Json(json!({ "revoked": input })))
}

#[derive(Debug, Deserialize)]
pub struct PasswordInput {
    pub new_password: String,
    #[serde(default = "yes")]
    pub must_change: bool,
}

fn yes() -> bool {
    true
}

pub async fn reset_password(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<PasswordInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    identity::reset_password(
        &state.platform,
        &ctx,
        id,
        &input.new_password,
        input.must_change,
    )
    .await?;
    Ok(Json(json!({ "reset": true })))
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let ended = identity::logout_everywhere(&state.platform, &ctx, id).await?;
    Ok(Json(json!({ "sessions_ended": ended })))
}

#[derive(Debug, Deserialize)]
pub struct OwnPasswordInput {
    pub current_password: String,
    pub new_password: String,
}

/// The account page's password change: browser session only, current password required.
pub async fn change_own_password(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<OwnPasswordInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    identity::change_own_password(
        &state.platform,
        &ctx,
        &input.current_password,
        &input.new_password,
    )
    .await?;
    Ok(Json(json!({ "changed": true })))
}

#[derive(Debug, Deserialize)]
pub struct TokenInput {
    pub name: String,
    pub scopes: Vec<Action>,
    #[serde(default = "thirty")]
    pub ttl_days: i64,
    /// Issue for another account (a service account of an agency the caller manages).
    #[serde(default)]
    pub user_id: Option<i64>,
}

fn thirty() -> i64 {
    30
}

pub async fn create_token(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<TokenInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let own_id = ctx.principal().map(|p| p.user_id).unwrap_or_default();
    let (token, secret) = identity::create_api_token(
        &state.platform,
        &ctx,
        input.user_id.unwrap_or(own_id),
        &input.name,
        &input.scopes,
        input.ttl_days,
    )
    .await?;
    Ok(Json(json!({ "token": token, "secret": secret })))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    identity::revoke_api_token(&state.platform, &ctx, id).await?;
    Ok(Json(json!({ "revoked": id })))
}

/// The audit trail is installation-wide evidence: auditors and provincial administrators
/// whose grant sits at a root agency read it.
async fn authorize_audit(_state: &AppState, ctx: &tinhso_platform::Ctx) -> WebResult<()> {
    require_caller(ctx)?;
    identity::authorize_installation(ctx, Action::ViewAudit)?;
    Ok(())
}

#[derive(Debug, Deserialize)]
pub struct LimitQuery {
    #[serde(default)]
    pub limit: Option<i64>,
}

pub async fn audit_records(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<LimitQuery>,
) -> WebResult<Json<Vec<tinhso_core::audit::AuditRecord>>> {
    authorize_audit(&state, &ctx).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    Ok(Json(audit::recent(&state.platform.db, limit).await?))
}

pub async fn audit_verify(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Value>> {
    authorize_audit(&state, &ctx).await?;
    Ok(Json(
        match audit::verify(&state.platform.db, &state.platform.audit_key).await? {
            Verdict::Intact { records } => json!({ "intact": true, "records": records }),
            Verdict::Broken(b) => json!({ "intact": false, "problem": b.to_string() }),
        },
    ))
}

pub async fn calendar_holidays(
    State(state): State<AppState>,
    Path(year): Path<i32>,
) -> WebResult<Json<Value>> {
    if !(1900..=2100).contains(&year) {
        return Err(DomainError::invalid("year must be between 1900 and 2100").into());
    }
    let days = calendar::holidays(&state.platform, year).await?;
    Ok(Json(json!({ "year": year, "days_off": days })))
}

#[derive(Debug, Deserialize)]
pub struct DueQuery {
    pub from: String,
    #[serde(default)]
    pub working_days: Option<i64>,
    #[serde(default)]
    pub working_hours: Option<i64>,
    #[serde(default)]
    pub agency: Option<String>,
}

pub async fn calendar_due(
    State(state): State<AppState>,
    Query(q): Query<DueQuery>,
) -> WebResult<Json<Value>> {
    let from = chrono::DateTime::parse_from_rfc3339(&q.from).map_err(|_| {
        DomainError::invalid("from must be an RFC 3339 instant, e.g. 2027-02-03T16:00:00+07:00")
    })?;
    let due = calendar::due(
        &state.platform,
        from,
        q.working_days,
        q.working_hours,
        q.agency.as_deref(),
    )
    .await?;
    Ok(Json(
        json!({ "from": from.to_rfc3339(), "due": due.to_rfc3339() }),
    ))
}

/// Stores a year's official schedule (days off and swapped working days decided by the Prime
/// Minister); installation-wide, so provincial administrators only.
pub async fn set_calendar_schedule(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(year): Path<i32>,
    ApiJson(schedule): ApiJson<tinhso_core::calendar::YearSchedule>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    if schedule.year != year {
        return Err(DomainError::invalid("the schedule's year must match the path").into());
    }
    calendar::set_schedule(&state.platform, &ctx, &schedule).await?;
    Ok(Json(json!({ "stored": year })))
}

/// Sets an agency's office hours (inherited by its subtree unless overridden).
pub async fn set_office_hours(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(hours): ApiJson<tinhso_core::calendar::OfficeHours>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    calendar::set_office_hours(&state.platform, &ctx, id, &hours).await?;
    Ok(Json(json!({ "agency_id": id, "office_hours": hours })))
}
