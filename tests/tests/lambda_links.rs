//! The Lambda crates take `otto-store` with the AWS adapter only (`default-features = false,
//! features = ["aws"]`), so their binaries link no SQLite; the CLI keeps both stores. Read from
//! `cargo tree` (normal edges only: the Lambda crates' tests still run on the embedded store).

use std::process::Command;

/// `cargo tree -e normal -p <pkg> -i <dep>`: who pulls `dep` into `pkg`'s build (empty: nobody).
fn who_pulls(pkg: &str, dep: &str) -> String {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "--offline", "-e", "normal", "-p", pkg, "-i", dep])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn lambda_crates_link_no_sqlite() {
    for pkg in ["otto-api", "otto-scheduler", "otto-stage"] {
        let tree = who_pulls(pkg, "rusqlite");
        assert!(
            !tree.contains("rusqlite v"),
            "{pkg} (a Lambda) links SQLite through:\n{tree}"
        );
    }
}

/// The use-case crate knows no Lambda: the functions are thin adapters over it, and the CLI
/// and tests call it without a Lambda runtime in the graph.
#[test]
fn the_use_case_crate_links_no_lambda_runtime() {
    for dep in [
        "lambda_runtime",
        "aws_lambda_events",
        "lambda_http",
        "rusqlite",
    ] {
        let tree = who_pulls("otto-engine", dep);
        assert!(
            !tree.contains(&format!("{dep} v")),
            "otto-engine pulls {dep} through:\n{tree}"
        );
    }
}

/// The Lambda crate does link the runtime — so the check above can fail.
#[test]
fn a_lambda_crate_links_the_lambda_runtime() {
    let tree = who_pulls("otto-stage", "lambda_runtime");
    assert!(tree.contains("lambda_runtime v"), "{tree}");
}

/// The check above can fail: the CLI, which keeps the embedded store, does link it.
#[test]
fn the_cli_links_sqlite() {
    let tree = who_pulls("otto-cli", "rusqlite");
    assert!(tree.contains("rusqlite v"), "{tree}");
    assert!(tree.contains("otto-store"), "{tree}");
}
