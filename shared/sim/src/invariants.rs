//! The invariants `otto simulate` checks over Otto's audit rows (read through the store's
//! `AuditLog` port, table by table) and the shop's own write log. Each violation names the rows
//! behind it. Kept as data: the run reports them; it does not fail on them.

use crate::writes::{Actor, Change, ShopWrite};
use otto_core::audit::{AuditRow, AuditTable, DecisionRow, RowBody};
use otto_core::cycle::CycleKind;
use otto_core::metrics::ProductStatus;
use otto_core::{Action, Classification, Move, RowStatus, StoreDay, StoreId};
use otto_store::{AuditLog, PageReq, StoreError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The limits the invariants hold Otto to (the defaults).
#[derive(Debug, Clone, Serialize)]
pub struct InvariantRules {
    /// Most of the catalog on discount at once, basis points.
    pub discount_share_cap_bp: u32,
    /// Days after a test ends before the same SKU may be discounted again.
    pub discount_cooldown_days: i64,
    /// At most one status flip per product within this many days.
    pub flip_window_days: i64,
    /// Morning cycles after a test's restore before a DRAFT may follow.
    pub mornings_after_restore: usize,
}

impl Default for InvariantRules {
    fn default() -> Self {
        InvariantRules {
            discount_share_cap_bp: 1_000,
            discount_cooldown_days: 30,
            flip_window_days: 30,
            mornings_after_restore: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// DRAFT without a discount test that was applied, reached its TTL, was restored, and was
    /// followed by two morning cycles.
    DraftWithoutFinishedTest,
    /// A product unpublished while one of its variants was WINNER or MID.
    UnpublishWithWinnerOrMid,
    /// More than one status flip of a product within 30 days.
    StatusFlipsPerProduct,
    /// More of the catalog on discount at once than the cap.
    DiscountShareCap,
    /// A SKU discounted again within the cooldown after its last test ended.
    DiscountCooldown,
    /// A HELD row older than the next cycle of its kind.
    HeldPastNextCycle,
    /// One row's move written to the shop more than once.
    AppliedTwice,
    /// A change the policy made to the shop with no APPLIED audit row behind it.
    WriteWithoutRow,
    /// An APPLIED row whose move the shop never received.
    AppliedWithoutWrite,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub invariant: Invariant,
    pub day: StoreDay,
    pub refs: Vec<String>,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct InvariantReport {
    pub counts: BTreeMap<Invariant, usize>,
    pub violations: Vec<Violation>,
}

impl InvariantReport {
    pub fn total(&self) -> usize {
        self.violations.len()
    }
    fn push(&mut self, v: Violation) {
        *self.counts.entry(v.invariant).or_default() += 1;
        self.violations.push(v);
    }
}

/// What the checks read besides the audit rows.
pub struct ShopFacts<'a> {
    /// Every change made to the shop.
    pub writes: &'a [ShopWrite],
    /// The largest share of the catalog on discount seen per day, basis points.
    pub discount_share_by_day: &'a BTreeMap<StoreDay, u32>,
    /// SKU → product id, for the whole catalog.
    pub product_of: &'a HashMap<String, String>,
}

struct Rows {
    /// The decision_log rows, each held once (its body is read through [`Rows::decisions`]).
    decisions: Vec<AuditRow>,
    moves: Vec<AuditRow>,
    held: Vec<AuditRow>,
    cycles: BTreeMap<CycleKind, BTreeSet<StoreDay>>,
}

async fn all(audit: &dyn AuditLog, table: AuditTable) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    let mut page = PageReq::first(1_000);
    loop {
        let p = audit.list_table(table, page.clone()).await?;
        out.extend(p.items);
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

async fn read(audit: &dyn AuditLog, store: &StoreId) -> Result<Rows, StoreError> {
    let mut rows = Rows {
        decisions: vec![],
        moves: vec![],
        held: vec![],
        cycles: BTreeMap::new(),
    };
    for table in [AuditTable::DecisionLog, AuditTable::AdDecisionLog] {
        for r in all(audit, table).await? {
            if r.store() != store {
                continue;
            }
            if r.status == RowStatus::Held {
                rows.held.push(r.clone());
            }
            if matches!(r.status, RowStatus::Applied | RowStatus::Reverted) && has_move(&r) {
                rows.moves.push(r.clone());
            }
            if matches!(r.body, RowBody::Decision(_)) {
                rows.decisions.push(r);
            }
        }
    }
    for r in all(audit, AuditTable::CycleRuns).await? {
        if r.store() == store && r.status == RowStatus::Completed {
            rows.cycles
                .entry(r.cycle_id.kind)
                .or_default()
                .insert(r.day());
        }
    }
    Ok(rows)
}

impl Rows {
    /// Each decision row with its body — borrowed, not a second copy of every row.
    fn decisions(&self) -> impl Iterator<Item = (&AuditRow, &DecisionRow)> {
        self.decisions.iter().filter_map(|r| match &r.body {
            RowBody::Decision(d) => Some((r, d)),
            _ => None,
        })
    }
}

fn has_move(r: &AuditRow) -> bool {
    match &r.body {
        RowBody::Decision(d) => d.r#move.is_some(),
        RowBody::AdDecision(a) => a.r#move.is_some(),
        _ => false,
    }
}

fn row_move(r: &AuditRow) -> Option<&Move> {
    match &r.body {
        RowBody::Decision(d) => d.r#move.as_ref(),
        RowBody::AdDecision(a) => a.r#move.as_ref(),
        _ => None,
    }
}

/// Runs every check.
pub async fn check(
    audit: &dyn AuditLog,
    store: &StoreId,
    facts: &ShopFacts<'_>,
    rules: &InvariantRules,
) -> Result<InvariantReport, StoreError> {
    let rows = read(audit, store).await?;
    let mut report = InvariantReport::default();
    drafts_after_tests(&rows, rules, &mut report);
    unpublish_with_winner_or_mid(&rows, facts, &mut report);
    let matched = match_writes(&rows, facts, &mut report);
    status_flips(facts.writes, &matched, rules, &mut report);
    discount_share(&rows, facts, rules, &mut report);
    discount_cooldown(&rows, rules, &mut report);
    held_past_next_cycle(&rows, &mut report);
    Ok(report)
}

fn is_applied(s: RowStatus) -> bool {
    matches!(s, RowStatus::Applied | RowStatus::Reverted)
}

/// A discount test of one SKU: its ON_DISCOUNT row and, once restored, the PRICE_RESTORE row.
struct Test<'a> {
    opened: &'a AuditRow,
    ends_on: Option<StoreDay>,
    restored: Option<&'a AuditRow>,
}

fn tests_by_sku(rows: &Rows) -> HashMap<String, Vec<Test<'_>>> {
    let mut restores: HashMap<String, &AuditRow> = HashMap::new();
    for (r, d) in rows.decisions() {
        if let Some(Move::VariantPrice {
            restores: Some(of), ..
        }) = &d.r#move
        {
            if is_applied(r.status) {
                restores.insert(of.to_string(), r);
            }
        }
    }
    let mut out: HashMap<String, Vec<Test<'_>>> = HashMap::new();
    for (r, d) in rows.decisions() {
        if d.action == Action::OnDiscount && is_applied(r.status) {
            out.entry(d.sku.to_string()).or_default().push(Test {
                opened: r,
                ends_on: d.window.as_ref().map(|w| w.ends_on),
                restored: restores.get(&r.row_ref.to_string()).copied(),
            });
        }
    }
    for tests in out.values_mut() {
        tests.sort_by_key(|t| (t.opened.day(), t.opened.row_ref));
    }
    out
}

fn is_unpublish(d: &DecisionRow) -> bool {
    matches!(
        d.r#move,
        Some(Move::ProductStatus {
            to: ProductStatus::Draft | ProductStatus::Archived,
            ..
        })
    )
}

/// A DRAFT move that was decided (not a dry run).
fn decided(r: &AuditRow) -> bool {
    !matches!(r.status, RowStatus::DryRun | RowStatus::Refused)
}

/// Morning cycles after `after` up to and including `upto`.
fn mornings_between(mornings: &BTreeSet<StoreDay>, after: StoreDay, upto: StoreDay) -> usize {
    if upto <= after {
        return 0;
    }
    mornings.range(after.plus_days(1)..=upto).count()
}

fn drafts_after_tests(rows: &Rows, rules: &InvariantRules, report: &mut InvariantReport) {
    let tests = tests_by_sku(rows);
    let mornings = rows
        .cycles
        .get(&CycleKind::Morning)
        .cloned()
        .unwrap_or_default();
    for (r, d) in rows.decisions() {
        if !is_unpublish(d) || !decided(r) {
            continue;
        }
        let day = r.day();
        let mine = tests.get(d.sku.as_str()).map(Vec::as_slice).unwrap_or(&[]);
        let finished = mine.iter().any(|t| match (t.restored, t.ends_on) {
            (Some(rest), Some(end)) => {
                rest.day() >= end
                    && rest.day() < day
                    && mornings_between(&mornings, rest.day(), day) >= rules.mornings_after_restore
            }
            _ => false,
        });
        if finished {
            continue;
        }
        let mut refs = vec![r.row_ref.to_string()];
        let why = match mine.iter().rev().find(|t| t.opened.day() <= day) {
            None => "no discount test of this SKU was ever applied".to_string(),
            Some(t) => {
                refs.push(t.opened.row_ref.to_string());
                match t.restored {
                    None => format!(
                        "its test {} (opened {}) was still open",
                        t.opened.row_ref,
                        t.opened.day()
                    ),
                    Some(rest) => {
                        refs.push(rest.row_ref.to_string());
                        let n = mornings_between(&mornings, rest.day(), day);
                        format!(
                            "its test {} was restored by {} on {} (window end {}), {n} morning cycle(s) before the DRAFT",
                            t.opened.row_ref,
                            rest.row_ref,
                            rest.day(),
                            t.ends_on.map(|e| e.to_string()).unwrap_or_default()
                        )
                    }
                }
            }
        };
        report.push(Violation {
            invariant: Invariant::DraftWithoutFinishedTest,
            day,
            refs,
            detail: format!("{} {} {}: {why}", d.sku, r.status, d.action),
        });
    }
}

fn unpublish_with_winner_or_mid(rows: &Rows, facts: &ShopFacts<'_>, report: &mut InvariantReport) {
    let mut class: HashMap<(String, String), (Classification, String)> = HashMap::new();
    for (r, d) in rows.decisions() {
        if let Some(c) = d.classification {
            class
                .entry((r.cycle_id.to_string(), d.sku.to_string()))
                .or_insert((c, r.row_ref.to_string()));
        }
    }
    let mut siblings: HashMap<&str, Vec<&str>> = HashMap::new();
    for (sku, p) in facts.product_of {
        siblings.entry(p.as_str()).or_default().push(sku.as_str());
    }
    for (r, d) in rows.decisions() {
        if !is_unpublish(d) || !decided(r) {
            continue;
        }
        let Some(product) = facts.product_of.get(d.sku.as_str()) else {
            continue;
        };
        let cycle = r.cycle_id.to_string();
        let strong: Vec<(String, Classification, String)> = siblings
            .get(product.as_str())
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let (c, rf) = class.get(&(cycle.clone(), s.to_string()))?;
                matches!(c, Classification::Winner | Classification::Mid)
                    .then(|| (s.to_string(), *c, rf.clone()))
            })
            .collect();
        if strong.is_empty() {
            continue;
        }
        let mut refs = vec![r.row_ref.to_string()];
        refs.extend(strong.iter().map(|s| s.2.clone()));
        report.push(Violation {
            invariant: Invariant::UnpublishWithWinnerOrMid,
            day: r.day(),
            refs,
            detail: format!(
                "{} {} unpublishes {product} while {}",
                r.status,
                d.action,
                strong
                    .iter()
                    .map(|(s, c, _)| format!("{s} is {c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

/// What a write or a move changes, as one key: the same key on both sides means the same move.
fn write_key(w: &ShopWrite) -> String {
    match &w.change {
        Change::Status { product_id, to, .. } => format!("status|{product_id}|{to:?}"),
        Change::Price {
            sku,
            to,
            compare_at_to,
            ..
        } => format!(
            "price|{sku}|{}|{}",
            to.amount_string(),
            compare_at_to.map(|c| c.amount_string()).unwrap_or_default()
        ),
        Change::Budget {
            budget_resource,
            to,
            ..
        } => format!("budget|{budget_resource}|{}", to.amount_string()),
    }
}

fn move_key(m: &Move, product_of: &HashMap<String, String>) -> Option<String> {
    Some(match m {
        Move::ProductStatus { sku, to } => {
            format!("status|{}|{to:?}", product_of.get(sku.as_str())?)
        }
        Move::VariantPrice {
            sku,
            price,
            compare_at,
            ..
        } => format!(
            "price|{sku}|{}|{}",
            price.rounded().amount_string(),
            compare_at
                .map(|c| c.rounded().amount_string())
                .unwrap_or_default()
        ),
        Move::CampaignBudget {
            budget_resource,
            amount,
            ..
        } => format!(
            "budget|{budget_resource}|{}",
            amount.rounded().amount_string()
        ),
        Move::CsReply { .. } => return None,
        // An undo writes what its inner move says.
        Move::Revert { undo, .. } => return move_key(undo, product_of),
    })
}

/// Pairs each policy write with the APPLIED row whose move it is (the nearest one created before
/// it). Returns, per write index, the matched row's ref.
fn match_writes(
    rows: &Rows,
    facts: &ShopFacts<'_>,
    report: &mut InvariantReport,
) -> HashMap<usize, String> {
    let mut candidates: HashMap<String, Vec<(&AuditRow, usize)>> = HashMap::new();
    for r in &rows.moves {
        if let Some(k) = row_move(r).and_then(|m| move_key(m, facts.product_of)) {
            candidates.entry(k).or_default().push((r, 0));
        }
    }
    // Rows the executor settled without a call ("the shop already had the target state").
    let confirmed = |r: &AuditRow| {
        let result = match &r.body {
            RowBody::Decision(d) => d.result.as_ref(),
            RowBody::AdDecision(a) => a.result.as_ref(),
            _ => None,
        };
        result.is_some_and(|v| v.get("confirmed").is_some())
    };
    let mut matched = HashMap::new();
    for (i, w) in facts.writes.iter().enumerate() {
        if w.actor != Actor::Policy {
            continue;
        }
        let key = write_key(w);
        let slack = chrono::Duration::minutes(5);
        let best = candidates.get_mut(&key).and_then(|c| {
            c.iter_mut()
                .filter(|(r, _)| r.created_at <= w.at + slack)
                .min_by_key(|(r, used)| (*used > 0, w.at - r.created_at))
        });
        match best {
            Some((r, used)) => {
                *used += 1;
                matched.insert(i, r.row_ref.to_string());
                if *used == 2 {
                    report.push(Violation {
                        invariant: Invariant::AppliedTwice,
                        day: w.day,
                        refs: vec![r.row_ref.to_string()],
                        detail: format!("{key} written again at {}", w.at.to_rfc3339()),
                    });
                }
            }
            None => report.push(Violation {
                invariant: Invariant::WriteWithoutRow,
                day: w.day,
                refs: vec![],
                detail: format!("{key} written at {} with no APPLIED row", w.at.to_rfc3339()),
            }),
        }
    }
    for list in candidates.values() {
        for (r, used) in list {
            if *used == 0 && !confirmed(r) {
                report.push(Violation {
                    invariant: Invariant::AppliedWithoutWrite,
                    day: r.day(),
                    refs: vec![r.row_ref.to_string()],
                    detail: format!("{} {} but the shop never saw its move", r.row_ref, r.status),
                });
            }
        }
    }
    matched
}

/// Products whose status flipped more than once within the window, from the write log (every
/// policy's), each naming the rows behind the flips when known.
pub fn flip_violations(
    writes: &[ShopWrite],
    matched: &HashMap<usize, String>,
    rules: &InvariantRules,
) -> Vec<Violation> {
    let mut by_product: BTreeMap<&str, Vec<(usize, &ShopWrite)>> = BTreeMap::new();
    for (i, w) in writes.iter().enumerate() {
        if let (Actor::Policy, Change::Status { product_id, .. }) = (w.actor, &w.change) {
            if w.is_status_flip() {
                by_product.entry(product_id).or_default().push((i, w));
            }
        }
    }
    let mut out = Vec::new();
    for (product, flips) in by_product {
        for pair in flips.windows(2) {
            let ((ia, a), (ib, b)) = (pair[0], pair[1]);
            if b.day.days_since(a.day) < rules.flip_window_days {
                let refs = [ia, ib]
                    .iter()
                    .filter_map(|i| matched.get(i).cloned())
                    .collect();
                out.push(Violation {
                    invariant: Invariant::StatusFlipsPerProduct,
                    day: b.day,
                    refs,
                    detail: format!(
                        "{product} flipped on {} and again on {} ({} days apart)",
                        a.day,
                        b.day,
                        b.day.days_since(a.day)
                    ),
                });
            }
        }
    }
    out
}

fn status_flips(
    writes: &[ShopWrite],
    matched: &HashMap<usize, String>,
    rules: &InvariantRules,
    report: &mut InvariantReport,
) {
    for v in flip_violations(writes, matched, rules) {
        report.push(v);
    }
}

fn discount_share(
    rows: &Rows,
    facts: &ShopFacts<'_>,
    rules: &InvariantRules,
    report: &mut InvariantReport,
) {
    let tests = tests_by_sku(rows);
    for (day, bp) in facts.discount_share_by_day {
        if *bp <= rules.discount_share_cap_bp {
            continue;
        }
        let open: Vec<String> = tests
            .values()
            .flatten()
            .filter(|t| t.opened.day() <= *day && t.restored.is_none_or(|r| r.day() >= *day))
            .map(|t| t.opened.row_ref.to_string())
            .collect();
        report.push(Violation {
            invariant: Invariant::DiscountShareCap,
            day: *day,
            detail: format!(
                "{}.{:02}% of the catalog on discount (cap {}.{:02}%), {} ON_DISCOUNT windows open",
                bp / 100,
                bp % 100,
                rules.discount_share_cap_bp / 100,
                rules.discount_share_cap_bp % 100,
                open.len()
            ),
            refs: open.into_iter().take(20).collect(),
        });
    }
}

fn discount_cooldown(rows: &Rows, rules: &InvariantRules, report: &mut InvariantReport) {
    for (sku, tests) in tests_by_sku(rows) {
        for pair in tests.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            let ended = a.restored.map(|r| r.day()).or(a.ends_on);
            let Some(ended) = ended else { continue };
            let gap = b.opened.day().days_since(ended);
            if gap < rules.discount_cooldown_days {
                let mut refs = vec![a.opened.row_ref.to_string()];
                refs.extend(a.restored.map(|r| r.row_ref.to_string()));
                refs.push(b.opened.row_ref.to_string());
                report.push(Violation {
                    invariant: Invariant::DiscountCooldown,
                    day: b.opened.day(),
                    refs,
                    detail: format!(
                        "{sku} discounted again {gap} days after its test ended on {ended} (cooldown {} days)",
                        rules.discount_cooldown_days
                    ),
                });
            }
        }
    }
}

fn held_past_next_cycle(rows: &Rows, report: &mut InvariantReport) {
    let mut by_cycle: BTreeMap<String, (StoreDay, CycleKind, Vec<String>)> = BTreeMap::new();
    for r in &rows.held {
        let kind = r.cycle_id.kind;
        let later = rows
            .cycles
            .get(&kind)
            .and_then(|days| days.range(r.day().plus_days(1)..).next().copied());
        if later.is_some() {
            by_cycle
                .entry(r.cycle_id.to_string())
                .or_insert((r.day(), kind, vec![]))
                .2
                .push(r.row_ref.to_string());
        }
    }
    for (cycle, (day, kind, refs)) in by_cycle {
        report.push(Violation {
            invariant: Invariant::HeldPastNextCycle,
            day,
            detail: format!(
                "{} rows of {cycle} still HELD after the next {kind} cycle ran",
                refs.len()
            ),
            refs: refs.into_iter().take(20).collect(),
        });
    }
}
