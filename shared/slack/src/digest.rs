//! Slack speaks first: after each cycle a digest in a configured channel, and an alert when a
//! cycle fails or stalls or held rows pile up. Composition is pure ([`render_notice`]); sending
//! ([`post_notices`]) goes to the channel's incoming webhook (`https://hooks.slack.com/services/…`,
//! created for that channel) through [`ResponseUrlClient`], which refuses any other host.
//!
//! | Variable | Meaning | Default |
//! |---|---|---|
//! | `SLACK_DIGEST_WEBHOOK_URL` | the digest channel's incoming webhook; unset: Otto does not speak first | unset |
//! | `SLACK_DIGEST_CHANNEL` | the channel's name (`#otto-ops`), sent as `channel` and logged | unset |
//! | `OTTO_HOLDS_ALERT_THRESHOLD` | held rows (all tables) at which an alert is posted | 10 |

use crate::error::SlackError;
use crate::render::{render_answer, CitationLink};
use crate::response_url::ResponseUrlClient;
use serde_json::Value;

pub const DIGEST_WEBHOOK_ENV: &str = "SLACK_DIGEST_WEBHOOK_URL";
pub const DIGEST_CHANNEL_ENV: &str = "SLACK_DIGEST_CHANNEL";
pub const HOLDS_THRESHOLD_ENV: &str = "OTTO_HOLDS_ALERT_THRESHOLD";
pub const DEFAULT_HOLDS_THRESHOLD: usize = 10;
/// Where incoming webhooks live.
pub const WEBHOOK_PREFIX: &str = "https://hooks.slack.com/services/";

/// A digest informs; an alert asks for attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeLevel {
    Digest,
    Alert,
}

/// One message Otto posts unasked: a title and a cited answer (the same text, citations and
/// release buttons an `/otto` question would get).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelNotice {
    pub level: NoticeLevel,
    pub title: String,
    pub text: String,
    pub citations: Vec<CitationLink>,
    pub releasable: Vec<String>,
}

/// The Block Kit message for a notice: the title in bold over the answer (one section per
/// ≤ 3,000 characters), a context block per citation, a release button per held row — the
/// [`render_answer`] layout, as a channel message (not ephemeral, no `replace_original`).
pub fn render_notice(n: &ChannelNotice, channel: Option<&str>) -> Value {
    let mark = match n.level {
        NoticeLevel::Digest => "",
        NoticeLevel::Alert => ":rotating_light: ",
    };
    let title: String = n.title.trim().chars().take(150).collect();
    let text = format!("{mark}*{title}*\n{}", n.text.trim());
    let mut m = render_answer(&text, &n.citations, &n.releasable);
    if let Some(o) = m.as_object_mut() {
        o.remove("response_type");
        o.remove("replace_original");
        o.insert("unfurl_links".into(), Value::Bool(false));
        if let Some(c) = channel.map(str::trim).filter(|c| !c.is_empty()) {
            o.insert("channel".into(), Value::String(c.to_string()));
        }
    }
    m
}

/// Where and when Otto speaks first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// The channel's incoming webhook (a capability: never logged).
    pub webhook_url: String,
    pub channel: Option<String>,
    /// Held rows at which an alert is posted.
    pub holds_threshold: usize,
}

impl DigestConfig {
    /// From the environment (see the module doc); `Ok(None)` when no webhook is set.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let Some(url) = var(DIGEST_WEBHOOK_ENV) else {
            return Ok(None);
        };
        if !url.starts_with(WEBHOOK_PREFIX) || url.len() == WEBHOOK_PREFIX.len() {
            return Err(format!(
                "{DIGEST_WEBHOOK_ENV} must be a Slack incoming webhook ({WEBHOOK_PREFIX}…)"
            ));
        }
        let holds_threshold = match var(HOLDS_THRESHOLD_ENV) {
            None => DEFAULT_HOLDS_THRESHOLD,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                format!("{HOLDS_THRESHOLD_ENV} {v:?} is not a whole number of held rows ≥ 1")
            })?,
        };
        Ok(Some(DigestConfig {
            webhook_url: url,
            channel: var(DIGEST_CHANNEL_ENV),
            holds_threshold,
        }))
    }
}

/// Posts each notice to the configured channel, in order; stops at the first error. Returns
/// how many were posted.
pub async fn post_notices(
    client: &ResponseUrlClient,
    cfg: &DigestConfig,
    notices: &[ChannelNotice],
) -> Result<usize, SlackError> {
    for (i, n) in notices.iter().enumerate() {
        let m = render_notice(n, cfg.channel.as_deref());
        if let Err(e) = client.post(&cfg.webhook_url, &m).await {
            tracing::warn!(posted = i, error = %e, channel = ?cfg.channel, "could not post to the digest channel");
            return Err(e);
        }
    }
    Ok(notices.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(level: NoticeLevel) -> ChannelNotice {
        ChannelNotice {
            level,
            title: "Morning cycle — Wed 25 Nov".into(),
            text: "Clean run — morning cycle on Wed 25 Nov.\n142 decision rows <b>".into(),
            citations: vec![CitationLink {
                row_ref: "cycle_runs#7".into(),
                url: "https://otto.example/rows/cycle_runs/7".into(),
            }],
            releasable: vec!["decision_log#9".into()],
        }
    }

    #[test]
    fn a_notice_is_a_cited_channel_message() {
        let m = render_notice(&notice(NoticeLevel::Digest), Some("#otto-ops"));
        assert_eq!(m["channel"], "#otto-ops");
        assert!(m.get("response_type").is_none() && m.get("replace_original").is_none());
        let blocks = m["blocks"].as_array().unwrap();
        let first = blocks[0]["text"]["text"].as_str().unwrap();
        assert!(
            first.starts_with("*Morning cycle — Wed 25 Nov*\nClean run"),
            "{first}"
        );
        assert!(first.contains("&lt;b&gt;"), "escaped: {first}");
        let all = m.to_string();
        assert!(all.contains("<https://otto.example/rows/cycle_runs/7|cycle_runs#7>"));
        assert!(all.contains("decision_log#9"), "release button");
        let alert = render_notice(&notice(NoticeLevel::Alert), None);
        assert!(alert.get("channel").is_none());
        assert!(alert["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .starts_with(":rotating_light: *Morning"));
    }

    #[test]
    fn config_is_off_unless_a_webhook_is_set() {
        assert_eq!(DigestConfig::from_lookup(|_| None), Ok(None));
        let env = |url: &'static str, n: Option<&'static str>| {
            move |k: &str| match k {
                DIGEST_WEBHOOK_ENV => Some(url.to_string()),
                DIGEST_CHANNEL_ENV => Some("#otto-ops".to_string()),
                HOLDS_THRESHOLD_ENV => n.map(str::to_string),
                _ => None,
            }
        };
        let c = DigestConfig::from_lookup(env("https://hooks.slack.com/services/T1/B2/x", None))
            .unwrap()
            .unwrap();
        assert_eq!(c.holds_threshold, DEFAULT_HOLDS_THRESHOLD);
        assert_eq!(c.channel.as_deref(), Some("#otto-ops"));
        let e = DigestConfig::from_lookup(env("https://evil.example/x", None)).unwrap_err();
        assert!(e.contains(DIGEST_WEBHOOK_ENV), "{e}");
        let e = DigestConfig::from_lookup(env("https://hooks.slack.com/services/T/B/x", Some("0")))
            .unwrap_err();
        assert!(e.contains(HOLDS_THRESHOLD_ENV), "{e}");
        let c = DigestConfig::from_lookup(env("https://hooks.slack.com/services/T/B/x", Some("3")))
            .unwrap()
            .unwrap();
        assert_eq!(c.holds_threshold, 3);
    }

    #[tokio::test]
    async fn notices_are_posted_to_the_webhook() {
        use std::sync::{Arc, Mutex};
        let got: Arc<Mutex<Vec<Value>>> = Arc::default();
        let g = got.clone();
        let app = axum::Router::new().route(
            "/services/T1/B2/x",
            axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
                let g = g.clone();
                async move {
                    g.lock().unwrap().push(v);
                    "ok"
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let base = format!("http://{addr}/");
        let client = ResponseUrlClient::with_allowed_prefix(&base);
        let cfg = DigestConfig {
            webhook_url: format!("{base}services/T1/B2/x"),
            channel: Some("#otto-ops".into()),
            holds_threshold: 10,
        };
        let n = post_notices(
            &client,
            &cfg,
            &[notice(NoticeLevel::Digest), notice(NoticeLevel::Alert)],
        )
        .await
        .unwrap();
        assert_eq!(n, 2);
        let sent = got.lock().unwrap().clone();
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0]["channel"], "#otto-ops");
        // A webhook outside the allowed prefix is refused before any request.
        let bad = DigestConfig {
            webhook_url: "https://evil.example/services/x".into(),
            ..cfg.clone()
        };
        assert!(post_notices(&client, &bad, &[notice(NoticeLevel::Digest)])
            .await
            .is_err());
    }
}
