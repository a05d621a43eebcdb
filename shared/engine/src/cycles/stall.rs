//! The stall watch, on a schedule (every 15 minutes, `StallWatchFunction` in template.yaml): a
//! cycle still RUNNING whose store_lock lease is no longer its own and live — every stage
//! renews the lease for [`super::CYCLE_LEASE`], so past it no worker holds the cycle — never
//! reaches its own end. The watch ends it visibly: the run row RUNNING → FAILED with why
//! (`STALLED: …`, the lapse in store time), the lapsed lease given back, its PENDING moves
//! SKIPPED with why (as a failed cycle's), a `CycleFailed` event, and the FAILED alert (plus
//! the holds alert) through [`otto_answers::notify`], posted once.
//!
//! A cycle whose lease is live is left alone however slow it is; one finished meanwhile (the
//! transition is conditional on RUNNING) is left as it ended.

use super::pending::skip_pending;
use super::run_end::{close_run, publish_end, Closed, RunEnd};
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable};
use otto_core::lock::Lease;
use otto_core::{RowStatus, StoreClock, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports};
use serde::Serialize;

/// What one watch did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct StallReport {
    /// RUNNING cycles looked at.
    pub running: usize,
    /// Cycles ended as FAILED (their run refs), each because it stalled.
    pub failed: Vec<String>,
    /// Notices posted to Slack (0 when no webhook is configured).
    pub alerts_posted: usize,
}

/// Why `run` is stalled, or `None` while its own lease is live.
pub fn stall_reason(
    run: &AuditRow,
    lease: Option<&Lease>,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Option<String> {
    let owner = run.cycle_id.to_string();
    let at = |ms: i64| {
        DateTime::<Utc>::from_timestamp_millis(ms)
            .map(|t| {
                format!(
                    "{} {} ({})",
                    clock.day_of(t),
                    clock.local_hhmm(t),
                    clock.tz_name()
                )
            })
            .unwrap_or_else(|| ms.to_string())
    };
    match lease {
        Some(l) if l.owner == owner && l.expires_at_ms > now.timestamp_millis() => None,
        Some(l) if l.owner == owner => Some(format!(
            "STALLED: its store_lock lease lapsed at {} with no stage renewing it; \
             no worker holds the cycle, so it was ended here",
            at(l.expires_at_ms)
        )),
        Some(l) => Some(format!(
            "STALLED: its store_lock is now held by {} (its own lease lapsed); \
             no worker holds the cycle, so it was ended here",
            l.owner
        )),
        None => Some(
            "STALLED: it holds no store_lock (its lease lapsed and was given back); \
             no worker holds the cycle, so it was ended here"
                .to_string(),
        ),
    }
}

/// One watch over the store's RUNNING cycles: ends the stalled ones and alerts.
pub async fn watch(
    ports: &Ports,
    store: &StoreId,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Result<StallReport, HandlerError> {
    let mut report = StallReport::default();
    for run in running(ports, store).await? {
        report.running += 1;
        let lock = run.cycle_id.kind.lock_name(store);
        let lease = ports.locks.current(&lock).await?;
        let Some(why) = stall_reason(&run, lease.as_ref(), clock, now) else {
            continue;
        };
        if end_stalled(ports, &run, lease.as_ref(), &why, now).await? {
            report.failed.push(run.row_ref.to_string());
            skip_stalled(ports, &run, &why, now).await;
            let posted = otto_answers::notify::after_cycle(ports, clock, &run.cycle_id, now).await;
            report.alerts_posted += posted.posted;
        }
    }
    report.alerts_posted += otto_answers::notify::watch(ports, store, clock, now)
        .await
        .posted;
    Ok(report)
}

async fn running(ports: &Ports, store: &StoreId) -> Result<Vec<AuditRow>, HandlerError> {
    let mut out = Vec::new();
    let mut page = PageReq::first(100);
    loop {
        let p = ports
            .audit
            .by_status(
                AuditTable::CycleRuns,
                store,
                RowStatus::Running,
                page.clone(),
            )
            .await?;
        out.extend(p.items);
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// RUNNING → FAILED with `why`; the lapsed lease given back; the event. `false` when the run
/// ended meanwhile.
async fn end_stalled(
    ports: &Ports,
    run: &AuditRow,
    lease: Option<&Lease>,
    why: &str,
    now: DateTime<Utc>,
) -> Result<bool, HandlerError> {
    if close_run(ports, run, RunEnd::failed(why), None, now).await? != Closed::Now {
        return Ok(false);
    }
    tracing::error!(cycle_id = %run.cycle_id, run = %run.row_ref, error = why, "stalled cycle marked FAILED");
    if let Some(l) = lease.filter(|l| l.owner == run.cycle_id.to_string()) {
        ports.locks.release(l).await?;
    }
    publish_end(ports, run, RowStatus::Failed, Some(why)).await;
    Ok(true)
}

/// The stalled cycle's PENDING moves end SKIPPED with why, as a failed cycle's do. The run is
/// FAILED already, so its alert still goes out if this cannot be done now (logged).
async fn skip_stalled(ports: &Ports, run: &AuditRow, why: &str, now: DateTime<Utc>) {
    let why = format!("cycle failed: {why}");
    if let Err(e) = skip_pending(ports, &run.cycle_id, &why, now).await {
        tracing::error!(cycle_id = %run.cycle_id, error = %e, "could not skip the stalled cycle's PENDING moves");
    }
}
