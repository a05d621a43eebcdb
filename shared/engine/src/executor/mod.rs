//! The Phase 2 executor: one state machine for every kind of move (product status, price, budget,
//! CS reply), whichever path brings the row — a cycle's stage, an operator's release, the next
//! cycle resolving what a lost one left half-way.
//!
//! ```text
//! PENDING / RELEASED ─ kill switch? ──────────────────────────────▶ HELD
//!        │            vendor state read fresh: already at target? ─▶ SKIPPED (status, price, budget)
//!        │                                     changed by someone? ▶ HELD   (gone? ▶ FAILED)
//!        │            rate limit (counted once per row)? ──────────▶ HELD
//!        ▼
//!    claim: APPLYING owned by one attempt (id + expiry), reversal op stored — conditional write
//!        │            (a second caller loses the claim and answers with the row as it is)
//!        ▼
//!    fence re-checked → vendor call → APPLIED / FAILED, settled only by the owning attempt
//!
//! APPLYING, attempt live ─▶ nobody else touches it
//! APPLYING, attempt expired ─▶ taken over (conditional), resolved by reading the vendor:
//!        already at target ▶ APPLIED; kill switch on ▶ HELD; else the call is made
//! ```
//!
//! A kind of move is a [`driver::Driver`]: how to read the vendor's state and how to make the
//! change. Everything else lives here once.

mod ads;
mod driver;
mod gate;
mod helpdesk;
mod legacy;
mod shop;

pub use gate::{budget_counter, catalog_counter, discount_counter};
pub use legacy::{move_of, target_status};
pub use shop::status_name;

use chrono::{DateTime, Duration, Utc};
use driver::{vendor_err, Driver, Look, Refusal};
use otto_connectors::helpdesk::Helpdesk;
use otto_connectors::{AdsAccount, ShopCatalog};
use otto_core::audit::{AuditRow, AuditTable, ReversalOp, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::lock::Fence;
use otto_core::metrics::OpenWindow;
use otto_core::{Attempt, Move, RowStatus, StoreClock, StoreDay};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde_json::json;
use std::sync::Arc;

/// How long an attempt owns an APPLYING row: longer than any vendor client's request timeout
/// (Google Ads: 120 s), so a live call is never taken over.
pub const ATTEMPT_TTL: Duration = Duration::minutes(5);

/// The vendors moves can be made through; a missing one leaves its rows as they are (RELEASED
/// rows apply when the executor next runs with that vendor configured).
#[derive(Clone, Default)]
pub struct Executors {
    pub shop: Option<Arc<dyn ShopCatalog>>,
    pub ads: Option<Arc<dyn AdsAccount>>,
    pub helpdesk: Option<Arc<dyn Helpdesk>>,
}

impl Executors {
    pub fn via(&self) -> Via<'_> {
        Via {
            shop: self.shop.as_deref(),
            ads: self.ads.as_deref(),
            helpdesk: self.helpdesk.as_deref(),
        }
    }
}

/// The vendors one execution may call, borrowed.
#[derive(Clone, Copy, Default)]
pub struct Via<'a> {
    pub shop: Option<&'a dyn ShopCatalog>,
    pub ads: Option<&'a dyn AdsAccount>,
    pub helpdesk: Option<&'a dyn Helpdesk>,
}

/// Who runs the executor, when: the cycle's fence (None for an operator's release), the instant
/// and the store day (rate limits count the day a move is applied).
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub fence: Option<&'a Fence>,
    pub now: DateTime<Utc>,
    pub today: StoreDay,
    /// Who runs it (see [`Attempt::owner`]): a stage chunk's key, `release`, … ("" for none).
    pub owner: String,
}

/// When an operator's act runs: the instant, its store day (rate limits count the day a move is
/// applied), and the store's clock, for the times in the words people read.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub now: DateTime<Utc>,
    pub today: StoreDay,
    pub clock: StoreClock,
}

impl At {
    /// `now` on the store's clock (today is the store day of `now`).
    pub fn new(now: DateTime<Utc>, clock: StoreClock) -> Self {
        At {
            now,
            today: clock.day_of(now),
            clock,
        }
    }

    /// The executor run of an operator's act: no fence, no owner — a live attempt is answered
    /// with, never taken over.
    pub fn run(&self) -> Run<'static> {
        Run {
            fence: None,
            now: self.now,
            today: self.today,
            owner: String::new(),
        }
    }
}

/// The row after the executor, and what happened to it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub row: AuditRow,
    pub note: Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// This attempt made the vendor call and the vendor took it.
    Applied,
    /// The vendor already had the target state; marked APPLIED without another call.
    Confirmed,
    Held(String),
    /// Refused for good (an undo whose original changed since).
    Refused(String),
    /// Not made: the vendor already shows the move's target, so there is nothing to change.
    Skipped(String),
    Failed(String),
    /// Another attempt owns the row until this instant; nothing was done here.
    InProgress(DateTime<Utc>),
    /// No vendor of this kind is configured here.
    NoVendor(&'static str),
    /// Nothing to do: the row's status stands.
    AsItWas,
}

impl Outcome {
    fn as_it_was(row: AuditRow) -> Self {
        let note = match &row.attempt {
            Some(a) if row.status == RowStatus::Applying => Note::InProgress(a.until),
            _ => Note::AsItWas,
        };
        Outcome { row, note }
    }

    /// For a stage: a row another attempt is still applying means the stage is not done — the
    /// message goes back to the queue (retryable) and its redelivery, after that attempt ends
    /// or expires, settles the row (taking it over if it crashed).
    pub fn settled_for_stage(self) -> Result<Outcome, HandlerError> {
        match self.note {
            Note::InProgress(until) => Err(HandlerError::Retryable(format!(
                "{} is being applied by another attempt (until {}); retry after it",
                self.row.row_ref,
                until.to_rfc3339()
            ))),
            _ => Ok(self),
        }
    }

    /// What happened, in words, for the operator; times on the store's `clock`.
    pub fn describe(&self, clock: &StoreClock) -> String {
        match &self.note {
            Note::Applied => "applied: the vendor took the change".into(),
            Note::Confirmed => {
                "applied: the vendor already showed the change, so nothing was sent again".into()
            }
            Note::Held(why) => format!("not applied, held: {why}"),
            Note::Refused(why) => format!("not applied, refused: {why}"),
            Note::Skipped(why) => format!("not applied, skipped: {why}"),
            Note::Failed(why) => format!("not applied, failed: {why}"),
            Note::InProgress(until) => format!(
                "another attempt is applying it right now (it owns the row until {}); nothing was done twice",
                clock.local_hms_zone(*until)
            ),
            Note::NoVendor(v) => format!(
                "no {v} is configured here, so it is applied when the executor next runs with one"
            ),
            Note::AsItWas => format!("nothing to do: the row is {}", self.row.status),
        }
    }
}

/// Runs one row through the state machine.
pub async fn execute(
    ports: &Ports,
    via: Via<'_>,
    row_ref: RowRef,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    let row = load(ports, row_ref).await?;
    let mv = match move_of(&row) {
        Ok(Some(mv)) => mv,
        Ok(None) => return Ok(Outcome::as_it_was(row)),
        Err(why) => {
            let why = format!("the row's move cannot be read: {why}");
            return end(ports, &row, None, RowStatus::Failed, why, run).await;
        }
    };
    let none = |v| {
        Ok(Outcome {
            row: row.clone(),
            note: Note::NoVendor(v),
        })
    };
    match mv.target() {
        Move::ProductStatus { .. } => match via.shop {
            Some(s) => drive(&shop::ShopStatus(s), ports, row, &mv, run).await,
            None => none("shop"),
        },
        Move::VariantPrice { .. } => match via.shop {
            Some(s) => drive(&shop::ShopPrice(s), ports, row, &mv, run).await,
            None => none("shop"),
        },
        Move::CampaignBudget { .. } => match via.ads {
            Some(a) => drive(&ads::AdsBudget(a), ports, row, &mv, run).await,
            None => none("ad account"),
        },
        Move::CsReply { .. } => match via.helpdesk {
            Some(h) => drive(&helpdesk::HelpdeskReply(h), ports, row, &mv, run).await,
            None => none("helpdesk"),
        },
        // `target` never answers with an undo.
        Move::Revert { .. } => none("vendor for an undo of an undo"),
    }
}

async fn drive<D: Driver>(
    d: &D,
    ports: &Ports,
    row: AuditRow,
    mv: &Move,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    match row.status {
        RowStatus::Pending | RowStatus::Released => fresh(d, ports, row, mv, run).await,
        RowStatus::Applying if row.attempt.as_ref().is_some_and(|a| busy(a, run)) => {
            Ok(Outcome::as_it_was(row))
        }
        RowStatus::Applying => takeover(d, ports, row, mv, run).await,
        // What follows an applied move (a discount's window) may not have happened yet.
        RowStatus::Applied => {
            after_applied(ports, &row, mv, run).await?;
            Ok(Outcome::as_it_was(row))
        }
        _ => Ok(Outcome::as_it_was(row)),
    }
}

/// Another attempt owns the row: live, and not an earlier (dead) attempt of this run's owner.
fn busy(a: &Attempt, run: &Run<'_>) -> bool {
    a.live_at(run.now) && (run.owner.is_empty() || a.owner != run.owner)
}

/// A row no attempt has touched: gate, fresh vendor state, claim, call.
async fn fresh<D: Driver>(
    d: &D,
    ports: &Ports,
    row: AuditRow,
    mv: &Move,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    if let Some(why) = gate::kill_switch(ports, row.store()).await? {
        return end(ports, &row, None, RowStatus::Held, why, run).await;
    }
    let look = match d.look(ports, &row, mv.target()).await {
        Ok(l) => l,
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => return end(ports, &row, None, RowStatus::Failed, e.to_string(), run).await,
    };
    if look.at_target && mv.skips_at_target() {
        let why = match &look.reversal {
            Some(now) => format!("{} is {} already", op_what(now), op_state(now)),
            None => "the vendor already shows it".into(),
        };
        let why = format!("nothing to change: {why} (not counted against any limit)");
        return end(ports, &row, None, RowStatus::Skipped, why, run).await;
    }
    if let Some(r) = refusal(ports, mv, &look).await? {
        return refuse(ports, &row, None, r, run).await;
    }
    if let Some(why) = gate::rate_limit(ports, &row, mv.kind(), run).await? {
        return end(ports, &row, None, RowStatus::Held, why, run).await;
    }
    let attempt = Attempt::new(run.now, ATTEMPT_TTL, &run.owner);
    // The reversal op is the vendor's state now, stored before anything changes.
    let body = row
        .body
        .clone()
        .with_reversal_op(look.reversal.clone())
        .with_hold_reason(None);
    let claim = ports
        .audit
        .claim(
            row.row_ref,
            row.status,
            &attempt,
            Some(body),
            run.now,
            run.fence,
        )
        .await;
    match claim {
        Ok(claimed) => call(d, ports, claimed, mv, look, &attempt, run).await,
        // Another caller claimed it first: its attempt makes the call, not this one.
        Err(StoreError::Conflict(_)) => reread(ports, row.row_ref).await,
        Err(e) => Err(e.into()),
    }
}

/// An APPLYING row whose attempt expired (its process died, or its call failed): taken over,
/// then resolved by reading the vendor — never by applying blindly.
async fn takeover<D: Driver>(
    d: &D,
    ports: &Ports,
    row: AuditRow,
    mv: &Move,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    let attempt = Attempt::new(run.now, ATTEMPT_TTL, &run.owner);
    let row = match ports
        .audit
        .claim(
            row.row_ref,
            RowStatus::Applying,
            &attempt,
            None,
            run.now,
            run.fence,
        )
        .await
    {
        Ok(r) => r,
        Err(StoreError::Conflict(_)) => return reread(ports, row.row_ref).await,
        Err(e) => return Err(e.into()),
    };
    tracing::warn!(row = %row.row_ref, from = %row.cycle_id, "taking over an interrupted move");
    let look = match d.look(ports, &row, mv.target()).await {
        Ok(l) => l,
        Err(e) if e.is_retryable() => return let_go(ports, &row, &attempt, run, e).await,
        Err(e) => {
            let why = e.to_string();
            return end(ports, &row, Some(&attempt), RowStatus::Failed, why, run).await;
        }
    };
    if !look.at_target {
        if let Some(why) = gate::kill_switch(ports, row.store()).await? {
            let why = format!("{why} (a retry of an interrupted move)");
            return end(ports, &row, Some(&attempt), RowStatus::Held, why, run).await;
        }
        if let Some(r) = refusal(ports, mv, &look).await? {
            return refuse(ports, &row, Some(&attempt), r, run).await;
        }
    }
    call(d, ports, row, mv, look, &attempt, run).await
}

/// The vendor call, made by the attempt that owns the row.
async fn call<D: Driver>(
    d: &D,
    ports: &Ports,
    row: AuditRow,
    mv: &Move,
    look: Look<D::Seen>,
    attempt: &Attempt,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    if look.at_target {
        let answer = d.confirmed(&look.seen);
        let body = row.body.clone().with_result(answer);
        return applied(ports, &row, attempt, body, Note::Confirmed, mv, run).await;
    }
    if let Err(e) = still_fenced(ports, run.fence).await {
        return let_go(ports, &row, attempt, run, e).await;
    }
    match d.make(&look.seen, mv.target(), &attempt.id).await {
        Ok(answer) => {
            let body = row.body.clone().with_result(answer);
            applied(ports, &row, attempt, body, Note::Applied, mv, run).await
        }
        // The vendor may or may not have it: the row stays APPLYING, free for a retry to take
        // over at once and resolve by reading the vendor.
        Err(e) if e.is_retryable() => let_go(ports, &row, attempt, run, vendor_err(e)).await,
        Err(e) => {
            let why = e.to_string();
            end(ports, &row, Some(attempt), RowStatus::Failed, why, run).await
        }
    }
}

async fn applied(
    ports: &Ports,
    row: &AuditRow,
    attempt: &Attempt,
    body: RowBody,
    note: Note,
    mv: &Move,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    let r = ports
        .audit
        .settle_attempt(
            row.row_ref,
            &attempt.id,
            RowStatus::Applied,
            Some(body),
            run.now,
            run.fence,
        )
        .await;
    let out = written(ports, row.row_ref, r, note).await?;
    if out.row.status == RowStatus::Applied {
        after_applied(ports, &out.row, mv, run).await?;
    }
    Ok(out)
}

/// Why the move must not be made as it stands: an undo whose original no longer stands first
/// (its words are the operator's), then the driver's own refusal.
async fn refusal<S>(
    ports: &Ports,
    mv: &Move,
    look: &Look<S>,
) -> Result<Option<Refusal>, HandlerError> {
    if let Some(original) = mv.reverts() {
        if let Some(why) = undo_gate(ports, original, look).await? {
            return Ok(Some(Refusal::Refuse(why)));
        }
    }
    Ok(match &look.refusal {
        Some(Refusal::Hold(w)) => Some(Refusal::Hold(w.clone())),
        Some(Refusal::Fail(w)) => Some(Refusal::Fail(w.clone())),
        Some(Refusal::Refuse(w)) => Some(Refusal::Refuse(w.clone())),
        None => None,
    })
}

/// An undo is made only while the original still stands: the original row is APPLIED and the
/// vendor still has what it set (unless the vendor already shows the undo's target).
async fn undo_gate<S>(
    ports: &Ports,
    original: RowRef,
    look: &Look<S>,
) -> Result<Option<String>, HandlerError> {
    if look.at_target {
        return Ok(None);
    }
    let orig = load(ports, original).await?;
    if orig.status != RowStatus::Applied {
        return Ok(Some(format!(
            "{original} is {}, not APPLIED: there is no change of it left to undo",
            orig.status
        )));
    }
    let set = match move_of(&orig) {
        Ok(Some(m)) => m,
        _ => return Ok(Some(format!("{original} has no move to undo"))),
    };
    Ok(match &look.reversal {
        Some(now) if set.is_set_in(now) => None,
        Some(now) => Some(format!(
            "{} is {} now, not what {original} set: changed since; not reverted",
            op_what(now),
            op_state(now)
        )),
        None => Some(format!("the vendor's state of {original} cannot be read")),
    })
}

/// What a reversal op is the state of, in words.
fn op_what(op: &ReversalOp) -> String {
    match op {
        ReversalOp::ProductStatus { product_id, .. } => format!("product {product_id}'s status"),
        ReversalOp::VariantPrice { variant_id, .. } => format!("{variant_id}'s price"),
        ReversalOp::CampaignBudget {
            budget_resource, ..
        } => format!("{budget_resource}'s daily budget"),
    }
}

/// The state a reversal op holds, in words.
fn op_state(op: &ReversalOp) -> String {
    match op {
        ReversalOp::ProductStatus { status, .. } => status.clone(),
        ReversalOp::VariantPrice {
            price,
            compare_at_price,
            ..
        } => match compare_at_price {
            Some(c) => format!("{price} (compare-at {c})"),
            None => price.to_string(),
        },
        ReversalOp::CampaignBudget { amount, .. } => amount.to_string(),
    }
}

async fn refuse(
    ports: &Ports,
    row: &AuditRow,
    owner: Option<&Attempt>,
    r: Refusal,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    match r {
        Refusal::Hold(why) => end(ports, row, owner, RowStatus::Held, why, run).await,
        Refusal::Fail(why) => end(ports, row, owner, RowStatus::Failed, why, run).await,
        // An APPLYING row cannot become REFUSED: a taken-over undo is held for the operator.
        Refusal::Refuse(why) if owner.is_some() => {
            end(ports, row, owner, RowStatus::Held, why, run).await
        }
        Refusal::Refuse(why) => end(ports, row, owner, RowStatus::Refused, why, run).await,
    }
}

/// Ends the row HELD or FAILED with why: as the owner of its attempt, or — not claimed yet —
/// conditional on the status it was read in.
async fn end(
    ports: &Ports,
    row: &AuditRow,
    owner: Option<&Attempt>,
    to: RowStatus,
    why: String,
    run: &Run<'_>,
) -> Result<Outcome, HandlerError> {
    let (body, note) = match to {
        RowStatus::Held => (
            row.body.clone().with_hold_reason(Some(why.clone())),
            Note::Held(why),
        ),
        RowStatus::Refused => (
            row.body.clone().with_hold_reason(Some(why.clone())),
            Note::Refused(why),
        ),
        RowStatus::Skipped => (
            row.body.clone().with_result(json!({ "skipped": why })),
            Note::Skipped(why),
        ),
        _ => {
            tracing::error!(row = %row.row_ref, error = %why, "move failed permanently; row marked FAILED");
            (
                row.body.clone().with_result(json!({ "error": why })),
                Note::Failed(why),
            )
        }
    };
    if owner.is_none() && !row.status.can_become(to) {
        return Ok(Outcome::as_it_was(row.clone()));
    }
    let r = match owner {
        Some(a) => {
            ports
                .audit
                .settle_attempt(row.row_ref, &a.id, to, Some(body), run.now, run.fence)
                .await
        }
        None => {
            ports
                .audit
                .transition(row.row_ref, row.status, to, Some(body), run.now, run.fence)
                .await
        }
    };
    written(ports, row.row_ref, r, note).await
}

/// Gives the row up after a retryable failure (the attempt ends now) and passes the error on.
async fn let_go(
    ports: &Ports,
    row: &AuditRow,
    attempt: &Attempt,
    run: &Run<'_>,
    e: HandlerError,
) -> Result<Outcome, HandlerError> {
    let r = ports
        .audit
        .settle_attempt(
            row.row_ref,
            &attempt.id,
            RowStatus::Applying,
            None,
            run.now,
            run.fence,
        )
        .await;
    match r {
        Ok(_) | Err(StoreError::Conflict(_)) => Err(e),
        Err(store) => {
            tracing::warn!(row = %row.row_ref, error = %store, "could not let go of the attempt; it lapses at its expiry");
            Err(e)
        }
    }
}

/// The row as written, or — when another writer moved it first — the row as it is now.
async fn written(
    ports: &Ports,
    row_ref: RowRef,
    r: Result<AuditRow, StoreError>,
    note: Note,
) -> Result<Outcome, HandlerError> {
    match r {
        Ok(row) => Ok(Outcome { row, note }),
        Err(StoreError::Conflict(_)) => reread(ports, row_ref).await,
        Err(e) => Err(e.into()),
    }
}

async fn reread(ports: &Ports, row_ref: RowRef) -> Result<Outcome, HandlerError> {
    Ok(Outcome::as_it_was(load(ports, row_ref).await?))
}

async fn load(ports: &Ports, row_ref: RowRef) -> Result<AuditRow, HandlerError> {
    ports
        .audit
        .get(row_ref)
        .await?
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} does not exist")))
}

/// The vendor call is the one step no store write fences, so the lock is read again right before
/// it: a process that stalled past its lease (and whose cycle was taken over) stops here instead
/// of repeating a move the new holder already made.
async fn still_fenced(ports: &Ports, fence: Option<&Fence>) -> Result<(), HandlerError> {
    let Some(f) = fence else {
        return Ok(());
    };
    match ports.locks.current(&f.lock).await? {
        Some(l) if l.version == f.version => Ok(()),
        _ => Err(HandlerError::Retryable(format!(
            "fenced: {} was taken over before the vendor call; the move is left to its holder",
            f.lock
        ))),
    }
}

/// What follows an applied price move, whichever path applied it (stage, release, takeover),
/// idempotent: an ON_DISCOUNT opens its window; a PRICE_RESTORE marks the discount REVERTED and
/// closes its window.
async fn after_applied(
    ports: &Ports,
    row: &AuditRow,
    mv: &Move,
    run: &Run<'_>,
) -> Result<(), HandlerError> {
    if let Some(original) = mv.reverts() {
        mark_reverted(ports, original, run).await?;
    }
    let (Move::VariantPrice { sku, restores, .. }, RowBody::Decision(d)) = (mv.target(), &row.body)
    else {
        return Ok(());
    };
    let Some(w) = &d.window else { return Ok(()) };
    let opened = restores.unwrap_or(row.row_ref);
    let window = OpenWindow {
        sku: sku.clone(),
        ends_on: w.ends_on,
        row_ref: opened.to_string(),
    };
    if restores.is_none() {
        ports.catalog.open_window(row.store(), &window).await?;
        return Ok(());
    }
    mark_reverted(ports, opened, run).await?;
    ports.catalog.close_window(row.store(), &window).await?;
    Ok(())
}

/// APPLIED → REVERTED, once (a repeat finds it REVERTED already).
async fn mark_reverted(ports: &Ports, row_ref: RowRef, run: &Run<'_>) -> Result<(), HandlerError> {
    let reverted = ports
        .audit
        .transition(
            row_ref,
            RowStatus::Applied,
            RowStatus::Reverted,
            None,
            run.now,
            run.fence,
        )
        .await;
    match reverted {
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Moves left APPLYING by a cycle that can no longer finish them (it stalled past its lease and
/// the next cycle took the store_lock). The next cycle that holds the lock resolves them first:
/// each whose attempt expired is taken over and resolved by reading the vendor, so no move stays
/// half-way. Returns the refs resolved.
pub async fn resolve_stranded(
    ports: &Ports,
    via: Via<'_>,
    cycle: &CycleId,
    run: &Run<'_>,
) -> Result<Vec<RowRef>, HandlerError> {
    let mut resolved = Vec::new();
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let rows = ports
            .audit
            .by_status(
                table,
                &cycle.store,
                RowStatus::Applying,
                PageReq::first(200),
            )
            .await?
            .items;
        for row in rows.into_iter().filter(|r| &r.cycle_id != cycle) {
            let out = execute(ports, via, row.row_ref, run).await?;
            if !matches!(out.note, Note::InProgress(_) | Note::NoVendor(_)) {
                resolved.push(row.row_ref);
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applying_row() -> AuditRow {
        AuditRow::from_json(&json!({
            "ref": "ad_decision_log#7",
            "ulid": "01JDQ6Z7B2C3D4E5F6G7H8J9KA",
            "cycle_id": "brevard:morning:2026-12-02",
            "natural_key": "k",
            "status": "APPLYING",
            "created_at": "2026-12-02T05:00:00Z",
            "body": {"channel": "google_ads", "campaign": "EU/Linen/Throws", "campaign_id": "1001",
                     "action": "ADJUST_BUDGET", "verdict": "AGREE", "reasoning": "r"}
        }))
        .expect("row")
    }

    #[test]
    fn a_live_attempt_is_told_in_store_local_time_with_its_zone() {
        let until: DateTime<Utc> = "2026-12-02T13:05:30Z".parse().unwrap();
        let out = Outcome {
            row: applying_row(),
            note: Note::InProgress(until),
        };
        let amsterdam = StoreClock::new("Europe/Amsterdam").unwrap();
        let text = out.describe(&amsterdam);
        assert!(text.contains("until 14:05:30 CET"), "{text}");
        assert!(!text.contains("UTC") && !text.contains("13:05"), "{text}");
        // Summer time and another zone: the zone's own abbreviation.
        let july = Outcome {
            note: Note::InProgress("2026-07-01T04:00:00Z".parse().unwrap()),
            ..out.clone()
        };
        assert!(july.describe(&amsterdam).contains("until 06:00:00 CEST"));
        let ny = StoreClock::new("America/New_York").unwrap();
        assert!(out.describe(&ny).contains("until 08:05:30 EST"));
    }
}
