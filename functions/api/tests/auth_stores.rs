//! Operator auth over both stores: the dashboard's server-side sessions (`Settings`), the
//! failed-credential throttle and the Slack replay guard (`Counters`) behave the same on the
//! embedded store and on DynamoDB (moto) — the moto half runs when `scripts/test` exports the
//! moto environment, and is required (never silently skipped) with `OTTO_REQUIRE_MOTO=1`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use otto_api::slack::{SlackConfig, SlackDispatch, SlackJob};
use otto_api::{router, AppState};
use otto_core::{StoreClock, StoreId};
use otto_store::aws::AwsNames;
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::Ports;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const TOKEN: &str = "op-token-5f0c2a9e4b7d4c1e8a3f6b2d9e0c7a1f";
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

struct Store {
    name: &'static str,
    ports: Ports,
    _dir: Option<tempfile::TempDir>,
}

fn embedded() -> Store {
    let dir = tempfile::tempdir().unwrap();
    let st = EmbeddedStore::open(dir.path()).unwrap();
    let queue = Arc::new(EmbeddedQueue::new(st.clone(), 5));
    Store {
        name: "embedded",
        ports: Ports::from_adapter(Arc::new(st), queue),
        _dir: Some(dir),
    }
}

async fn moto() -> Option<Store> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let names = (|| {
        var("AWS_ENDPOINT_URL")?;
        Some(AwsNames {
            audit_table: var("OTTO_AUDIT_TABLE")?,
            state_table: var("OTTO_STATE_TABLE")?,
            catalog_table: var("OTTO_CATALOG_TABLE")?,
            queue_url_prefix: var("OTTO_QUEUE_URL_PREFIX")?,
            event_bus: var("OTTO_EVENT_BUS")?,
        })
    })();
    let Some(names) = names else {
        assert!(
            var("OTTO_REQUIRE_MOTO").as_deref() != Some("1"),
            "OTTO_REQUIRE_MOTO=1 but the moto environment is not set: run through scripts/test"
        );
        return None;
    };
    let sdk = otto_store::aws::load_sdk_config().await;
    Some(Store {
        name: "moto",
        ports: otto_store::aws::ports(&sdk, &names),
        _dir: None,
    })
}

async fn stores() -> Vec<Store> {
    let mut v = vec![embedded()];
    v.extend(moto().await);
    v
}

/// A store id of its own per run: moto's tables are shared by every test and every run.
fn fresh_store() -> StoreId {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    StoreId::new(format!("auth-{n:016x}")).unwrap()
}

fn app(ports: &Ports, jobs: Arc<Captured>) -> Router {
    router(AppState {
        ports: ports.clone(),
        clock: StoreClock::new("Europe/Amsterdam").unwrap(),
        store_id: fresh_store(),
        worker_token: Some("worker-token-0b1c2d3e4f5a6b7c8d9e0f1a2b3c".into()),
        operator_auth: otto_api::auth::OperatorAuth {
            token: Some(TOKEN.into()),
            gateway_jwt: false,
        },
        executors: Default::default(),
        slack: Some(SlackConfig {
            signing_secret: SECRET.into(),
            admins: vec!["U-ADMIN".into()],
            dispatch: jobs,
            team_id: Some("T1".into()),
            app_id: None,
        }),
        link_base: String::new(),
        llm: None,
    })
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn sessions_are_server_side_and_logout_revokes_them() {
    for st in stores().await {
        let app = app(&st.ports, Arc::default());
        let (s, h, _) = send(
            &app,
            Request::post("/dashboard/login")
                .body(Body::from(format!("token={TOKEN}&name=emma")))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{}", st.name);
        let cookie = h["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        assert!(!cookie.contains(TOKEN), "{}", st.name);
        let (s, _, _) = send(&app, with_cookie("/holds", &cookie)).await;
        assert_eq!(s, StatusCode::OK, "{}: the session reads", st.name);
        let (s, _, _) = send(
            &app,
            with_cookie("/holds", &format!("otto_session={TOKEN}")),
        )
        .await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "{}: the token is no session",
            st.name
        );
        // The page's CSRF token logs out; the session is gone for good.
        let page = app
            .clone()
            .oneshot(with_cookie("/dashboard", &cookie))
            .await
            .unwrap();
        let html = String::from_utf8(
            page.into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
        .unwrap();
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("the page carries the session's CSRF token")
            .to_string();
        let (s, _, _) = send(
            &app,
            Request::post("/dashboard/logout")
                .header("cookie", &cookie)
                .body(Body::from(format!("csrf={csrf}")))
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{}", st.name);
        let (s, _, _) = send(&app, with_cookie("/holds", &cookie)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{}: revoked", st.name);
        let (s, _, _) = send(&app, with_cookie("/dashboard", &cookie)).await;
        assert_eq!(s, StatusCode::SEE_OTHER, "{}: revoked", st.name);
    }
}

#[tokio::test]
async fn failed_credentials_are_throttled_across_instances() {
    for st in stores().await {
        let into = chrono::Utc::now().timestamp() % otto_api::auth::FAIL_WINDOW_S;
        if into > otto_api::auth::FAIL_WINDOW_S - 15 {
            tokio::time::sleep(std::time::Duration::from_secs(17)).await;
        }
        // Two routers over the same ports and store id: two Lambda instances.
        let store_id = fresh_store();
        let instance = || {
            router(AppState {
                ports: st.ports.clone(),
                clock: StoreClock::new("Europe/Amsterdam").unwrap(),
                store_id: store_id.clone(),
                worker_token: None,
                operator_auth: otto_api::auth::OperatorAuth {
                    token: Some(TOKEN.into()),
                    gateway_jwt: false,
                },
                executors: Default::default(),
                slack: None,
                link_base: String::new(),
                llm: None,
            })
        };
        let (a, b) = (instance(), instance());
        let guess = |uri: &str| {
            Request::get(uri)
                .header(
                    "authorization",
                    "Bearer guess-guess-guess-guess-guess-guess",
                )
                .body(Body::empty())
                .unwrap()
        };
        for i in 0..otto_api::auth::FAIL_LIMIT {
            let app = if i % 2 == 0 { &a } else { &b };
            let (s, _, _) = send(app, guess("/holds")).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{} attempt {i}", st.name);
        }
        let (s, h, v) = send(
            &b,
            Request::get("/holds")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{}", st.name);
        assert!(h.contains_key("retry-after"));
        assert_eq!(v["error"]["code"], "rate_limited");
    }
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

#[tokio::test]
async fn slack_replays_run_once_and_other_workspaces_are_refused() {
    for st in stores().await {
        let jobs = Arc::new(Captured::default());
        let app = app(&st.ports, jobs.clone());
        let now = chrono::Utc::now().timestamp();
        let body = |team: &str| {
            format!(
                "token=x&team_id={team}&channel_id=C1&user_id=U-ADMIN&user_name=emma&command=%2Fotto&text=release+cs_thread_evaluations%234&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=t-{now}&api_app_id=A1"
            )
        };
        for _ in 0..3 {
            let (s, _, _) = send(&app, signed("/slack/commands", &body("T1"), now)).await;
            assert_eq!(s, StatusCode::OK, "{}", st.name);
        }
        assert_eq!(jobs.0.lock().unwrap().len(), 1, "{}: replays ran", st.name);
        let (s, _, v) = send(&app, signed("/slack/commands", &body("T2"), now)).await;
        assert_eq!(s, StatusCode::OK, "{}", st.name);
        assert!(v["text"].as_str().unwrap().contains("refused"), "{v}");
        assert_eq!(jobs.0.lock().unwrap().len(), 1, "{}", st.name);
    }
}
