//! `cards`: every card with its certificates, PIN and PUK state, id and unfinished renewal, in
//! one transaction per card — everything the extension shows before a PIN is typed.

use crate::errors::HostError;
use crate::handlers::pin_status::unverified_pin_status;
use crate::handlers::to_value;
use crate::journal::Journal;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::{CardError, Pcsc, PinPad, PinStatus, Piv, ReaderInfo, Slot};
use carecard_protocol::{
    card_id, hex_upper, CardCertificate, CardEntry, CardsResult, CertificateSlot,
};
use serde_json::Value;

/// The CHUID data object (SP 800-73-4): names the card in the renewal journal.
pub const CHUID: u32 = 0x5FC102;

pub fn handle() -> Result<Value, HostError> {
    let pcsc = Pcsc::establish()?;
    let journal = Journal::beside_log();
    let mut cards = Vec::new();
    for reader in pcsc.readers()?.iter().filter(|r| r.atr.is_some()) {
        cards.push(read_card(&pcsc, reader, journal.as_ref()));
    }
    to_value(&CardsResult { cards })
}

fn read_card(pcsc: &Pcsc, reader: &ReaderInfo, journal: Option<&Journal>) -> CardEntry {
    let mut entry = CardEntry::unread(
        reader.name.clone(),
        hex_upper(reader.atr.as_deref().unwrap_or_default()),
    );
    let read = pcsc
        .connect(&reader.name)
        .and_then(|mut card| card.transaction(CardFacts::read));
    match read {
        Ok(facts) => {
            entry.application = Some("PIV".to_owned());
            entry.certificates = facts.certificates;
            match facts.pin {
                PinStatus::RetriesLeft(n) => entry.pin_retries_left = Some(n),
                PinStatus::Blocked => {
                    entry.pin_retries_left = Some(0);
                    entry.pin_blocked = true;
                }
                PinStatus::Verified => {}
            }
            entry.puk_retries_left = facts.puk;
            entry.pin_pad = facts.pin_pad.can_verify();
            entry.pin_pad_change = facts.pin_pad.modify.is_some();
            entry.card_id = facts.chuid.as_deref().map(card_id);
            if let (Some(id), Some(journal)) = (&entry.card_id, journal) {
                entry.pending_renewal = journal.pending(id);
            }
        }
        // Held exclusively (a card session of this host or another program's hold): say so, so
        // the caller can tell "busy" from "not a PIV card".
        Err(CardError::CardBusy) => {
            log::info!("{}: held by a card session; not read", reader.name);
            entry.held = true;
        }
        // One unreadable card must not hide the others; it is listed without PIV facts.
        Err(e) => log::info!("{}: not read as a PIV card: {e}", reader.name),
    }
    entry
}

struct CardFacts {
    certificates: Vec<CardCertificate>,
    pin: PinStatus,
    puk: Option<u8>,
    chuid: Option<Vec<u8>>,
    /// What the reader's own keypad can do (PC/SC part 10): verify, change.
    pin_pad: PinPad,
}

impl CardFacts {
    fn read(piv: &mut Piv<'_>) -> Result<CardFacts, CardError> {
        let mut certificates = Vec::new();
        for (slot, wire) in [
            (Slot::Authentication, CertificateSlot::Authentication),
            (Slot::Signature, CertificateSlot::Signature),
        ] {
            if let Some(der) = piv.read_certificate(slot)? {
                certificates.push(CardCertificate {
                    slot: wire,
                    certificate: STANDARD.encode(der),
                });
            }
        }
        Ok(CardFacts {
            certificates,
            pin: unverified_pin_status(piv)?,
            puk: piv.puk_retries()?,
            chuid: piv.read_object(CHUID)?,
            pin_pad: piv.pin_pad(),
        })
    }
}
