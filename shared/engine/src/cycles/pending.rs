//! The moves a cycle logged but never started, once the cycle can no longer apply them: shared
//! by the stage (a cycle that fails or is abandoned) and the stall watch (a cycle that stalled).

use chrono::{DateTime, Utc};
use otto_core::audit::{AuditTable, RowBody};
use otto_core::cycle::CycleId;
use otto_core::RowStatus;
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};

/// The moves a failed, abandoned or stalled cycle logged but never started (PENDING) end SKIPPED with why:
/// the decision was for that run, and nothing may apply it later without its cycle. (A stale
/// process can no longer take them: its APPLYING write is fenced.)
pub async fn skip_pending(
    ports: &Ports,
    cycle: &CycleId,
    why: &str,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let mut page = PageReq::first(500);
        loop {
            let p = ports.audit.by_cycle(table, cycle, page.clone()).await?;
            for row in p.items.iter().filter(|r| r.status == RowStatus::Pending) {
                let mut body = row.body.clone();
                let note = serde_json::json!({"skipped": why});
                match &mut body {
                    RowBody::Decision(d) => d.result = Some(note),
                    RowBody::AdDecision(a) => a.result = Some(note),
                    _ => {}
                }
                match ports
                    .audit
                    .transition(
                        row.row_ref,
                        RowStatus::Pending,
                        RowStatus::Skipped,
                        Some(body),
                        now,
                        None,
                    )
                    .await
                {
                    Ok(_) | Err(StoreError::Conflict(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(())
}
