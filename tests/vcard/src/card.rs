//! The PIV applet: `VirtualCard::process` takes one command APDU and returns data ‖ SW1 SW2.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::apdu::*;
use crate::error::VcardError;
use crate::keys::{self, KeyOpError};
use crate::objects;
use crate::state::{CardProfile, CardState, Secret};
use crate::tlv;

/// The full PIV AID (NIST RID, PIX with version 01 00); SELECT may give it right-truncated.
pub const PIV_AID: [u8; 11] = [
    0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x01, 0x00,
];
/// Shortest AID prefix that SELECT accepts as "the PIV application" (RID + PIX without version).
const PIV_AID_MIN: usize = 9;
/// Largest command data accepted through chaining (a certificate object fits with room).
const MAX_CHAINED: usize = 16 * 1024;

const KEY_AUTHENTICATION: u8 = 0x9A;
const KEY_SIGNATURE: u8 = 0x9C;
const KEY_MANAGEMENT: u8 = 0x9B;
/// Keys GENERATE ASYMMETRIC KEY PAIR may create.
const GENERATABLE_KEYS: [u8; 4] = [0x9A, 0x9C, 0x9D, 0x9E];
const PIN_REFERENCE: u8 = 0x80;
const PUK_REFERENCE: u8 = 0x81;

/// What is lost at power-off, reset, or SELECT of another application.
#[derive(Debug, Default)]
struct Session {
    selected: bool,
    pin_verified: bool,
    /// 9C is "PIN always": one VERIFY allows one signature.
    signature_permitted: bool,
    /// Data of a chained command so far, with its INS P1 P2.
    chain: Option<(u8, u8, u8, Vec<u8>)>,
    /// Response data not yet fetched with GET RESPONSE.
    pending: Vec<u8>,
    /// The card management key (9B) was proven: objects and keys may be written.
    management_authenticated: bool,
    /// An unanswered 9B exchange: the card's challenge (external authentication) or its
    /// plain witness (mutual authentication).
    management_pending: Option<ManagementStep>,
}

#[derive(Debug)]
enum ManagementStep {
    Challenge(Zeroizing<Vec<u8>>),
    Witness(Zeroizing<Vec<u8>>),
}

/// A PIV card in memory, optionally backed by a state file.
#[derive(Debug)]
pub struct VirtualCard {
    state: CardState,
    path: Option<PathBuf>,
    session: Session,
}

/// What a command handler answers before response chunking.
struct Reply {
    data: Vec<u8>,
    sw: Sw,
}

impl Reply {
    fn ok(data: Vec<u8>) -> Reply {
        Reply { data, sw: SW_OK }
    }

    fn sw(sw: Sw) -> Reply {
        Reply {
            data: Vec::new(),
            sw,
        }
    }
}

impl VirtualCard {
    /// The card whose state is in `path`; every change is written back to it.
    pub fn load(path: &Path) -> Result<VirtualCard, VcardError> {
        let state = CardState::load(path)?;
        Ok(VirtualCard {
            state,
            path: Some(path.to_path_buf()),
            session: Session::default(),
        })
    }

    /// A freshly personalised card (new CA, keys and certificates) that lives in memory only.
    ///
    /// For tests: panics if personalisation fails, which only a broken random number
    /// generator or library bug can cause (there is no input). See [`Self::try_in_memory`].
    pub fn in_memory(profile: CardProfile) -> VirtualCard {
        Self::try_in_memory(profile)
            .unwrap_or_else(|e| panic!("personalising an in-memory {profile:?} card: {e}"))
    }

    /// As [`Self::in_memory`], returning the error instead.
    pub fn try_in_memory(profile: CardProfile) -> Result<VirtualCard, VcardError> {
        let (state, _ca) = crate::init::personalise(profile, &crate::certs::Holder::default())?;
        Ok(VirtualCard::from_state(state))
    }

    pub fn from_state(state: CardState) -> VirtualCard {
        VirtualCard {
            state,
            path: None,
            session: Session::default(),
        }
    }

    pub fn state(&self) -> &CardState {
        &self.state
    }

    /// The ATR: a generic T=1 ATR naming no vendor, so clients such as OpenSC use their
    /// standard PIV driver (SELECT by AID) and never send vendor-specific instructions.
    pub fn atr(&self) -> &'static [u8] {
        &objects::ATR
    }

    /// Power-on or reset: the security state and any half-done exchange are forgotten.
    pub fn reset(&mut self) {
        self.session = Session::default();
    }

    /// One command APDU in, data ‖ SW1 SW2 out. Never panics on any input.
    pub fn process(&mut self, apdu: &[u8]) -> Vec<u8> {
        let pending = std::mem::take(&mut self.session.pending);
        let cmd = match Command::parse(apdu) {
            Ok(cmd) => cmd,
            Err(sw) => return finish(Vec::new(), sw),
        };
        if cmd.cla & !0x10 != 0 {
            self.session.chain = None;
            return finish(Vec::new(), SW_CLA_NOT_SUPPORTED);
        }
        if cmd.ins == 0xC0 {
            return self.get_response(&cmd, pending);
        }
        let chained = cmd.cla & 0x10 != 0;
        let data = match self.collect_chain(&cmd, chained) {
            Ok(Some(data)) => data,
            Ok(None) => return finish(Vec::new(), SW_OK),
            Err(sw) => return finish(Vec::new(), sw),
        };
        let reply = self.dispatch(&cmd, &data);
        self.respond(reply, cmd.ne)
    }

    /// Accumulates chained data; `Ok(None)` while the chain goes on, the whole data at its end.
    fn collect_chain(
        &mut self,
        cmd: &Command,
        chained: bool,
    ) -> Result<Option<Zeroizing<Vec<u8>>>, Sw> {
        let mut data = match self.session.chain.take() {
            Some((ins, p1, p2, buf)) if (ins, p1, p2) == (cmd.ins, cmd.p1, cmd.p2) => buf,
            _ => Vec::new(),
        };
        if data.len() + cmd.data.len() > MAX_CHAINED {
            data.fill(0);
            return Err(SW_WRONG_LENGTH);
        }
        data.extend_from_slice(cmd.data);
        if chained {
            self.session.chain = Some((cmd.ins, cmd.p1, cmd.p2, data));
            return Ok(None);
        }
        Ok(Some(Zeroizing::new(data)))
    }

    fn get_response(&mut self, cmd: &Command, pending: Vec<u8>) -> Vec<u8> {
        self.session.chain = None;
        if cmd.p1 != 0 || cmd.p2 != 0 {
            return finish(Vec::new(), SW_WRONG_P1P2);
        }
        if pending.is_empty() {
            return finish(Vec::new(), SW_CONDITIONS_NOT_SATISFIED);
        }
        self.respond(Reply::ok(pending), cmd.ne)
    }

    /// Sends at most `ne` bytes (at most 256 for short APDUs, Le 00); the rest waits for
    /// GET RESPONSE, and `61xx` tells how much is left (`6100`: 256 or more).
    fn respond(&mut self, reply: Reply, ne: usize) -> Vec<u8> {
        let mut data = reply.data;
        let limit = ne.max(1);
        if reply.sw != SW_OK || data.len() <= limit {
            return finish(data, reply.sw);
        }
        let rest = data.split_off(limit);
        let left = rest.len();
        self.session.pending = rest;
        finish(data, 0x6100 | if left > 0xFF { 0 } else { left as Sw })
    }

    fn dispatch(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if cmd.ins == 0xA4 {
            return self.select(cmd, data);
        }
        if !self.session.selected {
            return Reply::sw(SW_INS_NOT_SUPPORTED);
        }
        match cmd.ins {
            0xCB => self.get_data(cmd, data),
            0x20 => self.verify(cmd, data),
            0x24 => self.change_reference_data(cmd, data),
            0x2C => self.reset_retry_counter(cmd, data),
            0x87 => self.general_authenticate(cmd, data),
            0xDB => self.put_data(cmd, data),
            0x47 => self.generate_key_pair(cmd, data),
            _ => Reply::sw(SW_INS_NOT_SUPPORTED),
        }
    }

    fn select(&mut self, cmd: &Command, aid: &[u8]) -> Reply {
        if cmd.p1 != 0x04 {
            return Reply::sw(SW_FILE_NOT_FOUND);
        }
        let is_piv = aid.len() >= PIV_AID_MIN && PIV_AID.starts_with(aid);
        if !is_piv {
            // Another application was asked for: PIV's security state goes with it.
            self.session = Session::default();
            return Reply::sw(SW_FILE_NOT_FOUND);
        }
        if !self.session.selected {
            self.session = Session::default();
            self.session.selected = true;
        }
        Reply::ok(objects::application_property_template(self.state.profile))
    }

    fn get_data(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Reply::sw(SW_WRONG_P1P2);
        }
        let tag = match tlv::find(data, 0x5C) {
            Some(t) if (1..=3).contains(&t.len()) => {
                t.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b))
            }
            _ => return Reply::sw(SW_WRONG_DATA),
        };
        if tag == 0x7E {
            return Reply::ok(objects::discovery());
        }
        match self.state.object(tag) {
            Some(value) => Reply::ok(tlv::encode(0x53, value)),
            None => Reply::sw(SW_FILE_NOT_FOUND),
        }
    }

    fn verify(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if cmd.p2 == PUK_REFERENCE {
            return self.verify_puk(cmd, data);
        }
        if cmd.p2 != PIN_REFERENCE {
            return Reply::sw(SW_REF_NOT_FOUND);
        }
        match (cmd.p1, data.len()) {
            // P1 FF: reset the PIN's security status (SP 800-73-4 3.2.1).
            (0xFF, 0) => {
                self.session.pin_verified = false;
                self.session.signature_permitted = false;
                Reply::sw(SW_OK)
            }
            (0x00, 0) => Reply::sw(self.pin_status()),
            (0x00, 8) => {
                let result = check_secret(&mut self.state.pin, data);
                self.session.pin_verified = result == SW_OK;
                self.session.signature_permitted = result == SW_OK;
                self.persist_then(result)
            }
            (0x00, _) => Reply::sw(SW_WRONG_DATA),
            _ => Reply::sw(SW_WRONG_P1P2),
        }
    }

    /// VERIFY of the PUK (81): not in SP 800-73-4, but OpenSC's PKCS#11 "SO login" sends it
    /// before unblocking, as many PIV cards accept it. It checks (and counts) the PUK and
    /// grants nothing: RESET RETRY COUNTER still carries the PUK itself.
    fn verify_puk(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        match (cmd.p1, data.len()) {
            (0x00, 0) if self.state.puk.retries_left == 0 => Reply::sw(SW_AUTH_BLOCKED),
            (0x00, 0) => Reply::sw(sw_retries(self.state.puk.retries_left)),
            (0x00, 8) => {
                let result = check_secret(&mut self.state.puk, data);
                self.persist_then(result)
            }
            (0x00, _) => Reply::sw(SW_WRONG_DATA),
            _ => Reply::sw(SW_WRONG_P1P2),
        }
    }

    fn pin_status(&self) -> Sw {
        if self.state.pin.retries_left == 0 {
            SW_AUTH_BLOCKED
        } else if self.session.pin_verified {
            SW_OK
        } else {
            sw_retries(self.state.pin.retries_left)
        }
    }

    fn change_reference_data(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if cmd.p1 != 0x00 {
            return Reply::sw(SW_WRONG_P1P2);
        }
        if data.len() != 16 {
            return Reply::sw(SW_WRONG_DATA);
        }
        let (old, new) = data.split_at(8);
        let (secret, new_value) = match cmd.p2 {
            PIN_REFERENCE => (&mut self.state.pin, new_pin(new)),
            PUK_REFERENCE => (&mut self.state.puk, new_puk(new)),
            _ => return Reply::sw(SW_REF_NOT_FOUND),
        };
        let Some(new_value) = new_value else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let result = check_secret(secret, old);
        if result == SW_OK {
            secret.value = new_value;
        }
        self.persist_then(result)
    }

    fn reset_retry_counter(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if (cmd.p1, cmd.p2) != (0x00, PIN_REFERENCE) {
            return Reply::sw(SW_WRONG_P1P2);
        }
        if data.len() != 16 {
            return Reply::sw(SW_WRONG_DATA);
        }
        let (puk, new) = data.split_at(8);
        let Some(new_value) = new_pin(new) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let result = check_secret(&mut self.state.puk, puk);
        if result == SW_OK {
            self.state.pin.value = new_value;
            self.state.pin.retries_left = self.state.pin.max_retries;
        }
        self.persist_then(result)
    }

    fn general_authenticate(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        let key_ref = cmd.p2;
        if key_ref == KEY_MANAGEMENT {
            return self.management_authenticate(cmd, data);
        }
        if key_ref != KEY_AUTHENTICATION && key_ref != KEY_SIGNATURE {
            return Reply::sw(SW_REF_NOT_FOUND);
        }
        let Some(slot) = self.state.key(key_ref).cloned() else {
            return Reply::sw(SW_REF_NOT_FOUND);
        };
        if cmd.p1 != slot.algorithm {
            return Reply::sw(SW_WRONG_P1P2);
        }
        let Some(input) = signature_request(data) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let allowed = self.session.pin_verified
            && (key_ref != KEY_SIGNATURE || self.session.signature_permitted);
        if !allowed {
            return Reply::sw(SW_SECURITY_NOT_SATISFIED);
        }
        if key_ref == KEY_SIGNATURE {
            self.session.signature_permitted = false;
        }
        match keys::private_operation(slot.algorithm, &slot.private_key_pkcs8, input) {
            Ok(signature) => Reply::ok(tlv::encode(0x7C, &tlv::encode(0x82, &signature))),
            Err(KeyOpError::BadInput) => Reply::sw(SW_WRONG_DATA),
            Err(KeyOpError::Internal) => Reply::sw(SW_NO_PRECISE_DIAGNOSIS),
        }
    }

    /// 9B witness/challenge authentication (SP 800-73-4 appendix A.1/A.2). External: the card
    /// gives a challenge, the client returns it encrypted. Mutual: the card gives an encrypted
    /// witness, the client returns it decrypted with its own challenge, which the card encrypts.
    fn management_authenticate(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        let algorithm = self.state.management_key_algorithm;
        if cmd.p1 != algorithm {
            return Reply::sw(SW_WRONG_P1P2);
        }
        let Some(block) = crate::mgmt::block_size(algorithm) else {
            return Reply::sw(SW_NO_PRECISE_DIAGNOSIS);
        };
        let Some(objects) = tlv::find(data, 0x7C).and_then(tlv::parse) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let get = |tag: u32| objects.iter().find(|t| t.tag == tag).map(|t| t.value);
        let pending = self.session.management_pending.take();
        self.session.management_authenticated = false;
        let encrypt =
            |plain: &[u8]| crate::mgmt::encrypt_block(algorithm, &self.state.management_key, plain);
        match (get(0x80), get(0x81), get(0x82), pending) {
            // External authentication, step 1: "give me a challenge".
            (None, Some([]), None, _) => {
                let challenge = Zeroizing::new(random_block(block));
                let reply = tlv::encode(0x7C, &tlv::encode(0x81, &challenge));
                self.session.management_pending = Some(ManagementStep::Challenge(challenge));
                Reply::ok(reply)
            }
            // External authentication, step 2: the challenge encrypted with the key.
            (None, None, Some(response), Some(ManagementStep::Challenge(challenge))) => {
                let proven = encrypt(&challenge).is_some_and(|c| same(&c, response));
                self.session.management_authenticated = proven;
                Reply::sw(if proven {
                    SW_OK
                } else {
                    SW_SECURITY_NOT_SATISFIED
                })
            }
            // Mutual authentication, step 1: "give me a witness".
            (Some([]), None, None, _) => {
                let witness = Zeroizing::new(random_block(block));
                let Some(encrypted) = encrypt(&witness) else {
                    return Reply::sw(SW_NO_PRECISE_DIAGNOSIS);
                };
                self.session.management_pending = Some(ManagementStep::Witness(witness));
                Reply::ok(tlv::encode(0x7C, &tlv::encode(0x80, &encrypted)))
            }
            // Mutual authentication, step 2: the decrypted witness and the client's challenge.
            (Some(decrypted), Some(challenge), _, Some(ManagementStep::Witness(witness)))
                if challenge.len() == block =>
            {
                if !same(&witness, decrypted) {
                    return Reply::sw(SW_SECURITY_NOT_SATISFIED);
                }
                let Some(answer) = encrypt(challenge) else {
                    return Reply::sw(SW_NO_PRECISE_DIAGNOSIS);
                };
                self.session.management_authenticated = true;
                Reply::ok(tlv::encode(0x7C, &tlv::encode(0x82, &answer)))
            }
            // A step 2 with no step 1 before it, or anything else.
            (_, _, _, None) => Reply::sw(SW_CONDITIONS_NOT_SATISFIED),
            _ => Reply::sw(SW_WRONG_DATA),
        }
    }

    /// GENERATE ASYMMETRIC KEY PAIR `AC { 80 alg }`: a new key replaces the slot's old one;
    /// the answer is `7F49 { public key }`. The old certificate stays until it is rewritten.
    fn generate_key_pair(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if cmd.p1 != 0x00 || !GENERATABLE_KEYS.contains(&cmd.p2) {
            return Reply::sw(SW_WRONG_P1P2);
        }
        let Some(algorithm) = tlv::find(data, 0xAC).and_then(|ac| tlv::find(ac, 0x80)) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let Some(profile) = algorithm.first().copied().and_then(crate::keys::profile_of) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        if !self.session.management_authenticated {
            return Reply::sw(SW_SECURITY_NOT_SATISFIED);
        }
        let public = keys::generate(profile).and_then(|pkcs8| {
            let public = keys::public_key_objects(profile.algorithm_id(), &pkcs8)?;
            Ok((pkcs8, public))
        });
        let (pkcs8, public) = match public {
            Ok(generated) => generated,
            Err(e) => {
                eprintln!("carecard-vcard: key generation failed: {e}");
                return Reply::sw(SW_NO_PRECISE_DIAGNOSIS);
            }
        };
        self.state.keys.insert(
            format!("{:02X}", cmd.p2),
            crate::state::KeySlot {
                algorithm: profile.algorithm_id(),
                private_key_pkcs8: pkcs8,
            },
        );
        let reply = self.persist_then(SW_OK);
        if reply.sw != SW_OK {
            return reply;
        }
        Reply::ok(tlv::encode(0x7F49, &public))
    }

    /// PUT DATA `5C tag, 53 value`: writes a data object (not the discovery object).
    fn put_data(&mut self, cmd: &Command, data: &[u8]) -> Reply {
        if (cmd.p1, cmd.p2) != (0x3F, 0xFF) {
            return Reply::sw(SW_WRONG_P1P2);
        }
        let Some(objects) = tlv::parse(data) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        let tag = objects.iter().find(|t| t.tag == 0x5C).map(|t| t.value);
        let value = objects.iter().find(|t| t.tag == 0x53).map(|t| t.value);
        let (Some(tag @ [0x5F, 0xC1, _]), Some(value)) = (tag, value) else {
            return Reply::sw(SW_WRONG_DATA);
        };
        if !self.session.management_authenticated {
            return Reply::sw(SW_SECURITY_NOT_SATISFIED);
        }
        let tag = tag.iter().fold(0u32, |a, b| (a << 8) | u32::from(*b));
        self.state.set_object(tag, value.to_vec());
        self.persist_then(SW_OK)
    }

    /// Writes the state file (when there is one) and answers `sw`, or 6581 if it failed.
    fn persist_then(&mut self, sw: Sw) -> Reply {
        if let Some(path) = &self.path {
            if let Err(e) = self.state.save(path) {
                eprintln!("carecard-vcard: could not save the card state: {e}");
                return Reply::sw(SW_MEMORY_FAILURE);
            }
        }
        Reply::sw(sw)
    }
}

fn random_block(len: usize) -> Vec<u8> {
    (0..len).map(|_| rand::random::<u8>()).collect()
}

/// Equal length and bytes, comparing every byte.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `7C { 82 00, 81 <input> }` (in either order) → the input.
fn signature_request(data: &[u8]) -> Option<&[u8]> {
    let template = tlv::find(data, 0x7C)?;
    let objects = tlv::parse(template)?;
    let wants_response = objects.iter().any(|t| t.tag == 0x82 && t.value.is_empty());
    let challenge = objects.iter().find(|t| t.tag == 0x81)?.value;
    (wants_response && !challenge.is_empty()).then_some(challenge)
}

/// Compares an 8-byte padded value with the secret, counting down on a mismatch.
fn check_secret(secret: &mut Secret, offered: &[u8]) -> Sw {
    if secret.retries_left == 0 {
        return SW_AUTH_BLOCKED;
    }
    let expected = secret.padded();
    // Compare every byte so timing says nothing about where a guess went wrong.
    let diff = expected
        .iter()
        .zip(offered)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff == 0 && offered.len() == expected.len() {
        secret.retries_left = secret.max_retries;
        SW_OK
    } else {
        secret.retries_left -= 1;
        sw_retries(secret.retries_left)
    }
}

/// The unpadded value of an 8-byte 0xFF-padded field: `len` bytes, then only 0xFF.
fn unpad(field: &[u8]) -> Option<&[u8]> {
    let len = field.iter().position(|b| *b == 0xFF).unwrap_or(field.len());
    field[len..]
        .iter()
        .all(|b| *b == 0xFF)
        .then_some(&field[..len])
}

/// A new PIN: 6–8 digits (SP 800-73-4 PIN format).
fn new_pin(field: &[u8]) -> Option<Zeroizing<String>> {
    let value = unpad(field)?;
    let ok = (6..=8).contains(&value.len()) && value.iter().all(u8::is_ascii_digit);
    ok.then(|| Zeroizing::new(String::from_utf8_lossy(value).into_owned()))
}

/// A new PUK: 6–8 printable characters.
fn new_puk(field: &[u8]) -> Option<Zeroizing<String>> {
    let value = unpad(field)?;
    let ok = (6..=8).contains(&value.len()) && value.iter().all(|b| b.is_ascii_graphic());
    ok.then(|| Zeroizing::new(String::from_utf8_lossy(value).into_owned()))
}

fn finish(mut data: Vec<u8>, sw: Sw) -> Vec<u8> {
    data.extend_from_slice(&sw.to_be_bytes());
    data
}
