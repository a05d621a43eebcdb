//! The shop's hidden truth: what each variant's shoppers and ad auctions would do, drawn from a
//! seed before any policy runs and never shown to one. Written from what is known about retail
//! demand and Shopping auctions (see docs/SIMULATION.md), not from Otto's rules.

use crate::demand::{saturation_spend, Season};
use crate::rng::{lognormal, stream, Purpose};
use otto_core::money::{Currency, Money};
use otto_core::{Sku, StoreClock, StoreDay};
use rand::Rng;

/// What to simulate.
#[derive(Debug, Clone)]
pub struct ShopSpec {
    pub variants: usize,
    pub seed: u64,
    pub currency: Currency,
    /// Day 1 of the policies' run; the shop's history starts `warmup_days` before it.
    pub start: StoreDay,
    pub warmup_days: u32,
    /// The store's time zone (edit times, store days).
    pub clock: StoreClock,
    /// A seeded merchant edits a few prices and budgets in the admin (genuine outside edits).
    pub merchant_edits: bool,
}

/// One variant's hidden truth.
#[derive(Debug, Clone)]
pub struct VariantTruth {
    pub sku: Sku,
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub tags: Vec<String>,
    /// Index into [`Truth::campaigns`]: the Shopping campaign of its product line.
    pub campaign: usize,
    /// The list price the demand curve is anchored at (the shop's price at the start).
    pub reference_price: Money,
    pub unit_cost: Money,
    /// Expected store units a day from organic traffic at the reference price (yearly mean).
    pub organic_per_day: f64,
    /// Price elasticity ε (demand ∝ (price/reference)^ε), mostly −1 … −3.
    pub elasticity: f64,
    pub season: Option<Season>,
    /// Clicks a day at the impression-share ceiling.
    pub max_clicks: f64,
    /// Cost of the first (cheapest) click, currency units.
    pub cpc0: f64,
    /// Conversion rate of a click at the reference price.
    pub cvr: f64,
    /// Click-through rate (impressions = clicks / ctr).
    pub ctr: f64,
    /// Impression share reachable at the ceiling (rank-limited), 0 … 1.
    pub is_ceiling: f64,
    /// Share of ad-attributed buyers who would have bought organically anyway.
    pub cannibalised: f64,
    pub initial_stock: i64,
    pub reorder_point: i64,
    pub reorder_qty: i64,
    pub lead_days: i64,
    /// Discontinued variants sell out and stay out.
    pub restocks: bool,
    pub initially_active: bool,
}

impl VariantTruth {
    /// Unit margin at the reference price, in basis points.
    pub fn margin_bp(&self) -> i64 {
        let p = self.reference_price.micros();
        if p <= 0 {
            return 0;
        }
        (p - self.unit_cost.micros()) * 10_000 / p
    }

    /// Contribution a day (currency units) of the ads alone at saturation, and of organic sales:
    /// the truth's own verdict, for tests and precision figures — never shown to a policy.
    pub fn daily_contribution(&self) -> (f64, f64) {
        let price = self.reference_price.micros() as f64 / 1e6;
        let unit = price - self.unit_cost.micros() as f64 / 1e6;
        let spend = saturation_spend(self.max_clicks, self.cpc0) / 3.0;
        let clicks = crate::demand::clicks_for_spend(spend, self.max_clicks, self.cpc0);
        let paid_units = clicks * self.cvr * (1.0 - self.cannibalised);
        (paid_units * unit - spend, self.organic_per_day * unit)
    }
}

impl Truth {
    /// A variant's expected contribution a day while published (organic sales plus its ads, as
    /// [`VariantTruth::daily_contribution`]); None for a SKU the shop does not have.
    pub fn variant_contribution(&self, sku: &str) -> Option<f64> {
        self.variants
            .iter()
            .find(|v| v.sku.as_str() == sku)
            .map(|v| {
                let (ads, organic) = v.daily_contribution();
                ads + organic
            })
    }

    /// A product's expected contribution a day while published (every variant: organic sales
    /// plus its ads at a third of saturation spend, at reference prices). Negative: a genuine
    /// loser, better unpublished; positive: unpublishing it loses money even if its ads do.
    pub fn product_contribution(&self, product_id: &str) -> f64 {
        self.variants
            .iter()
            .filter(|v| v.product_id == product_id)
            .map(|v| {
                let (ads, organic) = v.daily_contribution();
                ads + organic
            })
            .sum()
    }
}

/// One Shopping campaign (one per product line) and its own budget.
#[derive(Debug, Clone)]
pub struct CampaignTruth {
    pub campaign_id: String,
    pub name: String,
    pub budget_resource: String,
    pub initial_budget: Money,
}

#[derive(Debug, Clone)]
pub struct Truth {
    pub variants: Vec<VariantTruth>,
    pub campaigns: Vec<CampaignTruth>,
}

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
const COLOURS: [&str; 5] = ["Sand", "Oat", "Sage", "Charcoal", "Ivy"];
const SIZES: [&str; 4] = ["S", "M", "L", "XL"];
/// Relative popularity of sizes (the middle sizes sell most).
const SIZE_SHARE: [f64; 4] = [0.7, 1.3, 1.2, 0.6];
const KINDS: [&str; 5] = ["Throw", "Duvet Cover", "Pillowcase", "Sheet", "Towel"];

fn money(units: f64, currency: Currency) -> Money {
    Money::from_micros((units * 1e6).round() as i64, currency)
}

/// Draws the truth of a shop. The same spec always gives the same truth.
pub fn generate(spec: &ShopSpec) -> Truth {
    let mut rng = stream(spec.seed, Purpose::Truth, 0, 0);
    let campaigns: Vec<CampaignTruth> = LINES
        .iter()
        .enumerate()
        .map(|(i, (_, name))| CampaignTruth {
            campaign_id: (1_000 + i).to_string(),
            name: format!("EU/{name}/Shopping"),
            budget_resource: format!("customers/1234567890/campaignBudgets/{}", 1_000 + i),
            initial_budget: Money::zero(spec.currency),
        })
        .collect();
    let mut variants = Vec::with_capacity(spec.variants);
    let mut product = 0usize;
    while variants.len() < spec.variants {
        let n = match rng.gen_range(0..100) {
            0..=29 => 1,
            30..=54 => 2,
            55..=79 => 3,
            _ => 4,
        };
        let line = product % LINES.len();
        let (code, line_name) = LINES[line];
        let kind = KINDS[(product / LINES.len()) % KINDS.len()];
        let colour = COLOURS[product % COLOURS.len()];
        let base_price = f64::from(rng.gen_range(19u32..150)) - 0.01;
        let cost_share = rng.gen_range(0.25..0.62);
        let active = rng.gen_ratio(23, 25);
        // A merchant drafts a product for a reason (weak seller, not ready, being phased out):
        // drafted products draw a weaker appeal and are mostly not restocked.
        let appeal =
            lognormal(&mut rng, 0.45, 1.1) * if active { 1.0 } else { rng.gen_range(0.1..0.6) };
        let season = rng.gen_ratio(3, 25).then(|| Season {
            peak_day: if rng.gen_bool(0.5) { 196.0 } else { 15.0 },
            amplitude: rng.gen_range(0.5..0.9),
        });
        let mut tags = vec![
            line_name.to_lowercase(),
            kind.to_lowercase().replace(' ', "-"),
        ];
        if let Some(s) = season {
            tags.push(
                if s.peak_day > 100.0 {
                    "season:summer"
                } else {
                    "season:winter"
                }
                .into(),
            );
        }
        for size in 0..n {
            if variants.len() >= spec.variants {
                break;
            }
            let i = variants.len();
            let price = (base_price * (1.0 + 0.1 * size as f64)).floor() + 0.99;
            let organic = appeal * SIZE_SHARE[size] * rng.gen_range(0.6..1.4);
            let elasticity = if rng.gen_ratio(4, 5) {
                rng.gen_range(-3.2..-1.2)
            } else {
                rng.gen_range(-1.2..-0.5)
            };
            let daily = organic.max(0.05);
            variants.push(VariantTruth {
                sku: Sku::new(format!("SKU-{code}-{product:04}-{}", SIZES[size]))
                    .expect("generated SKUs are valid"),
                variant_id: format!("gid://shopify/ProductVariant/{}", 40_000_000 + i),
                product_id: format!("gid://shopify/Product/{}", 8_000_000 + product),
                title: format!("{line_name} {kind} — {colour} / {}", SIZES[size]),
                tags: tags.clone(),
                campaign: line,
                reference_price: money(price, spec.currency),
                unit_cost: money(price * cost_share, spec.currency).rounded(),
                organic_per_day: organic,
                elasticity,
                season,
                max_clicks: lognormal(&mut rng, 10.0, 0.9),
                cpc0: rng.gen_range(0.15..0.9),
                cvr: lognormal(&mut rng, 0.022, 0.55).min(0.12),
                ctr: rng.gen_range(0.005..0.03),
                is_ceiling: rng.gen_range(0.5..0.9),
                cannibalised: rng.gen_range(0.0..0.3),
                // Forecasts miss: one variant in seven sits on 2–5 times the stock it needs.
                initial_stock: (daily
                    * rng.gen_range(20.0..70.0)
                    * if rng.gen_ratio(1, 7) {
                        rng.gen_range(2.0..5.0)
                    } else {
                        1.0
                    })
                .round() as i64
                    + 3,
                reorder_point: (daily * 7.0).ceil() as i64,
                reorder_qty: (daily * rng.gen_range(30.0..60.0)).ceil() as i64 + 5,
                lead_days: rng.gen_range(7..22),
                restocks: rng.gen_ratio(17, 20) && (active || rng.gen_bool(0.5)),
                initially_active: active,
            });
        }
        product += 1;
    }
    let campaigns = with_budgets(campaigns, &variants, &mut rng, spec.currency);
    Truth {
        variants,
        campaigns,
    }
}

/// Each campaign's starting budget: what its active offers could spend, times a factor drawn
/// per campaign (0.35 … 1.3), so some campaigns are held back by budget and some are not.
fn with_budgets(
    mut campaigns: Vec<CampaignTruth>,
    variants: &[VariantTruth],
    rng: &mut impl Rng,
    currency: Currency,
) -> Vec<CampaignTruth> {
    for (c, camp) in campaigns.iter_mut().enumerate() {
        let wants: f64 = variants
            .iter()
            .filter(|v| v.campaign == c && v.initially_active)
            .map(|v| saturation_spend(v.max_clicks, v.cpc0))
            .sum();
        let factor = rng.gen_range(0.35..1.3);
        camp.initial_budget = money((wants * factor).round().max(5.0), currency);
    }
    campaigns
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn spec(seed: u64, variants: usize) -> ShopSpec {
        ShopSpec {
            variants,
            seed,
            currency: Currency::EUR,
            start: StoreDay::parse("2026-09-01").unwrap(),
            warmup_days: 28,
            clock: StoreClock::new("Europe/Amsterdam").unwrap(),
            merchant_edits: false,
        }
    }

    #[test]
    fn products_have_one_to_four_variants_and_unique_skus() {
        let t = generate(&spec(3, 500));
        assert_eq!(t.variants.len(), 500);
        let mut per: std::collections::BTreeMap<&str, usize> = Default::default();
        for v in &t.variants {
            *per.entry(v.product_id.as_str()).or_default() += 1;
        }
        assert!(per.values().all(|n| (1..=4).contains(n)));
        assert!(per.values().any(|n| *n == 1) && per.values().any(|n| *n == 4));
        let skus: std::collections::HashSet<_> = t.variants.iter().map(|v| &v.sku).collect();
        assert_eq!(skus.len(), 500);
    }

    #[test]
    fn the_truth_holds_losers_organic_sellers_and_budget_limited_winners() {
        let t = generate(&spec(1, 500));
        let (mut losers, mut organic_only, mut winners) = (0, 0, 0);
        for v in &t.variants {
            let (ads, organic) = v.daily_contribution();
            if ads < 0.0 && organic < 5.0 {
                losers += 1;
            }
            if ads < 0.0 && organic > 10.0 {
                organic_only += 1;
            }
            if ads > 5.0 {
                winners += 1;
            }
        }
        eprintln!("losers {losers}, organic-only {organic_only}, winners {winners}");
        assert!(losers > 25, "losers {losers}");
        assert!(organic_only > 10, "organic {organic_only}");
        assert!(winners > 10, "winners {winners}");
        // Some campaigns cannot buy all they could profitably buy.
        let limited = t
            .campaigns
            .iter()
            .enumerate()
            .filter(|(c, camp)| {
                let wants: f64 = t
                    .variants
                    .iter()
                    .filter(|v| v.campaign == *c && v.initially_active)
                    .map(|v| saturation_spend(v.max_clicks, v.cpc0))
                    .sum();
                (camp.initial_budget.micros() as f64 / 1e6) < wants * 0.9
            })
            .count();
        assert!(limited >= 2, "{limited}");
        // A few whole products are genuine losers; most are worth keeping published.
        let products: std::collections::BTreeSet<&str> =
            t.variants.iter().map(|v| v.product_id.as_str()).collect();
        let losing = products
            .iter()
            .filter(|p| t.product_contribution(p) < 0.0)
            .count();
        assert!(
            losing >= 3 && losing * 4 < products.len(),
            "{losing} of {}",
            products.len()
        );
    }
}
