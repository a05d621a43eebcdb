//! The `meta_ads` lane: ads running for a seed keyword, from Meta's Ad Library API.
//!
//! * Per seed: `GET {base}/{version}/ads_archive?search_terms=<seed>&ad_reached_countries=["NL"]
//!   &ad_type=ALL&fields=id,page_name,ad_creative_bodies,ad_creative_link_titles,
//!   ad_delivery_start_time,ad_snapshot_url&limit=50&access_token=…`. The answer is
//!   `{"data":[…], "paging":{"next": url}}`; at most [`MAX_PAGES`] pages are read per seed (the
//!   first plus one `next`). A `next` URL that does not start with the configured base URL is not
//!   followed (it would carry the access token elsewhere).
//! * One candidate per ad with a link title (title = the first non-empty
//!   `ad_creative_link_titles` entry; ads without one are skipped), `source_url` =
//!   `ad_snapshot_url` with its `access_token` parameter removed, signals `page_name`, `ad_delivery_start_time`, `seed`. Ads are deduped by
//!   lower-cased title across all seeds, keeping the first ad seen and the count in signal `ads`.
//! * Graph errors `{"error":{"message","type","code"}}`: codes 4, 17, 613 (rate limits) →
//!   `Transient`; any other code → `Permanent` with Meta's message. HTTP 429/5xx and timeouts are
//!   retried then `Transient`; a body that is not the documented shape → `Permanent`. Error
//!   details never include the request URL (it holds the token).

use super::dataforseo::{snippet, LaneHttp};
use super::{DiscoveryLane, RawCandidate};
use crate::ports::VendorError;
use async_trait::async_trait;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

const VENDOR: &str = "meta_ads";
/// Pages read per seed (first page + one `paging.next`).
pub const MAX_PAGES: usize = 2;
const FIELDS: &str = "id,page_name,ad_creative_bodies,ad_creative_link_titles,\
ad_delivery_start_time,ad_snapshot_url";
const RATE_LIMIT_CODES: [i64; 3] = [4, 17, 613];

pub struct MetaAdLibrary {
    /// `https://graph.facebook.com`.
    pub base_url: String,
    /// e.g. `v21.0`.
    pub api_version: String,
    pub access_token: String,
    /// ISO country codes for `ad_reached_countries`, e.g. `["NL"]`.
    pub countries: Vec<String>,
    http: LaneHttp,
}

impl fmt::Debug for MetaAdLibrary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaAdLibrary")
            .field("base_url", &self.base_url)
            .field("api_version", &self.api_version)
            .field("access_token", &"<redacted>")
            .field("countries", &self.countries)
            .finish()
    }
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

/// Maps a Graph answer to its JSON, or to the error it carries.
/// The response parser, public for fuzzing: a Graph API answer (HTTP status + body text) → its
/// JSON; a Graph `error` object → `Transient` for rate-limit codes 4, 17, 613, else `Permanent`.
pub fn parse_graph_answer(status: u16, text: &str) -> Result<Value, VendorError> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        permanent(format!(
            "HTTP {status}: response is not JSON ({e}): {}",
            snippet(text)
        ))
    })?;
    if let Some(err) = v.get("error") {
        let code = err.get("code").and_then(Value::as_i64);
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        let kind = err.get("type").and_then(Value::as_str).unwrap_or("");
        let detail = format!(
            "HTTP {status}: Graph error {} ({kind}): {message}",
            code.map_or("?".to_string(), |c| c.to_string())
        );
        return Err(match code {
            Some(c) if RATE_LIMIT_CODES.contains(&c) => VendorError::Transient {
                vendor: VENDOR,
                detail,
            },
            _ => permanent(detail),
        });
    }
    if !(200..300).contains(&status) {
        return Err(permanent(format!("HTTP {status}: {}", snippet(text))));
    }
    Ok(v)
}

/// `ad_snapshot_url` carries the caller's `access_token`; it is removed before the URL is stored.
/// An ad snapshot URL without its `access_token` query parameter. A malformed URL can carry the
/// token before (or without) a `?`, or after a second `?`: that is dropped as well (found by
/// fuzzing: fuzz/artifacts-found/vendor_responses/). The token's value runs to the next `&`.
pub fn strip_token(url: &str) -> String {
    // One `&`-separated piece without the token: dropped if it is the token, cut before a
    // `?access_token=` inside it.
    let clean = |p: &str| -> Option<String> {
        if p.starts_with("access_token=") {
            return None;
        }
        Some(match p.find("?access_token=") {
            Some(i) => p[..i].to_string(),
            None => p.to_string(),
        })
    };
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url, None),
    };
    let path = path
        .split('&')
        .filter_map(clean)
        .collect::<Vec<_>>()
        .join("&");
    let Some(query) = query else {
        return path;
    };
    let kept: Vec<String> = query
        .split('&')
        .filter_map(clean)
        .filter(|p| !p.is_empty())
        .collect();
    if kept.is_empty() {
        path
    } else {
        format!("{path}?{}", kept.join("&"))
    }
}

impl MetaAdLibrary {
    pub fn new(
        base_url: impl Into<String>,
        api_version: impl Into<String>,
        access_token: impl Into<String>,
        countries: Vec<String>,
    ) -> Self {
        MetaAdLibrary {
            base_url: base_url.into(),
            api_version: api_version.into(),
            access_token: access_token.into(),
            countries,
            http: LaneHttp::new(),
        }
    }

    /// Replaces the retrying HTTP helper (tests use tiny backoffs).
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }

    /// Every ad (raw JSON) for one seed, over at most [`MAX_PAGES`] pages.
    async fn ads_for(&self, seed: &str) -> Result<Vec<Value>, VendorError> {
        let base = self.base_url.trim_end_matches('/');
        let url = format!("{base}/{}/ads_archive", self.api_version);
        let countries = serde_json::to_string(&self.countries)
            .map_err(|e| permanent(format!("encoding countries: {e}")))?;
        let (status, text) = self
            .http
            .send(VENDOR, "ads_archive", |c| {
                c.get(&url).query(&[
                    ("search_terms", seed),
                    ("ad_reached_countries", countries.as_str()),
                    ("ad_type", "ALL"),
                    ("fields", FIELDS),
                    ("limit", "50"),
                    ("access_token", self.access_token.as_str()),
                ])
            })
            .await?;
        let mut page = parse_graph_answer(status, &text)?;
        let mut ads = Vec::new();
        for n in 1..=MAX_PAGES {
            let (data, next) = parse_ads_page(seed, n, &page)?;
            ads.extend(data);
            if n == MAX_PAGES {
                break;
            }
            let Some(next) = next else {
                break;
            };
            if !next.starts_with(&format!("{base}/")) {
                tracing::warn!(
                    seed,
                    "meta_ads: paging.next leaves the Graph host; not followed"
                );
                break;
            }
            let (status, text) = self
                .http
                .send(VENDOR, "ads_archive (next page)", |c| c.get(&next))
                .await?;
            page = parse_graph_answer(status, &text)?;
        }
        Ok(ads)
    }
}

/// The response parser, public for fuzzing: page `n` of a seed's `ads_archive` listing (the JSON
/// of [`parse_graph_answer`]) → (`data`, `paging.next`).
pub fn parse_ads_page(
    seed: &str,
    n: usize,
    page: &Value,
) -> Result<(Vec<Value>, Option<String>), VendorError> {
    let data = page
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| permanent(format!("seed {seed:?}: page {n} has no data list")))?;
    let next = page
        .get("paging")
        .and_then(|p| p.get("next"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Ok((data.clone(), next))
}

/// The ads of all seeds → candidates, deduped by lower-cased link title ([`AdCandidates::add`]).
#[derive(Debug, Default)]
pub struct AdCandidates {
    out: Vec<RawCandidate>,
    index: BTreeMap<String, usize>,
}

impl AdCandidates {
    /// The response parser, public for fuzzing: one candidate per ad with a link title, the
    /// first ad of a title kept and later ones counted in its `ads` signal.
    pub fn add(&mut self, seed: &str, ads: &[Value]) {
        let (out, index) = (&mut self.out, &mut self.index);
        for ad in ads {
            let Some(title) = ad
                .get("ad_creative_link_titles")
                .and_then(Value::as_array)
                .and_then(|t| t.first())
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|t| !t.is_empty())
            else {
                continue;
            };
            let key = title.to_lowercase();
            if let Some(&i) = index.get(&key) {
                let ads = out[i]
                    .signals
                    .get("ads")
                    .and_then(Value::as_u64)
                    .unwrap_or(1);
                out[i]
                    .signals
                    .insert("ads".to_string(), Value::from(ads + 1));
                continue;
            }
            let mut signals = BTreeMap::new();
            for field in ["page_name", "ad_delivery_start_time"] {
                if let Some(s) = ad.get(field).and_then(Value::as_str) {
                    signals.insert(field.to_string(), Value::String(s.to_string()));
                }
            }
            signals.insert("seed".to_string(), Value::String(seed.to_string()));
            signals.insert("ads".to_string(), Value::from(1u64));
            index.insert(key, out.len());
            out.push(RawCandidate {
                title: title.to_string(),
                lane: VENDOR.to_string(),
                source_url: ad
                    .get("ad_snapshot_url")
                    .and_then(Value::as_str)
                    .map(strip_token),
                price: None,
                unit_cost: None,
                search_volume: None,
                competition_bp: None,
                signals,
            });
        }
    }

    /// The candidates, in the order first seen.
    pub fn finish(self) -> Vec<RawCandidate> {
        self.out
    }
}

#[async_trait]
impl DiscoveryLane for MetaAdLibrary {
    fn name(&self) -> &'static str {
        VENDOR
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        let mut found = AdCandidates::default();
        for seed in seeds {
            let ads = self.ads_for(seed).await?;
            found.add(seed, &ads);
        }
        Ok(found.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fuzz finding (vendor_responses): a snapshot URL with the token but no `?` kept the token.
    #[test]
    fn the_token_is_stripped_even_from_a_malformed_url() {
        assert_eq!(
            strip_token("https://www.facebook.com/ads/archive/render_ad/?id=1&access_token=T"),
            "https://www.facebook.com/ads/archive/render_ad/?id=1"
        );
        assert_eq!(
            strip_token("https://x/render_ad/?access_token=T"),
            "https://x/render_ad/"
        );
        assert_eq!(strip_token("httpid=3&access_token=TOKEN123"), "httpid=3");
        assert_eq!(strip_token("access_token=T"), "");
        assert_eq!(
            strip_token("https://x/a&b?c=1&&d=2"),
            "https://x/a&b?c=1&d=2"
        );
        assert_eq!(strip_token("https://x/a&&b"), "https://x/a&&b");
        assert_eq!(strip_token("https://x/a?a=1?b=2"), "https://x/a?a=1?b=2");
        // Second finding: the token after a second `?`.
        assert_eq!(
            strip_token("https://x/render_ad/?id=2&x??access_token=T&id=4"),
            "https://x/render_ad/?id=2&x?&id=4"
        );
        assert_eq!(
            strip_token("https://x/?a=1?access_token=T"),
            "https://x/?a=1"
        );
        let mut found = AdCandidates::default();
        let ad = serde_json::json!({
            "ad_creative_link_titles": ["Linen"],
            "ad_snapshot_url": "httpid=3&access_token=TOKEN123",
        });
        found.add("linen", &[ad]);
        let got = found.finish();
        assert_eq!(got[0].source_url.as_deref(), Some("httpid=3"));
    }
}
