//! The citation guard: before an answer leaves, every number, amount, percentage, date, SKU and
//! row ref in its text must be found in a row it cites. What counts as "found":
//!
//! * a number equals (as a decimal, trailing zeros ignored) a number in a cited row — a JSON
//!   number, or a number inside one of its strings (`"ROAS 11484bp"`, `"29.99"`, a date);
//! * a percentage `p%` equals a number in a row, or is a `…_bp` figure of a row divided by 100
//!   (`judge_agreement_bp: 6666` supports `66.66%`);
//! * an identifier with digits (a SKU, a date, a cycle id) appears verbatim in a cited row;
//! * a row ref (`decision_log#84196`) is one of the cited rows.
//!
//! No floating point anywhere: numbers are compared as normalised decimal strings.

use otto_core::audit::{AuditRow, RowRef};
use serde_json::Value;
use std::collections::BTreeSet;

/// Units a number may carry in an answer's text.
const UNITS: [&str; 4] = ["bp", "d", "x", "h"];

/// What the cited rows support.
#[derive(Debug, Default, Clone)]
pub struct Support {
    numbers: BTreeSet<String>,
    idents: BTreeSet<String>,
    refs: BTreeSet<String>,
}

/// `-0012.500` → `-12.5`; `None` if `s` is not a plain decimal.
pub fn normalise(s: &str) -> Option<String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut out = String::new();
    if neg && !(int == "0" && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(int);
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Some(out)
}

/// Basis points as a percentage: 6666 → "66.66", -150 → "-1.5".
fn bp_to_percent(bp: i64) -> Option<String> {
    let sign = if bp < 0 { "-" } else { "" };
    let a = bp.unsigned_abs();
    normalise(&format!("{sign}{}.{:02}", a / 100, a % 100))
}

/// Splits text into tokens: runs of characters that can belong to a number, an identifier or a
/// ref. Sentence punctuation around them is dropped.
pub fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| {
        !(c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '#' | '/' | ':' | '%' | '+'))
    })
    .map(|t| t.trim_matches(|c: char| matches!(c, '.' | ':' | '-' | '/' | '+')))
    .filter(|t| !t.is_empty())
    .map(str::to_string)
    .collect()
}

/// The number of a number-with-unit token: `11484bp` → 11484, `28d` → 28; nothing for ids and
/// dates (`SKU-009`, `2026-11-24`), whose digits are not figures on their own.
fn unit_number(token: &str) -> Option<String> {
    let split = token
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
        .map(|(i, _)| i)?;
    let (num, unit) = token.split_at(split);
    if num.is_empty() || !unit.chars().all(|c| c.is_alphabetic()) {
        return None;
    }
    normalise(num.trim_end_matches('.'))
}

/// Fields that are bookkeeping, not figures: matched only verbatim, never mined for numbers.
const OPAQUE: [&str; 6] = [
    "ulid",
    "natural_key",
    "created_at",
    "updated_at",
    "finished_at",
    "attempt",
];

impl Support {
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = &'a AuditRow>) -> Self {
        let mut s = Support::default();
        for r in rows {
            s.refs.insert(r.row_ref.to_string());
            s.add_value(None, &r.to_json());
        }
        s
    }

    fn add_text(&mut self, text: &str) {
        self.idents.insert(text.to_lowercase());
        for t in tokens(text) {
            let t = t.trim_end_matches('%');
            match normalise(t) {
                Some(n) => {
                    self.numbers.insert(n);
                }
                None => {
                    self.idents.insert(t.to_lowercase());
                    self.numbers.extend(unit_number(t));
                }
            }
        }
    }

    fn add_value(&mut self, key: Option<&str>, v: &Value) {
        match v {
            Value::Number(n) => {
                let text = n.to_string();
                if let Some(x) = normalise(&text) {
                    self.numbers.insert(x);
                }
                if key.is_some_and(|k| k.ends_with("_bp")) {
                    if let Some(p) = n.as_i64().and_then(bp_to_percent) {
                        self.numbers.insert(p);
                    }
                }
            }
            Value::String(s) if key.is_some_and(|k| OPAQUE.contains(&k)) => {
                self.idents.insert(s.to_lowercase());
            }
            Value::String(s) => self.add_text(s),
            Value::Array(a) => a.iter().for_each(|x| self.add_value(key, x)),
            Value::Object(o) => {
                for (k, x) in o {
                    self.add_value(Some(k), x);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// The tokens of `text` that no cited row supports (empty when the text is grounded).
    pub fn unsupported(&self, text: &str) -> Vec<String> {
        let mut bad = Vec::new();
        for t in tokens(text) {
            if !t.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            if t.contains('#') {
                if let Ok(r) = RowRef::parse(&t.to_lowercase()) {
                    let r = r.to_string();
                    if !self.refs.contains(&r) && !self.idents.contains(&r) {
                        bad.push(t);
                    }
                    continue;
                }
            }
            let bare = t.trim_end_matches('%');
            match normalise(bare) {
                Some(n) => {
                    if !self.numbers.contains(&n) {
                        bad.push(t);
                    }
                }
                None => {
                    let lower = bare.to_lowercase();
                    // A number with a unit (`1500bp`, `28d`) is the number.
                    let unit = UNITS
                        .iter()
                        .find_map(|u| lower.strip_suffix(u))
                        .and_then(normalise);
                    let ok = match unit {
                        Some(n) => self.numbers.contains(&n) || self.idents.contains(&lower),
                        None => self.idents.contains(&lower),
                    };
                    if !ok {
                        bad.push(t);
                    }
                }
            }
        }
        bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_decimals_without_floats() {
        assert_eq!(normalise("780.00").as_deref(), Some("780"));
        assert_eq!(normalise("0.50").as_deref(), Some("0.5"));
        assert_eq!(normalise("-0.0").as_deref(), Some("0"));
        assert_eq!(normalise("007").as_deref(), Some("7"));
        assert_eq!(normalise("1e5"), None);
        assert_eq!(normalise("."), None);
        assert_eq!(normalise("12a"), None);
        assert_eq!(bp_to_percent(6666).as_deref(), Some("66.66"));
        assert_eq!(bp_to_percent(1500).as_deref(), Some("15"));
        assert_eq!(bp_to_percent(-150).as_deref(), Some("-1.5"));
    }

    #[test]
    fn tokens_and_embedded_numbers() {
        assert_eq!(
            tokens("SKU-BAM-009 moved 15% (decision_log#5), €29.99."),
            ["SKU-BAM-009", "moved", "15%", "decision_log#5", "29.99"]
        );
        assert_eq!(unit_number("11484bp").as_deref(), Some("11484"));
        assert_eq!(unit_number("2026-11-24"), None);
        assert_eq!(unit_number("SKU-009"), None);
    }

    fn row(json: &str) -> AuditRow {
        AuditRow::from_json(&serde_json::from_str(json).unwrap()).unwrap()
    }

    #[test]
    fn every_figure_must_be_in_a_cited_row() {
        let r = row(
            r#"{"ref":"ad_decision_log#7","table":"ad_decision_log","ulid":"01M881EAEJ3D912S38QZ3KSKG5",
            "store":"s1","cycle_id":"s1:morning:2026-11-24","day":"2026-11-24","natural_key":"k","status":"APPLIED",
            "created_at":"2026-11-24T05:00:00Z","updated_at":"2026-11-24T05:00:00Z",
            "body":{"channel":"google_ads","campaign":"EU/Linen/Throws","campaign_id":"1001","action":"ADJUST_BUDGET",
              "verdict":"AGREE","reasoning":"ROAS 70746bp ≥ target 40000bp","figures":{"judge_agreement_bp":6666,"spend":{"amount":"7389.138265","currency":"EUR"}},
              "budget_before":{"amount":"647.85","currency":"EUR"},"budget_after":{"amount":"745.03","currency":"EUR"},
              "rate_limit_position":[2,8]}}"#,
        );
        let s = Support::from_rows([&r]);
        let ok = "ad_decision_log#7 EU/Linen/Throws: budget €647.85 → €745.03 (2 of 8 this week), ROAS 70746bp, agreement 66.66%, spend 7389.138265 on 2026-11-24";
        assert!(s.unsupported(ok).is_empty(), "{:?}", s.unsupported(ok));
        assert_eq!(s.unsupported("budget €650.00"), ["650.00"]);
        assert_eq!(s.unsupported("3 of 8"), ["3"]);
        assert_eq!(s.unsupported("agreement 66.7%"), ["66.7%"]);
        assert_eq!(s.unsupported("see decision_log#8"), ["decision_log#8"]);
        let trig = row(&r
            .to_json()
            .to_string()
            .replace("≥ target", "after decision_log#9, ≥ target"));
        assert!(
            Support::from_rows([&trig])
                .unsupported("trigger decision_log#9")
                .is_empty(),
            "named in a cited row"
        );
        assert_eq!(s.unsupported("SKU-LIN-042 moved"), ["SKU-LIN-042"]);
        assert_eq!(s.unsupported("ROAS 70747bp"), ["70747bp"]);
        assert_eq!(s.unsupported("on 2026-11-25"), ["2026-11-25"]);
        assert!(s.unsupported("no figures at all").is_empty());
        assert_eq!(
            s.unsupported("€745.030"),
            Vec::<String>::new(),
            "trailing zeros are the same amount"
        );
    }
}
