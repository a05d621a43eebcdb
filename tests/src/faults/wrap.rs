//! `Faulty<T>`: wrappers around every store port and both vendor ports. Each wrapper belongs to
//! one [`Proc`] (one handler invocation) and asks it, before and after every write, whether a
//! fault strikes there. A crashed process fails every later call, so nothing after the crash
//! happens (no `abandon`, no ack) — as when a Lambda dies. Every wrapped call yields once, so
//! two processes run with `join!` interleave call by call, deterministically.

use super::plan::{Fault, OpKind, ProcPlan, Site, When};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_connectors::catalog::CatalogSync;
use otto_connectors::helpdesk::{demo_inbox, Draft, Helpdesk, Thread};
use otto_connectors::offers::SkuPerformance;
use otto_connectors::{AdsAccount, ShopCatalog, VendorError};
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::{CycleId, Stage, StageMessage};
use otto_core::lock::{Fence, Lease};
use otto_core::metrics::{
    CampaignBudget, CampaignDay, DailyMetric, ExternalChange, OpenWindow, ProductStatus, SkuSales,
    Variant,
};
use otto_core::{Attempt, Money, RowKey, RowStatus, Sku, StoreDay, StoreId};
use otto_store::{
    Acquire, Appended, AuditLog, Begin, Catalog, CounterAdd, Counters, DayKeys, Delivery, EventBus,
    IdemRecord, IdempotencyStore, ImportStats, LockStore, OttoEvent, Page, PageReq, Ports,
    Settings, StageQueue, StoreError,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::oneshot;

type Result<T> = std::result::Result<T, StoreError>;

/// Locks a std mutex, ignoring poisoning (a panicking test is reported anyway).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Deliberate bugs, to prove the checker catches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sabotage {
    #[default]
    None,
    /// The vendor wrapper performs every mutation twice.
    DoubleApply,
    /// Decision rows get a natural key that differs per attempt (as if it held a timestamp): a
    /// re-run stage logs its rows again.
    UnstableNaturalKeys,
    /// The counter store ignores limits (a conditional write that is not conditional).
    IgnoreLimits,
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub processes: u64,
    pub crashes: u64,
    pub blips: u64,
    pub vendor_timeouts: u64,
    pub read_blips: u64,
    pub dup_sends: u64,
    pub lost_acks: u64,
    pub concurrent_pairs: u64,
    pub concurrent_schedulers: u64,
    pub stalls: u64,
    pub stale_vendor_calls: u64,
    pub obsolete: u64,
    pub replayed: u64,
    pub retried: u64,
    pub applied_moves: u64,
    pub held_moves: u64,
    pub vendor_refusals: u64,
    pub outages: u64,
    pub kill_switch_flips: u64,
    pub status_mutations: u64,
    pub price_mutations: u64,
    pub budget_mutations: u64,
    pub cs_sends: u64,
    /// Operators releasing one held row at once (races), and their callers.
    pub release_races: u64,
    pub racing_releases: u64,
    /// Operators undoing one APPLIED row at once (races), their callers, and the releases of
    /// the same row racing them; undos that reached APPLIED.
    pub rollback_races: u64,
    pub racing_rollbacks: u64,
    pub racing_rollback_releases: u64,
    pub rollbacks_applied: u64,
    /// Resumes asking for the other mode (each must be refused), and dry-run cycles.
    pub mode_conflicts: u64,
    pub dry_runs: u64,
    /// Signed Slack commands replayed inside the signature window (each must run once).
    pub slack_replays: u64,
}

impl Stats {
    /// Faults injected: every fired fault, duplicate, lost ack, race and stall.
    pub fn injected(&self) -> u64 {
        self.crashes
            + self.blips
            + self.vendor_timeouts
            + self.read_blips
            + self.dup_sends
            + self.lost_acks
            + self.concurrent_pairs
            + self.concurrent_schedulers
            + self.stalls
            + self.vendor_refusals
            + self.outages
            + self.kill_switch_flips
            + self.release_races
            + self.rollback_races
            + self.mode_conflicts
            + self.slack_replays
    }

    pub fn add(&mut self, o: &Stats) {
        self.processes += o.processes;
        self.crashes += o.crashes;
        self.blips += o.blips;
        self.vendor_timeouts += o.vendor_timeouts;
        self.read_blips += o.read_blips;
        self.dup_sends += o.dup_sends;
        self.lost_acks += o.lost_acks;
        self.concurrent_pairs += o.concurrent_pairs;
        self.concurrent_schedulers += o.concurrent_schedulers;
        self.stalls += o.stalls;
        self.stale_vendor_calls += o.stale_vendor_calls;
        self.obsolete += o.obsolete;
        self.replayed += o.replayed;
        self.retried += o.retried;
        self.applied_moves += o.applied_moves;
        self.held_moves += o.held_moves;
        self.vendor_refusals += o.vendor_refusals;
        self.outages += o.outages;
        self.kill_switch_flips += o.kill_switch_flips;
        self.status_mutations += o.status_mutations;
        self.price_mutations += o.price_mutations;
        self.budget_mutations += o.budget_mutations;
        self.cs_sends += o.cs_sends;
        self.release_races += o.release_races;
        self.racing_releases += o.racing_releases;
        self.rollback_races += o.rollback_races;
        self.racing_rollbacks += o.racing_rollbacks;
        self.racing_rollback_releases += o.racing_rollback_releases;
        self.rollbacks_applied += o.rollbacks_applied;
        self.mode_conflicts += o.mode_conflicts;
        self.dry_runs += o.dry_runs;
        self.slack_replays += o.slack_replays;
    }
}

/// What a vendor mutation changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MutationKind {
    ProductStatus,
    VariantPrice,
    Budget,
    /// A customer-service reply sent through the helpdesk.
    CsReply,
}

/// One mutation the vendor performed, attributed to the audit row the process was working on
/// (the last decision/ad row it loaded or moved to APPLYING).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mutation {
    pub row: Option<RowRef>,
    pub kind: MutationKind,
    pub key: String,
    pub target: String,
    pub proc_id: u32,
    /// The operator's kill switch was on when the vendor took it.
    pub under_kill_switch: bool,
}

/// State shared by every process of one seed's run.
#[derive(Default)]
pub struct Shared {
    pub stats: Mutex<Stats>,
    pub ledger: Mutex<Vec<Mutation>>,
    pub log: Mutex<Vec<String>>,
    pub sabotage: Sabotage,
    /// Vendor reads fail permanently (an outage: revoked token, 403) while set.
    pub outage: AtomicBool,
    /// The operator's kill switch is on (the driver flips it between processes).
    pub kill_switch: AtomicBool,
    /// Print the log as it happens (one seed asked for with `OTTO_FAULT_SEED`).
    pub live: bool,
}

impl Shared {
    pub fn note(&self, line: String) {
        if self.live {
            eprintln!("{line}");
        }
        lock(&self.log).push(line);
    }
    pub fn stat(&self, f: impl FnOnce(&mut Stats)) {
        f(&mut lock(&self.stats));
    }
}

/// One handler invocation and its faults.
pub struct Proc {
    pub id: u32,
    pub label: String,
    plan: Mutex<ProcPlan>,
    writes: AtomicU32,
    reads: AtomicU32,
    occurrences: Mutex<HashMap<OpKind, u32>>,
    dead: AtomicBool,
    /// Set once the process resumed from a stall: it is now a stale lock holder.
    stale: AtomicBool,
    /// The row this process last claimed (APPLYING): the executor makes a vendor call only for
    /// the row its attempt owns, so a mutation is that row's — not one it merely read since (an
    /// undo reads its original before the call).
    last_row: Mutex<Option<RowRef>>,
    rng: Mutex<ChaCha8Rng>,
    shared: Arc<Shared>,
    paused_tx: Mutex<Option<oneshot::Sender<()>>>,
    resume_rx: Mutex<Option<oneshot::Receiver<()>>>,
}

/// The driver's end of a stall: told when the process stops, and how to resume it.
pub struct StallHandle {
    pub paused: oneshot::Receiver<()>,
    pub resume: oneshot::Sender<()>,
}

impl Proc {
    pub fn new(
        id: u32,
        label: String,
        plan: ProcPlan,
        rng: ChaCha8Rng,
        shared: Arc<Shared>,
    ) -> (Arc<Proc>, StallHandle) {
        let (paused_tx, paused) = oneshot::channel();
        let (resume, resume_rx) = oneshot::channel();
        shared.stat(|s| s.processes += 1);
        (
            Arc::new(Proc {
                id,
                label,
                plan: Mutex::new(plan),
                writes: AtomicU32::new(0),
                reads: AtomicU32::new(0),
                occurrences: Mutex::new(HashMap::new()),
                dead: AtomicBool::new(false),
                stale: AtomicBool::new(false),
                last_row: Mutex::new(None),
                rng: Mutex::new(rng),
                shared,
                paused_tx: Mutex::new(Some(paused_tx)),
                resume_rx: Mutex::new(Some(resume_rx)),
            }),
            StallHandle { paused, resume },
        )
    }

    /// Disarms every fault not yet fired (the invocation is over).
    pub fn disarm(&self) {
        lock(&self.plan).armed.clear();
    }

    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }

    fn dead_error(&self) -> String {
        format!(
            "injected: process {} ({}) crashed earlier",
            self.id, self.label
        )
    }

    fn note(&self, what: String) {
        self.shared
            .note(format!("  p{} {}: {what}", self.id, self.label));
    }

    /// Before a read: fails if the process is dead or a read timeout is due.
    async fn enter_read(&self) -> std::result::Result<(), String> {
        tokio::task::yield_now().await;
        if self.is_dead() {
            return Err(self.dead_error());
        }
        let n = self.reads.fetch_add(1, Ordering::SeqCst) + 1;
        let blip = {
            let mut plan = lock(&self.plan);
            if plan.read_blip_at == Some(n) {
                plan.read_blip_at = None;
                true
            } else {
                false
            }
        };
        if blip {
            self.shared.stat(|s| s.read_blips += 1);
            self.note(format!("read #{n} timed out"));
            return Err(format!("injected: read #{n} of p{} timed out", self.id));
        }
        Ok(())
    }

    /// Before a write: `Err` fails the call now (transient), `Ok(Some(f))` is a fault to apply
    /// once the call has been performed.
    async fn enter_write(&self, kind: OpKind) -> std::result::Result<Option<Fault>, String> {
        tokio::task::yield_now().await;
        if self.is_dead() {
            return Err(self.dead_error());
        }
        let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        let occurrence = {
            let mut occ = lock(&self.occurrences);
            let e = occ.entry(kind).or_insert(0);
            *e += 1;
            *e
        };
        let fault = {
            let mut plan = lock(&self.plan);
            let before_vendor = plan.pause_before_vendor;
            let mut hit = None;
            for a in plan
                .armed
                .iter_mut()
                .filter(|a| !a.fired && a.site.matches(n, kind, occurrence))
            {
                if a.fault == Fault::Pause && kind == OpKind::VendorMutation && !before_vendor {
                    // Not here: stall at the next write instead.
                    if let Site::Nth(k) = a.site {
                        a.site = Site::Nth(k + 1);
                    }
                    continue;
                }
                a.fired = true;
                hit = Some(a.fault);
                break;
            }
            hit
        };
        let Some(fault) = fault else { return Ok(None) };
        self.note(format!("{fault:?} at write #{n} ({kind:?} #{occurrence})"));
        match fault {
            Fault::Pause => {
                self.shared.stat(|s| s.stalls += 1);
                let tx = lock(&self.paused_tx).take();
                let rx = lock(&self.resume_rx).take();
                if let Some(tx) = tx {
                    let _ = tx.send(());
                }
                if let Some(rx) = rx {
                    let _ = rx.await;
                }
                self.stale.store(true, Ordering::SeqCst);
                self.note("resumed after the stall (stale lock holder)".into());
                Ok(None)
            }
            Fault::Crash(When::Before) => {
                self.shared.stat(|s| s.crashes += 1);
                self.dead.store(true, Ordering::SeqCst);
                Err(format!("injected: p{} crashed before {kind:?}", self.id))
            }
            Fault::Blip(When::Before) => {
                self.shared.stat(|s| s.blips += 1);
                Err(format!("injected: {kind:?} of p{} timed out", self.id))
            }
            Fault::VendorTimeout(When::Before) => {
                self.shared.stat(|s| s.vendor_timeouts += 1);
                Err(format!(
                    "injected: vendor call of p{} timed out before reaching the vendor",
                    self.id
                ))
            }
            after => Ok(Some(after)),
        }
    }

    /// After a write was performed: the fault (if any) that turns its answer into an error.
    fn exit(&self, post: Option<Fault>) -> Option<String> {
        match post? {
            Fault::Crash(_) => {
                self.shared.stat(|s| s.crashes += 1);
                self.dead.store(true, Ordering::SeqCst);
                Some(format!(
                    "injected: p{} crashed after its write succeeded",
                    self.id
                ))
            }
            Fault::Blip(_) => {
                self.shared.stat(|s| s.blips += 1);
                Some(format!(
                    "injected: the answer to p{}'s write was lost (performed)",
                    self.id
                ))
            }
            Fault::VendorTimeout(_) => {
                self.shared.stat(|s| s.vendor_timeouts += 1);
                Some(format!(
                    "injected: vendor call of p{} timed out after the change was made",
                    self.id
                ))
            }
            Fault::Pause | Fault::VendorRefused => None,
        }
    }

    fn roll(&self, pct: u32) -> bool {
        pct > 0 && lock(&self.rng).gen_ratio(pct.min(100), 100)
    }

    fn touch_row(&self, r: RowRef) {
        if matches!(
            r.table,
            AuditTable::DecisionLog | AuditTable::AdDecisionLog | AuditTable::CsThreadEvaluations
        ) {
            *lock(&self.last_row) = Some(r);
        }
    }
}

macro_rules! write_op {
    ($p:expr, $kind:expr, $call:expr) => {{
        let post = $p.enter_write($kind).await.map_err(StoreError::Transient)?;
        let r = $call.await;
        match $p.exit(post) {
            Some(m) => Err(StoreError::Transient(m)),
            None => r,
        }
    }};
}

macro_rules! read_op {
    ($p:expr, $call:expr) => {{
        $p.enter_read().await.map_err(StoreError::Transient)?;
        $call.await
    }};
}

/// Every store port of one process, wrapped.
pub fn faulty_ports(base: &Ports, p: &Arc<Proc>) -> Ports {
    Ports {
        audit: Arc::new(Faulty {
            inner: base.audit.clone(),
            p: p.clone(),
        }),
        idempotency: Arc::new(Faulty {
            inner: base.idempotency.clone(),
            p: p.clone(),
        }),
        locks: Arc::new(Faulty {
            inner: base.locks.clone(),
            p: p.clone(),
        }),
        counters: Arc::new(Faulty {
            inner: base.counters.clone(),
            p: p.clone(),
        }),
        settings: Arc::new(Faulty {
            inner: base.settings.clone(),
            p: p.clone(),
        }),
        catalog: Arc::new(Faulty {
            inner: base.catalog.clone(),
            p: p.clone(),
        }),
        queue: Arc::new(Faulty {
            inner: base.queue.clone(),
            p: p.clone(),
        }),
        events: Arc::new(Faulty {
            inner: base.events.clone(),
            p: p.clone(),
        }),
    }
}

/// A port wrapped for one process.
pub struct Faulty<T: ?Sized> {
    pub inner: Arc<T>,
    pub p: Arc<Proc>,
}

fn append_kind(rows: &[NewRow]) -> OpKind {
    if rows.iter().all(|r| r.table() == AuditTable::StageRuns) && !rows.is_empty() {
        OpKind::StageRunAppend
    } else if rows.iter().all(|r| r.table() == AuditTable::CycleRuns) && !rows.is_empty() {
        OpKind::CycleRunAppend
    } else {
        OpKind::RowAppend
    }
}

#[async_trait]
impl AuditLog for Faulty<dyn AuditLog> {
    async fn append(&self, mut rows: Vec<NewRow>, fence: Option<&Fence>) -> Result<Vec<Appended>> {
        let kind = append_kind(&rows);
        if self.p.shared.sabotage == Sabotage::UnstableNaturalKeys {
            for r in rows
                .iter_mut()
                .filter(|r| r.table() == AuditTable::DecisionLog)
            {
                r.natural_key = format!("{}|attempt-p{}", r.natural_key, self.p.id);
            }
        }
        write_op!(self.p, kind, self.inner.append(rows, fence))
    }
    async fn get(&self, row_ref: RowRef) -> Result<Option<AuditRow>> {
        read_op!(self.p, self.inner.get(row_ref))
    }
    async fn get_many(&self, refs: &[RowRef]) -> Result<Vec<Option<AuditRow>>> {
        read_op!(self.p, self.inner.get_many(refs))
    }
    async fn get_by_natural_key(
        &self,
        table: AuditTable,
        natural_key: &str,
    ) -> Result<Option<AuditRow>> {
        read_op!(self.p, self.inner.get_by_natural_key(table, natural_key))
    }
    async fn get_many_by_natural_key(
        &self,
        table: AuditTable,
        keys: &[String],
    ) -> Result<Vec<Option<AuditRow>>> {
        read_op!(self.p, self.inner.get_many_by_natural_key(table, keys))
    }
    async fn by_cycle(
        &self,
        table: AuditTable,
        cycle: &CycleId,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        read_op!(self.p, self.inner.by_cycle(table, cycle, page))
    }
    async fn by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        read_op!(self.p, self.inner.by_subject(table, store, subject, page))
    }
    async fn by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        day: StoreDay,
        action: Option<&str>,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        read_op!(
            self.p,
            self.inner.by_day_action(table, store, day, action, page)
        )
    }
    async fn by_status(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        read_op!(self.p, self.inner.by_status(table, store, status, page))
    }
    async fn keys_by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        q: &DayKeys,
    ) -> Result<Vec<RowKey>> {
        read_op!(self.p, self.inner.keys_by_day_action(table, store, q))
    }
    async fn keys_by_status_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Result<Vec<RowKey>> {
        read_op!(
            self.p,
            self.inner
                .keys_by_status_action(table, store, status, action)
        )
    }
    async fn keys_by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
    ) -> Result<Vec<RowKey>> {
        read_op!(self.p, self.inner.keys_by_subject(table, store, subject))
    }
    async fn transition(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        write_op!(
            self.p,
            OpKind::Transition(to),
            self.inner.transition(row_ref, from, to, body, at, fence)
        )
    }
    async fn claim(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        attempt: &Attempt,
        body: Option<RowBody>,
        now: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        self.p.touch_row(row_ref);
        write_op!(
            self.p,
            OpKind::Transition(RowStatus::Applying),
            self.inner.claim(row_ref, from, attempt, body, now, fence)
        )
    }
    async fn settle_attempt(
        &self,
        row_ref: RowRef,
        attempt_id: &str,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        write_op!(
            self.p,
            OpKind::Transition(to),
            self.inner
                .settle_attempt(row_ref, attempt_id, to, body, at, fence)
        )
    }
    async fn list_table(&self, table: AuditTable, page: PageReq) -> Result<Page<AuditRow>> {
        read_op!(self.p, self.inner.list_table(table, page))
    }
    async fn import(&self, rows: Vec<AuditRow>) -> Result<ImportStats> {
        write_op!(self.p, OpKind::Import, self.inner.import(rows))
    }
}

#[async_trait]
impl IdempotencyStore for Faulty<dyn IdempotencyStore> {
    async fn try_begin(&self, rec: &IdemRecord, now_s: i64, now_ms: i64) -> Result<Begin> {
        write_op!(
            self.p,
            OpKind::IdemBegin,
            self.inner.try_begin(rec, now_s, now_ms)
        )
    }
    async fn complete(
        &self,
        key: &str,
        attempt: &str,
        result: &str,
        expires_at: i64,
    ) -> Result<()> {
        write_op!(
            self.p,
            OpKind::IdemComplete,
            self.inner.complete(key, attempt, result, expires_at)
        )
    }
    async fn abandon(&self, key: &str, attempt: &str) -> Result<()> {
        write_op!(
            self.p,
            OpKind::IdemAbandon,
            self.inner.abandon(key, attempt)
        )
    }
    async fn get_record(&self, key: &str) -> Result<Option<IdemRecord>> {
        read_op!(self.p, self.inner.get_record(key))
    }
}

#[async_trait]
impl LockStore for Faulty<dyn LockStore> {
    async fn acquire(&self, name: &str, owner: &str, ttl_ms: i64, now_ms: i64) -> Result<Acquire> {
        write_op!(
            self.p,
            OpKind::LockAcquire,
            self.inner.acquire(name, owner, ttl_ms, now_ms)
        )
    }
    async fn renew(&self, lease: &Lease, ttl_ms: i64, now_ms: i64) -> Result<Lease> {
        write_op!(
            self.p,
            OpKind::LockRenew,
            self.inner.renew(lease, ttl_ms, now_ms)
        )
    }
    async fn release(&self, lease: &Lease) -> Result<bool> {
        write_op!(self.p, OpKind::LockRelease, self.inner.release(lease))
    }
    async fn current(&self, name: &str) -> Result<Option<Lease>> {
        read_op!(self.p, self.inner.current(name))
    }
}

#[async_trait]
impl Counters for Faulty<dyn Counters> {
    async fn add(
        &self,
        name: &str,
        delta: i64,
        limit: Option<i64>,
        token: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<CounterAdd> {
        let kind = if name.starts_with("fanin#") {
            OpKind::FanIn
        } else if name.starts_with("rate#") {
            OpKind::RateLimit
        } else {
            OpKind::OtherCounter
        };
        let limit = match self.p.shared.sabotage {
            Sabotage::IgnoreLimits => None,
            _ => limit,
        };
        write_op!(
            self.p,
            kind,
            self.inner.add(name, delta, limit, token, expires_at)
        )
    }
    async fn value(&self, name: &str) -> Result<i64> {
        read_op!(self.p, self.inner.value(name))
    }
}

#[async_trait]
impl Settings for Faulty<dyn Settings> {
    async fn get_setting(&self, store: &StoreId, key: &str) -> Result<Option<Value>> {
        read_op!(self.p, self.inner.get_setting(store, key))
    }
    async fn put_setting(&self, store: &StoreId, key: &str, value: &Value) -> Result<()> {
        write_op!(
            self.p,
            OpKind::SettingsWrite,
            self.inner.put_setting(store, key, value)
        )
    }
    async fn replace_setting(
        &self,
        store: &StoreId,
        key: &str,
        expected: Option<&Value>,
        value: &Value,
    ) -> Result<()> {
        write_op!(
            self.p,
            OpKind::SettingsWrite,
            self.inner.replace_setting(store, key, expected, value)
        )
    }
}

#[async_trait]
impl Catalog for Faulty<dyn Catalog> {
    async fn upsert_variants(&self, store: &StoreId, variants: &[Variant]) -> Result<()> {
        write_op!(
            self.p,
            OpKind::CatalogWrite,
            self.inner.upsert_variants(store, variants)
        )
    }
    async fn variants(&self, store: &StoreId) -> Result<Vec<Variant>> {
        read_op!(self.p, self.inner.variants(store))
    }
    async fn variant(&self, store: &StoreId, sku: &Sku) -> Result<Option<Variant>> {
        read_op!(self.p, self.inner.variant(store, sku))
    }
    async fn variants_in(&self, store: &StoreId, first: &Sku, last: &Sku) -> Result<Vec<Variant>> {
        read_op!(self.p, self.inner.variants_in(store, first, last))
    }
    async fn put_metrics(&self, store: &StoreId, metrics: &[DailyMetric]) -> Result<()> {
        write_op!(
            self.p,
            OpKind::CatalogWrite,
            self.inner.put_metrics(store, metrics)
        )
    }
    async fn metrics(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>> {
        read_op!(self.p, self.inner.metrics(store, from, to))
    }
    async fn metrics_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<DailyMetric>> {
        read_op!(
            self.p,
            self.inner.metrics_for_skus(store, from, to, first, last)
        )
    }
    async fn put_sales(&self, store: &StoreId, sales: &[SkuSales]) -> Result<()> {
        write_op!(
            self.p,
            OpKind::CatalogWrite,
            self.inner.put_sales(store, sales)
        )
    }
    async fn sales_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<SkuSales>> {
        read_op!(
            self.p,
            self.inner.sales_for_skus(store, from, to, first, last)
        )
    }
    async fn put_campaign_days(&self, store: &StoreId, days: &[CampaignDay]) -> Result<()> {
        write_op!(
            self.p,
            OpKind::CatalogWrite,
            self.inner.put_campaign_days(store, days)
        )
    }
    async fn campaign_days(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>> {
        read_op!(self.p, self.inner.campaign_days(store, from, to))
    }
    async fn put_budgets(&self, store: &StoreId, budgets: &[CampaignBudget]) -> Result<()> {
        write_op!(
            self.p,
            OpKind::CatalogWrite,
            self.inner.put_budgets(store, budgets)
        )
    }
    async fn budgets(&self, store: &StoreId) -> Result<Vec<CampaignBudget>> {
        read_op!(self.p, self.inner.budgets(store))
    }
    async fn open_window(&self, store: &StoreId, window: &OpenWindow) -> Result<()> {
        write_op!(
            self.p,
            OpKind::WindowWrite,
            self.inner.open_window(store, window)
        )
    }
    async fn windows_ending_by(&self, store: &StoreId, day: StoreDay) -> Result<Vec<OpenWindow>> {
        read_op!(self.p, self.inner.windows_ending_by(store, day))
    }
    async fn open_windows(&self, store: &StoreId) -> Result<Vec<OpenWindow>> {
        read_op!(self.p, self.inner.open_windows(store))
    }
    async fn close_window(&self, store: &StoreId, window: &OpenWindow) -> Result<()> {
        write_op!(
            self.p,
            OpKind::WindowWrite,
            self.inner.close_window(store, window)
        )
    }
}

#[async_trait]
impl StageQueue for Faulty<dyn StageQueue> {
    async fn send(&self, messages: &[StageMessage]) -> Result<()> {
        write_op!(self.p, OpKind::Send, async {
            self.inner.send(messages).await?;
            // At-least-once: the same messages delivered twice.
            if self.p.roll(lock(&self.p.plan).dup_send_pct) {
                self.p.shared.stat(|s| s.dup_sends += 1);
                self.p
                    .note(format!("sent {} message(s) twice", messages.len()));
                self.inner.send(messages).await?;
            }
            Ok(())
        })
    }
    async fn send_raw(&self, stage: Stage, body: &str) -> Result<()> {
        write_op!(self.p, OpKind::Send, self.inner.send_raw(stage, body))
    }
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: std::time::Duration,
    ) -> Result<Vec<Delivery>> {
        read_op!(self.p, self.inner.receive(stage, max, visibility))
    }
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<()> {
        write_op!(self.p, OpKind::Ack, async {
            let lost = {
                let mut plan = lock(&self.p.plan);
                std::mem::take(&mut plan.lost_ack)
            };
            if lost {
                self.p.shared.stat(|s| s.lost_acks += 1);
                self.p.note("ack lost: the message comes back".into());
                return Ok(());
            }
            self.inner.ack(stage, receipt).await
        })
    }
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<Delivery>> {
        read_op!(self.p, self.inner.dead_letters(stage, max))
    }
}

#[async_trait]
impl EventBus for Faulty<dyn EventBus> {
    async fn publish(&self, events: &[OttoEvent]) -> Result<()> {
        write_op!(self.p, OpKind::Publish, self.inner.publish(events))
    }
}

// --- the vendor ------------------------------------------------------------------------------

/// The simulated shop and ad account, wrapped for one process: counts every mutation it lets
/// through (per audit row) and times calls out.
pub struct FaultyVendor<V> {
    pub inner: Arc<V>,
    pub p: Arc<Proc>,
}

fn vendor_transient(detail: String) -> VendorError {
    VendorError::Transient {
        vendor: "simulated (fault harness)",
        detail,
    }
}

impl<V> FaultyVendor<V> {
    async fn read(&self) -> std::result::Result<(), VendorError> {
        self.p.enter_read().await.map_err(vendor_transient)?;
        if self.p.shared.outage.load(Ordering::SeqCst) {
            self.p.note("vendor read refused: outage (403)".into());
            return Err(VendorError::Permanent {
                vendor: "simulated (fault harness)",
                detail: "injected outage: 403 access denied".into(),
            });
        }
        Ok(())
    }

    async fn mutate<F, Fut>(
        &self,
        kind: MutationKind,
        key: &str,
        target: String,
        call: F,
    ) -> std::result::Result<Value, VendorError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Value, VendorError>>,
    {
        let post = self
            .p
            .enter_write(OpKind::VendorMutation)
            .await
            .map_err(vendor_transient)?;
        if post == Some(Fault::VendorRefused) {
            self.p.shared.stat(|s| s.vendor_refusals += 1);
            return Err(VendorError::Refused {
                vendor: "simulated (fault harness)",
                errors: vec![format!("injected: {key} cannot be changed right now")],
            });
        }
        let row = *lock(&self.p.last_row);
        let times = match self.p.shared.sabotage {
            Sabotage::DoubleApply => 2,
            _ => 1,
        };
        let mut answer = Err(vendor_transient("not called".into()));
        for _ in 0..times {
            answer = call().await;
            if answer.is_ok() {
                if self.p.stale.load(Ordering::SeqCst) {
                    self.p.shared.stat(|s| s.stale_vendor_calls += 1);
                }
                self.p.note(format!(
                    "vendor {kind:?} {key} → {target} (row {})",
                    row.map(|r| r.to_string()).unwrap_or_else(|| "none".into())
                ));
                if !already_done(&answer) {
                    lock(&self.p.shared.ledger).push(Mutation {
                        row,
                        kind,
                        key: key.to_string(),
                        target: target.clone(),
                        proc_id: self.p.id,
                        under_kill_switch: self.p.shared.kill_switch.load(Ordering::SeqCst),
                    });
                }
            }
        }
        match self.p.exit(post) {
            Some(m) => Err(vendor_transient(m)),
            None => answer,
        }
    }
}

#[async_trait]
impl<V: ShopCatalog + 'static> ShopCatalog for FaultyVendor<V> {
    async fn fetch_variants(&self) -> std::result::Result<Vec<Variant>, VendorError> {
        self.read().await?;
        self.inner.fetch_variants().await
    }
    async fn fetch_catalog(&self) -> std::result::Result<CatalogSync, VendorError> {
        self.read().await?;
        self.inner.fetch_catalog().await
    }
    async fn sku_sales(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> std::result::Result<Option<Vec<SkuSales>>, VendorError> {
        self.read().await?;
        self.inner.sku_sales(from, to).await
    }
    async fn fetch_variant(
        &self,
        variant_id: &str,
    ) -> std::result::Result<Option<Variant>, VendorError> {
        self.read().await?;
        self.inner.fetch_variant(variant_id).await
    }
    async fn set_product_status(
        &self,
        product_id: &str,
        status: ProductStatus,
    ) -> std::result::Result<Value, VendorError> {
        self.mutate(
            MutationKind::ProductStatus,
            product_id,
            format!("{status:?}"),
            || self.inner.set_product_status(product_id, status),
        )
        .await
    }
    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at_price: Option<Money>,
    ) -> std::result::Result<Value, VendorError> {
        let target = format!(
            "{} (compare-at {})",
            price.rounded(),
            compare_at_price
                .map(|c| c.rounded().to_string())
                .unwrap_or_else(|| "none".into())
        );
        self.mutate(MutationKind::VariantPrice, variant_id, target, || {
            self.inner
                .set_variant_price(product_id, variant_id, price, compare_at_price)
        })
        .await
    }
}

/// A vendor answer that says the change had already been made (the helpdesk found its own mark
/// of an earlier send): no new mutation.
fn already_done(answer: &std::result::Result<Value, VendorError>) -> bool {
    matches!(answer, Ok(v) if v.get("already_sent") == Some(&Value::Bool(true)))
}

#[async_trait]
impl<V: Helpdesk + 'static> Helpdesk for FaultyVendor<V> {
    async fn open_threads(&self) -> std::result::Result<Vec<Thread>, VendorError> {
        self.read().await?;
        self.inner.open_threads().await
    }
    async fn approved_replies(&self) -> std::result::Result<Vec<String>, VendorError> {
        self.read().await?;
        self.inner.approved_replies().await
    }
    async fn send(
        &self,
        thread_id: &str,
        draft: &Draft,
    ) -> std::result::Result<Value, VendorError> {
        self.mutate(
            MutationKind::CsReply,
            thread_id,
            draft.version.clone(),
            || self.inner.send(thread_id, draft),
        )
        .await
    }
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> std::result::Result<Option<Value>, VendorError> {
        self.read().await?;
        self.inner.sent_reply(thread_id, draft_version).await
    }
}

/// The demo inbox as a helpdesk that sends: it marks each (thread, draft version) it sends and
/// checks the mark first, as the Gorgias adapter does with `external_id`, so a send repeated
/// after a lost answer is answered `already_sent` instead of going out twice.
#[derive(Default)]
pub struct SimInbox {
    sent: Mutex<std::collections::BTreeSet<(String, String)>>,
}

#[async_trait]
impl Helpdesk for SimInbox {
    async fn open_threads(&self) -> std::result::Result<Vec<Thread>, VendorError> {
        Ok(demo_inbox().threads)
    }
    async fn approved_replies(&self) -> std::result::Result<Vec<String>, VendorError> {
        Ok(demo_inbox().approved_replies)
    }
    async fn send(
        &self,
        thread_id: &str,
        draft: &Draft,
    ) -> std::result::Result<Value, VendorError> {
        let fresh = lock(&self.sent).insert((thread_id.to_string(), draft.version.clone()));
        Ok(serde_json::json!({
            "sent": true,
            "thread": thread_id,
            "version": draft.version,
            "already_sent": !fresh,
        }))
    }
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> std::result::Result<Option<Value>, VendorError> {
        let key = (thread_id.to_string(), draft_version.to_string());
        Ok(lock(&self.sent).contains(&key).then(
            || serde_json::json!({"sent": true, "thread": thread_id, "version": draft_version}),
        ))
    }
}

#[async_trait]
impl<V: AdsAccount + 'static> AdsAccount for FaultyVendor<V> {
    async fn sku_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> std::result::Result<Vec<DailyMetric>, VendorError> {
        self.read().await?;
        self.inner.sku_performance(from, to).await
    }
    async fn sku_performance_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> std::result::Result<SkuPerformance, VendorError> {
        self.read().await?;
        self.inner.sku_performance_report(from, to).await
    }
    async fn campaign_performance(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> std::result::Result<Vec<CampaignDay>, VendorError> {
        self.read().await?;
        self.inner.campaign_performance(from, to).await
    }
    async fn budgets(&self) -> std::result::Result<Vec<CampaignBudget>, VendorError> {
        self.read().await?;
        self.inner.budgets().await
    }
    async fn changes_since(
        &self,
        since: DateTime<Utc>,
    ) -> std::result::Result<Vec<ExternalChange>, VendorError> {
        self.read().await?;
        self.inner.changes_since(since).await
    }
    async fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        validate_only: bool,
    ) -> std::result::Result<Value, VendorError> {
        if validate_only {
            self.read().await?;
            return self
                .inner
                .set_budget(budget_resource, amount, validate_only)
                .await;
        }
        self.mutate(
            MutationKind::Budget,
            budget_resource,
            amount.rounded().to_string(),
            || self.inner.set_budget(budget_resource, amount, false),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otto_connectors::offers::UnmappedOffer;
    use otto_core::money::Currency;
    use rand::SeedableRng;

    /// A vendor whose morning-sync reads say more than the ports' defaults would.
    struct Rich;

    fn nothing<T>() -> std::result::Result<T, VendorError> {
        Err(vendor_transient("not in this test".into()))
    }

    #[async_trait]
    impl ShopCatalog for Rich {
        async fn fetch_variants(&self) -> std::result::Result<Vec<Variant>, VendorError> {
            Ok(vec![])
        }
        async fn fetch_catalog(&self) -> std::result::Result<CatalogSync, VendorError> {
            Ok(CatalogSync {
                skipped: vec![("gid://v/1".into(), "no SKU".into())],
                ..CatalogSync::default()
            })
        }
        async fn sku_sales(
            &self,
            _from: StoreDay,
            to: StoreDay,
        ) -> std::result::Result<Option<Vec<SkuSales>>, VendorError> {
            Ok(Some(vec![SkuSales {
                sku: Sku::new("SKU-1").expect("sku"),
                day: to,
                units: 2,
                revenue: Money::zero(Currency::EUR),
                orders: 1,
            }]))
        }
        async fn fetch_variant(
            &self,
            _: &str,
        ) -> std::result::Result<Option<Variant>, VendorError> {
            nothing()
        }
        async fn set_product_status(
            &self,
            _: &str,
            _: ProductStatus,
        ) -> std::result::Result<Value, VendorError> {
            nothing()
        }
        async fn set_variant_price(
            &self,
            _: &str,
            _: &str,
            _: Money,
            _: Option<Money>,
        ) -> std::result::Result<Value, VendorError> {
            nothing()
        }
    }

    #[async_trait]
    impl AdsAccount for Rich {
        async fn sku_performance(
            &self,
            _: StoreDay,
            _: StoreDay,
        ) -> std::result::Result<Vec<DailyMetric>, VendorError> {
            Ok(vec![])
        }
        async fn sku_performance_report(
            &self,
            _: StoreDay,
            _: StoreDay,
        ) -> std::result::Result<SkuPerformance, VendorError> {
            Ok(SkuPerformance {
                metrics: vec![],
                unmapped: vec![UnmappedOffer {
                    offer_id: "shopify_EU_1".into(),
                    reason: "no such variant".into(),
                    rows: 1,
                    clicks: 3,
                    cost: Money::zero(Currency::EUR),
                }],
                campaigns: Default::default(),
            })
        }
        async fn campaign_performance(
            &self,
            _: StoreDay,
            _: StoreDay,
        ) -> std::result::Result<Vec<CampaignDay>, VendorError> {
            nothing()
        }
        async fn budgets(&self) -> std::result::Result<Vec<CampaignBudget>, VendorError> {
            nothing()
        }
        async fn changes_since(
            &self,
            _: DateTime<Utc>,
        ) -> std::result::Result<Vec<ExternalChange>, VendorError> {
            nothing()
        }
        async fn set_budget(
            &self,
            _: &str,
            _: Money,
            _: bool,
        ) -> std::result::Result<Value, VendorError> {
            nothing()
        }
    }

    fn wrapped(plan: ProcPlan, shared: Arc<Shared>) -> FaultyVendor<Rich> {
        let (p, _) = Proc::new(1, "test".into(), plan, ChaCha8Rng::seed_from_u64(1), shared);
        FaultyVendor {
            inner: Arc::new(Rich),
            p,
        }
    }

    /// What the morning sync calls reaches the inner vendor (not the ports' defaults, which
    /// drop the flags, the unmapped offers and the store's sales) …
    #[tokio::test]
    async fn morning_sync_reads_are_forwarded() {
        let v = wrapped(ProcPlan::clean(), Arc::new(Shared::default()));
        let day = StoreDay::parse("2026-11-24").expect("day");
        assert_eq!(v.fetch_catalog().await.expect("catalog").skipped.len(), 1);
        let sales = v.sku_sales(day, day).await.expect("sales");
        assert_eq!(sales.map(|s| s.len()), Some(1));
        let report = v.sku_performance_report(day, day).await.expect("report");
        assert_eq!(report.unmapped.len(), 1);
    }

    /// … with faults drawn: a read timeout and an outage strike them too.
    #[tokio::test]
    async fn morning_sync_reads_draw_faults() {
        let day = StoreDay::parse("2026-11-24").expect("day");
        let blip = ProcPlan {
            read_blip_at: Some(2),
            ..ProcPlan::clean()
        };
        let v = wrapped(blip, Arc::new(Shared::default()));
        assert!(v.fetch_catalog().await.is_ok());
        let err = v.sku_sales(day, day).await.expect_err("read #2 times out");
        assert!(err.is_retryable(), "{err}");
        assert!(v.sku_performance_report(day, day).await.is_ok());

        let shared = Arc::new(Shared::default());
        shared.outage.store(true, Ordering::SeqCst);
        let v = wrapped(ProcPlan::clean(), shared);
        assert!(!v.fetch_catalog().await.expect_err("403").is_retryable());
        assert!(v.sku_sales(day, day).await.is_err());
        assert!(v.sku_performance_report(day, day).await.is_err());
    }
}
