//! Incoming documents (văn bản đến): the register with its filters, the clerk's
//! registration form, the document page with the leader's assignment and the handlers'
//! progress.

use askama::Template;
use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use tinhso_core::access::Action;
use tinhso_core::identity::AccountKind;
use tinhso_documents::domain::numbering::{format_number, parse_document_identifier};
use tinhso_documents::domain::workflow::{Assignment, HandlerPart, IncomingStatus, IncomingStep};
use tinhso_documents::incoming::{self as service, IncomingView, NewIncoming, RULE_DUPLICATE};

use super::new_document_form;
use super::{
    Choices, FieldErrors, FileLine, MetaForm, ShowQuery, day, documents_agency, file_lines,
    forbidden, form_errors, incoming_status_key, invalid, is_overdue, is_refusal, matches_search,
    me, message_of, names, notice_of, store_file, today,
};
use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::format::vn_datetime;
use crate::pages::multipart::field;
use crate::pages::officer::may;
use crate::pages::{PageCtx, render, render_form, render_with_status};
use crate::session::Viewer;

// ------------------------------------------------------------------ the register

pub struct Line {
    pub id: i64,
    pub number: String,
    pub arrived: String,
    pub code: String,
    pub organ: String,
    pub subject: String,
    pub urgency: &'static str,
    pub urgent: bool,
    pub secret: bool,
    pub status: String,
    pub status_value: &'static str,
    pub deadline: String,
    pub overdue: bool,
}

#[derive(Template)]
#[template(path = "documents/incoming_list.html")]
struct ListPage<'a> {
    page: &'a PageCtx,
    agency_code: String,
    agency_name: String,
    year: i64,
    years: Vec<i64>,
    status: String,
    urgency: String,
    q: String,
    statuses: Vec<(&'static str, String)>,
    urgencies: Vec<(String, &'static str)>,
    lines: Vec<Line>,
    may_register: bool,
    notice: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    urgency: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// The status filter's choices: each status, the open ones, the overdue ones.
fn status_choices() -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("open", "documents.filter.open".to_owned()),
        ("overdue", "documents.filter.overdue".to_owned()),
    ];
    for s in [
        IncomingStatus::Registered,
        IncomingStatus::Assigned,
        IncomingStatus::InProgress,
        IncomingStatus::Done,
    ] {
        out.push((s.as_str(), incoming_status_key(s)));
    }
    out
}

/// `GET /van-ban/den`: the incoming register of the viewer's agency, filtered.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(q): Query<ListQuery>,
) -> WebResult<Response> {
    let agency = documents_agency(&state, &viewer).await?;
    let today = today(&viewer);
    let this_year = i64::from(chrono::Datelike::year(&today));
    let year = q
        .year
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|y| (2000..=this_year).contains(y))
        .unwrap_or(this_year);
    let documents = service::list(&state.platform, &viewer.ctx(), &agency.code, Some(year)).await?;
    let lines = documents
        .into_iter()
        .filter(|d| match q.status.as_str() {
            "" => true,
            "open" => matches!(
                d.status,
                IncomingStatus::Assigned | IncomingStatus::InProgress
            ),
            "overdue" => is_overdue(d.status, d.deadline, today),
            s => d.status.as_str() == s,
        })
        .filter(|d| q.urgency.is_empty() || d.urgency.priority().to_string() == q.urgency)
        .filter(|d| {
            matches_search(
                &q.q,
                &[&format_number(d.arrival_number), &d.code, &d.subject],
            )
        })
        .map(|d| Line {
            id: d.id,
            number: format_number(d.arrival_number),
            arrived: vn_datetime(d.arrival_ms),
            code: d.code,
            organ: d.organ_name,
            subject: d.subject,
            urgency: d.urgency.name_vi(),
            urgent: d.urgency.priority() > 0,
            secret: d.confidentiality.is_secret(),
            status: incoming_status_key(d.status),
            status_value: d.status.as_str(),
            deadline: day(d.deadline),
            overdue: is_overdue(d.status, d.deadline, today),
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/van-ban/den");
    render(&ListPage {
        page: &page,
        agency_code: agency.code,
        agency_name: agency.name,
        year,
        years: (this_year - 4..=this_year).rev().collect(),
        status: q.status,
        urgency: q.urgency,
        q: q.q,
        statuses: status_choices(),
        urgencies: Choices::new().urgencies,
        lines,
        may_register: may(&viewer, Action::RegisterDocuments),
        notice: notice_of(viewer.lang, &q.done),
    })
}

// ------------------------------------------------------------------ registration

#[derive(Template)]
#[template(path = "documents/incoming_new.html")]
struct NewPage<'a> {
    page: &'a PageCtx,
    agency_name: String,
    choices: Choices,
    values: MetaForm,
    source: String,
    document_id: String,
    errors: FieldErrors,
    error: Option<String>,
    duplicate_of: Option<i64>,
}

async fn new_page(
    state: &AppState,
    viewer: &Viewer,
    form: NewForm,
    status: StatusCode,
) -> WebResult<Response> {
    let agency = documents_agency(state, viewer).await?;
    if !may(viewer, Action::RegisterDocuments) {
        return Err(forbidden());
    }
    let page = PageCtx::new(state, viewer, "/van-ban/den/moi");
    let template = NewPage {
        page: &page,
        agency_name: agency.name,
        choices: Choices::new(),
        values: form.values,
        source: form.source,
        document_id: form.document_id,
        errors: form.errors,
        error: form.error,
        duplicate_of: form.duplicate_of,
    };
    if status == StatusCode::OK {
        render(&template)
    } else {
        render_with_status(status, &template)
    }
}

#[derive(Default)]
struct NewForm {
    values: MetaForm,
    source: String,
    document_id: String,
    errors: FieldErrors,
    error: Option<String>,
    duplicate_of: Option<i64>,
}

/// `GET /van-ban/den/moi`: the clerk's registration form.
pub async fn new_form(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    let form = NewForm {
        source: "paper".into(),
        values: MetaForm {
            type_code: "official_letter".into(),
            urgency: "0".into(),
            confidentiality: "0".into(),
            ..MetaForm::default()
        },
        ..NewForm::default()
    };
    new_page(&state, &viewer, form, StatusCode::OK).await
}

/// `POST /van-ban/den/moi` (multipart): registers the document with its scan or file.
/// The metadata is checked before the file is stored, so a wrong form stores nothing.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let (parts, agency) =
        new_document_form(&state, &viewer, &headers, &body, Action::RegisterDocuments).await?;
    let lang = viewer.lang;
    let values = MetaForm::from_parts(&parts);
    let source = match field(&parts, "source").as_str() {
        "electronic" => "electronic".to_owned(),
        _ => "paper".to_owned(),
    };
    let document_id = field(&parts, "document_id").trim().to_owned();
    let result = async {
        let metadata = values.metadata()?;
        metadata
            .check_incoming()
            .map_err(|e| WebError::from(tinhso_platform::Error::from(e)))?;
        if !document_id.is_empty() {
            parse_document_identifier(&document_id)
                .map_err(|_| invalid("document.document_id.invalid"))?;
        }
        let file = store_file(&state, &viewer, &parts, "file").await?;
        let input = NewIncoming {
            agency_code: agency.code.clone(),
            source: source.clone(),
            document_id: Some(document_id.clone()).filter(|d| !d.is_empty()),
            metadata,
            file_ids: file.into_iter().collect(),
        };
        Ok::<_, WebError>(service::register(&state.platform, &viewer.ctx(), &input).await?)
    }
    .await;
    match result {
        Ok(view) => {
            Ok(Redirect::to(&format!("/van-ban/den/{}?done=registered", view.id)).into_response())
        }
        Err(e) if is_refusal(&e) => Err(e),
        Err(e) => {
            let duplicate_of = if super::rule_of(&e) == Some(RULE_DUPLICATE) {
                find_duplicate(&state, &viewer, &agency.code, &values).await
            } else {
                None
            };
            let (errors, error) = form_errors(lang, &e);
            let status = if duplicate_of.is_some() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let form = NewForm {
                values,
                source,
                document_id,
                errors,
                error: error.or_else(|| Some(message_of(lang, &e))),
                duplicate_of,
            };
            new_page(&state, &viewer, form, status).await
        }
    }
}

/// The entry a refused duplicate matches (same number, notation and issuer this year), so
/// the message can link to it.
async fn find_duplicate(
    state: &AppState,
    viewer: &Viewer,
    agency_code: &str,
    values: &MetaForm,
) -> Option<i64> {
    let code = format!("{}/{}", values.code_number, values.code_notation);
    let list = service::list(&state.platform, &viewer.ctx(), agency_code, None)
        .await
        .ok()?;
    list.into_iter()
        .find(|d| d.code == code && d.organ_name == values.organ_name)
        .map(|d| d.id)
}

// ------------------------------------------------------------------ the document page

pub struct HandlerLine {
    pub name: String,
    pub part: String,
    pub assigned: String,
}

pub struct ProgressLine {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub note: String,
}

pub struct ReplyLine {
    pub id: i64,
    pub status: String,
    pub code: String,
}

/// What the leader typed into the assignment form.
#[derive(Debug, Clone, Default)]
pub struct AssignForm {
    pub main_handler: i64,
    pub co_handlers: Vec<i64>,
    pub for_information: Vec<i64>,
    pub deadline: String,
    pub direction: String,
}

#[derive(Template)]
#[template(path = "documents/incoming.html")]
struct ShowPage<'a> {
    page: &'a PageCtx,
    d: IncomingView,
    type_name: String,
    status: String,
    urgency: &'static str,
    confidentiality: &'static str,
    arrived: String,
    source: String,
    issued: String,
    due: String,
    deadline: String,
    overdue: bool,
    files: Vec<FileLine>,
    handlers: Vec<HandlerLine>,
    progress: Vec<ProgressLine>,
    replies: Vec<ReplyLine>,
    officials: Vec<(i64, String)>,
    may_assign: bool,
    may_progress: bool,
    may_complete: bool,
    may_reply: bool,
    assign: AssignForm,
    note: String,
    failed_form: String,
    notice: Option<String>,
    error: Option<String>,
}

/// The officials of the document's agency (and its sub-units) a leader may name.
async fn officials_of(
    state: &AppState,
    viewer: &Viewer,
    agency_code: &str,
) -> WebResult<Vec<(i64, String)>> {
    // Leaders do not administer accounts, so the list is read with the system's context,
    // only for a viewer the assignment service will accept, and filtered to the agency.
    let system = tinhso_platform::Ctx::system(viewer.now_ms);
    let agencies = tinhso_platform::org::list_agencies(&state.platform, &system).await?;
    let Some(root) = agencies.iter().find(|a| a.code == agency_code) else {
        return Ok(Vec::new());
    };
    let root_path = root.agency_path();
    let within: Vec<i64> = agencies
        .iter()
        .filter(|a| a.agency_path().is_within(&root_path))
        .map(|a| a.id)
        .collect();
    Ok(
        tinhso_platform::identity::list_users(&state.platform, &system)
            .await?
            .into_iter()
            .filter(|u| {
                u.kind == AccountKind::Official
                    && !u.disabled
                    && u.agency_id.is_some_and(|a| within.contains(&a))
            })
            .map(|u| (u.id, u.display_name))
            .collect(),
    )
}

struct ShowInput {
    assign: AssignForm,
    note: String,
    failed_form: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn show_page(
    state: &AppState,
    viewer: &Viewer,
    id: i64,
    input: ShowInput,
) -> WebResult<Response> {
    viewer.require_official()?;
    let d = service::get(&state.platform, &viewer.ctx(), id).await?;
    let me = me(viewer);
    let part = d.handlers.iter().find(|h| h.user_id == me).map(|h| h.part);
    let open = matches!(
        d.status,
        IncomingStatus::Assigned | IncomingStatus::InProgress
    );
    let may_assign =
        may(viewer, Action::AssignDocuments) && d.status != IncomingStatus::Done && !d.revoked;
    let may_progress = open && matches!(part, Some(HandlerPart::Main | HandlerPart::Co));
    let may_complete = open && part == Some(HandlerPart::Main);
    let may_reply = may(viewer, Action::DraftDocuments) && !d.revoked;
    let officials = if may_assign {
        officials_of(state, viewer, &d.agency_code).await?
    } else {
        Vec::new()
    };
    let people = names(state, d.progress.iter().filter_map(|p| p.user_id)).await?;
    let today = today(viewer);
    let mut assign = input.assign;
    if input.failed_form != "assign" && !d.handlers.is_empty() {
        // The form starts from the current assignment (reassignment changes it).
        for h in &d.handlers {
            match h.part {
                HandlerPart::Main => assign.main_handler = h.user_id,
                HandlerPart::Co => assign.co_handlers.push(h.user_id),
                HandlerPart::Info => assign.for_information.push(h.user_id),
            }
        }
        assign.deadline = d.deadline.map(|x| x.to_string()).unwrap_or_default();
        assign.direction = d.direction_note.clone();
    }
    let page = PageCtx::new(state, viewer, &format!("/van-ban/den/{id}"));
    let failed = input.error.is_some();
    let template = ShowPage {
        page: &page,
        type_name: d.type_name.clone(),
        status: incoming_status_key(d.status),
        urgency: d.metadata.urgency.name_vi(),
        confidentiality: d.metadata.confidentiality.name_vi(),
        arrived: vn_datetime(d.arrival_ms),
        source: format!("documents.source.{}", d.source),
        issued: day(d.metadata.issued_date),
        due: day(d.metadata.due_date),
        deadline: day(d.deadline),
        overdue: is_overdue(d.status, d.deadline, today),
        files: file_lines(&d.files, &d.signatures),
        handlers: d
            .handlers
            .iter()
            .map(|h| HandlerLine {
                name: h.display_name.clone(),
                part: format!("documents.part.{}", h.part.as_str()),
                assigned: vn_datetime(h.assigned_ms),
            })
            .collect(),
        progress: d
            .progress
            .iter()
            .map(|p| ProgressLine {
                at: vn_datetime(p.at_ms),
                kind: format!("documents.progress.{}", p.kind),
                actor: p
                    .user_id
                    .and_then(|u| people.get(&u).cloned())
                    .unwrap_or_else(|| p.actor.clone()),
                note: p.note.clone(),
            })
            .collect(),
        replies: d
            .replies
            .iter()
            .map(|r| ReplyLine {
                id: r.outgoing_id,
                status: format!("documents.out_status.{}", r.status),
                code: r.code.clone().unwrap_or_default(),
            })
            .collect(),
        officials,
        may_assign,
        may_progress,
        may_complete,
        may_reply,
        assign,
        note: input.note,
        failed_form: input.failed_form,
        notice: input.notice,
        error: input.error,
        d,
    };
    render_form(failed, &template)
}

/// `GET /van-ban/den/{id}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Query(q): Query<ShowQuery>,
) -> WebResult<Response> {
    let input = ShowInput {
        assign: AssignForm::default(),
        note: String::new(),
        failed_form: String::new(),
        notice: notice_of(viewer.lang, &q.done),
        error: None,
    };
    show_page(&state, &viewer, id, input).await
}

fn value(posted: &[(String, String)], name: &str) -> String {
    posted
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

fn ids(posted: &[(String, String)], name: &str) -> Vec<i64> {
    posted
        .iter()
        .filter(|(k, _)| k == name)
        .filter_map(|(_, v)| v.trim().parse().ok())
        .collect()
}

/// `POST /van-ban/den/{id}/phan-cong`: the leader's assignment.
pub async fn assign(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(posted): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &value(&posted, "csrf_token"))?;
    viewer.require_official()?;
    let form = AssignForm {
        main_handler: value(&posted, "main_handler").parse().unwrap_or(0),
        co_handlers: ids(&posted, "co_handlers"),
        for_information: ids(&posted, "for_information"),
        deadline: value(&posted, "deadline"),
        direction: value(&posted, "direction"),
    };
    let result = async {
        let deadline = match form.deadline.as_str() {
            "" => None,
            d => Some(
                chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                    .map_err(|_| invalid("document.assignment.deadline_invalid"))?,
            ),
        };
        let assignment = Assignment {
            main_handler: form.main_handler,
            co_handlers: form.co_handlers.clone(),
            for_information: form.for_information.clone(),
            deadline,
            direction: form.direction.clone(),
        };
        Ok::<_, WebError>(service::assign(&state.platform, &viewer.ctx(), id, &assignment).await?)
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/van-ban/den/{id}?done=assigned")).into_response()),
        Err(e) if is_refusal(&e) => Err(e),
        Err(e) => {
            let input = ShowInput {
                assign: form,
                note: String::new(),
                failed_form: "assign".into(),
                notice: None,
                error: Some(message_of(viewer.lang, &e)),
            };
            show_page(&state, &viewer, id, input).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct HandleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    step: String,
    #[serde(default)]
    note: String,
}

/// `POST /van-ban/den/{id}/xu-ly`: a handler notes progress, or the main handler closes.
pub async fn handle(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<i64>,
    Form(form): Form<HandleForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let step = match form.step.as_str() {
        "complete" => IncomingStep::Complete,
        _ => IncomingStep::Progress,
    };
    match service::handle(&state.platform, &viewer.ctx(), id, step, &form.note).await {
        Ok(_) => {
            Ok(Redirect::to(&format!("/van-ban/den/{id}?done={}", step.as_str())).into_response())
        }
        Err(e) => {
            let e = WebError::from(e);
            if is_refusal(&e) {
                return Err(e);
            }
            let input = ShowInput {
                assign: AssignForm::default(),
                note: form.note,
                failed_form: step.as_str().to_owned(),
                notice: None,
                error: Some(message_of(viewer.lang, &e)),
            };
            show_page(&state, &viewer, id, input).await
        }
    }
}
