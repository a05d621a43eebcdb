//! Cited answers on DynamoDB (moto).
otto_tests::answers_suite!(otto_tests::harness::moto);

/// Queries per answer on DynamoDB, counted by the SDK interceptor (every request the engine's
/// ports send, retries included): the goal is ≤ 3 per answer. The budget story is the exception
/// it states: finding the campaign (its newest day with ad rows, newest first: 1–2), its rows'
/// index entries (1) and the rows it shows read whole (1), and the applied budget changes of
/// the move's ISO week for the rate-limit position (one by_action range query: 1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_requests_per_answer() {
    let counter = otto_store::aws::RequestCounter::default();
    let Some(h) = otto_tests::harness::moto_counted(counter.clone()).await else {
        eprintln!("skipped: adapter not configured");
        return;
    };
    let p = otto_tests::answers::plane(&h).await;
    let engine = otto_answers::Engine::new(
        &h.ports,
        p.store.clone(),
        otto_core::StoreClock::new("Europe/Amsterdam").expect("tz"),
        "",
    );
    let now: chrono::DateTime<chrono::Utc> = "2026-11-25T10:00:00Z".parse().expect("time");
    for q in [
        "how did the morning go on the 24th?",
        "what moved on the catalog on 2026-11-24?",
        "why is spend on EU/Linen/Throws what it is?",
        "what's escalated in CS today?",
        "what's held?",
        "which discount windows are open?",
        "what research candidates are queued?",
        "what happened to SKU-THR-007-GRY?",
        "show me decision_log#1",
    ] {
        let before = counter.total();
        let a = engine.ask(q, now).await.expect("answer");
        let requests = counter.total() - before;
        eprintln!("{requests} DynamoDB requests · {q}");
        let bound = if q.starts_with("why is spend") { 5 } else { 3 };
        assert!(
            requests <= bound,
            "{q}: {requests} requests ({:?})",
            counter.snapshot()
        );
        assert!(u64::from(a.queries) >= requests.min(1), "{q}");
    }
}
