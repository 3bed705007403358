//! Finding the card a command is meant for, and the key facts the handlers need about it.

use crate::errors::HostError;
use carecard_card::{
    sign_digest, Algorithm, CardError, ExclusiveCard, HashAlgorithm, Pcsc, PcscCard, Piv, Slot,
};
use carecard_protocol::{
    CardSelector, CertificateSummary, ErrorCode, HashFunction, KeyAlgorithm, TokenAlgorithm,
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

/// What an operation needs of its card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A key with a certificate in this slot (login: 9A).
    Key(Slot),
    /// Only the PIV application: PIN, PUK and card-management operations (a card being issued
    /// has no certificates yet).
    Piv,
}

/// The card an operation runs on: a shared card (one PC/SC transaction per operation) or the
/// card of the open card session.
#[derive(Debug)]
pub enum Target<'s> {
    Shared(PcscCard),
    Session(&'s mut ExclusiveCard),
}

impl Target<'_> {
    pub fn operate<T>(
        &mut self,
        mut operation: impl FnMut(&mut Piv<'_>) -> Result<T, CardError>,
    ) -> Result<T, CardError> {
        match self {
            Target::Shared(card) => card.transaction(operation),
            Target::Session(card) => card.operate(|piv| operation(piv)),
        }
    }
}

/// A resolved card and, for `Need::Key`, its certificate in that slot.
#[derive(Debug)]
pub struct Resolved<'s> {
    pub target: Target<'s>,
    pub certificate: Option<Vec<u8>>,
}

/// Resolves a request's card selector (INTERFACES.md "Which card"). `session` is the open
/// session's card when the request named it (the dispatcher checked the id).
pub fn resolve<'s>(
    selector: &CardSelector,
    session: Option<&'s mut ExclusiveCard>,
    need: Need,
) -> Result<Resolved<'s>, HostError> {
    if let (CardSelector::Session(_), Some(card)) = (selector, session) {
        let mut target = Target::Session(card);
        let certificate = match need {
            Need::Key(slot) => Some(
                target
                    .operate(|piv| piv.read_certificate(slot))?
                    .ok_or(CardError::ObjectNotFound)?,
            ),
            Need::Piv => None,
        };
        return Ok(Resolved {
            target,
            certificate,
        });
    }
    let pcsc = Pcsc::establish()?;
    let readers = pcsc.readers()?;
    if readers.is_empty() {
        return Err(CardError::NoReader.into());
    }
    let with_card: Vec<_> = readers.iter().filter(|r| r.atr.is_some()).collect();
    if with_card.is_empty() {
        return Err(CardError::NoCard.into());
    }
    let wanted = match selector {
        CardSelector::Reader(name) => {
            let reader = readers
                .iter()
                .find(|r| &r.name == name)
                .ok_or(CardError::NoReader)?;
            if reader.atr.is_none() {
                return Err(CardError::NoCard.into());
            }
            let mut card = pcsc.connect(name)?;
            let certificate = read_needed(&mut card, need, None)?;
            return Ok(shared(card, certificate));
        }
        CardSelector::Certificate(der) => Some(der.as_slice()),
        CardSelector::Any | CardSelector::Session(_) => None,
    };
    let mut candidates = Vec::new();
    let mut last_error = None;
    for reader in &with_card {
        let found = pcsc
            .connect(&reader.name)
            .and_then(|mut card| read_needed(&mut card, need, wanted).map(|c| (card, c)));
        match found {
            Ok((card, certificate)) => candidates.push(shared(card, certificate)),
            Err(CardError::ObjectNotFound) => {
                log::debug!("{}: not the card asked for", reader.name)
            }
            Err(e) => {
                log::debug!("{}: {e}", reader.name);
                last_error = Some(e);
            }
        }
    }
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(match (last_error, with_card.len()) {
            // One card only and it failed for a reason (removed, busy, not PIV): say that.
            (Some(e), 1) => e.into(),
            _ => HostError::wire(
                ErrorCode::CertificateNotFound,
                "No card in the readers holds the certificate asked for. Insert the right card.",
            ),
        }),
        n => {
            log::info!("{n} cards could serve the request; none was chosen");
            Err(HostError::wire(
                ErrorCode::InvalidRequest,
                "Several smartcards are inserted. Choose the card to use, or remove the others.",
            ))
        }
    }
}

fn shared<'s>(card: PcscCard, certificate: Option<Vec<u8>>) -> Resolved<'s> {
    Resolved {
        target: Target::Shared(card),
        certificate,
    }
}

/// In one transaction: whether this card is the one `wanted` names (its 9A or 9C certificate)
/// and has what `need` asks; `ObjectNotFound` when it is not. Returns the certificate of
/// `Need::Key`'s slot. Reads 9C only when 9A did not decide.
fn read_needed(
    card: &mut PcscCard,
    need: Need,
    wanted: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, CardError> {
    card.transaction(|piv| {
        let first = match need {
            Need::Key(slot) => slot,
            Need::Piv => Slot::Authentication,
        };
        let in_first = if need == Need::Piv && wanted.is_none() {
            None
        } else {
            piv.read_certificate(first)?
        };
        let matched = match wanted {
            None => true,
            Some(w) if in_first.as_deref() == Some(w) => true,
            Some(w) => {
                let other = if first == Slot::Signature {
                    Slot::Authentication
                } else {
                    Slot::Signature
                };
                piv.read_certificate(other)?.as_deref() == Some(w)
            }
        };
        match need {
            _ if !matched => Err(CardError::ObjectNotFound),
            Need::Key(_) => in_first.map(Some).ok_or(CardError::ObjectNotFound),
            Need::Piv => Ok(None),
        }
    })
}

/// VERIFY then sign `digest` with the key in `slot` of the chosen card, in one transaction.
///
/// The certificate is not read again here: the card was chosen on this same PC/SC handle, and
/// a card swapped since then invalidates the handle (PC/SC reports it removed, not reset), so
/// the operation fails with ERR_CARD_REMOVED instead of signing with another card's key.
pub fn verify_and_sign(
    target: &mut Target<'_>,
    slot: Slot,
    algorithm: Algorithm,
    hash: HashAlgorithm,
    digest: &[u8],
    pin: &[u8],
) -> Result<Vec<u8>, CardError> {
    let mut once = VerifyOnce::default();
    target.operate(|piv| {
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
