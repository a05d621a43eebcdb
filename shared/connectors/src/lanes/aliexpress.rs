//! The `aliexpress` lane: `aliexpress.affiliate.product.query` on the AliExpress open platform
//! "sync" endpoint (`https://api-sg.aliexpress.com/sync`), one query per seed keyword.
//!
//! Signing (`sign_method=sha256`): every parameter but `sign`, sorted by key, concatenated as
//! `key1value1key2value2…`; `sign` = upper-case hex HMAC-SHA256 of that string keyed with the app
//! secret. The supplier price (`target_sale_price`, in `target_currency`) becomes the candidate's
//! unit cost; `lastest_volume` (sic) and `evaluate_rate` are kept as signals.

use super::dataforseo::{snippet, LaneHttp};
use super::{DiscoveryLane, RawCandidate};
use crate::ports::VendorError;
use async_trait::async_trait;
use hmac::{Hmac, Mac};
use otto_core::money::{Currency, Money};
use serde_json::Value;
use sha2::Sha256;
use std::collections::BTreeMap;

const VENDOR: &str = "aliexpress";

pub struct AliExpressAffiliate {
    base_url: String,
    app_key: String,
    app_secret: String,
    tracking_id: String,
    currency: Currency,
    http: LaneHttp,
    /// Milliseconds since the epoch; tests pin it.
    clock: fn() -> i64,
}

fn now_ms() -> i64 {
    otto_core::clock::now().timestamp_millis()
}

/// The AliExpress "sync" signature of a parameter set.
pub fn sign(params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut text = String::new();
    for (k, v) in params.iter().filter(|(k, _)| k.as_str() != "sign") {
        text.push_str(k);
        text.push_str(v);
    }
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(text.as_bytes());
    hex::encode_upper(mac.finalize().into_bytes())
}

impl AliExpressAffiliate {
    pub fn new(
        base_url: String,
        app_key: String,
        app_secret: String,
        tracking_id: String,
        currency: Currency,
    ) -> Self {
        AliExpressAffiliate {
            base_url,
            app_key,
            app_secret,
            tracking_id,
            currency,
            http: LaneHttp::new(),
            clock: now_ms,
        }
    }
    pub fn with_http(mut self, http: LaneHttp) -> Self {
        self.http = http;
        self
    }
    pub fn with_clock(mut self, clock: fn() -> i64) -> Self {
        self.clock = clock;
        self
    }

    fn params(&self, keyword: &str) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = [
            ("app_key", self.app_key.clone()),
            ("method", "aliexpress.affiliate.product.query".to_string()),
            ("sign_method", "sha256".to_string()),
            ("timestamp", (self.clock)().to_string()),
            ("keywords", keyword.to_string()),
            ("target_currency", self.currency.code().to_string()),
            ("page_size", "20".to_string()),
            ("tracking_id", self.tracking_id.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let s = sign(&p, &self.app_secret);
        p.insert("sign".into(), s);
        p
    }

    fn permanent(detail: impl Into<String>) -> VendorError {
        VendorError::Permanent {
            vendor: VENDOR,
            detail: detail.into(),
        }
    }
}

/// The response parser, public for fuzzing: an `aliexpress.affiliate.product.query` answer (HTTP
/// status + body text) for `seed` → one candidate per product, its `target_sale_price` as the
/// unit cost in `currency`.
pub fn parse_products(
    seed: &str,
    status: u16,
    body: &str,
    currency: Currency,
) -> Result<Vec<RawCandidate>, VendorError> {
    if !(200..300).contains(&status) {
        return Err(AliExpressAffiliate::permanent(format!(
            "HTTP {status}: {}",
            snippet(body)
        )));
    }
    let v: Value = serde_json::from_str(body).map_err(|e| {
        AliExpressAffiliate::permanent(format!("response is not JSON ({e}): {}", snippet(body)))
    })?;
    if let Some(err) = v.get("error_response") {
        return Err(AliExpressAffiliate::permanent(format!(
            "{}: {}",
            err["code"],
            err["msg"].as_str().unwrap_or("")
        )));
    }
    let resp = &v["aliexpress_affiliate_product_query_response"]["resp_result"];
    let code = resp["resp_code"]
        .as_i64()
        .ok_or_else(|| AliExpressAffiliate::permanent("response lacks resp_result.resp_code"))?;
    if code != 200 {
        return Err(AliExpressAffiliate::permanent(format!(
            "resp_code {code}: {}",
            resp["resp_msg"].as_str().unwrap_or("")
        )));
    }
    let products = resp["result"]["products"]["product"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    products
        .iter()
        .map(|p| {
            let title = p["product_title"]
                .as_str()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| AliExpressAffiliate::permanent("a product lacks product_title"))?;
            let price_text = match &p["target_sale_price"] {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                _ => {
                    return Err(AliExpressAffiliate::permanent(format!(
                        "{title:?} lacks target_sale_price"
                    )))
                }
            };
            let cost = Money::parse(&price_text, currency)
                .map_err(|e| AliExpressAffiliate::permanent(format!("{title:?}: {e}")))?;
            let mut signals = BTreeMap::new();
            signals.insert("seed".into(), Value::String(seed.to_string()));
            if let Some(orders) = p.get("lastest_volume") {
                signals.insert("orders".into(), orders.clone());
            }
            if let Some(rating) = p.get("evaluate_rate") {
                signals.insert("rating".into(), rating.clone());
            }
            Ok(RawCandidate {
                title: title.to_string(),
                lane: VENDOR.into(),
                source_url: p["product_detail_url"].as_str().map(str::to_string),
                price: None,
                unit_cost: Some(cost),
                search_volume: None,
                competition_bp: None,
                signals,
            })
        })
        .collect()
}

#[async_trait]
impl DiscoveryLane for AliExpressAffiliate {
    fn name(&self) -> &'static str {
        VENDOR
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        let mut out = Vec::new();
        for seed in seeds {
            let params = self.params(seed);
            let (status, body) = self
                .http
                .send(VENDOR, "product.query", |c| {
                    c.get(&self.base_url).query(&params)
                })
                .await?;
            out.extend(parse_products(seed, status, &body, self.currency)?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_of_sorted_pairs() {
        let p: BTreeMap<String, String> = [("b", "2"), ("a", "1"), ("sign", "ignored")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // HMAC-SHA256("secret", "a1b2"), upper-case hex.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"secret").unwrap();
        mac.update(b"a1b2");
        assert_eq!(
            sign(&p, "secret"),
            hex::encode_upper(mac.finalize().into_bytes())
        );
        assert_eq!(sign(&p, "secret").len(), 64);
    }

    #[test]
    fn products_become_supplier_costs() {
        let lane = AliExpressAffiliate::new(
            "http://x".into(),
            "k".into(),
            "s".into(),
            "t".into(),
            Currency::EUR,
        );
        let body = r#"{"aliexpress_affiliate_product_query_response":{"resp_result":{"resp_code":200,"resp_msg":"Call succeeds",
            "result":{"products":{"product":[{"product_title":"Waffle Linen Throw","target_sale_price":"14.37",
            "product_detail_url":"https://www.aliexpress.com/item/1.html","lastest_volume":1520,"evaluate_rate":"96.4%"}]}}}}}"#;
        let got = parse_products("linen throw", 200, body, lane.currency).unwrap();
        assert_eq!(got[0].unit_cost.unwrap().amount_string(), "14.37");
        assert_eq!(got[0].signals["orders"], 1520);
        let refused = r#"{"aliexpress_affiliate_product_query_response":{"resp_result":{"resp_code":405,"resp_msg":"The number of calls exceeds the limit"}}}"#;
        assert!(parse_products("x", 200, refused, lane.currency)
            .unwrap_err()
            .to_string()
            .contains("405"));
        let err = r#"{"error_response":{"code":"IncompleteSignature","msg":"The request signature does not conform to platform standards"}}"#;
        assert!(parse_products("x", 200, err, lane.currency)
            .unwrap_err()
            .to_string()
            .contains("IncompleteSignature"));
        assert!(parse_products("x", 200, "<html>", lane.currency).is_err());
    }
}
