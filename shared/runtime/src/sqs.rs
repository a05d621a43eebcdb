//! The SQS batch runner: each record is handled on its own; the ones that fail are reported as
//! `batchItemFailures` so only they are redelivered (and, after maxReceiveCount, dead-lettered).
//! When every record failed, the invocation itself fails, as AWS recommends.

use crate::error::HandlerError;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use std::future::Future;

/// The result of one batch, for logging and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchReport {
    pub ok: usize,
    pub failed: Vec<(String, HandlerError)>,
}

/// Runs `handle(body)` for each record in turn.
pub async fn run_batch<F, Fut>(event: SqsEvent, mut handle: F) -> (SqsBatchResponse, BatchReport)
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let mut response = SqsBatchResponse::default();
    let mut report = BatchReport::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let result = match record.body {
            Some(body) => handle(body).await,
            None => Err(HandlerError::Permanent("SQS record has no body".into())),
        };
        match result {
            Ok(()) => report.ok += 1,
            Err(e) => {
                if e.is_retryable() {
                    tracing::warn!(message_id = %id, error = %e, "record failed; SQS will redeliver it");
                } else {
                    tracing::error!(message_id = %id, error = %e, "record failed permanently; it goes to the DLQ after maxReceiveCount");
                }
                let mut f = BatchItemFailure::default();
                f.item_identifier = id.clone();
                response.batch_item_failures.push(f);
                report.failed.push((id, e));
            }
        }
    }
    (response, report)
}

/// The Lambda-facing form: an error when every record failed, otherwise the partial failures.
pub fn into_lambda_result(
    (response, report): (SqsBatchResponse, BatchReport),
) -> Result<SqsBatchResponse, lambda_runtime::Error> {
    if report.ok == 0 && !report.failed.is_empty() {
        let first = &report.failed[0];
        return Err(format!(
            "all {} records failed; first {}: {}",
            report.failed.len(),
            first.0,
            first.1
        )
        .into());
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessage;

    fn event(bodies: &[(&str, Option<&str>)]) -> SqsEvent {
        let mut e = SqsEvent::default();
        for (id, body) in bodies {
            let mut m = SqsMessage::default();
            m.message_id = Some(id.to_string());
            m.body = body.map(str::to_string);
            e.records.push(m);
        }
        e
    }

    #[tokio::test]
    async fn one_bad_message_fails_alone() {
        let ev = event(&[
            ("a", Some("1")),
            ("b", Some("x")),
            ("c", None),
            ("d", Some("4")),
        ]);
        let out = run_batch(ev, |b| async move {
            b.parse::<u32>()
                .map(|_| ())
                .map_err(|e| HandlerError::Permanent(e.to_string()))
        })
        .await;
        let ids: Vec<_> = out
            .0
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(ids, vec!["b", "c"]);
        assert_eq!(out.1.ok, 2);
        assert!(into_lambda_result(out).is_ok());
    }

    #[tokio::test]
    async fn all_failed_is_an_invocation_error() {
        let ev = event(&[("a", Some("x"))]);
        let out = run_batch(ev, |_| async {
            Err(HandlerError::Retryable("throttled".into()))
        })
        .await;
        let err = into_lambda_result(out).unwrap_err().to_string();
        assert!(err.contains("all 1 records failed"), "{err}");
    }
}
