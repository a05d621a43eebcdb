//! candidate_scorer and supplier_matcher: research candidates ranked by margin × uniqueness ×
//! market-fit, each factor in basis points and stored with the inputs that produced it. Integer
//! arithmetic only, so a score is reproducible to the basis point.
//!
//! * **Key**: a candidate's normalised title — lower-case words, stop words dropped, sorted and
//!   de-duplicated — so the same idea from two lanes or two days is one row.
//! * **supplier_matcher** ([`super::supplier_matcher`]): the landed cost is the supplier cost it
//!   chose — the cheapest of DataForSEO's matched supplier-marketplace offers and the lanes' unit
//!   costs (AliExpress, spy tools), with its source — plus `landed_uplift_bp` for freight and
//!   duties; the market price is the median of the prices seen (competitors, ads, spy tools, and
//!   DataForSEO's matched retail offers).
//! * **margin** = (price − landed) ÷ price, clamped to 0…10 000 bp; unknown without both.
//! * **uniqueness** = 10 000 − the highest word-set Jaccard overlap with the store's own titles.
//! * **market fit** = √(volume ÷ 100 000) (capped at 1) × (1 − competition); unknown volume → unknown.
//! * **score** = margin × uniqueness × market fit ÷ 10⁸; None when any factor is unknown (the
//!   candidate is still queued, ranked after every scored one, with what is missing said).

use super::supplier_matcher::{supplier_match, LaneCost, MatchRules, OfferLookup, SupplierMatch};
use crate::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const STOP: [&str; 12] = [
    "a", "an", "and", "for", "in", "of", "on", "set", "the", "to", "with", "x",
];

pub fn words(title: &str) -> BTreeSet<String> {
    title
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.len() > 1 && !STOP.contains(&w.as_str()))
        .collect()
}

/// The dedup key of a candidate: `cushion-cover-linen-waffle`.
pub fn candidate_key(title: &str) -> String {
    words(title).into_iter().collect::<Vec<_>>().join("-")
}

/// A product idea as a lane found it, before scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawCandidate {
    pub title: String,
    /// The lane's name (`meta_ads`, `aliexpress`, `competitor`, `frequency`, `organic`, `spy_tools`).
    pub lane: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// A market price seen for it (a competitor's price, an ad's price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Money>,
    /// A supplier's unit cost (AliExpress price, a spy tool's cost column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_cost: Option<Money>,
    /// Monthly searches, when the lane knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_volume: Option<u64>,
    /// Competition 0–10 000 bp (DataForSEO `competition_index` × 100), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub competition_bp: Option<u32>,
    /// Anything else the lane saw (ad counts, orders, ratings …), kept with the row.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub signals: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreRules {
    pub landed_uplift_bp: i64,
    /// Monthly searches that count as full market fit.
    pub full_fit_volume: u64,
}

impl Default for ScoreRules {
    fn default() -> Self {
        ScoreRules {
            landed_uplift_bp: 1_500,
            full_fit_volume: 100_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    pub market_price: Option<Money>,
    pub landed_cost: Option<Money>,
    pub margin_bp: Option<i64>,
    pub closest_own_title_overlap_bp: i64,
    pub uniqueness_bp: i64,
    pub search_volume: Option<u64>,
    pub competition_bp: Option<u32>,
    pub market_fit_bp: Option<i64>,
    pub score_bp: Option<i64>,
    /// What is unknown, when the score is None.
    pub missing: Vec<String>,
}

fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// The median of exact amounts (the lower middle for an even count).
pub fn median(mut prices: Vec<Money>) -> Option<Money> {
    prices.sort_by_key(|m| m.micros());
    prices.get(prices.len().saturating_sub(1) / 2).copied()
}

pub fn score(
    title: &str,
    prices: Vec<Money>,
    unit_costs: Vec<Money>,
    search_volume: Option<u64>,
    competition_bp: Option<u32>,
    own_titles: &[BTreeSet<String>],
    rules: &ScoreRules,
) -> Score {
    let mut missing = Vec::new();
    let market_price = median(prices);
    let landed_cost = unit_costs
        .into_iter()
        .min_by_key(|m| m.micros())
        .and_then(|c| c.scale_bp(10_000 + rules.landed_uplift_bp).ok())
        .map(|c| c.rounded());
    let margin_bp = match (market_price, landed_cost) {
        (Some(p), Some(c)) if p.micros() > 0 && p.currency() == c.currency() => Some(
            (((i128::from(p.micros()) - i128::from(c.micros())) * 10_000 / i128::from(p.micros()))
                as i64)
                .clamp(0, 10_000),
        ),
        (None, _) => {
            missing.push("market price".into());
            None
        }
        _ => {
            missing.push("supplier cost".into());
            None
        }
    };
    let mine = words(title);
    let overlap = own_titles
        .iter()
        .map(|t| {
            let inter = mine.intersection(t).count() as i64;
            let union = mine.union(t).count() as i64;
            if union == 0 {
                0
            } else {
                inter * 10_000 / union
            }
        })
        .max()
        .unwrap_or(0);
    let uniqueness_bp = 10_000 - overlap;
    let market_fit_bp = match search_volume {
        Some(v) => {
            let vol = i64::try_from(isqrt(
                u128::from(v.min(rules.full_fit_volume)) * 100_000_000
                    / u128::from(rules.full_fit_volume.max(1)),
            ))
            .unwrap_or(10_000);
            let comp = i64::from(competition_bp.unwrap_or(5_000).min(10_000));
            Some(vol * (10_000 - comp) / 10_000)
        }
        None => {
            missing.push("search volume".into());
            None
        }
    };
    let score_bp = match (margin_bp, market_fit_bp) {
        (Some(m), Some(f)) => {
            Some((i128::from(m) * i128::from(uniqueness_bp) * i128::from(f) / 100_000_000) as i64)
        }
        _ => None,
    };
    Score {
        market_price,
        landed_cost,
        margin_bp,
        closest_own_title_overlap_bp: overlap,
        uniqueness_bp,
        search_volume,
        competition_bp,
        market_fit_bp,
        score_bp,
        missing,
    }
}

/// What one idea (a group of raw candidates with the same key) needs besides its lanes' finds.
pub struct GroupInputs<'a> {
    pub search_volume: Option<u64>,
    pub competition_bp: Option<u32>,
    /// Why the idea's keyword was not sent for its volume (DataForSEO's keyword limits), if so.
    pub keyword_rejected: Option<&'a str>,
    /// supplier_matcher's DataForSEO lookup for the idea.
    pub offers: &'a OfferLookup,
    pub store_currency: Currency,
}

/// candidate_scorer with supplier_matcher for one idea: the supplier evidence, and the score
/// computed from the supplier cost it chose and the market prices (lanes + matched retail offers).
pub fn score_group(
    title: &str,
    group: &[&RawCandidate],
    inputs: &GroupInputs<'_>,
    own_titles: &[BTreeSet<String>],
    rules: &ScoreRules,
    match_rules: &MatchRules,
) -> (Score, SupplierMatch) {
    let lane_costs: Vec<LaneCost> = group
        .iter()
        .filter_map(|c| {
            c.unit_cost.map(|cost| LaneCost {
                lane: c.lane.clone(),
                cost,
            })
        })
        .collect();
    let matched = supplier_match(
        title,
        &lane_costs,
        inputs.offers,
        inputs.store_currency,
        match_rules,
    );
    let mut prices: Vec<Money> = group.iter().filter_map(|c| c.price).collect();
    prices.extend(matched.retail_prices);
    let supplier_cost: Vec<Money> = matched
        .evidence
        .supplier_cost
        .iter()
        .filter_map(|c| Money::from_minor(c.price_minor, c.currency).ok())
        .collect();
    let mut s = score(
        title,
        prices,
        supplier_cost,
        inputs.search_volume,
        inputs.competition_bp,
        own_titles,
        rules,
    );
    if let (Some(why), None) = (inputs.keyword_rejected, s.search_volume) {
        for m in s.missing.iter_mut().filter(|m| *m == "search volume") {
            *m = format!("search volume (keyword not sent to DataForSEO: {why})");
        }
    }
    (s, matched.evidence)
}

/// The store's currency: its own catalog's, else the first one a lane priced in.
pub fn store_currency(catalog: &[Money], found: &[RawCandidate]) -> Option<Currency> {
    catalog
        .first()
        .or_else(|| {
            found
                .iter()
                .find_map(|c| c.price.as_ref().or(c.unit_cost.as_ref()))
        })
        .map(Money::currency)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).unwrap()
    }

    #[test]
    fn keys_normalise_titles() {
        assert_eq!(
            candidate_key("Waffle Linen Throw — XL"),
            "linen-throw-waffle-xl"
        );
        assert_eq!(candidate_key("throw, LINEN waffle"), "linen-throw-waffle");
        assert_eq!(candidate_key("Set of the Napkins"), "napkins");
    }

    #[test]
    fn hand_computed_score() {
        let own = vec![words("Linen Throw — SND / L")];
        let s = score(
            "Waffle Linen Throw",
            vec![eur("50.00"), eur("60.00"), eur("70.00")],
            vec![eur("20.00"), eur("18.00")],
            Some(10_000),
            Some(2_000),
            &own,
            &ScoreRules::default(),
        );
        assert_eq!(s.market_price, Some(eur("60.00")));
        assert_eq!(s.landed_cost, Some(eur("20.70")), "18.00 + 15%");
        assert_eq!(s.margin_bp, Some(6_550));
        // {waffle, linen, throw} vs {linen, throw, snd}: 2 shared of 4 → 5 000.
        assert_eq!(s.closest_own_title_overlap_bp, 5_000);
        assert_eq!(s.uniqueness_bp, 5_000);
        // √(10 000 / 100 000) = 0.3162 → 3 162 bp; × (1 − 0.2) = 2 529.
        assert_eq!(s.market_fit_bp, Some(2_529));
        assert_eq!(s.score_bp, Some(6_550 * 5_000 * 2_529 / 100_000_000));
        // Reproducible.
        let again = score(
            "Waffle Linen Throw",
            vec![eur("70.00"), eur("50.00"), eur("60.00")],
            vec![eur("18.00"), eur("20.00")],
            Some(10_000),
            Some(2_000),
            &own,
            &ScoreRules::default(),
        );
        assert_eq!(again, s);
    }

    #[test]
    fn unknowns_are_said_not_guessed() {
        let s = score(
            "Velvet Apron",
            vec![],
            vec![eur("3.00")],
            None,
            None,
            &[],
            &ScoreRules::default(),
        );
        assert_eq!(s.score_bp, None);
        assert_eq!(
            s.missing,
            vec!["market price".to_string(), "search volume".to_string()]
        );
        assert_eq!(s.uniqueness_bp, 10_000);
    }
}

// --- what one stage row can carry -----------------------------------------------------------

/// The lanes' finds and the scorer's ranking each travel in one stage_runs row, and DynamoDB
/// holds an item of at most 400 KB. A competitor lane alone can list 1,000 products, so each
/// report is bounded by count and by bytes: a lane keeps its first finds (a lane lists its best
/// first: best sellers, search rank) up to [`KEEP_PER_LANE`] and [`LANE_BYTES`] of JSON; the
/// scorer keeps its best up to [`KEEP_SCORED`] and [`SCORED_BYTES`]; titles are cut at
/// [`TITLE_CHARS`] characters and each candidate keeps [`SOURCES_KEPT`] source links. What was
/// left out is said in the report, never dropped silently.
pub const KEEP_PER_LANE: usize = 100;
/// See [`KEEP_PER_LANE`]: six lanes at most fill 288 KB.
pub const LANE_BYTES: usize = 48 * 1024;
/// See [`KEEP_PER_LANE`].
pub const KEEP_SCORED: usize = 100;
/// See [`KEEP_PER_LANE`].
pub const SCORED_BYTES: usize = 300 * 1024;
/// See [`KEEP_PER_LANE`].
pub const TITLE_CHARS: usize = 200;
/// See [`KEEP_PER_LANE`].
pub const SOURCES_KEPT: usize = 5;

/// `s` cut at `max` characters (on a character boundary), with "…" when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Keeps the first items while there are at most `max_items` and their JSON fits `max_bytes`;
/// returns how many were left out.
pub fn keep_within<T: Serialize>(items: &mut Vec<T>, max_items: usize, max_bytes: usize) -> usize {
    let all = items.len();
    let mut bytes = 0;
    let mut keep = 0;
    for item in items.iter().take(max_items) {
        let size = serde_json::to_vec(item)
            .map(|v| v.len() + 1)
            .unwrap_or(usize::MAX);
        if bytes + size > max_bytes {
            break;
        }
        bytes += size;
        keep += 1;
    }
    items.truncate(keep);
    all - keep
}

/// Bounds one lane's finds to what its stage row can carry; the returned note (when any were
/// left out) says how many and why.
pub fn bound_lane(found: &mut Vec<RawCandidate>) -> Option<String> {
    for c in found.iter_mut() {
        c.title = clip(&c.title, TITLE_CHARS);
    }
    let all = found.len();
    let left_out = keep_within(found, KEEP_PER_LANE, LANE_BYTES);
    (left_out > 0).then(|| {
        format!(
            "kept the first {} of {all} candidates (a lane's share of its stage row: at most {KEEP_PER_LANE}, {} KB)",
            found.len(),
            LANE_BYTES / 1024
        )
    })
}

#[cfg(test)]
mod bound_tests {
    use super::*;
    use crate::report::{LaneOutcome, LanesReport, ScoreReport, ScoredCandidate, StageReportKind};
    use crate::stages::supplier_matcher::{MatchedOffer, OfferRole};

    /// Under DynamoDB's 400 KB item limit with room for the row's other attributes.
    const ROW_BUDGET: usize = 350 * 1024;

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, Currency::EUR).expect("money")
    }

    fn long(n: usize, c: char) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    fn candidate(i: usize) -> RawCandidate {
        RawCandidate {
            title: format!("{i} {}", long(400, 'é')),
            lane: "competitor".into(),
            source_url: Some(format!("https://shop.example/products/{}", long(200, 'x'))),
            price: Some(eur(12_999)),
            unit_cost: Some(eur(1_299)),
            search_volume: Some(12_000),
            competition_bp: Some(4_500),
            signals: (0..5)
                .map(|k| (format!("signal_{k}"), Value::from(long(40, 's'))))
                .collect(),
        }
    }

    #[test]
    fn a_lane_is_cut_to_what_a_row_carries_and_says_so() {
        let mut found: Vec<RawCandidate> = (0..1_000).map(candidate).collect();
        let note = bound_lane(&mut found).expect("a note");
        assert!(!found.is_empty() && found.len() <= KEEP_PER_LANE);
        assert!(
            note.contains(&format!("the first {} of 1000", found.len())),
            "{note}"
        );
        assert!(found
            .iter()
            .all(|c| c.title.chars().count() <= TITLE_CHARS + 1));
        let mut few: Vec<RawCandidate> = (0..3).map(candidate).collect();
        assert_eq!(bound_lane(&mut few), None);
        assert_eq!(clip("héllo", 2), "hé…");
        assert_eq!(clip("hé", 2), "hé");
    }

    #[test]
    fn the_largest_lanes_report_fits_one_dynamodb_item() {
        let lanes = [
            "meta_ads",
            "aliexpress",
            "competitor",
            "frequency",
            "organic",
            "spy_tools",
        ];
        let mut candidates = Vec::new();
        let mut outcomes = BTreeMap::new();
        for lane in lanes {
            let mut found: Vec<RawCandidate> = (0..1_000).map(candidate).collect();
            let note = bound_lane(&mut found);
            outcomes.insert(
                lane.to_string(),
                LaneOutcome {
                    ok: true,
                    candidates: Some(1_000),
                    error: None,
                    notes: note.into_iter().collect(),
                },
            );
            candidates.extend(found);
        }
        let report = (LanesReport {
            seeds: (0..8).map(|i| format!("seed {i}")).collect(),
            lanes: outcomes,
            candidates,
        })
        .into_report();
        let size = serde_json::to_vec(&report).expect("json").len();
        assert!(size < ROW_BUDGET, "lanes report of {size} bytes");
    }

    #[test]
    fn the_largest_score_report_fits_one_dynamodb_item() {
        let offer = |i: usize| MatchedOffer {
            title: clip(&long(400, 'o'), TITLE_CHARS),
            seller: format!("seller {i}"),
            price_minor: 250,
            currency: Currency::EUR,
            role: OfferRole::Supplier,
            title_overlap_bp: 8_000,
            product_id: Some(long(30, '9')),
            url: Some(format!(
                "https://www.google.com/shopping/product/{}",
                long(150, 'u')
            )),
            unused: None,
        };
        let mut scored: Vec<ScoredCandidate> = (0..600)
            .map(|i| {
                let mut supplier = SupplierMatch::unknown();
                supplier.offers = (0..5).map(offer).collect();
                ScoredCandidate {
                    key: long(TITLE_CHARS, 'k'),
                    title: clip(&long(400, 't'), TITLE_CHARS),
                    lanes: lanes_of(i),
                    sources: (0..SOURCES_KEPT)
                        .map(|s| format!("https://shop{s}.example/{}", long(200, 'x')))
                        .collect(),
                    score: Score {
                        market_price: Some(eur(12_999)),
                        landed_cost: Some(eur(288)),
                        margin_bp: Some(7_000),
                        closest_own_title_overlap_bp: 1_000,
                        uniqueness_bp: 9_000,
                        search_volume: Some(12_000),
                        competition_bp: Some(4_500),
                        market_fit_bp: Some(6_000),
                        score_bp: Some(6_500),
                        missing: vec![long(80, 'm')],
                    },
                    supplier,
                }
            })
            .collect();
        let left_out = keep_within(&mut scored, KEEP_SCORED, SCORED_BYTES) as u64;
        assert!(left_out >= 500, "{left_out}");
        let report = (ScoreReport {
            groups: 600,
            left_out,
            scored,
        })
        .into_report();
        let size = serde_json::to_vec(&report).expect("json").len();
        assert!(size < ROW_BUDGET, "score report of {size} bytes");
    }

    fn lanes_of(i: usize) -> BTreeSet<String> {
        ["competitor", "aliexpress", "organic"][..1 + i % 3]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }
}
