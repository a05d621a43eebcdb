//! Human renderings of rows. Every line starts with the row's ref, so it can be cited.

use otto_core::audit::{AuditRow, RowBody};
use otto_core::policy::KillSwitch;

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
pub fn reply_preview(p: &otto_stage::holds::ReplyPreview) -> String {
    use otto_stage::holds::ReplyPreview;
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

/// A cycle run in the operator's words, every figure from the row (cited by its ref).
pub fn cycle_summary(run: &serde_json::Value) -> String {
    let r = run["ref"].as_str().unwrap_or("");
    let s = &run["body"]["figures"]["summary"];
    let mut out = format!(
        "{} cycle {} — {} ({r})\n",
        run["body"]["kind"].as_str().unwrap_or(""),
        run["cycle_id"].as_str().unwrap_or(""),
        run["status"].as_str().unwrap_or("")
    );
    if let Some(e) = run["body"]["error"].as_str() {
        out.push_str(&format!("  error: {e}\n"));
    }
    if run["body"]["kind"] == "research" && s.is_object() {
        out.push_str(&format!(
            "  candidates queued: {} new, {} seen before; top: {}\n",
            s["queued_new"],
            s["seen_before"],
            s["top"]
                .as_array()
                .map(|a| a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default()
        ));
        return out;
    }
    if run["body"]["kind"] == "discount" && s.is_object() {
        out.push_str(&format!(
            "  discount tests planned/opened: {}, skipped by the margin-tier gate: {}, by status: {}\n",
            s["opened_or_planned"],
            s["skipped"],
            s["by_status"]
                .as_object()
                .map(|m| m.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", "))
                .unwrap_or_default()
        ));
        return out;
    }
    if s.is_object() {
        let by_action = s["by_action"]
            .as_object()
            .map(|m| {
                let mut v: Vec<(String, u64)> = m
                    .iter()
                    .map(|(k, n)| (k.clone(), n.as_u64().unwrap_or(0)))
                    .collect();
                v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                v.iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        out.push_str(&format!(
            "  {} decision rows: {by_action}\n",
            s["decision_rows"]
        ));
        if let Some(st) = s["by_status"].as_object() {
            out.push_str(&format!(
                "  by status: {}\n",
                st.iter()
                    .map(|(k, n)| format!("{n} {k}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out.push_str(&format!(
            "  ad proposals: {}, judge agreed: {}{}, ad moves applied: {}\n",
            s["ad_proposals"],
            s["ad_agreed"],
            s["judge_agreement_bp"]
                .as_u64()
                .map(|bp| format!(" ({}.{:02}%)", bp / 100, bp % 100))
                .unwrap_or_default(),
            s["ad_moves"]
        ));
        let held: Vec<&str> = s["held_rows"]
            .as_array()
            .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        if held.is_empty() {
            out.push_str("  no held rows\n");
        } else {
            out.push_str(&format!(
                "  held rows: {} (release with `otto holds release <ref>`)\n",
                held.join(", ")
            ));
        }
    }
    out
}

/// One CS triage run: the cycle line, then verdict counts and the rows written.
pub fn cs_summary(run: &serde_json::Value, out: &serde_json::Value) -> String {
    let refs = out["refs"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    format!(
        "cs triage {} — {} ({})\n  {} threads, {} evaluations ({} new), {} sent\n  by verdict: {}\n  rows: {refs}\n",
        run["cycle_id"].as_str().unwrap_or(""),
        run["status"].as_str().unwrap_or(""),
        run["ref"].as_str().unwrap_or(""),
        out["threads"],
        out["evaluated"],
        out["new"],
        out["sent"],
        out["by_verdict"],
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
