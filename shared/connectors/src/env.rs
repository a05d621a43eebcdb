//! Vendor clients from the environment, parsed once at cold start.
//!
//! | variable | meaning |
//! |---|---|
//! | `OTTO_SIM_VENDOR` | path of a simulated vendor's state file (demo, tests); wins over the rest |
//! | `OTTO_VENDORS=none` | this function has no vendor access (least privilege): every vendor call fails naming it ([`crate::no_access`]) |
//! | `SHOPIFY_SHOP_URL`, `SHOPIFY_ACCESS_TOKEN`, `SHOPIFY_API_VERSION` (default [`versions::DEFAULT_SHOPIFY`]) | Shopify Admin GraphQL |
//! | `GOOGLE_ADS_CUSTOMER_ID`, `GOOGLE_ADS_DEVELOPER_TOKEN`, `GOOGLE_ADS_LOGIN_CUSTOMER_ID` (optional), `GOOGLE_ADS_API_VERSION` (default [`versions::DEFAULT_GOOGLE_ADS`]) | Google Ads REST |
//! | **either** `GOOGLE_ADS_REFRESH_TOKEN` + `GOOGLE_ADS_CLIENT_ID` + `GOOGLE_ADS_CLIENT_SECRET` **or** `GOOGLE_ADS_ACCESS_TOKEN` | Google OAuth: the refresh-token grant (the client renews access tokens itself; a fixed access token, if also set, is ignored), or a fixed access token (expires after about an hour — tests and one-off runs) |
//! | `OTTO_OFFER_ID_FORM` (default `sku`), `OTTO_OFFER_ID_LABEL` | how Google Shopping offer ids map to variants ([`crate::offers::OfferIdForm`]) |
//! | `OTTO_CURRENCY` (default `EUR`) | the shop's and the ad account's currency |
//!
//! A configured API version past its sunset is an error naming the variable; one within 60 days
//! of it is logged as a warning ([`crate::versions`]).

use crate::google_ads::{GoogleAdsClient, GoogleAdsConfig, OAuthRefresh};
use crate::no_access::NoVendorAccess;
use crate::offers::{CatalogIndex, OfferMapping};
use crate::ports::{AdsAccount, ShopCatalog};
use crate::shopify::{ShopifyClient, ShopifyConfig};
use crate::simulated::SimulatedVendor;
use crate::versions::{self, Vendor};
use chrono::NaiveDate;
use otto_core::money::Currency;
use otto_core::StoreClock;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub type VendorPair = (Arc<dyn ShopCatalog>, Arc<dyn AdsAccount>);

/// Every variable that switches the shop + ad account vendors on.
const VENDOR_KEYS: [&str; 8] = [
    "SHOPIFY_SHOP_URL",
    "SHOPIFY_ACCESS_TOKEN",
    "GOOGLE_ADS_CUSTOMER_ID",
    "GOOGLE_ADS_DEVELOPER_TOKEN",
    "GOOGLE_ADS_ACCESS_TOKEN",
    "GOOGLE_ADS_REFRESH_TOKEN",
    "GOOGLE_ADS_CLIENT_ID",
    "GOOGLE_ADS_CLIENT_SECRET",
];
/// Always required once any vendor variable is set.
const REQUIRED_KEYS: [&str; 4] = [
    "SHOPIFY_SHOP_URL",
    "SHOPIFY_ACCESS_TOKEN",
    "GOOGLE_ADS_CUSTOMER_ID",
    "GOOGLE_ADS_DEVELOPER_TOKEN",
];
/// The OAuth refresh-token set: all three or none.
const REFRESH_KEYS: [&str; 3] = [
    "GOOGLE_ADS_REFRESH_TOKEN",
    "GOOGLE_ADS_CLIENT_ID",
    "GOOGLE_ADS_CLIENT_SECRET",
];

/// How the Google Ads client authenticates.
#[derive(Clone)]
pub enum GoogleAuth {
    /// The refresh-token grant (<https://developers.google.com/identity/protocols/oauth2>,
    /// <https://developers.google.com/google-ads/api/rest/auth>).
    Refresh(OAuthRefresh),
    /// A fixed bearer token.
    Fixed(String),
}

/// A lookup that treats blank values as unset (template parameters default to "").
fn trimmed(get: &impl Fn(&str) -> Option<String>, k: &str) -> Option<String> {
    get(k)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The Google OAuth set: the refresh-token trio, else a fixed access token; an incomplete trio
/// names its first missing variable.
pub fn google_auth(get: impl Fn(&str) -> Option<String>) -> Result<GoogleAuth, String> {
    let var = |k: &str| trimmed(&get, k);
    let trio: Vec<Option<String>> = REFRESH_KEYS.iter().map(|k| var(k)).collect();
    if trio.iter().any(Option::is_some) {
        if let Some((missing, _)) = REFRESH_KEYS.iter().zip(&trio).find(|(_, v)| v.is_none()) {
            return Err(format!(
                "configuration: {missing}: must be set with {} (OAuth refresh)",
                REFRESH_KEYS.join(", ")
            ));
        }
        if var("GOOGLE_ADS_ACCESS_TOKEN").is_some() {
            tracing::warn!("GOOGLE_ADS_ACCESS_TOKEN is ignored: the refresh token is used");
        }
        let mut trio = trio.into_iter().flatten();
        let (refresh_token, client_id, client_secret) = (
            trio.next().unwrap_or_default(),
            trio.next().unwrap_or_default(),
            trio.next().unwrap_or_default(),
        );
        return Ok(GoogleAuth::Refresh(OAuthRefresh {
            token_url: var("GOOGLE_ADS_TOKEN_URL")
                .unwrap_or_else(|| "https://oauth2.googleapis.com/token".into()),
            client_id,
            client_secret,
            refresh_token,
        }));
    }
    var("GOOGLE_ADS_ACCESS_TOKEN")
        .map(GoogleAuth::Fixed)
        .ok_or_else(|| {
            "configuration: GOOGLE_ADS_REFRESH_TOKEN: must be set with GOOGLE_ADS_CLIENT_ID and \
             GOOGLE_ADS_CLIENT_SECRET (or set GOOGLE_ADS_ACCESS_TOKEN instead)"
                .to_string()
        })
}

/// The configured version of `vendor` (or its default), checked against its sunset on `today`:
/// past it → an error naming the variable; close to it or unknown → a logged warning.
pub fn api_version(
    get: impl Fn(&str) -> Option<String>,
    vendor: Vendor,
    today: NaiveDate,
) -> Result<String, String> {
    let version =
        trimmed(&get, vendor.env_var()).unwrap_or_else(|| vendor.default_version().to_string());
    match versions::notice(vendor, &version, today) {
        Some(n) if n.blocker => Err(format!("configuration: {}", n.message)),
        Some(n) => {
            tracing::warn!(vendor = %vendor, version, "{}", n.message);
            Ok(version)
        }
        None => Ok(version),
    }
}

/// The configured vendors; `Ok(None)` when none is configured, an error naming the variable when
/// a configuration is incomplete or invalid. API versions are checked against today's date.
pub fn vendors_from_lookup(
    get: impl Fn(&str) -> Option<String>,
    clock: StoreClock,
) -> Result<Option<VendorPair>, String> {
    let today = clock.day_of(otto_core::clock::now()).date();
    vendors_from_lookup_on(get, clock, today)
}

/// [`vendors_from_lookup`] with "today" given (tests, `otto doctor`).
pub fn vendors_from_lookup_on(
    get: impl Fn(&str) -> Option<String>,
    clock: StoreClock,
    today: NaiveDate,
) -> Result<Option<VendorPair>, String> {
    let var = |k: &str| trimmed(&get, k);
    if let Some(path) = var("OTTO_SIM_VENDOR") {
        let sim = SimulatedVendor::open(Path::new(&path))
            .map_err(|e| format!("configuration: OTTO_SIM_VENDOR: {e}"))?
            .ok_or_else(|| format!("configuration: OTTO_SIM_VENDOR: {path} does not exist (run `otto demo` to create one)"))?;
        let sim = Arc::new(sim);
        return Ok(Some((sim.clone(), sim)));
    }
    match var("OTTO_VENDORS")
        .map(|v| v.to_ascii_lowercase())
        .as_deref()
    {
        None => {}
        Some("none") => {
            if let Some(k) = VENDOR_KEYS.iter().find(|k| var(k).is_some()) {
                return Err(format!(
                    "configuration: OTTO_VENDORS: is none, but {k} is set: a function has vendor access or not"
                ));
            }
            let none = Arc::new(NoVendorAccess);
            return Ok(Some((none.clone(), none)));
        }
        Some(other) => {
            return Err(format!(
                "configuration: OTTO_VENDORS: {other:?} is not a setting (none, or unset)"
            ))
        }
    }
    Ok(
        clients_from_lookup_on(&get, clock, today)?.map(|(shop, ads)| {
            let pair: VendorPair = (Arc::new(shop), Arc::new(ads));
            pair
        }),
    )
}

/// The configured Shopify and Google Ads clients themselves, not behind the ports (for checks
/// that read more than the ports do: `otto doctor`); `Ok(None)` when none is configured.
/// `OTTO_SIM_VENDOR` and `OTTO_VENDORS` are not looked at.
pub fn clients_from_lookup_on(
    get: impl Fn(&str) -> Option<String>,
    clock: StoreClock,
    today: NaiveDate,
) -> Result<Option<(ShopifyClient, GoogleAdsClient)>, String> {
    let var = |k: &str| trimmed(&get, k);
    if VENDOR_KEYS.iter().all(|k| var(k).is_none()) {
        return Ok(None);
    }
    if let Some(missing) = REQUIRED_KEYS.iter().find(|k| var(k).is_none()) {
        return Err(format!(
            "configuration: {missing}: must be set with the other SHOPIFY_*/GOOGLE_ADS_* variables"
        ));
    }
    let auth = google_auth(&get)?;
    let currency = Currency::new(&var("OTTO_CURRENCY").unwrap_or_else(|| "EUR".into()))
        .map_err(|e| format!("configuration: OTTO_CURRENCY: {e}"))?;
    let mapping = OfferMapping::from_lookup(&get)?;
    let index = CatalogIndex::default();
    let shop = shopify_client(&get, currency, today)?
        .with_catalog_index(index.clone())
        .with_store_clock(clock);
    let ads =
        google_ads_client(&get, auth, currency, clock, today)?.with_offer_mapping(mapping, index);
    Ok(Some((shop, ads)))
}

fn shopify_client(
    get: &impl Fn(&str) -> Option<String>,
    currency: Currency,
    today: NaiveDate,
) -> Result<ShopifyClient, String> {
    let need = |k: &str| trimmed(get, k).unwrap_or_default();
    ShopifyClient::new(ShopifyConfig {
        base_url: need("SHOPIFY_SHOP_URL"),
        api_version: api_version(get, Vendor::Shopify, today)?,
        access_token: need("SHOPIFY_ACCESS_TOKEN"),
        currency,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(30),
        max_retries: 5,
    })
    .map_err(|e| format!("configuration: SHOPIFY_*: {e}"))
    .and_then(|c| Ok(c.with_bulk(bulk_settings(get)?)))
}

/// `SHOPIFY_BULK_THRESHOLD_ORDERS`: orders in a sales window above which the read is a bulk
/// operation (default [`crate::shopify_orders::BULK_THRESHOLD_ORDERS`]).
fn bulk_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<crate::shopify_bulk::BulkSettings, String> {
    let mut settings = crate::shopify_bulk::BulkSettings::default();
    if let Some(v) = trimmed(get, "SHOPIFY_BULK_THRESHOLD_ORDERS") {
        settings.threshold_orders = v.parse().map_err(|_| {
            format!("configuration: SHOPIFY_BULK_THRESHOLD_ORDERS: {v:?} is not a number of orders")
        })?;
    }
    Ok(settings)
}

fn google_ads_client(
    get: &impl Fn(&str) -> Option<String>,
    auth: GoogleAuth,
    currency: Currency,
    clock: StoreClock,
    today: NaiveDate,
) -> Result<GoogleAdsClient, String> {
    let var = |k: &str| trimmed(get, k);
    let (access_token, refresh) = match auth {
        GoogleAuth::Fixed(t) => (t, None),
        GoogleAuth::Refresh(r) => (String::new(), Some(r)),
    };
    let ads = GoogleAdsClient::new(GoogleAdsConfig {
        base_url: var("GOOGLE_ADS_BASE_URL")
            .unwrap_or_else(|| "https://googleads.googleapis.com".into()),
        api_version: api_version(get, Vendor::GoogleAds, today)?,
        customer_id: var("GOOGLE_ADS_CUSTOMER_ID").unwrap_or_default(),
        login_customer_id: var("GOOGLE_ADS_LOGIN_CUSTOMER_ID"),
        developer_token: var("GOOGLE_ADS_DEVELOPER_TOKEN").unwrap_or_default(),
        access_token,
        currency,
        clock,
        max_retries: 5,
    })
    .map_err(|e| format!("configuration: GOOGLE_ADS_*: {e}"))?;
    Ok(match refresh {
        Some(r) => ads.with_oauth_refresh(r),
        None => ads,
    })
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

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    }

    fn build(pairs: &[(&str, &str)]) -> Result<Option<VendorPair>, String> {
        let clock = StoreClock::new("Europe/Amsterdam").unwrap();
        vendors_from_lookup_on(lookup(pairs), clock, today())
    }

    fn err(pairs: &[(&str, &str)]) -> String {
        match build(pairs) {
            Ok(_) => panic!("expected an error for {pairs:?}"),
            Err(e) => e,
        }
    }

    const BASE: [(&str, &str); 4] = [
        ("SHOPIFY_SHOP_URL", "https://x.myshopify.com"),
        ("SHOPIFY_ACCESS_TOKEN", "shpat_x"),
        ("GOOGLE_ADS_CUSTOMER_ID", "123-456-7890"),
        ("GOOGLE_ADS_DEVELOPER_TOKEN", "dev"),
    ];
    const REFRESH: [(&str, &str); 3] = [
        ("GOOGLE_ADS_REFRESH_TOKEN", "1//refresh"),
        ("GOOGLE_ADS_CLIENT_ID", "id.apps.googleusercontent.com"),
        ("GOOGLE_ADS_CLIENT_SECRET", "secret"),
    ];

    fn with(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
        BASE.iter().chain(extra).copied().collect()
    }

    #[test]
    fn nothing_configured_is_none() {
        assert!(build(&[]).unwrap().is_none());
        // Template parameters default to "": blank is unset.
        let blank: Vec<_> = VENDOR_KEYS.iter().map(|k| (*k, "")).collect();
        assert!(build(&blank).unwrap().is_none());
    }

    /// The documented set: refresh token + client id + client secret, no access token — with the
    /// access-token parameter blank, as the template passes it.
    #[test]
    fn refresh_token_set_builds() {
        assert!(build(&with(&REFRESH)).unwrap().is_some());
        let mut blank_access = with(&REFRESH);
        blank_access.push(("GOOGLE_ADS_ACCESS_TOKEN", ""));
        blank_access.push(("GOOGLE_ADS_LOGIN_CUSTOMER_ID", ""));
        assert!(build(&blank_access).unwrap().is_some());
        let mut both = with(&REFRESH);
        both.push(("GOOGLE_ADS_ACCESS_TOKEN", "ya29"));
        assert!(build(&both).unwrap().is_some());
        assert!(matches!(
            google_auth(lookup(&both)).unwrap(),
            GoogleAuth::Refresh(_)
        ));
    }

    #[test]
    fn fixed_access_token_set_builds() {
        let set = with(&[("GOOGLE_ADS_ACCESS_TOKEN", "ya29")]);
        assert!(build(&set).unwrap().is_some());
        assert!(matches!(
            google_auth(lookup(&set)).unwrap(),
            GoogleAuth::Fixed(t) if t == "ya29"
        ));
        let mut manager = set.clone();
        manager.push(("GOOGLE_ADS_LOGIN_CUSTOMER_ID", "111-222-3333"));
        assert!(build(&manager).unwrap().is_some());
    }

    #[test]
    fn the_bulk_threshold_is_a_setting_and_a_bad_one_is_named() {
        let mut pairs = with(&REFRESH);
        pairs.push(("SHOPIFY_BULK_THRESHOLD_ORDERS", "many"));
        let e = err(&pairs);
        assert!(
            e.starts_with("configuration: SHOPIFY_BULK_THRESHOLD_ORDERS:"),
            "{e}"
        );
        let get = lookup(&[("SHOPIFY_BULK_THRESHOLD_ORDERS", "500")]);
        assert_eq!(bulk_settings(&get).unwrap().threshold_orders, 500);
        let get = lookup(&[]);
        assert_eq!(
            bulk_settings(&get).unwrap().threshold_orders,
            crate::shopify_orders::BULK_THRESHOLD_ORDERS
        );
    }

    #[test]
    fn incomplete_sets_name_the_missing_variable() {
        for (i, (missing, _)) in REFRESH.iter().enumerate() {
            let partial: Vec<_> = REFRESH
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, p)| *p)
                .collect();
            let e = err(&with(&partial));
            assert!(e.starts_with(&format!("configuration: {missing}:")), "{e}");
            assert_eq!(e.lines().count(), 1, "{e}");
        }
        let e = err(&with(&[]));
        assert!(
            e.starts_with("configuration: GOOGLE_ADS_REFRESH_TOKEN:"),
            "{e}"
        );
        assert!(e.contains("GOOGLE_ADS_ACCESS_TOKEN"), "{e}");
        for (missing, _) in BASE {
            let partial: Vec<_> = BASE
                .iter()
                .chain(&REFRESH)
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let e = err(&partial);
            assert!(e.starts_with(&format!("configuration: {missing}:")), "{e}");
        }
        let e = err(&[("SHOPIFY_SHOP_URL", "https://x.myshopify.com")]);
        assert!(e.contains("SHOPIFY_ACCESS_TOKEN"), "{e}");
        let e = err(&[("GOOGLE_ADS_REFRESH_TOKEN", "r")]);
        assert!(e.contains("SHOPIFY_SHOP_URL"), "{e}");
    }

    #[test]
    fn versions_default_to_current_and_sunset_ones_are_refused() {
        let mut set = with(&REFRESH);
        set.push(("GOOGLE_ADS_API_VERSION", "v21"));
        let e = err(&set);
        assert!(
            e.starts_with("configuration: GOOGLE_ADS_API_VERSION:") && e.contains("2026-08-05"),
            "{e}"
        );
        let mut set = with(&REFRESH);
        set.push(("SHOPIFY_API_VERSION", "2025-10"));
        assert!(err(&set).starts_with("configuration: SHOPIFY_API_VERSION:"));
        let mut set = with(&REFRESH);
        set.push(("GOOGLE_ADS_API_VERSION", "v23"));
        set.push(("SHOPIFY_API_VERSION", "2026-01"));
        assert!(build(&set).unwrap().is_some());
        let g = |k: &str| -> Option<String> { (k == "X").then(String::new) };
        assert_eq!(api_version(g, Vendor::GoogleAds, today()).unwrap(), "v26");
        assert_eq!(api_version(g, Vendor::Shopify, today()).unwrap(), "2026-10");
        assert_eq!(api_version(g, Vendor::MetaGraph, today()).unwrap(), "v26.0");
    }

    #[test]
    fn a_function_without_vendor_access_starts_and_refuses_every_call() {
        assert!(build(&[("OTTO_VENDORS", "none")]).unwrap().is_some());
        assert!(build(&[("OTTO_VENDORS", "NONE")]).unwrap().is_some());
        let e = err(&with(&[("OTTO_VENDORS", "none")]));
        assert!(e.starts_with("configuration: OTTO_VENDORS:"), "{e}");
        assert!(err(&[("OTTO_VENDORS", "all")]).starts_with("configuration: OTTO_VENDORS:"));
    }

    #[test]
    fn other_settings() {
        let mut bad = with(&REFRESH);
        bad.push(("OTTO_CURRENCY", "euro"));
        assert!(err(&bad).contains("OTTO_CURRENCY"));
        let mut bad = with(&REFRESH);
        bad.push(("OTTO_OFFER_ID_FORM", "gtin"));
        assert!(err(&bad).contains("OTTO_OFFER_ID_FORM"));
        let mut shopify_form = with(&REFRESH);
        shopify_form.push(("OTTO_OFFER_ID_FORM", "shopify"));
        assert!(build(&shopify_form).unwrap().is_some());
        let missing = err(&[("OTTO_SIM_VENDOR", "/nonexistent/sim.json")]);
        assert!(missing.contains("does not exist"), "{missing}");
    }

    #[test]
    fn meta_version_is_a_setting() {
        let set = [("META_ACCESS_TOKEN", "t"), ("META_API_VERSION", "v20.0")];
        let e = match research_from_lookup_on(lookup(&set), today()) {
            Ok(_) => panic!("v20.0 expired 2026-09-24"),
            Err(e) => e,
        };
        assert!(e.starts_with("configuration: META_API_VERSION:"), "{e}");
        let set = [("META_ACCESS_TOKEN", "t")];
        assert_eq!(
            research_from_lookup_on(lookup(&set), today())
                .unwrap()
                .lanes
                .len(),
            1
        );
    }
}

/// Research lanes, keyword volumes and supplier_matcher's offers from the environment. Each lane
/// is on when its variables are set; a lane half-configured is an error naming the missing
/// variable.
///
/// | lane | variables |
/// |---|---|
/// | `frequency` (+ keyword volumes) | `DATAFORSEO_LOGIN`, `DATAFORSEO_PASSWORD`, `DATAFORSEO_LOCATION_CODE` (default 2528, NL) |
/// | `competitor` | `OTTO_COMPETITOR_STORES` (comma-separated storefront URLs), `OTTO_COMPETITOR_MAX_PAGES` (default 4) |
/// | `meta_ads` | `META_ACCESS_TOKEN`, `META_COUNTRIES` (default `NL`), `META_API_VERSION` (default [`versions::DEFAULT_META_GRAPH`]) |
/// | `aliexpress` | `ALIEXPRESS_APP_KEY`, `ALIEXPRESS_APP_SECRET`, `ALIEXPRESS_TRACKING_ID` |
/// | `organic` | `OTTO_ORGANIC_FILE` (CSV/JSON) |
/// | `spy_tools` | `OTTO_SPY_TOOLS_FILE` (CSV/JSON) |
///
/// supplier_matcher (`OTTO_SUPPLIER_MATCHER`: `dataforseo`, the default, or `off`) looks
/// candidates up in DataForSEO's Google Shopping products with the DataForSEO login above,
/// `DATAFORSEO_LOCATION_CODE`, `DATAFORSEO_MERCHANT_LANGUAGE_CODE` (default `nl`),
/// `DATAFORSEO_MERCHANT_MAX_TASKS` (default 30 per cycle), `DATAFORSEO_MERCHANT_WAIT_SECONDS`
/// (default 240), `DATAFORSEO_MERCHANT_PRIORITY` (`normal`/`high`); `OTTO_SUPPLIER_SELLERS`
/// (comma-separated seller-name fragments) overrides which sellers count as suppliers. Without a
/// DataForSEO login, or switched off, every candidate row says "not configured".
pub use crate::lanes::ResearchSources;

/// Keyword volumes when no provider is configured: everything "no data".
pub struct NoVolumes;

#[async_trait::async_trait]
impl crate::lanes::KeywordVolumes for NoVolumes {
    async fn volumes(
        &self,
        _keywords: &[String],
    ) -> Result<std::collections::BTreeMap<String, crate::lanes::KeywordStat>, crate::VendorError>
    {
        Ok(Default::default())
    }
}

pub fn research_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<ResearchSources, String> {
    research_from_lookup_on(get, otto_core::clock::now().date_naive())
}

/// [`research_from_lookup`] with "today" given (for the API version check).
pub fn research_from_lookup_on(
    get: impl Fn(&str) -> Option<String>,
    today: NaiveDate,
) -> Result<ResearchSources, String> {
    use crate::lanes::{
        aliexpress::AliExpressAffiliate, competitor::CompetitorFeeds, dataforseo::DataForSeoClient,
        files::FileLane, meta_ads::MetaAdLibrary,
    };
    let var = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let all_or_none = |keys: &[&str]| -> Result<Option<Vec<String>>, String> {
        let vals: Vec<Option<String>> = keys.iter().map(|k| var(k)).collect();
        if vals.iter().all(Option::is_none) {
            return Ok(None);
        }
        match keys.iter().zip(&vals).find(|(_, v)| v.is_none()) {
            Some((k, _)) => Err(format!(
                "configuration: {k}: must be set with {}",
                keys.join(", ")
            )),
            None => Ok(Some(vals.into_iter().flatten().collect())),
        }
    };
    let currency = Currency::new(&var("OTTO_CURRENCY").unwrap_or_else(|| "EUR".into()))
        .map_err(|e| format!("configuration: OTTO_CURRENCY: {e}"))?;
    let number = |k: &str, default: u64| -> Result<u64, String> {
        var(k).map_or(Ok(default), |v| {
            v.parse()
                .map_err(|_| format!("configuration: {k}: {v:?} is not a whole number"))
        })
    };
    let mut lanes: Vec<Arc<dyn crate::lanes::DiscoveryLane>> = Vec::new();
    let mut volumes: Arc<dyn crate::lanes::KeywordVolumes> = Arc::new(NoVolumes);
    let dataforseo = all_or_none(&["DATAFORSEO_LOGIN", "DATAFORSEO_PASSWORD"])?;
    let location = u32::try_from(number("DATAFORSEO_LOCATION_CODE", 2528)?)
        .map_err(|_| "configuration: DATAFORSEO_LOCATION_CODE: out of range".to_string())?;
    if let Some(v) = &dataforseo {
        let client = Arc::new(DataForSeoClient::new(
            DATAFORSEO_BASE,
            v[0].clone(),
            v[1].clone(),
            location,
            currency,
        ));
        lanes.push(client.clone());
        volumes = client;
    }
    let offers = supplier_offers(&var, dataforseo.as_deref(), location, &number)?;
    if let Some(stores) = var("OTTO_COMPETITOR_STORES") {
        let list: Vec<String> = stores
            .split(',')
            .map(|s| s.trim().trim_end_matches('/').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let pages = u32::try_from(number("OTTO_COMPETITOR_MAX_PAGES", 4)?).unwrap_or(u32::MAX);
        lanes.push(Arc::new(
            CompetitorFeeds::new(list, currency, 250).with_max_pages(pages),
        ));
    }
    if let Some(token) = var("META_ACCESS_TOKEN") {
        let countries = var("META_COUNTRIES")
            .unwrap_or_else(|| "NL".into())
            .split(',')
            .map(|c| c.trim().to_string())
            .collect();
        lanes.push(Arc::new(MetaAdLibrary::new(
            "https://graph.facebook.com",
            api_version(&get, Vendor::MetaGraph, today)?,
            token,
            countries,
        )));
    }
    if let Some(v) = all_or_none(&[
        "ALIEXPRESS_APP_KEY",
        "ALIEXPRESS_APP_SECRET",
        "ALIEXPRESS_TRACKING_ID",
    ])? {
        lanes.push(Arc::new(AliExpressAffiliate::new(
            "https://api-sg.aliexpress.com/sync".into(),
            v[0].clone(),
            v[1].clone(),
            v[2].clone(),
            currency,
        )));
    }
    if let Some(f) = var("OTTO_ORGANIC_FILE") {
        lanes.push(Arc::new(FileLane::organic(f.into(), currency)));
    }
    if let Some(f) = var("OTTO_SPY_TOOLS_FILE") {
        lanes.push(Arc::new(FileLane::spy_tools(f.into(), currency)));
    }
    let mut supplier_rules = otto_core::stages::supplier_matcher::MatchRules::default();
    if let Some(sellers) = var("OTTO_SUPPLIER_SELLERS") {
        supplier_rules.supplier_sellers = sellers
            .split(',')
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .collect();
    }
    Ok(ResearchSources {
        lanes,
        volumes,
        offers,
        supplier_rules,
    })
}

const DATAFORSEO_BASE: &str = "https://api.dataforseo.com";

/// supplier_matcher's offer source: DataForSEO Google Shopping, or a "not configured" that every
/// candidate row repeats.
fn supplier_offers(
    var: &dyn Fn(&str) -> Option<String>,
    login: Option<&[String]>,
    location: u32,
    number: &dyn Fn(&str, u64) -> Result<u64, String>,
) -> Result<Arc<dyn crate::lanes::ShoppingOffers>, String> {
    use crate::lanes::merchant::{DataForSeoMerchant, Priority};
    use crate::lanes::NoShoppingOffers;
    let not = |reason: &str| -> Arc<dyn crate::lanes::ShoppingOffers> {
        Arc::new(NoShoppingOffers {
            reason: reason.to_string(),
        })
    };
    match var("OTTO_SUPPLIER_MATCHER").as_deref() {
        None | Some("dataforseo") => {}
        Some("off") => return Ok(not("supplier_matcher is off (OTTO_SUPPLIER_MATCHER=off)")),
        Some(other) => {
            return Err(format!(
                "configuration: OTTO_SUPPLIER_MATCHER: {other:?} is not dataforseo or off"
            ))
        }
    }
    let Some(login) = login else {
        return Ok(not(
            "DataForSEO is not configured (DATAFORSEO_LOGIN / DATAFORSEO_PASSWORD): no supplier cross-reference",
        ));
    };
    let priority = match var("DATAFORSEO_MERCHANT_PRIORITY").as_deref() {
        None | Some("normal") => Priority::Normal,
        Some("high") => Priority::High,
        Some(other) => {
            return Err(format!(
                "configuration: DATAFORSEO_MERCHANT_PRIORITY: {other:?} is not normal or high"
            ))
        }
    };
    let language = var("DATAFORSEO_MERCHANT_LANGUAGE_CODE").unwrap_or_else(|| "nl".into());
    let wait = std::time::Duration::from_secs(number("DATAFORSEO_MERCHANT_WAIT_SECONDS", 240)?);
    let max_tasks = usize::try_from(number("DATAFORSEO_MERCHANT_MAX_TASKS", 30)?)
        .map_err(|_| "configuration: DATAFORSEO_MERCHANT_MAX_TASKS: out of range".to_string())?;
    let client = DataForSeoMerchant::new(
        DATAFORSEO_BASE,
        login[0].clone(),
        login[1].clone(),
        location,
        language,
    )
    .with_priority(priority)
    .with_max_tasks(max_tasks)
    .with_polling(
        wait,
        std::time::Duration::from_secs(5),
        std::time::Duration::from_secs(30),
    );
    Ok(Arc::new(client))
}

#[cfg(test)]
mod research_env_tests {
    use super::*;

    #[test]
    fn lanes_switch_on_by_their_variables() {
        let m: std::collections::HashMap<&str, &str> = [
            (
                "OTTO_COMPETITOR_STORES",
                "https://a.example, https://b.example/",
            ),
            ("META_ACCESS_TOKEN", "t"),
        ]
        .into_iter()
        .collect();
        let lanes = research_from_lookup(|k| m.get(k).map(|v| v.to_string()))
            .unwrap()
            .lanes;
        let names: Vec<&str> = lanes.iter().map(|l| l.name()).collect();
        assert_eq!(names, vec!["competitor", "meta_ads"]);
        let half: std::collections::HashMap<&str, &str> =
            [("ALIEXPRESS_APP_KEY", "k")].into_iter().collect();
        let err = research_from_lookup(|k| half.get(k).map(|v| v.to_string()))
            .err()
            .unwrap();
        assert!(err.contains("ALIEXPRESS_APP_SECRET"), "{err}");
        assert!(research_from_lookup(|_| None).unwrap().lanes.is_empty());
    }
}

/// The helpdesk from the environment; `Ok(None)` when `OTTO_HELPDESK` is unset.
///
/// | `OTTO_HELPDESK` | variables |
/// |---|---|
/// | `gorgias` | `GORGIAS_BASE_URL` (`https://{domain}.gorgias.com`), `GORGIAS_EMAIL`, `GORGIAS_API_KEY`; optional `GORGIAS_OPEN_VIEW_ID`, `GORGIAS_APPROVED_VIEW_ID`, `GORGIAS_APPROVED_TAG` (default `approved-reply`), `OTTO_CURRENCY` (refund markers without a code; default `EUR`) |
/// | `json` | `OTTO_HELPDESK_INBOX` (path of a `{"threads", "approved_replies"}` file) |
pub fn helpdesk_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<Box<dyn crate::helpdesk::Helpdesk>>, String> {
    use crate::gorgias::{GorgiasClient, GorgiasConfig};
    use crate::helpdesk::JsonInbox;
    let var = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let need = |k: &str, kind: &str| {
        var(k).ok_or_else(|| format!("configuration: {k}: must be set when OTTO_HELPDESK={kind}"))
    };
    let view = |k: &str| -> Result<Option<u64>, String> {
        var(k)
            .map(|v| {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("configuration: {k}: {v:?} is not a view id"))
            })
            .transpose()
    };
    let Some(kind) = var("OTTO_HELPDESK") else {
        return Ok(None);
    };
    match kind.to_ascii_lowercase().as_str() {
        "gorgias" => {
            let mut config = GorgiasConfig::new(
                need("GORGIAS_BASE_URL", "gorgias")?,
                need("GORGIAS_EMAIL", "gorgias")?,
                need("GORGIAS_API_KEY", "gorgias")?,
            );
            config.open_view_id = view("GORGIAS_OPEN_VIEW_ID")?;
            config.approved_view_id = view("GORGIAS_APPROVED_VIEW_ID")?;
            if let Some(tag) = var("GORGIAS_APPROVED_TAG") {
                config.approved_tag = tag;
            }
            if let Some(c) = var("OTTO_CURRENCY") {
                config.currency =
                    Currency::new(&c).map_err(|e| format!("configuration: OTTO_CURRENCY: {e}"))?;
            }
            let client = GorgiasClient::new(config)
                .map_err(|e| format!("configuration: GORGIAS_BASE_URL: {e}"))?;
            Ok(Some(Box::new(client)))
        }
        "json" => Ok(Some(Box::new(JsonInbox {
            path: need("OTTO_HELPDESK_INBOX", "json")?.into(),
        }))),
        _ => Err(format!(
            "configuration: OTTO_HELPDESK: {kind:?} is not a helpdesk (gorgias or json)"
        )),
    }
}

/// The brand-voice scorer from the environment.
///
/// | `OTTO_VOICE_PROVIDER` | variables |
/// |---|---|
/// | unset or `offline` | none (word-bag cosine, no network) |
/// | `openai` | `OTTO_EMBEDDINGS_URL` (e.g. `https://api.openai.com`), `OTTO_EMBEDDINGS_API_KEY`, `OTTO_EMBEDDINGS_MODEL` |
pub fn voice_from_lookup(
    get: impl Fn(&str) -> Option<String>,
) -> Result<Box<dyn crate::voice::VoiceScorer>, String> {
    use crate::voice::{OfflineVoice, OpenAiEmbeddings};
    let var = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let need = |k: &str| {
        var(k).ok_or_else(|| {
            format!("configuration: {k}: must be set when OTTO_VOICE_PROVIDER=openai")
        })
    };
    let provider = var("OTTO_VOICE_PROVIDER").map(|p| p.to_ascii_lowercase());
    match provider.as_deref() {
        None | Some("offline") => Ok(Box::new(OfflineVoice)),
        Some("openai") => {
            let url = need("OTTO_EMBEDDINGS_URL")?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "configuration: OTTO_EMBEDDINGS_URL: {url:?} is not an http(s) URL"
                ));
            }
            Ok(Box::new(OpenAiEmbeddings::new(
                url,
                need("OTTO_EMBEDDINGS_API_KEY")?,
                need("OTTO_EMBEDDINGS_MODEL")?,
            )))
        }
        Some(other) => Err(format!(
            "configuration: OTTO_VOICE_PROVIDER: {other:?} is not a voice provider (offline or openai)"
        )),
    }
}

#[cfg(test)]
mod helpdesk_voice_env_tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    fn err_of<T>(r: Result<T, String>) -> String {
        match r {
            Ok(_) => panic!("expected an error"),
            Err(e) => e,
        }
    }

    #[test]
    fn helpdesk_choices() {
        assert!(helpdesk_from_lookup(lookup(&[])).unwrap().is_none());
        assert!(helpdesk_from_lookup(lookup(&[("OTTO_HELPDESK", " ")]))
            .unwrap()
            .is_none());
        let gorgias = [
            ("OTTO_HELPDESK", "gorgias"),
            ("GORGIAS_BASE_URL", "https://acme.gorgias.com"),
            ("GORGIAS_EMAIL", "bot@acme.test"),
            ("GORGIAS_API_KEY", "k"),
        ];
        assert!(helpdesk_from_lookup(lookup(&gorgias)).unwrap().is_some());
        for missing in ["GORGIAS_BASE_URL", "GORGIAS_EMAIL", "GORGIAS_API_KEY"] {
            let partial: Vec<_> = gorgias
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = err_of(helpdesk_from_lookup(lookup(&partial)));
            assert!(err.contains(missing), "{err}");
        }
        let mut bad_view = gorgias.to_vec();
        bad_view.push(("GORGIAS_OPEN_VIEW_ID", "open"));
        let err = err_of(helpdesk_from_lookup(lookup(&bad_view)));
        assert!(err.contains("GORGIAS_OPEN_VIEW_ID"), "{err}");
        let mut bad_url = gorgias.to_vec();
        bad_url[1] = ("GORGIAS_BASE_URL", "acme.gorgias.com");
        let err = err_of(helpdesk_from_lookup(lookup(&bad_url)));
        assert!(err.contains("GORGIAS_BASE_URL"), "{err}");

        let err = err_of(helpdesk_from_lookup(lookup(&[("OTTO_HELPDESK", "json")])));
        assert!(err.contains("OTTO_HELPDESK_INBOX"), "{err}");
        assert!(helpdesk_from_lookup(lookup(&[
            ("OTTO_HELPDESK", "json"),
            ("OTTO_HELPDESK_INBOX", "/tmp/inbox.json"),
        ]))
        .unwrap()
        .is_some());
        let err = err_of(helpdesk_from_lookup(lookup(&[(
            "OTTO_HELPDESK",
            "zendesk",
        )])));
        assert!(
            err.contains("OTTO_HELPDESK") && err.contains("zendesk"),
            "{err}"
        );
    }

    #[test]
    fn voice_choices() {
        assert_eq!(voice_from_lookup(lookup(&[])).unwrap().name(), "offline");
        assert_eq!(
            voice_from_lookup(lookup(&[("OTTO_VOICE_PROVIDER", "offline")]))
                .unwrap()
                .name(),
            "offline"
        );
        let openai = [
            ("OTTO_VOICE_PROVIDER", "openai"),
            ("OTTO_EMBEDDINGS_URL", "https://api.openai.com"),
            ("OTTO_EMBEDDINGS_API_KEY", "sk"),
            ("OTTO_EMBEDDINGS_MODEL", "text-embedding-3-small"),
        ];
        assert_eq!(voice_from_lookup(lookup(&openai)).unwrap().name(), "openai");
        for missing in [
            "OTTO_EMBEDDINGS_URL",
            "OTTO_EMBEDDINGS_API_KEY",
            "OTTO_EMBEDDINGS_MODEL",
        ] {
            let partial: Vec<_> = openai
                .iter()
                .copied()
                .filter(|(k, _)| *k != missing)
                .collect();
            let err = err_of(voice_from_lookup(lookup(&partial)));
            assert!(err.contains(missing), "{err}");
        }
        let err = err_of(voice_from_lookup(lookup(&[(
            "OTTO_VOICE_PROVIDER",
            "bert",
        )])));
        assert!(
            err.contains("OTTO_VOICE_PROVIDER") && err.contains("bert"),
            "{err}"
        );
    }
}
