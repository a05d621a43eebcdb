//! Held rows and their release — one implementation behind `otto holds release`, `POST
//! /holds/{ref}/release`, the Slack Release button and the dashboard.
//!
//! Releasing is HELD → RELEASED (conditional, so two operators clicking at once release once),
//! then the executor that owns the row applies it, re-checking policy (kill switch, rate limits,
//! margin gates): a catalog move or price through the shop, a budget through the ad account, a
//! CS reply through the helpdesk. A release of a row already released or applied is not an
//! error: it answers with the row as it is (and finishes a release interrupted before it applied).

use crate::executor::{execute, Note, Run};
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable, RowRef};
use otto_core::{RowStatus, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

/// The executors a release can drive (the one executor's vendors).
pub use crate::executor::Executors;

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("I don't have a row for that: {0} does not exist")]
    NotFound(RowRef),
    #[error("{0} is {1}, not HELD: there is nothing to release")]
    NotHeld(RowRef, RowStatus),
    #[error("{0} rows are never held")]
    NotReleasable(AuditTable),
    #[error("{0}")]
    Failed(HandlerError),
}

impl From<StoreError> for ReleaseError {
    fn from(e: StoreError) -> Self {
        ReleaseError::Failed(e.into())
    }
}
impl From<HandlerError> for ReleaseError {
    fn from(e: HandlerError) -> Self {
        ReleaseError::Failed(e)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Released {
    /// The row after the release (and the executor's attempt).
    #[serde(serialize_with = "row_json")]
    pub row: AuditRow,
    /// False when the row had already been released by someone else (a repeated click).
    pub released_now: bool,
    /// What happened after the release, in words.
    pub outcome: String,
}

fn row_json<S: serde::Serializer>(r: &AuditRow, s: S) -> Result<S::Ok, S::Error> {
    r.to_json().serialize(s)
}

/// Held rows of a store, across the tables that hold rows, oldest first per table.
pub async fn held(ports: &Ports, store: &StoreId, max: usize) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    for table in [
        AuditTable::DecisionLog,
        AuditTable::AdDecisionLog,
        AuditTable::CsThreadEvaluations,
    ] {
        let mut page = PageReq::first(max.min(500));
        loop {
            let p = ports
                .audit
                .by_status(table, store, RowStatus::Held, page.clone())
                .await?;
            out.extend(p.items);
            match p.next {
                Some(c) if out.len() < max => page.cursor = Some(c),
                _ => break,
            }
        }
    }
    out.truncate(max);
    Ok(out)
}

/// Releases one held row of `store` and lets its executor apply it. `today` is the store day of
/// `now` (rate limits count the day a move is applied).
pub async fn release(
    ports: &Ports,
    exec: &Executors,
    store: &StoreId,
    row_ref: RowRef,
    by: &str,
    now: DateTime<Utc>,
    today: otto_core::StoreDay,
) -> Result<Released, ReleaseError> {
    if !matches!(
        row_ref.table,
        AuditTable::DecisionLog | AuditTable::AdDecisionLog | AuditTable::CsThreadEvaluations
    ) {
        return Err(ReleaseError::NotReleasable(row_ref.table));
    }
    let row = ports
        .audit
        .get(row_ref)
        .await?
        .filter(|r| r.store() == store)
        .ok_or(ReleaseError::NotFound(row_ref))?;
    let released_now = match row.status {
        RowStatus::Held => {
            let note = json!({"by": by, "at": now.to_rfc3339()});
            let body = row.body.clone().with_note("released", note);
            match ports
                .audit
                .transition(
                    row_ref,
                    RowStatus::Held,
                    RowStatus::Released,
                    Some(body),
                    now,
                    None,
                )
                .await
            {
                Ok(_) => true,
                // Someone released it between our read and our write: answer as a repeat.
                Err(StoreError::Conflict(_)) => false,
                Err(e) => return Err(e.into()),
            }
        }
        RowStatus::Released | RowStatus::Applying | RowStatus::Applied => false,
        other => return Err(ReleaseError::NotHeld(row_ref, other)),
    };
    // Every caller runs the one executor: exactly one attempt can own the row, the others
    // answer with the row as it is (and a repeat finishes a release interrupted before it
    // applied).
    // Releases have no owner: a release never takes over a live attempt, it answers with it.
    let run = Run {
        fence: None,
        now,
        today,
        owner: String::new(),
    };
    let out = execute(ports, exec.via(), row_ref, &run).await?;
    let outcome = match (&out.note, released_now) {
        (Note::AsItWas, false) => format!("already {}", out.row.status),
        _ => out.describe(),
    };
    Ok(Released {
        row: out.row,
        released_now,
        outcome,
    })
}

/// The executors configured in the environment (the same variables the stage workers read):
/// Shopify + Google Ads (or the simulated vendor), and the helpdesk (`OTTO_HELPDESK`).
pub fn executors_from_lookup(
    get: impl Fn(&str) -> Option<String>,
    clock: otto_core::StoreClock,
) -> Result<Executors, String> {
    let mut exec = Executors::default();
    if let Some((shop, ads)) = otto_connectors::env::vendors_from_lookup(&get, clock)? {
        exec.shop = Some(shop);
        exec.ads = Some(ads);
    }
    exec.helpdesk = otto_connectors::env::helpdesk_from_lookup(&get)?.map(Arc::from);
    Ok(exec)
}
