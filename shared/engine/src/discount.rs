//! The discount cycle (16:00) — discount_executor: audit open windows → revert the ones past their
//! TTL by replaying the stored reversal op (PRICE_RESTORE) → open fresh DISCOUNT_TEST windows
//! (ON_DISCOUNT) for the morning's OPTIMIZE_CYCLE_FAILED SKUs, margin-tier gated and rate limited.
//! Every open, restore and skip is a decision_log row.

use crate::executor::{discount_counter, execute, move_of};
use crate::morning::Vendors;
use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_core::audit::{
    AuditTable, DecisionRow, DiscountWindow, NewRow, ReversalOp, RowBody, RowRef,
};
use otto_core::cycle::Stage;
use otto_core::report::{AuditReport, DiscountCaps, DiscountSummary, OpenReport, RevertReport};
use otto_core::stages::discount::plan_discount;
use otto_core::{Action, Classification, Move, RowStatus};
use otto_runtime::HandlerError;
use otto_store::PageReq;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// Adds the discount cycle's bodies to a registry.
pub fn with_discount(reg: StageRegistry, v: Vendors) -> StageRegistry {
    reg.with(Stage::Audit, Arc::new(Audit))
        .with(Stage::Revert, Arc::new(Revert(v.clone())))
        .with(Stage::Open, Arc::new(Open(v)))
}

fn perm(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(e.to_string())
}

fn row_status(apply: bool) -> RowStatus {
    if apply {
        RowStatus::Pending
    } else {
        RowStatus::DryRun
    }
}

/// 16:00 — what is open, and what is due.
struct Audit;

#[async_trait]
impl StageBody for Audit {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let store = &ctx.msg.cycle_id.store;
        // Held moves of earlier discount cycles expire: this cycle decides afresh.
        let expired = crate::holds::expire_held(ctx.ports, &ctx.msg.cycle_id, ctx.now).await?;
        let open = ctx.ports.catalog.open_windows(store).await?;
        let due = ctx
            .ports
            .catalog
            .windows_ending_by(store, ctx.msg.cycle_id.day)
            .await?;
        let report = AuditReport {
            open_windows: open.len() as u64,
            held_expired: expired,
            due: due
                .iter()
                .filter_map(|w| RowRef::parse(&w.row_ref).ok())
                .collect(),
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// 16:15 — PRICE_RESTORE for every window past its TTL, replaying the stored reversal op.
struct Revert(Vendors);

#[async_trait]
impl StageBody for Revert {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let cycle = &ctx.msg.cycle_id;
        // Moves an earlier cycle left half-way (it lost the lock mid-move) are settled first.
        let stranded =
            crate::executor::resolve_stranded(ctx.ports, self.0.via(), cycle, &ctx.run()).await?;
        let due = ctx
            .ports
            .catalog
            .windows_ending_by(&cycle.store, cycle.day)
            .await?;
        let mut rows = Vec::new();
        for w in &due {
            let opened_ref = RowRef::parse(&w.row_ref)?;
            let Some(opened) = ctx.ports.audit.get(opened_ref).await? else {
                return Err(perm(format!(
                    "window of {} points at {} which does not exist",
                    w.sku, w.row_ref
                )));
            };
            let RowBody::Decision(d) = &opened.body else {
                return Err(perm("window row is not a decision"));
            };
            let Some(ReversalOp::VariantPrice {
                price,
                compare_at_price,
                ..
            }) = &d.reversal_op
            else {
                return Err(perm(format!(
                    "{opened_ref} has no price reversal op to replay"
                )));
            };
            // What the discount set is what the restore expects to find.
            let Ok(Some(Move::VariantPrice {
                price: discount_price,
                ..
            })) = move_of(&opened)
            else {
                return Err(perm(format!("{opened_ref} has no price move to restore")));
            };
            rows.push(NewRow::for_stage(
                cycle.clone(),
                Stage::Revert,
                row_status(ctx.msg.apply),
                ctx.now,
                RowBody::Decision(DecisionRow {
                    sku: w.sku.clone(),
                    action: Action::PriceRestore,
                    trigger: Some(Action::OnDiscount),
                    classification: None,
                    reasoning: format!(
                        "window opened by {opened_ref} ended on {}; replaying its reversal op",
                        w.ends_on
                    ),
                    figures: BTreeMap::from([
                        ("restores".into(), json!(opened_ref.to_string())),
                        ("expected_price".into(), json!(discount_price)),
                        ("target_price".into(), json!(price)),
                        ("target_compare_at".into(), json!(compare_at_price)),
                    ]),
                    window: d.window.clone(),
                    r#move: Some(Move::VariantPrice {
                        sku: w.sku.clone(),
                        expected_price: discount_price,
                        price: *price,
                        compare_at: *compare_at_price,
                        restores: Some(opened_ref),
                    }),
                    reversal_op: None,
                    hold_reason: None,
                    result: None,
                }),
            ));
        }
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let via = self.0.via();
        let mut report = RevertReport {
            restores: appended.len() as u32,
            ..RevertReport::default()
        };
        for a in &appended {
            let status = if ctx.msg.apply || !a.inserted {
                execute(ctx.ports, via, a.row_ref, &ctx.run())
                    .await?
                    .settled_for_stage()?
                    .row
                    .status
            } else {
                RowStatus::DryRun
            };
            *report.by_status.entry(status).or_default() += 1;
        }
        report.stranded_resolved = stranded;
        Ok(StageOutput::new(report, 1))
    }
}

/// How many new tests may open today: the daily cap (less what the executor already counted
/// today) and the store-wide cap on the share of the active catalog on discount at once.
#[derive(Debug, Clone, Copy)]
struct Caps {
    daily: u32,
    daily_left: u32,
    share_bp: u32,
    share_max: u32,
    share_left: u32,
    active: usize,
}

impl Caps {
    fn new(
        policy: &otto_core::policy::Policy,
        active: usize,
        open: usize,
        used_today: u32,
    ) -> Self {
        let share_max =
            (active as u64 * u64::from(policy.discount_catalog_share_bp) / 10_000) as u32;
        Caps {
            daily: policy.discount_tests_per_day,
            daily_left: policy.discount_tests_per_day.saturating_sub(used_today),
            share_bp: policy.discount_catalog_share_bp,
            share_max,
            share_left: share_max.saturating_sub(open as u32),
            active,
        }
    }

    /// Takes one test's room, or says which cap stops it.
    fn take(&mut self) -> Option<String> {
        if self.daily_left == 0 {
            return Some(format!(
                "the daily cap of {} discount tests is reached; candidates are judged again tomorrow",
                self.daily
            ));
        }
        if self.share_left == 0 {
            return Some(format!(
                "at most {}.{:02}% of the catalog may be on discount at once ({} of {} active variants), and that many are",
                self.share_bp / 100,
                self.share_bp % 100,
                self.share_max,
                self.active
            ));
        }
        self.daily_left -= 1;
        self.share_left -= 1;
        None
    }

    fn report(&self) -> DiscountCaps {
        DiscountCaps {
            daily_cap: self.daily,
            daily_left: self.daily_left,
            catalog_share_bp: self.share_bp,
            share_max: self.share_max,
            share_left: self.share_left,
            active_variants: self.active as u64,
        }
    }
}

fn active_count(catalog: &HashMap<String, otto_core::metrics::Variant>) -> usize {
    catalog
        .values()
        .filter(|v| v.status == otto_core::metrics::ProductStatus::Active)
        .count()
}

/// A candidate the caps leave out: KEEP, with the cap that stopped it.
fn capped_row(ctx: &StageContext<'_>, source: RowRef, d: &DecisionRow, why: String) -> NewRow {
    NewRow::for_stage(
        ctx.msg.cycle_id.clone(),
        Stage::Open,
        RowStatus::Skipped,
        ctx.now,
        RowBody::Decision(DecisionRow {
            sku: d.sku.clone(),
            action: Action::Keep,
            trigger: Some(Action::DiscountTest),
            classification: d.classification,
            reasoning: format!("not opened: {why}"),
            figures: BTreeMap::from([("source".into(), json!(source.to_string()))]),
            window: None,
            r#move: None,
            reversal_op: None,
            hold_reason: Some(why),
            result: None,
        }),
    )
}

/// 16:30 — fresh discount tests for the morning's DISCOUNT_TEST SKUs, as many as the caps allow
/// (a dry run plans exactly those; the rest KEEP with the cap that stopped them).
struct Open(Vendors);

#[async_trait]
impl StageBody for Open {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let cycle = &ctx.msg.cycle_id;
        let store = &cycle.store;
        let policy = otto_store::settings::policy(ctx.ports.settings.as_ref(), store).await?;
        let open: HashSet<String> = ctx
            .ports
            .catalog
            .open_windows(store)
            .await?
            .into_iter()
            .map(|w| w.sku.to_string())
            .collect();
        let mut candidates = Vec::new();
        let mut page = PageReq::first(500);
        loop {
            let p = ctx
                .ports
                .audit
                .by_day_action(
                    AuditTable::DecisionLog,
                    store,
                    cycle.day,
                    Some(Action::DiscountTest.as_str()),
                    page.clone(),
                )
                .await?;
            candidates.extend(p.items);
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        // LOSERs first: a test is what stands between them and a draft.
        candidates.sort_by_key(|c| match &c.body {
            RowBody::Decision(d) => d.classification != Some(Classification::Loser),
            _ => true,
        });
        let ends_on = cycle.day.plus_days(i64::from(policy.discount_window_days));
        // One catalog read: the share cap counts the active catalog.
        let catalog: HashMap<String, otto_core::metrics::Variant> = ctx
            .ports
            .catalog
            .variants(store)
            .await?
            .into_iter()
            .map(|v| (v.sku.to_string(), v))
            .collect();
        let used_today = ctx
            .ports
            .counters
            .value(&discount_counter(store, &cycle.day.to_string()))
            .await?;
        let mut caps = Caps::new(
            &policy,
            active_count(&catalog),
            open.len(),
            u32::try_from(used_today.max(0)).unwrap_or(u32::MAX),
        );
        let mut rows = Vec::new();
        let (mut skipped, mut capped) = (0u32, 0u32);
        for c in &candidates {
            let RowBody::Decision(d) = &c.body else {
                continue;
            };
            if open.contains(d.sku.as_str()) {
                continue;
            }
            let Some(v) = catalog.get(d.sku.as_str()).cloned() else {
                continue;
            };
            let window = DiscountWindow {
                percent_bp: policy.discount_percent_bp,
                starts_on: cycle.day,
                ends_on,
            };
            let planned = plan_discount(&v, policy.discount_percent_bp, &policy.margin_tiers);
            if planned.is_ok() {
                if let Some(why) = caps.take() {
                    capped += 1;
                    rows.push(capped_row(ctx, c.row_ref, d, why));
                    continue;
                }
            }
            let r#move = planned.as_ref().ok().map(|p| Move::VariantPrice {
                sku: d.sku.clone(),
                expected_price: p.price_before,
                price: p.price_after,
                compare_at: Some(p.compare_at_after),
                restores: None,
            });
            let (status, figures, hold_reason, reasoning) = match planned {
                Ok(p) => (
                    row_status(ctx.msg.apply),
                    BTreeMap::from([
                        ("source".into(), json!(c.row_ref.to_string())),
                        ("tier".into(), json!(p.tier)),
                        ("margin_full_bp".into(), json!(p.margin_full_bp)),
                        ("margin_discounted_bp".into(), json!(p.margin_discounted_bp)),
                        ("floor_bp".into(), json!(p.floor_bp)),
                        ("expected_price".into(), json!(p.price_before)),
                        ("target_price".into(), json!(p.price_after)),
                        ("target_compare_at".into(), json!(p.compare_at_after)),
                    ]),
                    None,
                    format!(
                        "{} after {}: −{}.{:02}% for {} days, tier {} margin {}bp → {}bp (floor {}bp)",
                        Action::DiscountTest,
                        c.row_ref,
                        p.percent_bp / 100,
                        p.percent_bp % 100,
                        policy.discount_window_days,
                        p.tier,
                        p.margin_full_bp,
                        p.margin_discounted_bp,
                        p.floor_bp
                    ),
                ),
                Err(why) => {
                    skipped += 1;
                    (RowStatus::Skipped, BTreeMap::from([("source".into(), json!(c.row_ref.to_string()))]), Some(why.clone()), format!("not opened: {why}"))
                }
            };
            rows.push(NewRow::for_stage(
                cycle.clone(),
                Stage::Open,
                status,
                ctx.now,
                RowBody::Decision(DecisionRow {
                    sku: d.sku.clone(),
                    action: Action::OnDiscount,
                    trigger: Some(Action::DiscountTest),
                    classification: d.classification,
                    reasoning,
                    figures,
                    window: Some(window),
                    r#move,
                    reversal_op: None,
                    hold_reason,
                    result: None,
                }),
            ));
        }
        let statuses: Vec<RowStatus> = rows.iter().map(|r| r.status).collect();
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let via = self.0.via();
        let mut by_status: BTreeMap<RowStatus, u32> = BTreeMap::new();
        // The refs of the discounts this run applied: Otto's "largest single move" reads them
        // from the cycle summary instead of scanning the day's planned rows.
        let mut applied: Vec<RowRef> = Vec::new();
        for (a, s) in appended.iter().zip(&statuses) {
            // A redelivery re-plans against counters this cycle already used: the stored row
            // decides (the executor returns any status it does not act on unchanged).
            let now_status = if *s == RowStatus::Pending || !a.inserted {
                execute(ctx.ports, via, a.row_ref, &ctx.run())
                    .await?
                    .row
                    .status
            } else {
                *s
            };
            if now_status == RowStatus::Applied {
                applied.push(a.row_ref);
            }
            *by_status.entry(now_status).or_default() += 1;
        }
        // The restores of this run, from the revert stage's report, go in the cycle's summary.
        let (_, reverted) = crate::earlier::<RevertReport>(ctx, 0).await?;
        let summary = DiscountSummary {
            opened_or_planned: appended.len() as u32 - skipped - capped,
            skipped,
            kept_by_caps: capped,
            by_status: by_status.clone(),
            applied_refs: applied,
            restores_by_status: reverted.by_status,
        };
        let report = OpenReport {
            candidates: candidates.len() as u32,
            rows: appended.len() as u32,
            skipped_by_margin_gate: skipped,
            kept_by_caps: capped,
            caps: caps.report(),
            by_status,
            summary,
        };
        Ok(StageOutput::new(report, 1))
    }
}
