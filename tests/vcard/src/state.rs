//! What the card remembers, and its JSON state file (rewritten atomically after every change).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::VcardError;

/// Which keys the card holds in 9A and 9C.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardProfile {
    Rsa2048,
    P256,
    P384,
}

impl CardProfile {
    /// The PIV algorithm identifier of the profile's keys (SP 800-78-4).
    pub fn algorithm_id(self) -> u8 {
        match self {
            CardProfile::Rsa2048 => 0x07,
            CardProfile::P256 => 0x11,
            CardProfile::P384 => 0x14,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CardProfile::Rsa2048 => "rsa2048",
            CardProfile::P256 => "p256",
            CardProfile::P384 => "p384",
        }
    }

    pub fn parse(text: &str) -> Option<CardProfile> {
        match text.to_ascii_lowercase().as_str() {
            "rsa2048" | "rsa" => Some(CardProfile::Rsa2048),
            "p256" | "ecc-p256" => Some(CardProfile::P256),
            "p384" | "ecc-p384" => Some(CardProfile::P384),
            _ => None,
        }
    }
}

/// A private key in a slot: PIV algorithm id and PKCS#8 DER (base64 in the file).
#[derive(Clone, Serialize, Deserialize)]
pub struct KeySlot {
    pub algorithm: u8,
    #[serde(with = "b64")]
    pub private_key_pkcs8: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeySlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySlot {{ algorithm: {:#04x}, .. }}", self.algorithm)
    }
}

/// A PIN or PUK with its retry counter.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secret {
    /// The value as typed (digits), unpadded.
    pub value: Zeroizing<String>,
    pub retries_left: u8,
    pub max_retries: u8,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(***, {}/{})", self.retries_left, self.max_retries)
    }
}

impl Secret {
    pub fn new(value: &str, max_retries: u8) -> Secret {
        Secret {
            value: Zeroizing::new(value.to_owned()),
            retries_left: max_retries,
            max_retries,
        }
    }

    /// The value as PIV carries it: padded with 0xFF to 8 bytes.
    pub fn padded(&self) -> Zeroizing<[u8; 8]> {
        let mut out = Zeroizing::new([0xFF; 8]);
        for (slot, byte) in out.iter_mut().zip(self.value.bytes()) {
            *slot = byte;
        }
        out
    }
}

/// Everything the card keeps across power cycles.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CardState {
    pub version: u32,
    pub profile: CardProfile,
    pub pin: Secret,
    pub puk: Secret,
    /// 3DES (algorithm 03) or AES (08/0A/0C) card management key, hex in the file.
    pub management_key_algorithm: u8,
    #[serde(with = "hexstr")]
    pub management_key: Zeroizing<Vec<u8>>,
    /// Private keys by key reference ("9A", "9C").
    pub keys: BTreeMap<String, KeySlot>,
    /// Data objects by tag ("5FC105", …): the value inside the `53` wrapper, base64.
    pub objects: BTreeMap<String, ObjectValue>,
}

/// One data object's content (what GET DATA wraps in `53`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ObjectValue(#[serde(with = "b64")] pub Zeroizing<Vec<u8>>);

pub const STATE_VERSION: u32 = 1;

impl CardState {
    pub fn load(path: &Path) -> Result<CardState, VcardError> {
        let text = fs::read(path).map_err(|e| VcardError::io(path, e))?;
        let state: CardState = serde_json::from_slice(&text)
            .map_err(|e| VcardError::State(format!("{}: {e}", path.display())))?;
        if state.version != STATE_VERSION {
            return Err(VcardError::State(format!(
                "{}: state version {} (this build reads {STATE_VERSION})",
                path.display(),
                state.version
            )));
        }
        Ok(state)
    }

    /// Writes the whole state to a temporary file beside `path` and renames it over `path`, so
    /// a crash or a kill mid-write leaves either the old or the new state, never half of one.
    pub fn save(&self, path: &Path) -> Result<(), VcardError> {
        let json = Zeroizing::new(
            serde_json::to_vec_pretty(self).map_err(|e| VcardError::State(e.to_string()))?,
        );
        let file_name = path
            .file_name()
            .ok_or_else(|| VcardError::State(format!("{}: not a file path", path.display())))?;
        let mut tmp_name = file_name.to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let write = || -> std::io::Result<()> {
            let mut file = private_file(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            VcardError::io(path, e)
        })
    }

    pub fn object(&self, tag: u32) -> Option<&[u8]> {
        self.objects.get(&tag_name(tag)).map(|v| v.0.as_slice())
    }

    pub fn set_object(&mut self, tag: u32, value: Vec<u8>) {
        self.objects
            .insert(tag_name(tag), ObjectValue(Zeroizing::new(value)));
    }

    pub fn key(&self, reference: u8) -> Option<&KeySlot> {
        self.keys.get(&format!("{reference:02X}"))
    }
}

/// A new file only its owner can read: the state holds private keys, PIN and PUK.
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// The file's spelling of a data object tag: upper-case hex of its bytes.
pub fn tag_name(tag: u32) -> String {
    if tag > 0xFFFF {
        format!("{tag:06X}")
    } else if tag > 0xFF {
        format!("{tag:04X}")
    } else {
        format!("{tag:02X}")
    }
}

mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub fn serialize<S: Serializer>(value: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(value.as_slice()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        STANDARD
            .decode(text.as_bytes())
            .map(Zeroizing::new)
            .map_err(serde::de::Error::custom)
    }
}

mod hexstr {
    use serde::{Deserialize, Deserializer, Serializer};
    use zeroize::Zeroizing;

    pub fn serialize<S: Serializer>(value: &Zeroizing<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::hex::encode(value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Zeroizing<Vec<u8>>, D::Error> {
        let text = Zeroizing::new(String::deserialize(d)?);
        crate::hex::decode(&text)
            .map(Zeroizing::new)
            .ok_or_else(|| serde::de::Error::custom("not hex"))
    }
}
