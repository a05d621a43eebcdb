//! How often a policy's verdicts agree with the hidden truth: of the variants it classed LOSER
//! and of the products it unpublished, how many the truth says lose money while published
//! ([`Truth::variant_contribution`], [`Truth::product_contribution`] < 0).

use crate::truth::Truth;
use serde::Serialize;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Precision {
    /// Distinct variants (or products) the policy judged losers.
    pub judged: usize,
    /// Of them, losers in the truth.
    pub true_losers: usize,
}

impl Precision {
    /// true_losers ÷ judged, bp (None when nothing was judged a loser).
    pub fn bp(&self) -> Option<i64> {
        (self.judged > 0).then(|| (self.true_losers as i64) * 10_000 / self.judged as i64)
    }
}

/// Precision of LOSER classifications: `skus` are the distinct SKUs classed LOSER.
pub fn loser_precision<'a>(truth: &Truth, skus: impl IntoIterator<Item = &'a str>) -> Precision {
    count(skus, |s| {
        truth.variant_contribution(s).is_some_and(|c| c < 0.0)
    })
}

/// Precision of unpublishing: `products` are the distinct products the policy unpublished.
pub fn unpublish_precision<'a>(
    truth: &Truth,
    products: impl IntoIterator<Item = &'a str>,
) -> Precision {
    count(products, |p| truth.product_contribution(p) < 0.0)
}

fn count<'a>(items: impl IntoIterator<Item = &'a str>, loser: impl Fn(&str) -> bool) -> Precision {
    let mut p = Precision::default();
    for i in items {
        p.judged += 1;
        p.true_losers += usize::from(loser(i));
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::generate;
    use crate::ShopSpec;
    use otto_core::money::Currency;
    use otto_core::{StoreClock, StoreDay};

    #[test]
    fn precision_counts_the_truths_losers_among_the_judged() {
        let t = generate(&ShopSpec {
            variants: 200,
            seed: 3,
            currency: Currency::EUR,
            start: StoreDay::parse("2026-09-01").unwrap(),
            warmup_days: 28,
            clock: StoreClock::new("Europe/Amsterdam").unwrap(),
            merchant_edits: false,
        });
        let by_sign = |loser: bool| {
            t.variants
                .iter()
                .find(|v| (t.variant_contribution(v.sku.as_str()).unwrap() < 0.0) == loser)
                .expect("the truth holds both")
        };
        let (bad, good) = (by_sign(true), by_sign(false));
        let p = loser_precision(&t, [bad.sku.as_str(), good.sku.as_str()]);
        assert_eq!((p.judged, p.true_losers, p.bp()), (2, 1, Some(5_000)));
        assert_eq!(loser_precision(&t, []).bp(), None);
        // An unknown SKU is judged but never a true loser.
        assert_eq!(loser_precision(&t, ["NOPE-1"]).bp(), Some(0));
        let u = unpublish_precision(&t, [good.product_id.as_str()]);
        assert_eq!(
            u.true_losers,
            usize::from(t.product_contribution(&good.product_id) < 0.0)
        );
    }
}
