//! The digest webhook comes from the function's resolved lookup (an SSM SecureString named by
//! `SLACK_DIGEST_WEBHOOK_URL_PARAM`, read at cold start), not only from the process
//! environment. Its own test binary: `init` sets a process-wide value once.

#[test]
fn the_webhook_read_at_cold_start_is_where_the_process_posts() {
    assert_eq!(
        std::env::var("SLACK_DIGEST_WEBHOOK_URL").ok(),
        None,
        "the process environment has no webhook"
    );
    assert_eq!(otto_answers::notify::config(), None);
    let resolved = |k: &str| match k {
        "SLACK_DIGEST_WEBHOOK_URL" => {
            Some("https://hooks.slack.com/services/T0/B0/secret".to_string())
        }
        "SLACK_DIGEST_CHANNEL" => Some("#otto-ops".to_string()),
        _ => None,
    };
    otto_answers::notify::init(resolved);
    let cfg = otto_answers::notify::config().expect("configured at cold start");
    assert_eq!(
        cfg.webhook_url,
        "https://hooks.slack.com/services/T0/B0/secret"
    );
    assert_eq!(cfg.channel.as_deref(), Some("#otto-ops"));
}
