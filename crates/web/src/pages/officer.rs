//! Officials at work: the counter (intake on a citizen's behalf, queue tickets and the
//! waiting-room display, returning results) and the workspace of specialists and leaders
//! (the inbox sorted by deadline, the dossier page with the actions of its step, bulk
//! approval).
//!
//! Paths: `/counter…`, `/queue…`, `/inbox`, `/dossiers/{code}`.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Map;
use tinhso_core::access::{Action, role_allows};
use tinhso_onestop::domain::catalog::{Channel, ProcedureSpec, validate_form};
use tinhso_onestop::domain::documents::{DocumentInput, RequirementRef};
use tinhso_onestop::domain::dossier::Status;
use tinhso_onestop::dossiers::{self, Applicant, Command, InboxItem, NewDossier, Proxy};
use tinhso_onestop::{catalog, queue, workspace};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::{Lang, has_key, t};
use crate::pages::form_view::{FieldView, answers_from_form, field_messages, field_views};
use crate::pages::{PageCtx, render, render_form, render_with_status};
use crate::session::{Viewer, roles_of};

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/counter", get(counter).post(counter_submit))
        .route("/counter/queue/call", post(counter_call))
        .route("/inbox", get(inbox))
        .route("/inbox/approve", post(inbox_approve))
        .route("/dossiers/{code}", get(dossier))
        .route("/dossiers/{code}/act", post(dossier_act))
        .route("/dossiers/{code}/documents/{id}/view", get(document_view))
        .route("/queue/{agency}", get(queue_take_page).post(queue_take))
        .route("/queue/{agency}/tickets/{id}", get(queue_ticket))
        .route("/queue/{agency}/display", get(queue_display))
}

// ------------------------------------------------------------------ shared helpers

/// `25/04/2027 14:05` from an RFC 3339 instant of the services (already Vietnam time).
pub fn vn_time(rfc3339: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(rfc3339)
        .map(|t| t.format("%d/%m/%Y %H:%M").to_string())
        .unwrap_or_else(|_| rfc3339.to_owned())
}

fn vn_opt(value: &Option<String>) -> String {
    value.as_deref().map(vn_time).unwrap_or_default()
}

/// The viewer's roles allow `action` somewhere.
pub(crate) fn may(viewer: &Viewer, action: Action) -> bool {
    viewer
        .session
        .as_ref()
        .is_some_and(|s| roles_of(s).into_iter().any(|r| role_allows(r, action)))
}

/// The agency of the viewer's first grant that allows `action` (their counter's agency).
pub(crate) async fn home_agency(
    state: &AppState,
    viewer: &Viewer,
    action: Action,
) -> WebResult<Option<tinhso_platform::org::Agency>> {
    let Some(session) = &viewer.session else {
        return Ok(None);
    };
    for grant in &session.principal.grants {
        if role_allows(grant.role, action) {
            return Ok(tinhso_platform::org::agency_by_id(&state.platform, grant.agency_id).await?);
        }
    }
    Ok(None)
}

/// The message of a failed action: the stable code's text, then the broken rule's text
/// (this area's `officer.rule.*`), or the service's detail for invalid input.
pub fn officer_error(lang: Lang, error: &WebError) -> String {
    let WebError::Platform(e) = error else {
        return t(lang, "error.internal").to_owned();
    };
    let code = e.code();
    if code == tinhso_core::ErrorCode::Internal {
        return t(lang, "error.internal").to_owned();
    }
    let base = t(lang, &format!("error.{}", code.as_str())).to_owned();
    match e {
        tinhso_platform::Error::Domain(d) => {
            if let Some(rule) = d.rule {
                let key = format!("officer.rule.{rule}");
                if has_key(&key) {
                    return format!("{base} {}", t(lang, &key));
                }
                if has_key(rule) {
                    return format!("{base} {}", t(lang, rule));
                }
            }
            if matches!(
                code,
                tinhso_core::ErrorCode::InvalidInput | tinhso_core::ErrorCode::Conflict
            ) {
                format!("{base} ({})", d.detail)
            } else {
                base
            }
        }
        _ => base,
    }
}

fn status_key(status: Status) -> String {
    format!("officer.status.{}", status.as_str())
}

/// A same-site path to go back to after an action (never another site).
fn safe_back(back: &str, fallback: &str) -> String {
    if back.starts_with('/') && !back.starts_with("//") && !back.contains('\\') {
        back.to_owned()
    } else {
        fallback.to_owned()
    }
}

async fn procedure_names(state: &AppState) -> WebResult<HashMap<String, String>> {
    Ok(catalog::list(&state.platform)
        .await?
        .into_iter()
        .map(|p| (p.spec.code, p.spec.name))
        .collect())
}

/// One inbox line, ready to show.
pub struct Row {
    pub code: String,
    pub procedure: String,
    pub status: String,
    pub status_value: &'static str,
    pub due: String,
    /// `on_time`, `due_soon`, `overdue`.
    pub urgency: &'static str,
    pub step: String,
    pub step_due: String,
    pub step_overdue: bool,
    pub can_approve: bool,
}

fn rows(items: Vec<InboxItem>, names: &HashMap<String, String>, leader: bool) -> Vec<Row> {
    items
        .into_iter()
        .map(|i| Row {
            procedure: names
                .get(&i.procedure_code)
                .cloned()
                .unwrap_or_else(|| i.procedure_code.clone()),
            status: status_key(i.status),
            status_value: i.status.as_str(),
            due: vn_opt(&i.due_at),
            urgency: i.urgency,
            step: i.step.unwrap_or_default(),
            step_due: vn_opt(&i.step_due_at),
            step_overdue: i.step_overdue,
            can_approve: leader && i.status == Status::Processing,
            code: i.code,
        })
        .collect()
}

// ------------------------------------------------------------------ counter

/// One required document of the chosen procedure at the counter.
pub struct DocRow {
    pub index: usize,
    pub name: String,
    pub paper: bool,
    pub upload: String,
    pub error: Option<String>,
}

/// What the officer typed at the counter (kept when the form comes back with errors).
#[derive(Debug, Default, Clone)]
pub struct IntakeValues {
    pub channel: String,
    pub name: String,
    pub id_number: String,
    pub phone: String,
    pub email: String,
    pub proxy_name: String,
    pub proxy_id: String,
    pub proxy_authorization: String,
}

/// A message in the error summary, linking to its field.
pub struct SummaryItem {
    pub href: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "officer/counter.html")]
struct CounterPage<'a> {
    page: &'a PageCtx,
    procedures: Vec<(String, String)>,
    selected: Option<ProcedureSpec>,
    values: IntakeValues,
    errors: HashMap<String, String>,
    summary: Vec<SummaryItem>,
    fields: Vec<FieldView>,
    documents: Vec<DocRow>,
    pending: Vec<Row>,
    results: Vec<Row>,
    agency_code: String,
    queue: Option<queue::Display>,
    desk: String,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct CounterQuery {
    #[serde(default)]
    procedure: String,
    #[serde(default)]
    desk: String,
    #[serde(default)]
    called: String,
    #[serde(default)]
    done: String,
}

struct CounterInput {
    selected: Option<ProcedureSpec>,
    values: IntakeValues,
    errors: HashMap<String, String>,
    summary: Vec<SummaryItem>,
    fields: Vec<FieldView>,
    documents: Vec<DocRow>,
    desk: String,
    notice: Option<String>,
    error: Option<String>,
}

async fn counter_page(
    state: &AppState,
    viewer: &Viewer,
    input: CounterInput,
    status: StatusCode,
) -> WebResult<Response> {
    let ctx = viewer.ctx();
    let agency = home_agency(state, viewer, Action::ReceiveDossier).await?;
    let procedures = catalog::list(&state.platform)
        .await?
        .into_iter()
        .filter(|p| {
            let commune = agency.as_ref().is_some_and(|a| a.level == "commune");
            p.spec
                .levels
                .iter()
                .any(|l| (*l == tinhso_onestop::domain::catalog::Level::Commune) == commune)
                && (p.spec.accepts(Channel::Counter) || p.spec.accepts(Channel::Postal))
        })
        .map(|p| (p.spec.code, p.spec.name))
        .collect();
    let names = procedure_names(state).await?;
    let items = dossiers::inbox(&state.platform, &ctx)
        .await
        .unwrap_or_default();
    let (pending, rest): (Vec<_>, Vec<_>) = items
        .into_iter()
        .partition(|i| i.status == Status::Submitted);
    let results: Vec<InboxItem> = rest
        .into_iter()
        .filter(|i| i.status == Status::Resolved)
        .collect();
    let queue = match &agency {
        Some(a) => Some(queue::display(&state.platform, &a.code, viewer.now_ms).await?),
        None => None,
    };
    let page = PageCtx::new(state, viewer, "/counter");
    let template = CounterPage {
        page: &page,
        procedures,
        selected: input.selected,
        values: input.values,
        errors: input.errors,
        summary: input.summary,
        fields: input.fields,
        documents: input.documents,
        pending: rows(pending, &names, false),
        results: rows(results, &names, false),
        agency_code: agency.map(|a| a.code).unwrap_or_default(),
        queue,
        desk: input.desk,
        notice: input.notice,
        error: input.error,
    };
    if status == StatusCode::OK {
        render(&template)
    } else {
        render_with_status(status, &template)
    }
}

fn doc_rows(spec: &ProcedureSpec, posted: &[(String, String)]) -> Vec<DocRow> {
    let value = |name: &str| {
        posted
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    spec.required_documents
        .iter()
        .enumerate()
        .map(|(index, d)| DocRow {
            index,
            name: d.name.clone(),
            paper: value(&format!("doc_{index}")) == "paper",
            upload: value(&format!("doc_{index}_upload")),
            error: None,
        })
        .collect()
}

pub async fn counter(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<CounterQuery>,
) -> WebResult<Response> {
    viewer.require_user()?;
    if !may(&viewer, Action::ReceiveDossier) {
        return Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"));
    }
    let lang = viewer.lang;
    let selected = match query.procedure.trim() {
        "" => None,
        code => catalog::get(&state.platform, code)
            .await
            .ok()
            .map(|p| p.spec),
    };
    let (fields, documents) = match &selected {
        Some(spec) => (
            field_views(lang, &spec.form, &Map::new(), &HashMap::new(), "form."),
            doc_rows(spec, &[]),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let notice = if !query.called.is_empty() {
        Some(format!(
            "{} {} — {}",
            t(lang, "officer.queue.called"),
            query.called,
            query.desk
        ))
    } else if query.done == "nobody" {
        Some(t(lang, "officer.queue.nobody").to_owned())
    } else if !query.done.is_empty() {
        Some(format!("{} {}", t(lang, "officer.done"), query.done))
    } else {
        None
    };
    let desk = if query.desk.is_empty() {
        t(lang, "officer.queue.default_desk").to_owned()
    } else {
        query.desk
    };
    counter_page(
        &state,
        &viewer,
        CounterInput {
            selected,
            values: IntakeValues {
                channel: "counter".into(),
                ..IntakeValues::default()
            },
            errors: HashMap::new(),
            summary: Vec::new(),
            fields,
            documents,
            desk,
            notice,
            error: None,
        },
        StatusCode::OK,
    )
    .await
}

/// `POST /counter`: a dossier taken in at the desk. Errors come back beside their fields
/// with every answer kept; success goes to the dossier page with its receipt.
pub async fn counter_submit(
    State(state): State<AppState>,
    viewer: Viewer,
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
    viewer.require_user()?;
    let lang = viewer.lang;
    let agency = home_agency(&state, &viewer, Action::ReceiveDossier)
        .await?
        .ok_or(WebError::Status(StatusCode::FORBIDDEN, "forbidden"))?;
    let spec = catalog::get(&state.platform, &value("procedure"))
        .await?
        .spec;
    let values = IntakeValues {
        channel: if value("channel") == "postal" {
            "postal".into()
        } else {
            "counter".into()
        },
        name: value("applicant_name"),
        id_number: value("applicant_id"),
        phone: value("applicant_phone"),
        email: value("applicant_email"),
        proxy_name: value("proxy_name"),
        proxy_id: value("proxy_id"),
        proxy_authorization: value("proxy_authorization"),
    };
    let mut errors: HashMap<String, String> = HashMap::new();
    let mut summary = Vec::new();
    let mut flag = |errors: &mut HashMap<String, String>, id: &str, key: &str| {
        let message = t(lang, key).to_owned();
        summary.push(SummaryItem {
            href: format!("#{id}"),
            message: message.clone(),
        });
        errors.insert(id.to_owned(), message);
    };
    if values.name.is_empty() {
        flag(&mut errors, "applicant_name", "officer.err.name");
    }
    if values.id_number.is_empty() || values.id_number.chars().count() > 20 {
        flag(&mut errors, "applicant_id", "officer.err.id_number");
    }
    let proxy_given = !(values.proxy_name.is_empty()
        && values.proxy_id.is_empty()
        && values.proxy_authorization.is_empty());
    if proxy_given {
        if values.proxy_name.is_empty() {
            flag(&mut errors, "proxy_name", "officer.err.proxy_name");
        }
        if tinhso_core::identity::check_personal_id(&values.proxy_id).is_err() {
            flag(&mut errors, "proxy_id", "officer.err.proxy_id");
        }
        if values.proxy_authorization.is_empty() {
            flag(
                &mut errors,
                "proxy_authorization",
                "officer.err.proxy_authorization",
            );
        }
    }
    let answers = answers_from_form(&spec.form, &posted, "form.");
    let field_errors = field_messages(lang, &validate_form(&spec.form, &answers));
    for field in &spec.form.fields {
        if let Some(message) = field_errors.get(&field.key) {
            summary.push(SummaryItem {
                href: format!("#field-{}", field.key),
                message: format!("{}: {message}", field.label_vi),
            });
        }
    }
    let mut documents = doc_rows(&spec, &posted);
    let mut inputs = Vec::new();
    for doc in &mut documents {
        let upload = doc.upload.parse::<i64>().ok();
        if upload.is_none() && !doc.paper {
            let message = t(lang, "officer.err.document").to_owned();
            summary.push(SummaryItem {
                href: format!("#doc_{}", doc.index),
                message: format!("{}: {message}", doc.name),
            });
            doc.error = Some(message);
        }
        inputs.push(DocumentInput {
            requirement: RequirementRef::Index(doc.index),
            upload_id: upload,
            store_document_id: None,
            paper: upload.is_none(),
        });
    }
    let desk = value("desk");
    let back = |errors, summary, documents, error| CounterInput {
        fields: field_views(lang, &spec.form, &answers, &field_errors, "form."),
        selected: Some(spec.clone()),
        values: values.clone(),
        errors,
        summary,
        documents,
        desk: desk.clone(),
        notice: None,
        error,
    };
    if !summary.is_empty() {
        return counter_page(
            &state,
            &viewer,
            back(errors, summary, documents, None),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = NewDossier {
        procedure_code: spec.code.clone(),
        agency_code: agency.code.clone(),
        channel: if values.channel == "postal" {
            Channel::Postal
        } else {
            Channel::Counter
        },
        applicant: Applicant {
            name: values.name.clone(),
            id_number: values.id_number.clone(),
            phone: values.phone.clone(),
            email: values.email.clone(),
        },
        proxy: proxy_given.then(|| Proxy {
            name: values.proxy_name.clone(),
            id_number: values.proxy_id.clone(),
            authorization: values.proxy_authorization.clone(),
        }),
        form: answers.clone(),
        documents: inputs,
    };
    match dossiers::submit(&state.platform, &viewer.ctx(), &input).await {
        Ok(view) => {
            Ok(Redirect::to(&format!("/dossiers/{}?done=received", view.code)).into_response())
        }
        Err(e) => {
            let message = officer_error(lang, &WebError::from(e));
            counter_page(
                &state,
                &viewer,
                back(errors, Vec::new(), documents, Some(message)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct CallForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    desk: String,
}

/// `POST /counter/queue/call`: the next waiting number to this desk.
pub async fn counter_call(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<CallForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_user()?;
    let agency = home_agency(&state, &viewer, Action::ReceiveDossier)
        .await?
        .ok_or(WebError::Status(StatusCode::FORBIDDEN, "forbidden"))?;
    let desk = form.desk.trim().to_owned();
    let encode = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    match queue::call_next(&state.platform, &viewer.ctx(), &agency.code, &desk).await {
        Ok(Some(call)) => Ok(Redirect::to(&format!(
            "/counter?called={}&desk={}",
            call.label,
            encode(&call.desk)
        ))
        .into_response()),
        Ok(None) => Ok(
            Redirect::to(&format!("/counter?done=nobody&desk={}", encode(&desk))).into_response(),
        ),
        Err(e) => {
            let lang = viewer.lang;
            counter_page(
                &state,
                &viewer,
                CounterInput {
                    selected: None,
                    values: IntakeValues::default(),
                    errors: HashMap::from([(
                        "desk".to_owned(),
                        t(lang, "officer.rule.queue.desk").to_owned(),
                    )]),
                    summary: vec![SummaryItem {
                        href: "#desk".into(),
                        message: officer_error(lang, &WebError::from(e)),
                    }],
                    fields: Vec::new(),
                    documents: Vec::new(),
                    desk,
                    notice: None,
                    error: None,
                },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}

// ------------------------------------------------------------------ inbox

#[derive(Template)]
#[template(path = "officer/inbox.html")]
struct InboxPage<'a> {
    page: &'a PageCtx,
    rows: Vec<Row>,
    filter: String,
    statuses: Vec<(&'static str, String)>,
    counts: (usize, usize, usize),
    leader: bool,
    outcomes: Vec<(String, bool, String)>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    #[serde(default)]
    status: String,
}

async fn inbox_page(
    state: &AppState,
    viewer: &Viewer,
    filter: String,
    outcomes: Vec<(String, bool, String)>,
    error: Option<String>,
) -> WebResult<Response> {
    viewer.require_user()?;
    if !may(viewer, Action::ViewDossier) {
        return Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"));
    }
    let items = dossiers::inbox(&state.platform, &viewer.ctx()).await?;
    let names = procedure_names(state).await?;
    let leader = may(viewer, Action::DecideDossier);
    let all = rows(items, &names, leader);
    let counts = (
        all.iter().filter(|r| r.urgency == "on_time").count(),
        all.iter().filter(|r| r.urgency == "due_soon").count(),
        all.iter().filter(|r| r.urgency == "overdue").count(),
    );
    let rows = all
        .into_iter()
        .filter(|r| filter.is_empty() || r.status_value == filter || r.urgency == filter)
        .collect();
    let statuses = [
        "submitted",
        "received",
        "processing",
        "supplement_requested",
        "awaiting_payment",
        "resolved",
    ]
    .into_iter()
    .map(|s| (s, format!("officer.status.{s}")))
    .collect();
    let page = PageCtx::new(state, viewer, "/inbox");
    let failed = error.is_some();
    let template = InboxPage {
        page: &page,
        rows,
        filter,
        statuses,
        counts,
        leader,
        outcomes,
        error,
    };
    render_form(failed, &template)
}

pub async fn inbox(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<InboxQuery>,
) -> WebResult<Response> {
    inbox_page(&state, &viewer, query.status, Vec::new(), None).await
}

/// `POST /inbox/approve`: the leader's bulk approval, with each dossier's outcome.
pub async fn inbox_approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(posted): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let csrf = posted
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    viewer.check_csrf(&state.platform.session_key, csrf)?;
    viewer.require_user()?;
    let lang = viewer.lang;
    let codes: Vec<String> = posted
        .iter()
        .filter(|(k, _)| k == "code")
        .map(|(_, v)| v.clone())
        .collect();
    match workspace::approve_many(&state.platform, &viewer.ctx(), &codes, "").await {
        Ok(outcomes) => {
            let outcomes = outcomes
                .into_iter()
                .map(|o| {
                    let message = if o.approved {
                        t(lang, "officer.bulk.approved").to_owned()
                    } else {
                        let rule = o
                            .rule
                            .as_deref()
                            .map(|r| format!("officer.rule.{r}"))
                            .filter(|k| has_key(k))
                            .map(|k| format!(" {}", t(lang, &k)))
                            .unwrap_or_default();
                        format!(
                            "{}{rule}",
                            t(lang, &format!("error.{}", o.error.unwrap_or_default()))
                        )
                    };
                    (o.code, o.approved, message)
                })
                .collect();
            inbox_page(&state, &viewer, String::new(), outcomes, None).await
        }
        Err(e) => {
            let message = officer_error(lang, &WebError::from(e));
            inbox_page(&state, &viewer, String::new(), Vec::new(), Some(message)).await
        }
    }
}

// ------------------------------------------------------------------ dossier page

/// One answer of the form, labelled.
pub struct Answer {
    pub label: String,
    pub value: String,
}

pub struct DocLine {
    pub id: i64,
    pub role: String,
    pub name: String,
    pub filename: String,
    pub paper: bool,
    pub image: bool,
    pub downloadable: bool,
}

pub struct EventLine {
    pub at: String,
    pub action: String,
    pub status: String,
    pub note: String,
    pub due: String,
}

pub struct StepLine {
    pub name: String,
    pub role: String,
    pub started: String,
    pub due: String,
    pub completed: String,
    pub late: bool,
    pub open: bool,
}

/// What the officer typed into an action form (kept when it comes back with an error).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    pub action: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub items: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub to_agency_code: String,
    #[serde(default)]
    pub new_due: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub result_uploads: String,
}

#[derive(Template)]
#[template(path = "officer/dossier.html")]
struct DossierPage<'a> {
    page: &'a PageCtx,
    code: String,
    procedure_name: String,
    procedure_code: String,
    status: String,
    status_value: &'static str,
    channel: String,
    applicant: Applicant,
    proxy: Option<Proxy>,
    answers: Vec<Answer>,
    submitted: String,
    received: String,
    due: String,
    apology_due: String,
    overdue: bool,
    resolved_late: bool,
    fee: String,
    documents: Vec<DocLine>,
    events: Vec<EventLine>,
    steps: Vec<StepLine>,
    actions: Vec<&'static str>,
    agencies: Vec<(String, String)>,
    forms: Vec<(&'static str, String)>,
    form: ActionForm,
    notice: Option<String>,
    error: Option<String>,
}

/// The actions the dossier's status allows to this viewer's roles (the service decides for
/// good; this only avoids offering buttons that would be refused).
fn actions_for(
    viewer: &Viewer,
    record: &workspace::DossierRecord,
    now_ms: i64,
) -> Vec<&'static str> {
    let view = &record.view;
    let receive = may(viewer, Action::ReceiveDossier);
    let process = may(viewer, Action::ProcessDossier);
    let decide = may(viewer, Action::DecideDossier);
    let open_step = view.steps.iter().find(|s| s.completed_at.is_none());
    let forwardable = open_step.is_some_and(|s| {
        s.role != "leader"
            && usize::try_from(s.index + 1).unwrap_or(0) < record.procedure.spec.process.len()
    });
    let overdue = view
        .due_at
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .is_some_and(|d| d.timestamp_millis() - now_ms < 8 * 3_600_000);
    let mut out = Vec::new();
    let mut add = |allowed: bool, name: &'static str| {
        if allowed {
            out.push(name);
        }
    };
    match view.status {
        Status::Submitted => {
            add(receive, "accept");
            add(receive, "reject_at_intake");
        }
        Status::Received => {
            add(process, "start_processing");
            add(process, "request_supplement");
            add(process && overdue, "apologize");
            add(decide, "refuse");
            add(decide, "suspend");
        }
        Status::Processing => {
            add(process && forwardable, "complete_step");
            add(decide, "approve");
            add(process, "request_supplement");
            add(process, "request_payment");
            add(process, "transfer");
            add(process && overdue, "apologize");
            add(decide, "refuse");
            add(decide, "suspend");
        }
        Status::SupplementRequested => {
            add(receive, "supplement");
            add(process && overdue, "apologize");
            add(decide, "refuse");
            add(decide, "suspend");
        }
        Status::AwaitingPayment => {
            add(process && overdue, "apologize");
            add(decide, "refuse");
            add(decide, "suspend");
        }
        Status::Resolved => add(receive, "return_result"),
        _ => {}
    }
    out
}

async fn dossier_page(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    form: ActionForm,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    viewer.require_official()?;
    let record = workspace::record(&state.platform, &viewer.ctx(), code).await?;
    let lang = viewer.lang;
    let spec = &record.procedure.spec;
    let answers = spec
        .form
        .fields
        .iter()
        .filter_map(|f| {
            record
                .form
                .get(&f.key)
                .and_then(|v| v.as_str())
                .map(|v| Answer {
                    label: f.label_vi.clone(),
                    // Dates are shown as 25/04/2027.
                    value: match f.field_type {
                        tinhso_onestop::domain::catalog::FieldType::Date => {
                            chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
                                .map(|d| d.format("%d/%m/%Y").to_string())
                                .unwrap_or_else(|_| v.to_owned())
                        }
                        _ => v.to_owned(),
                    },
                })
        })
        .collect();
    let view = &record.view;
    let documents = view
        .documents
        .iter()
        .map(|d| DocLine {
            id: d.id,
            role: format!("officer.doc_role.{}", d.role),
            name: d.name.clone(),
            filename: d.filename.clone(),
            paper: d.source == "paper",
            image: matches!(d.content_type.as_deref(), Some("image/jpeg" | "image/png")),
            downloadable: d.downloadable,
        })
        .collect();
    let events = view
        .events
        .iter()
        .map(|e| EventLine {
            at: vn_time(&e.at),
            action: format!("officer.event.{}", e.action),
            status: format!("officer.status.{}", e.to_status),
            note: e.note.clone(),
            due: vn_opt(&e.due_at),
        })
        .collect();
    let steps = view
        .steps
        .iter()
        .map(|s| StepLine {
            name: s.name.clone(),
            role: format!("role.{}", s.role),
            started: vn_time(&s.started_at),
            due: vn_opt(&s.due_at),
            completed: vn_opt(&s.completed_at),
            late: s.late,
            open: s.completed_at.is_none(),
        })
        .collect();
    let now = viewer.now_ms;
    let overdue = view
        .due_at
        .as_deref()
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(d).ok())
        .is_some_and(|d| d.timestamp_millis() < now)
        && !view.status.is_final()
        && view.status != Status::Resolved;
    let actions = actions_for(viewer, &record, now);
    let agencies = if actions.contains(&"transfer") {
        tinhso_platform::org::list_agencies(&state.platform, &tinhso_platform::Ctx::system(now))
            .await?
            .into_iter()
            .filter(|a| a.active && a.code != view.agency_code)
            .map(|a| (a.code, a.name))
            .collect()
    } else {
        Vec::new()
    };
    let mut forms = Vec::new();
    if view.received_at.is_some() {
        forms.push(("receipt", t(lang, "officer.form.receipt").to_owned()));
    }
    if view.events.iter().any(|e| e.action == "request_supplement") {
        forms.push((
            "supplement_request",
            t(lang, "officer.form.supplement_request").to_owned(),
        ));
    }
    if view.status == Status::Stopped {
        forms.push(("refusal", t(lang, "officer.form.refusal").to_owned()));
    }
    if view.apology_due_at.is_some() {
        forms.push(("apology", t(lang, "officer.form.apology").to_owned()));
    }
    let page = PageCtx::new(state, viewer, &format!("/dossiers/{code}"));
    let failed = error.is_some();
    let template = DossierPage {
        page: &page,
        code: view.code.clone(),
        procedure_name: spec.name.clone(),
        procedure_code: spec.code.clone(),
        status: status_key(view.status),
        status_value: view.status.as_str(),
        channel: format!("officer.channel.{}", view.channel),
        applicant: record.applicant.clone(),
        proxy: record.proxy.clone(),
        answers,
        submitted: vn_time(&view.submitted_at),
        received: vn_opt(&view.received_at),
        due: vn_opt(&view.due_at),
        apology_due: vn_opt(&view.apology_due_at),
        overdue,
        resolved_late: view.resolved_late,
        fee: view
            .fee_amount
            .map(crate::format::vn_money)
            .unwrap_or_default(),
        documents,
        events,
        steps,
        actions,
        agencies,
        forms,
        form,
        notice,
        error,
    };
    render_form(failed, &template)
}

#[derive(Debug, Default, Deserialize)]
pub struct DossierQuery {
    #[serde(default)]
    done: String,
}

pub async fn dossier(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(query): Query<DossierQuery>,
) -> WebResult<Response> {
    let notice = match query.done.as_str() {
        "" => None,
        action => {
            let key = format!("officer.done.{action}");
            Some(if has_key(&key) {
                t(viewer.lang, &key).to_owned()
            } else {
                t(viewer.lang, "officer.done").to_owned()
            })
        }
    };
    dossier_page(&state, &viewer, &code, ActionForm::default(), notice, None).await
}

/// The command of an action form, or the message of what is missing.
fn command_of(form: &ActionForm) -> Result<Command, &'static str> {
    let ids = |text: &str| -> Vec<i64> {
        text.split([',', ' '])
            .filter_map(|s| s.trim().parse().ok())
            .collect()
    };
    Ok(match form.action.as_str() {
        "accept" => Command::Accept,
        "reject_at_intake" => Command::RejectAtIntake {
            reason: form.reason.clone(),
        },
        "start_processing" => Command::StartProcessing,
        "complete_step" => Command::CompleteStep {
            note: form.note.clone(),
        },
        "request_supplement" => Command::RequestSupplement {
            items: form
                .items
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
            reason: form.reason.clone(),
        },
        "supplement" => Command::Supplement {
            note: form.note.clone(),
            documents: Vec::new(),
        },
        "request_payment" => Command::RequestPayment {
            amount: form
                .amount
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
                .parse()
                .map_err(|_| "officer.err.amount")?,
        },
        "approve" => Command::Approve {
            note: form.note.clone(),
            result_documents: ids(&form.result_uploads),
        },
        "refuse" => Command::Refuse {
            reason: form.reason.clone(),
        },
        "suspend" => Command::Suspend {
            reason: form.reason.clone(),
        },
        "transfer" => Command::Transfer {
            to_agency_code: form.to_agency_code.clone(),
            note: form.note.clone(),
        },
        "apologize" => {
            let local =
                chrono::NaiveDateTime::parse_from_str(form.new_due.trim(), "%Y-%m-%dT%H:%M")
                    .or_else(|_| {
                        chrono::NaiveDate::parse_from_str(form.new_due.trim(), "%Y-%m-%d")
                            .map(|d| d.and_hms_opt(16, 0, 0).unwrap_or_default())
                    })
                    .map_err(|_| "officer.err.new_due")?;
            let new_due = local
                .and_local_timezone(crate::format::vietnam())
                .single()
                .ok_or("officer.err.new_due")?;
            Command::Apologize {
                new_due,
                reason: form.reason.clone(),
            }
        }
        "return_result" => Command::ReturnResult {
            method: match form.method.as_str() {
                "postal" => Channel::Postal,
                "online" => Channel::Online,
                _ => Channel::Counter,
            },
        },
        _ => return Err("officer.err.action"),
    })
}

/// `POST /dossiers/{code}/act`: one action of the dossier page.
pub async fn dossier_act(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(form): Form<ActionForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    let lang = viewer.lang;
    let result = match command_of(&form) {
        Ok(command) => dossiers::act(&state.platform, &viewer.ctx(), &code, &command)
            .await
            .map_err(|e| officer_error(lang, &WebError::from(e))),
        Err(key) => Err(t(lang, key).to_owned()),
    };
    match result {
        Ok(_) => {
            let target = if form.action == "return_result" || form.action == "accept" {
                format!("/dossiers/{code}?done={}", form.action)
            } else {
                safe_back(&format!("/dossiers/{code}?done={}", form.action), "/inbox")
            };
            Ok(Redirect::to(&target).into_response())
        }
        Err(message) => dossier_page(&state, &viewer, &code, form, None, Some(message)).await,
    }
}

/// `GET /dossiers/{code}/documents/{id}/view`: a document shown in the browser (PDF viewer,
/// image), for officials who may read the dossier. Types were detected from the content at
/// upload (PDF, JPEG, PNG only), so showing them inline is safe.
pub async fn document_view(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((code, id)): Path<(String, i64)>,
) -> WebResult<Response> {
    viewer.require_official()?;
    let file =
        tinhso_onestop::documents::download(&state.platform, &viewer.ctx(), &code, id).await?;
    let content_type = match file.document.content_type.as_deref() {
        Some("application/pdf") => "application/pdf",
        Some("image/jpeg") => "image/jpeg",
        Some("image/png") => "image/png",
        _ => return Err(WebError::Status(StatusCode::NOT_FOUND, "not_found")),
    };
    let mut response = file.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    Ok(response)
}

// ------------------------------------------------------------------ queue (public)

/// Tickets taken per address and minute (its own budget, so a busy ticket machine does not
/// use up the status lookups' or the logins' budgets).
pub(crate) fn allow_ticket(state: &AppState, viewer: &Viewer) -> WebResult<()> {
    static TICKETS: std::sync::OnceLock<crate::middleware::RateLimiter> =
        std::sync::OnceLock::new();
    let ip = viewer
        .source_addr
        .parse()
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if TICKETS.get_or_init(Default::default).allow(
        ip,
        viewer.now_ms,
        state.platform.config.security.login_rate_per_minute,
    ) {
        Ok(())
    } else {
        Err(
            tinhso_core::DomainError::new(tinhso_core::ErrorCode::RateLimited, "too many tickets")
                .into(),
        )
    }
}

#[derive(Template)]
#[template(path = "officer/queue_take.html")]
struct QueueTakePage<'a> {
    page: &'a PageCtx,
    display: queue::Display,
}

pub async fn queue_take_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> WebResult<Response> {
    let display = queue::display(&state.platform, &agency, viewer.now_ms).await?;
    let page = PageCtx::new(&state, &viewer, &format!("/queue/{agency}"));
    render(&QueueTakePage {
        page: &page,
        display,
    })
}

#[derive(Debug, Deserialize)]
pub struct TakeForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /queue/{agency}`: take a number (the ticket machine), then its printable page.
pub async fn queue_take(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
    Form(form): Form<TakeForm>,
) -> WebResult<Response> {
    // The ticket machine is used without logging in: nothing of a visitor's can be forged
    // there. A logged-in browser still proves the form is ours.
    if viewer.session.is_some() {
        viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    }
    allow_ticket(&state, &viewer)?;
    let ticket = queue::take(&state.platform, &viewer.ctx(), &agency).await?;
    Ok(Redirect::to(&format!(
        "/queue/{}/tickets/{}",
        ticket.agency_code, ticket.id
    ))
    .into_response())
}

#[derive(Template)]
#[template(path = "officer/queue_ticket.html")]
struct QueueTicketPage<'a> {
    page: &'a PageCtx,
    ticket: queue::Ticket,
    taken: String,
}

pub async fn queue_ticket(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((agency, id)): Path<(String, i64)>,
) -> WebResult<Response> {
    let ticket = queue::get(&state.platform, &agency, id).await?;
    let page = PageCtx::new(&state, &viewer, &format!("/queue/{agency}"));
    render(&QueueTicketPage {
        page: &page,
        taken: crate::format::vn_datetime(ticket.taken_ms),
        ticket,
    })
}

#[derive(Template)]
#[template(path = "officer/queue_display.html")]
struct QueueDisplayPage<'a> {
    page: &'a PageCtx,
    display: queue::Display,
    day: String,
}

/// The waiting-room display. With scripts it polls `/api/v1/queue/{agency}`; without, the
/// `Refresh` header reloads it (a header, not a `<meta>`, so assistive technology is not
/// interrupted by a page that reloads itself).
pub async fn queue_display(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(agency): Path<String>,
) -> WebResult<Response> {
    let display = queue::display(&state.platform, &agency, viewer.now_ms).await?;
    let page = PageCtx::new(&state, &viewer, &format!("/queue/{agency}/display"));
    let day = chrono::NaiveDate::parse_from_str(&display.day, "%Y-%m-%d")
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_default();
    let mut response = render(&QueueDisplayPage {
        page: &page,
        display,
        day,
    })?;
    response
        .headers_mut()
        .insert(header::REFRESH, HeaderValue::from_static("15"));
    Ok(response)
}
