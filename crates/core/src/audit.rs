//! The tamper-evident audit chain.
//!
//! Every state change writes one [`AuditRecord`] in the same transaction as the change. Each
//! record's hash is an HMAC-SHA256, under the installation's audit key, of the previous
//! record's hash and the record's own canonical encoding. Changing, deleting or reordering
//! any record therefore breaks the chain at that record, and without the key nobody who can
//! write to the database can forge a consistent replacement chain.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What happened, before it is sealed into the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// `user:42`, `token:7`, `cli`, `system`.
    pub actor: String,
    /// Dotted verb, e.g. `user.create`, `agency.rename`, `session.login`.
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    /// SHA-256 (hex) of the canonical JSON of the object before and after; empty when absent.
    pub before_digest: String,
    pub after_digest: String,
    pub request_id: String,
    pub source_addr: String,
}

/// A sealed record as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub seq: i64,
    pub at_ms: i64,
    pub event: AuditEvent,
    pub prev_hash: String,
    pub hash: String,
}

/// Hash that precedes the first record.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Digest of an object's state for the before/after columns.
pub fn digest_state<T: Serialize>(state: Option<&T>) -> String {
    match state.and_then(|s| serde_json::to_vec(s).ok()) {
        Some(bytes) => hex::encode(Sha256::digest(bytes)),
        None => String::new(),
    }
}

/// Length-prefixed fields, so no two different records encode to the same bytes.
fn canonical_bytes(seq: i64, at_ms: i64, e: &AuditEvent, prev_hash: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&at_ms.to_be_bytes());
    for field in [
        prev_hash,
        &e.actor,
        &e.action,
        &e.object_type,
        &e.object_id,
        &e.before_digest,
        &e.after_digest,
        &e.request_id,
        &e.source_addr,
    ] {
        out.extend_from_slice(&(field.len() as u64).to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    out
}

/// Seals an event as record number `seq` after `prev_hash`.
pub fn seal(key: &[u8], seq: i64, at_ms: i64, event: AuditEvent, prev_hash: &str) -> AuditRecord {
    let hash = compute_hash(key, seq, at_ms, &event, prev_hash);
    AuditRecord {
        seq,
        at_ms,
        event,
        prev_hash: prev_hash.to_owned(),
        hash,
    }
}

fn compute_hash(key: &[u8], seq: i64, at_ms: i64, e: &AuditEvent, prev_hash: &str) -> String {
    // HMAC accepts keys of any length, so construction cannot fail; fall back to a plain
    // hash only to satisfy the type system.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(&canonical_bytes(seq, at_ms, e, prev_hash));
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => hex::encode(Sha256::digest(canonical_bytes(seq, at_ms, e, prev_hash))),
    }
}

/// Why verification stopped, naming the first bad record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit record {seq}: contents do not match its hash (modified)")]
    Modified { seq: i64 },
    #[error(
        "audit record {seq}: expected sequence number {expected} (a record was deleted or reordered)"
    )]
    Gap { seq: i64, expected: i64 },
    #[error(
        "audit record {seq}: does not follow the previous record's hash (reordered or a record was removed)"
    )]
    Unlinked { seq: i64 },
    #[error(
        "audit chain ends at record {last_seq} but the chain head says {head_seq} (records removed from the end)"
    )]
    Truncated { last_seq: i64, head_seq: i64 },
}

/// Records are numbered per chain: chain `k` (from 1) numbers its records from
/// `(k - 1) * CHAIN_SPAN + 1` on, so every record's number is unique across chains and says
/// which chain it belongs to, and the numbers of one chain are consecutive. Several chains
/// let concurrent writers append without waiting for each other (each locks one chain's
/// head); chain 1's numbers are those of the single chain before there were several.
pub const CHAIN_SPAN: i64 = 1_000_000_000_000_000;

/// The chain record number `seq` belongs to.
pub fn chain_of(seq: i64) -> i64 {
    (seq - 1).div_euclid(CHAIN_SPAN) + 1
}

/// The number a chain's head holds before its first record.
pub fn chain_start(chain: i64) -> i64 {
    (chain - 1).saturating_mul(CHAIN_SPAN)
}

/// Incremental verifier of one chain: feed its records in sequence order, then call
/// [`ChainVerifier::finish`] with the head stored beside the chain.
#[derive(Debug)]
pub struct ChainVerifier<'k> {
    key: &'k [u8],
    expected_seq: i64,
    prev_hash: String,
    pub verified: i64,
}

impl<'k> ChainVerifier<'k> {
    pub fn new(key: &'k [u8]) -> Self {
        Self::for_chain(key, 1)
    }

    /// For chain `chain` (see [`CHAIN_SPAN`]).
    pub fn for_chain(key: &'k [u8], chain: i64) -> Self {
        Self {
            key,
            expected_seq: chain_start(chain) + 1,
            prev_hash: GENESIS_HASH.to_owned(),
            verified: 0,
        }
    }

    pub fn check(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if r.seq != self.expected_seq {
            return Err(ChainBreak::Gap {
                seq: r.seq,
                expected: self.expected_seq,
            });
        }
        if compute_hash(self.key, r.seq, r.at_ms, &r.event, &r.prev_hash) != r.hash {
            return Err(ChainBreak::Modified { seq: r.seq });
        }
        if r.prev_hash != self.prev_hash {
            return Err(ChainBreak::Unlinked { seq: r.seq });
        }
        self.prev_hash.clone_from(&r.hash);
        self.expected_seq += 1;
        self.verified += 1;
        Ok(())
    }

    pub fn finish(&self, head_seq: i64, head_hash: &str) -> Result<(), ChainBreak> {
        let last_seq = self.expected_seq - 1;
        if head_seq != last_seq || head_hash != self.prev_hash {
            return Err(ChainBreak::Truncated { last_seq, head_seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_numbers_name_their_chain() {
        assert_eq!(chain_of(1), 1);
        assert_eq!(chain_of(CHAIN_SPAN), 1);
        assert_eq!(chain_of(CHAIN_SPAN + 1), 2);
        assert_eq!(chain_start(3) + 1, 2 * CHAIN_SPAN + 1);
        let key = b"k";
        let mut second = ChainVerifier::for_chain(key, 2);
        let first = seal(key, CHAIN_SPAN + 1, 5, event(1), GENESIS_HASH);
        second.check(&first).unwrap();
        let next = seal(key, CHAIN_SPAN + 2, 6, event(2), &first.hash);
        second.check(&next).unwrap();
        second.finish(CHAIN_SPAN + 2, &next.hash).unwrap();
        // A record moved to another chain keeps its number, which the other chain refuses.
        let mut third = ChainVerifier::for_chain(key, 3);
        assert!(matches!(third.check(&first), Err(ChainBreak::Gap { .. })));
    }

    fn event(n: i64) -> AuditEvent {
        AuditEvent {
            actor: "user:1".into(),
            action: "user.create".into(),
            object_type: "user".into(),
            object_id: n.to_string(),
            before_digest: String::new(),
            after_digest: digest_state(Some(&n)),
            request_id: format!("req{n}"),
            source_addr: "127.0.0.1".into(),
        }
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let r = seal(b"k", seq, 1000 + seq, event(seq), &prev);
                prev.clone_from(&r.hash);
                r
            })
            .collect()
    }

    fn verify(records: &[AuditRecord], head: (i64, &str)) -> Result<i64, ChainBreak> {
        let mut v = ChainVerifier::new(b"k");
        for r in records {
            v.check(r)?;
        }
        v.finish(head.0, head.1)?;
        Ok(v.verified)
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c, (5, &c[4].hash)), Ok(5));
    }

    #[test]
    fn detects_modification_deletion_reordering_truncation() {
        let c = chain(5);
        let head = (5, c[4].hash.as_str());
        let mut modified = c.clone();
        modified[2].event.actor = "user:666".into();
        assert_eq!(
            verify(&modified, head),
            Err(ChainBreak::Modified { seq: 3 })
        );
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(
            verify(&deleted, head),
            Err(ChainBreak::Gap {
                seq: 3,
                expected: 2
            })
        );
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        let (a, b) = (swapped[1].seq, swapped[2].seq);
        swapped[1].seq = b;
        swapped[2].seq = a;
        assert!(matches!(
            verify(&swapped, head),
            Err(ChainBreak::Modified { seq: 2 })
        ));
        assert_eq!(
            verify(&c[..4], head),
            Err(ChainBreak::Truncated {
                last_seq: 4,
                head_seq: 5
            })
        );
        let mut wrong_key = ChainVerifier::new(b"other");
        assert!(wrong_key.check(&c[0]).is_err());
    }
}
