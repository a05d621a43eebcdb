use otto_store::StoreError;
use thiserror::Error;

/// What a handler reports: retryable (the platform should try again — SQS redelivers, the
/// scheduler retries) or permanent (bad input, a policy refusal: retrying will not help).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum HandlerError {
    #[error("retryable: {0}")]
    Retryable(String),
    #[error("{0}")]
    Permanent(String),
    /// The request contradicts what is already recorded (a cycle resumed in another mode): not
    /// retryable, and the message names both sides.
    #[error("conflict: {0}")]
    Conflict(String),
}

impl HandlerError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, HandlerError::Retryable(_))
    }
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        if e.is_retryable() {
            HandlerError::Retryable(e.to_string())
        } else {
            HandlerError::Permanent(e.to_string())
        }
    }
}

impl From<otto_core::CoreError> for HandlerError {
    fn from(e: otto_core::CoreError) -> Self {
        HandlerError::Permanent(e.to_string())
    }
}
