use lambda_http::{run, Error};
use otto_runtime::build_ports;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (resolved, cfg) = otto_runtime::cold_start().await?;
    let env = |k: &str| resolved.get(k);
    // The tokens (from SSM or the environment) are held to the 32-byte minimum.
    cfg.check_tokens()?;
    let ports = build_ports(&cfg).await?;
    let executors = otto_engine::holds::executors_from_lookup(env, cfg.clock)?;
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
