//! Citizen area API: drafts of online applications (open, read, save, submit) and the
//! caller's notifications — the JSON twins of the `/apply/…` and `/my/notifications` pages.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};
use tinhso_onestop::{citizen, dossiers, drafts};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

#[derive(Debug, Deserialize)]
pub struct OpenDraft {
    pub procedure_code: String,
}

/// `POST /drafts`: the caller's open draft for the procedure's current version (created when
/// there is none).
pub async fn open_draft(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<OpenDraft>,
) -> WebResult<Json<drafts::DraftView>> {
    require_caller(&ctx)?;
    Ok(Json(
        drafts::open(&state.platform, &ctx, &input.procedure_code).await?,
    ))
}

pub async fn get_draft(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<drafts::DraftView>> {
    require_caller(&ctx)?;
    Ok(Json(drafts::get(&state.platform, &ctx, id).await?))
}

/// `PUT /drafts/{id}`: saves answers, the agency, documents or the step (valid or not).
pub async fn save_draft(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
    ApiJson(update): ApiJson<drafts::DraftUpdate>,
) -> WebResult<Json<drafts::DraftView>> {
    require_caller(&ctx)?;
    Ok(Json(
        drafts::save(&state.platform, &ctx, id, &update).await?,
    ))
}

/// `POST /drafts/{id}/submit`: the dossier (the same one when submitted again).
pub async fn submit_draft(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(id): Path<i64>,
) -> WebResult<Json<dossiers::DossierView>> {
    require_caller(&ctx)?;
    Ok(Json(drafts::submit(&state.platform, &ctx, id).await?))
}

pub async fn my_notifications(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let list = citizen::my_notifications(&state.platform, &ctx).await?;
    Ok(Json(json!({ "notifications": list })))
}
