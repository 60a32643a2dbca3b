//! Benchmark: full one-stop lifecycles per second through the HTTP API (counter intake →
//! start processing → approve → return result, four requests, each a durable transaction
//! with its audit record), beside the raw durable insert rate of the same database measured
//! in the same run (one single-row INSERT + COMMIT per operation, same concurrency).
//!
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite 10 32
//!   cargo run --release -p tinhso --example bench_lifecycle -- postgres 10 32
//!
//! Arguments: backend, seconds per measurement (bounded to 60), concurrency (bounded to 256).
//! PostgreSQL: a fresh database is created from TINHSO_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards. Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::{Value, json};
use sqlx::Connection;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tinhso_platform::{Config, Ctx, Platform};

const MIGRATIONS: [&[tinhso_platform::Migration]; 2] = [
    tinhso_platform::FOUNDATION_MIGRATIONS,
    tinhso_onestop::MIGRATIONS,
];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = args.get(1).cloned().unwrap_or_else(|| "sqlite".into());
    let seconds: u64 = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10)
        .clamp(1, 60);
    let concurrency: usize = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 256);
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = database(&backend, dir.path()).await;

    let mut config = Config::default();
    config.server.data_dir = dir.path().to_path_buf();
    config.database.url = url.clone();
    config.database.max_connections = 32;
    config.security.login_rate_per_minute = 1_000_000;
    config.log.level = "warn".into();
    let platform = Platform::open_with(config, &MIGRATIONS).await.unwrap();
    tinhso_platform::demo::seed(&platform).await.unwrap();
    tinhso_onestop::catalog::seed_demo(&platform).await.unwrap();

    let raw = raw_insert_rate(&platform, seconds, concurrency).await;
    let lifecycles = lifecycle_rate(&platform, seconds, concurrency).await;
    println!(
        "backend={backend} concurrency={concurrency} seconds={seconds} lifecycles_per_s={lifecycles:.1} requests_per_s={:.1} baseline_raw_durable_inserts_per_s={raw:.1}",
        lifecycles * 4.0
    );
    platform.db.close().await;
    if let Some((admin, name)) = pg {
        let mut conn = sqlx::AnyConnection::connect(&admin).await.unwrap();
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await;
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

/// Runs `op` from `concurrency` tasks for `seconds`; returns completed operations per second.
async fn measure<F, Fut>(seconds: u64, concurrency: usize, op: F) -> f64
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
            while Instant::now() < deadline {
                op(worker as u64 * 1_000_000 + n).await;
                n += 1;
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

async fn raw_insert_rate(p: &Platform, seconds: u64, concurrency: usize) -> f64 {
    let mut tx = p.db.begin_write().await.unwrap();
    sqlx::raw_sql("CREATE TABLE bench_raw (id BIGINT PRIMARY KEY, payload TEXT NOT NULL)")
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

async fn lifecycle_rate(p: &Platform, seconds: u64, concurrency: usize) -> f64 {
    let state = tinhso_web::AppState::new(p.clone(), true).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/api/v1", listener.local_addr().unwrap());
    tokio::spawn(tinhso_web::serve(
        listener,
        tinhso_web::app(state),
        std::future::pending(),
    ));
    let (counter, specialist, leader) = (
        token(p, "motcua").await,
        token(p, "chuyenvien").await,
        token(p, "lanhdao").await,
    );
    let spec = tinhso_onestop::catalog::get(p, "1.001193")
        .await
        .unwrap()
        .spec;
    let form: serde_json::Map<String, Value> = spec
        .form
        .fields
        .iter()
        .map(|f| {
            let value = match f.field_type {
                tinhso_onestop::domain::catalog::FieldType::Date => "2026-03-02".to_owned(),
                tinhso_onestop::domain::catalog::FieldType::Select => f.options[0].clone(),
                tinhso_onestop::domain::catalog::FieldType::PersonalId => "079200001234".to_owned(),
                tinhso_onestop::domain::catalog::FieldType::Phone => "0905123456".to_owned(),
                _ => "Khánh Hòa".to_owned(),
            };
            (f.key.clone(), Value::String(value))
        })
        .collect();
    let intake = json!({
        "procedure_code": "1.001193", "agency_code": "000.00.31.H32", "channel": "counter",
        "applicant": {"name": "Nguyễn Văn Hiệu Năng", "id_number": "079200001234"}, "form": form,
        // The officer checked the three paper originals at the counter.
        "documents": [{"requirement": 0, "paper": true}, {"requirement": 1, "paper": true}, {"requirement": 2, "paper": true}],
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let shared = Arc::new((client, base, counter, specialist, leader, intake));
    measure(seconds, concurrency, move |_| {
        let shared = shared.clone();
        async move {
            let (client, base, counter, specialist, leader, intake) = &*shared;
            let post = |bearer: &str, path: String, body: Value| {
                let request = client
                    .post(format!("{base}{path}"))
                    .bearer_auth(bearer)
                    .json(&body);
                async move {
                    let response = request.send().await.unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                    response.json::<Value>().await.unwrap()
                }
            };
            let filed = post(counter, "/dossiers".into(), intake.clone()).await;
            let code = filed["code"].as_str().unwrap().to_owned();
            let act = format!("/dossiers/{code}/actions");
            post(
                specialist,
                act.clone(),
                json!({"action": "start_processing"}),
            )
            .await;
            post(leader, act.clone(), json!({"action": "approve"})).await;
            post(
                counter,
                act,
                json!({"action": "return_result", "method": "counter"}),
            )
            .await;
        }
    })
    .await
}
