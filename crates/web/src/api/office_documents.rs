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
use tinhso_documents::{
    archive, files, incoming, notices, outgoing, registers, settings, statistics, work_files,
};

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
    /// `true`: the agency and all its descendants.
    #[serde(default)]
    pub subtree: bool,
}

pub async fn statistics(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<StatisticsQuery>,
) -> WebResult<Json<statistics::Statistics>> {
    require_caller(&ctx)?;
    Ok(Json(
        statistics::compute_scope(&state.platform, &ctx, &q.agency, q.from, q.to, q.subtree)
            .await?,
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

pub async fn sign_on_server(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(input): ApiJson<outgoing::ServerSignInput>,
) -> WebResult<Json<outgoing::OutgoingView>> {
    require_caller(&ctx)?;
    Ok(Json(
        outgoing::sign_on_server(&state.platform, &ctx, id, &input).await?,
    ))
}

pub async fn verify_incoming(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<incoming::IncomingView>> {
    require_caller(&ctx)?;
    Ok(Json(incoming::reverify(&state.platform, &ctx, id).await?))
}

/// The work file as a tar, streamed member by member (see `tinhso_documents::archive`).
pub async fn work_file_archive(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let export = archive::export(&state.platform, &ctx, id).await?;
    let head = attachment(Vec::new(), "application/x-tar", &export.filename)?;
    let platform = state.platform.clone();
    let now = ctx.now_ms;
    let stream = futures_util::stream::unfold(Some(export), move |export| {
        let platform = platform.clone();
        async move {
            let mut export = export?;
            match export.next_chunk(&platform, now).await {
                Ok(Some(chunk)) => Some((Ok(axum::body::Bytes::from(chunk)), Some(export))),
                Ok(None) => None,
                // The status line is sent: a failure now can only cut the body short, and
                // the client sees a truncated tar rather than a silently incomplete one.
                Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
            }
        }
    });
    let (parts, _) = head.into_parts();
    Ok(Response::from_parts(parts, Body::from_stream(stream)))
}

pub async fn close_work_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<work_files::WorkFileView>> {
    require_caller(&ctx)?;
    Ok(Json(work_files::close(&state.platform, &ctx, id).await?))
}

pub async fn hand_over_work_file(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<work_files::WorkFileView>> {
    require_caller(&ctx)?;
    Ok(Json(
        work_files::hand_over(&state.platform, &ctx, id).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct AgencyQuery {
    pub agency: String,
}

pub async fn due_for_archiving(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<AgencyQuery>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let due = notices::due_for_archiving(&state.platform, &ctx, &q.agency).await?;
    Ok(Json(json!({ "work_files": due })))
}

#[derive(Debug, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    pub unread: bool,
}

pub async fn my_notices(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<NoticeQuery>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let list = notices::mine(&state.platform, &ctx, q.unread).await?;
    Ok(Json(json!({ "notices": list })))
}

pub async fn read_notice(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<StatusCode> {
    require_caller(&ctx)?;
    notices::mark_read(&state.platform, &ctx, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
