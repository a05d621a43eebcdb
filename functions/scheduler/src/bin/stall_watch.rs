//! The stall watch Lambda ([`otto_engine::cycles::stall`]): every 15 minutes, ends the cycles that
//! are RUNNING past their store_lock lease and alerts the Slack digest channel.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (env, cfg) = otto_runtime::cold_start().await?;
    // The digest webhook (SLACK_DIGEST_WEBHOOK_URL_PARAM) was read from SSM at cold start.
    otto_answers::notify::init(|k| env.get(k));
    let ports = otto_runtime::build_ports(&cfg).await?;
    run(service_fn(|_ev: LambdaEvent<serde_json::Value>| {
        otto_scheduler::stall_handler(&ports, &cfg.store_id, cfg.clock)
    }))
    .await
}
