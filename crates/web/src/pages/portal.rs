//! The public portal (no login): the home page with the procedure search, browsing by field,
//! agency and level, the procedure page, and the public statistics page.
//!
//! Paths: `/`, `/procedures`, `/procedures/{code}`, `/statistics`. Everything is a GET with
//! plain links and forms, so it works without JavaScript; charts are SVG drawn here.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use tinhso_core::access::Role;
use tinhso_onestop::domain::catalog::{Channel, DocumentKind, OnlineLevel, TimeUnit};
use tinhso_onestop::search::{self, Count, Summary};
use tinhso_onestop::statistics;

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::format::{vn_day, vn_money, vn_percent};
use crate::i18n::{Lang, t};
use crate::pages::{PageCtx, error_message, render, render_form};
use crate::session::Viewer;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/procedures", get(procedures))
        .route("/procedures/{code}", get(procedure))
        .route("/statistics", get(statistics_page))
}

/// Results per page of `/procedures`.
const PER_PAGE: usize = 20;

/// What a query-string value must escape (RFC 3986 unreserved characters stay readable:
/// agency codes such as `000.00.31.H32` are kept as they are).
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(value: &str) -> String {
    utf8_percent_encode(value, QUERY_VALUE).to_string()
}

/// One procedure in a list, ready to show.
pub struct Row {
    pub code: String,
    pub name: String,
    pub field: String,
    pub levels: String,
    pub time: String,
    pub online_key: &'static str,
    pub online_class: &'static str,
}

fn time_text(lang: Lang, amount: u32, unit: TimeUnit) -> String {
    let key = match unit {
        TimeUnit::WorkingDays => "portal.time.days",
        TimeUnit::WorkingHours => "portal.time.hours",
    };
    format!("{amount} {}", t(lang, key))
}

fn level_key(level: &str) -> &'static str {
    match level {
        "province" => "portal.level.province",
        _ => "portal.level.commune",
    }
}

fn online_key(level: &str) -> &'static str {
    match level {
        "full" => "portal.online.full",
        "partial" => "portal.online.partial",
        _ => "portal.online.none",
    }
}

fn row(lang: Lang, s: &Summary) -> Row {
    Row {
        code: s.code.clone(),
        name: s.name.clone(),
        field: s.field.clone(),
        levels: s
            .levels
            .iter()
            .map(|l| t(lang, level_key(l)))
            .collect::<Vec<_>>()
            .join(", "),
        time: time_text(lang, s.processing_time.amount, s.processing_time.unit),
        online_key: online_key(&s.online_level),
        online_class: match s.online_level.as_str() {
            "full" => "full",
            "partial" => "partial",
            _ => "none",
        },
    }
}

/// A field (lĩnh vực) to browse, with its link.
pub struct FieldLink {
    pub name: String,
    pub count: usize,
    pub href: String,
}

#[derive(Template)]
#[template(path = "portal/home.html")]
struct HomePage<'a> {
    page: &'a PageCtx,
    greeting: Option<String>,
    roles: Vec<(String, String)>,
    popular: Vec<Row>,
    fields: Vec<FieldLink>,
    total: usize,
}

/// `GET /`: the portal's home — search, most used procedures, fields, status lookup,
/// statistics; a logged-in official also sees their roles and their pages.
pub async fn home(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    // A half-finished login (second factor or enrolment pending) is sent to finish it.
    if viewer.session.is_some() {
        viewer.require_user()?;
    }
    let page = PageCtx::new(&state, &viewer, "/");
    let mut roles = Vec::new();
    if let Some(session) = &viewer.session {
        for grant in &session.principal.grants {
            let agency = if grant.role == Role::Citizen {
                String::new()
            } else {
                tinhso_platform::org::agency_by_id(&state.platform, grant.agency_id)
                    .await?
                    .map(|a| a.name)
                    .unwrap_or_default()
            };
            roles.push((format!("role.{}", grant.role.as_str()), agency));
        }
    }
    let catalogue = search::search(&state.platform, &search::Query::default()).await?;
    let popular = search::most_used(&state.platform, 6)
        .await?
        .iter()
        .map(|s| row(viewer.lang, s))
        .collect();
    let fields = catalogue
        .facets
        .field
        .iter()
        .map(|c| FieldLink {
            name: c.value.clone(),
            count: c.count,
            href: format!("/procedures?field={}", enc(&c.value)),
        })
        .collect();
    render(&HomePage {
        page: &page,
        greeting: viewer.session.as_ref().map(|s| s.user.display_name.clone()),
        roles,
        popular,
        fields,
        total: catalogue.procedures.len(),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    field: String,
    #[serde(default)]
    agency: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    page: String,
}

/// A filter's choices: (value, label with count, selected).
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct PageLink {
    pub number: usize,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "portal/procedures.html")]
struct ProceduresPage<'a> {
    page: &'a PageCtx,
    q: String,
    fields: Vec<Choice>,
    agencies: Vec<Choice>,
    levels: Vec<Choice>,
    rows: Vec<Row>,
    total: usize,
    filtered: bool,
    pages: Vec<PageLink>,
    previous: Option<String>,
    next: Option<String>,
    first_shown: usize,
    last_shown: usize,
}

fn choices(counts: &[Count], selected: &str, label: impl Fn(&str) -> String) -> Vec<Choice> {
    let mut out: Vec<Choice> = counts
        .iter()
        .map(|c| Choice {
            value: c.value.clone(),
            label: format!("{} ({})", label(&c.value), c.count),
            selected: c.value == selected,
        })
        .collect();
    // A filter that matches nothing any more stays visible, so it can be seen and removed.
    if !selected.is_empty() && !out.iter().any(|c| c.selected) {
        out.push(Choice {
            value: selected.to_owned(),
            label: format!("{} (0)", label(selected)),
            selected: true,
        });
    }
    out
}

fn list_href(query: &ListQuery, page: usize) -> String {
    let mut parts = Vec::new();
    for (name, value) in [
        ("q", &query.q),
        ("field", &query.field),
        ("agency", &query.agency),
        ("level", &query.level),
    ] {
        if !value.is_empty() {
            parts.push(format!("{name}={}", enc(value)));
        }
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/procedures".into()
    } else {
        format!("/procedures?{}", parts.join("&"))
    }
}

/// `GET /procedures?q=&field=&agency=&level=&page=`: search results and browsing, filters
/// combinable, each choice with the number of procedures it gives.
pub async fn procedures(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(mut query): Query<ListQuery>,
) -> WebResult<Response> {
    query.q = query.q.trim().chars().take(200).collect();
    let found = search::search(
        &state.platform,
        &search::Query {
            text: query.q.clone(),
            field: query.field.clone(),
            agency: query.agency.clone(),
            level: query.level.clone(),
        },
    )
    .await?;
    let lang = viewer.lang;
    let total = found.procedures.len();
    let page_count = total.div_ceil(PER_PAGE).max(1);
    let current = query
        .page
        .parse::<usize>()
        .unwrap_or(1)
        .clamp(1, page_count);
    let rows: Vec<Row> = found
        .procedures
        .iter()
        .skip((current - 1) * PER_PAGE)
        .take(PER_PAGE)
        .map(|s| row(lang, s))
        .collect();
    let pages = if page_count > 1 {
        (1..=page_count)
            .map(|n| PageLink {
                number: n,
                href: list_href(&query, n),
                current: n == current,
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = PageCtx::new(&state, &viewer, "/procedures");
    let first_shown = if total == 0 {
        0
    } else {
        (current - 1) * PER_PAGE + 1
    };
    let template = ProceduresPage {
        page: &page,
        fields: choices(&found.facets.field, &query.field, str::to_owned),
        agencies: choices(&found.facets.agency, &query.agency, str::to_owned),
        levels: choices(&found.facets.level, &query.level, |l| {
            t(lang, level_key(l)).to_owned()
        }),
        first_shown,
        last_shown: first_shown + rows.len().saturating_sub(1),
        rows,
        total,
        filtered: !(query.q.is_empty()
            && query.field.is_empty()
            && query.agency.is_empty()
            && query.level.is_empty()),
        previous: (current > 1).then(|| list_href(&query, current - 1)),
        next: (current < page_count).then(|| list_href(&query, current + 1)),
        pages,
        q: query.q.clone(),
    };
    render(&template)
}

pub struct DocRow {
    pub name: String,
    pub kind_key: &'static str,
    pub count: u32,
    pub template: String,
}

pub struct FeeRow {
    pub name: String,
    pub amount: String,
    pub payer: String,
    pub exemptions: String,
}

pub struct StepRow {
    pub name: String,
    pub role_key: String,
    pub hours: String,
}

#[derive(Template)]
#[template(path = "portal/procedure.html")]
struct ProcedurePage<'a> {
    page: &'a PageCtx,
    code: String,
    name: String,
    field: String,
    field_href: String,
    agency: String,
    levels: String,
    time: String,
    time_note: String,
    online_key: &'static str,
    channels: Vec<&'static str>,
    can_apply: bool,
    documents: Vec<DocRow>,
    fees: Vec<FeeRow>,
    legal: Vec<(String, String)>,
    steps: Vec<StepRow>,
    results: Vec<String>,
    notes: String,
    version: i64,
}

/// `GET /procedures/{code}`: everything a citizen needs before applying.
pub async fn procedure(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(code): Path<String>,
) -> WebResult<Response> {
    let stored = tinhso_onestop::catalog::get(&state.platform, &code).await?;
    let lang = viewer.lang;
    let spec = &stored.spec;
    let page = PageCtx::new(&state, &viewer, "/procedures");
    let template = ProcedurePage {
        page: &page,
        code: spec.code.clone(),
        name: spec.name.clone(),
        field: spec.field.name.clone(),
        field_href: format!("/procedures?field={}", enc(&spec.field.name)),
        agency: spec.implementing_agency.clone(),
        levels: spec
            .levels
            .iter()
            .map(|l| t(lang, level_key(search::level_str(*l))))
            .collect::<Vec<_>>()
            .join(", "),
        time: time_text(lang, spec.processing_time.amount, spec.processing_time.unit),
        time_note: spec.processing_time.note.clone(),
        online_key: online_key(search::online_str(spec.online_level)),
        channels: spec
            .channels
            .iter()
            .map(|c| match c {
                Channel::Online => "portal.channel.online",
                Channel::Counter => "portal.channel.counter",
                Channel::Postal => "portal.channel.postal",
            })
            .collect(),
        can_apply: spec.accepts(Channel::Online) && spec.online_level != OnlineLevel::None,
        documents: spec
            .required_documents
            .iter()
            .map(|d| DocRow {
                name: d.name.clone(),
                kind_key: match d.kind {
                    DocumentKind::Original => "portal.kind.original",
                    DocumentKind::CertifiedCopy => "portal.kind.certified_copy",
                    DocumentKind::Photocopy => "portal.kind.photocopy",
                },
                count: d.count,
                template: d.template.clone().unwrap_or_default(),
            })
            .collect(),
        fees: spec
            .fees
            .iter()
            .map(|f| FeeRow {
                name: f.name.clone(),
                amount: if f.amount == 0 {
                    t(lang, "portal.fee.free").to_owned()
                } else {
                    vn_money(i64::try_from(f.amount).unwrap_or(i64::MAX))
                },
                payer: if f.payer == "applicant" {
                    t(lang, "portal.fee.applicant").to_owned()
                } else {
                    f.payer.clone()
                },
                exemptions: f.exemptions.clone(),
            })
            .collect(),
        legal: spec
            .legal_basis
            .iter()
            .map(|l| (l.number.clone(), l.title.clone()))
            .collect(),
        steps: spec
            .process
            .iter()
            .map(|s| StepRow {
                name: s.name.clone(),
                role_key: format!("role.{}", s.role.as_str()),
                hours: format!("{}", s.duration_hours).replace('.', ","),
            })
            .collect(),
        results: spec.results.clone(),
        notes: spec.notes.clone(),
        version: stored.version,
    };
    render(&template)
}

#[derive(Debug, Default, Deserialize)]
pub struct StatsQuery {
    #[serde(default)]
    agency: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// One bar of a chart: label, value shown, bar length 0–100.
pub struct Bar {
    pub label: String,
    pub value: String,
    pub length: u32,
    pub class: &'static str,
}

/// A donut: the share as text and the arc's length on a circle of circumference 100
/// (`pathLength="100"`).
pub struct Donut {
    pub title_key: &'static str,
    pub text: String,
    pub arc: String,
    pub rest: String,
    pub note: String,
    pub present: bool,
}

fn donut(lang: Lang, title_key: &'static str, share: Option<f64>, note: String) -> Donut {
    let value = share.unwrap_or(0.0).clamp(0.0, 1.0) * 100.0;
    Donut {
        title_key,
        text: share
            .map(vn_percent)
            .unwrap_or_else(|| t(lang, "portal.stats.no_data").to_owned()),
        arc: format!("{value:.2}"),
        rest: format!("{:.2}", 100.0 - value),
        note,
        present: share.is_some(),
    }
}

fn bars(items: &[(String, u64, &'static str)]) -> Vec<Bar> {
    let max = items.iter().map(|(_, v, _)| *v).max().unwrap_or(0).max(1);
    items
        .iter()
        .map(|(label, value, class)| Bar {
            label: label.clone(),
            value: value.to_string(),
            length: u32::try_from(value.saturating_mul(100) / max).unwrap_or(100),
            class,
        })
        .collect()
}

pub struct Preset {
    pub key: &'static str,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "portal/statistics.html")]
struct StatisticsPage<'a> {
    page: &'a PageCtx,
    scopes: Vec<(String, String)>,
    agency: String,
    from: String,
    to: String,
    from_error: Option<String>,
    to_error: Option<String>,
    error: Option<String>,
    presets: Vec<Preset>,
    period: String,
    scope_name: String,
    donuts: Vec<Donut>,
    channels: Vec<Bar>,
    outcomes: Vec<Bar>,
    satisfaction: Vec<Bar>,
    rows: Vec<(String, String)>,
    xlsx: String,
}

/// A date typed as `25/04/2027` (also `25-04-2027`) or sent by a link as `2027-04-25`.
fn parse_date(text: &str) -> Result<Option<NaiveDate>, ()> {
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(text, "%d/%m/%Y")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d-%m-%Y"))
        .or_else(|_| NaiveDate::parse_from_str(text, "%Y-%m-%d"))
        .map(Some)
        .map_err(|_| ())
}

/// What the date box shows: the parsed date as `dd/mm/yyyy`, or what was typed.
fn date_box(text: &str, parsed: Option<NaiveDate>) -> String {
    parsed
        .map(|d| d.format("%d/%m/%Y").to_string())
        .unwrap_or_else(|| text.to_owned())
}

/// `GET /statistics?agency=&from=&to=`: the province's one-stop KPIs, for everyone.
pub async fn statistics_page(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<StatsQuery>,
) -> WebResult<Response> {
    let lang = viewer.lang;
    let agency: String = query.agency.trim().chars().take(40).collect();
    let from_text: String = query.from.trim().chars().take(10).collect();
    let to_text: String = query.to.trim().chars().take(10).collect();
    let invalid = || Some(t(lang, "portal.stats.bad_date").to_owned());
    let from = parse_date(&from_text);
    let to = parse_date(&to_text);
    let mut from_error = from.is_err().then(invalid).flatten();
    let to_error = to.is_err().then(invalid).flatten();
    let (from, to) = (from.unwrap_or(None), to.unwrap_or(None));
    let (from_iso, to_iso) = (
        from.map(|d| d.to_string()).unwrap_or_default(),
        to.map(|d| d.to_string()).unwrap_or_default(),
    );
    if let (Some(f), Some(t_)) = (from, to)
        && t_ < f
    {
        from_error = Some(t(lang, "portal.stats.backwards").to_owned());
    }
    let scopes = statistics::scopes(&state.platform).await?;
    let mut error = None;
    let mut figures = statistics::Statistics::default();
    if from_error.is_none() && to_error.is_none() {
        let filter = statistics::Filter {
            agency_code: Some(agency.clone()).filter(|a| !a.is_empty()),
            procedure_code: None,
            from,
            to,
        };
        match statistics::compute(&state.platform, &filter, viewer.now_ms).await {
            Ok(s) => figures = s,
            Err(e) => error = error_message(lang, &WebError::from(e)),
        }
    }
    let today = chrono::DateTime::from_timestamp_millis(viewer.now_ms)
        .unwrap_or_default()
        .with_timezone(&crate::format::vietnam())
        .date_naive();
    let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
    let month_start = today.with_day(1).unwrap_or(today);
    let quarter_start =
        NaiveDate::from_ymd_opt(today.year(), (today.month0() / 3) * 3 + 1, 1).unwrap_or(today);
    let last_year = (
        NaiveDate::from_ymd_opt(today.year() - 1, 1, 1).unwrap_or(today),
        NaiveDate::from_ymd_opt(today.year() - 1, 12, 31).unwrap_or(today),
    );
    let agency_part = if agency.is_empty() {
        String::new()
    } else {
        format!("agency={}&", enc(&agency))
    };
    let preset = |key: &'static str, range: Option<(NaiveDate, NaiveDate)>| {
        let (f, t_) = range
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .unwrap_or_default();
        Preset {
            key,
            current: f == from_iso && t_ == to_iso,
            href: format!("/statistics?{agency_part}from={f}&to={t_}"),
        }
    };
    let presets = vec![
        preset("portal.stats.this_month", Some((month_start, today))),
        preset("portal.stats.this_quarter", Some((quarter_start, today))),
        preset("portal.stats.this_year", Some((year_start, today))),
        preset("portal.stats.last_year", Some(last_year)),
        preset("portal.stats.all_time", None),
    ];
    let period = match (from, to) {
        (None, None) => t(lang, "portal.stats.all_time").to_owned(),
        (Some(f), None) => format!(
            "{} {}",
            t(lang, "portal.stats.since"),
            vn_day(&f.to_string())
        ),
        (None, Some(t_)) => format!(
            "{} {}",
            t(lang, "portal.stats.until"),
            vn_day(&t_.to_string())
        ),
        (Some(f), Some(t_)) => {
            format!("{} – {}", vn_day(&f.to_string()), vn_day(&t_.to_string()))
        }
    };
    let scope_name = scopes
        .iter()
        .find(|s| s.code == agency)
        .map(|s| s.name.clone())
        .unwrap_or_else(|| t(lang, "portal.stats.whole_province").to_owned());
    let s = &figures;
    let resolved = s.resolved.on_time + s.resolved.late;
    let on_time_share = (resolved > 0).then(|| s.resolved.on_time as f64 / resolved as f64);
    let rated =
        s.satisfaction.very_satisfied + s.satisfaction.satisfied + s.satisfaction.not_satisfied;
    let satisfied_share = s.satisfaction.shares.map(|sh| sh[0] + sh[1]);
    let of = |n: u64, total: u64| format!("{n} / {total}");
    let donuts = vec![
        donut(
            lang,
            "portal.stats.online_share",
            s.online_share,
            of(s.received.online, s.received.total),
        ),
        donut(
            lang,
            "portal.stats.on_time_rate",
            on_time_share,
            of(s.resolved.on_time, resolved),
        ),
        donut(
            lang,
            "portal.stats.satisfied_share",
            satisfied_share,
            of(
                s.satisfaction.very_satisfied + s.satisfaction.satisfied,
                rated,
            ),
        ),
    ];
    let label = |key: &str| t(lang, key).to_owned();
    let channels = bars(&[
        (
            label("portal.channel.online"),
            s.received.online,
            "bar-online",
        ),
        (
            label("portal.channel.counter"),
            s.received.counter,
            "bar-counter",
        ),
        (
            label("portal.channel.postal"),
            s.received.postal,
            "bar-postal",
        ),
    ]);
    let outcomes = bars(&[
        (
            label("portal.stats.resolved_on_time"),
            s.resolved.on_time,
            "bar-ok",
        ),
        (
            label("portal.stats.resolved_late"),
            s.resolved.late,
            "bar-late",
        ),
        (
            label("portal.stats.open_on_time"),
            s.in_progress.on_time,
            "bar-online",
        ),
        (
            label("portal.stats.open_late"),
            s.in_progress.late,
            "bar-late",
        ),
    ]);
    let share_text = |i: usize| {
        s.satisfaction
            .shares
            .map(|sh| format!(" ({})", vn_percent(sh[i])))
            .unwrap_or_default()
    };
    let mut satisfaction = bars(&[
        (
            label("portal.stats.very_satisfied"),
            s.satisfaction.very_satisfied,
            "bar-ok",
        ),
        (
            label("portal.stats.satisfied"),
            s.satisfaction.satisfied,
            "bar-online",
        ),
        (
            label("portal.stats.not_satisfied"),
            s.satisfaction.not_satisfied,
            "bar-late",
        ),
    ]);
    for (i, bar) in satisfaction.iter_mut().enumerate() {
        bar.value.push_str(&share_text(i));
    }
    let pct = |share: Option<f64>| {
        share
            .map(vn_percent)
            .unwrap_or_else(|| t(lang, "portal.stats.no_data").to_owned())
    };
    let rows = vec![
        (label("portal.stats.received"), s.received.total.to_string()),
        (
            label("portal.channel.online"),
            s.received.online.to_string(),
        ),
        (
            label("portal.channel.counter"),
            s.received.counter.to_string(),
        ),
        (
            label("portal.channel.postal"),
            s.received.postal.to_string(),
        ),
        (label("portal.stats.online_share"), pct(s.online_share)),
        (label("portal.stats.resolved"), resolved.to_string()),
        (
            label("portal.stats.resolved_on_time"),
            s.resolved.on_time.to_string(),
        ),
        (
            label("portal.stats.resolved_late"),
            s.resolved.late.to_string(),
        ),
        (label("portal.stats.on_time_rate"), pct(on_time_share)),
        (
            label("portal.stats.open_on_time"),
            s.in_progress.on_time.to_string(),
        ),
        (
            label("portal.stats.open_late"),
            s.in_progress.late.to_string(),
        ),
        (
            label("portal.stats.average_days"),
            s.average_processing_working_days
                .map(|d| format!("{d:.1}").replace('.', ","))
                .unwrap_or_else(|| t(lang, "portal.stats.no_data").to_owned()),
        ),
        (label("portal.stats.ratings"), rated.to_string()),
        (label("portal.stats.satisfied_share"), pct(satisfied_share)),
    ];
    let mut xlsx = Vec::new();
    for (name, value) in [("agency", &agency), ("from", &from_iso), ("to", &to_iso)] {
        if !value.is_empty() {
            xlsx.push(format!("{name}={}", enc(value)));
        }
    }
    let page = PageCtx::new(&state, &viewer, "/statistics");
    let failed = from_error.is_some() || to_error.is_some() || error.is_some();
    let template = StatisticsPage {
        page: &page,
        scopes: scopes
            .into_iter()
            .map(|s| (s.code, format!("{}{}", "— ".repeat(s.depth.min(4)), s.name)))
            .collect(),
        agency,
        from: date_box(&from_text, from),
        to: date_box(&to_text, to),
        from_error,
        to_error,
        error,
        presets,
        period,
        scope_name,
        donuts,
        channels,
        outcomes,
        satisfaction,
        rows,
        xlsx: if xlsx.is_empty() {
            "/api/v1/statistics/xlsx".into()
        } else {
            format!("/api/v1/statistics/xlsx?{}", xlsx.join("&"))
        },
    };
    render_form(failed, &template)
}
