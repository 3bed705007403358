//! Helpers shared by the vcard tests: APDU exchange with chaining / GET RESPONSE, and
//! signature checks against a certificate's public key with RustCrypto.

#![allow(dead_code)] // each test file uses a different subset

use carecard_vcard::{tlv, VirtualCard};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use signature::hazmat::PrehashVerifier;
use spki::DecodePublicKey;
use x509_cert::Certificate;

pub const PIV_SELECT: [u8; 14] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00,
];

/// Splits a response into data and status word.
pub fn split(response: &[u8]) -> (Vec<u8>, u16) {
    let n = response.len();
    assert!(
        n >= 2,
        "response shorter than a status word: {response:02X?}"
    );
    (
        response[..n - 2].to_vec(),
        u16::from_be_bytes([response[n - 2], response[n - 1]]),
    )
}

/// Sends `ins p1 p2 data` the way a PC/SC client must: chained in 255-byte pieces, then
/// GET RESPONSE while the card says 61xx. Returns all data and the final status word.
pub fn exchange(card: &mut VirtualCard, ins: u8, p1: u8, p2: u8, data: &[u8]) -> (Vec<u8>, u16) {
    let mut chunks: Vec<&[u8]> = data.chunks(255).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let last = chunks.len() - 1;
    let mut response = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let cla = if i == last { 0x00 } else { 0x10 };
        let mut apdu = vec![cla, ins, p1, p2];
        if !chunk.is_empty() {
            apdu.push(chunk.len() as u8);
            apdu.extend_from_slice(chunk);
        }
        if i == last {
            apdu.push(0x00);
        }
        response = card.process(&apdu);
        if i != last {
            assert_eq!(split(&response).1, 0x9000, "chained piece {i} refused");
        }
    }
    let (mut out, mut sw) = split(&response);
    while sw >> 8 == 0x61 {
        let le = (sw & 0xFF) as u8;
        let (more, next) = split(&card.process(&[0x00, 0xC0, 0x00, 0x00, le]));
        out.extend(more);
        sw = next;
    }
    (out, sw)
}

pub fn select(card: &mut VirtualCard) -> Vec<u8> {
    let (data, sw) = split(&card.process(&PIV_SELECT));
    assert_eq!(sw, 0x9000);
    data
}

pub fn padded(pin: &str) -> Vec<u8> {
    let mut out = pin.as_bytes().to_vec();
    out.resize(8, 0xFF);
    out
}

pub fn verify(card: &mut VirtualCard, pin: &str) -> u16 {
    exchange(card, 0x20, 0x00, 0x80, &padded(pin)).1
}

/// The certificate DER of a slot, read with GET DATA as a client would.
pub fn read_certificate(card: &mut VirtualCard, tag: [u8; 3]) -> Vec<u8> {
    let (data, sw) = exchange(
        card,
        0xCB,
        0x3F,
        0xFF,
        &[0x5C, 0x03, tag[0], tag[1], tag[2]],
    );
    assert_eq!(sw, 0x9000);
    let object = tlv::find(&data, 0x53).expect("53 wrapper");
    tlv::find(object, 0x70).expect("70 certificate").to_vec()
}

/// GENERAL AUTHENTICATE `7C { 82 00, 81 input }`; the signature inside `7C { 82 }`.
pub fn general_authenticate(
    card: &mut VirtualCard,
    alg: u8,
    key: u8,
    input: &[u8],
) -> (Option<Vec<u8>>, u16) {
    let mut inner = tlv::encode(0x82, &[]);
    inner.extend(tlv::encode(0x81, input));
    let (data, sw) = exchange(card, 0x87, alg, key, &tlv::encode(0x7C, &inner));
    let signature = tlv::find(&data, 0x7C).and_then(|t| tlv::find(t, 0x82).map(<[u8]>::to_vec));
    (signature, sw)
}

/// PKCS#1 v1.5 block for a SHA-256 digest, 256 bytes (what the host pads for RSA-2048).
pub fn pkcs1_sha256_block(digest: &[u8]) -> Vec<u8> {
    const PREFIX: [u8; 19] = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let t_len = PREFIX.len() + digest.len();
    let mut block = vec![0x00, 0x01];
    block.resize(256 - t_len - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&PREFIX);
    block.extend_from_slice(digest);
    block
}

/// Checks that `signature` over `message` was made by the key in `certificate`, with the
/// input `card_input` the card was given (RSA: PKCS#1 v1.5 SHA-256; EC: DER over the digest).
pub fn assert_signature_matches_certificate(certificate: &[u8], message: &[u8], signature: &[u8]) {
    let cert = Certificate::from_der(certificate).expect("certificate parses");
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki encodes");
    let digest = Sha256::digest(message);
    if let Ok(key) = rsa::RsaPublicKey::from_public_key_der(&spki) {
        let sig = rsa::pkcs1v15::Signature::try_from(signature).expect("rsa signature");
        let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key);
        signature::Verifier::verify(&vk, message, &sig).expect("RSA signature verifies");
    } else if let Ok(vk) = p256::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        let sig = p256::ecdsa::Signature::from_der(signature).expect("DER P-256 signature");
        vk.verify_prehash(&digest, &sig)
            .expect("P-256 signature verifies");
    } else if let Ok(vk) = p384::ecdsa::VerifyingKey::from_public_key_der(&spki) {
        let sig = p384::ecdsa::Signature::from_der(signature).expect("DER P-384 signature");
        vk.verify_prehash(&digest, &sig)
            .expect("P-384 signature verifies");
    } else {
        panic!("certificate key is neither RSA, P-256 nor P-384");
    }
}
