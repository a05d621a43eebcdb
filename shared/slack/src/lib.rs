//! Slack: signature check, slash-command and interaction parsing, Block Kit answers.
//!
//! The flow this crate supports (no AWS types here; the API crate wires it up):
//! 1. [`verify`] the raw body against `X-Slack-Signature` / `X-Slack-Request-Timestamp`;
//! 2. [`SlashCommand::parse`] it and read the text with [`parse_command_text`], or
//!    [`parse_interaction`] for a button click on `/slack/interactions`;
//! 3. answer within 3 s with [`ack`] (or [`help_text`]), then post the full answer —
//!    [`render_answer`] — to the `response_url` with [`ResponseUrlClient`].
//!
//! Errors are one [`SlackError`], which knows its HTTP status and whether a retry may help.
//!
//! ```
//! use otto_slack::{ack, help_text, parse_command_text, sign, verify, OttoCommand, SlashCommand};
//!
//! # fn main() -> Result<(), otto_slack::SlackError> {
//! let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
//! let body = b"command=%2Fotto&text=release+decision_log%2384196&user_id=U1&team_id=T1\
//!              &channel_id=C1&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1\
//!              &trigger_id=1.2.3";
//! let now = 1_531_420_618;
//! let signature = sign(secret, now, body)?; // what Slack would send
//!
//! verify(secret, Some("1531420618"), Some(&signature), body, now)?;
//! let cmd = SlashCommand::parse(body)?;
//! let reply = match parse_command_text(&cmd.text) {
//!     OttoCommand::Help => ack(&help_text()),
//!     OttoCommand::Usage { message } => ack(&message),
//!     OttoCommand::Release { row_ref } => {
//!         assert_eq!(row_ref, "decision_log#84196");
//!         ack(&format!("Releasing {row_ref}…"))
//!     }
//!     OttoCommand::KillSwitch { .. } | OttoCommand::Ask { .. } => ack("Looking that up…"),
//! };
//! assert_eq!(reply["response_type"], "ephemeral");
//! # Ok(())
//! # }
//! ```

mod command;
mod digest;
mod error;
mod interaction;
mod render;
mod response_url;
mod verify;

pub use command::{
    is_ssl_check, is_valid_row_ref, parse_command_text, unescape_slack_text, OttoCommand,
    SlashCommand, MAX_QUESTION_CHARS, ROW_TABLES,
};
pub use digest::{
    post_notices, render_notice, ChannelNotice, DigestConfig, NoticeLevel, DEFAULT_HOLDS_THRESHOLD,
    DIGEST_CHANNEL_ENV, DIGEST_WEBHOOK_ENV, HOLDS_THRESHOLD_ENV, WEBHOOK_PREFIX,
};
pub use error::SlackError;
pub use interaction::{
    parse_interaction, Action, Container, Interaction, InteractionKind, RELEASE_ACTION_ID,
    REVERT_ACTION_ID,
};
pub use render::{
    ack, escape_mrkdwn, help_text, render_answer, revert_block, split_mrkdwn, CitationLink,
    MAX_BLOCKS, MAX_FALLBACK_CHARS, MAX_RELEASE_BLOCKS, MAX_SECTION_CHARS,
};
pub use response_url::{ResponseUrlClient, SLACK_RESPONSE_URL_PREFIX};
pub use verify::{sign, verify, MAX_CLOCK_SKEW_SECS, SIGNATURE_HEADER, TIMESTAMP_HEADER};
