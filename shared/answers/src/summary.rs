//! A finished cycle's typed summary in the operator's words — one sentence set the answers
//! engine, the CLI, the dashboard and the Slack digest all print, every figure from the summary.

use crate::human::{pct, ratio};
use otto_core::report::{
    CsSummary, CycleSummary, DiscountSummary, MorningSummary, ResearchSummary,
};
use std::collections::BTreeMap;
use std::fmt::Display;

/// The summary as sentences (refs the caller cites are named, never invented).
pub fn summary_text(s: &CycleSummary) -> String {
    match s {
        CycleSummary::Morning(m) => morning(m),
        CycleSummary::Research(r) => research(r),
        CycleSummary::Discount(d) => discount(d),
        CycleSummary::Cs(c) => cs(c),
    }
}

/// "89 KEEP, 12 DRAFT": largest first, then by name; "none" when empty.
pub fn counts<K: Display, N: Copy + Into<u64>>(m: &BTreeMap<K, N>) -> String {
    let mut v: Vec<(String, u64)> = m
        .iter()
        .map(|(k, n)| (k.to_string(), (*n).into()))
        .filter(|(_, n)| *n > 0)
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if v.is_empty() {
        return "none".into();
    }
    v.iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn morning(s: &MorningSummary) -> String {
    let mut parts = vec![format!("{} decision rows", s.decision_rows)];
    parts.push(format!("{} ad moves", s.ad_moves));
    if let Some(bp) = s.judge_agreement_bp.filter(|_| s.ad_proposals > 0) {
        parts.push(format!(
            "judge agreement at {} ({} of {} proposals)",
            pct(i64::from(bp)),
            s.ad_agreed,
            s.ad_proposals
        ));
    }
    if let (Some(a), Some(b)) = (s.store_mer_before_bp, s.store_mer_after_bp) {
        parts.push(format!("store MER {} → {}", ratio(a), ratio(b)));
    }
    if let (Some(a), Some(b)) = (s.account_roas_before_bp, s.account_roas_after_bp) {
        parts.push(format!("ad ROAS {} → {}", ratio(a), ratio(b)));
    }
    let mut out = parts.join(", ") + ".";
    if !s.by_action.is_empty() {
        out.push_str(&format!(" By action: {}.", counts(&s.by_action)));
    }
    if !s.by_status.is_empty() {
        out.push_str(&format!(" By status: {}.", counts(&s.by_status)));
    }
    out
}

fn research(s: &ResearchSummary) -> String {
    let mut out = format!(
        "{} new candidates queued for review, {} seen before.",
        s.queued_new, s.seen_before
    );
    if !s.top.is_empty() {
        let top: Vec<String> = s.top.iter().map(|r| r.to_string()).collect();
        out.push_str(&format!(" Best first: {}.", top.join(", ")));
    }
    out
}

fn discount(s: &DiscountSummary) -> String {
    let mut out = format!(
        "{} discount tests opened or planned ({}), {} kept back by the caps, {} skipped by the margin-tier gate.",
        s.opened_or_planned,
        counts(&s.by_status),
        s.kept_by_caps,
        s.skipped
    );
    let restored: u32 = s.restores_by_status.values().sum();
    if restored > 0 {
        out.push_str(&format!(
            " {restored} windows restored ({}).",
            counts(&s.restores_by_status)
        ));
    }
    out
}

fn cs(s: &CsSummary) -> String {
    format!(
        "{} open threads, {} evaluated ({}); {} replies sent.",
        s.threads,
        s.evaluated,
        counts(&s.by_verdict),
        s.sent
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use otto_core::{Action, RowStatus};

    #[test]
    fn a_morning_reads_in_human_units() {
        let s = CycleSummary::Morning(MorningSummary {
            decision_rows: 142,
            by_action: BTreeMap::from([(Action::Keep, 100), (Action::Draft, 42)]),
            by_status: BTreeMap::from([(RowStatus::Applied, 42), (RowStatus::Held, 0)]),
            ad_proposals: 50,
            ad_agreed: 48,
            ad_moves: 47,
            judge_agreement_bp: Some(9_600),
            store_mer_before_bp: Some(41_000),
            store_mer_after_bp: Some(48_000),
            account_roas_before_bp: Some(52_000),
            account_roas_after_bp: Some(49_000),
            ..MorningSummary::default()
        });
        let t = summary_text(&s);
        assert!(t.starts_with("142 decision rows, 47 ad moves, judge agreement at 96% (48 of 50 proposals), store MER 4.1 → 4.8, ad ROAS 5.2 → 4.9."), "{t}");
        assert!(t.contains("By action: 100 KEEP, 42 DRAFT."), "{t}");
        assert!(t.contains("By status: 42 APPLIED."), "{t}");
        assert!(!t.contains("bp"), "{t}");
    }
}
