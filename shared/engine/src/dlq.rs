//! The dead-letter sweep. A stage message whose retryable failures exhausted its receives lands
//! in the stage's DLQ; the cycle it belongs to would otherwise stay RUNNING (holding the
//! store_lock until the lease lapses). The sweep — a scheduled function, and `otto dlq sweep` —
//! ends each such cycle visibly: a FAILED stage_runs row naming the dead-lettered stage, the
//! cycle_runs row FAILED, the lock released. Messages are left in the DLQ for a human to inspect
//! and redrive; sweeping the same message again changes nothing (a closed cycle stays closed).

use crate::fail_cycle;
use chrono::{DateTime, Utc};
use otto_core::cycle::{Stage, StageMessage};
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde::Serialize;

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    /// Dead-lettered stage messages seen.
    pub seen: usize,
    /// Cycles the sweep (re)marked FAILED, as `cycle_id stage#chunk`.
    pub failed: Vec<String>,
    /// Messages that are not stage messages (logged, left alone).
    pub unreadable: usize,
}

pub async fn sweep(
    ports: &Ports,
    clock: otto_core::StoreClock,
    now: DateTime<Utc>,
) -> Result<SweepReport, HandlerError> {
    let mut report = SweepReport::default();
    for stage in Stage::ALL {
        for d in ports.queue.dead_letters(stage, 10).await? {
            report.seen += 1;
            let msg = match StageMessage::from_json(&d.body) {
                Ok(m) => m,
                Err(e) => {
                    tracing::error!(stage = %stage, message_id = %d.message_id, error = %e, "dead-lettered message is not a stage message");
                    report.unreadable += 1;
                    continue;
                }
            };
            let why = format!(
                "{} (chunk {} of {}) was dead-lettered (received {} times): its retryable failures never cleared",
                msg.stage,
                msg.chunk + 1,
                msg.chunks,
                d.receive_count
            );
            fail_cycle(ports, &msg, &why, clock, now).await?;
            report
                .failed
                .push(format!("{} {}#{}", msg.cycle_id, msg.stage, msg.chunk));
        }
    }
    Ok(report)
}
