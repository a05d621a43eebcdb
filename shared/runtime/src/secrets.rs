//! Secrets from SSM Parameter Store. In AWS the template passes parameter *names*
//! (`OTTO_WORKER_TOKEN_PARAM`, `OTTO_OPERATOR_TOKEN_PARAM`, `SLACK_SIGNING_SECRET_PARAM`), never
//! the values; they are read once per cold start (SecureString, decrypted). A value already in the
//! plain variable wins (local runs). A named parameter that cannot be read fails the cold start
//! with the parameter's name — a function must not come up with its auth silently off.

use crate::config::{Config, ConfigError};

/// Fills the config's secrets from the SSM parameters named in the environment.
pub async fn resolve_ssm_secrets(
    cfg: &mut Config,
    get: impl Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let wanted: Vec<(&'static str, String)> = [
        ("OTTO_WORKER_TOKEN_PARAM", cfg.worker_token.is_none()),
        ("OTTO_OPERATOR_TOKEN_PARAM", cfg.operator_token.is_none()),
        (
            "SLACK_SIGNING_SECRET_PARAM",
            cfg.slack_signing_secret.is_none(),
        ),
    ]
    .into_iter()
    .filter(|(_, missing)| *missing)
    .filter_map(|(var, _)| {
        get(var)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|name| (var, name))
    })
    .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let sdk = otto_store::aws::load_sdk_config().await;
    let client = aws_sdk_ssm::Client::new(&sdk);
    for (var, name) in wanted {
        let value = client
            .get_parameter()
            .name(&name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| ConfigError {
                var,
                problem: format!(
                    "SSM parameter {name}: {}",
                    aws_sdk_ssm::error::DisplayErrorContext(&e)
                ),
            })?
            .parameter
            .and_then(|p| p.value)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| ConfigError {
                var,
                problem: format!("SSM parameter {name} is empty"),
            })?;
        match var {
            "OTTO_WORKER_TOKEN_PARAM" => cfg.worker_token = Some(value),
            "OTTO_OPERATOR_TOKEN_PARAM" => cfg.operator_token = Some(value),
            _ => cfg.slack_signing_secret = Some(value),
        }
    }
    Ok(())
}
