//! Vendor ports (what Otto needs from a shop, an ad account and a helpdesk) and their adapters:
//! * `shopify` — Shopify Admin GraphQL API (cursor pagination, cost-based throttling);
//!   `shopify_orders` — store sales per SKU per store day from its orders; `shopify_bulk` —
//!   bulk query operations (start, poll, download the JSONL);
//! * `google_ads` — Google Ads REST API (`googleAds:searchStream`, `campaignBudgets:mutate`);
//! * `simulated` — an in-process shop + ad account over the synthetic store, for `otto demo`;
//! * `helpdesk` — the helpdesk port (support threads, reply drafts), its JSON-file adapter and the
//!   demo inbox; `gorgias` — the Gorgias REST adapter (tickets, messages, replies);
//! * `voice` — the brand-voice scorer port: offline word-bag cosine, or an OpenAI-compatible
//!   embeddings API;
//! * `lanes` — research discovery lanes and keyword volumes;
//! * `catalog` — what a catalog sync holds out or flags; `offers` — offer id ↔ variant mapping;
//! * `versions` — vendor API versions and their sunset dates;
//! * `no_access` — the vendors of a function given none (`OTTO_VENDORS=none`);
//! * `doctor` — read-only checks of every configured vendor (`otto doctor`);
//! * `env` — clients from the environment.

pub mod catalog;
pub mod doctor;
pub mod env;
pub mod google_ads;
pub mod gorgias;
pub mod helpdesk;
pub mod lanes;
pub mod no_access;
pub mod offers;
pub mod ports;
pub mod shopify;
pub mod shopify_bulk;
pub mod shopify_orders;
pub mod simulated;
pub mod versions;
pub mod voice;

pub use ports::{AdsAccount, ShopCatalog, VendorError};

/// The first 300 characters of a vendor's body, for error messages (never the whole body).
pub fn snippet(body: &str) -> String {
    let mut s: String = body.chars().take(300).collect();
    if body.chars().count() > 300 {
        s.push('…');
    }
    s
}
