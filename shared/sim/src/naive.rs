//! The naive-rules baseline: the usual ad-rule recipe a merchant or agency sets up, applied
//! straight to the shop — pause (draft) products whose ads return less than a ROAS floor, raise
//! the budget of campaigns above a ROAS ceiling that lose impressions to budget (and cut those
//! below the floor), discount slow movers for two weeks. No caps, no cooldowns, no tests.

use crate::shop::SimShop;
use crate::writes::Actor;
use chrono::{DateTime, Utc};
use otto_core::metrics::ProductStatus;
use otto_core::{Money, StoreDay};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct NaiveRules {
    /// Ad ROAS (value / cost, basis points) below which a product is drafted.
    pub roas_floor_bp: i64,
    /// Ad ROAS above which a budget-limited campaign's budget is raised.
    pub roas_ceiling_bp: i64,
    /// Ad spend over the look-back before a ROAS is trusted, micros.
    pub min_spend_micros: i64,
    pub lookback_days: i64,
    pub budget_step_bp: i64,
    pub budget_every_days: i64,
    /// A variant selling at most this many units in 28 days is a slow mover.
    pub slow_units_28d: i64,
    pub slow_min_stock: i64,
    pub discount_bp: i64,
    pub window_days: i64,
}

impl Default for NaiveRules {
    fn default() -> Self {
        NaiveRules {
            roas_floor_bp: 15_000,
            roas_ceiling_bp: 40_000,
            min_spend_micros: 30_000_000,
            lookback_days: 14,
            budget_step_bp: 2_000,
            budget_every_days: 7,
            slow_units_28d: 2,
            slow_min_stock: 5,
            discount_bp: 2_000,
            window_days: 14,
        }
    }
}

struct Window {
    product_id: String,
    variant_id: String,
    ends_on: StoreDay,
    price: Money,
    compare_at: Option<Money>,
}

#[derive(Default)]
pub struct Naive {
    pub rules: NaiveRules,
    windows: Vec<Window>,
    budget_moved: HashMap<String, StoreDay>,
}

impl Naive {
    /// 06:00: pause losers, move budgets.
    pub fn morning(&mut self, shop: &SimShop, day: StoreDay, at: DateTime<Utc>) {
        let r = &self.rules;
        let (from, to) = (day.plus_days(-r.lookback_days), day.plus_days(-1));
        let variants = shop.variants();
        let product: HashMap<&str, (&str, ProductStatus)> = variants
            .iter()
            .map(|v| (v.sku.as_str(), (v.product_id.as_str(), v.status)))
            .collect();
        let mut by_product: BTreeMap<&str, (i64, i64, ProductStatus)> = BTreeMap::new();
        let metrics = shop.sku_metrics(from, to);
        for m in &metrics {
            if let Some((p, st)) = product.get(m.sku.as_str()) {
                let e = by_product.entry(p).or_insert((0, 0, *st));
                e.0 += m.cost.micros();
                e.1 += m.conversion_value.micros();
            }
        }
        for (p, (cost, value, status)) in by_product {
            if status == ProductStatus::Active
                && cost >= r.min_spend_micros
                && value * 10_000 < cost * r.roas_floor_bp
            {
                let _ = shop.set_status(p, ProductStatus::Draft, Actor::Policy, at);
            }
        }
        let budgets = shop.campaign_budgets();
        let mut camp: BTreeMap<String, (i64, i64, u64, u32)> = BTreeMap::new();
        for c in shop.campaign_days(from, to) {
            let e = camp.entry(c.campaign_id.clone()).or_default();
            e.0 += c.cost.micros();
            e.1 += c.conversion_value.micros();
            e.2 += u64::from(c.budget_lost_impression_share_bp.unwrap_or(0));
            e.3 += 1;
        }
        for b in budgets {
            let Some(&(cost, value, lost, n)) = camp.get(&b.campaign_id) else {
                continue;
            };
            if self
                .budget_moved
                .get(&b.budget_resource)
                .is_some_and(|d| day.days_since(*d) < r.budget_every_days)
                || cost < r.min_spend_micros
            {
                continue;
            }
            let lost_bp = lost / u64::from(n.max(1));
            let step = if value * 10_000 > cost * r.roas_ceiling_bp && lost_bp > 1_000 {
                10_000 + r.budget_step_bp
            } else if value * 10_000 < cost * r.roas_floor_bp {
                10_000 - r.budget_step_bp
            } else {
                continue;
            };
            if let Ok(amount) = b.amount.scale_bp(step) {
                if shop
                    .set_budget(&b.budget_resource, amount.rounded(), Actor::Policy, at)
                    .is_ok()
                {
                    self.budget_moved.insert(b.budget_resource.clone(), day);
                }
            }
        }
    }

    /// 16:00: end the windows that are due, discount slow movers.
    pub fn afternoon(&mut self, shop: &SimShop, day: StoreDay, at: DateTime<Utc>) {
        let (due, open): (Vec<Window>, Vec<Window>) = std::mem::take(&mut self.windows)
            .into_iter()
            .partition(|w| w.ends_on <= day);
        self.windows = open;
        for w in due {
            let _ = shop.set_price(
                &w.product_id,
                &w.variant_id,
                w.price,
                w.compare_at,
                Actor::Policy,
                at,
            );
        }
        let r = &self.rules;
        let mut sold: HashMap<String, i64> = HashMap::new();
        for s in shop.sku_sales_report(day.plus_days(-28), day.plus_days(-1)) {
            *sold.entry(s.sku.to_string()).or_default() += s.units;
        }
        for v in shop.variants() {
            let slow = sold.get(v.sku.as_str()).copied().unwrap_or(0) <= r.slow_units_28d;
            let on_discount = v
                .compare_at_price
                .is_some_and(|c| c.micros() > v.price.micros());
            if v.status != ProductStatus::Active
                || !slow
                || on_discount
                || v.inventory < r.slow_min_stock
            {
                continue;
            }
            let Ok(price) = v.price.scale_bp(10_000 - r.discount_bp) else {
                continue;
            };
            if shop
                .set_price(
                    &v.product_id,
                    &v.variant_id,
                    price.rounded(),
                    Some(v.price),
                    Actor::Policy,
                    at,
                )
                .is_ok()
            {
                self.windows.push(Window {
                    product_id: v.product_id.clone(),
                    variant_id: v.variant_id.clone(),
                    ends_on: day.plus_days(r.window_days),
                    price: v.price,
                    compare_at: v.compare_at_price,
                });
            }
        }
    }
}
