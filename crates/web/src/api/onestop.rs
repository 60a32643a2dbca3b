//! One-stop shop API: the public catalogue, filing and reading dossiers.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};
use tinhso_onestop::{catalog, dossiers};

use super::{ApiCtx, ApiJson, require_caller};
use crate::AppState;
use crate::error::WebResult;

#[derive(Debug, Default, serde::Deserialize)]
pub struct ProcedureQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub agency: String,
    #[serde(default)]
    pub level: String,
}

/// The catalogue is public: the portal shows it to everyone. With `q` the procedures come
/// ranked by the search (diacritics optional, typos tolerated); `field`, `agency` and
/// `level` filter; `facets` count the matches per value.
pub async fn list_procedures(
    State(state): State<AppState>,
    axum::extract::Query(query): axum::extract::Query<ProcedureQuery>,
) -> WebResult<Json<tinhso_onestop::search::Results>> {
    let query = tinhso_onestop::search::Query {
        text: query.q,
        field: query.field,
        agency: query.agency,
        level: query.level,
    };
    Ok(Json(
        tinhso_onestop::search::search(&state.platform, &query).await?,
    ))
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

/// A form of the dossier as PDF (receipt, supplement request, refusal, apology), readable by
/// whoever may read the dossier.
pub async fn dossier_form(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path((code, kind)): Path<(String, String)>,
) -> WebResult<axum::response::Response> {
    use axum::response::IntoResponse;
    require_caller(&ctx)?;
    let kind = tinhso_onestop::forms::FormKind::parse(&kind)?;
    let pdf = tinhso_onestop::forms::render(&state.platform, &ctx, &code, kind).await?;
    // Codes are `{agency}-{yyMMdd}-{NNNN}`: digits, dots, dashes and letters only.
    let safe: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-'))
        .collect();
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/pdf".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}-{safe}.pdf\"", kind.as_str()),
            ),
        ],
        pdf,
    )
        .into_response())
}

#[derive(Debug, serde::Deserialize)]
pub struct CheckQuery {
    #[serde(default)]
    pub check: String,
}

/// Public lookups share one per-address budget (API and the `/tra-cuu` page), the rate of
/// the login form, so codes cannot be swept through either.
pub(crate) fn allow_lookup(state: &AppState, viewer: &crate::session::Viewer) -> WebResult<()> {
    let ip = viewer
        .source_addr
        .parse()
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if !state.lookup_limiter.allow(
        ip,
        viewer.now_ms,
        state.platform.config.security.login_rate_per_minute,
    ) {
        return Err(tinhso_core::DomainError::new(
            tinhso_core::ErrorCode::RateLimited,
            "too many lookups",
        )
        .into());
    }
    Ok(())
}

/// Public status lookup: code plus the last four digits of the applicant's ID number or
/// phone. Limited per address like the login form, so codes cannot be swept.
pub async fn public_status(
    State(state): State<AppState>,
    viewer: crate::session::Viewer,
    Path(code): Path<String>,
    axum::extract::Query(q): axum::extract::Query<CheckQuery>,
) -> WebResult<Json<dossiers::PublicStatus>> {
    allow_lookup(&state, &viewer)?;
    Ok(Json(
        dossiers::public_status(&state.platform, &code, &q.check).await?,
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct RatingInput {
    pub level: u8,
    #[serde(default)]
    pub comment: String,
}

pub async fn rate_dossier(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
    ApiJson(input): ApiJson<RatingInput>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    dossiers::rate(&state.platform, &ctx, &code, input.level, &input.comment).await?;
    Ok(Json(json!({ "rated": code })))
}

/// The officer's inbox: open dossiers of their agencies, most urgent first.
pub async fn inbox(State(state): State<AppState>, ApiCtx(ctx): ApiCtx) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    Ok(Json(
        json!({ "dossiers": dossiers::inbox(&state.platform, &ctx).await? }),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct StatisticsQuery {
    #[serde(default)]
    pub agency: Option<String>,
    #[serde(default)]
    pub procedure: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

fn optional_date(text: &Option<String>) -> WebResult<Option<chrono::NaiveDate>> {
    text.as_deref()
        .filter(|t| !t.is_empty())
        .map(|t| {
            chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .map_err(|_| tinhso_core::DomainError::invalid("dates are YYYY-MM-DD").into())
        })
        .transpose()
}

fn statistics_filter(q: StatisticsQuery) -> WebResult<tinhso_onestop::statistics::Filter> {
    Ok(tinhso_onestop::statistics::Filter {
        agency_code: q.agency.filter(|a| !a.is_empty()),
        procedure_code: q.procedure.filter(|p| !p.is_empty()),
        from: optional_date(&q.from)?,
        to: optional_date(&q.to)?,
    })
}

/// The public KPIs of the one-stop shop (aggregates only).
pub async fn statistics(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<StatisticsQuery>,
) -> WebResult<Json<tinhso_onestop::statistics::Statistics>> {
    let filter = statistics_filter(q)?;
    Ok(Json(
        tinhso_onestop::statistics::compute(&state.platform, &filter, state.platform.now_ms())
            .await?,
    ))
}

/// The same figures as a spreadsheet.
pub async fn statistics_xlsx(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<StatisticsQuery>,
) -> WebResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let filter = statistics_filter(q)?;
    let stats =
        tinhso_onestop::statistics::compute(&state.platform, &filter, state.platform.now_ms())
            .await?;
    let scope = filter
        .agency_code
        .clone()
        .unwrap_or_else(|| "toàn tỉnh".into());
    let bytes = tinhso_onestop::export::statistics_xlsx(&scope, &stats)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"thong-ke-mot-cua.xlsx\"",
            ),
        ],
        bytes,
    )
        .into_response())
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

/// Starts paying the fee a dossier awaits (or hands out the attempt already pending): the
/// payer is then sent to `checkout_url`.
pub async fn start_payment(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<tinhso_onestop::payments::Started>> {
    require_caller(&ctx)?;
    Ok(Json(
        tinhso_onestop::payments::start(&state.platform, &ctx, &code).await?,
    ))
}

pub async fn list_payments(
    State(state): State<AppState>,
    ApiCtx(ctx): ApiCtx,
    Path(code): Path<String>,
) -> WebResult<Json<Value>> {
    require_caller(&ctx)?;
    Ok(Json(
        json!({ "payments": tinhso_onestop::payments::list(&state.platform, &ctx, &code).await? }),
    ))
}

/// The gateway's server-to-server callback (IPN), a signed form. Public: the signature is
/// the authentication. Success and replays answer `RspCode` `00`; refusals the usual error
/// with a stable rule (`payment.bad_signature`, `payment.amount_mismatch`, …).
pub async fn payment_callback(
    State(state): State<AppState>,
    viewer: crate::session::Viewer,
    axum::extract::Form(params): axum::extract::Form<Vec<(String, String)>>,
) -> WebResult<Json<Value>> {
    let ctx = crate::pages::payment::gateway_ctx(&viewer);
    match tinhso_onestop::payments::callback(&state.platform, &ctx, &params).await {
        Ok(result) => Ok(Json(json!({
            "RspCode": "00",
            "Message": "Confirm Success",
            "outcome": result.outcome,
            "replayed": result.replayed,
            "reference": result.reference,
        }))),
        Err(e) => {
            tracing::warn!(error = %e, source = %viewer.source_addr, "payment callback refused");
            Err(e.into())
        }
    }
}
