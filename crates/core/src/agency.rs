//! Agency identifiers (mã định danh cơ quan, QĐ 20/2020/QĐ-TTg) and the agency tree.
//!
//! An identifier has the shape `NNN.NN.NN.XNN` (13 characters): read right to left, the last
//! group names the level-1 unit (a capital letter and two digits, `G..` central agencies,
//! `H..` provinces), then level 2, level 3 and level 4. Validation names the exact rule that
//! failed so an administrator can correct the input without guessing.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{DomainError, ErrorCode};

/// A validated 13-character agency identifier such as `000.00.00.H32`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgencyId(String);

impl AgencyId {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let value = raw.trim();
        check_agency_id(value).map_err(|rule| {
            DomainError::new(
                ErrorCode::InvalidAgencyId,
                format!("agency identifier `{value}` is invalid: {rule}"),
            )
            .with_rule(rule.key())
        })?;
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for AgencyId {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<AgencyId> for String {
    fn from(value: AgencyId) -> Self {
        value.0
    }
}

/// The rule an identifier broke, phrased for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgencyIdRule {
    Length,
    FourGroups,
    Level4Digits,
    Level3Digits,
    Level2Digits,
    Level1Shape,
}

impl AgencyIdRule {
    /// Stable key of the rule, used by the UI translation table.
    pub fn key(self) -> &'static str {
        match self {
            Self::Length => "agency_id.length",
            Self::FourGroups => "agency_id.groups",
            Self::Level4Digits => "agency_id.level4",
            Self::Level3Digits => "agency_id.level3",
            Self::Level2Digits => "agency_id.level2",
            Self::Level1Shape => "agency_id.level1",
        }
    }
}

impl fmt::Display for AgencyIdRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Length => "it must be exactly 13 characters (NNN.NN.NN.XNN)",
            Self::FourGroups => "it must have four groups separated by dots (NNN.NN.NN.XNN)",
            Self::Level4Digits => "the first group (level 4) must be 3 digits",
            Self::Level3Digits => "the second group (level 3) must be 2 digits",
            Self::Level2Digits => "the third group (level 2) must be 2 digits",
            Self::Level1Shape => {
                "the last group (level 1) must be a capital letter followed by 2 digits"
            }
        })
    }
}

fn all_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the shape of an identifier and returns the first rule it breaks.
pub fn check_agency_id(value: &str) -> Result<(), AgencyIdRule> {
    if value.chars().count() != 13 {
        return Err(AgencyIdRule::Length);
    }
    let groups: Vec<&str> = value.split('.').collect();
    let [l4, l3, l2, l1] = groups.as_slice() else {
        return Err(AgencyIdRule::FourGroups);
    };
    if !all_digits(l4, 3) {
        return Err(AgencyIdRule::Level4Digits);
    }
    if !all_digits(l3, 2) {
        return Err(AgencyIdRule::Level3Digits);
    }
    if !all_digits(l2, 2) {
        return Err(AgencyIdRule::Level2Digits);
    }
    let mut l1_chars = l1.chars();
    let letter_ok = l1_chars.next().is_some_and(|c| c.is_ascii_uppercase());
    if !(letter_ok && l1.len() == 3 && l1_chars.all(|c| c.is_ascii_digit())) {
        return Err(AgencyIdRule::Level1Shape);
    }
    Ok(())
}

/// Materialised path of an agency in the tree (`/1/4/17/`): the subtree of agency A is every
/// agency whose path starts with A's path. Access scopes are checked with this, so a grant
/// on a department covers its divisions and nothing beside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AgencyPath(pub String);

impl AgencyPath {
    pub fn root(id: i64) -> Self {
        Self(format!("/{id}/"))
    }

    pub fn child(&self, id: i64) -> Self {
        Self(format!("{}{id}/", self.0))
    }

    /// A root agency (a province's people's committee): exactly one level in its path.
    pub fn is_root(&self) -> bool {
        self.0.len() > 2 && self.0.matches('/').count() == 2
    }

    /// True when `self` is `ancestor` or lies below it.
    pub fn is_within(&self, ancestor: &AgencyPath) -> bool {
        self.0.starts_with(&ancestor.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_identifiers() {
        for id in [
            "000.00.00.G22",
            "000.00.00.H41",
            "000.00.01.H53",
            "999.010.01.H22",
        ] {
            let ok = AgencyId::parse(id).is_ok();
            assert_eq!(ok, id.len() == 13, "{id}");
        }
    }

    #[test]
    fn names_the_broken_rule() {
        assert_eq!(check_agency_id("000.00.00.H5"), Err(AgencyIdRule::Length));
        assert_eq!(
            check_agency_id("000-00-00-H56"),
            Err(AgencyIdRule::FourGroups)
        );
        assert_eq!(
            check_agency_id("0a0.00.00.H56"),
            Err(AgencyIdRule::Level4Digits)
        );
        assert_eq!(
            check_agency_id("000.0x.00.H56"),
            Err(AgencyIdRule::Level3Digits)
        );
        assert_eq!(
            check_agency_id("000.00.0x.H56"),
            Err(AgencyIdRule::Level2Digits)
        );
        assert_eq!(
            check_agency_id("000.00.00.h56"),
            Err(AgencyIdRule::Level1Shape)
        );
        assert_eq!(
            check_agency_id("000.00.00.HH6"),
            Err(AgencyIdRule::Level1Shape)
        );
        let err = AgencyId::parse("000.00.00.h56").unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidAgencyId);
        assert!(err.detail.contains("capital letter"));
    }

    #[test]
    fn subtree_by_path() {
        let province = AgencyPath::root(1);
        let dept = province.child(4);
        let division = dept.child(17);
        let other = province.child(5);
        assert!(division.is_within(&province));
        assert!(division.is_within(&dept));
        assert!(!division.is_within(&other));
        assert!(!AgencyPath::root(14).is_within(&AgencyPath::root(1)));
        assert!(province.is_root() && !dept.is_root() && !AgencyPath("/".into()).is_root());
    }
}
