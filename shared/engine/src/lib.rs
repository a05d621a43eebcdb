//! Otto's use cases, apart from any Lambda: the stage engine and the stage bodies (morning,
//! research, discount, CS triage), the one executor every move goes through, holds, review,
//! undo, cycle opening and the stall watch. `functions/*` (Lambda adapters) and `cli/` call into
//! this crate; it knows no Lambda or SQS event types (ports only, `otto_store::Ports`).
//!
//! The stage engine ([`run_stage`]), per message `{cycle_id, stage, chunk, chunks, fence, apply}`:
//! 1. parse and validate it (a bad message fails alone);
//! 2. check the fence still holds the store_lock and renew the lease (a message of a cycle whose
//!    lock was taken over is obsolete: logged and dropped, never run);
//! 3. run the stage body at most once per `(cycle_id, stage, chunk)` (idempotency record), writing
//!    a stage_runs row fenced by the token;
//! 4. fan in: count the chunk once (a counter with the chunk as token); the chunk that completes
//!    the count enqueues the next stage, or closes the cycle (cycle_runs → COMPLETED, lock released,
//!    `CycleCompleted` event) after the last stage.
//!
//! A permanent failure ends the cycle visibly: the stage_runs row carries the error, the cycle_runs
//! row becomes FAILED, the lock is released. A retryable failure is left to SQS redelivery.

mod campaign_watch;
pub mod cs;
pub mod cycles;
pub mod discount;
pub mod dlq;
pub mod executor;
pub mod holds;
pub mod local;
pub mod morning;
pub mod research;
pub mod review;
pub mod supplier_tasks;
pub mod undo;

use crate::cycles::pending::skip_pending;
use crate::cycles::run_end::{close_run, publish_end, Closed, RunEnd};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AuditTable, NewRow, RowBody, RowRef, StageRunRow};
use otto_core::cycle::{Stage, StageMessage};
use otto_core::report::{CycleSummary, StageReport, StageReportKind};
use otto_core::{RowStatus, StoreClock};
use otto_runtime::HandlerError;
use otto_store::idempotency::{idempotent, IdemError, IdemOptions};
use otto_store::{CounterAdd, Ports, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a stage body sees.
pub struct StageContext<'a> {
    pub ports: &'a Ports,
    pub msg: &'a StageMessage,
    pub clock: StoreClock,
    pub now: DateTime<Utc>,
}

impl StageContext<'_> {
    /// The executor's run: fenced by this cycle's lock, counted on today's store day.
    pub fn run(&self) -> executor::Run<'_> {
        executor::Run {
            fence: Some(&self.msg.fence),
            now: self.now,
            today: self.clock.day_of(self.now),
            owner: format!(
                "{}|{}|{}",
                self.msg.cycle_id, self.msg.stage, self.msg.chunk
            ),
        }
    }
}

/// What a stage body reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOutput {
    /// The stage's typed report, stored on its stage_runs row.
    pub report: StageReport,
    /// How many chunks the next stage fans out to (0 or 1: one message).
    pub next_chunks: u32,
}

impl StageOutput {
    pub fn new(report: impl StageReportKind, next_chunks: u32) -> Self {
        StageOutput {
            report: report.into_report(),
            next_chunks,
        }
    }
}

/// The typed report an earlier stage (chunk) of this cycle stored, with its row's ref; retryable
/// until that stage has run.
pub async fn earlier<R: StageReportKind>(
    ctx: &StageContext<'_>,
    chunk: u32,
) -> Result<(RowRef, R), HandlerError> {
    let stage = R::STAGE;
    let nk = format!("{}|{}|{}", ctx.msg.cycle_id, stage, chunk);
    let row = ctx
        .ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &nk)
        .await?
        .ok_or_else(|| {
            HandlerError::Retryable(format!(
                "{stage} (chunk {chunk}) of {} has not run yet",
                ctx.msg.cycle_id
            ))
        })?;
    let RowBody::StageRun(run) = row.body else {
        return Err(HandlerError::Permanent(
            "stage run row has another table's body".into(),
        ));
    };
    let report = run.into_report::<R>().ok_or_else(|| {
        HandlerError::Permanent(format!("{stage} run {} has no {stage} report", row.row_ref))
    })?;
    Ok((row.row_ref, report))
}

/// One stage's work. Bodies write their own rows with natural keys, so re-running a body after a
/// crash never double-logs.
#[async_trait]
pub trait StageBody: Send + Sync {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError>;
}

/// The stage bodies, by stage.
#[derive(Clone, Default)]
pub struct StageRegistry {
    bodies: HashMap<Stage, Arc<dyn StageBody>>,
}

impl StageRegistry {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with(mut self, stage: Stage, body: Arc<dyn StageBody>) -> Self {
        self.bodies.insert(stage, body);
        self
    }
    pub fn get(&self, stage: Stage) -> Option<&Arc<dyn StageBody>> {
        self.bodies.get(&stage)
    }
}

/// How one message ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageResult {
    /// Ran now.
    Ran { advanced: bool },
    /// A duplicate delivery: the stored result was used, nothing ran.
    Replayed { advanced: bool },
    /// The cycle's lock was taken over; the message belongs to a dead run.
    Obsolete,
    /// The stage failed permanently; the cycle is marked FAILED.
    CycleFailed(String),
}

/// Runs one stage message. `in_progress_for` is how long this attempt may take (from the Lambda
/// deadline); a crashed attempt's record lapses after it and the redelivery runs again.
pub async fn run_stage(
    ports: &Ports,
    registry: &StageRegistry,
    clock: StoreClock,
    body: &str,
    expected_stage: Option<Stage>,
    now: DateTime<Utc>,
    in_progress_for: std::time::Duration,
) -> Result<StageResult, HandlerError> {
    let msg = StageMessage::from_json(body)?;
    if let Some(expected) = expected_stage {
        if msg.stage != expected {
            return Err(HandlerError::Permanent(format!(
                "message for stage {} reached the {expected} worker",
                msg.stage
            )));
        }
    }
    // 2. The fence: is this still the cycle holding the lock? Renewing is conditional on the
    //    fencing token, so it answers that in one request; the lock is read only when it fails.
    let fenced = otto_core::lock::Lease {
        name: msg.fence.lock.clone(),
        owner: String::new(),
        version: msg.fence.version.clone(),
        expires_at_ms: 0,
    };
    match ports
        .locks
        .renew(
            &fenced,
            crate::cycles::CYCLE_LEASE.num_milliseconds(),
            now.timestamp_millis(),
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Fenced(_)) => {
            let current = ports.locks.current(&msg.fence.lock).await?;
            tracing::warn!(cycle_id = %msg.cycle_id, stage = %msg.stage, "fence is stale: the cycle's lock was taken over; message dropped");
            abandon_taken_over(ports, &msg, current.as_ref(), now).await?;
            return Ok(StageResult::Obsolete);
        }
        Err(e) => return Err(e.into()),
    }
    let Some(stage_body) = registry.get(msg.stage) else {
        let why = format!("no body is registered for stage {}", msg.stage);
        fail_cycle(ports, &msg, &why, clock, now).await?;
        return Ok(StageResult::CycleFailed(why));
    };
    // 3. At most once per (cycle, stage, chunk).
    // The payload hash leaves the fence out: a cycle resumed under a new token (after its lease
    // lapsed) is the same work, and must get the stored result, not a mismatch.
    let payload = serde_json::json!({
        "cycle_id": msg.cycle_id, "stage": msg.stage, "chunk": msg.chunk, "chunks": msg.chunks, "apply": msg.apply,
    });
    let opts = IdemOptions {
        ttl: std::time::Duration::from_secs(14 * 24 * 3600),
        in_progress_expiry: in_progress_for,
    };
    let ctx = StageContext {
        ports,
        msg: &msg,
        clock,
        now,
    };
    let outcome = idempotent(
        ports.idempotency.as_ref(),
        &msg.idempotency_key(),
        &payload,
        opts,
        now,
        || async {
            let out = stage_body.run(&ctx).await?;
            let row = stage_row(&msg, Ok(out.report.clone()), now);
            ports.audit.append(vec![row], Some(&msg.fence)).await?;
            Ok::<_, HandlerError>(out)
        },
    )
    .await;
    let (out, replayed) = match outcome {
        Ok(o) => (o.value, o.replayed),
        Err(IdemError::Handler(HandlerError::Permanent(why))) => {
            fail_cycle(ports, &msg, &why, clock, now).await?;
            return Ok(StageResult::CycleFailed(why));
        }
        Err(IdemError::Handler(e)) => return Err(e),
        Err(IdemError::InProgress(k)) => {
            return Err(HandlerError::Retryable(format!(
                "{k} is being run by another attempt"
            )))
        }
        Err(IdemError::Store(e)) => return Err(e.into()),
        // A payload mismatch or an unreadable stored result cannot heal by retrying: the cycle
        // ends visibly.
        Err(e) => {
            let why = e.to_string();
            fail_cycle(ports, &msg, &why, clock, now).await?;
            return Ok(StageResult::CycleFailed(why));
        }
    };
    // 4. Fan in, then advance.
    let advanced = match fan_in_and_advance(ports, &msg, &out, clock, now).await {
        Ok(a) => a,
        Err(HandlerError::Permanent(why)) => {
            fail_cycle(ports, &msg, &why, clock, now).await?;
            return Ok(StageResult::CycleFailed(why));
        }
        Err(e) => return Err(e),
    };
    Ok(if replayed {
        StageResult::Replayed { advanced }
    } else {
        StageResult::Ran { advanced }
    })
}

fn fan_in_key(msg: &StageMessage) -> String {
    format!("fanin#{}#{}", msg.cycle_id, msg.stage)
}

async fn fan_in_and_advance(
    ports: &Ports,
    msg: &StageMessage,
    out: &StageOutput,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Result<bool, HandlerError> {
    let expires = (now + Duration::days(14)).timestamp();
    let done = match ports
        .counters
        .add(
            &fan_in_key(msg),
            1,
            None,
            Some(&msg.chunk.to_string()),
            Some(expires),
        )
        .await?
    {
        CounterAdd::Added(v) | CounterAdd::AlreadyCounted(v) => v,
        CounterAdd::LimitReached(v) => v,
    };
    if done < i64::from(msg.chunks) {
        return Ok(false);
    }
    match msg.stage.next() {
        Some(next) => {
            let chunks = out.next_chunks.max(1);
            let messages: Vec<StageMessage> = (0..chunks)
                .map(|chunk| StageMessage {
                    cycle_id: msg.cycle_id.clone(),
                    stage: next,
                    chunk,
                    chunks,
                    fence: msg.fence.clone(),
                    apply: msg.apply,
                })
                .collect();
            ports.queue.send(&messages).await?;
        }
        None => {
            finish_cycle(
                ports,
                msg,
                RowStatus::Completed,
                None,
                out.report.cycle_summary(),
                clock,
                now,
            )
            .await?
        }
    }
    Ok(true)
}

/// The stage_runs row of `msg`'s chunk: COMPLETED with its report, or FAILED with why.
fn stage_row(msg: &StageMessage, outcome: Result<StageReport, &str>, now: DateTime<Utc>) -> NewRow {
    let (status, report, error) = match outcome {
        Ok(report) => (RowStatus::Completed, Some(report), None),
        Err(why) => (RowStatus::Failed, None, Some(why.to_string())),
    };
    NewRow {
        cycle_id: msg.cycle_id.clone(),
        natural_key: format!("{}|{}|{}", msg.cycle_id, msg.stage, msg.chunk),
        status,
        created_at: now,
        body: RowBody::StageRun(StageRunRow {
            stage: msg.stage,
            chunk: msg.chunk,
            chunks: msg.chunks,
            report,
            figures: BTreeMap::new(),
            error,
        }),
    }
}

async fn fail_cycle(
    ports: &Ports,
    msg: &StageMessage,
    why: &str,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    tracing::error!(cycle_id = %msg.cycle_id, stage = %msg.stage, error = why, "stage failed permanently; cycle marked FAILED");
    let row = stage_row(msg, Err(why), now);
    match ports.audit.append(vec![row], Some(&msg.fence)).await {
        Ok(_) | Err(StoreError::Fenced(_)) => {}
        Err(e) => return Err(e.into()),
    }
    skip_pending(ports, &msg.cycle_id, &format!("cycle failed: {why}"), now).await?;
    finish_cycle(ports, msg, RowStatus::Failed, Some(why), None, clock, now).await
}

/// A message whose cycle lost its store_lock to *another* cycle (the holder stalled past its
/// lease and the next cycle took the lock): that cycle can never finish, so its run is ended
/// visibly — FAILED with why — instead of staying RUNNING. When the lock went to a resumed run of
/// the same cycle (same owner, new token), the resumed run carries on and nothing is changed.
async fn abandon_taken_over(
    ports: &Ports,
    msg: &StageMessage,
    current: Option<&otto_core::lock::Lease>,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let cycle = msg.cycle_id.to_string();
    if current.is_some_and(|l| l.owner == cycle) {
        return Ok(());
    }
    let Some(run) = ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle)
        .await?
    else {
        return Ok(());
    };
    if run.status != RowStatus::Running {
        return Ok(());
    }
    let why = match current {
        Some(l) => format!(
            "its store_lock was taken over by {} after the lease lapsed (the cycle stalled); {} and later stages did not run",
            l.owner, msg.stage
        ),
        None => format!(
            "its store_lock lapsed and was released by another run; {} and later stages did not run",
            msg.stage
        ),
    };
    tracing::error!(cycle_id = %cycle, error = %why, "cycle abandoned; marked FAILED");
    let row = stage_row(msg, Err(&why), now);
    ports.audit.append(vec![row], None).await?;
    skip_pending(
        ports,
        &msg.cycle_id,
        &format!("cycle abandoned: {why}"),
        now,
    )
    .await?;
    close_run(ports, &run, RunEnd::failed(&why), None, now).await?;
    publish_end(ports, &run, RowStatus::Failed, Some(&why)).await;
    Ok(())
}

/// Closes the cycle run (RUNNING → COMPLETED/FAILED), releases the lock and publishes the event.
/// Safe to repeat: a run already closed is left as it is.
async fn finish_cycle(
    ports: &Ports,
    msg: &StageMessage,
    status: RowStatus,
    error: Option<&str>,
    summary: Option<CycleSummary>,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let cycle_id = &msg.cycle_id;
    let Some(run) = ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle_id.to_string())
        .await?
    else {
        return Err(HandlerError::Permanent(format!(
            "cycle run {cycle_id} does not exist"
        )));
    };
    if run.status == RowStatus::Running {
        let end = RunEnd {
            status,
            error,
            summary,
        };
        if close_run(ports, &run, end, Some(&msg.fence), now).await? == Closed::Fenced {
            return Ok(());
        }
    }
    if let Some(lease) = ports.locks.current(&msg.fence.lock).await? {
        if lease.version == msg.fence.version {
            ports.locks.release(&lease).await?;
        }
    }
    publish_end(ports, &run, status, error).await;
    // Slack speaks first: the cycle's digest (or its FAILED alert) and the holds alert, when a
    // digest channel is configured. Never fails the cycle.
    otto_answers::notify::after_cycle(ports, clock, cycle_id, now).await;
    Ok(())
}
