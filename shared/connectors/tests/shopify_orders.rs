//! A local replay server for store sales from Shopify orders, answering with the documented
//! shapes of the Admin GraphQL `orders` query —
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/order.md,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem.md,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/RefundLineItem.md:
//! two pages by cursor, a cancelled order, a test order, a partial refund, a line without a SKU
//! (a custom item), an order edit that removed a unit, an order with more lines than a page and
//! one with more refunds than a page, orders either side of the store's midnight. A read counts
//! the window's orders first (`ordersCount`); above the threshold it is a bulk operation
//! (`bulkOperationRunQuery` → poll `node(id:)` → the JSONL file `tests/replay/shopify_bulk_orders.jsonl`,
//! the same orders as the paged test) —
//! https://shopify.dev/docs/api/usage/bulk-operations/queries,
//! https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation.

mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::shopify::{ShopifyClient, ShopifyConfig};
use otto_connectors::shopify_bulk::BulkSettings;
use otto_connectors::shopify_orders::{ORDERS_PAGE, REFUNDS_PAGE};
use otto_connectors::{ShopCatalog, VendorError};
use otto_core::{Currency, Money, StoreClock, StoreDay};
use serde_json::{json, Value};
use std::time::Duration;

fn shop(server: &FakeServer) -> ShopifyClient {
    shop_with_threshold(
        server,
        otto_connectors::shopify_orders::BULK_THRESHOLD_ORDERS,
    )
}

fn shop_with_threshold(server: &FakeServer, threshold_orders: u64) -> ShopifyClient {
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
    .with_bulk(BulkSettings {
        threshold_orders,
        poll_interval: Duration::from_millis(1),
        max_wait: Duration::from_secs(1),
    })
}

/// `ordersCount` — https://shopify.dev/docs/api/admin-graphql/latest/objects/Count.
fn orders_count(count: u64, precision: &str) -> (u16, String) {
    (
        200,
        json!({ "data": { "ordersCount": { "count": count, "precision": precision } }, "extensions": cost() })
            .to_string(),
    )
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

/// Six orders in two pages: a custom item, a cancelled and a test order, a partial refund, an
/// order edit, a full refund, and the store's midnight (the bulk JSONL file holds the same).
fn six_orders() -> (Vec<Value>, Vec<Value>) {
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
    (page1, page2)
}

#[tokio::test]
async fn sales_per_sku_per_store_day_net_of_cancellations_and_refunds() {
    let (page1, page2) = six_orders();
    let server = FakeServer::start(vec![
        orders_count(6, "EXACT"),
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

    // The wire: the count, then the documented query, the store's midnights in UTC, the cursor
    // on page 2 — below the threshold, no bulk operation.
    let mut reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    let count = reqs.remove(0).json();
    assert!(count["query"]
        .as_str()
        .unwrap()
        .contains("ordersCount(query: $query)"));
    assert_eq!(
        count["variables"]["query"],
        json!("created_at:>='2026-11-29T23:00:00Z' AND created_at:<'2026-12-01T23:00:00Z'")
    );
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
    let server = FakeServer::start(vec![orders_count(0, "EXACT"), orders_page(vec![], None)]).await;
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
        orders_count(1, "EXACT"),
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
    assert_eq!(reqs.len(), 4);
    let reqs = &reqs[1..];
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
    let server = FakeServer::start(vec![orders_count(1, "EXACT"), (200, usd.to_string())]).await;
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

const BULK_JSONL: &str = include_str!("replay/shopify_bulk_orders.jsonl");

/// No operation of the app is current (or another query's): a new one is started.
fn no_current() -> (u16, String) {
    (
        200,
        json!({ "data": { "currentBulkOperation": null }, "extensions": cost() }).to_string(),
    )
}

fn bulk_started(id: &str) -> (u16, String) {
    (
        200,
        json!({ "data": { "bulkOperationRunQuery": {
            "bulkOperation": { "id": id, "status": "CREATED" }, "userErrors": [] } },
            "extensions": cost() })
        .to_string(),
    )
}

fn bulk_polled(
    id: &str,
    status: &str,
    error_code: Option<&str>,
    url: Option<&str>,
) -> (u16, String) {
    (
        200,
        json!({ "data": { "node": {
            "id": id, "status": status, "errorCode": error_code, "objectCount": "16", "url": url } },
            "extensions": cost() })
        .to_string(),
    )
}

type Row = (String, String, i64, Money, u32);

fn rows(report: &otto_connectors::shopify_orders::SalesReport) -> Vec<Row> {
    report
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
        .collect()
}

#[tokio::test]
async fn a_large_window_is_read_by_a_bulk_operation_with_the_same_sales_as_paging() {
    let (from, to) = (day("2026-11-30"), day("2026-12-01"));
    // Paged (6 orders, threshold 6).
    let (page1, page2) = six_orders();
    let paged_server = FakeServer::start(vec![
        orders_count(6, "EXACT"),
        orders_page(page1, Some("cursor-1")),
        orders_page(page2, None),
    ])
    .await;
    let paged = shop_with_threshold(&paged_server, 6)
        .sales_report(from, to)
        .await
        .unwrap();
    // Bulk (the same 6 orders, threshold 5).
    let files = FakeServer::start(vec![(200, BULK_JSONL.to_string())]).await;
    let url = format!("{}/bulk/orders.jsonl?signature=x", files.base_url);
    let id = "gid://shopify/BulkOperation/720575940";
    let server = FakeServer::start(vec![
        orders_count(6, "EXACT"),
        no_current(),
        bulk_started(id),
        bulk_polled(id, "RUNNING", None, None),
        bulk_polled(id, "COMPLETED", None, Some(&url)),
    ])
    .await;
    let bulk = shop_with_threshold(&server, 5)
        .sales_report(from, to)
        .await
        .unwrap();
    assert_eq!(rows(&bulk), rows(&paged));
    assert_eq!(rows(&bulk).len(), 3, "{:?}", rows(&bulk));
    assert_eq!(bulk.orders_read, paged.orders_read);
    assert_eq!(bulk.cancelled, paged.cancelled);
    assert_eq!(bulk.test_orders, paged.test_orders);
    assert_eq!(bulk.lines_without_sku, paged.lines_without_sku);

    // The wire: the mutation carries the window and no `first` limits; the poll names the
    // operation; the file is fetched from its URL without the shop's token.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    assert!(reqs[1].json()["query"]
        .as_str()
        .unwrap()
        .contains("currentBulkOperation"));
    let run = reqs[2].json();
    assert!(run["query"]
        .as_str()
        .unwrap()
        .contains("bulkOperationRunQuery(query: $query)"));
    let inner = run["variables"]["query"].as_str().unwrap();
    assert!(inner.contains("orders(query: \"created_at:>='2026-11-29T23:00:00Z' AND created_at:<'2026-12-01T23:00:00Z'\""), "{inner}");
    assert!(!inner.contains("first:"), "{inner}");
    assert!(inner.contains("__typename"), "{inner}");
    assert!(reqs[3].json()["query"]
        .as_str()
        .unwrap()
        .contains("node(id: $id)"));
    assert_eq!(reqs[4].json()["variables"]["id"], json!(id));
    let got = files.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "GET");
    assert_eq!(got[0].path, "/bulk/orders.jsonl");
    assert!(got[0].header("x-shopify-access-token").is_none());
}

#[tokio::test]
async fn a_failed_or_expired_bulk_operation_is_one_clear_error() {
    let id = "gid://shopify/BulkOperation/1";
    for (status, code, expect) in [
        ("FAILED", Some("ACCESS_DENIED"), "FAILED (ACCESS_DENIED)"),
        ("EXPIRED", None, "EXPIRED"),
    ] {
        let server = FakeServer::start(vec![
            orders_count(10_000, "AT_LEAST"),
            no_current(),
            bulk_started(id),
            bulk_polled(id, status, code, None),
        ])
        .await;
        let err = shop(&server)
            .sales_report(day("2026-11-01"), day("2026-11-30"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(!err.is_retryable(), "{text}");
        assert!(text.contains(id) && text.contains(expect), "{text}");
        assert_eq!(text.lines().count(), 1, "{text}");
        assert_eq!(server.remaining(), 0);
    }
    // An operation that never finishes within the wait is retryable and named.
    let mut responses = vec![orders_count(5_000, "EXACT"), no_current(), bulk_started(id)];
    responses.extend((0..2000).map(|_| bulk_polled(id, "RUNNING", None, None)));
    let server = FakeServer::start(responses).await;
    let (sleeper, _) = recording_sleeper();
    let slow = shop(&server).with_sleeper(sleeper).with_bulk(BulkSettings {
        threshold_orders: 3_000,
        poll_interval: Duration::from_millis(1),
        max_wait: Duration::from_millis(3),
    });
    let err = slow
        .sales_report(day("2026-11-01"), day("2026-11-30"))
        .await
        .unwrap_err();
    assert!(err.is_retryable() && err.to_string().contains(id), "{err}");
}

#[tokio::test]
async fn a_bulk_line_whose_parent_is_missing_is_named() {
    let orphan = r#"{"__typename":"LineItem","id":"gid://shopify/LineItem/9","sku":"X","quantity":1,"currentQuantity":1,"discountedTotalSet":{"shopMoney":{"amount":"1.00","currencyCode":"EUR"}},"__parentId":"gid://shopify/Order/404"}"#;
    let lines = otto_connectors::shopify_bulk::parse_jsonl(orphan).unwrap();
    let err =
        otto_connectors::shopify_orders::parse_bulk_orders(&lines, Currency::EUR).unwrap_err();
    assert!(
        err.to_string().contains("line 1") && err.to_string().contains("Order/404"),
        "{err}"
    );
}

/// A retry after a timeout picks up the operation it started (same query, still running or
/// completed) instead of starting another.
#[tokio::test]
async fn a_retry_waits_for_the_bulk_operation_it_started() {
    let (from, to) = (day("2026-11-30"), day("2026-12-01"));
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let search = otto_connectors::shopify_orders::window_search(&clock, from, to).unwrap();
    let query = otto_connectors::shopify_orders::bulk_orders_query(&search);
    let files = FakeServer::start(vec![(200, BULK_JSONL.to_string())]).await;
    let url = format!("{}/bulk/orders.jsonl", files.base_url);
    let id = "gid://shopify/BulkOperation/42";
    let current = json!({ "data": { "currentBulkOperation": {
        "id": id, "status": "RUNNING", "errorCode": null, "objectCount": "9", "url": null, "query": query } },
        "extensions": cost() });
    let server = FakeServer::start(vec![
        orders_count(6, "EXACT"),
        (200, current.to_string()),
        bulk_polled(id, "COMPLETED", None, Some(&url)),
    ])
    .await;
    let report = shop_with_threshold(&server, 5)
        .sales_report(from, to)
        .await
        .unwrap();
    assert_eq!(rows(&report).len(), 3);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3, "no second operation is started");
    assert!(reqs
        .iter()
        .all(|r| !r.body.contains("bulkOperationRunQuery")));
    // Another query's operation is not reused.
    let other = json!({ "currentBulkOperation": {
        "id": "gid://shopify/BulkOperation/7", "status": "RUNNING", "errorCode": null, "objectCount": "1",
        "url": null, "query": "{ products { edges { node { id } } } }" } });
    assert_eq!(
        otto_connectors::shopify_bulk::parse_current(&other, &query).unwrap(),
        None
    );
}
