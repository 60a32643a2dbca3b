//! Citizen login through an OpenID Connect provider (the national e-identity, VNeID, in
//! production): discovery, the authorization-code flow with PKCE (S256), `state` and
//! `nonce`, the token exchange, ID-token verification against the provider's JWKS, and the
//! mapping of the verified personal ID number to a citizen account.
//!
//! Pending logins (state → PKCE verifier, nonce, expiry) live in a short-lived cookie sealed
//! with an HMAC under the installation's session key, not in server memory: the cookie binds
//! the callback to the browser that started the login (login CSRF), it survives a restart and
//! works behind several instances, and there is no table to bound or to clean. Its contents
//! are not secret from the user's own browser (the verifier only proves to the provider that
//! whoever redeems the code started the flow); it is `HttpOnly`, `SameSite=Lax`, expires after
//! ten minutes and is cleared by the callback.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tinhso_core::identity::{AccountKind, check_personal_id};
use tinhso_core::{DomainError, ErrorCode};

use crate::audit::Change;
use crate::context::{Caller, Ctx};
use crate::error::{Error, Result};
use crate::identity::{NewSession, NewUser, create_user, open_session, user_by_id};
use crate::{Platform, config::OidcConfig};

/// How long a started login may take before the callback is refused.
pub const PENDING_TTL_MS: i64 = 10 * 60 * 1000;
/// Name of the cookie holding the pending login.
pub const PENDING_COOKIE: &str = "tinhso_oidc";
/// Audit action of a session opened through OpenID Connect.
pub const LOGIN_ACTION: &str = "session.login_oidc";

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESPONSE_BYTES: usize = 256 * 1024;
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);
/// A token signed with an unknown key id refreshes the key set, at most this often.
const JWKS_MIN_REFRESH: Duration = Duration::from_secs(30);
const MAX_CACHED_ISSUERS: usize = 16;
const ALLOWED_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

// ---------------------------------------------------------------- errors

/// Rules naming why a login failed; the web layer picks its message from them.
pub const RULE_UNAVAILABLE: &str = "oidc.unavailable";
pub const RULE_REJECTED: &str = "oidc.rejected";
pub const RULE_PERSONAL_ID: &str = "oidc.personal_id";

/// The provider could not be reached or answered something unusable.
fn unavailable(detail: impl Into<String>) -> Error {
    DomainError::new(ErrorCode::Internal, detail)
        .with_rule(RULE_UNAVAILABLE)
        .into()
}

/// The login itself is refused (state, code, token or account).
fn rejected(detail: impl Into<String>) -> Error {
    DomainError::new(ErrorCode::InvalidCredentials, detail)
        .with_rule(RULE_REJECTED)
        .into()
}

fn config_of(p: &Platform) -> Result<&OidcConfig> {
    let config = &p.config.oidc;
    if config.issuer_url.trim().is_empty() || config.client_id.is_empty() {
        return Err(DomainError::not_found("OpenID Connect login is not configured").into());
    }
    Ok(config)
}

// ---------------------------------------------------------------- HTTP

/// One client for every call to providers: bounded connect and total timeouts, no redirects
/// (an endpoint that redirects is misconfigured, and following it could leak the secret).
fn http() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client.clone());
    }
    let client = reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(HTTP_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("tinhso-oidc")
        .build()
        .map_err(|e| Error::Other(format!("HTTP client: {e}")))?;
    Ok(CLIENT.get_or_init(|| client).clone())
}

/// Reads a response body of at most [`MAX_RESPONSE_BYTES`] as JSON.
async fn read_json<T: serde::de::DeserializeOwned>(
    mut response: reqwest::Response,
    what: &str,
) -> Result<(reqwest::StatusCode, T)> {
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| unavailable(format!("{what}: {e}")))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(unavailable(format!("{what}: response too large")));
        }
        body.extend_from_slice(&chunk);
    }
    let parsed = serde_json::from_slice(&body).map_err(|e| {
        unavailable(format!(
            "{what} (HTTP {status}): not the expected JSON: {e}"
        ))
    })?;
    Ok((status, parsed))
}

async fn get_json<T: serde::de::DeserializeOwned>(url: &str, what: &str) -> Result<T> {
    let response = http()?
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(format!("{what} at {url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(unavailable(format!("{what} at {url}: HTTP {status}")));
    }
    Ok(read_json(response, what).await?.1)
}

/// Provider endpoints must use TLS, except on the loopback interface (tests, local setups).
fn check_endpoint(url: &str, what: &str) -> Result<()> {
    let parsed = url::Url::parse(url).map_err(|e| unavailable(format!("{what} `{url}`: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(unavailable(format!("{what} `{url}` must be an https URL"))),
    }
}

// ---------------------------------------------------------------- discovery

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    userinfo_endpoint: Option<String>,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    authorization_response_iss_parameter_supported: bool,
}

#[derive(Debug)]
struct Provider {
    discovery: Discovery,
    jwks: JwkSet,
    fetched: Instant,
}

type Cache = Mutex<HashMap<String, Arc<Provider>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

fn cached(issuer: &str) -> Option<Arc<Provider>> {
    cache().lock().ok()?.get(issuer).cloned()
}

fn remember(issuer: &str, provider: Arc<Provider>) {
    if let Ok(mut map) = cache().lock() {
        if map.len() >= MAX_CACHED_ISSUERS && !map.contains_key(issuer) {
            map.clear();
        }
        map.insert(issuer.to_owned(), provider);
    }
}

fn normalised(issuer: &str) -> &str {
    issuer.trim().trim_end_matches('/')
}

/// The provider's metadata and keys, from the cache when fresh (one hour).
async fn provider(issuer: &str) -> Result<Arc<Provider>> {
    if let Some(found) = cached(issuer).filter(|p| p.fetched.elapsed() < DISCOVERY_TTL) {
        return Ok(found);
    }
    let base = normalised(issuer);
    check_endpoint(base, "issuer")?;
    let discovery: Discovery = get_json(
        &format!("{base}/.well-known/openid-configuration"),
        "OpenID Connect discovery",
    )
    .await?;
    // The document must describe the issuer we were configured with (OpenID Connect
    // Discovery 1.0, §4.3), else a compromised document could vouch for someone else.
    if normalised(&discovery.issuer) != base {
        return Err(unavailable(format!(
            "discovery names issuer `{}`, configured `{issuer}`",
            discovery.issuer
        )));
    }
    check_endpoint(&discovery.authorization_endpoint, "authorization endpoint")?;
    check_endpoint(&discovery.token_endpoint, "token endpoint")?;
    check_endpoint(&discovery.jwks_uri, "JWKS URI")?;
    if let Some(userinfo) = &discovery.userinfo_endpoint {
        check_endpoint(userinfo, "userinfo endpoint")?;
    }
    if !discovery.code_challenge_methods_supported.is_empty()
        && !discovery
            .code_challenge_methods_supported
            .iter()
            .any(|m| m == "S256")
    {
        return Err(unavailable("the provider does not support PKCE with S256"));
    }
    let jwks: JwkSet = get_json(&discovery.jwks_uri, "JWKS").await?;
    let fresh = Arc::new(Provider {
        discovery,
        jwks,
        fetched: Instant::now(),
    });
    remember(issuer, fresh.clone());
    Ok(fresh)
}

/// Re-reads the key set (the provider rotated its keys), at most every 30 seconds.
async fn refresh_jwks(issuer: &str, current: &Arc<Provider>) -> Result<Arc<Provider>> {
    if current.fetched.elapsed() < JWKS_MIN_REFRESH {
        return Ok(current.clone());
    }
    let jwks: JwkSet = get_json(&current.discovery.jwks_uri, "JWKS").await?;
    let fresh = Arc::new(Provider {
        discovery: current.discovery.clone(),
        jwks,
        fetched: Instant::now(),
    });
    remember(issuer, fresh.clone());
    Ok(fresh)
}

// ---------------------------------------------------------------- pending login (cookie)

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Pending {
    /// Issuer the login was started with: a configuration change voids pending logins.
    iss: String,
    state: String,
    verifier: String,
    nonce: String,
    exp_ms: i64,
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn seal_mac(key: &[u8], payload: &str) -> Result<Hmac<Sha256>> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| Error::Other(format!("HMAC key: {e}")))?;
    mac.update(b"tinhso-oidc-pending\0");
    mac.update(payload.as_bytes());
    Ok(mac)
}

fn seal(key: &[u8], pending: &Pending) -> Result<String> {
    let json = serde_json::to_vec(pending).map_err(|e| Error::Other(e.to_string()))?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let tag = seal_mac(key, &payload)?.finalize().into_bytes();
    Ok(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(tag)))
}

fn open_sealed(key: &[u8], value: &str, now_ms: i64) -> Result<Pending> {
    let refused = || rejected("missing, altered or expired login state");
    let (payload, tag) = value.split_once('.').ok_or_else(refused)?;
    let tag = URL_SAFE_NO_PAD.decode(tag).map_err(|_| refused())?;
    seal_mac(key, payload)?
        .verify_slice(&tag)
        .map_err(|_| refused())?;
    let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| refused())?;
    let pending: Pending = serde_json::from_slice(&json).map_err(|_| refused())?;
    if now_ms >= pending.exp_ms {
        return Err(refused());
    }
    Ok(pending)
}

fn redirect_uri(p: &Platform) -> String {
    format!(
        "{}/login/oidc/callback",
        p.config.server.public_url.trim_end_matches('/')
    )
}

/// Where to send the browser, and the cookie value holding the pending login.
#[derive(Debug, Clone)]
pub struct LoginStart {
    pub authorization_url: String,
    pub pending_cookie: String,
}

/// Starts a login: fresh `state`, `nonce` and PKCE verifier, sealed into the cookie value.
pub async fn begin_login(p: &Platform, now_ms: i64) -> Result<LoginStart> {
    let config = config_of(p)?;
    let provider = provider(&config.issuer_url).await?;
    let pending = Pending {
        iss: normalised(&config.issuer_url).to_owned(),
        state: random_b64(32),
        verifier: random_b64(32),
        nonce: random_b64(32),
        exp_ms: now_ms + PENDING_TTL_MS,
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(pending.verifier.as_bytes()));
    let mut url = url::Url::parse(&provider.discovery.authorization_endpoint)
        .map_err(|e| unavailable(format!("authorization endpoint: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &config.client_id)
        .append_pair("redirect_uri", &redirect_uri(p))
        .append_pair("scope", "openid profile")
        .append_pair("state", &pending.state)
        .append_pair("nonce", &pending.nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    Ok(LoginStart {
        authorization_url: url.into(),
        pending_cookie: seal(&p.session_key, &pending)?,
    })
}

// ---------------------------------------------------------------- callback

/// The query of the redirect back from the provider.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CallbackParams {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// Finishes a login: checks the state against the sealed cookie, redeems the code, verifies
/// the ID token, finds or creates the citizen's account and opens a session.
pub async fn complete_login(
    p: &Platform,
    ctx: &Ctx,
    pending_cookie: Option<&str>,
    params: &CallbackParams,
    user_agent: &str,
) -> Result<NewSession> {
    let config = config_of(p)?;
    let pending = open_sealed(
        &p.session_key,
        pending_cookie.unwrap_or_default(),
        ctx.now_ms,
    )?;
    let state_ok = params.state.as_deref().is_some_and(|s| {
        s.len() == pending.state.len()
            && s.bytes()
                .zip(pending.state.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    });
    if !state_ok || pending.iss != normalised(&config.issuer_url) {
        return Err(rejected("state does not match the login started here"));
    }
    if let Some(error) = &params.error {
        return Err(rejected(format!(
            "the provider refused: {error} {}",
            params.error_description.as_deref().unwrap_or_default()
        )));
    }
    let provider = provider(&config.issuer_url).await?;
    // RFC 9207: the authorization response names its issuer (mix-up defence).
    match &params.iss {
        Some(iss) if *iss != provider.discovery.issuer => {
            return Err(rejected(format!("callback from issuer `{iss}`")));
        }
        None if provider
            .discovery
            .authorization_response_iss_parameter_supported =>
        {
            return Err(rejected("callback without the `iss` parameter"));
        }
        _ => {}
    }
    let code = params
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= 2048)
        .ok_or_else(|| rejected("callback without a code"))?;
    let tokens = exchange_code(p, config, &provider, code, &pending.verifier).await?;
    let id_token = tokens
        .id_token
        .as_deref()
        .ok_or_else(|| rejected("token response without an ID token"))?;
    let userinfo = provider.discovery.userinfo_endpoint.clone();
    let mut claims = verify_id_token(
        config,
        &config.issuer_url,
        provider,
        id_token,
        &pending.nonce,
    )
    .await?;
    // In the code flow many providers serve profile claims from the userinfo endpoint only.
    let personal_claim = personal_claim_name(config);
    if (!claims.contains_key(personal_claim) || !claims.contains_key("name"))
        && let (Some(access_token), Some(endpoint)) =
            (tokens.access_token.as_deref(), userinfo.as_deref())
    {
        merge_userinfo(&mut claims, endpoint, access_token).await?;
    }
    let issuer = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let subject = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let personal_id = personal_id_of(&claims, personal_claim)?;
    let name = claims
        .get("name")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(|n| n.chars().take(200).collect::<String>())
        .unwrap_or_else(|| personal_id.clone());
    let user_id = citizen_for(p, ctx, &issuer, &subject, &personal_id, &name).await?;
    open_session(p, ctx, user_id, user_agent, LOGIN_ACTION).await
}

fn personal_claim_name(config: &OidcConfig) -> &str {
    match config.personal_id_claim.trim() {
        "" => "personal_id",
        name => name,
    }
}

/// The 12-digit personal ID: the configured claim, else `sub` when it is 12 digits.
fn personal_id_of(claims: &Map<String, Value>, claim: &str) -> Result<String> {
    let candidate = match claims.get(claim) {
        Some(Value::String(s)) => s.trim().to_owned(),
        Some(_) => {
            return Err(personal_id_error(format!(
                "claim `{claim}` is not a string"
            )));
        }
        None => claims
            .get("sub")
            .and_then(Value::as_str)
            .filter(|s| s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()))
            .map(str::to_owned)
            .ok_or_else(|| personal_id_error(format!("no `{claim}` claim")))?,
    };
    check_personal_id(&candidate)
        .map_err(|e| personal_id_error(format!("claim `{claim}`: {}", e.detail)))?;
    Ok(candidate)
}

fn personal_id_error(detail: String) -> Error {
    DomainError::invalid(detail)
        .with_rule(RULE_PERSONAL_ID)
        .into()
}

async fn exchange_code(
    p: &Platform,
    config: &OidcConfig,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<TokenResponse> {
    let methods = &provider.discovery.token_endpoint_auth_methods_supported;
    // The default when the provider advertises nothing is client_secret_basic (Discovery §3).
    let basic = methods.is_empty() || methods.iter().any(|m| m == "client_secret_basic");
    if !basic && !methods.iter().any(|m| m == "client_secret_post") {
        return Err(unavailable(format!(
            "the token endpoint supports neither client_secret_basic nor client_secret_post ({methods:?})"
        )));
    }
    let redirect = redirect_uri(p);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", verifier),
    ];
    let mut request = http()?
        .post(&provider.discovery.token_endpoint)
        .header(reqwest::header::ACCEPT, "application/json");
    if basic {
        // RFC 6749 §2.3.1: both parts form-urlencoded before the Basic encoding.
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            enc(&config.client_id),
            enc(&config.client_secret)
        ));
        request = request.header(
            reqwest::header::AUTHORIZATION,
            format!("Basic {credentials}"),
        );
    } else {
        form.push(("client_id", &config.client_id));
        form.push(("client_secret", &config.client_secret));
    }
    let response = request
        .form(&form)
        .send()
        .await
        .map_err(|e| unavailable(format!("token endpoint: {e}")))?;
    let (status, tokens): (_, TokenResponse) = read_json(response, "token endpoint").await?;
    if !status.is_success() || tokens.error.is_some() {
        return Err(rejected(format!(
            "token endpoint (HTTP {status}): {} {}",
            tokens.error.as_deref().unwrap_or_default(),
            tokens.error_description.as_deref().unwrap_or_default()
        )));
    }
    Ok(tokens)
}

/// Verifies the ID token's signature against the provider's keys, and its `iss`, `aud`,
/// `exp`, `azp` and `nonce`. Returns its claims.
async fn verify_id_token(
    config: &OidcConfig,
    issuer_key: &str,
    provider: Arc<Provider>,
    id_token: &str,
    nonce: &str,
) -> Result<Map<String, Value>> {
    let header = jsonwebtoken::decode_header(id_token)
        .map_err(|e| rejected(format!("ID token header: {e}")))?;
    if !ALLOWED_ALGORITHMS.contains(&header.alg) {
        return Err(rejected(format!(
            "ID token signed with {:?}, not allowed",
            header.alg
        )));
    }
    let mut provider = provider;
    let mut key = signing_key(&provider.jwks, header.kid.as_deref(), header.alg)?;
    if key.is_none() {
        provider = refresh_jwks(issuer_key, &provider).await?;
        key = signing_key(&provider.jwks, header.kid.as_deref(), header.alg)?;
    }
    let key = key.ok_or_else(|| rejected("ID token signed with an unknown key"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[&provider.discovery.issuer]);
    validation.set_audience(&[&config.client_id]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    validation.leeway = 60;
    let data = jsonwebtoken::decode::<Map<String, Value>>(id_token, &key, &validation)
        .map_err(|e| rejected(format!("ID token: {e}")))?;
    let claims = data.claims;
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(rejected("ID token nonce does not match"));
    }
    let several_audiences = claims
        .get("aud")
        .and_then(Value::as_array)
        .is_some_and(|a| a.len() > 1);
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != config.client_id => {
            return Err(rejected(format!("ID token issued to `{azp}`")));
        }
        None if several_audiences => {
            return Err(rejected("ID token with several audiences and no azp"));
        }
        _ => {}
    }
    if claims
        .get("sub")
        .and_then(Value::as_str)
        .is_none_or(|s| s.is_empty() || s.len() > 255)
    {
        return Err(rejected("ID token without a usable sub"));
    }
    Ok(claims)
}

/// The key that signed a token: by key id, or the only signing key fit for the algorithm.
fn signing_key(jwks: &JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<Option<DecodingKey>> {
    let fits = |jwk: &&jsonwebtoken::jwk::Jwk| {
        jwk.is_supported()
            && jwk
                .common
                .public_key_use
                .as_ref()
                .is_none_or(|u| *u == jsonwebtoken::jwk::PublicKeyUse::Signature)
            && jwk
                .common
                .key_algorithm
                .is_none_or(|a| a.to_string() == format!("{alg:?}"))
    };
    let chosen = match kid {
        Some(kid) => jwks.find(kid).filter(|j| fits(j)),
        None => {
            let mut candidates = jwks.keys.iter().filter(|j| fits(j));
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    };
    chosen
        .map(|jwk| DecodingKey::from_jwk(jwk).map_err(|e| rejected(format!("provider key: {e}"))))
        .transpose()
}

/// Adds the userinfo endpoint's claims that the ID token lacked; its `sub` must match.
async fn merge_userinfo(
    claims: &mut Map<String, Value>,
    endpoint: &str,
    access_token: &str,
) -> Result<()> {
    let response = http()?
        .get(endpoint)
        .bearer_auth(access_token)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unavailable(format!("userinfo endpoint: {e}")))?;
    let (status, info): (_, Map<String, Value>) = read_json(response, "userinfo endpoint").await?;
    if !status.is_success() {
        return Err(unavailable(format!("userinfo endpoint: HTTP {status}")));
    }
    if info.get("sub") != claims.get("sub") {
        return Err(rejected("userinfo is about another subject"));
    }
    for (name, value) in info {
        claims.entry(name).or_insert(value);
    }
    Ok(())
}

// ---------------------------------------------------------------- accounts

/// The platform acting on a verified assertion of the identity provider.
fn oidc_ctx(ctx: &Ctx) -> Ctx {
    Ctx {
        actor: "oidc".into(),
        caller: Caller::Local,
        request_id: ctx.request_id.clone(),
        source_addr: ctx.source_addr.clone(),
        now_ms: ctx.now_ms,
    }
}

async fn user_id_by_subject(p: &Platform, issuer: &str, subject: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM users WHERE oidc_issuer = $1 AND oidc_subject = $2")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(p.db.pool())
            .await?,
    )
}

/// The provider link recorded on an account: (issuer, subject), both empty when unlinked.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
struct Link {
    oidc_issuer: String,
    oidc_subject: String,
}

/// (id, current link) of the citizen account with this personal ID.
async fn citizen_by_personal_id(p: &Platform, personal_id: &str) -> Result<Option<(i64, Link)>> {
    let row = sqlx::query(
        "SELECT id, oidc_issuer, oidc_subject FROM users WHERE personal_id = $1 AND kind = $2",
    )
    .bind(personal_id)
    .bind(AccountKind::Citizen.as_str())
    .fetch_optional(p.db.pool())
    .await?;
    row.map(|r| {
        Ok((
            r.try_get(0)?,
            Link {
                oidc_issuer: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                oidc_subject: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
            },
        ))
    })
    .transpose()
}

/// Finds the citizen's account (by provider subject, then by personal ID) or creates it, and
/// records the provider's subject on it. Returns the account id.
///
/// The personal ID is the key: the configured provider is trusted to assert it. An account
/// already linked to another subject of the same issuer is refused (the provider would be
/// giving one person two identities); a link to a different issuer is replaced, since that
/// only happens when the installation moved to a new provider (audited with before/after).
async fn citizen_for(
    p: &Platform,
    ctx: &Ctx,
    issuer: &str,
    subject: &str,
    personal_id: &str,
    name: &str,
) -> Result<i64> {
    let octx = oidc_ctx(ctx);
    let wanted = Link {
        oidc_issuer: issuer.to_owned(),
        oidc_subject: subject.to_owned(),
    };
    let user_id = match user_id_by_subject(p, issuer, subject).await? {
        Some(id) => id,
        None => {
            let (id, link) = match citizen_by_personal_id(p, personal_id).await? {
                Some(found) => found,
                None => match create_citizen(p, &octx, personal_id, name).await {
                    Ok(id) => (id, Link::default()),
                    // Two logins of the same person raced; the other one created it.
                    Err(e) if e.code() == ErrorCode::Conflict => {
                        citizen_by_personal_id(p, personal_id).await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                },
            };
            if link.oidc_issuer == issuer && !link.oidc_subject.is_empty() {
                return Err(rejected(format!(
                    "account {id} with this personal ID is linked to subject `{}` of this issuer, not `{subject}`",
                    link.oidc_subject
                )));
            }
            link_subject(p, &octx, id, &link, &wanted).await?;
            id
        }
    };
    let user = user_by_id(p, user_id)
        .await?
        .ok_or_else(|| DomainError::not_found("user"))?;
    if user.kind != AccountKind::Citizen || user.personal_id.as_deref() != Some(personal_id) {
        return Err(rejected(format!(
            "account {user_id} linked to {issuer}/{subject} does not hold this personal ID"
        )));
    }
    // A password lockout does not apply: it slows down password guessing, and the provider's
    // assertion is no guess. A disabled account stays closed.
    if user.disabled {
        return Err(rejected(format!("account {user_id} is disabled")));
    }
    Ok(user_id)
}

async fn create_citizen(p: &Platform, ctx: &Ctx, personal_id: &str, name: &str) -> Result<i64> {
    let user = create_user(
        p,
        ctx,
        &NewUser {
            kind: AccountKind::Citizen,
            username: String::new(),
            display_name: name.to_owned(),
            personal_id: Some(personal_id.to_owned()),
            tax_code: None,
            email: String::new(),
            phone: String::new(),
            agency_id: None,
            password: None,
            must_change_password: false,
        },
    )
    .await?;
    Ok(user.id)
}

/// Records the provider's subject on an account (audited as `user.oidc_link`), provided the
/// account's link is still `before`.
async fn link_subject(
    p: &Platform,
    ctx: &Ctx,
    user_id: i64,
    before: &Link,
    after: &Link,
) -> Result<()> {
    let mut tx = p.db.begin_write().await?;
    let changed = sqlx::query("UPDATE users SET oidc_issuer = $1, oidc_subject = $2, updated_ms = $3 WHERE id = $4 AND COALESCE(oidc_issuer, '') = $5 AND COALESCE(oidc_subject, '') = $6")
        .bind(&after.oidc_issuer)
        .bind(&after.oidc_subject)
        .bind(ctx.now_ms)
        .bind(user_id)
        .bind(&before.oidc_issuer)
        .bind(&before.oidc_subject)
        .execute(&mut *tx.tx)
        .await
        .map_err(|e| match Error::from(e) {
            err if err.code() == ErrorCode::Conflict => rejected(format!(
                "subject {}/{} is already linked to another account",
                after.oidc_issuer, after.oidc_subject
            )),
            err => err,
        })?
        .rows_affected();
    if changed == 0 {
        return Err(rejected(format!(
            "the provider link of account {user_id} changed meanwhile"
        )));
    }
    let unlinked = before.oidc_subject.is_empty();
    p.audit(
        &mut tx,
        ctx,
        Change {
            action: "user.oidc_link",
            object_type: "user",
            object_id: &user_id.to_string(),
            before: (!unlinked).then_some(before),
            after: Some(after),
        },
    )
    .await?;
    tx.commit().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pending(exp_ms: i64) -> Pending {
        Pending {
            iss: "https://id.example".into(),
            state: "s".into(),
            verifier: "v".into(),
            nonce: "n".into(),
            exp_ms,
        }
    }

    #[test]
    fn sealed_state_round_trips_and_resists_tampering() {
        let key = b"k".repeat(32);
        let sealed = seal(&key, &pending(1_000)).unwrap();
        assert_eq!(open_sealed(&key, &sealed, 999).unwrap().state, "s");
        assert!(open_sealed(&key, &sealed, 1_000).is_err(), "expired");
        assert!(
            open_sealed(&b"x".repeat(32), &sealed, 0).is_err(),
            "other key"
        );
        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&pending(i64::MAX)).unwrap());
        assert!(open_sealed(&key, &format!("{forged}.{tag}"), 0).is_err());
        assert!(open_sealed(&key, payload, 0).is_err());
        assert!(open_sealed(&key, "", 0).is_err());
    }

    #[test]
    fn personal_id_from_claim_or_numeric_sub() {
        let claims = |v: Value| v.as_object().cloned().unwrap();
        let id = "079200001234";
        assert_eq!(
            personal_id_of(
                &claims(serde_json::json!({"personal_id": id, "sub": "x"})),
                "personal_id"
            )
            .unwrap(),
            id
        );
        assert_eq!(
            personal_id_of(&claims(serde_json::json!({"sub": id})), "personal_id").unwrap(),
            id
        );
        assert!(personal_id_of(&claims(serde_json::json!({"sub": "abc"})), "personal_id").is_err());
        assert!(
            personal_id_of(
                &claims(serde_json::json!({"personal_id": "12"})),
                "personal_id"
            )
            .is_err()
        );
    }

    #[test]
    fn endpoints_need_tls_off_loopback() {
        assert!(check_endpoint("https://id.example/auth", "x").is_ok());
        assert!(check_endpoint("http://127.0.0.1:9/auth", "x").is_ok());
        assert!(check_endpoint("http://id.example/auth", "x").is_err());
    }
}
