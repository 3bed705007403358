//! Errors of the card layer, one type for all of it: a [`crate::transport::Transport`] reports
//! what went wrong moving an APDU with the same [`CardError`] the card edge returns, and the host
//! maps it to a wire error code in one place.

use crate::status::StatusWord;
use thiserror::Error;

/// Everything the card layer reports to the host.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CardError {
    #[error("the smart card service is not available")]
    PcscUnavailable,
    #[error("no card reader is connected")]
    NoReader,
    #[error("there is no card in the reader")]
    NoCard,
    #[error("the card was removed")]
    CardRemoved,
    /// Another application reset the card; [`crate::PcscCard::transaction`] reconnects and
    /// retries once before reporting this.
    #[error("the card was reset by another application")]
    CardReset,
    #[error("the card is in use by another application")]
    CardBusy,
    /// SELECT of the PIV application failed: not a PIV card.
    #[error("the card is not a PIV card")]
    UnsupportedCard,
    /// The card has no such data object or key (6A82).
    #[error("the card does not hold the requested object")]
    ObjectNotFound,
    /// The PIN/PUK cannot be sent: empty, longer than 8 bytes, or containing the pad byte 0xFF.
    #[error("the PIN has the wrong format")]
    PinFormat,
    #[error("the PIN is incorrect ({retries_left} tries left)")]
    PinIncorrect { retries_left: u8 },
    #[error("the PIN is blocked")]
    PinBlocked,
    #[error("the PUK is incorrect ({retries_left} tries left)")]
    PukIncorrect { retries_left: u8 },
    #[error("the PUK is blocked")]
    PukBlocked,
    /// PIN entry on the reader's PIN pad was asked for, but the reader has none (no
    /// FEATURE_VERIFY_PIN_DIRECT / FEATURE_MODIFY_PIN_DIRECT).
    #[error("the reader has no PIN pad")]
    NoPinPad,
    /// The PIN pad's user did not finish typing in time (reader status 6400).
    #[error("PIN entry on the reader timed out")]
    PinEntryTimeout,
    /// The PIN pad's user pressed Cancel (reader status 6401).
    #[error("PIN entry on the reader was cancelled")]
    PinEntryCancelled,
    /// 6982: the operation needs a verified PIN (or management key) first.
    #[error("the card refused: security status not satisfied")]
    SecurityStatusNotSatisfied,
    /// Any other status word the operation does not expect.
    #[error("the card answered with status {0}")]
    Status(StatusWord),
    /// The card's answer breaks the encoding or a size limit.
    #[error("the card's answer is malformed: {0}")]
    Malformed(String),
    /// The caller passed something the card layer cannot send (wrong digest length, …).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Any other PC/SC failure, with the service's own words.
    #[error("smart card service error: {0}")]
    Pcsc(String),
}

impl CardError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        CardError::Malformed(what.into())
    }

    pub(crate) fn invalid_input(what: impl Into<String>) -> Self {
        CardError::InvalidInput(what.into())
    }
}
