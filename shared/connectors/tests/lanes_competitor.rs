mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::lanes::competitor::CompetitorFeeds;
use otto_connectors::lanes::dataforseo::LaneHttp;
use otto_connectors::lanes::DiscoveryLane;
use otto_connectors::VendorError;
use otto_core::{Currency, Money};
use serde_json::json;
use std::time::Duration;

fn eur() -> Currency {
    Currency::new("EUR").unwrap()
}

fn http() -> LaneHttp {
    let (sleeper, _) = recording_sleeper();
    LaneHttp::new()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1))
        .with_max_retries(1)
}

fn feed() -> String {
    json!({"products": [
        {"id": 1, "title": "Stonewashed Linen Throw", "handle": "linen-throw", "vendor": "Acme",
         "product_type": "Throws", "tags": ["linen"],
         "variants": [
            {"price": "59.90", "compare_at_price": null, "available": false},
            {"price": "49.95", "compare_at_price": "64.00", "available": true},
            {"price": 54.1, "compare_at_price": null, "available": true}
         ]},
        {"id": 2, "title": "Ceramic Mug", "handle": "mug", "vendor": "Acme",
         "product_type": "Kitchen", "tags": [], "variants": [{"price": "12.00"}]},
        {"id": 3, "title": "Waffle THROW blanket", "handle": "waffle", "vendor": "",
         "product_type": "", "tags": [], "variants": []}
    ]})
    .to_string()
}

#[tokio::test]
async fn happy_path_lowest_price_exact_and_filtered_by_seed() {
    let server = FakeServer::start(vec![(200, feed())]).await;
    let lane =
        CompetitorFeeds::new(vec![format!("{}/", server.base_url)], eur(), 10).with_http(http());
    assert_eq!(lane.name(), "competitor");
    let got = lane.discover(&["linen throw".to_string()]).await.unwrap();
    assert_eq!(got.len(), 2, "{got:#?}");
    let c = &got[0];
    assert_eq!(c.title, "Stonewashed Linen Throw");
    assert_eq!(c.lane, "competitor");
    assert_eq!(c.price, Some(Money::parse("49.95", eur()).unwrap()));
    assert_eq!(c.price.unwrap().micros(), 49_950_000);
    assert_eq!(
        c.source_url.as_deref(),
        Some(format!("{}/products/linen-throw", server.base_url).as_str())
    );
    assert_eq!(c.signals["vendor"], json!("Acme"));
    assert_eq!(c.signals["product_type"], json!("Throws"));
    assert_eq!(c.signals["variants"], json!(3));
    assert_eq!(c.signals["available"], json!(true));
    assert_eq!(got[1].title, "Waffle THROW blanket");
    assert_eq!(got[1].price, None);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "GET");
    assert_eq!(reqs[0].path, "/products.json");
}

#[tokio::test]
async fn max_products_caps_per_store() {
    let server = FakeServer::start(vec![(200, feed())]).await;
    let lane = CompetitorFeeds::new(vec![server.base_url.clone()], eur(), 1).with_http(http());
    let got = lane.discover(&["throw".to_string()]).await.unwrap();
    assert_eq!(got.len(), 1);
}

#[tokio::test]
async fn one_store_down_the_other_answers() {
    let down = FakeServer::start(vec![(503, "down".into()), (503, "down".into())]).await;
    let up = FakeServer::start(vec![(200, feed())]).await;
    let lane = CompetitorFeeds::new(vec![down.base_url.clone(), up.base_url.clone()], eur(), 10)
        .with_http(http());
    let got = lane.discover(&["mug".to_string()]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].title, "Ceramic Mug");
    assert_eq!(got[0].price.unwrap().micros(), 12_000_000);
    assert_eq!(down.requests().len(), 2, "retried once");
}

#[tokio::test]
async fn all_stores_down_is_an_error() {
    let a = FakeServer::start(vec![(503, "down".into()), (503, "down".into())]).await;
    let b = FakeServer::start(vec![(404, "not found".into())]).await;
    let lane = CompetitorFeeds::new(vec![a.base_url.clone(), b.base_url.clone()], eur(), 10)
        .with_http(http());
    let err = lane.discover(&["mug".to_string()]).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("404"), "{err}");

    let b = FakeServer::start(vec![(404, "not found".into())]).await;
    let lane = CompetitorFeeds::new(vec![b.base_url.clone()], eur(), 10).with_http(http());
    let err = lane.discover(&["mug".to_string()]).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_price_fails_that_store() {
    let body = json!({"products": [{"title": "Mug", "handle": "mug",
        "variants": [{"price": "12,00"}]}]})
    .to_string();
    let server = FakeServer::start(vec![(200, body)]).await;
    let lane = CompetitorFeeds::new(vec![server.base_url.clone()], eur(), 10).with_http(http());
    let err = lane.discover(&["mug".to_string()]).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("products[0]"), "{err}");
}
