//! The public portal (no login): the home page with the procedure search, browsing by field,
//! agency and level, the procedure page, and the public statistics page.
//!
//! Paths: `/`, `/procedures`, `/procedures/{code}`, `/statistics`.

use axum::Router;

use crate::AppState;

/// This area's pages, merged into the public application by `crate::app`.
pub fn routes() -> Router<AppState> {
    Router::new()
}
