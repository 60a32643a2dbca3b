//! The ports through which edXML packages leave and reach this installation.
//!
//! Outbound, a package already built and signed on disk is handed to a [`PackageTransport`]
//! for one [`Destination`]: a federated province's exchange (HTTPS with client certificates,
//! `tls`) or the national document exchange (`national`). Inbound, federated peers push to
//! our federation listener, while the national exchange is polled through an
//! [`InboundSource`]. Both sides are at-least-once: the receiver recognises a repeat by the
//! package's document id, so a sender may always send again after an unclear outcome.

use std::path::Path;

use async_trait::async_trait;

/// Where a package is delivered next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// A federated province's exchange, by its configured name and the base URL of its
    /// federation listener (`https://host:port`).
    Peer { name: String, url: String },
    /// The national document exchange (endpoint and credentials from `exchange.national`).
    National,
}

/// What a package carries (the national exchange's `messagetype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageType {
    /// A document package (new, revocation, update or replacement).
    Edoc,
    /// A status package (codes 01–06, 13, 15, 16).
    Status,
}

impl MessageType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Edoc => "edoc",
            Self::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "edoc" => Some(Self::Edoc),
            "status" => Some(Self::Status),
            _ => None,
        }
    }
}

/// One package to send: a complete, signed edXML file on disk (never held in memory).
#[derive(Debug, Clone, Copy)]
pub struct OutgoingPackage<'a> {
    /// The sending agency's identifier (`From/OrganId`).
    pub from_organ_id: &'a str,
    /// The recipients' agency identifiers this destination serves.
    pub to_organ_ids: &'a [String],
    pub message_type: MessageType,
    /// The document id the package is about (`OrganId,yyyy/MM/dd,Số/KýHiệu`): for a status
    /// package, the document it answers. Receivers deduplicate on it.
    pub document_id: &'a str,
    /// Idempotency key of this package (same key on every retry of the same package).
    pub package_key: &'a str,
    pub file: &'a Path,
    pub size_bytes: u64,
}

/// The receiving exchange accepted the package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// The receiver's reference for the package (its id at the national exchange, or ours
    /// echoed by a peer).
    pub reference: String,
    /// True when the receiver had it already (a repeat it answered without storing again).
    pub repeat: bool,
    pub detail: String,
}

/// Why a delivery did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// The receiver could not be reached or answered "try later" (network, 5xx, 429,
    /// timeout, expired credentials): send again after a backoff.
    #[error("{0}")]
    Retry(String),
    /// The receiver refused this package for good (its transport status for us is FAIL):
    /// `code` is the receiver's stable error code (e.g. `edxml.signature.digest_mismatch`,
    /// `exchange.recipient.unknown`), `detail` its explanation.
    #[error("{code}: {detail}")]
    Rejected { code: String, detail: String },
}

/// Sends built packages to one kind of destination.
#[async_trait]
pub trait PackageTransport: Send + Sync + std::fmt::Debug {
    async fn deliver(
        &self,
        destination: &Destination,
        package: &OutgoingPackage<'_>,
    ) -> Result<DeliveryReceipt, TransportError>;
}

/// A package waiting for us at an exchange we poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingPackage {
    /// The exchange's id for it (what `fetch` and `acknowledge` take).
    pub reference: String,
    pub from_organ_id: String,
    pub message_type: MessageType,
}

/// How we took a polled package, reported back as its transport status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acknowledgement {
    /// Stored (or recognised as a repeat): DONE.
    Done,
    /// Refused with a stable code: FAIL.
    Failed { code: String, detail: String },
}

/// An exchange we poll for packages addressed to our agencies (the national exchange).
#[async_trait]
pub trait InboundSource: Send + Sync + std::fmt::Debug {
    /// Packages waiting for us, oldest first, at most `limit`.
    async fn waiting(&self, limit: usize) -> Result<Vec<WaitingPackage>, TransportError>;
    /// Streams one package into `into` (a file the caller created).
    async fn fetch(&self, reference: &str, into: &Path) -> Result<(), TransportError>;
    /// Reports how we took it; after `Done` or `Failed` it is no longer waiting.
    async fn acknowledge(
        &self,
        reference: &str,
        outcome: &Acknowledgement,
    ) -> Result<(), TransportError>;
}
