//! The Lambda handlers called as the runtime calls them (`LambdaEvent::new`), with the events in
//! events/ — the same files `cargo lambda invoke` and `sam local invoke` use.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use otto_core::cycle::{CycleKind, Stage};
use otto_core::StoreClock;
use otto_engine::StageRegistry;
use std::path::PathBuf;

fn event(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("event file")).expect("event json")
}

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

#[tokio::test]
async fn scheduler_event_opens_the_cycle_and_rejects_bad_input() {
    let h = otto_tests::harness::embedded().await.expect("harness");
    let out = otto_scheduler::handler(
        &h.ports,
        &clock(),
        LambdaEvent::new(event("scheduler-morning.json"), Context::default()),
    )
    .await
    .expect("handler");
    assert_eq!(out["outcome"], "opened");
    assert_eq!(out["cycle_id"], "demo-store:morning:2026-11-24");
    let first = h
        .ports
        .queue
        .receive(Stage::Sync, 10, std::time::Duration::from_secs(1))
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    let err = otto_scheduler::handler(
        &h.ports,
        &clock(),
        LambdaEvent::new(event("scheduler-bad-cycle.json"), Context::default()),
    )
    .await
    .expect_err("bad cycle");
    assert!(err.to_string().contains("brunch"), "{err}");
}

#[tokio::test]
async fn sqs_batch_reports_only_the_bad_records() {
    let h = otto_tests::harness::embedded().await.expect("harness");
    // Give the event's fence a live lock, so the good record runs.
    let lock = CycleKind::Morning.lock_name(&otto_core::StoreId::new("demo-store").expect("id"));
    let otto_store::Acquire::Acquired(lease) = h
        .ports
        .locks
        .acquire(
            &lock,
            "demo-store:morning:2026-11-24",
            3_600_000,
            chrono::Utc::now().timestamp_millis(),
        )
        .await
        .expect("lock")
    else {
        panic!("lock")
    };
    let mut ev = event("sqs-stage-sync-mixed-batch.json");
    let good = ev["Records"][0]["body"]
        .as_str()
        .expect("body")
        .replace("01JDEMOFENCE000000000000000", &lease.version);
    ev["Records"][0]["body"] = serde_json::Value::String(good);
    let sqs: SqsEvent = serde_json::from_value(ev).expect("SqsEvent");
    let registry = StageRegistry::new().with(
        Stage::Sync,
        std::sync::Arc::new(otto_tests::pipeline::Counting::default()),
    );
    let res = otto_stage::handler(
        &h.ports,
        &registry,
        clock(),
        Stage::Sync,
        LambdaEvent::new(sqs, Context::default()),
    )
    .await
    .expect("partial failure is not an invocation error");
    let failed: Vec<_> = res
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(
        failed,
        vec![
            "0e5a3d3b-2b0c-4c8e-9a1d-000000000002",
            "0e5a3d3b-2b0c-4c8e-9a1d-000000000003"
        ]
    );

    // A batch where everything fails is an invocation error.
    let all_bad: SqsEvent = serde_json::from_value(
        serde_json::json!({"Records": [event("sqs-stage-sync-mixed-batch.json")["Records"][2]]}),
    )
    .expect("event");
    let err = otto_stage::handler(
        &h.ports,
        &registry,
        clock(),
        Stage::Sync,
        LambdaEvent::new(all_bad, Context::default()),
    )
    .await;
    assert!(err.is_err());
}
