//! Reference tools: the administrative-unit lookup (public) and the working calendar
//! (officials).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;
use tinhso_platform::org::resolve_unit;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::{PageCtx, error_message, render, render_with_status};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "units.html")]
struct UnitsPage<'a> {
    page: &'a PageCtx,
    code: String,
    date: String,
    chain: Vec<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct UnitQuery {
    #[serde(default)]
    code: String,
    #[serde(default)]
    date: String,
}

/// `GET /units?code=22333&date=2024-05-01`: which unit a record of that date means.
pub async fn units(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<UnitQuery>,
) -> WebResult<Response> {
    let page = PageCtx::new(&state, &viewer, "/units");
    let code: String = query.code.trim().chars().take(5).collect();
    let mut chain = Vec::new();
    let mut error = None;
    if !code.is_empty() {
        match NaiveDate::parse_from_str(query.date.trim(), "%Y-%m-%d") {
            Ok(date) => match resolve_unit(&state.platform, &code, date).await {
                Ok(resolved) => {
                    chain.push(format!("{} ({})", resolved.unit.name, resolved.unit.code));
                    chain.extend(
                        resolved
                            .ancestors
                            .iter()
                            .map(|u| format!("{} ({})", u.name, u.code)),
                    );
                }
                Err(e) => error = error_message(viewer.lang, &WebError::from(e)),
            },
            Err(_) => error = Some(crate::i18n::t(viewer.lang, "error.invalid_input").to_owned()),
        }
    }
    let failed = error.is_some();
    let template = UnitsPage {
        page: &page,
        code,
        date: query.date.chars().take(10).collect(),
        chain,
        error,
    };
    if failed {
        render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &template)
    } else {
        render(&template)
    }
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    page: &'a PageCtx,
    year: i32,
    holidays: Vec<(String, String)>,
    from: String,
    days: String,
    due: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DueForm {
    #[serde(default)]
    from: String,
    #[serde(default)]
    days: String,
}

/// `GET /calendar`: this year's days off and a due-date calculator (officials).
pub async fn calendar(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(form): Query<DueForm>,
) -> WebResult<Response> {
    viewer.require_official()?;
    let now = chrono::DateTime::from_timestamp_millis(viewer.now_ms)
        .unwrap_or_default()
        .with_timezone(&crate::format::vietnam());
    let year = chrono::Datelike::year(&now);
    let holidays = tinhso_platform::calendar::holidays(&state.platform, year)
        .await?
        .into_iter()
        .map(|d| {
            let name = if viewer.lang == crate::i18n::Lang::En {
                d.name_en
            } else {
                d.name_vi
            };
            (d.date.format("%d/%m/%Y").to_string(), name)
        })
        .collect();
    let mut due = None;
    let mut error = None;
    if !form.from.is_empty() {
        let parsed = chrono::NaiveDateTime::parse_from_str(form.from.trim(), "%Y-%m-%dT%H:%M")
            .ok()
            .and_then(|local| local.and_local_timezone(crate::format::vietnam()).single());
        let days = form.days.trim().parse::<i64>().ok();
        match (parsed, days) {
            (Some(from), Some(days)) => {
                match tinhso_platform::calendar::due(&state.platform, from, Some(days), None, None)
                    .await
                {
                    Ok(instant) => due = Some(instant.format("%H:%M %d/%m/%Y").to_string()),
                    Err(e) => error = error_message(viewer.lang, &WebError::from(e)),
                }
            }
            _ => error = Some(crate::i18n::t(viewer.lang, "error.invalid_input").to_owned()),
        }
    }
    let page = PageCtx::new(&state, &viewer, "/calendar");
    let failed = error.is_some();
    let template = CalendarPage {
        page: &page,
        year,
        holidays,
        from: form.from.chars().take(16).collect(),
        days: form.days.chars().take(4).collect(),
        due,
        error,
    };
    if failed {
        render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &template)
    } else {
        render(&template)
    }
}

/// A dossier's public status, formatted for the page.
struct LookupResult {
    code: String,
    procedure: String,
    agency: String,
    status: String,
    submitted: String,
    received: String,
    due: String,
    steps: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "lookup.html")]
struct LookupPage<'a> {
    page: &'a PageCtx,
    code: String,
    check: String,
    result: Option<LookupResult>,
    error: Option<String>,
    code_error: Option<String>,
    check_error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    #[serde(default)]
    ma: String,
    /// Absent when the page is opened from a receipt's QR code (`?ma=` only).
    #[serde(default)]
    check: Option<String>,
}

/// `2027-02-04T16:00:00+07:00` → `04/02/2027 16:00`.
fn shown(instant: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(instant)
        .map(|t| crate::format::vn_datetime(t.timestamp_millis()))
        .unwrap_or_default()
}

/// The public status page the forms' QR codes lead to (`/tra-cuu?ma={code}`): the code is
/// filled in, the applicant adds the last four digits of their ID number or phone. Shows the
/// same data as the public API (no personal data), under the same rate limit.
pub async fn dossier_lookup(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<LookupQuery>,
) -> WebResult<Response> {
    let page = PageCtx::new(&state, &viewer, "/tra-cuu");
    let code: String = query.ma.trim().chars().take(40).collect();
    let submitted = query.check.is_some();
    let check: String = query
        .check
        .unwrap_or_default()
        .trim()
        .chars()
        .take(4)
        .collect();
    let mut result = None;
    let mut error = None;
    // The form sent with a box left empty: its message sits beside it.
    let missing = |key: &str| Some(crate::i18n::t(viewer.lang, key).to_owned());
    let code_error = (submitted && code.is_empty())
        .then(|| missing("portal.lookup.code_missing"))
        .flatten();
    let check_error = (submitted && check.is_empty())
        .then(|| missing("portal.lookup.check_missing"))
        .flatten();
    if !code.is_empty() && !check.is_empty() {
        let found = match crate::api::onestop::allow_lookup(&state, &viewer) {
            Ok(()) => tinhso_onestop::dossiers::public_status(&state.platform, &code, &check)
                .await
                .map_err(WebError::from),
            Err(e) => Err(e),
        };
        match found {
            Ok(s) => {
                let t = |key: String| crate::i18n::t(viewer.lang, &key).to_owned();
                result = Some(LookupResult {
                    code: s.code,
                    procedure: format!("{} ({})", s.procedure_name, s.procedure_code),
                    agency: s.agency_name,
                    status: t(format!("dossier_status.{}", s.status.as_str())),
                    submitted: shown(&s.submitted_at),
                    received: s.received_at.as_deref().map(shown).unwrap_or_default(),
                    due: s.due_at.as_deref().map(shown).unwrap_or_default(),
                    steps: s
                        .steps
                        .iter()
                        .map(|step| {
                            (
                                shown(&step.at),
                                t(format!("dossier_action.{}", step.action)),
                            )
                        })
                        .collect(),
                });
            }
            Err(e) => error = error_message(viewer.lang, &e),
        }
    }
    let status = if error.is_some() {
        StatusCode::NOT_FOUND
    } else if code_error.is_some() || check_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_with_status(
        status,
        &LookupPage {
            page: &page,
            // The check digits are kept only when the lookup failed, to be corrected.
            check: if result.is_none() {
                check
            } else {
                String::new()
            },
            code,
            result,
            error,
            code_error,
            check_error,
        },
    )
}
