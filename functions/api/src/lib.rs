//! The HTTP API: one axum router, served by the API Gateway Lambda (lambda_http) and by
//! `otto serve`. This foundation carries `/health` and `GET /rows/{table}/{id}`; `/jobs/*`,
//! `/chat`, `/holds`, `/slack/*` and `/dashboard` join it as their issues land.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use otto_core::audit::{AuditTable, RowRef};
use otto_store::Ports;
use serde_json::json;
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ports: Ports,
}

/// A JSON error: `{"error":{"code","message"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}

impl From<otto_store::StoreError> for ApiError {
    fn from(e: otto_store::StoreError) -> Self {
        use otto_store::StoreError::*;
        match e {
            NotFound(m) => ApiError::new(StatusCode::NOT_FOUND, "not_found", m),
            Conflict(m) | Fenced(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid", m),
            Transient(m) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            Backend(m) => {
                tracing::error!(error = %m, "backend error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "backend error",
                )
            }
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/rows/{table}/{id}", get(get_row))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(Arc::new(state))
}

async fn get_row(
    State(state): State<Arc<AppState>>,
    Path((table, id)): Path<(String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let table: AuditTable = table.parse().map_err(|e: otto_core::CoreError| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
    })?;
    let row_ref = RowRef::parse(&format!("{table}#{id}"))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    match state.ports.audit.get(row_ref).await? {
        Some(row) => Ok(Json(row.to_json())),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("I don't have a row for that: {row_ref} does not exist"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use tower::ServiceExt;

    async fn call(app: Router, uri: &str) -> (StatusCode, serde_json::Value) {
        let res = app
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn rows_and_errors_are_json() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        let app = router(AppState {
            ports: Ports::from_adapter(Arc::new(store), queue),
        });
        assert_eq!(call(app.clone(), "/health").await.0, StatusCode::OK);
        let (s, v) = call(app.clone(), "/rows/decision_log/5").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v["error"]["code"], "not_found");
        let (s, v) = call(app.clone(), "/rows/decision_log/abc").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"]["message"].as_str().unwrap().contains("abc"));
        let (s, _) = call(app.clone(), "/rows/ledger/5").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = call(app, "/nope").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(v["error"]["code"], "not_found");
    }
}

#[cfg(test)]
mod lambda_event_tests {
    use super::*;
    use http_body_util::BodyExt;
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use tower::ServiceExt;

    /// The API Gateway HTTP API (v2) event in events/ reaches the router as the runtime delivers it.
    #[tokio::test]
    async fn apigw_v2_event_is_routed() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/apigw-http-get-row.json"
        ))
        .unwrap();
        let req = lambda_http::request::from_str(&text).expect("API Gateway v2 event parses");
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        let app = router(AppState {
            ports: Ports::from_adapter(Arc::new(store), queue),
        });
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        let req = axum::http::Request::from_parts(parts, axum::body::Body::from(bytes));
        let res = app.oneshot(req).await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "no such row yet, but the route matched"
        );
        let v: serde_json::Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("decision_log#1"));
    }
}
