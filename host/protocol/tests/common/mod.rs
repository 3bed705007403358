//! Test certificates built with x509-cert's builder, signed by a fresh P-256 key.

// Each test binary uses only some of the helpers.
#![allow(dead_code)]

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{Any, BitString, ObjectIdentifier, UtcTime};
use der::Encode;
use p256::ecdsa::{DerSignature, SigningKey};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use x509_cert::time::{Time, Validity};

/// 2025-01-01T00:00:00Z and 2028-01-01T00:00:00Z.
pub const NOT_BEFORE: u64 = 1_735_689_600;
pub const NOT_AFTER: u64 = 1_830_297_600;

pub fn utc(secs: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(secs)).expect("utc time"))
}

/// A self-signed certificate for `subject` (RFC 4514 text); `key` replaces the signer's own
/// public key in the certificate when given.
pub fn certificate(subject: &str, key: Option<SubjectPublicKeyInfoOwned>) -> Vec<u8> {
    let signer = SigningKey::random(&mut rand::rngs::OsRng);
    let spki = match key {
        Some(k) => k,
        None => {
            let der = signer
                .verifying_key()
                .to_public_key_der()
                .expect("public key der");
            SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).expect("spki")
        }
    };
    let validity = Validity {
        not_before: utc(NOT_BEFORE),
        not_after: utc(NOT_AFTER),
    };
    let builder = CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(42u32),
        validity,
        Name::from_str(subject).expect("subject"),
        spki,
        &signer,
    )
    .expect("builder");
    builder
        .build::<DerSignature>()
        .expect("signed")
        .to_der()
        .expect("der")
}

/// An RSA SubjectPublicKeyInfo whose modulus is `modulus` (big-endian, no sign byte).
pub fn rsa_key(modulus: &[u8]) -> SubjectPublicKeyInfoOwned {
    let n = der::asn1::UintRef::new(modulus).expect("modulus");
    let e = der::asn1::UintRef::new(&[1, 0, 1]).expect("exponent");
    let mut body = n.to_der().expect("n");
    body.extend(e.to_der().expect("e"));
    let mut rsa_public_key = vec![0x30];
    der::Length::try_from(body.len())
        .expect("length")
        .encode_to_vec(&mut rsa_public_key)
        .expect("length");
    rsa_public_key.extend(body);
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1"),
            parameters: Some(Any::from(der::asn1::Null)),
        },
        subject_public_key: BitString::from_bytes(&rsa_public_key).expect("bits"),
    }
}

/// An EC SubjectPublicKeyInfo on the named curve (the point itself is not looked at).
pub fn ec_key(curve: &str) -> SubjectPublicKeyInfoOwned {
    let curve = ObjectIdentifier::new_unwrap(curve);
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.2.840.10045.2.1"),
            parameters: Some(Any::encode_from(&curve).expect("curve")),
        },
        subject_public_key: BitString::from_bytes(&[4; 97]).expect("bits"),
    }
}

/// A key of an algorithm the summary does not know (Ed25519).
pub fn other_key() -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned {
        algorithm: AlgorithmIdentifierOwned {
            oid: ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        },
        subject_public_key: BitString::from_bytes(&[9; 32]).expect("bits"),
    }
}
