//! What goes wrong, and where: the per-process fault plan drawn from the seed.
//!
//! A *process* is one invocation of a handler (one `open_cycle`, one `run_stage` of one
//! delivery). Each gets a [`ProcPlan`]: faults armed at *sites* (the Nth write operation of the
//! process, or the Nth write of a given kind, e.g. the second transition to APPLYING). A fault
//! fires at most once.

use otto_core::cycle::Stage;
use otto_core::RowStatus;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Whether a fault strikes before the operation is performed, or after it succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Before,
    After,
}

/// The kinds of write operation a process performs (the sites faults are armed at).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Audit rows other than stage/cycle runs (decision_log, ad_decision_log …).
    RowAppend,
    StageRunAppend,
    CycleRunAppend,
    /// A status transition to this status.
    Transition(RowStatus),
    /// The fan-in counter (`fanin#…`).
    FanIn,
    /// A rate-limit counter (`rate#…`).
    RateLimit,
    OtherCounter,
    Send,
    Ack,
    IdemBegin,
    IdemComplete,
    IdemAbandon,
    LockAcquire,
    LockRenew,
    LockRelease,
    CatalogWrite,
    /// `open_window` / `close_window`.
    WindowWrite,
    Publish,
    SettingsWrite,
    Import,
    /// A mutation at the (simulated) vendor: product status, variant price, campaign budget.
    VendorMutation,
}

/// What happens at a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The process dies: the operation is (After) or is not (Before) performed, then every later
    /// call of the process fails; the driver sees a crashed invocation and SQS redelivers.
    Crash(When),
    /// One call fails with a transient error (After: it was performed, the answer was lost); the
    /// process goes on and handles the error.
    Blip(When),
    /// A vendor call times out (After: the change was made, the answer was lost).
    VendorTimeout(When),
    /// The vendor refuses a mutation (a `userErrors` answer): nothing changes, the row FAILS.
    VendorRefused,
    /// The process stalls here until the driver resumes it (a lock holder past its lease).
    Pause,
}

/// Where a fault is armed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Site {
    /// The Nth write operation of the process (1-based, all kinds).
    Nth(u32),
    /// The Nth write operation of this kind (1-based).
    Kind(OpKind, u32),
}

impl Site {
    pub fn matches(&self, n: u32, kind: OpKind, occurrence: u32) -> bool {
        match *self {
            Site::Nth(k) => k == n,
            Site::Kind(k, o) => k == kind && o == occurrence,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Armed {
    pub site: Site,
    pub fault: Fault,
    pub fired: bool,
}

impl Armed {
    pub fn new(site: Site, fault: Fault) -> Self {
        Armed {
            site,
            fault,
            fired: false,
        }
    }
}

/// One process's faults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcPlan {
    pub armed: Vec<Armed>,
    /// Percent chance that a `send` enqueues its messages twice (at-least-once delivery).
    pub dup_send_pct: u32,
    /// The ack is lost: the message is redelivered although it was handled.
    pub lost_ack: bool,
    /// The Nth read of the process times out.
    pub read_blip_at: Option<u32>,
    /// Whether a stall may stop the process right before a vendor mutation (else a stall due
    /// there moves to the next write). See `stale_holder_between_applying_and_vendor_call` in
    /// `tests/tests/faults_embedded.rs` for why the default run leaves it out.
    pub pause_before_vendor: bool,
}

impl ProcPlan {
    pub fn clean() -> Self {
        ProcPlan::default()
    }
    /// No fault armed anywhere: the process may fail only through someone else's fault.
    pub fn is_clean(&self) -> bool {
        self.armed.is_empty() && self.read_blip_at.is_none()
    }
    pub fn pause_at(site: Site, before_vendor: bool) -> Self {
        ProcPlan {
            armed: vec![Armed::new(site, Fault::Pause)],
            pause_before_vendor: before_vendor,
            ..ProcPlan::default()
        }
    }
}

/// Who a process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Scheduler,
    Stage(Stage),
    /// An operator's release of a held row (`POST /holds/{ref}/release`, Slack, dashboard): the
    /// executor runs in the caller's process.
    Release,
}

/// Stages whose bodies call the vendor's mutations (through the executor).
pub fn mutates(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Decide | Stage::CampaignPlan | Stage::Revert | Stage::Open
    )
}

fn when(rng: &mut ChaCha8Rng) -> When {
    if rng.gen_bool(0.5) {
        When::Before
    } else {
        When::After
    }
}

/// Stage boundaries and executor steps: the interesting places to die.
const STAGE_SITES: [OpKind; 16] = [
    OpKind::IdemBegin,
    OpKind::StageRunAppend,
    OpKind::IdemComplete,
    OpKind::FanIn,
    OpKind::Send,
    OpKind::Ack,
    OpKind::Transition(RowStatus::Completed),
    OpKind::LockRelease,
    OpKind::Publish,
    OpKind::RowAppend,
    OpKind::RateLimit,
    OpKind::Transition(RowStatus::Applying),
    OpKind::VendorMutation,
    OpKind::Transition(RowStatus::Applied),
    OpKind::WindowWrite,
    OpKind::CatalogWrite,
];

/// Executor steps repeat per row: pick which row.
fn repeats(kind: OpKind) -> bool {
    matches!(
        kind,
        OpKind::RateLimit
            | OpKind::Transition(RowStatus::Applying)
            | OpKind::Transition(RowStatus::Applied)
            | OpKind::VendorMutation
            | OpKind::WindowWrite
            | OpKind::CatalogWrite
    )
}

fn stage_site(rng: &mut ChaCha8Rng) -> Site {
    if rng.gen_bool(0.5) {
        // Anywhere: the Nth write of the process.
        Site::Nth(rng.gen_range(1..=24))
    } else {
        let kind = *STAGE_SITES.choose(rng).unwrap_or(&OpKind::FanIn);
        let occurrence = if repeats(kind) {
            rng.gen_range(1..=3)
        } else {
            1
        };
        Site::Kind(kind, occurrence)
    }
}

/// The executor's steps, per row: rate-limit counter → APPLYING (reversal op stored) → vendor
/// mutation → APPLIED (or HELD) → window / REVERTED.
const EXECUTOR_SITES: [OpKind; 8] = [
    OpKind::RowAppend,
    OpKind::RateLimit,
    OpKind::Transition(RowStatus::Applying),
    OpKind::VendorMutation,
    OpKind::Transition(RowStatus::Applied),
    OpKind::Transition(RowStatus::Held),
    OpKind::Transition(RowStatus::Reverted),
    OpKind::WindowWrite,
];

fn executor_site(rng: &mut ChaCha8Rng) -> Site {
    if rng.gen_ratio(1, 4) {
        Site::Nth(rng.gen_range(4..=40))
    } else {
        let kind = *EXECUTOR_SITES
            .choose(rng)
            .unwrap_or(&OpKind::VendorMutation);
        let occurrence = if kind == OpKind::RowAppend {
            1
        } else {
            rng.gen_range(1..=3)
        };
        Site::Kind(kind, occurrence)
    }
}

/// Draws one process's plan. Only the first `faulty_attempts` deliveries of a message get
/// faults, so a message never reaches the dead-letter queue (that gap is documented, and not
/// what this harness is for).
pub fn draw(rng: &mut ChaCha8Rng, role: Role, attempt: u32, faulty_attempts: u32) -> ProcPlan {
    let mut plan = ProcPlan::clean();
    if attempt > faulty_attempts {
        return plan;
    }
    match role {
        Role::Scheduler => {
            // open_cycle writes: acquire, cycle_runs append, first stage send.
            if rng.gen_ratio(3, 20) {
                plan.armed.push(Armed::new(
                    Site::Nth(rng.gen_range(1..=3)),
                    Fault::Crash(when(rng)),
                ));
            } else if rng.gen_ratio(1, 8) {
                plan.armed.push(Armed::new(
                    Site::Nth(rng.gen_range(1..=3)),
                    Fault::Blip(when(rng)),
                ));
            }
            plan.dup_send_pct = 15;
        }
        Role::Stage(stage) => {
            // Stages that apply moves die more often, and mostly in the executor.
            let exec = mutates(stage);
            let site = |rng: &mut ChaCha8Rng| {
                if exec && rng.gen_bool(0.6) {
                    executor_site(rng)
                } else {
                    stage_site(rng)
                }
            };
            if rng.gen_ratio(if exec { 3 } else { 1 }, 10) {
                let s = site(rng);
                plan.armed.push(Armed::new(s, Fault::Crash(when(rng))));
            }
            if rng.gen_ratio(if exec { 2 } else { 1 }, 10) {
                let s = site(rng);
                plan.armed.push(Armed::new(s, Fault::Blip(when(rng))));
            }
            if mutates(stage) && rng.gen_ratio(1, 4) {
                let w = if rng.gen_ratio(3, 4) {
                    When::After
                } else {
                    When::Before
                };
                plan.armed.push(Armed::new(
                    Site::Kind(OpKind::VendorMutation, rng.gen_range(1..=3)),
                    Fault::VendorTimeout(w),
                ));
            }
            if mutates(stage) && rng.gen_ratio(1, 12) {
                plan.armed.push(Armed::new(
                    Site::Kind(OpKind::VendorMutation, rng.gen_range(1..=3)),
                    Fault::VendorRefused,
                ));
            }
            if rng.gen_ratio(1, 25) {
                plan.read_blip_at = Some(rng.gen_range(1..=10));
            }
            plan.lost_ack = rng.gen_ratio(1, 20);
            plan.dup_send_pct = 10;
        }
        Role::Release => {
            // The executor's steps, as in a stage that applies moves; no queue.
            if rng.gen_ratio(1, 5) {
                let s = executor_site(rng);
                plan.armed.push(Armed::new(s, Fault::Crash(when(rng))));
            }
            if rng.gen_ratio(1, 6) {
                let s = executor_site(rng);
                plan.armed.push(Armed::new(s, Fault::Blip(when(rng))));
            }
            if rng.gen_ratio(1, 6) {
                plan.armed.push(Armed::new(
                    Site::Kind(OpKind::VendorMutation, 1),
                    Fault::VendorTimeout(when(rng)),
                ));
            }
            if rng.gen_ratio(1, 25) {
                plan.read_blip_at = Some(rng.gen_range(1..=4));
            }
        }
    }
    plan
}

/// Where a stalled lock holder stops: anywhere early, at its stage_runs write, or right before a
/// vendor mutation.
pub fn stall_site(rng: &mut ChaCha8Rng, allow_before_vendor: bool) -> Site {
    let r = rng.gen_range(0..10);
    if r < 2 && allow_before_vendor {
        Site::Kind(OpKind::VendorMutation, 1)
    } else if r < 4 {
        Site::Kind(OpKind::StageRunAppend, 1)
    } else {
        Site::Nth(rng.gen_range(1..=10))
    }
}
