//! `otto doctor`: checks every configured vendor with read-only calls and says, one line per
//! problem, what is wrong and how to fix it. A blocker (Otto cannot run correctly) makes the
//! command exit non-zero; a warning does not. The checks live here so the API or the dashboard
//! can show the same findings.
//!
//! | check | read | blocker when | warning when |
//! |---|---|---|---|
//! | `versions` | none ([`crate::versions`]) | a configured version is past its sunset | within 60 days of it, or unknown |
//! | `configuration` | none ([`crate::env`]) | the vendor variables do not build clients | — |
//! | `shopify` | `shop`, `currentAppInstallation.accessScopes` | the credentials are refused; a scope Otto needs is missing (`write_publications`: ACTIVE products published on the Online Store) | — |
//! | `google_ads` | `SELECT customer.… FROM customer` | the credentials are refused (e.g. an expired token) | — |
//! | `currency` | both | the shop's or the ad account's currency is not `OTTO_CURRENCY` | — |
//! | `time_zone` | both | — | the shop's or the ad account's time zone is not `OTTO_STORE_TZ` |
//! | `offer_mapping` | the catalog + last 7 days of `shopping_performance_view` | under half the offers map to a variant | some do not |
//!
//! No check writes anything; every vendor call is a read the ports already make or a
//! single-row settings read.

use crate::env::clients_from_lookup_on;
use crate::google_ads::GoogleAdsClient;
use crate::offers::{OfferIdForm, OfferMapping};
use crate::ports::{AdsAccount, ShopCatalog};
use crate::shopify::ShopifyClient;
use crate::versions::{self, Vendor};
use chrono::NaiveDate;
use otto_core::{Currency, StoreClock, StoreDay};
use serde::Serialize;
use std::collections::BTreeSet;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Otto cannot run correctly until it is fixed: `otto doctor` exits non-zero.
    Blocker,
    Warning,
    /// The check passed (kept so `--json` shows what was checked).
    Ok,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: &'static str,
    pub severity: Severity,
    pub message: String,
    /// What to do about it (empty when it passed).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Finding {
    fn new(check: &'static str, severity: Severity, message: String, fix: String) -> Self {
        Finding {
            check,
            severity,
            message,
            fix,
        }
    }
    fn ok(check: &'static str, message: String) -> Self {
        Finding::new(check, Severity::Ok, message, String::new())
    }
}

/// Every finding, in check order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    pub findings: Vec<Finding>,
}

impl DoctorReport {
    pub fn blockers(&self) -> usize {
        self.count(Severity::Blocker)
    }
    pub fn warnings(&self) -> usize {
        self.count(Severity::Warning)
    }
    fn count(&self, s: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == s).count()
    }
    /// The problems, one line each: `BLOCKER check: message — fix: …`.
    pub fn lines(&self) -> Vec<String> {
        self.findings
            .iter()
            .filter(|f| f.severity != Severity::Ok)
            .map(|f| {
                let tag = match f.severity {
                    Severity::Blocker => "BLOCKER",
                    _ => "warning",
                };
                format!("{tag} {}: {} — fix: {}", f.check, f.message, f.fix)
            })
            .collect()
    }
}

/// What the deployment says the store is.
#[derive(Debug, Clone)]
pub struct Expected {
    pub currency: Currency,
    pub clock: StoreClock,
    pub mapping: OfferMapping,
    /// The store's today: versions are judged on it, offers over the 7 days before it.
    pub today: NaiveDate,
}

/// Access scopes Otto needs (a `write_` scope grants its `read_`): the catalog and prices
/// (`products`), unit costs (`inventory`), store sales (`orders`), and publishing a product it
/// sets ACTIVE on the Online Store (`publications`) —
/// <https://shopify.dev/docs/api/usage/access-scopes>,
/// <https://shopify.dev/docs/apps/build/sales-channels/product-publishing>.
pub const NEEDED_SCOPES: [(&str, &str); 4] = [
    ("products", "write_products"),
    ("inventory", "read_inventory"),
    ("orders", "read_orders"),
    ("publications", "write_publications"),
];

/// Days of ad data the offer-mapping coverage is judged on.
pub const COVERAGE_DAYS: i64 = 7;

/// The whole check from the environment: versions, configuration, then the vendors' reads.
pub async fn run(
    get: impl Fn(&str) -> Option<String>,
    clock: StoreClock,
    today: NaiveDate,
) -> DoctorReport {
    let mut report = DoctorReport {
        findings: check_versions(&get, today),
    };
    let version_blocked = report.blockers() > 0;
    let currency = get("OTTO_CURRENCY")
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "EUR".into());
    let currency = match Currency::new(&currency) {
        Ok(c) => c,
        Err(e) => {
            report.findings.push(Finding::new(
                "configuration",
                Severity::Blocker,
                format!("OTTO_CURRENCY: {e}"),
                "set OTTO_CURRENCY to the shop's ISO 4217 currency code, e.g. EUR".into(),
            ));
            return report;
        }
    };
    let mapping = match OfferMapping::from_lookup(&get) {
        Ok(m) => m,
        Err(e) => {
            report.findings.push(Finding::new(
                "configuration",
                Severity::Blocker,
                e,
                "see docs/VENDOR-VERSIONS.md and shared/connectors/src/offers.rs".into(),
            ));
            return report;
        }
    };
    match clients_from_lookup_on(&get, clock, today) {
        Ok(Some((shop, ads))) => {
            let expected = Expected {
                currency,
                clock,
                mapping,
                today,
            };
            report
                .findings
                .extend(check_vendors(&shop, &ads, &expected).await);
        }
        Ok(None) => report.findings.push(Finding::new(
            "configuration",
            Severity::Blocker,
            "no vendor is configured: nothing to check".into(),
            "set SHOPIFY_SHOP_URL, SHOPIFY_ACCESS_TOKEN, GOOGLE_ADS_CUSTOMER_ID, \
             GOOGLE_ADS_DEVELOPER_TOKEN and GOOGLE_ADS_REFRESH_TOKEN + GOOGLE_ADS_CLIENT_ID + \
             GOOGLE_ADS_CLIENT_SECRET (README: Status, Vendors)"
                .into(),
        )),
        // A sunset version is already a blocker above: not said twice.
        Err(_) if version_blocked => {}
        Err(e) => report.findings.push(Finding::new(
            "configuration",
            Severity::Blocker,
            e.trim_start_matches("configuration: ").to_string(),
            "set the variable it names (template.yaml parameters in AWS)".into(),
        )),
    }
    report
}

/// Each configured API version against its sunset on `today` (Meta only when its lane is on).
pub fn check_versions(get: &impl Fn(&str) -> Option<String>, today: NaiveDate) -> Vec<Finding> {
    let set = |k: &str| {
        get(k)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let mut out = Vec::new();
    for vendor in [Vendor::Shopify, Vendor::GoogleAds, Vendor::MetaGraph] {
        if vendor == Vendor::MetaGraph && set("META_ACCESS_TOKEN").is_none() {
            continue;
        }
        let version = set(vendor.env_var()).unwrap_or_else(|| vendor.default_version().into());
        out.push(match versions::notice(vendor, &version, today) {
            None => Finding::ok("versions", format!("{vendor} {version} is supported")),
            Some(n) => Finding::new(
                "versions",
                if n.blocker {
                    Severity::Blocker
                } else {
                    Severity::Warning
                },
                n.message,
                format!(
                    "set {}={} (docs/VENDOR-VERSIONS.md: moving to a new version)",
                    vendor.env_var(),
                    vendor.default_version()
                ),
            ),
        });
    }
    out
}

/// The vendor reads: credentials and scopes, currencies, time zones, offer-id coverage.
pub async fn check_vendors(
    shop: &ShopifyClient,
    ads: &GoogleAdsClient,
    expected: &Expected,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let tz = expected.clock.tz_name();
    let want = expected.currency.code().to_string();
    let shop_ok = match shop.shop_info().await {
        Err(e) => {
            out.push(Finding::new(
                "shopify",
                Severity::Blocker,
                format!("credentials refused or shop unreachable: {e}"),
                "check SHOPIFY_SHOP_URL (https://{shop}.myshopify.com) and the Admin API access \
                 token (SHOPIFY_ACCESS_TOKEN / ShopifyAccessTokenParam)"
                    .into(),
            ));
            false
        }
        Ok(info) => {
            let granted: BTreeSet<&str> = info.scopes.iter().map(String::as_str).collect();
            let missing: Vec<&str> = NEEDED_SCOPES
                .iter()
                .filter(|(what, scope)| {
                    !granted.contains(scope) && !granted.contains(format!("write_{what}").as_str())
                })
                .map(|(_, scope)| *scope)
                .collect();
            if missing.is_empty() {
                out.push(Finding::ok(
                    "shopify",
                    format!("{} answers; scopes granted", info.name),
                ));
            } else {
                out.push(Finding::new(
                    "shopify",
                    Severity::Blocker,
                    format!("the app lacks the access scopes {}", missing.join(", ")),
                    "add them to the app's Admin API scopes and reinstall it on the shop".into(),
                ));
            }
            out.push(if info.currency == want {
                Finding::ok("currency", format!("the shop sells in {want}"))
            } else {
                Finding::new(
                    "currency",
                    Severity::Blocker,
                    format!(
                        "the shop's currency is {}, OTTO_CURRENCY is {want}",
                        info.currency
                    ),
                    format!(
                        "set OTTO_CURRENCY={} (StoreCurrency in template.yaml)",
                        info.currency
                    ),
                )
            });
            out.push(if info.time_zone == tz {
                Finding::ok("time_zone", format!("the shop's time zone is {tz}"))
            } else {
                Finding::new(
                    "time_zone",
                    Severity::Warning,
                    format!(
                        "the shop's time zone is {}, Otto's schedules and store days use {tz}",
                        info.time_zone
                    ),
                    format!(
                        "set OTTO_STORE_TZ={} (StoreTimeZone in template.yaml)",
                        info.time_zone
                    ),
                )
            });
            true
        }
    };
    let ads_ok = match ads.account_info().await {
        Err(e) => {
            out.push(Finding::new(
                "google_ads",
                Severity::Blocker,
                format!("credentials refused or account unreachable: {e}"),
                "renew the OAuth refresh token (GOOGLE_ADS_REFRESH_TOKEN with its client id and \
                 secret), check GOOGLE_ADS_CUSTOMER_ID, GOOGLE_ADS_LOGIN_CUSTOMER_ID (manager) \
                 and the developer token"
                    .into(),
            ));
            false
        }
        Ok(acct) => {
            out.push(Finding::ok(
                "google_ads",
                format!("account {} answers", acct.customer_id),
            ));
            out.push(if acct.currency == want {
                Finding::ok("currency", format!("the ad account pays in {want}"))
            } else {
                Finding::new(
                    "currency",
                    Severity::Blocker,
                    format!(
                        "the ad account's currency is {}, the shop's (OTTO_CURRENCY) is {want}: \
                         cost and revenue cannot be compared",
                        acct.currency
                    ),
                    "connect an ad account in the shop's currency (a Google Ads account's \
                     currency cannot be changed)"
                        .into(),
                )
            });
            if acct.time_zone != tz {
                out.push(Finding::new(
                    "time_zone",
                    Severity::Warning,
                    format!(
                        "the ad account reports days in {}, the store's days are in {tz}",
                        acct.time_zone
                    ),
                    "use an ad account in the store's time zone, or read per-day figures \
                     knowing they are cut at another midnight"
                        .into(),
                ));
            }
            true
        }
    };
    if shop_ok && ads_ok {
        out.push(offer_coverage(shop, ads, expected).await);
    }
    out
}

/// The share of the last [`COVERAGE_DAYS`] days' offers that map to a variant.
async fn offer_coverage(
    shop: &ShopifyClient,
    ads: &GoogleAdsClient,
    expected: &Expected,
) -> Finding {
    // The catalog read fills the index the ad client maps offers with.
    if let Err(e) = shop.fetch_catalog().await {
        return Finding::new(
            "offer_mapping",
            Severity::Blocker,
            format!("the catalog could not be read: {e}"),
            "see the shopify finding".into(),
        );
    }
    let today = StoreDay::new(expected.today);
    let (from, to) = (today.plus_days(-COVERAGE_DAYS), today.plus_days(-1));
    let report = match ads.sku_performance_report(from, to).await {
        Ok(r) => r,
        Err(e) => {
            return Finding::new(
                "offer_mapping",
                Severity::Blocker,
                format!("the Shopping report could not be read: {e}"),
                "see the google_ads finding".into(),
            )
        }
    };
    let mapped: BTreeSet<&str> = report.metrics.iter().map(|m| m.sku.as_str()).collect();
    let unmapped: BTreeSet<&str> = report
        .unmapped
        .iter()
        .map(|u| u.offer_id.as_str())
        .collect();
    let total = mapped.len() + unmapped.len();
    if total == 0 {
        return Finding::ok(
            "offer_mapping",
            format!("no Shopping offers with data from {from} to {to}"),
        );
    }
    if unmapped.is_empty() {
        return Finding::ok(
            "offer_mapping",
            format!("all {total} offers from {from} to {to} map to a variant"),
        );
    }
    let pct = mapped.len() * 100 / total;
    let first: Vec<&str> = unmapped.iter().take(5).copied().collect();
    let looks_shopify = unmapped.iter().any(|o| o.starts_with("shopify_"));
    let fix = match expected.mapping.form {
        OfferIdForm::ShopifyChannel => {
            "the ids look like another feed's: check OTTO_OFFER_ID_FORM, or sync the catalog (a \
             variant deleted since?)"
                .to_string()
        }
        _ if looks_shopify => {
            "the offer ids are the Shopify channel's: set OTTO_OFFER_ID_FORM=shopify (OfferIdForm)"
                .to_string()
        }
        _ => {
            "set OTTO_OFFER_ID_FORM to how the feed forms offer ids (sku, shopify, or custom_label \
              with OTTO_OFFER_ID_LABEL), or give the variants the SKUs the feed uses"
                .to_string()
        }
    };
    Finding::new(
        "offer_mapping",
        if pct < 50 {
            Severity::Blocker
        } else {
            Severity::Warning
        },
        format!(
            "{} of {total} offers ({pct}%) from {from} to {to} map to a variant; unmapped: {}{}",
            mapped.len(),
            first.join(", "),
            if unmapped.len() > 5 { ", …" } else { "" }
        ),
        fix,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn versions_are_judged_on_today_and_meta_only_with_its_lane() {
        let get = |k: &str| match k {
            "GOOGLE_ADS_API_VERSION" => Some("v21".to_string()),
            _ => None,
        };
        let f = check_versions(&get, d("2026-12-01"));
        assert_eq!(f.len(), 2, "{f:?}");
        assert_eq!(f[0].severity, Severity::Ok);
        assert_eq!(f[1].severity, Severity::Blocker);
        assert!(
            f[1].fix.contains("GOOGLE_ADS_API_VERSION=v26"),
            "{}",
            f[1].fix
        );
        let meta = |k: &str| match k {
            "META_ACCESS_TOKEN" => Some("t".to_string()),
            "META_API_VERSION" => Some("v21.0".to_string()),
            _ => None,
        };
        let f = check_versions(&meta, d("2026-12-01"));
        assert_eq!(f.len(), 3);
        assert_eq!(f[2].severity, Severity::Warning);
    }

    #[test]
    fn lines_say_the_problem_and_the_fix() {
        let r = DoctorReport {
            findings: vec![
                Finding::ok("versions", "fine".into()),
                Finding::new("currency", Severity::Blocker, "x".into(), "y".into()),
            ],
        };
        assert_eq!(r.lines(), vec!["BLOCKER currency: x — fix: y".to_string()]);
        assert_eq!((r.blockers(), r.warnings()), (1, 0));
    }
}
