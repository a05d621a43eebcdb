//! Customer-service triage: every open thread with a draft (and every refund request without one)
//! is judged and logged as a cs_thread_evaluations row, one per (thread, draft version), so
//! re-evaluating the same draft is a no-op. In Phase 2 a SEND goes to the helpdesk and its answer
//! is kept on the row. The `cs_triage` stage (scheduled every 15 minutes, one cycle id per run
//! slot) and `otto cs run` both call [`triage`].

use crate::executor::{execute, Note, Run, Via};
use chrono::{DateTime, Utc};
use otto_connectors::helpdesk::Helpdesk;
use otto_connectors::voice::VoiceScorer;
use otto_connectors::VendorError;
use otto_core::audit::{CsEvaluationRow, NewRow, RowBody};
use otto_core::cycle::CycleId;
use otto_core::stages::cs::{judge_scored, refund_escalation, CsPolicy, Verdict};
use otto_core::{Move, RowStatus};
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_core::cycle::Stage;
use otto_core::report::CsTriageReport;

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
        Ok(StageOutput::new(out, 0))
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
) -> Result<CsTriageReport, HandlerError> {
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
    let mut verdicts = Vec::new();
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
                r#move: t.draft.as_ref().map(|_| Move::CsReply {
                    thread_id: t.id.clone(),
                    draft_version: version.clone(),
                }),
                hold_reason: None,
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
        verdicts.push(verdict);
    }
    let appended = ports.audit.append(rows, None).await?;
    let mut by_verdict: BTreeMap<Verdict, u32> = BTreeMap::new();
    let mut sent = 0u32;
    let via = Via {
        helpdesk: Some(helpdesk),
        ..Via::default()
    };
    let run = Run {
        fence: None,
        now,
        today: cycle.day,
        owner: format!("{cycle}|cs_triage"),
    };
    for (a, verdict) in appended.iter().zip(&verdicts) {
        *by_verdict.entry(*verdict).or_default() += 1;
        // Phase 2 SENDs (PENDING), and holds an operator released while no helpdesk could send
        // them, go through the one executor: the kill switch holds them, and only the attempt
        // that owns the row sends it.
        let resumable = a.inserted && *verdict == Verdict::Send && apply;
        let resumable = resumable || !a.inserted && *verdict != Verdict::EscalatedRefund;
        if resumable
            && execute(ports, via, a.row_ref, &run)
                .await?
                .settled_for_stage()?
                .note
                == Note::Applied
        {
            sent += 1;
        }
    }
    Ok(CsTriageReport {
        threads: threads.len() as u32,
        evaluated: appended.len() as u32,
        new: appended.iter().filter(|a| a.inserted).count() as u32,
        by_verdict,
        sent,
        refs: appended.iter().map(|a| a.row_ref).collect(),
    })
}
