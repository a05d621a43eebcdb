//! The operator routes: Otto's cited chat, rows, held rows and their release, the kill switch
//! and the research review. Every one sits behind [`crate::auth::require_operator`].

use crate::auth::Operator;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use otto_core::audit::{AuditTable, RowRef};
use otto_core::policy::KillSwitch;
use otto_engine::holds::ReleaseError;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;

/// Parses a JSON body (empty = `T::default()` when `allow_empty`); 400 naming what was wrong.
pub fn json_body<T: DeserializeOwned + Default>(
    body: &Bytes,
    allow_empty: bool,
) -> Result<T, ApiError> {
    if allow_empty && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("request body: {e}"),
        )
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChatRequest {
    question: String,
}

/// `POST /chat {question}` → `{answer, citations:[{ref,url}], intent, grounded, releasable}`.
pub async fn chat(
    State(state): State<Arc<AppState>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let req: ChatRequest = json_body(&body, false)?;
    let q = req.question.trim();
    if q.is_empty() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_question",
            "question is empty",
        ));
    }
    match state.engine().ask(q, otto_core::clock::now()).await {
        Ok(a) => Ok(Json(serde_json::to_value(a).unwrap_or(Value::Null))),
        Err(otto_answers::AnswerError::BadQuestion(m)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_question",
            m,
        )),
        Err(otto_answers::AnswerError::Store(e)) => Err(e.into()),
    }
}

pub fn parse_ref(table: &str, id: &str) -> Result<RowRef, ApiError> {
    let table: AuditTable = table.parse().map_err(|e: otto_core::CoreError| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
    })?;
    RowRef::parse(&format!("{table}#{id}"))
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))
}

/// `GET /rows/{table}/{id}`: JSON, or the dashboard's row page when a browser asks for HTML.
pub async fn get_row(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    Path((table, id)): Path<(String, String)>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let row_ref = parse_ref(&table, &id)?;
    match state.ports.audit.get(row_ref).await? {
        Some(row) if row.store() == &state.store_id && crate::dashboard::wants_html(&headers) => {
            Ok(crate::dashboard::row_html_for_api(&state, &headers, row).await)
        }
        Some(row) if row.store() == &state.store_id => Ok(Json(row.to_json()).into_response()),
        _ => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("I don't have a row for that: {row_ref} does not exist"),
        )),
    }
}

/// `GET /holds`: held rows with why, and how to release each.
pub async fn list_holds(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let rows = otto_engine::holds::held(&state.ports, &state.store_id, 500).await?;
    Ok(Json(json!({
        "holds": rows.iter().map(|r| {
            let mut v = r.to_json();
            v["release"] = json!(format!("/holds/{}/release", r.row_ref.to_string().replace('#', "%23")));
            v
        }).collect::<Vec<_>>()
    })))
}

impl From<ReleaseError> for ApiError {
    fn from(e: ReleaseError) -> Self {
        match &e {
            ReleaseError::NotFound(_) => {
                ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
            }
            ReleaseError::NotHeld(..) => {
                ApiError::new(StatusCode::CONFLICT, "not_held", e.to_string())
            }
            ReleaseError::NotReleasable(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not_releasable",
                e.to_string(),
            ),
            ReleaseError::Failed(h) if h.is_retryable() => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            ),
            ReleaseError::Failed(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "release_failed",
                e.to_string(),
            ),
        }
    }
}

/// `POST /holds/{ref}/release` (`ref` as `decision_log%2312` or `decision_log:12`): idempotent —
/// a repeat answers 200 with the row as it is and `released_now: false`.
pub async fn release_hold(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(r): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let text = r.replacen(':', "#", 1);
    let row_ref = RowRef::parse(&text)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
    let out = otto_engine::holds::release(
        &state.ports,
        &state.executors,
        &state.store_id,
        row_ref,
        &op.0,
        otto_engine::executor::At::new(otto_core::clock::now(), state.clock),
    )
    .await?;
    Ok(Json(serde_json::to_value(out).unwrap_or(Value::Null)))
}

/// `GET /kill-switch`.
pub async fn get_kill_switch(
    State(state): State<Arc<AppState>>,
) -> Result<Json<KillSwitch>, ApiError> {
    Ok(Json(
        otto_store::settings::kill_switch(state.ports.settings.as_ref(), &state.store_id).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct KillSwitchRequest {
    on: Option<bool>,
    reason: Option<String>,
}

/// `PUT /kill-switch {on, reason?}`: who and when are kept with it.
pub async fn set_kill_switch(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    body: Bytes,
) -> Result<Json<KillSwitch>, ApiError> {
    let req: KillSwitchRequest = json_body(&body, false)?;
    let on = req.on.ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            "`on` (true or false) is required",
        )
    })?;
    let now = otto_core::clock::now();
    let flip = otto_store::settings::Flip {
        on,
        by: op.0,
        surface: otto_core::audit::Surface::Api,
        reason: req.reason,
    };
    let ks = otto_store::settings::flip_kill_switch(
        state.ports.audit.as_ref(),
        state.ports.settings.as_ref(),
        &state.store_id,
        state.clock.day_of(now),
        flip,
        now,
    )
    .await?;
    tracing::warn!(on, by = ?ks.by, "kill switch flipped");
    Ok(Json(ks))
}

/// `GET /candidates`: the research queue, best score first.
pub async fn list_candidates(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let rows = otto_engine::research::queued(&state.ports, &state.store_id).await?;
    Ok(Json(
        json!({"candidates": rows.iter().map(|r| r.to_json()).collect::<Vec<_>>()}),
    ))
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    /// Accepted for old clients and ignored: the reviewer is always the authenticated operator.
    #[allow(dead_code)]
    by: Option<String>,
    reason: Option<String>,
}

/// `POST /candidates/research_candidates/{id}/approve|reject` `{reason?}`: recorded as reviewed
/// by the authenticated operator (a `by` in the body is accepted and ignored).
pub async fn review_candidate(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((table, id, decision)): Path<(String, String, String)>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let approve = match decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{other:?} is not approve or reject"),
            ))
        }
    };
    let r = parse_ref(&table, &id)?;
    let b: ReviewBody = json_body(&body, true)?;
    if b.by.as_deref().is_some_and(|by| by != op.0) {
        tracing::info!(claimed = ?b.by, operator = %op.0, "review: the body's `by` is ignored");
    }
    let row = otto_engine::research::review(&state.ports, r, approve, &op.0, b.reason).await?;
    Ok(Json(row.to_json()))
}
