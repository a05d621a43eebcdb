//! The rules of executor attempts, shared by every adapter: which claims and settlements a row in
//! a given state accepts. The adapters make each check and its write one atomic step.

use crate::error::StoreError;
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, RowBody, RowRef};
use otto_core::{Attempt, RowStatus};

/// Refuses transitions that belong to an attempt, and those [`RowStatus::can_become`] forbids.
pub fn check_transition(row_ref: RowRef, from: RowStatus, to: RowStatus) -> Result<(), StoreError> {
    if from == RowStatus::Applying || to == RowStatus::Applying {
        return Err(StoreError::Invalid(format!(
            "{row_ref}: {from} → {to} goes through an executor attempt (claim / settle_attempt)"
        )));
    }
    if !from.can_become(to) {
        return Err(StoreError::Invalid(format!(
            "{row_ref}: {from} cannot become {to}"
        )));
    }
    Ok(())
}

pub fn check_body(row_ref: RowRef, body: Option<&RowBody>) -> Result<(), StoreError> {
    match body {
        Some(b) if b.table() != row_ref.table => Err(StoreError::Invalid(format!(
            "{row_ref}: body is a {} row",
            b.table()
        ))),
        _ => Ok(()),
    }
}

/// May `current` be claimed from `from` at `now`?
pub fn check_claim(
    current: &AuditRow,
    from: RowStatus,
    attempt: &Attempt,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let r = current.row_ref;
    attempt
        .validate()
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    if !matches!(
        from,
        RowStatus::Pending | RowStatus::Released | RowStatus::Applying | RowStatus::Failed
    ) {
        return Err(StoreError::Invalid(format!(
            "{r}: a {from} row cannot be claimed"
        )));
    }
    if current.status != from {
        return Err(StoreError::Conflict(format!(
            "{r} is {}, not {from}",
            current.status
        )));
    }
    if from == RowStatus::Applying {
        let live = current
            .attempt
            .as_ref()
            .filter(|a| a.live_at(now) && !attempt.succeeds(a));
        if let Some(owner) = live {
            return Err(StoreError::Conflict(format!(
                "{r} is being applied by attempt {} until {}",
                owner.id,
                owner.until.to_rfc3339()
            )));
        }
    }
    Ok(())
}

/// May the attempt `attempt_id` settle `current` into `to`?
pub fn check_settle(current: &AuditRow, attempt_id: &str, to: RowStatus) -> Result<(), StoreError> {
    let r = current.row_ref;
    if to != RowStatus::Applying && !RowStatus::Applying.can_become(to) {
        return Err(StoreError::Invalid(format!(
            "{r}: APPLYING cannot become {to}"
        )));
    }
    if current.status != RowStatus::Applying {
        return Err(StoreError::Conflict(format!(
            "{r} is {}, not APPLYING",
            current.status
        )));
    }
    match &current.attempt {
        Some(a) if a.id == attempt_id => Ok(()),
        Some(a) => Err(StoreError::Conflict(format!(
            "{r} is owned by attempt {}, not {attempt_id}",
            a.id
        ))),
        None => Err(StoreError::Conflict(format!("{r} has no owning attempt"))),
    }
}

/// The row after a claim.
pub fn claimed(
    current: AuditRow,
    attempt: &Attempt,
    body: Option<RowBody>,
    now: DateTime<Utc>,
) -> AuditRow {
    AuditRow {
        status: RowStatus::Applying,
        updated_at: now,
        body: body.unwrap_or(current.body.clone()),
        attempt: Some(attempt.clone()),
        ..current
    }
}

/// The row after a settlement.
pub fn settled(
    current: AuditRow,
    to: RowStatus,
    body: Option<RowBody>,
    at: DateTime<Utc>,
) -> AuditRow {
    let attempt = current.attempt.clone().map(|a| match to {
        // Letting go: the attempt ends now, so anyone may take the row over.
        RowStatus::Applying => Attempt { until: at, ..a },
        _ => a,
    });
    AuditRow {
        status: to,
        updated_at: at,
        body: body.unwrap_or(current.body.clone()),
        attempt,
        ..current
    }
}
