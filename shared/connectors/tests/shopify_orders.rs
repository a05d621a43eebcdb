//! A local replay server for store sales from Shopify orders, answering with the documented
//! shapes of the Admin GraphQL `orders` query —
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/order.md,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem.md,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/RefundLineItem.md:
//! two pages by cursor, a cancelled order, a test order, a partial refund, a line without a SKU
//! (a custom item), an order edit that removed a unit, an order with more lines than a page and
//! one with more refunds than a page, orders either side of the store's midnight.

mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::shopify::{ShopifyClient, ShopifyConfig};
use otto_connectors::shopify_orders::{ORDERS_PAGE, REFUNDS_PAGE};
use otto_connectors::{ShopCatalog, VendorError};
use otto_core::{Currency, Money, StoreClock, StoreDay};
use serde_json::{json, Value};
use std::time::Duration;

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
    .with_store_clock(StoreClock::new("Europe/Amsterdam").unwrap())
}

fn eur(amount: &str) -> Value {
    json!({ "shopMoney": { "amount": amount, "currencyCode": "EUR" } })
}

fn line(id: u32, sku: Value, quantity: i64, current: i64, total: &str) -> Value {
    json!({
        "id": format!("gid://shopify/LineItem/{id}"),
        "sku": sku,
        "quantity": quantity,
        "currentQuantity": current,
        "discountedTotalSet": eur(total),
    })
}

fn refund(lines: Vec<(u32, i64, &str)>) -> Value {
    json!({
        "id": "gid://shopify/Refund/1",
        "createdAt": "2026-12-01T10:00:00Z",
        "refundLineItems": {
            "pageInfo": { "hasNextPage": false },
            "nodes": lines.into_iter().map(|(id, q, amount)| json!({
                "quantity": q,
                "subtotalSet": eur(amount),
                "lineItem": { "id": format!("gid://shopify/LineItem/{id}") },
            })).collect::<Vec<_>>()
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn order(
    id: u32,
    created: &str,
    cancelled: bool,
    test: bool,
    lines: Vec<Value>,
    more_lines: bool,
    refunds: Vec<Value>,
) -> Value {
    json!({
        "id": format!("gid://shopify/Order/{id}"),
        "name": format!("#{id}"),
        "createdAt": created,
        "cancelledAt": if cancelled { json!("2026-11-30T12:00:00Z") } else { Value::Null },
        "test": test,
        "lineItems": {
            "pageInfo": { "hasNextPage": more_lines, "endCursor": if more_lines { json!("lines-1") } else { Value::Null } },
            "nodes": lines,
        },
        "refunds": refunds,
    })
}

fn cost() -> Value {
    json!({ "cost": {
        "requestedQueryCost": 823, "actualQueryCost": 41,
        "throttleStatus": { "maximumAvailable": 2000.0, "currentlyAvailable": 1959, "restoreRate": 100.0 }
    }})
}

fn orders_page(nodes: Vec<Value>, next: Option<&str>) -> (u16, String) {
    (
        200,
        json!({
            "data": { "orders": {
                "pageInfo": { "hasNextPage": next.is_some(), "endCursor": next },
                "nodes": nodes,
            }},
            "extensions": cost(),
        })
        .to_string(),
    )
}

fn day(s: &str) -> StoreDay {
    StoreDay::parse(s).unwrap()
}

fn money(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}

#[tokio::test]
async fn sales_per_sku_per_store_day_net_of_cancellations_and_refunds() {
    let page1 = vec![
        // 2026-11-29 23:30 UTC is 2026-11-30 00:30 in Amsterdam: the 30th.
        order(
            1001,
            "2026-11-29T23:30:00Z",
            false,
            false,
            vec![
                line(1, json!("LIN-01"), 2, 2, "99.90"),
                line(2, Value::Null, 1, 1, "5.00"), // a custom item without a SKU
            ],
            false,
            vec![],
        ),
        // Cancelled: left out entirely.
        order(
            1002,
            "2026-11-30T09:00:00Z",
            true,
            false,
            vec![line(3, json!("LIN-01"), 5, 0, "249.75")],
            false,
            vec![],
        ),
        // A test order: left out.
        order(
            1003,
            "2026-11-30T09:30:00Z",
            false,
            true,
            vec![line(4, json!("LIN-01"), 1, 1, "49.95")],
            false,
            vec![],
        ),
    ];
    let page2 = vec![
        // 3 ordered, 1 refunded (€45.00 after its discount): 2 units, €90.00 of €135.00.
        order(
            1004,
            "2026-11-30T15:00:00Z",
            false,
            false,
            vec![
                line(5, json!("LIN-02"), 3, 2, "135.00"),
                line(6, json!("LIN-01"), 1, 1, "49.95"),
            ],
            false,
            vec![refund(vec![(5, 1, "45.00")])],
        ),
        // On the 1st; an order edit removed 1 of 4 units (not a refund): 3 units, ¾ of €80.00.
        order(
            1005,
            "2026-12-01T08:00:00Z",
            false,
            false,
            vec![line(7, json!("LIN-02"), 4, 3, "80.00")],
            false,
            vec![],
        ),
        // Fully refunded: no units, no revenue, no row.
        order(
            1006,
            "2026-12-01T09:00:00Z",
            false,
            false,
            vec![line(8, json!("LIN-03"), 1, 0, "20.00")],
            false,
            vec![refund(vec![(8, 1, "20.00")])],
        ),
    ];
    let server = FakeServer::start(vec![
        orders_page(page1, Some("cursor-1")),
        orders_page(page2, None),
    ])
    .await;
    let c = shop(&server);
    let report = c
        .sales_report(day("2026-11-30"), day("2026-12-01"))
        .await
        .unwrap();
    let rows: Vec<(String, String, i64, Money, u32)> = report
        .sales
        .iter()
        .map(|s| {
            (
                s.day.to_string(),
                s.sku.as_str().to_string(),
                s.units,
                s.revenue,
                s.orders,
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("2026-11-30".into(), "LIN-01".into(), 3, money("149.85"), 2),
            ("2026-11-30".into(), "LIN-02".into(), 2, money("90.00"), 1),
            ("2026-12-01".into(), "LIN-02".into(), 3, money("60.00"), 1),
        ]
    );
    assert_eq!(report.orders_read, 6);
    assert_eq!(report.cancelled, vec!["#1002".to_string()]);
    assert_eq!(report.test_orders, 1);
    assert_eq!(
        report.lines_without_sku,
        vec![("#1001".to_string(), "gid://shopify/LineItem/2".to_string())]
    );
    assert!(
        report.summary().contains("1 cancelled"),
        "{}",
        report.summary()
    );

    // The wire: the documented query, the store's midnights in UTC, the cursor on page 2.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].path, "/admin/api/2026-10/graphql.json");
    assert_eq!(
        reqs[0].header("x-shopify-access-token").unwrap(),
        "shpat_test"
    );
    let body = reqs[0].json();
    let q = body["query"].as_str().unwrap();
    for needle in [
        "orders(first: $first, after: $cursor, query: $query, sortKey: CREATED_AT)",
        "cancelledAt",
        "currentQuantity",
        "discountedTotalSet { shopMoney { amount currencyCode } }",
        "refundLineItems(first:",
    ] {
        assert!(q.contains(needle), "{needle} not in {q}");
    }
    assert_eq!(body["variables"]["first"], json!(ORDERS_PAGE));
    assert_eq!(
        body["variables"]["query"],
        json!("created_at:>='2026-11-29T23:00:00Z' AND created_at:<'2026-12-01T23:00:00Z'")
    );
    assert_eq!(body["variables"]["cursor"], Value::Null);
    assert_eq!(reqs[1].json()["variables"]["cursor"], json!("cursor-1"));

    // The port answers the same rows.
    let server = FakeServer::start(vec![orders_page(vec![], None)]).await;
    let none = shop(&server)
        .sku_sales(day("2026-11-30"), day("2026-11-30"))
        .await
        .unwrap();
    assert_eq!(none, Some(vec![]));
}

#[tokio::test]
async fn an_order_too_big_for_its_page_is_completed_by_its_own_queries() {
    let many_refunds: Vec<Value> = (0..REFUNDS_PAGE)
        .map(|_| refund(vec![(11, 1, "10.00")]))
        .collect();
    let page = vec![order(
        2001,
        "2026-11-30T10:00:00Z",
        false,
        false,
        vec![line(11, json!("BIG-01"), 5, 1, "50.00")],
        true,
        many_refunds,
    )];
    let more_lines = json!({
        "data": { "order": { "id": "gid://shopify/Order/2001", "lineItems": {
            "pageInfo": { "hasNextPage": false, "endCursor": null },
            "nodes": [ line(12, json!("BIG-02"), 1, 1, "7.50") ],
        }}},
        "extensions": cost(),
    });
    // The detail read has the third refund the page could not show.
    let refunds = json!({
        "data": { "order": { "id": "gid://shopify/Order/2001", "refunds": [
            refund(vec![(11, 1, "10.00")]),
            refund(vec![(11, 1, "10.00")]),
            refund(vec![(11, 2, "20.00")]),
        ]}},
        "extensions": cost(),
    });
    let server = FakeServer::start(vec![
        orders_page(page, None),
        (200, more_lines.to_string()),
        (200, refunds.to_string()),
    ])
    .await;
    let report = shop(&server)
        .sales_report(day("2026-11-30"), day("2026-11-30"))
        .await
        .unwrap();
    let rows: Vec<(String, i64, Money)> = report
        .sales
        .iter()
        .map(|s| (s.sku.as_str().to_string(), s.units, s.revenue))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("BIG-01".to_string(), 1, money("10.00")),
            ("BIG-02".to_string(), 1, money("7.50")),
        ]
    );
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[1].json()["variables"]["cursor"], json!("lines-1"));
    assert!(reqs[2].json()["query"]
        .as_str()
        .unwrap()
        .contains("order(id: $id)"));
}

#[tokio::test]
async fn a_wrong_currency_setting_and_a_missing_time_zone_say_what_to_fix() {
    let usd = json!({
        "data": { "orders": {
            "pageInfo": { "hasNextPage": false, "endCursor": null },
            "nodes": [ {
                "id": "gid://shopify/Order/1", "name": "#1", "createdAt": "2026-11-30T10:00:00Z",
                "cancelledAt": null, "test": false,
                "lineItems": { "pageInfo": { "hasNextPage": false, "endCursor": null }, "nodes": [ {
                    "id": "gid://shopify/LineItem/1", "sku": "A", "quantity": 1, "currentQuantity": 1,
                    "discountedTotalSet": { "shopMoney": { "amount": "10.00", "currencyCode": "USD" } }
                } ] },
                "refunds": []
            } ]
        }}
    });
    let server = FakeServer::start(vec![(200, usd.to_string())]).await;
    let err = shop(&server)
        .sales_report(day("2026-11-30"), day("2026-11-30"))
        .await
        .unwrap_err();
    match err {
        VendorError::Permanent { detail, .. } => {
            assert!(detail.contains("OTTO_CURRENCY=USD"), "{detail}")
        }
        other => panic!("{other:?}"),
    }
    let server = FakeServer::start(vec![]).await;
    let (sleeper, _) = recording_sleeper();
    let no_tz = ShopifyClient::new(ShopifyConfig {
        base_url: server.base_url.clone(),
        api_version: "2026-10".into(),
        access_token: "t".into(),
        currency: Currency::EUR,
        page_size: 200,
        max_throttle_wait: Duration::from_secs(2),
        max_retries: 0,
    })
    .unwrap()
    .with_sleeper(sleeper);
    let err = no_tz
        .sku_sales(day("2026-11-30"), day("2026-11-30"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("OTTO_STORE_TZ"), "{err}");
    assert!(server.requests().is_empty());
}
