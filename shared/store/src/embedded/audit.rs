use super::{sql_err, EmbeddedStore};
use crate::attempts;
use crate::error::StoreError;
use crate::ports::*;
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::lock::Fence;
use otto_core::{Attempt, RowKey, RowStatus, StoreDay, StoreId};
use rusqlite::{params, OptionalExtension, Row, Transaction};
use std::collections::{BTreeMap, HashMap};

const COLS: &str =
    "tbl, seq, ulid, cycle_id, natural_key, status, created_at, updated_at, body, attempt";

pub(crate) fn ts(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn parse_ts(s: &str) -> std::result::Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| StoreError::Invalid(format!("timestamp {s:?}: {e}")))
}

type RawRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

fn raw(r: &Row<'_>) -> rusqlite::Result<RawRow> {
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
        r.get(9)?,
    ))
}

fn decode(r: RawRow) -> std::result::Result<AuditRow, StoreError> {
    let (tbl, seq, ulid, cycle_id, natural_key, status, created_at, updated_at, body, attempt) = r;
    let table: AuditTable = tbl.parse()?;
    Ok(AuditRow {
        row_ref: RowRef::new(table, seq as u64),
        ulid: ulid
            .parse()
            .map_err(|e| StoreError::Invalid(format!("ulid {ulid:?}: {e}")))?,
        cycle_id: CycleId::parse(&cycle_id)?,
        natural_key,
        status: status.parse()?,
        created_at: parse_ts(&created_at)?,
        updated_at: parse_ts(&updated_at)?,
        body: RowBody::from_json(table, serde_json::from_str(&body)?)?,
        attempt: attempt.map(|a| serde_json::from_str(&a)).transpose()?,
    })
}

fn attempt_json(row: &AuditRow) -> Option<String> {
    row.attempt
        .as_ref()
        .map(|a| serde_json::to_string(a).unwrap_or_default())
}

fn class_of(row: &AuditRow) -> Option<&'static str> {
    row.body.classification().map(|c| c.as_str())
}

/// Rewrites a row's moving parts (status, body and the fields derived from it, attempt).
fn update(tx: &Transaction<'_>, row: &AuditRow) -> std::result::Result<(), StoreError> {
    tx.execute(
        "UPDATE audit_rows SET status = ?1, updated_at = ?2, body = ?3, subject = ?4, action = ?5, attempt = ?6, class = ?7
         WHERE tbl = ?8 AND seq = ?9",
        params![
            row.status.as_str(),
            ts(&row.updated_at),
            row.body.to_json().to_string(),
            row.subject(),
            row.action_key(),
            attempt_json(row),
            class_of(row),
            row.row_ref.table.as_str(),
            row.row_ref.seq as i64
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn read(tx: &Transaction<'_>, row_ref: RowRef) -> std::result::Result<AuditRow, StoreError> {
    let sql = format!("SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND seq = ?2");
    let raw = tx
        .query_row(
            &sql,
            params![row_ref.table.as_str(), row_ref.seq as i64],
            raw,
        )
        .optional()
        .map_err(sql_err)?
        .ok_or_else(|| StoreError::NotFound(row_ref.to_string()))?;
    decode(raw)
}

pub(crate) fn check_fence(
    tx: &Transaction<'_>,
    fence: Option<&Fence>,
) -> std::result::Result<(), StoreError> {
    let Some(f) = fence else { return Ok(()) };
    let version: Option<String> = tx
        .query_row(
            "SELECT version FROM locks WHERE name = ?1",
            params![f.lock],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?;
    match version {
        Some(v) if v == f.version => Ok(()),
        Some(_) => Err(StoreError::Fenced(format!(
            "{} was taken over; token {} is stale",
            f.lock, f.version
        ))),
        None => Err(StoreError::Fenced(format!("{} is not held", f.lock))),
    }
}

fn insert(tx: &Transaction<'_>, row: &AuditRow) -> std::result::Result<(), StoreError> {
    tx.execute(
        "INSERT INTO audit_rows (tbl, seq, ulid, store, cycle_id, day, natural_key, status, subject, action, created_at, updated_at, body, attempt, class)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            row.row_ref.table.as_str(),
            row.row_ref.seq as i64,
            row.ulid.to_string(),
            row.store().as_str(),
            row.cycle_id.to_string(),
            row.day().to_string(),
            row.natural_key,
            row.status.as_str(),
            row.subject(),
            row.action_key(),
            ts(&row.created_at),
            ts(&row.updated_at),
            row.body.to_json().to_string(),
            attempt_json(row),
            class_of(row),
        ],
    )
    .map_err(sql_err)?;
    Ok(())
}

fn page_of(
    rows: Vec<AuditRow>,
    limit: usize,
    cursor_of: impl Fn(&AuditRow) -> String,
) -> Page<AuditRow> {
    let next = if rows.len() == limit && limit > 0 {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page { items: rows, next }
}

fn limit_of(p: &PageReq) -> usize {
    if p.limit == 0 {
        100
    } else {
        p.limit.min(1000)
    }
}

fn cursor_seq(p: &PageReq, default: i64) -> std::result::Result<i64, StoreError> {
    match &p.cursor {
        None => Ok(default),
        Some(c) => c
            .parse()
            .map_err(|_| StoreError::Invalid(format!("bad page cursor {c:?}"))),
    }
}

impl EmbeddedStore {
    fn query_rows(
        &self,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> std::result::Result<Vec<AuditRow>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
        let raws = stmt
            .query_map(args, raw)
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        drop(stmt);
        drop(conn);
        raws.into_iter().map(decode).collect()
    }
}

#[async_trait]
impl AuditLog for EmbeddedStore {
    async fn append(&self, rows: Vec<NewRow>, fence: Option<&Fence>) -> Result<Vec<Appended>> {
        self.write_tx(|tx| {
            check_fence(tx, fence)?;
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let table = row.table();
                if row.natural_key.is_empty() {
                    return Err(StoreError::Invalid("natural_key is empty".into()));
                }
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT seq FROM audit_rows WHERE tbl = ?1 AND natural_key = ?2",
                        params![table.as_str(), row.natural_key],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                if let Some(seq) = existing {
                    out.push(Appended {
                        row_ref: RowRef::new(table, seq as u64),
                        inserted: false,
                    });
                    continue;
                }
                let seq: i64 = tx
                    .query_row(
                        "INSERT INTO sequences (tbl, last) VALUES (?1, 1)
                         ON CONFLICT (tbl) DO UPDATE SET last = last + 1 RETURNING last",
                        params![table.as_str()],
                        |r| r.get(0),
                    )
                    .map_err(sql_err)?;
                let stored = AuditRow {
                    row_ref: RowRef::new(table, seq as u64),
                    ulid: ulid::Ulid::from_datetime(row.created_at.into()),
                    cycle_id: row.cycle_id,
                    natural_key: row.natural_key,
                    status: row.status,
                    created_at: row.created_at,
                    updated_at: row.created_at,
                    body: row.body,
                    attempt: None,
                };
                insert(tx, &stored)?;
                out.push(Appended {
                    row_ref: stored.row_ref,
                    inserted: true,
                });
            }
            Ok(out)
        })
    }

    async fn get(&self, row_ref: RowRef) -> Result<Option<AuditRow>> {
        let sql = format!("SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND seq = ?2");
        Ok(self
            .query_rows(&sql, &[&row_ref.table.as_str(), &(row_ref.seq as i64)])?
            .pop())
    }

    async fn get_many(&self, refs: &[RowRef]) -> Result<Vec<Option<AuditRow>>> {
        // One statement per table (and 500 refs), in one read transaction.
        let mut by_table: BTreeMap<AuditTable, Vec<u64>> = BTreeMap::new();
        for r in refs {
            by_table.entry(r.table).or_default().push(r.seq);
        }
        let sql = format!(
            "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND seq IN (SELECT value FROM json_each(?2))"
        );
        let raws = self.read_tx(|conn| {
            let mut stmt = conn.prepare_cached(&sql).map_err(sql_err)?;
            let mut raws = Vec::with_capacity(refs.len());
            for (table, seqs) in &by_table {
                for chunk in seqs.chunks(500) {
                    let list = serde_json::to_string(chunk)?;
                    let rows = stmt
                        .query_map(params![table.as_str(), list], raw)
                        .map_err(sql_err)?;
                    for r in rows {
                        raws.push(r.map_err(sql_err)?);
                    }
                }
            }
            Ok(raws)
        })?;
        let found: HashMap<RowRef, AuditRow> = raws
            .into_iter()
            .map(|r| decode(r).map(|row| (row.row_ref, row)))
            .collect::<std::result::Result<_, StoreError>>()?;
        Ok(refs.iter().map(|r| found.get(r).cloned()).collect())
    }

    async fn get_by_natural_key(
        &self,
        table: AuditTable,
        natural_key: &str,
    ) -> Result<Option<AuditRow>> {
        let sql = format!("SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND natural_key = ?2");
        Ok(self
            .query_rows(&sql, &[&table.as_str(), &natural_key])?
            .pop())
    }

    async fn get_many_by_natural_key(
        &self,
        table: AuditTable,
        keys: &[String],
    ) -> Result<Vec<Option<AuditRow>>> {
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            out.push(self.get_by_natural_key(table, k).await?);
        }
        Ok(out)
    }

    async fn by_cycle(
        &self,
        table: AuditTable,
        cycle: &CycleId,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        let limit = limit_of(&page);
        let after = cursor_seq(&page, 0)?;
        let sql = format!(
            "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND cycle_id = ?2 AND seq > ?3 ORDER BY seq LIMIT ?4"
        );
        let rows = self.query_rows(
            &sql,
            &[&table.as_str(), &cycle.to_string(), &after, &(limit as i64)],
        )?;
        Ok(page_of(rows, limit, |r| r.row_ref.seq.to_string()))
    }

    async fn by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        let limit = limit_of(&page);
        // Cursor: "<created_at>|<seq>" of the last row returned (newest first).
        let (c_at, c_seq) = match &page.cursor {
            None => ("9999".to_string(), i64::MAX),
            Some(c) => {
                let (a, s) = c
                    .rsplit_once('|')
                    .ok_or_else(|| StoreError::Invalid(format!("bad page cursor {c:?}")))?;
                (
                    a.to_string(),
                    s.parse()
                        .map_err(|_| StoreError::Invalid(format!("bad page cursor {c:?}")))?,
                )
            }
        };
        let sql = format!(
            "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND store = ?2 AND subject = ?3
             AND (created_at < ?4 OR (created_at = ?4 AND seq < ?5))
             ORDER BY created_at DESC, seq DESC LIMIT ?6"
        );
        let rows = self.query_rows(
            &sql,
            &[
                &table.as_str(),
                &store.as_str(),
                &subject,
                &c_at,
                &c_seq,
                &(limit as i64),
            ],
        )?;
        Ok(page_of(rows, limit, |r| {
            format!("{}|{}", ts(&r.created_at), r.row_ref.seq)
        }))
    }

    async fn by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        day: StoreDay,
        action: Option<&str>,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        let limit = limit_of(&page);
        let rows = match action {
            Some(a) => {
                let after = cursor_seq(&page, 0)?;
                let sql = format!(
                    "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND store = ?2 AND day = ?3 AND action = ?4
                     AND seq > ?5 ORDER BY seq LIMIT ?6"
                );
                self.query_rows(
                    &sql,
                    &[
                        &table.as_str(),
                        &store.as_str(),
                        &day.to_string(),
                        &a,
                        &after,
                        &(limit as i64),
                    ],
                )?
            }
            None => {
                // Same order as DynamoDB's sort key "<action>#<seq>".
                let (c_action, c_seq) = match &page.cursor {
                    None => (String::new(), 0i64),
                    Some(c) => {
                        let (a, s) = c
                            .rsplit_once('|')
                            .ok_or_else(|| StoreError::Invalid(format!("bad page cursor {c:?}")))?;
                        (
                            a.to_string(),
                            s.parse().map_err(|_| {
                                StoreError::Invalid(format!("bad page cursor {c:?}"))
                            })?,
                        )
                    }
                };
                let sql = format!(
                    "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND store = ?2 AND day = ?3
                     AND (action > ?4 OR (action = ?4 AND seq > ?5)) ORDER BY action, seq LIMIT ?6"
                );
                self.query_rows(
                    &sql,
                    &[
                        &table.as_str(),
                        &store.as_str(),
                        &day.to_string(),
                        &c_action,
                        &c_seq,
                        &(limit as i64),
                    ],
                )?
            }
        };
        let by_action = action.is_some();
        Ok(page_of(rows, limit, |r| {
            if by_action {
                r.row_ref.seq.to_string()
            } else {
                format!("{}|{}", r.action_key(), r.row_ref.seq)
            }
        }))
    }

    async fn by_status(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        page: PageReq,
    ) -> Result<Page<AuditRow>> {
        let limit = limit_of(&page);
        let after = cursor_seq(&page, 0)?;
        let sql = format!(
            "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND store = ?2 AND status = ?3 AND seq > ?4
             ORDER BY seq LIMIT ?5"
        );
        let rows = self.query_rows(
            &sql,
            &[
                &table.as_str(),
                &store.as_str(),
                &status.as_str(),
                &after,
                &(limit as i64),
            ],
        )?;
        Ok(page_of(rows, limit, |r| r.row_ref.seq.to_string()))
    }

    async fn keys_by_day_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        q: &DayKeys,
    ) -> Result<Vec<RowKey>> {
        self.keys_by_day_action_sql(table, store, q)
    }

    async fn keys_by_status_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Result<Vec<RowKey>> {
        self.keys_by_status_action_sql(table, store, status, action)
    }

    async fn keys_by_subject(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
    ) -> Result<Vec<RowKey>> {
        self.keys_by_subject_sql(table, store, subject)
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
        self.write_tx(|tx| {
            check_fence(tx, fence)?;
            let current = read(tx, row_ref)?;
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
            update(tx, &updated)?;
            Ok(updated)
        })
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
        self.write_tx(|tx| {
            check_fence(tx, fence)?;
            let current = read(tx, row_ref)?;
            attempts::check_claim(&current, from, attempt, now)?;
            let updated = attempts::claimed(current, attempt, body, now);
            update(tx, &updated)?;
            Ok(updated)
        })
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
        self.write_tx(|tx| {
            check_fence(tx, fence)?;
            let current = read(tx, row_ref)?;
            attempts::check_settle(&current, attempt_id, to)?;
            let updated = attempts::settled(current, to, body, at);
            update(tx, &updated)?;
            Ok(updated)
        })
    }

    async fn list_table(&self, table: AuditTable, page: PageReq) -> Result<Page<AuditRow>> {
        let limit = limit_of(&page);
        let after = cursor_seq(&page, 0)?;
        let sql = format!(
            "SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        );
        let rows = self.query_rows(&sql, &[&table.as_str(), &after, &(limit as i64)])?;
        Ok(page_of(rows, limit, |r| r.row_ref.seq.to_string()))
    }

    async fn import(&self, rows: Vec<AuditRow>) -> Result<ImportStats> {
        self.write_tx(|tx| {
            let mut stats = ImportStats::default();
            for row in &rows {
                let sql = format!("SELECT {COLS} FROM audit_rows WHERE tbl = ?1 AND seq = ?2");
                let existing = tx
                    .query_row(
                        &sql,
                        params![row.row_ref.table.as_str(), row.row_ref.seq as i64],
                        raw,
                    )
                    .optional()
                    .map_err(sql_err)?;
                if let Some(e) = existing {
                    if decode(e)? == *row {
                        stats.already_present += 1;
                        continue;
                    }
                    return Err(StoreError::Conflict(format!(
                        "{} exists with different content",
                        row.row_ref
                    )));
                }
                let nk_taken: Option<i64> = tx
                    .query_row(
                        "SELECT seq FROM audit_rows WHERE tbl = ?1 AND natural_key = ?2",
                        params![row.row_ref.table.as_str(), row.natural_key],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(sql_err)?;
                if let Some(seq) = nk_taken {
                    return Err(StoreError::Conflict(format!(
                        "{}: natural key {:?} already belongs to {}#{seq}",
                        row.row_ref, row.natural_key, row.row_ref.table
                    )));
                }
                insert(tx, row)?;
                // Keep the sequence ahead of imported refs so new rows never collide.
                tx.execute(
                    "INSERT INTO sequences (tbl, last) VALUES (?1, ?2)
                     ON CONFLICT (tbl) DO UPDATE SET last = MAX(last, excluded.last)",
                    params![row.row_ref.table.as_str(), row.row_ref.seq as i64],
                )
                .map_err(sql_err)?;
                stats.written += 1;
            }
            Ok(stats)
        })
    }
}
