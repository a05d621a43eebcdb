//! The simulated shop behind Otto's vendor ports, so the real cycles read and write it exactly as
//! they would Shopify and Google Ads. Writes are stamped with the process clock
//! (`otto_core::clock::now()`), which `otto simulate` moves to each cycle's time.

use crate::shop::SimShop;
use crate::writes::Actor;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_connectors::{AdsAccount, ShopCatalog, VendorError};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, ProductStatus, SkuSales, Variant,
};
use otto_core::{Money, StoreDay};
use serde_json::{json, Value};

const VENDOR: &str = "simulated-shop";

fn refused(e: String) -> VendorError {
    VendorError::Refused {
        vendor: VENDOR,
        errors: vec![e],
    }
}

#[async_trait]
impl ShopCatalog for SimShop {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        Ok(self.variants())
    }

    async fn sku_sales(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Option<Vec<SkuSales>>, VendorError> {
        Ok(Some(self.sku_sales_report(from, to)))
    }

    async fn fetch_variant(&self, variant_id: &str) -> Result<Option<Variant>, VendorError> {
        let Some(&i) = self.by_variant.get(variant_id) else {
            return Ok(None);
        };
        Ok(self.variants().into_iter().nth(i))
    }

    async fn set_product_status(
        &self,
        product_id: &str,
        status: ProductStatus,
    ) -> Result<Value, VendorError> {
        let now = otto_core::clock::now();
        self.set_status(product_id, status, Actor::Policy, now)
            .map_err(refused)?;
        Ok(
            json!({"product": {"id": product_id, "status": status, "updatedAt": now.to_rfc3339()}, "userErrors": []}),
        )
    }

    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at_price: Option<Money>,
    ) -> Result<Value, VendorError> {
        let now = otto_core::clock::now();
        self.set_price(
            product_id,
            variant_id,
            price,
            compare_at_price,
            Actor::Policy,
            now,
        )
        .map_err(refused)?;
        Ok(
            json!({"productVariants": [{"id": variant_id, "price": price.rounded().amount_string(),
            "compareAtPrice": compare_at_price.map(|c| c.rounded().amount_string()),
            "updatedAt": now.to_rfc3339()}], "userErrors": []}),
        )
    }
}

#[async_trait]
impl AdsAccount for SimShop {
    async fn sku_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>, VendorError> {
        Ok(self.sku_metrics(from, to))
    }

    /// The metrics with each SKU's Shopping campaign, as Google's report gives it with
    /// `campaign.id` selected.
    async fn sku_performance_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<otto_connectors::offers::SkuPerformance, VendorError> {
        let t = self.truth();
        let campaigns = t
            .variants
            .iter()
            .map(|v| (v.sku.clone(), t.campaigns[v.campaign].campaign_id.clone()))
            .collect();
        Ok(otto_connectors::offers::SkuPerformance {
            metrics: self.sku_metrics(from, to),
            unmapped: Vec::new(),
            campaigns,
        })
    }

    async fn campaign_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>, VendorError> {
        Ok(self.campaign_days(from, to))
    }

    async fn budgets(&self) -> Result<Vec<CampaignBudget>, VendorError> {
        Ok(self.campaign_budgets())
    }

    async fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExternalChange>, VendorError> {
        Ok(self.external_changes(since))
    }

    async fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        validate_only: bool,
    ) -> Result<Value, VendorError> {
        if validate_only {
            if !self
                .truth
                .campaigns
                .iter()
                .any(|c| c.budget_resource == budget_resource)
            {
                return Err(refused(format!(
                    "campaign budget {budget_resource} does not exist"
                )));
            }
        } else {
            self.set_budget(
                budget_resource,
                amount,
                Actor::Policy,
                otto_core::clock::now(),
            )
            .map_err(refused)?;
        }
        Ok(json!({"results": [{"resourceName": budget_resource}], "validateOnly": validate_only}))
    }
}
