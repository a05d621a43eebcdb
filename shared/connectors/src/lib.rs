//! Vendor ports (what Otto needs from a shop and an ad account) and their adapters:
//! * `shopify` — Shopify Admin GraphQL API (cursor pagination, cost-based throttling);
//! * `google_ads` — Google Ads REST API (`googleAds:searchStream`, `campaignBudgets:mutate`);
//! * `simulated` — an in-process shop + ad account over the synthetic store, for `otto demo`.

pub mod env;
pub mod google_ads;
pub mod helpdesk;
pub mod lanes;
pub mod ports;
pub mod shopify;
pub mod simulated;

pub use ports::{AdsAccount, ShopCatalog, VendorError};

/// The first 300 characters of a vendor's body, for error messages (never the whole body).
pub fn snippet(body: &str) -> String {
    let mut s: String = body.chars().take(300).collect();
    if body.chars().count() > 300 {
        s.push('…');
    }
    s
}
