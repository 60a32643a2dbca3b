//! The one-stop shop (Cổng dịch vụ công + Hệ thống một cửa điện tử).
//!
//! `domain` holds the pure rules (catalogue specifications, form validation, the dossier
//! state machine and codes); `catalog` and `dossiers` are the services that store them on
//! either database, check access through the core and audit every change in the same
//! transaction. Other systems use these service functions, never these tables.

pub mod catalog;
pub mod domain;
pub mod dossiers;
pub mod export;
pub mod notifications;
pub mod statistics;
pub mod workbook;

/// This system's schema migrations (versions 1001–1999).
pub const MIGRATIONS: &[tinhso_platform::Migration] = &[(
    1001,
    "onestop",
    include_str!("../migrations/1001_onestop.sql"),
)];
