//! The Phase 2 executor, per row: kill switch (→ HELD) → rate limit (conditional counter, the
//! row's ref as token, so a retry never counts twice) → reversal op (the vendor's current state,
//! read fresh) written *before* the vendor call → vendor mutation → APPLIED.
//!
//! A crash between steps is resolved on retry by reading the vendor's current state: a row found
//! APPLYING whose target state the vendor already has is marked APPLIED without calling again.

use chrono::{DateTime, Utc};
use otto_connectors::{AdsAccount, ShopCatalog, VendorError};
use otto_core::audit::{AdDecisionRow, AuditRow, DecisionRow, ReversalOp, RowBody, RowRef};
use otto_core::lock::Fence;
use otto_core::metrics::ProductStatus;
use otto_core::{Action, RowStatus, StoreId};
use otto_runtime::HandlerError;
use otto_store::{CounterAdd, Ports, StoreError};
use serde_json::json;

fn vendor_err(e: VendorError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

/// The product status a catalog action sets, if it mutates the catalog.
pub fn target_status(action: Action) -> Option<ProductStatus> {
    match action {
        Action::Draft => Some(ProductStatus::Draft),
        Action::Publish | Action::ReviveSeasonal => Some(ProductStatus::Active),
        _ => None,
    }
}

/// Name of the weekly budget-change counter (`rate#<store>#budget_changes#2026-W48`).
pub fn budget_counter(store: &StoreId, week: &str) -> String {
    format!("rate#{store}#budget_changes#{week}")
}

/// Name of the daily catalog-move counter.
pub fn catalog_counter(store: &StoreId, day: &str) -> String {
    format!("rate#{store}#catalog_moves#{day}")
}

async fn hold(
    ports: &Ports,
    row: &AuditRow,
    reason: String,
    now: DateTime<Utc>,
    fence: Option<&Fence>,
) -> Result<RowStatus, HandlerError> {
    let mut body = row.body.clone();
    match &mut body {
        RowBody::Decision(d) => d.hold_reason = Some(reason),
        RowBody::AdDecision(a) => a.hold_reason = Some(reason),
        _ => {}
    }
    settle(
        ports
            .audit
            .transition(
                row.row_ref,
                row.status,
                RowStatus::Held,
                Some(body),
                now,
                fence,
            )
            .await,
    )
}

/// The vendor call is the one step no store write fences, so the lock is read again right before
/// it: a process that stalled past its lease (and whose cycle was taken over) stops here instead
/// of repeating a move the new holder already made. Retryable: the redelivery finds its fence
/// stale and is dropped. (This narrows the window to the vendor call itself.)
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

/// Moves left APPLYING by a cycle that can no longer finish them (it stalled past its lease and
/// the next cycle took the store_lock): the vendor may or may not have the change. The next
/// cycle that holds the lock resolves them first — the executor reads the vendor's state and
/// marks each APPLIED, or applies it (policy re-checked) — so no move stays half-way. Returns
/// the refs resolved.
pub async fn resolve_stranded(
    ports: &Ports,
    shop: Option<&dyn ShopCatalog>,
    ads: Option<&dyn AdsAccount>,
    cycle: &otto_core::cycle::CycleId,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
    today: otto_core::StoreDay,
) -> Result<Vec<RowRef>, HandlerError> {
    let mut resolved = Vec::new();
    use otto_core::audit::AuditTable;
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let rows = ports
            .audit
            .by_status(
                table,
                &cycle.store,
                RowStatus::Applying,
                otto_store::PageReq::first(200),
            )
            .await?
            .items;
        for row in rows.into_iter().filter(|r| &r.cycle_id != cycle) {
            let r = match (table, shop, ads) {
                (AuditTable::DecisionLog, Some(shop), _) => {
                    apply_decision(ports, shop, row.row_ref, fence, now, today).await
                }
                (AuditTable::AdDecisionLog, _, Some(ads)) => {
                    apply_budget(ports, ads, row.row_ref, fence, now, today).await
                }
                _ => continue,
            };
            tracing::warn!(row = %row.row_ref, from = %row.cycle_id, "resolving a move another cycle left APPLYING");
            or_fail(ports, row.row_ref, r, fence, now).await?;
            resolved.push(row.row_ref);
        }
    }
    Ok(resolved)
}

/// Ends one row whose move failed permanently (no catalog entry, a vendor refusal, a malformed
/// stored row …) as FAILED with why, so the rest of its chunk goes on and the row is visible.
/// Retryable errors are passed through: SQS redelivers the chunk and the row resumes.
pub async fn or_fail(
    ports: &Ports,
    row_ref: RowRef,
    result: Result<RowStatus, HandlerError>,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    let why = match result {
        Ok(s) => return Ok(s),
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => e.to_string(),
    };
    tracing::error!(row = %row_ref, error = %why, "move failed permanently; row marked FAILED");
    let Some(row) = ports.audit.get(row_ref).await? else {
        return Err(HandlerError::Permanent(why));
    };
    if !row.status.can_become(RowStatus::Failed) {
        return Ok(row.status);
    }
    let mut body = row.body.clone();
    let err = serde_json::json!({"error": why});
    match &mut body {
        RowBody::Decision(d) => d.result = Some(err),
        RowBody::AdDecision(a) => a.result = Some(err),
        RowBody::CsEvaluation(c) => c.result = Some(err),
        _ => {}
    }
    settle(
        ports
            .audit
            .transition(
                row_ref,
                row.status,
                RowStatus::Failed,
                Some(body),
                now,
                fence,
            )
            .await,
    )
}

/// Records the vendor's answer on an APPLYING row: APPLIED with the vendor's result, FAILED with
/// its refusal. A retryable error leaves the row APPLYING; the retry resolves it by reading the
/// vendor's state.
async fn record_vendor_answer(
    ports: &Ports,
    row_ref: RowRef,
    mut body: RowBody,
    answer: Result<serde_json::Value, VendorError>,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    let (to, result) = match answer {
        Ok(result) => (RowStatus::Applied, result),
        Err(e) if e.is_retryable() => return Err(vendor_err(e)),
        Err(e) => (RowStatus::Failed, json!({"error": e.to_string()})),
    };
    match &mut body {
        RowBody::Decision(d) => d.result = Some(result),
        RowBody::AdDecision(a) => a.result = Some(result),
        _ => {}
    }
    settle(
        ports
            .audit
            .transition(row_ref, RowStatus::Applying, to, Some(body), now, fence)
            .await,
    )
}

fn settle(r: Result<AuditRow, StoreError>) -> Result<RowStatus, HandlerError> {
    match r {
        Ok(row) => Ok(row.status),
        // Someone else moved it first (a concurrent executor): their outcome stands.
        Err(StoreError::Conflict(m)) => Err(HandlerError::Retryable(m)),
        Err(e) => Err(e.into()),
    }
}

/// A row left APPLYING (the vendor call failed or the process died) is retried only while the kill
/// switch is off; with it on, the row is HELD like any other move.
async fn kill_switch_holds(
    ports: &Ports,
    row: &AuditRow,
    now: DateTime<Utc>,
    fence: Option<&Fence>,
) -> Result<Option<RowStatus>, HandlerError> {
    let ks = otto_store::settings::kill_switch(ports.settings.as_ref(), row.store()).await?;
    if ks.on {
        return hold(
            ports,
            row,
            "kill switch on (a retry of an interrupted move)".into(),
            now,
            fence,
        )
        .await
        .map(Some);
    }
    Ok(None)
}

async fn load(ports: &Ports, row_ref: RowRef) -> Result<AuditRow, HandlerError> {
    ports
        .audit
        .get(row_ref)
        .await?
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} does not exist")))
}

/// Checks kill switch and rate limit; None when the move may go ahead.
async fn gate(
    ports: &Ports,
    row: &AuditRow,
    counter: &str,
    limit: u32,
    what: &str,
    expires: i64,
) -> Result<Option<String>, HandlerError> {
    let ks = otto_store::settings::kill_switch(ports.settings.as_ref(), row.store()).await?;
    if ks.on {
        return Ok(Some(format!(
            "kill switch on{}{}{}",
            ks.by
                .map(|b| format!(", flipped by {b}"))
                .unwrap_or_default(),
            ks.at
                .map(|a| format!(" at {}", a.to_rfc3339()))
                .unwrap_or_default(),
            ks.reason.map(|r| format!(" ({r})")).unwrap_or_default()
        )));
    }
    match ports
        .counters
        .add(
            counter,
            1,
            Some(i64::from(limit)),
            Some(&row.row_ref.to_string()),
            Some(expires),
        )
        .await?
    {
        CounterAdd::Added(_) | CounterAdd::AlreadyCounted(_) => Ok(None),
        CounterAdd::LimitReached(v) => Ok(Some(format!("rate limit: {v} of {limit} {what} used"))),
    }
}

/// Applies one decision_log row (PENDING, RELEASED, or APPLYING after a crash).
pub async fn apply_decision(
    ports: &Ports,
    shop: &dyn ShopCatalog,
    row_ref: RowRef,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
    today: otto_core::StoreDay,
) -> Result<RowStatus, HandlerError> {
    let row = load(ports, row_ref).await?;
    let RowBody::Decision(d) = &row.body else {
        return Err(HandlerError::Permanent(format!(
            "{row_ref} is not a decision_log row"
        )));
    };
    if matches!(d.action, Action::OnDiscount | Action::PriceRestore) {
        return apply_price(ports, shop, row_ref, fence, now, today).await;
    }
    let Some(target) = target_status(d.action) else {
        return Err(HandlerError::Permanent(format!(
            "{} on {row_ref} is not a catalog move",
            d.action
        )));
    };
    let variant = ports
        .catalog
        .variant(row.store(), &d.sku)
        .await?
        .ok_or_else(|| HandlerError::Permanent(format!("{} is not in the catalog", d.sku)))?;
    match row.status {
        RowStatus::Pending | RowStatus::Released => {}
        RowStatus::Applying => {
            return resolve_applying(
                ports,
                shop,
                &row,
                d,
                &variant.variant_id,
                target,
                fence,
                now,
            )
            .await
        }
        other => return Ok(other),
    }
    let policy = otto_store::settings::policy(ports.settings.as_ref(), row.store()).await?;
    // Counted on the store day the move is applied (a row held on D and released on D+1
    // counts against D+1's limit).
    let counter = catalog_counter(row.store(), &today.to_string());
    let expires = (now + chrono::Duration::days(8)).timestamp();
    if let Some(reason) = gate(
        ports,
        &row,
        &counter,
        policy.catalog_moves_per_day,
        "catalog moves today",
        expires,
    )
    .await?
    {
        return hold(ports, &row, reason, now, fence).await;
    }
    // The reversal op is the vendor's state now, stored before anything changes.
    let current = shop
        .fetch_variant(&variant.variant_id)
        .await
        .map_err(vendor_err)?
        .ok_or_else(|| {
            HandlerError::Permanent(format!(
                "{} no longer exists in the shop",
                variant.variant_id
            ))
        })?;
    let mut body = d.clone();
    body.reversal_op = Some(ReversalOp::ProductStatus {
        product_id: current.product_id.clone(),
        status: status_name(current.status).into(),
    });
    body.hold_reason = None;
    let applying = ports
        .audit
        .transition(
            row.row_ref,
            row.status,
            RowStatus::Applying,
            Some(RowBody::Decision(body.clone())),
            now,
            fence,
        )
        .await;
    let applying = match applying {
        Ok(r) => r,
        Err(e) => return settle(Err(e)),
    };
    mutate_and_mark(
        ports,
        shop,
        &applying,
        body,
        &current.product_id,
        target,
        fence,
        now,
    )
    .await
}

fn status_name(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Active => "ACTIVE",
        ProductStatus::Draft => "DRAFT",
        ProductStatus::Archived => "ARCHIVED",
    }
}

#[allow(clippy::too_many_arguments)]
async fn mutate_and_mark(
    ports: &Ports,
    shop: &dyn ShopCatalog,
    row: &AuditRow,
    body: DecisionRow,
    product_id: &str,
    target: ProductStatus,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    still_fenced(ports, fence).await?;
    let answer = shop.set_product_status(product_id, target).await;
    record_vendor_answer(
        ports,
        row.row_ref,
        RowBody::Decision(body),
        answer,
        fence,
        now,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn resolve_applying(
    ports: &Ports,
    shop: &dyn ShopCatalog,
    row: &AuditRow,
    d: &DecisionRow,
    variant_id: &str,
    target: ProductStatus,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    let current = shop
        .fetch_variant(variant_id)
        .await
        .map_err(vendor_err)?
        .ok_or_else(|| {
            HandlerError::Permanent(format!("{variant_id} no longer exists in the shop"))
        })?;
    if current.status == target {
        let mut body = d.clone();
        body.result = Some(
            // Same shape as a fresh write's answer (`product.id`, `product.updatedAt`), so the next
            // morning recognises this as Otto's own write, not a person's edit.
            json!({"confirmed": "the shop already had the target state on retry",
                   "product": {"id": current.product_id, "updatedAt": current.updated_at.to_rfc3339()}}),
        );
        return settle(
            ports
                .audit
                .transition(
                    row.row_ref,
                    RowStatus::Applying,
                    RowStatus::Applied,
                    Some(RowBody::Decision(body)),
                    now,
                    fence,
                )
                .await,
        );
    }
    if let Some(held) = kill_switch_holds(ports, row, now, fence).await? {
        return Ok(held);
    }
    mutate_and_mark(
        ports,
        shop,
        row,
        d.clone(),
        &current.product_id,
        target,
        fence,
        now,
    )
    .await
}

/// Applies one agreed ad_decision_log row: a campaign budget change.
pub async fn apply_budget(
    ports: &Ports,
    ads: &dyn AdsAccount,
    row_ref: RowRef,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
    today: otto_core::StoreDay,
) -> Result<RowStatus, HandlerError> {
    let row = load(ports, row_ref).await?;
    let RowBody::AdDecision(a) = &row.body else {
        return Err(HandlerError::Permanent(format!(
            "{row_ref} is not an ad_decision_log row"
        )));
    };
    let target = a
        .budget_after
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} has no target budget")))?;
    let resource = a
        .figures
        .get("budget_resource")
        .and_then(|v| v.as_str())
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} has no budget resource")))?
        .to_string();
    let budgets = ads.budgets().await.map_err(vendor_err)?;
    let current = budgets
        .iter()
        .find(|b| b.budget_resource == resource)
        .ok_or_else(|| HandlerError::Permanent(format!("{resource} no longer exists")))?;
    match row.status {
        RowStatus::Pending | RowStatus::Released => {}
        RowStatus::Applying if current.amount.rounded() == target.rounded() => {
            let mut body = a.clone();
            body.result =
                Some(json!({"confirmed": "the budget already had the target amount on retry"}));
            return settle(
                ports
                    .audit
                    .transition(
                        row.row_ref,
                        RowStatus::Applying,
                        RowStatus::Applied,
                        Some(RowBody::AdDecision(body)),
                        now,
                        fence,
                    )
                    .await,
            );
        }
        RowStatus::Applying => {
            if let Some(held) = kill_switch_holds(ports, &row, now, fence).await? {
                return Ok(held);
            }
            return budget_mutate(ports, ads, &row, a.clone(), &resource, target, fence, now).await;
        }
        other => return Ok(other),
    }
    let policy = otto_store::settings::policy(ports.settings.as_ref(), row.store()).await?;
    let counter = budget_counter(row.store(), &today.iso_week());
    let expires = (now + chrono::Duration::days(15)).timestamp();
    if let Some(reason) = gate(
        ports,
        &row,
        &counter,
        policy.budget_changes_per_week,
        "budget changes this week",
        expires,
    )
    .await?
    {
        return hold(ports, &row, reason, now, fence).await;
    }
    let mut body: AdDecisionRow = a.clone();
    body.reversal_op = Some(ReversalOp::CampaignBudget {
        customer_id: resource.split('/').nth(1).unwrap_or_default().to_string(),
        budget_resource: resource.clone(),
        amount: current.amount,
    });
    body.hold_reason = None;
    let applying = match ports
        .audit
        .transition(
            row.row_ref,
            row.status,
            RowStatus::Applying,
            Some(RowBody::AdDecision(body.clone())),
            now,
            fence,
        )
        .await
    {
        Ok(r) => r,
        Err(e) => return settle(Err(e)),
    };
    budget_mutate(ports, ads, &applying, body, &resource, target, fence, now).await
}

#[allow(clippy::too_many_arguments)]
async fn budget_mutate(
    ports: &Ports,
    ads: &dyn AdsAccount,
    row: &AuditRow,
    body: AdDecisionRow,
    resource: &str,
    target: otto_core::Money,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    still_fenced(ports, fence).await?;
    let answer = ads.set_budget(resource, target, false).await;
    record_vendor_answer(
        ports,
        row.row_ref,
        RowBody::AdDecision(body),
        answer,
        fence,
        now,
    )
    .await
}

/// Price moves (ON_DISCOUNT opens a window, PRICE_RESTORE replays a stored reversal op). The row's
/// figures say what the shop should show now (`expected_price`) and what to set
/// (`target_price`, `target_compare_at`). A shop price other than the expected one means someone
/// else changed it: the row is HELD, nothing is overwritten.
pub async fn apply_price(
    ports: &Ports,
    shop: &dyn ShopCatalog,
    row_ref: RowRef,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
    today: otto_core::StoreDay,
) -> Result<RowStatus, HandlerError> {
    let row = load(ports, row_ref).await?;
    let RowBody::Decision(d) = &row.body else {
        return Err(HandlerError::Permanent(format!(
            "{row_ref} is not a decision_log row"
        )));
    };
    let money = |k: &str| -> Result<Option<otto_core::Money>, HandlerError> {
        match d.figures.get(k) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .map_err(|e| HandlerError::Permanent(format!("{row_ref}: figure {k}: {e}"))),
        }
    };
    let expected = money("expected_price")?
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} has no expected_price")))?;
    let target = money("target_price")?
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} has no target_price")))?;
    let target_compare_at = money("target_compare_at")?;
    let variant = ports
        .catalog
        .variant(row.store(), &d.sku)
        .await?
        .ok_or_else(|| HandlerError::Permanent(format!("{} is not in the catalog", d.sku)))?;
    let current = shop
        .fetch_variant(&variant.variant_id)
        .await
        .map_err(vendor_err)?
        .ok_or_else(|| {
            HandlerError::Permanent(format!(
                "{} no longer exists in the shop",
                variant.variant_id
            ))
        })?;
    let at_target = current.price.rounded() == target.rounded()
        && current.compare_at_price.map(|c| c.rounded()) == target_compare_at.map(|c| c.rounded());
    match row.status {
        RowStatus::Pending | RowStatus::Released => {}
        RowStatus::Applying if at_target => {
            let mut body = d.clone();
            body.result =
                Some(json!({"confirmed": "the shop already had the target price on retry"}));
            let st = settle(
                ports
                    .audit
                    .transition(
                        row.row_ref,
                        RowStatus::Applying,
                        RowStatus::Applied,
                        Some(RowBody::Decision(body)),
                        now,
                        fence,
                    )
                    .await,
            )?;
            after_price_applied(ports, &row, d, fence, now).await?;
            return Ok(st);
        }
        RowStatus::Applying => {
            if let Some(held) = kill_switch_holds(ports, &row, now, fence).await? {
                return Ok(held);
            }
        }
        // Applied, but what follows it (the window) may not have happened: it is idempotent.
        RowStatus::Applied => {
            after_price_applied(ports, &row, d, fence, now).await?;
            return Ok(RowStatus::Applied);
        }
        other => return Ok(other),
    }
    if row.status != RowStatus::Applying {
        if d.action == Action::OnDiscount {
            let policy = otto_store::settings::policy(ports.settings.as_ref(), row.store()).await?;
            let counter = format!("rate#{}#discount_tests#{}", row.store(), today);
            let expires = (now + chrono::Duration::days(8)).timestamp();
            if let Some(reason) = gate(
                ports,
                &row,
                &counter,
                policy.discount_tests_per_day,
                "discount tests today",
                expires,
            )
            .await?
            {
                return hold(ports, &row, reason, now, fence).await;
            }
        } else {
            let ks =
                otto_store::settings::kill_switch(ports.settings.as_ref(), row.store()).await?;
            if ks.on {
                return hold(ports, &row, "kill switch on".into(), now, fence).await;
            }
        }
    }
    if let Some(conflict) = otto_core::stages::discount::restore_conflict(current.price, expected) {
        if !at_target {
            return hold(ports, &row, conflict, now, fence).await;
        }
    }
    let mut body = d.clone();
    if row.status != RowStatus::Applying {
        // What the shop shows now, stored before the change.
        body.reversal_op = Some(ReversalOp::VariantPrice {
            product_id: current.product_id.clone(),
            variant_id: current.variant_id.clone(),
            price: current.price,
            compare_at_price: current.compare_at_price,
        });
        body.hold_reason = None;
        if let Err(e) = ports
            .audit
            .transition(
                row.row_ref,
                row.status,
                RowStatus::Applying,
                Some(RowBody::Decision(body.clone())),
                now,
                fence,
            )
            .await
        {
            return settle(Err(e));
        }
    }
    still_fenced(ports, fence).await?;
    let answer = shop
        .set_variant_price(
            &current.product_id,
            &current.variant_id,
            target,
            target_compare_at,
        )
        .await;
    let st = record_vendor_answer(
        ports,
        row.row_ref,
        RowBody::Decision(body),
        answer,
        fence,
        now,
    )
    .await?;
    if st == RowStatus::Applied {
        after_price_applied(ports, &row, d, fence, now).await?;
    }
    Ok(st)
}

/// What follows an applied price move, whichever path applied it (stage, release, retry): an
/// ON_DISCOUNT opens its window; a PRICE_RESTORE marks the discount REVERTED and closes it.
async fn after_price_applied(
    ports: &Ports,
    row: &AuditRow,
    d: &DecisionRow,
    fence: Option<&Fence>,
    now: DateTime<Utc>,
) -> Result<(), HandlerError> {
    let Some(w) = &d.window else { return Ok(()) };
    match d.action {
        Action::OnDiscount => {
            let window = otto_core::metrics::OpenWindow {
                sku: d.sku.clone(),
                ends_on: w.ends_on,
                row_ref: row.row_ref.to_string(),
            };
            ports.catalog.open_window(row.store(), &window).await?;
        }
        Action::PriceRestore => {
            let Some(restores) = d.figures.get("restores").and_then(|v| v.as_str()) else {
                return Ok(());
            };
            let opened = RowRef::parse(restores)?;
            match ports
                .audit
                .transition(
                    opened,
                    RowStatus::Applied,
                    RowStatus::Reverted,
                    None,
                    now,
                    fence,
                )
                .await
            {
                Ok(_) | Err(StoreError::Conflict(_)) => {}
                Err(e) => return Err(e.into()),
            }
            let window = otto_core::metrics::OpenWindow {
                sku: d.sku.clone(),
                ends_on: w.ends_on,
                row_ref: restores.to_string(),
            };
            ports.catalog.close_window(row.store(), &window).await?;
        }
        _ => {}
    }
    Ok(())
}
