//! The morning cycle's stage bodies: sync → calibrate → classify → decide (+ executor) →
//! campaign_plan. Each reads what earlier stages stored (catalog, metrics, stage_runs figures) and
//! writes rows with natural keys, so a re-run never double-logs.

use crate::campaign_watch;
use crate::executor::{budget_counter, execute, target_status, Via};
use crate::{earlier, StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_connectors::{AdsAccount, ShopCatalog, VendorError};
use otto_core::audit::{AdDecisionRow, AuditTable, DecisionRow, NewRow, ReversalOp, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::metrics::Variant;
use otto_core::report::{
    CalibrateReport, CampaignPlanReport, ClassEntry, ClassifyReport, DecideReport, MorningSummary,
    SalesPulled, SyncReport,
};
use otto_core::stages::budget_allocation::{merge, priority_weight_micros, rank};
use otto_core::stages::calibrate::{calibrate, window_totals, CalibrationRules, Thresholds};
use otto_core::stages::campaign_watch::watch;
use otto_core::stages::classify::classify;
use otto_core::stages::decide::Advice;
use otto_core::stages::decide::{
    decide, gate_product, Carry, CompletedTest, Decision, DecisionRules, Lift, Product, Sibling,
    SkuFacts, StatusMove, StoreSales,
};
use otto_core::stages::plan::{
    judge, performance_figures, propose, propose_for_skus, CampaignSkus, JudgeInputs, JudgedSku,
    PlanRules, RoasTrend, Verdict,
};
use otto_core::{Action, Classification, Money, Move, RowStatus, StoreDay};
use otto_runtime::HandlerError;
use otto_store::PageReq;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// SKUs per classify/decide chunk (one SQS message each).
pub const CHUNK: usize = 500;
/// Days re-pulled every morning, as ad platforms restate recent days.
pub const BACKFILL_DAYS: i64 = 7;
/// The most recent days are provisional (cost/conversions still move; impression share lands a day late).
pub const PROVISIONAL_DAYS: i64 = 2;

/// The vendors a cycle talks to.
#[derive(Clone)]
pub struct Vendors {
    pub shop: Arc<dyn ShopCatalog>,
    pub ads: Arc<dyn AdsAccount>,
}

impl Vendors {
    /// The executor's view of these vendors.
    pub fn via(&self) -> Via<'_> {
        Via {
            shop: Some(self.shop.as_ref()),
            ads: Some(self.ads.as_ref()),
            helpdesk: None,
        }
    }
}

pub fn morning_registry(v: Vendors) -> StageRegistry {
    StageRegistry::new()
        .with(Stage::Sync, Arc::new(Sync(v.clone())))
        .with(Stage::Calibrate, Arc::new(Calibrate))
        .with(Stage::Classify, Arc::new(Classify))
        .with(Stage::Decide, Arc::new(Decide(v.clone())))
        .with(Stage::CampaignPlan, Arc::new(CampaignPlan(v)))
}

fn vendor(e: VendorError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

fn perm(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(e.to_string())
}

/// The latest completed morning cycle before this one, with the time its sync ran.
async fn previous_cycle(
    ctx: &StageContext<'_>,
) -> Result<Option<(CycleId, Option<chrono::DateTime<chrono::Utc>>)>, HandlerError> {
    let store = &ctx.msg.cycle_id.store;
    let runs = ctx
        .ports
        .audit
        .by_subject(
            AuditTable::CycleRuns,
            store,
            CycleKind::Morning.as_str(),
            PageReq::first(10),
        )
        .await?;
    let Some(prev) = runs
        .items
        .into_iter()
        .find(|r| r.day() < ctx.msg.cycle_id.day && r.status == RowStatus::Completed)
    else {
        return Ok(None);
    };
    let nk = format!("{}|sync|0", prev.cycle_id);
    let synced = ctx
        .ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &nk)
        .await?
        .and_then(|r| match r.body {
            RowBody::StageRun(s) => s.into_report::<SyncReport>().map(|s| s.synced_at),
            _ => None,
        });
    Ok(Some((prev.cycle_id, synced)))
}

fn window(day: StoreDay) -> (StoreDay, StoreDay) {
    (day.plus_days(-28), day.plus_days(-1))
}

// ---------------------------------------------------------------------------------------------

/// catalog_sync + performance_sync.
struct Sync(Vendors);

#[async_trait]
impl StageBody for Sync {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let store = &ctx.msg.cycle_id.store;
        let day = ctx.msg.cycle_id.day;
        let (from, to) = window(day);
        // Moves an earlier cycle left half-way (it lost the lock mid-move) are settled first.
        let stranded = crate::executor::resolve_stranded(
            ctx.ports,
            self.0.via(),
            &ctx.msg.cycle_id,
            &ctx.run(),
        )
        .await?;
        // Held moves of earlier mornings expire: this morning decides afresh.
        let expired = crate::holds::expire_held(ctx.ports, &ctx.msg.cycle_id, ctx.now).await?;
        let previous = previous_cycle(ctx).await?;
        // First cycle: the whole window; later: the restatement backfill only.
        let pull_from = if previous.is_some() {
            to.plus_days(-(BACKFILL_DAYS - 1))
        } else {
            from
        };
        // The catalog with what it could not use (unknown statuses, foreign-currency costs, no
        // SKU), and the ad report with the offers that map to no variant: both go on this row,
        // so nothing turns silently into INSUFFICIENT_DATA.
        let catalog = self.0.shop.fetch_catalog().await.map_err(vendor)?;
        let report = self
            .0
            .ads
            .sku_performance_report(pull_from, to)
            .await
            .map_err(vendor)?;
        let exceptions = json!({
            "summary": catalog.summary(),
            "held_out": catalog.held_out,
            "cost_flags": catalog.cost_flags,
            "skipped": catalog.skipped,
        });
        let unmapped = json!({
            "summary": report.summary(),
            "count": report.unmapped.len(),
            "offers": report.unmapped.iter().take(100).map(|u| json!({
                "offer_id": u.offer_id, "reason": u.reason, "rows": u.rows,
                "clicks": u.clicks, "cost": u.cost,
            })).collect::<Vec<_>>(),
        });
        // Store sales from the shop's orders (every channel); None: the shop cannot report them,
        // and decisions fall back to the ad figures (and say so).
        let mut sales = self.0.shop.sku_sales(pull_from, to).await.map_err(vendor)?;
        let variants = catalog.variants;
        let mut metrics = report.metrics;
        let mut campaigns = self
            .0
            .ads
            .campaign_performance(from.max(pull_from.plus_days(-7)), to)
            .await
            .map_err(vendor)?;
        let budgets = self.0.ads.budgets().await.map_err(vendor)?;
        let since = previous
            .as_ref()
            .and_then(|p| p.1)
            .unwrap_or(ctx.now - chrono::Duration::days(1));
        let changes = self.0.ads.changes_since(since).await.map_err(vendor)?;
        // Google Ads lower-cases offer ids: match its SKUs to the catalog's case-insensitively.
        let by_upper: HashMap<String, &otto_core::Sku> = variants
            .iter()
            .map(|v| (v.sku.as_str().to_uppercase(), &v.sku))
            .collect();
        let mut unmatched = 0usize;
        for m in &mut metrics {
            match by_upper.get(&m.sku.as_str().to_uppercase()) {
                Some(sku) => m.sku = (*sku).clone(),
                None => unmatched += 1,
            }
        }
        for x in sales.iter_mut().flatten() {
            if let Some(sku) = by_upper.get(&x.sku.as_str().to_uppercase()) {
                x.sku = (*sku).clone();
            }
        }
        let provisional_from = to.plus_days(-(PROVISIONAL_DAYS - 1));
        for m in &mut metrics {
            m.provisional |= m.day >= provisional_from;
        }
        for c in &mut campaigns {
            c.provisional |= c.day >= provisional_from;
        }
        // Everything read first; only then written, so a vendor failure leaves nothing half-synced.
        ctx.ports.catalog.upsert_variants(store, &variants).await?;
        ctx.ports.catalog.put_metrics(store, &metrics).await?;
        ctx.ports
            .catalog
            .put_campaign_days(store, &campaigns)
            .await?;
        ctx.ports.catalog.put_budgets(store, &budgets).await?;
        if let Some(x) = &sales {
            ctx.ports.catalog.put_sales(store, x).await?;
        }
        let budget_changes: Vec<&str> = changes
            .iter()
            .filter(|c| c.resource.contains("campaignBudgets"))
            .map(|c| c.resource.as_str())
            .collect();
        let report = SyncReport {
            stranded_resolved: stranded,
            synced_at: ctx.now,
            held_expired: expired,
            variants: variants.len() as u64,
            metric_rows: metrics.len() as u64,
            pulled_from: pull_from,
            pulled_to: to,
            provisional_from,
            campaign_days: campaigns.len() as u64,
            budgets: budgets.len() as u64,
            external_changes: changes.len() as u64,
            metric_rows_without_catalog_sku: unmatched as u64,
            catalog_exceptions: exceptions,
            unmapped_offers: unmapped,
            external_budget_changes: budget_changes.iter().map(|c| c.to_string()).collect(),
            sales_available: sales.is_some(),
            sales: Some(sales_pulled(sales.as_deref())),
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// The sync row's store sales: rows and units pulled, or why there are none.
fn sales_pulled(sales: Option<&[otto_core::metrics::SkuSales]>) -> SalesPulled {
    match sales {
        Some(x) => SalesPulled {
            source: "shop orders".into(),
            rows: Some(x.len() as u64),
            units: Some(x.iter().map(|s| s.units).sum::<i64>()),
            orders: Some(x.iter().map(|s| u64::from(s.orders)).sum::<u64>()),
        },
        None => SalesPulled {
            source: "none: the shop cannot report orders; decisions weigh the ad figures only"
                .into(),
            rows: None,
            units: None,
            orders: None,
        },
    }
}

/// self_calibrator.
struct Calibrate;

#[async_trait]
impl StageBody for Calibrate {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let store = &ctx.msg.cycle_id.store;
        let (from, to) = window(ctx.msg.cycle_id.day);
        let mut skus: Vec<otto_core::Sku> = ctx
            .ports
            .catalog
            .variants(store)
            .await?
            .into_iter()
            .map(|v| v.sku)
            .collect();
        skus.sort();
        let n = skus.len();
        let chunks = n.div_ceil(CHUNK).max(1) as u32;
        // Each chunk's first and last SKU: later stages read only their slice.
        let bounds: Vec<(String, String)> = skus
            .chunks(CHUNK)
            .filter_map(|c| Some((c.first()?.to_string(), c.last()?.to_string())))
            .collect();
        // Window totals slice by slice (one chunk's SKUs at a time, so the whole window's metrics
        // are never in memory at once). The slices tile every SKU — also metrics whose SKU is
        // not in the catalog — as (previous chunk's last SKU, this chunk's last SKU].
        let mut totals = BTreeMap::new();
        let mut provisional = 0;
        let lowest = otto_core::Sku::new("!")?;
        let highest = otto_core::Sku::new("\u{10FFFF}")?;
        let lasts: Vec<otto_core::Sku> = skus
            .chunks(CHUNK)
            .filter_map(|c| c.last().cloned())
            .collect();
        for i in 0..lasts.len().max(1) {
            let lo = if i == 0 { &lowest } else { &lasts[i - 1] };
            let hi = if i + 1 >= lasts.len() {
                &highest
            } else {
                &lasts[i]
            };
            let mut slice = ctx
                .ports
                .catalog
                .metrics_for_skus(store, from, to, lo, hi)
                .await?;
            if i > 0 {
                slice.retain(|m| &m.sku != lo);
            }
            let (t, p) = window_totals(&slice, from, to);
            totals.extend(t);
            provisional += p;
        }
        let t = calibrate(
            &totals,
            provisional,
            ctx.msg.cycle_id.day,
            CalibrationRules::default(),
        );
        // The previous morning cycle, fixed once for every chunk of decide.
        let previous = previous_cycle(ctx).await?;
        let report = CalibrateReport {
            previous_cycle: previous.as_ref().map(|p| p.0.to_string()),
            previous_synced_at: previous.as_ref().and_then(|p| p.1),
            thresholds: t,
            skus: n as u64,
            chunk_bounds: bounds,
            chunks,
        };
        Ok(StageOutput::new(report, chunks))
    }
}

/// Whether this cycle's sync stored store sales from orders (an older sync row did not).
async fn sales_available(ctx: &StageContext<'_>) -> Result<bool, HandlerError> {
    let (_, sync) = earlier::<SyncReport>(ctx, 0).await?;
    Ok(sync.sales_available)
}

/// Adds one day's value to the lift's recent or prior week (by age from the last mature day).
fn add_lift(lift: &mut Lift, mature_to: StoreDay, day: StoreDay, micros: i64) {
    let age = mature_to.days_since(day);
    if (0..7).contains(&age) {
        lift.recent_value_micros += micros;
    } else if (7..14).contains(&age) {
        lift.prior_value_micros += micros;
    }
}

/// What self_calibrator fixed for the whole cycle, read once by each classify/decide chunk (one
/// stage row): the thresholds, each chunk's SKU slice and the previous morning cycle.
struct CalibrateFacts {
    row_ref: String,
    thresholds: Thresholds,
    bounds: Vec<(String, String)>,
    previous: Option<(CycleId, Option<chrono::DateTime<chrono::Utc>>)>,
}

/// The catalog's SKU range (first, last), from the chunks calibrate fixed; None without SKUs.
async fn catalog_skus(
    ctx: &StageContext<'_>,
) -> Result<Option<(otto_core::Sku, otto_core::Sku)>, HandlerError> {
    let facts = calibrate_facts(ctx).await?;
    let (Some((first, _)), Some((_, last))) = (facts.bounds.first(), facts.bounds.last()) else {
        return Ok(None);
    };
    Ok(Some((
        otto_core::Sku::new(first.as_str())?,
        otto_core::Sku::new(last.as_str())?,
    )))
}

async fn calibrate_facts(ctx: &StageContext<'_>) -> Result<CalibrateFacts, HandlerError> {
    let (row_ref, c) = earlier::<CalibrateReport>(ctx, 0).await?;
    let previous = match c.previous_cycle {
        None => None,
        Some(id) => Some((CycleId::parse(&id).map_err(perm)?, c.previous_synced_at)),
    };
    Ok(CalibrateFacts {
        row_ref: row_ref.to_string(),
        thresholds: c.thresholds,
        bounds: c.chunk_bounds,
        previous,
    })
}

/// The chunk's variants: the SKU slice calibrate fixed for it.
async fn chunk_skus(
    ctx: &StageContext<'_>,
    facts: &CalibrateFacts,
) -> Result<Vec<otto_core::metrics::Variant>, HandlerError> {
    let Some((first, last)) = facts.bounds.get(ctx.msg.chunk as usize) else {
        return Ok(vec![]);
    };
    let (first, last) = (
        otto_core::Sku::new(first.as_str())?,
        otto_core::Sku::new(last.as_str())?,
    );
    Ok(ctx
        .ports
        .catalog
        .variants_in(&ctx.msg.cycle_id.store, &first, &last)
        .await?)
}

/// classifier.
struct Classify;

#[async_trait]
impl StageBody for Classify {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let facts = calibrate_facts(ctx).await?;
        let variants = chunk_skus(ctx, &facts).await?;
        let t = facts.thresholds;
        let mut entries: BTreeMap<String, ClassEntry> = BTreeMap::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        if let (Some(first), Some(last)) = (variants.first(), variants.last()) {
            let metrics = ctx
                .ports
                .catalog
                .metrics_for_skus(
                    &ctx.msg.cycle_id.store,
                    t.window_from,
                    t.window_to,
                    &first.sku,
                    &last.sku,
                )
                .await?;
            let (totals, _) = window_totals(&metrics, t.window_from, t.window_to);
            // Lift over mature days only: the last 7 non-provisional days vs the 7 before.
            let mature_to = t.window_to.plus_days(-PROVISIONAL_DAYS);
            let mut lift: HashMap<String, Lift> = HashMap::new();
            let mut sales: Option<HashMap<String, StoreSales>> = None;
            if sales_available(ctx).await? {
                let rows = ctx
                    .ports
                    .catalog
                    .sales_for_skus(
                        &ctx.msg.cycle_id.store,
                        t.window_from,
                        t.window_to,
                        &first.sku,
                        &last.sku,
                    )
                    .await?;
                let mut by_sku: HashMap<String, StoreSales> = HashMap::new();
                for x in &rows {
                    let e = by_sku.entry(x.sku.to_string()).or_default();
                    e.units += x.units;
                    e.revenue_micros += x.revenue.micros();
                    let l = lift.entry(x.sku.to_string()).or_default();
                    add_lift(l, mature_to, x.day, x.revenue.micros());
                }
                sales = Some(by_sku);
            } else {
                for m in metrics.iter().filter(|m| !m.provisional) {
                    let l = lift.entry(m.sku.to_string()).or_default();
                    add_lift(l, mature_to, m.day, m.conversion_value.micros());
                }
            }
            for v in &variants {
                let c = classify(&v.sku, totals.get(&v.sku), &t);
                *counts.entry(c.class.to_string()).or_default() += 1;
                let l = lift.get(v.sku.as_str()).copied().unwrap_or_default();
                let s = sales
                    .as_ref()
                    .map(|m| m.get(v.sku.as_str()).copied().unwrap_or_default());
                entries.insert(
                    v.sku.to_string(),
                    ClassEntry {
                        c,
                        lift: l,
                        sales: s,
                    },
                );
            }
        }
        let report = ClassifyReport {
            counts,
            classes: entries,
        };
        Ok(StageOutput::new(report, ctx.msg.chunks))
    }
}

/// Otto's own writes, from any cycle: the latest `updatedAt` its applied status and price moves
/// left on each product, and the discount tests that ran their window (restore applied), by SKU.
#[derive(Default)]
struct OwnWrites {
    by_product: HashMap<String, chrono::DateTime<chrono::Utc>>,
    tests: HashMap<String, CompletedTest>,
    /// Otto's last applied status move per product (over the policy's flip window).
    status_moves: HashMap<String, StatusMove>,
}

/// Slack for a write whose vendor answer carries no `updatedAt` (Shopify's price mutation): the
/// row settled right after the vendor took it.
const SETTLE_SLACK: chrono::Duration = chrono::Duration::seconds(60);

impl OwnWrites {
    /// One applied row of Otto's. `cycle` is the cycle deciding now: its own status moves (a
    /// redelivered chunk sees its siblings' rows applied) are this decision, not an earlier flip.
    fn add(&mut self, r: &otto_core::audit::AuditRow, cycle: &CycleId) {
        let RowBody::Decision(d) = &r.body else {
            return;
        };
        if !matches!(r.status, RowStatus::Applied | RowStatus::Reverted) {
            return;
        }
        let product = match &d.reversal_op {
            Some(ReversalOp::ProductStatus { product_id, .. })
            | Some(ReversalOp::VariantPrice { product_id, .. }) => Some(product_id.clone()),
            _ => None,
        }
        .or_else(|| {
            d.result
                .as_ref()
                .and_then(|x| x.pointer("/product/id"))
                .and_then(|v| v.as_str())
                .map(String::from)
        });
        let stamped = d.result.as_ref().and_then(|x| {
            ["/product/updatedAt", "/productVariants/0/updatedAt"]
                .iter()
                .find_map(|p| x.pointer(p).and_then(|v| v.as_str()))
                .and_then(|t| t.parse().ok())
        });
        let at = stamped.unwrap_or(r.updated_at + SETTLE_SLACK);
        if let Some(p) = product {
            if target_status(d.action).is_some() && &r.cycle_id != cycle {
                self.status_move(&p, d.action, r);
            }
            let e = self.by_product.entry(p).or_insert(at);
            *e = (*e).max(at);
        }
        if d.action == Action::PriceRestore && r.status == RowStatus::Applied {
            // The test this restore closed: from its typed move (a legacy row: its figures).
            let opened = match &d.r#move {
                Some(Move::VariantPrice {
                    restores: Some(o), ..
                }) => Some(o.to_string()),
                _ => d
                    .figures
                    .get("restores")
                    .and_then(|v| v.as_str())
                    .map(String::from),
            };
            if let Some(opened) = opened {
                let t = CompletedTest {
                    opened: opened.to_string(),
                    restored_on: r.day(),
                };
                let e = self.tests.entry(d.sku.to_string()).or_insert(t.clone());
                if t.restored_on > e.restored_on {
                    *e = t;
                }
            }
        }
    }
}

impl OwnWrites {
    fn status_move(&mut self, product: &str, action: Action, r: &otto_core::audit::AuditRow) {
        let m = StatusMove {
            action,
            on: r.day(),
            row: r.row_ref.to_string(),
        };
        match self.status_moves.get(product) {
            Some(e) if e.on >= m.on => {}
            _ => {
                self.status_moves.insert(product.to_string(), m);
            }
        }
    }
}

/// Reads Otto's applied writes of the last days (status moves over the policy's lookback, price
/// restores over the discount cooldown, a window and the lookback, so a late-released restore is
/// still seen and a test's cooldown holds).
async fn own_writes(
    ctx: &StageContext<'_>,
    policy: &otto_core::policy::Policy,
) -> Result<OwnWrites, HandlerError> {
    let cycle = &ctx.msg.cycle_id;
    let mut out = OwnWrites::default();
    let writes = i64::from(policy.own_writes_lookback_days.max(1));
    // Restores over the cooldown too: a test's cooldown must hold even when the SKU's carry
    // lost it (a morning without its row), as `otto simulate` found (re-discounted 15–18 days
    // after a restore).
    let restores = writes
        .max(i64::from(policy.discount_window_days))
        .max(i64::from(policy.discount_cooldown_days));
    // Status moves over the flip window: at most one per product per that many days.
    let statuses = writes.max(i64::from(policy.status_flip_min_days));
    for (action, days) in [
        (Action::Draft, statuses),
        (Action::Publish, statuses),
        (Action::ReviveSeasonal, statuses),
        (Action::OnDiscount, writes),
        (Action::PriceRestore, restores),
    ] {
        for back in 0..=days {
            let mut page = PageReq::first(500);
            loop {
                let p = ctx
                    .ports
                    .audit
                    .by_day_action(
                        AuditTable::DecisionLog,
                        &cycle.store,
                        cycle.day.plus_days(-back),
                        Some(action.as_str()),
                        page.clone(),
                    )
                    .await?;
                p.items.iter().for_each(|r| out.add(r, cycle));
                match p.next {
                    Some(c) => page.cursor = Some(c),
                    None => break,
                }
            }
        }
    }
    Ok(out)
}

/// The chunk's variants plus their siblings in other chunks (status is per product), with each
/// one's classify entry; the chunk's own come first (`own` of them).
async fn with_siblings(
    ctx: &StageContext<'_>,
    facts: &CalibrateFacts,
    mut entries: BTreeMap<String, ClassEntry>,
) -> Result<(Vec<Variant>, usize, BTreeMap<String, ClassEntry>), HandlerError> {
    let mut variants = chunk_skus(ctx, facts).await?;
    let own = variants.len();
    if facts.bounds.len() <= 1 {
        return Ok((variants, own, entries));
    }
    let products: std::collections::HashSet<String> =
        variants.iter().map(|v| v.product_id.clone()).collect();
    let mine: std::collections::HashSet<String> =
        variants.iter().map(|v| v.sku.to_string()).collect();
    let outside: Vec<Variant> = ctx
        .ports
        .catalog
        .variants(&ctx.msg.cycle_id.store)
        .await?
        .into_iter()
        .filter(|v| products.contains(&v.product_id) && !mine.contains(v.sku.as_str()))
        .collect();
    let mut chunks: Vec<u32> = outside
        .iter()
        .filter_map(|v| {
            facts
                .bounds
                .iter()
                .position(|(a, b)| v.sku.as_str() >= a.as_str() && v.sku.as_str() <= b.as_str())
        })
        .map(|i| i as u32)
        .collect();
    chunks.sort();
    chunks.dedup();
    for chunk in chunks {
        let (_, theirs) = earlier::<ClassifyReport>(ctx, chunk).await?;
        entries.extend(theirs.classes);
    }
    variants.extend(outside);
    Ok((variants, own, entries))
}

/// The previous cycle's carry per variant (empty on the first cycle).
async fn previous_carry(
    ctx: &StageContext<'_>,
    previous: &Option<(CycleId, Option<chrono::DateTime<chrono::Utc>>)>,
    variants: &[Variant],
) -> Result<Vec<Carry>, HandlerError> {
    let Some((prev, _)) = previous else {
        return Ok(vec![Carry::default(); variants.len()]);
    };
    let keys: Vec<String> = variants
        .iter()
        .map(|v| format!("{prev}|decide|{}", v.sku))
        .collect();
    let rows = ctx
        .ports
        .audit
        .get_many_by_natural_key(AuditTable::DecisionLog, &keys)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| match r.map(|r| r.body) {
            Some(RowBody::Decision(d)) => d
                .figures
                .get("carry")
                .and_then(|c| serde_json::from_value::<Carry>(c.clone()).ok())
                .unwrap_or_default(),
            _ => Carry::default(),
        })
        .collect())
}

/// Applies the per-product gate to every decision, from all the product's variants' decisions.
fn gate_products(
    variants: &[Variant],
    decided: &mut [Option<(Decision, Classification)>],
    moves: &HashMap<String, StatusMove>,
    today: StoreDay,
    rules: &DecisionRules,
) {
    let mut by_product: BTreeMap<&str, Vec<Sibling>> = BTreeMap::new();
    for (v, d) in variants.iter().zip(decided.iter()) {
        if let Some((d, class)) = d {
            by_product.entry(&v.product_id).or_default().push(Sibling {
                sku: v.sku.clone(),
                class: *class,
                action: d.action,
                in_stock: v.inventory > 0,
                drafted_by_otto_on: d.carry.drafted_by_otto_on,
            });
        }
    }
    for (v, d) in variants.iter().zip(decided.iter_mut()) {
        if let (Some((d, _)), Some(s)) = (d, by_product.get(v.product_id.as_str())) {
            let product = Product {
                siblings: s,
                last_status_move: moves.get(&v.product_id),
            };
            gate_product(d, &v.sku, &product, today, rules);
        }
    }
}

/// decision_engine (+ the Phase 2 executor for catalog moves).
struct Decide(Vendors);

#[async_trait]
impl StageBody for Decide {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let cycle = &ctx.msg.cycle_id;
        let (_, classified) = earlier::<ClassifyReport>(ctx, ctx.msg.chunk).await?;
        let entries = classified.classes;
        let facts = calibrate_facts(ctx).await?;
        let calibrate_ref = Some(facts.row_ref.clone());
        let (variants, own, entries) = with_siblings(ctx, &facts, entries).await?;
        let previous = facts.previous.clone();
        let carries = previous_carry(ctx, &previous, &variants).await?;
        let policy =
            otto_store::settings::policy(ctx.ports.settings.as_ref(), &cycle.store).await?;
        let rules = DecisionRules::from_policy(&policy);
        let writes = own_writes(ctx, &policy).await?;
        let open: HashMap<String, StoreDay> = ctx
            .ports
            .catalog
            .open_windows(&cycle.store)
            .await?
            .into_iter()
            .map(|w| (w.sku.to_string(), w.ends_on))
            .collect();
        let mut decided: Vec<Option<(Decision, Classification)>> = variants
            .iter()
            .zip(carries)
            .map(|(v, carry)| {
                let entry = entries.get(v.sku.as_str())?;
                let f = SkuFacts {
                    variant: v,
                    classified: &entry.c,
                    lift: entry.lift,
                    carry,
                    today: cycle.day,
                    last_sync_at: previous.as_ref().and_then(|p| p.1),
                    otto_wrote_at: writes.by_product.get(&v.product_id).copied(),
                    sales: entry.sales,
                    completed_test: writes.tests.get(v.sku.as_str()).cloned(),
                    on_discount_until: open.get(v.sku.as_str()).copied(),
                };
                Some((decide(&f, &rules), entry.c.class))
            })
            .collect();
        gate_products(
            &variants,
            &mut decided,
            &writes.status_moves,
            cycle.day,
            &rules,
        );
        let mut rows = Vec::with_capacity(own);
        for (v, d) in variants.iter().zip(decided).take(own) {
            let Some((d, class)) = d else {
                continue;
            };
            let mut figures = d.figures.clone();
            figures.insert(
                "carry".into(),
                serde_json::to_value(&d.carry).map_err(perm)?,
            );
            figures.insert(
                "candidates".into(),
                serde_json::to_value(&d.candidates).map_err(perm)?,
            );
            if let Some(a) = d.advice {
                figures.insert("advice".into(), json!(a));
            }
            if let Some(r) = &calibrate_ref {
                figures.insert("thresholds_ref".into(), json!(r));
            }
            let status = if d.skip.is_some() {
                RowStatus::Skipped
            } else if !ctx.msg.apply {
                RowStatus::DryRun
            } else if target_status(d.action).is_some() {
                RowStatus::Pending
            } else {
                RowStatus::Recorded
            };
            rows.push(NewRow::for_stage(
                cycle.clone(),
                Stage::Decide,
                status,
                ctx.now,
                RowBody::Decision(DecisionRow {
                    sku: v.sku.clone(),
                    action: d.action,
                    trigger: d.trigger,
                    classification: Some(class),
                    reasoning: d.reasoning,
                    figures,
                    window: None,
                    r#move: target_status(d.action).map(|to| Move::ProductStatus {
                        sku: v.sku.clone(),
                        to,
                    }),
                    reversal_op: None,
                    hold_reason: d.skip,
                    result: None,
                }),
            ));
        }
        let statuses: Vec<RowStatus> = rows.iter().map(|r| r.status).collect();
        let actions: Vec<Action> = rows
            .iter()
            .map(|r| match &r.body {
                RowBody::Decision(d) => d.action,
                _ => Action::Keep,
            })
            .collect();
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let mut report = DecideReport {
            rows: appended.len() as u64,
            ..DecideReport::default()
        };
        for a in &actions {
            *report.by_action.entry(*a).or_default() += 1;
        }
        let via = self.0.via();
        // Phase 2: the executor, row by row. Rows found PENDING/APPLYING on a redelivery resume.
        // On a re-run (rows already there) the stored row decides: the executor returns any status
        // it does not act on unchanged.
        for ((a, status), action) in appended.iter().zip(&statuses).zip(&actions) {
            // A redelivery may decide differently (its siblings' moves are applied by now):
            // the row already stored is what runs, whatever this run would have decided.
            let now_status = if !a.inserted
                || (target_status(*action).is_some() && *status == RowStatus::Pending)
            {
                execute(ctx.ports, via, a.row_ref, &ctx.run())
                    .await?
                    .settled_for_stage()?
                    .row
                    .status
            } else {
                *status
            };
            *report.by_status.entry(now_status).or_default() += 1;
        }
        Ok(StageOutput::new(report, 1))
    }
}

/// This cycle's SKUs with ad advice from the decision engine (SCALE_WINNER, cut its ads), by
/// the campaign that carries each (the ad report's `campaign.id`), with their window spend.
async fn judged_skus(
    ctx: &StageContext<'_>,
    ads: &dyn AdsAccount,
    from: StoreDay,
    to: StoreDay,
) -> Result<HashMap<String, CampaignSkus>, HandlerError> {
    let report = ads.sku_performance_report(from, to).await.map_err(vendor)?;
    let mut spend: HashMap<&str, i64> = HashMap::new();
    for m in &report.metrics {
        *spend.entry(m.sku.as_str()).or_default() += m.cost.micros();
    }
    let mut out: HashMap<String, CampaignSkus> = HashMap::new();
    let mut page = PageReq::first(500);
    loop {
        let p = ctx
            .ports
            .audit
            .by_cycle(AuditTable::DecisionLog, &ctx.msg.cycle_id, page.clone())
            .await?;
        for r in &p.items {
            let RowBody::Decision(d) = &r.body else {
                continue;
            };
            let advice = d
                .figures
                .get("advice")
                .and_then(|a| serde_json::from_value::<Advice>(a.clone()).ok());
            let (Some(advice), Some(campaign)) = (advice, report.campaigns.get(&d.sku)) else {
                continue;
            };
            if r.status == RowStatus::Skipped {
                continue;
            }
            let judged = JudgedSku {
                sku: d.sku.clone(),
                row: r.row_ref.to_string(),
                spend_micros: spend.get(d.sku.as_str()).copied().unwrap_or(0),
            };
            let e = out.entry(campaign.clone()).or_default();
            match advice {
                Advice::ScaleAds => e.scale.push(judged),
                Advice::CutAds => e.cut.push(judged),
            }
        }
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Campaign Specialist: planner + judge per channel (Google Ads).
struct CampaignPlan(Vendors);

#[async_trait]
impl StageBody for CampaignPlan {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let cycle = &ctx.msg.cycle_id;
        let store = &cycle.store;
        let rules = PlanRules::default();
        let policy = otto_store::settings::policy(ctx.ports.settings.as_ref(), store).await?;
        let to = cycle.day.plus_days(-1);
        let from = to.plus_days(-(i64::from(rules.window_days) - 1));
        let days = ctx.ports.catalog.campaign_days(store, from, to).await?;
        let budgets = ctx.ports.catalog.budgets(store).await?;
        let external = earlier::<SyncReport>(ctx, 0)
            .await?
            .1
            .external_budget_changes;
        // The account's ROAS over the window's two halves (mature days only).
        let mid = from.plus_days(i64::from(rules.window_days) / 2);
        let (mut before, mut after) = ((0i64, 0i64), (0i64, 0i64));
        for d in days.iter().filter(|d| !d.provisional) {
            let half = if d.day < mid { &mut before } else { &mut after };
            half.0 += d.conversion_value.micros();
            half.1 += d.cost.micros();
        }
        let account = RoasTrend::from_totals(before, after);
        let currency = budgets.first().map(|b| b.amount.currency());
        let store_mer = match currency {
            Some(c) if sales_available(ctx).await? => {
                let skus = catalog_skus(ctx).await?;
                campaign_watch::store_mer(ctx, &days, (from, mid, to), skus, c).await?
            }
            _ => (None, None),
        };
        let judged = judged_skus(ctx, self.0.ads.as_ref(), from, to).await?;
        let week = cycle.day.iso_week();
        let mut used = ctx
            .ports
            .counters
            .value(&budget_counter(store, &week))
            .await? as u32;
        let mut rows = Vec::new();
        let (mut proposals, mut agreed) = (0u32, 0u32);
        // One move per campaign from both planners, judged highest priority weight first.
        let mut planned = Vec::new();
        for b in &budgets {
            let mine: Vec<_> = days
                .iter()
                .filter(|d| d.campaign_id == b.campaign_id)
                .cloned()
                .collect();
            let seen = watch(&mine, from, to, b.amount.currency(), store_mer.1);
            let skus = judged.get(&b.campaign_id).cloned().unwrap_or_default();
            let Some(mut p) = merge(
                propose(b, &mine, account, &rules),
                propose_for_skus(b, &mine, &skus, &rules),
            ) else {
                rows.push(campaign_watch::watch_row(ctx, b, seen));
                continue;
            };
            if !skus.is_empty() {
                p.figures.insert("skus".into(), json!(skus));
            }
            for (k, v) in performance_figures(&mine, account) {
                p.figures.entry(k).or_insert(v);
            }
            planned.push(((b, seen), p));
        }
        for (rank_no, ((b, seen), mut p)) in rank(planned).into_iter().enumerate() {
            p.figures.insert("basis".into(), json!(p.basis));
            p.figures.insert("evidence_bp".into(), json!(p.evidence_bp));
            p.figures.insert(
                "priority_weight_per_day".into(),
                json!(Money::from_micros(
                    priority_weight_micros(&p),
                    p.budget_before.currency()
                )),
            );
            p.figures.insert("priority_rank".into(), json!(rank_no + 1));
            proposals += 1;
            let horizon = cycle
                .day
                .plus_days(-i64::from(policy.budget_cooldown_days) - 1);
            let last_change_on =
                campaign_watch::last_applied_change(ctx, &b.campaign_id, horizon).await?;
            let inputs = JudgeInputs {
                max_step_bp: policy.max_budget_step_bp,
                cooldown_days: policy.budget_cooldown_days,
                weekly_limit: policy.budget_changes_per_week,
                used_this_week: used,
                last_change_on,
                external_change: external.iter().any(|r| r == &b.budget_resource).then(|| {
                    otto_core::metrics::ExternalChange {
                        resource: b.budget_resource.clone(),
                        changed_at: ctx.now,
                        client_type: "reported by change_event".into(),
                        changed_fields: vec!["amount_micros".into()],
                    }
                }),
                today: cycle.day,
            };
            let verdict = judge(&p, b, &inputs);
            let mut figures = p.figures.clone();
            figures.insert("budget_resource".into(), json!(b.budget_resource));
            figures.insert("explicitly_shared".into(), json!(b.explicitly_shared));
            let (status, position, reasoning) = match &verdict {
                Verdict::Agree => {
                    agreed += 1;
                    used += 1;
                    // The dry run is the apply path with the mutation withheld: Google validates it.
                    if !ctx.msg.apply {
                        let check = self
                            .0
                            .ads
                            .set_budget(&b.budget_resource, p.budget_after, true)
                            .await;
                        figures.insert(
                            "validate_only".into(),
                            match check {
                                Ok(v) => v,
                                Err(e) => json!({"error": e.to_string()}),
                            },
                        );
                    }
                    (
                        if ctx.msg.apply {
                            RowStatus::Pending
                        } else {
                            RowStatus::DryRun
                        },
                        (used, inputs.weekly_limit),
                        p.reasoning.clone(),
                    )
                }
                Verdict::Disagree(why) => (
                    RowStatus::Refused,
                    (used, inputs.weekly_limit),
                    format!("{} — judge: {why}", p.reasoning),
                ),
            };
            rows.push(NewRow::for_stage(
                cycle.clone(),
                Stage::CampaignPlan,
                status,
                ctx.now,
                RowBody::AdDecision(AdDecisionRow {
                    channel: "google_ads".into(),
                    campaign: p.campaign.clone(),
                    campaign_id: p.campaign_id.clone(),
                    action: p.action,
                    verdict: verdict.as_str().into(),
                    reasoning,
                    figures,
                    budget_before: Some(p.budget_before),
                    budget_after: Some(p.budget_after),
                    rate_limit_position: Some(position),
                    watch: Some(Box::new(seen)),
                    r#move: matches!(verdict, Verdict::Agree).then(|| Move::CampaignBudget {
                        budget_resource: b.budget_resource.clone(),
                        expected: Some(p.budget_before),
                        amount: p.budget_after,
                    }),
                    reversal_op: None,
                    hold_reason: match verdict {
                        Verdict::Disagree(w) => Some(w),
                        Verdict::Agree => None,
                    },
                    result: None,
                }),
            ));
        }
        let statuses: Vec<RowStatus> = rows.iter().map(|r| r.status).collect();
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let mut ad_moves = 0u32;
        let via = self.0.via();
        let mut held = 0u32;
        for (a, s) in appended.iter().zip(&statuses) {
            // A row already there (a redelivery) is the stored one, whatever this run planned:
            // the executor settles a move left PENDING and leaves a KEEP row (no move) as it is.
            if *s == RowStatus::Pending || !a.inserted {
                let out = execute(ctx.ports, via, a.row_ref, &ctx.run())
                    .await?
                    .settled_for_stage()?;
                match out.row.status {
                    RowStatus::Applied => ad_moves += 1,
                    RowStatus::Held => held += 1,
                    _ => {}
                }
            }
        }
        let agreement_bp = (agreed * 10_000).checked_div(proposals);
        let ads = AdCounts {
            proposals,
            agreed,
            agreement_bp,
            moves: ad_moves,
            held,
            account_roas: account,
            store_mer,
        };
        let report = CampaignPlanReport {
            proposals,
            agreed,
            judge_agreement_bp: agreement_bp,
            account_roas_before_bp: account.before_bp,
            account_roas_after_bp: account.after_bp,
            store_mer_before_bp: store_mer.0,
            store_mer_after_bp: store_mer.1,
            summary: cycle_summary(ctx, &ads).await?,
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// The ad side of the morning, for its summary.
struct AdCounts {
    proposals: u32,
    agreed: u32,
    agreement_bp: Option<u32>,
    moves: u32,
    held: u32,
    account_roas: RoasTrend,
    /// The store's MER in the window's two halves.
    store_mer: (Option<i64>, Option<i64>),
}

/// The cycle summary Otto answers "How did the morning cycle go?" from: counts by action, ad moves,
/// judge agreement, MER, held rows.
async fn cycle_summary(
    ctx: &StageContext<'_>,
    ads: &AdCounts,
) -> Result<MorningSummary, HandlerError> {
    let cycle = &ctx.msg.cycle_id;
    let mut s = MorningSummary {
        ad_proposals: ads.proposals,
        ad_agreed: ads.agreed,
        ad_moves: ads.moves,
        ad_held: ads.held,
        judge_agreement_bp: ads.agreement_bp,
        account_roas_before_bp: ads.account_roas.before_bp,
        account_roas_after_bp: ads.account_roas.after_bp,
        store_mer_before_bp: ads.store_mer.0,
        store_mer_after_bp: ads.store_mer.1,
        ..MorningSummary::default()
    };
    // Decide's chunk rows only, by natural key (two batched reads), not every stage row of the
    // cycle (classify's rows carry each SKU's class and are by far the largest).
    let facts = calibrate_facts(ctx).await?;
    let keys: Vec<String> = (0..facts.bounds.len().max(1))
        .map(|chunk| format!("{cycle}|{}|{chunk}", Stage::Decide))
        .collect();
    let decided = ctx
        .ports
        .audit
        .get_many_by_natural_key(AuditTable::StageRuns, &keys)
        .await?;
    for r in decided.into_iter().flatten() {
        if let RowBody::StageRun(run) = r.body {
            let Some(d) = run.into_report::<DecideReport>() else {
                continue;
            };
            for (k, v) in d.by_action {
                *s.by_action.entry(k).or_default() += v;
            }
            for (k, v) in d.by_status {
                *s.by_status.entry(k).or_default() += v;
            }
            s.decision_rows += d.rows;
        }
    }
    s.held_rows = ctx
        .ports
        .audit
        .by_status(
            AuditTable::DecisionLog,
            &cycle.store,
            RowStatus::Held,
            PageReq::first(1000),
        )
        .await?
        .items
        .into_iter()
        .filter(|r| &r.cycle_id == cycle)
        .map(|r| r.row_ref)
        .collect();
    Ok(s)
}
