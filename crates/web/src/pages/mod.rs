//! Server-rendered pages. Handlers are thin: read the viewer and the input, call one
//! platform service, render one template. Everything works without JavaScript.

pub mod account;
pub mod admin;
pub mod auth;
pub mod catalog_editor;
pub mod citizen;
pub mod documents;
pub mod form_view;
pub mod multipart;
pub mod officer;
pub mod oidc;
pub mod payment;
pub mod portal;
pub mod tools;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use tinhso_core::access::{Action, Role, role_allows};
use tinhso_platform::identity::SessionInfo;

use crate::AppState;
use crate::error::{Rendered, WebError, WebResult};
use crate::i18n::{Lang, t};
use crate::session::{LANG_COOKIE, Viewer, roles_of, set_cookie};

#[derive(Debug, Clone)]
pub struct NavItem {
    pub key: &'static str,
    pub href: &'static str,
}

/// What the layout needs on every page.
#[derive(Debug, Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub nav: Vec<NavItem>,
    pub user_name: Option<String>,
    pub csrf: String,
    pub request_id: String,
    pub path: String,
    pub demo: bool,
    pub province: String,
}

impl PageCtx {
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        t(self.lang, key)
    }

    pub fn new(state: &AppState, viewer: &Viewer, path: &str) -> Self {
        let logged_in = viewer.session.as_ref().filter(|s| s.second_factor_done);
        Self {
            lang: viewer.lang,
            nav: nav_for(logged_in),
            user_name: viewer.session.as_ref().map(|s| s.user.display_name.clone()),
            csrf: viewer.csrf_token(&state.platform.session_key),
            request_id: viewer.request_id.clone(),
            path: path.to_owned(),
            demo: state.demo,
            province: state.province_name.clone(),
        }
    }
}

/// The navigation table: one entry per page, shown when one of the viewer's roles may use
/// it. Later systems add their entries here.
pub fn nav_for(session: Option<&SessionInfo>) -> Vec<NavItem> {
    let roles = session.map(roles_of).unwrap_or_default();
    let any = |action: Action| roles.iter().any(|r| role_allows(*r, action));
    let official = roles.iter().any(|r| *r != Role::Citizen);
    let mut nav = vec![
        NavItem {
            key: "nav.home",
            href: "/",
        },
        NavItem {
            key: "nav.procedures",
            href: "/procedures",
        },
    ];
    if any(Action::SubmitDossier) {
        nav.push(NavItem {
            key: "nav.my_dossiers",
            href: "/my/dossiers",
        });
        nav.push(NavItem {
            key: "nav.my_documents",
            href: "/my/documents",
        });
    }
    if any(Action::ReceiveDossier) {
        nav.push(NavItem {
            key: "nav.counter",
            href: "/counter",
        });
    }
    if any(Action::ProcessDossier) {
        nav.push(NavItem {
            key: "nav.inbox",
            href: "/inbox",
        });
    }
    if any(Action::ViewDocuments) {
        nav.push(NavItem {
            key: "nav.documents",
            href: "/van-ban",
        });
    }
    if any(Action::ManageAgency) {
        nav.push(NavItem {
            key: "nav.catalog",
            href: "/admin/procedures",
        });
    }
    if any(Action::ViewAgency) {
        nav.push(NavItem {
            key: "nav.agencies",
            href: "/admin/agencies",
        });
    }
    if any(Action::ViewUsers) {
        nav.push(NavItem {
            key: "nav.users",
            href: "/admin/users",
        });
    }
    if any(Action::ViewAudit) {
        nav.push(NavItem {
            key: "nav.audit",
            href: "/audit",
        });
    }
    if official {
        nav.push(NavItem {
            key: "nav.calendar",
            href: "/calendar",
        });
    }
    nav.push(NavItem {
        key: "nav.units",
        href: "/units",
    });
    nav.push(NavItem {
        key: "nav.statistics",
        href: "/statistics",
    });
    if session.is_some() {
        nav.push(NavItem {
            key: "nav.account",
            href: "/account",
        });
    }
    nav
}

pub fn render<T: Template>(template: &T) -> WebResult<Response> {
    template
        .render()
        .map(|html| Html(html).into_response())
        .map_err(|e| WebError::Platform(tinhso_platform::Error::Other(format!("template: {e}"))))
}

/// A form page: shown again with status 422 when it carries errors, 200 otherwise.
pub fn render_form<T: Template>(invalid: bool, template: &T) -> WebResult<Response> {
    if invalid {
        render_with_status(StatusCode::UNPROCESSABLE_ENTITY, template)
    } else {
        render(template)
    }
}

/// A page rendered with an error status (e.g. a form shown again with its message).
pub fn render_with_status<T: Template>(status: StatusCode, template: &T) -> WebResult<Response> {
    let mut response = render(template)?;
    *response.status_mut() = status;
    response.extensions_mut().insert(Rendered);
    Ok(response)
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    page: &'a PageCtx,
    title: &'a str,
    message: &'a str,
}

/// The friendly error page (no database access: it must render even when the database is
/// what failed).
pub fn render_error_page(lang: Lang, status: StatusCode, code: &str, request_id: &str) -> String {
    let page = PageCtx {
        lang,
        nav: vec![NavItem {
            key: "nav.home",
            href: "/",
        }],
        user_name: None,
        csrf: String::new(),
        request_id: request_id.to_owned(),
        path: String::new(),
        demo: false,
        province: String::new(),
    };
    let title = if status == StatusCode::NOT_FOUND {
        t(lang, "error.not_found_title")
    } else {
        t(lang, "error.title")
    };
    let message_key = format!("error.{code}");
    let message = t(lang, &message_key);
    let message = if message == message_key {
        t(lang, "error.internal")
    } else {
        message
    };
    ErrorPage { page: &page, title, message }
        .render()
        .unwrap_or_else(|_| format!("<!doctype html><html lang=\"vi\"><title>{title}</title><h1>{title}</h1><p>{request_id}</p></html>"))
}

/// `GET /lang/{code}`: remembers the language for a year and goes back.
pub async fn switch_language(
    State(state): State<AppState>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let lang =
        Lang::from_code(&code).ok_or(WebError::Status(StatusCode::NOT_FOUND, "not_found"))?;
    // Only same-site referrers are followed back, so this cannot become an open redirect.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| {
            r.strip_prefix(state.platform.config.server.public_url.as_str())
                .or_else(|| same_host_path(r, &headers))
        })
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/")
        .to_owned();
    let cookie = set_cookie(
        LANG_COOKIE,
        lang.code(),
        365 * 86_400,
        state.platform.config.security.secure_cookies,
        false,
    );
    let mut response = Redirect::to(&back).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

fn same_host_path<'a>(referer: &'a str, headers: &HeaderMap) -> Option<&'a str> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    referer
        .strip_prefix("http://")
        .or_else(|| referer.strip_prefix("https://"))?
        .strip_prefix(host)
}

const APP_CSS: &str = include_str!("../../assets/app.css");
const FAVICON: &str = include_str!("../../assets/favicon.svg");
const APP_JS: &str = include_str!("../../assets/app.js");

pub async fn static_asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response()
}

/// Shows a form again with the translated message of `error` and status 4xx.
pub fn error_message(lang: Lang, error: &WebError) -> Option<String> {
    match error {
        WebError::Platform(e) => {
            let code = e.code();
            if code == tinhso_core::ErrorCode::Internal {
                return None;
            }
            let base = t(lang, &format!("error.{}", code.as_str())).to_owned();
            match e {
                // Domain rule details name the broken rule (e.g. the agency identifier's
                // shape); they are shown to officials in admin forms.
                tinhso_platform::Error::Domain(d) if d.rule.is_some() => {
                    Some(format!("{base} {}", t(lang, d.rule.unwrap_or_default())))
                }
                // Other details are English and meant for logs and API clients; the UI shows
                // them only where they say which value was wrong.
                tinhso_platform::Error::Domain(d)
                    if matches!(
                        code,
                        tinhso_core::ErrorCode::InvalidInput | tinhso_core::ErrorCode::Conflict
                    ) =>
                {
                    Some(format!("{base} ({})", d.detail))
                }
                _ => Some(base),
            }
        }
        _ => None,
    }
}
