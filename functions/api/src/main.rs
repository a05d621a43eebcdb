use lambda_http::{run, Error};
use otto_runtime::{build_ports, telemetry, Config};
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    telemetry::init_lambda();
    let env = |k: &str| std::env::var(k).ok();
    let mut cfg = Config::from_env()?;
    otto_runtime::secrets::resolve_ssm_secrets(&mut cfg, env).await?;
    // The tokens read from SSM are held to the same 32-byte minimum as the plain variables.
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
