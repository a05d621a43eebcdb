//! Otto speaks first. What it says unasked is composed here, from the audit plane only, with the
//! same guard as any answer:
//!
//! * after a cycle closes ([`Engine::after_cycle`]): the digest — the "how did the morning cycle
//!   go?" answer for that run, cited — or, when the run FAILED, an alert with the same answer;
//! * on a schedule ([`Engine::watch`]): an alert for each STALLED cycle (RUNNING with no stage
//!   activity for longer than its lease) — a stalled cycle never reaches its own end, so only a
//!   watcher can see it;
//! * both: an alert when the held rows (all tables) reach a threshold.
//!
//! [`crate::notify`] turns these into Slack messages and posts them to the configured channel.

use crate::engine::{Answer, AnswerError, Engine};
use crate::question::{Days, Intent};
use chrono::{DateTime, Utc};
use otto_core::audit::AuditTable;
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::RowStatus;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A cycle completed: its digest.
    Digest,
    CycleFailed,
    CycleStalled,
    /// Held rows reached the threshold.
    HoldsPiledUp,
}

impl NoticeKind {
    pub fn is_alert(&self) -> bool {
        !matches!(self, NoticeKind::Digest)
    }
}

/// One message Otto posts unasked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    pub kind: NoticeKind,
    /// A short title ("Morning cycle — Wed 25 Nov").
    pub title: String,
    /// The cited answer (grounded: every figure in a cited row).
    pub answer: Answer,
    /// What the notice is about, to post it once (`stalled|cycle_runs#12`).
    pub key: String,
}

fn kind_title(kind: CycleKind) -> String {
    let k = kind.as_str();
    let mut c = k.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect::<String>() + " cycle",
        None => "Cycle".into(),
    }
}

impl Engine<'_> {
    /// After `cycle` closed: its digest (COMPLETED; not for the 15-minute CS cycle) or a FAILED
    /// alert, and a holds alert when `holds_threshold` held rows or more wait.
    pub async fn after_cycle(
        &self,
        cycle: &CycleId,
        now: DateTime<Utc>,
        holds_threshold: usize,
    ) -> Result<Vec<Notice>, AnswerError> {
        self.set_now(now);
        let today = self.clock().day_of(now);
        let mut out = Vec::new();
        let run = self
            .ports()
            .audit
            .get_by_natural_key(AuditTable::CycleRuns, &cycle.to_string())
            .await?
            .filter(|r| r.store() == self.store());
        if let Some(run) = run {
            let intent = Intent::CycleSummary {
                kind: cycle.kind,
                days: Days::One(cycle.day),
            };
            let date = crate::human::date(cycle.day);
            let (kind, title) = match run.status {
                RowStatus::Failed => (
                    NoticeKind::CycleFailed,
                    format!("{} FAILED — {date}", kind_title(cycle.kind)),
                ),
                RowStatus::Completed if cycle.kind.interval_minutes().is_none() => (
                    NoticeKind::Digest,
                    format!("{} — {date}", kind_title(cycle.kind)),
                ),
                _ => (NoticeKind::Digest, String::new()),
            };
            if !title.is_empty() {
                let answer = self.answer_run(&intent, &run, today).await?;
                if answer.grounded {
                    out.push(Notice {
                        kind,
                        title,
                        answer,
                        key: format!("{}|{}", kind_key(kind), run.row_ref),
                    });
                }
            }
        }
        out.extend(self.holds_notice(today, holds_threshold).await?);
        Ok(out)
    }

    /// On a schedule: an alert per STALLED cycle, and the holds alert.
    pub async fn watch(
        &self,
        now: DateTime<Utc>,
        holds_threshold: usize,
    ) -> Result<Vec<Notice>, AnswerError> {
        self.set_now(now);
        let today = self.clock().day_of(now);
        let mut out = Vec::new();
        for run in self.stalled_runs(today).await? {
            let kind = match &run.body {
                otto_core::audit::RowBody::CycleRun(c) => c.kind,
                _ => continue,
            };
            let intent = Intent::CycleSummary {
                kind,
                days: Days::One(run.day()),
            };
            let answer = self.answer_run(&intent, &run, today).await?;
            if answer.grounded {
                out.push(Notice {
                    kind: NoticeKind::CycleStalled,
                    title: format!(
                        "{} STALLED — {}",
                        kind_title(kind),
                        crate::human::date(run.day())
                    ),
                    answer,
                    key: format!("{}|{}", kind_key(NoticeKind::CycleStalled), run.row_ref),
                });
            }
        }
        out.extend(self.holds_notice(today, holds_threshold).await?);
        Ok(out)
    }

    async fn holds_notice(
        &self,
        today: otto_core::StoreDay,
        threshold: usize,
    ) -> Result<Option<Notice>, AnswerError> {
        let a = self.answer(&Intent::Holds, today).await?;
        let n = a.releasable.len();
        if !a.grounded || n < threshold.max(1) {
            return Ok(None);
        }
        let newest = a.releasable.iter().max().cloned().unwrap_or_default();
        Ok(Some(Notice {
            kind: NoticeKind::HoldsPiledUp,
            title: "Held rows are piling up".into(),
            key: format!("{}|{n}|{newest}", kind_key(NoticeKind::HoldsPiledUp)),
            answer: a,
        }))
    }
}

fn kind_key(k: NoticeKind) -> &'static str {
    match k {
        NoticeKind::Digest => "digest",
        NoticeKind::CycleFailed => "failed",
        NoticeKind::CycleStalled => "stalled",
        NoticeKind::HoldsPiledUp => "holds",
    }
}
