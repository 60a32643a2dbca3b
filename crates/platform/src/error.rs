//! The error type of the platform layer: a domain failure with its stable code, or an
//! infrastructure failure (database, file system, configuration) that callers report as
//! `internal` without leaking details to the public.

use tinhso_core::{DomainError, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The stable code callers see. A unique-constraint violation is a conflict, not an
    /// internal error: it is how two racing requests for the same name are told apart.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Domain(e) => e.code,
            Self::Database(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                ErrorCode::Conflict
            }
            Self::Database(sqlx::Error::RowNotFound) => ErrorCode::NotFound,
            _ => ErrorCode::Internal,
        }
    }

    pub fn domain(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self::Domain(DomainError::new(code, detail))
    }
}
