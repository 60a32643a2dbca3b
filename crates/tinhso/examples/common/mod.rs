//! What the benchmark examples share: a fresh database (SQLite in a temporary directory, or a
//! uniquely named PostgreSQL database dropped afterwards), the platform with the demo, the
//! in-process server on 127.0.0.1, a timed load loop that records every operation's latency,
//! the raw durable insert baseline and the four-request lifecycle.
//!
//! Bounded: every loop stops at its deadline; traffic stays on the loopback interface.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tinhso_platform::{Config, Ctx, Platform};

pub const MIGRATIONS: [&[tinhso_platform::Migration]; 4] = [
    tinhso_platform::FOUNDATION_MIGRATIONS,
    tinhso_onestop::MIGRATIONS,
    tinhso_documents::MIGRATIONS,
    tinhso_exchange::MIGRATIONS,
];

/// The server's runtime: on SQLite its workers niced as `serve` nices them
/// (`BENCH_WORKER_NICE` overrides).
pub fn runtime_builder() -> tokio::runtime::Builder {
    let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
    let nice = std::env::var("BENCH_WORKER_NICE")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(if backend == "sqlite" {
            tinhso_platform::Config::default()
                .database
                .sqlite_worker_nice
        } else {
            0
        });
    tinhso_platform::runtime::builder(nice)
}

/// Backend, seconds per measurement (1–60) and concurrency (1–256) from the command line.
pub fn args() -> (String, u64, usize) {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let seconds = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 60);
    let concurrency = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 256);
    (backend, seconds, concurrency)
}

/// A fresh database with the platform and the demo (province, accounts, catalogue) on it.
pub struct BenchDb {
    pub platform: Platform,
    pub backend: String,
    /// (admin URL, database name) of the PostgreSQL database to drop at the end.
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl BenchDb {
    pub async fn open(backend: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (url, pg) = database(backend, dir.path()).await;
        let mut config = Config::default();
        config.server.data_dir = dir.path().to_path_buf();
        config.database.url = url;
        config.database.max_connections = 32;
        // Also the public status lookup's per-address limit: the load comes from one address.
        config.security.login_rate_per_minute = 1_000_000;
        config.log.level = "warn".into();
        // Reports over a million dossiers take longer than the default 30 s; the benchmark
        // reports how long instead of a timeout.
        config.limits.request_timeout_seconds = 600;
        let platform = Platform::open_with(config, &MIGRATIONS).await.unwrap();
        tinhso_platform::demo::seed(&platform).await.unwrap();
        tinhso_onestop::catalog::seed_demo(&platform).await.unwrap();
        Self {
            platform,
            backend: backend.to_owned(),
            pg,
            _dir: dir,
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.pg.is_some()
    }

    pub async fn close(self) {
        self.platform.db.close().await;
        if let Some((admin, name)) = self.pg {
            let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&mut conn)
            .await;
        }
    }
}

async fn database(backend: &str, dir: &std::path::Path) -> (String, Option<(String, String)>) {
    if backend == "sqlite" {
        return (format!("sqlite://{}", dir.join("bench.db").display()), None);
    }
    sqlx::any::install_default_drivers();
    let admin = std::env::var("TINHSO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("tinhso_bench_{}", std::process::id());
    let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    (url, Some((admin, name)))
}

/// Throughput and latency of one measurement.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Runs `op` from `concurrency` tasks for `seconds`; every operation's latency is recorded.
pub async fn measure<F, Fut>(seconds: u64, concurrency: usize, op: F) -> Stats
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for worker in 0..concurrency {
        let (op, done) = (op.clone(), done.clone());
        tasks.spawn(async move {
            let mut n = 0u64;
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                op(worker as u64 * 1_000_000 + n).await;
                latencies.push(t.elapsed());
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
            latencies
        });
    }
    let mut all = Vec::new();
    while let Some(latencies) = tasks.join_next().await {
        all.extend(latencies.unwrap());
    }
    let per_s = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    all.sort();
    let at = |q: f64| {
        all.get(((all.len() as f64 * q) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Stats {
        per_s,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// Baseline: one single-row INSERT + COMMIT per operation into a table of its own.
pub async fn raw_insert_rate(p: &Platform, seconds: u64, concurrency: usize) -> f64 {
    let mut tx = p.db.begin_write().await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS bench_raw (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)",
    )
    .execute(&mut *tx.tx)
    .await
    .unwrap();
    sqlx::raw_sql("DELETE FROM bench_raw")
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let db = p.db.clone();
    measure(seconds, concurrency, move |n| {
        let db = db.clone();
        async move {
            let mut tx = db.begin_write().await.unwrap();
            sqlx::query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)")
                .bind(i64::try_from(n).unwrap())
                .bind("Hồ sơ đăng ký khai sinh — dữ liệu thử nghiệm hiệu năng")
                .execute(&mut *tx.tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
    })
    .await
    .per_s
}

/// A second baseline: the raw insert plus its audit record in the same transaction, the
/// least any audited state change costs (it shows what the audit chain's locking costs).
pub async fn audited_insert_rate(p: &Platform, seconds: u64, concurrency: usize) -> f64 {
    let platform = p.clone();
    measure(seconds, concurrency, move |n| {
        let p = platform.clone();
        async move {
            let ctx = Ctx::cli(p.now_ms());
            let mut tx = p.db.begin_write().await.unwrap();
            let id = i64::try_from(n).unwrap() + 1_000_000_000;
            sqlx::query("INSERT INTO bench_raw (id, payload) VALUES ($1, $2)")
                .bind(id)
                .bind("Hồ sơ đăng ký khai sinh — dữ liệu thử nghiệm hiệu năng")
                .execute(&mut *tx.tx)
                .await
                .unwrap();
            let object_id = id.to_string();
            let change = tinhso_platform::audit::Change::<(), ()> {
                action: "bench.insert",
                object_type: "bench",
                object_id: &object_id,
                before: None,
                after: None,
            };
            p.audit(&mut tx, &ctx, change).await.unwrap();
            tx.commit().await.unwrap();
        }
    })
    .await
    .per_s
}

async fn token(p: &Platform, username: &str) -> String {
    let user = tinhso_platform::identity::user_by_username(p, username)
        .await
        .unwrap()
        .unwrap();
    tinhso_platform::identity::create_api_token(
        p,
        &Ctx::cli(p.now_ms()),
        user.id,
        "bench",
        &tinhso_core::access::Action::ALL,
        1,
    )
    .await
    .unwrap()
    .1
}

/// The application served in-process on 127.0.0.1, with API tokens of the demo's counter
/// officer, specialist and leader.
pub struct Server {
    pub client: reqwest::Client,
    /// `http://127.0.0.1:PORT/api/v1`
    pub base: String,
    pub counter: String,
    pub specialist: String,
    pub leader: String,
    /// The counter intake of each of the demo's communes (the officials hold their roles in
    /// all four); the first is the one the officials' demo grants name.
    intakes: Vec<Value>,
}

/// The demo's communes, where the benchmark's dossiers are filed.
const COMMUNES: [&str; 4] = [
    "000.00.31.H32",
    "000.00.32.H32",
    "000.00.33.H32",
    "000.00.34.H32",
];

/// Gives the demo's counter officer, specialist and leader their roles in every commune.
async fn grant_in_communes(p: &Platform) {
    use tinhso_core::access::Role;
    let ctx = Ctx::cli(p.now_ms());
    for (username, role) in [
        ("motcua", Role::CounterOfficer),
        ("chuyenvien", Role::Specialist),
        ("lanhdao", Role::Leader),
    ] {
        let user = tinhso_platform::identity::user_by_username(p, username)
            .await
            .unwrap()
            .unwrap();
        for code in &COMMUNES[1..] {
            let agency = tinhso_platform::org::resolve_agency_code(p, code)
                .await
                .unwrap()
                .unwrap();
            tinhso_platform::identity::grant_role(p, &ctx, user.id, role, agency.id)
                .await
                .unwrap();
        }
    }
}

impl Server {
    pub async fn start(p: &Platform) -> Arc<Self> {
        let state = tinhso_web::AppState::new(p.clone(), true).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
        tokio::spawn(tinhso_web::serve(
            listener,
            tinhso_web::app(state),
            std::future::pending(),
        ));
        let spec = tinhso_onestop::catalog::get(p, "1.001193")
            .await
            .unwrap()
            .spec;
        let form: serde_json::Map<String, Value> = spec
            .form
            .fields
            .iter()
            .map(|f| {
                use tinhso_onestop::domain::catalog::FieldType;
                let value = match f.field_type {
                    FieldType::Date => "2026-03-02".to_owned(),
                    FieldType::Select => f.options[0].clone(),
                    FieldType::PersonalId => "079200001234".to_owned(),
                    FieldType::Phone => "0905123456".to_owned(),
                    _ => "Khánh Hòa".to_owned(),
                };
                (f.key.clone(), Value::String(value))
            })
            .collect();
        grant_in_communes(p).await;
        let intakes = COMMUNES
            .iter()
            .map(|agency| {
                json!({
                    "procedure_code": "1.001193", "agency_code": agency, "channel": "counter",
                    "applicant": {"name": "Nguyễn Văn Hiệu Năng", "id_number": "079200001234"}, "form": form,
                    // The officer checked the three paper originals at the counter.
                    "documents": [{"requirement": 0, "paper": true}, {"requirement": 1, "paper": true}, {"requirement": 2, "paper": true}],
                })
            })
            .collect();
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Arc::new(Self {
            client,
            base,
            counter: token(p, "motcua").await,
            specialist: token(p, "chuyenvien").await,
            leader: token(p, "lanhdao").await,
            intakes,
        })
    }

    async fn post(&self, bearer: &str, path: &str, body: &Value) -> Value {
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .bearer_auth(bearer)
            .json(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json::<Value>().await.unwrap()
    }

    /// One lifecycle in the first commune: counter intake, start processing, approve,
    /// return result.
    pub async fn lifecycle(&self) {
        self.lifecycle_observed(0, |_| {}).await;
    }

    /// One lifecycle in commune `commune` (modulo the four), calling `after` with each
    /// request's name once its response arrived (the statement count of `bench_lifecycle …
    /// count` is read there).
    pub async fn lifecycle_observed(&self, commune: usize, mut after: impl FnMut(&'static str)) {
        let intake = &self.intakes[commune % self.intakes.len()];
        let filed = self.post(&self.counter, "/dossiers", intake).await;
        after("counter intake");
        let act = format!("/dossiers/{}/actions", filed["code"].as_str().unwrap());
        self.post(
            &self.specialist,
            &act,
            &json!({"action": "start_processing"}),
        )
        .await;
        after("start processing");
        self.post(&self.leader, &act, &json!({"action": "approve"}))
            .await;
        after("approve");
        self.post(
            &self.counter,
            &act,
            &json!({"action": "return_result", "method": "counter"}),
        )
        .await;
        after("return result");
    }

    /// Lifecycles per second from `concurrency` clients, all in the first commune.
    pub async fn lifecycle_rate(self: &Arc<Self>, seconds: u64, concurrency: usize) -> f64 {
        self.lifecycle_rate_in(seconds, concurrency, 1).await
    }

    /// Lifecycles per second from `concurrency` clients, client k filing in commune
    /// k mod `communes` (at most the demo's four).
    pub async fn lifecycle_rate_in(
        self: &Arc<Self>,
        seconds: u64,
        concurrency: usize,
        communes: usize,
    ) -> f64 {
        let server = self.clone();
        let communes = communes.clamp(1, COMMUNES.len()) as u64;
        measure(seconds, concurrency, move |op| {
            let server = server.clone();
            // `op` is client × 1,000,000 + its operation number.
            let commune = (op / 1_000_000 % communes) as usize;
            async move { server.lifecycle_observed(commune, |_| {}).await }
        })
        .await
        .per_s
    }
}

/// CPU time (user + system, milliseconds) used so far by this process and, separately, by
/// every PostgreSQL server process on the machine, read from `/proc` (Linux reports it in
/// ticks of 1/100 s). On a shared VM the wall-clock rate moves with the host's load (steal
/// time); the CPU spent per lifecycle moves far less, so old and new builds compare on it.
pub fn cpu_ms() -> (f64, f64) {
    let ticks = |stat: &str| -> Option<f64> {
        // The command name (field 2) is in parentheses and may hold spaces.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let user: f64 = fields.get(11)?.parse().ok()?;
        let system: f64 = fields.get(12)?.parse().ok()?;
        Some((user + system) * 10.0)
    };
    let own = std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| ticks(&s))
        .unwrap_or(0.0);
    let mut postgres = 0.0;
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let path = entry.path();
        let is_postgres =
            std::fs::read_to_string(path.join("comm")).is_ok_and(|comm| comm.trim() == "postgres");
        if is_postgres && let Ok(stat) = std::fs::read_to_string(path.join("stat")) {
            postgres += ticks(&stat).unwrap_or(0.0);
        }
    }
    (own, postgres)
}
