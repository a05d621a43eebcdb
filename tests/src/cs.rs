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
            cs_cycle_runs_per_slot_on_schedule
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
        otto_stage::cs::triage(&h.ports, &broken, &OfflineVoice, &cycle, true, Utc::now())
            .await
            .is_err()
    );
    assert!(rows(h, &cycle).await.is_empty());

    let first = otto_stage::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, false, Utc::now())
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
    let again = otto_stage::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, false, Utc::now())
        .await
        .expect("again");
    assert_eq!(again["new"], 0);
    assert_eq!(rows(h, &cycle).await.len(), written.len());
    assert_eq!(first["evaluated"], again["evaluated"]);

    // Phase 2 on a new draft version: sent once, the helpdesk's answer kept on the row.
    let mut inbox_v2 = demo_inbox();
    for t in &mut inbox_v2.threads {
        if let Some(d) = &mut t.draft {
            d.version = format!("{}-b", d.version);
        }
    }
    std::fs::write(&path, serde_json::to_string(&inbox_v2).expect("json")).expect("write");
    let applied = otto_stage::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
        .await
        .expect("apply");
    assert!(applied["sent"].as_u64().expect("n") >= 1);
    let sent_twice =
        otto_stage::cs::triage(&h.ports, &inbox, &OfflineVoice, &cycle, true, Utc::now())
            .await
            .expect("apply again");
    assert_eq!(sent_twice["sent"], 0, "never sent twice");
    let sent: Vec<AuditRow> = rows(h, &cycle)
        .await
        .into_iter()
        .filter(|r| r.status == RowStatus::Applied)
        .collect();
    assert_eq!(sent.len() as u64, applied["sent"].as_u64().expect("n"));
    assert!(sent
        .iter()
        .all(|r| matches!(&r.body, RowBody::CsEvaluation(e) if e.result.is_some())));
}

/// The `cs_triage` stage behind the scheduler: every 15-minute slot is its own cycle run; the
/// same slot fired twice runs once; a later slot re-judges nothing already judged.
pub async fn cs_cycle_runs_per_slot_on_schedule(h: &Harness) {
    use otto_scheduler::{open_cycle, OpenOutcome, ScheduledInput};
    use otto_stage::local::drain;
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("inbox.json");
    std::fs::write(&path, serde_json::to_string(&demo_inbox()).expect("json")).expect("write");
    let reg = otto_stage::cs::with_cs(
        otto_stage::StageRegistry::new(),
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
