//! The citizen area: online application from the procedure's form schema with a draft saved
//! on the server at every step, my dossiers with their timeline, supplements, rating, my
//! documents and my notifications.
//!
//! Paths: `/apply/{code}`, `/drafts/…`, `/my/dossiers`, `/my/dossiers/{code}`, `/my/documents`, `/my/notifications`.

use axum::Router;

use crate::AppState;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
