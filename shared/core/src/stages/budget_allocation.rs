//! How the week's budget changes (policy `budget_changes_per_week`, 8 by default) are shared
//! between the campaign-level planner and the SKU-driven asks ([`super::plan`]).
//!
//! 1. **One move per campaign.** The campaign-level proposal and its SKUs' ask are merged:
//!    pointing the same way, the campaign's move stands and cites the SKUs (basis
//!    `campaign_and_skus`, evidence the whole campaign); pointing opposite ways, the campaign's
//!    own figures decide and the SKUs' ask is kept in its figures as overruled; alone, either
//!    stands.
//! 2. **Most money first.** A cycle's proposals are judged in order of their priority weight:
//!    the money the move redirects a day (|budget after − budget before|) times the share of
//!    the campaign's spend its evidence covers (`evidence_bp`). The weight ranks moves against
//!    each other; it is not a forecast of what a move earns. When the weekly limit binds,
//!    the moves that redirect the most money on the broadest evidence get the changes left, not
//!    whichever campaign the account lists first. Ties: larger cuts before raises (a cut stops
//!    spend at once, a raise only buys dearer clicks — diminishing returns), then campaign id.

use super::plan::{Basis, Proposal};
use serde_json::json;

/// One campaign's move from its two planners' proposals (see the module doc).
pub fn merge(campaign: Option<Proposal>, skus: Option<Proposal>) -> Option<Proposal> {
    match (campaign, skus) {
        (Some(mut c), Some(s)) => {
            if c.step_bp.signum() == s.step_bp.signum() {
                c.basis = Basis::CampaignAndSkus;
                c.reasoning = format!("{}; its SKUs agree — {}", c.reasoning, s.reasoning);
            } else {
                c.figures.insert(
                    "sku_ask_overruled".into(),
                    json!({"step_bp": s.step_bp, "reasoning": s.reasoning}),
                );
            }
            Some(c)
        }
        (c, s) => c.or(s),
    }
}

/// A move's priority weight: money redirected a day × the share of the campaign's spend its
/// evidence covers, in micros of the budget's currency (see the module doc). A ranking weight,
/// not a forecast of profit.
pub fn priority_weight_micros(p: &Proposal) -> i64 {
    let moved = (p.budget_after.micros() - p.budget_before.micros()).abs();
    (i128::from(moved) * i128::from(p.evidence_bp.clamp(0, 10_000)) / 10_000) as i64
}

/// The order in which a cycle's proposals are judged: highest priority weight first.
pub fn rank<T>(mut proposals: Vec<(T, Proposal)>) -> Vec<(T, Proposal)> {
    proposals.sort_by(|(_, a), (_, b)| {
        priority_weight_micros(b)
            .cmp(&priority_weight_micros(a))
            .then(a.step_bp.cmp(&b.step_bp))
            .then(a.campaign_id.cmp(&b.campaign_id))
    });
    proposals
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::money::{Currency, Money};
    use std::collections::BTreeMap;

    fn proposal(id: &str, before: &str, step_bp: i64, basis: Basis, evidence_bp: i64) -> Proposal {
        let b = Money::parse(before, Currency::EUR).unwrap();
        Proposal {
            campaign_id: id.into(),
            campaign: format!("EU/{id}"),
            action: Action::AdjustBudget,
            step_bp,
            budget_before: b,
            budget_after: b.scale_bp(10_000 + step_bp).unwrap().rounded(),
            basis,
            evidence_bp,
            reasoning: format!("{id} {step_bp}"),
            figures: BTreeMap::new(),
        }
    }

    #[test]
    fn a_campaigns_two_asks_become_one_move() {
        let c = proposal("1", "100.00", -1_000, Basis::Campaign, 10_000);
        let s = proposal("1", "100.00", -1_000, Basis::Skus, 6_000);
        let both = merge(Some(c.clone()), Some(s.clone())).unwrap();
        assert_eq!((both.basis, both.step_bp), (Basis::CampaignAndSkus, -1_000));
        assert!(both.reasoning.contains("its SKUs agree — 1 -1000"));
        let up = proposal("1", "100.00", 1_000, Basis::Skus, 6_000);
        let overruled = merge(Some(c.clone()), Some(up)).unwrap();
        assert_eq!(
            (overruled.basis, overruled.step_bp),
            (Basis::Campaign, -1_000)
        );
        assert_eq!(overruled.figures["sku_ask_overruled"]["step_bp"], 1_000);
        assert_eq!(merge(None, Some(s.clone())), Some(s));
        assert_eq!(merge(Some(c.clone()), None), Some(c));
        assert_eq!(merge(None, None), None);
    }

    #[test]
    fn the_weeks_changes_go_to_the_moves_worth_most_first() {
        let ranked = rank(vec![
            // €500 × 10 % = €50 a day on the whole campaign's evidence: €50.
            (
                (),
                proposal("small", "500.00", 1_000, Basis::Campaign, 10_000),
            ),
            // €2 000 × 10 % on SKUs carrying 40 % net of the spend: €80.
            ((), proposal("sku", "2000.00", -1_000, Basis::Skus, 4_000)),
            // €800 × 18 % on the campaign: €144.
            (
                (),
                proposal("big", "800.00", 1_800, Basis::Campaign, 10_000),
            ),
            // Same value as "small", a cut: before it.
            (
                (),
                proposal("cut", "500.00", -1_000, Basis::Campaign, 10_000),
            ),
        ]);
        let order: Vec<_> = ranked.iter().map(|(_, p)| p.campaign_id.as_str()).collect();
        assert_eq!(order, ["big", "sku", "cut", "small"]);
        assert_eq!(priority_weight_micros(&ranked[1].1), 80_000_000);
    }
}
