//! The self_calibrator's distribution for a day: the ROAS of every SKU in its population as a
//! histogram (coloured by the class each SKU got), the p75 winner floor, the p25 loser ceiling and
//! the median marked — from the morning's `calibrate` stage row (the thresholds) and its
//! `classify` stage rows (each SKU's ROAS and class). A bar opens the list of its SKUs, each
//! linked to its decision row of that morning.
//!
//! `GET /dashboard/calibration[?day=][&lo=&hi=][&skip=]`

use super::html::{esc, row_href, row_link, urlenc, Form};
use super::session::Authed;
use super::svg::{self, Bin, Histogram, Marker};
use super::units;
use super::{query, render, store_error_page};
use crate::AppState;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use otto_core::audit::{AuditRow, AuditTable, RowBody, RowRef};
use otto_core::report::{CalibrateReport, ClassifyReport};
use otto_core::stages::classify::Classified;
use otto_core::{Classification, CycleId, StoreDay};
use otto_store::{PageReq, StoreError};
use serde_json::Value;
use std::fmt::Write;
use std::sync::Arc;

/// SKUs listed per page of a bar.
const LIST: usize = 200;

/// What the calibrate row says, read from its thresholds (typed or as an older row kept them).
#[derive(Debug, Default)]
struct Marks {
    floor: Option<i64>,
    ceiling: Option<i64>,
    median: Option<i64>,
    n: Option<u64>,
    insufficient: Option<u64>,
    window: Option<(String, String)>,
    winner_pct_bp: Option<i64>,
    loser_pct_bp: Option<i64>,
}

impl Marks {
    fn of(t: &Value) -> Marks {
        let i = |k: &str| t.get(k).and_then(Value::as_i64);
        let rule = |k: &str| {
            t.get("rules")
                .and_then(|r| r.get(k))
                .and_then(Value::as_i64)
        };
        let day = |k: &str| t.get(k).and_then(Value::as_str).map(str::to_string);
        Marks {
            floor: i("winner_floor_roas_bp"),
            ceiling: i("loser_ceiling_roas_bp"),
            median: i("median_roas_bp"),
            n: t.get("n").and_then(Value::as_u64),
            insufficient: t.get("insufficient").and_then(Value::as_u64),
            window: day("window_from").zip(day("window_to")),
            winner_pct_bp: rule("winner_percentile_bp"),
            loser_pct_bp: rule("loser_percentile_bp"),
        }
    }
}

/// The calibration of one morning: its row and its thresholds.
struct Calibration {
    row: AuditRow,
    marks: Marks,
}

fn calibration_of(row: AuditRow) -> Option<Calibration> {
    let RowBody::StageRun(s) = &row.body else {
        return None;
    };
    let t = s
        .clone()
        .into_report::<CalibrateReport>()
        .and_then(|c| serde_json::to_value(c.thresholds).ok())
        .or_else(|| s.figures.get("thresholds").cloned())?;
    Some(Calibration {
        marks: Marks::of(&t),
        row,
    })
}

/// The day's calibration, or (no day asked) the latest one.
async fn calibration(
    state: &AppState,
    day: Option<StoreDay>,
) -> Result<Option<Calibration>, StoreError> {
    let audit = &state.ports.audit;
    let rows = match day {
        Some(d) => {
            audit
                .by_day_action(
                    AuditTable::StageRuns,
                    &state.store_id,
                    d,
                    Some("calibrate"),
                    PageReq::first(50),
                )
                .await?
                .items
        }
        None => {
            // Newest written first; the latest day wins (an import may write days out of order).
            let mut r = audit
                .by_subject(
                    AuditTable::StageRuns,
                    &state.store_id,
                    "calibrate",
                    PageReq::first(50),
                )
                .await?
                .items;
            r.sort_by_key(|row| (row.day(), row.row_ref.seq));
            r
        }
    };
    Ok(rows.into_iter().rev().find_map(calibration_of))
}

/// Every SKU the cycle's classifier judged, from its classify stage rows.
async fn classified(state: &AppState, cycle: &CycleId) -> Result<Vec<Classified>, StoreError> {
    let mut out = Vec::new();
    let mut page = PageReq::first(200);
    loop {
        let p = state
            .ports
            .audit
            .by_day_action(
                AuditTable::StageRuns,
                &state.store_id,
                cycle.day,
                Some("classify"),
                page.clone(),
            )
            .await?;
        for row in p.items.into_iter().filter(|r| &r.cycle_id == cycle) {
            if let RowBody::StageRun(s) = row.body {
                if let Some(r) = s.into_report::<ClassifyReport>() {
                    out.extend(r.classes.into_values().map(|e| e.c));
                }
            }
        }
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// The population: SKUs with a class from the thresholds and a ROAS.
fn population(all: Vec<Classified>) -> Vec<(i64, Classified)> {
    let mut p: Vec<(i64, Classified)> = all
        .into_iter()
        .filter(|c| c.class != Classification::InsufficientData)
        .filter_map(|c| Some((c.roas_bp?, c)))
        .collect();
    p.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.sku.cmp(&b.1.sku)));
    p
}

/// Bar edges: a nice step up to the 95th percentile (at least past the floor); the last bar
/// holds everything above.
fn edges(values: &[i64], marks: &Marks) -> (i64, i64) {
    let p95 = values
        .get(values.len().saturating_sub(1) * 95 / 100)
        .copied()
        .unwrap_or(0);
    let top = p95
        .max(marks.floor.unwrap_or(0) * 5 / 4)
        .max(marks.ceiling.unwrap_or(0))
        .max(1);
    let step = svg::nice_step(top, 20);
    (step, (top / step + 1) * step)
}

/// `[lo, hi)` of a bar, or `lo` and above for the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    lo: i64,
    hi: Option<i64>,
}

impl Range {
    fn holds(&self, v: i64) -> bool {
        v >= self.lo && self.hi.is_none_or(|h| v < h)
    }
    fn words(&self) -> String {
        match self.hi {
            Some(h) => format!(
                "ROAS {} to under {}",
                units::ratio_tick(self.lo),
                units::ratio_tick(h)
            ),
            None => format!("ROAS {} and above", units::ratio_tick(self.lo)),
        }
    }
    fn query(&self, day: StoreDay) -> String {
        let mut q = format!("/dashboard/calibration?day={day}&lo={}", self.lo);
        if let Some(h) = self.hi {
            let _ = write!(q, "&hi={h}");
        }
        q
    }
}

const CLASSES: [(Classification, &str); 3] = [
    (Classification::Loser, "c-loser"),
    (Classification::Mid, "c-mid"),
    (Classification::Winner, "c-winner"),
];

fn bins(pop: &[(i64, Classified)], marks: &Marks, day: StoreDay) -> Vec<(Range, Bin)> {
    let values: Vec<i64> = pop.iter().map(|p| p.0).collect();
    let (step, cap) = edges(&values, marks);
    let mut out = Vec::new();
    let mut lo = values
        .first()
        .map_or(0, |v| v.min(&0).div_euclid(step) * step);
    while lo <= cap {
        let range = Range {
            lo,
            hi: (lo < cap).then_some(lo + step),
        };
        let members: Vec<&Classified> = pop
            .iter()
            .filter(|p| range.holds(p.0))
            .map(|p| &p.1)
            .collect();
        let parts: Vec<(&'static str, usize)> = CLASSES
            .iter()
            .map(|(c, class)| (*class, members.iter().filter(|m| m.class == *c).count()))
            .collect();
        let counts: Vec<String> = CLASSES
            .iter()
            .zip(&parts)
            .filter(|(_, p)| p.1 > 0)
            .map(|((c, _), p)| format!("{} {}", p.1, c.as_str()))
            .collect();
        let label = format!(
            "{}: {} SKUs{}",
            range.words(),
            members.len(),
            if counts.is_empty() {
                String::new()
            } else {
                format!(" ({})", counts.join(", "))
            }
        );
        out.push((
            range,
            Bin {
                lo,
                hi: lo + step,
                parts,
                label,
                href: format!("{}#skus", range.query(day)),
            },
        ));
        lo += step;
    }
    out
}

fn markers(marks: &Marks, r: &RowRef) -> Vec<Marker> {
    let pct = |bp: Option<i64>, dflt: &str| {
        bp.map(|b| format!("p{}", b / 100))
            .unwrap_or_else(|| dflt.to_string())
    };
    let mut out = Vec::new();
    let mut add = |v: Option<i64>, what: String, class| {
        if let Some(v) = v {
            out.push(Marker {
                value: v,
                label: format!("{what} {}", units::ratio(v)),
                class,
                href: row_href(r),
            });
        }
    };
    add(
        marks.ceiling,
        format!("loser ceiling ({})", pct(marks.loser_pct_bp, "p25")),
        "ceiling",
    );
    add(marks.median, "median".into(), "median");
    add(
        marks.floor,
        format!("winner floor ({})", pct(marks.winner_pct_bp, "p75")),
        "floor",
    );
    out
}

fn day_nav(day: StoreDay, today: StoreDay) -> String {
    let mut out = format!(
        "<p class=\"daynav\"><a href=\"/dashboard/calibration?day={}\">← {}</a>",
        day.plus_days(-1),
        esc(&units::day(day.plus_days(-1)))
    );
    if day < today {
        let _ = write!(
            out,
            " · <a href=\"/dashboard/calibration?day={}\">{} →</a> · <a href=\"/dashboard/calibration\">latest</a>",
            day.plus_days(1),
            esc(&units::day(day.plus_days(1)))
        );
    }
    out.push_str("</p>");
    out
}

fn parse_day(q: &Form, problems: &mut Vec<String>) -> Option<StoreDay> {
    match q.get("day").map(StoreDay::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            problems.push(format!("{e}; showing the latest calibration"));
            None
        }
    }
}

fn parse_range(q: &Form, problems: &mut Vec<String>) -> Option<Range> {
    let num = |k: &str| q.get(k).map(str::parse::<i64>);
    match (num("lo"), num("hi")) {
        (None, _) => None,
        (Some(Ok(lo)), None) => Some(Range { lo, hi: None }),
        (Some(Ok(lo)), Some(Ok(hi))) if hi > lo => Some(Range { lo, hi: Some(hi) }),
        _ => {
            problems.push("lo and hi must be whole basis points with lo below hi".into());
            None
        }
    }
}

/// `GET /dashboard/calibration`
pub async fn page(State(state): State<Arc<AppState>>, Authed(s): Authed, uri: Uri) -> Response {
    let q = query(&uri);
    let today = state.clock.day_of(otto_core::clock::now());
    let mut problems = Vec::new();
    let asked = parse_day(&q, &mut problems);
    let range = parse_range(&q, &mut problems);
    let skip = q
        .get("skip")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut notices = String::new();
    for p in &problems {
        let _ = write!(notices, "<p class=\"notice error\">{}</p>", esc(p));
    }
    let body = match calibration(&state, asked).await {
        Ok(Some(cal)) => match body(&state, &cal, &notices, range, skip, today).await {
            Ok(b) => b,
            Err(e) => return store_error_page(&state, Some(&s), e).await,
        },
        Ok(None) => none_body(asked, &notices, today),
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "calibration",
        "Calibration",
        &body,
    )
    .await
}

/// No calibration on the day asked (or none at all).
fn none_body(asked: Option<StoreDay>, notices: &str, today: StoreDay) -> String {
    let mut body = format!("<h1>Calibration</h1>{notices}");
    if let Some(d) = asked {
        body.push_str(&day_nav(d, today));
    }
    let _ = write!(
        body,
        "<p class=\"notice info\">{} <a href=\"/dashboard/calibration\">The latest calibration</a></p>",
        match asked {
            Some(d) => format!(
                "No calibration on {}: the self_calibrator did not run that day (no calibrate stage row).",
                esc(&units::day(d))
            ),
            None => "No calibration yet: no morning cycle has run its self_calibrator.".into(),
        }
    );
    body
}

/// A morning's calibration: its thresholds, its histogram, and a bar's SKUs when one is asked.
async fn body(
    state: &AppState,
    cal: &Calibration,
    notices: &str,
    range: Option<Range>,
    skip: usize,
    today: StoreDay,
) -> Result<String, StoreError> {
    let day = cal.row.day();
    let mut body = format!(
        "<h1>Calibration <span class=\"muted\">{}</span></h1>",
        esc(&units::day(day))
    );
    body.push_str(&day_nav(day, today));
    body.push_str(notices);
    let pop = population(classified(state, &cal.row.cycle_id).await?);
    body.push_str(&summary(cal, pop.len()));
    if pop.is_empty() {
        body.push_str("<p class=\"notice info\">The per-SKU distribution is not in the audit plane for this morning (no classify stage row with SKUs in the population), so there is nothing to draw; the thresholds above are the calibrate row's.</p>");
        return Ok(body);
    }
    let b = bins(&pop, &cal.marks, day);
    let only: Vec<Bin> = b.iter().map(|(_, b)| b.clone()).collect();
    body.push_str(&svg::histogram(&Histogram {
        id: "roas-distribution",
        title: "ROAS of the calibrator's population",
        desc: &format!(
            "{} SKUs by ROAS over the calibration window, coloured by class; the winner floor, the median and the loser ceiling marked",
            pop.len()
        ),
        bins: &only,
        markers: &markers(&cal.marks, &cal.row.row_ref),
        tick: &units::ratio_tick,
    }));
    body.push_str("<p class=\"legend\"><span class=\"key c-loser\"></span>LOSER <span class=\"key c-mid\"></span>MID <span class=\"key c-winner\"></span>WINNER</p>");
    body.push_str(&bins_table(&b, day));
    if let Some(r) = range {
        body.push_str(&bin_list(state, &cal.row.cycle_id, &pop, r, skip).await?);
    }
    Ok(body)
}

fn summary(cal: &Calibration, drawn: usize) -> String {
    let m = &cal.marks;
    let fig = |v: Option<i64>| v.map(units::ratio).unwrap_or_else(|| "—".into());
    let window = m
        .window
        .as_ref()
        .and_then(|(f, t)| Some((StoreDay::parse(f).ok()?, StoreDay::parse(t).ok()?)))
        .map(|(f, t)| format!(" over {} → {}", units::day(f), units::day(t)))
        .unwrap_or_default();
    let mut out = format!(
        "<p>Winner floor <strong>{}</strong> · loser ceiling <strong>{}</strong> · median {} — ROAS{}, from {}.</p>",
        esc(&fig(m.floor)),
        esc(&fig(m.ceiling)),
        esc(&fig(m.median)),
        esc(&window),
        row_link(&cal.row.row_ref)
    );
    let counted = m.n.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let _ = write!(
        out,
        "<p class=\"meta\">{drawn} SKUs drawn; the calibrator counted {} in its population{}.{}</p>",
        esc(&counted),
        m.insufficient
            .map(|i| format!(" and left {i} out for too little data"))
            .unwrap_or_default(),
        if m.n.is_some_and(|n| n != drawn as u64) {
            " The classify rows of this morning do not hold every SKU the calibrator counted."
        } else {
            ""
        }
    );
    out
}

fn bins_table(b: &[(Range, Bin)], day: StoreDay) -> String {
    let mut out = String::from("<details><summary>The numbers</summary><table class=\"kv\"><thead><tr><th scope=\"col\">ROAS</th><th scope=\"col\">SKUs</th></tr></thead><tbody>");
    for (r, bin) in b.iter().filter(|(_, b)| b.parts.iter().any(|p| p.1 > 0)) {
        let n: usize = bin.parts.iter().map(|p| p.1).sum();
        let _ = write!(
            out,
            "<tr><th scope=\"row\"><a href=\"{}#skus\">{}</a></th><td>{}</td></tr>",
            esc(&r.query(day)),
            esc(&r.words()),
            esc(&bin
                .label
                .rsplit_once(": ")
                .map(|(_, t)| t.to_string())
                .unwrap_or_else(|| n.to_string()))
        );
    }
    out.push_str("</tbody></table></details>");
    out
}

/// The SKUs of one bar, each with its decision row of the calibrated morning.
async fn bin_list(
    state: &AppState,
    cycle: &CycleId,
    pop: &[(i64, Classified)],
    r: Range,
    skip: usize,
) -> Result<String, StoreError> {
    let members: Vec<&(i64, Classified)> = pop.iter().filter(|p| r.holds(p.0)).rev().collect();
    let shown: Vec<&(i64, Classified)> = members.iter().skip(skip).take(LIST).copied().collect();
    let keys: Vec<String> = shown
        .iter()
        .map(|(_, c)| format!("{cycle}|decide|{}", c.sku))
        .collect();
    let rows = state
        .ports
        .audit
        .get_many_by_natural_key(AuditTable::DecisionLog, &keys)
        .await?;
    let mut out = format!(
        "<section id=\"skus\"><h2>{} <span class=\"muted\">{} SKUs</span></h2>",
        esc(&r.words()),
        members.len()
    );
    if members.is_empty() {
        out.push_str(
            "<p class=\"muted\">No SKU of the population falls in this range.</p></section>",
        );
        return Ok(out);
    }
    out.push_str("<div class=\"scroll\"><table class=\"rows\"><thead><tr><th scope=\"col\">SKU</th><th scope=\"col\">ROAS</th><th scope=\"col\">Class</th><th scope=\"col\">Impressions</th><th scope=\"col\">Active days</th><th scope=\"col\">Decision</th></tr></thead><tbody>");
    for ((roas, c), row) in shown.iter().map(|p| (&p.0, &p.1)).zip(&rows) {
        let decision = match row {
            Some(row) => format!("{} {}", row_link(&row.row_ref), esc(&row.action_key())),
            None => "<span class=\"muted\">no decision row</span>".into(),
        };
        let _ = write!(
            out,
            "<tr><td data-label=\"SKU\"><div class=\"v\"><a href=\"/dashboard/skus/{}\">{}</a></div></td>\
<td data-label=\"ROAS\"><div class=\"v\">{}</div></td><td data-label=\"Class\"><div class=\"v\">{}</div></td>\
<td data-label=\"Impressions\"><div class=\"v\">{}</div></td><td data-label=\"Active days\"><div class=\"v\">{}</div></td>\
<td data-label=\"Decision\"><div class=\"v\">{decision}</div></td></tr>",
            esc(&urlenc(c.sku.as_str())),
            esc(c.sku.as_str()),
            esc(&units::ratio(*roas)),
            esc(c.class.as_str()),
            c.impressions,
            c.active_days,
        );
    }
    out.push_str("</tbody></table></div>");
    let next = skip + shown.len();
    if next < members.len() {
        let _ = write!(
            out,
            "<p>and {} more: <a class=\"button\" href=\"{}&amp;skip={next}#skus\">next {} →</a></p>",
            members.len() - next,
            esc(&r.query(cycle.day)),
            LIST.min(members.len() - next)
        );
    }
    out.push_str("</section>");
    Ok(out)
}
