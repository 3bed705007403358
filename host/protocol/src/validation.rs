//! Why a value from the peer was refused, and which wire code that becomes.
//!
//! Messages never quote a PIN or PUK: only the rule it broke.

use crate::error::{ErrorCode, WireError};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    /// A malformed origin (an origin outside the allow-list is the extension's business).
    #[error("the origin {0}")]
    Origin(&'static str),
    #[error("the challenge nonce {0}")]
    Nonce(&'static str),
    /// A PIN, new PIN or PUK of the wrong shape.
    #[error("{0}")]
    PinFormat(&'static str),
    /// An argument that is missing, of the wrong JSON type, or badly encoded.
    #[error("argument `{field}` {problem}")]
    Argument {
        field: &'static str,
        problem: &'static str,
    },
    #[error("the certificate could not be read: {0}")]
    Certificate(String),
}

impl ValidationError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::PinFormat(_) => ErrorCode::PinFormat,
            ValidationError::Origin(_)
            | ValidationError::Nonce(_)
            | ValidationError::Argument { .. }
            | ValidationError::Certificate(_) => ErrorCode::InvalidRequest,
        }
    }

    /// The failure to send: the code's plain-English text, then the technical reason.
    pub fn to_wire(&self) -> WireError {
        let code = self.code();
        WireError::new(code, format!("{} ({self})", code.default_message()))
    }

    pub(crate) fn argument(field: &'static str, problem: &'static str) -> Self {
        ValidationError::Argument { field, problem }
    }
}

impl From<ValidationError> for WireError {
    fn from(e: ValidationError) -> Self {
        e.to_wire()
    }
}
