//! Counts the requests the AWS SDK clients send, by service and operation — an interceptor on
//! every client (used by the request-per-variant benchmark; retries count as requests). A caller
//! may label the requests of a piece of work ([`labelled`], e.g. one stage message): the counter
//! then also keeps a count per label, so a benchmark can say where the requests went.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    static LABEL: &'static str;
}

/// Runs `f` with its AWS requests counted under `label` (as well as in the totals).
pub async fn labelled<F: Future>(label: &'static str, f: F) -> F::Output {
    LABEL.scope(label, f).await
}

#[derive(Debug, Default)]
struct Counts {
    by_operation: BTreeMap<String, u64>,
    by_label: BTreeMap<String, BTreeMap<String, u64>>,
}

#[derive(Debug, Default, Clone)]
pub struct RequestCounter(Arc<Mutex<Counts>>);

impl RequestCounter {
    /// Requests by `service:operation`.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .map(|m| m.by_operation.clone())
            .unwrap_or_default()
    }
    /// Requests by label, then by `service:operation` (requests sent outside any label are
    /// under `"-"`).
    pub fn by_label(&self) -> BTreeMap<String, BTreeMap<String, u64>> {
        self.0
            .lock()
            .map(|m| m.by_label.clone())
            .unwrap_or_default()
    }
    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "otto-request-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let key = cfg
            .load::<Metadata>()
            .map(|m| format!("{}:{}", m.service(), m.name()))
            .unwrap_or_else(|| "unknown".into());
        let label = LABEL.try_with(|l| *l).unwrap_or("-");
        if let Ok(mut m) = self.0.lock() {
            *m.by_label
                .entry(label.to_string())
                .or_default()
                .entry(key.clone())
                .or_default() += 1;
            *m.by_operation.entry(key).or_default() += 1;
        }
        Ok(())
    }
}
