//! Document management of Tỉnh số (quản lý văn bản, Nghị định 30/2020/NĐ-CP).
//!
//! `domain` holds the pure rules (types, numbering, metadata, workflows); the services store
//! documents on either database, decide access through [`common::check_view`] and the core's
//! rights, and audit every change in its own transaction. Other systems — the edXML exchange
//! above all — call [`exchange`]'s functions, never these tables.

pub mod archive;
pub mod common;
pub mod demo;
pub mod domain;
pub mod exchange;
pub mod files;
pub mod incoming;
pub mod notices;
pub mod outgoing;
pub mod registers;
pub mod settings;
pub mod signatures;
pub mod statistics;
pub mod work_files;

/// This system's schema migrations (versions 2001–2999).
pub const MIGRATIONS: &[tinhso_platform::Migration] = &[
    (
        2001,
        "documents",
        include_str!("../migrations/2001_documents.sql"),
    ),
    (
        2002,
        "documents_server",
        include_str!("../migrations/2002_documents_server.sql"),
    ),
    (
        2003,
        "documents_answers",
        include_str!("../migrations/2003_documents_answers.sql"),
    ),
];
