//! The exchange's own rows: packages received (idempotent receive), the log of every exchange
//! in and out, and what IT staff list. Only this crate touches these tables.

use serde::Serialize;
use sqlx::Row;
use tinhso_core::access::Action as Access;
use tinhso_platform::audit::Change;
use tinhso_platform::{Ctx, Platform, Result, WriteTx};

/// The exchange's schema migrations (versions 3001–3099).
pub const MIGRATIONS: &[tinhso_platform::Migration] = &[(
    3001,
    "exchange",
    include_str!("../migrations/3001_exchange.sql"),
)];

/// Longest detail kept in a log row (a receiver's explanation may be long).
const DETAIL_MAX: usize = 1000;

/// One exchange, in or out, as logged.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct LogEntry {
    pub id: i64,
    /// `in` or `out`.
    pub direction: String,
    /// The peer's id, `national`, or `local`.
    pub peer: String,
    pub message_type: String,
    pub from_organ_id: String,
    pub to_organ_ids: Vec<String>,
    pub document_id: String,
    pub package_key: String,
    /// DONE, FAIL or PROCESSING.
    pub status: String,
    /// Set when the package was a repeat of an earlier one (the received row's id).
    pub repeat_of: Option<i64>,
    /// Stable code of a failure, empty on success.
    pub code: String,
    pub detail: String,
    pub size_bytes: i64,
    pub digest: String,
    pub at_ms: i64,
}

/// Cuts `s` to at most `max` characters, on a character boundary.
pub fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Writes a log row in `tx` with its audit record.
pub async fn log(p: &Platform, tx: &mut WriteTx, ctx: &Ctx, e: &LogEntry) -> Result<i64> {
    let detail = clip(&e.detail, DETAIL_MAX);
    let id: i64 = sqlx::query_scalar("INSERT INTO exchange_log (direction, peer, message_type, from_organ_id, to_organ_ids, document_id, package_key, status, repeat_of, code, detail, size_bytes, digest, at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING id")
        .bind(&e.direction)
        .bind(&e.peer)
        .bind(&e.message_type)
        .bind(clip(&e.from_organ_id, 100))
        .bind(clip(&e.to_organ_ids.join(","), 1000))
        .bind(clip(&e.document_id, 200))
        .bind(clip(&e.package_key, 200))
        .bind(&e.status)
        .bind(e.repeat_of)
        .bind(&e.code)
        .bind(&detail)
        .bind(e.size_bytes)
        .bind(&e.digest)
        .bind(ctx.now_ms)
        .fetch_one(&mut *tx.tx)
        .await?;
    p.audit(
        tx,
        ctx,
        Change::<(), _> {
            action: "exchange.log",
            object_type: "exchange_log",
            object_id: &id.to_string(),
            before: None,
            after: Some(&serde_json::json!({
                "direction": e.direction, "peer": e.peer, "status": e.status, "code": e.code,
                "document_id": e.document_id, "message_type": e.message_type,
            })),
        },
    )
    .await?;
    Ok(id)
}

/// Writes a log row in a transaction of its own (a refusal: nothing else is written).
pub async fn log_alone(p: &Platform, ctx: &Ctx, e: &LogEntry) -> Result<i64> {
    let mut tx = p.db.begin_write().await?;
    let id = log(p, &mut tx, ctx, e).await?;
    tx.commit().await?;
    Ok(id)
}

/// What was received before under a sender and deduplication key.
#[derive(Debug, Clone)]
pub struct Stored {
    pub id: i64,
    pub digest: String,
    pub reference: String,
}

pub async fn received(
    p: &Platform,
    from_organ_id: &str,
    dedupe_key: &str,
) -> Result<Option<Stored>> {
    let row = sqlx::query(
        "SELECT id, digest, reference FROM exchange_received WHERE from_organ_id = $1 AND dedupe_key = $2",
    )
    .bind(from_organ_id)
    .bind(dedupe_key)
    .fetch_optional(p.db.pool())
    .await?;
    row.map(|r| {
        Ok(Stored {
            id: r.try_get(0)?,
            digest: r.try_get(1)?,
            reference: r.try_get(2)?,
        })
    })
    .transpose()
}

/// The exchange log for IT staff, newest first: administrators at the root of the agency
/// tree (the exchange is the installation's, not one agency's).
pub async fn list_log(p: &Platform, ctx: &Ctx, limit: i64) -> Result<Vec<LogEntry>> {
    tinhso_platform::identity::authorize_installation(ctx, Access::ManageAgency)?;
    let rows = sqlx::query("SELECT id, direction, peer, message_type, from_organ_id, to_organ_ids, document_id, package_key, status, repeat_of, code, detail, size_bytes, digest, at_ms FROM exchange_log ORDER BY id DESC LIMIT $1")
        .bind(limit.clamp(1, 1000))
        .fetch_all(p.db.pool())
        .await?;
    rows.iter()
        .map(|r| {
            let to: String = r.try_get(5)?;
            Ok(LogEntry {
                id: r.try_get(0)?,
                direction: r.try_get(1)?,
                peer: r.try_get(2)?,
                message_type: r.try_get(3)?,
                from_organ_id: r.try_get(4)?,
                to_organ_ids: to
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                document_id: r.try_get(6)?,
                package_key: r.try_get(7)?,
                status: r.try_get(8)?,
                repeat_of: r.try_get(9)?,
                code: r.try_get(10)?,
                detail: r.try_get(11)?,
                size_bytes: r.try_get(12)?,
                digest: r.try_get(13)?,
                at_ms: r.try_get(14)?,
            })
        })
        .collect()
}

/// A federated peer as IT staff see it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerView {
    pub id: String,
    pub name: String,
    pub url: String,
    pub serves: Vec<String>,
}

/// The exchange's directory: the agencies this installation serves by identifier, the peers
/// and whether the national exchange is configured.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryView {
    pub agencies: Vec<crate::receive::ServedAgency>,
    pub peers: Vec<PeerView>,
    pub national: bool,
}

pub async fn directory_view(p: &Platform, ctx: &Ctx) -> Result<DirectoryView> {
    tinhso_platform::identity::authorize_installation(ctx, Access::ManageAgency)?;
    Ok(DirectoryView {
        agencies: crate::receive::served_agencies(p).await?,
        peers: p
            .config
            .exchange
            .peers
            .iter()
            .map(|c| PeerView {
                id: c.id.clone(),
                name: c.name.clone(),
                url: c.url.clone(),
                serves: c.serves.clone(),
            })
            .collect(),
        national: p.config.exchange.national.enabled,
    })
}
