//! The card-management commands that run inside a card session (INTERFACES.md): the host
//! relays what the card-management server decides and keeps the renewal journal. The management
//! key never reaches the host: the server builds every 9B template.

use crate::cards;
use crate::errors::HostError;
use crate::handlers::cards::CHUID;
use crate::handlers::to_value;
use crate::journal::Journal;
use crate::session::CardSession;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::management::PublicKey;
use carecard_card::{sign_digest, Algorithm, HashAlgorithm, Slot};
use carecard_protocol::{
    card_id, certificate_spki_der, CertificateSlot, CryptoAlgorithm, DataObject, ErrorCode,
    GenerateKeyArgs, GeneratedKey, KeyType, ManagementAuthenticateArgs, PaddingScheme, PinSource,
    Proof, ProvePossessionArgs, PutDataArgs, RenewalStep, SignResult, SignatureAlgorithm,
    VerifyPinArgs, WriteCertificateArgs,
};
use serde_json::{json, Value};
use sha2::Digest as _;

pub fn verify_pin(args: VerifyPinArgs, session: &mut CardSession) -> Result<Value, HostError> {
    let outcome = session
        .card
        .operate(|piv| cards::verify_pin(piv, &args.pin));
    drop(args.pin);
    outcome?;
    Ok(json!({}))
}

pub fn management_authenticate(
    args: ManagementAuthenticateArgs,
    session: &mut CardSession,
) -> Result<Value, HostError> {
    let reply = session
        .card
        .operate(|piv| piv.management_authenticate(args.algorithm.id(), &args.template))?;
    Ok(json!({ "template": STANDARD.encode(reply) }))
}

/// GENERATE in the slot, journalled before and after: an interruption at any point leaves a
/// journal entry that tells the next attempt what to do. Only after the holder's PIN was checked
/// in this session (their consent: a new key destroys the old one).
pub fn generate_key(args: GenerateKeyArgs, session: &mut CardSession) -> Result<Value, HostError> {
    require_pin_confirmed(session, "generate a new key")?;
    let public_key = generate_journalled(session, args.slot, args.algorithm)?;
    Ok(json!({ "publicKey": public_key }))
}

/// The journalled GENERATE of `generate-key` and of `prove-possession`'s `generate`; returns
/// the base64 SPKI. The caller checked the holder's consent.
fn generate_journalled(
    session: &mut CardSession,
    slot: CertificateSlot,
    key_type: KeyType,
) -> Result<String, HostError> {
    let card_id = session.card_id.clone().ok_or_else(|| {
        HostError::wire(
            ErrorCode::InvalidRequest,
            "The card has no CHUID yet, so its renewal cannot be journalled. Write the CHUID first.",
        )
    })?;
    let journal = journal()?;
    let piv_slot = piv_slot(slot);
    journal
        .record(&card_id, slot, RenewalStep::Generating, None)
        .map_err(journal_error)?;
    let key = session
        .card
        .operate(|piv| piv.generate_key_pair(piv_slot, piv_algorithm(key_type)))?;
    let spki = generated(&key, key_type).to_spki_der()?;
    let public_key = STANDARD.encode(&spki);
    journal
        .record(
            &card_id,
            slot,
            RenewalStep::KeyGenerated,
            Some(public_key.clone()),
        )
        .map_err(journal_error)?;
    session.generated.insert(slot, key_type);
    log::info!("generated a {} key in {}", key_type.as_str(), piv_slot);
    Ok(public_key)
}

/// Signs each server challenge with its slot's key — a key generated in this request or this
/// session, or the key its certificate certifies — under one PIN typed for this request.
///
/// The card sees: VERIFY; GENERATE for each proof that asks for a new key (the VERIFY just sent
/// is the holder's consent); then per proof GENERAL AUTHENTICATE, with VERIFY again right before
/// a PIN-always key (9C) unless the VERIFY was the last command. A wrong PIN stops everything
/// before the first GENERATE. The PIN is wiped when this returns.
pub fn prove_possession(
    args: ProvePossessionArgs,
    session: &mut CardSession,
) -> Result<Value, HostError> {
    let ProvePossessionArgs {
        proofs,
        listed,
        pin,
        ..
    } = args;
    let outcome = prove_all(&proofs, &pin, session);
    drop(pin);
    let mut proved = outcome?;
    if listed {
        Ok(json!({ "proofs": proved }))
    } else {
        // The single form answers with the proof's own object, as before lists.
        let mut one = proved.pop().unwrap_or(Value::Null);
        if let Value::Object(map) = &mut one {
            map.remove("slot");
        }
        Ok(one)
    }
}

fn prove_all(
    proofs: &[Proof],
    pin: &PinSource,
    session: &mut CardSession,
) -> Result<Vec<Value>, HostError> {
    session.card.operate(|piv| cards::verify_pin(piv, pin))?;
    let mut just_verified = true;
    let mut public_keys = Vec::new();
    for proof in proofs {
        if let Some(key_type) = proof.generate {
            public_keys.push((
                proof.slot,
                generate_journalled(session, proof.slot, key_type)?,
            ));
            just_verified = false;
        }
    }
    let mut proved = Vec::with_capacity(proofs.len());
    for proof in proofs {
        let slot = piv_slot(proof.slot);
        let key_type = match session.generated.get(&proof.slot) {
            Some(k) => *k,
            None => {
                let der = session
                    .card
                    .operate(|piv| piv.read_certificate(slot))?
                    .ok_or(carecard_card::CardError::ObjectNotFound)?;
                key_type_of(cards::piv_algorithm(&cards::summary(&der)?)?)
            }
        };
        let (hash, digest) = match key_type {
            KeyType::P384 => (
                HashAlgorithm::Sha384,
                sha2::Sha384::digest(&proof.challenge).to_vec(),
            ),
            _ => (
                HashAlgorithm::Sha256,
                sha2::Sha256::digest(&proof.challenge).to_vec(),
            ),
        };
        let algorithm = piv_algorithm(key_type);
        // SP 800-73-4: the digital signature key (9C) is "PIN always".
        let verify_again = slot == Slot::Signature && !just_verified;
        let signature = session.card.operate(|piv| {
            if verify_again {
                // With a PIN pad this asks for the PIN on the reader once more.
                cards::verify_pin(piv, pin)?;
            }
            sign_digest(piv, slot, algorithm, hash, &digest)
        })?;
        just_verified = false;
        let (crypto_algorithm, padding_scheme) = match key_type {
            KeyType::Rsa2048 => (CryptoAlgorithm::Rsa, PaddingScheme::Pkcs1v15),
            _ => (CryptoAlgorithm::Ecc, PaddingScheme::None),
        };
        let result = SignResult {
            signature: STANDARD.encode(signature),
            signature_algorithm: SignatureAlgorithm {
                crypto_algorithm,
                hash_function: match hash {
                    HashAlgorithm::Sha384 => carecard_protocol::HashFunction::Sha384,
                    _ => carecard_protocol::HashFunction::Sha256,
                },
                padding_scheme,
            },
        };
        let mut entry = json!({ "slot": proof.slot });
        if let Some((_, key)) = public_keys.iter().find(|(s, _)| *s == proof.slot) {
            entry["publicKey"] = json!(key);
        }
        if let (Value::Object(out), Value::Object(signed)) = (&mut entry, to_value(&result)?) {
            out.extend(signed);
        }
        proved.push(entry);
    }
    Ok(proved)
}

/// PUT DATA of the slot's certificate. With a journalled key for the slot, the certificate must
/// certify that key (a certificate for another key would leave the card unable to log in);
/// once written, the slot's journal entry is done.
pub fn write_certificate(
    args: WriteCertificateArgs,
    session: &mut CardSession,
) -> Result<Value, HostError> {
    let spki = certificate_spki_der(&args.certificate)?;
    let pending = match (&session.card_id, Journal::beside_log()) {
        (Some(id), Some(journal)) => journal
            .pending(id)
            .into_iter()
            .find(|p| p.slot == args.slot)
            .map(|p| (id.clone(), journal, p)),
        _ => None,
    };
    match &pending {
        Some((_, _, entry)) => {
            let expected = entry.public_key.as_deref().map(|k| STANDARD.decode(k));
            if !matches!(expected, Some(Ok(ref key)) if *key == spki) {
                return Err(HostError::wire(
                    ErrorCode::InvalidRequest,
                    "The certificate is not for the key the card generated. Ask for a certificate for the card's new key.",
                ));
            }
        }
        // Finishing a journalled renewal needs no PIN; replacing the certificate of a key the
        // journal does not know is the holder's decision.
        None => require_pin_confirmed(session, "replace a certificate")?,
    }
    session
        .card
        .operate(|piv| piv.write_certificate(piv_slot(args.slot), &args.certificate))?;
    if let Some((id, journal, _)) = pending {
        journal.finish(&id, args.slot).map_err(journal_error)?;
    }
    log::info!("wrote the {} certificate", piv_slot(args.slot));
    Ok(json!({}))
}

pub fn put_data(args: PutDataArgs, session: &mut CardSession) -> Result<Value, HostError> {
    session
        .card
        .operate(|piv| piv.put_object(args.object.tag(), &args.data))?;
    if args.object == DataObject::Chuid {
        // The card now has (another) id: the journal follows it.
        let chuid = session.card.operate(|piv| piv.read_object(CHUID))?;
        session.card_id = chuid.as_deref().map(card_id);
    }
    Ok(json!({}))
}

/// Refuses `what` unless the holder's PIN was checked right in this session (`verify-pin`,
/// `prove-possession`, `authenticate` or `change-pin` naming it) with no wrong PIN since: a
/// card-management site must not change the holder's keys without the holder taking part.
fn require_pin_confirmed(session: &CardSession, what: &str) -> Result<(), HostError> {
    if session.card.pin_confirmed() {
        return Ok(());
    }
    log::info!("refused to {what}: no PIN confirmed in this session");
    Err(HostError::wire(
        ErrorCode::InvalidRequest,
        format!(
            "The card holder must confirm with their PIN in this card session (verify-pin) before the site may {what}."
        ),
    ))
}

fn journal() -> Result<Journal, HostError> {
    Journal::beside_log().ok_or_else(|| {
        HostError::wire(
            ErrorCode::Internal,
            "No folder for the renewal journal (no log folder). The card was not changed.",
        )
    })
}

fn journal_error(e: std::io::Error) -> HostError {
    log::error!("renewal journal: {e}");
    HostError::wire(
        ErrorCode::Internal,
        "The renewal journal could not be written. Try again; if it persists, contact the service desk.",
    )
}

fn piv_slot(slot: CertificateSlot) -> Slot {
    match slot {
        CertificateSlot::Authentication => Slot::Authentication,
        CertificateSlot::Signature => Slot::Signature,
    }
}

fn piv_algorithm(key: KeyType) -> Algorithm {
    match key {
        KeyType::Rsa2048 => Algorithm::Rsa2048,
        KeyType::P256 => Algorithm::EccP256,
        KeyType::P384 => Algorithm::EccP384,
    }
}

fn key_type_of(algorithm: Algorithm) -> KeyType {
    match algorithm {
        Algorithm::Rsa2048 => KeyType::Rsa2048,
        Algorithm::EccP256 => KeyType::P256,
        Algorithm::EccP384 => KeyType::P384,
    }
}

fn generated(key: &PublicKey, key_type: KeyType) -> GeneratedKey {
    match key {
        PublicKey::Rsa { modulus, exponent } => GeneratedKey::Rsa {
            modulus: modulus.clone(),
            exponent: exponent.clone(),
        },
        PublicKey::Ec { point } => GeneratedKey::Ec {
            key_type,
            point: point.clone(),
        },
    }
}
