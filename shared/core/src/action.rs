//! The product's vocabulary of moves, classifications and row states.

use crate::error::CoreError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

macro_rules! vocab {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $s)] $v),+
        }
        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];
            pub fn as_str(&self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                match s {
                    $($s => Ok($name::$v),)+
                    other => Err(CoreError::invalid($what, format!(
                        "{other:?} is not one of {}",
                        [$($s),+].join(", ")
                    ))),
                }
            }
        }
    };
}

vocab!(
    /// One move Otto can decide on. The decision_engine emits exactly one per SKU per cycle.
    Action, "action" {
        /// Unpublish a persistent loser (Shopify product status → DRAFT).
        Draft = "DRAFT",
        /// Publish a variant that earned it (status → ACTIVE).
        Publish = "PUBLISH",
        /// Open a discount test for a SKU whose optimisation failed.
        DiscountTest = "DISCOUNT_TEST",
        /// The price move of a discount test: price lowered, compare-at shows the old price.
        OnDiscount = "ON_DISCOUNT",
        /// Replay of a stored reversal op when a discount window passes its TTL.
        PriceRestore = "PRICE_RESTORE",
        ScaleWinner = "SCALE_WINNER",
        ReviveSeasonal = "REVIVE_SEASONAL",
        /// A campaign budget change (ad side).
        AdjustBudget = "ADJUST_BUDGET",
        /// Trigger: two cycles without lift; the SKU becomes a discount candidate.
        OptimizeCycleFailed = "OPTIMIZE_CYCLE_FAILED",
        /// No change this cycle; logged so "one action per SKU" holds.
        Keep = "KEEP",
        Hold = "HOLD",
        Release = "RELEASE",
        /// A proposal refused by policy (judge, shared budget, external edit, provisional data).
        Refuse = "REFUSE",
        /// An operator's undo of an applied move, replaying its stored reversal op.
        Revert = "REVERT",
    }
);

vocab!(
    /// The classifier's verdict per variant.
    Classification, "classification" {
        Winner = "WINNER",
        Mid = "MID",
        Loser = "LOSER",
        InsufficientData = "INSUFFICIENT_DATA",
    }
);

vocab!(
    /// Where an audit row stands. Rows are facts; the status is the one field that moves, and only
    /// along the transitions in [`RowStatus::can_become`].
    RowStatus, "row status" {
        /// Phase 1: decided and logged, nothing applied.
        DryRun = "DRY_RUN",
        /// Phase 2: approved for the executor, not yet applied.
        Pending = "PENDING",
        /// Reversal op stored, vendor call under way.
        Applying = "APPLYING",
        Applied = "APPLIED",
        /// Stopped by the kill switch or a conflict; an operator may release it.
        Held = "HELD",
        /// An operator released a held row; the executor applies it after re-checking policy.
        Released = "RELEASED",
        /// A held row nobody released before the next cycle of its kind decided afresh.
        Expired = "EXPIRED",
        /// The move was undone by replaying its reversal op.
        Reverted = "REVERTED",
        Skipped = "SKIPPED",
        Refused = "REFUSED",
        Failed = "FAILED",
        /// A fact that has no lifecycle (cycle runs, evaluations, candidates as logged).
        Recorded = "RECORDED",
        Completed = "COMPLETED",
        Running = "RUNNING",
        /// A research candidate awaiting the operator's review.
        Queued = "QUEUED",
        Approved = "APPROVED",
        Rejected = "REJECTED",
    }
);

impl RowStatus {
    /// The allowed status transitions. Everything else is refused by the stores.
    pub fn can_become(self, next: RowStatus) -> bool {
        use RowStatus::*;
        matches!(
            (self, next),
            // A dry run's move, applied after review the same store day.
            (DryRun, Pending)
                | (
                    Pending,
                    Applying | Held | Skipped | Refused | Failed | Applied
                )
                | (Applying, Applied | Failed | Held)
                | (Held, Released | Skipped | Expired)
                | (
                    Released,
                    Applying | Applied | Held | Skipped | Refused | Failed
                )
                | (Applied, Reverted)
                | (Failed, Applying | Pending)
                | (Running, Completed | Failed)
                | (Queued, Approved | Rejected)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_round_trips() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>().unwrap(), *a);
            assert_eq!(serde_json::to_string(a).unwrap(), format!("\"{a}\""));
        }
        assert_eq!(
            "INSUFFICIENT_DATA".parse::<Classification>().unwrap(),
            Classification::InsufficientData
        );
        let err = "SCALE".parse::<Action>().unwrap_err().to_string();
        assert!(err.contains("SCALE_WINNER"), "{err}");
    }

    #[test]
    fn transitions() {
        assert!(RowStatus::Held.can_become(RowStatus::Released));
        assert!(RowStatus::Held.can_become(RowStatus::Expired));
        assert!(!RowStatus::Expired.can_become(RowStatus::Released));
        assert_eq!("EXPIRED".parse::<RowStatus>().unwrap(), RowStatus::Expired);
        assert!(!RowStatus::Applied.can_become(RowStatus::Applying));
        assert!(!RowStatus::DryRun.can_become(RowStatus::Applied));
        assert!(RowStatus::DryRun.can_become(RowStatus::Pending));
        assert!(!RowStatus::Recorded.can_become(RowStatus::Held));
    }
}
