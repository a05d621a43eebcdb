//! The simulated shop's behaviour: determinism, a drafted product sells nothing, a discount moves
//! units by the elasticity and costs margin, lagged conversions restate, the ledger adds up,
//! budgets move spend, only genuine outside edits are reported as changes.

use chrono::{DateTime, Utc};
use otto_connectors::{AdsAccount, ShopCatalog};
use otto_core::metrics::ProductStatus;
use otto_core::money::Currency;
use otto_core::{StoreClock, StoreDay};
use otto_sim::{Actor, ShopSpec, SimShop};

fn spec(seed: u64, variants: usize) -> ShopSpec {
    ShopSpec {
        variants,
        seed,
        currency: Currency::EUR,
        start: StoreDay::parse("2026-09-01").unwrap(),
        warmup_days: 28,
        clock: StoreClock::new("Europe/Amsterdam").unwrap(),
        merchant_edits: false,
    }
}

fn day(n: i64) -> StoreDay {
    StoreDay::parse("2026-09-01").unwrap().plus_days(n)
}

fn at(n: i64) -> DateTime<Utc> {
    StoreClock::new("Europe/Amsterdam")
        .unwrap()
        .at_local(day(n), 16, 0)
        .unwrap()
}

#[test]
fn same_seed_same_shop_and_another_seed_another() {
    let (a, b, c) = (
        SimShop::new(spec(5, 120)),
        SimShop::new(spec(5, 120)),
        SimShop::new(spec(6, 120)),
    );
    for s in [&a, &b, &c] {
        s.advance_to(day(10), 0);
    }
    let first = day(-28);
    assert_eq!(a.ledger_from(first), b.ledger_from(first));
    assert_eq!(a.sku_metrics(first, day(9)), b.sku_metrics(first, day(9)));
    assert_ne!(a.ledger_from(first), c.ledger_from(first));
    // Stopping at other times of day does not change a thing.
    let d = SimShop::new(spec(5, 120));
    for n in 0..10 {
        d.advance_to(day(n), 6 * 60);
        d.advance_to(day(n), 16 * 60);
    }
    d.advance_to(day(10), 0);
    assert_eq!(a.ledger_from(first), d.ledger_from(first));
}

#[tokio::test]
async fn a_drafted_product_sells_nothing_and_its_ads_stop() {
    let shop = SimShop::new(spec(2, 200));
    // The product that sold most in the warm-up.
    let sales = shop.sku_sales_report(day(-28), day(-1));
    let top = sales.iter().max_by_key(|s| s.units).unwrap().sku.clone();
    let product = shop.product_of(top.as_str()).unwrap().to_string();
    shop.set_product_status(&product, ProductStatus::Draft)
        .await
        .unwrap();
    shop.advance_to(day(14), 0);
    let skus: Vec<_> = shop
        .variants()
        .into_iter()
        .filter(|v| v.product_id == product)
        .map(|v| v.sku)
        .collect();
    // Lagged purchases of clicks before the draft land in the first week; none after.
    let later = shop.sku_sales_report(day(8), day(13));
    assert!(!later.iter().any(|s| skus.contains(&s.sku)));
    let ads = shop.sku_performance(day(0), day(13)).await.unwrap();
    assert!(!ads.iter().any(|m| skus.contains(&m.sku) && m.clicks > 0));
    assert!(shop
        .variants()
        .iter()
        .filter(|v| v.product_id == product)
        .all(|v| v.status == ProductStatus::Draft));
}

#[test]
fn a_discount_raises_units_by_the_elasticity_and_lowers_unit_margin() {
    let (base, sale) = (SimShop::new(spec(9, 300)), SimShop::new(spec(9, 300)));
    let variants = sale.variants();
    for v in &variants {
        let price = v.price.scale_bp(8_000).unwrap().rounded();
        sale.set_price(
            &v.product_id,
            &v.variant_id,
            price,
            Some(v.price),
            Actor::Policy,
            at(-1),
        )
        .unwrap();
    }
    base.advance_to(day(14), 0);
    sale.advance_to(day(14), 0);
    let (b, s) = (
        base.totals_from(day(0)).unwrap(),
        sale.totals_from(day(0)).unwrap(),
    );
    // Expected lift from the truth: the demand-weighted mean of 0.8^ε.
    let t = sale.truth();
    let w: f64 = t
        .variants
        .iter()
        .filter(|v| v.initially_active)
        .map(|v| v.organic_per_day)
        .sum();
    let lift: f64 = t
        .variants
        .iter()
        .filter(|v| v.initially_active)
        .map(|v| v.organic_per_day * 0.8f64.powf(v.elasticity))
        .sum::<f64>()
        / w;
    let seen = s.units as f64 / b.units as f64;
    assert!(seen > 1.15, "units {} → {}", b.units, s.units);
    assert!(
        (seen / lift - 1.0).abs() < 0.2,
        "seen {seen:.3}, truth {lift:.3}"
    );
    let unit_margin =
        |x: &otto_sim::LedgerTotals| (x.revenue.micros() - x.cogs.micros()) as f64 / x.units as f64;
    assert!(unit_margin(&s) < unit_margin(&b) * 0.85);
    assert!(s.discount_cost.micros() > 0 && b.discount_cost.micros() == 0);
}

#[test]
fn late_conversions_restate_recent_days() {
    let shop = SimShop::new(spec(4, 200));
    let d = day(-1);
    let early: i64 = shop
        .sku_metrics(d, d)
        .iter()
        .map(|m| m.conversions_milli)
        .sum();
    assert!(shop.sku_metrics(d, d).iter().all(|m| m.provisional));
    shop.advance_to(day(8), 0);
    let late: i64 = shop
        .sku_metrics(d, d)
        .iter()
        .map(|m| m.conversions_milli)
        .sum();
    assert!(late > early, "{early} → {late}");
    assert!(shop.sku_metrics(d, d).iter().all(|m| !m.provisional));
}

#[tokio::test]
async fn the_ledger_adds_up_to_orders_and_ad_costs() {
    let shop = SimShop::new(spec(8, 150));
    shop.advance_to(day(5), 0);
    let (from, to) = (day(-28), day(4));
    let ledger = shop.ledger_from(from);
    let revenue: i64 = ledger.iter().map(|(_, l)| l.revenue).sum();
    let spend: i64 = ledger.iter().map(|(_, l)| l.ad_spend).sum();
    let units: i64 = ledger.iter().map(|(_, l)| l.units).sum();
    let orders = shop.sku_sales(from, to).await.unwrap().unwrap();
    assert_eq!(
        revenue,
        orders.iter().map(|s| s.revenue.micros()).sum::<i64>()
    );
    assert_eq!(units, orders.iter().map(|s| s.units).sum::<i64>());
    let ads = shop.sku_performance(from, to).await.unwrap();
    assert_eq!(spend, ads.iter().map(|m| m.cost.micros()).sum::<i64>());
    let campaigns = shop.campaign_performance(from, to).await.unwrap();
    assert_eq!(
        spend,
        campaigns.iter().map(|c| c.cost.micros()).sum::<i64>()
    );
    let t = shop.totals_from(from).unwrap();
    assert_eq!(
        t.profit.micros(),
        t.revenue.micros() - t.cogs.micros() - t.ad_spend.micros()
    );
    // The ads claim part of the orders, never more than the store sold.
    let claimed: i64 = ads.iter().map(|m| m.conversion_value.micros()).sum();
    assert!(claimed > 0 && claimed < revenue);
}

#[tokio::test]
async fn budgets_move_spend() {
    let (a, b) = (SimShop::new(spec(3, 200)), SimShop::new(spec(3, 200)));
    let budgets = b.budgets().await.unwrap();
    for x in &budgets {
        b.set_budget(
            &x.budget_resource,
            x.amount.scale_bp(5_000).unwrap().rounded(),
            Actor::Policy,
            at(-1),
        )
        .unwrap();
    }
    a.advance_to(day(7), 0);
    b.advance_to(day(7), 0);
    let spend = |s: &SimShop| s.totals_from(day(0)).unwrap().ad_spend.micros();
    // Campaigns held back by budget spend less; those with budget to spare barely notice.
    assert!(
        spend(&b) < spend(&a) * 9 / 10,
        "{} vs {}",
        spend(&b),
        spend(&a)
    );
    assert!(spend(&b) > spend(&a) / 2);
}

#[tokio::test]
async fn only_the_merchants_edits_are_outside_changes() {
    let shop = SimShop::new(ShopSpec {
        merchant_edits: true,
        ..spec(11, 400)
    });
    let v = &shop.variants()[0];
    shop.set_variant_price(&v.product_id, &v.variant_id, v.price, None)
        .await
        .unwrap();
    shop.advance_to(day(20), 0);
    let changes = shop.changes_since(at(-30)).await.unwrap();
    assert!(!changes.is_empty());
    let merchant: Vec<_> = shop
        .writes()
        .into_iter()
        .filter(|w| w.actor == Actor::Merchant)
        .collect();
    // The policy's own price write is not among them.
    assert_eq!(changes.len(), merchant.len());
    assert!(shop.writes().iter().any(|w| w.actor == Actor::Policy));
}
