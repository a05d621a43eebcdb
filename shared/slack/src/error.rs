//! The one error type of this crate, with the HTTP status a handler should answer with.

/// Everything that can go wrong verifying, parsing or answering a Slack request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackError {
    /// The configured signing secret is empty: every request would be forgeable.
    #[error("the Slack signing secret is not configured (empty)")]
    SigningSecretMissing,
    #[error("missing X-Slack-Request-Timestamp header")]
    MissingTimestamp,
    #[error("missing X-Slack-Signature header")]
    MissingSignature,
    /// The timestamp header is not a whole number of seconds (the offending value, shortened).
    #[error("X-Slack-Request-Timestamp is not a Unix timestamp in seconds: {0:?}")]
    MalformedTimestamp(String),
    #[error("X-Slack-Signature is not of the form `v0=` followed by 64 hex digits")]
    MalformedSignature,
    /// More than five minutes between the request's timestamp and now (either direction).
    #[error("X-Slack-Request-Timestamp is {skew_secs} s away from now (limit {limit_secs} s): stale or replayed request")]
    StaleTimestamp { skew_secs: u64, limit_secs: u64 },
    #[error("X-Slack-Signature does not match the request body")]
    SignatureMismatch,
    /// The body is not a form Slack would send (not UTF-8, not form-encoded, duplicated fields).
    #[error("malformed form body: {0}")]
    MalformedBody(String),
    /// A field Otto needs is absent or empty; names the field (`user_id`, `user.id`, `payload`…).
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// The interaction `payload` field is not the JSON Slack documents.
    #[error("malformed interaction payload: {0}")]
    MalformedPayload(String),
    /// The response_url is not one this client may post to.
    #[error(
        "refusing to post to response_url {url:?}: only URLs under {allowed_prefix} are allowed"
    )]
    ResponseUrlNotAllowed { url: String, allowed_prefix: String },
    /// Slack answered 4xx (other than 429): the message or the URL is wrong; retrying won't help.
    #[error("Slack rejected the response_url post: HTTP {status}: {body}")]
    Rejected { status: u16, body: String },
    /// Slack kept answering 5xx/429 until the retry budget ran out.
    #[error("Slack response_url still failing after {attempts} attempts: HTTP {status}: {body}")]
    Unavailable {
        status: u16,
        body: String,
        attempts: u32,
    },
    /// The request never got an HTTP answer (connect error, timeout, TLS…).
    #[error("could not reach the Slack response_url: {0}")]
    Transport(String),
}

impl SlackError {
    /// Whether trying the same thing again later may succeed (Slack unavailable or unreachable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Unavailable { .. } | Self::Transport(_))
    }

    /// The HTTP status a handler should answer with: 401 for signature problems, 400 for
    /// malformed requests, 500 for missing configuration, 502/503 for Slack-side failures.
    pub fn status(&self) -> u16 {
        match self {
            Self::SigningSecretMissing => 500,
            Self::MissingTimestamp
            | Self::MissingSignature
            | Self::MalformedTimestamp(_)
            | Self::MalformedSignature
            | Self::StaleTimestamp { .. }
            | Self::SignatureMismatch => 401,
            Self::MalformedBody(_)
            | Self::MissingField(_)
            | Self::MalformedPayload(_)
            | Self::ResponseUrlNotAllowed { .. } => 400,
            Self::Rejected { .. } | Self::Transport(_) => 502,
            Self::Unavailable { .. } => 503,
        }
    }

    /// A short stable machine code for `{error:{code,message}}` bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SigningSecretMissing => "slack_not_configured",
            Self::MissingTimestamp | Self::MissingSignature => "missing_signature_headers",
            Self::MalformedTimestamp(_) | Self::MalformedSignature => "malformed_signature_headers",
            Self::StaleTimestamp { .. } => "stale_request",
            Self::SignatureMismatch => "bad_signature",
            Self::MalformedBody(_) => "malformed_body",
            Self::MissingField(_) => "missing_field",
            Self::MalformedPayload(_) => "malformed_payload",
            Self::ResponseUrlNotAllowed { .. } => "response_url_not_allowed",
            Self::Rejected { .. } => "slack_rejected",
            Self::Unavailable { .. } => "slack_unavailable",
            Self::Transport(_) => "slack_unreachable",
        }
    }
}

/// The first `max` characters of `s`, with `…` when cut (for error messages; never a whole body).
pub(crate) fn snippet(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if s.chars().nth(max).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_retryability() {
        assert_eq!(SlackError::SignatureMismatch.status(), 401);
        assert_eq!(SlackError::MissingTimestamp.status(), 401);
        assert_eq!(
            SlackError::StaleTimestamp {
                skew_secs: 301,
                limit_secs: 300
            }
            .status(),
            401
        );
        assert_eq!(SlackError::MalformedBody("x".into()).status(), 400);
        assert_eq!(SlackError::MissingField("user_id").status(), 400);
        assert_eq!(SlackError::SigningSecretMissing.status(), 500);
        assert!(!SlackError::SignatureMismatch.is_retryable());
        assert!(!SlackError::Rejected {
            status: 404,
            body: "expired_url".into()
        }
        .is_retryable());
        assert!(SlackError::Unavailable {
            status: 503,
            body: String::new(),
            attempts: 3
        }
        .is_retryable());
        assert!(SlackError::Transport("refused".into()).is_retryable());
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            SlackError::MissingField("response_url").to_string(),
            "missing required field `response_url`"
        );
        assert!(SlackError::MissingSignature
            .to_string()
            .contains("X-Slack-Signature"));
        assert!(SlackError::MissingTimestamp
            .to_string()
            .contains("X-Slack-Request-Timestamp"));
    }

    #[test]
    fn snippet_cuts_on_char_boundaries() {
        assert_eq!(snippet("héllo", 2), "hé…");
        assert_eq!(snippet("hé", 2), "hé");
        assert_eq!(snippet("", 2), "");
    }
}
