//! Question → intent + parameters. Deterministic and offline: a small keyword grammar over the
//! product's own vocabulary. Anything it cannot place is [`Intent::Unknown`], which the engine
//! answers with "I don't have a row for that." — never a guess.

use chrono::Datelike;
use otto_core::audit::RowRef;
use otto_core::cycle::CycleKind;
use otto_core::{Sku, StoreDay};
use serde::Serialize;

/// Which store days a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Days {
    One(StoreDay),
    /// Monday of the ISO week … today.
    Range(StoreDay, StoreDay),
}

impl Days {
    pub fn first(&self) -> StoreDay {
        match self {
            Days::One(d) | Days::Range(d, _) => *d,
        }
    }
    pub fn last(&self) -> StoreDay {
        match self {
            Days::One(d) | Days::Range(_, d) => *d,
        }
    }
    /// Every day, newest first.
    pub fn newest_first(&self) -> Vec<StoreDay> {
        let (a, b) = (self.first(), self.last());
        (0..=b.days_since(a).max(0))
            .map(|i| b.plus_days(-i))
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    Help,
    /// "show me decision_log#84196"
    ShowRow {
        row_ref: RowRef,
    },
    /// "how did this morning go?"
    CycleSummary {
        kind: CycleKind,
        days: Days,
    },
    /// "what moved on the catalog yesterday?"
    CatalogMoves {
        days: Days,
    },
    /// "why is spend on EU/Linen/Throws what it is?"
    Campaign {
        name: String,
    },
    /// "what's escalated in CS today?"
    CustomerService {
        days: Days,
    },
    /// "what's held?" / "how do I release …"
    Holds,
    /// "which discount windows are open?"
    DiscountWindows,
    /// "what research candidates are queued?"
    Research,
    /// "what happened to SKU-…?"
    SkuHistory {
        sku: Sku,
    },
    /// A date after today: nothing can have happened yet.
    Future {
        day: StoreDay,
    },
    Unknown,
}

impl Intent {
    pub fn name(&self) -> &'static str {
        match self {
            Intent::Help => "help",
            Intent::ShowRow { .. } => "show_row",
            Intent::CycleSummary { .. } => "cycle_summary",
            Intent::CatalogMoves { .. } => "catalog_moves",
            Intent::Campaign { .. } => "campaign",
            Intent::CustomerService { .. } => "customer_service",
            Intent::Holds => "holds",
            Intent::DiscountWindows => "discount_windows",
            Intent::Research => "research",
            Intent::SkuHistory { .. } => "sku_history",
            Intent::Future { .. } => "future",
            Intent::Unknown => "unknown",
        }
    }
}

/// Longest question accepted (characters); longer ones are refused by the callers.
pub const MAX_QUESTION_CHARS: usize = 2_000;

fn words(q: &str) -> Vec<String> {
    q.split(|c: char| c.is_whitespace() || matches!(c, ',' | '?' | '!' | ';' | '(' | ')' | '"'))
        .map(|w| w.trim_matches(|c: char| c == '.' || c == '\'' || c == '`'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

fn find_ref(ws: &[String]) -> Option<RowRef> {
    ws.iter()
        .filter(|w| w.contains('#'))
        .find_map(|w| RowRef::parse(&w.to_lowercase()).ok())
}

/// A SKU token as the stores write them: letters, digits and `-`/`_`, with at least one digit and
/// one letter, and at least one separator or an explicit `sku` before it.
fn find_sku(ws: &[String]) -> Option<Sku> {
    let looks = |w: &str| {
        w.len() >= 4
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            && w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(|c| c.is_ascii_alphabetic())
    };
    for (i, w) in ws.iter().enumerate() {
        let after_sku = i > 0 && ws[i - 1].eq_ignore_ascii_case("sku");
        let dated = StoreDay::parse(w).is_ok();
        if looks(w) && !dated && (w.contains('-') || w.contains('_') || after_sku) {
            if let Ok(s) = Sku::new(w) {
                return Some(s);
            }
        }
    }
    None
}

/// A campaign path like `EU/Linen/Throws`, or the words after "campaign".
fn find_campaign(ws: &[String]) -> Option<String> {
    if let Some(w) = ws
        .iter()
        .find(|w| w.contains('/') && w.split('/').all(|p| !p.is_empty()))
    {
        return Some(w.clone());
    }
    let i = ws.iter().position(|w| w.eq_ignore_ascii_case("campaign"))?;
    let name: Vec<&str> = ws[i + 1..]
        .iter()
        .take_while(|w| !matches!(w.to_lowercase().as_str(), "is" | "was" | "today" | "now"))
        .map(String::as_str)
        .collect();
    (!name.is_empty()).then(|| name.join(" "))
}

fn ordinal_day(w: &str) -> Option<u32> {
    let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &w[digits.len()..];
    if digits.is_empty() || !matches!(rest, "st" | "nd" | "rd" | "th") {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

/// The most recent date with that day of the month that is not after today (this month or the
/// one before); `Err(day)` when it can only be in the future.
fn day_of_month(today: StoreDay, dom: u32) -> Result<StoreDay, StoreDay> {
    let t = today.date();
    if let Some(d) = t.with_day(dom) {
        let d = StoreDay::new(d);
        if d <= today {
            return Ok(d);
        }
    }
    let mut m = t;
    for _ in 0..2 {
        m = m.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(m);
        if let Some(d) = m.with_day(dom) {
            return Ok(StoreDay::new(d));
        }
    }
    Err(today)
}

/// Parses the days a question names; `Err(day)` for a date in the future.
fn find_days(lower: &str, ws: &[String], today: StoreDay) -> Result<Option<Days>, StoreDay> {
    for w in ws {
        if let Ok(d) = StoreDay::parse(w) {
            return if d > today {
                Err(d)
            } else {
                Ok(Some(Days::One(d)))
            };
        }
    }
    if lower.contains("tomorrow") || lower.contains("next week") {
        return Err(today.plus_days(1));
    }
    if lower.contains("yesterday") || lower.contains("last night") {
        return Ok(Some(Days::One(today.plus_days(-1))));
    }
    if lower.contains("this week") {
        let back = i64::from(today.date().weekday().num_days_from_monday());
        return Ok(Some(Days::Range(today.plus_days(-back), today)));
    }
    if lower.contains("last week") {
        let back = i64::from(today.date().weekday().num_days_from_monday());
        let monday = today.plus_days(-back - 7);
        return Ok(Some(Days::Range(monday, monday.plus_days(6))));
    }
    for w in ws {
        if let Some(dom) = ordinal_day(&w.to_lowercase()) {
            return day_of_month(today, dom).map(|d| Some(Days::One(d)));
        }
    }
    if lower.contains("today") || lower.contains("this morning") || lower.contains("tonight") {
        return Ok(Some(Days::One(today)));
    }
    Ok(None)
}

fn has(lower: &str, any: &[&str]) -> bool {
    any.iter().any(|k| lower.contains(k))
}

/// Maps a question to an intent. `today` is the store's current day.
pub fn parse(question: &str, today: StoreDay) -> Intent {
    let ws = words(question);
    let lower = question.to_lowercase();
    if let Some(r) = find_ref(&ws) {
        return Intent::ShowRow { row_ref: r };
    }
    let days = match find_days(&lower, &ws, today) {
        Ok(d) => d,
        Err(day) => return Intent::Future { day },
    };
    let on = |d: Option<Days>| d.unwrap_or(Days::One(today));
    if lower.trim().is_empty() || lower.trim() == "help" || lower.starts_with("what can you") {
        return Intent::Help;
    }
    let cs_word = ws.iter().any(|w| w.eq_ignore_ascii_case("cs"));
    if cs_word
        || has(
            &lower,
            &[
                "escalat", "customer", "support", "refund", "ticket", "thread", "draft",
            ],
        )
    {
        return Intent::CustomerService { days: on(days) };
    }
    if has(&lower, &["held", "hold", "release", "paused"]) {
        return Intent::Holds;
    }
    if let Some(sku) = find_sku(&ws) {
        return Intent::SkuHistory { sku };
    }
    if has(
        &lower,
        &["budget", "spend", "campaign", "ads", "roas", "mer"],
    ) {
        if let Some(name) = find_campaign(&ws) {
            return Intent::Campaign { name };
        }
    }
    if has(
        &lower,
        &[
            "window",
            "on discount",
            "discounts open",
            "discount open",
            "open discount",
            "discounts end",
            "discount end",
        ],
    ) {
        return Intent::DiscountWindows;
    }
    if has(
        &lower,
        &[
            "candidate",
            "research",
            "queued",
            "discovery",
            "new product",
        ],
    ) {
        return Intent::Research;
    }
    if has(
        &lower,
        &["moved", "move", "catalog", "price", "changed", "change"],
    ) {
        return Intent::CatalogMoves { days: on(days) };
    }
    let kind = if lower.contains("discount") {
        Some(CycleKind::Discount)
    } else if lower.contains("research") {
        Some(CycleKind::Research)
    } else if has(
        &lower,
        &[
            "morning",
            "cycle",
            "run",
            "go ",
            "went",
            "go?",
            "happen",
            "summary",
            "overnight",
        ],
    ) {
        Some(CycleKind::Morning)
    } else {
        None
    };
    match (kind, days) {
        (Some(kind), d) => Intent::CycleSummary { kind, days: on(d) },
        (None, Some(d)) => Intent::CycleSummary {
            kind: CycleKind::Morning,
            days: d,
        },
        (None, None) => Intent::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> StoreDay {
        StoreDay::parse("2026-11-25").unwrap()
    }
    fn d(s: &str) -> StoreDay {
        StoreDay::parse(s).unwrap()
    }

    #[test]
    fn dates() {
        let t = today();
        assert_eq!(
            parse("How did this morning go?", t),
            Intent::CycleSummary {
                kind: CycleKind::Morning,
                days: Days::One(t)
            }
        );
        assert_eq!(
            parse("how did the morning cycle go yesterday", t),
            Intent::CycleSummary {
                kind: CycleKind::Morning,
                days: Days::One(d("2026-11-24"))
            }
        );
        assert_eq!(
            parse("what moved on the 24th?", t),
            Intent::CatalogMoves {
                days: Days::One(d("2026-11-24"))
            }
        );
        assert_eq!(
            parse("what moved on the 30th?", t),
            Intent::CatalogMoves {
                days: Days::One(d("2026-10-30"))
            },
            "a day of the month after today is last month's"
        );
        assert_eq!(
            parse("what moved on the 31st?", t),
            Intent::CatalogMoves {
                days: Days::One(d("2026-10-31"))
            }
        );
        assert_eq!(
            parse("what moved this week", t),
            Intent::CatalogMoves {
                days: Days::Range(d("2026-11-23"), t)
            },
            "2026-11-25 is a Wednesday"
        );
        assert_eq!(
            parse("what will move tomorrow?", t),
            Intent::Future {
                day: d("2026-11-26")
            }
        );
        assert_eq!(
            parse("how did 2027-01-01 go", t),
            Intent::Future {
                day: d("2027-01-01")
            }
        );
        assert_eq!(
            parse("how did 2026-11-20 go", t),
            Intent::CycleSummary {
                kind: CycleKind::Morning,
                days: Days::One(d("2026-11-20"))
            }
        );
    }

    #[test]
    fn intents() {
        let t = today();
        assert_eq!(
            parse("show me decision_log#84196", t),
            Intent::ShowRow {
                row_ref: RowRef::parse("decision_log#84196").unwrap()
            }
        );
        assert_eq!(
            parse("Why is spend on EU/Linen/Throws what it is?", t),
            Intent::Campaign {
                name: "EU/Linen/Throws".into()
            }
        );
        assert_eq!(
            parse("what's escalated in CS today?", t),
            Intent::CustomerService { days: Days::One(t) }
        );
        assert_eq!(
            parse("what is held and how do I release it?", t),
            Intent::Holds
        );
        assert_eq!(
            parse("which discount windows are open and when do they end?", t),
            Intent::DiscountWindows
        );
        assert_eq!(
            parse("what research candidates are queued?", t),
            Intent::Research
        );
        assert_eq!(
            parse("what happened to SKU-BAM-009-IVY-S?", t),
            Intent::SkuHistory {
                sku: Sku::new("SKU-BAM-009-IVY-S").unwrap()
            }
        );
        assert_eq!(parse("help", t), Intent::Help);
        assert_eq!(parse("what is the meaning of life", t), Intent::Unknown);
        assert_eq!(parse("tell me a joke", t), Intent::Unknown);
    }

    #[test]
    fn never_panics_on_odd_input() {
        for q in [
            "",
            "#",
            "decision_log#",
            "decision_log#-1",
            "the 0th",
            "the 99th",
            "🦀🦀#🦀",
            "a/b/",
            "sku",
            "campaign",
        ] {
            let _ = parse(q, today());
        }
    }
}
