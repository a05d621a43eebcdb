//! supplier_matcher's DataForSEO tasks across a redelivered score stage, generic over the
//! harness: a delivery killed while it waits for the tasks it posted leaves their ids kept with
//! the stage chunk; the redelivery collects them (no task posted, nor billed, twice) and the
//! cycle still matches; another cycle posts its own.

use crate::merchant_twin::{MerchantTwin, SUPPLIER_MINOR};
use crate::research::{clock, merchant_sources, research_with, seeded_store};
use crate::Harness;
use chrono::{DateTime, Utc};
use otto_core::audit::RowBody;
use otto_core::cycle::{CycleKind, Stage, StageMessage};
use otto_core::stages::supplier_matcher::MatchStatus;
use otto_core::{StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput};
use otto_engine::local::drain;
use otto_engine::research::{queued, with_research};
use otto_engine::supplier_tasks::setting_key;
use otto_engine::{run_stage, StageRegistry, StageResult};
use otto_store::Delivery;
use std::collections::BTreeSet;
use std::time::Duration;

#[macro_export]
macro_rules! research_redelivery_suite {
    ($make:path) => {
        $crate::instantiate!(research_redelivery, $make;
            a_redelivered_score_stage_collects_the_tasks_it_posted
        );
    };
}

/// How long one stage attempt may take (its idempotency record lapses after it).
const ATTEMPT: Duration = Duration::from_secs(60);

async fn one(h: &Harness, stage: Stage) -> Delivery {
    let mut got = h
        .ports
        .queue
        .receive(stage, 1, Duration::from_secs(300))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "one {stage} message");
    got.remove(0)
}

async fn run(
    h: &Harness,
    reg: &StageRegistry,
    d: &Delivery,
    stage: Stage,
    now: DateTime<Utc>,
) -> StageResult {
    run_stage(&h.ports, reg, clock(), &d.body, Some(stage), now, ATTEMPT)
        .await
        .expect("stage ran")
}

/// The task ids kept for the score stage of `d`'s cycle.
async fn kept_ids(h: &Harness, store: &StoreId, d: &Delivery) -> BTreeSet<String> {
    let msg = StageMessage::from_json(&d.body).expect("message");
    let rec = h
        .ports
        .settings
        .get_setting(store, &setting_key(&msg))
        .await
        .expect("read")
        .expect("the posted tasks are kept");
    rec["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task_id"].as_str().expect("id").to_string())
        .collect()
}

pub async fn a_redelivered_score_stage_collects_the_tasks_it_posted(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let day = StoreDay::parse("2026-11-24").expect("day");
    let store = seeded_store(h, day, dir.path()).await;
    let twin = MerchantTwin::start().await;
    let reg = with_research(StageRegistry::new(), merchant_sources(&twin));
    let now = Utc::now();
    let input = ScheduledInput {
        cycle: CycleKind::Research,
        store: store.clone(),
        scheduled_time: clock().at_local(day, 11, 0).expect("time"),
        apply: None,
    };
    open_cycle(&h.ports, &clock(), &input, now)
        .await
        .expect("open");
    let lanes = one(h, Stage::Lanes).await;
    assert!(matches!(
        run(h, &reg, &lanes, Stage::Lanes, now).await,
        StageResult::Ran { .. }
    ));
    h.ports
        .queue
        .ack(Stage::Lanes, &lanes.receipt)
        .await
        .expect("ack");

    // The first delivery posts its tasks, then dies while DataForSEO still has them queued.
    twin.hold(true);
    let score = one(h, Stage::Score).await;
    tokio::select! {
        r = run(h, &reg, &score, Stage::Score, now) => panic!("finished while its tasks were queued: {r:?}"),
        _ = twin.asked_while_held() => {}
    }
    let (posts, created) = (twin.posts(), twin.created());
    assert_eq!(posts, 1, "one task_post");
    assert!(created > 0, "tasks posted");
    let kept = kept_ids(h, &store, &score).await;
    assert_eq!(
        kept.len(),
        created,
        "every posted task kept before the wait"
    );

    // Redelivered once that attempt's time is up: it collects the kept tasks, posts none.
    twin.hold(false);
    let later = now + chrono::Duration::minutes(5);
    let r = run(h, &reg, &score, Stage::Score, later).await;
    assert_eq!(r, StageResult::Ran { advanced: true });
    h.ports
        .queue
        .ack(Stage::Score, &score.receipt)
        .await
        .expect("ack");
    assert_eq!(
        (twin.posts(), twin.created()),
        (posts, created),
        "nothing posted (or billed) again"
    );
    let report = drain(
        &h.ports,
        &reg,
        clock(),
        CycleKind::Research,
        move || later,
        20,
    )
    .await
    .expect("drain");
    assert!(
        report.failed_cycles.is_empty() && report.retry_later.is_empty(),
        "{report:?}"
    );

    // The queued candidates still carry their match, from the kept tasks.
    let rows = queued(&h.ports, &store).await.expect("queue");
    assert!(!rows.is_empty());
    for row in &rows {
        let RowBody::ResearchCandidate(c) = &row.body else {
            panic!("candidate")
        };
        let m = c.supplier_match.as_ref().expect("match");
        assert_eq!(m.status, MatchStatus::Matched, "{}: {m:?}", c.title);
        let task = m.task_id.as_deref().expect("task id");
        assert!(kept.contains(task), "{task} was a kept task");
        let cost = m.supplier_cost.as_ref().expect("priced");
        assert_eq!(cost.price_minor, SUPPLIER_MINOR);
    }

    // Another cycle is other work: it posts its own tasks.
    research_with(h, &store, day.plus_days(1), merchant_sources(&twin)).await;
    assert_eq!(twin.posts(), posts + 1, "a fresh cycle posts again");
    assert!(twin.created() > created);
}
