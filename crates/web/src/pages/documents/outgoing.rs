//! Outgoing documents (văn bản đi): the list and register, the drafting form (also for a
//! reply to an incoming document), the document page with versions, review and approval,
//! signing (the signed PDF is uploaded), release with its number, dispatch, the
//! recipients' transport and business status, recipient changes and revocation.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tinhso_core::access::Action;
use tinhso_documents::domain::workflow::{OutgoingStatus, OutgoingStep, check_business_status};
use tinhso_documents::outgoing::{
    self as service, NewDraft, NewVersion, OutgoingView, RecipientChange, RecipientInput, SignInput,
};

use super::new_document_form;
use super::{
    Choices, FieldErrors, FileLine, MetaForm, ShowQuery, day, documents_agency, file_line,
    forbidden, form_errors, invalid, is_refusal, matches_search, me, message_of, names, notice_of,
    outgoing_status_key, store_file, type_name,
};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::format::vn_datetime;
use crate::pages::multipart::{field, parts_of};
use crate::pages::officer::may;
use crate::pages::{PageCtx, render, render_form, render_with_status};
use crate::session::Viewer;

// ------------------------------------------------------------------ the list and register

pub struct Line {
    pub id: i64,
    pub code: String,
    pub subject: String,
    pub status: String,
    pub status_value: &'static str,
    pub created: String,
    pub released: String,
    pub secret: bool,
}

#[derive(Template)]
#[template(path = "documents/outgoing_list.html")]
struct ListPage<'a> {
    page: &'a PageCtx,
    agency_code: String,
    agency_name: String,
    year: i32,
    status: String,
    q: String,
    statuses: Vec<(&'static str, String)>,
    lines: Vec<Line>,
    may_draft: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    q: String,
}

const ALL_STATUSES: [OutgoingStatus; 8] = [
    OutgoingStatus::Draft,
    OutgoingStatus::Submitted,
    OutgoingStatus::Reviewed,
    OutgoingStatus::Approved,
    OutgoingStatus::Signed,
    OutgoingStatus::Released,
    OutgoingStatus::Dispatched,
    OutgoingStatus::Revoked,
];

/// The statuses a filter value selects (`to_approve` and `register` are groups).
fn filter_statuses(filter: &str) -> Vec<OutgoingStatus> {
    match filter {
        "to_approve" => vec![OutgoingStatus::Submitted, OutgoingStatus::Reviewed],
        "register" => vec![
            OutgoingStatus::Released,
            OutgoingStatus::Dispatched,
            OutgoingStatus::Revoked,
        ],
        s => ALL_STATUSES
            .into_iter()
            .filter(|x| s.is_empty() || x.as_str() == s)
            .collect(),
    }
}

/// `GET /van-ban/di`: the outgoing documents of the viewer's agency (the register with
/// `?status=register`).
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let agency = documents_agency(&state, &viewer).await?;
    let wanted = filter_statuses(&q.status);
    let lines = service::list(&state.platform, &viewer.ctx(), &agency.code)
        .await?
        .into_iter()
        .filter(|d| wanted.contains(&d.status))
        .filter(|d| matches_search(&q.q, &[d.code.as_deref().unwrap_or_default(), &d.subject]))
        .map(|d| Line {
            id: d.id,
            code: d.code.unwrap_or_default(),
            subject: d.subject,
            status: outgoing_status_key(d.status),
            status_value: d.status.as_str(),
            created: vn_datetime(d.created_ms),
            released: d.released_ms.map(vn_datetime).unwrap_or_default(),
            secret: d.confidentiality.is_secret(),
        })
        .collect();
    let mut statuses = vec![
        ("to_approve", "documents.filter.to_approve".to_owned()),
        ("register", "documents.filter.register".to_owned()),
    ];
    statuses.extend(
        ALL_STATUSES
            .iter()
            .map(|s| (s.as_str(), outgoing_status_key(*s))),
    );
    let page = PageCtx::new(&state, &viewer, "/van-ban/di");
    render(&ListPage {
        page: &page,
        agency_code: agency.code,
        agency_name: agency.name,
        year: chrono::Datelike::year(&super::today(&viewer)),
        status: q.status,
        q: q.q,
        statuses,
        lines,
        may_draft: may(&viewer, Action::DraftDocuments),
    })
}

// ------------------------------------------------------------------ drafting

#[derive(Template)]
#[template(path = "documents/outgoing_new.html")]
struct NewPage<'a> {
    page: &'a PageCtx,
    agency_name: String,
    choices: Choices,
    units: Vec<(String, String)>,
    values: MetaForm,
    unit: String,
    note: String,
    response_for: Option<(i64, String)>,
    errors: FieldErrors,
    error: Option<String>,
}

#[derive(Default)]
struct NewForm {
    values: MetaForm,
    unit: String,
    note: String,
    response_for: Option<i64>,
    errors: FieldErrors,
    error: Option<String>,
}

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    form: NewForm,
    status: StatusCode,
) -> WebResult<Response> {
    let agency = documents_agency(state, viewer).await?;
    if !may(viewer, Action::DraftDocuments) {
        return Err(forbidden());
    }
    let ctx = viewer.ctx();
    let units = tinhso_documents::settings::get(&state.platform, &ctx, &agency.code)
        .await
        .map(|s| {
            s.units
                .into_iter()
                .map(|u| (u.abbreviation, u.name))
                .collect()
        })
        .unwrap_or_default();
    let response_for = match form.response_for {
        Some(id) => {
            let answered = tinhso_documents::incoming::get(&state.platform, &ctx, id).await?;
            let label = if answered.code.is_empty() {
                answered.metadata.subject.clone()
            } else {
                format!("{} — {}", answered.code, answered.metadata.subject)
            };
            Some((id, label))
        }
        None => None,
    };
    let page = PageCtx::new(state, viewer, "/van-ban/di/moi");
    let template = NewPage {
        page: &page,
        agency_name: agency.name,
        choices: Choices::new(),
        units,
        values: form.values,
        unit: form.unit,
        note: form.note,
        response_for,
        errors: form.errors,
        error: form.error,
    };
    if status == StatusCode::OK {
        render(&template)
    } else {
        render_with_status(status, &template)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NewQuery {
    /// The incoming document this draft answers.
    #[serde(default)]
    tra_loi: Option<i64>,
}

/// `GET /van-ban/di/moi[?tra_loi={incoming}]`: a new draft (a reply when answering).
pub async fn new_form(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<NewQuery>,
) -> WebResult<Response> {
    let form = NewForm {
        values: MetaForm {
            type_code: "official_letter".into(),
            urgency: "0".into(),
            confidentiality: "0".into(),
            ..MetaForm::default()
        },
        response_for: q.tra_loi,
        ..NewForm::default()
    };
    new_page(&state, &viewer, form, StatusCode::OK).await
}

/// `POST /van-ban/di/moi` (multipart): the draft with its first version's file.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let (parts, agency) =
        new_document_form(&state, &viewer, &headers, &body, Action::DraftDocuments).await?;
    let values = MetaForm::from_parts(&parts);
    let unit = field(&parts, "unit_abbreviation").trim().to_owned();
    let note = field(&parts, "note");
    let response_for = field(&parts, "response_for").trim().parse::<i64>().ok();
    let result = async {
        let metadata = values.metadata()?;
        metadata
            .check_outgoing()
            .map_err(|e| WebError::from(tinhso_platform::Error::from(e)))?;
        if super::file_part(&parts, "file").is_none() {
            return Err(invalid("document.file.required"));
        }
        let file_id = store_file(&state, &viewer, &parts, "file")
            .await?
            .unwrap_or_default();
        let input = NewDraft {
            agency_code: agency.code.clone(),
            metadata,
            unit_abbreviation: unit.clone(),
            file_id,
            response_for,
            note: note.clone(),
        };
        Ok(service::create_draft(&state.platform, &viewer.ctx(), &input).await?)
    }
    .await;
    match result {
        Ok(view) => {
            Ok(Redirect::to(&format!("/van-ban/di/{}?done=drafted", view.id)).into_response())
        }
        Err(e) if is_refusal(&e) => Err(e),
        Err(e) => {
            let (errors, error) = form_errors(viewer.lang, &e);
            let form = NewForm {
                values,
                unit,
                note,
                response_for,
                errors,
                error,
            };
            new_page(&state, &viewer, form, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

// ------------------------------------------------------------------ the document page

pub struct VersionLine {
    pub version: i64,
    pub file: Option<FileLine>,
    pub note: String,
    pub by: String,
    pub at: String,
}

pub struct ReviewLine {
    pub step: String,
    pub by: String,
    pub comment: String,
    pub at: String,
}

pub struct RecipientLine {
    pub organ_id: String,
    pub organ_name: String,
    pub kind: String,
    pub transport: String,
    pub transport_value: String,
    pub business: String,
    pub package: String,
    pub active: bool,
}

#[derive(Template)]
#[template(path = "documents/outgoing.html")]
struct ShowPage<'a> {
    page: &'a PageCtx,
    d: OutgoingView,
    type_name: String,
    status: String,
    urgency: &'static str,
    confidentiality: &'static str,
    code: String,
    issued: String,
    released: String,
    drafter: String,
    signed_file: Option<FileLine>,
    signed: String,
    versions: Vec<VersionLine>,
    reviews: Vec<ReviewLine>,
    recipients: Vec<RecipientLine>,
    agencies: Vec<(String, String)>,
    actions: Vec<&'static str>,
    signer_name: String,
    failed_form: String,
    comment: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The forms the document's status offers this viewer (the services decide for good).
fn actions_for(viewer: &Viewer, d: &OutgoingView) -> Vec<&'static str> {
    let drafter = d.drafter_id == me(viewer);
    let approver = may(viewer, Action::ApproveDocuments);
    let clerk = may(viewer, Action::RegisterDocuments);
    let mut out = Vec::new();
    let mut add = |ok: bool, name: &'static str| {
        if ok {
            out.push(name);
        }
    };
    use OutgoingStatus as S;
    match d.status {
        S::Draft => {
            add(drafter, "submit");
            add(drafter, "new_version");
        }
        S::Submitted => {
            add(approver && !drafter, "approve");
            add(approver && !drafter, "review");
            add(approver, "return");
        }
        S::Reviewed => {
            add(approver && !drafter, "approve");
            add(approver, "return");
        }
        S::Approved => {
            add(approver, "sign");
            add(approver, "return");
        }
        S::Signed => add(clerk, "release"),
        S::Released | S::Dispatched => {
            add(clerk, "dispatch");
            add(clerk, "revoke");
        }
        S::Revoked => {}
    }
    out
}

struct ShowInput {
    failed_form: String,
    comment: String,
    notice: Option<String>,
    error: Option<String>,
}

/// A business status code with its label (`05 — Đã phân công, đang xử lý`).
fn business_label(code: Option<&str>) -> String {
    match code {
        Some(c) => match check_business_status(c) {
            Ok(label) => format!("{c} — {label}"),
            Err(_) => c.to_owned(),
        },
        None => String::new(),
    }
}

async fn show_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    input: ShowInput,
) -> WebResult<Response> {
    let session = viewer.require_official()?;
    let d = service::get(&state.platform, &viewer.ctx(), id).await?;
    let people = names(
        state,
        std::iter::once(d.drafter_id)
            .chain(d.versions.iter().filter_map(|v| v.created_by))
            .chain(d.reviews.iter().filter_map(|r| r.user_id))
            .chain(d.signed_by),
    )
    .await?;
    let name = |id: Option<i64>, fallback: &str| {
        id.and_then(|i| people.get(&i).cloned())
            .unwrap_or_else(|| fallback.to_owned())
    };
    let actions = actions_for(viewer, &d);
    let agencies = if actions.contains(&"dispatch") {
        let taken: Vec<&str> = d
            .recipients
            .iter()
            .filter(|r| r.active)
            .map(|r| r.organ_id.as_str())
            .collect();
        let system = tinhso_platform::Ctx::system(viewer.now_ms);
        tinhso_platform::org::list_agencies(&state.platform, &system)
            .await?
            .into_iter()
            .filter(|a| a.active && a.code != d.agency_code && !taken.contains(&a.code.as_str()))
            .map(|a| (a.code, a.name))
            .collect()
    } else {
        Vec::new()
    };
    let page = PageCtx::new(state, viewer, &format!("/van-ban/di/{id}"));
    let failed = input.error.is_some();
    let template = ShowPage {
        page: &page,
        type_name: type_name(&d.metadata.type_code),
        status: outgoing_status_key(d.status),
        urgency: d.metadata.urgency.name_vi(),
        confidentiality: d.metadata.confidentiality.name_vi(),
        code: d.code.clone().unwrap_or_default(),
        issued: day(d.issued_date),
        released: d.released_ms.map(vn_datetime).unwrap_or_default(),
        drafter: name(Some(d.drafter_id), ""),
        signed_file: d.signed_file.as_ref().map(|f| file_line(f, &d.signatures)),
        signed: match (d.signed_by, d.signed_ms) {
            // As printed on the document; the account that attached it follows.
            (Some(by), Some(at)) => format!(
                "{} {} — {} ({})",
                d.metadata.signer_position,
                d.metadata.signer_name,
                vn_datetime(at),
                name(Some(by), "")
            )
            .trim()
            .to_owned(),
            _ => String::new(),
        },
        versions: d
            .versions
            .iter()
            .rev()
            .map(|v| VersionLine {
                version: v.version,
                file: v.file.as_ref().map(|f| file_line(f, &d.signatures)),
                note: v.note.clone(),
                by: name(v.created_by, ""),
                at: vn_datetime(v.created_ms),
            })
            .collect(),
        reviews: d
            .reviews
            .iter()
            .map(|r| ReviewLine {
                step: format!("documents.step.{}", r.step),
                by: name(r.user_id, &r.actor),
                comment: r.comment.clone(),
                at: vn_datetime(r.at_ms),
            })
            .collect(),
        recipients: d
            .recipients
            .iter()
            .map(|r| RecipientLine {
                organ_id: r.organ_id.clone(),
                organ_name: r.organ_name.clone(),
                kind: format!("documents.recipient.{}", r.kind),
                transport: r
                    .transport_status
                    .as_deref()
                    .map(|s| format!("documents.transport.{s}"))
                    .unwrap_or_default(),
                transport_value: r.transport_status.clone().unwrap_or_default(),
                business: business_label(r.business_status.as_deref()),
                package: r.package.clone(),
                active: r.active,
            })
            .collect(),
        agencies,
        actions,
        signer_name: session.user.display_name.clone(),
        failed_form: input.failed_form,
        comment: input.comment,
        notice: input.notice,
        error: input.error,
        d,
    };
    render_form(failed, &template)
}

/// `GET /van-ban/di/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> WebResult<Response> {
    let input = ShowInput {
        failed_form: String::new(),
        comment: String::new(),
        notice: notice_of(viewer.lang, &q.done),
        error: None,
    };
    show_page(&state, &viewer, id, input).await
}

/// After an action: the page with its flash message, or again with the error beside the
/// form (refusals go to the error page).
async fn finish(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    form: &str,
    comment: String,
    result: Result<OutgoingView, WebError>,
) -> WebResult<Response> {
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/van-ban/di/{id}?done={form}")).into_response()),
        Err(e) if is_refusal(&e) => Err(e),
        Err(e) => {
            let input = ShowInput {
                failed_form: form.to_owned(),
                comment,
                notice: None,
                error: Some(message_of(viewer.lang, &e)),
            };
            show_page(state, viewer, id, input).await
        }
    }
}

/// `POST /van-ban/di/{id}/phien-ban` (multipart): the drafter's new version.
pub async fn new_version(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let parts = parts_of(&headers, &body)?;
    viewer.check_csrf(&state.platform.session_key, &field(&parts, "csrf_token"))?;
    viewer.require_official()?;
    let note = field(&parts, "note");
    let result = async {
        // Refused before the file is stored when the viewer may not change the draft.
        let d = service::get(&state.platform, &viewer.ctx(), id).await?;
        if d.drafter_id != me(&viewer) {
            return Err(forbidden());
        }
        let Some(file_id) = store_file(&state, &viewer, &parts, "file").await? else {
            return Err(invalid("document.file.required"));
        };
        let input = NewVersion {
            file_id,
            metadata: None,
            note: note.clone(),
        };
        Ok(service::add_version(&state.platform, &viewer.ctx(), id, &input).await?)
    }
    .await;
    finish(&state, &viewer, id, "new_version", note, result).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    comment: String,
}

/// `POST /van-ban/di/{id}/duyet`: submit, review, approve or send back (with a reason).
pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ReviewForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let (name, result) = match form.step.as_str() {
        step @ ("submit" | "review" | "approve" | "return") => {
            let parsed = OutgoingStep::parse(step)
                .map_err(|e| WebError::from(tinhso_platform::Error::from(e)))?;
            let r = service::review(&state.platform, &viewer.ctx(), id, parsed, &form.comment)
                .await
                .map_err(WebError::from);
            (parsed.as_str(), r)
        }
        _ => return Err(invalid("document.step.unknown")),
    };
    finish(&state, &viewer, id, name, form.comment, result).await
}

/// `POST /van-ban/di/{id}/ky` (multipart): the signer uploads the signed PDF.
pub async fn sign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let parts = parts_of(&headers, &body)?;
    viewer.check_csrf(&state.platform.session_key, &field(&parts, "csrf_token"))?;
    viewer.require_official()?;
    let result = async {
        let d = service::get(&state.platform, &viewer.ctx(), id).await?;
        if !may(&viewer, Action::ApproveDocuments) {
            return Err(forbidden());
        }
        if d.status != OutgoingStatus::Approved {
            return Err(invalid("document.transition.not_allowed"));
        }
        let Some(file_id) = store_file(&state, &viewer, &parts, "file").await? else {
            return Err(invalid("document.file.required"));
        };
        let input = SignInput {
            file_id,
            competence: field(&parts, "competence").trim().to_owned(),
            signer_position: field(&parts, "signer_position").trim().to_owned(),
            signer_name: field(&parts, "signer_name").trim().to_owned(),
        };
        Ok(service::sign(&state.platform, &viewer.ctx(), id, &input).await?)
    }
    .await;
    finish(&state, &viewer, id, "sign", String::new(), result).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ServerSignForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    competence: String,
    #[serde(default)]
    signer_position: String,
    #[serde(default)]
    signer_name: String,
}

/// `POST /van-ban/di/{id}/ky-so`: the signer has the server sign the approved PDF with the
/// agency's certificate (PAdES; B-T when a timestamp authority is configured).
pub async fn sign_on_server(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<ServerSignForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let input = tinhso_documents::outgoing::ServerSignInput {
        competence: form.competence.trim().to_owned(),
        signer_position: form.signer_position.trim().to_owned(),
        signer_name: form.signer_name.trim().to_owned(),
    };
    let result = service::sign_on_server(&state.platform, &viewer.ctx(), id, &input)
        .await
        .map_err(WebError::from);
    finish(&state, &viewer, id, "sign", String::new(), result).await
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    reason: String,
}

/// `POST /van-ban/di/{id}/phat-hanh`: the clerk releases; the number is given here.
pub async fn release(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let result = service::release(&state.platform, &viewer.ctx(), id)
        .await
        .map_err(WebError::from);
    finish(&state, &viewer, id, "release", String::new(), result).await
}

/// `POST /van-ban/di/{id}/noi-nhan`: dispatch to more recipients and/or take some off.
pub async fn recipients(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(posted): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let value = |name: &str| {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    viewer.check_csrf(&state.platform.session_key, &value("csrf_token"))?;
    viewer.require_official()?;
    let all = |name: &str| -> Vec<String> {
        posted
            .iter()
            .filter(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
            .collect()
    };
    let mut add: Vec<RecipientInput> = all("add")
        .into_iter()
        .map(|organ_id| RecipientInput {
            organ_id,
            organ_name: String::new(),
        })
        .collect();
    if !value("external_id").is_empty() {
        add.push(RecipientInput {
            organ_id: value("external_id"),
            organ_name: value("external_name"),
        });
    }
    let change = RecipientChange {
        add,
        remove: all("remove"),
    };
    let form = if change.add.is_empty() && !change.remove.is_empty() {
        "remove"
    } else {
        "dispatch"
    };
    let result = service::change_recipients(&state.platform, &viewer.ctx(), id, &change)
        .await
        .map_err(WebError::from);
    finish(&state, &viewer, id, form, String::new(), result).await
}

/// `POST /van-ban/di/{id}/thu-hoi`: revocation with a reason.
pub async fn revoke(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let result = service::revoke(&state.platform, &viewer.ctx(), id, &form.reason)
        .await
        .map_err(WebError::from);
    finish(&state, &viewer, id, "revoke", form.reason, result).await
}
