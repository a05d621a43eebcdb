//! Held rows grouped by why they are held ([`otto_core::hold::HoldGroup`]: the kill switch, each
//! rate limit with the day it resets, an outside edit, the CS judge, anything else), each group
//! with what a release would do now and a bulk release of its rows.
//!
//! `GET /dashboard/holds` · `POST /dashboard/holds/release` (CSRF; `ref=` per row): every row
//! through [`otto_engine::holds::release_many`] — the single release's path — one result line per
//! row; a row that fails is reported on its line, never as an error of the batch.

use super::csrf::CsrfForm;
use super::html::{badge, esc, linkify_refs, row_link, Form};
use super::session::{Authed, Session};
use super::svg::{self, HBar};
use super::views::{csrf_field, held_item, held_what};
use super::{kill_state, render, store_error_page, units};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use otto_core::audit::{AuditRow, RowRef};
use otto_core::hold::{HoldGroup, HoldReason};
use otto_core::policy::KillSwitch;
use otto_core::{RowStatus, StoreDay};
use otto_engine::holds::{BulkLine, BulkResult, ReleaseError};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Duration;

/// The most rows one page lists (and one bulk release takes).
const MAX_ROWS: usize = 500;
/// How long one bulk release runs before it answers (under the API Gateway's 30 s).
const BUDGET: Duration = Duration::from_secs(20);

/// Held rows by group, each group oldest first.
fn grouped(held: Vec<AuditRow>) -> BTreeMap<HoldGroup, Vec<(HoldReason, AuditRow)>> {
    let mut out: BTreeMap<HoldGroup, Vec<(HoldReason, AuditRow)>> = BTreeMap::new();
    for row in held {
        let why = HoldReason::of_row(&row);
        out.entry(why.group()).or_default().push((why, row));
    }
    out
}

/// What releasing a group's rows does now, in words.
fn explain(
    g: &HoldGroup,
    rows: &[(HoldReason, AuditRow)],
    kill: &KillSwitch,
    today: StoreDay,
) -> String {
    match g {
        HoldGroup::KillSwitch => {
            let flips: Vec<String> = rows
                .iter()
                .filter_map(|(w, _)| match w {
                    HoldReason::KillSwitch { flip } => *flip,
                    _ => None,
                })
                .collect::<std::collections::BTreeSet<RowRef>>()
                .iter()
                .map(row_link)
                .collect();
            let cited = if flips.is_empty() {
                String::new()
            } else {
                format!(" Held under the flip{} {}.", if flips.len() > 1 { "s" } else { "" }, flips.join(", "))
            };
            if kill.on {
                format!("The kill switch is still <strong>ON</strong>: released now, each row is re-checked and held again. <a href=\"/dashboard/kill-switch\">Turn it off</a> first.{cited}")
            } else {
                format!("The kill switch is off now: a release applies each row after re-checking today's limits and the vendor's state.{cited}")
            }
        }
        HoldGroup::RateLimit { resets_on, .. } => {
            let used = rows.iter().find_map(|(w, _)| match w {
                HoldReason::RateLimit {
                    used: Some(u),
                    max: Some(m),
                    ..
                } => Some(format!("{u} of {m} were used when they were held. ")),
                _ => None,
            });
            let when = match resets_on {
                Some(d) if *d > today => format!(
                    "The limit resets at the start of {} (store time); until then a release is held again.",
                    esc(&units::day(*d))
                ),
                Some(d) => format!(
                    "It reset at the start of {} (store time): a release applies them as far as today's limit allows.",
                    esc(&units::day(*d))
                ),
                None => "A release re-checks the limit; what it does not allow is held again.".into(),
            };
            format!("{}{when}", used.unwrap_or_default())
        }
        HoldGroup::OutsideEdit => "Someone changed the price or the budget after Otto decided. A release re-reads the vendor: unless it is back to what Otto expected, the row is held again. To keep the outside change, leave them; they expire when the next cycle of their kind decides afresh.".into(),
        HoldGroup::Judge { .. } => "The judge held the drafted reply. A release sends the judged draft version exactly as it was judged (a draft changed since is not sent).".into(),
        HoldGroup::Other => "Each row says why it is held; a release re-checks it before anything is applied.".into(),
    }
}

fn bulk_form(g: &HoldGroup, rows: &[(HoldReason, AuditRow)], s: &Session) -> String {
    let mut refs = String::new();
    for (_, r) in rows {
        let _ = write!(
            refs,
            "<input type=\"hidden\" name=\"ref\" value=\"{}\">",
            esc(&r.row_ref.to_string())
        );
    }
    format!(
        "<form method=\"post\" action=\"/dashboard/holds/release\" class=\"actions\" data-confirm=\"Release all {n} rows held for: {g}?\">{csrf}\
<input type=\"hidden\" name=\"group\" value=\"{g}\">{refs}\
<button type=\"submit\" class=\"button primary\">Release all {n}</button></form>",
        n = rows.len(),
        g = esc(&g.to_string()),
        csrf = csrf_field(s),
    )
}

/// `GET /dashboard/holds`
pub async fn page(State(state): State<Arc<AppState>>, Authed(s): Authed) -> Response {
    let held = match otto_engine::holds::held(&state.ports, &state.store_id, MAX_ROWS).await {
        Ok(h) => h,
        Err(e) => return store_error_page(&state, Some(&s), e).await,
    };
    let kill = kill_state(&state).await.unwrap_or_default();
    let today = state.clock.day_of(otto_core::clock::now());
    let n = held.len();
    let mut body = format!(
        "<h1>Held rows <span class=\"muted\">{n}</span></h1>\
<p class=\"meta\">Stopped by the kill switch, a rate limit, an outside edit or a judge, grouped by why. Releasing one hands it to its executor, which re-checks the kill switch, the limits and the margin gates before it applies it.</p>"
    );
    if n == MAX_ROWS {
        let _ = write!(body, "<p class=\"notice info\">The oldest {MAX_ROWS} held rows are listed; release some to see the rest.</p>");
    }
    if held.is_empty() {
        body.push_str("<p class=\"muted\">Nothing is held.</p>");
    }
    let groups = grouped(held);
    if !groups.is_empty() {
        let bars: Vec<HBar> = groups
            .iter()
            .enumerate()
            .map(|(i, (g, rows))| HBar {
                name: g.to_string(),
                count: rows.len(),
                class: "held",
                label: format!("{g}: {} held rows", rows.len()),
                href: format!("#g-{i}"),
            })
            .collect();
        body.push_str(&svg::hbars(
            "held-groups",
            "Held rows by reason",
            &format!("{n} held rows in {} groups", groups.len()),
            &bars,
        ));
    }
    for (i, (g, rows)) in groups.iter().enumerate() {
        let _ = write!(
            body,
            "<section class=\"hold-group\" id=\"g-{i}\"><h2>{} <span class=\"muted\">{}</span></h2><p class=\"meta\">{}</p>{}<ul class=\"cards\">",
            esc(&g.to_string()),
            rows.len(),
            explain(g, rows, &kill, today),
            bulk_form(g, rows, &s)
        );
        for (_, row) in rows {
            body.push_str(&held_item(row));
        }
        body.push_str("</ul></section>");
    }
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "holds",
        "Held rows",
        &body,
    )
    .await
}

/// How a line ended, for the tally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tally {
    Applied,
    HeldAgain,
    Already,
    Other,
    Refused,
    NotTried,
}

impl Tally {
    fn words(&self) -> &'static str {
        match self {
            Tally::Applied => "applied",
            Tally::HeldAgain => "held again",
            Tally::Already => "already released by someone else",
            Tally::Other => "released, not applied yet",
            Tally::Refused => "not released",
            Tally::NotTried => "not tried",
        }
    }
}

/// One line's tally, what it is about, and its result in HTML.
fn line(l: &BulkLine) -> (Tally, String, String) {
    match &l.result {
        BulkResult::Done(rel) => {
            let t = match (rel.released_now, rel.row.status) {
                (false, _) => Tally::Already,
                (true, RowStatus::Applied) => Tally::Applied,
                (true, RowStatus::Held) => Tally::HeldAgain,
                (true, _) => Tally::Other,
            };
            let lead = if rel.released_now {
                "Released"
            } else {
                "Already released — nothing was done twice"
            };
            (
                t,
                held_what(&rel.row),
                format!(
                    "{} {lead}: {}",
                    badge(rel.row.status.as_str()),
                    linkify_refs(&otto_answers::human::humanise(&rel.outcome))
                ),
            )
        }
        BulkResult::Refused(ReleaseError::Failed(h)) => (
            Tally::Refused,
            String::new(),
            format!(
                "<span class=\"error\">The release did not complete: {}</span>",
                esc(&h.to_string())
            ),
        ),
        BulkResult::Refused(e) => (
            Tally::Refused,
            String::new(),
            format!("<span class=\"error\">{}</span>", esc(&e.to_string())),
        ),
        BulkResult::NotTried => (
            Tally::NotTried,
            String::new(),
            format!(
                "Not tried: this batch stopped after {} s so the page answers in time; release the rest again.",
                BUDGET.as_secs()
            ),
        ),
    }
}

/// The refs a bulk form sent: parsed ones to release, and the values that are no row ref.
fn refs_of(form: &Form) -> (Vec<RowRef>, Vec<String>) {
    let (mut ok, mut bad) = (Vec::new(), Vec::new());
    for (k, v) in &form.0 {
        if k != "ref" {
            continue;
        }
        match RowRef::parse(v.trim()) {
            Ok(r) => ok.push(r),
            Err(e) => bad.push(format!("{}: {e}", v.chars().take(80).collect::<String>())),
        }
    }
    (ok, bad)
}

/// `POST /dashboard/holds/release`
pub async fn release_all(
    State(state): State<Arc<AppState>>,
    CsrfForm { session: s, form }: CsrfForm,
) -> Response {
    let group: String = form
        .get("group")
        .unwrap_or("held rows")
        .chars()
        .take(120)
        .collect();
    let (mut refs, bad) = refs_of(&form);
    let over = refs.len().saturating_sub(MAX_ROWS);
    refs.truncate(MAX_ROWS);
    let now = otto_core::clock::now();
    let lines = otto_engine::holds::release_many(
        &state.ports,
        &state.executors,
        &state.store_id,
        &refs,
        &s.who,
        otto_engine::executor::At::new(now, state.clock),
        BUDGET,
    )
    .await;
    tracing::warn!(by = %s.who, rows = lines.len(), group = %group, "dashboard bulk release");
    let body = result_page(&group, &s.who, &lines, &bad, over);
    render(
        &state,
        Some(&s),
        StatusCode::OK,
        "holds",
        "Bulk release",
        &body,
    )
    .await
}

fn result_page(group: &str, who: &str, lines: &[BulkLine], bad: &[String], over: usize) -> String {
    let rendered: Vec<(Tally, String, String)> = lines.iter().map(line).collect();
    let mut tally: BTreeMap<Tally, usize> = BTreeMap::new();
    for (t, _, _) in &rendered {
        *tally.entry(*t).or_default() += 1;
    }
    let counts: Vec<String> = tally
        .iter()
        .map(|(t, n)| format!("{n} {}", t.words()))
        .collect();
    let mut out = format!(
        "<h1>Bulk release <span class=\"muted\">{}</span></h1><div class=\"notice {}\" role=\"status\">Released by {} — {} rows: {}.</div>",
        esc(group),
        if tally.contains_key(&Tally::Refused) || !bad.is_empty() { "error" } else { "ok" },
        esc(who),
        lines.len(),
        esc(&if counts.is_empty() { "none".to_string() } else { counts.join(", ") })
    );
    if over > 0 {
        let _ = write!(out, "<p class=\"notice error\">{over} more rows were sent than one release takes ({MAX_ROWS}); they were not tried.</p>");
    }
    for b in bad {
        let _ = write!(out, "<p class=\"notice error\">Not a row: {}</p>", esc(b));
    }
    out.push_str("<div class=\"scroll\"><table class=\"rows\"><thead><tr><th scope=\"col\">Row</th><th scope=\"col\">What</th><th scope=\"col\">Result</th></tr></thead><tbody>");
    for (l, (_, what, result)) in lines.iter().zip(&rendered) {
        let _ = write!(
            out,
            "<tr><td data-label=\"Row\"><div class=\"v\">{}</div></td><td data-label=\"What\"><div class=\"v\">{}</div></td><td data-label=\"Result\"><div class=\"v\">{result}</div></td></tr>",
            row_link(&l.row_ref),
            esc(what)
        );
    }
    out.push_str("</tbody></table></div><p><a class=\"button\" href=\"/dashboard/holds\">Back to held rows</a></p>");
    out
}
