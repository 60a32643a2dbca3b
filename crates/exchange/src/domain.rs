//! Routing, receive decisions and transport statuses of the exchange, pure.
//!
//! Invariants: a recipient is routed to exactly one destination or reported unknown (a
//! package is never dropped silently); a package received again with the same document id
//! and the same content is a repeat of an acknowledged delivery (answered, never stored
//! twice), while the same document id with other content is refused, because accepting it
//! would let anyone replace a document an agency already registered.

use serde::{Deserialize, Serialize};
use tinhso_core::agency::check_agency_id;

/// Where one recipient of a package is delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Route {
    /// An agency of this installation (its row id in the organisation tree).
    Local { agency_id: i64 },
    /// Another province's exchange, by the peer's configured name.
    Peer { peer: String },
    /// The national exchange (Trục liên thông văn bản quốc gia) through its connector.
    National,
}

/// Why a recipient cannot be routed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// Not a valid agency identifier (`NNN.NN.NN.XNN`); the rule key names the broken part.
    #[error("`{organ_id}` is not an agency identifier ({rule})")]
    Malformed {
        organ_id: String,
        rule: &'static str,
    },
    /// Valid, but neither here, nor served by a peer, nor reachable nationally.
    #[error("no exchange serves agency `{organ_id}`")]
    Unknown { organ_id: String },
}

impl RouteError {
    /// The stable rule key reported to the sender and in the API.
    pub fn rule(&self) -> &'static str {
        match self {
            RouteError::Malformed { .. } => "exchange.recipient.malformed",
            RouteError::Unknown { .. } => "exchange.recipient.unknown",
        }
    }
}

/// A federated exchange and the agencies it serves. Patterns are a full identifier
/// (`000.00.12.H14`) or `*.` followed by a final group (`*.H14`: every agency whose
/// level-1 unit is H14, i.e. the whole province).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerRoute {
    pub peer: String,
    pub serves: Vec<String>,
}

/// What the router knows: this installation's agencies by identifier, the peers, and
/// whether the national connector is configured.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub local: Vec<(String, i64)>,
    pub peers: Vec<PeerRoute>,
    pub national: bool,
}

impl Directory {
    /// Local agencies first (an agency registered here is never sent away), then the most
    /// specific peer pattern (an exact identifier before a province wildcard), then the
    /// national exchange.
    pub fn route(&self, organ_id: &str) -> Result<Route, RouteError> {
        let organ_id = organ_id.trim();
        check_agency_id(organ_id).map_err(|rule| RouteError::Malformed {
            organ_id: organ_id.to_owned(),
            rule: rule.key(),
        })?;
        if let Some((_, agency_id)) = self.local.iter().find(|(code, _)| code == organ_id) {
            return Ok(Route::Local {
                agency_id: *agency_id,
            });
        }
        let best = self
            .peers
            .iter()
            .flat_map(|peer| peer.serves.iter().map(move |pattern| (peer, pattern)))
            .filter_map(|(peer, pattern)| pattern_rank(pattern, organ_id).map(|rank| (rank, peer)))
            .max_by_key(|(rank, _)| *rank);
        if let Some((_, peer)) = best {
            return Ok(Route::Peer {
                peer: peer.peer.clone(),
            });
        }
        if self.national {
            return Ok(Route::National);
        }
        Err(RouteError::Unknown {
            organ_id: organ_id.to_owned(),
        })
    }
}

/// 2 for an exact identifier, 1 for a final-group wildcard, `None` when it does not match.
fn pattern_rank(pattern: &str, organ_id: &str) -> Option<u8> {
    let pattern = pattern.trim();
    if pattern == organ_id {
        return Some(2);
    }
    let group = pattern.strip_prefix("*.")?;
    let last = organ_id.rsplit('.').next()?;
    (!group.is_empty() && group == last).then_some(1)
}

/// A received package compared with what this exchange already holds for its document id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveDecision {
    /// Never seen: store it and route it.
    New,
    /// The same package again (a sender retrying after a lost answer): acknowledge with the
    /// first receipt, store nothing.
    Repeat,
    /// Another package under a document id already received: refused (`exchange.replayed`).
    Conflict,
}

/// `stored_digest` is the content digest kept for the same (sender, document id), if any.
/// Revocations and updates carry the original document id in `Bussiness`, not as their own
/// id, so they are new packages with ids of their own and never meet this rule.
pub fn decide_receive(digest: &str, stored_digest: Option<&str>) -> ReceiveDecision {
    match stored_digest {
        None => ReceiveDecision::New,
        Some(stored) if stored == digest => ReceiveDecision::Repeat,
        Some(_) => ReceiveDecision::Conflict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        Directory {
            local: vec![("000.00.00.H41".into(), 1), ("000.00.12.H41".into(), 7)],
            peers: vec![
                PeerRoute {
                    peer: "cao-bang".into(),
                    serves: vec!["*.H14".into()],
                },
                PeerRoute {
                    peer: "cao-bang-so-tu-phap".into(),
                    serves: vec!["000.00.05.H14".into()],
                },
            ],
            national: false,
        }
    }

    #[test]
    fn local_then_most_specific_peer_then_national() {
        let mut d = directory();
        assert_eq!(d.route("000.00.12.H41"), Ok(Route::Local { agency_id: 7 }));
        assert_eq!(
            d.route(" 000.00.01.H14 "),
            Ok(Route::Peer {
                peer: "cao-bang".into()
            })
        );
        assert_eq!(
            d.route("000.00.05.H14"),
            Ok(Route::Peer {
                peer: "cao-bang-so-tu-phap".into()
            })
        );
        let unknown = d.route("000.00.00.G22").unwrap_err();
        assert_eq!(unknown.rule(), "exchange.recipient.unknown");
        d.national = true;
        assert_eq!(d.route("000.00.00.G22"), Ok(Route::National));
        // An unregistered agency under this installation's own province code is unknown:
        // only registered identifiers are local, and the province's code is not a peer's.
        d.national = false;
        assert!(d.route("000.00.99.H41").is_err());
    }

    #[test]
    fn malformed_identifiers_are_refused_with_the_rule() {
        let d = directory();
        for bad in [
            "",
            "H41",
            "000.00.00.H4",
            "000-00-00-H41",
            "000.00.00.H41.1",
        ] {
            let err = d.route(bad).unwrap_err();
            assert_eq!(err.rule(), "exchange.recipient.malformed", "{bad}");
        }
        assert_eq!(pattern_rank("*.", "000.00.00.H41"), None);
    }

    #[test]
    fn repeats_are_answered_and_conflicts_refused() {
        assert_eq!(decide_receive("abc", None), ReceiveDecision::New);
        assert_eq!(decide_receive("abc", Some("abc")), ReceiveDecision::Repeat);
        assert_eq!(
            decide_receive("abc", Some("abd")),
            ReceiveDecision::Conflict
        );
    }
}
