//! The Slack responder Lambda: consumes the slack_responder queue (jobs the API enqueued after
//! acking Slack), answers each once and posts it to its response_url. Partial batch failures:
//! only the jobs that failed retryably are redelivered.
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use otto_runtime::build_ports;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (resolved, cfg) = otto_runtime::cold_start().await?;
    let env = |k: &str| resolved.get(k);
    let ports = build_ports(&cfg).await?;
    let mut state = otto_api::AppState::from_config(
        ports,
        &cfg,
        false,
        otto_engine::holds::executors_from_lookup(env, cfg.clock)?,
        None,
    );
    state.llm = otto_answers::llm::OpenAiChat::from_lookup(env)?
        .map(|l| std::sync::Arc::new(l) as std::sync::Arc<dyn otto_answers::llm::Llm>);
    let responder = state.responder(otto_slack::ResponseUrlClient::new());
    run(service_fn(|ev: LambdaEvent<SqsEvent>| {
        otto_api::slack::handler(&responder, ev)
    }))
    .await
}
