//! "Share of moves later reverted", read from the shop's own write log (so it means the same for
//! every policy): of a policy's status and budget moves, how many the same policy undid or
//! reversed within `window_days`.
//!
//! * A status move (publish or unpublish of a product) is reverted when the same policy flips
//!   that product's status back within the window.
//! * A budget move (raise or cut of one budget) is reverted when the same policy moves that
//!   budget the other way within the window (a raise followed by a cut, or a cut by a raise),
//!   whatever the size of the second step.
//! * Price writes are left out: a discount test's restore is the planned end of the test, not a
//!   reversal of it, and no policy here changes list prices otherwise.
//!
//! An operator's undo (`otto rows revert`) reaches the shop as the opposite write, so it counts
//! like any other reversal.

use crate::writes::{Actor, Change, ShopWrite};
use otto_core::StoreDay;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RevertedMoves {
    /// The policy's status and budget moves.
    pub moves: usize,
    /// Of them, reversed by the same policy within the window.
    pub reverted: usize,
    pub window_days: i64,
}

impl RevertedMoves {
    /// Reverted share of moves, bp (None without moves).
    pub fn share_bp(&self) -> Option<i64> {
        (self.moves > 0).then(|| (self.reverted as i64) * 10_000 / self.moves as i64)
    }
}

/// Which entity a move changes and in which direction (+1 up/publish, −1 down/unpublish).
fn entity_and_direction(w: &ShopWrite) -> Option<(String, i8)> {
    match &w.change {
        Change::Status {
            product_id,
            from,
            to,
        } if from != to => {
            let up = *to == otto_core::metrics::ProductStatus::Active;
            Some((format!("status:{product_id}"), if up { 1 } else { -1 }))
        }
        Change::Budget {
            budget_resource,
            from,
            to,
        } if from != to => Some((
            format!("budget:{budget_resource}"),
            if to.micros() > from.micros() { 1 } else { -1 },
        )),
        _ => None,
    }
}

/// The policy's moves (writes by [`Actor::Policy`]) and how many were reversed within the window.
pub fn reverted_moves(writes: &[ShopWrite], window_days: i64) -> RevertedMoves {
    let mut by: BTreeMap<String, Vec<(StoreDay, i8)>> = BTreeMap::new();
    for w in writes.iter().filter(|w| w.actor == Actor::Policy) {
        if let Some((entity, dir)) = entity_and_direction(w) {
            by.entry(entity).or_default().push((w.day, dir));
        }
    }
    let mut out = RevertedMoves {
        window_days,
        ..RevertedMoves::default()
    };
    for moves in by.values() {
        for (i, (day, dir)) in moves.iter().enumerate() {
            out.moves += 1;
            let reversed = moves[i + 1..]
                .iter()
                .take_while(|(later, _)| later.days_since(*day) <= window_days)
                .any(|(_, d)| d != dir);
            out.reverted += usize::from(reversed);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use otto_core::metrics::ProductStatus;
    use otto_core::money::{Currency, Money};

    fn at(day: &str) -> (chrono::DateTime<chrono::Utc>, StoreDay) {
        let d = StoreDay::parse(day).unwrap();
        (
            chrono::DateTime::parse_from_rfc3339(&format!("{day}T05:00:00Z"))
                .unwrap()
                .into(),
            d,
        )
    }

    fn budget(day: &str, from: &str, to: &str, actor: Actor) -> ShopWrite {
        let (at, day) = at(day);
        let eur = |s: &str| Money::parse(s, Currency::EUR).unwrap();
        ShopWrite {
            at,
            day,
            actor,
            change: Change::Budget {
                budget_resource: "customers/1/campaignBudgets/1".into(),
                from: eur(from),
                to: eur(to),
            },
        }
    }

    fn status(day: &str, product: &str, from: ProductStatus, to: ProductStatus) -> ShopWrite {
        let (at, day) = at(day);
        ShopWrite {
            at,
            day,
            actor: Actor::Policy,
            change: Change::Status {
                product_id: product.into(),
                from,
                to,
            },
        }
    }

    #[test]
    fn a_move_undone_in_the_window_counts_once_and_same_direction_steps_do_not() {
        use ProductStatus::{Active, Draft};
        let writes = vec![
            // Two raises in a row (not a reversal of each other), then a cut 20 days after
            // the second: both raises are reversed within 30 days of themselves.
            budget("2026-09-01", "100.00", "110.00", Actor::Policy),
            budget("2026-09-05", "110.00", "121.00", Actor::Policy),
            budget("2026-09-25", "121.00", "108.90", Actor::Policy),
            // A merchant's edit is not the policy's move.
            budget("2026-09-26", "108.90", "200.00", Actor::Merchant),
            // Drafted, republished 31 days later: outside the window.
            status("2026-09-01", "P1", Active, Draft),
            status("2026-10-02", "P1", Draft, Active),
            // Drafted and republished the next week: reverted.
            status("2026-09-03", "P2", Active, Draft),
            status("2026-09-10", "P2", Draft, Active),
            // A write that changes nothing is no move.
            status("2026-09-11", "P3", Active, Active),
        ];
        let r = reverted_moves(&writes, 30);
        assert_eq!((r.moves, r.reverted), (7, 3), "{r:?}");
        assert_eq!(r.share_bp(), Some(4_285));
        assert_eq!(reverted_moves(&[], 30).share_bp(), None);
    }
}
