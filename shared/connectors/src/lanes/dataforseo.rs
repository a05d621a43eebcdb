//! DataForSEO keyword search volume ([`KeywordVolumes`]) and the `frequency` discovery lane.
//!
//! * `POST {base}/v3/keywords_data/google_ads/search_volume/live`, HTTP Basic auth
//!   (login:password), body = a JSON **array** holding one task
//!   `{"keywords": [...], "location_code": N}`. Language is deliberately not set (DataForSEO's own
//!   advice: language settings make many combinations return `null`). More than 1,000 keywords are
//!   sent as several requests of ≤ 1,000 (DataForSEO bills per request).
//! * The outcome is read at **both** levels: the envelope's `status_code` and the task's
//!   `status_code` must each be 20000; a task error inside a 20000 envelope (e.g. 40101) is an error
//!   naming the code and message. Code 40202 (rate limit) and 5xxxx codes are `Transient`, other
//!   codes `Permanent`.
//! * `tasks[0].result[]` items: `keyword`, `search_volume` (`null` → `None`, never 0),
//!   `competition_index` 0–100 (→ basis points ×100; `null` → `None`).
//! * Keywords are checked against the limits before a task is sent ([`super::keyword_limits`]:
//!   ≤ 80 characters, ≤ 10 words, no invalid symbols): a bad keyword is dropped with its reason
//!   (logged; a `frequency` candidate carries it as the `keyword_rejected` signal) instead of
//!   failing the whole task.
//! * HTTP: 401/402/404 and other 4xx → `Permanent`; 429, 5xx, timeouts and connection errors are
//!   retried with exponential backoff + jitter ([`LaneHttp`]), then `Transient`.
//!
//! [`LaneHttp`] is the small retrying HTTP helper shared by the HTTP lanes (`competitor`,
//! `meta_ads`).

use super::keyword_limits::{partition, RejectedKeyword};
use super::{DiscoveryLane, KeywordStat, KeywordVolumes, LaneFindings, RawCandidate};
use crate::ports::VendorError;
use crate::shopify::{tokio_sleeper, Sleeper};
pub use crate::snippet;
use async_trait::async_trait;
use otto_core::Currency;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

const VENDOR: &str = "dataforseo";
const PATH: &str = "/v3/keywords_data/google_ads/search_volume/live";
/// DataForSEO's per-task keyword limit.
pub const MAX_KEYWORDS_PER_TASK: usize = 1_000;
const OK: u64 = 20_000;
const RATE_LIMITED: u64 = 40_202;

/// Retrying HTTP for the discovery lanes: connection errors, timeouts, HTTP 429 and 5xx are retried
/// up to `max_retries` times with exponential backoff (base × 2^(n−1), capped at 60 s, jitter in
/// [½, 1]×), then reported `Transient`. Any other answer is handed back as (status, body) for the
/// lane to classify. Error details never carry the request URL (it may hold an access token).
#[derive(Clone)]
pub struct LaneHttp {
    client: reqwest::Client,
    sleeper: Sleeper,
    backoff_base: Duration,
    max_retries: u32,
    /// The longest `Retry-After` honoured; a longer one ends the request at once.
    max_retry_after: Duration,
}

/// A `Retry-After` header: delay-seconds, or an HTTP-date (RFC 9110 §10.2.3) measured from now.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (at.with_timezone(&chrono::Utc) - otto_core::clock::now()).num_seconds();
    Some(Duration::from_secs(secs.max(0) as u64))
}

impl fmt::Debug for LaneHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneHttp")
            .field("backoff_base", &self.backoff_base)
            .field("max_retries", &self.max_retries)
            .finish_non_exhaustive()
    }
}

impl Default for LaneHttp {
    fn default() -> Self {
        Self::new()
    }
}

impl LaneHttp {
    /// 60 s request timeout, 3 retries, 1 s backoff base, `tokio::time::sleep`.
    pub fn new() -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        LaneHttp {
            client,
            sleeper: tokio_sleeper(),
            backoff_base: Duration::from_secs(1),
            max_retries: 3,
            max_retry_after: Duration::from_secs(30),
        }
    }

    /// The longest `Retry-After` a 429/503 may ask for and still be retried (default 30 s).
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Waits `d` on this helper's sleeper (polling lanes use it between rounds).
    pub async fn pause(&self, d: Duration) {
        (self.sleeper)(d).await;
    }

    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        if let Ok(c) = reqwest::Client::builder().timeout(timeout).build() {
            self.client = c;
        }
        self
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(Duration::from_secs(60));
        exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    /// Sends the request `build` makes (rebuilt for each attempt); `what` names it in errors.
    /// A 429/5xx with `Retry-After` waits that long instead of the backoff; one asking for more
    /// than `max_retry_after` is not retried (the error names the wait asked for).
    pub async fn send(
        &self,
        vendor: &'static str,
        what: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<(u16, String), VendorError> {
        let mut attempt = 0u32;
        loop {
            let mut asked: Option<Duration> = None;
            let detail = match build(&self.client).send().await {
                Err(e) => format!("request failed: {}", e.without_url()),
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    asked = retry_after(resp.headers());
                    match resp.text().await {
                        Err(e) => format!("reading the response failed: {}", e.without_url()),
                        Ok(body) if status == 429 || status >= 500 => {
                            format!("HTTP {status}: {}", snippet(&body))
                        }
                        Ok(body) => return Ok((status, body)),
                    }
                }
            };
            if let Some(wait) = asked.filter(|w| *w > self.max_retry_after) {
                return Err(VendorError::Transient {
                    vendor,
                    detail: format!(
                        "{what}: {detail} — Retry-After {} s is longer than the {} s Otto waits; not retried",
                        wait.as_secs(),
                        self.max_retry_after.as_secs()
                    ),
                });
            }
            if attempt >= self.max_retries {
                return Err(VendorError::Transient {
                    vendor,
                    detail: format!("{what}: gave up after {attempt} retries: {detail}"),
                });
            }
            attempt += 1;
            tracing::warn!(vendor, what, attempt, %detail, "discovery lane: retrying");
            (self.sleeper)(asked.unwrap_or_else(|| self.backoff(attempt))).await;
        }
    }
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

fn transient(detail: impl Into<String>) -> VendorError {
    VendorError::transient(VENDOR, detail)
}

pub struct DataForSeoClient {
    /// `https://api.dataforseo.com`.
    pub base_url: String,
    pub login: String,
    pub password: String,
    /// DataForSEO location, e.g. 2528 (Netherlands), 2840 (United States).
    pub location_code: u32,
    /// The store currency (DataForSEO's own `cpc` is USD and is not used).
    pub currency: Currency,
    http: LaneHttp,
}

impl fmt::Debug for DataForSeoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataForSeoClient")
            .field("base_url", &self.base_url)
            .field("login", &self.login)
            .field("password", &"<redacted>")
            .field("location_code", &self.location_code)
            .field("currency", &self.currency)
            .finish()
    }
}

impl DataForSeoClient {
    pub fn new(
        base_url: impl Into<String>,
        login: impl Into<String>,
        password: impl Into<String>,
        location_code: u32,
        currency: Currency,
    ) -> Self {
        DataForSeoClient {
            base_url: base_url.into(),
            login: login.into(),
            password: password.into(),
            location_code,
            currency,
            http: LaneHttp::new(),
        }
    }

    /// Volumes for the keywords within DataForSEO's limits, and the keywords dropped (with why)
    /// before anything was sent. Nothing is sent when no keyword is left.
    pub async fn checked_volumes(
        &self,
        keywords: &[String],
    ) -> Result<(BTreeMap<String, KeywordStat>, Vec<RejectedKeyword>), VendorError> {
        let (ok, rejected) = partition(keywords);
        for r in &rejected {
            tracing::warn!(keyword = %r.keyword, reason = %r.reason, "dataforseo: keyword dropped");
        }
        let mut out = BTreeMap::new();
        for chunk in ok.chunks(MAX_KEYWORDS_PER_TASK) {
            self.one_task(chunk, &mut out).await?;
        }
        Ok((out, rejected))
    }

    /// Replaces the retrying HTTP helper (tests use tiny backoffs).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    async fn one_task(
        &self,
        keywords: &[String],
        out: &mut BTreeMap<String, KeywordStat>,
    ) -> Result<(), VendorError> {
        let url = format!("{}{PATH}", self.base_url.trim_end_matches('/'));
        let body = json!([{ "keywords": keywords, "location_code": self.location_code }]);
        let (status, text) = self
            .http
            .send(VENDOR, "search_volume/live", |c| {
                c.post(&url)
                    .basic_auth(&self.login, Some(&self.password))
                    .json(&body)
            })
            .await?;
        out.extend(parse_volumes(status, &text)?);
        Ok(())
    }
}

/// The response parser, public for fuzzing: a `search_volume/live` answer (HTTP status + body
/// text) → the keyword stats of `tasks[0].result` (a null result is no stats). Request- and
/// task-level `status_code`s other than 20000 are errors (40202 and 5xxxx `Transient`).
pub fn parse_volumes(
    status: u16,
    text: &str,
) -> Result<BTreeMap<String, KeywordStat>, VendorError> {
    let mut out = BTreeMap::new();
    let v = envelope(status, text)?;
    let task = first_task(&v)?;
    check_status("task", task)?;
    let items = match task.get("result") {
        None | Some(Value::Null) => return Ok(out),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(permanent(format!("tasks[0].result is not a list: {other}"))),
    };
    for (i, item) in items.iter().enumerate() {
        let keyword = item
            .get("keyword")
            .and_then(Value::as_str)
            .ok_or_else(|| permanent(format!("result[{i}] has no keyword")))?;
        let search_volume = match item.get("search_volume") {
            None | Some(Value::Null) => None,
            Some(n) => Some(n.as_u64().ok_or_else(|| {
                permanent(format!(
                    "result[{i}] ({keyword}): search_volume {n} is not a whole number"
                ))
            })?),
        };
        let competition_bp = match item.get("competition_index") {
            None | Some(Value::Null) => None,
            Some(n) => match n.as_u64() {
                Some(c) if c <= 100 => Some(c as u32 * 100),
                _ => {
                    return Err(permanent(format!(
                        "result[{i}] ({keyword}): competition_index {n} is not 0–100"
                    )))
                }
            },
        };
        out.insert(
            keyword.to_string(),
            KeywordStat {
                search_volume,
                competition_bp,
            },
        );
    }
    Ok(out)
}

/// A DataForSEO answer's envelope: HTTP 2xx, JSON, request-level `status_code` 20000.
pub(super) fn envelope(status: u16, text: &str) -> Result<Value, VendorError> {
    if !(200..300).contains(&status) {
        return Err(permanent(format!("HTTP {status}: {}", snippet(text))));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| permanent(format!("response is not JSON ({e}): {}", snippet(text))))?;
    check_status("request", &v)?;
    Ok(v)
}

/// `tasks[0]` of an envelope.
pub(super) fn first_task(v: &Value) -> Result<&Value, VendorError> {
    v.get("tasks")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .ok_or_else(|| permanent("response has no tasks[0]"))
}

/// A level's `status_code` and `status_message`.
pub(super) fn status_of(v: &Value) -> Option<(u64, &str)> {
    let code = v.get("status_code").and_then(Value::as_u64)?;
    let message = v
        .get("status_message")
        .and_then(Value::as_str)
        .unwrap_or("(no status_message)");
    Some((code, message))
}

/// 20000 is Ok; 40202 (rate limit) and 5xxxx are `Transient`, other codes `Permanent`.
pub(super) fn check_status(level: &str, v: &Value) -> Result<(), VendorError> {
    let (code, message) =
        status_of(v).ok_or_else(|| permanent(format!("{level} has no status_code")))?;
    if code == OK {
        return Ok(());
    }
    let detail = format!("{level} status {code}: {message}");
    if code == RATE_LIMITED || (50_000..60_000).contains(&code) {
        Err(transient(detail))
    } else {
        Err(permanent(detail))
    }
}

#[async_trait]
impl KeywordVolumes for DataForSeoClient {
    async fn volumes(
        &self,
        keywords: &[String],
    ) -> Result<BTreeMap<String, KeywordStat>, VendorError> {
        Ok(self.checked_volumes(keywords).await?.0)
    }
}

#[async_trait]
impl DiscoveryLane for DataForSeoClient {
    fn name(&self) -> &'static str {
        "frequency"
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        Ok(self.discover_noting(seeds).await?.candidates)
    }

    /// One candidate per seed keyword (title = the keyword) with its volume and competition;
    /// DataForSEO may normalise a keyword's case, so the lookup falls back to a case-insensitive
    /// match. A seed DataForSEO did not answer for keeps `None` for both. A seed over the keyword
    /// limits is left out of the task alone: a note and its candidate's `keyword_rejected` say why.
    async fn discover_noting(&self, seeds: &[String]) -> Result<LaneFindings, VendorError> {
        let (stats, rejected) = self.checked_volumes(seeds).await?;
        let notes = rejected
            .iter()
            .map(|r| format!("keyword {:?} left out: {}", r.keyword, r.reason))
            .collect();
        let candidates = seeds
            .iter()
            .map(|seed| {
                let stat = stats
                    .get(seed)
                    .or_else(|| {
                        let lower = seed.to_lowercase();
                        stats
                            .iter()
                            .find(|(k, _)| k.to_lowercase() == lower)
                            .map(|(_, s)| s)
                    })
                    .cloned()
                    .unwrap_or_default();
                RawCandidate {
                    title: seed.clone(),
                    lane: "frequency".to_string(),
                    source_url: None,
                    price: None,
                    unit_cost: None,
                    search_volume: stat.search_volume,
                    competition_bp: stat.competition_bp,
                    signals: rejected
                        .iter()
                        .find(|r| r.keyword == *seed)
                        .map(|r| {
                            BTreeMap::from([(
                                "keyword_rejected".to_string(),
                                Value::String(r.reason.clone()),
                            )])
                        })
                        .unwrap_or_default(),
                }
            })
            .collect();
        Ok(LaneFindings { candidates, notes })
    }
}
