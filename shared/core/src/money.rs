//! Money: an exact integer count of **micros** (millionths of the currency's major unit) plus its
//! currency. Micros are what Google Ads reports (`cost_micros`), and every ISO 4217 minor unit
//! (0–3 decimals) is a whole number of micros, so Shopify's decimal prices ("19.99"), minor units
//! and ad costs all convert exactly. Never a float. Rounding happens only where a vendor needs a
//! price in minor units (`round_to_minor`), half-to-even, and is explicit.

use crate::error::CoreError;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An ISO 4217 currency code (three upper-case letters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    pub const EUR: Currency = Currency(*b"EUR");
    pub const USD: Currency = Currency(*b"USD");
    pub const GBP: Currency = Currency(*b"GBP");

    pub fn new(code: &str) -> Result<Self, CoreError> {
        let b = code.as_bytes();
        if b.len() != 3 || !b.iter().all(|c| c.is_ascii_uppercase()) {
            return Err(CoreError::invalid(
                "currency",
                format!("{code:?} is not a three-letter upper-case ISO 4217 code"),
            ));
        }
        Ok(Currency([b[0], b[1], b[2]]))
    }

    pub fn code(&self) -> &str {
        // Constructed only from ASCII upper-case letters.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Number of decimals of the minor unit (ISO 4217).
    pub fn exponent(&self) -> u32 {
        match self.code() {
            "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF"
            | "UGX" | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
            "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
            _ => 2,
        }
    }

    fn micros_per_minor(&self) -> i64 {
        10i64.pow(6 - self.exponent())
    }

    fn symbol(&self) -> Option<&'static str> {
        match self.code() {
            "EUR" => Some("€"),
            "USD" => Some("$"),
            "GBP" => Some("£"),
            _ => None,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::new(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    micros: i64,
    currency: Currency,
}

impl Money {
    pub fn zero(currency: Currency) -> Self {
        Money {
            micros: 0,
            currency,
        }
    }

    pub fn from_micros(micros: i64, currency: Currency) -> Self {
        Money { micros, currency }
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, CoreError> {
        minor
            .checked_mul(currency.micros_per_minor())
            .map(|micros| Money { micros, currency })
            .ok_or_else(|| CoreError::Overflow(format!("{minor} minor units of {currency}")))
    }

    /// Parses a decimal string as vendors send it ("19.99", "-3", "0.125000"). Exact: more than six
    /// decimals, exponents, or anything but digits and one '.' are rejected.
    pub fn parse(amount: &str, currency: Currency) -> Result<Self, CoreError> {
        let bad = |why: &str| CoreError::invalid("amount", format!("{amount:?}: {why}"));
        let s = amount.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(bad("no digits"));
        }
        if !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad("not a plain decimal number"));
        }
        let frac_trimmed = frac_part.trim_end_matches('0');
        if frac_trimmed.len() > 6 {
            return Err(bad("more than 6 decimals cannot be held exactly"));
        }
        let int_val: i64 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| bad("too large"))?
        };
        let mut frac_val: i64 = 0;
        for (i, b) in frac_trimmed.bytes().enumerate() {
            frac_val += i64::from(b - b'0') * 10i64.pow(5 - i as u32);
        }
        let micros = int_val
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|m| m.checked_add(frac_val))
            .ok_or_else(|| bad("too large"))?;
        Ok(Money {
            micros: if neg { -micros } else { micros },
            currency,
        })
    }

    pub fn micros(&self) -> i64 {
        self.micros
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn is_zero(&self) -> bool {
        self.micros == 0
    }

    /// True when the amount is a whole number of the currency's minor unit.
    pub fn is_whole_minor(&self) -> bool {
        self.micros % self.currency.micros_per_minor() == 0
    }

    /// The amount in minor units, rounded half-to-even (banker's rounding).
    pub fn round_to_minor(&self) -> i64 {
        div_round_half_even(self.micros, self.currency.micros_per_minor())
    }

    /// This amount rounded to the nearest minor unit, still as Money.
    pub fn rounded(&self) -> Money {
        Money {
            // Saturating: an amount within one minor unit of i64::MAX micros (found by fuzzing)
            // must not panic; it is far beyond any real price or budget.
            micros: self
                .round_to_minor()
                .saturating_mul(self.currency.micros_per_minor()),
            currency: self.currency,
        }
    }

    fn same(&self, other: &Money) -> Result<(), CoreError> {
        if self.currency != other.currency {
            return Err(CoreError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: other.currency.to_string(),
            });
        }
        Ok(())
    }

    pub fn checked_add(&self, other: &Money) -> Result<Money, CoreError> {
        self.same(other)?;
        self.micros
            .checked_add(other.micros)
            .map(|micros| Money {
                micros,
                currency: self.currency,
            })
            .ok_or_else(|| CoreError::Overflow(format!("{self} + {other}")))
    }

    pub fn checked_sub(&self, other: &Money) -> Result<Money, CoreError> {
        self.same(other)?;
        self.micros
            .checked_sub(other.micros)
            .map(|micros| Money {
                micros,
                currency: self.currency,
            })
            .ok_or_else(|| CoreError::Overflow(format!("{self} - {other}")))
    }

    /// Multiplies by `basis_points / 10_000` (e.g. 8_500 = 85 %), rounded half-to-even to the micro.
    pub fn scale_bp(&self, basis_points: i64) -> Result<Money, CoreError> {
        let wide = i128::from(self.micros) * i128::from(basis_points);
        let q = div_round_half_even_i128(wide, 10_000);
        i64::try_from(q)
            .map(|micros| Money {
                micros,
                currency: self.currency,
            })
            .map_err(|_| CoreError::Overflow(format!("{self} × {basis_points}bp")))
    }

    pub fn max(self, other: Money) -> Money {
        if other.micros > self.micros && other.currency == self.currency {
            other
        } else {
            self
        }
    }

    /// Decimal string with at least the currency's decimals and no more than needed ("19.90",
    /// "0.123456"). Exact; this is also the serialized form.
    pub fn amount_string(&self) -> String {
        let neg = self.micros < 0;
        let abs = self.micros.unsigned_abs();
        let int = abs / MICROS_PER_UNIT as u64;
        let frac = abs % MICROS_PER_UNIT as u64;
        let mut frac_s = format!("{frac:06}");
        let min = self.currency.exponent() as usize;
        while frac_s.len() > min && frac_s.ends_with('0') {
            frac_s.pop();
        }
        let sign = if neg { "-" } else { "" };
        if frac_s.is_empty() {
            format!("{sign}{int}")
        } else {
            format!("{sign}{int}.{frac_s}")
        }
    }
}

fn div_round_half_even(n: i64, d: i64) -> i64 {
    div_round_half_even_i128(i128::from(n), i128::from(d)) as i64
}

fn div_round_half_even_i128(n: i128, d: i128) -> i128 {
    let q = n.div_euclid(d);
    let r = n.rem_euclid(d);
    let twice = r * 2;
    if twice > d || (twice == d && q % 2 != 0) {
        q + 1
    } else {
        q
    }
}

impl fmt::Display for Money {
    /// Human form used in answers: "€755.00", "-€3.50", "1200 JPY". Shown rounded to the minor
    /// unit; `amount_string` keeps every micro.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = self.rounded();
        let amount = shown.amount_string();
        match (self.currency.symbol(), amount.strip_prefix('-')) {
            (Some(sym), Some(abs)) => write!(f, "-{sym}{abs}"),
            (Some(sym), None) => write!(f, "{sym}{amount}"),
            (None, _) => write!(f, "{amount} {}", self.currency),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct MoneyRepr {
    amount: String,
    currency: Currency,
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        MoneyRepr {
            amount: self.amount_string(),
            currency: self.currency,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = MoneyRepr::deserialize(d)?;
        Money::parse(&r.amount, r.currency).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_near_the_limit_does_not_overflow() {
        let m = Money::from_micros(i64::MAX, Currency::EUR);
        let _ = m.rounded();
        let _ = Money::from_micros(i64::MIN, Currency::EUR).rounded();
    }

    #[test]
    fn parses_vendor_decimals_exactly() {
        let m = Money::parse("19.99", Currency::EUR).unwrap();
        assert_eq!(m.micros(), 19_990_000);
        assert_eq!(m.round_to_minor(), 1999);
        assert_eq!(Money::parse("0.000001", Currency::USD).unwrap().micros(), 1);
        assert_eq!(
            Money::parse("-3", Currency::USD).unwrap().micros(),
            -3_000_000
        );
        assert_eq!(Money::parse(".5", Currency::USD).unwrap().micros(), 500_000);
        assert!(Money::parse("1.0000001", Currency::USD).is_err());
        assert!(Money::parse("1e3", Currency::USD).is_err());
        assert!(Money::parse("", Currency::USD).is_err());
        assert!(Money::parse("NaN", Currency::USD).is_err());
        assert!(Money::parse("99999999999999999999", Currency::USD).is_err());
    }

    #[test]
    fn google_ads_micros_are_exact() {
        let cost = Money::from_micros(755_123_456, Currency::EUR);
        assert_eq!(cost.amount_string(), "755.123456");
        assert_eq!(cost.to_string(), "€755.12");
        assert!(!cost.is_whole_minor());
        let back: Money = serde_json::from_str(&serde_json::to_string(&cost).unwrap()).unwrap();
        assert_eq!(back, cost);
    }

    #[test]
    fn minor_units_follow_iso_exponents() {
        let yen = Money::from_minor(1200, Currency::new("JPY").unwrap()).unwrap();
        assert_eq!(yen.to_string(), "1200 JPY");
        let kwd = Money::from_minor(1234, Currency::new("KWD").unwrap()).unwrap();
        assert_eq!(kwd.amount_string(), "1.234");
        assert_eq!(
            Money::from_minor(100, Currency::EUR)
                .unwrap()
                .amount_string(),
            "1.00"
        );
    }

    #[test]
    fn rounding_is_half_even_and_explicit() {
        assert_eq!(
            Money::from_micros(1_005_000, Currency::EUR).round_to_minor(),
            100
        );
        assert_eq!(
            Money::from_micros(1_015_000, Currency::EUR).round_to_minor(),
            102
        );
        assert_eq!(
            Money::from_micros(-1_015_000, Currency::EUR).round_to_minor(),
            -102
        );
        let p = Money::parse("29.99", Currency::EUR).unwrap();
        assert_eq!(p.scale_bp(8_500).unwrap().amount_string(), "25.4915");
        assert_eq!(
            p.scale_bp(8_500).unwrap().rounded().amount_string(),
            "25.49"
        );
    }

    #[test]
    fn currencies_do_not_mix() {
        let e = Money::from_minor(1, Currency::EUR).unwrap();
        let u = Money::from_minor(1, Currency::USD).unwrap();
        assert!(e.checked_add(&u).is_err());
        assert!(Currency::new("eur").is_err());
        assert!(serde_json::from_str::<Money>(r#"{"amount":"1.5","currency":"EURO"}"#).is_err());
    }
}
