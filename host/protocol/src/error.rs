//! Error codes of the wire contract (DESIGN.md) and the error object carried in a failure reply.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every `code` a failure reply (or the extension / page library) can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ErrorCode {
    #[serde(rename = "ERR_INVALID_REQUEST")]
    InvalidRequest,
    #[serde(rename = "ERR_MESSAGE_TOO_LARGE")]
    MessageTooLarge,
    #[serde(rename = "ERR_UNKNOWN_COMMAND")]
    UnknownCommand,
    #[serde(rename = "ERR_ORIGIN_NOT_ALLOWED")]
    OriginNotAllowed,
    #[serde(rename = "ERR_PCSC_UNAVAILABLE")]
    PcscUnavailable,
    #[serde(rename = "ERR_NO_READER")]
    NoReader,
    #[serde(rename = "ERR_NO_CARD")]
    NoCard,
    #[serde(rename = "ERR_CARD_REMOVED")]
    CardRemoved,
    #[serde(rename = "ERR_CARD_BUSY")]
    CardBusy,
    #[serde(rename = "ERR_UNSUPPORTED_CARD")]
    UnsupportedCard,
    #[serde(rename = "ERR_CERTIFICATE_NOT_FOUND")]
    CertificateNotFound,
    #[serde(rename = "ERR_PIN_FORMAT")]
    PinFormat,
    #[serde(rename = "ERR_PIN_INCORRECT")]
    PinIncorrect,
    #[serde(rename = "ERR_PIN_BLOCKED")]
    PinBlocked,
    #[serde(rename = "ERR_PUK_INCORRECT")]
    PukIncorrect,
    #[serde(rename = "ERR_PUK_BLOCKED")]
    PukBlocked,
    #[serde(rename = "ERR_USER_CANCELLED")]
    UserCancelled,
    #[serde(rename = "ERR_TIMEOUT")]
    Timeout,
    #[serde(rename = "ERR_CARD_ERROR")]
    CardError,
    #[serde(rename = "ERR_INTERNAL")]
    Internal,
    /// Raised by the page library only: the browser extension is not installed or not reachable.
    #[serde(rename = "ERR_EXTENSION_UNAVAILABLE")]
    ExtensionUnavailable,
    /// Raised by the extension only: the native host is not installed or exited.
    #[serde(rename = "ERR_NATIVE_UNAVAILABLE")]
    NativeUnavailable,
}

impl ErrorCode {
    /// Every code, in DESIGN.md order followed by the two browser-side codes.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::InvalidRequest,
        ErrorCode::MessageTooLarge,
        ErrorCode::UnknownCommand,
        ErrorCode::OriginNotAllowed,
        ErrorCode::PcscUnavailable,
        ErrorCode::NoReader,
        ErrorCode::NoCard,
        ErrorCode::CardRemoved,
        ErrorCode::CardBusy,
        ErrorCode::UnsupportedCard,
        ErrorCode::CertificateNotFound,
        ErrorCode::PinFormat,
        ErrorCode::PinIncorrect,
        ErrorCode::PinBlocked,
        ErrorCode::PukIncorrect,
        ErrorCode::PukBlocked,
        ErrorCode::UserCancelled,
        ErrorCode::Timeout,
        ErrorCode::CardError,
        ErrorCode::Internal,
        ErrorCode::ExtensionUnavailable,
        ErrorCode::NativeUnavailable,
    ];

    /// The wire string, e.g. `"ERR_PIN_INCORRECT"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "ERR_INVALID_REQUEST",
            ErrorCode::MessageTooLarge => "ERR_MESSAGE_TOO_LARGE",
            ErrorCode::UnknownCommand => "ERR_UNKNOWN_COMMAND",
            ErrorCode::OriginNotAllowed => "ERR_ORIGIN_NOT_ALLOWED",
            ErrorCode::PcscUnavailable => "ERR_PCSC_UNAVAILABLE",
            ErrorCode::NoReader => "ERR_NO_READER",
            ErrorCode::NoCard => "ERR_NO_CARD",
            ErrorCode::CardRemoved => "ERR_CARD_REMOVED",
            ErrorCode::CardBusy => "ERR_CARD_BUSY",
            ErrorCode::UnsupportedCard => "ERR_UNSUPPORTED_CARD",
            ErrorCode::CertificateNotFound => "ERR_CERTIFICATE_NOT_FOUND",
            ErrorCode::PinFormat => "ERR_PIN_FORMAT",
            ErrorCode::PinIncorrect => "ERR_PIN_INCORRECT",
            ErrorCode::PinBlocked => "ERR_PIN_BLOCKED",
            ErrorCode::PukIncorrect => "ERR_PUK_INCORRECT",
            ErrorCode::PukBlocked => "ERR_PUK_BLOCKED",
            ErrorCode::UserCancelled => "ERR_USER_CANCELLED",
            ErrorCode::Timeout => "ERR_TIMEOUT",
            ErrorCode::CardError => "ERR_CARD_ERROR",
            ErrorCode::Internal => "ERR_INTERNAL",
            ErrorCode::ExtensionUnavailable => "ERR_EXTENSION_UNAVAILABLE",
            ErrorCode::NativeUnavailable => "ERR_NATIVE_UNAVAILABLE",
        }
    }

    /// Parses a wire string back into a code.
    pub fn from_wire(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A plain-English message a clinician can act on, or read out to the service desk.
    pub fn default_message(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "The smartcard software received a request it could not understand. Reload the page and try again; if it keeps happening, tell the service desk.",
            ErrorCode::MessageTooLarge => "The request to the smartcard software was too large. Reload the page and try again; if it keeps happening, tell the service desk.",
            ErrorCode::UnknownCommand => "The smartcard software does not support this action. It may need updating: tell the service desk.",
            ErrorCode::OriginNotAllowed => "This website is not allowed to use your smartcard. Check the address in the browser; if it is an NHS service you need, tell the service desk.",
            ErrorCode::PcscUnavailable => "The computer's smartcard service is not running. Restart the computer; if that does not help, tell the service desk.",
            ErrorCode::NoReader => "No smartcard reader was found. Check the reader is plugged in, then try again.",
            ErrorCode::NoCard => "No smartcard was found. Insert your smartcard into the reader, then try again.",
            ErrorCode::CardRemoved => "The smartcard was removed while it was in use. Insert it again and retry.",
            ErrorCode::CardBusy => "The smartcard is being used by another program. Wait a moment, then try again.",
            ErrorCode::UnsupportedCard => "This card is not a supported NHS smartcard. Check you inserted the right card; if you did, tell the service desk.",
            ErrorCode::CertificateNotFound => "The certificate needed for this action was not found on your smartcard. Check you inserted the right card; if you did, the card may need renewing: tell your registration authority.",
            ErrorCode::PinFormat => "The passcode is not in the expected format. A passcode is 4 to 8 characters; a new passcode must be 6 to 8 digits.",
            ErrorCode::PinIncorrect => "The passcode was wrong. Check it and try again; the card locks after too many wrong attempts.",
            ErrorCode::PinBlocked => "Your smartcard is locked after too many wrong passcodes. Unlock it through the card self-service page or ask your registration authority.",
            ErrorCode::PukIncorrect => "The unlock code was wrong. Try the unlock again from the self-service page or ask your registration authority.",
            ErrorCode::PukBlocked => "Your smartcard can no longer be unlocked. Contact your registration authority for a replacement card.",
            ErrorCode::UserCancelled => "The action was cancelled.",
            ErrorCode::Timeout => "The smartcard did not answer in time. Take the card out, put it back in, and try again.",
            ErrorCode::CardError => "The smartcard reported an error. Take the card out, put it back in, and try again; if it keeps happening, tell the service desk.",
            ErrorCode::Internal => "Something went wrong in the smartcard software. Try again; if it keeps happening, tell the service desk.",
            ErrorCode::ExtensionUnavailable => "The NHS smartcard browser extension is not installed or not enabled. Ask the service desk to install it.",
            ErrorCode::NativeUnavailable => "The NHS smartcard software is not installed on this computer or did not start. Ask the service desk to install or repair it.",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `error` object of a failure reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{code}: {message}")]
pub struct WireError {
    pub code: ErrorCode,
    pub message: String,
    /// PIN / PUK attempts left (`ERR_PIN_INCORRECT`, `ERR_PUK_INCORRECT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries_left: Option<u8>,
    /// The card's status word as 4 upper-case hex digits (`ERR_CARD_ERROR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_word: Option<String>,
}

impl WireError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        WireError {
            code,
            message: message.into(),
            retries_left: None,
            status_word: None,
        }
    }

    /// An error with the code's plain-English default message.
    pub fn from_code(code: ErrorCode) -> Self {
        WireError::new(code, code.default_message())
    }

    pub fn with_retries_left(mut self, retries_left: u8) -> Self {
        self.retries_left = Some(retries_left);
        self
    }

    /// Records the card's status word, formatted as DESIGN.md wants (4 hex digits).
    pub fn with_status_word(mut self, sw: u16) -> Self {
        self.status_word = Some(format!("{sw:04X}"));
        self
    }
}

impl From<ErrorCode> for WireError {
    fn from(code: ErrorCode) -> Self {
        WireError::from_code(code)
    }
}
