//! The stage worker Lambda: one binary, the stage chosen by `OTTO_STAGE`, fed by that stage's
//! SQS queue. A thin adapter: each SQS record goes to [`otto_engine::run_stage`] (the stage
//! engine, in the use-case crate); failures come back as `batchItemFailures`.

use otto_core::cycle::Stage;
use otto_core::StoreClock;
use otto_engine::{run_stage, StageRegistry};
use otto_store::Ports;

/// The Lambda handler for one stage's queue: each record on its own, failures reported as
/// `batchItemFailures`.
pub async fn handler(
    ports: &Ports,
    registry: &StageRegistry,
    clock: StoreClock,
    stage: Stage,
    event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>,
) -> Result<aws_lambda_events::event::sqs::SqsBatchResponse, lambda_runtime::Error> {
    // Trust this attempt until just past the invocation's deadline.
    let left = event
        .context
        .deadline()
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    let in_progress_for = left + std::time::Duration::from_secs(5);
    let out = otto_runtime::sqs::run_batch(event.payload, |body| async move {
        run_stage(
            ports,
            registry,
            clock,
            &body,
            Some(stage),
            otto_core::clock::now(),
            in_progress_for,
        )
        .await
        .map(|_| ())
    })
    .await;
    otto_runtime::sqs::into_lambda_result(out)
}

/// The scheduled dead-letter sweep's handler (any input: the schedule's payload is ignored).
pub async fn dead_letters_handler(
    ports: &Ports,
    clock: StoreClock,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let report = otto_engine::dlq::sweep(ports, clock, otto_core::clock::now()).await?;
    if !report.failed.is_empty() {
        tracing::warn!(failed = ?report.failed, "dead-letter sweep ended cycles");
    }
    Ok(serde_json::to_value(report)?)
}
