//! supplier_matcher's DataForSEO client against a replay of the Merchant API's documented answers
//! (https://docs.dataforseo.com/v3/merchant/google/products/task_post/,
//! https://docs.dataforseo.com/v3/merchant/google/products/task_get/advanced/,
//! https://docs.dataforseo.com/v3/appendix/errors/): a task posted then collected, a task still
//! in queue, task and request errors, throttling, a task not ready in time, the per-cycle cap.

mod common;

use chrono::{DateTime, Utc};
use common::{recording_sleeper, Canned, FakeServer};
use otto_connectors::lanes::dataforseo::LaneHttp;
use otto_connectors::lanes::merchant::{parse_task_get, DataForSeoMerchant, TaskState};
use otto_connectors::lanes::{OfferLookup, PostedTask, ShoppingOffers, TaskLedger, Unkept};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const ID0: &str = "12011102-1535-0139-0000-4d0c1b5f8b0a";
const ID1: &str = "12011102-1535-0139-0000-52a2e0d1a6c7";

fn client(server: &FakeServer) -> (DataForSeoMerchant, Arc<Mutex<Vec<Duration>>>) {
    let (sleeper, waits) = recording_sleeper();
    let http = LaneHttp::new()
        .with_sleeper(sleeper)
        .with_backoff_base(Duration::from_millis(1))
        .with_max_retries(1);
    let c = DataForSeoMerchant::new(&server.base_url, "login@example.com", "s3cret", 2528, "nl")
        .with_http(http)
        .with_polling(
            Duration::from_millis(40),
            Duration::from_millis(2),
            Duration::from_millis(8),
        );
    (c, waits)
}

fn envelope(tasks: Vec<Value>) -> String {
    json!({
        "version": "0.1.20261124", "status_code": 20000, "status_message": "Ok.",
        "time": "0.0815 sec.", "cost": 0.003, "tasks_count": tasks.len(), "tasks_error": 0,
        "tasks": tasks
    })
    .to_string()
}

fn data(keyword: &str, tag: &str) -> Value {
    json!({"api": "merchant", "function": "products", "se": "google", "keyword": keyword,
           "location_code": 2528, "language_code": "nl", "priority": 1, "tag": tag})
}

fn created(id: &str, keyword: &str, tag: &str) -> Value {
    json!({"id": id, "status_code": 20100, "status_message": "Task Created.", "time": "0.0040 sec.",
           "cost": 0.0015, "result_count": 0,
           "path": ["v3", "merchant", "google", "products", "task_post"],
           "data": data(keyword, tag), "result": null})
}

fn task(id: &str, code: u64, message: &str, result: Value) -> String {
    envelope(vec![json!({
        "id": id, "status_code": code, "status_message": message, "time": "0.0262 sec.",
        "cost": 0, "result_count": if result.is_null() { 0 } else { 1 },
        "path": ["v3", "merchant", "google", "products", "task_get", "advanced", id],
        "data": data("waffle linen throw", "0"), "result": result
    })])
}

fn item(title: &str, seller: &str, price: Value, currency: &str, product_id: &str) -> Value {
    json!({"type": "google_shopping_serp", "rank_group": 1, "rank_absolute": 1, "position": "left",
           "xpath": "/html[1]/body[1]/div[6]", "domain": null, "title": title,
           "description": "Soft stonewashed linen", "url": null,
           "shopping_url": format!("https://www.google.nl/shopping/product/{product_id}"),
           "tags": [], "price": price, "price_multiplier": null, "old_price": null,
           "currency": currency, "product_id": product_id, "data_docid": "17363035694596624076",
           "seller": seller, "additional_specifications": null, "reviews_count": 12,
           "is_best_match": false, "product_rating": {"rating_type": "Max5", "value": 4.6,
           "votes_count": 12, "rating_max": 5}, "shop_rating": null, "product_images": null,
           "shop_ad_aclk": null, "gid": "4702526954592161872", "delivery_info": null,
           "stores_count_info": null})
}

fn ready(id: &str) -> String {
    task(
        id,
        20000,
        "Ok.",
        json!([{
            "keyword": "waffle linen throw", "type": "shopping", "se_domain": "google.nl",
            "location_code": 2528, "language_code": "nl",
            "check_url": "https://www.google.nl/search?q=waffle%20linen%20throw&tbm=shop",
            "datetime": "2026-12-01 10:02:11 +00:00", "spell": null,
            "item_types": ["google_shopping_serp"], "items_count": 3,
            "items": [
                item("Waffle Linen Throw Blanket 130x170", "AliExpress", json!(11.2), "EUR", "4485466949985702538"),
                item("Waffle linen throw - natural", "bol.com", json!(49.95), "EUR", "1113158713975221117"),
                item("Linen Waffle Throw", "Amazon.com", json!(39), "USD", "98765")
            ]
        }]),
    )
}

/// A task that answered with no offers ("No Search Results.").
fn no_offers(id: &str) -> OfferLookup {
    OfferLookup::Found {
        task_id: id.into(),
        offers: vec![],
    }
}

fn unkept() -> Unkept {
    Unkept { now: now() }
}

fn now() -> DateTime<Utc> {
    "2026-12-01T10:00:00Z".parse().unwrap()
}

fn queries(q: &[&str]) -> Vec<String> {
    q.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn tasks_are_posted_then_collected_when_ready() {
    // Answers in the request order: the POST, round 1 (q0 in queue, q1 no results), round 2.
    let server = FakeServer::start(vec![
        (
            200,
            envelope(vec![
                created(ID1, "velvet apron", "1"),
                created(ID0, "waffle linen throw", "0"),
            ]),
        ),
        (200, task(ID0, 40602, "Task In Queue.", Value::Null)),
        (200, task(ID1, 40102, "No Search Results.", Value::Null)),
        (200, ready(ID0)),
    ])
    .await;
    let (c, waits) = client(&server);
    let got = c
        .offers(
            &queries(&["waffle linen throw", "velvet apron", "waffle linen throw"]),
            &unkept(),
        )
        .await;
    assert_eq!(got.len(), 2, "deduplicated");
    let OfferLookup::Found { task_id, offers } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert_eq!(
        task_id, ID0,
        "mapped back by the echoed tag, not the answer's order"
    );
    assert_eq!(offers.len(), 3);
    assert_eq!(offers[0].seller, "AliExpress");
    assert_eq!(offers[0].price.amount_string(), "11.20");
    assert_eq!(offers[0].price.currency().code(), "EUR");
    assert_eq!(offers[2].price.currency().code(), "USD");
    assert_eq!(offers[0].product_id.as_deref(), Some("4485466949985702538"));
    assert_eq!(got["velvet apron"], no_offers(ID1));

    let reqs = server.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/v3/merchant/google/products/task_post");
    let auth = reqs[0].header("authorization").expect("basic auth");
    assert!(auth.starts_with("Basic "), "{auth}");
    let body = reqs[0].json();
    assert_eq!(
        body,
        json!([
            {"keyword": "waffle linen throw", "location_code": 2528, "language_code": "nl", "priority": 1, "tag": "0"},
            {"keyword": "velvet apron", "location_code": 2528, "language_code": "nl", "priority": 1, "tag": "1"}
        ])
    );
    assert_eq!(reqs[1].method, "GET");
    assert_eq!(
        reqs[1].path,
        format!("/v3/merchant/google/products/task_get/advanced/{ID0}")
    );
    assert_eq!(
        reqs[3].path, reqs[1].path,
        "only the pending task is asked again"
    );
    assert_eq!(
        *waits.lock().unwrap(),
        vec![Duration::from_millis(2), Duration::from_millis(4)],
        "first pause, then doubled"
    );
}

#[tokio::test]
async fn a_task_error_fails_only_its_own_candidate() {
    let refused = json!({"id": ID1, "status_code": 40501,
        "status_message": "Invalid Field: 'keyword'.", "time": "0 sec.", "cost": 0,
        "result_count": 0, "path": ["v3", "merchant", "google", "products", "task_post"],
        "data": data("velvet apron", "1"), "result": null});
    let server = FakeServer::start(vec![
        (
            200,
            envelope(vec![created(ID0, "waffle linen throw", "0"), refused]),
        ),
        (200, ready(ID0)),
    ])
    .await;
    let (c, _) = client(&server);
    let got = c
        .offers(&queries(&["waffle linen throw", "velvet apron"]), &unkept())
        .await;
    assert!(matches!(
        got["waffle linen throw"],
        OfferLookup::Found { .. }
    ));
    let OfferLookup::Failed { reason } = &got["velvet apron"] else {
        panic!("{got:?}")
    };
    assert!(
        reason.contains("40501") && reason.contains("Invalid Field"),
        "{reason}"
    );
    // A task that errors at task_get also fails alone.
    let server = FakeServer::start(vec![
        (200, envelope(vec![created(ID0, "waffle linen throw", "0")])),
        (
            200,
            task(ID0, 40101, "Internal SE Server Error.", Value::Null),
        ),
    ])
    .await;
    let (c, _) = client(&server);
    let got = c.offers(&queries(&["waffle linen throw"]), &unkept()).await;
    let OfferLookup::Failed { reason } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert!(reason.contains(ID0) && reason.contains("40101"), "{reason}");
}

#[tokio::test]
async fn throttling_and_request_errors_fail_that_post_with_the_reason() {
    // Rate limit is a request-level status in an HTTP 200 answer.
    let limited = json!({"version": "0.1.20261124", "status_code": 40202,
        "status_message": "Rate-limit per minute has been exceeded.", "time": "0 sec.",
        "cost": 0, "tasks_count": 0, "tasks_error": 0, "tasks": null})
    .to_string();
    let server = FakeServer::start(vec![(200, limited)]).await;
    let (c, _) = client(&server);
    let got = c
        .offers(&queries(&["waffle linen throw", "velvet apron"]), &unkept())
        .await;
    for q in ["waffle linen throw", "velvet apron"] {
        let OfferLookup::Failed { reason } = &got[q] else {
            panic!("{got:?}")
        };
        assert!(reason.contains("40202"), "{reason}");
    }
    // HTTP 401 (bad login) is not retried; a 500 is, once, then answers.
    let server = FakeServer::start(vec![(
        401,
        json!({"status_code": 40100, "status_message": "You are not authorized to access this resource."}).to_string(),
    )])
    .await;
    let (c, _) = client(&server);
    let got = c.offers(&queries(&["waffle linen throw"]), &unkept()).await;
    let OfferLookup::Failed { reason } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert!(reason.contains("HTTP 401"), "{reason}");
    assert_eq!(server.requests().len(), 1);
    let server = FakeServer::start_canned(vec![
        Canned::new(500, "Internal Server Error"),
        Canned::new(200, envelope(vec![created(ID0, "waffle linen throw", "0")])),
        Canned::new(200, ready(ID0)),
    ])
    .await;
    let (c, _) = client(&server);
    let got = c.offers(&queries(&["waffle linen throw"]), &unkept()).await;
    assert!(
        matches!(got["waffle linen throw"], OfferLookup::Found { .. }),
        "{got:?}"
    );
}

#[tokio::test]
async fn a_task_not_ready_in_time_fails_alone_saying_so() {
    let mut canned = vec![(200, envelope(vec![created(ID0, "waffle linen throw", "0")]))];
    for _ in 0..20 {
        canned.push((200, task(ID0, 40602, "Task In Queue.", Value::Null)));
    }
    let server = FakeServer::start(canned).await;
    let (c, waits) = client(&server);
    let got = c.offers(&queries(&["waffle linen throw"]), &unkept()).await;
    let OfferLookup::Failed { reason } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert!(
        reason.contains("not ready after") && reason.contains("Task In Queue."),
        "{reason}"
    );
    let waited: Duration = waits.lock().unwrap().iter().sum();
    assert_eq!(waited, Duration::from_millis(40), "exactly the wait budget");
}

#[tokio::test]
async fn over_the_cap_or_too_long_is_skipped_before_anything_is_sent() {
    let server = FakeServer::start(vec![
        (200, envelope(vec![created(ID0, "waffle linen throw", "0")])),
        (200, ready(ID0)),
    ])
    .await;
    let (c, _) = client(&server);
    let c = c.with_max_tasks(1);
    let long = "linen ".repeat(120);
    let got = c
        .offers(
            &queries(&["waffle linen throw", &long, "velvet apron"]),
            &unkept(),
        )
        .await;
    assert!(matches!(
        got["waffle linen throw"],
        OfferLookup::Found { .. }
    ));
    let skipped = |q: &str| match &got[q] {
        OfferLookup::Skipped { reason } => reason.clone(),
        other => panic!("{other:?}"),
    };
    assert!(skipped(&long).contains("over DataForSEO's 700"));
    assert!(skipped("velvet apron").contains("DATAFORSEO_MERCHANT_MAX_TASKS"));
    assert_eq!(server.requests()[0].json().as_array().unwrap().len(), 1);
}

#[test]
fn task_get_parser_reads_only_usable_offers() {
    assert_eq!(
        parse_task_get(200, &task(ID0, 40601, "Task Handed.", Value::Null)).unwrap(),
        TaskState::Waiting("Task Handed.".into())
    );
    let TaskState::Ready(offers) = parse_task_get(200, &ready(ID0)).unwrap() else {
        panic!("ready")
    };
    assert_eq!(offers.len(), 3);
    assert!(parse_task_get(200, "<html>").is_err());
    assert!(parse_task_get(404, "Not Found")
        .unwrap_err()
        .to_string()
        .contains("404"));
}

/// A stage chunk's ledger in memory: what an earlier delivery kept, what this one keeps, and how
/// many requests the server had seen at each keep.
struct MemoryLedger {
    now: DateTime<Utc>,
    earlier: Vec<PostedTask>,
    kept: Mutex<Vec<PostedTask>>,
    kept_after_requests: Mutex<Vec<usize>>,
    server: Arc<FakeServer>,
}

impl MemoryLedger {
    fn new(server: &Arc<FakeServer>, now: DateTime<Utc>, earlier: Vec<PostedTask>) -> Self {
        MemoryLedger {
            now,
            earlier,
            kept: Mutex::new(Vec::new()),
            kept_after_requests: Mutex::new(Vec::new()),
            server: server.clone(),
        }
    }
    fn kept(&self) -> Vec<PostedTask> {
        self.kept.lock().unwrap().clone()
    }
}

#[async_trait::async_trait]
impl TaskLedger for MemoryLedger {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn earlier(&self) -> &[PostedTask] {
        &self.earlier
    }
    async fn keep(&self, tasks: &[PostedTask]) -> Result<(), String> {
        *self.kept.lock().unwrap() = tasks.to_vec();
        let seen = self.server.requests().len();
        self.kept_after_requests.lock().unwrap().push(seen);
        Ok(())
    }
}

fn posted(query: &str, id: &str, at: DateTime<Utc>) -> PostedTask {
    PostedTask {
        query: query.into(),
        task_id: id.into(),
        posted_at: at,
    }
}

#[tokio::test]
async fn posted_ids_are_kept_before_waiting_and_a_redelivery_collects_them() {
    // The first delivery posts two tasks, then runs out of time with both still queued (as a
    // Lambda killed while waiting would).
    let mut canned = vec![(
        200,
        envelope(vec![
            created(ID0, "waffle linen throw", "0"),
            created(ID1, "velvet apron", "1"),
        ]),
    )];
    for id in [ID0, ID1].repeat(10) {
        canned.push((200, task(id, 40602, "Task In Queue.", Value::Null)));
    }
    let server = Arc::new(FakeServer::start(canned).await);
    let (c, _) = client(&server);
    let first = MemoryLedger::new(&server, now(), Vec::new());
    let q = queries(&["waffle linen throw", "velvet apron"]);
    let got = c.offers(&q, &first).await;
    assert!(matches!(got["velvet apron"], OfferLookup::Failed { .. }));
    assert_eq!(
        first.kept(),
        vec![
            posted("waffle linen throw", ID0, now()),
            posted("velvet apron", ID1, now())
        ]
    );
    assert_eq!(
        *first.kept_after_requests.lock().unwrap(),
        vec![1],
        "kept right after the POST, before the first task_get"
    );
    // The redelivery, five minutes on, collects those tasks: no POST, nothing billed again.
    let server = Arc::new(
        FakeServer::start(vec![
            (200, ready(ID0)),
            (200, task(ID1, 40102, "No Search Results.", Value::Null)),
        ])
        .await,
    );
    let (c, _) = client(&server);
    let later = now() + chrono::Duration::minutes(5);
    let again = MemoryLedger::new(&server, later, first.kept());
    let got = c.offers(&q, &again).await;
    let OfferLookup::Found { task_id, offers } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert_eq!((task_id.as_str(), offers.len()), (ID0, 3));
    assert_eq!(got["velvet apron"], no_offers(ID1));
    let reqs = server.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "no task_post");
    assert_eq!(reqs.len(), 2);
    assert!(again.kept().is_empty(), "nothing new to keep");
}

#[tokio::test]
async fn a_kept_task_past_dataforseo_retention_is_posted_again() {
    let id2 = "12011102-1535-0139-0000-6a1f0c9d3e21";
    let server = Arc::new(
        FakeServer::start(vec![
            (200, envelope(vec![created(id2, "waffle linen throw", "0")])),
            (200, task(ID1, 40102, "No Search Results.", Value::Null)),
            (200, ready(id2)),
        ])
        .await,
    );
    let (c, _) = client(&server);
    // Posted 30 days ago: its results are gone (or would be before this wait ends).
    let stale = posted(
        "waffle linen throw",
        ID0,
        now() - chrono::Duration::days(30),
    );
    let fresh = posted("velvet apron", ID1, now() - chrono::Duration::hours(1));
    let ledger = MemoryLedger::new(&server, now(), vec![stale, fresh.clone()]);
    let got = c
        .offers(&queries(&["waffle linen throw", "velvet apron"]), &ledger)
        .await;
    let reqs = server.requests();
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(
        reqs[0].json(),
        json!([{"keyword": "waffle linen throw", "location_code": 2528, "language_code": "nl",
                "priority": 1, "tag": "0"}]),
        "only the expired one is posted again"
    );
    assert_eq!(
        ledger.kept(),
        vec![fresh, posted("waffle linen throw", id2, now())]
    );
    let OfferLookup::Found { task_id, .. } = &got["waffle linen throw"] else {
        panic!("{got:?}")
    };
    assert_eq!(task_id, id2);
    assert!(matches!(&got["velvet apron"], OfferLookup::Found { task_id, .. } if task_id == ID1));
}
