//! A local twin of DataForSEO's Merchant API (Google Shopping products) for the research-cycle
//! suites: `task_post` creates one task per posted keyword (echoing `data.tag`), `task_get/advanced`
//! answers it with the documented shape — an AliExpress offer and a retail offer titled like the
//! keyword. A keyword containing `refuse` is refused at task_post with 40501, as DataForSEO
//! refuses an invalid field, so one candidate fails while the others match. While held
//! ([`MerchantTwin::hold`]) every task_get answers 40602 "Task In Queue.", as a task not done yet.
//! Shapes: <https://docs.dataforseo.com/v3/merchant/google/products/task_post/>,
//! <https://docs.dataforseo.com/v3/merchant/google/products/task_get/advanced/>.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// What the twin answers a matching keyword with, in EUR minor units.
pub const SUPPLIER_MINOR: i64 = 250;
pub const RETAIL_MINOR: i64 = 5_900;

#[derive(Default)]
struct Tasks {
    by_id: Mutex<BTreeMap<String, String>>,
    posts: AtomicUsize,
    held: AtomicBool,
    asked_while_held: Notify,
}

pub struct MerchantTwin {
    pub base_url: String,
    tasks: Arc<Tasks>,
}

fn envelope(tasks: Vec<Value>) -> Json<Value> {
    Json(
        json!({"version": "0.1.20261124", "status_code": 20000, "status_message": "Ok.",
        "time": "0.05 sec.", "cost": 0, "tasks_count": tasks.len(), "tasks_error": 0,
        "tasks": tasks}),
    )
}

async fn task_post(State(t): State<Arc<Tasks>>, Json(body): Json<Value>) -> Json<Value> {
    let posted = body.as_array().cloned().unwrap_or_default();
    t.posts.fetch_add(1, Ordering::SeqCst);
    let mut by_id = t.by_id.lock().unwrap();
    let tasks = posted
        .iter()
        .map(|task| {
            let keyword = task["keyword"].as_str().unwrap_or_default().to_string();
            let id = format!("12011102-1535-0139-0000-{:012}", by_id.len());
            let (code, message) = if keyword.to_lowercase().contains("refuse") {
                (40_501, "Invalid Field: 'keyword'.")
            } else {
                by_id.insert(id.clone(), keyword);
                (20_100, "Task Created.")
            };
            json!({"id": id, "status_code": code, "status_message": message, "cost": 0.0015,
                   "result_count": 0, "path": ["v3", "merchant", "google", "products", "task_post"],
                   "data": task, "result": null})
        })
        .collect();
    envelope(tasks)
}

fn item(title: &str, seller: &str, minor: i64) -> Value {
    json!({"type": "google_shopping_serp", "rank_group": 1, "rank_absolute": 1,
           "title": title, "seller": seller, "price": minor as f64 / 100.0, "currency": "EUR",
           "price_multiplier": null, "product_id": "4485466949985702538",
           "shopping_url": "https://www.google.nl/shopping/product/4485466949985702538"})
}

async fn task_get(State(t): State<Arc<Tasks>>, Path(id): Path<String>) -> Json<Value> {
    let keyword = t.by_id.lock().unwrap().get(&id).cloned();
    if t.held.load(Ordering::SeqCst) {
        t.asked_while_held.notify_one();
        return envelope(vec![
            json!({"id": id, "status_code": 40602, "status_message": "Task In Queue.", "result": null}),
        ]);
    }
    let task = match keyword {
        None => json!({"id": id, "status_code": 40400, "status_message": "Not Found.",
                       "result": null}),
        Some(k) => json!({"id": id, "status_code": 20000, "status_message": "Ok.",
            "result_count": 1,
            "result": [{"keyword": k, "type": "shopping", "se_domain": "google.nl",
                "location_code": 2528, "language_code": "nl", "items_count": 2,
                "items": [item(&k, "AliExpress", SUPPLIER_MINOR), item(&k, "bol.com", RETAIL_MINOR)]}]}),
    };
    envelope(vec![task])
}

impl MerchantTwin {
    pub async fn start() -> Self {
        let tasks = Arc::new(Tasks::default());
        let app = Router::new()
            .route("/v3/merchant/google/products/task_post", post(task_post))
            .route(
                "/v3/merchant/google/products/task_get/advanced/{id}",
                get(task_get),
            )
            .with_state(tasks.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("merchant twin");
        });
        MerchantTwin {
            base_url: format!("http://{addr}"),
            tasks,
        }
    }

    /// Tasks created so far.
    pub fn created(&self) -> usize {
        self.tasks.by_id.lock().unwrap().len()
    }

    /// task_post requests so far.
    pub fn posts(&self) -> usize {
        self.tasks.posts.load(Ordering::SeqCst)
    }

    /// While held, every task is still in queue.
    pub fn hold(&self, held: bool) {
        self.tasks.held.store(held, Ordering::SeqCst);
    }

    /// Returns once a task_get was asked while held.
    pub async fn asked_while_held(&self) {
        self.tasks.asked_while_held.notified().await;
    }
}
