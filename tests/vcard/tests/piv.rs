//! The host's PIV card edge (`carecard_card::piv`) against the virtual card, in memory: each
//! profile's certificates, PIN handling and signatures, checked with RustCrypto against the
//! certificate's public key.

mod common;

use carecard_card::piv::{Algorithm, PinStatus, Piv, Slot};
use carecard_card::signing::{sign_digest, HashAlgorithm};
use carecard_card::CardError;
use carecard_vcard::{CardProfile, VirtualCard};
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use signature::hazmat::PrehashVerifier;
use spki::DecodePublicKey;
use x509_cert::Certificate;

fn spki_der(certificate: &[u8]) -> Vec<u8> {
    Certificate::from_der(certificate)
        .expect("certificate parses")
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki")
}

/// Checks a signature as `sign_digest` returns it (RSA block or raw r‖s) over `digest`.
fn check_signature(profile: CardProfile, certificate: &[u8], digest: &[u8], signature: &[u8]) {
    let spki = spki_der(certificate);
    match profile {
        CardProfile::Rsa2048 => {
            let key = rsa::RsaPublicKey::from_public_key_der(&spki).expect("RSA key");
            key.verify(rsa::Pkcs1v15Sign::new::<Sha256>(), digest, signature)
                .expect("RSA signature verifies");
        }
        CardProfile::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_public_key_der(&spki).expect("P-256 key");
            let sig = p256::ecdsa::Signature::from_slice(signature).expect("raw r||s");
            key.verify_prehash(digest, &sig)
                .expect("P-256 signature verifies");
        }
        CardProfile::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_public_key_der(&spki).expect("P-384 key");
            let sig = p384::ecdsa::Signature::from_slice(signature).expect("raw r||s");
            key.verify_prehash(digest, &sig)
                .expect("P-384 signature verifies");
        }
    }
}

fn algorithm(profile: CardProfile) -> Algorithm {
    match profile {
        CardProfile::Rsa2048 => Algorithm::Rsa2048,
        CardProfile::P256 => Algorithm::EccP256,
        CardProfile::P384 => Algorithm::EccP384,
    }
}

#[test]
fn host_piv_edge_signs_with_every_profile() {
    for profile in [CardProfile::Rsa2048, CardProfile::P256, CardProfile::P384] {
        let mut card = VirtualCard::in_memory(profile);
        let mut piv = Piv::new(&mut card);
        piv.select().expect("select");
        let auth = piv
            .read_certificate(Slot::Authentication)
            .expect("read 9A")
            .expect("9A certificate present");
        let sign = piv
            .read_certificate(Slot::Signature)
            .expect("read 9C")
            .expect("9C certificate present");
        assert_eq!(
            piv.read_certificate(Slot::KeyManagement).expect("read 9D"),
            None
        );
        assert_eq!(piv.pin_status().expect("status"), PinStatus::RetriesLeft(3));

        let digest = Sha256::digest(format!("{profile:?} login"));
        let refused = sign_digest(
            &mut piv,
            Slot::Authentication,
            algorithm(profile),
            HashAlgorithm::Sha256,
            &digest,
        );
        assert!(refused.is_err(), "{profile:?}: signed without the PIN");

        piv.verify_pin(b"123456").expect("verify");
        assert_eq!(piv.pin_status().expect("status"), PinStatus::Verified);
        for (slot, certificate) in [(Slot::Authentication, &auth), (Slot::Signature, &sign)] {
            if slot == Slot::Signature {
                piv.verify_pin(b"123456")
                    .expect("verify before a 9C signature");
            }
            let signature = sign_digest(
                &mut piv,
                slot,
                algorithm(profile),
                HashAlgorithm::Sha256,
                &digest,
            )
            .unwrap_or_else(|e| panic!("{profile:?} {slot}: {e}"));
            check_signature(profile, certificate, &digest, &signature);
        }
    }
}

#[test]
fn host_piv_edge_pin_errors_and_unlock() {
    let mut card = VirtualCard::in_memory(CardProfile::P256);
    let mut piv = Piv::new(&mut card);
    piv.select().expect("select");
    for left in [2, 1] {
        match piv.verify_pin(b"000000") {
            Err(CardError::PinIncorrect { retries_left }) => assert_eq!(retries_left, left),
            other => panic!("expected PinIncorrect, got {other:?}"),
        }
    }
    assert!(matches!(
        piv.verify_pin(b"000000"),
        Err(CardError::PinIncorrect { retries_left: 0 } | CardError::PinBlocked)
    ));
    assert!(matches!(
        piv.verify_pin(b"123456"),
        Err(CardError::PinBlocked)
    ));
    assert_eq!(piv.pin_status().expect("status"), PinStatus::Blocked);
    match piv.reset_retry_counter(b"87654321", b"246810") {
        Err(CardError::PukIncorrect { retries_left }) => assert_eq!(retries_left, 2),
        other => panic!("expected PukIncorrect, got {other:?}"),
    }
    piv.reset_retry_counter(b"12345678", b"246810")
        .expect("unlock");
    piv.change_pin(b"246810", b"13572468").expect("change");
    piv.verify_pin(b"13572468").expect("verify new PIN");
}
