//! `otto cycle run`: a cycle in this process, through the same scheduler and stage handlers the
//! Lambdas run, with the stage queue drained in-process.

use crate::cli::CliResult;
use crate::render;
use otto_connectors::simulated::SimulatedVendor;
use otto_core::audit::AuditTable;
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::report::CsTriageReport;
use otto_core::{StoreDay, StoreId};
use otto_engine::cycles::{open_cycle, OpenOutcome, ScheduledInput};
use otto_engine::local::drain;
use otto_engine::morning::{morning_registry, Vendors};
use otto_engine::StageRegistry;
use otto_runtime::{Backend, Config};
use otto_store::Ports;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the simulated vendor keeps its state: `$OTTO_SIM_VENDOR`, else `<data dir>/simulated-vendor.json`.
pub fn sim_vendor_path(cfg: &Config) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("OTTO_SIM_VENDOR") {
        return Some(PathBuf::from(p));
    }
    match &cfg.backend {
        Backend::Embedded { dir } => Some(dir.join("simulated-vendor.json")),
        Backend::Aws(_) => None,
    }
}

/// The vendors of this store: from the environment, else the simulated one `otto demo` created.
pub fn vendors(cfg: &Config) -> Result<Vendors, Box<dyn std::error::Error + Send + Sync>> {
    // Real clients (SHOPIFY_*, GOOGLE_ADS_*) or $OTTO_SIM_VENDOR first, as the Lambdas do.
    if let Some((shop, ads)) =
        otto_connectors::env::vendors_from_lookup(|k| std::env::var(k).ok(), cfg.clock)?
    {
        return Ok(Vendors { shop, ads });
    }
    let path = sim_vendor_path(cfg);
    match path.as_deref().map(SimulatedVendor::open).transpose()?.flatten() {
        Some(sim) => {
            let sim = Arc::new(sim);
            Ok(Vendors { shop: sim.clone(), ads: sim })
        }
        None => Err(format!(
            "no vendor is configured for this store: run `otto demo` first (it creates the simulated shop at {}), or set OTTO_SIM_VENDOR",
            path.map(|p| p.display().to_string()).unwrap_or_else(|| "$OTTO_SIM_VENDOR".into())
        )
        .into()),
    }
}

pub fn registry(kind: CycleKind, v: Vendors) -> Result<StageRegistry, String> {
    match kind {
        CycleKind::Morning => Ok(morning_registry(v)),
        CycleKind::Discount => Ok(otto_engine::discount::with_discount(
            StageRegistry::new(),
            v,
        )),
        CycleKind::Research => Ok(otto_engine::research::with_research(
            StageRegistry::new(),
            research_sources(),
        )),
        CycleKind::Cs => Err("the cs cycle needs a helpdesk: use `otto cs run`".into()),
        CycleKind::Operator => {
            Err("operator is not a cycle that runs: it files operator actions".into())
        }
    }
}

/// Research lanes for in-process runs: the seeded simulated lanes (the real clients are used by
/// the Lambdas when their credentials are configured). `OTTO_LANE_DOWN=<lane>` makes one lane
/// fail, to see the cycle go on without it.
pub fn research_sources() -> otto_engine::research::ResearchSources {
    use otto_connectors::lanes::simulated::{SimulatedLane, SimulatedOffers, SimulatedVolumes};
    let down = std::env::var("OTTO_LANE_DOWN").ok();
    otto_engine::research::ResearchSources {
        lanes: SimulatedLane::all(7, down.as_deref())
            .into_iter()
            .map(|l| Arc::new(l) as Arc<dyn otto_connectors::lanes::DiscoveryLane>)
            .collect(),
        volumes: Arc::new(SimulatedVolumes { seed: 7 }),
        offers: Arc::new(SimulatedOffers { seed: 7 }),
        supplier_rules: Default::default(),
    }
}

/// Runs one cycle for `day` to its end; returns the cycle run row as JSON.
pub async fn run_cycle(
    ports: &Ports,
    cfg: &Config,
    registry: &StageRegistry,
    kind: CycleKind,
    store: &StoreId,
    day: StoreDay,
    apply: Option<bool>,
) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
    // AWS requests of the whole cycle counted under its name (the stages under theirs).
    otto_store::aws::labelled(kind.as_str(), async {
        // Interval cycles (CS) run now, in the current slot; the daily ones at their local time.
        let scheduled_time = match kind.scheduled_at() {
            Some((h, m)) => cfg.clock.at_local(day, h, m)?,
            None => otto_core::clock::now(),
        };
        let input = ScheduledInput {
            cycle: kind,
            store: store.clone(),
            scheduled_time,
            apply,
        };
        let out = open_cycle(ports, &cfg.clock, &input, otto_core::clock::now()).await?;
        let cycle_id = match &out {
            OpenOutcome::Opened { cycle_id, .. } | OpenOutcome::AlreadyDone { cycle_id, .. } => {
                CycleId::parse(cycle_id)?
            }
        };
        if let OpenOutcome::Opened { .. } = out {
            let drained = tokio::select! {
                r = drain(ports, registry, cfg.clock, kind, otto_core::clock::now, 1_000) => r?,
                _ = tokio::signal::ctrl_c() => {
                    let gave_back = give_back_lock(ports, kind, store, &cycle_id).await?;
                    return Err(format!(
                        "interrupted (Ctrl-C): {cycle_id} stopped{}; run the same command again to resume it",
                        if gave_back { " and its store_lock was given back" } else { "" }
                    )
                    .into());
                }
            };
            if !drained.retry_later.is_empty() {
                return Err(format!(
                    "stages left for retry: {}",
                    distinct(&drained.retry_later)
                )
                .into());
            }
        }
        let run = ports
            .audit
            .get_by_natural_key(AuditTable::CycleRuns, &cycle_id.to_string())
            .await?
            .ok_or("the cycle run row is missing")?;
        Ok(run.to_json())
    })
    .await
}

/// The lock a run held, given back (only if this cycle still holds it), so the next command does
/// not wait for the lease to lapse.
async fn give_back_lock(
    ports: &Ports,
    kind: CycleKind,
    store: &StoreId,
    cycle_id: &CycleId,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    let name = kind.lock_name(store);
    match ports.locks.current(&name).await? {
        Some(lease) if lease.owner == cycle_id.to_string() => {
            Ok(ports.locks.release(&lease).await?)
        }
        _ => Ok(false),
    }
}

/// Each distinct message once, with how often it repeated.
fn distinct(messages: &[String]) -> String {
    let mut seen: Vec<(&str, usize)> = Vec::new();
    for m in messages {
        match seen.iter_mut().find(|(s, _)| *s == m.as_str()) {
            Some((_, n)) => *n += 1,
            None => seen.push((m, 1)),
        }
    }
    seen.iter()
        .map(|(m, n)| {
            if *n > 1 {
                format!("{m} (×{n})")
            } else {
                m.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn run(
    ports: &Ports,
    cfg: &Config,
    kind: CycleKind,
    date: Option<String>,
    apply: bool,
    json: bool,
) -> CliResult {
    let today = cfg.clock.day_of(otto_core::clock::now());
    let day = match date {
        Some(d) => cycle_day(&d, today)?,
        None => today,
    };
    let registry = registry(kind, vendors(cfg)?)?;
    let run = run_cycle(
        ports,
        cfg,
        &registry,
        kind,
        &cfg.store_id,
        day,
        apply.then_some(true),
    )
    .await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&run)?);
    } else {
        print!("{}", render::cycle_summary(&run));
    }
    let status = run["status"].as_str().unwrap_or("");
    if status == "FAILED" {
        return Err(format!(
            "{} FAILED: {}",
            run["ref"].as_str().unwrap_or(""),
            run["body"]["error"].as_str().unwrap_or("")
        )
        .into());
    }
    Ok(())
}

/// How far back a missed cycle may still be run (a day's cycle reads the 28 days before it).
const MAX_DAYS_BACK: i64 = 28;

/// The day of `cycle run --date D`: today or a missed day of the last four weeks. A future day or
/// one before that would write permanent rows for a day that has not happened or that Otto cannot
/// see; a simulated day is run by setting the process's clock (`OTTO_NOW`).
fn cycle_day(d: &str, today: StoreDay) -> Result<StoreDay, String> {
    let day = StoreDay::parse(d).map_err(|e| e.to_string())?;
    if day > today {
        return Err(format!(
            "--date {day} is after today ({today}, store time); to run a simulated day set OTTO_NOW (e.g. OTTO_NOW={day}T06:00:00Z)"
        ));
    }
    if today.days_since(day) > MAX_DAYS_BACK {
        return Err(format!(
            "--date {day} is more than {MAX_DAYS_BACK} days before today ({today}); only missed cycles of the last {MAX_DAYS_BACK} days can run — to replay history set OTTO_NOW"
        ));
    }
    Ok(day)
}

/// One CS triage run (the `cs_triage` stage, through the same cycle machinery the schedule uses):
/// returns the cycle run row and the triage report of its stage run.
pub async fn run_cs(
    ports: &Ports,
    cfg: &Config,
    helpdesk: Arc<dyn otto_connectors::helpdesk::Helpdesk>,
    apply: bool,
) -> Result<(Value, CsTriageReport), Box<dyn std::error::Error + Send + Sync>> {
    let voice = otto_connectors::env::voice_from_lookup(|k| std::env::var(k).ok())?;
    let registry = otto_engine::cs::with_cs(StageRegistry::new(), helpdesk, Arc::from(voice));
    let now = otto_core::clock::now();
    let run = run_cycle(
        ports,
        cfg,
        &registry,
        CycleKind::Cs,
        &cfg.store_id,
        cfg.clock.day_of(now),
        Some(apply),
    )
    .await?;
    if run["status"].as_str() == Some("FAILED") {
        return Err(format!(
            "{} FAILED: {}",
            run["ref"].as_str().unwrap_or(""),
            run["body"]["error"].as_str().unwrap_or("")
        )
        .into());
    }
    let cycle_id = run["cycle_id"].as_str().unwrap_or_default();
    let stage = ports
        .audit
        .get_by_natural_key(AuditTable::StageRuns, &format!("{cycle_id}|cs_triage|0"))
        .await?
        .ok_or("the cs_triage stage run row is missing")?;
    let report = match stage.body {
        otto_core::audit::RowBody::StageRun(s) => s.into_report::<CsTriageReport>(),
        _ => None,
    }
    .ok_or("the cs_triage stage run row has no triage report")?;
    Ok((run, report))
}

/// The executors a release can drive here: the configured (or simulated) shop and ad account,
/// and the helpdesk (`OTTO_HELPDESK`, or the demo's inbox next to the embedded data).
pub fn executors(
    cfg: &Config,
) -> Result<otto_engine::holds::Executors, Box<dyn std::error::Error + Send + Sync>> {
    let mut exec = otto_engine::holds::Executors::default();
    if let Ok(v) = vendors(cfg) {
        exec.shop = Some(v.shop);
        exec.ads = Some(v.ads);
    }
    exec.helpdesk = match otto_connectors::env::helpdesk_from_lookup(|k| std::env::var(k).ok())? {
        Some(h) => Some(Arc::from(h)),
        None => match &cfg.backend {
            otto_runtime::Backend::Embedded { dir } if dir.join("demo-inbox.json").exists() => {
                Some(Arc::new(otto_connectors::helpdesk::JsonInbox {
                    path: dir.join("demo-inbox.json"),
                }))
            }
            _ => None,
        },
    };
    Ok(exec)
}

#[cfg(test)]
mod tests {
    #[test]
    fn repeated_errors_are_said_once_with_a_count() {
        let msgs: Vec<String> = std::iter::repeat_n("decide: fence is stale".to_string(), 40)
            .chain(["open: vendor down".to_string()])
            .collect();
        assert_eq!(
            super::distinct(&msgs),
            "decide: fence is stale (×40); open: vendor down"
        );
    }

    #[test]
    fn a_cycle_day_is_today_or_a_missed_day() {
        let today = otto_core::StoreDay::parse("2026-11-24").unwrap();
        assert_eq!(super::cycle_day("2026-11-24", today).unwrap(), today);
        assert!(super::cycle_day("2026-11-01", today).is_ok());
        let future = super::cycle_day("2026-11-25", today).unwrap_err();
        assert!(
            future.contains("after today") && future.contains("OTTO_NOW"),
            "{future}"
        );
        let old = super::cycle_day("1999-01-01", today).unwrap_err();
        assert!(old.contains("more than 28 days"), "{old}");
        assert!(super::cycle_day("24/11/2026", today).is_err());
    }
}
