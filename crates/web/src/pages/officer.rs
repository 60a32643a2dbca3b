//! Officials at work: the counter (intake on a citizen's behalf, queue tickets and the
//! waiting-room display, returning results) and the workspace of specialists and leaders
//! (the inbox sorted by deadline, the dossier page with the actions of its step, bulk
//! approval).
//!
//! Paths: `/counter…`, `/queue…`, `/inbox`, `/dossiers/{code}`.

use axum::Router;

use crate::AppState;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
