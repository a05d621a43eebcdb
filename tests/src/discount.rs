//! The discount cycle end to end over the simulated shop, generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::Utc;
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::ShopCatalog;
use otto_core::audit::{AuditRow, AuditTable, ReversalOp, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::money::{Currency, Money};
use otto_core::policy::Policy;
use otto_core::{Action, RowStatus, StoreClock, StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput};
use otto_engine::local::drain;
use otto_engine::morning::{morning_registry, Vendors};
use otto_engine::StageRegistry;
use otto_store::PageReq;
use std::sync::Arc;

#[macro_export]
macro_rules! discount_suite {
    ($make:path) => {
        $crate::instantiate!(discount, $make;
            discount_opens_restores_exactly_and_holds_conflicts,
            a_dry_run_plans_only_what_the_caps_open_and_otto_knows_its_own_prices
        );
    };
}

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

fn today() -> StoreDay {
    StoreDay::parse("2026-11-24").expect("day")
}

async fn run(
    h: &Harness,
    reg: &StageRegistry,
    store: &StoreId,
    kind: CycleKind,
    day: StoreDay,
    apply: bool,
) {
    let (hh, mm) = kind.scheduled_at().expect("scheduled");
    let input = ScheduledInput {
        cycle: kind,
        store: store.clone(),
        scheduled_time: clock().at_local(day, hh, mm).expect("time"),
        apply: Some(apply),
    };
    open_cycle(&h.ports, &clock(), &input, Utc::now())
        .await
        .expect("open");
    let report = drain(&h.ports, reg, clock(), kind, Utc::now, 200)
        .await
        .expect("drain");
    assert!(
        report.failed_cycles.is_empty() && report.retry_later.is_empty(),
        "{report:?}"
    );
}

async fn rows(h: &Harness, cycle: &CycleId) -> Vec<AuditRow> {
    h.ports
        .audit
        .by_cycle(AuditTable::DecisionLog, cycle, PageReq::first(1000))
        .await
        .expect("rows")
        .items
}

pub async fn discount_opens_restores_exactly_and_holds_conflicts(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = SimSpec {
        variants: 120,
        days: 35,
        last_day: today().plus_days(-1),
        seed: 11,
        currency: Currency::EUR,
    };
    let sim = Arc::new(SimulatedVendor::create(&dir.path().join("sim.json"), spec).expect("sim"));
    let v = Vendors {
        shop: sim.clone(),
        ads: sim.clone(),
    };
    let morning = morning_registry(v.clone());
    let discount = otto_engine::discount::with_discount(StageRegistry::new(), v.clone());
    let store = unique_store();
    // Two mornings of history make DISCOUNT_TEST rows; then the 16:00 cycle applies them.
    run(
        h,
        &morning,
        &store,
        CycleKind::Morning,
        today().plus_days(-1),
        false,
    )
    .await;
    run(h, &morning, &store, CycleKind::Morning, today(), false).await;
    run(h, &discount, &store, CycleKind::Discount, today(), true).await;
    let opened: Vec<AuditRow> = rows(
        h,
        &CycleId::new(store.clone(), CycleKind::Discount, today()),
    )
    .await
    .into_iter()
    .filter(|r| r.status == RowStatus::Applied)
    .collect();
    assert!(opened.len() >= 2, "some windows opened ({})", opened.len());
    assert!(
        opened.len() <= Policy::default().discount_tests_per_day as usize,
        "capped by the rate limit"
    );
    let windows = h.ports.catalog.open_windows(&store).await.expect("windows");
    assert_eq!(windows.len(), opened.len());
    // Each applied ON_DISCOUNT stored the exact prior price before changing it.
    let first = &opened[0];
    let RowBody::Decision(d) = &first.body else {
        panic!("decision")
    };
    assert_eq!(d.action, Action::OnDiscount);
    let Some(ReversalOp::VariantPrice {
        variant_id,
        price: prior,
        compare_at_price: prior_cmp,
        ..
    }) = d.reversal_op.clone()
    else {
        panic!("reversal op stored")
    };
    let now = sim
        .fetch_variant(&variant_id)
        .await
        .expect("fetch")
        .expect("variant");
    assert_eq!(
        now.compare_at_price,
        Some(prior),
        "compare-at shows the old price"
    );
    assert!(now.price.micros() < prior.micros());
    // A person edits the second SKU's price by hand.
    let RowBody::Decision(d2) = &opened[1].body else {
        panic!("decision")
    };
    let Some(ReversalOp::VariantPrice {
        variant_id: edited, ..
    }) = d2.reversal_op.clone()
    else {
        panic!("op")
    };
    sim.external_price_edit(
        &edited,
        Money::parse("1.23", Currency::EUR).expect("price"),
        Utc::now(),
    )
    .expect("edit");
    // The policy changes (a deeper discount) — a restore must not care.
    let p = Policy {
        discount_percent_bp: 3_000,
        ..Policy::default()
    };
    otto_store::settings::set_policy(h.ports.settings.as_ref(), &store, &p)
        .await
        .expect("policy");
    // The morning sync of the last day re-reads the catalog (needed for the catalog lookup).
    let end = d.window.as_ref().expect("window").ends_on;
    run(h, &discount, &store, CycleKind::Discount, end, true).await;
    let restored = rows(h, &CycleId::new(store.clone(), CycleKind::Discount, end)).await;
    let restore_of = |sku: &otto_core::Sku| {
        restored.iter().find(|r| matches!(&r.body, RowBody::Decision(x) if &x.sku == sku && x.action == Action::PriceRestore)).cloned()
    };
    let r1 = restore_of(&d.sku).expect("restore row");
    assert_eq!(r1.status, RowStatus::Applied);
    let back = sim
        .fetch_variant(&variant_id)
        .await
        .expect("fetch")
        .expect("variant");
    assert_eq!(
        (back.price, back.compare_at_price),
        (prior, prior_cmp),
        "exactly the stored price and compare-at"
    );
    assert_eq!(
        h.ports
            .audit
            .get(first.row_ref)
            .await
            .expect("get")
            .expect("row")
            .status,
        RowStatus::Reverted
    );
    let r2 = restore_of(&d2.sku).expect("conflict row");
    assert_eq!(
        r2.status,
        RowStatus::Held,
        "a manual price is held, not overwritten"
    );
    let RowBody::Decision(c) = &r2.body else {
        panic!("decision")
    };
    assert!(c
        .hold_reason
        .as_deref()
        .unwrap_or("")
        .contains("not overwritten"));
    assert_eq!(
        sim.fetch_variant(&edited)
            .await
            .expect("fetch")
            .expect("variant")
            .price
            .amount_string(),
        "1.23"
    );
    let left = h.ports.catalog.open_windows(&store).await.expect("windows");
    assert!(
        left.iter().any(|w| w.sku == d2.sku),
        "the held window stays open"
    );
    assert!(!left.iter().any(|w| w.sku == d.sku));
}

pub async fn a_dry_run_plans_only_what_the_caps_open_and_otto_knows_its_own_prices(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let spec = SimSpec {
        variants: 120,
        days: 35,
        last_day: today().plus_days(-1),
        seed: 11,
        currency: Currency::EUR,
    };
    let sim = Arc::new(SimulatedVendor::create(&dir.path().join("sim.json"), spec).expect("sim"));
    let v = Vendors {
        shop: sim.clone(),
        ads: sim.clone(),
    };
    let morning = morning_registry(v.clone());
    let discount = otto_engine::discount::with_discount(StageRegistry::new(), v.clone());
    let store = unique_store();
    // A generous daily cap; the store-wide share (2%) is what binds.
    let p = Policy {
        discount_tests_per_day: 100,
        discount_catalog_share_bp: 200,
        ..Policy::default()
    };
    otto_store::settings::set_policy(h.ports.settings.as_ref(), &store, &p)
        .await
        .expect("policy");
    let d1 = today().plus_days(-1);
    run(h, &morning, &store, CycleKind::Morning, d1, false).await;
    run(h, &morning, &store, CycleKind::Morning, today(), false).await;
    run(h, &discount, &store, CycleKind::Discount, today(), false).await;
    let planned = rows(
        h,
        &CycleId::new(store.clone(), CycleKind::Discount, today()),
    )
    .await;
    let active = sim
        .fetch_variants()
        .await
        .expect("variants")
        .iter()
        .filter(|v| v.status == otto_core::metrics::ProductStatus::Active)
        .count();
    let share_max = active * 200 / 10_000;
    let action = |r: &AuditRow| match &r.body {
        RowBody::Decision(d) => d.action,
        _ => Action::Keep,
    };
    let dry: Vec<&AuditRow> = planned
        .iter()
        .filter(|r| r.status == RowStatus::DryRun && action(r) == Action::OnDiscount)
        .collect();
    let kept: Vec<&AuditRow> = planned
        .iter()
        .filter(|r| action(r) == Action::Keep)
        .collect();
    assert!(!dry.is_empty(), "some tests planned");
    assert!(
        dry.len() <= share_max,
        "{} planned, cap {share_max}",
        dry.len()
    );
    assert!(!kept.is_empty(), "the rest KEEP");
    let RowBody::Decision(k) = &kept[0].body else {
        panic!("decision")
    };
    assert!(
        k.reasoning.contains("at most 2.00% of the catalog"),
        "{}",
        k.reasoning
    );
    // Applied for real: the next morning knows the 16:00 price writes as Otto's own.
    run(
        h,
        &morning,
        &store,
        CycleKind::Morning,
        today().plus_days(1),
        false,
    )
    .await;
    run(
        h,
        &discount,
        &store,
        CycleKind::Discount,
        today().plus_days(1),
        true,
    )
    .await;
    let opened: Vec<otto_core::Sku> = rows(
        h,
        &CycleId::new(store.clone(), CycleKind::Discount, today().plus_days(1)),
    )
    .await
    .into_iter()
    .filter(|r| r.status == RowStatus::Applied)
    .filter_map(|r| match r.body {
        RowBody::Decision(d) => Some(d.sku),
        _ => None,
    })
    .collect();
    assert!(!opened.is_empty(), "windows opened");
    let next = today().plus_days(2);
    run(h, &morning, &store, CycleKind::Morning, next, false).await;
    for r in rows(h, &CycleId::new(store.clone(), CycleKind::Morning, next)).await {
        let RowBody::Decision(d) = &r.body else {
            continue;
        };
        if opened.contains(&d.sku) {
            assert_ne!(r.status, RowStatus::Skipped, "{}: {}", d.sku, d.reasoning);
            assert!(
                d.reasoning.contains("on a discount test until"),
                "{}",
                d.reasoning
            );
        }
    }
}
