//! One-stop shop API: the public catalogue, filing and reading dossiers.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tinhso_onestop::{catalog, dossiers};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

/// The catalogue is public: the portal shows it to everyone.
pub async fn list_procedures(State(state): State<AppState>) -> WebResult<Json<Value>> {
    let procedures: Vec<Value> = catalog::list(&state.platform)
        .await?
        .into_iter()
        .map(|p| {
            json!({
                "code": p.spec.code,
                "name": p.spec.name,
                "field": p.spec.field.name,
                "levels": p.spec.levels,
                "online_level": p.spec.online_level,
                "processing_time": p.spec.processing_time,
                "version": p.version,
            })
        })
        .collect();
    Ok(Json(json!({ "procedures": procedures })))
}

pub async fn get_procedure(
    State(state): State<AppState>,
    Path(code): Path<String>,
) -> WebResult<Json<catalog::StoredProcedure>> {
    Ok(Json(catalog::get(&state.platform, &code).await?))
}

pub async fn submit_dossier(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    ApiJson(input): ApiJson<dossiers::NewDossier>,
) -> WebResult<Json<dossiers::DossierView>> {
    require_caller(&ctx)?;
    Ok(Json(dossiers::submit(&state.platform, &ctx, &input).await?))
}

pub async fn get_dossier(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<dossiers::DossierView>> {
    require_caller(&ctx)?;
    Ok(Json(dossiers::view(&state.platform, &ctx, &code).await?))
}

pub async fn accept_dossier(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<dossiers::DossierView>> {
    require_caller(&ctx)?;
    Ok(Json(dossiers::accept(&state.platform, &ctx, &code).await?))
}

/// Every step after intake: processing, supplement requests and supplements (the legal clock
/// stops and restarts), fee request, decision, withdrawal, return of the result.
pub async fn dossier_action(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
    ApiJson(command): ApiJson<dossiers::Command>,
) -> WebResult<Json<dossiers::DossierView>> {
    require_caller(&ctx)?;
    Ok(Json(
        dossiers::act(&state.platform, &ctx, &code, &command).await?,
    ))
}

pub async fn my_dossiers(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    Ok(Json(
        json!({ "codes": dossiers::mine(&state.platform, &ctx).await? }),
    ))
}
