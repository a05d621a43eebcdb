//! Research discovery lanes behind one trait. Six lanes: Meta Ad Library (`meta_ads`),
//! AliExpress affiliate product search (`aliexpress`), competitor best sellers from public
//! storefront product feeds (`competitor`), search frequency via DataForSEO keyword volume
//! (`dataforseo`), organic terms and spy-tool exports from files (`files`); `simulated` serves the
//! demo. A lane that fails is recorded by the research cycle, which goes on with the others.

pub mod aliexpress;
pub mod competitor;
pub mod dataforseo;
pub mod files;
pub mod keyword_limits;
pub mod meta_ads;
pub mod simulated;

use crate::ports::VendorError;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A product idea as a lane found it, before scoring (a core type: stage reports carry it).
pub use otto_core::stages::research::RawCandidate;

/// One discovery lane.
#[async_trait]
pub trait DiscoveryLane: Send + Sync {
    /// The lane's name, as stored on candidate rows.
    fn name(&self) -> &'static str;
    /// Candidates for the store's seed keywords (e.g. `linen throw`).
    async fn discover(&self, seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError>;
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
