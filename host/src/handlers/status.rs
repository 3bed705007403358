//! `status`: is PC/SC there, which readers, and for each card its ATR and whether PIV selects.

use crate::errors::HostError;
use crate::handlers::to_value;
use carecard_card::{CardError, Pcsc, ReaderInfo};
use carecard_protocol::{hex_upper, CardStatus, PcscState, ReaderStatus, StatusResult};
use serde_json::Value;

pub fn handle() -> Result<Value, HostError> {
    let result = match Pcsc::establish().and_then(|p| p.readers().map(|r| (p, r))) {
        Ok((pcsc, readers)) => StatusResult::new(
            env!("CARGO_PKG_VERSION"),
            PcscState::Available,
            readers.iter().map(|r| reader_status(&pcsc, r)).collect(),
        ),
        // "Unavailable" is an answer, not an error: the extension shows it to the user.
        Err(CardError::PcscUnavailable) => StatusResult::new(
            env!("CARGO_PKG_VERSION"),
            PcscState::Unavailable,
            Vec::new(),
        ),
        Err(e) => return Err(e.into()),
    };
    to_value(&result)
}

fn reader_status(pcsc: &Pcsc, reader: &ReaderInfo) -> ReaderStatus {
    let card = reader.atr.as_ref().map(|atr| CardStatus {
        atr: hex_upper(atr),
        application: has_piv(pcsc, &reader.name).then(|| "PIV".to_owned()),
    });
    ReaderStatus {
        name: reader.name.clone(),
        card,
    }
}

/// Whether the PIV application selects (the transaction selects it first thing).
fn has_piv(pcsc: &Pcsc, reader: &str) -> bool {
    match pcsc
        .connect(reader)
        .and_then(|mut card| card.transaction(|_| Ok(())))
    {
        Ok(()) => true,
        Err(e) => {
            log::debug!("{reader}: no PIV application: {e}");
            false
        }
    }
}
