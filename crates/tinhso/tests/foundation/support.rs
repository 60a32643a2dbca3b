//! Test harness: a database per backend, the real application served in-process on a
//! loopback port, and an HTTP client with a cookie jar.
//!
//! PostgreSQL comes from `TINHSO_TEST_POSTGRES_URL` (an admin URL; `scripts/test.sh` sets
//! it, starting a throwaway cluster when none answers) or the local server on
//! 127.0.0.1:5432. A run that cannot reach PostgreSQL fails: it never skips silently.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlx::Connection;
use std::sync::atomic::{AtomicU32, Ordering};
use tinhso_platform::{Config, Ctx, Platform};

/// The same schema the binary runs.
pub const MIGRATIONS: [&[tinhso_platform::Migration]; 4] = [
    tinhso_platform::FOUNDATION_MIGRATIONS,
    tinhso_onestop::MIGRATIONS,
    tinhso_documents::MIGRATIONS,
    tinhso_exchange::MIGRATIONS,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs a scenario once per backend: `both!(name)` expects `async fn name(Backend)`.
#[macro_export]
macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::foundation::support::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::foundation::support::Backend::Postgres).await
            }
        }
    };
}

fn postgres_admin_url() -> String {
    std::env::var("TINHSO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A database of its own for one test.
pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn new(backend: Backend, dir: &std::path::Path) -> Self {
        match backend {
            Backend::Sqlite => Self {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                pg_name: None,
            },
            Backend::Postgres => {
                sqlx::any::install_default_drivers();
                let admin = postgres_admin_url();
                let name = format!(
                    "tinhso_t_{}_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::SeqCst),
                    rand::random::<u32>()
                );
                let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("PostgreSQL is required for the test suite and is not reachable at {admin}: {e}")
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let _ = conn.close().await;
                let url = match admin.rfind('/') {
                    Some(i) => format!("{}/{name}", &admin[..i]),
                    None => panic!("bad PostgreSQL URL {admin}"),
                };
                Self {
                    url,
                    pg_name: Some(name),
                }
            }
        }
    }

    pub async fn drop_database(&self) {
        if let Some(name) = &self.pg_name
            && let Ok(mut conn) = sqlx::AnyConnection::connect(&postgres_admin_url()).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

/// The application, served on 127.0.0.1 with a port of its own.
pub struct TestApp {
    pub base: String,
    pub platform: Platform,
    pub db: TestDb,
    pub dir: tempfile::TempDir,
    server: tokio::task::JoinHandle<()>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The application's clock: real time until a test pins it.
    pub clock: std::sync::Arc<ManualClock>,
}

/// A clock a test can pin to an instant (0 = follow the system clock).
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    pub fn set(&self, rfc3339: &str) {
        let at = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
        self.0
            .store(at.timestamp_millis(), std::sync::atomic::Ordering::SeqCst);
    }
}

impl tinhso_platform::Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        match self.0.load(std::sync::atomic::Ordering::SeqCst) {
            0 => chrono::Utc::now().timestamp_millis(),
            pinned => pinned,
        }
    }
}

pub fn test_config(dir: &std::path::Path, url: &str) -> Config {
    let mut config = Config::default();
    config.server.data_dir = dir.to_path_buf();
    config.database.url = url.to_owned();
    config.database.max_connections = 6;
    // Tests go faster than any person: the per-address limiter would only get in the way,
    // except in the test that checks it.
    config.security.login_rate_per_minute = 10_000;
    config.limits.max_body_bytes = 64 * 1024;
    config
}

impl TestApp {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, |_| {}).await
    }

    pub async fn start_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_with_base(backend, |config, _| tweak(config)).await
    }

    /// Like [`start_with`](Self::start_with), for tweaks that need the app's own base URL
    /// (e.g. `server.public_url`): the listener is bound before the tweak runs.
    pub async fn start_with_base(backend: Backend, tweak: impl FnOnce(&mut Config, &str)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(backend, dir.path()).await;
        let mut config = test_config(dir.path(), &db.url);
        tweak(&mut config, &base);
        let mut platform = Platform::open_with(config, &MIGRATIONS).await.unwrap();
        let clock = std::sync::Arc::new(ManualClock::default());
        platform.clock = clock.clone();
        tinhso_platform::demo::seed(&platform).await.unwrap();
        tinhso_onestop::catalog::seed_demo(&platform).await.unwrap();
        let state = tinhso_web::AppState::new(platform.clone(), true)
            .await
            .unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = tinhso_web::serve(listener, tinhso_web::app(state), async {
                let _ = stop_rx.await;
            })
            .await;
        });
        Self {
            base,
            platform,
            db,
            dir,
            server,
            stop: Some(stop_tx),
            clock,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A browser-like client: cookies kept, redirects not followed (tests look at them).
    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub fn ctx(&self) -> Ctx {
        Ctx::cli(self.platform.now_ms())
    }

    /// How many audit records exist (PostgreSQL spreads concurrent writers over several
    /// chains, so no single head's number counts them all).
    pub async fn audit_head(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(self.platform.db.pool())
            .await
            .unwrap()
    }

    /// Verifies the audit chain and returns how many records it holds (the test fails unless
    /// it is intact).
    pub async fn verified_audit_records(&self) -> i64 {
        let verdict = tinhso_platform::audit::verify(&self.platform.db, &self.platform.audit_key)
            .await
            .unwrap();
        match verdict {
            tinhso_platform::audit::Verdict::Intact { records } => records,
            other => panic!("the audit chain does not verify: {other:?}"),
        }
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
        self.platform.db.close().await;
        self.db.drop_database().await;
    }
}

/// The CSRF token of the first form on a page.
/// GET of a page: status and HTML.
pub async fn page(client: &reqwest::Client, url: String) -> (u16, String) {
    let r = client.get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html
        .find(marker)
        .map(|i| i + marker.len())
        .expect("page has no CSRF token");
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

/// Logs in through the real form; returns the redirect target.
pub async fn login(
    app: &TestApp,
    client: &reqwest::Client,
    username: &str,
    password: &str,
) -> (u16, String) {
    let page = client
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let response = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", csrf_of(&page).as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.text().await.unwrap();
    (status, location.unwrap_or(body))
}

pub const DEMO_PASSWORD: &str = tinhso_platform::demo::DEMO_PASSWORD;

/// Current TOTP code for a secret, one step ahead of the last used one when asked.
pub fn totp_code(secret: &str, offset_steps: i64) -> String {
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    tinhso_platform::identity::totp_code_at(secret, u64::try_from(now).unwrap()).unwrap()
}

/// Answers that satisfy a procedure's form schema, one valid value per field type.
pub fn valid_answers(
    spec: &tinhso_onestop::domain::catalog::ProcedureSpec,
) -> serde_json::Map<String, serde_json::Value> {
    use tinhso_onestop::domain::catalog::FieldType;
    spec.form
        .fields
        .iter()
        .map(|f| {
            let value = match f.field_type {
                FieldType::Date => "2026-03-02".to_owned(),
                FieldType::Number => "2".to_owned(),
                FieldType::Select => f.options.first().cloned().unwrap_or_default(),
                FieldType::PersonalId => "079200001234".to_owned(),
                FieldType::Phone => "0905123456".to_owned(),
                FieldType::Email => "an@example.vn".to_owned(),
                FieldType::Text | FieldType::Textarea | FieldType::Address => {
                    "Khánh Hòa".to_owned()
                }
            };
            (f.key.clone(), serde_json::Value::String(value))
        })
        .collect()
}

/// A small, valid PDF (distinct per `n`, so each is its own blob).
pub fn sample_pdf(n: usize) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% tinhso test document {n}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// The documents of a counter filing when the officer checked every required paper original:
/// requirements `0..count`.
pub fn paper_documents(count: usize) -> serde_json::Value {
    (0..count)
        .map(|i| serde_json::json!({ "requirement": i, "paper": true }))
        .collect()
}

/// Uploads one PDF per requirement `0..count` as `bearer` and returns the `documents` of a
/// filing that uses them.
pub async fn upload_documents(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    count: usize,
) -> serde_json::Value {
    let mut documents = Vec::new();
    for i in 0..count {
        let id = upload(
            app,
            client,
            bearer,
            &format!("giay-to-{i}.pdf"),
            sample_pdf(i),
        )
        .await;
        documents.push(serde_json::json!({ "requirement": i, "upload_id": id }));
    }
    serde_json::Value::Array(documents)
}

/// Uploads one file through the API; returns its id (the upload must succeed).
pub async fn upload(
    app: &TestApp,
    client: &reqwest::Client,
    bearer: &str,
    filename: &str,
    bytes: Vec<u8>,
) -> i64 {
    let response = client
        .post(app.url("/api/v1/uploads"))
        .query(&[("filename", filename)])
        .bearer_auth(bearer)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 201, "upload {filename}: {body}");
    body["id"].as_i64().unwrap()
}

/// A statement a test runs behind the services' back (tampering, retiring an agency), as a
/// write transaction of its own: the pool's connections only read.
pub trait WriteBehind {
    async fn write_behind(self, db: &tinhso_platform::Db) -> tinhso_platform::Result<u64>;
}

impl WriteBehind for tinhso_platform::batch::AnyQuery<'_> {
    async fn write_behind(self, db: &tinhso_platform::Db) -> tinhso_platform::Result<u64> {
        let mut tx = db.begin_write().await?;
        let changed = self.execute(&mut *tx.tx).await?.rows_affected();
        tx.commit().await?;
        Ok(changed)
    }
}
