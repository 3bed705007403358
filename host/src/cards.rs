//! Finding the card a command is meant for, and the key facts the handlers need about it.

use crate::errors::HostError;
use carecard_card::{sign_digest, Algorithm, CardError, HashAlgorithm, Pcsc, PcscCard, Slot};
use carecard_protocol::{
    CertificateSummary, ErrorCode, HashFunction, KeyAlgorithm, TokenAlgorithm,
};

/// A connected card and the certificate it holds in the slot asked for.
#[derive(Debug)]
pub struct ChosenCard {
    pub card: PcscCard,
    pub certificate: Vec<u8>,
}

/// Picks the card for an operation with the key in `slot`: the card whose certificate equals
/// `wanted`, or without `wanted` the first card that holds a certificate there (logged when
/// there were several).
pub fn choose(pcsc: &Pcsc, slot: Slot, wanted: Option<&[u8]>) -> Result<ChosenCard, HostError> {
    let readers = pcsc.readers()?;
    if readers.is_empty() {
        return Err(CardError::NoReader.into());
    }
    let mut candidates = Vec::new();
    let mut last_error = None;
    for reader in readers.iter().filter(|r| r.atr.is_some()) {
        let mut card = match pcsc.connect(&reader.name) {
            Ok(card) => card,
            Err(e) => {
                log::debug!("cannot connect to {}: {e}", reader.name);
                last_error = Some(e);
                continue;
            }
        };
        match card.transaction(|piv| piv.read_certificate(slot)) {
            Ok(Some(certificate)) => {
                if wanted.map_or(true, |w| w == certificate.as_slice()) {
                    candidates.push(ChosenCard { card, certificate });
                }
            }
            Ok(None) => log::debug!("{}: no {slot} certificate", reader.name),
            Err(e) => {
                log::debug!("{}: {e}", reader.name);
                last_error = Some(e);
            }
        }
    }
    if candidates.len() > 1 {
        log::info!(
            "{} cards hold a {slot} certificate; using the first",
            candidates.len()
        );
    }
    if let Some(chosen) = candidates.into_iter().next() {
        return Ok(chosen);
    }
    if !readers.iter().any(|r| r.atr.is_some()) {
        return Err(CardError::NoCard.into());
    }
    // One card only and it failed for a reason (removed, busy, not PIV): say that reason.
    if let (Some(e), 1) = (
        last_error,
        readers.iter().filter(|r| r.atr.is_some()).count(),
    ) {
        return Err(e.into());
    }
    Err(HostError::wire(
        ErrorCode::CertificateNotFound,
        "No card in the readers holds the certificate asked for. Insert the right card.",
    ))
}

/// The card for a PIN operation (pin-status, change-pin, unlock). The PIN is card-wide, so a
/// `wanted` certificate names its card from either key slot (9A or 9C). Without one: the card
/// `choose` would use for authentication, else the first PIV card at all — a card without
/// certificates (being issued or repaired) still has a PIN to look after.
pub fn choose_for_pin(pcsc: &Pcsc, wanted: Option<&[u8]>) -> Result<PcscCard, HostError> {
    match choose(pcsc, Slot::Authentication, wanted) {
        Ok(chosen) => Ok(chosen.card),
        Err(HostError::Wire(w)) if w.code == ErrorCode::CertificateNotFound => match wanted {
            Some(_) => choose(pcsc, Slot::Signature, wanted).map(|chosen| chosen.card),
            None => first_piv_card(pcsc),
        },
        Err(e) => Err(e),
    }
}

fn first_piv_card(pcsc: &Pcsc) -> Result<PcscCard, HostError> {
    for reader in pcsc.readers()?.iter().filter(|r| r.atr.is_some()) {
        let Ok(mut card) = pcsc.connect(&reader.name) else {
            continue;
        };
        if card.transaction(|_| Ok(())).is_ok() {
            log::info!(
                "{}: PIV card without an authentication certificate",
                reader.name
            );
            return Ok(card);
        }
    }
    Err(CardError::UnsupportedCard.into())
}

/// VERIFY then sign `digest` with the key in `slot` of the chosen card, in one transaction.
///
/// The certificate is not read again here: the card was chosen on this same PC/SC handle, and
/// a card swapped since then invalidates the handle (PC/SC reports it removed, not reset), so
/// the operation fails with ERR_CARD_REMOVED instead of signing with another card's key.
pub fn verify_and_sign(
    chosen: &mut ChosenCard,
    slot: Slot,
    algorithm: Algorithm,
    hash: HashAlgorithm,
    digest: &[u8],
    pin: &[u8],
) -> Result<Vec<u8>, CardError> {
    let mut once = VerifyOnce::default();
    chosen.card.transaction(|piv| {
        once.verify(piv, pin)?;
        sign_digest(piv, slot, algorithm, hash, digest)
    })
}

/// The PIV algorithm of the key a certificate certifies.
pub fn piv_algorithm(summary: &CertificateSummary) -> Result<Algorithm, HostError> {
    match summary.key {
        KeyAlgorithm::Rsa { bits: 2048 } => Ok(Algorithm::Rsa2048),
        KeyAlgorithm::P256 => Ok(Algorithm::EccP256),
        KeyAlgorithm::P384 => Ok(Algorithm::EccP384),
        _ => Err(HostError::wire(
            ErrorCode::UnsupportedCard,
            "The card's key type is not supported (RSA-2048, P-256 and P-384 are).",
        )),
    }
}

pub fn summary(certificate: &[u8]) -> Result<CertificateSummary, HostError> {
    CertificateSummary::from_der(certificate).map_err(|e| {
        HostError::wire(
            ErrorCode::UnsupportedCard,
            format!("The certificate on the card cannot be read: {e}"),
        )
    })
}

pub fn token_algorithm(summary: &CertificateSummary) -> Result<TokenAlgorithm, HostError> {
    summary.token_algorithm().ok_or_else(|| {
        HostError::wire(
            ErrorCode::UnsupportedCard,
            "The card's authentication key type is not supported.",
        )
    })
}

pub fn hash_algorithm(h: HashFunction) -> HashAlgorithm {
    match h {
        HashFunction::Sha224 => HashAlgorithm::Sha224,
        HashFunction::Sha256 => HashAlgorithm::Sha256,
        HashFunction::Sha384 => HashAlgorithm::Sha384,
        HashFunction::Sha512 => HashAlgorithm::Sha512,
    }
}

/// Sends VERIFY at most once per request, even when the card layer re-runs an operation after
/// another application reset the card: the user typed the PIN once, so it is tried once.
#[derive(Debug, Default)]
struct VerifyOnce {
    sent: bool,
}

impl VerifyOnce {
    fn verify(&mut self, piv: &mut carecard_card::Piv<'_>, pin: &[u8]) -> Result<(), CardError> {
        if self.sent {
            return Err(CardError::CardReset);
        }
        self.sent = true;
        piv.verify_pin(pin)
    }
}
