//! What the extension and host show about a card's certificate: holder, user ID, validity, key.

use const_oid::db::{rfc4519, rfc5912};
use const_oid::ObjectIdentifier;
use der::asn1::{Ia5StringRef, PrintableStringRef, TeletexStringRef, UintRef, Utf8StringRef};
use der::{Decode, Reader, SliceReader, Tag, Tagged};
use serde::{Deserialize, Serialize};
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::Certificate;

use crate::hash::TokenAlgorithm;
use crate::validation::ValidationError;

/// Length of an NHS smartcard user ID (the subject `serialNumber`).
const USER_ID_LEN: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum KeyAlgorithm {
    Rsa { bits: u32 },
    P256,
    P384,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSummary {
    /// Subject common name; empty when the subject has none.
    pub common_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    /// The 12-digit user ID, when the subject `serialNumber` is one.
    pub user_id: Option<String>,
    /// Unix seconds.
    pub not_before: i64,
    /// Unix seconds.
    pub not_after: i64,
    pub key: KeyAlgorithm,
}

impl CertificateSummary {
    pub fn from_der(der: &[u8]) -> Result<CertificateSummary, ValidationError> {
        let cert = Certificate::from_der(der).map_err(|e| {
            ValidationError::Certificate(format!("not a DER X.509 certificate: {e}"))
        })?;
        let tbs = &cert.tbs_certificate;
        let subject = |oid| subject_attribute(&tbs.subject, oid);
        let validity = &tbs.validity;
        Ok(CertificateSummary {
            common_name: subject(rfc4519::COMMON_NAME).unwrap_or_default(),
            given_name: subject(rfc4519::GIVEN_NAME),
            surname: subject(rfc4519::SURNAME),
            user_id: subject(rfc4519::SERIAL_NUMBER).filter(|s| is_user_id(s)),
            not_before: unix_seconds(validity.not_before),
            not_after: unix_seconds(validity.not_after),
            key: key_algorithm(&tbs.subject_public_key_info)?,
        })
    }

    /// The token algorithm a key of this type signs with (PKCS#1 v1.5 for RSA).
    pub fn token_algorithm(&self) -> Option<TokenAlgorithm> {
        match self.key {
            KeyAlgorithm::Rsa { .. } => Some(TokenAlgorithm::Rs256),
            KeyAlgorithm::P256 => Some(TokenAlgorithm::Es256),
            KeyAlgorithm::P384 => Some(TokenAlgorithm::Es384),
            KeyAlgorithm::Other => None,
        }
    }
}

fn is_user_id(s: &str) -> bool {
    s.len() == USER_ID_LEN && s.bytes().all(|b| b.is_ascii_digit())
}

fn unix_seconds(time: x509_cert::time::Time) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

/// The first value of the attribute in the subject, as text.
fn subject_attribute(name: &x509_cert::name::Name, oid: ObjectIdentifier) -> Option<String> {
    name.0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .and_then(attribute_text)
}

/// Directory strings come in several ASN.1 string types; BMP/universal strings are not used
/// by NHS certificates and read as absent.
fn attribute_text(atv: &AttributeTypeAndValue) -> Option<String> {
    let value = &atv.value;
    let text = match value.tag() {
        Tag::Utf8String => value
            .decode_as::<Utf8StringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        Tag::PrintableString => value
            .decode_as::<PrintableStringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        Tag::Ia5String => value
            .decode_as::<Ia5StringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        Tag::TeletexString => value
            .decode_as::<TeletexStringRef<'_>>()
            .ok()?
            .as_str()
            .to_owned(),
        _ => return None,
    };
    Some(text)
}

fn key_algorithm(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
) -> Result<KeyAlgorithm, ValidationError> {
    let oid = spki.algorithm.oid;
    if oid == rfc5912::RSA_ENCRYPTION {
        let key = spki.subject_public_key.as_bytes().ok_or_else(|| {
            ValidationError::Certificate("the RSA key is not a whole number of bytes".into())
        })?;
        return rsa_modulus_bits(key).map(|bits| KeyAlgorithm::Rsa { bits });
    }
    if oid == rfc5912::ID_EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        return Ok(match curve {
            Some(c) if c == rfc5912::SECP_256_R_1 => KeyAlgorithm::P256,
            Some(c) if c == rfc5912::SECP_384_R_1 => KeyAlgorithm::P384,
            _ => KeyAlgorithm::Other,
        });
    }
    Ok(KeyAlgorithm::Other)
}

/// Bit length of the modulus in an RSAPublicKey (RFC 8017: SEQUENCE { modulus, exponent }).
fn rsa_modulus_bits(key: &[u8]) -> Result<u32, ValidationError> {
    let bad = |e: der::Error| ValidationError::Certificate(format!("bad RSA public key: {e}"));
    let mut reader = SliceReader::new(key).map_err(bad)?;
    let modulus = reader
        .sequence(|r| {
            let modulus = UintRef::decode(r)?;
            let _exponent = UintRef::decode(r)?;
            Ok(modulus)
        })
        .map_err(bad)?;
    let bytes = modulus.as_bytes();
    let Some(&first) = bytes.first() else {
        return Err(ValidationError::Certificate(
            "the RSA modulus is zero".into(),
        ));
    };
    let whole_bytes = u32::try_from(bytes.len() - 1)
        .map_err(|_| ValidationError::Certificate("the RSA modulus is too long".into()))?;
    Ok(whole_bytes * 8 + (8 - first.leading_zeros()))
}
