//! Typed moves: what a row asks the executor to change, apart from the row's `figures` (which
//! explain *why*). One [`Move`] per row that moves something; the executor reads nothing else to
//! know what to set, what it expects to find, and what it restores.
//!
//! An [`Attempt`] owns an APPLYING row: only the attempt that moved the row to APPLYING — or
//! anyone after that attempt expired — may resolve it, so two callers can never both write to
//! the vendor for the same row.

use crate::audit::RowRef;
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
        }
    }
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
    fn attempts_expire() {
        let now: DateTime<Utc> = "2026-12-01T06:00:00Z".parse().unwrap();
        let a = Attempt::new(now, Duration::seconds(90), "");
        assert!(a.live_at(now + Duration::seconds(89)));
        assert!(!a.live_at(now + Duration::seconds(90)));
    }
}
