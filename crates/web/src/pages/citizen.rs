//! The citizen area: online application from the procedure's form schema with a draft saved
//! on the server at every step, my dossiers with their timeline, supplements, rating, my
//! documents and my notifications.
//!
//! Paths: `/apply/{code}`, `/my/dossiers`, `/my/dossiers/{code}`, `/my/documents`, `/my/notifications`.
//!
//! The application is a draft (`onestop::drafts`) walked through steps: the form's pages
//! (`?step=1`, `2`, …), the required documents (`documents`), the review (`review`). Every
//! post saves the draft first, valid or not, and then shows the errors beside their fields.
//! A post that arrives after the session ended keeps its answers under a random token in a
//! cookie and goes to the login page, which comes back to the same step with them merged.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Form, Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value};
use tinhso_onestop::catalog::{self, StoredProcedure};
use tinhso_onestop::domain::catalog::{FormField, ProcedureSpec, validate_form};
use tinhso_onestop::domain::dossier::Status;
use tinhso_onestop::dossiers::{self, Command, DossierView};
use tinhso_onestop::drafts::{self, DraftDocument, DraftUpdate, DraftView};
use tinhso_onestop::{citizen, documents, payments};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::format::{vn_date, vn_datetime, vn_datetime_text, vn_day, vn_money};
use crate::i18n::{Lang, t};
use crate::pages::auth::add_cookie;
use crate::pages::form_view::{FieldView, field_messages, field_views};
use crate::pages::multipart;
use crate::pages::{PageCtx, error_message, render, render_form};
use crate::session::{Viewer, cookie_value, random_value, set_cookie};

/// Form fields per page of the application.
pub const PAGE_SIZE: usize = 5;
/// The cookie holding the token of answers posted after the session ended.
pub const PENDING_COOKIE: &str = "tinhso_pending";
const FIELD_PREFIX: &str = "form.";

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/apply/{code}", get(apply_page).post(apply_submit))
        .route("/apply/{code}/documents", post(documents_submit))
        .route("/my/dossiers", get(my_dossiers))
        .route("/my/dossiers/{code}", get(dossier_page))
        .route("/my/dossiers/{code}/confirmation", get(confirmation))
        .route("/my/dossiers/{code}/supplement", post(supplement_submit))
        .route("/my/dossiers/{code}/pay", post(pay_submit))
        .route("/my/dossiers/{code}/rating", post(rating_submit))
        .route("/my/documents", get(my_documents))
        .route("/my/notifications", get(my_notifications))
}

// ------------------------------------------------------------------ steps

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Form(usize),
    Documents,
    Review,
}

impl Step {
    fn parse(raw: &str, pages: usize) -> Self {
        match raw {
            "documents" => Self::Documents,
            "review" => Self::Review,
            n => Self::Form(n.parse::<usize>().unwrap_or(1).clamp(1, pages)),
        }
    }

    fn name(self) -> String {
        match self {
            Self::Form(n) => n.to_string(),
            Self::Documents => "documents".into(),
            Self::Review => "review".into(),
        }
    }

    fn next(self, pages: usize) -> Self {
        match self {
            Self::Form(n) if n < pages => Self::Form(n + 1),
            Self::Form(_) => Self::Documents,
            Self::Documents | Self::Review => Self::Review,
        }
    }

    fn previous(self, pages: usize) -> Self {
        match self {
            Self::Form(n) => Self::Form(n.saturating_sub(1).max(1)),
            Self::Documents => Self::Form(pages),
            Self::Review => Self::Documents,
        }
    }
}

fn page_count(spec: &ProcedureSpec) -> usize {
    spec.form.fields.len().div_ceil(PAGE_SIZE).max(1)
}

fn page_fields(spec: &ProcedureSpec, n: usize) -> &[FormField] {
    let start = (n.saturating_sub(1) * PAGE_SIZE).min(spec.form.fields.len());
    let end = (start + PAGE_SIZE).min(spec.form.fields.len());
    &spec.form.fields[start..end]
}

fn apply_url(code: &str, step: Step) -> String {
    format!("/apply/{}?step={}", encode(code), step.name())
}

/// What is escaped in a path segment or a query value of our links.
const ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'+')
    .add(b'/')
    .add(b'<')
    .add(b'=')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, ESCAPED).to_string()
}

/// Pages of the area need a logged-in citizen; the login page comes back to `next`.
fn require_login(viewer: &Viewer, next: &str) -> WebResult<()> {
    if viewer.session.is_none() {
        return Err(WebError::Redirect(format!("/login?next={}", encode(next))));
    }
    viewer.require_user()?;
    Ok(())
}

/// The translated message of an error, preferring this area's text for its rule.
fn message_of(lang: Lang, error: &WebError) -> String {
    if let WebError::Platform(tinhso_platform::Error::Domain(d)) = error
        && let Some(rule) = d.rule
    {
        let key = format!("citizen.rule.{rule}");
        if crate::i18n::has_key(&key) {
            return t(lang, &key).to_owned();
        }
    }
    error_message(lang, error).unwrap_or_else(|| t(lang, "error.internal").to_owned())
}

/// Agencies that may receive the procedure online (active, at a level it is handled at).
async fn receiving_agencies(
    state: &AppState,
    spec: &ProcedureSpec,
) -> WebResult<Vec<(String, String)>> {
    use tinhso_onestop::domain::catalog::Level;
    let ctx = tinhso_platform::Ctx::system(state.platform.now_ms());
    let mut list: Vec<(String, String)> =
        tinhso_platform::org::list_agencies(&state.platform, &ctx)
            .await?
            .into_iter()
            .filter(|a| a.active)
            .filter(|a| {
                spec.levels
                    .iter()
                    .any(|l| (*l == Level::Commune) == (a.level == "commune"))
            })
            .filter(|a| a.parent_id.is_some() || spec.levels.contains(&Level::Province))
            .map(|a| (a.code, a.name))
            .collect();
    list.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(list)
}

// ------------------------------------------------------------------ templates

pub struct StepLink {
    pub label: String,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "citizen/apply_form.html")]
struct FormStepPage<'a> {
    page: &'a PageCtx,
    procedure_name: String,
    procedure_code: String,
    draft_id: i64,
    steps: Vec<StepLink>,
    step: String,
    step_title: String,
    fields: Vec<FieldView>,
    /// (field id, message) for the error summary.
    summary: Vec<(String, String)>,
    show_agency: bool,
    agencies: Vec<(String, String)>,
    agency: String,
    agency_error: Option<String>,
    notice: Option<String>,
    first: bool,
    action: String,
}

#[derive(Template)]
#[template(path = "citizen/apply_documents.html")]
struct DocumentsStepPage<'a> {
    page: &'a PageCtx,
    procedure_name: String,
    procedure_code: String,
    steps: Vec<StepLink>,
    items: Vec<DocumentItem>,
    summary: Vec<(String, String)>,
    notice: Option<String>,
    action: String,
}

pub struct DocumentItem {
    pub index: usize,
    pub id: String,
    pub name: String,
    pub kind: String,
    pub count: u32,
    pub chosen: Option<String>,
    pub store: Vec<StoreOption>,
    pub error: Option<String>,
}

pub struct StoreOption {
    pub id: i64,
    pub name: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "citizen/apply_review.html")]
struct ReviewPage<'a> {
    page: &'a PageCtx,
    procedure_name: String,
    procedure_code: String,
    steps: Vec<StepLink>,
    rows: Vec<ReviewRow>,
    agency_name: String,
    agency_href: String,
    documents: Vec<ReviewRow>,
    documents_href: String,
    problems: Vec<(String, String)>,
    error: Option<String>,
    fees: Vec<String>,
    action: String,
    draft_id: i64,
}

pub struct ReviewRow {
    pub label: String,
    pub value: String,
    pub href: String,
}

fn step_links(lang: Lang, code: &str, pages: usize, current: Step) -> Vec<StepLink> {
    let mut links = Vec::new();
    for n in 1..=pages {
        links.push(StepLink {
            label: format!("{} {n}", t(lang, "citizen.step.form")),
            href: apply_url(code, Step::Form(n)),
            current: current == Step::Form(n),
        });
    }
    links.push(StepLink {
        label: t(lang, "citizen.step.documents").to_owned(),
        href: apply_url(code, Step::Documents),
        current: current == Step::Documents,
    });
    links.push(StepLink {
        label: t(lang, "citizen.step.review").to_owned(),
        href: apply_url(code, Step::Review),
        current: current == Step::Review,
    });
    links
}

struct ApplyCtx<'a> {
    state: &'a AppState,
    viewer: &'a Viewer,
    procedure: StoredProcedure,
    draft: DraftView,
}

impl ApplyCtx<'_> {
    fn spec(&self) -> &ProcedureSpec {
        &self.procedure.spec
    }

    fn lang(&self) -> Lang {
        self.viewer.lang
    }

    fn page(&self) -> PageCtx {
        PageCtx::new(
            self.state,
            self.viewer,
            &format!("/apply/{}", self.spec().code),
        )
    }
}

/// Field errors of the answers, for the fields of `keys` only.
fn errors_for(
    lang: Lang,
    spec: &ProcedureSpec,
    answers: &Map<String, Value>,
    keys: &[&str],
) -> HashMap<String, String> {
    let errors = validate_form(&spec.form, answers);
    field_messages(lang, &errors)
        .into_iter()
        .filter(|(k, _)| keys.contains(&k.as_str()))
        .collect()
}

async fn render_form_step(
    a: &ApplyCtx<'_>,
    n: usize,
    errors: HashMap<String, String>,
    agency_error: Option<String>,
    notice: Option<String>,
) -> WebResult<Response> {
    let lang = a.lang();
    let spec = a.spec();
    let pages = page_count(spec);
    let page = a.page();
    let fields_here = page_fields(spec, n);
    let sub = tinhso_onestop::domain::catalog::FormSchema {
        fields: fields_here.to_vec(),
    };
    let fields = field_views(lang, &sub, &a.draft.answers, &errors, FIELD_PREFIX);
    let mut summary: Vec<(String, String)> = Vec::new();
    if let Some(message) = &agency_error {
        summary.push(("field-agency".into(), message.clone()));
    }
    for f in &fields {
        if let Some(e) = &f.error {
            summary.push((f.id.clone(), format!("{}: {e}", f.label)));
        }
    }
    let failed = !summary.is_empty();
    let template = FormStepPage {
        page: &page,
        procedure_name: spec.name.clone(),
        procedure_code: spec.code.clone(),
        draft_id: a.draft.id,
        steps: step_links(lang, &spec.code, pages, Step::Form(n)),
        step: Step::Form(n).name(),
        step_title: format!("{} {n}/{pages}", t(lang, "citizen.step.form_title")),
        fields,
        summary,
        show_agency: n == 1,
        agencies: if n == 1 {
            receiving_agencies(a.state, spec).await?
        } else {
            Vec::new()
        },
        agency: a.draft.agency_code.clone(),
        agency_error,
        notice,
        first: n == 1,
        action: format!("/apply/{}", encode(&spec.code)),
    };
    render_form(failed, &template)
}

fn kind_label(lang: Lang, kind: tinhso_onestop::domain::catalog::DocumentKind) -> String {
    use tinhso_onestop::domain::catalog::DocumentKind;
    let key = match kind {
        DocumentKind::Original => "citizen.kind.original",
        DocumentKind::CertifiedCopy => "citizen.kind.certified_copy",
        DocumentKind::Photocopy => "citizen.kind.photocopy",
    };
    t(lang, key).to_owned()
}

async fn render_documents_step(
    a: &ApplyCtx<'_>,
    errors: HashMap<usize, String>,
    notice: Option<String>,
) -> WebResult<Response> {
    let lang = a.lang();
    let spec = a.spec();
    let store = documents::my_store(&a.state.platform, &a.viewer.ctx()).await?;
    let items: Vec<DocumentItem> = spec
        .required_documents
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let chosen = a.draft.documents.iter().find(|d| d.requirement == i);
            DocumentItem {
                index: i,
                id: format!("doc-{i}"),
                name: r.name.clone(),
                kind: kind_label(lang, r.kind),
                count: r.count,
                chosen: chosen.map(|d| d.filename.clone()),
                store: if r.reusable {
                    store
                        .iter()
                        .map(|s| StoreOption {
                            id: s.id,
                            name: format!("{} ({})", s.name, vn_date(s.created_ms)),
                            selected: chosen.and_then(|d| d.store_document_id) == Some(s.id),
                        })
                        .collect()
                } else {
                    Vec::new()
                },
                error: errors.get(&i).cloned(),
            }
        })
        .collect();
    let summary: Vec<(String, String)> = items
        .iter()
        .filter_map(|i| {
            i.error
                .as_ref()
                .map(|e| (format!("{}-file", i.id), format!("{}: {e}", i.name)))
        })
        .collect();
    let page = a.page();
    let failed = !summary.is_empty();
    let template = DocumentsStepPage {
        page: &page,
        procedure_name: spec.name.clone(),
        procedure_code: spec.code.clone(),
        steps: step_links(lang, &spec.code, page_count(spec), Step::Documents),
        items,
        summary,
        notice,
        action: format!("/apply/{}/documents", encode(&spec.code)),
    };
    render_form(failed, &template)
}

async fn render_review(a: &ApplyCtx<'_>, error: Option<String>) -> WebResult<Response> {
    let lang = a.lang();
    let spec = a.spec();
    let pages = page_count(spec);
    let messages = field_messages(lang, &validate_form(&spec.form, &a.draft.answers));
    let mut problems = Vec::new();
    let mut rows = Vec::new();
    for (i, field) in spec.form.fields.iter().enumerate() {
        let step = Step::Form(i / PAGE_SIZE + 1);
        let href = format!("{}#field-{}", apply_url(&spec.code, step), field.key);
        let value = a
            .draft
            .answers
            .get(&field.key)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = if field.field_type == tinhso_onestop::domain::catalog::FieldType::Date {
            vn_day(value)
        } else {
            value.to_owned()
        };
        if let Some(m) = messages.get(&field.key) {
            problems.push((href.clone(), format!("{}: {m}", field.label_vi)));
        }
        rows.push(ReviewRow {
            label: field.label_vi.clone(),
            value,
            href,
        });
    }
    let agencies = receiving_agencies(a.state, spec).await?;
    let agency_name = agencies
        .iter()
        .find(|(c, _)| *c == a.draft.agency_code)
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    let agency_href = format!("{}#field-agency", apply_url(&spec.code, Step::Form(1)));
    if agency_name.is_empty() {
        problems.insert(
            0,
            (
                agency_href.clone(),
                t(lang, "citizen.agency_required").to_owned(),
            ),
        );
    }
    let documents_href = apply_url(&spec.code, Step::Documents);
    let mut documents = Vec::new();
    for (i, r) in spec.required_documents.iter().enumerate() {
        let chosen = a.draft.documents.iter().find(|d| d.requirement == i);
        let href = format!("{documents_href}#doc-{i}-file");
        if chosen.is_none() {
            problems.push((
                href.clone(),
                format!("{}: {}", r.name, t(lang, "citizen.doc_missing")),
            ));
        }
        documents.push(ReviewRow {
            label: r.name.clone(),
            value: chosen.map(|d| d.filename.clone()).unwrap_or_default(),
            href,
        });
    }
    let fees = spec
        .fees
        .iter()
        .filter(|f| f.amount > 0)
        .map(|f| {
            format!(
                "{}: {}",
                f.name,
                vn_money(i64::try_from(f.amount).unwrap_or(i64::MAX))
            )
        })
        .collect();
    let page = a.page();
    let failed = error.is_some();
    let template = ReviewPage {
        page: &page,
        procedure_name: spec.name.clone(),
        procedure_code: spec.code.clone(),
        steps: step_links(lang, &spec.code, pages, Step::Review),
        rows,
        agency_name,
        agency_href,
        documents,
        documents_href,
        problems,
        error,
        fees,
        action: format!("/apply/{}", encode(&spec.code)),
        draft_id: a.draft.id,
    };
    render_form(failed, &template)
}

// ------------------------------------------------------------------ handlers: application

#[derive(Debug, Default, Deserialize)]
pub struct StepQuery {
    #[serde(default)]
    step: String,
}

async fn open_apply<'a>(
    state: &'a AppState,
    viewer: &'a Viewer,
    code: &str,
) -> WebResult<ApplyCtx<'a>> {
    let draft = drafts::open(&state.platform, &viewer.ctx(), code).await?;
    let procedure = catalog::version(&state.platform, draft.procedure_version_id).await?;
    Ok(ApplyCtx {
        state,
        viewer,
        procedure,
        draft,
    })
}

fn clear_pending_cookie(state: &AppState) -> String {
    set_cookie(
        PENDING_COOKIE,
        "",
        0,
        state.platform.config.security.secure_cookies,
        true,
    )
}

/// `GET /apply/{code}?step=…`: one step of the application, from the draft.
pub async fn apply_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(query): Query<StepQuery>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let here = format!(
        "/apply/{}?step={}",
        encode(&code),
        encode(if query.step.is_empty() {
            "1"
        } else {
            &query.step
        })
    );
    require_login(&viewer, &here)?;
    let mut a = open_apply(&state, &viewer, &code).await?;
    let mut notice = None;
    let pending = cookie_value(&headers, PENDING_COOKIE).map(str::to_owned);
    if let Some(token) = &pending
        && drafts::take_pending(&state.platform, &viewer.ctx(), token, a.draft.id)
            .await?
            .is_some()
    {
        a.draft = drafts::get(&state.platform, &viewer.ctx(), a.draft.id).await?;
        notice = Some(t(viewer.lang, "citizen.restored").to_owned());
    }
    let pages = page_count(a.spec());
    let step = if query.step.is_empty() && !a.draft.step.is_empty() {
        // Resuming: the step last saved.
        Step::parse(&a.draft.step, pages)
    } else {
        Step::parse(&query.step, pages)
    };
    let mut response = match step {
        Step::Form(n) => render_form_step(&a, n, HashMap::new(), None, notice).await?,
        Step::Documents => render_documents_step(&a, HashMap::new(), notice).await?,
        Step::Review => render_review(&a, None).await?,
    };
    if pending.is_some() {
        add_cookie(&mut response, &clear_pending_cookie(&state));
    }
    Ok(response)
}

fn posted<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

/// `POST /apply/{code}`: saves a form page (and goes on when it is valid), or submits the
/// reviewed draft.
pub async fn apply_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let procedure = catalog::get(&state.platform, &code).await?;
    let pages = page_count(&procedure.spec);
    let step = Step::parse(posted(&form, "step"), pages);
    if viewer.session.is_none() {
        return keep_for_login(&state, &viewer, &headers, &procedure, step, &form).await;
    }
    viewer.require_user()?;
    viewer.check_csrf(&state.platform.session_key, posted(&form, "csrf_token"))?;
    let action = posted(&form, "action");
    let mut a = open_apply(&state, &viewer, &code).await?;
    let lang = viewer.lang;
    match step {
        Step::Form(n) => {
            let owned_keys: Vec<String> = page_fields(a.spec(), n)
                .iter()
                .map(|f| f.key.clone())
                .collect();
            let keys: Vec<&str> = owned_keys.iter().map(String::as_str).collect();
            let answers: Map<String, Value> = keys
                .iter()
                .map(|k| {
                    let v = posted(&form, &format!("{FIELD_PREFIX}{k}"));
                    ((*k).to_owned(), Value::String(v.to_owned()))
                })
                .collect();
            let agency = (n == 1).then(|| posted(&form, "agency").to_owned());
            let update = DraftUpdate {
                answers: Some(answers),
                agency_code: agency.clone(),
                step: Some(step.name()),
                ..DraftUpdate::default()
            };
            a.draft = drafts::save(&state.platform, &viewer.ctx(), a.draft.id, &update).await?;
            if action == "back" {
                return Ok(Redirect::to(&apply_url(&code, step.previous(pages))).into_response());
            }
            let errors = errors_for(lang, a.spec(), &a.draft.answers, &keys);
            let agency_error = match &agency {
                Some(chosen) => {
                    let list = receiving_agencies(&state, a.spec()).await?;
                    (!list.iter().any(|(c, _)| c == chosen))
                        .then(|| t(lang, "citizen.agency_required").to_owned())
                }
                None => None,
            };
            if action == "save" {
                let notice = Some(t(lang, "citizen.saved").to_owned());
                return render_form_step(&a, n, HashMap::new(), None, notice).await;
            }
            if !errors.is_empty() || agency_error.is_some() {
                return render_form_step(&a, n, errors, agency_error, None).await;
            }
            Ok(Redirect::to(&apply_url(&code, step.next(pages))).into_response())
        }
        Step::Documents => Ok(Redirect::to(&apply_url(&code, Step::Documents)).into_response()),
        Step::Review => {
            if action != "submit" {
                return Ok(Redirect::to(&apply_url(&code, Step::Review)).into_response());
            }
            // The draft reviewed (a re-post after it was submitted names it, not a new one).
            let draft_id = posted(&form, "draft").parse::<i64>().unwrap_or(a.draft.id);
            match drafts::submit(&state.platform, &viewer.ctx(), draft_id).await {
                Ok(dossier) => Ok(Redirect::to(&format!(
                    "/my/dossiers/{}/confirmation",
                    encode(&dossier.code)
                ))
                .into_response()),
                Err(e) => {
                    let e = WebError::from(e);
                    if let WebError::Platform(tinhso_platform::Error::Domain(d)) = &e
                        && d.rule == Some("draft.outdated")
                    {
                        return Ok(Redirect::to(&apply_url(&code, Step::Form(1))).into_response());
                    }
                    if !matches!(&e, WebError::Platform(p) if p.code() != tinhso_core::ErrorCode::Internal)
                    {
                        return Err(e);
                    }
                    let message = message_of(lang, &e);
                    render_review(&a, Some(message)).await
                }
            }
        }
    }
}

/// A post without a valid session: its answers are kept under a random token (cookie) and
/// the browser goes to the login page, which returns to the same step.
async fn keep_for_login(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    procedure: &StoredProcedure,
    step: Step,
    form: &[(String, String)],
) -> WebResult<Response> {
    let back = apply_url(&procedure.spec.code, step);
    let login = format!("/login?next={}", encode(&back));
    let ip = viewer
        .source_addr
        .parse()
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    if !state.login_limiter.allow(
        ip,
        viewer.now_ms,
        state.platform.config.security.login_rate_per_minute,
    ) {
        return Ok(Redirect::to(&login).into_response());
    }
    let answers =
        crate::pages::form_view::answers_from_form(&procedure.spec.form, form, FIELD_PREFIX);
    let token = cookie_value(headers, PENDING_COOKIE)
        .filter(|t| t.len() >= 32 && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
        .unwrap_or_else(|| random_value() + &random_value());
    let mut response = Redirect::to(&login).into_response();
    if !answers.is_empty() {
        drafts::stash_pending(
            &state.platform,
            &viewer.ctx(),
            &token,
            &procedure.spec.code,
            &step.name(),
            &answers,
        )
        .await?;
        add_cookie(
            &mut response,
            &set_cookie(
                PENDING_COOKIE,
                &token,
                drafts::PENDING_TTL_MS / 1000,
                state.platform.config.security.secure_cookies,
                true,
            ),
        );
    }
    Ok(response)
}

/// `POST /apply/{code}/documents` (multipart): uploads each chosen file (scanned and typed by
/// the documents service) or takes a document of the store, saves the choice in the draft.
pub async fn documents_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    require_login(&viewer, &format!("/apply/{}?step=documents", encode(&code)))?;
    let parts = multipart::parts_of(&headers, &body)?;
    viewer.check_csrf(
        &state.platform.session_key,
        &multipart::field(&parts, "csrf_token"),
    )?;
    let mut a = open_apply(&state, &viewer, &code).await?;
    let lang = viewer.lang;
    let ctx = viewer.ctx();
    let mut errors: HashMap<usize, String> = HashMap::new();
    let mut chosen: Vec<DraftDocument> = Vec::new();
    let required = a.spec().required_documents.clone();
    for (i, requirement) in required.iter().enumerate() {
        let file = parts.iter().find(|p| {
            p.name == format!("doc-{i}-file")
                && p.filename.as_deref().is_some_and(|f| !f.is_empty())
                && !p.data.is_empty()
        });
        if let Some(file) = file {
            let name = file.filename.clone().unwrap_or_default();
            match documents::upload(&state.platform, &ctx, &name, &file.data).await {
                Ok(upload) => chosen.push(DraftDocument {
                    requirement: i,
                    upload_id: Some(upload.id),
                    store_document_id: None,
                    filename: upload.filename,
                }),
                Err(e) => {
                    errors.insert(i, message_of(lang, &WebError::from(e)));
                }
            }
            continue;
        }
        if requirement.reusable
            && let Ok(id) = multipart::field(&parts, &format!("doc-{i}-store")).parse::<i64>()
        {
            let store = documents::my_store(&state.platform, &ctx).await?;
            if let Some(doc) = store.iter().find(|s| s.id == id) {
                chosen.push(DraftDocument {
                    requirement: i,
                    upload_id: None,
                    store_document_id: Some(id),
                    filename: doc.name.clone(),
                });
            }
        }
    }
    let update = DraftUpdate {
        documents: Some(chosen),
        step: Some("documents".into()),
        ..DraftUpdate::default()
    };
    a.draft = drafts::save(&state.platform, &ctx, a.draft.id, &update).await?;
    let pages = page_count(a.spec());
    let action = multipart::field(&parts, "action");
    if action == "back" && errors.is_empty() {
        return Ok(Redirect::to(&apply_url(&code, Step::Form(pages))).into_response());
    }
    if action != "save" {
        for i in 0..required.len() {
            if !a.draft.documents.iter().any(|d| d.requirement == i) {
                errors
                    .entry(i)
                    .or_insert_with(|| t(lang, "citizen.doc_missing").to_owned());
            }
        }
    }
    if !errors.is_empty() {
        return render_documents_step(&a, errors, None).await;
    }
    if action == "save" {
        return render_documents_step(&a, errors, Some(t(lang, "citizen.saved").to_owned())).await;
    }
    Ok(Redirect::to(&apply_url(&code, Step::Review)).into_response())
}

// ------------------------------------------------------------------ my dossiers

pub struct DossierRow {
    pub code: String,
    pub href: String,
    pub procedure: String,
    pub status: String,
    pub submitted: String,
    pub due: String,
    pub fee_due: bool,
}

#[derive(Template)]
#[template(path = "citizen/my_dossiers.html")]
struct MyDossiersPage<'a> {
    page: &'a PageCtx,
    rows: Vec<DossierRow>,
    /// Open drafts: (procedure name, resume link, last saved).
    drafts: Vec<(String, String, String)>,
}

fn status_label(lang: Lang, status: Status) -> String {
    t(lang, &format!("dossier_status.{}", status.as_str())).to_owned()
}

pub async fn my_dossiers(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    require_login(&viewer, "/my/dossiers")?;
    let lang = viewer.lang;
    let rows = citizen::my_dossiers(&state.platform, &viewer.ctx())
        .await?
        .into_iter()
        .map(|d| DossierRow {
            href: format!("/my/dossiers/{}", encode(&d.code)),
            code: d.code,
            procedure: d.procedure_name,
            status: status_label(lang, d.status),
            submitted: vn_date(d.submitted_ms),
            due: d.due_ms.map(vn_datetime).unwrap_or_default(),
            fee_due: d.fee_due,
        })
        .collect();
    // Officials may look at the page too; drafts are citizens' only.
    let open = match drafts::mine(&state.platform, &viewer.ctx()).await {
        Ok(open) => open,
        Err(e) if e.code() == tinhso_core::ErrorCode::Forbidden => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    let drafts = open
        .into_iter()
        .map(|d| {
            (
                d.procedure_name,
                format!("/apply/{}", encode(&d.procedure_code)),
                vn_datetime(d.updated_ms),
            )
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/my/dossiers");
    render(&MyDossiersPage {
        page: &page,
        rows,
        drafts,
    })
}

pub struct TimelineItem {
    pub at: String,
    pub action: String,
    pub note: String,
}

pub struct DocRow {
    pub name: String,
    pub role: String,
    pub filename: String,
    pub href: Option<String>,
}

#[derive(Template)]
#[template(path = "citizen/dossier.html")]
struct DossierPage<'a> {
    page: &'a PageCtx,
    code: String,
    procedure: String,
    status: String,
    submitted: String,
    due: String,
    timeline: Vec<TimelineItem>,
    documents: Vec<DocRow>,
    supplement_items: Option<String>,
    fee: Option<String>,
    fee_due: bool,
    fee_paid: bool,
    can_rate: bool,
    rated: Option<String>,
    error: Option<String>,
    notice: Option<String>,
    receipt: bool,
    base: String,
}

#[derive(Template)]
#[template(path = "citizen/confirmation.html")]
struct ConfirmationPage<'a> {
    page: &'a PageCtx,
    code: String,
    procedure: String,
    status: String,
    due: String,
    receipt: bool,
    fee: Option<String>,
    fee_due: bool,
    base: String,
}

fn due_text(lang: Lang, view: &DossierView) -> String {
    view.apology_due_at
        .as_deref()
        .or(view.due_at.as_deref())
        .map(vn_datetime_text)
        .unwrap_or_else(|| t(lang, "citizen.due_after_acceptance").to_owned())
}

/// The receipt (Mẫu 01) exists once the dossier was received.
fn has_receipt(view: &DossierView) -> bool {
    view.received_at.is_some()
}

async fn procedure_name(state: &AppState, code: &str) -> String {
    catalog::get(&state.platform, code)
        .await
        .map(|p| p.spec.name)
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

async fn dossier_response(
    state: &AppState,
    viewer: &Viewer,
    code: &str,
    error: Option<String>,
    notice: Option<String>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let ctx = viewer.ctx();
    let view = dossiers::view(&state.platform, &ctx, code).await?;
    let rating = citizen::my_rating(&state.platform, &ctx, code).await?;
    let base = format!("/my/dossiers/{}", encode(&view.code));
    let supplement_items = (view.status == Status::SupplementRequested)
        .then(|| {
            view.events
                .iter()
                .rev()
                .find(|e| e.action == "request_supplement")
                .map(|e| e.note.clone())
        })
        .flatten();
    let documents = view
        .documents
        .iter()
        .map(|d| DocRow {
            name: d.name.clone(),
            role: t(lang, &format!("citizen.doc_role.{}", d.role)).to_owned(),
            filename: d.filename.clone(),
            href: d
                .downloadable
                .then(|| format!("/api/v1/dossiers/{}/documents/{}", encode(&view.code), d.id)),
        })
        .collect();
    let timeline = view
        .events
        .iter()
        .rev()
        .map(|e| TimelineItem {
            at: vn_datetime_text(&e.at),
            action: t(lang, &format!("dossier_action.{}", e.action)).to_owned(),
            note: e.note.clone(),
        })
        .collect();
    let page = PageCtx::new(state, viewer, "/my/dossiers");
    let fee_due = view.status == Status::AwaitingPayment && !view.fee_paid;
    let failed = error.is_some();
    let template = DossierPage {
        page: &page,
        procedure: procedure_name(state, &view.procedure_code).await,
        status: status_label(lang, view.status),
        submitted: vn_datetime_text(&view.submitted_at),
        due: due_text(lang, &view),
        timeline,
        documents,
        supplement_items,
        fee: view.fee_amount.map(vn_money),
        fee_due,
        fee_paid: view.fee_paid,
        can_rate: view.status == Status::Returned && rating.is_none(),
        rated: rating.map(|(level, comment)| {
            let key = format!("citizen.rating.level{level}");
            let label = t(lang, &key).to_owned();
            if comment.is_empty() {
                label
            } else {
                format!("{label} — {comment}")
            }
        }),
        error,
        notice,
        receipt: has_receipt(&view),
        base,
        code: view.code,
    };
    render_form(failed, &template)
}

pub async fn dossier_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(query): Query<NoticeQuery>,
) -> WebResult<Response> {
    require_login(&viewer, &format!("/my/dossiers/{}", encode(&code)))?;
    let notice = match query.notice.as_str() {
        "supplemented" => Some(t(viewer.lang, "citizen.supplemented").to_owned()),
        "rated" => Some(t(viewer.lang, "citizen.rated").to_owned()),
        "paid" => Some(t(viewer.lang, "citizen.already_paid").to_owned()),
        _ => None,
    };
    dossier_response(&state, &viewer, &code, None, notice).await
}

pub async fn confirmation(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> WebResult<Response> {
    require_login(
        &viewer,
        &format!("/my/dossiers/{}/confirmation", encode(&code)),
    )?;
    let lang = viewer.lang;
    let view = dossiers::view(&state.platform, &viewer.ctx(), &code).await?;
    let page = PageCtx::new(&state, &viewer, "/my/dossiers");
    render(&ConfirmationPage {
        page: &page,
        procedure: procedure_name(&state, &view.procedure_code).await,
        status: status_label(lang, view.status),
        due: due_text(lang, &view),
        receipt: has_receipt(&view),
        fee: view.fee_amount.map(vn_money),
        fee_due: view.status == Status::AwaitingPayment && !view.fee_paid,
        base: format!("/my/dossiers/{}", encode(&view.code)),
        code: view.code,
    })
}

/// `POST /my/dossiers/{code}/supplement` (multipart): the requested files and a note.
pub async fn supplement_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    require_login(&viewer, &format!("/my/dossiers/{}", encode(&code)))?;
    let parts = multipart::parts_of(&headers, &body)?;
    viewer.check_csrf(
        &state.platform.session_key,
        &multipart::field(&parts, "csrf_token"),
    )?;
    let ctx = viewer.ctx();
    let lang = viewer.lang;
    let note = multipart::field(&parts, "note");
    let mut ids = Vec::new();
    for file in parts.iter().filter(|p| {
        p.name == "files"
            && p.filename.as_deref().is_some_and(|f| !f.is_empty())
            && !p.data.is_empty()
    }) {
        match documents::upload(
            &state.platform,
            &ctx,
            file.filename.as_deref().unwrap_or_default(),
            &file.data,
        )
        .await
        {
            Ok(upload) => ids.push(upload.id),
            Err(e) => {
                let message = message_of(lang, &WebError::from(e));
                return dossier_response(&state, &viewer, &code, Some(message), None).await;
            }
        }
    }
    if ids.is_empty() && note.trim().is_empty() {
        let message = t(lang, "citizen.supplement_empty").to_owned();
        return dossier_response(&state, &viewer, &code, Some(message), None).await;
    }
    let command = Command::Supplement {
        note,
        documents: ids,
    };
    match dossiers::act(&state.platform, &ctx, &code, &command).await {
        Ok(view) => Ok(Redirect::to(&format!(
            "/my/dossiers/{}?notice=supplemented",
            encode(&view.code)
        ))
        .into_response()),
        Err(e) => {
            let message = message_of(lang, &WebError::from(e));
            dossier_response(&state, &viewer, &code, Some(message), None).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf_token: String,
}

/// `POST /my/dossiers/{code}/pay`: to the gateway with the pending attempt (one at most).
pub async fn pay_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(form): Form<CsrfForm>,
) -> WebResult<Response> {
    require_login(&viewer, &format!("/my/dossiers/{}", encode(&code)))?;
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    match payments::start(&state.platform, &viewer.ctx(), &code).await {
        Ok(started) => Ok(Redirect::to(&started.checkout_url).into_response()),
        // Paid meanwhile (the back button after paying): nothing is charged again.
        Err(tinhso_platform::Error::Domain(d)) if d.rule == Some("payment.not_awaiting") => Ok(
            Redirect::to(&format!("/my/dossiers/{}?notice=paid", encode(&code))).into_response(),
        ),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RatingForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    comment: String,
}

pub async fn rating_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Form(form): Form<RatingForm>,
) -> WebResult<Response> {
    require_login(&viewer, &format!("/my/dossiers/{}", encode(&code)))?;
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    let lang = viewer.lang;
    let Ok(level) = form.level.parse::<u8>() else {
        let message = t(lang, "citizen.rule.rating.level").to_owned();
        return dossier_response(&state, &viewer, &code, Some(message), None).await;
    };
    match dossiers::rate(&state.platform, &viewer.ctx(), &code, level, &form.comment).await {
        Ok(()) => Ok(
            Redirect::to(&format!("/my/dossiers/{}?notice=rated", encode(&code))).into_response(),
        ),
        Err(e) => {
            let message = message_of(lang, &WebError::from(e));
            dossier_response(&state, &viewer, &code, Some(message), None).await
        }
    }
}

// ------------------------------------------------------------------ documents, notifications

pub struct StoreRow {
    pub name: String,
    pub kind: String,
    pub size: String,
    pub source: Option<(String, String)>,
    pub added: String,
}

#[derive(Template)]
#[template(path = "citizen/my_documents.html")]
struct MyDocumentsPage<'a> {
    page: &'a PageCtx,
    rows: Vec<StoreRow>,
}

fn size_text(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0)).replace('.', ",")
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

pub async fn my_documents(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    require_login(&viewer, "/my/documents")?;
    let rows = documents::my_store(&state.platform, &viewer.ctx())
        .await?
        .into_iter()
        .map(|d| StoreRow {
            name: d.name,
            kind: match d.content_type.as_str() {
                "application/pdf" => "PDF".into(),
                "image/jpeg" => "JPEG".into(),
                "image/png" => "PNG".into(),
                other => other.to_owned(),
            },
            size: size_text(d.size_bytes),
            source: d
                .source_dossier
                .map(|c| (format!("/my/dossiers/{}", encode(&c)), c)),
            added: vn_date(d.created_ms),
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/my/documents");
    render(&MyDocumentsPage { page: &page, rows })
}

pub struct NotificationRow {
    pub at: String,
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub state: String,
    pub href: String,
    pub code: String,
}

#[derive(Template)]
#[template(path = "citizen/my_notifications.html")]
struct MyNotificationsPage<'a> {
    page: &'a PageCtx,
    rows: Vec<NotificationRow>,
}

pub async fn my_notifications(
    State(state): State<AppState>,
    viewer: Viewer,
) -> WebResult<Response> {
    require_login(&viewer, "/my/notifications")?;
    let lang = viewer.lang;
    let rows = citizen::my_notifications(&state.platform, &viewer.ctx())
        .await?
        .into_iter()
        .map(|n| NotificationRow {
            at: vn_datetime(n.created_ms),
            channel: t(lang, &format!("citizen.channel.{}", n.channel)).to_owned(),
            to: n.to,
            subject: n.subject,
            body: n.body,
            state: t(lang, &format!("citizen.delivery.{}", n.state)).to_owned(),
            href: format!("/my/dossiers/{}", encode(&n.dossier_code)),
            code: n.dossier_code,
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/my/notifications");
    render(&MyNotificationsPage { page: &page, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_walk_forward_and_back() {
        assert_eq!(Step::parse("", 2), Step::Form(1));
        assert_eq!(Step::parse("9", 2), Step::Form(2));
        assert_eq!(Step::parse("documents", 2), Step::Documents);
        assert_eq!(Step::Form(1).next(2), Step::Form(2));
        assert_eq!(Step::Form(2).next(2), Step::Documents);
        assert_eq!(Step::Documents.next(2), Step::Review);
        assert_eq!(Step::Documents.previous(2), Step::Form(2));
        assert_eq!(Step::Form(1).previous(2), Step::Form(1));
    }

    #[test]
    fn sizes_read_in_vietnamese() {
        assert_eq!(size_text(1), "1 KB");
        assert_eq!(size_text(3 * 1024 * 1024 / 2), "1,5 MB");
    }
}
