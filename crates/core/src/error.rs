//! Stable error codes shared by every system.
//!
//! A code is part of the public API: clients and the UI's translation table key on it, so a
//! code is never renamed once released. The detail string is for operators and logs; the UI
//! shows the translated message of the code, never the detail of an internal error.

use std::fmt;

/// One stable, machine-readable reason for a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    InvalidInput,
    InvalidAgencyId,
    NotFound,
    Conflict,
    Unauthenticated,
    InvalidCredentials,
    AccountLocked,
    TotpRequired,
    InvalidTotp,
    Forbidden,
    CsrfRejected,
    PayloadTooLarge,
    RateLimited,
    /// A service the request needs (e.g. the malware scanner) cannot be reached; the request
    /// was not carried out and may be retried.
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The stable code string exposed in the API (`{"error": {"code": …}}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidInput => "invalid_input",
            Self::InvalidAgencyId => "invalid_agency_id",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidCredentials => "invalid_credentials",
            Self::AccountLocked => "account_locked",
            Self::TotpRequired => "totp_required",
            Self::InvalidTotp => "invalid_totp",
            Self::Forbidden => "forbidden",
            Self::CsrfRejected => "csrf_rejected",
            Self::PayloadTooLarge => "payload_too_large",
            Self::RateLimited => "rate_limited",
            Self::Unavailable => "unavailable",
            Self::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure of a domain rule: a stable code plus a human-readable detail (English, for logs
/// and API clients; the UI translates the code instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {detail}")]
pub struct DomainError {
    pub code: ErrorCode,
    pub detail: String,
    /// Stable key of the exact rule that was broken (e.g. `agency_id.level1`), which the UI
    /// translates; `None` when the code says it all.
    pub rule: Option<&'static str>,
}

impl DomainError {
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
            rule: None,
        }
    }

    pub fn with_rule(mut self, rule: &'static str) -> Self {
        self.rule = Some(rule);
        self
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, detail)
    }

    pub fn forbidden() -> Self {
        Self::new(ErrorCode::Forbidden, "access denied")
    }
}
