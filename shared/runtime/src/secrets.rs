//! Secrets from SSM Parameter Store. In AWS the template never passes a secret's value: for a
//! secret variable `X` it passes `X_PARAM`, the name of an SSM parameter (SecureString). At cold
//! start each named parameter is read once (decrypted) and layered over the process environment,
//! so the code that reads `X` (`Config::from_lookup`, the connectors' `*_from_lookup`) sees the
//! value. A value already in `X` wins (local runs). A named parameter that cannot be read fails
//! the cold start naming `X_PARAM` — a function must not come up with a vendor or its auth
//! silently off.

use crate::config::{Config, ConfigError};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// A secret the code reads from `var`; in AWS its SSM parameter's name is in `param`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretVar {
    pub var: &'static str,
    pub param: &'static str,
}

const fn secret(var: &'static str, param: &'static str) -> SecretVar {
    SecretVar { var, param }
}

/// Every secret variable a function or the CLI reads (config, vendors, lanes, helpdesk, voice,
/// LLM). template.rs checks that no function's environment holds one of these as a value.
pub const SECRETS: [SecretVar; 15] = [
    secret("OTTO_WORKER_TOKEN", "OTTO_WORKER_TOKEN_PARAM"),
    secret("OTTO_OPERATOR_TOKEN", "OTTO_OPERATOR_TOKEN_PARAM"),
    secret("SLACK_SIGNING_SECRET", "SLACK_SIGNING_SECRET_PARAM"),
    secret("SHOPIFY_ACCESS_TOKEN", "SHOPIFY_ACCESS_TOKEN_PARAM"),
    secret(
        "GOOGLE_ADS_DEVELOPER_TOKEN",
        "GOOGLE_ADS_DEVELOPER_TOKEN_PARAM",
    ),
    secret("GOOGLE_ADS_ACCESS_TOKEN", "GOOGLE_ADS_ACCESS_TOKEN_PARAM"),
    secret("GOOGLE_ADS_REFRESH_TOKEN", "GOOGLE_ADS_REFRESH_TOKEN_PARAM"),
    secret("GOOGLE_ADS_CLIENT_SECRET", "GOOGLE_ADS_CLIENT_SECRET_PARAM"),
    secret("DATAFORSEO_PASSWORD", "DATAFORSEO_PASSWORD_PARAM"),
    secret("META_ACCESS_TOKEN", "META_ACCESS_TOKEN_PARAM"),
    secret("ALIEXPRESS_APP_SECRET", "ALIEXPRESS_APP_SECRET_PARAM"),
    secret("GORGIAS_API_KEY", "GORGIAS_API_KEY_PARAM"),
    secret("OTTO_EMBEDDINGS_API_KEY", "OTTO_EMBEDDINGS_API_KEY_PARAM"),
    secret("OTTO_LLM_API_KEY", "OTTO_LLM_API_KEY_PARAM"),
    // The Slack digest channel's incoming webhook: a capability, kept like a secret.
    secret("SLACK_DIGEST_WEBHOOK_URL", "SLACK_DIGEST_WEBHOOK_URL_PARAM"),
];

/// A secret to read: which one, and the SSM parameter holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub secret: SecretVar,
    pub parameter: String,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// The secrets to read: each `X` that is unset while `X_PARAM` names a parameter.
pub fn wanted(get: impl Fn(&str) -> Option<String>) -> Vec<Wanted> {
    SECRETS
        .iter()
        .filter(|s| non_empty(get(s.var)).is_none())
        .filter_map(|s| {
            non_empty(get(s.param)).map(|parameter| Wanted {
                secret: *s,
                parameter,
            })
        })
        .collect()
}

/// Where parameter values come from: SSM in AWS, a map in tests.
#[async_trait]
pub trait ParameterSource: Send + Sync {
    /// The decrypted value of parameter `name`, or why it could not be read.
    async fn read(&self, name: &str) -> Result<String, String>;
}

/// SSM Parameter Store (`GetParameter` with decryption).
pub struct Ssm(aws_sdk_ssm::Client);

impl Ssm {
    /// A client from the usual AWS environment (`AWS_ENDPOINT_URL` for a local emulator).
    pub async fn from_env() -> Self {
        Ssm(aws_sdk_ssm::Client::new(
            &otto_store::aws::load_sdk_config().await,
        ))
    }
}

#[async_trait]
impl ParameterSource for Ssm {
    async fn read(&self, name: &str) -> Result<String, String> {
        let out = self
            .0
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| aws_sdk_ssm::error::DisplayErrorContext(&e).to_string())?;
        Ok(out.parameter.and_then(|p| p.value).unwrap_or_default())
    }
}

/// The environment with the secrets read from SSM layered over it.
pub struct Resolved<F> {
    values: BTreeMap<&'static str, String>,
    base: F,
}

impl<F: Fn(&str) -> Option<String>> Resolved<F> {
    /// `k` as the code should see it: a secret read at cold start, else the environment's value.
    pub fn get(&self, k: &str) -> Option<String> {
        match self.values.get(k) {
            Some(v) => Some(v.clone()),
            None => (self.base)(k),
        }
    }

    /// The secret variables filled from SSM (for a log line; never the values).
    pub fn resolved_vars(&self) -> Vec<&'static str> {
        self.values.keys().copied().collect()
    }
}

async fn read_one(source: &dyn ParameterSource, w: &Wanted) -> Result<String, ConfigError> {
    let fail = |problem: String| ConfigError {
        var: w.secret.param,
        problem: format!(
            "SSM parameter {} (for {}): {problem}",
            w.parameter, w.secret.var
        ),
    };
    let value = source.read(&w.parameter).await.map_err(fail)?;
    non_empty(Some(value)).ok_or_else(|| fail("is empty".into()))
}

/// Reads every wanted secret through `source` and layers them over `get`.
pub async fn resolve_with<F: Fn(&str) -> Option<String>>(
    get: F,
    source: &dyn ParameterSource,
) -> Result<Resolved<F>, ConfigError> {
    let mut values = BTreeMap::new();
    for w in wanted(&get) {
        values.insert(w.secret.var, read_one(source, &w).await?);
    }
    Ok(Resolved { values, base: get })
}

/// The process environment as a function should see it: called once at cold start, before
/// `Config::from_lookup` and the connectors' `*_from_lookup`. No SSM client is built (and no AWS
/// call made) when no `*_PARAM` is set, as in local runs.
pub async fn resolve_env() -> Result<Resolved<fn(&str) -> Option<String>>, ConfigError> {
    let get: fn(&str) -> Option<String> = |k| std::env::var(k).ok();
    if wanted(get).is_empty() {
        return Ok(Resolved {
            values: BTreeMap::new(),
            base: get,
        });
    }
    resolve_with(get, &Ssm::from_env().await).await
}

/// Fills the config's three auth secrets from the SSM parameters named in the environment.
/// Kept for callers that built their `Config` first; new code calls [`resolve_env`] and builds
/// everything from its lookup.
pub async fn resolve_ssm_secrets(
    cfg: &mut Config,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if wanted(&get).is_empty() {
        return Ok(());
    }
    let env = resolve_with(get, &Ssm::from_env().await).await?;
    cfg.worker_token = cfg
        .worker_token
        .take()
        .or_else(|| env.get("OTTO_WORKER_TOKEN"));
    cfg.operator_token = cfg
        .operator_token
        .take()
        .or_else(|| env.get("OTTO_OPERATOR_TOKEN"));
    cfg.slack_signing_secret = cfg
        .slack_signing_secret
        .take()
        .or_else(|| env.get("SLACK_SIGNING_SECRET"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::sync::Mutex;

    /// Parameters by name; records every read.
    #[derive(Default)]
    struct Params {
        values: HashMap<String, String>,
        reads: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl ParameterSource for Params {
        async fn read(&self, name: &str) -> Result<String, String> {
            self.reads.lock().unwrap().push(name.to_string());
            self.values
                .get(name)
                .cloned()
                .ok_or_else(|| "ParameterNotFound".to_string())
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params {
            values: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Params::default()
        }
    }

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[tokio::test]
    async fn a_named_parameter_becomes_the_variable() {
        let ssm = params(&[("/otto/shopify", "shpat_1"), ("/otto/gorgias", "g-key")]);
        let e = env(&[
            ("SHOPIFY_ACCESS_TOKEN_PARAM", "/otto/shopify"),
            ("GORGIAS_API_KEY_PARAM", " /otto/gorgias "),
            ("SHOPIFY_SHOP_URL", "https://s.myshopify.com"),
        ]);
        let r = resolve_with(e, &ssm).await.unwrap();
        assert_eq!(r.get("SHOPIFY_ACCESS_TOKEN").as_deref(), Some("shpat_1"));
        assert_eq!(r.get("GORGIAS_API_KEY").as_deref(), Some("g-key"));
        assert_eq!(
            r.get("SHOPIFY_SHOP_URL").as_deref(),
            Some("https://s.myshopify.com"),
            "plain variables pass through"
        );
        assert_eq!(r.get("META_ACCESS_TOKEN"), None);
        assert_eq!(
            r.resolved_vars(),
            vec!["GORGIAS_API_KEY", "SHOPIFY_ACCESS_TOKEN"]
        );
    }

    #[tokio::test]
    async fn a_plain_value_wins_and_nothing_is_read() {
        let ssm = params(&[("/otto/llm", "from-ssm")]);
        let e = env(&[
            ("OTTO_LLM_API_KEY", "local"),
            ("OTTO_LLM_API_KEY_PARAM", "/otto/llm"),
            ("META_ACCESS_TOKEN_PARAM", "  "),
        ]);
        let r = resolve_with(e, &ssm).await.unwrap();
        assert_eq!(r.get("OTTO_LLM_API_KEY").as_deref(), Some("local"));
        assert!(ssm.reads.lock().unwrap().is_empty(), "no SSM read needed");
    }

    #[tokio::test]
    async fn an_unreadable_or_empty_parameter_fails_naming_the_variable() {
        let ssm = params(&[("/otto/empty", " ")]);
        let err = resolve_with(env(&[("DATAFORSEO_PASSWORD_PARAM", "/otto/missing")]), &ssm)
            .await
            .err()
            .unwrap();
        assert_eq!(err.var, "DATAFORSEO_PASSWORD_PARAM");
        assert!(err.problem.contains("/otto/missing"), "{err}");
        assert!(err.problem.contains("ParameterNotFound"), "{err}");
        let err = resolve_with(env(&[("OTTO_WORKER_TOKEN_PARAM", "/otto/empty")]), &ssm)
            .await
            .err()
            .unwrap();
        assert_eq!(err.var, "OTTO_WORKER_TOKEN_PARAM");
        assert!(err.to_string().contains("is empty"), "{err}");
    }

    #[tokio::test]
    async fn config_and_connectors_read_through_the_layer() {
        let ssm = params(&[
            ("/w", "worker-secret-0123456789abcdef0123456789"),
            ("/s", "slack-secret"),
        ]);
        let e = env(&[
            ("OTTO_WORKER_TOKEN_PARAM", "/w"),
            ("SLACK_SIGNING_SECRET_PARAM", "/s"),
        ]);
        let r = resolve_with(e, &ssm).await.unwrap();
        let cfg = Config::from_lookup(|k| r.get(k)).unwrap();
        assert_eq!(
            cfg.worker_token.as_deref(),
            Some("worker-secret-0123456789abcdef0123456789")
        );
        assert_eq!(cfg.slack_signing_secret.as_deref(), Some("slack-secret"));
        assert_eq!(cfg.operator_token, None);
    }

    #[test]
    fn every_secret_has_its_param_variable() {
        for s in SECRETS {
            assert_eq!(s.param, format!("{}_PARAM", s.var));
        }
    }
}
