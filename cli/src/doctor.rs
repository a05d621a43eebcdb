//! `otto doctor`: the read-only vendor checks of `otto_connectors::doctor`, printed one line per
//! problem with its fix (or as JSON with `--json`); exits non-zero when any is a blocker.
//! Secrets named by `*_PARAM` are read from SSM as a function's cold start would.

use crate::cli::CliResult;
use otto_runtime::Config;

pub async fn run(cfg: &Config, json: bool) -> CliResult {
    let resolved = otto_runtime::secrets::resolve_env().await?;
    let today = cfg.clock.day_of(otto_core::clock::now()).date();
    let report = otto_connectors::doctor::run(|k| resolved.get(k), cfg.clock, today).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for line in report.lines() {
            println!("{line}");
        }
        let checked = report.findings.len();
        println!(
            "doctor: {checked} checks, {} blockers, {} warnings",
            report.blockers(),
            report.warnings()
        );
    }
    if report.blockers() > 0 {
        return Err(format!("doctor: {} blockers (fix them first)", report.blockers()).into());
    }
    Ok(())
}
