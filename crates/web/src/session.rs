//! Cookies, the current viewer, and CSRF protection.
//!
//! The session cookie holds a random token (the database keeps only its digest) and is
//! `HttpOnly`, `SameSite=Lax` and `Secure`. CSRF tokens are an HMAC, under the installation's
//! signing key, of what binds the form to its browser: the session token once logged in, or
//! a random pre-session cookie on the login form. Every form carries one and every unsafe
//! request is checked, so another site can neither post our forms nor read the token.

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{HeaderMap, Method, header, request::Parts};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::net::SocketAddr;
use tinhso_core::access::Role;
use tinhso_core::{DomainError, ErrorCode};
use tinhso_platform::identity::{SessionInfo, session_from_token};
use tinhso_platform::{Caller, Ctx};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::Lang;
use crate::middleware::RequestId;

pub const SESSION_COOKIE: &str = "tinhso_session";
pub const PRE_SESSION_COOKIE: &str = "tinhso_pre";
pub const LANG_COOKIE: &str = "tinhso_lang";

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age` of 0 deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_s: i64,
    secure: bool,
    http_only: bool,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; SameSite=Lax; Max-Age={max_age_s}");
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    cookie
}

pub fn random_value() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Everything a handler needs to know about who is asking.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Option<SessionInfo>,
    pub lang: Lang,
    pub request_id: String,
    pub source_addr: String,
    pub now_ms: i64,
    /// The pre-session cookie value, if the browser has one.
    pub pre_session: Option<String>,
    pub session_token: Option<String>,
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let now_ms = state.platform.now_ms();
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let source_addr = client_address(
            peer,
            &parts.headers,
            &state.platform.config.server.trusted_proxies,
        );
        let lang = cookie_value(&parts.headers, LANG_COOKIE)
            .and_then(Lang::from_code)
            .unwrap_or_default();
        let session_token = cookie_value(&parts.headers, SESSION_COOKIE).map(str::to_owned);
        let session = match &session_token {
            Some(token) => session_from_token(&state.platform, token, now_ms).await?,
            None => None,
        };
        Ok(Self {
            session,
            lang,
            request_id,
            source_addr,
            now_ms,
            pre_session: cookie_value(&parts.headers, PRE_SESSION_COOKIE).map(str::to_owned),
            session_token,
        })
    }
}

impl Viewer {
    /// The service context of this request.
    pub fn ctx(&self) -> Ctx {
        let (actor, caller) = match &self.session {
            Some(s) if s.second_factor_done => (
                format!("user:{}", s.user.id),
                Caller::User(s.principal.clone()),
            ),
            Some(s) => (format!("user:{}", s.user.id), Caller::Anonymous),
            None => ("anonymous".into(), Caller::Anonymous),
        };
        Ctx {
            actor,
            caller,
            request_id: self.request_id.clone(),
            source_addr: self.source_addr.clone(),
            now_ms: self.now_ms,
        }
    }

    /// A fully logged-in user: second factor done, and TOTP enrolled if the roles demand it.
    /// Pages redirect to the step that is missing.
    pub fn require_user(&self) -> WebResult<&SessionInfo> {
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| WebError::Redirect("/login".into()))?;
        if !session.second_factor_done {
            return Err(WebError::Redirect("/login/totp".into()));
        }
        if needs_totp_enrolment(session) {
            return Err(WebError::Redirect("/account/totp".into()));
        }
        Ok(session)
    }

    /// A logged-in official (any role other than citizen).
    pub fn require_official(&self) -> WebResult<&SessionInfo> {
        let session = self.require_user()?;
        if roles_of(session).iter().all(|r| *r == Role::Citizen) {
            return Err(WebError::Status(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden",
            ));
        }
        Ok(session)
    }

    /// What binds a CSRF token to this browser.
    fn csrf_binding(&self) -> Option<String> {
        match (&self.session_token, &self.pre_session) {
            (Some(token), _) if self.session.is_some() => Some(format!("session:{token}")),
            (_, Some(pre)) => Some(format!("pre:{pre}")),
            _ => None,
        }
    }

    pub fn csrf_token(&self, key: &[u8]) -> String {
        self.csrf_binding()
            .map(|b| sign(key, &b))
            .unwrap_or_default()
    }

    /// Checks a submitted token; constant-time comparison through the MAC verifier.
    pub fn check_csrf(&self, key: &[u8], submitted: &str) -> WebResult<()> {
        let ok = self.csrf_binding().is_some_and(|binding| {
            let Ok(bytes) = hex::decode(submitted) else {
                return false;
            };
            mac(key, &binding).is_some_and(|m| m.verify_slice(&bytes).is_ok())
        });
        if ok {
            Ok(())
        } else {
            Err(DomainError::new(ErrorCode::CsrfRejected, "missing or invalid CSRF token").into())
        }
    }
}

/// The client's address: the TCP peer, unless the peer is a trusted reverse proxy, in which
/// case the nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    trusted: &[String],
) -> String {
    let Some(peer) = peer else {
        return String::new();
    };
    let is_trusted = |ip: &std::net::IpAddr| {
        trusted
            .iter()
            .any(|t| t.parse::<std::net::IpAddr>().is_ok_and(|t| t == *ip))
    };
    if !is_trusted(&peer) {
        return peer.to_string();
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .unwrap_or(peer)
        .to_string()
}

pub fn needs_totp_enrolment(session: &SessionInfo) -> bool {
    !session.user.totp_enabled
        && session
            .principal
            .grants
            .iter()
            .any(|g| g.role.requires_totp())
}

fn mac(key: &[u8], binding: &str) -> Option<Hmac<Sha256>> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).ok()?;
    m.update(b"csrf:");
    m.update(binding.as_bytes());
    Some(m)
}

fn sign(key: &[u8], binding: &str) -> String {
    mac(key, binding)
        .map(|m| hex::encode(m.finalize().into_bytes()))
        .unwrap_or_default()
}

/// Unsafe methods are the ones CSRF protection applies to.
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The roles of a session in display order, for navigation and the home page.
pub fn roles_of(session: &SessionInfo) -> Vec<Role> {
    let mut roles: Vec<Role> = session.principal.grants.iter().map(|g| g.role).collect();
    roles.sort();
    roles.dedup();
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 10.0.0.5".parse().unwrap());
        let trusted = vec!["10.0.0.5".to_owned(), "127.0.0.1".to_owned()];
        let proxy = "127.0.0.1".parse().ok();
        assert_eq!(client_address(proxy, &headers, &trusted), "203.0.113.9");
        let stranger = "198.51.100.7".parse().ok();
        assert_eq!(
            client_address(stranger, &headers, &trusted),
            "198.51.100.7",
            "a spoofed header from an untrusted peer is ignored"
        );
        assert_eq!(
            client_address(proxy, &HeaderMap::new(), &trusted),
            "127.0.0.1"
        );
    }
}
