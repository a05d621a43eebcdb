//! Shopify Admin GraphQL API adapter ([`ShopCatalog`]).
//!
//! * Endpoint: `POST {base_url}/admin/api/{version}/graphql.json`, header `X-Shopify-Access-Token`,
//!   body `{"query", "variables"}`.
//! * Cost-based throttling: `extensions.cost.throttleStatus` is read from every response. Before a
//!   call, the bucket is replenished by `restoreRate × elapsed` (capped at `maximumAvailable`); if
//!   the cost of the next query (the last `requestedQueryCost` seen for that operation, else a
//!   static estimate by Shopify's published cost rule) exceeds what is available, the client sleeps
//!   `(requested − available) / restoreRate` seconds. A wait longer than `max_throttle_wait` is
//!   not slept: the call fails `Transient`.
//! * Errors: `errors[].extensions.code == "THROTTLED"` (HTTP 200 or 429) → wait per
//!   `throttleStatus` and retry; 5xx, other 429s, timeouts and connection errors → exponential
//!   backoff with jitter; both up to `max_retries`, then `Transient`. 401/403/404 and other 4xx,
//!   a non-JSON body, GraphQL errors other than THROTTLED, or a response not shaped as documented →
//!   `Permanent`. Non-empty `userErrors` of a mutation → `Refused`.
//! * The two mutations used are idempotent (set a status, set a price), so retrying one after a
//!   5xx or a timeout cannot apply it twice with a different effect.
//! * Money is parsed from Shopify's decimal strings with [`Money::parse`] (exact); never a float.
//! * Catalog reads never fail on an ordinary catalog ([`crate::catalog`]): a product status other
//!   than ACTIVE/DRAFT/ARCHIVED (Shopify's `UNLISTED` since 2025-10,
//!   <https://shopify.dev/docs/api/admin-graphql/latest/enums/ProductStatus.md>, or any later value)
//!   holds the variant out of the synced catalog and lists it; a `unitCost` in another currency
//!   than the shop's is synced as `unit_cost: None` and flagged per SKU.

use crate::catalog::{CatalogSync, CostFlag, HeldOut, ShopStatus};
use crate::offers::CatalogIndex;
use crate::ports::{ShopCatalog, VendorError};
use crate::shopify_bulk::BulkSettings;
use crate::snippet;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::metrics::SkuSales;
use otto_core::metrics::{ProductStatus, Variant};
use otto_core::{Currency, Money, Sku, StoreClock, StoreDay};
use rand::Rng;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const VENDOR: &str = "shopify";

/// Shopify caps `first` at 250, and at 250 the variants query below costs 1,002 points (> the
/// 1,000-point single-query cap); 200 keeps it under.
pub const MAX_PAGE_SIZE: u32 = 200;

/// How the client waits (throttle waits, retry backoff). Defaults to `tokio::time::sleep`; tests
/// inject one that records the waits.
pub type Sleeper = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// The default sleeper: `tokio::time::sleep`.
pub fn tokio_sleeper() -> Sleeper {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

#[derive(Clone)]
pub struct ShopifyConfig {
    /// `https://{shop}.myshopify.com` (no trailing path).
    pub base_url: String,
    /// e.g. `2025-10`.
    pub api_version: String,
    pub access_token: String,
    /// The shop's currency; every price and cost must be in it.
    pub currency: Currency,
    /// Variants per page, 1..=200.
    pub page_size: u32,
    /// The longest single throttle wait the client will sleep; a longer one fails `Transient`.
    pub max_throttle_wait: Duration,
    /// Retries after the first attempt (throttled, 5xx, timeouts).
    pub max_retries: u32,
}

impl fmt::Debug for ShopifyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyConfig")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("access_token", &"<redacted>")
            .field("currency", &self.currency)
            .field("page_size", &self.page_size)
            .field("max_throttle_wait", &self.max_throttle_wait)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

/// The last `throttleStatus` seen and when.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    maximum: f64,
    available: f64,
    restore_rate: f64,
    seen_at: Instant,
}

#[derive(Debug, Default)]
struct ThrottleState {
    bucket: Option<Bucket>,
    /// Last `requestedQueryCost` per operation name.
    last_cost: HashMap<&'static str, f64>,
}

pub struct ShopifyClient {
    config: ShopifyConfig,
    endpoint: String,
    http: reqwest::Client,
    sleeper: Sleeper,
    backoff_base: Duration,
    throttle: Mutex<ThrottleState>,
    /// Filled on every full catalog read (the ad client maps offer ids with it).
    catalog_index: Option<CatalogIndex>,
    /// The store's time zone: store days of orders ([`crate::shopify_orders`]).
    store_clock: Option<StoreClock>,
    /// When reads switch to bulk operations ([`crate::shopify_bulk`]).
    bulk: BulkSettings,
    /// The Online Store's publication id, once read ([`ONLINE_STORE`]).
    online_store: Mutex<Option<String>>,
}

impl fmt::Debug for ShopifyClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShopifyClient")
            .field("config", &self.config)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// What one HTTP exchange came to ([`parse_response`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The `data` object of a successful answer.
    Data(Value),
    /// `errors[].extensions.code == "THROTTLED"`: wait per `throttleStatus` and retry.
    Throttled(String),
    /// 5xx or 429: back off and retry.
    Retry(String),
    /// Anything else: not retried.
    Fatal(VendorError),
}

/// `extensions.cost` of a response: query-cost *points* of Shopify's leaky bucket (reported as
/// floats), not money.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QueryCost {
    /// `requestedQueryCost`.
    pub requested: Option<f64>,
    /// `throttleStatus`: (`maximumAvailable` (0 when absent), `currentlyAvailable`, `restoreRate`).
    pub throttle: Option<(f64, f64, f64)>,
}

/// The response parser, public for fuzzing: `extensions.cost` of a response (absent → default).
pub fn parse_cost(body: &Value) -> QueryCost {
    let Some(cost) = body.pointer("/extensions/cost") else {
        return QueryCost::default();
    };
    let requested = cost.get("requestedQueryCost").and_then(Value::as_f64);
    let throttle = cost.get("throttleStatus").and_then(|ts| {
        let num = |k: &str| ts.get(k).and_then(Value::as_f64);
        match (num("currentlyAvailable"), num("restoreRate")) {
            (Some(available), Some(restore_rate)) => Some((
                num("maximumAvailable").unwrap_or(0.0),
                available,
                restore_rate,
            )),
            _ => None,
        }
    });
    QueryCost {
        requested,
        throttle,
    }
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

fn transient(detail: impl Into<String>) -> VendorError {
    VendorError::transient(VENDOR, detail)
}

const VARIANT_FIELDS: &str = "id sku title price compareAtPrice inventoryQuantity updatedAt \
     product { id title handle status tags } \
     inventoryItem { unitCost { amount currencyCode } }";

fn variants_query() -> String {
    format!(
        "query Variants($first: Int!, $cursor: String) {{ \
           productVariants(first: $first, after: $cursor) {{ \
             pageInfo {{ hasNextPage endCursor }} \
             nodes {{ {VARIANT_FIELDS} }} }} }}"
    )
}

fn variant_query() -> String {
    format!("query Variant($id: ID!) {{ productVariant(id: $id) {{ {VARIANT_FIELDS} }} }}")
}

const PRODUCT_UPDATE: &str = "mutation ProductStatus($product: ProductUpdateInput!) { \
     productUpdate(product: $product) { \
       product { id status updatedAt } \
       userErrors { field message } } }";

const VARIANTS_BULK_UPDATE: &str =
    "mutation VariantPrice($productId: ID!, $variants: [ProductVariantsBulkInput!]!) { \
     productVariantsBulkUpdate(productId: $productId, variants: $variants) { \
       productVariants { id price compareAtPrice } \
       userErrors { field message code } } }";

/// The sales channel a product Otto sets ACTIVE is published on: an ACTIVE product on no
/// publication is visible nowhere. "For products to be visible in a channel, they must have an
/// active ProductStatus" and be published to the channel's publication —
/// <https://shopify.dev/docs/api/admin-graphql/latest/mutations/publishablePublish>,
/// <https://shopify.dev/docs/apps/build/sales-channels/product-publishing> (scopes
/// `read_publications` / `write_publications`). The Online Store's publication is the one whose
/// catalog (an `AppCatalog`) is titled "Online Store" (`Publication.name` is deprecated for
/// `catalog.title`, and kept as a fallback) —
/// <https://shopify.dev/docs/api/admin-graphql/latest/objects/Publication.md>.
pub const ONLINE_STORE: &str = "Online Store";

const PUBLICATIONS_QUERY: &str =
    "query Publications { publications(first: 50) { nodes { id name catalog { title } } } }";

/// `publishablePublish(id:, input: [PublicationInput!]!)`, `PublicationInput.publicationId` —
/// <https://shopify.dev/docs/api/admin-graphql/latest/input-objects/PublicationInput.md>.
const PUBLISHABLE_PUBLISH: &str = "mutation Publish($id: ID!, $input: [PublicationInput!]!) { \
     publishablePublish(id: $id, input: $input) { userErrors { field message } } }";

/// The response parser, public for fuzzing: the Online Store's publication id.
pub fn parse_online_store_publication(data: &Value) -> Result<String, VendorError> {
    let nodes = data
        .pointer("/publications/nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| permanent("publications: response has no `publications.nodes` list"))?;
    let title = |n: &Value| {
        n.pointer("/catalog/title")
            .and_then(Value::as_str)
            .or_else(|| n.get("name").and_then(Value::as_str))
            .map(str::to_string)
    };
    nodes
        .iter()
        .find(|n| title(n).as_deref() == Some(ONLINE_STORE))
        .and_then(|n| n.get("id").and_then(Value::as_str))
        .map(str::to_string)
        .ok_or_else(|| {
            permanent(format!(
                "publications: no {ONLINE_STORE:?} publication among {}: the product is ACTIVE but on no \
                 sales channel; add the Online Store channel to the shop, or publish it by hand",
                nodes.iter().filter_map(title).collect::<Vec<_>>().join(", ")
            ))
        })
}

/// `Product.publishedOnPublication(publicationId:)` (from the `Publishable` interface) —
/// <https://shopify.dev/docs/api/admin-graphql/latest/interfaces/Publishable>.
const PUBLISHED_QUERY: &str = "query Published($id: ID!, $publication: ID!) { \
     product(id: $id) { publishedOnPublication(publicationId: $publication) } }";

/// The response parser, public for fuzzing: whether the product is on the publication.
pub fn parse_published(data: &Value, product_id: &str) -> Result<bool, VendorError> {
    let product = data
        .get("product")
        .ok_or_else(|| permanent("product: response has no `product`"))?;
    if product.is_null() {
        return Err(permanent(format!(
            "product {product_id} no longer exists in the shop"
        )));
    }
    product
        .get("publishedOnPublication")
        .and_then(Value::as_bool)
        .ok_or_else(|| permanent("product: response has no `publishedOnPublication` boolean"))
}

impl ShopifyClient {
    /// The Online Store's publication id, read once per client.
    async fn online_store_publication(&self) -> Result<String, VendorError> {
        let cached = self
            .online_store
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(p) = cached {
            return Ok(p);
        }
        let data = self
            .graphql("publications", PUBLICATIONS_QUERY, json!({}), 104.0)
            .await?;
        let p = parse_online_store_publication(&data)?;
        *self.online_store.lock().unwrap_or_else(|p| p.into_inner()) = Some(p.clone());
        Ok(p)
    }

    /// Publishes a product on the Online Store; returns the publication.
    async fn publish_to_online_store(&self, product_id: &str) -> Result<String, VendorError> {
        let publication = self.online_store_publication().await?;
        let variables = json!({ "id": product_id, "input": [{ "publicationId": publication }] });
        let data = self
            .graphql("publishablePublish", PUBLISHABLE_PUBLISH, variables, 10.0)
            .await?;
        parse_mutation_payload(&data, "publishablePublish")?;
        Ok(publication)
    }
}

impl ShopifyClient {
    pub fn new(config: ShopifyConfig) -> Result<Self, VendorError> {
        if config.page_size == 0 || config.page_size > MAX_PAGE_SIZE {
            return Err(permanent(format!(
                "page_size {} is outside 1..={MAX_PAGE_SIZE}",
                config.page_size
            )));
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        let endpoint = format!(
            "{}/admin/api/{}/graphql.json",
            config.base_url.trim_end_matches('/'),
            config.api_version
        );
        Ok(ShopifyClient {
            config,
            endpoint,
            http,
            sleeper: tokio_sleeper(),
            backoff_base: Duration::from_millis(500),
            throttle: Mutex::new(ThrottleState::default()),
            catalog_index: None,
            store_clock: None,
            bulk: BulkSettings::default(),
            online_store: Mutex::new(None),
        })
    }

    /// The store's time zone, for store sales by store day.
    pub fn with_store_clock(mut self, clock: StoreClock) -> Self {
        self.store_clock = Some(clock);
        self
    }

    pub(crate) fn store_clock(&self) -> Option<StoreClock> {
        self.store_clock
    }

    /// When reads switch to a bulk operation and how long they wait for it.
    pub fn with_bulk(mut self, bulk: BulkSettings) -> Self {
        self.bulk = bulk;
        self
    }

    pub(crate) fn bulk_settings(&self) -> BulkSettings {
        self.bulk
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub(crate) async fn sleep(&self, d: Duration) {
        (self.sleeper)(d).await
    }

    pub(crate) fn currency(&self) -> Currency {
        self.config.currency
    }

    /// Shares every full catalog read with `index` (for the ad client's offer-id mapping).
    pub fn with_catalog_index(mut self, index: CatalogIndex) -> Self {
        self.catalog_index = Some(index);
        self
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

    /// Per-request timeout (connect + response); default 30 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, VendorError> {
        self.http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| permanent(format!("building the HTTP client: {e}")))?;
        Ok(self)
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .backoff_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(Duration::from_secs(60));
        exp.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }

    /// The wait needed before sending `op` (zero if the bucket has room or is unknown).
    fn budget_wait(&self, op: &'static str, estimate: f64) -> Duration {
        let state = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = state.bucket else {
            return Duration::ZERO;
        };
        if b.restore_rate <= 0.0 || !b.restore_rate.is_finite() {
            return Duration::ZERO;
        }
        // Query-cost *points* of Shopify's leaky bucket (reported as floats), not money.
        let points = state.last_cost.get(op).copied().unwrap_or(estimate);
        let points = if b.maximum > 0.0 {
            points.min(b.maximum)
        } else {
            points
        };
        let elapsed = b.seen_at.elapsed().as_secs_f64();
        let mut available = b.available + b.restore_rate * elapsed;
        if b.maximum > 0.0 {
            available = available.min(b.maximum);
        }
        if points <= available {
            return Duration::ZERO;
        }
        let wait_secs = (points - available) / b.restore_rate;
        Duration::from_secs_f64(wait_secs.min(86_400.0))
    }

    fn record_cost(&self, op: &'static str, cost: QueryCost) {
        if cost == QueryCost::default() {
            return;
        }
        let mut state = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(requested) = cost.requested {
            state.last_cost.insert(op, requested);
        }
        if let Some((maximum, available, restore_rate)) = cost.throttle {
            state.bucket = Some(Bucket {
                maximum,
                available,
                restore_rate,
                seen_at: Instant::now(),
            });
        }
    }

    /// One GraphQL call with throttling and retries; returns `data`.
    pub(crate) async fn graphql(
        &self,
        op: &'static str,
        query: &str,
        variables: Value,
        estimate: f64,
    ) -> Result<Value, VendorError> {
        let body = json!({ "query": query, "variables": variables });
        let mut attempt = 0u32;
        let mut throttled = false;
        loop {
            let wait = self.budget_wait(op, estimate);
            if wait > self.config.max_throttle_wait {
                return Err(transient(format!(
                    "{op}: throttled; the cost bucket needs {:.3}s to refill, more than the {:.3}s allowed",
                    wait.as_secs_f64(),
                    self.config.max_throttle_wait.as_secs_f64()
                )));
            }
            if !wait.is_zero() {
                tracing::debug!(
                    op,
                    wait_ms = wait.as_millis() as u64,
                    "shopify: waiting for the cost bucket"
                );
                (self.sleeper)(wait).await;
            } else if throttled {
                // Throttled without a usable throttleStatus: back off instead.
                (self.sleeper)(self.backoff(attempt)).await;
            }
            throttled = false;
            match self.send_once(op, &body).await {
                Outcome::Data(d) => return Ok(d),
                Outcome::Fatal(e) => return Err(e),
                Outcome::Throttled(detail) => {
                    if attempt >= self.config.max_retries {
                        return Err(transient(format!(
                            "{op}: still throttled after {attempt} retries: {detail}"
                        )));
                    }
                    attempt += 1;
                    throttled = true;
                    tracing::warn!(op, attempt, "shopify: throttled, retrying");
                }
                Outcome::Retry(detail) => {
                    if attempt >= self.config.max_retries {
                        return Err(transient(format!(
                            "{op}: gave up after {attempt} retries: {detail}"
                        )));
                    }
                    attempt += 1;
                    tracing::warn!(op, attempt, %detail, "shopify: retrying");
                    (self.sleeper)(self.backoff(attempt)).await;
                }
            }
        }
    }

    async fn send_once(&self, op: &'static str, body: &Value) -> Outcome {
        let resp = match self
            .http
            .post(&self.endpoint)
            .header("X-Shopify-Access-Token", &self.config.access_token)
            .header("Accept", "application/json")
            .json(body)
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(format!("request failed: {e}")),
        };
        let status = resp.status();
        let text = match resp.text().await {
            Ok(t) => t,
            Err(e) => return Outcome::Retry(format!("reading the response failed: {e}")),
        };
        let (cost, outcome) = parse_response(op, status.as_u16(), &text);
        if let Some(cost) = cost {
            self.record_cost(op, cost);
        }
        outcome
    }

    /// The shop's own settings and the app's granted scopes: one cheap read (`otto doctor`).
    /// `Shop.currencyCode`, `Shop.ianaTimezone` —
    /// <https://shopify.dev/docs/api/admin-graphql/latest/objects/Shop>;
    /// `currentAppInstallation.accessScopes { handle }` —
    /// <https://shopify.dev/docs/api/admin-graphql/latest/objects/AppInstallation>.
    pub async fn shop_info(&self) -> Result<ShopInfo, VendorError> {
        let data = self.graphql("shop", SHOP_QUERY, json!({}), 10.0).await?;
        parse_shop_info(&data)
    }

    fn check_currency(&self, what: &str, m: &Money) -> Result<(), VendorError> {
        if m.currency() != self.config.currency {
            return Err(permanent(format!(
                "{what} is in {}, but the shop's currency is {}",
                m.currency(),
                self.config.currency
            )));
        }
        Ok(())
    }
}

const SHOP_QUERY: &str = "query Shop { shop { name currencyCode ianaTimezone } \
     currentAppInstallation { accessScopes { handle } } }";

/// What `otto doctor` reads about the shop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShopInfo {
    pub name: String,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    /// IANA, e.g. `Europe/Amsterdam`.
    pub time_zone: String,
    /// Access scope handles granted to the app, e.g. `read_orders`.
    pub scopes: Vec<String>,
}

/// The response parser for [`ShopifyClient::shop_info`].
pub fn parse_shop_info(data: &Value) -> Result<ShopInfo, VendorError> {
    let shop = field(data, "shop", "shop")?;
    let scopes = data
        .pointer("/currentAppInstallation/accessScopes")
        .and_then(Value::as_array)
        .ok_or_else(|| permanent("shop: no `currentAppInstallation.accessScopes` list"))?
        .iter()
        .map(|s| {
            s.get("handle")
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| permanent(format!("shop: access scope without a handle: {s}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(ShopInfo {
        name: str_field(shop, "name", "shop")?.to_string(),
        currency: str_field(shop, "currencyCode", "shop")?.to_string(),
        time_zone: str_field(shop, "ianaTimezone", "shop")?.to_string(),
        scopes,
    })
}

/// The response parser, public for fuzzing: one GraphQL answer (HTTP status + body text) →
/// what the client does next, and the `extensions.cost` to record (when the body is a JSON
/// object). [`ShopifyClient`] calls exactly this for every response.
pub fn parse_response(op: &str, code: u16, text: &str) -> (Option<QueryCost>, Outcome) {
    if (500..600).contains(&code) {
        return (
            None,
            Outcome::Retry(format!("HTTP {code}: {}", snippet(text))),
        );
    }
    if matches!(code, 401 | 403 | 404) {
        let detail = format!(
            "{op}: HTTP {code} (check the shop URL, API version, token and scopes): {}",
            snippet(text)
        );
        return (None, Outcome::Fatal(permanent(detail)));
    }
    let parsed: Result<Value, _> = serde_json::from_str(text);
    let json = match parsed {
        Ok(v) if v.is_object() => v,
        _ if code == 429 => {
            return (None, Outcome::Retry(format!("HTTP 429: {}", snippet(text))));
        }
        _ => {
            let detail = format!(
                "{op}: HTTP {code}: response is not a JSON object: {}",
                snippet(text)
            );
            return (None, Outcome::Fatal(permanent(detail)));
        }
    };
    let cost = Some(parse_cost(&json));
    (cost, classify_object(op, code, text, &json))
}

/// The rest of [`parse_response`], once the body is a JSON object.
fn classify_object(op: &str, code: u16, text: &str, json: &Value) -> Outcome {
    let errors: &[Value] = json
        .get("errors")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    if errors
        .iter()
        .any(|e| e.pointer("/extensions/code").and_then(Value::as_str) == Some("THROTTLED"))
    {
        return Outcome::Throttled(format!("HTTP {code}: THROTTLED"));
    }
    if code == 429 {
        return Outcome::Retry(format!("HTTP 429: {}", snippet(text)));
    }
    if !(200..300).contains(&code) {
        return Outcome::Fatal(permanent(format!("{op}: HTTP {code}: {}", snippet(text))));
    }
    if let Some(e) = json.get("errors").filter(|e| !e.is_null()) {
        let messages: Vec<String> = match e.as_array() {
            Some(list) => list
                .iter()
                .map(|x| {
                    x.get("message")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect(),
            None => vec![e.to_string()],
        };
        if !messages.is_empty() {
            return Outcome::Fatal(permanent(format!(
                "{op}: GraphQL errors: {}",
                messages.join("; ")
            )));
        }
    }
    match json.get("data") {
        Some(d) if d.is_object() => Outcome::Data(d.clone()),
        _ => Outcome::Fatal(permanent(format!(
            "{op}: response has no `data` object: {}",
            snippet(text)
        ))),
    }
}

enum MappedVariant {
    /// A variant Otto may act on, and the flag when its unit cost was left out.
    Variant(Box<Variant>, Option<CostFlag>),
    /// A product status Otto's core does not know (e.g. `UNLISTED`).
    HeldOut(HeldOut),
    /// No SKU (null/empty) or a SKU Otto cannot key on; the reason.
    Skipped(String),
}

fn field<'a>(node: &'a Value, key: &str, ctx: &str) -> Result<&'a Value, VendorError> {
    match node.get(key) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(permanent(format!("{ctx}: missing `{key}`"))),
    }
}

fn str_field<'a>(node: &'a Value, key: &str, ctx: &str) -> Result<&'a str, VendorError> {
    field(node, key, ctx)?
        .as_str()
        .ok_or_else(|| permanent(format!("{ctx}: `{key}` is not a string")))
}

fn money_field(
    node: &Value,
    key: &str,
    ctx: &str,
    currency: Currency,
) -> Result<Option<Money>, VendorError> {
    match node.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Money::parse(s, currency)
            .map(Some)
            .map_err(|e| permanent(format!("{ctx}: `{key}`: {e}"))),
        Some(other) => Err(permanent(format!(
            "{ctx}: `{key}` is not a decimal string: {other}"
        ))),
    }
}

fn map_variant(node: &Value, currency: Currency) -> Result<MappedVariant, VendorError> {
    let id = node.get("id").and_then(Value::as_str).ok_or_else(|| {
        permanent(format!(
            "variant node without an `id`: {}",
            snippet(&node.to_string())
        ))
    })?;
    let ctx = format!("variant {id}");
    let ctx = ctx.as_str();
    let sku = match node.get("sku") {
        None => return Err(permanent(format!("{ctx}: missing `sku`"))),
        Some(Value::Null) => return Ok(MappedVariant::Skipped("no SKU".into())),
        Some(Value::String(s)) if s.trim().is_empty() => {
            return Ok(MappedVariant::Skipped("empty SKU".into()))
        }
        Some(Value::String(s)) => match Sku::new(s.as_str()) {
            Ok(sku) => sku,
            Err(e) => return Ok(MappedVariant::Skipped(e.to_string())),
        },
        Some(other) => return Err(permanent(format!("{ctx}: `sku` is not a string: {other}"))),
    };
    let product = field(node, "product", ctx)?;
    let product_id = str_field(product, "id", &format!("{ctx}: product"))?;
    let product_title = str_field(product, "title", &format!("{ctx}: product"))?;
    let variant_title = node.get("title").and_then(Value::as_str).unwrap_or("");
    let title = if variant_title.is_empty() || variant_title == "Default Title" {
        product_title.to_string()
    } else {
        format!("{product_title} — {variant_title}")
    };
    let price = money_field(node, "price", ctx, currency)?
        .ok_or_else(|| permanent(format!("{ctx}: missing `price`")))?;
    let compare_at_price = money_field(node, "compareAtPrice", ctx, currency)?;
    let (unit_cost, cost_flag) = unit_cost(node, id, &sku, ctx, currency)?;
    let status = match ShopStatus::parse(str_field(product, "status", &format!("{ctx}: product"))?)
    {
        ShopStatus::Known(s) => s,
        ShopStatus::Other(raw) => {
            return Ok(MappedVariant::HeldOut(HeldOut {
                variant_id: id.to_string(),
                product_id: product_id.to_string(),
                sku: sku.as_str().to_string(),
                reason: format!(
                    "product status {raw} is not one Otto decides on (ACTIVE, DRAFT, ARCHIVED): left alone"
                ),
                status: raw,
            }))
        }
    };
    let inventory = match node.get("inventoryQuantity") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_i64().ok_or_else(|| {
            permanent(format!("{ctx}: `inventoryQuantity` is not an integer: {v}"))
        })?,
    };
    let tags = match product.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|t| {
                t.as_str().map(str::to_string).ok_or_else(|| {
                    permanent(format!("{ctx}: product.tags holds a non-string: {t}"))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(permanent(format!(
                "{ctx}: product.tags is not a list: {other}"
            )))
        }
    };
    let updated_raw = str_field(node, "updatedAt", ctx)?;
    let updated_at = DateTime::parse_from_rfc3339(updated_raw)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| permanent(format!("{ctx}: `updatedAt` {updated_raw:?}: {e}")))?;
    let variant = Variant {
        sku,
        variant_id: id.to_string(),
        product_id: product_id.to_string(),
        title,
        price,
        compare_at_price,
        unit_cost,
        status,
        inventory,
        tags,
        updated_at,
    };
    Ok(MappedVariant::Variant(Box::new(variant), cost_flag))
}

/// `inventoryItem.unitCost` in the shop's currency, or `None` and a flag when it is in another
/// one (multi-currency shops; never converted here, so never a guessed rate in a margin).
fn unit_cost(
    node: &Value,
    variant_id: &str,
    sku: &Sku,
    ctx: &str,
    currency: Currency,
) -> Result<(Option<Money>, Option<CostFlag>), VendorError> {
    let cost = match node.pointer("/inventoryItem/unitCost") {
        None | Some(Value::Null) => return Ok((None, None)),
        Some(cost) => cost,
    };
    let cctx = format!("{ctx}: inventoryItem.unitCost");
    let code = str_field(cost, "currencyCode", &cctx)?;
    let amount = str_field(cost, "amount", &cctx)?;
    if code != currency.code() {
        let flag = CostFlag {
            variant_id: variant_id.to_string(),
            sku: sku.as_str().to_string(),
            currency: code.to_string(),
            amount: amount.to_string(),
            reason: format!(
                "unit cost {amount} {code} is not in the shop currency {currency}: left out of margin decisions"
            ),
        };
        return Ok((None, Some(flag)));
    }
    let money =
        Money::parse(amount, currency).map_err(|e| permanent(format!("{cctx}: `amount`: {e}")))?;
    Ok((Some(money), None))
}

/// The response parser, public for fuzzing: a mutation's payload (`productUpdate`,
/// `productVariantsBulkUpdate`) out of the `data` object; non-empty `userErrors` → `Refused`.
pub fn parse_mutation_payload(data: &Value, field: &str) -> Result<Value, VendorError> {
    let payload = data
        .get(field)
        .filter(|p| p.is_object())
        .ok_or_else(|| permanent(format!("{field}: response has no `{field}` payload")))?;
    let user_errors = payload
        .get("userErrors")
        .and_then(Value::as_array)
        .ok_or_else(|| permanent(format!("{field}: payload has no `userErrors` list")))?;
    if !user_errors.is_empty() {
        let errors = user_errors
            .iter()
            .map(|e| {
                let msg = e
                    .get("message")
                    .and_then(Value::as_str)
                    .filter(|m| !m.trim().is_empty())
                    .unwrap_or("(no message)");
                match e.get("field").and_then(Value::as_array) {
                    Some(path) if !path.is_empty() => {
                        let path: Vec<&str> = path.iter().filter_map(Value::as_str).collect();
                        format!("{}: {msg}", path.join("."))
                    }
                    _ => msg.to_string(),
                }
            })
            .collect();
        return Err(VendorError::Refused {
            vendor: VENDOR,
            errors,
        });
    }
    Ok(payload.clone())
}

/// One `productVariants` page ([`parse_variants_page`]).
#[derive(Debug, Clone, PartialEq)]
pub struct VariantsPage {
    /// The variants with a usable SKU, in page order.
    pub variants: Vec<Variant>,
    /// (variant id, why) of the variants skipped for having no usable SKU.
    pub skipped: Vec<(String, String)>,
    /// Variants of products with a status Otto does not know (e.g. `UNLISTED`).
    pub held_out: Vec<HeldOut>,
    /// Variants (in `variants`, with `unit_cost: None`) whose unit cost is in another currency.
    pub cost_flags: Vec<CostFlag>,
    /// `pageInfo.hasNextPage`.
    pub has_next: bool,
    /// `pageInfo.endCursor`; read (and required) only when `has_next`.
    pub end_cursor: Option<String>,
}

/// The response parser, public for fuzzing: one `productVariants` page out of the `data` object,
/// every node mapped to a [`Variant`] in the shop's currency.
pub fn parse_variants_page(data: &Value, currency: Currency) -> Result<VariantsPage, VendorError> {
    let conn = field(data, "productVariants", "productVariants page")?;
    let nodes = field(conn, "nodes", "productVariants page")?
        .as_array()
        .ok_or_else(|| permanent("productVariants page: `nodes` is not a list"))?;
    let page_info = field(conn, "pageInfo", "productVariants page")?;
    let has_next = field(page_info, "hasNextPage", "productVariants pageInfo")?
        .as_bool()
        .ok_or_else(|| permanent("productVariants pageInfo: `hasNextPage` is not a boolean"))?;
    let mut variants = Vec::new();
    let mut skipped = Vec::new();
    let mut held_out = Vec::new();
    let mut cost_flags = Vec::new();
    for node in nodes {
        match map_variant(node, currency)? {
            MappedVariant::Variant(v, flag) => {
                variants.push(*v);
                cost_flags.extend(flag);
            }
            MappedVariant::HeldOut(h) => held_out.push(h),
            MappedVariant::Skipped(why) => {
                let variant = node.get("id").and_then(|v| v.as_str()).unwrap_or("?");
                skipped.push((variant.to_string(), why));
            }
        }
    }
    let end_cursor = if has_next {
        Some(str_field(page_info, "endCursor", "productVariants pageInfo")?.to_string())
    } else {
        None
    };
    Ok(VariantsPage {
        variants,
        skipped,
        held_out,
        cost_flags,
        has_next,
        end_cursor,
    })
}

/// The response parser, public for fuzzing: the `productVariant` answer for `variant_id` out of
/// the `data` object (`null` → `None`; a variant without a usable SKU is an error).
pub fn parse_variant(
    data: &Value,
    variant_id: &str,
    currency: Currency,
) -> Result<Option<Variant>, VendorError> {
    match data.get("productVariant") {
        None => Err(permanent(format!(
            "productVariant {variant_id}: response has no `productVariant` field"
        ))),
        Some(Value::Null) => Ok(None),
        Some(node) => match map_variant(node, currency)? {
            MappedVariant::Variant(v, _) => Ok(Some(*v)),
            MappedVariant::HeldOut(h) => {
                Err(permanent(format!("variant {variant_id}: {}", h.reason)))
            }
            MappedVariant::Skipped(why) => Err(permanent(format!(
                "variant {variant_id} has no usable SKU ({why})"
            ))),
        },
    }
}

fn log_catalog(sync: &CatalogSync, pages: usize) {
    for (variant, why) in &sync.skipped {
        tracing::debug!(variant, why, "shopify: variant skipped");
    }
    if !sync.skipped.is_empty() || !sync.held_out.is_empty() || !sync.cost_flags.is_empty() {
        tracing::warn!(summary = %sync.summary(), "shopify: catalog read with exceptions");
    }
    tracing::info!(
        variants = sync.variants.len(),
        pages,
        "shopify: catalog fetched"
    );
}

fn status_name(status: ProductStatus) -> &'static str {
    match status {
        ProductStatus::Active => "ACTIVE",
        ProductStatus::Draft => "DRAFT",
        ProductStatus::Archived => "ARCHIVED",
    }
}

#[async_trait]
impl ShopCatalog for ShopifyClient {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        Ok(self.fetch_catalog().await?.variants)
    }

    async fn fetch_catalog(&self) -> Result<CatalogSync, VendorError> {
        let query = variants_query();
        let first = self.config.page_size;
        let estimate = 2.0 + f64::from(first) * 4.0;
        let mut cursor: Option<String> = None;
        let mut sync = CatalogSync::default();
        let mut pages = 0usize;
        loop {
            let data = self
                .graphql(
                    "productVariants",
                    &query,
                    json!({ "first": first, "cursor": cursor }),
                    estimate,
                )
                .await?;
            pages += 1;
            let page = parse_variants_page(&data, self.config.currency)?;
            sync.variants.extend(page.variants);
            sync.skipped.extend(page.skipped);
            sync.held_out.extend(page.held_out);
            sync.cost_flags.extend(page.cost_flags);
            let Some(next) = page.end_cursor.filter(|_| page.has_next) else {
                break;
            };
            if cursor.as_deref() == Some(next.as_str()) {
                return Err(permanent(format!(
                    "productVariants pageInfo: endCursor {next:?} did not advance"
                )));
            }
            cursor = Some(next);
        }
        log_catalog(&sync, pages);
        if let Some(index) = &self.catalog_index {
            index.replace(&sync.variants);
        }
        Ok(sync)
    }

    async fn sku_sales(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Option<Vec<SkuSales>>, VendorError> {
        Ok(Some(self.sales_report(from, to).await?.sales))
    }

    async fn fetch_variant(&self, variant_id: &str) -> Result<Option<Variant>, VendorError> {
        let data = self
            .graphql(
                "productVariant",
                &variant_query(),
                json!({ "id": variant_id }),
                4.0,
            )
            .await?;
        parse_variant(&data, variant_id, self.config.currency)
    }

    async fn set_product_status(
        &self,
        product_id: &str,
        status: ProductStatus,
    ) -> Result<Value, VendorError> {
        let variables = json!({ "product": { "id": product_id, "status": status_name(status) } });
        let data = self
            .graphql("productUpdate", PRODUCT_UPDATE, variables, 10.0)
            .await?;
        let mut payload = parse_mutation_payload(&data, "productUpdate")?;
        if status == ProductStatus::Active {
            let publication = self.publish_to_online_store(product_id).await?;
            if let Some(o) = payload.as_object_mut() {
                o.insert("published_to".into(), json!(publication));
            }
        }
        Ok(payload)
    }

    async fn on_online_store(&self, product_id: &str) -> Result<bool, VendorError> {
        let publication = self.online_store_publication().await?;
        let variables = json!({ "id": product_id, "publication": publication });
        let data = self
            .graphql("publishedOnPublication", PUBLISHED_QUERY, variables, 2.0)
            .await?;
        parse_published(&data, product_id)
    }

    async fn publish_on_online_store(&self, product_id: &str) -> Result<Value, VendorError> {
        let publication = self.publish_to_online_store(product_id).await?;
        Ok(json!({ "product": { "id": product_id }, "published_to": publication }))
    }

    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at_price: Option<Money>,
    ) -> Result<Value, VendorError> {
        self.check_currency("price", &price)?;
        if let Some(c) = &compare_at_price {
            self.check_currency("compareAtPrice", c)?;
        }
        let variables = json!({
            "productId": product_id,
            "variants": [{
                "id": variant_id,
                "price": price.rounded().amount_string(),
                "compareAtPrice": compare_at_price.map(|c| c.rounded().amount_string()),
            }],
        });
        let data = self
            .graphql(
                "productVariantsBulkUpdate",
                VARIANTS_BULK_UPDATE,
                variables,
                10.0,
            )
            .await?;
        parse_mutation_payload(&data, "productVariantsBulkUpdate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal always says something, even when Shopify's `message` is empty or missing.
    #[test]
    fn user_errors_without_a_message_still_name_the_refusal() {
        let data = json!({ "productUpdate": { "product": null, "userErrors": [
            { "field": null, "message": "" },
            { "field": ["id"], "message": "  " },
            { "message": "Product does not exist" },
            {},
        ] } });
        assert_eq!(
            parse_mutation_payload(&data, "productUpdate"),
            Err(VendorError::Refused {
                vendor: VENDOR,
                errors: vec![
                    "(no message)".to_string(),
                    "id: (no message)".to_string(),
                    "Product does not exist".to_string(),
                    "(no message)".to_string(),
                ],
            })
        );
    }
}
