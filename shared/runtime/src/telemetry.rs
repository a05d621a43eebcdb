//! Tracing set-up: JSON lines in Lambda (CloudWatch's JSON log format), compact text on a
//! terminal. `RUST_LOG` filters either way.

use tracing_subscriber::EnvFilter;

/// For Lambda functions: JSON, no ANSI, no timestamps (CloudWatch adds them).
pub fn init_lambda() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// For the CLI: warnings and errors to stderr unless `RUST_LOG` says otherwise.
pub fn init_cli() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .compact()
        .try_init();
}
