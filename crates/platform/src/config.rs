//! The one typed configuration of Tỉnh số.
//!
//! Layers, later wins: built-in defaults → TOML file → `TINHSO_<SECTION>__<KEY>` environment
//! variables. Unknown keys are rejected with the key named (a typo must never be silently
//! ignored in a system that computes legal deadlines). Secrets are redacted whenever the
//! configuration is printed or logged.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub blobs: BlobConfig,
    pub security: SecurityConfig,
    pub limits: LimitsConfig,
    pub oidc: OidcConfig,
    pub log: LogConfig,
    pub notify: NotifyConfig,
    pub payment: PaymentConfig,
    pub scanner: ScannerConfig,
    pub national_portal: NationalPortalConfig,
    pub outbox: OutboxConfig,
    pub search: SearchConfig,
    pub signing: SigningConfig,
    pub exchange: ExchangeConfig,
}

/// Digital signatures: whose certificates are trusted, the installation's signing key and
/// the timestamp authority (`tinhso-signing`, `tinhso-edxml`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SigningConfig {
    /// PEM files of the certification authorities whose certificates are trusted (e.g. the
    /// government CA's root and intermediates). A signature whose certificate does not chain
    /// to one of them is reported as untrusted: a warning in `tinhso edxml validate`, an
    /// error with `--require-trusted`.
    pub trust_anchors: Vec<PathBuf>,
    /// The organisation's signing key and certificate chain (PKCS#12), used when the server
    /// signs a released document or an outgoing edXML package. Empty: the server does not
    /// sign (`serve --demo` makes a test CA and key in the data directory instead).
    pub pkcs12_path: PathBuf,
    /// Password of `pkcs12_path`; redacted whenever the configuration is printed; prefer
    /// `TINHSO_SIGNING__PKCS12_PASSWORD`.
    pub pkcs12_password: String,
    /// RFC 3161 timestamp authority. Set: PDF signatures are PAdES B-T (with a timestamp
    /// token); empty: PAdES B-B.
    pub timestamp_url: String,
}

impl SigningConfig {
    fn validate(&self) -> Result<()> {
        if self.timestamp_url.is_empty() {
            return Ok(());
        }
        match url::Url::parse(&self.timestamp_url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                Ok(())
            }
            _ => Err(Error::Config(format!(
                "`signing.timestamp_url` must be an http:// or https:// URL (got `{}`)",
                redact_url(&self.timestamp_url)
            ))),
        }
    }
}

/// The full-text search index behind the procedure search (`platform::search`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// `embedded`: an in-memory index inside each `tinhso` process, rebuilt from the
    /// database when the indexed data changes. The port is the seam for other engines.
    pub backend: String,
}

impl Default for SearchConfig {
    fn default() -> Self {
        Self {
            backend: "embedded".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address of the public web server.
    pub listen: String,
    /// Address of the admin listener (metrics); keep it on loopback or a management network.
    pub admin_listen: String,
    /// Base URL the public sees (used in links, QR codes, OpenID Connect redirects).
    pub public_url: String,
    /// Directory for the SQLite database, local blobs and generated keys.
    pub data_dir: PathBuf,
    /// Addresses of reverse proxies in front of Tỉnh số. Only a request arriving from one of
    /// them has its `X-Forwarded-For` believed; otherwise every client behind the proxy would
    /// share one address (one rate-limit bucket, one address in the audit trail).
    pub trusted_proxies: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; empty = SQLite file `tinhso.db` in the data directory.
    pub url: String,
    pub max_connections: u32,
    /// SQLite durability: `full` (the default: a write is acknowledged only once it is on
    /// disk, so it survives power loss; concurrent commits share one flush of the WAL) or
    /// `normal` (no flush before acknowledging: a crashed process loses nothing, a power loss
    /// may take the last writes).
    pub sqlite_synchronous: String,
    /// How much lower than SQLite's writer thread the server's async workers run on SQLite
    /// (a `nice` increment, 0–19; 0 = the same). Every write waits for the one writer, so
    /// under load the writer running first shortens every write's wait (see
    /// [`crate::runtime`]).
    pub sqlite_worker_nice: i32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BlobConfig {
    /// `local` (a directory, the default) or `s3` (any S3-compatible object storage: AWS,
    /// MinIO, Ceph, the object storage of Vietnamese cloud providers).
    pub backend: String,
    /// Directory for the local backend; empty = `blobs` inside the data directory.
    pub dir: PathBuf,
    /// S3 endpoint URL, e.g. `https://s3.ap-southeast-1.amazonaws.com` or
    /// `http://10.0.0.5:9000` (required for `s3`).
    pub s3_endpoint: String,
    /// S3 region used in request signatures; S3-compatible servers usually accept
    /// `us-east-1` (required for `s3`).
    pub s3_region: String,
    /// Bucket holding the blobs; it must exist (required for `s3`).
    pub s3_bucket: String,
    /// Prefix put before every blob key inside the bucket, e.g. `tinhso/`; empty = none.
    pub s3_prefix: String,
    /// Access key id (required for `s3`).
    pub s3_access_key: String,
    /// Secret access key (required for `s3`); prefer `TINHSO_BLOBS__S3_SECRET_KEY` over the
    /// file. Redacted whenever the configuration is printed.
    pub s3_secret_key: String,
    /// Path-style URLs (`endpoint/bucket/key`), which MinIO, Ceph and servers reached by IP
    /// address need; `false` = virtual-hosted style (`bucket.endpoint/key`).
    pub s3_path_style: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Mark cookies `Secure`. Browsers honour Secure cookies on http://127.0.0.1 and
    /// http://localhost, so this stays on even for the demo.
    pub secure_cookies: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub max_failed_logins: i64,
    pub lockout_minutes: i64,
    /// Attempts per minute one source address may make at the login form.
    pub login_rate_per_minute: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body accepted (bytes); larger requests get 413.
    pub max_body_bytes: usize,
    pub request_timeout_seconds: u64,
    /// Largest file one upload may carry (bytes); the upload route has this limit instead of
    /// `max_body_bytes`. Keep clamd's `StreamMaxLength` at least this large.
    pub max_upload_bytes: usize,
    /// Uploads one account may hold that are not yet attached to a dossier; more are refused
    /// until some are used (an upload costs storage and a scan).
    pub max_pending_uploads: u32,
}

/// The malware scanner every upload passes before it is stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ScannerConfig {
    /// `none` (no scanning: development only) or `clamd` (ClamAV's daemon, INSTREAM). With
    /// `clamd`, an upload is refused when the daemon cannot be reached: never stored unscanned.
    pub backend: String,
    /// clamd's address: `host:port` (TCP, e.g. `127.0.0.1:3310`) or the path of its unix
    /// socket (e.g. `/run/clamav/clamd.ctl`, optionally written `unix:/run/…`).
    pub address: String,
    /// How long one scan may take, connection included.
    pub timeout_seconds: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcConfig {
    /// Issuer URL of the citizens' identity provider (the national e-identity in
    /// production); empty disables the "log in with e-identity" button.
    pub issuer_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Claim that carries the 12-digit personal ID number.
    pub personal_id_claim: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `text` for people, `json` for log shippers.
    pub format: String,
    /// tracing filter, e.g. `info` or `tinhso=debug,info`.
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// How e-mail leaves: `file` (one file per message in `file_dir`, the demo default) or
    /// `smtp`.
    pub email: String,
    /// How SMS leave: `file` (the demo default) or `http` (POST JSON to `sms_url`).
    pub sms: String,
    /// Directory of the file sink; empty = `outbox-sink` inside the data directory.
    pub file_dir: PathBuf,
    /// SMTP relay host (required for `email = "smtp"`).
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none` (plain SMTP: loopback relays and tests only), `starttls` or `tls` (implicit TLS).
    pub smtp_tls: String,
    /// SMTP login; empty = no authentication.
    pub smtp_username: String,
    /// Redacted whenever the configuration is printed; prefer `TINHSO_NOTIFY__SMTP_PASSWORD`.
    pub smtp_password: String,
    /// Sender of e-mail, e.g. `Tỉnh số <khong-tra-loi@tinhso.gov.vn>`.
    pub from_address: String,
    /// URL of the SMS gateway (required for `sms = "http"`).
    pub sms_url: String,
    /// Bearer token for the SMS gateway; redacted whenever the configuration is printed.
    pub sms_token: String,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        Self {
            email: "file".into(),
            sms: "file".into(),
            file_dir: PathBuf::new(),
            smtp_host: String::new(),
            smtp_port: 587,
            smtp_tls: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            from_address: "Tỉnh số <khong-tra-loi@tinhso.local>".into(),
            sms_url: String::new(),
            sms_token: String::new(),
        }
    }
}

impl NotifyConfig {
    fn validate(&self) -> Result<()> {
        match self.email.as_str() {
            "file" => {}
            "smtp" => {
                if self.smtp_host.trim().is_empty() {
                    return Err(Error::Config(
                        "`notify.email = \"smtp\"` needs `notify.smtp_host`".into(),
                    ));
                }
                if self.smtp_port == 0 {
                    return Err(Error::Config("`notify.smtp_port` must not be 0".into()));
                }
            }
            other => {
                return Err(Error::Config(format!(
                    "`notify.email` must be `file` or `smtp` (got `{other}`)"
                )));
            }
        }
        if !matches!(self.smtp_tls.as_str(), "none" | "starttls" | "tls") {
            return Err(Error::Config(
                "`notify.smtp_tls` must be `none`, `starttls` or `tls`".into(),
            ));
        }
        if self
            .from_address
            .parse::<lettre::message::Mailbox>()
            .is_err()
        {
            return Err(Error::Config(format!(
                "`notify.from_address` is not an e-mail address (got `{}`)",
                self.from_address
            )));
        }
        match self.sms.as_str() {
            "file" => Ok(()),
            "http" => match url::Url::parse(&self.sms_url) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                    Ok(())
                }
                _ => Err(Error::Config(format!(
                    "`notify.sms = \"http\"` needs `notify.sms_url`, an http:// or https:// URL (got `{}`)",
                    redact_url(&self.sms_url)
                ))),
            },
            other => Err(Error::Config(format!(
                "`notify.sms` must be `file` or `http` (got `{other}`)"
            ))),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentConfig {
    /// `sandbox` (the demo default: a gateway served by `tinhso serve` itself under
    /// `/sandbox/payment`, running the full signed protocol) or `gateway` (a real
    /// VNPay-style gateway at `gateway_url`).
    pub backend: String,
    /// The gateway's payment page; empty with the sandbox = `{server.public_url}/sandbox/payment`.
    pub gateway_url: String,
    /// The merchant (terminal) code the gateway issued.
    pub merchant_code: String,
    /// The shared signing secret (required for `gateway`; for the sandbox, empty = derived
    /// from the installation keys). Redacted whenever the configuration is printed; prefer
    /// `TINHSO_PAYMENT__SECRET`.
    pub secret: String,
    /// Where the gateway's server-to-server callback (IPN) arrives; empty =
    /// `{server.public_url}/api/v1/payments/callback`. Register it with the gateway.
    pub ipn_url: String,
}

impl Default for PaymentConfig {
    fn default() -> Self {
        Self {
            backend: "sandbox".into(),
            gateway_url: String::new(),
            merchant_code: "TINHSO01".into(),
            secret: String::new(),
            ipn_url: String::new(),
        }
    }
}

impl PaymentConfig {
    fn validate(&self) -> Result<()> {
        let http_url = |u: &str| {
            url::Url::parse(u).is_ok_and(|url| {
                matches!(url.scheme(), "http" | "https") && url.host_str().is_some()
            })
        };
        match self.backend.as_str() {
            "sandbox" => {}
            "gateway" => {
                if !http_url(&self.gateway_url) || self.secret.trim().is_empty() {
                    return Err(Error::Config(
                        "`payment.backend = \"gateway\"` needs `payment.gateway_url` (an http:// or https:// URL) and `payment.secret`".into(),
                    ));
                }
            }
            other => {
                return Err(Error::Config(format!(
                    "`payment.backend` must be `sandbox` or `gateway` (got `{other}`)"
                )));
            }
        }
        let code_ok = !self.merchant_code.is_empty()
            && self.merchant_code.len() <= 32
            && self
                .merchant_code
                .bytes()
                .all(|b| b.is_ascii_alphanumeric());
        if !code_ok {
            return Err(Error::Config(
                "`payment.merchant_code` must be 1–32 letters or digits".into(),
            ));
        }
        if !self.ipn_url.is_empty() && !http_url(&self.ipn_url) {
            return Err(Error::Config(
                "`payment.ipn_url` must be an http:// or https:// URL".into(),
            ));
        }
        Ok(())
    }
}

/// The connector to the national public-service portal (Cổng DVCQG, vn-standards §5.5): when
/// enabled, every dossier event is synchronised (`DongBoHoSoMC`, `CapNhatTienDoHoSoMC`)
/// through the outbox.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct NationalPortalConfig {
    /// Off by default: nothing is queued for the portal until an installation is registered.
    pub enabled: bool,
    /// Base URL of the portal's integration adapter, e.g. `https://api.dichvucong.gov.vn`.
    pub url: String,
    /// Login endpoint, appended to `url`; it takes `{username, password}` and answers
    /// `{session, error_code: 0}`.
    pub auth_path: String,
    /// Endpoint of the service calls (`{"service": …}`), appended to `url`.
    pub service_path: String,
    pub username: String,
    /// Redacted whenever the configuration is printed; prefer
    /// `TINHSO_NATIONAL_PORTAL__PASSWORD`.
    pub password: String,
    /// The province's agency identifier at the portal (`MaDinhDanhDV`), sent with every call.
    pub agency_code: String,
    /// Timeout of one HTTP call; below the outbox lease.
    pub timeout_seconds: u64,
}

impl Default for NationalPortalConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            url: String::new(),
            auth_path: "/auth".into(),
            service_path: "/service".into(),
            username: String::new(),
            password: String::new(),
            agency_code: String::new(),
            timeout_seconds: 30,
        }
    }
}

impl NationalPortalConfig {
    fn validate(&self) -> Result<()> {
        if !self.enabled {
            return Ok(());
        }
        match url::Url::parse(&self.url) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {}
            _ => {
                return Err(Error::Config(format!(
                    "`national_portal.enabled` needs `national_portal.url`, an http:// or https:// URL (got `{}`)",
                    redact_url(&self.url)
                )));
            }
        }
        let missing: Vec<String> = [
            ("username", &self.username),
            ("password", &self.password),
            ("agency_code", &self.agency_code),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(key, _)| format!("`national_portal.{key}`"))
        .collect();
        if !missing.is_empty() {
            return Err(Error::Config(format!(
                "`national_portal.enabled` needs {}",
                missing.join(", ")
            )));
        }
        if !(1..=60).contains(&self.timeout_seconds) {
            return Err(Error::Config(
                "`national_portal.timeout_seconds` must be between 1 and 60".into(),
            ));
        }
        Ok(())
    }
}

/// The document exchange (trục liên thông, `tinhso-exchange`): the federation listener other
/// provinces' exchanges push packages to over mutual TLS, the peers we push to, and the
/// national exchange's connector.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// Off by default: no federation listener, no sending worker.
    pub enabled: bool,
    /// Address of the federation listener (HTTPS with client certificates).
    pub listen: String,
    /// This installation's certificate (PEM): the listener's server certificate and the
    /// client certificate presented when sending to a peer.
    pub tls_cert: PathBuf,
    /// The private key of `tls_cert` (PEM).
    pub tls_key: PathBuf,
    /// PEM files of the CAs whose client and server certificates peers may present.
    pub peer_ca: Vec<PathBuf>,
    /// Largest package accepted (bytes, the whole edXML file); larger ones are refused with
    /// 413 `exchange.package.too_large` while streaming, before anything is stored.
    pub max_package_bytes: u64,
    /// Pause of the sending worker between polls when nothing is due.
    pub poll_interval_ms: u64,
    /// Packages the worker takes per poll.
    pub batch: i64,
    /// Federated exchanges (other provinces).
    pub peers: Vec<ExchangePeer>,
    pub national: ExchangeNationalConfig,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "127.0.0.1:8443".into(),
            tls_cert: PathBuf::new(),
            tls_key: PathBuf::new(),
            peer_ca: Vec::new(),
            max_package_bytes: 734_003_200,
            poll_interval_ms: 1000,
            batch: 20,
            peers: Vec::new(),
            national: ExchangeNationalConfig::default(),
        }
    }
}

/// One federated exchange.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangePeer {
    /// The CN of the peer's certificate: how a request is attributed to this peer.
    pub id: String,
    pub name: String,
    /// Base URL of the peer's federation listener (`https://host:port`).
    pub url: String,
    /// Agency identifiers the peer serves: a full identifier or `*.H14` (a whole province).
    pub serves: Vec<String>,
}

/// The national document exchange connector (vn-standards §1.7).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeNationalConfig {
    pub enabled: bool,
    /// Base URL of the national exchange's adapter.
    pub endpoint: String,
    /// This installation's system id at the national exchange (`00.53.W00`).
    pub system_id: String,
    /// Redacted whenever the configuration is printed; prefer an environment variable.
    pub secret: String,
}

impl ExchangeConfig {
    fn validate(&self) -> Result<()> {
        if self.max_package_bytes < 1024 {
            return Err(Error::Config(
                "`exchange.max_package_bytes` must be ≥ 1024".into(),
            ));
        }
        if !(10..=600_000).contains(&self.poll_interval_ms) {
            return Err(Error::Config(
                "`exchange.poll_interval_ms` must be between 10 and 600000".into(),
            ));
        }
        if !(1..=1000).contains(&self.batch) {
            return Err(Error::Config(
                "`exchange.batch` must be between 1 and 1000".into(),
            ));
        }
        for (i, peer) in self.peers.iter().enumerate() {
            for (key, value) in [("id", &peer.id), ("url", &peer.url)] {
                if value.trim().is_empty() {
                    return Err(Error::Config(format!(
                        "`exchange.peers[{i}].{key}` is required"
                    )));
                }
            }
            if !peer.url.starts_with("https://") && !peer.url.starts_with("http://") {
                return Err(Error::Config(format!(
                    "`exchange.peers[{i}].url` must be an https:// URL (got `{}`)",
                    redact_url(&peer.url)
                )));
            }
            if let Some(bad) = peer.serves.iter().find(|p| p.trim().is_empty()) {
                return Err(Error::Config(format!(
                    "`exchange.peers[{i}].serves`: `{bad}` is not a pattern"
                )));
            }
        }
        if self.enabled {
            for (key, value) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
                if value.as_os_str().is_empty() {
                    return Err(Error::Config(format!(
                        "`exchange.enabled` needs `exchange.{key}`"
                    )));
                }
            }
            if self.listen.parse::<std::net::SocketAddr>().is_err() {
                return Err(Error::Config(format!(
                    "`exchange.listen` must be an address like 127.0.0.1:8443 (got `{}`)",
                    self.listen
                )));
            }
        }
        let n = &self.national;
        if n.enabled {
            let missing: Vec<String> = [
                ("endpoint", &n.endpoint),
                ("system_id", &n.system_id),
                ("secret", &n.secret),
            ]
            .into_iter()
            .filter(|(_, value)| value.trim().is_empty())
            .map(|(key, _)| format!("`exchange.national.{key}`"))
            .collect();
            if !missing.is_empty() {
                return Err(Error::Config(format!(
                    "`exchange.national.enabled` needs {}",
                    missing.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Where received packages are spooled while they are checked, and built ones before
    /// they are sent.
    pub fn spool_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("exchange-spool")
    }
}

/// The outbox delivery worker started by `serve`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// How long a claimed message is reserved for the node that claimed it. A node that dies
    /// mid-send leaves it reserved this long before another claim (and a possible repeat);
    /// keep it above the longest send (sends time out after 30 s) when several nodes run.
    pub lease_seconds: u64,
    /// Pause between polls when nothing is due.
    pub poll_ms: u64,
    /// Delay before the first retry; doubled after each further failure (up to 6 h).
    pub retry_base_seconds: u64,
    /// Failed attempts before a message is dead.
    pub max_attempts: i64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            lease_seconds: 120,
            poll_ms: 500,
            retry_base_seconds: 30,
            max_attempts: 12,
        }
    }
}

impl OutboxConfig {
    fn validate(&self) -> Result<()> {
        if self.lease_seconds < 1
            || !(10..=60_000).contains(&self.poll_ms)
            || self.retry_base_seconds < 1
            || !(1..=100).contains(&self.max_attempts)
        {
            return Err(Error::Config(
                "`outbox`: lease_seconds ≥ 1, poll_ms 10–60000, retry_base_seconds ≥ 1, max_attempts 1–100".into(),
            ));
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            admin_listen: "127.0.0.1:9180".into(),
            public_url: "http://127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./data"),
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            sqlite_synchronous: "full".into(),
            sqlite_worker_nice: 5,
        }
    }
}

impl Default for BlobConfig {
    fn default() -> Self {
        Self {
            backend: "local".into(),
            dir: PathBuf::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_bucket: String::new(),
            s3_prefix: String::new(),
            s3_access_key: String::new(),
            s3_secret_key: String::new(),
            s3_path_style: true,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        Self {
            secure_cookies: true,
            session_idle_minutes: 60,
            session_absolute_hours: 12,
            max_failed_logins: 5,
            lockout_minutes: 15,
            login_rate_per_minute: 30,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            request_timeout_seconds: 30,
            max_upload_bytes: 10 * 1024 * 1024,
            max_pending_uploads: 50,
        }
    }
}

impl Default for ScannerConfig {
    fn default() -> Self {
        Self {
            backend: "none".into(),
            address: "127.0.0.1:3310".into(),
            timeout_seconds: 30,
        }
    }
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer_url: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            personal_id_claim: "personal_id".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

const ENV_PREFIX: &str = "TINHSO_";
const REDACTED: &str = "***";

impl Config {
    /// Loads defaults, then `file` (if any), then the `TINHSO_*__*` variables of `env`.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::Config(format!("cannot read config file {}: {e}", path.display()))
                })?;
                toml::from_str::<Config>(&text)
                    .map_err(|e| Error::Config(format!("config file {}: {e}", path.display())))?
            }
            None => Config::default(),
        };
        for (name, value) in env {
            config = config.with_env_override(&name, &value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Applies one `TINHSO_SECTION__KEY=value` variable. Variables without `__` are not
    /// configuration (e.g. `TINHSO_CONFIG` naming the file) and are left alone.
    fn with_env_override(self, name: &str, value: &str) -> Result<Self> {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            return Ok(self);
        };
        let Some((section, key)) = rest.split_once("__") else {
            return Ok(self);
        };
        let (section, key) = (section.to_ascii_lowercase(), key.to_ascii_lowercase());
        let mut table = toml::Table::try_from(&self)
            .map_err(|e| Error::Config(format!("cannot represent config: {e}")))?;
        let Some(toml::Value::Table(section_table)) = table.get_mut(&section) else {
            return Err(Error::Config(format!(
                "unknown config section `{section}` (from {name})"
            )));
        };
        if !section_table.contains_key(&key) {
            return Err(Error::Config(format!(
                "unknown config key `{section}.{key}` (from {name})"
            )));
        }
        section_table.insert(key.clone(), env_value(value));
        toml::Value::Table(table).try_into::<Config>().map_err(|e| {
            Error::Config(format!(
                "bad value for `{section}.{key}` (from {name}): {e}"
            ))
        })
    }

    fn validate(&self) -> Result<()> {
        let url = &self.database.url;
        if !(url.is_empty()
            || url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(Error::Config(format!(
                "`database.url` must start with sqlite: or postgres:// (got `{}`)",
                redact_url(url)
            )));
        }
        if !(0..=19).contains(&self.database.sqlite_worker_nice) {
            return Err(Error::Config(
                "`database.sqlite_worker_nice` must be between 0 and 19".into(),
            ));
        }
        if !matches!(self.database.sqlite_synchronous.as_str(), "full" | "normal") {
            return Err(Error::Config(
                "`database.sqlite_synchronous` must be `full` or `normal`".into(),
            ));
        }
        match self.blobs.backend.as_str() {
            "local" => {}
            "s3" => self.blobs.validate_s3()?,
            other => {
                return Err(Error::Config(format!(
                    "`blobs.backend` must be `local` or `s3` (got `{other}`)"
                )));
            }
        }
        if let Some(bad) = self
            .server
            .trusted_proxies
            .iter()
            .find(|a| a.parse::<std::net::IpAddr>().is_err())
        {
            return Err(Error::Config(format!(
                "`server.trusted_proxies`: `{bad}` is not an IP address"
            )));
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return Err(Error::Config(
                "`log.format` must be `text` or `json`".into(),
            ));
        }
        self.notify.validate()?;
        self.payment.validate()?;
        if self.search.backend != "embedded" {
            return Err(Error::Config(format!(
                "`search.backend` must be `embedded` (got `{}`)",
                self.search.backend
            )));
        }
        match self.scanner.backend.as_str() {
            "none" => {}
            "clamd"
                if !self.scanner.address.trim().is_empty() && self.scanner.timeout_seconds > 0 => {}
            "clamd" => {
                return Err(Error::Config(
                    "`scanner.backend = \"clamd\"` needs `scanner.address` and `scanner.timeout_seconds` > 0"
                        .into(),
                ));
            }
            other => {
                return Err(Error::Config(format!(
                    "`scanner.backend` must be `none` or `clamd` (got `{other}`)"
                )));
            }
        }
        if self.limits.max_upload_bytes < 1024 || self.limits.max_pending_uploads < 1 {
            return Err(Error::Config(
                "`limits.max_upload_bytes` must be ≥ 1024 and `limits.max_pending_uploads` ≥ 1"
                    .into(),
            ));
        }
        self.national_portal.validate()?;
        self.outbox.validate()?;
        self.signing.validate()?;
        self.exchange.validate()?;
        if self.security.max_failed_logins < 1 || self.limits.max_body_bytes < 1024 {
            return Err(Error::Config(
                "`security.max_failed_logins` must be ≥ 1 and `limits.max_body_bytes` ≥ 1024"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The database URL in force: the configured one, or the SQLite file in the data dir.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!(
                "sqlite://{}",
                self.server.data_dir.join("tinhso.db").display()
            )
        } else {
            self.database.url.clone()
        }
    }

    pub fn blob_dir(&self) -> PathBuf {
        if self.blobs.dir.as_os_str().is_empty() {
            self.server.data_dir.join("blobs")
        } else {
            self.blobs.dir.clone()
        }
    }

    /// Directory of the notification file sink.
    pub fn notify_file_dir(&self) -> PathBuf {
        if self.notify.file_dir.as_os_str().is_empty() {
            self.server.data_dir.join("outbox-sink")
        } else {
            self.notify.file_dir.clone()
        }
    }

    /// The payment page of the gateway in force.
    pub fn payment_gateway_url(&self) -> String {
        if self.payment.gateway_url.is_empty() {
            format!("{}/sandbox/payment", self.public_base())
        } else {
            self.payment.gateway_url.clone()
        }
    }

    /// Where the gateway's server-to-server callback arrives.
    pub fn payment_ipn_url(&self) -> String {
        if self.payment.ipn_url.is_empty() {
            format!("{}/api/v1/payments/callback", self.public_base())
        } else {
            self.payment.ipn_url.clone()
        }
    }

    /// `server.public_url` without a trailing slash.
    pub fn public_base(&self) -> &str {
        self.server.public_url.trim_end_matches('/')
    }

    /// A copy safe to print or log: passwords in URLs and secrets replaced.
    pub fn redacted(&self) -> Self {
        let mut copy = self.clone();
        copy.database.url = redact_url(&self.database.url);
        if !copy.oidc.client_secret.is_empty() {
            copy.oidc.client_secret = REDACTED.into();
        }
        copy.blobs.s3_endpoint = redact_url(&self.blobs.s3_endpoint);
        if !copy.notify.smtp_password.is_empty() {
            copy.notify.smtp_password = REDACTED.into();
        }
        if !copy.notify.sms_token.is_empty() {
            copy.notify.sms_token = REDACTED.into();
        }
        copy.notify.sms_url = redact_url(&self.notify.sms_url);
        if !copy.national_portal.password.is_empty() {
            copy.national_portal.password = REDACTED.into();
        }
        copy.national_portal.url = redact_url(&self.national_portal.url);
        if !copy.signing.pkcs12_password.is_empty() {
            copy.signing.pkcs12_password = REDACTED.into();
        }
        copy.signing.timestamp_url = redact_url(&self.signing.timestamp_url);
        if !copy.blobs.s3_secret_key.is_empty() {
            copy.blobs.s3_secret_key = REDACTED.into();
        }
        if !copy.payment.secret.is_empty() {
            copy.payment.secret = REDACTED.into();
        }
        if !copy.exchange.national.secret.is_empty() {
            copy.exchange.national.secret = REDACTED.into();
        }
        copy.exchange.national.endpoint = redact_url(&self.exchange.national.endpoint);
        copy
    }

    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

impl BlobConfig {
    /// The `s3` backend needs an endpoint, a region, a bucket and both keys: names every
    /// missing one at once, then checks the endpoint is an http(s) URL.
    fn validate_s3(&self) -> Result<()> {
        let missing: Vec<String> = [
            ("s3_endpoint", &self.s3_endpoint),
            ("s3_region", &self.s3_region),
            ("s3_bucket", &self.s3_bucket),
            ("s3_access_key", &self.s3_access_key),
            ("s3_secret_key", &self.s3_secret_key),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(key, _)| format!("`blobs.{key}`"))
        .collect();
        if !missing.is_empty() {
            return Err(Error::Config(format!(
                "`blobs.backend = \"s3\"` needs {}",
                missing.join(", ")
            )));
        }
        match url::Url::parse(&self.s3_endpoint) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host_str().is_some() => {
                Ok(())
            }
            _ => Err(Error::Config(format!(
                "`blobs.s3_endpoint` must be an http:// or https:// URL (got `{}`)",
                redact_url(&self.s3_endpoint)
            ))),
        }
    }
}

/// Environment values are read as TOML literals when they parse as one (numbers, booleans),
/// otherwise as plain strings, so `TINHSO_SECURITY__SECURE_COOKIES=false` works unquoted.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .filter(|v| !matches!(v, toml::Value::Table(_) | toml::Value::Array(_)))
        .unwrap_or_else(|| toml::Value::String(raw.to_owned()))
}

/// Hides the password of `scheme://user:password@host/…`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some(REDACTED));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn sqlite_worker_nice_is_a_nice_increment() {
        let load =
            |nice: &str| Config::load(None, env(&[("TINHSO_DATABASE__SQLITE_WORKER_NICE", nice)]));
        assert_eq!(load("0").unwrap().database.sqlite_worker_nice, 0);
        assert_eq!(load("19").unwrap().database.sqlite_worker_nice, 19);
        for bad in ["-1", "20"] {
            let e = load(bad).unwrap_err().to_string();
            assert!(e.contains("sqlite_worker_nice"), "{e}");
        }
        assert_eq!(Config::default().database.sqlite_worker_nice, 5);
    }

    #[test]
    fn defaults_file_env_layering() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(
            &file,
            "[server]\nlisten = \"0.0.0.0:9000\"\n[security]\nmax_failed_logins = 3\n",
        )
        .unwrap();
        let c = Config::load(
            Some(&file),
            env(&[
                ("TINHSO_SECURITY__MAX_FAILED_LOGINS", "7"),
                ("TINHSO_TEST_POSTGRES_URL", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.server.listen, "0.0.0.0:9000");
        assert_eq!(c.security.max_failed_logins, 7);
        assert_eq!(c.security.lockout_minutes, 15);
    }

    #[test]
    fn unknown_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("t.toml");
        std::fs::write(&file, "[server]\nlisen = \"x\"\n").unwrap();
        let err = Config::load(Some(&file), env(&[])).unwrap_err().to_string();
        assert!(err.contains("lisen"), "{err}");
        let err = Config::load(None, env(&[("TINHSO_SERVER__LISEN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("server.lisen"), "{err}");
        let err = Config::load(None, env(&[("TINHSO_SERVR__LISTEN", "x")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("servr"), "{err}");
        let err = Config::load(None, env(&[("TINHSO_SECURITY__MAX_FAILED_LOGINS", "many")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("security.max_failed_logins"), "{err}");
    }

    #[test]
    fn secrets_are_redacted() {
        let mut c = Config::default();
        c.database.url = "postgres://app:hunter2@db.local/tinhso".into();
        c.oidc.client_secret = "s3cret".into();
        c.blobs.s3_secret_key = "wJalrXUtnFEMI/K7MDENG".into();
        c.blobs.s3_access_key = "AKIAEXAMPLE".into();
        c.notify.smtp_password = "mailpass9".into();
        c.notify.sms_token = "smstoken7".into();
        c.payment.secret = "paysecret5".into();
        c.national_portal.password = "portalpass5".into();
        c.signing.pkcs12_password = "p12pass3".into();
        c.exchange.national.secret = "vxpsecret4".into();
        let printed = c.redacted().to_toml();
        assert!(
            !printed.contains("vxpsecret4")
                && !printed.contains("portalpass5")
                && !printed.contains("p12pass3")
                && !printed.contains("hunter2")
                && !printed.contains("s3cret")
                && !printed.contains("wJalrXUtnFEMI")
                && !printed.contains("mailpass9")
                && !printed.contains("smstoken7")
                && !printed.contains("paysecret5"),
            "{printed}"
        );
        assert!(printed.contains("app:***@db.local"));
        assert!(printed.contains("s3_secret_key = \"***\""), "{printed}");
        assert!(printed.contains("AKIAEXAMPLE"), "{printed}");
    }

    #[test]
    fn exchange_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert!(!c.exchange.enabled);
        assert_eq!(c.exchange.max_package_bytes, 734_003_200);
        let err = Config::load(None, env(&[("TINHSO_EXCHANGE__ENABLED", "true")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("exchange.tls_cert"), "{err}");
        let err = Config::load(
            None,
            env(&[
                ("TINHSO_EXCHANGE__ENABLED", "true"),
                ("TINHSO_EXCHANGE__TLS_CERT", "/x/cert.pem"),
            ]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("exchange.tls_key"), "{err}");
        let mut c = Config::default();
        c.exchange.national.enabled = true;
        c.exchange.national.endpoint = "https://vxp.example".into();
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.contains("exchange.national.system_id") && err.contains("exchange.national.secret"),
            "{err}"
        );
        let mut c = Config::default();
        c.exchange.peers.push(ExchangePeer {
            id: "cao-bang".into(),
            url: "ftp://x".into(),
            ..ExchangePeer::default()
        });
        let err = c.validate().unwrap_err().to_string();
        assert!(err.contains("exchange.peers[0].url"), "{err}");
    }

    #[test]
    fn signing_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert!(c.signing.trust_anchors.is_empty() && c.signing.timestamp_url.is_empty());
        let err = Config::load(None, env(&[("TINHSO_SIGNING__TIMESTAMP_URL", "tsa.local")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("signing.timestamp_url"), "{err}");
        let c = Config::load(
            None,
            env(&[("TINHSO_SIGNING__TIMESTAMP_URL", "http://127.0.0.1:3180/tsa")]),
        )
        .unwrap();
        assert_eq!(c.signing.timestamp_url, "http://127.0.0.1:3180/tsa");
    }

    #[test]
    fn notify_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(
            (c.notify.email.as_str(), c.notify.sms.as_str()),
            ("file", "file")
        );
        assert!(c.notify_file_dir().ends_with("outbox-sink"));
        let err = Config::load(None, env(&[("TINHSO_NOTIFY__EMAIL", "smtp")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("notify.smtp_host"), "{err}");
        let ok = Config::load(
            None,
            env(&[
                ("TINHSO_NOTIFY__EMAIL", "smtp"),
                ("TINHSO_NOTIFY__SMTP_HOST", "mail.example.vn"),
                ("TINHSO_NOTIFY__SMTP_TLS", "tls"),
                ("TINHSO_NOTIFY__SMTP_PORT", "465"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.notify.smtp_port, 465);
        for (key, value, named) in [
            ("TINHSO_NOTIFY__SMTP_TLS", "ssl", "notify.smtp_tls"),
            ("TINHSO_NOTIFY__SMS", "http", "notify.sms_url"),
            ("TINHSO_NOTIFY__SMS", "zalo", "notify.sms"),
            (
                "TINHSO_NOTIFY__FROM_ADDRESS",
                "not an address",
                "notify.from_address",
            ),
        ] {
            let err = Config::load(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named), "{key}={value}: {err}");
        }
    }

    #[test]
    fn payment_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.payment.backend, "sandbox");
        assert_eq!(
            c.payment_gateway_url(),
            "http://127.0.0.1:8080/sandbox/payment"
        );
        for (vars, named) in [
            (
                vec![("TINHSO_PAYMENT__BACKEND", "gateway")],
                "payment.gateway_url",
            ),
            (
                vec![("TINHSO_PAYMENT__BACKEND", "paypal")],
                "payment.backend",
            ),
            (
                vec![("TINHSO_PAYMENT__MERCHANT_CODE", "a b")],
                "payment.merchant_code",
            ),
            (
                vec![("TINHSO_PAYMENT__IPN_URL", "ftp://x")],
                "payment.ipn_url",
            ),
        ] {
            let err = Config::load(None, env(&vars)).unwrap_err().to_string();
            assert!(err.contains(named), "{vars:?}: {err}");
        }
        let ok = Config::load(
            None,
            env(&[
                ("TINHSO_PAYMENT__BACKEND", "gateway"),
                (
                    "TINHSO_PAYMENT__GATEWAY_URL",
                    "https://pay.example.vn/vpcpay.html",
                ),
                ("TINHSO_PAYMENT__SECRET", "s"),
            ]),
        )
        .unwrap();
        assert_eq!(
            ok.payment_gateway_url(),
            "https://pay.example.vn/vpcpay.html"
        );
    }

    #[test]
    fn scanner_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.scanner.backend, "none");
        assert_eq!(c.limits.max_upload_bytes, 10 * 1024 * 1024);
        let c = Config::load(
            None,
            env(&[
                ("TINHSO_SCANNER__BACKEND", "clamd"),
                ("TINHSO_SCANNER__ADDRESS", "/run/clamav/clamd.ctl"),
            ]),
        )
        .unwrap();
        assert_eq!(c.scanner.address, "/run/clamav/clamd.ctl");
        for (key, value, named) in [
            ("TINHSO_SCANNER__BACKEND", "sophos", "scanner.backend"),
            (
                "TINHSO_LIMITS__MAX_UPLOAD_BYTES",
                "10",
                "limits.max_upload_bytes",
            ),
        ] {
            let err = Config::load(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(err.contains(named), "{key}={value}: {err}");
        }
    }

    #[test]
    fn national_portal_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert!(!c.national_portal.enabled);
        let err = Config::load(None, env(&[("TINHSO_NATIONAL_PORTAL__ENABLED", "true")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("national_portal.url"), "{err}");
        let err = Config::load(
            None,
            env(&[
                ("TINHSO_NATIONAL_PORTAL__ENABLED", "true"),
                ("TINHSO_NATIONAL_PORTAL__URL", "http://127.0.0.1:9"),
            ]),
        )
        .unwrap_err()
        .to_string();
        for key in ["username", "password", "agency_code"] {
            assert!(err.contains(&format!("national_portal.{key}")), "{err}");
        }
        let ok = Config::load(
            None,
            env(&[
                ("TINHSO_NATIONAL_PORTAL__ENABLED", "true"),
                ("TINHSO_NATIONAL_PORTAL__URL", "http://127.0.0.1:9"),
                ("TINHSO_NATIONAL_PORTAL__USERNAME", "khanhhoa"),
                ("TINHSO_NATIONAL_PORTAL__PASSWORD", "x"),
                ("TINHSO_NATIONAL_PORTAL__AGENCY_CODE", "000.00.00.H32"),
            ]),
        )
        .unwrap();
        assert_eq!(ok.national_portal.auth_path, "/auth");
        let err = Config::load(None, env(&[("TINHSO_OUTBOX__POLL_MS", "0")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("outbox"), "{err}");
        let c = Config::load(None, env(&[("TINHSO_OUTBOX__LEASE_SECONDS", "2")])).unwrap();
        assert_eq!((c.outbox.lease_seconds, c.outbox.max_attempts), (2, 12));
    }

    #[test]
    fn s3_backend_is_validated() {
        let base = env(&[("TINHSO_BLOBS__BACKEND", "s3")]);
        let err = Config::load(None, base.clone()).unwrap_err().to_string();
        for key in [
            "blobs.s3_endpoint",
            "blobs.s3_bucket",
            "blobs.s3_access_key",
            "blobs.s3_secret_key",
        ] {
            assert!(err.contains(key), "{err}");
        }
        assert!(!err.contains("s3_region"), "{err}");
        let mut full = base.clone();
        full.extend(env(&[
            ("TINHSO_BLOBS__S3_ENDPOINT", "http://127.0.0.1:9000"),
            ("TINHSO_BLOBS__S3_BUCKET", "tinhso"),
            ("TINHSO_BLOBS__S3_ACCESS_KEY", "AKIAEXAMPLE"),
            ("TINHSO_BLOBS__S3_SECRET_KEY", "secret"),
            ("TINHSO_BLOBS__S3_PATH_STYLE", "false"),
        ]));
        let config = Config::load(None, full.clone()).unwrap();
        assert_eq!(config.blobs.backend, "s3");
        assert!(!config.blobs.s3_path_style);
        full.push(("TINHSO_BLOBS__S3_ENDPOINT".into(), "ftp://x".into()));
        let err = Config::load(None, full).unwrap_err().to_string();
        assert!(err.contains("blobs.s3_endpoint"), "{err}");
        let err = Config::load(None, env(&[("TINHSO_BLOBS__BACKEND", "gcs")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`local` or `s3`"), "{err}");
    }
}

#[cfg(test)]
mod search_config_tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn search_backend_is_validated() {
        let c = Config::load(None, env(&[])).unwrap();
        assert_eq!(c.search.backend, "embedded");
        let c = Config::load(None, env(&[("TINHSO_SEARCH__BACKEND", "embedded")])).unwrap();
        assert_eq!(c.search.backend, "embedded");
        let err = Config::load(None, env(&[("TINHSO_SEARCH__BACKEND", "tantivy")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("search.backend"), "{err}");
    }
}
