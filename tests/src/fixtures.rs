use crate::Harness;
use chrono::{DateTime, Duration, Utc};
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::ShopCatalog;
use otto_core::audit::{DecisionRow, NewRow, RowBody, RowRef, Surface};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::metrics::{ProductStatus, Variant};
use otto_core::money::Currency;
use otto_core::{Action, RowStatus, Sku, StoreClock, StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput};
use otto_engine::executor::Executors;
use otto_engine::local::drain;
use otto_engine::morning::{morning_registry, Vendors};
use otto_engine::review::{apply_cycle, ApplyError, ApplyReport};
use otto_engine::undo::{revert, Actor, RevertError, Reverted};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A store id no other test uses, so tests can share tables.
pub fn unique_store() -> StoreId {
    StoreId::new(format!("s{}", ulid::Ulid::new().to_string().to_lowercase())).expect("valid id")
}

pub fn day() -> StoreDay {
    StoreDay::parse("2026-11-24").expect("valid day")
}

pub fn t0() -> DateTime<Utc> {
    "2026-11-24T06:00:00Z".parse().expect("valid time")
}

pub fn cycle(store: &StoreId) -> CycleId {
    CycleId::new(store.clone(), CycleKind::Morning, day())
}

pub fn decision(sku: &str, action: Action) -> RowBody {
    RowBody::Decision(DecisionRow {
        sku: Sku::new(sku).expect("valid sku"),
        action,
        trigger: None,
        classification: None,
        reasoning: format!("test {action} on {sku}"),
        figures: BTreeMap::from([("n".to_string(), serde_json::json!(1))]),
        window: None,
        r#move: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    })
}

/// A decision row of the morning `decide` stage, `minutes` after 06:00.
pub fn row(cycle: &CycleId, sku: &str, action: Action, status: RowStatus, minutes: i64) -> NewRow {
    NewRow::for_stage(
        cycle.clone(),
        Stage::Decide,
        status,
        t0() + Duration::minutes(minutes),
        decision(sku, action),
    )
}

/// An attempt whose process died: it owned a row, and its lease has already lapsed.
pub fn crashed_attempt() -> otto_core::Attempt {
    otto_core::Attempt {
        id: "crashed-attempt".into(),
        until: chrono::Utc::now() - chrono::Duration::seconds(1),
        owner: String::new(),
    }
}

/// Runs the one executor over a row through `via`; the row's status after.
async fn exec(
    ports: &otto_store::Ports,
    via: otto_engine::executor::Via<'_>,
    row_ref: otto_core::RowRef,
    fence: Option<&otto_core::Fence>,
    now: DateTime<Utc>,
    today: StoreDay,
) -> Result<otto_core::RowStatus, otto_runtime::HandlerError> {
    let run = otto_engine::executor::Run {
        fence,
        now,
        today,
        owner: String::new(),
    };
    Ok(otto_engine::executor::execute(ports, via, row_ref, &run)
        .await?
        .row
        .status)
}

/// The one executor with just the shop (status, prices) configured.
pub async fn exec_shop(
    ports: &otto_store::Ports,
    shop: &dyn otto_connectors::ShopCatalog,
    row_ref: otto_core::RowRef,
    fence: Option<&otto_core::Fence>,
    now: DateTime<Utc>,
    today: StoreDay,
) -> Result<otto_core::RowStatus, otto_runtime::HandlerError> {
    let via = otto_engine::executor::Via {
        shop: Some(shop),
        ..Default::default()
    };
    exec(ports, via, row_ref, fence, now, today).await
}

/// The one executor with just the ad account configured.
pub async fn exec_ads(
    ports: &otto_store::Ports,
    ads: &dyn otto_connectors::AdsAccount,
    row_ref: otto_core::RowRef,
    fence: Option<&otto_core::Fence>,
    now: DateTime<Utc>,
    today: StoreDay,
) -> Result<otto_core::RowStatus, otto_runtime::HandlerError> {
    let via = otto_engine::executor::Via {
        ads: Some(ads),
        ..Default::default()
    };
    exec(ports, via, row_ref, fence, now, today).await
}

/// The test stores' clock (the demo store's time zone).
pub fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

/// An operator act at `now` on store day `today` (a test may ask for another day than now's)
/// on the fixtures' clock.
pub fn at(
    now: chrono::DateTime<chrono::Utc>,
    today: otto_core::StoreDay,
) -> otto_engine::executor::At {
    otto_engine::executor::At {
        now,
        today,
        clock: clock(),
    }
}

/// A seeded simulated shop and ad account (35 days of history up to the day before [`day`]), and
/// the vendors the stages call.
pub struct World {
    pub sim: Arc<SimulatedVendor>,
    pub vendors: Vendors,
    _dir: tempfile::TempDir,
}

pub fn world(variants: usize) -> World {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = SimSpec {
        variants,
        days: 35,
        last_day: day().plus_days(-1),
        seed: 11,
        currency: Currency::EUR,
    };
    let sim = Arc::new(SimulatedVendor::create(&dir.path().join("sim.json"), spec).expect("sim"));
    World {
        vendors: Vendors {
            shop: sim.clone(),
            ads: sim.clone(),
        },
        sim,
        _dir: dir,
    }
}

/// The morning cycle of `day` through the scheduler and the stage handlers, drained in-process;
/// every stage must finish.
pub async fn run_morning(h: &Harness, w: &World, store: &StoreId, day: StoreDay, apply: bool) {
    let input = ScheduledInput {
        cycle: CycleKind::Morning,
        store: store.clone(),
        scheduled_time: clock().at_local(day, 6, 0).expect("time"),
        apply: Some(apply),
    };
    open_cycle(&h.ports, &clock(), &input, Utc::now())
        .await
        .expect("open");
    let reg = morning_registry(w.vendors.clone());
    let report = drain(&h.ports, &reg, clock(), CycleKind::Morning, Utc::now, 200)
        .await
        .expect("drain");
    assert!(
        report.failed_cycles.is_empty() && report.retry_later.is_empty(),
        "{report:?}"
    );
}

/// The operator whose undos and reviews the tests make.
pub fn emma() -> Actor {
    Actor {
        by: "emma@brevard".into(),
        surface: Surface::Cli,
    }
}

/// A [`World`] on a store of its own over one harness, where an operator acts (as [`emma`],
/// now, on [`day`]) through the one executor with the world's shop and ad account.
pub struct OperatorDesk<'h> {
    pub h: &'h Harness,
    pub w: World,
    pub store: StoreId,
}

impl<'h> OperatorDesk<'h> {
    pub fn new(h: &'h Harness, variants: usize) -> Self {
        OperatorDesk {
            h,
            w: world(variants),
            store: unique_store(),
        }
    }

    pub fn exec(&self) -> Executors {
        Executors {
            shop: Some(self.w.vendors.shop.clone()),
            ads: Some(self.w.vendors.ads.clone()),
            ..Executors::default()
        }
    }

    /// The shop's catalog synced into the store; its first active variant.
    pub async fn synced(&self) -> Variant {
        let variants = self.w.sim.fetch_variants().await.expect("variants");
        self.h
            .ports
            .catalog
            .upsert_variants(&self.store, &variants)
            .await
            .expect("catalog");
        variants
            .into_iter()
            .find(|v| v.status == ProductStatus::Active)
            .expect("an active variant")
    }

    /// The undo of `r`, asked of `store` (the desk's own, or another).
    pub async fn revert_in(&self, store: &StoreId, r: RowRef) -> Result<Reverted, RevertError> {
        let exec = self.exec();
        revert(
            &self.h.ports,
            &exec,
            store,
            r,
            &emma(),
            crate::fixtures::at(Utc::now(), day()),
        )
        .await
    }

    /// Applies dry-run `cycle` after review, as if it were `today`.
    pub async fn apply_cycle(
        &self,
        cycle: &CycleId,
        today: StoreDay,
    ) -> Result<ApplyReport, ApplyError> {
        let (ports, exec) = (&self.h.ports, self.exec());
        apply_cycle(
            ports,
            &exec,
            &self.store,
            cycle,
            &emma(),
            crate::fixtures::at(Utc::now(), today),
        )
        .await
    }
}
