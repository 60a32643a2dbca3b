//! Agency administration of the one-stop shop: the catalogue editor (procedure, form
//! schema, process steps, with a preview of the form) and the notification templates.
//!
//! Paths: `/admin/procedures…`, `/admin/templates…`.

use axum::Router;

use crate::AppState;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
