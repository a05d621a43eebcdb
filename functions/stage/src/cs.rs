//! Customer-service triage: every open thread with a draft (and every refund request without one)
//! is judged and logged as a cs_thread_evaluations row, one per (thread, draft version), so
//! re-evaluating the same draft is a no-op. In Phase 2 a SEND goes to the helpdesk and its answer
//! is kept on the row. The `cs_triage` stage (scheduled every 15 minutes, one cycle id per run
//! slot) and `otto cs run` both call [`triage`].

use chrono::{DateTime, Utc};
use otto_connectors::helpdesk::Helpdesk;
use otto_connectors::voice::VoiceScorer;
use otto_connectors::VendorError;
use otto_core::audit::{CsEvaluationRow, NewRow, RowBody};
use otto_core::cycle::CycleId;
use otto_core::stages::cs::{judge_scored, refund_escalation, CsPolicy, Verdict};
use otto_core::RowStatus;
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_core::cycle::Stage;

/// The CS cycle's one stage.
pub struct CsTriage {
    pub helpdesk: Arc<dyn Helpdesk>,
    pub voice: Arc<dyn VoiceScorer>,
}

pub fn with_cs(
    reg: StageRegistry,
    helpdesk: Arc<dyn Helpdesk>,
    voice: Arc<dyn VoiceScorer>,
) -> StageRegistry {
    reg.with(Stage::CsTriage, Arc::new(CsTriage { helpdesk, voice }))
}

#[async_trait]
impl StageBody for CsTriage {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let out = triage(
            ctx.ports,
            self.helpdesk.as_ref(),
            self.voice.as_ref(),
            &ctx.msg.cycle_id,
            ctx.msg.apply,
            ctx.now,
        )
        .await?;
        let figures = match out {
            serde_json::Value::Object(m) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        };
        Ok(StageOutput {
            figures,
            next_chunks: 0,
        })
    }
}

pub const CS_POLICY: &str = "cs_policy";

fn vendor(e: VendorError) -> HandlerError {
    if e.is_retryable() {
        HandlerError::Retryable(e.to_string())
    } else {
        HandlerError::Permanent(e.to_string())
    }
}

/// Judges the inbox; returns the verdict counts and the refs written or found.
pub async fn triage(
    ports: &Ports,
    helpdesk: &dyn Helpdesk,
    voice: &dyn VoiceScorer,
    cycle: &CycleId,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<serde_json::Value, HandlerError> {
    let policy: CsPolicy = match ports.settings.get_setting(&cycle.store, CS_POLICY).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| HandlerError::Permanent(format!("setting {CS_POLICY}: {e}")))?,
        None => CsPolicy::default(),
    };
    // Everything read before anything is written: a helpdesk error leaves no half-written rows.
    let threads = helpdesk.open_threads().await.map_err(vendor)?;
    let approved = helpdesk.approved_replies().await.map_err(vendor)?;
    let bodies: Vec<String> = threads
        .iter()
        .filter_map(|t| t.draft.as_ref().map(|d| d.body.clone()))
        .collect();
    let scores = voice.score(&approved, &bodies).await.map_err(vendor)?;
    if scores.len() != bodies.len() {
        return Err(HandlerError::Permanent(format!(
            "voice scorer {} returned {} scores for {} drafts",
            voice.name(),
            scores.len(),
            bodies.len()
        )));
    }
    let mut scores = scores.into_iter();
    let mut rows = Vec::new();
    let mut drafts = Vec::new();
    for t in &threads {
        let (verdict, reason, language, voice_bp, version) = match &t.draft {
            Some(d) => {
                let bp = scores.next().unwrap_or(0);
                let (v, why, lang, bp) = judge_scored(&d.body, bp, t.refund_amount, &policy);
                (v, why, Some(lang), Some(bp), d.version.clone())
            }
            None => match refund_escalation(t.refund_amount, &policy) {
                Some(why) => (
                    Verdict::EscalatedRefund,
                    why,
                    None,
                    None,
                    "none".to_string(),
                ),
                None => continue,
            },
        };
        let mut figures = BTreeMap::from([
            (
                "brand_voice_floor_bp".into(),
                json!(policy.brand_voice_floor_bp),
            ),
            (
                "languages_allowed_for_send".into(),
                json!(policy.languages_allowed_for_send),
            ),
            ("subject".into(), json!(t.subject)),
        ]);
        if let Some(v) = voice_bp {
            figures.insert("brand_voice_bp".into(), json!(v));
            figures.insert("voice_scorer".into(), json!(voice.name()));
        }
        if let Some(d) = &t.draft {
            figures.insert("draft_author".into(), json!(d.author));
        }
        rows.push(NewRow {
            cycle_id: cycle.clone(),
            natural_key: format!("cs|{}|{}|{version}", cycle.store, t.id),
            status: match verdict {
                Verdict::Send if apply => RowStatus::Pending,
                Verdict::Send => RowStatus::DryRun,
                Verdict::HoldTone | Verdict::HoldLanguage => RowStatus::Held,
                Verdict::EscalatedRefund => RowStatus::Recorded,
            },
            created_at: now,
            body: RowBody::CsEvaluation(CsEvaluationRow {
                thread_id: t.id.clone(),
                draft_version: Some(version),
                amount: t.refund_amount,
                language,
                category: t.category.clone(),
                verdict: verdict.as_str().into(),
                reason,
                figures,
                result: None,
            }),
        });
        drafts.push((t.id.clone(), t.draft.clone(), verdict));
    }
    let appended = ports.audit.append(rows, None).await?;
    let mut by_verdict: BTreeMap<&str, u32> = BTreeMap::new();
    let mut sent = 0u32;
    for (a, (thread, draft, verdict)) in appended.iter().zip(&drafts) {
        *by_verdict.entry(verdict.as_str()).or_default() += 1;
        // A hold the operator released while no helpdesk could send it goes out now.
        if !a.inserted && matches!(verdict, Verdict::HoldTone | Verdict::HoldLanguage) {
            if let Some(row) = ports.audit.get(a.row_ref).await? {
                if matches!(row.status, RowStatus::Released | RowStatus::Applying)
                    && send_released(ports, helpdesk, a.row_ref, now).await? == RowStatus::Applied
                {
                    sent += 1;
                }
            }
            continue;
        }
        // Phase 2: a SEND goes out once: PENDING → APPLIED with the helpdesk's answer, conditional
        // on PENDING, so a retry that finds it APPLIED sends nothing.
        if let (Verdict::Send, Some(d)) = (verdict, draft) {
            let Some(row) = ports.audit.get(a.row_ref).await? else {
                continue;
            };
            if row.status != RowStatus::Pending {
                continue;
            }
            let result = helpdesk.send(thread, d).await.map_err(vendor)?;
            let mut body = row.body.clone();
            if let RowBody::CsEvaluation(e) = &mut body {
                e.result = Some(result);
            }
            ports
                .audit
                .transition(
                    a.row_ref,
                    RowStatus::Pending,
                    RowStatus::Applied,
                    Some(body),
                    now,
                    None,
                )
                .await?;
            sent += 1;
        }
    }
    Ok(json!({
        "threads": threads.len(),
        "evaluated": appended.len(),
        "new": appended.iter().filter(|a| a.inserted).count(),
        "by_verdict": by_verdict,
        "sent": sent,
        "refs": appended.iter().map(|a| a.row_ref.to_string()).collect::<Vec<_>>(),
    }))
}

/// Sends the draft of a CS row an operator released (RELEASED → APPLYING → APPLIED with the
/// helpdesk's answer). The draft must still be the version that was judged: if the agent changed
/// it since, nothing is sent and the row is FAILED with why (the new version is judged on the
/// next triage run).
pub async fn send_released(
    ports: &Ports,
    helpdesk: &dyn Helpdesk,
    row_ref: otto_core::audit::RowRef,
    now: DateTime<Utc>,
) -> Result<RowStatus, HandlerError> {
    let row = ports
        .audit
        .get(row_ref)
        .await?
        .ok_or_else(|| HandlerError::Permanent(format!("{row_ref} does not exist")))?;
    let RowBody::CsEvaluation(e) = &row.body else {
        return Err(HandlerError::Permanent(format!(
            "{row_ref} is not a cs_thread_evaluations row"
        )));
    };
    if !matches!(row.status, RowStatus::Released | RowStatus::Applying) {
        return Ok(row.status);
    }
    let threads = helpdesk.open_threads().await.map_err(vendor)?;
    let draft = threads
        .iter()
        .find(|t| t.id == e.thread_id)
        .and_then(|t| t.draft.clone())
        .filter(|d| Some(&d.version) == e.draft_version.as_ref());
    let Some(draft) = draft else {
        let mut body = row.body.clone();
        if let RowBody::CsEvaluation(b) = &mut body {
            b.result = Some(
                json!({"sent": false, "why": "the thread is closed or its draft changed since this evaluation; the new version is judged on the next run"}),
            );
        }
        let failed_from = row.status;
        ports
            .audit
            .transition(
                row_ref,
                failed_from,
                RowStatus::Failed,
                Some(body),
                now,
                None,
            )
            .await?;
        return Ok(RowStatus::Failed);
    };
    if row.status == RowStatus::Released {
        ports
            .audit
            .transition(
                row_ref,
                RowStatus::Released,
                RowStatus::Applying,
                None,
                now,
                None,
            )
            .await?;
    }
    let result = helpdesk.send(&e.thread_id, &draft).await.map_err(vendor)?;
    let mut body = row.body.clone();
    if let RowBody::CsEvaluation(b) = &mut body {
        b.result = Some(result);
    }
    ports
        .audit
        .transition(
            row_ref,
            RowStatus::Applying,
            RowStatus::Applied,
            Some(body),
            now,
            None,
        )
        .await?;
    Ok(RowStatus::Applied)
}
