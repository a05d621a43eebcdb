//! The keys access paths on SQLite: index-only reads of [`RowKey`]s from the covering indexes
//! `audit_keys_by_*` (see `KEY_INDEXES`), never a row's body.

use super::{sql_err, EmbeddedStore};
use crate::error::StoreError;
use crate::ports::{ActionFilter, DayKeys};
use otto_core::audit::{AuditTable, RowRef};
use otto_core::{RowKey, RowStatus, StoreDay, StoreId};
use rusqlite::{Connection, Row};

type Result<T> = std::result::Result<T, StoreError>;

const KEY_COLS: &str = "seq, day, action, status, subject, class";

/// A row of `KEY_COLS` as a [`RowKey`]; the day, status and classification parsed from the
/// borrowed text (only the action and subject are copied).
fn key_of(table: AuditTable, r: &Row<'_>) -> Result<RowKey> {
    let text = |i: usize| -> Result<&str> {
        r.get_ref(i)
            .and_then(|v| v.as_str().map_err(Into::into))
            .map_err(sql_err)
    };
    let class = match r.get_ref(5).map_err(sql_err)? {
        rusqlite::types::ValueRef::Null => None,
        v => Some(v.as_str().map_err(|e| sql_err(e.into()))?.parse()?),
    };
    Ok(RowKey {
        row_ref: RowRef::new(table, r.get::<_, i64>(0).map_err(sql_err)? as u64),
        day: StoreDay::parse(text(1)?)?,
        action: text(2)?.to_string(),
        status: text(3)?.parse()?,
        subject: text(4)?.to_string(),
        classification: class,
    })
}

/// The action ranges (exclusive bounds, `None`: open) that together hold every action but
/// `excluded`.
pub(crate) fn ranges_between(excluded: &[&str]) -> Vec<(Option<String>, Option<String>)> {
    let mut ex: Vec<&str> = excluded.to_vec();
    ex.sort_unstable();
    ex.dedup();
    let mut bounds: Vec<Option<String>> = vec![None];
    bounds.extend(ex.into_iter().map(|e| Some(e.to_string())));
    bounds.push(None);
    bounds
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect()
}

fn query_keys(
    conn: &Connection,
    table: AuditTable,
    sql: &str,
    args: &[&dyn rusqlite::ToSql],
) -> Result<Vec<RowKey>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
    let mut rows = stmt.query(args).map_err(sql_err)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sql_err)? {
        out.push(key_of(table, r)?);
    }
    Ok(out)
}

/// `AND class = ?n` when the read asks for one classification (the argument pushed onto `args`):
/// filtered on the index entries, before any is made a key.
fn class_cond<'a>(
    class: &'a Option<&'static str>,
    args: &mut Vec<&'a dyn rusqlite::ToSql>,
) -> String {
    match class {
        Some(c) => {
            args.push(c);
            format!(" AND class = ?{}", args.len())
        }
        None => String::new(),
    }
}

/// One action over a day range: one range read of `audit_keys_by_action`.
fn keys_of_action(
    conn: &Connection,
    table: AuditTable,
    store: &StoreId,
    q: &DayKeys,
    action: &str,
) -> Result<Vec<RowKey>> {
    let (t, s, from, to) = (
        table.as_str(),
        store.as_str(),
        q.from.to_string(),
        q.to.to_string(),
    );
    let class = q.classification.map(|c| c.as_str());
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&t, &s, &action, &from, &to];
    let cond = class_cond(&class, &mut args);
    let sql = format!(
        "SELECT {KEY_COLS} FROM audit_rows INDEXED BY audit_keys_by_action
         WHERE tbl = ?1 AND store = ?2 AND action = ?3 AND day BETWEEN ?4 AND ?5{cond}
         ORDER BY day, seq"
    );
    query_keys(conn, table, &sql, &args)
}

/// One day's actions strictly between two bounds: one range read of `audit_keys_by_day`.
fn keys_of_day_between(
    conn: &Connection,
    table: AuditTable,
    store: &StoreId,
    (q, day): (&DayKeys, StoreDay),
    (lo, hi): &(Option<String>, Option<String>),
) -> Result<Vec<RowKey>> {
    let (t, s, d) = (table.as_str(), store.as_str(), day.to_string());
    let mut args: Vec<&dyn rusqlite::ToSql> = vec![&t, &s, &d];
    let mut cond = String::new();
    if let Some(lo) = lo {
        args.push(lo);
        cond.push_str(&format!(" AND action > ?{}", args.len()));
    }
    if let Some(hi) = hi {
        args.push(hi);
        cond.push_str(&format!(" AND action < ?{}", args.len()));
    }
    let class = q.classification.map(|c| c.as_str());
    cond.push_str(&class_cond(&class, &mut args));
    // One classification: its own (partial) index, so only its entries are read.
    let index = if class.is_some() {
        "audit_keys_by_day_class"
    } else {
        "audit_keys_by_day"
    };
    let sql = format!(
        "SELECT {KEY_COLS} FROM audit_rows INDEXED BY {index}
         WHERE tbl = ?1 AND store = ?2 AND day = ?3{cond} ORDER BY action, seq"
    );
    query_keys(conn, table, &sql, &args)
}

impl EmbeddedStore {
    pub(crate) fn keys_by_day_action_sql(
        &self,
        table: AuditTable,
        store: &StoreId,
        q: &DayKeys,
    ) -> Result<Vec<RowKey>> {
        self.read_tx(|conn| {
            let mut out = Vec::new();
            match &q.actions {
                ActionFilter::Only(_) => {
                    for a in q.actions.names() {
                        out.extend(keys_of_action(conn, table, store, q, a)?);
                    }
                    out.sort_by(|a, b| {
                        (a.day, &a.action, a.row_ref.seq).cmp(&(b.day, &b.action, b.row_ref.seq))
                    });
                }
                ActionFilter::AllBut(_) => {
                    let ranges = ranges_between(&q.actions.names());
                    let mut day = q.from;
                    while day <= q.to {
                        for r in &ranges {
                            out.extend(keys_of_day_between(conn, table, store, (q, day), r)?);
                        }
                        day = day.plus_days(1);
                    }
                }
            }
            Ok(out)
        })
    }

    pub(crate) fn keys_by_status_action_sql(
        &self,
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Result<Vec<RowKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM audit_rows INDEXED BY audit_keys_by_status_action
             WHERE tbl = ?1 AND store = ?2 AND status = ?3 AND action = ?4 ORDER BY seq"
        );
        query_keys(
            &self.conn(),
            table,
            &sql,
            &[&table.as_str(), &store.as_str(), &status.as_str(), &action],
        )
    }

    pub(crate) fn keys_by_subject_sql(
        &self,
        table: AuditTable,
        store: &StoreId,
        subject: &str,
    ) -> Result<Vec<RowKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM audit_rows INDEXED BY audit_keys_by_subject
             WHERE tbl = ?1 AND store = ?2 AND subject = ?3 ORDER BY created_at DESC, seq DESC"
        );
        query_keys(
            &self.conn(),
            table,
            &sql,
            &[&table.as_str(), &store.as_str(), &subject],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::ranges_between;
    use crate::embedded::EmbeddedStore;
    use crate::ports::{ActionFilter, AuditLog, DayKeys};
    use otto_core::audit::{AuditTable, DecisionRow, NewRow, RowBody};
    use otto_core::cycle::{CycleId, Stage};
    use otto_core::{Action, Classification, CycleKind, RowStatus, Sku, StoreDay, StoreId};

    fn loser(store: &StoreId, day: StoreDay) -> NewRow {
        NewRow::for_stage(
            CycleId::new(store.clone(), CycleKind::Morning, day),
            Stage::Decide,
            RowStatus::DryRun,
            "2026-11-24T06:00:00Z".parse().expect("time"),
            RowBody::Decision(DecisionRow {
                sku: Sku::new("SKU-OLD-1").expect("sku"),
                action: Action::Draft,
                trigger: None,
                classification: Some(Classification::Loser),
                reasoning: "LOSER for 28 days".into(),
                figures: Default::default(),
                window: None,
                r#move: None,
                reversal_op: None,
                hold_reason: None,
                result: None,
            }),
        )
    }

    /// A data directory written before the keys indexes existed (no class column, the old day
    /// and subject indexes) gets them when opened, classifications read from the bodies.
    #[tokio::test]
    async fn an_older_data_directory_gets_the_keys_indexes() {
        let dir = tempfile::tempdir().expect("dir");
        let store = StoreId::new("old").expect("store");
        let day = StoreDay::parse("2026-11-24").expect("day");
        {
            let st = EmbeddedStore::open(dir.path()).expect("open");
            st.append(vec![loser(&store, day)], None)
                .await
                .expect("append");
            st.conn()
                .execute_batch(
                    "DROP INDEX audit_keys_by_day; DROP INDEX audit_keys_by_action; DROP INDEX audit_keys_by_day_class;
                     DROP INDEX audit_keys_by_status_action; DROP INDEX audit_keys_by_subject;
                     ALTER TABLE audit_rows DROP COLUMN class;
                     CREATE INDEX audit_by_day_action ON audit_rows (tbl, store, day, action, seq);
                     CREATE INDEX audit_by_subject ON audit_rows (tbl, store, subject, created_at, seq);",
                )
                .expect("make it old");
        }
        let st = EmbeddedStore::open(dir.path()).expect("reopen");
        let keys = st
            .keys_by_day_action(
                AuditTable::DecisionLog,
                &store,
                &DayKeys::new(day, day, ActionFilter::AllBut(vec![])),
            )
            .await
            .expect("keys");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].classification, Some(Classification::Loser));
        let old_index: bool = st
            .conn()
            .prepare("SELECT 1 FROM sqlite_master WHERE name = 'audit_by_day_action'")
            .and_then(|mut s| s.exists([]))
            .expect("schema");
        assert!(!old_index, "the narrower index it replaces is gone");
    }

    #[test]
    fn ranges_leave_out_only_the_excluded_actions() {
        let r = ranges_between(&["KEEP", "DRAFT", "KEEP"]);
        assert_eq!(
            r,
            vec![
                (None, Some("DRAFT".into())),
                (Some("DRAFT".into()), Some("KEEP".into())),
                (Some("KEEP".into()), None),
            ]
        );
        assert_eq!(ranges_between(&[]), vec![(None, None)]);
    }
}
