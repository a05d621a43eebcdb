//! The store_lock: a lease with an owner and a random version. The version is the fencing token:
//! every stage write carries it, and a store rejects a write whose token is no longer the lock's.

use serde::{Deserialize, Serialize};

/// The token a lock holder presents with each write.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fence {
    pub lock: String,
    pub version: String,
}

/// A held (or observed) lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub name: String,
    pub owner: String,
    /// Random, fresh on every acquisition (never on renewal): the fencing token.
    pub version: String,
    /// Epoch milliseconds after which another owner may take the lease over.
    pub expires_at_ms: i64,
}

impl Lease {
    pub fn fence(&self) -> Fence {
        Fence {
            lock: self.name.clone(),
            version: self.version.clone(),
        }
    }
    pub fn is_lapsed(&self, now_ms: i64) -> bool {
        self.expires_at_ms <= now_ms
    }
}
