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
//! - **Dispatch by topic.** A [`Dispatch`] names the [`Handler`] of each topic; the worker
//!   claims only rows of topics it has a handler for, so a node without, say, the national
//!   portal connector leaves those rows pending instead of failing them. A handler says
//!   whether a failure is worth retrying ([`DeliveryError::Retry`]) or not
//!   ([`DeliveryError::Permanent`], dead at once).

use async_trait::async_trait;
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

/// Why one delivery failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryError {
    /// Worth trying again later (the receiver is down, busy, or refused our credentials):
    /// backoff, then dead after `max_attempts`.
    Retry(String),
    /// Repeating cannot help (malformed payload, request refused as invalid): dead at once.
    Permanent(String),
}

impl std::fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Retry(e) => write!(f, "{e}"),
            Self::Permanent(e) => write!(f, "permanent: {e}"),
        }
    }
}

/// One claimed message, as a handler sees it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    pub idempotency_key: &'a str,
    pub payload: &'a str,
    /// Failed attempts so far.
    pub attempts: i64,
}

/// Delivers the messages of one topic. Called outside any transaction; must be safe to call
/// again with the same message (delivery is at least once).
#[async_trait]
pub trait Handler: Send + Sync + std::fmt::Debug {
    async fn deliver(
        &self,
        platform: &Platform,
        delivery: &Delivery<'_>,
    ) -> std::result::Result<(), DeliveryError>;
}

/// Rendered citizen messages (`{"channel", "to", "subject", "body"}`) through a notifier.
#[derive(Debug, Clone)]
pub struct NotifierHandler(pub Arc<dyn Notifier>);

#[async_trait]
impl Handler for NotifierHandler {
    async fn deliver(
        &self,
        _platform: &Platform,
        delivery: &Delivery<'_>,
    ) -> std::result::Result<(), DeliveryError> {
        notify(self.0.as_ref(), delivery).await
    }
}

async fn notify(
    notifier: &dyn Notifier,
    delivery: &Delivery<'_>,
) -> std::result::Result<(), DeliveryError> {
    let message =
        to_message(delivery.idempotency_key, delivery.payload).map_err(DeliveryError::Permanent)?;
    notifier
        .send(&message)
        .await
        .map_err(|e| DeliveryError::Retry(e.to_string()))
}

/// The topic of citizen notifications (e-mail, SMS).
pub const CITIZEN_NOTIFICATION: &str = "citizen_notification";

/// Which handler delivers which topic.
#[derive(Debug, Clone, Default)]
pub struct Dispatch {
    routes: Vec<(String, Arc<dyn Handler>)>,
    /// Handles every topic without a route (tests and single-purpose workers).
    fallback: Option<Arc<dyn Handler>>,
}

impl Dispatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every topic goes to `handler`.
    pub fn all(handler: Arc<dyn Handler>) -> Self {
        Self {
            routes: Vec::new(),
            fallback: Some(handler),
        }
    }

    /// Messages of `topic` go to `handler` (a later route for the same topic replaces it).
    pub fn route(mut self, topic: &str, handler: Arc<dyn Handler>) -> Self {
        self.routes.retain(|(t, _)| t != topic);
        self.routes.push((topic.to_owned(), handler));
        self
    }

    fn handler(&self, topic: &str) -> Option<&Arc<dyn Handler>> {
        self.routes
            .iter()
            .find(|(t, _)| t == topic)
            .map(|(_, h)| h)
            .or(self.fallback.as_ref())
    }
}

impl WorkerOptions {
    /// The options set by the `outbox` configuration section.
    pub fn from_config(config: &crate::config::OutboxConfig) -> Self {
        let seconds = |s: u64| i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX);
        Self {
            poll: Duration::from_millis(config.poll_ms),
            lease_ms: seconds(config.lease_seconds),
            backoff_base_ms: seconds(config.retry_base_seconds),
            max_attempts: config.max_attempts,
            ..Self::default()
        }
    }
}

/// Runs the delivery worker with the default options until `shutdown` turns true; every
/// topic is a rendered message for `notifier`.
pub async fn run_worker(
    platform: Platform,
    notifier: Arc<dyn Notifier>,
    shutdown: watch::Receiver<bool>,
) {
    run_worker_with(platform, notifier, shutdown, WorkerOptions::default()).await;
}

/// Like [`run_worker`], with options.
pub async fn run_worker_with(
    platform: Platform,
    notifier: Arc<dyn Notifier>,
    shutdown: watch::Receiver<bool>,
    options: WorkerOptions,
) {
    let dispatch = Dispatch::all(Arc::new(NotifierHandler(notifier)));
    run_dispatch(platform, dispatch, shutdown, options).await;
}

/// Runs the delivery worker over `dispatch` until `shutdown` turns true (or its sender is
/// dropped).
pub async fn run_dispatch(
    platform: Platform,
    dispatch: Dispatch,
    mut shutdown: watch::Receiver<bool>,
    options: WorkerOptions,
) {
    tracing::info!("outbox delivery worker started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let full = match tick_dispatch(&platform, &dispatch, &options).await {
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
    topic: String,
    key: String,
    payload: String,
    attempts: i64,
}

/// Claims up to `options.batch` due messages of any topic and delivers them as rendered
/// messages through `notifier`; returns how many were handled (delivered, failed or dead).
pub async fn tick(
    platform: &Platform,
    notifier: &dyn Notifier,
    options: &WorkerOptions,
) -> Result<usize> {
    let claimed = claim(platform, options, None).await?;
    let count = claimed.len();
    for row in claimed {
        let delivery = Delivery {
            idempotency_key: &row.key,
            payload: &row.payload,
            attempts: row.attempts,
        };
        let outcome = notify(notifier, &delivery).await;
        record(platform, options, &row, outcome).await?;
    }
    Ok(count)
}

/// Claims up to `options.batch` due messages of the topics `dispatch` handles and delivers
/// each through its topic's handler; returns how many were handled.
pub async fn tick_dispatch(
    platform: &Platform,
    dispatch: &Dispatch,
    options: &WorkerOptions,
) -> Result<usize> {
    let topics: Option<Vec<&str>> = match dispatch.fallback {
        Some(_) => None,
        None => Some(dispatch.routes.iter().map(|(t, _)| t.as_str()).collect()),
    };
    if topics.as_ref().is_some_and(Vec::is_empty) {
        return Ok(0);
    }
    let claimed = claim(platform, options, topics.as_deref()).await?;
    let count = claimed.len();
    for row in claimed {
        let delivery = Delivery {
            idempotency_key: &row.key,
            payload: &row.payload,
            attempts: row.attempts,
        };
        let outcome = match dispatch.handler(&row.topic) {
            Some(handler) => handler.deliver(platform, &delivery).await,
            None => Err(DeliveryError::Retry(format!(
                "no handler for topic `{}`",
                row.topic
            ))),
        };
        record(platform, options, &row, outcome).await?;
    }
    Ok(count)
}

async fn claim(
    platform: &Platform,
    options: &WorkerOptions,
    topics: Option<&[&str]>,
) -> Result<Vec<Claimed>> {
    let now = platform.now_ms();
    // Topics become `$3, $4, …` placeholders: the values are bound, never spliced.
    let topic_filter = match topics {
        None => String::new(),
        Some(list) => format!(
            " AND topic IN ({})",
            (0..list.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let sql = format!(
        "SELECT id FROM outbox WHERE delivered_ms IS NULL AND dead_ms IS NULL AND next_attempt_ms <= $1 AND claimed_until_ms < $1{topic_filter} ORDER BY next_attempt_ms, id LIMIT $2"
    );
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .bind(now)
        .bind(options.batch);
    for topic in topics.unwrap_or_default() {
        query = query.bind(*topic);
    }
    let candidates: Vec<i64> = query.fetch_all(platform.db.pool()).await?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = platform.db.begin_write().await?;
    let mut claimed = Vec::with_capacity(candidates.len());
    for id in candidates {
        // The condition is re-checked under the row lock: of several nodes racing for a row,
        // exactly one gets it back.
        let row = sqlx::query(
            "UPDATE outbox SET claimed_until_ms = $2 WHERE id = $1 AND claimed_until_ms < $3 AND delivered_ms IS NULL AND dead_ms IS NULL RETURNING idempotency_key, payload_json, attempts, topic",
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
                topic: row.try_get(3)?,
            });
        }
    }
    tx.commit().await?;
    Ok(claimed)
}

async fn record(
    platform: &Platform,
    options: &WorkerOptions,
    row: &Claimed,
    outcome: std::result::Result<(), DeliveryError>,
) -> Result<()> {
    let now = platform.now_ms();
    let attempts = row.attempts + 1;
    let mut tx = platform.db.begin_write().await?;
    match outcome {
        Ok(()) => {
            sqlx::query(
                "UPDATE outbox SET delivered_ms = $2, attempts = $3, last_error = NULL, claimed_until_ms = 0 WHERE id = $1 AND delivered_ms IS NULL",
            )
            .bind(row.id)
            .bind(now)
            .bind(attempts)
            .execute(&mut *tx.tx)
            .await?;
        }
        Err(DeliveryError::Retry(error)) if attempts < options.max_attempts => {
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
        Err(DeliveryError::Retry(error) | DeliveryError::Permanent(error)) => {
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
