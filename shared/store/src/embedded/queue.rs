use super::{now_ms, sql_err, EmbeddedStore};
use crate::error::StoreError;
use crate::ports::*;
use async_trait::async_trait;
use otto_core::cycle::{Stage, StageMessage};
use rusqlite::params;
use std::time::Duration;

/// The in-process stage queue, durable in the embedded database: SQS semantics (at-least-once,
/// visibility timeout, receive count, dead-letter after `max_receive_count`).
#[derive(Clone)]
pub struct EmbeddedQueue {
    store: EmbeddedStore,
    max_receive_count: u32,
}

impl EmbeddedQueue {
    pub fn new(store: EmbeddedStore, max_receive_count: u32) -> Self {
        EmbeddedQueue {
            store,
            max_receive_count: max_receive_count.max(1),
        }
    }

    /// Messages waiting (visible or in flight) in a stage queue, dead letters excluded.
    pub fn depth(&self, stage: Stage) -> Result<u64> {
        self.store
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM queue WHERE stage = ?1 AND dead = 0",
                params![stage.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(sql_err)
    }
}

#[async_trait]
impl StageQueue for EmbeddedQueue {
    async fn send(&self, messages: &[StageMessage]) -> Result<()> {
        let bodies: Vec<(Stage, String)> = messages
            .iter()
            .map(|m| Ok((m.stage, serde_json::to_string(m)?)))
            .collect::<Result<_>>()?;
        self.store.write_tx(|tx| {
            for (stage, body) in &bodies {
                tx.execute(
                    "INSERT INTO queue (stage, body, visible_at_ms) VALUES (?1, ?2, ?3)",
                    params![stage.as_str(), body, now_ms()],
                )
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn send_raw(&self, stage: Stage, body: &str) -> Result<()> {
        self.store
            .conn()
            .execute(
                "INSERT INTO queue (stage, body, visible_at_ms) VALUES (?1, ?2, ?3)",
                params![stage.as_str(), body, now_ms()],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    async fn receive(
        &self,
        stage: Stage,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<Delivery>> {
        let max_rc = self.max_receive_count;
        self.store.write_tx(|tx| {
            let now = now_ms();
            let mut out = Vec::new();
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id, body, receive_count FROM queue WHERE stage = ?1 AND dead = 0 AND visible_at_ms <= ?2
                     ORDER BY id LIMIT ?3",
                )
                .map_err(sql_err)?;
            // Read a few more than asked: some may be moved to the dead-letter queue.
            let ready: Vec<(i64, String, u32)> = stmt
                .query_map(params![stage.as_str(), now, (max * 2 + 10) as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(sql_err)?
                .collect::<rusqlite::Result<_>>()
                .map_err(sql_err)?;
            for (id, body, rc) in ready {
                if out.len() >= max {
                    break;
                }
                if rc >= max_rc {
                    // Received max_receive_count times without an ack: redrive to the DLQ.
                    tx.execute("UPDATE queue SET dead = 1, receipt = NULL WHERE id = ?1", params![id])
                        .map_err(sql_err)?;
                    continue;
                }
                let receipt = ulid::Ulid::new().to_string();
                tx.execute(
                    "UPDATE queue SET receive_count = receive_count + 1, receipt = ?1, visible_at_ms = ?2 WHERE id = ?3",
                    params![receipt, now + visibility.as_millis() as i64, id],
                )
                .map_err(sql_err)?;
                out.push(Delivery {
                    message_id: id.to_string(),
                    receipt,
                    body,
                    receive_count: rc + 1,
                });
            }
            Ok(out)
        })
    }

    async fn ack(&self, stage: Stage, receipt: &str) -> Result<()> {
        let n = self
            .store
            .conn()
            .execute(
                "DELETE FROM queue WHERE stage = ?1 AND receipt = ?2 AND dead = 0",
                params![stage.as_str(), receipt],
            )
            .map_err(sql_err)?;
        if n == 0 {
            // SQS accepts a stale receipt handle silently only while the message is unchanged;
            // here a stale receipt (message redelivered since) is a conflict worth knowing.
            return Err(StoreError::Conflict(format!(
                "receipt {receipt} is not current for {stage}"
            )));
        }
        Ok(())
    }

    async fn dead_letters(&self, stage: Stage, max: usize) -> Result<Vec<Delivery>> {
        let conn = self.store.conn();
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, body, receive_count FROM queue WHERE stage = ?1 AND dead = 1 ORDER BY id LIMIT ?2",
            )
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(params![stage.as_str(), max as i64], |r| {
                Ok(Delivery {
                    message_id: r.get::<_, i64>(0)?.to_string(),
                    receipt: String::new(),
                    body: r.get(1)?,
                    receive_count: r.get(2)?,
                })
            })
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        Ok(rows)
    }
}
