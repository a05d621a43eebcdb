//! Research discovery lanes behind one trait. Six lanes: Meta Ad Library (`meta_ads`),
//! AliExpress affiliate product search (`aliexpress`), competitor best sellers from public
//! storefront product feeds (`competitor`), search frequency via DataForSEO keyword volume
//! (`dataforseo`), organic terms and spy-tool exports from files (`files`); `simulated` serves the
//! demo. A lane that fails is recorded by the research cycle, which goes on with the others.
//! supplier_matcher's DataForSEO lookups go through [`ShoppingOffers`] (`merchant`).

pub mod aliexpress;
pub mod competitor;
pub mod dataforseo;
pub mod files;
pub mod keyword_limits;
pub mod merchant;
pub mod meta_ads;
pub mod simulated;
pub mod task_ledger;

use crate::ports::VendorError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

pub use otto_core::stages::supplier_matcher::{FoundOffer, OfferLookup, PostedTask};
pub use task_ledger::{TaskLedger, Unkept};

/// A product idea as a lane found it, before scoring (a core type: stage reports carry it).
pub use otto_core::stages::research::RawCandidate;

/// One discovery lane.
#[async_trait]
pub trait DiscoveryLane: Send + Sync {
    /// The lane's name, as stored on candidate rows.
    fn name(&self) -> &'static str;
    /// Candidates for the store's seed keywords (e.g. `linen throw`).
    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError>;

    /// Candidates and one line per problem the lane went past without failing (a store skipped,
    /// a keyword left out). Lanes that skip parts override it; the default has no notes.
    async fn discover_noting(&self, seeds: &[String]) -> Result<LaneFindings, VendorError> {
        Ok(LaneFindings {
            candidates: self.discover(seeds).await?,
            notes: Vec::new(),
        })
    }
}

/// What a lane found, and what it went past.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LaneFindings {
    pub candidates: Vec<RawCandidate>,
    pub notes: Vec<String>,
}

/// supplier_matcher's lookup: offers listed for each query (a candidate's title). Each query
/// ends on its own ([`OfferLookup`]): one failing never fails the others, nor the task.
/// A source that posts billed tasks keeps them in `ledger` before waiting for them, and collects
/// the tasks an earlier delivery kept there instead of posting them again.
#[async_trait]
pub trait ShoppingOffers: Send + Sync {
    async fn offers(
        &self,
        queries: &[String],
        ledger: &dyn TaskLedger,
    ) -> BTreeMap<String, OfferLookup>;
}

/// No offer source configured: every query says so (never an empty "match").
pub struct NoShoppingOffers {
    pub reason: String,
}

#[async_trait]
impl ShoppingOffers for NoShoppingOffers {
    async fn offers(
        &self,
        queries: &[String],
        _ledger: &dyn TaskLedger,
    ) -> BTreeMap<String, OfferLookup> {
        queries
            .iter()
            .map(|q| {
                (
                    q.clone(),
                    OfferLookup::NotConfigured {
                        reason: self.reason.clone(),
                    },
                )
            })
            .collect()
    }
}

/// Where research looks: the discovery lanes, keyword volumes, and supplier_matcher's offers.
#[derive(Clone)]
pub struct ResearchSources {
    pub lanes: Vec<Arc<dyn DiscoveryLane>>,
    pub volumes: Arc<dyn KeywordVolumes>,
    pub offers: Arc<dyn ShoppingOffers>,
    /// Which sellers count as suppliers, how close a title must be.
    pub supplier_rules: otto_core::stages::supplier_matcher::MatchRules,
}

/// Monthly search volume and competition per keyword (DataForSEO), to enrich candidates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordStat {
    /// None = "no data" (DataForSEO returns null for some combinations) — never read as 0.
    pub search_volume: Option<u64>,
    pub competition_bp: Option<u32>,
}

#[async_trait]
pub trait KeywordVolumes: Send + Sync {
    async fn volumes(
        &self,
        keywords: &[String],
    ) -> Result<BTreeMap<String, KeywordStat>, VendorError>;
}
