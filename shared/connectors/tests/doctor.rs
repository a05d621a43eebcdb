//! `otto doctor`'s checks against local replay servers, answering with the vendors' documented
//! shapes: Shopify's `shop` / `currentAppInstallation.accessScopes`
//! (https://shopify.dev/docs/api/admin-graphql/latest/objects/Shop,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/AppInstallation), Google Ads'
//! `customer` row (https://developers.google.com/google-ads/api/fields/v22/customer) through
//! `googleAds:searchStream`, an expired OAuth token (`authenticationError: OAUTH_TOKEN_EXPIRED`,
//! https://developers.google.com/google-ads/api/docs/get-started/common-errors), a sunset API
//! version, offers the catalog does not map, and an ad account in another currency.

mod common;

use chrono::NaiveDate;
use common::{recording_sleeper, FakeServer};
use otto_connectors::doctor::{self, check_vendors, Expected, Severity};
use otto_connectors::google_ads::{GoogleAdsClient, GoogleAdsConfig};
use otto_connectors::offers::{CatalogIndex, OfferMapping};
use otto_connectors::shopify::{ShopifyClient, ShopifyConfig};
use otto_core::{Currency, StoreClock};
use serde_json::{json, Value};
use std::time::Duration;

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn clients(shop_server: &FakeServer, ads_server: &FakeServer) -> (ShopifyClient, GoogleAdsClient) {
    let index = CatalogIndex::default();
    let (sleeper, _) = recording_sleeper();
    let shop = ShopifyClient::new(ShopifyConfig {
        base_url: shop_server.base_url.clone(),
        api_version: "2026-10".into(),
        access_token: "shpat_test".into(),
        currency: Currency::EUR,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(2),
        max_retries: 1,
    })
    .unwrap()
    .with_sleeper(sleeper.clone())
    .with_backoff_base(Duration::from_millis(1))
    .with_catalog_index(index.clone());
    let ads = GoogleAdsClient::new(GoogleAdsConfig {
        base_url: ads_server.base_url.clone(),
        api_version: "v26".into(),
        customer_id: "1234567890".into(),
        login_customer_id: None,
        developer_token: "dev-tok".into(),
        access_token: "ya29.test".into(),
        currency: Currency::EUR,
        clock: clock(),
        max_retries: 1,
    })
    .unwrap()
    .with_sleeper(sleeper)
    .with_backoff_base(Duration::from_millis(1))
    .with_offer_mapping(OfferMapping::default(), index);
    (shop, ads)
}

fn expected() -> Expected {
    Expected {
        currency: Currency::EUR,
        clock: clock(),
        mapping: OfferMapping::default(),
        today: today(),
    }
}

fn shop_info(currency: &str, tz: &str, scopes: &[&str]) -> (u16, String) {
    (
        200,
        json!({
            "data": {
                "shop": { "name": "Brevard Linen", "currencyCode": currency, "ianaTimezone": tz },
                "currentAppInstallation": { "accessScopes":
                    scopes.iter().map(|s| json!({ "handle": s })).collect::<Vec<_>>() }
            },
            "extensions": { "cost": { "requestedQueryCost": 3, "actualQueryCost": 3,
                "throttleStatus": { "maximumAvailable": 2000.0, "currentlyAvailable": 1997, "restoreRate": 100.0 } } }
        })
        .to_string(),
    )
}

const ALL_SCOPES: [&str; 5] = [
    "read_products",
    "write_products",
    "read_inventory",
    "read_orders",
    "write_publications",
];

fn stream(rows: Vec<Value>) -> (u16, String) {
    (
        200,
        json!([{ "results": rows, "fieldMask": "customer.id,customer.currencyCode,customer.timeZone", "requestId": "req-1" }])
            .to_string(),
    )
}

fn account(currency: &str, tz: &str) -> (u16, String) {
    stream(vec![json!({ "customer": {
        "resourceName": "customers/1234567890", "id": "1234567890",
        "currencyCode": currency, "timeZone": tz } })])
}

fn catalog(skus: &[&str]) -> (u16, String) {
    let nodes: Vec<Value> = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| {
            json!({
                "id": format!("gid://shopify/ProductVariant/{}", 100 + i), "sku": sku,
                "title": "Default Title", "price": "49.95", "compareAtPrice": null,
                "inventoryQuantity": 4, "updatedAt": "2026-11-30T08:00:00Z",
                "product": { "id": format!("gid://shopify/Product/{}", 10 + i), "title": "Linen Throw",
                    "handle": "linen-throw", "status": "ACTIVE", "tags": [] },
                "inventoryItem": { "unitCost": { "amount": "12.00", "currencyCode": "EUR" } }
            })
        })
        .collect();
    (
        200,
        json!({ "data": { "productVariants": {
            "pageInfo": { "hasNextPage": false, "endCursor": null }, "nodes": nodes } } })
        .to_string(),
    )
}

fn offer(id: &str, day: &str) -> Value {
    json!({ "segments": { "productItemId": id, "date": day }, "metrics": {
        "impressions": "100", "clicks": "4", "costMicros": "1200000" } })
}

fn find<'a>(
    findings: &'a [doctor::Finding],
    check: &str,
    severity: Severity,
) -> Option<&'a doctor::Finding> {
    findings
        .iter()
        .find(|f| f.check == check && f.severity == severity)
}

#[tokio::test]
async fn a_healthy_store_has_no_problem_and_every_check_is_listed() {
    let shop_server = FakeServer::start(vec![
        shop_info("EUR", "Europe/Amsterdam", &ALL_SCOPES),
        catalog(&["LIN-01", "LIN-02"]),
    ])
    .await;
    let ads_server = FakeServer::start(vec![
        account("EUR", "Europe/Amsterdam"),
        stream(vec![
            offer("lin-01", "2026-11-29"),
            offer("lin-02", "2026-11-30"),
        ]),
    ])
    .await;
    let (shop, ads) = clients(&shop_server, &ads_server);
    let f = check_vendors(&shop, &ads, &expected()).await;
    assert!(f.iter().all(|f| f.severity == Severity::Ok), "{:#?}", f);
    let checks: Vec<&str> = f.iter().map(|f| f.check).collect();
    assert_eq!(
        checks,
        vec![
            "shopify",
            "currency",
            "time_zone",
            "google_ads",
            "currency",
            "offer_mapping"
        ]
    );
    // Read-only, and the coverage window is the 7 days before today.
    let gaql = ads_server.requests()[1].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        gaql.contains("BETWEEN '2026-11-24' AND '2026-11-30'"),
        "{gaql}"
    );
    let shop_q = shop_server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(shop_q.contains("ianaTimezone") && !shop_q.contains("mutation"));
}

#[tokio::test]
async fn an_expired_token_is_a_blocker_that_says_to_renew_it() {
    let shop_server =
        FakeServer::start(vec![shop_info("EUR", "Europe/Amsterdam", &ALL_SCOPES)]).await;
    let expired = (
        401,
        json!({ "error": {
            "code": 401,
            "message": "Request had invalid authentication credentials.",
            "status": "UNAUTHENTICATED",
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": [{ "errorCode": { "authenticationError": "OAUTH_TOKEN_EXPIRED" },
                             "message": "Oauth token is expired." }],
                "requestId": "Dd4Ee5"
            }]
        }})
        .to_string(),
    );
    let ads_server = FakeServer::start(vec![expired.clone(), expired]).await;
    let (shop, ads) = clients(&shop_server, &ads_server);
    let f = check_vendors(&shop, &ads, &expected()).await;
    let b = find(&f, "google_ads", Severity::Blocker).expect("a google_ads blocker");
    assert!(b.fix.contains("refresh token"), "{}", b.fix);
    // No coverage check on a dead account.
    assert!(f.iter().all(|f| f.check != "offer_mapping"), "{f:#?}");
}

#[tokio::test]
async fn unmapped_offers_are_a_blocker_with_the_form_to_set() {
    let shop_server = FakeServer::start(vec![
        shop_info("EUR", "Europe/Amsterdam", &ALL_SCOPES),
        catalog(&["LIN-01"]),
    ])
    .await;
    let ads_server = FakeServer::start(vec![
        account("EUR", "Europe/Amsterdam"),
        stream(vec![
            offer("lin-01", "2026-11-29"),
            offer("shopify_nl_7001_42001", "2026-11-29"),
            offer("shopify_nl_7001_42002", "2026-11-30"),
        ]),
    ])
    .await;
    let (shop, ads) = clients(&shop_server, &ads_server);
    let f = check_vendors(&shop, &ads, &expected()).await;
    let b = find(&f, "offer_mapping", Severity::Blocker).expect("a coverage blocker");
    assert!(b.message.contains("1 of 3 offers (33%)"), "{}", b.message);
    assert!(b.message.contains("shopify_nl_7001_42001"), "{}", b.message);
    assert!(b.fix.contains("OTTO_OFFER_ID_FORM=shopify"), "{}", b.fix);
}

#[tokio::test]
async fn a_currency_mismatch_missing_scopes_and_another_time_zone_are_named() {
    let shop_server = FakeServer::start(vec![shop_info(
        "EUR",
        "Europe/London",
        &["read_products", "read_inventory"],
    )])
    .await;
    let ads_server = FakeServer::start(vec![account("USD", "America/New_York")]).await;
    let (shop, ads) = clients(&shop_server, &ads_server);
    let f = check_vendors(&shop, &ads, &expected()).await;
    let scopes = find(&f, "shopify", Severity::Blocker).expect("missing scopes");
    assert!(
        scopes
            .message
            .contains("write_products, read_orders, write_publications"),
        "{}",
        scopes.message
    );
    let cur = find(&f, "currency", Severity::Blocker).expect("currency mismatch");
    assert!(
        cur.message.contains("USD") && cur.message.contains("EUR"),
        "{}",
        cur.message
    );
    let tz: Vec<&str> = f
        .iter()
        .filter(|f| f.check == "time_zone" && f.severity == Severity::Warning)
        .map(|f| f.fix.as_str())
        .collect();
    assert_eq!(tz.len(), 2, "{f:#?}");
    assert!(tz[0].contains("OTTO_STORE_TZ=Europe/London"), "{}", tz[0]);
}

#[tokio::test]
async fn a_sunset_version_is_one_blocker_and_no_vendor_is_called() {
    let env = |k: &str| -> Option<String> {
        match k {
            "SHOPIFY_SHOP_URL" => Some("http://127.0.0.1:9".into()),
            "SHOPIFY_ACCESS_TOKEN" => Some("shpat".into()),
            "GOOGLE_ADS_CUSTOMER_ID" => Some("1234567890".into()),
            "GOOGLE_ADS_DEVELOPER_TOKEN" => Some("dev".into()),
            "GOOGLE_ADS_ACCESS_TOKEN" => Some("ya29".into()),
            "SHOPIFY_API_VERSION" => Some("2025-10".into()),
            _ => None,
        }
    };
    let report = doctor::run(env, clock(), today()).await;
    assert_eq!(report.blockers(), 1, "{report:#?}");
    let lines = report.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].starts_with("BLOCKER versions: SHOPIFY_API_VERSION:")
            && lines[0].contains("fix: set SHOPIFY_API_VERSION=2026-10"),
        "{}",
        lines[0]
    );
    // Nothing configured is a blocker too, with what to set.
    let none = doctor::run(|_: &str| None, clock(), today()).await;
    assert_eq!(none.blockers(), 1);
    assert!(none.lines()[0].contains("SHOPIFY_SHOP_URL"));
}
