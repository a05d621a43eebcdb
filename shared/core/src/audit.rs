//! The audit plane: append-only rows with short, stable, clickable refs (`decision_log#84196`).
//!
//! A row is a fact. Its one moving field is `status`, which changes only along
//! [`RowStatus::can_become`](crate::RowStatus::can_become). Index fields (subject, action) are
//! derived from the body, so an index can never disagree with the row it points at.

use crate::action::{Action, Classification, RowStatus};
use crate::cycle::{CycleId, CycleKind, Stage};
use crate::error::CoreError;
use crate::ids::{Sku, StoreId};
use crate::money::Money;
use crate::moves::{Attempt, Move};
use crate::report::{CycleSummary, StageReport, StageReportKind};
use crate::stages::campaign_watch::CampaignWatch;
use crate::time::StoreDay;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditTable {
    DecisionLog,
    AdDecisionLog,
    CsThreadEvaluations,
    ResearchCandidates,
    CycleRuns,
    StageRuns,
    OperatorLog,
}

impl AuditTable {
    pub const ALL: [AuditTable; 7] = [
        AuditTable::DecisionLog,
        AuditTable::AdDecisionLog,
        AuditTable::CsThreadEvaluations,
        AuditTable::ResearchCandidates,
        AuditTable::CycleRuns,
        AuditTable::StageRuns,
        AuditTable::OperatorLog,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            AuditTable::DecisionLog => "decision_log",
            AuditTable::AdDecisionLog => "ad_decision_log",
            AuditTable::CsThreadEvaluations => "cs_thread_evaluations",
            AuditTable::ResearchCandidates => "research_candidates",
            AuditTable::CycleRuns => "cycle_runs",
            AuditTable::StageRuns => "stage_runs",
            AuditTable::OperatorLog => "operator_log",
        }
    }
}

impl fmt::Display for AuditTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AuditTable {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        AuditTable::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = AuditTable::ALL.iter().map(|t| t.as_str()).collect();
                CoreError::invalid("table", format!("{s:?} is not one of {}", names.join(", ")))
            })
    }
}

/// `decision_log#84196`: the table and a per-table sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RowRef {
    pub table: AuditTable,
    pub seq: u64,
}

impl RowRef {
    pub fn new(table: AuditTable, seq: u64) -> Self {
        RowRef { table, seq }
    }
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let (t, n) = s.split_once('#').ok_or_else(|| {
            CoreError::invalid("row ref", format!("{s:?} is not <table>#<number>"))
        })?;
        let seq: u64 =
            n.parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                CoreError::invalid("row ref", format!("{n:?} is not a row number"))
            })?;
        Ok(RowRef {
            table: t.parse()?,
            seq,
        })
    }
    /// Where the row can be read: `/rows/decision_log/84196`.
    pub fn url(&self) -> String {
        format!("/rows/{}/{}", self.table, self.seq)
    }
}

impl fmt::Display for RowRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.table, self.seq)
    }
}
impl TryFrom<String> for RowRef {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        RowRef::parse(&s)
    }
}
impl From<RowRef> for String {
    fn from(r: RowRef) -> String {
        r.to_string()
    }
}

/// The exact prior state of something Otto changes, stored *before* the change is applied, so a
/// restore replays it without recomputation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReversalOp {
    /// Shopify `productVariantsBulkUpdate` back to this price / compare-at price.
    VariantPrice {
        product_id: String,
        variant_id: String,
        price: Money,
        compare_at_price: Option<Money>,
    },
    /// Shopify `productUpdate` back to this status (ACTIVE, DRAFT, ARCHIVED).
    ProductStatus { product_id: String, status: String },
    /// Google Ads `CampaignBudgetService.MutateCampaignBudgets` back to this amount.
    CampaignBudget {
        customer_id: String,
        budget_resource: String,
        amount: Money,
    },
}

/// A discount window: opened by ON_DISCOUNT, closed by PRICE_RESTORE at `ends_on`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscountWindow {
    /// Discount in basis points (1_500 = 15 %).
    pub percent_bp: u32,
    pub starts_on: StoreDay,
    pub ends_on: StoreDay,
}

/// A `decision_log` row: one catalog move (or non-move) for one SKU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub sku: Sku,
    pub action: Action,
    /// What caused it (e.g. OPTIMIZE_CYCLE_FAILED for a DISCOUNT_TEST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Action>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    pub reasoning: String,
    /// The figures that decided it, by name (thresholds used, metric values, prices …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<DiscountWindow>,
    /// What the executor changes, typed (None for rows that move nothing).
    #[serde(default, rename = "move", skip_serializing_if = "Option::is_none")]
    pub r#move: Option<Move>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal_op: Option<ReversalOp>,
    /// Why it is held / skipped / refused, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    /// The vendor's answer when applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// An `ad_decision_log` row: a planner proposal and the judge's verdict for one campaign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdDecisionRow {
    pub channel: String,
    /// Human name, e.g. `EU/Linen/Throws`.
    pub campaign: String,
    pub campaign_id: String,
    pub action: Action,
    /// "AGREE" or "DISAGREE".
    pub verdict: String,
    pub reasoning: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_before: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_after: Option<Money>,
    /// What the executor changes, typed (None for rows that move nothing).
    #[serde(default, rename = "move", skip_serializing_if = "Option::is_none")]
    pub r#move: Option<Move>,
    /// Position in the weekly rate limit when decided: (used, limit), e.g. (3, 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit_position: Option<(u32, u32)>,
    /// What the morning's planner saw of the campaign: the newest day, the window it judged on,
    /// the store's MER. On every campaign_plan row, a move or not (a morning without a proposal
    /// is a KEEP row, RECORDED, verdict NO_MOVE: a chart point, never a move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch: Option<Box<CampaignWatch>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reversal_op: Option<ReversalOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// A `cs_thread_evaluations` row: the verdict on one support thread / draft version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CsEvaluationRow {
    pub thread_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draft_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Money>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// SEND, HOLD_TONE, HOLD_LANGUAGE, ESCALATED_REFUND …
    pub verdict: String,
    pub reason: String,
    /// What the executor changes, typed (None for rows that move nothing).
    #[serde(default, rename = "move", skip_serializing_if = "Option::is_none")]
    pub r#move: Option<Move>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
    /// Why the executor holds or refused the reply, when it does (the verdict's own reason
    /// stays in `reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// A `research_candidates` row: one product idea found by a discovery lane, scored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResearchCandidateRow {
    /// Normalised dedup key across days and lanes.
    pub candidate_key: String,
    pub title: String,
    pub lane: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_bp: Option<u32>,
    /// Review state: QUEUED, APPROVED, REJECTED.
    pub review: String,
    /// supplier_matcher: which offers, at what price (minor units + currency), which source
    /// priced the landed cost — or why there is no match (not configured, failed, skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supplier_match: Option<crate::stages::supplier_matcher::SupplierMatch>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
}

/// A `cycle_runs` row: one run of a cycle, with its summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "CycleRunWire")]
pub struct CycleRunRow {
    pub kind: CycleKind,
    /// Phase 2 (apply) or dry-run.
    pub apply: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_time: Option<DateTime<Utc>>,
    /// What the finished cycle did, typed (None while it runs, and for a failed cycle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<CycleSummary>,
    /// When it ended (COMPLETED or FAILED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A cycle_runs row as stored: a row written before summaries were typed has its summary under
/// `figures.summary`, read here once into [`CycleSummary`].
#[derive(Deserialize)]
struct CycleRunWire {
    kind: CycleKind,
    apply: bool,
    #[serde(default)]
    scheduled_time: Option<DateTime<Utc>>,
    #[serde(default)]
    summary: Option<CycleSummary>,
    #[serde(default)]
    finished_at: Option<DateTime<Utc>>,
    #[serde(default)]
    figures: BTreeMap<String, Value>,
    #[serde(default)]
    error: Option<String>,
}

impl From<CycleRunWire> for CycleRunRow {
    fn from(w: CycleRunWire) -> Self {
        let mut figures = w.figures;
        let summary = w.summary.or_else(|| {
            let legacy = CycleSummary::from_legacy(w.kind, figures.get("summary")?)?;
            figures.remove("summary");
            Some(legacy)
        });
        let finished_at = w.finished_at.or_else(|| {
            let t = figures.get("finished_at")?.as_str()?.parse().ok()?;
            figures.remove("finished_at");
            Some(t)
        });
        CycleRunRow {
            kind: w.kind,
            apply: w.apply,
            scheduled_time: w.scheduled_time,
            summary,
            finished_at,
            figures,
            error: w.error,
        }
    }
}

/// A `stage_runs` row: one stage (chunk) of a cycle run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "StageRunWire")]
pub struct StageRunRow {
    pub stage: Stage,
    pub chunk: u32,
    pub chunks: u32,
    /// What the stage reported, typed (None for a failed stage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<StageReport>,
    /// Only what an old row held that no report type reads.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub figures: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A stage_runs row as stored: one written before reports were typed kept the report's fields
/// in `figures`, read here once into [`StageReport`].
#[derive(Deserialize)]
struct StageRunWire {
    stage: Stage,
    chunk: u32,
    chunks: u32,
    #[serde(default)]
    report: Option<StageReport>,
    #[serde(default)]
    figures: BTreeMap<String, Value>,
    #[serde(default)]
    error: Option<String>,
}

impl From<StageRunWire> for StageRunRow {
    fn from(w: StageRunWire) -> Self {
        let mut figures = w.figures;
        let report = w.report.or_else(|| {
            if figures.is_empty() {
                return None;
            }
            let r = StageReport::from_legacy(w.stage, &figures)?;
            figures.clear();
            Some(r)
        });
        StageRunRow {
            stage: w.stage,
            chunk: w.chunk,
            chunks: w.chunks,
            report,
            figures,
            error: w.error,
        }
    }
}

impl StageRunRow {
    /// The typed report of this stage, when it has one of that type.
    pub fn into_report<R: StageReportKind>(self) -> Option<R> {
        self.report.and_then(R::from_report)
    }
}

/// What an operator did that is not a move: each is an `operator_log` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OperatorAct {
    KillSwitchOn,
    KillSwitchOff,
    /// One policy limit changed (`change` says which, from what to what).
    PolicySet,
}

impl OperatorAct {
    pub fn as_str(&self) -> &'static str {
        match self {
            OperatorAct::KillSwitchOn => "KILL_SWITCH_ON",
            OperatorAct::KillSwitchOff => "KILL_SWITCH_OFF",
            OperatorAct::PolicySet => "POLICY_SET",
        }
    }

    /// The setting the act changes (the "by subject" key of its row).
    pub fn setting(&self) -> &'static str {
        match self {
            OperatorAct::KillSwitchOn | OperatorAct::KillSwitchOff => "kill_switch",
            OperatorAct::PolicySet => "policy",
        }
    }
}

/// One setting changed by an operator: its name and its stored value before and after (as the
/// setting stores it, e.g. basis points).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingChange {
    pub name: String,
    pub old: Value,
    pub new: Value,
}

/// Where an operator acted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Cli,
    Api,
    Dashboard,
    Slack,
}

/// An `operator_log` row: one operator action (who, when, why, from where).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorRow {
    pub act: OperatorAct,
    /// The authenticated identity.
    pub by: String,
    pub surface: Surface,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What a settings act changed, old → new.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<SettingChange>,
}

/// The table-specific part of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowBody {
    Decision(DecisionRow),
    AdDecision(AdDecisionRow),
    CsEvaluation(CsEvaluationRow),
    ResearchCandidate(ResearchCandidateRow),
    CycleRun(CycleRunRow),
    StageRun(StageRunRow),
    Operator(OperatorRow),
}

impl RowBody {
    pub fn table(&self) -> AuditTable {
        match self {
            RowBody::Decision(_) => AuditTable::DecisionLog,
            RowBody::AdDecision(_) => AuditTable::AdDecisionLog,
            RowBody::CsEvaluation(_) => AuditTable::CsThreadEvaluations,
            RowBody::ResearchCandidate(_) => AuditTable::ResearchCandidates,
            RowBody::CycleRun(_) => AuditTable::CycleRuns,
            RowBody::StageRun(_) => AuditTable::StageRuns,
            RowBody::Operator(_) => AuditTable::OperatorLog,
        }
    }

    /// What the row is about, the key of the "by subject" access path: the SKU of a decision, the
    /// campaign id of an ad move, the thread of an evaluation, the candidate key, the stage.
    pub fn subject(&self) -> String {
        match self {
            RowBody::Decision(r) => r.sku.to_string(),
            RowBody::AdDecision(r) => r.campaign_id.clone(),
            RowBody::CsEvaluation(r) => r.thread_id.clone(),
            RowBody::ResearchCandidate(r) => r.candidate_key.clone(),
            RowBody::CycleRun(r) => r.kind.to_string(),
            RowBody::StageRun(r) => r.stage.to_string(),
            RowBody::Operator(r) => r.act.setting().into(),
        }
    }

    /// The "action" of the day+action access path: the move, the CS verdict, the lane.
    pub fn action_key(&self) -> String {
        match self {
            RowBody::Decision(r) => r.action.to_string(),
            RowBody::AdDecision(r) => r.action.to_string(),
            RowBody::CsEvaluation(r) => r.verdict.clone(),
            RowBody::ResearchCandidate(r) => r.lane.clone(),
            RowBody::CycleRun(r) => r.kind.to_string(),
            RowBody::StageRun(r) => r.stage.to_string(),
            RowBody::Operator(r) => r.act.as_str().into(),
        }
    }

    /// The typed move a row asks for, if it moves something.
    pub fn planned_move(&self) -> Option<&Move> {
        match self {
            RowBody::Decision(r) => r.r#move.as_ref(),
            RowBody::AdDecision(r) => r.r#move.as_ref(),
            RowBody::CsEvaluation(r) => r.r#move.as_ref(),
            _ => None,
        }
    }

    /// The same row with why it is held (or `None` to clear it); rows that move nothing are
    /// returned unchanged.
    pub fn with_hold_reason(mut self, why: Option<String>) -> Self {
        match &mut self {
            RowBody::Decision(r) => r.hold_reason = why,
            RowBody::AdDecision(r) => r.hold_reason = why,
            RowBody::CsEvaluation(r) => r.hold_reason = why,
            _ => {}
        }
        self
    }

    /// The same row with the vendor's answer (or the refusal) recorded.
    pub fn with_result(mut self, result: Value) -> Self {
        match &mut self {
            RowBody::Decision(r) => r.result = Some(result),
            RowBody::AdDecision(r) => r.result = Some(result),
            RowBody::CsEvaluation(r) => r.result = Some(result),
            _ => {}
        }
        self
    }

    /// The same row with its reversal op stored (CS replies have none: a sent reply stays sent).
    pub fn with_reversal_op(mut self, op: Option<ReversalOp>) -> Self {
        match &mut self {
            RowBody::Decision(r) => r.reversal_op = op,
            RowBody::AdDecision(r) => r.reversal_op = op,
            _ => {}
        }
        self
    }

    /// The same row with a note (who released it, when) under `figures[key]`.
    pub fn with_note(mut self, key: &str, note: Value) -> Self {
        let figures = match &mut self {
            RowBody::Decision(r) => &mut r.figures,
            RowBody::AdDecision(r) => &mut r.figures,
            RowBody::CsEvaluation(r) => &mut r.figures,
            RowBody::ResearchCandidate(r) => &mut r.figures,
            RowBody::CycleRun(r) => &mut r.figures,
            RowBody::StageRun(r) => &mut r.figures,
            RowBody::Operator(_) => return self,
        };
        figures.insert(key.to_string(), note);
        self
    }

    pub fn to_json(&self) -> Value {
        let v = match self {
            RowBody::Decision(r) => serde_json::to_value(r),
            RowBody::AdDecision(r) => serde_json::to_value(r),
            RowBody::CsEvaluation(r) => serde_json::to_value(r),
            RowBody::ResearchCandidate(r) => serde_json::to_value(r),
            RowBody::CycleRun(r) => serde_json::to_value(r),
            RowBody::StageRun(r) => serde_json::to_value(r),
            RowBody::Operator(r) => serde_json::to_value(r),
        };
        // Every field type serializes infallibly (no maps with non-string keys).
        v.unwrap_or(Value::Null)
    }

    pub fn from_json(table: AuditTable, v: Value) -> Result<Self, CoreError> {
        let bad = |e: serde_json::Error| CoreError::invalid("row body", format!("{table}: {e}"));
        Ok(match table {
            AuditTable::DecisionLog => RowBody::Decision(serde_json::from_value(v).map_err(bad)?),
            AuditTable::AdDecisionLog => {
                RowBody::AdDecision(serde_json::from_value(v).map_err(bad)?)
            }
            AuditTable::CsThreadEvaluations => {
                RowBody::CsEvaluation(serde_json::from_value(v).map_err(bad)?)
            }
            AuditTable::ResearchCandidates => {
                RowBody::ResearchCandidate(serde_json::from_value(v).map_err(bad)?)
            }
            AuditTable::CycleRuns => RowBody::CycleRun(serde_json::from_value(v).map_err(bad)?),
            AuditTable::StageRuns => RowBody::StageRun(serde_json::from_value(v).map_err(bad)?),
            AuditTable::OperatorLog => RowBody::Operator(serde_json::from_value(v).map_err(bad)?),
        })
    }
}

/// A row to append. The store assigns its ref (sequence number) and ULID.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRow {
    pub cycle_id: CycleId,
    /// Unique per table: a second append with the same natural key returns the first row.
    pub natural_key: String,
    pub status: RowStatus,
    pub created_at: DateTime<Utc>,
    pub body: RowBody,
}

impl NewRow {
    /// A row keyed by `(cycle_id, stage, subject)`, the natural key of stage output.
    pub fn for_stage(
        cycle_id: CycleId,
        stage: Stage,
        status: RowStatus,
        created_at: DateTime<Utc>,
        body: RowBody,
    ) -> Self {
        let natural_key = format!("{cycle_id}|{stage}|{}", body.subject());
        NewRow {
            cycle_id,
            natural_key,
            status,
            created_at,
            body,
        }
    }
    pub fn table(&self) -> AuditTable {
        self.body.table()
    }
}

/// A stored row.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    pub row_ref: RowRef,
    pub ulid: ulid::Ulid,
    pub cycle_id: CycleId,
    pub natural_key: String,
    pub status: RowStatus,
    pub created_at: DateTime<Utc>,
    /// When the status last moved (equals created_at until it does).
    pub updated_at: DateTime<Utc>,
    pub body: RowBody,
    /// The executor attempt that owns an APPLYING row (kept after it settles, for the record).
    pub attempt: Option<Attempt>,
}

impl AuditRow {
    pub fn store(&self) -> &StoreId {
        &self.cycle_id.store
    }
    pub fn day(&self) -> StoreDay {
        self.cycle_id.day
    }
    pub fn subject(&self) -> String {
        self.body.subject()
    }
    pub fn action_key(&self) -> String {
        self.body.action_key()
    }

    /// The export / API shape: one flat JSON object with the common fields and the table's own.
    pub fn to_json(&self) -> Value {
        let mut obj = serde_json::Map::new();
        obj.insert("ref".into(), Value::String(self.row_ref.to_string()));
        obj.insert(
            "table".into(),
            Value::String(self.row_ref.table.to_string()),
        );
        obj.insert("ulid".into(), Value::String(self.ulid.to_string()));
        obj.insert("cycle_id".into(), Value::String(self.cycle_id.to_string()));
        obj.insert("store".into(), Value::String(self.store().to_string()));
        obj.insert("day".into(), Value::String(self.day().to_string()));
        obj.insert(
            "natural_key".into(),
            Value::String(self.natural_key.clone()),
        );
        obj.insert("status".into(), Value::String(self.status.to_string()));
        obj.insert(
            "created_at".into(),
            Value::String(self.created_at.to_rfc3339()),
        );
        obj.insert(
            "updated_at".into(),
            Value::String(self.updated_at.to_rfc3339()),
        );
        obj.insert("body".into(), self.body.to_json());
        if let Some(a) = &self.attempt {
            obj.insert(
                "attempt".into(),
                serde_json::to_value(a).unwrap_or(Value::Null),
            );
        }
        Value::Object(obj)
    }

    /// Parses the export shape back, validating every field.
    pub fn from_json(v: &Value) -> Result<AuditRow, CoreError> {
        let obj = v
            .as_object()
            .ok_or_else(|| CoreError::invalid("row", "not a JSON object"))?;
        let s = |k: &'static str| -> Result<&str, CoreError> {
            obj.get(k)
                .and_then(Value::as_str)
                .ok_or_else(|| CoreError::invalid("row", format!("missing string field {k:?}")))
        };
        let ts = |k: &'static str| -> Result<DateTime<Utc>, CoreError> {
            DateTime::parse_from_rfc3339(s(k)?)
                .map(|d| d.with_timezone(&Utc))
                .map_err(|e| CoreError::invalid("row", format!("{k}: {e}")))
        };
        let row_ref = RowRef::parse(s("ref")?)?;
        if let Some(t) = obj.get("table").and_then(Value::as_str) {
            if t != row_ref.table.as_str() {
                return Err(CoreError::invalid(
                    "row",
                    format!("table {t:?} does not match ref {row_ref}"),
                ));
            }
        }
        let ulid = s("ulid")?
            .parse::<ulid::Ulid>()
            .map_err(|e| CoreError::invalid("row", format!("ulid: {e}")))?;
        let created_at = ts("created_at")?;
        let updated_at = if obj.contains_key("updated_at") {
            ts("updated_at")?
        } else {
            created_at
        };
        let body = RowBody::from_json(
            row_ref.table,
            obj.get("body")
                .cloned()
                .ok_or_else(|| CoreError::invalid("row", "missing field \"body\""))?,
        )?;
        let natural_key = s("natural_key")?.to_string();
        if natural_key.is_empty() {
            return Err(CoreError::invalid("row", "natural_key is empty"));
        }
        let attempt = match obj.get("attempt") {
            None | Some(Value::Null) => None,
            Some(a) => {
                let a: Attempt = serde_json::from_value(a.clone())
                    .map_err(|e| CoreError::invalid("row", format!("attempt: {e}")))?;
                a.validate()?;
                Some(a)
            }
        };
        Ok(AuditRow {
            row_ref,
            ulid,
            cycle_id: CycleId::parse(s("cycle_id")?)?,
            natural_key,
            status: s("status")?.parse()?,
            created_at,
            updated_at,
            body,
            attempt,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision() -> RowBody {
        RowBody::Decision(DecisionRow {
            sku: Sku::new("SKU-LIN-007").unwrap(),
            action: Action::ReviveSeasonal,
            trigger: None,
            classification: Some(Classification::Mid),
            reasoning: "seasonal window opens".into(),
            figures: BTreeMap::new(),
            window: None,
            r#move: None,
            reversal_op: None,
            hold_reason: Some("kill switch on".into()),
            result: None,
        })
    }

    #[test]
    fn refs_parse_and_print() {
        let r = RowRef::parse("decision_log#84196").unwrap();
        assert_eq!(r.table, AuditTable::DecisionLog);
        assert_eq!(r.to_string(), "decision_log#84196");
        assert_eq!(r.url(), "/rows/decision_log/84196");
        assert!(RowRef::parse("decision_log#0").is_err());
        assert!(RowRef::parse("decision_log#-1").is_err());
        assert!(RowRef::parse("ledger#1").is_err());
        assert!(RowRef::parse("decision_log").is_err());
    }

    #[test]
    fn rows_round_trip_through_export_shape() {
        let now = "2026-11-24T06:00:00Z".parse().unwrap();
        let row = AuditRow {
            row_ref: RowRef::new(AuditTable::DecisionLog, 84196),
            ulid: ulid::Ulid::new(),
            cycle_id: CycleId::parse("brevard:morning:2026-11-24").unwrap(),
            natural_key: "k".into(),
            status: RowStatus::Held,
            created_at: now,
            updated_at: now,
            body: decision(),
            attempt: None,
        };
        let back = AuditRow::from_json(&row.to_json()).unwrap();
        assert_eq!(back, row);
        let mut broken = row.to_json();
        broken["body"]["action"] = Value::String("TELEPORT".into());
        let err = AuditRow::from_json(&broken).unwrap_err().to_string();
        assert!(err.contains("decision_log"), "{err}");
    }
}
