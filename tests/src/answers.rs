//! Otto's cited answers over a fixed audit plane, generic over the harness: each question's
//! expected citations, the "I don't have a row for that." cases, every citation resolving to a
//! row, and the queries each answer took.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::{DateTime, Utc};
use otto_answers::{Answer, Engine, NO_ROW};
use otto_core::audit::{AuditTable, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::metrics::{CampaignBudget, OpenWindow};
use otto_core::money::{Currency, Money};
use otto_core::{RowStatus, Sku, StoreClock, StoreDay, StoreId};
use serde_json::json;
use std::collections::BTreeMap;

#[macro_export]
macro_rules! answers_suite {
    ($make:path) => {
        $crate::instantiate!(answers, $make;
            answers_cite_their_rows,
            no_row_answers,
            answers_take_few_queries,
            llm_maps_intents_and_words_behind_the_guard,
            kill_switch_and_stalled_cycles,
            slack_speaks_first,
            ambiguous_campaign_names_list_the_matches,
            a_count_of_none_cites_what_was_proposed,
            thresholds_come_from_the_calibrate_row
        );
        $crate::instantiate!(campaign_week, $make;
            a_campaigns_week_reads_from_its_morning_rows
        );
        $crate::instantiate!(answers_set, $make;
            question_set_scores,
            same_answers_after_export_import
        );
    };
}

fn now() -> DateTime<Utc> {
    "2026-11-25T10:00:00Z".parse().expect("time")
}
fn day(s: &str) -> StoreDay {
    StoreDay::parse(s).expect("day")
}
fn clock() -> StoreClock {
    StoreClock::new("Europe/Amsterdam").expect("tz")
}

fn body(table: AuditTable, v: serde_json::Value) -> RowBody {
    RowBody::from_json(table, v).expect("fixture body")
}

/// The refs of the fixed plane, by name.
pub struct Plane {
    pub store: StoreId,
    pub refs: BTreeMap<&'static str, String>,
}

/// A small, fixed audit plane: a morning cycle with a held move, an applied discount with its
/// window and reversal op, a budget move, CS escalations and holds, a queued candidate.
pub async fn plane(h: &Harness) -> Plane {
    let store = unique_store();
    let d24 = day("2026-11-24");
    let d25 = day("2026-11-25");
    let morning = CycleId::new(store.clone(), CycleKind::Morning, d24);
    let discount = CycleId::new(store.clone(), CycleKind::Discount, d24);
    let cs = CycleId::with_slot(store.clone(), CycleKind::Cs, d25, 9 * 60);
    let research = CycleId::new(store.clone(), CycleKind::Research, d24);
    let t = now();
    let dec = |c: &CycleId, stage: Stage, status: RowStatus, v: serde_json::Value| {
        NewRow::for_stage(
            c.clone(),
            stage,
            status,
            t,
            body(AuditTable::DecisionLog, v),
        )
    };
    let mut rows = vec![
        dec(
            &morning,
            Stage::Decide,
            RowStatus::Held,
            json!({
            "sku": "SKU-LIN-042-NAT", "action": "PUBLISH", "reasoning": "WINNER in DRAFT: publish",
            "figures": {"roas_bp": 41000}, "hold_reason": "kill switch on (maintenance)"}),
        ),
        dec(
            &morning,
            Stage::Decide,
            RowStatus::DryRun,
            json!({
            "sku": "SKU-THR-007-GRY", "action": "DISCOUNT_TEST", "reasoning": "LOSER: 2 cycles without lift",
            "figures": {"roas_bp": 9000}}),
        ),
        dec(
            &discount,
            Stage::Open,
            RowStatus::Applied,
            json!({
            "sku": "SKU-THR-007-GRY", "action": "ON_DISCOUNT", "trigger": "DISCOUNT_TEST",
            "reasoning": "discount test: 2000bp off for 7 days",
            "window": {"percent_bp": 2000, "starts_on": "2026-11-24", "ends_on": "2026-12-01"},
            "reversal_op": {"op": "variant_price", "product_id": "gid://shopify/Product/1",
                            "variant_id": "gid://shopify/ProductVariant/11",
                            "price": {"amount": "59.00", "currency": "EUR"}, "compare_at_price": null}}),
        ),
    ];
    rows.push(NewRow::for_stage(
        morning.clone(),
        Stage::CampaignPlan,
        RowStatus::Applied,
        t,
        body(AuditTable::AdDecisionLog, json!({
            "channel": "google_ads", "campaign": "EU/Linen/Throws", "campaign_id": "2001",
            "action": "ADJUST_BUDGET", "verdict": "AGREE",
            "reasoning": "ROAS 52000bp ≥ target 40000bp, 1800bp of search impressions lost to budget",
            "figures": {"roas_bp": 52000, "target_roas_bp": 40000, "budget_lost_is_bp": 1800, "step_bp": 1500,
                        "spend": {"amount": "4120.50", "currency": "EUR"}},
            "budget_before": {"amount": "300.00", "currency": "EUR"},
            "budget_after": {"amount": "345.00", "currency": "EUR"},
            "rate_limit_position": [3, 8]})),
    ));
    let cs_row = |thread: &str, verdict: &str, status: RowStatus, v: serde_json::Value| {
        let mut b = json!({"thread_id": thread, "draft_version": "v1", "verdict": verdict});
        if let (Some(o), Some(extra)) = (b.as_object_mut(), v.as_object()) {
            o.extend(extra.clone());
        }
        NewRow {
            cycle_id: cs.clone(),
            natural_key: format!("cs|{}|{thread}|v1", cs.store),
            status,
            created_at: t,
            body: body(AuditTable::CsThreadEvaluations, b),
        }
    };
    rows.push(cs_row("T-9001", "ESCALATED_REFUND", RowStatus::Recorded, json!({
        "amount": {"amount": "780.00", "currency": "EUR"}, "reason": "refund €780.00 is above €500.00: escalated"})));
    rows.push(cs_row(
        "T-9002",
        "HOLD_LANGUAGE",
        RowStatus::Held,
        json!({
        "language": "nl", "reason": "drafted in nl; languages_allowed_for_send is en + de"}),
    ));
    rows.push(NewRow::for_stage(
        research.clone(),
        Stage::Queue,
        RowStatus::Queued,
        t,
        body(AuditTable::ResearchCandidates, json!({
            "candidate_key": "waffle-linen-apron", "title": "Waffle Linen Apron", "lane": "aliexpress",
            "score_bp": 2184, "review": "QUEUED"})),
    ));
    let appended = h
        .ports
        .audit
        .append(rows, None)
        .await
        .expect("append plane");
    let names = [
        "held",
        "dtest",
        "discount",
        "budget",
        "escalated",
        "cs_held",
        "candidate",
    ];
    let mut refs: BTreeMap<&'static str, String> = names
        .iter()
        .zip(&appended)
        .map(|(n, a)| (*n, a.row_ref.to_string()))
        .collect();
    // The morning cycle's run row, with its summary naming the held row.
    let run = NewRow {
        cycle_id: morning.clone(),
        natural_key: morning.to_string(),
        status: RowStatus::Completed,
        created_at: t,
        body: body(
            AuditTable::CycleRuns,
            json!({
            "kind": "morning", "apply": true,
            "figures": {"summary": {"decision_rows": 2, "by_action": {"PUBLISH": 1, "DISCOUNT_TEST": 1},
                                    "by_status": {"HELD": 1, "DRY_RUN": 1}, "ad_proposals": 3, "ad_agreed": 2,
                                    "ad_moves": 1, "ad_held": 0, "judge_agreement_bp": 6666,
                                    "held_rows": [refs["held"]]}}}),
        ),
    };
    let discount_run = NewRow {
        cycle_id: discount.clone(),
        natural_key: discount.to_string(),
        status: RowStatus::Completed,
        created_at: t,
        body: body(
            AuditTable::CycleRuns,
            json!({
            "kind": "discount", "apply": true,
            "figures": {"summary": {"opened_or_planned": 1, "skipped": 0, "by_status": {"APPLIED": 1},
                                    "applied_refs": [refs["discount"]]}}}),
        ),
    };
    let runs = h
        .ports
        .audit
        .append(vec![run, discount_run], None)
        .await
        .expect("runs");
    refs.insert("morning_run", runs[0].row_ref.to_string());
    refs.insert("discount_run", runs[1].row_ref.to_string());
    h.ports
        .catalog
        .put_budgets(
            &store,
            &[CampaignBudget {
                campaign_id: "2001".into(),
                campaign: "EU/Linen/Throws".into(),
                budget_resource: "customers/1/campaignBudgets/2001".into(),
                amount: Money::parse("345.00", Currency::EUR).expect("money"),
                explicitly_shared: false,
            }],
        )
        .await
        .expect("budgets");
    h.ports
        .catalog
        .open_window(
            &store,
            &OpenWindow {
                sku: Sku::new("SKU-THR-007-GRY").expect("sku"),
                ends_on: day("2026-12-01"),
                row_ref: refs["discount"].clone(),
            },
        )
        .await
        .expect("window");
    Plane { store, refs }
}

pub(crate) async fn ask(h: &Harness, p: &Plane, q: &str) -> Answer {
    Engine::new(&h.ports, p.store.clone(), clock(), "https://otto.example")
        .ask(q, now())
        .await
        .expect("answer")
}

pub(crate) fn cited(a: &Answer) -> Vec<String> {
    let mut v: Vec<String> = a.citations.iter().map(|c| c.row_ref.clone()).collect();
    v.sort();
    v
}

fn sorted(p: &Plane, names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|n| p.refs[n].clone()).collect();
    v.sort();
    v
}

pub async fn answers_cite_their_rows(h: &Harness) {
    let p = plane(h).await;
    let cases: Vec<(&str, Vec<&str>, Vec<&str>)> = vec![
        (
            "How did the morning go on the 24th?",
            vec!["morning_run", "held"],
            vec![
                "judge agreement at 67% (2 of 3 proposals)",
                "kill switch on (maintenance)",
            ],
        ),
        (
            "what moved on the catalog on 2026-11-24?",
            vec!["held", "dtest", "discount"],
            vec![
                "1 ON_DISCOUNT",
                "−20%",
                "Reversal pre-stored",
                "One held row",
            ],
        ),
        (
            "Why is spend on EU/Linen/Throws what it is?",
            vec!["budget"],
            vec![
                "€300.00 → €345.00",
                "+15%",
                "ROAS 5.2 against a target of 4.0",
                "18% of search impressions lost to budget",
                "1 of 8 budget changes used in the week of Mon 23 Nov",
            ],
        ),
        (
            "what's escalated in CS today?",
            vec!["escalated", "cs_held"],
            vec!["€780.00", "HOLD_LANGUAGE"],
        ),
        (
            "what's held and how do I release it?",
            vec!["held", "cs_held"],
            vec!["Resolve to release"],
        ),
        (
            "which discount windows are open and when do they end?",
            vec!["discount"],
            vec!["Tue 1 Dec", "reversal pre-stored"],
        ),
        (
            "what research candidates are queued?",
            vec!["candidate"],
            vec!["Waffle Linen Apron", "score 22%"],
        ),
        (
            "what happened to SKU-THR-007-GRY?",
            vec!["dtest", "discount"],
            vec!["ON_DISCOUNT", "DISCOUNT_TEST"],
        ),
    ];
    for (q, want, says) in cases {
        let a = ask(h, &p, q).await;
        assert!(
            !a.answer.contains("bp"),
            "{q}: basis points in {}",
            a.answer
        );
        assert!(a.grounded, "{q}: {}", a.answer);
        assert_eq!(cited(&a), sorted(&p, &want), "{q}: {}", a.answer);
        for s in says {
            assert!(a.answer.contains(s), "{q}: {s:?} not in {}", a.answer);
        }
        for c in &a.citations {
            let r = otto_core::audit::RowRef::parse(&c.row_ref).expect("ref");
            assert!(
                h.ports.audit.get(r).await.expect("get").is_some(),
                "{q}: {} resolves",
                c.row_ref
            );
            assert_eq!(
                c.url,
                format!("https://otto.example/rows/{}/{}", r.table, r.seq)
            );
        }
    }
    let show = format!("show me {}", p.refs["held"]);
    let a = ask(h, &p, &show).await;
    assert_eq!(cited(&a), sorted(&p, &["held"]));
    assert_eq!(
        a.releasable,
        vec![p.refs["held"].clone()],
        "a held row can be released"
    );
}

pub async fn no_row_answers(h: &Harness) {
    let p = plane(h).await;
    for q in [
        "what is the capital of France?",
        "how will tomorrow's morning go?",
        "what moved on 2026-12-24?",
        "what happened to SKU-NOPE-404?",
        "why is spend on EU/Wool/Blankets what it is?",
        "show me decision_log#999999999",
        "how did the morning go on 2026-11-20?",
    ] {
        let a = ask(h, &p, q).await;
        assert!(a.answer.starts_with(NO_ROW), "{q}: {}", a.answer);
        assert!(
            a.answer.contains("I can answer"),
            "{q}: says what it can answer"
        );
        assert!(!a.grounded, "{q}");
        for c in &a.citations {
            let r = otto_core::audit::RowRef::parse(&c.row_ref).expect("ref");
            let row = h
                .ports
                .audit
                .get(r)
                .await
                .expect("get")
                .expect("nearest rows exist");
            assert_eq!(row.store(), &p.store, "{q}: nearest rows are this store's");
        }
    }
    // An unknown SKU names the nearest SKUs that exist.
    let a = ask(h, &p, "what happened to SKU-THR-007-BLK?").await;
    assert!(
        !a.grounded && a.answer.contains("SKU-THR-007-GRY"),
        "{}",
        a.answer
    );
    // Another store's rows are not this store's answer.
    let other = Engine::new(&h.ports, unique_store(), clock(), "")
        .ask(&format!("show me {}", p.refs["held"]), now())
        .await
        .expect("answer");
    assert!(other.answer.starts_with(NO_ROW) && other.citations.is_empty());
}

pub async fn answers_take_few_queries(h: &Harness) {
    let p = plane(h).await;
    for q in [
        "how did this morning go?",
        "why is spend on EU/Linen/Throws what it is?",
        "what's escalated in CS today?",
        "what's held?",
        "which discount windows are open?",
        "what research candidates are queued?",
        "what happened to SKU-THR-007-GRY?",
        "what moved on the catalog yesterday?",
    ] {
        let a = ask(h, &p, q).await;
        // A few reads whatever the period: keys reads by range, the shown rows in one batch
        // (a campaign: its newest day, its keys, its rows, the rate-limit week; + 1 when its
        // newest day is not today).
        assert!(a.queries <= 5, "{q}: {} queries", a.queries);
    }
}

/// A local stand-in for an OpenAI-compatible endpoint: intent requests (JSON mode) get
/// `intent`, wording requests get `wording`; `status` ≠ 200 fails every call.
#[derive(Clone)]
struct Stub {
    intent: std::sync::Arc<std::sync::Mutex<String>>,
    wording: std::sync::Arc<std::sync::Mutex<String>>,
    status: std::sync::Arc<std::sync::Mutex<u16>>,
}

async fn stub_server(stub: Stub) -> String {
    use axum::http::StatusCode;
    let app = axum::Router::new().route(
        "/v1/chat/completions",
        axum::routing::post(move |axum::Json(req): axum::Json<serde_json::Value>| {
            let stub = stub.clone();
            async move {
                let status = *stub.status.lock().expect("lock");
                if status != 200 {
                    return (StatusCode::from_u16(status).expect("status"), axum::Json(json!({"error": "down"})));
                }
                assert_eq!(req["model"], "stub-model");
                let content = if req.get("response_format").is_some() {
                    stub.intent.lock().expect("lock").clone()
                } else {
                    stub.wording.lock().expect("lock").clone()
                };
                (StatusCode::OK, axum::Json(json!({"id": "c1", "object": "chat.completion",
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]})))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

pub async fn llm_maps_intents_and_words_behind_the_guard(h: &Harness) {
    let p = plane(h).await;
    let stub = Stub {
        intent: std::sync::Arc::new(std::sync::Mutex::new(r#"{"intent":"holds"}"#.into())),
        wording: std::sync::Arc::new(std::sync::Mutex::new(String::new())),
        status: std::sync::Arc::new(std::sync::Mutex::new(200)),
    };
    let base = stub_server(stub.clone()).await;
    let llm: std::sync::Arc<dyn otto_answers::llm::Llm> =
        std::sync::Arc::new(otto_answers::llm::OpenAiChat::new(&base, "k", "stub-model"));
    let engine = || Engine::new(&h.ports, p.store.clone(), clock(), "").with_llm(Some(llm.clone()));
    let q = "is there anything on my plate?";
    assert!(
        ask(h, &p, q).await.answer.starts_with(NO_ROW),
        "the parser alone cannot place it"
    );
    // Wording that keeps the figures is used.
    *stub.wording.lock().expect("lock") = format!(
        "Two rows wait for you: {} (kill switch on) and {} (drafted in nl).",
        p.refs["held"], p.refs["cs_held"]
    );
    let a = engine().ask(q, now()).await.expect("answer");
    assert!(a.grounded && a.worded_by_llm, "{a:?}");
    assert_eq!(cited(&a), sorted(&p, &["held", "cs_held"]));
    assert!(a.answer.starts_with("Two rows wait"), "{}", a.answer);
    // Wording that invents a figure is refused: the deterministic text stands.
    *stub.wording.lock().expect("lock") =
        format!("{} is held; it would have saved €999.00.", p.refs["held"]);
    let a = engine().ask(q, now()).await.expect("answer");
    assert!(a.grounded && !a.worded_by_llm, "{a:?}");
    assert!(
        !a.answer.contains("999") && a.answer.contains("held rows"),
        "{}",
        a.answer
    );
    // An intent the model makes up is validated like any input.
    *stub.intent.lock().expect("lock") = r#"{"intent":"sku_history","sku":"SKU-NOPE-404"}"#.into();
    assert!(engine()
        .ask(q, now())
        .await
        .expect("answer")
        .answer
        .starts_with(NO_ROW));
    *stub.intent.lock().expect("lock") = "not json".into();
    assert!(engine()
        .ask(q, now())
        .await
        .expect("answer")
        .answer
        .starts_with(NO_ROW));
    // The model may choose a typed rows plan: validated against the type, then the same queries.
    *stub.intent.lock().expect("lock") = r#"{"intent":"rows","table":"ad_decision_log","actions":["ADJUST_BUDGET"],"from":"2026-11-23","to":"2026-11-25","aggregate":"count"}"#.into();
    let a = engine().ask(q, now()).await.expect("answer");
    assert!(a.grounded && a.intent == "rows", "{a:?}");
    assert_eq!(cited(&a), sorted(&p, &["budget"]), "{}", a.answer);
    // A plan that does not fit the type (an unknown action, a year-long range) is dropped.
    for bad in [
        r#"{"intent":"rows","actions":["TELEPORT"]}"#,
        r#"{"intent":"rows","from":"2025-11-01","to":"2026-11-25"}"#,
    ] {
        *stub.intent.lock().expect("lock") = bad.into();
        let a = engine().ask(q, now()).await.expect("answer");
        assert!(
            a.answer.starts_with(NO_ROW) && a.intent == "unknown",
            "{bad}: {a:?}"
        );
    }
    // The model down: the deterministic path answers alone.
    *stub.status.lock().expect("lock") = 503;
    assert!(engine()
        .ask(q, now())
        .await
        .expect("answer")
        .answer
        .starts_with(NO_ROW));
    let a = engine().ask("what's held?", now()).await.expect("answer");
    assert!(a.grounded && !a.worded_by_llm);
}

/// Kill-switch flips (operator_log rows) and a stalled cycle, answered from the audit plane —
/// and the same answers after export → import into an empty store.
pub async fn kill_switch_and_stalled_cycles(h: &Harness) {
    use otto_core::audit::Surface;
    let store = unique_store();
    let t = |s: &str| -> DateTime<Utc> { s.parse().expect("time") };
    let mut flips = Vec::new();
    for (on, by, surface, reason, at) in [
        (
            true,
            "ops@brevard",
            Surface::Cli,
            Some("supplier price feed broken"),
            "2026-11-20T08:15:00Z",
        ),
        (
            false,
            "emma@brevard",
            Surface::Dashboard,
            None,
            "2026-11-21T09:00:00Z",
        ),
        (
            true,
            "U024BE7LH",
            Surface::Slack,
            Some("manual import"),
            "2026-11-25T04:40:00Z",
        ),
    ] {
        let at = t(at);
        let ks = otto_store::settings::flip_kill_switch(
            h.ports.audit.as_ref(),
            h.ports.settings.as_ref(),
            &store,
            clock().day_of(at),
            otto_store::settings::Flip {
                on,
                by: by.into(),
                surface,
                reason: reason.map(str::to_string),
            },
            at,
        )
        .await
        .expect("flip");
        flips.push(ks.flip.expect("cited").to_string());
    }
    // This morning's cycle: RUNNING since 06:00, its last stage done at 06:05, now 11:00 (10:00 UTC) → STALLED.
    // The research cycle opened at 10:30 and is RUNNING within its lease.
    let d25 = day("2026-11-25");
    let run = |kind: CycleKind, at: &str, status: RowStatus| {
        let c = CycleId::new(store.clone(), kind, d25);
        NewRow {
            natural_key: c.to_string(),
            cycle_id: c,
            status,
            created_at: t(at),
            body: body(
                AuditTable::CycleRuns,
                json!({"kind": kind.as_str(), "apply": true, "scheduled_time": at}),
            ),
        }
    };
    let morning = CycleId::new(store.clone(), CycleKind::Morning, d25);
    let runs = h
        .ports
        .audit
        .append(
            vec![
                run(
                    CycleKind::Morning,
                    "2026-11-25T05:00:00Z",
                    RowStatus::Running,
                ),
                run(
                    CycleKind::Research,
                    "2026-11-25T09:30:00Z",
                    RowStatus::Running,
                ),
                NewRow::for_stage(
                    morning.clone(),
                    Stage::Sync,
                    RowStatus::Completed,
                    t("2026-11-25T05:05:00Z"),
                    body(
                        AuditTable::StageRuns,
                        json!({"stage": "sync", "chunk": 0, "chunks": 1}),
                    ),
                ),
            ],
            None,
        )
        .await
        .expect("runs");
    let (morning_run, research_run, sync) = (
        runs[0].row_ref.to_string(),
        runs[1].row_ref.to_string(),
        runs[2].row_ref.to_string(),
    );
    let cases: Vec<(&str, Vec<&String>, Vec<&str>)> = vec![
        (
            "who turned the kill switch on?",
            vec![&flips[2], &flips[1], &flips[0]],
            vec![
                "U024BE7LH turned the kill switch on from Slack on Wed 25 Nov at 05:40 (Europe/Amsterdam) — why: \"manual import\"",
                "It is still on.",
            ],
        ),
        (
            "is the kill switch on?",
            vec![&flips[2], &flips[1], &flips[0]],
            vec!["The kill switch is on — U024BE7LH turned it on from Slack"],
        ),
        (
            "when was the kill switch flipped?",
            vec![&flips[2], &flips[1], &flips[0]],
            vec!["Wed 25 Nov at 05:40", "Earlier flips:", "off by emma@brevard from the dashboard on Sat 21 Nov at 10:00"],
        ),
        (
            "who turned the kill switch off?",
            vec![&flips[1], &flips[2], &flips[0]],
            vec![
                "emma@brevard turned the kill switch off from the dashboard on Sat 21 Nov at 10:00 (Europe/Amsterdam) — no reason given",
                "It is on now: U024BE7LH turned it on",
            ],
        ),
        (
            "who turned the kill switch on last Friday?",
            vec![&flips[0], &flips[2]],
            vec!["ops@brevard turned the kill switch on from the CLI on Fri 20 Nov at 09:15", "supplier price feed broken"],
        ),
        (
            "how did the morning cycle go?",
            vec![&morning_run, &sync],
            vec![
                "STALLED — the morning cycle on Wed 25 Nov (scheduled 06:00) is still RUNNING with no stage activity since 06:05 (Europe/Amsterdam), 4 h 55 min ago: longer than its 2 h lease",
                "Last stage: sync COMPLETED at 06:05",
            ],
        ),
        (
            "is a cycle stuck?",
            vec![&morning_run, &sync, &research_run],
            vec!["Yes — 1 cycle is stalled:", "STALLED — the morning cycle", "research cycle on Wed 25 Nov RUNNING", "last stage activity at 10:30, 30 min ago"],
        ),
    ];
    let fresh = crate::harness::embedded().await.expect("empty store");
    let rows = crate::answers_set::export(h, &store).await;
    fresh.ports.audit.import(rows).await.expect("import");
    async fn ask_in(h: &Harness, store: &StoreId, q: String) -> Answer {
        Engine::new(&h.ports, store.clone(), clock(), "https://otto.example")
            .ask(&q, now())
            .await
            .expect("answer")
    }
    for (q, want, says) in cases {
        let a = ask_in(h, &store, q.to_string()).await;
        assert!(a.grounded, "{q}: {}", a.answer);
        let mut want: Vec<String> = want.into_iter().cloned().collect();
        want.sort();
        assert_eq!(cited(&a), want, "{q}: {}", a.answer);
        for s in says {
            assert!(a.answer.contains(s), "{q}: {s:?} not in {}", a.answer);
        }
        let b = ask_in(&fresh, &store, q.to_string()).await;
        assert_eq!(
            (&a.answer, &a.citations),
            (&b.answer, &b.citations),
            "{q}: the same answer after export → import"
        );
    }
    // No flip in the period asked about: refused, naming the flips that exist.
    let a = ask_in(
        h,
        &store,
        "who flipped the kill switch on 2026-11-10?".into(),
    )
    .await;
    assert!(
        a.answer.starts_with(NO_ROW) && a.citations.len() == 3,
        "{}",
        a.answer
    );
    // A store whose switch was never flipped has no row to say so.
    let none = Engine::new(&h.ports, unique_store(), clock(), "")
        .ask("is the kill switch on?", now())
        .await
        .expect("answer");
    assert!(
        none.answer.starts_with(NO_ROW) && !none.grounded,
        "{}",
        none.answer
    );
}

/// Otto speaks first: after a cycle its digest (the cycle's cited answer) or a FAILED alert, a
/// STALLED alert from the watcher, a holds alert at the threshold — posted once each to the
/// configured channel's webhook.
pub async fn slack_speaks_first(h: &Harness) {
    use otto_answers::digest::NoticeKind;
    let p = plane(h).await;
    let engine = || Engine::new(&h.ports, p.store.clone(), clock(), "https://otto.example");
    let morning = CycleId::new(p.store.clone(), CycleKind::Morning, day("2026-11-24"));
    // A completed cycle: its digest, citing the run and its held row; no holds alert below 2.
    let n = engine()
        .after_cycle(&morning, now(), 3)
        .await
        .expect("notices");
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].kind, NoticeKind::Digest);
    assert_eq!(n[0].title, "Morning cycle — Tue 24 Nov");
    assert!(n[0].answer.grounded, "{}", n[0].answer.answer);
    assert_eq!(cited(&n[0].answer), sorted(&p, &["morning_run", "held"]));
    assert!(
        n[0].answer.answer.contains("judge agreement at 67%"),
        "{}",
        n[0].answer.answer
    );
    assert_eq!(n[0].answer.releasable, vec![p.refs["held"].clone()]);
    // Held rows at the threshold: an alert listing them with how to release.
    let n = engine()
        .after_cycle(&morning, now(), 2)
        .await
        .expect("notices");
    assert_eq!(
        n.iter().map(|x| x.kind).collect::<Vec<_>>(),
        [NoticeKind::Digest, NoticeKind::HoldsPiledUp]
    );
    assert_eq!(cited(&n[1].answer), sorted(&p, &["held", "cs_held"]));
    assert!(n[1].answer.answer.contains("Resolve to release"));
    // A failed cycle: an alert with its error; a stalled one: the watcher's alert.
    let d25 = day("2026-11-25");
    let failed = CycleId::new(p.store.clone(), CycleKind::Discount, d25);
    let stalled = CycleId::new(p.store.clone(), CycleKind::Research, d25);
    let t = |s: &str| -> DateTime<Utc> { s.parse().expect("time") };
    let runs = h
        .ports
        .audit
        .append(
            vec![
                NewRow {
                    natural_key: failed.to_string(),
                    cycle_id: failed.clone(),
                    status: RowStatus::Failed,
                    created_at: t("2026-11-25T06:00:00Z"),
                    body: body(
                        AuditTable::CycleRuns,
                        json!({"kind": "discount", "apply": true,
                        "error": "audit: Shopify API 503 after 5 attempts"}),
                    ),
                },
                NewRow {
                    natural_key: stalled.to_string(),
                    cycle_id: stalled.clone(),
                    status: RowStatus::Running,
                    created_at: t("2026-11-25T07:00:00Z"),
                    body: body(
                        AuditTable::CycleRuns,
                        json!({"kind": "research", "apply": true}),
                    ),
                },
            ],
            None,
        )
        .await
        .expect("runs");
    let n = engine()
        .after_cycle(&failed, now(), 10)
        .await
        .expect("notices");
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].kind, NoticeKind::CycleFailed);
    assert_eq!(n[0].title, "Discount cycle FAILED — Wed 25 Nov");
    assert!(n[0]
        .answer
        .answer
        .contains("Shopify API 503 after 5 attempts"));
    assert_eq!(cited(&n[0].answer), vec![runs[0].row_ref.to_string()]);
    // Not yet closed (RUNNING): nothing after the cycle; the watcher sees it stalled (3 h idle).
    assert!(engine()
        .after_cycle(&stalled, now(), 10)
        .await
        .expect("n")
        .is_empty());
    let w = engine().watch(now(), 10).await.expect("watch");
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].kind, NoticeKind::CycleStalled);
    assert!(
        w[0].answer
            .answer
            .starts_with("STALLED — the research cycle"),
        "{}",
        w[0].answer.answer
    );
    assert!(
        w[0].answer.answer.contains("3 h ago"),
        "{}",
        w[0].answer.answer
    );
    // Posted to the channel's webhook, once each.
    let got: std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>> = Default::default();
    let g = got.clone();
    let app = axum::Router::new().route(
        "/services/T1/B2/x",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let g = g.clone();
            async move {
                g.lock().expect("lock").push(v);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}/");
    let client = otto_slack::ResponseUrlClient::with_allowed_prefix(&base);
    let cfg = otto_slack::DigestConfig {
        webhook_url: format!("{base}services/T1/B2/x"),
        channel: Some("#otto-ops".into()),
        holds_threshold: 10,
    };
    let post = |n: Vec<otto_answers::digest::Notice>| {
        let (client, cfg, store) = (client.clone(), cfg.clone(), p.store.clone());
        async move { otto_answers::notify::post_new(&h.ports, &store, &client, &cfg, &n).await }
    };
    let first = post(w.clone()).await;
    assert_eq!((first.posted, first.repeated, first.failed), (1, 0, 0));
    let again = post(w).await;
    assert_eq!(
        (again.posted, again.repeated),
        (0, 1),
        "a stalled run is alerted once"
    );
    let sent = got.lock().expect("lock").clone();
    assert_eq!(sent.len(), 1);
    let text = sent[0].to_string();
    assert!(
        text.contains(":rotating_light: *Research cycle STALLED — Wed 25 Nov*"),
        "{text}"
    );
    assert!(text.contains(&format!(
        "https://otto.example/rows/cycle_runs/{}",
        runs[1].row_ref.seq
    )));
}

/// A campaign name several campaigns answer to ("the Jute budget" with a Jute campaign per
/// market) is answered with the matches, each by its newest row and cited — not refused, and
/// not one of them picked; a name with one more word of a campaign's picks that one.
pub async fn ambiguous_campaign_names_list_the_matches(h: &Harness) {
    let store = unique_store();
    let d24 = day("2026-11-24");
    let morning = CycleId::new(store.clone(), CycleKind::Morning, d24);
    let t: DateTime<Utc> = "2026-11-24T05:30:00Z".parse().expect("time");
    let ad = |id: &str, name: &str, action: &str, status: RowStatus| {
        let mut v = json!({"channel": "google_ads", "campaign": name, "campaign_id": id,
            "action": action, "verdict": "AGREE", "reasoning": "ROAS 52000bp ≥ target 40000bp",
            "figures": {"roas_bp": 52000, "target_roas_bp": 40000}});
        if action == "ADJUST_BUDGET" {
            v["budget_before"] = json!({"amount": "300.00", "currency": "EUR"});
            v["budget_after"] = json!({"amount": "330.00", "currency": "EUR"});
            v["rate_limit_position"] = json!([1, 8]);
        }
        NewRow::for_stage(
            morning.clone(),
            Stage::CampaignPlan,
            status,
            t,
            body(AuditTable::AdDecisionLog, v),
        )
    };
    let out = h
        .ports
        .audit
        .append(
            vec![
                ad(
                    "g-1",
                    "DE · Jute Rugs · Search",
                    "ADJUST_BUDGET",
                    RowStatus::Applied,
                ),
                ad("g-2", "AT · Jute Rugs · PMax", "KEEP", RowStatus::Skipped),
                ad(
                    "g-3",
                    "DE · Linen Bedding · Search",
                    "KEEP",
                    RowStatus::Skipped,
                ),
            ],
            None,
        )
        .await
        .expect("append");
    let refs: Vec<String> = out.iter().map(|a| a.row_ref.to_string()).collect();
    let p = Plane {
        store,
        refs: BTreeMap::new(),
    };
    let a = ask(h, &p, "why didn't you raise the Jute budget?").await;
    assert!(a.grounded, "{}", a.answer);
    assert!(a.answer.contains("matches 2 campaigns"), "{}", a.answer);
    for name in ["DE · Jute Rugs · Search", "AT · Jute Rugs · PMax"] {
        assert!(a.answer.contains(name), "{name} not in {}", a.answer);
    }
    assert!(!a.answer.contains("Linen"), "{}", a.answer);
    let mut want = vec![refs[0].clone(), refs[1].clone()];
    want.sort();
    assert_eq!(cited(&a), want);

    let one = ask(h, &p, "why didn't you raise the Jute PMax budget?").await;
    assert!(one.grounded, "{}", one.answer);
    assert_eq!(cited(&one), vec![refs[1].clone()], "{}", one.answer);

    let none = ask(h, &p, "why didn't you raise the Teak budget?").await;
    assert!(
        !none.grounded && none.answer.starts_with(NO_ROW),
        "{}",
        none.answer
    );
}

/// "How many budget changes this week?" when the week's only budget move was a dry run: the
/// answer is none, citing the proposal (not a refusal, not a count of the dry run as a change);
/// a week with no budget row at all is still refused.
pub async fn a_count_of_none_cites_what_was_proposed(h: &Harness) {
    let store = unique_store();
    let morning = CycleId::new(store.clone(), CycleKind::Morning, day("2026-11-24"));
    let row = NewRow::for_stage(
        morning,
        Stage::CampaignPlan,
        RowStatus::DryRun,
        "2026-11-24T05:00:00Z".parse().expect("time"),
        body(
            AuditTable::AdDecisionLog,
            json!({
            "channel": "google_ads", "campaign": "EU/Linen/Throws", "campaign_id": "2001",
            "action": "ADJUST_BUDGET", "verdict": "AGREE",
            "reasoning": "ROAS 52000bp ≥ target 40000bp, MER 41000 → 48000",
            "budget_before": {"amount": "300.00", "currency": "EUR"},
            "budget_after": {"amount": "345.00", "currency": "EUR"}}),
        ),
    );
    let r = h.ports.audit.append(vec![row], None).await.expect("append")[0]
        .row_ref
        .to_string();
    let p = Plane {
        store,
        refs: BTreeMap::new(),
    };
    let a = ask(h, &p, "how many budget changes have we made this week?").await;
    assert!(a.grounded, "{}", a.answer);
    assert!(
        a.answer
            .starts_with("None from Mon 23 Nov to Wed 25 Nov: no budget changes"),
        "{}",
        a.answer
    );
    assert!(
        a.answer.contains("1 proposed and not applied (1 DRY_RUN)"),
        "{}",
        a.answer
    );
    assert!(
        a.answer.contains("MER 4.1 → 4.8"),
        "an old row's bare MER in units: {}",
        a.answer
    );
    assert_eq!(cited(&a), vec![r]);
    let last_week = ask(h, &p, "how many budget changes did we make last week?").await;
    assert!(last_week.answer.starts_with(NO_ROW), "{}", last_week.answer);
}

/// A calibrate stage row of `on`, as the stage engine writes it (typed report).
fn calibrate_row(store: &StoreId, on: &str, winner_bp: i64, loser_bp: i64) -> NewRow {
    let cycle = CycleId::new(store.clone(), CycleKind::Morning, day(on));
    NewRow {
        natural_key: format!("{cycle}|calibrate|0"),
        cycle_id: cycle,
        status: RowStatus::Completed,
        created_at: format!("{on}T05:00:00Z").parse().expect("time"),
        body: body(
            AuditTable::StageRuns,
            json!({
            "stage": "calibrate", "chunk": 0, "chunks": 1,
            "report": {"stage": "calibrate", "skus": 240, "chunks": 1, "chunk_bounds": [],
                "thresholds": {"window_from": "2026-10-27", "window_to": "2026-11-23",
                    "method": "percentile_cont over ROAS (basis points), provisional days excluded",
                    "rules": {"window_days": 28, "min_impressions": 500, "min_spend_micros": 5000000,
                              "min_days": 7, "winner_percentile_bp": 7500, "loser_percentile_bp": 2500},
                    "n": 194, "insufficient": 46, "provisional_rows_excluded": 388,
                    "winner_floor_roas_bp": winner_bp, "loser_ceiling_roas_bp": loser_bp,
                    "median_roas_bp": 41000}}}),
        ),
    }
}

/// "What are the thresholds?" reads the self_calibrator's row — the latest, or the asked day's —
/// in ratios and percentiles (no basis points), and answers the same after export → import; a
/// day without a calibration is refused, naming the latest one.
pub async fn thresholds_come_from_the_calibrate_row(h: &Harness) {
    let store = unique_store();
    let rows = vec![
        calibrate_row(&store, "2026-11-24", 31000, 9000),
        calibrate_row(&store, "2026-11-25", 32500, 9500),
    ];
    let refs: Vec<String> = h
        .ports
        .audit
        .append(rows, None)
        .await
        .expect("append")
        .iter()
        .map(|a| a.row_ref.to_string())
        .collect();
    let p = Plane {
        store: store.clone(),
        refs: BTreeMap::new(),
    };
    let latest = ask(h, &p, "what are the thresholds?").await;
    assert!(latest.grounded, "{}", latest.answer);
    assert_eq!(cited(&latest), vec![refs[1].clone()]);
    for says in [
        "on Wed 25 Nov",
        "a WINNER needs ROAS ≥ 3.3 (the 75th percentile)",
        "a LOSER has ROAS ≤ 1.0 (the 25th percentile)",
        "median ROAS 4.1",
        "over 194 SKUs",
        "the 28 days from Tue 27 Oct to Mon 23 Nov",
        "46 SKUs left out",
    ] {
        assert!(latest.answer.contains(says), "{says}: {}", latest.answer);
    }
    assert!(!latest.answer.contains("bp"), "{}", latest.answer);
    let yesterday = ask(h, &p, "what was the winner floor yesterday?").await;
    assert_eq!(
        cited(&yesterday),
        vec![refs[0].clone()],
        "{}",
        yesterday.answer
    );
    assert!(
        yesterday.answer.contains("ROAS ≥ 3.1"),
        "{}",
        yesterday.answer
    );
    let none = ask(h, &p, "what were the thresholds on 2026-11-20?").await;
    assert!(none.answer.starts_with(NO_ROW), "{}", none.answer);
    assert_eq!(
        cited(&none),
        vec![refs[1].clone()],
        "the latest as the nearest row"
    );
    let margin = ask(h, &p, "what is the margin floor?").await;
    assert!(margin.answer.starts_with(NO_ROW), "{}", margin.answer);
    // The same answer from an empty store the rows were imported into.
    let exported = crate::answers_set::export(h, &store).await;
    let fresh = crate::harness::embedded().await.expect("empty store");
    fresh.ports.audit.import(exported).await.expect("import");
    let again = ask(&fresh, &p, "what are the thresholds?").await;
    assert_eq!(
        (cited(&again), again.answer),
        (cited(&latest), latest.answer)
    );
}
