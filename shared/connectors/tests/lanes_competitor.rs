mod common;

use common::{recording_sleeper, Canned, FakeServer};
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

/// A theme's best-selling collection page: a menu link, then the grid (waffle first).
fn best_selling_html() -> String {
    r#"<!doctype html><html><body>
      <nav><a href="/collections/all">All</a><a href="/pages/about">About</a></nav>
      <ul class="grid">
        <li><a href="/collections/all/products/waffle?variant=11">Waffle THROW blanket</a></li>
        <li><a href="/products/mug">Ceramic Mug</a><a href="/products/mug">again</a></li>
        <li><a href="https://shop.example/products/linen-throw">Stonewashed Linen Throw</a></li>
      </ul></body></html>"#
        .to_string()
}

#[tokio::test]
async fn best_sellers_come_first_in_the_best_selling_pages_order() {
    let server = FakeServer::start(vec![(200, feed()), (200, best_selling_html())]).await;
    let lane = CompetitorFeeds::new(vec![server.base_url.clone()], eur(), 10).with_http(http());
    let got = lane
        .discover_noting(&["linen throw".to_string()])
        .await
        .unwrap();
    assert!(got.notes.is_empty(), "{:?}", got.notes);
    let titles: Vec<&str> = got.candidates.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Waffle THROW blanket", "Stonewashed Linen Throw"]);
    assert_eq!(got.candidates[0].signals["best_seller_rank"], json!(1));
    assert_eq!(got.candidates[1].signals["best_seller_rank"], json!(3));
    let reqs = server.requests();
    assert_eq!(reqs[0].path, "/products.json");
    assert_eq!(reqs[0].query, "limit=250&page=1");
    assert_eq!(reqs[1].path, "/collections/all");
    assert_eq!(reqs[1].query, "sort_by=best-selling");
}

fn page_of(n: usize, from: usize) -> String {
    let products: Vec<serde_json::Value> = (from..from + n)
        .map(|i| {
            json!({"id": i, "title": format!("Linen Throw {i}"), "handle": format!("throw-{i}"),
                        "variants": [{"price": "30.00", "available": true}]})
        })
        .collect();
    json!({ "products": products }).to_string()
}

#[tokio::test]
async fn the_feed_is_paged_until_a_short_page() {
    let server = FakeServer::start(vec![
        (200, page_of(250, 0)),
        (200, page_of(3, 250)),
        (200, best_selling_html()),
    ])
    .await;
    let lane = CompetitorFeeds::new(vec![server.base_url.clone()], eur(), 1_000).with_http(http());
    let got = lane.discover_noting(&["throw".to_string()]).await.unwrap();
    assert_eq!(got.candidates.len(), 253);
    assert!(got.notes.is_empty(), "{:?}", got.notes);
    let queries: Vec<String> = server.requests().iter().map(|r| r.query.clone()).collect();
    assert_eq!(
        queries,
        [
            "limit=250&page=1",
            "limit=250&page=2",
            "sort_by=best-selling"
        ]
    );

    // A cap on pages says where it stopped; a bad later page keeps what was read.
    let capped = FakeServer::start(vec![(200, page_of(250, 0)), (200, best_selling_html())]).await;
    let lane = CompetitorFeeds::new(vec![capped.base_url.clone()], eur(), 1_000)
        .with_http(http())
        .with_max_pages(1);
    let got = lane.discover_noting(&["throw".to_string()]).await.unwrap();
    assert_eq!(got.candidates.len(), 250);
    assert_eq!(got.notes.len(), 1);
    assert!(
        got.notes[0].contains("stopped after 1 feed pages"),
        "{:?}",
        got.notes
    );
    let broken = FakeServer::start(vec![
        (200, page_of(250, 0)),
        (200, "<html>Enter store using password</html>".into()),
        (200, best_selling_html()),
    ])
    .await;
    let lane = CompetitorFeeds::new(vec![broken.base_url.clone()], eur(), 1_000).with_http(http());
    let got = lane.discover_noting(&["throw".to_string()]).await.unwrap();
    assert_eq!(got.candidates.len(), 250);
    assert!(
        got.notes[0].contains("page 2") && got.notes[0].contains("kept the 1 page(s) read"),
        "{:?}",
        got.notes
    );
}

#[tokio::test]
async fn bad_stores_are_one_line_each_and_the_lane_goes_on() {
    let html =
        FakeServer::start(vec![(200, "<!doctype html><title>Password</title>".into())]).await;
    let missing = FakeServer::start(vec![(404, "Not Found".into())]).await;
    let throttled = FakeServer::start_canned(vec![
        Canned::new(429, "Too Many Requests").header("retry-after", "120")
    ])
    .await;
    let no_best = FakeServer::start(vec![(200, feed()), (404, "Not Found".into())]).await;
    let stores = vec![
        html.base_url.clone(),
        missing.base_url.clone(),
        throttled.base_url.clone(),
        no_best.base_url.clone(),
    ];
    let lane = CompetitorFeeds::new(stores, eur(), 10).with_http(http());
    let got = lane.discover_noting(&["mug".to_string()]).await.unwrap();
    assert_eq!(got.candidates.len(), 1, "the good store still counts");
    assert_eq!(got.notes.len(), 4, "{:#?}", got.notes);
    let line = |base: &str| {
        got.notes
            .iter()
            .find(|n| n.contains(base))
            .cloned()
            .unwrap_or_else(|| panic!("a line for {base}: {:?}", got.notes))
    };
    assert!(line(&html.base_url).contains("answered HTML"));
    assert!(line(&missing.base_url).contains("HTTP 404"));
    let t = line(&throttled.base_url);
    assert!(t.contains("Retry-After 120 s"), "{t}");
    assert_eq!(
        throttled.requests().len(),
        1,
        "a long Retry-After is not waited for"
    );
    assert!(line(&no_best.base_url).contains("feed order used"));
    for n in &got.notes {
        assert!(!n.contains('\n'), "one line: {n}");
    }
}

#[tokio::test]
async fn a_short_retry_after_is_waited_for_then_retried() {
    let server = FakeServer::start_canned(vec![
        Canned::new(429, "slow down").header("retry-after", "0"),
        Canned::new(200, feed()),
        Canned::new(200, best_selling_html()),
    ])
    .await;
    let (sleeper, waits) = recording_sleeper();
    let http = LaneHttp::new()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_secs(5))
        .with_max_retries(1);
    let lane = CompetitorFeeds::new(vec![server.base_url.clone()], eur(), 10).with_http(http);
    let got = lane.discover_noting(&["mug".to_string()]).await.unwrap();
    assert_eq!(got.candidates.len(), 1);
    assert_eq!(
        *waits.lock().unwrap(),
        vec![Duration::ZERO],
        "Retry-After, not the backoff"
    );
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
    assert_eq!(reqs.len(), 2, "one feed page, then the best-selling page");
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
