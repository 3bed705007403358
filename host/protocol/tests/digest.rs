//! What an authentication signs: H(H(origin) || H(nonce)) (DESIGN.md).

use carecard_protocol::{
    authentication_digest, authentication_signed_data, HashFunction, Origin, OriginPolicy,
    TokenAlgorithm,
};
use sha2::{Digest, Sha256, Sha384};

const ORIGIN: &str = "https://ria.ee";
const NONCE: &str = "12345678123456781234567812345678912356789123";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn es256_digest_matches_a_hand_built_concatenation() {
    let mut concatenation = Vec::new();
    concatenation.extend_from_slice(&Sha256::digest(ORIGIN.as_bytes()));
    concatenation.extend_from_slice(&Sha256::digest(NONCE.as_bytes()));
    assert_eq!(concatenation.len(), 64);
    let expected = Sha256::digest(&concatenation).to_vec();

    assert_eq!(
        authentication_signed_data(TokenAlgorithm::Es256, ORIGIN, NONCE),
        concatenation
    );
    assert_eq!(
        authentication_digest(TokenAlgorithm::Es256, ORIGIN, NONCE),
        expected
    );
}

#[test]
fn es384_uses_sha384_throughout() {
    let mut concatenation = Vec::new();
    concatenation.extend_from_slice(&Sha384::digest(ORIGIN.as_bytes()));
    concatenation.extend_from_slice(&Sha384::digest(NONCE.as_bytes()));
    assert_eq!(concatenation.len(), 96);
    let expected = Sha384::digest(&concatenation).to_vec();
    assert_eq!(
        authentication_signed_data(TokenAlgorithm::Es384, ORIGIN, NONCE),
        concatenation
    );
    assert_eq!(
        authentication_digest(TokenAlgorithm::Es384, ORIGIN, NONCE),
        expected
    );
}

/// Known answers computed outside Rust (Python hashlib).
#[test]
fn known_answers() {
    assert_eq!(
        hex(&authentication_digest(TokenAlgorithm::Es256, ORIGIN, NONCE)),
        "b279891a871202b377cf749958337a6ac4b69c00ede9746966c00b7887f07f14"
    );
    assert_eq!(
        hex(&authentication_digest(TokenAlgorithm::Rs256, ORIGIN, NONCE)),
        "b279891a871202b377cf749958337a6ac4b69c00ede9746966c00b7887f07f14"
    );
    assert_eq!(
        hex(&authentication_digest(TokenAlgorithm::Es384, ORIGIN, NONCE)),
        "6ab5b68a5b108467440b4787a75bd827a7afcdd7d90f4f3ec57fe4718d0cc6d3daeb4affee561758dfbb5d3fee88b548"
    );
}

#[test]
fn a_parsed_origin_signs_its_normalised_form() {
    let origin = Origin::parse("HTTPS://RIA.EE:443", &OriginPolicy::default()).expect("valid");
    assert_eq!(
        authentication_digest(TokenAlgorithm::Ps256, &origin, NONCE),
        authentication_digest(TokenAlgorithm::Ps256, ORIGIN, NONCE)
    );
}

#[test]
fn origin_and_nonce_are_not_interchangeable() {
    assert_ne!(
        authentication_digest(TokenAlgorithm::Es256, ORIGIN, NONCE),
        authentication_digest(TokenAlgorithm::Es256, NONCE, ORIGIN)
    );
}

#[test]
fn token_algorithms_pick_their_hash() {
    assert_eq!(TokenAlgorithm::Rs256.hash_function(), HashFunction::Sha256);
    assert_eq!(TokenAlgorithm::Ps256.hash_function(), HashFunction::Sha256);
    assert_eq!(TokenAlgorithm::Es256.hash_function(), HashFunction::Sha256);
    assert_eq!(TokenAlgorithm::Es384.hash_function(), HashFunction::Sha384);
}

#[test]
fn hash_functions_have_their_lengths_and_names() {
    for (h, len, name) in [
        (HashFunction::Sha224, 28, "SHA-224"),
        (HashFunction::Sha256, 32, "SHA-256"),
        (HashFunction::Sha384, 48, "SHA-384"),
        (HashFunction::Sha512, 64, "SHA-512"),
    ] {
        assert_eq!(h.digest_len(), len);
        assert_eq!(h.hash(b"abc").len(), len);
        assert_eq!(h.as_str(), name);
        assert_eq!(HashFunction::from_wire(name), Some(h));
        assert_eq!(serde_json::to_string(&h).ok(), Some(format!("\"{name}\"")));
    }
    assert_eq!(
        hex(&HashFunction::Sha256.hash(b"abc")),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(HashFunction::from_wire("sha-256"), None);
    assert_eq!(HashFunction::from_wire("SHA-1"), None);
}
