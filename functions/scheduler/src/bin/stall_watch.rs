//! The stall watch Lambda ([`otto_scheduler::stall`]): every 15 minutes, ends the cycles that
//! are RUNNING past their store_lock lease and alerts the Slack digest channel.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otto_runtime::{build_ports, telemetry, Config};

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    otto_core::clock::init_from_env()?;
    // The digest webhook (SLACK_DIGEST_WEBHOOK_URL_PARAM) is read from SSM once, here.
    let resolved = otto_runtime::secrets::resolve_env().await?;
    let env = |k: &str| resolved.get(k);
    let cfg = Config::from_lookup(env)?;
    otto_answers::notify::init(env);
    let ports = build_ports(&cfg).await?;
    run(service_fn(|_ev: LambdaEvent<serde_json::Value>| {
        otto_scheduler::stall::handler(&ports, &cfg.store_id, cfg.clock)
    }))
    .await
}
