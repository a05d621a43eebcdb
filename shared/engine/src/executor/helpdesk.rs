//! Customer-service moves: sending the judged version of a thread's draft.

use super::driver::{vendor_err, wrong_move, Driver, Look, Refusal};
use async_trait::async_trait;
use otto_connectors::helpdesk::{Draft, Helpdesk};
use otto_connectors::VendorError;
use otto_core::audit::AuditRow;
use otto_core::Move;
use otto_runtime::HandlerError;
use otto_store::Ports;
use serde_json::Value;

/// SEND (and a released HOLD_TONE / HOLD_LANGUAGE): the reply goes out through the helpdesk.
pub struct HelpdeskReply<'a>(pub &'a dyn Helpdesk);

/// What the helpdesk shows of a reply: Otto's reply already on the thread, or the draft to send.
pub enum Reply {
    /// The reply for this draft version is on the thread (the helpdesk's record of it).
    Sent(Value),
    /// Not sent; the thread's current draft when it is still the judged version.
    Unsent(Option<Draft>),
}

#[async_trait]
impl Driver for HelpdeskReply<'_> {
    type Seen = Reply;

    /// The reply already sent comes first: an attempt whose answer was lost sent it, and a
    /// reply that went out is APPLIED whatever the kill switch or the draft says now (the state
    /// machine skips its gates for a move already at its target).
    async fn look(
        &self,
        _ports: &Ports,
        _row: &AuditRow,
        mv: &Move,
    ) -> Result<Look<Self::Seen>, HandlerError> {
        let Move::CsReply {
            thread_id,
            draft_version,
        } = mv
        else {
            return Err(vendor_err(wrong_move(mv, "cs reply")));
        };
        if let Some(sent) = self
            .0
            .sent_reply(thread_id, draft_version)
            .await
            .map_err(vendor_err)?
        {
            return Ok(Look {
                seen: Reply::Sent(sent),
                at_target: true,
                reversal: None,
                refusal: None,
            });
        }
        let threads = self.0.open_threads().await.map_err(vendor_err)?;
        let draft = threads
            .into_iter()
            .find(|t| &t.id == thread_id)
            .and_then(|t| t.draft)
            .filter(|d| &d.version == draft_version);
        // Only the judged version may go out: an edited draft is judged again on the next run.
        let refusal = draft.is_none().then(|| {
            Refusal::Fail(
                "the thread is closed or its draft changed since this evaluation; the new version is judged on the next run"
                    .into(),
            )
        });
        Ok(Look {
            seen: Reply::Unsent(draft),
            at_target: false,
            reversal: None,
            refusal,
        })
    }

    async fn make(&self, seen: &Self::Seen, mv: &Move, _key: &str) -> Result<Value, VendorError> {
        let (Move::CsReply { thread_id, .. }, Reply::Unsent(Some(draft))) = (mv, seen) else {
            return Err(wrong_move(mv, "cs reply"));
        };
        // The helpdesk adapter marks what it sends and checks the mark first (Gorgias:
        // external_id), so a second attempt after an expired first one does not send twice.
        self.0.send(thread_id, draft).await
    }

    fn confirmed(&self, seen: &Self::Seen) -> Value {
        match seen {
            Reply::Sent(sent) => serde_json::json!({
                "confirmed": "the helpdesk already had this reply on the thread (an earlier attempt sent it); nothing was sent again",
                "sent": sent,
            }),
            Reply::Unsent(_) => serde_json::json!({"confirmed": "nothing was sent"}),
        }
    }
}
