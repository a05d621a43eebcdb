//! Ports: one async trait per capability. Every adapter (embedded SQLite, DynamoDB/SQS) implements
//! all of them and passes the same contract suite (`tests/`).

use crate::error::StoreError;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::{CycleId, Stage, StageMessage};
use otto_core::lock::{Fence, Lease};
use otto_core::metrics::{CampaignBudget, CampaignDay, DailyMetric, OpenWindow, SkuSales, Variant};
use otto_core::{Attempt, Classification, RowKey, RowStatus, Sku, StoreDay, StoreId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

pub type Result<T> = std::result::Result<T, StoreError>;

/// A page request: at most `limit` items after `cursor` (an opaque string from the last page).
#[derive(Debug, Clone, Default)]
pub struct PageReq {
    pub limit: usize,
    pub cursor: Option<String>,
}

impl PageReq {
    pub fn first(limit: usize) -> Self {
        PageReq {
            limit,
            cursor: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which actions an index read selects (by the rows' [`AuditRow::action_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionFilter {
    /// Rows with one of these actions.
    Only(Vec<String>),
    /// Rows with any action but these (`AllBut(vec![])`: every row).
    AllBut(Vec<String>),
}

impl ActionFilter {
    /// The actions it names (to keep or to leave out), sorted, each once.
    pub fn names(&self) -> Vec<&str> {
        let (ActionFilter::Only(list) | ActionFilter::AllBut(list)) = self;
        let mut out: Vec<&str> = list.iter().map(String::as_str).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
    pub fn admits(&self, action: &str) -> bool {
        match self {
            ActionFilter::Only(a) => a.iter().any(|x| x == action),
            ActionFilter::AllBut(a) => !a.iter().any(|x| x == action),
        }
    }
}

/// A keys read by day and action: the rows of the store days `from..=to` whose action
/// `actions` admits and, when given, with this classification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayKeys {
    pub from: StoreDay,
    pub to: StoreDay,
    pub actions: ActionFilter,
    pub classification: Option<Classification>,
}

impl DayKeys {
    pub fn new(from: StoreDay, to: StoreDay, actions: ActionFilter) -> Self {
        DayKeys {
            from,
            to,
            actions,
            classification: None,
        }
    }
    pub fn classified(self, c: Classification) -> Self {
        DayKeys {
            classification: Some(c),
            ..self
        }
    }
    /// Whether an entry is one this read selects.
    pub fn admits(&self, k: &RowKey) -> bool {
        self.from <= k.day
            && k.day <= self.to
            && self.actions.admits(&k.action)
            && self
                .classification
                .is_none_or(|c| k.classification == Some(c))
    }
}

/// The outcome of appending one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    pub row_ref: RowRef,
    /// False when a row with the same natural key already existed; `row_ref` is then that row's.
    pub inserted: bool,
}

/// decision_log, ad_decision_log, cs_thread_evaluations, research_candidates, cycle/stage runs.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends rows; a row whose natural key exists is not written again (its existing ref is
    /// returned). With a fence, nothing is written unless the fence's lock still has that version.
    async fn append(&self, rows: Vec<NewRow>, fence: Option<&Fence>) -> Result<Vec<Appended>>;
    async fn get(&self, row_ref: RowRef) -> Result<Option<AuditRow>>;
    /// Many rows by ref at once (one batched read on DynamoDB), in the order of `refs`.
    async fn get_many(&self, refs: &[RowRef]) -> Result<Vec<Option<AuditRow>>> {
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            out.push(self.get(*r).await?);
        }
        Ok(out)
    }
    async fn get_by_natural_key(
        &self,
        table: AuditTable,
        natural_key: &str,
    ) -> Result<Option<AuditRow>>;
    /// Many rows by natural key at once (batched reads), in the order of `keys`.
    async fn get_many_by_natural_key(
        &self,
        table: AuditTable,
        keys: &[String],
    ) -> Result<Vec<Option<AuditRow>>>;
    /// Rows of one cycle, oldest first.
    async fn by_cycle(
        &self,
        table: AuditTable,
        cycle: &CycleId,
        page: PageReq,
    ) -> Result<Page<AuditRow>>;
    /// Rows about one subject (a SKU, a campaign, a thread …), newest first.
    async fn by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
        page: PageReq,
    ) -> Result<Page<AuditRow>>;
    /// Rows of one store day, optionally of one action, oldest first.
    async fn by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        day: StoreDay,
        action: Option<&str>,
        page: PageReq,
    ) -> Result<Page<AuditRow>>;
    /// Index entries (no bodies) of the rows `q` selects, by day, then action, then ref. Every
    /// entry of the period (the adapter follows its own pages; an entry is about 100 bytes, and
    /// the caller bounds the period): what counts, groups and citations are made of without
    /// reading a body.
    async fn keys_by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        q: &DayKeys,
    ) -> Result<Vec<RowKey>>;
    /// Index entries of the rows in `status` with action `action`, by ref — e.g. the APPLIED
    /// ON_DISCOUNT rows, the open discount windows (a restore turns its window's row REVERTED,
    /// so the read stays as small as what is open).
    async fn keys_by_status_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Result<Vec<RowKey>>;
    /// Index entries of the rows about one subject, newest first (the order of
    /// [`AuditLog::by_subject`]).
    async fn keys_by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
    ) -> Result<Vec<RowKey>>;
    /// Rows in one status (e.g. HELD), oldest first.
    async fn by_status(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        page: PageReq,
    ) -> Result<Page<AuditRow>>;
    /// Moves a row's status from `from` to `to` (conditional on `from`), optionally replacing
    /// its body. Refuses transitions that [`RowStatus::can_become`] forbids, and any transition
    /// into or out of APPLYING: those belong to an attempt ([`AuditLog::claim`],
    /// [`AuditLog::settle_attempt`]).
    async fn transition(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow>;
    /// Takes ownership of a row for one executor attempt: `from` (PENDING, RELEASED, or APPLYING
    /// whose owning attempt expired before `now`) → APPLYING owned by `attempt`, optionally
    /// replacing the body (the reversal op is stored here, before the vendor call). `Conflict`
    /// when the row is no longer in `from`, or a live attempt owns it.
    async fn claim(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        attempt: &Attempt,
        body: Option<RowBody>,
        now: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow>;
    /// Ends an attempt: APPLYING → `to` (APPLIED, FAILED, HELD), conditional on the row still
    /// being owned by `attempt_id`. `to == APPLYING` keeps the status and lets go of the row (the
    /// attempt expires at `at`), so a retry may take it over at once and read the vendor.
    async fn settle_attempt(
        &self,
        row_ref: RowRef,
        attempt_id: &str,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow>;
    /// All rows of a table, for export (not a hot path; order across pages is the adapter's:
    /// ref order on the embedded store, none on DynamoDB, whose export is a Scan).
    async fn list_table(&self, table: AuditTable, page: PageReq) -> Result<Page<AuditRow>>;
    /// Writes rows exactly as given (refs included), all or nothing. A row whose ref exists with
    /// the same content is skipped; one that exists with other content fails the whole import.
    async fn import(&self, rows: Vec<AuditRow>) -> Result<ImportStats>;
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportStats {
    pub written: usize,
    pub already_present: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IdemStatus {
    InProgress,
    Completed,
}

/// One idempotency record (as AWS Powertools keeps them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    pub key: String,
    pub status: IdemStatus,
    pub payload_hash: String,
    /// JSON of the stored result, once completed.
    pub result: Option<String>,
    /// Epoch seconds after which the record is void (and deleted by TTL).
    pub expires_at: i64,
    /// Epoch milliseconds after which an INPROGRESS record may be taken over.
    pub in_progress_expires_at_ms: i64,
    /// Random id of the attempt that owns the record.
    pub attempt: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begin {
    Started,
    /// A live record exists (completed, or in progress and not lapsed).
    Existing(IdemRecord),
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Writes `rec` (INPROGRESS) unless a live record exists: the Powertools condition
    /// `attribute_not_exists OR expires_at < now OR (INPROGRESS AND in_progress_expiry < now_ms)`.
    async fn try_begin(&self, rec: &IdemRecord, now_s: i64, now_ms: i64) -> Result<Begin>;
    /// INPROGRESS → COMPLETED with the result, only for the attempt that owns the record.
    async fn complete(&self, key: &str, attempt: &str, result: &str, expires_at: i64)
        -> Result<()>;
    /// Deletes the record when the attempt failed, so a retry runs again.
    async fn abandon(&self, key: &str, attempt: &str) -> Result<()>;
    async fn get_record(&self, key: &str) -> Result<Option<IdemRecord>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acquire {
    Acquired(Lease),
    /// Someone else holds a live lease.
    Held(Lease),
}

/// Leases with fencing tokens (the store_lock).
#[async_trait]
pub trait LockStore: Send + Sync {
    /// Takes the lease if it is free or lapsed. The same owner re-acquiring a live lease gets it
    /// back with the same version (so a retried scheduler resumes its own cycle).
    async fn acquire(&self, name: &str, owner: &str, ttl_ms: i64, now_ms: i64) -> Result<Acquire>;
    /// Extends a lease still held at this version; `Fenced` once another owner took it.
    async fn renew(&self, lease: &Lease, ttl_ms: i64, now_ms: i64) -> Result<Lease>;
    /// Releases a lease still held at this version; false if it was no longer ours.
    async fn release(&self, lease: &Lease) -> Result<bool>;
    async fn current(&self, name: &str) -> Result<Option<Lease>>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterAdd {
    /// The counter moved; its new value.
    Added(i64),
    /// This token was already counted; the counter's current value.
    AlreadyCounted(i64),
    /// The change would cross the limit; the counter's current value, unchanged.
    LimitReached(i64),
}

/// Atomic counters: rate limits, fan-in, sequence blocks.
#[async_trait]
pub trait Counters: Send + Sync {
    /// Adds `delta` atomically. With `limit`, refuses a change that would take the value above
    /// it. With `token`, counts that token once only (a retry returns `AlreadyCounted`).
    /// `expires_at` (epoch seconds) lets a windowed counter age out.
    async fn add(
        &self,
        name: &str,
        delta: i64,
        limit: Option<i64>,
        token: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<CounterAdd>;
    async fn value(&self, name: &str) -> Result<i64>;
}

/// Per-store settings (kill switch, policy …) as JSON values.
#[async_trait]
pub trait Settings: Send + Sync {
    async fn get_setting(&self, store: &StoreId, key: &str) -> Result<Option<Value>>;
    async fn put_setting(&self, store: &StoreId, key: &str, value: &Value) -> Result<()>;
    /// Writes `value` only while the stored value is still `expected` (None: nothing stored),
    /// in one conditional write; otherwise `StoreError::Conflict` and nothing is written.
    async fn replace_setting(
        &self,
        store: &StoreId,
        key: &str,
        expected: Option<&Value>,
        value: &Value,
    ) -> Result<()>;
}

/// The synced catalog and daily metrics.
#[async_trait]
pub trait Catalog: Send + Sync {
    async fn upsert_variants(&self, store: &StoreId, variants: &[Variant]) -> Result<()>;
    async fn variants(&self, store: &StoreId) -> Result<Vec<Variant>>;
    async fn variant(&self, store: &StoreId, sku: &Sku) -> Result<Option<Variant>>;
    /// Variants with SKUs in `first..=last`, by SKU (a chunk's slice).
    async fn variants_in(&self, store: &StoreId, first: &Sku, last: &Sku) -> Result<Vec<Variant>>;
    async fn put_metrics(&self, store: &StoreId, metrics: &[DailyMetric]) -> Result<()>;
    /// Metrics of the days `from..=to`, by SKU then day.
    async fn metrics(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>>;
    /// Metrics of the days `from..=to` for SKUs in `first..=last` only (a chunk's slice), by SKU
    /// then day.
    async fn metrics_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<DailyMetric>>;
    /// Store sales per SKU per day from the shop's orders; a SKU-day written again replaces it.
    async fn put_sales(&self, store: &StoreId, sales: &[SkuSales]) -> Result<()>;
    /// Store sales of the days `from..=to` for SKUs in `first..=last` (a chunk's slice), by SKU
    /// then day.
    async fn sales_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<SkuSales>>;
    async fn put_campaign_days(&self, store: &StoreId, days: &[CampaignDay]) -> Result<()>;
    /// Campaign days of `from..=to`, by day then campaign id.
    async fn campaign_days(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>>;
    /// Replaces the stored budgets with this snapshot.
    async fn put_budgets(&self, store: &StoreId, budgets: &[CampaignBudget]) -> Result<()>;
    async fn budgets(&self, store: &StoreId) -> Result<Vec<CampaignBudget>>;
    /// Records an open discount window (idempotent on SKU + end day).
    async fn open_window(&self, store: &StoreId, window: &OpenWindow) -> Result<()>;
    /// Open windows ending on or before `day`, by end day then SKU (the access path by expiry).
    async fn windows_ending_by(&self, store: &StoreId, day: StoreDay) -> Result<Vec<OpenWindow>>;
    /// Every open window, by end day then SKU.
    async fn open_windows(&self, store: &StoreId) -> Result<Vec<OpenWindow>>;
    async fn close_window(&self, store: &StoreId, window: &OpenWindow) -> Result<()>;
}

/// A message as received from a stage queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: String,
    /// Handle for ack; valid for this delivery only.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// The queues that chain stages (SQS in AWS, a durable table locally).
#[async_trait]
pub trait StageQueue: Send + Sync {
    /// Enqueues messages, each to its stage's queue. Fails if any entry failed.
    async fn send(&self, messages: &[StageMessage]) -> Result<()>;
    /// Enqueues a raw body (tests, redrive tooling).
    async fn send_raw(&self, stage: Stage, body: &str) -> Result<()>;
    /// Receives up to `max` visible messages and hides them for `visibility`. A message received
    /// more than the queue's max receive count goes to the stage's dead-letter queue instead.
    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>>;
    async fn ack(&self, stage: Stage, receipt: &str) -> Result<()>;
    /// Messages in the stage's dead-letter queue (received, and left there).
    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<Delivery>>;
}

/// A notable event (cycle finished, row held …) for other systems (EventBridge in AWS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OttoEvent {
    /// e.g. `CycleCompleted`, `RowHeld`.
    pub detail_type: String,
    pub detail: Value,
}

#[async_trait]
pub trait EventBus: Send + Sync {
    async fn publish(&self, events: &[OttoEvent]) -> Result<()>;
}
