//! Figures for people: percentages and ratios from basis points, money with its currency,
//! store-local times and dates. Integer arithmetic only; every form here is one the citation
//! guard derives from the same row field ([`crate::guard`]).

use crate::guard::scaled;
use chrono::{DateTime, Datelike, Utc};
use otto_core::{Money, StoreClock, StoreDay};

/// 1 → "1st", 22 → "22nd", 13 → "13th".
pub fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Basis points as a percentage: 1800 → "18%", 1515 → "15%", 50 → "0.5%".
pub fn pct(bp: i64) -> String {
    let dec = if bp.abs() < 100 { 1 } else { 0 };
    let p = scaled(i128::from(bp), 2, dec);
    match p.strip_prefix('-') {
        Some(abs) => format!("−{abs}%"),
        None => format!("{p}%"),
    }
}

/// Basis points as a ratio with one decimal: 41459 → "4.1", 50000 → "5.0", 9000 → "0.9".
pub fn ratio(bp: i64) -> String {
    let r = scaled(i128::from(bp), 4, 1);
    if r.contains('.') {
        r
    } else {
        format!("{r}.0")
    }
}

/// A budget move's change in whole percent: €300 → €345 is 15.
pub fn change_pct(before: &Money, after: &Money) -> Option<i128> {
    let b = i128::from(before.micros());
    if b == 0 || before.currency() != after.currency() {
        return None;
    }
    Some(crate::guard::round_div(
        (i128::from(after.micros()) - b) * 100,
        b,
    ))
}

/// "+15%" / "-9%".
pub fn signed_pct(p: i128) -> String {
    if p >= 0 {
        format!("+{p}%")
    } else {
        format!("−{}%", p.abs())
    }
}

/// Store-local "HH:MM".
pub fn local_time(clock: &StoreClock, t: DateTime<Utc>) -> String {
    let m = clock.minute_of_day(t);
    format!("{:02}:{:02}", m / 60, m % 60)
}

/// "Tue 24 Nov".
pub fn date(d: StoreDay) -> String {
    d.date().format("%a %-d %b").to_string()
}

/// "Tue 24 Nov 2026" when the year is not the one of `today`.
pub fn date_from(d: StoreDay, today: StoreDay) -> String {
    if d.date().year() == today.date().year() {
        date(d)
    } else {
        d.date().format("%a %-d %b %Y").to_string()
    }
}

/// Whether a figure name is a ratio (ROAS, MER, their targets) rather than a share.
pub fn is_ratio_word(w: &str) -> bool {
    let w = w.to_lowercase();
    w.contains("roas") || w.contains("mer") || w == "target" || w == "floor"
}

/// Rewrites `NNNbp` in a row's text: a ratio after ROAS/MER/target ("ROAS 52000bp" → "ROAS 5.2"),
/// a percentage otherwise ("1800bp of search impressions" → "18% of search impressions").
pub fn humanise(text: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut recent: Vec<String> = Vec::new();
    for word in text.split(' ') {
        let core = word.trim_end_matches([',', ';', ')', '.', ':']);
        let tail = &word[core.len()..];
        let lead = core
            .find(|c: char| c.is_ascii_digit() || c == '-')
            .unwrap_or(core.len());
        let (prefix, num) = core.split_at(lead);
        let bp = num.strip_suffix("bp").and_then(|n| n.parse::<i64>().ok());
        match (bp, bare_ratio_bp(num)) {
            (Some(bp), _) => {
                let ratio_ctx = ratio_context(&recent);
                let h = if ratio_ctx { ratio(bp) } else { pct(bp) };
                out.push(format!("{prefix}{h}{tail}"));
            }
            // Rows written before the planner gave MER its unit: "MER 48854 → 49271".
            (None, Some(bp)) if prefix.is_empty() && ratio_context(&recent) => {
                out.push(format!("{}{tail}", ratio(bp)))
            }
            _ => out.push(word.to_string()),
        }
        recent.push(word.to_string());
    }
    out.join(" ")
}

/// Walks back from a bp figure to the word that names it: past symbols and other bp figures
/// ("MER 38000bp → 42000bp"), stopping at a clause boundary ("…, 1800bp of …").
fn ratio_context(recent: &[String]) -> bool {
    for w in recent.iter().rev() {
        if w.ends_with(',') || w.ends_with(';') {
            return false;
        }
        let core = w.trim_end_matches([')', '.', ':']);
        let symbol = core.chars().all(|c| !c.is_alphanumeric());
        let figure = (core.ends_with("bp") && core.chars().any(|c| c.is_ascii_digit()))
            || bare_ratio_bp(core).is_some()
            || core == "n/a";
        if symbol || figure {
            continue;
        }
        return is_ratio_word(core);
    }
    false
}

/// A bare whole number of four or more digits: a ratio in basis points when it follows ROAS or
/// MER (a ratio of 0.1 or more; a ratio itself is written with its decimal point).
fn bare_ratio_bp(num: &str) -> Option<i64> {
    (num.len() >= 4 && num.chars().all(|c| c.is_ascii_digit()))
        .then(|| num.parse().ok())
        .flatten()
}

/// Money for people: "€755.00", "2400.00 SEK".
pub fn money(m: &Money) -> String {
    m.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_forms() {
        assert_eq!(pct(1800), "18%");
        assert_eq!(pct(1515), "15%");
        assert_eq!(pct(7142), "71%");
        assert_eq!(pct(50), "0.5%");
        assert_eq!(ratio(41459), "4.1");
        assert_eq!(ratio(48854), "4.9");
        assert_eq!(ratio(50000), "5.0");
        assert_eq!(pct(-900), "−9%");
        assert_eq!(ordinal(22), "22nd");
        assert_eq!(humanise("MER 38000bp → 42000bp over"), "MER 3.8 → 4.2 over");
        assert_eq!(
            humanise("35% IS headroom, MER 48854 → 49271"),
            "35% IS headroom, MER 4.9 → 4.9"
        );
        assert_eq!(humanise("MER n/a → 49271."), "MER n/a → 4.9.");
        assert_eq!(humanise("spent 1200 on 2026 ads"), "spent 1200 on 2026 ads");
        assert_eq!(ordinal(11), "11th");
        assert_eq!(
            humanise("ROAS 52000bp ≥ target 40000bp, 1800bp of search impressions lost"),
            "ROAS 5.2 ≥ target 4.0, 18% of search impressions lost"
        );
    }
}
