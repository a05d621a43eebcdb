//! The dashboard's Undo button on an applied row and Apply button on a dry-run cycle: CSRF-checked
//! forms calling [`otto_engine::undo::revert`] and [`otto_engine::review::apply_cycle`], the
//! functions behind the API, the CLI and Slack.

use super::csrf::CsrfForm;
use super::html::{badge, esc};
use super::{error_page, load, no_row, parse_ref, render, render_row};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use otto_core::audit::Surface;
use otto_core::cycle::CycleId;
use otto_engine::review::{ApplyError, ApplyReport, RowOutcome};
use otto_engine::undo::{Actor, RevertError};
use std::fmt::Write;
use std::sync::Arc;

fn actor(who: &str) -> Actor {
    Actor {
        by: who.to_string(),
        surface: Surface::Dashboard,
    }
}

/// `POST /dashboard/revert/{table}/{id}`: undo, then the original row with what happened.
pub async fn revert(
    State(state): State<Arc<AppState>>,
    Path((table, id)): Path<(String, String)>,
    CsrfForm { session: s, .. }: CsrfForm,
) -> Response {
    let r = match parse_ref(&table, &id) {
        Ok(r) => r,
        Err((status, m)) => return error_page(&state, Some(&s), status, &m).await,
    };
    let now = otto_core::clock::now();
    let out = otto_engine::undo::revert(
        &state.ports,
        &state.executors,
        &state.store_id,
        r,
        &actor(&s.who),
        otto_engine::executor::At::new(now, state.clock),
    )
    .await;
    let notice = match out {
        Ok(u) => {
            tracing::warn!(row = %r, undo = %u.row.row_ref, by = %s.who, "dashboard undo");
            let kind = if u.row.status == otto_core::RowStatus::Applied {
                "ok"
            } else {
                "info"
            };
            (
                kind,
                format!(
                    "Undo {} is {}: {}",
                    super::html::row_link(&u.row.row_ref),
                    badge(u.row.status.as_str()),
                    esc(&u.outcome)
                ),
            )
        }
        Err(RevertError::NotFound(r)) => {
            return error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await
        }
        Err(e) => ("error", esc(&e.to_string())),
    };
    match load(&state, r).await {
        Ok(Some(row)) => render_row(&state, Some(&s), StatusCode::OK, row, Some(notice)).await,
        _ => error_page(&state, Some(&s), StatusCode::NOT_FOUND, &no_row(&r)).await,
    }
}

/// `POST /dashboard/cycles/{id}/apply`: the dry run applied, and the report.
pub async fn apply(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
    CsrfForm { session: s, .. }: CsrfForm,
) -> Response {
    let cycle = match CycleId::parse(&id) {
        Ok(c) => c,
        Err(e) => {
            return error_page(&state, Some(&s), StatusCode::BAD_REQUEST, &e.to_string()).await
        }
    };
    let now = otto_core::clock::now();
    let out = otto_engine::review::apply_cycle(
        &state.ports,
        &state.executors,
        &state.store_id,
        &cycle,
        &actor(&s.who),
        otto_engine::executor::At::new(now, state.clock),
    )
    .await;
    match out {
        Ok(report) => {
            tracing::warn!(cycle = %cycle, by = %s.who, applied = report.applied.len(), "dashboard apply");
            let body = report_html(&report);
            render(&state, Some(&s), StatusCode::OK, "", "Applied", &body).await
        }
        Err(e @ ApplyError::NotFound(_)) => {
            error_page(&state, Some(&s), StatusCode::NOT_FOUND, &e.to_string()).await
        }
        Err(e) => error_page(&state, Some(&s), StatusCode::CONFLICT, &e.to_string()).await,
    }
}

fn report_html(r: &ApplyReport) -> String {
    let mut out = format!(
        "<h1>Applied {}</h1><p class=\"notice ok\" role=\"status\">{} applied, {} held, {} refused, {} waiting, {} left as they were.</p>",
        esc(&r.cycle),
        r.applied.len(),
        r.held.len(),
        r.refused.len(),
        r.waiting.len(),
        r.untouched
    );
    for (title, rows) in [
        ("Held", &r.held),
        ("Refused", &r.refused),
        ("Waiting", &r.waiting),
        ("Applied", &r.applied),
    ] {
        if rows.is_empty() {
            continue;
        }
        let _ = write!(out, "<section><h2>{title}</h2><ul>");
        for o in rows.iter() {
            out.push_str(&outcome_li(o));
        }
        out.push_str("</ul></section>");
    }
    out
}

fn outcome_li(o: &RowOutcome) -> String {
    format!(
        "<li>{} {} {} {}: {}</li>",
        super::html::row_link(&o.row_ref),
        badge(o.status.as_str()),
        esc(&o.action),
        esc(&o.subject),
        esc(&o.outcome)
    )
}
