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

mod common;

#[tokio::main]
async fn main() {
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
