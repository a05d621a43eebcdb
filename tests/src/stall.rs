//! The stall watch (`otto_scheduler::stall`, scheduled every 15 minutes): a cycle RUNNING past
//! its store_lock lease is ended FAILED with why, its lapsed lease given back, the FAILED alert
//! composed; a cycle whose lease is live is left alone. Generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AuditRow, AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::{RowStatus, StoreClock, StoreId};
use otto_scheduler::stall::watch;
use otto_scheduler::{open_cycle, ScheduledInput, CYCLE_LEASE};

#[macro_export]
macro_rules! stall_suite {
    ($make:path) => {
        $crate::instantiate!(stall, $make;
            a_cycle_past_its_lease_is_ended_with_why_once,
            a_cycle_whose_lock_was_taken_over_is_ended_and_the_new_one_left_alone
        );
    };
}

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

fn t0() -> DateTime<Utc> {
    "2026-11-24T05:00:00Z".parse().expect("time")
}

async fn open(h: &Harness, store: &StoreId, cycle: CycleKind, at: DateTime<Utc>) -> CycleId {
    let input = ScheduledInput {
        cycle,
        store: store.clone(),
        scheduled_time: at,
        apply: None,
    };
    open_cycle(&h.ports, &clock(), &input, at)
        .await
        .expect("open");
    CycleId::new(store.clone(), cycle, clock().day_of(at))
}

async fn run_row(h: &Harness, cycle: &CycleId) -> AuditRow {
    h.ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &cycle.to_string())
        .await
        .expect("read")
        .expect("run row")
}

fn error_of(run: &AuditRow) -> String {
    match &run.body {
        RowBody::CycleRun(r) => r.error.clone().unwrap_or_default(),
        _ => panic!("not a cycle run"),
    }
}

pub async fn a_cycle_past_its_lease_is_ended_with_why_once(h: &Harness) {
    let store = unique_store();
    let morning = open(h, &store, CycleKind::Morning, t0()).await;
    // Within its lease: slow is not stalled.
    let r = watch(&h.ports, &store, clock(), t0() + Duration::hours(1))
        .await
        .expect("watch");
    assert_eq!((r.running, r.failed.len()), (1, 0), "{r:?}");
    assert_eq!(run_row(h, &morning).await.status, RowStatus::Running);

    // Past it: FAILED, with why and when (store time), the lapsed lease given back.
    let later = t0() + CYCLE_LEASE + Duration::minutes(1);
    let r = watch(&h.ports, &store, clock(), later)
        .await
        .expect("watch");
    let run = run_row(h, &morning).await;
    assert_eq!(r.failed, vec![run.row_ref.to_string()], "{r:?}");
    assert_eq!(run.status, RowStatus::Failed);
    let why = error_of(&run);
    assert!(why.starts_with("STALLED:"), "{why}");
    assert!(why.contains("2026-11-24 08:00 (Europe/Amsterdam)"), "{why}");
    let lock = CycleKind::Morning.lock_name(&store);
    assert!(h.ports.locks.current(&lock).await.expect("lock").is_none());

    // The FAILED alert Slack would get names the cycle and why.
    let engine = otto_answers::Engine::new(&h.ports, store.clone(), clock(), "");
    let notices = engine
        .after_cycle(&morning, later, 10)
        .await
        .expect("notices");
    assert!(
        notices
            .iter()
            .any(|n| n.title.contains("FAILED") && n.answer.answer.contains("STALLED")),
        "{notices:?}"
    );

    // A second watch: nothing RUNNING, nothing ended twice.
    let r = watch(&h.ports, &store, clock(), later + Duration::minutes(15))
        .await
        .expect("watch");
    assert_eq!((r.running, r.failed.len()), (0, 0), "{r:?}");
}

pub async fn a_cycle_whose_lock_was_taken_over_is_ended_and_the_new_one_left_alone(h: &Harness) {
    let store = unique_store();
    let morning = open(h, &store, CycleKind::Morning, t0()).await;
    // The research cycle takes the lapsed store_lock over.
    let research_at = t0() + CYCLE_LEASE + Duration::minutes(5);
    let research = open(h, &store, CycleKind::Research, research_at).await;
    let r = watch(
        &h.ports,
        &store,
        clock(),
        research_at + Duration::minutes(1),
    )
    .await
    .expect("watch");
    assert_eq!(r.running, 2, "{r:?}");
    let m = run_row(h, &morning).await;
    assert_eq!(r.failed, vec![m.row_ref.to_string()], "{r:?}");
    let why = error_of(&m);
    assert!(
        why.starts_with("STALLED:") && why.contains(&research.to_string()),
        "{why}"
    );
    assert_eq!(run_row(h, &research).await.status, RowStatus::Running);
    // The research cycle keeps its lease.
    let lease = h
        .ports
        .locks
        .current(&CycleKind::Research.lock_name(&store))
        .await
        .expect("lock")
        .expect("held");
    assert_eq!(lease.owner, research.to_string());
}
