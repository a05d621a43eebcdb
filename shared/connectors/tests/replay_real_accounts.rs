//! Local replay servers for what a real store connecting on day one sends, built from the vendors'
//! documented examples:
//! * an `UNLISTED` product (and a status Shopify may add later) —
//!   https://shopify.dev/docs/api/admin-graphql/latest/enums/ProductStatus.md;
//! * a multi-currency shop (a `unitCost` `MoneyV2` in another currency) —
//!   https://shopify.dev/docs/api/admin-graphql/latest/objects/InventoryItem;
//! * Shopify throttling (`errors[].extensions.code == "THROTTLED"`, `actualQueryCost: null`) —
//!   https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits.md, body shape as in
//!   https://community.shopify.com/t/throttled/254776;
//! * offers from Shopify's Google & YouTube channel (`shopify_<COUNTRY>_<productId>_<variantId>`)
//!   and from custom labels —
//!   https://developers.google.com/google-ads/api/fields/v22/shopping_performance_view;
//! * Google's `GoogleAdsFailure` error body (`error.details[]` with `errors[].errorCode`) —
//!   https://developers.google.com/google-ads/api/reference/rpc/v26/GoogleAdsFailure.md.txt;
//! * an expired OAuth access token (`authenticationError: OAUTH_TOKEN_EXPIRED`, HTTP 401) —
//!   https://developers.google.com/google-ads/api/docs/get-started/common-errors;
//! * DataForSEO keywords over the limits —
//!   https://developers.google.com/google-ads/api/reference/rpc/v26/KeywordInfo,
//!   https://dataforseo.com/help-center/using-symbols-in-keywords-when-setting-a-google-ads-task.

mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::google_ads::{GoogleAdsClient, GoogleAdsConfig, OAuthRefresh};
use otto_connectors::lanes::dataforseo::{DataForSeoClient, LaneHttp};
use otto_connectors::lanes::DiscoveryLane;
use otto_connectors::offers::{CatalogIndex, OfferIdForm, OfferMapping};
use otto_connectors::shopify::{ShopifyClient, ShopifyConfig};
use otto_connectors::{AdsAccount, ShopCatalog, VendorError};
use otto_core::metrics::ProductStatus;
use otto_core::{Currency, Money, StoreClock, StoreDay};
use serde_json::{json, Value};
use std::time::Duration;

// ---- Shopify -------------------------------------------------------------------------------

fn shop(server: &FakeServer) -> ShopifyClient {
    let (sleeper, _) = recording_sleeper();
    ShopifyClient::new(ShopifyConfig {
        base_url: server.base_url.clone(),
        api_version: "2026-10".into(),
        access_token: "shpat_test".into(),
        currency: Currency::EUR,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(2),
        max_retries: 2,
    })
    .unwrap()
    .with_sleeper(sleeper)
    .with_backoff_base(Duration::from_millis(1))
}

fn node(variant: u32, product: u32, sku: &str, status: &str, cost: Value) -> Value {
    json!({
        "id": format!("gid://shopify/ProductVariant/{variant}"),
        "sku": sku,
        "title": "Default Title",
        "price": "49.95",
        "compareAtPrice": null,
        "inventoryQuantity": 4,
        "updatedAt": "2026-11-30T08:00:00Z",
        "product": {
            "id": format!("gid://shopify/Product/{product}"), "title": "Linen Throw",
            "handle": "linen-throw", "status": status, "tags": []
        },
        "inventoryItem": { "unitCost": cost }
    })
}

fn eur_cost(amount: &str) -> Value {
    json!({ "amount": amount, "currencyCode": "EUR" })
}

fn page(nodes: Vec<Value>) -> (u16, String) {
    (
        200,
        json!({
            "data": { "productVariants": {
                "pageInfo": { "hasNextPage": false, "endCursor": null },
                "nodes": nodes
            }},
            "extensions": { "cost": {
                "requestedQueryCost": 802, "actualQueryCost": 14,
                "throttleStatus": { "maximumAvailable": 2000.0, "currentlyAvailable": 1986, "restoreRate": 100.0 }
            }}
        })
        .to_string(),
    )
}

#[tokio::test]
async fn an_unlisted_product_is_held_out_and_listed_never_fatal() {
    let nodes = vec![
        node(1, 10, "LIN-01", "ACTIVE", eur_cost("12.00")),
        node(2, 20, "GIFT-01", "UNLISTED", eur_cost("3.00")),
        node(3, 30, "NEW-01", "SOME_STATUS_ADDED_LATER", Value::Null),
    ];
    let server = FakeServer::start(vec![page(nodes.clone()), page(nodes)]).await;
    let c = shop(&server);
    let sync = c
        .fetch_catalog()
        .await
        .expect("an UNLISTED product must not fail the sync");
    assert_eq!(sync.variants.len(), 1);
    assert_eq!(sync.variants[0].sku.as_str(), "LIN-01");
    assert_eq!(sync.variants[0].status, ProductStatus::Active);
    let held: Vec<(&str, &str)> = sync
        .held_out
        .iter()
        .map(|h| (h.sku.as_str(), h.status.as_str()))
        .collect();
    assert_eq!(
        held,
        vec![
            ("GIFT-01", "UNLISTED"),
            ("NEW-01", "SOME_STATUS_ADDED_LATER")
        ]
    );
    assert_eq!(sync.held_out[0].product_id, "gid://shopify/Product/20");
    assert!(sync.held_out[0].reason.contains("left alone"));
    assert!(sync.summary().contains("2 held out"), "{}", sync.summary());
    // The port's plain read (what the morning calls today) does not fail either.
    assert_eq!(c.fetch_variants().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_cost_in_another_currency_is_flagged_per_sku_and_left_out_of_margins() {
    let server = FakeServer::start(vec![page(vec![
        node(1, 10, "LIN-01", "ACTIVE", eur_cost("12.00")),
        node(
            2,
            10,
            "LIN-02",
            "ACTIVE",
            json!({ "amount": "11.40", "currencyCode": "USD" }),
        ),
        node(3, 10, "LIN-03", "DRAFT", Value::Null),
    ])])
    .await;
    let sync = shop(&server).fetch_catalog().await.unwrap();
    assert_eq!(sync.variants.len(), 3, "every variant is synced");
    let cost_of = |sku: &str| {
        sync.variants
            .iter()
            .find(|v| v.sku.as_str() == sku)
            .unwrap()
            .unit_cost
    };
    assert_eq!(
        cost_of("LIN-01"),
        Some(Money::parse("12.00", Currency::EUR).unwrap())
    );
    assert_eq!(cost_of("LIN-02"), None, "a USD cost is never used as EUR");
    assert_eq!(cost_of("LIN-03"), None);
    assert_eq!(sync.cost_flags.len(), 1);
    let flag = &sync.cost_flags[0];
    assert_eq!(
        (
            flag.sku.as_str(),
            flag.currency.as_str(),
            flag.amount.as_str()
        ),
        ("LIN-02", "USD", "11.40")
    );
    assert!(
        flag.reason.contains("left out of margin decisions"),
        "{}",
        flag.reason
    );
}

#[tokio::test]
async fn documented_throttle_body_is_waited_out() {
    let throttled = json!({
        "errors": [{ "message": "Throttled", "extensions": {
            "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" } }],
        "extensions": { "cost": {
            "requestedQueryCost": 752, "actualQueryCost": null,
            "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": 740, "restoreRate": 50.0 }
        }}
    });
    let server = FakeServer::start(vec![
        (200, throttled.to_string()),
        page(vec![node(1, 10, "LIN-01", "ACTIVE", eur_cost("12.00"))]),
    ])
    .await;
    let (sleeper, waits) = recording_sleeper();
    let c = shop(&server).with_sleeper(sleeper);
    assert_eq!(c.fetch_catalog().await.unwrap().variants.len(), 1);
    let waits = waits.lock().unwrap().clone();
    // (752 − 740) / 50 = 0.24 s, less what elapsed since the answer.
    assert_eq!(waits.len(), 1, "{waits:?}");
    assert!(
        waits[0] <= Duration::from_millis(240) && waits[0] > Duration::from_millis(150),
        "{waits:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn an_invalid_shopify_token_is_permanent_and_says_so() {
    let server = FakeServer::start(vec![(
        401,
        json!({ "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)" })
            .to_string(),
    )])
    .await;
    let e = shop(&server).fetch_catalog().await.unwrap_err();
    match e {
        VendorError::Permanent { detail, .. } => {
            assert!(
                detail.contains("401") && detail.contains("token"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1, "not retried");
}

// ---- Google Ads ----------------------------------------------------------------------------

const STREAM: &str = "/v26/customers/1234567890/googleAds:searchStream";

fn ads(server: &FakeServer, access_token: &str) -> GoogleAdsClient {
    let (sleeper, _) = recording_sleeper();
    GoogleAdsClient::new(GoogleAdsConfig {
        base_url: server.base_url.clone(),
        api_version: "v26".into(),
        customer_id: "1234567890".into(),
        login_customer_id: None,
        developer_token: "dev-tok".into(),
        access_token: access_token.into(),
        currency: Currency::EUR,
        clock: StoreClock::new("Europe/Amsterdam").unwrap(),
        max_retries: 2,
    })
    .unwrap()
    .with_sleeper(sleeper)
    .with_backoff_base(Duration::from_millis(1))
}

fn stream(rows: Vec<Value>) -> (u16, String) {
    (
        200,
        json!([{ "results": rows, "fieldMask": "segments.productItemId,segments.date,metrics.clicks,metrics.costMicros", "requestId": "req-1" }])
            .to_string(),
    )
}

fn offer_row(key_field: &str, key: Option<&str>, day: &str, clicks: u64, cost: i64) -> Value {
    let mut segments = json!({ "date": day });
    if let Some(k) = key {
        segments[key_field] = json!(k);
    }
    json!({ "segments": segments, "metrics": {
        "impressions": "100", "clicks": clicks.to_string(), "costMicros": cost.to_string() } })
}

fn day(s: &str) -> StoreDay {
    StoreDay::parse(s).unwrap()
}

fn catalog() -> CatalogIndex {
    let variant = |sku: &str, product: u32, variant: u32| otto_core::metrics::Variant {
        sku: otto_core::Sku::new(sku).unwrap(),
        variant_id: format!("gid://shopify/ProductVariant/{variant}"),
        product_id: format!("gid://shopify/Product/{product}"),
        title: "Linen Throw".into(),
        price: Money::parse("49.95", Currency::EUR).unwrap(),
        compare_at_price: None,
        unit_cost: None,
        status: ProductStatus::Active,
        inventory: 3,
        tags: vec![],
        updated_at: chrono::Utc::now(),
    };
    CatalogIndex::from_variants(&[
        variant("LIN-01", 7001, 42001),
        variant("LIN-02", 7001, 42002),
    ])
}

#[tokio::test]
async fn shopify_channel_offer_ids_map_to_variants_and_the_rest_is_listed() {
    let f = "productItemId";
    let server = FakeServer::start(vec![stream(vec![
        offer_row(f, Some("shopify_nl_7001_42001"), "2026-11-30", 3, 1_200_000),
        offer_row(f, Some("shopify_NL_7001_42001"), "2026-11-29", 2, 800_000),
        offer_row(f, Some("shopify_nl_7001_49999"), "2026-11-30", 5, 2_000_000),
        offer_row(f, Some("shopify_nl_7001_49999"), "2026-11-29", 1, 500_000),
        offer_row(f, Some("lin-02"), "2026-11-30", 1, 100_000),
    ])])
    .await;
    let mapping = OfferMapping {
        form: OfferIdForm::ShopifyChannel,
    };
    let c = ads(&server, "ya29.test").with_offer_mapping(mapping, catalog());
    let report = c
        .sku_performance_report(day("2026-11-29"), day("2026-11-30"))
        .await
        .unwrap();
    let mapped: Vec<(&str, String, u64)> = report
        .metrics
        .iter()
        .map(|m| (m.sku.as_str(), m.day.to_string(), m.clicks))
        .collect();
    assert_eq!(
        mapped,
        vec![
            ("LIN-01", "2026-11-29".to_string(), 2),
            ("LIN-01", "2026-11-30".to_string(), 3)
        ]
    );
    assert_eq!(report.unmapped.len(), 2, "{:?}", report.unmapped);
    let gone = &report.unmapped[1];
    assert_eq!(gone.offer_id, "shopify_nl_7001_49999");
    assert_eq!((gone.rows, gone.clicks), (2, 6));
    assert_eq!(gone.cost, Money::from_micros(2_500_000, Currency::EUR));
    assert!(gone.reason.contains("no variant 49999"), "{}", gone.reason);
    assert!(report.unmapped[0].reason.contains("not of the form"));
    assert!(report.summary().contains("2 offers not mapped"));
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(q.starts_with("SELECT segments.product_item_id,"), "{q}");
    assert_eq!(server.requests()[0].path, STREAM);
}

#[tokio::test]
async fn custom_label_offers_map_by_the_sku_in_the_label() {
    let f = "productCustomAttribute2";
    let server = FakeServer::start(vec![stream(vec![
        offer_row(f, Some("lin-02"), "2026-11-30", 4, 400_000),
        offer_row(f, None, "2026-11-30", 1, 90_000),
    ])])
    .await;
    let mapping = OfferMapping {
        form: OfferIdForm::CustomLabel(2),
    };
    let c = ads(&server, "ya29.test").with_offer_mapping(mapping, catalog());
    let report = c
        .sku_performance_report(day("2026-11-30"), day("2026-11-30"))
        .await
        .unwrap();
    assert_eq!(report.metrics.len(), 1);
    assert_eq!(report.metrics[0].sku.as_str(), "LIN-02");
    assert_eq!(report.unmapped.len(), 1);
    assert!(
        report.unmapped[0].reason.contains("empty"),
        "{:?}",
        report.unmapped
    );
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        q.starts_with("SELECT segments.product_custom_attribute2,"),
        "{q}"
    );
}

#[tokio::test]
async fn google_ads_failure_body_is_named_in_the_error() {
    let server = FakeServer::start(vec![(
        403,
        json!({ "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": [{
                    "errorCode": { "authorizationError": "USER_PERMISSION_DENIED" },
                    "message": "User doesn't have permission to access customer. Note: If you're accessing a client customer, the manager's customer id must be set in the 'login-customer-id' header."
                }],
                "requestId": "Aa1Bb2Cc3"
            }]
        }})
        .to_string(),
    )])
    .await;
    let e = ads(&server, "ya29.test").budgets().await.unwrap_err();
    match e {
        VendorError::Permanent { detail, .. } => {
            assert!(
                detail.contains("authorizationError:USER_PERMISSION_DENIED"),
                "{detail}"
            );
            assert!(detail.contains("login-customer-id"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
}

fn token_expired() -> (u16, String) {
    (
        401,
        json!({ "error": {
            "code": 401,
            "message": "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
            "status": "UNAUTHENTICATED",
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v26.errors.GoogleAdsFailure",
                "errors": [{ "errorCode": { "authenticationError": "OAUTH_TOKEN_EXPIRED" },
                             "message": "Oauth token is expired." }],
                "requestId": "Dd4Ee5"
            }]
        }})
        .to_string(),
    )
}

fn token(t: &str) -> (u16, String) {
    (
        200,
        json!({ "access_token": t, "expires_in": 3599, "token_type": "Bearer" }).to_string(),
    )
}

#[tokio::test]
async fn an_expired_access_token_is_renewed_once_with_the_refresh_token() {
    let server = FakeServer::start(vec![
        token("ya29.first"),
        token_expired(),
        token("ya29.second"),
        stream(vec![]),
    ])
    .await;
    let c = ads(&server, "").with_oauth_refresh(OAuthRefresh {
        token_url: format!("{}/token", server.base_url),
        client_id: "cid".into(),
        client_secret: "secret".into(),
        refresh_token: "1//refresh".into(),
    });
    c.budgets()
        .await
        .expect("renewed after OAUTH_TOKEN_EXPIRED");
    let reqs = server.requests();
    let paths: Vec<&str> = reqs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, vec!["/token", STREAM, "/token", STREAM]);
    assert_eq!(
        reqs[1].header("authorization").as_deref(),
        Some("Bearer ya29.first")
    );
    assert_eq!(
        reqs[3].header("authorization").as_deref(),
        Some("Bearer ya29.second")
    );
}

#[tokio::test]
async fn an_expired_token_twice_or_a_fixed_one_is_permanent() {
    let server = FakeServer::start(vec![
        token("ya29.first"),
        token_expired(),
        token("ya29.second"),
        token_expired(),
    ])
    .await;
    let c = ads(&server, "").with_oauth_refresh(OAuthRefresh {
        token_url: format!("{}/token", server.base_url),
        client_id: "cid".into(),
        client_secret: "secret".into(),
        refresh_token: "1//refresh".into(),
    });
    let e = c.budgets().await.unwrap_err();
    assert!(e.to_string().contains("OAUTH_TOKEN_EXPIRED"), "{e}");
    assert_eq!(server.requests().len(), 4, "renewed once, not in a loop");

    let server = FakeServer::start(vec![token_expired()]).await;
    let e = ads(&server, "ya29.fixed").budgets().await.unwrap_err();
    assert!(matches!(e, VendorError::Permanent { .. }), "{e:?}");
    assert!(e.to_string().contains("OAUTH_TOKEN_EXPIRED"), "{e}");
    assert_eq!(server.requests().len(), 1);
}

// ---- DataForSEO ----------------------------------------------------------------------------

#[tokio::test]
async fn keywords_over_the_limits_are_dropped_before_the_task_is_sent() {
    let ok = json!({
        "version": "0.1.20260801", "status_code": 20000, "status_message": "Ok.",
        "time": "0.4 sec.", "cost": 0.05, "tasks_count": 1, "tasks_error": 0,
        "tasks": [{ "id": "t1", "status_code": 20000, "status_message": "Ok.", "result_count": 1,
            "path": ["v3", "keywords_data", "google_ads", "search_volume", "live"], "data": {},
            "result": [{ "keyword": "linen throw", "search_volume": 1900, "competition_index": 40 }] }]
    });
    let server = FakeServer::start(vec![(200, ok.to_string())]).await;
    let (sleeper, _) = recording_sleeper();
    let c = DataForSeoClient::new(&server.base_url, "login", "password", 2528, Currency::EUR)
        .with_http(LaneHttp::new().with_sleeper(sleeper).with_max_retries(0));
    let long = "linen ".repeat(15);
    let seeds: Vec<String> = vec![
        "linen throw".into(),
        "linen throw 50% off!".into(),
        long.trim().to_string(),
        "gift 🎁".into(),
    ];
    let candidates = c.discover(&seeds).await.unwrap();
    assert_eq!(candidates.len(), 4, "every seed is still a candidate");
    assert_eq!(candidates[0].search_volume, Some(1900));
    for bad in &candidates[1..] {
        assert_eq!(bad.search_volume, None);
        assert!(bad.signals.contains_key("keyword_rejected"), "{bad:?}");
    }
    let sent = server.requests()[0].json();
    assert_eq!(sent[0]["keywords"], json!(["linen throw"]));

    // Nothing left to send: no request at all.
    let server = FakeServer::start(vec![]).await;
    let c = DataForSeoClient::new(&server.base_url, "l", "p", 2528, Currency::EUR);
    let (stats, rejected) = c.checked_volumes(&["a|b".to_string()]).await.unwrap();
    assert!(stats.is_empty());
    assert_eq!(rejected.len(), 1);
    assert!(server.requests().is_empty());
}
