//! Held rows released by many callers at once, generic over the harness: the one executor lets
//! exactly one attempt write to the vendor, and every caller gets the row back.

use crate::fixtures::unique_store;
use crate::morning::{today, world};
use crate::Harness;
use async_trait::async_trait;
use chrono::Utc;
use otto_connectors::{ShopCatalog, VendorError};
use otto_core::audit::{DecisionRow, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::metrics::{ProductStatus, Variant};
use otto_core::{Action, Money, Move, RowStatus};
use otto_engine::holds::{release, release_many, BulkResult, Executors, ReleaseError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

#[macro_export]
macro_rules! holds_suite {
    ($make:path) => {
        $crate::instantiate!(holds, $make;
            two_concurrent_releases_write_once,
            ten_concurrent_releases_write_once,
            fifty_concurrent_releases_write_once,
            kill_switch_flips_are_rows,
            a_bulk_release_raced_by_single_releases_writes_once_per_row,
            a_failed_publication_is_retried_without_a_second_status_write,
            a_release_of_a_move_the_shop_already_shows_is_skipped
        );
    };
}

/// A shop whose writes take a while, so concurrent callers really overlap.
struct SlowShop(Arc<dyn ShopCatalog>);

#[async_trait]
impl ShopCatalog for SlowShop {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        self.0.fetch_variants().await
    }
    async fn fetch_variant(&self, id: &str) -> Result<Option<Variant>, VendorError> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.0.fetch_variant(id).await
    }
    async fn set_product_status(&self, id: &str, s: ProductStatus) -> Result<Value, VendorError> {
        tokio::time::sleep(Duration::from_millis(60)).await;
        self.0.set_product_status(id, s).await
    }
    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at: Option<Money>,
    ) -> Result<Value, VendorError> {
        tokio::time::sleep(Duration::from_millis(60)).await;
        self.0
            .set_variant_price(product_id, variant_id, price, compare_at)
            .await
    }
}

pub async fn two_concurrent_releases_write_once(h: &Harness) {
    concurrent_releases(h, 2).await
}
pub async fn ten_concurrent_releases_write_once(h: &Harness) {
    concurrent_releases(h, 10).await
}
pub async fn fifty_concurrent_releases_write_once(h: &Harness) {
    concurrent_releases(h, 50).await
}

/// `n` operators release the same held DRAFT at once: one vendor write, every caller answered
/// with the row (never an error), exactly one told `released_now`.
async fn concurrent_releases(h: &Harness, n: usize) {
    let (w, store, variants) = stocked(h).await;
    let v = variants
        .iter()
        .find(|v| v.status == ProductStatus::Active)
        .expect("an active variant");
    let r = held_draft(h, &store, v).await;
    let exec = Executors {
        shop: Some(Arc::new(SlowShop(w.vendors.shop.clone()))),
        ..Executors::default()
    };
    let before = w.sim.writes();
    let mut tasks = Vec::new();
    for i in 0..n {
        let (ports, exec, store) = (h.ports.clone(), exec.clone(), store.clone());
        tasks.push(tokio::spawn(async move {
            release(
                &ports,
                &exec,
                &store,
                r,
                &format!("op-{i}"),
                crate::fixtures::at(Utc::now(), today()),
            )
            .await
        }));
    }
    let mut now_released = 0;
    for t in tasks {
        let out = t
            .await
            .expect("task")
            .unwrap_or_else(|e| panic!("a caller failed: {e}"));
        now_released += usize::from(out.released_now);
        assert_eq!(out.row.row_ref, r);
    }
    assert_eq!(now_released, 1, "exactly one caller released it");
    assert_eq!(w.sim.writes() - before, 1, "{n} releases, one vendor write");
    let row = h.ports.audit.get(r).await.expect("get").expect("row");
    assert_eq!(row.status, RowStatus::Applied);
    let RowBody::Decision(d) = &row.body else {
        panic!("decision")
    };
    assert!(
        d.reversal_op.is_some(),
        "reversal op stored before the write"
    );
}

/// A simulated shop of 12 variants, and a fresh store whose catalog holds them.
async fn stocked(h: &Harness) -> (crate::fixtures::World, otto_core::StoreId, Vec<Variant>) {
    let w = world(12);
    let store = unique_store();
    let variants = w.sim.fetch_variants().await.expect("variants");
    h.ports
        .catalog
        .upsert_variants(&store, &variants)
        .await
        .expect("catalog");
    (w, store, variants)
}

/// A HELD DRAFT of `v`'s product (held by the kill switch), appended to the store.
async fn held_draft(h: &Harness, store: &otto_core::StoreId, v: &Variant) -> otto_core::RowRef {
    held_status(h, store, v, Action::Draft, ProductStatus::Draft).await
}

/// A HELD status move of `v`'s product (held by the kill switch), appended to the store.
async fn held_status(
    h: &Harness,
    store: &otto_core::StoreId,
    v: &Variant,
    action: Action,
    to: ProductStatus,
) -> otto_core::RowRef {
    let cycle = CycleId::new(store.clone(), CycleKind::Morning, today());
    let row = NewRow::for_stage(
        cycle,
        Stage::Decide,
        RowStatus::Held,
        Utc::now(),
        RowBody::Decision(DecisionRow {
            sku: v.sku.clone(),
            action,
            trigger: None,
            classification: None,
            reasoning: "held by the kill switch".into(),
            figures: BTreeMap::new(),
            window: None,
            r#move: Some(Move::ProductStatus {
                sku: v.sku.clone(),
                to,
            }),
            reversal_op: None,
            hold_reason: Some("kill switch on".into()),
            result: None,
        }),
    );
    h.ports.audit.append(vec![row], None).await.expect("append")[0].row_ref
}

/// A bulk release of three held rows (plus a ref that does not exist and one listed twice) while
/// an operator releases each of the three on its own: every row is written to the shop once,
/// released by exactly one caller, and the bulk answers one line per distinct ref — the missing
/// row as a per-row refusal, never a failure of the batch.
pub async fn a_bulk_release_raced_by_single_releases_writes_once_per_row(h: &Harness) {
    let (w, store, variants) = stocked(h).await;
    let mut products = std::collections::HashSet::new();
    let active: Vec<&Variant> = variants
        .iter()
        .filter(|v| v.status == ProductStatus::Active && products.insert(v.product_id.clone()))
        .take(3)
        .collect();
    assert_eq!(active.len(), 3, "three active products");
    let mut refs = Vec::new();
    for v in &active {
        refs.push(held_draft(h, &store, v).await);
    }
    let missing = otto_core::RowRef::new(otto_core::AuditTable::DecisionLog, 9_999_999);
    let mut asked = refs.clone();
    asked.push(missing);
    asked.push(refs[0]);
    let exec = Executors {
        shop: Some(Arc::new(SlowShop(w.vendors.shop.clone()))),
        ..Executors::default()
    };
    let before = w.sim.writes();
    let bulk = {
        let (ports, exec, store, asked) = (h.ports.clone(), exec.clone(), store.clone(), asked);
        tokio::spawn(async move {
            release_many(
                &ports,
                &exec,
                &store,
                &asked,
                "bulk",
                crate::fixtures::at(Utc::now(), today()),
                Duration::from_secs(600),
            )
            .await
        })
    };
    let mut singles = Vec::new();
    for r in refs.iter().rev().copied() {
        let (ports, exec, store) = (h.ports.clone(), exec.clone(), store.clone());
        singles.push(tokio::spawn(async move {
            release(
                &ports,
                &exec,
                &store,
                r,
                "single",
                crate::fixtures::at(Utc::now(), today()),
            )
            .await
        }));
    }
    let mut released_now = std::collections::HashMap::<otto_core::RowRef, usize>::new();
    for t in singles {
        let out = t.await.expect("task").expect("a single release answers");
        *released_now.entry(out.row.row_ref).or_default() += usize::from(out.released_now);
    }
    let lines = bulk.await.expect("bulk task");
    assert_eq!(lines.len(), 4, "one line per distinct ref: {lines:?}");
    for line in &lines {
        match &line.result {
            BulkResult::Done(rel) => {
                assert!(refs.contains(&line.row_ref));
                *released_now.entry(line.row_ref).or_default() += usize::from(rel.released_now);
            }
            BulkResult::Refused(ReleaseError::NotFound(r)) => assert_eq!(*r, missing),
            other => panic!("{}: {other:?}", line.row_ref),
        }
    }
    for r in &refs {
        assert_eq!(
            released_now.get(r),
            Some(&1),
            "{r} released by exactly one caller"
        );
        let row = h.ports.audit.get(*r).await.expect("get").expect("row");
        assert_eq!(row.status, RowStatus::Applied, "{r}");
    }
    assert_eq!(w.sim.writes() - before, 3, "one shop write per row");
}

/// Every flip of the kill switch is an operator_log row (who, when, why, from where) that the
/// switch's state cites.
pub async fn kill_switch_flips_are_rows(h: &Harness) {
    use otto_core::audit::{OperatorAct, Surface};
    let store = unique_store();
    for (on, surface) in [(true, Surface::Slack), (false, Surface::Dashboard)] {
        let flip = otto_store::settings::Flip {
            on,
            by: "emma@brevard".into(),
            surface,
            reason: Some("import".into()),
        };
        let ks = otto_store::settings::flip_kill_switch(
            h.ports.audit.as_ref(),
            h.ports.settings.as_ref(),
            &store,
            today(),
            flip,
            Utc::now(),
        )
        .await
        .expect("flip");
        let r = ks.flip.expect("cited");
        let row = h.ports.audit.get(r).await.expect("get").expect("row");
        assert_eq!(row.status, RowStatus::Applied);
        let RowBody::Operator(o) = &row.body else {
            panic!("operator row")
        };
        let act = if on {
            OperatorAct::KillSwitchOn
        } else {
            OperatorAct::KillSwitchOff
        };
        assert_eq!(
            (o.act, o.surface, o.by.as_str()),
            (act, surface, "emma@brevard")
        );
        let now = otto_store::settings::kill_switch(h.ports.settings.as_ref(), &store)
            .await
            .expect("read");
        assert_eq!((now.on, now.flip), (on, Some(r)));
    }
}

/// A shop that, like Shopify, publishes a product it sets ACTIVE on the Online Store — and whose
/// first publication fails (transient) after the status write went through.
struct PublishFailsOnce {
    inner: Arc<dyn ShopCatalog>,
    published: std::sync::Mutex<Vec<String>>,
    publish_calls: std::sync::atomic::AtomicUsize,
}

impl PublishFailsOnce {
    fn publishes(&self) -> usize {
        self.publish_calls.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[async_trait]
impl ShopCatalog for PublishFailsOnce {
    async fn fetch_variants(&self) -> Result<Vec<Variant>, VendorError> {
        self.inner.fetch_variants().await
    }
    async fn fetch_variant(&self, id: &str) -> Result<Option<Variant>, VendorError> {
        self.inner.fetch_variant(id).await
    }
    async fn set_product_status(&self, id: &str, s: ProductStatus) -> Result<Value, VendorError> {
        let answer = self.inner.set_product_status(id, s).await?;
        if s == ProductStatus::Active {
            self.publish_on_online_store(id).await?;
        }
        Ok(answer)
    }
    async fn on_online_store(&self, id: &str) -> Result<bool, VendorError> {
        Ok(self.published.lock().expect("lock").iter().any(|p| p == id))
    }
    async fn publish_on_online_store(&self, id: &str) -> Result<Value, VendorError> {
        let n = self
            .publish_calls
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == 0 {
            return Err(VendorError::Transient {
                vendor: "test-shop",
                detail: "publishablePublish timed out".into(),
            });
        }
        self.published.lock().expect("lock").push(id.to_string());
        Ok(serde_json::json!({"published_to": "gid://shopify/Publication/1"}))
    }
    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at: Option<Money>,
    ) -> Result<Value, VendorError> {
        self.inner
            .set_variant_price(product_id, variant_id, price, compare_at)
            .await
    }
}

/// The status write went through and the publication failed: the retry sees the product ACTIVE
/// but on no sales channel, publishes it (no second status write), and only then is it APPLIED.
pub async fn a_failed_publication_is_retried_without_a_second_status_write(h: &Harness) {
    use otto_engine::executor::{execute, Run, Via};
    let w = world(12);
    let store = unique_store();
    let v = w
        .sim
        .fetch_variants()
        .await
        .expect("variants")
        .into_iter()
        .find(|v| v.status == ProductStatus::Active)
        .expect("an active variant");
    w.sim
        .set_product_status(&v.product_id, ProductStatus::Draft)
        .await
        .expect("draft");
    let variants = w.sim.fetch_variants().await.expect("variants");
    h.ports
        .catalog
        .upsert_variants(&store, &variants)
        .await
        .expect("catalog");
    let cycle = CycleId::new(store.clone(), CycleKind::Morning, today());
    let row = NewRow::for_stage(
        cycle,
        Stage::Decide,
        RowStatus::Pending,
        Utc::now(),
        RowBody::Decision(DecisionRow {
            sku: v.sku.clone(),
            action: Action::Publish,
            trigger: None,
            classification: None,
            reasoning: "a winner in DRAFT".into(),
            figures: BTreeMap::new(),
            window: None,
            r#move: Some(Move::ProductStatus {
                sku: v.sku.clone(),
                to: ProductStatus::Active,
            }),
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
    );
    let r = h.ports.audit.append(vec![row], None).await.expect("append")[0].row_ref;
    let shop = PublishFailsOnce {
        inner: w.vendors.shop.clone(),
        published: Default::default(),
        publish_calls: Default::default(),
    };
    let before = w.sim.writes();
    let run = Run {
        fence: None,
        now: Utc::now(),
        today: today(),
        owner: "decide#0".into(),
    };
    let via = Via {
        shop: Some(&shop),
        ..Via::default()
    };
    let first = execute(&h.ports, via, r, &run).await;
    assert!(first.is_err(), "the failed publication is retryable");
    let row = h.ports.audit.get(r).await.expect("get").expect("row");
    assert_eq!(row.status, RowStatus::Applying, "not APPLIED unpublished");
    let out = execute(&h.ports, via, r, &run).await.expect("retry");
    assert_eq!(out.row.status, RowStatus::Applied);
    assert_eq!(w.sim.writes() - before, 1, "exactly one status write");
    assert_eq!(shop.publishes(), 2, "the retry published it");
    assert!(shop.on_online_store(&v.product_id).await.expect("read"));
}

/// A held PUBLISH of a product the shop already shows ACTIVE: the release makes no vendor call
/// and does not mark the row APPLIED (nothing changed, so nothing counts against the day's
/// catalog moves) — it is SKIPPED, and the caller is told why.
pub async fn a_release_of_a_move_the_shop_already_shows_is_skipped(h: &Harness) {
    let (w, store, variants) = stocked(h).await;
    let v = variants
        .iter()
        .find(|v| v.status == ProductStatus::Active)
        .expect("an active variant");
    let r = held_status(h, &store, v, Action::Publish, ProductStatus::Active).await;
    let exec = Executors {
        shop: Some(w.vendors.shop.clone()),
        ..Executors::default()
    };
    let before = w.sim.writes();
    let out = release(
        &h.ports,
        &exec,
        &store,
        r,
        "op",
        crate::fixtures::at(Utc::now(), today()),
    )
    .await
    .expect("release");
    assert_eq!(w.sim.writes(), before, "no vendor write");
    assert_eq!(out.row.status, RowStatus::Skipped, "{}", out.outcome);
    assert!(
        out.outcome.contains("nothing to change") && out.outcome.contains("ACTIVE already"),
        "{}",
        out.outcome
    );
    let used = otto_engine::executor::catalog_counter(&store, &today().to_string());
    let counted = h.ports.counters.value(&used).await.expect("count");
    assert_eq!(
        counted, 0,
        "a skipped move uses none of the day's catalog moves"
    );
}
