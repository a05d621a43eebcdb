//! DynamoDB adapter. Three tables (see docs/ARCHITECTURE.md):
//!
//! * audit (`pk`): rows under `pk = <table>#<seq>` with six GSIs (by_cycle, by_sku [subject],
//!   by_day_action, by_status; by_action and by_status_action for the keys reads, see `keys`);
//!   natural-key guards under `pk = nk#<table>#<natural key>`;
//!   sequence counters under `pk = seq#<table>`.
//! * state (`pk`, TTL `expires_at`): `idem#…`, `lock#…`, `counter#…`, `ctok#…`, `setting#…`.
//! * catalog (`pk`, `sk`, TTL `expires_at`): `variant#<store>` / sku, `series#<store>` / last sku,
//!   `sales#<store>` / `<sku>#<day>` (expiring 120 days after the day), …
//!
//! No Scan on any query path: every read is GetItem, BatchGetItem or Query; only the export
//! (`list_table`) scans.

use super::{backoff, keys, sdk_err};
use crate::attempts;
use crate::error::StoreError;
use crate::ports::*;
use async_trait::async_trait;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, DeleteRequest, KeysAndAttributes, Put,
    PutRequest, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
    WriteRequest,
};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::lock::{Fence, Lease};
use otto_core::metrics::{CampaignBudget, CampaignDay, DailyMetric, OpenWindow, SkuSales, Variant};
use otto_core::{Attempt, RowKey, RowStatus, Sku, StoreDay, StoreId};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use tokio::sync::Mutex;

pub(super) type Item = HashMap<String, AttributeValue>;

/// The least number of sequence numbers one counter write reserves. An append reserves exactly
/// the block it needs (one counter write per batch, not per row), so refs stay dense: nothing is
/// left over in a cold-started Lambda to be thrown away.
const SEQ_BLOCK: u64 = 1;
/// Rows per TransactWriteItems: two items a row plus the fence check stay within 100.
const ROWS_PER_TX: usize = 49;

pub struct DynamoStore {
    client: Client,
    audit: String,
    state: String,
    catalog: String,
    /// Reserved, unused sequence numbers per table: [next, end].
    seq_blocks: Mutex<HashMap<AuditTable, (u64, u64)>>,
}

pub(super) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub(super) fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| StoreError::Invalid(format!("item lacks string attribute {k:?}")))
}
fn get_n(item: &Item, k: &str) -> Result<i64> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| StoreError::Invalid(format!("item lacks number attribute {k:?}")))
}

fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(v: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("timestamp {v:?}: {e}")))
}

fn row_pk(r: &RowRef) -> String {
    format!("{}#{}", r.table, r.seq)
}
fn nk_pk(table: AuditTable, natural_key: &str) -> String {
    format!("nk#{table}#{natural_key}")
}
fn status_pk(table: AuditTable, store: &StoreId, status: RowStatus) -> String {
    format!("{table}#{store}#{status}")
}

fn row_item(row: &AuditRow) -> Item {
    let t = row.row_ref.table;
    let seq = row.row_ref.seq;
    let store = row.store();
    let subject = row.subject();
    let action = row.action_key();
    let mut item: Item = HashMap::from([
        ("pk".into(), s(row_pk(&row.row_ref))),
        ("tbl".into(), s(t.as_str())),
        ("seq".into(), n(seq)),
        ("ulid".into(), s(row.ulid.to_string())),
        ("store".into(), s(store.as_str())),
        ("cycle_id".into(), s(row.cycle_id.to_string())),
        ("day".into(), s(row.day().to_string())),
        ("natural_key".into(), s(row.natural_key.clone())),
        ("status".into(), s(row.status.as_str())),
        ("subject".into(), s(subject.clone())),
        ("action".into(), s(action.clone())),
        ("created_at".into(), s(ts(&row.created_at))),
        ("updated_at".into(), s(ts(&row.updated_at))),
        ("body".into(), s(row.body.to_json().to_string())),
        ("gsi_cycle_pk".into(), s(format!("{t}#{}", row.cycle_id))),
        ("gsi_cycle_sk".into(), n(seq)),
        ("gsi_sku_pk".into(), s(format!("{t}#{store}#{subject}"))),
        (
            "gsi_sku_sk".into(),
            s(format!("{}#{seq:012}", ts(&row.created_at))),
        ),
        ("gsi_day_pk".into(), s(format!("{t}#{store}#{}", row.day()))),
        ("gsi_day_sk".into(), s(format!("{action}#{seq:012}"))),
        ("gsi_status_pk".into(), s(status_pk(t, store, row.status))),
        ("gsi_status_sk".into(), n(seq)),
        ("gsi_act_pk".into(), s(format!("{t}#{store}#{action}"))),
        ("gsi_act_sk".into(), s(format!("{}#{seq:012}", row.day()))),
        (
            "gsi_sa_pk".into(),
            s(format!("{t}#{store}#{}#{action}", row.status)),
        ),
        ("gsi_sa_sk".into(), n(seq)),
    ]);
    if let Some(c) = row.body.classification() {
        item.insert("cls".into(), s(c.as_str()));
    }
    if let Some(a) = &row.attempt {
        item.insert("attempt_id".into(), s(a.id.clone()));
        item.insert(
            "attempt".into(),
            s(serde_json::to_string(a).unwrap_or_default()),
        );
    }
    item
}

fn row_from_item(item: &Item) -> Result<AuditRow> {
    let table: AuditTable = get_s(item, "tbl")?.parse()?;
    let body: Value = serde_json::from_str(get_s(item, "body")?)?;
    Ok(AuditRow {
        row_ref: RowRef::new(table, get_n(item, "seq")? as u64),
        ulid: get_s(item, "ulid")?
            .parse()
            .map_err(|e| StoreError::Invalid(format!("ulid: {e}")))?,
        cycle_id: CycleId::parse(get_s(item, "cycle_id")?)?,
        natural_key: get_s(item, "natural_key")?.to_string(),
        status: get_s(item, "status")?.parse()?,
        created_at: parse_ts(get_s(item, "created_at")?)?,
        updated_at: parse_ts(get_s(item, "updated_at")?)?,
        body: RowBody::from_json(table, body)?,
        attempt: item
            .get("attempt")
            .and_then(|v| v.as_s().ok())
            .map(|a| serde_json::from_str(a))
            .transpose()?,
    })
}

/// Page cursors are LastEvaluatedKey, as JSON of `{name: {"S"|"N": value}}`.
fn encode_cursor(key: Option<&Item>) -> Option<String> {
    let key = key?;
    let m: BTreeMap<&str, Value> = key
        .iter()
        .filter_map(|(k, v)| match v {
            AttributeValue::S(x) => Some((k.as_str(), serde_json::json!({ "S": x }))),
            AttributeValue::N(x) => Some((k.as_str(), serde_json::json!({ "N": x }))),
            _ => None,
        })
        .collect();
    serde_json::to_string(&m).ok()
}

fn decode_cursor(c: &Option<String>) -> Result<Option<Item>> {
    let Some(c) = c else { return Ok(None) };
    let bad = || StoreError::Invalid(format!("bad page cursor {c:?}"));
    let m: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(c).map_err(|_| bad())?;
    let mut item = Item::new();
    for (k, v) in m {
        let av = match (v.get("S"), v.get("N")) {
            (Some(x), None) => s(x.clone()),
            (None, Some(x)) => n(x),
            _ => return Err(bad()),
        };
        item.insert(k, av);
    }
    Ok(Some(item))
}

fn limit_of(p: &PageReq) -> i32 {
    if p.limit == 0 {
        100
    } else {
        p.limit.min(1000) as i32
    }
}

fn is_ccf(r: &CancellationReason) -> bool {
    r.code() == Some("ConditionalCheckFailed")
}

fn fence_check(table: &str, f: &Fence) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .key("pk", s(format!("lock#{}", f.lock)))
                .condition_expression("version = :fence")
                .expression_attribute_values(":fence", s(f.version.clone()))
                .build()
                .map_err(|e| StoreError::Invalid(e.to_string()))?,
        )
        .build())
}

fn build_err(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Invalid(e.to_string())
}

/// Days of metrics kept per SKU series (the 28-day window plus the restatement backfill, with
/// room to spare).
const SERIES_DAYS: usize = 120;

/// SKUs per series block item: ≤ 16 × 120 days × ~60 bytes ≈ 115 KB, far below DynamoDB's
/// 400 KB item limit; a morning's metrics are written (and read back by a chunk) 16 SKUs a item.
const SERIES_BLOCK: usize = 16;

/// The series blocks of a store: pk `series#<store>`, sk = the block's *last* SKU, `first` = its
/// first SKU, `block` = JSON `{sku: Series}` (SKUs in order, blocks disjoint). Keyed by the last
/// SKU so the blocks overlapping a SKU range are one Query from `sk >= first`, stopping at the
/// first block that starts after the range. (An item with `series` instead of `block` is the
/// earlier one-SKU-per-item layout; it reads as a block of one and is replaced on the next write.)
fn series_block(item: &Item) -> Result<(String, BTreeMap<String, Series>)> {
    let sk = get_s(item, "sk")?.to_string();
    let block = match item.get("block") {
        Some(_) => serde_json::from_str(get_s(item, "block")?)?,
        None => BTreeMap::from([(sk.clone(), serde_json::from_str(get_s(item, "series")?)?)]),
    };
    Ok((sk, block))
}

/// A SKU's daily metrics in one item: day → [impressions, clicks, cost µ, conversions ‰,
/// value µ, provisional 0/1], plus the currency.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Series {
    currency: Option<String>,
    days: BTreeMap<String, [i64; 6]>,
}

impl Series {
    fn put(&mut self, m: &DailyMetric) -> Result<()> {
        let cur = m.cost.currency().code().to_string();
        if m.conversion_value.currency() != m.cost.currency()
            || self.currency.as_ref().is_some_and(|c| *c != cur)
        {
            return Err(StoreError::Invalid(format!(
                "{} {}: mixed currencies in one SKU's metrics",
                m.sku, m.day
            )));
        }
        self.currency = Some(cur);
        self.days.insert(
            m.day.to_string(),
            [
                m.impressions as i64,
                m.clicks as i64,
                m.cost.micros(),
                m.conversions_milli,
                m.conversion_value.micros(),
                i64::from(m.provisional),
            ],
        );
        Ok(())
    }

    fn trim(&mut self, keep: usize) {
        while self.days.len() > keep {
            let Some(first) = self.days.keys().next().cloned() else {
                break;
            };
            self.days.remove(&first);
        }
    }

    fn metrics(&self, sku: &Sku, from: StoreDay, to: StoreDay) -> Result<Vec<DailyMetric>> {
        let Some(cur) = &self.currency else {
            return Ok(vec![]);
        };
        let cur = otto_core::Currency::new(cur)?;
        self.days
            .range(from.to_string()..=to.to_string())
            .map(|(day, v)| {
                Ok(DailyMetric {
                    sku: sku.clone(),
                    day: StoreDay::parse(day)?,
                    impressions: v[0].max(0) as u64,
                    clicks: v[1].max(0) as u64,
                    cost: otto_core::Money::from_micros(v[2], cur),
                    conversions_milli: v[3],
                    conversion_value: otto_core::Money::from_micros(v[4], cur),
                    provisional: v[5] != 0,
                })
            })
            .collect()
    }
}

/// The outcome of one TransactWriteItems: ok, or cancelled with per-item reasons.
enum TxResult {
    Ok,
    Cancelled(Vec<CancellationReason>),
}

/// What a row rewrite is conditional on.
enum RowCondition {
    Status(RowStatus),
    /// The status, and the attempt id the row had when read (None: no attempt yet).
    StatusAndAttempt(RowStatus, Option<String>),
}

impl DynamoStore {
    async fn must_get(&self, row_ref: RowRef) -> Result<AuditRow> {
        self.get(row_ref)
            .await?
            .ok_or_else(|| StoreError::NotFound(row_ref.to_string()))
    }

    /// Rewrites a whole row item (its index keys follow the new status/body), conditional on
    /// `cond` and, with a fence, on the lock's token in the same transaction.
    async fn rewrite_row(
        &self,
        updated: &AuditRow,
        cond: RowCondition,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        let row_ref = updated.row_ref;
        let mut put = Put::builder()
            .table_name(&self.audit)
            .set_item(Some(row_item(updated)))
            .expression_attribute_names("#st", "status");
        let (from, expr) = match &cond {
            RowCondition::Status(from) => (*from, "attribute_exists(pk) AND #st = :from"),
            RowCondition::StatusAndAttempt(from, None) => (
                *from,
                "attribute_exists(pk) AND #st = :from AND attribute_not_exists(attempt_id)",
            ),
            RowCondition::StatusAndAttempt(from, Some(id)) => {
                put = put.expression_attribute_values(":att", s(id.clone()));
                (
                    *from,
                    "attribute_exists(pk) AND #st = :from AND attempt_id = :att",
                )
            }
        };
        let put = put
            .condition_expression(expr)
            .expression_attribute_values(":from", s(from.as_str()))
            .build()
            .map_err(build_err)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        if let Some(f) = fence {
            items.push(fence_check(&self.state, f)?);
        }
        match self.transact(items).await? {
            TxResult::Ok => Ok(updated.clone()),
            TxResult::Cancelled(reasons) => {
                if fence.is_some() && reasons.get(1).is_some_and(is_ccf) {
                    return Err(StoreError::Fenced(format!(
                        "{row_ref}: the fencing token is stale"
                    )));
                }
                let now = self
                    .get(row_ref)
                    .await?
                    .map(|r| r.status.to_string())
                    .unwrap_or_default();
                Err(StoreError::Conflict(format!(
                    "{row_ref} is {now}: another writer moved it first (expected {from})"
                )))
            }
        }
    }

    pub fn new(client: Client, audit: String, state: String, catalog: String) -> Self {
        DynamoStore {
            client,
            audit,
            state,
            catalog,
            seq_blocks: Mutex::new(HashMap::new()),
        }
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<TxResult> {
        for attempt in 0..5 {
            match self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await
            {
                Ok(_) => return Ok(TxResult::Ok),
                Err(e) => {
                    if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
                        e.as_service_error()
                    {
                        let reasons = c.cancellation_reasons().to_vec();
                        // A conflict with a concurrent transaction is worth another try; a
                        // failed condition is an answer.
                        if reasons.iter().any(is_ccf) || attempt == 4 {
                            return Ok(TxResult::Cancelled(reasons));
                        }
                        backoff(attempt).await;
                        continue;
                    }
                    let err = sdk_err("TransactWriteItems", e);
                    if err.is_retryable() && attempt < 4 {
                        backoff(attempt).await;
                        continue;
                    }
                    return Err(err);
                }
            }
        }
        Err(StoreError::Transient(
            "TransactWriteItems kept conflicting".into(),
        ))
    }

    /// Makes sure at least `count` sequence numbers are cached for `table`: when fewer are, a
    /// fresh block of `count` is reserved with one counter write (the few left over are dropped:
    /// refs may have gaps, never duplicates).
    async fn prefetch_seqs(&self, table: AuditTable, count: u64) -> Result<()> {
        let mut blocks = self.seq_blocks.lock().await;
        let cached = blocks
            .get(&table)
            .map(|(next, end)| (end + 1).saturating_sub(*next))
            .unwrap_or(0);
        if cached >= count || count == 0 {
            return Ok(());
        }
        let last = self.reserve_block(table, count).await?;
        blocks.insert(table, (last - count + 1, last));
        Ok(())
    }

    /// One `ADD` on the table's sequence counter; returns the last number of the block.
    async fn reserve_block(&self, table: AuditTable, n: u64) -> Result<u64> {
        let res = self
            .client
            .update_item()
            .table_name(&self.audit)
            .key("pk", s(format!("seq#{table}")))
            .update_expression("ADD #last :n")
            .expression_attribute_names("#last", "last")
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_err("UpdateItem seq", e))?;
        Ok(res
            .attributes()
            .ok_or_else(|| StoreError::Invalid("sequence update returned nothing".into()))
            .and_then(|a| get_n(a, "last"))? as u64)
    }

    /// Reserves `count` sequence numbers for `table`, one counter write per block.
    async fn alloc_seqs(&self, table: AuditTable, count: u64) -> Result<Vec<u64>> {
        let mut blocks = self.seq_blocks.lock().await;
        let mut out = Vec::with_capacity(count as usize);
        while (out.len() as u64) < count {
            let (next, end) = blocks.get(&table).copied().unwrap_or((1, 0));
            if next <= end {
                let take = (end - next + 1).min(count - out.len() as u64);
                out.extend(next..next + take);
                blocks.insert(table, (next + take, end));
                continue;
            }
            let want = SEQ_BLOCK.max(count - out.len() as u64);
            let last = self.reserve_block(table, want).await?;
            blocks.insert(table, (last - want + 1, last));
        }
        Ok(out)
    }

    /// Reads items by key with BatchGetItem (100 a call), following UnprocessedKeys.
    async fn batch_get(&self, table: &str, pks: Vec<String>) -> Result<Vec<Item>> {
        let mut out = Vec::with_capacity(pks.len());
        for chunk in pks.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|pk| HashMap::from([("pk".to_string(), s(pk.clone()))]))
                .collect();
            out.extend(self.batch_get_keys(table, keys).await?);
        }
        Ok(out)
    }

    /// Reads items by full key (pk + sk) with BatchGetItem (≤ 100 keys), following UnprocessedKeys.
    async fn batch_get_keys(&self, table: &str, mut keys: Vec<Item>) -> Result<Vec<Item>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut attempt = 0;
        while !keys.is_empty() {
            let ka = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_err)?;
            let res = self
                .client
                .batch_get_item()
                .request_items(table, ka)
                .send()
                .await
                .map_err(|e| sdk_err("BatchGetItem", e))?;
            if let Some(items) = res.responses().and_then(|r| r.get(table)) {
                out.extend(items.iter().cloned());
            }
            keys = res
                .unprocessed_keys()
                .and_then(|u| u.get(table))
                .map(|k| k.keys().to_vec())
                .unwrap_or_default();
            if !keys.is_empty() {
                if attempt > 8 {
                    return Err(StoreError::Transient(
                        "BatchGetItem left keys unprocessed".into(),
                    ));
                }
                backoff(attempt).await;
                attempt += 1;
            }
        }
        Ok(out)
    }

    /// The series block items of a store, or those overlapping a SKU range.
    async fn series_items(&self, store: &StoreId, skus: Option<(&Sku, &Sku)>) -> Result<Vec<Item>> {
        let pk = format!("series#{store}");
        let Some((first, last)) = skus else {
            return self.query_all(&self.catalog, pk).await;
        };
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let res = self
                .client
                .query()
                .table_name(&self.catalog)
                .key_condition_expression("pk = :pk AND sk >= :a")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":a", s(first.as_str()))
                .consistent_read(true)
                // A chunk's SKUs fill this many blocks, plus one either side.
                .limit(64)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_err("Query", e))?;
            for i in res.items() {
                let block_first = match i.get("first") {
                    Some(_) => get_s(i, "first")?,
                    None => get_s(i, "sk")?,
                };
                if block_first > last.as_str() {
                    return Ok(out);
                }
                out.push(i.clone());
            }
            match res.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }

    /// Metrics from the series blocks, optionally of a SKU range, by SKU then day.
    async fn series_range(
        &self,
        store: &StoreId,
        skus: Option<(&Sku, &Sku)>,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>> {
        let mut by_sku: BTreeMap<String, Series> = BTreeMap::new();
        for i in self.series_items(store, skus).await? {
            by_sku.extend(series_block(&i)?.1);
        }
        let mut out = Vec::new();
        for (sku, series) in by_sku {
            if skus.is_some_and(|(a, b)| sku.as_str() < a.as_str() || sku.as_str() > b.as_str()) {
                continue;
            }
            out.extend(series.metrics(&Sku::new(sku)?, from, to)?);
        }
        Ok(out)
    }

    async fn window_query(
        &self,
        store: &StoreId,
        up_to: Option<String>,
    ) -> Result<Vec<OpenWindow>> {
        // Keys are `<ends_on>#<sku>`: every window ending on or before `up_to` ("0" sorts
        // before any date).
        let range = up_to.map(|u| ("0".to_string(), u));
        self.query_range(&self.catalog, format!("windows#{store}"), range)
            .await?
            .iter()
            .map(|i| {
                let sk = get_s(i, "sk")?;
                let (day, sku) = sk
                    .split_once('#')
                    .ok_or_else(|| StoreError::Invalid(format!("window key {sk:?}")))?;
                Ok(OpenWindow {
                    sku: Sku::new(sku)?,
                    ends_on: StoreDay::parse(day)?,
                    row_ref: get_s(i, "row_ref")?.to_string(),
                })
            })
            .collect()
    }

    /// Writes items with BatchWriteItem (25 a call), retrying UnprocessedItems.
    async fn batch_put(&self, table: &str, items: Vec<Item>) -> Result<()> {
        let reqs = items
            .into_iter()
            .map(|i| {
                Ok(WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .set_item(Some(i))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(table, reqs).await
    }

    /// Deletes items by key with BatchWriteItem (25 a call), retrying UnprocessedItems.
    async fn batch_delete(&self, table: &str, keys: Vec<Item>) -> Result<()> {
        let reqs = keys
            .into_iter()
            .map(|k| {
                Ok(WriteRequest::builder()
                    .delete_request(
                        DeleteRequest::builder()
                            .set_key(Some(k))
                            .build()
                            .map_err(build_err)?,
                    )
                    .build())
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_write(table, reqs).await
    }

    async fn batch_write(&self, table: &str, all: Vec<WriteRequest>) -> Result<()> {
        for chunk in all.chunks(25) {
            let mut reqs: Vec<WriteRequest> = chunk.to_vec();
            let mut attempt = 0;
            while !reqs.is_empty() {
                let res = self
                    .client
                    .batch_write_item()
                    .request_items(table, reqs)
                    .send()
                    .await
                    .map_err(|e| sdk_err("BatchWriteItem", e))?;
                reqs = res
                    .unprocessed_items()
                    .and_then(|u| u.get(table))
                    .cloned()
                    .unwrap_or_default();
                if !reqs.is_empty() {
                    if attempt > 8 {
                        return Err(StoreError::Transient(
                            "BatchWriteItem left items unprocessed".into(),
                        ));
                    }
                    backoff(attempt).await;
                    attempt += 1;
                }
            }
        }
        Ok(())
    }

    async fn query_index(
        &self,
        index: &str,
        pk_attr: &str,
        pk: String,
        sk_prefix: Option<(&str, String)>,
        forward: bool,
        page: &PageReq,
    ) -> Result<Page<AuditRow>> {
        let mut q = self
            .client
            .query()
            .table_name(&self.audit)
            .index_name(index)
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(forward)
            .limit(limit_of(page))
            .set_exclusive_start_key(decode_cursor(&page.cursor)?);
        q = match sk_prefix {
            Some((sk_attr, prefix)) => q
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :sk)")
                .expression_attribute_names("#sk", sk_attr)
                .expression_attribute_values(":sk", s(prefix)),
            None => q.key_condition_expression("#pk = :pk"),
        };
        let res = q.send().await.map_err(|e| sdk_err("Query", e))?;
        Ok(Page {
            items: res
                .items()
                .iter()
                .map(row_from_item)
                .collect::<Result<_>>()?,
            next: encode_cursor(res.last_evaluated_key()),
        })
    }

    async fn get_item(&self, table: &str, key: Item) -> Result<Option<Item>> {
        let res = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_err("GetItem", e))?;
        Ok(res.item().cloned())
    }

    async fn state_item(&self, pk: String) -> Result<Option<Item>> {
        self.get_item(&self.state, HashMap::from([("pk".to_string(), s(pk))]))
            .await
    }

    async fn query_all(&self, table: &str, pk: String) -> Result<Vec<Item>> {
        self.query_range(table, pk, None).await
    }

    /// Every item of partition `pk` — with `sk` between the bounds (inclusive) when given —
    /// page by page (consistent reads).
    async fn query_range(
        &self,
        table: &str,
        pk: String,
        sk_between: Option<(String, String)>,
    ) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(table)
                .expression_attribute_values(":pk", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start);
            q = match &sk_between {
                Some((a, b)) => q
                    .key_condition_expression("pk = :pk AND sk BETWEEN :a AND :b")
                    .expression_attribute_values(":a", s(a.clone()))
                    .expression_attribute_values(":b", s(b.clone())),
                None => q.key_condition_expression("pk = :pk"),
            };
            let res = q.send().await.map_err(|e| sdk_err("Query", e))?;
            out.extend(res.items().iter().cloned());
            match res.last_evaluated_key() {
                Some(k) => start = Some(k.clone()),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl AuditLog for DynamoStore {
    async fn append(&self, rows: Vec<NewRow>, fence: Option<&Fence>) -> Result<Vec<Appended>> {
        let mut out: Vec<Option<Appended>> = vec![None; rows.len()];
        // Reserve every table's refs for the whole batch with one counter write each; rows that
        // turn out to exist leave their numbers in the cache for the next append.
        let mut totals: BTreeMap<AuditTable, u64> = BTreeMap::new();
        for r in &rows {
            *totals.entry(r.table()).or_default() += 1;
        }
        for (t, n) in totals {
            self.prefetch_seqs(t, n).await?;
        }
        for (chunk_no, chunk) in rows.chunks(ROWS_PER_TX).enumerate() {
            let base = chunk_no * ROWS_PER_TX;
            for attempt in 0..5 {
                // 1. Which natural keys exist already (a retry, or a concurrent appender)? The
                //    first attempt assumes none (the common case: one read less per 49 rows);
                //    a guard that exists cancels the transaction, and the retry reads them.
                let mut known: HashMap<String, RowRef> = HashMap::new();
                if attempt > 0 {
                    let guard_pks: Vec<String> = chunk
                        .iter()
                        .map(|r| nk_pk(r.table(), &r.natural_key))
                        .collect::<std::collections::BTreeSet<_>>()
                        .into_iter()
                        .collect();
                    for g in self.batch_get(&self.audit, guard_pks).await? {
                        let r = RowRef::parse(get_s(&g, "ref")?)?;
                        known.insert(get_s(&g, "pk")?.to_string(), r);
                    }
                }
                // 2. Reserve refs for the new ones (a natural key repeated within the batch
                //    gets one row).
                let mut fresh: Vec<(usize, &NewRow)> = Vec::new();
                let mut seen_in_batch: HashMap<String, usize> = HashMap::new();
                for (i, r) in chunk.iter().enumerate() {
                    if r.natural_key.is_empty() {
                        return Err(StoreError::Invalid("natural_key is empty".into()));
                    }
                    let g = nk_pk(r.table(), &r.natural_key);
                    if let Some(existing) = known.get(&g) {
                        out[base + i] = Some(Appended {
                            row_ref: *existing,
                            inserted: false,
                        });
                    } else if let std::collections::hash_map::Entry::Vacant(e) =
                        seen_in_batch.entry(g)
                    {
                        e.insert(i);
                        fresh.push((i, r));
                    }
                }
                if fresh.is_empty() {
                    break;
                }
                let mut per_table: BTreeMap<AuditTable, u64> = BTreeMap::new();
                for (_, r) in &fresh {
                    *per_table.entry(r.table()).or_default() += 1;
                }
                let mut seqs: HashMap<AuditTable, std::vec::IntoIter<u64>> = HashMap::new();
                for (t, c) in per_table {
                    seqs.insert(t, self.alloc_seqs(t, c).await?.into_iter());
                }
                // 3. One transaction: guard + row per new row, plus the fence check.
                let mut items = Vec::with_capacity(fresh.len() * 2 + 1);
                let mut planned: Vec<(usize, RowRef)> = Vec::new();
                for (i, r) in &fresh {
                    let seq = seqs
                        .get_mut(&r.table())
                        .and_then(|it| it.next())
                        .ok_or_else(|| {
                            StoreError::Invalid("sequence allocation fell short".into())
                        })?;
                    let row = AuditRow {
                        row_ref: RowRef::new(r.table(), seq),
                        ulid: ulid::Ulid::from_datetime(r.created_at.into()),
                        cycle_id: r.cycle_id.clone(),
                        natural_key: r.natural_key.clone(),
                        status: r.status,
                        created_at: r.created_at,
                        updated_at: r.created_at,
                        body: r.body.clone(),
                        attempt: None,
                    };
                    items.push(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(&self.audit)
                                    .item("pk", s(nk_pk(r.table(), &r.natural_key)))
                                    .item("ref", s(row.row_ref.to_string()))
                                    .condition_expression("attribute_not_exists(pk)")
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .build(),
                    );
                    items.push(
                        TransactWriteItem::builder()
                            .put(
                                Put::builder()
                                    .table_name(&self.audit)
                                    .set_item(Some(row_item(&row)))
                                    .condition_expression("attribute_not_exists(pk)")
                                    .build()
                                    .map_err(build_err)?,
                            )
                            .build(),
                    );
                    planned.push((*i, row.row_ref));
                }
                if let Some(f) = fence {
                    items.push(fence_check(&self.state, f)?);
                }
                match self.transact(items).await? {
                    TxResult::Ok => {
                        for (i, r) in planned {
                            out[base + i] = Some(Appended {
                                row_ref: r,
                                inserted: true,
                            });
                        }
                        // Duplicates within the batch point at the row just written.
                        for (i, r) in chunk.iter().enumerate() {
                            if out[base + i].is_none() {
                                let g = nk_pk(r.table(), &r.natural_key);
                                let first = seen_in_batch.get(&g).and_then(|f| out[base + f]);
                                out[base + i] = first.map(|a| Appended {
                                    inserted: false,
                                    ..a
                                });
                            }
                        }
                        break;
                    }
                    TxResult::Cancelled(reasons) => {
                        if fence.is_some() && reasons.last().is_some_and(is_ccf) {
                            let f = fence.map(|f| f.lock.clone()).unwrap_or_default();
                            return Err(StoreError::Fenced(format!(
                                "{f}: the fencing token is stale"
                            )));
                        }
                        if attempt == 4 {
                            return Err(StoreError::Transient(
                                "append kept racing with concurrent appenders".into(),
                            ));
                        }
                        // A guard appeared meanwhile: re-read and go again.
                    }
                }
            }
        }
        out.into_iter()
            .map(|a| a.ok_or_else(|| StoreError::Transient("append did not settle".into())))
            .collect()
    }

    async fn get(&self, row_ref: RowRef) -> Result<Option<AuditRow>> {
        self.get_item(
            &self.audit,
            HashMap::from([("pk".to_string(), s(row_pk(&row_ref)))]),
        )
        .await?
        .map(|i| row_from_item(&i))
        .transpose()
    }

    async fn get_many(&self, refs: &[RowRef]) -> Result<Vec<Option<AuditRow>>> {
        let mut unique: Vec<String> = refs.iter().map(row_pk).collect();
        unique.sort();
        unique.dedup();
        let rows: HashMap<RowRef, AuditRow> = self
            .batch_get(&self.audit, unique)
            .await?
            .iter()
            .map(|i| row_from_item(i).map(|r| (r.row_ref, r)))
            .collect::<Result<_>>()?;
        Ok(refs.iter().map(|r| rows.get(r).cloned()).collect())
    }

    async fn get_by_natural_key(
        &self,
        table: AuditTable,
        natural_key: &str,
    ) -> Result<Option<AuditRow>> {
        let guard = self
            .get_item(
                &self.audit,
                HashMap::from([("pk".to_string(), s(nk_pk(table, natural_key)))]),
            )
            .await?;
        match guard {
            Some(g) => self.get(RowRef::parse(get_s(&g, "ref")?)?).await,
            None => Ok(None),
        }
    }

    async fn get_many_by_natural_key(
        &self,
        table: AuditTable,
        keys: &[String],
    ) -> Result<Vec<Option<AuditRow>>> {
        // Two batched reads: the guards (natural key → ref), then the rows.
        let guards: HashMap<String, RowRef> = self
            .batch_get(&self.audit, keys.iter().map(|k| nk_pk(table, k)).collect())
            .await?
            .iter()
            .map(|g| {
                Ok((
                    get_s(g, "pk")?.to_string(),
                    RowRef::parse(get_s(g, "ref")?)?,
                ))
            })
            .collect::<Result<_>>()?;
        let rows: HashMap<RowRef, AuditRow> = self
            .batch_get(&self.audit, guards.values().map(row_pk).collect())
            .await?
            .iter()
            .map(|i| row_from_item(i).map(|r| (r.row_ref, r)))
            .collect::<Result<_>>()?;
        Ok(keys
            .iter()
            .map(|k| {
                guards
                    .get(&nk_pk(table, k))
                    .and_then(|r| rows.get(r).cloned())
            })
            .collect())
    }

    async fn by_cycle(
        &self,
        table: AuditTable,
        cycle: &CycleId,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        self.query_index(
            "by_cycle",
            "gsi_cycle_pk",
            format!("{table}#{cycle}"),
            None,
            true,
            &page,
        )
        .await
    }

    async fn by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        self.query_index(
            "by_sku",
            "gsi_sku_pk",
            format!("{table}#{store}#{subject}"),
            None,
            false,
            &page,
        )
        .await
    }

    async fn by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        day: StoreDay,
        action: Option<&str>,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        let sk = action.map(|a| ("gsi_day_sk", format!("{a}#")));
        self.query_index(
            "by_day_action",
            "gsi_day_pk",
            format!("{table}#{store}#{day}"),
            sk,
            true,
            &page,
        )
        .await
    }

    async fn by_status(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        self.query_index(
            "by_status",
            "gsi_status_pk",
            status_pk(table, store, status),
            None,
            true,
            &page,
        )
        .await
    }

    async fn keys_by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        q: &DayKeys,
    ) -> Result<Vec<RowKey>> {
        let queries = keys::day_action_queries(table, store, q);
        let mut out: Vec<RowKey> = keys::run_all(&self.client, &self.audit, queries)
            .await?
            .into_iter()
            .filter(|k| q.admits(k))
            .collect();
        out.sort_by(|a, b| {
            (a.day, &a.action, a.row_ref.seq).cmp(&(b.day, &b.action, b.row_ref.seq))
        });
        Ok(out)
    }

    async fn keys_by_status_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Result<Vec<RowKey>> {
        let q = keys::KeysQuery::by_status_action(table, store, status, action);
        keys::run_all(&self.client, &self.audit, vec![q]).await
    }

    async fn keys_by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
    ) -> Result<Vec<RowKey>> {
        let q = keys::KeysQuery::by_subject(table, store, subject);
        keys::run_all(&self.client, &self.audit, vec![q]).await
    }

    async fn transition(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        attempts::check_transition(row_ref, from, to)?;
        attempts::check_body(row_ref, body.as_ref())?;
        let current = self.must_get(row_ref).await?;
        if current.status != from {
            return Err(StoreError::Conflict(format!(
                "{row_ref} is {}, not {from}",
                current.status
            )));
        }
        let updated = AuditRow {
            status: to,
            updated_at: at,
            body: body.unwrap_or(current.body.clone()),
            ..current
        };
        let cond = RowCondition::Status(from);
        self.rewrite_row(&updated, cond, fence).await
    }

    async fn claim(
        &self,
        row_ref: RowRef,
        from: RowStatus,
        attempt: &Attempt,
        body: Option<RowBody>,
        now: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        attempts::check_body(row_ref, body.as_ref())?;
        let current = self.must_get(row_ref).await?;
        attempts::check_claim(&current, from, attempt, now)?;
        // Conditional on what was read: the status, and the (expired) attempt it had.
        let cond = RowCondition::StatusAndAttempt(from, current.attempt.clone().map(|a| a.id));
        let updated = attempts::claimed(current, attempt, body, now);
        self.rewrite_row(&updated, cond, fence).await
    }

    async fn settle_attempt(
        &self,
        row_ref: RowRef,
        attempt_id: &str,
        to: RowStatus,
        body: Option<RowBody>,
        at: DateTime<Utc>,
        fence: Option<&Fence>,
    ) -> Result<AuditRow> {
        attempts::check_body(row_ref, body.as_ref())?;
        let current = self.must_get(row_ref).await?;
        attempts::check_settle(&current, attempt_id, to)?;
        let updated = attempts::settled(current, to, body, at);
        let cond =
            RowCondition::StatusAndAttempt(RowStatus::Applying, Some(attempt_id.to_string()));
        self.rewrite_row(&updated, cond, fence).await
    }

    async fn list_table(&self, table: AuditTable, page: PageReq) -> Result<Page<AuditRow>> {
        // Export only, never on a hot path: a Scan filtered to the table's rows. (Walking the
        // sequence with BatchGetItem would cost O(highest ref), which imports can make huge.)
        let res = self
            .client
            .scan()
            .table_name(&self.audit)
            .filter_expression("tbl = :t AND attribute_exists(seq)")
            .expression_attribute_values(":t", s(table.as_str()))
            .limit(limit_of(&page))
            .consistent_read(true)
            .set_exclusive_start_key(decode_cursor(&page.cursor)?)
            .send()
            .await
            .map_err(|e| sdk_err("Scan (export)", e))?;
        Ok(Page {
            items: res
                .items()
                .iter()
                .map(row_from_item)
                .collect::<Result<_>>()?,
            next: encode_cursor(res.last_evaluated_key()),
        })
    }

    async fn import(&self, rows: Vec<AuditRow>) -> Result<ImportStats> {
        // DynamoDB has no transaction large enough for a whole import, so: check every row
        // first (nothing is written if any conflicts), then write each row with conditional puts.
        // A crash part-way is resolved by running the same import again (present rows are skipped).
        let mut stats = ImportStats::default();
        let existing: HashMap<String, Item> = self
            .batch_get(
                &self.audit,
                rows.iter().map(|r| row_pk(&r.row_ref)).collect(),
            )
            .await?
            .into_iter()
            .filter_map(|i| get_s(&i, "pk").ok().map(|pk| (pk.to_string(), i.clone())))
            .collect();
        let guards: HashMap<String, String> = self
            .batch_get(
                &self.audit,
                rows.iter()
                    .map(|r| nk_pk(r.row_ref.table, &r.natural_key))
                    .collect(),
            )
            .await?
            .into_iter()
            .filter_map(|i| {
                Some((
                    get_s(&i, "pk").ok()?.to_string(),
                    get_s(&i, "ref").ok()?.to_string(),
                ))
            })
            .collect();
        let mut to_write = Vec::new();
        for row in &rows {
            if let Some(item) = existing.get(&row_pk(&row.row_ref)) {
                if row_from_item(item)? == *row {
                    stats.already_present += 1;
                    continue;
                }
                return Err(StoreError::Conflict(format!(
                    "{} exists with different content",
                    row.row_ref
                )));
            }
            if let Some(owner) = guards.get(&nk_pk(row.row_ref.table, &row.natural_key)) {
                return Err(StoreError::Conflict(format!(
                    "{}: natural key {:?} already belongs to {owner}",
                    row.row_ref, row.natural_key
                )));
            }
            to_write.push(row);
        }
        let mut max_seq: BTreeMap<AuditTable, u64> = BTreeMap::new();
        for row in to_write {
            let items = vec![
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.audit)
                            .item("pk", s(nk_pk(row.row_ref.table, &row.natural_key)))
                            .item("ref", s(row.row_ref.to_string()))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.audit)
                            .set_item(Some(row_item(row)))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(build_err)?,
                    )
                    .build(),
            ];
            if let TxResult::Cancelled(_) = self.transact(items).await? {
                return Err(StoreError::Conflict(format!(
                    "{} was written concurrently",
                    row.row_ref
                )));
            }
            stats.written += 1;
            let m = max_seq.entry(row.row_ref.table).or_default();
            *m = (*m).max(row.row_ref.seq);
        }
        // Keep each sequence ahead of the imported refs.
        for (table, seq) in max_seq {
            let res = self
                .client
                .update_item()
                .table_name(&self.audit)
                .key("pk", s(format!("seq#{table}")))
                .update_expression("SET #last = :s")
                .condition_expression("attribute_not_exists(#last) OR #last < :s")
                .expression_attribute_names("#last", "last")
                .expression_attribute_values(":s", n(seq))
                .send()
                .await;
            if let Err(e) = res {
                if !e
                    .as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception())
                {
                    return Err(sdk_err("UpdateItem seq", e));
                }
            }
            self.seq_blocks.lock().await.remove(&table);
        }
        Ok(stats)
    }
}

fn idem_from_item(item: &Item) -> Result<IdemRecord> {
    Ok(IdemRecord {
        key: get_s(item, "pk")?.trim_start_matches("idem#").to_string(),
        status: match get_s(item, "status")? {
            "INPROGRESS" => IdemStatus::InProgress,
            "COMPLETED" => IdemStatus::Completed,
            other => return Err(StoreError::Invalid(format!("idempotency status {other:?}"))),
        },
        payload_hash: get_s(item, "payload_hash")?.to_string(),
        result: item.get("result").and_then(|v| v.as_s().ok()).cloned(),
        expires_at: get_n(item, "expires_at")?,
        in_progress_expires_at_ms: get_n(item, "in_progress_expires_at_ms")?,
        attempt: get_s(item, "attempt")?.to_string(),
    })
}

#[async_trait]
impl IdempotencyStore for DynamoStore {
    async fn try_begin(&self, rec: &IdemRecord, now_s: i64, now_ms: i64) -> Result<Begin> {
        let res = self
            .client
            .put_item()
            .table_name(&self.state)
            .item("pk", s(format!("idem#{}", rec.key)))
            .item("status", s("INPROGRESS"))
            .item("payload_hash", s(rec.payload_hash.clone()))
            .item("expires_at", n(rec.expires_at))
            .item("in_progress_expires_at_ms", n(rec.in_progress_expires_at_ms))
            .item("attempt", s(rec.attempt.clone()))
            .condition_expression(
                "attribute_not_exists(pk) OR expires_at < :now OR (#st = :inprogress AND in_progress_expires_at_ms < :now_ms)",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":now", n(now_s))
            .expression_attribute_values(":now_ms", n(now_ms))
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(_) => Ok(Begin::Started),
            Err(e) => {
                if let Some(PutItemError::ConditionalCheckFailedException(c)) = e.as_service_error()
                {
                    if let Some(old) = c.item() {
                        return Ok(Begin::Existing(idem_from_item(old)?));
                    }
                    // Emulators that omit ALL_OLD: read it.
                    return match self.state_item(format!("idem#{}", rec.key)).await? {
                        Some(old) => Ok(Begin::Existing(idem_from_item(&old)?)),
                        None => Err(StoreError::Transient("idempotency record vanished".into())),
                    };
                }
                Err(sdk_err("PutItem idempotency", e))
            }
        }
    }

    async fn complete(
        &self,
        key: &str,
        attempt: &str,
        result: &str,
        expires_at: i64,
    ) -> Result<()> {
        let res = self
            .client
            .update_item()
            .table_name(&self.state)
            .key("pk", s(format!("idem#{key}")))
            .update_expression("SET #st = :done, #res = :res, expires_at = :exp")
            .condition_expression("attempt = :attempt AND #st = :inprogress")
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#res", "result")
            .expression_attribute_values(":done", s("COMPLETED"))
            .expression_attribute_values(":res", s(result))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":attempt", s(attempt))
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict(format!(
                    "idempotency record {key:?} is no longer owned by attempt {attempt}"
                )))
            }
            Err(e) => Err(sdk_err("UpdateItem idempotency", e)),
        }
    }

    async fn abandon(&self, key: &str, attempt: &str) -> Result<()> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.state)
            .key("pk", s(format!("idem#{key}")))
            .condition_expression("attempt = :attempt AND #st = :inprogress")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":attempt", s(attempt))
            .expression_attribute_values(":inprogress", s("INPROGRESS"))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_err("DeleteItem idempotency", e)),
        }
    }

    async fn get_record(&self, key: &str) -> Result<Option<IdemRecord>> {
        self.state_item(format!("idem#{key}"))
            .await?
            .map(|i| idem_from_item(&i))
            .transpose()
    }
}

fn lease_from_item(item: &Item) -> Result<Lease> {
    Ok(Lease {
        name: get_s(item, "pk")?.trim_start_matches("lock#").to_string(),
        owner: get_s(item, "owner")?.to_string(),
        version: get_s(item, "version")?.to_string(),
        expires_at_ms: get_n(item, "expires_at_ms")?,
    })
}

#[async_trait]
impl LockStore for DynamoStore {
    async fn acquire(&self, name: &str, owner: &str, ttl_ms: i64, now_ms: i64) -> Result<Acquire> {
        for _ in 0..3 {
            let lease = Lease {
                name: name.to_string(),
                owner: owner.to_string(),
                version: ulid::Ulid::new().to_string(),
                expires_at_ms: now_ms + ttl_ms,
            };
            let res = self
                .client
                .put_item()
                .table_name(&self.state)
                .item("pk", s(format!("lock#{name}")))
                .item("owner", s(owner))
                .item("version", s(lease.version.clone()))
                .item("expires_at_ms", n(lease.expires_at_ms))
                .condition_expression("attribute_not_exists(pk) OR expires_at_ms <= :now")
                .expression_attribute_values(":now", n(now_ms))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .send()
                .await;
            let old = match res {
                Ok(_) => return Ok(Acquire::Acquired(lease)),
                Err(e) => match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => match c.item() {
                        Some(i) => lease_from_item(i)?,
                        None => match self.state_item(format!("lock#{name}")).await? {
                            Some(i) => lease_from_item(&i)?,
                            None => continue,
                        },
                    },
                    _ => return Err(sdk_err("PutItem lock", e)),
                },
            };
            if old.owner != owner {
                return Ok(Acquire::Held(old));
            }
            // Our own live lease: extend it, keeping its version (the fencing token).
            match self.renew(&old, ttl_ms, now_ms).await {
                Ok(l) => return Ok(Acquire::Acquired(l)),
                Err(StoreError::Fenced(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Transient(format!(
            "lock {name} kept changing hands"
        )))
    }

    async fn renew(&self, lease: &Lease, ttl_ms: i64, now_ms: i64) -> Result<Lease> {
        let res = self
            .client
            .update_item()
            .table_name(&self.state)
            .key("pk", s(format!("lock#{}", lease.name)))
            .update_expression("SET expires_at_ms = :exp")
            .condition_expression("version = :v")
            .expression_attribute_values(":exp", n(now_ms + ttl_ms))
            .expression_attribute_values(":v", s(lease.version.clone()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(Lease {
                expires_at_ms: now_ms + ttl_ms,
                ..lease.clone()
            }),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Fenced(format!(
                    "{} is no longer held at version {}",
                    lease.name, lease.version
                )))
            }
            Err(e) => Err(sdk_err("UpdateItem lock", e)),
        }
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.state)
            .key("pk", s(format!("lock#{}", lease.name)))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", s(lease.version.clone()))
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|se| se.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_err("DeleteItem lock", e)),
        }
    }

    async fn current(&self, name: &str) -> Result<Option<Lease>> {
        self.state_item(format!("lock#{name}"))
            .await?
            .map(|i| lease_from_item(&i))
            .transpose()
    }
}

#[async_trait]
impl Counters for DynamoStore {
    async fn add(
        &self,
        name: &str,
        delta: i64,
        limit: Option<i64>,
        token: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<CounterAdd> {
        let pk = format!("counter#{name}");
        let mut update = Update::builder()
            .table_name(&self.state)
            .key("pk", s(pk.clone()))
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":d", n(delta));
        update = match expires_at {
            Some(e) => update
                .update_expression("ADD #v :d SET expires_at = :e")
                .expression_attribute_values(":e", n(e)),
            None => update.update_expression("ADD #v :d"),
        };
        if let Some(lim) = limit {
            update = update
                .condition_expression("attribute_not_exists(#v) OR #v <= :max")
                .expression_attribute_values(":max", n(lim - delta));
            if delta > lim {
                return Ok(CounterAdd::LimitReached(self.value(name).await?));
            }
        }
        let update = update.build().map_err(build_err)?;
        match token {
            None => {
                // A single UpdateItem, returning the new value.
                let mut req = self
                    .client
                    .update_item()
                    .table_name(&self.state)
                    .key("pk", s(pk))
                    .update_expression(update.update_expression())
                    .set_expression_attribute_names(update.expression_attribute_names().cloned())
                    .set_expression_attribute_values(update.expression_attribute_values().cloned())
                    .return_values(ReturnValue::UpdatedNew)
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    );
                if let Some(c) = update.condition_expression() {
                    req = req.condition_expression(c);
                }
                match req.send().await {
                    Ok(out) => Ok(CounterAdd::Added(
                        out.attributes().map(|a| get_n(a, "value")).transpose()?.unwrap_or(delta),
                    )),
                    Err(e) => match e.as_service_error() {
                        Some(aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c)) => {
                            let v = c.item().map(|i| get_n(i, "value")).transpose()?;
                            match v {
                                Some(v) => Ok(CounterAdd::LimitReached(v)),
                                None => Ok(CounterAdd::LimitReached(self.value(name).await?)),
                            }
                        }
                        _ => Err(sdk_err("UpdateItem counter", e)),
                    },
                }
            }
            Some(t) => {
                // The token marker and the counter move together, or not at all.
                let mut marker = Put::builder()
                    .table_name(&self.state)
                    .item("pk", s(format!("ctok#{name}#{t}")))
                    .condition_expression("attribute_not_exists(pk)");
                if let Some(e) = expires_at {
                    marker = marker.item("expires_at", n(e));
                }
                let items = vec![
                    TransactWriteItem::builder()
                        .put(marker.build().map_err(build_err)?)
                        .build(),
                    TransactWriteItem::builder().update(update).build(),
                ];
                match self.transact(items).await? {
                    TxResult::Ok => Ok(CounterAdd::Added(self.value(name).await?)),
                    TxResult::Cancelled(reasons) => {
                        let v = self.value(name).await?;
                        if reasons.first().is_some_and(is_ccf) {
                            Ok(CounterAdd::AlreadyCounted(v))
                        } else if reasons.get(1).is_some_and(is_ccf) {
                            Ok(CounterAdd::LimitReached(v))
                        } else {
                            Err(StoreError::Transient(format!(
                                "counter {name} kept conflicting"
                            )))
                        }
                    }
                }
            }
        }
    }

    async fn value(&self, name: &str) -> Result<i64> {
        Ok(self
            .state_item(format!("counter#{name}"))
            .await?
            .map(|i| get_n(&i, "value"))
            .transpose()?
            .unwrap_or(0))
    }
}

#[async_trait]
impl Settings for DynamoStore {
    async fn get_setting(&self, store: &StoreId, key: &str) -> Result<Option<Value>> {
        self.state_item(format!("setting#{store}#{key}"))
            .await?
            .map(|i| Ok(serde_json::from_str(get_s(&i, "value")?)?))
            .transpose()
    }

    async fn put_setting(&self, store: &StoreId, key: &str, value: &Value) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.state)
            .item("pk", s(format!("setting#{store}#{key}")))
            .item("value", s(value.to_string()))
            .send()
            .await
            .map_err(|e| sdk_err("PutItem setting", e))?;
        Ok(())
    }

    async fn replace_setting(
        &self,
        store: &StoreId,
        key: &str,
        expected: Option<&Value>,
        value: &Value,
    ) -> Result<()> {
        let changed = || StoreError::Conflict(format!("setting {key} changed since it was read"));
        // The condition compares the stored text; a value stored in another spelling of the
        // same JSON is retried once on its own text.
        let mut old_text = expected.map(Value::to_string);
        for _ in 0..2 {
            let put = self
                .client
                .put_item()
                .table_name(&self.state)
                .item("pk", s(format!("setting#{store}#{key}")))
                .item("value", s(value.to_string()))
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
            let put = match &old_text {
                None => put.condition_expression("attribute_not_exists(pk)"),
                Some(t) => put
                    .condition_expression("#v = :old")
                    .expression_attribute_names("#v", "value")
                    .expression_attribute_values(":old", s(t.clone())),
            };
            let err = match put.send().await {
                Ok(_) => return Ok(()),
                Err(e) => e,
            };
            let Some(PutItemError::ConditionalCheckFailedException(c)) = err.as_service_error()
            else {
                return Err(sdk_err("PutItem setting", err));
            };
            let stored = c
                .item()
                .and_then(|i| get_s(i, "value").ok())
                .map(String::from);
            let same = match (&stored, expected) {
                (Some(t), Some(e)) => serde_json::from_str::<Value>(t).ok().as_ref() == Some(e),
                _ => false,
            };
            if !same || stored == old_text {
                return Err(changed());
            }
            old_text = stored;
        }
        Err(changed())
    }
}

/// A day of a SKU's store sales (sk `<sku>#<day>`), expiring through the catalog table's TTL
/// (`expires_at`, epoch seconds) as many days after the sale as a metrics series keeps.
fn sales_item(store: &StoreId, x: &SkuSales) -> Result<Item> {
    let mut item = catalog_item(
        format!("sales#{store}"),
        &format!("{}#{}", x.sku, x.day),
        serde_json::to_string(x)?,
    );
    let expires = x
        .day
        .plus_days(SERIES_DAYS as i64)
        .date()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp();
    item.insert("expires_at".into(), n(expires));
    Ok(item)
}

fn catalog_item(pk: String, sk: &str, body: String) -> Item {
    HashMap::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(sk)),
        ("body".to_string(), s(body)),
    ])
}

#[async_trait]
impl Catalog for DynamoStore {
    async fn upsert_variants(&self, store: &StoreId, variants: &[Variant]) -> Result<()> {
        // Write only what changed: reading the catalog is one Query per ~1 MB, writing it one
        // BatchWriteItem per 25 variants.
        let stored: HashMap<String, String> = self
            .query_all(&self.catalog, format!("variant#{store}"))
            .await?
            .iter()
            .filter_map(|i| {
                Some((
                    get_s(i, "sk").ok()?.to_string(),
                    get_s(i, "body").ok()?.to_string(),
                ))
            })
            .collect();
        let mut changed = Vec::new();
        for v in variants {
            let body = serde_json::to_string(v)?;
            if stored.get(v.sku.as_str()) != Some(&body) {
                changed.push(v);
            }
        }
        let items = changed
            .into_iter()
            .map(|v| {
                Ok(catalog_item(
                    format!("variant#{store}"),
                    v.sku.as_str(),
                    serde_json::to_string(v)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(&self.catalog, items).await
    }

    async fn variants(&self, store: &StoreId) -> Result<Vec<Variant>> {
        self.query_all(&self.catalog, format!("variant#{store}"))
            .await?
            .iter()
            .map(|i| Ok(serde_json::from_str(get_s(i, "body")?)?))
            .collect()
    }

    async fn variant(&self, store: &StoreId, sku: &Sku) -> Result<Option<Variant>> {
        self.get_item(
            &self.catalog,
            HashMap::from([
                ("pk".to_string(), s(format!("variant#{store}"))),
                ("sk".to_string(), s(sku.as_str())),
            ]),
        )
        .await?
        .map(|i| Ok(serde_json::from_str(get_s(&i, "body")?)?))
        .transpose()
    }

    async fn variants_in(&self, store: &StoreId, first: &Sku, last: &Sku) -> Result<Vec<Variant>> {
        self.query_range(
            &self.catalog,
            format!("variant#{store}"),
            Some((first.to_string(), last.to_string())),
        )
        .await?
        .iter()
        .map(|i| Ok(serde_json::from_str(get_s(i, "body")?)?))
        .collect()
    }

    async fn put_metrics(&self, store: &StoreId, metrics: &[DailyMetric]) -> Result<()> {
        // Series blocks of SERIES_BLOCK SKUs (see `series_block`): read the store's blocks, merge
        // the new days in (existing days are kept), cut the SKUs into blocks again and write only
        // the blocks that changed, then delete the items no block is keyed by any more.
        if metrics.is_empty() {
            return Ok(());
        }
        let pk = format!("series#{store}");
        let mut all: BTreeMap<String, Series> = BTreeMap::new();
        let mut existing: HashMap<String, String> = HashMap::new();
        for item in self.query_all(&self.catalog, pk.clone()).await? {
            let (sk, block) = series_block(&item)?;
            existing.insert(
                sk,
                item.get("block")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default(),
            );
            all.extend(block);
        }
        let mut touched: std::collections::BTreeSet<&str> = Default::default();
        for m in metrics {
            all.entry(m.sku.to_string()).or_default().put(m)?;
            touched.insert(m.sku.as_str());
        }
        for sku in touched {
            if let Some(series) = all.get_mut(sku) {
                series.trim(SERIES_DAYS);
            }
        }
        let skus: Vec<&String> = all.keys().collect();
        let mut puts = Vec::new();
        let mut keep: std::collections::HashSet<&str> = Default::default();
        for chunk in skus.chunks(SERIES_BLOCK) {
            let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
                continue;
            };
            let block: BTreeMap<&str, &Series> = chunk
                .iter()
                .filter_map(|k| all.get(k.as_str()).map(|v| (k.as_str(), v)))
                .collect();
            let json = serde_json::to_string(&block)?;
            keep.insert(last.as_str());
            let unchanged = existing.get(last.as_str()).is_some_and(|old| *old == json);
            if !unchanged {
                puts.push(HashMap::from([
                    ("pk".to_string(), s(pk.clone())),
                    ("sk".to_string(), s(last.as_str())),
                    ("first".to_string(), s(first.as_str())),
                    ("block".to_string(), s(json)),
                ]));
            }
        }
        let deletes: Vec<Item> = existing
            .keys()
            .filter(|sk| !keep.contains(sk.as_str()))
            .map(|sk| {
                HashMap::from([
                    ("pk".to_string(), s(pk.clone())),
                    ("sk".to_string(), s(sk.as_str())),
                ])
            })
            .collect();
        // New blocks first: a reader between the two steps sees a SKU twice (the same days),
        // never not at all.
        self.batch_put(&self.catalog, puts).await?;
        self.batch_delete(&self.catalog, deletes).await
    }

    async fn metrics(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>> {
        self.series_range(store, None, from, to).await
    }

    async fn metrics_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<DailyMetric>> {
        self.series_range(store, Some((first, last)), from, to)
            .await
    }

    async fn put_sales(&self, store: &StoreId, sales: &[SkuSales]) -> Result<()> {
        // One partition per store, sorted by SKU then day (sk `<sku>#<day>`): a chunk's slice is
        // one Query.
        let items = sales
            .iter()
            .map(|x| sales_item(store, x))
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(&self.catalog, items).await
    }

    async fn sales_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<SkuSales>> {
        // The sort key orders `<sku>#` slightly differently from the SKUs themselves at the
        // edges: read a little wider, then keep exactly the slice and the days.
        let items = self
            .query_range(
                &self.catalog,
                format!("sales#{store}"),
                Some((first.to_string(), format!("{last}\u{10FFFF}"))),
            )
            .await?;
        let mut out = Vec::new();
        for i in &items {
            let x: SkuSales = serde_json::from_str(get_s(i, "body")?)?;
            if &x.sku >= first && &x.sku <= last && x.day >= from && x.day <= to {
                out.push(x);
            }
        }
        out.sort_by(|a, b| (&a.sku, a.day).cmp(&(&b.sku, b.day)));
        Ok(out)
    }

    async fn put_campaign_days(&self, store: &StoreId, days: &[CampaignDay]) -> Result<()> {
        // One partition per store, sorted by day: a window is one Query (sk `<day>#<campaign>`).
        let items = days
            .iter()
            .map(|d| {
                Ok(catalog_item(
                    format!("campaigns#{store}"),
                    &format!("{}#{}", d.day, d.campaign_id),
                    serde_json::to_string(d)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(&self.catalog, items).await
    }

    async fn campaign_days(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>> {
        // `~` sorts after `#`: the upper bound takes in every campaign of day `to`.
        self.query_range(
            &self.catalog,
            format!("campaigns#{store}"),
            Some((from.to_string(), format!("{to}~"))),
        )
        .await?
        .iter()
        .map(|i| Ok(serde_json::from_str(get_s(i, "body")?)?))
        .collect()
    }

    async fn put_budgets(&self, store: &StoreId, budgets: &[CampaignBudget]) -> Result<()> {
        // A snapshot: budgets no longer present are removed.
        let pk = format!("budgets#{store}");
        let keep: std::collections::HashSet<&str> =
            budgets.iter().map(|b| b.campaign_id.as_str()).collect();
        for old in self.query_all(&self.catalog, pk.clone()).await? {
            let sk = get_s(&old, "sk")?.to_string();
            if !keep.contains(sk.as_str()) {
                self.client
                    .delete_item()
                    .table_name(&self.catalog)
                    .key("pk", s(pk.clone()))
                    .key("sk", s(sk))
                    .send()
                    .await
                    .map_err(|e| sdk_err("DeleteItem budget", e))?;
            }
        }
        let items = budgets
            .iter()
            .map(|b| {
                Ok(catalog_item(
                    pk.clone(),
                    &b.campaign_id,
                    serde_json::to_string(b)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        self.batch_put(&self.catalog, items).await
    }

    async fn budgets(&self, store: &StoreId) -> Result<Vec<CampaignBudget>> {
        self.query_all(&self.catalog, format!("budgets#{store}"))
            .await?
            .iter()
            .map(|i| Ok(serde_json::from_str(get_s(i, "body")?)?))
            .collect()
    }

    async fn open_window(&self, store: &StoreId, w: &OpenWindow) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.catalog)
            .item("pk", s(format!("windows#{store}")))
            .item("sk", s(format!("{}#{}", w.ends_on, w.sku)))
            .item("row_ref", s(w.row_ref.clone()))
            .send()
            .await
            .map_err(|e| sdk_err("PutItem window", e))?;
        Ok(())
    }

    async fn windows_ending_by(&self, store: &StoreId, day: StoreDay) -> Result<Vec<OpenWindow>> {
        // Sort key `<ends_on>#<sku>`: everything up to the end of `day` ('#' < '~').
        self.window_query(store, Some(format!("{day}#~"))).await
    }

    async fn open_windows(&self, store: &StoreId) -> Result<Vec<OpenWindow>> {
        self.window_query(store, None).await
    }

    async fn close_window(&self, store: &StoreId, w: &OpenWindow) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.catalog)
            .key("pk", s(format!("windows#{store}")))
            .key("sk", s(format!("{}#{}", w.ends_on, w.sku)))
            .send()
            .await
            .map_err(|e| sdk_err("DeleteItem window", e))?;
        Ok(())
    }
}

#[async_trait]
impl EventBus for DynamoStore {
    /// The DynamoDB adapter has no bus of its own; [`super::ports`] pairs it with EventBridge.
    async fn publish(&self, _events: &[OttoEvent]) -> Result<()> {
        Err(StoreError::Backend(
            "events go to EventBridge, not DynamoDB".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otto_core::money::{Currency, Money};

    #[test]
    fn sales_rows_expire_like_a_metrics_series() {
        let store = StoreId::new("shop-1").unwrap();
        let x = SkuSales {
            sku: Sku::new("SKU-1").unwrap(),
            day: StoreDay::parse("2026-11-24").unwrap(),
            units: 2,
            revenue: Money::parse("80.00", Currency::EUR).unwrap(),
            orders: 1,
        };
        let item = sales_item(&store, &x).unwrap();
        // 2026-11-24 + 120 days = 2027-03-24, 00:00 UTC.
        assert_eq!(get_n(&item, "expires_at").unwrap(), 1_805_846_400);
        assert_eq!(get_s(&item, "sk").unwrap(), "SKU-1#2026-11-24");
    }
}
