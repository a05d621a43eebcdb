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

#[async_trait]
impl Driver for HelpdeskReply<'_> {
    type Seen = Option<Draft>;

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
            seen: draft,
            at_target: false,
            reversal: None,
            refusal,
        })
    }

    async fn make(&self, seen: &Self::Seen, mv: &Move, _key: &str) -> Result<Value, VendorError> {
        let (Move::CsReply { thread_id, .. }, Some(draft)) = (mv, seen) else {
            return Err(wrong_move(mv, "cs reply"));
        };
        // The helpdesk adapter marks what it sends and checks the mark first (Gorgias:
        // external_id), so a second attempt after an expired first one does not send twice.
        self.0.send(thread_id, draft).await
    }
}
