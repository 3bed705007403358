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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// `cards`: every card with its certificates and PIN/PUK state (INTERFACES.md, card contract v2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardsResult {
    pub cards: Vec<CardEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CardEntry {
    pub reader: String,
    /// Upper-case hex.
    pub atr: String,
    /// `"PIV"`, or `null` when the card was not read as PIV: see `held` for why.
    pub application: Option<String>,
    /// `true` when the card could not be read because a card session holds it exclusively (this
    /// host's, or another program's: PC/SC sharing violation). Then `application` is `null`
    /// although the card may well be PIV; `false` for every card that was read, or that failed
    /// for another reason (not PIV, mute).
    #[serde(default)]
    pub held: bool,
    /// `true` when the card's reader has a PIN pad (PC/SC part 10 FEATURE_VERIFY_PIN_DIRECT):
    /// the caller may send `"pinEntry": "reader"` instead of a PIN, and tells the user to type
    /// the PIN on the reader.
    #[serde(default)]
    pub pin_pad: bool,
    /// `true` when the pad can also change the PIN (FEATURE_MODIFY_PIN_DIRECT): `change-pin` may
    /// then use `"pinEntry": "reader"`; a pad without it verifies only, and a PIN change is typed
    /// in the caller's own window.
    #[serde(default)]
    pub pin_pad_change: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub certificates: Vec<CardCertificate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_retries_left: Option<u8>,
    #[serde(default)]
    pub pin_blocked: bool,
    /// `null` when the card does not report it.
    #[serde(default)]
    pub puk_retries_left: Option<u8>,
    /// Lower-case hex SHA-256 of the CHUID; `null` for a card without one (not yet issued).
    #[serde(default)]
    pub card_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_renewal: Vec<PendingRenewal>,
}

impl CardEntry {
    /// The entry for a card in `reader` (ATR in upper-case hex) before anything was read from it:
    /// not PIV, not held, no PIN pad, no PIV facts. A reader fills in what it learns.
    pub fn unread(reader: impl Into<String>, atr: impl Into<String>) -> CardEntry {
        CardEntry {
            reader: reader.into(),
            atr: atr.into(),
            application: None,
            held: false,
            pin_pad: false,
            pin_pad_change: false,
            certificates: Vec::new(),
            pin_retries_left: None,
            pin_blocked: false,
            puk_retries_left: None,
            card_id: None,
            pending_renewal: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardCertificate {
    pub slot: CertificateSlot,
    /// Base64 DER.
    pub certificate: String,
}

/// A renewal step the journal says is unfinished for one key slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingRenewal {
    pub slot: CertificateSlot,
    /// `"generating"` (GENERATE was sent; whether the card made the key is unknown: generate
    /// again) or `"key-generated"` (certify `publicKey`, then write the certificate).
    pub step: RenewalStep,
    /// Base64 DER SubjectPublicKeyInfo, for `key-generated`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Unix seconds.
    pub at: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RenewalStep {
    Generating,
    KeyGenerated,
}

/// `session-open`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionOpened {
    pub session: String,
    pub reader: String,
    pub card_id: Option<String>,
    pub pending_renewal: Vec<PendingRenewal>,
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

/// Lower-case hex (card ids, session ids).
pub fn hex_lower(bytes: &[u8]) -> String {
    hex_upper(bytes).to_ascii_lowercase()
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
