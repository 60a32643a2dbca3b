//! Login (password, then TOTP when enrolled), logout and "log out everywhere".

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::identity::{
    NewSession, complete_totp_login, login_password, logout, logout_everywhere,
};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::{PageCtx, error_message, render, render_with_status};
use crate::session::{PRE_SESSION_COOKIE, SESSION_COOKIE, Viewer, random_value, set_cookie};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    page: &'a PageCtx,
    error: Option<String>,
    username: String,
    oidc_enabled: bool,
    /// Where to go after logging in (a same-site path; see [`safe_next`]).
    next: String,
}

/// `?next=` of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    pub next: String,
}

/// A return path after login that stays on this site: an absolute path (not `//host` or
/// `/\host`, which browsers treat as another site), printable, bounded; otherwise `/`.
pub fn safe_next(raw: &str) -> &str {
    let ok = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.starts_with("/\\")
        && raw.len() <= 500
        && !raw.chars().any(|c| c.is_control() || c == '\\');
    if ok { raw } else { "/" }
}

/// Issues the pre-session cookie the login form's CSRF token is bound to.
fn with_pre_session(state: &AppState, viewer: &mut Viewer) -> Option<String> {
    if viewer.pre_session.is_some() {
        return None;
    }
    let value = random_value();
    viewer.pre_session = Some(value.clone());
    Some(set_cookie(
        PRE_SESSION_COOKIE,
        &value,
        86_400,
        state.platform.config.security.secure_cookies,
        true,
    ))
}

pub fn add_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// The answer to a successful first login step, whichever the method (password, OpenID
/// Connect): the session cookie, the pre-session cookie cleared, and a redirect to the step
/// still missing (TOTP code, TOTP enrolment) or home.
pub fn session_started(state: &AppState, session: &NewSession) -> Response {
    session_started_to(state, session, "/")
}

/// [`session_started`], going to `then` (a [`safe_next`] path) when no second step is missing.
pub fn session_started_to(state: &AppState, session: &NewSession, then: &str) -> Response {
    let next = if session.needs_totp {
        "/login/totp"
    } else if session.must_enrol_totp {
        "/account/totp"
    } else {
        safe_next(then)
    };
    let mut response = Redirect::to(next).into_response();
    let secure = state.platform.config.security.secure_cookies;
    let max_age = state.platform.config.security.session_absolute_hours * 3600;
    add_cookie(
        &mut response,
        &set_cookie(SESSION_COOKIE, &session.token, max_age, secure, true),
    );
    add_cookie(
        &mut response,
        &set_cookie(PRE_SESSION_COOKIE, "", 0, secure, true),
    );
    response
}

pub async fn login_form(
    State(state): State<AppState>,
    mut viewer: Viewer,
    Query(query): Query<NextQuery>,
) -> WebResult<Response> {
    let cookie = with_pre_session(&state, &mut viewer);
    let page = PageCtx::new(&state, &viewer, "/login");
    let mut response = render(&LoginPage {
        page: &page,
        error: None,
        username: String::new(),
        oidc_enabled: !state.platform.config.oidc.issuer_url.is_empty(),
        next: safe_next(&query.next).to_owned(),
    })?;
    if let Some(cookie) = cookie {
        add_cookie(&mut response, &cookie);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

pub async fn login_submit(
    State(state): State<AppState>,
    mut viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let ip = viewer
        .source_addr
        .parse()
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let allowed = state.login_limiter.allow(
        ip,
        viewer.now_ms,
        state.platform.config.security.login_rate_per_minute,
    );
    let outcome = if !allowed {
        Err(WebError::from(DomainError::new(
            ErrorCode::RateLimited,
            "too many login attempts",
        )))
    } else if let Err(e) = viewer.check_csrf(&state.platform.session_key, &form.csrf_token) {
        Err(e)
    } else {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        login_password(
            &state.platform,
            &viewer.ctx(),
            &form.username,
            &form.password,
            user_agent,
        )
        .await
        .map_err(WebError::from)
    };
    match outcome {
        Ok(session) => Ok(session_started_to(&state, &session, &form.next)),
        Err(error) => {
            let status = match &error {
                WebError::Platform(e) => crate::error::status_of(e.code()),
                _ => StatusCode::BAD_REQUEST,
            };
            let message = error_message(viewer.lang, &error);
            let cookie = with_pre_session(&state, &mut viewer);
            let page = PageCtx::new(&state, &viewer, "/login");
            let mut response = render_with_status(
                status,
                &LoginPage {
                    page: &page,
                    error: message,
                    username: form.username.chars().take(128).collect(),
                    oidc_enabled: !state.platform.config.oidc.issuer_url.is_empty(),
                    next: safe_next(&form.next).to_owned(),
                },
            )?;
            if let Some(cookie) = cookie {
                add_cookie(&mut response, &cookie);
            }
            Ok(response)
        }
    }
}

#[derive(Template)]
#[template(path = "totp_login.html")]
pub struct TotpPage<'a> {
    pub page: &'a PageCtx,
    pub error: Option<String>,
    pub action: &'a str,
}

pub async fn totp_form(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    let session = viewer
        .session
        .as_ref()
        .ok_or_else(|| WebError::Redirect("/login".into()))?;
    if session.second_factor_done {
        return Err(WebError::Redirect("/".into()));
    }
    let page = PageCtx::new(&state, &viewer, "/login/totp");
    render(&TotpPage {
        page: &page,
        error: None,
        action: "/login/totp",
    })
}

#[derive(Debug, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    pub csrf_token: String,
    #[serde(default)]
    pub code: String,
}

pub async fn totp_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CodeForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    let session = viewer
        .session
        .as_ref()
        .ok_or_else(|| WebError::Redirect("/login".into()))?;
    match complete_totp_login(&state.platform, &viewer.ctx(), session, &form.code).await {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(e) => {
            let error = WebError::from(e);
            let page = PageCtx::new(&state, &viewer, "/login/totp");
            render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &TotpPage {
                    page: &page,
                    error: error_message(viewer.lang, &error),
                    action: "/login/totp",
                },
            )
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf_token: String,
}

fn clear_session_cookie(state: &AppState) -> Response {
    let mut response = Redirect::to("/").into_response();
    add_cookie(
        &mut response,
        &set_cookie(
            SESSION_COOKIE,
            "",
            0,
            state.platform.config.security.secure_cookies,
            true,
        ),
    );
    response
}

pub async fn logout_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    if let Some(session) = &viewer.session {
        logout(&state.platform, &viewer.ctx(), session).await?;
    }
    Ok(clear_session_cookie(&state))
}

pub async fn logout_all_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CsrfOnly>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    let session = viewer.require_user()?;
    logout_everywhere(&state.platform, &viewer.ctx(), session.user.id).await?;
    Ok(clear_session_cookie(&state))
}
