//! `otto rows revert`, `otto cycle apply`, `otto policy show|set`: the operator's undo, review
//! then apply, and policy — each one call of the use-case the API, dashboard and Slack share.

use crate::cli::CliResult;
use crate::cycle;
use otto_core::audit::{RowRef, Surface};
use otto_core::cycle::CycleId;
use otto_engine::review::ApplyReport;
use otto_engine::undo::Actor;
use otto_runtime::Config;
use otto_store::Ports;

fn actor(by: String) -> Actor {
    Actor {
        by,
        surface: Surface::Cli,
    }
}

/// `otto rows revert <ref>`.
pub async fn revert(
    ports: &Ports,
    cfg: &Config,
    row_ref: &str,
    by: String,
    json: bool,
) -> CliResult {
    let r = RowRef::parse(row_ref)?;
    let exec = cycle::executors(cfg)?;
    let now = otto_core::clock::now();
    let out = otto_engine::undo::revert(
        ports,
        &exec,
        &cfg.store_id,
        r,
        &actor(by),
        otto_engine::executor::At::new(now, cfg.clock),
    )
    .await
    .map_err(|e| format!("cannot undo {r}: {e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "{r} undone by {} → {}: {}",
            out.row.row_ref, out.row.status, out.outcome
        );
    }
    Ok(())
}

/// `otto cycle apply <cycle_id>`.
pub async fn apply(
    ports: &Ports,
    cfg: &Config,
    cycle_id: &str,
    by: String,
    json: bool,
) -> CliResult {
    let cycle = CycleId::parse(cycle_id)?;
    let exec = cycle::executors(cfg)?;
    let now = otto_core::clock::now();
    let report = otto_engine::review::apply_cycle(
        ports,
        &exec,
        &cfg.store_id,
        &cycle,
        &actor(by),
        otto_engine::executor::At::new(now, cfg.clock),
    )
    .await
    .map_err(|e| format!("cannot apply {cycle}: {e}"))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report_text(&report));
    }
    Ok(())
}

/// The apply report for a terminal: counts, then each row that did not apply and why.
pub fn report_text(r: &ApplyReport) -> String {
    let mut out = format!(
        "{}: {} applied, {} held, {} refused, {} waiting, {} left as they were\n",
        r.cycle,
        r.applied.len(),
        r.held.len(),
        r.refused.len(),
        r.waiting.len(),
        r.untouched
    );
    for (what, rows) in [
        ("held", &r.held),
        ("refused", &r.refused),
        ("waiting", &r.waiting),
    ] {
        for o in rows.iter() {
            out.push_str(&format!(
                "  {what} {} {} {}: {}\n",
                o.row_ref, o.action, o.subject, o.outcome
            ));
        }
    }
    out
}

/// `otto policy show`.
pub async fn policy_show(ports: &Ports, cfg: &Config, json: bool) -> CliResult {
    let limits = otto_store::policy_settings::show(ports.settings.as_ref(), &cfg.store_id).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&limits)?);
        return Ok(());
    }
    let width = limits.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for l in &limits {
        let note = if l.value == l.default {
            "(default)".to_string()
        } else {
            format!("(default {})", l.default_shown)
        };
        println!("{:width$}  {}  {note}", l.name, l.shown);
    }
    Ok(())
}

/// `otto policy set <name> <value>`.
pub async fn policy_set(
    ports: &Ports,
    cfg: &Config,
    name: String,
    value: String,
    by: String,
    json: bool,
) -> CliResult {
    let now = otto_core::clock::now();
    let change = otto_store::policy_settings::Change {
        name,
        value,
        by,
        surface: Surface::Cli,
    };
    let out = otto_store::policy_settings::set(
        ports.audit.as_ref(),
        ports.settings.as_ref(),
        &cfg.store_id,
        cfg.clock.day_of(now),
        change,
        now,
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        match out.row {
            Some(r) => println!(
                "{}: {} → {} ({r})",
                out.limit.name,
                otto_store::policy_settings::shown(&out.limit.name, &out.old),
                out.limit.shown
            ),
            None => println!(
                "{} is {} already: nothing changed",
                out.limit.name, out.limit.shown
            ),
        }
    }
    Ok(())
}
