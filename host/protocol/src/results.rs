//! Result objects of the commands and the events pushed after `watch` (DESIGN.md, ARCHITECTURE.md).

use serde::{Deserialize, Serialize};

use crate::hash::HashFunction;

/// The `protocol` number in `status`.
pub const PROTOCOL_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusResult {
    pub version: String,
    pub protocol: u32,
    pub pcsc: PcscState,
    pub readers: Vec<ReaderStatus>,
}

impl StatusResult {
    pub fn new(version: impl Into<String>, pcsc: PcscState, readers: Vec<ReaderStatus>) -> Self {
        StatusResult {
            version: version.into(),
            protocol: PROTOCOL_VERSION,
            pcsc,
            readers,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PcscState {
    Available,
    Unavailable,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderStatus {
    pub name: String,
    /// `null` when the reader is empty.
    pub card: Option<CardStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardStatus {
    /// Upper-case hex.
    pub atr: String,
    /// `"PIV"` when the PIV application answered SELECT, else `null`.
    pub application: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificatesResult {
    pub certificates: Vec<CertificateEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateEntry {
    pub reader: String,
    pub slot: CertificateSlot,
    /// Base64 DER.
    pub certificate: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertificateSlot {
    #[serde(rename = "9A")]
    Authentication,
    #[serde(rename = "9C")]
    Signature,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignResult {
    /// Base64: PKCS#1 v1.5 for RSA, raw `r || s` for ECC.
    pub signature: String,
    pub signature_algorithm: SignatureAlgorithm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignatureAlgorithm {
    pub crypto_algorithm: CryptoAlgorithm,
    pub hash_function: HashFunction,
    pub padding_scheme: PaddingScheme,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CryptoAlgorithm {
    #[serde(rename = "RSA")]
    Rsa,
    #[serde(rename = "ECC")]
    Ecc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PaddingScheme {
    #[serde(rename = "PKCS1.5")]
    Pkcs1v15,
    #[serde(rename = "NONE")]
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinStatusResult {
    pub pin_retries_left: u8,
}

/// Pushed after `watch`: `{"event": "...", ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    ReaderAdded {
        reader: String,
    },
    ReaderRemoved {
        reader: String,
    },
    CardInserted {
        reader: String,
        /// Upper-case hex.
        atr: String,
    },
    CardRemoved {
        reader: String,
    },
    PcscUnavailable,
}

/// Upper-case hex, as `atr` fields carry it.
pub fn hex_upper(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            // Writing to a String cannot fail.
            let _ = write!(s, "{b:02X}");
            s
        })
}
