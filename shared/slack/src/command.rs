//! Slash commands: the form body Slack posts, and what Otto makes of the text after `/otto`.

use crate::error::SlackError;
use serde::Deserialize;

/// The audit tables a row ref may name (`decision_log#84196`).
pub const ROW_TABLES: [&str; 6] = [
    "decision_log",
    "ad_decision_log",
    "cs_thread_evaluations",
    "research_candidates",
    "cycle_runs",
    "stage_runs",
];

/// Longest question accepted from Slack (characters); longer text gets a usage message.
pub const MAX_QUESTION_CHARS: usize = 4000;

const MAX_ROW_ID_DIGITS: usize = 19;

/// A slash-command invocation as posted by Slack (`application/x-www-form-urlencoded`).
/// Unknown fields are ignored; the deprecated verification `token` is never read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    /// The command as typed, e.g. `/otto`.
    pub command: String,
    /// Everything after the command (may be empty).
    pub text: String,
    pub user_id: String,
    /// Deprecated by Slack but still sent; informational only.
    pub user_name: Option<String>,
    pub team_id: String,
    pub team_domain: Option<String>,
    pub enterprise_id: Option<String>,
    pub enterprise_name: Option<String>,
    pub channel_id: String,
    pub channel_name: Option<String>,
    /// Where to post up to 5 delayed responses within 30 minutes.
    pub response_url: String,
    /// Short-lived id for opening a modal; also a good idempotency key for the answer job.
    pub trigger_id: String,
    pub api_app_id: Option<String>,
    pub is_enterprise_install: Option<bool>,
}

#[derive(Deserialize)]
struct RawSlashCommand {
    command: Option<String>,
    text: Option<String>,
    user_id: Option<String>,
    user_name: Option<String>,
    team_id: Option<String>,
    team_domain: Option<String>,
    enterprise_id: Option<String>,
    enterprise_name: Option<String>,
    channel_id: Option<String>,
    channel_name: Option<String>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    api_app_id: Option<String>,
    is_enterprise_install: Option<String>,
}

fn required(value: Option<String>, field: &'static str) -> Result<String, SlackError> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(SlackError::MissingField(field)),
    }
}

fn optional(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

/// Decodes a form body into `T`, refusing bodies that are not UTF-8 or not a form.
pub(crate) fn decode_form<'de, T: Deserialize<'de>>(raw_body: &'de [u8]) -> Result<T, SlackError> {
    if std::str::from_utf8(raw_body).is_err() {
        return Err(SlackError::MalformedBody("body is not UTF-8".to_string()));
    }
    serde_urlencoded::from_bytes(raw_body).map_err(|e| SlackError::MalformedBody(e.to_string()))
}

impl SlashCommand {
    /// Parses the raw (already verified) form body. Missing or empty required fields
    /// (`command`, `user_id`, `team_id`, `channel_id`, `response_url`, `trigger_id`) are an
    /// error naming the field; a missing `text` is read as empty.
    pub fn parse(raw_body: &[u8]) -> Result<Self, SlackError> {
        let raw: RawSlashCommand = decode_form(raw_body)?;
        Ok(Self {
            command: required(raw.command, "command")?,
            text: raw.text.unwrap_or_default(),
            user_id: required(raw.user_id, "user_id")?,
            user_name: optional(raw.user_name),
            team_id: required(raw.team_id, "team_id")?,
            team_domain: optional(raw.team_domain),
            enterprise_id: optional(raw.enterprise_id),
            enterprise_name: optional(raw.enterprise_name),
            channel_id: required(raw.channel_id, "channel_id")?,
            channel_name: optional(raw.channel_name),
            response_url: required(raw.response_url, "response_url")?,
            trigger_id: required(raw.trigger_id, "trigger_id")?,
            api_app_id: optional(raw.api_app_id),
            is_enterprise_install: raw.is_enterprise_install.and_then(|v| match v.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            }),
        })
    }

    /// What the operator asked for (see [`parse_command_text`]).
    pub fn otto_command(&self) -> OttoCommand {
        parse_command_text(&self.text)
    }
}

#[derive(Deserialize)]
struct SslCheck {
    ssl_check: Option<String>,
    command: Option<String>,
    payload: Option<String>,
}

/// Whether this body is Slack's periodic certificate check (`ssl_check=1`, no command, no
/// payload). Slack expects a plain 200; do nothing else with it. A body that also carries a
/// `command` or `payload` is not a check (it must go through [`crate::verify`] like any other).
pub fn is_ssl_check(raw_body: &[u8]) -> bool {
    match decode_form::<SslCheck>(raw_body) {
        Ok(f) => f.ssl_check.as_deref() == Some("1") && f.command.is_none() && f.payload.is_none(),
        Err(_) => false,
    }
}

/// What the text after `/otto` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OttoCommand {
    /// Empty text or `help`.
    Help,
    /// `release <table>#<id>` — the ref has a valid shape; whether the row exists and is
    /// held is for the caller to find out.
    Release { row_ref: String },
    /// `kill-switch on` / `kill-switch off`.
    KillSwitch { on: bool },
    /// Anything else: a question for the answer engine (Slack's `&amp;`/`&lt;`/`&gt;`
    /// escapes undone).
    Ask { question: String },
    /// A command word with bad arguments (`kill-switch maybe`, `release foo`): show `message`
    /// to the operator, do nothing.
    Usage { message: String },
}

/// Whether `s` has the shape of a row ref: one of [`ROW_TABLES`], `#`, 1–19 ASCII digits.
pub fn is_valid_row_ref(s: &str) -> bool {
    let Some((table, id)) = s.split_once('#') else {
        return false;
    };
    ROW_TABLES.contains(&table)
        && !id.is_empty()
        && id.len() <= MAX_ROW_ID_DIGITS
        && id.bytes().all(|b| b.is_ascii_digit())
        // Row sequence numbers start at 1 (`RowRef::parse` refuses `#0`): found by fuzzing.
        && id.bytes().any(|b| b != b'0')
}

#[cfg(test)]
mod row_ref_shape {
    #[test]
    fn zero_is_not_a_row() {
        assert!(!super::is_valid_row_ref("decision_log#0"));
        assert!(!super::is_valid_row_ref("decision_log#000"));
        assert!(super::is_valid_row_ref("decision_log#10"));
    }
}

/// Undoes the three escapes Slack applies to user text (`&amp;`, `&lt;`, `&gt;`), in one pass.
pub fn unescape_slack_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let tail = &rest[pos..];
        let (ch, len) = if tail.starts_with("&amp;") {
            ('&', 5)
        } else if tail.starts_with("&lt;") {
            ('<', 4)
        } else if tail.starts_with("&gt;") {
            ('>', 4)
        } else {
            ('&', 1)
        };
        out.push(ch);
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

fn release_usage(detail: &str) -> OttoCommand {
    OttoCommand::Usage {
        message: format!(
            "{detail} Usage: `/otto release <table>#<id>`, e.g. `/otto release decision_log#84196` \
             (tables: {}).",
            ROW_TABLES.join(", ")
        ),
    }
}

fn kill_switch_usage(detail: &str) -> OttoCommand {
    OttoCommand::Usage {
        message: format!("{detail} Usage: `/otto kill-switch on` or `/otto kill-switch off`."),
    }
}

/// Shortened, single-line echo of operator input for usage messages.
fn echo(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::error::snippet(&one_line, 60)
}

/// Reads the text after `/otto`. Command words are case-insensitive; anything that does not
/// start with `help`, `release` or `kill-switch` is a question.
pub fn parse_command_text(text: &str) -> OttoCommand {
    let text = unescape_slack_text(text);
    let trimmed = text.trim();
    let mut words = trimmed.split_whitespace();
    let Some(first) = words.next() else {
        return OttoCommand::Help;
    };
    // Commands take at most one argument: three words are enough to tell.
    let args: Vec<&str> = words.take(3).collect();
    match first.to_ascii_lowercase().as_str() {
        "help" | "-h" | "--help" if args.is_empty() => OttoCommand::Help,
        "release" => match args.as_slice() {
            [] => release_usage("Which row should I release?"),
            [one] => {
                let row_ref = one.trim_matches('`');
                if is_valid_row_ref(row_ref) {
                    OttoCommand::Release {
                        row_ref: row_ref.to_string(),
                    }
                } else {
                    release_usage(&format!("`{}` is not a row ref.", echo(row_ref)))
                }
            }
            _ => release_usage("Release one row at a time."),
        },
        "kill-switch" | "killswitch" => match args.as_slice() {
            [one] if one.eq_ignore_ascii_case("on") => OttoCommand::KillSwitch { on: true },
            [one] if one.eq_ignore_ascii_case("off") => OttoCommand::KillSwitch { on: false },
            [] => kill_switch_usage("On or off?"),
            _ => kill_switch_usage(&format!("I don't understand `{}`.", echo(&args.join(" ")))),
        },
        _ => {
            if trimmed.chars().count() > MAX_QUESTION_CHARS {
                OttoCommand::Usage {
                    message: format!(
                        "That question is too long ({} characters; the limit is {MAX_QUESTION_CHARS}).",
                        trimmed.chars().count()
                    ),
                }
            } else {
                OttoCommand::Ask {
                    question: trimmed.to_string(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SLACK_EXAMPLE_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    const OTTO_BODY: &str = "token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T0001&team_domain=example&enterprise_id=E0001&enterprise_name=Globular%20Construct%20Inc&channel_id=C2147483705&channel_name=ops&user_id=U2147483697&user_name=steve&command=%2Fotto&text=why+did+we+pause+SKU-LIN-007%3F&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2F1234%2F5678&trigger_id=13345224609.738474920.8088930838d88f008e0&api_app_id=A123456&is_enterprise_install=false&some_future_field=whatever";

    #[test]
    fn parses_slacks_example_body() {
        let cmd = SlashCommand::parse(SLACK_EXAMPLE_BODY.as_bytes()).expect("parses");
        assert_eq!(cmd.command, "/webhook-collect");
        assert_eq!(cmd.text, "");
        assert_eq!(cmd.user_id, "U2CERLKJA");
        assert_eq!(cmd.user_name.as_deref(), Some("roadrunner"));
        assert_eq!(cmd.team_id, "T1DC2JH3J");
        assert_eq!(cmd.team_domain.as_deref(), Some("testteamnow"));
        assert_eq!(cmd.channel_id, "G8PSS9T3V");
        assert_eq!(cmd.channel_name.as_deref(), Some("foobar"));
        assert_eq!(
            cmd.response_url,
            "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN"
        );
        assert_eq!(
            cmd.trigger_id,
            "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
        );
        assert_eq!(cmd.enterprise_id, None);
        assert_eq!(cmd.otto_command(), OttoCommand::Help);
    }

    #[test]
    fn parses_all_fields_and_ignores_unknown_ones() {
        let cmd = SlashCommand::parse(OTTO_BODY.as_bytes()).expect("parses");
        assert_eq!(cmd.command, "/otto");
        assert_eq!(cmd.text, "why did we pause SKU-LIN-007?");
        assert_eq!(
            cmd.enterprise_name.as_deref(),
            Some("Globular Construct Inc")
        );
        assert_eq!(cmd.api_app_id.as_deref(), Some("A123456"));
        assert_eq!(cmd.is_enterprise_install, Some(false));
        assert_eq!(
            cmd.otto_command(),
            OttoCommand::Ask {
                question: "why did we pause SKU-LIN-007?".into()
            }
        );
    }

    #[test]
    fn missing_required_fields_are_named() {
        for field in [
            "command",
            "user_id",
            "team_id",
            "channel_id",
            "response_url",
            "trigger_id",
        ] {
            let body: Vec<&str> = OTTO_BODY
                .split('&')
                .filter(|kv| !kv.starts_with(&format!("{field}=")))
                .collect();
            let err = SlashCommand::parse(body.join("&").as_bytes()).expect_err(field);
            assert_eq!(err, SlackError::MissingField(field));
            assert!(err.to_string().contains(field));
            // Present but empty counts as missing.
            let emptied = OTTO_BODY.replace(&format!("{field}="), &format!("{field}=&x="));
            assert_eq!(
                SlashCommand::parse(emptied.as_bytes()),
                Err(SlackError::MissingField(field))
            );
        }
        // `text` may be absent.
        let no_text: Vec<&str> = OTTO_BODY
            .split('&')
            .filter(|kv| !kv.starts_with("text="))
            .collect();
        let cmd = SlashCommand::parse(no_text.join("&").as_bytes()).expect("parses");
        assert_eq!(cmd.text, "");
    }

    #[test]
    fn adversarial_bodies_are_errors_not_panics() {
        assert_eq!(
            SlashCommand::parse(b""),
            Err(SlackError::MissingField("command"))
        );
        assert!(matches!(
            SlashCommand::parse(&[0xff, 0xfe, b'=', 0x80]),
            Err(SlackError::MalformedBody(_))
        ));
        // Percent-encoded invalid UTF-8 is decoded lossily, not a panic.
        let lossy = OTTO_BODY.replace("text=why", "text=%FF%FEwhy");
        let cmd = SlashCommand::parse(lossy.as_bytes()).expect("parses");
        assert!(cmd.text.contains('\u{FFFD}'));
        // A JSON body, stray separators, a duplicated field.
        assert!(SlashCommand::parse(br#"{"command":"/otto"}"#).is_err());
        assert!(SlashCommand::parse(b"&&&===&").is_err());
        let dup = format!("{OTTO_BODY}&user_id=U999");
        assert!(matches!(
            SlashCommand::parse(dup.as_bytes()),
            Err(SlackError::MalformedBody(_))
        ));
        // Huge text parses, and is refused as a question.
        let huge = OTTO_BODY.replace("text=why", &format!("text={}", "a".repeat(1_000_000)));
        let cmd = SlashCommand::parse(huge.as_bytes()).expect("parses");
        assert!(matches!(cmd.otto_command(), OttoCommand::Usage { .. }));
    }

    #[test]
    fn ssl_check() {
        assert!(is_ssl_check(b"token=gIkuvaNzQIHg97ATvDxqgjtO&ssl_check=1"));
        assert!(!is_ssl_check(b"ssl_check=0"));
        assert!(!is_ssl_check(b"ssl_check=true"));
        assert!(!is_ssl_check(
            b"ssl_check=1&command=%2Fotto&text=kill-switch+off"
        ));
        assert!(!is_ssl_check(b"ssl_check=1&payload=%7B%7D"));
        assert!(!is_ssl_check(b"ssl_check=1&ssl_check=1"));
        assert!(!is_ssl_check(OTTO_BODY.as_bytes()));
        assert!(!is_ssl_check(b""));
        assert!(!is_ssl_check(&[0xff]));
    }

    #[test]
    fn help() {
        assert_eq!(parse_command_text(""), OttoCommand::Help);
        assert_eq!(parse_command_text("   \n"), OttoCommand::Help);
        assert_eq!(parse_command_text("help"), OttoCommand::Help);
        assert_eq!(parse_command_text(" HELP "), OttoCommand::Help);
        assert_eq!(
            parse_command_text("help me find slow sellers"),
            OttoCommand::Ask {
                question: "help me find slow sellers".into()
            }
        );
    }

    #[test]
    fn release() {
        assert_eq!(
            parse_command_text("release decision_log#12"),
            OttoCommand::Release {
                row_ref: "decision_log#12".into()
            }
        );
        assert_eq!(
            parse_command_text("  Release   `ad_decision_log#84196` "),
            OttoCommand::Release {
                row_ref: "ad_decision_log#84196".into()
            }
        );
        for table in ROW_TABLES {
            let text = format!("release {table}#1");
            assert!(matches!(
                parse_command_text(&text),
                OttoCommand::Release { .. }
            ));
        }
        for bad in [
            "release",
            "release decision_log",
            "release decision_log#",
            "release decision_log#12a",
            "release decision_log#-1",
            "release orders#12",
            "release DECISION_LOG#12",
            "release decision_log#12 decision_log#13",
            "release decision_log#12345678901234567890",
            "release #12",
        ] {
            assert!(
                matches!(parse_command_text(bad), OttoCommand::Usage { .. }),
                "{bad}"
            );
        }
    }

    #[test]
    fn kill_switch() {
        assert_eq!(
            parse_command_text("kill-switch on"),
            OttoCommand::KillSwitch { on: true }
        );
        assert_eq!(
            parse_command_text("Kill-Switch OFF"),
            OttoCommand::KillSwitch { on: false }
        );
        for bad in ["kill-switch", "kill-switch maybe", "kill-switch on now"] {
            match parse_command_text(bad) {
                OttoCommand::Usage { message } => assert!(message.contains("kill-switch on")),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn questions_are_unescaped_once() {
        assert_eq!(
            parse_command_text("margin on R&amp;D &lt;5% &amp;lt;"),
            OttoCommand::Ask {
                question: "margin on R&D <5% &lt;".into()
            }
        );
        assert_eq!(unescape_slack_text("a & b &gt"), "a & b &gt");
        assert_eq!(unescape_slack_text("é&amp;é"), "é&é");
    }

    #[test]
    fn row_ref_shape() {
        assert!(is_valid_row_ref("decision_log#84196"));
        assert!(!is_valid_row_ref("stage_runs#0"), "row numbers start at 1");
        assert!(!is_valid_row_ref("decision_log#"));
        assert!(!is_valid_row_ref("decision_log#1#2"));
        assert!(!is_valid_row_ref("decision_log#１２")); // full-width digits
        assert!(!is_valid_row_ref(""));
    }
}
