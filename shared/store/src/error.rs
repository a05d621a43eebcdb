use thiserror::Error;

/// Errors from any adapter, split into retryable and permanent.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A write was fenced by a store_lock token that is no longer the lock's.
    #[error("fenced: {0}")]
    Fenced(String),
    /// A conditional write lost (status moved, record owned by another attempt, …).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// Data that cannot be stored or read back (a bad field, a corrupt item).
    #[error("invalid data: {0}")]
    Invalid(String),
    /// A passing backend failure (throttling, timeouts, 5xx, a busy database): try again.
    #[error("transient backend error: {0}")]
    Transient(String),
    /// A backend failure that retrying will not fix (missing table, access denied, …).
    #[error("backend error: {0}")]
    Backend(String),
}

impl StoreError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Transient(_))
    }
}

impl From<otto_core::CoreError> for StoreError {
    fn from(e: otto_core::CoreError) -> Self {
        StoreError::Invalid(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Invalid(e.to_string())
    }
}
