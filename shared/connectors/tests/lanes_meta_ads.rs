//! Meta needs the full request URI (query) and `paging.next` URLs pointing back at the server, so
//! this file has its own small fake server.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use otto_connectors::lanes::dataforseo::LaneHttp;
use otto_connectors::lanes::meta_ads::MetaAdLibrary;
use otto_connectors::lanes::DiscoveryLane;
use otto_connectors::shopify::Sleeper;
use otto_connectors::VendorError;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Shared {
    responses: Mutex<VecDeque<(u16, String)>>,
    uris: Mutex<Vec<String>>,
}

async fn handle(State(s): State<Arc<Shared>>, uri: Uri) -> Response {
    s.uris.lock().unwrap().push(uri.to_string());
    let (status, body) = s
        .responses
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or((418, "no canned response".into()));
    (
        StatusCode::from_u16(status).unwrap(),
        [("content-type", "application/json")],
        body,
    )
        .into_response()
}

async fn start() -> (String, Arc<Shared>) {
    let shared = Arc::new(Shared::default());
    let app = Router::new().fallback(handle).with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), shared)
}

fn push(s: &Shared, status: u16, body: Value) {
    s.responses
        .lock()
        .unwrap()
        .push_back((status, body.to_string()));
}

fn lane(base: &str) -> MetaAdLibrary {
    let sleeper: Sleeper = Arc::new(|d: Duration| Box::pin(tokio::time::sleep(d)));
    MetaAdLibrary::new(base, "v21.0", "TOKEN123", vec!["NL".into()]).with_http(
        LaneHttp::new()
            .with_sleeper(sleeper)
            .with_backoff_base(Duration::from_millis(1))
            .with_max_retries(1),
    )
}

fn ad(id: &str, title: Option<&str>, page: &str) -> Value {
    let mut a = json!({
        "id": id,
        "page_name": page,
        "ad_creative_bodies": ["Soft linen"],
        "ad_delivery_start_time": "2026-03-01",
        "ad_snapshot_url": format!("https://www.facebook.com/ads/archive/render_ad/?id={id}&access_token=TOKEN123"),
    });
    if let Some(t) = title {
        a["ad_creative_link_titles"] = json!([t]);
    }
    a
}

#[tokio::test]
async fn pages_followed_up_to_two_and_deduped() {
    let (base, s) = start().await;
    push(
        &s,
        200,
        json!({
            "data": [ad("1", Some("Linen Throw 50% off"), "Acme"), ad("2", None, "NoTitle")],
            "paging": {"cursors": {"after": "x"}, "next": format!("{base}/v21.0/ads_archive?after=x&access_token=TOKEN123")}
        }),
    );
    push(
        &s,
        200,
        json!({
            "data": [ad("3", Some("linen throw 50% OFF"), "Other"), ad("4", Some("Waffle Blanket"), "Beta")],
            "paging": {"next": format!("{base}/v21.0/ads_archive?after=y&access_token=TOKEN123")}
        }),
    );
    push(&s, 200, json!({"data": [ad("5", Some("Never read"), "X")]}));

    let l = lane(&base);
    assert_eq!(l.name(), "meta_ads");
    let got = l.discover(&["linen throw".to_string()]).await.unwrap();
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].title, "Linen Throw 50% off");
    assert_eq!(got[0].lane, "meta_ads");
    assert_eq!(got[0].signals["ads"], json!(2));
    assert_eq!(got[0].signals["page_name"], json!("Acme"));
    assert_eq!(
        got[0].signals["ad_delivery_start_time"],
        json!("2026-03-01")
    );
    assert_eq!(
        got[0].source_url.as_deref(),
        Some("https://www.facebook.com/ads/archive/render_ad/?id=1")
    );
    assert_eq!(got[1].title, "Waffle Blanket");
    assert_eq!(got[1].signals["ads"], json!(1));

    let uris = s.uris.lock().unwrap().clone();
    assert_eq!(uris.len(), 2, "third page not fetched: {uris:?}");
    let first = &uris[0];
    assert!(first.starts_with("/v21.0/ads_archive?"), "{first}");
    assert!(first.contains("search_terms=linen+throw"), "{first}");
    assert!(
        first.contains("ad_reached_countries=%5B%22NL%22%5D"),
        "{first}"
    );
    assert!(first.contains("ad_type=ALL"), "{first}");
    assert!(first.contains("limit=50"), "{first}");
    assert!(first.contains("access_token=TOKEN123"), "{first}");
    assert!(first.contains("fields=id%2Cpage_name%2Cad_creative_bodies%2Cad_creative_link_titles%2Cad_delivery_start_time%2Cad_snapshot_url"), "{first}");
    assert!(uris[1].contains("after=x"));
    assert_eq!(s.responses.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limit_error_is_transient() {
    let (base, s) = start().await;
    push(
        &s,
        400,
        json!({"error": {"message": "(#613) Calls to this api have exceeded the rate limit.",
                                   "type": "OAuthException", "code": 613}}),
    );
    let err = lane(&base).discover(&["x".to_string()]).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("613"));
    assert!(!err.to_string().contains("TOKEN123"));
}

#[tokio::test]
async fn other_graph_error_is_permanent() {
    let (base, s) = start().await;
    push(
        &s,
        400,
        json!({"error": {"message": "Invalid OAuth access token.",
                                   "type": "OAuthException", "code": 190}}),
    );
    let err = lane(&base).discover(&["x".to_string()]).await.unwrap_err();
    match &err {
        VendorError::Permanent { detail, .. } => {
            assert!(detail.contains("Invalid OAuth"), "{detail}")
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn missing_data_is_permanent_and_foreign_next_not_followed() {
    let (base, s) = start().await;
    push(&s, 200, json!({"nodata": []}));
    let err = lane(&base).discover(&["x".to_string()]).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");

    let (base, s) = start().await;
    push(
        &s,
        200,
        json!({"data": [ad("1", Some("A"), "P")],
                         "paging": {"next": "https://evil.example/v21.0/ads_archive?access_token=TOKEN123"}}),
    );
    let got = lane(&base).discover(&["x".to_string()]).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(s.uris.lock().unwrap().len(), 1);
}
