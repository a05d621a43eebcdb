use lambda_runtime::{run, service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let (_env, cfg) = otto_runtime::cold_start().await?;
    let ports = otto_runtime::build_ports(&cfg).await?;
    run(service_fn(|ev| {
        otto_scheduler::handler(&ports, &cfg.clock, ev)
    }))
    .await
}
