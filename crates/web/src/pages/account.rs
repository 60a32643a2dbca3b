//! The account page: profile, password change, TOTP enrolment, logout everywhere.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;
use tinhso_platform::identity::{begin_totp_enrolment, change_own_password, confirm_totp};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::auth::CodeForm;
use crate::pages::{PageCtx, error_message, render, render_form, render_with_status};
use crate::session::{Viewer, needs_totp_enrolment};

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    page: &'a PageCtx,
    username: &'a str,
    display_name: &'a str,
    totp_enabled: bool,
    notice: Option<String>,
    error: Option<String>,
}

fn account_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> WebResult<Response> {
    let session = viewer.require_user()?;
    let page = PageCtx::new(state, viewer, "/account");
    let template = AccountPage {
        page: &page,
        username: &session.user.username,
        display_name: &session.user.display_name,
        totp_enabled: session.user.totp_enabled,
        notice,
        error,
    };
    if status.is_success() {
        render(&template)
    } else {
        render_with_status(status, &template)
    }
}

pub async fn account(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    account_page(&state, &viewer, None, None, StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_user()?;
    match change_own_password(
        &state.platform,
        &viewer.ctx(),
        &form.current_password,
        &form.new_password,
    )
    .await
    {
        Ok(()) => {
            let notice = crate::i18n::t(viewer.lang, "account.password_changed").to_owned();
            account_page(&state, &viewer, Some(notice), None, StatusCode::OK)
        }
        Err(e) => {
            let message = error_message(viewer.lang, &WebError::from(e));
            account_page(
                &state,
                &viewer,
                None,
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
    }
}

#[derive(Template)]
#[template(path = "totp_enrol.html")]
struct TotpEnrolPage<'a> {
    page: &'a PageCtx,
    required: bool,
    error: Option<String>,
    qr_svg: String,
    secret: String,
}

fn qr_svg(text: &str) -> String {
    QrCode::new(text.as_bytes())
        .map(|code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build()
        })
        .unwrap_or_default()
}

async fn enrol_page(
    state: &AppState,
    viewer: &Viewer,
    error: Option<String>,
) -> WebResult<Response> {
    let session = viewer
        .session
        .as_ref()
        .ok_or_else(|| WebError::Redirect("/login".into()))?;
    if !session.second_factor_done {
        return Err(WebError::Redirect("/login/totp".into()));
    }
    if session.user.totp_enabled {
        return Err(WebError::Redirect("/account".into()));
    }
    let (secret, url) =
        begin_totp_enrolment(&state.platform, &viewer.ctx(), session.user.id).await?;
    let page = PageCtx::new(state, viewer, "/account/totp");
    let template = TotpEnrolPage {
        page: &page,
        required: needs_totp_enrolment(session),
        error: error.clone(),
        qr_svg: qr_svg(&url),
        secret,
    };
    render_form(error.is_some(), &template)
}

pub async fn totp_enrol_form(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    enrol_page(&state, &viewer, None).await
}

pub async fn totp_enrol_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CodeForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    let session = viewer
        .session
        .as_ref()
        .ok_or_else(|| WebError::Redirect("/login".into()))?;
    match confirm_totp(&state.platform, &viewer.ctx(), session.user.id, &form.code).await {
        Ok(()) => Ok(Redirect::to("/account").into_response()),
        Err(e) => {
            enrol_page(
                &state,
                &viewer,
                error_message(viewer.lang, &WebError::from(e)),
            )
            .await
        }
    }
}
