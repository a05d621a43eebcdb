//! Gorgias REST API adapter ([`Helpdesk`]).
//!
//! * Endpoint: `{base_url}/api/…` with `base_url = https://{domain}.gorgias.com` (a trailing `/api`
//!   is accepted and not doubled), HTTP Basic auth (user's email : REST API key).
//! * Tickets: `GET /api/tickets?limit&cursor&order_by=updated_datetime:desc&trashed=false[&view_id]`,
//!   cursor pagination (`data`, `meta.next_cursor`; no cursor → last page). The endpoint has no
//!   status or tag filter — Gorgias filters through *views* — so an optional view id narrows the
//!   listing (`open_view_id`, `approved_view_id`) and the client filters again on what it reads.
//!   More than `max_pages` pages of open tickets is an error (never half an inbox): point
//!   `open_view_id` at a view of open tickets in a large account.
//! * Messages: `GET /api/messages?ticket_id&limit&cursor&order_by=created_datetime:asc` (the
//!   per-ticket `GET /api/tickets/{id}/messages` is deprecated by Gorgias); every message's
//!   `ticket_id` is checked against the ticket asked for.
//! * Reply: `POST /api/tickets/{id}/messages` with an empty `sent_datetime`, so Gorgias sends it
//!   (asynchronously; it fills `sent_datetime` once sent). Gorgias has no drafts: "Create a
//!   message and … send it to the recipients if the attribute sent_datetime is empty … add it to
//!   the ticket as an internal note if you specified this channel. Internal notes are not sent to
//!   your customers" — <https://developers.gorgias.com/reference/create-ticket-message>. So a
//!   draft lives in an internal note until SEND, and only SEND posts anything public.
//!
//! ## Conventions (how Otto reads a Gorgias account)
//!
//! * **Open thread**: a ticket with `status == "open"`, not `spam`, not trashed. `Thread.id` is the
//!   ticket id as a string, `subject` the ticket subject (`""` when null).
//! * **Refund amount**: a ticket tag `refund:<amount>[ <CUR>]`, e.g. `refund:780.00 EUR` (amount in
//!   plain decimal with `.`; the configured currency when the code is omitted), or the same text
//!   in the ticket's `meta.otto_refund`. Both present and different, more than one refund tag
//!   that disagree, or an unreadable or non-positive amount → `Permanent` naming the ticket: a
//!   refund request Otto cannot read must not be treated as "no refund".
//! * **Category**: a tag `category:<name>`; else `refund` when a refund amount is set; else the
//!   ticket's `channel` (`email`, `chat`, …).
//! * **Draft**: the latest internal note (`channel == "internal-note"`, never shown to the
//!   customer) by an agent whose text starts with [`DRAFT_MARKER`] (`Reply draft:`, any case),
//!   not deleted, not one Otto already replied from, and newer than the latest public agent
//!   message (a draft an agent overtook by replying is stale). A public agent message is never a
//!   draft, sent or not: without `sent_datetime` it is one Gorgias is already sending. Text = the
//!   note's `body_text` (else `body_html` stripped of tags) after the marker.
//!   `Draft.version = "{message id}@{first 12 hex of SHA-256(text)}"` — Gorgias messages carry no
//!   `updated_datetime`, so the version hashes the text: an edited draft is a new version.
//!   `Draft.author` = the note's sender's name (else email, else `agent`).
//! * **Approved replies** (the brand-voice corpus): closed tickets tagged `approved_tag` (default
//!   `approved-reply`, compared case-insensitively), most recently updated first, at most
//!   `max_approved_tickets` of them; from each, every public agent message that was sent and is
//!   not an internal note. This is a bounded sample by design: when `max_pages` pages are read
//!   without finding that many tickets, the ones found are used (logged).
//!
//! ## Sending without double-sending
//!
//! Every reply Otto posts carries `external_id = "otto-send:{ticket}:{draft version}"` (Gorgias
//! stores `external_id` and ignores it). `send` first lists the ticket's messages: a message with
//! that `external_id` means it was already posted (by an earlier attempt or run) → the answer is
//! returned with `already_sent: true` and nothing is posted (`sent_reply` is that look alone:
//! how the executor resolves a send whose answer was lost before any gate). Otherwise the draft must still be the
//! ticket's current draft with the same version (edited, deleted, sent from Gorgias or overtaken
//! by a newer agent reply → `Permanent`, nothing posted), and its body must hash to its version.
//! The reply answers the latest public customer message: its `channel`, `integration_id` and
//! `subject`, `receiver` = that customer, `source` with its `from` and `to` swapped; `sender` = the
//! agent who wrote the draft note. A ticket without a customer message to answer is `Permanent`. A 429 or a connection that never opened is retried as is (nothing was
//! received); an ambiguous failure (timeout, 5xx, a reply that could not be read) is followed by
//! a fresh check of the ticket's messages before any new POST. What remains: if Gorgias accepted
//! a POST but does not list the message yet when the client re-checks, a second copy can be
//! posted; the window is one backoff interval.
//!
//! ## Errors and rate limits
//!
//! * 401/403, 404 and other 4xx, a body that is not JSON, a missing or mistyped field → `Permanent`
//!   naming what was wrong. 429, 5xx, timeouts and connection errors are retried (429: after
//!   `Retry-After`, else exponential backoff with jitter) up to `max_retries`, then `Transient`. A
//!   `Retry-After` longer than `max_wait` is not slept: `Transient` at once.
//! * Gorgias is a leaky bucket (API keys: 40 calls per 20 s). Every response's
//!   `X-Gorgias-Account-Api-Call-Limit: used/limit` is read; when `limit − used ≤
//!   call_limit_reserve`, the next call waits `(reserve − remaining + 1) × window / limit`
//!   (at most `max_wait`), so the client slows down before it is refused.

use crate::helpdesk::{Draft, Helpdesk, Thread};
use crate::ports::VendorError;
use crate::shopify::{tokio_sleeper, Sleeper};
use crate::snippet;
use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime};
use otto_core::{Currency, Money};
use rand::Rng;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const VENDOR: &str = "gorgias";
/// Gorgias caps `limit` at 100.
pub const MAX_PAGE_LIMIT: u32 = 100;
/// Prefix of the `external_id` of every reply Otto posts.
pub const SEND_MARKER: &str = "otto-send:";
/// The start of an internal note that is a reply draft (compared case-insensitively).
pub const DRAFT_MARKER: &str = "Reply draft:";
const INTERNAL_NOTE: &str = "internal-note";
const CALL_LIMIT_HEADER: &str = "x-gorgias-account-api-call-limit";

#[derive(Clone)]
pub struct GorgiasConfig {
    /// `https://{domain}.gorgias.com` (tests: `http://127.0.0.1:port`).
    pub base_url: String,
    /// The Gorgias user the API key belongs to (Basic auth user name).
    pub email: String,
    /// REST API key (Basic auth password).
    pub api_key: String,
    /// Currency of a refund marker without a currency code.
    pub currency: Currency,
    /// Items per page, 1..=100.
    pub page_limit: u32,
    /// Pages read per listing at most (tickets, or one ticket's messages).
    pub max_pages: u32,
    /// A view of open tickets, to avoid reading closed ones.
    pub open_view_id: Option<u64>,
    /// A view of approved closed tickets.
    pub approved_view_id: Option<u64>,
    /// The tag marking a closed ticket whose replies are the brand voice.
    pub approved_tag: String,
    /// Approved tickets whose messages are read, at most.
    pub max_approved_tickets: usize,
    /// Retries after the first attempt (429, 5xx, timeouts, connection errors).
    pub max_retries: u32,
    /// The longest single wait (Retry-After or call-limit pacing) the client sleeps.
    pub max_wait: Duration,
    /// The leaky bucket's window (20 s for API keys, 10 s on Enterprise).
    pub call_limit_window: Duration,
    /// Slow down when this few calls (or fewer) remain in the bucket.
    pub call_limit_reserve: u32,
}

impl GorgiasConfig {
    /// Defaults: EUR, 100 a page, 50 pages, no views, tag `approved-reply`, 20 approved tickets,
    /// 4 retries, 60 s longest wait, 20 s window, reserve of 5 calls.
    pub fn new(
        base_url: impl Into<String>,
        email: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        GorgiasConfig {
            base_url: base_url.into(),
            email: email.into(),
            api_key: api_key.into(),
            currency: Currency::EUR,
            page_limit: MAX_PAGE_LIMIT,
            max_pages: 50,
            open_view_id: None,
            approved_view_id: None,
            approved_tag: "approved-reply".into(),
            max_approved_tickets: 20,
            max_retries: 4,
            max_wait: Duration::from_secs(60),
            call_limit_window: Duration::from_secs(20),
            call_limit_reserve: 5,
        }
    }
}

impl fmt::Debug for GorgiasConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GorgiasConfig")
            .field("base_url", &self.base_url)
            .field("email", &self.email)
            .field("api_key", &"<redacted>")
            .field("currency", &self.currency)
            .field("page_limit", &self.page_limit)
            .field("max_pages", &self.max_pages)
            .field("open_view_id", &self.open_view_id)
            .field("approved_view_id", &self.approved_view_id)
            .field("approved_tag", &self.approved_tag)
            .field("max_approved_tickets", &self.max_approved_tickets)
            .field("max_retries", &self.max_retries)
            .field("max_wait", &self.max_wait)
            .field("call_limit_window", &self.call_limit_window)
            .field("call_limit_reserve", &self.call_limit_reserve)
            .finish()
    }
}

pub struct GorgiasClient {
    config: GorgiasConfig,
    api: String,
    http: reqwest::Client,
    sleeper: Sleeper,
    backoff_base: Duration,
    /// No request before this instant (call-limit pacing).
    not_before: Mutex<Option<Instant>>,
}

impl fmt::Debug for GorgiasClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GorgiasClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

fn transient(detail: impl Into<String>) -> VendorError {
    VendorError::transient(VENDOR, detail)
}

/// What one HTTP exchange came to.
enum Attempt {
    /// A final answer: 2xx, or a 4xx other than 429.
    Done(u16, String),
    /// 429: the request was not processed.
    Throttled(Option<Duration>, String),
    /// The connection never opened: the request was not received.
    NotSent(String),
    /// Timeout, 5xx, unreadable answer: the request may or may not have been processed.
    Ambiguous(String),
}

/// `Retry-After` in seconds (Gorgias sends whole seconds); an HTTP date is not used.
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    parse_retry_after(headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?)
}

/// The response parser, public for fuzzing: a `Retry-After` header value in seconds (at most a
/// day); `None` for an HTTP date or anything else.
pub fn parse_retry_after(raw: &str) -> Option<Duration> {
    let secs: f64 = raw.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(86_400.0)))
}

/// `X-Gorgias-Account-Api-Call-Limit: used/limit`.
fn call_limit(headers: &reqwest::header::HeaderMap) -> Option<(u32, u32)> {
    parse_call_limit(headers.get(CALL_LIMIT_HEADER)?.to_str().ok()?)
}

/// The response parser, public for fuzzing: an `X-Gorgias-Account-Api-Call-Limit` value
/// (`used/limit`).
pub fn parse_call_limit(raw: &str) -> Option<(u32, u32)> {
    let (used, limit) = raw.trim().split_once('/')?;
    Some((used.trim().parse().ok()?, limit.trim().parse().ok()?))
}

impl GorgiasClient {
    pub fn new(config: GorgiasConfig) -> Result<Self, VendorError> {
        if config.page_limit == 0 || config.page_limit > MAX_PAGE_LIMIT {
            return Err(permanent(format!(
                "page_limit {} is outside 1..={MAX_PAGE_LIMIT}",
                config.page_limit
            )));
        }
        if config.max_pages == 0 {
            return Err(permanent("max_pages must be at least 1"));
        }
        let base = config.base_url.trim().trim_end_matches('/');
        let base = base.strip_suffix("/api").unwrap_or(base);
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(permanent(format!(
                "base_url {:?} is not an http(s) URL",
                config.base_url
            )));
        }
        let api = format!("{base}/api");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        Ok(GorgiasClient {
            config,
            api,
            http,
            sleeper: tokio_sleeper(),
            backoff_base: Duration::from_millis(500),
            not_before: Mutex::new(None),
        })
    }

    /// Replaces how the client sleeps (tests record the waits).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// First retry backoff (doubled per attempt, with jitter in [½, 1]×); default 500 ms.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// Per-request timeout; default 30 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, VendorError> {
        self.http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        Ok(self)
    }

    pub fn config(&self) -> &GorgiasConfig {
        &self.config
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(Duration::from_secs(60));
        exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    /// The wait before the next call given the bucket's `used/limit`, if it is nearly full.
    fn pacing_wait(&self, used: u32, limit: u32) -> Option<Duration> {
        if limit == 0 {
            return None;
        }
        let remaining = limit.saturating_sub(used);
        let reserve = self.config.call_limit_reserve;
        if remaining > reserve {
            return None;
        }
        let calls = reserve - remaining + 1;
        let per_call = self.config.call_limit_window / limit;
        Some(per_call.saturating_mul(calls).min(self.config.max_wait))
    }

    fn observe(&self, headers: &reqwest::header::HeaderMap) {
        let Some((used, limit)) = call_limit(headers) else {
            return;
        };
        if let Some(wait) = self.pacing_wait(used, limit) {
            let until = Instant::now() + wait;
            let mut nb = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            *nb = Some(nb.map_or(until, |t| t.max(until)));
            tracing::debug!(
                used,
                limit,
                wait_ms = wait.as_millis() as u64,
                "gorgias: call limit nearly reached, slowing down"
            );
        }
    }

    /// Sleeps until call-limit pacing allows the next request.
    async fn pace(&self) {
        let wait = {
            let mut nb = self.not_before.lock().unwrap_or_else(|p| p.into_inner());
            nb.take().map_or(Duration::ZERO, |t| {
                t.saturating_duration_since(Instant::now())
            })
        };
        if !wait.is_zero() {
            (self.sleeper)(wait).await;
        }
    }

    async fn attempt(&self, req: reqwest::RequestBuilder) -> Attempt {
        self.pace().await;
        let resp = match req
            .basic_auth(&self.config.email, Some(&self.config.api_key))
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) if e.is_connect() => {
                return Attempt::NotSent(format!("connection failed: {}", e.without_url()))
            }
            Err(e) => return Attempt::Ambiguous(format!("request failed: {}", e.without_url())),
        };
        self.observe(resp.headers());
        let status = resp.status().as_u16();
        let wait = retry_after(resp.headers());
        match resp.text().await {
            Err(e) => {
                Attempt::Ambiguous(format!("reading the response failed: {}", e.without_url()))
            }
            Ok(body) if status == 429 => {
                Attempt::Throttled(wait, format!("HTTP 429: {}", snippet(&body)))
            }
            Ok(body) if status >= 500 => {
                Attempt::Ambiguous(format!("HTTP {status}: {}", snippet(&body)))
            }
            Ok(body) => Attempt::Done(status, body),
        }
    }

    /// The wait before retry `attempt` after a 429, or an error when it is too long.
    fn throttle_wait(
        &self,
        what: &str,
        hint: Option<Duration>,
        attempt: u32,
    ) -> Result<Duration, VendorError> {
        match hint {
            Some(w) if w > self.config.max_wait => Err(transient(format!(
                "{what}: rate limited; Retry-After {:.0}s is longer than the {:.0}s allowed",
                w.as_secs_f64(),
                self.config.max_wait.as_secs_f64()
            ))),
            Some(w) => Ok(w),
            None => Ok(self.backoff(attempt)),
        }
    }

    /// A GET with retries; returns the JSON body of a 2xx answer.
    async fn get_json(
        &self,
        what: &str,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Value, VendorError> {
        let url = format!("{}/{path}", self.api);
        let mut attempt = 0u32;
        loop {
            let req = self.http.get(&url).query(query);
            let (wait, detail) = match self.attempt(req).await {
                Attempt::Done(status, body) => return parse_answer(what, status, &body),
                Attempt::Throttled(hint, detail) => {
                    (self.throttle_wait(what, hint, attempt + 1)?, detail)
                }
                Attempt::NotSent(detail) | Attempt::Ambiguous(detail) => {
                    (self.backoff(attempt + 1), detail)
                }
            };
            if attempt >= self.config.max_retries {
                return Err(transient(format!(
                    "{what}: gave up after {attempt} retries: {detail}"
                )));
            }
            attempt += 1;
            tracing::warn!(what, attempt, %detail, "gorgias: retrying");
            (self.sleeper)(wait).await;
        }
    }

    /// One page of a cursor-paginated listing: (`data`, `meta.next_cursor`).
    async fn page(
        &self,
        what: &str,
        path: &str,
        mut query: Vec<(&str, String)>,
        cursor: Option<&str>,
    ) -> Result<(Vec<Value>, Option<String>), VendorError> {
        query.push(("limit", self.config.page_limit.to_string()));
        if let Some(c) = cursor {
            query.push(("cursor", c.to_string()));
        }
        let body = self.get_json(what, path, &query).await?;
        parse_page(what, &body)
    }

    fn ticket_query(&self, view: Option<u64>) -> Vec<(&'static str, String)> {
        let mut q = vec![
            ("order_by", "updated_datetime:desc".to_string()),
            ("trashed", "false".to_string()),
        ];
        if let Some(v) = view {
            q.push(("view_id", v.to_string()));
        }
        q
    }

    /// Every message of a ticket, oldest first.
    async fn messages(&self, ticket: u64) -> Result<Vec<Msg>, VendorError> {
        let what = format!("ticket {ticket} messages");
        let mut cursor: Option<String> = None;
        let mut out = Vec::new();
        for _ in 0..self.config.max_pages {
            let query = vec![
                ("ticket_id", ticket.to_string()),
                ("order_by", "created_datetime:asc".to_string()),
            ];
            let (data, next) = self
                .page(&what, "messages", query, cursor.as_deref())
                .await?;
            for (i, m) in data.iter().enumerate() {
                out.push(Msg::parse(m, ticket, i)?);
            }
            match next {
                None => {
                    out.sort_by_key(|m| (m.created, m.id));
                    return Ok(out);
                }
                Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                    return Err(permanent(format!(
                        "{what}: meta.next_cursor {n:?} did not advance"
                    )))
                }
                Some(n) => cursor = Some(n),
            }
        }
        Err(permanent(format!(
            "{what}: more than {} pages of {}; refusing a partial conversation",
            self.config.max_pages, self.config.page_limit
        )))
    }

    fn send_summary(ticket: u64, version: &str, key: &str, msg: &Value, already: bool) -> Value {
        json!({
            "sent": true,
            "already_sent": already,
            "ticket": ticket.to_string(),
            "version": version,
            "external_id": key,
            "message_id": msg.get("id").cloned().unwrap_or(Value::Null),
            "created_datetime": msg.get("created_datetime").cloned().unwrap_or(Value::Null),
            "sent_datetime": msg.get("sent_datetime").cloned().unwrap_or(Value::Null),
        })
    }
}

/// The response parser, public for fuzzing: one page of a cursor-paginated listing (the JSON of
/// [`parse_answer`]) → (`data`, `meta.next_cursor`); an empty or null cursor is the last page.
pub fn parse_page(what: &str, body: &Value) -> Result<(Vec<Value>, Option<String>), VendorError> {
    let data = match body.get("data") {
        Some(Value::Array(items)) => items.clone(),
        Some(other) => {
            return Err(permanent(format!(
                "{what} page: `data` is not a list: {}",
                snippet(&other.to_string())
            )))
        }
        None => return Err(permanent(format!("{what} page: missing `data`"))),
    };
    let meta = body
        .get("meta")
        .filter(|m| m.is_object())
        .ok_or_else(|| permanent(format!("{what} page: missing `meta`")))?;
    let next = match meta.get("next_cursor") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(permanent(format!(
                "{what} page: `meta.next_cursor` is not a string: {other}"
            )))
        }
    };
    Ok((data, next))
}

/// The response parser, public for fuzzing: classifies a final (non-429, non-5xx) answer;
/// returns the JSON of a 2xx.
pub fn parse_answer(what: &str, status: u16, body: &str) -> Result<Value, VendorError> {
    match status {
        200..=299 => serde_json::from_str(body).map_err(|e| {
            permanent(format!(
                "{what}: response is not JSON ({e}): {}",
                snippet(body)
            ))
        }),
        401 | 403 => Err(permanent(format!(
            "{what}: HTTP {status}: authentication refused (check the Gorgias email and API key): {}",
            snippet(body)
        ))),
        _ => Err(permanent(format!("{what}: HTTP {status}: {}", snippet(body)))),
    }
}

/// The response parser, public for fuzzing: a ticket and its messages (from [`parse_ticket`] and
/// [`parse_message`]) → the [`Thread`] Otto triages (refund amount in `currency` unless the
/// marker names one, category, current draft).
pub fn parse_thread(t: &Ticket, msgs: &[Msg], currency: Currency) -> Result<Thread, VendorError> {
    let refund_amount = refund_amount(t, currency)?;
    let category = t
        .tags
        .iter()
        .find_map(|tag| {
            tag.strip_prefix("category:")
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
        })
        .or_else(|| refund_amount.map(|_| "refund".to_string()))
        // A blank channel is no category (the thread then has none, rather than "").
        .or_else(|| {
            t.channel
                .as_deref()
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
        });
    Ok(Thread {
        id: t.id.to_string(),
        subject: t.subject.clone(),
        category,
        refund_amount,
        draft: current_draft(msgs).map(|m| Draft {
            version: m.version(),
            author: m.author.clone(),
            body: m.draft_text().unwrap_or_default().to_string(),
        }),
    })
}

/// The fields of a ticket Otto reads ([`parse_ticket`]).
#[derive(Debug, Clone)]
pub struct Ticket {
    id: u64,
    subject: String,
    status: String,
    channel: Option<String>,
    tags: Vec<String>,
    spam: bool,
    trashed: bool,
    meta_refund: Option<String>,
}

fn opt_str<'a>(v: &'a Value, key: &str, ctx: &str) -> Result<Option<&'a str>, VendorError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(permanent(format!(
            "{ctx}: `{key}` is not a string: {}",
            snippet(&other.to_string())
        ))),
    }
}

fn opt_bool(v: &Value, key: &str, ctx: &str) -> Result<Option<bool>, VendorError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(permanent(format!(
            "{ctx}: `{key}` is not a boolean: {other}"
        ))),
    }
}

fn req_id(v: &Value, key: &str, ctx: &str) -> Result<u64, VendorError> {
    match v.get(key) {
        None | Some(Value::Null) => Err(permanent(format!("{ctx}: missing `{key}`"))),
        Some(x) => x
            .as_u64()
            .ok_or_else(|| permanent(format!("{ctx}: `{key}` is not an integer id: {x}"))),
    }
}

/// The response parser, public for fuzzing: ticket `i` of a tickets page.
pub fn parse_ticket(v: &Value, i: usize) -> Result<Ticket, VendorError> {
    Ticket::parse(v, i)
}

/// The response parser, public for fuzzing: message `i` of a page of `ticket`'s messages.
pub fn parse_message(v: &Value, ticket: u64, i: usize) -> Result<Msg, VendorError> {
    Msg::parse(v, ticket, i)
}

impl Ticket {
    /// The ticket id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Open, not spam, not trashed.
    pub fn is_open(&self) -> bool {
        self.status.eq_ignore_ascii_case("open") && !self.spam && !self.trashed
    }

    fn parse(v: &Value, i: usize) -> Result<Ticket, VendorError> {
        if !v.is_object() {
            return Err(permanent(format!("ticket #{i} is not an object")));
        }
        let id = req_id(v, "id", &format!("ticket #{i}"))?;
        let ctx = format!("ticket {id}");
        let status = opt_str(v, "status", &ctx)?
            .ok_or_else(|| permanent(format!("{ctx}: missing `status`")))?
            .to_string();
        let tags = match v.get("tags") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    opt_str(t, "name", &format!("{ctx}: tags[{j}]"))?
                        .map(str::to_string)
                        .ok_or_else(|| permanent(format!("{ctx}: tags[{j}]: missing `name`")))
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(permanent(format!(
                    "{ctx}: `tags` is not a list: {}",
                    snippet(&other.to_string())
                )))
            }
        };
        let meta_refund = match v.get("meta") {
            None | Some(Value::Null) => None,
            Some(m @ Value::Object(_)) => opt_str(m, "otto_refund", &ctx)?.map(str::to_string),
            Some(_) => return Err(permanent(format!("{ctx}: `meta` is not an object"))),
        };
        Ok(Ticket {
            id,
            subject: opt_str(v, "subject", &ctx)?.unwrap_or("").to_string(),
            channel: opt_str(v, "channel", &ctx)?.map(str::to_string),
            spam: opt_bool(v, "spam", &ctx)?.unwrap_or(false),
            trashed: opt_str(v, "trashed_datetime", &ctx)?.is_some(),
            status,
            tags,
            meta_refund,
        })
    }
}

/// Parses a refund marker body: `780.00`, `780.00 EUR`.
fn parse_refund(text: &str, default: Currency, ctx: &str) -> Result<Money, VendorError> {
    let bad = |why: String| permanent(format!("{ctx}: refund marker {text:?}: {why}"));
    let mut parts = text.split_whitespace();
    let amount = parts.next().ok_or_else(|| bad("no amount".into()))?;
    let currency = match parts.next() {
        Some(code) => Currency::new(code).map_err(|e| bad(e.to_string()))?,
        None => default,
    };
    if parts.next().is_some() {
        return Err(bad("expected `<amount> [<CUR>]`".into()));
    }
    let money = Money::parse(amount, currency).map_err(|e| bad(e.to_string()))?;
    if money.micros() <= 0 {
        return Err(bad("the amount must be positive".into()));
    }
    Ok(money)
}

fn refund_amount(t: &Ticket, default: Currency) -> Result<Option<Money>, VendorError> {
    let ctx = format!("ticket {}", t.id);
    let mut found: Option<(Money, String)> = None;
    let tagged = t.tags.iter().filter_map(|tag| {
        let (key, rest) = tag.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("refund")
            .then(|| (rest.to_string(), format!("tag {tag:?}")))
    });
    let meta = t
        .meta_refund
        .iter()
        .map(|m| (m.clone(), "meta.otto_refund".to_string()));
    for (text, source) in tagged.chain(meta) {
        let money = parse_refund(&text, default, &format!("{ctx}: {source}"))?;
        match &found {
            Some((m, first)) if *m != money => {
                return Err(permanent(format!(
                    "{ctx}: refund markers disagree: {first} says {m}, {source} says {money}"
                )))
            }
            Some(_) => {}
            None => found = Some((money, source)),
        }
    }
    Ok(found.map(|(m, _)| m))
}

/// The fields of a message Otto reads ([`parse_message`]).
#[derive(Debug, Clone)]
pub struct Msg {
    id: u64,
    from_agent: bool,
    public: bool,
    channel: Option<String>,
    body: String,
    created: NaiveDateTime,
    sent: bool,
    deleted: bool,
    external_id: Option<String>,
    author: String,
    raw: Value,
}

/// Gorgias datetimes: ISO 8601, with or without an offset (`2020-01-27T10:42:21.468912`).
fn parse_datetime(raw: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(raw)
        .map(|d| d.naive_utc())
        .ok()
        .or_else(|| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f").ok())
}

/// A crude HTML → text for messages without `body_text`.
fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut tag = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (true, '>') => {
                in_tag = false;
                let name = tag.trim_start_matches('/').to_ascii_lowercase();
                if name.starts_with("br") || name == "p" || name.starts_with("div") {
                    out.push('\n');
                }
            }
            (true, c) => tag.push(c),
            (false, c) => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("<br>"),
            c => out.push(c),
        }
    }
    out
}

fn text_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..6])
}

impl Msg {
    /// The message id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The text Otto reads (`body_text`, else `body_html` stripped of tags).
    pub fn body(&self) -> &str {
        &self.body
    }

    fn parse(v: &Value, ticket: u64, i: usize) -> Result<Msg, VendorError> {
        let ctx0 = format!("ticket {ticket} message #{i}");
        if !v.is_object() {
            return Err(permanent(format!("{ctx0} is not an object")));
        }
        let id = req_id(v, "id", &ctx0)?;
        let ctx = format!("ticket {ticket} message {id}");
        match v.get("ticket_id") {
            None | Some(Value::Null) => {}
            Some(t) if t.as_u64() == Some(ticket) => {}
            Some(t) => {
                return Err(permanent(format!(
                    "{ctx}: `ticket_id` is {t}, not the ticket asked for"
                )))
            }
        }
        let from_agent = opt_bool(v, "from_agent", &ctx)?
            .ok_or_else(|| permanent(format!("{ctx}: missing `from_agent`")))?;
        let public = opt_bool(v, "public", &ctx)?
            .ok_or_else(|| permanent(format!("{ctx}: missing `public`")))?;
        let created_raw = opt_str(v, "created_datetime", &ctx)?
            .ok_or_else(|| permanent(format!("{ctx}: missing `created_datetime`")))?;
        let created = parse_datetime(created_raw).ok_or_else(|| {
            permanent(format!(
                "{ctx}: `created_datetime` {created_raw:?} is not an ISO 8601 datetime"
            ))
        })?;
        let body = match opt_str(v, "body_text", &ctx)? {
            Some(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ => opt_str(v, "body_html", &ctx)?
                .map(html_to_text)
                .unwrap_or_default(),
        };
        let author = match v.get("sender") {
            None | Some(Value::Null) => None,
            Some(s @ Value::Object(_)) => opt_str(s, "name", &ctx)?
                .filter(|n| !n.trim().is_empty())
                .or(opt_str(s, "email", &ctx)?)
                .map(str::to_string),
            Some(_) => return Err(permanent(format!("{ctx}: `sender` is not an object"))),
        }
        .unwrap_or_else(|| "agent".to_string());
        Ok(Msg {
            id,
            from_agent,
            public,
            channel: opt_str(v, "channel", &ctx)?.map(str::to_string),
            body,
            created,
            sent: opt_str(v, "sent_datetime", &ctx)?.is_some(),
            deleted: opt_str(v, "deleted_datetime", &ctx)?.is_some(),
            external_id: opt_str(v, "external_id", &ctx)?.map(str::to_string),
            author,
            raw: v.clone(),
        })
    }

    fn version(&self) -> String {
        format!(
            "{}@{}",
            self.id,
            text_hash(self.draft_text().unwrap_or(&self.body))
        )
    }

    /// The reply text of a draft note (after [`DRAFT_MARKER`]); `None` for any other message.
    pub fn draft_text(&self) -> Option<&str> {
        if !self.is_note() || !self.from_agent {
            return None;
        }
        let head = self.body.get(..DRAFT_MARKER.len())?;
        if !head.eq_ignore_ascii_case(DRAFT_MARKER) {
            return None;
        }
        Some(self.body[DRAFT_MARKER.len()..].trim()).filter(|t| !t.is_empty())
    }

    fn is_note(&self) -> bool {
        self.channel.as_deref() == Some(INTERNAL_NOTE)
    }
}

/// The `external_id` Otto puts on the reply it posts for a draft version.
fn send_key(ticket: u64, version: &str) -> String {
    format!("{SEND_MARKER}{ticket}:{version}")
}

/// The draft message id an Otto reply was posted from (`otto-send:{ticket}:{id}@{hash}`).
fn replied_from(external_id: &str) -> Option<u64> {
    let rest = external_id.strip_prefix(SEND_MARKER)?;
    let (_, version) = rest.split_once(':')?;
    version.split_once('@')?.0.parse().ok()
}

/// The ticket's current draft (see the module doc), if any.
fn current_draft(msgs: &[Msg]) -> Option<&Msg> {
    let replied: HashSet<u64> = msgs
        .iter()
        .filter_map(|m| m.external_id.as_deref().and_then(replied_from))
        .collect();
    // Public agent messages, sent or being sent (Gorgias sends one without `sent_datetime`).
    let last_public = msgs
        .iter()
        .filter(|m| m.from_agent && !m.is_note() && !m.deleted)
        .map(|m| (m.created, m.id))
        .max();
    msgs.iter()
        .filter(|m| {
            m.draft_text().is_some()
                && !m.deleted
                && !replied.contains(&m.id)
                && last_public.is_none_or(|s| (m.created, m.id) > s)
        })
        .max_by_key(|m| (m.created, m.id))
}

/// The latest public customer message: what a reply answers.
fn customer_message(msgs: &[Msg]) -> Option<&Msg> {
    msgs.iter()
        .filter(|m| !m.from_agent && m.public && !m.is_note() && !m.deleted)
        .max_by_key(|m| (m.created, m.id))
}

/// The public reply to post for a draft note: it answers the customer's latest message (its
/// channel and integration, to its sender, `source` from/to swapped), sent by the note's author.
fn reply_body(
    draft_msg: &Msg,
    customer: &Msg,
    draft: &Draft,
    key: &str,
) -> Result<Value, VendorError> {
    let raw = &customer.raw;
    let ctx = format!("customer message {}", customer.id);
    let channel = customer
        .channel
        .clone()
        .ok_or_else(|| permanent(format!("{ctx}: missing `channel`")))?;
    let sender = draft_msg
        .raw
        .get("sender")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_u64)
        .ok_or_else(|| {
            permanent(format!(
                "draft note {}: missing `sender.id` (the agent the reply is from)",
                draft_msg.id
            ))
        })?;
    let receiver = raw
        .get("sender")
        .and_then(|s| s.get("id"))
        .and_then(Value::as_u64)
        .ok_or_else(|| permanent(format!("{ctx}: missing `sender.id` (the customer)")))?;
    let mut body = Map::new();
    body.insert("channel".into(), json!(channel));
    body.insert("via".into(), json!("api"));
    body.insert("from_agent".into(), json!(true));
    body.insert("sender".into(), json!({ "id": sender }));
    body.insert("receiver".into(), json!({ "id": receiver }));
    if let Some(source @ Value::Object(_)) = raw.get("source") {
        let mut reply = Map::new();
        if let Some(t) = source.get("type") {
            reply.insert("type".into(), t.clone());
        }
        // The customer wrote from `from` to (the first of) `to`: the reply goes the other way.
        if let Some(to) = source
            .get("to")
            .and_then(Value::as_array)
            .and_then(|t| t.first())
        {
            reply.insert("from".into(), to.clone());
        }
        if let Some(from) = source.get("from").filter(|f| f.is_object()) {
            reply.insert("to".into(), json!([from]));
        }
        body.insert("source".into(), Value::Object(reply));
    }
    if let Some(i) = raw.get("integration_id").filter(|i| i.is_u64()) {
        body.insert("integration_id".into(), i.clone());
    }
    if let Some(s) = raw.get("subject").filter(|s| s.is_string()) {
        body.insert("subject".into(), s.clone());
    }
    body.insert("body_text".into(), json!(draft.body));
    body.insert("body_html".into(), json!(html_escape(&draft.body)));
    body.insert("external_id".into(), json!(key));
    Ok(Value::Object(body))
}

#[async_trait]
impl Helpdesk for GorgiasClient {
    async fn open_threads(&self) -> Result<Vec<Thread>, VendorError> {
        let mut open = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0u32;
        loop {
            if pages >= self.config.max_pages {
                return Err(permanent(format!(
                    "tickets: more than {} pages of {} tickets; set an open-tickets view \
                     (GORGIAS_OPEN_VIEW_ID) or raise max_pages — refusing a partial inbox",
                    self.config.max_pages, self.config.page_limit
                )));
            }
            let (data, next) = self
                .page(
                    "tickets",
                    "tickets",
                    self.ticket_query(self.config.open_view_id),
                    cursor.as_deref(),
                )
                .await?;
            pages += 1;
            for (i, t) in data.iter().enumerate() {
                let t = Ticket::parse(t, i)?;
                if t.is_open() {
                    open.push(t);
                }
            }
            match next {
                None => break,
                Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                    return Err(permanent(format!(
                        "tickets: meta.next_cursor {n:?} did not advance"
                    )))
                }
                Some(n) => cursor = Some(n),
            }
        }
        let mut seen = HashSet::new();
        open.retain(|t| seen.insert(t.id));
        let mut threads = Vec::with_capacity(open.len());
        for t in &open {
            let msgs = self.messages(t.id).await?;
            threads.push(parse_thread(t, &msgs, self.config.currency)?);
        }
        tracing::info!(threads = threads.len(), pages, "gorgias: open tickets read");
        Ok(threads)
    }

    async fn approved_replies(&self) -> Result<Vec<String>, VendorError> {
        let want = self.config.max_approved_tickets;
        let tag = self.config.approved_tag.as_str();
        let mut tickets: Vec<u64> = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0u32;
        while tickets.len() < want {
            if pages >= self.config.max_pages {
                tracing::warn!(
                    found = tickets.len(),
                    pages,
                    "gorgias: page limit reached while looking for approved tickets; using those found"
                );
                break;
            }
            let (data, next) = self
                .page(
                    "approved tickets",
                    "tickets",
                    self.ticket_query(self.config.approved_view_id),
                    cursor.as_deref(),
                )
                .await?;
            pages += 1;
            for (i, t) in data.iter().enumerate() {
                let t = Ticket::parse(t, i)?;
                let approved = t.status.eq_ignore_ascii_case("closed")
                    && !t.spam
                    && !t.trashed
                    && t.tags.iter().any(|g| g.eq_ignore_ascii_case(tag));
                if approved && !tickets.contains(&t.id) && tickets.len() < want {
                    tickets.push(t.id);
                }
            }
            match next {
                None => break,
                Some(n) if cursor.as_deref() == Some(n.as_str()) => {
                    return Err(permanent(format!(
                        "approved tickets: meta.next_cursor {n:?} did not advance"
                    )))
                }
                Some(n) => cursor = Some(n),
            }
        }
        let mut replies = Vec::new();
        for id in &tickets {
            for m in self.messages(*id).await? {
                if m.from_agent
                    && m.public
                    && m.sent
                    && !m.deleted
                    && !m.is_note()
                    && !m.body.is_empty()
                {
                    replies.push(m.body);
                }
            }
        }
        tracing::info!(
            tickets = tickets.len(),
            replies = replies.len(),
            "gorgias: approved replies read"
        );
        Ok(replies)
    }

    async fn send(&self, thread_id: &str, draft: &Draft) -> Result<Value, VendorError> {
        let ticket = ticket_id("send", thread_id)?;
        let (draft_id, hash) = draft
            .version
            .split_once('@')
            .and_then(|(id, h)| Some((id.parse::<u64>().ok()?, h)))
            .ok_or_else(|| {
                permanent(format!(
                    "send: draft version {:?} is not a Gorgias draft version (`<message id>@<hash>`)",
                    draft.version
                ))
            })?;
        if text_hash(draft.body.trim()) != hash {
            return Err(permanent(format!(
                "send: ticket {ticket}: the draft body does not match its version {}",
                draft.version
            )));
        }
        let key = send_key(ticket, &draft.version);
        let url = format!("{}/tickets/{ticket}/messages", self.api);
        let what = format!("send to ticket {ticket}");
        let mut attempt = 0u32;
        loop {
            // Always look first: a reply posted by an earlier attempt or run is not posted again.
            let msgs = self.messages(ticket).await?;
            if let Some(m) = ours(&msgs, &key) {
                tracing::info!(
                    ticket,
                    message = m.id,
                    "gorgias: reply already posted, not sending again"
                );
                return Ok(Self::send_summary(
                    ticket,
                    &draft.version,
                    &key,
                    &m.raw,
                    true,
                ));
            }
            let current = current_draft(&msgs);
            let Some(draft_msg) =
                current.filter(|m| m.id == draft_id && m.version() == draft.version)
            else {
                return Err(permanent(format!(
                    "send: ticket {ticket}: draft {} is no longer the ticket's current draft (now: {}); \
                     not sending — the next triage judges what is there now",
                    draft.version,
                    current.map_or_else(|| "none".to_string(), Msg::version)
                )));
            };
            let customer = customer_message(&msgs).ok_or_else(|| {
                permanent(format!(
                    "send: ticket {ticket}: no customer message to reply to; not sending"
                ))
            })?;
            let body = reply_body(draft_msg, customer, draft, &key)?;
            // Inner loop: retry as is only while the request is known not to have been processed.
            let ambiguous = loop {
                let outcome = self.attempt(self.http.post(&url).json(&body)).await;
                let (wait, detail) = match outcome {
                    Attempt::Done(status, text) => {
                        let answer = parse_answer(&what, status, &text)?;
                        if answer.get("id").and_then(Value::as_u64).is_none() {
                            return Err(permanent(format!(
                                "{what}: the created message has no `id` (the next send finds it by external_id {key}): {}",
                                snippet(&text)
                            )));
                        }
                        tracing::info!(ticket, version = %draft.version, "gorgias: reply posted");
                        return Ok(Self::send_summary(
                            ticket,
                            &draft.version,
                            &key,
                            &answer,
                            false,
                        ));
                    }
                    Attempt::Throttled(hint, detail) => {
                        (self.throttle_wait(&what, hint, attempt + 1)?, detail)
                    }
                    Attempt::NotSent(detail) => (self.backoff(attempt + 1), detail),
                    Attempt::Ambiguous(detail) => break detail,
                };
                if attempt >= self.config.max_retries {
                    return Err(transient(format!(
                        "{what}: gave up after {attempt} retries: {detail}"
                    )));
                }
                attempt += 1;
                tracing::warn!(ticket, attempt, %detail, "gorgias: reply not received, retrying");
                (self.sleeper)(wait).await;
            };
            if attempt >= self.config.max_retries {
                return Err(transient(format!(
                    "{what}: outcome unknown after {attempt} retries ({ambiguous}); the next send \
                     checks for external_id {key} before posting"
                )));
            }
            attempt += 1;
            tracing::warn!(ticket, attempt, detail = %ambiguous, "gorgias: reply outcome unknown, checking before retrying");
            (self.sleeper)(self.backoff(attempt)).await;
        }
    }

    /// Lists the ticket's messages (`GET /api/messages?ticket_id=…`) and finds the one carrying
    /// this draft version's `external_id` — "ID of the message in a foreign system … not used by
    /// Gorgias, feel free to set it as you wish" (<https://developers.gorgias.com/reference/ticket-messages>),
    /// so only Otto's own reply carries it. Found → posted (Gorgias sends it asynchronously and
    /// fills `sent_datetime` then), whether or not the send that posted it heard the answer.
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> Result<Option<Value>, VendorError> {
        let ticket = ticket_id("sent reply", thread_id)?;
        let key = send_key(ticket, draft_version);
        let msgs = self.messages(ticket).await?;
        Ok(
            ours(&msgs, &key)
                .map(|m| Self::send_summary(ticket, draft_version, &key, &m.raw, true)),
        )
    }
}

/// A thread id as a Gorgias ticket id, or one line naming what was wrong.
fn ticket_id(what: &str, thread_id: &str) -> Result<u64, VendorError> {
    thread_id.trim().parse().map_err(|_| {
        permanent(format!(
            "{what}: thread id {thread_id:?} is not a ticket id"
        ))
    })
}

/// The reply Otto posted with this `external_id`, if the ticket has it.
fn ours<'m>(msgs: &'m [Msg], key: &str) -> Option<&'m Msg> {
    msgs.iter().find(|m| m.external_id.as_deref() == Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, Method, StatusCode, Uri};
    use axum::response::{IntoResponse, Response};
    use axum::Router;
    use std::collections::VecDeque;
    use std::sync::Arc;

    struct Canned {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: String,
    }

    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        query: String,
        auth: Option<String>,
        body: String,
    }

    #[derive(Default)]
    struct Shared {
        queue: std::sync::Mutex<VecDeque<Canned>>,
        seen: std::sync::Mutex<Vec<Seen>>,
    }

    async fn handle(
        State(s): State<Arc<Shared>>,
        method: Method,
        uri: Uri,
        headers: HeaderMap,
        body: Bytes,
    ) -> Response {
        s.seen.lock().unwrap().push(Seen {
            method: method.to_string(),
            path: uri.path().to_string(),
            query: uri.query().unwrap_or("").to_string(),
            auth: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body: String::from_utf8_lossy(&body).into_owned(),
        });
        let next = s.queue.lock().unwrap().pop_front();
        let c = next.unwrap_or(Canned {
            status: 418,
            headers: vec![],
            body: "no canned response left".into(),
        });
        let mut resp = (
            StatusCode::from_u16(c.status).unwrap(),
            [("content-type", "application/json")],
            c.body,
        )
            .into_response();
        for (k, v) in c.headers {
            resp.headers_mut().insert(k, v.parse().unwrap());
        }
        resp
    }

    struct Server {
        base: String,
        shared: Arc<Shared>,
    }

    impl Server {
        async fn start() -> Server {
            let shared = Arc::new(Shared::default());
            let app = Router::new().fallback(handle).with_state(shared.clone());
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            Server {
                base: format!("http://{addr}"),
                shared,
            }
        }
        fn push(&self, status: u16, body: Value) {
            self.push_with(status, vec![], body.to_string());
        }
        fn push_with(&self, status: u16, headers: Vec<(&'static str, String)>, body: String) {
            self.shared.queue.lock().unwrap().push_back(Canned {
                status,
                headers,
                body,
            });
        }
        fn seen(&self) -> Vec<Seen> {
            self.shared.seen.lock().unwrap().clone()
        }
        fn left(&self) -> usize {
            self.shared.queue.lock().unwrap().len()
        }
    }

    /// Records every wait and returns at once.
    fn recorder() -> (Sleeper, Arc<std::sync::Mutex<Vec<Duration>>>) {
        let waits = Arc::new(std::sync::Mutex::new(Vec::new()));
        let w = waits.clone();
        let sleeper: Sleeper = Arc::new(move |d: Duration| {
            w.lock().unwrap().push(d);
            Box::pin(async {})
        });
        (sleeper, waits)
    }

    fn client(base: &str) -> (GorgiasClient, Arc<std::sync::Mutex<Vec<Duration>>>) {
        let mut cfg = GorgiasConfig::new(format!("{base}/api/"), "bot@shop.test", "k3y");
        cfg.page_limit = 2;
        cfg.max_retries = 2;
        let (sleeper, waits) = recorder();
        let c = GorgiasClient::new(cfg)
            .unwrap()
            .with_sleeper(sleeper)
            .with_backoff_base(Duration::from_millis(1));
        (c, waits)
    }

    fn list(data: Vec<Value>, next: Option<&str>) -> Value {
        json!({"object": "list", "uri": "/api/x", "data": data,
               "meta": {"prev_cursor": null, "next_cursor": next}})
    }

    fn ticket(id: u64, status: &str, channel: &str, tags: &[&str]) -> Value {
        let tags: Vec<Value> = tags
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"id": i + 1, "name": t}))
            .collect();
        json!({"id": id, "uri": format!("/api/tickets/{id}"), "status": status, "channel": channel,
               "subject": format!("Ticket {id}"), "spam": false, "trashed_datetime": null,
               "tags": tags, "meta": null})
    }

    #[allow(clippy::too_many_arguments)]
    fn msg(
        id: u64,
        ticket: u64,
        from_agent: bool,
        body: &str,
        created: &str,
        sent: Option<&str>,
        channel: &str,
        external_id: Option<&str>,
    ) -> Value {
        json!({
            "id": id, "ticket_id": ticket, "channel": channel, "via": "helpdesk",
            "from_agent": from_agent, "public": channel != "internal-note",
            "sender": {"id": if from_agent { 7 } else { 99 }, "name": if from_agent { "Jane" } else { "Cus Tomer" },
                       "email": if from_agent { "jane@shop.test" } else { "c@example.com" }},
            "receiver": {"id": if from_agent { 99 } else { 7 }},
            "source": if from_agent {
                json!({"type": "email", "from": {"address": "support@shop.test"}, "to": [{"address": "c@example.com"}]})
            } else {
                json!({"type": "email", "from": {"address": "c@example.com"}, "to": [{"address": "support@shop.test"}]})
            },
            "integration_id": 5,
            "subject": "Re: order",
            "body_text": body, "body_html": format!("<p>{body}</p>"),
            "created_datetime": created, "sent_datetime": sent, "failed_datetime": null,
            "external_id": external_id,
        })
    }

    /// An agent's internal note holding a reply draft.
    fn draft_note(id: u64, ticket: u64, text: &str, created: &str) -> Value {
        msg(
            id,
            ticket,
            true,
            &format!("Reply draft: {text}"),
            created,
            Some(created),
            "internal-note",
            None,
        )
    }

    /// The customer's message a reply answers.
    fn customer(id: u64, ticket: u64) -> Value {
        msg(
            id,
            ticket,
            false,
            "Refund?",
            "2026-03-01T09:00:00",
            Some("2026-03-01T09:00:00"),
            "email",
            None,
        )
    }

    fn query_has(q: &str, pair: &str) -> bool {
        q.split('&').any(|p| p == pair)
    }

    #[tokio::test]
    async fn open_threads_across_pages_with_drafts_and_refunds() {
        let s = Server::start().await;
        s.push(
            200,
            list(
                vec![
                    ticket(101, "open", "email", &["refund:780.00 EUR", "vip"]),
                    ticket(102, "closed", "email", &[]),
                ],
                Some("c2"),
            ),
        );
        s.push(
            200,
            list(
                vec![ticket(103, "open", "chat", &["category:shipping"])],
                None,
            ),
        );
        // Ticket 101: customer, an older sent reply, then the draft (two message pages).
        s.push(
            200,
            list(
                vec![
                    msg(
                        1,
                        101,
                        false,
                        "My throw arrived torn",
                        "2026-03-01T09:00:00",
                        Some("2026-03-01T09:00:00"),
                        "email",
                        None,
                    ),
                    msg(
                        2,
                        101,
                        true,
                        "Sorry! Looking into it.",
                        "2026-03-01T10:00:00",
                        Some("2026-03-01T10:00:01"),
                        "email",
                        None,
                    ),
                ],
                Some("m2"),
            ),
        );
        s.push(
            200,
            list(
                vec![
                    msg(
                        3,
                        101,
                        true,
                        "Internal: check stock",
                        "2026-03-01T11:00:00",
                        None,
                        "internal-note",
                        None,
                    ),
                    draft_note(
                        4,
                        101,
                        "Thank you so much! We will refund you today.",
                        "2026-03-01T12:00:00.123456",
                    ),
                ],
                None,
            ),
        );
        // Ticket 103: an unsent public agent message (one Gorgias is sending) is no draft, and a
        // draft note older than an agent's reply is stale → no draft.
        s.push(
            200,
            list(
                vec![
                    msg(
                        10,
                        103,
                        false,
                        "Where is it?",
                        "2026-03-02T09:00:00+00:00",
                        Some("2026-03-02T09:00:00+00:00"),
                        "chat",
                        None,
                    ),
                    draft_note(11, 103, "Old draft", "2026-03-02T09:30:00+00:00"),
                    msg(
                        12,
                        103,
                        true,
                        "Shipped today!",
                        "2026-03-02T10:00:00+00:00",
                        None,
                        "chat",
                        None,
                    ),
                ],
                None,
            ),
        );
        let (c, _) = client(&s.base);
        let threads = c.open_threads().await.unwrap();
        assert_eq!(threads.len(), 2, "{threads:#?}");
        let t = &threads[0];
        assert_eq!(t.id, "101");
        assert_eq!(t.subject, "Ticket 101");
        assert_eq!(t.category.as_deref(), Some("refund"));
        let eur = Currency::new("EUR").unwrap();
        assert_eq!(t.refund_amount, Some(Money::parse("780.00", eur).unwrap()));
        let d = t.draft.as_ref().unwrap();
        assert_eq!(d.body, "Thank you so much! We will refund you today.");
        assert_eq!(d.author, "Jane");
        assert_eq!(
            d.version,
            format!(
                "4@{}",
                text_hash("Thank you so much! We will refund you today.")
            )
        );
        assert_eq!(threads[1].id, "103");
        assert_eq!(threads[1].category.as_deref(), Some("shipping"));
        assert_eq!(threads[1].refund_amount, None);
        assert_eq!(threads[1].draft, None);

        let seen = s.seen();
        assert_eq!(seen.len(), 5);
        assert!(seen.iter().all(|r| r.method == "GET"));
        assert!(seen
            .iter()
            .all(|r| r.auth.as_deref() == Some("Basic Ym90QHNob3AudGVzdDprM3k=")));
        assert_eq!(seen[0].path, "/api/tickets");
        assert!(query_has(&seen[0].query, "limit=2"), "{}", seen[0].query);
        assert!(query_has(&seen[0].query, "trashed=false"));
        assert!(query_has(
            &seen[0].query,
            "order_by=updated_datetime%3Adesc"
        ));
        assert!(!seen[0].query.contains("cursor="));
        assert!(query_has(&seen[1].query, "cursor=c2"), "{}", seen[1].query);
        assert_eq!(seen[2].path, "/api/messages");
        assert!(query_has(&seen[2].query, "ticket_id=101"));
        assert!(query_has(&seen[3].query, "cursor=m2"));
        assert!(query_has(&seen[4].query, "ticket_id=103"));
    }

    /// The category falls back to the channel; a blank channel gives no category, not "".
    #[test]
    fn blank_channel_is_no_category() {
        for (channel, want) in [("email", Some("email")), ("", None), ("  ", None)] {
            let t = parse_ticket(&ticket(7, "open", channel, &[]), 0).expect("ticket");
            let th = parse_thread(&t, &[], Currency::EUR).expect("thread");
            assert_eq!(th.category.as_deref(), want, "channel {channel:?}");
        }
    }

    #[test]
    fn a_changed_draft_text_is_a_new_version() {
        let m1 = Msg::parse(
            &msg(
                4,
                1,
                true,
                "Hello there",
                "2026-03-01T12:00:00",
                None,
                "email",
                None,
            ),
            1,
            0,
        )
        .unwrap();
        let m2 = Msg::parse(
            &msg(
                4,
                1,
                true,
                "Hello there!",
                "2026-03-01T12:00:00",
                None,
                "email",
                None,
            ),
            1,
            0,
        )
        .unwrap();
        assert_ne!(m1.version(), m2.version());
        assert!(m1.version().starts_with("4@"));
        assert_eq!(m1.version(), m1.clone().version());
    }

    #[tokio::test]
    async fn rate_limited_429_waits_retry_after_then_succeeds() {
        let s = Server::start().await;
        s.push_with(
            429,
            vec![
                ("retry-after", "3".into()),
                ("x-gorgias-account-api-call-limit", "40/40".into()),
            ],
            json!({"error": {"msg": "Too many requests"}}).to_string(),
        );
        s.push(200, list(vec![], None));
        let (c, waits) = client(&s.base);
        assert!(c.open_threads().await.unwrap().is_empty());
        assert_eq!(s.seen().len(), 2);
        let waits = waits.lock().unwrap().clone();
        assert!(waits.contains(&Duration::from_secs(3)), "{waits:?}");
    }

    #[tokio::test]
    async fn a_retry_after_beyond_the_budget_is_transient() {
        let s = Server::start().await;
        s.push_with(429, vec![("retry-after", "600".into())], "{}".into());
        let (c, waits) = client(&s.base);
        let err = c.open_threads().await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(err.to_string().contains("Retry-After"), "{err}");
        assert!(waits.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn near_the_call_limit_the_client_slows_down() {
        let s = Server::start().await;
        let limit = |used: u32| vec![("x-gorgias-account-api-call-limit", format!("{used}/40"))];
        s.push_with(
            200,
            limit(38),
            list(vec![ticket(1, "open", "email", &[])], Some("c2")).to_string(),
        );
        s.push_with(
            200,
            limit(39),
            list(vec![ticket(2, "open", "email", &[])], None).to_string(),
        );
        s.push_with(200, limit(40), list(vec![], None).to_string());
        s.push_with(200, limit(12), list(vec![], None).to_string());
        let (c, waits) = client(&s.base);
        let threads = c.open_threads().await.unwrap();
        assert_eq!(threads.len(), 2);
        assert_eq!(s.left(), 0);
        // Three calls were answered near the limit: the client paced the call after each.
        assert_eq!(
            waits.lock().unwrap().len(),
            3,
            "{:?}",
            waits.lock().unwrap()
        );
    }

    #[test]
    fn pacing_wait_follows_the_bucket() {
        let (c, _) = client("http://127.0.0.1:9");
        assert_eq!(c.pacing_wait(10, 40), None);
        assert_eq!(c.pacing_wait(34, 40), None);
        assert_eq!(c.pacing_wait(35, 40), Some(Duration::from_millis(500)));
        assert_eq!(c.pacing_wait(40, 40), Some(Duration::from_secs(3)));
        assert_eq!(c.pacing_wait(45, 40), Some(Duration::from_secs(3)));
        assert_eq!(c.pacing_wait(1, 0), None);
    }

    #[tokio::test]
    async fn malformed_ticket_is_permanent_naming_the_field() {
        let s = Server::start().await;
        let mut t = ticket(5, "open", "email", &[]);
        t.as_object_mut().unwrap().remove("id");
        s.push(200, list(vec![t], None));
        let (c, _) = client(&s.base);
        let err = c.open_threads().await.unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("missing `id`"), "{err}");

        s.push(200, json!({"object": "list", "meta": {}}));
        let err = c.open_threads().await.unwrap_err();
        assert!(err.to_string().contains("missing `data`"), "{err}");

        s.push(200, list(vec![ticket(5, "open", "email", &[])], None));
        let mut m = msg(1, 5, true, "x", "2026-03-01T12:00:00", None, "email", None);
        m.as_object_mut().unwrap().remove("from_agent");
        s.push(200, list(vec![m], None));
        let err = c.open_threads().await.unwrap_err();
        assert!(
            err.to_string().contains("message 1: missing `from_agent`"),
            "{err}"
        );

        s.push_with(200, vec![], "<html>maintenance</html>".into());
        let err = c.open_threads().await.unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("not JSON"), "{err}");
    }

    #[tokio::test]
    async fn messages_of_another_ticket_are_refused() {
        let s = Server::start().await;
        s.push(200, list(vec![ticket(5, "open", "email", &[])], None));
        s.push(
            200,
            list(
                vec![msg(
                    1,
                    6,
                    true,
                    "x",
                    "2026-03-01T12:00:00",
                    None,
                    "email",
                    None,
                )],
                None,
            ),
        );
        let (c, _) = client(&s.base);
        let err = c.open_threads().await.unwrap_err();
        assert!(err.to_string().contains("`ticket_id`"), "{err}");
    }

    #[tokio::test]
    async fn unauthorized_is_permanent_without_retry() {
        let s = Server::start().await;
        s.push(401, json!({"error": {"msg": "Unauthorized"}}));
        let (c, _) = client(&s.base);
        let err = c.open_threads().await.unwrap_err();
        assert!(!err.is_retryable(), "{err}");
        assert!(err.to_string().contains("HTTP 401"), "{err}");
        assert_eq!(s.seen().len(), 1);
    }

    #[tokio::test]
    async fn server_errors_are_retried_then_transient() {
        let s = Server::start().await;
        for _ in 0..3 {
            s.push(502, json!({"error": "bad gateway"}));
        }
        let (c, waits) = client(&s.base);
        let err = c.open_threads().await.unwrap_err();
        assert!(err.is_retryable(), "{err}");
        assert!(err.to_string().contains("gave up after 2 retries"), "{err}");
        assert_eq!(s.seen().len(), 3);
        assert_eq!(waits.lock().unwrap().len(), 2);
    }

    #[test]
    fn unreadable_refund_markers_are_errors() {
        let eur = Currency::new("EUR").unwrap();
        let t = |tags: &[&str], meta: Option<&str>| {
            let mut v = ticket(9, "open", "email", tags);
            if let Some(m) = meta {
                v["meta"] = json!({ "otto_refund": m });
            }
            Ticket::parse(&v, 0).unwrap()
        };
        assert_eq!(
            refund_amount(&t(&["refund:19.5"], None), eur).unwrap(),
            Some(Money::parse("19.50", eur).unwrap())
        );
        assert_eq!(
            refund_amount(&t(&[], Some("12.00 USD")), eur).unwrap(),
            Some(Money::parse("12", Currency::new("USD").unwrap()).unwrap())
        );
        assert_eq!(
            refund_amount(&t(&["refund:5 EUR"], Some("5.00")), eur).unwrap(),
            Some(Money::parse("5", eur).unwrap())
        );
        for (tags, meta, needle) in [
            (vec!["refund:about 780"], None, "refund marker"),
            (vec!["refund:780,00 EUR"], None, "refund marker"),
            (vec!["refund:0"], None, "positive"),
            (vec!["refund:5 EUR"], Some("6 EUR"), "disagree"),
        ] {
            let err = refund_amount(&t(&tags, meta), eur).unwrap_err();
            assert!(err.to_string().contains("ticket 9"), "{err}");
            assert!(err.to_string().contains(needle), "{err}");
        }
        assert_eq!(refund_amount(&t(&["vip"], None), eur).unwrap(), None);
    }

    #[tokio::test]
    async fn approved_replies_from_closed_tagged_tickets() {
        let s = Server::start().await;
        s.push(
            200,
            list(
                vec![
                    ticket(20, "closed", "email", &["approved-reply"]),
                    ticket(21, "closed", "email", &["other"]),
                ],
                Some("c2"),
            ),
        );
        s.push(
            200,
            list(
                vec![
                    ticket(22, "open", "email", &["approved-reply"]),
                    ticket(23, "closed", "chat", &["Approved-Reply"]),
                ],
                None,
            ),
        );
        s.push(
            200,
            list(
                vec![
                    msg(
                        1,
                        20,
                        false,
                        "Help",
                        "2026-01-01T09:00:00",
                        Some("2026-01-01T09:00:00"),
                        "email",
                        None,
                    ),
                    msg(
                        2,
                        20,
                        true,
                        "Thank you so much for reaching out!",
                        "2026-01-01T10:00:00",
                        Some("2026-01-01T10:00:00"),
                        "email",
                        None,
                    ),
                    msg(
                        3,
                        20,
                        true,
                        "note",
                        "2026-01-01T10:05:00",
                        Some("2026-01-01T10:05:00"),
                        "internal-note",
                        None,
                    ),
                    msg(
                        4,
                        20,
                        true,
                        "unsent",
                        "2026-01-01T10:06:00",
                        None,
                        "email",
                        None,
                    ),
                ],
                None,
            ),
        );
        s.push(
            200,
            list(
                vec![msg(
                    5,
                    23,
                    true,
                    "Happy to help!",
                    "2026-01-02T10:00:00",
                    Some("2026-01-02T10:00:00"),
                    "chat",
                    None,
                )],
                None,
            ),
        );
        let (c, _) = client(&s.base);
        let replies = c.approved_replies().await.unwrap();
        assert_eq!(
            replies,
            vec![
                "Thank you so much for reaching out!".to_string(),
                "Happy to help!".to_string()
            ]
        );
        assert_eq!(s.left(), 0);
    }

    fn draft_of(id: u64, body: &str) -> Draft {
        Draft {
            version: format!("{id}@{}", text_hash(body)),
            author: "Jane".into(),
            body: body.into(),
        }
    }

    #[tokio::test]
    async fn send_posts_the_reply_with_its_routing_and_key() {
        let s = Server::start().await;
        let body = "Thank you! Refund on its way.\nBest, Jane";
        s.push(
            200,
            list(
                vec![
                    msg(
                        1,
                        101,
                        false,
                        "Refund?",
                        "2026-03-01T09:00:00",
                        Some("2026-03-01T09:00:00"),
                        "email",
                        None,
                    ),
                    draft_note(4, 101, body, "2026-03-01T12:00:00"),
                ],
                None,
            ),
        );
        s.push(
            201,
            json!({"id": 555, "ticket_id": 101, "created_datetime": "2026-03-01T12:05:00", "sent_datetime": null}),
        );
        let (c, _) = client(&s.base);
        let d = draft_of(4, body);
        let out = c.send("101", &d).await.unwrap();
        let key = format!("otto-send:101:{}", d.version);
        assert_eq!(out["sent"], json!(true));
        assert_eq!(out["already_sent"], json!(false));
        assert_eq!(out["message_id"], json!(555));
        assert_eq!(out["external_id"], json!(key));
        let seen = s.seen();
        assert_eq!(seen.len(), 2);
        let post = &seen[1];
        assert_eq!(post.method, "POST");
        assert_eq!(post.path, "/api/tickets/101/messages");
        let sent: Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(
            sent,
            json!({
                "channel": "email",
                "via": "api",
                "from_agent": true,
                "sender": {"id": 7},
                "receiver": {"id": 99},
                "source": {"type": "email", "from": {"address": "support@shop.test"}, "to": [{"address": "c@example.com"}]},
                "integration_id": 5,
                "subject": "Re: order",
                "body_text": body,
                "body_html": "Thank you! Refund on its way.<br>Best, Jane",
                "external_id": key,
            })
        );
    }

    #[tokio::test]
    async fn send_retries_a_throttled_post_as_is_and_refusals_are_permanent() {
        let s = Server::start().await;
        let body = "Thank you!";
        let d = draft_of(4, body);
        let listing = list(
            vec![
                customer(1, 101),
                draft_note(4, 101, body, "2026-03-01T12:00:00"),
            ],
            None,
        );
        s.push(200, listing.clone());
        s.push_with(429, vec![("retry-after", "2".into())], "{}".into());
        s.push(201, json!({"id": 556, "sent_datetime": null}));
        let (c, waits) = client(&s.base);
        let out = c.send("101", &d).await.unwrap();
        assert_eq!(out["message_id"], json!(556));
        let methods: Vec<String> = s.seen().iter().map(|r| r.method.clone()).collect();
        assert_eq!(methods, vec!["GET", "POST", "POST"]);
        assert_eq!(s.seen()[1].body, s.seen()[2].body);
        assert!(waits.lock().unwrap().contains(&Duration::from_secs(2)));

        s.push(200, listing);
        s.push(400, json!({"error": {"msg": "Invalid receiver"}}));
        let err = c.send("101", &d).await.unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("HTTP 400"), "{err}");
        assert!(err.to_string().contains("Invalid receiver"), "{err}");
        assert_eq!(s.left(), 0);
    }

    #[tokio::test]
    async fn send_after_an_ambiguous_failure_checks_before_posting_again() {
        let s = Server::start().await;
        let body = "Thank you! Refund on its way.";
        let d = draft_of(4, body);
        let key = format!("otto-send:101:{}", d.version);
        let draft_msg = draft_note(4, 101, body, "2026-03-01T12:00:00");
        s.push(200, list(vec![customer(1, 101), draft_msg.clone()], None));
        s.push(502, json!({"error": "bad gateway"}));
        // The POST went through after all: the re-check finds it.
        s.push(
            200,
            list(
                vec![
                    customer(1, 101),
                    draft_msg,
                    msg(
                        555,
                        101,
                        true,
                        body,
                        "2026-03-01T12:05:00",
                        None,
                        "email",
                        Some(&key),
                    ),
                ],
                None,
            ),
        );
        let (c, _) = client(&s.base);
        let out = c.send("101", &d).await.unwrap();
        assert_eq!(out["already_sent"], json!(true));
        assert_eq!(out["message_id"], json!(555));
        let posts = s.seen().iter().filter(|r| r.method == "POST").count();
        assert_eq!(posts, 1);
        assert_eq!(s.left(), 0);
    }

    /// `sent_reply` finds Otto's reply by its `external_id` and nothing else: another draft
    /// version's reply, or an agent's message without the mark, is not it.
    #[tokio::test]
    async fn sent_reply_finds_our_reply_by_its_external_id() {
        let s = Server::start().await;
        let body = "Thank you! Refund on its way.";
        let d = draft_of(4, body);
        let key = format!("otto-send:101:{}", d.version);
        let other = format!("otto-send:101:{}", draft_of(4, "older text").version);
        let reply = |id, key: Option<&str>| {
            msg(
                id,
                101,
                true,
                body,
                "2026-03-01T12:05:00",
                None,
                "email",
                key,
            )
        };
        let before = vec![
            customer(1, 101),
            draft_note(4, 101, body, "2026-03-01T12:00:00"),
            reply(554, Some(&other)),
            reply(556, None),
        ];
        s.push(200, list(before.clone(), None));
        let mut after = before;
        after.push(reply(555, Some(&key)));
        s.push(200, list(after, None));
        let (c, _) = client(&s.base);
        assert_eq!(c.sent_reply("101", &d.version).await.unwrap(), None);
        let found = c
            .sent_reply("101", &d.version)
            .await
            .unwrap()
            .expect("found");
        assert_eq!(found["message_id"], json!(555));
        assert_eq!(found["external_id"], json!(key));
        assert_eq!(found["already_sent"], json!(true));
        let seen = s.seen();
        assert!(seen.iter().all(|r| r.method == "GET"), "a read only");
        assert!(seen[0].query.contains("ticket_id=101"), "{}", seen[0].query);
        assert_eq!(s.left(), 0);
        let err = c.sent_reply("T-1", &d.version).await.unwrap_err();
        assert!(
            err.to_string().contains("\"T-1\" is not a ticket id"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn send_refuses_a_draft_that_changed_or_was_overtaken() {
        let s = Server::start().await;
        let d = draft_of(4, "Original text");
        s.push(
            200,
            list(
                vec![
                    customer(1, 101),
                    draft_note(4, 101, "Edited text", "2026-03-01T12:00:00"),
                ],
                None,
            ),
        );
        let (c, _) = client(&s.base);
        let err = c.send("101", &d).await.unwrap_err();
        assert!(!err.is_retryable());
        assert!(
            err.to_string()
                .contains("no longer the ticket's current draft"),
            "{err}"
        );
        s.push(
            200,
            list(
                vec![
                    customer(1, 101),
                    draft_note(4, 101, "Original text", "2026-03-01T12:00:00"),
                    msg(
                        5,
                        101,
                        true,
                        "Answered by hand",
                        "2026-03-01T13:00:00",
                        Some("2026-03-01T13:00:00"),
                        "email",
                        None,
                    ),
                ],
                None,
            ),
        );
        let err = c.send("101", &d).await.unwrap_err();
        assert!(err.to_string().contains("now: none"), "{err}");
        assert!(s.seen().iter().all(|r| r.method == "GET"));
        let tampered = Draft {
            body: "y".into(),
            ..draft_of(4, "x")
        };
        let err = c.send("101", &tampered).await.unwrap_err();
        assert!(err.to_string().contains("does not match"), "{err}");
    }

    #[test]
    fn an_otto_reply_hides_its_draft() {
        let body = "Thank you!";
        let d = draft_of(4, body);
        let key = send_key(101, &d.version);
        let msgs: Vec<Msg> = [
            draft_note(4, 101, body, "2026-03-01T12:00:00"),
            msg(
                9,
                101,
                true,
                body,
                "2026-03-01T12:05:00",
                None,
                "email",
                Some(&key),
            ),
        ]
        .iter()
        .enumerate()
        .map(|(i, m)| Msg::parse(m, 101, i).unwrap())
        .collect();
        assert!(current_draft(&msgs).is_none());
        assert!(current_draft(&msgs[..1]).is_some());
    }

    /// Nothing customer-visible is a draft: an unsent public agent message is one Gorgias is
    /// sending; a note without the marker is an agents' note; the marker is read in any case.
    #[test]
    fn only_a_marked_internal_note_is_a_draft() {
        let parse = |v: &[Value]| -> Vec<Msg> {
            v.iter()
                .enumerate()
                .map(|(i, m)| Msg::parse(m, 101, i).unwrap())
                .collect()
        };
        let unsent_public = msg(
            4,
            101,
            true,
            "Reply draft: we refund today",
            "2026-03-01T12:00:00",
            None,
            "email",
            None,
        );
        let plain_note = msg(
            5,
            101,
            true,
            "check stock first",
            "2026-03-01T12:01:00",
            None,
            "internal-note",
            None,
        );
        let msgs = parse(&[customer(1, 101), unsent_public.clone(), plain_note]);
        assert!(current_draft(&msgs).is_none());
        let lower = msg(
            6,
            101,
            true,
            "reply DRAFT:  Sorry for the wait!  ",
            "2026-03-01T12:02:00",
            None,
            "internal-note",
            None,
        );
        let msgs = parse(&[customer(1, 101), unsent_public, lower]);
        let d = current_draft(&msgs).expect("a draft note after the public message");
        assert_eq!(d.draft_text(), Some("Sorry for the wait!"));
        assert_eq!(
            d.version(),
            format!("6@{}", text_hash("Sorry for the wait!"))
        );
        // A customer's note-like text is never a draft (not from an agent).
        let from_customer = msg(
            7,
            101,
            false,
            "Reply draft: hi",
            "2026-03-01T12:03:00",
            None,
            "internal-note",
            None,
        );
        assert!(parse(&[from_customer])[0].draft_text().is_none());
    }

    #[tokio::test]
    async fn send_without_a_customer_message_posts_nothing() {
        let s = Server::start().await;
        let body = "Thank you!";
        s.push(
            200,
            list(vec![draft_note(4, 101, body, "2026-03-01T12:00:00")], None),
        );
        let (c, _) = client(&s.base);
        let err = c.send("101", &draft_of(4, body)).await.unwrap_err();
        assert!(err.to_string().contains("no customer message"), "{err}");
        assert!(s.seen().iter().all(|r| r.method == "GET"));
    }

    #[test]
    fn html_round_trips_enough() {
        assert_eq!(html_to_text("<p>Hi &amp; bye</p><br/>x"), "Hi & bye\n\nx");
        assert_eq!(html_escape("a<b>\n&"), "a&lt;b&gt;<br>&amp;");
        assert_eq!(replied_from("otto-send:101:4@abc"), Some(4));
        assert_eq!(replied_from("other"), None);
    }
}
