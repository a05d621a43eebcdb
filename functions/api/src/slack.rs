//! `/otto` in Slack: `POST /slack/commands` and `POST /slack/interactions`.
//!
//! Both verify Slack's `v0` signature over the raw body first (and refuse anything older than
//! five minutes). A command is acknowledged at once with an ephemeral "Looking that up…"; the
//! work — the cited answer, a release — is handed to a [`SlackDispatch`]: an SQS queue consumed
//! by the `slack_responder` Lambda in AWS, a spawned task under `otto serve`. The responder posts
//! the answer to the `response_url` as Block Kit, once per job (idempotency key = Slack's
//! `trigger_id`, or the button's ref + action time), so a Slack retry or an SQS redelivery never
//! answers twice or releases twice.
//!
//! Who may act: anyone in the workspace may ask; releasing and the kill switch need the user's id
//! in `OTTO_SLACK_ADMINS`. With `OTTO_SLACK_TEAM_ID` / `OTTO_SLACK_APP_ID` set, a request from
//! another workspace or app is refused (a command with an ephemeral message saying so, an
//! interaction with 403) — a signed request is not enough when one app is installed elsewhere too.
//!
//! Replays: a signed request is valid for five minutes; inside that window each signature is
//! accepted once (a `Counters` entry per signature, limit 1, kept past the window), so a captured
//! `/otto kill-switch off` or Release click replayed by someone else runs nothing.

use crate::{ApiError, AppState};
use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use otto_core::audit::RowRef;
use otto_core::{StoreClock, StoreId};
use otto_runtime::HandlerError;
use otto_slack::{CitationLink, OttoCommand, SlashCommand};
use otto_store::idempotency::{idempotent, IdemError, IdemOptions};
use otto_store::Ports;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;

/// One piece of work for the responder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SlackJob {
    Ask {
        key: String,
        question: String,
        user_id: String,
        response_url: String,
    },
    Release {
        key: String,
        row_ref: String,
        user_id: String,
        user_name: Option<String>,
        response_url: String,
    },
    /// An Undo click on an applied row ([`otto_engine::undo::revert`]).
    Revert {
        key: String,
        row_ref: String,
        user_id: String,
        user_name: Option<String>,
        response_url: String,
    },
}

impl SlackJob {
    pub fn key(&self) -> &str {
        match self {
            SlackJob::Ask { key, .. }
            | SlackJob::Release { key, .. }
            | SlackJob::Revert { key, .. } => key,
        }
    }
    pub fn response_url(&self) -> &str {
        match self {
            SlackJob::Ask { response_url, .. }
            | SlackJob::Release { response_url, .. }
            | SlackJob::Revert { response_url, .. } => response_url,
        }
    }
}

/// Where jobs go after the ack.
#[async_trait]
pub trait SlackDispatch: Send + Sync {
    async fn dispatch(&self, job: SlackJob) -> Result<(), String>;
}

/// What the responder needs.
#[derive(Clone)]
pub struct Responder {
    pub ports: Ports,
    pub store_id: StoreId,
    pub clock: StoreClock,
    pub link_base: String,
    pub executors: otto_engine::holds::Executors,
    pub client: otto_slack::ResponseUrlClient,
    pub llm: Option<Arc<dyn otto_answers::llm::Llm>>,
}

/// Runs jobs in this process (`otto serve`): each on its own task.
pub struct InProcess(pub Arc<Responder>);

#[async_trait]
impl SlackDispatch for InProcess {
    async fn dispatch(&self, job: SlackJob) -> Result<(), String> {
        let r = self.0.clone();
        tokio::spawn(async move {
            if let Err(e) = respond(&r, &job).await {
                tracing::error!(error = %e, key = job.key(), "slack job failed");
            }
        });
        Ok(())
    }
}

/// Sends jobs to the `slack_responder` queue (AWS).
pub struct SqsDispatch {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
}

#[async_trait]
impl SlackDispatch for SqsDispatch {
    async fn dispatch(&self, job: SlackJob) -> Result<(), String> {
        let body = serde_json::to_string(&job).map_err(|e| e.to_string())?;
        self.client
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| format!("SendMessage to the slack responder queue: {e}"))?;
        Ok(())
    }
}

/// Slack settings of the API.
#[derive(Clone)]
pub struct SlackConfig {
    pub signing_secret: String,
    pub admins: Vec<String>,
    pub dispatch: Arc<dyn SlackDispatch>,
    /// `OTTO_SLACK_TEAM_ID`: the only workspace served (any when unset).
    pub team_id: Option<String>,
    /// `OTTO_SLACK_APP_ID`: the only app served (any when unset).
    pub app_id: Option<String>,
}

impl SlackConfig {
    /// Why a request from this workspace / app is refused, if it is.
    pub fn refuses(&self, team_id: Option<&str>, app_id: Option<&str>) -> Option<String> {
        if let Some(t) = &self.team_id {
            if team_id != Some(t.as_str()) {
                return Some(format!(
                    "This Otto serves one Slack workspace only, not {}: the request was refused.",
                    team_id.unwrap_or("an unnamed one")
                ));
            }
        }
        if let Some(a) = &self.app_id {
            if app_id != Some(a.as_str()) {
                return Some(format!(
                    "This Otto answers its own Slack app only, not {}: the request was refused.",
                    app_id.unwrap_or("an unnamed one")
                ));
            }
        }
        None
    }
}

/// True the first time this signature is seen; false for a replay inside the window.
async fn first_time(state: &AppState, headers: &HeaderMap) -> Result<bool, ApiError> {
    let sig = headers
        .get(otto_slack::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let ts: i64 = headers
        .get(otto_slack::TIMESTAMP_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| otto_core::clock::now().timestamp());
    // Kept until the signature can no longer pass the timestamp check, and a minute more.
    let expires = ts + 2 * otto_slack::MAX_CLOCK_SKEW_SECS as i64 + 60;
    let name = format!("slack-seen#{}#{sig}", state.store_id);
    match state
        .ports
        .counters
        .add(&name, 1, Some(1), None, Some(expires))
        .await?
    {
        otto_store::CounterAdd::Added(_) => Ok(true),
        _ => {
            tracing::warn!(signature = sig, "slack request replayed: ignored");
            Ok(false)
        }
    }
}

fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<SlackConfig, ApiError> {
    let Some(cfg) = state.slack.clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "slack_not_configured",
            "Slack is not configured here (SLACK_SIGNING_SECRET)",
        ));
    };
    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
    otto_slack::verify(
        cfg.signing_secret.as_bytes(),
        h(otto_slack::TIMESTAMP_HEADER),
        h(otto_slack::SIGNATURE_HEADER),
        body,
        otto_core::clock::now().timestamp(),
    )
    .map_err(slack_err)?;
    Ok(cfg)
}

fn slack_err(e: otto_slack::SlackError) -> ApiError {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, e.code(), e.to_string())
}

fn ephemeral(text: &str) -> Response {
    Json(otto_slack::ack(text)).into_response()
}

/// `POST /slack/commands`.
pub async fn commands(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cfg = verify(&state, &headers, &body)?;
    if otto_slack::is_ssl_check(&body) {
        return Ok(StatusCode::OK.into_response());
    }
    let cmd = SlashCommand::parse(&body).map_err(slack_err)?;
    if let Some(why) = cfg.refuses(Some(&cmd.team_id), cmd.api_app_id.as_deref()) {
        tracing::warn!(team = %cmd.team_id, app = ?cmd.api_app_id, user = %cmd.user_id, "slack command from another workspace or app refused");
        return Ok(ephemeral(&why));
    }
    if !first_time(&state, &headers).await? {
        return Ok(ephemeral(
            "This exact request was already handled: a Slack request is accepted once.",
        ));
    }
    let admin = cfg.admins.iter().any(|a| a == &cmd.user_id);
    match cmd.otto_command() {
        OttoCommand::Help => Ok(ephemeral(&otto_slack::help_text())),
        OttoCommand::Usage { message } => Ok(ephemeral(&message)),
        OttoCommand::Ask { question } => {
            cfg.dispatch
                .dispatch(SlackJob::Ask {
                    key: format!("slack#{}", cmd.trigger_id),
                    question,
                    user_id: cmd.user_id.clone(),
                    response_url: cmd.response_url.clone(),
                })
                .await
                .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
            Ok(ephemeral("Looking that up…"))
        }
        OttoCommand::Release { .. } | OttoCommand::KillSwitch { .. } if !admin => Ok(ephemeral(
            "Only Otto's admins (OTTO_SLACK_ADMINS) may release rows or flip the kill switch.",
        )),
        OttoCommand::Release { row_ref } => {
            cfg.dispatch
                .dispatch(SlackJob::Release {
                    key: format!("slack#{}", cmd.trigger_id),
                    row_ref: row_ref.clone(),
                    user_id: cmd.user_id.clone(),
                    user_name: cmd.user_name.clone(),
                    response_url: cmd.response_url.clone(),
                })
                .await
                .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
            Ok(ephemeral(&format!("Releasing {row_ref}…")))
        }
        OttoCommand::KillSwitch { on } => {
            let now = otto_core::clock::now();
            let flip = otto_store::settings::Flip {
                on,
                by: format!(
                    "slack:{}",
                    cmd.user_name.clone().unwrap_or(cmd.user_id.clone())
                ),
                surface: otto_core::audit::Surface::Slack,
                reason: Some("flipped from Slack".into()),
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
            let cite = ks.flip.map(|r| format!(" ({r})")).unwrap_or_default();
            Ok(ephemeral(&format!(
                "Kill switch is {}{cite}: {}.",
                if on { "ON" } else { "OFF" },
                if on {
                    "every move becomes a HELD row until it is released"
                } else {
                    "moves apply again"
                }
            )))
        }
    }
}

/// `POST /slack/interactions`: the Release buttons of an answer.
pub async fn interactions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cfg = verify(&state, &headers, &body)?;
    let it = otto_slack::parse_interaction(&body).map_err(slack_err)?;
    if let Some(why) = cfg.refuses(it.team_id.as_deref(), it.api_app_id.as_deref()) {
        tracing::warn!(team = ?it.team_id, app = ?it.api_app_id, user = %it.user_id, "slack interaction from another workspace or app refused");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "slack_workspace_refused",
            why,
        ));
    }
    if !first_time(&state, &headers).await? {
        return Ok(StatusCode::OK.into_response());
    }
    let refs: Vec<(bool, String)> = it
        .release_refs()
        .into_iter()
        .map(|r| (false, r.to_string()))
        .chain(it.revert_refs().into_iter().map(|r| (true, r.to_string())))
        .collect();
    if refs.is_empty() {
        return Ok(StatusCode::OK.into_response());
    }
    let Some(response_url) = it.response_url.clone() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid",
            "interaction payload has no response_url",
        ));
    };
    if !cfg.admins.iter().any(|a| a == &it.user_id) {
        let _ = cfg
            .dispatch
            .dispatch(SlackJob::Ask {
                key: format!("slack#denied#{}", it.trigger_id.clone().unwrap_or_default()),
                question: String::new(),
                user_id: it.user_id.clone(),
                response_url,
            })
            .await;
        return Ok(StatusCode::OK.into_response());
    }
    for (undo, r) in refs {
        let action_ts = it
            .actions
            .iter()
            .find(|a| a.value.as_deref() == Some(r.as_str()))
            .and_then(|a| a.action_ts.clone())
            .unwrap_or_default();
        let (user_id, user_name, response_url) = (
            it.user_id.clone(),
            it.user_name.clone(),
            response_url.clone(),
        );
        let job = match undo {
            true => SlackJob::Revert {
                key: format!("slack#revert#{r}#{action_ts}"),
                row_ref: r,
                user_id,
                user_name,
                response_url,
            },
            false => SlackJob::Release {
                key: format!("slack#release#{r}#{action_ts}"),
                row_ref: r,
                user_id,
                user_name,
                response_url,
            },
        };
        cfg.dispatch
            .dispatch(job)
            .await
            .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e))?;
    }
    Ok(StatusCode::OK.into_response())
}

/// The message a job answers with.
pub async fn message_for(r: &Responder, job: &SlackJob) -> Result<Value, HandlerError> {
    match job {
        SlackJob::Ask { question, .. } if question.is_empty() => Ok(json!({
            "response_type": "ephemeral", "replace_original": false,
            "text": "Only Otto's admins (OTTO_SLACK_ADMINS) may release rows."
        })),
        SlackJob::Ask { question, .. } => {
            let engine =
                otto_answers::Engine::new(&r.ports, r.store_id.clone(), r.clock, &r.link_base)
                    .with_llm(r.llm.clone());
            let a = engine
                .ask(question, otto_core::clock::now())
                .await
                .map_err(|e| match e {
                    otto_answers::AnswerError::Store(s) => HandlerError::from(s),
                    other => HandlerError::Permanent(other.to_string()),
                })?;
            let links: Vec<CitationLink> = a
                .citations
                .iter()
                .map(|c| CitationLink {
                    row_ref: c.row_ref.clone(),
                    url: c.url.clone(),
                })
                .collect();
            Ok(otto_slack::render_answer(&a.answer, &links, &a.releasable))
        }
        SlackJob::Release {
            row_ref,
            user_id,
            user_name,
            ..
        } => {
            let mut applied = false;
            let text = match RowRef::parse(row_ref) {
                Err(e) => format!("{row_ref}: {e}"),
                Ok(rr) => {
                    let by = format!("slack:{}", user_name.clone().unwrap_or(user_id.clone()));
                    match otto_engine::holds::release(
                        &r.ports,
                        &r.executors,
                        &r.store_id,
                        rr,
                        &by,
                        otto_engine::executor::At::new(otto_core::clock::now(), r.clock),
                    )
                    .await
                    {
                        Ok(out) => {
                            applied = out.row.status == otto_core::RowStatus::Applied;
                            format!(
                                "{rr} → {}: {}{}",
                                out.row.status,
                                out.outcome,
                                if out.released_now {
                                    ""
                                } else {
                                    " (it had already been released)"
                                }
                            )
                        }
                        Err(otto_engine::holds::ReleaseError::Failed(h)) if h.is_retryable() => {
                            return Err(h)
                        }
                        Err(e) => e.to_string(),
                    }
                }
            };
            let link = RowRef::parse(row_ref)
                .map(|rr| {
                    vec![CitationLink {
                        row_ref: row_ref.clone(),
                        url: otto_answers::row_url(&r.link_base, &rr),
                    }]
                })
                .unwrap_or_default();
            let mut m = otto_slack::render_answer(&text, &link, &[]);
            m["replace_original"] = json!(false);
            if applied {
                if let Some(blocks) = m["blocks"].as_array_mut() {
                    blocks.push(otto_slack::revert_block(row_ref));
                }
            }
            Ok(m)
        }
        SlackJob::Revert {
            row_ref,
            user_id,
            user_name,
            ..
        } => revert_message(r, row_ref, user_id, user_name.as_deref()).await,
    }
}

/// The answer to an Undo click: what became of the undo, with a link to the row it undid.
async fn revert_message(
    r: &Responder,
    row_ref: &str,
    user_id: &str,
    user_name: Option<&str>,
) -> Result<Value, HandlerError> {
    let text = match RowRef::parse(row_ref) {
        Err(e) => format!("{row_ref}: {e}"),
        Ok(rr) => {
            let actor = otto_engine::undo::Actor {
                by: format!("slack:{}", user_name.unwrap_or(user_id)),
                surface: otto_core::audit::Surface::Slack,
            };
            let now = otto_core::clock::now();
            let out = otto_engine::undo::revert(
                &r.ports,
                &r.executors,
                &r.store_id,
                rr,
                &actor,
                otto_engine::executor::At::new(now, r.clock),
            )
            .await;
            match out {
                Ok(u) => format!(
                    "{rr} undone by {} → {}: {}",
                    u.row.row_ref, u.row.status, u.outcome
                ),
                Err(otto_engine::undo::RevertError::Failed(h)) if h.is_retryable() => {
                    return Err(h)
                }
                Err(e) => e.to_string(),
            }
        }
    };
    let link = RowRef::parse(row_ref)
        .map(|rr| {
            vec![CitationLink {
                row_ref: row_ref.to_string(),
                url: otto_answers::row_url(&r.link_base, &rr),
            }]
        })
        .unwrap_or_default();
    let mut m = otto_slack::render_answer(&text, &link, &[]);
    m["replace_original"] = json!(false);
    Ok(m)
}

/// Answers one job, once: the idempotency record keyed by the job's key makes a redelivered or
/// retried job replay nothing (the post to Slack is inside the idempotent section).
pub async fn respond(r: &Responder, job: &SlackJob) -> Result<(), HandlerError> {
    let payload = serde_json::to_value(job).map_err(|e| HandlerError::Permanent(e.to_string()))?;
    let out = idempotent(
        r.ports.idempotency.as_ref(),
        job.key(),
        &payload,
        IdemOptions {
            ttl: std::time::Duration::from_secs(24 * 3600),
            in_progress_expiry: std::time::Duration::from_secs(120),
        },
        otto_core::clock::now(),
        || async {
            let message = message_for(r, job).await?;
            r.client
                .post(job.response_url(), &message)
                .await
                .map_err(|e| {
                    if e.is_retryable() {
                        HandlerError::Retryable(e.to_string())
                    } else {
                        HandlerError::Permanent(e.to_string())
                    }
                })?;
            Ok::<bool, HandlerError>(true)
        },
    )
    .await;
    match out {
        Ok(_) => Ok(()),
        Err(IdemError::Handler(e)) => Err(e),
        Err(e) if e.is_retryable() => Err(HandlerError::Retryable(e.to_string())),
        Err(e) => Err(HandlerError::Permanent(e.to_string())),
    }
}

/// The responder Lambda's handler: a plain async fn a test can call with `LambdaEvent::new(...)`.
pub async fn handler(
    r: &Responder,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    otto_runtime::sqs::into_lambda_result(
        otto_runtime::sqs::run_batch(event.payload, |body| async move {
            let job: SlackJob = serde_json::from_str(&body)
                .map_err(|e| HandlerError::Permanent(format!("slack job: {e}")))?;
            respond(r, &job).await
        })
        .await,
    )
}
