//! The research cycle (11:00): discovery lanes → candidate_scorer + supplier_matcher → the
//! research_candidates queue for the operator's review. A lane that fails is recorded and the
//! cycle goes on with the others.

use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_connectors::lanes::keyword_limits::partition;
use otto_connectors::lanes::RawCandidate;
pub use otto_connectors::lanes::ResearchSources;
use otto_core::audit::{AuditRow, AuditTable, NewRow, ResearchCandidateRow, RowBody, RowRef};
use otto_core::cycle::Stage;
use otto_core::report::{
    LaneOutcome, LanesReport, QueueReport, ResearchSummary, ScoreReport, ScoredCandidate,
};
use otto_core::stages::research::{
    bound_lane, candidate_key, keep_within, score_group, store_currency, words, GroupInputs,
    ScoreRules, KEEP_SCORED, SCORED_BYTES, SOURCES_KEPT,
};
use otto_core::stages::supplier_matcher::OfferLookup;
use otto_core::{RowStatus, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

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
            match lane.discover_noting(&seeds).await {
                Ok(mut f) => {
                    let all = f.candidates.len() as u64;
                    f.notes.extend(bound_lane(&mut f.candidates));
                    report.insert(
                        lane.name().to_string(),
                        LaneOutcome {
                            ok: true,
                            candidates: Some(all),
                            error: None,
                            notes: f.notes,
                        },
                    );
                    found.extend(f.candidates);
                }
                Err(e) => {
                    tracing::warn!(lane = lane.name(), error = %e, "discovery lane failed; the cycle goes on");
                    report.insert(
                        lane.name().to_string(),
                        LaneOutcome {
                            ok: false,
                            candidates: None,
                            error: Some(e.to_string()),
                            notes: Vec::new(),
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
        let variants = ctx.ports.catalog.variants(&ctx.msg.cycle_id.store).await?;
        let own: Vec<BTreeSet<String>> = variants
            .iter()
            .map(|v| words(v.title.split('—').next().unwrap_or(&v.title)))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let prices: Vec<_> = variants.iter().map(|v| v.price).collect();
        let currency = store_currency(&prices, &found).unwrap_or(otto_core::Currency::EUR);
        let mut groups: BTreeMap<String, Vec<&RawCandidate>> = BTreeMap::new();
        for c in &found {
            let key = candidate_key(&c.title);
            if !key.is_empty() {
                groups.entry(key).or_default().push(c);
            }
        }
        let titles: Vec<String> = groups.values().map(|g| g[0].title.clone()).collect();
        // DataForSEO's keyword limits: a keyword over them is left out alone, with its reason.
        let lower: Vec<String> = titles.iter().map(|t| t.to_lowercase()).collect();
        let (keywords, rejected) = partition(&lower);
        let volumes = match self.0.volumes.volumes(&keywords).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "keyword volumes unavailable; market fit stays unknown");
                BTreeMap::new()
            }
        };
        // supplier_matcher: one DataForSEO lookup per idea; each ends on its own. The tasks an
        // earlier delivery of this stage posted are collected, not posted again.
        let ledger = crate::supplier_tasks::StageTasks::load(ctx).await?;
        let offers = self.0.offers.offers(&titles, &ledger).await;
        let rules = ScoreRules::default();
        let mut scored = Vec::new();
        for (key, group) in &groups {
            let title = group[0].title.clone();
            let kw = title.to_lowercase();
            let stat = volumes.get(&kw).cloned().unwrap_or_default();
            let lookup = offers.get(&title).cloned().unwrap_or(OfferLookup::Failed {
                reason: "the offer source returned nothing for this title".into(),
            });
            let inputs = GroupInputs {
                search_volume: group
                    .iter()
                    .find_map(|c| c.search_volume)
                    .or(stat.search_volume),
                competition_bp: group
                    .iter()
                    .find_map(|c| c.competition_bp)
                    .or(stat.competition_bp),
                keyword_rejected: rejected
                    .iter()
                    .find(|r| r.keyword == kw)
                    .map(|r| r.reason.as_str()),
                offers: &lookup,
                store_currency: currency,
            };
            let (s, supplier) =
                score_group(&title, group, &inputs, &own, &rules, &self.0.supplier_rules);
            let lanes: BTreeSet<&str> = group.iter().map(|c| c.lane.as_str()).collect();
            scored.push(ScoredCandidate {
                key: key.clone(),
                title,
                lanes: lanes.into_iter().map(str::to_string).collect(),
                sources: group
                    .iter()
                    .filter_map(|c| c.source_url.clone())
                    .take(SOURCES_KEPT)
                    .collect(),
                score: s,
                supplier,
            });
        }
        // Best first; unscored last; ties by key, so the order is reproducible.
        scored.sort_by(|a, b| {
            b.score
                .score_bp
                .cmp(&a.score.score_bp)
                .then_with(|| a.key.cmp(&b.key))
        });
        let left_out = keep_within(&mut scored, KEEP_SCORED, SCORED_BYTES) as u64;
        let report = ScoreReport {
            groups: groups.len() as u64,
            left_out,
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
                        supplier_match: Some(s.supplier.clone()),
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
