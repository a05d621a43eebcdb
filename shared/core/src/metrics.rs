//! The catalog (variants as synced from Shopify) and daily performance (from Google Ads and the
//! store), keyed by SKU and store day.

use crate::ids::Sku;
use crate::money::Money;
use crate::time::StoreDay;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProductStatus {
    Active,
    Draft,
    Archived,
}

/// One sellable variant, as Shopify knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variant {
    pub sku: Sku,
    /// Shopify GID, e.g. `gid://shopify/ProductVariant/123`.
    pub variant_id: String,
    pub product_id: String,
    pub title: String,
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compare_at_price: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Money>,
    pub status: ProductStatus,
    pub inventory: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Shopify `updatedAt`: a change after Otto's last cycle means a person edited it.
    pub updated_at: DateTime<Utc>,
}

/// One SKU's performance on one store day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyMetric {
    pub sku: Sku,
    pub day: StoreDay,
    pub impressions: u64,
    pub clicks: u64,
    pub cost: Money,
    /// Conversions in thousandths (Google Ads reports fractional, attributed conversions).
    pub conversions_milli: i64,
    pub conversion_value: Money,
    /// Inside the platform's restatement window: the numbers may still change.
    #[serde(default)]
    pub provisional: bool,
}

/// One SKU's sales in the store on one store day, from Shopify orders: every channel (organic,
/// paid, direct), cancelled and test orders left out, refunded line items netted onto the day of
/// the order (`otto_connectors::shopify_orders`). The ad platform's
/// `conversion_value` is the share it claims; this is what the store actually sold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkuSales {
    pub sku: Sku,
    pub day: StoreDay,
    /// Units sold and kept (line-item quantities net of refunded and removed units).
    pub units: i64,
    /// Line revenue after line discounts and refunds, before tax and shipping.
    pub revenue: Money,
    /// Orders in which the SKU has units left.
    pub orders: u32,
}

/// One campaign's performance on one store day (Google Ads `campaign` report).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignDay {
    /// Google Ads campaign id (digits).
    pub campaign_id: String,
    /// Human name, e.g. `EU/Linen/Throws`.
    pub campaign: String,
    pub day: StoreDay,
    pub impressions: u64,
    pub clicks: u64,
    pub cost: Money,
    pub conversions_milli: i64,
    pub conversion_value: Money,
    /// `metrics.search_impression_share` in basis points (Google reports < 10 % as 0.0999).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_impression_share_bp: Option<u32>,
    /// `metrics.search_budget_lost_impression_share` in basis points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_lost_impression_share_bp: Option<u32>,
    /// Inside the restatement window (cost/conversions of recent days, next-day impression share).
    #[serde(default)]
    pub provisional: bool,
}

/// A campaign's budget as Google Ads has it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignBudget {
    pub campaign_id: String,
    pub campaign: String,
    /// `customers/{cid}/campaignBudgets/{id}`.
    pub budget_resource: String,
    /// Daily amount.
    pub amount: Money,
    /// A shared budget moves every campaign on it: Otto refuses per-campaign changes to it.
    pub explicitly_shared: bool,
}

/// A change someone else made (Google Ads `change_event`, or a Shopify edit seen by `updatedAt`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalChange {
    /// The changed resource (campaign budget resource name, product/variant GID).
    pub resource: String,
    pub changed_at: DateTime<Utc>,
    /// Who changed it (`GOOGLE_ADS_WEB_CLIENT`, `SHOPIFY_ADMIN`, …).
    pub client_type: String,
    #[serde(default)]
    pub changed_fields: Vec<String>,
}

/// An open discount window: the SKU, the day it ends, and the ON_DISCOUNT row that opened it
/// (which holds the reversal op a restore replays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenWindow {
    pub sku: Sku,
    pub ends_on: StoreDay,
    /// `decision_log#…` of the ON_DISCOUNT row.
    pub row_ref: String,
}
