//! Where an offer source keeps the tasks it posted for one stage chunk, so a redelivered stage
//! (a crash or a timeout after the POST) collects those tasks instead of posting — and paying
//! for — the same ones again. The research engine keeps them with the stage chunk in its store;
//! a one-off lookup keeps nothing ([`Unkept`]).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::stages::supplier_matcher::PostedTask;

#[async_trait]
pub trait TaskLedger: Send + Sync {
    /// When this delivery runs (the stage's clock): the time posted tasks are stamped with, and
    /// against which an earlier task's age is judged.
    fn now(&self) -> DateTime<Utc>;
    /// What an earlier delivery of the same stage chunk posted (none on the first).
    fn earlier(&self) -> &[PostedTask];
    /// Keeps `tasks` — every task this chunk has posted and still waits for — in place of what
    /// was kept. Called after each POST, before the tasks are waited for.
    async fn keep(&self, tasks: &[PostedTask]) -> Result<(), String>;
}

/// Keeps nothing: every delivery posts its own tasks (a probe, a one-off lookup).
#[derive(Debug, Clone, Copy)]
pub struct Unkept {
    pub now: DateTime<Utc>,
}

#[async_trait]
impl TaskLedger for Unkept {
    fn now(&self) -> DateTime<Utc> {
        self.now
    }
    fn earlier(&self) -> &[PostedTask] {
        &[]
    }
    async fn keep(&self, _tasks: &[PostedTask]) -> Result<(), String> {
        Ok(())
    }
}
