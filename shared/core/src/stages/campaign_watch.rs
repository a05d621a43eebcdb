//! campaign_watch: what the campaign planner saw of one campaign on one morning, typed, so every
//! morning is a point on the campaign's chart whether or not the planner proposed a move.
//!
//! The newest ad day (the day before the morning, often still provisional: Google restates cost
//! and conversions for a few days) and the planner's window of mature days it judged on. ROAS is
//! the ad platform's (conversion value ÷ cost); the store's MER (store revenue ÷ all ad spend) is
//! the store's, not the campaign's, and rides along when the store's orders were read.

use crate::error::CoreError;
use crate::metrics::{CampaignDay, SkuSales};
use crate::money::{Currency, Money};
use crate::time::StoreDay;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The verdict of a row that records a morning's look at a campaign and moves nothing.
pub const NO_MOVE: &str = "NO_MOVE";

/// Spend and conversion value over some days, and their ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdTotals {
    pub spend: Money,
    pub conversion_value: Money,
    /// conversion value ÷ spend in basis points of 1 (None without spend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roas_bp: Option<i64>,
}

impl AdTotals {
    fn of<'a>(days: impl Iterator<Item = &'a CampaignDay>, currency: Currency) -> AdTotals {
        let (cost, value) = days.fold((0i64, 0i64), |(c, v), d| {
            (c + d.cost.micros(), v + d.conversion_value.micros())
        });
        AdTotals {
            spend: Money::from_micros(cost, currency),
            conversion_value: Money::from_micros(value, currency),
            roas_bp: roas_bp(value, cost),
        }
    }
}

/// value ÷ cost in basis points, rounded down; None without spend.
pub fn roas_bp(value_micros: i64, cost_micros: i64) -> Option<i64> {
    (cost_micros > 0).then(|| (i128::from(value_micros) * 10_000 / i128::from(cost_micros)) as i64)
}

/// One ad day of one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedDay {
    pub day: StoreDay,
    #[serde(flatten)]
    pub totals: AdTotals,
    /// Inside Google's restatement window when read: the figure may still change.
    #[serde(default)]
    pub provisional: bool,
}

/// The planner's window of mature days (provisional days left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObservedWindow {
    pub from: StoreDay,
    pub to: StoreDay,
    /// Mature days with a row.
    pub days: u32,
    #[serde(flatten)]
    pub totals: AdTotals,
}

/// What one morning's planner saw of one campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CampaignWatch {
    /// The newest ad day (the day before the morning), when the campaign has a row for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day: Option<ObservedDay>,
    pub window: ObservedWindow,
    /// The store's MER over the second half of the window (store revenue ÷ all ad spend), bp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_mer_bp: Option<i64>,
}

/// The campaign's newest day and its window (`from..=to`) from `days` (its own rows only).
pub fn watch(
    days: &[CampaignDay],
    from: StoreDay,
    to: StoreDay,
    currency: Currency,
    store_mer_bp: Option<i64>,
) -> CampaignWatch {
    let in_window = || {
        days.iter()
            .filter(move |d| d.day >= from && d.day <= to && !d.provisional)
    };
    let newest = days.iter().filter(|d| d.day <= to).max_by_key(|d| d.day);
    CampaignWatch {
        day: newest.filter(|d| d.day == to).map(|d| ObservedDay {
            day: d.day,
            totals: AdTotals::of(std::iter::once(d), currency),
            provisional: d.provisional,
        }),
        window: ObservedWindow {
            from,
            to,
            days: in_window().count() as u32,
            totals: AdTotals::of(in_window(), currency),
        },
        store_mer_bp,
    }
}

/// The store's MER (store revenue ÷ all ad spend, [`crate::mer`]) over the window's mature days
/// before `mid` and from `mid` on, in basis points: the same days on both sides of the ratio
/// (store sales of a day whose ad figures are still provisional are left out). None for a half
/// without spend.
pub fn store_mer_halves(
    sales: &[SkuSales],
    days: &[CampaignDay],
    mid: StoreDay,
    currency: Currency,
) -> Result<(Option<i64>, Option<i64>), CoreError> {
    let mature: BTreeSet<StoreDay> = days
        .iter()
        .filter(|d| !d.provisional)
        .map(|d| d.day)
        .collect();
    let half = |early: bool| -> Result<Option<i64>, CoreError> {
        let side = |d: StoreDay| mature.contains(&d) && (d < mid) == early;
        let on_side: Vec<SkuSales> = sales.iter().filter(|s| side(s.day)).cloned().collect();
        let revenue = crate::mer::store_revenue(&on_side, currency)?;
        let spend: Vec<Money> = days
            .iter()
            .filter(|d| !d.provisional && side(d.day))
            .map(|d| d.cost)
            .collect();
        Ok(crate::mer::mer(revenue, &spend)?.map(|m| m.bp))
    };
    Ok((half(true)?, half(false)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    fn day(d: &str, cost: &str, value: &str, provisional: bool) -> CampaignDay {
        CampaignDay {
            campaign_id: "7001".into(),
            campaign: "EU/Linen/Throws".into(),
            day: StoreDay::parse(d).unwrap(),
            impressions: 100,
            clicks: 10,
            cost: eur(cost),
            conversions_milli: 1_000,
            conversion_value: eur(value),
            search_impression_share_bp: None,
            budget_lost_impression_share_bp: None,
            provisional,
        }
    }

    #[test]
    fn the_newest_day_and_the_mature_window() {
        let days = vec![
            day("2026-11-20", "10.00", "40.00", false),
            day("2026-11-21", "20.00", "50.00", false),
            day("2026-11-22", "30.00", "150.00", true),
        ];
        let from = StoreDay::parse("2026-11-09").unwrap();
        let to = StoreDay::parse("2026-11-22").unwrap();
        let w = watch(&days, from, to, Currency::EUR, Some(41_000));
        let d = w.day.unwrap();
        assert_eq!(d.totals.spend, eur("30.00"));
        assert_eq!(d.totals.roas_bp, Some(50_000));
        assert!(d.provisional);
        // The provisional day is left out of the window: 90 on 30 = 3.0.
        assert_eq!(w.window.days, 2);
        assert_eq!(w.window.totals.spend, eur("30.00"));
        assert_eq!(w.window.totals.conversion_value, eur("90.00"));
        assert_eq!(w.window.totals.roas_bp, Some(30_000));
        assert_eq!(w.store_mer_bp, Some(41_000));
        let back: CampaignWatch = serde_json::from_value(serde_json::to_value(w).unwrap()).unwrap();
        assert_eq!(back, w);
    }

    #[test]
    fn store_mer_is_store_revenue_over_ad_spend_on_the_same_mature_days() {
        let days = vec![
            day("2026-11-20", "10.00", "999.00", false),
            day("2026-11-21", "20.00", "999.00", false),
            day("2026-11-22", "30.00", "999.00", true),
        ];
        let sale = |d: &str, revenue: &str| SkuSales {
            sku: crate::Sku::new("SKU-1").unwrap(),
            day: StoreDay::parse(d).unwrap(),
            units: 1,
            revenue: eur(revenue),
            orders: 1,
        };
        let sales = vec![
            sale("2026-11-20", "41.00"),
            sale("2026-11-21", "96.00"),
            sale("2026-11-22", "500.00"),
        ];
        let mid = StoreDay::parse("2026-11-21").unwrap();
        // 41 on 10 = 4.1 before; 96 on 20 = 4.8 after; the provisional day's sales left out; the
        // platform's conversion value (999) plays no part.
        let (before, after) = store_mer_halves(&sales, &days, mid, Currency::EUR).unwrap();
        assert_eq!((before, after), (Some(41_000), Some(48_000)));
        let (b, a) = store_mer_halves(&[], &days[..1], mid, Currency::EUR).unwrap();
        assert_eq!((b, a), (Some(0), None));
    }

    #[test]
    fn no_row_for_the_newest_day_is_no_day_and_no_spend_is_no_ratio() {
        let days = vec![day("2026-11-20", "0.00", "0.00", false)];
        let from = StoreDay::parse("2026-11-09").unwrap();
        let to = StoreDay::parse("2026-11-22").unwrap();
        let w = watch(&days, from, to, Currency::EUR, None);
        assert_eq!(w.day, None);
        assert_eq!(w.window.totals.roas_bp, None);
        assert_eq!(w.window.totals.spend, eur("0"));
    }
}
