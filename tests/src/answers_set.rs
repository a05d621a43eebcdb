//! Otto's own question set: a fixture store built unlike the demo (another store, SKU naming,
//! campaign naming, currency — SEK — and time zone — Europe/Stockholm —, five weeks of rows, a
//! failed run, a day without a cycle, held rows in three tables) and 200+ operator questions —
//! paraphrases, dates, entities, aggregates, off-topic — each with its known correct answer,
//! computed from the fixture's own facts (never from the engine): the exact rows an answer must
//! cite and the figures it must say, or that it must be refused. Scored; the suite fails below
//! 95% correct or if any unanswerable question is answered. The same questions are asked again
//! after export → import into an empty store and must give the same answers.

use crate::Harness;
use chrono::{DateTime, Utc};
use otto_answers::{Answer, Engine, NO_ROW};
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind, Stage};
use otto_core::{RowStatus, StoreClock, StoreDay, StoreId};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const TZ: &str = "Europe/Stockholm";
/// "Today" in the store: Wednesday 4 November 2026, 10:00 in Stockholm.
pub fn now() -> DateTime<Utc> {
    "2026-11-04T09:00:00Z".parse().expect("time")
}
pub fn today() -> StoreDay {
    day("2026-11-04")
}
fn day(s: &str) -> StoreDay {
    StoreDay::parse(s).expect("day")
}
fn clock() -> StoreClock {
    StoreClock::new(TZ).expect("tz")
}
/// The first day with rows (a Monday), five weeks before today's week.
fn first_day() -> StoreDay {
    day("2026-10-05")
}
/// A day the morning cycle did not run (no rows at all).
pub fn no_cycle_day() -> StoreDay {
    day("2026-10-18")
}
/// A day the morning cycle failed.
pub fn failed_day() -> StoreDay {
    day("2026-10-21")
}

pub const SKUS: [&str; 12] = [
    "FJ-ULL-001-GRA",
    "FJ-ULL-002-SVA",
    "FJ-ULL-003-ROD",
    "FJ-ULL-004-VIT",
    "FJ-LIN-005-GRA",
    "FJ-LIN-006-SVA",
    "FJ-LIN-007-ROD",
    "FJ-LIN-008-VIT",
    "FJ-KER-009-GRA",
    "FJ-KER-010-SVA",
    "FJ-KER-011-ROD",
    "FJ-KER-012-VIT",
];

/// (id, name, channel)
pub const CAMPAIGNS: [(&str, &str, &str); 4] = [
    ("c-7001", "SE · Wool Blankets · Search", "google_ads"),
    ("c-7002", "SE · Linen Bedding · Shopping", "google_ads"),
    ("c-7003", "NO · Ceramics · PMax", "google_ads"),
    ("c-7004", "SE · Jute Rugs · Search", "google_ads"),
];

/// One fact the fixture wrote, kept for computing the truth.
#[derive(Debug, Clone)]
pub struct Fact {
    pub r: String,
    pub table: AuditTable,
    pub day: StoreDay,
    pub action: String,
    pub status: RowStatus,
    pub subject: String,
    pub class: Option<String>,
    pub percent_bp: Option<u32>,
    pub ends_on: Option<StoreDay>,
    pub change: Option<String>,
    /// A budget move's after − before, in whole SEK.
    pub delta: Option<i64>,
    pub kind: Option<CycleKind>,
}

pub struct Fixture {
    pub store: StoreId,
    pub facts: Vec<Fact>,
}

fn body(table: AuditTable, v: Value) -> RowBody {
    RowBody::from_json(table, v).expect("fixture body")
}

fn sek(amount: i64) -> Value {
    json!({"amount": format!("{}.00", amount), "currency": "SEK"})
}

fn action_for(di: i64, si: usize) -> &'static str {
    let si = si as i64;
    if (di + si) % 11 == 0 {
        "DRAFT"
    } else if (di * 3 + si) % 17 == 0 {
        "PUBLISH"
    } else if (di + 2 * si) % 13 == 0 {
        "DISCOUNT_TEST"
    } else {
        "KEEP"
    }
}

fn class_for(action: &str, si: usize) -> &'static str {
    match action {
        "DRAFT" | "DISCOUNT_TEST" => "LOSER",
        "PUBLISH" => "WINNER",
        _ => ["WINNER", "MID", "MID", "LOSER"][si % 4],
    }
}

struct Builder<'h> {
    h: &'h Harness,
    store: StoreId,
    facts: Vec<Fact>,
}

impl Builder<'_> {
    async fn add(&mut self, rows: Vec<(NewRow, Fact)>) -> Vec<String> {
        let (new, facts): (Vec<NewRow>, Vec<Fact>) = rows.into_iter().unzip();
        if new.is_empty() {
            return vec![];
        }
        let out = self.h.ports.audit.append(new, None).await.expect("append");
        let mut refs = Vec::new();
        for (a, mut f) in out.into_iter().zip(facts) {
            assert!(a.inserted, "fixture rows are unique");
            f.r = a.row_ref.to_string();
            refs.push(f.r.clone());
            self.facts.push(f);
        }
        refs
    }
}

fn fact(table: AuditTable, d: StoreDay, action: &str, status: RowStatus, subject: &str) -> Fact {
    Fact {
        r: String::new(),
        table,
        day: d,
        action: action.into(),
        status,
        subject: subject.into(),
        class: None,
        percent_bp: None,
        ends_on: None,
        change: None,
        delta: None,
        kind: None,
    }
}

fn at(d: StoreDay, h: u32, m: u32) -> DateTime<Utc> {
    clock().at_local(d, h, m).expect("local time")
}

/// Writes the fixture store into `h`.
pub async fn build(h: &Harness) -> Fixture {
    let store = StoreId::new(format!(
        "fjallhus-{}",
        ulid::Ulid::new().to_string().to_lowercase()
    ))
    .expect("store");
    let mut b = Builder {
        h,
        store: store.clone(),
        facts: Vec::new(),
    };
    let mut open: Vec<(usize, StoreDay, StoreDay, u32)> = Vec::new(); // sku, start, end, bp
    let mut budgets: [i64; 4] = [2400, 1800, 950, 600];
    let mut week_used: BTreeMap<String, u32> = BTreeMap::new();
    let last = today().days_since(first_day());
    for di in 0..=last {
        let d = first_day().plus_days(di);
        if d == no_cycle_day() {
            continue;
        }
        morning(&mut b, di, d, &mut budgets, &mut week_used).await;
        discount(&mut b, di, d, &mut open).await;
        cs(&mut b, di, d).await;
    }
    research(&mut b).await;
    Fixture {
        store,
        facts: b.facts,
    }
}

async fn morning(
    b: &mut Builder<'_>,
    di: i64,
    d: StoreDay,
    budgets: &mut [i64; 4],
    week_used: &mut BTreeMap<String, u32>,
) {
    let cycle = CycleId::new(b.store.clone(), CycleKind::Morning, d);
    let t = at(d, 6, 0);
    let mut rows = Vec::new();
    for (si, sku) in SKUS.iter().enumerate() {
        let action = action_for(di, si);
        let class = class_for(action, si);
        let (status, hold) = if action == "KEEP" {
            (RowStatus::Skipped, None)
        } else {
            (RowStatus::Applied, None::<&str>)
        };
        let reasoning = match action {
            "DRAFT" => "LOSER for 28 days: unpublish",
            "PUBLISH" => "WINNER in DRAFT: publish",
            "DISCOUNT_TEST" => "two cycles without lift",
            _ => "no change",
        };
        let mut v = json!({"sku": sku, "action": action, "classification": class,
            "reasoning": reasoning, "figures": {"roas_bp": 12000 + (si as i64) * 1500}});
        if action == "DISCOUNT_TEST" {
            v["trigger"] = json!("OPTIMIZE_CYCLE_FAILED");
        }
        if let Some(hr) = hold {
            v["hold_reason"] = json!(hr);
        }
        let mut f = fact(AuditTable::DecisionLog, d, action, status, sku);
        f.class = Some(class.into());
        rows.push((
            NewRow::for_stage(
                cycle.clone(),
                Stage::Decide,
                status,
                t,
                body(AuditTable::DecisionLog, v),
            ),
            f,
        ));
    }
    // Today: one held REVIVE_SEASONAL (the kill switch was flipped during the manual import);
    // eight days ago: a held PUBLISH nobody released.
    if d == today() || d == today().plus_days(-8) {
        let (sku, action, why) = if d == today() {
            (
                "FJ-KER-013-BLA",
                "REVIVE_SEASONAL",
                "kill switch flipped at 05:40 during the manual import",
            )
        } else {
            (
                "FJ-LIN-014-BLA",
                "PUBLISH",
                "external edit: the product was changed in Shopify after the decision",
            )
        };
        let v = json!({"sku": sku, "action": action, "classification": "MID",
            "reasoning": "seasonal demand returns", "hold_reason": why});
        let mut f = fact(AuditTable::DecisionLog, d, action, RowStatus::Held, sku);
        f.class = Some("MID".into());
        rows.push((
            NewRow::for_stage(
                cycle.clone(),
                Stage::Decide,
                RowStatus::Held,
                t,
                body(AuditTable::DecisionLog, v),
            ),
            f,
        ));
    }
    let failed = d == failed_day();
    let decision_refs = if failed { vec![] } else { b.add(rows).await };
    let ad = if failed {
        (0, 0, 0)
    } else {
        ads(b, &cycle, d, t, budgets, week_used).await
    };
    let facts: Vec<Fact> = b
        .facts
        .iter()
        .filter(|f| decision_refs.contains(&f.r))
        .cloned()
        .collect();
    let mut by_action: BTreeMap<String, u32> = BTreeMap::new();
    let mut by_status: BTreeMap<String, u32> = BTreeMap::new();
    for f in &facts {
        *by_action.entry(f.action.clone()).or_default() += 1;
        *by_status.entry(f.status.to_string()).or_default() += 1;
    }
    let held: Vec<&String> = facts
        .iter()
        .filter(|f| f.status == RowStatus::Held)
        .map(|f| &f.r)
        .collect();
    let (proposals, agreed, moves) = ad;
    let agreement = (agreed * 10000).checked_div(proposals).unwrap_or(0);
    let (status, figures, error) = if failed {
        (
            RowStatus::Failed,
            json!({}),
            Some("performance_sync: Google Ads API quota exhausted"),
        )
    } else {
        (
            RowStatus::Completed,
            json!({"summary": {"decision_rows": facts.len(), "by_action": by_action, "by_status": by_status,
                "ad_proposals": proposals, "ad_agreed": agreed, "ad_moves": moves, "ad_held": 0,
                "judge_agreement_bp": agreement, "held_rows": held}}),
            None,
        )
    };
    let mut v = json!({"kind": "morning", "apply": true, "scheduled_time": t.to_rfc3339(), "figures": figures});
    if let Some(e) = error {
        v["error"] = json!(e);
    }
    let mut f = fact(AuditTable::CycleRuns, d, "morning", status, "morning");
    f.kind = Some(CycleKind::Morning);
    b.add(vec![(
        NewRow {
            cycle_id: cycle.clone(),
            natural_key: cycle.to_string(),
            status,
            created_at: t,
            body: body(AuditTable::CycleRuns, v),
        },
        f,
    )])
    .await;
}

/// Budget moves on Mondays and Thursdays. Returns (proposals, agreed, applied).
async fn ads(
    b: &mut Builder<'_>,
    cycle: &CycleId,
    d: StoreDay,
    t: DateTime<Utc>,
    budgets: &mut [i64; 4],
    week_used: &mut BTreeMap<String, u32>,
) -> (u32, u32, u32) {
    use chrono::Datelike;
    let wd = d.date().weekday().num_days_from_monday();
    if wd != 0 && wd != 3 {
        return (0, 0, 0);
    }
    let week = d.iso_week();
    let mut rows = Vec::new();
    let (mut agreed, mut applied) = (0, 0);
    for (ci, (id, name, channel)) in CAMPAIGNS.iter().enumerate() {
        let jute = ci == 3;
        let held = ci == 1 && d == day("2026-10-29");
        let step_pct: i64 = [12, 18, 8, 15][ci];
        let before = budgets[ci];
        let after = before + before * step_pct / 100;
        let used = week_used.entry(week.clone()).or_default();
        let (status, verdict, hold) = if jute {
            (
                RowStatus::Refused,
                "DISAGREE",
                Some("judge: ROAS below target for 14 days"),
            )
        } else if held {
            (
                RowStatus::Held,
                "AGREE",
                Some("kill switch on during the budget sync"),
            )
        } else {
            (RowStatus::Applied, "AGREE", None)
        };
        if verdict == "AGREE" {
            agreed += 1;
            *used += 1;
        }
        if status == RowStatus::Applied {
            applied += 1;
            budgets[ci] = after;
        }
        let mer_before = 38000 + (ci as i64) * 2500;
        let mut v = json!({"channel": channel, "campaign": name, "campaign_id": id,
            "action": "ADJUST_BUDGET", "verdict": verdict,
            "reasoning": format!("MER {}bp → {}bp over the 14d window", mer_before, mer_before + 4000),
            "figures": {"mer_before_bp": mer_before, "mer_after_bp": mer_before + 4000,
                        "roas_bp": if jute {21000} else {46000 + (ci as i64) * 1000},
                        "target_roas_bp": 35000,
                        "search_impr_share_headroom_bp": 3800 - (ci as i64) * 500,
                        "competitor_overlap_delta_bp": -900,
                        "spend": sek(before * 14)},
            "budget_before": sek(before), "budget_after": sek(after),
            "rate_limit_position": [*used, 8]});
        if let Some(hr) = hold {
            v["hold_reason"] = json!(hr);
        }
        if status == RowStatus::Applied {
            v["reversal_op"] = json!({"op": "campaign_budget", "customer_id": "555-0100",
                "budget_resource": format!("customers/5550100/campaignBudgets/{id}"), "amount": sek(before)});
        }
        let mut f = fact(AuditTable::AdDecisionLog, d, "ADJUST_BUDGET", status, id);
        f.change = Some(format!("{step_pct}"));
        f.delta = Some(after - before);
        rows.push((
            NewRow::for_stage(
                cycle.clone(),
                Stage::CampaignPlan,
                status,
                t,
                body(AuditTable::AdDecisionLog, v),
            ),
            f,
        ));
    }
    b.add(rows).await;
    (CAMPAIGNS.len() as u32, agreed, applied)
}

/// The discount cycle: a window opens the day after a DISCOUNT_TEST and is restored 14 days on.
async fn discount(
    b: &mut Builder<'_>,
    di: i64,
    d: StoreDay,
    open: &mut Vec<(usize, StoreDay, StoreDay, u32)>,
) {
    let cycle = CycleId::new(b.store.clone(), CycleKind::Discount, d);
    let t = at(d, 16, 0);
    let mut rows = Vec::new();
    for (si, sku) in SKUS.iter().enumerate() {
        if di > 0 && action_for(di - 1, si) == "DISCOUNT_TEST" {
            let bp = 1000 + (si as u32 % 3) * 500;
            let ends = d.plus_days(14);
            let v = json!({"sku": sku, "action": "ON_DISCOUNT", "trigger": "OPTIMIZE_CYCLE_FAILED",
                "reasoning": "discount test after two cycles without lift",
                "window": {"percent_bp": bp, "starts_on": d.to_string(), "ends_on": ends.to_string()},
                "reversal_op": {"op": "variant_price", "product_id": format!("gid://shopify/Product/{}", 900 + si),
                    "variant_id": format!("gid://shopify/ProductVariant/{}", 9000 + si),
                    "price": sek(499), "compare_at_price": null}});
            let restored = ends <= today();
            let status = if restored {
                RowStatus::Reverted
            } else {
                RowStatus::Applied
            };
            let mut f = fact(AuditTable::DecisionLog, d, "ON_DISCOUNT", status, sku);
            f.percent_bp = Some(bp);
            f.ends_on = Some(ends);
            rows.push((
                NewRow::for_stage(
                    cycle.clone(),
                    Stage::Open,
                    status,
                    t,
                    body(AuditTable::DecisionLog, v),
                ),
                f,
            ));
            open.push((si, d, ends, bp));
        }
    }
    let due: Vec<(usize, StoreDay, StoreDay, u32)> =
        open.iter().filter(|w| w.2 == d).cloned().collect();
    open.retain(|w| w.2 != d);
    for (si, start, _, _) in due {
        let v = json!({"sku": SKUS[si], "action": "PRICE_RESTORE",
            "reasoning": format!("window from {start} passed its TTL: stored reversal replayed")});
        rows.push((
            NewRow::for_stage(
                cycle.clone(),
                Stage::Revert,
                RowStatus::Applied,
                t,
                body(AuditTable::DecisionLog, v),
            ),
            fact(
                AuditTable::DecisionLog,
                d,
                "PRICE_RESTORE",
                RowStatus::Applied,
                SKUS[si],
            ),
        ));
    }
    let n = rows.len();
    b.add(rows).await;
    let v = json!({"kind": "discount", "apply": true, "scheduled_time": t.to_rfc3339(),
        "figures": {"summary": {"windows_touched": n}}});
    let mut f = fact(
        AuditTable::CycleRuns,
        d,
        "discount",
        RowStatus::Completed,
        "discount",
    );
    f.kind = Some(CycleKind::Discount);
    b.add(vec![(
        NewRow {
            cycle_id: cycle.clone(),
            natural_key: cycle.to_string(),
            status: RowStatus::Completed,
            created_at: t,
            body: body(AuditTable::CycleRuns, v),
        },
        f,
    )])
    .await;
}

pub fn thread_id(di: i64, k: i64) -> String {
    format!("case-{}", 4100 + di * 3 + k)
}

async fn cs(b: &mut Builder<'_>, di: i64, d: StoreDay) {
    let cycle = CycleId::with_slot(b.store.clone(), CycleKind::Cs, d, 9 * 60);
    let t = at(d, 9, 0);
    let recent = today().days_since(d) < 7;
    let mut rows = Vec::new();
    for k in 0..3 {
        let thread = thread_id(di, k);
        let (verdict, status, extra) = match (di * 3 + k) % 7 {
            0 => (
                "ESCALATED_REFUND",
                RowStatus::Recorded,
                json!({"amount": sek(5200 + di * 10), "category": "refund",
                         "reason": "refund above 5000.00 SEK: escalated by policy, never auto-resolved"}),
            ),
            3 => (
                "HOLD_TONE",
                if recent {
                    RowStatus::Held
                } else {
                    RowStatus::Skipped
                },
                json!({"reason": "brand_voice 7800bp vs centroid, below the 8500bp floor"}),
            ),
            5 => (
                "HOLD_LANGUAGE",
                if recent {
                    RowStatus::Held
                } else {
                    RowStatus::Skipped
                },
                json!({"language": "fi", "reason": "drafted in fi; languages_allowed_for_send is sv + en"}),
            ),
            _ => (
                "SEND",
                RowStatus::Applied,
                json!({"reason": "reply judged on-voice and sent"}),
            ),
        };
        let mut v = json!({"thread_id": thread, "draft_version": "v1", "verdict": verdict});
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        rows.push((
            NewRow {
                cycle_id: cycle.clone(),
                natural_key: format!("cs|{}|{thread}|v1", b.store),
                status,
                created_at: t,
                body: body(AuditTable::CsThreadEvaluations, v),
            },
            fact(AuditTable::CsThreadEvaluations, d, verdict, status, &thread),
        ));
    }
    b.add(rows).await;
}

async fn research(b: &mut Builder<'_>) {
    let d = today().plus_days(-1);
    let cycle = CycleId::new(b.store.clone(), CycleKind::Research, d);
    let t = at(d, 11, 0);
    let mut rows = Vec::new();
    for i in 0..30u32 {
        let key = format!("idea-{i:02}");
        let status = if i < 25 {
            RowStatus::Queued
        } else {
            RowStatus::Approved
        };
        let lane = ["meta_library", "aliexpress", "organic"][i as usize % 3];
        let v = json!({"candidate_key": key, "title": format!("Hand-thrown mug no. {i}"),
            "lane": lane,
            "score_bp": 9000 - i * 150, "review": status.to_string()});
        rows.push((
            NewRow::for_stage(
                cycle.clone(),
                Stage::Queue,
                status,
                t,
                body(AuditTable::ResearchCandidates, v),
            ),
            fact(AuditTable::ResearchCandidates, d, "queue", status, &key),
        ));
    }
    b.add(rows).await;
}

// ---------------------------------------------------------------------------------------------
// The question set

/// What a correct answer is.
#[derive(Debug, Clone)]
pub enum Expect {
    /// "I don't have a row for that." — the question cannot be answered from rows.
    Refuse,
    /// Grounded, citing exactly these rows (or at least them, when `exact` is false), saying
    /// every one of `says`.
    Answer {
        cites: BTreeSet<String>,
        exact: bool,
        says: Vec<String>,
    },
}

pub struct Case {
    pub q: String,
    pub expect: Expect,
}

fn refs<'f>(it: impl IntoIterator<Item = &'f Fact>) -> BTreeSet<String> {
    it.into_iter().map(|f| f.r.clone()).collect()
}

fn seq(r: &str) -> u64 {
    otto_core::audit::RowRef::parse(r)
        .map(|x| x.seq)
        .unwrap_or(0)
}

fn monday(d: StoreDay) -> StoreDay {
    use chrono::Datelike;
    d.plus_days(-i64::from(d.date().weekday().num_days_from_monday()))
}

fn answer(cites: BTreeSet<String>, exact: bool, says: &[String]) -> Expect {
    if cites.is_empty() {
        return Expect::Refuse;
    }
    Expect::Answer {
        cites,
        exact,
        says: says.to_vec(),
    }
}

fn by_action_says(facts: &[&Fact]) -> Vec<String> {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for f in facts {
        *by.entry(f.action.as_str()).or_default() += 1;
    }
    by.iter().map(|(a, n)| format!("{n} {a}")).collect()
}

/// The question set with its truth, from the fixture's facts.
pub fn cases(fx: &Fixture) -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |q: String, expect: Expect| out.push(Case { q, expect });
    let f = &fx.facts;
    let t = today();
    let m = monday(t);
    let dec = |f: &&Fact| f.table == AuditTable::DecisionLog;

    // A. A SKU's history: every row cited, every kind of move named (any case).
    for sku in SKUS {
        let rows: Vec<&Fact> = f.iter().filter(dec).filter(|x| x.subject == sku).collect();
        let moves: Vec<&Fact> = rows
            .iter()
            .copied()
            .filter(|x| x.action != "KEEP")
            .collect();
        let mut says: Vec<String> = moves.iter().map(|x| x.action.clone()).collect();
        says.sort();
        says.dedup();
        says.push(format!("{} rows", rows.len()));
        for q in [
            format!("what happened to {sku}?"),
            format!("history of {}", sku.to_lowercase()),
            format!("Show me everything on SKU {sku}"),
        ] {
            add(q, answer(refs(rows.iter().copied()), true, &says));
        }
    }
    // B. Counts of catalog moves per period.
    let periods: Vec<(&str, StoreDay, StoreDay)> = vec![
        ("this week", m, t),
        ("last week", m.plus_days(-7), m.plus_days(-1)),
        ("this month", day("2026-11-01"), t),
        ("since Monday", m, t),
        ("in the last 14 days", t.plus_days(-13), t),
        ("last month", day("2026-10-01"), day("2026-10-31")),
    ];
    let phr: [(&str, &str); 5] = [
        ("DRAFT", "how many SKUs did we draft {p}?"),
        ("PUBLISH", "how many products were published {p}?"),
        ("DISCOUNT_TEST", "how many discount tests {p}?"),
        ("ON_DISCOUNT", "how many SKUs went on discount {p}?"),
        ("PRICE_RESTORE", "how many price restores {p}?"),
    ];
    for (action, tpl) in phr {
        for (p, a, b) in &periods {
            let rows: Vec<&Fact> = f
                .iter()
                .filter(dec)
                .filter(|x| x.action == action && *a <= x.day && x.day <= *b)
                .collect();
            let says = vec![format!("{} ", rows.len())];
            add(tpl.replace("{p}", p), answer(refs(rows), true, &says));
        }
    }
    // C. Budget changes made (applied or since reverted) per period.
    let budget = |a: StoreDay, b: StoreDay| -> Vec<&Fact> {
        f.iter()
            .filter(|x| x.table == AuditTable::AdDecisionLog && x.action == "ADJUST_BUDGET")
            .filter(|x| matches!(x.status, RowStatus::Applied | RowStatus::Reverted))
            .filter(|x| a <= x.day && x.day <= b)
            .collect()
    };
    for (p, a, b) in &periods {
        let rows = budget(*a, *b);
        let says = vec![format!("{} budget changes", rows.len())];
        for q in [
            format!("how many budget changes have we made {p}?"),
            format!("number of budget changes {p}"),
        ] {
            add(q, answer(refs(rows.clone()), true, &says));
        }
    }
    {
        let now_rows = budget(m, t);
        let prev = budget(m.plus_days(-7), m.plus_days(-1));
        let word = match now_rows.len().cmp(&prev.len()) {
            std::cmp::Ordering::Greater => "More",
            std::cmp::Ordering::Less => "Fewer",
            std::cmp::Ordering::Equal => "The same number of",
        };
        let all: BTreeSet<String> = refs(now_rows.iter().chain(prev.iter()).copied());
        add(
            "did we make more budget changes this week than last week?".into(),
            answer(all.clone(), true, &[word.to_string()]),
        );
        add(
            "budget changes this week compared to last week".into(),
            answer(all, true, &[word.to_string()]),
        );
    }
    // C2. Sums of budget changes made.
    for (p, a, b) in &periods {
        let rows = budget(*a, *b);
        let total: i64 = rows.iter().map(|x| x.delta.unwrap_or(0)).sum();
        let says = vec![format!("up by {total}.00 SEK in total")];
        add(
            format!("how much did we add to budgets {p}?"),
            answer(refs(rows), true, &says),
        );
    }
    // D. A campaign's budget story: the latest budget move, its change, the rate-limit week.
    for (id, name, _) in CAMPAIGNS {
        let latest = f
            .iter()
            .filter(|x| x.table == AuditTable::AdDecisionLog && x.subject == id)
            .max_by_key(|x| x.day)
            .expect("campaign rows");
        let short: String = name.split(" · ").nth(1).unwrap_or(name).to_string();
        let mut says = vec![format!("+{}%", latest.change.clone().unwrap_or_default())];
        if id == "c-7004" {
            says.push("did not raise".into());
        } else {
            says.push("of 8 budget changes used in the week of".into());
        }
        let cites: BTreeSet<String> = [latest.r.clone()].into();
        for q in [
            format!("why is spend on {short} what it is?"),
            format!("what happened to the {} budget?", short.to_lowercase()),
            format!("tell me about campaign {id}"),
            format!(
                "why didn't you raise the {} budget?",
                short.split(' ').next().unwrap_or("")
            ),
        ] {
            add(q, answer(cites.clone(), false, &says));
        }
    }
    // D2. A held budget move from last week: its rate-limit position is counted in the week of
    // the move (applied budget changes that week), not read from the decision-time figure.
    {
        let held_day = day("2026-10-29");
        let held = f
            .iter()
            .find(|x| x.subject == "c-7002" && x.day == held_day)
            .expect("held budget row");
        let wk = monday(held_day);
        let used = budget(wk, wk.plus_days(6));
        let says = vec![
            "is held".to_string(),
            format!(
                "{} of 8 budget changes used in the week of Mon 26 Oct",
                used.len()
            ),
        ];
        for q in [
            "tell me about campaign c-7002 on October 29",
            "what happened to the Linen Bedding budget on Thursday October 29?",
        ] {
            add(q.into(), answer([held.r.clone()].into(), false, &says));
        }
    }
    // E. Held rows, every table, with how to release.
    let held: Vec<&Fact> = f
        .iter()
        .filter(|x| x.status == RowStatus::Held)
        .filter(|x| x.table != AuditTable::CycleRuns)
        .collect();
    for q in [
        "what's held?",
        "anything waiting on me?",
        "which rows are held and how do I release them?",
        "show held rows",
        "what is on hold right now",
    ] {
        add(
            q.into(),
            answer(
                refs(held.clone()),
                true,
                &["Resolve to release".to_string()],
            ),
        );
    }
    add(
        "how many held rows are there?".into(),
        answer(refs(held.clone()), true, &[format!("{} ", held.len())]),
    );
    // F. CS: escalations and holds per day; a thread's verdicts; threads that do not exist.
    let cs_days: Vec<(String, StoreDay)> = vec![
        ("today".into(), t),
        ("yesterday".into(), t.plus_days(-1)),
        ("on Monday".into(), m),
        ("last Friday".into(), m.plus_days(-3)),
        ("on October 27".into(), day("2026-10-27")),
        ("on 2026-10-20".into(), day("2026-10-20")),
    ];
    for (p, d) in &cs_days {
        let rows: Vec<&Fact> = f
            .iter()
            .filter(|x| x.table == AuditTable::CsThreadEvaluations && x.day == *d)
            .filter(|x| {
                x.status == RowStatus::Held
                    || x.action.starts_with("ESCALAT")
                    || x.action.starts_with("HOLD")
            })
            .collect();
        let n = rows.len();
        let says = vec![if n == 1 {
            "1 thread".to_string()
        } else {
            format!("{n} threads")
        }];
        add(
            format!("what's escalated {p}?"),
            answer(refs(rows.clone()), true, &says),
        );
        add(
            format!("which support threads need me {p}?"),
            answer(refs(rows), true, &says),
        );
    }
    for (di, k) in [(3, 0), (10, 1), (20, 2), (29, 1), (30, 0)] {
        let id = thread_id(di, k);
        let rows: Vec<&Fact> = f.iter().filter(|x| x.subject == id).collect();
        let verdict = rows.first().map(|x| x.action.clone()).unwrap_or_default();
        add(
            format!("what happened to thread {id}?"),
            answer(refs(rows.clone()), true, std::slice::from_ref(&verdict)),
        );
        add(
            format!("show thread {}", id.to_uppercase()),
            answer(refs(rows), true, &[verdict]),
        );
    }
    for id in ["case-9999", "case-0001", "T-9001"] {
        add(format!("what happened to thread {id}?"), Expect::Refuse);
    }
    // G. Classifications: the latest classification run.
    for (q, class) in [
        ("which products are losers?", "LOSER"),
        ("which SKUs are losing right now", "LOSER"),
        ("list the winners", "WINNER"),
        ("which products are winners?", "WINNER"),
        ("which SKUs are classified mid?", "MID"),
    ] {
        let rows: Vec<&Fact> = f
            .iter()
            .filter(dec)
            .filter(|x| x.day == t && x.class.as_deref() == Some(class))
            .collect();
        add(q.into(), answer(refs(rows), true, &[class.to_string()]));
    }
    // H. Cycle summaries on a day named every way.
    let runs = |d: StoreDay| -> Vec<&Fact> {
        f.iter()
            .filter(|x| {
                x.table == AuditTable::CycleRuns && x.kind == Some(CycleKind::Morning) && x.day == d
            })
            .collect()
    };
    let summary_days: Vec<(String, StoreDay)> = vec![
        ("How did the morning cycle go?".into(), t),
        ("how did this morning go?".into(), t),
        ("how did yesterday's run go?".into(), t.plus_days(-1)),
        (
            "how did the morning go on October 26?".into(),
            day("2026-10-26"),
        ),
        (
            "how did the morning cycle go last Friday?".into(),
            m.plus_days(-3),
        ),
        ("how did Monday's run go?".into(), m),
        ("how did the morning go on the 21st?".into(), failed_day()),
        ("morning summary for 2026-10-14".into(), day("2026-10-14")),
        (
            "how did the morning go on 30 Oct?".into(),
            day("2026-10-30"),
        ),
        (
            "how did the morning go on October 18?".into(),
            no_cycle_day(),
        ),
        (
            "how did the morning go on 2026-09-01?".into(),
            day("2026-09-01"),
        ),
    ];
    for (q, d) in summary_days {
        let rs = runs(d);
        let mut says = vec![];
        if d == failed_day() {
            says.push("quota exhausted".to_string());
        } else if !rs.is_empty() {
            says.push("decision rows".to_string());
        }
        add(q, answer(refs(rs), false, &says));
    }
    // I. What moved on the catalog.
    let moved: Vec<(String, StoreDay, StoreDay)> = vec![
        ("What moved on the catalog this morning?".into(), t, t),
        (
            "what moved yesterday?".into(),
            t.plus_days(-1),
            t.plus_days(-1),
        ),
        (
            "what changed on the catalog on October 28?".into(),
            day("2026-10-28"),
            day("2026-10-28"),
        ),
        (
            "what moved on the catalog last week?".into(),
            m.plus_days(-7),
            m.plus_days(-1),
        ),
        (
            "what moved on the catalog on October 18?".into(),
            no_cycle_day(),
            no_cycle_day(),
        ),
        ("catalog moves since Monday".into(), m, t),
    ];
    for (q, a, b) in moved {
        let rows: Vec<&Fact> = f
            .iter()
            .filter(dec)
            .filter(|x| x.action != "KEEP" && a <= x.day && x.day <= b)
            .collect();
        let says = by_action_says(&rows);
        add(q, answer(refs(rows), true, &says));
    }
    // J. Open discount windows (from the audit plane only).
    let open: Vec<&Fact> = f
        .iter()
        .filter(|x| x.action == "ON_DISCOUNT" && x.status == RowStatus::Applied)
        .collect();
    for q in [
        "which discount windows are open?",
        "which discounts are open right now?",
        "when do the open discount windows end?",
    ] {
        add(
            q.into(),
            answer(
                refs(open.clone()),
                true,
                &["reversal pre-stored".to_string()],
            ),
        );
    }
    // K. Research candidates: every queued one cited, paged.
    let queued: Vec<&Fact> = f.iter().filter(|x| x.status == RowStatus::Queued).collect();
    for q in [
        "what research candidates are queued?",
        "show me the candidate queue",
        "which candidates are waiting for review?",
    ] {
        add(
            q.into(),
            answer(refs(queued.clone()), true, &["and 5 more".to_string()]),
        );
    }
    // L. Rows by ref; refs that do not exist.
    for (i, x) in f.iter().enumerate().filter(|(i, _)| i % 97 == 5).take(10) {
        let q = if i % 2 == 0 {
            format!("show me {}", x.r)
        } else {
            format!("what is {}?", x.r)
        };
        add(q, answer([x.r.clone()].into(), true, &[]));
    }
    for q in [
        "show me decision_log#999999",
        "what is cs_thread_evaluations#88888?",
        "ad_decision_log#424242",
    ] {
        add(q.into(), Expect::Refuse);
    }
    // M. Largest single moves.
    for (q, a, b) in [
        (
            "what was the largest discount last week?",
            m.plus_days(-7),
            m.plus_days(-1),
        ),
        ("biggest discount this month?", day("2026-11-01"), t),
        (
            "largest discount last month",
            day("2026-10-01"),
            day("2026-10-31"),
        ),
    ] {
        let best = f
            .iter()
            .filter(|x| x.action == "ON_DISCOUNT" && a <= x.day && x.day <= b)
            .max_by_key(|x| (x.percent_bp, std::cmp::Reverse(seq(&x.r))));
        add(
            q.into(),
            answer(
                best.map(|x| x.r.clone()).into_iter().collect(),
                true,
                &["Largest single move".into()],
            ),
        );
    }
    // N. Greetings and help.
    add(
        "hi otto".into(),
        answer(refs(runs(t)), false, &["decision rows".into()]),
    );
    add(
        "hello".into(),
        answer(refs(runs(t)), false, &["decision rows".into()]),
    );
    // O. Unanswerable: off-topic, the future, unknown SKUs and campaigns, tables Otto lacks.
    for q in [
        "who won the game last night?",
        "what's the weather in Stockholm?",
        "tell me a joke",
        "what is the capital of France?",
        "write me a poem about wool",
        "how do I bake bread?",
        "who is the CEO of Shopify?",
        "translate hello to Swedish",
        "what is the meaning of life",
        "can you book a meeting with Anna?",
        "what time is it?",
        "send an email to our supplier",
        "order more stock",
        "what's bitcoin at?",
        "how tall is the Eiffel tower?",
        "recommend a movie for tonight",
        "what are the calibrator thresholds?",
        "what is the p75 winner floor?",
        "who flipped the kill switch?",
        "is the kill switch on?",
        "what did the competitor charge for blankets?",
        "what is our profit margin this year?",
        "how many visitors did the site get yesterday?",
        "what's the conversion rate today?",
        "play some music",
        "what will the discount cycle do next Tuesday?",
        "how will tomorrow's morning go?",
        "what moves are planned for 2026-12-24?",
        "what will we spend next week?",
        "what moved on 2027-01-15?",
        "what happened to FJ-ULL-099-GRA?",
        "history of FJ-XYZ-001",
        "what happened to SKU-LIN-007?",
        "why is spend on Cotton Towels what it is?",
        "why is spend on EU/Linen/Throws what it is?",
        "what happened to the Bamboo budget?",
    ] {
        add(q.into(), Expect::Refuse);
    }
    out
}

/// Whether an answer is what the case expects; the reason when not.
pub fn check(c: &Case, a: &Answer) -> Result<(), String> {
    let cited: BTreeSet<String> = a.citations.iter().map(|x| x.row_ref.clone()).collect();
    match &c.expect {
        Expect::Refuse => {
            if a.grounded || !a.answer.starts_with(NO_ROW) {
                return Err(format!("answered an unanswerable question: {}", a.answer));
            }
        }
        Expect::Answer { cites, exact, says } => {
            if !a.grounded {
                return Err(format!("refused: {}", a.answer));
            }
            if *exact && &cited != cites {
                let missing: Vec<_> = cites.difference(&cited).take(5).collect();
                let extra: Vec<_> = cited.difference(cites).take(5).collect();
                return Err(format!("citations: missing {missing:?}, extra {extra:?}"));
            }
            if !*exact && !cites.is_subset(&cited) {
                return Err(format!(
                    "citations: missing {:?}",
                    cites.difference(&cited).collect::<Vec<_>>()
                ));
            }
            for s in says {
                if !a.answer.contains(s.as_str()) {
                    return Err(format!("does not say {s:?}: {}", a.answer));
                }
            }
            if a.answer.contains("bp")
                && a.answer.split_whitespace().any(|w| {
                    w.trim_end_matches(|c: char| !c.is_alphanumeric())
                        .ends_with("bp")
                        && w.chars().any(|c| c.is_ascii_digit())
                })
            {
                return Err(format!("basis points in the text: {}", a.answer));
            }
        }
    }
    Ok(())
}

pub async fn ask(h: &Harness, store: &StoreId, q: &str) -> Answer {
    Engine::new(&h.ports, store.clone(), clock(), "https://otto.example")
        .ask(q, now())
        .await
        .expect("answer")
}

/// The measured score of a run.
pub struct Score {
    /// Per-question latency (µs), sorted.
    pub micros: Vec<u128>,
    pub total: usize,
    pub correct: usize,
    pub answered_unanswerable: usize,
    pub failures: Vec<String>,
}

pub async fn score(h: &Harness, fx: &Fixture, cases: &[Case]) -> Score {
    let mut s = Score {
        micros: vec![],
        total: cases.len(),
        correct: 0,
        answered_unanswerable: 0,
        failures: vec![],
    };
    for c in cases {
        let started = std::time::Instant::now();
        let a = ask(h, &fx.store, &c.q).await;
        s.micros.push(started.elapsed().as_micros());
        if std::env::var_os("OTTO_PRINT_ANSWERS").is_some() {
            eprintln!(
                "Q: {}\nA: {}\n   [{} citations] {:?} grounded={}\n",
                c.q,
                a.answer,
                a.citations.len(),
                a.citations
                    .iter()
                    .map(|x| x.row_ref.as_str())
                    .collect::<Vec<_>>(),
                a.grounded
            );
        }
        match check(c, &a) {
            Ok(()) => s.correct += 1,
            Err(e) => {
                if matches!(c.expect, Expect::Refuse) {
                    s.answered_unanswerable += 1;
                }
                s.failures.push(format!("{:?} [{}] → {e}", c.q, a.intent));
            }
        }
    }
    s.micros.sort_unstable();
    s
}

pub async fn question_set_scores(h: &Harness) {
    let fx = build(h).await;
    let cases = cases(&fx);
    assert!(cases.len() >= 200, "{} questions", cases.len());
    let s = score(h, &fx, &cases).await;
    let pct = s.correct * 10000 / s.total;
    eprintln!(
        "question set: {} of {} correct ({}.{:02}%), {} unanswerable answered",
        s.correct,
        s.total,
        pct / 100,
        pct % 100,
        s.answered_unanswerable
    );
    let at = |p: usize| s.micros[(s.micros.len() * p / 100).min(s.micros.len() - 1)];
    eprintln!(
        "latency on {} ({} rows): p50 {} µs, p99 {} µs",
        h.name,
        fx.facts.len(),
        at(50),
        at(99)
    );
    for f in &s.failures {
        eprintln!("  ✗ {f}");
    }
    assert_eq!(
        s.answered_unanswerable, 0,
        "an unanswerable question was answered"
    );
    assert!(
        s.correct * 100 >= s.total * 95,
        "below 95%: {} of {}",
        s.correct,
        s.total
    );
}

/// Every row of the store, as exported.
pub async fn export(h: &Harness, store: &StoreId) -> Vec<AuditRow> {
    let mut out = Vec::new();
    for table in AuditTable::ALL {
        let mut page = otto_store::PageReq::first(1000);
        loop {
            let p = h.ports.audit.list_table(table, page).await.expect("list");
            out.extend(p.items.into_iter().filter(|r| r.store() == store));
            match p.next {
                Some(c) => {
                    page = otto_store::PageReq {
                        limit: 1000,
                        cursor: Some(c),
                    }
                }
                None => break,
            }
        }
    }
    out
}

pub async fn same_answers_after_export_import(h: &Harness) {
    let fx = build(h).await;
    let rows = export(h, &fx.store).await;
    let fresh = crate::harness::embedded()
        .await
        .expect("empty embedded store");
    fresh.ports.audit.import(rows).await.expect("import");
    let cases = cases(&fx);
    for c in cases.iter().step_by(3) {
        let a = ask(h, &fx.store, &c.q).await;
        let b = ask(&fresh, &fx.store, &c.q).await;
        assert_eq!(a.answer, b.answer, "{}", c.q);
        assert_eq!(a.citations, b.citations, "{}", c.q);
    }
}
