//! Document management for officials (quản lý văn bản, Nghị định 30): the documents home
//! with what waits for the viewer, incoming documents (register, registration form,
//! assignment by a leader, handling) in [`incoming`], outgoing documents (drafting, review,
//! signing, release, dispatch and the recipients' status) in [`outgoing`].
//!
//! Paths: `/van-ban`, `/van-ban/den…`, `/van-ban/di…`. Every handler calls the services of
//! `tinhso_documents`, which decide access; the pages only avoid offering forms that would
//! be refused. Refusals (403, 404) show the error page; other failures show the page again
//! with the message beside the form and what was typed kept.

mod incoming;
mod outgoing;

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use tinhso_core::ErrorCode;
use tinhso_core::access::Action;
use tinhso_documents::domain::metadata::Metadata;
use tinhso_documents::domain::types::{Confidentiality, DOC_TYPES, Urgency};
use tinhso_documents::domain::workflow::{IncomingStatus, OutgoingStatus};
use tinhso_platform::org::Agency;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::{Lang, has_key, t};
use crate::pages::multipart::{Part, field};
use crate::pages::officer::{home_agency, may, officer_error};
use crate::pages::{PageCtx, render};
use crate::session::Viewer;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/van-ban", get(home))
        .route("/van-ban/den", get(incoming::list))
        .route(
            "/van-ban/den/moi",
            get(incoming::new_form).post(incoming::create),
        )
        .route("/van-ban/den/{id}", get(incoming::show))
        .route("/van-ban/den/{id}/phan-cong", post(incoming::assign))
        .route("/van-ban/den/{id}/xu-ly", post(incoming::handle))
        .route("/van-ban/di", get(outgoing::list))
        .route(
            "/van-ban/di/moi",
            get(outgoing::new_form).post(outgoing::create),
        )
        .route("/van-ban/di/{id}", get(outgoing::show))
        .route("/van-ban/di/{id}/phien-ban", post(outgoing::new_version))
        .route("/van-ban/di/{id}/duyet", post(outgoing::review))
        .route("/van-ban/di/{id}/ky", post(outgoing::sign))
        .route("/van-ban/di/{id}/ky-so", post(outgoing::sign_on_server))
        .route("/van-ban/di/{id}/phat-hanh", post(outgoing::release))
        .route("/van-ban/di/{id}/noi-nhan", post(outgoing::recipients))
        .route("/van-ban/di/{id}/thu-hoi", post(outgoing::revoke))
}

// ------------------------------------------------------------------ shared helpers

/// The agency whose documents the viewer works with (their first grant that sees
/// documents); 403 for anyone who sees none.
async fn documents_agency(state: &AppState, viewer: &Viewer) -> WebResult<Agency> {
    viewer.require_official()?;
    if !may(viewer, Action::ViewDocuments) {
        return Err(forbidden());
    }
    home_agency(state, viewer, Action::ViewDocuments)
        .await?
        .ok_or_else(forbidden)
}

/// The query of a document page: `done` names the action that just succeeded (its flash).
#[derive(Debug, Default, serde::Deserialize)]
pub struct ShowQuery {
    #[serde(default)]
    done: String,
}

/// The common start of a new-document form post (registration, drafting): the multipart
/// parts, the CSRF check, the viewer's documents agency and the right the form needs.
async fn new_document_form(
    state: &AppState,
    viewer: &Viewer,
    headers: &axum::http::HeaderMap,
    body: &[u8],
    right: Action,
) -> WebResult<(Vec<Part>, tinhso_platform::org::Agency)> {
    let parts = crate::pages::multipart::parts_of(headers, body)?;
    viewer.check_csrf(
        &state.platform.session_key,
        &crate::pages::multipart::field(&parts, "csrf_token"),
    )?;
    let agency = documents_agency(state, viewer).await?;
    if !may(viewer, right) {
        return Err(forbidden());
    }
    Ok((parts, agency))
}

fn forbidden() -> WebError {
    WebError::Status(StatusCode::FORBIDDEN, "forbidden")
}

/// The viewer's account id (pages run only for logged-in officials).
fn me(viewer: &Viewer) -> i64 {
    viewer
        .session
        .as_ref()
        .map(|s| s.principal.user_id)
        .unwrap_or_default()
}

/// Refusals and missing objects go to the error page (403/404), never to a form message:
/// an official without the right must not see the page as if it could work.
fn is_refusal(error: &WebError) -> bool {
    match error {
        WebError::Platform(e) => matches!(
            e.code(),
            ErrorCode::Forbidden | ErrorCode::NotFound | ErrorCode::Unauthenticated
        ),
        _ => true,
    }
}

/// The rule key of a failed service call, when it has one.
fn rule_of(error: &WebError) -> Option<&'static str> {
    match error {
        WebError::Platform(tinhso_platform::Error::Domain(d)) => d.rule,
        _ => None,
    }
}

/// The Vietnamese message of a failed call (the rule's own text when the table has it).
fn message_of(lang: Lang, error: &WebError) -> String {
    match rule_of(error) {
        Some(rule) if has_key(rule) && !is_refusal(error) => t(lang, rule).to_owned(),
        _ => officer_error(lang, error),
    }
}

/// The form field a rule key points at (`document.subject.required` → `subject`).
fn field_of_rule(rule: &str) -> Option<&'static str> {
    const FIELDS: &[&str] = &[
        "subject",
        "code_number",
        "code_notation",
        "issued_date",
        "organ_id",
        "organ_name",
        "signer_position",
        "signer_name",
        "page_amount",
        "description",
        "due_date",
        "to_places",
        "document_id",
        "file",
        "unit_abbreviation",
        "urgency",
        "confidentiality",
    ];
    let rest = rule.strip_prefix("document.")?;
    let name = rest.split('.').next()?;
    match name {
        "type" => Some("type_code"),
        "code" => Some("code_number"),
        "identifier" => Some("document_id"),
        "unit" => Some("unit_abbreviation"),
        _ => FIELDS.iter().find(|f| **f == name).copied(),
    }
}

/// The message of each field that needs correcting, by input name.
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(HashMap<String, String>);

impl FieldErrors {
    /// Takes `&str` so templates can pass a macro's argument (a `&&str`) as it is.
    pub fn get(&self, name: &str) -> Option<&String> {
        self.0.get(name)
    }

    /// The input the error summary links to.
    pub fn field(&self) -> Option<&str> {
        self.0.keys().next().map(String::as_str)
    }
}

/// Field errors of a failed registration or draft: beside the field when the rule names
/// one, otherwise the page's summary message.
fn form_errors(lang: Lang, error: &WebError) -> (FieldErrors, Option<String>) {
    let message = message_of(lang, error);
    match rule_of(error).and_then(field_of_rule) {
        Some(name) => (
            FieldErrors(HashMap::from([(name.to_owned(), message.clone())])),
            Some(message),
        ),
        None => (FieldErrors::default(), Some(message)),
    }
}

/// A field error the pages find themselves (a date that is not one).
fn invalid(rule: &'static str) -> WebError {
    tinhso_core::DomainError::invalid(rule.to_owned())
        .with_rule(rule)
        .into()
}

/// The flash message of `?done=…` after a successful action.
fn notice_of(lang: Lang, done: &str) -> Option<String> {
    if done.is_empty() {
        return None;
    }
    let key = format!("documents.done.{done}");
    Some(if has_key(&key) {
        t(lang, &key).to_owned()
    } else {
        t(lang, "documents.done").to_owned()
    })
}

/// `15/03/2026` of a date.
fn day(date: Option<chrono::NaiveDate>) -> String {
    date.map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default()
}

fn today(viewer: &Viewer) -> chrono::NaiveDate {
    tinhso_core::calendar::vietnam_instant(viewer.now_ms).date_naive()
}

/// Whether `text` contains the search words, diacritics and case aside.
fn matches_search(needle: &str, haystack: &[&str]) -> bool {
    let needle = tinhso_platform::search::normalize(needle);
    if needle.trim().is_empty() {
        return true;
    }
    let hay = tinhso_platform::search::normalize(&haystack.join(" "));
    needle.split_whitespace().all(|w| hay.contains(w))
}

fn incoming_status_key(s: IncomingStatus) -> String {
    format!("documents.in_status.{}", s.as_str())
}

fn outgoing_status_key(s: OutgoingStatus) -> String {
    format!("documents.out_status.{}", s.as_str())
}

/// A document type's Vietnamese name (Phụ lục III), or the code when unknown.
fn type_name(code: &str) -> String {
    DOC_TYPES
        .iter()
        .find(|d| d.code == code)
        .map(|d| d.name_vi.to_owned())
        .unwrap_or_else(|| code.to_owned())
}

/// (value, label) choices of the metadata form.
pub struct Choices {
    pub types: Vec<(&'static str, &'static str)>,
    pub urgencies: Vec<(String, &'static str)>,
    pub confidentialities: Vec<(String, &'static str)>,
}

impl Choices {
    fn new() -> Self {
        Self {
            types: DOC_TYPES.iter().map(|d| (d.code, d.name_vi)).collect(),
            urgencies: Urgency::ALL
                .iter()
                .map(|u| (u.priority().to_string(), u.name_vi()))
                .collect(),
            confidentialities: Confidentiality::ALL
                .iter()
                .map(|c| (c.level().to_string(), c.name_vi()))
                .collect(),
        }
    }
}

/// The metadata form as typed (kept when the form comes back with errors).
#[derive(Debug, Clone, Default)]
pub struct MetaForm {
    pub type_code: String,
    pub subject: String,
    pub code_number: String,
    pub code_notation: String,
    pub issued_date: String,
    pub organ_id: String,
    pub organ_name: String,
    pub signer_position: String,
    pub signer_name: String,
    pub page_amount: String,
    pub urgency: String,
    pub confidentiality: String,
    pub due_date: String,
    pub description: String,
    pub to_places: String,
}

impl MetaForm {
    fn from_parts(parts: &[Part]) -> Self {
        let f = |name: &str| field(parts, name).trim().to_owned();
        Self {
            type_code: f("type_code"),
            subject: f("subject"),
            code_number: f("code_number"),
            code_notation: f("code_notation"),
            issued_date: f("issued_date"),
            organ_id: f("organ_id"),
            organ_name: f("organ_name"),
            signer_position: f("signer_position"),
            signer_name: f("signer_name"),
            page_amount: f("page_amount"),
            urgency: f("urgency"),
            confidentiality: f("confidentiality"),
            due_date: f("due_date"),
            description: f("description"),
            to_places: field(parts, "to_places"),
        }
    }

    /// The metadata, or the rule of the first field that is not well-formed (the services
    /// check the rest).
    fn metadata(&self) -> WebResult<Metadata> {
        let date = |value: &str, rule: &'static str| -> WebResult<Option<chrono::NaiveDate>> {
            if value.is_empty() {
                return Ok(None);
            }
            chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| invalid(rule))
        };
        let level = |value: &str, rule: &'static str| -> WebResult<i64> {
            if value.is_empty() {
                return Ok(0);
            }
            value.parse().map_err(|_| invalid(rule))
        };
        Ok(Metadata {
            type_code: self.type_code.clone(),
            subject: self.subject.clone(),
            code_number: self.code_number.clone(),
            code_notation: self.code_notation.clone(),
            issued_date: date(&self.issued_date, "document.issued_date.invalid")?,
            organ_id: self.organ_id.clone(),
            organ_name: self.organ_name.clone(),
            signer_position: self.signer_position.clone(),
            signer_name: self.signer_name.clone(),
            page_amount: level(&self.page_amount, "document.page_amount.out_of_range")?,
            issued_amount: 0,
            language: String::new(),
            description: self.description.clone(),
            due_date: date(&self.due_date, "document.due_date.invalid")?,
            to_places: self
                .to_places
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            urgency: Urgency::from_priority(level(&self.urgency, "document.urgency.unknown")?)
                .map_err(|e| WebError::from(tinhso_platform::Error::from(e)))?,
            confidentiality: Confidentiality::from_level(level(
                &self.confidentiality,
                "document.confidentiality.unknown",
            )?)
            .map_err(|e| WebError::from(tinhso_platform::Error::from(e)))?,
        })
    }
}

/// The uploaded file of a multipart form's `name` input, when one was chosen.
fn file_part<'a>(parts: &'a [Part], name: &str) -> Option<&'a Part> {
    parts.iter().find(|p| {
        p.name == name && p.filename.as_deref().is_some_and(|f| !f.is_empty()) && !p.data.is_empty()
    })
}

/// Stores the chosen file of input `name` (scanned and typed by the documents service).
async fn store_file(
    state: &AppState,
    viewer: &Viewer,
    parts: &[Part],
    name: &str,
) -> WebResult<Option<i64>> {
    match file_part(parts, name) {
        Some(part) => {
            let filename = part.filename.clone().unwrap_or_default();
            let view = tinhso_documents::files::store(
                &state.platform,
                &viewer.ctx(),
                &filename,
                &part.data,
            )
            .await?;
            Ok(Some(view.id))
        }
        None => Ok(None),
    }
}

/// One file as the pages list it.
pub struct FileLine {
    pub id: i64,
    pub filename: String,
    pub size: String,
    /// What verifying the file's digital signatures found, when it was checked.
    pub signature: Option<SignatureLine>,
}

/// A file's signature verdict as the page shows it: the status (a translation key suffix
/// and a CSS class), the problem's code translated, and one line per signature.
pub struct SignatureLine {
    pub status: String,
    pub problem: String,
    pub signers: Vec<SignerLine>,
}

impl SignatureLine {
    pub fn status_key(&self) -> &'static str {
        match self.status.as_str() {
            "valid" => "documents.signature.valid",
            "invalid" => "documents.signature.invalid",
            "untrusted" => "documents.signature.untrusted",
            _ => "documents.signature.unsigned",
        }
    }
}

pub struct SignerLine {
    pub name: String,
    pub organization: String,
    pub time: String,
    pub timestamped: bool,
}

fn file_lines(
    files: &[tinhso_documents::files::FileView],
    verdicts: &[tinhso_documents::signatures::FileSignatures],
) -> Vec<FileLine> {
    files.iter().map(|f| file_line(f, verdicts)).collect()
}

fn file_line(
    f: &tinhso_documents::files::FileView,
    verdicts: &[tinhso_documents::signatures::FileSignatures],
) -> FileLine {
    FileLine {
        id: f.id,
        filename: f.filename.clone(),
        size: format!("{} KB", (f.size_bytes + 1023) / 1024),
        signature: verdicts
            .iter()
            .find(|v| v.file_id == f.id)
            .map(signature_line),
    }
}

fn signature_line(v: &tinhso_documents::signatures::FileSignatures) -> SignatureLine {
    SignatureLine {
        status: v.status.clone(),
        problem: v.problem.clone().unwrap_or_default(),
        signers: v
            .signatures
            .iter()
            .map(|s| SignerLine {
                name: s.signer_name.clone().unwrap_or_default(),
                organization: s.organization.clone().unwrap_or_default(),
                time: s
                    .timestamp_ms
                    .or(s.signing_ms)
                    .map(crate::format::vn_datetime)
                    .unwrap_or_default(),
                timestamped: s.timestamp,
            })
            .collect(),
    }
}

/// Display names of the accounts a page names, looked up once each.
async fn names(
    state: &AppState,
    ids: impl Iterator<Item = i64>,
) -> WebResult<HashMap<i64, String>> {
    let mut out = HashMap::new();
    for id in ids {
        if let std::collections::hash_map::Entry::Vacant(slot) = out.entry(id)
            && let Some(user) = tinhso_platform::identity::user_by_id(&state.platform, id).await?
        {
            slot.insert(user.display_name);
        }
    }
    Ok(out)
}

// ------------------------------------------------------------------ home

/// One count of the home page with its filtered list.
pub struct Count {
    pub key: &'static str,
    pub value: usize,
    pub href: &'static str,
    pub alert: bool,
}

#[derive(Template)]
#[template(path = "documents/home.html")]
struct HomePage<'a> {
    page: &'a PageCtx,
    agency_name: String,
    counts: Vec<Count>,
    may_register: bool,
    may_draft: bool,
}

/// `GET /van-ban`: what waits for the viewer, by their rights.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    let agency = documents_agency(&state, &viewer).await?;
    let ctx = viewer.ctx();
    let incoming =
        tinhso_documents::incoming::list(&state.platform, &ctx, &agency.code, None).await?;
    let outgoing = tinhso_documents::outgoing::list(&state.platform, &ctx, &agency.code).await?;
    let today = today(&viewer);
    let count_in = |f: &dyn Fn(&tinhso_documents::incoming::IncomingSummary) -> bool| {
        incoming.iter().filter(|d| f(d)).count()
    };
    let count_out = |statuses: &[OutgoingStatus]| {
        outgoing
            .iter()
            .filter(|d| statuses.contains(&d.status))
            .count()
    };
    let leader = may(&viewer, Action::AssignDocuments);
    let clerk = may(&viewer, Action::RegisterDocuments);
    let approver = may(&viewer, Action::ApproveDocuments);
    let mut counts = Vec::new();
    if leader || clerk {
        counts.push(Count {
            key: "documents.count.registered",
            value: count_in(&|d| d.status == IncomingStatus::Registered),
            href: "/van-ban/den?status=registered",
            alert: false,
        });
    }
    counts.push(Count {
        key: "documents.count.in_progress",
        value: count_in(&|d| {
            matches!(
                d.status,
                IncomingStatus::Assigned | IncomingStatus::InProgress
            )
        }),
        href: "/van-ban/den?status=open",
        alert: false,
    });
    counts.push(Count {
        key: "documents.count.overdue",
        value: count_in(&|d| is_overdue(d.status, d.deadline, today)),
        href: "/van-ban/den?status=overdue",
        alert: true,
    });
    if approver || may(&viewer, Action::DraftDocuments) {
        counts.push(Count {
            key: "documents.count.drafts",
            value: count_out(&[OutgoingStatus::Draft]),
            href: "/van-ban/di?status=draft",
            alert: false,
        });
        counts.push(Count {
            key: "documents.count.to_approve",
            value: count_out(&[OutgoingStatus::Submitted, OutgoingStatus::Reviewed]),
            href: "/van-ban/di?status=to_approve",
            alert: false,
        });
    }
    if approver {
        counts.push(Count {
            key: "documents.count.to_sign",
            value: count_out(&[OutgoingStatus::Approved]),
            href: "/van-ban/di?status=approved",
            alert: false,
        });
    }
    if clerk {
        counts.push(Count {
            key: "documents.count.to_release",
            value: count_out(&[OutgoingStatus::Signed]),
            href: "/van-ban/di?status=signed",
            alert: false,
        });
    }
    let page = PageCtx::new(&state, &viewer, "/van-ban");
    render(&HomePage {
        page: &page,
        agency_name: agency.name,
        counts,
        may_register: clerk,
        may_draft: may(&viewer, Action::DraftDocuments),
    })
}

/// An incoming document past its handling deadline and not done.
fn is_overdue(
    status: IncomingStatus,
    deadline: Option<chrono::NaiveDate>,
    today: chrono::NaiveDate,
) -> bool {
    status != IncomingStatus::Done && deadline.is_some_and(|d| d < today)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_point_at_their_fields() {
        assert_eq!(field_of_rule("document.subject.required"), Some("subject"));
        assert_eq!(
            field_of_rule("document.code.incomplete"),
            Some("code_number")
        );
        assert_eq!(field_of_rule("document.type.unknown"), Some("type_code"));
        assert_eq!(field_of_rule("document.organ_id.invalid"), Some("organ_id"));
        assert_eq!(field_of_rule("document.duplicate"), None);
        assert_eq!(field_of_rule("queue.desk"), None);
    }

    #[test]
    fn search_ignores_diacritics_and_case() {
        assert!(matches_search("ke hoach", &["Kế hoạch chuyển đổi số"]));
        assert!(matches_search("", &["x"]));
        assert!(matches_search("145/kh", &["145/KH-UBND"]));
        assert!(!matches_search("báo cáo", &["Kế hoạch"]));
    }
}
