//! The one mapping from card-layer errors to wire errors, with messages a clinician or a
//! service desk can act on.

use carecard_card::CardError;
use carecard_protocol::{ErrorCode, WireError};

/// Handler-level errors: a card error, or a wire error decided by the handler itself.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    #[error(transparent)]
    Card(#[from] CardError),
    #[error("{}", .0.message)]
    Wire(WireError),
}

/// A value from the card or the peer that failed the protocol's checks (a certificate to write,
/// a generated key).
impl From<carecard_protocol::ValidationError> for HostError {
    fn from(e: carecard_protocol::ValidationError) -> Self {
        HostError::Wire(e.to_wire())
    }
}

impl From<WireError> for HostError {
    fn from(e: WireError) -> Self {
        HostError::Wire(e)
    }
}

impl HostError {
    pub fn wire(code: ErrorCode, message: impl Into<String>) -> Self {
        HostError::Wire(WireError::new(code, message))
    }

    pub fn into_wire(self) -> WireError {
        match self {
            HostError::Card(e) => card_error(&e),
            HostError::Wire(w) => w,
        }
    }
}

fn attempts(n: u8) -> String {
    match n {
        1 => "1 attempt".to_owned(),
        n => format!("{n} attempts"),
    }
}

/// Maps a card-layer error to the wire.
pub fn card_error(e: &CardError) -> WireError {
    use ErrorCode as C;
    match e {
        // 63C0: the try that just failed was the last one, so the PIN/PUK is now blocked.
        CardError::PinIncorrect { retries_left: 0 } => card_error(&CardError::PinBlocked),
        CardError::PukIncorrect { retries_left: 0 } => card_error(&CardError::PukBlocked),
        CardError::PcscUnavailable => WireError::new(
            C::PcscUnavailable,
            "The smart card service is not running. Start it (or restart the computer) and try again.",
        ),
        CardError::NoReader => WireError::new(
            C::NoReader, "No smart card reader is connected. Connect your reader and try again."),
        CardError::NoCard => WireError::new(
            C::NoCard, "There is no smart card in the reader. Insert your card and try again."),
        CardError::CardRemoved | CardError::CardReset => WireError::new(
            C::CardRemoved,
            "The smart card was removed (or reset) during the operation. Insert it and try again.",
        ),
        CardError::CardBusy => WireError::new(
            C::CardBusy, "The smart card is being used by another program. Try again in a moment."),
        CardError::UnsupportedCard => WireError::new(
            C::UnsupportedCard, "This card is not a supported smartcard (no PIV application)."),
        CardError::ObjectNotFound => WireError::new(
            C::CertificateNotFound, "The card does not hold the required certificate or key."),
        CardError::PinFormat => WireError::new(
            C::PinFormat, "The PIN must be 4 to 8 characters."),
        CardError::PinIncorrect { retries_left } => WireError::new(
            C::PinIncorrect,
            format!(
                "The PIN is incorrect. {} left before the card is locked.",
                attempts(*retries_left)
            ),
        )
        .with_retries_left(*retries_left),
        CardError::PinBlocked => WireError::new(
            C::PinBlocked,
            "The PIN is locked after too many wrong attempts. Unlock the card (or ask your registration authority) to set a new PIN.",
        ),
        CardError::PukIncorrect { retries_left } => WireError::new(
            C::PukIncorrect,
            format!(
                "The unlock code (PUK) is incorrect. {} left before it is locked.",
                attempts(*retries_left)
            ),
        )
        .with_retries_left(*retries_left),
        CardError::PukBlocked => WireError::new(
            C::PukBlocked,
            "The unlock code (PUK) is locked. Contact your registration authority to repair the card.",
        ),
        CardError::NoPinPad => WireError::new(
            C::InvalidRequest,
            "The card's reader has no PIN pad. Type the PIN in the carecard window instead.",
        ),
        CardError::PinEntryTimeout => WireError::new(
            C::Timeout,
            "The PIN was not typed on the reader in time. Try again.",
        ),
        CardError::PinEntryCancelled => WireError::new(
            C::UserCancelled,
            "PIN entry was cancelled on the reader.",
        ),
        CardError::SecurityStatusNotSatisfied => WireError::new(
            C::CardError,
            "The card refused the operation because the PIN was not accepted for it.",
        )
        .with_status_word(0x6982),
        CardError::Status(sw) => WireError::new(
            C::CardError,
            format!("The card reported an error (status {sw}). Try again; if it persists, contact the service desk."),
        )
        .with_status_word(sw.0),
        CardError::Malformed(_) => WireError::new(
            C::CardError, "The card gave an answer that could not be understood. Try again or use another card."),
        CardError::InvalidInput(_) => WireError::new(
            C::InvalidRequest, "The request cannot be carried out by this card."),
        CardError::Pcsc(_) => WireError::new(
            C::PcscUnavailable, "The smart card service reported an error. Try again; restart the computer if it persists."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carecard_card::apdu::StatusWord;

    #[test]
    fn pin_incorrect_carries_retries_and_plain_message() {
        let w = card_error(&CardError::PinIncorrect { retries_left: 2 });
        assert_eq!(w.code, ErrorCode::PinIncorrect);
        assert_eq!(w.retries_left, Some(2));
        assert_eq!(
            w.message,
            "The PIN is incorrect. 2 attempts left before the card is locked."
        );
        let w = card_error(&CardError::PinIncorrect { retries_left: 1 });
        assert!(w.message.contains(" 1 attempt left"), "{}", w.message);
    }

    #[test]
    fn last_wrong_try_is_blocked() {
        let w = card_error(&CardError::PinIncorrect { retries_left: 0 });
        assert_eq!((w.code, w.retries_left), (ErrorCode::PinBlocked, None));
        let w = card_error(&CardError::PukIncorrect { retries_left: 0 });
        assert_eq!(w.code, ErrorCode::PukBlocked);
    }

    #[test]
    fn status_word_is_four_hex_digits() {
        let w = card_error(&CardError::Status(StatusWord(0x6F00)));
        assert_eq!(w.code, ErrorCode::CardError);
        assert_eq!(w.status_word.as_deref(), Some("6F00"));
    }
}
