mod common;

use common::{recording_sleeper, FakeServer};
use otto_connectors::lanes::dataforseo::{DataForSeoClient, LaneHttp};
use otto_connectors::lanes::{DiscoveryLane, KeywordStat, KeywordVolumes};
use otto_connectors::VendorError;
use otto_core::Currency;
use serde_json::json;
use std::time::Duration;

fn client(
    server: &FakeServer,
) -> (
    DataForSeoClient,
    std::sync::Arc<std::sync::Mutex<Vec<Duration>>>,
) {
    let (sleeper, waits) = recording_sleeper();
    let http = LaneHttp::new()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1))
        .with_max_retries(2);
    let c = DataForSeoClient::new(
        &server.base_url,
        "login@example.com",
        "s3cret",
        2528,
        Currency::new("EUR").unwrap(),
    )
    .with_http(http);
    (c, waits)
}

fn ok_body(results: serde_json::Value) -> String {
    json!({
        "version": "0.1.20240801",
        "status_code": 20000,
        "status_message": "Ok.",
        "time": "0.5 sec.",
        "cost": 0.05,
        "tasks_count": 1,
        "tasks_error": 0,
        "tasks": [{
            "id": "t1",
            "status_code": 20000,
            "status_message": "Ok.",
            "result_count": 2,
            "path": ["v3", "keywords_data", "google_ads", "search_volume", "live"],
            "data": {},
            "result": results
        }]
    })
    .to_string()
}

fn seeds(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn volumes_happy_path_with_null_kept_as_none() {
    let server = FakeServer::start(vec![(
        200,
        ok_body(json!([
            {"keyword": "linen throw", "location_code": 2528, "language_code": null,
             "competition": "MEDIUM", "competition_index": 42, "search_volume": 1900,
             "cpc": 0.61, "monthly_searches": []},
            {"keyword": "waffle blanket", "competition": null, "competition_index": null,
             "search_volume": null, "cpc": null, "monthly_searches": null}
        ])),
    )])
    .await;
    let (c, _) = client(&server);
    let got = c
        .volumes(&seeds(&["linen throw", "waffle blanket"]))
        .await
        .unwrap();
    assert_eq!(
        got["linen throw"],
        KeywordStat {
            search_volume: Some(1900),
            competition_bp: Some(4200)
        }
    );
    assert_eq!(
        got["waffle blanket"],
        KeywordStat {
            search_volume: None,
            competition_bp: None
        }
    );

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(
        reqs[0].path,
        "/v3/keywords_data/google_ads/search_volume/live"
    );
    // Basic base64("login@example.com:s3cret")
    assert_eq!(
        reqs[0].header("authorization").unwrap(),
        "Basic bG9naW5AZXhhbXBsZS5jb206czNjcmV0"
    );
    assert_eq!(
        reqs[0].json(),
        json!([{"keywords": ["linen throw", "waffle blanket"], "location_code": 2528}])
    );
}

#[tokio::test]
async fn frequency_lane_returns_the_seeds() {
    let server = FakeServer::start(vec![(
        200,
        ok_body(json!([
            {"keyword": "linen throw", "competition_index": 7, "search_volume": 320},
        ])),
    )])
    .await;
    let (c, _) = client(&server);
    assert_eq!(c.name(), "frequency");
    let got = c
        .discover(&seeds(&["Linen Throw", "unknown thing"]))
        .await
        .unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].title, "Linen Throw");
    assert_eq!(got[0].lane, "frequency");
    assert_eq!(got[0].search_volume, Some(320));
    assert_eq!(got[0].competition_bp, Some(700));
    assert_eq!(got[1].title, "unknown thing");
    assert_eq!(got[1].search_volume, None);
}

#[tokio::test]
async fn a_keyword_over_the_limits_is_left_out_alone_with_its_reason() {
    let server = FakeServer::start(vec![(
        200,
        ok_body(json!([{"keyword": "linen throw", "competition_index": 7, "search_volume": 320}])),
    )])
    .await;
    let (c, _) = client(&server);
    let long = "one two three four five six seven eight nine ten eleven";
    let got = c
        .discover_noting(&seeds(&["linen throw", long, "throw (grey)"]))
        .await
        .unwrap();
    assert_eq!(got.candidates.len(), 3, "every seed keeps its candidate");
    assert_eq!(got.candidates[0].search_volume, Some(320));
    assert_eq!(
        got.candidates[1].signals["keyword_rejected"],
        json!("11 words (at most 10)")
    );
    assert_eq!(got.notes.len(), 2, "{:?}", got.notes);
    assert!(got.notes[0].contains("11 words"), "{:?}", got.notes);
    assert!(got.notes[1].contains("symbol '('"), "{:?}", got.notes);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "one task, sent");
    assert_eq!(reqs[0].json()[0]["keywords"], json!(["linen throw"]));
}

#[tokio::test]
async fn task_error_inside_ok_envelope_is_an_error() {
    let body = json!({
        "status_code": 20000, "status_message": "Ok.", "tasks_count": 1, "tasks_error": 1,
        "tasks": [{"id": "t1", "status_code": 40501,
                   "status_message": "Invalid Field: 'keywords'.", "result": null}]
    })
    .to_string();
    let server = FakeServer::start(vec![(200, body)]).await;
    let (c, _) = client(&server);
    let err = c.volumes(&seeds(&["x"])).await.unwrap_err();
    match err {
        VendorError::Permanent { detail, .. } => {
            assert!(detail.contains("40501"), "{detail}");
            assert!(detail.contains("Invalid Field"), "{detail}");
        }
        other => panic!("expected Permanent, got {other:?}"),
    }
}

#[tokio::test]
async fn rate_limit_code_is_transient() {
    let body = json!({"status_code": 40202, "status_message": "Rate limit per minute exceeded.",
                      "tasks": []})
    .to_string();
    let server = FakeServer::start(vec![(200, body)]).await;
    let (c, _) = client(&server);
    let err = c.volumes(&seeds(&["x"])).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("40202"));
}

#[tokio::test]
async fn http_401_is_permanent_without_retry() {
    let body =
        json!({"status_code": 40100, "status_message": "You are not authorized."}).to_string();
    let server = FakeServer::start(vec![(401, body)]).await;
    let (c, waits) = client(&server);
    let err = c.volumes(&seeds(&["x"])).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
    assert!(err.to_string().contains("401"));
    assert!(waits.lock().unwrap().is_empty());
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn server_errors_are_retried_then_transient() {
    let server = FakeServer::start(vec![
        (500, "oops".into()),
        (503, "busy".into()),
        (502, "gateway".into()),
    ])
    .await;
    let (c, waits) = client(&server);
    let err = c.volumes(&seeds(&["x"])).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert_eq!(server.requests().len(), 3);
    assert_eq!(waits.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_retry_that_succeeds_returns_data() {
    let server = FakeServer::start(vec![
        (429, "slow down".into()),
        (
            200,
            ok_body(json!([{"keyword": "x", "search_volume": 10, "competition_index": 100}])),
        ),
    ])
    .await;
    let (c, _) = client(&server);
    let got = c.volumes(&seeds(&["x"])).await.unwrap();
    assert_eq!(got["x"].competition_bp, Some(10_000));
}

#[tokio::test]
async fn more_than_1000_keywords_are_split() {
    let server =
        FakeServer::start(vec![(200, ok_body(json!([]))), (200, ok_body(json!(null)))]).await;
    let (c, _) = client(&server);
    let many: Vec<String> = (0..1001).map(|i| format!("kw {i}")).collect();
    c.volumes(&many).await.unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[0].json()[0]["keywords"].as_array().unwrap().len(),
        1000
    );
    assert_eq!(reqs[1].json()[0]["keywords"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn malformed_body_is_permanent() {
    let server = FakeServer::start(vec![(200, "<html>nope</html>".into())]).await;
    let (c, _) = client(&server);
    let err = c.volumes(&seeds(&["x"])).await.unwrap_err();
    assert!(matches!(err, VendorError::Permanent { .. }), "{err:?}");
}
