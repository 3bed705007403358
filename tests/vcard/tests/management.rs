//! Card management key (9B) authentication and what it unlocks: GENERATE ASYMMETRIC KEY PAIR
//! and PUT DATA.

mod common;

use aes::cipher::{BlockDecrypt, BlockEncrypt, KeyInit};
use carecard_vcard::{tlv, CardProfile, VirtualCard, DEFAULT_MANAGEMENT_KEY};
use common::*;
use sha2::{Digest, Sha256};

fn tdes(key: &[u8]) -> des::TdesEde3 {
    des::TdesEde3::new_from_slice(key).expect("24-byte key")
}

#[allow(deprecated)] // generic-array 0.14, as cipher 0.4 wants it
fn encrypt(key: &[u8], block: &[u8]) -> Vec<u8> {
    let mut out = block.to_vec();
    tdes(key).encrypt_block(aes::cipher::generic_array::GenericArray::from_mut_slice(
        &mut out,
    ));
    out
}

#[allow(deprecated)]
fn decrypt(key: &[u8], block: &[u8]) -> Vec<u8> {
    let mut out = block.to_vec();
    tdes(key).decrypt_block(aes::cipher::generic_array::GenericArray::from_mut_slice(
        &mut out,
    ));
    out
}

fn ga(card: &mut VirtualCard, inner: &[u8]) -> (Vec<u8>, u16) {
    exchange(card, 0x87, 0x03, 0x9B, &tlv::encode(0x7C, inner))
}

/// SP 800-73-4 mutual authentication with `key`; true if both sides proved themselves.
fn mutual_authenticate(card: &mut VirtualCard, key: &[u8]) -> bool {
    let (reply, sw) = ga(card, &tlv::encode(0x80, &[]));
    assert_eq!(sw, 0x9000);
    let witness = tlv::find(tlv::find(&reply, 0x7C).expect("7C"), 0x80)
        .expect("80")
        .to_vec();
    assert_eq!(witness.len(), 8);
    let challenge = [0x5A; 8];
    let mut inner = tlv::encode(0x80, &decrypt(key, &witness));
    inner.extend(tlv::encode(0x81, &challenge));
    inner.extend(tlv::encode(0x82, &[]));
    let (reply, sw) = ga(card, &inner);
    if sw != 0x9000 {
        return false;
    }
    let answer = tlv::find(tlv::find(&reply, 0x7C).expect("7C"), 0x82).expect("82");
    answer == encrypt(key, &challenge)
}

#[test]
fn mutual_authentication_with_the_default_key() {
    let mut card = VirtualCard::in_memory(CardProfile::P256);
    select(&mut card);
    let mut wrong = DEFAULT_MANAGEMENT_KEY;
    wrong[0] ^= 0x10;
    assert!(!mutual_authenticate(&mut card, &wrong));
    assert!(mutual_authenticate(&mut card, &DEFAULT_MANAGEMENT_KEY));
    // A second step without a first one is out of order.
    let mut inner = tlv::encode(0x80, &[0; 8]);
    inner.extend(tlv::encode(0x81, &[0; 8]));
    assert_eq!(ga(&mut card, &inner).1, 0x6985);
    // The management key's algorithm must be named correctly.
    assert_eq!(
        exchange(
            &mut card,
            0x87,
            0x08,
            0x9B,
            &tlv::encode(0x7C, &tlv::encode(0x80, &[]))
        )
        .1,
        0x6A86
    );
}

#[test]
fn external_authentication_with_the_default_key() {
    let mut card = VirtualCard::in_memory(CardProfile::P256);
    select(&mut card);
    for (key, expected) in [
        (&[7u8; 24][..], 0x6982),
        (&DEFAULT_MANAGEMENT_KEY[..], 0x9000),
    ] {
        let (reply, sw) = ga(&mut card, &tlv::encode(0x81, &[]));
        assert_eq!(sw, 0x9000);
        let challenge = tlv::find(tlv::find(&reply, 0x7C).expect("7C"), 0x81).expect("81");
        let (_, sw) = ga(&mut card, &tlv::encode(0x82, &encrypt(key, challenge)));
        assert_eq!(sw, expected);
    }
    let cert = tlv::encode(0x53, &tlv::encode(0x70, b"not really a certificate"));
    let mut put = tlv::encode(0x5C, &[0x5F, 0xC1, 0x0B]);
    put.extend(cert);
    assert_eq!(exchange(&mut card, 0xDB, 0x3F, 0xFF, &put).1, 0x9000);
}

#[test]
fn generate_and_put_data_need_the_management_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    carecard_vcard::init(dir.path(), CardProfile::P256, &Default::default()).expect("init");
    let path = dir.path().join("card.json");
    let mut card = VirtualCard::load(&path).expect("load");
    select(&mut card);
    let generate = tlv::encode(0xAC, &tlv::encode(0x80, &[0x14]));
    assert_eq!(exchange(&mut card, 0x47, 0x00, 0x9A, &generate).1, 0x6982);
    let mut put = tlv::encode(0x5C, &[0x5F, 0xC1, 0x05]);
    put.extend(tlv::encode(0x53, &tlv::encode(0x70, &[0x30; 300])));
    assert_eq!(exchange(&mut card, 0xDB, 0x3F, 0xFF, &put).1, 0x6982);

    assert!(mutual_authenticate(&mut card, &DEFAULT_MANAGEMENT_KEY));
    // A P-384 key replaces the P-256 one in 9A; the answer carries its public point.
    let (reply, sw) = exchange(&mut card, 0x47, 0x00, 0x9A, &generate);
    assert_eq!(sw, 0x9000);
    let point = tlv::find(tlv::find(&reply, 0x7F49).expect("7F49"), 0x86)
        .expect("86")
        .to_vec();
    let public = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).expect("P-384 point");
    // The certificate object is written through chaining (over 255 bytes).
    assert_eq!(exchange(&mut card, 0xDB, 0x3F, 0xFF, &put).1, 0x9000);
    assert_eq!(
        exchange(&mut card, 0xDB, 0x3F, 0xFF, &tlv::encode(0x5C, &[0x7E])).1,
        0x6A80
    );
    drop(card);

    // After a restart: the new key signs, the new object is there, the 9B proof is gone.
    let mut card = VirtualCard::load(&path).expect("reload");
    select(&mut card);
    assert_eq!(exchange(&mut card, 0x47, 0x00, 0x9A, &generate).1, 0x6982);
    let (data, sw) = exchange(&mut card, 0xCB, 0x3F, 0xFF, &[0x5C, 3, 0x5F, 0xC1, 0x05]);
    assert_eq!(sw, 0x9000);
    assert_eq!(
        tlv::find(tlv::find(&data, 0x53).expect("53"), 0x70),
        Some(&[0x30; 300][..])
    );
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    let digest = Sha256::digest(b"renewed");
    let (signature, sw) = general_authenticate(&mut card, 0x14, 0x9A, &digest);
    assert_eq!(sw, 0x9000);
    let signature = p384::ecdsa::Signature::from_der(&signature.expect("signature")).expect("DER");
    signature::hazmat::PrehashVerifier::verify_prehash(&public, &digest, &signature)
        .expect("signature by the generated key");
}

#[test]
fn generate_rsa_returns_modulus_and_exponent() {
    let mut card = VirtualCard::in_memory(CardProfile::Rsa2048);
    select(&mut card);
    assert!(mutual_authenticate(&mut card, &DEFAULT_MANAGEMENT_KEY));
    let generate = tlv::encode(0xAC, &tlv::encode(0x80, &[0x07]));
    let (reply, sw) = exchange(&mut card, 0x47, 0x00, 0x9C, &generate);
    assert_eq!(sw, 0x9000);
    let body = tlv::find(&reply, 0x7F49).expect("7F49");
    assert_eq!(tlv::find(body, 0x81).map(<[u8]>::len), Some(256));
    assert_eq!(tlv::find(body, 0x82), Some(&[0x01, 0x00, 0x01][..]));
    // Unknown algorithm, or a key reference that cannot hold a generated key.
    let bad = tlv::encode(0xAC, &tlv::encode(0x80, &[0x06]));
    assert_eq!(exchange(&mut card, 0x47, 0x00, 0x9C, &bad).1, 0x6A80);
    assert_eq!(exchange(&mut card, 0x47, 0x00, 0x9B, &generate).1, 0x6A86);
}
