//! Typed access to the settings every stage reads: the kill switch and the policy.

use crate::ports::{Result, Settings};
use crate::StoreError;
use otto_core::policy::{KillSwitch, Policy};
use otto_core::StoreId;

pub const KILL_SWITCH: &str = "kill_switch";
pub const POLICY: &str = "policy";

pub async fn kill_switch(s: &dyn Settings, store: &StoreId) -> Result<KillSwitch> {
    match s.get_setting(store, KILL_SWITCH).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Invalid(format!("setting {KILL_SWITCH}: {e}"))),
        None => Ok(KillSwitch::default()),
    }
}

pub async fn set_kill_switch(s: &dyn Settings, store: &StoreId, ks: &KillSwitch) -> Result<()> {
    s.put_setting(store, KILL_SWITCH, &serde_json::to_value(ks)?)
        .await
}

pub async fn policy(s: &dyn Settings, store: &StoreId) -> Result<Policy> {
    match s.get_setting(store, POLICY).await? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| StoreError::Invalid(format!("setting {POLICY}: {e}"))),
        None => Ok(Policy::default()),
    }
}

pub async fn set_policy(s: &dyn Settings, store: &StoreId, p: &Policy) -> Result<()> {
    s.put_setting(store, POLICY, &serde_json::to_value(p)?)
        .await
}

/// One operator's flip of the kill switch.
#[derive(Debug, Clone)]
pub struct Flip {
    pub on: bool,
    /// The authenticated identity.
    pub by: String,
    pub surface: otto_core::audit::Surface,
    pub reason: Option<String>,
}

/// Flips the kill switch and records the flip in the audit plane: an `operator_log` row (who,
/// when, why, from where) is appended PENDING, the setting is written citing it, and the row
/// becomes APPLIED — so every state of the switch can be cited, and a flip whose setting write
/// failed is visible as FAILED (or PENDING, had the process died in between).
pub async fn flip_kill_switch(
    audit: &dyn crate::ports::AuditLog,
    settings: &dyn Settings,
    store: &StoreId,
    day: otto_core::StoreDay,
    flip: Flip,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<KillSwitch> {
    use otto_core::audit::{NewRow, OperatorAct, OperatorRow, RowBody};
    use otto_core::{CycleId, CycleKind, RowStatus};
    let act = match flip.on {
        true => OperatorAct::KillSwitchOn,
        false => OperatorAct::KillSwitchOff,
    };
    let cycle_id = CycleId::new(store.clone(), CycleKind::Operator, day);
    let row = NewRow {
        natural_key: format!("{cycle_id}|kill_switch|{}", ulid::Ulid::new()),
        cycle_id,
        status: RowStatus::Pending,
        created_at: now,
        body: RowBody::Operator(OperatorRow {
            act,
            by: flip.by.clone(),
            surface: flip.surface,
            reason: flip.reason.clone(),
            change: None,
        }),
    };
    let row_ref = audit.append(vec![row], None).await?[0].row_ref;
    let ks = KillSwitch {
        on: flip.on,
        by: Some(flip.by),
        at: Some(now),
        reason: flip.reason,
        flip: Some(row_ref),
    };
    if let Err(e) = set_kill_switch(settings, store, &ks).await {
        audit
            .transition(
                row_ref,
                RowStatus::Pending,
                RowStatus::Failed,
                None,
                now,
                None,
            )
            .await?;
        return Err(e);
    }
    audit
        .transition(
            row_ref,
            RowStatus::Pending,
            RowStatus::Applied,
            None,
            now,
            None,
        )
        .await?;
    Ok(ks)
}
