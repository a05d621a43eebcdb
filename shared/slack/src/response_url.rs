//! Posting delayed answers to a command's `response_url` (Slack allows 5 posts in 30 minutes).

use crate::error::{snippet, SlackError};
use std::time::Duration;

/// The only place real response URLs point to.
pub const SLACK_RESPONSE_URL_PREFIX: &str = "https://hooks.slack.com/";

const DEFAULT_MAX_ATTEMPTS: u32 = 3;
const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(500);
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const BODY_SNIPPET_CHARS: usize = 300;

/// Posts JSON messages to Slack `response_url`s. Retries 5xx, 429 and connection failures a
/// few times (each retry spends one of Slack's five posts, so the budget is small); 4xx is an
/// immediate [`SlackError::Rejected`] with the start of Slack's answer. Redirects are not
/// followed. Refuses any URL outside the allowed prefix (`https://hooks.slack.com/`), so a
/// forged or mistyped `response_url` can't make Otto post answers elsewhere.
#[derive(Debug, Clone)]
pub struct ResponseUrlClient {
    http: reqwest::Client,
    allowed_prefix: String,
    max_attempts: u32,
    base_delay: Duration,
}

impl Default for ResponseUrlClient {
    fn default() -> Self {
        Self::new()
    }
}

fn normalize_prefix(prefix: &str) -> String {
    let prefix = prefix.trim();
    let mut normalized = match reqwest::Url::parse(prefix) {
        Ok(url) => url.to_string(),
        Err(_) => prefix.to_string(),
    };
    if !normalized.ends_with('/') {
        normalized.push('/');
    }
    normalized
}

fn build_http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .build()
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "could not build the Slack HTTP client; using defaults");
            reqwest::Client::new()
        })
}

impl ResponseUrlClient {
    /// A client that only posts to `https://hooks.slack.com/…`.
    pub fn new() -> Self {
        Self::with_allowed_prefix(SLACK_RESPONSE_URL_PREFIX)
    }

    /// A client that only posts under `prefix` instead (tests: `http://127.0.0.1:PORT/`).
    /// The prefix is normalized and always ends with `/`, so it pins scheme, host and port.
    pub fn with_allowed_prefix(prefix: impl AsRef<str>) -> Self {
        Self {
            http: build_http(),
            allowed_prefix: normalize_prefix(prefix.as_ref()),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
        }
    }

    /// Sets the number of attempts (at least 1) and the first backoff (doubled each retry).
    pub fn with_retry(mut self, max_attempts: u32, base_delay: Duration) -> Self {
        self.max_attempts = max_attempts.max(1);
        self.base_delay = base_delay;
        self
    }

    /// Uses this reqwest client (e.g. with other timeouts). Keep redirects off.
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// The normalized prefix every posted URL must start with.
    pub fn allowed_prefix(&self) -> &str {
        &self.allowed_prefix
    }

    /// Whether `response_url` may be posted to.
    pub fn allows(&self, response_url: &str) -> bool {
        self.check(response_url).is_ok()
    }

    fn check(&self, response_url: &str) -> Result<reqwest::Url, SlackError> {
        let refuse = || SlackError::ResponseUrlNotAllowed {
            url: snippet(response_url, 100),
            allowed_prefix: self.allowed_prefix.clone(),
        };
        let url = reqwest::Url::parse(response_url.trim()).map_err(|_| refuse())?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse());
        }
        if url.as_str().starts_with(&self.allowed_prefix) {
            Ok(url)
        } else {
            Err(refuse())
        }
    }

    fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        match retry_after {
            Some(wait) => wait.min(MAX_RETRY_AFTER),
            None => backoff.min(MAX_RETRY_AFTER),
        }
    }

    /// Posts `message` (a Block Kit message, e.g. from [`crate::render_answer`]) as JSON.
    pub async fn post(
        &self,
        response_url: &str,
        message: &serde_json::Value,
    ) -> Result<(), SlackError> {
        let url = self.check(response_url)?;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let last = attempt >= self.max_attempts;
            let sent = self.http.post(url.clone()).json(message).send().await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    // Never log or return the URL: it is a capability to post to the user.
                    let connect_failed = e.is_connect();
                    let detail = e.without_url().to_string();
                    if connect_failed && !last {
                        tracing::warn!(attempt, error = %detail, "response_url connect failed; retrying");
                        tokio::time::sleep(self.delay(attempt, None)).await;
                        continue;
                    }
                    return Err(SlackError::Transport(detail));
                }
            };
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = response.text().await.unwrap_or_default();
            let body = snippet(body.trim(), BODY_SNIPPET_CHARS);
            let code = status.as_u16();
            let retryable = code == 429 || status.is_server_error();
            if !retryable {
                return Err(SlackError::Rejected { status: code, body });
            }
            if last {
                return Err(SlackError::Unavailable {
                    status: code,
                    body,
                    attempts: attempt,
                });
            }
            tracing::warn!(attempt, status = code, "response_url post failed; retrying");
            tokio::time::sleep(self.delay(attempt, retry_after)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hooks_slack_com_by_default() {
        let c = ResponseUrlClient::new();
        assert_eq!(c.allowed_prefix(), "https://hooks.slack.com/");
        for ok in [
            "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
            "https://hooks.slack.com/actions/T0001/1232321423432/D09sSasdasdAS9091209",
            "HTTPS://HOOKS.SLACK.COM/commands/1/2/3",
            "https://hooks.slack.com:443/commands/1/2/3",
        ] {
            assert!(c.allows(ok), "{ok}");
        }
        for bad in [
            "http://hooks.slack.com/commands/1/2/3",
            "https://hooks.slack.com.evil.example/commands/1",
            "https://evil.example/https://hooks.slack.com/",
            "https://user:pw@hooks.slack.com/commands/1",
            "https://hooks.slack.com:8443/commands/1",
            "https://slack.com/api/chat.postMessage",
            "//hooks.slack.com/commands/1",
            "hooks.slack.com/commands/1",
            "",
            "not a url",
        ] {
            assert!(!c.allows(bad), "{bad}");
        }
    }

    #[test]
    fn override_prefix_is_pinned_to_host_and_port() {
        let c = ResponseUrlClient::with_allowed_prefix("http://127.0.0.1:4000");
        assert_eq!(c.allowed_prefix(), "http://127.0.0.1:4000/");
        assert!(c.allows("http://127.0.0.1:4000/hook/1"));
        assert!(!c.allows("http://127.0.0.1:40001/hook/1"));
        assert!(!c.allows("https://hooks.slack.com/commands/1"));
        let c = ResponseUrlClient::with_allowed_prefix("http://127.0.0.1:4000/hooks");
        assert!(c.allows("http://127.0.0.1:4000/hooks/1"));
        assert!(!c.allows("http://127.0.0.1:4000/hooksevil/1"));
    }

    #[test]
    fn refusal_error_names_the_rule() {
        let err = ResponseUrlClient::new()
            .check("https://evil.example/x")
            .expect_err("refused");
        assert_eq!(err.status(), 400);
        assert!(err.to_string().contains("https://hooks.slack.com/"));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let c = ResponseUrlClient::new().with_retry(5, Duration::from_millis(100));
        assert_eq!(c.delay(1, None), Duration::from_millis(100));
        assert_eq!(c.delay(2, None), Duration::from_millis(200));
        assert_eq!(c.delay(40, None), MAX_RETRY_AFTER);
        assert_eq!(c.delay(1, Some(Duration::from_secs(3600))), MAX_RETRY_AFTER);
        assert_eq!(c.delay(1, Some(Duration::ZERO)), Duration::ZERO);
    }
}
