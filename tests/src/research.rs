//! The research cycle end to end with seeded lanes, generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::Utc;
use otto_connectors::lanes::simulated::{SimulatedLane, SimulatedOffers, SimulatedVolumes};
use otto_connectors::lanes::DiscoveryLane;
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::ShopCatalog;
use otto_core::audit::{AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::money::Currency;
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use otto_scheduler::{open_cycle, ScheduledInput};
use otto_stage::local::drain;
use otto_stage::research::{queued, review, with_research, ResearchSources};
use otto_stage::StageRegistry;
use otto_store::{PageReq, StoreError};
use std::sync::Arc;

#[macro_export]
macro_rules! research_suite {
    ($make:path) => {
        $crate::instantiate!(research, $make;
            research_queues_dedupes_and_survives_a_lane_outage
        );
    };
}

fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

async fn research(
    h: &Harness,
    store: &StoreId,
    day: StoreDay,
    down: Option<&str>,
) -> serde_json::Value {
    let src = ResearchSources {
        lanes: SimulatedLane::all(3, down)
            .into_iter()
            .map(|l| Arc::new(l) as Arc<dyn DiscoveryLane>)
            .collect(),
        volumes: Arc::new(SimulatedVolumes { seed: 3 }),
        offers: Arc::new(SimulatedOffers { seed: 3 }),
        supplier_rules: Default::default(),
    };
    let reg = with_research(StageRegistry::new(), src);
    let input = ScheduledInput {
        cycle: CycleKind::Research,
        store: store.clone(),
        scheduled_time: clock().at_local(day, 11, 0).expect("time"),
        apply: None,
    };
    open_cycle(&h.ports, &clock(), &input, Utc::now())
        .await
        .expect("open");
    let report = drain(&h.ports, &reg, clock(), CycleKind::Research, Utc::now, 50)
        .await
        .expect("drain");
    assert!(
        report.failed_cycles.is_empty() && report.retry_later.is_empty(),
        "{report:?}"
    );
    let c = CycleId::new(store.clone(), CycleKind::Research, day);
    let run = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &c.to_string())
        .await
        .expect("run")
        .expect("row");
    assert_eq!(run.status, RowStatus::Completed);
    let stages = h
        .ports
        .audit
        .by_cycle(AuditTable::StageRuns, &c, PageReq::first(10))
        .await
        .expect("stages")
        .items;
    let mut out = serde_json::Map::new();
    for s in stages {
        if let RowBody::StageRun(b) = s.body {
            out.insert(
                b.stage.to_string(),
                serde_json::to_value(&b.report).expect("json"),
            );
        }
    }
    serde_json::Value::Object(out)
}

pub async fn research_queues_dedupes_and_survives_a_lane_outage(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let day = StoreDay::parse("2026-11-24").expect("day");
    let spec = SimSpec {
        variants: 40,
        days: 3,
        last_day: day.plus_days(-1),
        seed: 3,
        currency: Currency::EUR,
    };
    let sim = SimulatedVendor::create(&dir.path().join("sim.json"), spec).expect("sim");
    let store = unique_store();
    h.ports
        .catalog
        .upsert_variants(&store, &sim.fetch_variants().await.expect("variants"))
        .await
        .expect("catalog");

    // AliExpress is down: recorded, the other lanes carry the cycle.
    let first = research(h, &store, day, Some("aliexpress")).await;
    assert_eq!(first["lanes"]["lanes"]["aliexpress"]["ok"], false);
    assert!(first["lanes"]["lanes"]["aliexpress"]["error"]
        .as_str()
        .unwrap_or("")
        .contains("timed out"));
    assert_eq!(first["lanes"]["lanes"]["competitor"]["ok"], true);
    let queued_first = first["queue"]["queued_new"].as_u64().expect("count");
    assert!(queued_first > 0);
    let rows = queued(&h.ports, &store).await.expect("queue");
    assert_eq!(rows.len() as u64, queued_first);
    // Best first, each factor with its inputs.
    let RowBody::ResearchCandidate(top) = &rows[0].body else {
        panic!("candidate")
    };
    for k in [
        "margin_bp",
        "uniqueness_bp",
        "market_fit_bp",
        "landed_cost",
        "market_price",
    ] {
        assert!(top.figures["score"].get(k).is_some(), "{k} stored");
    }

    // The next day, all lanes up: ideas seen before are not queued again; scores reproduce.
    let second = research(h, &store, day.plus_days(1), None).await;
    let again = research(h, &store, day.plus_days(2), None).await;
    assert_eq!(
        second["score"]["scored"], again["score"]["scored"],
        "same inputs, same scores"
    );
    assert_eq!(again["queue"]["queued_new"], 0, "deduplicated across days");
    assert!(
        second["queue"]["seen_before"].as_u64().expect("n") > 0,
        "deduplicated across lanes and days"
    );

    // Review: approve once; a second review is refused; a non-candidate ref is refused.
    let r = rows[0].row_ref;
    let approved = review(&h.ports, r, true, "emma", None)
        .await
        .expect("approve");
    assert_eq!(approved.status, RowStatus::Approved);
    assert!(matches!(
        review(&h.ports, r, false, "emma", None).await,
        Err(StoreError::Conflict(_))
    ));
    let not_candidate = otto_core::RowRef::new(AuditTable::DecisionLog, 1);
    assert!(matches!(
        review(&h.ports, not_candidate, true, "emma", None).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(!queued(&h.ports, &store)
        .await
        .expect("queue")
        .iter()
        .any(|x| x.row_ref == r));
}
