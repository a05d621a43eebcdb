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

/// DynamoDB/SQS/EventBridge ports on moto. Tables and queues are made per test (the tables as
/// copies of the template's, bootstrapped from template.yaml), so deliveries never cross and no
/// test reads another's rows. moto answers a query on an index by walking every item of the
/// table, so on shared tables each test got slower with every row the suite had written before it.
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
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    let dynamo = Arc::new(DynamoStore::new(
        ddb.clone(),
        table_like(&ddb, &names.audit_table, &prefix).await,
        table_like(&ddb, &names.state_table, &prefix).await,
        table_like(&ddb, &names.catalog_table, &prefix).await,
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

/// A fresh, empty table named `{prefix}{name}` with `name`'s keys and indexes (as bootstrapped
/// from template.yaml).
async fn table_like(ddb: &aws_sdk_dynamodb::Client, name: &str, prefix: &str) -> String {
    use aws_sdk_dynamodb::types::{BillingMode, GlobalSecondaryIndex};
    let desc = ddb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .expect("describe the bootstrapped table on moto")
        .table
        .expect("a table description");
    let fresh = format!("{prefix}{name}");
    let gsis: Vec<GlobalSecondaryIndex> = desc
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            GlobalSecondaryIndex::builder()
                .set_index_name(g.index_name().map(str::to_string))
                .set_key_schema(Some(g.key_schema().to_vec()))
                .set_projection(g.projection().cloned())
                .build()
                .expect("a GSI like the template's")
        })
        .collect();
    ddb.create_table()
        .table_name(&fresh)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(desc.attribute_definitions().to_vec()))
        .set_key_schema(Some(desc.key_schema().to_vec()))
        .set_global_secondary_indexes((!gsis.is_empty()).then_some(gsis))
        .send()
        .await
        .expect("create a table on moto");
    fresh
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
