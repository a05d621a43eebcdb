use lambda_runtime::{run, service_fn, Error};
use otto_core::cycle::Stage;
use otto_runtime::{build_ports, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let cfg = Config::from_env()?;
    let stage: Stage = std::env::var("OTTO_STAGE")
        .map_err(|_| "configuration: OTTO_STAGE: must be set to the stage this function runs")?
        .parse()?;
    let ports = build_ports(&cfg).await?;
    let registry = otto_stage::StageRegistry::new();
    run(service_fn(|ev| {
        otto_stage::handler(&ports, &registry, cfg.clock, stage, ev)
    }))
    .await
}
