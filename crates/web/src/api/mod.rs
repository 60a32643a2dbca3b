//! The JSON API under `/api/v1`: every action of the UI has a twin here.
//!
//! Callers authenticate with a scoped API token (`Authorization: Bearer tsk_…`) or with the
//! browser session (then unsafe methods need the `x-csrf-token` header). Errors are JSON with
//! a stable code (`{"error": {"code": …, "message": …, "request_id": …}}`). Routes are added
//! through [`ApiRouter`], which records them so a test can prove each one is in the OpenAPI
//! document ([`openapi`]).

pub mod catalog_admin;
pub mod citizen;
pub mod documents;
pub mod exchange;
pub mod handlers;
pub mod office_documents;
pub mod officer;
pub mod onestop;
pub mod openapi;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::routing::MethodRouter;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::identity::principal_from_api_token;
use tinhso_platform::{Caller, Ctx};

use crate::AppState;
use crate::error::WebError;
use crate::session::{Viewer, is_unsafe, needs_totp_enrolment};

/// A router that remembers which (method, path) pairs it serves.
pub struct ApiRouter {
    router: Router<AppState>,
    routes: Vec<(Method, String)>,
    /// Routes that read their body under a limit of their own (uploads), so they are served
    /// outside the global request-body limit: `(path, handler)`.
    own_limit: Vec<(String, MethodRouter<AppState>)>,
}

impl ApiRouter {
    fn new() -> Self {
        Self {
            router: Router::new(),
            routes: Vec::new(),
            own_limit: Vec::new(),
        }
    }

    /// A route whose handler enforces its own body limit (see [`Self::own_limit`]).
    fn route_own_limit(
        mut self,
        method: Method,
        path: &str,
        handler: MethodRouter<AppState>,
    ) -> Self {
        self.routes.push((method, path.to_owned()));
        self.own_limit.push((path.to_owned(), handler));
        self
    }

    fn route(mut self, method: Method, path: &str, handler: MethodRouter<AppState>) -> Self {
        self.routes.push((method, path.to_owned()));
        self.router = self.router.route(path, handler);
        self
    }

    pub fn routes(&self) -> &[(Method, String)] {
        &self.routes
    }

    pub fn into_router(self) -> Router<AppState> {
        self.into_parts().0
    }

    /// The routes under the global body limit, and those with their own limit.
    pub fn into_parts(self) -> (Router<AppState>, Vec<(String, MethodRouter<AppState>)>) {
        (self.router, self.own_limit)
    }
}

pub fn router() -> ApiRouter {
    use axum::routing::{delete, get, post, put};
    use handlers as h;
    ApiRouter::new()
        .route(Method::GET, "/openapi.json", get(openapi::document))
        .route(Method::GET, "/me", get(h::me))
        .route(Method::POST, "/me/password", post(h::change_own_password))
        .route(Method::GET, "/agencies", get(h::list_agencies))
        .route(Method::POST, "/agencies", post(h::create_agency))
        .route(Method::GET, "/agencies/{id}", get(h::get_agency))
        .route(
            Method::POST,
            "/agencies/{id}/rename",
            post(h::rename_agency),
        )
        .route(Method::POST, "/agencies/{id}/merge", post(h::merge_agency))
        .route(
            Method::GET,
            "/agencies/{id}/departments",
            get(h::list_departments),
        )
        .route(
            Method::POST,
            "/agencies/{id}/departments",
            post(h::add_department),
        )
        .route(
            Method::GET,
            "/agencies/{id}/positions",
            get(h::list_positions),
        )
        .route(
            Method::POST,
            "/agencies/{id}/positions",
            post(h::add_position),
        )
        .route(
            Method::GET,
            "/agency-codes/{code}",
            get(h::resolve_agency_code),
        )
        .route(Method::GET, "/units/resolve", get(h::resolve_unit))
        .route(Method::GET, "/users", get(h::list_users))
        .route(Method::POST, "/users", post(h::create_user))
        .route(Method::GET, "/users/{id}", get(h::get_user))
        .route(Method::POST, "/users/{id}/roles", post(h::grant_role))
        .route(Method::DELETE, "/users/{id}/roles", delete(h::revoke_role))
        .route(
            Method::POST,
            "/users/{id}/password",
            post(h::reset_password),
        )
        .route(
            Method::POST,
            "/users/{id}/sessions/revoke",
            post(h::logout_everywhere),
        )
        .route(Method::POST, "/tokens", post(h::create_token))
        .route(Method::DELETE, "/tokens/{id}", delete(h::revoke_token))
        .route(Method::GET, "/audit/records", get(h::audit_records))
        .route(Method::GET, "/audit/verify", get(h::audit_verify))
        // == exchange == (IT staff: the directory and the log of packages in and out)
        .route(Method::GET, "/exchange/agencies", get(exchange::agencies))
        .route(Method::GET, "/exchange/packages", get(exchange::packages))
        .route(
            Method::GET,
            "/calendar/holidays/{year}",
            get(h::calendar_holidays),
        )
        .route(Method::GET, "/calendar/due", get(h::calendar_due))
        .route(
            Method::PUT,
            "/calendar/schedules/{year}",
            put(h::set_calendar_schedule),
        )
        .route(
            Method::PUT,
            "/agencies/{id}/office-hours",
            put(h::set_office_hours),
        )
        .route(Method::GET, "/procedures", get(onestop::list_procedures))
        .route(
            Method::GET,
            "/procedures/{code}",
            get(onestop::get_procedure),
        )
        .route(Method::POST, "/dossiers", post(onestop::submit_dossier))
        .route(Method::GET, "/dossiers/{code}", get(onestop::get_dossier))
        .route(
            Method::POST,
            "/dossiers/{code}/accept",
            post(onestop::accept_dossier),
        )
        .route(
            Method::POST,
            "/dossiers/{code}/actions",
            post(onestop::dossier_action),
        )
        .route(
            Method::GET,
            "/dossiers/{code}/forms/{kind}",
            get(onestop::dossier_form),
        )
        .route(Method::GET, "/dossiers", get(onestop::inbox))
        .route(
            Method::POST,
            "/dossiers/{code}/rating",
            post(onestop::rate_dossier),
        )
        .route(
            Method::GET,
            "/public/dossiers/{code}",
            get(onestop::public_status),
        )
        .route(
            Method::GET,
            "/statistics/xlsx",
            get(onestop::statistics_xlsx),
        )
        .route(Method::GET, "/statistics", get(onestop::statistics))
        .route(Method::GET, "/me/dossiers", get(onestop::my_dossiers))
        .route(
            Method::POST,
            "/dossiers/{code}/payments",
            post(onestop::start_payment),
        )
        .route(
            Method::GET,
            "/dossiers/{code}/payments",
            get(onestop::list_payments),
        )
        .route(
            Method::POST,
            "/payments/callback",
            post(onestop::payment_callback),
        )
        .route_own_limit(Method::POST, "/uploads", post(documents::upload))
        .route(Method::GET, "/me/documents", get(documents::my_documents))
        .route(
            Method::GET,
            "/dossiers/{code}/documents",
            get(documents::dossier_documents),
        )
        .route(
            Method::GET,
            "/dossiers/{code}/documents/{id}",
            get(documents::download),
        )
        // == officer ==
        .route(
            Method::POST,
            "/queue/{agency_code}/tickets",
            post(officer::take_ticket),
        )
        .route(Method::GET, "/queue/{agency_code}", get(officer::display))
        .route(
            Method::POST,
            "/queue/{agency_code}/call",
            post(officer::call_next),
        )
        .route(
            Method::POST,
            "/dossiers/bulk-approval",
            post(officer::bulk_approve),
        )
        // == citizen == (drafts of online applications, the caller's notifications)
        .route(Method::POST, "/drafts", post(citizen::open_draft))
        .route(Method::GET, "/drafts/{id}", get(citizen::get_draft))
        .route(Method::PUT, "/drafts/{id}", put(citizen::save_draft))
        .route(
            Method::POST,
            "/drafts/{id}/submit",
            post(citizen::submit_draft),
        )
        .route(
            Method::GET,
            "/me/notifications",
            get(citizen::my_notifications),
        )
        // == documents == (quản lý văn bản, Nghị định 30)
        .route_own_limit(
            Method::POST,
            "/documents/files",
            post(office_documents::upload_file),
        )
        .route(
            Method::GET,
            "/documents/settings/{agency_code}",
            get(office_documents::get_settings),
        )
        .route(
            Method::PUT,
            "/documents/settings/{agency_code}",
            put(office_documents::put_settings),
        )
        .route(
            Method::GET,
            "/documents/files/{id}",
            get(office_documents::download_file),
        )
        .route(
            Method::POST,
            "/documents/incoming",
            post(office_documents::register_incoming),
        )
        .route(
            Method::GET,
            "/documents/incoming",
            get(office_documents::list_incoming),
        )
        .route(
            Method::GET,
            "/documents/incoming/{id}",
            get(office_documents::get_incoming),
        )
        .route(
            Method::POST,
            "/documents/incoming/{id}/assign",
            post(office_documents::assign_incoming),
        )
        .route(
            Method::POST,
            "/documents/incoming/{id}/progress",
            post(office_documents::progress_incoming),
        )
        .route(
            Method::POST,
            "/documents/incoming/{id}/done",
            post(office_documents::complete_incoming),
        )
        .route(
            Method::POST,
            "/documents/outgoing",
            post(office_documents::create_outgoing),
        )
        .route(
            Method::GET,
            "/documents/outgoing",
            get(office_documents::list_outgoing),
        )
        .route(
            Method::GET,
            "/documents/outgoing/{id}",
            get(office_documents::get_outgoing),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/versions",
            post(office_documents::add_version),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/review",
            post(office_documents::review_outgoing),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/sign",
            post(office_documents::sign_outgoing),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/release",
            post(office_documents::release_outgoing),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/recipients",
            post(office_documents::change_recipients),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/revoke",
            post(office_documents::revoke_outgoing),
        )
        .route(
            Method::GET,
            "/documents/registers/{agency_code}/{year}",
            get(office_documents::register_report),
        )
        .route(
            Method::GET,
            "/documents/statistics",
            get(office_documents::statistics),
        )
        .route(
            Method::POST,
            "/documents/work-files",
            post(office_documents::create_work_file),
        )
        .route(
            Method::GET,
            "/documents/work-files/{id}",
            get(office_documents::get_work_file),
        )
        .route(
            Method::POST,
            "/documents/work-files/{id}/items",
            post(office_documents::add_work_file_item),
        )
        .route(
            Method::POST,
            "/documents/outgoing/{id}/sign-on-server",
            post(office_documents::sign_on_server),
        )
        .route(
            Method::POST,
            "/documents/incoming/{id}/verify-signatures",
            post(office_documents::verify_incoming),
        )
        .route(
            Method::GET,
            "/documents/work-files/{id}/archive",
            get(office_documents::work_file_archive),
        )
        .route(
            Method::POST,
            "/documents/work-files/{id}/close",
            post(office_documents::close_work_file),
        )
        .route(
            Method::POST,
            "/documents/work-files/{id}/hand-over",
            post(office_documents::hand_over_work_file),
        )
        .route(
            Method::GET,
            "/documents/work-files/due-for-archiving",
            get(office_documents::due_for_archiving),
        )
        .route(
            Method::GET,
            "/documents/notices",
            get(office_documents::my_notices),
        )
        .route(
            Method::POST,
            "/documents/notices/{id}/read",
            post(office_documents::read_notice),
        )
        // == admin == (catalogue editor, notification templates)
        .route(
            Method::PUT,
            "/procedures/{code}",
            put(catalog_admin::save_procedure),
        )
        .route(
            Method::POST,
            "/catalog/import",
            post(catalog_admin::import_catalog),
        )
        .route(
            Method::GET,
            "/catalog/export",
            get(catalog_admin::export_catalog),
        )
        .route(
            Method::GET,
            "/notification-templates",
            get(catalog_admin::list_templates),
        )
        .route(
            Method::GET,
            "/notification-templates/{event}",
            get(catalog_admin::get_template),
        )
        .route(
            Method::PUT,
            "/notification-templates/{event}",
            put(catalog_admin::put_template),
        )
}

/// The caller of an API request, as a service context.
#[derive(Debug, Clone)]
pub struct ApiCtx(pub Ctx);

impl FromRequestParts<AppState> for ApiCtx {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let mut ctx = viewer.ctx();
        if let Some(token) = bearer {
            let (token_id, principal) =
                principal_from_api_token(&state.platform, token, viewer.now_ms)
                    .await?
                    .ok_or_else(|| {
                        DomainError::new(ErrorCode::Unauthenticated, "invalid or expired API token")
                    })?;
            ctx.actor = format!("token:{token_id}");
            ctx.caller = Caller::User(principal);
            return Ok(Self(ctx));
        }
        if let Some(session) = &viewer.session {
            if !session.second_factor_done || needs_totp_enrolment(session) {
                return Err(DomainError::new(
                    ErrorCode::TotpRequired,
                    "complete two-step verification first",
                )
                .into());
            }
            if is_unsafe(&parts.method) {
                let submitted = parts
                    .headers
                    .get("x-csrf-token")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                viewer.check_csrf(&state.platform.session_key, submitted)?;
            }
        }
        Ok(Self(ctx))
    }
}

/// JSON body whose rejections become stable-code errors instead of plain text.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    return Err(WebError::Status(rejection.status(), "payload_too_large"));
                }
                Err(DomainError::invalid(rejection.body_text()).into())
            }
        }
    }
}

/// Anonymous callers get 401 on anything that needs an identity.
pub fn require_caller(ctx: &Ctx) -> Result<(), WebError> {
    if matches!(ctx.caller, Caller::Anonymous) {
        return Err(DomainError::new(ErrorCode::Unauthenticated, "authentication required").into());
    }
    Ok(())
}
