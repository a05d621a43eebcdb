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
