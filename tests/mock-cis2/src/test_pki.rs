//! Test-only PKI: CAs, leaf certificates and Web eID tokens built in the test, signed correctly
//! or deliberately wrongly. Certificates are assembled field by field (not with the x509-cert
//! builder profiles) so each test controls exactly which extensions are present.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_protocol::{authentication_signed_data, TokenAlgorithm};
use const_oid::db::{rfc5280, rfc5912};
use der::asn1::{BitString, OctetString, UtcTime};
use der::{Decode, Encode};
use signature::{RandomizedSigner as _, SignatureEncoding as _, Signer as _};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey as _, SubjectPublicKeyInfoOwned};
use x509_cert::certificate::{TbsCertificate, Version};
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::ext::Extension;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

/// Unix time the test certificates start (2025-01-01); they last 5 years.
pub const NOT_BEFORE: u64 = 1_735_689_600;
pub const NOT_AFTER: u64 = NOT_BEFORE + 5 * 365 * 86_400;

/// A moment inside every test certificate's validity.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(NOT_BEFORE + 86_400)
}

#[derive(Debug, Clone)]
pub enum Key {
    Rsa(rsa::RsaPrivateKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// RSA key generation is slow; tests share one key (or two, where they must differ).
pub fn rsa_key(which: usize) -> Key {
    static KEYS: [OnceLock<rsa::RsaPrivateKey>; 2] = [OnceLock::new(), OnceLock::new()];
    let key = KEYS[which % 2].get_or_init(|| {
        rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation")
    });
    Key::Rsa(key.clone())
}

pub fn p256_key() -> Key {
    Key::P256(p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
}

pub fn p384_key() -> Key {
    Key::P384(p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
}

impl Key {
    pub fn spki(&self) -> SubjectPublicKeyInfoOwned {
        let der = match self {
            Key::Rsa(k) => k.to_public_key().to_public_key_der(),
            Key::P256(k) => k.verifying_key().to_public_key_der(),
            Key::P384(k) => k.verifying_key().to_public_key_der(),
        }
        .expect("encode public key");
        SubjectPublicKeyInfoOwned::from_der(der.as_bytes()).expect("decode SPKI")
    }

    fn x509_algorithm(&self) -> AlgorithmIdentifierOwned {
        let (oid, parameters) = match self {
            Key::Rsa(_) => (
                rfc5912::SHA_256_WITH_RSA_ENCRYPTION,
                Some(der::asn1::Null.into()),
            ),
            Key::P256(_) => (rfc5912::ECDSA_WITH_SHA_256, None),
            Key::P384(_) => (rfc5912::ECDSA_WITH_SHA_384, None),
        };
        AlgorithmIdentifierOwned { oid, parameters }
    }

    /// A certificate signature (DER ECDSA or PKCS#1 v1.5) over `tbs`.
    fn sign_x509(&self, tbs: &[u8]) -> Vec<u8> {
        match self {
            Key::Rsa(k) => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone())
                .sign(tbs)
                .to_vec(),
            Key::P256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(tbs);
                sig.to_der().as_bytes().to_vec()
            }
            Key::P384(k) => {
                let sig: p384::ecdsa::Signature = k.sign(tbs);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }

    /// A token signature as the host produces it: PKCS#1 v1.5 / PSS, or raw `r || s`.
    pub fn sign_token(&self, algorithm: TokenAlgorithm, data: &[u8]) -> Vec<u8> {
        match (self, algorithm) {
            (Key::Rsa(k), TokenAlgorithm::Ps256) => {
                rsa::pss::SigningKey::<sha2::Sha256>::new(k.clone())
                    .sign_with_rng(&mut rand::rngs::OsRng, data)
                    .to_vec()
            }
            (Key::Rsa(k), _) => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone())
                .sign(data)
                .to_vec(),
            (Key::P256(k), _) => {
                let sig: p256::ecdsa::Signature = k.sign(data);
                sig.to_bytes().to_vec()
            }
            (Key::P384(k), _) => {
                let sig: p384::ecdsa::Signature = k.sign(data);
                sig.to_bytes().to_vec()
            }
        }
    }

    pub fn token_algorithm(&self) -> TokenAlgorithm {
        match self {
            Key::Rsa(_) => TokenAlgorithm::Rs256,
            Key::P256(_) => TokenAlgorithm::Es256,
            Key::P384(_) => TokenAlgorithm::Es384,
        }
    }
}

/// What goes into a certificate besides keys and names.
#[derive(Debug, Clone)]
pub struct Profile {
    pub not_before: u64,
    pub not_after: u64,
    pub key_usage: Option<KeyUsages>,
    pub extended_key_usage: Option<Vec<const_oid::ObjectIdentifier>>,
    pub ca: bool,
}

impl Profile {
    pub fn login() -> Self {
        Self {
            not_before: NOT_BEFORE,
            not_after: NOT_AFTER,
            key_usage: Some(KeyUsages::DigitalSignature),
            extended_key_usage: Some(vec![rfc5280::ID_KP_CLIENT_AUTH]),
            ca: false,
        }
    }

    pub fn ca() -> Self {
        Self {
            key_usage: Some(KeyUsages::KeyCertSign),
            extended_key_usage: None,
            ca: true,
            ..Self::login()
        }
    }
}

pub fn name(rfc4514: &str) -> Name {
    rfc4514.parse().expect("test name")
}

fn time(unix: u64) -> Time {
    Time::UtcTime(UtcTime::from_unix_duration(Duration::from_secs(unix)).expect("UTCTime range"))
}

fn extension(oid: const_oid::ObjectIdentifier, critical: bool, value: &impl Encode) -> Extension {
    Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value.to_der().expect("encode extension")).expect("octets"),
    }
}

/// Issues a certificate for `subject_key` named `subject`, signed by `issuer_key` as `issuer`.
pub fn issue(
    subject: &Name,
    subject_key: &Key,
    issuer: &Name,
    issuer_key: &Key,
    profile: &Profile,
) -> Vec<u8> {
    let mut extensions = vec![extension(
        rfc5280::ID_CE_BASIC_CONSTRAINTS,
        true,
        &BasicConstraints {
            ca: profile.ca,
            path_len_constraint: None,
        },
    )];
    if let Some(usage) = profile.key_usage {
        extensions.push(extension(
            rfc5280::ID_CE_KEY_USAGE,
            true,
            &KeyUsage(usage.into()),
        ));
    }
    if let Some(purposes) = &profile.extended_key_usage {
        extensions.push(extension(
            rfc5280::ID_CE_EXT_KEY_USAGE,
            false,
            &ExtendedKeyUsage(purposes.clone()),
        ));
    }
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&[0x01, 0x23, 0x45]).expect("serial"),
        signature: issuer_key.x509_algorithm(),
        issuer: issuer.clone(),
        validity: Validity {
            not_before: time(profile.not_before),
            not_after: time(profile.not_after),
        },
        subject: subject.clone(),
        subject_public_key_info: subject_key.spki(),
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions),
    };
    let signature = issuer_key.sign_x509(&tbs.to_der().expect("encode TBS"));
    Certificate {
        tbs_certificate: tbs,
        signature_algorithm: issuer_key.x509_algorithm(),
        signature: BitString::from_bytes(&signature).expect("bit string"),
    }
    .to_der()
    .expect("encode certificate")
}

/// A test CA: its name, key and certificate.
#[derive(Debug, Clone)]
pub struct Ca {
    pub name: Name,
    pub key: Key,
    pub der: Vec<u8>,
}

impl Ca {
    pub fn new(key: Key) -> Self {
        Self::named("cn=carecard test CA,o=carecard", key)
    }

    pub fn named(subject: &str, key: Key) -> Self {
        let name = name(subject);
        let der = issue(&name, &key, &name, &key, &Profile::ca());
        Self { name, key, der }
    }

    pub fn issue(&self, subject: &str, key: &Key, profile: &Profile) -> Vec<u8> {
        issue(&name(subject), key, &self.name, &self.key, profile)
    }
}

pub const ALICE: &str = "cn=Alice Example,givenName=Alice,sn=Example,serialNumber=555012345678";

/// A Web eID token as the host would return it, signed over `origin` and `nonce`.
pub fn token(
    certificate: &[u8],
    key: &Key,
    algorithm: TokenAlgorithm,
    origin: &str,
    nonce: &str,
) -> serde_json::Value {
    let signed = authentication_signed_data(algorithm, origin, nonce);
    let name = serde_json::to_value(algorithm).expect("algorithm name");
    serde_json::json!({
        "unverifiedCertificate": STANDARD.encode(certificate),
        "algorithm": name,
        "signature": STANDARD.encode(key.sign_token(algorithm, &signed)),
        "format": "web-eid:1.0",
        "appVersion": "https://carecard.invalid/carecard/0.1.0",
    })
}
