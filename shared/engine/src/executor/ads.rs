//! Google Ads moves: a campaign budget's daily amount.

use super::driver::{vendor_err, wrong_move, Driver, Look, Refusal};
use async_trait::async_trait;
use otto_connectors::{AdsAccount, VendorError};
use otto_core::audit::{AuditRow, ReversalOp};
use otto_core::Move;
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::Value;

/// ADJUST_BUDGET (and SCALE_WINNER's budget step): `CampaignBudget.amount_micros`.
pub struct AdsBudget<'a>(pub &'a dyn AdsAccount);

#[async_trait]
impl Driver for AdsBudget<'_> {
    type Seen = ();

    async fn look(
        &self,
        _ports: &Ports,
        _row: &AuditRow,
        mv: &Move,
    ) -> Result<Look<()>, HandlerError> {
        let Move::CampaignBudget {
            budget_resource,
            expected,
            amount,
        } = mv
        else {
            return Err(vendor_err(wrong_move(mv, "campaign budget")));
        };
        let budgets = self.0.budgets().await.map_err(vendor_err)?;
        let Some(now) = budgets
            .iter()
            .find(|b| &b.budget_resource == budget_resource)
        else {
            return Ok(Look {
                seen: (),
                at_target: false,
                reversal: None,
                refusal: Some(Refusal::Fail(format!("{budget_resource} no longer exists"))),
            });
        };
        let at_target = now.amount.rounded() == amount.rounded();
        let refusal = expected
            .filter(|e| !at_target && e.rounded() != now.amount.rounded())
            .map(|e| {
                Refusal::Hold(format!(
                    "budget is {}, not {e} as when decided: {}",
                    now.amount,
                    otto_core::hold::OUTSIDE_EDIT
                ))
            });
        Ok(Look {
            seen: (),
            at_target,
            reversal: Some(ReversalOp::CampaignBudget {
                customer_id: budget_resource
                    .split('/')
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
                budget_resource: budget_resource.clone(),
                amount: now.amount,
            }),
            refusal,
        })
    }

    async fn make(&self, _seen: &(), mv: &Move, _key: &str) -> Result<Value, VendorError> {
        let Move::CampaignBudget {
            budget_resource,
            amount,
            ..
        } = mv
        else {
            return Err(wrong_move(mv, "campaign budget"));
        };
        self.0.set_budget(budget_resource, *amount, false).await
    }
}
