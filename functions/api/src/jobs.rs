//! `POST /jobs/{cycle}` and `POST /jobs/{cycle}/{stage}`: the worker endpoints the orchestrator
//! calls (`X-Worker-Token`). Both are idempotent by nature (a cycle opens once; a stage runs once
//! per cycle and chunk), and an `Idempotency-Key` makes the HTTP call itself idempotent: the same
//! key with the same body gets the stored response without re-running; with another body, 422;
//! a key that cannot be honoured as sent (empty, over 255 bytes, not printable ASCII) is a 400
//! `bad_idempotency_key` before anything runs.

use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::Json;
use otto_core::audit::{AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage, StageMessage};
use otto_core::StoreDay;
use otto_engine::cycles::{open_cycle, OpenOutcome, ScheduledInput};
use otto_runtime::HandlerError;
use otto_store::idempotency::{idempotent, IdemError, IdemOptions};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobRequest {
    /// Store day (YYYY-MM-DD); today in the store's time zone by default.
    date: Option<String>,
    /// Phase 2 for this run; the store's policy otherwise.
    apply: Option<bool>,
}

/// `X-Worker-Token` in constant time; a wrong one counts toward the source's throttle
/// ([`crate::auth`]), and a throttled source is refused (429) before its token is compared.
async fn check_worker_token(
    state: &AppState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<(), ApiError> {
    let expected = match state.worker_token.as_deref() {
        Some(t) if t.len() >= crate::auth::MIN_TOKEN_BYTES => t,
        configured => {
            if configured.is_some() {
                tracing::error!("OTTO_WORKER_TOKEN is shorter than 32 bytes: /jobs/* is closed");
            }
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "no usable worker token is configured (OTTO_WORKER_TOKEN, at least 32 bytes)",
            ));
        }
    };
    let Some(given) = headers.get("x-worker-token") else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing X-Worker-Token",
        ));
    };
    let src = crate::auth::source(extensions, headers);
    crate::auth::check_throttle(state, &src).await?;
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        crate::auth::record_failure(state, &src, "worker token").await?;
        Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "wrong X-Worker-Token",
        ))
    }
}

/// Longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The request's `Idempotency-Key`: `None` without one; 400 `bad_idempotency_key` for one that
/// cannot be honoured as sent (empty, longer than 255, not printable ASCII, sent twice) — never
/// silently ignored, which would run the request again.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let bad = |m: &str| ApiError::new(StatusCode::BAD_REQUEST, "bad_idempotency_key", m);
    let mut all = headers.get_all("idempotency-key").iter();
    let Some(v) = all.next() else {
        return Ok(None);
    };
    if all.next().is_some() {
        return Err(bad("send one Idempotency-Key header, not several"));
    }
    let b = v.as_bytes();
    if b.iter().all(u8::is_ascii_whitespace) {
        return Err(bad("Idempotency-Key is empty"));
    }
    if b.len() > MAX_IDEMPOTENCY_KEY {
        return Err(bad(&format!(
            "Idempotency-Key is longer than {MAX_IDEMPOTENCY_KEY} bytes"
        )));
    }
    if !b.iter().all(|c| (0x20..=0x7e).contains(c)) {
        return Err(bad(
            "Idempotency-Key must be printable ASCII (no control or non-ASCII characters)",
        ));
    }
    Ok(Some(String::from_utf8_lossy(b).into_owned()))
}

fn parse_body(body: &Bytes) -> Result<JobRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(JobRequest::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("request body: {e}"),
        )
    })
}

fn handler_error(e: HandlerError) -> ApiError {
    match e {
        HandlerError::Retryable(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
        HandlerError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "mode_conflict", m),
        HandlerError::Permanent(m) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", m)
        }
    }
}

/// Runs `work` under the request's Idempotency-Key, if it has one.
async fn with_idempotency_key<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    body: &Bytes,
    work: F,
) -> Result<(StatusCode, Json<Value>), ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    keyed(
        state,
        headers,
        "jobs",
        path,
        body,
        StatusCode::ACCEPTED,
        work,
    )
    .await
}

/// Runs `work` under the request's Idempotency-Key (scoped by `scope`), if it has one: the
/// same key and request answer with the stored response; answers `status` with its value.
pub(crate) async fn keyed<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    scope: &str,
    path: &str,
    body: &Bytes,
    status: StatusCode,
    work: F,
) -> Result<(StatusCode, Json<Value>), ApiError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Value, ApiError>>,
{
    let Some(key) = idempotency_key(headers)? else {
        return work().await.map(|v| (status, Json(v)));
    };
    let payload = json!({"path": path, "body": String::from_utf8_lossy(body)});
    let opts = IdemOptions {
        ttl: std::time::Duration::from_secs(24 * 3600),
        in_progress_expiry: std::time::Duration::from_secs(30),
    };
    match idempotent(
        state.ports.idempotency.as_ref(),
        &format!("http#{scope}#{key}"),
        &payload,
        opts,
        otto_core::clock::now(),
        work,
    )
    .await
    {
        Ok(o) => Ok((status, Json(o.value))),
        Err(IdemError::PayloadMismatch(_)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        )),
        Err(IdemError::InProgress(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "in_progress",
            "a request with this Idempotency-Key is in progress",
        )),
        Err(IdemError::Handler(e)) => Err(e),
        Err(IdemError::Store(e)) => Err(e.into()),
        Err(IdemError::CorruptResult { key, detail }) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("stored response for {key} is unreadable: {detail}"),
        )),
    }
}

fn day_of(state: &AppState, req: &JobRequest) -> Result<StoreDay, ApiError> {
    match &req.date {
        Some(d) => StoreDay::parse(d)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string())),
        None => Ok(state.clock.day_of(otto_core::clock::now())),
    }
}

fn cycle_kind(s: &str) -> Result<CycleKind, ApiError> {
    s.parse().map_err(|e: otto_core::CoreError| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
    })
}

/// `POST /jobs/{cycle}`: open (or resume) the cycle; its stages run through the queues.
pub async fn start_cycle(
    State(state): State<Arc<AppState>>,
    Path(cycle): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_worker_token(&state, &headers, &extensions).await?;
    idempotency_key(&headers)?;
    let kind = cycle_kind(&cycle)?;
    let req = parse_body(&body)?;
    let day = day_of(&state, &req)?;
    let path = format!("/jobs/{cycle}");
    with_idempotency_key(&state, &headers, &path, &body, || async {
        let (h, m) = kind.scheduled_at().unwrap_or((0, 0));
        let scheduled_time = state
            .clock
            .at_local(day, h, m)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid", e.to_string()))?;
        let input = ScheduledInput { cycle: kind, store: state.store_id.clone(), scheduled_time, apply: req.apply };
        let out = open_cycle(&state.ports, &state.clock, &input, otto_core::clock::now()).await.map_err(handler_error)?;
        Ok(match out {
            OpenOutcome::Opened { cycle_id, run_ref, resumed, apply } => {
                json!({"cycle_id": cycle_id, "run": run_ref, "outcome": if resumed { "resumed" } else { "opened" }, "apply": apply})
            }
            OpenOutcome::AlreadyDone { cycle_id, run_ref, status } => {
                json!({"cycle_id": cycle_id, "run": run_ref, "outcome": "already_done", "status": status})
            }
        })
    })
    .await
}

/// `POST /jobs/{cycle}/{stage}`: (re)enqueue one stage of today's running cycle — every chunk of
/// it. A stage that already ran returns its stored result (stage runs are idempotent), so this
/// resumes a stalled cycle without ever running a stage twice.
pub async fn run_stage(
    State(state): State<Arc<AppState>>,
    Path((cycle, stage)): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_worker_token(&state, &headers, &extensions).await?;
    idempotency_key(&headers)?;
    let kind = cycle_kind(&cycle)?;
    let stage: Stage = stage.parse().map_err(|e: otto_core::CoreError| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string())
    })?;
    if stage.cycle() != kind {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("stage {stage} is not part of the {kind} cycle"),
        ));
    }
    let req = parse_body(&body)?;
    let day = day_of(&state, &req)?;
    let path = format!("/jobs/{cycle}/{stage}");
    with_idempotency_key(&state, &headers, &path, &body, || async {
        let cycle_id = CycleId::new(state.store_id.clone(), kind, day);
        let run = state
            .ports
            .audit
            .get_by_natural_key(AuditTable::CycleRuns, &cycle_id.to_string())
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "not_running", format!("{cycle_id} has not been opened: POST /jobs/{kind} first")))?;
        let lease = state
            .ports
            .locks
            .current(&kind.lock_name(&state.store_id))
            .await?
            .filter(|l| l.owner == cycle_id.to_string())
            .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "not_running", format!("{cycle_id} is {} and does not hold the store_lock", run.status)))?;
        let apply = match &run.body {
            RowBody::CycleRun(r) => r.apply,
            _ => false,
        };
        // Fanned-out stages have one message per chunk, as calibrate decided.
        let chunks = match stage {
            Stage::Classify | Stage::Decide => state
                .ports
                .audit
                .get_by_natural_key(AuditTable::StageRuns, &format!("{cycle_id}|calibrate|0"))
                .await?
                .and_then(|r| match r.body {
                    RowBody::StageRun(s) => s
                        .into_report::<otto_core::report::CalibrateReport>()
                        .map(|c| u64::from(c.chunks)),
                    _ => None,
                })
                .unwrap_or(1) as u32,
            _ => 1,
        };
        let messages: Vec<StageMessage> = (0..chunks)
            .map(|chunk| StageMessage { cycle_id: cycle_id.clone(), stage, chunk, chunks, fence: lease.fence(), apply })
            .collect();
        state.ports.queue.send(&messages).await?;
        Ok(json!({"cycle_id": cycle_id.to_string(), "run": run.row_ref.to_string(), "stage": stage.as_str(), "enqueued": chunks}))
    })
    .await
}
