//! The `otto` binary as an operator uses it: exit codes, one-line errors, export/import.

use otto_core::audit::{AuditTable, DecisionRow, NewRow, RowBody};
use otto_core::cycle::{CycleId, Stage};
use otto_core::{Action, RowStatus, Sku};
use otto_store::embedded::EmbeddedStore;
use otto_store::AuditLog;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

fn otto(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otto"))
        .args(args)
        .env_remove("OTTO_STORE")
        .env_remove("OTTO_DATA_DIR")
        .env("OTTO_STORE_ID", "brevard")
        .output()
        .expect("run otto")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn seed_rows(dir: &Path, n: usize) -> Vec<String> {
    let store = EmbeddedStore::open(dir).expect("open");
    let cycle = CycleId::parse("brevard:morning:2026-11-24").expect("cycle");
    let rows = (0..n)
        .map(|i| {
            NewRow::for_stage(
                cycle.clone(),
                Stage::Decide,
                if i == 0 {
                    RowStatus::Held
                } else {
                    RowStatus::DryRun
                },
                "2026-11-24T07:00:00Z".parse().expect("time"),
                RowBody::Decision(DecisionRow {
                    sku: Sku::new(format!("SKU-LIN-{i:03}")).expect("sku"),
                    action: if i == 0 {
                        Action::ReviveSeasonal
                    } else {
                        Action::Keep
                    },
                    trigger: None,
                    classification: None,
                    reasoning: "seeded".into(),
                    figures: BTreeMap::new(),
                    window: None,
                    r#move: None,
                    reversal_op: None,
                    hold_reason: (i == 0).then(|| "kill switch was on".to_string()),
                    result: None,
                }),
            )
        })
        .collect();
    store
        .append(rows, None)
        .await
        .expect("append")
        .iter()
        .map(|a| a.row_ref.to_string())
        .collect()
}

#[tokio::test]
async fn demo_runs_the_morning_cycle_and_is_repeatable() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("d");
    let d = data.to_str().expect("utf8");
    // Before the demo there is no vendor to run a cycle against: a clear, one-line error.
    let none = otto(&["cycle", "run", "morning", "--data", d]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("otto demo"), "{}", stderr(&none));
    let a = otto(&[
        "demo",
        "--variants",
        "50",
        "--days",
        "14",
        "--data",
        d,
        "--json",
    ]);
    assert!(a.status.success(), "{}", stderr(&a));
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).expect("json");
    assert_eq!(v["store"], "brevard");
    let cycles = v["cycles"].as_array().expect("cycles");
    assert_eq!(
        cycles.len(),
        5,
        "three mornings, then today's research and discount cycles"
    );
    for c in &cycles[..3] {
        assert_eq!(c["status"], "COMPLETED", "{c}");
        assert_eq!(c["body"]["kind"], "morning");
        assert_eq!(c["body"]["summary"]["decision_rows"], 50);
        assert!(c["ref"].as_str().expect("ref").starts_with("cycle_runs#"));
    }
    assert_eq!(cycles[3]["body"]["kind"], "research");
    assert!(
        cycles[3]["body"]["summary"]["queued_new"]
            .as_u64()
            .unwrap_or(0)
            > 0
    );
    assert_eq!(cycles[4]["body"]["kind"], "discount");
    assert_eq!(cycles[4]["status"], "COMPLETED");
    // Flags after or before the subcommand; a re-run changes nothing.
    let b = otto(&[
        "--json",
        "--data",
        d,
        "demo",
        "--variants",
        "50",
        "--days",
        "14",
    ]);
    let w: serde_json::Value = serde_json::from_str(&stdout(&b)).expect("json");
    assert_eq!(v["cycles"], w["cycles"]);
    // The same cycle through `otto cycle run` is already done: same row.
    let today = cycles[2]["day"].as_str().expect("day");
    let again = otto(&[
        "cycle", "run", "morning", "--date", today, "--data", d, "--json",
    ]);
    let run: serde_json::Value = serde_json::from_str(&stdout(&again)).expect("json");
    assert_eq!(run["ref"], cycles[2]["ref"]);
    let bad = otto(&["demo", "--variants", "zero", "--data", d]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("--variants"), "{}", stderr(&bad));
    let bad_date = otto(&[
        "cycle",
        "run",
        "morning",
        "--date",
        "24/11/2026",
        "--data",
        d,
    ]);
    assert!(
        stderr(&bad_date).contains("YYYY-MM-DD"),
        "{}",
        stderr(&bad_date)
    );
}

#[tokio::test]
async fn demo_apply_changes_the_simulated_shop() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().expect("utf8");
    let a = otto(&["demo", "--variants", "60", "--apply", "--data", d, "--json"]);
    assert!(a.status.success(), "{}", stderr(&a));
    let v: serde_json::Value = serde_json::from_str(&stdout(&a)).expect("json");
    let last = &v["cycles"][2]["body"]["summary"];
    let discount = &v["cycles"][4]["body"]["summary"];
    assert!(
        discount["by_status"]["APPLIED"].as_u64().unwrap_or(0) > 0,
        "discount tests applied: {discount}"
    );
    assert!(
        last["by_status"]["APPLIED"].as_u64().unwrap_or(0) > 0,
        "{last}"
    );
    let sim: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("simulated-vendor.json")).expect("sim state"),
    )
    .expect("json");
    assert!(sim["writes"].as_u64().unwrap_or(0) > 0);
}

#[tokio::test]
async fn rows_show_and_holds() {
    let dir = tempfile::tempdir().expect("tmp");
    let refs = seed_rows(dir.path(), 3).await;
    let d = dir.path().to_str().expect("utf8");
    let show = otto(&["rows", "show", &refs[0], "--data", d]);
    assert!(show.status.success(), "{}", stderr(&show));
    assert!(stdout(&show).starts_with(&refs[0]));
    assert!(stdout(&show).contains("SKU-LIN-000"));
    let json = otto(&["rows", "show", &refs[1], "--json", "--data", d]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(v["ref"], refs[1].as_str());
    assert_eq!(v["cycle_id"], "brevard:morning:2026-11-24");
    let missing = otto(&["rows", "show", "decision_log#999", "--data", d]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(stderr(&missing).lines().count(), 1, "one-line error");
    assert!(stderr(&missing).contains("I don't have a row for that"));
    let bad = otto(&["rows", "show", "ledger#1", "--data", d]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("ledger"), "{}", stderr(&bad));

    let holds = otto(&["holds", "list", "--data", d]);
    assert!(stdout(&holds).contains(&refs[0]), "{}", stdout(&holds));
    let rel = otto(&["holds", "release", &refs[0], "--data", d]);
    assert!(rel.status.success(), "{}", stderr(&rel));
    // A repeat (a second click, a retry) releases nothing and answers with the row as it is.
    let twice = otto(&["holds", "release", &refs[0], "--data", d]);
    assert!(twice.status.success(), "{}", stderr(&twice));
    assert!(
        stdout(&twice).contains("already been released"),
        "{}",
        stdout(&twice)
    );
    assert!(stdout(&otto(&["holds", "list", "--data", d])).contains("No held rows"));
}

#[tokio::test]
async fn export_import_round_trip_and_bad_lines() {
    let src = tempfile::tempdir().expect("tmp");
    let refs = seed_rows(src.path(), 4).await;
    let out = tempfile::tempdir().expect("tmp");
    let (s, o) = (
        src.path().to_str().expect("utf8"),
        out.path().to_str().expect("utf8"),
    );
    let ex = otto(&["export", "--dir", o, "--data", s]);
    assert!(ex.status.success(), "{}", stderr(&ex));
    let text = std::fs::read_to_string(out.path().join("decision_log.ndjson")).expect("file");
    assert_eq!(text.lines().count(), 4);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("json line");
        for k in ["ref", "cycle_id", "created_at", "body", "status"] {
            assert!(v.get(k).is_some(), "{k} missing in {line}");
        }
    }
    // Into a fresh store: same refs, same rows.
    let dst = tempfile::tempdir().expect("tmp");
    let d = dst.path().to_str().expect("utf8");
    let im = otto(&["import", "--dir", o, "--data", d, "--json"]);
    assert!(im.status.success(), "{}", stderr(&im));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&im)).expect("json");
    assert_eq!(stats["written"], 4);
    let a = stdout(&otto(&["rows", "show", &refs[2], "--json", "--data", s]));
    let b = stdout(&otto(&["rows", "show", &refs[2], "--json", "--data", d]));
    assert_eq!(a, b);
    // Again: nothing new.
    let again: serde_json::Value = serde_json::from_str(&stdout(&otto(&[
        "import", "--dir", o, "--data", d, "--json",
    ])))
    .expect("json");
    assert_eq!(again["already_present"], 4);

    // A malformed line names file and line, and nothing at all is written.
    let bad_dir = tempfile::tempdir().expect("tmp");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replace("\"KEEP\"", "\"TELEPORT\"");
    std::fs::write(bad_dir.path().join("decision_log.ndjson"), lines.join("\n")).expect("write");
    let fresh = tempfile::tempdir().expect("tmp");
    let f = fresh.path().to_str().expect("utf8");
    let bad = otto(&[
        "import",
        "--dir",
        bad_dir.path().to_str().expect("utf8"),
        "--data",
        f,
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("decision_log.ndjson:2"),
        "{}",
        stderr(&bad)
    );
    assert!(stderr(&bad).contains("TELEPORT"), "{}", stderr(&bad));
    let store = EmbeddedStore::open(fresh.path()).expect("open");
    let listed = store
        .list_table(AuditTable::DecisionLog, otto_store::PageReq::first(10))
        .await
        .expect("list");
    assert!(listed.items.is_empty(), "nothing half-written");
    let none = otto(&["import", "--dir", "/nonexistent-dir", "--data", f]);
    assert!(stderr(&none).contains("not a directory"));
}

/// A held CS reply shows the exact text a release would send, in `holds list` and `rows show`
/// (read from the helpdesk: here the inbox next to the embedded data).
#[tokio::test]
async fn a_held_reply_shows_its_draft_text() {
    use otto_connectors::helpdesk::{Draft, InboxFile, Thread};
    use otto_core::audit::CsEvaluationRow;
    let dir = tempfile::tempdir().expect("tmp");
    let body = "Hi Jane,\nyour order shipped today — tracking is attached.";
    let inbox = InboxFile {
        threads: vec![Thread {
            id: "T-9001".into(),
            subject: "Where is my order?".into(),
            category: Some("shipping".into()),
            refund_amount: None,
            draft: Some(Draft {
                version: "v4".into(),
                author: "Jane".into(),
                body: body.into(),
            }),
        }],
        approved_replies: vec![],
    };
    std::fs::write(
        dir.path().join("demo-inbox.json"),
        serde_json::to_string(&inbox).expect("json"),
    )
    .expect("write inbox");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let cycle = CycleId::parse("brevard:cs:2026-11-24").expect("cycle");
    let row = NewRow::for_stage(
        cycle,
        Stage::CsTriage,
        RowStatus::Held,
        "2026-11-24T09:00:00Z".parse().expect("time"),
        RowBody::CsEvaluation(CsEvaluationRow {
            thread_id: "T-9001".into(),
            draft_version: Some("v4".into()),
            amount: None,
            language: Some("en".into()),
            category: Some("shipping".into()),
            verdict: "HOLD_TONE".into(),
            reason: "brand_voice below the floor".into(),
            r#move: Some(otto_core::Move::CsReply {
                thread_id: "T-9001".into(),
                draft_version: "v4".into(),
            }),
            figures: BTreeMap::new(),
            hold_reason: None,
            result: None,
        }),
    );
    let r = store.append(vec![row], None).await.expect("append")[0]
        .row_ref
        .to_string();
    let d = dir.path().to_str().expect("utf8");
    let list = stdout(&otto(&["holds", "list", "--data", d]));
    assert!(list.contains("draft v4 by Jane"), "{list}");
    assert!(
        list.contains("    | Hi Jane,\n    | your order shipped today — tracking is attached."),
        "{list}"
    );
    let show = stdout(&otto(&["rows", "show", &r, "--data", d]));
    assert!(show.contains("    | your order shipped today"), "{show}");
    let json = otto(&["rows", "show", &r, "--json", "--data", d]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("json");
    assert_eq!(v["reply_preview"]["state"], "draft");
    assert_eq!(v["reply_preview"]["body"], body);
    // Edited since it was judged: a release would send nothing, and the list says so.
    let mut edited = inbox;
    edited.threads[0].draft.as_mut().expect("draft").version = "v5".into();
    std::fs::write(
        dir.path().join("demo-inbox.json"),
        serde_json::to_string(&edited).expect("json"),
    )
    .expect("write inbox");
    let list = stdout(&otto(&["holds", "list", "--data", d]));
    assert!(list.contains("a release sends nothing"), "{list}");
    assert!(!list.contains("your order shipped"), "{list}");
}
