//! p50 / p99 per answer over a 1 M-row embedded audit plane (issue 15, item 7).
//!
//! Builds (once; reused when `--dir` already holds it) a store of five months of cycles — every
//! morning a decision row per SKU (6,500 SKUs: mostly KEEP, some DRAFT / PUBLISH / DISCOUNT_TEST /
//! SCALE_WINNER / REVIVE_SEASONAL, a few held), 30 campaigns' ad rows, the discount cycle's
//! ON_DISCOUNT / PRICE_RESTORE rows, CS evaluations, research candidates, cycle and stage runs,
//! kill-switch flips — then asks a question set covering every intent `--rounds` times each
//! through one engine (the store opened once, as `otto serve` holds it), and prints p50 / p99 /
//! max wall time, p50 / p99 process CPU time, the audit-plane queries and citations per question,
//! and overall.
//!
//!   cargo run --release -p otto-answers --example answers_1m -- --dir /tmp/otto-1m [--skus 6500] [--days 150] [--rounds 20] [--only TEXT]
use chrono::{DateTime, Utc};
use otto_core::audit::{AuditTable, DecisionRow, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::{Action, Classification, RowStatus, Sku, StoreClock, StoreDay, StoreId};
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::{PageReq, Ports};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

const TZ: &str = "Europe/Berlin";

fn today() -> StoreDay {
    StoreDay::parse("2026-11-04").expect("day")
}
fn now() -> DateTime<Utc> {
    "2026-11-04T11:00:00Z".parse().expect("now")
}
fn clock() -> StoreClock {
    StoreClock::new(TZ).expect("tz")
}
fn sku(i: usize) -> String {
    const FAM: [&str; 6] = ["LIN", "ULL", "KER", "BOM", "JUT", "SID"];
    const COL: [&str; 5] = ["GRA", "SVA", "ROD", "VIT", "BLA"];
    format!("HX-{}-{:05}-{}", FAM[i % 6], i, COL[(i / 6) % 5])
}
fn campaign(i: usize) -> (String, String) {
    const CAT: [&str; 10] = [
        "Wool Blankets",
        "Linen Bedding",
        "Ceramics",
        "Jute Rugs",
        "Cotton Towels",
        "Silk Scarves",
        "Oak Boards",
        "Candles",
        "Cushions",
        "Throws",
    ];
    const MKT: [&str; 3] = ["DE", "AT", "CH"];
    (
        format!("g-{}", 9100 + i),
        format!(
            "{} · {} · {}",
            MKT[i % 3],
            CAT[i % 10],
            ["Search", "PMax", "Shopping"][(i / 10) % 3]
        ),
    )
}
fn h(a: u64, b: u64) -> u64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^ (x >> 29)
}
fn body(t: AuditTable, v: serde_json::Value) -> RowBody {
    RowBody::from_json(t, v).expect("body")
}

async fn build(ports: &Ports, store: &StoreId, skus: usize, days: i64) -> usize {
    let clock = clock();
    let mut total = 0usize;
    let mut budgets: Vec<i64> = (0..30).map(|i| 300 + 40 * i as i64).collect();
    for back in (0..days).rev() {
        let d = today().plus_days(-back);
        let di = back as u64;
        let morning = CycleId::new(store.clone(), CycleKind::Morning, d);
        let t = clock.at_local(d, 6, 0).expect("t");
        let mut rows = Vec::with_capacity(skus + 64);
        let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
        let mut held = Vec::new();
        for i in 0..skus {
            let r = h(di, i as u64) % 1000;
            let (action, class) = match r {
                0..=11 => (Action::Draft, Classification::Loser),
                12..=21 => (Action::Publish, Classification::Winner),
                22..=33 => (Action::DiscountTest, Classification::Loser),
                34..=38 => (Action::ScaleWinner, Classification::Winner),
                39..=40 => (Action::ReviveSeasonal, Classification::Mid),
                41..=700 => (Action::Keep, Classification::Mid),
                701..=850 => (Action::Keep, Classification::Winner),
                851..=950 => (Action::Keep, Classification::Loser),
                _ => (Action::Keep, Classification::InsufficientData),
            };
            let hold = back < 10 && r == 40;
            let status = match (action, hold) {
                (_, true) => RowStatus::Held,
                (Action::Keep, _) => RowStatus::Skipped,
                _ => RowStatus::Applied,
            };
            *by_action.entry(action.to_string()).or_default() += 1;
            let mut figures = BTreeMap::new();
            figures.insert("roas_bp".to_string(), json!(8000 + (r as i64) * 37));
            let row = NewRow::for_stage(
                morning.clone(),
                Stage::Decide,
                status,
                t,
                RowBody::Decision(DecisionRow {
                    sku: Sku::new(sku(i)).expect("sku"),
                    action,
                    trigger: (action == Action::DiscountTest)
                        .then_some(Action::OptimizeCycleFailed),
                    classification: Some(class),
                    reasoning: match action {
                        Action::Keep => "no change".into(),
                        Action::Draft => "LOSER for 28 days: unpublish".into(),
                        Action::Publish => "WINNER in DRAFT: publish".into(),
                        _ => "two cycles without lift".into(),
                    },
                    figures,
                    window: None,
                    r#move: None,
                    reversal_op: None,
                    hold_reason: hold.then(|| "kill switch on during the manual import".into()),
                    result: None,
                }),
            );
            rows.push(row);
        }
        for (c, budget) in budgets.iter_mut().enumerate() {
            let (id, name) = campaign(c);
            let r = h(di + 7, c as u64) % 10;
            let action = if r < 2 { "ADJUST_BUDGET" } else { "KEEP" };
            let before = *budget;
            let after = if action == "ADJUST_BUDGET" {
                before + before / 10
            } else {
                before
            };
            *budget = after;
            let mut v = json!({"channel": "google_ads", "campaign": name, "campaign_id": id,
                "action": action, "verdict": if r == 9 { "DISAGREE" } else { "AGREE" },
                "reasoning": "ROAS 52000bp ≥ target 40000bp",
                "figures": {"roas_bp": 40000 + r * 1300, "target_roas_bp": 40000, "mer_before_bp": 41000, "mer_after_bp": 48000}});
            if action == "ADJUST_BUDGET" {
                v["budget_before"] = json!({"amount": format!("{before}.00"), "currency": "EUR"});
                v["budget_after"] = json!({"amount": format!("{after}.00"), "currency": "EUR"});
                v["rate_limit_position"] = json!([1, 8]);
            }
            let status = if action == "ADJUST_BUDGET" {
                RowStatus::Applied
            } else {
                RowStatus::Skipped
            };
            rows.push(NewRow::for_stage(
                morning.clone(),
                Stage::CampaignPlan,
                status,
                t,
                body(AuditTable::AdDecisionLog, v),
            ));
        }
        // Discount cycle: 12 windows of 7 days opened a day; the windows opened 7 days ago end
        // today and are restored (PRICE_RESTORE on the same SKU; their ON_DISCOUNT rows are
        // REVERTED, the ones still open APPLIED).
        let discount = CycleId::new(store.clone(), CycleKind::Discount, d);
        let td = clock.at_local(d, 16, 0).expect("t");
        let window_sku = |opened: u64, k: usize| (h(opened, 99 + k as u64) as usize) % skus;
        for k in 0..12usize {
            let i = window_sku(di, k);
            let open = json!({"sku": sku(i), "action": "ON_DISCOUNT", "trigger": "DISCOUNT_TEST",
                "reasoning": "discount test: 1500bp off for 7 days",
                "window": {"percent_bp": 1000 + 250 * (k as u32 % 5), "starts_on": d.to_string(), "ends_on": d.plus_days(7).to_string()}});
            let st = if back < 7 {
                RowStatus::Applied
            } else {
                RowStatus::Reverted
            };
            rows.push(NewRow::for_stage(
                discount.clone(),
                Stage::Open,
                st,
                td,
                body(AuditTable::DecisionLog, open),
            ));
            if back + 7 < days {
                let restore = json!({"sku": sku(window_sku(di + 7, k)), "action": "PRICE_RESTORE",
                    "trigger": "ON_DISCOUNT", "reasoning": "window passed its end"});
                rows.push(NewRow::for_stage(
                    discount.clone(),
                    Stage::Revert,
                    RowStatus::Applied,
                    td,
                    body(AuditTable::DecisionLog, restore),
                ));
            }
        }
        // CS: 40 threads a day.
        let cs = CycleId::with_slot(store.clone(), CycleKind::Cs, d, 9 * 60);
        let tc = clock.at_local(d, 9, 0).expect("t");
        for k in 0..40u64 {
            let r = h(di + 3, k) % 10;
            let verdict = match r {
                0 => "ESCALATED_REFUND",
                1 => "HOLD_LANGUAGE",
                _ => "SEND",
            };
            let status = if r == 1 && back < 3 {
                RowStatus::Held
            } else {
                RowStatus::Recorded
            };
            let thread = format!("case-{}", 40_000 + di * 100 + k);
            rows.push(NewRow {
                cycle_id: cs.clone(),
                natural_key: format!("{cs}|cs|{thread}"),
                status,
                created_at: tc,
                body: body(
                    AuditTable::CsThreadEvaluations,
                    json!({"thread_id": thread, "draft_version": "v1", "verdict": verdict,
                        "reason": "refund €780.00 is above €500.00: escalated"}),
                ),
            });
        }
        // Research: 20 candidates a day, the last week's still queued.
        let research = CycleId::new(store.clone(), CycleKind::Research, d);
        let tr = clock.at_local(d, 11, 0).expect("t");
        for k in 0..20u64 {
            let key = format!("idea-{di}-{k}");
            rows.push(NewRow::for_stage(
                research.clone(),
                Stage::Queue,
                if back < 7 {
                    RowStatus::Queued
                } else {
                    RowStatus::Recorded
                },
                tr,
                body(AuditTable::ResearchCandidates, json!({"candidate_key": key, "title": format!("Idea {k} of day {di}"),
                    "lane": "aliexpress", "score_bp": 1000 + (h(di, k) % 8000), "review": "QUEUED"})),
            ));
        }
        for (stage, c) in [
            (Stage::Sync, &morning),
            (Stage::Decide, &morning),
            (Stage::CampaignPlan, &morning),
            (Stage::Open, &discount),
            (Stage::Queue, &research),
        ] {
            rows.push(NewRow::for_stage(
                c.clone(),
                stage,
                RowStatus::Completed,
                t,
                body(
                    AuditTable::StageRuns,
                    json!({"stage": stage.as_str(), "chunk": 0, "chunks": 1}),
                ),
            ));
        }
        let appended = ports.audit.append(rows, None).await.expect("append");
        total += appended.len();
        for (i, a) in appended.iter().enumerate().take(skus) {
            if h(di, i as u64) % 1000 == 40 && back < 10 {
                held.push(a.row_ref.to_string());
            }
        }
        let mut runs = Vec::new();
        for (c, kind, at) in [
            (&morning, CycleKind::Morning, t),
            (&discount, CycleKind::Discount, td),
            (&research, CycleKind::Research, tr),
            (&cs, CycleKind::Cs, tc),
        ] {
            let summary = if kind == CycleKind::Morning {
                json!({"summary": {"decision_rows": skus, "by_action": by_action, "ad_proposals": 30,
                    "ad_agreed": 27, "ad_moves": 6, "judge_agreement_bp": 9000, "held_rows": held}})
            } else {
                json!({})
            };
            runs.push(NewRow {
                cycle_id: c.clone(),
                natural_key: c.to_string(),
                status: RowStatus::Completed,
                created_at: at,
                body: body(
                    AuditTable::CycleRuns,
                    json!({"kind": kind.as_str(), "apply": true, "scheduled_time": at.to_rfc3339(), "figures": summary}),
                ),
            });
        }
        total += ports.audit.append(runs, None).await.expect("runs").len();
        if back % 30 == 0 {
            for on in [true, false] {
                otto_store::settings::flip_kill_switch(
                    ports.audit.as_ref(),
                    ports.settings.as_ref(),
                    store,
                    d,
                    otto_store::settings::Flip {
                        on,
                        by: "ops@hx".into(),
                        surface: otto_core::audit::Surface::Cli,
                        reason: Some("manual import".into()),
                    },
                    clock.at_local(d, if on { 5 } else { 7 }, 40).expect("t"),
                )
                .await
                .expect("flip");
                total += 1;
            }
        }
        if back % 10 == 0 {
            eprintln!("built {d}: {total} rows");
        }
    }
    total
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dir = std::path::PathBuf::from(arg("--dir").ok_or("--dir DIR is required")?);
    let skus: usize = arg("--skus").unwrap_or_else(|| "6500".into()).parse()?;
    let days: i64 = arg("--days").unwrap_or_else(|| "150".into()).parse()?;
    let rounds: usize = arg("--rounds").unwrap_or_else(|| "20".into()).parse()?;
    std::fs::create_dir_all(&dir)?;
    let es = EmbeddedStore::open(&dir)?;
    let queue = Arc::new(EmbeddedQueue::new(es.clone(), 5));
    let ports = Ports::from_adapter(Arc::new(es), queue);
    let store = StoreId::new("hemmax")?;
    let mut rows = 0usize;
    for t in AuditTable::ALL {
        let mut page = PageReq::first(50_000);
        loop {
            let p = ports.audit.list_table(t, page.clone()).await?;
            rows += p.items.len();
            match p.next {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
    }
    if rows == 0 {
        let started = Instant::now();
        rows = build(&ports, &store, skus, days).await;
        println!(
            "built {rows} audit rows in {:.0} s",
            started.elapsed().as_secs_f64()
        );
    }
    println!("audit rows: {rows}");
    let (_, n3) = campaign(3);
    let (c7, _) = campaign(7);
    let questions: Vec<String> = vec![
        "how did this morning go?".into(),
        "how did yesterday's run go?".into(),
        "how did the morning go last Friday?".into(),
        "how did the discount cycle go today?".into(),
        "what moved on the catalog today?".into(),
        "what moved on the catalog yesterday?".into(),
        "what moved last week?".into(),
        format!("why is spend on {n3} what it is?"),
        format!("tell me about campaign {c7}"),
        "why didn't you raise the Jute budget?".into(),
        "how many budget changes have we made this week?".into(),
        "how much did we add to budgets this week?".into(),
        "what was the largest budget change last month?".into(),
        "how many SKUs did we draft this week?".into(),
        "how many products were published last month?".into(),
        "how many discount tests in the last 14 days?".into(),
        "how many price restores this month?".into(),
        "did we draft more this week than last week?".into(),
        "what's the deepest discount this month?".into(),
        "what's escalated in CS today?".into(),
        "what happened to thread case-40005?".into(),
        "what's held?".into(),
        "which discount windows are open?".into(),
        "what research candidates are queued?".into(),
        format!("what happened to {}?", sku(17)),
        format!("history of {}", sku(4242).to_lowercase()),
        "which products are losers?".into(),
        "which SKUs are winners?".into(),
        "show me decision_log#500000".into(),
        "who turned the kill switch on?".into(),
        "is the kill switch on?".into(),
        "is a cycle stuck?".into(),
        "hi otto".into(),
        "who won the game last night?".into(),
        "what happened to HX-NOPE-00001?".into(),
        "what will move tomorrow?".into(),
    ];
    // `--only TEXT`: just the questions containing TEXT (profiling one answer).
    let questions: Vec<String> = match arg("--only") {
        Some(only) => questions
            .into_iter()
            .filter(|q| q.contains(&only))
            .collect(),
        None => questions,
    };
    let engine = otto_answers::Engine::new(&ports, store.clone(), clock(), "");
    let mut all = Vec::new();
    let mut all_cpu = Vec::new();
    println!(
        "| question | p50 (ms) | p99 (ms) | max (ms) | cpu p50 (ms) | cpu p99 (ms) | queries | citations | grounded |\n|---|---|---|---|---|---|---|---|---|"
    );
    for q in &questions {
        let mut times = Vec::with_capacity(rounds);
        let mut cpu = Vec::with_capacity(rounds);
        let mut last = None;
        for _ in 0..rounds {
            let (t, c) = (Instant::now(), cpu_micros());
            let a = engine.ask(q, now()).await?;
            times.push(t.elapsed().as_micros() as u64);
            cpu.push(cpu_micros().saturating_sub(c));
            last = Some(a);
        }
        times.sort_unstable();
        cpu.sort_unstable();
        all.extend(times.iter().copied());
        all_cpu.extend(cpu.iter().copied());
        let pct = |v: &[u64], p: usize| v[(v.len() * p / 100).min(v.len() - 1)] as f64 / 1000.0;
        let a = last.ok_or("no rounds")?;
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {} | {} | {} |",
            q,
            pct(&times, 50),
            pct(&times, 99),
            *times.last().unwrap_or(&0) as f64 / 1000.0,
            pct(&cpu, 50),
            pct(&cpu, 99),
            a.queries,
            a.citations.len(),
            a.grounded
        );
        if std::env::var_os("OTTO_PRINT_ANSWERS").is_some() {
            eprintln!(
                "Q: {q}\nA: {}\n",
                a.answer.chars().take(400).collect::<String>()
            );
        }
    }
    all.sort_unstable();
    all_cpu.sort_unstable();
    let pct = |v: &[u64], p: usize| v[(v.len() * p / 100).min(v.len() - 1)] as f64 / 1000.0;
    println!(
        "overall over {} answers ({} questions × {rounds}): p50 {:.3} ms, p99 {:.3} ms; cpu p50 {:.3} ms, p99 {:.3} ms",
        all.len(),
        questions.len(),
        pct(&all, 50),
        pct(&all, 99),
        pct(&all_cpu, 50),
        pct(&all_cpu, 99)
    );
    Ok(())
}

/// CPU time of the whole process so far (µs): what an answer costs, apart from waiting for a
/// core on a shared machine.
fn cpu_micros() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    ts.tv_sec as u64 * 1_000_000 + ts.tv_nsec as u64 / 1000
}
