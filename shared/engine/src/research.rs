//! The research cycle (11:00): discovery lanes → candidate_scorer + supplier_matcher → the
//! research_candidates queue for the operator's review. A lane that fails is recorded and the
//! cycle goes on with the others.

use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_connectors::lanes::{DiscoveryLane, KeywordVolumes, RawCandidate};
use otto_core::audit::{AuditRow, AuditTable, NewRow, ResearchCandidateRow, RowBody, RowRef};
use otto_core::cycle::Stage;
use otto_core::report::{
    LaneOutcome, LanesReport, QueueReport, ResearchSummary, ScoreReport, ScoredCandidate,
};
use otto_core::stages::research::{candidate_key, score, words, ScoreRules};
use otto_core::{RowStatus, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Where research looks.
#[derive(Clone)]
pub struct ResearchSources {
    pub lanes: Vec<Arc<dyn DiscoveryLane>>,
    pub volumes: Arc<dyn KeywordVolumes>,
}

pub fn with_research(reg: StageRegistry, src: ResearchSources) -> StageRegistry {
    reg.with(Stage::Lanes, Arc::new(Lanes(src.clone())))
        .with(Stage::Score, Arc::new(ScoreStage(src)))
        .with(Stage::Queue, Arc::new(Queue))
}

/// 11:00 — every lane, with the store's own product words as seeds.
struct Lanes(ResearchSources);

#[async_trait]
impl StageBody for Lanes {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let variants = ctx.ports.catalog.variants(&ctx.msg.cycle_id.store).await?;
        // Seeds: the store's product kinds, e.g. "linen throw" from "Linen Throw — SND / L".
        let seeds: Vec<String> = variants
            .iter()
            .filter_map(|v| v.title.split('—').next())
            .map(|t| t.trim().to_lowercase())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(8)
            .collect();
        let mut found: Vec<RawCandidate> = Vec::new();
        let mut report = BTreeMap::new();
        for lane in &self.0.lanes {
            match lane.discover(&seeds).await {
                Ok(c) => {
                    report.insert(
                        lane.name().to_string(),
                        LaneOutcome {
                            ok: true,
                            candidates: Some(c.len() as u64),
                            error: None,
                        },
                    );
                    found.extend(c);
                }
                Err(e) => {
                    tracing::warn!(lane = lane.name(), error = %e, "discovery lane failed; the cycle goes on");
                    report.insert(
                        lane.name().to_string(),
                        LaneOutcome {
                            ok: false,
                            candidates: None,
                            error: Some(e.to_string()),
                        },
                    );
                }
            }
        }
        let report = LanesReport {
            seeds,
            lanes: report,
            candidates: found,
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// 11:45 — candidate_scorer + supplier_matcher.
struct ScoreStage(ResearchSources);

#[async_trait]
impl StageBody for ScoreStage {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let found = crate::earlier::<LanesReport>(ctx, 0).await?.1.candidates;
        let own: Vec<BTreeSet<String>> = ctx
            .ports
            .catalog
            .variants(&ctx.msg.cycle_id.store)
            .await?
            .iter()
            .map(|v| words(v.title.split('—').next().unwrap_or(&v.title)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut groups: BTreeMap<String, Vec<&RawCandidate>> = BTreeMap::new();
        for c in &found {
            let key = candidate_key(&c.title);
            if !key.is_empty() {
                groups.entry(key).or_default().push(c);
            }
        }
        let keywords: Vec<String> = groups.values().map(|g| g[0].title.to_lowercase()).collect();
        let volumes = match self.0.volumes.volumes(&keywords).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "keyword volumes unavailable; market fit stays unknown");
                BTreeMap::new()
            }
        };
        let rules = ScoreRules::default();
        let mut scored = Vec::new();
        for (key, group) in &groups {
            let title = group[0].title.clone();
            let kw = title.to_lowercase();
            let stat = volumes.get(&kw).cloned().unwrap_or_default();
            let volume = group
                .iter()
                .find_map(|c| c.search_volume)
                .or(stat.search_volume);
            let competition = group
                .iter()
                .find_map(|c| c.competition_bp)
                .or(stat.competition_bp);
            let s = score(
                &title,
                group.iter().filter_map(|c| c.price).collect(),
                group.iter().filter_map(|c| c.unit_cost).collect(),
                volume,
                competition,
                &own,
                &rules,
            );
            let lanes: BTreeSet<&str> = group.iter().map(|c| c.lane.as_str()).collect();
            scored.push(ScoredCandidate {
                key: key.clone(),
                title,
                lanes: lanes.into_iter().map(str::to_string).collect(),
                sources: group.iter().filter_map(|c| c.source_url.clone()).collect(),
                score: s,
            });
        }
        // Best first; unscored last; ties by key, so the order is reproducible.
        scored.sort_by(|a, b| {
            b.score
                .score_bp
                .cmp(&a.score.score_bp)
                .then_with(|| a.key.cmp(&b.key))
        });
        let report = ScoreReport {
            groups: groups.len() as u64,
            scored,
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// 12:00 — research_candidates rows, one per idea across days and lanes.
struct Queue;

#[async_trait]
impl StageBody for Queue {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let scored = crate::earlier::<ScoreReport>(ctx, 0).await?.1.scored;
        let store = &ctx.msg.cycle_id.store;
        let rows: Vec<NewRow> = scored
            .iter()
            .enumerate()
            .map(|(rank, s)| {
                let key = s.key.clone();
                NewRow {
                    cycle_id: ctx.msg.cycle_id.clone(),
                    // Across days and lanes: the same idea is one row.
                    natural_key: format!("candidate|{store}|{key}"),
                    status: RowStatus::Queued,
                    created_at: ctx.now,
                    body: RowBody::ResearchCandidate(ResearchCandidateRow {
                        candidate_key: key,
                        title: s.title.clone(),
                        lane: s.lanes.iter().next().cloned().unwrap_or_default(),
                        score_bp: s.score.score_bp.and_then(|v| u32::try_from(v).ok()),
                        review: "QUEUED".into(),
                        figures: BTreeMap::from([
                            ("rank".into(), json!(rank + 1)),
                            ("lanes".into(), json!(s.lanes)),
                            ("sources".into(), json!(s.sources)),
                            ("score".into(), json!(s.score)),
                        ]),
                    }),
                }
            })
            .collect();
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let new = appended.iter().filter(|a| a.inserted).count();
        let summary = ResearchSummary {
            queued_new: new as u32,
            seen_before: (appended.len() - new) as u32,
            top: appended.iter().take(5).map(|a| a.row_ref).collect(),
        };
        let report = QueueReport {
            queued_new: summary.queued_new,
            seen_before: summary.seen_before,
            summary,
        };
        Ok(StageOutput::new(report, 1))
    }
}

/// Queued candidates, best score first (unscored last).
pub async fn queued(ports: &Ports, store: &StoreId) -> Result<Vec<AuditRow>, StoreError> {
    let mut rows = Vec::new();
    let mut page = PageReq::first(500);
    loop {
        let p = ports
            .audit
            .by_status(
                AuditTable::ResearchCandidates,
                store,
                RowStatus::Queued,
                page.clone(),
            )
            .await?;
        rows.extend(p.items);
        match p.next {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let score = |r: &AuditRow| match &r.body {
        RowBody::ResearchCandidate(c) => c.score_bp.map(i64::from).unwrap_or(-1),
        _ => -1,
    };
    rows.sort_by(|a, b| {
        score(b)
            .cmp(&score(a))
            .then(a.row_ref.seq.cmp(&b.row_ref.seq))
    });
    Ok(rows)
}

/// QUEUED → APPROVED / REJECTED (conditional: a second review is refused).
pub async fn review(
    ports: &Ports,
    row_ref: RowRef,
    approve: bool,
    by: &str,
    reason: Option<String>,
) -> Result<AuditRow, StoreError> {
    if row_ref.table != AuditTable::ResearchCandidates {
        return Err(StoreError::Invalid(format!(
            "{row_ref} is not a research candidate"
        )));
    }
    let row = ports
        .audit
        .get(row_ref)
        .await?
        .ok_or_else(|| StoreError::NotFound(row_ref.to_string()))?;
    let mut body = row.body.clone();
    if let RowBody::ResearchCandidate(c) = &mut body {
        c.review = if approve { "APPROVED" } else { "REJECTED" }.into();
        c.figures
            .insert("reviewed_by".into(), serde_json::json!(by));
        if let Some(r) = reason {
            c.figures
                .insert("review_reason".into(), serde_json::json!(r));
        }
    }
    let to = if approve {
        RowStatus::Approved
    } else {
        RowStatus::Rejected
    };
    ports
        .audit
        .transition(
            row_ref,
            RowStatus::Queued,
            to,
            Some(body),
            otto_core::clock::now(),
            None,
        )
        .await
}
