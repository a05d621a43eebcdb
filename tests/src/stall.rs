//! The stall watch (`otto_engine::cycles::stall`, scheduled every 15 minutes): a cycle RUNNING past
//! its store_lock lease is ended FAILED with why, its lapsed lease given back, the FAILED alert
//! composed; a cycle whose lease is live is left alone. Generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AdDecisionRow, AuditRow, AuditTable, DecisionRow, NewRow, RowBody, RowRef};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::{Action, RowStatus, StoreClock, StoreId};
use otto_engine::cycles::stall::watch;
use otto_engine::cycles::{open_cycle, ScheduledInput, CYCLE_LEASE};
use std::collections::BTreeMap;

#[macro_export]
macro_rules! stall_suite {
    ($make:path) => {
        $crate::instantiate!(stall, $make;
            a_cycle_past_its_lease_is_ended_with_why_once,
            a_stalled_cycles_pending_moves_end_skipped_with_why,
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

/// A PENDING decision row and a PENDING ad row of `cycle`, logged but never started.
async fn pending_moves(h: &Harness, cycle: &CycleId) -> Vec<RowRef> {
    let decision = RowBody::Decision(DecisionRow {
        sku: otto_core::Sku::new("LIN-THROW-01").expect("sku"),
        action: Action::Draft,
        trigger: None,
        classification: None,
        reasoning: "test".into(),
        figures: BTreeMap::new(),
        window: None,
        r#move: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    });
    let ad = RowBody::AdDecision(AdDecisionRow {
        channel: "google_ads".into(),
        campaign: "EU/Linen/Throws".into(),
        campaign_id: "123".into(),
        action: Action::AdjustBudget,
        verdict: "AGREE".into(),
        reasoning: "test".into(),
        figures: BTreeMap::new(),
        budget_before: None,
        budget_after: None,
        r#move: None,
        rate_limit_position: None,
        watch: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    });
    let rows = [(Stage::Decide, decision), (Stage::CampaignPlan, ad)]
        .into_iter()
        .map(|(stage, body)| {
            NewRow::for_stage(cycle.clone(), stage, RowStatus::Pending, t0(), body)
        })
        .collect();
    let rows = h.ports.audit.append(rows, None).await.expect("append");
    rows.iter().map(|r| r.row_ref).collect()
}

/// A stalled cycle can apply nothing more: its PENDING moves end SKIPPED with why, as a failed
/// cycle's do.
pub async fn a_stalled_cycles_pending_moves_end_skipped_with_why(h: &Harness) {
    let store = unique_store();
    let morning = open(h, &store, CycleKind::Morning, t0()).await;
    let refs = pending_moves(h, &morning).await;
    let later = t0() + CYCLE_LEASE + Duration::minutes(1);
    let r = watch(&h.ports, &store, clock(), later)
        .await
        .expect("watch");
    assert_eq!(r.failed.len(), 1, "{r:?}");
    for r in refs {
        let row = h.ports.audit.get(r).await.expect("get").expect("row");
        assert_eq!(row.status, RowStatus::Skipped, "{r}");
        let result = match &row.body {
            RowBody::Decision(d) => d.result.clone(),
            RowBody::AdDecision(a) => a.result.clone(),
            _ => panic!("not a move row"),
        };
        let why = result.and_then(|v| v["skipped"].as_str().map(str::to_string));
        let why = why.unwrap_or_default();
        assert!(why.starts_with("cycle failed: STALLED:"), "{why}");
    }
}
