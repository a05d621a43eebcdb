//! The research cycle (11:00): discovery lanes → candidate_scorer + supplier_matcher → the
//! research_candidates queue for the operator's review. A lane that fails is recorded and the
//! cycle goes on with the others.

use crate::{StageBody, StageContext, StageOutput, StageRegistry};
use async_trait::async_trait;
use otto_connectors::lanes::{DiscoveryLane, KeywordVolumes, RawCandidate};
use otto_core::audit::{AuditRow, AuditTable, NewRow, ResearchCandidateRow, RowBody, RowRef};
use otto_core::cycle::Stage;
use otto_core::stages::research::{candidate_key, score, words, ScoreRules};
use otto_core::{RowStatus, StoreId};
use otto_runtime::HandlerError;
use otto_store::{PageReq, Ports, StoreError};
use serde_json::{json, Value};
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

fn perm(e: impl std::fmt::Display) -> HandlerError {
    HandlerError::Permanent(e.to_string())
}

async fn figure(ctx: &StageContext<'_>, stage: Stage, key: &str) -> Result<Value, HandlerError> {
    let nk = format!("{}|{}|0", ctx.msg.cycle_id, stage);
    let row = ctx
        .ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &nk)
        .await?
        .ok_or_else(|| {
            HandlerError::Retryable(format!("{stage} of {} has not run yet", ctx.msg.cycle_id))
        })?;
    match row.body {
        RowBody::StageRun(s) => s
            .figures
            .get(key)
            .cloned()
            .ok_or_else(|| perm(format!("{stage} run lacks {key:?}"))),
        _ => Err(perm("stage run row has another table's body")),
    }
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
                        json!({"ok": true, "candidates": c.len()}),
                    );
                    found.extend(c);
                }
                Err(e) => {
                    tracing::warn!(lane = lane.name(), error = %e, "discovery lane failed; the cycle goes on");
                    report.insert(
                        lane.name().to_string(),
                        json!({"ok": false, "error": e.to_string()}),
                    );
                }
            }
        }
        Ok(StageOutput {
            figures: BTreeMap::from([
                ("seeds".into(), json!(seeds)),
                ("lanes".into(), json!(report)),
                (
                    "candidates".into(),
                    serde_json::to_value(&found).map_err(perm)?,
                ),
            ]),
            next_chunks: 1,
        })
    }
}

/// 11:45 — candidate_scorer + supplier_matcher.
struct ScoreStage(ResearchSources);

#[async_trait]
impl StageBody for ScoreStage {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let found: Vec<RawCandidate> =
            serde_json::from_value(figure(ctx, Stage::Lanes, "candidates").await?).map_err(perm)?;
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
            scored.push(json!({
                "key": key,
                "title": title,
                "lanes": lanes,
                "sources": group.iter().filter_map(|c| c.source_url.clone()).collect::<Vec<_>>(),
                "score": s,
            }));
        }
        // Best first; unscored last; ties by key, so the order is reproducible.
        scored.sort_by(|a, b| {
            let sa = a["score"]["score_bp"].as_i64();
            let sb = b["score"]["score_bp"].as_i64();
            sb.cmp(&sa)
                .then_with(|| a["key"].as_str().cmp(&b["key"].as_str()))
        });
        Ok(StageOutput {
            figures: BTreeMap::from([
                ("groups".into(), json!(groups.len())),
                ("scored".into(), json!(scored)),
            ]),
            next_chunks: 1,
        })
    }
}

/// 12:00 — research_candidates rows, one per idea across days and lanes.
struct Queue;

#[async_trait]
impl StageBody for Queue {
    async fn run(&self, ctx: &StageContext<'_>) -> Result<StageOutput, HandlerError> {
        let scored: Vec<Value> =
            serde_json::from_value(figure(ctx, Stage::Score, "scored").await?).map_err(perm)?;
        let store = &ctx.msg.cycle_id.store;
        let rows: Vec<NewRow> = scored
            .iter()
            .enumerate()
            .map(|(rank, s)| {
                let key = s["key"].as_str().unwrap_or_default().to_string();
                NewRow {
                    cycle_id: ctx.msg.cycle_id.clone(),
                    // Across days and lanes: the same idea is one row.
                    natural_key: format!("candidate|{store}|{key}"),
                    status: RowStatus::Queued,
                    created_at: ctx.now,
                    body: RowBody::ResearchCandidate(ResearchCandidateRow {
                        candidate_key: key,
                        title: s["title"].as_str().unwrap_or_default().to_string(),
                        lane: s["lanes"]
                            .as_array()
                            .and_then(|l| l.first())
                            .and_then(|l| l.as_str())
                            .unwrap_or_default()
                            .to_string(),
                        score_bp: s["score"]["score_bp"]
                            .as_i64()
                            .and_then(|v| u32::try_from(v).ok()),
                        review: "QUEUED".into(),
                        figures: BTreeMap::from([
                            ("rank".into(), json!(rank + 1)),
                            ("lanes".into(), s["lanes"].clone()),
                            ("sources".into(), s["sources"].clone()),
                            ("score".into(), s["score"].clone()),
                        ]),
                    }),
                }
            })
            .collect();
        let appended = ctx.ports.audit.append(rows, Some(&ctx.msg.fence)).await?;
        let new = appended.iter().filter(|a| a.inserted).count();
        Ok(StageOutput {
            figures: BTreeMap::from([
                ("queued_new".into(), json!(new)),
                ("seen_before".into(), json!(appended.len() - new)),
                (
                    "summary".into(),
                    json!({"queued_new": new, "seen_before": appended.len() - new, "top": appended.iter().take(5).map(|a| a.row_ref.to_string()).collect::<Vec<_>>()}),
                ),
            ]),
            next_chunks: 1,
        })
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
