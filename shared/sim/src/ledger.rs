//! The shop's books: one line per store day, integer micros. Contribution profit = revenue (what
//! shoppers paid, after discounts) − COGS − ad spend; `discount_cost` is the part of list price
//! given away on discounted units, already inside revenue, kept to show what discounts cost.

use otto_core::money::{Currency, Money};
use otto_core::StoreDay;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DayLedger {
    pub revenue: i64,
    pub cogs: i64,
    pub ad_spend: i64,
    pub discount_cost: i64,
    pub units: i64,
}

impl DayLedger {
    pub fn profit(&self) -> i64 {
        self.revenue - self.cogs - self.ad_spend
    }
    pub fn add(&mut self, other: &DayLedger) {
        self.revenue += other.revenue;
        self.cogs += other.cogs;
        self.ad_spend += other.ad_spend;
        self.discount_cost += other.discount_cost;
        self.units += other.units;
    }
}

/// Totals over a span of days, as money.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LedgerTotals {
    pub from: StoreDay,
    pub to: StoreDay,
    pub profit: Money,
    pub revenue: Money,
    pub cogs: Money,
    pub ad_spend: Money,
    pub discount_cost: Money,
    pub units: i64,
}

impl LedgerTotals {
    pub fn of(days: &[(StoreDay, DayLedger)], currency: Currency) -> Option<LedgerTotals> {
        let from = days.first()?.0;
        let to = days.last()?.0;
        let mut t = DayLedger::default();
        for (_, d) in days {
            t.add(d);
        }
        let m = |v: i64| Money::from_micros(v, currency);
        Some(LedgerTotals {
            from,
            to,
            profit: m(t.profit()),
            revenue: m(t.revenue),
            cogs: m(t.cogs),
            ad_spend: m(t.ad_spend),
            discount_cost: m(t.discount_cost),
            units: t.units,
        })
    }
}
