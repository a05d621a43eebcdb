//! Why a row is HELD, typed. The executor writes its reason on the row in words (rows stay
//! readable as they are exported); the words are built here and read back here, so the
//! dashboard's groups (kill switch, a rate limit and when it resets, an outside edit, the CS
//! judge) can never drift from what the executor wrote.

use crate::audit::{AuditRow, RowBody, RowRef};
use crate::stages::cs::Verdict;
use crate::time::StoreDay;
use std::fmt;

const KILL_SWITCH: &str = "kill switch on";
const RATE_LIMIT: &str = "rate limit: ";
const RESETS: &str = " used; the limit resets at the start of ";
const STORE_TIME: &str = " (store time)";
const SEE: &str = "; see ";
/// The tail of every "someone else changed it" hold (a price, a budget).
pub const OUTSIDE_EDIT: &str = "changed by someone else since; not overwritten";

/// Why the kill switch holds a move: `kill switch on, flipped by emma (import); see operator_log#3`.
pub fn kill_switch_text(by: Option<&str>, reason: Option<&str>, flip: Option<RowRef>) -> String {
    let mut why = KILL_SWITCH.to_string();
    if let Some(by) = by {
        why.push_str(&format!(", flipped by {by}"));
    }
    if let Some(r) = reason {
        why.push_str(&format!(" ({r})"));
    }
    if let Some(flip) = flip {
        why.push_str(&format!("{SEE}{flip}"));
    }
    why
}

/// Why a rate limit holds a move: `rate limit: 8 of 8 budget changes this week used; the limit
/// resets at the start of 2026-11-30 (store time)`.
pub fn rate_limit_text(used: i64, max: u32, what: &str, resets_on: StoreDay) -> String {
    format!("{RATE_LIMIT}{used} of {max} {what}{RESETS}{resets_on}{STORE_TIME}")
}

/// Why a row is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldReason {
    /// The kill switch was on when the executor reached it; `flip` is the flip's row.
    KillSwitch { flip: Option<RowRef> },
    /// A rate limit was used up: which one (`budget changes this week`), and the first store day
    /// of the next period, when a release can go through again.
    RateLimit {
        limit: String,
        used: Option<i64>,
        max: Option<u32>,
        resets_on: Option<StoreDay>,
    },
    /// Someone changed the price or the budget since Otto decided; not overwritten.
    OutsideEdit,
    /// The CS judge held the reply (its verdict, e.g. HOLD_TONE, HOLD_LANGUAGE).
    Judge { verdict: String },
    /// Any other reason, as written.
    Other(String),
}

impl HoldReason {
    /// The reason of a held row (its `hold_reason`, or the CS judge's verdict).
    pub fn of_row(row: &AuditRow) -> HoldReason {
        match &row.body {
            RowBody::CsEvaluation(c) => match &c.hold_reason {
                Some(why) => HoldReason::parse(why),
                None if [Verdict::HoldTone, Verdict::HoldLanguage]
                    .iter()
                    .any(|v| v.as_str() == c.verdict) =>
                {
                    HoldReason::Judge {
                        verdict: c.verdict.clone(),
                    }
                }
                None => HoldReason::Other(c.reason.clone()),
            },
            RowBody::Decision(d) => HoldReason::parse(d.hold_reason.as_deref().unwrap_or("")),
            RowBody::AdDecision(a) => HoldReason::parse(a.hold_reason.as_deref().unwrap_or("")),
            _ => HoldReason::Other(String::new()),
        }
    }

    /// Reads a hold reason written by [`kill_switch_text`], [`rate_limit_text`] or an outside
    /// edit; anything else is [`HoldReason::Other`].
    pub fn parse(why: &str) -> HoldReason {
        let why = why.trim();
        if why.starts_with(KILL_SWITCH) {
            let flip = why
                .rsplit_once(SEE)
                .and_then(|(_, r)| RowRef::parse(r.split_whitespace().next()?).ok());
            return HoldReason::KillSwitch { flip };
        }
        if let Some(rest) = why.strip_prefix(RATE_LIMIT) {
            return rate_limit(rest);
        }
        if why.contains(OUTSIDE_EDIT) {
            return HoldReason::OutsideEdit;
        }
        HoldReason::Other(why.to_string())
    }

    /// The group a held row is listed under: rows with the same group share one bulk release.
    pub fn group(&self) -> HoldGroup {
        match self {
            HoldReason::KillSwitch { .. } => HoldGroup::KillSwitch,
            HoldReason::RateLimit {
                limit, resets_on, ..
            } => HoldGroup::RateLimit {
                limit: limit.clone(),
                resets_on: *resets_on,
            },
            HoldReason::OutsideEdit => HoldGroup::OutsideEdit,
            HoldReason::Judge { verdict } => HoldGroup::Judge {
                verdict: verdict.clone(),
            },
            HoldReason::Other(_) => HoldGroup::Other,
        }
    }
}

/// `"8 of 8 budget changes this week used; the limit resets at the start of 2026-11-30 (store
/// time)"` → its parts (whatever cannot be read stays `None`; the limit is then the text).
fn rate_limit(rest: &str) -> HoldReason {
    let (counts, resets) = rest.split_once(RESETS).unwrap_or((rest, ""));
    let resets_on = resets
        .strip_suffix(STORE_TIME)
        .and_then(|d| StoreDay::parse(d.trim()).ok());
    let mut words = counts.splitn(4, ' ');
    let (used, of, max, limit) = (words.next(), words.next(), words.next(), words.next());
    match (
        used.and_then(|u| u.parse().ok()),
        of,
        max.and_then(|m| m.parse().ok()),
        limit,
    ) {
        (Some(used), Some("of"), Some(max), Some(limit)) => HoldReason::RateLimit {
            limit: limit.to_string(),
            used: Some(used),
            max: Some(max),
            resets_on,
        },
        _ => HoldReason::RateLimit {
            limit: counts.to_string(),
            used: None,
            max: None,
            resets_on,
        },
    }
}

/// What held rows are grouped by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HoldGroup {
    KillSwitch,
    RateLimit {
        limit: String,
        resets_on: Option<StoreDay>,
    },
    OutsideEdit,
    Judge {
        verdict: String,
    },
    Other,
}

impl HoldGroup {
    /// A stable name for a form or an anchor: `kill_switch`, `rate_limit`, …
    pub fn key(&self) -> &'static str {
        match self {
            HoldGroup::KillSwitch => "kill_switch",
            HoldGroup::RateLimit { .. } => "rate_limit",
            HoldGroup::OutsideEdit => "outside_edit",
            HoldGroup::Judge { .. } => "judge",
            HoldGroup::Other => "other",
        }
    }
}

impl fmt::Display for HoldGroup {
    /// The group's heading, in words.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldGroup::KillSwitch => f.write_str("Kill switch"),
            HoldGroup::RateLimit { limit, .. } => write!(f, "Rate limit — {limit}"),
            HoldGroup::OutsideEdit => f.write_str("Changed outside Otto"),
            HoldGroup::Judge { verdict } if verdict == Verdict::HoldTone.as_str() => {
                f.write_str("Policy — the CS judge held the reply's tone")
            }
            HoldGroup::Judge { verdict } if verdict == Verdict::HoldLanguage.as_str() => {
                f.write_str("Policy — the reply's language is not allowed for sending")
            }
            HoldGroup::Judge { verdict } => write!(f, "Policy — the CS judge: {verdict}"),
            HoldGroup::Other => f.write_str("Other reasons"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditTable;

    #[test]
    fn the_texts_written_read_back_as_their_reason() {
        let flip = RowRef::new(AuditTable::OperatorLog, 3);
        let ks = kill_switch_text(Some("emma"), Some("import; see later"), Some(flip));
        assert_eq!(
            ks,
            "kill switch on, flipped by emma (import; see later); see operator_log#3"
        );
        assert_eq!(
            HoldReason::parse(&ks),
            HoldReason::KillSwitch { flip: Some(flip) }
        );
        assert_eq!(
            HoldReason::parse(&format!("{ks} (a retry of an interrupted move)")),
            HoldReason::KillSwitch { flip: Some(flip) }
        );
        assert_eq!(
            HoldReason::parse("kill switch on"),
            HoldReason::KillSwitch { flip: None }
        );
        let day = StoreDay::parse("2026-11-30").unwrap();
        let rl = rate_limit_text(8, 8, "budget changes this week", day);
        assert_eq!(
            rl,
            "rate limit: 8 of 8 budget changes this week used; the limit resets at the start of 2026-11-30 (store time)"
        );
        assert_eq!(
            HoldReason::parse(&rl),
            HoldReason::RateLimit {
                limit: "budget changes this week".into(),
                used: Some(8),
                max: Some(8),
                resets_on: Some(day)
            }
        );
        assert_eq!(
            HoldReason::parse(
                "price is €79.00, not the discount price €85.00: changed by someone else since; not overwritten"
            ),
            HoldReason::OutsideEdit
        );
        assert_eq!(
            HoldReason::parse("a supplier asked us to wait"),
            HoldReason::Other("a supplier asked us to wait".into())
        );
    }

    #[test]
    fn a_rate_limit_in_other_words_keeps_its_text() {
        let r = HoldReason::parse("rate limit: too many today");
        assert_eq!(
            r,
            HoldReason::RateLimit {
                limit: "too many today".into(),
                used: None,
                max: None,
                resets_on: None
            }
        );
        assert_eq!(r.group().to_string(), "Rate limit — too many today");
    }
}
