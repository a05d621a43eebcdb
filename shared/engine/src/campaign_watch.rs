//! The campaign planner's morning look at each campaign, as audit rows: a campaign the planner
//! proposes nothing for still gets one `ad_decision_log` row that morning — action KEEP, status
//! RECORDED, verdict NO_MOVE, no move — carrying what the planner saw ([`CampaignWatch`]), so the
//! campaign's chart and the answers about its spend and ROAS have a point every morning and
//! survive `otto export` → `otto import`. Nothing here is a move: no executor, no rate limit, no
//! "budget changes" count reads a KEEP row.

use crate::StageContext;
use otto_core::audit::{AdDecisionRow, AuditTable, NewRow, RowBody};
use otto_core::cycle::Stage;
use otto_core::metrics::{CampaignBudget, CampaignDay};
use otto_core::stages::campaign_watch::{store_mer_halves, CampaignWatch, NO_MOVE};
use otto_core::{Action, RowStatus, Sku, StoreDay};
use otto_runtime::HandlerError;
use otto_store::PageReq;
use std::collections::BTreeMap;

/// The KEEP row of a campaign the planner proposed nothing for this morning.
pub(crate) fn watch_row(
    ctx: &StageContext<'_>,
    b: &CampaignBudget,
    watch: CampaignWatch,
) -> NewRow {
    let roas = |bp: Option<i64>| bp.map(|r| format!("{r}bp")).unwrap_or_else(|| "n/a".into());
    let reasoning = format!(
        "no budget move proposed: ROAS {} over {} mature days, {} spent",
        roas(watch.window.totals.roas_bp),
        watch.window.days,
        watch.window.totals.spend
    );
    NewRow::for_stage(
        ctx.msg.cycle_id.clone(),
        Stage::CampaignPlan,
        RowStatus::Recorded,
        ctx.now,
        RowBody::AdDecision(AdDecisionRow {
            channel: "google_ads".into(),
            campaign: b.campaign.clone(),
            campaign_id: b.campaign_id.clone(),
            action: Action::Keep,
            verdict: NO_MOVE.into(),
            reasoning,
            figures: BTreeMap::new(),
            budget_before: Some(b.amount),
            budget_after: None,
            r#move: None,
            rate_limit_position: None,
            watch: Some(Box::new(watch)),
            reversal_op: None,
            hold_reason: None,
            result: None,
        }),
    )
}

/// The store's MER in the window's two halves (before `mid`, from `mid` on), from the store's
/// orders as this cycle's sync stored them; (None, None) when it read none. `skus` is the
/// catalog's SKU range (first, last).
pub(crate) async fn store_mer(
    ctx: &StageContext<'_>,
    days: &[CampaignDay],
    (from, mid, to): (StoreDay, StoreDay, StoreDay),
    skus: Option<(Sku, Sku)>,
    currency: otto_core::Currency,
) -> Result<(Option<i64>, Option<i64>), HandlerError> {
    let Some((first, last)) = skus else {
        return Ok((None, None));
    };
    let sales = ctx
        .ports
        .catalog
        .sales_for_skus(&ctx.msg.cycle_id.store, from, to, &first, &last)
        .await?;
    Ok(store_mer_halves(&sales, days, mid, currency)?)
}

/// The store day Otto last applied a change to this campaign's budget, looked for back to
/// `horizon` (a change before it no longer matters to the judge). A campaign has a row every
/// morning, so this pages rather than trusting the newest few.
pub(crate) async fn last_applied_change(
    ctx: &StageContext<'_>,
    campaign_id: &str,
    horizon: StoreDay,
) -> Result<Option<StoreDay>, HandlerError> {
    let mut page = PageReq::first(50);
    loop {
        let p = ctx
            .ports
            .audit
            .by_subject(
                AuditTable::AdDecisionLog,
                &ctx.msg.cycle_id.store,
                campaign_id,
                page.clone(),
            )
            .await?;
        if let Some(r) = p.items.iter().find(|r| r.status == RowStatus::Applied) {
            return Ok(Some(r.day()));
        }
        let past = p.items.iter().any(|r| r.day() < horizon);
        match p.next {
            Some(c) if !past => page.cursor = Some(c),
            _ => return Ok(None),
        }
    }
}
