//! API twins of the officials' workspace: queue tickets (take, call the next number, the
//! display's state) and bulk approval.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tinhso_onestop::{queue, workspace};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;
use crate::session::Viewer;

/// Anyone takes a number (the ticket machine); limited per address like public lookups.
pub async fn take_ticket(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiCtx(ctx): ApiCtx,
    Path(agency): Path<String>,
) -> WebResult<Json<queue::Ticket>> {
    crate::pages::officer::allow_ticket(&state, &viewer)?;
    Ok(Json(queue::take(&state.platform, &ctx, &agency).await?))
}

pub async fn display(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> WebResult<Json<queue::Display>> {
    Ok(Json(
        queue::display(&state.platform, &agency, viewer.now_ms).await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct CallInput {
    pub desk: String,
}

pub async fn call_next(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(agency): Path<String>,
    ApiJson(input): ApiJson<CallInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let call = queue::call_next(&state.platform, &ctx, &agency, &input.desk).await?;
    Ok(Json(json!({ "called": call })))
}

#[derive(Debug, serde::Deserialize)]
pub struct BulkInput {
    pub codes: Vec<String>,
    #[serde(default)]
    pub note: String,
}

pub async fn bulk_approve(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<BulkInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let results = workspace::approve_many(&state.platform, &ctx, &input.codes, &input.note).await?;
    Ok(Json(json!({ "results": results })))
}
