use super::{backoff, sdk_err};
use crate::error::StoreError;
use crate::ports::{Delivery, Result, StageQueue};
use async_trait::async_trait;
use aws_sdk_sqs::types::{MessageSystemAttributeName, SendMessageBatchRequestEntry};
use otto_core::cycle::{Stage, StageMessage};
use std::collections::BTreeMap;
use std::time::Duration;

/// Stage queues on SQS: `{prefix}{stage}`, each with its DLQ `{prefix}{stage}-dlq` (redrive set
/// in template.yaml).
#[derive(Clone)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    prefix: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, prefix: String) -> Self {
        SqsQueue { client, prefix }
    }

    pub fn queue_url(&self, stage: Stage) -> String {
        format!("{}{}", self.prefix, stage)
    }

    fn dlq_url(&self, stage: Stage) -> String {
        format!("{}{}-dlq", self.prefix, stage)
    }

    /// Sends bodies to one queue in batches of ten, retrying entries SQS reports as failed by its
    /// own fault, failing on sender-fault entries.
    async fn send_bodies(&self, url: &str, bodies: &[String]) -> Result<()> {
        for chunk in bodies.chunks(10) {
            let mut pending: Vec<(usize, &String)> = chunk.iter().enumerate().collect();
            for attempt in 0..4 {
                let entries = pending
                    .iter()
                    .map(|(i, b)| {
                        SendMessageBatchRequestEntry::builder()
                            .id(i.to_string())
                            .message_body(b.as_str())
                            .build()
                            .map_err(|e| StoreError::Invalid(format!("SQS entry: {e}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                let out = self
                    .client
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| sdk_err("SendMessageBatch", e))?;
                let failed = out.failed();
                if failed.is_empty() {
                    pending.clear();
                    break;
                }
                if let Some(f) = failed.iter().find(|f| f.sender_fault()) {
                    return Err(StoreError::Invalid(format!(
                        "SendMessageBatch to {url}: entry {} refused: {} {}",
                        f.id(),
                        f.code(),
                        f.message().unwrap_or("")
                    )));
                }
                let failed_ids: Vec<&str> = failed.iter().map(|f| f.id()).collect();
                pending.retain(|(i, _)| failed_ids.contains(&i.to_string().as_str()));
                if attempt == 3 {
                    return Err(StoreError::Transient(format!(
                        "SendMessageBatch to {url}: {} entries still failing",
                        pending.len()
                    )));
                }
                backoff(attempt).await;
            }
        }
        Ok(())
    }

    async fn receive_from(
        &self,
        url: &str,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(max.clamp(1, 10) as i32)
            .visibility_timeout(visibility.as_secs() as i32)
            .wait_time_seconds(0)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| sdk_err("ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .map(|m| Delivery {
                message_id: m.message_id().unwrap_or_default().to_string(),
                receipt: m.receipt_handle().unwrap_or_default().to_string(),
                body: m.body().unwrap_or_default().to_string(),
                receive_count: m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1),
            })
            .collect())
    }
}

#[async_trait]
impl StageQueue for SqsQueue {
    async fn send(&self, messages: &[StageMessage]) -> Result<()> {
        let mut by_stage: BTreeMap<Stage, Vec<String>> = BTreeMap::new();
        for m in messages {
            by_stage
                .entry(m.stage)
                .or_default()
                .push(serde_json::to_string(m)?);
        }
        for (stage, bodies) in by_stage {
            self.send_bodies(&self.queue_url(stage), &bodies).await?;
        }
        Ok(())
    }

    async fn send_raw(&self, stage: Stage, body: &str) -> Result<()> {
        self.send_bodies(&self.queue_url(stage), &[body.to_string()])
            .await
    }

    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        self.receive_from(&self.queue_url(stage), max, visibility)
            .await
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<()> {
        self.client
            .delete_message()
            .queue_url(self.queue_url(stage))
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| sdk_err("DeleteMessage", e))?;
        Ok(())
    }

    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<Delivery>> {
        // Visibility 0: looking does not hide them.
        self.receive_from(&self.dlq_url(stage), max, Duration::ZERO)
            .await
    }
}
