//! MER (marketing efficiency ratio) = store revenue ÷ all ad spend, over the same days.
//!
//! Store revenue is what the shop sold on every channel ([`crate::metrics::SkuSales`], from its
//! orders), not what an ad platform claims (`conversion_value`): MER answers "for every euro of
//! ads, how many euros did the store take in". Pure integer arithmetic on micros: the ratio is
//! kept in basis points (MER 4.6 = 46,000 bp), rounded half away from zero, never a float.

use crate::error::CoreError;
use crate::metrics::SkuSales;
use crate::money::{Currency, Money};
use std::fmt;

/// A ratio in basis points of 1 (10,000 = 1.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mer {
    pub bp: i64,
}

impl fmt::Display for Mer {
    /// Two decimals: `4.60`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hundredths = (self.bp + if self.bp >= 0 { 50 } else { -50 }) / 100;
        let sign = if hundredths < 0 { "-" } else { "" };
        let h = hundredths.abs();
        write!(f, "{sign}{}.{:02}", h / 100, h % 100)
    }
}

/// The store's revenue over `sales` (every row must be in `currency`).
pub fn store_revenue(sales: &[SkuSales], currency: Currency) -> Result<Money, CoreError> {
    sales
        .iter()
        .try_fold(Money::zero(currency), |acc, s| acc.checked_add(&s.revenue))
}

/// MER = `revenue` ÷ the sum of `ad_spend` (every ad platform, same days). `None` when there was
/// no spend (no ratio to speak of); an error when a spend is in another currency than the revenue.
pub fn mer(revenue: Money, ad_spend: &[Money]) -> Result<Option<Mer>, CoreError> {
    let spend = ad_spend
        .iter()
        .try_fold(Money::zero(revenue.currency()), |acc, m| acc.checked_add(m))?;
    if spend.is_zero() {
        return Ok(None);
    }
    if spend.micros() < 0 {
        return Err(CoreError::invalid(
            "ad spend",
            format!("{spend} is negative"),
        ));
    }
    let num = i128::from(revenue.micros()) * 10_000;
    let den = i128::from(spend.micros());
    let half = den / 2;
    let q = if num >= 0 {
        (num + half) / den
    } else {
        (num - half) / den
    };
    let bp = i64::try_from(q)
        .map_err(|_| CoreError::invalid("MER", format!("{revenue} ÷ {spend} overflows")))?;
    Ok(Some(Mer { bp }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Sku, StoreDay};

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    #[test]
    fn store_revenue_over_all_ad_spend() {
        // €4,600 of store sales on €600 Google + €400 Meta = 4.6.
        let m = mer(eur("4600.00"), &[eur("600.00"), eur("400.00")])
            .unwrap()
            .unwrap();
        assert_eq!(m, Mer { bp: 46_000 });
        assert_eq!(m.to_string(), "4.60");
        // Rounded half away from zero in basis points: 1 ÷ 3 = 0.3333 → 3,333 bp; 2 ÷ 3 → 6,667.
        assert_eq!(mer(eur("1.00"), &[eur("3.00")]).unwrap().unwrap().bp, 3_333);
        assert_eq!(mer(eur("2.00"), &[eur("3.00")]).unwrap().unwrap().bp, 6_667);
        assert_eq!(Mer { bp: 6_667 }.to_string(), "0.67");
        // No revenue on spend is a MER of 0, not "no MER".
        assert_eq!(mer(eur("0"), &[eur("10.00")]).unwrap(), Some(Mer { bp: 0 }));
    }

    #[test]
    fn no_spend_is_no_ratio_and_mixed_currencies_are_refused() {
        assert_eq!(mer(eur("100.00"), &[]).unwrap(), None);
        assert_eq!(mer(eur("100.00"), &[eur("0.00")]).unwrap(), None);
        let usd = Money::parse("10.00", Currency::new("USD").unwrap()).unwrap();
        assert!(mer(eur("100.00"), &[usd]).is_err());
        assert!(mer(eur("100.00"), &[eur("-5.00")]).is_err());
    }

    #[test]
    fn revenue_sums_the_sales_rows() {
        let row = |sku: &str, revenue: &str| SkuSales {
            sku: Sku::new(sku).unwrap(),
            day: StoreDay::parse("2026-11-30").unwrap(),
            units: 1,
            revenue: eur(revenue),
            orders: 1,
        };
        let sales = vec![row("A", "149.85"), row("B", "90.00")];
        assert_eq!(store_revenue(&sales, Currency::EUR).unwrap(), eur("239.85"));
        assert_eq!(store_revenue(&[], Currency::EUR).unwrap(), eur("0"));
        let m = mer(
            store_revenue(&sales, Currency::EUR).unwrap(),
            &[eur("50.00")],
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.to_string(), "4.80"); // 4.797 → 4.80
    }
}
