//! `otto`: the operator's command line. Same handlers as the Lambdas, on the embedded store by
//! default (`./.otto/`), or on DynamoDB/SQS with `--store dynamodb`.

mod audit_io;
mod candidates;
mod cli;
mod cycle;
mod demo;
mod doctor;
mod operator_acts;
mod render;
mod sim_report;
mod simulate;

use clap::Parser;

#[tokio::main]
async fn main() {
    // `otto holds list | head` must end quietly, like any Unix tool, not panic on a closed pipe.
    #[cfg(unix)]
    // SAFETY: restoring the default SIGPIPE disposition before any thread writes to stdout.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    otto_runtime::telemetry::init_cli();
    let args = cli::Cli::parse();
    if let Err(e) = otto_core::clock::init_from_env() {
        eprintln!("otto: error: {e}");
        std::process::exit(2);
    }
    if let Err(e) = cli::run(args).await {
        eprintln!("otto: error: {e}");
        std::process::exit(1);
    }
}
