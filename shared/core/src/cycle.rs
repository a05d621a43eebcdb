//! Cycles and stages: what runs when, and the message that chains one stage to the next.

use crate::error::CoreError;
use crate::ids::StoreId;
use crate::lock::Fence;
use crate::time::StoreDay;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CycleKind {
    /// 06:00 — sync, calibrate, classify, decide, campaign plan.
    Morning,
    /// 11:00 — discovery lanes, score, queue.
    Research,
    /// 16:00 — audit open windows, revert past TTL, open new tests.
    Discount,
    /// Customer-service triage, on its own schedule.
    Cs,
    /// Not a scheduled cycle: the day's operator actions (kill-switch flips …) are filed under
    /// `{store}:operator:{day}` so they live in the audit plane like every other fact.
    Operator,
}

impl CycleKind {
    pub const ALL: [CycleKind; 5] = [
        CycleKind::Morning,
        CycleKind::Research,
        CycleKind::Discount,
        CycleKind::Cs,
        CycleKind::Operator,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            CycleKind::Morning => "morning",
            CycleKind::Research => "research",
            CycleKind::Discount => "discount",
            CycleKind::Cs => "cs",
            CycleKind::Operator => "operator",
        }
    }

    /// The stages in order.
    pub fn stages(&self) -> &'static [Stage] {
        use Stage::*;
        match self {
            CycleKind::Morning => &[Sync, Calibrate, Classify, Decide, CampaignPlan],
            CycleKind::Research => &[Lanes, Score, Queue],
            CycleKind::Discount => &[Audit, Revert, Open],
            CycleKind::Cs => &[CsTriage],
            CycleKind::Operator => &[],
        }
    }

    /// Scheduled local start (hour, minute) in the store's time zone; `None` for interval cycles.
    pub fn scheduled_at(&self) -> Option<(u32, u32)> {
        match self {
            CycleKind::Morning => Some((6, 0)),
            CycleKind::Research => Some((11, 0)),
            CycleKind::Discount => Some((16, 0)),
            CycleKind::Cs | CycleKind::Operator => None,
        }
    }

    /// Interval cycles run every N minutes; each run gets its own id (its local time slot).
    pub fn interval_minutes(&self) -> Option<u32> {
        match self {
            CycleKind::Cs => Some(15),
            _ => None,
        }
    }

    /// The name of the lock the cycle takes. The three catalog cycles share the `store_lock`, so
    /// two timers (or a timer and an operator) never act on the catalog at once; CS triage has its
    /// own, as it never touches prices or budgets.
    pub fn lock_name(&self, store: &StoreId) -> String {
        match self {
            CycleKind::Cs => format!("cs_lock#{store}"),
            _ => format!("store_lock#{store}"),
        }
    }
}

impl fmt::Display for CycleKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CycleKind {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        CycleKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                CoreError::invalid(
                    "cycle",
                    format!("{s:?} is not one of morning, research, discount, cs, operator"),
                )
            })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Sync,
    Calibrate,
    Classify,
    Decide,
    CampaignPlan,
    Lanes,
    Score,
    Queue,
    Audit,
    Revert,
    Open,
    CsTriage,
}

impl Stage {
    pub const ALL: [Stage; 12] = [
        Stage::Sync,
        Stage::Calibrate,
        Stage::Classify,
        Stage::Decide,
        Stage::CampaignPlan,
        Stage::Lanes,
        Stage::Score,
        Stage::Queue,
        Stage::Audit,
        Stage::Revert,
        Stage::Open,
        Stage::CsTriage,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Stage::Sync => "sync",
            Stage::Calibrate => "calibrate",
            Stage::Classify => "classify",
            Stage::Decide => "decide",
            Stage::CampaignPlan => "campaign_plan",
            Stage::Lanes => "lanes",
            Stage::Score => "score",
            Stage::Queue => "queue",
            Stage::Audit => "audit",
            Stage::Revert => "revert",
            Stage::Open => "open",
            Stage::CsTriage => "cs_triage",
        }
    }

    pub fn cycle(&self) -> CycleKind {
        CycleKind::ALL
            .into_iter()
            .find(|k| k.stages().contains(self))
            .unwrap_or(CycleKind::Morning)
    }

    /// The stage that follows this one in its cycle, if any.
    pub fn next(&self) -> Option<Stage> {
        let stages = self.cycle().stages();
        let i = stages.iter().position(|s| s == self)?;
        stages.get(i + 1).copied()
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Stage::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Stage::ALL.iter().map(|s| s.as_str()).collect();
                CoreError::invalid("stage", format!("{s:?} is not one of {}", names.join(", ")))
            })
    }
}

/// `{store}:{cycle}:{local date}` — one run of one cycle for one store on one store day; interval
/// cycles (CS triage, every 15 minutes) add the local start slot: `{store}:cs:{date}T{HHMM}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CycleId {
    pub store: StoreId,
    pub kind: CycleKind,
    pub day: StoreDay,
    /// Local minute of the day an interval cycle's run started at (a multiple of its interval).
    pub slot: Option<u16>,
}

impl CycleId {
    pub fn new(store: StoreId, kind: CycleKind, day: StoreDay) -> Self {
        CycleId {
            store,
            kind,
            day,
            slot: None,
        }
    }
    /// A run of an interval cycle: `minute_of_day` is floored to the cycle's interval.
    pub fn with_slot(store: StoreId, kind: CycleKind, day: StoreDay, minute_of_day: u32) -> Self {
        let every = kind.interval_minutes().unwrap_or(1).max(1);
        let m = (minute_of_day.min(24 * 60 - 1) / every) * every;
        CycleId {
            store,
            kind,
            day,
            slot: Some(m as u16),
        }
    }
    pub fn parse(s: &str) -> Result<Self, CoreError> {
        let bad = || {
            CoreError::invalid(
                "cycle id",
                format!("{s:?} is not {{store}}:{{cycle}}:{{YYYY-MM-DD}}[T{{HHMM}}]"),
            )
        };
        let mut parts = s.split(':');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(store), Some(kind), Some(day), None) => {
                let (day, slot) = match day.split_once('T') {
                    None => (day, None),
                    Some((d, hhmm)) => {
                        let ok = hhmm.len() == 4 && hhmm.bytes().all(|b| b.is_ascii_digit());
                        let (h, m) = if ok {
                            (hhmm[..2].parse::<u16>().ok(), hhmm[2..].parse::<u16>().ok())
                        } else {
                            (None, None)
                        };
                        match (h, m) {
                            (Some(h), Some(m)) if h < 24 && m < 60 => (d, Some(h * 60 + m)),
                            _ => return Err(bad()),
                        }
                    }
                };
                Ok(CycleId {
                    store: StoreId::new(store)?,
                    kind: kind.parse()?,
                    day: StoreDay::parse(day)?,
                    slot,
                })
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for CycleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.store, self.kind, self.day)?;
        if let Some(m) = self.slot {
            write!(f, "T{:02}{:02}", m / 60, m % 60)?;
        }
        Ok(())
    }
}
impl TryFrom<String> for CycleId {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        CycleId::parse(&s)
    }
}
impl From<CycleId> for String {
    fn from(c: CycleId) -> String {
        c.to_string()
    }
}

/// The body of an SQS message between stages: `{cycle_id, stage, chunk, chunks, fence}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageMessage {
    pub cycle_id: CycleId,
    pub stage: Stage,
    /// Zero-based chunk index of a fanned-out stage.
    #[serde(default)]
    pub chunk: u32,
    /// How many chunks the stage was split into (1 when not fanned out).
    #[serde(default = "one")]
    pub chunks: u32,
    /// The store_lock token the cycle holds; stage writes are fenced by it.
    pub fence: Fence,
    /// Phase 2 (apply) when true; Phase 1 dry-run otherwise.
    #[serde(default)]
    pub apply: bool,
}

fn one() -> u32 {
    1
}

impl StageMessage {
    /// Parses and validates a message body. Every field is checked, so a bad message fails alone
    /// with a message naming what was wrong.
    pub fn from_json(body: &str) -> Result<Self, CoreError> {
        let m: StageMessage = serde_json::from_str(body)
            .map_err(|e| CoreError::invalid("stage message", e.to_string()))?;
        if m.stage.cycle() != m.cycle_id.kind {
            return Err(CoreError::invalid(
                "stage message",
                format!(
                    "stage {} does not belong to cycle {}",
                    m.stage, m.cycle_id.kind
                ),
            ));
        }
        if m.chunks == 0 || m.chunk >= m.chunks {
            return Err(CoreError::invalid(
                "stage message",
                format!("chunk {} of {} is out of range", m.chunk, m.chunks),
            ));
        }
        Ok(m)
    }

    /// The idempotency key of this stage run: `(cycle_id, stage, chunk)`.
    pub fn idempotency_key(&self) -> String {
        format!("stage#{}#{}#{}", self.cycle_id, self.stage, self.chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycle_ids_round_trip() {
        let c = CycleId::parse("brevard:morning:2026-11-24").unwrap();
        assert_eq!(c.kind, CycleKind::Morning);
        assert_eq!(c.to_string(), "brevard:morning:2026-11-24");
        assert!(CycleId::parse("brevard:lunch:2026-11-24").is_err());
        assert!(CycleId::parse("brevard:morning").is_err());
        let cs = CycleId::with_slot(c.store.clone(), CycleKind::Cs, c.day, 6 * 60 + 29);
        assert_eq!(
            cs.to_string(),
            "brevard:cs:2026-11-24T0615",
            "floored to 15 minutes"
        );
        assert_eq!(CycleId::parse(&cs.to_string()).unwrap(), cs);
        for bad in [
            "brevard:cs:2026-11-24T615",
            "brevard:cs:2026-11-24T2460",
            "brevard:cs:2026-11-24Tabcd",
        ] {
            assert!(CycleId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stages_chain_within_their_cycle() {
        assert_eq!(Stage::Sync.next(), Some(Stage::Calibrate));
        assert_eq!(Stage::CampaignPlan.next(), None);
        assert_eq!(Stage::Revert.cycle(), CycleKind::Discount);
        for s in Stage::ALL {
            assert_eq!(s.as_str().parse::<Stage>().unwrap(), s);
        }
    }

    #[test]
    fn stage_messages_are_validated() {
        let ok = r#"{"cycle_id":"s1:morning:2026-11-24","stage":"classify","chunk":0,"chunks":2,
                     "fence":{"lock":"store_lock#s1","version":"01J"}}"#;
        let m = StageMessage::from_json(ok).unwrap();
        assert_eq!(
            m.idempotency_key(),
            "stage#s1:morning:2026-11-24#classify#0"
        );
        let wrong_cycle = ok.replace("classify", "revert");
        assert!(StageMessage::from_json(&wrong_cycle)
            .unwrap_err()
            .to_string()
            .contains("does not belong"));
        let bad_chunk = ok.replace("\"chunk\":0", "\"chunk\":2");
        assert!(StageMessage::from_json(&bad_chunk).is_err());
        assert!(StageMessage::from_json("{}").is_err());
        assert!(StageMessage::from_json("not json").is_err());
    }
}
