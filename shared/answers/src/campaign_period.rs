//! A campaign's spend, conversion value and ROAS over a period of ad days, from the morning rows
//! that recorded each day ([`CampaignWatch`](otto_core::stages::campaign_watch::CampaignWatch):
//! every morning's campaign_plan row carries the ad day before it). One figure per ad day — the
//! newest row that recorded it, as a rerun re-reads a restated day — so the engine's sum and the
//! guard's check of it are the same arithmetic.

use crate::question::Days;
use otto_core::audit::{AuditRow, RowBody, RowRef};
use otto_core::stages::campaign_watch::{roas_bp, ObservedDay};
use otto_core::{Money, StoreDay};
use std::collections::BTreeMap;

/// One ad day and the row that recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayFigure {
    pub row_ref: RowRef,
    pub day: ObservedDay,
}

/// The days of a period that have a figure, and their totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub days: Vec<DayFigure>,
    pub spend: Money,
    pub conversion_value: Money,
    pub roas_bp: Option<i64>,
}

impl Period {
    /// The period's days with no recorded figure, oldest first.
    pub fn missing(&self, period: &Days) -> Vec<StoreDay> {
        let have: Vec<StoreDay> = self.days.iter().map(|d| d.day.day).collect();
        let mut out = Vec::new();
        let mut d = period.first();
        while d <= period.last() {
            if !have.contains(&d) {
                out.push(d);
            }
            d = d.plus_days(1);
        }
        out
    }
}

/// The newest recorded figure of each ad day in `period` (every day when `None`), summed; None
/// when no row records a day of it, or the days are in more than one currency.
pub fn period_of(rows: &[AuditRow], period: Option<&Days>) -> Option<Period> {
    let mut by_day: BTreeMap<StoreDay, DayFigure> = BTreeMap::new();
    for r in rows {
        let RowBody::AdDecision(a) = &r.body else {
            continue;
        };
        let Some(day) = a.watch.as_ref().and_then(|w| w.day) else {
            continue;
        };
        if period.is_some_and(|p| !p.contains(day.day)) {
            continue;
        }
        let newer = by_day
            .get(&day.day)
            .is_none_or(|had| had.row_ref.seq < r.row_ref.seq);
        if newer {
            by_day.insert(
                day.day,
                DayFigure {
                    row_ref: r.row_ref,
                    day,
                },
            );
        }
    }
    let first = by_day.values().next()?.day.totals;
    let (mut spend, mut value) = (
        Money::zero(first.spend.currency()),
        Money::zero(first.spend.currency()),
    );
    for d in by_day.values() {
        spend = spend.checked_add(&d.day.totals.spend).ok()?;
        value = value.checked_add(&d.day.totals.conversion_value).ok()?;
    }
    Some(Period {
        days: by_day.into_values().collect(),
        spend,
        conversion_value: value,
        roas_bp: roas_bp(value.micros(), spend.micros()),
    })
}
