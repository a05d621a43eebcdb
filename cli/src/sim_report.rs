//! What `otto simulate` reports per policy: the ledger's totals, the moves the shop saw, status
//! flips, the most of the catalog on discount at once, and (for Otto) the audit rows and the
//! invariant violations; as a table for people or JSON (money as decimal strings).

use crate::simulate::Policy;
use otto_core::audit::{AuditTable, RowBody};
use otto_core::{Money, StoreDay, StoreId};
use otto_sim::invariants::{flip_violations, InvariantReport, InvariantRules};
use otto_sim::precision::{loser_precision, unpublish_precision, Precision};
use otto_sim::reverted::{reverted_moves, RevertedMoves};
use otto_sim::{Actor, LedgerTotals, SimShop};
use otto_store::{AuditLog, PageReq, StoreError};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write;
use std::time::Duration;

/// Audit rows that carry a move, by action and status (e.g. DRAFT → APPLIED → 12).
pub type MoveRows = BTreeMap<String, BTreeMap<String, usize>>;

pub struct PolicyReport {
    pub policy: Policy,
    pub totals: Option<LedgerTotals>,
    pub moves: usize,
    pub status_flips: usize,
    pub max_flips_one_product_30d: usize,
    pub flip_violations: usize,
    pub max_share_on_discount_bp: u32,
    /// Products the policy unpublished, and how many of them the truth says lose money.
    pub unpublished: usize,
    pub unpublished_true_losers: usize,
    /// Status and budget moves, and how many the policy reversed within 30 days.
    pub reverted: RevertedMoves,
    /// Of the SKUs the policy classed LOSER (Otto only), how many lose money in the truth.
    pub loser_precision: Option<Precision>,
    pub days: u32,
    pub invariants: Option<InvariantReport>,
    pub rows: Option<MoveRows>,
    pub cycle_failures: Vec<String>,
    pub wall: Duration,
}

impl PolicyReport {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        policy: Policy,
        shop: &SimShop,
        start: StoreDay,
        days: u32,
        invariants: Option<InvariantReport>,
        rows: Option<MoveRows>,
        loser_skus: Option<BTreeSet<String>>,
        cycle_failures: Vec<String>,
        wall: Duration,
    ) -> PolicyReport {
        let writes: Vec<_> = shop
            .writes()
            .into_iter()
            .filter(|w| w.actor == Actor::Policy)
            .collect();
        let flips: Vec<_> = writes.iter().filter(|w| w.is_status_flip()).collect();
        let unpublished: std::collections::BTreeSet<&str> = flips
            .iter()
            .filter_map(|w| match &w.change {
                otto_sim::Change::Status { product_id, to, .. }
                    if *to != otto_core::metrics::ProductStatus::Active =>
                {
                    Some(product_id.as_str())
                }
                _ => None,
            })
            .collect();
        let truth = shop.truth();
        let true_losers = unpublish_precision(truth, unpublished.iter().copied()).true_losers;
        PolicyReport {
            policy,
            totals: shop.totals_from(start),
            moves: writes.len(),
            status_flips: flips.len(),
            max_flips_one_product_30d: max_flips_in_30_days(&flips),
            flip_violations: flip_violations(&writes, &HashMap::new(), &InvariantRules::default())
                .len(),
            max_share_on_discount_bp: shop.max_share_on_discount_bp(start),
            unpublished: unpublished.len(),
            unpublished_true_losers: true_losers,
            reverted: reverted_moves(&writes, REVERT_WINDOW_DAYS),
            loser_precision: loser_skus
                .as_ref()
                .map(|s| loser_precision(truth, s.iter().map(String::as_str))),
            days,
            invariants,
            rows,
            cycle_failures,
            wall,
        }
    }

    fn profit(&self) -> i64 {
        self.totals.as_ref().map_or(0, |t| t.profit.micros())
    }

    fn to_json(&self, baseline: i64) -> Value {
        let money = |f: fn(&LedgerTotals) -> Money| {
            self.totals.as_ref().map(|t| f(t).rounded().amount_string())
        };
        json!({
            // From the parts as reported (each to the cent), so the printed figures add up.
            "profit": money(reported_profit),
            "revenue": money(|t| t.revenue),
            "ad_spend": money(|t| t.ad_spend),
            "cogs": money(|t| t.cogs),
            "discount_cost": money(|t| t.discount_cost),
            "currency": self.totals.as_ref().map(|t| t.profit.currency().code().to_string()),
            "units": self.totals.as_ref().map(|t| t.units),
            "profit_vs_do_nothing_bp": vs_bp(self.profit(), baseline),
            "moves": self.moves,
            "status_flips": self.status_flips,
            "status_flips_per_30_days": per_30_days(self.status_flips, self.days),
            "max_status_flips_one_product_30_days": self.max_flips_one_product_30d,
            "status_flip_violations": self.flip_violations,
            "max_share_on_discount_bp": self.max_share_on_discount_bp,
            "unpublished_products": self.unpublished,
            "unpublished_true_losers": self.unpublished_true_losers,
            "unpublish_precision_bp": Precision {
                judged: self.unpublished,
                true_losers: self.unpublished_true_losers,
            }
            .bp(),
            "reverted_moves": self.reverted,
            "reverted_share_bp": self.reverted.share_bp(),
            "loser_precision": self.loser_precision,
            "loser_precision_bp": self.loser_precision.and_then(|p| p.bp()),
            "invariant_violations": self.invariants.as_ref().map(|i| i.total()),
            "invariants": self.invariants.as_ref().map(|i| json!({
                "counts": i.counts,
                "violations": i.violations.iter().take(200).collect::<Vec<_>>(),
            })),
            "rows_with_moves": self.rows,
            "cycle_failures": self.cycle_failures,
            "wall_seconds": (self.wall.as_millis() as f64) / 1000.0,
        })
    }
}

pub struct RunReport {
    pub seed: u64,
    pub variants: usize,
    pub days: u32,
    pub start: StoreDay,
    pub warmup_days: u32,
    pub time_zone: String,
    pub policies: Vec<PolicyReport>,
}

impl RunReport {
    fn baseline(&self) -> i64 {
        self.policies
            .iter()
            .find(|p| p.policy == Policy::DoNothing)
            .map_or(0, |p| p.profit())
    }

    pub fn to_json(&self) -> Value {
        let base = self.baseline();
        let policies: serde_json::Map<String, Value> = self
            .policies
            .iter()
            .map(|p| (p.policy.key().to_string(), p.to_json(base)))
            .collect();
        json!({
            "seed": self.seed,
            "variants": self.variants,
            "days": self.days,
            "start": self.start,
            "warmup_days": self.warmup_days,
            "time_zone": self.time_zone,
            "policies": policies,
        })
    }
}

/// Profit relative to the baseline, basis points of the baseline's magnitude.
/// Profit from the parts as reported (each to the cent), so the printed figures add up.
fn reported_profit(t: &LedgerTotals) -> Money {
    let part = |m: Money| m.rounded().micros();
    Money::from_micros(
        part(t.revenue) - part(t.cogs) - part(t.ad_spend),
        t.profit.currency(),
    )
}

fn vs_bp(profit: i64, baseline: i64) -> Option<i64> {
    (baseline != 0).then(|| {
        ((i128::from(profit) - i128::from(baseline)) * 10_000 / i128::from(baseline).abs()) as i64
    })
}

/// Days within which a move undone by the same policy counts as reverted (docs/SIMULATION.md).
pub const REVERT_WINDOW_DAYS: i64 = 30;

fn per_30_days(n: usize, days: u32) -> f64 {
    if days == 0 {
        return 0.0;
    }
    (n as f64 * 30.0 / f64::from(days) * 10.0).round() / 10.0
}

fn pct(bp: i64) -> String {
    let sign = if bp < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}%", bp.abs() / 100, bp.abs() % 100)
}

fn max_flips_in_30_days(flips: &[&otto_sim::ShopWrite]) -> usize {
    let mut by: BTreeMap<String, Vec<StoreDay>> = BTreeMap::new();
    for w in flips {
        if let otto_sim::Change::Status { product_id, .. } = &w.change {
            by.entry(product_id.clone()).or_default().push(w.day);
        }
    }
    by.values()
        .map(|days| {
            (0..days.len())
                .map(|i| {
                    days[i..]
                        .iter()
                        .take_while(|d| d.days_since(days[i]) < 30)
                        .count()
                })
                .max()
                .unwrap_or(0)
        })
        .max()
        .unwrap_or(0)
}

/// Rows with a move in decision_log and ad_decision_log, by action and status.
pub async fn move_rows(audit: &dyn AuditLog, store: &StoreId) -> Result<MoveRows, StoreError> {
    let mut out = MoveRows::new();
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        let mut page = PageReq::first(1_000);
        loop {
            let p = audit.list_table(table, page.clone()).await?;
            for r in p.items.iter().filter(|r| r.store() == store) {
                let has_move = match &r.body {
                    RowBody::Decision(d) => d.r#move.is_some(),
                    RowBody::AdDecision(a) => a.r#move.is_some(),
                    _ => false,
                };
                if has_move {
                    *out.entry(r.action_key())
                        .or_default()
                        .entry(r.status.to_string())
                        .or_default() += 1;
                }
            }
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    Ok(out)
}

/// Distinct SKUs Otto's decision rows classed LOSER (any cycle, any status).
pub async fn loser_skus(
    audit: &dyn AuditLog,
    store: &StoreId,
) -> Result<BTreeSet<String>, StoreError> {
    let mut out = BTreeSet::new();
    let mut page = PageReq::first(1_000);
    loop {
        let p = audit
            .list_table(AuditTable::DecisionLog, page.clone())
            .await?;
        for r in p.items.iter().filter(|r| r.store() == store) {
            if let RowBody::Decision(d) = &r.body {
                if d.classification == Some(otto_core::action::Classification::Loser) {
                    out.insert(d.sku.to_string());
                }
            }
        }
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// One progress line (stderr) after a simulated day.
pub fn progress(
    policy: Policy,
    shop: &SimShop,
    start: StoreDay,
    day: StoreDay,
    n: i64,
    days: u32,
) -> String {
    let profit = shop
        .totals_from(start)
        .map(|t| t.profit.to_string())
        .unwrap_or_default();
    let moves = shop
        .writes()
        .iter()
        .filter(|w| w.actor == Actor::Policy)
        .count();
    let share = shop
        .discount_share_by_day()
        .get(&day.plus_days(1))
        .copied()
        .unwrap_or(0);
    format!(
        "{:<11} day {n:>3}/{days} {day}: contribution so far {profit}, {moves} moves, {} of the catalog on discount",
        policy.key(),
        pct(i64::from(share))
    )
}

/// The comparison table.
pub fn table(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "otto simulate — {} variants, {} days from {} ({}), seed {}, after {} days of shop history",
        r.variants, r.days, r.start, r.time_zone, r.seed, r.warmup_days
    );
    let _ = writeln!(
        s,
        "{:<12} {:>14} {:>9} {:>14} {:>14} {:>12} {:>14} {:>6} {:>7} {:>14} {:>12} {:>10} {:>10} {:>10} {:>7}",
        "policy",
        "profit",
        "vs none",
        "revenue",
        "ad spend",
        "COGS",
        "discount cost",
        "moves",
        "flips",
        "unpub (losers)",
        "max on disc.",
        "reverted",
        "LOSER prec.",
        "violations",
        "wall"
    );
    let base = r.baseline();
    for p in &r.policies {
        let m = |f: fn(&LedgerTotals) -> Money| {
            p.totals
                .as_ref()
                .map(|t| f(t).to_string())
                .unwrap_or_default()
        };
        let _ = writeln!(
            s,
            "{:<12} {:>14} {:>9} {:>14} {:>14} {:>12} {:>14} {:>6} {:>7} {:>14} {:>12} {:>10} {:>10} {:>10} {:>6.1}s",
            p.policy.key(),
            m(reported_profit),
            vs_bp(p.profit(), base).map(pct).unwrap_or_default(),
            m(|t| t.revenue),
            m(|t| t.ad_spend),
            m(|t| t.cogs),
            m(|t| t.discount_cost),
            p.moves,
            p.status_flips,
            format!("{} ({})", p.unpublished, p.unpublished_true_losers),
            pct(i64::from(p.max_share_on_discount_bp)),
            p.reverted.share_bp().map(pct).unwrap_or_else(|| "-".into()),
            p.loser_precision
                .and_then(|l| l.bp())
                .map(pct)
                .unwrap_or_else(|| "-".into()),
            p.invariants
                .as_ref()
                .map(|i| i.total().to_string())
                .unwrap_or_else(|| "-".into()),
            p.wall.as_secs_f64(),
        );
    }
    for p in &r.policies {
        if let Some(i) = &p.invariants {
            let _ = writeln!(s, "invariants over {}'s audit rows:", p.policy.key());
            if i.counts.is_empty() {
                let _ = writeln!(s, "  all held");
            }
            for (k, n) in &i.counts {
                let first = i.violations.iter().find(|v| v.invariant == *k);
                let _ = writeln!(
                    s,
                    "  {:<30} {n:>5}   e.g. {}",
                    serde_json::to_value(k)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default(),
                    first
                        .map(|v| format!("{} [{}]", v.detail, v.refs.join(", ")))
                        .unwrap_or_default()
                );
            }
        }
        if !p.cycle_failures.is_empty() {
            let _ = writeln!(
                s,
                "{}: {} cycle(s) failed, first: {}",
                p.policy.key(),
                p.cycle_failures.len(),
                p.cycle_failures[0]
            );
        }
    }
    s
}
