//! The vendor ports. Every method maps the vendor's wire format to Otto's domain types exactly
//! (money as micros, days in the store's time zone) or fails with a [`VendorError`] saying what was
//! wrong; a partial or malformed answer is an error, never half a result.

use crate::catalog::CatalogSync;
use crate::offers::SkuPerformance;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, ProductStatus, SkuSales, Variant,
};
use otto_core::{Money, StoreDay};
use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VendorError {
    /// Throttling beyond the wait budget, 429/5xx, timeouts: try again later.
    #[error("{vendor}: transient: {detail}")]
    Transient {
        vendor: &'static str,
        detail: String,
    },
    /// Auth failures, 4xx, a response that is not what the API documents.
    #[error("{vendor}: {detail}")]
    Permanent {
        vendor: &'static str,
        detail: String,
    },
    /// The vendor refused the mutation (`userErrors`, partial-failure details).
    #[error("{vendor} refused: {}", .errors.join("; "))]
    Refused {
        vendor: &'static str,
        errors: Vec<String>,
    },
}

impl VendorError {
    /// Not retried: auth, 4xx, an answer that is not what the vendor documents.
    pub fn permanent(vendor: &'static str, detail: impl Into<String>) -> Self {
        VendorError::Permanent {
            vendor,
            detail: detail.into(),
        }
    }
    /// Retried later: throttling, 5xx, timeouts.
    pub fn transient(vendor: &'static str, detail: impl Into<String>) -> Self {
        VendorError::Transient {
            vendor,
            detail: detail.into(),
        }
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self, VendorError::Transient { .. })
    }
}

/// The shop (Shopify).
#[async_trait]
pub trait ShopCatalog: Send + Sync {
    /// Every variant with a SKU (variants without one are skipped and counted in the log).
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError>;
    /// The full catalog read: the variants, plus what was held out (unknown product status),
    /// flagged (unit cost in another currency) or skipped (no usable SKU). The default is
    /// [`ShopCatalog::fetch_variants`] with nothing flagged.
    async fn fetch_catalog(&self) -> Result<CatalogSync, VendorError> {
        Ok(CatalogSync {
            variants: self.fetch_variants().await?,
            ..CatalogSync::default()
        })
    }
    /// Store sales per SKU per store day from the shop's orders, `from` … `to` inclusive (every
    /// channel, not only ads). A shop that cannot report orders returns `None`, and decisions
    /// fall back to the ad platform's figures and say so.
    async fn sku_sales(
        &self,
        _from: StoreDay,
        _to: StoreDay,
    ) -> Result<Option<Vec<SkuSales>>, VendorError> {
        Ok(None)
    }
    /// One variant as it is now (the executor reads before it writes).
    async fn fetch_variant(&self, variant_id: &str) -> Result<Option<Variant>, VendorError>;
    /// `productUpdate(product: {id, status})`; returns the vendor's answer for the audit row.
    async fn set_product_status(
        &self,
        product_id: &str,
        status: ProductStatus,
    ) -> Result<Value, VendorError>;
    /// Whether the product is published on the Online Store sales channel (an ACTIVE product on
    /// no channel is visible nowhere). The default is a shop without sales channels: every
    /// product is where its status puts it.
    async fn on_online_store(&self, _product_id: &str) -> Result<bool, VendorError> {
        Ok(true)
    }
    /// Publishes the product on the Online Store (`publishablePublish`); repeating it changes
    /// nothing. [`ShopCatalog::set_product_status`] to ACTIVE does this too; this alone is for a
    /// product already ACTIVE whose publication failed. The default: nothing to publish.
    async fn publish_on_online_store(&self, product_id: &str) -> Result<Value, VendorError> {
        Ok(serde_json::json!({"product": {"id": product_id},
                              "published": "the shop has no sales channels to publish on"}))
    }
    /// `productVariantsBulkUpdate(productId, variants: [{id, price, compareAtPrice}])`.
    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at_price: Option<Money>,
    ) -> Result<Value, VendorError>;
}

/// The ad account (Google Ads).
#[async_trait]
pub trait AdsAccount: Send + Sync {
    /// Per SKU per day (`shopping_performance_view` by `segments.product_item_id`).
    async fn sku_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>, VendorError>;
    /// [`AdsAccount::sku_performance`] with the offers that did not map to a variant (count and
    /// list) instead of dropping them. The default maps everything.
    async fn sku_performance_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<SkuPerformance, VendorError> {
        Ok(SkuPerformance {
            metrics: self.sku_performance(from, to).await?,
            ..SkuPerformance::default()
        })
    }
    /// Per campaign per day, with search impression share and budget-lost impression share.
    async fn campaign_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>, VendorError>;
    /// Every campaign's budget, with `explicitly_shared`.
    async fn budgets(&self) -> Result<Vec<CampaignBudget>, VendorError>;
    /// Changes made by anyone since `since` (`change_event`, last 30 days at most).
    async fn changes_since(&self, since: DateTime<Utc>)
        -> Result<Vec<ExternalChange>, VendorError>;
    /// `campaignBudgets:mutate` of `amountMicros`; with `validate_only` Google checks without applying.
    async fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        validate_only: bool,
    ) -> Result<Value, VendorError>;
}
