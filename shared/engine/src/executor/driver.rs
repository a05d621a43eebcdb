//! What each kind of move gives the one state machine: how to read the vendor's current state of
//! what it changes, and how to make the change. Everything else (gate, reversal op, attempt,
//! fence, settlement) is the state machine's.

use async_trait::async_trait;
use otto_connectors::VendorError;
use otto_core::audit::{AuditRow, ReversalOp};
use otto_core::Move;
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::Value;

/// The vendor's state of what a move changes, read fresh.
pub struct Look<S> {
    /// What `make` needs (ids resolved, the draft …).
    pub seen: S,
    /// The vendor already shows what the move sets.
    pub at_target: bool,
    /// The state to restore on undo: stored on the row before the vendor call.
    pub reversal: Option<ReversalOp>,
    /// Why the move must not be made as it stands.
    pub refusal: Option<Refusal>,
}

pub enum Refusal {
    /// Someone else changed what the move expects: held for the operator, nothing overwritten.
    Hold(String),
    /// The move can no longer be made (the thing is gone): FAILED with why.
    Fail(String),
    /// The move must not be made at all (an undo whose original changed since): REFUSED.
    Refuse(String),
}

#[async_trait]
pub trait Driver: Send + Sync {
    type Seen: Send + Sync;
    /// Reads the vendor's current state of what `mv` changes.
    async fn look(
        &self,
        ports: &Ports,
        row: &AuditRow,
        mv: &Move,
    ) -> Result<Look<Self::Seen>, HandlerError>;
    /// Makes the change. `key` is stable per attempt, for vendors that take an idempotency key.
    async fn make(&self, seen: &Self::Seen, mv: &Move, key: &str) -> Result<Value, VendorError>;
    /// What the row records when the vendor already had the target state.
    fn confirmed(&self, _seen: &Self::Seen) -> Value {
        serde_json::json!({"confirmed": "the vendor already had the target state; nothing was sent"})
    }
}

pub fn vendor_err(e: VendorError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

pub fn wrong_move(mv: &Move, driver: &str) -> VendorError {
    VendorError::Permanent {
        vendor: "executor",
        detail: format!("a {:?} move was given to the {driver} driver", mv.kind()),
    }
}
