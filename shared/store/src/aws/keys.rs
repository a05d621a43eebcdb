//! The keys access paths on DynamoDB: Query on a GSI with a ProjectionExpression of the index
//! fields only (`pk`, `day`, `action`, `status`, `subject`, `cls`), never a body. Which index:
//!
//! * one action over a day range — `by_action` (`gsi_act_pk = <table>#<store>#<action>`,
//!   `gsi_act_sk = <day>#<seq>`): one range query per action, whatever the number of days;
//! * every action but a few over days — `by_day_action` (`gsi_day_pk = <table>#<store>#<day>`,
//!   `gsi_day_sk = <action>#<seq>`): per day, one range query per gap between the excluded
//!   actions (two for "every move but KEEP");
//! * a status and an action — `by_status_action` (`gsi_sa_pk = <table>#<store>#<status>#<action>`,
//!   `gsi_sa_sk = <seq>`), which follows the row's status like `by_status`;
//! * a subject — `by_sku` (`gsi_sku_pk = <table>#<store>#<subject>`), newest first.
//!
//! `by_action` and `by_status_action` project only those fields (INCLUDE), so their items stay
//! a few hundred bytes. Queries of one read run concurrently (at most [`IN_FLIGHT`]).

use super::dynamo::{get_s, s, Item};
use super::sdk_err;
use crate::error::StoreError;
use crate::ports::{ActionFilter, DayKeys};
use aws_sdk_dynamodb::Client;
use otto_core::audit::{AuditTable, RowRef};
use otto_core::{Classification, RowKey, RowStatus, StoreDay, StoreId};
use tokio::task::JoinSet;

type Result<T> = std::result::Result<T, StoreError>;

/// Queries of one keys read in flight at once.
const IN_FLIGHT: usize = 8;

/// The item attributes a [`RowKey`] is read from (every keys index projects them).
const KEY_ATTRS: [&str; 6] = ["pk", "day", "action", "status", "subject", "cls"];

/// A key condition on an index's sort key (bounds inclusive for `Between`, exclusive otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SortCond {
    Any,
    Between(String, String),
    Below(String),
    Above(String),
}

/// One query of a keys read: an index partition and a sort-key condition.
#[derive(Debug, Clone)]
pub(crate) struct KeysQuery {
    index: &'static str,
    pk_attr: &'static str,
    sk_attr: &'static str,
    pk: String,
    sk: SortCond,
    forward: bool,
    /// Only entries with this classification (a FilterExpression: read, not returned).
    class: Option<Classification>,
}

impl KeysQuery {
    /// One action's rows over `from..=to`.
    pub(crate) fn by_action(
        table: AuditTable,
        store: &StoreId,
        action: &str,
        from: StoreDay,
        to: StoreDay,
    ) -> Self {
        KeysQuery {
            index: "by_action",
            pk_attr: "gsi_act_pk",
            sk_attr: "gsi_act_sk",
            pk: format!("{table}#{store}#{action}"),
            // `<day>#<seq>`: "~" sorts after every digit.
            sk: SortCond::Between(format!("{from}#"), format!("{to}#~")),
            forward: true,
            class: None,
        }
    }

    /// One day's rows whose `<action>#<seq>` sort key falls in `sk`.
    pub(crate) fn by_day(table: AuditTable, store: &StoreId, day: StoreDay, sk: SortCond) -> Self {
        KeysQuery {
            index: "by_day_action",
            pk_attr: "gsi_day_pk",
            sk_attr: "gsi_day_sk",
            pk: format!("{table}#{store}#{day}"),
            sk,
            forward: true,
            class: None,
        }
    }

    pub(crate) fn by_status_action(
        table: AuditTable,
        store: &StoreId,
        status: RowStatus,
        action: &str,
    ) -> Self {
        KeysQuery {
            index: "by_status_action",
            pk_attr: "gsi_sa_pk",
            sk_attr: "gsi_sa_sk",
            pk: format!("{table}#{store}#{status}#{action}"),
            sk: SortCond::Any,
            forward: true,
            class: None,
        }
    }

    pub(crate) fn by_subject(table: AuditTable, store: &StoreId, subject: &str) -> Self {
        KeysQuery {
            index: "by_sku",
            pk_attr: "gsi_sku_pk",
            sk_attr: "gsi_sku_sk",
            pk: format!("{table}#{store}#{subject}"),
            sk: SortCond::Any,
            forward: false,
            class: None,
        }
    }
}

/// The sort-key ranges of `by_day_action` (`<action>#<seq>`) that hold every action but
/// `excluded`: the gaps between the excluded actions' intervals `[<a>#, <a>#~]`. A gap may also
/// hold an excluded action's oddly sorting key; the caller filters by action as well.
pub(crate) fn gaps(excluded: &[&str]) -> Vec<SortCond> {
    let mut iv: Vec<(String, String)> = excluded
        .iter()
        .map(|e| (format!("{e}#"), format!("{e}#~")))
        .collect();
    iv.sort();
    let mut merged: Vec<(String, String)> = Vec::new();
    for (a, b) in iv {
        match merged.last_mut() {
            Some(last) if a <= last.1 => {
                if b > last.1 {
                    last.1 = b;
                }
            }
            _ => merged.push((a, b)),
        }
    }
    let (Some(first), Some(last)) = (merged.first(), merged.last()) else {
        return vec![SortCond::Any];
    };
    let mut out = vec![SortCond::Below(first.0.clone())];
    for w in merged.windows(2) {
        out.push(SortCond::Between(w[0].1.clone(), w[1].0.clone()));
    }
    out.push(SortCond::Above(last.1.clone()));
    out
}

fn key_from_item(item: &Item) -> Result<RowKey> {
    Ok(RowKey {
        row_ref: RowRef::parse(get_s(item, "pk")?)?,
        day: StoreDay::parse(get_s(item, "day")?)?,
        action: get_s(item, "action")?.to_string(),
        status: get_s(item, "status")?.parse()?,
        subject: get_s(item, "subject")?.to_string(),
        classification: item
            .get("cls")
            .and_then(|v| v.as_s().ok())
            .map(|c| c.parse())
            .transpose()?,
    })
}

/// Every entry one query matches, page by page.
async fn run(client: Client, table: String, q: KeysQuery) -> Result<Vec<RowKey>> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let mut req = client
            .query()
            .table_name(&table)
            .index_name(q.index)
            .expression_attribute_names("#pk", q.pk_attr)
            .expression_attribute_values(":pk", s(q.pk.clone()))
            .scan_index_forward(q.forward)
            .set_exclusive_start_key(start);
        let projection: Vec<String> = (0..KEY_ATTRS.len()).map(|i| format!("#k{i}")).collect();
        for (i, a) in KEY_ATTRS.iter().enumerate() {
            req = req.expression_attribute_names(format!("#k{i}"), *a);
        }
        req = req.projection_expression(projection.join(", "));
        let cond = |c: &str| format!("#pk = :pk AND {c}");
        req = match &q.sk {
            SortCond::Any => req.key_condition_expression("#pk = :pk"),
            SortCond::Between(a, b) => req
                .key_condition_expression(cond("#sk BETWEEN :a AND :b"))
                .expression_attribute_values(":a", s(a.clone()))
                .expression_attribute_values(":b", s(b.clone())),
            SortCond::Below(b) => req
                .key_condition_expression(cond("#sk < :b"))
                .expression_attribute_values(":b", s(b.clone())),
            SortCond::Above(a) => req
                .key_condition_expression(cond("#sk > :a"))
                .expression_attribute_values(":a", s(a.clone())),
        };
        if q.sk != SortCond::Any {
            req = req.expression_attribute_names("#sk", q.sk_attr);
        }
        if let Some(c) = q.class {
            // `cls` is #k5 in the projection's names.
            req = req
                .filter_expression("#k5 = :cls")
                .expression_attribute_values(":cls", s(c.as_str()));
        }
        let res = req
            .send()
            .await
            .map_err(|e| sdk_err(&format!("Query {}", q.index), e))?;
        for item in res.items() {
            out.push(key_from_item(item)?);
        }
        match res.last_evaluated_key() {
            Some(k) => start = Some(k.clone()),
            None => return Ok(out),
        }
    }
}

/// Runs `queries` (at most [`IN_FLIGHT`] at once) and returns their entries in query order.
pub(crate) async fn run_all(
    client: &Client,
    table: &str,
    queries: Vec<KeysQuery>,
) -> Result<Vec<RowKey>> {
    let mut results: Vec<Option<Vec<RowKey>>> = vec![None; queries.len()];
    let mut pending = queries.into_iter().enumerate();
    let mut set: JoinSet<(usize, Result<Vec<RowKey>>)> = JoinSet::new();
    loop {
        while set.len() < IN_FLIGHT {
            let Some((i, q)) = pending.next() else { break };
            let (c, t) = (client.clone(), table.to_string());
            set.spawn(async move { (i, run(c, t, q).await) });
        }
        let Some(done) = set.join_next().await else {
            break;
        };
        let (i, keys) = done.map_err(|e| StoreError::Backend(format!("keys query task: {e}")))?;
        results[i] = Some(keys?);
    }
    Ok(results.into_iter().flatten().flatten().collect())
}

/// The queries of a keys read by day and action.
pub(crate) fn day_action_queries(
    table: AuditTable,
    store: &StoreId,
    q: &DayKeys,
) -> Vec<KeysQuery> {
    let mut out = Vec::new();
    match &q.actions {
        ActionFilter::Only(_) => {
            out.extend(
                q.actions
                    .names()
                    .into_iter()
                    .map(|a| KeysQuery::by_action(table, store, a, q.from, q.to)),
            );
        }
        ActionFilter::AllBut(_) => {
            let gaps = gaps(&q.actions.names());
            let mut day = q.from;
            while day <= q.to {
                out.extend(
                    gaps.iter()
                        .map(|g| KeysQuery::by_day(table, store, day, g.clone())),
                );
                day = day.plus_days(1);
            }
        }
    }
    for k in &mut out {
        k.class = q.classification;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_leave_out_the_excluded_actions_only() {
        assert_eq!(gaps(&[]), vec![SortCond::Any]);
        assert_eq!(
            gaps(&["KEEP"]),
            vec![
                SortCond::Below("KEEP#".into()),
                SortCond::Above("KEEP#~".into())
            ]
        );
        assert_eq!(
            gaps(&["KEEP", "DRAFT"]),
            vec![
                SortCond::Below("DRAFT#".into()),
                SortCond::Between("DRAFT#~".into(), "KEEP#".into()),
                SortCond::Above("KEEP#~".into())
            ]
        );
        // An action that is another's prefix plus '#' falls inside its interval: merged.
        assert_eq!(
            gaps(&["A", "A#B"]),
            vec![SortCond::Below("A#".into()), SortCond::Above("A#~".into())]
        );
    }
}
