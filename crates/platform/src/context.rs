//! Who is acting, from where, and when: passed to every service call so that the audit record
//! written beside each change is complete, and so that "now" comes from one clock port.

use tinhso_core::access::{Action, Principal, Target, authorize};
use tinhso_core::{DomainError, ErrorCode};

/// Who is behind a call.
#[derive(Debug, Clone)]
pub enum Caller {
    /// The operator at the command line or the platform itself: it has the database and the
    /// key files already, so access rules do not apply (every change is still audited).
    Local,
    User(Principal),
    Anonymous,
}

#[derive(Debug, Clone)]
pub struct Ctx {
    /// `user:42`, `token:7`, `cli`, `system`, `anonymous`.
    pub actor: String,
    pub caller: Caller,
    pub request_id: String,
    pub source_addr: String,
    pub now_ms: i64,
}

impl Ctx {
    /// Local administration from the command line: the operator has the database itself, so
    /// access checks do not apply, but every change is still audited as `cli`.
    pub fn cli(now_ms: i64) -> Self {
        Self {
            actor: "cli".into(),
            caller: Caller::Local,
            request_id: format!("cli-{now_ms}"),
            source_addr: "local".into(),
            now_ms,
        }
    }

    pub fn system(now_ms: i64) -> Self {
        Self {
            actor: "system".into(),
            ..Self::cli(now_ms)
        }
    }
}

impl Ctx {
    /// Deny by default: local callers pass, users pass only through the core's access rules,
    /// anonymous callers never.
    pub fn authorize(&self, action: Action, target: &Target<'_>) -> Result<(), DomainError> {
        match &self.caller {
            Caller::Local => Ok(()),
            Caller::User(principal) => authorize(principal, action, target),
            Caller::Anonymous => Err(DomainError::new(ErrorCode::Unauthenticated, "log in first")),
        }
    }

    pub fn principal(&self) -> Option<&Principal> {
        match &self.caller {
            Caller::User(p) => Some(p),
            _ => None,
        }
    }
}

/// The clock port: production reads the system clock; tests may pin it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now_ms(&self) -> i64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}
