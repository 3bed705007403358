//! The card-management service's CA: NHS-style holder certificates for a public key the card
//! generated, signed by the test CA that the CIS2 mock's verifier trusts (`ca.der` + `ca.key`
//! from `carecard-vcard init`).

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

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// How long a new holder certificate lasts (as the virtual card's own: two years).
pub const LIFETIME_DAYS: u64 = 730;
const ORGANISATION: &str = "carecard test";
const ORGANISATIONAL_UNIT: &str = "Care Identity Service (test)";
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// Which key a certificate is for: 9A (authentication: clientAuth) or 9C (signature:
/// nonRepudiation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Slot {
    Authentication,
    Signature,
}

impl Slot {
    pub fn name(self) -> &'static str {
        match self {
            Slot::Authentication => "9A",
            Slot::Signature => "9C",
        }
    }

    pub fn parse(text: &str) -> Option<Slot> {
        match text {
            "9A" => Some(Slot::Authentication),
            "9C" => Some(Slot::Signature),
            _ => None,
        }
    }
}

/// The person a certificate names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub given_name: String,
    pub surname: String,
    /// 12-digit CIS2 user ID (subject serialNumber).
    pub user_id: String,
}

impl Holder {
    /// Checks the shapes a certificate subject needs; `None` if they do not fit.
    pub fn new(given_name: &str, surname: &str, user_id: &str) -> Option<Holder> {
        fn word(s: &str) -> Option<&str> {
            let s = s.trim();
            (!s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control)).then_some(s)
        }
        let digits = user_id.len() == 12 && user_id.bytes().all(|b| b.is_ascii_digit());
        Some(Holder {
            given_name: word(given_name)?.to_owned(),
            surname: word(surname)?.to_owned(),
            user_id: digits.then(|| user_id.to_owned())?,
        })
    }

    pub fn common_name(&self) -> String {
        format!("{} {}", self.given_name, self.surname)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CaError {
    #[error("the CA certificate cannot be read: {0}")]
    Certificate(String),
    #[error("the CA key cannot be read (want a P-256 PKCS#8 DER key, as ca.key): {0}")]
    Key(String),
    #[error("the CA key does not belong to the CA certificate")]
    KeyMismatch,
    #[error("the public key cannot be certified: {0}")]
    PublicKey(String),
    #[error("the certificate cannot be built: {0}")]
    Build(String),
}

/// The test CA with its private key.
pub struct Ca {
    certificate: Certificate,
    key: SigningKey,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field(
                "subject",
                &self.certificate.tbs_certificate.subject.to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// The CA from its certificate (DER) and its P-256 key (PKCS#8 DER); the key must be the
    /// certificate's.
    pub fn from_parts(certificate_der: &[u8], key_pkcs8: &[u8]) -> Result<Ca, CaError> {
        let certificate = Certificate::from_der(certificate_der)
            .map_err(|e| CaError::Certificate(e.to_string()))?;
        let key = SigningKey::from_pkcs8_der(key_pkcs8).map_err(|e| CaError::Key(e.to_string()))?;
        let ours = SubjectPublicKeyInfoOwned::from_key(*key.verifying_key())
            .map_err(|e| CaError::Key(e.to_string()))?;
        if ours != certificate.tbs_certificate.subject_public_key_info {
            return Err(CaError::KeyMismatch);
        }
        Ok(Ca { certificate, key })
    }

    /// A holder certificate for `spki_der` in `slot`, valid from a day before `now` for
    /// [`LIFETIME_DAYS`].
    pub fn issue(
        &self,
        holder: &Holder,
        slot: Slot,
        spki_der: &[u8],
        now: SystemTime,
    ) -> Result<Vec<u8>, CaError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(spki_der)
            .map_err(|e| CaError::PublicKey(e.to_string()))?;
        crate::manage::pop::PublicKey::from_spki_der(spki_der)
            .map_err(|e| CaError::PublicKey(e.to_string()))?;
        let build = |e: der::Error| CaError::Build(e.to_string());
        let subject = name(&[
            (rfc4519::O, Tag::Utf8String, ORGANISATION),
            (rfc4519::OU, Tag::Utf8String, ORGANISATIONAL_UNIT),
            (
                rfc4519::SERIAL_NUMBER,
                Tag::PrintableString,
                &holder.user_id,
            ),
            (rfc4519::SN, Tag::Utf8String, &holder.surname),
            (rfc4519::GIVEN_NAME, Tag::Utf8String, &holder.given_name),
            (rfc4519::CN, Tag::Utf8String, &holder.common_name()),
        ])
        .map_err(build)?;
        let start = now - DAY;
        let validity = Validity {
            not_before: Time::UtcTime(UtcTime::from_system_time(start).map_err(build)?),
            not_after: Time::UtcTime(
                UtcTime::from_system_time(start + DAY * LIFETIME_DAYS as u32).map_err(build)?,
            ),
        };
        let issuer = self.certificate.tbs_certificate.subject.clone();
        let other = |e: x509_cert::builder::Error| CaError::Build(e.to_string());
        let mut builder = CertificateBuilder::new(
            Profile::Manual {
                issuer: Some(issuer),
            },
            serial().map_err(build)?,
            validity,
            subject,
            spki.clone(),
            &self.key,
        )
        .map_err(other)?;
        builder
            .add_extension(&BasicConstraints {
                ca: false,
                path_len_constraint: None,
            })
            .map_err(other)?;
        let usage = match slot {
            Slot::Signature => KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation),
            Slot::Authentication => KeyUsage(KeyUsages::DigitalSignature.into()),
        };
        builder.add_extension(&usage).map_err(other)?;
        if slot == Slot::Authentication {
            builder
                .add_extension(&ExtendedKeyUsage(vec![CLIENT_AUTH]))
                .map_err(other)?;
        }
        builder
            .add_extension(
                &SubjectKeyIdentifier::try_from(spki.owned_to_ref())
                    .map_err(|e| CaError::Build(e.to_string()))?,
            )
            .map_err(other)?;
        let ca_spki = &self.certificate.tbs_certificate.subject_public_key_info;
        builder
            .add_extension(
                &AuthorityKeyIdentifier::try_from(ca_spki.owned_to_ref())
                    .map_err(|e| CaError::Build(e.to_string()))?,
            )
            .map_err(other)?;
        let certificate = builder.build::<DerSignature>().map_err(other)?;
        certificate.to_der().map_err(build)
    }
}

/// A distinguished name from (attribute, string type, value), most significant first.
fn name(parts: &[(ObjectIdentifier, Tag, &str)]) -> der::Result<Name> {
    let mut rdns = Vec::with_capacity(parts.len());
    for (oid, tag, value) in parts {
        let atv = AttributeTypeAndValue {
            oid: *oid,
            value: Any::new(*tag, value.as_bytes())?,
        };
        rdns.push(RelativeDistinguishedName(SetOfVec::try_from(vec![atv])?));
    }
    Ok(RdnSequence(rdns))
}

/// A random positive 16-byte serial.
fn serial() -> der::Result<SerialNumber> {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] = (bytes[0] & 0x7F) | 0x01;
    SerialNumber::new(&bytes)
}
