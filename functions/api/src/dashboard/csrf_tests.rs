//! Every dashboard POST route refuses a form without this session's CSRF token, before anything
//! happens — and the table below is checked against the router's own list of POST routes, so a
//! new POST route cannot be left out of it.

use super::tests::{csrf, ctx, get, post, send, session_id, store, TOKEN};
use super::*;
use axum::body::Body;
use axum::http::Request;

/// Every POST route (as `routes()` spells it), a URI of it and a form that would act without the
/// CSRF check. `/dashboard/login` is left out on purpose: there is no session yet, and the
/// operator token it posts is itself the credential.
fn post_routes(cycle: &CycleId) -> Vec<(&'static str, String, &'static str)> {
    vec![
        (
            "/dashboard/holds/release",
            "/dashboard/holds/release".into(),
            "group=judge&ref=cs_thread_evaluations%234",
        ),
        (
            "/dashboard/release/{table}/{id}",
            "/dashboard/release/cs_thread_evaluations/4".into(),
            "",
        ),
        (
            "/dashboard/revert/{table}/{id}",
            "/dashboard/revert/decision_log/1".into(),
            "",
        ),
        (
            "/dashboard/cycles/{id}/apply",
            format!(
                "/dashboard/cycles/{}/apply",
                html::urlenc(&cycle.to_string())
            ),
            "",
        ),
        (
            "/dashboard/candidates/{table}/{id}/{decision}",
            "/dashboard/candidates/research_candidates/1/approve".into(),
            "reason=fine",
        ),
        (
            "/dashboard/kill-switch",
            "/dashboard/kill-switch".into(),
            "on=true",
        ),
        // Last: with the right token it ends the session.
        ("/dashboard/logout", "/dashboard/logout".into(), ""),
    ]
}

/// Bodies that carry no valid token for this session: none, empty, another session's, one under
/// another operator token, the right one cut short, the right one in another field.
fn bad_tokens() -> Vec<(&'static str, String)> {
    let right = csrf();
    vec![
        ("missing", String::new()),
        ("empty", "csrf=".into()),
        (
            "another session's",
            format!("csrf={}", session::csrf_for(TOKEN, &"0".repeat(64))),
        ),
        (
            "under another operator token",
            format!("csrf={}", session::csrf_for("another-token", &session_id())),
        ),
        ("cut short", format!("csrf={}", &right[..right.len() - 1])),
        ("in another field", format!("csrf_token={right}")),
    ]
}

fn with_form(fields: &str, token: &str) -> String {
    match (fields.is_empty(), token.is_empty()) {
        (true, _) => token.to_string(),
        (false, true) => fields.to_string(),
        (false, false) => format!("{fields}&{token}"),
    }
}

fn morning() -> CycleId {
    let clock = otto_core::StoreClock::new("Europe/Amsterdam").unwrap();
    CycleId::new(
        store(),
        CycleKind::Morning,
        clock.day_of(chrono::Utc::now()),
    )
}

#[tokio::test]
async fn every_post_route_refuses_a_missing_or_wrong_csrf_token() {
    let c = ctx().await;
    let refused = esc(csrf::refused());
    for (route, uri, fields) in post_routes(&morning()) {
        for (what, token) in bad_tokens() {
            let r = send(&c.app, post(&uri, &with_form(fields, &token))).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{route}, token {what}");
            assert!(
                r.body.contains(&refused),
                "{route}, token {what}: {}",
                r.body
            );
        }
        // The right token in the query string, not the form, is no token either.
        let r = send(&c.app, post(&format!("{uri}?csrf={}", csrf()), fields)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{route}, token in the URL");
    }
    // Nothing happened: the held row is held, the dry run not applied, the candidate queued,
    // the kill switch off, the session live.
    let status = |r: &str| {
        let ports = c.ports.clone();
        let r = RowRef::parse(r).unwrap();
        async move { ports.audit.get(r).await.unwrap().unwrap().status }
    };
    assert_eq!(status("cs_thread_evaluations#4").await, RowStatus::Held);
    assert_eq!(status("decision_log#1").await, RowStatus::DryRun);
    assert_eq!(status("research_candidates#1").await, RowStatus::Queued);
    let ks = otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
        .await
        .unwrap();
    assert!(!ks.on, "kill switch untouched");
    assert_eq!(send(&c.app, get("/dashboard")).await.status, StatusCode::OK);
    // With the right token the same forms get past the check (so the refusals above were the
    // token's doing).
    for (route, uri, fields) in post_routes(&morning()) {
        let token = format!("csrf={}", csrf());
        let r = send(&c.app, post(&uri, &with_form(fields, &token))).await;
        assert!(
            !(r.status == StatusCode::FORBIDDEN && r.body.contains(&refused)),
            "{route}: the right token was refused"
        );
    }
    assert!(
        otto_store::settings::kill_switch(c.ports.settings.as_ref(), &store())
            .await
            .unwrap()
            .on
    );
}

#[tokio::test]
async fn a_post_without_a_session_goes_to_the_login_page_on_every_route() {
    let c = ctx().await;
    for (route, uri, fields) in post_routes(&morning()) {
        let r = send(
            &c.app,
            Request::post(uri.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(with_form(fields, &format!("csrf={}", csrf()))))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{route}");
        assert!(
            r.headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/dashboard/login"),
            "{route}"
        );
    }
}

/// The POST routes `routes()` registers, read from its source.
fn registered_post_routes() -> Vec<String> {
    let src = include_str!("mod.rs");
    let start = src.find("pub fn routes(").expect("routes() in mod.rs");
    let body = &src[start..];
    let body = &body[..body.find("\n}\n").expect("end of routes()")];
    body.split(".route(")
        .skip(1)
        .filter(|seg| seg.contains("post("))
        .filter_map(|seg| seg.split('"').nth(1).map(str::to_string))
        .collect()
}

#[test]
fn the_table_covers_every_post_route() {
    let mut registered = registered_post_routes();
    registered.retain(|r| r != "/dashboard/login");
    registered.sort();
    let mut tested: Vec<String> = post_routes(&morning())
        .into_iter()
        .map(|(route, _, _)| route.to_string())
        .collect();
    tested.sort();
    assert!(registered.len() >= 7, "{registered:?}");
    assert_eq!(registered, tested, "a POST route without its CSRF test");
}
