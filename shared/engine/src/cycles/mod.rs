//! Opening a cycle (what the EventBridge Scheduler target calls). A schedule fires with
//! `{"cycle":"morning","store":"…","scheduled_time":"<aws.scheduler.scheduled-time>"}`; this opens
//! the cycle run `{store}:{cycle}:{local date}` (`…T{HHMM}` for interval cycles), takes the store_lock (lease + fencing token) and
//! enqueues the first stage. A retry after a crash anywhere in between resumes the same cycle: the
//! lock owner is the cycle id (so the lease and its token come back unchanged), the cycle_runs row
//! is keyed by the cycle id (so it is not logged twice) and stage runs are idempotent (so a first
//! stage message sent twice runs once).

pub mod pending;
pub mod run_end;
pub mod stall;

use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AuditTable, CycleRunRow, NewRow, RowBody, RowRef};
use otto_core::cycle::{CycleId, CycleKind, StageMessage};
use otto_core::lock::Lease;
use otto_core::{RowStatus, StoreClock, StoreId};
use otto_runtime::HandlerError;
use otto_store::{Acquire, Ports};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How long a cycle's lease lasts without renewal; every stage renews it.
pub const CYCLE_LEASE: Duration = Duration::hours(2);

/// The schedule's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledInput {
    pub cycle: CycleKind,
    pub store: StoreId,
    pub scheduled_time: DateTime<Utc>,
    /// Overrides the store's policy (`apply`) for this run.
    #[serde(default)]
    pub apply: Option<bool>,
}

impl ScheduledInput {
    pub fn parse(v: &serde_json::Value) -> Result<Self, HandlerError> {
        serde_json::from_value(v.clone())
            .map_err(|e| HandlerError::Permanent(format!("scheduler input: {e}")))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum OpenOutcome {
    /// The cycle is running (freshly opened, or resumed by a retry).
    Opened {
        cycle_id: String,
        run_ref: String,
        resumed: bool,
        apply: bool,
    },
    /// The cycle already finished; nothing was done.
    AlreadyDone {
        cycle_id: String,
        run_ref: String,
        status: String,
    },
}

/// Opens (or resumes) a cycle run.
pub async fn open_cycle(
    ports: &Ports,
    clock: &StoreClock,
    input: &ScheduledInput,
    now: DateTime<Utc>,
) -> Result<OpenOutcome, HandlerError> {
    if input.cycle.stages().is_empty() {
        return Err(HandlerError::Permanent(format!(
            "{} is not a cycle that runs",
            input.cycle
        )));
    }
    let day = clock.day_of(input.scheduled_time);
    // Interval cycles (CS every 15 minutes) get one id per run: the local slot it was scheduled in.
    let cycle_id = match input.cycle.interval_minutes() {
        Some(_) => CycleId::with_slot(
            input.store.clone(),
            input.cycle,
            day,
            clock.minute_of_day(input.scheduled_time),
        ),
        None => CycleId::new(input.store.clone(), input.cycle, day),
    };
    let run_key = cycle_id.to_string();
    let existing = ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &run_key)
        .await?;
    // A run keeps the mode it was opened in: a resume (or a rerun) asking for the other mode is
    // refused, never applied under a run row that says dry run.
    let recorded = existing.as_ref().map(run_mode).transpose()?;
    if let (Some(run), Some(was)) = (&existing, recorded) {
        check_mode(run, was, input.apply)?;
        if run.status != RowStatus::Running {
            return Ok(OpenOutcome::AlreadyDone {
                cycle_id: run_key,
                run_ref: run.row_ref.to_string(),
                status: run.status.to_string(),
            });
        }
    }
    let policy = otto_store::settings::policy(ports.settings.as_ref(), &input.store).await?;
    let apply = recorded.unwrap_or(input.apply.unwrap_or(policy.apply));
    let lock = input.cycle.lock_name(&input.store);
    let lease = match ports
        .locks
        .acquire(
            &lock,
            &run_key,
            CYCLE_LEASE.num_milliseconds(),
            now.timestamp_millis(),
        )
        .await?
    {
        Acquire::Acquired(l) => l,
        Acquire::Held(other) => {
            // Retryable: the scheduler's retry policy tries again later, and a lease that
            // lapses (a stalled holder) is taken over then.
            return Err(HandlerError::Retryable(format!(
                "{lock} is held by {} until {}",
                other.owner,
                DateTime::<Utc>::from_timestamp_millis(other.expires_at_ms)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default()
            )));
        }
    };
    let row = NewRow {
        cycle_id: cycle_id.clone(),
        natural_key: run_key.clone(),
        status: RowStatus::Running,
        created_at: now,
        body: RowBody::CycleRun(CycleRunRow {
            kind: input.cycle,
            apply,
            scheduled_time: Some(input.scheduled_time),
            summary: None,
            finished_at: None,
            figures: BTreeMap::new(),
            error: None,
        }),
    };
    let appended = ports.audit.append(vec![row], Some(&lease.fence())).await?;
    let run_ref = appended[0].row_ref;
    if !appended[0].inserted && recorded.is_none() {
        // Another opener (same cycle, same lock owner) created the run between our read and
        // our append: its mode stands, and a request for the other one enqueues nothing.
        if let Some(run) = ports.audit.get(run_ref).await? {
            check_mode(&run, run_mode(&run)?, Some(apply))?;
        }
    }
    enqueue_first_stage(ports, &cycle_id, &lease, apply).await?;
    tracing::info!(cycle_id = %cycle_id, run = %run_ref, resumed = !appended[0].inserted, apply, "cycle opened");
    Ok(OpenOutcome::Opened {
        cycle_id: run_key,
        run_ref: run_ref.to_string(),
        resumed: !appended[0].inserted,
        apply,
    })
}

fn run_mode(run: &otto_core::AuditRow) -> Result<bool, HandlerError> {
    match &run.body {
        RowBody::CycleRun(r) => Ok(r.apply),
        _ => Err(HandlerError::Permanent(format!(
            "{} is not a cycle run",
            run.row_ref
        ))),
    }
}

fn mode(apply: bool) -> &'static str {
    if apply {
        "apply (Phase 2)"
    } else {
        "dry run"
    }
}

fn check_mode(
    run: &otto_core::AuditRow,
    was: bool,
    asked: Option<bool>,
) -> Result<(), HandlerError> {
    match asked {
        Some(asked) if asked != was => Err(HandlerError::Conflict(format!(
            "{} ({}, {}) was opened as {}; this request asks for {}: a run keeps its mode",
            run.cycle_id,
            run.row_ref,
            run.status,
            mode(was),
            mode(asked)
        ))),
        _ => Ok(()),
    }
}

async fn enqueue_first_stage(
    ports: &Ports,
    cycle_id: &CycleId,
    lease: &Lease,
    apply: bool,
) -> Result<(), HandlerError> {
    let first = cycle_id.kind.stages()[0];
    ports
        .queue
        .send(&[StageMessage {
            cycle_id: cycle_id.clone(),
            stage: first,
            chunk: 0,
            chunks: 1,
            fence: lease.fence(),
            apply,
        }])
        .await?;
    Ok(())
}

/// The run row of a cycle, if it was opened.
pub async fn cycle_run(ports: &Ports, cycle_id: &CycleId) -> Result<Option<RowRef>, HandlerError> {
    Ok(ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle_id.to_string())
        .await?
        .map(|r| r.row_ref))
}
