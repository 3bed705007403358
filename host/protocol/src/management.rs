//! Values of the card-management commands (INTERFACES.md "Card contract v2"): which card, which
//! key slot, which algorithm, which data object. Each has one wire spelling, parsed here.

use std::fmt;

use crate::results::CertificateSlot;

/// Which card a card-addressed command is for. At most one selector per request; the host alone
/// resolves it to a reader.
#[derive(Clone, PartialEq, Eq)]
pub enum CardSelector {
    /// No selector: the only candidate card, refused when there are several.
    Any,
    /// The card holding this certificate (DER) in 9A or 9C.
    Certificate(Vec<u8>),
    /// The card in this reader (a blank card has no certificate to name it by).
    Reader(String),
    /// The card of the open card session.
    Session(SessionId),
}

impl fmt::Debug for CardSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardSelector::Any => f.write_str("Any"),
            CardSelector::Certificate(der) => write!(f, "Certificate({} bytes)", der.len()),
            CardSelector::Reader(name) => write!(f, "Reader({name:?})"),
            CardSelector::Session(id) => write!(f, "Session({id:?})"),
        }
    }
}

/// A card-session id: `s-` and 16 lower-case hex digits, made by the host. `Debug` shows only
/// its first digits (the id is a capability for the open session).
#[derive(Clone, PartialEq, Eq)]
pub struct SessionId(String);

impl SessionId {
    pub const PREFIX: &'static str = "s-";
    const DIGITS: usize = 16;

    pub fn parse(s: &str) -> Option<SessionId> {
        let digits = s.strip_prefix(Self::PREFIX)?;
        let ok = digits.len() == Self::DIGITS
            && digits
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| SessionId(s.to_owned()))
    }

    /// A session id from 8 random bytes (the host supplies the randomness: this crate has none).
    pub fn from_random(bytes: [u8; 8]) -> SessionId {
        SessionId(format!(
            "{}{}",
            Self::PREFIX,
            crate::results::hex_lower(&bytes)
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.0.chars().take(6).collect();
        write!(f, "{shown}…")
    }
}

/// Key slots whose keys the card-management commands generate and certify.
pub fn parse_key_slot(s: &str) -> Option<CertificateSlot> {
    match s {
        "9A" => Some(CertificateSlot::Authentication),
        "9C" => Some(CertificateSlot::Signature),
        _ => None,
    }
}

/// The asymmetric key types a card generates (SP 800-78-4 identifiers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Rsa2048,
    P256,
    P384,
}

impl KeyType {
    pub const WIRE: [(&'static str, KeyType); 3] = [
        ("RSA2048", KeyType::Rsa2048),
        ("P256", KeyType::P256),
        ("P384", KeyType::P384),
    ];

    pub fn from_wire(s: &str) -> Option<KeyType> {
        Self::WIRE.iter().find(|(n, _)| *n == s).map(|(_, k)| *k)
    }

    pub fn as_str(self) -> &'static str {
        Self::WIRE
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("", |(n, _)| n)
    }
}

/// The card management key's algorithm (9B): 3DES or AES.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagementAlgorithm {
    TripleDes,
    Aes128,
    Aes192,
    Aes256,
}

impl ManagementAlgorithm {
    pub const WIRE: [(&'static str, ManagementAlgorithm); 4] = [
        ("3DES", ManagementAlgorithm::TripleDes),
        ("AES128", ManagementAlgorithm::Aes128),
        ("AES192", ManagementAlgorithm::Aes192),
        ("AES256", ManagementAlgorithm::Aes256),
    ];

    pub fn from_wire(s: &str) -> Option<ManagementAlgorithm> {
        Self::WIRE.iter().find(|(n, _)| *n == s).map(|(_, a)| *a)
    }

    /// The PIV algorithm identifier in GENERAL AUTHENTICATE's P1.
    pub fn id(self) -> u8 {
        match self {
            ManagementAlgorithm::TripleDes => 0x03,
            ManagementAlgorithm::Aes128 => 0x08,
            ManagementAlgorithm::Aes192 => 0x0A,
            ManagementAlgorithm::Aes256 => 0x0C,
        }
    }
}

/// The data objects a card-management page may write with `put-data` (certificates have their
/// own command, which keeps the renewal journal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataObject {
    /// Card Holder Unique Identifier, 5FC102.
    Chuid,
    /// Card Capability Container, 5FC107.
    Ccc,
    /// Printed information, 5FC109.
    Printed,
}

impl DataObject {
    pub const WIRE: [(&'static str, DataObject); 3] = [
        ("CHUID", DataObject::Chuid),
        ("CCC", DataObject::Ccc),
        ("PRINTED", DataObject::Printed),
    ];

    pub fn from_wire(s: &str) -> Option<DataObject> {
        Self::WIRE.iter().find(|(n, _)| *n == s).map(|(_, o)| *o)
    }

    pub fn tag(self) -> u32 {
        match self {
            DataObject::Chuid => 0x5FC102,
            DataObject::Ccc => 0x5FC107,
            DataObject::Printed => 0x5FC109,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_have_one_shape() {
        let id = SessionId::from_random([0xAB, 1, 2, 3, 4, 5, 6, 0xFF]);
        assert_eq!(id.as_str(), "s-ab010203040506ff");
        assert_eq!(SessionId::parse(id.as_str()), Some(id.clone()));
        for bad in [
            "",
            "s-",
            "s-AB010203040506FF",
            "s-ab0102030405060",
            "x-ab010203040506ff",
        ] {
            assert_eq!(SessionId::parse(bad), None, "{bad}");
        }
        assert_eq!(format!("{id:?}"), "s-ab01…");
    }

    #[test]
    fn wire_names_round_trip() {
        for (name, k) in KeyType::WIRE {
            assert_eq!(KeyType::from_wire(name), Some(k));
            assert_eq!(k.as_str(), name);
        }
        assert_eq!(
            ManagementAlgorithm::from_wire("AES256").map(|a| a.id()),
            Some(0x0C)
        );
        assert_eq!(ManagementAlgorithm::from_wire("aes256"), None);
        assert_eq!(
            DataObject::from_wire("CHUID").map(|o| o.tag()),
            Some(0x5FC102)
        );
        assert_eq!(parse_key_slot("9B"), None);
    }
}

/// The public half of a key the card generated, as the card gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeneratedKey {
    Rsa {
        modulus: Vec<u8>,
        exponent: Vec<u8>,
    },
    /// Uncompressed point `04 ‖ x ‖ y` on P-256 or P-384.
    Ec {
        key_type: KeyType,
        point: Vec<u8>,
    },
}

impl GeneratedKey {
    /// The key as a DER SubjectPublicKeyInfo: what a CA or a certificate request takes, and
    /// what the renewal journal compares certificates against.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, crate::ValidationError> {
        use der::asn1::{AnyRef, BitString, ObjectIdentifier};
        use der::Encode;
        use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

        const RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
        const EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
        const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
        const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
        let failed = |e: der::Error| crate::ValidationError::Certificate(e.to_string());
        let (oid, parameters, key) = match self {
            GeneratedKey::Rsa { modulus, exponent } => {
                let mut body = der_unsigned(modulus);
                body.extend(der_unsigned(exponent));
                (RSA, AnyRef::NULL.into(), der_tlv(0x30, &body))
            }
            GeneratedKey::Ec { key_type, point } => {
                let curve = if *key_type == KeyType::P384 {
                    P384
                } else {
                    P256
                };
                (EC, der::Any::from(&curve), point.clone())
            }
        };
        SubjectPublicKeyInfoOwned {
            algorithm: AlgorithmIdentifierOwned {
                oid,
                parameters: Some(parameters),
            },
            subject_public_key: BitString::from_bytes(&key).map_err(failed)?,
        }
        .to_der()
        .map_err(failed)
    }
}

/// A DER INTEGER holding an unsigned big-endian number.
fn der_unsigned(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let mut value = bytes[start..].to_vec();
    if value.first().map_or(true, |b| b & 0x80 != 0) {
        value.insert(0, 0);
    }
    der_tlv(0x02, &value)
}

fn der_tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(value);
    out
}

/// The DER SubjectPublicKeyInfo a certificate certifies (compared with a generated key).
pub fn certificate_spki_der(certificate: &[u8]) -> Result<Vec<u8>, crate::ValidationError> {
    use der::{Decode, Encode};
    let cert = x509_cert::Certificate::from_der(certificate)
        .map_err(|e| crate::ValidationError::Certificate(e.to_string()))?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| crate::ValidationError::Certificate(e.to_string()))
}

/// A card's id for the renewal journal: lower-case hex SHA-256 of its CHUID object.
pub fn card_id(chuid: &[u8]) -> String {
    use sha2::Digest as _;
    crate::results::hex_lower(&sha2::Sha256::digest(chuid))
}
