//! The vendor clients build from the template's own parameters: every `VAR: !Ref Param` of
//! template.yaml, each parameter at its `Default` unless the deployment below sets it, secrets
//! as SSM parameter names read at cold start — so a
//! renamed parameter or variable, or a documented credential set that does not start, fails here
//! rather than at every function's cold start.

use chrono::NaiveDate;
use otto_connectors::env::{
    helpdesk_from_lookup, research_from_lookup_on, vendors_from_lookup_on, voice_from_lookup,
};
use otto_connectors::lanes::OfferLookup;
use otto_core::StoreClock;
use std::collections::HashMap;

fn template() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
    std::fs::read_to_string(path).expect("template.yaml")
}

/// `Parameters:` → name → `Default` (quotes removed; no default → "").
fn parameter_defaults(t: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let mut current: Option<String> = None;
    let mut inside = false;
    for line in t.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() && !line.starts_with('#') {
            inside = line.starts_with("Parameters:");
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim_end();
        if let Some(name) = trimmed
            .strip_prefix("  ")
            .filter(|n| !n.starts_with(' ') && n.ends_with(':'))
        {
            let name = name.trim_end_matches(':').to_string();
            out.insert(name.clone(), String::new());
            current = Some(name);
        } else if let (Some(name), Some(d)) = (&current, trimmed.trim().strip_prefix("Default:")) {
            let d = d.trim().trim_matches('"').trim_matches('\'').to_string();
            out.insert(name.clone(), d);
        }
    }
    out
}

/// Every `VAR: !Ref Param` in the template.
fn env_refs(t: &str) -> Vec<(String, String)> {
    t.lines()
        .filter_map(|l| {
            let (var, rest) = l.trim().split_once(": !Ref ")?;
            let ok = !var.is_empty()
                && var
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            ok.then(|| (var.to_string(), rest.trim().to_string()))
        })
        .collect()
}

/// The environment a deployment with `set` parameters gives every function.
fn environment(set: &[(&str, &str)]) -> HashMap<String, String> {
    let t = template();
    let mut params = parameter_defaults(&t);
    for (k, v) in set {
        assert!(
            params.contains_key(*k),
            "template.yaml has no parameter {k}"
        );
        params.insert(k.to_string(), v.to_string());
    }
    let mut env: HashMap<String, String> = env_refs(&t)
        .into_iter()
        .map(|(var, param)| {
            let v = params.get(&param).cloned().unwrap_or_default();
            (var, v)
        })
        .collect();
    // Secrets reach a function as SSM parameter names (`X_PARAM`); its cold start reads each
    // named one into `X` (otto_runtime::secrets). Stand in for that read.
    let secrets: Vec<(String, String)> = env
        .iter()
        .filter(|(k, v)| k.ends_with("_PARAM") && !v.is_empty())
        .map(|(k, v)| (k.trim_end_matches("_PARAM").to_string(), format!("ssm:{v}")))
        .collect();
    env.extend(secrets);
    env
}

const SHOP_AND_ACCOUNT: [(&str, &str); 4] = [
    ("ShopifyShopUrl", "https://acme.myshopify.com"),
    ("ShopifyAccessTokenParam", "/otto/shopify-token"),
    ("GoogleAdsCustomerId", "123-456-7890"),
    ("GoogleAdsDeveloperTokenParam", "/otto/developer-token"),
];

fn builds_everything(env: &HashMap<String, String>) -> bool {
    let get = |k: &str| env.get(k).cloned();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let vendors = vendors_from_lookup_on(get, clock, today).expect("vendors");
    research_from_lookup_on(get, today).expect("research lanes");
    helpdesk_from_lookup(get).expect("helpdesk");
    voice_from_lookup(get).expect("voice");
    vendors.is_some()
}

#[test]
fn the_template_passes_every_vendor_variable() {
    let refs: Vec<String> = env_refs(&template()).into_iter().map(|(v, _)| v).collect();
    for var in [
        "SHOPIFY_SHOP_URL",
        "SHOPIFY_ACCESS_TOKEN_PARAM",
        "GOOGLE_ADS_CUSTOMER_ID",
        "GOOGLE_ADS_DEVELOPER_TOKEN_PARAM",
        "GOOGLE_ADS_REFRESH_TOKEN_PARAM",
        "GOOGLE_ADS_CLIENT_ID",
        "GOOGLE_ADS_CLIENT_SECRET_PARAM",
        "GOOGLE_ADS_ACCESS_TOKEN_PARAM",
        "OTTO_CURRENCY",
    ] {
        assert!(
            refs.iter().any(|r| r == var),
            "template.yaml does not pass {var}"
        );
    }
}

#[test]
fn defaults_alone_start_without_vendors() {
    assert!(!builds_everything(&environment(&[])));
}

#[test]
fn the_documented_refresh_token_deployment_starts() {
    let mut set = SHOP_AND_ACCOUNT.to_vec();
    set.extend([
        ("GoogleAdsRefreshTokenParam", "/otto/refresh-token"),
        ("GoogleAdsClientId", "id.apps.googleusercontent.com"),
        ("GoogleAdsClientSecretParam", "/otto/client-secret"),
    ]);
    let env = environment(&set);
    assert!(
        env.get("GOOGLE_ADS_ACCESS_TOKEN")
            .is_none_or(|v| v.is_empty()),
        "no access token is set"
    );
    assert!(builds_everything(&env));
}

#[test]
fn the_fixed_access_token_deployment_starts() {
    let mut set = SHOP_AND_ACCOUNT.to_vec();
    set.push(("GoogleAdsAccessTokenParam", "/otto/access-token"));
    assert!(builds_everything(&environment(&set)));
}

#[test]
fn a_half_set_refresh_token_names_the_missing_parameter_variable() {
    let mut set = SHOP_AND_ACCOUNT.to_vec();
    set.extend([
        ("GoogleAdsRefreshTokenParam", "/otto/refresh-token"),
        ("GoogleAdsClientId", "id"),
    ]);
    let env = environment(&set);
    let get = |k: &str| env.get(k).cloned();
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    match vendors_from_lookup_on(get, clock, today) {
        Err(e) => assert!(
            e.starts_with("configuration: GOOGLE_ADS_CLIENT_SECRET:"),
            "{e}"
        ),
        Ok(_) => panic!("a refresh token without its client secret must not start"),
    }
}

fn vendors_error(set: &[(&str, &str)]) -> String {
    let env = environment(set);
    let get = |k: &str| env.get(k).cloned();
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    match vendors_from_lookup_on(get, clock, today) {
        Err(e) => e,
        Ok(_) => panic!("{set:?} must not start"),
    }
}

#[test]
fn api_versions_and_the_offer_id_form_are_template_parameters() {
    let mut set = SHOP_AND_ACCOUNT.to_vec();
    set.push(("GoogleAdsAccessTokenParam", "/otto/access-token"));
    // Current versions and each offer-id form start.
    let mut current = set.clone();
    current.extend([
        ("ShopifyApiVersion", "2026-07"),
        ("GoogleAdsApiVersion", "v25"),
        ("OfferIdForm", "custom_label"),
        ("OfferIdLabel", "2"),
    ]);
    assert!(builds_everything(&environment(&current)));
    let mut shopify_form = set.clone();
    shopify_form.push(("OfferIdForm", "shopify"));
    assert!(builds_everything(&environment(&shopify_form)));
    // A sunset version, or a custom label form without its label, names the variable.
    let mut old = set.clone();
    old.push(("ShopifyApiVersion", "2025-10"));
    assert!(vendors_error(&old).starts_with("configuration: SHOPIFY_API_VERSION:"));
    let mut old = set.clone();
    old.push(("GoogleAdsApiVersion", "v21"));
    assert!(vendors_error(&old).starts_with("configuration: GOOGLE_ADS_API_VERSION:"));
    let mut no_label = set.clone();
    no_label.push(("OfferIdForm", "custom_label"));
    assert!(vendors_error(&no_label).starts_with("configuration: OTTO_OFFER_ID_LABEL:"));
}

#[test]
fn every_research_lane_switches_on_from_the_template() {
    let today = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let names = |set: &[(&str, &str)]| -> Vec<String> {
        let env = environment(set);
        let lanes = research_from_lookup_on(|k: &str| env.get(k).cloned(), today)
            .expect("lanes")
            .lanes;
        lanes.iter().map(|l| l.name().to_string()).collect()
    };
    assert!(names(&[]).is_empty(), "every lane is off by default");
    let all = names(&[
        ("DataForSeoLogin", "login"),
        ("DataForSeoPasswordParam", "/otto/dataforseo"),
        ("DataForSeoLocationCode", "2276"),
        ("CompetitorStores", "https://rival.example"),
        ("MetaAccessTokenParam", "/otto/meta"),
        ("MetaCountries", "NL,DE"),
        ("MetaApiVersion", "v25.0"),
        ("AliExpressAppKey", "k"),
        ("AliExpressAppSecretParam", "/otto/aliexpress"),
        ("AliExpressTrackingId", "t"),
        ("OrganicFile", "/opt/organic.csv"),
        ("SpyToolsFile", "/opt/spy.csv"),
    ]);
    assert_eq!(
        all,
        vec![
            "frequency",
            "competitor",
            "meta_ads",
            "aliexpress",
            "organic",
            "spy_tools"
        ]
    );
    // supplier_matcher: DataForSEO when its login is set (a 701-character title is refused
    // before any request, so this probes which source is wired without a network call), "off"
    // or "not configured" said otherwise.
    let supplier = |set: &[(&str, &str)]| -> OfferLookup {
        let env = environment(set);
        let src = research_from_lookup_on(|k: &str| env.get(k).cloned(), today).expect("lanes");
        let probe = "x".repeat(701);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let unkept = otto_connectors::lanes::Unkept {
            now: chrono::Utc::now(),
        };
        rt.block_on(src.offers.offers(std::slice::from_ref(&probe), &unkept))
            .remove(&probe)
            .expect("an outcome")
    };
    let login = [
        ("DataForSeoLogin", "login"),
        ("DataForSeoPasswordParam", "/otto/dataforseo"),
    ];
    assert!(matches!(supplier(&login), OfferLookup::Skipped { .. }));
    let mut off = login.to_vec();
    off.push(("SupplierMatcher", "off"));
    assert!(
        matches!(supplier(&off), OfferLookup::NotConfigured { reason } if reason.contains("off"))
    );
    assert!(matches!(
        supplier(&[]),
        OfferLookup::NotConfigured { reason } if reason.contains("DATAFORSEO_LOGIN")
    ));
    let env = environment(&[
        ("MetaAccessTokenParam", "/otto/meta"),
        ("MetaApiVersion", "v20.0"),
    ]);
    let e = research_from_lookup_on(|k: &str| env.get(k).cloned(), today)
        .err()
        .expect("a sunset Meta version must not start");
    assert!(e.starts_with("configuration: META_API_VERSION:"), "{e}");
}
