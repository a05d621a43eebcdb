//! The seeded merchant: at 09:00 store time, now and then, a person edits a price in the Shopify
//! admin or a budget in Google Ads. These are the only changes `changes_since` reports and the
//! only edits a policy should treat as someone else's.

use crate::day::day_number;
use crate::rng::{poisson, stream, Purpose};
use crate::shop::{SimShop, State};
use crate::writes::{Actor, Change, ShopWrite};
use otto_core::metrics::ExternalChange;
use otto_core::Money;
use rand::Rng;

/// Price edits per variant per day (about one a month in a 500-variant shop … per 15 variants).
const PRICE_EDITS_PER_VARIANT_DAY: f64 = 0.002;
/// Chance of one budget edit on a day.
const BUDGET_EDIT_P: f64 = 1.0 / 30.0;

impl SimShop {
    pub(crate) fn merchant_edits(&self, s: &mut State) {
        let day = s.day;
        let at = self.spec.clock.at_local(day, 9, 0).unwrap_or_default();
        let mut rng = stream(self.spec.seed, Purpose::Merchant, 0, day_number(day));
        let n = self.truth.variants.len();
        for _ in 0..poisson(&mut rng, n as f64 * PRICE_EDITS_PER_VARIANT_DAY) {
            let i = rng.gen_range(0..n);
            let t = &self.truth.variants[i];
            let v = &mut s.vars[i];
            let from = v.price;
            let factor = rng.gen_range(0.92..1.08);
            let to = Money::from_micros(
                ((from.micros() as f64 * factor) / 1e4).round() as i64 * 10_000,
                from.currency(),
            );
            v.price = to;
            v.updated_at = at;
            let compare_at = v.compare_at;
            s.writes.push(ShopWrite {
                at,
                day,
                actor: Actor::Merchant,
                change: Change::Price {
                    variant_id: t.variant_id.clone(),
                    sku: t.sku.to_string(),
                    from,
                    to,
                    compare_at_from: compare_at,
                    compare_at_to: compare_at,
                },
            });
            s.external.push(ExternalChange {
                resource: t.variant_id.clone(),
                changed_at: at,
                client_type: "SHOPIFY_ADMIN".into(),
                changed_fields: vec!["price".into()],
            });
        }
        if rng.gen_bool(BUDGET_EDIT_P) {
            let c = rng.gen_range(0..s.budgets.len());
            let from = s.budgets[c];
            let to = Money::from_micros(
                ((from.micros() as f64 * rng.gen_range(0.8..1.25)) / 1e6)
                    .round()
                    .max(1.0) as i64
                    * 1_000_000,
                from.currency(),
            );
            s.budgets[c] = to;
            let resource = self.truth.campaigns[c].budget_resource.clone();
            s.writes.push(ShopWrite {
                at,
                day,
                actor: Actor::Merchant,
                change: Change::Budget {
                    budget_resource: resource.clone(),
                    from,
                    to,
                },
            });
            s.external.push(ExternalChange {
                resource,
                changed_at: at,
                client_type: "GOOGLE_ADS_WEB_CLIENT".into(),
                changed_fields: vec!["amount_micros".into()],
            });
        }
    }
}
