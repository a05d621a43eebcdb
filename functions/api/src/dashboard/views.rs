//! Page layout and the rendering of audit rows (list cells and the row page). Pure functions:
//! rows in, HTML out, every row field escaped.

use super::html::{
    badge, esc, figure_html, kv_table, linkify_refs, row_href, row_link, urlenc, value_html,
};
use super::session::Session;
use otto_answers::human::humanise;
use otto_core::audit::{AuditRow, AuditTable, ReversalOp, RowBody, RowRef};
use otto_core::cycle::CycleKind;
use otto_core::policy::KillSwitch;
use otto_core::RowStatus;
use serde_json::Value;
use std::fmt::Write;

/// Bumped with the assets, so browsers never mix an old stylesheet with a new page.
pub const ASSET_VERSION: &str = "2";

/// The navigation entries: (key, label, href).
const NAV: &[(&str, &str, &str)] = &[
    ("today", "Today", "/dashboard"),
    ("rows", "Rows", "/dashboard/rows"),
    ("holds", "Held", "/dashboard/holds"),
    ("campaigns", "Campaigns", "/dashboard/campaigns"),
    ("calibration", "Calibration", "/dashboard/calibration"),
    ("candidates", "Candidates", "/dashboard/candidates"),
    ("chat", "Ask Otto", "/dashboard/chat"),
    ("kill", "Kill switch", "/dashboard/kill-switch"),
    ("connections", "Connections", "/dashboard/connections"),
];

/// What surrounds every page.
pub struct Chrome<'a> {
    pub session: Option<&'a Session>,
    pub kill: Option<&'a KillSwitch>,
    pub active: &'a str,
    pub store: &'a str,
    pub clock: &'a otto_core::StoreClock,
}

/// The hidden CSRF field of a state-changing form.
pub fn csrf_field(s: &Session) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(&s.csrf)
    )
}

/// An instant in store time: `2026-11-24 06:12 (Europe/Amsterdam)`.
pub fn when(clock: &otto_core::StoreClock, at: &chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "{} {} ({})",
        clock.day_of(*at),
        clock.local_hhmm(*at),
        clock.tz_name()
    )
}

/// A whole page.
pub fn page(title: &str, c: &Chrome, body: &str) -> String {
    let mut nav = String::new();
    if c.session.is_some() {
        for (key, label, href) in NAV {
            let _ = write!(
                nav,
                "<a href=\"{href}\"{}>{label}</a>",
                if *key == c.active {
                    " aria-current=\"page\""
                } else {
                    ""
                }
            );
        }
    }
    let account = match c.session {
        Some(s) => format!(
            "<form class=\"logout\" method=\"post\" action=\"/dashboard/logout\">{}<span class=\"who\">{}</span><button type=\"submit\" class=\"link\">Log out</button></form>",
            csrf_field(s),
            esc(&s.who)
        ),
        None => String::new(),
    };
    let banner = match c.kill {
        Some(k) if k.on => format!(
            "<div class=\"killbar\" role=\"alert\"><strong>Kill switch ON</strong> — moves become HELD rows{}{}{}. <a href=\"/dashboard/kill-switch\">Details</a></div>",
            k.by.as_deref().map(|b| format!(" · by {}", esc(b))).unwrap_or_default(),
            k.at.as_ref().map(|a| format!(" · {}", esc(&when(c.clock, a)))).unwrap_or_default(),
            k.reason.as_deref().map(|r| format!(" · “{}”", esc(r))).unwrap_or_default(),
        ),
        _ => String::new(),
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<meta name=\"referrer\" content=\"same-origin\">\
<title>{title} · Otto</title>\
<link rel=\"stylesheet\" href=\"/dashboard/static/app.css?v={ASSET_VERSION}\">\
<script src=\"/dashboard/static/app.js?v={ASSET_VERSION}\" defer></script></head>\
<body><header class=\"top\"><a class=\"brand\" href=\"/dashboard\">Otto<span class=\"store\">{store}</span></a>\
<nav aria-label=\"main\">{nav}</nav>{account}</header>{banner}<main>{body}</main>\
<footer>Every figure here is an audit row; every move has its row.</footer></body></html>",
        title = esc(title),
        store = esc(c.store),
    )
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n).collect();
        t.push('…');
        t
    }
}

fn money(m: &Option<otto_core::Money>) -> String {
    m.map(|m| m.to_string()).unwrap_or_else(|| "—".into())
}

/// The columns of a table's row list.
pub fn columns(table: AuditTable) -> &'static [&'static str] {
    match table {
        AuditTable::DecisionLog => &["Row", "Day", "SKU", "Action", "Status", "Why"],
        AuditTable::AdDecisionLog => &[
            "Row", "Day", "Campaign", "Action", "Status", "Budget", "Why",
        ],
        AuditTable::CsThreadEvaluations => &[
            "Row", "Day", "Thread", "Verdict", "Status", "Subject", "Why",
        ],
        AuditTable::ResearchCandidates => &["Row", "Day", "Candidate", "Lane", "Status", "Score"],
        AuditTable::CycleRuns => &["Row", "Day", "Cycle", "Kind", "Status"],
        AuditTable::StageRuns => &["Row", "Day", "Cycle", "Stage", "Status"],
        AuditTable::OperatorLog => &["Row", "Day", "Act", "By", "From", "Status", "Why"],
    }
}

/// One row's cells (HTML), in [`columns`] order.
pub fn cells(row: &AuditRow) -> Vec<String> {
    let head = [row_link(&row.row_ref), esc(&row.day().to_string())];
    let status = badge(row.status.as_str());
    let rest: Vec<String> = match &row.body {
        RowBody::Decision(d) => vec![
            format!(
                "<a href=\"/dashboard/rows?table=decision_log&amp;day=&amp;sku={}\">{}</a>",
                esc(&urlenc(d.sku.as_str())),
                esc(d.sku.as_str())
            ),
            format!(
                "{}{}",
                esc(d.action.as_str()),
                d.trigger
                    .map(|t| format!(" <span class=\"muted\">({})</span>", esc(t.as_str())))
                    .unwrap_or_default()
            ),
            status,
            esc(&truncate(
                &humanise(d.hold_reason.as_deref().unwrap_or(&d.reasoning)),
                160,
            )),
        ],
        RowBody::AdDecision(a) => vec![
            format!(
                "{} <span class=\"muted\">{}</span>",
                esc(&a.campaign),
                esc(&a.channel)
            ),
            format!("{} · judge {}", esc(a.action.as_str()), esc(&a.verdict)),
            status,
            esc(&format!(
                "{} → {}",
                money(&a.budget_before),
                money(&a.budget_after)
            )),
            esc(&truncate(
                &humanise(a.hold_reason.as_deref().unwrap_or(&a.reasoning)),
                160,
            )),
        ],
        RowBody::CsEvaluation(c) => vec![
            esc(&c.thread_id),
            esc(&c.verdict),
            status,
            esc(&truncate(
                c.figures
                    .get("subject")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                80,
            )),
            esc(&truncate(&c.reason, 160)),
        ],
        RowBody::ResearchCandidate(c) => vec![
            esc(&c.title),
            esc(&c.lane),
            status,
            c.score_bp
                .map(|b| format!("{b} bp"))
                .unwrap_or_else(|| "—".into()),
        ],
        RowBody::CycleRun(c) => vec![esc(&row.cycle_id.to_string()), esc(c.kind.as_str()), status],
        RowBody::StageRun(s) => vec![
            esc(&row.cycle_id.to_string()),
            esc(&format!("{} {}/{}", s.stage, s.chunk + 1, s.chunks)),
            status,
        ],
        RowBody::Operator(o) => vec![
            esc(o.act.as_str()),
            esc(&o.by),
            esc(&format!("{:?}", o.surface).to_lowercase()),
            status,
            esc(o.reason.as_deref().unwrap_or("")),
        ],
    };
    head.into_iter().chain(rest).collect()
}

/// A list of rows as a table that turns into cards on a narrow screen.
pub fn rows_table(table: AuditTable, rows: &[AuditRow]) -> String {
    let cols = columns(table);
    let mut out = String::from("<div class=\"scroll\"><table class=\"rows\"><thead><tr>");
    for c in cols {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(c));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in cells(row).into_iter().enumerate() {
            let _ = write!(
                out,
                "<td data-label=\"{}\"><div class=\"v\">{cell}</div></td>",
                esc(cols.get(i).copied().unwrap_or(""))
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// The tables worth listing for a cycle's rows.
pub fn cycle_tables(kind: CycleKind) -> &'static [AuditTable] {
    match kind {
        CycleKind::Morning => &[
            AuditTable::DecisionLog,
            AuditTable::AdDecisionLog,
            AuditTable::StageRuns,
        ],
        CycleKind::Research => &[AuditTable::ResearchCandidates, AuditTable::StageRuns],
        CycleKind::Discount => &[AuditTable::DecisionLog, AuditTable::StageRuns],
        CycleKind::Cs => &[AuditTable::CsThreadEvaluations, AuditTable::StageRuns],
        CycleKind::Operator => &[AuditTable::OperatorLog],
    }
}

/// Links to a cycle's rows, one per table.
pub fn cycle_row_links(row: &AuditRow, kind: CycleKind) -> String {
    cycle_tables(kind)
        .iter()
        .map(|t| {
            format!(
                "<a href=\"/dashboard/rows?table={t}&amp;cycle={}\">{t}</a>",
                esc(&urlenc(&row.cycle_id.to_string()))
            )
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// One cycle run as a card: what ran, how it ended, its summary (or, for a cycle that keeps
/// none on its run row, its last stage's report) and links to its rows.
pub fn cycle_card(
    row: &AuditRow,
    last_stage: Option<&AuditRow>,
    clock: &otto_core::StoreClock,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let RowBody::CycleRun(c) = &row.body else {
        return String::new();
    };
    let stalled = stalled_since(row, last_stage, now);
    let from_stage = || {
        let st = last_stage?;
        let RowBody::StageRun(s) = &st.body else {
            return None;
        };
        let report = serde_json::to_value(s.report.as_ref()?).ok()?;
        Some(format!(
            "<p class=\"meta\">from its {} stage, {}</p>{}",
            esc(s.stage.as_str()),
            row_link(&st.row_ref),
            value_html(&report, 0)
        ))
    };
    let summary = c
        .summary
        .as_ref()
        .map(summary_html)
        .or_else(from_stage)
        .unwrap_or_else(|| "<p class=\"muted\">no summary yet</p>".into());
    format!(
        "<article class=\"card cycle\"><h3>{kind} {badge} <span class=\"muted\">{id}</span></h3>\
<p class=\"meta\">{link}{sched}{apply}{err}</p>{stall}{summary}<p class=\"meta\">rows: {links}</p></article>",
        kind = esc(c.kind.as_str()),
        badge = badge(if stalled.is_some() { "STALLED" } else { row.status.as_str() }),
        stall = stalled
            .map(|since| format!(
                "<p class=\"error\" role=\"alert\">Stalled: RUNNING with no stage activity since {} — longer than its {} h lease, so no worker holds it.</p>",
                esc(&when(clock, &since)),
                otto_engine::cycles::CYCLE_LEASE.num_hours()
            ))
            .unwrap_or_default(),
        id = esc(&row.cycle_id.to_string()),
        link = row_link(&row.row_ref),
        sched = c
            .scheduled_time
            .map(|t| format!(" · scheduled {}", esc(&when(clock, &t))))
            .unwrap_or_default(),
        apply = if c.apply { " · apply" } else { " · dry run" },
        err = c
            .error
            .as_deref()
            .map(|e| format!(" · <span class=\"error\">{}</span>", esc(e)))
            .unwrap_or_default(),
        links = cycle_row_links(row, c.kind),
    )
}

/// When a RUNNING cycle last showed activity, if that is longer ago than its store_lock lease:
/// no worker holds it any more (the stall watch will end it FAILED).
fn stalled_since(
    run: &AuditRow,
    last_stage: Option<&AuditRow>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<chrono::DateTime<chrono::Utc>> {
    if run.status != RowStatus::Running {
        return None;
    }
    let last = last_stage
        .map(|s| s.updated_at)
        .filter(|t| *t > run.updated_at)
        .unwrap_or(run.updated_at);
    (now - last >= otto_engine::cycles::CYCLE_LEASE).then_some(last)
}

fn reversal(op: &Option<ReversalOp>, status: RowStatus) -> String {
    match op {
        Some(op) => value_html(&serde_json::to_value(op).unwrap_or(Value::Null), 0),
        None if matches!(
            status,
            RowStatus::Applied | RowStatus::Applying | RowStatus::Reverted
        ) =>
        {
            "<span class=\"error\">none stored</span>".into()
        }
        None if matches!(
            status,
            RowStatus::Pending | RowStatus::Held | RowStatus::Released
        ) =>
        {
            "<span class=\"muted\">none yet — stored before the move is applied</span>".into()
        }
        None => format!(
            "<span class=\"muted\">none — a {} row moves nothing</span>",
            esc(status.as_str())
        ),
    }
}

fn opt(v: Option<String>) -> String {
    v.map(|s| esc(&s))
        .unwrap_or_else(|| "<span class=\"muted\">—</span>".into())
}

/// The "what and why" of a row, per table.
fn facts(row: &AuditRow, clock: &otto_core::StoreClock) -> Vec<(&'static str, String)> {
    match &row.body {
        RowBody::Decision(d) => vec![
            (
                "SKU",
                format!(
                    "<a href=\"/dashboard/rows?table=decision_log&amp;day=&amp;sku={}\">{}</a> · <a href=\"/dashboard/skus/{}\">timeline</a>",
                    esc(&urlenc(d.sku.as_str())),
                    esc(d.sku.as_str()),
                    esc(&urlenc(d.sku.as_str()))
                ),
            ),
            ("Action", esc(d.action.as_str())),
            ("Trigger", opt(d.trigger.map(|t| t.to_string()))),
            (
                "Classification",
                opt(d.classification.map(|c| c.to_string())),
            ),
            (
                "Reasoning",
                format!("<p class=\"why\">{}</p>", esc(&humanise(&d.reasoning))),
            ),
            ("Held because", opt(d.hold_reason.as_deref().map(humanise))),
            (
                "Discount window",
                d.window
                    .as_ref()
                    .map(|w| {
                        esc(&format!(
                            "{} bp off, {} → {}",
                            w.percent_bp, w.starts_on, w.ends_on
                        ))
                    })
                    .unwrap_or_else(|| opt(None)),
            ),
            ("Reversal op", reversal(&d.reversal_op, row.status)),
            (
                "Vendor's answer",
                d.result
                    .as_ref()
                    .map(|r| value_html(r, 0))
                    .unwrap_or_else(|| opt(None)),
            ),
        ],
        RowBody::AdDecision(a) => vec![
            (
                "Campaign",
                format!(
                    "<a href=\"/dashboard/campaigns/{}?to={}\">{}</a> <span class=\"muted\">({}, {})</span>",
                    esc(&urlenc(&a.campaign_id)),
                    row.day(),
                    esc(&a.campaign),
                    esc(&a.campaign_id),
                    esc(&a.channel)
                ),
            ),
            ("Action", esc(a.action.as_str())),
            ("Judge", esc(&a.verdict)),
            (
                "Budget",
                esc(&format!(
                    "{} → {}",
                    money(&a.budget_before),
                    money(&a.budget_after)
                )),
            ),
            (
                "Rate limit",
                opt(a
                    .rate_limit_position
                    .map(|(n, of)| format!("change {n} of {of} allowed this week"))),
            ),
            (
                "Reasoning",
                format!("<p class=\"why\">{}</p>", esc(&humanise(&a.reasoning))),
            ),
            ("Held because", opt(a.hold_reason.as_deref().map(humanise))),
            ("Reversal op", reversal(&a.reversal_op, row.status)),
            (
                "Vendor's answer",
                a.result
                    .as_ref()
                    .map(|r| value_html(r, 0))
                    .unwrap_or_else(|| opt(None)),
            ),
        ],
        RowBody::CsEvaluation(c) => vec![
            ("Thread", esc(&c.thread_id)),
            (
                "Subject",
                opt(c
                    .figures
                    .get("subject")
                    .and_then(Value::as_str)
                    .map(str::to_string)),
            ),
            ("Draft version", opt(c.draft_version.clone())),
            ("Verdict", esc(&c.verdict)),
            ("Reason", format!("<p class=\"why\">{}</p>", esc(&c.reason))),
            ("Amount", opt(c.amount.map(|m| m.to_string()))),
            ("Language", opt(c.language.clone())),
            ("Category", opt(c.category.clone())),
            (
                "Helpdesk's answer",
                c.result
                    .as_ref()
                    .map(|r| value_html(r, 0))
                    .unwrap_or_else(|| opt(None)),
            ),
        ],
        RowBody::ResearchCandidate(c) => vec![
            ("Title", esc(&c.title)),
            ("Key", esc(&c.candidate_key)),
            ("Lane", esc(&c.lane)),
            (
                "Score",
                opt(c.score_bp.map(|b| otto_answers::human::pct(i64::from(b)))),
            ),
            ("Review", esc(&c.review)),
        ],
        RowBody::CycleRun(c) => vec![
            ("Kind", esc(c.kind.as_str())),
            ("Mode", (if c.apply { "apply" } else { "dry run" }).into()),
            ("Scheduled", opt(c.scheduled_time.map(|t| when(clock, &t)))),
            ("Error", opt(c.error.clone())),
            ("Rows", cycle_row_links(row, c.kind)),
        ],
        RowBody::StageRun(s) => vec![
            ("Stage", esc(s.stage.as_str())),
            ("Chunk", esc(&format!("{} of {}", s.chunk + 1, s.chunks))),
            ("Error", opt(s.error.clone())),
        ],
        RowBody::Operator(o) => vec![
            ("Act", esc(o.act.as_str())),
            ("By", esc(&o.by)),
            ("From", esc(&format!("{:?}", o.surface).to_lowercase())),
            ("Why", opt(o.reason.clone())),
        ],
    }
}

/// A cycle's summary in the operator's words, its held rows linked.
fn summary_html(s: &otto_core::report::CycleSummary) -> String {
    let mut out = format!(
        "<p>{}</p>",
        linkify_refs(&otto_answers::summary::summary_text(s))
    );
    let held = s.held_rows();
    if !held.is_empty() {
        let links: Vec<String> = held.iter().map(row_link).collect();
        let _ = write!(out, "<p>Held: {}</p>", links.join(" · "));
    }
    out
}

fn figures(row: &AuditRow) -> Option<&std::collections::BTreeMap<String, Value>> {
    match &row.body {
        RowBody::Decision(d) => Some(&d.figures),
        RowBody::AdDecision(a) => Some(&a.figures),
        RowBody::CsEvaluation(c) => Some(&c.figures),
        RowBody::ResearchCandidate(c) => Some(&c.figures),
        RowBody::CycleRun(c) => Some(&c.figures),
        RowBody::StageRun(s) => Some(&s.figures),
        RowBody::Operator(_) => None,
    }
}

/// The stage row holding the thresholds a decision used (`figures.thresholds_ref`).
pub fn thresholds_ref(row: &AuditRow) -> Option<RowRef> {
    figures(row)?
        .get("thresholds_ref")
        .and_then(Value::as_str)
        .and_then(|s| RowRef::parse(s).ok())
}

/// Thresholds in a row's own figures: `thresholds`, or figures named like a floor, ceiling,
/// minimum or maximum (e.g. the CS brand-voice floor).
fn own_thresholds(row: &AuditRow) -> Vec<(&str, &Value)> {
    let Some(f) = figures(row) else { return vec![] };
    f.iter()
        .filter(|(k, _)| {
            let k = k.as_str();
            k == "thresholds"
                || k.contains("floor")
                || k.contains("ceiling")
                || k.contains("limit")
                || k.starts_with("min_")
                || k.starts_with("max_")
        })
        .map(|(k, v)| (k.as_str(), v))
        .collect()
}

/// What the row page shows besides the row.
pub struct RowExtras {
    /// The store's clock: times are shown in store time.
    pub clock: otto_core::StoreClock,
    /// The `cycle_runs` row of the row's cycle.
    pub cycle_row: Option<RowRef>,
    /// The stage row with the thresholds, and its `thresholds` figure.
    pub thresholds: Option<(RowRef, Value)>,
    /// A notice at the top (after a release or a review): (kind, HTML).
    pub notice: Option<(&'static str, String)>,
}

/// Actions on a row: Release for a held row, approve / reject for a queued candidate.
pub fn row_actions(row: &AuditRow, s: Option<&Session>) -> String {
    let r = &row.row_ref;
    match (row.status, r.table, s) {
        (
            RowStatus::Held,
            AuditTable::DecisionLog | AuditTable::AdDecisionLog | AuditTable::CsThreadEvaluations,
            _,
        ) => format!(
            "<p class=\"actions\"><a class=\"button primary\" href=\"/dashboard/release/{}/{}\">Release…</a></p>",
            r.table, r.seq
        ),
        (RowStatus::Queued, AuditTable::ResearchCandidates, Some(s)) => review_forms(r, s),
        (RowStatus::Applied, AuditTable::DecisionLog | AuditTable::AdDecisionLog, Some(s))
            if row.body.planned_move().is_some() =>
        {
            format!(
                "<form method=\"post\" action=\"/dashboard/revert/{}/{}\" class=\"actions\">{}\
<button type=\"submit\" class=\"button\" id=\"undo\">Undo (replay its reversal op)</button></form>",
                r.table,
                r.seq,
                csrf_field(s)
            )
        }
        _ => String::new(),
    }
}

/// Apply for a COMPLETED dry-run cycle (today's: the overview shows it only then).
pub fn apply_form(run: &AuditRow, s: &Session) -> String {
    match &run.body {
        RowBody::CycleRun(c) if !c.apply && run.status == RowStatus::Completed => format!(
            "<form method=\"post\" action=\"/dashboard/cycles/{}/apply\" class=\"actions\">{}\
<button type=\"submit\" class=\"button primary\">Apply this dry run's moves</button></form>",
            urlenc(&run.cycle_id.to_string()),
            csrf_field(s)
        ),
        _ => String::new(),
    }
}

/// Approve / reject forms for a queued candidate.
pub fn review_forms(r: &RowRef, s: &Session) -> String {
    format!(
        "<div class=\"actions review\">\
<form method=\"post\" action=\"/dashboard/candidates/{t}/{id}/approve\">{csrf}<button type=\"submit\" class=\"button primary\" data-ref=\"{rr}\">Approve</button></form>\
<form method=\"post\" action=\"/dashboard/candidates/{t}/{id}/reject\">{csrf}<input type=\"text\" name=\"reason\" placeholder=\"reason (optional)\" maxlength=\"200\" aria-label=\"reason for rejecting {rr}\"><button type=\"submit\" class=\"button\">Reject</button></form></div>",
        t = r.table,
        id = r.seq,
        csrf = csrf_field(s),
        rr = esc(&r.to_string()),
    )
}

/// The row page's body.
pub fn row_body(row: &AuditRow, x: &RowExtras, s: Option<&Session>) -> String {
    let mut out = String::new();
    if let Some((kind, html)) = &x.notice {
        let _ = write!(
            out,
            "<div class=\"notice {kind}\" role=\"status\">{html}</div>"
        );
    }
    let _ = write!(
        out,
        "<h1><span class=\"refname\">{}</span> {}</h1>",
        esc(&row.row_ref.to_string()),
        badge(row.status.as_str())
    );
    let _ = write!(
        out,
        "<p class=\"meta\">{} · day {} · cycle {}{} · created {} · updated {}</p>",
        esc(row.row_ref.table.as_str()),
        esc(&row.day().to_string()),
        esc(&row.cycle_id.to_string()),
        x.cycle_row
            .filter(|c| *c != row.row_ref)
            .map(|c| format!(" ({})", row_link(&c)))
            .unwrap_or_default(),
        esc(&when(&x.clock, &row.created_at)),
        esc(&when(&x.clock, &row.updated_at)),
    );
    out.push_str(&row_actions(row, s));
    out.push_str("<section><h2>What and why</h2>");
    out.push_str(&kv_table(facts(row, &x.clock)));
    out.push_str("</section>");
    if let RowBody::CycleRun(c) = &row.body {
        if let Some(sum) = &c.summary {
            let _ = write!(
                out,
                "<section><h2>Summary</h2>{}</section>",
                summary_html(sum)
            );
        }
    }
    let own = own_thresholds(row);
    if x.thresholds.is_some() || !own.is_empty() {
        out.push_str("<section><h2>Thresholds used</h2>");
        if let Some((r, t)) = &x.thresholds {
            let _ = write!(
                out,
                "<p class=\"meta\">from {} (the calibration this decision read)</p>{}",
                row_link(r),
                value_html(t, 0)
            );
        }
        if !own.is_empty() {
            out.push_str(&kv_table(own.iter().map(|(k, v)| figure_html(k, v, 0))));
        }
        out.push_str("</section>");
    }
    if let Some(f) = figures(row).filter(|f| !f.is_empty()) {
        let _ = write!(
            out,
            "<section><h2>Figures</h2>{}</section>",
            kv_table(
                f.iter()
                    .filter(|(k, _)| k.as_str() != "summary")
                    .map(|(k, v)| figure_html(k, v, 0))
            )
        );
    }
    let json = serde_json::to_string_pretty(&row.to_json()).unwrap_or_default();
    let _ = write!(
        out,
        "<details><summary>Row as JSON</summary><pre>{}</pre></details>",
        esc(&json)
    );
    out
}

/// Otto's answer: text with its refs linked, the citation list, and Release links for held rows.
pub fn answer_html(a: &otto_answers::Answer) -> String {
    let mut out = format!(
        "<div class=\"answer{}\">",
        if a.grounded { "" } else { " ungrounded" }
    );
    for line in a.answer.lines() {
        let _ = write!(out, "<p>{}</p>", linkify_refs(line));
    }
    out.push_str("</div>");
    if !a.citations.is_empty() {
        out.push_str("<h3>Cited rows</h3><ul class=\"citations\">");
        for c in &a.citations {
            let _ = write!(
                out,
                "<li><a class=\"citation\" href=\"{}\">{}</a></li>",
                esc(&c.url),
                esc(&c.row_ref)
            );
        }
        out.push_str("</ul>");
    }
    if !a.releasable.is_empty() {
        out.push_str("<h3>Held — release after a look</h3><ul class=\"citations\">");
        for r in a.releasable.iter().filter_map(|r| RowRef::parse(r).ok()) {
            let _ = write!(
                out,
                "<li>{} <a class=\"button small\" href=\"/dashboard/release/{}/{}\">Release…</a></li>",
                row_link(&r),
                r.table,
                r.seq
            );
        }
        out.push_str("</ul>");
    }
    out
}

/// The chat form.
pub fn chat_form(q: &str) -> String {
    format!(
        "<form class=\"chat\" method=\"get\" action=\"/dashboard/chat\" role=\"search\">\
<label for=\"q\">Ask Otto</label><div class=\"row\"><input id=\"q\" name=\"q\" type=\"text\" maxlength=\"2000\" value=\"{}\" \
placeholder=\"how did this morning go? · what's held? · what happened to SKU-…\" autocomplete=\"off\">\
<button type=\"submit\" class=\"button primary\">Ask</button></div></form>",
        esc(q)
    )
}

/// The release page's "what will be sent" for a held CS reply: the judged draft, escaped, as
/// the customer will read it (whitespace kept).
pub fn release_reply(p: &otto_engine::holds::ReplyPreview) -> String {
    use otto_engine::holds::ReplyPreview;
    match p {
        ReplyPreview::Draft {
            version,
            author,
            body,
        } => format!(
            "<section class=\"card draft\"><h2>The reply that will be sent</h2>\
<p class=\"meta\">draft {} by {}, as judged</p><pre class=\"draft-text\" id=\"draft-text\">{}</pre></section>",
            esc(version),
            esc(author),
            esc(body)
        ),
        ReplyPreview::Changed { thread_id } => format!(
            "<section class=\"card draft\"><p class=\"why\">Thread {} is closed or its draft changed since it was judged: \
a release sends nothing; the new version is judged on the next run.</p></section>",
            esc(thread_id)
        ),
        ReplyPreview::Unavailable { why } => format!(
            "<section class=\"card draft\"><p class=\"why\">The draft cannot be shown here ({}); \
a release sends only the version that was judged.</p></section>",
            esc(why)
        ),
    }
}

/// What a held row would move, in words: `SKU-LIN-007 REVIVE_SEASONAL`, `EU/Linen ADJUST_BUDGET`.
pub fn held_what(row: &AuditRow) -> String {
    match &row.body {
        RowBody::Decision(d) => format!("{} {}", d.sku, d.action),
        RowBody::AdDecision(a) => format!("{} {}", a.campaign, a.action),
        RowBody::CsEvaluation(c) => format!(
            "thread {} {} — {}",
            c.thread_id,
            c.verdict,
            c.figures
                .get("subject")
                .and_then(Value::as_str)
                .unwrap_or("")
        ),
        _ => String::new(),
    }
}

/// A held row in a list, with its Release link.
pub fn held_item(row: &AuditRow) -> String {
    let why = match &row.body {
        RowBody::Decision(d) => humanise(d.hold_reason.as_deref().unwrap_or(&d.reasoning)),
        RowBody::AdDecision(a) => humanise(a.hold_reason.as_deref().unwrap_or(&a.reasoning)),
        RowBody::CsEvaluation(c) => c.reason.clone(),
        _ => String::new(),
    };
    let what = held_what(row);
    format!(
        "<li class=\"card held\"><div>{} {} <span class=\"what\">{}</span></div><p class=\"why\">{}</p>\
<p class=\"meta\">day {} · <a class=\"button primary small\" href=\"/dashboard/release/{}/{}\">Release…</a></p></li>",
        row_link(&row.row_ref),
        badge(row.status.as_str()),
        esc(&what),
        linkify_refs(&truncate(&otto_answers::human::humanise(&why), 300)),
        esc(&row.day().to_string()),
        row.row_ref.table,
        row.row_ref.seq
    )
}

/// A link to a row page (for redirects).
pub fn href(r: &RowRef) -> String {
    row_href(r)
}
