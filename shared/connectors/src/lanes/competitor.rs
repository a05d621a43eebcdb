//! The `competitor` lane: products from competitors' public Shopify storefront feeds.
//!
//! * `GET {store}/products.json?limit=250` (first page only; Shopify's public feed, no auth):
//!   `{"products":[{"id","title","handle","vendor","product_type","tags",
//!   "variants":[{"price":"59.90","compare_at_price":null,"available":true}]}]}`.
//! * One candidate per product whose title shares a word (case-insensitive, words of ≥ 3
//!   letters/digits, so "a"/"of" never match) with a seed keyword: title, `price` = the lowest
//!   variant price parsed exactly in the configured currency (a JSON-number price goes through its
//!   decimal text), `source_url` = `{store}/products/{handle}`, signals `store`, `vendor`,
//!   `product_type`, `variants`, `available` (any variant available). At most `max_products`
//!   candidates **per store**, in feed order.
//! * A store that fails (after retries, or with a malformed feed) is skipped with a warning; the
//!   lane fails only when every store failed (`Transient` if any of them failed transiently).

use super::dataforseo::{snippet, LaneHttp};
use super::{DiscoveryLane, RawCandidate};
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
    http: LaneHttp,
}

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

impl CompetitorFeeds {
    pub fn new(stores: Vec<String>, currency: Currency, max_products: usize) -> Self {
        CompetitorFeeds {
            stores,
            currency,
            max_products,
            http: LaneHttp::new(),
        }
    }

    /// Replaces the retrying HTTP helper (tests use tiny backoffs).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    async fn store(
        &self,
        base: &str,
        seed_words: &BTreeSet<String>,
    ) -> Result<Vec<RawCandidate>, VendorError> {
        let base = base.trim_end_matches('/');
        let url = format!("{base}/products.json?limit=250");
        let (status, text) = self.http.send(VENDOR, base, |c| c.get(&url)).await?;
        parse_products_json(
            base,
            status,
            &text,
            self.currency,
            seed_words,
            self.max_products,
        )
    }
}

/// The words a seed list is matched by (alphanumeric runs of 3+ characters, lower-cased).
pub fn seed_words(seeds: &[String]) -> BTreeSet<String> {
    seeds.iter().flat_map(|s| words(s)).collect()
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
    if !(200..300).contains(&status) {
        return Err(permanent(format!(
            "{base}: HTTP {status}: {}",
            snippet(text)
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
        if out.len() >= max_products {
            break;
        }
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
    Ok(out)
}

#[async_trait]
impl DiscoveryLane for CompetitorFeeds {
    fn name(&self) -> &'static str {
        VENDOR
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        let seed_words = seed_words(seeds);
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let mut any_ok = false;
        for store in &self.stores {
            match self.store(store, &seed_words).await {
                Ok(found) => {
                    any_ok = true;
                    out.extend(found);
                }
                Err(e) => {
                    tracing::warn!(store = %store, error = %e, "competitor: store skipped");
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
