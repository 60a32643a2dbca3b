//! API of document management (quản lý văn bản): settings, files, incoming and outgoing
//! documents, registers and statistics under `/documents/...`. Thin handlers: each parses
//! its input and calls one service of `tinhso_documents`; access is decided there.
//!
//! (The one-stop shop's dossier documents are in [`super::documents`]; these are the
//! agency's official documents of Nghị định 30.)

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Value, json};
use tinhso_documents::domain::workflow::{Assignment, IncomingStep, OutgoingStep};
use tinhso_documents::{files, incoming, outgoing, registers, settings, statistics, work_files};

use super::documents::{attachment, read_upload};
use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

pub async fn get_settings(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(agency): Path<String>,
) -> WebResult<Json<settings::Settings>> {
    require_caller(&ctx)?;
    Ok(Json(settings::get(&state.platform, &ctx, &agency).await?))
}

pub async fn put_settings(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(agency): Path<String>,
    ApiJson(input): ApiJson<settings::Settings>,
) -> WebResult<Json<settings::Settings>> {
    require_caller(&ctx)?;
    Ok(Json(
        settings::put(&state.platform, &ctx, &agency, &input).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct FileQuery {
    #[serde(default)]
    pub filename: String,
}

pub async fn upload_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<FileQuery>,
    headers: HeaderMap,
    body: Body,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    files::check_may_upload(&ctx)?;
    let bytes = match read_upload(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    let view = files::store(&state.platform, &ctx, &q.filename, &bytes).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn download_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let (view, bytes) = files::download(&state.platform, &ctx, id).await?;
    attachment(bytes, &view.content_type, &view.filename)
}

pub async fn register_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<incoming::NewIncoming>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let view = incoming::register(&state.platform, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    pub agency: String,
    #[serde(default)]
    pub year: Option<i64>,
}

pub async fn list_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<ListQuery>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let list = incoming::list(&state.platform, &ctx, &q.agency, q.year).await?;
    Ok(Json(json!({ "documents": list })))
}

pub async fn get_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<incoming::IncomingView>> {
    require_caller(&ctx)?;
    Ok(Json(incoming::get(&state.platform, &ctx, id).await?))
}

pub async fn assign_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<Assignment>,
) -> WebResult<Json<incoming::IncomingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        incoming::assign(&state.platform, &ctx, id, &input).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct NoteInput {
    #[serde(default)]
    pub note: String,
}

async fn handle_incoming(
    state: &AppState,
    ctx: &tinhso_platform::Ctx,
    id: i64,
    step: IncomingStep,
    note: &str,
) -> WebResult<Json<incoming::IncomingView>> {
    require_caller(ctx)?;
    Ok(Json(
        incoming::handle(&state.platform, ctx, id, step, note).await?,
    ))
}

pub async fn progress_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NoteInput>,
) -> WebResult<Json<incoming::IncomingView>> {
    handle_incoming(&state, &ctx, id, IncomingStep::Progress, &input.note).await
}

pub async fn complete_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<NoteInput>,
) -> WebResult<Json<incoming::IncomingView>> {
    handle_incoming(&state, &ctx, id, IncomingStep::Complete, &input.note).await
}

pub async fn create_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<outgoing::NewDraft>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let view = outgoing::create_draft(&state.platform, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn list_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<ListQuery>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let list = outgoing::list(&state.platform, &ctx, &q.agency).await?;
    Ok(Json(json!({ "documents": list })))
}

pub async fn get_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(outgoing::get(&state.platform, &ctx, id).await?))
}

pub async fn add_version(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<outgoing::NewVersion>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        outgoing::add_version(&state.platform, &ctx, id, &input).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct ReviewInput {
    /// `submit`, `review`, `approve` or `return`.
    pub step: String,
    #[serde(default)]
    pub comment: String,
}

pub async fn review_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<ReviewInput>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    let step = OutgoingStep::parse(&input.step)?;
    Ok(Json(
        outgoing::review(&state.platform, &ctx, id, step, &input.comment).await?,
    ))
}

pub async fn sign_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<outgoing::SignInput>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        outgoing::sign(&state.platform, &ctx, id, &input).await?,
    ))
}

pub async fn release_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(outgoing::release(&state.platform, &ctx, id).await?))
}

pub async fn change_recipients(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<outgoing::RecipientChange>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        outgoing::change_recipients(&state.platform, &ctx, id, &input).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RevokeInput {
    #[serde(default)]
    pub reason: String,
}

pub async fn revoke_outgoing(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<RevokeInput>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        outgoing::revoke(&state.platform, &ctx, id, &input.reason).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct RegisterQuery {
    /// `in` (default) or `out`.
    #[serde(default = "default_direction")]
    pub direction: String,
    /// `normal` (default) or `secret`.
    #[serde(default = "default_series")]
    pub series: String,
    /// `json` (default) or `xlsx`.
    #[serde(default)]
    pub format: String,
}

fn default_direction() -> String {
    "in".into()
}

fn default_series() -> String {
    "normal".into()
}

pub async fn register_report(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path((agency, year)): Path<(String, i64)>,
    Query(q): Query<RegisterQuery>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let report = registers::report(
        &state.platform,
        &ctx,
        &agency,
        year,
        &q.direction,
        &q.series,
    )
    .await?;
    if q.format == "xlsx" {
        let bytes = registers::to_xlsx(&report)?;
        let name = format!(
            "so-van-ban-{}-{}-{year}.xlsx",
            q.direction, report.agency_code
        );
        return attachment(
            bytes,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            &name,
        );
    }
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize)]
pub struct StatisticsQuery {
    pub agency: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
}

pub async fn statistics(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<StatisticsQuery>,
) -> WebResult<Json<statistics::Statistics>> {
    require_caller(&ctx)?;
    Ok(Json(
        statistics::compute(&state.platform, &ctx, &q.agency, q.from, q.to).await?,
    ))
}

pub async fn create_work_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<work_files::NewWorkFile>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let view = work_files::create(&state.platform, &ctx, &input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn get_work_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<work_files::WorkFileView>> {
    require_caller(&ctx)?;
    Ok(Json(work_files::get(&state.platform, &ctx, id).await?))
}

pub async fn add_work_file_item(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<work_files::NewItem>,
) -> WebResult<Json<work_files::WorkFileView>> {
    require_caller(&ctx)?;
    Ok(Json(
        work_files::add_item(&state.platform, &ctx, id, &input).await?,
    ))
}
