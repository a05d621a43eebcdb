//! A day of shoppers and auctions: expected sales accumulated stretch by stretch with the state
//! in force (price, status, budget, stock), then drawn with seeded Poisson noise when the day
//! closes. Ad-attributed conversions land over the following days (attribution lag), so recent
//! days' ad figures are restated as they arrive; store orders are booked on the day they happen.

use crate::demand::{allocate, clicks_for_spend, price_factor, saturation_spend, season_factor};
use crate::ledger::DayLedger;
use crate::rng::{poisson, stream, Purpose};
use crate::shop::{SimShop, State};
use chrono::Datelike;
use otto_core::metrics::ProductStatus;
use otto_core::StoreDay;
use rand::Rng;

/// Days after the click on which an ad-attributed purchase happens (0 = the same day), with their
/// probabilities: most on the day, a tail over a week (Google Ads' "days to conversion").
pub const LAG_DAYS: usize = 8;
const LAG_P: [f64; LAG_DAYS] = [0.55, 0.18, 0.09, 0.06, 0.04, 0.03, 0.03, 0.02];

/// Expected figures of one variant so far today (units, units × price, …).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Acc {
    pub organic: f64,
    pub organic_paid: f64,
    pub organic_given: f64,
    pub clicks: f64,
    pub spend: f64,
    pub impressions: f64,
    pub paid: f64,
    pub paid_paid: f64,
    pub paid_given: f64,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct CampAcc {
    pub is_num: f64,
    pub is_den: f64,
    pub lost: f64,
    pub frac: f64,
}

/// One variant's ads on one day: what happened, with its conversions by lag.
#[derive(Debug, Clone)]
pub(crate) struct AdsRecord {
    pub variant: usize,
    pub impressions: u64,
    pub clicks: u64,
    pub cost: i64,
    pub conversions: [u32; LAG_DAYS],
    pub value: [i64; LAG_DAYS],
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct CampaignRecord {
    pub campaign: usize,
    pub is_bp: u32,
    pub lost_bp: u32,
}

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sale {
    pub units: i64,
    pub revenue: i64,
    pub orders: u32,
}

fn units(m: otto_core::Money) -> f64 {
    m.micros() as f64 / 1e6
}

/// Days since a fixed origin, to key the day's noise.
pub(crate) fn day_number(day: StoreDay) -> u64 {
    day.days_since(StoreDay::new(
        chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default(),
    ))
    .max(0) as u64
}

impl SimShop {
    /// Adds `frac` of a day at the current state to today's expectations.
    pub(crate) fn accumulate(&self, s: &mut State, frac: f64) {
        let doy = s.day.date().ordinal();
        let n = self.truth.variants.len();
        let mut paid = vec![(0.0f64, 0.0f64, 0.0f64); n]; // (spend, clicks, units)
        for (c, budget) in s.budgets.iter().enumerate() {
            let live: Vec<usize> = (0..n)
                .filter(|&i| {
                    let (t, v) = (&self.truth.variants[i], &s.vars[i]);
                    t.campaign == c && v.status == ProductStatus::Active && v.inventory > 0
                })
                .collect();
            let wants: Vec<f64> = live
                .iter()
                .map(|&i| {
                    let t = &self.truth.variants[i];
                    saturation_spend(t.max_clicks * season_factor(t.season, doy), t.cpc0)
                })
                .collect();
            let want_total: f64 = wants.iter().sum();
            let alloc = allocate(units(*budget), &wants);
            let ca = &mut s.camp_acc[c];
            for (&i, spend) in live.iter().zip(alloc) {
                let t = &self.truth.variants[i];
                let max = t.max_clicks * season_factor(t.season, doy);
                let clicks = clicks_for_spend(spend, max, t.cpc0);
                let pf = price_factor(
                    units(s.vars[i].price),
                    units(t.reference_price),
                    t.elasticity,
                );
                paid[i] = (spend, clicks, clicks * t.cvr * pf);
                ca.is_num += frac * clicks * t.is_ceiling;
                ca.is_den += frac * max;
            }
            if want_total > 0.0 {
                ca.lost += frac * (1.0 - units(*budget) / want_total).max(0.0);
                ca.frac += frac;
            }
        }
        for (i, ((t, v), a)) in self
            .truth
            .variants
            .iter()
            .zip(&s.vars)
            .zip(s.acc.iter_mut())
            .enumerate()
        {
            if v.status != ProductStatus::Active || v.inventory <= 0 {
                continue;
            }
            let price = units(v.price);
            let given = v
                .compare_at
                .map(units)
                .map_or(0.0, |c| (c - price).max(0.0));
            let pf = price_factor(price, units(t.reference_price), t.elasticity);
            let (spend, clicks, paid_units) = paid[i];
            let organic = (t.organic_per_day * season_factor(t.season, doy) * pf
                - t.cannibalised * paid_units)
                .max(0.0);
            a.organic += frac * organic;
            a.organic_paid += frac * organic * price;
            a.organic_given += frac * organic * given;
            a.clicks += frac * clicks;
            a.spend += frac * spend;
            a.impressions += frac * clicks / t.ctr;
            a.paid += frac * paid_units;
            a.paid_paid += frac * paid_units * price;
            a.paid_given += frac * paid_units * given;
        }
    }

    /// Draws the day's noise, books orders, ads and the ledger, moves stock, resets the day.
    pub(crate) fn close_day(&self, s: &mut State) {
        let day = s.day;
        let dn = day_number(day);
        let mut ads = Vec::new();
        for i in 0..self.truth.variants.len() {
            let a = std::mem::take(&mut s.acc[i]);
            let t = &self.truth.variants[i];
            let mut rng = stream(self.spec.seed, Purpose::Day, i as u64, dn);
            let mut organic = poisson(&mut rng, a.organic) as i64;
            let clicks = poisson(&mut rng, a.clicks);
            let cvr = if a.clicks > 0.0 {
                a.paid / a.clicks
            } else {
                0.0
            };
            let mut paid = poisson(&mut rng, clicks as f64 * cvr) as i64;
            let stock = s.vars[i].inventory.max(0);
            if organic + paid > stock {
                let total = organic + paid;
                paid = paid * stock / total;
                organic = stock - paid;
            }
            let per = |sum: f64, n: f64| if n > 0.0 { sum / n } else { 0.0 };
            let micros = |x: f64| (x * 1e6).round() as i64;
            let cost = if a.clicks > 0.0 {
                micros(a.spend * clicks as f64 / a.clicks)
            } else {
                0
            };
            let unit_cost = t.unit_cost.micros();
            let org_line = DayLedger {
                revenue: micros(organic as f64 * per(a.organic_paid, a.organic)),
                cogs: organic * unit_cost,
                ad_spend: cost,
                discount_cost: micros(organic as f64 * per(a.organic_given, a.organic)),
                units: organic,
            };
            s.ledger.entry(day).or_default().add(&org_line);
            book_sale(s, day, i, organic, org_line.revenue);
            let paid_price = per(a.paid_paid, a.paid);
            let paid_given = per(a.paid_given, a.paid);
            let mut conversions = [0u32; LAG_DAYS];
            for _ in 0..paid {
                conversions[lag(&mut rng)] += 1;
            }
            let mut value = [0i64; LAG_DAYS];
            for (lag, &n) in conversions.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let on = day.plus_days(lag as i64);
                let revenue = micros(f64::from(n) * paid_price);
                value[lag] = revenue;
                s.ledger.entry(on).or_default().add(&DayLedger {
                    revenue,
                    cogs: i64::from(n) * unit_cost,
                    ad_spend: 0,
                    discount_cost: micros(f64::from(n) * paid_given),
                    units: i64::from(n),
                });
                book_sale(s, on, i, i64::from(n), revenue);
            }
            if clicks > 0 || a.impressions >= 1.0 {
                let impressions = if a.clicks > 0.0 {
                    (a.impressions * clicks as f64 / a.clicks).round() as u64
                } else {
                    a.impressions.round() as u64
                };
                ads.push(AdsRecord {
                    variant: i,
                    impressions: impressions.max(clicks),
                    clicks,
                    cost,
                    conversions,
                    value,
                });
            }
            self.move_stock(s, i, organic + paid);
        }
        s.ads.insert(day, ads);
        let records = s
            .camp_acc
            .iter_mut()
            .enumerate()
            .filter_map(|(c, ca)| {
                let ca = std::mem::take(ca);
                (ca.is_den > 0.0).then(|| CampaignRecord {
                    campaign: c,
                    is_bp: (ca.is_num / ca.is_den * 10_000.0).round() as u32,
                    lost_bp: (ca.lost / ca.frac.max(1e-9) * 10_000.0)
                        .round()
                        .min(10_000.0) as u32,
                })
            })
            .collect();
        s.campaigns.insert(day, records);
    }

    /// Takes sold units out of stock; orders a restock when stock runs low, receives one due.
    fn move_stock(&self, s: &mut State, i: usize, sold: i64) {
        let t = &self.truth.variants[i];
        let day = s.day;
        let v = &mut s.vars[i];
        v.inventory -= sold;
        if let Some((on, qty)) = v.restock {
            if on <= day {
                v.inventory += qty;
                v.restock = None;
            }
        }
        if t.restocks && v.restock.is_none() && v.inventory <= t.reorder_point {
            v.restock = Some((day.plus_days(t.lead_days), t.reorder_qty));
        }
    }
}

fn book_sale(s: &mut State, day: StoreDay, i: usize, units: i64, revenue: i64) {
    if units == 0 {
        return;
    }
    let e = s.sales.entry(day).or_default().entry(i).or_default();
    e.units += units;
    e.revenue += revenue;
    e.orders += units as u32;
}

fn lag(rng: &mut impl Rng) -> usize {
    let mut u: f64 = rng.gen();
    for (i, p) in LAG_P.iter().enumerate() {
        if u < *p {
            return i;
        }
        u -= p;
    }
    LAG_DAYS - 1
}
