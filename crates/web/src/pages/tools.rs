//! Reference tools: the administrative-unit lookup (public) and the working calendar
//! (officials).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use tinhso_platform::org::resolve_unit;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::pages::{PageCtx, error_message, render_form, render_with_status};
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
    render_form(failed, &template)
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    page: &'a PageCtx,
    year: i32,
    /// The year's schedule as editable text, for provincial administrators.
    schedule: Option<ScheduleText>,
    notice: Option<String>,
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
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    saved: Option<String>,
}

/// A year's schedule as the form shows it: one `dd/mm/yyyy — lý do | reason` line per day.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ScheduleText {
    #[serde(default)]
    pub days_off: String,
    #[serde(default)]
    pub working_days: String,
    #[serde(default)]
    pub replaces: String,
}

fn note_lines(notes: &[tinhso_core::calendar::DayNote]) -> String {
    notes
        .iter()
        .map(|n| {
            let mut line = format!("{} — {}", n.date.format("%d/%m/%Y"), n.reason_vi);
            if !n.reason_en.is_empty() && n.reason_en != n.reason_vi {
                line.push_str(" | ");
                line.push_str(&n.reason_en);
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Reads `dd/mm/yyyy — lý do | reason` lines; the first line that is not one is returned.
fn parse_note_lines(text: &str) -> Result<Vec<tinhso_core::calendar::DayNote>, String> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (date, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let date = NaiveDate::parse_from_str(date, "%d/%m/%Y").map_err(|_| line.to_owned())?;
        let reason = rest.trim().trim_start_matches(['-', '–', '—']).trim();
        let (vi, en) = reason.split_once('|').unwrap_or((reason, reason));
        out.push(tinhso_core::calendar::DayNote {
            date,
            reason_vi: vi.trim().to_owned(),
            reason_en: en.trim().to_owned(),
        });
    }
    Ok(out)
}

/// Provincial administrators (calendar rights at a root agency) edit the yearly schedule.
fn may_edit_schedule(viewer: &Viewer) -> bool {
    viewer.session.as_ref().is_some_and(|s| {
        s.principal.grants.iter().any(|g| {
            g.agency_path.is_root()
                && tinhso_core::access::role_allows(
                    g.role,
                    tinhso_core::access::Action::ManageCalendar,
                )
        })
    })
}

async fn schedule_text(state: &AppState, year: i32) -> WebResult<ScheduleText> {
    let calendar = tinhso_platform::calendar::working_calendar(&state.platform, None).await?;
    Ok(calendar
        .schedules
        .iter()
        .find(|s| s.year == year)
        .map(|s| ScheduleText {
            days_off: note_lines(&s.extra_days_off),
            working_days: note_lines(&s.extra_working_days),
            replaces: s.replaces_rules.join(", "),
        })
        .unwrap_or_default())
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
    let year = form
        .year
        .filter(|y| (1900..=2100).contains(y))
        .unwrap_or_else(|| chrono::Datelike::year(&now));
    let schedule = if may_edit_schedule(&viewer) {
        Some(schedule_text(&state, year).await?)
    } else {
        None
    };
    let notice = form
        .saved
        .as_ref()
        .map(|_| crate::i18n::t(viewer.lang, "catalog_editor.calendar.saved").to_owned());
    calendar_page(&state, &viewer, year, schedule, notice, None, &form).await
}

async fn calendar_page(
    state: &AppState,
    viewer: &Viewer,
    year: i32,
    schedule: Option<ScheduleText>,
    notice: Option<String>,
    error: Option<String>,
    form: &DueForm,
) -> WebResult<Response> {
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
    let mut error = error;
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
    let page = PageCtx::new(state, viewer, "/calendar");
    let failed = error.is_some();
    let template = CalendarPage {
        page: &page,
        year,
        schedule,
        notice,
        holidays,
        from: form.from.chars().take(16).collect(),
        days: form.days.chars().take(4).collect(),
        due,
        error,
    };
    render_form(failed, &template)
}

#[derive(Debug, Deserialize)]
pub struct ScheduleForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    days_off: String,
    #[serde(default)]
    working_days: String,
    #[serde(default)]
    replaces: String,
}

/// `POST /admin/calendar/schedule`: stores the year's extra days off and swapped working
/// days (the calendar service checks the right at installation level and audits it).
pub async fn schedule_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::Form(form): axum::Form<ScheduleForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_official()?;
    if !may_edit_schedule(&viewer) {
        return Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"));
    }
    let lang = viewer.lang;
    let year: i32 = form.year.trim().parse().unwrap_or_default();
    let text = ScheduleText {
        days_off: form.days_off,
        working_days: form.working_days,
        replaces: form.replaces,
    };
    let parsed = parse_note_lines(&text.days_off)
        .and_then(|off| parse_note_lines(&text.working_days).map(|working| (off, working)));
    let outcome = match parsed {
        Err(line) => Err(format!(
            "{} {line}",
            crate::i18n::t(lang, "catalog_editor.calendar.bad_line")
        )),
        Ok((extra_days_off, extra_working_days)) => {
            let schedule = tinhso_core::calendar::YearSchedule {
                year,
                replaces_rules: text
                    .replaces
                    .split(',')
                    .map(str::trim)
                    .filter(|r| !r.is_empty())
                    .map(str::to_owned)
                    .collect(),
                extra_days_off,
                extra_working_days,
            };
            tinhso_platform::calendar::set_schedule(&state.platform, &viewer.ctx(), &schedule)
                .await
                .map_err(|e| {
                    error_message(lang, &WebError::from(e))
                        .unwrap_or_else(|| crate::i18n::t(lang, "error.internal").to_owned())
                })
        }
    };
    match outcome {
        Ok(()) => Ok(
            axum::response::Redirect::to(&format!("/calendar?year={year}&saved=1")).into_response(),
        ),
        Err(message) => {
            let empty = DueForm {
                from: String::new(),
                days: String::new(),
                year: None,
                saved: None,
            };
            calendar_page(
                &state,
                &viewer,
                year,
                Some(text),
                None,
                Some(message),
                &empty,
            )
            .await
        }
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
