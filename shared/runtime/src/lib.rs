//! Lambda glue shared by every function and the CLI: configuration from the environment (parsed
//! once, failing fast), tracing, port wiring for either backend, the SQS batch runner with
//! partial batch failures, and the retryable/permanent error split.

pub mod config;
pub mod error;
pub mod secrets;
#[cfg(feature = "lambda")]
pub mod sqs;
pub mod telemetry;

pub use config::{Backend, Config, ConfigError};
pub use error::HandlerError;

use otto_store::{Ports, StoreError};

/// Builds the ports for the configured backend. Called once per cold start / CLI run.
pub async fn build_ports(cfg: &Config) -> Result<Ports, StoreError> {
    build_ports_counted(cfg, None).await
}

/// The same, counting AWS requests by operation when a counter is given (benchmarks).
pub async fn build_ports_counted(
    cfg: &Config,
    counter: Option<otto_store::aws::RequestCounter>,
) -> Result<Ports, StoreError> {
    match &cfg.backend {
        #[cfg(feature = "embedded")]
        Backend::Embedded { dir } => {
            use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
            let store = EmbeddedStore::open(dir)?;
            let queue = std::sync::Arc::new(EmbeddedQueue::new(store.clone(), 5));
            Ok(Ports::from_adapter(std::sync::Arc::new(store), queue))
        }
        Backend::Aws(names) => {
            let sdk = otto_store::aws::load_sdk_config().await;
            Ok(otto_store::aws::ports_counted(&sdk, names, counter))
        }
    }
}

/// The environment a function sees after its cold start: the process environment with the
/// secrets read from SSM layered over it.
pub type ColdEnv = secrets::Resolved<fn(&str) -> Option<String>>;

/// Every Lambda's cold start, the same in each `main`: tracing, the one clock (`OTTO_NOW` or the
/// wall clock), the secrets named by `*_PARAM` read from SSM once, and the configuration built
/// from that view of the environment.
#[cfg(feature = "lambda")]
pub async fn cold_start() -> Result<(ColdEnv, Config), lambda_runtime::Error> {
    telemetry::init_lambda();
    otto_core::clock::init_from_env()?;
    let resolved = secrets::resolve_env().await?;
    let cfg = Config::from_lookup(|k| resolved.get(k))?;
    Ok((resolved, cfg))
}
