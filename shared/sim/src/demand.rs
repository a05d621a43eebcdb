//! The shopper and auction curves, pure functions of the hidden truth. Floats live here only;
//! money leaves the model rounded to micros (see `shop`).
//!
//! * Price response: constant elasticity, demand ∝ (price / reference)^ε. Meta-analyses of
//!   retail price elasticities put the mean near −2.6 with most estimates between −1 and −3.5
//!   (Bijmolt, van Heerde & Pieters 2005, *JMR* 42(2)); the truth draws ε from that range.
//! * Paid clicks: a Shopping campaign buys clicks with diminishing returns — the cheapest
//!   auctions first, each extra click dearer — and no budget buys more than the impression-share
//!   ceiling its bids and quality allow (Google Ads' "search lost IS (rank)"). Modelled as
//!   clicks(s) = C·(1 − e^(−s / (C·cpc₀))): marginal cost cpc₀ at the first euro, C the ceiling.
//! * Seasonality: a yearly cosine around a peak day for seasonal products.

/// Demand multiplier of selling at `price` instead of `reference` (constant elasticity).
pub fn price_factor(price: f64, reference: f64, elasticity: f64) -> f64 {
    if price <= 0.0 || reference <= 0.0 {
        return 0.0;
    }
    (price / reference).powf(elasticity)
}

/// A seasonal product's yearly swing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Season {
    /// Day of the year (1 … 365) of the peak.
    pub peak_day: f64,
    /// 0 … 1: the peak is (1 + amplitude) times the yearly mean, the trough (1 − amplitude).
    pub amplitude: f64,
}

/// Demand multiplier on a day of the year (1.0 without seasonality).
pub fn season_factor(season: Option<Season>, day_of_year: u32) -> f64 {
    match season {
        None => 1.0,
        Some(s) => {
            let angle = std::f64::consts::TAU * (f64::from(day_of_year) - s.peak_day) / 365.25;
            (1.0 + s.amplitude * angle.cos()).max(0.02)
        }
    }
}

/// Clicks bought by spending `spend` a day on an offer whose ceiling is `max_clicks` a day and
/// whose first clicks cost `cpc0` each.
pub fn clicks_for_spend(spend: f64, max_clicks: f64, cpc0: f64) -> f64 {
    if spend <= 0.0 || max_clicks <= 0.0 || cpc0 <= 0.0 {
        return 0.0;
    }
    max_clicks * (1.0 - (-spend / (max_clicks * cpc0)).exp())
}

/// The spend past which more money buys almost nothing (95 % of the ceiling): what the auction
/// would take from an unlimited budget.
pub fn saturation_spend(max_clicks: f64, cpc0: f64) -> f64 {
    3.0 * max_clicks * cpc0
}

/// Splits a daily budget across the offers of a campaign in proportion to what each could
/// spend, never more than that (a budget larger than the sum is left unspent).
pub fn allocate(budget: f64, wants: &[f64]) -> Vec<f64> {
    let total: f64 = wants.iter().sum();
    if total <= 0.0 || budget <= 0.0 {
        return vec![0.0; wants.len()];
    }
    let share = (budget / total).min(1.0);
    wants.iter().map(|w| w * share).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lower_price_sells_more_by_the_elasticity() {
        let f = price_factor(85.0, 100.0, -2.0);
        assert!((f - 1.0 / (0.85f64 * 0.85)).abs() < 1e-9);
        assert_eq!(price_factor(100.0, 100.0, -2.5), 1.0);
    }

    #[test]
    fn clicks_have_diminishing_returns_and_a_ceiling() {
        let a = clicks_for_spend(10.0, 50.0, 0.5);
        let b = clicks_for_spend(20.0, 50.0, 0.5);
        assert!(b > a && b < 2.0 * a);
        assert!(clicks_for_spend(1e9, 50.0, 0.5) <= 50.0);
        assert!(clicks_for_spend(saturation_spend(50.0, 0.5), 50.0, 0.5) > 47.0);
    }

    #[test]
    fn budgets_split_in_proportion_and_cap() {
        assert_eq!(allocate(10.0, &[10.0, 30.0]), vec![2.5, 7.5]);
        assert_eq!(allocate(100.0, &[10.0, 30.0]), vec![10.0, 30.0]);
    }

    #[test]
    fn seasons_swing_around_the_peak() {
        let s = Some(Season {
            peak_day: 15.0,
            amplitude: 0.8,
        });
        assert!(season_factor(s, 15) > 1.7);
        assert!(season_factor(s, 197) < 0.3);
        assert_eq!(season_factor(None, 100), 1.0);
    }
}
