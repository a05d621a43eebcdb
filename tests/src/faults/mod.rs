//! The fault-injection harness (issue 8): a deterministic, seeded simulation that runs whole
//! cycles — three Phase 2 mornings (moves applied through the simulated shop and ad account) and
//! the discount cycles that open and restore windows — while injecting faults, then checks the
//! invariants.
//!
//! Injected, per seed (drawn from a `ChaCha8Rng` seeded with the seed number):
//! - crashes at stage boundaries and between executor writes: a process dies before or after its
//!   Nth write (or the Nth write of a kind: stage_runs append, fan-in, send, ack, rate-limit
//!   counter, APPLYING/APPLIED transitions, window writes …); everything after it fails, so
//!   nothing is cleaned up, and the message is redelivered;
//! - single transient failures of a write, before it or after it succeeded (the answer lost);
//! - vendor mutations that time out after succeeding (or before reaching the vendor);
//! - duplicate deliveries (a send enqueues twice; an ack is lost) and reordering (receive order
//!   and stage polling order shuffled); two workers on two deliveries at once;
//! - two schedulers firing the same cycle at once;
//! - a lock holder that stalls past its lease: the clock moves 2 h 5 min on, the cycle is opened
//!   again (new fencing token), runs to the end, then the stale process carries on;
//! - a vendor that refuses a mutation (the row FAILS), a vendor outage for a whole cycle (403 on
//!   every read: the cycle must end visibly FAILED), the operator's kill switch flipped mid-cycle;
//! - (issue 13) 2–10 operators releasing one held row at once, each in a process with executor
//!   faults of its own (every caller without a fault of its own gets the row, at most one is told
//!   `released_now`, exactly one when none failed; a failed caller clicks again once attempts
//!   could have expired); a customer-service triage cycle whose SEND rows go through the same
//!   executor, often with the kill switch turned on before it or its redelivery (a helpdesk that
//!   marks what it sent, as Gorgias does); dry-run cycles, resumes asking for the other mode (must
//!   be a 409 naming both modes) and two schedulers asking for different modes at once; the kill
//!   switch flipped through signed Slack commands, and a captured `kill-switch on` replayed
//!   inside the signature window after the operator turned it off (must run nothing); 2–10
//!   operators undoing one APPLIED row at once (`Move::Revert` through the executor), sometimes
//!   with a release of the same row racing them, each in a process with executor faults of its
//!   own (one REVERT row per original, at most one vendor write per row, every caller without a
//!   fault answered with the one undo row, at most one told `reverted_now`).
//!   The vendor wrapper forwards the morning sync's `fetch_catalog`, `sku_sales` and
//!   `sku_performance_report` with faults drawn.
//!
//! Only the first two deliveries of a message carry faults, so none reaches the dead-letter queue
//! (a documented gap, not this harness's subject). Two fault placements are left out of the
//! default mix because they break an invariant in the product today; each has an ignored
//! reproduction in `tests/tests/faults_embedded.rs`: a stall right before a vendor mutation
//! (`stale_holder_between_applying_and_vendor_call`) and the *next* cycle taking the lock from a
//! stalled one (`next_cycle_takes_over_a_stalled_cycle`).
//!
//! Checked after each seed: see [`check`]. Reproduce a seed with
//! `OTTO_FAULT_SEED=<n> cargo test -p otto-tests --test faults_embedded -- --nocapture` (its whole
//! fault log is printed); run more seeds with `OTTO_FAULT_SEEDS=1000`. The same seed on the same
//! code injects the same faults in the same order (processes that run "at once" are interleaved
//! call by call on one task, not on threads).

pub mod check;
pub mod driver;
pub mod plan;
pub mod wrap;

pub use driver::{Config, SeedReport, Takeover, World};
pub use wrap::{Sabotage, Stats};

use crate::Harness;
use otto_core::StoreId;
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::Ports;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

/// What a run of many seeds found.
#[derive(Debug, Default)]
pub struct Summary {
    pub seeds: usize,
    pub stats: Stats,
    pub failing: Vec<SeedReport>,
    pub failed_cycles: usize,
    pub elapsed: std::time::Duration,
}

impl Summary {
    pub fn violations(&self) -> usize {
        self.failing.iter().map(|r| r.violations.len()).sum()
    }

    /// The one-line summary.
    pub fn line(&self) -> String {
        format!(
            "faults: {} seeds, {} faults injected, {} crashes resumed, {} invariant violations",
            self.seeds,
            self.stats.injected(),
            self.stats.crashes,
            self.violations()
        )
    }

    pub fn detail(&self) -> String {
        let s = &self.stats;
        format!(
            "faults: detail: {} processes; {} crashes, {} write timeouts, {} vendor timeouts, {} vendor refusals, {} vendor outages, {} kill-switch flips, {} read timeouts, {} duplicate sends, {} lost acks, {} concurrent deliveries, {} concurrent schedulers, {} stalled lock holders ({} stale vendor calls); {} retried, {} replayed, {} obsolete; {} moves applied ({} status, {} price, {} budget), {} held; {} CS replies sent; {} release races ({} callers), {} rollback races ({} callers, {} racing releases, {} undos applied), {} refused mode changes, {} dry-run cycles, {} Slack replays; {} cycles visibly FAILED; {:.1} s",
            s.processes,
            s.crashes,
            s.blips,
            s.vendor_timeouts,
            s.vendor_refusals,
            s.outages,
            s.kill_switch_flips,
            s.read_blips,
            s.dup_sends,
            s.lost_acks,
            s.concurrent_pairs,
            s.concurrent_schedulers,
            s.stalls,
            s.stale_vendor_calls,
            s.retried,
            s.replayed,
            s.obsolete,
            s.applied_moves,
            s.status_mutations,
            s.price_mutations,
            s.budget_mutations,
            s.held_moves,
            s.cs_sends,
            s.release_races,
            s.racing_releases,
            s.rollback_races,
            s.racing_rollbacks,
            s.racing_rollback_releases,
            s.rollbacks_applied,
            s.mode_conflicts,
            s.dry_runs,
            s.slack_replays,
            self.failed_cycles,
            self.elapsed.as_secs_f64()
        )
    }
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(n) => Some(n),
        Err(_) => panic!("{name}={v:?} is not a number"),
    }
}

/// The seeds of this run: `OTTO_FAULT_SEED=n` → just n; `OTTO_FAULT_SEEDS=N` → 1..=N; else
/// 1..=`default`.
pub fn seeds(default: u64) -> Vec<u64> {
    if let Some(n) = env_u64("OTTO_FAULT_SEED") {
        return vec![n];
    }
    let count = env_u64("OTTO_FAULT_SEEDS").unwrap_or(default);
    (1..=count).collect()
}

/// Whether one seed was asked for (then its whole fault log is printed).
pub fn verbose() -> bool {
    std::env::var("OTTO_FAULT_SEED").is_ok()
}

/// A temporary directory in memory where there is one (`/dev/shm`): the embedded store runs with
/// `synchronous = FULL`, and a hundred seeds of fsyncs on a disk take minutes.
pub fn fast_tempdir() -> Result<tempfile::TempDir, String> {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(shm).or_else(|_| tempfile::tempdir())
    } else {
        tempfile::tempdir()
    };
    dir.map_err(|e| format!("temp dir: {e}"))
}

/// The ports one seed runs on, and what must live as long as they do.
pub struct SeedPorts {
    pub ports: Ports,
    _dir: Option<tempfile::TempDir>,
    _harness: Option<Harness>,
}

impl From<Harness> for SeedPorts {
    fn from(h: Harness) -> Self {
        SeedPorts {
            ports: h.ports.clone(),
            _dir: None,
            _harness: Some(h),
        }
    }
}

/// A fresh embedded store (SQLite + its durable queue, max receive count 5 as in the template),
/// in memory where possible.
pub async fn embedded() -> Option<SeedPorts> {
    let dir = fast_tempdir().expect("a temporary directory");
    let store = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
    Some(SeedPorts {
        ports: Ports::from_adapter(Arc::new(store), queue),
        _dir: Some(dir),
        _harness: None,
    })
}

/// DynamoDB + SQS on moto (fresh queues per seed), or None when moto is not configured.
pub async fn moto() -> Option<SeedPorts> {
    crate::harness::moto().await.map(SeedPorts::from)
}

/// Runs one seed on some ports.
pub async fn run_seed(ports: &Ports, store: StoreId, seed: u64, cfg: Config) -> SeedReport {
    match World::new(ports.clone(), store, seed, cfg) {
        Ok(w) => w.run().await,
        Err(e) => SeedReport {
            seed,
            violations: vec![format!("could not set the seed up: {e}")],
            ..SeedReport::default()
        },
    }
}

/// Runs seeds, `parallel` at a time, each on a fresh harness from `make`.
pub async fn run_seeds<M, Fut>(
    make: M,
    store: fn(u64) -> StoreId,
    seeds: &[u64],
    cfg: &Config,
    parallel: usize,
) -> Summary
where
    M: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Option<SeedPorts>> + Send + 'static,
{
    let started = Instant::now();
    let make = Arc::new(make);
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for &seed in seeds {
        let (make, sem, cfg) = (make.clone(), sem.clone(), cfg.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            let Some(h) = make().await else {
                return SeedReport {
                    seed,
                    violations: vec!["the harness is not configured".into()],
                    ..SeedReport::default()
                };
            };
            run_seed(&h.ports, store(seed), seed, cfg).await
        });
    }
    let mut summary = Summary {
        seeds: seeds.len(),
        ..Summary::default()
    };
    let mut reports = Vec::new();
    while let Some(r) = set.join_next().await {
        match r {
            Ok(r) => reports.push(r),
            Err(e) => reports.push(SeedReport {
                violations: vec![format!("a seed's task panicked: {e}")],
                ..SeedReport::default()
            }),
        }
    }
    reports.sort_by_key(|r| r.seed);
    for r in reports {
        summary.stats.add(&r.stats);
        summary.failed_cycles += r.failed_cycles.len();
        if verbose() {
            for f in &r.failed_cycles {
                eprintln!("  cycle failed visibly: {f}");
            }
        }
        if !r.violations.is_empty() {
            summary.failing.push(r);
        }
    }
    summary.elapsed = started.elapsed();
    summary
}

/// Prints the summary and every failing seed (with `repro(seed)`, the command that reproduces
/// it); panics if any invariant was violated.
pub fn report(summary: &Summary, repro: impl Fn(u64) -> String) {
    eprintln!("{}", summary.line());
    eprintln!("{}", summary.detail());
    if summary.failing.is_empty() {
        return;
    }
    for r in summary.failing.iter().take(3) {
        if !verbose() {
            eprintln!("faults: the log of seed {}:", r.seed);
            for l in &r.log {
                eprintln!("{l}");
            }
        }
    }
    for r in &summary.failing {
        eprintln!(
            "faults: seed {} violated {} invariant(s); reproduce with {}",
            r.seed,
            r.violations.len(),
            repro(r.seed)
        );
        for v in &r.violations {
            eprintln!("  - {v}");
        }
    }
    let seeds: Vec<String> = summary.failing.iter().map(|r| r.seed.to_string()).collect();
    panic!(
        "{} invariant violation(s) in seed(s) {} (details above)",
        summary.violations(),
        seeds.join(", ")
    );
}

/// The store id of a seed on a store of its own.
pub fn seed_store(seed: u64) -> StoreId {
    StoreId::new(format!("faults-{seed}")).expect("a valid store id")
}

/// A store id no other run uses (for shared tables, e.g. moto).
pub fn fresh_store(_seed: u64) -> StoreId {
    crate::fixtures::unique_store()
}
