use otto_core::cycle::Stage;
use otto_store::aws::{AwsNames, DynamoStore, EventBridgeBus, SqsQueue};
use otto_store::embedded::{EmbeddedQueue, EmbeddedStore};
use otto_store::Ports;
use std::sync::Arc;

/// Ports for one test, plus whatever must live as long as they do.
pub struct Harness {
    pub ports: Ports,
    pub name: &'static str,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh embedded store in a temporary directory.
pub async fn embedded() -> Option<Harness> {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(dir.path()).expect("open embedded store");
    let queue = Arc::new(EmbeddedQueue::new(store.clone(), 5));
    Some(Harness {
        ports: Ports::from_adapter(Arc::new(store), queue),
        name: "embedded",
        _dir: Some(dir),
    })
}

/// The moto endpoint and resource names, from the environment `scripts/test` exports.
/// Without them the moto half of the suite is skipped — unless `OTTO_REQUIRE_MOTO=1` (set by
/// `scripts/test` and in CI), where a missing moto is a failure, never a silent skip.
pub fn moto_names() -> Option<AwsNames> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let names = (|| {
        var("AWS_ENDPOINT_URL")?;
        Some(AwsNames {
            audit_table: var("OTTO_AUDIT_TABLE")?,
            state_table: var("OTTO_STATE_TABLE")?,
            catalog_table: var("OTTO_CATALOG_TABLE")?,
            queue_url_prefix: var("OTTO_QUEUE_URL_PREFIX")?,
            event_bus: var("OTTO_EVENT_BUS")?,
        })
    })();
    if names.is_none() && var("OTTO_REQUIRE_MOTO").as_deref() == Some("1") {
        panic!("OTTO_REQUIRE_MOTO=1 but the moto environment (AWS_ENDPOINT_URL, OTTO_*_TABLE, OTTO_QUEUE_URL_PREFIX, OTTO_EVENT_BUS) is not set: run the suite through scripts/test");
    }
    names
}

/// DynamoDB/SQS/EventBridge ports on moto. Tables are shared by the tests (each test uses its
/// own store id, lock and counter names); queues are made per test, so deliveries never cross.
pub async fn moto() -> Option<Harness> {
    let names = moto_names()?;
    let sdk = otto_store::aws::load_sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let prefix = format!("t{}-", ulid::Ulid::new().to_string().to_lowercase());
    let mut url_prefix = None;
    for stage in Stage::ALL {
        let dlq = sqs
            .create_queue()
            .queue_name(format!("{prefix}{stage}-dlq"))
            .send()
            .await
            .expect("create DLQ on moto");
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(dlq.queue_url().unwrap_or_default())
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("DLQ arn")
            .attributes()
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("DLQ has an ARN");
        let q = sqs
            .create_queue()
            .queue_name(format!("{prefix}{stage}"))
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
                serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5})
                    .to_string(),
            )
            .send()
            .await
            .expect("create queue on moto");
        let url = q.queue_url().unwrap_or_default().to_string();
        url_prefix = Some(url.trim_end_matches(stage.as_str()).to_string());
    }
    let dynamo = Arc::new(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        names.audit_table.clone(),
        names.state_table.clone(),
        names.catalog_table.clone(),
    ));
    let queue = Arc::new(SqsQueue::new(sqs, url_prefix.expect("queue prefix")));
    let mut ports = Ports::from_adapter(dynamo, queue);
    ports.events = Arc::new(EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(&sdk),
        names.event_bus.clone(),
    ));
    Some(Harness {
        ports,
        name: "moto",
        _dir: None,
    })
}

/// Ports on moto's shared tables whose DynamoDB/SQS/EventBridge requests are counted (one
/// interceptor on every client): for request-count checks and benchmarks.
pub async fn moto_counted(counter: otto_store::aws::RequestCounter) -> Option<Harness> {
    let names = moto_names()?;
    let sdk = otto_store::aws::load_sdk_config().await;
    Some(Harness {
        ports: otto_store::aws::ports_counted(&sdk, &names, Some(counter)),
        name: "moto (counted)",
        _dir: None,
    })
}
