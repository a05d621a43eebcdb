//! The fault-injection harness on the embedded store: ≥100 seeds in the normal run
//! (`OTTO_FAULT_SEEDS=1000` for the long mode, `OTTO_FAULT_SEED=<n>` to reproduce one seed with
//! its whole fault log).

use otto_tests::faults::plan::{OpKind, Site};
use otto_tests::faults::{self, Config, Sabotage, Takeover};

fn parallel() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_seeds_hold_every_invariant() {
    let seeds = faults::seeds(120);
    let s = faults::run_seeds(
        faults::embedded,
        faults::seed_store,
        &seeds,
        &Config {
            live: faults::verbose(),
            ..Config::embedded()
        },
        parallel(),
    )
    .await;
    faults::report(&s, |seed| {
        format!("OTTO_FAULT_SEED={seed} cargo test -p otto-tests --test faults_embedded fault_seeds -- --nocapture")
    });
    if seeds.len() >= 20 {
        // The scenario must exercise what it claims to: faults fire and moves of every kind are
        // applied (otherwise the invariants hold vacuously).
        let st = &s.stats;
        assert!(
            st.crashes > 0 && st.blips > 0 && st.vendor_timeouts > 0,
            "{}",
            s.detail()
        );
        assert!(
            st.dup_sends > 0
                && st.concurrent_pairs > 0
                && st.concurrent_schedulers > 0
                && st.stalls > 0,
            "{}",
            s.detail()
        );
        assert!(
            st.status_mutations > 0 && st.price_mutations > 0 && st.budget_mutations > 0,
            "{}",
            s.detail()
        );
        assert!(
            st.held_moves > 0,
            "rate limits bind in some seeds: {}",
            s.detail()
        );
        assert!(
            st.vendor_refusals > 0 && st.kill_switch_flips > 0 && st.outages > 0,
            "{}",
            s.detail()
        );
        // Issue 13's faults are drawn too.
        assert!(
            st.release_races > 0
                && st.rollback_races > 0
                && st.rollbacks_applied > 0
                && st.mode_conflicts > 0
                && st.dry_runs > 0
                && st.cs_sends > 0
                && st.slack_replays > 0,
            "{}",
            s.detail()
        );
        assert!(
            s.failed_cycles > 0,
            "an outage ends its cycle visibly FAILED: {}",
            s.detail()
        );
    }
}

/// The checker must be able to fail: a vendor wrapper that applies every move twice is caught.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_catches_a_vendor_that_applies_twice() {
    let cfg = Config {
        sabotage: Sabotage::DoubleApply,
        faults: false,
        ..Config::embedded()
    };
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &[1, 2, 3], &cfg, 2).await;
    assert_eq!(
        s.failing.len(),
        3,
        "every sabotaged seed fails: {}",
        s.line()
    );
    for r in &s.failing {
        assert!(
            r.violations
                .iter()
                .any(|v| v.contains("applied 2 times at the vendor")),
            "seed {}: {:#?}",
            r.seed,
            r.violations
        );
    }
}

/// The checker must be able to fail: rows whose natural key changes per attempt are logged again
/// when a crashed stage re-runs, and the checker sees the same fact twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_catches_rows_logged_twice_by_a_retry() {
    let cfg = Config {
        sabotage: Sabotage::UnstableNaturalKeys,
        ..Config::embedded()
    };
    let seeds: Vec<u64> = (1..=6).collect();
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &seeds, &cfg, 2).await;
    assert!(
        s.failing.iter().any(|r| r
            .violations
            .iter()
            .any(|v| v.starts_with("decision_log: fact") && v.contains("logged 2 times"))),
        "some retried decide stage logs its rows twice: {:#?}",
        s.failing.iter().map(|r| &r.violations).collect::<Vec<_>>()
    );
}

/// The checker must be able to fail: a counter store that ignores limits lets more moves through
/// than the policy allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_catches_rate_limits_exceeded() {
    let cfg = Config {
        sabotage: Sabotage::IgnoreLimits,
        faults: false,
        ..Config::embedded()
    };
    let seeds: Vec<u64> = (1..=4).collect();
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &seeds, &cfg, 2).await;
    assert!(
        s.failing.iter().any(|r| r
            .violations
            .iter()
            .any(|v| v.contains("applied on") && v.contains(", limit "))),
        "some seed exceeds a daily limit: {:#?}",
        s.failing.iter().map(|r| &r.violations).collect::<Vec<_>>()
    );
}

/// Without faults the same scenario passes (the baseline the faults are measured against).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_free_baseline_holds() {
    let cfg = Config {
        faults: false,
        concurrency: false,
        ..Config::embedded()
    };
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &[1, 2, 3, 4], &cfg, 2).await;
    faults::report(&s, |seed| {
        format!("seed {seed} of fault_free_baseline_holds")
    });
    assert!(s.stats.applied_moves > 0, "{}", s.detail());
}

/// FINDING (seed 36 of the first runs; reproduced here deterministically): a stage process that
/// stalls past its lease *after* moving a row to APPLYING (fenced, succeeded) and *before* the
/// vendor call. The cycle is opened again under a new token; its executor finds the row APPLYING,
/// reads the shop (not yet at target) and applies the move; then the stale process resumes and
/// makes the same vendor call again: the move is applied twice at the vendor (same absolute
/// target, so the shop ends up right, but "never applied twice" is broken). The vendor call is
/// the one step no fence guards. Since then the executor reads the lock again right before every
/// vendor call (`still_fenced`), which closes the window up to the vendor call itself; this test
/// stalls the holder *at* the call, which only vendor-side idempotency could close. In Lambda a
/// stage times out after ≤ 300 s, far inside the 2 h lease, so only an in-process run (a laptop
/// suspended mid-cycle) can hit it. Run with `cargo test -p otto-tests --test faults_embedded --
/// --ignored stale_holder_between_applying_and_vendor_call --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "known gap: a holder stalled at the vendor call itself (see the comment)"]
async fn stale_holder_between_applying_and_vendor_call() {
    let cfg = Config {
        faults: false,
        concurrency: false,
        stall_before_vendor: true,
        force_stall: Some((0, Site::Kind(OpKind::VendorMutation, 1))),
        ..Config::embedded()
    };
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &[36], &cfg, 1).await;
    faults::report(&s, |_| {
        "cargo test -p otto-tests --test faults_embedded -- --ignored stale_holder_between_applying_and_vendor_call --nocapture".into()
    });
}

/// Found by the harness, fixed (`abandon_taken_over` in otto-stage): a morning cycle whose holder
/// stalls past its lease while the next cycle takes the store_lock used to stay RUNNING for good
/// (its remaining messages were dropped as obsolete). Now the first obsolete message ends it
/// FAILED with why. Run with `cargo test -p otto-tests
/// --test faults_embedded -- --ignored next_cycle_takes_over_a_stalled_cycle --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_cycle_takes_over_a_stalled_cycle() {
    let cfg = Config {
        faults: false,
        concurrency: false,
        takeover: Takeover::NextCycle,
        force_stall: Some((0, Site::Kind(OpKind::StageRunAppend, 1))),
        ..Config::embedded()
    };
    let s = faults::run_seeds(faults::embedded, faults::seed_store, &[1], &cfg, 1).await;
    faults::report(&s, |_| {
        "cargo test -p otto-tests --test faults_embedded -- --ignored next_cycle_takes_over_a_stalled_cycle --nocapture".into()
    });
}

/// Found by the harness, fixed (the confirm-on-retry result now has the fresh write's shape):
/// a status move
/// whose vendor call timed out after succeeding (or whose process died right after it) is
/// resolved on retry by reading the shop, and marked APPLIED with a result of another shape
/// (`{"confirmed": …, "updatedAt": …}` instead of `{"product": {"id", "updatedAt"}}`). The next
/// morning's decide reads Otto's own writes from `/product/updatedAt` only, so it takes that
/// write for a person's edit and SKIPS the SKU ("edited in Shopify … left alone"). Seed 42:
/// decision_log#73 (SKU-COT-010-SND-M) is confirmed on 2026-11-23; the 2026-11-24 row for the
/// SKU is SKIPPED, where the fault-free run of the same seed records it (KEEP). Run with `cargo
/// test -p otto-tests --test faults_embedded -- --ignored crash_resolved_move --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_resolved_move_is_mistaken_for_an_external_edit() {
    use otto_core::audit::{AuditTable, RowBody};
    use otto_core::cycle::{CycleId, CycleKind};
    use otto_core::RowStatus;
    use otto_store::PageReq;
    let seed = 42;
    let sp = faults::embedded().await.expect("embedded store");
    let store = faults::seed_store(seed);
    let r = faults::run_seed(&sp.ports, store.clone(), seed, Config::embedded()).await;
    assert!(r.violations.is_empty(), "{:#?}", r.violations);
    let mut mistaken = Vec::new();
    let days = [-2i64, -1, 0].map(|d| faults::driver::today().plus_days(d));
    let mut previous: Vec<otto_core::AuditRow> = Vec::new();
    for day in days {
        let c = CycleId::new(store.clone(), CycleKind::Morning, day);
        let rows = sp
            .ports
            .audit
            .by_cycle(AuditTable::DecisionLog, &c, PageReq::first(500))
            .await
            .expect("rows")
            .items;
        for row in &rows {
            let RowBody::Decision(d) = &row.body else {
                continue;
            };
            let edited = d
                .hold_reason
                .as_deref()
                .is_some_and(|h| h.contains("edited in Shopify"));
            let confirmed_before = previous.iter().any(|p| {
                matches!(&p.body, RowBody::Decision(pd) if pd.sku == d.sku
                    && p.status == RowStatus::Applied
                    && pd.result.as_ref().is_some_and(|x| x.get("confirmed").is_some()))
            });
            if edited && confirmed_before {
                mistaken.push(format!("{} {}: {:?}", row.row_ref, d.sku, d.hold_reason));
            }
        }
        previous = rows;
    }
    assert!(
        mistaken.is_empty(),
        "Otto's own (crash-resolved) moves taken for external edits: {mistaken:#?}"
    );
}
