//! Personalising a card: keys and certificates for 9A and 9C, CHUID, CCC, default PIN/PUK and
//! management key — and `init`, which writes card.json, ca.der and ca.pem.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use base64::Engine;
use zeroize::Zeroizing;

use crate::certs::{Holder, TestCa};
use crate::error::VcardError;
use crate::keys;
use crate::objects;
use crate::state::{CardProfile, CardState, KeySlot, Secret, STATE_VERSION};

pub const DEFAULT_PIN: &str = "123456";
pub const DEFAULT_PUK: &str = "12345678";
pub const DEFAULT_MANAGEMENT_KEY: [u8; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
];
const MAX_RETRIES: u8 = 3;

/// Object tags of the certificates for 9A and 9C.
pub const TAG_CERT_9A: u32 = 0x5FC105;
pub const TAG_CERT_9C: u32 = 0x5FC10A;
pub const TAG_CHUID: u32 = 0x5FC102;
pub const TAG_CCC: u32 = 0x5FC107;

/// A card state for `holder` with fresh keys, and the new CA that issued its certificates.
pub fn personalise(
    profile: CardProfile,
    holder: &Holder,
) -> Result<(CardState, TestCa), VcardError> {
    let ca = TestCa::generate()?;
    let mut state = CardState {
        version: STATE_VERSION,
        profile,
        pin: Secret::new(DEFAULT_PIN, MAX_RETRIES),
        puk: Secret::new(DEFAULT_PUK, MAX_RETRIES),
        management_key_algorithm: 0x03,
        management_key: Zeroizing::new(DEFAULT_MANAGEMENT_KEY.to_vec()),
        keys: BTreeMap::new(),
        objects: BTreeMap::new(),
    };
    for (slot, tag) in [(0x9A, TAG_CERT_9A), (0x9C, TAG_CERT_9C)] {
        let key = keys::generate(profile)?;
        let cert = ca.issue(holder, slot, profile, &key)?;
        state.keys.insert(
            format!("{slot:02X}"),
            KeySlot {
                algorithm: profile.algorithm_id(),
                private_key_pkcs8: key,
            },
        );
        state.set_object(tag, objects::certificate(&cert));
    }
    state.set_object(TAG_CHUID, objects::chuid(&rand::random()));
    state.set_object(TAG_CCC, objects::ccc(&rand::random()));
    Ok((state, ca))
}

/// `carecard-vcard init`: writes `dir/card.json`, `dir/ca.der`, `dir/ca.pem`, and `dir/ca.key`
/// (the test CA's private key, PKCS#8 DER, mode 0600) so the mock card-management service can
/// issue renewed certificates that chain to the same CA the mock CIS2 verifier trusts.
pub fn init(dir: &Path, profile: CardProfile, holder: &Holder) -> Result<(), VcardError> {
    fs::create_dir_all(dir).map_err(|e| VcardError::io(dir, e))?;
    let (state, ca) = personalise(profile, holder)?;
    let ca_der = ca.der()?;
    write(&dir.join("ca.der"), &ca_der)?;
    write(&dir.join("ca.pem"), pem("CERTIFICATE", &ca_der).as_bytes())?;
    write_private(&dir.join("ca.key"), &ca.key_pkcs8()?)?;
    state.save(&dir.join("card.json"))
}

/// A secret file readable by its owner only (a test CA key, but a key all the same).
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), VcardError> {
    use std::io::Write as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| VcardError::io(path, e))?;
    file.write_all(bytes).map_err(|e| VcardError::io(path, e))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), VcardError> {
    fs::write(path, bytes).map_err(|e| VcardError::io(path, e))
}

/// PEM with 64-character lines (RFC 7468).
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}
