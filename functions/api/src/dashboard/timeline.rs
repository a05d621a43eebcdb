//! A SKU's timeline: its `decision_log` rows over time — one lane per action, each row a dot
//! coloured by its status (applied, held, reverted, dry run …) and linked to its row; the class
//! the classifier gave it each morning; its discount windows; the prices its moves set. The same
//! rows follow as a table, newest first, paged.
//!
//! `GET /dashboard/skus/{sku}[?cursor=]`

use super::html::{badge, esc, linkify_refs, row_href, row_link, urlenc};
use super::session::Authed;
use super::svg::{self, DayChart, DayPoint, Event, Mark, Span};
use super::units;
use super::views::when;
use super::{query, render, store_error_page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use otto_core::audit::{AuditRow, AuditTable, DecisionRow, RowBody};
use otto_core::metrics::ProductStatus;
use otto_core::{Action, CycleKind, Move, StoreDay};
use otto_store::{Page, PageReq, StoreError};
use std::fmt::Write;
use std::sync::Arc;

/// Rows per page (about two months of mornings).
const PAGE: usize = 60;
/// The fewest days a timeline spans.
const MIN_DAYS: i64 = 14;

async fn rows_of(
    state: &AppState,
    sku: &str,
    cursor: Option<String>,
) -> Result<Page<AuditRow>, StoreError> {
    state
        .ports
        .audit
        .by_subject(
            AuditTable::DecisionLog,
            &state.store_id,
            sku,
            PageReq {
                limit: PAGE,
                cursor,
            },
        )
        .await
}

fn decision(row: &AuditRow) -> Option<&DecisionRow> {
    match &row.body {
        RowBody::Decision(d) => Some(d),
        _ => None,
    }
}

/// `GET /dashboard/skus/{sku}`
pub async fn page(
    State(state): State<Arc<AppState>>,
    Authed(s): Authed,
    Path(asked): Path<String>,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let cursor = q.get("cursor").map(str::to_string);
    let mut sku = asked.clone();
    let mut page = match rows_of(&state, &sku, cursor.clone()).await {
        Ok(p) => p,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    // SKUs are case-sensitive in the rows; a lower-case ask finds the upper-case SKU.
    if page.items.is_empty() && cursor.is_none() && asked.to_uppercase() != asked {
        match rows_of(&state, &asked.to_uppercase(), None).await {
            Ok(p) if !p.items.is_empty() => {
                sku = asked.to_uppercase();
                page = p;
            }
            Ok(_) => {}
            Err(e) => return store_error_page(&state, Some(&s), e).await,
        }
    }
    let rows: Vec<AuditRow> = page
        .items
        .into_iter()
        .filter(|r| decision(r).is_some())
        .collect();
    let mut body = format!(
        "<h1>{} <span class=\"muted\">timeline</span></h1>",
        esc(&sku)
    );
    if sku != asked {
        let _ = write!(
            body,
            "<p class=\"meta\">No rows for {}; showing {}.</p>",
            esc(&asked),
            esc(&sku)
        );
    }
    if rows.is_empty() {
        let _ = write!(
            body,
            "<p class=\"notice info\">I don't have a decision row for SKU {}{}. <a href=\"/dashboard/rows?table=decision_log\">Today's decision rows</a></p>",
            esc(&asked),
            if cursor.is_some() { " before these" } else { "" }
        );
    } else {
        body.push_str(&charts(&sku, &rows));
        body.push_str(&table(&state.clock, &rows));
        if let Some(next) = page.next {
            let _ = write!(
                body,
                "<p><a class=\"button\" href=\"/dashboard/skus/{}?cursor={}\">Older rows →</a></p>",
                esc(&urlenc(&sku)),
                esc(&urlenc(&next))
            );
        }
    }
    render(&state, Some(&s), StatusCode::OK, "rows", &sku, &body).await
}

/// The days the chart spans: the rows' days, at least [`MIN_DAYS`].
fn span(rows: &[AuditRow]) -> (StoreDay, StoreDay) {
    let first = rows.iter().map(|r| r.day()).min();
    let last = rows.iter().map(|r| r.day()).max();
    let (Some(first), Some(last)) = (first, last) else {
        unreachable!("rows is not empty");
    };
    let from = first.min(last.plus_days(1 - MIN_DAYS));
    (from, last)
}

fn status_class(row: &AuditRow) -> String {
    format!("st-{}", row.status.as_str().to_ascii_lowercase())
}

fn charts(sku: &str, rows: &[AuditRow]) -> String {
    let (from, to) = span(rows);
    let actions: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| {
            rows.iter()
                .any(|r| decision(r).is_some_and(|d| d.action == *a))
        })
        .collect();
    let mut lanes = vec!["class".to_string()];
    lanes.extend(actions.iter().map(|a| a.as_str().to_string()));
    let mut events = Vec::new();
    for r in rows {
        let Some(d) = decision(r) else { continue };
        let label = format!(
            "{}: {} {}{} ({})",
            units::day(r.day()),
            d.action,
            r.status,
            d.classification
                .map(|c| format!(", {c}"))
                .unwrap_or_default(),
            r.row_ref
        );
        // The class of the morning (other cycles' rows repeat it).
        if let (Some(c), CycleKind::Morning) = (d.classification, r.cycle_id.kind) {
            events.push(Event {
                day: r.day(),
                lane: 0,
                class: format!("c-{}", c.as_str().to_ascii_lowercase()),
                label: format!("{}: classified {c} ({})", units::day(r.day()), r.row_ref),
                href: row_href(&r.row_ref),
            });
        }
        let lane = 1 + actions.iter().position(|a| *a == d.action).unwrap_or(0);
        events.push(Event {
            day: r.day(),
            lane,
            class: status_class(r),
            label,
            href: row_href(&r.row_ref),
        });
    }
    let spans: Vec<Span> = rows
        .iter()
        .filter_map(|r| {
            let w = decision(r)?.window.as_ref()?;
            Some(Span {
                from: w.starts_on,
                to: w.ends_on,
                label: format!(
                    "discount {} off, {} to {} ({}, {})",
                    units::pct(i64::from(w.percent_bp)),
                    units::day(w.starts_on),
                    units::day(w.ends_on),
                    r.row_ref,
                    r.status
                ),
                href: row_href(&r.row_ref),
            })
        })
        .collect();
    let mut out = String::from("<section><h2>Decisions</h2>");
    out.push_str(&svg::timeline(&svg::Timeline {
        id: "sku-timeline",
        title: &format!("{sku}: decisions over time"),
        desc: &format!(
            "{} decision rows from {} to {}: one lane per action, the class each morning on top, discount windows shaded",
            rows.len(),
            units::day(from),
            units::day(to)
        ),
        from,
        to,
        lanes: &lanes,
        events: &events,
        spans: &spans,
    }));
    out.push_str("<p class=\"legend\"><span class=\"key st-applied\"></span>applied <span class=\"key st-held\"></span>held <span class=\"key st-reverted\"></span>reverted <span class=\"key st-dry_run\"></span>dry run <span class=\"key st-other\"></span>other · class: <span class=\"key c-winner\"></span>WINNER <span class=\"key c-mid\"></span>MID <span class=\"key c-loser\"></span>LOSER <span class=\"key c-insufficient_data\"></span>too little data · <span class=\"key span\"></span>discount window</p></section>");
    out.push_str(&price_chart(rows, from, to));
    out
}

/// The price a row's move sets, with the price it expects before.
fn price_move(m: &Move) -> Option<(otto_core::Money, otto_core::Money)> {
    match m.target() {
        Move::VariantPrice {
            expected_price,
            price,
            ..
        } => Some((*expected_price, *price)),
        _ => None,
    }
}

fn price_chart(rows: &[AuditRow], from: StoreDay, to: StoreDay) -> String {
    let mut pts: Vec<DayPoint> = rows
        .iter()
        .filter_map(|r| {
            let d = decision(r)?;
            let (before, after) = price_move(d.r#move.as_ref()?)?;
            Some(DayPoint {
                day: r.day(),
                value: after.micros(),
                label: format!(
                    "{}: {} sets the price {before} → {after} ({}, {})",
                    units::day(r.day()),
                    d.action,
                    r.row_ref,
                    r.status
                ),
                href: row_href(&r.row_ref),
            })
        })
        .collect();
    let Some(cur) = rows
        .iter()
        .find_map(|r| price_move(decision(r)?.r#move.as_ref()?).map(|(b, _)| b.currency()))
    else {
        return String::new();
    };
    pts.sort_by_key(|p| p.day);
    format!(
        "<section><h2>Prices its moves set</h2>{}</section>",
        svg::day_chart(&DayChart {
            id: "sku-prices",
            title: "Prices set by its moves",
            desc: &format!("{} price moves", pts.len()),
            from,
            to,
            points: &pts,
            mark: Mark::Line,
            rules: &[],
            tick: &|v| units::money(v, cur),
            class: "price",
        })
    )
}

/// What a row's move changes, in words.
fn move_words(d: &DecisionRow) -> String {
    let mv = match &d.r#move {
        Some(Move::Revert { reverts, undo }) => {
            format!("undo of {reverts}: {}", one_move(undo))
        }
        Some(m) => one_move(m),
        None => String::new(),
    };
    let window = d
        .window
        .as_ref()
        .map(|w| {
            format!(
                "discount {} off, {} → {}",
                units::pct(i64::from(w.percent_bp)),
                units::day(w.starts_on),
                units::day(w.ends_on)
            )
        })
        .unwrap_or_default();
    match (mv.is_empty(), window.is_empty()) {
        (true, true) => "—".into(),
        (false, true) => mv,
        (true, false) => window,
        (false, false) => format!("{mv}; {window}"),
    }
}

fn one_move(m: &Move) -> String {
    match m {
        Move::ProductStatus { to, .. } => format!(
            "status → {}",
            match to {
                ProductStatus::Active => "ACTIVE",
                ProductStatus::Draft => "DRAFT",
                ProductStatus::Archived => "ARCHIVED",
            }
        ),
        Move::VariantPrice {
            expected_price,
            price,
            compare_at,
            ..
        } => {
            let change = otto_answers::human::change_pct(expected_price, price)
                .map(|p| format!(" ({})", otto_answers::human::signed_pct(p)))
                .unwrap_or_default();
            let compare = compare_at
                .map(|c| format!(", compare-at {c}"))
                .unwrap_or_default();
            format!("price {expected_price} → {price}{change}{compare}")
        }
        other => format!("{:?} move", other.kind()).to_lowercase(),
    }
}

fn table(clock: &otto_core::StoreClock, rows: &[AuditRow]) -> String {
    let mut out = String::from("<section><h2>The rows <span class=\"muted\">newest first</span></h2><div class=\"scroll\"><table class=\"rows\"><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Row</th><th scope=\"col\">Action</th><th scope=\"col\">Class</th><th scope=\"col\">Move</th><th scope=\"col\">Status</th><th scope=\"col\">Why</th></tr></thead><tbody>");
    for r in rows {
        let Some(d) = decision(r) else { continue };
        let _ = write!(
            out,
            "<tr><td data-label=\"When\"><div class=\"v\">{when}</div></td><td data-label=\"Row\"><div class=\"v\">{link}</div></td>\
<td data-label=\"Action\"><div class=\"v\">{action}{trigger}</div></td><td data-label=\"Class\"><div class=\"v\">{class}</div></td>\
<td data-label=\"Move\"><div class=\"v\">{mv}</div></td><td data-label=\"Status\"><div class=\"v\">{status}</div></td>\
<td data-label=\"Why\"><div class=\"v\">{why}</div></td></tr>",
            when = esc(&when(clock, &r.created_at)),
            link = row_link(&r.row_ref),
            action = esc(d.action.as_str()),
            trigger = d
                .trigger
                .map(|t| format!(" <span class=\"muted\">({})</span>", esc(t.as_str())))
                .unwrap_or_default(),
            class = esc(d.classification.map(|c| c.as_str()).unwrap_or("—")),
            mv = esc(&move_words(d)),
            status = badge(r.status.as_str()),
            why = linkify_refs(&otto_answers::human::humanise(
                d.hold_reason.as_deref().unwrap_or(&d.reasoning)
            )),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}
