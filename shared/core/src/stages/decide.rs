//! decision_engine: exactly one Action per SKU, with its trigger, its reasoning, the figures that
//! decided it and the candidate actions that lost (and why).
//!
//! Rules, in order:
//! 1. A variant someone else edited since the last cycle (Shopify `updatedAt` newer than the last
//!    sync, and not Otto's own write) is skipped: KEEP, with the reason — never overwritten.
//! 2. DRAFT variants: REVIVE_SEASONAL when a `season:*` tag is in season and stock is on hand;
//!    PUBLISH when stock is on hand, the unit cost is known, the margin clears the floor and Otto
//!    did not draft it itself within the cool-off; otherwise KEEP.
//! 3. ACTIVE variants: out of stock → KEEP; WINNER → SCALE_WINNER; MID/LOSER without lift for
//!    `streak_for_discount` cycles → DISCOUNT_TEST (trigger OPTIMIZE_CYCLE_FAILED), unless a
//!    discount test already ran without lift — then a LOSER is drafted (DRAFT, persistent loser);
//!    otherwise KEEP.

use super::classify::Classified;
use crate::action::{Action, Classification};
use crate::metrics::{ProductStatus, Variant};
use crate::time::StoreDay;
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRules {
    /// Growth of conversion value (last 7 days vs the 7 before) that counts as lift, bp.
    pub lift_min_bp: i64,
    /// Cycles without lift before OPTIMIZE_CYCLE_FAILED.
    pub streak_for_discount: u32,
    /// Least margin ((price − cost) ÷ price) to publish a draft, bp.
    pub publish_min_margin_bp: i64,
    /// Days after Otto drafted a variant before it may publish it again.
    pub redraft_cooldown_days: i64,
}

impl Default for DecisionRules {
    fn default() -> Self {
        DecisionRules {
            lift_min_bp: 500,
            streak_for_discount: 2,
            publish_min_margin_bp: 3_000,
            redraft_cooldown_days: 14,
        }
    }
}

/// What a SKU carries from one cycle to the next (stored in its decision row's figures).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carry {
    pub no_lift_streak: u32,
    pub discount_tested: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drafted_by_otto_on: Option<StoreDay>,
}

/// Conversion value in the last 7 days vs the 7 before (provisional days excluded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lift {
    pub recent_value_micros: i64,
    pub prior_value_micros: i64,
}

impl Lift {
    /// Growth in bp; None when there is nothing to compare against.
    pub fn growth_bp(&self) -> Option<i64> {
        (self.prior_value_micros > 0).then(|| {
            ((i128::from(self.recent_value_micros) - i128::from(self.prior_value_micros)) * 10_000
                / i128::from(self.prior_value_micros)) as i64
        })
    }
    pub fn lifted(&self, rules: &DecisionRules) -> bool {
        match self.growth_bp() {
            Some(g) => g >= rules.lift_min_bp,
            None => self.recent_value_micros > 0,
        }
    }
}

pub struct SkuFacts<'a> {
    pub variant: &'a Variant,
    pub classified: &'a Classified,
    pub lift: Lift,
    pub carry: Carry,
    pub today: StoreDay,
    /// When the previous cycle synced the catalog (None on the first cycle).
    pub last_sync_at: Option<DateTime<Utc>>,
    /// The `updatedAt` Otto's own last write left on this variant, if any.
    pub otto_wrote_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    pub action: Action,
    pub why_not: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub action: Action,
    pub trigger: Option<Action>,
    pub reasoning: String,
    /// Set when the SKU is skipped (external edit): the row is logged SKIPPED with this reason.
    pub skip: Option<String>,
    pub figures: BTreeMap<String, Value>,
    pub candidates: Vec<Candidate>,
    pub carry: Carry,
}

fn in_season(tags: &[String], day: StoreDay) -> Option<&str> {
    let month = day.date().month();
    tags.iter().find_map(|t| match t.as_str() {
        "season:summer" if (5..=8).contains(&month) => Some("summer"),
        "season:winter" if matches!(month, 11 | 12 | 1 | 2) => Some("winter"),
        _ => None,
    })
}

fn margin_bp(v: &Variant) -> Option<i64> {
    let cost = v.unit_cost?;
    if v.price.micros() <= 0 || cost.currency() != v.price.currency() {
        return None;
    }
    Some(
        ((i128::from(v.price.micros()) - i128::from(cost.micros())) * 10_000
            / i128::from(v.price.micros())) as i64,
    )
}

fn no(action: Action, why: impl Into<String>) -> Candidate {
    Candidate {
        action,
        why_not: why.into(),
    }
}

/// Decides the one action for a SKU.
pub fn decide(f: &SkuFacts<'_>, rules: &DecisionRules) -> Decision {
    let v = f.variant;
    let c = f.classified;
    let mut figures = BTreeMap::from([
        ("classification".to_string(), json!(c.class.as_str())),
        ("classification_reason".to_string(), json!(c.reason)),
        ("roas_bp".to_string(), json!(c.roas_bp)),
        ("impressions_28d".to_string(), json!(c.impressions)),
        (
            "spend_28d".to_string(),
            json!(crate::Money::from_micros(c.cost_micros, v.price.currency())),
        ),
        (
            "value_28d".to_string(),
            json!(crate::Money::from_micros(
                c.value_micros,
                v.price.currency()
            )),
        ),
        ("price".to_string(), json!(v.price)),
        ("inventory".to_string(), json!(v.inventory)),
        ("status".to_string(), json!(v.status)),
        ("lift_growth_bp".to_string(), json!(f.lift.growth_bp())),
    ]);
    if let Some(m) = margin_bp(v) {
        figures.insert("margin_bp".into(), json!(m));
    }
    let mut carry = f.carry.clone();
    let lifted = f.lift.lifted(rules);
    let done = |action, trigger, reasoning: String, candidates, carry, figures, skip| Decision {
        action,
        trigger,
        reasoning,
        skip,
        figures,
        candidates,
        carry,
    };

    // 1. External edits win over everything.
    if let Some(last) = f.last_sync_at {
        let ours = f.otto_wrote_at.is_some_and(|o| o >= v.updated_at);
        if v.updated_at > last && !ours {
            let why = format!(
                "edited in Shopify at {} after the last sync at {}; left alone",
                v.updated_at.to_rfc3339(),
                last.to_rfc3339()
            );
            return done(
                Action::Keep,
                None,
                why.clone(),
                vec![],
                carry,
                figures,
                Some(why),
            );
        }
    }

    // 2. Drafts.
    if v.status != ProductStatus::Active {
        if v.inventory <= 0 {
            return done(
                Action::Keep,
                None,
                "draft without stock".into(),
                vec![
                    no(Action::Publish, "no stock"),
                    no(Action::ReviveSeasonal, "no stock"),
                ],
                carry,
                figures,
                None,
            );
        }
        if let Some(season) = in_season(&v.tags, f.today) {
            return done(
                Action::ReviveSeasonal,
                None,
                format!(
                    "{season} season has started and {} units are on hand",
                    v.inventory
                ),
                vec![no(Action::Publish, "seasonal revival covers it")],
                carry,
                figures,
                None,
            );
        }
        let recently_drafted = carry
            .drafted_by_otto_on
            .is_some_and(|d| f.today.days_since(d) < rules.redraft_cooldown_days);
        return match margin_bp(v) {
            Some(m) if m >= rules.publish_min_margin_bp && !recently_drafted => done(
                Action::Publish,
                None,
                format!(
                    "draft with {} units on hand and a {m}bp margin (floor {}bp)",
                    v.inventory, rules.publish_min_margin_bp
                ),
                vec![no(Action::ReviveSeasonal, "not a seasonal item in season")],
                carry,
                figures,
                None,
            ),
            Some(m) => done(
                Action::Keep,
                None,
                if recently_drafted {
                    format!(
                        "Otto drafted it on {}; cool-off of {} days",
                        carry
                            .drafted_by_otto_on
                            .map(|d| d.to_string())
                            .unwrap_or_default(),
                        rules.redraft_cooldown_days
                    )
                } else {
                    format!(
                        "margin {m}bp below the publish floor {}bp",
                        rules.publish_min_margin_bp
                    )
                },
                vec![no(Action::Publish, "margin or cool-off")],
                carry,
                figures,
                None,
            ),
            None => done(
                Action::Keep,
                None,
                "draft without a known unit cost: margin cannot be checked".into(),
                vec![no(Action::Publish, "unit cost unknown")],
                carry,
                figures,
                None,
            ),
        };
    }

    // 3. Active variants.
    if v.inventory <= 0 {
        return done(
            Action::Keep,
            None,
            "out of stock".into(),
            vec![
                no(Action::ScaleWinner, "nothing to sell"),
                no(Action::Draft, "stock may return"),
            ],
            carry,
            figures,
            None,
        );
    }
    carry.no_lift_streak = if lifted { 0 } else { carry.no_lift_streak + 1 };
    figures.insert("no_lift_streak".into(), json!(carry.no_lift_streak));
    match c.class {
        Classification::Winner => {
            carry.no_lift_streak = 0;
            figures.insert("no_lift_streak".into(), json!(0));
            done(
                Action::ScaleWinner,
                None,
                format!("WINNER: {}", c.reason),
                vec![
                    no(Action::DiscountTest, "a winner needs no discount"),
                    no(Action::Keep, "headroom to scale"),
                ],
                carry,
                figures,
                None,
            )
        }
        Classification::InsufficientData => done(
            Action::Keep,
            None,
            format!("INSUFFICIENT_DATA: {}", c.reason),
            vec![
                no(Action::Draft, "too little data to judge"),
                no(Action::ScaleWinner, "too little data to judge"),
            ],
            carry,
            figures,
            None,
        ),
        Classification::Mid | Classification::Loser => {
            if carry.no_lift_streak < rules.streak_for_discount {
                return done(
                    Action::Keep,
                    None,
                    format!(
                        "{}: {} cycle(s) without lift of {} needed",
                        c.class, carry.no_lift_streak, rules.streak_for_discount
                    ),
                    vec![no(Action::DiscountTest, "not yet two cycles without lift")],
                    carry,
                    figures,
                    None,
                );
            }
            if carry.discount_tested && c.class == Classification::Loser {
                carry.drafted_by_otto_on = Some(f.today);
                return done(
                    Action::Draft,
                    Some(Action::OptimizeCycleFailed),
                    format!(
                        "persistent LOSER: a discount test ran and {} cycles passed without lift",
                        carry.no_lift_streak
                    ),
                    vec![no(Action::DiscountTest, "already tested without lift")],
                    carry,
                    figures,
                    None,
                );
            }
            carry.discount_tested = true;
            done(
                Action::DiscountTest,
                Some(Action::OptimizeCycleFailed),
                format!(
                    "{}: {} cycles without lift (OPTIMIZE_CYCLE_FAILED)",
                    c.class, carry.no_lift_streak
                ),
                vec![
                    no(Action::Draft, "try a discount before drafting"),
                    no(Action::Keep, "two cycles without lift"),
                ],
                carry,
                figures,
                None,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::Sku;
    use crate::money::{Currency, Money};

    fn variant(status: ProductStatus, inventory: i64, tags: &[&str]) -> Variant {
        Variant {
            sku: Sku::new("SKU-1").unwrap(),
            variant_id: "gid://shopify/ProductVariant/1".into(),
            product_id: "gid://shopify/Product/1".into(),
            title: "Linen Throw".into(),
            price: Money::parse("40.00", Currency::EUR).unwrap(),
            compare_at_price: None,
            unit_cost: Some(Money::parse("12.00", Currency::EUR).unwrap()),
            status,
            inventory,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            updated_at: "2026-11-20T00:00:00Z".parse().unwrap(),
        }
    }

    fn classified(class: Classification) -> Classified {
        Classified {
            sku: Sku::new("SKU-1").unwrap(),
            class,
            roas_bp: Some(20_000),
            impressions: 1000,
            cost_micros: 1,
            value_micros: 2,
            active_days: 20,
            reason: "r".into(),
        }
    }

    fn facts<'a>(v: &'a Variant, c: &'a Classified, carry: Carry, lift: Lift) -> SkuFacts<'a> {
        SkuFacts {
            variant: v,
            classified: c,
            lift,
            carry,
            today: StoreDay::parse("2026-11-24").unwrap(),
            last_sync_at: Some("2026-11-23T05:00:00Z".parse().unwrap()),
            otto_wrote_at: None,
        }
    }

    const FLAT: Lift = Lift {
        recent_value_micros: 100,
        prior_value_micros: 100,
    };
    const UP: Lift = Lift {
        recent_value_micros: 200,
        prior_value_micros: 100,
    };

    #[test]
    fn winners_scale_and_losers_walk_the_ladder() {
        let v = variant(ProductStatus::Active, 10, &[]);
        let r = DecisionRules::default();
        assert_eq!(
            decide(
                &facts(
                    &v,
                    &classified(Classification::Winner),
                    Carry::default(),
                    FLAT
                ),
                &r
            )
            .action,
            Action::ScaleWinner
        );
        let loser = classified(Classification::Loser);
        let d1 = decide(&facts(&v, &loser, Carry::default(), FLAT), &r);
        assert_eq!((d1.action, d1.carry.no_lift_streak), (Action::Keep, 1));
        let d2 = decide(&facts(&v, &loser, d1.carry.clone(), FLAT), &r);
        assert_eq!(
            (d2.action, d2.trigger),
            (Action::DiscountTest, Some(Action::OptimizeCycleFailed))
        );
        assert!(
            d2.candidates.iter().any(|c| c.action == Action::Draft),
            "losing candidates recorded"
        );
        let d3 = decide(&facts(&v, &loser, d2.carry.clone(), FLAT), &r);
        assert_eq!(
            d3.action,
            Action::Draft,
            "persistent loser after a failed discount test"
        );
        assert_eq!(
            d3.carry.drafted_by_otto_on,
            Some(StoreDay::parse("2026-11-24").unwrap())
        );
        // Lift resets the streak.
        let lifted = decide(&facts(&v, &loser, d1.carry.clone(), UP), &r);
        assert_eq!(
            (lifted.action, lifted.carry.no_lift_streak),
            (Action::Keep, 0)
        );
    }

    #[test]
    fn drafts_publish_revive_or_wait() {
        let r = DecisionRules::default();
        let c = classified(Classification::InsufficientData);
        let draft = variant(ProductStatus::Draft, 5, &[]);
        assert_eq!(
            decide(&facts(&draft, &c, Carry::default(), FLAT), &r).action,
            Action::Publish
        );
        let winter = variant(ProductStatus::Draft, 5, &["season:winter"]);
        assert_eq!(
            decide(&facts(&winter, &c, Carry::default(), FLAT), &r).action,
            Action::ReviveSeasonal
        );
        let summer = variant(ProductStatus::Draft, 5, &["season:summer"]);
        assert_eq!(
            decide(&facts(&summer, &c, Carry::default(), FLAT), &r).action,
            Action::Publish
        );
        let empty = variant(ProductStatus::Draft, 0, &["season:winter"]);
        assert_eq!(
            decide(&facts(&empty, &c, Carry::default(), FLAT), &r).action,
            Action::Keep
        );
        let recently = Carry {
            drafted_by_otto_on: Some(StoreDay::parse("2026-11-20").unwrap()),
            ..Default::default()
        };
        assert_eq!(
            decide(&facts(&draft, &c, recently, FLAT), &r).action,
            Action::Keep,
            "cool-off after Otto drafted it"
        );
        let mut thin = variant(ProductStatus::Draft, 5, &[]);
        thin.unit_cost = Some(Money::parse("35.00", Currency::EUR).unwrap());
        assert_eq!(
            decide(&facts(&thin, &c, Carry::default(), FLAT), &r).action,
            Action::Keep,
            "12.5% margin < 30% floor"
        );
    }

    #[test]
    fn external_edits_are_skipped_not_overwritten() {
        let r = DecisionRules::default();
        let mut v = variant(ProductStatus::Active, 10, &[]);
        v.updated_at = "2026-11-23T09:14:00Z".parse().unwrap();
        let c = classified(Classification::Winner);
        let d = decide(&facts(&v, &c, Carry::default(), FLAT), &r);
        assert_eq!(d.action, Action::Keep);
        assert!(d
            .skip
            .as_deref()
            .unwrap_or("")
            .contains("edited in Shopify"));
        // Otto's own write is not an external edit.
        let mut f = facts(&v, &c, Carry::default(), FLAT);
        f.otto_wrote_at = Some(v.updated_at);
        assert_eq!(decide(&f, &r).action, Action::ScaleWinner);
        // First cycle: nothing to compare with.
        let mut first = facts(&v, &c, Carry::default(), FLAT);
        first.last_sync_at = None;
        assert!(decide(&first, &r).skip.is_none());
    }

    #[test]
    fn lift_edges() {
        let r = DecisionRules::default();
        assert!(
            Lift {
                recent_value_micros: 105,
                prior_value_micros: 100
            }
            .lifted(&r),
            "exactly +5%"
        );
        assert!(!Lift {
            recent_value_micros: 104,
            prior_value_micros: 100
        }
        .lifted(&r));
        assert!(Lift {
            recent_value_micros: 1,
            prior_value_micros: 0
        }
        .lifted(&r));
        assert!(
            !Lift {
                recent_value_micros: 0,
                prior_value_micros: 0
            }
            .lifted(&r),
            "all-zero is no lift"
        );
    }
}
