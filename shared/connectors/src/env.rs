//! Vendor clients from the environment, parsed once at cold start.
//!
//! | variable | meaning |
//! |---|---|
//! | `OTTO_SIM_VENDOR` | path of a simulated vendor's state file (demo, tests); wins over the rest |
//! | `SHOPIFY_SHOP_URL`, `SHOPIFY_ACCESS_TOKEN`, `SHOPIFY_API_VERSION` (default `2025-10`) | Shopify Admin GraphQL |
//! | `GOOGLE_ADS_CUSTOMER_ID`, `GOOGLE_ADS_DEVELOPER_TOKEN`, `GOOGLE_ADS_LOGIN_CUSTOMER_ID` (optional), `GOOGLE_ADS_API_VERSION` (default `v21`) | Google Ads REST |
//! | `GOOGLE_ADS_REFRESH_TOKEN`, `GOOGLE_ADS_CLIENT_ID`, `GOOGLE_ADS_CLIENT_SECRET` | OAuth refresh (tokens renewed by the client) — or `GOOGLE_ADS_ACCESS_TOKEN` as a fixed token |
//! | `OTTO_CURRENCY` (default `EUR`) | the shop's and the ad account's currency |

use crate::google_ads::{GoogleAdsClient, GoogleAdsConfig};
use crate::ports::{AdsAccount, ShopCatalog};
use crate::shopify::{ShopifyClient, ShopifyConfig};
use crate::simulated::SimulatedVendor;
use otto_core::money::Currency;
use otto_core::StoreClock;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub type VendorPair = (Arc<dyn ShopCatalog>, Arc<dyn AdsAccount>);

/// The configured vendors; `Ok(None)` when none is configured, an error naming the variable when
/// a configuration is incomplete or invalid.
pub fn vendors_from_lookup(
    get: impl Fn(&str) -> Option<String>,
    clock: StoreClock,
) -> Result<Option<VendorPair>, String> {
    let var = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    if let Some(path) = var("OTTO_SIM_VENDOR") {
        let sim = SimulatedVendor::open(Path::new(&path))
            .map_err(|e| format!("configuration: OTTO_SIM_VENDOR: {e}"))?
            .ok_or_else(|| format!("configuration: OTTO_SIM_VENDOR: {path} does not exist (run `otto demo` to create one)"))?;
        let sim = Arc::new(sim);
        return Ok(Some((sim.clone(), sim)));
    }
    let shopify_keys = ["SHOPIFY_SHOP_URL", "SHOPIFY_ACCESS_TOKEN"];
    let ads_keys = [
        "GOOGLE_ADS_CUSTOMER_ID",
        "GOOGLE_ADS_DEVELOPER_TOKEN",
        "GOOGLE_ADS_ACCESS_TOKEN",
    ];
    let all = shopify_keys.iter().chain(ads_keys.iter());
    if all.clone().all(|k| var(k).is_none()) {
        return Ok(None);
    }
    if let Some(missing) = all.clone().find(|k| var(k).is_none()) {
        return Err(format!(
            "configuration: {missing}: must be set with the other SHOPIFY_*/GOOGLE_ADS_* variables"
        ));
    }
    let refresh = match (var("GOOGLE_ADS_REFRESH_TOKEN"), var("GOOGLE_ADS_CLIENT_ID"), var("GOOGLE_ADS_CLIENT_SECRET")) {
        (Some(refresh_token), Some(client_id), Some(client_secret)) => Some(crate::google_ads::OAuthRefresh {
            token_url: var("GOOGLE_ADS_TOKEN_URL").unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            client_id,
            client_secret,
            refresh_token,
        }),
        (None, None, None) => None,
        _ => return Err("configuration: GOOGLE_ADS_REFRESH_TOKEN, GOOGLE_ADS_CLIENT_ID and GOOGLE_ADS_CLIENT_SECRET go together".into()),
    };
    if refresh.is_none() && var("GOOGLE_ADS_ACCESS_TOKEN").is_none() {
        return Err("configuration: GOOGLE_ADS_ACCESS_TOKEN (or GOOGLE_ADS_REFRESH_TOKEN with GOOGLE_ADS_CLIENT_ID/SECRET) must be set".into());
    }
    let currency = Currency::new(&var("OTTO_CURRENCY").unwrap_or_else(|| "EUR".into()))
        .map_err(|e| format!("configuration: OTTO_CURRENCY: {e}"))?;
    let need = |k: &str| var(k).unwrap_or_default();
    let shop = ShopifyClient::new(ShopifyConfig {
        base_url: need("SHOPIFY_SHOP_URL"),
        api_version: var("SHOPIFY_API_VERSION").unwrap_or_else(|| "2025-10".into()),
        access_token: need("SHOPIFY_ACCESS_TOKEN"),
        currency,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(30),
        max_retries: 5,
    })
    .map_err(|e| format!("configuration: SHOPIFY_*: {e}"))?;
    let ads = GoogleAdsClient::new(GoogleAdsConfig {
        base_url: var("GOOGLE_ADS_BASE_URL")
            .unwrap_or_else(|| "https://googleads.googleapis.com".into()),
        api_version: var("GOOGLE_ADS_API_VERSION").unwrap_or_else(|| "v21".into()),
        customer_id: need("GOOGLE_ADS_CUSTOMER_ID"),
        login_customer_id: var("GOOGLE_ADS_LOGIN_CUSTOMER_ID"),
        developer_token: need("GOOGLE_ADS_DEVELOPER_TOKEN"),
        access_token: need("GOOGLE_ADS_ACCESS_TOKEN"),
        currency,
        clock,
        max_retries: 5,
    })
    .map_err(|e| format!("configuration: GOOGLE_ADS_*: {e}"))?;
    let ads = match refresh {
        Some(r) => ads.with_oauth_refresh(r),
        None => ads,
    };
    Ok(Some((Arc::new(shop), Arc::new(ads))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn none_partial_and_full() {
        let clock = StoreClock::new("Europe/Amsterdam").unwrap();
        assert!(vendors_from_lookup(lookup(&[]), clock).unwrap().is_none());
        let err = vendors_from_lookup(
            lookup(&[("SHOPIFY_SHOP_URL", "https://x.myshopify.com")]),
            clock,
        )
        .err()
        .unwrap();
        assert!(err.contains("SHOPIFY_ACCESS_TOKEN"), "{err}");
        let full = [
            ("SHOPIFY_SHOP_URL", "https://x.myshopify.com"),
            ("SHOPIFY_ACCESS_TOKEN", "shpat_x"),
            ("GOOGLE_ADS_CUSTOMER_ID", "123-456-7890"),
            ("GOOGLE_ADS_DEVELOPER_TOKEN", "dev"),
            ("GOOGLE_ADS_ACCESS_TOKEN", "ya29"),
        ];
        assert!(vendors_from_lookup(lookup(&full), clock).unwrap().is_some());
        let mut bad = full.to_vec();
        bad.push(("OTTO_CURRENCY", "euro"));
        assert!(vendors_from_lookup(lookup(&bad), clock)
            .err()
            .unwrap()
            .contains("OTTO_CURRENCY"));
        let missing = vendors_from_lookup(
            lookup(&[("OTTO_SIM_VENDOR", "/nonexistent/sim.json")]),
            clock,
        )
        .err()
        .unwrap();
        assert!(missing.contains("does not exist"), "{missing}");
    }
}
