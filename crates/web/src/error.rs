//! One error type for pages and the API.
//!
//! Handlers return [`WebError`]; its response carries only an [`ErrorInfo`] marker. The
//! `render_errors` middleware, which knows the request id, the language and whether the
//! caller speaks HTML or JSON, turns every error response (also those made by axum itself:
//! unknown routes, bodies over the limit, timeouts) into a Vietnamese page or a JSON body
//! with a stable code. So there is one place that decides what an error looks like.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use tinhso_core::ErrorCode;
use tinhso_platform::Error;

/// Marker put on error responses; the body is rendered by the middleware.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub detail: Option<String>,
    pub rule: Option<&'static str>,
}

/// Marker of a response whose body a handler rendered itself (e.g. a form shown again with
/// its errors under status 422); the middleware leaves it alone.
#[derive(Debug, Clone, Copy)]
pub struct Rendered;

#[derive(Debug)]
pub enum WebError {
    Platform(Error),
    Redirect(String),
    Status(StatusCode, &'static str),
}

impl From<Error> for WebError {
    fn from(e: Error) -> Self {
        Self::Platform(e)
    }
}

impl From<tinhso_core::DomainError> for WebError {
    fn from(e: tinhso_core::DomainError) -> Self {
        Self::Platform(Error::Domain(e))
    }
}

pub fn status_of(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput | ErrorCode::InvalidAgencyId | ErrorCode::InvalidTotp => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::Unauthenticated | ErrorCode::InvalidCredentials => StatusCode::UNAUTHORIZED,
        ErrorCode::AccountLocked | ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::TotpRequired | ErrorCode::Forbidden | ErrorCode::CsrfRejected => {
            StatusCode::FORBIDDEN
        }
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            Self::Redirect(to) => Redirect::to(&to).into_response(),
            Self::Status(status, code) => marked(status, code, None, None),
            Self::Platform(e) => {
                let code = e.code();
                if code == ErrorCode::Internal {
                    tracing::error!(error = %e, "internal error");
                    marked(status_of(code), code.as_str(), None, None)
                } else {
                    // Domain details are safe and useful to API clients (they name the broken
                    // rule); internal ones are logged, never shown.
                    let (detail, rule) = match &e {
                        Error::Domain(d) => (Some(d.detail.clone()), d.rule),
                        _ => (None, None),
                    };
                    marked(status_of(code), code.as_str(), detail, rule)
                }
            }
        }
    }
}

fn marked(
    status: StatusCode,
    code: &'static str,
    detail: Option<String>,
    rule: Option<&'static str>,
) -> Response {
    let mut response = status.into_response();
    response
        .extensions_mut()
        .insert(ErrorInfo { code, detail, rule });
    response
}

/// The stable code for a bare status produced outside our handlers.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "invalid_input",
        _ => "internal",
    }
}

pub type WebResult<T> = Result<T, WebError>;
