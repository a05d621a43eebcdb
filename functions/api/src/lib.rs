//! The HTTP API: one axum router, served by the API Gateway Lambda (lambda_http) and by
//! `otto serve` on the embedded store.
//!
//! | route | auth |
//! |---|---|
//! | `GET /health`, `GET /openapi.json` | none |
//! | `POST /chat`, `GET /rows/{table}/{id}`, `POST /rows/{table}/{id}/revert`, `POST /cycles/{id}/apply`, `GET /holds`, `POST /holds/{ref}/release`, `GET/PUT /kill-switch`, `GET /policy`, `PUT /policy/{name}`, `GET /candidates`, `POST /candidates/{table}/{id}/{approve\|reject}` | operator ([`auth`]) |
//! | `POST /jobs/{cycle}`, `POST /jobs/{cycle}/{stage}` | `X-Worker-Token` ([`jobs`]) |
//! | `POST /slack/commands`, `POST /slack/interactions` | Slack signature ([`slack`]) |
//!
//! Every error is JSON `{"error":{"code","message"}}` — including the router's own 404, 405 and
//! 413 — and the routes are described by `openapi.json` (checked against the router by a test).

pub mod auth;
pub mod dashboard;
pub mod jobs;
pub mod openapi;
pub mod operator;
pub mod operator_acts;
pub mod slack;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use otto_store::Ports;
use serde_json::json;
use std::sync::Arc;

/// Largest request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ports: Ports,
    pub clock: otto_core::StoreClock,
    pub store_id: otto_core::StoreId,
    /// `X-Worker-Token` for `/jobs/*`; unset = every job call is refused.
    pub worker_token: Option<String>,
    pub operator_auth: auth::OperatorAuth,
    /// What a release can drive (shop, ad account, helpdesk).
    pub executors: otto_engine::holds::Executors,
    /// Slack signing secret, admins and where jobs go; unset = `/slack/*` answers 503.
    pub slack: Option<slack::SlackConfig>,
    /// Prefix of citation links ("" = relative).
    pub link_base: String,
    /// The optional LLM (`OTTO_LLM`), behind the typed queries and the citation guard.
    pub llm: Option<Arc<dyn otto_answers::llm::Llm>>,
}

impl AppState {
    /// The state for a host: operator auth by `OTTO_OPERATOR_TOKEN`, and by the API Gateway JWT
    /// authorizer's claims when `gateway_jwt` (the Lambda); Slack when its signing secret is set.
    pub fn from_config(
        ports: Ports,
        cfg: &otto_runtime::Config,
        gateway_jwt: bool,
        executors: otto_engine::holds::Executors,
        slack_dispatch: Option<Arc<dyn slack::SlackDispatch>>,
    ) -> Self {
        AppState {
            ports,
            clock: cfg.clock,
            store_id: cfg.store_id.clone(),
            worker_token: cfg.worker_token.clone(),
            operator_auth: auth::OperatorAuth {
                token: cfg.operator_token.clone(),
                gateway_jwt,
            },
            executors,
            slack: match (&cfg.slack_signing_secret, slack_dispatch) {
                (Some(secret), Some(dispatch)) => Some(slack::SlackConfig {
                    signing_secret: secret.clone(),
                    admins: cfg.slack_admins.clone(),
                    dispatch,
                    team_id: cfg.slack_team_id.clone(),
                    app_id: cfg.slack_app_id.clone(),
                }),
                _ => None,
            },
            link_base: cfg.public_url.clone().unwrap_or_default(),
            llm: None,
        }
    }

    /// The Otto that answers: the engine over this state's ports, with the LLM when configured.
    pub fn engine(&self) -> otto_answers::Engine<'_> {
        otto_answers::Engine::new(
            &self.ports,
            self.store_id.clone(),
            self.clock,
            &self.link_base,
        )
        .with_llm(self.llm.clone())
    }

    /// The Slack responder for this state's ports.
    pub fn responder(&self, client: otto_slack::ResponseUrlClient) -> slack::Responder {
        slack::Responder {
            ports: self.ports.clone(),
            store_id: self.store_id.clone(),
            clock: self.clock,
            link_base: self.link_base.clone(),
            executors: self.executors.clone(),
            client,
            llm: self.llm.clone(),
        }
    }
}

/// A JSON error: `{"error":{"code","message"}}` with its status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// `Retry-After` (seconds) of a 429.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `rate_limited` with `Retry-After`.
    pub fn throttled(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many failed authentication attempts from this address: retry in {retry_after} s"),
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
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
    let state = Arc::new(state);
    let operator = Router::new()
        .route("/chat", post(operator::chat))
        .route("/rows/{table}/{id}", get(operator::get_row))
        .route("/holds", get(operator::list_holds))
        .route("/holds/{ref}/release", post(operator::release_hold))
        .route("/rows/{table}/{id}/revert", post(operator_acts::revert_row))
        .route("/cycles/{id}/apply", post(operator_acts::apply_cycle))
        .route("/policy", get(operator_acts::get_policy))
        .route(
            "/policy/{name}",
            axum::routing::put(operator_acts::put_policy),
        )
        .route(
            "/kill-switch",
            get(operator::get_kill_switch).put(operator::set_kill_switch),
        )
        .route("/candidates", get(operator::list_candidates))
        .route(
            "/candidates/{table}/{id}/{decision}",
            post(operator::review_candidate),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_operator,
        ));
    Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/openapi.json", get(openapi::serve))
        .route("/jobs/{cycle}", post(jobs::start_cycle))
        .route("/jobs/{cycle}/{stage}", post(jobs::run_stage))
        .route("/slack/commands", post(slack::commands))
        .route("/slack/interactions", post(slack::interactions))
        .merge(operator)
        .merge(dashboard::routes(state.clone()))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .layer(axum::middleware::map_response(json_errors))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

/// The router's own rejections (405, 413, a bad path parameter …) come as plain text; every
/// error leaves as `{"error":{"code","message"}}` (the dashboard's HTML error pages stay HTML).
async fn json_errors(res: Response) -> Response {
    let status = res.status();
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let code = match status {
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_server_error() => "internal",
        _ => "invalid",
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body is larger than {MAX_BODY_BYTES} bytes")
        }
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_string(),
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let allow = res.headers().get(axum::http::header::ALLOW).cloned();
    let mut out = ApiError::new(status, code, message).into_response();
    if let Some(a) = allow {
        out.headers_mut().insert(axum::http::header::ALLOW, a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
    use tower::ServiceExt;

    /// Tokens of the test state (at least 32 bytes, as a host requires).
    pub(crate) const OP_TOKEN: &str = "op-token-5f0c2a9e4b7d4c1e8a3f6b2d9e0c7a1f";
    pub(crate) const WORKER: &str = "s3cret-worker-token-8d2f61c0a9b34e7f95a1";

    pub(crate) fn test_state(ports: Ports) -> AppState {
        AppState {
            ports,
            clock: otto_core::StoreClock::new("Europe/Amsterdam").unwrap(),
            store_id: otto_core::StoreId::new("brevard").unwrap(),
            worker_token: Some(WORKER.into()),
            operator_auth: auth::OperatorAuth {
                token: Some(OP_TOKEN.into()),
                gateway_jwt: false,
            },
            executors: Default::default(),
            slack: None,
            link_base: String::new(),
            llm: None,
        }
    }

    async fn call(app: Router, uri: &str) -> (StatusCode, serde_json::Value) {
        let res = app
            .oneshot(
                Request::get(uri)
                    .header("authorization", format!("Bearer {OP_TOKEN}"))
                    .body(Body::empty())
                    .unwrap(),
            )
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
        let mut state = super::tests::test_state(Ports::from_adapter(Arc::new(store), queue));
        state.operator_auth.gateway_jwt = true;
        let app = router(state);
        let (parts, body) = req.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        // The same request without the authorizer's claims is refused: the Lambda never serves
        // an operator route the JWT authorizer did not vouch for.
        let mut bare =
            axum::http::Request::from_parts(parts.clone(), axum::body::Body::from(bytes.clone()));
        bare.extensions_mut()
            .remove::<lambda_http::request::RequestContext>();
        bare.headers_mut().remove("authorization");
        assert_eq!(
            app.clone().oneshot(bare).await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
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
    use super::tests::WORKER;
    use super::*;
    use axum::body::Body;
    use axum::http::{HeaderValue, Request};
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
        let (s, first) = post(&c.app, "/jobs/morning", Some(WORKER), Some("k-1"), body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{first}");
        assert_eq!(first["cycle_id"], "brevard:morning:2026-11-24");
        assert_eq!(first["outcome"], "opened");
        let (s, again) = post(&c.app, "/jobs/morning", Some(WORKER), Some("k-1"), body).await;
        assert_eq!(s, StatusCode::ACCEPTED);
        assert_eq!(again, first, "same key + same body → the stored response");
        let (s, v) = post(
            &c.app,
            "/jobs/morning",
            Some(WORKER),
            Some("k-1"),
            r#"{"date":"2026-11-23"}"#,
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["error"]["code"], "idempotency_key_reused");
        // Without a key the cycle itself is still opened once.
        let (_, resumed) = post(&c.app, "/jobs/morning", Some(WORKER), None, body).await;
        assert_eq!(resumed["outcome"], "resumed");
        assert_eq!(resumed["run"], first["run"]);
        // Another catalog cycle waits for the store_lock.
        let (s, v) = post(&c.app, "/jobs/discount", Some(WORKER), None, body).await;
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
        let (s, v) = post(&c.app, "/jobs/lunch", Some(WORKER), None, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert!(v["error"]["message"].as_str().unwrap().contains("lunch"));
        let (s, v) = post(&c.app, "/jobs/morning", Some(WORKER), None, "{").await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request body"));
        let (s, v) = post(
            &c.app,
            "/jobs/morning",
            Some(WORKER),
            None,
            r#"{"apply":true,"force":true}"#,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(v["error"]["message"].as_str().unwrap().contains("force"));
        let (s, _) = post(
            &c.app,
            "/jobs/morning",
            Some(WORKER),
            None,
            r#"{"date":"24/11/2026"}"#,
        )
        .await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        let (s, _) = post(&c.app, "/jobs/morning/revert", Some(WORKER), None, "").await;
        assert_eq!(s, StatusCode::NOT_FOUND, "revert is a discount stage");
        let big = format!(r#"{{"date":"{}"}}"#, "x".repeat(70_000));
        let (s, _) = post(&c.app, "/jobs/morning", Some(WORKER), None, &big).await;
        assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn stage_jobs_need_a_running_cycle() {
        let c = ctx();
        let body = r#"{"date":"2026-11-24"}"#;
        let (s, v) = post(&c.app, "/jobs/morning/classify", Some(WORKER), None, body).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(v["error"]["code"], "not_running");
        post(&c.app, "/jobs/morning", Some(WORKER), None, body).await;
        let (s, v) = post(&c.app, "/jobs/morning/classify", Some(WORKER), None, body).await;
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
    /// Issue 13: a non-ASCII Idempotency-Key was silently ignored and both requests ran. A key
    /// that cannot be honoured as sent is a 400 now, before anything runs.
    #[tokio::test]
    async fn invalid_idempotency_keys_are_refused() {
        let c = ctx();
        let body = r#"{"date":"2026-11-24"}"#;
        let long = "k".repeat(256);
        for key in [
            HeaderValue::from_bytes("clé-1".as_bytes()).unwrap(),
            HeaderValue::from_static(""),
            HeaderValue::from_static("   "),
            HeaderValue::from_str(&long).unwrap(),
            HeaderValue::from_static("a\tb"),
        ] {
            for uri in ["/jobs/morning", "/jobs/morning/classify"] {
                let req = Request::post(uri)
                    .header("x-worker-token", WORKER)
                    .header("idempotency-key", key.clone())
                    .body(Body::from(body))
                    .unwrap();
                let res = c.app.clone().oneshot(req).await.unwrap();
                let status = res.status();
                let v: serde_json::Value =
                    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                        .unwrap();
                assert_eq!(status, StatusCode::BAD_REQUEST, "{key:?} on {uri}: {v}");
                assert_eq!(v["error"]["code"], "bad_idempotency_key", "{key:?}");
            }
        }
        let cycle = c
            .ports
            .audit
            .get_by_natural_key(
                otto_core::audit::AuditTable::CycleRuns,
                "brevard:morning:2026-11-24",
            )
            .await
            .unwrap();
        assert!(cycle.is_none(), "nothing ran");
        // The longest key accepted is 255 bytes of printable ASCII.
        let ok = "k".repeat(255);
        let (s, v) = post(&c.app, "/jobs/morning", Some(WORKER), Some(&ok), body).await;
        assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    }

    /// Issue 13: nothing throttled wrong tokens. A source that sent FAIL_LIMIT wrong worker
    /// tokens in a window gets 429 with Retry-After, the right token included.
    #[tokio::test]
    async fn wrong_worker_tokens_are_throttled() {
        let c = ctx();
        crate::auth::tests::away_from_a_window_edge().await;
        for i in 0..crate::auth::FAIL_LIMIT {
            let (s, _) = post(&c.app, "/jobs/morning", Some("guess"), None, "").await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
        }
        for token in ["guess", WORKER] {
            let res = c
                .app
                .clone()
                .oneshot(
                    Request::post("/jobs/morning")
                        .header("x-worker-token", token)
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
            let retry: u64 = res.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry));
            let v: serde_json::Value =
                serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes())
                    .unwrap();
            assert_eq!(v["error"]["code"], "rate_limited");
        }
    }

    /// Issue 13: a one-character token was accepted. A state holding a token shorter than 32
    /// bytes (a host refuses to start with one) keeps its routes closed.
    #[tokio::test]
    async fn short_tokens_open_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
        let mut state = super::tests::test_state(Ports::from_adapter(Arc::new(store), queue));
        state.worker_token = Some("x".into());
        state.operator_auth.token = Some("x".into());
        let app = router(state);
        let (s, v) = post(&app, "/jobs/morning", Some("x"), None, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        let res = app
            .clone()
            .oneshot(
                Request::get("/holds")
                    .header("authorization", "Bearer x")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let res = app
            .oneshot(
                Request::post("/dashboard/login")
                    .body(Body::from("token=x"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(res.headers().get("set-cookie").is_none(), "no session");
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

    async fn send(app: &Router, mut req: Request<Body>) -> (StatusCode, serde_json::Value) {
        req.headers_mut().insert(
            "authorization",
            format!("Bearer {}", super::tests::OP_TOKEN)
                .parse()
                .unwrap(),
        );
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
                    supplier_match: None,
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
                .body(Body::from(r#"{"by":"mallory","reason":"fits the range"}"#))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["status"], "APPROVED");
        // Issue 13: the reviewer was whatever `by` the client sent. It is the authenticated
        // operator now; the field is accepted and ignored.
        assert_eq!(v["body"]["figures"]["reviewed_by"], "operator", "{v}");
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
