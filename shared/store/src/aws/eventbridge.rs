use super::{backoff, sdk_err};
use crate::error::StoreError;
use crate::ports::{EventBus, OttoEvent, Result};
use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

/// Publishes Otto's events to an EventBridge bus (`Source: otto`).
#[derive(Clone)]
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus: String) -> Self {
        EventBridgeBus { client, bus }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn publish(&self, events: &[OttoEvent]) -> Result<()> {
        for chunk in events.chunks(10) {
            let mut pending: Vec<&OttoEvent> = chunk.iter().collect();
            for attempt in 0..4 {
                let entries: Vec<PutEventsRequestEntry> = pending
                    .iter()
                    .map(|e| {
                        PutEventsRequestEntry::builder()
                            .event_bus_name(&self.bus)
                            .source("otto")
                            .detail_type(&e.detail_type)
                            .detail(e.detail.to_string())
                            .build()
                    })
                    .collect();
                let out = self
                    .client
                    .put_events()
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| sdk_err("PutEvents", e))?;
                if out.failed_entry_count() == 0 {
                    pending.clear();
                    break;
                }
                // Entries answer in request order; keep the failed ones for another try.
                let failed: Vec<String> = out
                    .entries()
                    .iter()
                    .filter_map(|r| {
                        r.error_code()
                            .map(|c| format!("{c}: {}", r.error_message().unwrap_or("")))
                    })
                    .collect();
                pending = pending
                    .into_iter()
                    .zip(out.entries())
                    .filter(|(_, r)| r.error_code().is_some())
                    .map(|(e, _)| e)
                    .collect();
                if attempt == 3 {
                    return Err(StoreError::Transient(format!(
                        "PutEvents: {} entries failed: {}",
                        pending.len(),
                        failed.join("; ")
                    )));
                }
                backoff(attempt).await;
            }
        }
        Ok(())
    }
}
