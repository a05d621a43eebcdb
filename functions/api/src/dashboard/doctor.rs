//! `GET /dashboard/connections`: `otto doctor` on the dashboard — the same read-only vendor checks
//! ([`otto_connectors::doctor::run`]), one line per problem with its fix, blockers first. Behind
//! the operator session like every dashboard page; it changes nothing.
//!
//! The checks read the function's own configuration: the process environment with the
//! `*_PARAM` secrets read from SSM (as at cold start), read again on each view so a fixed
//! parameter shows without a redeploy. Tests (and `otto serve` callers that want another
//! source) put a [`DoctorEnv`] on the router as an extension.

use super::html::esc;
use super::session::Authed;
use super::{render, AppState};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use otto_connectors::doctor::{DoctorReport, Finding, Severity};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A fixed configuration for the checks (name → value) instead of the process environment.
#[derive(Clone, Debug, Default)]
pub struct DoctorEnv(pub Arc<BTreeMap<String, String>>);

impl DoctorEnv {
    pub fn new(pairs: &[(&str, &str)]) -> Self {
        DoctorEnv(Arc::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ))
    }
}

/// The Connections page.
pub async fn page(
    State(state): State<Arc<AppState>>,
    Authed(s): Authed,
    env: Option<Extension<DoctorEnv>>,
) -> Response {
    let today = state.clock.day_of(otto_core::clock::now()).date();
    let report = match env {
        Some(Extension(DoctorEnv(map))) => {
            otto_connectors::doctor::run(|k| map.get(k).cloned(), state.clock, today).await
        }
        None => match otto_runtime::secrets::resolve_env().await {
            Ok(resolved) => {
                otto_connectors::doctor::run(|k| resolved.get(k), state.clock, today).await
            }
            Err(e) => unreadable_secrets(&e.to_string()),
        },
    };
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "connections",
        "Connections",
        &body(&report),
    )
    .await
}

/// The secrets themselves could not be read: one blocker saying so.
fn unreadable_secrets(why: &str) -> DoctorReport {
    DoctorReport {
        findings: vec![Finding {
            check: "configuration",
            severity: Severity::Blocker,
            message: format!("the secrets named by *_PARAM could not be read: {why}"),
            fix: "check the SSM parameter names and this function's ssm:GetParameter permission"
                .into(),
        }],
    }
}

/// The page body: a verdict, then each problem with its fix (blockers first), then what passed.
pub fn body(report: &DoctorReport) -> String {
    let verdict = match (report.blockers(), report.warnings()) {
        (0, 0) => "Every connection checks out.".to_string(),
        (0, w) => format!("No blocker; {w} warning{}.", plural(w)),
        (b, w) => format!(
            "{b} blocker{} — Otto cannot run correctly until {} fixed; {w} warning{}.",
            plural(b),
            if b == 1 { "it is" } else { "they are" },
            plural(w)
        ),
    };
    let mut out = format!(
        "<h1>Connections</h1><p class=\"lead\" id=\"doctor-verdict\">{}</p>\
<p class=\"muted\">The checks of <code>otto doctor</code>: read-only calls to each configured vendor.</p>",
        esc(&verdict)
    );
    let problems: Vec<&Finding> = [Severity::Blocker, Severity::Warning]
        .iter()
        .flat_map(|sev| report.findings.iter().filter(move |f| f.severity == *sev))
        .collect();
    if !problems.is_empty() {
        out.push_str("<ul class=\"problems\">");
        for f in problems {
            out.push_str(&problem(f));
        }
        out.push_str("</ul>");
    }
    let passed: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Ok)
        .collect();
    if !passed.is_empty() {
        out.push_str("<h2>Passed</h2><ul class=\"passed\">");
        for f in passed {
            out.push_str(&format!(
                "<li><strong>{}</strong>: {}</li>",
                esc(f.check),
                esc(&f.message)
            ));
        }
        out.push_str("</ul>");
    }
    out
}

fn problem(f: &Finding) -> String {
    let (class, tag) = match f.severity {
        Severity::Blocker => ("blocker", "Blocker"),
        _ => ("warning", "Warning"),
    };
    format!(
        "<li class=\"card {class}\"><p><span class=\"badge\">{tag}</span> <strong>{}</strong>: {}</p>\
<p class=\"fix\">Fix: {}</p></li>",
        esc(f.check),
        esc(&f.message),
        esc(&f.fix)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
