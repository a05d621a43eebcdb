//! Google Shopping offer ids ↔ Shopify variants, mapped explicitly.
//!
//! The id Google reports per offer is `segments.product_item_id` (the Merchant Center offer id;
//! Google returns it lower-cased) — <https://developers.google.com/google-ads/api/fields/v22/shopping_performance_view>.
//! What that id *is* depends on the feed, so the form is a setting (`OTTO_OFFER_ID_FORM`):
//!
//! | form | the offer id / field | mapped by |
//! |---|---|---|
//! | `sku` (default) | the variant's SKU | SKU, case-insensitively |
//! | `shopify` | `shopify_<COUNTRY>_<productId>_<variantId>` (Shopify's Google & YouTube channel) | product + variant id |
//! | `custom_label` | the SKU in custom label N (`OTTO_OFFER_ID_LABEL`, 0–4): `segments.product_custom_attribute{N}` | SKU, case-insensitively |
//!
//! Custom labels 0–4: <https://developers.google.com/google-ads/api/reference/rpc/v26/ProductCustomAttributeIndexEnum.ProductCustomAttributeIndex>.
//! The `shopify_…` form is seen in public integrations, not in a vendor document.
//!
//! An offer that does not map is never dropped silently: it is returned in
//! [`SkuPerformance::unmapped`] with its reason and the clicks and cost it carried.

use otto_core::metrics::{DailyMetric, Variant};
use otto_core::{Money, Sku};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

/// How offer ids are formed in the store's Merchant Center feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferIdForm {
    Sku,
    ShopifyChannel,
    /// The SKU is in custom label 0–4.
    CustomLabel(u8),
}

/// The offer-id mapping of the ad client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferMapping {
    pub form: OfferIdForm,
}

impl Default for OfferMapping {
    fn default() -> Self {
        OfferMapping {
            form: OfferIdForm::Sku,
        }
    }
}

impl OfferMapping {
    /// From `OTTO_OFFER_ID_FORM` (`sku` | `shopify` | `custom_label`) and, for `custom_label`,
    /// `OTTO_OFFER_ID_LABEL` (0–4); an error names the variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty())
        };
        let form = match var("OTTO_OFFER_ID_FORM").as_deref() {
            None | Some("sku") => OfferIdForm::Sku,
            Some("shopify") => OfferIdForm::ShopifyChannel,
            Some("custom_label") => {
                let raw = var("OTTO_OFFER_ID_LABEL").ok_or_else(|| {
                    "configuration: OTTO_OFFER_ID_LABEL: must be set (0-4) when OTTO_OFFER_ID_FORM=custom_label".to_string()
                })?;
                let n = raw.parse::<u8>().ok().filter(|n| *n <= 4).ok_or_else(|| {
                    format!("configuration: OTTO_OFFER_ID_LABEL: {raw:?} is not a custom label index (0-4)")
                })?;
                OfferIdForm::CustomLabel(n)
            }
            Some(other) => {
                return Err(format!(
                    "configuration: OTTO_OFFER_ID_FORM: {other:?} is not an offer-id form (sku, shopify or custom_label)"
                ))
            }
        };
        Ok(OfferMapping { form })
    }

    /// The GAQL segment that carries the key.
    pub fn gaql_segment(&self) -> String {
        match self.form {
            OfferIdForm::Sku | OfferIdForm::ShopifyChannel => "segments.product_item_id".into(),
            OfferIdForm::CustomLabel(n) => format!("segments.product_custom_attribute{n}"),
        }
    }

    /// The same segment in a REST (camelCase) row.
    pub fn row_path(&self) -> String {
        match self.form {
            OfferIdForm::Sku | OfferIdForm::ShopifyChannel => "segments.productItemId".into(),
            OfferIdForm::CustomLabel(n) => format!("segments.productCustomAttribute{n}"),
        }
    }
}

/// `shopify_<COUNTRY>_<productId>_<variantId>`, any case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelOfferId {
    pub country: String,
    pub product_id: String,
    pub variant_id: String,
}

pub fn parse_channel_offer_id(raw: &str) -> Option<ChannelOfferId> {
    let parts: Vec<&str> = raw.trim().split('_').collect();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [prefix, country, product, variant]
            if prefix.eq_ignore_ascii_case("shopify")
                && country.len() == 2
                && country.bytes().all(|b| b.is_ascii_alphabetic())
                && digits(product)
                && digits(variant) =>
        {
            Some(ChannelOfferId {
                country: country.to_ascii_uppercase(),
                product_id: product.to_string(),
                variant_id: variant.to_string(),
            })
        }
        _ => None,
    }
}

/// The numeric tail of a Shopify GID (`gid://shopify/ProductVariant/456` → `456`).
fn gid_tail(gid: &str) -> &str {
    gid.rsplit('/').next().unwrap_or(gid)
}

#[derive(Debug, Default)]
struct IndexData {
    /// variant number → (product number, SKU).
    by_variant: HashMap<String, (String, Sku)>,
    /// lower-cased SKU → SKU.
    by_sku: HashMap<String, Sku>,
}

/// The last catalog read, shared by the shop client (which fills it) and the ad client (which
/// maps offer ids with it). Empty until the catalog has been read.
#[derive(Debug, Clone, Default)]
pub struct CatalogIndex(Arc<RwLock<Option<Arc<IndexData>>>>);

impl CatalogIndex {
    pub fn from_variants(variants: &[Variant]) -> Self {
        let index = CatalogIndex::default();
        index.replace(variants);
        index
    }

    pub fn replace(&self, variants: &[Variant]) {
        let mut data = IndexData::default();
        for v in variants {
            let product = gid_tail(&v.product_id).to_string();
            data.by_variant.insert(
                gid_tail(&v.variant_id).to_string(),
                (product, v.sku.clone()),
            );
            data.by_sku
                .insert(v.sku.as_str().to_lowercase(), v.sku.clone());
        }
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(data));
    }

    fn snapshot(&self) -> Option<Arc<IndexData>> {
        self.0.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The SKU an offer key maps to, or why it does not.
    pub fn map(&self, form: OfferIdForm, key: &str) -> Result<Sku, String> {
        let data = self.snapshot();
        match form {
            OfferIdForm::ShopifyChannel => map_channel(data.as_deref(), key),
            OfferIdForm::Sku | OfferIdForm::CustomLabel(_) => map_sku(data.as_deref(), key),
        }
    }
}

fn map_channel(data: Option<&IndexData>, key: &str) -> Result<Sku, String> {
    let id = parse_channel_offer_id(key).ok_or_else(|| {
        format!("offer id {key:?} is not of the form shopify_<COUNTRY>_<productId>_<variantId>")
    })?;
    let data = data.ok_or("the catalog has not been read yet")?;
    match data.by_variant.get(&id.variant_id) {
        Some((product, sku)) if *product == id.product_id => Ok(sku.clone()),
        Some((product, _)) => Err(format!(
            "variant {} belongs to product {product}, not {}",
            id.variant_id, id.product_id
        )),
        None => Err(format!(
            "no variant {} (product {}) with a SKU in the catalog",
            id.variant_id, id.product_id
        )),
    }
}

fn map_sku(data: Option<&IndexData>, key: &str) -> Result<Sku, String> {
    if key.trim().is_empty() {
        return Err("empty offer key".into());
    }
    match data {
        // Not read yet: the key is taken as the SKU (as before the mapping existed).
        None => Sku::new(key).map_err(|e| e.to_string()),
        Some(d) => d
            .by_sku
            .get(&key.to_lowercase())
            .cloned()
            .ok_or_else(|| format!("no variant has the SKU {key:?}")),
    }
}

/// An offer whose rows could not be tied to a variant.
#[derive(Debug, Clone, PartialEq)]
pub struct UnmappedOffer {
    pub offer_id: String,
    pub reason: String,
    /// Report rows (days) it appeared in, and what it carried over them.
    pub rows: u32,
    pub clicks: u64,
    pub cost: Money,
}

/// Per-SKU performance and the offers that did not map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SkuPerformance {
    pub metrics: Vec<DailyMetric>,
    pub unmapped: Vec<UnmappedOffer>,
    /// The campaign (id) that carries each SKU: the one with most of its cost (then clicks) in
    /// the report's days. Empty when the ad account cannot say.
    pub campaigns: BTreeMap<Sku, String>,
}

impl SkuPerformance {
    /// One line for a stage row or a log.
    pub fn summary(&self) -> String {
        let ids: Vec<&str> = self
            .unmapped
            .iter()
            .take(5)
            .map(|u| u.offer_id.as_str())
            .collect();
        format!(
            "{} SKU-days; {} offers not mapped to a variant{}",
            self.metrics.len(),
            self.unmapped.len(),
            if ids.is_empty() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    ids.join(", "),
                    if self.unmapped.len() > 5 { ", …" } else { "" }
                )
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use otto_core::metrics::ProductStatus;
    use otto_core::Currency;

    fn variant(sku: &str, product: u64, variant: u64) -> Variant {
        let eur = Currency::new("EUR").unwrap();
        Variant {
            sku: Sku::new(sku).unwrap(),
            variant_id: format!("gid://shopify/ProductVariant/{variant}"),
            product_id: format!("gid://shopify/Product/{product}"),
            title: "t".into(),
            price: Money::parse("10.00", eur).unwrap(),
            compare_at_price: None,
            unit_cost: None,
            status: ProductStatus::Active,
            inventory: 1,
            tags: vec![],
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn channel_ids() {
        assert_eq!(
            parse_channel_offer_id("shopify_nl_7001_42001"),
            Some(ChannelOfferId {
                country: "NL".into(),
                product_id: "7001".into(),
                variant_id: "42001".into()
            })
        );
        for bad in [
            "shopify_NL_7001",
            "SKU-1",
            "shopify_NLD_1_2",
            "shopify_NL_x_2",
            "shop_NL_1_2",
        ] {
            assert_eq!(parse_channel_offer_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn maps_each_form_and_says_why_not() {
        let index = CatalogIndex::from_variants(&[variant("LIN-01", 7001, 42001)]);
        let ch = OfferIdForm::ShopifyChannel;
        assert_eq!(
            index.map(ch, "shopify_NL_7001_42001").unwrap().as_str(),
            "LIN-01"
        );
        assert!(index
            .map(ch, "shopify_NL_7002_42001")
            .unwrap_err()
            .contains("belongs to product 7001"));
        assert!(index
            .map(ch, "shopify_NL_7001_49999")
            .unwrap_err()
            .contains("no variant 49999"));
        assert!(index
            .map(ch, "lin-01")
            .unwrap_err()
            .contains("not of the form"));
        assert_eq!(
            index.map(OfferIdForm::Sku, "lin-01").unwrap().as_str(),
            "LIN-01"
        );
        assert!(index
            .map(OfferIdForm::Sku, "gone-9")
            .unwrap_err()
            .contains("no variant has"));
        assert_eq!(
            index
                .map(OfferIdForm::CustomLabel(0), "LIN-01")
                .unwrap()
                .as_str(),
            "LIN-01"
        );
        // Before the catalog is read: SKU form takes the id as is; channel form cannot map.
        let empty = CatalogIndex::default();
        assert_eq!(empty.map(OfferIdForm::Sku, "abc").unwrap().as_str(), "abc");
        assert!(empty
            .map(ch, "shopify_NL_1_2")
            .unwrap_err()
            .contains("not been read"));
    }

    #[test]
    fn settings() {
        let of = |pairs: &[(&str, &str)]| {
            let m: HashMap<String, String> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            OfferMapping::from_lookup(move |k| m.get(k).cloned())
        };
        assert_eq!(of(&[]).unwrap().form, OfferIdForm::Sku);
        assert_eq!(
            of(&[("OTTO_OFFER_ID_FORM", "Shopify")]).unwrap().form,
            OfferIdForm::ShopifyChannel
        );
        let label = of(&[
            ("OTTO_OFFER_ID_FORM", "custom_label"),
            ("OTTO_OFFER_ID_LABEL", "2"),
        ])
        .unwrap();
        assert_eq!(label.form, OfferIdForm::CustomLabel(2));
        assert_eq!(label.gaql_segment(), "segments.product_custom_attribute2");
        assert_eq!(label.row_path(), "segments.productCustomAttribute2");
        assert!(of(&[("OTTO_OFFER_ID_FORM", "custom_label")])
            .unwrap_err()
            .contains("OTTO_OFFER_ID_LABEL"));
        assert!(of(&[
            ("OTTO_OFFER_ID_FORM", "custom_label"),
            ("OTTO_OFFER_ID_LABEL", "5")
        ])
        .unwrap_err()
        .contains("OTTO_OFFER_ID_LABEL"));
        assert!(of(&[("OTTO_OFFER_ID_FORM", "gtin")])
            .unwrap_err()
            .contains("OTTO_OFFER_ID_FORM"));
    }
}
