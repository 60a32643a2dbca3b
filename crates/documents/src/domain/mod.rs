//! The pure rules of document management (Nghị định 30/2020/NĐ-CP, công tác văn thư): what a
//! document is (types, urgency, confidentiality), how it is numbered and identified, which
//! metadata it must carry (Phụ lục VI) and how incoming and outgoing documents move through
//! their workflows. No I/O and no clock: "now" and the caller's rights are passed in.

pub mod metadata;
pub mod numbering;
pub mod types;
pub mod workflow;

use tinhso_core::DomainError;

/// An invalid-input error with its stable rule key.
pub(crate) fn invalid(rule: &'static str, detail: impl Into<String>) -> DomainError {
    DomainError::invalid(detail).with_rule(rule)
}
