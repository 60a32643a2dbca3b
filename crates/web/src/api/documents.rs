//! Dossier documents API: uploads, the documents of a dossier and their download, the
//! citizen's document store.
//!
//! `POST /uploads?filename=…` takes the file as the raw request body (any `Content-Type`; the
//! type is detected from the content). The file name is a query parameter so that Vietnamese
//! names travel as percent-encoded UTF-8, which headers cannot carry reliably. The route is
//! outside the global JSON body limit and reads at most `limits.max_upload_bytes`.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_onestop::documents;

use super::{ApiCtx, require_caller};
use crate::AppState;
use crate::error::{WebError, WebResult};

#[derive(Debug, serde::Deserialize)]
pub struct UploadQuery {
    #[serde(default)]
    pub filename: String,
}

/// 413 with the stable code, closing the connection: the rest of the body is never read, so
/// the connection cannot carry another request.
fn too_large(limit: usize) -> Response {
    let mut response = WebError::from(
        DomainError::new(
            ErrorCode::PayloadTooLarge,
            format!("an upload has at most {limit} bytes"),
        )
        .with_rule(documents::RULE_TOO_LARGE),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The raw body of an upload, read under `limits.max_upload_bytes`; the ready 413 response
/// (connection closed) when it is larger. Shared by every upload route.
pub(crate) async fn read_upload(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<axum::body::Bytes, Response> {
    let limit = state.platform.config.limits.max_upload_bytes;
    // A declared length over the limit is refused before a byte is read.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large(limit))
}

pub async fn upload(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    documents::check_may_upload(&ctx)?;
    let bytes = match read_upload(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(response) => return Ok(response),
    };
    match documents::upload(&state.platform, &ctx, &q.filename, &bytes).await {
        Ok(view) => Ok((StatusCode::CREATED, Json(view)).into_response()),
        Err(error) => {
            if let tinhso_platform::Error::Domain(d) = &error
                && d.rule == Some(documents::RULE_INFECTED)
            {
                tracing::warn!(actor = %ctx.actor, detail = %d.detail, "infected upload refused");
            }
            Err(error.into())
        }
    }
}

pub async fn my_documents(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    Ok(Json(
        json!({ "documents": documents::my_store(&state.platform, &ctx).await? }),
    ))
}

pub async fn dossier_documents(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    Ok(Json(
        json!({ "documents": documents::list(&state.platform, &ctx, &code).await? }),
    ))
}

/// `attachment; filename="ascii"; filename*=UTF-8''percent-encoded` (RFC 6266): browsers
/// save the file under its Vietnamese name and never display it inline.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._- ()".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded =
        percent_encoding::utf8_percent_encode(filename, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

pub async fn download(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path((code, id)): Path<(String, i64)>,
) -> WebResult<Response> {
    require_caller(&ctx)?;
    let file = documents::download(&state.platform, &ctx, &code, id).await?;
    let content_type = file
        .document
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    attachment(file.bytes, content_type, &file.document.filename)
}

/// A download response: the bytes as an attachment under their Vietnamese name, never
/// sniffed or cached. Shared by every download route.
pub(crate) fn attachment(
    bytes: Vec<u8>,
    content_type: &str,
    filename: &str,
) -> WebResult<Response> {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, content_type.to_owned()),
        (header::CONTENT_DISPOSITION, content_disposition(filename)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ] {
        let value = HeaderValue::from_str(&value)
            .map_err(|e| tinhso_platform::Error::Other(e.to_string()))?;
        headers.insert(name, value);
    }
    Ok(response)
}
