//! The one-stop shop's domain: pure types and rules, no I/O, no clock.

pub mod catalog;
pub mod documents;
pub mod dossier;
pub mod national;
pub mod notification_templates;
pub mod queue;
pub mod steps;
