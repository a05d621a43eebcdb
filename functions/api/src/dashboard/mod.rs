//! The operator dashboard at `/dashboard` (issue 7): server-rendered HTML on the same router.

use crate::AppState;
use axum::Router;
use std::sync::Arc;

/// The dashboard's routes (merged into the API router).
pub fn routes(_state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
}
