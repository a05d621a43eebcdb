//! The driver: runs whole cycles (three mornings and two discount cycles, all Phase 2) the way
//! EventBridge Scheduler, SQS and Lambda would — scheduler retries, redelivery of every message
//! that was not acked, receive order shuffled — with a simulated clock, while the processes'
//! wrapped ports inject the faults of their plans. Then it collects what the run left behind for
//! [`check`](super::check::check).

use super::check::{check, Observed};
use super::plan::{self, ProcPlan, Role, Site};
use super::wrap::{
    faulty_ports, lock, FaultyVendor, MutationKind, Proc, Sabotage, Shared, StallHandle, Stats,
};
use chrono::{DateTime, Duration, Utc};
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::ShopCatalog;
use otto_core::audit::{AuditRow, AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::money::Currency;
use otto_core::policy::Policy;
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use otto_runtime::HandlerError;
use otto_scheduler::{open_cycle, ScheduledInput, CYCLE_LEASE};
use otto_stage::morning::{morning_registry, Vendors};
use otto_stage::{run_stage, StageRegistry, StageResult};
use otto_store::{Delivery, PageReq, Ports};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// How long a stage attempt is trusted (the Lambda deadline); the driver moves its clock past it
/// after every failed attempt, so a crashed attempt's idempotency record can be taken over.
pub const IN_PROGRESS: std::time::Duration = std::time::Duration::from_secs(60);
/// Deliveries of a message that may carry faults; later ones run clean, so no message reaches
/// the dead-letter queue (maxReceiveCount 5).
const FAULTY_ATTEMPTS: u32 = 2;
const MAX_ROUNDS: usize = 400;

/// Who takes the lock over from a stalled holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takeover {
    /// The same cycle, re-opened after its lease lapsed (a scheduler retry, an operator's
    /// `otto cycle run`): it resumes under a new fencing token.
    SameCycle,
    /// The next scheduled cycle (e.g. the 16:00 discount cycle after a morning that stalled).
    NextCycle,
    /// Either, drawn per stall from the seed.
    Either,
}

/// What one seed's run looks like.
#[derive(Debug, Clone)]
pub struct Config {
    /// Variants in the synthetic shop: drawn from this range per seed.
    pub variants: (usize, usize),
    pub days: u32,
    /// Morning cycles before the discount cycle (the first of them has no history).
    pub mornings: u32,
    /// Also run the discount cycle on the day the windows end (PRICE_RESTORE).
    pub restore: bool,
    /// Percent of seeds with a lock holder that stalls past its lease.
    pub stall_pct: u32,
    /// Whether a stall may stop a process right before a vendor mutation.
    pub stall_before_vendor: bool,
    pub takeover: Takeover,
    /// Two schedulers at once, two workers on two deliveries at once.
    pub concurrency: bool,
    /// Crashes, timeouts, duplicates (off: the same run, fault-free).
    pub faults: bool,
    pub sabotage: Sabotage,
    /// Force a stall in this cycle (index), whatever `stall_pct` says.
    pub force_stall: Option<(usize, Site)>,
    /// Print the fault log as it happens.
    pub live: bool,
}

impl Config {
    pub fn embedded() -> Self {
        Config {
            variants: (40, 60),
            days: 30,
            mornings: 3,
            restore: true,
            stall_pct: 30,
            stall_before_vendor: false,
            takeover: Takeover::Either,
            concurrency: true,
            faults: true,
            sabotage: Sabotage::None,
            force_stall: None,
            live: false,
        }
    }
    /// Smaller on moto: every port call is an HTTP request to a serialised emulator.
    pub fn moto() -> Self {
        Config {
            variants: (12, 16),
            mornings: 2,
            ..Config::embedded()
        }
    }
}

/// One seed's outcome.
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    pub seed: u64,
    pub stats: Stats,
    pub violations: Vec<String>,
    /// Every injected fault and process outcome, in order (printed for the first failing seeds,
    /// and live when one seed is run with `OTTO_FAULT_SEED`).
    pub log: Vec<String>,
    /// Cycles that ended FAILED (visibly): allowed, but reported.
    pub failed_cycles: Vec<String>,
}

pub fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("the store time zone is valid")
}

/// The last day of the scenario's mornings.
pub fn today() -> StoreDay {
    StoreDay::parse("2026-11-24").expect("valid day")
}

fn at(kind: CycleKind, day: StoreDay) -> DateTime<Utc> {
    let (h, m) = kind.scheduled_at().unwrap_or((6, 0));
    clock()
        .at_local(day, h, m)
        .expect("scheduled times exist in Europe/Amsterdam")
}

type StageFuture = Pin<Box<dyn Future<Output = Result<StageResult, HandlerError>> + Send>>;

/// A process handle: its wrapped ports and stage bodies (over its wrapped vendor).
#[derive(Clone)]
struct Handle {
    p: Arc<Proc>,
    ports: Ports,
    registry: StageRegistry,
}

/// A stage process stopped mid-way, past its lease.
struct Stalled {
    fut: StageFuture,
    resume: tokio::sync::oneshot::Sender<()>,
    handle: Handle,
    stage: Stage,
    delivery: Delivery,
}

enum Stall {
    Idle,
    /// The next delivery after `skip` more becomes the stalled holder (if it reaches `site`).
    Armed {
        cycle: usize,
        skip: u32,
        site: Site,
    },
    Paused(Box<Stalled>),
}

pub struct World {
    seed: u64,
    cfg: Config,
    base: Ports,
    sim: Arc<SimulatedVendor>,
    _sim_dir: tempfile::TempDir,
    shared: Arc<Shared>,
    rng: Mutex<ChaCha8Rng>,
    now: Mutex<DateTime<Utc>>,
    store: StoreId,
    policy: Policy,
    next_id: AtomicU32,
    stall: Mutex<Stall>,
    cycles: Vec<(CycleKind, StoreDay)>,
    opened: Mutex<Vec<bool>>,
    problems: Mutex<Vec<String>>,
    failed: Mutex<Vec<String>>,
    /// Deliveries left before the operator turns the kill switch on (mid-cycle).
    kill_after: Mutex<Option<u32>>,
    kill_on: std::sync::atomic::AtomicBool,
    /// Kinds of the cycles opened and not yet drained: whose queues `drain` polls.
    live_kinds: Mutex<Vec<CycleKind>>,
}

impl World {
    /// A world for one seed over fresh-enough ports (the store id must be unused in them).
    pub fn new(base: Ports, store: StoreId, seed: u64, cfg: Config) -> Result<Self, String> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let variants = rng.gen_range(cfg.variants.0..=cfg.variants.1);
        let policy = Policy {
            catalog_moves_per_day: rng.gen_range(1..=4),
            budget_changes_per_week: rng.gen_range(1..=3),
            discount_tests_per_day: rng.gen_range(1..=3),
            discount_window_days: rng.gen_range(1..=2),
            apply: true,
            ..Policy::default()
        };
        let dir = super::fast_tempdir()?;
        let spec = SimSpec {
            variants,
            days: cfg.days,
            last_day: today().plus_days(-1),
            seed,
            currency: Currency::EUR,
        };
        let sim = Arc::new(
            SimulatedVendor::create(&dir.path().join("sim.json"), spec)
                .map_err(|e| format!("simulated vendor: {e}"))?,
        );
        let mut cycles: Vec<(CycleKind, StoreDay)> = (0..cfg.mornings)
            .rev()
            .map(|k| (CycleKind::Morning, today().plus_days(-i64::from(k))))
            .collect();
        cycles.push((CycleKind::Discount, today()));
        if cfg.restore {
            cycles.push((
                CycleKind::Discount,
                today().plus_days(i64::from(policy.discount_window_days)),
            ));
        }
        let shared = Arc::new(Shared {
            sabotage: cfg.sabotage,
            live: cfg.live,
            ..Shared::default()
        });
        shared.note(format!(
            "seed {seed}: store {store}, {variants} variants, policy catalog {}/day, budgets {}/week, discounts {}/day, window {} days",
            policy.catalog_moves_per_day,
            policy.budget_changes_per_week,
            policy.discount_tests_per_day,
            policy.discount_window_days
        ));
        let n = cycles.len();
        Ok(World {
            seed,
            cfg,
            base,
            sim,
            _sim_dir: dir,
            shared,
            rng: Mutex::new(rng),
            now: Mutex::new(at(CycleKind::Morning, today())),
            store,
            policy,
            next_id: AtomicU32::new(1),
            stall: Mutex::new(Stall::Idle),
            cycles,
            opened: Mutex::new(vec![false; n]),
            problems: Mutex::new(vec![]),
            failed: Mutex::new(vec![]),
            kill_after: Mutex::new(None),
            kill_on: std::sync::atomic::AtomicBool::new(false),
            live_kinds: Mutex::new(vec![]),
        })
    }

    fn note(&self, line: String) {
        self.shared.note(line);
    }

    fn problem(&self, line: String) {
        self.note(format!("  PROBLEM: {line}"));
        lock(&self.problems).push(line);
    }

    fn tick(&self) -> DateTime<Utc> {
        let mut now = lock(&self.now);
        *now += Duration::seconds(1);
        *now
    }

    fn advance(&self, by: Duration) {
        *lock(&self.now) += by;
    }

    fn at_least(&self, t: DateTime<Utc>) {
        let mut now = lock(&self.now);
        if *now < t {
            *now = t;
        }
    }

    fn draw(&self, role: Role, attempt: u32) -> ProcPlan {
        if !self.cfg.faults {
            return ProcPlan::clean();
        }
        plan::draw(&mut lock(&self.rng), role, attempt, FAULTY_ATTEMPTS)
    }

    fn process(&self, label: String, plan: ProcPlan) -> (Handle, StallHandle) {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst);
        let sub = ChaCha8Rng::seed_from_u64(lock(&self.rng).gen());
        if !plan.armed.is_empty() || plan.lost_ack || plan.read_blip_at.is_some() {
            self.note(format!("p{id} {label}: plan {plan:?}"));
        }
        let (p, stall) = Proc::new(id, label, plan, sub, self.shared.clone());
        let ports = faulty_ports(&self.base, &p);
        let vendor = Arc::new(FaultyVendor {
            inner: self.sim.clone(),
            p: p.clone(),
        });
        let vendors = Vendors {
            shop: vendor.clone(),
            ads: vendor,
        };
        let registry =
            otto_stage::discount::with_discount(morning_registry(vendors.clone()), vendors);
        (Handle { p, ports, registry }, stall)
    }

    /// One scheduler firing, retried as EventBridge Scheduler would until it succeeds.
    async fn schedule(&self, kind: CycleKind, day: StoreDay, who: &str) {
        let input = ScheduledInput {
            cycle: kind,
            store: self.store.clone(),
            scheduled_time: at(kind, day),
            apply: Some(true),
        };
        for attempt in 1..=40 {
            let plan = self.draw(Role::Scheduler, attempt);
            let (h, _) = self.process(format!("scheduler {kind} {day} {who}#{attempt}"), plan);
            let now = self.tick();
            let r = open_cycle(&h.ports, &clock(), &input, now).await;
            if h.p.is_dead() {
                self.note(format!("p{} crashed; the scheduler retries", h.p.id));
                self.shared.stat(|s| s.retried += 1);
                self.advance(Duration::seconds(61));
                continue;
            }
            match r {
                Ok(out) => {
                    self.note(format!("p{} {out:?}", h.p.id));
                    return;
                }
                Err(HandlerError::Retryable(m)) => {
                    self.note(format!("p{} retryable: {m}", h.p.id));
                    self.shared.stat(|s| s.retried += 1);
                    self.advance(if m.contains("held by") {
                        Duration::minutes(10)
                    } else {
                        Duration::seconds(61)
                    });
                }
                Err(HandlerError::Permanent(m) | HandlerError::Conflict(m)) => {
                    self.problem(format!(
                        "scheduler for {kind} {day} failed permanently: {m}"
                    ));
                    return;
                }
            }
        }
        self.problem(format!(
            "scheduler for {kind} {day} did not succeed in 40 attempts"
        ));
    }

    async fn open(&self, i: usize) {
        let (kind, day) = self.cycles[i];
        self.at_least(at(kind, day));
        lock(&self.opened)[i] = true;
        {
            let mut kinds = lock(&self.live_kinds);
            if !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
        let concurrent = self.cfg.concurrency && lock(&self.rng).gen_ratio(1, 3);
        if concurrent {
            self.shared.stat(|s| s.concurrent_schedulers += 1);
            self.note(format!("two schedulers fire {kind} {day} at once"));
            tokio::join!(self.schedule(kind, day, "A"), self.schedule(kind, day, "B"));
        } else {
            self.schedule(kind, day, "").await;
        }
    }

    /// Handles what a process returned, as the SQS event source would: ack on success, leave the
    /// message for redelivery otherwise (a crashed process acks nothing).
    async fn settle(
        &self,
        stage: Stage,
        d: &Delivery,
        h: &Handle,
        r: Result<StageResult, HandlerError>,
    ) {
        let id = h.p.id;
        if h.p.is_dead() {
            self.note(format!("p{id} crashed ({r:?}); redelivered"));
            self.shared.stat(|s| s.retried += 1);
            self.advance(
                Duration::from_std(IN_PROGRESS).unwrap_or_default() + Duration::seconds(1),
            );
            return;
        }
        match r {
            Ok(res) => {
                match &res {
                    StageResult::Ran { .. } => {}
                    StageResult::Replayed { .. } => self.shared.stat(|s| s.replayed += 1),
                    StageResult::Obsolete => self.shared.stat(|s| s.obsolete += 1),
                    StageResult::CycleFailed(why) => {
                        lock(&self.failed).push(format!("p{id} {stage}: {why}"))
                    }
                }
                self.note(format!("p{id} {stage}: {res:?}"));
                if let Err(e) = h.ports.queue.ack(stage, &d.receipt).await {
                    self.note(format!("p{id} ack failed: {e}; redelivered"));
                    self.advance(Duration::seconds(61));
                }
            }
            Err(e) => {
                self.note(format!("p{id} {stage}: {e}; redelivered"));
                self.shared.stat(|s| s.retried += 1);
                self.advance(
                    Duration::from_std(IN_PROGRESS).unwrap_or_default() + Duration::seconds(1),
                );
            }
        }
    }

    async fn deliver(&self, stage: Stage, d: Delivery, plan: ProcPlan, now: DateTime<Utc>) {
        let (h, _) = self.process(
            format!("{stage} msg {} rc{}", d.message_id, d.receive_count),
            plan,
        );
        let r = run_stage(
            &h.ports,
            &h.registry,
            clock(),
            &d.body,
            Some(stage),
            now,
            IN_PROGRESS,
        )
        .await;
        self.settle(stage, &d, &h, r).await;
    }

    /// A delivery that may become the stalled lock holder: run until it stops at its site, then
    /// let the lease lapse and have a second opener take over.
    async fn deliver_stallable(&self, stage: Stage, d: Delivery, cycle: usize, site: Site) {
        let (h, stall) = self.process(
            format!(
                "{stage} msg {} rc{} (may stall)",
                d.message_id, d.receive_count
            ),
            ProcPlan::pause_at(site, self.cfg.stall_before_vendor),
        );
        let now = self.tick();
        let body = d.body.clone();
        let hh = h.clone();
        let mut fut: StageFuture = Box::pin(async move {
            run_stage(
                &hh.ports,
                &hh.registry,
                clock(),
                &body,
                Some(stage),
                now,
                IN_PROGRESS,
            )
            .await
        });
        let StallHandle { mut paused, resume } = stall;
        let finished = tokio::select! {
            biased;
            r = &mut fut => Some(r),
            _ = &mut paused => None,
        };
        match finished {
            Some(r) => {
                // It finished before reaching its site: no stall (its ack is the event source's).
                h.p.disarm();
                self.settle(stage, &d, &h, r).await
            }
            None => {
                self.note(format!(
                    "p{} stalled at {site:?}; its lease lapses and a second opener takes over",
                    h.p.id
                ));
                *lock(&self.stall) = Stall::Paused(Box::new(Stalled {
                    fut,
                    resume,
                    handle: h,
                    stage,
                    delivery: d,
                }));
                self.advance(CYCLE_LEASE + Duration::minutes(5));
                let next = cycle + 1;
                let takeover = match self.cfg.takeover {
                    Takeover::Either if lock(&self.rng).gen_bool(0.5) => Takeover::NextCycle,
                    Takeover::Either => Takeover::SameCycle,
                    t => t,
                };
                match takeover {
                    Takeover::NextCycle if next < self.cycles.len() => self.open(next).await,
                    _ => {
                        let (kind, day) = self.cycles[cycle];
                        self.schedule(kind, day, "takeover").await;
                    }
                }
            }
        }
    }

    /// The operator flips the kill switch on mid-cycle (moves not yet applied become HELD,
    /// interrupted ones are held on retry), and off again before the next cycle.
    async fn kill_switch(&self, on: bool) {
        let due = {
            let mut after = lock(&self.kill_after);
            match &mut *after {
                Some(0) if on => {
                    *after = None;
                    true
                }
                Some(n) if on => {
                    *n -= 1;
                    false
                }
                _ => !on && self.kill_on.load(Ordering::SeqCst),
            }
        };
        if !due {
            return;
        }
        let ks = otto_core::policy::KillSwitch {
            on,
            by: Some("fault-harness operator".into()),
            at: Some(*lock(&self.now)),
            reason: Some("injected".into()),
            flip: None,
        };
        match otto_store::settings::set_kill_switch(self.base.settings.as_ref(), &self.store, &ks)
            .await
        {
            Ok(()) => {
                self.kill_on.store(on, Ordering::SeqCst);
                if on {
                    self.shared.stat(|s| s.kill_switch_flips += 1);
                }
                self.note(format!(
                    "operator turns the kill switch {}",
                    if on { "on" } else { "off" }
                ));
            }
            Err(e) => self.problem(format!("kill switch: {e}")),
        }
    }

    /// The next stall-armed site for this delivery, if the stall is armed.
    fn stall_site(&self) -> Option<(usize, Site)> {
        let mut stall = lock(&self.stall);
        match &mut *stall {
            Stall::Armed { skip, .. } if *skip > 0 => {
                *skip -= 1;
                None
            }
            Stall::Armed { cycle, site, .. } => Some((*cycle, *site)),
            _ => None,
        }
    }

    /// Delivers until every queue is empty.
    async fn drain(&self) {
        for _ in 0..MAX_ROUNDS {
            let stages: Vec<Stage> = lock(&self.live_kinds)
                .iter()
                .flat_map(|k| k.stages().iter().copied())
                .collect();
            let mut order = stages;
            order.shuffle(&mut *lock(&self.rng));
            let mut any = false;
            for stage in order {
                let mut batch = match self
                    .base
                    .queue
                    .receive(stage, 10, std::time::Duration::ZERO)
                    .await
                {
                    Ok(b) => b,
                    Err(e) => {
                        self.problem(format!("receive from {stage}: {e}"));
                        return;
                    }
                };
                if batch.is_empty() {
                    continue;
                }
                any = true;
                batch.shuffle(&mut *lock(&self.rng));
                let mut it = batch.into_iter().peekable();
                while let Some(d) = it.next() {
                    self.kill_switch(true).await;
                    if let Some((cycle, site)) = self.stall_site() {
                        self.deliver_stallable(stage, d, cycle, site).await;
                        continue;
                    }
                    let pair = self.cfg.concurrency
                        && d.receive_count <= FAULTY_ATTEMPTS
                        && it
                            .peek()
                            .is_some_and(|n| n.receive_count <= FAULTY_ATTEMPTS)
                        && lock(&self.rng).gen_ratio(1, 4);
                    let second = if pair { it.next() } else { None };
                    match second {
                        Some(e) => {
                            self.shared.stat(|s| s.concurrent_pairs += 1);
                            let (pa, pb) = (
                                self.draw(Role::Stage(stage), d.receive_count),
                                self.draw(Role::Stage(stage), e.receive_count),
                            );
                            let (na, nb) = (self.tick(), self.tick());
                            self.note(format!(
                                "two workers at once on {stage}: {} and {}",
                                d.message_id, e.message_id
                            ));
                            tokio::join!(
                                self.deliver(stage, d, pa, na),
                                self.deliver(stage, e, pb, nb)
                            );
                        }
                        None => {
                            let plan = self.draw(Role::Stage(stage), d.receive_count);
                            let now = self.tick();
                            self.deliver(stage, d, plan, now).await;
                        }
                    }
                }
            }
            if !any {
                return;
            }
        }
        self.problem(format!("the queues did not drain in {MAX_ROUNDS} rounds"));
    }

    /// Resumes a stalled holder (it carries on with its old token and clock), then drains what
    /// it may have enqueued.
    async fn finish_stall(&self) {
        let stalled = {
            let mut stall = lock(&self.stall);
            match std::mem::replace(&mut *stall, Stall::Idle) {
                Stall::Paused(s) => Some(s),
                Stall::Armed { .. } => {
                    self.note("stall armed but no process reached its site".into());
                    None
                }
                Stall::Idle => None,
            }
        };
        let Some(s) = stalled else { return };
        let Stalled {
            fut,
            resume,
            handle,
            stage,
            delivery,
        } = *s;
        let _ = resume.send(());
        let r = fut.await;
        self.note(format!("p{} (stale) finished: {r:?}", handle.p.id));
        if !handle.p.is_dead() {
            // Its receipt is stale by now (the message was redelivered): errors are expected.
            if let Err(e) = handle.ports.queue.ack(stage, &delivery.receipt).await {
                self.note(format!("p{} (stale) ack: {e}", handle.p.id));
            }
        }
        self.drain().await;
    }

    /// Runs every cycle, then checks.
    pub async fn run(&self) -> SeedReport {
        if let Err(e) =
            otto_store::settings::set_policy(self.base.settings.as_ref(), &self.store, &self.policy)
                .await
        {
            self.problem(format!("set policy: {e}"));
        }
        let forced = self.cfg.force_stall;
        let roll = self.cfg.faults && lock(&self.rng).gen_ratio(self.cfg.stall_pct.min(100), 100);
        let stall_at = match forced {
            Some((c, site)) => Some((c, site)),
            None if roll => {
                let mut rng = lock(&self.rng);
                let c = rng.gen_range(0..self.cycles.len());
                Some((c, plan::stall_site(&mut rng, self.cfg.stall_before_vendor)))
            }
            None => None,
        };
        let outage = {
            let mut rng = lock(&self.rng);
            (self.cfg.faults && rng.gen_ratio(1, 12)).then(|| rng.gen_range(0..self.cycles.len()))
        };
        for i in 0..self.cycles.len() {
            let (kind, day) = self.cycles[i];
            self.note(format!("cycle {kind} {day}"));
            self.kill_switch(false).await;
            if self.cfg.faults && lock(&self.rng).gen_ratio(1, 10) {
                *lock(&self.kill_after) = Some(lock(&self.rng).gen_range(0..8));
            }
            if outage == Some(i) {
                self.note("the vendor is down for this cycle (403 on every read)".into());
                self.shared.stat(|s| s.outages += 1);
                self.shared.outage.store(true, Ordering::SeqCst);
            }
            if !lock(&self.opened)[i] {
                self.open(i).await;
            }
            if let Some((c, site)) = stall_at.filter(|(c, _)| *c == i) {
                let skip = if forced.is_some() {
                    0
                } else {
                    lock(&self.rng).gen_range(0..4)
                };
                *lock(&self.stall) = Stall::Armed {
                    cycle: c,
                    skip,
                    site,
                };
            }
            self.drain().await;
            self.finish_stall().await;
            self.shared.outage.store(false, Ordering::SeqCst);
            *lock(&self.kill_after) = None;
            lock(&self.live_kinds).clear();
        }
        let mut violations = lock(&self.problems).clone();
        match self.observe().await {
            Ok(o) => {
                let s = &mut *lock(&self.shared.stats);
                for r in &o.rows {
                    if matches!(r.body, RowBody::Decision(_) | RowBody::AdDecision(_)) {
                        match r.status {
                            RowStatus::Applied | RowStatus::Reverted => s.applied_moves += 1,
                            RowStatus::Held => s.held_moves += 1,
                            _ => {}
                        }
                    }
                }
                for m in &o.ledger {
                    match m.kind {
                        MutationKind::ProductStatus => s.status_mutations += 1,
                        MutationKind::VariantPrice => s.price_mutations += 1,
                        MutationKind::Budget => s.budget_mutations += 1,
                    }
                }
                violations.extend(check(&o));
            }
            Err(e) => violations.push(format!("could not read what the run left: {e}")),
        }
        SeedReport {
            seed: self.seed,
            stats: lock(&self.shared.stats).clone(),
            violations,
            log: lock(&self.shared.log).clone(),
            failed_cycles: lock(&self.failed).clone(),
        }
    }

    async fn rows(&self, table: AuditTable, cycle: &CycleId) -> Result<Vec<AuditRow>, String> {
        let mut out = Vec::new();
        let mut page = PageReq::first(500);
        loop {
            let p = self
                .base
                .audit
                .by_cycle(table, cycle, page.clone())
                .await
                .map_err(|e| format!("{table} of {cycle}: {e}"))?;
            out.extend(p.items);
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    async fn observe(&self) -> Result<Observed, String> {
        let cycles: Vec<CycleId> = self
            .cycles
            .iter()
            .map(|(k, d)| CycleId::new(self.store.clone(), *k, *d))
            .collect();
        let mut rows = Vec::new();
        for c in &cycles {
            for t in [
                AuditTable::CycleRuns,
                AuditTable::StageRuns,
                AuditTable::DecisionLog,
                AuditTable::AdDecisionLog,
            ] {
                rows.extend(self.rows(t, c).await?);
            }
        }
        let windows = self
            .base
            .catalog
            .open_windows(&self.store)
            .await
            .map_err(|e| format!("open windows: {e}"))?;
        let vendor = self
            .sim
            .fetch_variants()
            .await
            .map_err(|e| format!("the shop: {e}"))?;
        let lock_name = CycleKind::Morning.lock_name(&self.store);
        let lease = self
            .base
            .locks
            .current(&lock_name)
            .await
            .map_err(|e| format!("lock: {e}"))?;
        let mut dead_letters = Vec::new();
        let mut left = Vec::new();
        for stage in [CycleKind::Morning, CycleKind::Discount]
            .iter()
            .flat_map(|k| k.stages().iter().copied())
        {
            for d in self
                .base
                .queue
                .dead_letters(stage, 10)
                .await
                .map_err(|e| format!("dead letters of {stage}: {e}"))?
            {
                dead_letters.push(format!("{stage}: {}", d.body));
            }
            for d in self
                .base
                .queue
                .receive(stage, 10, std::time::Duration::ZERO)
                .await
                .map_err(|e| format!("receive from {stage}: {e}"))?
            {
                left.push(format!("{stage}: {}", d.body));
            }
        }
        Ok(Observed {
            cycles,
            rows,
            ledger: lock(&self.shared.ledger).clone(),
            policy: self.policy.clone(),
            windows,
            vendor,
            lock: lease,
            now_ms: lock(&self.now).timestamp_millis(),
            dead_letters,
            left_in_queues: left,
        })
    }
}
