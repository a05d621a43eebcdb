//! End to end: `otto demo` builds a store, `otto serve` serves it, questions go over HTTP to
//! `/chat`, and every cited ref resolves through `/rows` — the product's contract, as a client
//! sees it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn otto(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_otto"));
    c.arg("--data")
        .arg(data)
        .env_remove("OTTO_STORE")
        .env("OTTO_STORE_ID", "demo-store");
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_serve_chat_and_every_citation_resolves() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = otto(dir.path())
        .args(["demo", "--variants", "60", "--days", "28"])
        .output()
        .expect("run otto demo");
    assert!(
        out.status.success(),
        "demo: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut child = otto(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("OTTO_OPERATOR_TOKEN", "e2e-token-3f9a1c7e5b2d8a4f6c0e9b1d")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn otto serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("first line");
    // Keep reading the rest, so the server never writes into a closed pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while reader.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();

    let http = reqwest::Client::new();
    let unauth = http
        .post(format!("{base}/chat"))
        .json(&serde_json::json!({"question": "how did this morning go?"}))
        .send()
        .await
        .expect("post");
    assert_eq!(unauth.status(), 401);

    let mut cited = 0;
    for q in [
        "how did this morning go?",
        "what's escalated in CS today?",
        "what's held?",
        "what research candidates are queued?",
        "how did the discount cycle go today?",
        "show me cycle_runs#1",
    ] {
        let res = http
            .post(format!("{base}/chat"))
            .bearer_auth("e2e-token-3f9a1c7e5b2d8a4f6c0e9b1d")
            .json(&serde_json::json!({"question": q}))
            .send()
            .await
            .expect("chat");
        assert_eq!(res.status(), 200, "{q}");
        let a: serde_json::Value = res.json().await.expect("json");
        assert_eq!(a["grounded"], true, "{q}: {a}");
        for c in a["citations"].as_array().expect("citations") {
            let url = c["url"].as_str().expect("url");
            let row: serde_json::Value = http
                .get(format!("{base}{url}"))
                .bearer_auth("e2e-token-3f9a1c7e5b2d8a4f6c0e9b1d")
                .send()
                .await
                .expect("row")
                .error_for_status()
                .unwrap_or_else(|e| panic!("{q}: {url}: {e}"))
                .json()
                .await
                .expect("row json");
            assert_eq!(row["ref"], c["ref"], "{q}: {url}");
            cited += 1;
        }
    }
    assert!(cited >= 8, "the demo's answers cite rows ({cited})");
    let none: serde_json::Value = http
        .post(format!("{base}/chat"))
        .bearer_auth("e2e-token-3f9a1c7e5b2d8a4f6c0e9b1d")
        .json(&serde_json::json!({"question": "what is our revenue next year?"}))
        .send()
        .await
        .expect("chat")
        .json()
        .await
        .expect("json");
    let refusal = none["answer"].as_str().unwrap_or_default();
    assert!(
        refusal.starts_with("I don't have a row for that."),
        "{refusal}"
    );
    drop(server);
}
