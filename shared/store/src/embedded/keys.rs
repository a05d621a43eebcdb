//! The keys access paths on SQLite: index-only reads of [`RowKey`]s from the covering indexes
//! `audit_keys_by_*` (see `KEY_INDEXES`), never a row's body.

use super::{sql_err, EmbeddedStore};
use crate::error::StoreError;
use crate::ports::ActionFilter;
use otto_core::audit::{AuditTable, RowRef};
use otto_core::{RowKey, RowStatus, StoreDay, StoreId};
use rusqlite::Row;

type Result<T> = std::result::Result<T, StoreError>;

const KEY_COLS: &str = "seq, day, action, status, subject, class";

type RawKey = (i64, String, String, String, String, Option<String>);

fn raw_key(r: &Row<'_>) -> rusqlite::Result<RawKey> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
    ))
}

fn decode_key(table: AuditTable, raw: RawKey) -> Result<RowKey> {
    let (seq, day, action, status, subject, class) = raw;
    Ok(RowKey {
        row_ref: RowRef::new(table, seq as u64),
        day: StoreDay::parse(&day)?,
        action,
        status: status.parse()?,
        subject,
        classification: class.map(|c| c.parse()).transpose()?,
    })
}

/// The action ranges (exclusive bounds, `None`: open) that together hold every action but
/// `excluded`.
pub(crate) fn ranges_between(excluded: &[String]) -> Vec<(Option<String>, Option<String>)> {
    let mut ex: Vec<String> = excluded.to_vec();
    ex.sort();
    ex.dedup();
    let mut bounds: Vec<Option<String>> = vec![None];
    bounds.extend(ex.into_iter().map(Some));
    bounds.push(None);
    bounds
        .windows(2)
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect()
}

impl EmbeddedStore {
    fn query_keys(
        &self,
        table: AuditTable,
        sql: &str,
        args: &[&dyn rusqlite::ToSql],
    ) -> Result<Vec<RowKey>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(sql).map_err(sql_err)?;
        let raws = stmt
            .query_map(args, raw_key)
            .map_err(sql_err)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(sql_err)?;
        drop(stmt);
        drop(conn);
        raws.into_iter().map(|r| decode_key(table, r)).collect()
    }

    /// One action over a day range: one range read of `audit_keys_by_action`.
    fn keys_of_action(
        &self,
        table: AuditTable,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        action: &str,
    ) -> Result<Vec<RowKey>> {
        let sql = format!(
            "SELECT {KEY_COLS} FROM audit_rows INDEXED BY audit_keys_by_action
             WHERE tbl = ?1 AND store = ?2 AND action = ?3 AND day BETWEEN ?4 AND ?5
             ORDER BY day, seq"
        );
        self.query_keys(
            table,
            &sql,
            &[
                &table.as_str(),
                &store.as_str(),
                &action,
                &from.to_string(),
                &to.to_string(),
            ],
        )
    }

    /// One day's actions strictly between two bounds: one range read of `audit_keys_by_day`.
    fn keys_of_day_between(
        &self,
        table: AuditTable,
        store: &StoreId,
        day: StoreDay,
        (lo, hi): &(Option<String>, Option<String>),
    ) -> Result<Vec<RowKey>> {
        let mut cond = String::new();
        if lo.is_some() {
            cond.push_str(" AND action > ?4");
        }
        if hi.is_some() {
            cond.push_str(if lo.is_some() {
                " AND action < ?5"
            } else {
                " AND action < ?4"
            });
        }
        let sql = format!(
            "SELECT {KEY_COLS} FROM audit_rows INDEXED BY audit_keys_by_day
             WHERE tbl = ?1 AND store = ?2 AND day = ?3{cond} ORDER BY action, seq"
        );
        let (t, s, d) = (table.as_str(), store.as_str(), day.to_string());
        let mut args: Vec<&dyn rusqlite::ToSql> = vec![&t, &s, &d];
        args.extend(lo.iter().map(|x| x as &dyn rusqlite::ToSql));
        args.extend(hi.iter().map(|x| x as &dyn rusqlite::ToSql));
        self.query_keys(table, &sql, &args)
    }

    pub(crate) fn keys_by_day_action_sql(
        &self,
        table: AuditTable,
        store: &StoreId,
        from: StoreDay,
        to: StoreDay,
        actions: &ActionFilter,
    ) -> Result<Vec<RowKey>> {
        let mut out = Vec::new();
        match actions {
            ActionFilter::Only(list) => {
                let mut list = list.clone();
                list.sort();
                list.dedup();
                for a in &list {
                    out.extend(self.keys_of_action(table, store, from, to, a)?);
                }
                out.sort_by(|a, b| {
                    (a.day, &a.action, a.row_ref.seq).cmp(&(b.day, &b.action, b.row_ref.seq))
                });
            }
            ActionFilter::AllBut(excluded) => {
                let ranges = ranges_between(excluded);
                let mut day = from;
                while day <= to {
                    for r in &ranges {
                        out.extend(self.keys_of_day_between(table, store, day, r)?);
                    }
                    day = day.plus_days(1);
                }
            }
        }
        Ok(out)
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
        self.query_keys(
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
        self.query_keys(table, &sql, &[&table.as_str(), &store.as_str(), &subject])
    }
}

#[cfg(test)]
mod tests {
    use super::ranges_between;
    use crate::embedded::EmbeddedStore;
    use crate::ports::{ActionFilter, AuditLog};
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
                    "DROP INDEX audit_keys_by_day; DROP INDEX audit_keys_by_action;
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
                day,
                day,
                &ActionFilter::AllBut(vec![]),
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
        let r = ranges_between(&["KEEP".into(), "DRAFT".into(), "KEEP".into()]);
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
