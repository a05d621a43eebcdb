//! The router as a client sees it: operator auth, JSON errors (400/401/404/405/409/413/422),
//! the cited chat, holds and their idempotent release, the kill switch, the OpenAPI document
//! against the real routes, and Slack (signature, ack, responder posting once).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use otto_api::slack::{Responder, SlackConfig, SlackDispatch, SlackJob};
use otto_api::{router, AppState};
use otto_connectors::helpdesk::{demo_inbox, JsonInbox};
use otto_connectors::voice::OfflineVoice;
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::{StoreClock, StoreDay, StoreId};
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::Ports;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const TOKEN: &str = "op-token-5f0c2a9e4b7d4c1e8a3f6b2d9e0c7a1f";
const WORKER: &str = "worker-token-0b1c2d3e4f5a6b7c8d9e0f1a2b3c";
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

#[derive(Default)]
struct Captured(Mutex<Vec<SlackJob>>);

#[async_trait::async_trait]
impl SlackDispatch for Captured {
    async fn dispatch(&self, job: SlackJob) -> Result<(), String> {
        self.0.lock().map_err(|e| e.to_string())?.push(job);
        Ok(())
    }
}

struct Ctx {
    app: Router,
    state: AppState,
    jobs: Arc<Captured>,
    ports: Ports,
    _dir: tempfile::TempDir,
}

fn store() -> StoreId {
    StoreId::new("brevard").unwrap()
}

/// A store with the demo inbox triaged (two CS rows HELD, two escalated).
async fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let st = EmbeddedStore::open(dir.path()).unwrap();
    let queue = Arc::new(EmbeddedQueue::new(st.clone(), 5));
    let ports = Ports::from_adapter(Arc::new(st), queue);
    let inbox = dir.path().join("inbox.json");
    std::fs::write(&inbox, serde_json::to_string(&demo_inbox()).unwrap()).unwrap();
    let helpdesk = Arc::new(JsonInbox { path: inbox });
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let now = chrono::Utc::now();
    let cycle = CycleId::with_slot(store(), CycleKind::Cs, clock.day_of(now), 9 * 60);
    otto_engine::cs::triage(&ports, helpdesk.as_ref(), &OfflineVoice, &cycle, false, now)
        .await
        .unwrap();
    let jobs = Arc::new(Captured::default());
    let state = AppState {
        ports: ports.clone(),
        clock,
        store_id: store(),
        worker_token: Some(WORKER.into()),
        operator_auth: otto_api::auth::OperatorAuth {
            token: Some(TOKEN.into()),
            gateway_jwt: false,
        },
        executors: otto_engine::holds::Executors {
            helpdesk: Some(helpdesk),
            ..Default::default()
        },
        slack: Some(SlackConfig {
            signing_secret: SECRET.into(),
            admins: vec!["U-ADMIN".into()],
            dispatch: jobs.clone(),
            team_id: None,
            app_id: None,
        }),
        link_base: "https://otto.example".into(),
        llm: None,
    };
    Ctx {
        app: router(state.clone()),
        state,
        jobs,
        ports,
        _dir: dir,
    }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn op(method: &str, uri: &str, body: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

#[tokio::test]
async fn operator_routes_need_the_token() {
    let c = ctx().await;
    for (m, uri) in [
        ("GET", "/holds"),
        ("POST", "/chat"),
        ("GET", "/kill-switch"),
        ("GET", "/rows/decision_log/1"),
    ] {
        let req = Request::builder()
            .method(m)
            .uri(uri)
            .body(Body::from("{}"))
            .unwrap();
        let (s, v) = send(&c.app, req).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{m} {uri}");
        assert_eq!(v["error"]["code"], "unauthorized");
        let req = Request::builder()
            .method(m)
            .uri(uri)
            .header("authorization", "Bearer op-tokeN")
            .body(Body::from("{}"))
            .unwrap();
        assert_eq!(
            send(&c.app, req).await.0,
            StatusCode::UNAUTHORIZED,
            "wrong token {uri}"
        );
    }
    assert_eq!(
        send(&c.app, op("GET", "/holds", "")).await.0,
        StatusCode::OK
    );
    // The dashboard's session cookie reads, but never changes state through the JSON routes.
    let login = c
        .app
        .clone()
        .oneshot(
            Request::post("/dashboard/login")
                .body(Body::from(format!("token={TOKEN}")))
                .unwrap(),
        )
        .await
        .unwrap();
    let session = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let cookie = |m: &str, uri: &str| {
        Request::builder()
            .method(m)
            .uri(uri)
            .header("cookie", session.clone())
            .body(Body::from(r#"{"on":true}"#))
            .unwrap()
    };
    assert_eq!(
        send(&c.app, cookie("GET", "/holds")).await.0,
        StatusCode::OK
    );
    // The operator token itself is no session.
    let token_cookie = Request::get("/holds")
        .header("cookie", format!("otto_session={TOKEN}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&c.app, token_cookie).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&c.app, cookie("PUT", "/kill-switch")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(
            &c.app,
            cookie("POST", "/holds/cs_thread_evaluations%234/release")
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    let open = Request::get("/health").body(Body::empty()).unwrap();
    assert_eq!(send(&c.app, open).await.0, StatusCode::OK, "health is open");
}

#[tokio::test]
async fn errors_are_json_with_fitting_statuses() {
    let c = ctx().await;
    let (s, v) = send(&c.app, op("GET", "/chat", "")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let big = format!(r#"{{"question":"{}"}}"#, "a".repeat(70 * 1024));
    let (s, v) = send(&c.app, op("POST", "/chat", &big)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large"))
    );
    let (s, v) = send(&c.app, op("POST", "/chat", "{not json")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("request body"),
        "{v}"
    );
    let (s, _) = send(
        &c.app,
        op("POST", "/chat", r#"{"question":"hi","extra":1}"#),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "unknown fields are named, not ignored"
    );
    let (s, v) = send(&c.app, op("POST", "/chat", r#"{"question":"   "}"#)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_question"))
    );
    let long = format!(r#"{{"question":"{}"}}"#, "a".repeat(3000));
    assert_eq!(
        send(&c.app, op("POST", "/chat", &long)).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let (s, v) = send(&c.app, op("GET", "/nowhere", "")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (s, _) = send(&c.app, op("PUT", "/kill-switch", r#"{"reason":"x"}"#)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "`on` is required");
}

#[tokio::test]
async fn chat_cites_rows_that_resolve() {
    let c = ctx().await;
    let (s, a) = send(
        &c.app,
        op(
            "POST",
            "/chat",
            r#"{"question":"what's escalated in CS today?"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let cites = a["citations"].as_array().unwrap();
    assert!(cites.len() >= 2, "{a}");
    for cite in cites {
        let url = cite["url"].as_str().unwrap();
        let path = url.strip_prefix("https://otto.example").unwrap();
        let (s, row) = send(&c.app, op("GET", path, "")).await;
        assert_eq!(s, StatusCode::OK, "{url}");
        assert_eq!(row["ref"], cite["ref"]);
    }
    let (_, a) = send(
        &c.app,
        op(
            "POST",
            "/chat",
            r#"{"question":"what will the weather be?"}"#,
        ),
    )
    .await;
    let refusal = a["answer"].as_str().unwrap_or_default();
    assert!(
        refusal.starts_with("I don't have a row for that."),
        "{refusal}"
    );
    assert_eq!(a["citations"], json!([]));
}

#[tokio::test]
async fn release_is_idempotent_and_kill_switch_records_who() {
    let c = ctx().await;
    let (_, holds) = send(&c.app, op("GET", "/holds", "")).await;
    let held = holds["holds"].as_array().unwrap();
    assert_eq!(held.len(), 2, "{holds}");
    let r = held[0]["ref"].as_str().unwrap().to_string();
    let path = format!("/holds/{}/release", r.replace('#', "%23"));
    let (s, first) = send(&c.app, op("POST", &path, "")).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    assert_eq!(first["released_now"], true);
    assert_eq!(
        first["row"]["status"], "APPLIED",
        "the helpdesk sent the released draft"
    );
    assert_eq!(
        first["row"]["body"]["figures"]["released"]["by"],
        "operator"
    );
    let (s, again) = send(&c.app, op("POST", &path.replace("%23", ":"), "")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["released_now"], false, "a repeat releases nothing");
    assert_eq!(again["row"]["status"], "APPLIED");
    let (_, holds) = send(&c.app, op("GET", "/holds", "")).await;
    assert_eq!(holds["holds"].as_array().unwrap().len(), 1);
    let (s, v) = send(
        &c.app,
        op("POST", "/holds/cs_thread_evaluations%231/release", ""),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_held")),
        "an escalation is not a hold"
    );
    assert_eq!(
        send(&c.app, op("POST", "/holds/decision_log%23999/release", ""))
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(&c.app, op("POST", "/holds/cycle_runs%231/release", ""))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        send(&c.app, op("POST", "/holds/nonsense/release", ""))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );

    let (s, ks) = send(
        &c.app,
        op(
            "PUT",
            "/kill-switch",
            r#"{"on":true,"reason":"supplier outage"}"#,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, now) = send(&c.app, op("GET", "/kill-switch", "")).await;
    assert_eq!(now, ks);
    assert_eq!(now["on"], true);
    assert_eq!(now["by"], "operator");
    assert_eq!(now["reason"], "supplier outage");
}

fn example(path: &str) -> String {
    path.replace("{table}", "research_candidates")
        .replace("{id}", "999")
        .replace("{ref}", "decision_log%23999")
        .replace("{decision}", "approve")
        .replace("{cycle}", "morning")
        .replace("{stage}", "sync")
        .replace("{name}", "discount_percent_bp")
}

#[tokio::test]
async fn openapi_matches_the_router() {
    let c = ctx().await;
    let doc = otto_api::openapi::document();
    let mut documented: Vec<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(p, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.clone(), p.clone()))
        })
        .collect();
    documented.sort();
    let mut routes: Vec<(String, String)> = otto_api::openapi::ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(documented, routes, "the document lists exactly the routes");
    for (m, p) in &routes {
        let req = Request::builder()
            .method(m.to_uppercase().as_str())
            .uri(example(p))
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap();
        let (s, v) = send(&c.app, req).await;
        let fallback = s == StatusCode::NOT_FOUND && v["error"]["message"] == "no such route";
        assert!(
            !fallback && s != StatusCode::METHOD_NOT_ALLOWED,
            "{m} {p}: {s} {v}"
        );
        // The other methods on a documented path are 405, not silently served.
        if !routes.iter().any(|(m2, p2)| p2 == p && m2 == "delete") {
            let req = Request::builder()
                .method("DELETE")
                .uri(example(p))
                .body(Body::empty())
                .unwrap();
            let s = c.app.clone().oneshot(req).await.unwrap().status();
            assert!(
                s == StatusCode::METHOD_NOT_ALLOWED || s == StatusCode::UNAUTHORIZED,
                "DELETE {p}: {s}"
            );
        }
    }
    let (s, served) = send(
        &c.app,
        Request::get("/openapi.json").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(served, doc);
}

fn signed(uri: &str, body: &str, ts: i64) -> Request<Body> {
    let sig = otto_slack::sign(SECRET.as_bytes(), ts, body.as_bytes()).unwrap();
    Request::post(uri)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-slack-request-timestamp", ts.to_string())
        .header("x-slack-signature", sig)
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn command(text: &str, user: &str, trigger: &str, response_url: &str) -> String {
    let enc = |s: &str| {
        s.replace('%', "%25")
            .replace(' ', "+")
            .replace('#', "%23")
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('\'', "%27")
    };
    format!(
        "token=x&team_id=T1&team_domain=brevard&channel_id=C1&channel_name=ops&user_id={user}&user_name=emma&command=%2Fotto&text={}&response_url={}&trigger_id={trigger}&api_app_id=A1",
        enc(text),
        enc(response_url)
    )
}

#[tokio::test]
async fn slack_commands_are_verified_acked_and_dispatched() {
    let c = ctx().await;
    let now = chrono::Utc::now().timestamp();
    let hook = "https://hooks.slack.com/commands/T1/1/abc";
    let body = command("help", "U1", "t-1", hook);
    let (s, v) = send(&c.app, signed("/slack/commands", &body, now)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["response_type"], "ephemeral");
    assert!(v["text"].as_str().unwrap().contains("release"), "{v}");
    // Tampered, stale, unsigned.
    let mut req = signed("/slack/commands", &body, now);
    *req.body_mut() = Body::from(body.replace("help", "kill-switch+on"));
    assert_eq!(send(&c.app, req).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        send(&c.app, signed("/slack/commands", &body, now - 301))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let bare = Request::post("/slack/commands")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(send(&c.app, bare).await.0, StatusCode::UNAUTHORIZED);
    assert!(c.jobs.0.lock().unwrap().is_empty());
    // A question is acked and dispatched.
    let (s, v) = send(
        &c.app,
        signed(
            "/slack/commands",
            &command("what's held?", "U1", "t-2", hook),
            now,
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["text"], "Looking that up…");
    // Only admins release or flip the kill switch.
    let (_, v) = send(
        &c.app,
        signed(
            "/slack/commands",
            &command("kill-switch on", "U1", "t-3", hook),
            now,
        ),
    )
    .await;
    assert!(
        v["text"].as_str().unwrap().contains("Only Otto's admins"),
        "{v}"
    );
    let (_, v) = send(
        &c.app,
        signed(
            "/slack/commands",
            &command("kill-switch on", "U-ADMIN", "t-4", hook),
            now,
        ),
    )
    .await;
    assert!(v["text"].as_str().unwrap().contains("ON"), "{v}");
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(ks.on);
    assert_eq!(ks.by.as_deref(), Some("slack:emma"));
    let (_, v) = send(
        &c.app,
        signed(
            "/slack/commands",
            &command("release cs_thread_evaluations#4", "U-ADMIN", "t-5", hook),
            now,
        ),
    )
    .await;
    assert!(v["text"].as_str().unwrap().contains("Releasing"), "{v}");
    let jobs = c.jobs.0.lock().unwrap().clone();
    assert_eq!(jobs.len(), 2, "{jobs:?}");
    assert!(
        matches!(&jobs[0], SlackJob::Ask { question, key, .. } if question == "what's held?" && key == "slack#t-2")
    );
    assert!(
        matches!(&jobs[1], SlackJob::Release { row_ref, .. } if row_ref == "cs_thread_evaluations#4")
    );
}

#[tokio::test]
async fn slack_release_button_dispatches_a_release() {
    let c = ctx().await;
    let now = chrono::Utc::now().timestamp();
    let payload = |user: &str| {
        json!({"type": "block_actions", "user": {"id": user, "username": "emma", "team_id": "T1"},
               "api_app_id": "A1", "trigger_id": "tr-9", "team": {"id": "T1", "domain": "brevard"},
               "container": {"type": "message", "message_ts": "1.2", "channel_id": "C1", "is_ephemeral": true},
               "channel": {"id": "C1", "name": "ops"},
               "response_url": "https://hooks.slack.com/actions/T1/2/xyz",
               "actions": [{"action_id": "release", "block_id": "b1", "type": "button",
                            "value": "cs_thread_evaluations#5", "action_ts": "1764062040.1"}]})
        .to_string()
    };
    let form = |p: String| {
        format!(
            "payload={}",
            p.replace('%', "%25")
                .replace('&', "%26")
                .replace('+', "%2B")
                .replace('#', "%23")
                .replace(' ', "+")
        )
    };
    let (s, _) = send(
        &c.app,
        signed("/slack/interactions", &form(payload("U-ADMIN")), now),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = send(
        &c.app,
        signed("/slack/interactions", &form(payload("U1")), now),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "a non-admin gets told, not an error");
    let jobs = c.jobs.0.lock().unwrap().clone();
    assert!(
        matches!(&jobs[0], SlackJob::Release { row_ref, key, .. }
        if row_ref == "cs_thread_evaluations#5" && key.contains("1764062040.1")),
        "{jobs:?}"
    );
    assert!(
        matches!(&jobs[1], SlackJob::Ask { question, .. } if question.is_empty()),
        "the refusal"
    );
}

#[tokio::test]
async fn the_responder_answers_each_job_once_with_citations() {
    let c = ctx().await;
    let posted: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = posted.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let responder: Responder = c
        .state
        .responder(otto_slack::ResponseUrlClient::with_allowed_prefix(&base));
    let ask = SlackJob::Ask {
        key: "slack#trig-1".into(),
        question: "what's held?".into(),
        user_id: "U1".into(),
        response_url: format!("{base}/hook"),
    };
    otto_api::slack::respond(&responder, &ask).await.unwrap();
    otto_api::slack::respond(&responder, &ask).await.unwrap();
    let release = SlackJob::Release {
        key: "slack#trig-2".into(),
        row_ref: "cs_thread_evaluations#4".into(),
        user_id: "U-ADMIN".into(),
        user_name: Some("emma".into()),
        response_url: format!("{base}/hook"),
    };
    otto_api::slack::respond(&responder, &release)
        .await
        .unwrap();
    let posted = posted.lock().unwrap().clone();
    assert_eq!(posted.len(), 2, "a repeated job posts nothing: {posted:#?}");
    let answer = posted[0].to_string();
    assert!(
        answer.contains("cs_thread_evaluations#4")
            && answer.contains("https://otto.example/rows/cs_thread_evaluations/4"),
        "{answer}"
    );
    assert!(
        answer.contains("\"action_id\":\"release\""),
        "held rows get a Release button: {answer}"
    );
    assert!(posted[1].to_string().contains("APPLIED"), "{}", posted[1]);
    let row = c
        .ports
        .audit
        .get(otto_core::audit::RowRef::parse("cs_thread_evaluations#4").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        row.to_json()["body"]["figures"]["released"]["by"],
        "slack:emma"
    );
    let _ = StoreDay::parse("2026-11-25");
}

/// Issue 13: a captured signed command replayed inside the five-minute window ran again. Each
/// signature is accepted once now: the replayed `kill-switch off` does nothing.
#[tokio::test]
async fn slack_replays_inside_the_window_run_once() {
    let c = ctx().await;
    let now = chrono::Utc::now().timestamp();
    let hook = "https://hooks.slack.com/commands/T1/1/abc";
    let off = command("kill-switch off", "U-ADMIN", "t-10", hook);
    let (s, v) = send(&c.app, signed("/slack/commands", &off, now)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(v["text"].as_str().unwrap().contains("OFF"), "{v}");
    // An operator turns the kill switch on; the captured request is replayed a minute later.
    let (s, _) = send(&c.app, op("PUT", "/kill-switch", r#"{"on":true}"#)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = send(&c.app, signed("/slack/commands", &off, now)).await;
    assert_eq!(s, StatusCode::OK, "Slack is answered, ephemerally");
    assert!(
        v["text"].as_str().unwrap().contains("already handled"),
        "{v}"
    );
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(ks.on, "the replay changed nothing");
    // A replayed release command or button is dispatched once.
    let rel = command("release cs_thread_evaluations#4", "U-ADMIN", "t-11", hook);
    send(&c.app, signed("/slack/commands", &rel, now)).await;
    send(&c.app, signed("/slack/commands", &rel, now)).await;
    let click = format!(
        "payload={}",
        json!({"type": "block_actions", "user": {"id": "U-ADMIN", "username": "emma"},
               "api_app_id": "A1", "trigger_id": "tr-12", "team": {"id": "T1"},
               "response_url": "https://hooks.slack.com/actions/T1/2/xyz",
               "actions": [{"action_id": "release", "block_id": "b1", "type": "button",
                            "value": "cs_thread_evaluations#5", "action_ts": "1764062040.1"}]})
        .to_string()
        .replace('%', "%25")
        .replace('&', "%26")
        .replace('+', "%2B")
        .replace('#', "%23")
        .replace(' ', "+")
    );
    send(&c.app, signed("/slack/interactions", &click, now)).await;
    let (s, _) = send(&c.app, signed("/slack/interactions", &click, now)).await;
    assert_eq!(s, StatusCode::OK);
    let jobs = c.jobs.0.lock().unwrap().clone();
    assert_eq!(jobs.len(), 2, "one release per signed request: {jobs:?}");
    // The same command signed at another moment is a new request (Slack never resends one).
    let (_, v) = send(&c.app, signed("/slack/commands", &off, now - 1)).await;
    assert!(v["text"].as_str().unwrap().contains("OFF"), "{v}");
}

/// With OTTO_SLACK_TEAM_ID / OTTO_SLACK_APP_ID set, a validly signed request from another
/// workspace or app is refused: a command with an ephemeral message, an interaction with 403.
#[tokio::test]
async fn slack_requests_from_other_workspaces_or_apps_are_refused() {
    let c = ctx().await;
    let mut state = c.state.clone();
    if let Some(slack) = state.slack.as_mut() {
        slack.team_id = Some("T1".into());
        slack.app_id = Some("A1".into());
    }
    let app = router(state);
    let now = chrono::Utc::now().timestamp();
    let hook = "https://hooks.slack.com/commands/T1/1/abc";
    let on = command("kill-switch on", "U-ADMIN", "t-20", hook);
    for (body, what) in [
        (on.replace("team_id=T1", "team_id=T2"), "workspace"),
        (on.replace("api_app_id=A1", "api_app_id=A2"), "app"),
        (on.replace("&api_app_id=A1", ""), "app"),
    ] {
        let (s, v) = send(&app, signed("/slack/commands", &body, now)).await;
        assert_eq!(s, StatusCode::OK, "{what}");
        assert_eq!(v["response_type"], "ephemeral");
        assert!(v["text"].as_str().unwrap().contains("refused"), "{v}");
    }
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(!ks.on, "nothing ran");
    let click = |team: &str| {
        format!(
            "payload={}",
            json!({"type": "block_actions", "user": {"id": "U-ADMIN"}, "api_app_id": "A1",
                   "trigger_id": "tr-21", "team": {"id": team},
                   "response_url": "https://hooks.slack.com/actions/T1/2/xyz",
                   "actions": [{"action_id": "release", "block_id": "b1", "type": "button",
                                "value": "cs_thread_evaluations#5", "action_ts": "1.1"}]})
            .to_string()
            .replace('%', "%25")
            .replace('&', "%26")
            .replace('#', "%23")
            .replace(' ', "+")
        )
    };
    let (s, v) = send(&app, signed("/slack/interactions", &click("T2"), now)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(v["error"]["code"], "slack_workspace_refused");
    assert!(c.jobs.0.lock().unwrap().is_empty());
    // The configured workspace and app are served.
    let (_, v) = send(&app, signed("/slack/commands", &on, now)).await;
    assert!(v["text"].as_str().unwrap().contains("ON"), "{v}");
    let (s, _) = send(&app, signed("/slack/interactions", &click("T1"), now)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(c.jobs.0.lock().unwrap().len(), 1);
}

/// Issue 13: wrong bearer tokens were never throttled. FAIL_LIMIT of them from one source and
/// the next request is a JSON 429 with Retry-After — the right token included.
#[tokio::test]
async fn wrong_operator_tokens_are_throttled() {
    let c = ctx().await;
    let into = chrono::Utc::now().timestamp() % otto_api::auth::FAIL_WINDOW_S;
    if into > otto_api::auth::FAIL_WINDOW_S - 10 {
        tokio::time::sleep(std::time::Duration::from_secs(12)).await;
    }
    let guess = || {
        Request::get("/holds")
            .header(
                "authorization",
                "Bearer guess-guess-guess-guess-guess-guess",
            )
            .body(Body::empty())
            .unwrap()
    };
    for i in 0..otto_api::auth::FAIL_LIMIT {
        assert_eq!(
            send(&c.app, guess()).await.0,
            StatusCode::UNAUTHORIZED,
            "{i}"
        );
    }
    for req in [guess(), op("GET", "/holds", "")] {
        let res = c.app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(res.headers().contains_key("retry-after"));
        let v: Value =
            serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
        assert_eq!(v["error"]["code"], "rate_limited");
    }
}
