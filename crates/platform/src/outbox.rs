//! The transactional outbox: messages caused by a state change are enqueued in the same
//! write transaction ([`enqueue`]), so the change and its messages commit together or not at
//! all; a worker ([`run_worker`]) delivers them through a [`Notifier`].
//!
//! Guarantees:
//! - **No duplicate enqueue.** The idempotency key is unique; enqueuing it again is a no-op.
//! - **At-least-once delivery.** The worker claims due rows with a lease
//!   (`claimed_until_ms`) in a short write transaction, race-free across several nodes (the
//!   claim is a conditional `UPDATE` whose affected-row count says who won), sends outside
//!   any transaction, then marks the row delivered. A crash between the send and the mark
//!   sends the message again once the lease has expired. The receiving side can
//!   de-duplicate because the idempotency key travels with the message: SMTP `Message-ID`
//!   `<key@tinhso>`, the SMS gateway's `idempotency_key`, the file sink's file name.
//! - **Bounded retries.** A failure is recorded (`attempts`, `last_error`) and retried with
//!   exponential backoff; after `max_attempts`, or at once for a malformed payload, the row
//!   is dead (`dead_ms` set) and kept for operators.

use serde::Deserialize;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

use crate::Platform;
use crate::db::WriteTx;
use crate::error::Result;
use crate::notifier::{Channel, Message, Notifier};

/// Enqueues one message in the caller's write transaction. The same `idempotency_key`
/// enqueued twice yields one row (the second call is a no-op).
pub async fn enqueue(
    tx: &mut WriteTx,
    topic: &str,
    idempotency_key: &str,
    payload: &serde_json::Value,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO outbox (topic, idempotency_key, payload_json, created_ms, attempts, next_attempt_ms, claimed_until_ms) VALUES ($1, $2, $3, $4, 0, $4, 0) ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(topic)
    .bind(idempotency_key)
    .bind(payload.to_string())
    .bind(now_ms)
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

/// Tuning of the delivery worker.
#[derive(Debug, Clone, Copy)]
pub struct WorkerOptions {
    /// Messages claimed per tick.
    pub batch: i64,
    /// Pause between ticks when nothing more is due.
    pub poll: Duration,
    /// How long a claim holds; longer than any send (sends time out after 30 s).
    pub lease_ms: i64,
    /// Delay before the first retry; doubled on each further failure.
    pub backoff_base_ms: i64,
    /// Upper bound of one retry delay.
    pub backoff_max_ms: i64,
    /// Attempts before a message is dead.
    pub max_attempts: i64,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            batch: 50,
            poll: Duration::from_millis(500),
            lease_ms: 120_000,
            backoff_base_ms: 30_000,
            backoff_max_ms: 6 * 3_600_000,
            max_attempts: 12,
        }
    }
}

/// Runs the delivery worker with the default options until `shutdown` turns true.
pub async fn run_worker(
    platform: Platform,
    notifier: Arc<dyn Notifier>,
    shutdown: watch::Receiver<bool>,
) {
    run_worker_with(platform, notifier, shutdown, WorkerOptions::default()).await;
}

/// Runs the delivery worker until `shutdown` turns true (or its sender is dropped).
pub async fn run_worker_with(
    platform: Platform,
    notifier: Arc<dyn Notifier>,
    mut shutdown: watch::Receiver<bool>,
    options: WorkerOptions,
) {
    tracing::info!("outbox delivery worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full = match tick(&platform, notifier.as_ref(), &options).await {
            Ok(handled) => handled as i64 >= options.batch,
            Err(e) => {
                tracing::warn!(error = %e, "outbox tick failed");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() {
                    break;
                }
            }
            () = tokio::time::sleep(options.poll) => {}
        }
    }
    tracing::info!("outbox delivery worker stopped");
}

/// One claimed row.
struct Claimed {
    id: i64,
    key: String,
    payload: String,
    attempts: i64,
}

/// Claims up to `options.batch` due messages and delivers them; returns how many were
/// handled (delivered, failed or declared dead).
pub async fn tick(
    platform: &Platform,
    notifier: &dyn Notifier,
    options: &WorkerOptions,
) -> Result<usize> {
    let claimed = claim(platform, options).await?;
    let count = claimed.len();
    for row in claimed {
        let outcome = match to_message(&row.key, &row.payload) {
            Err(e) => Outcome::Dead(e),
            Ok(message) => match notifier.send(&message).await {
                Ok(()) => Outcome::Delivered,
                Err(e) => Outcome::Failed(e.to_string()),
            },
        };
        record(platform, options, &row, outcome).await?;
    }
    Ok(count)
}

async fn claim(platform: &Platform, options: &WorkerOptions) -> Result<Vec<Claimed>> {
    let now = platform.now_ms();
    let candidates: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL AND next_attempt_ms <= $1 AND claimed_until_ms < $1 ORDER BY next_attempt_ms, id LIMIT $2",
    )
    .bind(now)
    .bind(options.batch)
    .fetch_all(platform.db.pool())
    .await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = platform.db.begin_write().await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for id in candidates {
        // The condition is re-checked under the row lock: of several nodes racing for a row,
        // exactly one gets it back.
        let row = sqlx::query(
            "UPDATE outbox SET claimed_until_ms = $2 WHERE id = $1 AND claimed_until_ms < $3 AND delivered_ms IS NULL AND dead_ms IS NULL RETURNING idempotency_key, payload_json, attempts",
        )
        .bind(id)
        .bind(now + options.lease_ms)
        .bind(now)
        .fetch_optional(&mut *tx.tx)
        .await?;
        if let Some(row) = row {
            claimed.push(Claimed {
                id,
                key: row.try_get(0)?,
                payload: row.try_get(1)?,
                attempts: row.try_get(2)?,
            });
        }
    }
    tx.commit().await?;
    Ok(claimed)
}

enum Outcome {
    Delivered,
    Failed(String),
    Dead(String),
}

async fn record(
    platform: &Platform,
    options: &WorkerOptions,
    row: &Claimed,
    outcome: Outcome,
) -> Result<()> {
    let now = platform.now_ms();
    let attempts = row.attempts + 1;
    let mut tx = platform.db.begin_write().await?;
    match outcome {
        Outcome::Delivered => {
            sqlx::query(
                "UPDATE outbox SET delivered_ms = $2, attempts = $3, last_error = NULL, claimed_until_ms = 0 WHERE id = $1 AND delivered_ms IS NULL",
            )
            .bind(row.id)
            .bind(now)
            .bind(attempts)
            .execute(&mut *tx.tx)
            .await?;
        }
        Outcome::Failed(error) if attempts < options.max_attempts => {
            let delay = backoff_ms(options, attempts);
            tracing::warn!(id = row.id, attempts, delay_ms = delay, %error, "outbox delivery failed; will retry");
            sqlx::query(
                "UPDATE outbox SET attempts = $2, last_error = $3, next_attempt_ms = $4, claimed_until_ms = 0 WHERE id = $1 AND delivered_ms IS NULL",
            )
            .bind(row.id)
            .bind(attempts)
            .bind(truncate(&error))
            .bind(now + delay)
            .execute(&mut *tx.tx)
            .await?;
        }
        Outcome::Failed(error) | Outcome::Dead(error) => {
            tracing::error!(id = row.id, attempts, %error, "outbox message is dead");
            sqlx::query(
                "UPDATE outbox SET attempts = $2, last_error = $3, dead_ms = $4, claimed_until_ms = 0 WHERE id = $1 AND delivered_ms IS NULL",
            )
            .bind(row.id)
            .bind(attempts)
            .bind(truncate(&error))
            .bind(now)
            .execute(&mut *tx.tx)
            .await?;
        }
    }
    tx.commit().await
}

/// Delay after the `attempts`-th failure: base · 2^(attempts−1), capped.
fn backoff_ms(options: &WorkerOptions, attempts: i64) -> i64 {
    let exponent = u32::try_from((attempts - 1).clamp(0, 30)).unwrap_or(30);
    options
        .backoff_base_ms
        .saturating_mul(1_i64 << exponent)
        .min(options.backoff_max_ms)
}

fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

/// The payload the worker understands: an already rendered message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    channel: Channel,
    to: String,
    #[serde(default)]
    subject: String,
    body: String,
}

fn to_message(key: &str, payload: &str) -> Result<Message, String> {
    let p: Payload =
        serde_json::from_str(payload).map_err(|e| format!("malformed payload: {e}"))?;
    if p.to.trim().is_empty() {
        return Err("malformed payload: empty `to`".into());
    }
    Ok(Message {
        idempotency_key: key.to_owned(),
        channel: p.channel,
        to: p.to,
        subject: p.subject,
        body: p.body,
    })
}

/// Counts of the outbox by state, for operators and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub pending: i64,
    pub delivered: i64,
    pub dead: i64,
}

pub async fn stats(platform: &Platform) -> Result<Stats> {
    let row = sqlx::query(
        "SELECT COALESCE(SUM(CASE WHEN delivered_ms IS NULL AND dead_ms IS NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN delivered_ms IS NOT NULL THEN 1 ELSE 0 END), 0), COALESCE(SUM(CASE WHEN dead_ms IS NOT NULL THEN 1 ELSE 0 END), 0) FROM outbox",
    )
    .fetch_one(platform.db.pool())
    .await?;
    let get = |i: usize| -> Result<i64> { Ok(row.try_get::<i64, _>(i)?) };
    Ok(Stats {
        pending: get(0)?,
        delivered: get(1)?,
        dead: get(2)?,
    })
}
