//! The dashboard through the router, as a browser would call it (cookies, forms, redirects).

use super::*;
use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use otto_connectors::helpdesk::{demo_inbox, JsonInbox};
use otto_connectors::voice::OfflineVoice;
use otto_core::audit::{DecisionRow, NewRow, ResearchCandidateRow, RowBody};
use otto_core::{Action, StoreClock, StoreId};
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::Ports;
use tower::ServiceExt;

pub(super) const TOKEN: &str = "op-token-5f0c2a9e4b7d4c1e8a3f6b2d9e0c7a1f";
pub(super) const XSS: &str = "<script>alert(1)</script>";

pub(super) struct Ctx {
    pub(super) app: Router,
    pub(super) ports: Ports,
    _dir: tempfile::TempDir,
}

pub(super) fn store() -> StoreId {
    StoreId::new("brevard").unwrap()
}

/// A store with hostile text everywhere a vendor or a customer can put it: a SKU, a decision's
/// reasoning, a CS thread's subject, a candidate's title. Two CS rows are HELD.
pub(super) async fn ctx() -> Ctx {
    let dir = tempfile::tempdir().unwrap();
    let st = EmbeddedStore::open(dir.path()).unwrap();
    let queue = Arc::new(EmbeddedQueue::new(st.clone(), 5));
    let ports = Ports::from_adapter(Arc::new(st), queue);
    let mut inbox_file = demo_inbox();
    for t in &mut inbox_file.threads {
        t.subject = format!("{XSS} {}", t.subject);
    }
    let inbox = dir.path().join("inbox.json");
    std::fs::write(&inbox, serde_json::to_string(&inbox_file).unwrap()).unwrap();
    let helpdesk = Arc::new(JsonInbox { path: inbox });
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let now = chrono::Utc::now();
    let day = clock.day_of(now);
    let cs = CycleId::with_slot(store(), CycleKind::Cs, day, 9 * 60);
    otto_engine::cs::triage(&ports, helpdesk.as_ref(), &OfflineVoice, &cs, false, now)
        .await
        .unwrap();
    let morning = CycleId::new(store(), CycleKind::Morning, day);
    let research = CycleId::new(store(), CycleKind::Research, day);
    ports
        .audit
        .append(
            vec![
                NewRow {
                    cycle_id: morning.clone(),
                    natural_key: format!("{morning}|decide|x"),
                    status: RowStatus::DryRun,
                    created_at: now,
                    body: RowBody::Decision(DecisionRow {
                        sku: otto_core::Sku::new(XSS).unwrap(),
                        action: Action::Keep,
                        trigger: None,
                        classification: None,
                        reasoning: "<img src=x onerror=alert(2)> keeps".into(),
                        figures: [
                            ("note".to_string(), serde_json::json!(XSS)),
                            ("thresholds_ref".to_string(), serde_json::json!("stage_runs#1")),
                        ]
                        .into(),
                        window: None,
                        r#move: None,
                        reversal_op: None,
                        hold_reason: None,
                        result: None,
                    }),
                },
                NewRow {
                    cycle_id: morning.clone(),
                    natural_key: morning.to_string(),
                    status: RowStatus::Completed,
                    created_at: now,
                    body: RowBody::CycleRun(otto_core::audit::CycleRunRow {
                        kind: CycleKind::Morning,
                        apply: false,
                        scheduled_time: None,
                        summary: None,
                        finished_at: None,
                        figures: [(
                            "summary".to_string(),
                            serde_json::json!({"decision_rows": 1, "by_action": {"KEEP": 1},
                                               "held_rows": ["cs_thread_evaluations#4"], "sku": XSS}),
                        )]
                        .into(),
                        error: None,
                    }),
                },
                NewRow {
                    cycle_id: morning.clone(),
                    natural_key: format!("{morning}|calibrate|0"),
                    status: RowStatus::Completed,
                    created_at: now,
                    body: RowBody::StageRun(otto_core::audit::StageRunRow {
                        stage: otto_core::cycle::Stage::Calibrate,
                        chunk: 0,
                        chunks: 1,
                        report: None,
                        figures: [(
                            "thresholds".to_string(),
                            serde_json::json!({"winner_floor_roas_bp": 31000, "loser_ceiling_roas_bp": 9000}),
                        )]
                        .into(),
                        error: None,
                    }),
                },
                NewRow {
                    cycle_id: research.clone(),
                    natural_key: "candidate|brevard|evil".into(),
                    status: RowStatus::Queued,
                    created_at: now,
                    body: RowBody::ResearchCandidate(ResearchCandidateRow {
                        candidate_key: "evil".into(),
                        title: format!("{XSS} apron"),
                        lane: "competitor".into(),
                        score_bp: Some(900),
                        review: "QUEUED".into(),
                        supplier_match: None,
                        figures: Default::default(),
                    }),
                },
            ],
            None,
        )
        .await
        .unwrap();
    let state = AppState {
        ports: ports.clone(),
        clock,
        store_id: store(),
        worker_token: None,
        operator_auth: crate::auth::OperatorAuth {
            token: Some(TOKEN.into()),
            gateway_jwt: false,
        },
        executors: otto_engine::holds::Executors {
            helpdesk: Some(helpdesk),
            ..Default::default()
        },
        slack: None,
        link_base: String::new(),
        llm: None,
    };
    // Logged in as emma (a server-side session; the cookie carries only its id).
    let id = session::create(&state, "dashboard:emma").await.unwrap();
    SESSION.with(|s| *s.borrow_mut() = Some((id.clone(), session::csrf_for(TOKEN, &id))));
    Ctx {
        app: crate::router(state),
        ports,
        _dir: dir,
    }
}

thread_local! {
    /// This test's session (id, csrf): each `#[tokio::test]` runs on its own thread.
    static SESSION: std::cell::RefCell<Option<(String, String)>> = const { std::cell::RefCell::new(None) };
}

pub(super) fn session_id() -> String {
    SESSION.with(|s| s.borrow().clone().expect("ctx() logged in").0)
}

pub(super) struct Res {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: String,
}

pub(super) async fn send(app: &Router, req: Request<Body>) -> Res {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    Res {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The session cookie — and an `otto_operator` cookie that used to name the operator and must
/// change nothing now.
fn cookie() -> String {
    format!("otto_session={}; otto_operator=mallory", session_id())
}

pub(super) fn get(uri: &str) -> Request<Body> {
    Request::get(uri)
        .header("cookie", cookie())
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap()
}

pub(super) fn post(uri: &str, form: &str) -> Request<Body> {
    Request::post(uri)
        .header("cookie", cookie())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap()
}

pub(super) fn csrf() -> String {
    SESSION.with(|s| s.borrow().clone().expect("ctx() logged in").1)
}

pub(super) fn assert_escaped(page: &str, what: &str) {
    assert!(!page.contains("<script>alert"), "{what}: raw script tag");
    assert!(!page.contains("<img src=x"), "{what}: raw img tag");
    assert!(
        !page.contains("<script"),
        "{what}: no script element at all (CSP: files only)"
    );
}

#[tokio::test]
async fn untrusted_text_is_escaped_on_every_page() {
    let c = ctx().await;
    let day = StoreClock::new("Europe/Amsterdam")
        .unwrap()
        .day_of(chrono::Utc::now());
    for uri in [
        "/dashboard".to_string(),
        format!("/dashboard/rows?table=decision_log&day={day}"),
        format!("/dashboard/rows?table=cs_thread_evaluations&day={day}"),
        "/dashboard/rows?table=decision_log&day=&sku=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "/dashboard/rows/decision_log/1".into(),
        "/dashboard/rows/cs_thread_evaluations/4".into(),
        "/dashboard/holds".into(),
        "/dashboard/candidates".into(),
        "/dashboard/release/cs_thread_evaluations/4".into(),
        "/dashboard/chat?q=what%27s+held%3F".into(),
        "/dashboard/chat?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
        "/rows/decision_log/1".into(),
    ] {
        let r = send(&c.app, get(&uri)).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{uri}"
        );
        assert!(r.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'"));
        let page = r.body.replace(
            &format!(
                "<script src=\"/dashboard/static/app.js?v={}\" defer></script>",
                views::ASSET_VERSION
            ),
            "",
        );
        assert_escaped(&page, &uri);
        assert!(r.body.contains("name=\"viewport\""), "{uri}");
    }
    let row = send(&c.app, get("/dashboard/rows/decision_log/1"))
        .await
        .body;
    assert!(
        row.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{row}"
    );
    assert!(row.contains("&lt;img src=x onerror=alert(2)&gt; keeps"));
    assert!(row.contains("Thresholds used"), "{row}");
    assert!(
        row.contains("winner_<wbr>floor_<wbr>roas</th><td>3.1</td>")
            && row.contains("/dashboard/rows/stage_runs/1")
            && !row.contains("31000"),
        "thresholds as ratios, not basis points: {row}"
    );
    assert!(row.contains("Reversal op"));
    let today = send(&c.app, get("/dashboard")).await.body;
    assert!(
        today.contains("morning") && today.contains("1 decision rows, 0 ad moves."),
        "{today}"
    );
    assert!(today.contains("href=\"/dashboard/rows/cs_thread_evaluations/4\""));
    let cs = send(&c.app, get("/dashboard/rows/cs_thread_evaluations/4"))
        .await
        .body;
    assert!(
        cs.contains("&lt;script&gt;alert(1)&lt;/script&gt; Where is my order?"),
        "{cs}"
    );
}

#[tokio::test]
async fn login_sets_a_strict_http_only_session_and_pages_need_it() {
    let c = ctx().await;
    let bare = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let r = send(&c.app, bare("/dashboard/holds")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers["location"],
        "/dashboard/login?next=%2Fdashboard%2Fholds"
    );
    let r = send(
        &c.app,
        Request::get("/dashboard")
            .header("cookie", format!("otto_session={TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "the operator token is no session id"
    );
    // The login page and the assets are open.
    let r = send(&c.app, bare("/dashboard/login?next=%2Fdashboard%2Fholds")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("value=\"/dashboard/holds\""));
    for (a, t) in [("app.css", "text/css"), ("app.js", "text/javascript")] {
        let r = send(&c.app, bare(&format!("/dashboard/static/{a}"))).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers["content-type"].to_str().unwrap().starts_with(t));
    }
    // A wrong token goes back to the form.
    let login = |form: &str| {
        Request::post("/dashboard/login")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form.to_string()))
            .unwrap()
    };
    let r = send(&c.app, login("token=nope&next=%2Fdashboard%2Fholds")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers["location"]
        .to_str()
        .unwrap()
        .starts_with("/dashboard/login?error=1"));
    assert!(r.headers.get("set-cookie").is_none());
    // The right one sets the session and goes where it was going; never off-site.
    let r = send(
        &c.app,
        login(&format!(
            "token={TOKEN}&name=emma&next=https%3A%2F%2Fevil.example%2F"
        )),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/dashboard");
    let r = send(
        &c.app,
        login(&format!(
            "token={TOKEN}&name=emma&next=%2Fdashboard%2Fholds"
        )),
    )
    .await;
    assert_eq!(r.headers["location"], "/dashboard/holds");
    let cookies: Vec<&str> = r
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let sess = cookies
        .iter()
        .find(|c| c.starts_with("otto_session="))
        .unwrap();
    let id = sess["otto_session=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 64, "32 random bytes, hex: {sess}");
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(
        !sess.contains(TOKEN),
        "the cookie never carries the operator token"
    );
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(sess.contains(attr), "{sess}");
    }
    assert!(!sess.contains("Secure"), "plain http on loopback");
    let r = send(
        &c.app,
        Request::post("/dashboard/login")
            .header("x-forwarded-proto", "https")
            .body(Body::from(format!("token={TOKEN}")))
            .unwrap(),
    )
    .await;
    assert!(r.headers["set-cookie"].to_str().unwrap().contains("Secure"));
    // Logged in, the page shows who.
    let r = send(&c.app, get("/dashboard/holds")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("dashboard:emma"));
    // Logging out needs the CSRF token too, and clears the cookie.
    let r = send(&c.app, post("/dashboard/logout", "")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = send(
        &c.app,
        post("/dashboard/logout", &format!("csrf={}", csrf())),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.headers["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    // Revoked server-side: the same cookie, replayed, is no session any more.
    let r = send(&c.app, get("/dashboard/holds")).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "a logged-out session is refused"
    );
    // …but the session made by the login above still is one.
    let r = send(
        &c.app,
        Request::get("/dashboard/holds")
            .header("cookie", format!("otto_session={id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn state_changing_forms_need_the_csrf_token() {
    let c = ctx().await;
    let other = session::csrf_for("another-token", &session_id());
    for (uri, form) in [
        ("/dashboard/release/cs_thread_evaluations/4", String::new()),
        (
            "/dashboard/release/cs_thread_evaluations/4",
            format!("csrf={other}"),
        ),
        (
            "/dashboard/candidates/research_candidates/1/approve",
            "csrf=".into(),
        ),
        ("/dashboard/kill-switch", "on=true".into()),
    ] {
        let r = send(&c.app, post(uri, &form)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{uri} {form}");
    }
    let row = c
        .ports
        .audit
        .get(RowRef::parse("cs_thread_evaluations#4").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, RowStatus::Held, "nothing happened");
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(!ks.on);
    // Without a session a form post goes to the login page, whatever it carries.
    let r = send(
        &c.app,
        Request::post("/dashboard/kill-switch")
            .body(Body::from(format!("csrf={}&on=true", csrf())))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn release_confirms_applies_and_a_repeat_shows_the_row() {
    let c = ctx().await;
    let holds = send(&c.app, get("/dashboard/holds")).await.body;
    assert!(
        holds.contains("href=\"/dashboard/release/cs_thread_evaluations/4\""),
        "{holds}"
    );
    let confirm = send(&c.app, get("/dashboard/release/cs_thread_evaluations/4")).await;
    assert_eq!(confirm.status, StatusCode::OK);
    assert!(confirm.body.contains("Confirm release"));
    assert!(confirm.body.contains(&format!("value=\"{}\"", csrf())));
    let form = format!("csrf={}", csrf());
    let first = send(
        &c.app,
        post("/dashboard/release/cs_thread_evaluations/4", &form),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert!(
        first.body.contains("Released by dashboard:emma"),
        "{}",
        first.body
    );
    assert!(
        first.body.contains("badge s-applied"),
        "the helpdesk sent it"
    );
    let again = send(
        &c.app,
        post("/dashboard/release/cs_thread_evaluations/4", &form),
    )
    .await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "a double submit is not an error"
    );
    assert!(again.body.contains("Already released"), "{}", again.body);
    let row = c
        .ports
        .audit
        .get(RowRef::parse("cs_thread_evaluations#4").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, RowStatus::Applied);
    assert_eq!(
        row.to_json()["body"]["figures"]["released"]["by"],
        "dashboard:emma"
    );
    // After it: the confirm page says there is nothing to release; an escalation never was held.
    let r = send(&c.app, get("/dashboard/release/cs_thread_evaluations/4")).await;
    assert!(r.body.contains("not HELD"), "{}", r.body);
    let r = send(
        &c.app,
        post("/dashboard/release/cs_thread_evaluations/1", &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("not HELD: there is nothing to release"));
    let r = send(&c.app, post("/dashboard/release/decision_log/999", &form)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(&c.app, post("/dashboard/release/cycle_runs/1", &form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// The held reply's text is on the release page exactly as it will be sent — escaped — and a
/// draft edited since it was judged is said to send nothing.
#[tokio::test]
async fn the_release_page_shows_the_held_replys_text_escaped() {
    let c = ctx().await;
    let inbox = c._dir.path().join("inbox.json");
    let mut file: otto_connectors::helpdesk::InboxFile =
        serde_json::from_str(&std::fs::read_to_string(&inbox).unwrap()).unwrap();
    let hostile =
        format!("Order status: shipped.\n{XSS} <img src=x onerror=alert(3)> & \"quoted\"");
    let t = file.threads.iter_mut().find(|t| t.id == "T-3143").unwrap();
    t.draft.as_mut().unwrap().body = hostile.clone();
    std::fs::write(&inbox, serde_json::to_string(&file).unwrap()).unwrap();

    let page = send(&c.app, get("/dashboard/release/cs_thread_evaluations/4"))
        .await
        .body;
    assert!(!page.contains("<script>alert"), "raw script tag: {page}");
    assert!(!page.contains("<img src=x"), "raw img tag: {page}");
    assert!(page.contains("The reply that will be sent"), "{page}");
    assert!(
        page.contains(
            "Order status: shipped.\n&lt;script&gt;alert(1)&lt;/script&gt; &lt;img src=x onerror=alert(3)&gt; &amp; &quot;quoted&quot;"
        ),
        "{page}"
    );
    assert!(page.contains("draft v1 by Jane"), "{page}");

    // Edited since it was judged: the page says a release sends nothing.
    let t = file.threads.iter_mut().find(|t| t.id == "T-3143").unwrap();
    t.draft.as_mut().unwrap().version = "v2".into();
    std::fs::write(&inbox, serde_json::to_string(&file).unwrap()).unwrap();
    let page = send(&c.app, get("/dashboard/release/cs_thread_evaluations/4"))
        .await
        .body;
    assert!(page.contains("a release sends nothing"), "{page}");
    assert!(!page.contains("The reply that will be sent"), "{page}");
}

#[tokio::test]
async fn candidates_are_approved_once_and_the_kill_switch_records_who() {
    let c = ctx().await;
    let page = send(&c.app, get("/dashboard/candidates")).await.body;
    assert!(page.contains("action=\"/dashboard/candidates/research_candidates/1/approve\""));
    let form = format!("csrf={}", csrf());
    let r = send(
        &c.app,
        post("/dashboard/candidates/research_candidates/1/approve", &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Approved by dashboard:emma"));
    assert!(r.body.contains("badge s-approved"));
    let r = send(
        &c.app,
        post("/dashboard/candidates/research_candidates/1/reject", &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Already reviewed"), "{}", r.body);
    let r = send(
        &c.app,
        post("/dashboard/candidates/decision_log/1/approve", &form),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let r = send(
        &c.app,
        post(
            "/dashboard/kill-switch",
            &format!(
                "csrf={}&on=true&reason=supplier+%3Cb%3Eoutage%3C%2Fb%3E",
                csrf()
            ),
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = send(&c.app, get("/dashboard/kill-switch")).await.body;
    assert!(page.contains(">ON<"), "{page}");
    assert!(page.contains("by dashboard:emma"));
    assert!(page.contains("supplier &lt;b&gt;outage&lt;/b&gt;"));
    let today = send(&c.app, get("/dashboard")).await.body;
    assert!(
        today.contains("Kill switch ON"),
        "the banner is on every page"
    );
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(ks.on);
    assert_eq!(ks.by.as_deref(), Some("dashboard:emma"));
}

#[tokio::test]
async fn chat_links_each_citation_to_its_row_page() {
    let c = ctx().await;
    let r = send(&c.app, get("/dashboard/chat?q=what%27s+held%3F")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.body.contains(
            "<a class=\"citation\" href=\"/dashboard/rows/cs_thread_evaluations/4\">cs_thread_evaluations#4</a>"
        ),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains("href=\"/dashboard/release/cs_thread_evaluations/4\""));
    let r = send(&c.app, get("/dashboard/chat?q=what+is+the+weather")).await;
    assert!(
        r.body.contains("I don&#39;t have a row for that."),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn rows_negotiate_html_for_browsers_and_json_for_clients() {
    let c = ctx().await;
    let r = send(
        &c.app,
        Request::get("/rows/cs_thread_evaluations/4")
            .header("authorization", format!("Bearer {TOKEN}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let r = send(&c.app, get("/rows/cs_thread_evaluations/4")).await;
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.body.contains("Release…"));
    let r = send(
        &c.app,
        Request::get("/rows/cs_thread_evaluations/4")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "still the operator route"
    );
    let h = |v: &str| {
        let mut m = HeaderMap::new();
        m.insert(header::ACCEPT, v.parse().unwrap());
        wants_html(&m)
    };
    assert!(h(
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    ));
    assert!(!h("application/json"));
    assert!(!h("*/*"));
    assert!(!h("application/json, text/html;q=0.5"));
    assert!(!h("text/html;q=0"));
    assert!(!wants_html(&HeaderMap::new()));
}

#[tokio::test]
async fn filters_pick_an_access_path_and_pages_render_for_any_row() {
    let c = ctx().await;
    let day = StoreClock::new("Europe/Amsterdam")
        .unwrap()
        .day_of(chrono::Utc::now());
    let r = send(
        &c.app,
        get(&format!(
            "/dashboard/rows?table=cs_thread_evaluations&day={day}&action=hold_tone"
        )),
    )
    .await
    .body;
    assert!(r.contains("1 rows on this page (by day and action)"), "{r}");
    let r = send(
        &c.app,
        get("/dashboard/rows?table=cs_thread_evaluations&day=&status=HELD"),
    )
    .await
    .body;
    assert!(r.contains("2 rows on this page (by status)"), "{r}");
    let r = send(
        &c.app,
        get("/dashboard/rows?table=cs_thread_evaluations&day=&sku=T-3143"),
    )
    .await
    .body;
    assert!(r.contains("1 rows on this page (by subject)"), "{r}");
    let r = send(&c.app, get("/dashboard/rows?table=ledger&day=bad")).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("notice error"));
    for (t, n) in [
        ("cycle_runs", 1),
        ("stage_runs", 1),
        ("research_candidates", 1),
        ("decision_log", 1),
    ] {
        let r = send(&c.app, get(&format!("/dashboard/rows/{t}/{n}"))).await;
        assert_eq!(r.status, StatusCode::OK, "{t}");
    }
    let r = send(&c.app, get("/dashboard/rows/decision_log/77")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

fn login_req(form: &str) -> Request<Body> {
    Request::post("/dashboard/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_string()))
        .unwrap()
}

fn session_of(r: &Res) -> String {
    r.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("otto_session="))
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_string()
}

fn with_session(req: Request<Body>, id: &str) -> Request<Body> {
    let (mut parts, body) = req.into_parts();
    parts
        .headers
        .insert("cookie", format!("otto_session={id}").parse().unwrap());
    Request::from_parts(parts, body)
}

/// Issue 13: the session cookie was the operator token itself — the same for everyone, not
/// revocable, with one CSRF token for all. Now each login is its own session with its own CSRF
/// token, and neither the token nor another session's CSRF token opens anything.
#[tokio::test]
async fn each_login_is_its_own_session_with_its_own_csrf() {
    let c = ctx().await;
    let a = send(&c.app, login_req(&format!("token={TOKEN}&name=ann"))).await;
    let b = send(&c.app, login_req(&format!("token={TOKEN}&name=bob"))).await;
    let (ida, idb) = (session_of(&a), session_of(&b));
    assert_ne!(ida, idb);
    assert_ne!(ida, TOKEN);
    let (ca, cb) = (
        session::csrf_for(TOKEN, &ida),
        session::csrf_for(TOKEN, &idb),
    );
    assert_ne!(ca, cb, "the CSRF token is bound to the session");
    // The page of a session carries that session's CSRF token and name.
    let page = send(&c.app, with_session(get("/dashboard/kill-switch"), &ida)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&ca) && !page.body.contains(&cb));
    assert!(page.body.contains("dashboard:ann"));
    // Bob's CSRF token does not work for Ann's session.
    let r = send(
        &c.app,
        with_session(
            post("/dashboard/kill-switch", &format!("csrf={cb}&on=true")),
            &ida,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Ann's does, and the flip is recorded as Ann's — not what any cookie says.
    let r = send(
        &c.app,
        with_session(
            post("/dashboard/kill-switch", &format!("csrf={ca}&on=true")),
            &ida,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert_eq!(ks.by.as_deref(), Some("dashboard:ann"));
    // Ann logs out: her session is gone, Bob's lives on.
    let r = send(
        &c.app,
        with_session(post("/dashboard/logout", &format!("csrf={ca}")), &ida),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = send(&c.app, with_session(get("/dashboard"), &ida)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // The JSON operator routes refuse the revoked cookie too.
    let r = send(
        &c.app,
        with_session(Request::get("/holds").body(Body::empty()).unwrap(), &ida),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = send(&c.app, with_session(get("/dashboard"), &idb)).await;
    assert_eq!(r.status, StatusCode::OK);
    // The operator token as a cookie is nothing.
    let r = send(&c.app, with_session(get("/dashboard"), TOKEN)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

/// The server keeps only a hash of the session id; an expired session is refused.
#[tokio::test]
async fn sessions_are_stored_hashed_and_expire() {
    use sha2::{Digest, Sha256};
    let c = ctx().await;
    let id = session_id();
    let key = format!("session#{}", hex::encode(Sha256::digest(id.as_bytes())));
    let mut rec = c
        .ports
        .settings
        .get_setting(&store(), &key)
        .await
        .unwrap()
        .expect("the session is kept under the hash of its id");
    assert!(!rec.to_string().contains(&id), "never the id itself");
    assert_eq!(rec["who"], "dashboard:emma");
    assert!(c
        .ports
        .settings
        .get_setting(&store(), &format!("session#{id}"))
        .await
        .unwrap()
        .is_none());
    rec["expires_at"] = serde_json::json!(chrono::Utc::now().timestamp() - 1);
    c.ports
        .settings
        .put_setting(&store(), &key, &rec)
        .await
        .unwrap();
    let r = send(&c.app, get("/dashboard")).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "an expired session is refused"
    );
}

/// Issue 13: 1,755 wrong logins a second, never a 429. Now a source gets FAIL_LIMIT wrong
/// tokens per window, then 429 with Retry-After — even with the right token.
#[tokio::test]
async fn failed_logins_are_throttled_per_source() {
    let c = ctx().await;
    let from = |ip: &str, form: &str| {
        let mut req = login_req(form);
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(
                format!("{ip}:40000").parse().unwrap(),
            ));
        req
    };
    crate::auth::tests::away_from_a_window_edge().await;
    for i in 0..crate::auth::FAIL_LIMIT {
        let r = send(&c.app, from("203.0.113.5", "token=guess")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "attempt {i}");
    }
    let r = send(&c.app, from("203.0.113.5", "token=guess")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=crate::auth::FAIL_WINDOW_S as u64).contains(&retry));
    let r = send(&c.app, from("203.0.113.5", &format!("token={TOKEN}"))).await;
    assert_eq!(
        r.status,
        StatusCode::TOO_MANY_REQUESTS,
        "a throttled source is not even checked"
    );
    // Another source is not affected.
    let r = send(&c.app, from("198.51.100.8", &format!("token={TOKEN}"))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers["location"], "/dashboard");
}

/// `otto doctor` on the dashboard: behind the session, one line per problem with its fix, the
/// same findings as the CLI's, escaped.
#[tokio::test]
async fn the_connections_page_shows_each_problem_with_its_fix() {
    let c = ctx().await;
    let env = doctor::DoctorEnv::new(&[
        ("SHOPIFY_API_VERSION", "2025-04"),
        ("OTTO_CURRENCY", "EUR"),
        ("OTTO_OFFER_ID_FORM", XSS),
    ]);
    let app = c.app.clone().layer(axum::Extension(env.clone()));
    // Without a session: the login page, never the findings.
    let anon = send(
        &app,
        Request::get("/dashboard/connections")
            .header("accept", "text/html")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(anon.status.is_redirection(), "{}", anon.status);
    let page = send(&app, get("/dashboard/connections")).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body;
    assert!(!body.contains("<script>alert"), "{body}");
    // The same findings as `otto doctor` for this configuration.
    let today = StoreClock::new("Europe/Amsterdam")
        .unwrap()
        .day_of(otto_core::clock::now())
        .date();
    let map = env.0.clone();
    let report = otto_connectors::doctor::run(
        |k| map.get(k).cloned(),
        StoreClock::new("Europe/Amsterdam").unwrap(),
        today,
    )
    .await;
    assert!(report.blockers() >= 1, "{report:?}");
    for f in report
        .findings
        .iter()
        .filter(|f| f.severity != otto_connectors::doctor::Severity::Ok)
    {
        assert!(
            body.contains(&html::esc(&f.message)),
            "{} not in {body}",
            f.message
        );
        assert!(
            body.contains(&format!("Fix: {}", html::esc(&f.fix))),
            "{body}"
        );
    }
    assert!(
        body.contains("2025-04"),
        "the sunset version is named: {body}"
    );
    assert!(body.contains("blocker"), "{body}");
    assert!(
        body.contains("href=\"/dashboard/connections\""),
        "in the navigation"
    );
}

#[test]
fn a_running_cycle_past_its_lease_shows_as_stalled_in_store_time() {
    let row = |status: &str, updated: &str| {
        otto_core::audit::AuditRow::from_json(&serde_json::json!({
            "ref": "cycle_runs#7", "table": "cycle_runs", "store": "brevard",
            "cycle_id": "brevard:morning:2026-11-24", "day": "2026-11-24",
            "natural_key": "brevard:morning:2026-11-24", "status": status,
            "ulid": "01M8715HD87Q3K9XW2D4M8RT1V",
            "created_at": "2026-11-24T05:00:00Z", "updated_at": updated,
            "body": {"kind": "morning", "apply": false}
        }))
        .expect("row")
    };
    let ams = StoreClock::new("Europe/Amsterdam").expect("tz");
    let now: chrono::DateTime<chrono::Utc> = "2026-11-24T08:30:00Z".parse().expect("now");
    let stuck = views::cycle_card(&row("RUNNING", "2026-11-24T05:10:00Z"), None, &ams, now);
    assert!(stuck.contains(">STALLED<"), "{stuck}");
    assert!(
        stuck.contains("no stage activity since 2026-11-24 06:10 (Europe/Amsterdam)"),
        "{stuck}"
    );
    // Within the lease it is RUNNING; a closed run is never stalled.
    let live = views::cycle_card(&row("RUNNING", "2026-11-24T07:00:00Z"), None, &ams, now);
    assert!(
        live.contains(">RUNNING<") && !live.contains("Stalled"),
        "{live}"
    );
    let done = views::cycle_card(&row("COMPLETED", "2026-11-24T05:10:00Z"), None, &ams, now);
    assert!(!done.contains("STALLED"), "{done}");
}
