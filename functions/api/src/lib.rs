//! The HTTP API: one axum router, served by the API Gateway Lambda (lambda_http) and by
//! `otto serve`. Today: `/health`, `GET /rows/{table}/{id}`, and the worker endpoints
//! `POST /jobs/{cycle}` and `POST /jobs/{cycle}/{stage}`, the research review (`GET /candidates`,
//! `POST /candidates/research_candidates/{id}/approve|reject`); `/chat`, `/holds`, `/slack/*` and
//! `/dashboard` join it as their issues land.

pub mod jobs;

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
    pub clock: otto_core::StoreClock,
    pub store_id: otto_core::StoreId,
    /// `X-Worker-Token` for `/jobs/*`; unset = every job call is refused.
    pub worker_token: Option<String>,
}

impl AppState {
    pub fn from_config(ports: Ports, cfg: &otto_runtime::Config) -> Self {
        AppState {
            ports,
            clock: cfg.clock,
            store_id: cfg.store_id.clone(),
            worker_token: cfg.worker_token.clone(),
        }
    }
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
        .route("/candidates", get(list_candidates))
        .route(
            "/candidates/{table}/{id}/{decision}",
            axum::routing::post(review_candidate),
        )
        .route("/jobs/{cycle}", axum::routing::post(jobs::start_cycle))
        .route(
            "/jobs/{cycle}/{stage}",
            axum::routing::post(jobs::run_stage),
        )
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .with_state(Arc::new(state))
}

/// `GET /candidates`: the research queue, best score first.
async fn list_candidates(
    State(state): State<Arc<AppState>>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = otto_stage::research::queued(&state.ports, &state.store_id).await?;
    Ok(Json(
        json!({"candidates": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    by: Option<String>,
    reason: Option<String>,
}

/// `POST /candidates/research_candidates/{id}/approve|reject` `{by?, reason?}`.
async fn review_candidate(
    State(state): State<Arc<AppState>>,
    Path((table, id, decision)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{other:?} is not approve or reject"),
            ))
        }
    };
    let r = RowRef::parse(&format!("{table}#{id}"))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    let b: ReviewBody = if body.iter().all(u8::is_ascii_whitespace) {
        ReviewBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("request body: {e}"),
            )
        })?
    };
    let row = otto_stage::research::review(
        &state.ports,
        r,
        approve,
        b.by.as_deref().unwrap_or("operator"),
        b.reason,
    )
    .await?;
    Ok(Json(row.to_json()))
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

    pub(crate) fn test_state(ports: Ports) -> AppState {
        AppState {
            ports,
            clock: otto_core::StoreClock::new("Europe/Amsterdam").unwrap(),
            store_id: otto_core::StoreId::new("brevard").unwrap(),
            worker_token: Some("s3cret".into()),
        }
    }

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
        let app = router(super::tests::test_state(Ports::from_adapter(
            Arc::new(store),
            queue,
        )));
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
        let app = router(super::tests::test_state(Ports::from_adapter(
            Arc::new(store),
            queue,
        )));
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

#[cfg(test)]
mod jobs_tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use tower::ServiceExt;

    struct Ctx {
        app: Router,
        ports: Ports,
        _dir: tempfile::TempDir,
    }

    fn ctx() -> Ctx {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        let ports = Ports::from_adapter(Arc::new(store), queue);
        Ctx {
            app: router(super::tests::test_state(ports.clone())),
            ports,
            _dir: dir,
        }
    }

    async fn post(
        app: &Router,
        uri: &str,
        token: Option<&str>,
        key: Option<&str>,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let mut req = Request::post(uri).header("content-type", "application/json");
        if let Some(t) = token {
            req = req.header("x-worker-token", t);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::from(body.to_string())).unwrap())
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
    async fn worker_token_is_required() {
        let c = ctx();
        let (s, v) = post(&c.app, "/jobs/morning", None, None, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(v["error"]["code"], "unauthorized");
        let (s, _) = post(&c.app, "/jobs/morning", Some("s3cre"), None, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test]
    async fn start_cycle_is_idempotent_per_key() {
        let c = ctx();
        let body = r#"{"date":"2026-11-24"}"#;
        let (s, first) = post(&c.app, "/jobs/morning", Some("s3cret"), Some("k-1"), body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{first}");
        assert_eq!(first["cycle_id"], "brevard:morning:2026-11-24");
        assert_eq!(first["outcome"], "opened");
        let (s, again) = post(&c.app, "/jobs/morning", Some("s3cret"), Some("k-1"), body).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(again, first, "same key + same body → the stored response");
        let (s, v) = post(
            &c.app,
            "/jobs/morning",
            Some("s3cret"),
            Some("k-1"),
            r#"{"date":"2026-11-23"}"#,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["code"], "idempotency_key_reused");
        // Without a key the cycle itself is still opened once.
        let (_, resumed) = post(&c.app, "/jobs/morning", Some("s3cret"), None, body).await;
        assert_eq!(resumed["outcome"], "resumed");
        assert_eq!(resumed["run"], first["run"]);
        // Another catalog cycle waits for the store_lock.
        let (s, v) = post(&c.app, "/jobs/discount", Some("s3cret"), None, body).await;
        assert_eq!(s, StatusCode::CONFLICT, "{v}");
        let first_stage = c
            .ports
            .queue
            .receive(
                otto_core::cycle::Stage::Sync,
                10,
                std::time::Duration::from_secs(1),
            )
            .await
            .unwrap();
        assert_eq!(
            first_stage.len(),
            2,
            "one message per (re)open; the stage runs once by its own key"
        );
    }

    #[tokio::test]
    async fn bad_requests_are_named() {
        let c = ctx();
        let (s, v) = post(&c.app, "/jobs/lunch", Some("s3cret"), None, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"]["message"].as_str().unwrap().contains("lunch"));
        let (s, v) = post(&c.app, "/jobs/morning", Some("s3cret"), None, "{").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request body"));
        let (s, v) = post(
            &c.app,
            "/jobs/morning",
            Some("s3cret"),
            None,
            r#"{"apply":true,"force":true}"#,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"]["message"].as_str().unwrap().contains("force"));
        let (s, _) = post(
            &c.app,
            "/jobs/morning",
            Some("s3cret"),
            None,
            r#"{"date":"24/11/2026"}"#,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post(&c.app, "/jobs/morning/revert", Some("s3cret"), None, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "revert is a discount stage");
        let big = format!(r#"{{"date":"{}"}}"#, "x".repeat(70_000));
        let (s, _) = post(&c.app, "/jobs/morning", Some("s3cret"), None, &big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn stage_jobs_need_a_running_cycle() {
        let c = ctx();
        let body = r#"{"date":"2026-11-24"}"#;
        let (s, v) = post(&c.app, "/jobs/morning/classify", Some("s3cret"), None, body).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(v["error"]["code"], "not_running");
        post(&c.app, "/jobs/morning", Some("s3cret"), None, body).await;
        let (s, v) = post(&c.app, "/jobs/morning/classify", Some("s3cret"), None, body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
        assert_eq!(v["enqueued"], 1);
        let msgs = c
            .ports
            .queue
            .receive(
                otto_core::cycle::Stage::Classify,
                10,
                std::time::Duration::from_secs(1),
            )
            .await
            .unwrap();
        let m = otto_core::cycle::StageMessage::from_json(&msgs[0].body).unwrap();
        assert_eq!(m.cycle_id.to_string(), "brevard:morning:2026-11-24");
    }
}

#[cfg(test)]
mod candidates_tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use otto_core::audit::{NewRow, ResearchCandidateRow, RowBody};
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use tower::ServiceExt;

    async fn send(app: &Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let res = app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    #[tokio::test]
    async fn list_approve_and_reject() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        let ports = Ports::from_adapter(Arc::new(store), queue);
        let cycle = otto_core::cycle::CycleId::parse("brevard:research:2026-11-24").unwrap();
        let rows: Vec<NewRow> = ["apron-linen", "runner-table"]
            .iter()
            .enumerate()
            .map(|(i, k)| NewRow {
                cycle_id: cycle.clone(),
                natural_key: format!("candidate|brevard|{k}"),
                status: otto_core::RowStatus::Queued,
                created_at: "2026-11-24T11:00:00Z".parse().unwrap(),
                body: RowBody::ResearchCandidate(ResearchCandidateRow {
                    candidate_key: k.to_string(),
                    title: k.replace('-', " "),
                    lane: "competitor".into(),
                    score_bp: Some(100 * (i as u32 + 1)),
                    review: "QUEUED".into(),
                    figures: Default::default(),
                }),
            })
            .collect();
        let refs = ports.audit.append(rows, None).await.unwrap();
        let app = router(super::tests::test_state(ports));
        let (s, v) = send(
            &app,
            Request::get("/candidates").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            v["candidates"][0]["ref"],
            refs[1].row_ref.to_string(),
            "best score first"
        );
        let uri = format!(
            "/candidates/research_candidates/{}/approve",
            refs[1].row_ref.seq
        );
        let (s, v) = send(
            &app,
            Request::post(&uri)
                .body(Body::from(r#"{"by":"emma"}"#))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "APPROVED");
        let (s, v) = send(&app, Request::post(&uri).body(Body::empty()).unwrap()).await;
        assert_eq!(s, StatusCode::CONFLICT, "a second review is refused: {v}");
        let bad = format!(
            "/candidates/research_candidates/{}/maybe",
            refs[0].row_ref.seq
        );
        assert_eq!(
            send(&app, Request::post(&bad).body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::NOT_FOUND
        );
        let wrong = "/candidates/decision_log/1/approve";
        assert_eq!(
            send(&app, Request::post(wrong).body(Body::empty()).unwrap())
                .await
                .0,
            StatusCode::BAD_REQUEST
        );
        let (_, v) = send(
            &app,
            Request::get("/candidates").body(Body::empty()).unwrap(),
        )
        .await;
        assert_eq!(v["candidates"].as_array().unwrap().len(), 1);
    }
}
