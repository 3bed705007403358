//! Preparing what the card signs and formatting what it returns.
//!
//! PIV cards do raw RSA, so the host builds the PKCS#1 v1.5 block (RFC 8017 §9.2, EMSA-PKCS1-v1_5)
//! itself. For ECDSA the card takes the digest sized to the curve and answers a DER
//! `Ecdsa-Sig-Value`, which JWS/Web eID want as raw `r ‖ s`.

use crate::error::CardError;
use crate::piv::{Algorithm, Piv, Slot};
use crate::tlv;

/// Hash functions a digest handed to [`sign_digest`] may come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl HashAlgorithm {
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// DER of `DigestInfo` up to the digest (RFC 8017 §9.2 note 1).
    pub fn digest_info_prefix(self) -> &'static [u8] {
        match self {
            HashAlgorithm::Sha224 => &[
                0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x04, 0x05, 0x00, 0x04, 0x1c,
            ],
            HashAlgorithm::Sha256 => &[
                0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x01, 0x05, 0x00, 0x04, 0x20,
            ],
            HashAlgorithm::Sha384 => &[
                0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x02, 0x05, 0x00, 0x04, 0x30,
            ],
            HashAlgorithm::Sha512 => &[
                0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
                0x03, 0x05, 0x00, 0x04, 0x40,
            ],
        }
    }
}

/// Signs `digest` with the key in `slot`: the PIN must have been verified in this session.
/// Returns the signature as a verifier wants it: the RSA signature (modulus-sized) or raw
/// ECDSA `r ‖ s`.
pub fn sign_digest(
    piv: &mut Piv<'_>,
    slot: Slot,
    algorithm: Algorithm,
    hash: HashAlgorithm,
    digest: &[u8],
) -> Result<Vec<u8>, CardError> {
    if digest.len() != hash.digest_len() {
        return Err(CardError::invalid_input(format!(
            "digest of {} bytes for a {}-byte hash",
            digest.len(),
            hash.digest_len()
        )));
    }
    match algorithm {
        Algorithm::Rsa2048 => {
            let block = pkcs1_v15_block(hash, digest, algorithm.input_len())?;
            let signature = piv.general_authenticate(slot, algorithm, &block)?;
            rsa_signature(signature, algorithm.input_len())
        }
        Algorithm::EccP256 | Algorithm::EccP384 => {
            let size = algorithm.input_len();
            let input = ecdsa_input(digest, size);
            let der = piv.general_authenticate(slot, algorithm, &input)?;
            der_signature_to_raw(&der, size)
        }
    }
}

/// `00 01 FF…FF 00 DigestInfo` of `modulus_len` bytes.
pub fn pkcs1_v15_block(
    hash: HashAlgorithm,
    digest: &[u8],
    modulus_len: usize,
) -> Result<Vec<u8>, CardError> {
    let prefix = hash.digest_info_prefix();
    let t_len = prefix.len() + digest.len();
    // RFC 8017: at least eight bytes of 0xFF padding.
    if digest.len() != hash.digest_len() || modulus_len < t_len + 11 {
        return Err(CardError::invalid_input(
            "digest does not fit the RSA modulus",
        ));
    }
    let mut block = Vec::with_capacity(modulus_len);
    block.extend_from_slice(&[0x00, 0x01]);
    block.resize(modulus_len - t_len - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(prefix);
    block.extend_from_slice(digest);
    Ok(block)
}

/// The digest as ECDSA uses it (FIPS 186-4 §6.4): its leftmost `size` bytes, or left-padded
/// with zeros when shorter, since PIV cards expect exactly the field size.
pub fn ecdsa_input(digest: &[u8], size: usize) -> Vec<u8> {
    if digest.len() >= size {
        digest[..size].to_vec()
    } else {
        let mut out = vec![0u8; size - digest.len()];
        out.extend_from_slice(digest);
        out
    }
}

/// Raw RSA output is an integer below the modulus; left-pad a short one, refuse a long one.
fn rsa_signature(signature: Vec<u8>, modulus_len: usize) -> Result<Vec<u8>, CardError> {
    match signature.len() {
        0 => Err(CardError::malformed("empty RSA signature")),
        n if n > modulus_len => Err(CardError::malformed(
            "RSA signature longer than the modulus",
        )),
        n if n == modulus_len => Ok(signature),
        n => {
            let mut out = vec![0u8; modulus_len - n];
            out.extend_from_slice(&signature);
            Ok(out)
        }
    }
}

/// DER `SEQUENCE { INTEGER r, INTEGER s }` → `r ‖ s`, each left-padded to `size` bytes.
pub fn der_signature_to_raw(der: &[u8], size: usize) -> Result<Vec<u8>, CardError> {
    let (sequence, rest) = tlv::parse_one(der)?;
    if sequence.tag != 0x30 || !rest.is_empty() {
        return Err(CardError::malformed(
            "ECDSA signature is not one DER SEQUENCE",
        ));
    }
    let items = tlv::parse(sequence.value)?;
    let [r, s] = items.as_slice() else {
        return Err(CardError::malformed(
            "ECDSA signature needs exactly r and s",
        ));
    };
    let mut out = Vec::with_capacity(2 * size);
    for integer in [r, s] {
        if integer.tag != 0x02 {
            return Err(CardError::malformed(
                "ECDSA signature part is not an INTEGER",
            ));
        }
        out.extend_from_slice(&unsigned_fixed(integer.value, size)?);
    }
    Ok(out)
}

/// A positive DER INTEGER's content as exactly `size` big-endian bytes.
fn unsigned_fixed(value: &[u8], size: usize) -> Result<Vec<u8>, CardError> {
    let first = *value
        .first()
        .ok_or_else(|| CardError::malformed("empty INTEGER"))?;
    if first & 0x80 != 0 {
        return Err(CardError::malformed("negative INTEGER in ECDSA signature"));
    }
    // DER: a leading zero only where the next byte's top bit would read as a sign.
    if first == 0 && value.len() > 1 && value[1] & 0x80 == 0 {
        return Err(CardError::malformed(
            "non-minimal INTEGER in ECDSA signature",
        ));
    }
    let magnitude = if first == 0 { &value[1..] } else { value };
    if magnitude.is_empty() || magnitude.len() > size {
        return Err(CardError::malformed("ECDSA signature value out of range"));
    }
    let mut out = vec![0u8; size - magnitude.len()];
    out.extend_from_slice(magnitude);
    Ok(out)
}

#[cfg(test)]
mod tests;
