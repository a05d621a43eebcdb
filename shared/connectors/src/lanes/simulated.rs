//! Seeded, offline lanes for the demo: the same six lane names, deterministic candidates, and
//! deterministic Google Shopping offers for supplier_matcher.

use super::{
    DiscoveryLane, FoundOffer, KeywordStat, KeywordVolumes, OfferLookup, RawCandidate,
    ShoppingOffers,
};
use crate::ports::VendorError;
use async_trait::async_trait;
use otto_core::money::{Currency, Money};
use std::collections::BTreeMap;

const ADJ: [&str; 8] = [
    "Waffle",
    "Stonewashed",
    "Herringbone",
    "Chunky",
    "Organic",
    "Ribbed",
    "Fringed",
    "Quilted",
];
const THINGS: [&str; 6] = [
    "Throw",
    "Table Runner",
    "Napkin Set",
    "Cushion Cover",
    "Bath Mat",
    "Apron",
];

fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

pub struct SimulatedLane {
    pub lane: &'static str,
    pub seed: u64,
    /// A lane that is "down" (to show a lane outage does not stop the cycle).
    pub fail: bool,
}

impl SimulatedLane {
    /// The six lanes, the one at `down` (if any) failing.
    pub fn all(seed: u64, down: Option<&str>) -> Vec<SimulatedLane> {
        [
            "meta_ads",
            "aliexpress",
            "competitor",
            "frequency",
            "organic",
            "spy_tools",
        ]
        .into_iter()
        .map(|lane| SimulatedLane {
            lane,
            seed,
            fail: down == Some(lane),
        })
        .collect()
    }
}

#[async_trait]
impl DiscoveryLane for SimulatedLane {
    fn name(&self) -> &'static str {
        self.lane
    }

    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        if self.fail {
            return Err(VendorError::Transient {
                vendor: "simulated",
                detail: format!("{} lane timed out", self.lane),
            });
        }
        let lane_no = self
            .lane
            .bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
        let mut out = Vec::new();
        for (i, seed) in seeds.iter().enumerate().take(4) {
            for k in 0..3u64 {
                let r = mix(self.seed ^ lane_no, (i as u64) << 8 | k);
                let material = seed.split_whitespace().next().unwrap_or("Linen");
                let title = format!(
                    "{} {} {}",
                    ADJ[(r % 8) as usize],
                    capital(material),
                    THINGS[((r >> 8) % 6) as usize]
                );
                let price = Money::from_minor(1_990 + (r >> 16) as i64 % 8_000, Currency::EUR).ok();
                let cost = price
                    .and_then(|p| p.scale_bp(1_500 + ((r >> 32) % 4_000) as i64).ok())
                    .map(|m| m.rounded());
                out.push(RawCandidate {
                    title,
                    lane: self.lane.to_string(),
                    source_url: Some(format!("https://example.invalid/{}/{r:x}", self.lane)),
                    price,
                    unit_cost: if matches!(self.lane, "aliexpress" | "spy_tools") {
                        cost
                    } else {
                        None
                    },
                    search_volume: if self.lane == "frequency" {
                        Some(100 + (r >> 40) % 20_000)
                    } else {
                        None
                    },
                    competition_bp: None,
                    signals: BTreeMap::new(),
                });
            }
        }
        Ok(out)
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Deterministic keyword volumes for the demo.
pub struct SimulatedVolumes {
    pub seed: u64,
}

#[async_trait]
impl KeywordVolumes for SimulatedVolumes {
    async fn volumes(
        &self,
        keywords: &[String],
    ) -> Result<BTreeMap<String, KeywordStat>, VendorError> {
        Ok(keywords
            .iter()
            .map(|k| {
                let r = mix(
                    self.seed,
                    k.bytes()
                        .fold(7u64, |a, b| a.wrapping_mul(131).wrapping_add(u64::from(b))),
                );
                let stat = if r.is_multiple_of(10) {
                    KeywordStat::default() // "no data", as DataForSEO sometimes answers
                } else {
                    KeywordStat {
                        search_volume: Some(50 + (r >> 8) % 40_000),
                        competition_bp: Some(((r >> 24) % 10_000) as u32),
                    }
                };
                (k.clone(), stat)
            })
            .collect())
    }
}

/// Deterministic Google Shopping offers for the demo's supplier_matcher: per title, an
/// AliExpress supplier offer and two retail offers (in EUR), under a made-up task id.
pub struct SimulatedOffers {
    pub seed: u64,
}

#[async_trait]
impl ShoppingOffers for SimulatedOffers {
    async fn offers(
        &self,
        queries: &[String],
        _ledger: &dyn super::TaskLedger,
    ) -> BTreeMap<String, OfferLookup> {
        queries
            .iter()
            .map(|q| {
                let r = mix(
                    self.seed,
                    q.bytes()
                        .fold(11u64, |a, b| a.wrapping_mul(131).wrapping_add(u64::from(b))),
                );
                let retail = 2_490 + (r % 6_000) as i64;
                let offer = |seller: &str, minor: i64| FoundOffer {
                    title: q.clone(),
                    seller: seller.to_string(),
                    price: Money::from_minor(minor, Currency::EUR)
                        .unwrap_or_else(|_| Money::zero(Currency::EUR)),
                    product_id: Some(format!("{}", r >> 8)),
                    url: None,
                };
                let offers = vec![
                    offer("AliExpress", retail * (18 + (r >> 16) as i64 % 12) / 100),
                    offer("bol.com", retail),
                    offer("Amazon.nl", retail + 300),
                ];
                let task_id = format!("sim-{:016x}", r);
                (q.clone(), OfferLookup::Found { task_id, offers })
            })
            .collect()
    }
}
