//! Undo, review-then-apply and the policy as settings, generic over the harness: an undo is its
//! own row made by the one executor (refused when the original changed since, idempotent), a dry
//! run's moves apply later the same day re-checked, and a policy change is an operator row.

use crate::fixtures::unique_store;
use crate::fixtures::OperatorDesk;
use crate::morning::{run_morning, today, World};
use crate::Harness;
use chrono::Utc;
use otto_connectors::{AdsAccount, ShopCatalog};
use otto_core::audit::{
    AdDecisionRow, AuditRow, DecisionRow, DiscountWindow, NewRow, OperatorAct, RowBody, RowRef,
    Surface,
};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::metrics::{ProductStatus, Variant};
use otto_core::policy::KillSwitch;
use otto_core::{Action, Move, RowStatus};
use otto_engine::review::ApplyError;
use otto_engine::undo::RevertError;
use std::collections::BTreeMap;

#[macro_export]
macro_rules! undo_suite {
    ($make:path) => {
        $crate::instantiate!(undo, $make;
            a_status_move_is_undone_once,
            an_undo_is_refused_when_the_price_changed_since,
            a_discount_undo_restores_the_price_and_closes_its_window,
            a_budget_move_is_undone_through_the_kill_switch,
            a_dry_run_is_applied_after_review_the_same_day,
            policy_changes_are_operator_rows
        );
    };
}

fn decision(v: &Variant, action: Action, mv: Move, window: Option<DiscountWindow>) -> RowBody {
    RowBody::Decision(DecisionRow {
        sku: v.sku.clone(),
        action,
        trigger: None,
        classification: None,
        reasoning: "test".into(),
        figures: BTreeMap::new(),
        window,
        r#move: Some(mv),
        reversal_op: None,
        hold_reason: None,
        result: None,
    })
}

/// Appends `body` PENDING in today's morning cycle and applies it through the one executor.
async fn applied(d: &OperatorDesk<'_>, body: RowBody) -> RowRef {
    let cycle = CycleId::new(d.store.clone(), CycleKind::Morning, today());
    let row = NewRow::for_stage(cycle, Stage::Decide, RowStatus::Pending, Utc::now(), body);
    let r =
        d.h.ports
            .audit
            .append(vec![row], None)
            .await
            .expect("append")[0]
            .row_ref;
    let run = otto_engine::executor::Run {
        fence: None,
        now: Utc::now(),
        today: today(),
        owner: String::new(),
    };
    let out = otto_engine::executor::execute(&d.h.ports, d.exec().via(), r, &run)
        .await
        .expect("execute");
    assert_eq!(
        out.row.status,
        RowStatus::Applied,
        "{}",
        out.describe(&crate::fixtures::clock())
    );
    r
}

async fn get(h: &Harness, r: RowRef) -> AuditRow {
    h.ports.audit.get(r).await.expect("get").expect("row")
}

async fn undo(d: &OperatorDesk<'_>, r: RowRef) -> otto_engine::undo::Reverted {
    d.revert_in(&d.store, r)
        .await
        .unwrap_or_else(|e| panic!("undo of {r}: {e}"))
}

async fn shop_variant(w: &World, v: &Variant) -> Variant {
    w.sim
        .fetch_variant(&v.variant_id)
        .await
        .expect("fetch")
        .expect("variant")
}

fn discount_of(v: &Variant) -> (Move, DiscountWindow) {
    let price = v.price.scale_bp(8_500).expect("scale").rounded();
    let mv = Move::VariantPrice {
        sku: v.sku.clone(),
        expected_price: v.price,
        price,
        compare_at: Some(v.price),
        restores: None,
    };
    let window = DiscountWindow {
        percent_bp: 1_500,
        starts_on: today(),
        ends_on: today().plus_days(14),
    };
    (mv, window)
}

/// A DRAFT undone: the undo row (REVERT, citing it) is APPLIED, the product ACTIVE again, the
/// original REVERTED; a second undo answers with the same undo row and writes nothing.
pub async fn a_status_move_is_undone_once(h: &Harness) {
    let desk = OperatorDesk::new(h, 12);
    let (w, store) = (&desk.w, &desk.store);
    let v = desk.synced().await;
    let mv = Move::ProductStatus {
        sku: v.sku.clone(),
        to: ProductStatus::Draft,
    };
    let r = applied(&desk, decision(&v, Action::Draft, mv, None)).await;
    assert_eq!(shop_variant(w, &v).await.status, ProductStatus::Draft);
    let out = undo(&desk, r).await;
    assert!(out.reverted_now);
    assert_eq!(out.row.status, RowStatus::Applied, "{}", out.outcome);
    assert_eq!(out.row.row_ref.table, r.table, "same table as the original");
    let RowBody::Decision(d) = &out.row.body else {
        panic!("decision")
    };
    assert_eq!(d.action, Action::Revert);
    assert_eq!(d.r#move.as_ref().and_then(Move::reverts), Some(r));
    assert!(
        d.reversal_op.is_some(),
        "the undo stores its own reversal op"
    );
    assert_eq!(shop_variant(w, &v).await.status, ProductStatus::Active);
    assert_eq!(get(h, r).await.status, RowStatus::Reverted);
    let writes = w.sim.writes();
    let again = undo(&desk, r).await;
    assert!(!again.reverted_now);
    assert_eq!(again.row.row_ref, out.row.row_ref, "the first undo row");
    assert_eq!(w.sim.writes(), writes, "nothing written twice");
    // An undo is not undone, and a row of another store is not found.
    let e = desk.revert_in(store, out.row.row_ref).await.unwrap_err();
    assert!(matches!(e, RevertError::NotRevertible(..)), "{e}");
    let e = desk.revert_in(&unique_store(), r).await.unwrap_err();
    assert!(matches!(e, RevertError::NotFound(_)), "{e}");
}

/// A person changed the price after Otto's discount: the undo is REFUSED with why, and the
/// person's price stands.
pub async fn an_undo_is_refused_when_the_price_changed_since(h: &Harness) {
    let desk = OperatorDesk::new(h, 12);
    let w = &desk.w;
    let v = desk.synced().await;
    let (mv, window) = discount_of(&v);
    let r = applied(&desk, decision(&v, Action::OnDiscount, mv, Some(window))).await;
    let theirs = v.price.scale_bp(9_000).expect("scale").rounded();
    w.sim
        .external_price_edit(&v.variant_id, theirs, Utc::now())
        .expect("edit");
    let out = undo(&desk, r).await;
    assert_eq!(out.row.status, RowStatus::Refused, "{}", out.outcome);
    assert!(out.outcome.contains("changed since"), "{}", out.outcome);
    assert_eq!(shop_variant(w, &v).await.price.rounded(), theirs);
    assert_eq!(get(h, r).await.status, RowStatus::Applied);
}

/// An ON_DISCOUNT undone: price and compare-at back, the original REVERTED, its window closed.
pub async fn a_discount_undo_restores_the_price_and_closes_its_window(h: &Harness) {
    let desk = OperatorDesk::new(h, 12);
    let (w, store) = (&desk.w, &desk.store);
    let v = desk.synced().await;
    let (mv, window) = discount_of(&v);
    let r = applied(&desk, decision(&v, Action::OnDiscount, mv, Some(window))).await;
    assert_eq!(
        h.ports.catalog.open_windows(store).await.expect("w").len(),
        1
    );
    let out = undo(&desk, r).await;
    assert_eq!(out.row.status, RowStatus::Applied, "{}", out.outcome);
    let now = shop_variant(w, &v).await;
    assert_eq!(now.price.rounded(), v.price.rounded());
    assert_eq!(now.compare_at_price, v.compare_at_price);
    assert_eq!(get(h, r).await.status, RowStatus::Reverted);
    assert!(h
        .ports
        .catalog
        .open_windows(store)
        .await
        .expect("w")
        .is_empty());
}

/// A budget undo under the kill switch is HELD like any move; released, it applies.
pub async fn a_budget_move_is_undone_through_the_kill_switch(h: &Harness) {
    let desk = OperatorDesk::new(h, 12);
    let (w, store) = (&desk.w, &desk.store);
    let b = w.sim.budgets().await.expect("budgets").remove(0);
    let up = b.amount.scale_bp(11_000).expect("scale").rounded();
    let mv = Move::CampaignBudget {
        budget_resource: b.budget_resource.clone(),
        expected: Some(b.amount),
        amount: up,
    };
    let body = RowBody::AdDecision(AdDecisionRow {
        channel: "google".into(),
        campaign: b.campaign.clone(),
        campaign_id: b.campaign_id.clone(),
        action: Action::AdjustBudget,
        verdict: "AGREE".into(),
        reasoning: "test".into(),
        figures: BTreeMap::new(),
        budget_before: Some(b.amount),
        budget_after: Some(up),
        r#move: Some(mv),
        rate_limit_position: None,
        watch: None,
        reversal_op: None,
        hold_reason: None,
        result: None,
    });
    let r = applied(&desk, body).await;
    let ks = KillSwitch {
        on: true,
        ..KillSwitch::default()
    };
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), store, &ks)
        .await
        .expect("switch");
    let out = undo(&desk, r).await;
    assert_eq!(out.row.status, RowStatus::Held, "{}", out.outcome);
    assert!(out.outcome.contains("kill switch"), "{}", out.outcome);
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), store, &KillSwitch::default())
        .await
        .expect("switch");
    let rel = otto_engine::holds::release(
        &h.ports,
        &desk.exec(),
        store,
        out.row.row_ref,
        "emma",
        crate::fixtures::at(Utc::now(), today()),
    )
    .await
    .expect("release");
    assert_eq!(rel.row.status, RowStatus::Applied, "{}", rel.outcome);
    let now = w.sim.budgets().await.expect("budgets");
    let now = now
        .iter()
        .find(|x| x.budget_resource == b.budget_resource)
        .expect("b");
    assert_eq!(now.amount.rounded(), b.amount.rounded());
    assert_eq!(get(h, r).await.status, RowStatus::Reverted);
}

/// A dry run's moves apply after review the same day, each through the executor; rows past
/// DRY_RUN are left alone, so a second apply changes nothing; another day's is refused.
pub async fn a_dry_run_is_applied_after_review_the_same_day(h: &Harness) {
    let desk = OperatorDesk::new(h, 40);
    let (w, store) = (&desk.w, &desk.store);
    run_morning(h, w, store, today(), false).await;
    let cycle = CycleId::new(store.clone(), CycleKind::Morning, today());
    let e = desk
        .apply_cycle(&cycle, today().plus_days(1))
        .await
        .unwrap_err();
    assert!(matches!(e, ApplyError::OtherDay { .. }), "{e}");
    assert!(e.to_string().contains("same store day"), "{e}");
    let writes = w.sim.writes();
    let report = desk.apply_cycle(&cycle, today()).await.expect("apply");
    let moved = report.applied.len() + report.held.len() + report.refused.len();
    assert!(!report.applied.is_empty(), "{report:?}");
    assert!(
        report.applied.is_empty() || w.sim.writes() > writes,
        "{report:?}"
    );
    for o in &report.applied {
        let row = get(h, o.row_ref).await;
        assert_eq!(row.status, RowStatus::Applied);
        let figures = match &row.body {
            RowBody::Decision(d) => &d.figures,
            RowBody::AdDecision(a) => &a.figures,
            _ => panic!("a move row"),
        };
        assert_eq!(figures["applied_after_review"]["by"], "emma@brevard");
    }
    let again = desk
        .apply_cycle(&cycle, today())
        .await
        .expect("apply again");
    assert!(
        again.applied.is_empty() && again.held.is_empty(),
        "{again:?}"
    );
    assert!(again.untouched >= moved, "{again:?}");
    // A cycle that never ran is not found.
    let other = CycleId::new(store.clone(), CycleKind::Discount, today());
    let e = desk.apply_cycle(&other, today()).await.unwrap_err();
    assert!(matches!(e, ApplyError::NotFound(_)), "{e}");
}

/// `policy set` validates, writes the setting, and records an APPLIED operator row old → new;
/// a bad value names the limit and writes nothing.
pub async fn policy_changes_are_operator_rows(h: &Harness) {
    use otto_store::policy_settings::{set, show, Change};
    let store = unique_store();
    let change = |name: &str, value: &str| Change {
        name: name.into(),
        value: value.into(),
        by: "emma@brevard".into(),
        surface: Surface::Api,
    };
    let (audit, settings) = (h.ports.audit.as_ref(), h.ports.settings.as_ref());
    let out = set(
        audit,
        settings,
        &store,
        today(),
        change("discount_percent_bp", "12.5%"),
        Utc::now(),
    )
    .await
    .expect("set");
    assert_eq!(out.limit.shown, "12.5%");
    let r = out.row.expect("a row");
    let row = get(h, r).await;
    assert_eq!(row.status, RowStatus::Applied);
    assert_eq!(row.subject(), "policy");
    let RowBody::Operator(o) = &row.body else {
        panic!("operator row")
    };
    assert_eq!(o.act, OperatorAct::PolicySet);
    let c = o.change.as_ref().expect("change");
    assert_eq!((c.old.clone(), c.new.clone()), (1500.into(), 1250.into()));
    let p = otto_store::settings::policy(settings, &store)
        .await
        .expect("policy");
    assert_eq!(p.discount_percent_bp, 1250);
    let limits = show(settings, &store).await.expect("show");
    let l = limits
        .iter()
        .find(|l| l.name == "discount_percent_bp")
        .expect("l");
    assert_eq!(
        (l.shown.as_str(), l.default_shown.as_str()),
        ("12.5%", "15%")
    );
    let e = set(
        audit,
        settings,
        &store,
        today(),
        change("discount_window_days", "-3"),
        Utc::now(),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(e.contains("discount_window_days"), "{e}");
    let same = set(
        audit,
        settings,
        &store,
        today(),
        change("discount_percent_bp", "12.5"),
        Utc::now(),
    )
    .await
    .expect("same");
    assert!(same.row.is_none(), "no change, no row");
}
