//! What a catalog sync returns besides the variants Otto may act on: the variants it held out
//! (a product status Otto's core does not know, e.g. Shopify's `UNLISTED`) and the unit costs it
//! left out of margin decisions (a cost in another currency than the shop's).
//!
//! * `ProductStatus` values: ACTIVE, ARCHIVED, DRAFT, UNLISTED ("active but you need a direct
//!   link to view it … only visible from 2025-10 and up") —
//!   <https://shopify.dev/docs/api/admin-graphql/latest/enums/ProductStatus.md>; Shopify may add
//!   more, so any value other than ACTIVE/DRAFT/ARCHIVED is [`ShopStatus::Other`], never an error.
//! * `InventoryItem.unitCost` is a `MoneyV2 { amount, currencyCode }` and may be in another
//!   currency than the shop's (multi-currency shops) —
//!   <https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem>.

use otto_core::metrics::{ProductStatus, Variant};
use serde::{Deserialize, Serialize};

/// A product status as Shopify sent it: one Otto's core knows, or another value kept verbatim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShopStatus {
    Known(ProductStatus),
    /// e.g. `UNLISTED`, or a value added after this code was written.
    Other(String),
}

impl ShopStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "ACTIVE" => ShopStatus::Known(ProductStatus::Active),
            "DRAFT" => ShopStatus::Known(ProductStatus::Draft),
            "ARCHIVED" => ShopStatus::Known(ProductStatus::Archived),
            other => ShopStatus::Other(other.to_string()),
        }
    }
}

/// A variant kept out of the synced catalog, so no decision can move it: its product's status is
/// one Otto's core cannot represent (mapping `UNLISTED` to Draft would let Otto "publish" a
/// product the merchant chose to hide; to Active would let Otto spend on it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldOut {
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    /// The status exactly as Shopify sent it.
    pub status: String,
    pub reason: String,
}

/// A unit cost left out of margin decisions (the variant's `unit_cost` is `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostFlag {
    pub variant_id: String,
    pub sku: String,
    /// Shopify's `unitCost.currencyCode` and `amount`, verbatim.
    pub currency: String,
    pub amount: String,
    pub reason: String,
}

/// One full catalog read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CatalogSync {
    /// The variants Otto may decide on (a known status, a usable SKU).
    pub variants: Vec<Variant>,
    /// Variants of products with a status Otto does not know (e.g. `UNLISTED`).
    pub held_out: Vec<HeldOut>,
    /// Variants whose unit cost is in another currency: synced with `unit_cost: None`.
    pub cost_flags: Vec<CostFlag>,
    /// (variant id, why) of variants without a usable SKU.
    pub skipped: Vec<(String, String)>,
}

impl CatalogSync {
    /// One line for a stage row or a log: counts, and the first few ids of each list.
    pub fn summary(&self) -> String {
        let first = |ids: Vec<&str>| -> String {
            let mut s = ids.iter().take(5).copied().collect::<Vec<_>>().join(", ");
            if ids.len() > 5 {
                s.push_str(", …");
            }
            s
        };
        format!(
            "{} variants; {} held out (unknown status: {}); {} costs in another currency (left out of margins: {}); {} without a usable SKU",
            self.variants.len(),
            self.held_out.len(),
            first(self.held_out.iter().map(|h| h.sku.as_str()).collect()),
            self.cost_flags.len(),
            first(self.cost_flags.iter().map(|c| c.sku.as_str()).collect()),
            self.skipped.len(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(
            ShopStatus::parse("ACTIVE"),
            ShopStatus::Known(ProductStatus::Active)
        );
        assert_eq!(
            ShopStatus::parse("UNLISTED"),
            ShopStatus::Other("UNLISTED".into())
        );
        assert_eq!(
            ShopStatus::parse("SOMETHING_NEW"),
            ShopStatus::Other("SOMETHING_NEW".into())
        );
    }
}
