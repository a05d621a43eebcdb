//! Idempotency, implemented once over the [`IdempotencyStore`] port, following the algorithm of
//! AWS Lambda Powertools (which has no Rust port):
//!
//! 1. Conditionally write an INPROGRESS record (`attribute_not_exists(key) OR expires_at < now OR
//!    (status = INPROGRESS AND in_progress_expires_at < now_ms)`).
//! 2. On success run the work; on Ok store COMPLETED with the result, on Err delete the record so
//!    a retry runs again.
//! 3. If a live record exists: a different payload hash under the same key is an error; COMPLETED
//!    returns the stored result without running; INPROGRESS is reported as "in progress" (a
//!    retryable condition — the caller retries after the in-progress expiry, which is taken from
//!    the Lambda deadline so a crashed run is retried once its time is certainly up).

use crate::error::StoreError;
use crate::ports::{Begin, IdemRecord, IdemStatus, IdempotencyStore};
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum IdemError<E> {
    /// Another attempt holds the key and has not lapsed. Retryable.
    #[error("idempotency key {0:?} is already in progress")]
    InProgress(String),
    /// The same key was used with a different payload. Permanent (a 422 over HTTP).
    #[error("idempotency key {0:?} was already used with a different payload")]
    PayloadMismatch(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored result could not be read back as the expected type.
    #[error("stored result for {key:?} is unreadable: {detail}")]
    CorruptResult { key: String, detail: String },
    /// The work itself failed; the record was removed so a retry runs it again.
    #[error("{0}")]
    Handler(E),
}

impl<E> IdemError<E> {
    pub fn is_retryable(&self) -> bool {
        match self {
            IdemError::InProgress(_) => true,
            IdemError::Store(e) => e.is_retryable(),
            _ => false,
        }
    }
}

/// How long records live and how long an in-progress attempt is trusted.
#[derive(Debug, Clone, Copy)]
pub struct IdemOptions {
    /// Life of a record (Powertools' default: one hour). Stage keys use longer.
    pub ttl: Duration,
    /// After this long an INPROGRESS record may be taken over (set from the Lambda deadline).
    pub in_progress_expiry: Duration,
}

impl Default for IdemOptions {
    fn default() -> Self {
        IdemOptions {
            ttl: Duration::from_secs(3600),
            in_progress_expiry: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct IdemOutcome<T> {
    pub value: T,
    /// True when the value is the stored result of an earlier run (nothing ran now).
    pub replayed: bool,
}

/// SHA-256 of the payload's canonical JSON (object keys sorted).
pub fn payload_hash(payload: &Value) -> String {
    hex::encode(Sha256::digest(payload.to_string().as_bytes()))
}

/// Runs `work` at most once per `key` (while the record lives), returning the stored result to
/// duplicates.
pub async fn idempotent<T, E, F, Fut>(
    store: &dyn IdempotencyStore,
    key: &str,
    payload: &Value,
    opts: IdemOptions,
    now: DateTime<Utc>,
    work: F,
) -> Result<IdemOutcome<T>, IdemError<E>>
where
    T: Serialize + DeserializeOwned,
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let hash = payload_hash(payload);
    let now_s = now.timestamp();
    let now_ms = now.timestamp_millis();
    let expires_at = now_s + opts.ttl.as_secs() as i64;
    let attempt = ulid::Ulid::new().to_string();
    let rec = IdemRecord {
        key: key.to_string(),
        status: IdemStatus::InProgress,
        payload_hash: hash.clone(),
        result: None,
        expires_at,
        in_progress_expires_at_ms: now_ms + opts.in_progress_expiry.as_millis() as i64,
        attempt: attempt.clone(),
    };
    match store.try_begin(&rec, now_s, now_ms).await? {
        Begin::Existing(existing) => {
            if existing.payload_hash != hash {
                return Err(IdemError::PayloadMismatch(key.to_string()));
            }
            match (existing.status, existing.result) {
                (IdemStatus::Completed, Some(result)) => {
                    let value =
                        serde_json::from_str(&result).map_err(|e| IdemError::CorruptResult {
                            key: key.to_string(),
                            detail: e.to_string(),
                        })?;
                    Ok(IdemOutcome {
                        value,
                        replayed: true,
                    })
                }
                _ => Err(IdemError::InProgress(key.to_string())),
            }
        }
        Begin::Started => match work().await {
            Ok(value) => {
                let json = serde_json::to_string(&value).map_err(|e| {
                    IdemError::Store(StoreError::Invalid(format!("result of {key:?}: {e}")))
                })?;
                match store.complete(key, &attempt, &json, expires_at).await {
                    Ok(()) => {}
                    // Our in-progress lease lapsed and another attempt took the key over. The
                    // work is done and its writes are themselves idempotent; say so loudly.
                    Err(StoreError::Conflict(detail)) => {
                        tracing::warn!(
                            key,
                            detail,
                            "idempotency record was taken over before completion"
                        );
                    }
                    Err(e) => return Err(IdemError::Store(e)),
                }
                Ok(IdemOutcome {
                    value,
                    replayed: false,
                })
            }
            Err(e) => {
                if let Err(del) = store.abandon(key, &attempt).await {
                    tracing::error!(key, error = %del, "could not remove failed idempotency record; it lapses at its in-progress expiry");
                }
                Err(IdemError::Handler(e))
            }
        },
    }
}
