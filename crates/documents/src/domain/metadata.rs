//! The metadata of a document and of a work file, with the field lengths of Phụ lục VI.
//!
//! Lengths count characters (not bytes: Vietnamese letters are several bytes in UTF-8). Each
//! broken rule has its own key, `document.<field>.<rule>` or `work_file.<field>.<rule>`, so
//! a client can point at the field.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tinhso_core::DomainError;
use tinhso_core::agency::AgencyId;

use super::invalid;
use super::types::{Confidentiality, DocType, Urgency};

/// What describes a document, incoming or outgoing (Phụ lục VI's core fields).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Metadata {
    /// A [`DocType`] code (`plan`, `official_letter`, …).
    pub type_code: String,
    /// Trích yếu (Subject, 500).
    pub subject: String,
    /// CodeNumber (11): the number as written on an incoming document; outgoing documents get
    /// theirs at release.
    pub code_number: String,
    /// CodeNotation (30).
    pub code_notation: String,
    /// IssuedDate.
    pub issued_date: Option<NaiveDate>,
    /// The issuing agency's identifier (OrganId, 13), when it has one.
    pub organ_id: String,
    /// OrganName (200).
    pub organ_name: String,
    /// SignerInfo/Position (100).
    pub signer_position: String,
    /// SignerInfo/FullName (50).
    pub signer_name: String,
    /// PageAmount (3 digits).
    pub page_amount: i64,
    /// IssuedAmount (3 digits): copies issued.
    pub issued_amount: i64,
    /// Language (30).
    pub language: String,
    /// Description (500).
    pub description: String,
    /// DueDate: hạn trả lời / hạn xử lý asked by the issuer.
    pub due_date: Option<NaiveDate>,
    /// ToPlaces (1000 in all): "Nơi nhận" for information.
    pub to_places: Vec<String>,
    pub urgency: Urgency,
    pub confidentiality: Confidentiality,
}

/// Checks that `value` has at most `max` characters.
pub fn check_len(value: &str, max: usize, rule: &'static str) -> Result<(), DomainError> {
    let n = value.chars().count();
    if n > max {
        return Err(invalid(
            rule,
            format!("{n} characters where at most {max} are allowed"),
        ));
    }
    Ok(())
}

fn required(value: &str, rule: &'static str) -> Result<(), DomainError> {
    if value.trim().is_empty() {
        return Err(invalid(rule, "this field is required"));
    }
    Ok(())
}

fn check_amount(value: i64, rule: &'static str) -> Result<(), DomainError> {
    if !(0..=999).contains(&value) {
        return Err(invalid(rule, format!("{value} is not 0–999")));
    }
    Ok(())
}

impl Metadata {
    /// The checks every document passes; returns its type.
    pub fn check_common(&self) -> Result<DocType, DomainError> {
        let doc_type = DocType::parse(&self.type_code)?;
        required(&self.subject, "document.subject.required")?;
        check_len(&self.subject, 500, "document.subject.too_long")?;
        check_len(&self.code_number, 11, "document.code_number.too_long")?;
        check_len(&self.code_notation, 30, "document.code_notation.too_long")?;
        check_len(&self.organ_name, 200, "document.organ_name.too_long")?;
        check_len(
            &self.signer_position,
            100,
            "document.signer_position.too_long",
        )?;
        check_len(&self.signer_name, 50, "document.signer_name.too_long")?;
        check_len(&self.language, 30, "document.language.too_long")?;
        check_len(&self.description, 500, "document.description.too_long")?;
        check_amount(self.page_amount, "document.page_amount.out_of_range")?;
        check_amount(self.issued_amount, "document.issued_amount.out_of_range")?;
        if !self.organ_id.is_empty() {
            check_len(&self.organ_id, 13, "document.organ_id.too_long")?;
            AgencyId::parse(&self.organ_id)
                .map_err(|e| invalid("document.organ_id.invalid", e.detail))?;
        }
        let places: usize = self.to_places.iter().map(|p| p.chars().count() + 1).sum();
        if places > 1000 {
            return Err(invalid(
                "document.to_places.too_long",
                format!("{places} characters of recipients where at most 1000 are allowed"),
            ));
        }
        for place in &self.to_places {
            check_len(place, 150, "document.to_places.too_long")?;
        }
        Ok(doc_type)
    }

    /// An incoming document names its issuer, its date and (when it has one) its number
    /// with its notation.
    pub fn check_incoming(&self) -> Result<DocType, DomainError> {
        let doc_type = self.check_common()?;
        required(&self.organ_name, "document.organ_name.required")?;
        if self.issued_date.is_none() {
            return Err(invalid(
                "document.issued_date.required",
                "the document's date is required",
            ));
        }
        if self.code_number.trim().is_empty() != self.code_notation.trim().is_empty() {
            return Err(invalid(
                "document.code.incomplete",
                "a number needs its notation and a notation its number",
            ));
        }
        Ok(doc_type)
    }

    /// A draft has no number yet: the system gives it at release.
    pub fn check_outgoing(&self) -> Result<DocType, DomainError> {
        let doc_type = self.check_common()?;
        if !self.code_number.is_empty() || !self.code_notation.is_empty() {
            return Err(invalid(
                "document.code.assigned_at_release",
                "an outgoing document gets its number and notation when it is released",
            ));
        }
        Ok(doc_type)
    }
}

/// A work file (hồ sơ công việc) with Phụ lục VI's file metadata.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct WorkFileMetadata {
    /// FileNotation (20): the file's symbol in the agency's file list (danh mục hồ sơ).
    pub file_notation: String,
    /// Title (500).
    pub title: String,
    /// Maintenance (30): thời hạn bảo quản, e.g. `Vĩnh viễn`, `10 năm`.
    pub maintenance: String,
    /// Rights (30): chế độ sử dụng.
    pub rights: String,
    /// Creator (30): người lập hồ sơ.
    pub creator: String,
    /// Language (50).
    pub language: String,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// PageTotal (4 digits).
    pub page_total: i64,
    /// Description (500).
    pub description: String,
}

impl WorkFileMetadata {
    pub fn check(&self) -> Result<(), DomainError> {
        required(&self.file_notation, "work_file.file_notation.required")?;
        check_len(&self.file_notation, 20, "work_file.file_notation.too_long")?;
        required(&self.title, "work_file.title.required")?;
        check_len(&self.title, 500, "work_file.title.too_long")?;
        check_len(&self.maintenance, 30, "work_file.maintenance.too_long")?;
        check_len(&self.rights, 30, "work_file.rights.too_long")?;
        check_len(&self.creator, 30, "work_file.creator.too_long")?;
        check_len(&self.language, 50, "work_file.language.too_long")?;
        check_len(&self.description, 500, "work_file.description.too_long")?;
        if !(0..=9999).contains(&self.page_total) {
            return Err(invalid("work_file.page_total.out_of_range", "0–9999 pages"));
        }
        if let (Some(start), Some(end)) = (self.start_date, self.end_date)
            && end < start
        {
            return Err(invalid(
                "work_file.end_date.before_start",
                "the file ends before it starts",
            ));
        }
        Ok(())
    }
}

/// FileCode of Phụ lục VI: `OrganId.FileCatalog(year).FileNotation`.
pub fn file_code(organ_id: &str, year: i32, file_notation: &str) -> String {
    format!("{organ_id}.{year}.{file_notation}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming() -> Metadata {
        Metadata {
            type_code: "plan".into(),
            subject: "Kế hoạch chuyển đổi số năm 2026".into(),
            code_number: "145".into(),
            code_notation: "KH-UBND".into(),
            issued_date: NaiveDate::from_ymd_opt(2026, 3, 2),
            organ_id: "000.00.00.H32".into(),
            organ_name: "Ủy ban nhân dân tỉnh Khánh Hòa".into(),
            ..Metadata::default()
        }
    }

    #[test]
    fn a_complete_incoming_document_passes() {
        assert_eq!(incoming().check_incoming().unwrap().code, "plan");
    }

    #[test]
    fn lengths_count_characters_and_name_the_field() {
        let mut m = incoming();
        // 500 Vietnamese letters are 1000 bytes and still fit.
        m.subject = "đ".repeat(500);
        assert!(m.check_incoming().is_ok());
        m.subject = "đ".repeat(501);
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.subject.too_long")
        );
        let mut m = incoming();
        m.code_number = "123456789012".into();
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.code_number.too_long")
        );
        let mut m = incoming();
        m.code_notation = "A".repeat(31);
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.code_notation.too_long")
        );
        let mut m = incoming();
        m.signer_name = "x".repeat(51);
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.signer_name.too_long")
        );
        let mut m = incoming();
        m.to_places = vec!["Sở Nội vụ".repeat(10); 12];
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.to_places.too_long")
        );
        let mut m = incoming();
        m.page_amount = 1000;
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.page_amount.out_of_range")
        );
    }

    #[test]
    fn incoming_needs_issuer_date_and_a_whole_code() {
        let mut m = incoming();
        m.organ_name.clear();
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.organ_name.required")
        );
        let mut m = incoming();
        m.issued_date = None;
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.issued_date.required")
        );
        let mut m = incoming();
        m.code_notation.clear();
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.code.incomplete")
        );
        let mut m = incoming();
        m.organ_id = "H32".into();
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.organ_id.invalid")
        );
        let mut m = incoming();
        m.subject = "  ".into();
        assert_eq!(
            m.check_incoming().unwrap_err().rule,
            Some("document.subject.required")
        );
    }

    #[test]
    fn outgoing_drafts_carry_no_number() {
        let mut m = incoming();
        assert_eq!(
            m.check_outgoing().unwrap_err().rule,
            Some("document.code.assigned_at_release")
        );
        m.code_number.clear();
        m.code_notation.clear();
        assert!(m.check_outgoing().is_ok());
    }

    #[test]
    fn work_file_metadata() {
        let mut f = WorkFileMetadata {
            file_notation: "VX.01".into(),
            title: "Hồ sơ chuyển đổi số 2026".into(),
            maintenance: "Vĩnh viễn".into(),
            start_date: NaiveDate::from_ymd_opt(2026, 1, 5),
            end_date: NaiveDate::from_ymd_opt(2026, 12, 30),
            ..WorkFileMetadata::default()
        };
        assert!(f.check().is_ok());
        assert_eq!(
            file_code("000.00.31.H32", 2026, &f.file_notation),
            "000.00.31.H32.2026.VX.01"
        );
        f.end_date = NaiveDate::from_ymd_opt(2025, 12, 30);
        assert_eq!(
            f.check().unwrap_err().rule,
            Some("work_file.end_date.before_start")
        );
        f.end_date = None;
        f.maintenance = "m".repeat(31);
        assert_eq!(
            f.check().unwrap_err().rule,
            Some("work_file.maintenance.too_long")
        );
    }
}
