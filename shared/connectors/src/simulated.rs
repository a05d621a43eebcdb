//! A simulated shop and ad account over the synthetic store, for `otto demo` and the end-to-end
//! tests: the same ports as Shopify and Google Ads, so the apply phase really changes (simulated)
//! prices, statuses and budgets, and the next sync reads them back. State lives in one JSON file
//! (the generator's spec plus every write), written atomically, so separate `otto` runs share it.

use crate::ports::{AdsAccount, ShopCatalog, VendorError};
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, ProductStatus, Variant,
};
use otto_core::money::{Currency, Money};
use otto_core::synthetic::{generate, SyntheticSpec};
use otto_core::StoreDay;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

const VENDOR: &str = "simulated";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimSpec {
    pub variants: usize,
    pub days: u32,
    pub last_day: StoreDay,
    pub seed: u64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct VariantWrite {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<ProductStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    price: Option<Money>,
    /// Some(None) = compare-at cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    compare_at_price: Option<Option<Money>>,
    updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SimState {
    spec: SimSpec,
    /// By variant id (product-level status writes land on every variant of the product).
    variants: BTreeMap<String, VariantWrite>,
    /// By budget resource name.
    budgets: BTreeMap<String, Money>,
    /// Edits "someone else" made, reported by `changes_since`.
    #[serde(default)]
    external: Vec<ExternalChange>,
    writes: u64,
}

pub struct SimulatedVendor {
    path: PathBuf,
    state: Mutex<SimState>,
    /// The generated store (before Otto's writes), built once: the spec never changes.
    base: std::sync::OnceLock<otto_core::synthetic::SyntheticStore>,
}

fn err(detail: impl Into<String>) -> VendorError {
    VendorError::Permanent {
        vendor: VENDOR,
        detail: detail.into(),
    }
}

/// The time every synthetic variant was last edited before Otto came along.
fn epoch(spec: &SimSpec) -> DateTime<Utc> {
    spec.last_day
        .date()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc() - Duration::days(60))
        .unwrap_or_default()
}

/// Campaign of a SKU: one Shopping campaign per product line (`SKU-LIN-…` → `EU/Linen/Shopping`).
fn campaign_of(sku: &str) -> Option<(String, String)> {
    const LINES: [(&str, &str); 8] = [
        ("LIN", "Linen"),
        ("COT", "Cotton"),
        ("WOL", "Wool"),
        ("SLK", "Silk"),
        ("BAM", "Bamboo"),
        ("VEL", "Velvet"),
        ("JUT", "Jute"),
        ("CAS", "Cashmere"),
    ];
    let code = sku.split('-').nth(1)?;
    let (i, (_, name)) = LINES.iter().enumerate().find(|(_, (c, _))| *c == code)?;
    Some(((1_000 + i).to_string(), format!("EU/{name}/Shopping")))
}

fn mix(a: u64, b: u64) -> u64 {
    // splitmix64 of a combined key: deterministic pseudo-randomness without state.
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl SimulatedVendor {
    /// Creates the vendor's state file (replacing any previous one).
    pub fn create(path: &Path, spec: SimSpec) -> Result<Self, VendorError> {
        let state = SimState {
            spec,
            variants: BTreeMap::new(),
            budgets: BTreeMap::new(),
            external: vec![],
            writes: 0,
        };
        let v = SimulatedVendor {
            path: path.to_path_buf(),
            state: Mutex::new(state),
            base: Default::default(),
        };
        v.save()?;
        Ok(v)
    }

    /// Opens an existing state file; None when there is none.
    pub fn open(path: &Path) -> Result<Option<Self>, VendorError> {
        if !path.exists() {
            return Ok(None);
        }
        let text =
            std::fs::read_to_string(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
        let state: SimState =
            serde_json::from_str(&text).map_err(|e| err(format!("{}: {e}", path.display())))?;
        Ok(Some(SimulatedVendor {
            path: path.to_path_buf(),
            state: Mutex::new(state),
            base: Default::default(),
        }))
    }

    pub fn spec(&self) -> SimSpec {
        self.lock().spec.clone()
    }

    /// Simulates a person editing a variant's price in the Shopify admin.
    pub fn external_price_edit(
        &self,
        variant_id: &str,
        price: Money,
        at: DateTime<Utc>,
    ) -> Result<(), VendorError> {
        {
            let mut s = self.lock();
            let w = s
                .variants
                .entry(variant_id.to_string())
                .or_insert(VariantWrite {
                    status: None,
                    price: None,
                    compare_at_price: None,
                    updated_at: at,
                });
            w.price = Some(price);
            w.updated_at = at;
            s.external.push(ExternalChange {
                resource: variant_id.to_string(),
                changed_at: at,
                client_type: "SHOPIFY_ADMIN".into(),
                changed_fields: vec!["price".into()],
            });
        }
        self.save()
    }

    /// How many mutations were applied (tests use it to prove "never applied twice").
    pub fn writes(&self) -> u64 {
        self.lock().writes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self) -> Result<(), VendorError> {
        // Serialise and write under the state lock: concurrent writers (parallel executors)
        // must not interleave on the temporary file, and the file must hold the latest state.
        let state = self.lock();
        let text = serde_json::to_string_pretty(&*state).map_err(|e| err(e.to_string()))?;
        let tmp = self.path.with_extension("json.partial");
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| err(format!("{}: {e}", dir.display())))?;
        }
        std::fs::write(&tmp, text).map_err(|e| err(format!("{}: {e}", tmp.display())))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| err(format!("{}: {e}", self.path.display())))
    }

    fn base(&self) -> &otto_core::synthetic::SyntheticStore {
        self.base.get_or_init(|| {
            let spec = self.lock().spec.clone();
            let gen = SyntheticSpec {
                variants: spec.variants,
                days: spec.days,
                last_day: spec.last_day,
                seed: spec.seed,
                currency: spec.currency,
            };
            generate(&gen, epoch(&spec))
        })
    }

    /// The variants as the shop has them now: generated, then every write applied.
    fn variants(&self) -> Vec<Variant> {
        let base = self.base();
        let s = self.lock();
        base.variants
            .iter()
            .cloned()
            .map(|mut v| {
                if let Some(w) = s.variants.get(&v.variant_id) {
                    if let Some(st) = w.status {
                        v.status = st;
                    }
                    if let Some(p) = w.price {
                        v.price = p;
                    }
                    if let Some(c) = w.compare_at_price {
                        v.compare_at_price = c;
                    }
                    v.updated_at = w.updated_at;
                }
                v
            })
            .collect()
    }

    fn campaigns(&self, metrics: &[DailyMetric]) -> Vec<CampaignDay> {
        let seed = self.lock().spec.seed;
        let mut by: BTreeMap<(StoreDay, String), CampaignDay> = BTreeMap::new();
        for m in metrics {
            let Some((id, name)) = campaign_of(m.sku.as_str()) else {
                continue;
            };
            let e = by.entry((m.day, id.clone())).or_insert_with(|| {
                let r = mix(
                    seed,
                    mix(
                        id.parse().unwrap_or(0),
                        m.day.date().to_string().len() as u64
                            + m.day.days_since(StoreDay::new(chrono::NaiveDate::MIN)) as u64,
                    ),
                );
                CampaignDay {
                    campaign_id: id.clone(),
                    campaign: name.clone(),
                    day: m.day,
                    impressions: 0,
                    clicks: 0,
                    cost: Money::zero(m.cost.currency()),
                    conversions_milli: 0,
                    conversion_value: Money::zero(m.cost.currency()),
                    search_impression_share_bp: Some(3_000 + (r % 6_000) as u32),
                    budget_lost_impression_share_bp: Some(((r >> 20) % 3_000) as u32),
                    provisional: m.provisional,
                }
            });
            e.impressions += m.impressions;
            e.clicks += m.clicks;
            e.cost = e.cost.checked_add(&m.cost).unwrap_or(e.cost);
            e.conversions_milli += m.conversions_milli;
            e.conversion_value = e
                .conversion_value
                .checked_add(&m.conversion_value)
                .unwrap_or(e.conversion_value);
        }
        by.into_values().collect()
    }
}

#[async_trait]
impl ShopCatalog for SimulatedVendor {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        Ok(self.variants())
    }

    async fn fetch_variant(&self, variant_id: &str) -> Result<Option<Variant>, VendorError> {
        Ok(self
            .variants()
            .into_iter()
            .find(|v| v.variant_id == variant_id))
    }

    async fn set_product_status(
        &self,
        product_id: &str,
        status: ProductStatus,
    ) -> Result<Value, VendorError> {
        let variants = self.variants();
        let ids: Vec<String> = variants
            .iter()
            .filter(|v| v.product_id == product_id)
            .map(|v| v.variant_id.clone())
            .collect();
        if ids.is_empty() {
            return Err(VendorError::Refused {
                vendor: VENDOR,
                errors: vec![format!("product {product_id} does not exist")],
            });
        }
        let now = otto_core::clock::now();
        {
            let mut s = self.lock();
            for id in &ids {
                let w = s.variants.entry(id.clone()).or_insert(VariantWrite {
                    status: None,
                    price: None,
                    compare_at_price: None,
                    updated_at: now,
                });
                w.status = Some(status);
                w.updated_at = now;
            }
            s.writes += 1;
        }
        self.save()?;
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
        let variants = self.variants();
        if !variants
            .iter()
            .any(|v| v.variant_id == variant_id && v.product_id == product_id)
        {
            return Err(VendorError::Refused {
                vendor: VENDOR,
                errors: vec![format!(
                    "variant {variant_id} of {product_id} does not exist"
                )],
            });
        }
        let now = otto_core::clock::now();
        {
            let mut s = self.lock();
            let w = s
                .variants
                .entry(variant_id.to_string())
                .or_insert(VariantWrite {
                    status: None,
                    price: None,
                    compare_at_price: None,
                    updated_at: now,
                });
            w.price = Some(price.rounded());
            w.compare_at_price = Some(compare_at_price.map(|c| c.rounded()));
            w.updated_at = now;
            s.writes += 1;
        }
        self.save()?;
        Ok(
            json!({"productVariants": [{"id": variant_id, "price": price.rounded().amount_string(),
            "compareAtPrice": compare_at_price.map(|c| c.rounded().amount_string()), "updatedAt": now.to_rfc3339()}], "userErrors": []}),
        )
    }
}

#[async_trait]
impl AdsAccount for SimulatedVendor {
    async fn sku_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>, VendorError> {
        Ok(self
            .base()
            .metrics
            .iter()
            .filter(|m| m.day >= from && m.day <= to)
            .cloned()
            .collect())
    }

    /// The metrics with the campaign of each SKU's product line (as Google's report says it
    /// with `campaign.id` selected).
    async fn sku_performance_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<crate::offers::SkuPerformance, VendorError> {
        let metrics = self.sku_performance(from, to).await?;
        let campaigns = metrics
            .iter()
            .filter_map(|m| Some((m.sku.clone(), campaign_of(m.sku.as_str())?.0)))
            .collect();
        Ok(crate::offers::SkuPerformance {
            metrics,
            unmapped: Vec::new(),
            campaigns,
        })
    }

    async fn campaign_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>, VendorError> {
        Ok(self
            .campaigns(&self.base().metrics)
            .into_iter()
            .filter(|c| c.day >= from && c.day <= to)
            .collect())
    }

    async fn budgets(&self) -> Result<Vec<CampaignBudget>, VendorError> {
        let campaigns = self.campaigns(&self.base().metrics);
        let s = self.lock();
        let mut totals: BTreeMap<String, (String, i64, i64)> = BTreeMap::new();
        for c in &campaigns {
            let e = totals
                .entry(c.campaign_id.clone())
                .or_insert((c.campaign.clone(), 0, 0));
            e.1 += c.cost.micros();
            e.2 += 1;
        }
        Ok(totals
            .into_iter()
            .map(|(id, (name, cost, days))| {
                // Jute and Cashmere share one budget.
                let shared = name.contains("Jute") || name.contains("Cashmere");
                let resource = if shared {
                    "customers/1234567890/campaignBudgets/9000".to_string()
                } else {
                    format!("customers/1234567890/campaignBudgets/{id}")
                };
                let base = Money::from_micros(
                    (cost / days.max(1)) / 1_000_000 * 1_050_000,
                    s.spec.currency,
                );
                let amount = s.budgets.get(&resource).copied().unwrap_or(base);
                CampaignBudget {
                    campaign_id: id,
                    campaign: name,
                    budget_resource: resource,
                    amount,
                    explicitly_shared: shared,
                }
            })
            .collect())
    }

    async fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExternalChange>, VendorError> {
        Ok(self
            .lock()
            .external
            .iter()
            .filter(|c| c.changed_at >= since)
            .cloned()
            .collect())
    }

    async fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        validate_only: bool,
    ) -> Result<Value, VendorError> {
        if !validate_only {
            {
                let mut s = self.lock();
                s.budgets
                    .insert(budget_resource.to_string(), amount.rounded());
                s.writes += 1;
            }
            self.save()?;
        }
        Ok(json!({"results": [{"resourceName": budget_resource}], "validateOnly": validate_only}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SimSpec {
        SimSpec {
            variants: 40,
            days: 28,
            last_day: StoreDay::parse("2026-11-23").unwrap(),
            seed: 3,
            currency: Currency::EUR,
        }
    }

    #[tokio::test]
    async fn writes_persist_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.json");
        let v = SimulatedVendor::create(&path, spec()).unwrap();
        let first = v.fetch_variants().await.unwrap();
        let target = &first[0];
        v.set_variant_price(
            &target.product_id,
            &target.variant_id,
            Money::parse("9.99", Currency::EUR).unwrap(),
            Some(target.price),
        )
        .await
        .unwrap();
        let again = SimulatedVendor::open(&path).unwrap().unwrap();
        let now = again
            .fetch_variant(&target.variant_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(now.price.amount_string(), "9.99");
        assert_eq!(now.compare_at_price, Some(target.price));
        assert_eq!(again.writes(), 1);
        let budgets = again.budgets().await.unwrap();
        assert!(budgets.iter().any(|b| b.explicitly_shared));
        assert!(!again
            .campaign_performance(spec().last_day, spec().last_day)
            .await
            .unwrap()
            .is_empty());
    }
}
