//! Interactivity: `POST /slack/interactions` carries one form field, `payload`, holding the JSON
//! of e.g. a `block_actions` payload (a button click on one of Otto's answers).

use crate::command::decode_form;
use crate::error::{snippet, SlackError};
use serde::Deserialize;

/// The `action_id` of the release buttons [`crate::render_answer`] renders.
pub const RELEASE_ACTION_ID: &str = "release";

/// The `action_id` of the Undo buttons [`crate::revert_block`] renders.
pub const REVERT_ACTION_ID: &str = "revert";

/// The kind of interaction (`type` in the payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InteractionKind {
    /// A click on a Block Kit interactive element (Otto's buttons).
    BlockActions,
    /// Anything else (`view_submission`, `shortcut`, `message_action`…), by its `type`.
    Other(String),
}

/// One action of a `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub action_id: String,
    pub block_id: Option<String>,
    /// The element type (`button`, `static_select`…).
    pub kind: Option<String>,
    /// A button's `value`, or the `selected_option.value` of a select menu.
    pub value: Option<String>,
    pub action_ts: Option<String>,
}

/// Where the clicked element lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `message`, `message_attachment`, `view`…
    pub kind: String,
    pub message_ts: Option<String>,
    pub channel_id: Option<String>,
    pub is_ephemeral: Option<bool>,
}

/// The parts of an interaction payload Otto uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub kind: InteractionKind,
    pub user_id: String,
    /// `user.username` (or `user.name` when that is all there is).
    pub user_name: Option<String>,
    pub team_id: Option<String>,
    pub channel_id: Option<String>,
    /// Present for clicks on messages (Otto's answers); absent for modals and the Home tab.
    pub response_url: Option<String>,
    pub trigger_id: Option<String>,
    pub api_app_id: Option<String>,
    pub container: Option<Container>,
    /// Empty except for `block_actions`, where it has at least one entry.
    pub actions: Vec<Action>,
}

impl Interaction {
    /// The first action with this `action_id`.
    pub fn action(&self, action_id: &str) -> Option<&Action> {
        self.actions.iter().find(|a| a.action_id == action_id)
    }

    /// The row refs of the release buttons clicked (values of `release` actions), in order.
    pub fn release_refs(&self) -> Vec<&str> {
        self.refs_of(RELEASE_ACTION_ID)
    }

    /// The row refs of the Undo buttons clicked (values of `revert` actions), in order.
    pub fn revert_refs(&self) -> Vec<&str> {
        self.refs_of(REVERT_ACTION_ID)
    }

    fn refs_of(&self, action_id: &str) -> Vec<&str> {
        self.actions
            .iter()
            .filter(|a| a.action_id == action_id)
            .filter_map(|a| a.value.as_deref())
            .collect()
    }
}

#[derive(Deserialize)]
struct Form {
    payload: Option<String>,
}

#[derive(Deserialize)]
struct RawPayload {
    #[serde(rename = "type")]
    kind: Option<String>,
    user: Option<RawUser>,
    team: Option<RawId>,
    channel: Option<RawId>,
    response_url: Option<String>,
    trigger_id: Option<String>,
    api_app_id: Option<String>,
    container: Option<RawContainer>,
    actions: Option<Vec<RawAction>>,
}

#[derive(Deserialize)]
struct RawUser {
    id: Option<String>,
    username: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct RawId {
    id: Option<String>,
}

#[derive(Deserialize)]
struct RawContainer {
    #[serde(rename = "type")]
    kind: Option<String>,
    message_ts: Option<String>,
    channel_id: Option<String>,
    is_ephemeral: Option<bool>,
}

#[derive(Deserialize)]
struct RawAction {
    action_id: Option<String>,
    block_id: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    value: Option<String>,
    selected_option: Option<RawOption>,
    action_ts: Option<String>,
}

#[derive(Deserialize)]
struct RawOption {
    value: Option<String>,
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// Parses the raw (already verified) body of an interaction request.
pub fn parse_interaction(raw_body: &[u8]) -> Result<Interaction, SlackError> {
    let form: Form = decode_form(raw_body)?;
    let payload = non_empty(form.payload).ok_or(SlackError::MissingField("payload"))?;
    let raw: RawPayload = serde_json::from_str(&payload)
        .map_err(|e| SlackError::MalformedPayload(snippet(&e.to_string(), 200)))?;

    let kind = match non_empty(raw.kind) {
        None => return Err(SlackError::MissingField("type")),
        Some(k) if k == "block_actions" => InteractionKind::BlockActions,
        Some(k) => InteractionKind::Other(k),
    };
    let user = raw.user.ok_or(SlackError::MissingField("user.id"))?;
    let user_id = non_empty(user.id).ok_or(SlackError::MissingField("user.id"))?;

    let mut actions = Vec::new();
    if kind == InteractionKind::BlockActions {
        let raw_actions = raw.actions.unwrap_or_default();
        if raw_actions.is_empty() {
            return Err(SlackError::MissingField("actions"));
        }
        for a in raw_actions {
            let action_id =
                non_empty(a.action_id).ok_or(SlackError::MissingField("actions[].action_id"))?;
            let value = a.value.or_else(|| a.selected_option.and_then(|o| o.value));
            actions.push(Action {
                action_id,
                block_id: a.block_id,
                kind: a.kind,
                value,
                action_ts: a.action_ts,
            });
        }
    }

    let container = raw.container.map(|c| Container {
        kind: c.kind.unwrap_or_default(),
        message_ts: c.message_ts,
        channel_id: c.channel_id,
        is_ephemeral: c.is_ephemeral,
    });
    let channel_id = non_empty(raw.channel.and_then(|c| c.id))
        .or_else(|| container.as_ref().and_then(|c| c.channel_id.clone()));

    Ok(Interaction {
        kind,
        user_id,
        user_name: non_empty(user.username).or_else(|| non_empty(user.name)),
        team_id: non_empty(raw.team.and_then(|t| t.id)),
        channel_id,
        response_url: non_empty(raw.response_url),
        trigger_id: non_empty(raw.trigger_id),
        api_app_id: non_empty(raw.api_app_id),
        container,
        actions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A click on the release button of an ephemeral Otto answer, shaped like Slack's
    /// documented `block_actions` payload (ephemeral messages come without `message`).
    fn release_click() -> serde_json::Value {
        json!({
            "type": "block_actions",
            "user": {
                "id": "U2147483697",
                "username": "steve",
                "name": "steve",
                "team_id": "T0001"
            },
            "api_app_id": "A123456",
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "container": {
                "type": "message",
                "message_ts": "1700000000.000200",
                "channel_id": "C2147483705",
                "is_ephemeral": true
            },
            "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
            "team": { "id": "T0001", "domain": "example" },
            "enterprise": null,
            "is_enterprise_install": false,
            "channel": { "id": "C2147483705", "name": "ops" },
            "state": { "values": {} },
            "response_url": "https://hooks.slack.com/actions/T0001/1232321423432/D09sSasdasdAS9091209",
            "actions": [
                {
                    "action_id": "release",
                    "block_id": "Sx1Hb",
                    "text": { "type": "plain_text", "text": "Release decision_log#84196", "emoji": true },
                    "value": "decision_log#84196",
                    "style": "primary",
                    "type": "button",
                    "action_ts": "1700000123.418580"
                }
            ]
        })
    }

    fn form(payload: &serde_json::Value) -> Vec<u8> {
        serde_urlencoded::to_string([("payload", payload.to_string())])
            .expect("encodes")
            .into_bytes()
    }

    #[test]
    fn parses_a_release_click() {
        let i = parse_interaction(&form(&release_click())).expect("parses");
        assert_eq!(i.kind, InteractionKind::BlockActions);
        assert_eq!(i.user_id, "U2147483697");
        assert_eq!(i.user_name.as_deref(), Some("steve"));
        assert_eq!(i.team_id.as_deref(), Some("T0001"));
        assert_eq!(i.channel_id.as_deref(), Some("C2147483705"));
        assert_eq!(
            i.response_url.as_deref(),
            Some("https://hooks.slack.com/actions/T0001/1232321423432/D09sSasdasdAS9091209")
        );
        assert_eq!(
            i.trigger_id.as_deref(),
            Some("12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3")
        );
        assert_eq!(
            i.container,
            Some(Container {
                kind: "message".into(),
                message_ts: Some("1700000000.000200".into()),
                channel_id: Some("C2147483705".into()),
                is_ephemeral: Some(true),
            })
        );
        assert_eq!(i.actions.len(), 1);
        let a = i.action("release").expect("release action");
        assert_eq!(a.value.as_deref(), Some("decision_log#84196"));
        assert_eq!(a.kind.as_deref(), Some("button"));
        assert_eq!(a.block_id.as_deref(), Some("Sx1Hb"));
        assert_eq!(i.release_refs(), vec!["decision_log#84196"]);
        assert!(i.revert_refs().is_empty());
    }

    #[test]
    fn parses_slacks_documented_attachment_example_with_a_select() {
        // The older documented sample: a message_attachment container, a full `message`,
        // and a static_select whose value is under `selected_option`.
        let payload = json!({
            "type": "block_actions",
            "team": { "id": "T9TK3CUKW", "domain": "example" },
            "user": { "id": "UA8RXUSPL", "username": "jtorrance", "team_id": "T9TK3CUKW" },
            "api_app_id": "AABA1ABCD",
            "token": "9s8d9as89d8as9d8as989",
            "container": {
                "type": "message_attachment",
                "message_ts": "1548261231.000200",
                "attachment_id": 1,
                "channel_id": "CBR2V3XEX",
                "is_ephemeral": false,
                "is_app_unfurl": false
            },
            "trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
            "channel": { "id": "CBR2V3XEX", "name": "review-updates" },
            "message": {
                "bot_id": "BAH5CA16Z",
                "type": "message",
                "text": "This content can't be displayed.",
                "user": "UAJ2RU415",
                "ts": "1548261231.000200"
            },
            "response_url": "https://hooks.slack.com/actions/AABA1ABCD/1232321423432/D09sSasdasdAS9091209",
            "actions": [
                {
                    "action_id": "WaXA",
                    "block_id": "=qXel",
                    "type": "static_select",
                    "selected_option": {
                        "text": { "type": "plain_text", "text": "Hermione" },
                        "value": "hermione"
                    },
                    "action_ts": "1548426417.840180"
                },
                {
                    "action_id": "release",
                    "block_id": "b2",
                    "type": "button",
                    "value": "cycle_runs#7",
                    "action_ts": "1548426417.840181"
                }
            ]
        });
        let i = parse_interaction(&form(&payload)).expect("parses");
        assert_eq!(i.user_name.as_deref(), Some("jtorrance"));
        assert_eq!(i.actions[0].value.as_deref(), Some("hermione"));
        assert_eq!(i.release_refs(), vec!["cycle_runs#7"]);
        assert_eq!(
            i.container.as_ref().and_then(|c| c.is_ephemeral),
            Some(false)
        );
    }

    #[test]
    fn other_interaction_types_parse_without_actions() {
        let payload = json!({
            "type": "view_closed",
            "user": { "id": "U1", "name": "ana" },
            "team": { "id": "T1" }
        });
        let i = parse_interaction(&form(&payload)).expect("parses");
        assert_eq!(i.kind, InteractionKind::Other("view_closed".into()));
        assert_eq!(i.user_name.as_deref(), Some("ana"));
        assert!(i.actions.is_empty());
        assert_eq!(i.response_url, None);
    }

    #[test]
    fn missing_fields_are_named() {
        let mut p = release_click();
        p["user"].as_object_mut().expect("object").remove("id");
        assert_eq!(
            parse_interaction(&form(&p)),
            Err(SlackError::MissingField("user.id"))
        );

        let mut p = release_click();
        p.as_object_mut().expect("object").remove("user");
        assert_eq!(
            parse_interaction(&form(&p)),
            Err(SlackError::MissingField("user.id"))
        );

        let mut p = release_click();
        p.as_object_mut().expect("object").remove("type");
        assert_eq!(
            parse_interaction(&form(&p)),
            Err(SlackError::MissingField("type"))
        );

        let mut p = release_click();
        p["actions"] = json!([]);
        assert_eq!(
            parse_interaction(&form(&p)),
            Err(SlackError::MissingField("actions"))
        );

        let mut p = release_click();
        p["actions"][0]
            .as_object_mut()
            .expect("object")
            .remove("action_id");
        assert_eq!(
            parse_interaction(&form(&p)),
            Err(SlackError::MissingField("actions[].action_id"))
        );

        assert_eq!(
            parse_interaction(b"foo=bar"),
            Err(SlackError::MissingField("payload"))
        );
    }

    #[test]
    fn adversarial_bodies_are_errors_not_panics() {
        assert_eq!(
            parse_interaction(b""),
            Err(SlackError::MissingField("payload"))
        );
        assert!(matches!(
            parse_interaction(&[b'p', 0xff, 0xfe]),
            Err(SlackError::MalformedBody(_))
        ));
        for bad in [
            "payload=not+json",
            "payload=%5B%5D",
            "payload=null",
            "payload=%7B%22user%22%3A5%7D",
            "payload=%7B%22type%22%3A%22block_actions%22%2C%22user%22%3A%7B%22id%22%3A%22U1%22%7D%2C%22actions%22%3A%22x%22%7D",
        ] {
            assert!(
                matches!(
                    parse_interaction(bad.as_bytes()),
                    Err(SlackError::MalformedPayload(_))
                ),
                "{bad}"
            );
        }
        // Deep nesting hits serde_json's recursion limit, not the stack.
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let body = serde_urlencoded::to_string([("payload", deep)]).expect("encodes");
        assert!(matches!(
            parse_interaction(body.as_bytes()),
            Err(SlackError::MalformedPayload(_))
        ));
        // A huge value is carried, not refused or truncated here.
        let mut p = release_click();
        p["actions"][0]["value"] = json!("x".repeat(1_000_000));
        let i = parse_interaction(&form(&p)).expect("parses");
        assert_eq!(
            i.actions[0].value.as_ref().map(String::len),
            Some(1_000_000)
        );
    }
}
