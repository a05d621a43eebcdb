//! The closed-loop shop: the truth, the state policies can change (prices, statuses, budgets),
//! and the clock of the simulation. It advances in store-local minutes; the expected sales of
//! every stretch of time are accumulated with the state in force during it, and each day's noise
//! is drawn when the day closes (`day`). Reports (`reports`) and the vendor ports (`ports`) read
//! what has happened; writes are logged (`writes`).

use crate::day::{Acc, AdsRecord, CampAcc, CampaignRecord, Sale};
use crate::ledger::{DayLedger, LedgerTotals};
use crate::truth::{generate, ShopSpec, Truth};
use crate::writes::{Actor, Change, ShopWrite};
use chrono::{DateTime, Duration, Utc};
use otto_core::metrics::{ExternalChange, ProductStatus};
use otto_core::{Money, StoreDay};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

pub const MINUTES_PER_DAY: u32 = 1_440;

#[derive(Debug, Clone)]
pub(crate) struct VarState {
    pub price: Money,
    pub compare_at: Option<Money>,
    pub status: ProductStatus,
    pub inventory: i64,
    pub updated_at: DateTime<Utc>,
    /// A restock on its way: (arrival day, units).
    pub restock: Option<(StoreDay, i64)>,
}

impl VarState {
    pub fn on_discount(&self) -> bool {
        self.compare_at
            .is_some_and(|c| c.micros() > self.price.micros())
    }
}

pub(crate) struct State {
    pub day: StoreDay,
    pub minute: u32,
    pub vars: Vec<VarState>,
    pub budgets: Vec<Money>,
    pub acc: Vec<Acc>,
    pub camp_acc: Vec<CampAcc>,
    pub ads: BTreeMap<StoreDay, Vec<AdsRecord>>,
    pub campaigns: BTreeMap<StoreDay, Vec<CampaignRecord>>,
    pub sales: BTreeMap<StoreDay, BTreeMap<usize, Sale>>,
    pub ledger: BTreeMap<StoreDay, DayLedger>,
    pub writes: Vec<ShopWrite>,
    pub external: Vec<ExternalChange>,
    /// The largest share of the catalog (basis points) seen on discount, per day.
    pub discount_share_bp: BTreeMap<StoreDay, u32>,
}

pub struct SimShop {
    pub(crate) spec: ShopSpec,
    pub(crate) truth: Truth,
    pub(crate) by_product: HashMap<String, Vec<usize>>,
    pub(crate) by_variant: HashMap<String, usize>,
    pub(crate) state: Mutex<State>,
}

impl SimShop {
    /// The shop at 00:00 of `spec.start`, with `spec.warmup_days` of history behind it.
    pub fn new(spec: ShopSpec) -> SimShop {
        let truth = generate(&spec);
        let first = spec.start.plus_days(-i64::from(spec.warmup_days));
        let edited = spec.clock.at_local(first, 0, 0).unwrap_or_default() - Duration::days(60);
        let vars = truth
            .variants
            .iter()
            .map(|v| VarState {
                price: v.reference_price,
                compare_at: None,
                status: if v.initially_active {
                    ProductStatus::Active
                } else {
                    ProductStatus::Draft
                },
                inventory: v.initial_stock,
                updated_at: edited,
                restock: None,
            })
            .collect();
        let mut by_product: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_variant = HashMap::new();
        for (i, v) in truth.variants.iter().enumerate() {
            by_product.entry(v.product_id.clone()).or_default().push(i);
            by_variant.insert(v.variant_id.clone(), i);
        }
        let state = State {
            day: first,
            minute: 0,
            vars,
            budgets: truth.campaigns.iter().map(|c| c.initial_budget).collect(),
            acc: vec![Acc::default(); truth.variants.len()],
            camp_acc: vec![CampAcc::default(); truth.campaigns.len()],
            ads: BTreeMap::new(),
            campaigns: BTreeMap::new(),
            sales: BTreeMap::new(),
            ledger: BTreeMap::new(),
            writes: Vec::new(),
            external: Vec::new(),
            discount_share_bp: BTreeMap::new(),
        };
        let shop = SimShop {
            spec,
            truth,
            by_product,
            by_variant,
            state: Mutex::new(state),
        };
        shop.advance_to(shop.spec.start, 0);
        shop
    }

    pub fn spec(&self) -> &ShopSpec {
        &self.spec
    }

    /// The hidden truth (for tests and figures; a policy never reads it).
    pub fn truth(&self) -> &Truth {
        &self.truth
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Where the shop's clock stands: (store day, local minute).
    pub fn now(&self) -> (StoreDay, u32) {
        let s = self.lock();
        (s.day, s.minute)
    }

    /// Runs the shop forward to `minute` (0 … 1439) of `day`, closing every day it passes.
    /// Time never runs backwards: an earlier target does nothing.
    pub fn advance_to(&self, day: StoreDay, minute: u32) {
        let mut s = self.lock();
        let merchant_at = self.spec.merchant_edits.then_some(9 * 60);
        while (s.day, s.minute) < (day, minute) {
            let mut end = if s.day < day { MINUTES_PER_DAY } else { minute };
            if let Some(m) = merchant_at {
                if s.minute < m && end > m {
                    end = m;
                }
            }
            let frac = f64::from(end - s.minute) / f64::from(MINUTES_PER_DAY);
            self.accumulate(&mut s, frac);
            s.minute = end;
            if Some(s.minute) == merchant_at {
                self.merchant_edits(&mut s);
            }
            if s.minute == MINUTES_PER_DAY {
                self.close_day(&mut s);
                s.day = s.day.plus_days(1);
                s.minute = 0;
            }
        }
        let bp = share_on_discount_bp(&s.vars);
        let day = s.day;
        let e = s.discount_share_bp.entry(day).or_default();
        *e = (*e).max(bp);
    }

    /// The books of every closed day from `from` on (inclusive), in day order.
    pub fn ledger_from(&self, from: StoreDay) -> Vec<(StoreDay, DayLedger)> {
        let s = self.lock();
        let today = s.day.max(from);
        s.ledger.range(from..today).map(|(d, l)| (*d, *l)).collect()
    }

    pub fn totals_from(&self, from: StoreDay) -> Option<LedgerTotals> {
        LedgerTotals::of(&self.ledger_from(from), self.spec.currency)
    }

    /// Every change made to the shop, oldest first.
    pub fn writes(&self) -> Vec<ShopWrite> {
        self.lock().writes.clone()
    }

    /// The largest share of the catalog on discount at once (basis points) from `from` on.
    pub fn max_share_on_discount_bp(&self, from: StoreDay) -> u32 {
        self.lock()
            .discount_share_bp
            .range(from..)
            .map(|(_, bp)| *bp)
            .max()
            .unwrap_or(0)
    }

    /// Per day, the largest share on discount seen (basis points).
    pub fn discount_share_by_day(&self) -> BTreeMap<StoreDay, u32> {
        self.lock().discount_share_bp.clone()
    }

    /// Product of a SKU (from the catalog; SKUs never move between products).
    pub fn product_of(&self, sku: &str) -> Option<&str> {
        self.truth
            .variants
            .iter()
            .find(|v| v.sku.as_str() == sku)
            .map(|v| v.product_id.as_str())
    }

    /// Sets a product's status on every variant of it. `Err` names what was wrong.
    pub fn set_status(
        &self,
        product_id: &str,
        status: ProductStatus,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let ids = self
            .by_product
            .get(product_id)
            .ok_or_else(|| format!("product {product_id} does not exist"))?;
        let mut s = self.lock();
        let from = s.vars[ids[0]].status;
        for &i in ids {
            s.vars[i].status = status;
            s.vars[i].updated_at = at;
        }
        let day = s.day;
        s.writes.push(ShopWrite {
            at,
            day,
            actor,
            change: Change::Status {
                product_id: product_id.to_string(),
                from,
                to: status,
            },
        });
        Ok(())
    }

    /// Sets a variant's price and compare-at price.
    pub fn set_price(
        &self,
        product_id: &str,
        variant_id: &str,
        price: Money,
        compare_at: Option<Money>,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let i = *self
            .by_variant
            .get(variant_id)
            .filter(|i| self.truth.variants[**i].product_id == product_id)
            .ok_or_else(|| format!("variant {variant_id} of {product_id} does not exist"))?;
        if price.micros() <= 0 || price.currency() != self.spec.currency {
            return Err(format!(
                "price {price} is not a positive {} amount",
                self.spec.currency
            ));
        }
        let mut s = self.lock();
        let (from, compare_at_from) = (s.vars[i].price, s.vars[i].compare_at);
        let v = &mut s.vars[i];
        v.price = price.rounded();
        v.compare_at = compare_at.map(|c| c.rounded());
        v.updated_at = at;
        let day = s.day;
        s.writes.push(ShopWrite {
            at,
            day,
            actor,
            change: Change::Price {
                variant_id: variant_id.to_string(),
                sku: self.truth.variants[i].sku.to_string(),
                from,
                to: price.rounded(),
                compare_at_from,
                compare_at_to: compare_at.map(|c| c.rounded()),
            },
        });
        Ok(())
    }

    /// Sets a campaign budget's daily amount.
    pub fn set_budget(
        &self,
        budget_resource: &str,
        amount: Money,
        actor: Actor,
        at: DateTime<Utc>,
    ) -> Result<(), String> {
        let c = self
            .truth
            .campaigns
            .iter()
            .position(|c| c.budget_resource == budget_resource)
            .ok_or_else(|| format!("campaign budget {budget_resource} does not exist"))?;
        if amount.micros() <= 0 || amount.currency() != self.spec.currency {
            return Err(format!(
                "budget {amount} is not a positive {} amount",
                self.spec.currency
            ));
        }
        let mut s = self.lock();
        let from = s.budgets[c];
        s.budgets[c] = amount.rounded();
        let day = s.day;
        s.writes.push(ShopWrite {
            at,
            day,
            actor,
            change: Change::Budget {
                budget_resource: budget_resource.to_string(),
                from,
                to: amount.rounded(),
            },
        });
        Ok(())
    }
}

fn share_on_discount_bp(vars: &[VarState]) -> u32 {
    if vars.is_empty() {
        return 0;
    }
    let on = vars.iter().filter(|v| v.on_discount()).count();
    (on * 10_000 / vars.len()) as u32
}
