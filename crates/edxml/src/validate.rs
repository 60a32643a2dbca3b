//! The field rules of edXML packages, reporting every problem at once.
//!
//! Each [`Issue`] carries a path code in the convention of the national axis' validators:
//! `N.<path>` a required element is missing or empty, `R.<path>` a value is out of range or
//! too long, `M.<path>` a value is not allowed (bad shape, not in the value domain, duplicate).
//! Paths are element names joined by dots without indices (`N.MessageHeader.To.OrganId`); the
//! message says which occurrence. Sources of the rules: QCVN 102:2016 samples, the lengths of
//! the Bkav eDoc validator and of Nghị định 30/2020 Phụ lục VI (OrganId 13, CodeNumber 11,
//! CodeNotation 30, Subject 500, FullName 50, Position 100, …), the value domains of
//! vn-standards §1.5. Lengths count characters, not bytes (Vietnamese text is multi-byte).
//!
//! Invariants: the rules are pure functions of the model (no clock, no I/O) and never stop at
//! the first problem; a package the writer produced from a valid model validates again after
//! a parse.

use std::collections::HashSet;
use std::fmt;
use std::io::BufRead;

use serde::Serialize;

use crate::model::{
    AttachmentInfo, AttachmentMeta, Bussiness, BussinessDocType, DocumentPackage, MessageHeader,
    Organization, Priority, ResponseFor, StaffInfo, StatusCode, StatusPackage, TraceHeaderList,
    parse_date, parse_timestamp,
};
use crate::read::{DiscardSink, Package, ParsedDocument, ReadError, read_package};

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Issue {
    /// `N.…`, `R.…` or `M.…`.
    pub code: String,
    /// Readable explanation (English), naming the occurrence and the limit.
    pub message: String,
}

impl Issue {
    /// A required element is missing or empty.
    pub fn missing(path: &str, message: impl Into<String>) -> Self {
        Issue {
            code: format!("N.{path}"),
            message: message.into(),
        }
    }

    /// A value is out of range or too long.
    pub fn range(path: &str, message: impl Into<String>) -> Self {
        Issue {
            code: format!("R.{path}"),
            message: message.into(),
        }
    }

    /// A value is not allowed.
    pub fn not_allowed(path: &str, message: impl Into<String>) -> Self {
        Issue {
            code: format!("M.{path}"),
            message: message.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.message)
    }
}

/// Maximum lengths (characters).
mod len {
    pub const ORGAN_ID: usize = 13;
    pub const ORGAN_NAME: usize = 200;
    pub const ORGAN_ADD: usize = 500;
    pub const EMAIL: usize = 100;
    pub const PHONE: usize = 20;
    /// Not fixed by a source we read; generous so real addresses pass.
    pub const WEBSITE: usize = 100;
    pub const CODE_NUMBER: usize = 11;
    pub const CODE_NOTATION: usize = 30;
    pub const PLACE: usize = 50;
    pub const TYPE_NAME: usize = 100;
    pub const SUBJECT: usize = 500;
    pub const CONTENT: usize = 500;
    pub const COMPETENCE: usize = 100;
    pub const POSITION: usize = 100;
    pub const FULL_NAME: usize = 50;
    pub const TO_PLACE: usize = 150;
    pub const SPHERE: usize = 100;
    pub const TYPER_NOTATION: usize = 10;
    pub const APPENDIX: usize = 500;
    pub const REASON: usize = 500;
    pub const DEPARTMENT: usize = 200;
    pub const STAFF: usize = 100;
    pub const DESCRIPTION: usize = 500;
    pub const ATTACHMENT_NAME: usize = 500;
    pub const CONTENT_TYPE: usize = 100;
}

/// Collects issues; one method per kind of rule so every field is checked the same way.
#[derive(Default)]
struct Rules {
    issues: Vec<Issue>,
}

fn present(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.trim().is_empty())
}

impl Rules {
    fn max(&mut self, path: &str, value: Option<&str>, max: usize, what: &str) {
        if let Some(v) = value {
            let n = v.chars().count();
            if n > max {
                self.issues.push(Issue::range(
                    path,
                    format!("{what} is {n} characters long, at most {max} allowed"),
                ));
            }
        }
    }

    /// Required text: `N.` when absent or blank, `R.` when too long. Returns the value when present.
    fn required<'v>(
        &mut self,
        path: &str,
        value: Option<&'v str>,
        max: usize,
        what: &str,
    ) -> Option<&'v str> {
        match present(value) {
            None => {
                self.issues
                    .push(Issue::missing(path, format!("{what} is required")));
                None
            }
            Some(v) => {
                self.max(path, Some(v), max, what);
                Some(v)
            }
        }
    }

    fn domain(&mut self, path: &str, value: Option<&str>, allowed: &[&str], what: &str) {
        if let Some(v) = value
            && !allowed.contains(&v)
        {
            self.issues.push(Issue::not_allowed(
                path,
                format!("{what} '{v}' is not one of {}", allowed.join(", ")),
            ));
        }
    }

    fn organ_id(&mut self, path: &str, value: Option<&str>, required: bool, what: &str) {
        let v = match present(value) {
            Some(v) => v,
            None => {
                if required {
                    self.issues
                        .push(Issue::missing(path, format!("{what} OrganId is required")));
                }
                return;
            }
        };
        let n = v.chars().count();
        if n > len::ORGAN_ID {
            self.issues.push(Issue::range(
                path,
                format!(
                    "{what} OrganId '{v}' is {n} characters long, at most {} allowed",
                    len::ORGAN_ID
                ),
            ));
        } else if !is_organ_id(v) {
            self.issues.push(Issue::not_allowed(
                path,
                format!("{what} OrganId '{v}' does not have the shape NNN.NN.NN.XNN"),
            ));
        }
    }

    fn date(&mut self, path: &str, value: Option<&str>, required: bool, what: &str) {
        match present(value) {
            None if required => self
                .issues
                .push(Issue::missing(path, format!("{what} is required"))),
            None => {}
            Some(v) if parse_date(v).is_none() => self.issues.push(Issue::not_allowed(
                path,
                format!("{what} '{v}' is not a date yyyy/MM/dd"),
            )),
            Some(_) => {}
        }
    }

    fn timestamp(&mut self, path: &str, value: Option<&str>, what: &str) {
        match present(value) {
            None => self
                .issues
                .push(Issue::missing(path, format!("{what} is required"))),
            Some(v) if parse_timestamp(v).is_none() => self.issues.push(Issue::not_allowed(
                path,
                format!("{what} '{v}' is not a timestamp yyyy/MM/dd HH:mm:ss"),
            )),
            Some(_) => {}
        }
    }

    fn email(&mut self, path: &str, value: Option<&str>, what: &str) {
        if let Some(v) = present(value) {
            self.max(path, Some(v), len::EMAIL, what);
            let ok = v.split_once('@').is_some_and(|(l, d)| {
                !l.is_empty() && d.contains('.') && !d.contains('@') && !v.contains(' ')
            });
            if !ok {
                self.issues.push(Issue::not_allowed(
                    path,
                    format!("{what} '{v}' is not an e-mail address"),
                ));
            }
        }
    }

    fn unsigned_short(&mut self, path: &str, value: Option<&str>, what: &str) {
        if let Some(v) = present(value)
            && v.parse::<u16>().is_err()
        {
            self.issues.push(Issue::not_allowed(
                path,
                format!("{what} '{v}' is not a whole number 0–65535"),
            ));
        }
    }

    fn document_id(&mut self, path: &str, value: Option<&str>, required: bool) {
        match present(value) {
            None if required => self
                .issues
                .push(Issue::missing(path, "DocumentId is required")),
            None => {}
            Some(v) => {
                if let Some(problem) = document_id_problem(v) {
                    self.issues.push(Issue::not_allowed(
                        path,
                        format!("DocumentId '{v}' is not OrganId,yyyy/MM/dd,Số/KýHiệu: {problem}"),
                    ));
                }
            }
        }
    }

    fn organization(&mut self, base: &str, org: &Organization, what: &str) {
        self.organ_id(&format!("{base}.OrganId"), Some(&org.organ_id), true, what);
        self.max(
            &format!("{base}.OrganizationInCharge"),
            org.organization_in_charge.as_deref(),
            len::ORGAN_NAME,
            &format!("{what} OrganizationInCharge"),
        );
        self.max(
            &format!("{base}.OrganName"),
            org.organ_name.as_deref(),
            len::ORGAN_NAME,
            &format!("{what} OrganName"),
        );
        self.max(
            &format!("{base}.OrganAdd"),
            org.organ_add.as_deref(),
            len::ORGAN_ADD,
            &format!("{what} OrganAdd"),
        );
        self.email(
            &format!("{base}.Email"),
            org.email.as_deref(),
            &format!("{what} Email"),
        );
        self.max(
            &format!("{base}.Telephone"),
            org.telephone.as_deref(),
            len::PHONE,
            &format!("{what} Telephone"),
        );
        self.max(
            &format!("{base}.Fax"),
            org.fax.as_deref(),
            len::PHONE,
            &format!("{what} Fax"),
        );
        self.max(
            &format!("{base}.Website"),
            org.website.as_deref(),
            len::WEBSITE,
            &format!("{what} Website"),
        );
    }

    fn staff(&mut self, base: &str, s: &StaffInfo) {
        self.max(
            &format!("{base}.Department"),
            s.department.as_deref(),
            len::DEPARTMENT,
            "StaffInfo Department",
        );
        self.max(
            &format!("{base}.Staff"),
            s.staff.as_deref(),
            len::STAFF,
            "StaffInfo Staff",
        );
        self.email(
            &format!("{base}.Email"),
            s.email.as_deref(),
            "StaffInfo Email",
        );
        self.max(
            &format!("{base}.Mobile"),
            s.mobile.as_deref(),
            len::PHONE,
            "StaffInfo Mobile",
        );
    }

    fn response_for(&mut self, base: &str, r: &ResponseFor, what: &str) {
        self.organ_id(&format!("{base}.OrganId"), Some(&r.organ_id), true, what);
        if let Some(code) = self.required(
            &format!("{base}.Code"),
            Some(&r.code),
            len::CODE_NUMBER + 1 + len::CODE_NOTATION,
            &format!("{what} Code"),
        ) && !code.contains('/')
        {
            self.issues.push(Issue::not_allowed(
                &format!("{base}.Code"),
                format!("{what} Code '{code}' is not Số/KýHiệu"),
            ));
        }
        self.date(
            &format!("{base}.PromulgationDate"),
            Some(&r.promulgation_date),
            true,
            &format!("{what} PromulgationDate"),
        );
        self.document_id(
            &format!("{base}.DocumentId"),
            r.document_id.as_deref(),
            false,
        );
    }
}

/// `NNN.NN.NN.XNN`: digit groups of 3, 2, 2, then an upper-case letter and two digits.
pub fn is_organ_id(v: &str) -> bool {
    let parts: Vec<&str> = v.split('.').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [a, b, c, d] => {
            let last = d.as_bytes();
            digits(a, 3)
                && digits(b, 2)
                && digits(c, 2)
                && last.len() == 3
                && last[0].is_ascii_uppercase()
                && last[1..].iter().all(u8::is_ascii_digit)
        }
        _ => false,
    }
}

/// What is wrong with a `OrganId,yyyy/MM/dd,Số/KýHiệu` document identifier, if anything.
fn document_id_problem(v: &str) -> Option<&'static str> {
    let mut parts = v.splitn(3, ',');
    let (Some(organ), Some(date), Some(code)) = (parts.next(), parts.next(), parts.next()) else {
        return Some("three comma-separated parts expected");
    };
    if !is_organ_id(organ) {
        return Some("first part is not an OrganId");
    }
    if parse_date(date).is_none() {
        return Some("second part is not a date yyyy/MM/dd");
    }
    match code.split_once('/') {
        Some((number, notation))
            if !number.is_empty()
                && !notation.is_empty()
                && number.chars().count() <= len::CODE_NUMBER
                && notation.chars().count() <= len::CODE_NOTATION =>
        {
            None
        }
        _ => Some("third part is not Số/KýHiệu"),
    }
}

/// Rules of a document package's header (MessageHeader and TraceHeaderList).
pub fn validate_document(package: &DocumentPackage) -> Vec<Issue> {
    let mut r = Rules::default();
    message_header(&mut r, &package.message_header);
    if let Some(list) = &package.trace_header_list {
        trace_header_list(&mut r, list);
    }
    r.issues
}

fn message_header(r: &mut Rules, h: &MessageHeader) {
    r.organization("MessageHeader.From", &h.from, "From");
    if h.to.is_empty() {
        r.issues.push(Issue::missing(
            "MessageHeader.To",
            "at least one To is required",
        ));
    }
    let mut seen = HashSet::new();
    for (i, to) in h.to.iter().enumerate() {
        r.organization("MessageHeader.To", to, &format!("To #{}", i + 1));
        if !to.organ_id.is_empty() && !seen.insert(to.organ_id.as_str()) {
            // Code as in the national validator (vn-standards §1.2), though it is a duplicate.
            r.issues.push(Issue::missing(
                "MessageHeader.To.OrganId",
                format!("To #{} repeats OrganId {}", i + 1, to.organ_id),
            ));
        }
    }
    r.document_id("MessageHeader.DocumentId", h.document_id.as_deref(), true);
    match &h.code {
        None => r
            .issues
            .push(Issue::missing("MessageHeader.Code", "Code is required")),
        Some(code) => {
            r.required(
                "MessageHeader.Code.CodeNumber",
                Some(&code.code_number),
                len::CODE_NUMBER,
                "CodeNumber",
            );
            r.required(
                "MessageHeader.Code.CodeNotation",
                Some(&code.code_notation),
                len::CODE_NOTATION,
                "CodeNotation",
            );
        }
    }
    match &h.promulgation_info {
        None => r.issues.push(Issue::missing(
            "MessageHeader.PromulgationInfo",
            "PromulgationInfo is required",
        )),
        Some(p) => {
            r.max(
                "MessageHeader.PromulgationInfo.Place",
                p.place.as_deref(),
                len::PLACE,
                "Place",
            );
            r.date(
                "MessageHeader.PromulgationInfo.PromulgationDate",
                Some(&p.promulgation_date),
                true,
                "PromulgationDate",
            );
        }
    }
    match &h.document_type {
        None => r.issues.push(Issue::missing(
            "MessageHeader.DocumentType",
            "DocumentType is required",
        )),
        Some(t) => {
            if r.required("MessageHeader.DocumentType.Type", Some(&t.kind), 1, "Type")
                .is_some()
            {
                r.domain(
                    "MessageHeader.DocumentType.Type",
                    Some(&t.kind),
                    &["1", "2"],
                    "Type",
                );
            }
            r.max(
                "MessageHeader.DocumentType.TypeName",
                t.type_name.as_deref(),
                len::TYPE_NAME,
                "TypeName",
            );
        }
    }
    r.required(
        "MessageHeader.Subject",
        h.subject.as_deref(),
        len::SUBJECT,
        "Subject",
    );
    r.max(
        "MessageHeader.Content",
        h.content.as_deref(),
        len::CONTENT,
        "Content",
    );
    if let Some(s) = &h.signer_info {
        r.max(
            "MessageHeader.SignerInfo.Competence",
            s.competence.as_deref(),
            len::COMPETENCE,
            "Competence",
        );
        r.max(
            "MessageHeader.SignerInfo.Position",
            s.position.as_deref(),
            len::POSITION,
            "Position",
        );
        r.max(
            "MessageHeader.SignerInfo.FullName",
            s.full_name.as_deref(),
            len::FULL_NAME,
            "FullName",
        );
    }
    r.date(
        "MessageHeader.DueDate",
        h.due_date.as_deref(),
        false,
        "DueDate",
    );
    if let Some(o) = &h.other_info {
        let priorities: Vec<&str> = Priority::ALL.iter().map(|p| p.code()).collect();
        r.domain(
            "MessageHeader.OtherInfo.Priority",
            present(o.priority.as_deref()),
            &priorities,
            "Priority",
        );
        r.max(
            "MessageHeader.OtherInfo.SphereOfPromulgation",
            o.sphere_of_promulgation.as_deref(),
            len::SPHERE,
            "SphereOfPromulgation",
        );
        r.max(
            "MessageHeader.OtherInfo.TyperNotation",
            o.typer_notation.as_deref(),
            len::TYPER_NOTATION,
            "TyperNotation",
        );
        r.unsigned_short(
            "MessageHeader.OtherInfo.PromulgationAmount",
            o.promulgation_amount.as_deref(),
            "PromulgationAmount",
        );
        r.unsigned_short(
            "MessageHeader.OtherInfo.PageAmount",
            o.page_amount.as_deref(),
            "PageAmount",
        );
        r.domain(
            "MessageHeader.OtherInfo.Direction",
            present(o.direction.as_deref()),
            &["true", "false"],
            "Direction",
        );
        for (i, a) in o.appendixes.iter().flatten().enumerate() {
            r.max(
                "MessageHeader.OtherInfo.Appendixes.Appendix",
                Some(a),
                len::APPENDIX,
                &format!("Appendix #{}", i + 1),
            );
        }
    }
    // Both readings of SteeringType are in use (0–2 and 1–3), so 0–3 is accepted.
    r.domain(
        "MessageHeader.SteeringType",
        present(h.steering_type.as_deref()),
        &["0", "1", "2", "3"],
        "SteeringType",
    );
    for (i, p) in h.to_places.iter().flatten().enumerate() {
        r.max(
            "MessageHeader.ToPlaces.Place",
            Some(p),
            len::TO_PLACE,
            &format!("Place #{}", i + 1),
        );
    }
    for (i, rf) in h.response_for.iter().enumerate() {
        r.response_for(
            "MessageHeader.ResponseFor",
            rf,
            &format!("ResponseFor #{}", i + 1),
        );
    }
}

fn trace_header_list(r: &mut Rules, list: &TraceHeaderList) {
    for (i, t) in list.trace_header.iter().enumerate() {
        let what = format!("TraceHeader #{}", i + 1);
        r.organ_id(
            "TraceHeaderList.TraceHeader.OrganId",
            Some(&t.organ_id),
            true,
            &what,
        );
        r.timestamp(
            "TraceHeaderList.TraceHeader.Timestamp",
            Some(&t.timestamp),
            &format!("{what} Timestamp"),
        );
    }
    if let Some(b) = &list.bussiness {
        bussiness(r, b);
    }
}

fn bussiness(r: &mut Rules, b: &Bussiness) {
    const BASE: &str = "TraceHeaderList.Bussiness";
    let types: Vec<&str> = BussinessDocType::ALL.iter().map(|t| t.code()).collect();
    if r.required(
        &format!("{BASE}.BussinessDocType"),
        Some(&b.bussiness_doc_type),
        1,
        "BussinessDocType",
    )
    .is_some()
    {
        r.domain(
            &format!("{BASE}.BussinessDocType"),
            Some(&b.bussiness_doc_type),
            &types,
            "BussinessDocType",
        );
    }
    let kind = b.doc_type();
    // A revocation, update or replacement must say which document and why.
    let acts_on_existing = matches!(
        kind,
        Some(BussinessDocType::Revoke | BussinessDocType::Update | BussinessDocType::Replace)
    );
    r.document_id(
        &format!("{BASE}.DocumentId"),
        b.document_id.as_deref(),
        acts_on_existing,
    );
    if acts_on_existing {
        r.required(
            &format!("{BASE}.BussinessDocReason"),
            b.bussiness_doc_reason.as_deref(),
            len::REASON,
            "BussinessDocReason",
        );
    } else {
        r.max(
            &format!("{BASE}.BussinessDocReason"),
            b.bussiness_doc_reason.as_deref(),
            len::REASON,
            "BussinessDocReason",
        );
    }
    r.domain(
        &format!("{BASE}.Paper"),
        present(b.paper.as_deref()),
        &["0", "1"],
        "Paper",
    );
    if let Some(info) = &b.bussiness_document_info {
        let base = format!("{BASE}.BussinessDocumentInfo");
        r.domain(
            &format!("{base}.DocumentInfo"),
            present(info.document_info.as_deref()),
            &["0", "1"],
            "DocumentInfo",
        );
        r.domain(
            &format!("{base}.DocumentReceiver"),
            present(info.document_receiver.as_deref()),
            &["0", "1"],
            "DocumentReceiver",
        );
        let receivers = info.receiver_list.as_deref().unwrap_or_default();
        if info.document_receiver.as_deref() == Some("1") && receivers.is_empty() {
            r.issues.push(Issue::missing(
                &format!("{base}.ReceiverList"),
                "DocumentReceiver is 1 (recipients changed) but ReceiverList is empty",
            ));
        }
        let mut seen = HashSet::new();
        for (i, rc) in receivers.iter().enumerate() {
            let what = format!("Receiver #{}", i + 1);
            r.organ_id(
                &format!("{base}.ReceiverList.Receiver.OrganId"),
                Some(&rc.organ_id),
                true,
                &what,
            );
            if !rc.organ_id.is_empty() && !seen.insert(rc.organ_id.as_str()) {
                r.issues.push(Issue::not_allowed(
                    &format!("{base}.ReceiverList.Receiver.OrganId"),
                    format!("{what} repeats OrganId {}", rc.organ_id),
                ));
            }
            let path = format!("{base}.ReceiverList.Receiver.ReceiverType");
            if r.required(
                &path,
                Some(&rc.receiver_type),
                1,
                &format!("{what} ReceiverType"),
            )
            .is_some()
            {
                r.domain(
                    &path,
                    Some(&rc.receiver_type),
                    &["0", "1"],
                    &format!("{what} ReceiverType"),
                );
            }
        }
    }
    if let Some(s) = &b.staff_info {
        r.staff(&format!("{BASE}.StaffInfo"), s);
    }
    let replacements = b.replacement_info_list.as_deref().unwrap_or_default();
    if kind == Some(BussinessDocType::Replace) && replacements.is_empty() {
        r.issues.push(Issue::missing(
            &format!("{BASE}.ReplacementInfoList"),
            "a replacement (BussinessDocType 3) must list the replaced documents",
        ));
    }
    for (i, rep) in replacements.iter().enumerate() {
        let base = format!("{BASE}.ReplacementInfoList.ReplacementInfo");
        r.document_id(&format!("{base}.DocumentId"), Some(&rep.document_id), true);
        if rep.organ_id_list.is_empty() {
            r.issues.push(Issue::missing(
                &format!("{base}.OrganIdList"),
                format!("ReplacementInfo #{} lists no OrganId", i + 1),
            ));
        }
        for id in &rep.organ_id_list {
            r.organ_id(
                &format!("{base}.OrganIdList.OrganId"),
                Some(id),
                true,
                &format!("ReplacementInfo #{}", i + 1),
            );
        }
    }
}

/// Manifest against attachments: every Reference has its Attachment (same ContentId, name
/// and type), every Attachment is referenced, no ContentId twice.
pub fn validate_attachments(
    manifest: &[AttachmentMeta],
    attachments: &[AttachmentInfo],
) -> Vec<Issue> {
    let mut r = Rules::default();
    let mut seen = HashSet::new();
    for (i, m) in manifest.iter().enumerate() {
        let what = format!("Reference #{}", i + 1);
        const BASE: &str = "edXMLManifest.Reference";
        r.required(
            &format!("{BASE}.ContentId"),
            Some(&m.content_id),
            len::ATTACHMENT_NAME,
            &format!("{what} ContentId"),
        );
        r.required(
            &format!("{BASE}.AttachmentName"),
            Some(&m.attachment_name),
            len::ATTACHMENT_NAME,
            &format!("{what} AttachmentName"),
        );
        r.required(
            &format!("{BASE}.ContentType"),
            Some(&m.content_type),
            len::CONTENT_TYPE,
            &format!("{what} ContentType"),
        );
        r.max(
            &format!("{BASE}.Description"),
            m.description.as_deref(),
            len::DESCRIPTION,
            &format!("{what} Description"),
        );
        if !m.content_id.is_empty() && !seen.insert(m.content_id.as_str()) {
            r.issues.push(Issue::not_allowed(
                &format!("{BASE}.ContentId"),
                format!("{what} repeats ContentId {}", m.content_id),
            ));
        }
        match attachments
            .iter()
            .find(|a| a.meta.content_id == m.content_id)
        {
            None => r.issues.push(Issue::missing(
                "AttachmentEncoded.Attachment",
                format!("{what} ({}) has no Attachment", m.content_id),
            )),
            Some(a) => {
                if a.meta.attachment_name != m.attachment_name {
                    r.issues.push(Issue::not_allowed(
                        "AttachmentEncoded.Attachment.AttachmentName",
                        format!(
                            "attachment {} is named '{}' but the manifest says '{}'",
                            m.content_id, a.meta.attachment_name, m.attachment_name
                        ),
                    ));
                }
                if a.meta.content_type != m.content_type {
                    r.issues.push(Issue::not_allowed(
                        "AttachmentEncoded.Attachment.ContentType",
                        format!(
                            "attachment {} has type '{}' but the manifest says '{}'",
                            m.content_id, a.meta.content_type, m.content_type
                        ),
                    ));
                }
            }
        }
    }
    for a in attachments {
        if !manifest.iter().any(|m| m.content_id == a.meta.content_id) {
            r.issues.push(Issue::not_allowed(
                "AttachmentEncoded.Attachment.ContentId",
                format!("attachment {} is not in the manifest", a.meta.content_id),
            ));
        }
    }
    let mut once = HashSet::new();
    for a in attachments {
        if !once.insert(a.meta.content_id.as_str()) {
            r.issues.push(Issue::not_allowed(
                "AttachmentEncoded.Attachment.ContentId",
                format!("ContentId {} is used by two attachments", a.meta.content_id),
            ));
        }
    }
    r.issues
}

/// Rules of a status package (§1.4).
pub fn validate_status(package: &StatusPackage) -> Vec<Issue> {
    let mut r = Rules::default();
    r.organization("MessageHeader.From", &package.from, "From");
    r.response_for(
        "MessageHeader.ResponseFor",
        &package.response_for,
        "ResponseFor",
    );
    if let Some(s) = &package.staff_info {
        r.staff("MessageHeader.StaffInfo", s);
    }
    let codes: Vec<&str> = StatusCode::ALL.iter().map(|c| c.code()).collect();
    if r.required(
        "MessageHeader.StatusCode",
        Some(&package.status_code),
        2,
        "StatusCode",
    )
    .is_some()
    {
        r.domain(
            "MessageHeader.StatusCode",
            Some(&package.status_code),
            &codes,
            "StatusCode",
        );
    }
    r.max(
        "MessageHeader.Description",
        package.description.as_deref(),
        len::DESCRIPTION,
        "Description",
    );
    r.timestamp(
        "MessageHeader.Timestamp",
        Some(&package.timestamp),
        "Timestamp",
    );
    r.issues
}

/// Every rule of a parsed document package: what reading found, the header, the attachments.
pub fn validate_parsed_document(parsed: &ParsedDocument) -> Vec<Issue> {
    let mut issues = parsed.issues.clone();
    issues.extend(validate_document(&parsed.package));
    issues.extend(validate_attachments(&parsed.manifest, &parsed.attachments));
    issues
}

/// Every rule of a parsed package of either kind.
pub fn validate_package(package: &Package) -> Vec<Issue> {
    match package {
        Package::Document(d) => validate_parsed_document(d),
        Package::Status(s) => validate_status(&s.package),
    }
}

/// The structural check of a whole file: parse (attachments decoded and dropped), then every
/// rule. `Err` when the file cannot be read as an edXML package at all.
pub fn check_structure<R: BufRead>(input: R) -> Result<(Package, Vec<Issue>), ReadError> {
    let package = read_package(input, &mut DiscardSink)?;
    let issues = validate_package(&package);
    Ok((package, issues))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organ_id_shape() {
        assert!(is_organ_id("000.00.00.G22"));
        assert!(is_organ_id("000.00.12.H53"));
        assert!(!is_organ_id("28.22.H17"));
        assert!(!is_organ_id("000.00.00.g22"));
        assert!(!is_organ_id("000.00.00.G2"));
        assert!(!is_organ_id("000.0a.00.G22"));
    }

    #[test]
    fn document_id_shape() {
        assert_eq!(
            document_id_problem("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"),
            None
        );
        assert!(document_id_problem("000.00.00.G22,2015/09/30").is_some());
        assert!(document_id_problem("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT").is_some());
        assert!(document_id_problem("000.00.00.G22,2015/09/30,7816").is_some());
        assert!(document_id_problem("G22,2015/09/30,7816/VPCP").is_some());
    }
}
