//! A campaign's week from the rows each morning's planner recorded (one per campaign per
//! morning: KEEP rows that move nothing, and the moves): what it spent, its conversion value and
//! ROAS over the days asked about, each day cited — the same after export → import into an empty
//! store; and the KEEP rows never count as budget changes.

use crate::answers::cited;
use crate::fixtures::unique_store;
use crate::Harness;
use chrono::{DateTime, Utc};
use otto_answers::Answer;
use otto_core::audit::{AdDecisionRow, AuditRow, AuditTable, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::stages::campaign_watch::{
    AdTotals, CampaignWatch, ObservedDay, ObservedWindow, NO_MOVE,
};
use otto_core::{Action, Currency, Money, Move, RowStatus, StoreDay, StoreId};
use std::collections::BTreeMap;

fn now() -> DateTime<Utc> {
    // Wednesday 25 November 2026, 11:00 in Amsterdam: "last week" is Mon 16 – Sun 22 Nov.
    "2026-11-25T10:00:00Z".parse().expect("time")
}

fn eur(micros: i64) -> Money {
    Money::from_micros(micros, Currency::EUR)
}

/// The row the morning of `morning` wrote for campaign 1001: the ad day before it (spend, value,
/// provisional when it is the newest morning's), a KEEP row unless `budget_move`.
fn morning_row(
    store: &StoreId,
    morning: StoreDay,
    spend: i64,
    value: i64,
    budget_move: bool,
) -> NewRow {
    let totals = |s: i64, v: i64| AdTotals {
        spend: eur(s),
        conversion_value: eur(v),
        roas_bp: Some(v * 10_000 / s),
    };
    let watch = CampaignWatch {
        day: Some(ObservedDay {
            day: morning.plus_days(-1),
            totals: totals(spend, value),
            provisional: true,
        }),
        window: ObservedWindow {
            from: morning.plus_days(-14),
            to: morning.plus_days(-1),
            days: 12,
            totals: totals(spend * 12, value * 12),
        },
        store_mer_bp: Some(46_000),
    };
    let (action, verdict, status) = if budget_move {
        (Action::AdjustBudget, "AGREE", RowStatus::Applied)
    } else {
        (Action::Keep, NO_MOVE, RowStatus::Recorded)
    };
    NewRow::for_stage(
        CycleId::new(store.clone(), CycleKind::Morning, morning),
        Stage::CampaignPlan,
        status,
        now(),
        RowBody::AdDecision(AdDecisionRow {
            channel: "google_ads".into(),
            campaign: "EU/Linen/Throws".into(),
            campaign_id: "1001".into(),
            action,
            verdict: verdict.into(),
            reasoning: "no budget move proposed: ROAS 40000bp over 12 mature days".into(),
            figures: BTreeMap::new(),
            budget_before: Some(eur(300_000_000)),
            budget_after: budget_move.then_some(eur(330_000_000)),
            r#move: budget_move.then(|| Move::CampaignBudget {
                budget_resource: "customers/1/campaignBudgets/9".into(),
                expected: Some(eur(300_000_000)),
                amount: eur(330_000_000),
            }),
            rate_limit_position: budget_move.then_some((1, 8)),
            watch: Some(Box::new(watch)),
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
    )
}

async fn ask(h: &Harness, store: &StoreId, q: &str) -> Answer {
    let plane = crate::answers::Plane {
        store: store.clone(),
        refs: BTreeMap::new(),
    };
    crate::answers::ask(h, &plane, q).await
}

/// Ad days Mon 16 … Mon 23 Nov recorded by the mornings after them, but for Thu 19 (its
/// morning did not run); Sat 21's morning (Sun 22) moved the budget. Last week (16–22): six
/// days, €780.00 spent, €3,270.00 of conversion value (the Sat at ROAS 5.0, the rest 4.0) =
/// ROAS 4.2; Mon 23 is this week's.
pub async fn a_campaigns_week_reads_from_its_morning_rows(h: &Harness) {
    let store = unique_store();
    let mut rows = Vec::new();
    for (i, spend) in [
        (0, 100),
        (1, 110),
        (2, 120),
        (4, 140),
        (5, 150),
        (6, 160),
        (7, 170),
    ] {
        let morning = StoreDay::parse("2026-11-17").expect("day").plus_days(i);
        let roas = if i == 5 { 5 } else { 4 };
        let micros = spend * 1_000_000;
        rows.push(morning_row(&store, morning, micros, micros * roas, i == 5));
    }
    let out = h.ports.audit.append(rows, None).await.expect("append");
    let refs: Vec<String> = out.iter().map(|a| a.row_ref.to_string()).collect();
    let mut week: Vec<String> = refs[..6].to_vec();
    week.sort();

    let q = "what did EU/Linen/Throws spend last week?";
    let a = ask(h, &store, q).await;
    assert!(a.grounded, "{}", a.answer);
    for says in [
        "EU/Linen/Throws spent €780.00 from Mon 16 Nov to Sun 22 Nov: conversion value €3270.00, ROAS 4.2 (6 of 7 days recorded).",
        "No morning recorded: Thu 19 Nov.",
        "Sat 21 Nov: €150.00 (provisional: Google may still restate it), ROAS 5.0",
        "Store MER (store revenue ÷ ad spend) on the morning of Mon 23 Nov: 4.6",
    ] {
        assert!(a.answer.contains(says), "{says:?} not in {}", a.answer);
    }
    assert!(!a.answer.contains("bp"), "{}", a.answer);
    assert_eq!(cited(&a), week, "each day of the week cited, nothing else");

    // "Since Friday" is Fri 20 – Tue 24 in ad days (today's is recorded tomorrow morning).
    let since = ask(h, &store, "ROAS of EU/Linen/Throws since Friday?").await;
    assert!(since.grounded, "{}", since.answer);
    for says in [
        "spent €620.00 from Fri 20 Nov to Tue 24 Nov",
        "(4 of 5 days recorded)",
        "No morning recorded: Tue 24 Nov.",
    ] {
        assert!(
            since.answer.contains(says),
            "{says:?} not in {}",
            since.answer
        );
    }
    // Today's spend is not recorded yet: refused, naming the campaign's newest row.
    let today = ask(h, &store, "what did EU/Linen/Throws spend today?").await;
    assert!(
        !today.grounded && today.answer.starts_with(otto_answers::NO_ROW),
        "{}",
        today.answer
    );

    // The KEEP rows move nothing and are no budget change: one change last week, the move.
    let changes = ask(h, &store, "how many budget changes did we make last week?").await;
    assert!(changes.grounded, "{}", changes.answer);
    assert_eq!(cited(&changes), vec![refs[4].clone()], "{}", changes.answer);

    // Export (the JSON lines `otto export` writes) → import into an empty store: the same answer.
    let fresh = crate::harness::embedded().await.expect("empty store");
    let exported: Vec<AuditRow> = crate::answers_set::export(h, &store)
        .await
        .iter()
        .map(|r| AuditRow::from_json(&r.to_json()).expect("a row reads back"))
        .collect();
    assert!(exported
        .iter()
        .all(|r| r.row_ref.table == AuditTable::AdDecisionLog));
    fresh.ports.audit.import(exported).await.expect("import");
    let b = ask(&fresh, &store, q).await;
    assert_eq!(
        (&a.answer, &a.citations),
        (&b.answer, &b.citations),
        "the same answer after export → import"
    );
}
