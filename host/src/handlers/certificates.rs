//! `certificates`: every card's 9A and 9C certificates.

use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::{Pcsc, Slot};
use carecard_protocol::{CertificateEntry, CertificateSlot, CertificatesResult};
use serde_json::Value;

pub fn handle() -> Result<Value, HostError> {
    let pcsc = pcsc()?;
    let mut certificates = Vec::new();
    for reader in pcsc.readers()?.into_iter().filter(|r| r.atr.is_some()) {
        match read_card(&pcsc, &reader.name) {
            Ok(found) => certificates.extend(found),
            // One unreadable card must not hide the others' certificates.
            Err(e) => log::info!("{}: certificates not read: {e}", reader.name),
        }
    }
    to_value(&CertificatesResult { certificates })
}

fn read_card(pcsc: &Pcsc, reader: &str) -> Result<Vec<CertificateEntry>, carecard_card::CardError> {
    let mut card = pcsc.connect(reader)?;
    let (auth, sign) = card.transaction(|piv| {
        Ok((
            piv.read_certificate(Slot::Authentication)?,
            piv.read_certificate(Slot::Signature)?,
        ))
    })?;
    let entry = |slot, der: Vec<u8>| CertificateEntry {
        reader: reader.to_owned(),
        slot,
        certificate: STANDARD.encode(der),
    };
    Ok([
        auth.map(|d| entry(CertificateSlot::Authentication, d)),
        sign.map(|d| entry(CertificateSlot::Signature, d)),
    ]
    .into_iter()
    .flatten()
    .collect())
}
