//! The national public-service portal port (Cổng DVCQG integration API, vn-standards §5.5)
//! and its HTTP adapter.
//!
//! The port is generic — one service call with a JSON body `{"service": …}` — because the
//! same login-then-call protocol serves the one-stop shop (`DongBoHoSoMC`,
//! `CapNhatTienDoHoSoMC`) and the systems still to come (`DongBoHoiDap` for citizen feedback,
//! catalogue look-ups); the payloads belong to the systems that build them.
//!
//! Protocol: `POST {url}{auth_path}` with `{username, password}` answers
//! `{session, error_code: 0}`; each service call is `POST {url}{service_path}` with the
//! session in the `session` header (how the session travels is not in the published
//! sources; it is decided here, in one place) and the province's `MaDinhDanhDV` added to the
//! body. Success is `error_code` `"00"` or `0`.
//!
//! Failures are sorted for the outbox: the portal unreachable, slow or failing (5xx, 408,
//! 429), or refusing our credentials, is [`PortalError::Retry`] — the message waits, an
//! operator can fix the password; the portal refusing the request itself (another 4xx, or a
//! non-success `error_code` even with a fresh session) is [`PortalError::Permanent`]. The
//! session is cached and renewed once when a call is refused, since an expired session
//! is the usual reason and the portal's error codes are not documented.

use async_trait::async_trait;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::outbox::DeliveryError;

/// Why a call to the portal failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalError {
    /// Try again later (unreachable, overloaded, credentials refused).
    Retry(String),
    /// The portal refuses this request; repeating it cannot help.
    Permanent(String),
}

impl std::fmt::Display for PortalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Retry(e) | Self::Permanent(e) => write!(f, "{e}"),
        }
    }
}

impl From<PortalError> for DeliveryError {
    fn from(e: PortalError) -> Self {
        match e {
            PortalError::Retry(e) => DeliveryError::Retry(e),
            PortalError::Permanent(e) => DeliveryError::Permanent(e),
        }
    }
}

#[async_trait]
pub trait NationalPortal: Send + Sync + std::fmt::Debug {
    /// Calls one service; `request` is the body (`{"service": …, …}`). Returns the portal's
    /// answer on success.
    async fn call(&self, request: &Value) -> std::result::Result<Value, PortalError>;
}

/// The portal described by `config.national_portal`, or `None` when it is disabled.
pub fn from_config(config: &Config) -> Result<Option<Arc<dyn NationalPortal>>> {
    if !config.national_portal.enabled {
        return Ok(None);
    }
    Ok(Some(Arc::new(HttpNationalPortal::new(config)?)))
}

/// The HTTP adapter.
#[derive(Debug)]
pub struct HttpNationalPortal {
    client: reqwest::Client,
    auth_url: String,
    service_url: String,
    username: String,
    password: String,
    agency_code: String,
    /// The cached session; the lock also keeps concurrent callers from logging in at once.
    session: tokio::sync::Mutex<Option<String>>,
}

/// What one service call came back with.
enum Answer {
    Success(Value),
    /// HTTP 401/403: the session (or the account) is not accepted.
    Unauthorised(String),
    /// HTTP success with a non-success `error_code`.
    Refused(String),
    Transient(String),
    Invalid(String),
}

impl HttpNationalPortal {
    pub fn new(config: &Config) -> Result<Self> {
        let c = &config.national_portal;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(c.timeout_seconds))
            .build()
            .map_err(|e| Error::Config(format!("national portal client: {e}")))?;
        let base = c.url.trim_end_matches('/');
        Ok(Self {
            client,
            auth_url: format!("{base}{}", c.auth_path),
            service_url: format!("{base}{}", c.service_path),
            username: c.username.clone(),
            password: c.password.clone(),
            agency_code: c.agency_code.clone(),
            session: tokio::sync::Mutex::new(None),
        })
    }

    /// The cached session, or a new one.
    async fn session(&self, renew_after: Option<&str>) -> std::result::Result<String, PortalError> {
        let mut cached = self.session.lock().await;
        if let Some(session) = cached.as_ref()
            && renew_after != Some(session.as_str())
        {
            return Ok(session.clone());
        }
        *cached = None;
        let session = self.login().await?;
        *cached = Some(session.clone());
        Ok(session)
    }

    async fn login(&self) -> std::result::Result<String, PortalError> {
        let refused = |detail: String| {
            PortalError::Retry(format!(
                "national portal refused the login of `{}` ({detail}); check national_portal.username and national_portal.password",
                self.username
            ))
        };
        let response = self
            .client
            .post(&self.auth_url)
            .json(&serde_json::json!({ "username": self.username, "password": self.password }))
            .send()
            .await
            .map_err(|e| {
                PortalError::Retry(format!(
                    "national portal unreachable at login: {}",
                    e.without_url()
                ))
            })?;
        let status = response.status();
        if status.is_server_error() {
            return Err(PortalError::Retry(format!(
                "national portal login answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(refused(format!("HTTP {status}")));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| PortalError::Retry(format!("national portal login answer: {e}")))?;
        if !is_success_code(&body["error_code"]) {
            return Err(refused(describe(&body)));
        }
        match body["session"].as_str() {
            Some(s) if !s.is_empty() => Ok(s.to_owned()),
            _ => Err(refused("no session in the answer".into())),
        }
    }

    async fn post(&self, session: &str, request: &Value) -> Answer {
        let mut body = request.clone();
        if let Some(object) = body.as_object_mut() {
            object.insert("MaDinhDanhDV".into(), Value::from(self.agency_code.clone()));
        }
        let response = match self
            .client
            .post(&self.service_url)
            .header("session", session)
            .json(&body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Answer::Transient(format!(
                    "national portal unreachable: {}",
                    e.without_url()
                ));
            }
        };
        let status = response.status();
        let service = request["service"].as_str().unwrap_or("?").to_owned();
        if matches!(status.as_u16(), 401 | 403) {
            return Answer::Unauthorised(format!("{service}: HTTP {status}"));
        }
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            return Answer::Transient(format!("{service}: national portal answered {status}"));
        }
        if !status.is_success() {
            return Answer::Invalid(format!("{service}: national portal answered {status}"));
        }
        match response.json::<Value>().await {
            Err(e) => Answer::Transient(format!("{service}: unreadable answer: {e}")),
            Ok(answer) if is_success_code(&answer["error_code"]) => Answer::Success(answer),
            Ok(answer) => Answer::Refused(format!("{service}: {}", describe(&answer))),
        }
    }
}

#[async_trait]
impl NationalPortal for HttpNationalPortal {
    async fn call(&self, request: &Value) -> std::result::Result<Value, PortalError> {
        let session = self.session(None).await?;
        let first = match self.post(&session, request).await {
            Answer::Success(v) => return Ok(v),
            Answer::Transient(e) => return Err(PortalError::Retry(e)),
            Answer::Invalid(e) => return Err(PortalError::Permanent(e)),
            Answer::Unauthorised(e) | Answer::Refused(e) => e,
        };
        // Once with a fresh session: an expired one is the usual cause.
        tracing::info!(error = %first, "national portal refused a call; logging in again");
        let session = self.session(Some(&session)).await?;
        match self.post(&session, request).await {
            Answer::Success(v) => Ok(v),
            Answer::Transient(e) | Answer::Unauthorised(e) => Err(PortalError::Retry(e)),
            Answer::Invalid(e) | Answer::Refused(e) => Err(PortalError::Permanent(e)),
        }
    }
}

/// `error_code` "00", "0" or 0.
fn is_success_code(code: &Value) -> bool {
    match code {
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => matches!(s.trim(), "0" | "00"),
        _ => false,
    }
}

/// `error_code N: message` of an answer, bounded.
fn describe(answer: &Value) -> String {
    let message = ["message", "error_message", "msg"]
        .iter()
        .find_map(|k| answer[*k].as_str())
        .unwrap_or("");
    let text = format!("error_code {}: {message}", answer["error_code"]);
    text.chars().take(300).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_codes() {
        for ok in [
            serde_json::json!(0),
            serde_json::json!("00"),
            serde_json::json!("0"),
        ] {
            assert!(is_success_code(&ok), "{ok}");
        }
        for bad in [
            serde_json::json!(1),
            serde_json::json!("-1"),
            Value::Null,
            serde_json::json!("01"),
        ] {
            assert!(!is_success_code(&bad), "{bad}");
        }
    }
}
