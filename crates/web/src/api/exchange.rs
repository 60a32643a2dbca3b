//! API of the document exchange for IT staff (installation administrators): the directory
//! (agencies served here, federated peers, whether the national exchange is configured) and
//! the log of every package in and out. Thin handlers over `tinhso_exchange::store`.

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use tinhso_exchange::store::{self, DirectoryView, LogEntry};

use super::{ApiCtx, require_caller};
use crate::AppState;
use crate::error::WebResult;

pub async fn agencies(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<DirectoryView>> {
    require_caller(&ctx)?;
    Ok(Json(store::directory_view(&state.platform, &ctx).await?))
}

#[derive(Debug, Deserialize)]
pub struct PackagesQuery {
    #[serde(default = "default_limit")]
    pub limit: i64,
}

fn default_limit() -> i64 {
    100
}

pub async fn packages(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<PackagesQuery>,
) -> WebResult<Json<Vec<LogEntry>>> {
    require_caller(&ctx)?;
    Ok(Json(store::list_log(&state.platform, &ctx, q.limit).await?))
}
