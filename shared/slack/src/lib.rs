//! Slack: signature check, slash-command and interaction parsing, Block Kit answers.
