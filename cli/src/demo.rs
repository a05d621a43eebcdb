//! `otto demo`: a synthetic store behind a simulated Shopify + Google Ads, then the morning cycle
//! for the last three store days (so a SKU's history builds up: two cycles without lift make
//! OPTIMIZE_CYCLE_FAILED), then a cited summary. Re-running it is idempotent: finished cycles are
//! not run again.

use crate::cli::CliResult;
use crate::cycle::{registry, run_cycle, sim_vendor_path};
use crate::render;
use otto_connectors::simulated::{SimSpec, SimulatedVendor};
use otto_core::cycle::CycleKind;
use otto_core::money::Currency;
use otto_engine::morning::Vendors;
use otto_runtime::Config;
use otto_store::Ports;
use std::sync::Arc;

pub struct DemoArgs {
    pub variants: usize,
    pub days: u32,
    pub seed: u64,
    pub apply: bool,
    /// Morning cycles to run, ending today.
    pub cycles: u32,
}

pub async fn run(ports: &Ports, cfg: &Config, args: DemoArgs, json: bool) -> CliResult {
    let DemoArgs {
        variants,
        days,
        seed,
        apply,
        cycles,
    } = args;
    let demo_days = i64::from(cycles);
    let today = cfg.clock.day_of(otto_core::clock::now());
    let path = sim_vendor_path(cfg)
        .ok_or("the demo's simulated shop needs a path: set OTTO_SIM_VENDOR")?;
    let spec = SimSpec {
        variants,
        // History for the first demo cycle's 28-day window, too.
        days: days + cycles,
        last_day: today.plus_days(-1),
        seed,
        currency: Currency::EUR,
    };
    // Keep the shop (and what Otto already did to it) when the spec is unchanged.
    let sim = match SimulatedVendor::open(&path)? {
        Some(s) if s.spec() == spec => s,
        _ => SimulatedVendor::create(&path, spec)?,
    };
    let sim = Arc::new(sim);
    let vendors = Vendors {
        shop: sim.clone(),
        ads: sim,
    };
    let reg = registry(CycleKind::Morning, vendors.clone())?;
    let research = registry(CycleKind::Research, vendors.clone())?;
    let discount = registry(CycleKind::Discount, vendors)?;
    let mut runs = Vec::new();
    for back in (0..demo_days).rev() {
        let day = today.plus_days(-back);
        let phase2 = apply && back == 0;
        let run = run_cycle(
            ports,
            cfg,
            &reg,
            CycleKind::Morning,
            &cfg.store_id,
            day,
            Some(phase2),
        )
        .await?;
        runs.push(run);
    }
    // Today's research cycle (11:00): discovery lanes → scores → the review queue.
    let run = run_cycle(
        ports,
        cfg,
        &research,
        CycleKind::Research,
        &cfg.store_id,
        today,
        None,
    )
    .await?;
    runs.push(run);
    // Then today's discount cycle (16:00): restores windows past their TTL, opens the morning's
    // discount tests.
    let run = run_cycle(
        ports,
        cfg,
        &discount,
        CycleKind::Discount,
        &cfg.store_id,
        today,
        Some(apply),
    )
    .await?;
    runs.push(run);
    // Customer service: a synthetic inbox next to the data, triaged.
    let inbox_path = path.with_file_name("demo-inbox.json");
    std::fs::write(
        &inbox_path,
        serde_json::to_string_pretty(&otto_connectors::helpdesk::demo_inbox())?,
    )?;
    let helpdesk = std::sync::Arc::new(otto_connectors::helpdesk::JsonInbox { path: inbox_path });
    let (cs_run, cs) = crate::cycle::run_cs(ports, cfg, helpdesk, apply).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "store": cfg.store_id.to_string(), "cycles": runs, "cs": cs })
            )?
        );
        return Ok(());
    }
    println!("otto demo — synthetic store {:?}: {variants} variants, seed {seed}, simulated Shopify + Google Ads", cfg.store_id.as_str());
    for run in &runs {
        print!("{}", render::cycle_summary(run));
    }
    print!("{}", render::cs_summary(&cs_run, &cs));
    println!("Read any row: otto rows show <ref>   ·   held rows: otto holds list   ·   export: otto export --dir out/");
    Ok(())
}
