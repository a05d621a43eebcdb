//! `ResponseUrlClient` against a local axum server standing in for hooks.slack.com.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use otto_slack::{render_answer, CitationLink, ResponseUrlClient, SlackError};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    content_type: Option<String>,
    body: Value,
}

/// One canned answer: status, extra headers, body.
type Canned = (u16, Vec<(&'static str, &'static str)>, String);

#[derive(Default)]
struct Shared {
    responses: Mutex<VecDeque<Canned>>,
    requests: Mutex<Vec<Recorded>>,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        path: uri.path().to_string(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    if let Ok(mut requests) = shared.requests.lock() {
        requests.push(recorded);
    }
    let next = shared.responses.lock().ok().and_then(|mut r| r.pop_front());
    let (status, extra, body) = next.unwrap_or((418, vec![], "no canned response left".into()));
    let mut response = (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body,
    )
        .into_response();
    for (name, value) in extra {
        if let (Ok(n), Ok(v)) = (
            header::HeaderName::from_bytes(name.as_bytes()),
            header::HeaderValue::from_str(value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}

struct FakeSlack {
    base: String,
    shared: Arc<Shared>,
}

impl FakeSlack {
    async fn start(responses: Vec<Canned>) -> Self {
        let shared = Arc::new(Shared {
            responses: Mutex::new(responses.into()),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            base: format!("http://{addr}/"),
            shared,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    fn client(&self) -> ResponseUrlClient {
        ResponseUrlClient::with_allowed_prefix(&self.base).with_retry(3, Duration::from_millis(10))
    }

    fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("lock").clone()
    }
}

fn ok() -> Canned {
    (200, vec![], "ok".into())
}

fn answer() -> Value {
    render_answer(
        "Paused SKU-LIN-007: margin under the 12% floor.",
        &[CitationLink {
            row_ref: "decision_log#84196".into(),
            url: "https://otto.example.com/rows/decision_log/84196".into(),
        }],
        &["decision_log#84196".into()],
    )
}

#[tokio::test]
async fn posts_the_message_as_json() {
    let slack = FakeSlack::start(vec![ok()]).await;
    let message = answer();
    slack
        .client()
        .post(&slack.url("/commands/T0001/1234/abcd"), &message)
        .await
        .expect("posted");
    let requests = slack.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/commands/T0001/1234/abcd");
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(requests[0].body, message);
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let slack = FakeSlack::start(vec![
        (500, vec![], "internal_error".into()),
        (503, vec![], "service_unavailable".into()),
        ok(),
    ])
    .await;
    slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect("third attempt succeeds");
    assert_eq!(slack.requests().len(), 3);
}

#[tokio::test]
async fn retries_429_honouring_retry_after() {
    let slack = FakeSlack::start(vec![
        (429, vec![("retry-after", "1")], "rate_limited".into()),
        ok(),
    ])
    .await;
    let started = Instant::now();
    slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect("second attempt succeeds");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(slack.requests().len(), 2);
}

#[tokio::test]
async fn gives_up_after_the_retry_budget() {
    let slack = FakeSlack::start(vec![
        (502, vec![], "bad gateway".into()),
        (502, vec![], "bad gateway".into()),
        (503, vec![], "still down".into()),
        ok(),
    ])
    .await;
    let err = slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect_err("fails");
    assert_eq!(
        err,
        SlackError::Unavailable {
            status: 503,
            body: "still down".into(),
            attempts: 3
        }
    );
    assert!(err.is_retryable());
    assert_eq!(slack.requests().len(), 3);
}

#[tokio::test]
async fn a_4xx_is_rejected_at_once_with_the_body() {
    let slack = FakeSlack::start(vec![(404, vec![], "expired_url".into()), ok()]).await;
    let err = slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect_err("fails");
    assert_eq!(
        err,
        SlackError::Rejected {
            status: 404,
            body: "expired_url".into()
        }
    );
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("expired_url"));
    assert_eq!(slack.requests().len(), 1);
}

#[tokio::test]
async fn long_error_bodies_are_cut() {
    let slack = FakeSlack::start(vec![(400, vec![], "invalid_blocks ".repeat(1000))]).await;
    let err = slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"blocks": "nope"}))
        .await
        .expect_err("fails");
    match err {
        SlackError::Rejected { status, body } => {
            assert_eq!(status, 400);
            assert!(body.starts_with("invalid_blocks"));
            assert!(body.chars().count() <= 301);
            assert!(body.ends_with('…'));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let slack = FakeSlack::start(vec![
        (
            302,
            vec![("location", "https://evil.example/steal")],
            String::new(),
        ),
        ok(),
    ])
    .await;
    let err = slack
        .client()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect_err("fails");
    assert!(
        matches!(err, SlackError::Rejected { status: 302, .. }),
        "{err:?}"
    );
    assert_eq!(slack.requests().len(), 1);
}

#[tokio::test]
async fn urls_outside_the_allowed_prefix_are_never_contacted() {
    let slack = FakeSlack::start(vec![ok()]).await;
    // The production client refuses the local server…
    let err = ResponseUrlClient::new()
        .post(&slack.url("/commands/1"), &json!({"text": "hi"}))
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SlackError::ResponseUrlNotAllowed { .. }),
        "{err:?}"
    );
    assert_eq!(err.status(), 400);
    // …and a test client refuses everything but its own server, including Slack.
    let err = slack
        .client()
        .post(
            "https://hooks.slack.com/commands/1/2/3",
            &json!({"text": "hi"}),
        )
        .await
        .expect_err("refused");
    assert!(
        matches!(err, SlackError::ResponseUrlNotAllowed { .. }),
        "{err:?}"
    );
    assert!(slack.requests().is_empty());
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported_without_the_url() {
    // A port nothing listens on.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let base = format!("http://{addr}/");
    let url = format!("{base}commands/secret-token-path");
    let err = ResponseUrlClient::with_allowed_prefix(&base)
        .with_retry(2, Duration::from_millis(5))
        .post(&url, &json!({"text": "hi"}))
        .await
        .expect_err("nothing listening");
    match &err {
        SlackError::Transport(detail) => assert!(!detail.contains("secret-token-path"), "{detail}"),
        other => panic!("{other:?}"),
    }
    assert!(err.is_retryable());
    assert_eq!(err.status(), 502);
}
