//! GoogleAdsClient against a local fake Google Ads REST endpoint.

mod common;

use chrono::{Duration as ChronoDuration, Utc};
use common::{recording_sleeper, FakeServer};
use otto_connectors::google_ads::{GoogleAdsClient, GoogleAdsConfig};
use otto_connectors::{AdsAccount, VendorError};
use otto_core::{Currency, Money, StoreClock, StoreDay};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const STREAM: &str = "/v21/customers/1234567890/googleAds:searchStream";
const MUTATE: &str = "/v21/customers/1234567890/campaignBudgets:mutate";

fn config(base_url: &str) -> GoogleAdsConfig {
    GoogleAdsConfig {
        base_url: base_url.to_string(),
        api_version: "v21".into(),
        customer_id: "123-456-7890".into(),
        login_customer_id: Some("987-654-3210".into()),
        developer_token: "dev-tok".into(),
        access_token: "ya29.test".into(),
        currency: Currency::EUR,
        clock: StoreClock::new("Europe/Amsterdam").unwrap(),
        max_retries: 2,
    }
}

fn client(server: &FakeServer) -> (GoogleAdsClient, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = recording_sleeper();
    let c = GoogleAdsClient::new(config(&server.base_url))
        .unwrap()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1));
    (c, waits)
}

fn stream(batches: Vec<Vec<Value>>) -> (u16, String) {
    let body: Vec<Value> = batches
        .into_iter()
        .map(|results| json!({ "results": results, "fieldMask": "segments.productItemId,segments.date,metrics.impressions", "requestId": "req-1" }))
        .collect();
    (200, Value::Array(body).to_string())
}

fn google_error(code: u16, status: &str, error_code: Value, message: &str) -> (u16, String) {
    (
        code,
        json!({ "error": {
            "code": code, "message": "Request contains an invalid argument.", "status": status,
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                "errors": [{ "errorCode": error_code, "message": message }],
                "requestId": "req-err"
            }]
        }})
        .to_string(),
    )
}

fn day(s: &str) -> StoreDay {
    StoreDay::parse(s).unwrap()
}

fn eur(micros: i64) -> Money {
    Money::from_micros(micros, Currency::EUR)
}

#[tokio::test]
async fn sku_performance_reads_batches_exactly() {
    let server = FakeServer::start(vec![stream(vec![
        vec![
            json!({ "segments": { "productItemId": "SKU-LIN-1", "date": "2026-11-01" },
                    "metrics": { "impressions": "10922", "clicks": "311", "costMicros": "1234567",
                                 "conversions": 2.5, "conversionsValue": 123.45 } }),
            json!({ "segments": { "productItemId": "SKU-LIN-2", "date": "2026-11-01" },
                    "metrics": { "impressions": "40" } }),
        ],
        vec![
            json!({ "segments": { "productItemId": "SKU-LIN-1", "date": "2026-11-02" },
                     "metrics": { "impressions": "5", "clicks": "1", "costMicros": "990000",
                                  "conversions": 0.333333333, "conversionsValue": 19.999999999 } }),
        ],
    ])])
    .await;
    let (c, _) = client(&server);
    let rows = c
        .sku_performance(day("2026-11-01"), day("2026-11-07"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    let a = &rows[0];
    assert_eq!((a.sku.as_str(), a.day), ("SKU-LIN-1", day("2026-11-01")));
    assert_eq!((a.impressions, a.clicks), (10_922, 311));
    assert_eq!(a.cost, eur(1_234_567));
    assert_eq!(a.conversions_milli, 2_500);
    assert_eq!(a.conversion_value, eur(123_450_000));
    assert!(!a.provisional);
    let b = &rows[1];
    assert_eq!((b.sku.as_str(), b.day), ("SKU-LIN-1", day("2026-11-02")));
    assert_eq!(b.conversions_milli, 333, "0.333333333 → 333 thousandths");
    assert_eq!(
        b.conversion_value,
        eur(20_000_000),
        "rounded half-even to the micro"
    );
    let z = &rows[2];
    assert_eq!(z.sku.as_str(), "SKU-LIN-2");
    assert_eq!(
        (z.impressions, z.clicks, z.conversions_milli),
        (40, 0, 0),
        "omitted metrics are 0"
    );
    assert_eq!((z.cost, z.conversion_value), (eur(0), eur(0)));

    let req = &server.requests()[0];
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, STREAM);
    assert_eq!(
        req.header("authorization").as_deref(),
        Some("Bearer ya29.test")
    );
    assert_eq!(req.header("developer-token").as_deref(), Some("dev-tok"));
    assert_eq!(
        req.header("login-customer-id").as_deref(),
        Some("9876543210")
    );
    let q = req.json()["query"].as_str().unwrap().to_string();
    assert!(
        q.starts_with(
            "SELECT segments.product_item_id, campaign.id, segments.date, metrics.impressions"
        ),
        "{q}"
    );
    assert!(q.contains("FROM shopping_performance_view"), "{q}");
    assert!(
        q.contains("WHERE segments.date BETWEEN '2026-11-01' AND '2026-11-07'"),
        "{q}"
    );
}

#[tokio::test]
async fn empty_stream_and_missing_keys() {
    let server = FakeServer::start(vec![
        (200, "[]".into()),
        stream(vec![vec![
            json!({ "segments": { "productItemId": "SKU-1" }, "metrics": { "impressions": "1" } }),
        ]]),
        stream(vec![vec![
            json!({ "segments": { "date": "2026-11-01" }, "metrics": {} }),
        ]]),
    ])
    .await;
    let (c, _) = client(&server);
    assert!(c
        .sku_performance(day("2026-11-01"), day("2026-11-01"))
        .await
        .unwrap()
        .is_empty());
    let e = c
        .sku_performance(day("2026-11-01"), day("2026-11-01"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, VendorError::Permanent { detail, .. } if detail.contains("segments.date")),
        "{e:?}"
    );
    let e = c
        .sku_performance(day("2026-11-01"), day("2026-11-01"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, VendorError::Permanent { detail, .. } if detail.contains("productItemId")),
        "{e:?}"
    );
}

#[tokio::test]
async fn campaign_performance_maps_impression_share_to_basis_points() {
    let server = FakeServer::start(vec![stream(vec![vec![
        json!({ "campaign": { "resourceName": "customers/1234567890/campaigns/111", "id": "111", "name": "EU/Linen/Throws",
                              "status": "ENABLED", "campaignBudget": "customers/1234567890/campaignBudgets/987" },
                "segments": { "date": "2026-11-01" },
                "metrics": { "impressions": "1000", "clicks": "50", "costMicros": "75000000", "conversions": 3.0,
                             "conversionsValue": 240.5, "searchImpressionShare": 0.0999,
                             "searchBudgetLostImpressionShare": 0.4512 } }),
        json!({ "campaign": { "id": "222", "name": "EU/Linen/Sheets" },
                "segments": { "date": "2026-11-01" }, "metrics": { "impressions": "3" } }),
    ]])])
    .await;
    let (c, _) = client(&server);
    let rows = c
        .campaign_performance(day("2026-11-01"), day("2026-11-01"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let a = &rows[0];
    assert_eq!(
        (a.campaign_id.as_str(), a.campaign.as_str()),
        ("111", "EU/Linen/Throws")
    );
    assert_eq!(a.cost, eur(75_000_000));
    assert_eq!(a.conversions_milli, 3_000);
    assert_eq!(a.conversion_value, eur(240_500_000));
    assert_eq!(a.search_impression_share_bp, Some(999));
    assert_eq!(a.budget_lost_impression_share_bp, Some(4512));
    assert_eq!(rows[1].search_impression_share_bp, None);
    assert_eq!(rows[1].budget_lost_impression_share_bp, None);
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        q.contains("metrics.search_budget_lost_impression_share")
            && q.contains("FROM campaign WHERE segments.date BETWEEN"),
        "{q}"
    );
}

#[tokio::test]
async fn budgets_with_explicitly_shared() {
    let server = FakeServer::start(vec![stream(vec![vec![
        json!({ "campaign": { "resourceName": "customers/1234567890/campaigns/111", "id": "111", "name": "EU/Linen/Throws" },
                "campaignBudget": { "resourceName": "customers/1234567890/campaignBudgets/987",
                                    "amountMicros": "700000000", "explicitlyShared": true } }),
        json!({ "campaign": { "id": "222", "name": "EU/Linen/Sheets" },
                "campaignBudget": { "resourceName": "customers/1234567890/campaignBudgets/988", "amountMicros": "25500000" } }),
    ]])])
    .await;
    let (c, _) = client(&server);
    let budgets = c.budgets().await.unwrap();
    assert_eq!(budgets.len(), 2);
    assert_eq!(budgets[0].campaign_id, "111");
    assert_eq!(
        budgets[0].budget_resource,
        "customers/1234567890/campaignBudgets/987"
    );
    assert_eq!(budgets[0].amount, eur(700_000_000));
    assert!(budgets[0].explicitly_shared);
    assert_eq!(budgets[1].amount, eur(25_500_000));
    assert!(!budgets[1].explicitly_shared, "omitted false");
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        q.contains("campaign_budget.explicitly_shared")
            && q.contains("campaign.status != 'REMOVED'"),
        "{q}"
    );
}

#[tokio::test]
async fn temporary_quota_429_is_retried() {
    let server = FakeServer::start(vec![
        google_error(
            429,
            "RESOURCE_EXHAUSTED",
            json!({ "quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED" }),
            "Too many requests.",
        ),
        stream(vec![vec![]]),
    ])
    .await;
    let (c, waits) = client(&server);
    assert!(c.budgets().await.unwrap().is_empty());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(waits.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn daily_quota_is_transient_without_retry() {
    let server = FakeServer::start(vec![google_error(
        429,
        "RESOURCE_EXHAUSTED",
        json!({ "quotaError": "RESOURCE_EXHAUSTED" }),
        "Number of operations for explorer access exceeded.",
    )])
    .await;
    let (c, waits) = client(&server);
    let e = c.budgets().await.unwrap_err();
    assert!(
        matches!(&e, VendorError::Transient { detail, .. } if detail.contains("Number of operations")),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 1);
    assert!(waits.lock().unwrap().is_empty());
}

#[tokio::test]
async fn server_errors_retry_then_transient() {
    let server = FakeServer::start(vec![
        (500, "{}".into()),
        (503, "unavailable".into()),
        (500, "{}".into()),
    ])
    .await;
    let (c, waits) = client(&server);
    let e = c.budgets().await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(waits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn google_ads_failure_400_is_permanent_with_message() {
    let server = FakeServer::start(vec![google_error(
        400,
        "INVALID_ARGUMENT",
        json!({ "queryError": "UNRECOGNIZED_FIELD" }),
        "Unrecognized field in the query: 'metrics.bogus'.",
    )])
    .await;
    let (c, _) = client(&server);
    let e = c.budgets().await.unwrap_err();
    match e {
        VendorError::Permanent { vendor, detail } => {
            assert_eq!(vendor, "google_ads");
            assert!(
                detail.contains("Unrecognized field in the query: 'metrics.bogus'."),
                "{detail}"
            );
            assert!(detail.contains("queryError:UNRECOGNIZED_FIELD"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn error_element_inside_a_stream_fails_the_call() {
    let body = json!([
        { "results": [{ "campaign": { "id": "1" } }], "fieldMask": "campaign.id", "requestId": "r" },
        { "error": { "code": 400, "message": "Request contains an invalid argument.", "status": "INVALID_ARGUMENT",
                     "details": [{ "@type": "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure",
                                   "errors": [{ "errorCode": { "queryError": "BAD_VALUE" }, "message": "bad" }] }] } }
    ]);
    let server = FakeServer::start(vec![(200, body.to_string())]).await;
    let (c, _) = client(&server);
    assert!(matches!(
        c.budgets().await.unwrap_err(),
        VendorError::Permanent { .. }
    ));
}

#[tokio::test]
async fn non_json_and_auth_errors_are_permanent() {
    let server = FakeServer::start(vec![
        (200, "<html>nope</html>".into()),
        (401, json!({ "error": { "code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED" } }).to_string()),
    ])
    .await;
    let (c, _) = client(&server);
    let e = c.budgets().await.unwrap_err();
    assert!(
        matches!(&e, VendorError::Permanent { detail, .. } if detail.contains("not JSON")),
        "{e:?}"
    );
    let e = c
        .set_budget(
            "customers/1234567890/campaignBudgets/987",
            eur(1_000_000),
            true,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, VendorError::Permanent { detail, .. } if detail.contains("invalid authentication")),
        "{e:?}"
    );
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn set_budget_sends_the_documented_body() {
    let server = FakeServer::start(vec![
        (
            200,
            json!({ "results": [{ "resourceName": "customers/1234567890/campaignBudgets/987" }] })
                .to_string(),
        ),
        (200, "{}".into()),
    ])
    .await;
    let (c, _) = client(&server);
    let answer = c
        .set_budget(
            "customers/1234567890/campaignBudgets/987",
            eur(700_000_000),
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        answer["results"][0]["resourceName"],
        json!("customers/1234567890/campaignBudgets/987")
    );
    c.set_budget(
        "customers/1234567890/campaignBudgets/987",
        eur(25_500_000),
        true,
    )
    .await
    .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs[0].path, MUTATE);
    assert_eq!(
        reqs[0].header("developer-token").as_deref(),
        Some("dev-tok")
    );
    assert_eq!(
        reqs[0].header("login-customer-id").as_deref(),
        Some("9876543210")
    );
    assert_eq!(
        reqs[0].json(),
        json!({ "operations": [{ "updateMask": "amountMicros",
                                 "update": { "resourceName": "customers/1234567890/campaignBudgets/987", "amountMicros": "700000000" } }],
                "validateOnly": false })
    );
    assert_eq!(reqs[1].json()["validateOnly"], json!(true));
    assert_eq!(
        reqs[1].json()["operations"][0]["update"]["amountMicros"],
        json!("25500000")
    );
}

#[tokio::test]
async fn mutate_failure_is_refused_with_googles_errors() {
    let server = FakeServer::start(vec![google_error(
        400,
        "INVALID_ARGUMENT",
        json!({ "campaignBudgetError": "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT" }),
        "The budget amount must be a multiple of the minimum currency unit.",
    )])
    .await;
    let (c, _) = client(&server);
    let e = c
        .set_budget(
            "customers/1234567890/campaignBudgets/987",
            eur(1_234_567),
            true,
        )
        .await
        .unwrap_err();
    match e {
        VendorError::Refused { vendor, errors } => {
            assert_eq!(vendor, "google_ads");
            assert_eq!(
                errors,
                vec!["campaignBudgetError:NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT: The budget amount must be a multiple of the minimum currency unit.".to_string()]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn set_budget_rejects_a_foreign_currency_locally() {
    let server = FakeServer::start(vec![]).await;
    let (c, _) = client(&server);
    let e = c
        .set_budget(
            "customers/1234567890/campaignBudgets/987",
            Money::from_micros(1_000_000, Currency::USD),
            true,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, VendorError::Permanent { .. }));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn no_login_customer_id_header_without_a_manager() {
    let server = FakeServer::start(vec![stream(vec![])]).await;
    let mut cfg = config(&server.base_url);
    cfg.login_customer_id = None;
    let c = GoogleAdsClient::new(cfg).unwrap();
    assert!(c.budgets().await.unwrap().is_empty());
    assert_eq!(server.requests()[0].header("login-customer-id"), None);
}

#[tokio::test]
async fn changes_since_converts_account_local_times_to_utc() {
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let d = clock.day_of(Utc::now()).plus_days(-2);
    let since = clock.at_local(d, 9, 0).unwrap();
    let event = |n: u32, time: String, fields: &str| {
        json!({ "changeEvent": {
            "resourceName": format!("customers/1234567890/changeEvents/{n}~0~0"),
            "changeDateTime": time,
            "clientType": "GOOGLE_ADS_WEB_CLIENT",
            "changedFields": fields,
            "changeResourceName": "customers/1234567890/campaignBudgets/987"
        }})
    };
    let server = FakeServer::start(vec![stream(vec![vec![
        event(1, format!("{d} 08:30:00.000000"), "amountMicros"),
        event(2, format!("{d} 10:30:00.500000"), "amountMicros,name"),
    ]])])
    .await;
    let (c, _) = client(&server);
    let changes = c.changes_since(since).await.unwrap();
    assert_eq!(
        changes.len(),
        1,
        "the 08:30 change (inside the query's 1 h margin) precedes `since`"
    );
    let ch = &changes[0];
    assert_eq!(ch.resource, "customers/1234567890/campaignBudgets/987");
    assert_eq!(ch.client_type, "GOOGLE_ADS_WEB_CLIENT");
    assert_eq!(
        ch.changed_fields,
        vec!["amountMicros".to_string(), "name".to_string()]
    );
    assert_eq!(
        ch.changed_at,
        clock.at_local(d, 10, 30).unwrap() + ChronoDuration::milliseconds(500)
    );
    let q = server.requests()[0].json()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        q.contains(&format!("change_event.change_date_time >= '{d} 08:00:00'")),
        "{q}"
    );
    assert!(
        q.contains("ORDER BY change_event.change_date_time LIMIT 10000"),
        "{q}"
    );
}

#[test]
fn customer_ids_must_be_digits() {
    let mut cfg = config("http://127.0.0.1:1");
    cfg.customer_id = "12a-456".into();
    assert!(GoogleAdsClient::new(cfg).is_err());
}

#[tokio::test]
async fn changes_since_pages_past_the_10000_row_limit() {
    let clock = StoreClock::new("Europe/Amsterdam").unwrap();
    let d = clock.day_of(Utc::now()).plus_days(-3);
    let since = clock.at_local(d, 0, 30).unwrap();
    let event = |n: u32| {
        let secs = 3_600 + n; // from 01:00:00 local, one per second
        json!({ "changeEvent": {
            "resourceName": format!("customers/1234567890/changeEvents/{n}~0~0"),
            "changeDateTime": format!("{d} {:02}:{:02}:{:02}.000000", secs / 3600, secs / 60 % 60, secs % 60),
            "clientType": "GOOGLE_ADS_API",
            "changedFields": "amountMicros",
            "changeResourceName": "customers/1234567890/campaignBudgets/987"
        }})
    };
    let first: Vec<Value> = (0..10_000).map(event).collect();
    let second = vec![event(9_999), event(10_000)];
    let server = FakeServer::start(vec![stream(vec![first]), stream(vec![second])]).await;
    let (c, _) = client(&server);
    let changes = c.changes_since(since).await.unwrap();
    assert_eq!(changes.len(), 10_001, "the repeated event is counted once");
    assert!(changes
        .windows(2)
        .all(|w| w[0].changed_at <= w[1].changed_at));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let q2 = reqs[1].json()["query"].as_str().unwrap().to_string();
    // Event 9 999 is at 01:00:00 + 9 999 s = 03:46:39 local.
    assert!(
        q2.contains(&format!("change_event.change_date_time >= '{d} 03:46:39'")),
        "{q2}"
    );
}

#[tokio::test]
async fn oauth_refresh_gets_and_reuses_an_access_token() {
    // The same fake server answers the token endpoint first, then two reports.
    let server = FakeServer::start(vec![
        (
            200,
            json!({"access_token": "ya29.fresh", "expires_in": 3599, "token_type": "Bearer"})
                .to_string(),
        ),
        stream(vec![vec![]]),
        stream(vec![vec![]]),
    ])
    .await;
    let (c, _) = client(&server);
    let c = c.with_oauth_refresh(otto_connectors::google_ads::OAuthRefresh {
        token_url: format!("{}/token", server.base_url),
        client_id: "cid".into(),
        client_secret: "secret".into(),
        refresh_token: "1//refresh".into(),
    });
    c.budgets().await.unwrap();
    c.budgets().await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3, "one token request, reused for both reports");
    assert_eq!(reqs[0].path, "/token");
    assert!(reqs[0].body.contains("grant_type=refresh_token"));
    assert!(reqs[0].body.contains("refresh_token=1%2F%2Frefresh"));
    assert_eq!(
        reqs[1].header("authorization").as_deref(),
        Some("Bearer ya29.fresh")
    );
    assert_eq!(
        reqs[2].header("authorization").as_deref(),
        Some("Bearer ya29.fresh")
    );
}

#[tokio::test]
async fn oauth_refusal_is_permanent_and_named() {
    let server = FakeServer::start(vec![(
        400,
        json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}).to_string(),
    )])
    .await;
    let (c, _) = client(&server);
    let c = c.with_oauth_refresh(otto_connectors::google_ads::OAuthRefresh {
        token_url: format!("{}/token", server.base_url),
        client_id: "cid".into(),
        client_secret: "secret".into(),
        refresh_token: "revoked".into(),
    });
    let err = c.budgets().await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("expired or revoked"), "{err}");
}
