use thiserror::Error;

/// Errors from parsing or validating domain values. All are permanent: retrying the same input
/// gives the same answer.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("invalid {what}: {detail}")]
    Invalid { what: &'static str, detail: String },
    #[error("currency mismatch: {left} vs {right}")]
    CurrencyMismatch { left: String, right: String },
    #[error("amount out of range: {0}")]
    Overflow(String),
}

impl CoreError {
    pub fn invalid(what: &'static str, detail: impl Into<String>) -> Self {
        CoreError::Invalid {
            what,
            detail: detail.into(),
        }
    }
}
