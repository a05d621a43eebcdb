//! `otto simulate`: a closed-loop shop (`otto-sim`) run day by day under three policies on the
//! same seed and the same hidden truth — Otto (the real morning 06:00, research 11:00 and
//! discount 16:00 cycles in Phase 2, on an embedded store in a temporary directory, with the
//! process clock moved to each cycle's store-local time), do-nothing, and the naive ad rules —
//! then the contribution profit of each and the invariants over Otto's audit rows.

use crate::cli::CliResult;
use crate::cycle::{registry, run_cycle};
use crate::sim_report::{self, PolicyReport, RunReport};
use otto_core::cycle::CycleKind;
use otto_core::money::Currency;
use otto_core::StoreDay;
use otto_engine::morning::Vendors;
use otto_engine::StageRegistry;
use otto_runtime::Config;
use otto_sim::invariants::{check, InvariantRules, ShopFacts};
use otto_sim::naive::Naive;
use otto_sim::{ShopSpec, SimShop};
use otto_store::Ports;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

type Error = Box<dyn std::error::Error + Send + Sync>;

pub struct SimulateArgs {
    pub days: u32,
    pub variants: usize,
    pub seed: u64,
    pub start: String,
    pub warmup: u32,
    pub merchant_edits: bool,
    /// Keep Otto's embedded store here (read it with `otto --data DIR rows show …`).
    pub keep_store: Option<std::path::PathBuf>,
}

/// The policies compared, in the order they run and are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    DoNothing,
    NaiveRules,
    Otto,
}

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::DoNothing, Policy::NaiveRules, Policy::Otto];
    pub fn key(&self) -> &'static str {
        match self {
            Policy::DoNothing => "do_nothing",
            Policy::NaiveRules => "naive_rules",
            Policy::Otto => "otto",
        }
    }
}

/// The cycles of a simulated day, at their scheduled store-local times.
const CYCLES: [CycleKind; 3] = [CycleKind::Morning, CycleKind::Research, CycleKind::Discount];

pub async fn run(cfg: &Config, args: SimulateArgs, json: bool) -> CliResult {
    let start = StoreDay::parse(&args.start).map_err(|e| format!("--start: {e}"))?;
    let spec = ShopSpec {
        variants: args.variants,
        seed: args.seed,
        currency: Currency::EUR,
        start,
        warmup_days: args.warmup,
        clock: cfg.clock,
        merchant_edits: args.merchant_edits,
    };
    let mut policies = Vec::new();
    for p in Policy::ALL {
        policies.push(run_policy(cfg, p, &spec, args.days, args.keep_store.as_deref()).await?);
    }
    let report = RunReport {
        seed: args.seed,
        variants: args.variants,
        days: args.days,
        start,
        warmup_days: args.warmup,
        time_zone: cfg.clock.tz_name().to_string(),
        policies,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report.to_json())?);
    } else {
        print!("{}", sim_report::table(&report));
    }
    Ok(())
}

/// Otto's side of a run: an embedded store of its own and the three cycles' registries.
struct OttoRun {
    _dir: Option<tempfile::TempDir>,
    cfg: Config,
    ports: Ports,
    registries: Vec<(CycleKind, StageRegistry)>,
    failures: Vec<String>,
}

impl OttoRun {
    async fn new(
        cfg: &Config,
        shop: Arc<SimShop>,
        seed: u64,
        keep: Option<&std::path::Path>,
    ) -> Result<OttoRun, Error> {
        let (dir, data) = match keep {
            Some(p) => {
                if p.exists() && std::fs::read_dir(p)?.next().is_some() {
                    return Err(format!(
                        "--keep-store {}: the directory is not empty",
                        p.display()
                    )
                    .into());
                }
                (None, p.to_string_lossy().to_string())
            }
            None => {
                let d = scratch_dir()?;
                let path = d.path().to_string_lossy().to_string();
                (Some(d), path)
            }
        };
        let tz = cfg.clock.tz_name().to_string();
        let cfg = Config::from_lookup(|k| match k {
            "OTTO_STORE" => Some("embedded".into()),
            "OTTO_DATA_DIR" => Some(data.clone()),
            "OTTO_STORE_ID" => Some(format!("sim-{seed}")),
            "OTTO_STORE_TZ" => Some(tz.clone()),
            _ => None,
        })?;
        let ports = otto_runtime::build_ports(&cfg).await?;
        let vendors = Vendors {
            shop: shop.clone(),
            ads: shop,
        };
        let mut registries = Vec::new();
        for kind in CYCLES {
            registries.push((kind, registry(kind, vendors.clone())?));
        }
        Ok(OttoRun {
            _dir: dir,
            cfg,
            ports,
            registries,
            failures: vec![],
        })
    }

    async fn cycle(&mut self, kind: CycleKind, day: StoreDay) -> Result<(), Error> {
        let Some((_, reg)) = self.registries.iter().find(|(k, _)| *k == kind) else {
            return Ok(());
        };
        let run = run_cycle(
            &self.ports,
            &self.cfg,
            reg,
            kind,
            &self.cfg.store_id,
            day,
            Some(true),
        )
        .await;
        let failed = match run {
            Ok(row) if row["status"].as_str() == Some("FAILED") => Some(format!(
                "{}: {}",
                row["ref"].as_str().unwrap_or(""),
                row["body"]["error"].as_str().unwrap_or("")
            )),
            Ok(_) => None,
            Err(e) => Some(format!("{kind} {day}: {e}")),
        };
        if let Some(f) = failed {
            eprintln!("otto simulate: {kind} cycle of {day} failed: {f}");
            self.failures.push(f);
        }
        Ok(())
    }
}

/// A throwaway directory for Otto's store: memory-backed `/dev/shm` where there is one (the
/// embedded store syncs every commit to disk, which a run that is thrown away does not need and
/// which would otherwise dominate its wall time), else the system's temporary directory.
fn scratch_dir() -> std::io::Result<tempfile::TempDir> {
    let shm = std::path::Path::new("/dev/shm");
    let b = tempfile::Builder::new().prefix("otto-simulate-").clone();
    if shm.is_dir() {
        if let Ok(d) = b.tempdir_in(shm) {
            return Ok(d);
        }
    }
    b.tempdir()
}

async fn run_policy(
    cfg: &Config,
    policy: Policy,
    spec: &ShopSpec,
    days: u32,
    keep: Option<&std::path::Path>,
) -> Result<PolicyReport, Error> {
    let began = Instant::now();
    let shop = Arc::new(SimShop::new(spec.clone()));
    let mut otto = match policy {
        Policy::Otto => Some(OttoRun::new(cfg, shop.clone(), spec.seed, keep).await?),
        _ => None,
    };
    let mut naive = Naive::default();
    let progress = std::io::stderr().is_terminal();
    for n in 0..i64::from(days) {
        let day = spec.start.plus_days(n);
        for kind in CYCLES {
            let (h, m) = kind.scheduled_at().unwrap_or((0, 0));
            shop.advance_to(day, h * 60 + m);
            let at = spec.clock.at_local(day, h, m)?;
            otto_core::clock::set(at);
            match (policy, kind, otto.as_mut()) {
                (Policy::Otto, _, Some(o)) => o.cycle(kind, day).await?,
                (Policy::NaiveRules, CycleKind::Morning, _) => naive.morning(&shop, day, at),
                (Policy::NaiveRules, CycleKind::Discount, _) => naive.afternoon(&shop, day, at),
                _ => {}
            }
        }
        shop.advance_to(day.plus_days(1), 0);
        if progress {
            eprintln!(
                "{}",
                sim_report::progress(policy, &shop, spec.start, day, n + 1, days)
            );
        }
    }
    let invariants = match &otto {
        Some(o) => {
            let product_of = shop
                .truth()
                .variants
                .iter()
                .map(|v| (v.sku.to_string(), v.product_id.clone()))
                .collect();
            let (writes, share) = (shop.writes(), shop.discount_share_by_day());
            let facts = ShopFacts {
                writes: &writes,
                discount_share_by_day: &share,
                product_of: &product_of,
            };
            Some(
                check(
                    o.ports.audit.as_ref(),
                    &o.cfg.store_id,
                    &facts,
                    &InvariantRules::default(),
                )
                .await?,
            )
        }
        None => None,
    };
    let audit_rows = match &otto {
        Some(o) => Some(sim_report::move_rows(o.ports.audit.as_ref(), &o.cfg.store_id).await?),
        None => None,
    };
    let loser_skus = match &otto {
        Some(o) => Some(sim_report::loser_skus(o.ports.audit.as_ref(), &o.cfg.store_id).await?),
        None => None,
    };
    Ok(PolicyReport::new(
        policy,
        &shop,
        spec.start,
        days,
        invariants,
        audit_rows,
        loser_skus,
        otto.map(|o| o.failures).unwrap_or_default(),
        began.elapsed(),
    ))
}
