//! The AWS adapter: DynamoDB for every storage port, SQS for the stage queues, EventBridge for
//! events. Clients come from one `aws_config` load, which honours `AWS_ENDPOINT_URL` (moto locally)
//! and the usual credential / region environment.

mod counter;
mod dynamo;
mod eventbridge;
mod keys;
mod sqs;

pub use counter::{labelled, RequestCounter};
pub use dynamo::DynamoStore;
pub use eventbridge::EventBridgeBus;
pub use sqs::SqsQueue;

use crate::error::StoreError;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Names of the AWS resources, from the environment the template sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsNames {
    pub audit_table: String,
    pub state_table: String,
    pub catalog_table: String,
    /// Stage queue URLs are `{prefix}{stage}`; their DLQs `{prefix}{stage}-dlq`.
    pub queue_url_prefix: String,
    pub event_bus: String,
}

/// Loads the shared SDK configuration once per cold start.
pub async fn load_sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// Builds every AWS-backed port.
pub fn ports(sdk: &aws_config::SdkConfig, names: &AwsNames) -> crate::Ports {
    ports_counted(sdk, names, None)
}

/// Builds every AWS-backed port, with a request counter on every client when given.
pub fn ports_counted(
    sdk: &aws_config::SdkConfig,
    names: &AwsNames,
    counter: Option<RequestCounter>,
) -> crate::Ports {
    let ddb_conf = {
        let mut b = aws_sdk_dynamodb::config::Builder::from(sdk);
        if let Some(c) = &counter {
            b = b.interceptor(c.clone());
        }
        b.build()
    };
    let sqs_conf = {
        let mut b = aws_sdk_sqs::config::Builder::from(sdk);
        if let Some(c) = &counter {
            b = b.interceptor(c.clone());
        }
        b.build()
    };
    let eb_conf = {
        let mut b = aws_sdk_eventbridge::config::Builder::from(sdk);
        if let Some(c) = &counter {
            b = b.interceptor(c.clone());
        }
        b.build()
    };
    let dynamo = std::sync::Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(ddb_conf),
        names.audit_table.clone(),
        names.state_table.clone(),
        names.catalog_table.clone(),
    ));
    let queue = std::sync::Arc::new(SqsQueue::new(
        aws_sdk_sqs::Client::from_conf(sqs_conf),
        names.queue_url_prefix.clone(),
    ));
    let events = std::sync::Arc::new(EventBridgeBus::new(
        aws_sdk_eventbridge::Client::from_conf(eb_conf),
        names.event_bus.clone(),
    ));
    let mut p = crate::Ports::from_adapter(dynamo, queue);
    p.events = events;
    p
}

const RETRYABLE_CODES: &[&str] = &[
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "RequestLimitExceeded",
    "InternalServerError",
    "InternalFailure",
    "ServiceUnavailable",
    "TransactionConflictException",
    "TransactionInProgressException",
    "RequestThrottled",
    "KMSThrottlingException",
];

/// Maps an SDK error to a retryable or permanent [`StoreError`].
pub(crate) fn sdk_err<E, R>(what: &str, e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug,
{
    let text = format!("{what}: {}", DisplayErrorContext(&e));
    match &e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StoreError::Transient(text)
        }
        SdkError::ServiceError(se) => {
            if se
                .err()
                .code()
                .is_some_and(|c| RETRYABLE_CODES.contains(&c))
            {
                StoreError::Transient(text)
            } else {
                StoreError::Backend(text)
            }
        }
        _ => StoreError::Backend(text),
    }
}

pub(crate) async fn backoff(attempt: u32) {
    let ms = 20u64 << attempt.min(6);
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
}
