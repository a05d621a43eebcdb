//! The research cycle end to end with seeded lanes, generic over the harness.

use crate::fixtures::unique_store;
use crate::merchant_twin::{MerchantTwin, RETAIL_MINOR, SUPPLIER_MINOR};
use crate::Harness;
use chrono::Utc;
use otto_connectors::lanes::merchant::DataForSeoMerchant;
use otto_connectors::lanes::simulated::{SimulatedLane, SimulatedOffers, SimulatedVolumes};
use otto_connectors::lanes::{DiscoveryLane, RawCandidate};
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_connectors::ShopCatalog;
use otto_connectors::VendorError;
use otto_core::audit::{AuditTable, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::money::Currency;
use otto_core::money::Money;
use otto_core::stages::supplier_matcher::{MatchStatus, PriceSource};
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, ScheduledInput};
use otto_engine::local::drain;
use otto_engine::research::{queued, review, with_research, ResearchSources};
use otto_engine::StageRegistry;
use otto_store::{PageReq, StoreError};
use std::sync::Arc;
use std::time::Duration;

#[macro_export]
macro_rules! research_suite {
    ($make:path) => {
        $crate::instantiate!(research, $make;
            research_queues_dedupes_and_survives_a_lane_outage,
            research_rows_carry_the_supplier_match
        );
    };
}

pub(crate) fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

fn simulated(down: Option<&str>) -> ResearchSources {
    ResearchSources {
        lanes: SimulatedLane::all(3, down)
            .into_iter()
            .map(|l| Arc::new(l) as Arc<dyn DiscoveryLane>)
            .collect(),
        volumes: Arc::new(SimulatedVolumes { seed: 3 }),
        offers: Arc::new(SimulatedOffers { seed: 3 }),
        supplier_rules: Default::default(),
    }
}

async fn research(
    h: &Harness,
    store: &StoreId,
    day: StoreDay,
    down: Option<&str>,
) -> serde_json::Value {
    research_with(h, store, day, simulated(down)).await
}

pub(crate) async fn research_with(
    h: &Harness,
    store: &StoreId,
    day: StoreDay,
    src: ResearchSources,
) -> serde_json::Value {
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

/// The simulated lanes, with supplier_matcher through the real DataForSEO client against `twin`.
pub(crate) fn merchant_sources(twin: &MerchantTwin) -> ResearchSources {
    let merchant = DataForSeoMerchant::new(&twin.base_url, "login", "pw", 2528, "nl")
        .with_max_tasks(500)
        .with_polling(
            Duration::from_secs(5),
            Duration::from_millis(5),
            Duration::from_millis(20),
        );
    let mut src = simulated(None);
    src.offers = Arc::new(merchant);
    src
}

/// A store with the simulated shop's catalog.
pub(crate) async fn seeded_store(h: &Harness, day: StoreDay, dir: &std::path::Path) -> StoreId {
    let spec = SimSpec {
        variants: 40,
        days: 3,
        last_day: day.plus_days(-1),
        seed: 3,
        currency: Currency::EUR,
    };
    let sim = SimulatedVendor::create(&dir.join("sim.json"), spec).expect("sim");
    let store = unique_store();
    h.ports
        .catalog
        .upsert_variants(&store, &sim.fetch_variants().await.expect("variants"))
        .await
        .expect("catalog");
    store
}

/// One fixed idea that the Merchant twin refuses (its title holds "refuse").
struct RefusedIdea;

#[async_trait::async_trait]
impl DiscoveryLane for RefusedIdea {
    fn name(&self) -> &'static str {
        "organic"
    }
    async fn discover(&self, _seeds: &[String]) -> Result<Vec<RawCandidate>, VendorError> {
        Ok(vec![RawCandidate {
            title: "Refuse Sack Linen".into(),
            lane: "organic".into(),
            source_url: None,
            price: Some(Money::parse("24.00", Currency::EUR).expect("price")),
            unit_cost: None,
            search_volume: Some(900),
            competition_bp: None,
            signals: Default::default(),
        }])
    }
}

/// supplier_matcher through DataForSEO (the real client against the Merchant twin): each queued
/// row carries its match — the offers, the supplier price in minor units, the source that priced
/// it — and the one lookup DataForSEO refused says so on its own row while the others match.
pub async fn research_rows_carry_the_supplier_match(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let day = StoreDay::parse("2026-11-24").expect("day");
    let store = seeded_store(h, day, dir.path()).await;
    let twin = MerchantTwin::start().await;
    let mut src = merchant_sources(&twin);
    src.lanes.push(Arc::new(RefusedIdea));
    let report = research_with(h, &store, day, src).await;
    assert!(twin.created() > 0, "tasks were posted");
    let rows = queued(&h.ports, &store).await.expect("queue");
    assert_eq!(
        rows.len() as u64,
        report["queue"]["queued_new"].as_u64().expect("n")
    );
    let mut matched = 0;
    for row in &rows {
        let RowBody::ResearchCandidate(c) = &row.body else {
            panic!("candidate")
        };
        let m = c
            .supplier_match
            .as_ref()
            .expect("every row says how it was matched");
        if c.title.contains("Refuse") {
            assert_eq!(m.status, MatchStatus::Failed, "{m:?}");
            assert!(m.reason.as_deref().unwrap_or("").contains("40501"), "{m:?}");
            assert_eq!(m.supplier_cost, None, "no price without a source");
            continue;
        }
        assert_eq!(m.status, MatchStatus::Matched, "{}: {m:?}", c.title);
        let cost = m.supplier_cost.as_ref().expect("priced");
        assert_eq!(
            (cost.price_minor, cost.currency),
            (SUPPLIER_MINOR, Currency::EUR)
        );
        let PriceSource::DataforseoGoogleShopping { task_id, seller } = &cost.source else {
            panic!("{:?}", cost.source)
        };
        assert_eq!(seller, "AliExpress");
        assert_eq!(m.task_id.as_ref(), Some(task_id));
        assert_eq!(m.offers.len(), 2);
        assert_eq!(m.offers[1].price_minor, RETAIL_MINOR);
        // The landed cost is the DataForSEO supplier price + 15 %: €2.50 → €2.88 (half-even).
        assert_eq!(
            c.figures["score"]["landed_cost"]["amount"], "2.88",
            "{}",
            c.title
        );
        matched += 1;
    }
    assert!(
        matched > 0 && matched + 1 == rows.len(),
        "{matched} of {}",
        rows.len()
    );
    // The answers engine can cite the match from the row.
    let refused = rows
        .iter()
        .find(|r| matches!(&r.body, RowBody::ResearchCandidate(c) if c.title.contains("Refuse")))
        .expect("the refused idea is queued too");
    assert_eq!(refused.status, RowStatus::Queued);
    let line = otto_answers::engine::row_line(refused);
    assert!(
        line.contains("no supplier price; DataForSEO failed:") && line.contains("40501"),
        "{line}"
    );
}

pub async fn research_queues_dedupes_and_survives_a_lane_outage(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let day = StoreDay::parse("2026-11-24").expect("day");
    let store = seeded_store(h, day, dir.path()).await;

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
