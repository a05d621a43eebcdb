//! classifier: WINNER / MID / LOSER / INSUFFICIENT_DATA per variant, with the numbers that
//! decided it.

use super::calibrate::{in_population, Thresholds};
use super::WindowTotals;
use crate::action::Classification;
use crate::ids::Sku;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classified {
    pub sku: Sku,
    pub class: Classification,
    pub roas_bp: Option<i64>,
    pub impressions: u64,
    pub cost_micros: i64,
    pub value_micros: i64,
    pub active_days: u32,
    pub reason: String,
}

/// Classifies one SKU against the cycle's thresholds. A ROAS equal to the winner floor is a
/// WINNER; equal to the loser ceiling, a LOSER.
pub fn classify(sku: &Sku, totals: Option<&WindowTotals>, t: &Thresholds) -> Classified {
    let empty = WindowTotals::default();
    let w = totals.unwrap_or(&empty);
    let base = |class, reason: String| Classified {
        sku: sku.clone(),
        class,
        roas_bp: w.roas_bp(),
        impressions: w.impressions,
        cost_micros: w.cost_micros,
        value_micros: w.value_micros,
        active_days: w.active_days,
        reason,
    };
    if !in_population(w, &t.rules) {
        return base(
            Classification::InsufficientData,
            format!(
                "{} impressions, {} active days, spend {} micros in {}…{} (needs ≥ {}, ≥ {}, ≥ {})",
                w.impressions,
                w.active_days,
                w.cost_micros,
                t.window_from,
                t.window_to,
                t.rules.min_impressions,
                t.rules.min_days,
                t.rules.min_spend_micros
            ),
        );
    }
    let (Some(floor), Some(ceiling), Some(roas)) =
        (t.winner_floor_roas_bp, t.loser_ceiling_roas_bp, w.roas_bp())
    else {
        return base(
            Classification::InsufficientData,
            "no thresholds this cycle".into(),
        );
    };
    if roas >= floor {
        base(
            Classification::Winner,
            format!("ROAS {roas}bp ≥ p75 floor {floor}bp (n={})", t.n),
        )
    } else if roas <= ceiling {
        base(
            Classification::Loser,
            format!("ROAS {roas}bp ≤ p25 ceiling {ceiling}bp (n={})", t.n),
        )
    } else {
        base(
            Classification::Mid,
            format!(
                "ROAS {roas}bp between {ceiling}bp and {floor}bp (n={})",
                t.n
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::calibrate::CalibrationRules;
    use crate::time::StoreDay;

    fn thresholds() -> Thresholds {
        Thresholds {
            window_from: StoreDay::parse("2026-10-27").unwrap(),
            window_to: StoreDay::parse("2026-11-23").unwrap(),
            method: "test".into(),
            rules: CalibrationRules {
                min_impressions: 10,
                min_spend_micros: 1,
                min_days: 1,
                ..Default::default()
            },
            n: 4,
            insufficient: 0,
            provisional_rows_excluded: 0,
            winner_floor_roas_bp: Some(30_000),
            loser_ceiling_roas_bp: Some(15_000),
            median_roas_bp: Some(20_000),
        }
    }

    fn totals(cost: i64, value: i64) -> WindowTotals {
        WindowTotals {
            impressions: 100,
            clicks: 10,
            cost_micros: cost,
            conversions_milli: 0,
            value_micros: value,
            active_days: 5,
        }
    }

    #[test]
    fn edges_and_ties() {
        let sku = Sku::new("S").unwrap();
        let t = thresholds();
        assert_eq!(
            classify(&sku, Some(&totals(100, 300)), &t).class,
            Classification::Winner,
            "tie at the floor"
        );
        assert_eq!(
            classify(&sku, Some(&totals(100, 299)), &t).class,
            Classification::Mid
        );
        assert_eq!(
            classify(&sku, Some(&totals(100, 150)), &t).class,
            Classification::Loser,
            "tie at the ceiling"
        );
        assert_eq!(
            classify(&sku, None, &t).class,
            Classification::InsufficientData,
            "no data at all"
        );
        let one_day_old = WindowTotals {
            active_days: 0,
            ..totals(100, 900)
        };
        let c = classify(&sku, Some(&one_day_old), &t);
        assert_eq!(c.class, Classification::InsufficientData);
        assert!(c.reason.contains("0 active days"), "{}", c.reason);
        let no_floor = Thresholds {
            winner_floor_roas_bp: None,
            ..t
        };
        assert_eq!(
            classify(&sku, Some(&totals(100, 300)), &no_floor).class,
            Classification::InsufficientData
        );
    }
}
