//! The EventBridge Scheduler targets, thin adapters over the use-case crate: the cycle opener
//! ([`otto_engine::cycles::open_cycle`]) and the stall watch ([`otto_engine::cycles::stall`]).

use otto_core::{StoreClock, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput};
use otto_store::Ports;
use serde_json::Value;

/// The cycle opener's handler: a plain async fn a test can call with `LambdaEvent::new(...)`.
pub async fn handler(
    ports: &Ports,
    clock: &StoreClock,
    event: lambda_runtime::LambdaEvent<Value>,
) -> Result<Value, lambda_runtime::Error> {
    let input = ScheduledInput::parse(&event.payload)?;
    let out = open_cycle(ports, clock, &input, otto_core::clock::now()).await?;
    Ok(serde_json::to_value(out)?)
}

/// The stall watch's handler (any input: the schedule's payload is ignored).
pub async fn stall_handler(
    ports: &Ports,
    store: &StoreId,
    clock: StoreClock,
) -> Result<Value, lambda_runtime::Error> {
    let report =
        otto_engine::cycles::stall::watch(ports, store, clock, otto_core::clock::now()).await?;
    if !report.failed.is_empty() {
        tracing::warn!(failed = ?report.failed, "stall watch ended cycles");
    }
    Ok(serde_json::to_value(report)?)
}
