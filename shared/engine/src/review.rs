//! Review, then apply: a dry-run cycle's moves applied later the same store day — one
//! implementation behind `otto cycle apply`, `POST /cycles/{id}/apply` and the dashboard.
//!
//! A dry run writes its moves as DRY_RUN rows carrying their typed move. Applying the cycle moves
//! each DRY_RUN row with a move to PENDING (conditional, with who and when) and hands it to the
//! one executor, which reads the vendor fresh: a row whose world changed since the review is held
//! or refused there, as any move would be. Rows in any other status (applied, held, skipped …)
//! are left as they are, so a second apply changes nothing (and finishes rows an interrupted
//! apply left PENDING).

use crate::executor::{execute, move_of, At, Executors};
use crate::undo::Actor;
use otto_core::audit::{AuditRow, AuditTable, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::{RowStatus, StoreDay, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("I don't have a cycle run for that: {0} has not run")]
    NotFound(CycleId),
    #[error("{cycle} is a cycle of {day}; a dry run is applied the same store day only (today is {today}): run that cycle again with --apply instead")]
    OtherDay {
        cycle: CycleId,
        day: StoreDay,
        today: StoreDay,
    },
    #[error(
        "{0} ran with apply on: its moves were made when it ran, there is no dry run to apply"
    )]
    NotDryRun(CycleId),
    #[error("{0} is {1}: only a COMPLETED dry run is applied")]
    NotFinished(CycleId, RowStatus),
    #[error("{0}")]
    Failed(HandlerError),
}

impl From<StoreError> for ApplyError {
    fn from(e: StoreError) -> Self {
        ApplyError::Failed(e.into())
    }
}
impl From<HandlerError> for ApplyError {
    fn from(e: HandlerError) -> Self {
        ApplyError::Failed(e)
    }
}

/// One row the apply touched, and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct RowOutcome {
    #[serde(rename = "ref")]
    pub row_ref: RowRef,
    pub action: String,
    pub subject: String,
    pub status: RowStatus,
    /// What happened, in words (why it was held or refused).
    pub outcome: String,
}

/// What applying a dry run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub cycle: String,
    pub applied: Vec<RowOutcome>,
    pub held: Vec<RowOutcome>,
    /// Refused or failed: stale (changed since the review), gone, …
    pub refused: Vec<RowOutcome>,
    /// Not made here (no vendor of its kind configured, or another attempt is on it).
    pub waiting: Vec<RowOutcome>,
    /// Rows with a move already past DRY_RUN (applied, held, skipped …): left as they were.
    pub untouched: usize,
}

/// Applies the dry run `cycle` of `store` on `today` (the store day of `now`).
pub async fn apply_cycle(
    ports: &Ports,
    exec: &Executors,
    store: &StoreId,
    cycle: &CycleId,
    actor: &Actor,
    at: At,
) -> Result<ApplyReport, ApplyError> {
    check_cycle(ports, store, cycle, at.today).await?;
    let mut report = ApplyReport {
        cycle: cycle.to_string(),
        ..ApplyReport::default()
    };
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let mut page = PageReq::first(500);
        loop {
            let p = ports.audit.by_cycle(table, cycle, page.clone()).await?;
            for row in p.items.iter().filter(|r| matches!(move_of(r), Ok(Some(_)))) {
                apply_row(ports, exec, row, actor, &at, &mut report).await?;
            }
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(report)
}

/// The cycle may be applied: this store's, today's, a COMPLETED dry run.
async fn check_cycle(
    ports: &Ports,
    store: &StoreId,
    cycle: &CycleId,
    today: StoreDay,
) -> Result<(), ApplyError> {
    if &cycle.store != store {
        return Err(ApplyError::NotFound(cycle.clone()));
    }
    let run = ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle.to_string())
        .await?
        .ok_or_else(|| ApplyError::NotFound(cycle.clone()))?;
    if cycle.day != today {
        return Err(ApplyError::OtherDay {
            cycle: cycle.clone(),
            day: cycle.day,
            today,
        });
    }
    match &run.body {
        RowBody::CycleRun(r) if r.apply => Err(ApplyError::NotDryRun(cycle.clone())),
        _ if run.status != RowStatus::Completed => {
            Err(ApplyError::NotFinished(cycle.clone(), run.status))
        }
        _ => Ok(()),
    }
}

async fn apply_row(
    ports: &Ports,
    exec: &Executors,
    row: &AuditRow,
    actor: &Actor,
    at: &At,
    report: &mut ApplyReport,
) -> Result<(), ApplyError> {
    let run = &at.run();
    match row.status {
        RowStatus::DryRun => {
            let note =
                json!({"by": actor.by, "surface": actor.surface, "at": run.now.to_rfc3339()});
            let body = row.body.clone().with_note("applied_after_review", note);
            match ports
                .audit
                .transition(
                    row.row_ref,
                    RowStatus::DryRun,
                    RowStatus::Pending,
                    Some(body),
                    run.now,
                    None,
                )
                .await
            {
                // Another apply moved it first: its executor call decides, ours answers with it.
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        // Left PENDING by an apply that was interrupted before its executor call.
        RowStatus::Pending => {}
        _ => {
            report.untouched += 1;
            return Ok(());
        }
    }
    let out = execute(ports, exec.via(), row.row_ref, run).await?;
    let line = RowOutcome {
        row_ref: row.row_ref,
        action: row.action_key(),
        subject: row.subject(),
        status: out.row.status,
        outcome: out.describe(&at.clock),
    };
    match out.row.status {
        RowStatus::Applied => report.applied.push(line),
        RowStatus::Held => report.held.push(line),
        RowStatus::Refused | RowStatus::Failed => report.refused.push(line),
        // No vendor of its kind here, or another attempt is applying it.
        _ => report.waiting.push(line),
    }
    Ok(())
}
