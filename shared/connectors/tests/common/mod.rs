//! A fake vendor server for the connector tests: axum on 127.0.0.1:0, answering every request
//! with the next canned (status, body) and recording what it was sent.
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use otto_connectors::shopify::Sleeper;
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// The query string, without '?' ("" when none).
    pub query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("request body is JSON")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header").to_string())
    }
}

/// One canned answer: status, body, and extra headers (e.g. `Retry-After`).
#[derive(Debug, Clone)]
pub struct Canned {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Canned {
    pub fn new(status: u16, body: impl Into<String>) -> Self {
        Canned {
            status,
            body: body.into(),
            headers: Vec::new(),
        }
    }
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Default)]
struct Shared {
    responses: Mutex<VecDeque<Canned>>,
    requests: Mutex<Vec<Recorded>>,
}

pub struct FakeServer {
    pub base_url: String,
    shared: Arc<Shared>,
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.requests.lock().unwrap().push(Recorded {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().unwrap_or_default().to_string(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let next = shared.responses.lock().unwrap().pop_front();
    let c = next.unwrap_or_else(|| Canned::new(418, "no canned response left"));
    let content_type = if c.body.trim_start().starts_with(['{', '[']) {
        "application/json"
    } else {
        "text/html"
    };
    let mut resp = (
        StatusCode::from_u16(c.status).expect("valid status"),
        [(header::CONTENT_TYPE, content_type)],
        c.body,
    )
        .into_response();
    for (name, value) in c.headers {
        resp.headers_mut()
            .insert(name, value.parse().expect("header value"));
    }
    resp
}

impl FakeServer {
    /// Starts a server answering, in order, with `responses` (then 418).
    pub async fn start(responses: Vec<(u16, String)>) -> Self {
        Self::start_canned(
            responses
                .into_iter()
                .map(|(status, body)| Canned::new(status, body))
                .collect(),
        )
        .await
    }

    /// Starts a server answering, in order, with `responses` (headers included), then 418.
    pub async fn start_canned(responses: Vec<Canned>) -> Self {
        let shared = Arc::new(Shared {
            responses: Mutex::new(responses.into()),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake server");
        });
        FakeServer {
            base_url: format!("http://{addr}"),
            shared,
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }

    pub fn remaining(&self) -> usize {
        self.shared.responses.lock().unwrap().len()
    }
}

/// A sleeper that records each requested wait and really sleeps it (tests keep waits in ms).
pub fn recording_sleeper() -> (Sleeper, Arc<Mutex<Vec<Duration>>>) {
    let waits = Arc::new(Mutex::new(Vec::new()));
    let w = waits.clone();
    let sleeper: Sleeper = Arc::new(move |d: Duration| {
        w.lock().unwrap().push(d);
        Box::pin(tokio::time::sleep(d))
    });
    (sleeper, waits)
}
