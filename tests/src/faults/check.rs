//! The invariants, checked over what a run left behind: the audit rows of its cycles, the
//! vendor's mutation ledger (from the vendor wrapper), the open discount windows, the shop, the
//! lock and the queues. Pure: [`check`] takes an [`Observed`] and lists violations, so its own
//! tests can break each invariant on purpose.

use super::wrap::{Mutation, MutationKind};
use otto_core::audit::{AuditRow, AuditTable, ReversalOp, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::lock::Lease;
use otto_core::metrics::{OpenWindow, Variant};
use otto_core::policy::Policy;
use otto_core::{Action, Money, Move, MoveKind, RowStatus};
use std::collections::{BTreeMap, BTreeSet};

/// What a run left behind.
#[derive(Debug, Clone)]
pub struct Observed {
    /// The cycles the driver scheduled.
    pub cycles: Vec<CycleId>,
    /// Every audit row of those cycles, all tables.
    pub rows: Vec<AuditRow>,
    /// Every mutation the vendor performed.
    pub ledger: Vec<Mutation>,
    pub policy: Policy,
    pub windows: Vec<OpenWindow>,
    /// The shop's variants now.
    pub vendor: Vec<Variant>,
    /// The store_lock now, and the driver's clock.
    pub lock: Option<Lease>,
    pub now_ms: i64,
    pub dead_letters: Vec<String>,
    pub left_in_queues: Vec<String>,
}

/// A move that changes something at the vendor, and the vendor mutation it makes.
fn move_kind(body: &RowBody) -> Option<(Action, MutationKind)> {
    match body {
        RowBody::Decision(d) => match d.action {
            Action::Draft | Action::Publish | Action::ReviveSeasonal => {
                Some((d.action, MutationKind::ProductStatus))
            }
            Action::OnDiscount | Action::PriceRestore => {
                Some((d.action, MutationKind::VariantPrice))
            }
            _ => None,
        },
        RowBody::AdDecision(a) if a.action == Action::AdjustBudget => {
            Some((a.action, MutationKind::Budget))
        }
        _ => None,
    }
    .or_else(|| undo_of(body).map(|(_, kind)| (Action::Revert, kind)))
}

/// An operator's undo (a REVERT row): the row it reverts, and the vendor mutation its undo makes.
fn undo_of(body: &RowBody) -> Option<(RowRef, MutationKind)> {
    let mv = match body {
        RowBody::Decision(d) if d.action == Action::Revert => d.r#move.as_ref(),
        RowBody::AdDecision(a) if a.action == Action::Revert => a.r#move.as_ref(),
        _ => None,
    }?;
    let Move::Revert { reverts, undo } = mv else {
        return None;
    };
    let kind = match undo.target() {
        Move::ProductStatus { .. } => MutationKind::ProductStatus,
        Move::VariantPrice { .. } => MutationKind::VariantPrice,
        Move::CampaignBudget { .. } => MutationKind::Budget,
        Move::CsReply { .. } | Move::Revert { .. } => return None,
    };
    Some((*reverts, kind))
}

/// The rate limit a row's move counts against (an undo counts as the change it makes).
fn limit_kind(body: &RowBody) -> Option<MoveKind> {
    match body {
        RowBody::Decision(d) => d.r#move.as_ref().map(Move::kind),
        RowBody::AdDecision(a) => a.r#move.as_ref().map(Move::kind),
        _ => None,
    }
}

/// The vendor mutation a row's move makes, customer-service replies included.
fn mutation_kind(body: &RowBody) -> Option<MutationKind> {
    match body {
        RowBody::CsEvaluation(e) if matches!(e.r#move, Some(Move::CsReply { .. })) => {
            Some(MutationKind::CsReply)
        }
        b => move_kind(b).map(|(_, k)| k),
    }
}

fn reversal_op(body: &RowBody) -> Option<&ReversalOp> {
    match body {
        RowBody::Decision(d) => d.reversal_op.as_ref(),
        RowBody::AdDecision(a) => a.reversal_op.as_ref(),
        _ => None,
    }
}

fn figure_money(row: &AuditRow, key: &str) -> Option<Option<Money>> {
    let RowBody::Decision(d) = &row.body else {
        return None;
    };
    match d.figures.get(key) {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(v) => serde_json::from_value(v.clone()).ok().map(Some),
    }
}

fn show(m: Option<Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "none".into())
}

/// An applied move: it reached the vendor (APPLIED, or APPLIED then REVERTED).
fn applied(row: &AuditRow) -> bool {
    matches!(row.status, RowStatus::Applied | RowStatus::Reverted)
}

/// Lists every invariant violation (empty = all hold).
pub fn check(o: &Observed) -> Vec<String> {
    let mut v = Vec::new();
    cycles_closed(o, &mut v);
    completed_cycles_ran_every_stage(o, &mut v);
    natural_keys_unique(o, &mut v);
    moves_reversible_and_settled(o, &mut v);
    cs_replies_settled(o, &mut v);
    reverted_once(o, &mut v);
    vendor_applied_once(o, &mut v);
    nothing_moved_under_the_kill_switch(o, &mut v);
    dry_runs_move_nothing(o, &mut v);
    rate_limits(o, &mut v);
    windows_match(o, &mut v);
    lock_and_queues(o, &mut v);
    v
}

/// Every cycle COMPLETED, or FAILED with its error on the cycle_runs row; none left RUNNING.
fn cycles_closed(o: &Observed, v: &mut Vec<String>) {
    for c in &o.cycles {
        let runs: Vec<&AuditRow> = o
            .rows
            .iter()
            .filter(|r| r.row_ref.table == AuditTable::CycleRuns && &r.cycle_id == c)
            .collect();
        match runs.as_slice() {
            [] => v.push(format!("cycle {c}: no cycle_runs row")),
            [run] => match (&run.status, &run.body) {
                (RowStatus::Completed, _) => {}
                (RowStatus::Failed, RowBody::CycleRun(b))
                    if b.error.as_deref().is_some_and(|e| !e.is_empty()) => {}
                (RowStatus::Failed, _) => v.push(format!(
                    "cycle {c}: {} is FAILED without an error",
                    run.row_ref
                )),
                (other, _) => v.push(format!(
                    "cycle {c}: {} left {other} after the driver finished",
                    run.row_ref
                )),
            },
            many => v.push(format!("cycle {c}: {} cycle_runs rows", many.len())),
        }
    }
}

/// A COMPLETED cycle ran every stage: one COMPLETED stage_runs row per stage and chunk.
fn completed_cycles_ran_every_stage(o: &Observed, v: &mut Vec<String>) {
    for c in &o.cycles {
        let completed = o.rows.iter().any(|r| {
            r.row_ref.table == AuditTable::CycleRuns
                && &r.cycle_id == c
                && r.status == RowStatus::Completed
        });
        if !completed {
            continue;
        }
        for stage in c.kind.stages() {
            let runs: Vec<(u32, u32, RowStatus)> = o
                .rows
                .iter()
                .filter(|r| &r.cycle_id == c)
                .filter_map(|r| match &r.body {
                    RowBody::StageRun(s) if s.stage == *stage => {
                        Some((s.chunk, s.chunks, r.status))
                    }
                    _ => None,
                })
                .collect();
            let chunks = runs.iter().map(|r| r.1).max().unwrap_or(1);
            for chunk in 0..chunks {
                if !runs
                    .iter()
                    .any(|r| r.0 == chunk && r.2 == RowStatus::Completed)
                {
                    v.push(format!(
                        "cycle {c} is COMPLETED but {stage} chunk {chunk} has no COMPLETED stage_runs row"
                    ));
                }
            }
        }
    }
}

/// What makes a row the same fact, read from its body (not from the natural key the code chose,
/// which is what a bug would get wrong): a cycle's run; a stage chunk's run; a cycle's move (or
/// non-move) of one action on one subject.
fn semantic_key(r: &AuditRow) -> String {
    match &r.body {
        RowBody::CycleRun(_) => r.cycle_id.to_string(),
        RowBody::StageRun(s) => format!("{}|{}|{}", r.cycle_id, s.stage, s.chunk),
        // One undo per row it reverts (two undos of one SKU's two moves are two facts).
        body if undo_of(body).is_some() => {
            let (reverts, _) = undo_of(body).expect("an undo");
            format!("{}|revert|{reverts}", r.cycle_id)
        }
        body => format!("{}|{}|{}", r.cycle_id, body.subject(), body.action_key()),
    }
}

/// No row logged twice: per table, rows = distinct natural keys = distinct refs = distinct facts.
fn natural_keys_unique(o: &Observed, v: &mut Vec<String>) {
    let mut by_table: BTreeMap<AuditTable, Vec<&AuditRow>> = BTreeMap::new();
    for r in &o.rows {
        by_table.entry(r.row_ref.table).or_default().push(r);
    }
    for (table, rows) in by_table {
        let refs: BTreeSet<RowRef> = rows.iter().map(|r| r.row_ref).collect();
        if refs.len() != rows.len() {
            v.push(format!(
                "{table}: {} rows but {} refs",
                rows.len(),
                refs.len()
            ));
        }
        for (what, key) in [
            (
                "natural key",
                (|r: &AuditRow| r.natural_key.clone()) as fn(&AuditRow) -> String,
            ),
            ("fact", semantic_key),
        ] {
            let mut seen = BTreeMap::<String, Vec<String>>::new();
            for r in &rows {
                seen.entry(key(r)).or_default().push(r.row_ref.to_string());
            }
            for (k, refs) in seen.into_iter().filter(|(_, refs)| refs.len() > 1) {
                v.push(format!(
                    "{table}: {what} {k} logged {} times: {}",
                    refs.len(),
                    refs.join(", ")
                ));
            }
        }
    }
}

/// Every applied move has its reversal op stored; no move is stranded half-way.
fn moves_reversible_and_settled(o: &Observed, v: &mut Vec<String>) {
    for r in &o.rows {
        let Some((action, _)) = move_kind(&r.body) else {
            continue;
        };
        if applied(r) && reversal_op(&r.body).is_none() {
            v.push(format!(
                "{} ({action}) is {} without a stored reversal op",
                r.row_ref, r.status
            ));
        }
        let result = match &r.body {
            RowBody::Decision(d) => d.result.is_some(),
            RowBody::AdDecision(a) => a.result.is_some(),
            _ => true,
        };
        if r.status == RowStatus::Applied && !result {
            v.push(format!(
                "{} ({action}) is APPLIED without the vendor's answer",
                r.row_ref
            ));
        }
        // A price move's reversal op is the price it moved from: the one it expected.
        if let (true, Some(ReversalOp::VariantPrice { price, .. })) =
            (applied(r), reversal_op(&r.body))
        {
            if let Some(Some(expected)) = figure_money(r, "expected_price") {
                if expected.rounded() != price.rounded() {
                    v.push(format!(
                        "{} ({action}) stored reversal price {price} but moved from {expected}",
                        r.row_ref
                    ));
                }
            }
        }
        if matches!(
            r.status,
            RowStatus::Pending | RowStatus::Applying | RowStatus::Released
        ) {
            v.push(format!(
                "{} ({action}) stranded in {} after the driver finished",
                r.row_ref, r.status
            ));
        }
    }
}

/// A CS reply is never left half-way, and an APPLIED one keeps the helpdesk's answer. (A reply
/// cannot be unsent: it has no reversal op.)
fn cs_replies_settled(o: &Observed, v: &mut Vec<String>) {
    for r in &o.rows {
        let RowBody::CsEvaluation(e) = &r.body else {
            continue;
        };
        if mutation_kind(&r.body) != Some(MutationKind::CsReply) {
            continue;
        }
        if matches!(
            r.status,
            RowStatus::Pending | RowStatus::Applying | RowStatus::Released
        ) {
            v.push(format!(
                "{} (CS reply to {}) stranded in {} after the driver finished",
                r.row_ref, e.thread_id, r.status
            ));
        }
        if r.status == RowStatus::Applied && e.result.is_none() {
            v.push(format!(
                "{} (CS reply to {}) is APPLIED without the helpdesk's answer",
                r.row_ref, e.thread_id
            ));
        }
    }
}

/// An operator's undo: one REVERT row per row it reverts; an applied undo leaves its original
/// REVERTED, and an original is REVERTED only by an applied undo or (a discount) its restore.
fn reverted_once(o: &Observed, v: &mut Vec<String>) {
    let rows: BTreeMap<RowRef, &AuditRow> = o.rows.iter().map(|r| (r.row_ref, r)).collect();
    let mut undos: BTreeMap<RowRef, Vec<&AuditRow>> = BTreeMap::new();
    for r in &o.rows {
        if let Some((of, _)) = undo_of(&r.body) {
            undos.entry(of).or_default().push(r);
        }
    }
    for (of, us) in &undos {
        if us.len() > 1 {
            let refs: Vec<String> = us.iter().map(|u| u.row_ref.to_string()).collect();
            v.push(format!(
                "{of} has {} REVERT rows: {}",
                us.len(),
                refs.join(", ")
            ));
        }
        let original = rows.get(of).map(|r| r.status);
        for u in us.iter().filter(|u| u.status == RowStatus::Applied) {
            if original != Some(RowStatus::Reverted) {
                v.push(format!(
                    "{} undid {of} (APPLIED) but {of} is {}",
                    u.row_ref,
                    original.map_or_else(|| "not a row of these cycles".into(), |s| s.to_string())
                ));
            }
        }
    }
    for r in o.rows.iter().filter(|r| r.status == RowStatus::Reverted) {
        let undone = undos
            .get(&r.row_ref)
            .is_some_and(|us| us.iter().any(|u| u.status == RowStatus::Applied));
        let discount = matches!(&r.body, RowBody::Decision(d) if d.action == Action::OnDiscount);
        if !undone && !discount {
            v.push(format!("{} is REVERTED without an applied undo", r.row_ref));
        }
    }
}

/// No vendor write while the operator's kill switch was on (moves, prices, budgets, CS sends).
fn nothing_moved_under_the_kill_switch(o: &Observed, v: &mut Vec<String>) {
    for m in o.ledger.iter().filter(|m| m.under_kill_switch) {
        v.push(format!(
            "vendor {:?} of {} → {} while the kill switch was on (row {}, p{})",
            m.kind,
            m.key,
            m.target,
            m.row
                .map(|r| r.to_string())
                .unwrap_or_else(|| "none".into()),
            m.proc_id
        ));
    }
}

/// A cycle whose run row says dry run changes nothing at the vendor, whoever resumed it.
fn dry_runs_move_nothing(o: &Observed, v: &mut Vec<String>) {
    let dry: BTreeSet<&CycleId> = o
        .rows
        .iter()
        .filter_map(|r| match &r.body {
            RowBody::CycleRun(c) if !c.apply => Some(&r.cycle_id),
            _ => None,
        })
        .collect();
    let rows: BTreeMap<RowRef, &AuditRow> = o.rows.iter().map(|r| (r.row_ref, r)).collect();
    for m in &o.ledger {
        let Some(row) = m.row.and_then(|r| rows.get(&r)) else {
            continue;
        };
        if dry.contains(&row.cycle_id) {
            v.push(format!(
                "vendor {:?} of {} for {}, a row of dry-run cycle {} (p{})",
                m.kind, m.key, row.row_ref, row.cycle_id, m.proc_id
            ));
        }
    }
    for r in o.rows.iter().filter(|r| dry.contains(&r.cycle_id)) {
        if applied(r) && mutation_kind(&r.body).is_some() {
            v.push(format!(
                "{} is {} under dry-run cycle {}",
                r.row_ref, r.status, r.cycle_id
            ));
        }
    }
}

/// No move applied twice at the vendor; every vendor mutation belongs to an applied move of the
/// right kind; every applied price or budget move reached the vendor exactly once. (A status move
/// may be applied without a call of its own: another variant's move already set its product's
/// status, and the executor confirmed it by reading the shop.)
fn vendor_applied_once(o: &Observed, v: &mut Vec<String>) {
    let rows: BTreeMap<RowRef, &AuditRow> = o.rows.iter().map(|r| (r.row_ref, r)).collect();
    let mut per_row: BTreeMap<RowRef, Vec<&Mutation>> = BTreeMap::new();
    for m in &o.ledger {
        match m.row {
            None => v.push(format!(
                "vendor {:?} of {} → {} with no audit row behind it (p{})",
                m.kind, m.key, m.target, m.proc_id
            )),
            Some(r) => per_row.entry(r).or_default().push(m),
        }
    }
    for (r, ms) in &per_row {
        if ms.len() > 1 {
            let how: Vec<String> = ms
                .iter()
                .map(|m| format!("{:?} {} → {} by p{}", m.kind, m.key, m.target, m.proc_id))
                .collect();
            v.push(format!(
                "{r} applied {} times at the vendor: {}",
                ms.len(),
                how.join("; ")
            ));
        }
        match rows.get(r) {
            None => v.push(format!(
                "vendor mutation attributed to {r}, which is not a row of these cycles"
            )),
            Some(row) => {
                match mutation_kind(&row.body) {
                    Some(kind) if ms.iter().all(|m| m.kind == kind) => {}
                    other => v.push(format!(
                        "{r}: vendor {:?} does not match the row's move {other:?}",
                        ms.first().map(|m| m.kind)
                    )),
                }
                if !applied(row) {
                    v.push(format!(
                        "{r} changed the vendor but is {}, not APPLIED",
                        row.status
                    ));
                }
            }
        }
    }
    for r in o.rows.iter().filter(|r| applied(r)) {
        if let Some(kind) = mutation_kind(&r.body) {
            if kind != MutationKind::ProductStatus && !per_row.contains_key(&r.row_ref) {
                v.push(format!(
                    "{} ({kind:?}) is {} but the vendor never saw it",
                    r.row_ref, r.status
                ));
            }
        }
    }
}

/// Applied moves per window never exceed the policy: catalog moves and discount tests per store
/// day, budget changes per ISO week.
fn rate_limits(o: &Observed, v: &mut Vec<String>) {
    let mut catalog: BTreeMap<String, u32> = BTreeMap::new();
    let mut discounts: BTreeMap<String, u32> = BTreeMap::new();
    let mut budgets: BTreeMap<String, u32> = BTreeMap::new();
    for r in o.rows.iter().filter(|r| applied(r)) {
        match (move_kind(&r.body), limit_kind(&r.body)) {
            (Some((_, MutationKind::ProductStatus)), _) => {
                *catalog.entry(r.day().to_string()).or_default() += 1
            }
            (Some((Action::OnDiscount, _)), _)
            | (Some((Action::Revert, _)), Some(MoveKind::Discount)) => {
                *discounts.entry(r.day().to_string()).or_default() += 1
            }
            (Some((Action::AdjustBudget | Action::Revert, MutationKind::Budget)), _) => {
                *budgets.entry(r.day().iso_week()).or_default() += 1
            }
            _ => {}
        }
    }
    let p = &o.policy;
    for (day, n) in catalog {
        if n > p.catalog_moves_per_day {
            v.push(format!(
                "{n} catalog moves applied on {day}, limit {}",
                p.catalog_moves_per_day
            ));
        }
    }
    for (day, n) in discounts {
        if n > p.discount_tests_per_day {
            v.push(format!(
                "{n} ON_DISCOUNT applied on {day}, limit {}",
                p.discount_tests_per_day
            ));
        }
    }
    for (week, n) in budgets {
        if n > p.budget_changes_per_week {
            v.push(format!(
                "{n} ADJUST_BUDGET applied in {week}, limit {}",
                p.budget_changes_per_week
            ));
        }
    }
}

/// The open discount windows are exactly the applied (not yet reverted) ON_DISCOUNT rows, and
/// the shop shows their discount price; every reverted discount has its applied restore.
fn windows_match(o: &Observed, v: &mut Vec<String>) {
    let open: BTreeMap<String, &OpenWindow> =
        o.windows.iter().map(|w| (w.row_ref.clone(), w)).collect();
    let discounts: Vec<&AuditRow> = o
        .rows
        .iter()
        .filter(|r| matches!(&r.body, RowBody::Decision(d) if d.action == Action::OnDiscount))
        .collect();
    for r in &discounts {
        let key = r.row_ref.to_string();
        let RowBody::Decision(d) = &r.body else {
            continue;
        };
        match (r.status, open.get(&key)) {
            (RowStatus::Applied, None) => v.push(format!(
                "{key} is APPLIED but its discount window is not open"
            )),
            (RowStatus::Applied, Some(_)) => {
                let Some(ReversalOp::VariantPrice { variant_id, .. }) = &d.reversal_op else {
                    continue;
                };
                let shop = o.vendor.iter().find(|x| &x.variant_id == variant_id);
                let want = figure_money(r, "target_price").flatten();
                let want_cmp = figure_money(r, "target_compare_at").flatten();
                match shop {
                    Some(s)
                        if Some(s.price.rounded()) == want.map(|m| m.rounded())
                            && s.compare_at_price.map(|m| m.rounded())
                                == want_cmp.map(|m| m.rounded()) => {}
                    Some(s) => v.push(format!(
                        "{key}: window open but the shop shows {} (compare-at {}), not {} (compare-at {})",
                        s.price,
                        show(s.compare_at_price),
                        show(want),
                        show(want_cmp)
                    )),
                    None => v.push(format!("{key}: variant {variant_id} is not in the shop")),
                }
            }
            (RowStatus::Reverted, Some(_)) => {
                v.push(format!("{key} is REVERTED but its window is still open"))
            }
            (RowStatus::Reverted, None) => {
                let restored = o.rows.iter().any(|x| {
                    x.status == RowStatus::Applied
                        && (matches!(&x.body, RowBody::Decision(rd)
                            if rd.action == Action::PriceRestore
                                && rd.figures.get("restores").and_then(|f| f.as_str()) == Some(key.as_str()))
                            || undo_of(&x.body).is_some_and(|(of, _)| of == r.row_ref))
                });
                if !restored {
                    v.push(format!(
                        "{key} is REVERTED without an applied PRICE_RESTORE or undo"
                    ));
                }
            }
            (_, Some(_)) => v.push(format!(
                "{key} is {} but has an open discount window",
                r.status
            )),
            _ => {}
        }
    }
    let known: BTreeSet<String> = discounts.iter().map(|r| r.row_ref.to_string()).collect();
    for w in &o.windows {
        if !known.contains(&w.row_ref) {
            v.push(format!(
                "open window of {} points at {}, not an ON_DISCOUNT of these cycles",
                w.sku, w.row_ref
            ));
        }
    }
    let mut per_sku: BTreeMap<String, u32> = BTreeMap::new();
    for w in &o.windows {
        *per_sku.entry(w.sku.to_string()).or_default() += 1;
    }
    for (sku, n) in per_sku.into_iter().filter(|(_, n)| *n > 1) {
        v.push(format!("{sku} has {n} open discount windows"));
    }
}

/// Nothing left behind: the store_lock released (or lapsed), no dead letters, empty queues.
fn lock_and_queues(o: &Observed, v: &mut Vec<String>) {
    if let Some(l) = &o.lock {
        if !l.is_lapsed(o.now_ms) {
            v.push(format!(
                "{} still held by {} (version {}) after every cycle finished",
                l.name, l.owner, l.version
            ));
        }
    }
    for d in &o.dead_letters {
        v.push(format!("dead-lettered: {d}"));
    }
    for q in &o.left_in_queues {
        v.push(format!("left in a queue: {q}"));
    }
}

#[cfg(test)]
mod tests {
    //! The checker must be able to fail: each test breaks one invariant on purpose.
    use super::*;
    use chrono::{DateTime, Utc};
    use otto_core::audit::{AdDecisionRow, CycleRunRow, DecisionRow, DiscountWindow};
    use otto_core::cycle::CycleKind;
    use otto_core::metrics::ProductStatus;
    use otto_core::money::Currency;
    use otto_core::{Sku, StoreDay, StoreId};

    fn t() -> DateTime<Utc> {
        "2026-11-24T05:00:00Z".parse().expect("time")
    }
    fn cycle() -> CycleId {
        CycleId::new(
            StoreId::new("chk").expect("store"),
            CycleKind::Morning,
            StoreDay::parse("2026-11-24").expect("day"),
        )
    }
    fn eur(s: &str) -> Money {
        Money::parse(s, Currency::EUR).expect("money")
    }
    fn row(table: AuditTable, seq: u64, nk: &str, status: RowStatus, body: RowBody) -> AuditRow {
        AuditRow {
            row_ref: RowRef::new(table, seq),
            ulid: ulid::Ulid::nil(),
            cycle_id: cycle(),
            natural_key: nk.into(),
            status,
            created_at: t(),
            updated_at: t(),
            body,
            attempt: None,
        }
    }
    fn run(status: RowStatus, error: Option<&str>) -> AuditRow {
        row(
            AuditTable::CycleRuns,
            1,
            &cycle().to_string(),
            status,
            RowBody::CycleRun(CycleRunRow {
                kind: CycleKind::Morning,
                apply: true,
                scheduled_time: None,
                summary: None,
                finished_at: None,
                figures: Default::default(),
                error: error.map(str::to_string),
            }),
        )
    }
    fn draft(seq: u64, sku: &str, status: RowStatus, reversal: bool) -> AuditRow {
        row(
            AuditTable::DecisionLog,
            seq,
            &format!("{}|decide|{sku}", cycle()),
            status,
            RowBody::Decision(DecisionRow {
                sku: Sku::new(sku).expect("sku"),
                action: Action::Draft,
                trigger: None,
                classification: None,
                reasoning: "test".into(),
                figures: Default::default(),
                window: None,
                r#move: None,
                reversal_op: reversal.then(|| ReversalOp::ProductStatus {
                    product_id: format!("p-{sku}"),
                    status: "ACTIVE".into(),
                }),
                hold_reason: None,
                result: Some(serde_json::json!({"ok": true})),
            }),
        )
    }
    fn budget(seq: u64, campaign: &str, status: RowStatus) -> AuditRow {
        row(
            AuditTable::AdDecisionLog,
            seq,
            &format!("{}|campaign_plan|{campaign}", cycle()),
            status,
            RowBody::AdDecision(AdDecisionRow {
                channel: "google_ads".into(),
                campaign: campaign.into(),
                campaign_id: campaign.into(),
                action: Action::AdjustBudget,
                verdict: "AGREE".into(),
                reasoning: "test".into(),
                figures: Default::default(),
                budget_before: Some(eur("10")),
                budget_after: Some(eur("11")),
                rate_limit_position: None,
                watch: None,
                r#move: None,
                reversal_op: Some(ReversalOp::CampaignBudget {
                    customer_id: "1".into(),
                    budget_resource: format!("b/{campaign}"),
                    amount: eur("10"),
                }),
                hold_reason: None,
                result: Some(serde_json::json!({"ok": true})),
            }),
        )
    }
    /// The operator's undo of budget row `of`.
    fn undo(seq: u64, of: &AuditRow, status: RowStatus) -> AuditRow {
        let mut u = budget(seq, "c1", status);
        u.natural_key = format!("revert|{}", of.row_ref);
        if let RowBody::AdDecision(a) = &mut u.body {
            a.action = Action::Revert;
            a.r#move = Some(Move::Revert {
                reverts: of.row_ref,
                undo: Box::new(Move::CampaignBudget {
                    budget_resource: "b/c1".into(),
                    expected: Some(eur("11")),
                    amount: eur("10"),
                }),
            });
        }
        u
    }
    /// A healthy run whose budget change an operator undid once.
    fn undone() -> Observed {
        let mut o = healthy();
        o.policy.budget_changes_per_week = 2;
        let b = o
            .rows
            .iter_mut()
            .find(|r| r.row_ref.table == AuditTable::AdDecisionLog);
        let b = b.expect("the budget row");
        b.status = RowStatus::Reverted;
        let u = undo(2, b, RowStatus::Applied);
        o.ledger
            .push(mutation(u.row_ref, MutationKind::Budget, "b/c1"));
        o.rows.push(u);
        o
    }
    fn mutation(r: RowRef, kind: MutationKind, key: &str) -> Mutation {
        Mutation {
            row: Some(r),
            kind,
            key: key.into(),
            target: "x".into(),
            proc_id: 1,
            under_kill_switch: false,
        }
    }
    /// One COMPLETED stage_runs row per morning stage.
    fn stage_rows() -> Vec<AuditRow> {
        use otto_core::audit::StageRunRow;
        CycleKind::Morning
            .stages()
            .iter()
            .enumerate()
            .map(|(i, stage)| {
                row(
                    AuditTable::StageRuns,
                    i as u64 + 1,
                    &format!("{}|{stage}|0", cycle()),
                    RowStatus::Completed,
                    RowBody::StageRun(StageRunRow {
                        stage: *stage,
                        chunk: 0,
                        chunks: 1,
                        report: None,
                        figures: Default::default(),
                        error: None,
                    }),
                )
            })
            .collect()
    }
    /// A healthy run: one applied DRAFT, one applied budget change, each at the vendor once.
    fn healthy() -> Observed {
        let d = draft(1, "SKU-A", RowStatus::Applied, true);
        let b = budget(1, "c1", RowStatus::Applied);
        Observed {
            cycles: vec![cycle()],
            ledger: vec![
                mutation(d.row_ref, MutationKind::ProductStatus, "p-SKU-A"),
                mutation(b.row_ref, MutationKind::Budget, "b/c1"),
            ],
            rows: [run(RowStatus::Completed, None), d, b]
                .into_iter()
                .chain(stage_rows())
                .collect(),
            policy: Policy {
                catalog_moves_per_day: 1,
                budget_changes_per_week: 1,
                ..Policy::default()
            },
            windows: vec![],
            vendor: vec![],
            lock: None,
            now_ms: t().timestamp_millis(),
            dead_letters: vec![],
            left_in_queues: vec![],
        }
    }
    fn expect(o: &Observed, needle: &str) {
        let v = check(o);
        assert!(
            v.iter().any(|x| x.contains(needle)),
            "the checker should report {needle:?}; it reported {v:#?}"
        );
    }

    #[test]
    fn a_healthy_run_passes() {
        assert_eq!(check(&healthy()), Vec::<String>::new());
    }

    #[test]
    fn an_undo_made_once_passes_and_its_breaches_are_caught() {
        assert_eq!(check(&undone()), Vec::<String>::new());
        // Two undos raced and both reached the vendor.
        let mut o = undone();
        let u = o.rows.last().cloned().expect("the undo");
        o.ledger
            .push(mutation(u.row_ref, MutationKind::Budget, "b/c1"));
        expect(&o, "applied 2 times at the vendor");
        // Two REVERT rows for one original.
        let mut o = undone();
        let b = o
            .rows
            .iter()
            .find(|r| r.row_ref.table == AuditTable::AdDecisionLog);
        let mut second = undo(3, b.expect("budget"), RowStatus::Held);
        second.natural_key.push_str("|again");
        o.rows.push(second);
        expect(&o, "has 2 REVERT rows");
        // The undo applied, its original still APPLIED (or REVERTED with no undo applied).
        let mut o = undone();
        let b = o.rows.iter_mut().find(|r| r.natural_key.ends_with("|c1"));
        b.expect("the budget row").status = RowStatus::Applied;
        expect(
            &o,
            "undid ad_decision_log#1 (APPLIED) but ad_decision_log#1 is APPLIED",
        );
        let mut o = undone();
        o.rows.retain(|r| undo_of(&r.body).is_none());
        o.ledger.retain(|m| m.row.map(|r| r.seq) != Some(2));
        expect(&o, "is REVERTED without an applied undo");
    }

    #[test]
    fn catches_a_move_applied_twice() {
        let mut o = healthy();
        let again = o.ledger[0].clone();
        o.ledger.push(again);
        expect(&o, "applied 2 times at the vendor");
    }

    #[test]
    fn catches_a_vendor_change_without_a_row() {
        let mut o = healthy();
        o.ledger[0].row = None;
        expect(&o, "with no audit row behind it");
        let mut o = healthy();
        o.rows[1].status = RowStatus::Held;
        expect(&o, "changed the vendor but is HELD");
    }

    #[test]
    fn catches_a_budget_applied_without_reaching_the_vendor() {
        let mut o = healthy();
        o.ledger.pop();
        expect(&o, "the vendor never saw it");
    }

    #[test]
    fn catches_a_row_logged_twice() {
        let mut o = healthy();
        let mut dup = o.rows[1].clone();
        dup.row_ref = RowRef::new(AuditTable::DecisionLog, 9);
        dup.status = RowStatus::Recorded;
        o.rows.push(dup.clone());
        expect(
            &o,
            "natural key chk:morning:2026-11-24|decide|SKU-A logged 2 times",
        );
        // The same fact under another natural key (e.g. one with a timestamp in it).
        let mut o = healthy();
        dup.natural_key.push_str("|retry");
        o.rows.push(dup);
        expect(&o, "fact chk:morning:2026-11-24|SKU-A|DRAFT logged 2 times");
    }

    #[test]
    fn catches_a_missing_reversal_op_and_a_stranded_move() {
        let mut o = healthy();
        o.rows[1] = draft(1, "SKU-A", RowStatus::Applied, false);
        expect(&o, "without a stored reversal op");
        let mut o = healthy();
        o.rows.push(draft(2, "SKU-B", RowStatus::Applying, true));
        expect(&o, "stranded in APPLYING");
    }

    #[test]
    fn catches_a_cycle_left_running_or_failed_silently() {
        let mut o = healthy();
        o.rows[0] = run(RowStatus::Running, None);
        expect(&o, "left RUNNING");
        o.rows[0] = run(RowStatus::Failed, None);
        expect(&o, "FAILED without an error");
        o.rows[0] = run(RowStatus::Failed, Some("Shopify answered 403"));
        assert_eq!(check(&o), Vec::<String>::new(), "a visible failure is fine");
        o.rows.remove(0);
        expect(&o, "no cycle_runs row");
    }

    #[test]
    fn catches_a_completed_cycle_that_skipped_a_stage_and_a_move_without_its_answer() {
        let mut o = healthy();
        assert_eq!(check(&o), Vec::<String>::new());
        o.rows.pop();
        expect(&o, "campaign_plan chunk 0 has no COMPLETED stage_runs row");
        let mut o = healthy();
        o.rows.retain(|r| {
            matches!(
                r.row_ref.table,
                AuditTable::CycleRuns | AuditTable::StageRuns
            )
        });
        o.ledger.clear();
        let mut d = draft(1, "SKU-A", RowStatus::Applied, true);
        if let RowBody::Decision(b) = &mut d.body {
            b.result = None;
        }
        o.ledger
            .push(mutation(d.row_ref, MutationKind::ProductStatus, "p-SKU-A"));
        o.rows.push(d);
        expect(&o, "APPLIED without the vendor's answer");
    }

    #[test]
    fn catches_rate_limits_exceeded() {
        let mut o = healthy();
        let d2 = draft(2, "SKU-B", RowStatus::Applied, true);
        o.ledger
            .push(mutation(d2.row_ref, MutationKind::ProductStatus, "p-SKU-B"));
        o.rows.push(d2);
        expect(&o, "2 catalog moves applied on 2026-11-24, limit 1");
        let mut o = healthy();
        let b2 = budget(2, "c2", RowStatus::Applied);
        o.ledger
            .push(mutation(b2.row_ref, MutationKind::Budget, "b/c2"));
        o.rows.push(b2);
        expect(&o, "2 ADJUST_BUDGET applied in 2026-W48, limit 1");
    }

    #[test]
    fn catches_windows_out_of_step() {
        let mut o = healthy();
        let sku = Sku::new("SKU-D").expect("sku");
        let mut d = draft(3, "SKU-D", RowStatus::Applied, false);
        if let RowBody::Decision(b) = &mut d.body {
            b.action = Action::OnDiscount;
            b.window = Some(DiscountWindow {
                percent_bp: 1500,
                starts_on: cycle().day,
                ends_on: cycle().day.plus_days(1),
            });
            b.reversal_op = Some(ReversalOp::VariantPrice {
                product_id: "p".into(),
                variant_id: "v".into(),
                price: eur("20"),
                compare_at_price: None,
            });
            b.figures
                .insert("target_price".into(), serde_json::json!(eur("17")));
            b.figures
                .insert("target_compare_at".into(), serde_json::json!(eur("20")));
            b.figures
                .insert("expected_price".into(), serde_json::json!(eur("20")));
        }
        o.ledger
            .push(mutation(d.row_ref, MutationKind::VariantPrice, "v"));
        o.rows.push(d.clone());
        expect(&o, "its discount window is not open");
        o.windows.push(OpenWindow {
            sku: sku.clone(),
            ends_on: cycle().day.plus_days(1),
            row_ref: d.row_ref.to_string(),
        });
        o.vendor.push(Variant {
            sku,
            variant_id: "v".into(),
            product_id: "p".into(),
            title: "t".into(),
            price: eur("20"),
            compare_at_price: None,
            unit_cost: None,
            status: ProductStatus::Active,
            inventory: 1,
            tags: vec![],
            updated_at: t(),
        });
        expect(
            &o,
            "window open but the shop shows €20.00 (compare-at none), not €17.00",
        );
        o.vendor[0].price = eur("17");
        o.vendor[0].compare_at_price = Some(eur("20"));
        assert_eq!(check(&o), Vec::<String>::new());
        // A reversal op captured after the move (the discounted price) would restore nothing.
        if let Some(RowBody::Decision(b)) = o.rows.last_mut().map(|r| &mut r.body) {
            b.reversal_op = Some(ReversalOp::VariantPrice {
                product_id: "p".into(),
                variant_id: "v".into(),
                price: eur("17"),
                compare_at_price: None,
            });
        }
        expect(&o, "stored reversal price €17.00 but moved from €20.00");
    }

    #[test]
    fn catches_a_lock_left_held_and_dead_letters() {
        let mut o = healthy();
        o.lock = Some(Lease {
            name: "store_lock#chk".into(),
            owner: cycle().to_string(),
            version: "v1".into(),
            expires_at_ms: o.now_ms + 1,
        });
        expect(&o, "still held");
        let mut o = healthy();
        o.dead_letters.push("decide: {…}".into());
        expect(&o, "dead-lettered");
    }

    fn cs_send(seq: u64, status: RowStatus, result: bool) -> AuditRow {
        use otto_core::audit::CsEvaluationRow;
        row(
            AuditTable::CsThreadEvaluations,
            seq,
            &format!("{}|T-{seq}|v1", cycle()),
            status,
            RowBody::CsEvaluation(CsEvaluationRow {
                thread_id: format!("T-{seq}"),
                draft_version: Some("v1".into()),
                amount: None,
                language: Some("en".into()),
                category: None,
                verdict: "SEND".into(),
                reason: "test".into(),
                r#move: Some(Move::CsReply {
                    thread_id: format!("T-{seq}"),
                    draft_version: "v1".into(),
                }),
                figures: Default::default(),
                hold_reason: None,
                result: result.then(|| serde_json::json!({"sent": true})),
            }),
        )
    }

    #[test]
    fn catches_cs_replies_sent_twice_stranded_or_unseen() {
        let mut o = healthy();
        let c = cs_send(1, RowStatus::Applied, true);
        o.ledger
            .push(mutation(c.row_ref, MutationKind::CsReply, "T-1"));
        o.rows.push(c.clone());
        assert_eq!(check(&o), Vec::<String>::new());
        let again = o.ledger[2].clone();
        o.ledger.push(again);
        expect(&o, "applied 2 times at the vendor");
        let mut o = healthy();
        o.rows.push(c);
        expect(&o, "(CsReply) is APPLIED but the vendor never saw it");
        let mut o = healthy();
        o.rows.push(cs_send(2, RowStatus::Applying, false));
        expect(&o, "(CS reply to T-2) stranded in APPLYING");
        let mut o = healthy();
        let c = cs_send(3, RowStatus::Applied, false);
        o.ledger
            .push(mutation(c.row_ref, MutationKind::CsReply, "T-3"));
        o.rows.push(c);
        expect(&o, "APPLIED without the helpdesk's answer");
    }

    #[test]
    fn catches_a_vendor_write_under_the_kill_switch() {
        let mut o = healthy();
        o.ledger[1].under_kill_switch = true;
        expect(&o, "while the kill switch was on");
    }

    #[test]
    fn catches_a_move_applied_under_a_dry_run() {
        let mut o = healthy();
        if let RowBody::CycleRun(c) = &mut o.rows[0].body {
            c.apply = false;
        }
        expect(&o, "a row of dry-run cycle");
        expect(&o, "is APPLIED under dry-run cycle");
    }
}
