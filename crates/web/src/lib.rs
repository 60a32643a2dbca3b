//! Web layer of Tỉnh số: one axum application serving server-rendered pages (Vietnamese
//! first), the JSON API under `/api/v1` with its OpenAPI document, health endpoints, and a
//! separate admin listener for Prometheus metrics.
//!
//! A request flows: request id → metrics → security headers → error rendering → body limit
//! and timeout → handler (viewer extractor loads the session) → one platform service → one
//! template or JSON body.

pub mod api;
pub mod error;
pub mod exchange_peer;
pub mod format;
pub mod i18n;
pub mod middleware;
pub mod pages;
pub mod session;

use axum::Router;
use axum::routing::{get, post};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tinhso_platform::Platform;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;

#[derive(Debug, Clone)]
pub struct AppState {
    pub platform: Platform,
    pub login_limiter: Arc<middleware::RateLimiter>,
    /// Public dossier status lookups, per address.
    pub lookup_limiter: Arc<middleware::RateLimiter>,
    pub demo: bool,
    pub province_name: String,
}

impl AppState {
    pub async fn new(platform: Platform, demo: bool) -> tinhso_platform::Result<Self> {
        let province_name = root_agency_name(&platform).await?;
        Ok(Self {
            platform,
            login_limiter: Arc::default(),
            lookup_limiter: Arc::default(),
            demo,
            province_name,
        })
    }
}

async fn root_agency_name(platform: &Platform) -> tinhso_platform::Result<String> {
    let name: Option<String> = sqlx_root_name(platform).await?;
    Ok(name
        .map(|n| n.trim_start_matches("Ủy ban nhân dân ").to_owned())
        .map(|n| {
            let mut chars = n.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
                .unwrap_or_default()
        })
        .unwrap_or_default())
}

async fn sqlx_root_name(platform: &Platform) -> tinhso_platform::Result<Option<String>> {
    let ctx = tinhso_platform::Ctx::system(platform.now_ms());
    Ok(tinhso_platform::org::list_agencies(platform, &ctx)
        .await?
        .into_iter()
        .find(|a| a.parent_id.is_none())
        .map(|a| a.name))
}

/// The public application.
pub fn app(state: AppState) -> Router {
    let limits = &state.platform.config.limits;
    let body_limit = limits.max_body_bytes;
    let timeout = Duration::from_secs(limits.request_timeout_seconds);
    let pages = Router::new()
        .route(
            "/login",
            get(pages::auth::login_form).post(pages::auth::login_submit),
        )
        .route("/login/oidc", get(pages::oidc::start))
        .route("/login/oidc/callback", get(pages::oidc::callback))
        .route(
            "/login/totp",
            get(pages::auth::totp_form).post(pages::auth::totp_submit),
        )
        .route("/logout", post(pages::auth::logout_submit))
        .route("/logout/all", post(pages::auth::logout_all_submit))
        .route("/account", get(pages::account::account))
        .route("/account/password", post(pages::account::change_password))
        .route(
            "/account/totp",
            get(pages::account::totp_enrol_form).post(pages::account::totp_enrol_submit),
        )
        .route(
            "/admin/agencies",
            get(pages::admin::agencies).post(pages::admin::create_agency_submit),
        )
        .route(
            "/admin/users",
            get(pages::admin::users).post(pages::admin::create_user_submit),
        )
        .route("/audit", get(pages::admin::audit))
        .route("/units", get(pages::tools::units))
        .route("/tra-cuu", get(pages::tools::dossier_lookup))
        .route("/calendar", get(pages::tools::calendar))
        .route("/payment/return", get(pages::payment::return_page))
        .route(
            "/sandbox/payment",
            get(pages::payment::sandbox_page).post(pages::payment::sandbox_submit),
        )
        .route("/lang/{code}", get(pages::switch_language))
        .route("/static/{name}", get(pages::static_asset))
        .route("/healthz", get(middleware::healthz))
        .route("/readyz", get(middleware::readyz));
    let (api, own_limit) = api::router().into_parts();
    let mut app = Router::new()
        .merge(pages)
        .merge(pages::portal::routes())
        .merge(pages::citizen::routes())
        .merge(pages::officer::routes())
        .merge(pages::catalog_editor::routes())
        .merge(pages::documents::routes())
        .nest("/api/v1", api)
        .fallback(middleware::not_found)
        .layer(RequestBodyLimitLayer::new(body_limit));
    // Uploads are larger than any JSON body: their handlers read the body under
    // `limits.max_upload_bytes` instead, so they are added after the global limit.
    for (path, handler) in own_limit {
        app = app.route(&format!("/api/v1{path}"), handler);
    }
    app.layer(TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(axum::middleware::from_fn(middleware::render_errors))
    .layer(axum::middleware::from_fn(middleware::security_headers))
    .layer(axum::middleware::from_fn(middleware::metrics))
    .layer(axum::middleware::from_fn(middleware::request_id))
    .with_state(state)
}

/// The process-wide Prometheus recorder (installed once, shared by every app in the
/// process, which matters for tests that start several servers).
pub fn metrics_handle() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|()| handle)
        })
        .clone()
}

/// The admin application: metrics and health, for the monitoring network only.
pub fn admin_app(state: AppState) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|| async { metrics_handle().map(|h| h.render()).unwrap_or_default() }),
        )
        .route("/healthz", get(middleware::healthz))
        .route("/readyz", get(middleware::readyz))
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
