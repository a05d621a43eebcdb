//! A synthetic store to act on: seeded, deterministic, integer-only. `otto demo` and the tests use
//! it in place of a real Shopify shop and ad account.

use crate::ids::Sku;
use crate::metrics::{DailyMetric, ProductStatus, Variant};
use crate::money::{Currency, Money};
use crate::time::StoreDay;
use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const LINES: [(&str, &str); 8] = [
    ("LIN", "Linen"),
    ("COT", "Cotton"),
    ("WOL", "Wool"),
    ("SLK", "Silk"),
    ("BAM", "Bamboo"),
    ("VEL", "Velvet"),
    ("JUT", "Jute"),
    ("CAS", "Cashmere"),
];
const COLOURS: [&str; 5] = ["SND", "OAT", "SGE", "CHR", "IVY"];
const SIZES: [&str; 4] = ["S", "M", "L", "XL"];
const KINDS: [&str; 5] = ["Throw", "Duvet Cover", "Pillowcase", "Sheet", "Towel"];

#[derive(Debug, Clone)]
pub struct SyntheticStore {
    pub variants: Vec<Variant>,
    pub metrics: Vec<DailyMetric>,
}

/// Parameters of the synthetic store.
#[derive(Debug, Clone, Copy)]
pub struct SyntheticSpec {
    pub variants: usize,
    /// Days of history ending at (and including) `last_day`.
    pub days: u32,
    pub last_day: StoreDay,
    pub seed: u64,
    pub currency: Currency,
}

/// Builds the store. The same spec always gives the same store.
pub fn generate(spec: &SyntheticSpec, synced_at: DateTime<Utc>) -> SyntheticStore {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut variants = Vec::with_capacity(spec.variants);
    // Latent traits per variant drive the metrics: demand (impressions), click rate, conversion
    // rate, all in integer parts-per-million.
    let mut traits = Vec::with_capacity(spec.variants);
    for i in 0..spec.variants {
        let (code, line) = LINES[i % LINES.len()];
        let product_no = i / SIZES.len();
        let colour = COLOURS[product_no % COLOURS.len()];
        let size = SIZES[i % SIZES.len()];
        let kind = KINDS[(product_no / COLOURS.len()) % KINDS.len()];
        let sku = Sku::new(format!(
            "SKU-{code}-{:03}-{colour}-{size}",
            product_no % 1000
        ))
        .and_then(|s| {
            // Uniqueness beyond 1000 products: suffix the index.
            if spec.variants > 4000 {
                Sku::new(format!("{s}-{i}"))
            } else {
                Ok(s)
            }
        })
        .unwrap_or_else(|_| Sku::new(format!("SKU-{i}")).expect("plain SKU is valid"));
        let price_minor: i64 = rng.gen_range(19..150) * 100 - 1;
        let price =
            Money::from_minor(price_minor, spec.currency).unwrap_or(Money::zero(spec.currency));
        let cost_pct: i64 = rng.gen_range(2_500..6_000);
        let unit_cost = price.scale_bp(cost_pct).map(|m| m.rounded()).ok();
        let status = if rng.gen_ratio(1, 12) {
            ProductStatus::Draft
        } else {
            ProductStatus::Active
        };
        let mut tags = vec![line.to_lowercase(), kind.to_lowercase().replace(' ', "-")];
        if rng.gen_ratio(1, 10) {
            tags.push(
                if rng.gen_bool(0.5) {
                    "season:summer"
                } else {
                    "season:winter"
                }
                .into(),
            );
        }
        variants.push(Variant {
            sku,
            variant_id: format!("gid://shopify/ProductVariant/{}", 40_000_000 + i),
            product_id: format!("gid://shopify/Product/{}", 8_000_000 + product_no),
            title: format!("{line} {kind} — {colour} / {size}"),
            price,
            compare_at_price: None,
            unit_cost,
            status,
            inventory: rng.gen_range(0..400),
            tags,
            updated_at: synced_at,
        });
        let demand: u64 = match rng.gen_range(0..10) {
            0 => rng.gen_range(0..20), // barely seen: insufficient data
            1..=6 => rng.gen_range(200..2_000),
            _ => rng.gen_range(2_000..9_000),
        };
        let ctr_ppm: u64 = rng.gen_range(5_000..40_000);
        let cvr_ppm: u64 = rng.gen_range(5_000..60_000);
        let cpc_micros: i64 = rng.gen_range(150_000..900_000);
        traits.push((demand, ctr_ppm, cvr_ppm, cpc_micros));
    }

    let mut metrics = Vec::with_capacity(spec.variants * spec.days as usize);
    for d in (0..spec.days).rev() {
        let day = spec.last_day.plus_days(-(d as i64));
        for (v, &(demand, ctr_ppm, cvr_ppm, cpc_micros)) in variants.iter().zip(&traits) {
            if v.status != ProductStatus::Active {
                continue;
            }
            let jitter: u64 = rng.gen_range(70..130);
            let impressions = demand * jitter / 100;
            let clicks = impressions * ctr_ppm / 1_000_000;
            let conversions_milli = (clicks * cvr_ppm / 1_000) as i64;
            let cost = Money::from_micros(clicks as i64 * cpc_micros, spec.currency);
            let value_micros = i128::from(v.price.micros()) * i128::from(conversions_milli) / 1_000;
            let conversion_value = Money::from_micros(
                i64::try_from(value_micros).unwrap_or(i64::MAX),
                spec.currency,
            );
            metrics.push(DailyMetric {
                sku: v.sku.clone(),
                day,
                impressions,
                clicks,
                cost,
                conversions_milli,
                conversion_value,
                // The last two days are inside Google Ads' restatement window.
                provisional: d < 2,
            });
        }
    }
    SyntheticStore { variants, metrics }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn spec(seed: u64) -> SyntheticSpec {
        SyntheticSpec {
            variants: 200,
            days: 28,
            last_day: StoreDay::parse("2026-11-24").unwrap(),
            seed,
            currency: Currency::EUR,
        }
    }

    #[test]
    fn same_seed_same_store() {
        let at = "2026-11-24T05:00:00Z".parse().unwrap();
        let a = generate(&spec(7), at);
        let b = generate(&spec(7), at);
        assert_eq!(a.variants, b.variants);
        assert_eq!(a.metrics, b.metrics);
        let c = generate(&spec(8), at);
        assert_ne!(a.metrics, c.metrics);
    }

    #[test]
    fn skus_are_unique_and_money_is_whole_cents() {
        let at = "2026-11-24T05:00:00Z".parse().unwrap();
        for n in [200, 5000] {
            let s = generate(
                &SyntheticSpec {
                    variants: n,
                    days: 1,
                    ..spec(1)
                },
                at,
            );
            let skus: HashSet<_> = s.variants.iter().map(|v| v.sku.clone()).collect();
            assert_eq!(skus.len(), n);
            assert!(s.variants.iter().all(|v| v.price.is_whole_minor()));
        }
    }
}
