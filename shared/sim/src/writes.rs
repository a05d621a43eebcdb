//! The shop's own log of every change made to it, by whom: what the invariants and the
//! "every move has an audit row" check read, independently of any policy's own records.

use chrono::{DateTime, Utc};
use otto_core::metrics::ProductStatus;
use otto_core::{Money, StoreDay};
use serde::Serialize;

/// Who changed the shop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    /// The policy under test, through the vendor ports (Otto, or the naive rules).
    Policy,
    /// The seeded merchant in the admin (a genuine outside edit).
    Merchant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Change {
    Status {
        product_id: String,
        from: ProductStatus,
        to: ProductStatus,
    },
    Price {
        variant_id: String,
        sku: String,
        from: Money,
        to: Money,
        compare_at_from: Option<Money>,
        compare_at_to: Option<Money>,
    },
    Budget {
        budget_resource: String,
        from: Money,
        to: Money,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShopWrite {
    pub at: DateTime<Utc>,
    /// The store day the shop was on.
    pub day: StoreDay,
    pub actor: Actor,
    pub change: Change,
}

impl ShopWrite {
    /// A product status that really changed (a publish or an unpublish).
    pub fn is_status_flip(&self) -> bool {
        matches!(&self.change, Change::Status { from, to, .. } if from != to)
    }
}
