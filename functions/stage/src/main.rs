use lambda_runtime::{run, service_fn, Error};
use otto_core::cycle::Stage;
use otto_engine::morning::{morning_registry, Vendors};
use otto_runtime::build_ports;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (resolved, cfg) = otto_runtime::cold_start().await?;
    let env = |k: &str| resolved.get(k);
    // Where the cycle digest and alerts go (SLACK_DIGEST_WEBHOOK_URL_PARAM, read at cold start).
    otto_answers::notify::init(env);
    let name = std::env::var("OTTO_STAGE").map_err(|_| {
        "configuration: OTTO_STAGE: must be set to the stage this function runs (or dead_letters)"
    })?;
    if name == "dead_letters" {
        // The scheduled dead-letter sweep: ends cycles whose messages were dead-lettered.
        let ports = build_ports(&cfg).await?;
        return run(service_fn(
            |_ev: lambda_runtime::LambdaEvent<serde_json::Value>| {
                otto_stage::dead_letters_handler(&ports, cfg.clock)
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
    let mut registry = otto_engine::research::with_research(
        otto_engine::discount::with_discount(morning_registry(vendors.clone()), vendors),
        research,
    );
    // CS triage runs when a helpdesk is configured (OTTO_HELPDESK=gorgias|json).
    if let Some(helpdesk) = otto_connectors::env::helpdesk_from_lookup(env)? {
        let voice = otto_connectors::env::voice_from_lookup(env)?;
        registry = otto_engine::cs::with_cs(registry, helpdesk.into(), voice.into());
    }
    run(service_fn(|ev| {
        otto_stage::handler(&ports, &registry, cfg.clock, stage, ev)
    }))
    .await
}
