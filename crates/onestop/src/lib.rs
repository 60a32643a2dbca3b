//! The one-stop shop (Cổng dịch vụ công + Hệ thống một cửa điện tử).
//!
//! `domain` holds the pure rules (catalogue specifications, form validation, the dossier
//! state machine and codes); `catalog` and `dossiers` are the services that store them on
//! either database, check access through the core and audit every change in the same
//! transaction. Other systems use these service functions, never these tables.

pub mod catalog;
pub mod catalog_admin;
pub mod citizen;
pub mod demo_dossiers;
pub mod documents;
pub mod domain;
pub mod dossiers;
pub mod drafts;
pub mod export;
pub mod forms;
pub mod notification_templates;
pub mod notifications;
pub mod payments;
pub mod portal_sync;
pub mod queue;
pub mod search;
mod sql;
pub mod statistics;
pub mod steps;
pub mod workbook;
pub mod workspace;

/// This system's schema migrations (versions 1001–1999).
pub const MIGRATIONS: &[tinhso_platform::Migration] = &[
    (
        1001,
        "onestop",
        include_str!("../migrations/1001_onestop.sql"),
    ),
    (
        1002,
        "payments",
        include_str!("../migrations/1002_payments.sql"),
    ),
    (
        1003,
        "documents",
        include_str!("../migrations/1003_documents.sql"),
    ),
    (
        1004,
        "onestop_drafts",
        include_str!("../migrations/1004_drafts.sql"),
    ),
    (
        1005,
        "onestop_notification_templates",
        include_str!("../migrations/1005_notification_templates.sql"),
    ),
    (
        1006,
        "onestop_dossier_steps",
        include_str!("../migrations/1006_dossier_steps.sql"),
    ),
    (
        1007,
        "onestop_inbox_indexes",
        include_str!("../migrations/1007_inbox_indexes.sql"),
    ),
    (
        1008,
        "onestop_queue_tickets",
        include_str!("../migrations/1008_queue_tickets.sql"),
    ),
];
