//! Settings an operator controls per store: the kill switch and the policy limits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// When on, every move the executor would apply becomes a HELD row instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct KillSwitch {
    pub on: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The operator_log row of the flip that set this state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flip: Option<crate::audit::RowRef>,
}

/// A margin tier: SKUs whose margin at full price is at least `min_margin_bp` belong to it (the
/// highest matching tier wins); a discount must leave at least `floor_bp` of margin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarginTier {
    pub name: String,
    pub min_margin_bp: i64,
    pub floor_bp: i64,
}

impl MarginTier {
    pub fn defaults() -> Vec<MarginTier> {
        vec![
            MarginTier {
                name: "A".into(),
                min_margin_bp: 6_000,
                floor_bp: 4_000,
            },
            MarginTier {
                name: "B".into(),
                min_margin_bp: 4_000,
                floor_bp: 2_500,
            },
            MarginTier {
                name: "C".into(),
                min_margin_bp: 0,
                floor_bp: 1_500,
            },
        ]
    }
}

/// The per-store policy. Every limit has a default an operator can override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Campaign budget changes allowed per store per ISO week.
    pub budget_changes_per_week: u32,
    /// New discount tests per store per day.
    pub discount_tests_per_day: u32,
    /// Largest budget change in one step, in basis points of the current budget.
    pub max_budget_step_bp: u32,
    /// Days before the same campaign's budget may move again.
    pub budget_cooldown_days: u32,
    /// Default discount of a test, basis points.
    pub discount_percent_bp: u32,
    /// Length of a discount window in days.
    pub discount_window_days: u32,
    /// Margin tiers: a discount may never push a SKU's margin below its tier's floor.
    pub margin_tiers: Vec<MarginTier>,
    /// Catalog moves (status changes) the executor may apply per store day.
    pub catalog_moves_per_day: u32,
    /// Phase 2: apply moves instead of logging dry-run rows.
    pub apply: bool,
    /// Most of the catalog (active variants) on a discount test at once, basis points.
    pub discount_catalog_share_bp: u32,
    /// Days after a discount test's restore before the same SKU may be discounted again (also the
    /// EU Omnibus 30-day prior-price rule).
    pub discount_cooldown_days: u32,
    /// Morning cycles after a test's restore that must show no lift before a LOSER is drafted.
    pub no_lift_cycles_after_test: u32,
    /// Cycles without lift before a MID/LOSER becomes a discount candidate
    /// (OPTIMIZE_CYCLE_FAILED).
    pub no_lift_cycles_for_discount: u32,
    /// Growth of sales (last 7 mature days vs the 7 before) that counts as lift, bp.
    pub lift_min_bp: i64,
    /// Least margin at full price to publish a draft, bp.
    pub publish_min_margin_bp: i64,
    /// Days after Otto drafted a product before it may publish it again.
    pub republish_cooldown_days: u32,
    /// Share of a variant's store revenue that must come without an ad click (store sales from
    /// orders minus what the ads claim) for it to count as selling on its own, bp.
    pub own_sales_min_share_bp: u32,
    /// Days of stock (at the last 28 days' pace) a WINNER needs before more ad spend is advised.
    pub scale_min_cover_days: u32,
    /// Days of Otto's applied rows read to tell its own writes from outside edits.
    pub own_writes_lookback_days: u32,
    /// Held moves expire when a cycle of their kind runs more than this many days after theirs
    /// (0: the next one).
    pub held_expire_after_days: u32,
    /// At most one status flip (draft, publish, seasonal revival) per product per this many
    /// days, counted from Otto's own applied status moves of the product, from any cycle.
    pub status_flip_min_days: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            budget_changes_per_week: 8,
            discount_tests_per_day: 10,
            max_budget_step_bp: 2_000,
            budget_cooldown_days: 3,
            discount_percent_bp: 1_500,
            discount_window_days: 14,
            catalog_moves_per_day: 50,
            margin_tiers: MarginTier::defaults(),
            apply: false,
            discount_catalog_share_bp: 1_000,
            discount_cooldown_days: 30,
            no_lift_cycles_after_test: 2,
            no_lift_cycles_for_discount: 2,
            lift_min_bp: 500,
            publish_min_margin_bp: 3_000,
            republish_cooldown_days: 30,
            own_sales_min_share_bp: 2_500,
            scale_min_cover_days: 14,
            own_writes_lookback_days: 3,
            held_expire_after_days: 0,
            status_flip_min_days: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_settings_without_the_new_fields_still_read() {
        let old = serde_json::json!({"budget_changes_per_week": 5, "apply": true});
        let p: Policy = serde_json::from_value(old).unwrap();
        assert_eq!(p.budget_changes_per_week, 5);
        assert_eq!(p.discount_catalog_share_bp, 1_000);
        assert_eq!(p.discount_cooldown_days, 30);
        assert_eq!(p.no_lift_cycles_after_test, 2);
        assert_eq!(p.status_flip_min_days, 30);
    }
}
