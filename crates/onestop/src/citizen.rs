//! What the citizen area reads about the caller's own records: a summary of their dossiers
//! (one query, for the "my dossiers" list) and the notifications sent to them (the outbox
//! messages their dossiers' events queued).
//!
//! Invariant: only the caller's own records, checked with `ViewOwnRecords` on their account.

use serde::Serialize;
use sqlx::Row;
use tinhso_platform::{Ctx, Platform, Result};

use crate::domain::dossier::Status;

/// Dossiers listed, at most.
const LIST_LIMIT: i64 = 200;
/// Notifications listed, at most (the newest).
const NOTIFICATION_LIMIT: i64 = 100;

/// One line of "my dossiers".
#[derive(Debug, Clone, Serialize)]
pub struct MyDossier {
    pub code: String,
    pub procedure_code: String,
    pub procedure_name: String,
    pub status: Status,
    pub submitted_ms: i64,
    pub due_ms: Option<i64>,
    /// A fee is asked for and not paid yet.
    pub fee_due: bool,
}

/// The caller's dossiers, newest first.
pub async fn my_dossiers(p: &Platform, ctx: &Ctx) -> Result<Vec<MyDossier>> {
    let user_id = crate::dossiers::own_records_owner(ctx)?;
    let rows = sqlx::query("SELECT d.code, d.procedure_code, pr.name, d.status, d.submitted_ms, COALESCE(d.apology_due_ms, d.due_ms), d.fee_amount, d.fee_paid_ms FROM dossiers d JOIN procedures pr ON pr.code = d.procedure_code WHERE d.applicant_user_id = $1 ORDER BY d.id DESC LIMIT $2")
        .bind(user_id)
        .bind(LIST_LIMIT)
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let status = Status::parse(&r.try_get::<String, _>(3)?)?;
            Ok(MyDossier {
                code: r.try_get(0)?,
                procedure_code: r.try_get(1)?,
                procedure_name: r.try_get(2)?,
                status,
                submitted_ms: r.try_get(4)?,
                due_ms: r.try_get(5)?,
                fee_due: status == Status::AwaitingPayment
                    && r.try_get::<Option<i64>, _>(6)?.is_some()
                    && r.try_get::<Option<i64>, _>(7)?.is_none(),
            })
        })
        .collect()
}

/// One message sent (or being sent) to the citizen.
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub dossier_code: String,
    /// `email` or `sms`.
    pub channel: String,
    pub to: String,
    pub subject: String,
    pub body: String,
    pub created_ms: i64,
    /// `sent`, `pending` or `failed`.
    pub state: &'static str,
}

/// The notifications of the caller's dossiers, newest first.
pub async fn my_notifications(p: &Platform, ctx: &Ctx) -> Result<Vec<Notification>> {
    let user_id = crate::dossiers::own_records_owner(ctx)?;
    // The outbox keys a dossier event's messages `dossier-event-{event id}-{channel}`
    // (see `crate::notifications`); the caller's events give the keys to look up.
    let events = sqlx::query("SELECT e.id, d.code FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id WHERE d.applicant_user_id = $1 ORDER BY e.id DESC LIMIT $2")
        .bind(user_id)
        .bind(NOTIFICATION_LIMIT)
        .fetch_all(p.db.pool())
        .await?;
    let mut keys: Vec<(String, String)> = Vec::new();
    for row in &events {
        let id: i64 = row.try_get(0)?;
        let code: String = row.try_get(1)?;
        for channel in ["email", "sms"] {
            keys.push((format!("dossier-event-{id}-{channel}"), code.clone()));
        }
    }
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=keys.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT idempotency_key, payload_json, created_ms, delivered_ms, dead_ms FROM outbox WHERE topic = '{}' AND idempotency_key IN ({placeholders}) ORDER BY id DESC",
        tinhso_platform::outbox::CITIZEN_NOTIFICATION
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for (key, _) in &keys {
        query = query.bind(key.clone());
    }
    let rows = query.fetch_all(p.db.pool()).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let key: String = row.try_get(0)?;
        let payload: serde_json::Value =
            serde_json::from_str(&row.try_get::<String, _>(1)?).unwrap_or_default();
        let text = |name: &str| payload[name].as_str().unwrap_or_default().to_owned();
        let state = if row.try_get::<Option<i64>, _>(3)?.is_some() {
            "sent"
        } else if row.try_get::<Option<i64>, _>(4)?.is_some() {
            "failed"
        } else {
            "pending"
        };
        out.push(Notification {
            dossier_code: keys
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, c)| c.clone())
                .unwrap_or_default(),
            channel: text("channel"),
            to: text("to"),
            subject: text("subject"),
            body: text("body"),
            created_ms: row.try_get(2)?,
            state,
        });
    }
    Ok(out)
}

/// The caller's rating of their own dossier (level and comment), if they rated it.
pub async fn my_rating(p: &Platform, ctx: &Ctx, code: &str) -> Result<Option<(i64, String)>> {
    let user_id = crate::dossiers::own_records_owner(ctx)?;
    let row = sqlx::query("SELECT r.level, r.comment FROM dossier_ratings r JOIN dossiers d ON d.id = r.dossier_id WHERE d.code = $1 AND d.applicant_user_id = $2")
        .bind(code)
        .bind(user_id)
        .fetch_optional(p.db.pool())
        .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}
