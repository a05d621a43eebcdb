//! Held rows and their release — one implementation behind `otto holds release`, `POST
//! /holds/{ref}/release`, the Slack Release button and the dashboard.
//!
//! Releasing is HELD → RELEASED (conditional, so two operators clicking at once release once),
//! then the executor that owns the row applies it, re-checking policy (kill switch, rate limits,
//! margin gates): a catalog move or price through the shop, a budget through the ad account, a
//! CS reply through the helpdesk. A release of a row already released or applied is not an
//! error: it answers with the row as it is (and finishes a release interrupted before it applied).

use crate::executor::{execute, At, Note};
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable, RowRef};
use otto_core::cycle::CycleId;
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
    #[error("{0} is {1}, not HELD: there is nothing to release{note}", note = expired_note(*.1))]
    NotHeld(RowRef, RowStatus),
    #[error("{0} rows are never held")]
    NotReleasable(AuditTable),
    #[error("{0}")]
    Failed(HandlerError),
}

fn expired_note(s: RowStatus) -> &'static str {
    match s {
        RowStatus::Expired => {
            " (it expired when the next cycle of its kind decided afresh; see that cycle's row)"
        }
        _ => "",
    }
}

/// Why a row is held, as its body says.
fn hold_reason(body: &otto_core::audit::RowBody) -> Option<&str> {
    use otto_core::audit::RowBody;
    match body {
        RowBody::Decision(r) => r.hold_reason.as_deref(),
        RowBody::AdDecision(r) => r.hold_reason.as_deref(),
        RowBody::CsEvaluation(r) => r.hold_reason.as_deref(),
        _ => None,
    }
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

/// Held moves of earlier cycles of `cycle`'s kind expire when `cycle` runs (older than the
/// policy's `held_expire_after_days`): HELD → EXPIRED with the reason, since this cycle decides
/// afresh from today's state. A row released meanwhile is left alone. Returns the refs expired.
pub async fn expire_held(
    ports: &Ports,
    cycle: &CycleId,
    now: DateTime<Utc>,
) -> Result<Vec<RowRef>, HandlerError> {
    let policy = otto_store::settings::policy(ports.settings.as_ref(), &cycle.store).await?;
    let keep_days = i64::from(policy.held_expire_after_days);
    let mut expired = Vec::new();
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let mut page = PageReq::first(500);
        loop {
            let p = ports
                .audit
                .by_status(table, &cycle.store, RowStatus::Held, page.clone())
                .await?;
            for r in p.items.iter().filter(|r| {
                r.cycle_id.kind == cycle.kind
                    && r.cycle_id != *cycle
                    && cycle.day.days_since(r.day()) > keep_days
            }) {
                if expire_one(ports, r, cycle, now).await? {
                    expired.push(r.row_ref);
                }
            }
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(expired)
}

async fn expire_one(
    ports: &Ports,
    r: &AuditRow,
    cycle: &CycleId,
    now: DateTime<Utc>,
) -> Result<bool, HandlerError> {
    let was = hold_reason(&r.body).unwrap_or("it was held").to_string();
    let why = format!(
        "expired: nobody released it before the next {} cycle ({cycle}) decided afresh from that day's state (the hold: {was})",
        cycle.kind
    );
    let body = r.body.clone().with_hold_reason(Some(why));
    match ports
        .audit
        .transition(
            r.row_ref,
            RowStatus::Held,
            RowStatus::Expired,
            Some(body),
            now,
            None,
        )
        .await
    {
        Ok(_) => Ok(true),
        // Released (or expired) by someone else between the read and the write.
        Err(StoreError::Conflict(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Releases one held row of `store` and lets its executor apply it. `today` is the store day of
/// `now` (rate limits count the day a move is applied).
pub async fn release(
    ports: &Ports,
    exec: &Executors,
    store: &StoreId,
    row_ref: RowRef,
    by: &str,
    at: At,
) -> Result<Released, ReleaseError> {
    let now = at.now;
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
    let out = execute(ports, exec.via(), row_ref, &at.run()).await?;
    let outcome = match (&out.note, released_now) {
        (Note::AsItWas, false) => format!("already {}", out.row.status),
        (Note::Held(why), _) => {
            format!("nothing was done: re-checked against today's state and held again — {why}")
        }
        _ => out.describe(&at.clock),
    };
    Ok(Released {
        row: out.row,
        released_now,
        outcome,
    })
}

/// How one row of a bulk release ended.
#[derive(Debug)]
pub enum BulkResult {
    /// Through [`release`]: released now or already, and what the executor did.
    Done(Box<Released>),
    /// [`release`] refused or failed for this row (the others go on).
    Refused(ReleaseError),
    /// Not tried: the batch's time ran out before this row (release again for the rest).
    NotTried,
}

/// One line of a bulk release: a row and how it ended.
#[derive(Debug)]
pub struct BulkLine {
    pub row_ref: RowRef,
    pub result: BulkResult,
}

/// Releases each of `refs` (in order, each once) through [`release`] — the same path as a
/// single release, so a row raced by another caller is written to its vendor once — until
/// `budget` is spent: a caller behind a gateway timeout answers in time, the rows left over
/// are reported [`BulkResult::NotTried`]. One row's failure never stops the others.
#[allow(clippy::too_many_arguments)]
pub async fn release_many(
    ports: &Ports,
    exec: &Executors,
    store: &StoreId,
    refs: &[RowRef],
    by: &str,
    at: At,
    budget: std::time::Duration,
) -> Vec<BulkLine> {
    let started = std::time::Instant::now();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(refs.len());
    for r in refs.iter().copied().filter(|r| seen.insert(*r)) {
        let result = if started.elapsed() >= budget {
            BulkResult::NotTried
        } else {
            match release(ports, exec, store, r, by, at).await {
                Ok(rel) => BulkResult::Done(Box::new(rel)),
                Err(e) => BulkResult::Refused(e),
            }
        };
        out.push(BulkLine { row_ref: r, result });
    }
    out
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

/// What releasing a held CS reply would send, read from the helpdesk now (the executor sends
/// only the judged draft version: [`crate::executor`]'s helpdesk driver).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReplyPreview {
    /// The judged version is still the thread's draft: exactly this goes out.
    Draft {
        version: String,
        author: String,
        body: String,
    },
    /// The thread is closed or its draft changed since it was judged: a release sends nothing.
    Changed { thread_id: String },
    /// The draft could not be read here (no helpdesk configured, or it failed).
    Unavailable { why: String },
}

/// The reply a row's `cs_reply` move would send; `None` for any other row.
pub async fn reply_preview(
    helpdesk: Option<&dyn otto_connectors::helpdesk::Helpdesk>,
    row: &AuditRow,
) -> Option<ReplyPreview> {
    reply_previews(helpdesk, std::slice::from_ref(row))
        .await
        .pop()
        .flatten()
}

/// [`reply_preview`] for each row, reading the helpdesk's open threads once.
pub async fn reply_previews(
    helpdesk: Option<&dyn otto_connectors::helpdesk::Helpdesk>,
    rows: &[AuditRow],
) -> Vec<Option<ReplyPreview>> {
    let replies: Vec<Option<(&String, &String)>> = rows
        .iter()
        .map(|r| match r.body.planned_move() {
            Some(otto_core::Move::CsReply {
                thread_id,
                draft_version,
            }) => Some((thread_id, draft_version)),
            _ => None,
        })
        .collect();
    if replies.iter().all(Option::is_none) {
        return replies.iter().map(|_| None).collect();
    }
    let threads = match helpdesk.map(|h| h.open_threads()) {
        None => Err("no helpdesk is configured here (OTTO_HELPDESK)".to_string()),
        Some(read) => read.await.map_err(|e| e.to_string()),
    };
    replies
        .into_iter()
        .map(|r| {
            let (thread_id, version) = r?;
            let threads = match &threads {
                Ok(t) => t,
                Err(why) => return Some(ReplyPreview::Unavailable { why: why.clone() }),
            };
            let draft = threads
                .iter()
                .find(|t| &t.id == thread_id)
                .and_then(|t| t.draft.as_ref())
                .filter(|d| &d.version == version);
            Some(match draft {
                Some(d) => ReplyPreview::Draft {
                    version: d.version.clone(),
                    author: d.author.clone(),
                    body: d.body.clone(),
                },
                None => ReplyPreview::Changed {
                    thread_id: thread_id.clone(),
                },
            })
        })
        .collect()
}
