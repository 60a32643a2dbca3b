//! Citizen login through the OpenID Connect provider (VNeID in production): `GET /login/oidc`
//! sends the browser to the provider, `GET /login/oidc/callback` comes back with the code.
//! The protocol lives in `tinhso_platform::oidc`; these handlers only move cookies.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::oidc::{
    self, CallbackParams, PENDING_COOKIE, PENDING_TTL_MS, RULE_PERSONAL_ID, RULE_REJECTED,
    RULE_UNAVAILABLE,
};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::auth::add_cookie;
use crate::session::{Viewer, cookie_value, set_cookie};

pub async fn start(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    let login = oidc::begin_login(&state.platform, viewer.now_ms)
        .await
        .map_err(oidc_error)?;
    let mut response = Redirect::to(&login.authorization_url).into_response();
    add_cookie(
        &mut response,
        &set_cookie(
            PENDING_COOKIE,
            &login.pending_cookie,
            PENDING_TTL_MS / 1000,
            state.platform.config.security.secure_cookies,
            true,
        ),
    );
    Ok(response)
}

pub async fn callback(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(params): Query<CallbackParams>,
) -> WebResult<Response> {
    let secure = state.platform.config.security.secure_cookies;
    let ip = viewer
        .source_addr
        .parse()
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let outcome = if state.login_limiter.allow(
        ip,
        viewer.now_ms,
        state.platform.config.security.login_rate_per_minute,
    ) {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        oidc::complete_login(
            &state.platform,
            &viewer.ctx(),
            cookie_value(&headers, PENDING_COOKIE),
            &params,
            user_agent,
        )
        .await
        .map_err(oidc_error)
    } else {
        Err(WebError::from(DomainError::new(
            ErrorCode::RateLimited,
            "too many login attempts",
        )))
    };
    // The pending login is used once, whatever the outcome.
    let mut response = match outcome {
        Ok(session) => crate::pages::auth::session_started(&state, &session),
        Err(error) => error.into_response(),
    };
    add_cookie(
        &mut response,
        &set_cookie(PENDING_COOKIE, "", 0, secure, true),
    );
    Ok(response)
}

/// The friendly page for each way an OpenID Connect login fails; the detail goes to the log.
fn oidc_error(error: tinhso_platform::Error) -> WebError {
    let rule = match &error {
        tinhso_platform::Error::Domain(d) => d.rule,
        _ => None,
    };
    let (status, code) = match rule {
        Some(RULE_UNAVAILABLE) => (StatusCode::BAD_GATEWAY, "oidc_unavailable"),
        Some(RULE_REJECTED) => (StatusCode::BAD_REQUEST, "oidc_rejected"),
        Some(RULE_PERSONAL_ID) => (StatusCode::UNPROCESSABLE_ENTITY, "oidc_personal_id"),
        _ if error.code() == ErrorCode::NotFound => (StatusCode::NOT_FOUND, "not_found"),
        _ => return WebError::Platform(error),
    };
    tracing::warn!(error = %error, "OpenID Connect login failed");
    WebError::Status(status, code)
}
