//! The cycle pipeline contract: scheduler → stages → fan-in → next stage → cycle closed, with
//! duplicates, races and crashes. Generic over the harness, like the port contract.

use crate::fixtures::unique_store;
use crate::Harness;
use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage, StageMessage};
use otto_core::{RowStatus, StoreClock, StoreDay};
use otto_engine::cycles::{open_cycle, OpenOutcome, ScheduledInput};
use otto_engine::local::drain;
use otto_engine::{run_stage, StageBody, StageContext, StageOutput, StageRegistry, StageResult};
use otto_runtime::HandlerError;
use otto_store::{Acquire, PageReq};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

#[macro_export]
macro_rules! pipeline_suite {
    ($make:path) => {
        $crate::instantiate!(pipeline, $make;
            morning_cycle_runs_every_stage_once,
            duplicate_deliveries_run_once,
            two_schedulers_firing_at_once_open_one_cycle,
            crash_after_lock_before_enqueue_is_resumed,
            a_resume_keeps_the_runs_mode,
            permanent_stage_failure_ends_cycle_visibly,
            fan_out_fans_in_once,
            stale_fence_message_is_obsolete,
            other_cycle_waits_for_store_lock,
            dead_lettered_stage_ends_cycle_visibly
        );
    };
}

/// A stage body that counts its runs and can fan out or fail.
#[derive(Default)]
pub struct Counting {
    pub runs: AtomicU32,
    pub chunks_seen: Mutex<Vec<u32>>,
    pub fan_out: u32,
    pub fail_with: Option<String>,
}

#[async_trait]
impl StageBody for Counting {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        self.chunks_seen
            .lock()
            .map_err(|e| HandlerError::Permanent(e.to_string()))?
            .push(ctx.msg.chunk);
        if let Some(why) = &self.fail_with {
            return Err(HandlerError::Permanent(why.clone()));
        }
        // Any stage's report will do: this body stands in for every stage.
        let report = otto_core::report::DecideReport {
            rows: u64::from(ctx.msg.chunk),
            ..Default::default()
        };
        Ok(StageOutput::new(report, self.fan_out))
    }
}

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

fn at() -> DateTime<Utc> {
    "2026-11-24T05:00:00Z".parse().expect("time")
}

fn input(store: &otto_core::StoreId, cycle: CycleKind) -> ScheduledInput {
    ScheduledInput {
        cycle,
        store: store.clone(),
        scheduled_time: at(),
        apply: None,
    }
}

fn registry_for(kind: CycleKind, bodies: &[(Stage, Arc<Counting>)]) -> StageRegistry {
    let mut r = StageRegistry::new();
    for s in kind.stages() {
        let b = bodies
            .iter()
            .find(|(st, _)| st == s)
            .map(|(_, b)| b.clone())
            .unwrap_or_else(|| Arc::new(Counting::default()));
        r = r.with(*s, b);
    }
    r
}

async fn run_status(h: &Harness, cycle: &CycleId) -> RowStatus {
    h.ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle.to_string())
        .await
        .expect("read")
        .expect("cycle run exists")
        .status
}

async fn stage_rows(h: &Harness, cycle: &CycleId) -> Vec<otto_core::AuditRow> {
    h.ports
        .audit
        .by_cycle(AuditTable::StageRuns, cycle, PageReq::first(100))
        .await
        .expect("rows")
        .items
}

fn morning(store: &otto_core::StoreId) -> CycleId {
    CycleId::new(
        store.clone(),
        CycleKind::Morning,
        StoreDay::parse("2026-11-24").expect("day"),
    )
}

pub async fn morning_cycle_runs_every_stage_once(h: &Harness) {
    let store = unique_store();
    let bodies: Vec<(Stage, Arc<Counting>)> = CycleKind::Morning
        .stages()
        .iter()
        .map(|s| (*s, Arc::new(Counting::default())))
        .collect();
    let reg = registry_for(CycleKind::Morning, &bodies);
    let out = open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    let OpenOutcome::Opened {
        cycle_id,
        resumed,
        apply,
        ..
    } = out
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        cycle_id,
        format!("{store}:morning:2026-11-24"),
        "cycle id from the store's local date"
    );
    assert!(!resumed);
    assert!(!apply, "Phase 1 (dry-run) by default");
    let report = drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    assert_eq!(report.ran, 5, "{report:?}");
    for (s, b) in &bodies {
        assert_eq!(b.runs.load(Ordering::SeqCst), 1, "{s} ran once");
    }
    let c = morning(&store);
    assert_eq!(run_status(h, &c).await, RowStatus::Completed);
    assert_eq!(stage_rows(h, &c).await.len(), 5);
    let lock = CycleKind::Morning.lock_name(&store);
    assert!(
        h.ports.locks.current(&lock).await.expect("lock").is_none(),
        "store_lock released"
    );
    // The schedule firing again the same day does nothing.
    let again = open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    assert!(
        matches!(again, OpenOutcome::AlreadyDone { ref status, .. } if status == "COMPLETED"),
        "{again:?}"
    );
}

pub async fn duplicate_deliveries_run_once(h: &Harness) {
    let store = unique_store();
    let sync = Arc::new(Counting::default());
    let reg = registry_for(CycleKind::Morning, &[(Stage::Sync, sync.clone())]);
    open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    // SQS delivers the first message twice (at-least-once), possibly reordered with the rest.
    let first = h
        .ports
        .queue
        .receive(Stage::Sync, 10, std::time::Duration::from_secs(60))
        .await
        .expect("receive");
    assert_eq!(first.len(), 1);
    let body = first[0].body.clone();
    let a = run_stage(
        &h.ports,
        &reg,
        clock(),
        &body,
        Some(Stage::Sync),
        Utc::now(),
        std::time::Duration::from_secs(60),
    )
    .await
    .expect("first");
    let b = run_stage(
        &h.ports,
        &reg,
        clock(),
        &body,
        Some(Stage::Sync),
        Utc::now(),
        std::time::Duration::from_secs(60),
    )
    .await
    .expect("duplicate");
    assert_eq!(a, StageResult::Ran { advanced: true });
    assert_eq!(b, StageResult::Replayed { advanced: true });
    assert_eq!(sync.runs.load(Ordering::SeqCst), 1);
    h.ports
        .queue
        .ack(Stage::Sync, &first[0].receipt)
        .await
        .expect("ack");
    drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    let c = morning(&store);
    assert_eq!(run_status(h, &c).await, RowStatus::Completed);
    // The duplicate enqueued calibrate twice; it still ran once and logged once.
    let rows = stage_rows(h, &c).await;
    assert_eq!(
        rows.len(),
        5,
        "{:?}",
        rows.iter().map(|r| r.subject()).collect::<Vec<_>>()
    );
}

pub async fn two_schedulers_firing_at_once_open_one_cycle(h: &Harness) {
    let store = unique_store();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let ports = h.ports.clone();
        let i = input(&store, CycleKind::Morning);
        tasks.push(tokio::spawn(async move {
            open_cycle(&ports, &clock(), &i, at()).await
        }));
    }
    let mut fresh = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(OpenOutcome::Opened { resumed: false, .. }) => fresh += 1,
            Ok(OpenOutcome::Opened { resumed: true, .. }) => {}
            Ok(other) => panic!("{other:?}"),
            // Lost the race for the lock item itself: the scheduler retries.
            Err(e) => assert!(e.is_retryable(), "{e}"),
        }
    }
    assert_eq!(fresh, 1, "one cycle_runs row");
    let reg = registry_for(CycleKind::Morning, &[]);
    drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    let c = morning(&store);
    assert_eq!(run_status(h, &c).await, RowStatus::Completed);
    assert_eq!(
        stage_rows(h, &c).await.len(),
        5,
        "every stage logged once despite 1-4 first messages"
    );
}

pub async fn crash_after_lock_before_enqueue_is_resumed(h: &Harness) {
    let store = unique_store();
    let c = morning(&store);
    // The scheduler took the lock, then died before writing the run or enqueueing anything.
    let lock = CycleKind::Morning.lock_name(&store);
    let Acquire::Acquired(lease) = h
        .ports
        .locks
        .acquire(&lock, &c.to_string(), 7_200_000, at().timestamp_millis())
        .await
        .expect("acquire")
    else {
        panic!("lock")
    };
    // EventBridge Scheduler retries the invocation.
    let out = open_cycle(
        &h.ports,
        &clock(),
        &input(&store, CycleKind::Morning),
        at() + Duration::seconds(30),
    )
    .await
    .expect("retry");
    assert!(matches!(out, OpenOutcome::Opened { .. }), "{out:?}");
    let now_lease = h
        .ports
        .locks
        .current(&lock)
        .await
        .expect("lock")
        .expect("held");
    assert_eq!(
        now_lease.version, lease.version,
        "resumed with the same fencing token"
    );
    let reg = registry_for(CycleKind::Morning, &[]);
    drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    assert_eq!(run_status(h, &c).await, RowStatus::Completed);
}

/// A cycle keeps the mode its run was opened in: resuming a dry run with apply (or the other way
/// round) is refused naming both, and a resume that does not say keeps the run's mode.
pub async fn a_resume_keeps_the_runs_mode(h: &Harness) {
    let store = unique_store();
    let dry = ScheduledInput {
        apply: Some(false),
        ..input(&store, CycleKind::Morning)
    };
    let out = open_cycle(&h.ports, &clock(), &dry, at())
        .await
        .expect("open");
    assert!(
        matches!(out, OpenOutcome::Opened { apply: false, .. }),
        "{out:?}"
    );
    let wet = ScheduledInput {
        apply: Some(true),
        ..dry.clone()
    };
    let later = at() + Duration::seconds(30);
    match open_cycle(&h.ports, &clock(), &wet, later).await {
        Err(HandlerError::Conflict(m)) => {
            assert!(m.contains("dry run") && m.contains("apply"), "{m}")
        }
        other => panic!("a resume in the other mode must be refused: {other:?}"),
    }
    let unsaid = input(&store, CycleKind::Morning);
    let out = open_cycle(&h.ports, &clock(), &unsaid, later)
        .await
        .expect("resume");
    assert!(
        matches!(
            out,
            OpenOutcome::Opened {
                apply: false,
                resumed: true,
                ..
            }
        ),
        "{out:?}"
    );
    // Finished, the same holds: a dry run is not re-run to apply.
    let reg = registry_for(CycleKind::Morning, &[]);
    drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    assert!(matches!(
        open_cycle(&h.ports, &clock(), &wet, later).await,
        Err(HandlerError::Conflict(_))
    ));
}

pub async fn permanent_stage_failure_ends_cycle_visibly(h: &Harness) {
    let store = unique_store();
    let classify = Arc::new(Counting {
        fail_with: Some("Shopify answered 403 for products".into()),
        ..Default::default()
    });
    let reg = registry_for(CycleKind::Morning, &[(Stage::Classify, classify.clone())]);
    open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    let report = drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 20)
        .await
        .expect("drain");
    assert_eq!(report.failed_cycles.len(), 1, "{report:?}");
    let c = morning(&store);
    assert_eq!(run_status(h, &c).await, RowStatus::Failed);
    let run = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &c.to_string())
        .await
        .expect("read")
        .expect("row");
    let RowBody::CycleRun(body) = run.body else {
        panic!("cycle run body")
    };
    assert_eq!(
        body.error.as_deref(),
        Some("Shopify answered 403 for products")
    );
    let failed: Vec<_> = stage_rows(h, &c)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Failed)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].subject(), "classify");
    assert!(h
        .ports
        .locks
        .current(&CycleKind::Morning.lock_name(&store))
        .await
        .expect("lock")
        .is_none());
    assert_eq!(
        classify.runs.load(Ordering::SeqCst),
        1,
        "a permanent failure is not retried"
    );
}

pub async fn fan_out_fans_in_once(h: &Harness) {
    let store = unique_store();
    let calibrate = Arc::new(Counting {
        fan_out: 3,
        ..Default::default()
    });
    let classify = Arc::new(Counting::default());
    let decide = Arc::new(Counting::default());
    let reg = registry_for(
        CycleKind::Morning,
        &[
            (Stage::Calibrate, calibrate),
            (Stage::Classify, classify.clone()),
            (Stage::Decide, decide.clone()),
        ],
    );
    open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 30)
        .await
        .expect("drain");
    let mut seen = classify.chunks_seen.lock().expect("lock").clone();
    seen.sort();
    assert_eq!(seen, vec![0, 1, 2], "three classify chunks");
    assert_eq!(
        decide.runs.load(Ordering::SeqCst),
        1,
        "the last chunk advances the cycle once"
    );
    assert_eq!(run_status(h, &morning(&store)).await, RowStatus::Completed);
}

pub async fn stale_fence_message_is_obsolete(h: &Harness) {
    let store = unique_store();
    let reg = registry_for(CycleKind::Morning, &[]);
    let msg = StageMessage {
        cycle_id: morning(&store),
        stage: Stage::Sync,
        chunk: 0,
        chunks: 1,
        fence: otto_core::Fence {
            lock: CycleKind::Morning.lock_name(&store),
            version: "taken-over".into(),
        },
        apply: true,
    };
    let body = serde_json::to_string(&msg).expect("json");
    let r = run_stage(
        &h.ports,
        &reg,
        clock(),
        &body,
        Some(Stage::Sync),
        Utc::now(),
        std::time::Duration::from_secs(60),
    )
    .await
    .expect("run");
    assert_eq!(r, StageResult::Obsolete);
    assert!(stage_rows(h, &msg.cycle_id).await.is_empty());
    // Bad messages fail alone with a clear error.
    let bad = run_stage(
        &h.ports,
        &reg,
        clock(),
        "{\"cycle_id\":\"x\"}",
        Some(Stage::Sync),
        Utc::now(),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert!(
        matches!(bad, Err(HandlerError::Permanent(ref m)) if m.contains("cycle")),
        "{bad:?}"
    );
    let wrong = run_stage(
        &h.ports,
        &reg,
        clock(),
        &body,
        Some(Stage::Decide),
        Utc::now(),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert!(
        matches!(wrong, Err(HandlerError::Permanent(ref m)) if m.contains("decide worker")),
        "{wrong:?}"
    );
}

pub async fn other_cycle_waits_for_store_lock(h: &Harness) {
    let store = unique_store();
    open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open morning");
    let discount = open_cycle(
        &h.ports,
        &clock(),
        &input(&store, CycleKind::Discount),
        at(),
    )
    .await;
    assert!(
        matches!(discount, Err(HandlerError::Retryable(ref m)) if m.contains("store_lock")),
        "{discount:?}"
    );
    // CS triage has its own lock and is not blocked.
    let cs = open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Cs), at())
        .await
        .expect("cs");
    assert!(matches!(cs, OpenOutcome::Opened { .. }));
}

/// A stage whose retryable failures never clear is dead-lettered after 5 receives; the sweep then
/// ends its cycle visibly (FAILED stage row naming it, cycle_runs FAILED, lock released), and a
/// second sweep changes nothing.
pub async fn dead_lettered_stage_ends_cycle_visibly(h: &Harness) {
    let store = unique_store();
    let out = open_cycle(&h.ports, &clock(), &input(&store, CycleKind::Morning), at())
        .await
        .expect("open");
    assert!(matches!(out, OpenOutcome::Opened { .. }));
    let cycle = morning(&store);
    // Five receives without an ack: every attempt failed retryably (a vendor down for good).
    let mut receives = 0;
    for _ in 0..40 {
        let got = h
            .ports
            .queue
            .receive(Stage::Sync, 1, std::time::Duration::ZERO)
            .await
            .expect("receive");
        if got.is_empty() {
            if !h
                .ports
                .queue
                .dead_letters(Stage::Sync, 10)
                .await
                .expect("dlq")
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        }
        receives += 1;
    }
    assert_eq!(receives, 5, "redriven after maxReceiveCount");
    assert_eq!(
        run_status(h, &cycle).await,
        RowStatus::Running,
        "nothing ended it yet"
    );
    let report = otto_engine::dlq::sweep(&h.ports, clock(), at())
        .await
        .expect("sweep");
    assert_eq!(report.failed, vec![format!("{cycle} sync#0")], "{report:?}");
    assert_eq!(run_status(h, &cycle).await, RowStatus::Failed);
    let run = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle.to_string())
        .await
        .expect("read")
        .expect("run");
    let err = run.to_json()["body"]["error"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(
        err.contains("sync (chunk 1 of 1) was dead-lettered"),
        "{err}"
    );
    let rows = stage_rows(h, &cycle).await;
    assert!(
        rows.iter().any(|r| r.status == RowStatus::Failed),
        "a FAILED stage row"
    );
    assert!(
        matches!(
            h.ports
                .locks
                .acquire(
                    &CycleKind::Morning.lock_name(&store),
                    "next",
                    60_000,
                    at().timestamp_millis()
                )
                .await
                .expect("acquire"),
            Acquire::Acquired(_)
        ),
        "the store_lock was released"
    );
    let again = otto_engine::dlq::sweep(&h.ports, clock(), at())
        .await
        .expect("sweep again");
    assert_eq!(run_status(h, &cycle).await, RowStatus::Failed);
    assert!(again.seen <= 1);
    assert_eq!(
        stage_rows(h, &cycle).await.len(),
        rows.len(),
        "nothing logged twice"
    );
}
