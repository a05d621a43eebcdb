//! Posts what Otto says unasked ([`crate::digest`]) to the configured Slack channel
//! ([`otto_slack::DigestConfig`]: `SLACK_DIGEST_WEBHOOK_URL`, `SLACK_DIGEST_CHANNEL`,
//! `OTTO_HOLDS_ALERT_THRESHOLD`). Each notice is posted once: its key is remembered in the
//! store's settings (`slack_notices`, the last [`REMEMBERED`] keys), so a watcher that runs every
//! 15 minutes alerts once per stalled run, not every time it looks.
//!
//! The two entry points never fail their caller (a cycle must not fail because Slack is down):
//! errors are logged and counted in the returned [`Posted`].

use crate::digest::Notice;
use crate::engine::Engine;
use chrono::{DateTime, Utc};
use otto_core::cycle::CycleId;
use otto_core::{StoreClock, StoreId};
use otto_slack::{ChannelNotice, CitationLink, DigestConfig, NoticeLevel, ResponseUrlClient};
use otto_store::Ports;
use serde_json::Value;
use std::sync::OnceLock;

/// The settings key holding the keys of notices already posted.
pub const SENT_KEY: &str = "slack_notices";
/// How many posted keys are remembered.
pub const REMEMBERED: usize = 200;

/// A notice as a Slack channel message: the title, the cited answer, release buttons.
pub fn to_channel(n: &Notice) -> ChannelNotice {
    ChannelNotice {
        level: if n.kind.is_alert() {
            NoticeLevel::Alert
        } else {
            NoticeLevel::Digest
        },
        title: n.title.clone(),
        text: n.answer.answer.clone(),
        citations: n
            .answer
            .citations
            .iter()
            .map(|c| CitationLink {
                row_ref: c.row_ref.clone(),
                url: c.url.clone(),
            })
            .collect(),
        releasable: n.answer.releasable.clone(),
    }
}

/// What one call did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub posted: usize,
    /// Already posted earlier (same key).
    pub repeated: usize,
    pub failed: usize,
}

/// Posts the notices not posted before, remembering each one posted.
pub async fn post_new(
    ports: &Ports,
    store: &StoreId,
    client: &ResponseUrlClient,
    cfg: &DigestConfig,
    notices: &[Notice],
) -> Posted {
    let mut out = Posted::default();
    let mut sent: Vec<String> = match ports.settings.get_setting(store, SENT_KEY).await {
        Ok(Some(Value::Array(a))) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Ok(_) => vec![],
        Err(e) => {
            tracing::warn!(error = %e, "could not read the posted notices; posting anyway");
            vec![]
        }
    };
    for n in notices {
        if sent.contains(&n.key) {
            out.repeated += 1;
            continue;
        }
        match otto_slack::post_notices(client, cfg, &[to_channel(n)]).await {
            Ok(_) => {
                out.posted += 1;
                sent.push(n.key.clone());
            }
            Err(_) => out.failed += 1,
        }
    }
    if out.posted > 0 {
        let keep = sent.len().saturating_sub(REMEMBERED);
        let v = Value::Array(sent.into_iter().skip(keep).map(Value::String).collect());
        if let Err(e) = ports.settings.put_setting(store, SENT_KEY, &v).await {
            tracing::warn!(error = %e, "could not remember the posted notices");
        }
    }
    out
}

/// This process's digest configuration, set once at cold start by [`init`].
static CONFIG: OnceLock<Option<DigestConfig>> = OnceLock::new();

/// At cold start, with the function's resolved lookup (the `*_PARAM` secrets read from SSM
/// layered over the environment — `SLACK_DIGEST_WEBHOOK_URL_PARAM` names the webhook's
/// SecureString): where this process posts. Without it, the process environment is read at
/// each post (local runs, tests).
pub fn init(get: impl Fn(&str) -> Option<String>) {
    let _ = CONFIG.set(parse_config(get));
}

fn parse_config(get: impl Fn(&str) -> Option<String>) -> Option<DigestConfig> {
    match DigestConfig::from_lookup(get) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "Slack digest misconfigured; not posting");
            None
        }
    }
}

/// Where this process posts: [`init`]'s configuration, else the process environment's.
pub fn config() -> Option<DigestConfig> {
    match CONFIG.get() {
        Some(c) => c.clone(),
        None => parse_config(|k| std::env::var(k).ok()),
    }
}

fn link_base() -> String {
    std::env::var("OTTO_PUBLIC_URL").unwrap_or_default()
}

/// The call for the end of a cycle (after its run row closed): the digest or the FAILED alert,
/// and the holds alert, posted to the configured channel. Does nothing when no webhook is set.
pub async fn after_cycle(
    ports: &Ports,
    clock: StoreClock,
    cycle: &CycleId,
    now: DateTime<Utc>,
) -> Posted {
    let Some(cfg) = config() else {
        return Posted::default();
    };
    let engine = Engine::new(ports, cycle.store.clone(), clock, &link_base());
    match engine.after_cycle(cycle, now, cfg.holds_threshold).await {
        Ok(n) => post_new(ports, &cycle.store, &ResponseUrlClient::new(), &cfg, &n).await,
        Err(e) => {
            tracing::warn!(error = %e, cycle_id = %cycle, "could not compose the cycle digest");
            Posted::default()
        }
    }
}

/// The call for a schedule (every CS slot, say): STALLED alerts and the holds alert.
pub async fn watch(
    ports: &Ports,
    store: &StoreId,
    clock: StoreClock,
    now: DateTime<Utc>,
) -> Posted {
    let Some(cfg) = config() else {
        return Posted::default();
    };
    let engine = Engine::new(ports, store.clone(), clock, &link_base());
    match engine.watch(now, cfg.holds_threshold).await {
        Ok(n) => post_new(ports, store, &ResponseUrlClient::new(), &cfg, &n).await,
        Err(e) => {
            tracing::warn!(error = %e, "could not compose the cycle alerts");
            Posted::default()
        }
    }
}
