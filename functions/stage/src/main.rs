use lambda_runtime::{run, service_fn, Error};
use otto_core::cycle::Stage;
use otto_runtime::{build_ports, telemetry, Config};
use otto_stage::morning::{morning_registry, Vendors};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    // One clock for the process: OTTO_NOW (tests, simulations) or the wall clock.
    otto_core::clock::init_from_env()?;
    // Secrets named by `*_PARAM` (vendors, lanes, helpdesk) are read from SSM once, here.
    let resolved = otto_runtime::secrets::resolve_env().await?;
    let env = |k: &str| resolved.get(k);
    let cfg = Config::from_lookup(env)?;
    // Where the cycle digest and alerts go (SLACK_DIGEST_WEBHOOK_URL_PARAM, read above).
    otto_answers::notify::init(env);
    let name = std::env::var("OTTO_STAGE").map_err(|_| {
        "configuration: OTTO_STAGE: must be set to the stage this function runs (or dead_letters)"
    })?;
    if name == "dead_letters" {
        // The scheduled dead-letter sweep: ends cycles whose messages were dead-lettered.
        let ports = build_ports(&cfg).await?;
        return run(service_fn(
            |_ev: lambda_runtime::LambdaEvent<serde_json::Value>| {
                otto_stage::dlq::handler(&ports, cfg.clock)
            },
        ))
        .await;
    }
    let stage: Stage = name.parse()?;
    let (shop, ads) = otto_connectors::env::vendors_from_lookup(env, cfg.clock)?
        .ok_or("configuration: no vendor: set SHOPIFY_* and GOOGLE_ADS_* (or OTTO_SIM_VENDOR)")?;
    let ports = build_ports(&cfg).await?;
    let vendors = Vendors { shop, ads };
    let research = otto_connectors::env::research_from_lookup(env)?;
    let mut registry = otto_stage::research::with_research(
        otto_stage::discount::with_discount(morning_registry(vendors.clone()), vendors),
        research,
    );
    // CS triage runs when a helpdesk is configured (OTTO_HELPDESK=gorgias|json).
    if let Some(helpdesk) = otto_connectors::env::helpdesk_from_lookup(env)? {
        let voice = otto_connectors::env::voice_from_lookup(env)?;
        registry = otto_stage::cs::with_cs(registry, helpdesk.into(), voice.into());
    }
    run(service_fn(|ev| {
        otto_stage::handler(&ports, &registry, cfg.clock, stage, ev)
    }))
    .await
}
