//! Account identifiers of citizens and businesses.
//!
//! Citizens are keyed by the 12-digit personal identification number (số định danh cá nhân),
//! businesses by their tax code (mã số thuế: 10 digits, or 10 digits, a dash and 3 digits for
//! a branch). Both are checked for shape here so that a typo never creates a second account.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    Official,
    Citizen,
    Business,
    Service,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Official => "official",
            Self::Citizen => "citizen",
            Self::Business => "business",
            Self::Service => "service",
        }
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        match s {
            "official" => Ok(Self::Official),
            "citizen" => Ok(Self::Citizen),
            "business" => Ok(Self::Business),
            "service" => Ok(Self::Service),
            other => Err(DomainError::invalid(format!(
                "unknown account kind `{other}`"
            ))),
        }
    }
}

/// Validates a 12-digit personal identification number.
pub fn check_personal_id(value: &str) -> Result<(), DomainError> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "a personal ID number has exactly 12 digits",
        ))
    }
}

/// Validates a tax code: `NNNNNNNNNN` or `NNNNNNNNNN-NNN`.
pub fn check_tax_code(value: &str) -> Result<(), DomainError> {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let ok = match value.split_once('-') {
        None => digits(value, 10),
        Some((main, branch)) => digits(main, 10) && digits(branch, 3),
    };
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "a tax code has 10 digits, or 10 digits, a dash and 3 digits",
        ))
    }
}

/// Minimum rules for a local password; long passphrases are encouraged, not forbidden.
pub fn check_password_strength(password: &str) -> Result<(), DomainError> {
    let length = password.chars().count();
    if length < 10 {
        return Err(DomainError::invalid(
            "a password has at least 10 characters",
        ));
    }
    if length > 256 {
        return Err(DomainError::invalid(
            "a password has at most 256 characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tax_codes() {
        assert!(check_personal_id("001099000001").is_ok());
        assert!(check_personal_id("00109900000").is_err());
        assert!(check_personal_id("00109900000a").is_err());
        assert!(check_tax_code("0101234567").is_ok());
        assert!(check_tax_code("0101234567-001").is_ok());
        assert!(check_tax_code("0101234567-01").is_err());
        assert!(check_password_strength("short").is_err());
        assert!(check_password_strength("demo-Tinhso-2026").is_ok());
    }
}
