//! DataForSEO Merchant API — Google Shopping products — for supplier_matcher
//! ([`ShoppingOffers`]): who sells a candidate, and at what price.
//!
//! The Merchant API has only the Standard (task) method, so a lookup is post, then collect:
//! * `POST {base}/v3/merchant/google/products/task_post`, HTTP Basic auth, body = a JSON array of
//!   at most 100 tasks `{"keyword", "location_code", "language_code", "priority", "tag"}`;
//!   `keyword` ≤ 700 characters; `language_*` and `location_*` are required; priority 1 (normal,
//!   default) or 2 (high, charged more); "each POST call containing no more than 100 tasks" (more
//!   → 40006); billed per task set (a results page of up to 100 products), results free to fetch
//!   for 30 days — <https://docs.dataforseo.com/v3/merchant/google/products/task_post/>. Each
//!   created task answers `status_code` 20100 ("Task Created.") with its `id`; `tasks[].data`
//!   echoes the task as posted (its `tag` maps it back to the candidate).
//! * `GET {base}/v3/merchant/google/products/task_get/advanced/{id}` —
//!   <https://docs.dataforseo.com/v3/merchant/google/products/task_get/advanced/>: task status
//!   20000 = ready; 40601 ("Task Handed.") / 40602 ("Task In Queue.") = not ready yet; 40102 ("No
//!   Search Results.") = ready with no offers — codes from
//!   <https://docs.dataforseo.com/v3/appendix/errors/>. Offers: `tasks[0].result[0].items[]` of
//!   `type` `google_shopping_serp` / `google_shopping_paid` with `title`, `seller`, `price` (a JSON
//!   number), `currency` (ISO 4217), `product_id`, `shopping_url`, `price_multiplier` (an
//!   instalment plan: the price is a monthly payment, so such an item is left out).
//! * The envelope is read at both levels like the keyword client ([`super::dataforseo`]): HTTP
//!   401/402/404/500 and request-level codes other than 20000 fail every query of that POST; a task
//!   error fails its own query only.
//! * Polling: every pending task each round; the first wait `poll_first`, doubling up to
//!   `poll_max`, until `wait` is spent; a task still pending then fails alone ("not ready after
//!   N s"). The waits are counted, not read from a clock.
//! * At most `max_tasks` queries are sent per call (cost control); the rest are `Skipped` saying
//!   so. Queries are deduplicated.
//! * Posted tasks are billed, their results free to collect for [`RESULTS_KEPT_DAYS`] days
//!   ("Your account will be charged only for posting a task. You can get the results of the task
//!   within the next 30 days for free"; the id "you will be able to use it within 30 days" —
//!   <https://docs.dataforseo.com/v3/merchant/google/products/task_get/advanced/>). So the ids are
//!   kept in the caller's [`TaskLedger`] after each POST, before any wait, and a redelivered stage
//!   collects the tasks an earlier delivery kept instead of posting them again; a kept task whose
//!   results would expire before this delivery's wait ends is posted again. Ids are kept by the
//!   caller rather than found again through `tasks_ready`, which lists only completed tasks "which
//!   haven't been collected yet"
//!   (<https://docs.dataforseo.com/v3/merchant/google/products/tasks_ready/>): a task the crashed
//!   delivery had already collected would not be listed.

use super::dataforseo::{check_status, envelope, first_task, status_of, LaneHttp};
use super::{FoundOffer, OfferLookup, PostedTask, ShoppingOffers, TaskLedger};
use crate::ports::VendorError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::{Currency, Money};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

const VENDOR: &str = "dataforseo";
const POST_PATH: &str = "/v3/merchant/google/products/task_post";
const GET_PATH: &str = "/v3/merchant/google/products/task_get/advanced";
/// Tasks per POST (DataForSEO: "no more than 100 tasks").
pub const MAX_TASKS_PER_POST: usize = 100;
/// How many days DataForSEO keeps a posted task's results for collection.
pub const RESULTS_KEPT_DAYS: i64 = 30;
/// `keyword` length limit of the products task.
pub const MAX_KEYWORD_CHARS: usize = 700;
const CREATED: u64 = 20_100;
const READY: u64 = 20_000;
const NO_RESULTS: u64 = 40_102;
const HANDED: u64 = 40_601;
const IN_QUEUE: u64 = 40_602;

/// Normal or high execution priority (`priority` 1 / 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Normal,
    High,
}

impl Priority {
    fn code(self) -> u8 {
        match self {
            Priority::Normal => 1,
            Priority::High => 2,
        }
    }
}

pub struct DataForSeoMerchant {
    base_url: String,
    login: String,
    password: String,
    location_code: u32,
    language_code: String,
    priority: Priority,
    max_tasks: usize,
    wait: Duration,
    poll_first: Duration,
    poll_max: Duration,
    http: LaneHttp,
}

impl fmt::Debug for DataForSeoMerchant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataForSeoMerchant")
            .field("base_url", &self.base_url)
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("location_code", &self.location_code)
            .field("language_code", &self.language_code)
            .field("priority", &self.priority)
            .field("max_tasks", &self.max_tasks)
            .field("wait", &self.wait)
            .finish()
    }
}

/// Where a task stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    Ready(Vec<FoundOffer>),
    /// Not ready yet: the task's status message.
    Waiting(String),
}

impl DataForSeoMerchant {
    /// Normal priority, 30 tasks per call, 240 s of waiting (5 s first, doubling to 30 s).
    pub fn new(
        base_url: impl Into<String>,
        login: impl Into<String>,
        password: impl Into<String>,
        location_code: u32,
        language_code: impl Into<String>,
    ) -> Self {
        DataForSeoMerchant {
            base_url: base_url.into(),
            login: login.into(),
            password: password.into(),
            location_code,
            language_code: language_code.into(),
            priority: Priority::Normal,
            max_tasks: 30,
            wait: Duration::from_secs(240),
            poll_first: Duration::from_secs(5),
            poll_max: Duration::from_secs(30),
            http: LaneHttp::new(),
        }
    }

    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    pub fn with_max_tasks(mut self, max_tasks: usize) -> Self {
        self.max_tasks = max_tasks;
        self
    }

    /// How long to wait for tasks in all, the first pause, and the longest pause.
    pub fn with_polling(mut self, wait: Duration, first: Duration, max: Duration) -> Self {
        self.wait = wait;
        self.poll_first = first;
        self.poll_max = max;
        self
    }

    /// Replaces the retrying HTTP helper (tests use tiny backoffs and a recording sleeper).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url.trim_end_matches('/'))
    }

    /// Which queries are sent, and the others' outcome.
    fn triage(&self, queries: &[String]) -> (Vec<String>, BTreeMap<String, OfferLookup>) {
        let mut send: Vec<String> = Vec::new();
        let mut out = BTreeMap::new();
        for q in queries {
            if send.contains(q) || out.contains_key(q) {
                continue;
            }
            let chars = q.trim().chars().count();
            let skipped = if chars == 0 {
                Some("empty title: nothing to look up".to_string())
            } else if chars > MAX_KEYWORD_CHARS {
                Some(format!(
                    "title of {chars} characters is over DataForSEO's {MAX_KEYWORD_CHARS}"
                ))
            } else if send.len() >= self.max_tasks {
                Some(format!(
                    "over the cap of {} DataForSEO lookups per cycle (DATAFORSEO_MERCHANT_MAX_TASKS)",
                    self.max_tasks
                ))
            } else {
                None
            };
            match skipped {
                Some(reason) => {
                    out.insert(q.clone(), OfferLookup::Skipped { reason });
                }
                None => send.push(q.clone()),
            }
        }
        (send, out)
    }

    /// The queries to send, split into tasks an earlier delivery posted whose results are still
    /// there when this delivery's wait ends (collected, not posted), and queries to post.
    fn resume(&self, send: Vec<String>, ledger: &dyn TaskLedger) -> (Vec<PostedTask>, Vec<String>) {
        let wait = chrono::Duration::from_std(self.wait).unwrap_or(chrono::Duration::MAX);
        let needed_until = ledger.now().checked_add_signed(wait);
        let collectable = |t: &PostedTask| {
            let kept_until = t
                .posted_at
                .checked_add_signed(chrono::Duration::days(RESULTS_KEPT_DAYS));
            matches!((kept_until, needed_until), (Some(k), Some(n)) if k > n)
        };
        let mut kept = Vec::new();
        let mut post = Vec::new();
        for q in send {
            let earlier = ledger
                .earlier()
                .iter()
                .filter(|t| t.query == q)
                .max_by_key(|t| t.posted_at);
            match earlier {
                Some(t) if collectable(t) => kept.push(t.clone()),
                _ => post.push(q),
            }
        }
        (kept, post)
    }

    /// Posts `queries` in chunks of at most 100, keeping every created task in `ledger` after
    /// each POST; a refused task or POST fails its queries in `out`.
    async fn post_all(
        &self,
        queries: &[String],
        ledger: &dyn TaskLedger,
        posted: &mut Vec<PostedTask>,
        out: &mut BTreeMap<String, OfferLookup>,
    ) {
        for chunk in queries.chunks(MAX_TASKS_PER_POST) {
            let created = match self.post(chunk).await {
                Ok(created) => created,
                Err(e) => {
                    tracing::warn!(error = %e, "dataforseo merchant: task_post failed");
                    for q in chunk {
                        let reason = format!("task_post: {e}");
                        out.insert(q.clone(), OfferLookup::Failed { reason });
                    }
                    continue;
                }
            };
            for (q, r) in chunk.iter().zip(created) {
                match r {
                    Ok(id) => posted.push(posted_task(q, id, ledger.now())),
                    Err(reason) => {
                        out.insert(q.clone(), OfferLookup::Failed { reason });
                    }
                }
            }
            if let Err(e) = ledger.keep(posted).await {
                tracing::warn!(error = %e, "dataforseo merchant: posted task ids not kept; a redelivery would post them again");
            }
        }
    }

    async fn post(&self, chunk: &[String]) -> Result<Vec<Result<String, String>>, VendorError> {
        let tasks: Vec<Value> = chunk
            .iter()
            .enumerate()
            .map(|(i, q)| {
                json!({
                    "keyword": q,
                    "location_code": self.location_code,
                    "language_code": self.language_code,
                    "priority": self.priority.code(),
                    "tag": i.to_string(),
                })
            })
            .collect();
        let body = Value::Array(tasks);
        let url = self.url(POST_PATH);
        let (status, text) = self
            .http
            .send(VENDOR, "merchant/google/products/task_post", |c| {
                c.post(&url)
                    .basic_auth(&self.login, Some(&self.password))
                    .json(&body)
            })
            .await?;
        parse_task_post(status, &text, chunk.len())
    }

    async fn get(&self, id: &str) -> Result<TaskState, VendorError> {
        let url = format!("{}/{id}", self.url(GET_PATH));
        let (status, text) = self
            .http
            .send(VENDOR, "merchant/google/products/task_get", |c| {
                c.get(&url).basic_auth(&self.login, Some(&self.password))
            })
            .await?;
        parse_task_get(status, &text)
    }

    /// Polls the pending tasks until each is ready or failed, or the wait is spent.
    async fn collect(
        &self,
        mut pending: Vec<(String, String)>,
        out: &mut BTreeMap<String, OfferLookup>,
    ) {
        let mut waited = Duration::ZERO;
        let mut pause = self.poll_first;
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        while !pending.is_empty() {
            if waited >= self.wait {
                for (q, id) in pending.drain(..) {
                    let why = last.get(&id).cloned().unwrap_or_default();
                    let reason = format!(
                        "DataForSEO task {id} not ready after {} s ({why})",
                        waited.as_secs()
                    );
                    out.insert(q, OfferLookup::Failed { reason });
                }
                break;
            }
            let step = pause.min(self.wait - waited);
            self.http.pause(step).await;
            waited += step;
            pause = (pause * 2).min(self.poll_max);
            let mut still = Vec::new();
            for (q, id) in pending.drain(..) {
                match self.get(&id).await {
                    Ok(TaskState::Ready(offers)) => {
                        out.insert(
                            q,
                            OfferLookup::Found {
                                task_id: id,
                                offers,
                            },
                        );
                    }
                    Ok(TaskState::Waiting(msg)) => {
                        last.insert(id.clone(), msg);
                        still.push((q, id));
                    }
                    Err(e) => {
                        let reason = format!("task {id}: {e}");
                        out.insert(q, OfferLookup::Failed { reason });
                    }
                }
            }
            pending = still;
        }
    }
}

/// The task_post parser, public for fuzzing: one entry per posted task (in posted order, mapped
/// back by the echoed `data.tag`), the task id or why that task was refused. An envelope that is
/// not Ok fails the whole POST.
pub fn parse_task_post(
    status: u16,
    text: &str,
    posted: usize,
) -> Result<Vec<Result<String, String>>, VendorError> {
    let v = envelope(status, text)?;
    let tasks = v
        .get("tasks")
        .and_then(Value::as_array)
        .ok_or_else(|| VendorError::permanent(VENDOR, "task_post answer has no tasks"))?;
    let mut out: Vec<Result<String, String>> = (0..posted)
        .map(|_| Err("DataForSEO did not answer for this task".to_string()))
        .collect();
    for (pos, t) in tasks.iter().enumerate() {
        let slot = t
            .pointer("/data/tag")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(pos);
        let Some(entry) = out.get_mut(slot) else {
            continue;
        };
        *entry = match (status_of(t), t.get("id").and_then(Value::as_str)) {
            (Some((CREATED, _)), Some(id)) if !id.is_empty() => Ok(id.to_string()),
            (Some((code, msg)), _) => Err(format!("task_post status {code}: {msg}")),
            (None, _) => Err("task_post task has no status_code".to_string()),
        };
    }
    Ok(out)
}

/// The task_get parser, public for fuzzing: ready with its offers, or still waiting.
pub fn parse_task_get(status: u16, text: &str) -> Result<TaskState, VendorError> {
    let v = envelope(status, text)?;
    let task = first_task(&v)?;
    match status_of(task) {
        Some((HANDED | IN_QUEUE, msg)) => return Ok(TaskState::Waiting(msg.to_string())),
        Some((NO_RESULTS, _)) => return Ok(TaskState::Ready(Vec::new())),
        Some((READY, _)) => {}
        _ => check_status("task", task)?,
    }
    let items = task
        .pointer("/result/0/items")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    Ok(TaskState::Ready(items.iter().filter_map(offer).collect()))
}

/// One item → an offer; items without a title, seller, price or currency, or priced per
/// instalment, are left out.
fn offer(item: &Value) -> Option<FoundOffer> {
    let text = |k: &str| {
        item.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if item
        .get("price_multiplier")
        .and_then(Value::as_u64)
        .is_some_and(|m| m > 1)
    {
        return None;
    }
    let currency = Currency::new(&text("currency")?).ok()?;
    let amount = match item.get("price")? {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => return None,
    };
    let price = Money::parse(&amount, currency).ok()?;
    Some(FoundOffer {
        title: text("title")?,
        seller: text("seller").or_else(|| text("domain"))?,
        price,
        product_id: text("product_id"),
        url: text("shopping_url").or_else(|| text("url")),
    })
}

fn posted_task(query: &str, task_id: String, posted_at: DateTime<Utc>) -> PostedTask {
    PostedTask {
        query: query.to_string(),
        task_id,
        posted_at,
    }
}

#[async_trait]
impl ShoppingOffers for DataForSeoMerchant {
    async fn offers(
        &self,
        queries: &[String],
        ledger: &dyn TaskLedger,
    ) -> BTreeMap<String, OfferLookup> {
        let (send, mut out) = self.triage(queries);
        let (mut posted, to_post) = self.resume(send, ledger);
        if !posted.is_empty() {
            tracing::info!(
                kept = posted.len(),
                "dataforseo merchant: collecting the tasks an earlier delivery posted"
            );
        }
        self.post_all(&to_post, ledger, &mut posted, &mut out).await;
        let pending = posted.into_iter().map(|t| (t.query, t.task_id)).collect();
        self.collect(pending, &mut out).await;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_skip_instalments_and_unpriced_items() {
        let items = json!([
            {"type": "google_shopping_serp", "title": "Linen Throw", "seller": "AliExpress",
             "price": 11.2, "currency": "EUR", "product_id": "1", "shopping_url": "https://g/1"},
            {"type": "google_shopping_serp", "title": "Linen Throw", "seller": "Shop",
             "price": 9.99, "currency": "EUR", "price_multiplier": 12},
            {"type": "google_shopping_serp", "title": "Linen Throw", "seller": "Shop",
             "price": null, "currency": "EUR"},
            {"type": "google_shopping_serp", "title": "Linen Throw", "seller": "Shop",
             "price": 3, "currency": "euro"}
        ]);
        let got: Vec<FoundOffer> = items.as_array().unwrap().iter().filter_map(offer).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].price.amount_string(), "11.20");
        assert_eq!(got[0].url.as_deref(), Some("https://g/1"));
    }
}
