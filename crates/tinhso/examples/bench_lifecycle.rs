//! Benchmark: full one-stop lifecycles per second through the HTTP API (counter intake →
//! start processing → approve → return result, four requests, each a durable transaction
//! with its audit record), beside the raw durable insert rate of the same database measured
//! in the same run (one single-row INSERT + COMMIT per operation, same concurrency).
//!
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite 10 32
//!   cargo run --release -p tinhso --example bench_lifecycle -- postgres 10 32
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite count
//!
//! Arguments: backend, seconds per measurement (bounded to 60), concurrency (bounded to 256).
//! With `count` instead, a few lifecycles run one after another and the SQL statements each
//! request sends (sqlx's per-statement `sqlx::query` events, all requests of the server and
//! its background workers alike) are counted and printed per request: the work of an action
//! follows that number, each statement being a hand-off to the driver.
//! PostgreSQL: a fresh database is created from TINHSO_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards. Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::layer::SubscriberExt;

/// Counts sqlx's per-statement events (target `sqlx::query`), nothing else.
struct StatementCounter(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// Lifecycles run one after another in `count` mode: the first warms the caches, the rest
/// must all show the same counts.
const COUNTED_LIFECYCLES: usize = 5;

async fn count_statements(backend: &str) {
    let counter = Arc::new(AtomicU64::new(0));
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::query", tracing::Level::TRACE);
    let subscriber = tracing_subscriber::registry()
        .with(StatementCounter(counter.clone()))
        .with(filter);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let db = common::BenchDb::open(backend).await;
    let server = common::Server::start(&db.platform).await;
    for round in 0..COUNTED_LIFECYCLES {
        let mut last = counter.load(Ordering::Relaxed);
        let mut line = Vec::new();
        server
            .lifecycle_observed(|request| {
                let now = counter.load(Ordering::Relaxed);
                line.push(format!("{request}={}", now - last));
                last = now;
            })
            .await;
        println!(
            "backend={backend} lifecycle={round} statements: {}",
            line.join(" ")
        );
    }
    db.close().await;
}

#[tokio::main]
async fn main() {
    if std::env::args().nth(2).as_deref() == Some("count") {
        let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
        count_statements(&backend).await;
        return;
    }
    let (backend, seconds, concurrency) = common::args();
    let db = common::BenchDb::open(&backend).await;
    let raw = common::raw_insert_rate(&db.platform, seconds, concurrency).await;
    let server = common::Server::start(&db.platform).await;
    let lifecycles = server.lifecycle_rate(seconds, concurrency).await;
    println!(
        "backend={backend} concurrency={concurrency} seconds={seconds} lifecycles_per_s={lifecycles:.1} requests_per_s={:.1} baseline_raw_durable_inserts_per_s={raw:.1}",
        lifecycles * 4.0
    );
    db.close().await;
}
