//! Customer-service triage over the demo inbox, generic over the harness.

use crate::fixtures::unique_store;
use crate::Harness;
use chrono::Utc;
use otto_connectors::helpdesk::{demo_inbox, JsonInbox};
use otto_core::audit::{AuditRow, RowBody};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::{RowStatus, StoreDay};
use otto_store::PageReq;

#[macro_export]
macro_rules! cs_suite {
    ($make:path) => {
        $crate::instantiate!(cs, $make;
            cs_triage_verdicts_idempotent_and_sent_once
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
        otto_stage::cs::triage(&h.ports, &broken, &cycle, true, Utc::now())
            .await
            .is_err()
    );
    assert!(rows(h, &cycle).await.is_empty());

    let first = otto_stage::cs::triage(&h.ports, &inbox, &cycle, false, Utc::now())
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
    let again = otto_stage::cs::triage(&h.ports, &inbox, &cycle, false, Utc::now())
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
    let applied = otto_stage::cs::triage(&h.ports, &inbox, &cycle, true, Utc::now())
        .await
        .expect("apply");
    assert!(applied["sent"].as_u64().expect("n") >= 1);
    let sent_twice = otto_stage::cs::triage(&h.ports, &inbox, &cycle, true, Utc::now())
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
