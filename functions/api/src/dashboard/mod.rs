//! The operator dashboard at `/dashboard` (issue 7): server-rendered HTML on the same router as
//! the API, so the Lambda and `otto serve` serve it alike, over the same ports, through the same
//! functions as the API, the CLI and Slack (release: [`otto_engine::holds::release`], review:
//! [`otto_engine::research::review`], kill switch: [`otto_store::settings::set_kill_switch`],
//! chat: [`otto_answers::Engine`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /dashboard[?day=]` | the day's cycles with their summaries, held rows, queued candidates, the chat box |
//! | `GET/POST /dashboard/login`, `POST /dashboard/logout` | the operator token → session cookie ([`session`]) |
//! | `GET /dashboard/rows?table=&day=&action=&sku=&status=&cycle=&cursor=` | rows, filtered over the audit log's access paths |
//! | `GET /dashboard/rows/{table}/{id}` | one row: reasoning, thresholds used, reversal op, figures, its actions |
//! | `GET /dashboard/holds` | held rows grouped by reason, each group with Release all ([`held`]) |
//! | `POST /dashboard/holds/release` | bulk release, one result line per row ([`otto_engine::holds::release_many`]) |
//! | `GET /dashboard/campaigns[?days=&to=]`, `GET /dashboard/campaigns/{id}` | spend, ROAS and MER per morning ([`campaigns`]) |
//! | `GET /dashboard/calibration[?day=&lo=&hi=]` | the calibrator's distribution, floor and ceiling marked ([`calibration`]) |
//! | `GET /dashboard/skus/{sku}` | a SKU's decisions over time ([`timeline`]) |
//! | `GET/POST /dashboard/release/{table}/{id}` | confirm, then release (idempotent: a repeat shows the row) |
//! | `POST /dashboard/revert/{table}/{id}` | Undo an applied move ([`otto_engine::undo::revert`]) |
//! | `POST /dashboard/cycles/{id}/apply` | apply a dry run after review, the same day ([`otto_engine::review::apply_cycle`]) |
//! | `GET /dashboard/candidates`, `POST /dashboard/candidates/{table}/{id}/{approve\|reject}` | the research review |
//! | `GET/POST /dashboard/kill-switch` | its state, who flipped it and when; flip it |
//! | `GET /dashboard/chat?q=` | Otto's cited answer, each citation linked to its row page |
//! | `GET /dashboard/connections` | `otto doctor`'s read-only vendor checks, one line per problem with its fix ([`doctor`]) |
//! | `GET /dashboard/static/{app.css,app.js}` | the embedded assets (no build step) |
//!
//! Charts are inline SVG drawn here ([`svg`]), every mark a link to its rows.
//!
//! Every page is escaped ([`html::esc`]), sent with a strict Content-Security-Policy (no inline
//! script or style), `no-store`, and never framed. Every POST takes its form through [`csrf`]'s
//! extractors, which check the session's CSRF token first.

mod acts;
mod calibration;
mod campaigns;
mod csrf;
pub mod doctor;
mod held;
pub mod html;
pub mod session;
pub mod svg;
mod timeline;
mod units;
pub mod views;

use crate::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use csrf::{CsrfForm, SessionEnd};
use html::{badge, esc, row_link, urlenc, Form};
use otto_core::audit::{AuditRow, AuditTable, RowRef};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::policy::KillSwitch;
use otto_core::{RowStatus, StoreDay};
use otto_engine::holds::ReleaseError;
use otto_store::{PageReq, StoreError};
use session::{Authed, Session};
use std::fmt::Write;
use std::sync::Arc;
use views::{Chrome, RowExtras};

const APP_CSS: &str = include_str!("static/app.css");
const APP_JS: &str = include_str!("static/app.js");

/// Rows per page of a list.
const PAGE_ROWS: usize = 100;

/// No inline script or style, nothing from elsewhere, forms only to us, never framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The dashboard's routes (merged into the API router).
pub fn routes(_state: Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(overview))
        .route("/dashboard/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard/login", get(login_form).post(login))
        .route("/dashboard/logout", post(logout))
        .route("/dashboard/static/{file}", get(asset))
        .route("/dashboard/rows", get(rows_list))
        .route("/dashboard/rows/{table}/{id}", get(row_page))
        .route("/dashboard/holds", get(held::page))
        .route("/dashboard/holds/release", post(held::release_all))
        .route("/dashboard/campaigns", get(campaigns::index))
        .route("/dashboard/campaigns/{id}", get(campaigns::page))
        .route("/dashboard/calibration", get(calibration::page))
        .route("/dashboard/skus/{sku}", get(timeline::page))
        .route(
            "/dashboard/release/{table}/{id}",
            get(release_confirm).post(release),
        )
        .route("/dashboard/revert/{table}/{id}", post(acts::revert))
        .route("/dashboard/cycles/{id}/apply", post(acts::apply))
        .route("/dashboard/candidates", get(candidates_page))
        .route(
            "/dashboard/candidates/{table}/{id}/{decision}",
            post(review),
        )
        .route(
            "/dashboard/kill-switch",
            get(kill_switch_page).post(kill_switch_set),
        )
        .route("/dashboard/chat", get(chat))
        .route("/dashboard/connections", get(doctor::page))
}

// ---------------------------------------------------------------------------------------------
// Plumbing

fn html_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    res
}

async fn kill_state(state: &AppState) -> Option<KillSwitch> {
    otto_store::settings::kill_switch(state.ports.settings.as_ref(), &state.store_id)
        .await
        .ok()
}

/// A full page with the navigation, the kill-switch banner and `body`.
async fn render(
    state: &AppState,
    s: Option<&Session>,
    status: StatusCode,
    active: &str,
    title: &str,
    body: &str,
) -> Response {
    let kill = kill_state(state).await;
    let chrome = Chrome {
        session: s,
        kill: kill.as_ref(),
        active,
        store: state.store_id.as_str(),
        clock: &state.clock,
    };
    html_response(status, views::page(title, &chrome, body))
}

async fn error_page(
    state: &AppState,
    s: Option<&Session>,
    status: StatusCode,
    message: &str,
) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<h1>{}</h1><p class=\"notice error\">{}</p><p><a href=\"/dashboard\">Back to today</a></p>",
        esc(title),
        esc(message)
    );
    render(state, s, status, "", title, &body).await
}

fn store_error(e: &StoreError) -> (StatusCode, String) {
    match e {
        StoreError::NotFound(m) => (StatusCode::NOT_FOUND, m.clone()),
        StoreError::Conflict(m) | StoreError::Fenced(m) => (StatusCode::CONFLICT, m.clone()),
        StoreError::Invalid(m) => (StatusCode::BAD_REQUEST, m.clone()),
        StoreError::Transient(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone()),
        StoreError::Backend(m) => {
            tracing::error!(error = %m, "backend error (dashboard)");
            (StatusCode::INTERNAL_SERVER_ERROR, "backend error".into())
        }
    }
}

async fn store_error_page(state: &AppState, s: Option<&Session>, e: StoreError) -> Response {
    let (status, m) = store_error(&e);
    error_page(state, s, status, &m).await
}

fn query(uri: &Uri) -> Form {
    Form::parse(uri.query().unwrap_or("").as_bytes())
}

fn parse_ref(table: &str, id: &str) -> Result<RowRef, (StatusCode, String)> {
    let t: AuditTable = table
        .parse()
        .map_err(|e: otto_core::CoreError| (StatusCode::NOT_FOUND, e.to_string()))?;
    RowRef::parse(&format!("{t}#{id}")).map_err(|e| (StatusCode::BAD_REQUEST, e.to_string()))
}

/// The row of this store, or `None`.
async fn load(state: &AppState, r: RowRef) -> Result<Option<AuditRow>, StoreError> {
    Ok(state
        .ports
        .audit
        .get(r)
        .await?
        .filter(|row| row.store() == &state.store_id))
}

fn no_row(r: &RowRef) -> String {
    format!("I don't have a row for that: {r} does not exist")
}

/// What `GET /rows/{table}/{id}` answers a browser (Accept: text/html): the row's page.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let q_of = |kind: &str| {
        accept
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let media = it.next()?.trim();
                (media.eq_ignore_ascii_case(kind)).then(|| {
                    it.filter_map(|p| p.trim().strip_prefix("q="))
                        .find_map(|q| q.trim().parse::<f32>().ok())
                        .unwrap_or(1.0)
                })
            })
            .fold(None, |acc: Option<f32>, q| {
                Some(acc.map_or(q, |a| a.max(q)))
            })
    };
    match (q_of("text/html"), q_of("application/json")) {
        (Some(h), Some(j)) => h > 0.0 && h > j,
        (Some(h), None) => h > 0.0,
        _ => false,
    }
}

/// The row page for an operator route (`/rows/...` asked for HTML): with the dashboard's
/// session its actions are live; otherwise (a JWT caller) it links to the dashboard.
pub async fn row_html_for_api(state: &AppState, headers: &HeaderMap, row: AuditRow) -> Response {
    let s = cookie_session(state, headers).await;
    render_row(state, s.as_ref(), StatusCode::OK, row, None).await
}

/// The live session of the request's cookie, if any (a store error counts as none).
async fn cookie_session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let id = crate::auth::session_cookie(headers)?;
    session::lookup(state, &id).await.ok().flatten()
}

/// An [`crate::ApiError`] (a 429, a store failure) as the dashboard's HTML error page.
pub(crate) async fn api_error_page(state: &AppState, e: crate::ApiError) -> Response {
    let mut res = error_page(state, None, e.status, &e.message).await;
    if let Some(s) = e.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    res
}

async fn render_row(
    state: &AppState,
    s: Option<&Session>,
    status: StatusCode,
    row: AuditRow,
    notice: Option<(&'static str, String)>,
) -> Response {
    let cycle_row = state
        .ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &row.cycle_id.to_string())
        .await
        .ok()
        .flatten()
        .map(|r| r.row_ref);
    let thresholds = match views::thresholds_ref(&row) {
        Some(r) => load(state, r)
            .await
            .ok()
            .flatten()
            .and_then(|t| match &t.body {
                // An imported row whose figures fit no calibrate report still shows its own.
                otto_core::audit::RowBody::StageRun(st) => st
                    .clone()
                    .into_report::<otto_core::report::CalibrateReport>()
                    .and_then(|c| serde_json::to_value(c.thresholds).ok())
                    .or_else(|| st.figures.get("thresholds").cloned())
                    .map(|v| (r, v)),
                _ => None,
            }),
        None => None,
    };
    let x = RowExtras {
        clock: state.clock,
        cycle_row,
        thresholds,
        notice,
    };
    let title = row.row_ref.to_string();
    let body = views::row_body(&row, &x, s);
    render(state, s, status, "rows", &title, &body).await
}

// ---------------------------------------------------------------------------------------------
// Assets, login, logout

async fn asset(Path(file): Path<String>) -> Response {
    let (body, ctype) = match file.as_str() {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        _ => {
            return crate::ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset")
                .into_response()
        }
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

async fn login_form(State(state): State<Arc<AppState>>, headers: HeaderMap, uri: Uri) -> Response {
    let q = query(&uri);
    let next = session::safe_next(q.get("next"));
    if cookie_session(&state, &headers).await.is_some() {
        return Redirect::to(&next).into_response();
    }
    let mut body = String::from("<section class=\"login\"><h1>Log in to Otto</h1>");
    if state.operator_auth.usable_token().is_none() {
        body.push_str("<p class=\"notice error\">Dashboard login is closed: no operator token of at least 32 bytes is configured (<code>OTTO_OPERATOR_TOKEN</code>, or <code>OTTO_OPERATOR_TOKEN_PARAM</code> in AWS).</p>");
    } else if q.get("error").is_some() {
        body.push_str(
            "<p class=\"notice error\" role=\"alert\">That is not the operator token.</p>",
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"/dashboard/login\" class=\"stack\">\
<input type=\"hidden\" name=\"next\" value=\"{}\">\
<label for=\"token\">Operator token</label>\
<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" required autofocus>\
<label for=\"name\">Your name <span class=\"muted\">(optional, recorded on what you release or review)</span></label>\
<input id=\"name\" name=\"name\" type=\"text\" maxlength=\"40\" autocomplete=\"username\">\
<button type=\"submit\" class=\"button primary\">Log in</button></form>\
<p class=\"muted\">The same token as the API's <code>Authorization: Bearer</code> (<code>OTTO_OPERATOR_TOKEN</code>; <code>otto serve</code> prints one when it is unset).</p></section>",
        esc(&next)
    );
    render(&state, None, StatusCode::OK, "", "Log in", &body).await
}

async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let next = session::safe_next(form.get("next"));
    let src = crate::auth::source(&extensions, &headers);
    if let Err(e) = crate::auth::check_throttle(&state, &src).await {
        return api_error_page(&state, e).await;
    }
    let ok = match (state.operator_auth.usable_token(), form.get("token")) {
        (Some(expected), Some(given)) => crate::auth::token_matches(given, expected),
        _ => false,
    };
    if !ok {
        tracing::warn!(source = %src, "dashboard login refused");
        if let Err(e) = crate::auth::record_failure(&state, &src, "dashboard login").await {
            return api_error_page(&state, e).await;
        }
        return Redirect::to(&format!("/dashboard/login?error=1&next={}", urlenc(&next)))
            .into_response();
    }
    let who = match form.get("name").and_then(session::clean_name) {
        Some(n) => format!("dashboard:{n}"),
        None => "dashboard".into(),
    };
    let id = match session::create(&state, &who).await {
        Ok(id) => id,
        Err(e) => return store_error_page(&state, None, e).await,
    };
    tracing::info!(source = %src, who = %who, "dashboard login");
    let secure = session::is_https(&state, &headers, &uri);
    let mut res = Redirect::to(&next).into_response();
    let h = res.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie("otto_session", &id, session::SESSION_MAX_AGE_S, secure),
    );
    // The name used to travel in its own cookie; it lives with the session now.
    h.append(
        header::SET_COOKIE,
        session::set_cookie("otto_operator", "", 0, secure),
    );
    res
}

async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    uri: Uri,
    SessionEnd(live): SessionEnd,
) -> Response {
    if let Some((id, CsrfForm { session: s, .. })) = live {
        if let Err(e) = session::revoke(&state, &id).await {
            return store_error_page(&state, Some(&s), e).await;
        }
        tracing::info!(who = %s.who, "dashboard logout");
    }
    let secure = session::is_https(&state, &headers, &uri);
    let mut res = Redirect::to("/dashboard/login").into_response();
    for name in ["otto_session", "otto_operator"] {
        res.headers_mut()
            .append(header::SET_COOKIE, session::set_cookie(name, "", 0, secure));
    }
    res
}

// ---------------------------------------------------------------------------------------------
// Pages

async fn cycle_runs(
    state: &AppState,
    day: StoreDay,
    kind: CycleKind,
    limit: usize,
) -> Result<Vec<AuditRow>, StoreError> {
    Ok(state
        .ports
        .audit
        .by_day_action(
            AuditTable::CycleRuns,
            &state.store_id,
            day,
            Some(kind.as_str()),
            PageReq::first(limit),
        )
        .await?
        .items)
}

/// The last stage row of a cycle whose run row keeps no summary (one query, only then).
async fn last_stage(state: &AppState, run: &AuditRow) -> Option<AuditRow> {
    let otto_core::audit::RowBody::CycleRun(c) = &run.body else {
        return None;
    };
    if c.summary.is_some() {
        return None;
    }
    state
        .ports
        .audit
        .by_cycle(AuditTable::StageRuns, &run.cycle_id, PageReq::first(100))
        .await
        .ok()?
        .items
        .pop()
}

async fn overview(State(state): State<Arc<AppState>>, Authed(s): Authed, uri: Uri) -> Response {
    let q = query(&uri);
    let now = otto_core::clock::now();
    let today = state.clock.day_of(now);
    let day = q
        .get("day")
        .and_then(|d| StoreDay::parse(d).ok())
        .unwrap_or(today);
    let mut body = format!(
        "<h1>{} <span class=\"muted\">{}</span></h1><p class=\"daynav\"><a href=\"/dashboard?day={}\">← {}</a>{}{}</p>",
        if day == today { "Today" } else { "Cycles" },
        esc(&day.to_string()),
        day.plus_days(-1),
        day.plus_days(-1),
        if day != today {
            " · <a href=\"/dashboard\">today</a>".to_string()
        } else {
            String::new()
        },
        if day < today {
            format!(
                " · <a href=\"/dashboard?day={}\">{} →</a>",
                day.plus_days(1),
                day.plus_days(1)
            )
        } else {
            String::new()
        },
    );
    body.push_str(&views::chat_form(""));

    let held = otto_engine::holds::held(&state.ports, &state.store_id, 500).await;
    let queued = otto_engine::research::queued(&state.ports, &state.store_id).await;
    let kill = kill_state(&state).await.unwrap_or_default();
    let _ = write!(
        body,
        "<section class=\"stats\">\
<a class=\"stat{}\" href=\"/dashboard/holds\"><span class=\"n\">{}</span> held rows</a>\
<a class=\"stat\" href=\"/dashboard/candidates\"><span class=\"n\">{}</span> candidates to review</a>\
<a class=\"stat{}\" href=\"/dashboard/kill-switch\"><span class=\"n\">{}</span> kill switch</a></section>",
        if held.as_ref().is_ok_and(|h| !h.is_empty()) {
            " warn"
        } else {
            ""
        },
        held.as_ref()
            .map(|h| h.len().to_string())
            .unwrap_or_else(|_| "?".into()),
        queued
            .as_ref()
            .map(|h| h.len().to_string())
            .unwrap_or_else(|_| "?".into()),
        if kill.on { " danger" } else { "" },
        if kill.on { "ON" } else { "off" },
    );

    body.push_str("<section><h2>Cycles</h2><div class=\"cycle-grid\">");
    let mut any = false;
    for kind in [CycleKind::Morning, CycleKind::Research, CycleKind::Discount] {
        match cycle_runs(&state, day, kind, 10).await {
            Ok(runs) => {
                for run in &runs {
                    any = true;
                    let last = last_stage(&state, run).await;
                    body.push_str(&views::cycle_card(run, last.as_ref(), &state.clock, now));
                    if day == today {
                        body.push_str(&views::apply_form(run, &s));
                    }
                }
            }
            Err(e) => return store_error_page(&state, Some(&s), e).await,
        }
    }
    // CS triage runs every 15 minutes: the latest run, and how many ran.
    match cycle_runs(&state, day, CycleKind::Cs, 200).await {
        Ok(runs) => {
            if let Some(last) = runs.last() {
                any = true;
                let stage = last_stage(&state, last).await;
                body.push_str(&views::cycle_card(last, stage.as_ref(), &state.clock, now));
                if runs.len() > 1 {
                    let _ = write!(
                        body,
                        "<p class=\"meta\">{} CS triage runs this day: <a href=\"/dashboard/rows?table=cycle_runs&amp;day={day}&amp;action=cs\">all of them</a></p>",
                        runs.len()
                    );
                }
            }
        }
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    }
    body.push_str("</div>");
    if !any {
        body.push_str("<p class=\"muted\">No cycle has run on this day (yet).</p>");
    }
    body.push_str("</section>");

    if let Ok(held) = &held {
        if !held.is_empty() {
            body.push_str("<section><h2>Held rows</h2><ul class=\"cards\">");
            for row in held.iter().take(5) {
                body.push_str(&views::held_item(row));
            }
            body.push_str("</ul>");
            if held.len() > 5 {
                let _ = write!(
                    body,
                    "<p><a href=\"/dashboard/holds\">All {} held rows</a></p>",
                    held.len()
                );
            }
            body.push_str("</section>");
        }
    }
    render(&state, Some(&s), StatusCode::OK, "today", "Today", &body).await
}

/// The filters of the rows page.
struct Filter {
    table: AuditTable,
    day: Option<StoreDay>,
    action: Option<String>,
    subject: Option<String>,
    status: Option<RowStatus>,
    cycle: Option<CycleId>,
}

impl Filter {
    fn matches(&self, row: &AuditRow) -> bool {
        self.day.is_none_or(|d| row.day() == d)
            && self.action.as_ref().is_none_or(|a| row.action_key() == *a)
            && self.subject.as_ref().is_none_or(|s| row.subject() == *s)
            && self.status.is_none_or(|s| row.status == s)
            && self.cycle.as_ref().is_none_or(|c| row.cycle_id == *c)
    }

    fn query(&self, cursor: Option<&str>) -> String {
        let mut q = format!("table={}", self.table);
        let mut add = |k: &str, v: String| {
            q.push('&');
            q.push_str(k);
            q.push('=');
            q.push_str(&urlenc(&v));
        };
        add("day", self.day.map(|d| d.to_string()).unwrap_or_default());
        if let Some(a) = &self.action {
            add("action", a.clone());
        }
        if let Some(s) = &self.subject {
            add("sku", s.clone());
        }
        if let Some(s) = self.status {
            add("status", s.to_string());
        }
        if let Some(c) = &self.cycle {
            add("cycle", c.to_string());
        }
        if let Some(c) = cursor {
            add("cursor", c.to_string());
        }
        q
    }
}

fn filter_form(f: &Filter) -> String {
    let mut tables = String::new();
    for t in AuditTable::ALL {
        let _ = write!(
            tables,
            "<option value=\"{t}\"{}>{t}</option>",
            if t == f.table { " selected" } else { "" }
        );
    }
    let mut statuses = String::from("<option value=\"\">any</option>");
    for s in RowStatus::ALL {
        let _ = write!(
            statuses,
            "<option value=\"{s}\"{}>{s}</option>",
            if f.status == Some(*s) {
                " selected"
            } else {
                ""
            }
        );
    }
    let mut actions = String::new();
    for a in otto_core::Action::ALL {
        let _ = write!(actions, "<option value=\"{a}\">");
    }
    for v in [
        "SEND",
        "ESCALATED_REFUND",
        "HOLD_TONE",
        "HOLD_LANGUAGE",
        "morning",
        "research",
        "discount",
        "cs",
    ] {
        let _ = write!(actions, "<option value=\"{v}\">");
    }
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/dashboard/rows\">\
<label>Table<select name=\"table\">{tables}</select></label>\
<label>Day<input type=\"date\" name=\"day\" value=\"{day}\"></label>\
<label>Action<input type=\"text\" name=\"action\" list=\"actions\" value=\"{action}\" placeholder=\"any\"></label>\
<datalist id=\"actions\">{actions}</datalist>\
<label>SKU / subject<input type=\"text\" name=\"sku\" value=\"{sku}\" placeholder=\"any\"></label>\
<label>Status<select name=\"status\">{statuses}</select></label>{cycle}\
<button type=\"submit\" class=\"button primary\">Filter</button></form>",
        day = esc(&f.day.map(|d| d.to_string()).unwrap_or_default()),
        action = esc(f.action.as_deref().unwrap_or("")),
        sku = esc(f.subject.as_deref().unwrap_or("")),
        cycle = f
            .cycle
            .as_ref()
            .map(|c| format!(
                "<input type=\"hidden\" name=\"cycle\" value=\"{}\"><span class=\"chip\">cycle {}</span>",
                esc(&c.to_string()),
                esc(&c.to_string())
            ))
            .unwrap_or_default(),
    )
}

async fn rows_list(State(state): State<Arc<AppState>>, Authed(s): Authed, uri: Uri) -> Response {
    let q = query(&uri);
    let today = state.clock.day_of(otto_core::clock::now());
    let mut problems = Vec::new();
    let table = match q.get("table").map(str::parse::<AuditTable>) {
        None => AuditTable::DecisionLog,
        Some(Ok(t)) => t,
        Some(Err(e)) => {
            problems.push(e.to_string());
            AuditTable::DecisionLog
        }
    };
    let day_given = q.0.iter().any(|(k, _)| k == "day");
    let mut f = Filter {
        table,
        day: match q.get("day").map(StoreDay::parse) {
            None => None,
            Some(Ok(d)) => Some(d),
            Some(Err(e)) => {
                problems.push(e.to_string());
                None
            }
        },
        action: q.get("action").map(|a| match table {
            AuditTable::DecisionLog
            | AuditTable::AdDecisionLog
            | AuditTable::CsThreadEvaluations => a.to_ascii_uppercase(),
            _ => a.to_string(),
        }),
        subject: q.get("sku").map(str::to_string),
        status: match q.get("status").map(str::parse::<RowStatus>) {
            None => None,
            Some(Ok(st)) => Some(st),
            Some(Err(e)) => {
                problems.push(e.to_string());
                None
            }
        },
        cycle: match q.get("cycle").map(CycleId::parse) {
            None => None,
            Some(Ok(c)) => Some(c),
            Some(Err(e)) => {
                problems.push(e.to_string());
                None
            }
        },
    };
    // With no narrower filter (and the day not cleared on purpose) the list is today's.
    if f.day.is_none()
        && f.subject.is_none()
        && f.status.is_none()
        && f.cycle.is_none()
        && (!day_given || f.action.is_some())
    {
        f.day = Some(today);
    }
    let page = PageReq {
        limit: PAGE_ROWS,
        cursor: q.get("cursor").map(str::to_string),
    };
    let audit = &state.ports.audit;
    let store = &state.store_id;
    // The narrowest access path answers; the other filters apply to its page.
    let (path, result) = if let Some(c) = &f.cycle {
        ("by cycle", audit.by_cycle(table, c, page).await)
    } else if let Some(sub) = &f.subject {
        (
            "by subject",
            audit.by_subject(table, store, sub, page).await,
        )
    } else if let Some(d) = f.day {
        (
            "by day and action",
            audit
                .by_day_action(table, store, d, f.action.as_deref(), page)
                .await,
        )
    } else if let Some(st) = f.status {
        ("by status", audit.by_status(table, store, st, page).await)
    } else {
        (
            "by day and action",
            audit
                .by_day_action(table, store, today, f.action.as_deref(), page)
                .await,
        )
    };
    let mut body = format!("<h1>Rows <span class=\"muted\">{table}</span></h1>");
    body.push_str(&filter_form(&f));
    for p in &problems {
        let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(p));
    }
    match result {
        Ok(p) => {
            let rows: Vec<AuditRow> = p
                .items
                .into_iter()
                .filter(|r| r.store() == store && f.matches(r))
                .collect();
            let _ = write!(
                body,
                "<p class=\"meta\">{} rows on this page ({path}).</p>",
                rows.len()
            );
            if rows.is_empty() {
                body.push_str("<p class=\"muted\">No rows match.</p>");
            } else {
                body.push_str(&views::rows_table(table, &rows));
            }
            if let Some(next) = p.next {
                let _ = write!(
                    body,
                    "<p><a class=\"button\" href=\"/dashboard/rows?{}\">Next page →</a></p>",
                    esc(&f.query(Some(&next)))
                );
            }
        }
        Err(e) => {
            let (_, m) = store_error(&e);
            let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(&m));
        }
    }
    render(&state, Some(&s), StatusCode::OK, "rows", "Rows", &body).await
}

async fn row_page(
    State(state): State<Arc<AppState>>,
    Authed(s): Authed,
    Path((table, id)): Path<(String, String)>,
) -> Response {
    let r = match parse_ref(&table, &id) {
        Ok(r) => r,
        Err((status, m)) => return error_page(&state, Some(&s), status, &m).await,
    };
    match load(&state, r).await {
        Ok(Some(row)) => render_row(&state, Some(&s), StatusCode::OK, row, None).await,
        Ok(None) => error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
        Err(e) => store_error_page(&state, Some(&s), e).await,
    }
}

fn releasable(t: AuditTable) -> bool {
    matches!(
        t,
        AuditTable::DecisionLog | AuditTable::AdDecisionLog | AuditTable::CsThreadEvaluations
    )
}

async fn release_confirm(
    State(state): State<Arc<AppState>>,
    Authed(s): Authed,
    Path((table, id)): Path<(String, String)>,
) -> Response {
    let r = match parse_ref(&table, &id) {
        Ok(r) => r,
        Err((status, m)) => return error_page(&state, Some(&s), status, &m).await,
    };
    if !releasable(r.table) {
        return error_page(
            &state,
            Some(&s),
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("{} rows are never held", r.table),
        )
        .await;
    }
    let row = match load(&state, r).await {
        Ok(Some(row)) => row,
        Ok(None) => return error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    if row.status != RowStatus::Held {
        let notice = format!(
            "{} is {}, not HELD: there is nothing to release.",
            esc(&r.to_string()),
            esc(row.status.as_str())
        );
        return render_row(
            &state,
            Some(&s),
            StatusCode::OK,
            row,
            Some(("info", notice)),
        )
        .await;
    }
    let reply = otto_engine::holds::reply_preview(state.executors.helpdesk.as_deref(), &row)
        .await
        .map(|p| views::release_reply(&p))
        .unwrap_or_default();
    let body = format!(
        "<h1>Release {ref_}?</h1><article class=\"card\"><p>{line}</p></article>{reply}\
<p>Released, the row goes to its executor, which re-checks the kill switch, rate limits and margin gates before it applies it — a catalog move through the shop, a budget through the ad account, a CS reply through the helpdesk.</p>\
<form method=\"post\" action=\"/dashboard/release/{t}/{id}\" class=\"actions\">{csrf}\
<button type=\"submit\" class=\"button primary\" id=\"confirm-release\">Confirm release</button> \
<a class=\"button\" href=\"{back}\">Cancel</a></form>",
        ref_ = row_link(&r),
        line = html::linkify_refs(&otto_answers::row_line(&row)),
        t = r.table,
        id = r.seq,
        csrf = views::csrf_field(&s),
        back = esc(&views::href(&r)),
    );
    render(&state, Some(&s), StatusCode::OK, "holds", "Release", &body).await
}

async fn release(
    State(state): State<Arc<AppState>>,
    Path((table, id)): Path<(String, String)>,
    CsrfForm { session: s, .. }: CsrfForm,
) -> Response {
    let r = match parse_ref(&table, &id) {
        Ok(r) => r,
        Err((status, m)) => return error_page(&state, Some(&s), status, &m).await,
    };
    let now = otto_core::clock::now();
    match otto_engine::holds::release(
        &state.ports,
        &state.executors,
        &state.store_id,
        r,
        &s.who,
        otto_engine::executor::At::new(now, state.clock),
    )
    .await
    {
        Ok(rel) => {
            tracing::warn!(row = %r, by = %s.who, released_now = rel.released_now, "dashboard release");
            let notice = if rel.released_now {
                (
                    "ok",
                    format!(
                        "Released by {}: {}. The row is now {}.",
                        esc(&s.who),
                        esc(&rel.outcome),
                        badge(rel.row.status.as_str())
                    ),
                )
            } else {
                (
                    "info",
                    format!(
                        "Already released — nothing was done twice ({}). The row is {}.",
                        esc(&rel.outcome),
                        badge(rel.row.status.as_str())
                    ),
                )
            };
            render_row(&state, Some(&s), StatusCode::OK, rel.row, Some(notice)).await
        }
        Err(ReleaseError::NotHeld(r, st)) => match load(&state, r).await {
            Ok(Some(row)) => {
                let notice = format!(
                    "{} is {}, not HELD: there is nothing to release.",
                    esc(&r.to_string()),
                    esc(st.as_str())
                );
                render_row(
                    &state,
                    Some(&s),
                    StatusCode::OK,
                    row,
                    Some(("info", notice)),
                )
                .await
            }
            _ => error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
        },
        Err(ReleaseError::NotFound(r)) => {
            error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await
        }
        Err(e @ ReleaseError::NotReleasable(_)) => {
            error_page(
                &state,
                Some(&s),
                StatusCode::UNPROCESSABLE_ENTITY,
                &e.to_string(),
            )
            .await
        }
        Err(ReleaseError::Failed(h)) => {
            // The release may have gone through and the executor failed: show the row as it is.
            let m = format!("The release did not complete: {h}");
            match load(&state, r).await {
                Ok(Some(row)) => {
                    render_row(
                        &state,
                        Some(&s),
                        StatusCode::OK,
                        row,
                        Some(("error", esc(&m))),
                    )
                    .await
                }
                _ => {
                    let status = if h.is_retryable() {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    };
                    error_page(&state, Some(&s), status, &m).await
                }
            }
        }
    }
}

async fn candidates_page(State(state): State<Arc<AppState>>, Authed(s): Authed) -> Response {
    let rows = match otto_engine::research::queued(&state.ports, &state.store_id).await {
        Ok(r) => r,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let mut body = format!(
        "<h1>Research candidates <span class=\"muted\">{} queued</span></h1>\
<p class=\"meta\">Best score first. Approving or rejecting records who and why on the row; a candidate is reviewed once.</p>",
        rows.len()
    );
    if rows.is_empty() {
        body.push_str("<p class=\"muted\">Nothing is waiting for review.</p>");
    }
    body.push_str("<ul class=\"cards\">");
    for row in &rows {
        let otto_core::audit::RowBody::ResearchCandidate(c) = &row.body else {
            continue;
        };
        let score = c.figures.get("score");
        let fig = |k: &str| {
            score
                .and_then(|v| v.get(k))
                .map(|v| html::value_html(v, 1))
                .unwrap_or_else(|| "—".into())
        };
        let _ = write!(
            body,
            "<li class=\"card candidate\"><div><strong>{title}</strong> {badge}</div>\
<p class=\"meta\">{link} · lane {lane} · score {score} · margin {margin} bp · market fit {fit} bp · market price {price} · landed cost {cost}</p>{forms}</li>",
            title = esc(&c.title),
            badge = badge(row.status.as_str()),
            link = row_link(&row.row_ref),
            lane = esc(&c.lane),
            score = c
                .score_bp
                .map(|b| format!("{b} bp"))
                .unwrap_or_else(|| "—".into()),
            margin = fig("margin_bp"),
            fit = fig("market_fit_bp"),
            price = fig("market_price"),
            cost = fig("landed_cost"),
            forms = views::review_forms(&row.row_ref, &s),
        );
    }
    body.push_str("</ul>");
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "candidates",
        "Candidates",
        &body,
    )
    .await
}

async fn review(
    State(state): State<Arc<AppState>>,
    Path((table, id, decision)): Path<(String, String, String)>,
    CsrfForm { session: s, form }: CsrfForm,
) -> Response {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return error_page(
                &state,
                Some(&s),
                StatusCode::NOT_FOUND,
                &format!("{other:?} is not approve or reject"),
            )
            .await
        }
    };
    let r = match parse_ref(&table, &id) {
        Ok(r) if r.table == AuditTable::ResearchCandidates => r,
        Ok(r) => {
            return error_page(
                &state,
                Some(&s),
                StatusCode::BAD_REQUEST,
                &format!("{r} is not a research candidate"),
            )
            .await
        }
        Err((status, m)) => return error_page(&state, Some(&s), status, &m).await,
    };
    // Only this store's candidates.
    match load(&state, r).await {
        Ok(Some(_)) => {}
        Ok(None) => return error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    }
    let reason = form.get("reason").map(|x| x.chars().take(200).collect());
    match otto_engine::research::review(&state.ports, r, approve, &s.who, reason).await {
        Ok(row) => {
            let notice = format!(
                "{} by {}.",
                if approve { "Approved" } else { "Rejected" },
                esc(&s.who)
            );
            render_row(&state, Some(&s), StatusCode::OK, row, Some(("ok", notice))).await
        }
        Err(StoreError::Conflict(_)) => match load(&state, r).await {
            Ok(Some(row)) => {
                let notice = format!(
                    "Already reviewed: the candidate is {}. A candidate is reviewed once; nothing changed.",
                    badge(row.status.as_str())
                );
                render_row(
                    &state,
                    Some(&s),
                    StatusCode::OK,
                    row,
                    Some(("info", notice)),
                )
                .await
            }
            _ => error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
        },
        Err(e) => store_error_page(&state, Some(&s), e).await,
    }
}

async fn kill_switch_page(State(state): State<Arc<AppState>>, Authed(s): Authed) -> Response {
    let k = match otto_store::settings::kill_switch(state.ports.settings.as_ref(), &state.store_id)
        .await
    {
        Ok(k) => k,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let who = match (&k.by, &k.at) {
        (None, None) => "<p class=\"meta\">Never flipped.</p>".to_string(),
        (by, at) => format!(
            "<p class=\"meta\">Last flipped {} by {}{}.</p>",
            at.as_ref()
                .map(|a| esc(&views::when(&state.clock, a)))
                .unwrap_or_else(|| "at an unknown time".into()),
            by.as_deref().map(esc).unwrap_or_else(|| "someone".into()),
            k.reason
                .as_deref()
                .map(|r| format!(": “{}”", esc(r)))
                .unwrap_or_default()
        ),
    };
    let form = if k.on {
        format!(
            "<form method=\"post\" action=\"/dashboard/kill-switch\" class=\"stack\" data-confirm=\"Turn the kill switch off? Moves will be applied again.\">{}\
<input type=\"hidden\" name=\"on\" value=\"false\"><label for=\"reason\">Reason</label>\
<input id=\"reason\" name=\"reason\" type=\"text\" maxlength=\"200\" placeholder=\"why it is safe again\">\
<button type=\"submit\" class=\"button primary\">Turn off</button></form>",
            views::csrf_field(&s)
        )
    } else {
        format!(
            "<form method=\"post\" action=\"/dashboard/kill-switch\" class=\"stack\" data-confirm=\"Turn the kill switch ON? Every move becomes a held row.\">{}\
<input type=\"hidden\" name=\"on\" value=\"true\"><label for=\"reason\">Reason</label>\
<input id=\"reason\" name=\"reason\" type=\"text\" maxlength=\"200\" placeholder=\"e.g. supplier outage\">\
<button type=\"submit\" class=\"button danger\">Turn ON</button></form>",
            views::csrf_field(&s)
        )
    };
    let body = format!(
        "<h1>Kill switch <span class=\"badge {}\">{}</span></h1>{who}\
<p>While it is on, every move the executors would make is written as a HELD row instead; releasing a held row re-checks it.</p>{form}",
        if k.on { "s-held" } else { "s-applied" },
        if k.on { "ON" } else { "off" },
    );
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "kill",
        "Kill switch",
        &body,
    )
    .await
}

async fn kill_switch_set(
    State(state): State<Arc<AppState>>,
    CsrfForm { session: s, form }: CsrfForm,
) -> Response {
    let on = match form.get("on") {
        Some("true") => true,
        Some("false") => false,
        _ => {
            return error_page(
                &state,
                Some(&s),
                StatusCode::UNPROCESSABLE_ENTITY,
                "`on` (true or false) is required",
            )
            .await
        }
    };
    let now = otto_core::clock::now();
    let flip = otto_store::settings::Flip {
        on,
        by: s.who.clone(),
        surface: otto_core::audit::Surface::Dashboard,
        reason: form.get("reason").map(|r| r.chars().take(200).collect()),
    };
    let flipped = otto_store::settings::flip_kill_switch(
        state.ports.audit.as_ref(),
        state.ports.settings.as_ref(),
        &state.store_id,
        state.clock.day_of(now),
        flip,
        now,
    )
    .await;
    if let Err(e) = flipped {
        return store_error_page(&state, Some(&s), e).await;
    }
    tracing::warn!(on, by = %s.who, "kill switch flipped (dashboard)");
    Redirect::to("/dashboard/kill-switch").into_response()
}

async fn chat(State(state): State<Arc<AppState>>, Authed(s): Authed, uri: Uri) -> Response {
    let q = query(&uri);
    let question = q.get("q").unwrap_or("");
    let mut body = String::from("<h1>Ask Otto</h1>");
    body.push_str(&views::chat_form(question));
    if question.is_empty() {
        body.push_str("<p class=\"meta\">Otto answers only from audit rows and cites each one; where no row supports an answer it says “I don't have a row for that.”</p>");
    } else {
        // The same Otto as `/chat`, Slack and `otto ask` (the LLM too, when configured), with
        // its citations pointing at the dashboard's row pages.
        let engine = otto_answers::Engine::new(
            &state.ports,
            state.store_id.clone(),
            state.clock,
            "/dashboard",
        )
        .with_llm(state.llm.clone());
        let _ = write!(
            body,
            "<section class=\"qa\"><p class=\"question\">{}</p>",
            esc(question)
        );
        match engine.ask(question, otto_core::clock::now()).await {
            Ok(a) => body.push_str(&views::answer_html(&a)),
            Err(otto_answers::AnswerError::BadQuestion(m)) => {
                let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(&m));
            }
            Err(otto_answers::AnswerError::Store(e)) => {
                let (_, m) = store_error(&e);
                let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(&m));
            }
        }
        body.push_str("</section>");
    }
    render(&state, Some(&s), StatusCode::OK, "chat", "Ask Otto", &body).await
}

#[cfg(test)]
mod chart_tests;
#[cfg(test)]
mod csrf_tests;
#[cfg(test)]
mod tests;
