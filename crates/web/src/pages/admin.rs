//! Administration pages: agencies, users and roles, the audit log.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tinhso_core::access::{Action, Role, Target, role_allows};
use tinhso_core::identity::AccountKind;
use tinhso_platform::audit::{Verdict, recent, verify};
use tinhso_platform::identity::{NewUser, User, create_user, grant_role, list_users};
use tinhso_platform::org::{NewAgency, create_agency, list_agencies, resolve_agency_code};

use crate::AppState;
use crate::error::{WebError, WebResult};
use crate::i18n::t;
use crate::pages::{PageCtx, error_message, render, render_form};
use crate::session::{Viewer, roles_of};

pub struct AgencyRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub active: bool,
    pub depth: usize,
}

#[derive(Debug, Default, Deserialize)]
pub struct AgencyForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub parent_code: String,
}

#[derive(Template)]
#[template(path = "agencies.html")]
struct AgenciesPage<'a> {
    page: &'a PageCtx,
    agencies: Vec<AgencyRow>,
    can_manage: bool,
    form: AgencyForm,
    notice: Option<String>,
    error: Option<String>,
}

fn may(viewer: &Viewer, action: Action) -> bool {
    viewer
        .session
        .as_ref()
        .is_some_and(|s| roles_of(s).into_iter().any(|r| role_allows(r, action)))
}

async fn agencies_page(
    state: &AppState,
    viewer: &Viewer,
    form: AgencyForm,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    viewer.require_user()?;
    if !may(viewer, Action::ViewAgency) {
        return Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"));
    }
    let agencies = list_agencies(&state.platform, &viewer.ctx())
        .await?
        .into_iter()
        .map(|a| AgencyRow {
            depth: a.path.matches('/').count().saturating_sub(2).min(4),
            code: a.code,
            name: a.name,
            level: a.level,
            active: a.active,
        })
        .collect();
    let page = PageCtx::new(state, viewer, "/admin/agencies");
    let failed = error.is_some();
    let template = AgenciesPage {
        page: &page,
        agencies,
        can_manage: may(viewer, Action::ManageAgency),
        form,
        notice,
        error,
    };
    render_form(failed, &template)
}

pub async fn agencies(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    agencies_page(&state, &viewer, AgencyForm::default(), None, None).await
}

pub async fn create_agency_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AgencyForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_user()?;
    let input = NewAgency {
        code: form.code.clone(),
        name: form.name.clone(),
        short_name: String::new(),
        parent_code: Some(form.parent_code.trim().to_owned()),
        level: "department".into(),
        unit_era: None,
        unit_code: None,
    };
    match create_agency(&state.platform, &viewer.ctx(), &input).await {
        Ok(_) => {
            let notice = t(viewer.lang, "agencies.created").to_owned();
            agencies_page(&state, &viewer, AgencyForm::default(), Some(notice), None).await
        }
        Err(e) => {
            let message = error_message(viewer.lang, &WebError::from(e));
            agencies_page(&state, &viewer, form, None, message).await
        }
    }
}

/// One role grant of a user, as the users page lists it (with a revoke button).
pub struct GrantRow {
    pub role: &'static str,
    pub role_key: String,
    pub agency_id: i64,
    pub agency_code: String,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage<'a> {
    page: &'a PageCtx,
    users: Vec<User>,
    grants: Vec<Vec<GrantRow>>,
    can_manage: bool,
    roles: Vec<(&'static str, String)>,
    now_ms: i64,
    notice: Option<String>,
    error: Option<String>,
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    viewer.require_user()?;
    if !may(viewer, Action::ViewUsers) {
        return Err(WebError::Status(StatusCode::FORBIDDEN, "forbidden"));
    }
    let users = list_users(&state.platform, &viewer.ctx()).await?;
    let codes: std::collections::HashMap<i64, String> =
        list_agencies(&state.platform, &viewer.ctx())
            .await?
            .into_iter()
            .map(|a| (a.id, a.code))
            .collect();
    let mut grants = Vec::with_capacity(users.len());
    for user in &users {
        let principal = tinhso_platform::identity::principal_for(&state.platform, user).await?;
        grants.push(
            principal
                .grants
                .into_iter()
                .map(|g| GrantRow {
                    role: g.role.as_str(),
                    role_key: format!("role.{}", g.role.as_str()),
                    agency_code: codes.get(&g.agency_id).cloned().unwrap_or_default(),
                    agency_id: g.agency_id,
                })
                .collect(),
        );
    }
    let page = PageCtx::new(state, viewer, "/admin/users");
    let roles = Role::ALL
        .into_iter()
        .filter(|r| !r.is_for_citizens())
        .map(|r| (r.as_str(), format!("role.{}", r.as_str())))
        .collect();
    let failed = error.is_some();
    let template = UsersPage {
        page: &page,
        users,
        grants,
        can_manage: may(viewer, Action::ManageUsers),
        roles,
        now_ms: viewer.now_ms,
        notice,
        error,
    };
    render_form(failed, &template)
}

pub async fn users(State(state): State<AppState>, viewer: Viewer) -> WebResult<Response> {
    users_page(&state, &viewer, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    csrf_token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    agency_code: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn create_official(
    state: &AppState,
    viewer: &Viewer,
    form: &UserForm,
) -> tinhso_platform::Result<()> {
    let ctx = viewer.ctx();
    let role = Role::parse(&form.role)?;
    let agency = resolve_agency_code(&state.platform, form.agency_code.trim())
        .await?
        .ok_or_else(|| tinhso_core::DomainError::not_found("agency"))?;
    // Check the grant before creating the account, so a refused grant leaves nothing behind.
    ctx.authorize(Action::ManageUsers, &Target::Agency(&agency.agency_path()))?;
    if let Some(principal) = ctx.principal() {
        tinhso_core::access::may_grant(principal, role, &agency.agency_path())?;
    }
    let user = create_user(
        &state.platform,
        &ctx,
        &NewUser {
            kind: AccountKind::Official,
            username: form.username.clone(),
            display_name: form.display_name.clone(),
            personal_id: None,
            tax_code: None,
            email: String::new(),
            phone: String::new(),
            agency_id: Some(agency.id),
            password: Some(form.password.clone()),
            must_change_password: true,
        },
    )
    .await?;
    grant_role(&state.platform, &ctx, user.id, role, agency.id).await
}

pub async fn create_user_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<UserForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_user()?;
    match create_official(&state, &viewer, &form).await {
        Ok(()) => {
            users_page(
                &state,
                &viewer,
                Some(t(viewer.lang, "users.created").to_owned()),
                None,
            )
            .await
        }
        Err(e) => {
            users_page(
                &state,
                &viewer,
                None,
                error_message(viewer.lang, &WebError::from(e)),
            )
            .await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf_token: String,
    /// `grant` or `revoke`.
    #[serde(default)]
    op: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    agency_code: String,
}

async fn change_role(
    state: &AppState,
    viewer: &Viewer,
    form: &RoleForm,
) -> tinhso_platform::Result<&'static str> {
    let ctx = viewer.ctx();
    let role = Role::parse(form.role.trim())?;
    let user = tinhso_platform::identity::user_by_username(&state.platform, form.username.trim())
        .await?
        .ok_or_else(|| tinhso_core::DomainError::not_found("user"))?;
    let agency = resolve_agency_code(&state.platform, form.agency_code.trim())
        .await?
        .ok_or_else(|| tinhso_core::DomainError::not_found("agency"))?;
    if form.op == "revoke" {
        tinhso_platform::identity::revoke_role(&state.platform, &ctx, user.id, role, agency.id)
            .await?;
        Ok("catalog_editor.roles.revoked")
    } else {
        grant_role(&state.platform, &ctx, user.id, role, agency.id).await?;
        Ok("catalog_editor.roles.granted")
    }
}

/// `POST /admin/users/roles`: grants or revokes one role of an official in an agency (the
/// identity service checks the caller may grant that role there, and audits the change).
pub async fn role_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<RoleForm>,
) -> WebResult<Response> {
    viewer.check_csrf(&state.platform.session_key, &form.csrf_token)?;
    viewer.require_user()?;
    match change_role(&state, &viewer, &form).await {
        Ok(key) => users_page(&state, &viewer, Some(t(viewer.lang, key).to_owned()), None).await,
        Err(e) => {
            users_page(
                &state,
                &viewer,
                None,
                error_message(viewer.lang, &WebError::from(e)),
            )
            .await
        }
    }
}

pub struct AuditRow {
    pub seq: i64,
    pub time: String,
    pub actor: String,
    pub action: String,
    pub object: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage<'a> {
    page: &'a PageCtx,
    records: Vec<AuditRow>,
    verdict: Option<String>,
    intact: bool,
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    verify: Option<String>,
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> WebResult<Response> {
    viewer.require_user()?;
    tinhso_platform::identity::authorize_installation(&viewer.ctx(), Action::ViewAudit)?;
    let (verdict, intact) = match query.verify {
        Some(_) => match verify(&state.platform.db, &state.platform.audit_key).await? {
            Verdict::Intact { records } => (
                Some(format!("{} ({records})", t(viewer.lang, "audit.intact"))),
                true,
            ),
            Verdict::Broken(b) => (
                Some(format!("{}: {b}", t(viewer.lang, "audit.broken"))),
                false,
            ),
        },
        None => (None, true),
    };
    let records = recent(&state.platform.db, 100)
        .await?
        .into_iter()
        .map(|r| AuditRow {
            seq: r.seq,
            time: crate::format::vn_datetime(r.at_ms),
            actor: r.event.actor,
            action: r.event.action,
            object: format!("{} {}", r.event.object_type, r.event.object_id),
        })
        .collect();
    let page = PageCtx::new(&state, &viewer, "/audit");
    render(&AuditPage {
        page: &page,
        records,
        verdict,
        intact,
    })
}
