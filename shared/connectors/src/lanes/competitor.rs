//! The `competitor` lane: competitors' best sellers from their public Shopify storefronts.
//!
//! * **Order — best sellers.** `GET {store}/collections/all?sort_by=best-selling` (HTML): the
//!   storefront's all-products collection sorted by Shopify's documented `best-selling` sort
//!   (<https://shopify.dev/docs/api/liquid/filters/sort_by> lists `best-selling` among the
//!   collection URL's `sort_by` values). Product handles are read in the order their
//!   `/products/{handle}` links first appear on that page (page 1 only); a theme's menus can put a
//!   few links before the grid, so the rank is "as the best-selling page lists them". Shopify
//!   documents no JSON best-seller feed (`products.json` ignores `sort_by`), so when that page
//!   fails or lists no product, the store's feed order is used and a note says so.
//! * **Products.** `GET {store}/products.json?limit=250&page=N`, N = 1, 2, … (the storefront's
//!   public feed: `limit` at most 250, `page` from 1; not part of Shopify's documented APIs, but
//!   public on every storefront): `{"products":[{"id","title","handle","vendor","product_type",
//!   "tags","variants":[{"price":"59.90","compare_at_price":null,"available":true}]}]}`. Paging
//!   stops at a short or empty page, or after `max_pages` (said in a note).
//! * One candidate per product whose title shares a word (case-insensitive, words of ≥ 3
//!   letters/digits, so "a"/"of" never match) with a seed keyword: title, `price` = the lowest
//!   variant price parsed exactly in the configured currency (a JSON-number price goes through its
//!   decimal text), `source_url` = `{store}/products/{handle}`, signals `store`, `vendor`,
//!   `product_type`, `variants`, `available` (any variant available), `best_seller_rank` (1 =
//!   first on the best-selling page). Best sellers first, then feed order; at most `max_products`
//!   candidates **per store**.
//! * **Bad pages** never fail the task: a store whose first feed page is HTML (a password page, not
//!   a storefront), 404, 429 past its `Retry-After`, or malformed is skipped with one line naming
//!   the store and what was wrong (the stage row's `notes`); a later page failing keeps the pages
//!   read, with a note. A 429/503 with a short `Retry-After` (≤ 30 s) is retried after that wait
//!   ([`LaneHttp`]). The lane fails only when every store failed (`Transient` if any of them
//!   failed transiently).

use super::dataforseo::{snippet, LaneHttp};
use super::{DiscoveryLane, LaneFindings, RawCandidate};
use crate::ports::VendorError;
use async_trait::async_trait;
use otto_core::{Currency, Money};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const VENDOR: &str = "competitor";

#[derive(Debug)]
pub struct CompetitorFeeds {
    /// Base URLs of public Shopify storefronts (`https://shop.example`).
    pub stores: Vec<String>,
    /// The storefronts' currency (the feed does not say).
    pub currency: Currency,
    /// Cap per store.
    pub max_products: usize,
    /// `products.json` pages read per store at most (250 products each).
    pub max_pages: u32,
    http: LaneHttp,
}

/// Products per feed page (the storefront feed's maximum `limit`).
pub const PAGE_LIMIT: usize = 250;

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

/// Lower-cased words of ≥ 3 alphanumeric characters.
fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

fn money(v: &Value, currency: Currency) -> Result<Option<Money>, String> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => return Err(format!("price {other} is not a decimal")),
    };
    Money::parse(&text, currency)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// One store's read: its candidates (best sellers first) and what went wrong on the way.
struct StoreRead {
    candidates: Vec<RawCandidate>,
    notes: Vec<String>,
}

impl CompetitorFeeds {
    /// At most `max_products` candidates per store, 4 feed pages (1,000 products) per store.
    pub fn new(stores: Vec<String>, currency: Currency, max_products: usize) -> Self {
        CompetitorFeeds {
            stores,
            currency,
            max_products,
            max_pages: 4,
            http: LaneHttp::new(),
        }
    }

    /// Replaces the retrying HTTP helper (tests use tiny backoffs).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    pub fn with_max_pages(mut self, max_pages: u32) -> Self {
        self.max_pages = max_pages.max(1);
        self
    }

    /// Handles in best-selling order, or why there is none.
    async fn best_sellers(&self, base: &str) -> Result<Vec<String>, String> {
        let url = format!("{base}/collections/all?sort_by=best-selling");
        let (status, text) = self
            .http
            .send(VENDOR, base, |c| c.get(&url))
            .await
            .map_err(|e| e.to_string())?;
        if !(200..300).contains(&status) {
            return Err(format!("HTTP {status}"));
        }
        let handles = best_seller_handles(&text);
        if handles.is_empty() {
            return Err("the page lists no /products/ links".into());
        }
        Ok(handles)
    }

    async fn store(
        &self,
        base: &str,
        seed_words: &BTreeSet<String>,
    ) -> Result<StoreRead, VendorError> {
        let base = base.trim_end_matches('/');
        let mut notes = Vec::new();
        let mut found = Vec::new();
        for page in 1..=self.max_pages {
            let url = format!("{base}/products.json?limit={PAGE_LIMIT}&page={page}");
            let read = match self.http.send(VENDOR, base, |c| c.get(&url)).await {
                Ok((status, text)) => {
                    parse_feed_page(base, status, &text, self.currency, seed_words)
                }
                Err(e) => Err(e),
            };
            let feed = match read {
                Ok(feed) => feed,
                Err(e) if page == 1 => return Err(e),
                Err(e) => {
                    notes.push(format!(
                        "{base}: page {page}: {e}; kept the {} page(s) read",
                        page - 1
                    ));
                    break;
                }
            };
            found.extend(feed.candidates);
            if feed.products < PAGE_LIMIT {
                break;
            }
            if page == self.max_pages {
                notes.push(format!(
                    "{base}: stopped after {page} feed pages ({} products); more are listed",
                    page as usize * PAGE_LIMIT
                ));
            }
        }
        let ranks = match self.best_sellers(base).await {
            Ok(handles) => handles,
            Err(why) => {
                notes.push(format!(
                    "{base}: best-selling page unavailable ({why}); feed order used"
                ));
                Vec::new()
            }
        };
        Ok(StoreRead {
            candidates: rank_and_cap(found, &ranks, self.max_products),
            notes,
        })
    }
}

/// Product handles in the order their `/products/{handle}` links first appear in `html`.
pub fn best_seller_handles(html: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in html.match_indices("/products/") {
        let rest = &html[i + "/products/".len()..];
        let handle: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '%' | '.'))
            .collect();
        let handle = handle
            .trim_end_matches(".json")
            .trim_end_matches(".js")
            .trim_end_matches('.')
            .to_string();
        if !handle.is_empty() && !out.contains(&handle) {
            out.push(handle);
        }
    }
    out
}

/// Best sellers first (by their rank on the best-selling page, signal `best_seller_rank`), then
/// the rest in feed order; at most `max` of them.
fn rank_and_cap(found: Vec<RawCandidate>, ranks: &[String], max: usize) -> Vec<RawCandidate> {
    let mut keyed: Vec<(usize, usize, RawCandidate)> = found
        .into_iter()
        .enumerate()
        .map(|(pos, mut c)| {
            let handle = c
                .source_url
                .as_deref()
                .and_then(|u| u.rsplit("/products/").next())
                .unwrap_or_default()
                .to_string();
            let rank = ranks.iter().position(|h| *h == handle);
            if let Some(r) = rank {
                c.signals
                    .insert("best_seller_rank".into(), Value::from(r as u64 + 1));
            }
            (rank.unwrap_or(usize::MAX), pos, c)
        })
        .collect();
    keyed.sort_by_key(|(rank, pos, _)| (*rank, *pos));
    keyed.into_iter().take(max).map(|(_, _, c)| c).collect()
}

/// The words a seed list is matched by (alphanumeric runs of 3+ characters, lower-cased).
pub fn seed_words(seeds: &[String]) -> BTreeSet<String> {
    seeds.iter().flat_map(|s| words(s)).collect()
}

/// One feed page: how many products it listed, and those matching the seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedPage {
    pub products: usize,
    pub candidates: Vec<RawCandidate>,
}

/// The response parser, public for fuzzing: a store's `products.json` answer (HTTP status + body
/// text) → at most `max_products` candidates whose title shares a word with `seed_words`, each
/// priced at its cheapest variant in `currency`.
pub fn parse_products_json(
    base: &str,
    status: u16,
    text: &str,
    currency: Currency,
    seed_words: &BTreeSet<String>,
    max_products: usize,
) -> Result<Vec<RawCandidate>, VendorError> {
    let mut page = parse_feed_page(base, status, text, currency, seed_words)?;
    page.candidates.truncate(max_products);
    Ok(page.candidates)
}

/// One `products.json` page → its product count and the candidates matching `seed_words`. An
/// HTML answer (a password page, not a storefront) or a 404 says so in one line.
pub fn parse_feed_page(
    base: &str,
    status: u16,
    text: &str,
    currency: Currency,
    seed_words: &BTreeSet<String>,
) -> Result<FeedPage, VendorError> {
    if status == 404 {
        return Err(permanent(format!(
            "{base}: products.json not found (HTTP 404): not a Shopify storefront, or the feed is off"
        )));
    }
    if !(200..300).contains(&status) {
        return Err(permanent(format!(
            "{base}: HTTP {status}: {}",
            snippet(text)
        )));
    }
    if text.trim_start().starts_with('<') {
        return Err(permanent(format!(
            "{base}: products.json answered HTML, not JSON (a password page, or not a Shopify storefront)"
        )));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| permanent(format!("{base}: feed is not JSON ({e}): {}", snippet(text))))?;
    let products = v
        .get("products")
        .and_then(Value::as_array)
        .ok_or_else(|| permanent(format!("{base}: feed has no products list")))?;
    let mut out = Vec::new();
    for (i, p) in products.iter().enumerate() {
        let bad = |what: String| permanent(format!("{base}: products[{i}]: {what}"));
        let title = p
            .get("title")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no title".into()))?;
        if words(title).is_disjoint(seed_words) {
            continue;
        }
        let handle = p
            .get("handle")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no handle".into()))?;
        let variants = match p.get("variants") {
            None | Some(Value::Null) => &[][..],
            Some(Value::Array(v)) => v.as_slice(),
            Some(_) => return Err(bad("variants is not a list".into())),
        };
        let mut price: Option<Money> = None;
        let mut available = false;
        for (j, var) in variants.iter().enumerate() {
            let m = money(var.get("price").unwrap_or(&Value::Null), currency)
                .map_err(|e| bad(format!("variants[{j}]: {e}")))?;
            if let Some(m) = m {
                if price.is_none_or(|p| m.micros() < p.micros()) {
                    price = Some(m);
                }
            }
            available |= var.get("available").and_then(Value::as_bool) == Some(true);
        }
        let mut signals = BTreeMap::new();
        signals.insert("store".to_string(), Value::String(base.to_string()));
        for key in ["vendor", "product_type"] {
            if let Some(s) = p.get(key).and_then(Value::as_str) {
                if !s.is_empty() {
                    signals.insert(key.to_string(), Value::String(s.to_string()));
                }
            }
        }
        signals.insert("variants".to_string(), Value::from(variants.len()));
        signals.insert("available".to_string(), Value::Bool(available));
        out.push(RawCandidate {
            title: title.to_string(),
            lane: VENDOR.to_string(),
            source_url: Some(format!("{base}/products/{handle}")),
            price,
            unit_cost: None,
            search_volume: None,
            competition_bp: None,
            signals,
        });
    }
    Ok(FeedPage {
        products: products.len(),
        candidates: out,
    })
}

#[async_trait]
impl DiscoveryLane for CompetitorFeeds {
    fn name(&self) -> &'static str {
        VENDOR
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        Ok(self.discover_noting(seeds).await?.candidates)
    }

    async fn discover_noting(&self, seeds: &[String]) -> Result<LaneFindings, VendorError> {
        let seed_words = seed_words(seeds);
        let mut out = LaneFindings::default();
        let mut errors = Vec::new();
        let mut any_ok = false;
        for store in &self.stores {
            match self.store(store, &seed_words).await {
                Ok(read) => {
                    any_ok = true;
                    out.candidates.extend(read.candidates);
                    out.notes.extend(read.notes);
                }
                Err(e) => {
                    tracing::warn!(store = %store, error = %e, "competitor: store skipped");
                    out.notes.push(format!("store skipped: {e}"));
                    errors.push(e);
                }
            }
        }
        if any_ok || errors.is_empty() {
            return Ok(out);
        }
        let detail = format!(
            "every store failed: {}",
            errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        );
        if errors.iter().any(VendorError::is_retryable) {
            Err(VendorError::Transient {
                vendor: VENDOR,
                detail,
            })
        } else {
            Err(permanent(detail))
        }
    }
}
