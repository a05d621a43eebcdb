use otto_core::{StoreClock, StoreId};
use otto_store::aws::AwsNames;
#[cfg(feature = "embedded")]
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
#[error("configuration: {var}: {problem}")]
pub struct ConfigError {
    pub var: &'static str,
    pub problem: String,
}

/// Where the ports live.
#[derive(Debug, Clone, PartialEq)]
pub enum Backend {
    /// SQLite in a directory (`./.otto` by default). Only in builds with the `embedded` feature
    /// (not the Lambdas).
    #[cfg(feature = "embedded")]
    Embedded { dir: PathBuf },
    /// DynamoDB / SQS / EventBridge (endpoint from `AWS_ENDPOINT_URL` when set).
    Aws(AwsNames),
}

/// Everything a function or the CLI needs from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    pub store_id: StoreId,
    pub clock: StoreClock,
    pub backend: Backend,
    /// `X-Worker-Token` expected on `/jobs/*`.
    pub worker_token: Option<String>,
    /// Bearer token for operator routes when served outside API Gateway (`otto serve`).
    pub operator_token: Option<String>,
    pub slack_signing_secret: Option<String>,
    /// Slack user ids allowed to release rows and flip the kill switch from Slack.
    pub slack_admins: Vec<String>,
    /// The queue the Slack responder Lambda consumes (AWS); in-process when unset.
    pub slack_responder_queue_url: Option<String>,
    /// The API's public base URL, for citation links outside the browser (Slack); relative
    /// links when unset.
    pub public_url: Option<String>,
    /// The only Slack workspace (`team_id`) whose requests are served; any when unset.
    pub slack_team_id: Option<String>,
    /// The only Slack app (`api_app_id`) whose requests are served; any when unset.
    pub slack_app_id: Option<String>,
}

/// The shortest `OTTO_OPERATOR_TOKEN` / `OTTO_WORKER_TOKEN` accepted, in bytes.
pub const MIN_TOKEN_BYTES: usize = 32;

/// `Ok` when a shared secret is long enough to be a secret; otherwise what is wrong with it
/// (never the value itself).
pub fn check_token(var: &'static str, token: Option<&str>) -> Result<(), ConfigError> {
    match token {
        Some(t) if t.len() < MIN_TOKEN_BYTES => Err(ConfigError {
            var,
            problem: format!(
                "is {} bytes long; at least {MIN_TOKEN_BYTES} are required (e.g. `openssl rand -hex 32`)",
                t.len()
            ),
        }),
        _ => Ok(()),
    }
}

impl Config {
    /// Refuses an operator or worker token shorter than [`MIN_TOKEN_BYTES`]. [`Config::from_lookup`]
    /// checks the plain variables; a host that fills the tokens later (SSM at cold start, a
    /// generated one) calls this again before it serves.
    pub fn check_tokens(&self) -> Result<(), ConfigError> {
        check_token("OTTO_OPERATOR_TOKEN", self.operator_token.as_deref())?;
        check_token("OTTO_WORKER_TOKEN", self.worker_token.as_deref())
    }

    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads configuration through `get` (tests pass a map).
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `OTTO_STORE` | `embedded` or `dynamodb` | `embedded` |
    /// | `OTTO_DATA_DIR` | embedded data directory | `./.otto` |
    /// | `OTTO_STORE_ID` | the store Otto runs for | `demo-store` |
    /// | `OTTO_STORE_TZ` | IANA time zone of the store | `Europe/Amsterdam` |
    /// | `OTTO_AUDIT_TABLE`, `OTTO_STATE_TABLE`, `OTTO_CATALOG_TABLE` | DynamoDB tables | required with dynamodb |
    /// | `OTTO_QUEUE_URL_PREFIX` | stage queue URL prefix | required with dynamodb |
    /// | `OTTO_EVENT_BUS` | EventBridge bus | required with dynamodb |
    /// | `OTTO_WORKER_TOKEN`, `OTTO_OPERATOR_TOKEN`, `SLACK_SIGNING_SECRET` | secrets (or their SSM parameter names in `…_PARAM`, read at cold start); the two tokens at least 32 bytes | unset |
    /// | `OTTO_SLACK_TEAM_ID`, `OTTO_SLACK_APP_ID` | the only Slack workspace / app served | any |
    /// | `OTTO_SLACK_ADMINS` | comma-separated Slack user ids who may release / flip the kill switch | nobody |
    /// | `SLACK_RESPONDER_QUEUE_URL` | SQS queue of the Slack responder | in-process |
    /// | `OTTO_PUBLIC_URL` | base URL of citation links (`https://…`) | relative links |
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let store_id = StoreId::new(var("OTTO_STORE_ID").unwrap_or_else(|| "demo-store".into()))
            .map_err(|e| ConfigError {
                var: "OTTO_STORE_ID",
                problem: e.to_string(),
            })?;
        let clock =
            StoreClock::new(&var("OTTO_STORE_TZ").unwrap_or_else(|| "Europe/Amsterdam".into()))
                .map_err(|e| ConfigError {
                    var: "OTTO_STORE_TZ",
                    problem: e.to_string(),
                })?;
        let required = |k: &'static str| {
            var(k).ok_or_else(|| ConfigError {
                var: k,
                problem: "must be set when OTTO_STORE=dynamodb".into(),
            })
        };
        let backend = match var("OTTO_STORE").as_deref().unwrap_or("embedded") {
            "embedded" => embedded_backend(var("OTTO_DATA_DIR"))?,
            "dynamodb" => Backend::Aws(AwsNames {
                audit_table: required("OTTO_AUDIT_TABLE")?,
                state_table: required("OTTO_STATE_TABLE")?,
                catalog_table: required("OTTO_CATALOG_TABLE")?,
                queue_url_prefix: required("OTTO_QUEUE_URL_PREFIX")?,
                event_bus: required("OTTO_EVENT_BUS")?,
            }),
            other => {
                return Err(ConfigError {
                    var: "OTTO_STORE",
                    problem: format!("{other:?} is not one of embedded, dynamodb"),
                })
            }
        };
        let cfg = Config {
            store_id,
            clock,
            backend,
            worker_token: var("OTTO_WORKER_TOKEN"),
            operator_token: var("OTTO_OPERATOR_TOKEN"),
            slack_signing_secret: var("SLACK_SIGNING_SECRET"),
            slack_admins: var("OTTO_SLACK_ADMINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().to_string())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            slack_responder_queue_url: var("SLACK_RESPONDER_QUEUE_URL"),
            public_url: match var("OTTO_PUBLIC_URL") {
                Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
                    return Err(ConfigError {
                        var: "OTTO_PUBLIC_URL",
                        problem: format!("{u:?} is not an http(s) URL"),
                    })
                }
                u => u.map(|u| u.trim_end_matches('/').to_string()),
            },
            slack_team_id: var("OTTO_SLACK_TEAM_ID"),
            slack_app_id: var("OTTO_SLACK_APP_ID"),
        };
        cfg.check_tokens()?;
        Ok(cfg)
    }
}

/// The embedded backend in its directory.
#[cfg(feature = "embedded")]
fn embedded_backend(dir: Option<String>) -> Result<Backend, ConfigError> {
    Ok(Backend::Embedded {
        dir: PathBuf::from(dir.unwrap_or_else(|| ".otto".into())),
    })
}

/// A build without the embedded adapter (a Lambda) refuses `OTTO_STORE=embedded` at start.
#[cfg(not(feature = "embedded"))]
fn embedded_backend(_dir: Option<String>) -> Result<Backend, ConfigError> {
    Err(ConfigError {
        var: "OTTO_STORE",
        problem: "\"embedded\" is not built into this binary (cargo feature `embedded`); set OTTO_STORE=dynamodb".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let mut m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        // Without the embedded adapter the default backend is refused: test on DynamoDB names.
        if cfg!(not(feature = "embedded")) && !m.contains_key("OTTO_STORE") {
            m.insert("OTTO_STORE".into(), "dynamodb".into());
            for k in [
                "OTTO_AUDIT_TABLE",
                "OTTO_STATE_TABLE",
                "OTTO_CATALOG_TABLE",
                "OTTO_QUEUE_URL_PREFIX",
                "OTTO_EVENT_BUS",
            ] {
                m.insert(k.into(), "x".into());
            }
        }
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[cfg(not(feature = "embedded"))]
    #[test]
    fn embedded_is_refused_without_its_adapter() {
        let err = cfg(&[("OTTO_STORE", "embedded")]).unwrap_err();
        assert_eq!(err.var, "OTTO_STORE");
        assert!(err.to_string().contains("dynamodb"), "{err}");
    }

    #[cfg(feature = "embedded")]
    #[test]
    fn defaults_to_embedded() {
        let c = cfg(&[]).unwrap();
        assert_eq!(
            c.backend,
            Backend::Embedded {
                dir: ".otto".into()
            }
        );
        assert_eq!(c.store_id.as_str(), "demo-store");
        assert_eq!(c.clock.tz_name(), "Europe/Amsterdam");
    }

    #[test]
    fn dynamodb_needs_every_name() {
        let err = cfg(&[("OTTO_STORE", "dynamodb"), ("OTTO_AUDIT_TABLE", "a")]).unwrap_err();
        assert_eq!(err.var, "OTTO_STATE_TABLE");
        let err = cfg(&[("OTTO_STORE", "postgres")]).unwrap_err();
        assert!(err.to_string().contains("OTTO_STORE"), "{err}");
        let err = cfg(&[("OTTO_STORE_TZ", "CEST")]).unwrap_err();
        assert_eq!(err.var, "OTTO_STORE_TZ");
        let err = cfg(&[("OTTO_STORE_ID", "a b")]).unwrap_err();
        assert_eq!(err.var, "OTTO_STORE_ID");
    }

    #[test]
    fn short_tokens_are_refused() {
        let long = "x".repeat(MIN_TOKEN_BYTES);
        let short = "x".repeat(MIN_TOKEN_BYTES - 1);
        for var in ["OTTO_OPERATOR_TOKEN", "OTTO_WORKER_TOKEN"] {
            let err = cfg(&[(var, "x")]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().contains("at least 32"), "{err}");
            assert!(
                !err.to_string().contains(" x "),
                "the value is never echoed"
            );
            assert_eq!(cfg(&[(var, &short)]).unwrap_err().var, var);
            assert!(cfg(&[(var, &long)]).is_ok());
        }
        // A token filled in later (SSM) is checked again before serving.
        let mut c = cfg(&[]).unwrap();
        c.operator_token = Some("op".into());
        assert_eq!(c.check_tokens().unwrap_err().var, "OTTO_OPERATOR_TOKEN");
    }

    #[test]
    fn slack_team_and_app() {
        let c = cfg(&[("OTTO_SLACK_TEAM_ID", "T1"), ("OTTO_SLACK_APP_ID", " A1 ")]).unwrap();
        assert_eq!(c.slack_team_id.as_deref(), Some("T1"));
        assert_eq!(c.slack_app_id.as_deref(), Some("A1"));
    }
}
