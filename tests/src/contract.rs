//! The port contract: every adapter must pass every test here. Instantiate with
//! [`contract_suite!`](crate::contract_suite) and a harness constructor.

use crate::fixtures::*;
use crate::Harness;
use chrono::Duration as ChronoDuration;
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::{CycleId, CycleKind, Stage, StageMessage};
use otto_core::lock::{Fence, Lease};
use otto_core::metrics::{DailyMetric, ProductStatus, Variant};
use otto_core::money::{Currency, Money};
use otto_core::policy::KillSwitch;
use otto_core::{Action, RowStatus, Sku};
use otto_store::idempotency::{idempotent, IdemError, IdemOptions};
use otto_store::{Acquire, CounterAdd, IdemStatus, OttoEvent, PageReq, StoreError};
use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[macro_export]
macro_rules! contract_suite {
    ($make:path) => {
        $crate::instantiate!(contract, $make;
            audit_append_get_and_refs,
            natural_key_duplicate_append_gives_one_row,
            concurrent_duplicate_appends_give_one_row,
            audit_access_paths_and_pages,
            status_transitions_are_conditional,
            applying_rows_are_owned_by_one_attempt,
            stale_fence_rejects_writes,
            idempotency_sixteen_racers_one_execution,
            idempotency_payload_mismatch_and_failure,
            idempotency_crash_in_progress_is_retried_after_expiry,
            two_lockers_one_wins,
            lease_lapse_takeover_and_same_owner_resume,
            rate_limit_counter_holds_under_concurrency,
            counter_tokens_count_once,
            settings_and_kill_switch,
            settings_replace_is_conditional,
            policy_set_never_loses_a_concurrent_change,
            catalog_variants_and_metrics,
            metrics_by_sku_range_after_reshuffles,
            queue_send_receive_ack,
            queue_poison_message_goes_to_dead_letters,
            list_table_and_import,
            events_publish,
            campaigns_budgets_and_sku_slices,
            many_rows_by_natural_key,
            discount_windows_by_expiry
        );
        $crate::instantiate!(contract_keys, $make;
            audit_keys_access_paths,
            keys_follow_status_and_import
        );
    };
}

async fn all_pages<F, Fut>(mut f: F) -> Vec<AuditRow>
where
    F: FnMut(PageReq) -> Fut,
    Fut: std::future::Future<Output = Result<otto_store::Page<AuditRow>, StoreError>>,
{
    let mut out = Vec::new();
    let mut req = PageReq::first(2);
    loop {
        let page = f(req.clone()).await.expect("query");
        out.extend(page.items);
        match page.next {
            Some(c) => req.cursor = Some(c),
            None => return out,
        }
    }
}

pub async fn audit_append_get_and_refs(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let rows = vec![
        row(&c, "SKU-A", Action::Publish, RowStatus::DryRun, 0),
        row(&c, "SKU-B", Action::Draft, RowStatus::DryRun, 1),
        row(&c, "SKU-C", Action::ScaleWinner, RowStatus::DryRun, 2),
    ];
    let out = h
        .ports
        .audit
        .append(rows.clone(), None)
        .await
        .expect("append");
    assert_eq!(out.len(), 3);
    assert!(out.iter().all(|a| a.inserted));
    let refs: HashSet<RowRef> = out.iter().map(|a| a.row_ref).collect();
    assert_eq!(refs.len(), 3, "refs are distinct");
    for (a, new) in out.iter().zip(&rows) {
        assert_eq!(a.row_ref.table, AuditTable::DecisionLog);
        let got = h
            .ports
            .audit
            .get(a.row_ref)
            .await
            .expect("get")
            .expect("row exists");
        assert_eq!(got.row_ref, a.row_ref);
        assert_eq!(got.body, new.body);
        assert_eq!(got.status, RowStatus::DryRun);
        assert_eq!(got.cycle_id, c);
        assert_eq!(got.created_at, new.created_at);
        assert_eq!(
            got.ulid.timestamp_ms() as i64,
            new.created_at.timestamp_millis()
        );
        let by_nk = h
            .ports
            .audit
            .get_by_natural_key(AuditTable::DecisionLog, &new.natural_key)
            .await
            .expect("get by natural key")
            .expect("found");
        assert_eq!(by_nk.row_ref, a.row_ref);
    }
    let missing = RowRef::new(AuditTable::AdDecisionLog, 999_999_999);
    assert!(h.ports.audit.get(missing).await.expect("get").is_none());
}

pub async fn natural_key_duplicate_append_gives_one_row(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let r = row(&c, "SKU-DUP", Action::Publish, RowStatus::DryRun, 0);
    let first = h
        .ports
        .audit
        .append(vec![r.clone()], None)
        .await
        .expect("append");
    // A retry of the same stage, and a batch repeating the key, write nothing new.
    let again = h
        .ports
        .audit
        .append(vec![r.clone(), r.clone()], None)
        .await
        .expect("append again");
    assert!(first[0].inserted);
    assert_eq!(again.len(), 2);
    assert!(again
        .iter()
        .all(|a| !a.inserted && a.row_ref == first[0].row_ref));
    let mut fresh = row(&c, "SKU-NEW", Action::Publish, RowStatus::DryRun, 0);
    fresh.natural_key = format!("batch-dup|{store}");
    let batch = h
        .ports
        .audit
        .append(vec![fresh.clone(), fresh.clone()], None)
        .await
        .expect("append batch");
    assert!(batch[0].inserted && !batch[1].inserted);
    assert_eq!(batch[0].row_ref, batch[1].row_ref);
    let all = all_pages(|p| h.ports.audit.by_cycle(AuditTable::DecisionLog, &c, p)).await;
    assert_eq!(all.len(), 2, "one row per natural key");
}

pub async fn concurrent_duplicate_appends_give_one_row(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let r = row(&c, "SKU-RACE", Action::Draft, RowStatus::DryRun, 0);
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let audit = h.ports.audit.clone();
        let r = r.clone();
        tasks.push(tokio::spawn(
            async move { audit.append(vec![r], None).await },
        ));
    }
    let mut inserted = 0;
    let mut refs = HashSet::new();
    for t in tasks {
        let out = t.await.expect("task").expect("append");
        inserted += out.iter().filter(|a| a.inserted).count();
        refs.insert(out[0].row_ref);
    }
    assert_eq!(inserted, 1, "exactly one appender inserts");
    assert_eq!(refs.len(), 1, "everyone is told the same ref");
    let all = all_pages(|p| h.ports.audit.by_cycle(AuditTable::DecisionLog, &c, p)).await;
    assert_eq!(all.len(), 1);
}

pub async fn audit_access_paths_and_pages(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let other_day = CycleId::new(store.clone(), CycleKind::Morning, day().plus_days(-1));
    let mut rows = vec![
        row(&c, "SKU-1", Action::Publish, RowStatus::DryRun, 0),
        row(&c, "SKU-2", Action::Draft, RowStatus::Held, 1),
        row(&c, "SKU-3", Action::Draft, RowStatus::DryRun, 2),
        row(&c, "SKU-4", Action::Publish, RowStatus::Held, 3),
        row(&c, "SKU-5", Action::Draft, RowStatus::DryRun, 4),
    ];
    let mut old = row(
        &other_day,
        "SKU-1",
        Action::Draft,
        RowStatus::DryRun,
        -24 * 60,
    );
    old.natural_key = format!("{other_day}|decide|SKU-1");
    rows.push(old);
    let out = h.ports.audit.append(rows, None).await.expect("append");
    let today: Vec<RowRef> = out[..5].iter().map(|a| a.row_ref).collect();

    let cycle_rows = all_pages(|p| h.ports.audit.by_cycle(AuditTable::DecisionLog, &c, p)).await;
    assert_eq!(
        cycle_rows.iter().map(|r| r.row_ref).collect::<Vec<_>>(),
        today,
        "by cycle, oldest first, all pages"
    );

    let sku1 = all_pages(|p| {
        h.ports
            .audit
            .by_subject(AuditTable::DecisionLog, &store, "SKU-1", p)
    })
    .await;
    assert_eq!(sku1.len(), 2);
    assert!(
        sku1[0].created_at > sku1[1].created_at,
        "by SKU, newest first"
    );

    let drafts = all_pages(|p| {
        h.ports
            .audit
            .by_day_action(AuditTable::DecisionLog, &store, day(), Some("DRAFT"), p)
    })
    .await;
    assert_eq!(
        drafts.iter().map(|r| r.subject()).collect::<Vec<_>>(),
        vec!["SKU-2", "SKU-3", "SKU-5"]
    );
    let whole_day = all_pages(|p| {
        h.ports
            .audit
            .by_day_action(AuditTable::DecisionLog, &store, day(), None, p)
    })
    .await;
    assert_eq!(whole_day.len(), 5);
    // Ordered by action, then ref.
    assert_eq!(
        whole_day.iter().map(|r| r.action_key()).collect::<Vec<_>>(),
        vec!["DRAFT", "DRAFT", "DRAFT", "PUBLISH", "PUBLISH"]
    );

    let held = all_pages(|p| {
        h.ports
            .audit
            .by_status(AuditTable::DecisionLog, &store, RowStatus::Held, p)
    })
    .await;
    assert_eq!(
        held.iter().map(|r| r.subject()).collect::<Vec<_>>(),
        vec!["SKU-2", "SKU-4"]
    );
    // Another store sees none of it.
    let stranger = unique_store();
    let none = h
        .ports
        .audit
        .by_status(
            AuditTable::DecisionLog,
            &stranger,
            RowStatus::Held,
            PageReq::first(10),
        )
        .await
        .expect("query");
    assert!(none.items.is_empty());
    // A garbage cursor is an error, not a silent first page.
    let bad = h
        .ports
        .audit
        .by_cycle(
            AuditTable::DecisionLog,
            &c,
            PageReq {
                limit: 2,
                cursor: Some("%%%".into()),
            },
        )
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
}

/// APPLYING belongs to one executor attempt: a second claim loses, only the owner settles, an
/// expired attempt is taken over, letting go frees the row at once, and plain transitions can
/// neither enter nor leave APPLYING.
pub async fn applying_rows_are_owned_by_one_attempt(h: &Harness) {
    use otto_core::Attempt;
    let c = cycle(&unique_store());
    let out = h
        .ports
        .audit
        .append(
            vec![row(&c, "SKU-ATT-1", Action::Publish, RowStatus::Pending, 0)],
            None,
        )
        .await
        .expect("append");
    let r = out[0].row_ref;
    let now = t0() + ChronoDuration::hours(1);
    let a = Attempt {
        id: "attempt-a".into(),
        until: now + ChronoDuration::minutes(5),
        owner: String::new(),
    };
    let b = Attempt {
        id: "attempt-b".into(),
        until: now + ChronoDuration::minutes(5),
        owner: String::new(),
    };
    let into = h
        .ports
        .audit
        .transition(r, RowStatus::Pending, RowStatus::Applying, None, now, None)
        .await;
    assert!(matches!(into, Err(StoreError::Invalid(_))), "{into:?}");
    let claimed = h
        .ports
        .audit
        .claim(r, RowStatus::Pending, &a, None, now, None)
        .await
        .expect("claim");
    assert_eq!(claimed.status, RowStatus::Applying);
    assert_eq!(claimed.attempt.as_ref(), Some(&a));
    assert_eq!(
        h.ports
            .audit
            .get(r)
            .await
            .expect("get")
            .expect("row")
            .attempt,
        Some(a.clone())
    );
    // A second caller that read PENDING loses; one that read APPLYING finds a live owner.
    for from in [RowStatus::Pending, RowStatus::Applying] {
        let lost = h.ports.audit.claim(r, from, &b, None, now, None).await;
        assert!(
            matches!(lost, Err(StoreError::Conflict(_))),
            "{from}: {lost:?}"
        );
    }
    let out_of = h
        .ports
        .audit
        .transition(r, RowStatus::Applying, RowStatus::Applied, None, now, None)
        .await;
    assert!(matches!(out_of, Err(StoreError::Invalid(_))), "{out_of:?}");
    let wrong = h
        .ports
        .audit
        .settle_attempt(r, &b.id, RowStatus::Applied, None, now, None)
        .await;
    assert!(matches!(wrong, Err(StoreError::Conflict(_))), "{wrong:?}");
    // After A's expiry, B takes over; A can no longer settle.
    let later = a.until + ChronoDuration::seconds(1);
    h.ports
        .audit
        .claim(r, RowStatus::Applying, &b, None, later, None)
        .await
        .expect("takeover after expiry");
    let stale = h
        .ports
        .audit
        .settle_attempt(r, &a.id, RowStatus::Applied, None, later, None)
        .await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    // B lets go (a vendor timeout): the row stays APPLYING and is free at once.
    let freed = h
        .ports
        .audit
        .settle_attempt(r, &b.id, RowStatus::Applying, None, later, None)
        .await
        .expect("let go");
    assert_eq!(freed.status, RowStatus::Applying);
    assert_eq!(freed.attempt.as_ref().map(|x| x.until), Some(later));
    h.ports
        .audit
        .claim(r, RowStatus::Applying, &a, None, later, None)
        .await
        .expect("claim a freed row at once");
    let done = h
        .ports
        .audit
        .settle_attempt(r, &a.id, RowStatus::Applied, None, later, None)
        .await
        .expect("settle");
    assert_eq!(done.status, RowStatus::Applied);
    // The attempt is kept on the row and survives export → import.
    let back = AuditRow::from_json(&done.to_json()).expect("export shape");
    assert_eq!(back.attempt.map(|x| x.id), Some(a.id));
}

pub async fn status_transitions_are_conditional(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let out = h
        .ports
        .audit
        .append(
            vec![row(
                &c,
                "SKU-LIN-007",
                Action::ReviveSeasonal,
                RowStatus::Held,
                0,
            )],
            None,
        )
        .await
        .expect("append");
    let r = out[0].row_ref;
    let at = t0() + ChronoDuration::hours(3);
    let released = h
        .ports
        .audit
        .transition(r, RowStatus::Held, RowStatus::Released, None, at, None)
        .await
        .expect("release");
    assert_eq!(released.status, RowStatus::Released);
    assert_eq!(released.updated_at, at);
    assert_eq!(released.created_at, t0());
    // A second release (a double click) finds it no longer held.
    let again = h
        .ports
        .audit
        .transition(r, RowStatus::Held, RowStatus::Released, None, at, None)
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // Forbidden transitions are refused before touching the store.
    let bad = h
        .ports
        .audit
        .transition(r, RowStatus::Applied, RowStatus::Applying, None, at, None)
        .await;
    assert!(matches!(bad, Err(StoreError::Invalid(_))), "{bad:?}");
    let missing = h
        .ports
        .audit
        .transition(
            RowRef::new(AuditTable::DecisionLog, 999_999_998),
            RowStatus::Held,
            RowStatus::Released,
            None,
            at,
            None,
        )
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    // A new body (e.g. the vendor's answer) rides along with the status.
    let mut body = decision("SKU-LIN-007", Action::ReviveSeasonal);
    if let RowBody::Decision(d) = &mut body {
        d.result = Some(serde_json::json!({"status": "ACTIVE"}));
    }
    let applied = h
        .ports
        .audit
        .transition(
            r,
            RowStatus::Released,
            RowStatus::Applied,
            Some(body.clone()),
            at,
            None,
        )
        .await
        .expect("apply");
    assert_eq!(applied.body, body);
    let held = h
        .ports
        .audit
        .by_status(
            AuditTable::DecisionLog,
            &store,
            RowStatus::Held,
            PageReq::first(10),
        )
        .await
        .expect("held");
    assert!(held.items.is_empty(), "the status index follows the row");
    let applied_rows = h
        .ports
        .audit
        .by_status(
            AuditTable::DecisionLog,
            &store,
            RowStatus::Applied,
            PageReq::first(10),
        )
        .await
        .expect("applied");
    assert_eq!(applied_rows.items.len(), 1);
}

pub async fn stale_fence_rejects_writes(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let name = CycleKind::Morning.lock_name(&store);
    let now = t0().timestamp_millis();
    let Acquire::Acquired(a) = h
        .ports
        .locks
        .acquire(&name, "timer-a", 1_000, now)
        .await
        .expect("acquire")
    else {
        panic!("free lock not acquired");
    };
    let ok = h
        .ports
        .audit
        .append(
            vec![row(&c, "SKU-F1", Action::Publish, RowStatus::DryRun, 0)],
            Some(&a.fence()),
        )
        .await
        .expect("fenced append with the current token");
    assert!(ok[0].inserted);
    // A stalls past its lease; B takes over.
    let later = now + 5_000;
    let Acquire::Acquired(b) = h
        .ports
        .locks
        .acquire(&name, "timer-b", 60_000, later)
        .await
        .expect("acquire")
    else {
        panic!("lapsed lock not taken over");
    };
    assert_ne!(a.version, b.version);
    let stale = h
        .ports
        .audit
        .append(
            vec![row(&c, "SKU-F2", Action::Publish, RowStatus::DryRun, 1)],
            Some(&a.fence()),
        )
        .await;
    assert!(matches!(stale, Err(StoreError::Fenced(_))), "{stale:?}");
    let stale_t = h
        .ports
        .audit
        .transition(
            ok[0].row_ref,
            RowStatus::DryRun,
            RowStatus::Released,
            None,
            t0(),
            Some(&a.fence()),
        )
        .await;
    assert!(stale_t.is_err());
    let rows = all_pages(|p| h.ports.audit.by_cycle(AuditTable::DecisionLog, &c, p)).await;
    assert_eq!(rows.len(), 1, "the fenced-out write left nothing behind");
    h.ports
        .audit
        .append(
            vec![row(&c, "SKU-F3", Action::Publish, RowStatus::DryRun, 2)],
            Some(&b.fence()),
        )
        .await
        .expect("the new holder writes");
    let unknown = Fence {
        lock: format!("store_lock#{}", unique_store()),
        version: "x".into(),
    };
    let none = h
        .ports
        .audit
        .append(
            vec![row(&c, "SKU-F4", Action::Publish, RowStatus::DryRun, 3)],
            Some(&unknown),
        )
        .await;
    assert!(matches!(none, Err(StoreError::Fenced(_))), "{none:?}");
}

pub async fn idempotency_sixteen_racers_one_execution(h: &Harness) {
    let key = format!("race#{}", unique_store());
    let runs = Arc::new(AtomicU32::new(0));
    let payload = serde_json::json!({"cycle": "morning", "n": 1});
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let store = h.ports.idempotency.clone();
        let runs = runs.clone();
        let key = key.clone();
        let payload = payload.clone();
        tasks.push(tokio::spawn(async move {
            idempotent(
                store.as_ref(),
                &key,
                &payload,
                IdemOptions {
                    ttl: Duration::from_secs(3600),
                    in_progress_expiry: Duration::from_secs(60),
                },
                chrono::Utc::now(),
                || async {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Ok::<_, String>(serde_json::json!({"cycle_id": "s:morning:2026-11-24"}))
                },
            )
            .await
        }));
    }
    let mut executed = 0;
    let mut in_progress = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(o) if !o.replayed => executed += 1,
            Ok(o) => assert_eq!(o.value["cycle_id"], "s:morning:2026-11-24"),
            Err(IdemError::InProgress(_)) => in_progress += 1,
            Err(e) => panic!("unexpected: {e}"),
        }
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the work ran exactly once");
    assert_eq!(executed, 1);
    assert!(in_progress <= 15);
    // After completion every duplicate gets the stored result.
    let again: otto_store::idempotency::IdemOutcome<serde_json::Value> = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &payload,
        IdemOptions::default(),
        chrono::Utc::now(),
        || async { Err::<serde_json::Value, _>("must not run".to_string()) },
    )
    .await
    .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.value["cycle_id"], "s:morning:2026-11-24");
    let rec = h
        .ports
        .idempotency
        .get_record(&key)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(rec.status, IdemStatus::Completed);
}

pub async fn idempotency_payload_mismatch_and_failure(h: &Harness) {
    let key = format!("mismatch#{}", unique_store());
    let now = chrono::Utc::now();
    let first = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &serde_json::json!({"a": 1}),
        IdemOptions::default(),
        now,
        || async { Ok::<_, String>(7u32) },
    )
    .await
    .expect("first run");
    assert_eq!(first.value, 7);
    let other = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &serde_json::json!({"a": 2}),
        IdemOptions::default(),
        now,
        || async { Ok::<_, String>(8u32) },
    )
    .await;
    assert!(
        matches!(other, Err(IdemError::PayloadMismatch(_))),
        "{other:?}"
    );

    // A failed attempt leaves no record: the retry runs.
    let key2 = format!("fail#{}", unique_store());
    let failed = idempotent(
        h.ports.idempotency.as_ref(),
        &key2,
        &serde_json::json!({}),
        IdemOptions::default(),
        now,
        || async { Err::<u32, _>("vendor said no".to_string()) },
    )
    .await;
    assert!(matches!(failed, Err(IdemError::Handler(ref m)) if m == "vendor said no"));
    assert!(h
        .ports
        .idempotency
        .get_record(&key2)
        .await
        .expect("get")
        .is_none());
    let retried = idempotent(
        h.ports.idempotency.as_ref(),
        &key2,
        &serde_json::json!({}),
        IdemOptions::default(),
        now,
        || async { Ok::<_, String>(9u32) },
    )
    .await
    .expect("retry runs");
    assert!(!retried.replayed);
    assert_eq!(retried.value, 9);
}

pub async fn idempotency_crash_in_progress_is_retried_after_expiry(h: &Harness) {
    let key = format!("crash#{}", unique_store());
    let now = t0();
    let opts = IdemOptions {
        ttl: Duration::from_secs(3600),
        in_progress_expiry: Duration::from_secs(30),
    };
    // An attempt writes INPROGRESS and dies before COMPLETED (the process is gone: no cleanup).
    let rec = otto_store::IdemRecord {
        key: key.clone(),
        status: IdemStatus::InProgress,
        payload_hash: otto_store::idempotency::payload_hash(&serde_json::json!({"x": 1})),
        result: None,
        expires_at: now.timestamp() + 3600,
        in_progress_expires_at_ms: now.timestamp_millis() + 30_000,
        attempt: "dead-attempt".into(),
    };
    assert_eq!(
        h.ports
            .idempotency
            .try_begin(&rec, now.timestamp(), now.timestamp_millis())
            .await
            .expect("begin"),
        otto_store::Begin::Started
    );
    // A redelivery within the in-progress window is told "in progress" (retry later)…
    let soon = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &serde_json::json!({"x": 1}),
        opts,
        now + ChronoDuration::seconds(10),
        || async { Ok::<_, String>(1u32) },
    )
    .await;
    assert!(matches!(soon, Err(IdemError::InProgress(_))), "{soon:?}");
    assert!(soon.is_err_and(|e| e.is_retryable()));
    // …and once the window lapses, the retry runs and completes.
    let later = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &serde_json::json!({"x": 1}),
        opts,
        now + ChronoDuration::seconds(31),
        || async { Ok::<_, String>(2u32) },
    )
    .await
    .expect("retry after expiry");
    assert!(!later.replayed);
    assert_eq!(later.value, 2);
    // The dead attempt cannot complete over it.
    let zombie = h
        .ports
        .idempotency
        .complete(&key, "dead-attempt", "1", now.timestamp() + 3600)
        .await;
    assert!(matches!(zombie, Err(StoreError::Conflict(_))), "{zombie:?}");
    // An expired COMPLETED record is void too.
    let much_later = idempotent(
        h.ports.idempotency.as_ref(),
        &key,
        &serde_json::json!({"x": 1}),
        opts,
        now + ChronoDuration::hours(2),
        || async { Ok::<_, String>(3u32) },
    )
    .await
    .expect("after ttl");
    assert_eq!(much_later.value, 3);
}

pub async fn two_lockers_one_wins(h: &Harness) {
    let name = format!("store_lock#{}", unique_store());
    let now = t0().timestamp_millis();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let locks = h.ports.locks.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            locks
                .acquire(&name, &format!("timer-{i}"), 60_000, now)
                .await
        }));
    }
    let mut winners = Vec::new();
    let mut held = 0;
    for t in tasks {
        match t.await.expect("task").expect("acquire") {
            Acquire::Acquired(l) => winners.push(l),
            Acquire::Held(_) => held += 1,
        }
    }
    assert_eq!(winners.len(), 1, "exactly one locker wins");
    assert_eq!(held, 7);
    let current = h
        .ports
        .locks
        .current(&name)
        .await
        .expect("current")
        .expect("held");
    assert_eq!(current, winners[0]);
}

pub async fn lease_lapse_takeover_and_same_owner_resume(h: &Harness) {
    let name = format!("store_lock#{}", unique_store());
    let now = t0().timestamp_millis();
    let Acquire::Acquired(a) = h
        .ports
        .locks
        .acquire(&name, "brevard:morning:2026-11-24", 10_000, now)
        .await
        .expect("acquire")
    else {
        panic!("not acquired")
    };
    // The scheduler crashed after taking the lock; its retry (same owner) resumes with the same
    // token, so stage messages already sent stay valid.
    let Acquire::Acquired(again) = h
        .ports
        .locks
        .acquire(&name, "brevard:morning:2026-11-24", 10_000, now + 1_000)
        .await
        .expect("re-acquire")
    else {
        panic!("same owner must resume")
    };
    assert_eq!(again.version, a.version);
    assert_eq!(again.expires_at_ms, now + 11_000);
    // Another owner waits while the lease is live…
    match h
        .ports
        .locks
        .acquire(&name, "operator", 10_000, now + 5_000)
        .await
        .expect("acquire")
    {
        Acquire::Held(l) => assert_eq!(l.owner, "brevard:morning:2026-11-24"),
        other => panic!("live lease taken: {other:?}"),
    }
    // …and takes over once it lapses, with a new token.
    let Acquire::Acquired(b) = h
        .ports
        .locks
        .acquire(&name, "operator", 10_000, now + 11_001)
        .await
        .expect("acquire")
    else {
        panic!("lapsed lease not taken over")
    };
    assert_ne!(b.version, a.version);
    let renew = h.ports.locks.renew(&a, 10_000, now + 12_000).await;
    assert!(matches!(renew, Err(StoreError::Fenced(_))), "{renew:?}");
    assert!(
        !h.ports.locks.release(&a).await.expect("release"),
        "stale holder cannot release"
    );
    let renewed: Lease = h
        .ports
        .locks
        .renew(&b, 10_000, now + 12_000)
        .await
        .expect("renew");
    assert_eq!(renewed.version, b.version);
    assert!(h.ports.locks.release(&b).await.expect("release"));
    assert!(h
        .ports
        .locks
        .current(&name)
        .await
        .expect("current")
        .is_none());
}

pub async fn rate_limit_counter_holds_under_concurrency(h: &Harness) {
    let name = format!("rate#{}#budget_changes#2026-W48", unique_store());
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = h.ports.counters.clone();
        let name = name.clone();
        tasks.push(tokio::spawn(async move {
            c.add(&name, 1, Some(8), None, Some(2_000_000_000)).await
        }));
    }
    let mut added = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("task").expect("add") {
            CounterAdd::Added(v) => {
                assert!((1..=8).contains(&v));
                added += 1;
            }
            CounterAdd::LimitReached(v) => {
                assert!(v <= 8);
                refused += 1;
            }
            CounterAdd::AlreadyCounted(_) => panic!("no tokens here"),
        }
    }
    assert_eq!((added, refused), (8, 8), "8 budget changes a week, never 9");
    assert_eq!(h.ports.counters.value(&name).await.expect("value"), 8);
    // Giving one back (a move that failed before applying) frees a slot.
    assert_eq!(
        h.ports
            .counters
            .add(&name, -1, None, None, None)
            .await
            .expect("add"),
        CounterAdd::Added(7)
    );
    assert_eq!(
        h.ports
            .counters
            .add(&name, 2, Some(8), None, None)
            .await
            .expect("add"),
        CounterAdd::LimitReached(7)
    );
    assert_eq!(
        h.ports
            .counters
            .value("never-touched")
            .await
            .expect("value"),
        0
    );
}

pub async fn counter_tokens_count_once(h: &Harness) {
    let name = format!("fanin#{}#classify", unique_store());
    assert_eq!(
        h.ports
            .counters
            .add(&name, 1, None, Some("chunk-0"), None)
            .await
            .expect("add"),
        CounterAdd::Added(1)
    );
    assert_eq!(
        h.ports
            .counters
            .add(&name, 1, None, Some("chunk-0"), None)
            .await
            .expect("add"),
        CounterAdd::AlreadyCounted(1),
        "a redelivered chunk is not counted twice"
    );
    assert_eq!(
        h.ports
            .counters
            .add(&name, 1, Some(2), Some("chunk-1"), None)
            .await
            .expect("add"),
        CounterAdd::Added(2)
    );
    assert_eq!(
        h.ports
            .counters
            .add(&name, 1, Some(2), Some("chunk-2"), None)
            .await
            .expect("add"),
        CounterAdd::LimitReached(2)
    );
    // The refused token was not consumed.
    assert_eq!(
        h.ports
            .counters
            .add(&name, 0, Some(2), Some("chunk-2"), None)
            .await
            .expect("add"),
        CounterAdd::Added(2)
    );
}

pub async fn settings_and_kill_switch(h: &Harness) {
    let store = unique_store();
    let s = h.ports.settings.as_ref();
    assert!(
        !otto_store::settings::kill_switch(s, &store)
            .await
            .expect("read")
            .on
    );
    let ks = KillSwitch {
        on: true,
        by: Some("emma".into()),
        at: Some(t0()),
        reason: Some("manual import".into()),
        flip: None,
    };
    otto_store::settings::set_kill_switch(s, &store, &ks)
        .await
        .expect("write");
    assert_eq!(
        otto_store::settings::kill_switch(s, &store)
            .await
            .expect("read"),
        ks
    );
    let p = otto_store::settings::policy(s, &store)
        .await
        .expect("policy");
    assert_eq!(p.budget_changes_per_week, 8);
    s.put_setting(
        &store,
        "policy",
        &serde_json::json!({"budget_changes_per_week": "eight"}),
    )
    .await
    .expect("write");
    let bad = otto_store::settings::policy(s, &store).await;
    assert!(
        matches!(bad, Err(StoreError::Invalid(ref m)) if m.contains("policy")),
        "{bad:?}"
    );
    assert!(
        !otto_store::settings::kill_switch(s, &unique_store())
            .await
            .expect("read")
            .on,
        "another store's switch is its own"
    );
}

pub async fn settings_replace_is_conditional(h: &Harness) {
    let store = unique_store();
    let s = h.ports.settings.as_ref();
    let (a, b) = (serde_json::json!({"n": 1}), serde_json::json!({"n": 2}));
    s.replace_setting(&store, "policy", None, &a)
        .await
        .expect("first write when nothing is stored");
    let again = s.replace_setting(&store, "policy", None, &b).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let stale = s.replace_setting(&store, "policy", Some(&b), &b).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    assert_eq!(
        s.get_setting(&store, "policy").await.expect("read"),
        Some(a.clone())
    );
    s.replace_setting(&store, "policy", Some(&a), &b)
        .await
        .expect("write over the value read");
    assert_eq!(
        s.get_setting(&store, "policy").await.expect("read"),
        Some(b)
    );
}

/// A Settings that lets another operator's policy write land just before the first
/// conditional write: the race `otto policy set` used to lose.
struct Interleaved<'a> {
    inner: &'a dyn otto_store::Settings,
    other: std::sync::Mutex<Option<otto_core::policy::Policy>>,
}

#[async_trait::async_trait]
impl otto_store::Settings for Interleaved<'_> {
    async fn get_setting(
        &self,
        store: &otto_core::StoreId,
        key: &str,
    ) -> otto_store::Result<Option<serde_json::Value>> {
        self.inner.get_setting(store, key).await
    }
    async fn put_setting(
        &self,
        store: &otto_core::StoreId,
        key: &str,
        value: &serde_json::Value,
    ) -> otto_store::Result<()> {
        self.inner.put_setting(store, key, value).await
    }
    async fn replace_setting(
        &self,
        store: &otto_core::StoreId,
        key: &str,
        expected: Option<&serde_json::Value>,
        value: &serde_json::Value,
    ) -> otto_store::Result<()> {
        let other = self.other.lock().expect("lock").take();
        if let Some(p) = other {
            otto_store::settings::set_policy(self.inner, store, &p).await?;
        }
        self.inner
            .replace_setting(store, key, expected, value)
            .await
    }
}

fn change(name: &str, value: &str) -> otto_store::policy_settings::Change {
    otto_store::policy_settings::Change {
        name: name.into(),
        value: value.into(),
        by: "emma".into(),
        surface: otto_core::audit::Surface::Cli,
    }
}

pub async fn policy_set_never_loses_a_concurrent_change(h: &Harness) {
    use otto_core::policy::Policy;
    use otto_store::policy_settings::set;
    let store = unique_store();
    let (audit, s) = (h.ports.audit.as_ref(), h.ports.settings.as_ref());
    // Another operator sets the same limit in between: nothing written, a 409 naming both.
    let racing = Interleaved {
        inner: s,
        other: std::sync::Mutex::new(Some(Policy {
            discount_percent_bp: 1_200,
            ..Policy::default()
        })),
    };
    let lost = set(
        audit,
        &racing,
        &store,
        day(),
        change("discount_percent_bp", "10%"),
        t0(),
    )
    .await;
    let Err(StoreError::Conflict(m)) = &lost else {
        panic!("{lost:?}");
    };
    for shown in ["15%", "12%", "10%", "discount_percent_bp"] {
        assert!(m.contains(shown), "{shown}: {m}");
    }
    let p = otto_store::settings::policy(s, &store)
        .await
        .expect("policy");
    assert_eq!(
        p.discount_percent_bp, 1_200,
        "the other operator's value stands"
    );
    let rows = audit
        .by_cycle(
            AuditTable::OperatorLog,
            &CycleId::new(store.clone(), CycleKind::Operator, day()),
            PageReq::first(10),
        )
        .await
        .expect("rows");
    assert_eq!(
        rows.items.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![RowStatus::Failed],
        "the lost change's row says it was not made"
    );
    // Another limit changed in between: made again over it, both changes kept.
    let other = Interleaved {
        inner: s,
        other: std::sync::Mutex::new(Some(Policy {
            discount_window_days: 21,
            ..p.clone()
        })),
    };
    set(
        audit,
        &other,
        &store,
        day(),
        change("discount_percent_bp", "10%"),
        t0(),
    )
    .await
    .expect("made over the other change");
    let p = otto_store::settings::policy(s, &store)
        .await
        .expect("policy");
    assert_eq!((p.discount_percent_bp, p.discount_window_days), (1_000, 21));
    // Six operators at once, each another limit: every change stands.
    let limits = [
        ("budget_cooldown_days", "4", 4),
        ("discount_cooldown_days", "31", 31),
        ("republish_cooldown_days", "32", 32),
        ("scale_min_cover_days", "15", 15),
        ("status_flip_min_days", "33", 33),
        ("discount_tests_per_day", "11", 11),
    ];
    let all = futures_util::future::join_all(
        limits
            .iter()
            .map(|(n, v, _)| set(audit, s, &store, day(), change(n, v), t0())),
    )
    .await;
    assert!(all.iter().all(|r| r.is_ok()), "{all:?}");
    let p = otto_store::settings::policy(s, &store)
        .await
        .expect("policy");
    let got = [
        p.budget_cooldown_days,
        p.discount_cooldown_days,
        p.republish_cooldown_days,
        p.scale_min_cover_days,
        p.status_flip_min_days,
        p.discount_tests_per_day,
    ];
    assert_eq!(
        got.to_vec(),
        limits.iter().map(|l| l.2).collect::<Vec<u32>>()
    );
    assert_eq!((p.discount_percent_bp, p.discount_window_days), (1_000, 21));
}

pub async fn catalog_variants_and_metrics(h: &Harness) {
    let store = unique_store();
    let eur = Currency::EUR;
    let variants: Vec<Variant> = (0..60)
        .map(|i| Variant {
            sku: Sku::new(format!("SKU-CAT-{i:03}")).expect("sku"),
            variant_id: format!("gid://shopify/ProductVariant/{i}"),
            product_id: format!("gid://shopify/Product/{}", i / 3),
            title: format!("Linen Throw {i}"),
            price: Money::parse("29.99", eur).expect("price"),
            compare_at_price: None,
            unit_cost: Some(Money::parse("9.5", eur).expect("cost")),
            status: ProductStatus::Active,
            inventory: i,
            tags: vec!["linen".into()],
            updated_at: t0(),
        })
        .collect();
    h.ports
        .catalog
        .upsert_variants(&store, &variants)
        .await
        .expect("upsert");
    let got = h.ports.catalog.variants(&store).await.expect("variants");
    assert_eq!(got.len(), 60);
    assert_eq!(got, variants, "sorted by SKU, exact money");
    let mut changed = variants[5].clone();
    changed.price = Money::parse("24.99", eur).expect("price");
    h.ports
        .catalog
        .upsert_variants(&store, std::slice::from_ref(&changed))
        .await
        .expect("upsert one");
    assert_eq!(
        h.ports
            .catalog
            .variant(&store, &changed.sku)
            .await
            .expect("get"),
        Some(changed)
    );
    assert!(h
        .ports
        .catalog
        .variant(&store, &Sku::new("NOPE").expect("sku"))
        .await
        .expect("get")
        .is_none());
    let metrics: Vec<DailyMetric> = (0..3)
        .flat_map(|d| {
            variants[..10].iter().map(move |v| DailyMetric {
                sku: v.sku.clone(),
                day: day().plus_days(-d),
                impressions: 100,
                clicks: 7,
                cost: Money::from_micros(1_234_567, eur),
                conversions_milli: 1_500,
                conversion_value: Money::parse("44.985", eur).expect("value"),
                provisional: d == 0,
            })
        })
        .collect();
    h.ports
        .catalog
        .put_metrics(&store, &metrics)
        .await
        .expect("put metrics");
    let window = h
        .ports
        .catalog
        .metrics(&store, day().plus_days(-1), day())
        .await
        .expect("metrics");
    assert_eq!(window.len(), 20);
    assert!(window
        .windows(2)
        .all(|w| (&w[0].sku, w[0].day) <= (&w[1].sku, w[1].day)));
    assert_eq!(window[0].cost.micros(), 1_234_567);
    assert!(window
        .iter()
        .filter(|m| m.day == day())
        .all(|m| m.provisional));
}

/// Metrics of many SKUs read back by SKU range, after writes that add SKUs in between (the
/// DynamoDB adapter stores them in blocks of SKUs that such writes re-cut) and restate days.
pub async fn metrics_by_sku_range_after_reshuffles(h: &Harness) {
    use std::collections::BTreeMap;
    let store = unique_store();
    let eur = Currency::EUR;
    let metric = |sku: &str, d: i64, value: i64| DailyMetric {
        sku: Sku::new(sku).expect("sku"),
        day: day().plus_days(-d),
        impressions: 10 + d as u64,
        clicks: 1,
        cost: Money::from_micros(1_000_000 + value, eur),
        conversions_milli: 0,
        conversion_value: Money::from_micros(value, eur),
        provisional: false,
    };
    let mut model: BTreeMap<(String, otto_core::StoreDay), DailyMetric> = BTreeMap::new();
    let mut write = Vec::new();
    for i in (0..60).step_by(2) {
        for d in 0..3 {
            write.push(metric(&format!("SKU-R-{i:03}"), d, i * 10 + d));
        }
    }
    // Three writes: even SKUs; odd SKUs in between (every block boundary moves) with day 0 of
    // the even ones restated; then one SKU's older day alone.
    let mut second = Vec::new();
    for i in (1..60).step_by(2) {
        second.push(metric(&format!("SKU-R-{i:03}"), 1, 7_000 + i));
    }
    for i in (0..60).step_by(2) {
        second.push(metric(&format!("SKU-R-{i:03}"), 0, 9_000 + i));
    }
    let third = vec![metric("SKU-R-031", 5, 123)];
    for batch in [write, second, third] {
        for m in &batch {
            model.insert((m.sku.to_string(), m.day), m.clone());
        }
        h.ports
            .catalog
            .put_metrics(&store, &batch)
            .await
            .expect("put metrics");
    }
    let (from, to) = (day().plus_days(-10), day());
    let all = h
        .ports
        .catalog
        .metrics(&store, from, to)
        .await
        .expect("all");
    assert_eq!(
        all,
        model.values().cloned().collect::<Vec<_>>(),
        "every day kept, restated ones replaced"
    );
    for (a, b) in [
        ("SKU-R-000", "SKU-R-059"),
        ("SKU-R-005", "SKU-R-020"),
        ("SKU-R-031", "SKU-R-031"),
        ("SKU-R-0155", "SKU-R-017"),
        ("SKU-R-016", "SKU-R-016"),
        ("SKU-R-058", "SKU-R-999"),
        ("SKU-R-0600", "SKU-R-0700"),
        ("A", "B"),
    ] {
        let (first, last) = (Sku::new(a).expect("sku"), Sku::new(b).expect("sku"));
        let got = h
            .ports
            .catalog
            .metrics_for_skus(&store, from, to, &first, &last)
            .await
            .expect("range");
        let want: Vec<DailyMetric> = model
            .values()
            .filter(|m| m.sku.as_str() >= a && m.sku.as_str() <= b)
            .cloned()
            .collect();
        assert_eq!(got, want, "SKUs {a}..={b}");
    }
}

pub async fn queue_send_receive_ack(h: &Harness) {
    let store = unique_store();
    let fence = Fence {
        lock: format!("store_lock#{store}"),
        version: "v1".into(),
    };
    let msgs: Vec<StageMessage> = (0..3)
        .map(|chunk| StageMessage {
            cycle_id: cycle(&store),
            stage: Stage::Calibrate,
            chunk,
            chunks: 3,
            fence: fence.clone(),
            apply: false,
        })
        .collect();
    h.ports.queue.send(&msgs).await.expect("send");
    let mut got = Vec::new();
    for _ in 0..10 {
        got.extend(
            h.ports
                .queue
                .receive(Stage::Calibrate, 10, Duration::from_secs(30))
                .await
                .expect("receive"),
        );
        if got.len() >= 3 {
            break;
        }
    }
    assert_eq!(got.len(), 3);
    let mut parsed: Vec<StageMessage> = got
        .iter()
        .map(|d| StageMessage::from_json(&d.body).expect("valid body"))
        .collect();
    parsed.sort_by_key(|m| m.chunk);
    assert_eq!(parsed, msgs);
    // In flight: invisible to other consumers.
    assert!(h
        .ports
        .queue
        .receive(Stage::Calibrate, 10, Duration::from_secs(30))
        .await
        .expect("receive")
        .is_empty());
    for d in &got {
        h.ports
            .queue
            .ack(Stage::Calibrate, &d.receipt)
            .await
            .expect("ack");
    }
    // Other stages' queues are untouched.
    assert!(h
        .ports
        .queue
        .receive(Stage::Decide, 10, Duration::from_secs(1))
        .await
        .expect("receive")
        .is_empty());
}

pub async fn queue_poison_message_goes_to_dead_letters(h: &Harness) {
    h.ports
        .queue
        .send_raw(Stage::Sync, "{not json")
        .await
        .expect("send");
    let mut receives = 0;
    for _ in 0..20 {
        let got = h
            .ports
            .queue
            .receive(Stage::Sync, 1, Duration::ZERO)
            .await
            .expect("receive");
        if got.is_empty() {
            let dead = h
                .ports
                .queue
                .dead_letters(Stage::Sync, 10)
                .await
                .expect("dlq");
            if !dead.is_empty() {
                assert_eq!(dead[0].body, "{not json");
                assert_eq!(receives, 5, "redriven after maxReceiveCount = 5");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        receives += 1;
        assert_eq!(got[0].receive_count, receives);
    }
    panic!("poison message never reached the dead-letter queue ({receives} receives)");
}

pub async fn list_table_and_import(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let out = h
        .ports
        .audit
        .append(
            (0..5)
                .map(|i| row(&c, &format!("SKU-X{i}"), Action::Keep, RowStatus::DryRun, i))
                .collect(),
            None,
        )
        .await
        .expect("append");
    let mine: HashSet<RowRef> = out.iter().map(|a| a.row_ref).collect();
    let listed = all_pages(|p| h.ports.audit.list_table(AuditTable::DecisionLog, p)).await;
    let mut mine_listed: Vec<AuditRow> = listed
        .into_iter()
        .filter(|r| mine.contains(&r.row_ref))
        .collect();
    mine_listed.sort_by_key(|r| r.row_ref.seq);
    assert_eq!(mine_listed.len(), 5);

    // Re-importing identical rows is a no-op.
    let stats = h
        .ports
        .audit
        .import(mine_listed.clone())
        .await
        .expect("import same");
    assert_eq!((stats.written, stats.already_present), (0, 5));
    // Importing rows with fresh refs writes them, refs kept exactly.
    let base = 50_000_000 + (ulid::Ulid::new().random() % 1_000_000) as u64 * 10;
    let imported: Vec<AuditRow> = mine_listed
        .iter()
        .enumerate()
        .map(|(i, r)| AuditRow {
            row_ref: RowRef::new(AuditTable::DecisionLog, base + i as u64),
            natural_key: format!("imported|{store}|{i}"),
            ..r.clone()
        })
        .collect();
    let stats = h
        .ports
        .audit
        .import(imported.clone())
        .await
        .expect("import new");
    assert_eq!(stats.written, 5);
    for r in &imported {
        assert_eq!(
            h.ports.audit.get(r.row_ref).await.expect("get").as_ref(),
            Some(r)
        );
    }
    // New rows never collide with imported refs.
    let next = h
        .ports
        .audit
        .append(
            vec![row(&c, "SKU-AFTER", Action::Keep, RowStatus::DryRun, 9)],
            None,
        )
        .await
        .expect("append after import");
    assert!(next[0].row_ref.seq > base + 4);
    // A conflicting import (same ref, other content) fails and writes nothing.
    let mut conflicting = imported[0].clone();
    conflicting.status = RowStatus::Held;
    let fresh = AuditRow {
        // Far above any ref a concurrently running test may take (refs are per table, not per store).
        row_ref: RowRef::new(AuditTable::DecisionLog, base + 1_000_000),
        natural_key: format!("imported|{store}|7"),
        ..imported[1].clone()
    };
    let res = h.ports.audit.import(vec![fresh.clone(), conflicting]).await;
    assert!(matches!(res, Err(StoreError::Conflict(_))), "{res:?}");
    assert!(
        h.ports
            .audit
            .get(fresh.row_ref)
            .await
            .expect("get")
            .is_none(),
        "all or nothing"
    );
}

pub async fn events_publish(h: &Harness) {
    let events: Vec<OttoEvent> = (0..12)
        .map(|i| OttoEvent {
            detail_type: "CycleCompleted".into(),
            detail: serde_json::json!({"n": i}),
        })
        .collect();
    h.ports.events.publish(&events).await.expect("publish");
}

/// Keeps `NewRow` in the public surface used by instantiating crates.
pub fn _uses(_: NewRow) {}

pub async fn campaigns_budgets_and_sku_slices(h: &Harness) {
    use otto_core::metrics::{CampaignBudget, CampaignDay};
    let store = unique_store();
    let eur = Currency::EUR;
    let days: Vec<CampaignDay> = (0..3)
        .flat_map(|d| {
            ["111", "222"].into_iter().map(move |id| CampaignDay {
                campaign_id: id.into(),
                campaign: format!("EU/Linen/{id}"),
                day: day().plus_days(-d),
                impressions: 10,
                clicks: 1,
                cost: Money::from_micros(755_123_456, eur),
                conversions_milli: 1_250,
                conversion_value: Money::from_micros(3_000_000_000, eur),
                search_impression_share_bp: Some(999),
                budget_lost_impression_share_bp: None,
                provisional: d == 0,
            })
        })
        .collect();
    h.ports
        .catalog
        .put_campaign_days(&store, &days)
        .await
        .expect("put");
    let got = h
        .ports
        .catalog
        .campaign_days(&store, day().plus_days(-1), day())
        .await
        .expect("get");
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].cost.micros(), 755_123_456);
    let budget = |id: &str, shared| CampaignBudget {
        campaign_id: id.into(),
        campaign: format!("EU/Linen/{id}"),
        budget_resource: format!("customers/1/campaignBudgets/{id}"),
        amount: Money::parse("640", eur).expect("amount"),
        explicitly_shared: shared,
    };
    h.ports
        .catalog
        .put_budgets(&store, &[budget("111", false), budget("222", true)])
        .await
        .expect("put");
    h.ports
        .catalog
        .put_budgets(&store, &[budget("222", true)])
        .await
        .expect("snapshot");
    assert_eq!(
        h.ports.catalog.budgets(&store).await.expect("get"),
        vec![budget("222", true)]
    );

    let metrics: Vec<DailyMetric> = ["SKU-A", "SKU-B", "SKU-C", "SKU-D"]
        .iter()
        .map(|s| DailyMetric {
            sku: Sku::new(*s).expect("sku"),
            day: day(),
            impressions: 1,
            clicks: 0,
            cost: Money::zero(eur),
            conversions_milli: 0,
            conversion_value: Money::zero(eur),
            provisional: false,
        })
        .collect();
    h.ports
        .catalog
        .put_metrics(&store, &metrics)
        .await
        .expect("put");
    let slice = h
        .ports
        .catalog
        .metrics_for_skus(
            &store,
            day(),
            day(),
            &Sku::new("SKU-B").expect("sku"),
            &Sku::new("SKU-C").expect("sku"),
        )
        .await
        .expect("slice");
    assert_eq!(
        slice.iter().map(|m| m.sku.as_str()).collect::<Vec<_>>(),
        vec!["SKU-B", "SKU-C"]
    );
}

pub async fn many_rows_by_natural_key(h: &Harness) {
    let store = unique_store();
    let c = cycle(&store);
    let rows: Vec<NewRow> = (0..120)
        .map(|i| {
            row(
                &c,
                &format!("SKU-M{i:03}"),
                Action::Keep,
                RowStatus::DryRun,
                0,
            )
        })
        .collect();
    let keys: Vec<String> = rows
        .iter()
        .map(|r| r.natural_key.clone())
        .chain(["missing".to_string()])
        .collect();
    let out = h.ports.audit.append(rows, None).await.expect("append");
    let got = h
        .ports
        .audit
        .get_many_by_natural_key(AuditTable::DecisionLog, &keys)
        .await
        .expect("get many");
    assert_eq!(got.len(), 121);
    for (a, g) in out.iter().zip(&got) {
        assert_eq!(g.as_ref().map(|r| r.row_ref), Some(a.row_ref));
    }
    assert!(got[120].is_none());
    // By ref, batched: order kept, duplicates and missing refs answered in place.
    let mut refs: Vec<RowRef> = out.iter().map(|a| a.row_ref).rev().collect();
    refs.push(out[0].row_ref);
    refs.push(RowRef::parse("decision_log#999999999").expect("ref"));
    let by_ref = h
        .ports
        .audit
        .get_many(&refs)
        .await
        .expect("get many by ref");
    assert_eq!(by_ref.len(), 122);
    for (r, g) in refs.iter().zip(&by_ref).take(121) {
        assert_eq!(g.as_ref().map(|x| x.row_ref), Some(*r));
    }
    assert!(by_ref[121].is_none());
}

pub async fn discount_windows_by_expiry(h: &Harness) {
    use otto_core::metrics::OpenWindow;
    let store = unique_store();
    let w = |sku: &str, d: i64| OpenWindow {
        sku: Sku::new(sku).expect("sku"),
        ends_on: day().plus_days(d),
        row_ref: format!("decision_log#{}", 100 + d),
    };
    for win in [w("SKU-B", 0), w("SKU-A", 0), w("SKU-C", -3), w("SKU-D", 5)] {
        h.ports
            .catalog
            .open_window(&store, &win)
            .await
            .expect("open");
    }
    h.ports
        .catalog
        .open_window(&store, &w("SKU-A", 0))
        .await
        .expect("idempotent");
    let due = h
        .ports
        .catalog
        .windows_ending_by(&store, day())
        .await
        .expect("due");
    assert_eq!(
        due,
        vec![w("SKU-C", -3), w("SKU-A", 0), w("SKU-B", 0)],
        "by end day, then SKU"
    );
    assert_eq!(
        h.ports
            .catalog
            .open_windows(&store)
            .await
            .expect("all")
            .len(),
        4
    );
    h.ports
        .catalog
        .close_window(&store, &w("SKU-C", -3))
        .await
        .expect("close");
    assert_eq!(
        h.ports
            .catalog
            .windows_ending_by(&store, day())
            .await
            .expect("due")
            .len(),
        2
    );
    assert!(h
        .ports
        .catalog
        .open_windows(&unique_store())
        .await
        .expect("other store")
        .is_empty());
}
