//! `session-open` and `session-close`: the card session of multi-step card management.

use crate::cards::{self, Need};
use crate::errors::HostError;
use crate::handlers::cards::CHUID;
use crate::handlers::to_value;
use crate::journal::Journal;
use crate::session::Sessions;
use carecard_card::{CardError, Pcsc, Slot};
use carecard_protocol::{card_id, CardSelector, SessionId, SessionOpenArgs, SessionOpened};
use serde_json::{json, Value};

pub fn open(args: SessionOpenArgs, sessions: &mut Sessions) -> Result<Value, HostError> {
    if sessions.is_open() {
        return Err(crate::session::busy());
    }
    // Find the reader with a shared look, then take the card for this host alone.
    let reader = {
        let resolved = cards::resolve(&args.card, None, Need::Piv)?;
        match resolved.target {
            cards::Target::Shared(card) => card.reader().to_owned(),
            cards::Target::Session(card) => card.reader().to_owned(),
        }
    };
    let mut card = Pcsc::establish()?.connect_exclusive(&reader)?;
    // The card may have been swapped between the look and the exclusive hold: check again.
    let chuid = card.operate(|piv| {
        if let CardSelector::Certificate(wanted) = &args.card {
            let mut holds = |slot| {
                piv.read_certificate(slot)
                    .map(|c| c.as_ref() == Some(wanted))
            };
            if !holds(Slot::Authentication)? && !holds(Slot::Signature)? {
                return Err(CardError::CardRemoved);
            }
        }
        piv.read_object(CHUID)
    })?;
    let card_id = chuid.as_deref().map(card_id);
    let pending_renewal = match (&card_id, Journal::beside_log()) {
        (Some(id), Some(journal)) => journal.pending(id),
        _ => Vec::new(),
    };
    let session = sessions.open(card, card_id.clone())?;
    to_value(&SessionOpened {
        session: session.as_str().to_owned(),
        reader,
        card_id,
        pending_renewal,
    })
}

pub fn close(id: &SessionId, sessions: &Sessions) -> Result<Value, HostError> {
    sessions.close(id)?;
    Ok(json!({}))
}
