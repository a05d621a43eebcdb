//! Undo of an applied move — one implementation behind `otto rows revert`, `POST
//! /rows/{table}/{id}/revert`, the dashboard's Undo button and Slack's.
//!
//! An undo is its own audit row, in the table of the row it undoes (action REVERT, natural key
//! `revert|<ref>`), whose typed move is [`Move::Revert`]: the original's stored reversal op as a
//! move that expects what the original set. The one executor makes it like any move (kill
//! switch, rate limits, attempts); it is REFUSED when the original no longer stands (the vendor
//! shows something else than what it set), and once APPLIED the original becomes REVERTED. A
//! second undo of the same row answers with the first undo row (and finishes it if it was
//! interrupted).

use crate::executor::{execute, move_of, At, Executors, Note};
use chrono::{DateTime, Utc};
use otto_core::audit::{
    AdDecisionRow, AuditRow, AuditTable, DecisionRow, NewRow, RowBody, RowRef, Surface,
};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::{Action, Move, MoveKind, RowStatus, StoreDay, StoreId};
use otto_runtime::HandlerError;
use otto_store::{Ports, StoreError};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// Who acts, and from where (the authenticated identity, never a name the client sent).
#[derive(Debug, Clone)]
pub struct Actor {
    pub by: String,
    pub surface: Surface,
}

#[derive(Debug, thiserror::Error)]
pub enum RevertError {
    #[error("I don't have a row for that: {0} does not exist")]
    NotFound(RowRef),
    #[error("{0} cannot be undone: {1}")]
    NotRevertible(RowRef, String),
    #[error("{0}")]
    Failed(HandlerError),
}

impl From<StoreError> for RevertError {
    fn from(e: StoreError) -> Self {
        RevertError::Failed(e.into())
    }
}
impl From<HandlerError> for RevertError {
    fn from(e: HandlerError) -> Self {
        RevertError::Failed(e)
    }
}

/// The undo row after the executor, and what happened.
#[derive(Debug, Clone, Serialize)]
pub struct Reverted {
    /// The undo row (action REVERT).
    #[serde(serialize_with = "row_json")]
    pub row: AuditRow,
    /// The row it undoes.
    pub reverts: RowRef,
    /// False when an undo of that row already existed (a repeated click): this is that row.
    pub reverted_now: bool,
    /// What happened, in words.
    pub outcome: String,
}

fn row_json<S: serde::Serializer>(r: &AuditRow, s: S) -> Result<S::Ok, S::Error> {
    r.to_json().serialize(s)
}

/// The natural key of the undo of `original` (one per original row).
pub fn revert_key(original: RowRef) -> String {
    format!("revert|{original}")
}

/// Undoes the APPLIED row `original` of `store` through the one executor. `today` is the store
/// day of `now` (the undo counts against that day's rate limits).
pub async fn revert(
    ports: &Ports,
    exec: &Executors,
    store: &StoreId,
    original: RowRef,
    actor: &Actor,
    at: At,
) -> Result<Reverted, RevertError> {
    let (now, today) = (at.now, at.today);
    if !matches!(
        original.table,
        AuditTable::DecisionLog | AuditTable::AdDecisionLog
    ) {
        let why = format!("{} rows change nothing at a vendor", original.table);
        return Err(RevertError::NotRevertible(original, why));
    }
    let row = ports
        .audit
        .get(original)
        .await?
        .filter(|r| r.store() == store)
        .ok_or(RevertError::NotFound(original))?;
    let existing = ports
        .audit
        .get_by_natural_key(original.table, &revert_key(original))
        .await?;
    let (undo_ref, reverted_now) = match existing {
        Some(u) => (u.row_ref, false),
        None => {
            let new = undo_row(&row, actor, now, today)
                .map_err(|why| RevertError::NotRevertible(original, why))?;
            let a = ports.audit.append(vec![new], None).await?;
            (a[0].row_ref, a[0].inserted)
        }
    };
    // Like a release: no owner, so a live attempt is answered with, never taken over.
    let out = execute(ports, exec.via(), undo_ref, &at.run()).await?;
    let outcome = match (&out.note, reverted_now) {
        (Note::AsItWas, false) => format!(
            "an undo of {original} was asked before ({}): it is {}",
            out.row.row_ref, out.row.status
        ),
        _ => out.describe(&at.clock),
    };
    Ok(Reverted {
        row: out.row,
        reverts: original,
        reverted_now,
        outcome,
    })
}

/// The undo row of `row`, PENDING, or why there can be none.
pub fn undo_row(
    row: &AuditRow,
    actor: &Actor,
    now: DateTime<Utc>,
    today: StoreDay,
) -> Result<NewRow, String> {
    match row.status {
        RowStatus::Applied => {}
        RowStatus::Reverted => {
            return Err("it is REVERTED already (its discount window was restored)".into())
        }
        s => {
            return Err(format!(
                "it is {s}, not APPLIED: nothing was changed, so there is nothing to undo"
            ))
        }
    }
    let mv = move_of(row)?.ok_or("it moves nothing")?;
    if mv.kind() == MoveKind::PriceRestore {
        return Err("a PRICE_RESTORE ends a discount window; undoing it would leave the discount on with no end — open a new test instead".into());
    }
    let op = reversal_op(&row.body).ok_or("no reversal op was stored before it was applied")?;
    let undo = mv
        .undo_of(row.row_ref, op, has_window(&row.body))
        .map_err(|e| e.to_string())?;
    let reasoning = format!(
        "undo of {} asked by {} from the {}: replaying its stored reversal op",
        row.row_ref,
        actor.by,
        surface_name(actor.surface)
    );
    let figures = BTreeMap::from([
        ("reverts".to_string(), json!(row.row_ref.to_string())),
        (
            "asked".to_string(),
            json!({"by": actor.by, "surface": actor.surface, "at": now.to_rfc3339()}),
        ),
    ]);
    Ok(NewRow {
        cycle_id: CycleId::new(row.store().clone(), CycleKind::Operator, today),
        natural_key: revert_key(row.row_ref),
        status: RowStatus::Pending,
        created_at: now,
        body: undo_body(&row.body, undo, reasoning, figures)?,
    })
}

fn undo_body(
    original: &RowBody,
    undo: Move,
    reasoning: String,
    figures: BTreeMap<String, serde_json::Value>,
) -> Result<RowBody, String> {
    Ok(match original {
        RowBody::Decision(d) => RowBody::Decision(DecisionRow {
            sku: d.sku.clone(),
            action: Action::Revert,
            trigger: Some(d.action),
            classification: None,
            reasoning,
            figures,
            window: d.window.clone(),
            r#move: Some(undo),
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
        RowBody::AdDecision(a) => RowBody::AdDecision(AdDecisionRow {
            channel: a.channel.clone(),
            campaign: a.campaign.clone(),
            campaign_id: a.campaign_id.clone(),
            action: Action::Revert,
            verdict: "OPERATOR".into(),
            reasoning,
            figures,
            budget_before: a.budget_after,
            budget_after: a.budget_before,
            r#move: Some(undo),
            rate_limit_position: None,
            watch: None,
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
        _ => return Err("it changes nothing at a vendor".into()),
    })
}

fn reversal_op(body: &RowBody) -> Option<&otto_core::audit::ReversalOp> {
    match body {
        RowBody::Decision(d) => d.reversal_op.as_ref(),
        RowBody::AdDecision(a) => a.reversal_op.as_ref(),
        _ => None,
    }
}

fn has_window(body: &RowBody) -> bool {
    matches!(body, RowBody::Decision(d) if d.window.is_some())
}

fn surface_name(s: Surface) -> &'static str {
    match s {
        Surface::Cli => "CLI",
        Surface::Api => "API",
        Surface::Dashboard => "dashboard",
        Surface::Slack => "Slack",
    }
}
