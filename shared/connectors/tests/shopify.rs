//! ShopifyClient against a local fake Admin GraphQL endpoint.

mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::shopify::{ShopifyClient, ShopifyConfig};
use otto_connectors::{ShopCatalog, VendorError};
use otto_core::metrics::ProductStatus;
use otto_core::{Currency, Money};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PATH: &str = "/admin/api/2025-10/graphql.json";

fn config(base_url: &str) -> ShopifyConfig {
    ShopifyConfig {
        base_url: base_url.to_string(),
        api_version: "2025-10".into(),
        access_token: "shpat_test".into(),
        currency: Currency::EUR,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(1),
        max_retries: 2,
    }
}

fn client(server: &FakeServer) -> (ShopifyClient, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = recording_sleeper();
    let c = ShopifyClient::new(config(&server.base_url))
        .unwrap()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1));
    (c, waits)
}

fn cost(requested: f64, available: f64, restore: f64) -> Value {
    json!({ "cost": {
        "requestedQueryCost": requested, "actualQueryCost": requested,
        "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": restore }
    }})
}

fn node(n: u32, sku: Value) -> Value {
    json!({
        "id": format!("gid://shopify/ProductVariant/{n}"),
        "sku": sku,
        "title": "Sand / L",
        "price": "25.49",
        "compareAtPrice": null,
        "inventoryQuantity": 7,
        "updatedAt": "2026-11-20T10:00:00Z",
        "product": {
            "id": "gid://shopify/Product/10", "title": "Linen Throw", "handle": "linen-throw",
            "status": "ACTIVE", "tags": ["linen", "winner"]
        },
        "inventoryItem": { "unitCost": { "amount": "9.1", "currencyCode": "EUR" } }
    })
}

fn page(nodes: Vec<Value>, next: Option<&str>, ext: Value) -> (u16, String) {
    (
        200,
        json!({
            "data": { "productVariants": {
                "pageInfo": { "hasNextPage": next.is_some(), "endCursor": next },
                "nodes": nodes
            }},
            "extensions": ext
        })
        .to_string(),
    )
}

fn throttled(status: u16, requested: f64, available: f64, restore: f64) -> (u16, String) {
    (
        status,
        json!({
            "errors": [{ "message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits" } }],
            "extensions": { "cost": {
                "requestedQueryCost": requested, "actualQueryCost": null,
                "throttleStatus": { "maximumAvailable": 1000.0, "currentlyAvailable": available, "restoreRate": restore }
            }}
        })
        .to_string(),
    )
}

fn permanent_detail(e: VendorError) -> String {
    match e {
        VendorError::Permanent { vendor, detail } => {
            assert_eq!(vendor, "shopify");
            detail
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn paginates_with_cursor_maps_fields_and_skips_variants_without_sku() {
    let mut second = node(2, json!("SKU-LIN-2"));
    second["compareAtPrice"] = json!("30.00");
    second["inventoryQuantity"] = Value::Null;
    second["inventoryItem"] = json!({ "unitCost": null });
    second["product"]["status"] = json!("DRAFT");
    second["title"] = json!("Default Title");
    let server = FakeServer::start(vec![
        page(
            vec![node(1, json!("SKU-LIN-1")), second],
            Some("cursor-1"),
            cost(806.0, 990.0, 100.0),
        ),
        page(
            vec![
                node(3, json!("SKU-LIN-3")),
                node(4, Value::Null),
                node(5, json!("")),
            ],
            None,
            cost(806.0, 990.0, 100.0),
        ),
    ])
    .await;
    let (c, waits) = client(&server);
    let variants = c.fetch_variants().await.unwrap();

    assert_eq!(variants.len(), 3, "null and empty SKUs are skipped");
    let v1 = &variants[0];
    assert_eq!(v1.sku.as_str(), "SKU-LIN-1");
    assert_eq!(v1.variant_id, "gid://shopify/ProductVariant/1");
    assert_eq!(v1.product_id, "gid://shopify/Product/10");
    assert_eq!(v1.title, "Linen Throw — Sand / L");
    assert_eq!(v1.price, Money::from_micros(25_490_000, Currency::EUR));
    assert_eq!(v1.compare_at_price, None);
    assert_eq!(
        v1.unit_cost,
        Some(Money::from_micros(9_100_000, Currency::EUR))
    );
    assert_eq!(v1.status, ProductStatus::Active);
    assert_eq!(v1.inventory, 7);
    assert_eq!(v1.tags, vec!["linen".to_string(), "winner".to_string()]);
    assert_eq!(v1.updated_at.to_rfc3339(), "2026-11-20T10:00:00+00:00");
    let v2 = &variants[1];
    assert_eq!(
        v2.compare_at_price,
        Some(Money::from_micros(30_000_000, Currency::EUR))
    );
    assert_eq!(v2.inventory, 0, "null inventoryQuantity → 0");
    assert_eq!(v2.unit_cost, None);
    assert_eq!(v2.status, ProductStatus::Draft);
    assert_eq!(
        v2.title, "Linen Throw",
        "Shopify's 'Default Title' is not appended"
    );
    assert_eq!(variants[2].sku.as_str(), "SKU-LIN-3");

    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    for r in &reqs {
        assert_eq!(r.method, "POST");
        assert_eq!(r.path, PATH);
        assert_eq!(
            r.header("x-shopify-access-token").as_deref(),
            Some("shpat_test")
        );
        let body = r.json();
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("productVariants(first: $first, after: $cursor)"));
        assert!(body["query"]
            .as_str()
            .unwrap()
            .contains("pageInfo { hasNextPage endCursor }"));
        assert_eq!(body["variables"]["first"], json!(200));
    }
    assert_eq!(reqs[0].json()["variables"]["cursor"], Value::Null);
    assert_eq!(reqs[1].json()["variables"]["cursor"], json!("cursor-1"));
    assert!(
        waits.lock().unwrap().is_empty(),
        "plenty of budget: no wait"
    );
}

#[tokio::test]
async fn throttled_response_waits_per_throttle_status_then_retries() {
    let server = FakeServer::start(vec![
        throttled(200, 100.0, 50.0, 1000.0),
        page(
            vec![node(1, json!("SKU-1"))],
            None,
            cost(100.0, 900.0, 1000.0),
        ),
    ])
    .await;
    let (c, waits) = client(&server);
    let variants = c.fetch_variants().await.unwrap();
    assert_eq!(variants.len(), 1);
    assert_eq!(server.requests().len(), 2);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1, "{waits:?}");
    // (100 − 50) / 1000 points/s = 50 ms, less what was restored since the response.
    assert!(
        waits[0] > Duration::from_millis(30) && waits[0] <= Duration::from_millis(50),
        "{waits:?}"
    );
}

#[tokio::test]
async fn throttled_with_http_429_is_also_detected_by_code() {
    let server = FakeServer::start(vec![
        throttled(429, 20.0, 10.0, 1000.0),
        page(
            vec![node(1, json!("SKU-1"))],
            None,
            cost(20.0, 900.0, 1000.0),
        ),
    ])
    .await;
    let (c, waits) = client(&server);
    assert_eq!(c.fetch_variants().await.unwrap().len(), 1);
    assert_eq!(server.requests().len(), 2);
    assert_eq!(waits.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn still_throttled_after_max_retries_is_transient() {
    let server = FakeServer::start(vec![
        throttled(200, 12.0, 10.0, 1000.0),
        throttled(200, 12.0, 10.0, 1000.0),
        throttled(200, 12.0, 10.0, 1000.0),
    ])
    .await;
    let (c, _) = client(&server);
    let err = c.fetch_variants().await.unwrap_err();
    assert!(matches!(err, VendorError::Transient { .. }), "{err:?}");
    assert!(err.is_retryable());
    assert_eq!(server.requests().len(), 3, "first try + max_retries (2)");
}

#[tokio::test]
async fn low_available_budget_waits_before_the_next_page() {
    let server = FakeServer::start(vec![
        page(
            vec![node(1, json!("SKU-1"))],
            Some("c1"),
            cost(100.0, 20.0, 1000.0),
        ),
        page(
            vec![node(2, json!("SKU-2"))],
            None,
            cost(100.0, 900.0, 1000.0),
        ),
    ])
    .await;
    let (c, waits) = client(&server);
    assert_eq!(c.fetch_variants().await.unwrap().len(), 2);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1, "{waits:?}");
    // (100 − 20) / 1000 points/s = 80 ms.
    assert!(
        waits[0] > Duration::from_millis(50) && waits[0] <= Duration::from_millis(80),
        "{waits:?}"
    );
}

#[tokio::test]
async fn a_wait_beyond_max_throttle_wait_is_transient_without_sleeping() {
    // 990 points missing at 1 point/s: 990 s, far above the 1 s allowed.
    let server = FakeServer::start(vec![throttled(200, 1000.0, 10.0, 1.0)]).await;
    let (c, waits) = client(&server);
    let err = c.fetch_variants().await.unwrap_err();
    assert!(
        matches!(&err, VendorError::Transient { detail, .. } if detail.contains("throttled")),
        "{err:?}"
    );
    assert!(waits.lock().unwrap().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_error_is_retried_with_backoff() {
    let server = FakeServer::start(vec![
        (500, "oops".into()),
        page(
            vec![node(1, json!("SKU-1"))],
            None,
            cost(10.0, 990.0, 100.0),
        ),
    ])
    .await;
    let (c, waits) = client(&server);
    assert_eq!(c.fetch_variants().await.unwrap().len(), 1);
    assert_eq!(server.requests().len(), 2);
    let waits = waits.lock().unwrap().clone();
    assert_eq!(waits.len(), 1);
    assert!(waits[0] <= Duration::from_millis(1), "{waits:?}");
}

#[tokio::test]
async fn persistent_server_errors_become_transient() {
    let server = FakeServer::start(vec![
        (503, "a".into()),
        (502, "b".into()),
        (500, "c".into()),
    ])
    .await;
    let (c, _) = client(&server);
    let err = c.fetch_variants().await.unwrap_err();
    assert!(
        matches!(&err, VendorError::Transient { detail, .. } if detail.contains("HTTP 500")),
        "{err:?}"
    );
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn connection_refused_is_transient() {
    // Bind then drop a listener to get a port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (sleeper, waits) = recording_sleeper();
    let c = ShopifyClient::new(config(&format!("http://127.0.0.1:{port}")))
        .unwrap()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1));
    let err = c.fetch_variants().await.unwrap_err();
    assert!(matches!(err, VendorError::Transient { .. }), "{err:?}");
    assert_eq!(waits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn unauthorized_is_permanent_and_not_retried() {
    let server = FakeServer::start(vec![(
        401,
        json!({"errors": "[API] Invalid API key or access token"}).to_string(),
    )])
    .await;
    let (c, _) = client(&server);
    let detail = permanent_detail(c.fetch_variants().await.unwrap_err());
    assert!(detail.contains("401"), "{detail}");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn non_json_body_is_permanent() {
    let server = FakeServer::start(vec![(200, "<html>Shop unavailable</html>".into())]).await;
    let (c, _) = client(&server);
    let detail = permanent_detail(c.fetch_variants().await.unwrap_err());
    assert!(
        detail.contains("not a JSON object") && detail.contains("<html>"),
        "{detail}"
    );
}

#[tokio::test]
async fn graphql_errors_are_permanent_with_messages() {
    let body = json!({
        "errors": [{ "message": "Field 'bogus' doesn't exist on type 'ProductVariant'",
                     "extensions": { "code": "undefinedField" } }]
    });
    let server = FakeServer::start(vec![(200, body.to_string())]).await;
    let (c, _) = client(&server);
    let detail = permanent_detail(c.fetch_variants().await.unwrap_err());
    assert!(detail.contains("Field 'bogus' doesn't exist"), "{detail}");
}

#[tokio::test]
async fn a_node_missing_price_fails_the_whole_fetch_naming_the_variant() {
    let mut bad = node(2, json!("SKU-2"));
    bad.as_object_mut().unwrap().remove("price");
    let server = FakeServer::start(vec![
        page(
            vec![node(1, json!("SKU-1"))],
            Some("c1"),
            cost(10.0, 990.0, 100.0),
        ),
        page(vec![bad], None, cost(10.0, 990.0, 100.0)),
    ])
    .await;
    let (c, _) = client(&server);
    let detail = permanent_detail(c.fetch_variants().await.unwrap_err());
    assert!(
        detail.contains("gid://shopify/ProductVariant/2") && detail.contains("price"),
        "{detail}"
    );
}

#[tokio::test]
async fn malformed_pages_are_permanent() {
    let mut bad_money = node(1, json!("SKU-1"));
    bad_money["price"] = json!("25,49");
    // An UNLISTED product and a cost in another currency are ordinary catalogs, not malformed
    // pages: see tests/replay_real_accounts.rs.
    let no_page_info = (
        200,
        json!({"data": {"productVariants": {"nodes": []}}}).to_string(),
    );
    let cases = vec![
        (
            page(vec![bad_money], None, cost(1.0, 990.0, 100.0)),
            vec!["ProductVariant/1", "price", "25,49"],
        ),
        (no_page_info, vec!["pageInfo"]),
    ];
    for (response, needles) in cases {
        let server = FakeServer::start(vec![response]).await;
        let (c, _) = client(&server);
        let detail = permanent_detail(c.fetch_variants().await.unwrap_err());
        for n in needles {
            assert!(detail.contains(n), "{n:?} not in {detail}");
        }
    }
}

#[tokio::test]
async fn fetch_variant_maps_one_or_none() {
    let one = json!({ "data": { "productVariant": node(7, json!("SKU-7")) }, "extensions": cost(4.0, 990.0, 100.0) });
    let none = json!({ "data": { "productVariant": null }, "extensions": cost(1.0, 990.0, 100.0) });
    let server = FakeServer::start(vec![(200, one.to_string()), (200, none.to_string())]).await;
    let (c, _) = client(&server);
    let v = c
        .fetch_variant("gid://shopify/ProductVariant/7")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.sku.as_str(), "SKU-7");
    assert_eq!(v.price.amount_string(), "25.49");
    assert!(c
        .fetch_variant("gid://shopify/ProductVariant/8")
        .await
        .unwrap()
        .is_none());
    let reqs = server.requests();
    assert_eq!(
        reqs[0].json()["variables"],
        json!({ "id": "gid://shopify/ProductVariant/7" })
    );
    assert!(reqs[0].json()["query"]
        .as_str()
        .unwrap()
        .contains("productVariant(id: $id)"));
}

#[tokio::test]
async fn set_product_status_sends_product_input_and_returns_payload() {
    let ok = json!({ "data": { "productUpdate": {
        "product": { "id": "gid://shopify/Product/10", "status": "DRAFT", "updatedAt": "2026-11-24T06:01:00Z" },
        "userErrors": [] } }, "extensions": cost(10.0, 990.0, 100.0) });
    let server = FakeServer::start(vec![(200, ok.to_string())]).await;
    let (c, _) = client(&server);
    let payload = c
        .set_product_status("gid://shopify/Product/10", ProductStatus::Draft)
        .await
        .unwrap();
    assert_eq!(payload["product"]["status"], json!("DRAFT"));
    let req = &server.requests()[0];
    assert_eq!(
        req.header("x-shopify-access-token").as_deref(),
        Some("shpat_test")
    );
    let body = req.json();
    assert!(body["query"]
        .as_str()
        .unwrap()
        .contains("productUpdate(product: $product)"));
    assert_eq!(
        body["variables"],
        json!({ "product": { "id": "gid://shopify/Product/10", "status": "DRAFT" } })
    );
}

#[tokio::test]
async fn user_errors_on_product_update_are_refused() {
    let refused = json!({ "data": { "productUpdate": {
        "product": null,
        "userErrors": [{ "field": ["id"], "message": "Product does not exist" }] } },
        "extensions": cost(10.0, 990.0, 100.0) });
    let server = FakeServer::start(vec![(200, refused.to_string())]).await;
    let (c, _) = client(&server);
    let err = c
        .set_product_status("gid://shopify/Product/404", ProductStatus::Archived)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        VendorError::Refused {
            vendor: "shopify",
            errors: vec!["id: Product does not exist".into()]
        }
    );
    assert_eq!(
        server.requests()[0].json()["variables"]["product"]["status"],
        json!("ARCHIVED")
    );
}

#[tokio::test]
async fn set_variant_price_sends_rounded_decimal_strings() {
    let ok = |price: &str, cmp: Value| {
        (200, json!({ "data": { "productVariantsBulkUpdate": {
            "productVariants": [{ "id": "gid://shopify/ProductVariant/1", "price": price, "compareAtPrice": cmp }],
            "userErrors": [] } }, "extensions": cost(10.0, 990.0, 100.0) }).to_string())
    };
    let server =
        FakeServer::start(vec![ok("25.49", Value::Null), ok("19.90", json!("30.00"))]).await;
    let (c, _) = client(&server);
    // 25.494999 rounds to the cent: "25.49"; no compare-at price → null.
    let payload = c
        .set_variant_price(
            "gid://shopify/Product/10",
            "gid://shopify/ProductVariant/1",
            Money::from_micros(25_494_999, Currency::EUR),
            None,
        )
        .await
        .unwrap();
    assert_eq!(payload["productVariants"][0]["price"], json!("25.49"));
    c.set_variant_price(
        "gid://shopify/Product/10",
        "gid://shopify/ProductVariant/1",
        Money::parse("19.9", Currency::EUR).unwrap(),
        Some(Money::parse("30", Currency::EUR).unwrap()),
    )
    .await
    .unwrap();
    let reqs = server.requests();
    let b0 = reqs[0].json();
    assert!(b0["query"]
        .as_str()
        .unwrap()
        .contains("productVariantsBulkUpdate(productId: $productId, variants: $variants)"));
    assert_eq!(
        b0["variables"],
        json!({ "productId": "gid://shopify/Product/10",
                "variants": [{ "id": "gid://shopify/ProductVariant/1", "price": "25.49", "compareAtPrice": null }] })
    );
    assert_eq!(
        reqs[1].json()["variables"]["variants"][0],
        json!({ "id": "gid://shopify/ProductVariant/1", "price": "19.90", "compareAtPrice": "30.00" })
    );
}

#[tokio::test]
async fn price_user_errors_are_refused_and_wrong_currency_is_rejected_locally() {
    let refused = json!({ "data": { "productVariantsBulkUpdate": {
        "productVariants": null,
        "userErrors": [{ "field": ["variants", "0", "price"], "message": "Price must be greater than or equal to 0", "code": "GREATER_THAN_OR_EQUAL_TO" }] } } });
    let server = FakeServer::start(vec![(200, refused.to_string())]).await;
    let (c, _) = client(&server);
    let err = c
        .set_variant_price(
            "gid://shopify/Product/1",
            "gid://shopify/ProductVariant/1",
            Money::parse("-1", Currency::EUR).unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, VendorError::Refused { errors, .. } if errors[0].contains("variants.0.price")),
        "{err:?}"
    );
    let err = c
        .set_variant_price(
            "gid://shopify/Product/1",
            "gid://shopify/ProductVariant/1",
            Money::parse("1", Currency::USD).unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }));
    assert_eq!(
        server.requests().len(),
        1,
        "the USD price never reached Shopify"
    );
}

#[test]
fn page_size_above_200_is_rejected() {
    let mut cfg = config("http://127.0.0.1:1");
    cfg.page_size = 250;
    assert!(ShopifyClient::new(cfg).is_err());
}

/// A product set ACTIVE is published on the Online Store too (else it is visible nowhere):
/// `publications` read once per client, then `publishablePublish` with its id —
/// https://shopify.dev/docs/api/admin-graphql/latest/mutations/publishablePublish,
/// https://shopify.dev/docs/apps/build/sales-channels/product-publishing.
#[tokio::test]
async fn a_product_set_active_is_published_on_the_online_store() {
    let updated = |id: u32| {
        json!({ "data": { "productUpdate": {
            "product": { "id": format!("gid://shopify/Product/{id}"), "status": "ACTIVE", "updatedAt": "2026-11-24T06:01:00Z" },
            "userErrors": [] } }, "extensions": cost(10.0, 990.0, 100.0) })
        .to_string()
    };
    let publications = json!({ "data": { "publications": { "nodes": [
        { "id": "gid://shopify/Publication/1", "name": "Point of Sale", "catalog": { "title": "Point of Sale" } },
        { "id": "gid://shopify/Publication/2", "name": "Online Store", "catalog": { "title": "Online Store" } },
    ] } }, "extensions": cost(104.0, 990.0, 100.0) });
    let published = json!({ "data": { "publishablePublish": { "userErrors": [] } },
        "extensions": cost(10.0, 990.0, 100.0) })
    .to_string();
    let server = FakeServer::start(vec![
        (200, updated(10)),
        (200, publications.to_string()),
        (200, published.clone()),
        (200, updated(11)),
        (200, published),
    ])
    .await;
    let (c, _) = client(&server);
    let payload = c
        .set_product_status("gid://shopify/Product/10", ProductStatus::Active)
        .await
        .unwrap();
    assert_eq!(
        payload["published_to"],
        json!("gid://shopify/Publication/2")
    );
    c.set_product_status("gid://shopify/Product/11", ProductStatus::Active)
        .await
        .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5, "the publications are read once");
    assert!(reqs[1].json()["query"]
        .as_str()
        .unwrap()
        .contains("publications(first: 50)"));
    let publish = reqs[2].json();
    assert!(publish["query"]
        .as_str()
        .unwrap()
        .contains("publishablePublish(id: $id, input: $input)"));
    assert_eq!(
        publish["variables"],
        json!({ "id": "gid://shopify/Product/10", "input": [{ "publicationId": "gid://shopify/Publication/2" }] })
    );
    assert_eq!(
        reqs[4].json()["variables"]["id"],
        json!("gid://shopify/Product/11")
    );
}

#[tokio::test]
async fn an_active_product_without_an_online_store_or_the_scope_says_so() {
    let updated = json!({ "data": { "productUpdate": {
        "product": { "id": "gid://shopify/Product/10", "status": "ACTIVE", "updatedAt": "2026-11-24T06:01:00Z" },
        "userErrors": [] } }, "extensions": cost(10.0, 990.0, 100.0) })
    .to_string();
    let no_store = json!({ "data": { "publications": { "nodes": [
        { "id": "gid://shopify/Publication/1", "name": "Point of Sale", "catalog": { "title": "Point of Sale" } },
    ] } } });
    let server = FakeServer::start(vec![(200, updated.clone()), (200, no_store.to_string())]).await;
    let (c, _) = client(&server);
    let err = c
        .set_product_status("gid://shopify/Product/10", ProductStatus::Active)
        .await
        .unwrap_err();
    let detail = permanent_detail(err);
    assert!(
        detail.contains("Online Store") && detail.contains("Point of Sale"),
        "{detail}"
    );
    // Without write_publications Shopify answers ACCESS_DENIED: a permanent error naming it.
    let denied = json!({ "errors": [{ "message": "Access denied for publications field. Required access: `read_publications` access scope.",
        "extensions": { "code": "ACCESS_DENIED" } }] });
    let server = FakeServer::start(vec![(200, updated), (200, denied.to_string())]).await;
    let (c, _) = client(&server);
    let detail = permanent_detail(
        c.set_product_status("gid://shopify/Product/10", ProductStatus::Active)
            .await
            .unwrap_err(),
    );
    assert!(detail.contains("read_publications"), "{detail}");
}

/// Whether a product is on the Online Store: `publishedOnPublication` of its publication; a
/// product gone or an answer without the boolean is an error, never a guess.
#[test]
fn published_on_the_online_store_is_read_exactly() {
    use otto_connectors::shopify::parse_published;
    let on = json!({ "product": { "publishedOnPublication": true } });
    let off = json!({ "product": { "publishedOnPublication": false } });
    assert_eq!(parse_published(&on, "gid://shopify/Product/1"), Ok(true));
    assert_eq!(parse_published(&off, "gid://shopify/Product/1"), Ok(false));
    assert!(parse_published(&json!({ "product": null }), "p").is_err());
    assert!(parse_published(&json!({ "product": {} }), "p").is_err());
}
