//! The document exchange (trục liên thông văn bản).
//!
//! `domain` holds the pure rules: where a recipient's agency identifier is delivered (an
//! agency of this installation, a federated province's exchange, the national exchange),
//! what a received package is compared with what was received before (new, a sender's
//! repeat, or a different package reusing a document id). Transport statuses are the
//! documents system's (`tinhso_documents::domain::workflow::TransportStatus`).
//! `transport` holds the ports packages leave and arrive through (federated peers over
//! HTTPS with client certificates, the national exchange). `receive` is the one pipeline
//! every arriving package goes through; `store` the exchange's own rows (received packages,
//! the log IT staff list); `mapping` the documents ⇄ edXML mapping.

pub mod domain;
pub mod mapping;
pub mod national;
pub mod poll;
pub mod receive;
pub mod send;
pub mod store;
pub mod tls;
pub mod transport;

pub use store::MIGRATIONS;
