//! The vendor clients build from the template's own parameters: every `VAR: !Ref Param` of
//! template.yaml, each parameter at its `Default` unless the deployment below sets it, secrets
//! as SSM parameter names read at cold start — so a
//! renamed parameter or variable, or a documented credential set that does not start, fails here
//! rather than at every function's cold start.

use chrono::NaiveDate;
use otto_connectors::env::{
    helpdesk_from_lookup, research_from_lookup_on, vendors_from_lookup_on, voice_from_lookup,
};
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
