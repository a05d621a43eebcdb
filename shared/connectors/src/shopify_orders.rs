//! Store sales per SKU per store day from Shopify orders ([`crate::ShopCatalog::sku_sales`]).
//!
//! Wire (Admin GraphQL, the client's configured version):
//! * `orders(first, after, query, sortKey: CREATED_AT)` with the search
//!   `created_at:>='<from 00:00 store time in UTC>' AND created_at:<'<to + 1 day 00:00>'` — the
//!   store day is the order's `createdAt` in the store's time zone, so the window is cut at the
//!   store's midnights, not UTC's. Search syntax: <https://shopify.dev/docs/api/usage/search-syntax>,
//!   the timestamp form as in <https://shopify.dev/changelog/add-createdupdated-at-time-based-filters-for-an-orders-fulfillments>;
//!   the `orders` query and `Order` fields (`cancelledAt`, `test`, `lineItems`, `refunds`):
//!   <https://shopify.dev/docs/api/admin-graphql/latest/objects/order.md> (read_orders; only the
//!   last 60 days unless the app has `read_all_orders`).
//! * Per line: `sku` (nullable), `quantity` (as ordered), `currentQuantity` ("excluding refunded
//!   and removed units") and `discountedTotalSet.shopMoney` ("the total discounted price of the
//!   line item … including refunded and removed quantities. This value doesn't include order-level
//!   discounts") — <https://shopify.dev/docs/api/admin-graphql/latest/objects/LineItem.md>.
//! * Refunds: `Order.refunds(first)` → `refundLineItems(first)` with `quantity`,
//!   `subtotalSet.shopMoney` and `lineItem { id }` —
//!   <https://shopify.dev/docs/api/admin-graphql/latest/objects/RefundLineItem.md>.
//!
//! What a row holds ([`SkuSales`]), per SKU and store day of the order:
//! * units = Σ `currentQuantity` (refunded and removed units already out);
//! * revenue = Σ (`discountedTotalSet` − the line's refunded `subtotalSet`s − the removed units'
//!   share of the line total), in the shop's money, never below zero per line. Refunds are netted
//!   onto the day the order was placed (the sale they undo), so a day's figure can go down when a
//!   refund comes later: re-read the restatement window. Order-level discounts (a discount code on
//!   the whole order) are not in `discountedTotalSet` and are not taken off per SKU; refunds of
//!   money without refund line items (goodwill, shipping) are not a SKU's and are not netted;
//! * orders = orders in which the SKU has units left.
//!
//! Cancelled orders (`cancelledAt` set) and test orders (`test: true`) are left out and counted;
//! a line without a SKU (custom items, tips) is left out and counted ([`SalesReport`]). Money in
//! another currency than the configured one is an error naming `OTTO_CURRENCY` — `shopMoney` is
//! always the shop's currency, so it means the setting is wrong.
//!
//! Paging and cost: a page asks for [`ORDERS_PAGE`] orders with [`LINES_PAGE`] lines and
//! [`REFUNDS_PAGE`] refunds of [`REFUND_LINES_PAGE`] lines each, which by Shopify's documented
//! cost rule (object 1, connection 2 + first × node —
//! <https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits>) is [`page_cost`] =
//! 823 requested points, under the 1,000-point single-query cap. An order with more lines is
//! completed by its own `order(id)` query (paged by cursor); one with [`REFUNDS_PAGE`] refunds
//! or more, or a refund with more lines than a page, is read again with [`DETAIL_REFUNDS`] ×
//! [`DETAIL_REFUND_LINES`]; beyond that the read fails naming the order (never half an order).
//!
//! Bulk: an ordinary order (2 lines, no refund) costs about 10 *actual* points (Shopify refunds
//! the difference to the requested cost), so a page of 10 orders is ~100 points: at the Standard
//! plan's 100 points a second that is about 10 orders a second, 600 a minute. A read first counts
//! the window's orders (`ordersCount(query:) { count precision }` —
//! <https://shopify.dev/docs/api/admin-graphql/latest/objects/Count>; without `limit` it counts
//! up to 10,000 and says `AT_LEAST` beyond); above the client's threshold
//! ([`crate::shopify_bulk::BulkSettings::threshold_orders`], default [`BULK_THRESHOLD_ORDERS`]:
//! ≈ 5 minutes of paging, the budget a sync stage can give one read) it runs [`bulk_orders_query`]
//! as a bulk operation ([`crate::shopify_bulk`]) — the same selection without `first` limits —
//! and reads the JSONL with [`parse_bulk_orders`]: each order a line, each line item and refund
//! line its own line with `__parentId` (<https://shopify.dev/docs/api/usage/bulk-operations/queries>).
//! Both reads go through the same [`tally`]. The threshold is derived from the documented cost
//! rule, not measured against a shop.

use crate::ports::VendorError;
use chrono::{DateTime, SecondsFormat, Utc};
use otto_core::metrics::SkuSales;
use otto_core::{Currency, Money, Sku, StoreClock, StoreDay};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

const VENDOR: &str = "shopify";

/// Orders per page.
pub const ORDERS_PAGE: u32 = 10;
/// Line items per order in a page.
pub const LINES_PAGE: u32 = 10;
/// Refunds per order in a page (a list field: `first` bounds it, no `hasNextPage`).
pub const REFUNDS_PAGE: u32 = 2;
/// Lines per refund in a page.
pub const REFUND_LINES_PAGE: u32 = 5;
/// Line items per page of one order's own query.
pub const DETAIL_LINES: u32 = 50;
/// Refunds read when an order's refunds overflow a page.
pub const DETAIL_REFUNDS: u32 = 10;
/// Lines per refund when an order's refunds overflow a page.
pub const DETAIL_REFUND_LINES: u32 = 20;
/// Orders in one window above which a bulk operation is the right read (see the module comment).
pub const BULK_THRESHOLD_ORDERS: u64 = 3_000;

const MONEY: &str = "shopMoney { amount currencyCode }";

fn line_fields() -> String {
    format!("id sku quantity currentQuantity discountedTotalSet {{ {MONEY} }}")
}

fn refunds_fields(refunds: u32, lines: u32) -> String {
    format!(
        "refunds(first: {refunds}) {{ id createdAt \
           refundLineItems(first: {lines}) {{ pageInfo {{ hasNextPage }} \
             nodes {{ quantity subtotalSet {{ {MONEY} }} lineItem {{ id }} }} }} }}"
    )
}

/// The `orders` page query (variables `first`, `cursor`, `query`).
pub fn orders_query() -> String {
    format!(
        "query Orders($first: Int!, $cursor: String, $query: String!) {{ \
           orders(first: $first, after: $cursor, query: $query, sortKey: CREATED_AT) {{ \
             pageInfo {{ hasNextPage endCursor }} \
             nodes {{ id name createdAt cancelledAt test \
               lineItems(first: {LINES_PAGE}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {} }} }} \
               {} }} }} }}",
        line_fields(),
        refunds_fields(REFUNDS_PAGE, REFUND_LINES_PAGE)
    )
}

/// One order's further line items (variables `id`, `cursor`).
pub fn order_lines_query() -> String {
    format!(
        "query OrderLines($id: ID!, $cursor: String) {{ order(id: $id) {{ id \
           lineItems(first: {DETAIL_LINES}, after: $cursor) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ {} }} }} }} }}",
        line_fields()
    )
}

/// One order's refunds when they overflow a page (variable `id`).
pub fn order_refunds_query() -> String {
    format!(
        "query OrderRefunds($id: ID!) {{ order(id: $id) {{ id {} }} }}",
        refunds_fields(DETAIL_REFUNDS, DETAIL_REFUND_LINES)
    )
}

/// The window's order count (variable `query`): decides paging or a bulk operation.
pub const ORDERS_COUNT_QUERY: &str =
    "query OrdersCount($query: String!) { ordersCount(query: $query) { count precision } }";

/// The bulk operation's query for the window `search`: the page's selection without `first`
/// limits (three connections, two levels deep: within the documented limits). `__typename` on
/// the nested nodes tells a line item from a refund line in the JSONL.
pub fn bulk_orders_query(search: &str) -> String {
    let search = serde_json::to_string(search).unwrap_or_else(|_| "\"\"".into());
    format!(
        "{{ orders(query: {search}, sortKey: CREATED_AT) {{ edges {{ node {{ \
           id name createdAt cancelledAt test \
           lineItems {{ edges {{ node {{ __typename {} }} }} }} \
           refunds {{ id createdAt refundLineItems {{ edges {{ node {{ __typename \
             quantity subtotalSet {{ {MONEY} }} lineItem {{ id }} }} }} }} }} }} }} }} }}",
        line_fields()
    )
}

/// The response parser for [`ORDERS_COUNT_QUERY`]: (count, exact).
pub fn parse_orders_count(data: &Value) -> Result<(u64, bool), VendorError> {
    let c = field(data, "ordersCount", "ordersCount")?;
    let count = field(c, "count", "ordersCount")?
        .as_u64()
        .ok_or_else(|| permanent("ordersCount: `count` is not a count"))?;
    let exact = str_field(c, "precision", "ordersCount")? == "EXACT";
    Ok((count, exact))
}

/// The bulk result parser, public for fuzzing: the JSONL lines of [`bulk_orders_query`] →
/// complete orders, in the file's order of orders. Children are joined to their order by
/// `__parentId` (the order's id, or — for a refund line — its refund's id, which the order's
/// line lists), whatever the order of lines.
pub fn parse_bulk_orders(
    lines: &[(usize, Value)],
    currency: Currency,
) -> Result<Vec<OrderRecord>, VendorError> {
    let mut orders: Vec<OrderRecord> = Vec::new();
    let mut parent: HashMap<String, usize> = HashMap::new();
    for (n, v) in lines.iter().filter(|(_, v)| v.get("__parentId").is_none()) {
        let o = parse_order_head(v)
            .map_err(|e| permanent(format!("bulk result line {n}: {}", detail(&e))))?;
        let idx = orders.len();
        for r in v
            .get("refunds")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(id) = r.get("id").and_then(Value::as_str) {
                parent.insert(id.to_string(), idx);
            }
        }
        parent.insert(o.id.clone(), idx);
        orders.push(o.into_record());
    }
    for (n, v) in lines.iter().filter(|(_, v)| v.get("__parentId").is_some()) {
        let ctx = format!("bulk result line {n}");
        let pid = str_field(v, "__parentId", &ctx)?;
        let idx = *parent
            .get(pid)
            .ok_or_else(|| permanent(format!("{ctx}: __parentId {pid} is no order or refund")))?;
        let o = &mut orders[idx];
        match str_field(v, "__typename", &ctx)? {
            "LineItem" => o.lines.push(parse_line(v, &o.name, currency)?),
            "RefundLineItem" => o.refunds.push(parse_refund_line(v, &ctx, currency)?),
            other => return Err(permanent(format!("{ctx}: unexpected __typename {other}"))),
        }
    }
    Ok(orders)
}

fn detail(e: &VendorError) -> String {
    match e {
        VendorError::Permanent { detail, .. } | VendorError::Transient { detail, .. } => {
            detail.clone()
        }
        other => other.to_string(),
    }
}

/// Requested cost of a page by Shopify's documented rule (object 1, scalar 0, connection
/// 2 + first × node; `pageInfo` an object; a list with `first` counted as `first` nodes).
pub fn page_cost(orders: u32, lines: u32, refunds: u32, refund_lines: u32) -> u32 {
    let money_bag = 2; // MoneyBag + shopMoney
    let line = 1 + money_bag;
    let line_items = 2 + 1 + lines * line;
    let refund_line = 1 + money_bag + 1; // + lineItem
    let refund = 1 + (2 + 1 + refund_lines * refund_line);
    let order = 1 + line_items + refunds * refund;
    2 + 1 + orders * order
}

/// The search string for `from` … `to` (inclusive store days) in the store's time zone.
pub fn window_search(clock: &StoreClock, from: StoreDay, to: StoreDay) -> Result<String, String> {
    if to < from {
        return Err(format!("sales window: {to} is before {from}"));
    }
    let start = clock.at_local(from, 0, 0).map_err(|e| e.to_string())?;
    let end = clock
        .at_local(to.plus_days(1), 0, 0)
        .map_err(|e| e.to_string())?;
    let ts = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
    Ok(format!(
        "created_at:>='{}' AND created_at:<'{}'",
        ts(start),
        ts(end)
    ))
}

fn permanent(detail: impl Into<String>) -> VendorError {
    VendorError::permanent(VENDOR, detail)
}

/// One order line as read.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLine {
    pub id: String,
    /// `None` for a line without a SKU (or one Otto cannot key on).
    pub sku: Option<Sku>,
    pub quantity: i64,
    pub current_quantity: i64,
    pub discounted_total: Money,
}

/// One refunded line.
#[derive(Debug, Clone, PartialEq)]
pub struct RefundedLine {
    pub line_id: String,
    pub quantity: i64,
    pub subtotal: Money,
}

/// One order as read from a page (its lines and refunds may be completed by follow-ups).
#[derive(Debug, Clone, PartialEq)]
pub struct OrderRecord {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub cancelled: bool,
    pub test: bool,
    pub lines: Vec<OrderLine>,
    /// `lineItems.pageInfo.endCursor` when more lines remain.
    pub more_lines: Option<String>,
    pub refunds: Vec<RefundedLine>,
    /// The refunds may not all be here (as many refunds as asked for, or a refund's lines paged).
    pub refunds_overflow: bool,
}

/// One `orders` page.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersPage {
    pub orders: Vec<OrderRecord>,
    pub has_next: bool,
    pub end_cursor: Option<String>,
}

fn field<'a>(node: &'a Value, key: &str, ctx: &str) -> Result<&'a Value, VendorError> {
    match node.get(key) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(permanent(format!("{ctx}: missing `{key}`"))),
    }
}

fn str_field<'a>(node: &'a Value, key: &str, ctx: &str) -> Result<&'a str, VendorError> {
    field(node, key, ctx)?
        .as_str()
        .ok_or_else(|| permanent(format!("{ctx}: `{key}` is not a string")))
}

fn int_field(node: &Value, key: &str, ctx: &str) -> Result<i64, VendorError> {
    let v = field(node, key, ctx)?;
    v.as_i64()
        .filter(|n| *n >= 0)
        .ok_or_else(|| permanent(format!("{ctx}: `{key}` is not a count: {v}")))
}

fn list<'a>(node: &'a Value, key: &str, ctx: &str) -> Result<&'a Vec<Value>, VendorError> {
    field(node, key, ctx)?
        .as_array()
        .ok_or_else(|| permanent(format!("{ctx}: `{key}` is not a list")))
}

/// `{ shopMoney { amount currencyCode } }` in the configured currency.
fn shop_money(bag: &Value, ctx: &str, currency: Currency) -> Result<Money, VendorError> {
    let m = field(bag, "shopMoney", ctx)?;
    let code = str_field(m, "currencyCode", ctx)?;
    if code != currency.code() {
        return Err(permanent(format!(
            "{ctx}: shop money is in {code}, but OTTO_CURRENCY is {currency}: set OTTO_CURRENCY={code}"
        )));
    }
    let amount = str_field(m, "amount", ctx)?;
    Money::parse(amount, currency).map_err(|e| permanent(format!("{ctx}: `amount`: {e}")))
}

fn parse_line(node: &Value, order: &str, currency: Currency) -> Result<OrderLine, VendorError> {
    let id = str_field(node, "id", &format!("order {order}: line"))?;
    let ctx = format!("order {order}: line {id}");
    let sku = match node.get("sku") {
        None => return Err(permanent(format!("{ctx}: missing `sku`"))),
        Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Sku::new(s.as_str()).ok(),
        Some(other) => return Err(permanent(format!("{ctx}: `sku` is not a string: {other}"))),
    };
    let quantity = int_field(node, "quantity", &ctx)?;
    let current_quantity = int_field(node, "currentQuantity", &ctx)?;
    let discounted_total = shop_money(
        field(node, "discountedTotalSet", &ctx)?,
        &format!("{ctx}: discountedTotalSet"),
        currency,
    )?;
    Ok(OrderLine {
        id: id.to_string(),
        sku,
        quantity,
        current_quantity,
        discounted_total,
    })
}

/// A `lineItems` connection: the lines and the cursor when more remain.
fn parse_lines(
    conn: &Value,
    order: &str,
    currency: Currency,
) -> Result<(Vec<OrderLine>, Option<String>), VendorError> {
    let ctx = format!("order {order}: lineItems");
    let lines = list(conn, "nodes", &ctx)?
        .iter()
        .map(|n| parse_line(n, order, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let page_info = field(conn, "pageInfo", &ctx)?;
    let more = field(page_info, "hasNextPage", &ctx)?
        .as_bool()
        .ok_or_else(|| permanent(format!("{ctx}: `hasNextPage` is not a boolean")))?;
    let cursor = if more {
        Some(str_field(page_info, "endCursor", &ctx)?.to_string())
    } else {
        None
    };
    Ok((lines, cursor))
}

/// An order's `refunds` list: the refunded lines, and whether some may be missing.
fn parse_refunds(
    refunds: &[Value],
    asked: u32,
    order: &str,
    currency: Currency,
) -> Result<(Vec<RefundedLine>, bool), VendorError> {
    let mut out = Vec::new();
    let mut overflow = refunds.len() >= asked as usize;
    for r in refunds {
        let ctx = format!("order {order}: refund");
        let conn = field(r, "refundLineItems", &ctx)?;
        let ctx = format!("{ctx}: refundLineItems");
        if field(field(conn, "pageInfo", &ctx)?, "hasNextPage", &ctx)?
            .as_bool()
            .ok_or_else(|| permanent(format!("{ctx}: `hasNextPage` is not a boolean")))?
        {
            overflow = true;
        }
        for n in list(conn, "nodes", &ctx)? {
            out.push(parse_refund_line(n, &ctx, currency)?);
        }
    }
    Ok((out, overflow))
}

fn parse_refund_line(
    n: &Value,
    ctx: &str,
    currency: Currency,
) -> Result<RefundedLine, VendorError> {
    let line_id = str_field(field(n, "lineItem", ctx)?, "id", ctx)?;
    Ok(RefundedLine {
        line_id: line_id.to_string(),
        quantity: int_field(n, "quantity", ctx)?,
        subtotal: shop_money(
            field(n, "subtotalSet", ctx)?,
            &format!("{ctx}: subtotalSet"),
            currency,
        )?,
    })
}

/// An order's own fields (no lines, no refunds).
struct OrderHead {
    id: String,
    name: String,
    created_at: DateTime<Utc>,
    cancelled: bool,
    test: bool,
}

fn parse_order_head(node: &Value) -> Result<OrderHead, VendorError> {
    let id = str_field(node, "id", "order")?;
    let name = node.get("name").and_then(Value::as_str).unwrap_or(id);
    let ctx = format!("order {name}");
    let created_raw = str_field(node, "createdAt", &ctx)?;
    let created_at = DateTime::parse_from_rfc3339(created_raw)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| permanent(format!("{ctx}: `createdAt` {created_raw:?}: {e}")))?;
    let cancelled = !matches!(node.get("cancelledAt"), None | Some(Value::Null));
    let test = match node.get("test") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(permanent(format!(
                "{ctx}: `test` is not a boolean: {other}"
            )))
        }
    };
    Ok(OrderHead {
        id: id.to_string(),
        name: name.to_string(),
        created_at,
        cancelled,
        test,
    })
}

impl OrderHead {
    fn into_record(self) -> OrderRecord {
        OrderRecord {
            id: self.id,
            name: self.name,
            created_at: self.created_at,
            cancelled: self.cancelled,
            test: self.test,
            lines: Vec::new(),
            more_lines: None,
            refunds: Vec::new(),
            refunds_overflow: false,
        }
    }
}

fn parse_order(node: &Value, currency: Currency) -> Result<OrderRecord, VendorError> {
    let mut o = parse_order_head(node)?.into_record();
    let ctx = format!("order {}", o.name);
    let (lines, more_lines) = parse_lines(field(node, "lineItems", &ctx)?, &o.name, currency)?;
    let (refunds, refunds_overflow) = parse_refunds(
        list(node, "refunds", &ctx)?,
        REFUNDS_PAGE,
        &o.name,
        currency,
    )?;
    o.lines = lines;
    o.more_lines = more_lines;
    o.refunds = refunds;
    o.refunds_overflow = refunds_overflow;
    Ok(o)
}

/// The response parser, public for fuzzing: one `orders` page out of the `data` object.
pub fn parse_orders_page(data: &Value, currency: Currency) -> Result<OrdersPage, VendorError> {
    let conn = field(data, "orders", "orders page")?;
    let orders = list(conn, "nodes", "orders page")?
        .iter()
        .map(|n| parse_order(n, currency))
        .collect::<Result<Vec<_>, _>>()?;
    let page_info = field(conn, "pageInfo", "orders page")?;
    let has_next = field(page_info, "hasNextPage", "orders pageInfo")?
        .as_bool()
        .ok_or_else(|| permanent("orders pageInfo: `hasNextPage` is not a boolean"))?;
    let end_cursor = if has_next {
        Some(str_field(page_info, "endCursor", "orders pageInfo")?.to_string())
    } else {
        None
    };
    Ok(OrdersPage {
        orders,
        has_next,
        end_cursor,
    })
}

/// The response parser for [`order_lines_query`]: the lines and the next cursor.
pub fn parse_order_lines(
    data: &Value,
    order: &str,
    currency: Currency,
) -> Result<(Vec<OrderLine>, Option<String>), VendorError> {
    let o = field(data, "order", &format!("order {order}"))?;
    parse_lines(
        field(o, "lineItems", &format!("order {order}"))?,
        order,
        currency,
    )
}

/// The response parser for [`order_refunds_query`]: every refunded line, or an error when even
/// the detail query cannot hold them.
pub fn parse_order_refunds(
    data: &Value,
    order: &str,
    currency: Currency,
) -> Result<Vec<RefundedLine>, VendorError> {
    let o = field(data, "order", &format!("order {order}"))?;
    let (lines, overflow) = parse_refunds(
        list(o, "refunds", &format!("order {order}"))?,
        DETAIL_REFUNDS,
        order,
        currency,
    )?;
    if overflow {
        return Err(permanent(format!(
            "order {order}: {DETAIL_REFUNDS} refunds or more, or a refund of more than \
             {DETAIL_REFUND_LINES} lines: too many to read per order (a bulk read is needed)"
        )));
    }
    Ok(lines)
}

/// What a sales read came to: the rows, and what was left out (for the stage row and the log).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SalesReport {
    pub sales: Vec<SkuSales>,
    /// Orders read in the window (all of them, before anything is left out).
    pub orders_read: u32,
    /// Cancelled orders left out (names).
    pub cancelled: Vec<String>,
    /// Test orders left out.
    pub test_orders: u32,
    /// Lines without a usable SKU left out: (order name, line id).
    pub lines_without_sku: Vec<(String, String)>,
    /// Orders whose day fell outside the window asked for (ignored).
    pub outside_window: u32,
}

impl SalesReport {
    /// One line for a stage row or a log.
    pub fn summary(&self) -> String {
        let units: i64 = self.sales.iter().map(|s| s.units).sum();
        format!(
            "{} orders read; {} SKU-days, {units} units; {} cancelled and {} test orders left out; {} lines without a SKU left out",
            self.orders_read,
            self.sales.len(),
            self.cancelled.len(),
            self.test_orders,
            self.lines_without_sku.len(),
        )
    }
}

#[derive(Default)]
struct Acc {
    units: i64,
    revenue_micros: i64,
    orders: BTreeSet<String>,
}

/// Sums complete orders into [`SkuSales`] rows (sorted by day, then SKU). Pure.
pub fn tally(
    orders: &[OrderRecord],
    clock: &StoreClock,
    from: StoreDay,
    to: StoreDay,
    currency: Currency,
) -> Result<SalesReport, VendorError> {
    let mut report = SalesReport::default();
    let mut acc: BTreeMap<(StoreDay, Sku), Acc> = BTreeMap::new();
    for o in orders {
        report.orders_read += 1;
        if o.cancelled {
            report.cancelled.push(o.name.clone());
            continue;
        }
        if o.test {
            report.test_orders += 1;
            continue;
        }
        let day = clock.day_of(o.created_at);
        if day < from || day > to {
            report.outside_window += 1;
            continue;
        }
        let mut refunded: HashMap<&str, (i64, i64)> = HashMap::new();
        for r in &o.refunds {
            let e = refunded.entry(r.line_id.as_str()).or_default();
            e.0 += r.quantity;
            e.1 += r.subtotal.micros();
        }
        for line in &o.lines {
            let Some(sku) = &line.sku else {
                report
                    .lines_without_sku
                    .push((o.name.clone(), line.id.clone()));
                continue;
            };
            let (refunded_qty, refunded_micros) =
                refunded.get(line.id.as_str()).copied().unwrap_or_default();
            let total = line.discounted_total.micros();
            // Units removed by an order edit (not refunded): their share of the line total.
            let removed = (line.quantity - line.current_quantity - refunded_qty).max(0);
            let removed_micros = if line.quantity > 0 && removed > 0 {
                i64::try_from(i128::from(total) * i128::from(removed) / i128::from(line.quantity))
                    .map_err(|_| permanent(format!("order {}: line total overflows", o.name)))?
            } else {
                0
            };
            let revenue = (total - refunded_micros - removed_micros).max(0);
            let units = line.current_quantity;
            if units == 0 && revenue == 0 {
                continue;
            }
            let a = acc.entry((day, sku.clone())).or_default();
            a.units += units;
            a.revenue_micros = a
                .revenue_micros
                .checked_add(revenue)
                .ok_or_else(|| permanent(format!("revenue of {sku} on {day} overflows")))?;
            if units > 0 {
                a.orders.insert(o.id.clone());
            }
        }
    }
    report.sales = acc
        .into_iter()
        .map(|((day, sku), a)| SkuSales {
            sku,
            day,
            units: a.units,
            revenue: Money::from_micros(a.revenue_micros, currency),
            orders: a.orders.len() as u32,
        })
        .collect();
    Ok(report)
}

impl crate::shopify::ShopifyClient {
    /// Store sales per SKU per store day, `from` … `to` inclusive, with what was left out.
    /// Needs the store's time zone ([`crate::shopify::ShopifyClient::with_store_clock`]). Pages
    /// the orders, or runs a bulk operation when the window holds more than the threshold.
    pub async fn sales_report(
        &self,
        from: StoreDay,
        to: StoreDay,
    ) -> Result<SalesReport, VendorError> {
        let clock = self.store_clock().ok_or_else(|| {
            permanent("sales: the store's time zone is not configured (OTTO_STORE_TZ)")
        })?;
        let currency = self.currency();
        let search = window_search(&clock, from, to).map_err(permanent)?;
        let threshold = self.bulk_settings().threshold_orders;
        let (count, exact) = self.orders_count(&search).await?;
        let bulk = count > threshold || !exact;
        let orders = if bulk {
            self.bulk_orders(&search, currency).await?
        } else {
            self.paged_orders(&search, currency).await?
        };
        let report = tally(&orders, &clock, from, to, currency)?;
        tracing::info!(
            bulk,
            counted = count,
            threshold,
            summary = %report.summary(),
            "shopify: sales read"
        );
        Ok(report)
    }

    async fn orders_count(&self, search: &str) -> Result<(u64, bool), VendorError> {
        let data = self
            .graphql(
                "ordersCount",
                ORDERS_COUNT_QUERY,
                serde_json::json!({ "query": search }),
                1.0,
            )
            .await?;
        parse_orders_count(&data)
    }

    /// The window's orders through a bulk operation.
    async fn bulk_orders(
        &self,
        search: &str,
        currency: Currency,
    ) -> Result<Vec<OrderRecord>, VendorError> {
        let text = self.run_bulk_query(&bulk_orders_query(search)).await?;
        parse_bulk_orders(&crate::shopify_bulk::parse_jsonl(&text)?, currency)
    }

    /// The window's orders page by page, each completed by its own queries when it overflows.
    async fn paged_orders(
        &self,
        search: &str,
        currency: Currency,
    ) -> Result<Vec<OrderRecord>, VendorError> {
        let query = orders_query();
        let estimate = f64::from(page_cost(
            ORDERS_PAGE,
            LINES_PAGE,
            REFUNDS_PAGE,
            REFUND_LINES_PAGE,
        ));
        let mut orders: Vec<OrderRecord> = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let data = self
                .graphql(
                    "orders",
                    &query,
                    serde_json::json!({ "first": ORDERS_PAGE, "cursor": cursor, "query": search }),
                    estimate,
                )
                .await?;
            let page = parse_orders_page(&data, currency)?;
            orders.extend(page.orders);
            let Some(next) = page.end_cursor.filter(|_| page.has_next) else {
                break;
            };
            if cursor.as_deref() == Some(next.as_str()) {
                return Err(permanent(format!(
                    "orders pageInfo: endCursor {next:?} did not advance"
                )));
            }
            cursor = Some(next);
        }
        for o in orders.iter_mut().filter(|o| !o.cancelled && !o.test) {
            self.complete_order(o, currency).await?;
        }
        Ok(orders)
    }

    /// Reads the rest of an order whose lines or refunds did not fit its page.
    async fn complete_order(
        &self,
        o: &mut OrderRecord,
        currency: Currency,
    ) -> Result<(), VendorError> {
        let mut cursor = o.more_lines.take();
        while let Some(after) = cursor {
            let data = self
                .graphql(
                    "orderLines",
                    &order_lines_query(),
                    serde_json::json!({ "id": o.id, "cursor": after }),
                    f64::from(4 + DETAIL_LINES * 3),
                )
                .await?;
            let (lines, next) = parse_order_lines(&data, &o.name, currency)?;
            if next.as_deref() == Some(after.as_str()) {
                return Err(permanent(format!(
                    "order {}: lineItems endCursor did not advance",
                    o.name
                )));
            }
            o.lines.extend(lines);
            cursor = next;
        }
        if o.refunds_overflow {
            let data = self
                .graphql(
                    "orderRefunds",
                    &order_refunds_query(),
                    serde_json::json!({ "id": o.id }),
                    f64::from(1 + DETAIL_REFUNDS * (4 + DETAIL_REFUND_LINES * 4)),
                )
                .await?;
            o.refunds = parse_order_refunds(&data, &o.name, currency)?;
            o.refunds_overflow = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_stays_under_the_single_query_cap() {
        let cost = page_cost(ORDERS_PAGE, LINES_PAGE, REFUNDS_PAGE, REFUND_LINES_PAGE);
        assert_eq!(cost, 823);
        assert!(cost <= 1000);
        // The per-order follow-ups too.
        let lines = 1 + 2 + 1 + DETAIL_LINES * 3;
        assert!(lines <= 1000, "{lines}");
        let refunds = 1 + DETAIL_REFUNDS * (1 + 2 + 1 + DETAIL_REFUND_LINES * 4);
        assert!(refunds <= 1000, "{refunds}");
        // 13 orders a page would pass the cap.
        assert!(page_cost(13, LINES_PAGE, REFUNDS_PAGE, REFUND_LINES_PAGE) > 1000);
    }

    #[test]
    fn the_window_is_cut_at_the_stores_midnights() {
        let clock = StoreClock::new("Europe/Amsterdam").unwrap();
        let from = StoreDay::parse("2026-11-30").unwrap();
        let to = StoreDay::parse("2026-12-01").unwrap();
        assert_eq!(
            window_search(&clock, from, to).unwrap(),
            "created_at:>='2026-11-29T23:00:00Z' AND created_at:<'2026-12-01T23:00:00Z'"
        );
        // Summer time: UTC+2.
        let d = StoreDay::parse("2026-07-01").unwrap();
        assert_eq!(
            window_search(&clock, d, d).unwrap(),
            "created_at:>='2026-06-30T22:00:00Z' AND created_at:<'2026-07-01T22:00:00Z'"
        );
        assert!(window_search(&clock, to, from).is_err());
    }
}
