//! self_calibrator: the p75 winner floor and the other thresholds, recomputed every morning from
//! the rolling 28-day distribution.
//!
//! * Window: [D−28, D−1] in the store's time zone (today excluded); provisional days (inside the
//!   ad platform's restatement window) are left out and counted.
//! * Population: SKUs with ≥ `min_impressions` impressions, ≥ `min_spend` spend and ≥ `min_days`
//!   active days in the window. The rest are INSUFFICIENT_DATA and excluded.
//! * Metric: ROAS (conversion value ÷ ad cost) in basis points.
//! * Method: `percentile_cont` — p75 is the winner floor, p25 the loser ceiling.

use super::{percentile_cont, WindowTotals};
use crate::ids::Sku;
use crate::metrics::DailyMetric;
use crate::time::StoreDay;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Settings of the calibrator (part of the policy an operator can change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalibrationRules {
    pub window_days: u32,
    pub min_impressions: u64,
    pub min_spend_micros: i64,
    pub min_days: u32,
    pub winner_percentile_bp: u32,
    pub loser_percentile_bp: u32,
}

impl Default for CalibrationRules {
    fn default() -> Self {
        CalibrationRules {
            window_days: 28,
            min_impressions: 500,
            min_spend_micros: 5_000_000,
            min_days: 7,
            winner_percentile_bp: 7_500,
            loser_percentile_bp: 2_500,
        }
    }
}

/// What the calibrator decided, stored with the cycle and cited by every classification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thresholds {
    pub window_from: StoreDay,
    pub window_to: StoreDay,
    pub method: String,
    pub rules: CalibrationRules,
    /// SKUs in the population (enough data).
    pub n: usize,
    /// SKUs left out for too little data.
    pub insufficient: usize,
    /// Metric rows left out as provisional.
    pub provisional_rows_excluded: usize,
    /// ROAS floor of a WINNER (p75), basis points; None when the population is empty.
    pub winner_floor_roas_bp: Option<i64>,
    /// ROAS ceiling of a LOSER (p25), basis points.
    pub loser_ceiling_roas_bp: Option<i64>,
    pub median_roas_bp: Option<i64>,
}

/// Totals per SKU over the window, provisional days excluded.
pub fn window_totals(
    metrics: &[DailyMetric],
    from: StoreDay,
    to: StoreDay,
) -> (BTreeMap<Sku, WindowTotals>, usize) {
    // Accumulate in a hash map keyed by reference (no String per metric row, one probe per
    // row), then order once: a BTreeMap probe per row costs ~13 key comparisons and, at 10k
    // SKUs, as many cache misses.
    let mut acc: HashMap<&Sku, WindowTotals> = HashMap::new();
    let mut provisional = 0;
    for m in metrics.iter().filter(|m| m.day >= from && m.day <= to) {
        if m.provisional {
            provisional += 1;
            continue;
        }
        acc.entry(&m.sku).or_default().add(m);
    }
    let out: BTreeMap<Sku, WindowTotals> = acc.into_iter().map(|(k, v)| (k.clone(), v)).collect();
    (out, provisional)
}

pub fn in_population(t: &WindowTotals, rules: &CalibrationRules) -> bool {
    t.impressions >= rules.min_impressions
        && t.cost_micros >= rules.min_spend_micros
        && t.active_days >= rules.min_days
}

/// Computes the thresholds for the cycle of store day `today`.
pub fn calibrate(
    totals: &BTreeMap<Sku, WindowTotals>,
    provisional_rows: usize,
    today: StoreDay,
    rules: CalibrationRules,
) -> Thresholds {
    let mut roas: Vec<i64> = totals
        .values()
        .filter(|t| in_population(t, &rules))
        .filter_map(WindowTotals::roas_bp)
        .collect();
    roas.sort_unstable();
    Thresholds {
        window_from: today.plus_days(-i64::from(rules.window_days)),
        window_to: today.plus_days(-1),
        method: "percentile_cont over ROAS (basis points), provisional days excluded".into(),
        rules,
        n: roas.len(),
        insufficient: totals.len() - roas.len(),
        provisional_rows_excluded: provisional_rows,
        winner_floor_roas_bp: percentile_cont(&roas, rules.winner_percentile_bp),
        loser_ceiling_roas_bp: percentile_cont(&roas, rules.loser_percentile_bp),
        median_roas_bp: percentile_cont(&roas, 5_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::{Currency, Money};

    fn m(sku: &str, day: &str, imp: u64, cost: i64, value: i64, provisional: bool) -> DailyMetric {
        DailyMetric {
            sku: Sku::new(sku).unwrap(),
            day: StoreDay::parse(day).unwrap(),
            impressions: imp,
            clicks: imp / 10,
            cost: Money::from_micros(cost, Currency::EUR),
            conversions_milli: 0,
            conversion_value: Money::from_micros(value, Currency::EUR),
            provisional,
        }
    }

    #[test]
    fn thresholds_from_hand_computed_distribution() {
        let rules = CalibrationRules {
            min_impressions: 10,
            min_spend_micros: 1_000_000,
            min_days: 1,
            ..Default::default()
        };
        // ROAS 1.0, 2.0, 3.0, 4.0 (10 000 … 40 000 bp); p75 = 32 500, p25 = 17 500.
        let metrics = vec![
            m("A", "2026-11-20", 100, 10_000_000, 10_000_000, false),
            m("B", "2026-11-20", 100, 10_000_000, 20_000_000, false),
            m("C", "2026-11-20", 100, 10_000_000, 30_000_000, false),
            m("D", "2026-11-20", 100, 10_000_000, 40_000_000, false),
            m("D", "2026-11-23", 100, 10_000_000, 0, true), // provisional: ignored
            m("E", "2026-11-20", 5, 10_000_000, 90_000_000, false), // too few impressions
            m("F", "2026-10-01", 100, 10_000_000, 90_000_000, false), // outside the window
        ];
        let today = StoreDay::parse("2026-11-24").unwrap();
        let (totals, prov) = window_totals(&metrics, today.plus_days(-28), today.plus_days(-1));
        let t = calibrate(&totals, prov, today, rules);
        assert_eq!(t.n, 4);
        assert_eq!(t.insufficient, 1);
        assert_eq!(t.provisional_rows_excluded, 1);
        assert_eq!(t.winner_floor_roas_bp, Some(32_500));
        assert_eq!(t.loser_ceiling_roas_bp, Some(17_500));
        assert_eq!(t.window_from.to_string(), "2026-10-27");
        assert_eq!(t.window_to.to_string(), "2026-11-23");
    }

    #[test]
    fn empty_and_zero_spend_windows_have_no_floor() {
        let today = StoreDay::parse("2026-11-24").unwrap();
        let t = calibrate(&BTreeMap::new(), 0, today, CalibrationRules::default());
        assert_eq!((t.n, t.winner_floor_roas_bp), (0, None));
        let metrics = vec![m("A", "2026-11-20", 10_000, 0, 5_000_000, false)];
        let (totals, _) = window_totals(&metrics, today.plus_days(-28), today.plus_days(-1));
        let t = calibrate(&totals, 0, today, CalibrationRules::default());
        assert_eq!(
            t.winner_floor_roas_bp, None,
            "all-zero spend: nobody is in the population"
        );
        assert_eq!(t.insufficient, 1);
    }
}
