//! Shopify moves: a product's status and a variant's price.

use super::driver::{vendor_err, wrong_move, Driver, Look, Refusal};
use async_trait::async_trait;
use otto_connectors::{ShopCatalog, VendorError};
use otto_core::audit::{AuditRow, ReversalOp};
use otto_core::metrics::{ProductStatus, Variant};
use otto_core::stages::discount::restore_conflict;
use otto_core::{Move, Sku};
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::Value;

/// The variant as the shop has it now, found through the synced catalog's variant id.
async fn current(
    ports: &Ports,
    shop: &dyn ShopCatalog,
    row: &AuditRow,
    sku: &Sku,
) -> Result<Result<Variant, String>, HandlerError> {
    let Some(known) = ports.catalog.variant(row.store(), sku).await? else {
        return Ok(Err(format!("{sku} is not in the catalog")));
    };
    let found = shop
        .fetch_variant(&known.variant_id)
        .await
        .map_err(vendor_err)?;
    Ok(found.ok_or_else(|| format!("{} no longer exists in the shop", known.variant_id)))
}

fn gone<S>(seen: S, why: String) -> Look<S> {
    Look {
        seen,
        at_target: false,
        reversal: None,
        refusal: Some(Refusal::Fail(why)),
    }
}

pub fn status_name(s: ProductStatus) -> &'static str {
    match s {
        ProductStatus::Active => "ACTIVE",
        ProductStatus::Draft => "DRAFT",
        ProductStatus::Archived => "ARCHIVED",
    }
}

/// The product as the shop has it now: its variant, and (only when that decides the move)
/// whether it is on the Online Store.
pub struct SeenProduct {
    variant: Variant,
    /// Read only for a move to ACTIVE of a product already ACTIVE: a status write whose
    /// publication then failed leaves it ACTIVE on no sales channel.
    on_online_store: Option<bool>,
}

impl SeenProduct {
    /// The move's status is there, and an ACTIVE product is on the Online Store too.
    fn at(&self, to: ProductStatus) -> bool {
        self.variant.status == to && self.on_online_store != Some(false)
    }
}

/// PUBLISH / DRAFT / REVIVE_SEASONAL: the product's status (ACTIVE: and its Online Store
/// publication).
pub struct ShopStatus<'a>(pub &'a dyn ShopCatalog);

impl ShopStatus<'_> {
    async fn seen(&self, v: Variant, to: ProductStatus) -> Result<SeenProduct, HandlerError> {
        let on_online_store = match (to, v.status) {
            (ProductStatus::Active, ProductStatus::Active) => Some(
                self.0
                    .on_online_store(&v.product_id)
                    .await
                    .map_err(vendor_err)?,
            ),
            _ => None,
        };
        Ok(SeenProduct {
            variant: v,
            on_online_store,
        })
    }

    /// The status is already the move's: only the publication is missing (`publishablePublish`
    /// is idempotent), answered in a status write's shape so the next morning knows it.
    async fn publish(&self, v: &Variant) -> Result<Value, VendorError> {
        let mut answer = self.0.publish_on_online_store(&v.product_id).await?;
        if let Some(o) = answer.as_object_mut() {
            o.insert("product".into(), product_json(v));
        }
        Ok(answer)
    }
}

fn product_json(v: &Variant) -> Value {
    serde_json::json!({"id": v.product_id, "status": status_name(v.status),
                       "updatedAt": v.updated_at.to_rfc3339()})
}

#[async_trait]
impl Driver for ShopStatus<'_> {
    type Seen = Option<SeenProduct>;

    async fn look(
        &self,
        ports: &Ports,
        row: &AuditRow,
        mv: &Move,
    ) -> Result<Look<Self::Seen>, HandlerError> {
        let Move::ProductStatus { sku, to } = mv else {
            return Err(vendor_err(wrong_move(mv, "product status")));
        };
        let v = match current(ports, self.0, row, sku).await? {
            Ok(v) => v,
            Err(why) => return Ok(gone(None, why)),
        };
        let reversal = ReversalOp::ProductStatus {
            product_id: v.product_id.clone(),
            status: status_name(v.status).into(),
        };
        let seen = self.seen(v, *to).await?;
        Ok(Look {
            at_target: seen.at(*to),
            reversal: Some(reversal),
            refusal: None,
            seen: Some(seen),
        })
    }

    async fn make(&self, seen: &Self::Seen, mv: &Move, _key: &str) -> Result<Value, VendorError> {
        let (Move::ProductStatus { to, .. }, Some(s)) = (mv, seen) else {
            return Err(wrong_move(mv, "product status"));
        };
        if s.variant.status == *to {
            // Not at target only for want of the Online Store: no second status write.
            return self.publish(&s.variant).await;
        }
        // Shopify's productUpdate sets an absolute status: repeating it changes nothing.
        self.0.set_product_status(&s.variant.product_id, *to).await
    }

    fn confirmed(&self, seen: &Self::Seen) -> Value {
        // The shape of a fresh write's answer (`product.id`, `product.updatedAt`), so the next
        // morning recognises the shop's state as Otto's own write, not a person's edit.
        let (id, at) = seen
            .as_ref()
            .map(|s| {
                (
                    s.variant.product_id.clone(),
                    s.variant.updated_at.to_rfc3339(),
                )
            })
            .unwrap_or_default();
        serde_json::json!({"confirmed": "the shop already had the target state",
                           "product": {"id": id, "updatedAt": at}})
    }
}

/// ON_DISCOUNT / PRICE_RESTORE: the variant's price and compare-at price.
pub struct ShopPrice<'a>(pub &'a dyn ShopCatalog);

#[async_trait]
impl Driver for ShopPrice<'_> {
    type Seen = Option<Variant>;

    async fn look(
        &self,
        ports: &Ports,
        row: &AuditRow,
        mv: &Move,
    ) -> Result<Look<Self::Seen>, HandlerError> {
        let Move::VariantPrice {
            sku,
            expected_price,
            price,
            compare_at,
            ..
        } = mv
        else {
            return Err(vendor_err(wrong_move(mv, "variant price")));
        };
        let v = match current(ports, self.0, row, sku).await? {
            Ok(v) => v,
            Err(why) => return Ok(gone(None, why)),
        };
        let at_target = v.price.rounded() == price.rounded()
            && v.compare_at_price.map(|c| c.rounded()) == compare_at.map(|c| c.rounded());
        // A price other than the one the move expects: someone else changed it since.
        let refusal = match at_target {
            true => None,
            false => restore_conflict(v.price, *expected_price).map(Refusal::Hold),
        };
        Ok(Look {
            at_target,
            reversal: Some(ReversalOp::VariantPrice {
                product_id: v.product_id.clone(),
                variant_id: v.variant_id.clone(),
                price: v.price,
                compare_at_price: v.compare_at_price,
            }),
            refusal,
            seen: Some(v),
        })
    }

    async fn make(&self, seen: &Self::Seen, mv: &Move, _key: &str) -> Result<Value, VendorError> {
        let (
            Move::VariantPrice {
                price, compare_at, ..
            },
            Some(v),
        ) = (mv, seen)
        else {
            return Err(wrong_move(mv, "variant price"));
        };
        self.0
            .set_variant_price(&v.product_id, &v.variant_id, *price, *compare_at)
            .await
    }
}
