//! Identity and access: accounts, passwords (argon2id), lockout, sessions, TOTP, scoped API
//! tokens and role grants.
//!
//! Secrets are never stored in the clear: passwords as argon2id hashes, session and API
//! tokens as SHA-256 digests (they are random 256-bit values, so a fast hash suffices), TOTP
//! secrets as the base32 seed the authenticator app also holds. Failed logins count towards
//! a lockout and, like every other state change here, are audited.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::sync::OnceLock;
use tinhso_core::access::{Action, Grant, Principal, Role, Target, may_grant};
use tinhso_core::agency::AgencyPath;
use tinhso_core::identity::{
    AccountKind, check_password_strength, check_personal_id, check_tax_code,
};
use tinhso_core::{DomainError, ErrorCode};

use crate::audit::Change;
use crate::context::{Caller, Ctx};
use crate::error::{Error, Result};
use crate::org::agency_by_id;
use crate::{Platform, WriteTx};

// ---------------------------------------------------------------- accounts

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub kind: AccountKind,
    pub username: String,
    pub display_name: String,
    pub personal_id: Option<String>,
    pub tax_code: Option<String>,
    pub email: String,
    pub phone: String,
    pub agency_id: Option<i64>,
    pub must_change_password: bool,
    pub totp_enabled: bool,
    pub disabled: bool,
    pub locked_until_ms: i64,
}

const USER_COLUMNS: &str = "id, kind, username, display_name, personal_id, tax_code, email, phone, agency_id, must_change_password, totp_enabled, disabled, locked_until_ms";

/// The user's columns qualified by the alias `u`, first in a join so that [`user_from_row`]
/// reads them at the same positions.
static JOINED_USER_COLUMNS: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| crate::db::qualified(USER_COLUMNS, "u"));

/// Columns after the user's in a joined row start here.
const AFTER_USER: usize = 13;

fn user_from_row(r: &AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get(0)?,
        kind: AccountKind::parse(&r.try_get::<String, _>(1)?)?,
        username: r.try_get(2)?,
        display_name: r.try_get(3)?,
        personal_id: r.try_get(4)?,
        tax_code: r.try_get(5)?,
        email: r.try_get(6)?,
        phone: r.try_get(7)?,
        agency_id: r.try_get(8)?,
        must_change_password: r.try_get::<i64, _>(9)? != 0,
        totp_enabled: r.try_get::<i64, _>(10)? != 0,
        disabled: r.try_get::<i64, _>(11)? != 0,
        locked_until_ms: r.try_get(12)?,
    })
}

async fn fetch_user<'e, E>(exec: E, id: i64) -> Result<Option<User>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(exec)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub async fn user_by_id(p: &Platform, id: i64) -> Result<Option<User>> {
    fetch_user(p.db.pool(), id).await
}

pub async fn user_by_username(p: &Platform, username: &str) -> Result<Option<User>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    )))
    .bind(username)
    .fetch_optional(p.db.pool())
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub kind: AccountKind,
    /// Officials choose a username; citizens and businesses are keyed by their ID number or
    /// tax code, which becomes the username.
    #[serde(default)]
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub personal_id: Option<String>,
    #[serde(default)]
    pub tax_code: Option<String>,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub phone: String,
    #[serde(default)]
    pub agency_id: Option<i64>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub must_change_password: bool,
}

/// Normalises and checks a new account; returns its username.
fn validate_new_user(input: &NewUser) -> Result<String> {
    if input.display_name.trim().is_empty() || input.display_name.chars().count() > 200 {
        return Err(
            DomainError::invalid("display name is required (at most 200 characters)").into(),
        );
    }
    if let Some(password) = &input.password {
        check_password_strength(password)?;
    }
    let username = match input.kind {
        AccountKind::Citizen => {
            let id = input.personal_id.as_deref().unwrap_or_default();
            check_personal_id(id)?;
            id.to_owned()
        }
        AccountKind::Business => {
            let code = input.tax_code.as_deref().unwrap_or_default();
            check_tax_code(code)?;
            code.to_owned()
        }
        AccountKind::Official | AccountKind::Service => {
            let name = input.username.trim().to_lowercase();
            let valid = (3..=64).contains(&name.len())
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !valid {
                return Err(DomainError::invalid(
                    "username: 3–64 characters among a–z, 0–9, '.', '_' and '-'",
                )
                .into());
            }
            if input.agency_id.is_none() {
                return Err(DomainError::invalid("an official belongs to an agency").into());
            }
            name
        }
    };
    Ok(username)
}

pub async fn create_user(p: &Platform, ctx: &Ctx, input: &NewUser) -> Result<User> {
    let username = validate_new_user(input)?;
    authorize_user_admin(p, ctx, input.agency_id).await?;
    let password_hash = match &input.password {
        Some(password) => Some(hash_password(password.clone()).await?),
        None => None,
    };
    let mut tx = p.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO users (kind, username, display_name, personal_id, tax_code, email, phone, agency_id, password_hash, must_change_password, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id")
        .bind(input.kind.as_str())
        .bind(&username)
        .bind(input.display_name.trim())
        .bind(input.personal_id.as_deref().filter(|_| input.kind == AccountKind::Citizen))
        .bind(input.tax_code.as_deref().filter(|_| input.kind == AccountKind::Business))
        .bind(input.email.trim())
        .bind(input.phone.trim())
        .bind(input.agency_id)
        .bind(password_hash)
        .bind(i64::from(input.must_change_password))
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await
        .map_err(|e| match Error::from(e) {
            err if err.code() == ErrorCode::Conflict => Error::domain(ErrorCode::Conflict, format!("an account `{username}` already exists")),
            err => err,
        })?;
    let user = fetch_user(&mut *tx.tx, id)
        .await?
        .ok_or_else(|| Error::Other("user vanished".into()))?;
    p.audit(
        &mut tx,
        ctx,
        Change::after("user.create", "user", &id.to_string(), &user),
    )
    .await?;
    tx.commit().await?;
    Ok(user)
}

/// Installation-wide actions (the audit trail, the holiday calendar, citizens' accounts) need
/// the action granted at a root agency — a province — and pass through `ctx.authorize`, so a
/// token's scopes narrow them like everything else.
pub fn authorize_installation(ctx: &Ctx, action: Action) -> Result<()> {
    match &ctx.caller {
        Caller::Local => Ok(()),
        Caller::Anonymous => Err(Error::domain(ErrorCode::Unauthenticated, "log in first")),
        Caller::User(principal) => {
            let allowed = principal
                .grants
                .iter()
                .filter(|g| g.agency_path.is_root())
                .any(|g| {
                    ctx.authorize(action, &Target::Agency(&g.agency_path))
                        .is_ok()
                });
            if allowed {
                Ok(())
            } else {
                Err(DomainError::forbidden().into())
            }
        }
    }
}

/// Creating an account in an agency: officials within the caller's user-management subtree;
/// citizen and business accounts only at installation level.
async fn authorize_user_admin(p: &Platform, ctx: &Ctx, agency_id: Option<i64>) -> Result<()> {
    if matches!(ctx.caller, Caller::Local) {
        return Ok(());
    }
    match agency_id {
        Some(id) => {
            let agency = agency_by_id(p, id)
                .await?
                .ok_or_else(|| DomainError::not_found("agency"))?;
            ctx.authorize(Action::ManageUsers, &Target::Agency(&agency.agency_path()))?;
            Ok(())
        }
        None => authorize_installation(ctx, Action::ManageUsers),
    }
}

/// Administering an existing account (reset its password, issue it tokens, change its roles,
/// end its sessions). An account is only as administrable as its strongest grant, because
/// whoever takes it over holds all of them: the caller must manage the account's home agency
/// AND be allowed to grant every role the account holds, where it holds it.
async fn authorize_account_admin(p: &Platform, ctx: &Ctx, user: &User) -> Result<()> {
    if matches!(ctx.caller, Caller::Local) {
        return Ok(());
    }
    authorize_user_admin(p, ctx, user.agency_id).await?;
    let admin = ctx.principal().ok_or_else(DomainError::forbidden)?;
    for grant in principal_for(p, user).await?.grants {
        if !grant.role.is_for_citizens() {
            may_grant(admin, grant.role, &grant.agency_path)?;
        }
    }
    Ok(())
}

/// Reads an account if the caller may: their own, or within their user-viewing scope.
pub async fn view_user(p: &Platform, ctx: &Ctx, id: i64) -> Result<User> {
    let user = user_by_id(p, id)
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    if ctx.principal().is_some_and(|pr| pr.user_id == id) {
        return Ok(user);
    }
    match (&ctx.caller, user.agency_id) {
        (Caller::Local, _) => Ok(user),
        (_, Some(agency_id)) => {
            let agency = agency_by_id(p, agency_id)
                .await?
                .ok_or_else(|| DomainError::not_found("agency"))?;
            ctx.authorize(Action::ViewUsers, &Target::Agency(&agency.agency_path()))?;
            Ok(user)
        }
        _ => Err(DomainError::forbidden().into()),
    }
}

/// Officials of the agencies the caller may manage.
pub async fn list_users(p: &Platform, ctx: &Ctx) -> Result<Vec<User>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT u.{}, a.path FROM users u JOIN agencies a ON a.id = u.agency_id ORDER BY u.username",
        USER_COLUMNS.replace(", ", ", u.")
    )))
    .fetch_all(p.db.pool())
    .await?;
    let mut visible = Vec::new();
    for row in &rows {
        let path = AgencyPath(row.try_get(13)?);
        if ctx
            .authorize(Action::ViewUsers, &Target::Agency(&path))
            .is_ok()
        {
            visible.push(user_from_row(row)?);
        }
    }
    Ok(visible)
}

// ---------------------------------------------------------------- passwords

async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Other(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| Error::Other(e.to_string()))?
}

async fn verify_password(password: String, hash: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        // Unknown users and accounts without a password are checked against a fixed hash so
        // the response time does not reveal whether the account exists.
        let stored = hash.unwrap_or_else(|| dummy_hash().to_owned());
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        Argon2::default()
            .hash_password(b"no such account", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// An administrator's password reset: sets a temporary password the user must change, lifts
/// a lockout and ends the user's sessions.
pub async fn reset_password(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    new_password: &str,
    must_change: bool,
) -> Result<()> {
    check_password_strength(new_password)?;
    let target = user_by_id(p, user_id)
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    authorize_account_admin(p, ctx, &target).await?;
    store_password(
        p,
        ctx,
        user_id,
        new_password,
        must_change,
        "user.reset_password",
    )
    .await
}

/// A user changing their own password: only in an interactive session (an API token is not
/// the person) and only with the current password.
pub async fn change_own_password(
    p: &Platform,
    ctx: &Ctx,
    current_password: &str,
    new_password: &str,
) -> Result<()> {
    let principal = ctx.principal().ok_or_else(DomainError::forbidden)?;
    if principal.token_scopes.is_some() {
        return Err(DomainError::forbidden().into());
    }
    check_password_strength(new_password)?;
    let hash: Option<String> = sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
        .bind(principal.user_id)
        .fetch_optional(p.db.pool())
        .await?
        .flatten();
    if !verify_password(current_password.to_owned(), hash).await {
        return Err(Error::domain(
            ErrorCode::InvalidCredentials,
            "current password is wrong",
        ));
    }
    store_password(
        p,
        ctx,
        principal.user_id,
        new_password,
        false,
        "user.change_password",
    )
    .await
}

async fn store_password(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    new_password: &str,
    must_change: bool,
    action: &str,
) -> Result<()> {
    let hash = hash_password(new_password.to_owned()).await?;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2, failed_logins = 0, locked_until_ms = 0, updated_ms = $3 WHERE id = $4")
        .bind(hash)
        .bind(i64::from(must_change))
        .bind(ctx.now_ms)
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?;
    // An administrator's reset ends the sessions of whoever may have taken the account over.
    if action == "user.reset_password" {
        delete_sessions_of(&mut tx, user_id).await?;
    }
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action,
            object_type: "user",
            object_id: &user_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

// ---------------------------------------------------------------- grants

/// Loads both sides of a grant change and checks, before anything else is revealed, that the
/// caller administers the account and may hand out `role` at `agency`.
async fn grant_parties(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    role: Role,
    agency_id: i64,
) -> Result<(User, crate::org::Agency)> {
    let user = user_by_id(p, user_id)
        .await?
        .ok_or_else(DomainError::forbidden)?;
    let agency = agency_by_id(p, agency_id)
        .await?
        .ok_or_else(DomainError::forbidden)?;
    if !matches!(ctx.caller, Caller::Local) {
        authorize_account_admin(p, ctx, &user).await?;
        let admin = ctx.principal().ok_or_else(DomainError::forbidden)?;
        if !role.is_for_citizens() {
            may_grant(admin, role, &agency.agency_path())?;
        }
    }
    Ok((user, agency))
}

pub async fn grant_role(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    role: Role,
    agency_id: i64,
) -> Result<()> {
    let (user, _agency) = grant_parties(p, ctx, user_id, role, agency_id).await?;
    if user.kind != AccountKind::Official {
        return Err(DomainError::invalid("roles are granted to officials' accounts").into());
    }
    if role.is_for_citizens() {
        return Err(
            DomainError::invalid("the citizen role belongs to citizen accounts only").into(),
        );
    }
    let mut tx = p.db.begin_write().await?;
    let inserted = sqlx::query("INSERT INTO role_grants (user_id, role, agency_id, granted_by, granted_ms) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, role, agency_id) DO NOTHING")
        .bind(user_id)
        .bind(role.as_str())
        .bind(agency_id)
        .bind(&ctx.actor)
        .bind(ctx.now_ms)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
    if inserted > 0 {
        crate::cache::bump_stamp(&mut tx, ACCESS_STAMP_KEY).await?;
        let grant = serde_json::json!({ "user_id": user_id, "role": role, "agency_id": agency_id });
        p.audit(
            &mut tx,
            ctx,
            Change::after("role.grant", "user", &user_id.to_string(), &grant),
        )
        .await?;
    }
    tx.commit().await
}

pub async fn revoke_role(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    role: Role,
    agency_id: i64,
) -> Result<()> {
    // Taking a role away needs only the right to grant it there: it cannot escalate anyone.
    let agency = agency_by_id(p, agency_id)
        .await?
        .ok_or_else(DomainError::forbidden)?;
    match &ctx.caller {
        Caller::Local => {}
        Caller::User(principal) => may_grant(principal, role, &agency.agency_path())?,
        Caller::Anonymous => return Err(DomainError::forbidden().into()),
    }
    let mut tx = p.db.begin_write().await?;
    let removed =
        sqlx::query("DELETE FROM role_grants WHERE user_id = $1 AND role = $2 AND agency_id = $3")
            .bind(user_id)
            .bind(role.as_str())
            .bind(agency_id)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
    if removed == 0 {
        return Err(DomainError::not_found("no such grant").into());
    }
    crate::cache::bump_stamp(&mut tx, ACCESS_STAMP_KEY).await?;
    let grant = serde_json::json!({ "user_id": user_id, "role": role, "agency_id": agency_id });
    p.audit(
        &mut tx,
        ctx,
        Change::<_, ()> {
            action: "role.revoke",
            object_type: "user",
            object_id: &user_id.to_string(),
            before: Some(&grant),
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// The settings key of the access stamp: replaced in every transaction that grants or revokes
/// a role, so officials' grants are cached per user while it stays the same (on any node).
/// An agency's path, the other input of a grant, is fixed when the agency is created.
pub(crate) const ACCESS_STAMP_KEY: &str = "access_stamp";

/// Officials' grants by user id, read under the access stamp.
struct GrantCache(crate::cache::Bounded<i64, Vec<Grant>>);

impl Default for GrantCache {
    fn default() -> Self {
        Self(crate::cache::Bounded::new(10_000))
    }
}

/// The caller's identity as the access rules see it. Citizens and businesses hold the citizen
/// role implicitly (over their own objects only); officials hold what was granted.
pub async fn principal_for(p: &Platform, user: &User) -> Result<Principal> {
    principal_under(p, user, None).await
}

/// [`principal_for`], with the grants served from the cache while `stamp` (the access stamp,
/// read before the grants, in the statement that found the token or session) is current.
async fn principal_under(p: &Platform, user: &User, stamp: Option<&str>) -> Result<Principal> {
    let grants = match user.kind {
        AccountKind::Citizen | AccountKind::Business => vec![Grant {
            role: Role::Citizen,
            agency_id: 0,
            agency_path: AgencyPath("/".into()),
        }],
        AccountKind::Official | AccountKind::Service => {
            let cache = p.caches.get::<GrantCache>();
            match stamp.and_then(|stamp| cache.0.get(Some(stamp), &user.id)) {
                Some(grants) => grants,
                None => {
                    let grants = granted(p, user.id).await?;
                    if let Some(stamp) = stamp {
                        cache.0.insert(Some(stamp), user.id, grants.clone());
                    }
                    grants
                }
            }
        }
    };
    Ok(Principal {
        user_id: user.id,
        grants,
        token_scopes: None,
    })
}

/// The roles granted to `user_id`, with each agency's path.
async fn granted(p: &Platform, user_id: i64) -> Result<Vec<Grant>> {
    let rows = sqlx::query("SELECT g.role, g.agency_id, a.path FROM role_grants g JOIN agencies a ON a.id = g.agency_id WHERE g.user_id = $1 ORDER BY g.id")
        .bind(user_id)
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Grant {
                role: Role::parse(&r.try_get::<String, _>(0)?)?,
                agency_id: r.try_get(1)?,
                agency_path: AgencyPath(r.try_get(2)?),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- login and sessions

/// 256 random bits from the operating system, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A freshly opened session. The token goes into the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub token: String,
    pub user: User,
    /// The user must still type a TOTP code (enrolled) before the session is fully open.
    pub needs_totp: bool,
    /// The user holds an administrator role and has not enrolled TOTP yet.
    pub must_enrol_totp: bool,
}

/// Password login. Every failure gives the same generic error, and counts towards lockout.
pub async fn login_password(
    p: &Platform,
    ctx: &Ctx,
    username: &str,
    password: &str,
    user_agent: &str,
) -> Result<NewSession> {
    let username = username.trim().to_lowercase();
    if username.len() > 128 || password.len() > 1024 {
        return Err(Error::domain(
            ErrorCode::InvalidCredentials,
            "invalid username or password",
        ));
    }
    let row = sqlx::query(
        "SELECT id, password_hash, locked_until_ms, disabled FROM users WHERE username = $1",
    )
    .bind(&username)
    .fetch_optional(p.db.pool())
    .await?;
    let (user_id, hash, locked_until, disabled) = match &row {
        Some(r) => (
            Some(r.try_get::<i64, _>(0)?),
            r.try_get::<Option<String>, _>(1)?,
            r.try_get::<i64, _>(2)?,
            r.try_get::<i64, _>(3)? != 0,
        ),
        None => (None, None, 0, false),
    };
    let password_ok = verify_password(password.to_owned(), hash).await;
    let Some(user_id) = user_id else {
        return Err(Error::domain(
            ErrorCode::InvalidCredentials,
            "invalid username or password",
        ));
    };
    if locked_until > ctx.now_ms {
        return Err(Error::domain(
            ErrorCode::AccountLocked,
            "account temporarily locked",
        ));
    }
    if !password_ok || disabled {
        record_failed_login(p, ctx, user_id).await?;
        return Err(Error::domain(
            ErrorCode::InvalidCredentials,
            "invalid username or password",
        ));
    }
    open_session(p, ctx, user_id, user_agent, "session.login").await
}

async fn record_failed_login(p: &Platform, ctx: &Ctx, user_id: i64) -> Result<()> {
    let security = &p.config.security;
    let mut tx = p.db.begin_write().await?;
    let failures: i64 = sqlx::query_scalar(
        "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
    )
    .bind(user_id)
    .fetch_one(&mut *tx.tx)
    .await?;
    let locks = failures >= security.max_failed_logins;
    if locks {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until_ms = $1 WHERE id = $2")
            .bind(ctx.now_ms + security.lockout_minutes * 60_000)
            .bind(user_id)
            .execute(&mut *tx.tx)
            .await?;
    }
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action: if locks {
                "user.locked"
            } else {
                "session.login_failed"
            },
            object_type: "user",
            object_id: &user_id.to_string(),
            before: None,
            after: Some(&serde_json::json!({ "failed_logins": failures })),
        },
    )
    .await?;
    tx.commit().await
}

/// Opens a session for an authenticated user (password or OpenID Connect).
pub async fn open_session(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    user_agent: &str,
    action: &str,
) -> Result<NewSession> {
    let user = user_by_id(p, user_id)
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    let principal = principal_for(p, &user).await?;
    let admin = principal.grants.iter().any(|g| g.role.requires_totp());
    let needs_totp = user.totp_enabled;
    let token = random_token();
    let absolute = p.config.security.session_absolute_hours * 3_600_000;
    let mut tx = p.db.begin_write().await?;
    sqlx::query("UPDATE users SET failed_logins = 0 WHERE id = $1")
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_ms, last_seen_ms, expires_ms, second_factor_done, source_addr, user_agent) VALUES ($1, $2, $3, $3, $4, $5, $6, $7)")
        .bind(token_digest(&token))
        .bind(user_id)
        .bind(ctx.now_ms)
        .bind(ctx.now_ms + absolute)
        .bind(i64::from(!needs_totp))
        .bind(&ctx.source_addr)
        .bind(user_agent.chars().take(256).collect::<String>())
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), _> {
            action,
            object_type: "user",
            object_id: &user_id.to_string(),
            before: None,
            after: Some(&serde_json::json!({ "second_factor_pending": needs_totp })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewSession {
        token,
        user,
        needs_totp,
        must_enrol_totp: admin && !needs_totp,
    })
}

/// A live session as seen by a request.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: String,
    pub user: User,
    pub principal: Principal,
    pub second_factor_done: bool,
    pub created_ms: i64,
}

/// Looks a session up by its cookie token, enforcing the idle and absolute timeouts.
pub async fn session_from_token(
    p: &Platform,
    token: &str,
    now_ms: i64,
) -> Result<Option<SessionInfo>> {
    if token.len() > 128 {
        return Ok(None);
    }
    let token_hash = token_digest(token);
    // The session and its user in one statement: this runs for every page view.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, s.created_ms, s.last_seen_ms, s.expires_ms, s.second_factor_done, (SELECT value FROM settings WHERE key = $2) FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        *JOINED_USER_COLUMNS
    )))
    .bind(&token_hash)
    .bind(ACCESS_STAMP_KEY)
    .fetch_optional(p.db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (created_ms, last_seen, expires): (i64, i64, i64) = (
        row.try_get(AFTER_USER)?,
        row.try_get(AFTER_USER + 1)?,
        row.try_get(AFTER_USER + 2)?,
    );
    let idle = p.config.security.session_idle_minutes * 60_000;
    if now_ms >= expires || now_ms - last_seen >= idle {
        return Ok(None);
    }
    let user = user_from_row(&row)?;
    if user.disabled {
        return Ok(None);
    }
    // Touch at most once a minute: a page view should not cost a write every time. In a
    // write transaction like every write: on SQLite a write on a reader connection would
    // wait in SQLite's busy handler for a writer that hands the lock on without a gap.
    if now_ms - last_seen > 60_000 {
        let mut tx = p.db.begin_write().await?;
        sqlx::query("UPDATE sessions SET last_seen_ms = $1 WHERE token_hash = $2")
            .bind(now_ms)
            .bind(&token_hash)
            .execute(&mut *tx.tx)
            .await?;
        tx.commit().await?;
    }
    let stamp: Option<String> = row.try_get(AFTER_USER + 4)?;
    let principal = principal_under(p, &user, stamp.as_deref()).await?;
    Ok(Some(SessionInfo {
        token_hash,
        second_factor_done: row.try_get::<i64, _>(AFTER_USER + 3)? != 0,
        user,
        principal,
        created_ms,
    }))
}

pub async fn logout(p: &Platform, ctx: &Ctx, session: &SessionInfo) -> Result<()> {
    let mut tx = p.db.begin_write().await?;
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(&session.token_hash)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action: "session.logout",
            object_type: "user",
            object_id: &session.user.id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Ends every session of the user, on every device ("đăng xuất khỏi mọi thiết bị"): the user
/// themself, or whoever administers the account.
pub async fn logout_everywhere(p: &Platform, ctx: &Ctx, user_id: i64) -> Result<u64> {
    if ctx.principal().is_none_or(|pr| pr.user_id != user_id) {
        let user = user_by_id(p, user_id)
            .await?
            .ok_or_else(DomainError::forbidden)?;
        authorize_account_admin(p, ctx, &user).await?;
    }
    let mut tx = p.db.begin_write().await?;
    let ended = delete_sessions_of(&mut tx, user_id).await?;
    p.audit(
        &mut tx,
        ctx,
        Change::after(
            "session.logout_everywhere",
            "user",
            &user_id.to_string(),
            &serde_json::json!({ "sessions_ended": ended }),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

async fn delete_sessions_of(tx: &mut WriteTx, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?
        .rows_affected())
}

// ---------------------------------------------------------------- TOTP

fn totp_for(secret_base32: &str, account: &str) -> Result<totp_rs::TOTP> {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .map_err(|_| Error::Other("stored TOTP secret is not base32".into()))?;
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("Tinh so".into()),
        account.to_owned(),
    )
    .map_err(|e| Error::Other(format!("TOTP setup: {e}")))
}

/// Enrolment, step 1: the pending secret (created on first call, kept until confirmed so a
/// reload or a mistyped code does not invalidate what the user already scanned) and the
/// otpauth URL for the QR code.
pub async fn begin_totp_enrolment(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
) -> Result<(String, String)> {
    let row = sqlx::query("SELECT username, totp_secret, totp_enabled FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(p.db.pool())
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    let (username, pending, enabled): (String, Option<String>, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    if enabled != 0 {
        return Err(Error::domain(
            ErrorCode::Conflict,
            "two-step verification is already on",
        ));
    }
    if let Some(secret) = pending {
        let url = totp_for(&secret, &username)?.get_url();
        return Ok((secret, url));
    }
    let secret = totp_rs::Secret::generate_secret().to_encoded().to_string();
    let url = totp_for(&secret, &username)?.get_url();
    let mut tx = p.db.begin_write().await?;
    sqlx::query(
        "UPDATE users SET totp_secret = $1, updated_ms = $2 WHERE id = $3 AND totp_enabled = 0",
    )
    .bind(&secret)
    .bind(ctx.now_ms)
    .bind(user_id)
    .execute(&mut *tx.tx)
    .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action: "user.totp_begin",
            object_type: "user",
            object_id: &user_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok((secret, url))
}

/// Checks a code against the user's secret, refusing a code already used (replay).
async fn check_totp_code(tx: &mut WriteTx, user_id: i64, code: &str, now_ms: i64) -> Result<()> {
    let row = sqlx::query("SELECT username, totp_secret, totp_last_step FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_one(&mut *tx.tx)
        .await?;
    let (username, secret, last_step): (String, Option<String>, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
    let secret =
        secret.ok_or_else(|| Error::domain(ErrorCode::InvalidTotp, "no TOTP secret enrolled"))?;
    let totp = totp_for(&secret, &username)?;
    let code = code.trim();
    let now_s = u64::try_from(now_ms / 1000).unwrap_or_default();
    // One step of clock drift either way, as RFC 6238 recommends.
    let matched = [now_s.saturating_sub(30), now_s, now_s + 30]
        .into_iter()
        .map(|t| (t / 30, totp.generate(t)))
        .find(|(_, expected)| expected == code);
    let Some((step, _)) = matched else {
        return Err(Error::domain(ErrorCode::InvalidTotp, "wrong code"));
    };
    let step = i64::try_from(step).unwrap_or(i64::MAX);
    if step <= last_step {
        return Err(Error::domain(ErrorCode::InvalidTotp, "code already used"));
    }
    sqlx::query("UPDATE users SET totp_last_step = $1 WHERE id = $2")
        .bind(step)
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

/// Enrolment, step 2: the first correct code activates TOTP.
pub async fn confirm_totp(p: &Platform, ctx: &Ctx, user_id: i64, code: &str) -> Result<()> {
    let mut tx = p.db.begin_write().await?;
    check_totp_code(&mut tx, user_id, code, ctx.now_ms).await?;
    sqlx::query("UPDATE users SET totp_enabled = 1, updated_ms = $1 WHERE id = $2")
        .bind(ctx.now_ms)
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?;
    sqlx::query("UPDATE sessions SET second_factor_done = 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action: "user.totp_enabled",
            object_type: "user",
            object_id: &user_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Second step of login for an enrolled user.
pub async fn complete_totp_login(
    p: &Platform,
    ctx: &Ctx,
    session: &SessionInfo,
    code: &str,
) -> Result<()> {
    let mut tx = p.db.begin_write().await?;
    let checked = check_totp_code(&mut tx, session.user.id, code, ctx.now_ms).await;
    if let Err(e) = checked {
        drop(tx);
        record_failed_login(p, ctx, session.user.id).await?;
        return Err(e);
    }
    sqlx::query("UPDATE sessions SET second_factor_done = 1 WHERE token_hash = $1")
        .bind(&session.token_hash)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action: "session.second_factor",
            object_type: "user",
            object_id: &session.user.id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}

/// Current code for a secret (used by tests and the demo's documentation, never by login).
pub fn totp_code_at(secret_base32: &str, unix_seconds: u64) -> Result<String> {
    Ok(totp_for(secret_base32, "x")?.generate(unix_seconds))
}

// ---------------------------------------------------------------- API tokens

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub scopes: Vec<Action>,
    pub expires_ms: i64,
    pub revoked: bool,
}

fn scopes_to_text(scopes: &[Action]) -> Result<String> {
    serde_json::to_string(scopes).map_err(|e| Error::Other(e.to_string()))
}

/// Who may mint a token: the account itself or its administrator. A token can mint tokens
/// only when it carries the `manage_api_clients` scope, and never wider than its own scopes,
/// so a narrow token cannot widen itself.
async fn authorize_token_issue(
    p: &Platform,
    ctx: &Ctx,
    owner: &User,
    scopes: &[Action],
) -> Result<()> {
    if matches!(ctx.caller, Caller::Local) {
        return Ok(());
    }
    let caller = ctx.principal().ok_or_else(DomainError::forbidden)?;
    if let Some(own_scopes) = &caller.token_scopes {
        let within = scopes.iter().all(|s| own_scopes.contains(s));
        if !own_scopes.contains(&Action::ManageApiClients) || !within {
            return Err(DomainError::forbidden().into());
        }
    }
    if caller.user_id != owner.id {
        authorize_account_admin(p, ctx, owner).await?;
    }
    Ok(())
}

/// Issues a token acting as `user_id` but limited to `scopes`. The plaintext is returned
/// once; only its digest is kept.
pub async fn create_api_token(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    name: &str,
    scopes: &[Action],
    ttl_days: i64,
) -> Result<(ApiToken, String)> {
    if scopes.is_empty() {
        return Err(DomainError::invalid("a token needs at least one scope").into());
    }
    if !(1..=366).contains(&ttl_days) {
        return Err(DomainError::invalid("a token lives 1 to 366 days").into());
    }
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(DomainError::invalid("token name: 1–100 characters").into());
    }
    let owner = user_by_id(p, user_id)
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    authorize_token_issue(p, ctx, &owner, scopes).await?;
    let secret = random_token();
    let expires_ms = ctx.now_ms + ttl_days * 86_400_000;
    let mut tx = p.db.begin_write().await?;
    let id: i64 = sqlx::query_scalar("INSERT INTO api_tokens (token_hash, name, user_id, scopes, created_ms, expires_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
        .bind(token_digest(&secret))
        .bind(name)
        .bind(user_id)
        .bind(scopes_to_text(scopes)?)
        .bind(ctx.now_ms)
        .bind(expires_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    let token = ApiToken {
        id,
        name: name.to_owned(),
        user_id,
        scopes: scopes.to_vec(),
        expires_ms,
        revoked: false,
    };
    p.audit(
        &mut tx,
        ctx,
        Change::after("api_token.create", "api_token", &id.to_string(), &token),
    )
    .await?;
    tx.commit().await?;
    Ok((token, format!("tsk_{secret}")))
}

/// Resolves a bearer token to a principal narrowed to the token's scopes.
pub async fn principal_from_api_token(
    p: &Platform,
    bearer: &str,
    now_ms: i64,
) -> Result<Option<(i64, Principal)>> {
    let Some(secret) = bearer.strip_prefix("tsk_") else {
        return Ok(None);
    };
    if secret.len() > 128 {
        return Ok(None);
    }
    // The token and its user in one statement: this runs for every API call.
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {}, t.id, t.scopes, t.expires_ms, t.revoked, (SELECT value FROM settings WHERE key = $2) FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1",
        *JOINED_USER_COLUMNS
    )))
    .bind(token_digest(secret))
    .bind(ACCESS_STAMP_KEY)
    .fetch_optional(p.db.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let (id, scopes, expires, revoked): (i64, String, i64, i64) = (
        row.try_get(AFTER_USER)?,
        row.try_get(AFTER_USER + 1)?,
        row.try_get(AFTER_USER + 2)?,
        row.try_get(AFTER_USER + 3)?,
    );
    if revoked != 0 || now_ms >= expires {
        return Ok(None);
    }
    let user = user_from_row(&row)?;
    if user.disabled {
        return Ok(None);
    }
    let stamp: Option<String> = row.try_get(AFTER_USER + 4)?;
    let mut principal = principal_under(p, &user, stamp.as_deref()).await?;
    principal.token_scopes =
        Some(serde_json::from_str(&scopes).map_err(|e| Error::Other(e.to_string()))?);
    Ok(Some((id, principal)))
}

pub async fn revoke_api_token(p: &Platform, ctx: &Ctx, token_id: i64) -> Result<()> {
    let owner: Option<i64> = sqlx::query_scalar("SELECT user_id FROM api_tokens WHERE id = $1")
        .bind(token_id)
        .fetch_optional(p.db.pool())
        .await?;
    let owner = owner.ok_or_else(|| DomainError::not_found("token"))?;
    if ctx.principal().is_none_or(|pr| pr.user_id != owner) {
        let user = user_by_id(p, owner)
            .await?
            .ok_or_else(|| DomainError::not_found("user"))?;
        authorize_account_admin(p, ctx, &user).await?;
    }
    let mut tx = p.db.begin_write().await?;
    sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1")
        .bind(token_id)
        .execute(&mut *tx.tx)
        .await?;
    p.audit(
        &mut tx,
        ctx,
        Change::<(), ()> {
            action: "api_token.revoke",
            object_type: "api_token",
            object_id: &token_id.to_string(),
            before: None,
            after: None,
        },
    )
    .await?;
    tx.commit().await
}
