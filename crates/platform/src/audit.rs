//! Writing and verifying the audit chain (the rules are in `tinhso_core::audit`).
//!
//! [`append`] runs inside the caller's write transaction: the change and its record commit
//! together or not at all. It locks one chain's head row, so each chain's records are
//! numbered and linked in commit order on both databases (several chains on PostgreSQL, see
//! `tinhso_core::audit::CHAIN_SPAN`).

use serde::Serialize;
use sqlx::Row;
use std::sync::{Arc, Mutex, PoisonError};
use tinhso_core::audit::{
    AuditEvent, AuditRecord, ChainBreak, ChainVerifier, chain_of, chain_start, digest_state, seal,
};

use crate::batch::{AnyQuery, Batch, Outcomes, StatementId};
use crate::context::Ctx;
use crate::db::{Db, Dialect, WriteTx};
use crate::error::{Error, Result};

/// What changed, as a service describes it.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a, B: Serialize, A: Serialize> {
    pub action: &'a str,
    pub object_type: &'a str,
    pub object_id: &'a str,
    pub before: Option<&'a B>,
    pub after: Option<&'a A>,
}

impl<'a, A: Serialize> Change<'a, (), A> {
    /// A change recorded by the state it left (the state before is not recorded: a new object,
    /// or a status set without reading the old one).
    pub fn after(action: &'a str, object_type: &'a str, object_id: &'a str, after: &'a A) -> Self {
        Self {
            action,
            object_type,
            object_id,
            before: None,
            after: Some(after),
        }
    }
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
    guess: &Arc<HeadGuess>,
    ctx: &Ctx,
    change: Change<'_, B, A>,
) -> Result<i64> {
    let mut batch = Batch::new();
    let pending = defer(&mut batch, tx, key, guess, ctx, change);
    let outcomes = batch.run(tx).await?;
    pending.settle(tx, key, guess, &outcomes).await
}

/// An audit record on its way into the chain, in the same transaction as its change: on
/// SQLite its write rides in the caller's [`Batch`] behind the guessed head; on PostgreSQL
/// (and on SQLite without a guess) [`PendingAudit::settle`] writes it after the batch ran.
/// The transaction does not commit until it is settled. One per batch, last in it: a stale
/// guess stops the batch at the head's move, which skips nothing else only then.
#[must_use = "the record is only in the chain once settled"]
pub struct PendingAudit {
    at_ms: i64,
    event: AuditEvent,
    /// The record sealed on the guessed head and the batch's two statements writing it.
    guessed: Option<(AuditRecord, StatementId, StatementId)>,
}

/// Prepares the record of `change`; on SQLite with a known tip its write joins `batch`.
pub fn defer<B: Serialize, A: Serialize>(
    batch: &mut Batch<'_>,
    tx: &mut WriteTx,
    key: &[u8],
    guess: &Arc<HeadGuess>,
    ctx: &Ctx,
    change: Change<'_, B, A>,
) -> PendingAudit {
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
    let tip = match tx.dialect {
        Dialect::Sqlite => tx.audit_tip.clone().or_else(|| guess.get()),
        Dialect::Postgres => None,
    };
    let guessed = tip.map(|(seq, hash)| {
        let record = seal(key, seq + 1, ctx.now_ms, event.clone(), &hash);
        let (head, insert) = push_after_guess(batch, &record, seq, hash);
        (record, head, insert)
    });
    tx.unsettled_audits += 1;
    match &guessed {
        // Committed in the batch's call, the guess moves on before the write lock is let go:
        // the next writer guesses from it.
        Some((record, _, _)) => {
            let (guess, seq, hash) = (guess.clone(), record.seq, record.hash.clone());
            batch.count_audit(Some(Box::new(move || guess.set(seq, &hash))));
        }
        None => batch.count_audit(None),
    }
    PendingAudit {
        at_ms: ctx.now_ms,
        event,
        guessed,
    }
}

impl PendingAudit {
    /// Completes the append once the batch ran: the guessed write is checked, and when it
    /// wrote nothing (the guess was stale) or there was none, the record is written now.
    /// Returns the record's number.
    pub async fn settle(
        self,
        tx: &mut WriteTx,
        key: &[u8],
        guess: &HeadGuess,
        outcomes: &Outcomes,
    ) -> Result<i64> {
        let written = self.written(outcomes)?;
        let head = self.guessed.as_ref().map(|(_, head, _)| *head);
        if head.is_some() && outcomes.stopped_at() == head {
            // The stale guess stopped the batch, with nothing after it: the record is
            // written now, and the transaction may commit.
            tx.stopped_batches = tx.stopped_batches.saturating_sub(1);
        }
        let record = match (self.guessed, written) {
            (Some((record, _, _)), Some((1, 1))) => {
                guess.set(record.seq, &record.hash);
                record
            }
            // The guess was stale (another writer, or a rolled-back transaction, moved the
            // head), or there was none.
            (_, None | Some((0, 0))) => match tx.dialect {
                Dialect::Sqlite => append_on_sqlite(tx, key, guess, self.at_ms, self.event).await?,
                Dialect::Postgres => append_on_postgres(tx, key, self.at_ms, self.event).await?,
            },
            // The head moved without its record (or the other way round): the chain would
            // break, so the transaction must not commit.
            (_, Some((head, insert))) => {
                return Err(Error::Other(format!(
                    "the audit head moved {head} and its record was written {insert} times"
                )));
            }
        };
        tx.unsettled_audits -= 1;
        tx.audit_tip = Some((record.seq, record.hash.clone()));
        Ok(record.seq)
    }

    /// The row counts of the guessed write (head moved, record inserted), when there was
    /// one. The batch stops at the head's check when the guess was stale; the record is then
    /// written after it, which is only right when nothing else of the batch was skipped.
    fn written(&self, outcomes: &Outcomes) -> Result<Option<(u64, u64)>> {
        let Some((_, head, insert)) = &self.guessed else {
            return match outcomes.stopped_at() {
                None => Ok(None),
                Some(_) => Err(stopped_before()),
            };
        };
        match outcomes.stopped_at() {
            Some(at) if at < *head => return Err(stopped_before()),
            Some(at) if at == *head && !outcomes.is_last(*insert) => {
                return Err(Error::Other(
                    "a batch's statements after an audit record were skipped".into(),
                ));
            }
            _ => {}
        }
        Ok(Some((
            outcomes.get(*head).affected,
            outcomes.get(*insert).affected,
        )))
    }

    /// Completes the append of a record whose batch committed in its call (see
    /// [`Batch::run_and_commit`], which moved the guess on): returns its number.
    pub fn settle_committed(self, outcomes: &Outcomes) -> Result<i64> {
        match (self.written(outcomes)?, self.guessed) {
            (Some((1, 1)), Some((record, _, _))) => Ok(record.seq),
            _ => Err(Error::Other(
                "a committed batch's audit record was not written".into(),
            )),
        }
    }
}

fn stopped_before() -> Error {
    Error::Other("the batch stopped before its audit record".into())
}

/// SQLite has one writer at a time, so one chain: the head is read under the write lock.
async fn append_on_sqlite(
    tx: &mut WriteTx,
    key: &[u8],
    guess: &HeadGuess,
    at_ms: i64,
    event: AuditEvent,
) -> Result<AuditRecord> {
    let head = sqlx::query("SELECT last_seq, last_hash FROM audit_head WHERE id = 1")
        .fetch_one(&mut *tx.tx)
        .await?;
    let (last_seq, last_hash): (i64, String) = (head.try_get(0)?, head.try_get(1)?);
    let record = seal(key, last_seq + 1, at_ms, event, &last_hash);
    write_locked(tx, &record).await?;
    guess.set(record.seq, &record.hash);
    Ok(record)
}

/// PostgreSQL writers run side by side: the first record of a transaction locks the head of
/// the first chain no other transaction holds (or waits for chain 1 when all are taken); the
/// transaction's later records follow on that chain. So commits no longer queue behind one
/// row lock, and the WAL flushes of concurrent commits are shared again.
async fn append_on_postgres(
    tx: &mut WriteTx,
    key: &[u8],
    at_ms: i64,
    event: AuditEvent,
) -> Result<AuditRecord> {
    let (last_seq, last_hash) = match tx.audit_tip.clone() {
        Some(tip) => tip,
        None => {
            let free = sqlx::query(
                "SELECT last_seq, last_hash FROM audit_head ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
            )
            .fetch_optional(&mut *tx.tx)
            .await?;
            let head = match free {
                Some(head) => head,
                None => {
                    sqlx::query(
                        "SELECT last_seq, last_hash FROM audit_head WHERE id = 1 FOR UPDATE",
                    )
                    .fetch_one(&mut *tx.tx)
                    .await?
                }
            };
            (head.try_get(0)?, head.try_get(1)?)
        }
    };
    let record = seal(key, last_seq + 1, at_ms, event, &last_hash);
    write_locked(tx, &record).await?;
    Ok(record)
}

/// Moves the head of `record`'s chain (locked by this transaction) to it and writes it.
async fn write_locked(tx: &mut WriteTx, record: &AuditRecord) -> Result<()> {
    sqlx::query(ADVANCE_HEAD)
        .bind(record.seq)
        .bind(&record.hash)
        .bind(chain_of(record.seq))
        .execute(&mut *tx.tx)
        .await?;
    bind_record(sqlx::query(INSERT_RECORD), record)
        .execute(&mut *tx.tx)
        .await?;
    Ok(())
}

const ADVANCE_HEAD: &str = "UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = $3";

/// The record's twelve columns, bound by [`bind_record`] as `$1`…`$12` (a macro, so
/// `concat!` can build both inserts from it).
macro_rules! record_columns {
    () => {
        "seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash"
    };
}

const INSERT_RECORD: &str = concat!(
    "INSERT INTO audit_log (",
    record_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
);

/// Moves chain 1's head to `record` only if it is still at the guessed `seq` and `hash`, and
/// writes the record only then: a move that matched nothing stops the batch before the
/// insert. Both statements affecting a row means both were written; neither, that the guess
/// was stale and nothing was written.
fn push_after_guess(
    batch: &mut Batch<'_>,
    record: &AuditRecord,
    seq: i64,
    hash: String,
) -> (StatementId, StatementId) {
    let (new_seq, new_hash) = (record.seq, record.hash.clone());
    // A stale guess moves no head and stops the batch: the record is not written behind it.
    let head = batch.push_expecting(
        "UPDATE audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1 AND last_seq = $3 AND last_hash = $4",
        1,
        move |q| q.bind(new_seq).bind(new_hash).bind(seq).bind(hash),
    );
    let record = record.clone();
    let insert = batch.push(
        concat!(
            "INSERT INTO audit_log (",
            record_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        ),
        move |q| bind_record(q, &record),
    );
    (head, insert)
}

fn bind_record<'q>(query: AnyQuery<'q>, record: &AuditRecord) -> AnyQuery<'q> {
    let e = &record.event;
    query
        .bind(record.seq)
        .bind(record.at_ms)
        .bind(e.actor.clone())
        .bind(e.action.clone())
        .bind(e.object_type.clone())
        .bind(e.object_id.clone())
        .bind(e.before_digest.clone())
        .bind(e.after_digest.clone())
        .bind(e.request_id.clone())
        .bind(e.source_addr.clone())
        .bind(record.prev_hash.clone())
        .bind(record.hash.clone())
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
    let heads: std::collections::BTreeMap<i64, (i64, String)> =
        sqlx::query("SELECT id, last_seq, last_hash FROM audit_head ORDER BY id")
            .fetch_all(&mut *snapshot)
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?))))
            .collect::<Result<_>>()?;
    // Records come in number order, so chain after chain; each chain is checked on its own
    // and against its head, and a chain with no records must have its head at the start.
    let mut walk = ChainWalk::new(key, &heads);
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
            if let Err(broken) = walk.check(&record) {
                return Ok(Verdict::Broken(broken));
            }
        }
        if count < PAGE as usize {
            break;
        }
    }
    Ok(match walk.finish() {
        Ok(records) => Verdict::Intact { records },
        Err(broken) => Verdict::Broken(broken),
    })
}

/// The verifiers of every chain, fed records in number order.
struct ChainWalk<'k> {
    key: &'k [u8],
    heads: &'k std::collections::BTreeMap<i64, (i64, String)>,
    current: Option<(i64, ChainVerifier<'k>)>,
    finished: std::collections::BTreeSet<i64>,
    verified: i64,
}

impl<'k> ChainWalk<'k> {
    fn new(key: &'k [u8], heads: &'k std::collections::BTreeMap<i64, (i64, String)>) -> Self {
        Self {
            key,
            heads,
            current: None,
            finished: Default::default(),
            verified: 0,
        }
    }

    fn check(&mut self, record: &AuditRecord) -> std::result::Result<(), ChainBreak> {
        let chain = chain_of(record.seq);
        if self.current.as_ref().map(|(c, _)| *c) != Some(chain) {
            self.close_current()?;
            if !self.heads.contains_key(&chain) {
                // A record of a chain that has no head was not written by `append`.
                return Err(ChainBreak::Gap {
                    seq: record.seq,
                    expected: chain_start(chain) + 1,
                });
            }
            self.current = Some((chain, ChainVerifier::for_chain(self.key, chain)));
        }
        match &mut self.current {
            Some((_, verifier)) => verifier.check(record),
            None => Ok(()),
        }
    }

    fn close_current(&mut self) -> std::result::Result<(), ChainBreak> {
        if let Some((chain, verifier)) = self.current.take() {
            if let Some((seq, hash)) = self.heads.get(&chain) {
                verifier.finish(*seq, hash)?;
            }
            self.verified += verifier.verified;
            self.finished.insert(chain);
        }
        Ok(())
    }

    /// Checks the last chain and every chain that had no records; the records verified.
    fn finish(mut self) -> std::result::Result<i64, ChainBreak> {
        self.close_current()?;
        for (chain, (seq, hash)) in self.heads {
            if !self.finished.contains(chain) {
                ChainVerifier::for_chain(self.key, *chain).finish(*seq, hash)?;
            }
        }
        Ok(self.verified)
    }
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
        "SELECT seq, at_ms, actor, action, object_type, object_id, before_digest, after_digest, request_id, source_addr, prev_hash, hash FROM audit_log ORDER BY at_ms DESC, seq DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.pool())
    .await?;
    rows.iter().map(record_from_row).collect()
}
