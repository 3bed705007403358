#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use super::*;
use crate::error::CardError;
use crate::transport::Transport;
use rsa::traits::{PrivateKeyParts, PublicKeyParts};
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey};
use sha2::{Digest, Sha256, Sha384};
use std::sync::OnceLock;

fn rsa_key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap())
}

/// A card that understands chained GENERAL AUTHENTICATE and answers through 61xx, applying
/// `sign` to the 81 input. Checks the header bytes the host must send.
struct SigningCard<F: FnMut(&[u8]) -> Vec<u8>> {
    expect_p1p2: [u8; 2],
    received: Vec<u8>,
    pending: Vec<u8>,
    sign: F,
    apdus: usize,
}

impl<F: FnMut(&[u8]) -> Vec<u8>> SigningCard<F> {
    fn new(algorithm: u8, key: u8, sign: F) -> Self {
        SigningCard {
            expect_p1p2: [algorithm, key],
            received: Vec::new(),
            pending: Vec::new(),
            sign,
            apdus: 0,
        }
    }

    fn next_piece(&mut self) -> Vec<u8> {
        let n = self.pending.len().min(256);
        let mut out: Vec<u8> = self.pending.drain(..n).collect();
        match self.pending.len() {
            0 => out.extend_from_slice(&[0x90, 0x00]),
            left => out.extend_from_slice(&[0x61, left.min(256) as u8]),
        }
        out
    }
}

impl<F: FnMut(&[u8]) -> Vec<u8>> Transport for SigningCard<F> {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        self.apdus += 1;
        if apdu[..4] == [0x00, 0xC0, 0x00, 0x00] {
            return Ok(self.next_piece());
        }
        assert_eq!(apdu[1], 0x87);
        assert_eq!(&apdu[2..4], &self.expect_p1p2);
        let lc = usize::from(apdu[4]);
        self.received.extend_from_slice(&apdu[5..5 + lc]);
        if apdu[0] & 0x10 != 0 {
            return Ok(vec![0x90, 0x00]);
        }
        let (template, rest) = tlv::parse_one(&self.received).unwrap();
        assert!(rest.is_empty());
        assert_eq!(template.tag, 0x7C);
        let items = tlv::parse(template.value).unwrap();
        assert_eq!(items[0].tag, 0x82);
        assert!(items[0].value.is_empty());
        assert_eq!(items[1].tag, 0x81);
        let signature = (self.sign)(items[1].value);
        self.pending = tlv::encode(0x7C, &tlv::encode(0x82, &signature));
        Ok(self.next_piece())
    }
}

#[test]
fn pkcs1_block_layout_sha256() {
    let digest = [0x5A; 32];
    let block = pkcs1_v15_block(HashAlgorithm::Sha256, &digest, 256).unwrap();
    assert_eq!(block.len(), 256);
    assert_eq!(&block[..2], &[0x00, 0x01]);
    let t_start = 256 - 19 - 32;
    assert!(block[2..t_start - 1].iter().all(|b| *b == 0xFF));
    assert_eq!(block[t_start - 1], 0x00);
    assert_eq!(
        &block[t_start..t_start + 19],
        &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20
        ]
    );
    assert_eq!(&block[256 - 32..], &digest);
}

#[test]
fn pkcs1_block_matches_the_rsa_crate_for_every_hash() {
    let key = rsa_key();
    let cases: [(HashAlgorithm, Pkcs1v15Sign); 4] = [
        (HashAlgorithm::Sha224, Pkcs1v15Sign::new::<sha2::Sha224>()),
        (HashAlgorithm::Sha256, Pkcs1v15Sign::new::<Sha256>()),
        (HashAlgorithm::Sha384, Pkcs1v15Sign::new::<Sha384>()),
        (HashAlgorithm::Sha512, Pkcs1v15Sign::new::<sha2::Sha512>()),
    ];
    for (hash, scheme) in cases {
        let digest = vec![0xC3; hash.digest_len()];
        let signature = key.sign(scheme, &digest).unwrap();
        // Undo the signature with the public exponent: what remains is the padded block.
        let opened = BigUint::from_bytes_be(&signature).modpow(key.e(), key.n());
        let mut expected = vec![0u8; 256];
        let bytes = opened.to_bytes_be();
        expected[256 - bytes.len()..].copy_from_slice(&bytes);
        assert_eq!(
            pkcs1_v15_block(hash, &digest, 256).unwrap(),
            expected,
            "{hash:?}"
        );
    }
}

#[test]
fn rsa_signature_through_a_card_verifies() {
    let key = rsa_key();
    let message = b"H(origin) || H(nonce)";
    let digest = Sha256::digest(message);
    let mut card = SigningCard::new(0x07, 0x9A, |input: &[u8]| {
        assert_eq!(input.len(), 256);
        // Raw RSA with the private exponent, which is all a PIV card does.
        let out = BigUint::from_bytes_be(input).modpow(key.d(), key.n());
        out.to_bytes_be()
    });
    let signature = {
        let mut piv = Piv::new(&mut card);
        sign_digest(
            &mut piv,
            Slot::Authentication,
            Algorithm::Rsa2048,
            HashAlgorithm::Sha256,
            &digest,
        )
        .unwrap()
    };
    assert_eq!(signature.len(), 256);
    key.to_public_key()
        .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
        .unwrap();
    // 266 bytes of command: two chained APDUs; 264 bytes of answer: one GET RESPONSE.
    assert_eq!(card.apdus, 3);
}

#[test]
fn ecdsa_p256_through_a_card_verifies() {
    use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
    use p256::ecdsa::{Signature, SigningKey};
    let key = SigningKey::random(&mut rand::thread_rng());
    let digest = Sha256::digest(b"signed data");
    let mut card = SigningCard::new(0x11, 0x9A, |input: &[u8]| {
        assert_eq!(input.len(), 32);
        let signature: Signature = key.sign_prehash(input).unwrap();
        signature.to_der().as_bytes().to_vec()
    });
    let raw = {
        let mut piv = Piv::new(&mut card);
        sign_digest(
            &mut piv,
            Slot::Authentication,
            Algorithm::EccP256,
            HashAlgorithm::Sha256,
            &digest,
        )
        .unwrap()
    };
    assert_eq!(raw.len(), 64);
    let signature = Signature::from_slice(&raw).unwrap();
    key.verifying_key()
        .verify_prehash(&digest, &signature)
        .unwrap();
}

#[test]
fn wrong_digest_length_is_refused_before_the_card() {
    let mut card = SigningCard::new(0x07, 0x9A, |_: &[u8]| unreachable!());
    let mut piv = Piv::new(&mut card);
    let result = sign_digest(
        &mut piv,
        Slot::Authentication,
        Algorithm::Rsa2048,
        HashAlgorithm::Sha384,
        &[0; 32],
    );
    assert!(matches!(result, Err(CardError::InvalidInput(_))));
    assert_eq!(card.apdus, 0);
}

#[test]
fn ecdsa_input_is_sized_to_the_curve() {
    let digest: Vec<u8> = (0..64).collect();
    assert_eq!(ecdsa_input(&digest, 48), digest[..48].to_vec());
    assert_eq!(ecdsa_input(&digest[..32], 32), digest[..32].to_vec());
    let short = ecdsa_input(&digest[..32], 48);
    assert_eq!(&short[..16], &[0; 16]);
    assert_eq!(&short[16..], &digest[..32]);
}

fn der(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = tlv::encode(0x02, r);
    body.extend(tlv::encode(0x02, s));
    tlv::encode(0x30, &body)
}

#[test]
fn der_to_raw_pads_and_strips() {
    let r = [0x7F; 32];
    let mut s = vec![0x00];
    s.extend([0x80; 32]); // high bit set: DER adds a zero byte
    let raw = der_signature_to_raw(&der(&r, &s), 32).unwrap();
    assert_eq!(&raw[..32], &r);
    assert_eq!(&raw[32..], &[0x80; 32]);

    // A short r (leading zero bytes dropped by DER) is left-padded.
    let raw = der_signature_to_raw(&der(&[0x12; 30], &[0x01]), 32).unwrap();
    assert_eq!(&raw[..2], &[0, 0]);
    assert_eq!(&raw[2..32], &[0x12; 30]);
    assert_eq!(&raw[32..63], &[0; 31]);
    assert_eq!(raw[63], 0x01);

    let raw = der_signature_to_raw(&der(&[0x33; 48], &[0x44; 47]), 48).unwrap();
    assert_eq!(raw.len(), 96);
    assert_eq!(raw[48], 0);
}

#[test]
fn der_to_raw_rejects_malformed() {
    let good_r = [0x11; 32];
    let mut trailing = der(&good_r, &good_r);
    trailing.push(0);
    let mut truncated = der(&good_r, &good_r);
    truncated.pop();
    let three = {
        let mut body = tlv::encode(0x02, &good_r);
        body.extend(tlv::encode(0x02, &good_r));
        body.extend(tlv::encode(0x02, &good_r));
        tlv::encode(0x30, &body)
    };
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("trailing byte", trailing),
        ("truncated", truncated),
        ("three integers", three),
        (
            "one integer",
            tlv::encode(0x30, &tlv::encode(0x02, &good_r)),
        ),
        (
            "not a sequence",
            tlv::encode(0x31, &der(&good_r, &good_r)[2..]),
        ),
        ("octet string", {
            let mut body = tlv::encode(0x04, &good_r);
            body.extend(tlv::encode(0x02, &good_r));
            tlv::encode(0x30, &body)
        }),
        ("negative", der(&[0x80; 32], &good_r)),
        ("empty integer", der(&[], &good_r)),
        ("zero", der(&[0x00], &good_r)),
        ("non-minimal", der(&[0x00, 0x11], &good_r)),
        ("too long", der(&[0x11; 33], &good_r)),
        (
            "too long after the sign byte",
            der(&[[0u8].as_slice(), &[0x91; 33]].concat(), &good_r),
        ),
    ];
    for (name, bytes) in cases {
        assert!(
            matches!(
                der_signature_to_raw(&bytes, 32),
                Err(CardError::Malformed(_))
            ),
            "{name}"
        );
    }
}

#[test]
fn rsa_output_is_sized_to_the_modulus() {
    assert_eq!(rsa_signature(vec![1, 2], 4).unwrap(), vec![0, 0, 1, 2]);
    assert!(rsa_signature(vec![1; 5], 4).is_err());
    assert!(rsa_signature(vec![], 4).is_err());
}
