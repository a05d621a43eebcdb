use lambda_runtime::{run, service_fn, Error};
use otto_runtime::{build_ports, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    // One clock for the process: OTTO_NOW (tests, simulations) or the wall clock.
    otto_core::clock::init_from_env()?;
    let cfg = Config::from_env()?;
    let ports = build_ports(&cfg).await?;
    run(service_fn(|ev| {
        otto_scheduler::handler(&ports, &cfg.clock, ev)
    }))
    .await
}
