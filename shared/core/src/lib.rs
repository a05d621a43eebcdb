//! Otto's domain model. Everything here is pure: no AWS types, no I/O, no clocks read implicitly.
//!
//! The vocabulary follows the product page: `decision_log`, `store_lock`, `self_calibrator`,
//! `decision_engine`, `discount_executor` … so a reader of the product can find each thing by name.

pub mod action;
pub mod audit;
pub mod clock;
pub mod cycle;
pub mod error;
pub mod hold;
pub mod ids;
pub mod lock;
pub mod mer;
pub mod metrics;
pub mod money;
pub mod moves;
pub mod policy;
pub mod report;
pub mod row_key;
pub mod stages;
pub mod synthetic;
pub mod time;

pub use action::{Action, Classification, RowStatus};
pub use audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
pub use cycle::{CycleId, CycleKind, Stage, StageMessage};
pub use error::CoreError;
pub use ids::{Sku, StoreId};
pub use lock::Fence;
pub use money::{Currency, Money};
pub use moves::{Attempt, Move, MoveKind};
pub use row_key::RowKey;
pub use time::{StoreClock, StoreDay};
