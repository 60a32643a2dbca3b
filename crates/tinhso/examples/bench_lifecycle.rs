//! Benchmark: full one-stop lifecycles per second through the HTTP API (counter intake →
//! start processing → approve → return result, four requests, each a durable transaction
//! with its audit record), beside the raw durable insert rate of the same database measured
//! in the same run (one single-row INSERT + COMMIT per operation, same concurrency).
//!
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite 10 32
//!   cargo run --release -p tinhso --example bench_lifecycle -- postgres 10 32
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite count
//!   cargo run --release -p tinhso --example bench_lifecycle -- sqlite count sql
//!
//! Arguments: backend, seconds per measurement (bounded to 60), concurrency (bounded to 256).
//! Lifecycles are measured twice: every dossier filed in one commune (all intakes queue for
//! that commune's daily counter, the worst case), then client k filing in the k-th of the
//! demo's four communes (the officials are given their roles there), as a province's
//! intakes spread over its agencies. `BENCH_WORKER_THREADS=n` runs n async worker threads
//! instead of one per core.
//! With `count` instead, a few lifecycles run one after another and the SQL statements each
//! request sends (sqlx's per-statement `sqlx::query` events, all requests of the server and
//! its background workers alike) are counted and printed per request: the work of an action
//! follows that number, each statement being a hand-off to the driver. `count sql` also
//! prints the opening words of each statement. The load run also prints how many write
//! transactions ran, their mean time from `BEGIN` to `COMMIT`, and on SQLite the share of
//! the run during which the one write lock was held.
//! PostgreSQL: a fresh database is created from TINHSO_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres) and dropped afterwards. Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

/// The allocator of the `tinhso` binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tracing_subscriber::layer::SubscriberExt;

/// Counts sqlx's per-statement events (target `sqlx::query`), nothing else; with `true`,
/// also prints each statement's opening words.
struct StatementCounter(Arc<AtomicU64>, bool);

/// The `summary` field of sqlx's statement event.
struct Summary(String);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = format!("{value:?}");
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for StatementCounter {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() == "sqlx::query" {
            self.0.fetch_add(1, Ordering::Relaxed);
            if self.1 {
                let mut summary = Summary(String::new());
                event.record(&mut summary);
                println!("  {}", summary.0);
            }
        }
    }
}

/// Lifecycles run one after another in `count` mode: the first warms the caches, the rest
/// must all show the same counts.
const COUNTED_LIFECYCLES: usize = 5;

async fn count_statements(backend: &str, show: bool) {
    let counter = Arc::new(AtomicU64::new(0));
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("sqlx::query", tracing::Level::TRACE);
    let subscriber = tracing_subscriber::registry()
        .with(StatementCounter(counter.clone(), show))
        .with(filter);
    tracing::subscriber::set_global_default(subscriber).unwrap();
    let db = common::BenchDb::open(backend).await;
    let server = common::Server::start(&db.platform).await;
    for round in 0..COUNTED_LIFECYCLES {
        let mut last = counter.load(Ordering::Relaxed);
        let mut line = Vec::new();
        server
            .lifecycle_observed(0, |request| {
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

fn main() {
    let mut runtime = common::runtime_builder();
    // The server's runtime has one async worker per core; this tries other counts.
    if let Some(threads) = std::env::var("BENCH_WORKER_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        runtime.worker_threads(threads);
    }
    if let Some(ticks) = std::env::var("BENCH_GLOBAL_QUEUE_INTERVAL")
        .ok()
        .and_then(|t| t.parse().ok())
    {
        runtime.global_queue_interval(ticks);
    }
    runtime.build().unwrap().block_on(main_async());
}

async fn main_async() {
    if std::env::args().nth(2).as_deref() == Some("count") {
        let backend = std::env::args().nth(1).unwrap_or_else(|| "sqlite".into());
        let show = std::env::args().nth(3).as_deref() == Some("sql");
        count_statements(&backend, show).await;
        return;
    }
    let (backend, seconds, concurrency) = common::args();
    let db = common::BenchDb::open(&backend).await;
    let raw = common::raw_insert_rate(&db.platform, seconds, concurrency).await;
    let audited = common::audited_insert_rate(&db.platform, seconds, concurrency).await;
    let server = common::Server::start(&db.platform).await;
    let (n0, held0) = db.platform.db.write_lock_use().totals();
    let (own0, postgres0) = common::cpu_ms();
    let started = std::time::Instant::now();
    let lifecycles = server.lifecycle_rate(seconds, concurrency).await;
    let (n1, held1) = db.platform.db.write_lock_use().totals();
    let (own1, postgres1) = common::cpu_ms();
    let elapsed = started.elapsed().as_secs_f64();
    let spread = server.lifecycle_rate_in(seconds, concurrency, 4).await;
    let held = (held1 - held0).as_secs_f64();
    let transactions = (n1 - n0).max(1) as f64;
    // SQLite's writers take turns: the share of time one of them held the lock is the
    // first limit of write throughput. PostgreSQL's run side by side (time per transaction).
    let busy = if db.is_postgres() {
        String::new()
    } else {
        format!(" write_lock_busy_percent={:.0}", 100.0 * held / elapsed)
    };
    // Server and clients share the process: its CPU per lifecycle is an upper bound of the
    // server's.
    let done = (lifecycles * elapsed).max(1.0);
    let postgres_cpu = if db.is_postgres() {
        format!(
            " postgres_cpu_ms_per_lifecycle={:.2}",
            (postgres1 - postgres0) / done
        )
    } else {
        String::new()
    };
    println!(
        "backend={backend} write_transactions={} mean_transaction_ms={:.3}{busy} process_cpu_ms_per_lifecycle={:.2}{postgres_cpu}",
        n1 - n0,
        held * 1e3 / transactions,
        (own1 - own0) / done
    );
    println!(
        "backend={backend} concurrency={concurrency} seconds={seconds} lifecycles_per_s={lifecycles:.1} requests_per_s={:.1} lifecycles_per_s_over_4_communes={spread:.1} baseline_raw_durable_inserts_per_s={raw:.1} baseline_audited_inserts_per_s={audited:.1}",
        lifecycles * 4.0
    );
    db.close().await;
}
