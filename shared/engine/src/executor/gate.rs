//! The gates every move passes before its reversal op is stored: the kill switch, and the rate
//! limit of its kind (a conditional counter with the row's ref as token, so a retry or a second
//! caller never counts the same row twice).

use super::Run;
use chrono::Datelike;
use otto_core::audit::AuditRow;
use otto_core::policy::Policy;
use otto_core::{MoveKind, StoreDay, StoreId};
use otto_runtime::HandlerError;
use otto_store::{CounterAdd, Ports};

/// Name of the weekly budget-change counter (`rate#<store>#budget_changes#2026-W48`).
pub fn budget_counter(store: &StoreId, week: &str) -> String {
    format!("rate#{store}#budget_changes#{week}")
}

/// Name of the daily catalog-move counter.
pub fn catalog_counter(store: &StoreId, day: &str) -> String {
    format!("rate#{store}#catalog_moves#{day}")
}

/// Name of the daily discount-test counter.
pub fn discount_counter(store: &StoreId, day: &str) -> String {
    format!("rate#{store}#discount_tests#{day}")
}

/// One rate limit a move counts against.
struct Limit {
    counter: String,
    max: u32,
    what: &'static str,
    /// The first store day of the next period.
    resets_on: StoreDay,
}

fn limit_of(kind: MoveKind, policy: &Policy, store: &StoreId, today: StoreDay) -> Option<Limit> {
    let tomorrow = today.plus_days(1);
    match kind {
        MoveKind::ProductStatus => Some(Limit {
            counter: catalog_counter(store, &today.to_string()),
            max: policy.catalog_moves_per_day,
            what: "catalog moves today",
            resets_on: tomorrow,
        }),
        MoveKind::Discount => Some(Limit {
            counter: discount_counter(store, &today.to_string()),
            max: policy.discount_tests_per_day,
            what: "discount tests today",
            resets_on: tomorrow,
        }),
        MoveKind::Budget => Some(Limit {
            counter: budget_counter(store, &today.iso_week()),
            max: policy.budget_changes_per_week,
            what: "budget changes this week",
            resets_on: today
                .plus_days(7 - i64::from(today.date().weekday().num_days_from_monday())),
        }),
        // Restores close what was opened; a reply is one per judged draft.
        MoveKind::PriceRestore | MoveKind::CsReply => None,
    }
}

/// Why the move's rate limit stops it now, or None when it may go ahead (and is now counted).
pub(super) async fn rate_limit(
    ports: &Ports,
    row: &AuditRow,
    kind: MoveKind,
    run: &Run<'_>,
) -> Result<Option<String>, HandlerError> {
    let policy = otto_store::settings::policy(ports.settings.as_ref(), row.store()).await?;
    let Some(limit) = limit_of(kind, &policy, row.store(), run.today) else {
        return Ok(None);
    };
    // Counters outlive their period by a week, then age out.
    let expires = (run.now + chrono::Duration::days(15)).timestamp();
    let added = ports
        .counters
        .add(
            &limit.counter,
            1,
            Some(i64::from(limit.max)),
            Some(&row.row_ref.to_string()),
            Some(expires),
        )
        .await?;
    Ok(match added {
        CounterAdd::Added(_) | CounterAdd::AlreadyCounted(_) => None,
        CounterAdd::LimitReached(used) => Some(otto_core::hold::rate_limit_text(
            used,
            limit.max,
            limit.what,
            limit.resets_on,
        )),
    })
}

/// The kill switch's hold reason, when it is on.
pub(super) async fn kill_switch(
    ports: &Ports,
    store: &StoreId,
) -> Result<Option<String>, HandlerError> {
    let ks = otto_store::settings::kill_switch(ports.settings.as_ref(), store).await?;
    if !ks.on {
        return Ok(None);
    }
    // When: on the cited flip row, which every surface shows in store time (a UTC instant here
    // would reach people as is).
    let why = otto_core::hold::kill_switch_text(ks.by.as_deref(), ks.reason.as_deref(), ks.flip);
    Ok(Some(why))
}
