//! Document types with their abbreviations (Phụ lục III), urgency (độ khẩn, edXML
//! `OtherInfo/Priority` 0–4) and confidentiality (độ mật).
//!
//! Invariant: every type has a stable English code (the API's) and the decree's Vietnamese
//! name; only Công văn has no abbreviation, so its notation is built differently
//! ([`crate::domain::numbering::notation`]).

use serde::{Deserialize, Serialize};
use tinhso_core::DomainError;

use super::invalid;

/// One administrative document type of Điều 7 / Phụ lục III.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocType {
    pub code: &'static str,
    /// The type abbreviation of the notation (`QĐ`, `KH`); `None` for Công văn.
    pub abbreviation: Option<&'static str>,
    pub name_vi: &'static str,
}

/// Phụ lục III, in the decree's order, then Công văn.
pub const DOC_TYPES: &[DocType] = &[
    t("resolution", "NQ", "Nghị quyết"),
    t("decision", "QĐ", "Quyết định"),
    t("directive", "CT", "Chỉ thị"),
    t("statute", "QC", "Quy chế"),
    t("regulation", "QyĐ", "Quy định"),
    t("communique", "TC", "Thông cáo"),
    t("notice", "TB", "Thông báo"),
    t("guidance", "HD", "Hướng dẫn"),
    t("programme", "CTr", "Chương trình"),
    t("plan", "KH", "Kế hoạch"),
    t("scheme", "PA", "Phương án"),
    t("proposal", "ĐA", "Đề án"),
    t("project", "DA", "Dự án"),
    t("report", "BC", "Báo cáo"),
    t("minutes", "BB", "Biên bản"),
    t("submission", "TTr", "Tờ trình"),
    t("contract", "HĐ", "Hợp đồng"),
    t("telegram", "CĐ", "Công điện"),
    t("memorandum", "BGN", "Bản ghi nhớ"),
    t("agreement", "BTT", "Bản thỏa thuận"),
    t("authorisation", "GUQ", "Giấy ủy quyền"),
    t("invitation", "GM", "Giấy mời"),
    t("introduction", "GGT", "Giấy giới thiệu"),
    t("leave", "GNP", "Giấy nghỉ phép"),
    t("dispatch_slip", "PG", "Phiếu gửi"),
    t("transfer_slip", "PC", "Phiếu chuyển"),
    t("notice_slip", "PB", "Phiếu báo"),
    DocType {
        code: "official_letter",
        abbreviation: None,
        name_vi: "Công văn",
    },
];

const fn t(code: &'static str, abbreviation: &'static str, name_vi: &'static str) -> DocType {
    DocType {
        code,
        abbreviation: Some(abbreviation),
        name_vi,
    }
}

impl DocType {
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        DOC_TYPES
            .iter()
            .find(|d| d.code == code)
            .copied()
            .ok_or_else(|| {
                invalid(
                    "document.type.unknown",
                    format!("unknown document type `{code}`"),
                )
            })
    }

    pub fn is_official_letter(&self) -> bool {
        self.abbreviation.is_none()
    }
}

/// Độ khẩn; the discriminant is edXML's `Priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    #[default]
    Normal = 0,
    Urgent = 1,
    VeryUrgent = 2,
    Flash = 3,
    FlashTimed = 4,
}

impl Urgency {
    pub const ALL: [Urgency; 5] = [
        Self::Normal,
        Self::Urgent,
        Self::VeryUrgent,
        Self::Flash,
        Self::FlashTimed,
    ];

    pub fn priority(self) -> i64 {
        self as i64
    }

    pub fn from_priority(p: i64) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|u| u.priority() == p)
            .ok_or_else(|| {
                invalid(
                    "document.urgency.unknown",
                    format!("priority {p} is not 0–4"),
                )
            })
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Normal => "Thường",
            Self::Urgent => "Khẩn",
            Self::VeryUrgent => "Thượng khẩn",
            Self::Flash => "Hỏa tốc",
            Self::FlashTimed => "Hỏa tốc hẹn giờ",
        }
    }
}

/// Độ mật. Anything but `Normal` is a state secret: numbered in its own series and shown
/// only to the people the access rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Confidentiality {
    #[default]
    Normal = 0,
    Confidential = 1,
    Secret = 2,
    TopSecret = 3,
}

impl Confidentiality {
    pub const ALL: [Confidentiality; 4] = [
        Self::Normal,
        Self::Confidential,
        Self::Secret,
        Self::TopSecret,
    ];

    pub fn level(self) -> i64 {
        self as i64
    }

    pub fn from_level(l: i64) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|c| c.level() == l)
            .ok_or_else(|| {
                invalid(
                    "document.confidentiality.unknown",
                    format!("confidentiality level {l} is not 0–3"),
                )
            })
    }

    pub fn is_secret(self) -> bool {
        self != Self::Normal
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Normal => "Thường",
            Self::Confidential => "Mật",
            Self::Secret => "Tối mật",
            Self::TopSecret => "Tuyệt mật",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_but_official_letter_has_an_abbreviation() {
        assert_eq!(DOC_TYPES.len(), 28);
        let without: Vec<_> = DOC_TYPES
            .iter()
            .filter(|d| d.abbreviation.is_none())
            .map(|d| d.name_vi)
            .collect();
        assert_eq!(without, ["Công văn"]);
        assert_eq!(DocType::parse("plan").unwrap().abbreviation, Some("KH"));
        assert_eq!(DocType::parse("decision").unwrap().abbreviation, Some("QĐ"));
        let codes: std::collections::BTreeSet<_> = DOC_TYPES.iter().map(|d| d.code).collect();
        assert_eq!(codes.len(), DOC_TYPES.len(), "codes are unique");
    }

    #[test]
    fn unknown_type_has_a_rule() {
        let e = DocType::parse("memo").unwrap_err();
        assert_eq!(e.rule, Some("document.type.unknown"));
    }

    #[test]
    fn urgency_is_edxml_priority() {
        assert_eq!(Urgency::Flash.priority(), 3);
        assert_eq!(Urgency::from_priority(4).unwrap(), Urgency::FlashTimed);
        assert_eq!(Urgency::from_priority(1).unwrap().name_vi(), "Khẩn");
        assert_eq!(
            Urgency::from_priority(5).unwrap_err().rule,
            Some("document.urgency.unknown")
        );
    }

    #[test]
    fn only_normal_is_not_secret() {
        assert!(!Confidentiality::Normal.is_secret());
        for c in &Confidentiality::ALL[1..] {
            assert!(c.is_secret());
        }
        assert_eq!(
            Confidentiality::from_level(3).unwrap().name_vi(),
            "Tuyệt mật"
        );
        assert!(Confidentiality::from_level(4).is_err());
    }
}
