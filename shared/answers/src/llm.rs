//! The optional LLM: off by default. When on, it does two things and nothing more:
//!
//! 1. **Intent mapping** — only for questions the deterministic parser could not place: the model
//!    returns a JSON intent (`{"intent": "holds"}`, `{"intent": "sku_history", "sku": "…"}` …),
//!    which is validated like any input and then runs the *same typed queries*.
//! 2. **Wording** — the model may rephrase a grounded answer; the rephrased text must pass the
//!    same citation guard against the same cited rows, or the deterministic text is kept.
//!
//! It never sees anything but the question and the answer text, and never adds a row or a
//! figure. Any failure (network, malformed reply, a reply the guard refuses) falls back to the
//! deterministic path. The client speaks the OpenAI-compatible `/v1/chat/completions` wire format
//! (OpenAI, Azure OpenAI, vLLM, Ollama, LiteLLM — and Bedrock through an OpenAI-compatible
//! gateway); tested against a local stub server.

use crate::question::{Aggregate, Days, Intent, RowQuery, SwitchAsk};
use async_trait::async_trait;
use otto_core::audit::{AuditTable, OperatorAct, RowRef};
use otto_core::cycle::CycleKind;
use otto_core::{Action, Classification, RowStatus, Sku, StoreDay};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("llm: {0}")]
    Transport(String),
    #[error("llm: HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("llm: malformed reply: {0}")]
    Malformed(String),
}

#[async_trait]
pub trait Llm: Send + Sync {
    /// An intent for a question the parser could not place; `None` when the model has none.
    async fn map_intent(&self, question: &str, today: StoreDay)
        -> Result<Option<Intent>, LlmError>;
    /// The answer in friendlier words (the caller guards the result).
    async fn reword(&self, question: &str, answer: &str) -> Result<String, LlmError>;
}

/// An OpenAI-compatible chat completions client.
pub struct OpenAiChat {
    pub base_url: String,
    pub api_key: String,
    pub model: String,
    http: reqwest::Client,
}

impl OpenAiChat {
    pub fn new(base_url: &str, api_key: &str, model: &str) -> Self {
        OpenAiChat {
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            model: model.to_string(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(8))
                .build()
                .unwrap_or_default(),
        }
    }

    /// From `OTTO_LLM=openai` + `OTTO_LLM_URL`, `OTTO_LLM_MODEL`, `OTTO_LLM_API_KEY`; `None` when
    /// `OTTO_LLM` is unset or `off`.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let var = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        match var("OTTO_LLM").as_deref() {
            None | Some("off") => Ok(None),
            Some("openai") => {
                let need =
                    |k: &str| var(k).ok_or_else(|| format!("{k} must be set when OTTO_LLM=openai"));
                let url = need("OTTO_LLM_URL")?;
                if !(url.starts_with("https://") || url.starts_with("http://")) {
                    return Err(format!("OTTO_LLM_URL {url:?} is not an http(s) URL"));
                }
                Ok(Some(OpenAiChat::new(
                    &url,
                    &var("OTTO_LLM_API_KEY").unwrap_or_default(),
                    &need("OTTO_LLM_MODEL")?,
                )))
            }
            Some(other) => Err(format!("OTTO_LLM {other:?} is not one of off, openai")),
        }
    }

    async fn complete(
        &self,
        system: &str,
        user: &str,
        json_mode: bool,
    ) -> Result<String, LlmError> {
        let mut body = json!({
            "model": self.model,
            "temperature": 0,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        });
        if json_mode {
            body["response_format"] = json!({"type": "json_object"});
        }
        let mut req = self
            .http
            .post(format!("{}/v1/chat/completions", self.base_url))
            .json(&body);
        if !self.api_key.is_empty() {
            req = req.bearer_auth(&self.api_key);
        }
        let res = req
            .send()
            .await
            .map_err(|e| LlmError::Transport(e.without_url().to_string()))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| LlmError::Transport(e.to_string()))?;
        parse_chat_completion(status.as_u16(), &text)
    }
}

/// The response parser, public for fuzzing: a `/v1/chat/completions` answer (HTTP status + body
/// text) → `choices[0].message.content`.
pub fn parse_chat_completion(status: u16, text: &str) -> Result<String, LlmError> {
    if !(200..300).contains(&status) {
        return Err(LlmError::Status {
            status,
            body: text.chars().take(200).collect(),
        });
    }
    let v: Value = serde_json::from_str(text).map_err(|e| LlmError::Malformed(e.to_string()))?;
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| LlmError::Malformed("choices[0].message.content is missing".into()))
}

/// The response parser, public for fuzzing: the model's intent reply (the completion's content)
/// → a validated intent ([`intent_from_json`]); `None` when the model has none.
pub fn parse_intent_reply(content: &str, today: StoreDay) -> Result<Option<Intent>, LlmError> {
    let v: Value = serde_json::from_str(content.trim())
        .map_err(|e| LlmError::Malformed(format!("intent JSON: {e}")))?;
    Ok(intent_from_json(&v, today))
}

/// The response parser, public for fuzzing: the model's rewording (the completion's content),
/// trimmed; empty → `Malformed`.
pub fn parse_wording_reply(content: &str) -> Result<String, LlmError> {
    let out = content.trim();
    if out.is_empty() {
        return Err(LlmError::Malformed("empty wording".into()));
    }
    Ok(out.to_string())
}

const INTENT_PROMPT: &str = "You map an online-store operator's question to one typed query plan for an audit-log query engine. Reply with one JSON object only: {\"intent\": one of \"cycle_summary\", \"catalog_moves\", \"campaign\" (a campaign's budget story), \"campaign_performance\" (what a campaign spent, its ROAS), \"customer_service\", \"holds\", \"discount_windows\", \"research\", \"sku_history\", \"show_row\", \"kill_switch\", \"cycle_health\", \"thresholds\" (the self_calibrator's winner floor and loser ceiling), \"rows\", \"unknown\"; optional \"day\" (YYYY-MM-DD), \"cycle\" (morning|research|discount|cs), \"sku\", \"campaign\" (a name or id), \"thread\" (a support thread id), \"ref\" (table#number), \"ask\" (kill_switch: state|on|off|any)}. For counts, sums, largest moves, lists and comparisons of rows use \"rows\" with \"table\" (decision_log|ad_decision_log), \"actions\" (list of DRAFT, PUBLISH, DISCOUNT_TEST, ON_DISCOUNT, PRICE_RESTORE, SCALE_WINNER, REVIVE_SEASONAL, ADJUST_BUDGET, KEEP), \"status\" (APPLIED, HELD, REVERTED, FAILED, REFUSED, DRY_RUN, SKIPPED), \"classification\" (WINNER, MID, LOSER, INSUFFICIENT_DATA), \"from\" and \"to\" (YYYY-MM-DD, at most 31 days), \"aggregate\" (list|count|largest|sum|compare). Never answer the question yourself.";

const WORDING_PROMPT: &str = "Rephrase the answer for a busy store operator in at most a few sentences. Keep every number, amount, percentage, date, SKU and row ref exactly as written; add no figure, fact or row that is not in the answer. Reply with the rephrased answer only.";

/// Turns the model's JSON into an intent, validating every field like any other input.
pub fn intent_from_json(v: &Value, today: StoreDay) -> Option<Intent> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|x| !x.is_empty())
    };
    let day = match s("day").map(StoreDay::parse) {
        Some(Ok(d)) if d > today => return Some(Intent::Future { day: d }),
        Some(Ok(d)) => d,
        Some(Err(_)) => return None,
        None => today,
    };
    let days = Days::One(day);
    Some(match s("intent")? {
        "cycle_summary" => Intent::CycleSummary {
            kind: match s("cycle") {
                Some(k) => k.parse::<CycleKind>().ok()?,
                None => CycleKind::Morning,
            },
            days,
        },
        "catalog_moves" => Intent::CatalogMoves { days },
        "campaign" => Intent::Campaign {
            name: s("campaign")?.to_string(),
            days: s("day").map(|_| days),
        },
        "campaign_performance" => Intent::CampaignPerformance {
            name: s("campaign")?.to_string(),
            days: s("day").map(|_| days),
        },
        "customer_service" => Intent::CustomerService {
            days,
            thread: s("thread").map(str::to_string),
        },
        "holds" => Intent::Holds,
        "discount_windows" => Intent::DiscountWindows,
        "research" => Intent::Research,
        "sku_history" => Intent::SkuHistory {
            sku: Sku::new(s("sku")?).ok()?,
        },
        "show_row" => Intent::ShowRow {
            row_ref: RowRef::parse(s("ref")?).ok()?,
        },
        "kill_switch" => Intent::KillSwitch {
            ask: match s("ask").unwrap_or("any") {
                "state" => SwitchAsk::State,
                "on" => SwitchAsk::Flip(Some(OperatorAct::KillSwitchOn)),
                "off" => SwitchAsk::Flip(Some(OperatorAct::KillSwitchOff)),
                "any" => SwitchAsk::Flip(None),
                _ => return None,
            },
            days: s("day").map(|_| days),
        },
        "cycle_health" => Intent::CycleHealth {
            kind: match s("cycle") {
                Some(k) => Some(k.parse::<CycleKind>().ok()?),
                None => None,
            },
        },
        "thresholds" => Intent::Thresholds {
            days: s("day").map(|_| days),
        },
        "rows" => return rows_plan(v, today),
        _ => return None,
    })
}

/// Most days a plan from the model may span (a month).
pub const MAX_PLAN_DAYS: i64 = 31;

/// A typed [`RowQuery`] from the model's JSON, every field validated against its type: a table
/// the rows plan reads, known actions / status / classification, days not after today and at
/// most [`MAX_PLAN_DAYS`], a known aggregate. Anything else → `None` (the deterministic plan
/// stands).
fn rows_plan(v: &Value, today: StoreDay) -> Option<Intent> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|x| !x.is_empty())
    };
    let table = match s("table")
        .unwrap_or("decision_log")
        .parse::<AuditTable>()
        .ok()?
    {
        t @ (AuditTable::DecisionLog | AuditTable::AdDecisionLog) => t,
        _ => return None,
    };
    let actions = match v.get("actions") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().and_then(|x| x.trim().parse::<Action>().ok()))
            .collect::<Option<Vec<_>>>()?,
        Some(_) => return None,
    };
    let budget = actions.contains(&Action::AdjustBudget);
    if budget != (table == AuditTable::AdDecisionLog) && !actions.is_empty() {
        return None;
    }
    let status = match s("status") {
        Some(x) => Some(x.parse::<RowStatus>().ok()?),
        None => None,
    };
    let classification = match s("classification") {
        Some(x) => Some(x.parse::<Classification>().ok()?),
        None => None,
    };
    let day = |k: &str| match s(k) {
        Some(x) => StoreDay::parse(x).ok().map(Some),
        None => Some(None),
    };
    let days = match (day("from")?, day("to")?) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(Days::One(a)),
        (Some(a), Some(b)) if a == b => Some(Days::One(a)),
        (Some(a), Some(b)) => Some(Days::Range(a, b)),
    };
    if let Some(d) = days {
        if d.last() > today {
            return Some(Intent::Future { day: d.last() });
        }
        let span = d.last().days_since(d.first());
        if !(0..MAX_PLAN_DAYS).contains(&span) {
            return None;
        }
    }
    let aggregate = match s("aggregate").unwrap_or("list") {
        "list" => Aggregate::List,
        "count" => Aggregate::Count,
        "largest" => Aggregate::Largest,
        "sum" => Aggregate::Sum,
        "compare" => Aggregate::Compare,
        _ => return None,
    };
    Some(Intent::Rows(RowQuery {
        table,
        actions,
        status,
        classification,
        days,
        aggregate,
    }))
}

#[async_trait]
impl Llm for OpenAiChat {
    async fn map_intent(
        &self,
        question: &str,
        today: StoreDay,
    ) -> Result<Option<Intent>, LlmError> {
        let user = format!("Today is {today}. Question: {question}");
        let content = self.complete(INTENT_PROMPT, &user, true).await?;
        parse_intent_reply(&content, today)
    }

    async fn reword(&self, question: &str, answer: &str) -> Result<String, LlmError> {
        let user = format!("Question: {question}\n\nAnswer:\n{answer}");
        let out = self.complete(WORDING_PROMPT, &user, false).await?;
        parse_wording_reply(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_from_the_model_are_validated() {
        let t = StoreDay::parse("2026-11-25").unwrap();
        assert_eq!(
            intent_from_json(&json!({"intent": "holds"}), t),
            Some(Intent::Holds)
        );
        assert_eq!(
            intent_from_json(
                &json!({"intent": "cycle_summary", "cycle": "discount", "day": "2026-11-24"}),
                t
            ),
            Some(Intent::CycleSummary {
                kind: CycleKind::Discount,
                days: Days::One(StoreDay::parse("2026-11-24").unwrap())
            })
        );
        assert!(matches!(
            intent_from_json(&json!({"intent": "holds", "day": "2027-01-01"}), t),
            Some(Intent::Future { .. })
        ));
        for bad in [
            json!({"intent": "sku_history", "sku": "has space"}),
            json!({"intent": "show_row", "ref": "ledger#1"}),
            json!({"intent": "cycle_summary", "cycle": "lunch"}),
            json!({"intent": "campaign"}),
            json!({"intent": "launch_missiles"}),
            json!({"intent": "holds", "day": "yesterday"}),
            json!([1, 2]),
        ] {
            assert_eq!(intent_from_json(&bad, t), None, "{bad}");
        }
    }

    #[test]
    fn typed_row_plans_from_the_model_are_validated() {
        let t = StoreDay::parse("2026-11-25").unwrap();
        let d = |s: &str| StoreDay::parse(s).unwrap();
        assert_eq!(
            intent_from_json(
                &json!({"intent": "rows", "table": "decision_log", "actions": ["DRAFT"],
                        "from": "2026-11-23", "to": "2026-11-25", "aggregate": "count"}),
                t
            ),
            Some(Intent::Rows(RowQuery {
                table: AuditTable::DecisionLog,
                actions: vec![Action::Draft],
                status: None,
                classification: None,
                days: Some(Days::Range(d("2026-11-23"), t)),
                aggregate: Aggregate::Count,
            }))
        );
        assert_eq!(
            intent_from_json(
                &json!({"intent": "rows", "table": "ad_decision_log", "actions": ["ADJUST_BUDGET"],
                        "status": "APPLIED", "aggregate": "sum"}),
                t
            ),
            Some(Intent::Rows(RowQuery {
                table: AuditTable::AdDecisionLog,
                actions: vec![Action::AdjustBudget],
                status: Some(RowStatus::Applied),
                classification: None,
                days: None,
                aggregate: Aggregate::Sum,
            }))
        );
        assert!(matches!(
            intent_from_json(&json!({"intent": "rows", "to": "2027-01-01"}), t),
            Some(Intent::Future { .. })
        ));
        assert_eq!(
            intent_from_json(&json!({"intent": "kill_switch", "ask": "on"}), t),
            Some(Intent::KillSwitch {
                ask: SwitchAsk::Flip(Some(OperatorAct::KillSwitchOn)),
                days: None
            })
        );
        assert_eq!(
            intent_from_json(&json!({"intent": "cycle_health"}), t),
            Some(Intent::CycleHealth { kind: None })
        );
        assert_eq!(
            intent_from_json(&json!({"intent": "thresholds", "day": "2026-11-23"}), t),
            Some(Intent::Thresholds {
                days: Some(Days::One(StoreDay::parse("2026-11-23").unwrap()))
            })
        );
        for bad in [
            json!({"intent": "rows", "table": "operator_log"}),
            json!({"intent": "rows", "table": "decision_log; DROP TABLE"}),
            json!({"intent": "rows", "actions": ["TELEPORT"]}),
            json!({"intent": "rows", "actions": "DRAFT"}),
            json!({"intent": "rows", "table": "decision_log", "actions": ["ADJUST_BUDGET"]}),
            json!({"intent": "rows", "status": "LOST"}),
            json!({"intent": "rows", "classification": "GREAT"}),
            json!({"intent": "rows", "from": "2026-01-01", "to": "2026-11-25"}),
            json!({"intent": "rows", "from": "2026-11-25", "to": "2026-11-20"}),
            json!({"intent": "rows", "from": "last week"}),
            json!({"intent": "rows", "aggregate": "median"}),
            json!({"intent": "kill_switch", "ask": "maybe"}),
            json!({"intent": "cycle_health", "cycle": "lunch"}),
        ] {
            assert_eq!(intent_from_json(&bad, t), None, "{bad}");
        }
    }

    #[test]
    fn config_is_off_by_default_and_names_what_is_missing() {
        assert!(OpenAiChat::from_lookup(|_| None).unwrap().is_none());
        let e = OpenAiChat::from_lookup(|k| (k == "OTTO_LLM").then(|| "openai".to_string()))
            .err()
            .unwrap();
        assert!(e.contains("OTTO_LLM_URL"), "{e}");
        let e = OpenAiChat::from_lookup(|k| (k == "OTTO_LLM").then(|| "gpt".to_string()))
            .err()
            .unwrap();
        assert!(e.contains("off, openai"), "{e}");
    }
}
