//! How a cycle run ends, the same for every path that ends one: the stage engine closing a
//! finished or failed cycle, a stage abandoning a cycle whose lock was taken over, and the stall
//! watch. The run row goes RUNNING → COMPLETED / FAILED with its finish time, error and summary,
//! and a `CycleCompleted` / `CycleFailed` event follows.

use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, RowBody};
use otto_core::lock::Fence;
use otto_core::report::CycleSummary;
use otto_core::RowStatus;
use otto_runtime::HandlerError;
use otto_store::{OttoEvent, Ports, StoreError};

/// The end a run is given.
pub struct RunEnd<'a> {
    /// COMPLETED or FAILED.
    pub status: RowStatus,
    pub error: Option<&'a str>,
    /// The cycle's summary, when its last stage made one.
    pub summary: Option<CycleSummary>,
}

impl<'a> RunEnd<'a> {
    pub fn failed(why: &'a str) -> Self {
        RunEnd {
            status: RowStatus::Failed,
            error: Some(why),
            summary: None,
        }
    }
}

/// What closing a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// This call moved the run out of RUNNING.
    Now,
    /// The run had ended already (another path closed it first).
    Already,
    /// The fence no longer holds the store_lock: this process may not close the run.
    Fenced,
}

/// The run row RUNNING → `end.status`, finished at `now`, under `fence` when one is given.
pub async fn close_run(
    ports: &Ports,
    run: &AuditRow,
    end: RunEnd<'_>,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<Closed, HandlerError> {
    let mut body = run.body.clone();
    if let RowBody::CycleRun(r) = &mut body {
        if end.summary.is_some() {
            r.summary = end.summary;
        }
        r.finished_at = Some(now);
        r.error = end.error.map(str::to_string);
    }
    let moved = ports
        .audit
        .transition(
            run.row_ref,
            RowStatus::Running,
            end.status,
            Some(body),
            now,
            fence,
        )
        .await;
    match moved {
        Ok(_) => Ok(Closed::Now),
        Err(StoreError::Conflict(_)) => Ok(Closed::Already),
        Err(StoreError::Fenced(_)) => Ok(Closed::Fenced),
        Err(e) => Err(e.into()),
    }
}

/// The run's `CycleCompleted` / `CycleFailed` event. The row is the record; the event is a
/// courtesy, so a failure to publish is logged, never returned.
pub async fn publish_end(ports: &Ports, run: &AuditRow, status: RowStatus, error: Option<&str>) {
    let event = OttoEvent {
        detail_type: if status == RowStatus::Completed {
            "CycleCompleted"
        } else {
            "CycleFailed"
        }
        .into(),
        detail: serde_json::json!({
            "cycle_id": run.cycle_id.to_string(),
            "run": run.row_ref.to_string(),
            "error": error,
        }),
    };
    if let Err(e) = ports.events.publish(&[event]).await {
        tracing::warn!(error = %e, "could not publish the cycle event");
    }
}
