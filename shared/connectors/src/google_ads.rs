//! Google Ads REST API adapter ([`AdsAccount`]).
//!
//! * Reports: `POST {base}/{version}/customers/{cid}/googleAds:searchStream` with `{"query": GAQL}`.
//!   The REST answer is a JSON **array** of batches `{results: [GoogleAdsRow…], fieldMask,
//!   requestId}`; rows are camelCase, int64 values are JSON strings (`"costMicros": "1234567"`),
//!   doubles (`conversions`, `conversionsValue`, impression shares) are JSON numbers. Zero metrics
//!   and empty fields are omitted by Google: an omitted metric is 0, but an omitted key
//!   (`segments.date`, `segments.productItemId`, `campaign.id`, …) is an error.
//! * Doubles never stay floats: the number's shortest round-trip decimal text (`format!("{}",
//!   f64)`, which never uses exponent notation) is rounded **half-to-even** to the target scale —
//!   thousandths for conversions, micros for conversion value, basis points for impression shares.
//! * `segments.date` is already a day in the account's time zone → [`StoreDay`] as is (the account
//!   time zone is assumed to be the store's). The offer key (`segments.productItemId`, or a
//!   custom label) is mapped to a variant's SKU by the configured [`OfferMapping`] against the
//!   last catalog read ([`crate::offers`]); offers that do not map are returned by
//!   [`AdsAccount::sku_performance_report`] (and logged by `sku_performance`), never dropped
//!   silently. Rows are returned with `provisional = false`; the caller knows the restatement
//!   window.
//! * `change_event.change_date_time` is a wall-clock time in the account's time zone
//!   (`"2026-11-24 09:15:02.123456"`); it is converted to UTC with the configured [`StoreClock`]
//!   (earlier instant in a repeated hour). The query's lower bound is the store-local time of
//!   `since` minus one hour (safe across DST), and rows before `since` are dropped client-side.
//! * Errors: 5xx, HTTP 429 and temporary quota errors (`RESOURCE_TEMPORARILY_EXHAUSTED`,
//!   `EXCESSIVE_SHORT_TERM_QUERY_RESOURCE_CONSUMPTION`), timeouts and connection errors are
//!   retried with exponential backoff + jitter up to `max_retries`, then `Transient`. The daily
//!   quota (`RESOURCE_EXHAUSTED`) and `EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION` are
//!   `Transient` without retry. Other 4xx → `Permanent` with Google's messages; for
//!   `campaignBudgets:mutate` a 4xx carrying a `GoogleAdsFailure` error list → `Refused`.
//!   A body that is not JSON → `Permanent`.

use crate::offers::{CatalogIndex, OfferIdForm, OfferMapping, SkuPerformance, UnmappedOffer};
use crate::ports::{AdsAccount, VendorError};
use crate::shopify::{tokio_sleeper, Sleeper};
use crate::snippet;
use async_trait::async_trait;
use chrono::{DateTime, Duration as ChronoDuration, NaiveDateTime, Timelike, Utc};
use otto_core::metrics::{CampaignBudget, CampaignDay, DailyMetric, ExternalChange};
use otto_core::{Currency, Money, Sku, StoreClock, StoreDay};
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

const VENDOR: &str = "google_ads";
/// `change_event` queries need a LIMIT; Google caps them at 10,000 rows.
const CHANGE_EVENT_LIMIT: usize = 10_000;
const CHANGE_EVENT_MAX_PAGES: usize = 20;

#[derive(Clone)]
pub struct GoogleAdsConfig {
    /// `https://googleads.googleapis.com`.
    pub base_url: String,
    /// e.g. `v21`.
    pub api_version: String,
    /// The operated account (dashes are stripped).
    pub customer_id: String,
    /// The manager account when calling through one (dashes are stripped).
    pub login_customer_id: Option<String>,
    pub developer_token: String,
    /// OAuth bearer token (refresh is the caller's job).
    pub access_token: String,
    /// The account currency; budgets written must be in it.
    pub currency: Currency,
    /// The account's time zone (assumed to be the store's): `change_date_time` is local to it.
    pub clock: StoreClock,
    /// Retries after the first attempt (5xx, 429, temporary quota, timeouts).
    pub max_retries: u32,
}

impl fmt::Debug for GoogleAdsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAdsConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("customer_id", &self.customer_id)
            .field("login_customer_id", &self.login_customer_id)
            .field("developer_token", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("currency", &self.currency)
            .field("clock", &self.clock)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// OAuth 2.0 refresh-token grant: the client fetches access tokens itself and renews them a
/// minute before they expire.
#[derive(Clone)]
pub struct OAuthRefresh {
    /// `https://oauth2.googleapis.com/token`.
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

pub struct GoogleAdsClient {
    config: GoogleAdsConfig,
    oauth: Option<OAuthRefresh>,
    token: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
    customer_id: String,
    login_customer_id: Option<String>,
    http: reqwest::Client,
    sleeper: Sleeper,
    backoff_base: Duration,
    offer_mapping: OfferMapping,
    catalog_index: CatalogIndex,
}

impl fmt::Debug for GoogleAdsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoogleAdsClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one HTTP exchange came to ([`parse_response`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The JSON of a 2xx answer with no error element.
    Ok(Value),
    /// 5xx, 429, temporary quota: back off and retry.
    Retry(String),
    /// Anything else: not retried.
    Fatal(VendorError),
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

fn transient(detail: impl Into<String>) -> VendorError {
    VendorError::transient(VENDOR, detail)
}

fn normalize_cid(what: &str, raw: &str) -> Result<String, VendorError> {
    let cid: String = raw.chars().filter(|c| *c != '-').collect();
    if cid.is_empty() || !cid.bytes().all(|b| b.is_ascii_digit()) {
        return Err(permanent(format!(
            "{what} {raw:?} is not a customer id (digits)"
        )));
    }
    Ok(cid)
}

impl GoogleAdsClient {
    pub fn new(config: GoogleAdsConfig) -> Result<Self, VendorError> {
        let customer_id = normalize_cid("customer_id", &config.customer_id)?;
        let login_customer_id = config
            .login_customer_id
            .as_deref()
            .map(|l| normalize_cid("login_customer_id", l))
            .transpose()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        Ok(GoogleAdsClient {
            config,
            oauth: None,
            token: tokio::sync::Mutex::new(None),
            customer_id,
            login_customer_id,
            http,
            sleeper: tokio_sleeper(),
            backoff_base: Duration::from_secs(1),
            offer_mapping: OfferMapping::default(),
            catalog_index: CatalogIndex::default(),
        })
    }

    /// How offer ids map to variants, and the catalog index (filled by the shop client's
    /// catalog reads) they are mapped against.
    pub fn with_offer_mapping(mut self, mapping: OfferMapping, index: CatalogIndex) -> Self {
        self.offer_mapping = mapping;
        self.catalog_index = index;
        self
    }

    /// Replaces how the client sleeps between retries (tests record the waits).
    pub fn with_sleeper(mut self, sleeper: Sleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Gets access tokens with a refresh token instead of using `access_token` as given.
    pub fn with_oauth_refresh(mut self, oauth: OAuthRefresh) -> Self {
        self.oauth = Some(oauth);
        self
    }

    /// The bearer token for the next request.
    async fn bearer(&self) -> Result<String, Outcome> {
        let Some(o) = &self.oauth else {
            return Ok(self.config.access_token.clone());
        };
        let mut cached = self.token.lock().await;
        if let Some((t, until)) = cached.as_ref() {
            if std::time::Instant::now() < *until {
                return Ok(t.clone());
            }
        }
        let resp = self
            .http
            .post(&o.token_url)
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", o.client_id.as_str()),
                ("client_secret", o.client_secret.as_str()),
                ("refresh_token", o.refresh_token.as_str()),
            ])
            .send()
            .await
            .map_err(|e| Outcome::Retry(format!("OAuth token request failed: {e}")))?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| {
            Outcome::Fatal(permanent(format!("OAuth token response is not JSON: {e}")))
        })?;
        let (token, lifetime) = parse_token_response(status, &text)?;
        let lifetime = lifetime.saturating_sub(60);
        *cached = Some((
            token.to_string(),
            std::time::Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token.to_string())
    }

    /// First retry backoff (doubled per attempt, with jitter in [½, 1]×); default 1 s.
    pub fn with_backoff_base(mut self, base: Duration) -> Self {
        self.backoff_base = base;
        self
    }

    /// Per-request timeout; default 120 s (a searchStream answer arrives whole).
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, VendorError> {
        self.http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        Ok(self)
    }

    fn url(&self, method: &str) -> String {
        format!(
            "{}/{}/customers/{}/{method}",
            self.config.base_url.trim_end_matches('/'),
            self.config.api_version,
            self.customer_id
        )
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(Duration::from_secs(60));
        exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    async fn post(
        &self,
        what: &str,
        method: &str,
        body: &Value,
        mutate: bool,
    ) -> Result<Value, VendorError> {
        let url = self.url(method);
        let mut attempt = 0u32;
        let mut renewed = false;
        loop {
            let (code, outcome) = self.send_once(&url, body, mutate).await;
            match outcome {
                Outcome::Ok(v) => return Ok(v),
                // An access token Google no longer accepts (`authenticationError:
                // OAUTH_TOKEN_EXPIRED`, HTTP 401 UNAUTHENTICATED —
                // https://developers.google.com/google-ads/api/docs/get-started/common-errors):
                // with a refresh token, get a new one once and send again.
                Outcome::Fatal(_) if code == 401 && self.oauth.is_some() && !renewed => {
                    renewed = true;
                    *self.token.lock().await = None;
                    tracing::warn!(what, "google_ads: access token refused, renewing it once");
                }
                Outcome::Fatal(e) => return Err(e),
                Outcome::Retry(detail) => {
                    if attempt >= self.config.max_retries {
                        return Err(transient(format!(
                            "{what}: gave up after {attempt} retries: {detail}"
                        )));
                    }
                    attempt += 1;
                    tracing::warn!(what, attempt, %detail, "google_ads: retrying");
                    (self.sleeper)(self.backoff(attempt)).await;
                }
            }
        }
    }

    /// One exchange: the HTTP status (0 when there was none) and what it came to.
    async fn send_once(&self, url: &str, body: &Value, mutate: bool) -> (u16, Outcome) {
        let token = match self.bearer().await {
            Ok(t) => t,
            Err(o) => return (0, o),
        };
        let mut req = self
            .http
            .post(url)
            .bearer_auth(&token)
            .header("developer-token", &self.config.developer_token)
            .json(body);
        if let Some(login) = &self.login_customer_id {
            req = req.header("login-customer-id", login);
        }
        let resp = match req.send().await {
            Ok(r) => r,
            Err(e) => return (0, Outcome::Retry(format!("request failed: {e}"))),
        };
        let code = resp.status().as_u16();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => {
                return (
                    code,
                    Outcome::Retry(format!("reading the response failed: {e}")),
                )
            }
        };
        (code, parse_response(code, &text, mutate))
    }

    /// The account's own settings: one cheap read (`otto doctor`). `customer.currency_code`,
    /// `customer.time_zone` — <https://developers.google.com/google-ads/api/fields/v22/customer>.
    pub async fn account_info(&self) -> Result<AccountInfo, VendorError> {
        let rows = self
            .search(
                "account",
                "SELECT customer.id, customer.currency_code, customer.time_zone FROM customer",
            )
            .await?;
        parse_account_info(&rows)
    }

    /// Runs a GAQL query through searchStream and returns every row of every batch.
    async fn search(&self, what: &str, gaql: &str) -> Result<Vec<Value>, VendorError> {
        let answer = self
            .post(
                what,
                "googleAds:searchStream",
                &json!({ "query": gaql }),
                false,
            )
            .await?;
        parse_search_rows(what, &answer)
    }
}

/// What `otto doctor` reads about the ad account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountInfo {
    pub customer_id: String,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    /// IANA; Google reports `segments.date` in this time zone.
    pub time_zone: String,
}

/// The response parser for [`GoogleAdsClient::account_info`]: the one `customer` row.
pub fn parse_account_info(rows: &[Value]) -> Result<AccountInfo, VendorError> {
    let c = rows
        .first()
        .and_then(|r| r.get("customer"))
        .ok_or_else(|| VendorError::Permanent {
            vendor: VENDOR,
            detail: "account: the customer query returned no `customer` row".into(),
        })?;
    let s = |k: &str| -> Result<String, VendorError> {
        match c.get(k) {
            Some(Value::String(v)) => Ok(v.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            _ => Err(VendorError::Permanent {
                vendor: VENDOR,
                detail: format!("account: customer row without `{k}`"),
            }),
        }
    };
    Ok(AccountInfo {
        customer_id: s("id")?,
        currency: s("currencyCode")?,
        time_zone: s("timeZone")?,
    })
}

/// The response parser, public for fuzzing: one Google Ads answer (HTTP status + body text) →
/// what the client does next. `mutate` is true for `campaignBudgets:mutate` (a 4xx with a
/// `GoogleAdsFailure` error list is then `Refused`). [`GoogleAdsClient`] calls exactly this.
pub fn parse_response(code: u16, text: &str, mutate: bool) -> Outcome {
    let json: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(_) if code >= 500 || code == 429 => {
            return Outcome::Retry(format!("HTTP {code}: {}", snippet(text)))
        }
        Err(_) => {
            return Outcome::Fatal(permanent(format!(
                "HTTP {code}: response is not JSON: {}",
                snippet(text)
            )))
        }
    };
    if !(200..300).contains(&code) {
        let err = error_object(&json);
        return classify_error(code, err, mutate, text);
    }
    // A stream can end in an error element after some batches.
    if let Some(err) = json
        .as_array()
        .and_then(|batches| batches.iter().find_map(|b| b.get("error")))
    {
        let code = err
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(500);
        return classify_error(code, Some(err), mutate, text);
    }
    Outcome::Ok(json)
}

/// The response parser, public for fuzzing: every row of every batch of a `searchStream`
/// answer (the JSON of [`parse_response`]'s `Ok`), in order.
pub fn parse_search_rows(what: &str, answer: &Value) -> Result<Vec<Value>, VendorError> {
    let batches = answer.as_array().ok_or_else(|| {
        permanent(format!(
            "{what}: searchStream answer is not an array of batches: {}",
            snippet(&answer.to_string())
        ))
    })?;
    let mut rows = Vec::new();
    for (i, batch) in batches.iter().enumerate() {
        if !batch.is_object() {
            return Err(permanent(format!("{what}: batch {i} is not an object")));
        }
        match batch.get("results") {
            None | Some(Value::Null) => {}
            Some(Value::Array(r)) => rows.extend(r.iter().cloned()),
            Some(_) => {
                return Err(permanent(format!(
                    "{what}: batch {i}: `results` is not a list"
                )))
            }
        }
    }
    Ok(rows)
}

/// The response parser, public for fuzzing: an OAuth 2.0 token endpoint answer (HTTP status +
/// body text) → (`access_token`, `expires_in` seconds, default 3600), or what the client does
/// instead (a body that is not JSON or a refusal → `Fatal`, a 5xx with a JSON body → `Retry`).
pub fn parse_token_response(status: u16, text: &str) -> Result<(String, u64), Outcome> {
    let body: Value = serde_json::from_str(text)
        .map_err(|e| Outcome::Fatal(permanent(format!("OAuth token response is not JSON: {e}"))))?;
    // As reqwest shows a status ("503 Service Unavailable").
    let shown = reqwest::StatusCode::from_u16(status)
        .map(|s| s.to_string())
        .unwrap_or_else(|_| status.to_string());
    if (500..600).contains(&status) {
        return Err(Outcome::Retry(format!(
            "OAuth token endpoint answered {shown}"
        )));
    }
    let token = body["access_token"]
        .as_str()
        .filter(|t| !t.is_empty() && (200..300).contains(&status))
        .ok_or_else(|| {
            Outcome::Fatal(permanent(format!(
                "OAuth refresh refused ({shown}): {}",
                body["error_description"]
                    .as_str()
                    .or(body["error"].as_str())
                    .unwrap_or("no access_token")
            )))
        })?;
    let lifetime = body["expires_in"].as_u64().unwrap_or(3600);
    Ok((token.to_string(), lifetime))
}

/// The `error` object of a Google error body (`{"error": …}` or `[{"error": …}]`).
fn error_object(json: &Value) -> Option<&Value> {
    json.get("error").or_else(|| {
        json.as_array()
            .and_then(|a| a.iter().find_map(|b| b.get("error")))
    })
}

/// (`errorCode` kind:value, message) for every `GoogleAdsFailure` error in `error.details`.
fn failure_errors(err: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for detail in err
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for e in detail
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let code = e
                .get("errorCode")
                .and_then(Value::as_object)
                .and_then(|o| o.iter().next())
                .map(|(k, v)| format!("{k}:{}", v.as_str().unwrap_or("?")))
                .unwrap_or_default();
            let msg = e
                .get("message")
                .and_then(Value::as_str)
                .filter(|m| !m.trim().is_empty())
                .unwrap_or("(no message)")
                .to_string();
            out.push((code, msg));
        }
    }
    out
}

fn classify_error(code: u16, err: Option<&Value>, mutate: bool, raw: &str) -> Outcome {
    let Some(err) = err else {
        let detail = format!("HTTP {code}: {}", snippet(raw));
        return if code >= 500 || code == 429 {
            Outcome::Retry(detail)
        } else {
            Outcome::Fatal(permanent(detail))
        };
    };
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("(no message)");
    let status = err.get("status").and_then(Value::as_str).unwrap_or("");
    let failures = failure_errors(err);
    let listed: Vec<String> = failures
        .iter()
        .map(|(c, m)| {
            if c.is_empty() {
                m.clone()
            } else {
                format!("{c}: {m}")
            }
        })
        .collect();
    let detail = if listed.is_empty() {
        format!("HTTP {code} {status}: {message}")
    } else {
        format!("HTTP {code} {status}: {message} [{}]", listed.join("; "))
    };
    let quota: Vec<&str> = failures
        .iter()
        .filter_map(|(c, _)| c.strip_prefix("quotaError:"))
        .collect();
    if quota.iter().any(|q| {
        matches!(
            *q,
            "RESOURCE_EXHAUSTED" | "EXCESSIVE_LONG_TERM_QUERY_RESOURCE_CONSUMPTION"
        )
    }) {
        // The daily operations quota (or the long-term query budget): retrying now cannot help.
        return Outcome::Fatal(transient(format!("quota exhausted, not retried: {detail}")));
    }
    if code >= 500 || code == 429 || !quota.is_empty() || status == "RESOURCE_EXHAUSTED" {
        return Outcome::Retry(detail);
    }
    if mutate && !matches!(code, 401 | 403) && !listed.is_empty() {
        return Outcome::Fatal(VendorError::Refused {
            vendor: VENDOR,
            errors: listed,
        });
    }
    Outcome::Fatal(permanent(detail))
}

// ---- row decoding -------------------------------------------------------------------------

fn path<'a>(row: &'a Value, p: &str) -> Option<&'a Value> {
    let mut v = row;
    for k in p.split('.') {
        v = v.get(k)?;
    }
    (!v.is_null()).then_some(v)
}

fn required_str<'a>(row: &'a Value, p: &str, ctx: &str) -> Result<&'a str, VendorError> {
    match path(row, p) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(other) if !other.is_string() => {
            Err(permanent(format!("{ctx}: `{p}` is not a string: {other}")))
        }
        _ => Err(permanent(format!("{ctx}: missing `{p}`"))),
    }
}

/// An int64 field (JSON string per proto3, or a number); absent → 0.
fn int64(row: &Value, p: &str, ctx: &str) -> Result<i64, VendorError> {
    match path(row, p) {
        None => Ok(0),
        Some(Value::String(s)) => s
            .parse::<i64>()
            .map_err(|_| permanent(format!("{ctx}: `{p}` {s:?} is not an int64"))),
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| permanent(format!("{ctx}: `{p}` {n} is not an int64"))),
        Some(other) => Err(permanent(format!("{ctx}: `{p}` is not an int64: {other}"))),
    }
}

fn count(row: &Value, p: &str, ctx: &str) -> Result<u64, VendorError> {
    let v = int64(row, p, ctx)?;
    u64::try_from(v).map_err(|_| permanent(format!("{ctx}: `{p}` is negative ({v})")))
}

/// The exact decimal text of a JSON number or numeric string.
fn decimal_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(i.to_string())
            } else if let Some(u) = n.as_u64() {
                Some(u.to_string())
            } else {
                n.as_f64().filter(|f| f.is_finite()).map(|f| format!("{f}"))
            }
        }
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// Parses a plain decimal ("12.3456789", "-0.5", "3") into an integer count of 10^-`scale`,
/// rounding half-to-even. `None` for anything else (exponents, NaN, overflow).
pub(crate) fn scaled_decimal(text: &str, scale: u32) -> Option<i64> {
    let s = text.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let scale = scale as usize;
    let (kept, rest) = if frac_part.len() > scale {
        frac_part.split_at(scale)
    } else {
        (frac_part, "")
    };
    let mut value: i128 = 0;
    for b in int_part.bytes().chain(kept.bytes()) {
        value = value.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    for _ in kept.len()..scale {
        value = value.checked_mul(10)?;
    }
    // Round half-to-even on the dropped digits.
    let rest = rest.trim_end_matches('0');
    if let Some(first) = rest.bytes().next() {
        let round_up = match first.cmp(&b'5') {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => rest.len() > 1 || value % 2 == 1,
        };
        if round_up {
            value += 1;
        }
    }
    let value = if neg { -value } else { value };
    i64::try_from(value).ok()
}

/// A double field scaled to 10^-`scale` units; absent → `None`.
fn scaled(row: &Value, p: &str, scale: u32, ctx: &str) -> Result<Option<i64>, VendorError> {
    match path(row, p) {
        None => Ok(None),
        Some(v) => decimal_text(v)
            .and_then(|t| scaled_decimal(&t, scale))
            .map(Some)
            .ok_or_else(|| permanent(format!("{ctx}: `{p}` is not a finite number: {v}"))),
    }
}

/// An impression share: a fraction 0.0–1.0 (Google reports "< 10 %" as 0.0999), in basis points.
fn share_bp(row: &Value, p: &str, ctx: &str) -> Result<Option<u32>, VendorError> {
    scaled(row, p, 4, ctx)?
        .map(|bp| match u32::try_from(bp) {
            Err(_) => Err(permanent(format!("{ctx}: `{p}` is negative"))),
            Ok(bp) if bp > 10_000 => Err(permanent(format!(
                "{ctx}: `{p}` is above 1.0 (a share is a fraction)"
            ))),
            Ok(bp) => Ok(bp),
        })
        .transpose()
}

fn day(row: &Value, ctx: &str) -> Result<StoreDay, VendorError> {
    let raw = required_str(row, "segments.date", ctx)?;
    StoreDay::parse(raw).map_err(|e| permanent(format!("{ctx}: `segments.date`: {e}")))
}

/// Common metrics of a report row.
struct Metrics {
    impressions: u64,
    clicks: u64,
    cost: Money,
    conversions_milli: i64,
    conversion_value: Money,
}

fn metrics(row: &Value, ctx: &str, currency: Currency) -> Result<Metrics, VendorError> {
    Ok(Metrics {
        impressions: count(row, "metrics.impressions", ctx)?,
        clicks: count(row, "metrics.clicks", ctx)?,
        cost: Money::from_micros(int64(row, "metrics.costMicros", ctx)?, currency),
        conversions_milli: scaled(row, "metrics.conversions", 3, ctx)?.unwrap_or(0),
        conversion_value: Money::from_micros(
            scaled(row, "metrics.conversionsValue", 6, ctx)?.unwrap_or(0),
            currency,
        ),
    })
}

fn add_metric(into: &mut DailyMetric, m: &DailyMetric) -> Result<(), VendorError> {
    let overflow = || {
        permanent(format!(
            "sku {} {}: metrics overflow when summing rows",
            m.sku, m.day
        ))
    };
    into.impressions = into
        .impressions
        .checked_add(m.impressions)
        .ok_or_else(overflow)?;
    into.clicks = into.clicks.checked_add(m.clicks).ok_or_else(overflow)?;
    into.cost = into.cost.checked_add(&m.cost).map_err(|_| overflow())?;
    into.conversions_milli = into
        .conversions_milli
        .checked_add(m.conversions_milli)
        .ok_or_else(overflow)?;
    into.conversion_value = into
        .conversion_value
        .checked_add(&m.conversion_value)
        .map_err(|_| overflow())?;
    Ok(())
}

/// The response parser, public for fuzzing: `shopping_performance_view` rows → one
/// [`DailyMetric`] per (SKU, day), duplicates summed, ordered by (SKU, day).
pub fn parse_sku_rows(rows: &[Value], currency: Currency) -> Result<Vec<DailyMetric>, VendorError> {
    // Keyed by (sku, day); duplicate keys (should Google split a product across rows) are summed.
    let mut by_key: BTreeMap<(Sku, StoreDay), DailyMetric> = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("shopping_performance_view row {i}");
        let item = required_str(row, "segments.productItemId", &ctx)?;
        let ctx = format!("{ctx} (item {item})");
        let sku = Sku::new(item).map_err(|e| permanent(format!("{ctx}: {e}")))?;
        let day = day(row, &ctx)?;
        let m = metrics(row, &ctx, currency)?;
        let metric = DailyMetric {
            sku: sku.clone(),
            day,
            impressions: m.impressions,
            clicks: m.clicks,
            cost: m.cost,
            conversions_milli: m.conversions_milli,
            conversion_value: m.conversion_value,
            provisional: false,
        };
        match by_key.get_mut(&(sku.clone(), day)) {
            Some(existing) => add_metric(existing, &metric)?,
            None => {
                by_key.insert((sku, day), metric);
            }
        }
    }
    Ok(by_key.into_values().collect())
}

/// The response parser, public for fuzzing: `shopping_performance_view` rows → one
/// [`DailyMetric`] per (SKU, day) for the offers that map to a variant by `mapping` against
/// `index` (duplicates summed, ordered by (SKU, day)), and every offer that did not, with why.
pub fn parse_offer_rows(
    rows: &[Value],
    currency: Currency,
    mapping: OfferMapping,
    index: &CatalogIndex,
) -> Result<SkuPerformance, VendorError> {
    let key_path = mapping.row_path();
    let mut by_key: BTreeMap<(Sku, StoreDay), DailyMetric> = BTreeMap::new();
    let mut unmapped: BTreeMap<String, UnmappedOffer> = BTreeMap::new();
    let mut carried = CampaignCarry::default();
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("shopping_performance_view row {i}");
        let key = offer_key(row, &key_path, mapping.form, &ctx)?;
        let ctx = format!("{ctx} (offer {key})");
        let day = day(row, &ctx)?;
        let m = metrics(row, &ctx, currency)?;
        let sku = match index.map(mapping.form, &key) {
            Ok(sku) => sku,
            Err(reason) => {
                note_unmapped(&mut unmapped, key, reason, &m, currency)?;
                continue;
            }
        };
        carried.add(row, &sku, &m, &ctx)?;
        let metric = DailyMetric {
            sku: sku.clone(),
            day,
            impressions: m.impressions,
            clicks: m.clicks,
            cost: m.cost,
            conversions_milli: m.conversions_milli,
            conversion_value: m.conversion_value,
            provisional: false,
        };
        match by_key.get_mut(&(sku.clone(), day)) {
            Some(existing) => add_metric(existing, &metric)?,
            None => {
                by_key.insert((sku, day), metric);
            }
        }
    }
    Ok(SkuPerformance {
        metrics: by_key.into_values().collect(),
        unmapped: unmapped.into_values().collect(),
        campaigns: carried.campaigns(),
    })
}

/// Cost and clicks per (SKU, campaign id) over a report's rows, to name the campaign that
/// carries each SKU.
#[derive(Default)]
struct CampaignCarry(BTreeMap<(Sku, String), (i64, u64)>);

impl CampaignCarry {
    /// Counts a row toward its campaign (`campaign.id`, an int64 Google sends as a string); a
    /// row without one (a report that did not select it) counts toward none.
    fn add(&mut self, row: &Value, sku: &Sku, m: &Metrics, ctx: &str) -> Result<(), VendorError> {
        let id = match path(row, "campaign.id") {
            None => return Ok(()),
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(permanent(format!(
                    "{ctx}: `campaign.id` is not an id: {other}"
                )))
            }
        };
        let e = self.0.entry((sku.clone(), id)).or_default();
        e.0 = e.0.saturating_add(m.cost.micros());
        e.1 = e.1.saturating_add(m.clicks);
        Ok(())
    }

    /// Each SKU's campaign: most cost, then most clicks, then the lowest id.
    fn campaigns(self) -> BTreeMap<Sku, String> {
        let mut best: BTreeMap<Sku, (String, (i64, u64))> = BTreeMap::new();
        for ((sku, id), weight) in self.0 {
            match best.get(&sku) {
                Some((_, w)) if *w >= weight => {}
                _ => {
                    best.insert(sku, (id, weight));
                }
            }
        }
        best.into_iter().map(|(s, (id, _))| (s, id)).collect()
    }
}

/// The offer key of a row: required for the item id; a custom label may be absent (→ empty,
/// which then does not map).
fn offer_key(row: &Value, p: &str, form: OfferIdForm, ctx: &str) -> Result<String, VendorError> {
    match form {
        OfferIdForm::CustomLabel(_) => match path(row, p) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(permanent(format!("{ctx}: `{p}` is not a string: {other}"))),
        },
        OfferIdForm::Sku | OfferIdForm::ShopifyChannel => {
            Ok(required_str(row, p, ctx)?.to_string())
        }
    }
}

fn note_unmapped(
    unmapped: &mut BTreeMap<String, UnmappedOffer>,
    key: String,
    reason: String,
    m: &Metrics,
    currency: Currency,
) -> Result<(), VendorError> {
    let entry = unmapped
        .entry(key.clone())
        .or_insert_with(|| UnmappedOffer {
            offer_id: key,
            reason,
            rows: 0,
            clicks: 0,
            cost: Money::from_micros(0, currency),
        });
    entry.rows = entry.rows.saturating_add(1);
    entry.clicks = entry.clicks.saturating_add(m.clicks);
    entry.cost = entry
        .cost
        .checked_add(&m.cost)
        .map_err(|_| permanent(format!("offer {}: cost overflow", entry.offer_id)))?;
    Ok(())
}

/// The response parser, public for fuzzing: `campaign` report rows → [`CampaignDay`]s in row order.
pub fn parse_campaign_rows(
    rows: &[Value],
    currency: Currency,
) -> Result<Vec<CampaignDay>, VendorError> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("campaign row {i}");
        if path(row, "campaign.id").is_none() {
            return Err(permanent(format!("{ctx}: missing `campaign.id`")));
        }
        let campaign_id = int64(row, "campaign.id", &ctx)?;
        let ctx = format!("campaign {campaign_id} row {i}");
        let name = path(row, "campaign.name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let day = day(row, &ctx)?;
        let m = metrics(row, &ctx, currency)?;
        out.push(CampaignDay {
            campaign_id: campaign_id.to_string(),
            campaign: name,
            day,
            impressions: m.impressions,
            clicks: m.clicks,
            cost: m.cost,
            conversions_milli: m.conversions_milli,
            conversion_value: m.conversion_value,
            search_impression_share_bp: share_bp(row, "metrics.searchImpressionShare", &ctx)?,
            budget_lost_impression_share_bp: share_bp(
                row,
                "metrics.searchBudgetLostImpressionShare",
                &ctx,
            )?,
            provisional: false,
        });
    }
    Ok(out)
}

/// The response parser, public for fuzzing: campaign budget rows → [`CampaignBudget`]s (rows
/// without a daily `amountMicros` are skipped).
pub fn parse_budget_rows(
    rows: &[Value],
    currency: Currency,
) -> Result<Vec<CampaignBudget>, VendorError> {
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("campaign row {i}");
        if path(row, "campaign.id").is_none() {
            return Err(permanent(format!("{ctx}: missing `campaign.id`")));
        }
        let campaign_id = int64(row, "campaign.id", &ctx)?;
        let ctx = format!("campaign {campaign_id}");
        let name = path(row, "campaign.name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let resource = required_str(row, "campaignBudget.resourceName", &ctx)?;
        if path(row, "campaignBudget.amountMicros").is_none() {
            // No daily amount (e.g. a campaign-total budget): nothing Otto can adjust.
            tracing::warn!(
                campaign = campaign_id,
                resource,
                "google_ads: budget without a daily amount skipped"
            );
            continue;
        }
        let amount = int64(row, "campaignBudget.amountMicros", &ctx)?;
        let explicitly_shared = match path(row, "campaignBudget.explicitlyShared") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(permanent(format!(
                    "{ctx}: `campaignBudget.explicitlyShared` is not a boolean: {other}"
                )))
            }
        };
        out.push(CampaignBudget {
            campaign_id: campaign_id.to_string(),
            campaign: name,
            budget_resource: resource.to_string(),
            amount: Money::from_micros(amount, currency),
            explicitly_shared,
        });
    }
    Ok(out)
}

// ---- time zone helpers for change_event ---------------------------------------------------

/// The store-local wall-clock time of an instant. Exact except on a DST-change day, where it can
/// be off by the shift; callers leave a one-hour margin.
fn local_naive(clock: &StoreClock, instant: DateTime<Utc>) -> Result<NaiveDateTime, VendorError> {
    let d = clock.day_of(instant);
    let midnight = clock
        .at_local(d, 0, 0)
        .map_err(|e| permanent(format!("store clock: {e}")))?;
    let start = d.date().and_hms_opt(0, 0, 0).expect("midnight exists");
    Ok(start + (instant - midnight))
}

/// `"YYYY-MM-DD HH:MM:SS[.ffffff]"` in the account's time zone → UTC.
fn parse_change_time(
    clock: &StoreClock,
    raw: &str,
    ctx: &str,
) -> Result<DateTime<Utc>, VendorError> {
    let naive = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M:%S%.f")
        .map_err(|e| permanent(format!("{ctx}: `changeDateTime` {raw:?}: {e}")))?;
    let base = clock
        .at_local(StoreDay::new(naive.date()), naive.hour(), naive.minute())
        .map_err(|e| permanent(format!("{ctx}: `changeDateTime` {raw:?}: {e}")))?;
    Ok(base
        + ChronoDuration::seconds(i64::from(naive.second()))
        + ChronoDuration::nanoseconds(i64::from(naive.nanosecond())))
}

fn changed_fields(v: Option<&Value>) -> Vec<String> {
    let split = |s: &str| {
        s.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    match v {
        Some(Value::String(s)) => split(s),
        Some(Value::Object(o)) => o
            .get("paths")
            .and_then(Value::as_array)
            .map(|p| {
                p.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// One page of `change_event` rows ([`parse_change_rows`]).
#[derive(Debug, Clone, PartialEq)]
pub struct ChangePage {
    /// The changes at or after `since`, in row order (not yet sorted).
    pub changes: Vec<ExternalChange>,
    /// Rows whose event was not seen before (on this page or an earlier one).
    pub new_rows: usize,
    /// The raw `changeDateTime` of the last row (the next page's lower bound).
    pub last_time: Option<String>,
}

/// The response parser, public for fuzzing: `change_event` rows → the changes at or after
/// `since` (times converted from the account's time zone with `clock`); `seen` holds the event
/// resource names of earlier pages (rows repeated at a page boundary are skipped).
pub fn parse_change_rows(
    rows: &[Value],
    clock: &StoreClock,
    since: DateTime<Utc>,
    seen: &mut HashSet<String>,
) -> Result<ChangePage, VendorError> {
    let mut out = Vec::new();
    let mut new_rows = 0usize;
    let mut last_time: Option<String> = None;
    for (i, row) in rows.iter().enumerate() {
        let ctx = format!("change_event row {i}");
        let event = required_str(row, "changeEvent.resourceName", &ctx)?;
        let ctx = format!("change_event {event}");
        let raw_time = required_str(row, "changeEvent.changeDateTime", &ctx)?;
        last_time = Some(raw_time.to_string());
        if !seen.insert(event.to_string()) {
            continue;
        }
        new_rows += 1;
        let changed_at = parse_change_time(clock, raw_time, &ctx)?;
        if changed_at < since {
            continue;
        }
        out.push(ExternalChange {
            resource: required_str(row, "changeEvent.changeResourceName", &ctx)?.to_string(),
            changed_at,
            client_type: path(row, "changeEvent.clientType")
                .and_then(Value::as_str)
                .unwrap_or("UNSPECIFIED")
                .to_string(),
            changed_fields: changed_fields(path(row, "changeEvent.changedFields")),
        });
    }
    Ok(ChangePage {
        changes: out,
        new_rows,
        last_time,
    })
}

#[async_trait]
impl AdsAccount for GoogleAdsClient {
    async fn sku_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>, VendorError> {
        let report = self.sku_performance_report(from, to).await?;
        if !report.unmapped.is_empty() {
            tracing::warn!(
                unmapped = report.unmapped.len(),
                summary = %report.summary(),
                "google_ads: offers not mapped to a variant"
            );
        }
        Ok(report.metrics)
    }

    async fn sku_performance_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<SkuPerformance, VendorError> {
        let key = self.offer_mapping.gaql_segment();
        // `campaign.id` segments the rows by campaign: "Fields from ad_group and campaign
        // resources will segment metrics when selected with shopping_performance_view"
        // (<https://developers.google.com/google-ads/api/fields/v22/shopping_performance_view>),
        // so each SKU's campaign can be read from its rows.
        let gaql = format!(
            "SELECT {key}, campaign.id, segments.date, metrics.impressions, metrics.clicks, \
             metrics.cost_micros, metrics.conversions, metrics.conversions_value \
             FROM shopping_performance_view WHERE segments.date BETWEEN '{from}' AND '{to}'"
        );
        let rows = self.search("sku_performance", &gaql).await?;
        parse_offer_rows(
            &rows,
            self.config.currency,
            self.offer_mapping,
            &self.catalog_index,
        )
    }

    async fn campaign_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>, VendorError> {
        let gaql = format!(
            "SELECT campaign.id, campaign.name, campaign.status, campaign.campaign_budget, \
             segments.date, metrics.impressions, metrics.clicks, metrics.cost_micros, \
             metrics.conversions, metrics.conversions_value, metrics.search_impression_share, \
             metrics.search_budget_lost_impression_share \
             FROM campaign WHERE segments.date BETWEEN '{from}' AND '{to}'"
        );
        let rows = self.search("campaign_performance", &gaql).await?;
        parse_campaign_rows(&rows, self.config.currency)
    }

    async fn budgets(&self) -> Result<Vec<CampaignBudget>, VendorError> {
        let gaql = "SELECT campaign.id, campaign.name, campaign_budget.resource_name, \
                    campaign_budget.amount_micros, campaign_budget.explicitly_shared \
                    FROM campaign WHERE campaign.status != 'REMOVED'";
        let rows = self.search("budgets", gaql).await?;
        parse_budget_rows(&rows, self.config.currency)
    }

    async fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<ExternalChange>, VendorError> {
        let clock = self.config.clock;
        // change_event keeps 30 days; a lower bound older than that is rejected by the API.
        let oldest =
            otto_core::clock::now() - ChronoDuration::days(30) + ChronoDuration::minutes(10);
        let lower = local_naive(&clock, since.max(oldest))? - ChronoDuration::hours(1);
        let upper = local_naive(&clock, otto_core::clock::now())? + ChronoDuration::days(1);
        let mut lower_text = lower.format("%Y-%m-%d %H:%M:%S").to_string();
        let upper_text = upper.format("%Y-%m-%d %H:%M:%S").to_string();
        let mut seen: HashSet<String> = HashSet::new();
        let mut out = Vec::new();
        for _page in 0..CHANGE_EVENT_MAX_PAGES {
            let gaql = format!(
                "SELECT change_event.resource_name, change_event.change_date_time, \
                 change_event.client_type, change_event.changed_fields, \
                 change_event.change_resource_name \
                 FROM change_event \
                 WHERE change_event.change_date_time >= '{lower_text}' \
                 AND change_event.change_date_time <= '{upper_text}' \
                 ORDER BY change_event.change_date_time LIMIT {CHANGE_EVENT_LIMIT}"
            );
            let rows = self.search("changes_since", &gaql).await?;
            let full = rows.len() >= CHANGE_EVENT_LIMIT;
            let page = parse_change_rows(&rows, &clock, since, &mut seen)?;
            let new_rows = page.new_rows;
            let last_time = page.last_time;
            out.extend(page.changes);
            if !full {
                out.sort_by_key(|c| c.changed_at);
                return Ok(out);
            }
            if new_rows == 0 {
                break;
            }
            // Next page: from the last timestamp seen (rows at it are de-duplicated).
            match last_time {
                // Whole seconds in the filter; rows repeated at that second are skipped by resource name.
                Some(t) => lower_text = t.chars().take(19).collect(),
                None => break,
            }
        }
        Err(permanent(format!(
            "changes_since: more change events than {CHANGE_EVENT_MAX_PAGES} pages of {CHANGE_EVENT_LIMIT} \
             (or one timestamp holding a full page); refusing to return a partial list"
        )))
    }

    async fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        validate_only: bool,
    ) -> Result<Value, VendorError> {
        if amount.currency() != self.config.currency {
            return Err(permanent(format!(
                "budget amount is in {}, but the account currency is {}",
                amount.currency(),
                self.config.currency
            )));
        }
        if amount.micros() <= 0 {
            return Err(permanent(format!(
                "budget amount must be positive, got {amount}"
            )));
        }
        let mut update = Map::new();
        update.insert(
            "resourceName".into(),
            Value::String(budget_resource.to_string()),
        );
        update.insert(
            "amountMicros".into(),
            Value::String(amount.micros().to_string()),
        );
        let body = json!({
            "operations": [{ "updateMask": "amountMicros", "update": Value::Object(update) }],
            "validateOnly": validate_only,
        });
        self.post("set_budget", "campaignBudgets:mutate", &body, true)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_round_half_even() {
        assert_eq!(scaled_decimal("2.5", 3), Some(2500));
        assert_eq!(scaled_decimal("0.0999", 4), Some(999));
        assert_eq!(scaled_decimal("1", 4), Some(10_000));
        assert_eq!(scaled_decimal("123.4567895", 6), Some(123_456_790));
        assert_eq!(scaled_decimal("123.4567885", 6), Some(123_456_788));
        assert_eq!(scaled_decimal("123.45678851", 6), Some(123_456_789));
        assert_eq!(scaled_decimal("-0.0015", 3), Some(-2));
        assert_eq!(scaled_decimal("1e3", 3), None);
        assert_eq!(scaled_decimal("NaN", 3), None);
        assert_eq!(scaled_decimal("", 3), None);
        assert_eq!(decimal_text(&json!(1e-7)).as_deref(), Some("0.0000001"));
        assert_eq!(
            decimal_text(&json!(0.1 + 0.2)).as_deref(),
            Some("0.30000000000000004")
        );
    }

    /// Impression shares are fractions: 1.0 is the most, above it is a bad answer named by field.
    #[test]
    fn impression_shares_are_fractions() {
        let row = |v: Value| json!({ "metrics": { "searchImpressionShare": v } });
        let p = "metrics.searchImpressionShare";
        assert_eq!(share_bp(&row(json!(0.0999)), p, "row 1"), Ok(Some(999)));
        assert_eq!(share_bp(&row(json!(1.0)), p, "row 1"), Ok(Some(10_000)));
        assert_eq!(share_bp(&json!({}), p, "row 1"), Ok(None));
        for bad in [json!(5.0), json!(1.0001), json!(-0.1)] {
            match share_bp(&row(bad.clone()), p, "row 1") {
                Err(e) => assert!(e.to_string().contains("searchImpressionShare"), "{e}"),
                ok => panic!("{bad} gave {ok:?}"),
            }
        }
    }

    /// A refusal always says something, even when Google's `message` is empty.
    #[test]
    fn failures_without_a_message_still_name_the_refusal() {
        let body = json!({ "error": { "code": 400, "message": "", "status": "INVALID_ARGUMENT",
            "details": [{ "errors": [{ "message": "" }, { "errorCode": { "rangeError": "TOO_LOW" }, "message": " " }] }] } });
        match parse_response(400, &body.to_string(), true) {
            Outcome::Fatal(VendorError::Refused { errors, .. }) => assert_eq!(
                errors,
                vec![
                    "(no message)".to_string(),
                    "rangeError:TOO_LOW: (no message)".to_string()
                ]
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn token_answers() {
        let ok = parse_token_response(200, r#"{"access_token":"ya29.x","expires_in":3599}"#);
        assert_eq!(ok, Ok(("ya29.x".to_string(), 3599)));
        let default = parse_token_response(200, r#"{"access_token":"ya29.x"}"#);
        assert_eq!(default, Ok(("ya29.x".to_string(), 3600)));
        // An empty token is no token (it would be sent as an empty bearer).
        assert!(matches!(
            parse_token_response(200, r#"{"access_token":""}"#),
            Err(Outcome::Fatal(VendorError::Permanent { .. }))
        ));
        assert!(matches!(
            parse_token_response(503, r#"{"error":"backend_error"}"#),
            Err(Outcome::Retry(d)) if d.contains("503 Service Unavailable")
        ));
        match parse_token_response(
            400,
            r#"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#,
        ) {
            Err(Outcome::Fatal(e)) => assert!(
                e.to_string()
                    .contains("400 Bad Request): Token has been expired"),
                "{e}"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_token_response(503, "<html>"),
            Err(Outcome::Fatal(_))
        ));
    }

    use otto_core::metrics::Variant;

    /// Each SKU's campaign is the one that carried most of its cost; rows without
    /// `campaign.id` name none.
    #[test]
    fn a_sku_is_carried_by_the_campaign_with_most_of_its_cost() {
        let variant = |sku: &str| Variant {
            sku: Sku::new(sku).unwrap(),
            variant_id: format!("gid://shopify/ProductVariant/{}", sku.len()),
            product_id: "gid://shopify/Product/1".into(),
            title: "Throw".into(),
            price: Money::parse("40.00", Currency::EUR).unwrap(),
            compare_at_price: None,
            unit_cost: None,
            status: otto_core::metrics::ProductStatus::Active,
            inventory: 3,
            tags: vec![],
            updated_at: chrono::DateTime::UNIX_EPOCH,
        };
        let index = CatalogIndex::from_variants(&[variant("LIN-1"), variant("LIN-22")]);
        let row = |sku: &str, campaign: Option<&str>, cost: i64| {
            let mut r = json!({"segments": {"productItemId": sku.to_lowercase(), "date": "2026-11-23"},
                "metrics": {"impressions": "10", "clicks": "2", "costMicros": cost.to_string(),
                "conversions": 0.0, "conversionsValue": 0.0}});
            if let Some(c) = campaign {
                r["campaign"] =
                    json!({"resourceName": format!("customers/1/campaigns/{c}"), "id": c});
            }
            r
        };
        let rows = [
            row("LIN-1", Some("111"), 300_000),
            row("LIN-1", Some("222"), 900_000),
            row("LIN-1", Some("111"), 100_000),
            row("LIN-22", None, 500_000),
        ];
        let r = parse_offer_rows(&rows, Currency::EUR, OfferMapping::default(), &index).unwrap();
        assert_eq!(
            r.campaigns,
            BTreeMap::from([(Sku::new("LIN-1").unwrap(), "222".to_string())])
        );
        assert_eq!(r.metrics.len(), 2, "metrics summed over campaigns");
        let mut bad = row("LIN-1", None, 1);
        bad["campaign"] = json!({"id": true});
        let e = parse_offer_rows(&[bad], Currency::EUR, OfferMapping::default(), &index)
            .unwrap_err()
            .to_string();
        assert!(e.contains("campaign.id"), "{e}");
    }

    #[test]
    fn change_times_are_store_local() {
        let ams = StoreClock::new("Europe/Amsterdam").unwrap();
        let t = parse_change_time(&ams, "2026-11-24 09:15:02.123456", "t").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-24T08:15:02.123456+00:00");
        let back = local_naive(&ams, t).unwrap();
        assert_eq!(
            back.format("%Y-%m-%d %H:%M:%S%.6f").to_string(),
            "2026-11-24 09:15:02.123456"
        );
        assert!(parse_change_time(&ams, "2026-11-24T09:15:02", "t").is_err());
    }
}
