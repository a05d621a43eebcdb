//! Ports and adapters. `embedded` is the durable local default (SQLite in `./.otto/`), `aws` the
//! DynamoDB / SQS / EventBridge one. Both implement every port and pass the same contract suite.
//! Each adapter is a cargo feature of the same name (both by default), so a Lambda built with
//! `default-features = false, features = ["aws"]` links no SQLite.

pub mod attempts;
#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "embedded")]
pub mod embedded;
pub mod error;
pub mod idempotency;
pub mod policy_settings;
pub mod ports;
pub mod settings;

pub use error::StoreError;
pub use ports::*;

use std::sync::Arc;

/// Every port, as trait objects: what handlers are given.
#[derive(Clone)]
pub struct Ports {
    pub audit: Arc<dyn AuditLog>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub locks: Arc<dyn LockStore>,
    pub counters: Arc<dyn Counters>,
    pub settings: Arc<dyn Settings>,
    pub catalog: Arc<dyn Catalog>,
    pub queue: Arc<dyn StageQueue>,
    pub events: Arc<dyn EventBus>,
}

impl Ports {
    /// All ports from one adapter value that implements them all.
    pub fn from_adapter<A>(a: Arc<A>, queue: Arc<dyn StageQueue>) -> Self
    where
        A: AuditLog
            + IdempotencyStore
            + LockStore
            + Counters
            + Settings
            + Catalog
            + EventBus
            + 'static,
    {
        Ports {
            audit: a.clone(),
            idempotency: a.clone(),
            locks: a.clone(),
            counters: a.clone(),
            settings: a.clone(),
            catalog: a.clone(),
            events: a,
            queue,
        }
    }
}
