//! Rows written before moves were typed (old exports, rows still PENDING or HELD from then) carry
//! their move in `figures` and the action. This reads it once, into the typed [`Move`], so the
//! executor itself only ever sees typed moves.

use otto_core::audit::{AuditRow, RowBody, RowRef};
use otto_core::metrics::ProductStatus;
use otto_core::{Action, Money, Move};
use serde_json::Value;
use std::collections::BTreeMap;

/// The product status a catalog action sets, if it mutates the catalog.
pub fn target_status(action: Action) -> Option<ProductStatus> {
    match action {
        Action::Draft => Some(ProductStatus::Draft),
        Action::Publish | Action::ReviveSeasonal => Some(ProductStatus::Active),
        _ => None,
    }
}

/// The row's move: typed, or read from a pre-typed row; None for rows that move nothing.
pub fn move_of(row: &AuditRow) -> Result<Option<Move>, String> {
    if let Some(m) = row.body.planned_move() {
        return Ok(Some(m.clone()));
    }
    match &row.body {
        RowBody::Decision(d) => match d.action {
            Action::OnDiscount | Action::PriceRestore => {
                let f = &d.figures;
                Ok(Some(Move::VariantPrice {
                    sku: d.sku.clone(),
                    expected_price: money(f, "expected_price")?.ok_or("no expected_price")?,
                    price: money(f, "target_price")?.ok_or("no target_price")?,
                    compare_at: money(f, "target_compare_at")?,
                    restores: f
                        .get("restores")
                        .and_then(Value::as_str)
                        .map(RowRef::parse)
                        .transpose()
                        .map_err(|e| e.to_string())?,
                }))
            }
            a => Ok(target_status(a).map(|to| Move::ProductStatus {
                sku: d.sku.clone(),
                to,
            })),
        },
        RowBody::AdDecision(a) => {
            let resource = a.figures.get("budget_resource").and_then(Value::as_str);
            Ok(match (resource, a.budget_after) {
                (Some(r), Some(amount)) => Some(Move::CampaignBudget {
                    budget_resource: r.to_string(),
                    expected: a.budget_before,
                    amount,
                }),
                _ => None,
            })
        }
        RowBody::CsEvaluation(c) => Ok(match (&c.draft_version, c.verdict.as_str()) {
            (Some(v), "SEND" | "HOLD_TONE" | "HOLD_LANGUAGE") => Some(Move::CsReply {
                thread_id: c.thread_id.clone(),
                draft_version: v.clone(),
            }),
            _ => None,
        }),
        _ => Ok(None),
    }
}

fn money(f: &BTreeMap<String, Value>, k: &str) -> Result<Option<Money>, String> {
    match f.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v.clone())
            .map(Some)
            .map_err(|e| format!("figure {k}: {e}")),
    }
}
