//! Customer-service triage over the demo inbox, generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::Utc;
use otto_connectors::helpdesk::{demo_inbox, JsonInbox};
use otto_connectors::voice::OfflineVoice;
use otto_core::audit::{AuditRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::{RowStatus, StoreDay};
use otto_store::PageReq;

#[macro_export]
macro_rules! cs_suite {
    ($make:path) => {
        $crate::instantiate!(cs, $make;
            cs_triage_verdicts_idempotent_and_sent_once,
            cs_cycle_runs_per_slot_on_schedule,
            cs_sends_are_held_by_the_kill_switch,
            a_sent_reply_whose_answer_was_lost_stays_sent_under_the_kill_switch
        );
    };
}

async fn rows(h: &Harness, cycle: &CycleId) -> Vec<AuditRow> {
    h.ports
        .audit
        .by_cycle(
            otto_core::AuditTable::CsThreadEvaluations,
            cycle,
            PageReq::first(100),
        )
        .await
        .expect("rows")
        .items
}

pub async fn cs_triage_verdicts_idempotent_and_sent_once(h: &Harness) {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("inbox.json");
    std::fs::write(&path, serde_json::to_string(&demo_inbox()).expect("json")).expect("write");
    let inbox = JsonInbox { path: path.clone() };
    let store = unique_store();
    let cycle = CycleId::new(
        store.clone(),
        CycleKind::Cs,
        StoreDay::parse("2026-11-24").expect("day"),
    );

    // A helpdesk that cannot be read leaves nothing behind.
    let broken = JsonInbox {
        path: dir.path().join("missing.json"),
    };
    assert!(
        otto_engine::cs::triage(&h.ports, &broken, &OfflineVoice, &cycle, true, Utc::now())
            .await
            .is_err()
    );
    assert!(rows(h, &cycle).await.is_empty());

    let first = otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, false, Utc::now())
        .await
        .expect("triage");
    let written = rows(h, &cycle).await;
    let verdict = |id: &str| {
        written
            .iter()
            .find_map(|r| match &r.body {
                RowBody::CsEvaluation(e) if e.thread_id == id => {
                    Some((e.verdict.clone(), r.status))
                }
                _ => None,
            })
            .expect("row for thread")
    };
    assert_eq!(
        verdict("T-3140"),
        ("ESCALATED_REFUND".into(), RowStatus::Recorded),
        "€780 > €500"
    );
    assert_eq!(
        verdict("T-3141").0,
        "ESCALATED_REFUND",
        "no draft, still escalated"
    );
    assert_eq!(
        verdict("T-3142"),
        ("SEND".into(), RowStatus::DryRun),
        "exactly €500 is not above"
    );
    assert_eq!(verdict("T-3143"), ("HOLD_TONE".into(), RowStatus::Held));
    assert_eq!(
        verdict("T-3144"),
        ("HOLD_LANGUAGE".into(), RowStatus::Held),
        "nl while en + de"
    );
    // The same draft versions again: no new rows.
    let again = otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, false, Utc::now())
        .await
        .expect("again");
    assert_eq!(again.new, 0);
    assert_eq!(rows(h, &cycle).await.len(), written.len());
    assert_eq!(first.evaluated, again.evaluated);

    // Phase 2 on a new draft version: sent once, the helpdesk's answer kept on the row.
    let mut inbox_v2 = demo_inbox();
    for t in &mut inbox_v2.threads {
        if let Some(d) = &mut t.draft {
            d.version = format!("{}-b", d.version);
        }
    }
    std::fs::write(&path, serde_json::to_string(&inbox_v2).expect("json")).expect("write");
    let applied =
        otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
            .await
            .expect("apply");
    assert!(applied.sent >= 1);
    let sent_twice =
        otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
            .await
            .expect("apply again");
    assert_eq!(sent_twice.sent, 0, "never sent twice");
    let sent: Vec<AuditRow> = rows(h, &cycle)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Applied)
        .collect();
    assert_eq!(sent.len() as u32, applied.sent);
    assert!(sent
        .iter()
        .all(|r| matches!(&r.body, RowBody::CsEvaluation(e) if e.result.is_some())));
}

/// The `cs_triage` stage behind the scheduler: every 15-minute slot is its own cycle run; the
/// same slot fired twice runs once; a later slot re-judges nothing already judged.
pub async fn cs_cycle_runs_per_slot_on_schedule(h: &Harness) {
    use otto_engine::cycles::{open_cycle, OpenOutcome, ScheduledInput};
    use otto_engine::local::drain;
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("inbox.json");
    std::fs::write(&path, serde_json::to_string(&demo_inbox()).expect("json")).expect("write");
    let reg = otto_engine::cs::with_cs(
        otto_engine::StageRegistry::new(),
        Arc::new(JsonInbox { path }),
        Arc::new(OfflineVoice),
    );
    let clock = otto_core::StoreClock::new("Europe/Amsterdam").expect("tz");
    let store = unique_store();
    let day = StoreDay::parse("2026-11-24").expect("day");
    let mut ids = Vec::new();
    for (h_, m_) in [(9, 0), (9, 7), (9, 15)] {
        let input = ScheduledInput {
            cycle: CycleKind::Cs,
            store: store.clone(),
            scheduled_time: clock.at_local(day, h_, m_).expect("time"),
            apply: Some(false),
        };
        let out = open_cycle(&h.ports, &clock, &input, Utc::now())
            .await
            .expect("open");
        let id = match out {
            OpenOutcome::Opened { cycle_id, .. } | OpenOutcome::AlreadyDone { cycle_id, .. } => {
                cycle_id
            }
        };
        let report = drain(&h.ports, &reg, clock, CycleKind::Cs, Utc::now, 20)
            .await
            .expect("drain");
        assert!(
            report.failed_cycles.is_empty() && report.retry_later.is_empty(),
            "{report:?}"
        );
        ids.push(id);
    }
    let (a, b, c) = (&ids[0], &ids[1], &ids[2]);
    assert!(a.ends_with(":cs:2026-11-24T0900"), "{a}");
    assert_eq!(a, b, "09:07 is in the 09:00 slot");
    assert!(c.ends_with("T0915"), "{c}");
    let first = rows(h, &CycleId::parse(a).expect("id")).await;
    assert_eq!(first.len(), 6, "every thread of the demo inbox judged once");
    assert!(
        rows(h, &CycleId::parse(c).expect("id")).await.is_empty(),
        "the 09:15 run found every draft version already judged"
    );
    for id in [a, c] {
        let run = h
            .ports
            .audit
            .get_by_natural_key(otto_core::AuditTable::CycleRuns, id)
            .await
            .expect("get")
            .expect("run row");
        assert_eq!(run.status, RowStatus::Completed, "{id}");
    }
}

/// A helpdesk that counts what it sends.
struct Counting(JsonInbox, std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl otto_connectors::helpdesk::Helpdesk for Counting {
    async fn open_threads(
        &self,
    ) -> Result<Vec<otto_connectors::helpdesk::Thread>, otto_connectors::VendorError> {
        self.0.open_threads().await
    }
    async fn approved_replies(&self) -> Result<Vec<String>, otto_connectors::VendorError> {
        self.0.approved_replies().await
    }
    async fn send(
        &self,
        thread_id: &str,
        draft: &otto_connectors::helpdesk::Draft,
    ) -> Result<serde_json::Value, otto_connectors::VendorError> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.send(thread_id, draft).await
    }
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> Result<Option<serde_json::Value>, otto_connectors::VendorError> {
        self.0.sent_reply(thread_id, draft_version).await
    }
}

/// The kill switch holds customer-service sends like every other move: with it on, a Phase 2
/// triage sends nothing and its SEND rows are HELD citing the flip; off and released, each is
/// sent once.
pub async fn cs_sends_are_held_by_the_kill_switch(h: &Harness) {
    use otto_connectors::helpdesk::Helpdesk;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("inbox.json");
    std::fs::write(&path, serde_json::to_string(&demo_inbox()).expect("json")).expect("write");
    let inbox = Counting(JsonInbox { path }, Default::default());
    let store = unique_store();
    let day = StoreDay::parse("2026-11-24").expect("day");
    let flip = otto_store::settings::Flip {
        on: true,
        by: "emma".into(),
        surface: otto_core::audit::Surface::Cli,
        reason: Some("manual import".into()),
    };
    let ks = otto_store::settings::flip_kill_switch(
        h.ports.audit.as_ref(),
        h.ports.settings.as_ref(),
        &store,
        day,
        flip,
        Utc::now(),
    )
    .await
    .expect("flip");
    let cycle = CycleId::new(store.clone(), CycleKind::Cs, day);
    otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
        .await
        .expect("triage");
    assert_eq!(
        inbox.1.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "nothing sent"
    );
    let sends: Vec<AuditRow> = rows(h, &cycle)
        .await
        .into_iter()
        .filter(|r| matches!(&r.body, RowBody::CsEvaluation(c) if c.verdict == "SEND"))
        .collect();
    assert!(!sends.is_empty());
    let flip = ks.flip.expect("the flip is a row").to_string();
    for r in &sends {
        assert_eq!(r.status, RowStatus::Held, "{}", r.to_json());
        let RowBody::CsEvaluation(c) = &r.body else {
            unreachable!()
        };
        assert!(
            c.hold_reason.as_deref().unwrap_or("").contains(&flip),
            "{c:?}"
        );
    }
    // Off, and released: each goes out once, however often it is released.
    otto_store::settings::set_kill_switch(h.ports.settings.as_ref(), &store, &Default::default())
        .await
        .expect("off");
    let exec = otto_engine::holds::Executors {
        helpdesk: Some(std::sync::Arc::new(inbox) as std::sync::Arc<dyn Helpdesk>),
        ..Default::default()
    };
    for _ in 0..2 {
        for r in &sends {
            otto_engine::holds::release(
                &h.ports,
                &exec,
                &store,
                r.row_ref,
                "emma",
                crate::fixtures::at(Utc::now(), day),
            )
            .await
            .expect("release");
        }
    }
    for r in &sends {
        let now = h
            .ports
            .audit
            .get(r.row_ref)
            .await
            .expect("get")
            .expect("row");
        assert_eq!(now.status, RowStatus::Applied);
    }
}

/// A helpdesk that sends (and marks what it sent, as Gorgias does) but loses the answer to its
/// first send.
#[derive(Default)]
struct LosesFirstAnswer(crate::faults::wrap::SimInbox, std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl otto_connectors::helpdesk::Helpdesk for LosesFirstAnswer {
    async fn open_threads(
        &self,
    ) -> Result<Vec<otto_connectors::helpdesk::Thread>, otto_connectors::VendorError> {
        self.0.open_threads().await
    }
    async fn approved_replies(&self) -> Result<Vec<String>, otto_connectors::VendorError> {
        self.0.approved_replies().await
    }
    async fn send(
        &self,
        thread_id: &str,
        draft: &otto_connectors::helpdesk::Draft,
    ) -> Result<serde_json::Value, otto_connectors::VendorError> {
        let answer = self.0.send(thread_id, draft).await?;
        if self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            return Err(otto_connectors::VendorError::Transient {
                vendor: "test helpdesk",
                detail: "the answer was lost (the reply went out)".into(),
            });
        }
        Ok(answer)
    }
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> Result<Option<serde_json::Value>, otto_connectors::VendorError> {
        self.0.sent_reply(thread_id, draft_version).await
    }
}

/// Seed 812 of the fault harness: a reply goes out, its answer is lost, the kill switch goes on,
/// and the redelivery takes the row over. The reply went out, so the row is APPLIED (confirmed by
/// reading the helpdesk), not HELD — and it is not sent again.
pub async fn a_sent_reply_whose_answer_was_lost_stays_sent_under_the_kill_switch(h: &Harness) {
    let inbox = LosesFirstAnswer::default();
    let store = unique_store();
    let day = StoreDay::parse("2026-11-24").expect("day");
    let cycle = CycleId::new(store.clone(), CycleKind::Cs, day);
    let first =
        otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now()).await;
    assert!(
        first.is_err(),
        "the lost answer fails the delivery: {first:?}"
    );
    let applying: Vec<AuditRow> = rows(h, &cycle)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Applying)
        .collect();
    assert_eq!(applying.len(), 1, "the send whose answer was lost");
    let flip = otto_store::settings::Flip {
        on: true,
        by: "emma".into(),
        surface: otto_core::audit::Surface::Cli,
        reason: Some("manual import".into()),
    };
    otto_store::settings::flip_kill_switch(
        h.ports.audit.as_ref(),
        h.ports.settings.as_ref(),
        &store,
        day,
        flip,
        Utc::now(),
    )
    .await
    .expect("flip");
    otto_engine::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
        .await
        .expect("the redelivery");
    let row = h
        .ports
        .audit
        .get(applying[0].row_ref)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.status, RowStatus::Applied, "{}", row.to_json());
    let RowBody::CsEvaluation(c) = &row.body else {
        unreachable!()
    };
    let result = c.result.as_ref().expect("a result").to_string();
    assert!(result.contains("already had this reply"), "{result}");
    assert_eq!(
        inbox.1.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "sent once"
    );
}
