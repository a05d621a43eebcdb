//! Customer-service triage rules (the pure part of issue 5): refund escalation, the language
//! policy, and the reply judge's brand-voice score. Offline and deterministic.
//!
//! * **Refunds**: a refund request above the store's threshold for its currency (default €500) is
//!   ESCALATED_REFUND — never auto-resolved. Exactly the threshold is not above it. A currency
//!   with no configured threshold cannot be compared, so it is escalated too.
//! * **Language**: detected offline (`whatlang`); a draft in a language outside
//!   `languages_allowed_for_send` is judged but HOLD_LANGUAGE. Text too short or ambiguous to
//!   detect reliably is held as well (`und`), rather than guessed.
//! * **Brand voice**: cosine similarity (basis points) between the draft's word counts and the
//!   centroid of approved past replies; below the floor (default 0.85) → HOLD_TONE.

use crate::money::Money;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CsPolicy {
    /// Refund amounts above these are escalated, per currency.
    pub refund_escalation_above: Vec<Money>,
    /// ISO 639-1 codes a draft may be sent in.
    pub languages_allowed_for_send: Vec<String>,
    /// Least brand-voice similarity to send, basis points.
    pub brand_voice_floor_bp: i64,
}

impl Default for CsPolicy {
    fn default() -> Self {
        CsPolicy {
            refund_escalation_above: vec![Money::from_micros(500_000_000, crate::Currency::EUR)],
            languages_allowed_for_send: vec!["en".into(), "de".into()],
            brand_voice_floor_bp: 8_500,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Send,
    HoldTone,
    HoldLanguage,
    EscalatedRefund,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Send => "SEND",
            Verdict::HoldTone => "HOLD_TONE",
            Verdict::HoldLanguage => "HOLD_LANGUAGE",
            Verdict::EscalatedRefund => "ESCALATED_REFUND",
        }
    }
}

/// Whether a refund request must go to a person, and why.
pub fn refund_escalation(amount: Option<Money>, policy: &CsPolicy) -> Option<String> {
    let amount = amount?;
    match policy
        .refund_escalation_above
        .iter()
        .find(|t| t.currency() == amount.currency())
    {
        Some(t) if amount.micros() > t.micros() => Some(format!(
            "refund {amount} is above {t}: escalated, never auto-resolved"
        )),
        Some(_) => None,
        None => Some(format!(
            "refund in {} has no threshold configured: escalated",
            amount.currency()
        )),
    }
}

/// ISO 639-1 code of the text's language, or `und` when it cannot be told reliably.
pub fn detect_language(text: &str) -> String {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 12 {
        return "und".into();
    }
    match whatlang::detect(text) {
        Some(info) if info.is_reliable() || letters >= 40 => {
            iso639_1(info.lang()).unwrap_or("und").into()
        }
        _ => "und".into(),
    }
}

fn iso639_1(l: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang::*;
    Some(match l {
        Eng => "en",
        Deu => "de",
        Nld => "nl",
        Fra => "fr",
        Spa => "es",
        Ita => "it",
        Por => "pt",
        Dan => "da",
        Swe => "sv",
        Nob => "no",
        Fin => "fi",
        Pol => "pl",
        _ => return None,
    })
}

/// Lower-cased word counts.
pub fn bag(text: &str) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
    {
        *m.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    m
}

/// The brand centroid: summed word counts of approved replies.
pub fn centroid<'a>(replies: impl IntoIterator<Item = &'a str>) -> BTreeMap<String, i64> {
    let mut c = BTreeMap::new();
    for r in replies {
        for (w, n) in bag(r) {
            *c.entry(w).or_insert(0) += n;
        }
    }
    c
}

fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// Cosine similarity in basis points (0 … 10 000).
pub fn brand_voice_bp(draft: &str, centroid: &BTreeMap<String, i64>) -> i64 {
    let d = bag(draft);
    let dot: i128 = d
        .iter()
        .map(|(w, n)| i128::from(*n) * i128::from(*centroid.get(w).unwrap_or(&0)))
        .sum();
    let norm =
        |m: &BTreeMap<String, i64>| isqrt(m.values().map(|n| (*n as u128) * (*n as u128)).sum());
    let denom = norm(&d) * norm(centroid);
    if denom == 0 {
        return 0;
    }
    ((dot.max(0) as u128) * 10_000 / denom).min(10_000) as i64
}

/// The verdict on one draft with the offline brand-voice score.
pub fn judge(
    draft: &str,
    refund: Option<Money>,
    centroid: &BTreeMap<String, i64>,
    policy: &CsPolicy,
) -> (Verdict, String, String, i64) {
    judge_scored(draft, brand_voice_bp(draft, centroid), refund, policy)
}

/// The verdict on one draft whose brand-voice score (basis points) was computed by a scorer
/// (offline, or an embedding provider): refund escalation first, then language, then tone.
pub fn judge_scored(
    draft: &str,
    voice: i64,
    refund: Option<Money>,
    policy: &CsPolicy,
) -> (Verdict, String, String, i64) {
    let language = detect_language(draft);
    if let Some(why) = refund_escalation(refund, policy) {
        return (Verdict::EscalatedRefund, why, language, voice);
    }
    if !policy.languages_allowed_for_send.contains(&language) {
        return (
            Verdict::HoldLanguage,
            format!(
                "drafted in {language}; languages_allowed_for_send is {}",
                policy.languages_allowed_for_send.join(" + ")
            ),
            language,
            voice,
        );
    }
    if voice < policy.brand_voice_floor_bp {
        return (
            Verdict::HoldTone,
            format!(
                "brand_voice {voice}bp below the {}bp floor",
                policy.brand_voice_floor_bp
            ),
            language,
            voice,
        );
    }
    (
        Verdict::Send,
        format!(
            "brand_voice {voice}bp ≥ {}bp, {language} allowed",
            policy.brand_voice_floor_bp
        ),
        language,
        voice,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    #[test]
    fn refund_threshold_edges() {
        let p = CsPolicy::default();
        assert!(
            refund_escalation(Some(eur("500.00")), &p).is_none(),
            "exactly €500 is not above"
        );
        assert!(refund_escalation(Some(eur("500.01")), &p).is_some());
        assert!(refund_escalation(Some(eur("499.99")), &p).is_none());
        let usd = Money::parse("20", Currency::USD).unwrap();
        assert!(
            refund_escalation(Some(usd), &p)
                .unwrap()
                .contains("no threshold"),
            "other currencies are not guessed"
        );
        assert!(refund_escalation(None, &p).is_none());
    }

    #[test]
    fn language_on_short_and_long_texts() {
        assert_eq!(detect_language("Thanks!"), "und", "too short to tell");
        assert_eq!(
            detect_language("Thank you for your order, we will ship your linen throw tomorrow."),
            "en"
        );
        assert_eq!(
            detect_language("Vielen Dank für Ihre Bestellung, wir versenden Ihre Decke morgen."),
            "de"
        );
        assert_eq!(
            detect_language(
                "Bedankt voor je bestelling, we versturen je plaid morgen met de post."
            ),
            "nl"
        );
    }

    #[test]
    fn judge_floor_edges_and_order() {
        let c =
            centroid(["Thank you so much for reaching out! We are happy to help with your order."]);
        let p = CsPolicy::default();
        let on_brand = "Thank you so much for reaching out! We are happy to help with your order.";
        assert_eq!(brand_voice_bp(on_brand, &c), 10_000);
        assert_eq!(judge(on_brand, None, &c, &p).0, Verdict::Send);
        let off = "Order status: shipped. Tracking number attached. Do not reply to this message.";
        assert_eq!(judge(off, None, &c, &p).0, Verdict::HoldTone);
        let floor = CsPolicy {
            brand_voice_floor_bp: brand_voice_bp(off, &c),
            ..p.clone()
        };
        assert_eq!(
            judge(off, None, &c, &floor).0,
            Verdict::Send,
            "exactly at the floor sends"
        );
        let dutch =
            "Bedankt voor je bericht! We helpen je graag verder met je bestelling van de plaid.";
        assert_eq!(judge(dutch, None, &c, &p).0, Verdict::HoldLanguage);
        assert_eq!(
            judge(on_brand, Some(eur("780.00")), &c, &p).0,
            Verdict::EscalatedRefund,
            "refunds first"
        );
    }
}
