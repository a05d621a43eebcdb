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
//! * a human form derived from a cited row: a `…_bp` figure (or an `NNNbp` in a row's text) as a
//!   percentage rounded to 0 or 1 decimals, or as a ratio (`41459bp` → `4.1`, `4.15`); a UTC
//!   timestamp of a cited row as the store-local `HH:MM`; a budget move's change in percent
//!   (`€300.00 → €345.00` supports `+15%`) and amount; a row's day as its day of the month and
//!   year (`2026-11-24` supports `24 Nov 2026`);
//! * the sum of the budget changes (after − before) of the cited ad rows;
//! * a campaign's spend and conversion value summed over the ad days its cited rows recorded,
//!   and their ratio (ROAS) — [`crate::campaign_period`];
//! * a count over the cited rows: how many there are, per action, status, action and status,
//!   classification, verdict, table, ISO week and day — and that count less a page of
//!   [`PAGE`] ("and 37 more"). Counts, days and refs come from the cited rows' index entries
//!   ([`RowKey`]), so an answer may cite rows it never read whole (a count over 2,000 rows
//!   lists 20); figures only come from the rows it read.
//!
//! No floating point anywhere: numbers are compared as normalised decimal strings.

use chrono::{Datelike, IsoWeek};
use otto_core::audit::{AuditRow, AuditTable, RowBody, RowRef};
use otto_core::{Classification, RowKey, RowStatus, StoreClock, StoreDay};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// The page size of listed rows ("and N more").
pub const PAGE: usize = 20;

/// `n / d` rounded half away from zero (d > 0), in integers.
pub fn round_div(n: i128, d: i128) -> i128 {
    let q = (n.abs() * 2 + d) / (2 * d);
    if n < 0 {
        -q
    } else {
        q
    }
}

/// `n / 10^scale` rounded to `decimals` decimals, as a normalised decimal string.
pub fn scaled(n: i128, scale: u32, decimals: u32) -> String {
    let q = round_div(n, 10i128.pow(scale - decimals));
    let sign = if q < 0 { "-" } else { "" };
    let a = q.unsigned_abs();
    let p = 10u128.pow(decimals);
    let text = if decimals == 0 {
        format!("{sign}{a}")
    } else {
        format!("{sign}{}.{:0w$}", a / p, a % p, w = decimals as usize)
    };
    normalise(&text).unwrap_or(text)
}

/// Units a number may carry in an answer's text.
const UNITS: [&str; 4] = ["bp", "d", "x", "h"];

/// What the cited rows support.
#[derive(Debug, Default, Clone)]
pub struct Support {
    numbers: BTreeSet<String>,
    idents: BTreeSet<String>,
    refs: BTreeSet<RowRef>,
    clock: Option<StoreClock>,
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
        Self::build(rows, &[], None)
    }

    /// As [`Support::from_rows`], also accepting store-local times of the rows' timestamps.
    pub fn from_rows_in<'a>(
        rows: impl IntoIterator<Item = &'a AuditRow>,
        clock: StoreClock,
    ) -> Self {
        Self::build(rows, &[], Some(clock))
    }

    /// What an answer's citations support: the figures of the rows it read whole (`rows`), and
    /// the index entries of every row it cites (`keys`, the read rows' included) — their refs,
    /// days and the counts over them. A row cited by its entry only lends its count, day and
    /// ref, never a figure of its body.
    pub fn from_cited(rows: &[AuditRow], keys: &[RowKey], clock: StoreClock) -> Self {
        Self::build(rows, keys, Some(clock))
    }

    fn build<'a>(
        rows: impl IntoIterator<Item = &'a AuditRow>,
        keys: &[RowKey],
        clock: Option<StoreClock>,
    ) -> Self {
        let mut s = Support {
            clock,
            ..Support::default()
        };
        let mut cited: Vec<AuditRow> = Vec::new();
        let mut row_keys: Vec<RowKey> = Vec::new();
        for r in rows {
            if matches!(r.body, RowBody::AdDecision(_)) {
                cited.push(r.clone());
            }
            s.add_value(None, &r.to_json());
            s.add_budget_change(&r.body);
            row_keys.push(r.key());
        }
        s.add_keys(row_keys.iter().chain(keys));
        // A campaign's spend, conversion value and ROAS over the days its cited rows recorded.
        if let Some(p) = crate::campaign_period::period_of(&cited, None) {
            for m in [p.spend, p.conversion_value] {
                s.numbers.extend(normalise(&m.rounded().amount_string()));
            }
            if let Some(r) = p.roas_bp {
                s.add_bp(i128::from(r));
            }
        }
        if let Some(sum) = crate::engine::budget_delta_sum(&cited) {
            let r = sum.rounded();
            s.numbers.extend(normalise(&r.amount_string()));
            let abs = otto_core::Money::from_micros(r.micros().abs(), r.currency());
            s.numbers.extend(normalise(&abs.amount_string()));
        }
        s
    }

    /// The cited rows' refs and days, and the counts over them (each row once): counted per
    /// (table, day, action, status, classification) and per subject, the coarser groups summed
    /// from those.
    fn add_keys<'k>(&mut self, keys: impl IntoIterator<Item = &'k RowKey>) {
        type Fine<'k> = (
            AuditTable,
            StoreDay,
            &'k str,
            RowStatus,
            Option<Classification>,
        );
        let mut fine: HashMap<Fine<'k>, usize> = HashMap::new();
        let mut subjects: HashMap<&'k str, usize> = HashMap::new();
        let mut total = 0usize;
        for k in keys {
            if !self.refs.insert(k.row_ref) {
                continue;
            }
            total += 1;
            let f = (
                k.row_ref.table,
                k.day,
                k.action.as_str(),
                k.status,
                k.classification,
            );
            *fine.entry(f).or_default() += 1;
            *subjects.entry(k.subject.as_str()).or_default() += 1;
        }
        let mut groups: HashMap<Group<'k>, usize> = HashMap::new();
        let mut days: BTreeSet<StoreDay> = BTreeSet::new();
        for (&(table, day, action, status, class), &n) in &fine {
            days.insert(day);
            for g in groups_of(table, day, action, status, class) {
                *groups.entry(g).or_default() += n;
            }
        }
        for d in days {
            self.add_day(&d.to_string());
        }
        let counts = groups.values().chain(subjects.values()).copied();
        for n in counts.chain([total]) {
            self.numbers.insert(n.to_string());
            if n > PAGE {
                self.numbers.insert((n - PAGE).to_string());
            }
        }
    }

    /// Accepts a token the question itself named (a day or period it resolved to, the lookback
    /// length): not a figure about rows, so not mined from them.
    pub fn allow(&mut self, token: &str) {
        match normalise(token) {
            Some(n) => {
                self.numbers.insert(n);
            }
            None => {
                self.idents.insert(token.to_lowercase());
                self.add_day(token);
            }
        }
    }

    fn add_day(&mut self, day: &str) {
        if let Ok(d) = otto_core::StoreDay::parse(day) {
            use chrono::Datelike;
            let dt = d.date();
            self.numbers.insert(dt.day().to_string());
            self.numbers.insert(dt.year().to_string());
            self.idents.insert(crate::human::ordinal(dt.day()));
        }
    }

    fn add_budget_change(&mut self, body: &RowBody) {
        let RowBody::AdDecision(a) = body else { return };
        let (Some(b), Some(x)) = (a.budget_before, a.budget_after) else {
            return;
        };
        if let Some(p) = crate::human::change_pct(&b, &x) {
            self.numbers.insert(p.to_string());
            self.numbers.insert(p.abs().to_string());
        }
        if let Ok(d) = x.checked_sub(&b) {
            let r = d.rounded();
            for m in [
                r,
                if r.micros() < 0 {
                    otto_core::Money::from_micros(-r.micros(), r.currency())
                } else {
                    r
                },
            ] {
                self.numbers.extend(normalise(&m.amount_string()));
            }
        }
    }

    fn add_bp(&mut self, bp: i128) {
        for dec in [0, 1, 2] {
            self.numbers.insert(scaled(bp, 2, dec));
        }
        for dec in [1, 2] {
            self.numbers.insert(scaled(bp, 4, dec));
        }
    }

    fn add_time(&mut self, s: &str) {
        let (Some(clock), Ok(t)) = (self.clock, chrono::DateTime::parse_from_rfc3339(s)) else {
            return;
        };
        let t = t.with_timezone(&chrono::Utc);
        self.idents.insert(crate::human::local_time(&clock, t));
        // The store-local day of the instant (a 23:30 UTC write is the next day in Stockholm).
        self.add_day(&clock.day_of(t).to_string());
    }

    fn add_text(&mut self, text: &str) {
        self.idents.insert(text.to_lowercase());
        self.add_tokens(text);
        // What people are shown of the text (`MER 48854 → 49271` as `MER 4.9 → 4.9`).
        let human = crate::human::humanise(text);
        if human != text {
            self.add_tokens(&human);
        }
    }

    fn add_tokens(&mut self, text: &str) {
        for t in tokens(text) {
            let t = t.trim_end_matches('%');
            match normalise(t) {
                Some(n) => {
                    self.numbers.insert(n);
                }
                None => {
                    self.idents.insert(t.to_lowercase());
                    if let Some(n) = unit_number(t) {
                        if t.to_lowercase().ends_with("bp") {
                            if let Ok(bp) = n.parse::<i128>() {
                                self.add_bp(bp);
                            }
                        }
                        self.numbers.insert(n);
                    }
                    if t.len() == 10 {
                        self.add_day(t);
                    }
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
                    // A percentile as people name it: `winner_percentile_bp: 7500` → "75th".
                    let whole = n.as_u64().filter(|b| b % 100 == 0 && *b <= 10_000);
                    if let Some(b) = whole.filter(|_| key.is_some_and(|k| k.contains("percentile")))
                    {
                        self.idents.insert(crate::human::ordinal(b as u32 / 100));
                    }
                    if let Some(bp) = n.as_i64() {
                        self.add_bp(i128::from(bp));
                    }
                }
            }
            Value::String(s) if key.is_some_and(|k| OPAQUE.contains(&k)) => {
                self.idents.insert(s.to_lowercase());
                self.add_time(s);
            }
            Value::String(s) if key.is_some_and(|k| k == "scheduled_time") => {
                self.add_time(s);
                self.add_text(s);
            }
            Value::String(s) => self.add_text(s),
            Value::Array(a) => a.iter().for_each(|x| self.add_value(key, x)),
            Value::Object(o) => {
                for (k, x) in o {
                    self.add_value(Some(k), x);
                }
                self.add_minor_amounts(o);
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    /// An amount kept in minor units beside its currency (`"price_minor": 763, "currency":
    /// "EUR"`, as supplier_matcher stores offers) supports its major-unit form (`7.63`).
    fn add_minor_amounts(&mut self, o: &serde_json::Map<String, Value>) {
        let Some(currency) = o
            .get("currency")
            .and_then(Value::as_str)
            .and_then(|c| otto_core::Currency::new(c).ok())
        else {
            return;
        };
        for (_, x) in o.iter().filter(|(k, _)| k.ends_with("_minor")) {
            let money = x
                .as_i64()
                .and_then(|n| otto_core::Money::from_minor(n, currency).ok());
            if let Some(m) = money {
                self.add_text(&m.amount_string());
            }
        }
    }

    /// The tokens of `text` that no cited row supports. A signed figure (`+18%`) is checked
    /// with its sign dropped as well. (empty when the text is grounded).
    pub fn unsupported(&self, text: &str) -> Vec<String> {
        let mut bad = Vec::new();
        for t in tokens(text) {
            if !t.chars().any(|c| c.is_ascii_digit()) {
                continue;
            }
            if t.contains('#') {
                if let Ok(r) = RowRef::parse(&t.to_lowercase()) {
                    if !self.refs.contains(&r) && !self.idents.contains(&r.to_string()) {
                        bad.push(t);
                    }
                    continue;
                }
            }
            let bare = t.trim_end_matches('%');
            let bare = bare.trim_end_matches('×');
            match normalise(bare) {
                Some(n) => {
                    let abs = n.trim_start_matches('-').to_string();
                    let neg = format!("-{abs}");
                    if !self.numbers.contains(&n)
                        && !self.numbers.contains(&abs)
                        && !self.numbers.contains(&neg)
                    {
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

/// A group of cited rows whose count an answer may state (besides all of them and those about
/// one subject).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Group<'k> {
    Table(AuditTable),
    Action(&'k str),
    Status(RowStatus),
    ActionStatus(&'k str, RowStatus),
    Week(IsoWeek),
    WeekAction(IsoWeek, &'k str),
    /// Applied (or applied, then reverted) rows of an action in an ISO week: a rate limit's use.
    WeekApplied(IsoWeek, &'k str),
    Day(StoreDay),
    DayAction(StoreDay, &'k str),
    Class(Classification),
}

/// The groups a row is counted in (see the module doc).
fn groups_of(
    table: AuditTable,
    day: StoreDay,
    action: &str,
    status: RowStatus,
    class: Option<Classification>,
) -> Vec<Group<'_>> {
    let week = day.date().iso_week();
    let mut out = vec![
        Group::Table(table),
        Group::Action(action),
        Group::Status(status),
        Group::ActionStatus(action, status),
        Group::Week(week),
        Group::WeekAction(week, action),
        Group::Day(day),
        Group::DayAction(day, action),
    ];
    if let Some(c) = class {
        out.push(Group::Class(c));
    }
    if matches!(status, RowStatus::Applied | RowStatus::Reverted) {
        out.push(Group::WeekApplied(week, action));
    }
    out
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
    fn an_amount_in_minor_units_supports_its_major_form() {
        let r = row(
            r#"{"ref":"research_candidates#3","table":"research_candidates","ulid":"01M881EAEJ3D912S38QZ3KSKG5",
            "store":"s1","cycle_id":"s1:research:2026-11-24","day":"2026-11-24","natural_key":"k","status":"QUEUED",
            "created_at":"2026-11-24T10:00:00Z","updated_at":"2026-11-24T10:00:00Z",
            "body":{"candidate_key":"jute rug","title":"Jute Rug","lane":"competitor","review":"QUEUED",
              "supplier_match":{"status":"MATCHED","offers_seen":3,"offers":[],
                "supplier_cost":{"price_minor":763,"currency":"EUR","source":"lane","lane":"aliexpress"}},
              "figures":{}}}"#,
        );
        let s = Support::from_rows([&r]);
        assert!(
            s.unsupported("supplier €7.63").is_empty(),
            "{:?}",
            s.unsupported("supplier €7.63")
        );
        assert_eq!(s.unsupported("supplier €7.64"), ["7.64"]);
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
        assert!(
            s.unsupported("agreement 66.7%").is_empty(),
            "rounded to 1 decimal"
        );
        assert!(
            s.unsupported("agreement 67%").is_empty(),
            "rounded to a whole percent"
        );
        assert_eq!(s.unsupported("agreement 66.8%"), ["66.8%"]);
        assert!(
            s.unsupported("budget +15% (€97.18 more)").is_empty(),
            "derived change"
        );
        assert!(
            s.unsupported("ROAS 7.1, target 4").is_empty(),
            "ratios from bp in text"
        );
        assert_eq!(s.unsupported("ROAS 7.3"), ["7.3"]);
        assert!(
            Support::from_rows_in(
                [&r],
                otto_core::StoreClock::new("Europe/Amsterdam").unwrap()
            )
            .unsupported("written at 06:00")
            .is_empty(),
            "store-local time of created_at"
        );
        assert_eq!(s.unsupported("written at 06:00"), ["06:00"]);
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
