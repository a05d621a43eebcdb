//! Replays the fuzz corpus on stable, without libFuzzer: every file of `fuzz/corpus/<target>/`
//! and `fuzz/seeds/<target>/` goes through the same body the fuzz target runs, so a panic (or a
//! broken property) that a corpus input once exercised fails CI.
//!
//! The bodies are `fuzz/src/bodies.rs`, included here as a module: the fuzz crate is its own
//! workspace (nightly, `libfuzzer-sys`), so depending on it would pull libFuzzer in and make it a
//! member of two workspaces; including the one source file keeps a single copy of each body.
//! Run the fuzzers themselves with `cargo +nightly fuzz run <target>` in `fuzz/` (fuzz/README.md).

#[path = "../../fuzz/src/bodies.rs"]
mod bodies;

use std::path::PathBuf;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files_in(sub: &str, target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join(sub).join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// Runs `body` on every file; the names of the inputs that panicked.
fn panicking(files: &[PathBuf], body: fn(&[u8])) -> Vec<String> {
    let mut failed = Vec::new();
    for f in files {
        let data = std::fs::read(f).expect("corpus file");
        if std::panic::catch_unwind(|| body(&data)).is_err() {
            failed.push(f.display().to_string());
        }
    }
    failed
}

fn replay(target: &str, body: fn(&[u8])) {
    let mut files = files_in("corpus", target);
    files.extend(files_in("seeds", target));
    assert!(
        !files.is_empty(),
        "no corpus for {target} under {}",
        fuzz_dir().display()
    );
    let failed = panicking(&files, body);
    assert!(
        failed.is_empty(),
        "{target}: {} of {} inputs panicked:\n{}",
        failed.len(),
        files.len(),
        failed.join("\n")
    );
}

#[test]
fn slack_request_corpus() {
    replay("slack_request", bodies::slack_request);
}

#[test]
fn lambda_events_corpus() {
    replay("lambda_events", bodies::lambda_events);
}

#[test]
fn vendor_json_corpus() {
    replay("vendor_json", bodies::vendor_json);
    let _ = std::fs::remove_dir_all(bodies::scratch_dir());
}

#[test]
fn vendor_responses_corpus() {
    replay("vendor_responses", bodies::vendor_responses);
}

#[test]
fn question_corpus() {
    replay("question", bodies::question);
}

/// Regression for the `vendor_json` finding (fuzz/artifacts-found/vendor_json/, fuzz/README.md):
/// `Money::rounded()` multiplied the rounded minor units back up to micros and overflowed for an
/// amount within half a minor unit of i64::MAX, so `Display` and the overflow error message of
/// `checked_add` panicked (with overflow checks) or showed a wrapped negative amount (without).
/// Fixed in ecdc536 (the multiplication saturates).
#[test]
fn money_near_i64_max_displays_and_reports_overflow() {
    use otto_core::money::{Currency, Money};
    let dir = fuzz_dir().join("artifacts-found/vendor_json");
    let input = std::fs::read_to_string(dir.join("crash-7b7a28bed1432a74db033311232f475a8e07d527"))
        .expect("artifact");
    let m = Money::parse(input.trim(), Currency::EUR).expect("a valid vendor amount");
    assert_eq!(m.micros(), 9_223_372_036_854_775_000);
    assert!(m.to_string().starts_with('€'), "{m}");
    assert!(m.checked_add(&m).is_err());
    bodies::vendor_json(input.as_bytes());
    let _ = std::fs::remove_dir_all(bodies::scratch_dir());
}
