//! Shopify bulk query operations: start one, poll it, download its JSONL result.
//!
//! Wire (Admin GraphQL, the client's configured version):
//! * start: `bulkOperationRunQuery(query: String!)` → `{ bulkOperation { id status } userErrors
//!   { field message code } }` — <https://shopify.dev/docs/api/admin-graphql/latest/mutations/bulkOperationRunQuery.md>
//!   (one connection at least, at most five, nested at most two levels deep; results stay
//!   available seven days). `groupObjects` is not sent: its default changed between versions
//!   (true up to 2025-10, false from 2026-07), and the parsers here never rely on the order of
//!   lines ("Avoid relying on a particular sequence of lines" —
//!   <https://shopify.dev/docs/api/usage/bulk-operations/queries>).
//! * resume: `currentBulkOperation` first; when it runs (or completed) the same query, a retry
//!   waits for it instead of starting another.
//! * poll: `node(id:) { ... on BulkOperation { id status errorCode objectCount url } }` (works at
//!   every version; `bulkOperation(id:)` exists only from 2026-01 —
//!   <https://shopify.dev/changelog/new-queries-for-bulk-operations.md>) until the status is
//!   final. `BulkOperationStatus`: CANCELED, CANCELING, COMPLETED, CREATED, EXPIRED ("the bulk
//!   operation URL has expired"), FAILED (why: `errorCode` ACCESS_DENIED, INTERNAL_SERVER_ERROR,
//!   TIMEOUT), RUNNING — <https://shopify.dev/docs/api/admin-graphql/latest/enums/bulkoperationstatus>,
//!   <https://shopify.dev/docs/api/admin-graphql/2024-10/enums/BulkOperationErrorCode>.
//! * download: `BulkOperation.url`, a JSONL file (one JSON object a line; an object of a nested
//!   connection is its own line with `__parentId`, the id of its parent) —
//!   <https://shopify.dev/docs/api/admin-graphql/latest/objects/BulkOperation>. A COMPLETED
//!   operation that found nothing has no `url` (`objectCount` 0): an empty result.
//! * `userErrors` codes (`BulkOperationUserErrorCode`): OPERATION_IN_PROGRESS / LIMIT_REACHED (an
//!   operation of this app already runs: retry later), INVALID —
//!   <https://shopify.dev/docs/api/admin-graphql/unstable/enums/BulkOperationUserErrorCode>.

use crate::ports::VendorError;
use crate::shopify::ShopifyClient;
use crate::snippet;
use serde_json::{json, Value};
use std::time::Duration;

const VENDOR: &str = "shopify";

/// When a read switches to a bulk operation, and how long it waits for one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkSettings {
    /// Orders in a window above which the sales read is a bulk operation (`SHOPIFY_BULK_THRESHOLD_ORDERS`).
    pub threshold_orders: u64,
    /// Wait between two polls of a running operation.
    pub poll_interval: Duration,
    /// The longest a read waits for its operation; longer fails `Transient` naming it.
    pub max_wait: Duration,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            threshold_orders: crate::shopify_orders::BULK_THRESHOLD_ORDERS,
            poll_interval: Duration::from_secs(5),
            // Inside the sync stage's 300 s Lambda timeout (template.yaml), with room for the
            // count before and the download after: a longer run fails Transient and the stage's
            // retry asks again.
            max_wait: Duration::from_secs(240),
        }
    }
}

/// `BulkOperationStatus`, with any later value kept as it came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkStatus {
    Created,
    Running,
    Completed,
    Canceling,
    Canceled,
    Failed,
    Expired,
    Other(String),
}

impl BulkStatus {
    fn parse(s: &str) -> Self {
        match s {
            "CREATED" => BulkStatus::Created,
            "RUNNING" => BulkStatus::Running,
            "COMPLETED" => BulkStatus::Completed,
            "CANCELING" => BulkStatus::Canceling,
            "CANCELED" => BulkStatus::Canceled,
            "FAILED" => BulkStatus::Failed,
            "EXPIRED" => BulkStatus::Expired,
            other => BulkStatus::Other(other.to_string()),
        }
    }

    /// Still going: poll again.
    fn is_pending(&self) -> bool {
        matches!(self, BulkStatus::Created | BulkStatus::Running)
    }
}

/// A bulk operation as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    pub id: String,
    pub status: BulkStatus,
    pub error_code: Option<String>,
    pub url: Option<String>,
}

impl BulkOperation {
    /// The one-line error of an operation that ended without a result.
    fn failure(&self) -> VendorError {
        let why = match (&self.status, &self.error_code) {
            (BulkStatus::Failed, Some(code)) => format!("FAILED ({code})"),
            (BulkStatus::Failed, None) => "FAILED".to_string(),
            (BulkStatus::Expired, _) => "EXPIRED (its result URL has expired)".to_string(),
            (BulkStatus::Canceled | BulkStatus::Canceling, _) => "CANCELED".to_string(),
            (BulkStatus::Other(s), _) => format!("{s} (a status Otto does not know)"),
            (s, _) => format!("{s:?}"),
        };
        permanent(format!("bulk operation {} {why}: no result", self.id))
    }
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

fn transient(detail: impl Into<String>) -> VendorError {
    VendorError::transient(VENDOR, detail)
}

/// The mutation that starts a bulk query (variable `query`).
pub const RUN_QUERY: &str = "mutation BulkRun($query: String!) { \
     bulkOperationRunQuery(query: $query) { \
       bulkOperation { id status } \
       userErrors { field message code } } }";

/// The app's latest bulk query operation (a retry picks up the one it started) —
/// <https://shopify.dev/docs/api/admin-graphql/2026-07/queries/currentBulkOperation>
/// (`type` defaults to QUERY; `BulkOperation.query` is the query it runs).
pub const CURRENT_QUERY: &str =
    "query BulkCurrent { currentBulkOperation { id status errorCode objectCount url query } }";

/// The poll of one operation (variable `id`).
pub const POLL_QUERY: &str = "query BulkPoll($id: ID!) { node(id: $id) { \
     ... on BulkOperation { id status errorCode objectCount url } } }";

fn parse_operation(node: &Value, ctx: &str) -> Result<BulkOperation, VendorError> {
    let text = |k: &str| node.get(k).and_then(Value::as_str).map(str::to_string);
    let id = text("id").ok_or_else(|| permanent(format!("{ctx}: missing `id`")))?;
    let status = text("status").ok_or_else(|| permanent(format!("{ctx}: missing `status`")))?;
    Ok(BulkOperation {
        id,
        status: BulkStatus::parse(&status),
        error_code: text("errorCode"),
        url: text("url").filter(|u| !u.is_empty()),
    })
}

/// The response parser, public for fuzzing: the `data` of [`RUN_QUERY`].
pub fn parse_run_payload(data: &Value) -> Result<BulkOperation, VendorError> {
    let payload = data
        .get("bulkOperationRunQuery")
        .filter(|p| p.is_object())
        .ok_or_else(|| permanent("bulkOperationRunQuery: missing payload"))?;
    let errors: Vec<&Value> = payload
        .get("userErrors")
        .and_then(Value::as_array)
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if let Some(first) = errors.first() {
        let code = first.get("code").and_then(Value::as_str).unwrap_or("");
        let message = first
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("(no message)");
        let line = format!("bulkOperationRunQuery refused ({code}): {message}");
        return Err(match code {
            "OPERATION_IN_PROGRESS" | "LIMIT_REACHED" => transient(line),
            _ => permanent(line),
        });
    }
    match payload.get("bulkOperation") {
        Some(op) if op.is_object() => parse_operation(op, "bulkOperationRunQuery"),
        _ => Err(permanent(
            "bulkOperationRunQuery: no bulkOperation and no userErrors",
        )),
    }
}

/// The response parser, public for fuzzing: the `data` of [`CURRENT_QUERY`] — the operation
/// when it runs (or ran to a result) exactly `query`, else `None`.
pub fn parse_current(data: &Value, query: &str) -> Result<Option<BulkOperation>, VendorError> {
    let Some(op) = data.get("currentBulkOperation").filter(|o| o.is_object()) else {
        return Ok(None);
    };
    if op.get("query").and_then(Value::as_str) != Some(query) {
        return Ok(None);
    }
    let op = parse_operation(op, "currentBulkOperation")?;
    let usable = op.status.is_pending() || op.status == BulkStatus::Completed;
    Ok(usable.then_some(op))
}

/// The response parser, public for fuzzing: the `data` of [`POLL_QUERY`].
pub fn parse_poll(data: &Value, id: &str) -> Result<BulkOperation, VendorError> {
    match data.get("node") {
        Some(op) if op.is_object() => parse_operation(op, &format!("bulk operation {id}")),
        _ => Err(permanent(format!("bulk operation {id}: not found"))),
    }
}

/// One JSONL result: its non-empty lines parsed, each with its 1-based line number.
pub fn parse_jsonl(text: &str) -> Result<Vec<(usize, Value)>, VendorError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| match serde_json::from_str::<Value>(l) {
            Ok(v) if v.is_object() => Ok((i + 1, v)),
            _ => Err(permanent(format!(
                "bulk result line {}: not a JSON object: {}",
                i + 1,
                snippet(l)
            ))),
        })
        .collect()
}

impl ShopifyClient {
    /// Runs `query` as a bulk operation and returns its JSONL text ("" when it found nothing).
    /// The app's current operation is reused when it runs (or ran) the same query: a retry
    /// after a timeout waits for the operation it started instead of starting another.
    pub async fn run_bulk_query(&self, query: &str) -> Result<String, VendorError> {
        let current = self
            .graphql("currentBulkOperation", CURRENT_QUERY, json!({}), 2.0)
            .await?;
        let op = match parse_current(&current, query)? {
            Some(op) => {
                tracing::info!(id = %op.id, status = ?op.status, "shopify: bulk operation resumed");
                op
            }
            None => self.start_bulk(query).await?,
        };
        let done = self.await_bulk(op).await?;
        match done.url {
            Some(url) => self.download(&done.id, &url).await,
            None => Ok(String::new()),
        }
    }

    async fn start_bulk(&self, query: &str) -> Result<BulkOperation, VendorError> {
        let data = self
            .graphql(
                "bulkOperationRunQuery",
                RUN_QUERY,
                json!({ "query": query }),
                10.0,
            )
            .await?;
        let started = parse_run_payload(&data)?;
        tracing::info!(id = %started.id, "shopify: bulk operation started");
        Ok(started)
    }

    /// Polls until the operation is final; COMPLETED or one clear error.
    async fn await_bulk(&self, mut op: BulkOperation) -> Result<BulkOperation, VendorError> {
        let settings = self.bulk_settings();
        let mut waited = Duration::ZERO;
        while op.status.is_pending() {
            if waited >= settings.max_wait {
                return Err(transient(format!(
                    "bulk operation {} still {:?} after {}s: read again later",
                    op.id,
                    op.status,
                    waited.as_secs()
                )));
            }
            self.sleep(settings.poll_interval).await;
            waited += settings.poll_interval;
            let data = self
                .graphql("bulkOperation", POLL_QUERY, json!({ "id": op.id }), 2.0)
                .await?;
            op = parse_poll(&data, &op.id)?;
        }
        match op.status {
            BulkStatus::Completed => Ok(op),
            _ => Err(op.failure()),
        }
    }

    /// Downloads a result file (a signed URL: no Shopify token is sent with it).
    async fn download(&self, id: &str, url: &str) -> Result<String, VendorError> {
        let resp =
            self.http().get(url).send().await.map_err(|e| {
                transient(format!("bulk operation {id}: downloading its result: {e}"))
            })?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| transient(format!("bulk operation {id}: reading its result: {e}")))?;
        if !status.is_success() {
            return Err(permanent(format!(
                "bulk operation {id}: result download HTTP {}: {}",
                status.as_u16(),
                snippet(&text)
            )));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_while_another_operation_runs_is_retryable() {
        let data = json!({ "bulkOperationRunQuery": { "bulkOperation": null, "userErrors": [
            { "field": null, "message": "A bulk query operation for this app and shop is already in progress", "code": "OPERATION_IN_PROGRESS" }
        ] } });
        let err = parse_run_payload(&data).unwrap_err();
        assert!(err.is_retryable(), "{err}");
        let data = json!({ "bulkOperationRunQuery": { "bulkOperation": null, "userErrors": [
            { "field": ["query"], "message": "Invalid bulk query", "code": "INVALID" }
        ] } });
        let err = parse_run_payload(&data).unwrap_err();
        assert!(!err.is_retryable());
        assert!(err.to_string().contains("Invalid bulk query"), "{err}");
    }

    #[test]
    fn a_bad_jsonl_line_is_named() {
        let err = parse_jsonl("{\"id\":\"a\"}\n\nnot json\n").unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert_eq!(parse_jsonl("").unwrap(), vec![]);
    }
}
