//! The vendors of a function that is given no vendor access (`OTTO_VENDORS=none` in
//! template.yaml): least privilege — stage functions that never call Shopify or Google Ads get
//! neither their credentials nor the right to read them, yet share the stage binary that builds
//! vendors at cold start. Every call fails `Permanent`, naming the setting, so a stage that starts
//! needing a vendor fails loudly on its first call instead of acting without one.

use crate::ports::{AdsAccount, ShopCatalog, VendorError};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, ProductStatus, Variant,
};
use otto_core::{Money, StoreDay};
use serde_json::Value;

/// A shop and an ad account this function may not reach.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoVendorAccess;

fn refused(vendor: &'static str, call: &str) -> VendorError {
    VendorError::Permanent {
        vendor,
        detail: format!(
            "{call}: this function has no vendor access (OTTO_VENDORS=none): give it the \
             SHOPIFY_*/GOOGLE_ADS_* variables and VendorSecretsPolicy in template.yaml if its \
             stage now calls the vendor"
        ),
    }
}

#[async_trait]
impl ShopCatalog for NoVendorAccess {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        Err(refused("shopify", "fetch_variants"))
    }
    async fn fetch_variant(&self, _variant_id: &str) -> Result<Option<Variant>, VendorError> {
        Err(refused("shopify", "fetch_variant"))
    }
    async fn set_product_status(
        &self,
        _product_id: &str,
        _status: ProductStatus,
    ) -> Result<Value, VendorError> {
        Err(refused("shopify", "set_product_status"))
    }
    async fn on_online_store(&self, _product_id: &str) -> Result<bool, VendorError> {
        Err(refused("shopify", "on_online_store"))
    }
    async fn publish_on_online_store(&self, _product_id: &str) -> Result<Value, VendorError> {
        Err(refused("shopify", "publish_on_online_store"))
    }
    async fn set_variant_price(
        &self,
        _product_id: &str,
        _variant_id: &str,
        _price: Money,
        _compare_at_price: Option<Money>,
    ) -> Result<Value, VendorError> {
        Err(refused("shopify", "set_variant_price"))
    }
    async fn sku_sales(
        &self,
        _from: StoreDay,
        _to: StoreDay,
    ) -> Result<Option<Vec<otto_core::metrics::SkuSales>>, VendorError> {
        Err(refused("shopify", "sku_sales"))
    }
}

#[async_trait]
impl AdsAccount for NoVendorAccess {
    async fn sku_performance(
        &self,
        _from: StoreDay,
        _to: StoreDay,
    ) -> Result<Vec<DailyMetric>, VendorError> {
        Err(refused("google_ads", "sku_performance"))
    }
    async fn campaign_performance(
        &self,
        _from: StoreDay,
        _to: StoreDay,
    ) -> Result<Vec<CampaignDay>, VendorError> {
        Err(refused("google_ads", "campaign_performance"))
    }
    async fn budgets(&self) -> Result<Vec<CampaignBudget>, VendorError> {
        Err(refused("google_ads", "budgets"))
    }
    async fn changes_since(
        &self,
        _since: DateTime<Utc>,
    ) -> Result<Vec<ExternalChange>, VendorError> {
        Err(refused("google_ads", "changes_since"))
    }
    async fn set_budget(
        &self,
        _budget_resource: &str,
        _amount: Money,
        _validate_only: bool,
    ) -> Result<Value, VendorError> {
        Err(refused("google_ads", "set_budget"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_call_names_the_setting() {
        let v = NoVendorAccess;
        let e = v.fetch_catalog().await.unwrap_err();
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("OTTO_VENDORS=none"), "{e}");
        let e = v.budgets().await.unwrap_err();
        assert!(e.to_string().starts_with("google_ads: budgets:"), "{e}");
    }
}
