//! The test CA and the NHS-style card holder certificates `init` puts on a card.

use std::time::{Duration, SystemTime};

use const_oid::db::rfc4519;
use const_oid::ObjectIdentifier;
use der::asn1::{Any, SetOfVec, UtcTime};
use der::referenced::OwnedToRef;
use der::{Decode, Encode, Tag};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;
use zeroize::Zeroizing;

use crate::error::VcardError;
use crate::keys;
use crate::state::CardProfile;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
pub const CA_COMMON_NAME: &str = "carecard Test CA";
const ORGANISATION: &str = "carecard test";
const ORGANISATIONAL_UNIT: &str = "Care Identity Service (test)";
/// id-kp-clientAuth (RFC 5280).
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// Who the card belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub given_name: String,
    pub family_name: String,
    /// The 12-digit CIS2 user id (subject serialNumber).
    pub user_id: String,
}

impl Default for Holder {
    fn default() -> Holder {
        Holder {
            given_name: "Alex".into(),
            family_name: "Tester".into(),
            user_id: "555000000001".into(),
        }
    }
}

impl Holder {
    /// `"Given Family"` (the family name is the last word) and a 12-digit user id.
    pub fn new(name: &str, user_id: &str) -> Result<Holder, VcardError> {
        let (given, family) = name
            .trim()
            .rsplit_once(' ')
            .ok_or_else(|| VcardError::Usage(format!("--name {name:?}: want \"Given Family\"")))?;
        if user_id.len() != 12 || !user_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(VcardError::Usage(format!(
                "--user-id {user_id:?}: want 12 digits"
            )));
        }
        Ok(Holder {
            given_name: given.trim().to_owned(),
            family_name: family.trim().to_owned(),
            user_id: user_id.to_owned(),
        })
    }

    pub fn common_name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// A CA: its certificate and its signing key.
#[derive(Debug)]
pub struct TestCa {
    pub certificate: Certificate,
    key: SigningKey,
}

impl TestCa {
    /// A fresh self-signed P-256 CA valid for ten years.
    pub fn generate() -> Result<TestCa, VcardError> {
        let key = SigningKey::random(&mut rand::thread_rng());
        let spki = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).map_err(cert_err)?;
        let subject = name(&[
            (rfc4519::O, Tag::Utf8String, ORGANISATION),
            (rfc4519::CN, Tag::Utf8String, CA_COMMON_NAME),
        ])?;
        let validity = validity(SystemTime::now() - DAY, 3653 * DAY)?;
        let mut builder = CertificateBuilder::new(
            Profile::Manual { issuer: None },
            serial()?,
            validity,
            subject,
            spki.clone(),
            &key,
        )
        .map_err(cert_err)?;
        builder
            .add_extension(&BasicConstraints {
                ca: true,
                path_len_constraint: Some(0),
            })
            .map_err(cert_err)?;
        builder
            .add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
            .map_err(cert_err)?;
        builder
            .add_extension(&SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(cert_err)?)
            .map_err(cert_err)?;
        let certificate = builder.build::<DerSignature>().map_err(cert_err)?;
        Ok(TestCa { certificate, key })
    }

    /// The CA as PKCS#8, to keep it beside the card for issuing more certificates.
    pub fn from_parts(certificate_der: &[u8], key_pkcs8: &[u8]) -> Result<TestCa, VcardError> {
        Ok(TestCa {
            certificate: Certificate::from_der(certificate_der).map_err(cert_err)?,
            key: SigningKey::from_pkcs8_der(key_pkcs8)
                .map_err(|e| VcardError::Key(e.to_string()))?,
        })
    }

    pub fn der(&self) -> Result<Vec<u8>, VcardError> {
        self.certificate.to_der().map_err(cert_err)
    }

    /// The card holder's certificate for the key in `slot` (0x9A or 0x9C), valid for two
    /// years from yesterday (so a clock a little behind does not reject it).
    pub fn issue(
        &self,
        holder: &Holder,
        slot: u8,
        profile: CardProfile,
        key_pkcs8: &[u8],
    ) -> Result<Vec<u8>, VcardError> {
        let spki = keys::public_key_info(profile, key_pkcs8)?;
        let subject = name(&[
            (rfc4519::O, Tag::Utf8String, ORGANISATION),
            (rfc4519::OU, Tag::Utf8String, ORGANISATIONAL_UNIT),
            (
                rfc4519::SERIAL_NUMBER,
                Tag::PrintableString,
                &holder.user_id,
            ),
            (rfc4519::SN, Tag::Utf8String, &holder.family_name),
            (rfc4519::GIVEN_NAME, Tag::Utf8String, &holder.given_name),
            (rfc4519::CN, Tag::Utf8String, &holder.common_name()),
        ])?;
        let validity = validity(SystemTime::now() - DAY, 730 * DAY)?;
        let issuer = self.certificate.tbs_certificate.subject.clone();
        let mut builder = CertificateBuilder::new(
            Profile::Manual {
                issuer: Some(issuer),
            },
            serial()?,
            validity,
            subject,
            spki.clone(),
            &self.key,
        )
        .map_err(cert_err)?;
        builder
            .add_extension(&BasicConstraints {
                ca: false,
                path_len_constraint: None,
            })
            .map_err(cert_err)?;
        let usage = if slot == 0x9C {
            KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
        } else {
            KeyUsage(KeyUsages::DigitalSignature.into())
        };
        builder.add_extension(&usage).map_err(cert_err)?;
        if slot == 0x9A {
            builder
                .add_extension(&ExtendedKeyUsage(vec![CLIENT_AUTH]))
                .map_err(cert_err)?;
        }
        builder
            .add_extension(&SubjectKeyIdentifier::try_from(spki.owned_to_ref()).map_err(cert_err)?)
            .map_err(cert_err)?;
        let ca_spki = &self.certificate.tbs_certificate.subject_public_key_info;
        builder
            .add_extension(
                &AuthorityKeyIdentifier::try_from(ca_spki.owned_to_ref()).map_err(cert_err)?,
            )
            .map_err(cert_err)?;
        let cert = builder.build::<DerSignature>().map_err(cert_err)?;
        cert.to_der().map_err(cert_err)
    }

    /// The CA key as PKCS#8 DER.
    pub fn key_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, VcardError> {
        use p256::pkcs8::EncodePrivateKey;
        let der = self
            .key
            .to_pkcs8_der()
            .map_err(|e| VcardError::Key(e.to_string()))?;
        Ok(Zeroizing::new(der.as_bytes().to_vec()))
    }
}

/// A distinguished name from (attribute, string type, value), most significant first.
fn name(parts: &[(ObjectIdentifier, Tag, &str)]) -> Result<Name, VcardError> {
    let mut rdns = Vec::with_capacity(parts.len());
    for (oid, tag, value) in parts {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: Any::new(*tag, value.as_bytes()).map_err(cert_err)?,
        };
        rdns.push(RelativeDistinguishedName(
            SetOfVec::try_from(vec![atv]).map_err(cert_err)?,
        ));
    }
    Ok(RdnSequence(rdns))
}

fn validity(start: SystemTime, length: Duration) -> Result<Validity, VcardError> {
    let at = |t: SystemTime| -> Result<Time, VcardError> {
        Ok(Time::UtcTime(
            UtcTime::from_system_time(t).map_err(cert_err)?,
        ))
    };
    Ok(Validity {
        not_before: at(start)?,
        not_after: at(start + length)?,
    })
}

/// A random positive 16-byte serial (top bit clear so DER keeps it positive, never zero).
fn serial() -> Result<SerialNumber, VcardError> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7F) | 0x01;
    SerialNumber::new(&bytes).map_err(cert_err)
}

fn cert_err(e: impl std::fmt::Display) -> VcardError {
    VcardError::Certificate(e.to_string())
}
