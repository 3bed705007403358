//! The card's private-key operations: key generation (PKCS#8) and what GENERAL AUTHENTICATE
//! does with a key — raw RSA, or ECDSA over a prehashed input returning DER.

use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use rsa::BigUint;
use spki::{EncodePublicKey, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use crate::error::VcardError;
use crate::state::CardProfile;

/// Why a private-key operation refused its input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOpError {
    /// The input has the wrong size or is out of range: the card answers 6A80.
    BadInput,
    /// The stored key is unusable: the card answers 6F00.
    Internal,
}

/// A fresh private key for `profile`, as PKCS#8 DER.
pub fn generate(profile: CardProfile) -> Result<Zeroizing<Vec<u8>>, VcardError> {
    let mut rng = rand::thread_rng();
    let der = match profile {
        CardProfile::Rsa2048 => rsa::RsaPrivateKey::new(&mut rng, 2048)
            .map_err(|e| VcardError::Key(e.to_string()))?
            .to_pkcs8_der(),
        CardProfile::P256 => p256::SecretKey::random(&mut rng).to_pkcs8_der(),
        CardProfile::P384 => p384::SecretKey::random(&mut rng).to_pkcs8_der(),
    }
    .map_err(|e| VcardError::Key(e.to_string()))?;
    Ok(Zeroizing::new(der.as_bytes().to_vec()))
}

/// The public key of a PKCS#8 private key, as the certificate's SubjectPublicKeyInfo.
pub fn public_key_info(
    profile: CardProfile,
    pkcs8: &[u8],
) -> Result<SubjectPublicKeyInfoOwned, VcardError> {
    let der = match profile {
        CardProfile::Rsa2048 => rsa::RsaPrivateKey::from_pkcs8_der(pkcs8)
            .map_err(|e| VcardError::Key(e.to_string()))?
            .to_public_key()
            .to_public_key_der(),
        CardProfile::P256 => p256::SecretKey::from_pkcs8_der(pkcs8)
            .map_err(|e| VcardError::Key(e.to_string()))?
            .public_key()
            .to_public_key_der(),
        CardProfile::P384 => p384::SecretKey::from_pkcs8_der(pkcs8)
            .map_err(|e| VcardError::Key(e.to_string()))?
            .public_key()
            .to_public_key_der(),
    }
    .map_err(|e| VcardError::Key(e.to_string()))?;
    der::Decode::from_der(der.as_bytes()).map_err(|e: der::Error| VcardError::Key(e.to_string()))
}

/// GENERAL AUTHENTICATE's private-key operation for a key of PIV algorithm `algorithm`.
pub fn private_operation(algorithm: u8, pkcs8: &[u8], input: &[u8]) -> Result<Vec<u8>, KeyOpError> {
    match algorithm {
        0x07 => raw_rsa(pkcs8, input),
        0x11 => {
            let key =
                p256::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(|_| KeyOpError::Internal)?;
            let prehash = ec_prehash::<32>(input)?;
            let sig: p256::ecdsa::Signature =
                signature::hazmat::PrehashSigner::sign_prehash(&key, &prehash[..])
                    .map_err(|_| KeyOpError::BadInput)?;
            Ok(sig.to_der().as_bytes().to_vec())
        }
        0x14 => {
            let key =
                p384::ecdsa::SigningKey::from_pkcs8_der(pkcs8).map_err(|_| KeyOpError::Internal)?;
            let prehash = ec_prehash::<48>(input)?;
            let sig: p384::ecdsa::Signature =
                signature::hazmat::PrehashSigner::sign_prehash(&key, &prehash[..])
                    .map_err(|_| KeyOpError::BadInput)?;
            Ok(sig.to_der().as_bytes().to_vec())
        }
        _ => Err(KeyOpError::Internal),
    }
}

/// RSA private operation on exactly one modulus-sized block: PIV cards do no padding, the
/// client sends a fully padded block.
fn raw_rsa(pkcs8: &[u8], input: &[u8]) -> Result<Vec<u8>, KeyOpError> {
    let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|_| KeyOpError::Internal)?;
    let size = key.size();
    if input.len() != size {
        return Err(KeyOpError::BadInput);
    }
    let c = BigUint::from_bytes_be(input);
    if &c >= key.n() {
        return Err(KeyOpError::BadInput);
    }
    let m = rsa::hazmat::rsa_decrypt_and_check(&key, Some(&mut rand::thread_rng()), &c)
        .map_err(|_| KeyOpError::BadInput)?;
    let bytes = m.to_bytes_be();
    // Left-pad to the modulus size: the integer may have leading zero bytes.
    let mut out = vec![0u8; size - bytes.len()];
    out.extend_from_slice(&bytes);
    Ok(out)
}

/// The ECDSA input as the curve-sized big-endian number it stands for: a shorter hash (e.g.
/// SHA-256 on P-384) is left-padded with zeros, which leaves its value unchanged; a longer one
/// is refused (the client must truncate, as SP 800-73-4 says).
fn ec_prehash<const N: usize>(input: &[u8]) -> Result<[u8; N], KeyOpError> {
    if input.is_empty() || input.len() > N {
        return Err(KeyOpError::BadInput);
    }
    let mut out = [0u8; N];
    out[N - input.len()..].copy_from_slice(input);
    Ok(out)
}

/// The profile whose keys have PIV algorithm `algorithm`.
pub fn profile_of(algorithm: u8) -> Option<CardProfile> {
    match algorithm {
        0x07 => Some(CardProfile::Rsa2048),
        0x11 => Some(CardProfile::P256),
        0x14 => Some(CardProfile::P384),
        _ => None,
    }
}

/// GENERATE ASYMMETRIC KEY PAIR's answer body: `81 modulus, 82 exponent` (RSA) or
/// `86 uncompressed point` (EC), to be wrapped in `7F49`.
pub fn public_key_objects(algorithm: u8, pkcs8: &[u8]) -> Result<Vec<u8>, VcardError> {
    use crate::tlv::encode;
    let bad = |e: &dyn std::fmt::Display| VcardError::Key(e.to_string());
    match algorithm {
        0x07 => {
            let key = rsa::RsaPrivateKey::from_pkcs8_der(pkcs8).map_err(|e| bad(&e))?;
            let mut out = encode(0x81, &key.n().to_bytes_be());
            out.extend(encode(0x82, &key.e().to_bytes_be()));
            Ok(out)
        }
        0x11 => {
            let key = p256::SecretKey::from_pkcs8_der(pkcs8).map_err(|e| bad(&e))?;
            let point = p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &key.public_key(),
                false,
            );
            Ok(encode(0x86, point.as_bytes()))
        }
        0x14 => {
            let key = p384::SecretKey::from_pkcs8_der(pkcs8).map_err(|e| bad(&e))?;
            let point = p384::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(
                &key.public_key(),
                false,
            );
            Ok(encode(0x86, point.as_bytes()))
        }
        other => Err(VcardError::Key(format!("unknown algorithm {other:#04x}"))),
    }
}
