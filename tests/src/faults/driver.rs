//! The driver: runs whole cycles (three mornings and two discount cycles, all Phase 2) the way
//! EventBridge Scheduler, SQS and Lambda would — scheduler retries, redelivery of every message
//! that was not acked, receive order shuffled — with a simulated clock, while the processes'
//! wrapped ports inject the faults of their plans. Then it collects what the run left behind for
//! [`check`](super::check::check).

use super::check::{check, Observed};
use super::plan::{self, ProcPlan, Role, Site};
use super::wrap::{
    faulty_ports, lock, FaultyVendor, MutationKind, Proc, Sabotage, Shared, SimInbox, StallHandle,
    Stats,
};
use chrono::{DateTime, Duration, Utc};
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::voice::OfflineVoice;
use otto_connectors::ShopCatalog;
use otto_core::audit::{AuditRow, AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::money::Currency;
use otto_core::policy::Policy;
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput, CYCLE_LEASE};
use otto_engine::executor::ATTEMPT_TTL;
use otto_engine::holds::{release, Executors};
use otto_engine::morning::{morning_registry, Vendors};
use otto_engine::undo::{revert, revert_key, undo_row, Actor, Reverted};
use otto_engine::{run_stage, StageRegistry, StageResult};
use otto_runtime::HandlerError;
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
    // Interval cycles (CS triage) run in the 09:00 slot of their day.
    let (h, m) = kind.scheduled_at().unwrap_or((9, 0));
    clock()
        .at_local(day, h, m)
        .expect("scheduled times exist in Europe/Amsterdam")
}

/// The Slack signing secret of the harness's API.
const SLACK_SECRET: &str = "fault-harness-slack-signing-secret";

/// Slack jobs (ask, release) are not what the harness sends: none is expected.
struct NoJobs;

#[async_trait::async_trait]
impl otto_api::slack::SlackDispatch for NoJobs {
    async fn dispatch(&self, _job: otto_api::slack::SlackJob) -> Result<(), String> {
        Err("the fault harness dispatches no Slack jobs".into())
    }
}

type StageFuture = Pin<Box<dyn Future<Output = Result<StageResult, HandlerError>> + Send>>;

/// A process handle: its wrapped ports and stage bodies (over its wrapped vendor).
#[derive(Clone)]
struct Handle {
    p: Arc<Proc>,
    ports: Ports,
    registry: StageRegistry,
    /// What an operator's release in this process drives (the same wrapped vendors).
    exec: Executors,
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
    inbox: Arc<SimInbox>,
    _sim_dir: tempfile::TempDir,
    shared: Arc<Shared>,
    rng: Mutex<ChaCha8Rng>,
    now: Mutex<DateTime<Utc>>,
    store: StoreId,
    policy: Policy,
    next_id: AtomicU32,
    stall: Mutex<Stall>,
    cycles: Vec<(CycleKind, StoreDay)>,
    /// The mode each cycle's schedulers ask for (true: apply); a 409 teaches the recorded one.
    modes: Mutex<Vec<bool>>,
    /// The cycle being drained (for resumes asking for the other mode).
    current: AtomicU32,
    opened: Mutex<Vec<bool>>,
    problems: Mutex<Vec<String>>,
    failed: Mutex<Vec<String>>,
    /// Deliveries left before the operator turns the kill switch on (mid-cycle).
    kill_after: Mutex<Option<u32>>,
    kill_on: std::sync::atomic::AtomicBool,
    /// Kinds of the cycles opened and not yet drained: whose queues `drain` polls.
    live_kinds: Mutex<Vec<CycleKind>>,
    /// The last signed Slack `/otto kill-switch on` (body, timestamp), for a replay.
    captured: Mutex<Option<(String, i64)>>,
    /// Kill-switch flips made through Slack (each must be one operator_log row), by the
    /// operator-log cycle they are filed under.
    slack_flips: Mutex<Vec<CycleId>>,
    /// The operator cycles undo rows are filed under (`{store}:operator:{day}`).
    undo_cycles: Mutex<Vec<CycleId>>,
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
        // Customer-service triage (its own lock and queue) between the mornings and the discount
        // cycle: its SEND rows go through the same executor, and the kill switch must hold them.
        cycles.push((CycleKind::Cs, today()));
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
        // Some cycles run as a dry run (every scheduler firing asks for it).
        let modes: Vec<bool> = (0..n)
            .map(|_| !(cfg.faults && rng.gen_ratio(1, 8)))
            .collect();
        Ok(World {
            seed,
            cfg,
            base,
            sim,
            inbox: Arc::new(SimInbox::default()),
            _sim_dir: dir,
            shared,
            rng: Mutex::new(rng),
            now: Mutex::new(at(CycleKind::Morning, today())),
            store,
            policy,
            next_id: AtomicU32::new(1),
            stall: Mutex::new(Stall::Idle),
            cycles,
            modes: Mutex::new(modes),
            current: AtomicU32::new(0),
            opened: Mutex::new(vec![false; n]),
            problems: Mutex::new(vec![]),
            failed: Mutex::new(vec![]),
            kill_after: Mutex::new(None),
            kill_on: std::sync::atomic::AtomicBool::new(false),
            live_kinds: Mutex::new(vec![]),
            captured: Mutex::new(None),
            slack_flips: Mutex::new(vec![]),
            undo_cycles: Mutex::new(vec![]),
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
        let helpdesk = Arc::new(FaultyVendor {
            inner: self.inbox.clone(),
            p: p.clone(),
        });
        let exec = Executors {
            shop: Some(vendor.clone()),
            ads: Some(vendor.clone()),
            helpdesk: Some(helpdesk.clone()),
        };
        let vendors = Vendors {
            shop: vendor.clone(),
            ads: vendor,
        };
        let registry = otto_engine::cs::with_cs(
            otto_engine::discount::with_discount(morning_registry(vendors.clone()), vendors),
            helpdesk,
            Arc::new(OfflineVoice),
        );
        (
            Handle {
                p,
                ports,
                registry,
                exec,
            },
            stall,
        )
    }

    /// One scheduler firing for cycle `i`, retried as EventBridge Scheduler would until it
    /// succeeds. `other_mode` asks for the mode the world did not pick (an operator resuming with
    /// the wrong one): a 409 then teaches it the recorded mode, as it would an operator.
    async fn schedule(&self, i: usize, who: &str, other_mode: bool) {
        let (kind, day) = self.cycles[i];
        let mut asked = lock(&self.modes)[i] != other_mode;
        for attempt in 1..=40 {
            let input = ScheduledInput {
                cycle: kind,
                store: self.store.clone(),
                scheduled_time: at(kind, day),
                apply: Some(asked),
            };
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
                Err(HandlerError::Conflict(m)) if m.contains("keeps its mode") => {
                    self.note(format!("p{} refused (409): {m}", h.p.id));
                    self.shared.stat(|s| s.mode_conflicts += 1);
                    asked = !asked;
                    lock(&self.modes)[i] = asked;
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
        if !lock(&self.modes)[i] {
            self.shared.stat(|s| s.dry_runs += 1);
            self.note(format!("{kind} {day} runs as a dry run"));
        }
        let concurrent = self.cfg.concurrency && lock(&self.rng).gen_ratio(1, 3);
        if concurrent {
            // Sometimes the second asks for the other mode (an operator's run racing the
            // timer): one of the two is refused, and the run keeps one mode.
            let other = self.cfg.faults && lock(&self.rng).gen_ratio(1, 3);
            self.shared.stat(|s| s.concurrent_schedulers += 1);
            self.note(format!(
                "two schedulers fire {kind} {day} at once{}",
                if other {
                    ", asking for different modes"
                } else {
                    ""
                }
            ));
            tokio::join!(self.schedule(i, "A", false), self.schedule(i, "B", other));
        } else {
            self.schedule(i, "", false).await;
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
                // The next cycle that takes the same lock (CS triage has its own).
                let lock_name = |j: usize| self.cycles[j].0.lock_name(&self.store);
                let next = (cycle + 1..self.cycles.len())
                    .find(|&j| lock_name(j) == lock_name(cycle) && !lock(&self.opened)[j]);
                let takeover = match self.cfg.takeover {
                    Takeover::Either if lock(&self.rng).gen_bool(0.5) => Takeover::NextCycle,
                    Takeover::Either => Takeover::SameCycle,
                    t => t,
                };
                match takeover {
                    Takeover::NextCycle if next.is_some() => {
                        if let Some(j) = next {
                            self.open(j).await
                        }
                    }
                    _ => self.schedule(cycle, "takeover", false).await,
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
        let via_slack = self.cfg.faults && lock(&self.rng).gen_bool(0.5);
        let flipped = if via_slack {
            self.slack_kill_switch(on).await
        } else {
            let ks = otto_core::policy::KillSwitch {
                on,
                by: Some("fault-harness operator".into()),
                at: Some(*lock(&self.now)),
                reason: Some("injected".into()),
                flip: None,
            };
            otto_store::settings::set_kill_switch(self.base.settings.as_ref(), &self.store, &ks)
                .await
                .map_err(|e| e.to_string())
        };
        if flipped.is_ok() && !on && self.cfg.faults && lock(&self.rng).gen_bool(0.5) {
            self.replay_kill_switch_on().await;
        }
        match flipped {
            Ok(()) => {
                self.kill_on.store(on, Ordering::SeqCst);
                self.shared.kill_switch.store(on, Ordering::SeqCst);
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

    /// The router over this process's ports, with Slack configured (one admin).
    fn slack_app(&self, ports: Ports) -> axum::Router {
        let state = otto_api::AppState {
            ports,
            clock: clock(),
            store_id: self.store.clone(),
            worker_token: None,
            operator_auth: otto_api::auth::OperatorAuth {
                token: None,
                gateway_jwt: false,
            },
            executors: Executors::default(),
            slack: Some(otto_api::slack::SlackConfig {
                signing_secret: SLACK_SECRET.into(),
                admins: vec!["U-OPERATOR".into()],
                dispatch: Arc::new(NoJobs),
                team_id: None,
                app_id: None,
            }),
            link_base: String::new(),
            llm: None,
        };
        otto_api::router(state)
    }

    /// Sends a signed Slack command (as Slack would) in a clean process; the answer's text.
    async fn slack_command(&self, body: &str, ts: i64) -> Result<String, String> {
        use tower::ServiceExt;
        let (h, _) = self.process("slack /otto".into(), ProcPlan::clean());
        let sig = otto_slack::sign(SLACK_SECRET.as_bytes(), ts, body.as_bytes())
            .map_err(|e| format!("sign: {e}"))?;
        let req = axum::http::Request::post("/slack/commands")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts.to_string())
            .header("x-slack-signature", sig)
            .body(axum::body::Body::from(body.to_string()))
            .map_err(|e| e.to_string())?;
        let res = self
            .slack_app(h.ports.clone())
            .oneshot(req)
            .await
            .map_err(|e| e.to_string())?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20)
            .await
            .map_err(|e| e.to_string())?;
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let text = v["text"].as_str().unwrap_or_default().to_string();
        if status.is_success() {
            Ok(text)
        } else {
            Err(format!("HTTP {status}: {v}"))
        }
    }

    /// The operator flips the kill switch with a signed `/otto kill-switch on|off`; an "on" is
    /// kept, as someone could capture it.
    async fn slack_kill_switch(&self, on: bool) -> Result<(), String> {
        let ts = otto_core::clock::now().timestamp();
        let trigger = self.next_id.fetch_add(1, Ordering::SeqCst);
        let body = format!(
            "token=x&team_id=T1&channel_id=C1&user_id=U-OPERATOR&user_name=operator&command=%2Fotto&text=kill-switch+{}&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1&trigger_id=t-{trigger}&api_app_id=A1",
            if on { "on" } else { "off" }
        );
        let text = self.slack_command(&body, ts).await?;
        let want = if on {
            "Kill switch is ON"
        } else {
            "Kill switch is OFF"
        };
        if !text.contains(want) {
            return Err(format!("Slack answered {text:?}"));
        }
        let day = clock().day_of(otto_core::clock::now());
        lock(&self.slack_flips).push(CycleId::new(self.store.clone(), CycleKind::Operator, day));
        if on {
            *lock(&self.captured) = Some((body, ts));
        }
        self.note(format!("(through Slack: {text})"));
        Ok(())
    }

    /// Someone replays the captured signed `kill-switch on` inside the signature window, after
    /// the operator turned the switch off: it must run nothing.
    async fn replay_kill_switch_on(&self) {
        let Some((body, ts)) = lock(&self.captured).take() else {
            return;
        };
        self.shared.stat(|s| s.slack_replays += 1);
        match self.slack_command(&body, ts).await {
            Ok(text) if text.contains("already handled") => self.note(format!(
                "a replayed signed `kill-switch on` was refused: {text}"
            )),
            other => self.problem(format!(
                "a replayed signed `kill-switch on` inside the window was not refused: {other:?}"
            )),
        }
        match otto_store::settings::kill_switch(self.base.settings.as_ref(), &self.store).await {
            Ok(ks) if !ks.on => {}
            Ok(_) => {
                self.problem("the replayed `kill-switch on` turned the switch back on".into());
                let off = otto_core::policy::KillSwitch {
                    on: false,
                    ..Default::default()
                };
                let _ = otto_store::settings::set_kill_switch(
                    self.base.settings.as_ref(),
                    &self.store,
                    &off,
                )
                .await;
            }
            Err(e) => self.problem(format!("kill switch: {e}")),
        }
    }

    /// Every Slack flip is one operator_log row: a replay logs nothing.
    async fn slack_flips_logged_once(&self) -> Vec<String> {
        let flips = lock(&self.slack_flips).clone();
        let mut days = flips.clone();
        days.sort();
        days.dedup();
        let mut rows = 0;
        for c in &days {
            match self.rows(AuditTable::OperatorLog, c).await {
                Ok(r) => rows += r.len(),
                Err(e) => return vec![e],
            }
        }
        if rows == flips.len() {
            vec![]
        } else {
            vec![format!(
                "{} kill-switch flips through Slack, {rows} operator_log rows",
                flips.len()
            )]
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
                    if self.cfg.faults && lock(&self.rng).gen_ratio(1, 40) {
                        self.resume_in_other_mode().await;
                    }
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

    /// The id cycle `i` runs under (interval cycles: their slot).
    fn cycle_id(&self, i: usize) -> CycleId {
        let (kind, day) = self.cycles[i];
        match kind.interval_minutes() {
            Some(_) => CycleId::with_slot(
                self.store.clone(),
                kind,
                day,
                clock().minute_of_day(at(kind, day)),
            ),
            None => CycleId::new(self.store.clone(), kind, day),
        }
    }

    /// An operator resumes the running cycle asking for the other mode: it must be refused
    /// (409, naming both modes) and change nothing; `check` then verifies that no row of a dry-run
    /// cycle reached the vendor.
    async fn resume_in_other_mode(&self) {
        let i = self.current.load(Ordering::SeqCst) as usize;
        let (kind, day) = self.cycles[i];
        let asked = !lock(&self.modes)[i];
        let input = ScheduledInput {
            cycle: kind,
            store: self.store.clone(),
            scheduled_time: at(kind, day),
            apply: Some(asked),
        };
        let (h, _) = self.process(
            format!("resume {kind} {day} asking apply={asked}"),
            ProcPlan::clean(),
        );
        let now = self.tick();
        self.shared.stat(|s| s.mode_conflicts += 1);
        match open_cycle(&h.ports, &clock(), &input, now).await {
            Err(HandlerError::Conflict(m)) if m.contains("dry run") && m.contains("apply") => {
                self.note(format!("p{} refused (409): {m}", h.p.id));
            }
            other => self.problem(format!(
                "{kind} {day} resumed asking apply={asked}, the other mode: expected a 409 naming both modes, got {other:?}"
            )),
        }
    }

    /// Held rows of today's apply-mode cycles (an operator releases only what Otto would have
    /// applied, the day it was held: rate limits count the day a move is applied, and the
    /// checker counts a row's own day).
    async fn releasable(&self) -> Vec<AuditRow> {
        let today = clock().day_of(*lock(&self.now));
        let opened = lock(&self.opened).clone();
        let modes = lock(&self.modes).clone();
        let live: Vec<CycleId> = (0..self.cycles.len())
            .filter(|&i| opened[i] && modes[i])
            .map(|i| self.cycle_id(i))
            .collect();
        match otto_engine::holds::held(&self.base, &self.store, 200).await {
            Ok(rows) => rows
                .into_iter()
                .filter(|r| live.contains(&r.cycle_id) && r.day() == today)
                .collect(),
            Err(e) => {
                self.problem(format!("held rows: {e}"));
                vec![]
            }
        }
    }

    /// 2–10 operators release the same held row at once, each in a process with faults of its
    /// own. Every caller without a fault of its own gets the row back (never an error); at most
    /// one is told `released_now` (exactly one when none failed); `check` verifies the vendor
    /// was written at most once. A caller that failed retries once the attempt could have
    /// expired, so nothing is left RELEASED or APPLYING.
    async fn race_releases(&self) {
        let rows = self.releasable().await;
        let (row, k) = {
            let mut rng = lock(&self.rng);
            let Some(row) = rows.choose(&mut *rng) else {
                return;
            };
            (row.row_ref, rng.gen_range(2..=10usize))
        };
        self.shared.stat(|s| {
            s.release_races += 1;
            s.racing_releases += k as u64;
        });
        self.note(format!("{k} operators release {row} at once"));
        let callers: Vec<(Handle, bool, DateTime<Utc>)> = (0..k)
            .map(|n| {
                let plan = self.draw(Role::Release, 1);
                let clean = plan.is_clean();
                let (h, _) = self.process(format!("release {row} #{n}"), plan);
                (h, clean, self.tick())
            })
            .collect();
        let answers =
            futures_util::future::join_all(callers.iter().enumerate().map(|(n, (h, _, now))| {
                let by = format!("operator-{n}");
                async move {
                    release(
                        &h.ports,
                        &h.exec,
                        &self.store,
                        row,
                        &by,
                        crate::fixtures::at(*now, clock().day_of(*now)),
                    )
                    .await
                }
            }))
            .await;
        let mut released_now = 0;
        let mut all_clean = true;
        for ((h, clean, _), answer) in callers.iter().zip(answers) {
            all_clean &= *clean && !h.p.is_dead();
            match answer {
                Ok(out) if out.row.row_ref == row => {
                    released_now += usize::from(out.released_now);
                    self.note(format!("p{} release: {}", h.p.id, out.outcome));
                }
                Ok(out) => self.problem(format!(
                    "release of {row} answered with another row, {}",
                    out.row.row_ref
                )),
                Err(e) if *clean && !h.p.is_dead() => self.problem(format!(
                    "release of {row} by p{} (no fault of its own) failed: {e}",
                    h.p.id
                )),
                Err(e) => self.note(format!("p{} release failed: {e}", h.p.id)),
            }
        }
        if released_now > 1 || (all_clean && released_now != 1) {
            self.problem(format!(
                "{k} concurrent releases of {row}: {released_now} told released_now (exactly one expected{})",
                if all_clean { "" } else { " at most" }
            ));
        }
        self.settle_release(row, !all_clean).await;
    }

    /// A caller that got an error clicks Release again once any attempt a failed caller left
    /// could have expired (clean process): a row left RELEASED or APPLYING is applied or
    /// resolved, and what follows an applied move (a discount's window) is done.
    async fn settle_release(&self, row: otto_core::audit::RowRef, failed: bool) {
        let status = match self.base.audit.get(row).await {
            Ok(Some(r)) => r.status,
            Ok(None) => return self.problem(format!("{row} vanished")),
            Err(e) => return self.problem(format!("read {row}: {e}")),
        };
        if !failed && !matches!(status, RowStatus::Released | RowStatus::Applying) {
            return;
        }
        self.advance(ATTEMPT_TTL + Duration::minutes(1));
        let (h, _) = self.process(format!("release {row} again"), ProcPlan::clean());
        let now = self.tick();
        match release(
            &h.ports,
            &h.exec,
            &self.store,
            row,
            "operator-again",
            otto_engine::executor::At {
                now,
                today: clock().day_of(now),
                clock: crate::fixtures::clock(),
            },
        )
        .await
        {
            Ok(out) => self.note(format!("p{} release again: {}", h.p.id, out.outcome)),
            Err(e) => self.problem(format!("{row} released again (no fault) failed: {e}")),
        }
    }

    /// APPLIED rows of this seed's cycles an operator could undo now (the product's own rule:
    /// `undo_row` accepts them).
    async fn undoable(&self, now: DateTime<Utc>) -> Vec<AuditRow> {
        let opened = lock(&self.opened).clone();
        let actor = operator(0);
        let today = clock().day_of(now);
        let mut out = Vec::new();
        for i in (0..self.cycles.len()).filter(|&i| opened[i]) {
            let cycle = self.cycle_id(i);
            for t in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
                match self.rows(t, &cycle).await {
                    Ok(rows) => out.extend(
                        rows.into_iter()
                            .filter(|r| undo_row(r, &actor, now, today).is_ok()),
                    ),
                    Err(e) => self.problem(e),
                }
            }
        }
        out
    }

    /// 2–10 operators undo the same APPLIED row at once (`Move::Revert` through the executor),
    /// sometimes with one more releasing it, each in a process with faults of its own. Every
    /// caller without a fault of its own gets the one undo row back (never an error); at most
    /// one is told `reverted_now` (exactly one when none failed); the release changes nothing.
    /// `check` verifies one REVERT row per original and at most one vendor write per row. A
    /// caller that failed undoes again once attempts could have expired.
    async fn race_rollbacks(&self) {
        let now = *lock(&self.now);
        let rows = self.undoable(now).await;
        let (row, k, with_release) = {
            let mut rng = lock(&self.rng);
            let Some(row) = rows.choose(&mut *rng) else {
                return;
            };
            (row.row_ref, rng.gen_range(2..=10usize), rng.gen_ratio(1, 2))
        };
        // An undo asked in an earlier race (held, say): every caller is answered with it.
        let asked_before = match self
            .base
            .audit
            .get_by_natural_key(row.table, &revert_key(row))
            .await
        {
            Ok(u) => u.is_some(),
            Err(e) => return self.problem(format!("the undo of {row}: {e}")),
        };
        self.shared.stat(|s| {
            s.rollback_races += 1;
            s.racing_rollbacks += k as u64;
            s.racing_rollback_releases += u64::from(with_release);
        });
        self.note(format!(
            "{k} operators undo {row} at once{}",
            if with_release {
                ", one more releases it"
            } else {
                ""
            }
        ));
        let callers: Vec<(Handle, bool, DateTime<Utc>)> = (0..k + usize::from(with_release))
            .map(|n| {
                let plan = self.draw(Role::Release, 1);
                let clean = plan.is_clean();
                let what = if n < k { "undo" } else { "release" };
                let (h, _) = self.process(format!("{what} {row} #{n}"), plan);
                (h, clean, self.tick())
            })
            .collect();
        let answers =
            futures_util::future::join_all(callers.iter().enumerate().map(|(n, (h, _, now))| {
                let today = clock().day_of(*now);
                lock(&self.undo_cycles).push(CycleId::new(
                    self.store.clone(),
                    CycleKind::Operator,
                    today,
                ));
                let actor = operator(n);
                async move {
                    if n < k {
                        let asked = revert(
                            &h.ports,
                            &h.exec,
                            &self.store,
                            row,
                            &actor,
                            crate::fixtures::at(*now, today),
                        );
                        Racer::Undo(asked.await.map_err(|e| e.to_string()))
                    } else {
                        let asked = release(
                            &h.ports,
                            &h.exec,
                            &self.store,
                            row,
                            "operator-release",
                            crate::fixtures::at(*now, today),
                        );
                        Racer::Release(asked.await.map_err(|e| e.to_string()))
                    }
                }
            }))
            .await;
        let mut undos = std::collections::BTreeSet::new();
        let mut reverted_now = 0;
        let mut all_clean = true;
        for ((h, clean, _), answer) in callers.iter().zip(answers) {
            let clean = *clean && !h.p.is_dead();
            all_clean &= clean;
            match answer {
                Racer::Undo(Ok(r)) if r.reverts == row => {
                    reverted_now += usize::from(r.reverted_now);
                    undos.insert(r.row.row_ref);
                    self.note(format!(
                        "p{} undo: {} ({})",
                        h.p.id, r.outcome, r.row.row_ref
                    ));
                }
                Racer::Undo(Ok(r)) => self.problem(format!(
                    "undo of {row} answered for another row, {}",
                    r.reverts
                )),
                Racer::Release(Ok(r)) if r.row.row_ref == row && !r.released_now => {
                    self.note(format!("p{} release: {}", h.p.id, r.outcome));
                }
                Racer::Release(Ok(r)) => self.problem(format!(
                    "release of APPLIED {row} racing its undos answered {} released_now={}",
                    r.row.row_ref, r.released_now
                )),
                Racer::Undo(Err(e)) | Racer::Release(Err(e)) if clean => self.problem(format!(
                    "{row}: p{} (no fault of its own) failed: {e}",
                    h.p.id
                )),
                Racer::Undo(Err(e)) | Racer::Release(Err(e)) => {
                    self.note(format!("p{} failed: {e}", h.p.id))
                }
            }
        }
        if undos.len() > 1 {
            self.problem(format!(
                "{k} concurrent undos of {row} answered with {undos:?}"
            ));
        }
        let expected = usize::from(!asked_before);
        if reverted_now > expected || (all_clean && reverted_now != expected) {
            self.problem(format!(
                "{k} concurrent undos of {row}: {reverted_now} told reverted_now ({} {expected} expected{})",
                if all_clean { "exactly" } else { "at most" },
                if asked_before { ", an undo was asked before" } else { "" }
            ));
        }
        self.settle_rollback(row, !all_clean).await;
    }

    /// A caller that got an error undoes again once any attempt a failed caller left could have
    /// expired (clean process): an undo left PENDING, RELEASED or APPLYING is finished.
    async fn settle_rollback(&self, row: otto_core::audit::RowRef, failed: bool) {
        let undo = match self
            .base
            .audit
            .get_by_natural_key(row.table, &revert_key(row))
            .await
        {
            Ok(u) => u,
            Err(e) => return self.problem(format!("the undo of {row}: {e}")),
        };
        let open = undo.as_ref().is_some_and(|u| {
            matches!(
                u.status,
                RowStatus::Pending | RowStatus::Released | RowStatus::Applying
            )
        });
        if failed || open {
            self.advance(ATTEMPT_TTL + Duration::minutes(1));
            let (h, _) = self.process(format!("undo {row} again"), ProcPlan::clean());
            let now = self.tick();
            let today = clock().day_of(now);
            lock(&self.undo_cycles).push(CycleId::new(
                self.store.clone(),
                CycleKind::Operator,
                today,
            ));
            match revert(
                &h.ports,
                &h.exec,
                &self.store,
                row,
                &operator(99),
                otto_engine::executor::At {
                    now,
                    today,
                    clock: crate::fixtures::clock(),
                },
            )
            .await
            {
                Ok(r) => self.note(format!("p{} undo again: {}", h.p.id, r.outcome)),
                Err(e) => self.problem(format!("{row} undone again (no fault) failed: {e}")),
            }
        }
        match self
            .base
            .audit
            .get_by_natural_key(row.table, &revert_key(row))
            .await
        {
            Ok(Some(u)) if u.status == RowStatus::Applied => {
                self.shared.stat(|s| s.rollbacks_applied += 1)
            }
            Ok(Some(_)) => {}
            Ok(None) => self.problem(format!("{row}: no undo row after its undos")),
            Err(e) => self.problem(format!("the undo of {row}: {e}")),
        }
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
            self.current.store(i as u32, Ordering::SeqCst);
            if kind == CycleKind::Cs && self.cfg.faults && lock(&self.rng).gen_ratio(1, 3) {
                // The operator stops customer-service sends: before the triage or its redelivery.
                *lock(&self.kill_after) = Some(lock(&self.rng).gen_range(0..2));
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
            if self.cfg.faults && lock(&self.rng).gen_ratio(1, 3) {
                self.race_releases().await;
            }
            if self.cfg.faults && lock(&self.rng).gen_ratio(1, 3) {
                self.race_rollbacks().await;
            }
        }
        let mut violations = lock(&self.problems).clone();
        violations.extend(self.slack_flips_logged_once().await);
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
                        MutationKind::CsReply => s.cs_sends += 1,
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
        let cycles: Vec<CycleId> = (0..self.cycles.len()).map(|i| self.cycle_id(i)).collect();
        let mut rows = Vec::new();
        for c in &cycles {
            for t in [
                AuditTable::CycleRuns,
                AuditTable::StageRuns,
                AuditTable::DecisionLog,
                AuditTable::AdDecisionLog,
                AuditTable::CsThreadEvaluations,
            ] {
                rows.extend(self.rows(t, c).await?);
            }
        }
        let mut undo_cycles = lock(&self.undo_cycles).clone();
        undo_cycles.sort();
        undo_cycles.dedup();
        for c in &undo_cycles {
            for t in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
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
        for stage in [CycleKind::Morning, CycleKind::Discount, CycleKind::Cs]
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

/// One caller of a rollback race: an undo, or a release of the same row.
enum Racer {
    Undo(Result<Reverted, String>),
    Release(Result<otto_engine::holds::Released, String>),
}

/// Operator `n` at the dashboard.
fn operator(n: usize) -> Actor {
    Actor {
        by: format!("operator-{n}"),
        surface: otto_core::audit::Surface::Dashboard,
    }
}
