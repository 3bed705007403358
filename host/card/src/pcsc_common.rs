//! What the PC/SC backend and the reader watcher share: the reader snapshot type and the
//! mapping of `pcsc` errors to [`CardError`]. Both modules use this one; it uses neither.

use crate::error::CardError;
use pcsc::{ReaderState, State};

/// A reader and, when a card is in it, the card's ATR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderInfo {
    pub name: String,
    pub atr: Option<Vec<u8>>,
}

pub(crate) fn reader_info(state: &ReaderState) -> ReaderInfo {
    let event = state.event_state();
    let present = event.contains(State::PRESENT) && !event.contains(State::MUTE);
    let atr = state.atr();
    ReaderInfo {
        name: state.name().to_string_lossy().into_owned(),
        atr: (present && !atr.is_empty()).then(|| atr.to_vec()),
    }
}

/// pcsc errors as the card layer reports them.
pub fn map_error(e: pcsc::Error) -> CardError {
    use pcsc::Error as E;
    match e {
        E::NoService | E::ServiceStopped | E::Shutdown => CardError::PcscUnavailable,
        E::NoReadersAvailable | E::UnknownReader | E::ReaderUnavailable => CardError::NoReader,
        E::NoSmartcard => CardError::NoCard,
        E::RemovedCard | E::UnpoweredCard => CardError::CardRemoved,
        E::ResetCard => CardError::CardReset,
        E::SharingViolation => CardError::CardBusy,
        other => CardError::Pcsc(other.to_string()),
    }
}
