//! The AliExpress lane against a local server that checks the signature the way the platform
//! does and answers with documented-shape bodies.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::Router;
use otto_connectors::lanes::aliexpress::{sign, AliExpressAffiliate};
use otto_connectors::lanes::dataforseo::LaneHttp;
use otto_connectors::lanes::DiscoveryLane;
use otto_connectors::VendorError;
use otto_core::Currency;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default)]
struct Seen {
    queries: Mutex<Vec<BTreeMap<String, String>>>,
}

fn parse_query(q: &str) -> BTreeMap<String, String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), urlencoding_decode(v)))
        .collect()
}

fn urlencoding_decode(s: &str) -> String {
    let bytes = s.replace('+', " ").into_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            ) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn serve(secret: &'static str) -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route(
            "/sync",
            get(move |State(seen): State<Arc<Seen>>, RawQuery(q): RawQuery| async move {
                let params = parse_query(&q.unwrap_or_default());
                seen.queries.lock().unwrap().push(params.clone());
                let given = params.get("sign").cloned().unwrap_or_default();
                if given != sign(&params, secret) {
                    return r#"{"error_response":{"code":"IncompleteSignature","msg":"The request signature does not conform to platform standards"}}"#.to_string();
                }
                r#"{"aliexpress_affiliate_product_query_response":{"resp_result":{"resp_code":200,"resp_msg":"Call succeeds",
                  "result":{"current_record_count":2,"products":{"product":[
                    {"product_title":"Waffle Linen Throw Blanket","target_sale_price":"14.37","target_sale_price_currency":"EUR",
                     "product_detail_url":"https://www.aliexpress.com/item/1005001.html","lastest_volume":1520,"evaluate_rate":"96.4%"},
                    {"product_title":"Linen Table Runner","target_sale_price":"6.9","product_detail_url":"https://www.aliexpress.com/item/1005002.html"}
                  ]}}}}}"#
                    .to_string()
            }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/sync"), seen)
}

fn http() -> LaneHttp {
    LaneHttp::new()
        .with_backoff_base(Duration::from_millis(1))
        .with_max_retries(1)
}

#[tokio::test]
async fn signed_query_returns_supplier_costs() {
    let (url, seen) = serve("s3cret").await;
    let lane = AliExpressAffiliate::new(
        url,
        "app-1".into(),
        "s3cret".into(),
        "otto".into(),
        Currency::EUR,
    )
    .with_http(http())
    .with_clock(|| 1_764_000_000_000);
    let got = lane.discover(&["linen throw".to_string()]).await.unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].unit_cost.unwrap().amount_string(), "14.37");
    assert_eq!(got[1].unit_cost.unwrap().amount_string(), "6.90");
    assert_eq!(got[0].lane, "aliexpress");
    let q = &seen.queries.lock().unwrap()[0];
    assert_eq!(q["method"], "aliexpress.affiliate.product.query");
    assert_eq!(q["keywords"], "linen throw");
    assert_eq!(q["sign_method"], "sha256");
    assert_eq!(q["timestamp"], "1764000000000");
    assert_eq!(q["target_currency"], "EUR");
}

#[tokio::test]
async fn a_wrong_secret_is_refused_permanently() {
    let (url, _) = serve("s3cret").await;
    let lane = AliExpressAffiliate::new(
        url,
        "app-1".into(),
        "wrong".into(),
        "otto".into(),
        Currency::EUR,
    )
    .with_http(http());
    let err = lane.discover(&["linen".to_string()]).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("IncompleteSignature"), "{err}");
}
