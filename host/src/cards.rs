//! Finding the card a command is meant for, and the key facts the handlers need about it.

use crate::errors::HostError;
use carecard_card::{
    sign_digest, Algorithm, CardError, ExclusiveCard, HashAlgorithm, Pcsc, PcscCard, Piv, Slot,
};
use carecard_protocol::{
    CardSelector, CertificateSummary, ErrorCode, HashFunction, KeyAlgorithm, PinSource,
    TokenAlgorithm,
};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

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
    // Handles kept for logins would stop `session-open` from holding the card exclusively, and
    // PIN/PUK operations are rare: let the cards go (the next login reads its certificate again).
    forget_known_cards();
    resolve_shared(selector, session, need)
}

fn resolve_shared<'s>(
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
    pin: &PinSource,
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
pub(crate) struct VerifyOnce {
    sent: bool,
}

impl VerifyOnce {
    fn verify(
        &mut self,
        piv: &mut carecard_card::Piv<'_>,
        pin: &PinSource,
    ) -> Result<(), CardError> {
        if self.sent {
            return Err(CardError::CardReset);
        }
        self.sent = true;
        verify_pin(piv, pin)
    }
}

/// One VERIFY of the holder's PIN: the one the request carries, or typed on the reader's PIN
/// pad (PC/SC part 10) when the request asked for that.
pub fn verify_pin(piv: &mut Piv<'_>, pin: &PinSource) -> Result<(), CardError> {
    match pin {
        PinSource::Typed(pin) => piv.verify_pin(pin.as_bytes()),
        PinSource::Reader => piv.verify_pin_on_reader(),
    }
}

// Logins and signatures: one transaction per operation, and the certificate remembered with the
// PC/SC handle it was read on (docs/ARCHITECTURE.md, "The PIV path of one authentication").

/// How long a card's handle and certificates are kept without an operation using them. While a
/// handle is open no other application can take the card exclusively, so it is not kept forever.
const KEEP_IDLE: Duration = Duration::from_secs(300);

/// Certificates read from one card, by slot.
type Certificates = Vec<(Slot, Vec<u8>)>;

/// A card this host process read certificates from, with the PC/SC handle it read them on. A
/// card swapped since invalidates that handle (PC/SC reports it removed), so the certificates
/// belong to whatever card answers on it.
struct KnownCard {
    card: PcscCard,
    /// The certificates read on `card`, by slot.
    certificates: Certificates,
    used: Instant,
}

impl KnownCard {
    fn certificate(&self, slot: Slot) -> Option<&[u8]> {
        self.certificates
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, c)| c.as_slice())
    }

    fn is_named_by(&self, wanted: &[u8], slot: Slot, naming: Naming) -> bool {
        match naming {
            Naming::KeySlot => self.certificate(slot) == Some(wanted),
            Naming::EitherSlot => self.certificates.iter().any(|(_, c)| c == wanted),
        }
    }
}

static KNOWN: Mutex<Vec<KnownCard>> = Mutex::new(Vec::new());

fn known() -> MutexGuard<'static, Vec<KnownCard>> {
    KNOWN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Lets every kept card handle go (disconnecting, card left as it is).
pub fn forget_known_cards() {
    let cards = std::mem::take(&mut *known());
    drop(cards);
}

/// Keeps `card` and the certificates read on it for the next operation (one entry per reader).
fn remember(card: PcscCard, certificates: Certificates) {
    if certificates.is_empty() {
        return;
    }
    let mut cards = known();
    cards.retain(|k| k.card.reader() != card.reader());
    cards.push(KnownCard {
        card,
        certificates,
        used: Instant::now(),
    });
    drop(cards);
    start_reaper();
}

/// A thread that lets kept handles go after [`KEEP_IDLE`] without use.
fn start_reaper() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("known-cards".into())
            .spawn(|| loop {
                std::thread::sleep(Duration::from_secs(5));
                let expired: Vec<KnownCard> = {
                    let mut cards = known();
                    let (expired, kept) = std::mem::take(&mut *cards)
                        .into_iter()
                        .partition(|k| k.used.elapsed() >= KEEP_IDLE);
                    *cards = kept;
                    expired
                };
                drop(expired);
            });
        if let Err(e) = spawned {
            log::debug!("cannot start the known-cards reaper: {e}");
        }
    });
}

/// Which certificate may name the card of an operation with the key in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Naming {
    /// The card's 9A or 9C certificate (`authenticate`: the certificate picks the card).
    EitherSlot,
    /// Only the key's own certificate (`sign`: the certificate names the card and the key).
    KeySlot,
}

/// What signing needs from the certificate before the PIN goes to the card.
#[derive(Debug)]
pub struct KeyUse {
    pub algorithm: Algorithm,
    pub hash: HashAlgorithm,
    pub digest: Vec<u8>,
}

/// The certificate of the key that signed, and the formatted signature.
#[derive(Debug)]
pub struct Signed {
    pub certificate: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Signs with the key in `slot` of the card `selector` names (not a session), the PIN sent once.
///
/// Warm (a card this process already read the certificate from, on a handle still open): one
/// transaction of SELECT, VERIFY, GENERAL AUTHENTICATE, PIN-state reset. Cold: the certificate
/// is read and checked in the same transaction as the signature, so it cannot belong to another
/// card. A kept handle that fails before the PIN was sent (card swapped or pulled, service
/// restarted) is dropped and the cold path runs; after the PIN was sent nothing is retried.
pub fn sign_with_key(
    selector: &CardSelector,
    slot: Slot,
    naming: Naming,
    pin: &PinSource,
    prepare: &dyn Fn(&[u8]) -> Result<KeyUse, HostError>,
) -> Result<Signed, HostError> {
    let mut once = VerifyOnce::default();
    if let Some(mut entry) = take_known(selector, slot, naming)? {
        let remembered = entry.certificate(slot).map(<[u8]>::to_vec);
        let outcome = sign_on(
            &mut entry.card,
            slot,
            naming,
            remembered.as_deref(),
            None,
            &mut once,
            pin,
            prepare,
        );
        match outcome {
            Ok((signed, _)) => {
                entry.used = Instant::now();
                known().push(entry);
                return Ok(signed);
            }
            Err(e) if !once.sent => {
                log::info!(
                    "{}: the card read before is gone ({e}); reading it again",
                    entry.card.reader()
                );
                drop(entry);
            }
            Err(e) => {
                if keeps_handle(&e) {
                    known().push(entry);
                }
                return Err(e);
            }
        }
    }
    sign_cold(selector, slot, naming, &mut once, pin, prepare)
}

/// Whether a kept handle is still good after this failure (a wrong PIN is the user's, not the
/// handle's).
fn keeps_handle(e: &HostError) -> bool {
    matches!(
        e,
        HostError::Card(
            CardError::PinIncorrect { .. }
                | CardError::PinBlocked
                | CardError::Status(_)
                | CardError::SecurityStatusNotSatisfied
        )
    )
}

/// The kept card `selector` names, taken out of the list (put back after use).
fn take_known(
    selector: &CardSelector,
    slot: Slot,
    naming: Naming,
) -> Result<Option<KnownCard>, HostError> {
    let mut cards = known();
    let index = match selector {
        CardSelector::Certificate(wanted) => cards
            .iter()
            .position(|k| k.certificate(slot).is_some() && k.is_named_by(wanted, slot, naming)),
        CardSelector::Reader(name) => cards
            .iter()
            .position(|k| k.card.reader() == name && k.certificate(slot).is_some()),
        // Without a selector the card must be the only one inserted: ask PC/SC which are.
        CardSelector::Any => {
            if !cards.iter().any(|k| k.certificate(slot).is_some()) {
                return Ok(None);
            }
            drop(cards);
            let pcsc = Pcsc::establish()?;
            let readers = pcsc.readers()?;
            let mut with_card = readers.iter().filter(|r| r.atr.is_some());
            let only = match (with_card.next(), with_card.next()) {
                (Some(reader), None) => reader.name.clone(),
                _ => return Ok(None),
            };
            cards = known();
            cards
                .iter()
                .position(|k| k.card.reader() == only && k.certificate(slot).is_some())
        }
        CardSelector::Session(_) => None,
    };
    Ok(index.map(|i| cards.remove(i)))
}

/// The first time: find the card, and in one transaction read its certificate, check it is the
/// one asked for, VERIFY and sign.
fn sign_cold(
    selector: &CardSelector,
    slot: Slot,
    naming: Naming,
    once: &mut VerifyOnce,
    pin: &PinSource,
    prepare: &dyn Fn(&[u8]) -> Result<KeyUse, HostError>,
) -> Result<Signed, HostError> {
    let pcsc = Pcsc::establish()?;
    let readers = pcsc.readers()?;
    if readers.is_empty() {
        return Err(CardError::NoReader.into());
    }
    let with_card: Vec<_> = readers.iter().filter(|r| r.atr.is_some()).collect();
    let wanted = match selector {
        CardSelector::Certificate(der) => Some(der.as_slice()),
        _ => None,
    };
    if let ([only], CardSelector::Certificate(_) | CardSelector::Any) =
        (with_card.as_slice(), selector)
    {
        let mut card = pcsc.connect(&only.name)?;
        return match sign_on(&mut card, slot, naming, None, wanted, once, pin, prepare) {
            Ok((signed, read)) => {
                remember(card, read);
                Ok(signed)
            }
            Err(HostError::Card(CardError::ObjectNotFound)) => Err(not_found()),
            Err(e) => Err(e),
        };
    }
    // Several cards (or a reader named): one look at each as before, then the signature in a
    // transaction of its own on the handle the certificate was read on.
    let (mut card, certificate) = match (naming, wanted) {
        (Naming::KeySlot, Some(wanted)) => {
            let chosen = choose(&pcsc, slot, Some(wanted))?;
            (chosen.card, chosen.certificate)
        }
        _ => {
            let resolved = resolve_shared(selector, None, Need::Key(slot))?;
            let Target::Shared(card) = resolved.target else {
                return Err(HostError::wire(ErrorCode::Internal, "no shared card"));
            };
            let certificate = resolved.certificate.ok_or(CardError::ObjectNotFound)?;
            (card, certificate)
        }
    };
    let (signed, _) = sign_on(
        &mut card,
        slot,
        naming,
        Some(&certificate),
        None,
        once,
        pin,
        prepare,
    )?;
    remember(card, vec![(slot, certificate)]);
    Ok(signed)
}

fn not_found() -> HostError {
    HostError::wire(
        ErrorCode::CertificateNotFound,
        "No card in the readers holds the certificate asked for. Insert the right card.",
    )
}

/// One transaction on `card`: the certificate of `slot` — `remembered` (read on this handle
/// before), or read now and checked against `wanted` — then VERIFY (once per request) and
/// GENERAL AUTHENTICATE. When the card was reset and the transaction runs again after the
/// reconnect, the certificate is read again and must be the remembered one before the PIN goes.
/// Returns the certificates read in this transaction too.
#[allow(clippy::too_many_arguments)]
fn sign_on(
    card: &mut PcscCard,
    slot: Slot,
    naming: Naming,
    remembered: Option<&[u8]>,
    wanted: Option<&[u8]>,
    once: &mut VerifyOnce,
    pin: &PinSource,
    prepare: &dyn Fn(&[u8]) -> Result<KeyUse, HostError>,
) -> Result<(Signed, Certificates), HostError> {
    let (expect, naming) = match remembered {
        Some(c) => (Some(c), Naming::KeySlot),
        None => (wanted, naming),
    };
    let mut runs = 0;
    let mut refused = None;
    let mut read = Vec::new();
    let result = card.transaction(|piv| {
        runs += 1;
        read.clear();
        let certificate = match remembered {
            Some(c) if runs == 1 => c.to_vec(),
            _ => read_named(piv, slot, naming, expect, &mut read)?,
        };
        let key_use = match prepare(&certificate) {
            Ok(k) => k,
            Err(e) => {
                refused = Some(e);
                return Err(CardError::InvalidInput(
                    "the certificate was refused".into(),
                ));
            }
        };
        once.verify(piv, pin)?;
        let signature = sign_digest(piv, slot, key_use.algorithm, key_use.hash, &key_use.digest)?;
        Ok(Signed {
            certificate,
            signature,
        })
    });
    match (result, refused) {
        (Ok(signed), _) => Ok((signed, read)),
        (Err(_), Some(refusal)) => Err(refusal),
        (Err(e), None) => Err(e.into()),
    }
}

/// Reads `slot`'s certificate and checks that `expect` names this card (the same certificate,
/// or with [`Naming::EitherSlot`] the other slot's); `ObjectNotFound` when not.
fn read_named(
    piv: &mut Piv<'_>,
    slot: Slot,
    naming: Naming,
    expect: Option<&[u8]>,
    read: &mut Certificates,
) -> Result<Vec<u8>, CardError> {
    let own = piv.read_certificate(slot)?;
    if let Some(c) = &own {
        read.push((slot, c.clone()));
    }
    let named = match (expect, own.as_deref()) {
        (None, _) => true,
        (Some(w), Some(c)) if w == c => true,
        (Some(w), _) if naming == Naming::EitherSlot => {
            let other = if slot == Slot::Signature {
                Slot::Authentication
            } else {
                Slot::Signature
            };
            let theirs = piv.read_certificate(other)?;
            let hit = theirs.as_deref() == Some(w);
            if let Some(c) = theirs {
                read.push((other, c));
            }
            hit
        }
        _ => false,
    };
    match own {
        Some(c) if named => Ok(c),
        _ => Err(CardError::ObjectNotFound),
    }
}
