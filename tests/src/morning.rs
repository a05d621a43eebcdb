//! The morning cycle end to end over the simulated shop and ad account, generic over the harness
//! (embedded store + in-process queue, or DynamoDB + SQS on moto).

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::Utc;
use otto_connectors::simulated::SimulatedVendor;
use otto_connectors::AdsAccount;
use otto_core::audit::{AdDecisionRow, AuditRow, AuditTable, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::money::Currency;
use otto_core::policy::KillSwitch;
use otto_core::{Action, Move, RowStatus, StoreDay};
use otto_store::PageReq;
use std::collections::BTreeMap;
use std::sync::Arc;

#[macro_export]
macro_rules! morning_suite {
    ($make:path) => {
        $crate::instantiate!(morning, $make;
            morning_twice_same_date_gives_identical_rows,
            kill_switch_holds_and_release_applies_once,
            budget_rate_limit_holds_under_concurrent_workers,
            executor_crash_between_steps_never_applies_twice,
            a_permanently_failing_move_is_failed_and_the_rest_go_on,
            released_moves_count_against_the_day_they_apply,
            calibrate_reads_every_sku_slice_and_orphans,
            held_rows_expire_at_the_next_morning,
            store_sales_are_synced_and_weighed,
            a_winners_campaign_gets_a_judged_budget_raise,
            no_second_status_flip_within_the_window
        );
    };
}

pub(crate) use crate::fixtures::{day as today, run_morning, world, World};

async fn rows(h: &Harness, table: AuditTable, cycle: &CycleId) -> Vec<AuditRow> {
    let mut out = Vec::new();
    let mut page = PageReq::first(500);
    loop {
        let p = h
            .ports
            .audit
            .by_cycle(table, cycle, page.clone())
            .await
            .expect("rows");
        out.extend(p.items);
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return out,
        }
    }
}

pub async fn morning_twice_same_date_gives_identical_rows(h: &Harness) {
    let w = world(120);
    let store = unique_store();
    run_morning(h, &w, &store, today(), false).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let first = rows(h, AuditTable::DecisionLog, &c).await;
    assert_eq!(first.len(), 120, "exactly one action per SKU");
    let run = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::CycleRuns, &c.to_string())
        .await
        .expect("run")
        .expect("row");
    assert_eq!(run.status, RowStatus::Completed);
    let RowBody::CycleRun(body) = &run.body else {
        panic!("cycle run")
    };
    let summary = body
        .summary
        .as_ref()
        .and_then(|s| s.morning())
        .expect("a morning summary");
    assert_eq!(summary.decision_rows, 120);
    assert!(summary.judge_agreement_bp.is_some() || summary.ad_proposals == 0);
    assert_eq!(
        summary.by_action.values().sum::<u64>(),
        120,
        "every decision row counted by its action"
    );
    // Every classification cites the thresholds it used.
    let RowBody::Decision(d) = &first[0].body else {
        panic!("decision")
    };
    assert!(d.figures["thresholds_ref"]
        .as_str()
        .unwrap_or("")
        .starts_with("stage_runs#"));
    assert!(d.figures.contains_key("candidates"));
    // The same date again: nothing new, nothing changed.
    run_morning(h, &w, &store, today(), false).await;
    let second = rows(h, AuditTable::DecisionLog, &c).await;
    assert_eq!(first, second);
    // Re-running a stage message by hand (a redelivery days later) writes nothing either.
    let ads = rows(h, AuditTable::AdDecisionLog, &c).await;
    assert!(ads.iter().all(|r| matches!(
        r.status,
        RowStatus::DryRun | RowStatus::Refused | RowStatus::Recorded
    )));
    // One ad row per campaign this morning, each with what the planner saw; a campaign it
    // proposed nothing for has a KEEP row that moves nothing.
    let budgets = h.ports.catalog.budgets(&store).await.expect("budgets");
    assert_eq!(ads.len(), budgets.len(), "one row per campaign per morning");
    for r in &ads {
        let RowBody::AdDecision(a) = &r.body else {
            panic!("an ad row")
        };
        let watch = a
            .watch
            .as_deref()
            .expect("every morning row carries the planner's look");
        assert_eq!(watch.window.to, today().plus_days(-1));
        if r.status == RowStatus::Recorded {
            assert_eq!(
                (a.action, a.verdict.as_str()),
                (otto_core::Action::Keep, "NO_MOVE")
            );
            assert!(a.r#move.is_none() && a.rate_limit_position.is_none());
        }
    }
    assert_eq!(w.sim.writes(), 0, "a dry run changes nothing at the vendor");
}

pub async fn kill_switch_holds_and_release_applies_once(h: &Harness) {
    let w = world(120);
    let store = unique_store();
    // History: two dry-run cycles, then Phase 2 with the kill switch on.
    run_morning(h, &w, &store, today().plus_days(-2), false).await;
    run_morning(h, &w, &store, today().plus_days(-1), false).await;
    let ks = KillSwitch {
        on: true,
        by: Some("emma".into()),
        at: Some(Utc::now()),
        reason: Some("manual import".into()),
        flip: None,
    };
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), &store, &ks)
        .await
        .expect("kill switch");
    run_morning(h, &w, &store, today(), true).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let decided = rows(h, AuditTable::DecisionLog, &c).await;
    let held: Vec<&AuditRow> = decided
        .iter()
        .filter(|r| r.status == RowStatus::Held)
        .collect();
    assert!(!held.is_empty(), "moves became HELD rows");
    assert!(decided.iter().all(|r| r.status != RowStatus::Applied));
    assert_eq!(w.sim.writes(), 0, "nothing reached the vendor");
    let RowBody::Decision(d) = &held[0].body else {
        panic!("decision")
    };
    assert!(d
        .hold_reason
        .as_deref()
        .unwrap_or("")
        .contains("kill switch on, flipped by emma"));
    // Release while the switch is still on: re-checked, held again.
    let r = held[0].row_ref;
    h.ports
        .audit
        .transition(
            r,
            RowStatus::Held,
            RowStatus::Released,
            None,
            Utc::now(),
            None,
        )
        .await
        .expect("release");
    let again = crate::fixtures::exec_shop(
        &h.ports,
        w.vendors.shop.as_ref(),
        r,
        None,
        Utc::now(),
        today(),
    )
    .await
    .expect("apply");
    assert_eq!(again, RowStatus::Held);
    // Switch off, release: applied once, reversal op stored, a second apply is a no-op.
    otto_store::settings::set_kill_switch(
        h.ports.settings.as_ref(),
        &store,
        &KillSwitch::default(),
    )
    .await
    .expect("off");
    h.ports
        .audit
        .transition(
            r,
            RowStatus::Held,
            RowStatus::Released,
            None,
            Utc::now(),
            None,
        )
        .await
        .expect("release");
    let applied = crate::fixtures::exec_shop(
        &h.ports,
        w.vendors.shop.as_ref(),
        r,
        None,
        Utc::now(),
        today(),
    )
    .await
    .expect("apply");
    assert_eq!(applied, RowStatus::Applied);
    assert_eq!(w.sim.writes(), 1);
    let twice = crate::fixtures::exec_shop(
        &h.ports,
        w.vendors.shop.as_ref(),
        r,
        None,
        Utc::now(),
        today(),
    )
    .await
    .expect("apply again");
    assert_eq!(twice, RowStatus::Applied);
    assert_eq!(w.sim.writes(), 1, "never applied twice");
    let row = h.ports.audit.get(r).await.expect("get").expect("row");
    let RowBody::Decision(d) = &row.body else {
        panic!("decision")
    };
    assert!(d.reversal_op.is_some(), "reversal op stored");
    assert!(d.result.is_some());
}

pub async fn budget_rate_limit_holds_under_concurrent_workers(h: &Harness) {
    let w = world(80);
    let store = unique_store();
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let budgets = w.sim.budgets().await.expect("budgets");
    let b = budgets
        .iter()
        .find(|b| !b.explicitly_shared)
        .expect("a budget");
    // Twelve agreed budget moves in one ISO week, applied by concurrent workers; each sets its
    // own amount (a move the account already shows would be SKIPPED, not counted).
    let new: Vec<NewRow> = (0..12)
        .map(|i| {
            (
                i,
                b.amount
                    .scale_bp(10_500 + 100 * i)
                    .expect("scale")
                    .rounded(),
            )
        })
        .map(|(i, after)| NewRow {
            cycle_id: c.clone(),
            natural_key: format!("{c}|campaign_plan|{}-{i}", b.campaign_id),
            status: RowStatus::Pending,
            created_at: Utc::now(),
            body: RowBody::AdDecision(AdDecisionRow {
                channel: "google_ads".into(),
                campaign: b.campaign.clone(),
                campaign_id: format!("{}-{i}", b.campaign_id),
                action: Action::AdjustBudget,
                verdict: "AGREE".into(),
                reasoning: "test".into(),
                figures: BTreeMap::from([(
                    "budget_resource".into(),
                    serde_json::json!(b.budget_resource),
                )]),
                budget_before: Some(b.amount),
                budget_after: Some(after),
                rate_limit_position: None,
                watch: None,
                r#move: Some(Move::CampaignBudget {
                    budget_resource: b.budget_resource.clone(),
                    expected: None,
                    amount: after,
                }),
                reversal_op: None,
                hold_reason: None,
                result: None,
            }),
        })
        .collect();
    let refs: Vec<_> = h
        .ports
        .audit
        .append(new, None)
        .await
        .expect("append")
        .iter()
        .map(|a| a.row_ref)
        .collect();
    let mut tasks = Vec::new();
    for r in refs.clone() {
        let ports = h.ports.clone();
        let ads = w.vendors.ads.clone();
        tasks.push(tokio::spawn(async move {
            crate::fixtures::exec_ads(&ports, ads.as_ref(), r, None, Utc::now(), today()).await
        }));
    }
    let mut applied = 0;
    let mut held = 0;
    for t in tasks {
        match t.await.expect("task").expect("apply") {
            RowStatus::Applied => applied += 1,
            RowStatus::Held => held += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((applied, held), (8, 4), "8 budget changes a week, never 9");
    let counter = otto_engine::executor::budget_counter(&store, &today().iso_week());
    assert_eq!(h.ports.counters.value(&counter).await.expect("value"), 8);
    // Retrying every row (a redelivery) changes nothing.
    for r in refs {
        crate::fixtures::exec_ads(
            &h.ports,
            w.vendors.ads.as_ref(),
            r,
            None,
            Utc::now(),
            today(),
        )
        .await
        .expect("retry");
    }
    assert_eq!(h.ports.counters.value(&counter).await.expect("value"), 8);
}

pub async fn executor_crash_between_steps_never_applies_twice(h: &Harness) {
    use otto_connectors::ShopCatalog;
    use otto_core::audit::DecisionRow;
    use otto_core::metrics::ProductStatus;
    let w = world(40);
    let store = unique_store();
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let variants = w.sim.fetch_variants().await.expect("variants");
    h.ports
        .catalog
        .upsert_variants(&store, &variants)
        .await
        .expect("catalog");
    let active: Vec<_> = variants
        .iter()
        .filter(|v| v.status == ProductStatus::Active)
        .collect();
    // Two products, one variant each.
    let (a, b) = (
        active[0],
        active
            .iter()
            .find(|v| v.product_id != active[0].product_id)
            .expect("second product"),
    );
    let new = |v: &otto_core::metrics::Variant| NewRow {
        cycle_id: c.clone(),
        natural_key: format!("{c}|decide|{}", v.sku),
        status: RowStatus::Pending,
        created_at: Utc::now(),
        body: RowBody::Decision(DecisionRow {
            sku: v.sku.clone(),
            action: Action::Draft,
            trigger: None,
            classification: None,
            reasoning: "test".into(),
            figures: BTreeMap::new(),
            window: None,
            r#move: None,
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
    };
    let refs: Vec<_> = h
        .ports
        .audit
        .append(vec![new(a), new(b)], None)
        .await
        .expect("append")
        .iter()
        .map(|x| x.row_ref)
        .collect();
    // Crash 1: reversal op stored (APPLYING), then the process died before the vendor call.
    let row_a = h.ports.audit.get(refs[0]).await.expect("get").expect("row");
    h.ports
        .audit
        .claim(
            refs[0],
            RowStatus::Pending,
            &crate::fixtures::crashed_attempt(),
            Some(row_a.body.clone()),
            Utc::now(),
            None,
        )
        .await
        .expect("applying");
    assert_eq!(
        crate::fixtures::exec_shop(
            &h.ports,
            w.vendors.shop.as_ref(),
            refs[0],
            None,
            Utc::now(),
            today()
        )
        .await
        .expect("retry"),
        RowStatus::Applied
    );
    assert_eq!(w.sim.writes(), 1, "applied once on retry");
    // Crash 2: the vendor call went through, the process died before marking APPLIED.
    let row_b = h.ports.audit.get(refs[1]).await.expect("get").expect("row");
    h.ports
        .audit
        .claim(
            refs[1],
            RowStatus::Pending,
            &crate::fixtures::crashed_attempt(),
            Some(row_b.body.clone()),
            Utc::now(),
            None,
        )
        .await
        .expect("applying");
    w.sim
        .set_product_status(&b.product_id, ProductStatus::Draft)
        .await
        .expect("vendor call that succeeded");
    assert_eq!(w.sim.writes(), 2);
    assert_eq!(
        crate::fixtures::exec_shop(
            &h.ports,
            w.vendors.shop.as_ref(),
            refs[1],
            None,
            Utc::now(),
            today()
        )
        .await
        .expect("retry"),
        RowStatus::Applied
    );
    assert_eq!(
        w.sim.writes(),
        2,
        "resolved by reading the vendor, not by applying again"
    );
    let row = h.ports.audit.get(refs[1]).await.expect("get").expect("row");
    let RowBody::Decision(d) = &row.body else {
        panic!("decision")
    };
    assert!(
        d.result
            .as_ref()
            .is_some_and(|r| r["confirmed"].is_string()),
        "{:?}",
        d.result
    );
    // Crash 3: interrupted while the operator flips the kill switch: the retry holds, no call.
    let c_prod = active
        .iter()
        .find(|v| v.product_id != a.product_id && v.product_id != b.product_id)
        .expect("third product");
    let r3 = h
        .ports
        .audit
        .append(vec![new(c_prod)], None)
        .await
        .expect("append")[0]
        .row_ref;
    let row_c = h.ports.audit.get(r3).await.expect("get").expect("row");
    h.ports
        .audit
        .claim(
            r3,
            RowStatus::Pending,
            &crate::fixtures::crashed_attempt(),
            Some(row_c.body.clone()),
            Utc::now(),
            None,
        )
        .await
        .expect("applying");
    let ks = otto_core::policy::KillSwitch {
        on: true,
        by: Some("emma".into()),
        at: Some(Utc::now()),
        reason: None,
        flip: None,
    };
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), &store, &ks)
        .await
        .expect("kill switch");
    assert_eq!(
        crate::fixtures::exec_shop(
            &h.ports,
            w.vendors.shop.as_ref(),
            r3,
            None,
            Utc::now(),
            today()
        )
        .await
        .expect("retry"),
        RowStatus::Held
    );
    assert_eq!(
        w.sim.writes(),
        2,
        "the kill switch stops a retried move too"
    );
}

/// A move that can never apply (its SKU is not in the catalog) ends FAILED with why; it does not
/// stop the rest of its chunk, and a retryable error is passed through untouched.
pub async fn a_permanently_failing_move_is_failed_and_the_rest_go_on(h: &Harness) {
    use otto_core::audit::NewRow;
    let w = world(5);
    let store = crate::fixtures::unique_store();
    let cycle = otto_core::cycle::CycleId::new(store.clone(), CycleKind::Morning, today());
    let row = NewRow::for_stage(
        cycle,
        otto_core::cycle::Stage::Decide,
        RowStatus::Pending,
        Utc::now(),
        crate::fixtures::decision("SKU-GONE-404", otto_core::Action::Publish),
    );
    let r = h.ports.audit.append(vec![row], None).await.expect("append")[0].row_ref;
    let status = crate::fixtures::exec_shop(
        &h.ports,
        w.vendors.shop.as_ref(),
        r,
        None,
        Utc::now(),
        today(),
    )
    .await
    .expect("a permanent failure ends the row, not the chunk");
    assert_eq!(status, RowStatus::Failed);
    let row = h.ports.audit.get(r).await.expect("get").expect("row");
    assert_eq!(row.status, RowStatus::Failed);
    assert!(
        row.to_json()["body"]["result"]["error"]
            .as_str()
            .unwrap_or("")
            .contains("SKU-GONE-404"),
        "{}",
        row.to_json()
    );
    assert_eq!(w.sim.writes(), 0);
}

/// Rate limits count the store day a move is *applied*: rows held on day D and released on D+1
/// use D+1's allowance, not D's (which may already be spent).
pub async fn released_moves_count_against_the_day_they_apply(h: &Harness) {
    let w = world(120);
    let store = unique_store();
    run_morning(h, &w, &store, today().plus_days(-2), false).await;
    run_morning(h, &w, &store, today().plus_days(-1), false).await;
    let on = KillSwitch {
        on: true,
        by: Some("emma".into()),
        at: Some(Utc::now()),
        reason: None,
        flip: None,
    };
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), &store, &on)
        .await
        .expect("kill switch");
    run_morning(h, &w, &store, today(), true).await;
    otto_store::settings::set_kill_switch(
        h.ports.settings.as_ref(),
        &store,
        &KillSwitch::default(),
    )
    .await
    .expect("off");
    let mut policy = otto_store::settings::policy(h.ports.settings.as_ref(), &store)
        .await
        .expect("policy");
    policy.catalog_moves_per_day = 1;
    otto_store::settings::set_policy(h.ports.settings.as_ref(), &store, &policy)
        .await
        .expect("policy");
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let held: Vec<AuditRow> = rows(h, AuditTable::DecisionLog, &c)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Held)
        .collect();
    assert!(
        held.len() >= 2,
        "two held moves to release ({})",
        held.len()
    );
    let release = |r: otto_core::audit::RowRef| async move {
        h.ports
            .audit
            .transition(
                r,
                RowStatus::Held,
                RowStatus::Released,
                None,
                Utc::now(),
                None,
            )
            .await
            .expect("release");
    };
    let apply = |r, day: StoreDay| {
        let shop = w.vendors.shop.clone();
        async move {
            crate::fixtures::exec_shop(&h.ports, shop.as_ref(), r, None, Utc::now(), day)
                .await
                .expect("apply")
        }
    };
    release(held[0].row_ref).await;
    assert_eq!(apply(held[0].row_ref, today()).await, RowStatus::Applied);
    release(held[1].row_ref).await;
    assert_eq!(
        apply(held[1].row_ref, today()).await,
        RowStatus::Held,
        "the day's one move is spent"
    );
    release(held[1].row_ref).await;
    assert_eq!(
        apply(held[1].row_ref, today().plus_days(1)).await,
        RowStatus::Applied,
        "released the next day, it counts against the next day"
    );
}

/// self_calibrator reads the window one chunk's SKU slice at a time: its thresholds must equal
/// those over every metric of the window at once — also metrics of SKUs not in the catalog (before
/// the first SKU, after the last, and between two chunks).
pub async fn calibrate_reads_every_sku_slice_and_orphans(h: &Harness) {
    use otto_core::metrics::DailyMetric;
    use otto_core::stages::calibrate::{calibrate, window_totals, CalibrationRules, Thresholds};
    let w = world(1_100); // three chunks of ≤ 500 SKUs
    let store = unique_store();
    let variants = otto_connectors::ShopCatalog::fetch_variants(w.sim.as_ref())
        .await
        .expect("variants");
    let mut skus: Vec<String> = variants.iter().map(|v| v.sku.to_string()).collect();
    skus.sort();
    let between = format!("{}~orphan", skus[otto_engine::morning::CHUNK - 1]);
    let orphans = [
        "!orphan-first".to_string(),
        between,
        "~~orphan-last".to_string(),
    ];
    let (from, to) = (today().plus_days(-28), today().plus_days(-1));
    let mut metrics = Vec::new();
    for (i, sku) in orphans.iter().enumerate() {
        for d in 1..=28 {
            metrics.push(DailyMetric {
                sku: otto_core::Sku::new(sku.as_str()).expect("sku"),
                day: today().plus_days(-d),
                impressions: 5_000,
                clicks: 90,
                cost: otto_core::Money::from_micros(4_000_000, Currency::EUR),
                conversions_milli: 2_000,
                conversion_value: otto_core::Money::from_micros(
                    90_000_000 * (i as i64 + 1),
                    Currency::EUR,
                ),
                provisional: false,
            });
        }
    }
    h.ports
        .catalog
        .put_metrics(&store, &metrics)
        .await
        .expect("orphans");
    run_morning(h, &w, &store, today(), false).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let run = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &format!("{c}|calibrate|0"))
        .await
        .expect("read")
        .expect("calibrate ran");
    let RowBody::StageRun(s) = &run.body else {
        panic!("stage run")
    };
    let c = s
        .clone()
        .into_report::<otto_core::report::CalibrateReport>()
        .expect("a calibrate report");
    assert_eq!(c.chunks, 3);
    let got: Thresholds = c.thresholds;
    let all = h
        .ports
        .catalog
        .metrics(&store, from, to)
        .await
        .expect("all");
    assert!(orphans
        .iter()
        .all(|o| all.iter().any(|m| m.sku.as_str() == o)));
    let (totals, provisional) = window_totals(&all, from, to);
    let want = calibrate(&totals, provisional, today(), CalibrationRules::default());
    assert_eq!(got, want);
}

pub async fn held_rows_expire_at_the_next_morning(h: &Harness) {
    let w = world(120);
    let store = unique_store();
    run_morning(h, &w, &store, today().plus_days(-2), false).await;
    run_morning(h, &w, &store, today().plus_days(-1), false).await;
    let ks = KillSwitch {
        on: true,
        by: Some("emma".into()),
        ..KillSwitch::default()
    };
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), &store, &ks)
        .await
        .expect("kill switch");
    run_morning(h, &w, &store, today(), true).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let held: Vec<AuditRow> = rows(h, AuditTable::DecisionLog, &c)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Held)
        .collect();
    assert!(!held.is_empty(), "moves became HELD rows");
    let exec = otto_engine::holds::Executors {
        shop: Some(w.vendors.shop.clone()),
        ads: Some(w.vendors.ads.clone()),
        helpdesk: None,
    };
    // A release while the switch is on says plainly that nothing was done, and why.
    let again = otto_engine::holds::release(
        &h.ports,
        &exec,
        &store,
        held[0].row_ref,
        "emma",
        crate::fixtures::at(Utc::now(), today()),
    )
    .await
    .expect("release");
    assert_eq!(again.row.status, RowStatus::Held);
    assert!(
        again.outcome.starts_with("nothing was done") && again.outcome.contains("kill switch on"),
        "{}",
        again.outcome
    );
    // The next morning decides afresh: yesterday's holds expire, with the reason.
    run_morning(h, &w, &store, today().plus_days(1), false).await;
    for r in &held {
        let now = h
            .ports
            .audit
            .get(r.row_ref)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(now.status, RowStatus::Expired, "{}", r.row_ref);
        let RowBody::Decision(d) = &now.body else {
            panic!("decision")
        };
        let why = d.hold_reason.as_deref().unwrap_or("");
        assert!(why.starts_with("expired: nobody released it"), "{why}");
        assert!(why.contains("kill switch on"), "the first hold kept: {why}");
    }
    // An expired row cannot be released, and says why.
    let err = otto_engine::holds::release(
        &h.ports,
        &exec,
        &store,
        held[0].row_ref,
        "emma",
        crate::fixtures::at(Utc::now(), today().plus_days(1)),
    )
    .await
    .expect_err("expired");
    assert!(
        err.to_string().contains("expired when the next cycle"),
        "{err}"
    );
    assert_eq!(w.sim.writes(), 0, "nothing reached the vendor");
}

/// The simulated shop with orders: every SKU sells 2 units a day for 30.00 in the store.
struct ShopWithOrders(Arc<SimulatedVendor>);

#[async_trait::async_trait]
impl otto_connectors::ShopCatalog for ShopWithOrders {
    async fn fetch_variants(
        &self,
    ) -> Result<Vec<otto_core::metrics::Variant>, otto_connectors::VendorError> {
        self.0.fetch_variants().await
    }
    async fn sku_sales(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Option<Vec<otto_core::metrics::SkuSales>>, otto_connectors::VendorError> {
        let mut out = Vec::new();
        for v in self.0.fetch_variants().await? {
            let mut day = from;
            while day <= to {
                out.push(otto_core::metrics::SkuSales {
                    // Shopify's SKU as typed, in another case than the catalog's.
                    sku: otto_core::Sku::new(v.sku.as_str().to_lowercase()).expect("sku"),
                    day,
                    units: 2,
                    revenue: otto_core::Money::parse("30.00", Currency::EUR).expect("money"),
                    orders: 2,
                });
                day = day.plus_days(1);
            }
        }
        Ok(Some(out))
    }
    async fn fetch_variant(
        &self,
        id: &str,
    ) -> Result<Option<otto_core::metrics::Variant>, otto_connectors::VendorError> {
        self.0.fetch_variant(id).await
    }
    async fn set_product_status(
        &self,
        id: &str,
        s: otto_core::metrics::ProductStatus,
    ) -> Result<serde_json::Value, otto_connectors::VendorError> {
        self.0.set_product_status(id, s).await
    }
    async fn set_variant_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: otto_core::Money,
        compare_at: Option<otto_core::Money>,
    ) -> Result<serde_json::Value, otto_connectors::VendorError> {
        self.0
            .set_variant_price(product_id, variant_id, price, compare_at)
            .await
    }
}

pub async fn store_sales_are_synced_and_weighed(h: &Harness) {
    let mut w = world(60);
    let store = unique_store();
    // Without orders: the ad figures, and the rows say so.
    run_morning(h, &w, &store, today().plus_days(-1), false).await;
    let before = CycleId::new(store.clone(), CycleKind::Morning, today().plus_days(-1));
    let d0 = rows(h, AuditTable::DecisionLog, &before).await;
    let RowBody::Decision(first) = &d0[0].body else {
        panic!("decision")
    };
    assert_eq!(
        first.figures["whole_variant"]["source"],
        serde_json::json!("ad figures only: the shop cannot report orders")
    );
    w.vendors.shop = Arc::new(ShopWithOrders(w.sim.clone()));
    run_morning(h, &w, &store, today(), false).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let sync = h
        .ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &format!("{c}|sync|0"))
        .await
        .expect("get")
        .expect("sync row");
    let RowBody::StageRun(s) = &sync.body else {
        panic!("stage run")
    };
    let sync = s
        .clone()
        .into_report::<otto_core::report::SyncReport>()
        .expect("a sync report");
    assert!(sync.sales_available);
    let sales = sync.sales.expect("sales pulled");
    assert_eq!(sales.source, "shop orders");
    assert!(sales.units.unwrap_or(0) > 0);
    // Stored under the catalog's SKUs (matched case-insensitively), read back by slice.
    let variants = h.ports.catalog.variants(&store).await.expect("variants");
    let sku = &variants[0].sku;
    let stored = h
        .ports
        .catalog
        .sales_for_skus(
            &store,
            today().plus_days(-7),
            today().plus_days(-1),
            sku,
            sku,
        )
        .await
        .expect("sales");
    assert_eq!(stored.len(), 7, "one row a day for the SKU");
    assert!(stored.iter().all(|x| &x.sku == sku && x.units == 2));
    // Every decision weighs the store's sales; none drafts a variant that sells on its own.
    for r in rows(h, AuditTable::DecisionLog, &c).await {
        let RowBody::Decision(d) = &r.body else {
            continue;
        };
        assert_eq!(
            d.figures["whole_variant"]["source"],
            serde_json::json!("shop orders"),
            "{}",
            d.sku
        );
        assert_ne!(d.action, Action::Draft, "{}", d.sku);
    }
}

/// SCALE_WINNER is a real move: the campaign that carries a WINNER (the ad report's
/// `campaign.id`) gets a budget raise the judge agreed to, applied through the executor with its
/// priority weight and reversal op.
pub async fn a_winners_campaign_gets_a_judged_budget_raise(h: &Harness) {
    use otto_core::audit::ReversalOp;
    use otto_core::Move;
    let w = world(120);
    let store = unique_store();
    let before: BTreeMap<String, otto_core::Money> = w
        .sim
        .budgets()
        .await
        .expect("budgets")
        .into_iter()
        .map(|b| (b.budget_resource, b.amount))
        .collect();
    run_morning(h, &w, &store, today(), true).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let decisions = rows(h, AuditTable::DecisionLog, &c).await;
    let by_sku = |r: &AuditRow| match &r.body {
        RowBody::Decision(d) => Some((d.sku.to_string(), d.action)),
        _ => None,
    };
    let actions: BTreeMap<String, Action> = decisions.iter().filter_map(by_sku).collect();
    let raised: Vec<AuditRow> = rows(h, AuditTable::AdDecisionLog, &c)
        .await
        .into_iter()
        .filter(|r| match &r.body {
            RowBody::AdDecision(a) => {
                // Resting on the SKUs, alone or merged into the campaign's own raise.
                ["skus", "campaign_and_skus"]
                    .iter()
                    .any(|b| a.figures.get("basis") == Some(&serde_json::json!(b)))
                    && a.figures["step_bp"].as_i64().unwrap_or(0) > 0
            }
            _ => false,
        })
        .collect();
    let mut applied = 0;
    for r in &raised {
        let RowBody::AdDecision(a) = &r.body else {
            unreachable!()
        };
        if a.verdict == "DISAGREE" {
            // Judged like any budget move (here: a shared budget), never applied.
            assert_eq!(r.status, RowStatus::Refused, "{}", a.reasoning);
            continue;
        }
        applied += 1;
        assert_eq!(r.status, RowStatus::Applied, "{}", a.reasoning);
        assert_eq!(
            (a.action, a.verdict.as_str()),
            (Action::AdjustBudget, "AGREE")
        );
        let winners = a.figures["skus"]["scale"].as_array().expect("winners");
        assert!(!winners.is_empty());
        for s in winners {
            let sku = s["sku"].as_str().expect("sku");
            assert_eq!(actions.get(sku), Some(&Action::ScaleWinner), "{sku}");
            assert!(a.reasoning.contains(sku), "{}", a.reasoning);
        }
        let Some(Move::CampaignBudget {
            budget_resource,
            expected,
            amount,
        }) = &a.r#move
        else {
            panic!("typed move: {:?}", a.r#move)
        };
        assert_eq!(expected.as_ref(), before.get(budget_resource));
        assert!(amount.micros() > before[budget_resource].micros());
        assert!(
            matches!(&a.reversal_op, Some(ReversalOp::CampaignBudget { amount: back, .. }) if Some(back) == before.get(budget_resource)),
            "{:?}",
            a.reversal_op
        );
        let now = w.sim.budgets().await.expect("budgets");
        let now = now
            .iter()
            .find(|b| &b.budget_resource == budget_resource)
            .expect("budget");
        assert_eq!(&now.amount, amount, "applied at the ad account");
    }
    assert!(applied > 0, "no WINNER-driven raise applied: {raised:?}");
}

/// At most one status flip per product per `status_flip_min_days`: a draft Otto drafted itself
/// five days ago (an APPLIED DRAFT row of another cycle, read from the audit rows — this store
/// has no earlier morning to carry it) is not published again; the row cites the DRAFT.
pub async fn no_second_status_flip_within_the_window(h: &Harness) {
    use otto_connectors::ShopCatalog;
    use otto_core::audit::{DecisionRow, ReversalOp};
    use otto_core::cycle::Stage;
    use otto_core::metrics::ProductStatus;
    let w = world(120);
    let store = unique_store();
    let variants = w.sim.fetch_variants().await.expect("variants");
    let drafts: Vec<_> = variants
        .iter()
        .filter(|v| v.status == ProductStatus::Draft && v.inventory > 0)
        .collect();
    assert!(drafts.len() >= 2, "the demo has drafts in stock");
    let (moved, other) = (
        drafts[0],
        drafts.iter().find(|v| v.product_id != drafts[0].product_id),
    );
    let earlier = CycleId::new(store.clone(), CycleKind::Morning, today().plus_days(-5));
    let row = NewRow::for_stage(
        earlier,
        Stage::Decide,
        RowStatus::Applied,
        Utc::now(),
        RowBody::Decision(DecisionRow {
            sku: moved.sku.clone(),
            action: Action::Draft,
            trigger: None,
            classification: None,
            reasoning: "drafted by Otto".into(),
            figures: BTreeMap::new(),
            window: None,
            r#move: None,
            reversal_op: Some(ReversalOp::ProductStatus {
                product_id: moved.product_id.clone(),
                status: "ACTIVE".into(),
            }),
            hold_reason: None,
            result: None,
        }),
    );
    let draft_ref = h.ports.audit.append(vec![row], None).await.expect("append")[0].row_ref;
    run_morning(h, &w, &store, today(), false).await;
    let c = CycleId::new(store.clone(), CycleKind::Morning, today());
    let decided: BTreeMap<String, (Action, String)> = rows(h, AuditTable::DecisionLog, &c)
        .await
        .into_iter()
        .filter_map(|r| match r.body {
            RowBody::Decision(d) => Some((d.sku.to_string(), (d.action, d.reasoning))),
            _ => None,
        })
        .collect();
    let (action, why) = &decided[moved.sku.as_str()];
    assert_eq!(*action, Action::Keep, "{why}");
    assert!(why.contains(&draft_ref.to_string()), "{why}");
    assert!(
        why.contains("at most one status flip per product per 30 days"),
        "{why}"
    );
    // A product Otto never moved is not held by it.
    if let Some(o) = other {
        let (_, why) = &decided[o.sku.as_str()];
        assert!(!why.contains("status flip"), "{why}");
    }
}
