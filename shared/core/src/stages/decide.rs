//! decision_engine: exactly one Action per SKU, with its trigger, its reasoning, the figures that
//! decided it and the candidate actions that lost (and why).
//!
//! Rules, in order:
//! 1. A variant someone else edited since the last cycle (Shopify `updatedAt` newer than the last
//!    sync, and not one of Otto's own writes from any cycle) is skipped: KEEP, with the reason.
//! 2. DRAFT variants: REVIVE_SEASONAL when a `season:*` tag is in season and stock is on hand;
//!    PUBLISH when stock is on hand, the unit cost is known, the margin clears the floor and Otto
//!    did not draft it itself within the cool-off; otherwise KEEP.
//! 3. ACTIVE variants, weighed whole — store sales from orders (every channel), margin and stock,
//!    not ad ROAS alone: out of stock → KEEP; on a discount test → KEEP until it is restored;
//!    ads that lose money on a variant that sells on its own → KEEP with advice to cut its ads
//!    (never an unpublish); WINNER → SCALE_WINNER (advice) when stock covers it; MID/LOSER without
//!    lift for `streak_for_discount` cycles → DISCOUNT_TEST (trigger OPTIMIZE_CYCLE_FAILED)
//!    unless the margin floor rules a test out or the last test is within its cooldown; a LOSER
//!    is drafted only after a test really ran (applied, reached its TTL, restored) and
//!    `no_lift_cycles_after_test` morning cycles after the restore showed no lift, and only
//!    when the whole variant loses money.
//! 4. Status is per product ([`gate_product`]): a DRAFT stands only when every sibling with stock
//!    is due a DRAFT too (never with a WINNER or MID sibling); a PUBLISH waits while Otto's own
//!    draft of any sibling is in its cool-off; and no status move (DRAFT, PUBLISH,
//!    REVIVE_SEASONAL) within `status_flip_min_days` of Otto's last applied status move of the
//!    product, from any cycle.

use super::classify::Classified;
use super::discount::plan_discount;
use crate::action::{Action, Classification};
use crate::ids::Sku;
use crate::metrics::{ProductStatus, Variant};
use crate::money::Money;
use crate::policy::{MarginTier, Policy};
use crate::time::StoreDay;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// The decision_engine's limits, from the store's [`Policy`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRules {
    /// Growth of sales (last 7 days vs the 7 before) that counts as lift, bp.
    pub lift_min_bp: i64,
    /// Cycles without lift before OPTIMIZE_CYCLE_FAILED.
    pub streak_for_discount: u32,
    /// Least margin ((price − cost) ÷ price) to publish a draft, bp.
    pub publish_min_margin_bp: i64,
    /// Days after Otto drafted a variant before it may publish it again.
    pub redraft_cooldown_days: i64,
    /// Morning cycles after a test's restore without lift before a LOSER is drafted.
    pub no_lift_cycles_after_test: u32,
    /// Days after a restore before the same SKU may be discounted again.
    pub discount_cooldown_days: i64,
    /// Share of store revenue without an ad click that makes a variant sell on its own, bp.
    pub own_sales_min_share_bp: i64,
    /// Days of stock a WINNER needs before more ad spend is advised.
    pub scale_min_cover_days: i64,
    /// The discount a test would open, and the margin tiers that gate it.
    pub discount_percent_bp: u32,
    pub margin_tiers: Vec<MarginTier>,
    /// Least days between two of Otto's status moves of one product.
    #[serde(default)]
    pub status_flip_min_days: i64,
}

impl DecisionRules {
    pub fn from_policy(p: &Policy) -> Self {
        DecisionRules {
            lift_min_bp: p.lift_min_bp,
            streak_for_discount: p.no_lift_cycles_for_discount,
            publish_min_margin_bp: p.publish_min_margin_bp,
            redraft_cooldown_days: i64::from(p.republish_cooldown_days),
            no_lift_cycles_after_test: p.no_lift_cycles_after_test,
            discount_cooldown_days: i64::from(p.discount_cooldown_days),
            own_sales_min_share_bp: i64::from(p.own_sales_min_share_bp),
            scale_min_cover_days: i64::from(p.scale_min_cover_days),
            discount_percent_bp: p.discount_percent_bp,
            margin_tiers: p.margin_tiers.clone(),
            status_flip_min_days: i64::from(p.status_flip_min_days),
        }
    }
}

impl Default for DecisionRules {
    fn default() -> Self {
        DecisionRules::from_policy(&Policy::default())
    }
}

/// A discount test that really ran its window: its ON_DISCOUNT applied and its PRICE_RESTORE
/// applied (found in the audit log, never inferred from a proposal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompletedTest {
    /// The ON_DISCOUNT row that opened the window.
    pub opened: String,
    /// The store day of the restore.
    pub restored_on: StoreDay,
}

/// What a SKU carries from one cycle to the next (stored in its decision row's figures).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carry {
    #[serde(default)]
    pub no_lift_streak: u32,
    /// The last discount test that ran its window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<CompletedTest>,
    /// Morning cycles since `last_test`'s restore, all without lift.
    #[serde(default)]
    pub no_lift_since_test: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_by_otto_on: Option<StoreDay>,
}

/// Growth of sales in the last 7 days vs the 7 before (provisional days excluded): store
/// revenue from orders when the shop reports them, else the ads' conversion value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lift {
    pub recent_value_micros: i64,
    pub prior_value_micros: i64,
}

impl Lift {
    /// Growth in bp; None when there is nothing to compare against.
    pub fn growth_bp(&self) -> Option<i64> {
        (self.prior_value_micros > 0).then(|| {
            ((i128::from(self.recent_value_micros) - i128::from(self.prior_value_micros)) * 10_000
                / i128::from(self.prior_value_micros)) as i64
        })
    }
    pub fn lifted(&self, rules: &DecisionRules) -> bool {
        match self.growth_bp() {
            Some(g) => g >= rules.lift_min_bp,
            None => self.recent_value_micros > 0,
        }
    }
}

/// A variant's store sales over the classification window, from the shop's orders.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSales {
    pub units: i64,
    pub revenue_micros: i64,
}

pub struct SkuFacts<'a> {
    pub variant: &'a Variant,
    pub classified: &'a Classified,
    pub lift: Lift,
    pub carry: Carry,
    pub today: StoreDay,
    /// When the previous cycle synced the catalog (None on the first cycle).
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The latest `updatedAt` Otto's own writes (any cycle, any kind) left on this product.
    pub otto_wrote_at: Option<DateTime<Utc>>,
    /// Store sales in the window; None when the shop cannot report orders.
    pub sales: Option<StoreSales>,
    /// The last discount test found to have run its window (from applied rows).
    pub completed_test: Option<CompletedTest>,
    /// The end of the SKU's open discount window, if one is open.
    pub on_discount_until: Option<StoreDay>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub action: Action,
    pub why_not: String,
}

/// A recommendation Otto cannot carry out itself: the row says it plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Advice {
    /// Lower this SKU's bid or exclude it from the shopping campaign: its ads lose money.
    CutAds,
    /// Give the campaign that sells this SKU more budget: it earns and has stock.
    ScaleAds,
}

/// What becomes of ad advice: the campaign planner steps the budget of the campaign that carries
/// the SKU (from the ad report's `campaign.id`), when the judge agrees.
pub const BUDGET_BY_PLANNER: &str =
    "the campaign planner steps the budget of the campaign that carries it (ad_decision_log), if the judge agrees";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    pub trigger: Option<Action>,
    pub reasoning: String,
    /// Set when the SKU is skipped (external edit): the row is logged SKIPPED with this reason.
    pub skip: Option<String>,
    pub figures: BTreeMap<String, Value>,
    pub candidates: Vec<Candidate>,
    pub carry: Carry,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advice: Option<Advice>,
}

fn in_season(tags: &[String], day: StoreDay) -> Option<&str> {
    let month = day.date().month();
    tags.iter().find_map(|t| match t.as_str() {
        "season:summer" if (5..=8).contains(&month) => Some("summer"),
        "season:winter" if matches!(month, 11 | 12 | 1 | 2) => Some("winter"),
        _ => None,
    })
}

fn margin_bp(v: &Variant) -> Option<i64> {
    let cost = v.unit_cost?;
    if v.price.micros() <= 0 || cost.currency() != v.price.currency() {
        return None;
    }
    Some(
        ((i128::from(v.price.micros()) - i128::from(cost.micros())) * 10_000
            / i128::from(v.price.micros())) as i64,
    )
}

fn share(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        return 0;
    }
    (i128::from(part) * 10_000 / i128::from(whole)) as i64
}

fn no(action: Action, why: impl Into<String>) -> Candidate {
    Candidate {
        action,
        why_not: why.into(),
    }
}

/// The variant weighed whole: what the store sold (every channel), what the ads claim and cost,
/// and what is left after margin and ad spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole {
    /// Store revenue from orders, or the ads' conversion value when the shop cannot report.
    pub revenue_micros: i64,
    pub from_orders: bool,
    pub units: Option<i64>,
    pub ad_cost_micros: i64,
    pub ad_value_micros: i64,
    pub margin_bp: Option<i64>,
}

impl Whole {
    pub fn of(f: &SkuFacts<'_>) -> Self {
        let c = f.classified;
        Whole {
            revenue_micros: f.sales.map_or(c.value_micros, |s| s.revenue_micros),
            from_orders: f.sales.is_some(),
            units: f.sales.map(|s| s.units),
            ad_cost_micros: c.cost_micros,
            ad_value_micros: c.value_micros,
            margin_bp: margin_bp(f.variant),
        }
    }
    /// Revenue no ad click claims, as a share of store revenue (0 without orders).
    pub fn own_share_bp(&self) -> i64 {
        if !self.from_orders {
            return 0;
        }
        share(
            (self.revenue_micros - self.ad_value_micros).max(0),
            self.revenue_micros,
        )
    }
    pub fn sells_on_its_own(&self, rules: &DecisionRules) -> bool {
        self.units.is_some_and(|u| u > 0) && self.own_share_bp() >= rules.own_sales_min_share_bp
    }
    fn gross(&self, value: i64) -> Option<i64> {
        self.margin_bp
            .map(|m| (i128::from(value) * i128::from(m) / 10_000) as i64)
    }
    /// The ads' claimed value earns less margin than they cost.
    pub fn ads_lose_money(&self) -> bool {
        self.ad_cost_micros > 0
            && self
                .gross(self.ad_value_micros)
                .is_some_and(|g| g < self.ad_cost_micros)
    }
    /// Gross margin on every sale minus ad spend; None without a known unit cost.
    pub fn contribution_micros(&self) -> Option<i64> {
        Some(self.gross(self.revenue_micros)? - self.ad_cost_micros)
    }
    fn figures(&self, currency: crate::money::Currency) -> Value {
        let m = |x| Money::from_micros(x, currency);
        json!({
            "source": if self.from_orders { "shop orders" } else { "ad figures only: the shop cannot report orders" },
            "store_revenue_28d": self.from_orders.then(|| m(self.revenue_micros)),
            "units_28d": self.units,
            "own_sales_share_bp": self.from_orders.then(|| self.own_share_bp()),
            "ads_lose_money": self.ads_lose_money(),
            "contribution_28d": self.contribution_micros().map(m),
        })
    }
}

/// Builds a Decision from the facts' figures and carry.
struct Out {
    figures: BTreeMap<String, Value>,
    carry: Carry,
}

impl Out {
    fn to(
        self,
        action: Action,
        trigger: Option<Action>,
        reasoning: String,
        candidates: Vec<Candidate>,
    ) -> Decision {
        Decision {
            action,
            trigger,
            reasoning,
            skip: None,
            figures: self.figures,
            candidates,
            carry: self.carry,
            advice: None,
        }
    }
    fn keep(self, reasoning: String, candidates: Vec<Candidate>) -> Decision {
        self.to(Action::Keep, None, reasoning, candidates)
    }
}

fn base_figures(f: &SkuFacts<'_>) -> BTreeMap<String, Value> {
    let (v, c) = (f.variant, f.classified);
    let cur = v.price.currency();
    let mut figures = BTreeMap::from([
        ("classification".to_string(), json!(c.class.as_str())),
        ("classification_reason".to_string(), json!(c.reason)),
        ("roas_bp".to_string(), json!(c.roas_bp)),
        ("impressions_28d".to_string(), json!(c.impressions)),
        (
            "spend_28d".to_string(),
            json!(Money::from_micros(c.cost_micros, cur)),
        ),
        (
            "value_28d".to_string(),
            json!(Money::from_micros(c.value_micros, cur)),
        ),
        ("price".to_string(), json!(v.price)),
        ("inventory".to_string(), json!(v.inventory)),
        ("status".to_string(), json!(v.status)),
        ("lift_growth_bp".to_string(), json!(f.lift.growth_bp())),
        ("whole_variant".to_string(), Whole::of(f).figures(cur)),
    ]);
    if let Some(m) = margin_bp(v) {
        figures.insert("margin_bp".into(), json!(m));
    }
    figures
}

/// Decides the one action for a SKU.
pub fn decide(f: &SkuFacts<'_>, rules: &DecisionRules) -> Decision {
    let out = Out {
        figures: base_figures(f),
        carry: f.carry.clone(),
    };
    if let Some(why) = external_edit(f) {
        let mut d = out.keep(why.clone(), vec![]);
        d.skip = Some(why);
        return d;
    }
    if f.variant.status != ProductStatus::Active {
        return decide_draft(f, rules, out);
    }
    decide_active(f, rules, out)
}

/// Rule 1: an edit after the last sync that is not Otto's own write.
fn external_edit(f: &SkuFacts<'_>) -> Option<String> {
    let last = f.last_sync_at?;
    let v = f.variant;
    let ours = f.otto_wrote_at.is_some_and(|o| o >= v.updated_at);
    (v.updated_at > last && !ours).then(|| {
        format!(
            "edited in Shopify at {} after the last sync at {}, and not by Otto; left alone",
            v.updated_at.to_rfc3339(),
            last.to_rfc3339()
        )
    })
}

/// Rule 2: drafts.
fn decide_draft(f: &SkuFacts<'_>, rules: &DecisionRules, out: Out) -> Decision {
    let v = f.variant;
    if v.inventory <= 0 {
        return out.keep(
            "draft without stock".into(),
            vec![
                no(Action::Publish, "no stock"),
                no(Action::ReviveSeasonal, "no stock"),
            ],
        );
    }
    if let Some(season) = in_season(&v.tags, f.today) {
        return out.to(
            Action::ReviveSeasonal,
            None,
            format!(
                "{season} season has started and {} units are on hand",
                v.inventory
            ),
            vec![no(Action::Publish, "seasonal revival covers it")],
        );
    }
    if let Some(d) = out
        .carry
        .drafted_by_otto_on
        .filter(|d| f.today.days_since(*d) < rules.redraft_cooldown_days)
    {
        return out.keep(
            format!(
                "Otto drafted it on {d}; cool-off of {} days",
                rules.redraft_cooldown_days
            ),
            vec![no(Action::Publish, "cool-off after Otto's draft")],
        );
    }
    match margin_bp(v) {
        Some(m) if m >= rules.publish_min_margin_bp => out.to(
            Action::Publish,
            None,
            format!(
                "draft with {} units on hand and a {m}bp margin (floor {}bp)",
                v.inventory, rules.publish_min_margin_bp
            ),
            vec![no(Action::ReviveSeasonal, "not a seasonal item in season")],
        ),
        Some(m) => out.keep(
            format!(
                "margin {m}bp below the publish floor {}bp",
                rules.publish_min_margin_bp
            ),
            vec![no(Action::Publish, "margin below the floor")],
        ),
        None => out.keep(
            "draft without a known unit cost: margin cannot be checked".into(),
            vec![no(Action::Publish, "unit cost unknown")],
        ),
    }
}

/// Rule 3: active variants.
fn decide_active(f: &SkuFacts<'_>, rules: &DecisionRules, mut out: Out) -> Decision {
    let v = f.variant;
    if v.inventory <= 0 {
        return out.keep(
            "out of stock".into(),
            vec![
                no(Action::ScaleWinner, "nothing to sell"),
                no(Action::Draft, "stock may return"),
            ],
        );
    }
    if let Some(until) = f.on_discount_until {
        return out.keep(
            format!("on a discount test until {until}; judged after its restore"),
            vec![
                no(Action::DiscountTest, "a test is open"),
                no(Action::Draft, "the test has not run its window"),
            ],
        );
    }
    track_lift(f, rules, &mut out);
    let whole = Whole::of(f);
    if whole.ads_lose_money() && whole.sells_on_its_own(rules) {
        return cut_ads(f, &whole, out);
    }
    match f.classified.class {
        Classification::Winner => scale_winner(f, rules, &whole, out),
        Classification::InsufficientData => out.keep(
            format!("INSUFFICIENT_DATA: {}", f.classified.reason),
            vec![
                no(Action::Draft, "too little data to judge"),
                no(Action::ScaleWinner, "too little data to judge"),
            ],
        ),
        Classification::Mid | Classification::Loser => ladder(f, rules, &whole, out),
    }
}

/// Updates the no-lift streaks (and takes in a test that completed since the last cycle).
fn track_lift(f: &SkuFacts<'_>, rules: &DecisionRules, out: &mut Out) {
    let lifted = f.lift.lifted(rules);
    let carry = &mut out.carry;
    if let Some(t) = &f.completed_test {
        if carry.last_test.as_ref() != Some(t) {
            carry.last_test = Some(t.clone());
            carry.no_lift_since_test = 0;
        }
    }
    carry.no_lift_streak = if lifted { 0 } else { carry.no_lift_streak + 1 };
    if let Some(t) = &carry.last_test {
        if lifted {
            carry.no_lift_since_test = 0;
        } else if f.today > t.restored_on {
            carry.no_lift_since_test += 1;
        }
    }
    if f.classified.class == Classification::Winner {
        carry.no_lift_streak = 0;
    }
    out.figures
        .insert("no_lift_streak".into(), json!(carry.no_lift_streak));
    if let Some(t) = &carry.last_test {
        out.figures.insert(
            "last_test".into(),
            json!({"opened": t.opened, "restored_on": t.restored_on,
                   "cycles_since_without_lift": carry.no_lift_since_test}),
        );
    }
}

/// Ads lose money, but the variant sells on its own: cut the ads, keep it published.
fn cut_ads(f: &SkuFacts<'_>, whole: &Whole, out: Out) -> Decision {
    let mut d = out.keep(
        format!(
            "{}: its ads lose money (ROAS {}bp below break-even at a {}bp margin) but {}bp of its store sales come without an ad click — cut its ads (lower its bid or exclude it from the shopping campaign), keep it published; {BUDGET_BY_PLANNER}",
            f.classified.class,
            f.classified.roas_bp.unwrap_or(0),
            whole.margin_bp.unwrap_or(0),
            whole.own_share_bp()
        ),
        vec![
            no(Action::Draft, "it sells on its own: unpublishing would end those sales"),
            no(Action::DiscountTest, "the ads lose money, not the product"),
        ],
    );
    d.advice = Some(Advice::CutAds);
    d
}

/// WINNER: more ad spend is advised when stock covers it.
fn scale_winner(f: &SkuFacts<'_>, rules: &DecisionRules, whole: &Whole, out: Out) -> Decision {
    let v = f.variant;
    let cover = whole.units.filter(|u| *u > 0).map(|u| v.inventory * 28 / u);
    if let Some(days) = cover.filter(|d| *d < rules.scale_min_cover_days) {
        return out.keep(
            format!(
                "WINNER, but {} units cover about {days} days at the last 28 days' pace (needs {}); more ad spend would sell out",
                v.inventory, rules.scale_min_cover_days
            ),
            vec![no(Action::ScaleWinner, "stock would run out")],
        );
    }
    let mut d = out.to(
        Action::ScaleWinner,
        None,
        format!("WINNER: {} — {BUDGET_BY_PLANNER}", f.classified.reason),
        vec![
            no(Action::DiscountTest, "a winner needs no discount"),
            no(Action::Keep, "headroom to scale"),
        ],
    );
    d.advice = Some(Advice::ScaleAds);
    d
}

/// MID/LOSER: the discount ladder, and DRAFT only after a test really ran.
fn ladder(f: &SkuFacts<'_>, rules: &DecisionRules, whole: &Whole, out: Out) -> Decision {
    let class = f.classified.class;
    let streak = out.carry.no_lift_streak;
    if streak < rules.streak_for_discount {
        return out.keep(
            format!(
                "{class}: {streak} cycle(s) without lift of {} needed",
                rules.streak_for_discount
            ),
            vec![no(
                Action::DiscountTest,
                "not yet enough cycles without lift",
            )],
        );
    }
    if let Some(t) = out.carry.last_test.clone() {
        return after_test(f, rules, whole, &t, out);
    }
    discount_or_keep(f, rules, out, "no discount test has run yet")
}

/// A test ran its window: wait for the cycles after it, then draft a LOSER that still loses.
fn after_test(
    f: &SkuFacts<'_>,
    rules: &DecisionRules,
    whole: &Whole,
    t: &CompletedTest,
    mut out: Out,
) -> Decision {
    let class = f.classified.class;
    let since = out.carry.no_lift_since_test;
    if since < rules.no_lift_cycles_after_test {
        return out.keep(
            format!(
                "{class}: the discount test {} was restored on {}; {since} of {} cycles after it without lift",
                t.opened, t.restored_on, rules.no_lift_cycles_after_test
            ),
            vec![no(Action::Draft, "waiting for the cycles after the test")],
        );
    }
    let losing = whole.contribution_micros().is_none_or(|c| c <= 0);
    if class == Classification::Loser && losing {
        out.carry.drafted_by_otto_on = Some(f.today);
        let basis = if whole.from_orders {
            "store sales from orders"
        } else {
            "ad figures only (the shop cannot report orders)"
        };
        return out.to(
            Action::Draft,
            Some(Action::OptimizeCycleFailed),
            format!(
                "persistent LOSER: the discount test {} ran its window (restored {}) and {since} cycles since showed no lift; the variant loses money on {basis}",
                t.opened, t.restored_on
            ),
            vec![no(Action::DiscountTest, "already tested without lift")],
        );
    }
    let cooldown_ends = t.restored_on.plus_days(rules.discount_cooldown_days);
    if f.today < cooldown_ends {
        return out.keep(
            format!(
                "{class}: tested without lift (restored {}); no new discount before {cooldown_ends} (cooldown, EU prior-price rule){}",
                t.restored_on,
                if class == Classification::Loser { "; not drafted: the variant as a whole still earns" } else { "" }
            ),
            vec![
                no(Action::DiscountTest, "cooldown after the last test"),
                no(Action::Draft, "not a losing variant as a whole"),
            ],
        );
    }
    discount_or_keep(f, rules, out, "the last test's cooldown has passed")
}

/// DISCOUNT_TEST when the margin floor allows a test, else KEEP saying why.
fn discount_or_keep(f: &SkuFacts<'_>, rules: &DecisionRules, out: Out, why: &str) -> Decision {
    let class = f.classified.class;
    let streak = out.carry.no_lift_streak;
    if let Err(gate) = plan_discount(f.variant, rules.discount_percent_bp, &rules.margin_tiers) {
        return out.keep(
            format!("{class}: {streak} cycles without lift, but no discount test is possible ({gate}); never drafted without a test"),
            vec![
                no(Action::DiscountTest, gate),
                no(Action::Draft, "no discount test has run"),
            ],
        );
    }
    out.to(
        Action::DiscountTest,
        Some(Action::OptimizeCycleFailed),
        format!("{class}: {streak} cycles without lift (OPTIMIZE_CYCLE_FAILED); {why}"),
        vec![
            no(Action::Draft, "a discount test runs before any draft"),
            no(Action::Keep, "enough cycles without lift"),
        ],
    )
}

/// One variant of a product, as [`gate_product`] sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sibling {
    pub sku: Sku,
    pub class: Classification,
    pub action: Action,
    pub in_stock: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_by_otto_on: Option<StoreDay>,
}

/// Otto's last applied status move of a product (from any cycle), read from the audit rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMove {
    pub action: Action,
    pub on: StoreDay,
    /// The decision row that made it.
    pub row: String,
}

/// The product a decision's status move would flip, as [`gate_product`] sees it.
pub struct Product<'a> {
    /// Every variant of the product (the deciding one too).
    pub siblings: &'a [Sibling],
    pub last_status_move: Option<&'a StatusMove>,
}

/// A status move within `status_flip_min_days` of Otto's last one on the product.
fn too_soon(
    action: Action,
    last: Option<&StatusMove>,
    today: StoreDay,
    rules: &DecisionRules,
) -> Option<String> {
    if !matches!(
        action,
        Action::Draft | Action::Publish | Action::ReviveSeasonal
    ) {
        return None;
    }
    let last = last.filter(|m| today.days_since(m.on) < rules.status_flip_min_days)?;
    Some(format!(
        "Otto already moved its status ({} on {}, {}); at most one status flip per product per {} days, next from {}",
        last.action,
        last.on,
        last.row,
        rules.status_flip_min_days,
        last.on.plus_days(rules.status_flip_min_days)
    ))
}

/// Rule 4: status is per product.
/// A DRAFT stands only when every sibling with stock is due a DRAFT and none is a WINNER or MID;
/// a PUBLISH waits while Otto's draft of any sibling is in its cool-off; no status move within
/// `status_flip_min_days` of Otto's last one on the product. The row lists each variant's class
/// either way.
pub fn gate_product(
    d: &mut Decision,
    sku: &Sku,
    product: &Product<'_>,
    today: StoreDay,
    rules: &DecisionRules,
) {
    let siblings = product.siblings;
    if siblings.len() > 1 {
        d.figures.insert("product_variants".into(), json!(siblings));
    }
    if let Some(m) = product.last_status_move {
        d.figures.insert("last_status_move".into(), json!(m));
    }
    let others = || siblings.iter().filter(move |s| &s.sku != sku);
    let flip = too_soon(d.action, product.last_status_move, today, rules);
    let blocker = flip.or_else(|| match d.action {
        Action::Draft => others()
            .find(|s| matches!(s.class, Classification::Winner | Classification::Mid))
            .map(|s| format!("{} is {}", s.sku, s.class))
            .or_else(|| {
                others()
                    .find(|s| s.in_stock && s.action != Action::Draft)
                    .map(|s| format!("{} ({}, {}) is not due a DRAFT", s.sku, s.class, s.action))
            }),
        Action::Publish => others()
            .find_map(|s| {
                s.drafted_by_otto_on
                    .filter(|day| today.days_since(*day) < rules.redraft_cooldown_days)
                    .map(|day| (s, day))
            })
            .map(|(s, day)| {
                format!(
                    "Otto drafted the product through {} on {day}; cool-off of {} days",
                    s.sku, rules.redraft_cooldown_days
                )
            }),
        _ => None,
    });
    let Some(why) = blocker else { return };
    let was = d.action;
    if was == Action::Draft {
        d.carry.drafted_by_otto_on = None;
    }
    d.candidates
        .insert(0, no(was, format!("status is per product: {why}")));
    d.reasoning = format!(
        "{} — but status is per product and {why}, so the product keeps its status",
        d.reasoning
    );
    d.action = Action::Keep;
    d.trigger = None;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn variant(status: ProductStatus, inventory: i64, tags: &[&str]) -> Variant {
        Variant {
            sku: Sku::new("SKU-1").unwrap(),
            variant_id: "gid://shopify/ProductVariant/1".into(),
            product_id: "gid://shopify/Product/1".into(),
            title: "Linen Throw".into(),
            price: Money::parse("40.00", Currency::EUR).unwrap(),
            compare_at_price: None,
            unit_cost: Some(Money::parse("12.00", Currency::EUR).unwrap()),
            status,
            inventory,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            updated_at: "2026-11-20T00:00:00Z".parse().unwrap(),
        }
    }

    /// Spend 100, claimed value 150: at a 70% margin the ads earn 105 of margin, so they pay.
    fn classified(class: Classification) -> Classified {
        Classified {
            sku: Sku::new("SKU-1").unwrap(),
            class,
            roas_bp: Some(15_000),
            impressions: 1000,
            cost_micros: 100_000_000,
            value_micros: 150_000_000,
            active_days: 20,
            reason: "r".into(),
        }
    }

    fn facts<'a>(v: &'a Variant, c: &'a Classified, carry: Carry, lift: Lift) -> SkuFacts<'a> {
        SkuFacts {
            variant: v,
            classified: c,
            lift,
            carry,
            today: day("2026-11-24"),
            last_sync_at: Some("2026-11-23T05:00:00Z".parse().unwrap()),
            otto_wrote_at: None,
            sales: None,
            completed_test: None,
            on_discount_until: None,
        }
    }

    fn day(s: &str) -> StoreDay {
        StoreDay::parse(s).unwrap()
    }

    const FLAT: Lift = Lift {
        recent_value_micros: 100,
        prior_value_micros: 100,
    };
    const UP: Lift = Lift {
        recent_value_micros: 200,
        prior_value_micros: 100,
    };

    fn test_on(restored: &str) -> CompletedTest {
        CompletedTest {
            opened: "decision_log#01TEST".into(),
            restored_on: day(restored),
        }
    }

    #[test]
    fn winners_scale_as_advice_and_losers_walk_the_ladder() {
        let v = variant(ProductStatus::Active, 10, &[]);
        let r = DecisionRules::default();
        let w = decide(
            &facts(
                &v,
                &classified(Classification::Winner),
                Carry::default(),
                FLAT,
            ),
            &r,
        );
        assert_eq!(
            (w.action, w.advice),
            (Action::ScaleWinner, Some(Advice::ScaleAds))
        );
        assert!(w.reasoning.contains("campaign planner"), "{}", w.reasoning);
        let loser = classified(Classification::Loser);
        let d1 = decide(&facts(&v, &loser, Carry::default(), FLAT), &r);
        assert_eq!((d1.action, d1.carry.no_lift_streak), (Action::Keep, 1));
        let d2 = decide(&facts(&v, &loser, d1.carry.clone(), FLAT), &r);
        assert_eq!(
            (d2.action, d2.trigger),
            (Action::DiscountTest, Some(Action::OptimizeCycleFailed))
        );
        assert!(d2.candidates.iter().any(|c| c.action == Action::Draft));
        // Lift resets the streak.
        let lifted = decide(&facts(&v, &loser, d1.carry.clone(), UP), &r);
        assert_eq!(
            (lifted.action, lifted.carry.no_lift_streak),
            (Action::Keep, 0)
        );
    }

    #[test]
    fn a_proposed_test_is_not_a_test_draft_waits_for_the_window_and_two_cycles() {
        let v = variant(ProductStatus::Active, 10, &[]);
        let r = DecisionRules::default();
        let mut loser = classified(Classification::Loser);
        loser.value_micros = 20_000_000; // ads and variant lose money
        let streak = Carry {
            no_lift_streak: 5,
            ..Default::default()
        };
        // Proposed (dry run, held, skipped): nothing completed → DISCOUNT_TEST again, never DRAFT.
        let again = decide(&facts(&v, &loser, streak.clone(), FLAT), &r);
        assert_eq!(again.action, Action::DiscountTest);
        assert!(again.carry.last_test.is_none());
        // Still open: KEEP until the restore.
        let mut open = facts(&v, &loser, streak.clone(), FLAT);
        open.on_discount_until = Some(day("2026-11-30"));
        assert_eq!(decide(&open, &r).action, Action::Keep);
        // Restored yesterday: the first cycle after it, then the second.
        let mut f = facts(&v, &loser, streak.clone(), FLAT);
        f.completed_test = Some(test_on("2026-11-23"));
        let c1 = decide(&f, &r);
        assert_eq!((c1.action, c1.carry.no_lift_since_test), (Action::Keep, 1));
        let mut f2 = facts(&v, &loser, c1.carry.clone(), FLAT);
        f2.today = day("2026-11-25");
        f2.completed_test = Some(test_on("2026-11-23"));
        let c2 = decide(&f2, &r);
        assert_eq!(c2.action, Action::Draft, "{}", c2.reasoning);
        assert_eq!(c2.carry.drafted_by_otto_on, Some(day("2026-11-25")));
        assert!(c2.reasoning.contains("ran its window"), "{}", c2.reasoning);
        // A lift after the restore starts the count again.
        let mut up = facts(&v, &loser, c1.carry.clone(), UP);
        up.today = day("2026-11-25");
        assert_eq!(decide(&up, &r).carry.no_lift_since_test, 0);
        // An old carry's `discount_tested: true` (set by a dry run) counts for nothing.
        let old: Carry =
            serde_json::from_value(json!({"no_lift_streak": 4, "discount_tested": true})).unwrap();
        assert_eq!(
            decide(&facts(&v, &loser, old, FLAT), &r).action,
            Action::DiscountTest
        );
    }

    #[test]
    fn cooldown_after_a_test_and_no_test_without_margin() {
        let v = variant(ProductStatus::Active, 10, &[]);
        let r = DecisionRules::default();
        let mid = classified(Classification::Mid);
        let tested = Carry {
            no_lift_streak: 5,
            last_test: Some(test_on("2026-11-10")),
            no_lift_since_test: 5,
            ..Default::default()
        };
        let d = decide(&facts(&v, &mid, tested.clone(), FLAT), &r);
        assert_eq!(d.action, Action::Keep);
        assert!(d.reasoning.contains("2026-12-10"), "{}", d.reasoning);
        let mut later = facts(&v, &mid, tested, FLAT);
        later.today = day("2026-12-10");
        assert_eq!(decide(&later, &r).action, Action::DiscountTest);
        let mut thin = variant(ProductStatus::Active, 10, &[]);
        thin.unit_cost = Some(Money::parse("33.00", Currency::EUR).unwrap());
        let streak = Carry {
            no_lift_streak: 5,
            ..Default::default()
        };
        let d = decide(&facts(&thin, &mid, streak, FLAT), &r);
        assert_eq!(d.action, Action::Keep);
        assert!(
            d.reasoning.contains("no discount test is possible"),
            "{}",
            d.reasoning
        );
    }

    #[test]
    fn a_variant_that_sells_on_its_own_gets_its_ads_cut_not_a_draft() {
        let v = variant(ProductStatus::Active, 10, &[]);
        let r = DecisionRules::default();
        let mut loser = classified(Classification::Loser);
        loser.value_micros = 20_000_000; // the ads lose money
        let tested = Carry {
            no_lift_streak: 5,
            last_test: Some(test_on("2026-11-10")),
            no_lift_since_test: 5,
            ..Default::default()
        };
        let mut f = facts(&v, &loser, tested.clone(), FLAT);
        f.sales = Some(StoreSales {
            units: 30,
            revenue_micros: 1_200_000_000,
        });
        let d = decide(&f, &r);
        assert_eq!((d.action, d.advice), (Action::Keep, Some(Advice::CutAds)));
        assert!(d.reasoning.contains("cut its ads"), "{}", d.reasoning);
        // The same ad figures with no store sales beyond the ads: drafted.
        let mut alone = facts(&v, &loser, tested.clone(), FLAT);
        alone.sales = Some(StoreSales {
            units: 1,
            revenue_micros: 20_000_000,
        });
        assert_eq!(decide(&alone, &r).action, Action::Draft);
        // A shop that cannot report orders: ad figures, and the row says so.
        let fallback = decide(&facts(&v, &loser, tested, FLAT), &r);
        assert_eq!(fallback.action, Action::Draft);
        assert!(fallback.reasoning.contains("ad figures only"));
        assert_eq!(
            fallback.figures["whole_variant"]["source"],
            json!("ad figures only: the shop cannot report orders")
        );
    }

    #[test]
    fn a_winner_without_stock_cover_is_not_scaled() {
        let v = variant(ProductStatus::Active, 5, &[]);
        let c = classified(Classification::Winner);
        let mut f = facts(&v, &c, Carry::default(), FLAT);
        f.sales = Some(StoreSales {
            units: 56,
            revenue_micros: 1,
        });
        let d = decide(&f, &DecisionRules::default());
        assert_eq!(d.action, Action::Keep);
        assert!(
            d.reasoning.contains("cover about 2 days"),
            "{}",
            d.reasoning
        );
    }

    fn sib(sku: &str, class: Classification, action: Action) -> Sibling {
        Sibling {
            sku: Sku::new(sku).unwrap(),
            class,
            action,
            in_stock: true,
            drafted_by_otto_on: None,
        }
    }

    /// A product Otto has not moved the status of.
    fn alone(siblings: &[Sibling]) -> Product<'_> {
        Product {
            siblings,
            last_status_move: None,
        }
    }

    #[test]
    fn at_most_one_status_flip_per_product_per_window() {
        let r = DecisionRules::default();
        let me = Sku::new("A-1").unwrap();
        let losers = [
            sib("A-1", Classification::Loser, Action::Draft),
            sib("A-2", Classification::Loser, Action::Draft),
        ];
        let published = StatusMove {
            action: Action::Publish,
            on: day("2026-11-01"),
            row: "decision_log#01PUB".into(),
        };
        let moved = |on: &str| {
            let mut d = draft_decision();
            let last = StatusMove {
                on: day(on),
                ..published.clone()
            };
            let product = Product {
                siblings: &losers,
                last_status_move: Some(&last),
            };
            gate_product(&mut d, &me, &product, day("2026-11-24"), &r);
            d
        };
        // Published 23 days ago by Otto: no DRAFT yet, and the row says until when.
        let d = moved("2026-11-01");
        assert_eq!(d.action, Action::Keep);
        assert_eq!(d.carry.drafted_by_otto_on, None);
        assert!(d.reasoning.contains("2026-12-01"), "{}", d.reasoning);
        assert!(
            d.reasoning.contains("decision_log#01PUB"),
            "{}",
            d.reasoning
        );
        assert_eq!(d.figures["last_status_move"]["action"], json!("PUBLISH"));
        // 30 days after it: the DRAFT stands.
        assert_eq!(moved("2026-10-25").action, Action::Draft);
        // The same holds for a PUBLISH after Otto's DRAFT, and for a seasonal revival.
        for action in [Action::Publish, Action::ReviveSeasonal] {
            let mut p = draft_decision();
            p.action = action;
            let drafted = StatusMove {
                action: Action::Draft,
                on: day("2026-11-20"),
                row: "decision_log#01DRF".into(),
            };
            let sibs = [sib("A-1", Classification::InsufficientData, action)];
            let product = Product {
                siblings: &sibs,
                last_status_move: Some(&drafted),
            };
            gate_product(&mut p, &me, &product, day("2026-11-24"), &r);
            assert_eq!(p.action, Action::Keep, "{action}");
        }
        // Other actions are not status moves.
        let mut k = draft_decision();
        k.action = Action::DiscountTest;
        let product = Product {
            siblings: &losers,
            last_status_move: Some(&published),
        };
        gate_product(&mut k, &me, &product, day("2026-11-24"), &r);
        assert_eq!(k.action, Action::DiscountTest);
    }

    fn draft_decision() -> Decision {
        Decision {
            action: Action::Draft,
            trigger: Some(Action::OptimizeCycleFailed),
            reasoning: "persistent LOSER".into(),
            skip: None,
            figures: BTreeMap::new(),
            candidates: vec![],
            carry: Carry {
                drafted_by_otto_on: Some(day("2026-11-24")),
                ..Default::default()
            },
            advice: None,
        }
    }

    #[test]
    fn status_is_per_product() {
        let r = DecisionRules::default();
        let me = Sku::new("A-1").unwrap();
        let today = day("2026-11-24");
        let mut d = draft_decision();
        let with_winner = [
            sib("A-1", Classification::Loser, Action::Draft),
            sib("A-2", Classification::Winner, Action::ScaleWinner),
        ];
        gate_product(&mut d, &me, &alone(&with_winner), today, &r);
        assert_eq!(d.action, Action::Keep);
        assert!(d.reasoning.contains("A-2 is WINNER"), "{}", d.reasoning);
        assert_eq!(d.carry.drafted_by_otto_on, None);
        assert_eq!(d.figures["product_variants"][1]["class"], json!("WINNER"));
        let mut d = draft_decision();
        let untested = [
            sib("A-1", Classification::Loser, Action::Draft),
            sib("A-2", Classification::Loser, Action::DiscountTest),
        ];
        gate_product(&mut d, &me, &alone(&untested), today, &r);
        assert_eq!(d.action, Action::Keep);
        let mut d = draft_decision();
        let mut empty = sib("A-2", Classification::Mid, Action::Keep);
        empty.class = Classification::InsufficientData;
        empty.in_stock = false;
        let all = [sib("A-1", Classification::Loser, Action::Draft), empty];
        gate_product(&mut d, &me, &alone(&all), today, &r);
        assert_eq!(
            d.action,
            Action::Draft,
            "a sibling without stock does not block"
        );
        // A publish waits for the cool-off of Otto's draft of a sibling.
        let mut p = draft_decision();
        p.action = Action::Publish;
        let mut drafted = sib("A-2", Classification::InsufficientData, Action::Keep);
        drafted.drafted_by_otto_on = Some(day("2026-11-10"));
        gate_product(
            &mut p,
            &me,
            &alone(&[
                sib("A-1", Classification::InsufficientData, Action::Publish),
                drafted,
            ]),
            today,
            &r,
        );
        assert_eq!(p.action, Action::Keep);
    }

    #[test]
    fn drafts_publish_revive_or_wait() {
        let r = DecisionRules::default();
        let c = classified(Classification::InsufficientData);
        let draft = variant(ProductStatus::Draft, 5, &[]);
        assert_eq!(
            decide(&facts(&draft, &c, Carry::default(), FLAT), &r).action,
            Action::Publish
        );
        let winter = variant(ProductStatus::Draft, 5, &["season:winter"]);
        assert_eq!(
            decide(&facts(&winter, &c, Carry::default(), FLAT), &r).action,
            Action::ReviveSeasonal
        );
        let summer = variant(ProductStatus::Draft, 5, &["season:summer"]);
        assert_eq!(
            decide(&facts(&summer, &c, Carry::default(), FLAT), &r).action,
            Action::Publish
        );
        let empty = variant(ProductStatus::Draft, 0, &["season:winter"]);
        assert_eq!(
            decide(&facts(&empty, &c, Carry::default(), FLAT), &r).action,
            Action::Keep
        );
        let recently = Carry {
            drafted_by_otto_on: Some(day("2026-11-01")),
            ..Default::default()
        };
        assert_eq!(
            decide(&facts(&draft, &c, recently, FLAT), &r).action,
            Action::Keep,
            "30-day cool-off after Otto drafted it"
        );
        let mut thin = variant(ProductStatus::Draft, 5, &[]);
        thin.unit_cost = Some(Money::parse("35.00", Currency::EUR).unwrap());
        assert_eq!(
            decide(&facts(&thin, &c, Carry::default(), FLAT), &r).action,
            Action::Keep,
            "12.5% margin < 30% floor"
        );
    }

    #[test]
    fn external_edits_are_skipped_not_overwritten() {
        let r = DecisionRules::default();
        let mut v = variant(ProductStatus::Active, 10, &[]);
        v.updated_at = "2026-11-23T09:14:00Z".parse().unwrap();
        let c = classified(Classification::Winner);
        let d = decide(&facts(&v, &c, Carry::default(), FLAT), &r);
        assert_eq!(d.action, Action::Keep);
        assert!(d
            .skip
            .as_deref()
            .unwrap_or("")
            .contains("edited in Shopify"));
        // Otto's own write is not an external edit.
        let mut f = facts(&v, &c, Carry::default(), FLAT);
        f.otto_wrote_at = Some(v.updated_at);
        assert_eq!(decide(&f, &r).action, Action::ScaleWinner);
        // First cycle: nothing to compare with.
        let mut first = facts(&v, &c, Carry::default(), FLAT);
        first.last_sync_at = None;
        assert!(decide(&first, &r).skip.is_none());
    }

    #[test]
    fn lift_edges() {
        let r = DecisionRules::default();
        let l = |recent, prior| Lift {
            recent_value_micros: recent,
            prior_value_micros: prior,
        };
        assert!(l(105, 100).lifted(&r), "exactly +5%");
        assert!(!l(104, 100).lifted(&r));
        assert!(l(1, 0).lifted(&r));
        assert!(!l(0, 0).lifted(&r), "all-zero is no lift");
    }
}
