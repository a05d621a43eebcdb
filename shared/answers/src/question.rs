//! Question → a typed query plan ([`Intent`]). Deterministic and offline: whole words and
//! phrases of the product's own vocabulary (never substrings: "thresholds" is not "hold"), dates
//! relative to the store-local `today` the engine is given (never the wall clock). Anything the
//! plan cannot cover is [`Intent::Unknown`], which the engine refuses — never a guess.

use chrono::{Datelike, NaiveDate, Weekday};
use otto_core::audit::{AuditTable, OperatorAct, RowRef};
use otto_core::cycle::CycleKind;
use otto_core::{Action, Classification, RowStatus, Sku, StoreDay};
use serde::Serialize;

/// Which store days a question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Days {
    One(StoreDay),
    /// First … last, inclusive.
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
    pub fn contains(&self, d: StoreDay) -> bool {
        self.first() <= d && d <= self.last()
    }
    /// The period before this one: the previous week for a period starting on a Monday ("this
    /// week" → all of last week), the previous month for one starting on the 1st, else the same
    /// number of days just before.
    pub fn previous(&self) -> Days {
        let first = self.first();
        if matches!(self, Days::Range(..)) && first.date().weekday() == Weekday::Mon {
            return Days::Range(first.plus_days(-7), first.plus_days(-1));
        }
        if matches!(self, Days::Range(..)) && first.date().day() == 1 {
            let end = first.plus_days(-1);
            let start = end.date().with_day(1).map(StoreDay::new).unwrap_or(end);
            return Days::Range(start, end);
        }
        let len = self.last().days_since(self.first()) + 1;
        match self {
            Days::One(d) => Days::One(d.plus_days(-1)),
            Days::Range(a, b) => Days::Range(a.plus_days(-len), b.plus_days(-len)),
        }
    }
}

/// What to do with the matching rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    List,
    Count,
    /// The largest single move (discount depth, budget step).
    Largest,
    /// Sum of budget changes.
    Sum,
    /// Count in this period against the period before it.
    Compare,
}

/// Filters over one audit table: the generic "rows" plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowQuery {
    pub table: AuditTable,
    pub actions: Vec<Action>,
    pub status: Option<RowStatus>,
    pub classification: Option<Classification>,
    /// `None`: the engine's lookback window (or the latest day, for classifications).
    pub days: Option<Days>,
    pub aggregate: Aggregate,
}

/// What a kill-switch question asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchAsk {
    /// "is the kill switch on?": its state now, and the flip that set it.
    State,
    /// "who turned the kill switch on?" / "when was it flipped?": the latest flip of that act
    /// (any act when `None`), who, when, from where, why.
    Flip(Option<OperatorAct>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "intent", rename_all = "snake_case")]
pub enum Intent {
    Help,
    /// "hi otto": a greeting, answered with the latest cycle.
    Greeting,
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
    /// "why is spend on EU/Linen/Throws what it is?" — the campaign's budget story; `name` is
    /// matched fuzzily (words, id) against the campaigns in ad_decision_log.
    Campaign {
        name: String,
        days: Option<Days>,
    },
    /// "what did EU/Linen/Throws spend last week?" / "ROAS of Jute over the last 14 days": the
    /// campaign's spend, conversion value and ROAS over ad days (the last 7 when `days` is
    /// `None`), from the rows each morning's planner recorded.
    CampaignPerformance {
        name: String,
        days: Option<Days>,
    },
    /// "what's escalated in CS today?" / "what happened to thread T-9001?"
    CustomerService {
        days: Days,
        thread: Option<String>,
    },
    /// "what's held?" / "how do I release …"
    Holds,
    /// "which discount windows are open?"
    DiscountWindows,
    /// "what research candidates are queued?"
    Research,
    /// "what happened to SKU-…?" (matched case-insensitively)
    SkuHistory {
        sku: Sku,
    },
    /// Filters + an aggregate over one table: "how many budget changes this week?"
    Rows(RowQuery),
    /// "who turned the kill switch on?", "is the kill switch on?": the operator_log flips.
    KillSwitch {
        ask: SwitchAsk,
        days: Option<Days>,
    },
    /// "is a cycle stuck?": the latest run of each cycle (or of one kind), STALLED when a
    /// RUNNING run has shown no stage activity for longer than its lease.
    CycleHealth {
        kind: Option<CycleKind>,
    },
    /// "what are the thresholds?", "what's the winner floor?": the self_calibrator's row of a
    /// morning (the latest when no day is asked).
    Thresholds {
        days: Option<Days>,
    },
    /// A date after today: nothing can have happened yet.
    Future {
        day: StoreDay,
    },
    Unknown,
}

/// The typed query plan a question becomes.
pub type Plan = Intent;

impl Intent {
    pub fn name(&self) -> &'static str {
        match self {
            Intent::Help => "help",
            Intent::Greeting => "greeting",
            Intent::ShowRow { .. } => "show_row",
            Intent::CycleSummary { .. } => "cycle_summary",
            Intent::CatalogMoves { .. } => "catalog_moves",
            Intent::Campaign { .. } => "campaign",
            Intent::CampaignPerformance { .. } => "campaign_performance",
            Intent::CustomerService { .. } => "customer_service",
            Intent::Holds => "holds",
            Intent::DiscountWindows => "discount_windows",
            Intent::Research => "research",
            Intent::SkuHistory { .. } => "sku_history",
            Intent::Rows(_) => "rows",
            Intent::KillSwitch { .. } => "kill_switch",
            Intent::CycleHealth { .. } => "cycle_health",
            Intent::Thresholds { .. } => "thresholds",
            Intent::Future { .. } => "future",
            Intent::Unknown => "unknown",
        }
    }
}

/// Longest question accepted (characters); longer ones are refused by the callers.
pub const MAX_QUESTION_CHARS: usize = 2_000;

/// The question as lowercase words (identifiers like `SKU-LIN-007`, `EU/Linen/Throws` and
/// `decision_log#5` stay one word) and the original-case words.
struct Words {
    raw: Vec<String>,
    low: Vec<String>,
}

impl Words {
    fn new(q: &str) -> Self {
        let raw: Vec<String> = q
            .split(|c: char| {
                c.is_whitespace() || matches!(c, ',' | '?' | '!' | ';' | '(' | ')' | '"' | ':')
            })
            .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '\'' | '`' | '’')))
            .map(|w| w.strip_suffix("'s").or(w.strip_suffix("’s")).unwrap_or(w))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let low = raw.iter().map(|w| w.to_lowercase()).collect();
        Words { raw, low }
    }
    fn has(&self, w: &str) -> bool {
        self.low.iter().any(|x| x == w)
    }
    fn any(&self, ws: &[&str]) -> bool {
        ws.iter().any(|w| self.has(w))
    }
    /// A phrase of whole words, in order.
    fn phrase(&self, p: &str) -> bool {
        let ps: Vec<&str> = p.split(' ').collect();
        self.low
            .windows(ps.len())
            .any(|w| w.iter().zip(&ps).all(|(a, b)| a == b))
    }
    fn any_phrase(&self, ps: &[&str]) -> bool {
        ps.iter().any(|p| self.phrase(p))
    }
    fn position(&self, w: &str) -> Option<usize> {
        self.low.iter().position(|x| x == w)
    }
}

fn find_ref(ws: &Words) -> Option<RowRef> {
    ws.low
        .iter()
        .filter(|w| w.contains('#'))
        .find_map(|w| RowRef::parse(w).ok())
}

fn looks_like_id(w: &str) -> bool {
    w.len() >= 3
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && w.chars().any(|c| c.is_ascii_digit())
        && w.chars().any(|c| c.is_ascii_alphabetic())
        && StoreDay::parse(w).is_err()
        && ordinal(w).is_none()
}

/// A thread id: the word after "thread"/"ticket", or an id-like word in a CS question.
fn find_thread(ws: &Words) -> Option<String> {
    for key in ["thread", "ticket", "conversation"] {
        if let Some(i) = ws.position(key) {
            if let Some(w) = ws.raw.get(i + 1).filter(|w| looks_like_id(w)) {
                return Some(w.clone());
            }
        }
    }
    None
}

/// An id-like word with a separator (or right after "sku"/"product"/"variant").
fn find_sku(ws: &Words) -> Option<Sku> {
    for (i, w) in ws.raw.iter().enumerate() {
        let before = if i > 0 { ws.low[i - 1].as_str() } else { "" };
        let after = matches!(before, "sku" | "product" | "variant");
        let other = matches!(before, "campaign" | "thread" | "ticket" | "conversation");
        if looks_like_id(w) && !other && (w.contains('-') || w.contains('_') || after) {
            if let Ok(s) = Sku::new(w) {
                return Some(s);
            }
        }
    }
    None
}

fn ordinal(w: &str) -> Option<u32> {
    let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
    let rest = &w[digits.len()..];
    if digits.is_empty() || !matches!(rest, "st" | "nd" | "rd" | "th") {
        return None;
    }
    digits.parse().ok().filter(|d| (1..=31).contains(d))
}

fn month(w: &str) -> Option<u32> {
    const M: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let w = w.trim_end_matches('.');
    if w.len() < 3 {
        return None;
    }
    M.iter()
        .position(|m| w.starts_with(m) && (w.len() == 3 || "january february march april may june july august september october november december sept".split(' ').any(|f| f == w)))
        .map(|i| i as u32 + 1)
}

fn weekday(w: &str) -> Option<Weekday> {
    Some(match w.trim_end_matches('s') {
        "monday" | "mon" => Weekday::Mon,
        "tuesday" | "tue" | "tues" => Weekday::Tue,
        "wednesday" | "wed" => Weekday::Wed,
        "thursday" | "thu" | "thur" | "thurs" => Weekday::Thu,
        "friday" | "fri" => Weekday::Fri,
        "saturday" | "sat" => Weekday::Sat,
        "sunday" | "sun" => Weekday::Sun,
        _ => return None,
    })
}

/// The most recent date with that day of the month that is not after today.
fn day_of_month(today: StoreDay, dom: u32) -> Option<StoreDay> {
    let t = today.date();
    if let Some(d) = t.with_day(dom).map(StoreDay::new).filter(|d| *d <= today) {
        return Some(d);
    }
    let mut m = t;
    for _ in 0..2 {
        m = m.with_day(1).and_then(|d| d.pred_opt()).unwrap_or(m);
        if let Some(d) = m.with_day(dom) {
            return Some(StoreDay::new(d));
        }
    }
    None
}

/// "November 26", "26 Nov", "Nov 26th": this year's date (last year's if that is after today
/// and the question does not name a year).
fn month_day(ws: &Words, today: StoreDay) -> Option<Result<StoreDay, StoreDay>> {
    for (i, w) in ws.low.iter().enumerate() {
        let Some(m) = month(w) else { continue };
        let num = |j: usize| {
            ws.low.get(j).and_then(|x| {
                ordinal(x).or_else(|| x.parse::<u32>().ok().filter(|d| (1..=31).contains(d)))
            })
        };
        let dom = num(i + 1).or_else(|| i.checked_sub(1).and_then(num))?;
        let year = ws
            .low
            .iter()
            .find_map(|x| x.parse::<i32>().ok().filter(|y| (2000..2100).contains(y)));
        let y = year.unwrap_or(today.date().year());
        let d = StoreDay::new(NaiveDate::from_ymd_opt(y, m, dom)?);
        return Some(if d <= today {
            Ok(d)
        } else if year.is_none() {
            NaiveDate::from_ymd_opt(y - 1, m, dom)
                .map(StoreDay::new)
                .ok_or(d)
        } else {
            Err(d)
        });
    }
    None
}

fn monday_of(d: StoreDay) -> StoreDay {
    d.plus_days(-i64::from(d.date().weekday().num_days_from_monday()))
}

/// The most recent `wd` strictly before today ("last Friday"), or on/before today ("Friday").
fn last_weekday(today: StoreDay, wd: Weekday, strictly_before: bool) -> StoreDay {
    let t = today.date().weekday().num_days_from_monday() as i64;
    let w = wd.num_days_from_monday() as i64;
    let mut back = (t - w).rem_euclid(7);
    if back == 0 && strictly_before {
        back = 7;
    }
    today.plus_days(-back)
}

/// Parses the days a question names; `Err(day)` for a date in the future.
/// Longest range a question may ask about (a month): a longer one is read as its first date.
const MAX_RANGE_DAYS: i64 = 31;

/// "from 2026-11-20 to 2026-11-23", "between … and …", "since 2026-11-20": a range of dates.
fn date_range(
    ws: &Words,
    dates: &[StoreDay],
    today: StoreDay,
) -> Option<Result<Option<Days>, StoreDay>> {
    let (from, to) = match dates {
        [a, b, ..] => (*a.min(b), *a.max(b)),
        [a] if ws.any(&["since", "after"]) => (*a, today),
        _ => return None,
    };
    if to > today {
        return Some(Err(to));
    }
    let span = (to.date() - from.date()).num_days() + 1;
    (span <= MAX_RANGE_DAYS).then_some(Ok(Some(Days::Range(from, to))))
}

fn find_days(ws: &Words, today: StoreDay) -> Result<Option<Days>, StoreDay> {
    let one = |d: StoreDay| Ok(Some(Days::One(d)));
    let dates: Vec<StoreDay> = ws
        .low
        .iter()
        .filter_map(|w| StoreDay::parse(w).ok())
        .collect();
    if let Some(r) = date_range(ws, &dates, today) {
        return r;
    }
    if let Some(&d) = dates.first() {
        return if d > today { Err(d) } else { one(d) };
    }
    if ws.any(&["tomorrow", "tonight"]) || ws.any_phrase(&["next week", "next month"]) {
        return Err(today.plus_days(1));
    }
    if let Some(i) = ws.position("next") {
        if ws.low.get(i + 1).and_then(|w| weekday(w)).is_some() {
            return Err(today.plus_days(1));
        }
    }
    if let Some(r) = month_day(ws, today) {
        return r.map(|d| Some(Days::One(d)));
    }
    if ws.has("yesterday") || ws.phrase("last night") {
        return one(today.plus_days(-1));
    }
    let mon = monday_of(today);
    if ws.any_phrase(&["this week", "so far this week", "since monday"]) {
        return Ok(Some(Days::Range(mon, today)));
    }
    if ws.any_phrase(&["last week", "previous week", "past week"]) {
        return Ok(Some(Days::Range(mon.plus_days(-7), mon.plus_days(-1))));
    }
    let first = today.date().with_day(1).map(StoreDay::new).unwrap_or(today);
    if ws.phrase("this month") {
        return Ok(Some(Days::Range(first, today)));
    }
    if ws.phrase("last month") {
        let end = first.plus_days(-1);
        let start = end.date().with_day(1).map(StoreDay::new).unwrap_or(end);
        return Ok(Some(Days::Range(start, end)));
    }
    for n in [7, 14, 28, 30] {
        if ws.phrase(&format!("last {n} days")) || ws.phrase(&format!("past {n} days")) {
            return Ok(Some(Days::Range(today.plus_days(1 - n), today)));
        }
    }
    if let Some(i) = ws.position("since") {
        if let Some(wd) = ws.low.get(i + 1).and_then(|w| weekday(w)) {
            return Ok(Some(Days::Range(last_weekday(today, wd, false), today)));
        }
    }
    for (i, w) in ws.low.iter().enumerate() {
        if let Some(wd) = weekday(w) {
            let last = i > 0 && ws.low[i - 1] == "last";
            return one(last_weekday(today, wd, last));
        }
    }
    for w in &ws.low {
        if let Some(dom) = ordinal(w) {
            return match day_of_month(today, dom) {
                Some(d) => one(d),
                None => Err(today),
            };
        }
    }
    if ws.any(&["today", "tonight"]) || ws.any_phrase(&["this morning", "this afternoon"]) {
        return one(today);
    }
    Ok(None)
}

fn find_actions(ws: &Words) -> Vec<Action> {
    let mut out = Vec::new();
    let mut add = |a: Action| {
        if !out.contains(&a) {
            out.push(a)
        }
    };
    if ws.any_phrase(&["discount test", "discount tests", "discount_test"]) {
        add(Action::DiscountTest);
    }
    if ws.any(&["discounted", "on_discount"]) || ws.any_phrase(&["on discount", "put on discount"])
    {
        add(Action::OnDiscount);
    }
    if ws.any(&["restore", "restored", "restores", "price_restore"]) {
        add(Action::PriceRestore);
    }
    if ws.any(&["draft", "drafted", "drafts", "unpublish", "unpublished"]) {
        add(Action::Draft);
    }
    if ws.any(&["publish", "published", "publishes"]) {
        add(Action::Publish);
    }
    if ws.any(&["scale", "scaled", "scale_winner"]) {
        add(Action::ScaleWinner);
    }
    if ws.any(&["revive", "revived", "revive_seasonal", "seasonal"]) {
        add(Action::ReviveSeasonal);
    }
    if ws.any_phrase(&[
        "budget change",
        "budget changes",
        "budget moves",
        "budget move",
        "adjust_budget",
        "budget adjustments",
    ]) {
        add(Action::AdjustBudget);
    }
    let bare_discount = ws.any(&["discount", "discounts"])
        && !ws.any_phrase(&["discount test", "discount tests"])
        && !ws.any(&["cycle", "run", "window", "windows"]);
    if bare_discount {
        add(Action::OnDiscount);
    }
    if ws.any(&["keep", "kept", "keeps"]) {
        add(Action::Keep);
    }
    out
}

fn find_status(ws: &Words) -> Option<RowStatus> {
    Some(if ws.any(&["applied"]) {
        RowStatus::Applied
    } else if ws.any(&["reverted"]) || ws.phrase("rolled back") {
        RowStatus::Reverted
    } else if ws.any(&["failed"]) {
        RowStatus::Failed
    } else if ws.any(&["refused", "rejected", "disagreed"]) {
        RowStatus::Refused
    } else if ws.any_phrase(&["dry run", "dry-run", "dry_run"]) {
        RowStatus::DryRun
    } else {
        return None;
    })
}

fn find_class(ws: &Words) -> Option<Classification> {
    Some(if ws.any(&["loser", "losers", "losing"]) {
        Classification::Loser
    } else if ws.any(&["winner", "winners", "winning"]) {
        Classification::Winner
    } else if ws.any(&["mid", "middling"]) {
        Classification::Mid
    } else if ws.phrase("insufficient data") {
        Classification::InsufficientData
    } else {
        return None;
    })
}

fn find_aggregate(ws: &Words) -> Aggregate {
    if ws.any_phrase(&["how many", "number of", "count"]) {
        if ws.any(&["than", "versus", "vs", "compared", "compare"]) {
            Aggregate::Compare
        } else {
            Aggregate::Count
        }
    } else if ws.any(&["than", "versus", "vs", "compared", "compare"]) {
        Aggregate::Compare
    } else if ws.any(&["largest", "biggest", "deepest", "largest single"]) {
        Aggregate::Largest
    } else if ws.phrase("how much") || ws.any(&["total", "sum"]) {
        Aggregate::Sum
    } else {
        Aggregate::List
    }
}

/// Words that name no campaign: question words, the vocabulary, fillers.
const NOT_A_NAME: &[&str] = &[
    "why",
    "what",
    "whats",
    "how",
    "did",
    "do",
    "does",
    "didn't",
    "didnt",
    "we",
    "you",
    "is",
    "was",
    "are",
    "were",
    "the",
    "a",
    "an",
    "on",
    "for",
    "of",
    "to",
    "in",
    "at",
    "our",
    "my",
    "it",
    "its",
    "spend",
    "spent",
    "spending",
    "budget",
    "budgets",
    "campaign",
    "campaigns",
    "raise",
    "raised",
    "lower",
    "lowered",
    "cut",
    "change",
    "changed",
    "increase",
    "increased",
    "decrease",
    "decreased",
    "cap",
    "ads",
    "ad",
    "roas",
    "mer",
    "what's",
    "that",
    "this",
    "so",
    "much",
    "day",
    "per",
    "daily",
    "/day",
    "today",
    "yesterday",
    "week",
    "last",
    "since",
    "now",
    "happened",
    "happen",
    "with",
    "about",
    "tell",
    "me",
    "show",
    "and",
    "there",
    "be",
    "has",
    "have",
    "been",
    "up",
    "down",
    "not",
    "move",
    "moves",
    "moved",
    "story",
    "explain",
    "google",
    "performance",
    "performing",
    "doing",
    "current",
    "currently",
    "latest",
    "status",
    "otto",
    "please",
    "when",
    "who",
    "where",
    "which",
    "lately",
    "behind",
    "reason",
    "reasoning",
    "add",
    "added",
    "adding",
    "total",
    "sum",
    "all",
    "across",
    "many",
    "by",
    "overall",
    "month",
    "months",
    "days",
    "weeks",
    "year",
    "morning",
    "night",
    "ago",
    "past",
    "previous",
    "far",
];

fn campaign_name(ws: &Words) -> Option<String> {
    if let Some(w) = ws
        .raw
        .iter()
        .find(|w| w.contains('/') && w.split('/').all(|p| !p.is_empty()))
    {
        return Some(w.clone());
    }
    let rest: Vec<&str> = ws
        .raw
        .iter()
        .zip(&ws.low)
        .filter(|(_, l)| {
            !NOT_A_NAME.contains(&l.as_str())
                && weekday(l).is_none()
                && month(l).is_none()
                && ordinal(l).is_none()
                && l.parse::<f64>().is_err()
                && !l.starts_with('€')
        })
        .map(|(r, _)| r.as_str())
        .collect();
    (!rest.is_empty()).then(|| rest.join(" "))
}

fn is_greeting(ws: &Words) -> bool {
    !ws.low.is_empty()
        && ws.low.iter().all(|w| {
            matches!(
                w.as_str(),
                "hi" | "hello" | "hey" | "otto" | "morning" | "good" | "there" | "yo" | "hiya"
            )
        })
        && ws.any(&["hi", "hello", "hey", "yo", "hiya", "good"])
}

fn cycle_kind(ws: &Words) -> Option<CycleKind> {
    if ws.any_phrase(&["discount cycle", "discount run", "discount window cycle"]) {
        Some(CycleKind::Discount)
    } else if ws.any_phrase(&["research cycle", "research run", "research lane"]) {
        Some(CycleKind::Research)
    } else if ws.any(&[
        "morning",
        "cycle",
        "run",
        "go",
        "went",
        "happen",
        "happened",
        "summary",
        "overnight",
        "sync",
        "digest",
        "recap",
    ]) {
        Some(CycleKind::Morning)
    } else {
        None
    }
}

const CS_WORDS: &[&str] = &[
    "escalated",
    "escalation",
    "escalations",
    "escalate",
    "cs",
    "customer",
    "customers",
    "support",
    "refund",
    "refunds",
    "ticket",
    "tickets",
    "thread",
    "threads",
    "reply",
    "replies",
    "inbox",
];
const HOLD_WORDS: &[&str] = &[
    "held",
    "hold",
    "holds",
    "release",
    "releasable",
    "stuck",
    "blocked",
];
const AD_WORDS: &[&str] = &[
    "budget",
    "budgets",
    "spend",
    "spent",
    "spending",
    "campaign",
    "campaigns",
    "ads",
    "roas",
    "mer",
    "cap",
];
/// Topics no audit row answers (yet): refused, never routed by a stray word.
const NOT_IN_AUDIT: &[&str] = &[
    "floor",
    "margin",
    "profit",
    "visitors",
    "traffic",
    "conversion",
    "weather",
    "switch",
];
const MOVE_WORDS: &[&str] = &["moved", "move", "moves", "changed", "catalog", "catalogue"];

/// Maps a question to a plan. `today` is the store's current day.
pub fn parse(question: &str, today: StoreDay) -> Intent {
    let ws = Words::new(question);
    if let Some(r) = find_ref(&ws) {
        return Intent::ShowRow { row_ref: r };
    }
    if ws.low.is_empty()
        || ws.any(&["help"])
        || ws.any_phrase(&["what can you", "what do you answer", "what can i ask"])
    {
        return Intent::Help;
    }
    if is_greeting(&ws) {
        return Intent::Greeting;
    }
    let days = match find_days(&ws, today) {
        Ok(d) => d,
        Err(day) => return Intent::Future { day },
    };
    plan(&ws, days, today)
}

fn is_kill_switch(ws: &Words) -> bool {
    ws.any_phrase(&["kill switch", "kill switches", "emergency stop"])
        || ws.any(&["killswitch", "kill-switch", "kill_switch"])
}

/// "is the kill switch on?" asks its state; "who turned it on?", "when was it flipped?" a flip.
fn switch_ask(ws: &Words) -> SwitchAsk {
    let first = ws.low.first().map(String::as_str).unwrap_or("");
    let state = matches!(first, "is" | "are" | "status" | "state")
        || ws.any_phrase(&[
            "right now",
            "still on",
            "still off",
            "currently on",
            "currently off",
        ])
        || ws.any(&["currently", "status", "state"]);
    if state && !ws.any(&["who", "when", "why"]) {
        return SwitchAsk::State;
    }
    let on = ws.any(&[
        "on",
        "enabled",
        "enable",
        "activated",
        "activate",
        "engaged",
        "engage",
        "pulled",
        "hit",
    ]);
    let off = ws.any(&[
        "off",
        "disabled",
        "disable",
        "deactivated",
        "deactivate",
        "disengaged",
        "lifted",
        "reset",
    ]);
    SwitchAsk::Flip(match (on, off) {
        (true, false) => Some(OperatorAct::KillSwitchOn),
        (false, true) => Some(OperatorAct::KillSwitchOff),
        _ => None,
    })
}

/// "what are the thresholds?", "what's the winner floor?", "how is a loser decided?" — the
/// self_calibrator's ROAS thresholds; not a margin floor or a rate limit (policy, not a row).
fn is_thresholds(ws: &Words) -> bool {
    if ws.any(&[
        "margin", "margins", "limit", "limits", "rate", "tier", "tiers",
    ]) {
        return false;
    }
    let class = ws.any(&["winner", "winners", "loser", "losers", "roas"]);
    ws.any(&[
        "threshold",
        "thresholds",
        "calibrator",
        "self_calibrator",
        "calibration",
        "calibrated",
        "percentile",
        "p75",
        "p25",
        "cutoff",
        "cutoffs",
    ]) || (class && ws.any(&["floor", "ceiling", "bar"]))
        || ws.any_phrase(&[
            "what makes a winner",
            "what makes a loser",
            "what counts as a winner",
            "what counts as a loser",
            "how is a winner decided",
            "how is a loser decided",
        ])
}

/// "is a cycle stuck?", "any stalled runs?", "is the morning run hanging?"
fn is_cycle_health(ws: &Words) -> bool {
    let stuck = ws.any(&[
        "stuck", "stalled", "stall", "stalling", "hung", "hanging", "hangs", "frozen",
    ]) || ws.phrase("still running");
    let cycle = ws.any(&[
        "cycle", "cycles", "run", "runs", "running", "morning", "discount", "research", "job",
        "jobs", "pipeline",
    ]);
    stuck && cycle
}

fn health_kind(ws: &Words) -> Option<CycleKind> {
    if ws.any(&["discount"]) {
        Some(CycleKind::Discount)
    } else if ws.any(&["research"]) {
        Some(CycleKind::Research)
    } else if ws.any(&["morning"]) {
        Some(CycleKind::Morning)
    } else if ws.any(&["cs", "support"]) {
        Some(CycleKind::Cs)
    } else {
        None
    }
}

fn plan(ws: &Words, days: Option<Days>, today: StoreDay) -> Intent {
    if is_kill_switch(ws) {
        return Intent::KillSwitch {
            ask: switch_ask(ws),
            days,
        };
    }
    if is_cycle_health(ws) {
        return Intent::CycleHealth {
            kind: health_kind(ws),
        };
    }
    if is_thresholds(ws) {
        return Intent::Thresholds { days };
    }
    if ws.any(NOT_IN_AUDIT) {
        return Intent::Unknown;
    }
    let on = |d: Option<Days>| d.unwrap_or(Days::One(today));
    let thread = find_thread(ws);
    if thread.is_some() || ws.any(CS_WORDS) {
        return Intent::CustomerService {
            days: on(days),
            thread,
        };
    }
    if let Some(sku) = find_sku(ws) {
        return Intent::SkuHistory { sku };
    }
    let aggregate = find_aggregate(ws);
    let actions = find_actions(ws);
    if ws.any(HOLD_WORDS) || ws.any_phrase(&["waiting on me", "on hold"]) {
        if aggregate == Aggregate::List && actions.is_empty() {
            return Intent::Holds;
        }
        return rows_for(&actions, Some(RowStatus::Held), None, days, aggregate);
    }
    let open_words = ws.any(&["open", "running", "active", "live", "currently"]);
    if ws.any(&["window", "windows"])
        || (ws.any(&["discount", "discounts", "discounted"])
            && open_words
            && aggregate == Aggregate::List)
    {
        return Intent::DiscountWindows;
    }
    if ws.any(&["candidate", "candidates", "research", "queued", "discovery"])
        || ws.phrase("new products")
    {
        if cycle_kind(ws) == Some(CycleKind::Research) && !ws.any(&["candidate", "candidates"]) {
            return Intent::CycleSummary {
                kind: CycleKind::Research,
                days: on(days),
            };
        }
        return Intent::Research;
    }
    if let Some(c) = find_class(ws) {
        return Intent::Rows(RowQuery {
            table: AuditTable::DecisionLog,
            actions,
            status: find_status(ws),
            classification: Some(c),
            days,
            aggregate,
        });
    }
    let status = find_status(ws);
    let budget_change = actions.contains(&Action::AdjustBudget);
    if ws.any(AD_WORDS) && !budget_change {
        if let Some(name) = campaign_name(ws) {
            if asks_performance(ws) {
                return Intent::CampaignPerformance { name, days };
            }
            return Intent::Campaign { name, days };
        }
        if aggregate != Aggregate::List || days.is_some() {
            return rows_for(&[Action::AdjustBudget], status, None, days, aggregate);
        }
    }
    if !actions.is_empty() || status.is_some() || aggregate != Aggregate::List {
        if actions.is_empty() && status.is_none() && !ws.any(MOVE_WORDS) && !ws.any(AD_WORDS) {
            return Intent::Unknown;
        }
        return rows_for(&actions, status, None, days, aggregate);
    }
    if ws.any(MOVE_WORDS) {
        return Intent::CatalogMoves { days: on(days) };
    }
    match (cycle_kind(ws), days) {
        (Some(kind), d) => Intent::CycleSummary { kind, days: on(d) },
        _ => Intent::Unknown,
    }
}

/// "what did X spend", "X's ROAS last week": figures over days, not the budget's story ("why is
/// spend on X what it is?", "did we raise the X budget?").
fn asks_performance(ws: &Words) -> bool {
    ws.any(&["spend", "spent", "spending", "roas", "cost", "costs"])
        && !ws.any(&[
            "why", "budget", "budgets", "cap", "raise", "raised", "cut", "lower", "lowered",
        ])
}

fn rows_for(
    actions: &[Action],
    status: Option<RowStatus>,
    classification: Option<Classification>,
    days: Option<Days>,
    aggregate: Aggregate,
) -> Intent {
    let table = if actions.contains(&Action::AdjustBudget) {
        AuditTable::AdDecisionLog
    } else {
        AuditTable::DecisionLog
    };
    Intent::Rows(RowQuery {
        table,
        actions: actions.to_vec(),
        status,
        classification,
        days,
        aggregate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> StoreDay {
        StoreDay::parse(s).unwrap()
    }
    /// Wednesday 25 November 2026.
    fn today() -> StoreDay {
        d("2026-11-25")
    }
    fn days_of(i: Intent) -> Option<Days> {
        match i {
            Intent::CycleSummary { days, .. }
            | Intent::CatalogMoves { days }
            | Intent::CustomerService { days, .. } => Some(days),
            Intent::Rows(q) => q.days,
            Intent::Campaign { days, .. } | Intent::CampaignPerformance { days, .. } => days,
            _ => None,
        }
    }

    #[test]
    fn dates_are_relative_to_the_store_today() {
        let t = today();
        let one = |q: &str| days_of(parse(q, t));
        assert_eq!(one("how did this morning go?"), Some(Days::One(t)));
        assert_eq!(
            one("how did yesterday's run go?"),
            Some(Days::One(d("2026-11-24")))
        );
        assert_eq!(
            one("what moved on November 26, 2025?"),
            Some(Days::One(d("2025-11-26")))
        );
        assert_eq!(
            one("what moved on 24 Nov?"),
            Some(Days::One(d("2026-11-24")))
        );
        assert_eq!(
            one("what moved on the 30th?"),
            Some(Days::One(d("2026-10-30")))
        );
        assert_eq!(
            one("how did the run go last Friday?"),
            Some(Days::One(d("2026-11-20")))
        );
        assert_eq!(
            one("how did Monday's run go?"),
            Some(Days::One(d("2026-11-23")))
        );
        assert_eq!(one("how did Wednesday's run go?"), Some(Days::One(t)));
        assert_eq!(
            one("how did last Wednesday's run go?"),
            Some(Days::One(d("2026-11-18")))
        );
        assert_eq!(
            one("what moved last week?"),
            Some(Days::Range(d("2026-11-16"), d("2026-11-22")))
        );
        assert_eq!(
            one("what moved since Monday?"),
            Some(Days::Range(d("2026-11-23"), t))
        );
        assert_eq!(
            one("how many drafts this month?"),
            Some(Days::Range(d("2026-11-01"), t))
        );
        for q in [
            "what will move tomorrow?",
            "what will the discount cycle do next Tuesday?",
            "how did 2027-01-01 go",
            "what will we spend next week?",
        ] {
            assert!(matches!(parse(q, t), Intent::Future { .. }), "{q}");
        }
    }

    #[test]
    fn a_campaigns_spend_over_days_is_its_performance_not_its_budget_story() {
        let t = today();
        assert_eq!(
            parse("what did EU/Linen/Throws spend last week?", t),
            Intent::CampaignPerformance {
                name: "EU/Linen/Throws".into(),
                days: Some(Days::Range(d("2026-11-16"), d("2026-11-22"))),
            }
        );
        assert!(matches!(
            parse("ROAS of EU/Linen/Throws?", t),
            Intent::CampaignPerformance { days: None, .. }
        ));
        assert!(matches!(
            parse("why is spend on EU/Linen/Throws what it is?", t),
            Intent::Campaign { .. }
        ));
    }

    #[test]
    fn routing_is_by_whole_words() {
        let t = today();
        assert_eq!(
            parse("how many budget changes from 2026-11-20 to 2026-11-23?", t),
            parse(
                "how many budget changes between 2026-11-23 and 2026-11-20?",
                t
            )
        );
        assert!(matches!(
            parse("how many budget changes from 2026-11-20 to 2026-11-23?", t),
            Intent::Rows(RowQuery { days: Some(Days::Range(a, b)), .. })
                if a == StoreDay::parse("2026-11-20").unwrap()
                    && b == StoreDay::parse("2026-11-23").unwrap()
        ));
        assert!(matches!(
            parse("what moved on the catalog since 2026-11-20?", t),
            Intent::CatalogMoves { days: Days::Range(_, b) } if b == t
        ));
        assert_eq!(
            parse("what are the thresholds?", t),
            Intent::Thresholds { days: None }
        );
        assert_eq!(
            parse("what was the winner floor yesterday?", t),
            Intent::Thresholds {
                days: Some(Days::One(t.plus_days(-1)))
            }
        );
        assert_eq!(parse("what's the margin floor?", t), Intent::Unknown);
        assert!(!matches!(
            parse("what are the rate limits?", t),
            Intent::Thresholds { .. }
        ));
        assert_eq!(parse("what's paused?", t), Intent::Unknown);
        assert!(matches!(
            parse("which SKUs did you draft today?", t),
            Intent::Rows(RowQuery { ref actions, .. }) if actions == &[Action::Draft]
        ));
        assert!(matches!(
            parse("which products are losers?", t),
            Intent::Rows(RowQuery {
                classification: Some(Classification::Loser),
                ..
            })
        ));
        assert!(matches!(
            parse("how many budget changes have we made this week?", t),
            Intent::Rows(RowQuery {
                aggregate: Aggregate::Count,
                table: AuditTable::AdDecisionLog,
                ..
            })
        ));
        assert!(matches!(
            parse("why didn't you raise the Jute budget?", t),
            Intent::Campaign { ref name, .. } if name == "Jute"
        ));
        assert!(matches!(
            parse("tell me about campaign c-7001", t),
            Intent::Campaign { ref name, .. } if name == "c-7001"
        ));
        assert!(matches!(
            parse("what happened to thread T-9001?", t),
            Intent::CustomerService { thread: Some(ref x), .. } if x == "T-9001"
        ));
        assert!(matches!(
            parse("what happened to sku-lin-007?", t),
            Intent::SkuHistory { .. }
        ));
        assert_eq!(parse("hi otto", t), Intent::Greeting);
        assert_eq!(parse("what's held?", t), Intent::Holds);
        assert_eq!(
            parse("which discounts are open?", t),
            Intent::DiscountWindows
        );
        assert_eq!(parse("who won the game last night?", t), Intent::Unknown);
        assert_eq!(parse("tell me a joke", t), Intent::Unknown);
    }

    #[test]
    fn kill_switch_and_stuck_cycles_route_to_their_rows() {
        let t = today();
        let on = Some(OperatorAct::KillSwitchOn);
        for (q, want) in [
            ("who turned the kill switch on?", SwitchAsk::Flip(on)),
            ("who hit the killswitch?", SwitchAsk::Flip(on)),
            ("why is the kill switch on?", SwitchAsk::Flip(on)),
            ("when was the kill switch flipped?", SwitchAsk::Flip(None)),
            (
                "who turned the kill-switch off?",
                SwitchAsk::Flip(Some(OperatorAct::KillSwitchOff)),
            ),
            ("is the kill switch on?", SwitchAsk::State),
            ("kill switch status", SwitchAsk::State),
        ] {
            assert!(
                matches!(parse(q, t), Intent::KillSwitch { ask, days: None } if ask == want),
                "{q}: {:?}",
                parse(q, t)
            );
        }
        assert!(matches!(
            parse("who flipped the kill switch yesterday?", t),
            Intent::KillSwitch { days: Some(Days::One(d)), .. } if d == t.plus_days(-1)
        ));
        assert_eq!(
            parse("is a cycle stuck?", t),
            Intent::CycleHealth { kind: None }
        );
        assert_eq!(
            parse("is the morning run hanging?", t),
            Intent::CycleHealth {
                kind: Some(CycleKind::Morning)
            }
        );
        // "stuck" alone (no cycle) is still about held rows; "switch" alone is still refused.
        assert_eq!(parse("what's stuck?", t), Intent::Holds);
        assert_eq!(parse("switch the lights off", t), Intent::Unknown);
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
            "thread",
            "since",
            "last",
            "next",
            "nov",
            "31 feb",
            "feb 30th",
        ] {
            let _ = parse(q, today());
        }
    }
}
