//! Cross-cutting layers: request ids, security headers, metrics, error rendering, and the
//! login rate limiter.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::AppState;
use crate::error::{ErrorInfo, Rendered, code_for_status};
use crate::i18n::{Lang, t};
use crate::pages::render_error_page;
use crate::session::{LANG_COOKIE, cookie_value};

/// The id of one request: on every response (`x-request-id`), every log line of it, every
/// error page and every audit record it writes.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub async fn request_id(mut request: Request, next: Next) -> Response {
    // A well-formed id from a trusted proxy is kept so logs correlate across hops.
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (8..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| crate::session::random_value()[..20].to_owned());
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = tracing::Instrument::instrument(next.run(request), span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "same-origin"),
        ("x-content-type-options", "nosniff"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=()",
        ),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

pub async fn metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels[..2])
        .record(started.elapsed().as_secs_f64());
    response
}

/// Renders the body of every error response that a handler did not render itself.
pub async fn render_errors(request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let lang = cookie_value(request.headers(), LANG_COOKIE)
        .and_then(Lang::from_code)
        .unwrap_or_default();
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let mut response = next.run(request).await;
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The body was left unread, so the connection cannot carry another request; saying
        // so keeps clients from reusing it and failing their next request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Rendered>().is_some()
    {
        return response;
    }
    let info = response
        .extensions()
        .get::<ErrorInfo>()
        .cloned()
        .unwrap_or(ErrorInfo {
            code: code_for_status(status),
            detail: None,
            rule: None,
        });
    let (mut parts, _) = response.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    let message = t(lang, &format!("error.{}", info.code)).to_owned();
    if is_api {
        let body = serde_json::json!({
            "error": {
                "code": info.code,
                "message": message,
                "detail": info.detail,
                "rule": info.rule,
                "request_id": request_id,
            }
        });
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return Response::from_parts(parts, Body::from(body.to_string()));
    }
    let page = render_error_page(lang, status, info.code, &request_id);
    let mut rendered = Html(page).into_response();
    *rendered.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
}

/// Fixed-window limiter per source address, bounded in memory.
#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl RateLimiter {
    /// True when `addr` may make one more attempt in the minute containing `now_ms`.
    pub fn allow(&self, addr: IpAddr, now_ms: i64, per_minute: u32) -> bool {
        let Ok(mut windows) = self.windows.lock() else {
            return true;
        };
        let minute = now_ms / 60_000;
        if windows.len() > 100_000 {
            windows.retain(|_, (m, _)| *m == minute);
        }
        let entry = windows.entry(addr).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}

pub async fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.platform.db.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
