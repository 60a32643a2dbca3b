//! Documents ⇄ edXML: the packages the exchange sends for an outgoing document (new,
//! revocation, recipient-list update), the status packages it reports with, and the reverse
//! mapping of a received package into the documents system's metadata. Pure: no clock (the
//! time is a parameter), no storage (attachments are named by their blob keys).
//!
//! Invariants:
//! - Only a released, non-secret document with its signed PDF becomes a package: secret
//!   documents do not travel over the exchange (vn-standards §4), and a package without its
//!   number, date and identifier is refused by every receiver.
//! - Dates are written `yyyy/MM/dd`, timestamps `yyyy/MM/dd HH:mm:ss` in Vietnam time.
//! - A received package is never truncated to fit: a field longer than Phụ lục VI allows is
//!   an error naming the rule (`document.<field>.too_long`), and so is a number or a code that
//!   does not parse.
//!
//! Field correspondence (documents `Metadata` ↔ edXML): `subject` ↔ `Subject`,
//! `description` ↔ `Content`, `code_number`/`code_notation` ↔ `Code`, `issued_date` ↔
//! `PromulgationInfo/PromulgationDate`, `organ_id`/`organ_name` ↔ `From`, `signer_position`/
//! `signer_name` ↔ `SignerInfo/Competence` + `Position`/`FullName` (the documents system
//! writes the competence in front of the position, "TM. Chủ tịch"), `page_amount` ↔ `OtherInfo/PageAmount`,
//! `issued_amount` ↔ `OtherInfo/PromulgationAmount`, `urgency` ↔ `OtherInfo/Priority`,
//! `due_date` ↔ `DueDate`, `to_places` ↔ `ToPlaces`, type ↔ `DocumentType/TypeName` (the
//! decree's name, e.g. "Kế hoạch"). What the documents system does not hold (place of issue,
//! typist, circulation, appendixes, steering type, the sending clerk) comes from
//! [`SenderInfo`].

use chrono::NaiveDate;
use tinhso_core::DomainError;
use tinhso_core::calendar::vietnam_instant;
use tinhso_documents::domain::metadata::Metadata;
use tinhso_documents::domain::numbering::parse_document_identifier;
use tinhso_documents::domain::types::{DOC_TYPES, DocType, Urgency};
use tinhso_documents::exchange::{ReceivedDocument, ReceivedFile};
use tinhso_documents::files::FileView;
use tinhso_documents::outgoing::{OutgoingView, RecipientView};
use tinhso_edxml::model::{
    AttachmentMeta, Bussiness, BussinessDocType, BussinessDocumentInfo, BussinessPlacement, Code,
    DocumentPackage, DocumentType, MessageHeader, Organization, OtherInfo, PromulgationInfo,
    Receiver, ResponseFor, SignerInfo, StaffInfo, StatusCode, StatusPackage, TraceHeader,
    TraceHeaderList, format_date, parse_date,
};

/// The document is not released (no number, date or identifier yet).
pub const RULE_NOT_RELEASED: &str = "exchange.mapping.not_released";
/// The document has no signed PDF to send.
pub const RULE_UNSIGNED: &str = "exchange.mapping.unsigned";
/// Secret documents are not sent over the exchange.
pub const RULE_SECRET: &str = "exchange.mapping.secret";
/// A package asked of a kind the recipient row does not call for.
pub const RULE_PACKAGE_KIND: &str = "exchange.mapping.package_kind";
/// A received package lacks a field the documents system needs.
pub const RULE_MISSING: &str = "exchange.mapping.missing";

/// Signing competences of Nghị định 30 (thẩm quyền ký), as they open a signer's position.
/// `BussinessDocReason` of an update when the sender gave none: the protocol requires a
/// reason on every update (vn-standards §1), and changing the list is the reason itself. It is
/// package content read by the receiving agency's officials, not text of this UI.
pub const UPDATE_REASON: &str = "Cập nhật danh sách nơi nhận";

const COMPETENCES: [&str; 5] = ["TM.", "KT.", "TL.", "TUQ.", "Q."];

/// "TM. Chủ tịch" → (`TM.`, "Chủ tịch"); a position without a competence stays whole.
fn split_competence(position: &str) -> (Option<String>, String) {
    let position = position.trim();
    match position.split_once(char::is_whitespace) {
        Some((head, rest)) if COMPETENCES.contains(&head) => {
            (Some(head.to_owned()), rest.trim().to_owned())
        }
        _ if COMPETENCES.contains(&position) => (Some(position.to_owned()), String::new()),
        _ => (None, position.to_owned()),
    }
}

/// `DocumentType/Type` we send: every type of Điều 7 is an administrative document (the
/// national validator accepts 1 or 2; the samples send 1 for a Công văn).
const DOCUMENT_TYPE_KIND: &str = "1";

fn invalid(rule: &'static str, detail: impl Into<String>) -> DomainError {
    DomainError::invalid(detail).with_rule(rule)
}

/// What a package says about its sender beyond the document itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SenderInfo {
    /// `From`: the agency's identifier (OrganId), name and contact details.
    pub from: Organization,
    /// `PromulgationInfo/Place` (≤ 50), e.g. "Khánh Hòa".
    pub place: Option<String>,
    /// The clerk who sends (`Bussiness/StaffInfo`, status `StaffInfo`).
    pub staff: Option<StaffInfo>,
    /// `SignerInfo/Competence` (TM., KT., TL., TUQ., Q.) when the signer's position does not
    /// start with one.
    pub signer_competence: Option<String>,
    /// `OtherInfo/TyperNotation` (≤ 10): ký hiệu người soạn thảo.
    pub typer_notation: Option<String>,
    /// `OtherInfo/SphereOfPromulgation` (≤ 100): phạm vi lưu hành.
    pub sphere_of_promulgation: Option<String>,
    /// `OtherInfo/Appendixes/Appendix`: names of the document's appendixes.
    pub appendixes: Vec<String>,
    /// `SteeringType` (0–3, see vn-standards §1.5).
    pub steering_type: Option<String>,
}

/// One attachment of a package to send: its manifest entry and where its bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageAttachment {
    pub meta: AttachmentMeta,
    pub blob_key: String,
    pub size_bytes: i64,
}

/// A document package to write ([`tinhso_edxml::write::write_document`]) with the blobs of
/// its attachments, in manifest order.
#[derive(Debug, Clone, PartialEq)]
pub struct OutgoingPackage {
    pub package: DocumentPackage,
    pub attachments: Vec<PackageAttachment>,
}

/// `yyyy/MM/dd HH:mm:ss` in Vietnam time (UTC+7) of the instant `ms` (Unix milliseconds).
pub fn timestamp(ms: i64) -> String {
    tinhso_edxml::model::format_timestamp(vietnam_instant(ms).naive_local())
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

/// `To` entries for the recipient rows still on the list and outside this installation.
pub fn external_recipients(view: &OutgoingView) -> Vec<Organization> {
    view.recipients
        .iter()
        .filter(|r| r.kind == "external" && r.active)
        .map(|r| organization(&r.organ_id, &r.organ_name))
        .collect()
}

/// An agency by identifier and name.
pub fn organization(organ_id: &str, organ_name: &str) -> Organization {
    Organization {
        organ_id: organ_id.to_owned(),
        organ_name: non_empty(organ_name),
        ..Organization::default()
    }
}

/// The parts of a released document a package needs.
struct Released<'a> {
    document_id: &'a str,
    number: String,
    notation: &'a str,
    issued: NaiveDate,
}

fn released(view: &OutgoingView) -> Result<Released<'_>, DomainError> {
    if view.metadata.confidentiality.is_secret() {
        return Err(invalid(
            RULE_SECRET,
            "a secret document is not sent over the document exchange",
        ));
    }
    let not_released = || {
        invalid(
            RULE_NOT_RELEASED,
            format!("outgoing document {} is not released", view.id),
        )
    };
    let (Some(document_id), Some(code), Some(issued)) = (
        view.document_id.as_deref(),
        view.code.as_deref(),
        view.issued_date,
    ) else {
        return Err(not_released());
    };
    let (number, notation) = code.split_once('/').ok_or_else(not_released)?;
    Ok(Released {
        document_id,
        number: number.to_owned(),
        notation,
        issued,
    })
}

/// The `MessageHeader` of an outgoing document, the same in its new, revocation and update
/// packages (receivers find the document by it).
fn message_header(
    view: &OutgoingView,
    doc: &Released<'_>,
    sender: &SenderInfo,
    recipients: &[Organization],
) -> MessageHeader {
    let m = &view.metadata;
    let (competence, position) = split_competence(&m.signer_position);
    let type_name = DocType::parse(&m.type_code)
        .map(|t| t.name_vi.to_owned())
        .unwrap_or_else(|_| view.type_name.clone());
    MessageHeader {
        from: sender.from.clone(),
        to: recipients.to_vec(),
        document_id: Some(doc.document_id.to_owned()),
        code: Some(Code {
            code_number: doc.number.clone(),
            code_notation: doc.notation.to_owned(),
        }),
        promulgation_info: Some(PromulgationInfo {
            place: sender.place.clone(),
            promulgation_date: format_date(doc.issued),
        }),
        document_type: Some(DocumentType {
            kind: DOCUMENT_TYPE_KIND.into(),
            type_detail: None,
            type_name: Some(type_name),
        }),
        subject: Some(m.subject.trim().to_owned()),
        content: non_empty(&m.description),
        signer_info: Some(SignerInfo {
            competence: competence.or_else(|| sender.signer_competence.clone()),
            position: non_empty(&position),
            full_name: non_empty(&m.signer_name),
        }),
        due_date: m.due_date.map(format_date),
        other_info: Some(OtherInfo {
            priority: Some(m.urgency.priority().to_string()),
            sphere_of_promulgation: sender.sphere_of_promulgation.clone(),
            typer_notation: sender.typer_notation.clone(),
            promulgation_amount: Some(m.issued_amount.to_string()),
            page_amount: Some(m.page_amount.to_string()),
            direction: None,
            appendixes: (!sender.appendixes.is_empty()).then(|| sender.appendixes.clone()),
            extra: Vec::new(),
        }),
        steering_type: sender.steering_type.clone(),
        to_places: (!m.to_places.is_empty()).then(|| m.to_places.clone()),
        response_for: view
            .response_for
            .iter()
            .map(|r| ResponseFor {
                organ_id: r.organ_id.clone(),
                code: r.code.clone(),
                promulgation_date: r.issued_date.map(format_date).unwrap_or_default(),
                document_id: r.document_id.clone(),
            })
            .collect(),
        extra: Vec::new(),
    }
}

/// `TraceHeaderList` with our hop at `now_ms` and the `Bussiness` of the package.
fn trace(sender: &SenderInfo, now_ms: i64, bussiness: Bussiness) -> TraceHeaderList {
    TraceHeaderList {
        trace_header: vec![TraceHeader {
            organ_id: sender.from.organ_id.clone(),
            timestamp: timestamp(now_ms),
            extra: Vec::new(),
        }],
        bussiness: Some(bussiness),
        bussiness_placement: BussinessPlacement::Last,
    }
}

fn bussiness(
    doc: &Released<'_>,
    sender: &SenderInfo,
    kind: BussinessDocType,
    reason: Option<String>,
) -> Bussiness {
    Bussiness {
        document_id: Some(doc.document_id.to_owned()),
        bussiness_doc_type: kind.code().into(),
        bussiness_doc_reason: reason,
        paper: Some("0".into()),
        bussiness_document_info: None,
        staff_info: sender.staff.clone(),
        replacement_info_list: None,
        extra: Vec::new(),
    }
}

fn attachment(index: usize, file: &FileView, description: Option<String>) -> PackageAttachment {
    PackageAttachment {
        meta: AttachmentMeta {
            // Unique within the package; the blob key keeps it stable across resends.
            content_id: format!(
                "cid:{}-{}",
                index + 1,
                file.sha256.get(..16).unwrap_or(&file.sha256)
            ),
            content_type: file.content_type.clone(),
            description,
            attachment_name: file.filename.clone(),
        },
        blob_key: file.sha256.clone(),
        size_bytes: file.size_bytes,
    }
}

/// The package of a released outgoing document for `recipients` (`To`), at `now_ms`: the
/// whole header, our trace hop, `Bussiness` "new", and the signed PDF followed by
/// `other_files` (attachments sent with it) as attachments.
pub fn document_package(
    view: &OutgoingView,
    sender: &SenderInfo,
    recipients: &[Organization],
    other_files: &[FileView],
    now_ms: i64,
) -> Result<OutgoingPackage, DomainError> {
    let doc = released(view)?;
    let signed = view.signed_file.as_ref().ok_or_else(|| {
        invalid(
            RULE_UNSIGNED,
            format!("outgoing document {} has no signed PDF", view.id),
        )
    })?;
    let mut attachments = vec![attachment(0, signed, Some(view.metadata.subject.clone()))];
    for (i, file) in other_files.iter().enumerate() {
        attachments.push(attachment(i + 1, file, None));
    }
    Ok(OutgoingPackage {
        package: DocumentPackage {
            message_header: message_header(view, &doc, sender, recipients),
            trace_header_list: Some(trace(
                sender,
                now_ms,
                bussiness(&doc, sender, BussinessDocType::New, None),
            )),
        },
        attachments,
    })
}

/// The revocation package (`BussinessDocType` 1) of a revoked document, with its reason.
pub fn revocation_package(
    view: &OutgoingView,
    sender: &SenderInfo,
    recipients: &[Organization],
    now_ms: i64,
) -> Result<DocumentPackage, DomainError> {
    let doc = released(view)?;
    let reason = view.revoke_reason.as_deref().and_then(non_empty);
    Ok(DocumentPackage {
        message_header: message_header(view, &doc, sender, recipients),
        trace_header_list: Some(trace(
            sender,
            now_ms,
            bussiness(&doc, sender, BussinessDocType::Revoke, reason),
        )),
    })
}

/// The recipient-list update package (`BussinessDocType` 2): `ReceiverList` has the
/// external rows taken off the list (`ReceiverType` 0: inactive, package `update`) and
/// those added and not yet sent (1: active, package `new`, transport INITIAL).
pub fn update_package(
    view: &OutgoingView,
    sender: &SenderInfo,
    recipients: &[Organization],
    reason: Option<&str>,
    now_ms: i64,
) -> Result<DocumentPackage, DomainError> {
    let doc = released(view)?;
    let receivers: Vec<Receiver> = view
        .recipients
        .iter()
        .filter(|r| r.kind == "external")
        .filter_map(|r| receiver_change(r).map(|t| (r, t)))
        .map(|(r, receiver_type)| Receiver {
            organ_id: r.organ_id.clone(),
            receiver_type: receiver_type.into(),
        })
        .collect();
    let mut b = bussiness(
        &doc,
        sender,
        BussinessDocType::Update,
        Some(
            reason
                .and_then(non_empty)
                .unwrap_or_else(|| UPDATE_REASON.to_owned()),
        ),
    );
    b.bussiness_document_info = Some(BussinessDocumentInfo {
        document_info: Some("0".into()),
        document_receiver: Some("1".into()),
        receiver_list: Some(receivers),
    });
    Ok(DocumentPackage {
        message_header: message_header(view, &doc, sender, recipients),
        trace_header_list: Some(trace(sender, now_ms, b)),
    })
}

/// `ReceiverType` of a recipient row in an update: `0` removed, `1` added, none unchanged.
fn receiver_change(r: &RecipientView) -> Option<&'static str> {
    match (r.active, r.package.as_str(), r.transport_status.as_deref()) {
        (false, "update", _) => Some("0"),
        (true, "new", Some("INITIAL")) => Some("1"),
        _ => None,
    }
}

/// The package a pending recipient row calls for: `new` (the document, with its
/// attachments), `revoke` or `update` (no attachments).
pub fn package_for(
    kind: &str,
    view: &OutgoingView,
    sender: &SenderInfo,
    recipients: &[Organization],
    now_ms: i64,
) -> Result<OutgoingPackage, DomainError> {
    let without_files = |package| OutgoingPackage {
        package,
        attachments: Vec::new(),
    };
    match kind {
        "new" => document_package(view, sender, recipients, &[], now_ms),
        "revoke" => revocation_package(view, sender, recipients, now_ms).map(without_files),
        "update" => update_package(view, sender, recipients, None, now_ms).map(without_files),
        other => Err(invalid(
            RULE_PACKAGE_KIND,
            format!("`{other}` is not new, revoke or update"),
        )),
    }
}

/// The document a status package reports on, as the receiver registered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSubject {
    /// The issuer's identifier.
    pub organ_id: String,
    /// `Số/KýHiệu`.
    pub code: String,
    pub promulgation_date: NaiveDate,
    pub document_id: Option<String>,
}

impl StatusSubject {
    /// The subject of a status about a received document, from its metadata.
    pub fn of(metadata: &Metadata, document_id: Option<&str>) -> Result<Self, DomainError> {
        let missing = |what: &str| invalid(RULE_MISSING, format!("the document has no {what}"));
        Ok(Self {
            organ_id: non_empty(&metadata.organ_id).ok_or_else(|| missing("issuer identifier"))?,
            code: format!(
                "{}/{}",
                metadata.code_number.trim(),
                metadata.code_notation.trim()
            ),
            promulgation_date: metadata.issued_date.ok_or_else(|| missing("date"))?,
            document_id: document_id.map(str::to_owned),
        })
    }
}

/// A status package (codes 01–06, 13, 15, 16) from the reporting agency `from` about
/// `subject`, at `now_ms`.
pub fn status_package(
    from: &Organization,
    subject: &StatusSubject,
    code: StatusCode,
    staff: Option<StaffInfo>,
    description: &str,
    now_ms: i64,
) -> StatusPackage {
    StatusPackage {
        from: from.clone(),
        response_for: ResponseFor {
            organ_id: subject.organ_id.clone(),
            code: subject.code.clone(),
            promulgation_date: format_date(subject.promulgation_date),
            document_id: subject.document_id.clone(),
        },
        staff_info: staff,
        status_code: code.code().into(),
        description: non_empty(description).or_else(|| Some(code.label_vi().into())),
        timestamp: timestamp(now_ms),
        extra: Vec::new(),
    }
}

/// The document type of a received package: by `TypeName` (the decree's name, any case),
/// else by the type abbreviation that opens the notation (`KH-UBND` → Kế hoạch), else a
/// Công văn (whose notation opens with the issuer).
fn received_type(type_name: Option<&str>, notation: &str) -> &'static DocType {
    let by_name = type_name.map(str::trim).and_then(|name| {
        DOC_TYPES
            .iter()
            .find(|t| t.name_vi.to_lowercase() == name.to_lowercase())
    });
    let head = notation.split('-').next().unwrap_or_default();
    let by_abbreviation = || DOC_TYPES.iter().find(|t| t.abbreviation == Some(head));
    let official_letter = || DOC_TYPES.iter().find(|t| t.abbreviation.is_none());
    by_name
        .or_else(by_abbreviation)
        .or_else(official_letter)
        .unwrap_or(&DOC_TYPES[0])
}

fn amount(value: Option<&str>, rule: &'static str) -> Result<i64, DomainError> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(0),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| invalid(rule, format!("`{v}` is not a number"))),
    }
}

fn date(value: &str, rule: &'static str) -> Result<NaiveDate, DomainError> {
    parse_date(value.trim()).ok_or_else(|| invalid(rule, format!("`{value}` is not yyyy/MM/dd")))
}

/// The documents system's view of a received package for agency `to_agency_code` of this
/// installation, with its attachments already checked and stored. Refuses (with the rule)
/// what the incoming register would refuse or cut: over-long fields, numbers and dates that
/// do not parse, a missing document identifier.
pub fn received_document(
    pkg: &DocumentPackage,
    to_agency_code: &str,
    attachments: Vec<ReceivedFile>,
) -> Result<ReceivedDocument, DomainError> {
    let h = &pkg.message_header;
    let document_id = h
        .document_id
        .as_deref()
        .and_then(non_empty)
        .ok_or_else(|| {
            invalid(
                RULE_MISSING,
                "N.MessageHeader.DocumentId: the package has no document identifier",
            )
        })?;
    parse_document_identifier(&document_id)?;
    let code = h.code.clone().unwrap_or_default();
    let other = h.other_info.clone().unwrap_or_default();
    let signer = h.signer_info.clone().unwrap_or_default();
    let issued_date = match &h.promulgation_info {
        Some(p) => Some(date(&p.promulgation_date, "document.issued_date.invalid")?),
        None => None,
    };
    let due_date = match h.due_date.as_deref().map(str::trim) {
        Some(d) if !d.is_empty() => Some(date(d, "document.due_date.invalid")?),
        _ => None,
    };
    let priority = amount(other.priority.as_deref(), "document.urgency.invalid")?;
    let type_name = h
        .document_type
        .as_ref()
        .and_then(|t| t.type_name.as_deref());
    let metadata = Metadata {
        type_code: received_type(type_name, code.code_notation.trim())
            .code
            .to_owned(),
        subject: h.subject.clone().unwrap_or_default().trim().to_owned(),
        code_number: code.code_number.trim().to_owned(),
        code_notation: code.code_notation.trim().to_owned(),
        issued_date,
        organ_id: h.from.organ_id.trim().to_owned(),
        organ_name: h
            .from
            .organ_name
            .clone()
            .unwrap_or_default()
            .trim()
            .to_owned(),
        signer_position: [signer.competence, signer.position]
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" "),
        signer_name: signer.full_name.unwrap_or_default().trim().to_owned(),
        page_amount: amount(other.page_amount.as_deref(), "document.page_amount.invalid")?,
        issued_amount: amount(
            other.promulgation_amount.as_deref(),
            "document.issued_amount.invalid",
        )?,
        language: String::new(),
        description: h.content.clone().unwrap_or_default().trim().to_owned(),
        due_date,
        to_places: h
            .to_places
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
        urgency: Urgency::from_priority(priority)?,
        confidentiality: Default::default(),
    };
    metadata.check_incoming()?;
    Ok(ReceivedDocument {
        to_agency_code: to_agency_code.to_owned(),
        document_id,
        metadata,
        files: attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_vietnam_time() {
        // 2026-03-02T01:30:00Z is 08:30 in Hà Nội.
        assert_eq!(timestamp(1_772_415_000_000), "2026/03/02 08:30:00");
    }

    #[test]
    fn competence_opens_the_position() {
        assert_eq!(
            split_competence("TM. Chủ tịch"),
            (Some("TM.".into()), "Chủ tịch".into())
        );
        assert_eq!(
            split_competence(" KT. "),
            (Some("KT.".into()), String::new())
        );
        assert_eq!(split_competence("Chủ tịch"), (None, "Chủ tịch".into()));
        assert_eq!(split_competence("TMX. Chủ tịch").0, None);
    }

    #[test]
    fn types_by_name_then_notation() {
        assert_eq!(received_type(Some("kế hoạch"), "UBND-VX").code, "plan");
        assert_eq!(received_type(Some("Văn bản"), "QĐ-UBND").code, "decision");
        assert_eq!(received_type(None, "VPCP-TTĐT").code, "official_letter");
    }
}
