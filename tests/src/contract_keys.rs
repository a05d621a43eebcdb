//! The port contract of the keys access paths (index entries without bodies): by day and action
//! (one action, several, all but some), by status and action, by subject — the same entries
//! and order on every adapter, following status changes, and rebuilt for imported rows.

use crate::fixtures::*;
use crate::Harness;
use otto_core::audit::{AuditRow, AuditTable, NewRow, RowBody, RowRef};
use otto_core::cycle::CycleId;
use otto_core::{Action, Classification, CycleKind, RowKey, RowStatus, StoreDay, StoreId};
use otto_store::{ActionFilter, DayKeys, PageReq};

fn classified(mut r: NewRow, c: Classification) -> NewRow {
    if let RowBody::Decision(d) = &mut r.body {
        d.classification = Some(c);
    }
    r
}

fn only(actions: &[Action]) -> ActionFilter {
    ActionFilter::Only(actions.iter().map(|a| a.as_str().to_string()).collect())
}

fn all_but(actions: &[Action]) -> ActionFilter {
    ActionFilter::AllBut(actions.iter().map(|a| a.as_str().to_string()).collect())
}

/// The entries a keys read must return: the rows' own keys, filtered, by day, action, ref.
fn expected(rows: &[AuditRow], keep: impl Fn(&RowKey) -> bool) -> Vec<RowKey> {
    let mut out: Vec<RowKey> = rows.iter().map(AuditRow::key).filter(|k| keep(k)).collect();
    out.sort_by(|a, b| (a.day, &a.action, a.row_ref.seq).cmp(&(b.day, &b.action, b.row_ref.seq)));
    out
}

async fn read_all(h: &Harness, refs: &[RowRef]) -> Vec<AuditRow> {
    h.ports
        .audit
        .get_many(refs)
        .await
        .expect("get many")
        .into_iter()
        .map(|r| r.expect("row exists"))
        .collect()
}

async fn by_day_action(
    h: &Harness,
    store: &StoreId,
    from: StoreDay,
    to: StoreDay,
    actions: ActionFilter,
) -> Vec<RowKey> {
    keys_of(h, store, &DayKeys::new(from, to, actions)).await
}

async fn keys_of(h: &Harness, store: &StoreId, q: &DayKeys) -> Vec<RowKey> {
    h.ports
        .audit
        .keys_by_day_action(AuditTable::DecisionLog, store, q)
        .await
        .expect("keys by day and action")
}

pub async fn audit_keys_access_paths(h: &Harness) {
    let store = unique_store();
    let (d0, d1) = (day(), day().plus_days(1));
    let c0 = cycle(&store);
    let c1 = CycleId::new(store.clone(), CycleKind::Morning, d1);
    let before = CycleId::new(store.clone(), CycleKind::Morning, d0.plus_days(-1));
    use Classification::*;
    let new = vec![
        classified(
            row(&c0, "SKU-1", Action::Publish, RowStatus::DryRun, 0),
            Winner,
        ),
        classified(row(&c0, "SKU-2", Action::Draft, RowStatus::Held, 1), Loser),
        classified(row(&c0, "SKU-3", Action::Keep, RowStatus::Skipped, 2), Mid),
        classified(
            row(&c0, "SKU-4", Action::Draft, RowStatus::DryRun, 3),
            Loser,
        ),
        row(&c1, "SKU-1", Action::Keep, RowStatus::Skipped, 24 * 60),
        row(
            &c1,
            "SKU-2",
            Action::DiscountTest,
            RowStatus::DryRun,
            24 * 60 + 1,
        ),
        row(&c1, "SKU-5", Action::Draft, RowStatus::DryRun, 24 * 60 + 2),
        row(&before, "SKU-9", Action::Draft, RowStatus::DryRun, -24 * 60),
    ];
    let out = h.ports.audit.append(new, None).await.expect("append");
    let refs: Vec<RowRef> = out.iter().map(|a| a.row_ref).collect();
    let rows = read_all(h, &refs).await;
    let in_range = |k: &RowKey| d0 <= k.day && k.day <= d1;

    let drafts = by_day_action(h, &store, d0, d1, only(&[Action::Draft])).await;
    assert_eq!(
        drafts,
        expected(&rows, |k| in_range(k) && k.action == "DRAFT"),
        "one action over a day range, the rows' own keys (classification included)"
    );
    assert_eq!(
        drafts
            .iter()
            .map(|k| k.subject.as_str())
            .collect::<Vec<_>>(),
        ["SKU-2", "SKU-4", "SKU-5"]
    );
    assert_eq!(drafts[0].classification, Some(Loser));
    assert_eq!(drafts[0].status, RowStatus::Held);
    assert_eq!(
        by_day_action(h, &store, d0, d1, only(&[Action::Publish, Action::Draft])).await,
        expected(&rows, |k| in_range(k)
            && ["DRAFT", "PUBLISH"].contains(&k.action.as_str())),
        "several actions: by day, then action, then ref"
    );
    assert_eq!(
        by_day_action(h, &store, d0, d1, all_but(&[Action::Keep])).await,
        expected(&rows, |k| in_range(k) && k.action != "KEEP"),
        "every move"
    );
    assert_eq!(
        by_day_action(h, &store, d0, d1, all_but(&[Action::Keep, Action::Draft])).await,
        expected(&rows, |k| in_range(k)
            && !["KEEP", "DRAFT"].contains(&k.action.as_str())),
    );
    assert_eq!(
        by_day_action(h, &store, d0, d0, all_but(&[])).await,
        expected(&rows, |k| k.day == d0),
        "a whole day"
    );
    assert_eq!(
        by_day_action(h, &store, d0.plus_days(-1), d1, all_but(&[]))
            .await
            .len(),
        8
    );
    assert!(
        by_day_action(h, &store, d1.plus_days(1), d1.plus_days(30), all_but(&[]))
            .await
            .is_empty()
    );

    let losers = DayKeys::new(d0, d1, all_but(&[])).classified(Loser);
    assert_eq!(
        keys_of(h, &store, &losers).await,
        expected(&rows, |k| losers.admits(k)),
        "one classification"
    );
    assert_eq!(keys_of(h, &store, &losers).await.len(), 2);
    let winning_publishes = DayKeys::new(d0, d1, only(&[Action::Publish])).classified(Winner);
    assert_eq!(
        keys_of(h, &store, &winning_publishes).await,
        expected(&rows, |k| winning_publishes.admits(k))
    );
    assert_eq!(keys_of(h, &store, &winning_publishes).await.len(), 1);

    let sku1 = h
        .ports
        .audit
        .keys_by_subject(AuditTable::DecisionLog, &store, "SKU-1")
        .await
        .expect("keys by subject");
    let sku1_rows = h
        .ports
        .audit
        .by_subject(AuditTable::DecisionLog, &store, "SKU-1", PageReq::first(10))
        .await
        .expect("rows by subject")
        .items;
    assert_eq!(
        sku1,
        sku1_rows.iter().map(AuditRow::key).collect::<Vec<_>>(),
        "by subject: the rows' keys, newest first"
    );
    assert_eq!(sku1.len(), 2);
    assert!(sku1[0].day > sku1[1].day);

    let held_drafts = h
        .ports
        .audit
        .keys_by_status_action(AuditTable::DecisionLog, &store, RowStatus::Held, "DRAFT")
        .await
        .expect("keys by status and action");
    assert_eq!(
        held_drafts,
        expected(&rows, |k| k.status == RowStatus::Held)
    );

    let stranger = unique_store();
    assert!(by_day_action(h, &stranger, d0, d1, all_but(&[]))
        .await
        .is_empty());
    assert!(h
        .ports
        .audit
        .keys_by_subject(AuditTable::DecisionLog, &stranger, "SKU-1")
        .await
        .expect("keys")
        .is_empty());
    assert!(h
        .ports
        .audit
        .keys_by_status_action(AuditTable::DecisionLog, &stranger, RowStatus::Held, "DRAFT")
        .await
        .expect("keys")
        .is_empty());
}

async fn open_windows(h: &Harness, store: &StoreId, status: RowStatus) -> Vec<RowKey> {
    h.ports
        .audit
        .keys_by_status_action(AuditTable::DecisionLog, store, status, "ON_DISCOUNT")
        .await
        .expect("keys by status and action")
}

/// The status+action entries follow a row's status; imported rows are in every keys path.
pub async fn keys_follow_status_and_import(h: &Harness) {
    let store = unique_store();
    let c = CycleId::new(store.clone(), CycleKind::Discount, day());
    let out = h
        .ports
        .audit
        .append(
            vec![
                row(&c, "SKU-W1", Action::OnDiscount, RowStatus::Applied, 0),
                row(&c, "SKU-W2", Action::OnDiscount, RowStatus::Applied, 1),
                row(&c, "SKU-W3", Action::PriceRestore, RowStatus::Applied, 2),
            ],
            None,
        )
        .await
        .expect("append");
    let refs: Vec<RowRef> = out.iter().map(|a| a.row_ref).collect();
    let open = open_windows(h, &store, RowStatus::Applied).await;
    assert_eq!(
        open.iter().map(|k| k.row_ref).collect::<Vec<_>>(),
        refs[..2],
        "the APPLIED ON_DISCOUNT rows, by ref"
    );
    h.ports
        .audit
        .transition(
            refs[0],
            RowStatus::Applied,
            RowStatus::Reverted,
            None,
            t0(),
            None,
        )
        .await
        .expect("restore");
    let open = open_windows(h, &store, RowStatus::Applied).await;
    assert_eq!(
        open.iter().map(|k| k.row_ref).collect::<Vec<_>>(),
        refs[1..2]
    );
    let closed = open_windows(h, &store, RowStatus::Reverted).await;
    assert_eq!(
        closed.iter().map(|k| k.row_ref).collect::<Vec<_>>(),
        refs[..1]
    );
    let day_keys = by_day_action(h, &store, day(), day(), only(&[Action::OnDiscount])).await;
    assert_eq!(day_keys[0].status, RowStatus::Reverted, "the day path too");

    // The same rows imported for another store, refs and all: every keys path has them.
    let other = unique_store();
    let oc = CycleId::new(other.clone(), CycleKind::Discount, day());
    let base = 60_000_000 + (ulid::Ulid::new().random() % 1_000_000) as u64 * 10;
    let imported: Vec<AuditRow> = read_all(h, &refs)
        .await
        .into_iter()
        .enumerate()
        .map(|(i, r)| AuditRow {
            row_ref: RowRef::new(AuditTable::DecisionLog, base + i as u64),
            cycle_id: oc.clone(),
            natural_key: format!("imported|{other}|{i}"),
            ..r
        })
        .collect();
    h.ports
        .audit
        .import(imported.clone())
        .await
        .expect("import");
    assert_eq!(
        by_day_action(h, &other, day(), day(), all_but(&[])).await,
        expected(&imported, |_| true)
    );
    assert_eq!(
        open_windows(h, &other, RowStatus::Applied)
            .await
            .iter()
            .map(|k| k.row_ref)
            .collect::<Vec<_>>(),
        [imported[1].row_ref]
    );
    let w3 = h
        .ports
        .audit
        .keys_by_subject(AuditTable::DecisionLog, &other, "SKU-W3")
        .await
        .expect("keys by subject");
    assert_eq!(w3, vec![imported[2].key()]);
}
