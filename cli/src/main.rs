//! `otto`: the operator's command line. Same handlers as the Lambdas, on the embedded store by
//! default (`./.otto/`), or on DynamoDB/SQS with `--store dynamodb`.

mod audit_io;
mod cli;
mod cycle;
mod demo;
mod render;

use clap::Parser;

#[tokio::main]
async fn main() {
    otto_runtime::telemetry::init_cli();
    let args = cli::Cli::parse();
    if let Err(e) = cli::run(args).await {
        eprintln!("otto: error: {e}");
        std::process::exit(1);
    }
}
