//! Fee payment pages: the browser's return from the gateway, and the built-in sandbox
//! gateway (served only with `payment.backend = "sandbox"`).
//!
//! The sandbox is a real counterparty: it verifies the signed checkout request it receives,
//! signs its result with the shared secret, delivers the IPN server-to-server to the
//! configured callback URL and then sends the browser to the signed return URL, exactly as
//! a production gateway does, so the demo and the tests run the whole protocol over HTTP.

use askama::Template;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use rand::Rng;
use tinhso_onestop::payments::{self, Outcome};
use tinhso_platform::payment::{self, CODE_CANCELLED, CODE_SUCCESS, SignedRedirectGateway};
use tinhso_platform::{Caller, Ctx};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::format::vn_money;
use crate::pages::{PageCtx, render};
use crate::session::Viewer;

/// The service context of a gateway callback: no person acts, the signature is the authority
/// (checked by the payments service before anything else).
pub fn gateway_ctx(viewer: &Viewer) -> Ctx {
    Ctx {
        actor: "payment_gateway".into(),
        caller: Caller::Anonymous,
        request_id: viewer.request_id.clone(),
        source_addr: viewer.source_addr.clone(),
        now_ms: viewer.now_ms,
    }
}

#[derive(Template)]
#[template(path = "payment_result.html")]
struct ResultPage<'a> {
    page: &'a PageCtx,
    title_key: &'static str,
    message_key: &'static str,
    dossier_code: String,
    amount: String,
    reference: String,
}

/// `GET /payment/return?…signed result…`: the browser comes back from the gateway. The
/// result is signed like the IPN, so it is applied the same (idempotent) way: the fee is paid
/// even if the IPN was lost, and nothing happens twice when it was not.
pub async fn return_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let result = payments::callback(&state.platform, &gateway_ctx(&viewer), &params).await?;
    let page = PageCtx::new(&state, &viewer, "/payment/return");
    let (title_key, message_key) = match result.outcome {
        Outcome::Paid => ("payment.paid_title", "payment.paid_message"),
        Outcome::PaidUnapplied => ("payment.unapplied_title", "payment.unapplied_message"),
        Outcome::Cancelled => ("payment.cancelled_title", "payment.cancelled_message"),
        Outcome::Failed => ("payment.failed_title", "payment.failed_message"),
    };
    render(&ResultPage {
        page: &page,
        title_key,
        message_key,
        dossier_code: result.dossier_code,
        amount: vn_money(result.amount),
        reference: result.reference,
    })
}

/// The sandbox's counterparty, or 404 when a real gateway is configured.
fn sandbox(state: &AppState) -> WebResult<SignedRedirectGateway> {
    let config = &state.platform.config;
    if config.payment.backend != "sandbox" {
        return Err(WebError::Status(StatusCode::NOT_FOUND, "not_found"));
    }
    Ok(payment::signed_gateway(config, &state.platform.session_key))
}

#[derive(Template)]
#[template(path = "sandbox_payment.html")]
struct SandboxPage<'a> {
    page: &'a PageCtx,
    merchant: String,
    amount: String,
    reference: String,
    order_info: String,
    fields: Vec<(String, String)>,
}

/// `GET /sandbox/payment?…signed request…`: the sandbox gateway's payment page.
pub async fn sandbox_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<Vec<(String, String)>>,
) -> WebResult<Response> {
    let gateway = sandbox(&state)?;
    let request = gateway.verify_checkout(&params)?;
    let page = PageCtx::new(&state, &viewer, "/sandbox/payment");
    render(&SandboxPage {
        page: &page,
        merchant: format!("{} ({})", state.province_name, request.merchant_code),
        amount: vn_money(request.amount),
        reference: request.reference,
        order_info: request.order_info,
        fields: params,
    })
}

/// `POST /sandbox/payment`: the payer pays or cancels.
///
/// No CSRF token here, on purpose: this form belongs to the gateway, not to a session of
/// ours, and its only authority is the merchant's signed request it carries back (verified
/// again below), which fixes the merchant, reference, amount and return URL. Someone posting
/// it from elsewhere can only replay a checkout the merchant itself issued, and the merchant
/// side is idempotent and reconciles every result against the attempt.
pub async fn sandbox_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(mut params): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let gateway = sandbox(&state)?;
    let decision = params
        .iter()
        .find(|(k, _)| k == "decision")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    params.retain(|(k, _)| k != "decision");
    let request = gateway.verify_checkout(&params)?;
    let code = match decision.as_str() {
        "pay" => CODE_SUCCESS,
        "cancel" => CODE_CANCELLED,
        _ => {
            return Err(tinhso_core::DomainError::invalid("decision is pay or cancel").into());
        }
    };
    let transaction = format!(
        "{:08}",
        rand::thread_rng().gen_range(10_000_000..100_000_000)
    );
    let pay_date = chrono::DateTime::from_timestamp_millis(viewer.now_ms)
        .unwrap_or_default()
        .with_timezone(&crate::format::vietnam())
        .format("%Y%m%d%H%M%S")
        .to_string();
    let result = gateway.result_params(&request, &transaction, code, &pay_date)?;
    let ipn_url = state.platform.config.payment_ipn_url();
    match gateway.deliver_ipn(&ipn_url, &result).await {
        Ok(true) => {}
        // A real gateway retries later; the browser return below carries the same result.
        Ok(false) => {
            tracing::warn!(reference = %request.reference, "the merchant refused the sandbox IPN")
        }
        Err(e) => {
            tracing::warn!(reference = %request.reference, error = %e, "sandbox IPN not delivered")
        }
    }
    let separator = if request.return_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let to = format!(
        "{}{separator}{}",
        request.return_url,
        SignedRedirectGateway::query(&result)
    );
    Ok(Redirect::to(&to).into_response())
}
