//! Benchmark: the one-stop shop with 1,000,000 stored dossiers against the empty database.
//!
//!   cargo run --release -p tinhso --example bench_million -- sqlite 10 32
//!   cargo run --release -p tinhso --example bench_million -- postgres 10 32
//!
//! Arguments: backend, seconds per measurement (1–60), concurrency (1–256), and optionally
//! the number of dossiers to load (default 1,000,000, at most 2,000,000).
//!
//! On a fresh database with the demo it measures, through the HTTP API of the in-process
//! server on 127.0.0.1: public status lookups (`GET /public/dossiers/{code}?check=NNNN`,
//! latency p50/p99 and lookups/s) and lifecycles/s (`common::Server::lifecycle`); beside them
//! the baseline, a single-row `SELECT … WHERE id = $1` through the same pool at the same
//! concurrency, and one officer's inbox and the province-wide statistics of the year. Then it
//! bulk-loads the dossiers with their history and measures the same again.
//!
//! The load bypasses the API on purpose, for loading only: multi-row INSERTs in transactions
//! of 50,000 dossiers, written straight to `dossiers`, `dossier_events` and
//! `dossier_counters`. Codes follow the real `{agency}-{yyMMdd}-{NNNN}` format, continuing
//! each agency's day counter, and the counters are set to the last number used, so API
//! submissions made afterwards (the lifecycles at 1M) continue the sequence without a
//! collision; PostgreSQL's identity sequences are moved past the explicit ids. The spread:
//! the 365 days up to today (weekends light), communes receiving commune-level procedures
//! and departments province-level ones, channels and statuses by age (old dossiers mostly
//! returned, recent ones open). After the load: ANALYZE (VACUUM ANALYZE on PostgreSQL), and
//! the query plans of the lookup, inbox and statistics queries are printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::{Datelike, Duration as Days, NaiveDate};
use rand::{Rng, SeedableRng};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tinhso_onestop::domain::catalog::Level;
use tinhso_platform::Platform;

/// Dossiers per transaction of the load, and rows per INSERT statement.
const TX_DOSSIERS: usize = 50_000;
const STATEMENT_ROWS: usize = 1_000;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

fn main() {
    common::runtime_builder()
        .build()
        .unwrap()
        .block_on(main_async());
}

async fn main_async() {
    let (backend, seconds, concurrency) = common::args();
    let dossiers: usize = std::env::args()
        .nth(4)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000)
        .clamp(1, 2_000_000);
    let db = common::BenchDb::open(&backend).await;
    let p = db.platform.clone();
    let server = common::Server::start(&p).await;
    // Bounded as a whole: a stuck database ends the run instead of hanging it.
    let run = async {
        let raw_inserts = common::raw_insert_rate(&p, seconds, concurrency).await;
        let empty = phase(&p, &server, seconds, concurrency).await;
        let started = Instant::now();
        let (loaded, events) = bulk_load(&p, dossiers).await;
        let load_s = started.elapsed().as_secs_f64();
        println!(
            "loaded {loaded} dossiers and {events} events in {load_s:.1} s ({:.0} dossiers/s)",
            loaded as f64 / load_s
        );
        let started = Instant::now();
        analyze(&p, db.is_postgres()).await;
        let analyze_s = started.elapsed().as_secs_f64();
        explain(&p, db.is_postgres()).await;
        let full = phase(&p, &server, seconds, concurrency).await;
        report(
            &backend,
            seconds,
            concurrency,
            raw_inserts,
            &empty,
            &full,
            (loaded, events, load_s, analyze_s),
        );
    };
    if tokio::time::timeout(Duration::from_secs(3_600), run)
        .await
        .is_err()
    {
        eprintln!("bench_million: gave up after an hour");
    }
    db.close().await;
}

/// What one phase measures.
struct Phase {
    dossiers: i64,
    lookups: common::Stats,
    by_id: common::Stats,
    lifecycles: f64,
    inbox_ms: f64,
    statistics_ms: f64,
}

async fn phase(
    p: &Platform,
    server: &Arc<common::Server>,
    seconds: u64,
    concurrency: usize,
) -> Phase {
    let lifecycles = server.lifecycle_rate(seconds, concurrency).await;
    let sample = Arc::new(sample_dossiers(p, 2_000).await);
    let db = p.db.clone();
    let ids = sample.clone();
    let by_id = common::measure(seconds, concurrency, move |n| {
        let (db, ids) = (db.clone(), ids.clone());
        async move {
            let (id, _, _) = &ids[n as usize % ids.len()];
            let code: String = sqlx::query_scalar("SELECT code FROM dossiers WHERE id = $1")
                .bind(*id)
                .fetch_one(db.pool())
                .await
                .unwrap();
            assert!(!code.is_empty());
        }
    })
    .await;
    let lookup_server = server.clone();
    let codes = sample.clone();
    let lookups = common::measure(seconds, concurrency, move |n| {
        let (server, codes) = (lookup_server.clone(), codes.clone());
        async move {
            // Spread over the sample so caches see the whole table, not one row.
            let (_, code, check) = &codes[(n as usize * 7919) % codes.len()];
            let response = server
                .client
                .get(format!(
                    "{}/public/dossiers/{code}?check={check}",
                    server.base
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200, "{code}");
            let _ = response.bytes().await.unwrap();
        }
    })
    .await;
    let today = chrono::Utc::now()
        .with_timezone(&tinhso_core::calendar::vietnam_offset())
        .date_naive();
    let statistics = format!(
        "/statistics?agency=000.00.00.H32&from={}&to={today}",
        today - Days::days(364)
    );
    let inbox_ms = median_ms(server, "/dossiers", Some(&server.counter)).await;
    let statistics_ms = median_ms(server, &statistics, None).await;
    let dossiers = sqlx::query_scalar("SELECT COUNT(*) FROM dossiers")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    Phase {
        dossiers,
        lookups,
        by_id,
        lifecycles,
        inbox_ms,
        statistics_ms,
    }
}

/// Median of up to five sequential GETs, fewer when they take more than 20 s together
/// (each bounded to 10 minutes).
async fn median_ms(server: &common::Server, path: &str, bearer: Option<&str>) -> f64 {
    let mut times = Vec::new();
    let started = Instant::now();
    while times.len() < 5 && started.elapsed() < Duration::from_secs(20) {
        let mut request = server
            .client
            .get(format!("{}{path}", server.base))
            .timeout(Duration::from_secs(600));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let t = Instant::now();
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let _ = response.bytes().await.unwrap();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Random stored dossiers: (id, code, last four digits of the applicant's ID number).
async fn sample_dossiers(p: &Platform, n: usize) -> Vec<(i64, String, String)> {
    let max: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM dossiers")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let ids: Vec<String> = (0..n).map(|_| rng.gen_range(1..=max).to_string()).collect();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, code, applicant_id_number FROM dossiers WHERE id IN ({})",
        ids.join(",")
    )))
    .fetch_all(p.db.pool())
    .await
    .unwrap();
    let sample: Vec<_> = rows
        .iter()
        .map(|r| {
            let id_number: String = r.get(2);
            (
                r.get(0),
                r.get(1),
                id_number[id_number.len() - 4..].to_owned(),
            )
        })
        .collect();
    assert!(!sample.is_empty());
    sample
}

// ---------------------------------------------------------------------------------------
// The bulk load

struct Agency {
    id: i64,
    code: String,
    commune: bool,
}

struct Procedure {
    version_id: i64,
    code: String,
    hours: i64,
    commune: bool,
}

/// SQL string literal (the generated texts hold no quote, but the load must not depend on it).
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn opt(v: Option<i64>) -> String {
    v.map_or_else(|| "NULL".to_owned(), |v| v.to_string())
}

const FAMILY: [&str; 10] = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng",
];
const MIDDLE: [&str; 6] = ["Văn", "Thị", "Minh", "Ngọc", "Hữu", "Thanh"];
const GIVEN: [&str; 12] = [
    "An", "Bình", "Châu", "Dũng", "Hà", "Hải", "Hoa", "Khánh", "Lan", "Nam", "Phúc", "Trang",
];

/// One dossier's history: (action, from, to) in order.
fn history(status: &str, online: bool) -> Vec<(&'static str, Option<&'static str>, &'static str)> {
    let mut events = vec![(
        "submit",
        None,
        if online { "submitted" } else { "received" },
    )];
    if status == "submitted" {
        return events;
    }
    if status == "not_accepted" {
        events[0] = ("submit", None, "submitted");
        events.push(("refuse", Some("submitted"), "not_accepted"));
        return events;
    }
    if online {
        events.push(("accept", Some("submitted"), "received"));
    }
    match status {
        "received" => return events,
        "withdrawn" => {
            events.push(("withdraw", Some("received"), "withdrawn"));
            return events;
        }
        _ => events.push(("start_processing", Some("received"), "processing")),
    }
    match status {
        "supplement_requested" => events.push((
            "request_supplement",
            Some("processing"),
            "supplement_requested",
        )),
        "awaiting_payment" => {
            events.push(("request_payment", Some("processing"), "awaiting_payment"))
        }
        "stopped" => events.push(("suspend", Some("processing"), "stopped")),
        "resolved" => events.push(("approve", Some("processing"), "resolved")),
        "returned" => {
            events.push(("approve", Some("processing"), "resolved"));
            events.push(("return_result", Some("resolved"), "returned"));
        }
        _ => {}
    }
    events
}

/// A status by age in days, from cumulative weights.
fn status_for(age: i64, rng: &mut impl Rng) -> &'static str {
    let table: &[(&str, u32)] = if age > 45 {
        &[
            ("returned", 880),
            ("resolved", 30),
            ("processing", 20),
            ("withdrawn", 30),
            ("not_accepted", 30),
            ("stopped", 10),
        ]
    } else if age > 14 {
        &[
            ("returned", 600),
            ("resolved", 150),
            ("processing", 150),
            ("supplement_requested", 40),
            ("awaiting_payment", 20),
            ("withdrawn", 20),
            ("not_accepted", 20),
        ]
    } else {
        &[
            ("submitted", 100),
            ("received", 150),
            ("processing", 450),
            ("supplement_requested", 50),
            ("awaiting_payment", 50),
            ("resolved", 100),
            ("returned", 100),
        ]
    };
    let total: u32 = table.iter().map(|(_, w)| w).sum();
    let mut pick = rng.gen_range(0..total);
    for (status, weight) in table {
        if pick < *weight {
            return status;
        }
        pick -= weight;
    }
    "returned"
}

async fn bulk_load(p: &Platform, n: usize) -> (usize, usize) {
    let agencies: Vec<Agency> = sqlx::query("SELECT id, code, level FROM agencies WHERE active = 1 AND parent_id IS NOT NULL ORDER BY id")
        .fetch_all(p.db.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| Agency {
            id: r.get(0),
            code: r.get(1),
            commune: r.get::<String, _>(2) == "commune",
        })
        .collect();
    let procedures: Vec<Procedure> = tinhso_onestop::catalog::list(p)
        .await
        .unwrap()
        .into_iter()
        .map(|s| Procedure {
            version_id: s.version_id,
            hours: i64::try_from(s.spec.processing_time.hours()).unwrap(),
            commune: s.spec.levels.contains(&Level::Commune),
            code: s.spec.code,
        })
        .collect();
    let mut counters: HashMap<(String, String), i64> =
        sqlx::query("SELECT agency_code, day, last_seq FROM dossier_counters")
            .fetch_all(p.db.pool())
            .await
            .unwrap()
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
    let next_id = |table: &'static str| async move {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COALESCE(MAX(id), 0) FROM {table}"
        )))
        .fetch_one(p.db.pool())
        .await
        .unwrap()
            + 1
    };
    let (mut dossier_id, mut event_id) =
        (next_id("dossiers").await, next_id("dossier_events").await);

    // Day × agency weights: communes receive most dossiers; weekends a tenth of a weekday.
    let offset = tinhso_core::calendar::vietnam_offset();
    let today = chrono::Utc::now().with_timezone(&offset).date_naive();
    let days: Vec<NaiveDate> = (0..365).rev().map(|a| today - Days::days(a)).collect();
    let day_weight = |d: &NaiveDate| {
        if d.weekday().number_from_monday() >= 6 {
            1.0
        } else {
            10.0
        }
    };
    let agency_weight = |a: &Agency| if a.commune { 7.0 } else { 1.0 };
    let total: f64 =
        days.iter().map(day_weight).sum::<f64>() * agencies.iter().map(agency_weight).sum::<f64>();
    let mut cells = Vec::new();
    let mut assigned = 0usize;
    for d in &days {
        for (ai, a) in agencies.iter().enumerate() {
            let count = (n as f64 * day_weight(d) * agency_weight(a) / total).floor() as usize;
            cells.push((*d, ai, count));
            assigned += count;
        }
    }
    // What rounding down left over (fewer than the cells): one more for the first cells.
    let cell_count = cells.len();
    for i in 0..n - assigned {
        cells[i % cell_count].2 += 1;
    }

    let mut rng = rand::rngs::StdRng::seed_from_u64(42);
    let now_ms = p.now_ms();
    let (mut dossier_rows, mut event_rows) = (Vec::new(), Vec::new());
    let (mut loaded, mut events_loaded, mut in_tx) = (0usize, 0usize, 0usize);
    let mut tx = p.db.begin_write().await.unwrap();
    for (day, ai, count) in cells {
        let agency = &agencies[ai];
        let fitting: Vec<&Procedure> = procedures
            .iter()
            .filter(|pr| pr.commune == agency.commune)
            .collect();
        let fitting = if fitting.is_empty() {
            procedures.iter().collect()
        } else {
            fitting
        };
        let key = (agency.code.clone(), day.to_string());
        let mut seq = counters.get(&key).copied().unwrap_or(0);
        let day_start = day
            .and_hms_opt(7, 30, 0)
            .unwrap()
            .and_local_timezone(offset)
            .unwrap()
            .timestamp_millis();
        let age = (today - day).num_days();
        for _ in 0..count {
            seq += 1;
            let procedure = fitting[rng.gen_range(0..fitting.len())];
            let code = tinhso_onestop::domain::dossier::dossier_code(&agency.code, day, seq);
            let channel = match rng.gen_range(0..100) {
                0..45 => "online",
                45..95 => "counter",
                _ => "postal",
            };
            let online = channel == "online";
            let mut status = status_for(age, &mut rng);
            if status == "submitted" && !online {
                status = "received";
            }
            let submitted = (day_start + rng.gen_range(0..9 * HOUR_MS)).min(now_ms - HOUR_MS);
            let name = format!(
                "{} {} {}",
                FAMILY[rng.gen_range(0..FAMILY.len())],
                MIDDLE[rng.gen_range(0..MIDDLE.len())],
                GIVEN[rng.gen_range(0..GIVEN.len())]
            );
            let id_number = format!(
                "056{}{:08}",
                rng.gen_range(0..10),
                rng.gen_range(0..100_000_000u32)
            );
            let phone = format!("09{:08}", rng.gen_range(0..100_000_000u32));
            let steps = history(status, online);
            // Times along the history: receipt within two hours, processing within the
            // statutory time (calendar days ≈ working days × 7/5), sometimes late.
            let received = (status != "submitted" && status != "not_accepted").then(|| {
                submitted
                    + if online {
                        rng.gen_range(0..2 * HOUR_MS)
                    } else {
                        0
                    }
            });
            let budget_ms = (procedure.hours * HOUR_MS * 3 * 7 / 5).max(HOUR_MS);
            let due = received.map(|r| r + budget_ms);
            // One span per dossier, the events spread along it: 0.3–1.15 of the budget, so
            // some finish late.
            let span = (budget_ms as f64 * rng.gen_range(0.3..1.15)) as i64;
            let base = received.unwrap_or(submitted);
            let times: Vec<i64> = (0..steps.len())
                .map(|i| {
                    if i == 0 {
                        submitted
                    } else {
                        (base + span * i as i64 / steps.len() as i64).clamp(submitted, now_ms - 1)
                    }
                })
                .collect();
            let resolved = steps
                .iter()
                .position(|(action, _, _)| *action == "approve")
                .map(|i| times[i]);
            let resolved_late = match (resolved, due) {
                (Some(r), Some(d)) => i64::from(r > d),
                _ => 0,
            };
            let last = *times.last().unwrap();
            let closed = matches!(
                status,
                "returned" | "withdrawn" | "not_accepted" | "stopped"
            )
            .then_some(last);
            let clock = received.map(|r| {
                let running = matches!(status, "received" | "processing");
                serde_json::json!({
                    "budget_minutes": procedure.hours * 60,
                    "consumed_seconds": if running { 0 } else { (last - r).max(0) / 1000 },
                    "running_since": running.then(|| chrono::DateTime::from_timestamp_millis(r).unwrap().with_timezone(&offset)),
                })
                .to_string()
            });
            let updated = *times.last().unwrap();
            dossier_rows.push(format!(
                "({dossier_id}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {submitted}, {}, {}, {}, {}, {resolved_late}, {}, {}, {updated})",
                lit(&code),
                agency.id,
                procedure.version_id,
                lit(&procedure.code),
                lit(&name),
                lit(&id_number),
                lit(&phone),
                lit(channel),
                lit(status),
                lit(&format!("{{\"ho_ten\":\"{name}\",\"ghi_chu\":\"dữ liệu nạp cho phép đo\"}}")),
                opt(received),
                opt(due),
                clock.as_deref().map_or_else(|| "NULL".to_owned(), lit),
                opt(resolved),
                opt(closed),
                if status == "returned" { lit("counter") } else { "NULL".to_owned() },
            ));
            for (i, (action, from, to)) in steps.iter().enumerate() {
                event_rows.push(format!(
                    "({event_id}, {dossier_id}, {}, {}, {}, {}, {}, {})",
                    times[i],
                    lit(if i == 0 && !online {
                        "motcua"
                    } else {
                        "system"
                    }),
                    lit(action),
                    from.map_or_else(|| "NULL".to_owned(), lit),
                    lit(to),
                    if *to == "received" {
                        opt(due)
                    } else {
                        "NULL".to_owned()
                    },
                ));
                event_id += 1;
            }
            dossier_id += 1;
            loaded += 1;
            in_tx += 1;
            if dossier_rows.len() >= STATEMENT_ROWS {
                events_loaded += flush(&mut tx, &mut dossier_rows, &mut event_rows).await;
            }
            if in_tx >= TX_DOSSIERS {
                events_loaded += flush(&mut tx, &mut dossier_rows, &mut event_rows).await;
                tx.commit().await.unwrap();
                tx = p.db.begin_write().await.unwrap();
                in_tx = 0;
            }
        }
        if seq > counters.get(&key).copied().unwrap_or(0) {
            counters.insert(key, seq);
        }
    }
    events_loaded += flush(&mut tx, &mut dossier_rows, &mut event_rows).await;
    let counter_rows: Vec<String> = counters
        .iter()
        .map(|((agency, day), last)| format!("({}, {}, {last})", lit(agency), lit(day)))
        .collect();
    for chunk in counter_rows.chunks(STATEMENT_ROWS) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO dossier_counters (agency_code, day, last_seq) VALUES {} ON CONFLICT (agency_code, day) DO UPDATE SET last_seq = excluded.last_seq",
            chunk.join(",")
        )))
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    (loaded, events_loaded)
}

/// Writes the pending rows (dossiers first: events reference them); returns events written.
async fn flush(
    tx: &mut tinhso_platform::WriteTx,
    dossiers: &mut Vec<String>,
    events: &mut Vec<String>,
) -> usize {
    if !dossiers.is_empty() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO dossiers (id, code, agency_id, procedure_version_id, procedure_code, applicant_name, applicant_id_number, applicant_phone, channel, status, form_json, submitted_ms, received_ms, due_ms, clock_json, resolved_ms, resolved_late, closed_ms, result_method, updated_ms) VALUES {}",
            dossiers.join(",")
        )))
        .execute(&mut *tx.tx)
        .await
        .unwrap();
        dossiers.clear();
    }
    let written = events.len();
    for chunk in events.chunks(STATEMENT_ROWS * 4) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "INSERT INTO dossier_events (id, dossier_id, at_ms, actor, action, from_status, to_status, due_ms) VALUES {}",
            chunk.join(",")
        )))
        .execute(&mut *tx.tx)
        .await
        .unwrap();
    }
    events.clear();
    written
}

/// Fresh statistics for the planner; PostgreSQL's identity sequences moved past the loaded ids.
async fn analyze(p: &Platform, postgres: bool) {
    let statements: &[&str] = if postgres {
        &[
            "SELECT setval(pg_get_serial_sequence('dossiers', 'id'), (SELECT MAX(id) FROM dossiers))",
            "SELECT setval(pg_get_serial_sequence('dossier_events', 'id'), (SELECT MAX(id) FROM dossier_events))",
            "VACUUM ANALYZE dossiers",
            "VACUUM ANALYZE dossier_events",
            "VACUUM ANALYZE dossier_counters",
        ]
    } else {
        // ANALYZE writes its statistics: on the writer (the pool's SQLite connections only
        // read); the checkpoint may run on any connection.
        let mut tx = p.db.begin_write().await.unwrap();
        sqlx::raw_sql("ANALYZE").execute(&mut *tx.tx).await.unwrap();
        tx.commit().await.unwrap();
        &["PRAGMA wal_checkpoint(TRUNCATE)"]
    };
    for sql in statements {
        sqlx::raw_sql(*sql).execute(p.db.pool()).await.unwrap();
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// The plans of the read paths that grow with the table. The statements mirror
/// `tinhso_onestop::dossiers::{public_status, load, inbox}` and `statistics::compute`
/// (which keep them private); keep them in step when those queries change.
async fn explain(p: &Platform, postgres: bool) {
    let (code, id): (String, i64) = {
        let row = sqlx::query("SELECT code, id FROM dossiers ORDER BY id DESC LIMIT 1")
            .fetch_one(p.db.pool())
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    let path: String = sqlx::query_scalar("SELECT path FROM agencies WHERE code = '000.00.31.H32'")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    let root: String = sqlx::query_scalar("SELECT path FROM agencies WHERE code = '000.00.00.H32'")
        .fetch_one(p.db.pool())
        .await
        .unwrap();
    let year_ago = p.now_ms() - 365 * DAY_MS;
    let queries: Vec<(&str, &str, Vec<Bind>)> = vec![
        (
            "public_status",
            "SELECT d.applicant_id_number, d.applicant_phone, d.procedure_version_id, a.name FROM dossiers d JOIN agencies a ON a.id = d.agency_id WHERE d.code = $1",
            vec![Bind::Text(code.clone())],
        ),
        (
            "load",
            "SELECT d.id, d.code, d.status, d.procedure_code, v.version, a.code, d.channel, d.applicant_name, d.submitted_ms, d.received_ms, d.due_ms, d.resolved_late, d.apology_due_ms FROM dossiers d JOIN procedure_versions v ON v.id = d.procedure_version_id JOIN agencies a ON a.id = d.agency_id WHERE d.code = $1",
            vec![Bind::Text(code)],
        ),
        (
            "load events",
            "SELECT at_ms, action, from_status, to_status, note, due_ms FROM dossier_events WHERE dossier_id = $1 ORDER BY id",
            vec![Bind::Int(id)],
        ),
        (
            "inbox (one commune)",
            "SELECT d.code, d.procedure_code, d.status, d.due_ms, s.name, s.due_ms FROM dossiers d LEFT JOIN dossier_steps s ON s.dossier_id = d.id AND s.completed_ms IS NULL WHERE d.status IN ('submitted', 'received', 'processing', 'supplement_requested', 'awaiting_payment', 'resolved') AND (d.agency_id IN (SELECT id FROM agencies WHERE path LIKE $1) OR d.handling_agency_id IN (SELECT id FROM agencies WHERE path LIKE $1)) ORDER BY d.due_ms IS NULL, d.due_ms, d.id LIMIT 500",
            vec![Bind::Text(format!("{path}%"))],
        ),
        (
            "statistics (province, year)",
            "SELECT d.channel, d.submitted_ms, d.received_ms, d.due_ms, d.resolved_ms, d.resolved_late, d.status FROM dossiers d JOIN agencies a ON a.id = d.agency_id WHERE a.path LIKE $1 AND ($2 = '' OR d.procedure_code = $2) AND d.submitted_ms < $4 AND (d.resolved_ms IS NULL OR d.resolved_ms >= $3 OR d.submitted_ms >= $3)",
            vec![
                Bind::Text(format!("{root}%")),
                Bind::Text(String::new()),
                Bind::Int(year_ago),
                Bind::Int(p.now_ms()),
            ],
        ),
    ];
    for (label, sql, binds) in queries {
        let prefix = if postgres {
            "EXPLAIN "
        } else {
            "EXPLAIN QUERY PLAN "
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("{prefix}{sql}")));
        for bind in binds {
            query = match bind {
                Bind::Text(t) => query.bind(t),
                Bind::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(p.db.pool()).await.unwrap();
        println!("plan {label}:");
        for row in rows {
            let line: String = row.get(if postgres { 0 } else { 3 });
            println!("    {line}");
        }
    }
}

fn report(
    backend: &str,
    seconds: u64,
    concurrency: usize,
    raw_inserts: f64,
    empty: &Phase,
    full: &Phase,
    (loaded, events, load_s, analyze_s): (usize, usize, f64, f64),
) {
    println!(
        "backend={backend} concurrency={concurrency} seconds={seconds} loaded_dossiers={loaded} loaded_events={events} load_s={load_s:.1} load_dossiers_per_s={:.0} analyze_s={analyze_s:.1}",
        loaded as f64 / load_s
    );
    println!(
        "| measure | empty ({} dossiers) | {} dossiers | ratio |",
        empty.dossiers, full.dossiers
    );
    println!("|---|---|---|---|");
    let line = |what: &str, a: f64, b: f64| println!("| {what} | {a:.2} | {b:.2} | {:.2} |", b / a);
    line("status lookups/s", empty.lookups.per_s, full.lookups.per_s);
    line(
        "status lookup p50 (ms)",
        empty.lookups.p50_ms,
        full.lookups.p50_ms,
    );
    line(
        "status lookup p99 (ms)",
        empty.lookups.p99_ms,
        full.lookups.p99_ms,
    );
    line("lifecycles/s", empty.lifecycles, full.lifecycles);
    line(
        "baseline: SELECT by id/s",
        empty.by_id.per_s,
        full.by_id.per_s,
    );
    line(
        "baseline: SELECT by id p50 (ms)",
        empty.by_id.p50_ms,
        full.by_id.p50_ms,
    );
    line(
        "baseline: SELECT by id p99 (ms)",
        empty.by_id.p99_ms,
        full.by_id.p99_ms,
    );
    line(
        "inbox of one commune (ms, median of ≤5)",
        empty.inbox_ms,
        full.inbox_ms,
    );
    line(
        "statistics, province, 365 days (ms, median of ≤5)",
        empty.statistics_ms,
        full.statistics_ms,
    );
    println!(
        "baseline_raw_durable_inserts_per_s={raw_inserts:.1} (empty database, same concurrency)"
    );
}
