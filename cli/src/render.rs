//! Human renderings of rows. Every line starts with the row's ref, so it can be cited.

use otto_answers::summary::{counts, summary_text};
use otto_core::audit::{AuditRow, CycleRunRow, RowBody};
use otto_core::policy::KillSwitch;
use otto_core::report::{CsTriageReport, CycleSummary};

/// One line: `decision_log#84196  HELD  REVIVE_SEASONAL  SKU-LIN-007  — reason`.
pub fn row_line(r: &AuditRow) -> String {
    let extra = match &r.body {
        RowBody::Decision(d) => d.hold_reason.clone().unwrap_or_else(|| d.reasoning.clone()),
        RowBody::AdDecision(a) => a.hold_reason.clone().unwrap_or_else(|| a.reasoning.clone()),
        RowBody::CsEvaluation(c) => c.reason.clone(),
        RowBody::ResearchCandidate(c) => c.title.clone(),
        RowBody::CycleRun(c) => c.error.clone().unwrap_or_default(),
        RowBody::StageRun(s) => s.error.clone().unwrap_or_default(),
        RowBody::Operator(o) => format!(
            "by {}{}",
            o.by,
            o.reason
                .as_deref()
                .map(|w| format!(": {w}"))
                .unwrap_or_default()
        ),
    };
    format!(
        "{:<28} {:<10} {:<22} {:<24} {}",
        r.row_ref.to_string(),
        r.status.as_str(),
        r.action_key(),
        r.subject(),
        extra
    )
}

pub fn row_detail(r: &AuditRow) -> String {
    let body = serde_json::to_string_pretty(&r.body.to_json()).unwrap_or_default();
    format!(
        "{ref_}\n  status:     {status}\n  cycle:      {cycle}\n  created_at: {created}\n  updated_at: {updated}\n  about:      {subject}\n  action:     {action}\n  url:        {url}\n{body}\n",
        ref_ = r.row_ref,
        status = r.status,
        cycle = r.cycle_id,
        created = r.created_at.to_rfc3339(),
        updated = r.updated_at.to_rfc3339(),
        subject = r.subject(),
        action = r.action_key(),
        url = r.row_ref.url(),
        body = body
    )
}

/// A held CS reply's text as it will be sent, indented under its row (`otto holds list`,
/// `otto rows show`).
pub fn reply_preview(p: &otto_engine::holds::ReplyPreview) -> String {
    use otto_engine::holds::ReplyPreview;
    match p {
        ReplyPreview::Draft {
            version,
            author,
            body,
        } => {
            let mut out = format!("  reply to be sent (draft {version} by {author}, as judged):\n");
            for line in body.lines() {
                out.push_str(&format!("    | {line}\n"));
            }
            out
        }
        ReplyPreview::Changed { thread_id } => format!(
            "  reply: thread {thread_id} is closed or its draft changed since it was judged: a release sends nothing\n"
        ),
        ReplyPreview::Unavailable { why } => format!("  reply: the draft cannot be shown here ({why})\n"),
    }
}

pub fn kill_switch(ks: &KillSwitch, clock: &otto_core::StoreClock) -> String {
    let state = if ks.on {
        "ON — moves become HELD rows"
    } else {
        "off"
    };
    let mut s = format!("kill switch: {state}");
    if let Some(by) = &ks.by {
        s.push_str(&format!("; flipped by {by}"));
    }
    if let Some(at) = ks.at {
        s.push_str(&format!(
            " on {} at {} ({})",
            clock.day_of(at),
            clock.local_hhmm(at),
            clock.tz_name()
        ));
    }
    if let Some(r) = &ks.reason {
        s.push_str(&format!(" ({r})"));
    }
    if let Some(flip) = &ks.flip {
        s.push_str(&format!("; see {flip}"));
    }
    s
}

/// A cycle run in the operator's words, every figure from its typed summary (cited by its ref).
pub fn cycle_summary(run: &serde_json::Value) -> String {
    let r = run["ref"].as_str().unwrap_or("");
    let mut out = format!(
        "{} cycle {} — {} ({r})\n",
        run["body"]["kind"].as_str().unwrap_or(""),
        run["cycle_id"].as_str().unwrap_or(""),
        run["status"].as_str().unwrap_or("")
    );
    if let Some(e) = run["body"]["error"].as_str() {
        out.push_str(&format!("  error: {e}\n"));
    }
    let body = serde_json::from_value::<CycleRunRow>(run["body"].clone()).ok();
    let Some(s) = body.and_then(|b| b.summary) else {
        return out;
    };
    out.push_str(&format!("  {}\n", summary_text(&s)));
    if let CycleSummary::Morning(m) = &s {
        if m.held_rows.is_empty() {
            out.push_str("  no held rows\n");
        } else {
            let held: Vec<String> = m.held_rows.iter().map(|r| r.to_string()).collect();
            out.push_str(&format!(
                "  held rows: {} (release with `otto holds release <ref>`)\n",
                held.join(", ")
            ));
        }
    }
    out
}

/// One CS triage run: the cycle line, then verdict counts and the rows written.
pub fn cs_summary(run: &serde_json::Value, out: &CsTriageReport) -> String {
    let refs: Vec<String> = out.refs.iter().map(|r| r.to_string()).collect();
    format!(
        "cs triage {} — {} ({})\n  {} threads, {} evaluations ({} new), {} sent\n  by verdict: {}\n  rows: {}\n",
        run["cycle_id"].as_str().unwrap_or(""),
        run["status"].as_str().unwrap_or(""),
        run["ref"].as_str().unwrap_or(""),
        out.threads,
        out.evaluated,
        out.new,
        out.sent,
        counts(&out.by_verdict),
        refs.join(", ")
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_kill_switch_says_when_in_store_time_and_cites_its_flip() {
        let ks = otto_core::policy::KillSwitch {
            on: true,
            by: Some("emma".into()),
            at: Some("2026-11-24T05:12:00Z".parse().unwrap()),
            reason: Some("supplier recall".into()),
            flip: None,
        };
        let ams = otto_core::StoreClock::new("Europe/Amsterdam").unwrap();
        let s = super::kill_switch(&ks, &ams);
        assert!(
            s.contains("on 2026-11-24 at 06:12 (Europe/Amsterdam)"),
            "{s}"
        );
        assert!(!s.contains("05:12") && !s.contains("+00:00"), "{s}");
    }
}
