use crate::{audit_io, candidates, cycle, demo, doctor, operator_acts, render, simulate};
use clap::{Args, Parser, Subcommand, ValueEnum};
use otto_core::audit::RowRef;
use otto_core::RowStatus;
use otto_runtime::{Backend, Config};
use otto_store::Ports;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "otto",
    version,
    about = "Otto: the operator's keyboard shortcut for the store's audit plane"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Data directory of the embedded store.
    #[arg(long, global = true, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Where the ports live: the embedded store (default) or DynamoDB/SQS (AWS env, AWS_ENDPOINT_URL).
    #[arg(long, global = true, value_enum)]
    pub store: Option<StoreKind>,
    /// Print data as JSON.
    #[arg(long, global = true)]
    pub json: bool,
    /// With --store dynamodb: count AWS requests by operation and print them to stderr at the end.
    #[arg(long, global = true)]
    pub count_aws_requests: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Embedded,
    Dynamodb,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Build a synthetic store in the embedded default and show what it holds.
    Demo {
        /// Number of variants.
        #[arg(long, default_value_t = 240, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        variants: u32,
        /// Days of performance history.
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(1..=365))]
        days: u32,
        /// Seed of the synthetic store (same seed, same store).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Apply today's moves to the simulated shop (Phase 2) instead of a dry run.
        #[arg(long)]
        apply: bool,
        /// Morning cycles to run, ending today (history builds up over them).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=30))]
        cycles: u32,
    },
    /// Simulate days of Phase 2 on a closed-loop shop (hidden shoppers and ad auctions, seeded)
    /// under three policies on the same seed — Otto's cycles, do-nothing, naive ad rules — and
    /// compare their contribution profit; invariants are checked over Otto's audit rows.
    Simulate {
        /// Simulated days (each runs the morning, research and discount cycles).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=730))]
        days: u32,
        /// Variants in the shop (products of 1–4 variants).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        variants: u32,
        /// Seed of the shop's hidden truth and noise (same seed, same shop).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First simulated day (YYYY-MM-DD, store time).
        #[arg(long, default_value = "2026-09-01")]
        start: String,
        /// Days of shop history before the first day (Otto's windows read 28).
        #[arg(long, default_value_t = 28, value_parser = clap::value_parser!(u32).range(28..=365))]
        warmup: u32,
        /// A seeded merchant also edits a few prices and budgets (genuine outside edits).
        #[arg(long)]
        merchant_edits: bool,
        /// Keep Otto's embedded store in this (empty or new) directory, to read its rows after
        /// the run with `otto --data DIR rows show <ref>`.
        #[arg(long, value_name = "DIR")]
        keep_store: Option<PathBuf>,
    },
    /// Ask Otto: `otto ask "how did this morning go?"` — answered only from audit rows, with
    /// their refs; "I don't have a row for that." when none supports an answer.
    Ask { question: String },
    /// Serve the HTTP API (the same router as the API Lambda) on this store: `/chat`, `/rows`,
    /// `/holds`, `/kill-switch`, `/candidates`, `/jobs/*`, `/slack/*`, `/dashboard`.
    Serve {
        /// Address to listen on (port 0 picks a free one; the line `listening on …` says which).
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
    },
    /// Run a cycle in this process (the same stages the Lambdas run).
    Cycle {
        #[command(subcommand)]
        command: CycleCommand,
    },
    /// Read audit rows.
    Rows {
        #[command(subcommand)]
        command: RowsCommand,
    },
    /// Customer-service triage: judge every open thread's draft and log the verdicts.
    Cs {
        #[command(subcommand)]
        command: CsCommand,
    },
    /// The research queue: list, approve, reject.
    Candidates {
        #[command(subcommand)]
        command: CandidatesCommand,
    },
    /// Held rows: list them, release one.
    Holds {
        #[command(subcommand)]
        command: HoldsCommand,
    },
    /// The policy's limits: `otto policy show`, `otto policy set discount_percent_bp 12.5%`.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Turn the kill switch on (moves become HELD rows) or off, or show it.
    KillSwitch {
        #[arg(value_parser = ["on", "off", "status"])]
        state: String,
        /// Why (kept with the switch).
        #[arg(long)]
        reason: Option<String>,
        /// Who flips it.
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
    /// Dead-lettered stage messages: `otto dead-letters sweep` ends their cycles visibly
    /// (FAILED rows, lock released), as the scheduled sweep does in AWS.
    DeadLetters {
        #[arg(value_parser = ["sweep"])]
        action: String,
    },
    /// Check every configured vendor with read-only calls (credentials, scopes, API versions,
    /// currencies, time zones, offer-id mapping): one line per problem with its fix; exits
    /// non-zero on a blocker.
    Doctor,
    /// Write the audit plane as NDJSON, one file per table.
    Export {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Read an export back (all or nothing; a malformed line names its file and line).
    Import {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum CycleCommand {
    /// `otto cycle run morning [--date 2026-11-24] [--apply]`
    Run {
        #[arg(value_parser = ["morning", "research", "discount", "cs"])]
        cycle: String,
        /// Store day (YYYY-MM-DD) in the store's time zone; today by default.
        #[arg(long)]
        date: Option<String>,
        /// Phase 2: apply the moves (default: the store's policy, dry-run unless set).
        #[arg(long)]
        apply: bool,
    },
    /// Apply a dry run's moves after review, the same store day: `otto cycle apply
    /// brevard:morning:2026-11-24` (each re-checked against the vendor's state now).
    Apply {
        cycle_id: String,
        /// Who applies it (kept on each row).
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Every limit with its value, its default and its unit.
    Show,
    /// Change one limit (an operator_log row records it, old → new).
    Set {
        name: String,
        value: String,
        /// Who changes it.
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum RowsCommand {
    /// Show one row: `otto rows show decision_log#84196`.
    Show { row_ref: String },
    /// Undo an applied move from its stored reversal op: `otto rows revert decision_log#84196`.
    Revert {
        row_ref: String,
        /// Who undoes it (kept on the undo row).
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CsCommand {
    /// `otto cs run [--inbox threads.json] [--apply]`
    Run {
        /// A JSON inbox (`{"threads": [...], "approved_replies": [...]}`); default: the demo's.
        #[arg(long)]
        inbox: Option<PathBuf>,
        /// Send the replies judged SEND (file inboxes only mark them ready).
        #[arg(long)]
        apply: bool,
    },
    /// The language policy: `otto cs languages` shows it; `allow nl` whitelists a language for
    /// sending, `deny nl` takes it off again (ISO 639-1 codes).
    Languages {
        #[arg(value_parser = ["show", "allow", "deny"], default_value = "show")]
        action: String,
        /// The ISO 639-1 code (two lower-case letters), for allow / deny.
        code: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum CandidatesCommand {
    /// Candidates waiting for review, best score first.
    List,
    /// Approve one: `otto candidates approve research_candidates#12`.
    Approve {
        row_ref: String,
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
    /// Reject one, optionally saying why.
    Reject {
        row_ref: String,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum HoldsCommand {
    /// Held rows in decision_log and ad_decision_log.
    List,
    /// Release a held row (the executor applies it after re-checking policy).
    Release {
        row_ref: String,
        /// Who releases it (kept on the row).
        #[arg(long, env = "USER", default_value = "operator")]
        by: String,
    },
}

pub type CliResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

/// Config from the environment, with the global flags on top.
pub fn config(g: &Global) -> Result<Config, Box<dyn std::error::Error + Send + Sync>> {
    let mut cfg = match g.store {
        Some(StoreKind::Dynamodb) => Config::from_lookup(|k| {
            if k == "OTTO_STORE" {
                Some("dynamodb".into())
            } else {
                std::env::var(k).ok()
            }
        })?,
        Some(StoreKind::Embedded) => Config::from_lookup(|k| {
            if k == "OTTO_STORE" {
                Some("embedded".into())
            } else {
                std::env::var(k).ok()
            }
        })?,
        None => Config::from_env()?,
    };
    if let Some(dir) = &g.data {
        match &mut cfg.backend {
            Backend::Embedded { dir: d } => *d = dir.clone(),
            Backend::Aws(_) => {
                return Err("--data applies to the embedded store, not --store dynamodb".into())
            }
        }
    }
    Ok(cfg)
}

pub async fn run(cli: Cli) -> CliResult {
    let cfg = config(&cli.global)?;
    // A simulation builds its own stores in a temporary directory: nothing of ./.otto is opened.
    if let Command::Simulate {
        days,
        variants,
        seed,
        start,
        warmup,
        merchant_edits,
        keep_store,
    } = cli.command
    {
        let args = simulate::SimulateArgs {
            days,
            variants: variants as usize,
            seed,
            start,
            warmup,
            merchant_edits,
            keep_store,
        };
        return simulate::run(&cfg, args, cli.global.json).await;
    }
    let counter = cli
        .global
        .count_aws_requests
        .then(otto_store::aws::RequestCounter::default);
    let ports = otto_runtime::build_ports_counted(&cfg, counter.clone()).await?;
    let out = dispatch(cli, &cfg, &ports).await;
    if let Some(c) = counter {
        eprintln!(
            "{}",
            serde_json::json!({"aws_requests": c.total(), "by_operation": c.snapshot(), "by_stage": c.by_label()})
        );
    }
    out
}

async fn dispatch(cli: Cli, cfg: &Config, ports: &Ports) -> CliResult {
    let (cfg, ports) = (cfg.clone(), ports.clone());
    let json = cli.global.json;
    match cli.command {
        Command::Demo {
            variants,
            days,
            seed,
            apply,
            cycles,
        } => {
            demo::run(
                &ports,
                &cfg,
                demo::DemoArgs {
                    variants: variants as usize,
                    days,
                    seed,
                    apply,
                    cycles,
                },
                json,
            )
            .await
        }
        Command::Cycle {
            command:
                CycleCommand::Run {
                    cycle: kind,
                    date,
                    apply,
                },
        } => cycle::run(&ports, &cfg, kind.parse()?, date, apply, json).await,
        Command::Cycle {
            command: CycleCommand::Apply { cycle_id, by },
        } => operator_acts::apply(&ports, &cfg, &cycle_id, by, json).await,
        Command::Rows {
            command: RowsCommand::Revert { row_ref, by },
        } => operator_acts::revert(&ports, &cfg, &row_ref, by, json).await,
        Command::Policy {
            command: PolicyCommand::Show,
        } => operator_acts::policy_show(&ports, &cfg, json).await,
        Command::Policy {
            command: PolicyCommand::Set { name, value, by },
        } => operator_acts::policy_set(&ports, &cfg, name, value, by, json).await,
        Command::Rows {
            command: RowsCommand::Show { row_ref },
        } => {
            let r = RowRef::parse(&row_ref)?;
            match ports.audit.get(r).await? {
                Some(row) => {
                    let reply = held_replies(&cfg, std::slice::from_ref(&row))
                        .await
                        .pop()
                        .flatten();
                    if json {
                        let mut v = row.to_json();
                        if let Some(p) = &reply {
                            v["reply_preview"] = serde_json::to_value(p)?;
                        }
                        println!("{}", serde_json::to_string_pretty(&v)?);
                    } else {
                        print!("{}", render::row_detail(&row));
                        if let Some(p) = &reply {
                            print!("{}", render::reply_preview(p));
                        }
                    }
                    Ok(())
                }
                None => Err(format!("I don't have a row for that: {r} does not exist").into()),
            }
        }
        Command::Holds {
            command: HoldsCommand::List,
        } => holds_list(&ports, &cfg, json).await,
        Command::Holds {
            command: HoldsCommand::Release { row_ref, by },
        } => {
            let r = RowRef::parse(&row_ref)?;
            let exec = cycle::executors(&cfg)?;
            let out = otto_engine::holds::release(
                &ports,
                &exec,
                &cfg.store_id,
                r,
                &by,
                otto_engine::executor::At::new(otto_core::clock::now(), cfg.clock),
            )
            .await
            .map_err(|e| format!("cannot release {r}: {e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&out)?);
            } else {
                println!(
                    "{r} → {}: {}{}",
                    out.row.status,
                    out.outcome,
                    if out.released_now {
                        ""
                    } else {
                        " (it had already been released)"
                    }
                );
                if out.row.status == RowStatus::Held {
                    println!("{}", render::row_line(&out.row));
                }
            }
            Ok(())
        }
        Command::Cs {
            command: CsCommand::Run { inbox, apply },
        } => {
            let path = match inbox {
                Some(p) => p,
                None => match &cfg.backend {
                    Backend::Embedded { dir } => dir.join("demo-inbox.json"),
                    Backend::Aws(_) => {
                        return Err("--inbox is required with --store dynamodb".into())
                    }
                },
            };
            if !path.exists() {
                return Err(format!(
                    "no inbox at {} (run `otto demo` first, or pass --inbox FILE)",
                    path.display()
                )
                .into());
            }
            let helpdesk = std::sync::Arc::new(otto_connectors::helpdesk::JsonInbox { path });
            let (run, out) = cycle::run_cs(&ports, &cfg, helpdesk, apply).await?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"run": run, "triage": out}))?
                );
            } else {
                print!("{}", render::cs_summary(&run, &out));
            }
            Ok(())
        }
        Command::Cs {
            command: CsCommand::Languages { action, code },
        } => cs_languages(&ports, &cfg, &action, code.as_deref(), json).await,
        Command::Candidates { command } => match command {
            CandidatesCommand::List => candidates::list(&ports, &cfg.store_id, json).await,
            CandidatesCommand::Approve { row_ref, by } => {
                let r = RowRef::parse(&row_ref)?;
                let row = candidates::review(&ports, r, true, &by, None)
                    .await
                    .map_err(|e| format!("cannot approve {r}: {e}"))?;
                println!(
                    "{}",
                    if json {
                        serde_json::to_string_pretty(&row.to_json())?
                    } else {
                        format!("{r} → {}", row.status)
                    }
                );
                Ok(())
            }
            CandidatesCommand::Reject {
                row_ref,
                reason,
                by,
            } => {
                let r = RowRef::parse(&row_ref)?;
                let row = candidates::review(&ports, r, false, &by, reason)
                    .await
                    .map_err(|e| format!("cannot reject {r}: {e}"))?;
                println!(
                    "{}",
                    if json {
                        serde_json::to_string_pretty(&row.to_json())?
                    } else {
                        format!("{r} → {}", row.status)
                    }
                );
                Ok(())
            }
        },
        Command::KillSwitch { state, reason, by } => {
            let s = ports.settings.as_ref();
            if state != "status" {
                let now = otto_core::clock::now();
                let flip = otto_store::settings::Flip {
                    on: state == "on",
                    by,
                    surface: otto_core::audit::Surface::Cli,
                    reason,
                };
                let day = cfg.clock.day_of(now);
                otto_store::settings::flip_kill_switch(
                    ports.audit.as_ref(),
                    s,
                    &cfg.store_id,
                    day,
                    flip,
                    now,
                )
                .await?;
            }
            let ks = otto_store::settings::kill_switch(s, &cfg.store_id).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&ks)?);
            } else {
                println!("{}", render::kill_switch(&ks, &cfg.clock));
            }
            Ok(())
        }
        Command::Serve { addr } => serve(ports, cfg, &addr).await,
        Command::Ask { question } => {
            let llm = otto_answers::llm::OpenAiChat::from_lookup(|k| std::env::var(k).ok())?
                .map(|l| Arc::new(l) as Arc<dyn otto_answers::llm::Llm>);
            let engine = otto_answers::Engine::new(&ports, cfg.store_id.clone(), cfg.clock, "")
                .with_llm(llm);
            let a = engine
                .ask(&question, otto_core::clock::now())
                .await
                .map_err(|e| e.to_string())?;
            if json {
                println!("{}", serde_json::to_string_pretty(&a)?);
            } else {
                println!("{}", a.answer);
                if !a.citations.is_empty() {
                    println!(
                        "rows: {}",
                        a.citations
                            .iter()
                            .map(|c| c.row_ref.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
            }
            Ok(())
        }
        Command::DeadLetters { .. } => {
            let report =
                otto_engine::dlq::sweep(&ports, cfg.clock, otto_core::clock::now()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else if report.failed.is_empty() {
                println!("dead letters: {} seen; no cycle to end", report.seen);
            } else {
                println!(
                    "dead letters: {} seen; ended as FAILED: {}",
                    report.seen,
                    report.failed.join(", ")
                );
            }
            Ok(())
        }
        Command::Doctor => doctor::run(&cfg, json).await,
        Command::Simulate { .. } => Err("otto simulate runs before the store is opened".into()),
        Command::Export { dir } => audit_io::export(&ports, &dir, json).await,
        Command::Import { dir } => audit_io::import(&ports, &dir, json).await,
    }
}

/// The text each HELD row's CS reply would send, read from the helpdesk once (`None`: not a
/// held reply).
async fn held_replies(
    cfg: &Config,
    rows: &[otto_core::audit::AuditRow],
) -> Vec<Option<otto_engine::holds::ReplyPreview>> {
    use otto_engine::holds::{reply_previews, ReplyPreview};
    let held: Vec<_> = rows
        .iter()
        .filter(|r| r.status == RowStatus::Held)
        .cloned()
        .collect();
    let mut previews = match cycle::executors(cfg) {
        Ok(exec) => reply_previews(exec.helpdesk.as_deref(), &held).await,
        Err(e) => reply_previews(None, &held)
            .await
            .into_iter()
            .map(|p| p.map(|_| ReplyPreview::Unavailable { why: e.to_string() }))
            .collect(),
    }
    .into_iter();
    rows.iter()
        .map(|r| {
            (r.status == RowStatus::Held)
                .then(|| previews.next().flatten())
                .flatten()
        })
        .collect()
}

async fn holds_list(ports: &Ports, cfg: &Config, json: bool) -> CliResult {
    let rows = otto_engine::holds::held(ports, &cfg.store_id, 10_000).await?;
    let replies = held_replies(cfg, &rows).await;
    if json {
        let mut v = Vec::with_capacity(rows.len());
        for (r, p) in rows.iter().zip(&replies) {
            let mut j = r.to_json();
            if let Some(p) = p {
                j["reply_preview"] = serde_json::to_value(p)?;
            }
            v.push(j);
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else if rows.is_empty() {
        println!("No held rows.");
    } else {
        for (r, p) in rows.iter().zip(&replies) {
            println!("{}", render::row_line(r));
            if let Some(p) = p {
                print!("{}", render::reply_preview(p));
            }
        }
        println!("Release one with: otto holds release <ref>");
    }
    Ok(())
}

async fn cs_languages(
    ports: &Ports,
    cfg: &Config,
    action: &str,
    code: Option<&str>,
    json: bool,
) -> CliResult {
    use otto_core::stages::cs::CsPolicy;
    use otto_engine::cs::CS_POLICY;
    let mut policy: CsPolicy = match ports.settings.get_setting(&cfg.store_id, CS_POLICY).await? {
        Some(v) => serde_json::from_value(v).map_err(|e| format!("setting {CS_POLICY}: {e}"))?,
        None => CsPolicy::default(),
    };
    if action != "show" {
        let code = code.ok_or_else(|| {
            format!("`otto cs languages {action}` needs a language code, e.g. nl")
        })?;
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err(format!(
                "{code:?} is not an ISO 639-1 code (two lower-case letters, e.g. nl)"
            )
            .into());
        }
        let langs = &mut policy.languages_allowed_for_send;
        if action == "allow" && !langs.iter().any(|l| l == code) {
            langs.push(code.to_string());
        }
        if action == "deny" {
            langs.retain(|l| l != code);
        }
        ports
            .settings
            .put_setting(&cfg.store_id, CS_POLICY, &serde_json::to_value(&policy)?)
            .await?;
    }
    if json {
        println!(
            "{}",
            serde_json::json!({"languages_allowed_for_send": policy.languages_allowed_for_send})
        );
    } else {
        println!(
            "languages_allowed_for_send: {}{}",
            policy.languages_allowed_for_send.join(", "),
            if action == "allow" {
                "  (drafts already HELD for language stay HELD: release them with `otto holds release <ref>`)"
            } else {
                ""
            }
        );
    }
    Ok(())
}

/// `otto serve`: the API router over this store. Without `OTTO_OPERATOR_TOKEN` a random token
/// (32 random bytes, 64 hex characters) is made for this run and printed, so the operator routes
/// are never open. The peer address of each connection reaches the router (the failed-login
/// throttle counts per source).
async fn serve(ports: Ports, mut cfg: Config, addr: &str) -> CliResult {
    use rand::Rng;
    let addr: std::net::SocketAddr = addr
        .parse()
        .map_err(|e| format!("--addr {addr:?}: {e} (e.g. 127.0.0.1:8080)"))?;
    let generated = cfg.operator_token.is_none();
    if generated {
        let bytes: [u8; 32] = rand::thread_rng().gen();
        cfg.operator_token = Some(bytes.iter().map(|b| format!("{b:02x}")).collect());
    }
    cfg.check_tokens()?;
    let executors = cycle::executors(&cfg)?;
    let mut state = otto_api::AppState::from_config(ports, &cfg, false, executors, None);
    state.llm = otto_answers::llm::OpenAiChat::from_lookup(|k| std::env::var(k).ok())?
        .map(|l| Arc::new(l) as Arc<dyn otto_answers::llm::Llm>);
    if let Some(secret) = cfg.slack_signing_secret.clone() {
        let responder = Arc::new(state.responder(otto_slack::ResponseUrlClient::new()));
        state.slack = Some(otto_api::slack::SlackConfig {
            signing_secret: secret,
            admins: cfg.slack_admins.clone(),
            dispatch: Arc::new(otto_api::slack::InProcess(responder)),
            team_id: cfg.slack_team_id.clone(),
            app_id: cfg.slack_app_id.clone(),
        });
    }
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr()?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on http://{local}")?;
        if generated {
            writeln!(
                out,
                "operator token (this run only; set OTTO_OPERATOR_TOKEN to choose one): {}",
                cfg.operator_token.as_deref().unwrap_or_default()
            )?;
        }
        writeln!(out, "dashboard: http://{local}/dashboard")?;
        out.flush()?;
    }
    axum::serve(
        listener,
        otto_api::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
