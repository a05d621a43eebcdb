use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{DecisionRow, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::{Action, RowStatus, Sku, StoreDay, StoreId};
use std::collections::BTreeMap;

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
    via: otto_stage::executor::Via<'_>,
    row_ref: otto_core::RowRef,
    fence: Option<&otto_core::Fence>,
    now: DateTime<Utc>,
    today: StoreDay,
) -> Result<otto_core::RowStatus, otto_runtime::HandlerError> {
    let run = otto_stage::executor::Run {
        fence,
        now,
        today,
        owner: String::new(),
    };
    Ok(otto_stage::executor::execute(ports, via, row_ref, &run)
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
    let via = otto_stage::executor::Via {
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
    let via = otto_stage::executor::Via {
        ads: Some(ads),
        ..Default::default()
    };
    exec(ports, via, row_ref, fence, now, today).await
}
