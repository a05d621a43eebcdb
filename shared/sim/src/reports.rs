//! What the shop and the ad account report about the days that have closed: the catalog now,
//! store sales from orders (every channel), ad-attributed performance per SKU and per campaign
//! with the conversions known so far (recent days restate as late conversions arrive).

use crate::day::LAG_DAYS;
use crate::shop::SimShop;
use chrono::{DateTime, Utc};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, SkuSales, Variant,
};
use otto_core::{Money, StoreDay};
use std::collections::BTreeMap;

/// Days from the end of the report still counted provisional (conversions still arriving).
pub const PROVISIONAL_DAYS: i64 = 3;

impl SimShop {
    /// The catalog as the shop has it now.
    pub fn variants(&self) -> Vec<Variant> {
        let s = self.lock();
        self.truth
            .variants
            .iter()
            .zip(&s.vars)
            .map(|(t, v)| Variant {
                sku: t.sku.clone(),
                variant_id: t.variant_id.clone(),
                product_id: t.product_id.clone(),
                title: t.title.clone(),
                price: v.price,
                compare_at_price: v.compare_at,
                unit_cost: Some(t.unit_cost),
                status: v.status,
                inventory: v.inventory,
                tags: t.tags.clone(),
                updated_at: v.updated_at,
            })
            .collect()
    }

    /// Store sales per SKU per closed day in `from ..= to`.
    pub fn sku_sales_report(&self, from: StoreDay, to: StoreDay) -> Vec<SkuSales> {
        let s = self.lock();
        let last = to.min(s.day.plus_days(-1));
        let cur = self.spec.currency;
        let mut out = Vec::new();
        for (day, by) in s.sales.range(from..=last.max(from)) {
            if *day > last {
                break;
            }
            for (i, sale) in by {
                out.push(SkuSales {
                    sku: self.truth.variants[*i].sku.clone(),
                    day: *day,
                    units: sale.units,
                    revenue: Money::from_micros(sale.revenue, cur),
                    orders: sale.orders,
                });
            }
        }
        out
    }

    /// Ad-attributed performance per SKU per closed day, with the conversions that have
    /// happened by now (attributed to the click's day).
    pub fn sku_metrics(&self, from: StoreDay, to: StoreDay) -> Vec<DailyMetric> {
        let s = self.lock();
        let yesterday = s.day.plus_days(-1);
        let last = to.min(yesterday);
        let cur = self.spec.currency;
        let mut out = Vec::new();
        for (day, records) in s.ads.range(from..=last.max(from)) {
            if *day > last {
                break;
            }
            let known = (yesterday.days_since(*day) + 1).clamp(0, LAG_DAYS as i64) as usize;
            for r in records {
                let conv: u32 = r.conversions[..known].iter().sum();
                let value: i64 = r.value[..known].iter().sum();
                out.push(DailyMetric {
                    sku: self.truth.variants[r.variant].sku.clone(),
                    day: *day,
                    impressions: r.impressions,
                    clicks: r.clicks,
                    cost: Money::from_micros(r.cost, cur),
                    conversions_milli: i64::from(conv) * 1_000,
                    conversion_value: Money::from_micros(value, cur),
                    provisional: yesterday.days_since(*day) < PROVISIONAL_DAYS,
                });
            }
        }
        out
    }

    /// Per campaign per closed day: the sum of its offers, with impression shares.
    pub fn campaign_days(&self, from: StoreDay, to: StoreDay) -> Vec<CampaignDay> {
        let metrics = self.sku_metrics(from, to);
        let cur = self.spec.currency;
        let index: BTreeMap<&str, usize> = self
            .truth
            .variants
            .iter()
            .map(|v| (v.sku.as_str(), v.campaign))
            .collect();
        let mut by: BTreeMap<(StoreDay, usize), CampaignDay> = BTreeMap::new();
        let s = self.lock();
        let yesterday = s.day.plus_days(-1);
        for (day, records) in s.campaigns.range(from..=to.min(yesterday).max(from)) {
            for r in records {
                let c = &self.truth.campaigns[r.campaign];
                by.insert(
                    (*day, r.campaign),
                    CampaignDay {
                        campaign_id: c.campaign_id.clone(),
                        campaign: c.name.clone(),
                        day: *day,
                        impressions: 0,
                        clicks: 0,
                        cost: Money::zero(cur),
                        conversions_milli: 0,
                        conversion_value: Money::zero(cur),
                        search_impression_share_bp: Some(r.is_bp.min(10_000)),
                        budget_lost_impression_share_bp: Some(r.lost_bp.min(10_000)),
                        provisional: yesterday.days_since(*day) < PROVISIONAL_DAYS,
                    },
                );
            }
        }
        drop(s);
        for m in metrics {
            let Some(&c) = index.get(m.sku.as_str()) else {
                continue;
            };
            if let Some(e) = by.get_mut(&(m.day, c)) {
                e.impressions += m.impressions;
                e.clicks += m.clicks;
                e.cost = Money::from_micros(e.cost.micros() + m.cost.micros(), cur);
                e.conversions_milli += m.conversions_milli;
                e.conversion_value = Money::from_micros(
                    e.conversion_value.micros() + m.conversion_value.micros(),
                    cur,
                );
            }
        }
        by.into_values().collect()
    }

    /// Every campaign's budget now (each campaign has its own).
    pub fn campaign_budgets(&self) -> Vec<CampaignBudget> {
        let s = self.lock();
        self.truth
            .campaigns
            .iter()
            .zip(&s.budgets)
            .map(|(c, b)| CampaignBudget {
                campaign_id: c.campaign_id.clone(),
                campaign: c.name.clone(),
                budget_resource: c.budget_resource.clone(),
                amount: *b,
                explicitly_shared: false,
            })
            .collect()
    }

    /// The merchant's edits since `since`.
    pub fn external_changes(&self, since: DateTime<Utc>) -> Vec<ExternalChange> {
        self.lock()
            .external
            .iter()
            .filter(|c| c.changed_at >= since)
            .cloned()
            .collect()
    }
}
