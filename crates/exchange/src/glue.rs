//! Temporary glue between edXML packages and the documents system, until `mapping` (the
//! mapping module written beside this one) lands: a received package's header as the
//! documents system's Phụ lục VI metadata. Only what the receive pipeline needs; the full
//! mapping (both directions, every field) replaces it.

use chrono::NaiveDate;
use tinhso_documents::domain::metadata::Metadata;
use tinhso_documents::domain::types::{DOC_TYPES, Urgency};
use tinhso_edxml::DocumentPackage;

/// The metadata of a received document package, as the receiving register stores it.
pub fn received_metadata(package: &DocumentPackage) -> Metadata {
    let h = &package.message_header;
    let type_name = h
        .document_type
        .as_ref()
        .and_then(|t| t.type_name.as_deref())
        .unwrap_or("")
        .trim()
        .to_lowercase();
    let type_code = DOC_TYPES
        .iter()
        .find(|t| t.name_vi.to_lowercase() == type_name)
        .map_or("official_letter", |t| t.code);
    let date = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y/%m/%d").ok();
    let number = |s: Option<&String>| {
        s.and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or_default()
    };
    let other = h.other_info.as_ref();
    let signer = h.signer_info.as_ref();
    Metadata {
        type_code: type_code.to_owned(),
        subject: h.subject.clone().unwrap_or_default(),
        code_number: h
            .code
            .as_ref()
            .map(|c| c.code_number.clone())
            .unwrap_or_default(),
        code_notation: h
            .code
            .as_ref()
            .map(|c| c.code_notation.clone())
            .unwrap_or_default(),
        issued_date: h
            .promulgation_info
            .as_ref()
            .and_then(|p| date(&p.promulgation_date)),
        organ_id: h.from.organ_id.clone(),
        organ_name: h.from.organ_name.clone().unwrap_or_default(),
        signer_position: signer.and_then(|s| s.position.clone()).unwrap_or_default(),
        signer_name: signer.and_then(|s| s.full_name.clone()).unwrap_or_default(),
        page_amount: number(other.and_then(|o| o.page_amount.as_ref())),
        issued_amount: number(other.and_then(|o| o.promulgation_amount.as_ref())),
        language: String::new(),
        description: String::new(),
        due_date: h.due_date.as_deref().and_then(date),
        to_places: h.to_places.clone().unwrap_or_default(),
        urgency: other
            .and_then(|o| o.priority.as_deref())
            .and_then(|p| p.trim().parse::<i64>().ok())
            .and_then(|p| Urgency::from_priority(p).ok())
            .unwrap_or_default(),
        confidentiality: Default::default(),
    }
}
