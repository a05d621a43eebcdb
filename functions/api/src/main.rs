use lambda_http::{run, Error};
use otto_runtime::{build_ports, telemetry, Config};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    // One clock for the process: OTTO_NOW (tests, simulations) or the wall clock.
    otto_core::clock::init_from_env()?;
    // Secrets named by `*_PARAM` are read from SSM once, here, and seen by every lookup below.
    let resolved = otto_runtime::secrets::resolve_env().await?;
    let env = |k: &str| resolved.get(k);
    let cfg = Config::from_lookup(env)?;
    // The tokens (from SSM or the environment) are held to the 32-byte minimum.
    cfg.check_tokens()?;
    let ports = build_ports(&cfg).await?;
    let executors = otto_stage::holds::executors_from_lookup(env, cfg.clock)?;
    let dispatch: Option<Arc<dyn otto_api::slack::SlackDispatch>> =
        match &cfg.slack_responder_queue_url {
            Some(url) => Some(Arc::new(otto_api::slack::SqsDispatch {
                client: aws_sdk_sqs::Client::new(&otto_store::aws::load_sdk_config().await),
                queue_url: url.clone(),
            })),
            None => None,
        };
    let mut state = otto_api::AppState::from_config(ports, &cfg, true, executors, dispatch);
    state.llm = otto_answers::llm::OpenAiChat::from_lookup(env)?
        .map(|l| Arc::new(l) as Arc<dyn otto_answers::llm::Llm>);
    run(otto_api::router(state)).await
}
