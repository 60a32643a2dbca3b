//! Writing and verifying the audit chain (the rules are in `tinhso_core::audit`).
//!
//! [`append`] runs inside the caller's write transaction: the change and its record commit
//! together or not at all. It locks the chain head row, so records are numbered and linked in
//! commit order on both databases.

use serde::Serialize;
use sqlx::Row;
use std::sync::{Mutex, PoisonError};
use tinhso_core::audit::{AuditEvent, AuditRecord, ChainBreak, ChainVerifier, digest_state, seal};

use crate::context::Ctx;
use crate::db::{Db, Dialect, WriteTx};
use crate::error::Result;

/// What changed, as a service describes it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a, B: Serialize, A: Serialize> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

/// The chain's tip as this process last wrote it: a guess that saves reading the head row.
/// The head row's update checks it (sequence and hash), so a guess made stale by another
/// process or by a rolled-back transaction costs one extra read, never a wrong link.
#[derive(Debug, Default)]
pub struct HeadGuess(Mutex<Option<(i64, String)>>);

impl HeadGuess {
    fn get(&self) -> Option<(i64, String)> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, seq: i64, hash: &str) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some((seq, hash.to_owned()));
    }
}

/// Appends one record for `change`, made by `ctx`, to the chain.
pub async fn append<B: Serialize, A: Serialize>(
    tx: &mut WriteTx,
    key: &[u8],
    guess: &HeadGuess,
    ctx: &Ctx,
    change: Change<'_, B, A>,
) -> Result<i64> {
    let event = AuditEvent {
        actor: ctx.actor.clone(),
        action: change.action.to_owned(),
        object_type: change.object_type.to_owned(),
        object_id: change.object_id.to_owned(),
        before_digest: digest_state(change.before),
        after_digest: digest_state(change.after),
        request_id: ctx.request_id.clone(),
        source_addr: ctx.source_addr.clone(),
    };
    let guessed = match guess.get() {
        Some((seq, hash)) => {
            let record = seal(key, seq + 1, ctx.now_ms, event.clone(), &hash);
            write_after_guess(tx, &record, seq, &hash)
                .await?
                .then_some(record)
        }
        None => None,
    };
    let record = match guessed {
        Some(record) => record,
        None => {
            let head_sql = match tx.dialect {
                Dialect::Postgres => {
                    "SELECT last_seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE"
                }
                Dialect::Sqlite => "SELECT last_seq, last_hash FROM audit_head WHERE id = 1",
            };
            let head = sqlx::query(head_sql).fetch_one(&mut *tx.tx).await?;
            let (last_seq, last_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
            let record = seal(key, last_seq + 1, ctx.now_ms, event, &last_hash);
            sqlx::query(ADVANCE_HEAD)
                .bind(record.seq)
                .bind(&record.hash)
                .execute(&mut *tx.tx)
                .await?;
            bind_record(sqlx::query(INSERT_RECORD), &record)
                .execute(&mut *tx.tx)
                .await?;
            record
        }
    };
    guess.set(record.seq, &record.hash);
    Ok(record.seq)
}

const ADVANCE_HEAD: &str = "UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1";

/// The record's twelve columns, bound by [`bind_record`] as `$1`…`$12`.
const INSERT_RECORD: &str = "INSERT INTO audit_log (seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Moves the head to `record` only if it is still at the guessed `seq` and `hash`, and writes
/// the record only then; false when the guess was stale (nothing written). On PostgreSQL the
/// update waits for a concurrent writer's commit and then checks its outcome. On SQLite both
/// go to the connection as one call: the insert runs only if the update changed the head
/// (`changes()`), so two rows affected mean both were written.
async fn write_after_guess(
    tx: &mut WriteTx,
    record: &AuditRecord,
    seq: i64,
    hash: &str,
) -> Result<bool> {
    match tx.dialect {
        Dialect::Sqlite => {
            let written = bind_record(sqlx::query(
                "UPDATE audit_head SET last_seq = $1, last_hash = $12 WHERE id = 1 AND last_seq = $13 AND last_hash = $14; INSERT INTO audit_log (seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 WHERE changes() = 1",
            ), record)
            .bind(seq)
            .bind(hash)
            .execute(&mut *tx.tx)
            .await?
            .rows_affected();
            Ok(written == 2)
        }
        Dialect::Postgres => {
            let moved = sqlx::query("UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1 AND last_seq = $3 AND last_hash = $4")
                .bind(record.seq)
                .bind(&record.hash)
                .bind(seq)
                .bind(hash)
                .execute(&mut *tx.tx)
                .await?
                .rows_affected()
                == 1;
            if moved {
                bind_record(sqlx::query(INSERT_RECORD), record)
                    .execute(&mut *tx.tx)
                    .await?;
            }
            Ok(moved)
        }
    }
}

fn bind_record<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    record: &'q AuditRecord,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let e = &record.event;
    query
        .bind(record.seq)
        .bind(record.at_ms)
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.object_type)
        .bind(&e.object_id)
        .bind(&e.before_digest)
        .bind(&e.after_digest)
        .bind(&e.request_id)
        .bind(&e.source_addr)
        .bind(&record.prev_hash)
        .bind(&record.hash)
}

/// Result of a full verification.
#[derive(Debug)]
pub enum Verdict {
    Intact { records: i64 },
    Broken(ChainBreak),
}

const PAGE: i64 = 5000;

/// Walks the whole chain in pages (bounded memory) and names the first bad record.
pub async fn verify(db: &Db, key: &[u8]) -> Result<Verdict> {
    let mut snapshot = db.begin_snapshot().await?;
    let mut verifier = ChainVerifier::new(key);
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(&mut *snapshot)
        .await?;
        let count = rows.len();
        for row in rows {
            let record = record_from_row(&row)?;
            after = record.seq;
            if let Err(broken) = verifier.check(&record) {
                return Ok(Verdict::Broken(broken));
            }
        }
        if count < PAGE as usize {
            break;
        }
    }
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *snapshot)
        .await?;
    if let Err(broken) = verifier.finish(head.try_get(0)?, &head.try_get::<String, _>(1)?) {
        return Ok(Verdict::Broken(broken));
    }
    Ok(Verdict::Intact {
        records: verifier.verified,
    })
}

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        event: AuditEvent {
            actor: row.try_get(2)?,
            action: row.try_get(3)?,
            object_type: row.try_get(4)?,
            object_id: row.try_get(5)?,
            before_digest: row.try_get(6)?,
            after_digest: row.try_get(7)?,
            request_id: row.try_get(8)?,
            source_addr: row.try_get(9)?,
        },
        prev_hash: row.try_get(10)?,
        hash: row.try_get(11)?,
    })
}

/// The most recent records, newest first, for the auditor's page.
pub async fn recent(db: &Db, limit: i64) -> Result<Vec<AuditRecord>> {
    let rows = sqlx::query(
        "SELECT seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash FROM audit_log ORDER BY seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(record_from_row).collect()
}
