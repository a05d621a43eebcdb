//! The helpdesk port (support threads and reply drafts) and its file adapter for stores without a
//! helpdesk API (`JsonInbox`), plus the demo inbox. The Gorgias REST adapter is
//! [`crate::gorgias::GorgiasClient`]; `crate::env::helpdesk_from_lookup` picks one from the
//! environment.

use crate::ports::VendorError;
use async_trait::async_trait;
use otto_core::money::{Currency, Money};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    /// Changes whenever the draft's text changes: a re-evaluation of the same version is a no-op.
    pub version: String,
    /// A person's name, or the AI agent's.
    pub author: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    pub id: String,
    pub subject: String,
    #[serde(default)]
    pub category: Option<String>,
    /// The amount a refund request asks for, when it is one.
    #[serde(default)]
    pub refund_amount: Option<Money>,
    #[serde(default)]
    pub draft: Option<Draft>,
}

#[async_trait]
pub trait Helpdesk: Send + Sync {
    async fn open_threads(&self) -> Result<Vec<Thread>, VendorError>;
    /// Past replies an operator approved: the brand-voice centroid is built from them.
    async fn approved_replies(&self) -> Result<Vec<String>, VendorError>;
    async fn send(&self, thread_id: &str, draft: &Draft) -> Result<Value, VendorError>;
    /// The reply Otto posted for this draft version on this thread, found by the mark `send`
    /// puts on it (Gorgias: `external_id`), whichever attempt or run posted it; `None` when none
    /// was. How a retry whose first attempt lost the vendor's answer knows the reply went out.
    async fn sent_reply(
        &self,
        thread_id: &str,
        draft_version: &str,
    ) -> Result<Option<Value>, VendorError>;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxFile {
    pub threads: Vec<Thread>,
    pub approved_replies: Vec<String>,
}

/// Threads and drafts from a JSON file (`{"threads": [...], "approved_replies": [...]}`). Sending
/// is not possible without an API: a SEND is recorded as "ready to send".
pub struct JsonInbox {
    pub path: PathBuf,
}

impl JsonInbox {
    fn read(&self) -> Result<InboxFile, VendorError> {
        let text = std::fs::read_to_string(&self.path).map_err(|e| VendorError::Permanent {
            vendor: "inbox",
            detail: format!("{}: {e}", self.path.display()),
        })?;
        serde_json::from_str(&text).map_err(|e| VendorError::Permanent {
            vendor: "inbox",
            detail: format!("{}:{}: {e}", self.path.display(), e.line()),
        })
    }
}

#[async_trait]
impl Helpdesk for JsonInbox {
    async fn open_threads(&self) -> Result<Vec<Thread>, VendorError> {
        Ok(self.read()?.threads)
    }
    async fn approved_replies(&self) -> Result<Vec<String>, VendorError> {
        Ok(self.read()?.approved_replies)
    }
    async fn send(&self, thread_id: &str, draft: &Draft) -> Result<Value, VendorError> {
        Ok(
            json!({"sent": false, "ready_to_send": true, "thread": thread_id, "version": draft.version,
                  "note": "file inbox: no helpdesk API to send through"}),
        )
    }
    /// A file inbox never sends anything.
    async fn sent_reply(
        &self,
        _thread: &str,
        _version: &str,
    ) -> Result<Option<Value>, VendorError> {
        Ok(None)
    }
}

/// The demo's synthetic inbox: refunds above and below the threshold, an off-brand draft and a
/// Dutch thread while only en + de may be sent.
pub fn demo_inbox() -> InboxFile {
    let eur = |s: &str| Money::parse(s, Currency::EUR).ok();
    let brand = "Thank you so much for reaching out! We are happy to help with your order and will make this right.";
    let draft = |v: &str, author: &str, body: &str| {
        Some(Draft {
            version: v.into(),
            author: author.into(),
            body: body.into(),
        })
    };
    InboxFile {
        approved_replies: vec![
            brand.into(),
            "Thank you so much for your patience! We are happy to help and will send a replacement today.".into(),
            "Thank you for reaching out! We are so happy you love the linen, and happy to help with sizing.".into(),
        ],
        threads: vec![
            Thread { id: "T-3140".into(), subject: "Refund for damaged throw order".into(), category: Some("refund".into()), refund_amount: eur("780.00"), draft: draft("v1", "agent", brand) },
            Thread { id: "T-3141".into(), subject: "Refund for duvet set".into(), category: Some("refund".into()), refund_amount: eur("520.00"), draft: None },
            Thread { id: "T-3142".into(), subject: "Refund, wrong colour".into(), category: Some("refund".into()), refund_amount: eur("500.00"), draft: draft("v2", "agent", brand) },
            Thread { id: "T-3143".into(), subject: "Where is my order?".into(), category: Some("shipping".into()), refund_amount: None,
                     draft: draft("v1", "Jane", "Order status: shipped. Tracking number attached. Do not reply to this message.") },
            Thread { id: "T-3144".into(), subject: "Vraag over levering".into(), category: Some("shipping".into()), refund_amount: None,
                     draft: draft("v1", "agent", "Bedankt voor je bericht! We helpen je graag verder met je bestelling van de plaid.") },
            Thread { id: "T-3145".into(), subject: "Sizing question".into(), category: Some("product".into()), refund_amount: None,
                     draft: draft("v3", "agent", "Thank you so much for reaching out! We are happy to help with sizing and will make this right.") },
        ],
    }
}
