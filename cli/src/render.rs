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

pub fn kill_switch(ks: &KillSwitch) -> String {
    let state = if ks.on {
        "ON — moves become HELD rows"
    } else {
        "off"
    };
    let mut s = format!("kill switch: {state}");
    if let Some(by) = &ks.by {
        s.push_str(&format!("; flipped by {by}"));
    }
    if let Some(at) = &ks.at {
        s.push_str(&format!(" at {}", at.to_rfc3339()));
    }
    if let Some(r) = &ks.reason {
        s.push_str(&format!(" ({r})"));
    }
    s
}
