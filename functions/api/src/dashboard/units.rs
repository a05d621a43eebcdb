//! Figures for people on the chart pages: ratios (ROAS, MER) from basis points, money in its
//! currency, days in words. Basis points stay in the rows.

use otto_core::{Currency, Money, StoreDay};

/// A ratio with one decimal: 41459 bp → "4.1".
pub fn ratio(bp: i64) -> String {
    otto_answers::human::ratio(bp)
}

/// A ratio on an axis, with as many decimals as the step needs (up to two): 25000 → "2.5",
/// 12500 → "1.25", 10000 → "1.0".
pub fn ratio_tick(bp: i64) -> String {
    let hundredths = (i128::from(bp) + if bp >= 0 { 50 } else { -50 }) / 100;
    let sign = if hundredths < 0 { "-" } else { "" };
    let h = hundredths.unsigned_abs();
    let (int, frac) = (h / 100, h % 100);
    if frac % 10 == 0 {
        format!("{sign}{int}.{}", frac / 10)
    } else {
        format!("{sign}{int}.{frac:02}")
    }
}

/// Money in its currency, from micros.
pub fn money(micros: i64, currency: Currency) -> String {
    Money::from_micros(micros, currency).to_string()
}

/// "Tue 24 Nov".
pub fn day(d: StoreDay) -> String {
    otto_answers::human::date(d)
}

/// A share in basis points as a percentage: 1551 → "16%".
pub fn pct(bp: i64) -> String {
    otto_answers::human::pct(bp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_figures() {
        assert_eq!(ratio(41_459), "4.1");
        assert_eq!(ratio_tick(25_000), "2.5");
        assert_eq!(ratio_tick(12_500), "1.25");
        assert_eq!(ratio_tick(10_000), "1.0");
        assert_eq!(ratio_tick(0), "0.0");
        assert_eq!(money(1_183_299_405, Currency::EUR), "€1183.30");
        assert_eq!(day(StoreDay::parse("2026-11-24").unwrap()), "Tue 24 Nov");
    }
}
