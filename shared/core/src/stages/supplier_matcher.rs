//! supplier_matcher: who supplies a research candidate, at what price, and what the market asks —
//! cross-referenced through DataForSEO (Google Shopping offers for the candidate's title) and the
//! supplier costs the discovery lanes saw (the AliExpress lane's affiliate price, a spy tool's cost
//! column). Pure: the offers come in as an [`OfferLookup`], the evidence goes out as a
//! [`SupplierMatch`] stored on the candidate's row, so an answer can cite which offers, which
//! prices and which source priced the landed cost.
//!
//! * An offer **matches** when its title holds at least `min_title_overlap_bp` of the candidate's
//!   words (the same normalised words as the candidate key).
//! * A matched offer is a **supplier** offer when its seller names one of `supplier_sellers`
//!   (AliExpress, Alibaba, …, case-insensitive substring); every other matched offer is a
//!   **retail** offer: market-price evidence.
//! * Only offers in the store currency price anything; others stay in the evidence with why not.
//! * The supplier cost is the cheapest of the supplier offers and the lanes' unit costs, and says
//!   which one it was ([`PriceSource`]). No supplier price → `supplier_cost: None` (the score says
//!   "supplier cost" is missing); nothing is guessed from a retail price.
//! * DataForSEO not configured, or failing for this candidate, is said in `status` + `reason`; the
//!   lanes' costs still price it, and `supplier_cost.source` says so.

use super::research::words;
use crate::money::{Currency, Money};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An offer as DataForSEO's Google Shopping products answer lists it (already parsed exactly).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundOffer {
    pub title: String,
    pub seller: String,
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One candidate's DataForSEO lookup, as the connector ended it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OfferLookup {
    /// The task finished: its id and the offers it listed (possibly none).
    Found {
        task_id: String,
        offers: Vec<FoundOffer>,
    },
    /// DataForSEO is not configured (or switched off) for supplier matching.
    NotConfigured { reason: String },
    /// Not sent (over the per-cycle cap, or a query DataForSEO would refuse).
    Skipped { reason: String },
    /// Sent, and it failed for this candidate (task error, not ready in time, HTTP error).
    Failed { reason: String },
}

/// A DataForSEO task supplier_matcher posted (and paid for): the query it was posted for (the
/// candidate's title), its id and when. Kept with its stage chunk, so a redelivered stage collects
/// it instead of posting it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostedTask {
    pub query: String,
    pub task_id: String,
    pub posted_at: DateTime<Utc>,
}

/// How supplier_matcher ended for a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MatchStatus {
    /// DataForSEO listed offers matching the candidate.
    Matched,
    /// DataForSEO answered, but no offer's title matched the candidate.
    NoMatch,
    NotConfigured,
    Skipped,
    Failed,
}

/// Where a price came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum PriceSource {
    /// DataForSEO Merchant API, Google Shopping products: a supplier marketplace's offer.
    DataforseoGoogleShopping { task_id: String, seller: String },
    /// A discovery lane's own unit cost (`aliexpress`: affiliate `target_sale_price`;
    /// `spy_tools`: the export's cost column).
    Lane { lane: String },
}

/// A supplier or retail offer kept as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedOffer {
    pub title: String,
    pub seller: String,
    /// The price in the currency's minor units (cents), with its currency.
    pub price_minor: i64,
    pub currency: Currency,
    pub role: OfferRole,
    /// Share of the candidate's words in the offer's title, basis points.
    pub title_overlap_bp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Why this offer priced nothing (e.g. another currency); None = used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unused: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferRole {
    Supplier,
    Retail,
}

/// The supplier cost chosen, in minor units with its currency, and who priced it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierCost {
    pub price_minor: i64,
    pub currency: Currency,
    #[serde(flatten)]
    pub source: PriceSource,
}

/// supplier_matcher's evidence for one candidate (stored on its research_candidates row).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierMatch {
    pub status: MatchStatus,
    /// Why it is not MATCHED (not configured, failed, skipped, no title matched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The DataForSEO task that answered, when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Offers the task listed in all, and how many matched the candidate.
    pub offers_seen: u32,
    /// Matched offers, cheapest first (at most `max_offers`).
    pub offers: Vec<MatchedOffer>,
    /// The supplier cost used for the landed cost; None = no supplier price anywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_cost: Option<SupplierCost>,
}

impl SupplierMatch {
    /// A row written before supplier_matcher was stored: nothing was looked up.
    pub fn unknown() -> Self {
        SupplierMatch {
            status: MatchStatus::NotConfigured,
            reason: Some("no supplier match stored".into()),
            task_id: None,
            offers_seen: 0,
            offers: Vec::new(),
            supplier_cost: None,
        }
    }
}

impl SupplierMatch {
    /// One clause for an answer: who priced the supplier cost, and how DataForSEO answered.
    pub fn summary(&self) -> String {
        let cost = self.supplier_cost.as_ref().and_then(|c| {
            let m = Money::from_minor(c.price_minor, c.currency).ok()?;
            Some(match &c.source {
                PriceSource::DataforseoGoogleShopping { seller, .. } => {
                    format!("supplier {m} from {seller} (DataForSEO Google Shopping)")
                }
                PriceSource::Lane { lane } => format!("supplier {m} from the {lane} lane"),
            })
        });
        let cost = cost.unwrap_or_else(|| "no supplier price".to_string());
        match (self.status, &self.reason) {
            (MatchStatus::Matched, _) => format!(
                "{cost}; {} matching offer(s) on Google Shopping",
                self.offers.len()
            ),
            (status, Some(why)) => format!("{cost}; DataForSEO {}: {why}", status.label()),
            (status, None) => format!("{cost}; DataForSEO {}", status.label()),
        }
    }
}

impl MatchStatus {
    fn label(self) -> &'static str {
        match self {
            MatchStatus::Matched => "matched",
            MatchStatus::NoMatch => "no match",
            MatchStatus::NotConfigured => "not configured",
            MatchStatus::Skipped => "skipped",
            MatchStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchRules {
    /// Seller-name fragments of supplier marketplaces (lower-case).
    pub supplier_sellers: Vec<String>,
    /// Share of the candidate's words an offer title must hold, basis points.
    pub min_title_overlap_bp: i64,
    /// Matched offers kept as evidence.
    pub max_offers: usize,
}

/// Supplier marketplaces recognised by default (seller-name fragments).
pub const DEFAULT_SUPPLIER_SELLERS: [&str; 8] = [
    "aliexpress",
    "alibaba",
    "dhgate",
    "temu",
    "banggood",
    "1688",
    "made-in-china",
    "cjdropshipping",
];

impl Default for MatchRules {
    fn default() -> Self {
        MatchRules {
            supplier_sellers: DEFAULT_SUPPLIER_SELLERS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            min_title_overlap_bp: 6_000,
            max_offers: 5,
        }
    }
}

/// What supplier_matcher hands the scorer: the evidence, and the retail prices it found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchResult {
    pub evidence: SupplierMatch,
    /// Matched retail offers in the store currency: market-price evidence.
    pub retail_prices: Vec<Money>,
}

/// A unit cost a lane reported for the candidate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneCost {
    pub lane: String,
    pub cost: Money,
}

fn overlap_bp(candidate: &std::collections::BTreeSet<String>, title: &str) -> i64 {
    if candidate.is_empty() {
        return 0;
    }
    let theirs = words(title);
    (candidate.intersection(&theirs).count() as i64) * 10_000 / candidate.len() as i64
}

fn matched_offer(
    o: &FoundOffer,
    overlap: i64,
    store: Currency,
    rules: &MatchRules,
) -> MatchedOffer {
    let seller = o.seller.to_lowercase();
    let role = if rules
        .supplier_sellers
        .iter()
        .any(|s| !s.is_empty() && seller.contains(s.as_str()))
    {
        OfferRole::Supplier
    } else {
        OfferRole::Retail
    };
    let unused = if o.price.currency() != store {
        Some(format!(
            "priced in {}, the store sells in {store}",
            o.price.currency()
        ))
    } else if !o.price.is_whole_minor() || o.price.micros() <= 0 {
        Some(format!("price {} is not a whole minor unit", o.price))
    } else {
        None
    };
    MatchedOffer {
        title: o.title.clone(),
        seller: o.seller.clone(),
        price_minor: o.price.round_to_minor(),
        currency: o.price.currency(),
        role,
        title_overlap_bp: overlap,
        product_id: o.product_id.clone(),
        url: o.url.clone(),
        unused,
    }
}

/// The cheapest of the lanes' costs and the usable supplier offers, with its source.
fn cheapest_supplier(
    lane_costs: &[LaneCost],
    offers: &[MatchedOffer],
    task_id: Option<&str>,
    store: Currency,
) -> Option<SupplierCost> {
    let from_lanes = lane_costs
        .iter()
        .filter(|c| c.cost.currency() == store && c.cost.micros() > 0)
        .map(|c| {
            (
                c.cost.micros(),
                SupplierCost {
                    price_minor: c.cost.round_to_minor(),
                    currency: store,
                    source: PriceSource::Lane {
                        lane: c.lane.clone(),
                    },
                },
            )
        });
    let from_offers = offers
        .iter()
        .filter(|o| o.role == OfferRole::Supplier && o.unused.is_none())
        .filter_map(|o| {
            let m = Money::from_minor(o.price_minor, o.currency).ok()?;
            Some((
                m.micros(),
                SupplierCost {
                    price_minor: o.price_minor,
                    currency: o.currency,
                    source: PriceSource::DataforseoGoogleShopping {
                        task_id: task_id.unwrap_or_default().to_string(),
                        seller: o.seller.clone(),
                    },
                },
            ))
        });
    // Ties: a DataForSEO offer (cited, with its task) before a lane's figure.
    from_offers
        .chain(from_lanes)
        .min_by_key(|(micros, _)| *micros)
        .map(|(_, c)| c)
}

/// supplier_matcher for one candidate.
pub fn supplier_match(
    title: &str,
    lane_costs: &[LaneCost],
    lookup: &OfferLookup,
    store: Currency,
    rules: &MatchRules,
) -> MatchResult {
    let candidate = words(title);
    let (status, reason, task_id, seen, mut offers) = match lookup {
        OfferLookup::Found { task_id, offers } => {
            let matched: Vec<MatchedOffer> = offers
                .iter()
                .filter_map(|o| {
                    let ov = overlap_bp(&candidate, &o.title);
                    (ov >= rules.min_title_overlap_bp).then(|| matched_offer(o, ov, store, rules))
                })
                .collect();
            let (status, reason) = if matched.is_empty() {
                (
                    MatchStatus::NoMatch,
                    Some(format!(
                        "{} offer(s) listed, none with {}% of the title's words",
                        offers.len(),
                        rules.min_title_overlap_bp / 100
                    )),
                )
            } else {
                (MatchStatus::Matched, None)
            };
            (
                status,
                reason,
                Some(task_id.clone()),
                offers.len() as u32,
                matched,
            )
        }
        OfferLookup::NotConfigured { reason } => (
            MatchStatus::NotConfigured,
            Some(reason.clone()),
            None,
            0,
            vec![],
        ),
        OfferLookup::Skipped { reason } => {
            (MatchStatus::Skipped, Some(reason.clone()), None, 0, vec![])
        }
        OfferLookup::Failed { reason } => {
            (MatchStatus::Failed, Some(reason.clone()), None, 0, vec![])
        }
    };
    // Cheapest first; ties by seller then title, so the evidence is reproducible.
    offers.sort_by(|a, b| {
        (a.unused.is_some(), a.price_minor, &a.seller, &a.title).cmp(&(
            b.unused.is_some(),
            b.price_minor,
            &b.seller,
            &b.title,
        ))
    });
    let supplier_cost = cheapest_supplier(lane_costs, &offers, task_id.as_deref(), store);
    let retail_prices = offers
        .iter()
        .filter(|o| o.role == OfferRole::Retail && o.unused.is_none())
        .filter_map(|o| Money::from_minor(o.price_minor, o.currency).ok())
        .collect();
    offers.truncate(rules.max_offers);
    MatchResult {
        evidence: SupplierMatch {
            status,
            reason,
            task_id,
            offers_seen: seen,
            offers,
            supplier_cost,
        },
        retail_prices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    fn offer(title: &str, seller: &str, price: Money) -> FoundOffer {
        FoundOffer {
            title: title.into(),
            seller: seller.into(),
            price,
            product_id: Some("4485466949985702538".into()),
            url: None,
        }
    }

    fn lane(lane: &str, cost: &str) -> Vec<LaneCost> {
        vec![LaneCost {
            lane: lane.into(),
            cost: eur(cost),
        }]
    }

    fn run(title: &str, lanes: &[LaneCost], lookup: &OfferLookup) -> MatchResult {
        supplier_match(title, lanes, lookup, Currency::EUR, &MatchRules::default())
    }

    fn found(offers: Vec<FoundOffer>) -> OfferLookup {
        OfferLookup::Found {
            task_id: "12041155-1535-0139-0000-4d0c1b5f8b0a".into(),
            offers,
        }
    }

    #[test]
    fn supplier_offer_prices_the_candidate_and_retail_offers_are_market_evidence() {
        let lookup = found(vec![
            offer(
                "Waffle Linen Throw Blanket 130x170",
                "AliExpress",
                eur("11.20"),
            ),
            offer("Waffle linen throw – natural", "Bol.com", eur("49.95")),
            offer(
                "Linen Waffle Throw",
                "Amazon.de",
                Money::parse("39.00", Currency::USD).unwrap(),
            ),
            offer("Ceramic mug", "AliExpress", eur("2.00")),
        ]);
        let r = run("Waffle Linen Throw", &lane("aliexpress", "14.37"), &lookup);
        let e = &r.evidence;
        assert_eq!(e.status, MatchStatus::Matched);
        assert_eq!(e.offers_seen, 4);
        assert_eq!(e.offers.len(), 3, "the mug does not match");
        assert_eq!(e.offers[0].seller, "AliExpress");
        assert_eq!(e.offers[0].price_minor, 1_120);
        assert_eq!(e.offers[0].role, OfferRole::Supplier);
        assert!(e.offers[2].unused.as_deref().unwrap().contains("USD"));
        let cost = e.supplier_cost.as_ref().unwrap();
        assert_eq!(cost.price_minor, 1_120);
        assert_eq!(
            cost.source,
            PriceSource::DataforseoGoogleShopping {
                task_id: "12041155-1535-0139-0000-4d0c1b5f8b0a".into(),
                seller: "AliExpress".into()
            }
        );
        assert_eq!(r.retail_prices, vec![eur("49.95")]);
        assert_eq!(
            e.summary(),
            "supplier €11.20 from AliExpress (DataForSEO Google Shopping); 3 matching offer(s) on Google Shopping"
        );
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(
            json["supplier_cost"]["source"],
            "dataforseo_google_shopping"
        );
        assert_eq!(json["status"], "MATCHED");
    }

    #[test]
    fn a_cheaper_lane_cost_wins_and_says_so() {
        let lookup = found(vec![offer("Linen Throw", "Temu", eur("19.99"))]);
        let r = run("Linen Throw", &lane("aliexpress", "14.37"), &lookup);
        assert_eq!(
            r.evidence.supplier_cost.unwrap().source,
            PriceSource::Lane {
                lane: "aliexpress".into()
            }
        );
    }

    #[test]
    fn not_configured_or_failed_is_said_and_never_looks_like_a_match() {
        for (lookup, status) in [
            (
                OfferLookup::NotConfigured {
                    reason: "DataForSEO is not configured".into(),
                },
                MatchStatus::NotConfigured,
            ),
            (
                OfferLookup::Failed {
                    reason: "task 40501: Invalid Field".into(),
                },
                MatchStatus::Failed,
            ),
        ] {
            let r = run("Linen Throw", &[], &lookup);
            assert_eq!(r.evidence.status, status);
            assert!(r.evidence.reason.is_some());
            assert_eq!(r.evidence.supplier_cost, None, "no price without a source");
            assert!(r.retail_prices.is_empty());
        }
        // The lane's cost still prices it, and says it was the lane.
        let failed = OfferLookup::Failed {
            reason: "HTTP 500".into(),
        };
        let r = run("Linen Throw", &lane("spy_tools", "9.00"), &failed);
        assert_eq!(r.evidence.status, MatchStatus::Failed);
        assert_eq!(
            r.evidence.summary(),
            "supplier €9.00 from the spy_tools lane; DataForSEO failed: HTTP 500"
        );
        assert_eq!(
            r.evidence.supplier_cost.unwrap().source,
            PriceSource::Lane {
                lane: "spy_tools".into()
            }
        );
    }

    #[test]
    fn no_title_match_is_no_match_with_counts() {
        let lookup = found(vec![offer("Velvet Cushion", "AliExpress", eur("3.00"))]);
        let r = run("Linen Throw", &[], &lookup);
        assert_eq!(r.evidence.status, MatchStatus::NoMatch);
        assert_eq!(r.evidence.offers_seen, 1);
        assert!(r.evidence.reason.unwrap().contains("1 offer(s)"));
        assert_eq!(r.evidence.supplier_cost, None);
    }
}
