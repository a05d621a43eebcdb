//! The invariant checks on hand-made audit rows and write logs: each kind of violation is found
//! and names its rows; a DRAFT after a finished test and two mornings is not one.

use chrono::{DateTime, Duration, Utc};
use otto_core::audit::{AuditRow, CycleRunRow, DecisionRow, DiscountWindow, RowBody, RowRef};
use otto_core::cycle::{CycleId, CycleKind};
use otto_core::metrics::ProductStatus;
use otto_core::money::{Currency, Money};
use otto_core::{Action, AuditTable, Classification, Move, RowStatus, Sku, StoreDay, StoreId};
use otto_sim::invariants::{check, Invariant, InvariantRules, ShopFacts};
use otto_sim::{Actor, Change, ShopWrite};
use otto_store::embedded::EmbeddedStore;
use otto_store::AuditLog;
use std::collections::{BTreeMap, HashMap};

fn day(n: i64) -> StoreDay {
    StoreDay::parse("2026-09-01").unwrap().plus_days(n)
}
fn at(n: i64, h: i64) -> DateTime<Utc> {
    "2026-09-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap()
        + Duration::days(n)
        + Duration::hours(h)
}
fn eur(s: &str) -> Money {
    Money::parse(s, Currency::EUR).unwrap()
}
fn cycle(kind: CycleKind, n: i64) -> CycleId {
    CycleId::parse(&format!("sim:{}:{}", kind.as_str(), day(n))).unwrap()
}

struct Rows {
    rows: Vec<AuditRow>,
    seq: HashMap<AuditTable, u64>,
}

impl Rows {
    fn push(&mut self, cycle: CycleId, status: RowStatus, body: RowBody, h: i64) -> RowRef {
        let table = body.table();
        let seq = self.seq.entry(table).or_insert(0);
        *seq += 1;
        let r = RowRef::new(table, *seq);
        let t = at(cycle.day.days_since(day(0)), h);
        self.rows.push(AuditRow {
            row_ref: r,
            ulid: ulid::Ulid::new(),
            natural_key: format!("{cycle}|{r}"),
            cycle_id: cycle,
            status,
            created_at: t,
            updated_at: t,
            body,
            attempt: None,
        });
        r
    }
    fn cycles(&mut self, kind: CycleKind, days: std::ops::Range<i64>) {
        for n in days {
            let c = cycle(kind, n);
            let body = RowBody::CycleRun(CycleRunRow {
                kind,
                apply: true,
                scheduled_time: None,
                summary: None,
                finished_at: None,
                figures: BTreeMap::new(),
                error: None,
            });
            self.push(c, RowStatus::Completed, body, 5);
        }
    }
    fn decision(&mut self, kind: CycleKind, n: i64, status: RowStatus, d: DecisionRow) -> RowRef {
        let h = if kind == CycleKind::Morning { 4 } else { 14 };
        self.push(cycle(kind, n), status, RowBody::Decision(d), h)
    }
}

fn row(sku: &str, action: Action, class: Option<Classification>, mv: Option<Move>) -> DecisionRow {
    DecisionRow {
        sku: Sku::new(sku).unwrap(),
        action,
        trigger: None,
        classification: class,
        reasoning: "test".into(),
        figures: BTreeMap::new(),
        window: None,
        r#move: mv,
        reversal_op: None,
        hold_reason: None,
        result: None,
    }
}

fn draft(sku: &str) -> DecisionRow {
    row(
        sku,
        Action::Draft,
        Some(Classification::Loser),
        Some(Move::ProductStatus {
            sku: Sku::new(sku).unwrap(),
            to: ProductStatus::Draft,
        }),
    )
}

fn discount(sku: &str, start: i64) -> DecisionRow {
    let mut d = row(
        sku,
        Action::OnDiscount,
        Some(Classification::Mid),
        Some(Move::VariantPrice {
            sku: Sku::new(sku).unwrap(),
            expected_price: eur("20.00"),
            price: eur("17.00"),
            compare_at: Some(eur("20.00")),
            restores: None,
        }),
    );
    d.window = Some(DiscountWindow {
        percent_bp: 1_500,
        starts_on: day(start),
        ends_on: day(start + 14),
    });
    d
}

fn restore(sku: &str, of: RowRef) -> DecisionRow {
    row(
        sku,
        Action::PriceRestore,
        None,
        Some(Move::VariantPrice {
            sku: Sku::new(sku).unwrap(),
            expected_price: eur("17.00"),
            price: eur("20.00"),
            compare_at: None,
            restores: Some(of),
        }),
    )
}

fn status_write(product: &str, n: i64, from: ProductStatus, to: ProductStatus) -> ShopWrite {
    ShopWrite {
        at: at(n, 4),
        day: day(n),
        actor: Actor::Policy,
        change: Change::Status {
            product_id: product.into(),
            from,
            to,
        },
    }
}

#[tokio::test]
async fn each_invariant_finds_its_violations_and_names_the_rows() {
    let mut r = Rows {
        rows: vec![],
        seq: HashMap::new(),
    };
    r.cycles(CycleKind::Morning, 0..40);
    r.cycles(CycleKind::Discount, 0..40);
    // A: drafted with no test at all, while its sibling A2 is a WINNER.
    let a = r.decision(CycleKind::Morning, 3, RowStatus::Applied, draft("A"));
    let a2 = r.decision(
        CycleKind::Morning,
        3,
        RowStatus::Applied,
        row("A2", Action::Keep, Some(Classification::Winner), None),
    );
    // B: a finished test, restored on its window's end, then two mornings: a fair DRAFT.
    let b_on = r.decision(CycleKind::Discount, 1, RowStatus::Applied, discount("B", 1));
    r.decision(
        CycleKind::Discount,
        15,
        RowStatus::Applied,
        restore("B", b_on),
    );
    let b = r.decision(CycleKind::Morning, 17, RowStatus::Applied, draft("B"));
    // C: drafted the morning after its restore (one morning only).
    let c_on = r.decision(CycleKind::Discount, 1, RowStatus::Applied, discount("C", 1));
    let c_rest = r.decision(
        CycleKind::Discount,
        15,
        RowStatus::Applied,
        restore("C", c_on),
    );
    let c = r.decision(CycleKind::Morning, 16, RowStatus::Held, draft("C"));
    // B discounted again 5 days after its test ended.
    let b_again = r.decision(
        CycleKind::Discount,
        20,
        RowStatus::Applied,
        discount("B", 20),
    );
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(dir.path()).unwrap();
    store.import(r.rows).await.unwrap();
    let product_of: HashMap<String, String> = [("A", "P1"), ("A2", "P1"), ("B", "P2"), ("C", "P3")]
        .into_iter()
        .map(|(s, p)| (s.to_string(), p.to_string()))
        .collect();
    let writes = vec![
        status_write("P1", 3, ProductStatus::Active, ProductStatus::Draft),
        status_write("P2", 17, ProductStatus::Active, ProductStatus::Draft),
        status_write("P2", 30, ProductStatus::Draft, ProductStatus::Active),
    ];
    let share = BTreeMap::from([(day(2), 500u32), (day(3), 1_500)]);
    let facts = ShopFacts {
        writes: &writes,
        discount_share_by_day: &share,
        product_of: &product_of,
    };
    let report = check(
        &store,
        &StoreId::new("sim").unwrap(),
        &facts,
        &InvariantRules::default(),
    )
    .await
    .unwrap();
    let of = |k: Invariant| -> Vec<Vec<String>> {
        report
            .violations
            .iter()
            .filter(|v| v.invariant == k)
            .map(|v| v.refs.clone())
            .collect()
    };
    let s = |r: RowRef| r.to_string();
    assert_eq!(
        of(Invariant::DraftWithoutFinishedTest),
        vec![vec![s(a)], vec![s(c), s(c_on), s(c_rest)]],
        "{report:#?}"
    );
    assert!(!report.violations.iter().any(
        |v| v.refs.first() == Some(&s(b)) && v.invariant == Invariant::DraftWithoutFinishedTest
    ));
    assert_eq!(
        of(Invariant::UnpublishWithWinnerOrMid),
        vec![vec![s(a), s(a2)]]
    );
    assert_eq!(of(Invariant::DiscountCooldown).len(), 1);
    assert!(of(Invariant::DiscountCooldown)[0].contains(&s(b_again)));
    assert_eq!(
        of(Invariant::StatusFlipsPerProduct).len(),
        1,
        "P2 flipped twice in 13 days"
    );
    assert_eq!(of(Invariant::DiscountShareCap).len(), 1, "15% on day 3");
    assert_eq!(of(Invariant::HeldPastNextCycle), vec![vec![s(c)]]);
    // P2's re-publish has no row behind it; the DRAFT rows of P1, P2 match their writes; C's
    // held DRAFT was never applied and B's discounts never reached this write log.
    assert_eq!(of(Invariant::WriteWithoutRow).len(), 1);
    assert!(of(Invariant::AppliedWithoutWrite).contains(&vec![s(b_on)]));
    assert!(of(Invariant::AppliedTwice).is_empty());
}
