//! What each stage reports on its `stage_runs` row, and what a finished cycle reports on its
//! `cycle_runs` row — typed, so a renamed field fails to compile in the stage that writes it and in
//! every reader (the next stage, the answers engine, the CLI, the dashboard).
//!
//! Both are serde-tagged: a stage report carries `"stage"`, a cycle summary `"cycle"`, so an
//! export stays plain JSON. Rows written before these types existed kept the same fields under
//! `figures` (and the summary under `figures.summary`); [`StageRunRow`](crate::audit::StageRunRow)
//! and [`CycleRunRow`](crate::audit::CycleRunRow) read those once, on load, into the typed form.

use crate::action::{Action, RowStatus};
use crate::audit::RowRef;
use crate::cycle::{CycleKind, Stage};
use crate::stages::calibrate::Thresholds;
use crate::stages::classify::Classified;
use crate::stages::cs::Verdict;
use crate::stages::decide::{Lift, StoreSales};
use crate::stages::research::{RawCandidate, Score};
use crate::stages::supplier_matcher::SupplierMatch;
use crate::time::StoreDay;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One stage's output, by stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum StageReport {
    Sync(SyncReport),
    Calibrate(CalibrateReport),
    Classify(ClassifyReport),
    Decide(DecideReport),
    CampaignPlan(CampaignPlanReport),
    Lanes(LanesReport),
    Score(ScoreReport),
    Queue(QueueReport),
    Audit(AuditReport),
    Revert(RevertReport),
    Open(OpenReport),
    CsTriage(CsTriageReport),
}

/// A stage's report type, tied to its stage: `StageReport` in, the typed report out.
pub trait StageReportKind: Sized {
    const STAGE: Stage;
    fn from_report(r: StageReport) -> Option<Self>;
    fn into_report(self) -> StageReport;
}

macro_rules! report_kinds {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(
            impl StageReportKind for $ty {
                const STAGE: Stage = Stage::$variant;
                fn from_report(r: StageReport) -> Option<Self> {
                    match r {
                        StageReport::$variant(x) => Some(x),
                        _ => None,
                    }
                }
                fn into_report(self) -> StageReport {
                    StageReport::$variant(self)
                }
            }
        )*
        impl StageReport {
            /// The stage this report belongs to.
            pub fn stage(&self) -> Stage {
                match self {
                    $(StageReport::$variant(_) => Stage::$variant,)*
                }
            }
        }
    };
}

report_kinds! {
    Sync => SyncReport,
    Calibrate => CalibrateReport,
    Classify => ClassifyReport,
    Decide => DecideReport,
    CampaignPlan => CampaignPlanReport,
    Lanes => LanesReport,
    Score => ScoreReport,
    Queue => QueueReport,
    Audit => AuditReport,
    Revert => RevertReport,
    Open => OpenReport,
    CsTriage => CsTriageReport,
}

impl StageReport {
    /// The summary a cycle's last stage carries for its cycle_runs row.
    pub fn cycle_summary(&self) -> Option<CycleSummary> {
        match self {
            StageReport::CampaignPlan(r) => Some(CycleSummary::Morning(r.summary.clone())),
            StageReport::Queue(r) => Some(CycleSummary::Research(r.summary.clone())),
            StageReport::Open(r) => Some(CycleSummary::Discount(r.summary.clone())),
            StageReport::CsTriage(r) => Some(CycleSummary::Cs(r.summary())),
            _ => None,
        }
    }

    /// A row written before stage reports were typed: its figures held the same fields.
    pub fn from_legacy(stage: Stage, figures: &BTreeMap<String, Value>) -> Option<StageReport> {
        let mut m: serde_json::Map<String, Value> = figures
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        m.insert("stage".into(), Value::String(stage.as_str().into()));
        serde_json::from_value(Value::Object(m)).ok()
    }
}

// --- morning --------------------------------------------------------------------------------

/// catalog_sync + performance_sync.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Moves an earlier cycle left APPLYING, settled by reading the vendor.
    #[serde(default)]
    pub stranded_resolved: Vec<RowRef>,
    pub synced_at: DateTime<Utc>,
    /// Held rows of earlier mornings that expired (this morning decides afresh).
    #[serde(default)]
    pub held_expired: Vec<RowRef>,
    pub variants: u64,
    pub metric_rows: u64,
    pub pulled_from: StoreDay,
    pub pulled_to: StoreDay,
    pub provisional_from: StoreDay,
    pub campaign_days: u64,
    pub budgets: u64,
    pub external_changes: u64,
    pub metric_rows_without_catalog_sku: u64,
    /// What the catalog could not use (explanation for the operator, shown as it is).
    #[serde(default)]
    pub catalog_exceptions: Value,
    /// Ad offers that map to no variant (explanation, shown as it is).
    #[serde(default)]
    pub unmapped_offers: Value,
    #[serde(default)]
    pub external_budget_changes: Vec<String>,
    #[serde(default)]
    pub sales_available: bool,
    #[serde(default)]
    pub sales: Option<SalesPulled>,
}

/// Store sales the sync pulled from the shop's orders, or why there are none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SalesPulled {
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub units: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub orders: Option<u64>,
}

/// self_calibrator: the thresholds and each chunk's SKU slice, fixed once for the cycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrateReport {
    /// The previous completed morning cycle (None on the first), and when its sync ran.
    #[serde(default)]
    pub previous_cycle: Option<String>,
    #[serde(default)]
    pub previous_synced_at: Option<DateTime<Utc>>,
    pub thresholds: Thresholds,
    pub skus: u64,
    /// Each chunk's first and last SKU.
    pub chunk_bounds: Vec<(String, String)>,
    pub chunks: u32,
}

/// What classify stores per SKU for decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassEntry {
    pub c: Classified,
    /// Growth of store revenue when the shop reports orders, else of the ads' conversion value.
    pub lift: Lift,
    /// Store sales over the window; None when the shop cannot report orders.
    #[serde(default)]
    pub sales: Option<StoreSales>,
}

/// classifier, one chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassifyReport {
    /// SKUs per class (WINNER, MID, LOSER, INSUFFICIENT_DATA).
    pub counts: BTreeMap<String, u64>,
    pub classes: BTreeMap<String, ClassEntry>,
}

/// decision_engine, one chunk: its rows by action and by status after the executor.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DecideReport {
    pub by_action: BTreeMap<Action, u64>,
    pub by_status: BTreeMap<RowStatus, u64>,
    pub rows: u64,
}

/// campaign planner + judge, and the morning's summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CampaignPlanReport {
    pub proposals: u32,
    pub agreed: u32,
    #[serde(default)]
    pub judge_agreement_bp: Option<u32>,
    /// The ad account's ROAS (conversion value ÷ cost) in the window's first and second half
    /// (stored as `mer_*` before it was named for what it is).
    #[serde(default, alias = "mer_before_bp")]
    pub account_roas_before_bp: Option<i64>,
    #[serde(default, alias = "mer_after_bp")]
    pub account_roas_after_bp: Option<i64>,
    /// The store's MER (store revenue ÷ all ad spend) in the same halves, when the store's
    /// orders were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_mer_before_bp: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_mer_after_bp: Option<i64>,
    pub summary: MorningSummary,
}

// --- research -------------------------------------------------------------------------------

/// How one discovery lane did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneOutcome {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidates: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// One line per problem the lane went past without failing (a competitor store skipped, a
    /// keyword over DataForSEO's limits left out), e.g. `https://x.example: HTTP 404 …`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// Every discovery lane, with the store's own product words as seeds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LanesReport {
    pub seeds: Vec<String>,
    pub lanes: BTreeMap<String, LaneOutcome>,
    pub candidates: Vec<RawCandidate>,
}

/// One idea across lanes, scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoredCandidate {
    pub key: String,
    pub title: String,
    pub lanes: BTreeSet<String>,
    pub sources: Vec<String>,
    pub score: Score,
    /// supplier_matcher's evidence (reports stored before it was kept read as "not stored").
    #[serde(default = "SupplierMatch::unknown")]
    pub supplier: SupplierMatch,
}

/// candidate_scorer + supplier_matcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScoreReport {
    pub groups: u64,
    /// Scored candidates left out of `scored` (and so of the review queue): beyond the best
    /// that one stage row can carry (`stages::research::KEEP_SCORED` / `SCORED_BYTES`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub left_out: u64,
    /// Best first; unscored last; ties by key.
    pub scored: Vec<ScoredCandidate>,
}

/// The review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueReport {
    pub queued_new: u32,
    pub seen_before: u32,
    pub summary: ResearchSummary,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

// --- discount -------------------------------------------------------------------------------

/// discount_executor at 16:00: what is open, what is due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    pub open_windows: u64,
    #[serde(default)]
    pub held_expired: Vec<RowRef>,
    /// The ON_DISCOUNT rows whose window ends today or earlier.
    pub due: Vec<RowRef>,
}

/// PRICE_RESTORE for every window past its TTL.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RevertReport {
    #[serde(default)]
    pub stranded_resolved: Vec<RowRef>,
    pub restores: u32,
    pub by_status: BTreeMap<RowStatus, u32>,
}

/// How many new tests may open today: the daily cap and the catalog-share cap, and what is left.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscountCaps {
    pub daily_cap: u32,
    pub daily_left: u32,
    pub catalog_share_bp: u32,
    pub share_max: u32,
    pub share_left: u32,
    pub active_variants: u64,
}

/// New discount tests within the caps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenReport {
    pub candidates: u32,
    pub rows: u32,
    pub skipped_by_margin_gate: u32,
    pub kept_by_caps: u32,
    pub caps: DiscountCaps,
    pub by_status: BTreeMap<RowStatus, u32>,
    pub summary: DiscountSummary,
}

// --- customer service -----------------------------------------------------------------------

/// cs_triage: the verdicts on the inbox, and the replies sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CsTriageReport {
    pub threads: u32,
    pub evaluated: u32,
    pub new: u32,
    pub by_verdict: BTreeMap<Verdict, u32>,
    pub sent: u32,
    pub refs: Vec<RowRef>,
}

impl CsTriageReport {
    pub fn summary(&self) -> CsSummary {
        CsSummary {
            threads: self.threads,
            evaluated: self.evaluated,
            by_verdict: self.by_verdict.clone(),
            sent: self.sent,
        }
    }
}

// --- cycle summaries ------------------------------------------------------------------------

/// What a finished cycle reports on its cycle_runs row: the answers engine, the CLI, the
/// dashboard and the Slack digest all read this one value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cycle", rename_all = "snake_case")]
pub enum CycleSummary {
    Morning(MorningSummary),
    Research(ResearchSummary),
    Discount(DiscountSummary),
    Cs(CsSummary),
}

impl CycleSummary {
    /// A summary stored before summaries were typed (`figures.summary`, untagged), read by the
    /// run's kind. Fields it lacks read as zero/empty; one it cannot read leaves no summary.
    pub fn from_legacy(kind: CycleKind, v: &Value) -> Option<CycleSummary> {
        let v = v.clone();
        match kind {
            CycleKind::Morning => serde_json::from_value(v).ok().map(CycleSummary::Morning),
            CycleKind::Research => serde_json::from_value(v).ok().map(CycleSummary::Research),
            CycleKind::Discount => serde_json::from_value(v).ok().map(CycleSummary::Discount),
            CycleKind::Cs => serde_json::from_value(v).ok().map(CycleSummary::Cs),
            _ => None,
        }
    }
    pub fn morning(&self) -> Option<&MorningSummary> {
        match self {
            CycleSummary::Morning(m) => Some(m),
            _ => None,
        }
    }
    /// The held rows the summary names (morning only).
    pub fn held_rows(&self) -> &[RowRef] {
        match self {
            CycleSummary::Morning(m) => &m.held_rows,
            _ => &[],
        }
    }
}

/// How the morning went: "142 decision rows, 47 ad moves, judge agreement at 96%, one held row".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MorningSummary {
    pub decision_rows: u64,
    pub by_action: BTreeMap<Action, u64>,
    pub by_status: BTreeMap<RowStatus, u64>,
    pub ad_proposals: u32,
    pub ad_agreed: u32,
    pub ad_moves: u32,
    pub ad_held: u32,
    pub judge_agreement_bp: Option<u32>,
    pub held_rows: Vec<RowRef>,
    /// The ad account's ROAS (conversion value ÷ cost) in the first and second half of the
    /// planner's window (stored as `mer_*` before it was named for what it is).
    #[serde(alias = "mer_before_bp")]
    pub account_roas_before_bp: Option<i64>,
    #[serde(alias = "mer_after_bp")]
    pub account_roas_after_bp: Option<i64>,
    /// The store's MER (store revenue ÷ all ad spend) in the same halves, when the store's
    /// orders were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_mer_before_bp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub store_mer_after_bp: Option<i64>,
}

/// What the research cycle queued.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResearchSummary {
    pub queued_new: u32,
    pub seen_before: u32,
    /// The best five candidates of the run.
    pub top: Vec<RowRef>,
}

/// What the discount cycle opened and restored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DiscountSummary {
    pub opened_or_planned: u32,
    pub skipped: u32,
    pub kept_by_caps: u32,
    pub by_status: BTreeMap<RowStatus, u32>,
    /// The discounts this run applied.
    pub applied_refs: Vec<RowRef>,
    /// Windows restored (PRICE_RESTORE rows) this run, by status.
    pub restores_by_status: BTreeMap<RowStatus, u32>,
}

/// What the customer-service triage judged and sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CsSummary {
    pub threads: u32,
    pub evaluated: u32,
    pub by_verdict: BTreeMap<Verdict, u32>,
    pub sent: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_stage_report_is_tagged_by_its_stage() {
        let r = StageReport::Decide(DecideReport {
            by_action: BTreeMap::from([(Action::Keep, 2)]),
            by_status: BTreeMap::from([(RowStatus::DryRun, 2)]),
            rows: 2,
        });
        let v = serde_json::to_value(&r).expect("json");
        assert_eq!(v["stage"], "decide");
        assert_eq!(v["by_action"]["KEEP"], 2);
        assert_eq!(serde_json::from_value::<StageReport>(v).expect("back"), r);
        assert_eq!(r.stage(), Stage::Decide);
    }

    #[test]
    fn a_legacy_stage_row_reads_into_its_report() {
        let figures: BTreeMap<String, Value> = BTreeMap::from([
            ("by_action".into(), json!({"KEEP": 3, "DRAFT": 1})),
            ("by_status".into(), json!({"APPLIED": 1, "DRY_RUN": 3})),
            ("rows".into(), json!(4)),
        ]);
        let r = StageReport::from_legacy(Stage::Decide, &figures).expect("typed");
        let d = DecideReport::from_report(r).expect("decide");
        assert_eq!(d.rows, 4);
        assert_eq!(d.by_action[&Action::Draft], 1);
        // The wrong stage's figures are no report at all.
        assert!(StageReport::from_legacy(Stage::Calibrate, &figures).is_none());
    }

    #[test]
    fn a_legacy_summary_reads_by_the_runs_kind_and_tolerates_missing_fields() {
        let s = CycleSummary::from_legacy(
            CycleKind::Morning,
            &json!({"decision_rows": 5, "by_action": {"KEEP": 5}, "held_rows": ["decision_log#9"]}),
        )
        .expect("summary");
        let m = s.morning().expect("morning");
        assert_eq!(m.decision_rows, 5);
        assert_eq!(m.ad_moves, 0);
        assert_eq!(
            s.held_rows(),
            &[RowRef::parse("decision_log#9").expect("ref")]
        );
        let d = CycleSummary::from_legacy(CycleKind::Discount, &json!({"windows_touched": 2}));
        assert_eq!(d, Some(CycleSummary::Discount(DiscountSummary::default())));
    }
}
