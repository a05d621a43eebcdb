//! Typed moves: what a row asks the executor to change, apart from the row's `figures` (which
//! explain *why*). One [`Move`] per row that moves something; the executor reads nothing else to
//! know what to set, what it expects to find, and what it restores.
//!
//! An [`Attempt`] owns an APPLYING row: only the attempt that moved the row to APPLYING — or
//! anyone after that attempt expired — may resolve it, so two callers can never both write to
//! the vendor for the same row.

use crate::audit::{ReversalOp, RowRef};
use crate::error::CoreError;
use crate::ids::Sku;
use crate::metrics::ProductStatus;
use crate::money::Money;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// One change to make at a vendor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Move {
    /// Shopify product status of the product that sells `sku` (publish / unpublish).
    ProductStatus { sku: Sku, to: ProductStatus },
    /// Shopify variant price: expects `expected_price` now, sets `price` / `compare_at`.
    /// `restores` names the ON_DISCOUNT row whose window this move closes (a PRICE_RESTORE).
    VariantPrice {
        sku: Sku,
        expected_price: Money,
        price: Money,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        compare_at: Option<Money>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restores: Option<RowRef>,
    },
    /// Google Ads campaign budget: expects `expected` now (when known; another amount means
    /// someone changed it since the move was decided), sets the daily `amount`.
    CampaignBudget {
        budget_resource: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expected: Option<Money>,
        amount: Money,
    },
    /// A customer-service reply: sends the judged `draft_version` of the thread's draft.
    CsReply {
        thread_id: String,
        draft_version: String,
    },
    /// An operator's undo of the APPLIED row `reverts`: `undo` is that row's stored reversal op
    /// as a move (expecting what the original set), made by the same executor as any move.
    Revert { reverts: RowRef, undo: Box<Move> },
}

impl Move {
    /// The kind, as rows and rate-limit messages name it.
    pub fn kind(&self) -> MoveKind {
        match self {
            Move::ProductStatus { .. } => MoveKind::ProductStatus,
            Move::VariantPrice {
                restores: Some(_), ..
            } => MoveKind::PriceRestore,
            Move::VariantPrice { .. } => MoveKind::Discount,
            Move::CampaignBudget { .. } => MoveKind::Budget,
            Move::CsReply { .. } => MoveKind::CsReply,
            // An undo counts as the kind of change it makes (a catalog move, a budget change …).
            Move::Revert { undo, .. } => undo.kind(),
        }
    }

    /// What the vendor is asked to change: the move itself, or the change an undo makes.
    pub fn target(&self) -> &Move {
        match self {
            Move::Revert { undo, .. } => undo.target(),
            m => m,
        }
    }

    /// The row an undo reverts, when this move is one.
    pub fn reverts(&self) -> Option<RowRef> {
        match self {
            Move::Revert { reverts, .. } => Some(*reverts),
            _ => None,
        }
    }

    /// The undo of `self` (an APPLIED move of row `original`) from the reversal op stored before
    /// it was made: it expects what `self` set and sets what was there before. `closes_window`:
    /// the original opened a discount window, which the undo closes (as a restore would).
    pub fn undo_of(
        &self,
        original: RowRef,
        op: &ReversalOp,
        closes_window: bool,
    ) -> Result<Move, CoreError> {
        let bad = |why: String| CoreError::invalid("undo", format!("{original}: {why}"));
        let undo = match (self, op) {
            (Move::ProductStatus { sku, .. }, ReversalOp::ProductStatus { status, .. }) => {
                Move::ProductStatus {
                    sku: sku.clone(),
                    to: shop_status(status).ok_or_else(|| {
                        bad(format!("stored status {status:?} is not a product status"))
                    })?,
                }
            }
            (
                Move::VariantPrice { sku, price, .. },
                ReversalOp::VariantPrice {
                    price: before,
                    compare_at_price,
                    ..
                },
            ) => Move::VariantPrice {
                sku: sku.clone(),
                expected_price: *price,
                price: *before,
                compare_at: *compare_at_price,
                restores: closes_window.then_some(original),
            },
            (
                Move::CampaignBudget {
                    budget_resource,
                    amount,
                    ..
                },
                ReversalOp::CampaignBudget { amount: before, .. },
            ) => Move::CampaignBudget {
                budget_resource: budget_resource.clone(),
                expected: Some(*amount),
                amount: *before,
            },
            (Move::CsReply { .. }, _) => return Err(bad("a sent reply cannot be unsent".into())),
            (Move::Revert { .. }, _) => {
                return Err(bad(
                    "it is an undo itself; make the move again instead".into()
                ))
            }
            _ => {
                return Err(bad(
                    "its stored reversal op is for another kind of move".into()
                ))
            }
        };
        Ok(Move::Revert {
            reverts: original,
            undo: Box::new(undo),
        })
    }

    /// Whether a vendor that already shows this move's target means there is nothing to do
    /// (the row is SKIPPED, not counted against any limit) rather than a change to confirm: true
    /// for a forward status, price or budget move. False for an undo or a price restore, whose
    /// bookkeeping (the original REVERTED, the discount window closed) follows either way, and
    /// for a CS reply, whose copy on the thread can only be this row's own send.
    pub fn skips_at_target(&self) -> bool {
        matches!(
            self,
            Move::ProductStatus { .. }
                | Move::CampaignBudget { .. }
                | Move::VariantPrice { restores: None, .. }
        )
    }

    /// Whether the vendor's state `now` (read as a reversal op is) is what this move sets.
    pub fn is_set_in(&self, now: &ReversalOp) -> bool {
        match (self.target(), now) {
            (Move::ProductStatus { to, .. }, ReversalOp::ProductStatus { status, .. }) => {
                shop_status(status) == Some(*to)
            }
            (
                Move::VariantPrice {
                    price, compare_at, ..
                },
                ReversalOp::VariantPrice {
                    price: p,
                    compare_at_price: c,
                    ..
                },
            ) => {
                p.rounded() == price.rounded()
                    && c.map(|c| c.rounded()) == compare_at.map(|c| c.rounded())
            }
            (Move::CampaignBudget { amount, .. }, ReversalOp::CampaignBudget { amount: a, .. }) => {
                a.rounded() == amount.rounded()
            }
            _ => false,
        }
    }
}

/// A stored reversal op's status name (`ACTIVE`, `DRAFT`, `ARCHIVED`) as the typed status.
fn shop_status(name: &str) -> Option<ProductStatus> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

/// What a move is, for gates and words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveKind {
    ProductStatus,
    Discount,
    PriceRestore,
    Budget,
    CsReply,
}

/// Ownership of an APPLYING row by one executor attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// Random id (a ULID) of the attempt.
    pub id: String,
    /// After this instant anyone may take the row over (and resolve it by reading the vendor).
    pub until: DateTime<Utc>,
    /// Who made it: a stage chunk (`{cycle}|{stage}|{chunk}`), an operator's release … A later
    /// attempt of the same owner may take the row over at once: a stage chunk runs one delivery
    /// at a time (its idempotency lease), so an earlier attempt of it is a dead one. Empty: none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub owner: String,
}

impl Attempt {
    pub fn new(now: DateTime<Utc>, ttl: Duration, owner: &str) -> Self {
        Attempt {
            id: ulid::Ulid::new().to_string(),
            until: now + ttl,
            owner: owner.to_string(),
        }
    }
    /// May `other` (live) be taken over by this attempt before it expires?
    pub fn succeeds(&self, other: &Attempt) -> bool {
        !self.owner.is_empty() && self.owner == other.owner
    }
    pub fn live_at(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }
    pub fn validate(&self) -> Result<(), CoreError> {
        if self.id.is_empty() || self.id.len() > 64 {
            return Err(CoreError::invalid("attempt", "id must be 1–64 characters"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditTable;

    #[test]
    fn moves_round_trip_and_refuse_unknown_fields() {
        let m = Move::VariantPrice {
            sku: Sku::new("SKU-1").unwrap(),
            expected_price: Money::parse("25.49", crate::Currency::new("EUR").unwrap()).unwrap(),
            price: Money::parse("29.99", crate::Currency::new("EUR").unwrap()).unwrap(),
            compare_at: None,
            restores: Some(RowRef::new(AuditTable::DecisionLog, 7)),
        };
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["kind"], "variant_price");
        assert_eq!(v["restores"], "decision_log#7");
        assert_eq!(serde_json::from_value::<Move>(v.clone()).unwrap(), m);
        assert_eq!(m.kind(), MoveKind::PriceRestore);
        let mut renamed = v;
        renamed["expected"] = renamed["expected_price"].take();
        assert!(serde_json::from_value::<Move>(renamed).is_err());
    }

    #[test]
    fn an_undo_expects_what_the_original_set_and_sets_what_was_there() {
        fn eur(s: &str) -> Money {
            Money::parse(s, crate::Currency::new("EUR").unwrap()).unwrap()
        }
        let original = RowRef::new(AuditTable::DecisionLog, 9);
        let discount = Move::VariantPrice {
            sku: Sku::new("SKU-1").unwrap(),
            expected_price: eur("29.99"),
            price: eur("25.49"),
            compare_at: Some(eur("29.99")),
            restores: None,
        };
        let before = ReversalOp::VariantPrice {
            product_id: "p".into(),
            variant_id: "v".into(),
            price: eur("29.99"),
            compare_at_price: None,
        };
        let undo = discount.undo_of(original, &before, true).unwrap();
        assert_eq!(undo.reverts(), Some(original));
        assert_eq!(
            undo.kind(),
            MoveKind::PriceRestore,
            "closes the window, no test counted"
        );
        let Move::VariantPrice {
            expected_price,
            price,
            compare_at,
            ..
        } = undo.target()
        else {
            panic!("a price move")
        };
        assert_eq!(
            (*expected_price, *price, *compare_at),
            (eur("25.49"), eur("29.99"), None)
        );
        let v = serde_json::to_value(&undo).unwrap();
        assert_eq!(v["kind"], "revert");
        assert_eq!(serde_json::from_value::<Move>(v).unwrap(), undo);
        // What the vendor shows now: the discount (still set) or a person's price (changed).
        let now = |p: &str, c: Option<&str>| ReversalOp::VariantPrice {
            product_id: "p".into(),
            variant_id: "v".into(),
            price: eur(p),
            compare_at_price: c.map(eur),
        };
        assert!(discount.is_set_in(&now("25.49", Some("29.99"))));
        assert!(!discount.is_set_in(&now("27.00", Some("29.99"))));
        let status = Move::ProductStatus {
            sku: Sku::new("SKU-1").unwrap(),
            to: ProductStatus::Draft,
        };
        let was = ReversalOp::ProductStatus {
            product_id: "p".into(),
            status: "ACTIVE".into(),
        };
        let undo = status.undo_of(original, &was, false).unwrap();
        assert_eq!(undo.kind(), MoveKind::ProductStatus);
        assert!(
            undo.undo_of(original, &was, false).is_err(),
            "an undo is not undone"
        );
        let bad = ReversalOp::ProductStatus {
            product_id: "p".into(),
            status: "GONE".into(),
        };
        assert!(status.undo_of(original, &bad, false).is_err());
        assert!(
            status.undo_of(original, &before, false).is_err(),
            "op of another kind"
        );
    }

    #[test]
    fn attempts_expire() {
        let now: DateTime<Utc> = "2026-12-01T06:00:00Z".parse().unwrap();
        let a = Attempt::new(now, Duration::seconds(90), "");
        assert!(a.live_at(now + Duration::seconds(89)));
        assert!(!a.live_at(now + Duration::seconds(90)));
    }
}
