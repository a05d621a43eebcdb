use super::{now_ms, sql_err, EmbeddedStore};
use crate::error::StoreError;
use crate::ports::*;
use async_trait::async_trait;
use otto_core::lock::Lease;
use otto_core::metrics::{CampaignBudget, CampaignDay, DailyMetric, OpenWindow, SkuSales, Variant};
use otto_core::{Sku, StoreDay, StoreId};
use rusqlite::{params, OptionalExtension};
use serde_json::Value;

/// key, status, payload_hash, result, expires_at, in_progress_expires_at_ms, attempt
type IdemTuple = (String, String, String, Option<String>, i64, i64, String);

fn idem_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IdemTuple> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_record(t: IdemTuple) -> Result<IdemRecord> {
    let status = match t.1.as_str() {
        "INPROGRESS" => IdemStatus::InProgress,
        "COMPLETED" => IdemStatus::Completed,
        other => return Err(StoreError::Invalid(format!("idempotency status {other:?}"))),
    };
    Ok(IdemRecord {
        key: t.0,
        status,
        payload_hash: t.2,
        result: t.3,
        expires_at: t.4,
        in_progress_expires_at_ms: t.5,
        attempt: t.6,
    })
}

const IDEM_COLS: &str =
    "key, status, payload_hash, result, expires_at, in_progress_expires_at_ms, attempt";

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn try_begin(&self, rec: &IdemRecord, now_s: i64, now_ms: i64) -> Result<Begin> {
        self.write_tx(|tx| {
            let existing = tx
                .query_row(
                    &format!("SELECT {IDEM_COLS} FROM idempotency WHERE key = ?1"),
                    params![rec.key],
                    idem_from_row,
                )
                .optional()
                .map_err(sql_err)?
                .map(to_record)
                .transpose()?;
            if let Some(e) = existing {
                let void = e.expires_at < now_s
                    || (e.status == IdemStatus::InProgress && e.in_progress_expires_at_ms < now_ms);
                if !void {
                    return Ok(Begin::Existing(e));
                }
            }
            tx.execute(
                "INSERT OR REPLACE INTO idempotency (key, status, payload_hash, result, expires_at, in_progress_expires_at_ms, attempt)
                 VALUES (?1, 'INPROGRESS', ?2, NULL, ?3, ?4, ?5)",
                params![rec.key, rec.payload_hash, rec.expires_at, rec.in_progress_expires_at_ms, rec.attempt],
            )
            .map_err(sql_err)?;
            Ok(Begin::Started)
        })
    }

    async fn complete(
        &self,
        key: &str,
        attempt: &str,
        result: &str,
        expires_at: i64,
    ) -> Result<()> {
        let n = self
            .conn()
            .execute(
                "UPDATE idempotency SET status = 'COMPLETED', result = ?1, expires_at = ?2
                 WHERE key = ?3 AND attempt = ?4 AND status = 'INPROGRESS'",
                params![result, expires_at, key, attempt],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "idempotency record {key:?} is no longer owned by attempt {attempt}"
            )));
        }
        Ok(())
    }

    async fn abandon(&self, key: &str, attempt: &str) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM idempotency WHERE key = ?1 AND attempt = ?2 AND status = 'INPROGRESS'",
                params![key, attempt],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    async fn get_record(&self, key: &str) -> Result<Option<IdemRecord>> {
        self.conn()
            .query_row(
                &format!("SELECT {IDEM_COLS} FROM idempotency WHERE key = ?1"),
                params![key],
                idem_from_row,
            )
            .optional()
            .map_err(sql_err)?
            .map(to_record)
            .transpose()
    }
}

fn new_lease(name: &str, owner: &str, ttl_ms: i64, now_ms: i64) -> Lease {
    Lease {
        name: name.to_string(),
        owner: owner.to_string(),
        version: ulid::Ulid::new().to_string(),
        expires_at_ms: now_ms + ttl_ms,
    }
}

fn lease_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Lease> {
    Ok(Lease {
        name: r.get(0)?,
        owner: r.get(1)?,
        version: r.get(2)?,
        expires_at_ms: r.get(3)?,
    })
}

/// Whether the process `pid` on this machine is still running. Only Linux can tell (`/proc`);
/// elsewhere every holder counts as alive and its lease has to lapse.
fn process_alive(pid: u32) -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    std::path::Path::new("/proc").join(pid.to_string()).exists()
}

/// A live lease held by another process of this machine that is gone: nobody works under it.
fn holder_gone(holder_pid: Option<u32>) -> bool {
    holder_pid.is_some_and(|p| p != std::process::id() && !process_alive(p))
}

#[async_trait]
impl LockStore for EmbeddedStore {
    async fn acquire(&self, name: &str, owner: &str, ttl_ms: i64, now_ms: i64) -> Result<Acquire> {
        self.write_tx(|tx| {
            let current = tx
                .query_row(
                    "SELECT name, owner, version, expires_at_ms, holder_pid FROM locks WHERE name = ?1",
                    params![name],
                    |r| Ok((lease_row(r)?, r.get::<_, Option<u32>>(4)?)),
                )
                .optional()
                .map_err(sql_err)?;
            let lease = match current {
                Some((l, pid)) if !l.is_lapsed(now_ms) && l.owner != owner => {
                    if !holder_gone(pid) {
                        return Ok(Acquire::Held(l));
                    }
                    tracing::warn!(
                        "{name} was held by {} in process {} which is gone; taken over without waiting for its lease",
                        l.owner,
                        pid.unwrap_or_default()
                    );
                    new_lease(name, owner, ttl_ms, now_ms)
                }
                // Our own live lease: keep the version so in-flight fenced work stays valid.
                Some((l, _)) if !l.is_lapsed(now_ms) => Lease {
                    expires_at_ms: now_ms + ttl_ms,
                    ..l
                },
                _ => new_lease(name, owner, ttl_ms, now_ms),
            };
            tx.execute(
                "INSERT OR REPLACE INTO locks (name, owner, version, expires_at_ms, holder_pid) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![lease.name, lease.owner, lease.version, lease.expires_at_ms, std::process::id()],
            )
            .map_err(sql_err)?;
            Ok(Acquire::Acquired(lease))
        })
    }

    async fn renew(&self, lease: &Lease, ttl_ms: i64, now_ms: i64) -> Result<Lease> {
        let n = self
            .conn()
            .execute(
                "UPDATE locks SET expires_at_ms = ?1 WHERE name = ?2 AND version = ?3",
                params![now_ms + ttl_ms, lease.name, lease.version],
            )
            .map_err(sql_err)?;
        if n == 0 {
            return Err(StoreError::Fenced(format!(
                "{} is no longer held at version {}",
                lease.name, lease.version
            )));
        }
        Ok(Lease {
            expires_at_ms: now_ms + ttl_ms,
            ..lease.clone()
        })
    }

    async fn release(&self, lease: &Lease) -> Result<bool> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM locks WHERE name = ?1 AND version = ?2",
                params![lease.name, lease.version],
            )
            .map_err(sql_err)?;
        Ok(n > 0)
    }

    async fn current(&self, name: &str) -> Result<Option<Lease>> {
        self.conn()
            .query_row(
                "SELECT name, owner, version, expires_at_ms FROM locks WHERE name = ?1",
                params![name],
                lease_row,
            )
            .optional()
            .map_err(sql_err)
    }
}

#[async_trait]
impl Counters for EmbeddedStore {
    async fn add(
        &self,
        name: &str,
        delta: i64,
        limit: Option<i64>,
        token: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<CounterAdd> {
        self.write_tx(|tx| {
            // `expires_at` only lets DynamoDB's TTL clean a finished window up; windows are
            // part of the counter's name (e.g. the ISO week), so the value is never reset here.
            let value: i64 = tx
                .query_row("SELECT value FROM counters WHERE name = ?1", params![name], |r| r.get(0))
                .optional()
                .map_err(sql_err)?
                .unwrap_or(0);
            if let Some(t) = token {
                let seen: Option<i64> = tx
                    .query_row(
                        "SELECT 1 FROM counter_tokens WHERE name = ?1 AND token = ?2",
                        params![name, t],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                if seen.is_some() {
                    return Ok(CounterAdd::AlreadyCounted(value));
                }
            }
            if let Some(lim) = limit {
                if value + delta > lim {
                    return Ok(CounterAdd::LimitReached(value));
                }
            }
            let new = value + delta;
            tx.execute(
                "INSERT OR REPLACE INTO counters (name, value, expires_at) VALUES (?1, ?2, COALESCE(?3, (SELECT expires_at FROM counters WHERE name = ?1)))",
                params![name, new, expires_at],
            )
            .map_err(sql_err)?;
            if let Some(t) = token {
                tx.execute(
                    "INSERT INTO counter_tokens (name, token) VALUES (?1, ?2)",
                    params![name, t],
                )
                .map_err(sql_err)?;
            }
            Ok(CounterAdd::Added(new))
        })
    }

    async fn value(&self, name: &str) -> Result<i64> {
        Ok(self
            .conn()
            .query_row(
                "SELECT value FROM counters WHERE name = ?1",
                params![name],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?
            .unwrap_or(0))
    }
}

#[async_trait]
impl Settings for EmbeddedStore {
    async fn get_setting(&self, store: &StoreId, key: &str) -> Result<Option<Value>> {
        let s: Option<String> = self
            .conn()
            .query_row(
                "SELECT value FROM settings WHERE store = ?1 AND key = ?2",
                params![store.as_str(), key],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        s.map(|s| serde_json::from_str(&s).map_err(StoreError::from))
            .transpose()
    }

    async fn put_setting(&self, store: &StoreId, key: &str, value: &Value) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO settings (store, key, value) VALUES (?1, ?2, ?3)",
                params![store.as_str(), key, value.to_string()],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    async fn replace_setting(
        &self,
        store: &StoreId,
        key: &str,
        expected: Option<&Value>,
        value: &Value,
    ) -> Result<()> {
        self.write_tx(|tx| {
            let stored: Option<String> = tx
                .query_row(
                    "SELECT value FROM settings WHERE store = ?1 AND key = ?2",
                    params![store.as_str(), key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            let stored: Option<Value> = stored.map(|s| serde_json::from_str(&s)).transpose()?;
            if stored.as_ref() != expected {
                return Err(StoreError::Conflict(format!(
                    "setting {key} changed since it was read"
                )));
            }
            tx.execute(
                "INSERT OR REPLACE INTO settings (store, key, value) VALUES (?1, ?2, ?3)",
                params![store.as_str(), key, value.to_string()],
            )
            .map_err(sql_err)?;
            Ok(())
        })
    }
}

#[async_trait]
impl Catalog for EmbeddedStore {
    async fn upsert_variants(&self, store: &StoreId, variants: &[Variant]) -> Result<()> {
        self.write_tx(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO variants (store, sku, body) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql_err)?;
            for v in variants {
                stmt.execute(params![
                    store.as_str(),
                    v.sku.as_str(),
                    serde_json::to_string(v)?
                ])
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn variants(&self, store: &StoreId) -> Result<Vec<Variant>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached("SELECT body FROM variants WHERE store = ?1 ORDER BY sku")
            .map_err(sql_err)?;
        let bodies = stmt
            .query_map(params![store.as_str()], |r| r.get::<_, String>(0))
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }

    async fn variant(&self, store: &StoreId, sku: &Sku) -> Result<Option<Variant>> {
        let b: Option<String> = self
            .conn()
            .query_row(
                "SELECT body FROM variants WHERE store = ?1 AND sku = ?2",
                params![store.as_str(), sku.as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        b.map(|b| serde_json::from_str(&b).map_err(StoreError::from))
            .transpose()
    }

    async fn variants_in(&self, store: &StoreId, first: &Sku, last: &Sku) -> Result<Vec<Variant>> {
        self.bodies(
            "SELECT body FROM variants WHERE store = ?1 AND sku >= ?2 AND sku <= ?3 ORDER BY sku",
            &[&store.as_str(), &first.as_str(), &last.as_str()],
        )
    }

    async fn put_metrics(&self, store: &StoreId, metrics: &[DailyMetric]) -> Result<()> {
        // Typed columns, not JSON: the morning cycle writes and reads these by the hundred
        // thousand. Inserted in key order, so the B-tree grows at its end.
        let mut metrics: Vec<&DailyMetric> = metrics.iter().collect();
        metrics.sort_by(|a, b| (&a.sku, a.day).cmp(&(&b.sku, b.day)));
        self.write_tx(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO metrics (store, day, sku, impressions, clicks, cost_micros, conversions_milli, value_micros, currency, provisional)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .map_err(sql_err)?;
            for m in metrics {
                if m.cost.currency() != m.conversion_value.currency() {
                    return Err(StoreError::Invalid(format!("{} {}: cost and value in different currencies", m.sku, m.day)));
                }
                stmt.execute(params![
                    store.as_str(),
                    m.day.to_string(),
                    m.sku.as_str(),
                    m.impressions as i64,
                    m.clicks as i64,
                    m.cost.micros(),
                    m.conversions_milli,
                    m.conversion_value.micros(),
                    m.cost.currency().code(),
                    m.provisional,
                ])
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn metrics(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<DailyMetric>> {
        self.metric_rows(
            "WHERE store = ?1 AND day >= ?2 AND day <= ?3 ORDER BY sku, day",
            &[&store.as_str(), &from.to_string(), &to.to_string()],
        )
    }

    async fn metrics_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<DailyMetric>> {
        self.metric_rows(
            "WHERE store = ?1 AND sku >= ?4 AND sku <= ?5 AND day >= ?2 AND day <= ?3 ORDER BY sku, day",
            &[&store.as_str(), &from.to_string(), &to.to_string(), &first.as_str(), &last.as_str()],
        )
    }

    async fn put_sales(&self, store: &StoreId, sales: &[SkuSales]) -> Result<()> {
        self.write_tx(|tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO sales (store, sku, day, body) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(sql_err)?;
            for s in sales {
                stmt.execute(params![
                    store.as_str(),
                    s.sku.as_str(),
                    s.day.to_string(),
                    serde_json::to_string(s)?
                ])
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn sales_for_skus(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        first: &Sku,
        last: &Sku,
    ) -> Result<Vec<SkuSales>> {
        self.bodies(
            "SELECT body FROM sales WHERE store = ?1 AND sku >= ?4 AND sku <= ?5 AND day >= ?2 AND day <= ?3 ORDER BY sku, day",
            &[&store.as_str(), &from.to_string(), &to.to_string(), &first.as_str(), &last.as_str()],
        )
    }

    async fn put_campaign_days(&self, store: &StoreId, days: &[CampaignDay]) -> Result<()> {
        self.write_tx(|tx| {
            let mut stmt = tx
                .prepare_cached("INSERT OR REPLACE INTO campaign_days (store, day, campaign_id, body) VALUES (?1, ?2, ?3, ?4)")
                .map_err(sql_err)?;
            for d in days {
                stmt.execute(params![store.as_str(), d.day.to_string(), d.campaign_id, serde_json::to_string(d)?])
                    .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn campaign_days(
        &self,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<Vec<CampaignDay>> {
        self.bodies(
            "SELECT body FROM campaign_days WHERE store = ?1 AND day >= ?2 AND day <= ?3 ORDER BY day, campaign_id",
            &[&store.as_str(), &from.to_string(), &to.to_string()],
        )
    }

    async fn put_budgets(&self, store: &StoreId, budgets: &[CampaignBudget]) -> Result<()> {
        self.write_tx(|tx| {
            tx.execute(
                "DELETE FROM budgets WHERE store = ?1",
                params![store.as_str()],
            )
            .map_err(sql_err)?;
            for b in budgets {
                tx.execute(
                    "INSERT INTO budgets (store, campaign_id, body) VALUES (?1, ?2, ?3)",
                    params![store.as_str(), b.campaign_id, serde_json::to_string(b)?],
                )
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }

    async fn budgets(&self, store: &StoreId) -> Result<Vec<CampaignBudget>> {
        self.bodies(
            "SELECT body FROM budgets WHERE store = ?1 ORDER BY campaign_id",
            &[&store.as_str()],
        )
    }

    async fn open_window(&self, store: &StoreId, w: &OpenWindow) -> Result<()> {
        self.conn()
            .execute(
                "INSERT OR REPLACE INTO windows (store, ends_on, sku, row_ref) VALUES (?1, ?2, ?3, ?4)",
                params![store.as_str(), w.ends_on.to_string(), w.sku.as_str(), w.row_ref],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    async fn windows_ending_by(&self, store: &StoreId, day: StoreDay) -> Result<Vec<OpenWindow>> {
        self.window_rows(
            "WHERE store = ?1 AND ends_on <= ?2 ORDER BY ends_on, sku",
            &[&store.as_str(), &day.to_string()],
        )
    }

    async fn open_windows(&self, store: &StoreId) -> Result<Vec<OpenWindow>> {
        self.window_rows("WHERE store = ?1 ORDER BY ends_on, sku", &[&store.as_str()])
    }

    async fn close_window(&self, store: &StoreId, w: &OpenWindow) -> Result<()> {
        self.conn()
            .execute(
                "DELETE FROM windows WHERE store = ?1 AND ends_on = ?2 AND sku = ?3",
                params![store.as_str(), w.ends_on.to_string(), w.sku.as_str()],
            )
            .map_err(sql_err)?;
        Ok(())
    }
}

impl EmbeddedStore {
    fn window_rows(&self, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<OpenWindow>> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT sku, ends_on, row_ref FROM windows {filter}"
            ))
            .map_err(sql_err)?;
        let raws = stmt
            .query_map(args, |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        raws.into_iter()
            .map(|(sku, ends_on, row_ref)| {
                Ok(OpenWindow {
                    sku: Sku::new(sku)?,
                    ends_on: StoreDay::parse(&ends_on)?,
                    row_ref,
                })
            })
            .collect()
    }

    fn metric_rows(&self, filter: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<DailyMetric>> {
        type Raw = (String, String, i64, i64, i64, i64, i64, String, bool);
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT day, sku, impressions, clicks, cost_micros, conversions_milli, value_micros, currency, provisional FROM metrics {filter}"
            ))
            .map_err(sql_err)?;
        let raws = stmt
            .query_map(args, |r| -> rusqlite::Result<Raw> {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        drop(stmt);
        drop(conn);
        let mut currency: Option<otto_core::Currency> = None;
        raws.into_iter()
            .map(
                |(day, sku, imp, clicks, cost, conv, value, cur, provisional)| {
                    let c = match currency {
                        Some(c) if c.code() == cur => c,
                        _ => {
                            let c = otto_core::Currency::new(&cur)?;
                            currency = Some(c);
                            c
                        }
                    };
                    Ok(DailyMetric {
                        sku: Sku::new(sku)?,
                        day: StoreDay::parse(&day)?,
                        impressions: imp as u64,
                        clicks: clicks as u64,
                        cost: otto_core::Money::from_micros(cost, c),
                        conversions_milli: conv,
                        conversion_value: otto_core::Money::from_micros(value, c),
                        provisional,
                    })
                },
            )
            .collect()
    }

    fn bodies<T: serde::de::DeserializeOwned>(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<T>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
        let bodies = stmt
            .query_map(args, |r| r.get::<_, String>(0))
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(StoreError::from))
            .collect()
    }
}

#[async_trait]
impl EventBus for EmbeddedStore {
    async fn publish(&self, events: &[OttoEvent]) -> Result<()> {
        self.write_tx(|tx| {
            for e in events {
                tx.execute(
                    "INSERT INTO events (detail_type, detail, at_ms) VALUES (?1, ?2, ?3)",
                    params![e.detail_type, e.detail.to_string(), now_ms()],
                )
                .map_err(sql_err)?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, EmbeddedStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = EmbeddedStore::open(dir.path()).unwrap();
        (dir, s)
    }

    fn hold_as(s: &EmbeddedStore, pid: u32, now_ms: i64) {
        s.conn()
            .execute(
                "INSERT OR REPLACE INTO locks (name, owner, version, expires_at_ms, holder_pid) VALUES ('morning|s', 'cycle-a', 'v1', ?1, ?2)",
                params![now_ms + 300_000, pid],
            )
            .unwrap();
    }

    #[tokio::test]
    async fn a_live_lease_of_a_dead_local_process_is_taken_over_at_once() {
        let (_d, s) = store();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        hold_as(&s, dead, 1_000);
        match s
            .acquire("morning|s", "cycle-b", 60_000, 1_000)
            .await
            .unwrap()
        {
            Acquire::Acquired(l) => assert!(l.owner == "cycle-b" && l.version != "v1"),
            Acquire::Held(l) => panic!("still held by {l:?}"),
        }
    }

    #[tokio::test]
    async fn a_live_lease_of_a_running_process_is_respected() {
        let (_d, s) = store();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        hold_as(&s, child.id(), 1_000);
        let got = s
            .acquire("morning|s", "cycle-b", 60_000, 1_000)
            .await
            .unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(matches!(got, Acquire::Held(l) if l.owner == "cycle-a"));
    }
}
