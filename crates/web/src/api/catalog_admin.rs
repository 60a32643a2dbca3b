//! API twins of agency administration: saving a procedure as a new version, the catalogue
//! import and export, and the citizen notification templates.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tinhso_onestop::domain::catalog::ProcedureSpec;
use tinhso_onestop::domain::notification_templates::Template;
use tinhso_onestop::{catalog, catalog_admin, notification_templates};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

/// `PUT /procedures/{code}`: the body is the whole specification; a change makes a new version.
pub async fn save_procedure(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
    ApiJson(spec): ApiJson<ProcedureSpec>,
) -> WebResult<Json<catalog_admin::Saved>> {
    require_caller(&ctx)?;
    Ok(Json(
        catalog_admin::save_procedure(&state.platform, &ctx, &code, &spec).await?,
    ))
}

/// `POST /catalog/import`: a JSON or xlsx catalogue file as the raw body.
pub async fn import_catalog(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    body: Bytes,
) -> WebResult<Json<catalog::ImportReport>> {
    require_caller(&ctx)?;
    Ok(Json(
        catalog_admin::import_file(&state.platform, &ctx, &body).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// `GET /catalog/export?format=json|xlsx`: the current catalogue in the import format.
pub async fn export_catalog(
    State(state): State<AppState>,
    Query(query): Query<ExportQuery>,
) -> WebResult<Response> {
    let file = catalog::export(&state.platform).await?;
    if query.format == "xlsx" {
        let bytes = tinhso_onestop::export::catalog_xlsx(&file)?;
        return Ok((
            [(
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )],
            bytes,
        )
            .into_response());
    }
    Ok(Json(file).into_response())
}

pub async fn list_templates(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    let templates = notification_templates::list(&state.platform, &ctx).await?;
    Ok(Json(json!({ "templates": templates })))
}

pub async fn get_template(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(event): Path<String>,
) -> WebResult<Json<notification_templates::StoredTemplate>> {
    require_caller(&ctx)?;
    Ok(Json(
        notification_templates::get(&state.platform, &ctx, &event).await?,
    ))
}

pub async fn put_template(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(event): Path<String>,
    ApiJson(template): ApiJson<Template>,
) -> WebResult<Json<notification_templates::StoredTemplate>> {
    require_caller(&ctx)?;
    Ok(Json(
        notification_templates::put(&state.platform, &ctx, &event, &template).await?,
    ))
}
