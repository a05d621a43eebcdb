//! discount_executor rules: which DISCOUNT_TEST candidates get a window and at what price, and
//! whether a window past its TTL may be restored.
//!
//! * The discount price is `price × (1 − percent)`, rounded to the currency's minor unit; the old
//!   price goes to compare-at (Shopify's convention for showing a discount).
//! * Margin-tier gate: the SKU's tier is the highest whose `min_margin_bp` its full-price margin
//!   reaches; the margin at the discount price must stay ≥ the tier's floor, or the test is not
//!   opened. Without a known unit cost nothing is opened.
//! * A restore replays the stored reversal op exactly; if the shop's price is no longer the one
//!   the discount set, someone else changed it: the restore is held, never overwriting theirs.

use crate::metrics::Variant;
use crate::money::Money;
use crate::policy::MarginTier;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountPlan {
    pub tier: String,
    pub margin_full_bp: i64,
    pub margin_discounted_bp: i64,
    pub floor_bp: i64,
    pub percent_bp: u32,
    pub price_before: Money,
    pub compare_at_before: Option<Money>,
    pub price_after: Money,
    pub compare_at_after: Money,
}

fn margin_bp(price: Money, cost: Money) -> Option<i64> {
    (price.micros() > 0 && price.currency() == cost.currency()).then(|| {
        ((i128::from(price.micros()) - i128::from(cost.micros())) * 10_000
            / i128::from(price.micros())) as i64
    })
}

/// The window a DISCOUNT_TEST would open, or why not.
pub fn plan_discount(
    v: &Variant,
    percent_bp: u32,
    tiers: &[MarginTier],
) -> Result<DiscountPlan, String> {
    let cost = v
        .unit_cost
        .ok_or("unit cost unknown: the margin floor cannot be checked")?;
    if percent_bp == 0 || percent_bp >= 10_000 {
        return Err(format!("discount of {percent_bp}bp is out of range"));
    }
    // A SKU already showing a compare-at price is on someone's discount: don't stack.
    if let Some(c) = v.compare_at_price {
        if c.micros() > v.price.micros() {
            return Err(format!(
                "already discounted (compare-at {c} above price {})",
                v.price
            ));
        }
    }
    let full = margin_bp(v.price, cost).ok_or("price or cost unusable for a margin")?;
    let tier = tiers
        .iter()
        .filter(|t| full >= t.min_margin_bp)
        .max_by_key(|t| t.min_margin_bp)
        .ok_or_else(|| format!("margin {full}bp is below every tier"))?;
    let after = v
        .price
        .scale_bp(10_000 - i64::from(percent_bp))
        .map_err(|e| e.to_string())?
        .rounded();
    let discounted = margin_bp(after, cost).ok_or("discounted price unusable")?;
    if discounted < tier.floor_bp {
        return Err(format!(
            "margin after −{}.{:02}% would be {discounted}bp, below tier {}'s floor {}bp",
            percent_bp / 100,
            percent_bp % 100,
            tier.name,
            tier.floor_bp
        ));
    }
    Ok(DiscountPlan {
        tier: tier.name.clone(),
        margin_full_bp: full,
        margin_discounted_bp: discounted,
        floor_bp: tier.floor_bp,
        percent_bp,
        price_before: v.price,
        compare_at_before: v.compare_at_price,
        price_after: after,
        compare_at_after: v.price,
    })
}

/// Whether a restore may replay its reversal op: the shop must still show the discount's price.
pub fn restore_conflict(current_price: Money, discount_price: Money) -> Option<String> {
    (current_price.rounded() != discount_price.rounded()).then(|| {
        format!(
            "price is {current_price}, not the discount price {discount_price}: {}",
            crate::hold::OUTSIDE_EDIT
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;
    use crate::metrics::ProductStatus;
    use crate::money::Currency;

    fn v(price: &str, cost: Option<&str>) -> Variant {
        Variant {
            sku: Sku::new("SKU-1").unwrap(),
            variant_id: "v".into(),
            product_id: "p".into(),
            title: "t".into(),
            price: Money::parse(price, Currency::EUR).unwrap(),
            compare_at_price: None,
            unit_cost: cost.map(|c| Money::parse(c, Currency::EUR).unwrap()),
            status: ProductStatus::Active,
            inventory: 3,
            tags: vec![],
            updated_at: "2026-11-01T00:00:00Z".parse().unwrap(),
        }
    }

    #[test]
    fn discount_respects_the_tier_floor() {
        let tiers = MarginTier::defaults();
        // 70% margin → tier A (floor 40%); −15% → 64.7% margin.
        let p = plan_discount(&v("100.00", Some("30.00")), 1_500, &tiers).unwrap();
        assert_eq!(p.tier, "A");
        assert_eq!(p.price_after.amount_string(), "85.00");
        assert_eq!(p.compare_at_after.amount_string(), "100.00");
        assert_eq!(p.margin_discounted_bp, 6_470);
        // 20% margin → tier C (floor 15%); −15% → 5.9%: refused.
        let err = plan_discount(&v("100.00", Some("80.00")), 1_500, &tiers).unwrap_err();
        assert!(err.contains("below tier C's floor"), "{err}");
        assert!(plan_discount(&v("100.00", None), 1_500, &tiers)
            .unwrap_err()
            .contains("unit cost"));
        let mut on_sale = v("80.00", Some("10.00"));
        on_sale.compare_at_price = Some(Money::parse("100.00", Currency::EUR).unwrap());
        assert!(plan_discount(&on_sale, 1_500, &tiers)
            .unwrap_err()
            .contains("already discounted"));
    }

    #[test]
    fn restore_conflicts_only_on_other_prices() {
        let eur = |s| Money::parse(s, Currency::EUR).unwrap();
        assert!(restore_conflict(eur("85.00"), eur("85.00")).is_none());
        assert!(restore_conflict(eur("79.00"), eur("85.00"))
            .unwrap()
            .contains("not overwritten"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::ids::Sku;
    use crate::metrics::ProductStatus;
    use crate::money::Currency;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the price, cost, discount and tiers, an opened window never leaves the margin
        /// below the SKU's tier floor — recomputed from the exact prices, not from the plan's say-so.
        #[test]
        fn margin_floor_is_never_crossed(
            price_minor in 1i64..10_000_000,
            cost_pct in 0i64..=100,
            percent_bp in 1u32..10_000,
            floors in proptest::collection::vec((0i64..9_000, 0i64..9_000), 1..5),
        ) {
            let eur = Currency::EUR;
            let price = Money::from_minor(price_minor, eur).unwrap();
            let cost = Money::from_minor(price_minor * cost_pct / 100, eur).unwrap();
            let tiers: Vec<MarginTier> = floors
                .iter()
                .enumerate()
                .map(|(i, (min, floor))| MarginTier { name: format!("T{i}"), min_margin_bp: *min, floor_bp: *floor })
                .collect();
            let v = Variant {
                sku: Sku::new("SKU-P").unwrap(),
                variant_id: "v".into(),
                product_id: "p".into(),
                title: "t".into(),
                price,
                compare_at_price: None,
                unit_cost: Some(cost),
                status: ProductStatus::Active,
                inventory: 1,
                tags: vec![],
                updated_at: "2026-11-01T00:00:00Z".parse().unwrap(),
            };
            if let Ok(p) = plan_discount(&v, percent_bp, &tiers) {
                let tier = tiers.iter().find(|t| t.name == p.tier).unwrap();
                let after = p.price_after.micros();
                prop_assert!(after > 0 && after <= price.micros());
                let margin = (i128::from(after) - i128::from(cost.micros())) * 10_000 / i128::from(after);
                prop_assert!(margin as i64 >= tier.floor_bp, "margin {margin} < floor {}", tier.floor_bp);
                prop_assert!(p.price_after.is_whole_minor());
                prop_assert_eq!(p.compare_at_after, price);
            }
        }
    }
}
