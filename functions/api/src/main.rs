use lambda_http::{run, Error};
use otto_runtime::{build_ports, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let cfg = Config::from_env()?;
    let ports = build_ports(&cfg).await?;
    run(otto_api::router(otto_api::AppState::from_config(
        ports, &cfg,
    )))
    .await
}
