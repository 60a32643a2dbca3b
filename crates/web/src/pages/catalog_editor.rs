//! Agency administration of the one-stop shop: the catalogue editor (procedure, form
//! schema, process steps, with a preview of the form) and the notification templates.
//!
//! Paths: `/admin/procedures…`, `/admin/templates…`.
//!
//! The editor works without JavaScript: every row of a list is a group of indexed inputs
//! (`fields[3].label_vi`), and "add row" / "remove" are submit buttons that show the editor
//! again with the current, unsaved values. "Preview" renders the form exactly as the citizen
//! will see it (through `form_view`); "save" stores a new version through
//! `onestop::catalog_admin` and puts each validation problem beside the input it is about.

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::Value;
use tinhso_core::access::{Action, Role, role_allows};
use tinhso_onestop::domain::catalog::{
    Channel, DocumentKind, Fee, Field, FieldType, FormField, FormSchema, LegalBasis, Level,
    OnlineLevel, ProcedureSpec, ProcessStep, ProcessingTime, RequiredDocument, SpecPart, TimeUnit,
};
use tinhso_onestop::domain::notification_templates::{Template as NotifyTemplate, TemplatePart};
use tinhso_onestop::{catalog, catalog_admin, notification_templates};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::{Lang, t};
use crate::pages::form_view::{FieldView, field_views};
use crate::pages::{PageCtx, error_message, render, render_form, render_with_status};
use crate::session::{Viewer, roles_of};

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/procedures", get(list_page))
        .route("/admin/procedures/export", get(export_file))
        .route("/admin/procedures/import", post(import_submit))
        .route("/admin/procedures/{code}", get(edit_page).post(edit_submit))
        .route("/admin/users/roles", post(crate::pages::admin::role_submit))
        .route(
            "/admin/calendar/schedule",
            post(crate::pages::tools::schedule_submit),
        )
        .route("/admin/templates", get(templates_page))
        .route(
            "/admin/templates/{event}",
            get(template_page).post(template_submit),
        )
}

/// Officials who may use the catalogue editor: agency and provincial administrators. Saving
/// is for provincial administrators (the service decides; others see why it was refused).
fn require_admin(viewer: &Viewer) -> WebResult<()> {
    let session = viewer.require_user()?;
    if roles_of(session)
        .into_iter()
        .any(|r| role_allows(r, Action::ManageAgency))
    {
        Ok(())
    } else {
        Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"))
    }
}

// ------------------------------------------------------------------ list, import, export

pub struct ProcedureRow {
    pub code: String,
    pub name: String,
    pub field: String,
    pub version: i64,
    pub fields: usize,
    pub steps: usize,
}

#[derive(Template)]
#[template(path = "catalog_editor/list.html")]
struct ListPage<'a> {
    page: &'a PageCtx,
    rows: Vec<ProcedureRow>,
    total: usize,
    q: String,
    fields: Vec<(String, bool)>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    field: String,
}

/// Lower case without Vietnamese diacritics, so "dang ky" finds "Đăng ký".
pub fn fold(text: &str) -> String {
    const GROUPS: &[(&str, char)] = &[
        ("àáạảãâầấậẩẫăằắặẳẵ", 'a'),
        ("èéẹẻẽêềếệểễ", 'e'),
        ("ìíịỉĩ", 'i'),
        ("òóọỏõôồốộổỗơờớợởỡ", 'o'),
        ("ùúụủũưừứựửữ", 'u'),
        ("ỳýỵỷỹ", 'y'),
        ("đ", 'd'),
    ];
    text.to_lowercase()
        .chars()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .map(|c| {
            GROUPS
                .iter()
                .find(|(group, _)| group.contains(c))
                .map_or(c, |(_, plain)| *plain)
        })
        .collect()
}

async fn list_view(
    state: &AppState,
    viewer: &Viewer,
    query: ListQuery,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    require_admin(viewer)?;
    let all = catalog::list(&state.platform).await?;
    let total = all.len();
    let mut fields: Vec<String> = all.iter().map(|p| p.spec.field.name.clone()).collect();
    fields.sort();
    fields.dedup();
    let needle = fold(query.q.trim());
    let rows = all
        .into_iter()
        .filter(|p| query.field.is_empty() || p.spec.field.name == query.field)
        .filter(|p| {
            needle.is_empty()
                || fold(&p.spec.name).contains(&needle)
                || p.spec.code.contains(needle.as_str())
        })
        .map(|p| ProcedureRow {
            fields: p.spec.form.fields.len(),
            steps: p.spec.process.len(),
            code: p.spec.code,
            name: p.spec.name,
            field: p.spec.field.name,
            version: p.version,
        })
        .collect();
    let page = PageCtx::new(state, viewer, "/admin/procedures");
    let failed = error.is_some();
    let template = ListPage {
        page: &page,
        rows,
        total,
        fields: fields
            .into_iter()
            .map(|f| {
                let selected = f == query.field;
                (f, selected)
            })
            .collect(),
        q: query.q,
        notice,
        error,
    };
    render_form(failed, &template)
}

pub async fn list_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ListQuery>,
) -> WebResult<Response> {
    list_view(&state, &viewer, query, None, None).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ExportQuery {
    #[serde(default)]
    format: String,
}

/// The whole current catalogue, in the import format (JSON or the xlsx workbook).
pub async fn export_file(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<ExportQuery>,
) -> WebResult<Response> {
    require_admin(&viewer)?;
    let file = catalog::export(&state.platform).await?;
    let (bytes, content_type, name) = if query.format == "xlsx" {
        (
            tinhso_onestop::export::catalog_xlsx(&file)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "thu-tuc.xlsx",
        )
    } else {
        (
            serde_json::to_vec_pretty(&file)
                .map_err(|e| tinhso_platform::Error::Other(e.to_string()))?,
            "application/json",
            "thu-tuc.json",
        )
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// Imports a catalogue file (JSON or xlsx) uploaded from the list page.
pub async fn import_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Response> {
    let parts = super::multipart::parts_of(&headers, &body)?;
    viewer.check_csrf(
        &state.platform.session_key,
        &super::multipart::field(&parts, "csrf_token"),
    )?;
    require_admin(&viewer)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .map(|p| p.data.as_slice())
        .unwrap_or_default();
    let lang = viewer.lang;
    let outcome = if file.is_empty() {
        Err(t(lang, "catalog_editor.import_empty").to_owned())
    } else {
        match catalog::parse_file(file) {
            Ok(parsed) => catalog::import(&state.platform, &viewer.ctx(), &parsed)
                .await
                .map_err(|e| import_error(lang, e)),
            Err(e) => Err(import_error(lang, e)),
        }
    };
    match outcome {
        Ok(report) => {
            let notice = format!(
                "{} {}: {}, {}: {}, {}: {}.",
                t(lang, "catalog_editor.imported"),
                t(lang, "catalog_editor.import_created"),
                report.created,
                t(lang, "catalog_editor.import_new_versions"),
                report.new_versions,
                t(lang, "catalog_editor.import_unchanged"),
                report.unchanged
            );
            list_view(&state, &viewer, ListQuery::default(), Some(notice), None).await
        }
        Err(message) => list_view(&state, &viewer, ListQuery::default(), None, Some(message)).await,
    }
}

fn import_error(lang: Lang, e: tinhso_platform::Error) -> String {
    let detail = match &e {
        tinhso_platform::Error::Domain(d) => Some(d.detail.clone()),
        _ => None,
    };
    let base = error_message(lang, &WebError::from(e))
        .unwrap_or_else(|| t(lang, "error.internal").to_owned());
    match detail {
        Some(d) if !base.contains(&d) => format!("{base} ({d})"),
        _ => base,
    }
}

// ------------------------------------------------------------------ the editor's data

/// The lists of a procedure and their columns: (list, [(column, input kind)]).
const LISTS: &[(&str, &[(&str, &str)])] = &[
    ("legal", &[("number", "text"), ("title", "text")]),
    (
        "fees",
        &[
            ("name", "text"),
            ("amount", "number"),
            ("payer", "text"),
            ("exemptions", "text"),
        ],
    ),
    (
        "docs",
        &[
            ("name", "text"),
            ("kind", "select"),
            ("count", "number"),
            ("reusable", "checkbox"),
            ("template", "text"),
        ],
    ),
    (
        "fields",
        &[
            ("key", "text"),
            ("label_vi", "text"),
            ("type", "select"),
            ("required", "checkbox"),
            ("max_length", "number"),
            ("options", "textarea"),
        ],
    ),
    (
        "steps",
        &[
            ("name", "text"),
            ("role", "select"),
            ("duration_hours", "decimal"),
            ("transfer_to", "text"),
        ],
    ),
    ("results", &[("name", "text")]),
];

const GENERAL: &[(&str, &str)] = &[
    ("name", "textarea"),
    ("field_code", "text"),
    ("field_name", "text"),
    ("levels", "checkboxes"),
    ("implementing_agency", "text"),
    ("time_amount", "number"),
    ("time_unit", "select"),
    ("time_note", "text"),
    ("online_level", "select"),
    ("channels", "checkboxes"),
    ("notes", "textarea"),
];

fn choices(name: &str) -> Vec<&'static str> {
    match name {
        "levels" => vec!["commune", "province"],
        "channels" => vec!["online", "counter", "postal"],
        "time_unit" => vec!["working_days", "working_hours"],
        "online_level" => vec!["full", "partial", "none"],
        "kind" => vec!["original", "certified_copy", "photocopy"],
        "type" => vec![
            "text",
            "textarea",
            "date",
            "number",
            "select",
            "personal_id",
            "phone",
            "email",
            "address",
        ],
        "role" => Role::ALL
            .into_iter()
            .filter(|r| !r.is_for_citizens())
            .map(Role::as_str)
            .collect(),
        _ => Vec::new(),
    }
}

fn choice_label(lang: Lang, column: &str, value: &str) -> String {
    if column == "role" {
        return t(lang, &format!("role.{value}")).to_owned();
    }
    t(lang, &format!("catalog_editor.opt.{value}")).to_owned()
}

/// The editor's state as strings, exactly as posted (so nothing typed is lost on a redraw).
#[derive(Debug, Clone, Default)]
pub struct Draft {
    pub code: String,
    pub code_verified: bool,
    pub general: HashMap<String, String>,
    pub multi: HashMap<String, Vec<String>>,
    pub lists: BTreeMap<String, Vec<HashMap<String, String>>>,
}

fn as_text<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn parse_choice<T: serde::de::DeserializeOwned>(value: &str) -> Option<T> {
    serde_json::from_value(Value::String(value.to_owned())).ok()
}

fn row(pairs: &[(&str, String)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

fn flag(on: bool) -> String {
    if on { "on".into() } else { String::new() }
}

impl Draft {
    pub fn from_spec(spec: &ProcedureSpec) -> Self {
        let mut general = HashMap::new();
        for (k, v) in [
            ("name", spec.name.clone()),
            ("field_code", spec.field.code.clone()),
            ("field_name", spec.field.name.clone()),
            ("implementing_agency", spec.implementing_agency.clone()),
            ("time_amount", spec.processing_time.amount.to_string()),
            ("time_unit", as_text(&spec.processing_time.unit)),
            ("time_note", spec.processing_time.note.clone()),
            ("online_level", as_text(&spec.online_level)),
            ("notes", spec.notes.clone()),
        ] {
            general.insert(k.to_owned(), v);
        }
        let mut multi = HashMap::new();
        multi.insert("levels".into(), spec.levels.iter().map(as_text).collect());
        multi.insert(
            "channels".into(),
            spec.channels.iter().map(as_text).collect(),
        );
        let mut lists = BTreeMap::new();
        lists.insert(
            "legal".into(),
            spec.legal_basis
                .iter()
                .map(|l| row(&[("number", l.number.clone()), ("title", l.title.clone())]))
                .collect(),
        );
        lists.insert(
            "fees".into(),
            spec.fees
                .iter()
                .map(|f| {
                    row(&[
                        ("name", f.name.clone()),
                        ("amount", f.amount.to_string()),
                        ("payer", f.payer.clone()),
                        ("exemptions", f.exemptions.clone()),
                    ])
                })
                .collect(),
        );
        lists.insert(
            "docs".into(),
            spec.required_documents
                .iter()
                .map(|d| {
                    row(&[
                        ("name", d.name.clone()),
                        ("kind", as_text(&d.kind)),
                        ("count", d.count.to_string()),
                        ("reusable", flag(d.reusable)),
                        ("template", d.template.clone().unwrap_or_default()),
                    ])
                })
                .collect(),
        );
        lists.insert(
            "fields".into(),
            spec.form
                .fields
                .iter()
                .map(|f| {
                    row(&[
                        ("key", f.key.clone()),
                        ("label_vi", f.label_vi.clone()),
                        ("type", as_text(&f.field_type)),
                        ("required", flag(f.required)),
                        (
                            "max_length",
                            f.max_length.map(|m| m.to_string()).unwrap_or_default(),
                        ),
                        ("options", f.options.join("\n")),
                    ])
                })
                .collect(),
        );
        lists.insert(
            "steps".into(),
            spec.process
                .iter()
                .map(|s| {
                    row(&[
                        ("name", s.name.clone()),
                        ("role", s.role.as_str().to_owned()),
                        ("duration_hours", s.duration_hours.to_string()),
                        ("transfer_to", s.transfer_to.clone().unwrap_or_default()),
                    ])
                })
                .collect(),
        );
        lists.insert(
            "results".into(),
            spec.results
                .iter()
                .map(|r| row(&[("name", r.clone())]))
                .collect(),
        );
        Self {
            code: spec.code.clone(),
            code_verified: spec.code_verified,
            general,
            multi,
            lists,
        }
    }

    /// The draft of a posted editor form; rows are ordered by their index and renumbered.
    pub fn from_posted(code: &str, posted: &[(String, String)]) -> Self {
        let mut draft = Self {
            code: code.to_owned(),
            ..Self::default()
        };
        let mut rows: BTreeMap<String, BTreeMap<usize, HashMap<String, String>>> = BTreeMap::new();
        for (name, value) in posted {
            if name == "code_verified" {
                draft.code_verified = value == "on" || value == "true";
            } else if let Some((list, index, column)) = indexed(name) {
                if LISTS
                    .iter()
                    .any(|(l, cols)| *l == list && cols.iter().any(|(c, _)| *c == column))
                {
                    rows.entry(list.to_owned())
                        .or_default()
                        .entry(index)
                        .or_default()
                        .insert(column.to_owned(), value.clone());
                }
            } else if let Some((_, kind)) = GENERAL.iter().find(|(g, _)| *g == name) {
                if *kind == "checkboxes" {
                    draft
                        .multi
                        .entry(name.clone())
                        .or_default()
                        .push(value.clone());
                } else {
                    draft.general.insert(name.clone(), value.clone());
                }
            }
        }
        for (list, _) in LISTS {
            let list_rows = rows
                .remove(*list)
                .map(|r| r.into_values().collect())
                .unwrap_or_default();
            draft.lists.insert((*list).to_owned(), list_rows);
        }
        draft
    }

    /// The inputs a browser posts for this draft (unchecked boxes are absent), in page order.
    pub fn to_posted(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.code_verified {
            out.push(("code_verified".into(), "on".into()));
        }
        for (name, kind) in GENERAL {
            if *kind == "checkboxes" {
                for v in self.multi.get(*name).into_iter().flatten() {
                    out.push(((*name).to_owned(), v.clone()));
                }
            } else {
                out.push(((*name).to_owned(), self.get(name).to_owned()));
            }
        }
        for (list, columns) in LISTS {
            for (i, r) in self.lists.get(*list).into_iter().flatten().enumerate() {
                for (column, kind) in *columns {
                    let value = r.get(*column).cloned().unwrap_or_default();
                    if *kind != "checkbox" || !value.is_empty() {
                        out.push((format!("{list}[{i}].{column}"), value));
                    }
                }
            }
        }
        out
    }

    fn get(&self, name: &str) -> &str {
        self.general.get(name).map_or("", String::as_str)
    }

    /// The specification this draft describes, and the inputs whose text could not be read
    /// (input name → message key). Unreadable numbers count as 0 in the specification.
    pub fn to_spec(&self) -> (ProcedureSpec, Vec<(String, &'static str)>) {
        let mut problems = Vec::new();
        let mut number = |name: String, text: &str, optional: bool| -> Option<u64> {
            let text = text.trim();
            if text.is_empty() && optional {
                return None;
            }
            match text.parse::<u64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    problems.push((name, "catalog_editor.error.number"));
                    None
                }
            }
        };
        let list = |name: &str| self.lists.get(name).cloned().unwrap_or_default();
        let cell = |r: &HashMap<String, String>, c: &str| {
            r.get(c).map(|v| v.trim().to_owned()).unwrap_or_default()
        };
        let time_amount = number("time_amount".into(), self.get("time_amount"), false);
        let fees = list("fees")
            .iter()
            .enumerate()
            .map(|(i, r)| Fee {
                name: cell(r, "name"),
                amount: number(format!("fees[{i}].amount"), &cell(r, "amount"), false)
                    .unwrap_or_default(),
                payer: Some(cell(r, "payer"))
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "applicant".into()),
                exemptions: cell(r, "exemptions"),
            })
            .collect();
        let docs = list("docs")
            .iter()
            .enumerate()
            .map(|(i, r)| RequiredDocument {
                name: cell(r, "name"),
                kind: parse_choice(&cell(r, "kind")).unwrap_or(DocumentKind::Original),
                count: number(format!("docs[{i}].count"), &cell(r, "count"), true)
                    .map_or(1, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                template: Some(cell(r, "template")).filter(|t| !t.is_empty()),
                reusable: !cell(r, "reusable").is_empty(),
            })
            .collect();
        let fields = list("fields")
            .iter()
            .enumerate()
            .map(|(i, r)| FormField {
                key: cell(r, "key"),
                label_vi: cell(r, "label_vi"),
                field_type: parse_choice(&cell(r, "type")).unwrap_or(FieldType::Text),
                required: !cell(r, "required").is_empty(),
                max_length: number(
                    format!("fields[{i}].max_length"),
                    &cell(r, "max_length"),
                    true,
                )
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
                options: cell(r, "options")
                    .lines()
                    .map(str::trim)
                    .filter(|o| !o.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
            .collect();
        let mut steps = Vec::new();
        for (i, r) in list("steps").iter().enumerate() {
            let text = cell(r, "duration_hours").replace(',', ".");
            let hours = match text.parse::<f64>() {
                Ok(h) if h.is_finite() => h,
                _ => {
                    problems.push((
                        format!("steps[{i}].duration_hours"),
                        "catalog_editor.error.hours",
                    ));
                    0.0
                }
            };
            steps.push(ProcessStep {
                name: cell(r, "name"),
                role: Role::parse(&cell(r, "role")).unwrap_or(Role::Specialist),
                duration_hours: hours,
                transfer_to: Some(cell(r, "transfer_to")).filter(|t| !t.is_empty()),
            });
        }
        let multi = |name: &str| self.multi.get(name).cloned().unwrap_or_default();
        let spec = ProcedureSpec {
            code: self.code.clone(),
            code_verified: self.code_verified,
            name: self.get("name").trim().to_owned(),
            field: Field {
                code: self.get("field_code").trim().to_owned(),
                name: self.get("field_name").trim().to_owned(),
            },
            levels: multi("levels")
                .iter()
                .filter_map(|l| parse_choice::<Level>(l))
                .collect(),
            implementing_agency: self.get("implementing_agency").trim().to_owned(),
            legal_basis: list("legal")
                .iter()
                .map(|r| LegalBasis {
                    number: cell(r, "number"),
                    title: cell(r, "title"),
                })
                .collect(),
            processing_time: ProcessingTime {
                amount: time_amount.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
                unit: parse_choice(self.get("time_unit")).unwrap_or(TimeUnit::WorkingDays),
                note: self.get("time_note").trim().to_owned(),
            },
            fees,
            required_documents: docs,
            form: FormSchema { fields },
            online_level: parse_choice(self.get("online_level")).unwrap_or(OnlineLevel::None),
            channels: multi("channels")
                .iter()
                .filter_map(|c| parse_choice::<Channel>(c))
                .collect(),
            process: steps,
            results: list("results")
                .iter()
                .map(|r| cell(r, "name"))
                .filter(|r| !r.is_empty())
                .collect(),
            notes: self.get("notes").trim().to_owned(),
        };
        (spec, problems)
    }

    fn add_row(&mut self, list: &str) {
        if let Some(rows) = self.lists.get_mut(list) {
            let mut fresh = HashMap::new();
            if list == "docs" {
                fresh.insert("count".to_owned(), "1".to_owned());
            }
            rows.push(fresh);
        }
    }

    fn remove_row(&mut self, list: &str, index: usize) {
        if let Some(rows) = self.lists.get_mut(list)
            && index < rows.len()
        {
            rows.remove(index);
        }
    }
}

/// `fields[3].label_vi` → ("fields", 3, "label_vi").
fn indexed(name: &str) -> Option<(&str, usize, &str)> {
    let (list, rest) = name.split_once('[')?;
    let (index, column) = rest.split_once("].")?;
    Some((list, index.parse().ok()?, column))
}

/// The input (name) a validation problem belongs beside.
pub fn input_of(part: SpecPart) -> String {
    match part {
        SpecPart::Code | SpecPart::Name => "name".into(),
        SpecPart::Levels => "levels".into(),
        SpecPart::Channels => "channels".into(),
        SpecPart::ProcessingTime => "time_amount".into(),
        SpecPart::Step(i) => format!("steps[{i}].duration_hours"),
        SpecPart::FormFieldKey(i) => format!("fields[{i}].key"),
        SpecPart::FormFieldOptions(i) => format!("fields[{i}].options"),
    }
}

fn part_message(part: SpecPart) -> &'static str {
    match part {
        SpecPart::Code => "catalog_editor.error.code",
        SpecPart::Name => "catalog_editor.error.name",
        SpecPart::Levels => "catalog_editor.error.levels",
        SpecPart::Channels => "catalog_editor.error.channels",
        SpecPart::ProcessingTime => "catalog_editor.error.processing_time",
        SpecPart::Step(_) => "catalog_editor.error.step",
        SpecPart::FormFieldKey(_) => "catalog_editor.error.field_key",
        SpecPart::FormFieldOptions(_) => "catalog_editor.error.field_options",
    }
}

/// Element id of an input: `fields[3].key` → `ed-fields-3-key`.
fn input_id(name: &str) -> String {
    let mut id = String::from("ed-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '-'
        });
    }
    id.replace("--", "-")
}

// ------------------------------------------------------------------ the editor's view

pub struct CellOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
    pub id: String,
}

/// One input of the editor, ready for the template.
pub struct Cell {
    pub name: String,
    pub id: String,
    pub label: String,
    /// text, number, decimal, select, checkbox, checkboxes, textarea
    pub kind: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<CellOption>,
    pub hint: Option<String>,
    pub error: Option<String>,
}

pub struct RowView {
    pub legend: String,
    pub cells: Vec<Cell>,
    pub remove: String,
}

pub struct Section {
    pub list: &'static str,
    pub title: String,
    pub rows: Vec<RowView>,
    pub add: String,
    pub add_label: String,
}

pub struct SummaryItem {
    pub href: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "catalog_editor/edit.html")]
struct EditPage<'a> {
    page: &'a PageCtx,
    code: String,
    title: String,
    version: i64,
    code_verified: bool,
    general: Vec<Cell>,
    sections: Vec<Section>,
    summary: Vec<SummaryItem>,
    notice: Option<String>,
    /// The preview, when asked: the form as the citizen will see it.
    preview: bool,
    fields: Vec<FieldView>,
    preview_documents: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
fn make_cell(
    lang: Lang,
    name: String,
    label_key: &str,
    column: &str,
    kind: &'static str,
    value: &str,
    selected: &[String],
    errors: &HashMap<String, String>,
) -> Cell {
    let id = input_id(&name);
    let options = choices(column)
        .into_iter()
        .map(|v| CellOption {
            id: format!("{id}-{v}"),
            value: v.to_owned(),
            label: choice_label(lang, column, v),
            selected: if kind == "checkboxes" {
                selected.iter().any(|s| s == v)
            } else {
                v == value
            },
        })
        .collect();
    let hint_key = format!("{label_key}_hint");
    let hint = crate::i18n::has_key(&hint_key).then(|| t(lang, &hint_key).to_owned());
    Cell {
        error: errors.get(&name).cloned(),
        id,
        label: t(lang, label_key).to_owned(),
        kind,
        checked: !value.is_empty(),
        value: value.to_owned(),
        options,
        hint,
        name,
    }
}

struct EditState {
    draft: Draft,
    errors: HashMap<String, String>,
    preview: bool,
    notice: Option<String>,
}

async fn edit_view(state: &AppState, viewer: &Viewer, edit: EditState) -> WebResult<Response> {
    let lang = viewer.lang;
    let current = catalog::get(&state.platform, &edit.draft.code).await?;
    let draft = &edit.draft;
    let errors = &edit.errors;
    let general = GENERAL
        .iter()
        .map(|(name, kind)| {
            let selected = draft.multi.get(*name).cloned().unwrap_or_default();
            make_cell(
                lang,
                (*name).to_owned(),
                &format!("catalog_editor.general.{name}"),
                name,
                kind,
                draft.get(name),
                &selected,
                errors,
            )
        })
        .collect();
    let sections = LISTS
        .iter()
        .map(|(list, columns)| {
            let rows = draft.lists.get(*list).cloned().unwrap_or_default();
            Section {
                list,
                title: t(lang, &format!("catalog_editor.section.{list}")).to_owned(),
                add: format!("add:{list}"),
                add_label: t(lang, &format!("catalog_editor.add.{list}")).to_owned(),
                rows: rows
                    .iter()
                    .enumerate()
                    .map(|(i, r)| RowView {
                        legend: format!(
                            "{} {}",
                            t(lang, &format!("catalog_editor.row.{list}")),
                            i + 1
                        ),
                        remove: format!("remove:{list}:{i}"),
                        cells: columns
                            .iter()
                            .map(|(column, kind)| {
                                make_cell(
                                    lang,
                                    format!("{list}[{i}].{column}"),
                                    &format!("catalog_editor.col.{list}.{column}"),
                                    column,
                                    kind,
                                    r.get(*column).map_or("", String::as_str),
                                    &[],
                                    errors,
                                )
                            })
                            .collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    let mut summary: Vec<SummaryItem> = errors
        .iter()
        .map(|(name, message)| SummaryItem {
            href: format!("#{}", input_id(name)),
            message: message.clone(),
        })
        .collect();
    summary.sort_by(|a, b| a.href.cmp(&b.href));
    let (spec, _) = draft.to_spec();
    let fields = if edit.preview {
        field_views(
            lang,
            &spec.form,
            &serde_json::Map::new(),
            &HashMap::new(),
            "preview.",
        )
    } else {
        Vec::new()
    };
    let page = PageCtx::new(state, viewer, "/admin/procedures");
    let template = EditPage {
        page: &page,
        title: current.spec.name.clone(),
        code: draft.code.clone(),
        version: current.version,
        code_verified: draft.code_verified,
        general,
        sections,
        summary,
        notice: edit.notice,
        preview: edit.preview,
        fields,
        preview_documents: spec
            .required_documents
            .iter()
            .map(|d| d.name.clone())
            .collect(),
    };
    if errors.is_empty() {
        render(&template)
    } else {
        render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &template)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct EditQuery {
    #[serde(default)]
    saved: Option<i64>,
    #[serde(default)]
    unchanged: Option<String>,
}

pub async fn edit_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    Query(query): Query<EditQuery>,
) -> WebResult<Response> {
    require_admin(&viewer)?;
    let current = catalog::get(&state.platform, &code).await?;
    let notice = match (query.saved, query.unchanged) {
        (Some(version), _) => Some(format!(
            "{} {version}.",
            t(viewer.lang, "catalog_editor.saved")
        )),
        (None, Some(_)) => Some(t(viewer.lang, "catalog_editor.unchanged").to_owned()),
        _ => None,
    };
    edit_view(
        &state,
        &viewer,
        EditState {
            draft: Draft::from_spec(&current.spec),
            errors: HashMap::new(),
            preview: false,
            notice,
        },
    )
    .await
}

/// Every button of the editor posts here: add or remove a row, preview, save.
pub async fn edit_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
    axum::Form(posted): axum::Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let csrf = posted
        .iter()
        .find(|(k, _)| k == "csrf_token")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    viewer.check_csrf(&state.platform.session_key, csrf)?;
    require_admin(&viewer)?;
    let lang = viewer.lang;
    let op = posted
        .iter()
        .find(|(k, _)| k == "op")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| "preview".into());
    let mut draft = Draft::from_posted(&code, &posted);
    let mut errors = HashMap::new();
    let mut preview = false;
    let mut notice = None;
    if let Some(list) = op.strip_prefix("add:") {
        draft.add_row(list);
    } else if let Some(rest) = op.strip_prefix("remove:") {
        if let Some((list, index)) = rest.split_once(':')
            && let Ok(index) = index.parse()
        {
            draft.remove_row(list, index);
        }
    } else if op == "save" {
        let (spec, unreadable) = draft.to_spec();
        for (name, key) in unreadable {
            errors.insert(name, t(lang, key).to_owned());
        }
        if errors.is_empty()
            && let Some((part, _)) = spec.first_problem()
        {
            errors.insert(input_of(part), t(lang, part_message(part)).to_owned());
        }
        if errors.is_empty() {
            match catalog_admin::save_procedure(&state.platform, &viewer.ctx(), &code, &spec).await
            {
                Ok(saved) if saved.new_version => {
                    return Ok(Redirect::to(&format!(
                        "/admin/procedures/{code}?saved={}",
                        saved.procedure.version
                    ))
                    .into_response());
                }
                Ok(_) => {
                    return Ok(
                        Redirect::to(&format!("/admin/procedures/{code}?unchanged=1"))
                            .into_response(),
                    );
                }
                Err(e) => {
                    let message = error_message(lang, &WebError::from(e))
                        .unwrap_or_else(|| t(lang, "error.internal").to_owned());
                    errors.insert("name".into(), message);
                }
            }
        }
    } else {
        preview = true;
        notice = Some(t(lang, "catalog_editor.preview_notice").to_owned());
    }
    edit_view(
        &state,
        &viewer,
        EditState {
            draft,
            errors,
            preview,
            notice,
        },
    )
    .await
}

// ------------------------------------------------------------------ notification templates

pub struct TemplateRow {
    pub event: String,
    pub label: String,
    pub subject: String,
    pub customised: bool,
    pub updated: String,
}

#[derive(Template)]
#[template(path = "catalog_editor/templates.html")]
struct TemplatesPage<'a> {
    page: &'a PageCtx,
    rows: Vec<TemplateRow>,
}

pub async fn templates_page(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    require_admin(&viewer)?;
    let lang = viewer.lang;
    let rows = notification_templates::list(&state.platform, &viewer.ctx())
        .await?
        .into_iter()
        .map(|s| TemplateRow {
            label: t(lang, &format!("templates_admin.event.{}", s.event)).to_owned(),
            event: s.event.to_owned(),
            subject: s.template.subject,
            customised: s.customised,
            updated: s
                .updated_ms
                .map(crate::format::vn_datetime)
                .unwrap_or_default(),
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/admin/templates");
    render(&TemplatesPage { page: &page, rows })
}

pub struct TextInput {
    pub name: &'static str,
    pub id: String,
    pub label: String,
    pub value: String,
    pub rows: u32,
    pub max: usize,
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "catalog_editor/template_edit.html")]
struct TemplateEditPage<'a> {
    page: &'a PageCtx,
    event: String,
    label: String,
    placeholders: Vec<String>,
    inputs: Vec<TextInput>,
    summary: Vec<SummaryItem>,
    notice: Option<String>,
    /// (subject, body, sms) filled with sample values.
    preview: Option<(String, String, String)>,
}

#[derive(Debug, Default, Deserialize)]
pub struct TemplateForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    sms: String,
    #[serde(default)]
    op: String,
}

fn sample(text: &str) -> String {
    tinhso_onestop::domain::notification_templates::render(
        text,
        "000.00.31.H32-270301-0001",
        "16:00 ngày 23/02/2027",
        "Bản sao giấy khai sinh của người mẹ",
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct TemplateQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn template_view(
    state: &AppState,
    viewer: &Viewer,
    event: &str,
    draft: Option<NotifyTemplate>,
    errors: HashMap<&'static str, String>,
    notice: Option<String>,
    preview: bool,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let stored = notification_templates::get(&state.platform, &viewer.ctx(), event).await?;
    let template = draft.unwrap_or_else(|| stored.template.clone());
    let input = |name: &'static str, value: &str, rows: u32, max: usize| TextInput {
        name,
        id: format!("tpl-{name}"),
        label: t(lang, &format!("templates_admin.{name}")).to_owned(),
        value: value.to_owned(),
        rows,
        max,
        error: errors.get(name).cloned(),
    };
    use tinhso_onestop::domain::notification_templates::{MAX_BODY, MAX_SMS, MAX_SUBJECT};
    let inputs = vec![
        input("subject", &template.subject, 2, MAX_SUBJECT),
        input("body", &template.body, 5, MAX_BODY),
        input("sms", &template.sms, 3, MAX_SMS),
    ];
    let summary = inputs
        .iter()
        .filter_map(|i| {
            i.error.as_ref().map(|m| SummaryItem {
                href: format!("#{}", i.id),
                message: format!("{}: {m}", i.label),
            })
        })
        .collect::<Vec<_>>();
    let page = PageCtx::new(state, viewer, "/admin/templates");
    let failed = !summary.is_empty();
    let view = TemplateEditPage {
        page: &page,
        label: t(lang, &format!("templates_admin.event.{event}")).to_owned(),
        event: stored.event.to_owned(),
        placeholders: stored
            .placeholders
            .iter()
            .map(|p| format!("{{{p}}}"))
            .collect(),
        inputs,
        summary,
        notice,
        preview: (preview && !failed).then(|| {
            (
                sample(&template.subject),
                sample(&template.body),
                sample(&template.sms),
            )
        }),
    };
    render_form(failed, &view)
}

pub async fn template_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(event): Path<String>,
    Query(query): Query<TemplateQuery>,
) -> WebResult<Response> {
    require_admin(&viewer)?;
    let notice = query
        .saved
        .map(|_| t(viewer.lang, "templates_admin.saved").to_owned());
    template_view(&state, &viewer, &event, None, HashMap::new(), notice, false).await
}

pub async fn template_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(event): Path<String>,
    axum::Form(form): axum::Form<TemplateForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    require_admin(&viewer)?;
    let lang = viewer.lang;
    let draft = NotifyTemplate {
        subject: form.subject.trim().to_owned(),
        body: form.body.trim().to_owned(),
        sms: form.sms.trim().to_owned(),
    };
    let mut errors = HashMap::new();
    for (part, e) in notification_templates::check(&event, &draft)? {
        let message = template_message(lang, &e);
        errors.entry(part_name(part)).or_insert(message);
    }
    if errors.is_empty() && form.op == "save" {
        match notification_templates::put(&state.platform, &viewer.ctx(), &event, &draft).await {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/admin/templates/{event}?saved=1")).into_response()
                );
            }
            Err(e) => {
                let message = error_message(lang, &WebError::from(e))
                    .unwrap_or_else(|| t(lang, "error.internal").to_owned());
                errors.insert("subject", message);
            }
        }
    }
    let preview = errors.is_empty();
    template_view(&state, &viewer, &event, Some(draft), errors, None, preview).await
}

fn part_name(part: TemplatePart) -> &'static str {
    part.as_str()
}

/// The Vietnamese message of a template problem; an unknown placeholder is named.
fn template_message(lang: Lang, e: &tinhso_core::DomainError) -> String {
    let rule = e.rule.unwrap_or("template.length");
    let key = format!("templates_admin.error.{rule}");
    let base = t(lang, &key).to_owned();
    if rule == "template.unknown_placeholder" {
        let name = e
            .detail
            .split_once('{')
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(name, _)| name)
            .unwrap_or_default();
        format!("{base} {{{name}}}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ProcedureSpec {
        let file = tinhso_onestop::catalog::demo_catalogue().unwrap();
        file.procedures
            .into_iter()
            .find(|p| !p.form.fields.is_empty() && !p.process.is_empty())
            .unwrap()
    }

    fn posted(draft: &Draft) -> Vec<(String, String)> {
        draft.to_posted()
    }

    #[test]
    fn a_spec_survives_the_round_trip_through_the_form() {
        let spec = spec();
        let draft = Draft::from_spec(&spec);
        let back = Draft::from_posted(&spec.code, &posted(&draft));
        let (again, problems) = back.to_spec();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(again, spec);
    }

    #[test]
    fn rows_are_added_removed_and_bad_numbers_named() {
        let spec = spec();
        let mut draft = Draft::from_posted(&spec.code, &posted(&Draft::from_spec(&spec)));
        let n = spec.form.fields.len();
        draft.add_row("fields");
        assert_eq!(draft.lists["fields"].len(), n + 1);
        draft.remove_row("fields", 0);
        assert_eq!(draft.lists["fields"].len(), n);
        draft.lists.get_mut("steps").unwrap()[0].insert("duration_hours".into(), "hai".into());
        let (_, problems) = draft.to_spec();
        assert_eq!(
            problems,
            vec![(
                "steps[0].duration_hours".to_owned(),
                "catalog_editor.error.hours"
            )]
        );
        assert_eq!(input_id("fields[3].label_vi"), "ed-fields-3-label_vi");
        assert_eq!(fold("Đăng ký khai sinh"), "dang ky khai sinh");
    }

    #[test]
    fn multipart_bodies_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.json\"\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--XyZ--\r\n";
        let boundary =
            super::super::multipart::boundary("multipart/form-data; boundary=XyZ").unwrap();
        let parts: Vec<(String, Vec<u8>)> = super::super::multipart::parse(body, &boundary)
            .unwrap()
            .into_iter()
            .map(|p| (p.name, p.data))
            .collect();
        assert_eq!(
            parts,
            vec![
                ("csrf_token".to_owned(), b"abc".to_vec()),
                ("file".to_owned(), b"{\"a\":1}".to_vec())
            ]
        );
    }

    #[test]
    fn every_label_and_option_has_a_text() {
        for (name, _) in GENERAL {
            assert!(
                crate::i18n::has_key(&format!("catalog_editor.general.{name}")),
                "{name}"
            );
            for v in choices(name) {
                assert!(
                    crate::i18n::has_key(&format!("catalog_editor.opt.{v}")),
                    "{v}"
                );
            }
        }
        for (list, columns) in LISTS {
            for key in ["section", "add", "row"] {
                assert!(
                    crate::i18n::has_key(&format!("catalog_editor.{key}.{list}")),
                    "{key}.{list}"
                );
            }
            for (column, _) in *columns {
                assert!(
                    crate::i18n::has_key(&format!("catalog_editor.col.{list}.{column}")),
                    "{list}.{column}"
                );
                if *column != "role" {
                    for v in choices(column) {
                        assert!(
                            crate::i18n::has_key(&format!("catalog_editor.opt.{v}")),
                            "{v}"
                        );
                    }
                }
            }
        }
        for event in tinhso_onestop::domain::notification_templates::DEFAULTS {
            assert!(crate::i18n::has_key(&format!(
                "templates_admin.event.{}",
                event.event
            )));
        }
    }
}
