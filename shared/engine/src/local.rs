//! Runs a cycle's stages in this process: the embedded default's stand-in for SQS → Lambda. The
//! same [`run_stage`](crate::run_stage) handles every message, so the local run and the cloud run
//! share all behaviour but the transport.

use crate::{run_stage, StageRegistry, StageResult};
use chrono::{DateTime, Utc};
use otto_core::cycle::{CycleKind, Stage};
use otto_core::StoreClock;
use otto_runtime::HandlerError;
use otto_store::Ports;
use std::time::Duration;

/// What draining the queues did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DrainReport {
    pub ran: usize,
    pub replayed: usize,
    pub obsolete: usize,
    pub failed_cycles: Vec<String>,
    /// Messages that failed and were left for redelivery.
    pub retry_later: Vec<String>,
}

/// Delivers queued messages of a cycle's stages until none are left (or `max_rounds` pass).
pub async fn drain(
    ports: &Ports,
    registry: &StageRegistry,
    clock: StoreClock,
    kind: CycleKind,
    now: impl Fn() -> DateTime<Utc>,
    max_rounds: usize,
) -> Result<DrainReport, HandlerError> {
    let mut report = DrainReport::default();
    for _ in 0..max_rounds {
        let mut any = false;
        for stage in kind.stages() {
            let batch = ports
                .queue
                .receive(*stage, 10, Duration::from_secs(300))
                .await?;
            for d in batch {
                any = true;
                let started = std::time::Instant::now();
                let result = otto_store::aws::labelled(
                    stage.as_str(),
                    run_stage(
                        ports,
                        registry,
                        clock,
                        &d.body,
                        Some(*stage),
                        now(),
                        Duration::from_secs(300),
                    ),
                )
                .await;
                tracing::info!(stage = %stage, elapsed_ms = started.elapsed().as_millis() as u64, "stage message handled");
                match result {
                    Ok(r) => {
                        match r {
                            StageResult::Ran { .. } => report.ran += 1,
                            StageResult::Replayed { .. } => report.replayed += 1,
                            StageResult::Obsolete => report.obsolete += 1,
                            StageResult::CycleFailed(why) => report.failed_cycles.push(why),
                        }
                        ports.queue.ack(*stage, &d.receipt).await?;
                    }
                    Err(e) => report.retry_later.push(format!("{stage}: {e}")),
                }
            }
        }
        if !any {
            break;
        }
    }
    Ok(report)
}

/// Stages of a cycle in order (for display).
pub fn stage_names(kind: CycleKind) -> Vec<&'static str> {
    kind.stages().iter().map(Stage::as_str).collect()
}
