//! Campaigns over a window of days: spend, ROAS and the store's MER per campaign as Otto logged
//! them each morning (`ad_decision_log` rows: the campaign planner writes one per campaign per
//! morning — a move, a refusal or a KEEP row that records what it saw), and the store's MER from
//! each morning's `campaign_plan` stage row when a row lacks it. ROAS is the ad platform's
//! (conversion value ÷ cost); MER is the store's (store revenue ÷ ad spend). Only audit rows: the
//! same page after `otto export` → `otto import` into an empty store.
//!
//! `GET /dashboard/campaigns?days=14&to=2026-11-24` lists the campaigns with rows in the window;
//! `GET /dashboard/campaigns/{campaign_id}?days=&to=` charts one.

use super::html::{badge, esc, linkify_refs, row_href, row_link, urlenc, Form};
use super::svg::{self, DayChart, DayPoint, Mark, Rule};
use super::units;
use super::{query, render, store_error_page};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use otto_core::audit::{AdDecisionRow, AuditRow, AuditTable, RowBody, RowRef};
use otto_core::report::CampaignPlanReport;
use otto_core::stages::campaign_watch::ObservedDay;
use otto_core::{Currency, Money, StoreDay};
use otto_store::{PageReq, StoreError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use super::session::Authed;

/// The longest window a page reads (one query per day).
const MAX_DAYS: i64 = 90;

/// The days a page covers: `days` store days ending on `to`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: StoreDay,
    pub to: StoreDay,
    pub days: i64,
}

impl Window {
    /// From `?days=&to=` (14 days to today by default); a bad value is a problem in words.
    pub fn parse(q: &Form, today: StoreDay, problems: &mut Vec<String>) -> Window {
        let days = match q.get("days").map(str::parse::<i64>) {
            None => 14,
            Some(Ok(d)) if (1..=MAX_DAYS).contains(&d) => d,
            Some(_) => {
                problems.push(format!(
                    "days must be a whole number from 1 to {MAX_DAYS}; showing 14"
                ));
                14
            }
        };
        let to = match q.get("to").map(StoreDay::parse) {
            None => today,
            Some(Ok(d)) => d,
            Some(Err(e)) => {
                problems.push(format!("{e}; showing the days to today"));
                today
            }
        };
        Window {
            from: to.plus_days(1 - days),
            to,
            days,
        }
    }

    pub fn contains(&self, d: StoreDay) -> bool {
        d >= self.from && d <= self.to
    }

    fn query(&self, days: i64, to: StoreDay) -> String {
        format!("days={days}&amp;to={to}")
    }

    /// Links to the 14- and 28-day windows, the one before, and the one after (not past today).
    pub fn nav(&self, path: &str, today: StoreDay) -> String {
        let mut out = format!(
            "<p class=\"daynav\">{} → {} ({} days) · ",
            esc(&units::day(self.from)),
            esc(&units::day(self.to)),
            self.days
        );
        for d in [14, 28] {
            if d == self.days {
                let _ = write!(out, "<strong>{d} days</strong> · ");
            } else {
                let _ = write!(
                    out,
                    "<a href=\"{path}?{}\">{d} days</a> · ",
                    self.query(d, self.to)
                );
            }
        }
        let _ = write!(
            out,
            "<a href=\"{path}?{}\">← earlier</a>",
            self.query(self.days, self.from.plus_days(-1))
        );
        if self.to < today {
            let later = self.to.plus_days(self.days).min(today);
            let _ = write!(
                out,
                " · <a href=\"{path}?{}\">later →</a>",
                self.query(self.days, later)
            );
        }
        out.push_str("</p>");
        out
    }
}

/// One ad row's figures, as the charts read them: the typed watch of the morning, else (a row
/// written before every morning had one) the planner's figures.
struct AdPoint {
    row_ref: RowRef,
    day: StoreDay,
    status: otto_core::RowStatus,
    ad: AdDecisionRow,
    /// The newest ad day's spend (the day before the morning).
    day_spend: Option<ObservedDay>,
    /// Spend over the planner's window.
    spend: Option<Money>,
    /// The campaign's ROAS over the planner's window.
    roas_bp: Option<i64>,
    /// The store's MER (second half of the window).
    store_mer_bp: Option<i64>,
    target_bp: Option<i64>,
}

fn int(f: &BTreeMap<String, Value>, k: &str) -> Option<i64> {
    f.get(k).and_then(Value::as_i64)
}

impl AdPoint {
    fn of(row: AuditRow) -> Option<AdPoint> {
        let RowBody::AdDecision(ad) = row.body else {
            return None;
        };
        let f = &ad.figures;
        let w = ad.watch.as_deref().copied();
        Some(AdPoint {
            row_ref: row.row_ref,
            day: row.cycle_id.day,
            status: row.status,
            day_spend: w.and_then(|w| w.day),
            spend: w.map(|w| w.window.totals.spend).or_else(|| {
                f.get("spend")
                    .and_then(|v| serde_json::from_value::<Money>(v.clone()).ok())
            }),
            roas_bp: w
                .map(|w| w.window.totals.roas_bp)
                .unwrap_or_else(|| int(f, "roas_bp")),
            store_mer_bp: w.and_then(|w| w.store_mer_bp),
            target_bp: int(f, "target_roas_bp"),
            ad,
        })
    }
}

/// The store's MER of one morning: its `campaign_plan` stage row and the ratio over the second
/// half of the planner's window.
struct MerPoint {
    row_ref: RowRef,
    mer_bp: i64,
}

async fn pages_of_day(
    state: &AppState,
    table: AuditTable,
    day: StoreDay,
    action: Option<&str>,
) -> Result<Vec<AuditRow>, StoreError> {
    let mut out = Vec::new();
    let mut page = PageReq::first(500);
    loop {
        let p = state
            .ports
            .audit
            .by_day_action(table, &state.store_id, day, action, page.clone())
            .await?;
        out.extend(p.items);
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Each morning's store MER in the window, from its `campaign_plan` stage rows.
async fn store_mer(
    state: &AppState,
    w: Window,
) -> Result<BTreeMap<StoreDay, MerPoint>, StoreError> {
    let mut out = BTreeMap::new();
    for i in 0..w.days {
        let day = w.from.plus_days(i);
        let rows = pages_of_day(state, AuditTable::StageRuns, day, Some("campaign_plan")).await?;
        for row in rows {
            let RowBody::StageRun(s) = row.body else {
                continue;
            };
            let mer = s
                .into_report::<CampaignPlanReport>()
                .and_then(|r| r.store_mer_after_bp);
            if let Some(mer_bp) = mer {
                out.insert(
                    day,
                    MerPoint {
                        row_ref: row.row_ref,
                        mer_bp,
                    },
                );
            }
        }
    }
    Ok(out)
}

/// A campaign's ad rows in the window, oldest first (its rows newest first, until the window's
/// first day).
async fn campaign_points(
    state: &AppState,
    campaign_id: &str,
    w: Window,
) -> Result<Vec<AdPoint>, StoreError> {
    let mut out = Vec::new();
    let mut page = PageReq::first(100);
    loop {
        let p = state
            .ports
            .audit
            .by_subject(
                AuditTable::AdDecisionLog,
                &state.store_id,
                campaign_id,
                page.clone(),
            )
            .await?;
        let older = p.items.iter().any(|r| r.day() < w.from);
        out.extend(
            p.items
                .into_iter()
                .filter(|r| w.contains(r.day()))
                .filter_map(AdPoint::of),
        );
        match p.next {
            Some(c) if !older => page.cursor = Some(c),
            _ => break,
        }
    }
    out.sort_by_key(|p| (p.day, p.row_ref.seq));
    Ok(out)
}

fn rows_of_campaign(campaign_id: &str) -> String {
    format!(
        "/dashboard/rows?table=ad_decision_log&day=&sku={}",
        urlenc(campaign_id)
    )
}

fn campaign_href(campaign_id: &str, w: Window) -> String {
    format!(
        "/dashboard/campaigns/{}?days={}&to={}",
        urlenc(campaign_id),
        w.days,
        w.to
    )
}

fn mer_points(mer: &BTreeMap<StoreDay, MerPoint>) -> Vec<DayPoint> {
    mer.iter()
        .map(|(day, m)| DayPoint {
            day: *day,
            value: m.mer_bp,
            label: format!(
                "{}: store MER {} ({})",
                units::day(*day),
                units::ratio(m.mer_bp),
                m.row_ref
            ),
            href: row_href(&m.row_ref),
        })
        .collect()
}

const WHERE_FROM: &str = "<p class=\"meta\">From the ad rows Otto logged each morning: the campaign planner writes one per campaign — a budget move the judge agreed to or refused, or a KEEP row recording what it saw. Spend is the campaign's on the ad day before that morning; ROAS is the campaign's (conversion value ÷ cost, as Google Ads reports it) over the planner's window of mature days; MER is the store's (store revenue ÷ ad spend) over the second half of that window, when the store's orders were read. Click a bar or a point for its row.</p>";

/// `GET /dashboard/campaigns`
pub async fn index(State(state): State<Arc<AppState>>, Authed(s): Authed, uri: Uri) -> Response {
    let q = query(&uri);
    let today = state.clock.day_of(otto_core::clock::now());
    let mut problems = Vec::new();
    let w = Window::parse(&q, today, &mut problems);
    let mut rows = Vec::new();
    for i in 0..w.days {
        match pages_of_day(&state, AuditTable::AdDecisionLog, w.from.plus_days(i), None).await {
            Ok(r) => rows.extend(r.into_iter().filter_map(AdPoint::of)),
            Err(e) => return store_error_page(&state, Some(&s), e).await,
        }
    }
    let mer = match store_mer(&state, w).await {
        Ok(m) => m,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let mut body = String::from("<h1>Campaigns</h1>");
    body.push_str(&w.nav("/dashboard/campaigns", today));
    for p in &problems {
        let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(p));
    }
    body.push_str(WHERE_FROM);
    body.push_str(&mer_section(&mer, w));
    body.push_str(&campaign_table(&rows, w));
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "campaigns",
        "Campaigns",
        &body,
    )
    .await
}

fn mer_section(mer: &BTreeMap<StoreDay, MerPoint>, w: Window) -> String {
    let mut out = String::from("<section><h2>Store MER</h2>");
    if mer.is_empty() {
        out.push_str("<p class=\"muted\">No morning in this window logged a store MER (no campaign_plan stage row with one: the store's orders were not read).</p></section>");
        return out;
    }
    let pts = mer_points(mer);
    out.push_str(&svg::day_chart(&DayChart {
        id: "store-mer",
        title: "Store MER per morning",
        desc: &format!(
            "the store's MER (store revenue ÷ ad spend) as each morning's campaign planner logged it, {} mornings from {} to {}",
            pts.len(),
            units::day(w.from),
            units::day(w.to)
        ),
        from: w.from,
        to: w.to,
        points: &pts,
        mark: Mark::Line,
        rules: &[],
        tick: &units::ratio_tick,
        class: "mer",
    }));
    out.push_str("</section>");
    out
}

/// What a campaign did in the window, per campaign (newest name wins).
struct CampaignLine<'a> {
    name: &'a str,
    channel: &'a str,
    rows: usize,
    latest: &'a AdPoint,
}

fn campaign_table(rows: &[AdPoint], w: Window) -> String {
    let mut by_id: BTreeMap<&str, CampaignLine> = BTreeMap::new();
    for p in rows {
        let e = by_id
            .entry(p.ad.campaign_id.as_str())
            .or_insert(CampaignLine {
                name: &p.ad.campaign,
                channel: &p.ad.channel,
                rows: 0,
                latest: p,
            });
        e.rows += 1;
        if (p.day, p.row_ref.seq) >= (e.latest.day, e.latest.row_ref.seq) {
            e.latest = p;
            e.name = &p.ad.campaign;
        }
    }
    let mut out = format!(
        "<section><h2>Campaigns with rows in the window <span class=\"muted\">{}</span></h2>",
        by_id.len()
    );
    if by_id.is_empty() {
        let _ = write!(
            out,
            "<p class=\"muted\">Otto logged no ad rows from {} to {}: no morning cycle ran the campaign planner in these days.</p></section>",
            esc(&units::day(w.from)),
            esc(&units::day(w.to))
        );
        return out;
    }
    out.push_str("<div class=\"scroll\"><table class=\"rows\"><thead><tr><th scope=\"col\">Campaign</th><th scope=\"col\">Rows</th><th scope=\"col\">Latest</th><th scope=\"col\">Spend</th><th scope=\"col\">ROAS</th><th scope=\"col\">Budget</th><th scope=\"col\">Move</th></tr></thead><tbody>");
    for (id, c) in &by_id {
        let l = c.latest;
        let _ = write!(
            out,
            "<tr><td data-label=\"Campaign\"><div class=\"v\"><a href=\"{href}\">{name}</a> <span class=\"muted\">{id} · {channel}</span></div></td>\
<td data-label=\"Rows\"><div class=\"v\"><a href=\"{rows_href}\">{n}</a></div></td>\
<td data-label=\"Latest\"><div class=\"v\">{day} {link}</div></td>\
<td data-label=\"Spend\"><div class=\"v\">{spend}</div></td>\
<td data-label=\"ROAS\"><div class=\"v\">{roas}</div></td>\
<td data-label=\"Budget\"><div class=\"v\">{budget}</div></td>\
<td data-label=\"Move\"><div class=\"v\">{what} {status}</div></td></tr>",
            href = esc(&campaign_href(id, w)),
            name = esc(c.name),
            id = esc(id),
            channel = esc(c.channel),
            rows_href = esc(&rows_of_campaign(id)),
            n = c.rows,
            day = esc(&units::day(l.day)),
            link = row_link(&l.row_ref),
            spend = esc(&l.spend.map(|m| m.to_string()).unwrap_or_else(|| "—".into())),
            roas = esc(&l.roas_bp.map(units::ratio).unwrap_or_else(|| "—".into())),
            budget = esc(&budget(&l.ad)),
            what = esc(&move_text(&l.ad)),
            status = badge(l.status.as_str()),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

fn budget(ad: &AdDecisionRow) -> String {
    match (ad.budget_before, ad.budget_after) {
        (Some(b), Some(a)) => match otto_answers::human::change_pct(&b, &a) {
            Some(p) => format!("{b} → {a} ({})", otto_answers::human::signed_pct(p)),
            None => format!("{b} → {a}"),
        },
        (Some(b), None) => b.to_string(),
        (None, Some(a)) => format!("→ {a}"),
        (None, None) => "—".into(),
    }
}

/// `GET /dashboard/campaigns/{campaign_id}`
pub async fn page(
    State(state): State<Arc<AppState>>,
    Authed(s): Authed,
    Path(campaign_id): Path<String>,
    uri: Uri,
) -> Response {
    let q = query(&uri);
    let today = state.clock.day_of(otto_core::clock::now());
    let mut problems = Vec::new();
    let w = Window::parse(&q, today, &mut problems);
    let points = match campaign_points(&state, &campaign_id, w).await {
        Ok(p) => p,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let mer = match store_mer(&state, w).await {
        Ok(m) => m,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let name = points
        .last()
        .map(|p| p.ad.campaign.clone())
        .unwrap_or_else(|| campaign_id.clone());
    let path = format!("/dashboard/campaigns/{}", urlenc(&campaign_id));
    let mut body = format!(
        "<h1>{} <span class=\"muted\">campaign {}</span></h1>",
        esc(&name),
        esc(&campaign_id)
    );
    body.push_str(&w.nav(&path, today));
    for p in &problems {
        let _ = write!(body, "<p class=\"notice error\">{}</p>", esc(p));
    }
    if points.is_empty() {
        let _ = write!(
            body,
            "<p class=\"notice info\">Otto logged no ad rows for campaign {} from {} to {}: no morning cycle ran the campaign planner for it in these days. <a href=\"{}\">All its rows</a> · <a href=\"/dashboard/campaigns\">all campaigns</a></p>",
            esc(&campaign_id),
            esc(&units::day(w.from)),
            esc(&units::day(w.to)),
            esc(&rows_of_campaign(&campaign_id))
        );
    } else {
        body.push_str(WHERE_FROM);
        body.push_str(&charts(&points, &mer, w));
        body.push_str(&points_table(&points, &mer));
        let _ = write!(
            body,
            "<p><a href=\"{}\">All rows of this campaign</a></p>",
            esc(&rows_of_campaign(&campaign_id))
        );
    }
    render(&state, Some(&s), StatusCode::OK, "campaigns", &name, &body).await
}

/// The latest row of each day (a day's rerun replaces its earlier row in the charts; the table
/// lists both).
fn per_day(points: &[AdPoint]) -> BTreeMap<StoreDay, &AdPoint> {
    points.iter().map(|p| (p.day, p)).collect()
}

fn charts(points: &[AdPoint], mer: &BTreeMap<StoreDay, MerPoint>, w: Window) -> String {
    let days = per_day(points);
    let currency: Option<Currency> = days
        .values()
        .find_map(|p| p.day_spend.map(|d| d.totals.spend.currency()));
    let point = |p: &AdPoint, value: i64, what: String| DayPoint {
        day: p.day,
        value,
        label: format!("{}: {what} ({})", units::day(p.day), p.row_ref),
        href: row_href(&p.row_ref),
    };
    let spend: Vec<DayPoint> = days
        .values()
        .filter_map(|p| {
            let d = p.day_spend?;
            let m = Some(d.totals.spend).filter(|m| Some(m.currency()) == currency)?;
            Some(point(p, m.micros(), spend_of_day(&d)))
        })
        .collect();
    let roas: Vec<DayPoint> = days
        .values()
        .filter_map(|p| {
            Some(point(
                p,
                p.roas_bp?,
                format!(
                    "ROAS {} over the planner's window",
                    units::ratio(p.roas_bp?)
                ),
            ))
        })
        .collect();
    let mer_pts: Vec<DayPoint> = (0..w.days)
        .map(|i| w.from.plus_days(i))
        .filter_map(
            |d| match store_mer_of(days.get(&d).copied(), mer.get(&d))? {
                MerOf::Row(p, m) => Some(point(p, m, format!("store MER {}", units::ratio(m)))),
                MerOf::Stage(m) => Some(DayPoint {
                    day: d,
                    value: m.mer_bp,
                    label: format!(
                        "{}: store MER {} ({})",
                        units::day(d),
                        units::ratio(m.mer_bp),
                        m.row_ref
                    ),
                    href: row_href(&m.row_ref),
                }),
            },
        )
        .collect();
    let target: Vec<Rule> = days
        .values()
        .rev()
        .find_map(|p| p.target_bp.map(|t| (p, t)))
        .map(|(p, t)| Rule {
            value: t,
            label: format!("target ROAS {}", units::ratio(t)),
            class: "target",
            href: Some(row_href(&p.row_ref)),
        })
        .into_iter()
        .collect();
    let mut out = String::new();
    let span = format!("{} to {}", units::day(w.from), units::day(w.to));
    let cur = currency.unwrap_or(Currency::EUR);
    out.push_str(&chart_section(
        "Spend",
        &spend,
        "no row in this window logged the campaign's spend of a day",
        &DayChart {
            id: "spend",
            title: "Spend per day",
            desc: &format!("the campaign's spend on the ad day before each morning, {span}"),
            from: w.from,
            to: w.to,
            points: &spend,
            mark: Mark::Bars,
            rules: &[],
            tick: &|v| units::money(v, cur),
            class: "spend",
        },
    ));
    out.push_str(&chart_section(
        "ROAS",
        &roas,
        "no row in this window logged the campaign's ROAS",
        &DayChart {
            id: "roas",
            title: "ROAS per morning",
            desc: &format!(
                "the campaign's return on ad spend (conversion value ÷ cost) over the planner's window, as a ratio, {span}"
            ),
            from: w.from,
            to: w.to,
            points: &roas,
            mark: Mark::Line,
            rules: &target,
            tick: &units::ratio_tick,
            class: "roas",
        },
    ));
    out.push_str(&chart_section(
        "Store MER",
        &mer_pts,
        "no morning in this window logged the store's MER (the store's orders were not read)",
        &DayChart {
            id: "mer",
            title: "Store MER per morning",
            desc: &format!(
                "the store's marketing efficiency ratio (store revenue ÷ ad spend), beside the campaign's ROAS, {span}"
            ),
            from: w.from,
            to: w.to,
            points: &mer_pts,
            mark: Mark::Line,
            rules: &[],
            tick: &units::ratio_tick,
            class: "mer",
        },
    ));
    out
}

/// "spend €30.00 on Sun 22 Nov (provisional)".
fn spend_of_day(d: &ObservedDay) -> String {
    format!(
        "spend {} on {}{}",
        d.totals.spend,
        units::day(d.day),
        if d.provisional { " (provisional)" } else { "" }
    )
}

/// Where a morning's store MER comes from: the campaign's row, else the campaign_plan stage row.
enum MerOf<'a> {
    Row(&'a AdPoint, i64),
    Stage(&'a MerPoint),
}

fn store_mer_of<'a>(p: Option<&'a AdPoint>, stage: Option<&'a MerPoint>) -> Option<MerOf<'a>> {
    match (p.and_then(|p| p.store_mer_bp.map(|m| (p, m))), stage) {
        (Some((p, m)), _) => Some(MerOf::Row(p, m)),
        (None, Some(m)) => Some(MerOf::Stage(m)),
        (None, None) => None,
    }
}

fn chart_section(h: &str, pts: &[DayPoint], none: &str, c: &DayChart) -> String {
    if pts.is_empty() {
        return format!(
            "<section><h2>{}</h2><p class=\"muted\">{}.</p></section>",
            esc(h),
            esc(none)
        );
    }
    format!(
        "<section><h2>{}</h2>{}</section>",
        esc(h),
        svg::day_chart(c)
    )
}

fn points_table(points: &[AdPoint], mer: &BTreeMap<StoreDay, MerPoint>) -> String {
    let mut out = String::from("<section><h2>The rows</h2><div class=\"scroll\"><table class=\"rows\"><thead><tr><th scope=\"col\">Day</th><th scope=\"col\">Row</th><th scope=\"col\">Move</th><th scope=\"col\">Budget</th><th scope=\"col\">Spend</th><th scope=\"col\">ROAS</th><th scope=\"col\">Store MER</th><th scope=\"col\">Why</th></tr></thead><tbody>");
    for p in points.iter().rev() {
        let mer_cell = match store_mer_of(Some(p), mer.get(&p.day)) {
            Some(MerOf::Row(_, m)) => esc(&units::ratio(m)),
            Some(MerOf::Stage(m)) => format!(
                "{} <span class=\"muted\">({})</span>",
                esc(&units::ratio(m.mer_bp)),
                row_link(&m.row_ref)
            ),
            None => "—".into(),
        };
        let spend = match (&p.day_spend, p.spend) {
            (Some(d), Some(w)) => format!("{}; {w} over the window", spend_of_day(d)),
            (Some(d), None) => spend_of_day(d),
            (None, Some(w)) => format!("{w} over the window"),
            (None, None) => "—".into(),
        };
        let _ = write!(
            out,
            "<tr><td data-label=\"Day\"><div class=\"v\">{day}</div></td><td data-label=\"Row\"><div class=\"v\">{link}</div></td>\
<td data-label=\"Move\"><div class=\"v\">{what} {status}</div></td><td data-label=\"Budget\"><div class=\"v\">{budget}</div></td>\
<td data-label=\"Spend\"><div class=\"v\">{spend}</div></td><td data-label=\"ROAS\"><div class=\"v\">{roas}</div></td>\
<td data-label=\"Store MER\"><div class=\"v\">{mer_cell}</div></td><td data-label=\"Why\"><div class=\"v\">{why}</div></td></tr>",
            day = esc(&units::day(p.day)),
            link = row_link(&p.row_ref),
            what = esc(&move_text(&p.ad)),
            status = badge(p.status.as_str()),
            budget = esc(&budget(&p.ad)),
            spend = esc(&spend),
            roas = esc(&p.roas_bp.map(units::ratio).unwrap_or_else(|| "—".into())),
            why = linkify_refs(&otto_answers::human::humanise(
                p.ad.hold_reason.as_deref().unwrap_or(&p.ad.reasoning)
            )),
        );
    }
    out.push_str("</tbody></table></div></section>");
    out
}

/// "ADJUST_BUDGET · judge AGREE", or "no move" for a morning's KEEP row.
fn move_text(ad: &AdDecisionRow) -> String {
    if ad.r#move.is_none() && ad.action == otto_core::Action::Keep {
        return "no move".into();
    }
    format!("{} · judge {}", ad.action, ad.verdict)
}
