//! supplier_matcher's posted DataForSEO tasks, kept with their stage chunk through the
//! [`Settings`] port (one small record per cycle, stage and chunk; no table of its own).
//!
//! The score stage posts Merchant API tasks (billed per task) and then waits for them. If its
//! message is redelivered after the POST — the Lambda crashed or timed out while waiting — the
//! redelivery reads this record and collects those tasks instead of posting, and paying for, the
//! same ones again (see [`otto_connectors::lanes::merchant`] for how long DataForSEO keeps them).
//! Another cycle has another record, so a fresh cycle posts its own.

use crate::StageContext;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_connectors::lanes::{PostedTask, TaskLedger};
use otto_core::cycle::StageMessage;
use otto_core::StoreId;
use otto_runtime::HandlerError;
use otto_store::ports::Settings;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// The stored record.
#[derive(Debug, Default, Serialize, Deserialize)]
struct KeptTasks {
    tasks: Vec<PostedTask>,
}

/// The settings key of a stage chunk's tasks (under the cycle's store).
pub fn setting_key(msg: &StageMessage) -> String {
    format!(
        "supplier_matcher_tasks#{}#{}#{}",
        msg.cycle_id, msg.stage, msg.chunk
    )
}

/// A stage chunk's ledger: what earlier deliveries kept, read once when the delivery starts.
pub struct StageTasks {
    settings: Arc<dyn Settings>,
    store: StoreId,
    key: String,
    now: DateTime<Utc>,
    earlier: Vec<PostedTask>,
}

impl StageTasks {
    /// Reads the chunk's record; a store error is retryable (the stage runs again rather than
    /// post tasks it may already have paid for).
    pub async fn load(ctx: &StageContext<'_>) -> Result<Self, HandlerError> {
        let settings = ctx.ports.settings.clone();
        let store = ctx.msg.cycle_id.store.clone();
        let key = setting_key(ctx.msg);
        let earlier = match settings.get_setting(&store, &key).await? {
            None => Vec::new(),
            Some(v) => match serde_json::from_value::<KeptTasks>(v) {
                Ok(k) => k.tasks,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "kept DataForSEO tasks unreadable; posting anew");
                    Vec::new()
                }
            },
        };
        Ok(StageTasks {
            settings,
            store,
            key,
            now: ctx.now,
            earlier,
        })
    }
}

#[async_trait]
impl TaskLedger for StageTasks {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }

    fn earlier(&self) -> &[PostedTask] {
        &self.earlier
    }

    async fn keep(&self, tasks: &[PostedTask]) -> Result<(), String> {
        let record = KeptTasks {
            tasks: tasks.to_vec(),
        };
        let value = serde_json::to_value(&record).map_err(|e| e.to_string())?;
        self.settings
            .put_setting(&self.store, &self.key, &value)
            .await
            .map_err(|e| format!("keeping {}: {e}", self.key))
    }
}
