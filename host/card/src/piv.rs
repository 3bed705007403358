//! The PIV card edge (NIST SP 800-73-4 part 2): the commands the host sends and how their
//! status words map to [`CardError`]. Only standard PIV instructions, nothing vendor-specific.

use crate::apdu::{status_error, Command, Response, StatusWord};
use crate::error::CardError;
use crate::pinpad::{self, PinPad};
use crate::tlv;
use crate::transport::{exchange, exchange_with_limit, Transport};
use std::fmt;
use std::io::Read;
use zeroize::Zeroizing;

/// PIV application identifier (without version bytes, so any PIV version matches).
pub const PIV_AID: [u8; 9] = [0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00];

/// Largest data object read from the card (the GET DATA reply), and largest certificate
/// after decompression.
pub const MAX_OBJECT: usize = 16 * 1024;

/// The PIV card application PIN's key reference.
const PIN_REFERENCE: u8 = 0x80;
/// PIN and PUK are padded with 0xFF to this length.
const PIN_BLOCK: usize = 8;

/// Key slots (key references) of SP 800-73-4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Slot {
    /// 9A, PIV authentication: the login key.
    Authentication,
    /// 9C, digital signature.
    Signature,
    /// 9B, card management (symmetric).
    CardManagement,
    /// 9D, key management.
    KeyManagement,
    /// 9E, card authentication.
    CardAuthentication,
}

impl Slot {
    pub fn key_reference(self) -> u8 {
        match self {
            Slot::Authentication => 0x9A,
            Slot::Signature => 0x9C,
            Slot::CardManagement => 0x9B,
            Slot::KeyManagement => 0x9D,
            Slot::CardAuthentication => 0x9E,
        }
    }

    /// The data object holding this slot's certificate; 9B has none.
    pub fn certificate_tag(self) -> Option<u32> {
        match self {
            Slot::Authentication => Some(0x5FC105),
            Slot::Signature => Some(0x5FC10A),
            Slot::KeyManagement => Some(0x5FC10B),
            Slot::CardAuthentication => Some(0x5FC101),
            Slot::CardManagement => None,
        }
    }

    pub fn from_key_reference(reference: u8) -> Option<Slot> {
        [
            Slot::Authentication,
            Slot::Signature,
            Slot::CardManagement,
            Slot::KeyManagement,
            Slot::CardAuthentication,
        ]
        .into_iter()
        .find(|s| s.key_reference() == reference)
    }
}

impl fmt::Display for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}", self.key_reference())
    }
}

/// Asymmetric algorithm identifiers (SP 800-78-4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Algorithm {
    Rsa2048 = 0x07,
    EccP256 = 0x11,
    EccP384 = 0x14,
}

impl Algorithm {
    pub fn id(self) -> u8 {
        self as u8
    }

    pub fn from_id(id: u8) -> Option<Algorithm> {
        match id {
            0x07 => Some(Algorithm::Rsa2048),
            0x11 => Some(Algorithm::EccP256),
            0x14 => Some(Algorithm::EccP384),
            _ => None,
        }
    }

    /// Bytes of the card's input for GENERAL AUTHENTICATE: the modulus or the field size.
    pub fn input_len(self) -> usize {
        match self {
            Algorithm::Rsa2048 => 256,
            Algorithm::EccP256 => 32,
            Algorithm::EccP384 => 48,
        }
    }
}

/// The PIN's state as the card reports it without a PIN being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinStatus {
    Verified,
    RetriesLeft(u8),
    Blocked,
}

/// Whether a failed reference-data check concerns the PIN or the PUK.
#[derive(Clone, Copy)]
enum Secret {
    Pin,
    Puk,
}

/// The PIV application on one card, reached through any [`Transport`].
pub struct Piv<'t> {
    transport: &'t mut dyn Transport,
    pin_verified: bool,
    /// The outcome of the last check of the holder's PIN (VERIFY or CHANGE REFERENCE DATA)
    /// through this value: `Some(true)` right, `Some(false)` wrong or blocked, `None` none sent.
    pin_checked: Option<bool>,
}

impl fmt::Debug for Piv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Piv")
            .field("pin_verified", &self.pin_verified)
            .finish_non_exhaustive()
    }
}

impl<'t> Piv<'t> {
    pub fn new(transport: &'t mut dyn Transport) -> Self {
        Piv {
            transport,
            pin_verified: false,
            pin_checked: None,
        }
    }

    /// The outcome of the last check of the PIN the holder typed (VERIFY, CHANGE REFERENCE
    /// DATA) through this value: `Some(true)` when the card accepted it, `Some(false)` when it
    /// refused it (wrong, blocked), `None` when no PIN was checked. RESET RETRY COUNTER does not
    /// count: it proves the PUK, not that the holder knows the PIN. A card session keeps this
    /// as its holder's consent to key generation.
    pub fn pin_checked(&self) -> Option<bool> {
        self.pin_checked
    }

    /// Records a PIN check's outcome for [`Piv::pin_checked`].
    fn note_pin_check(&mut self, outcome: &Result<(), CardError>) {
        match outcome {
            Ok(()) => self.pin_checked = Some(true),
            Err(CardError::PinIncorrect { .. } | CardError::PinBlocked) => {
                self.pin_checked = Some(false)
            }
            Err(_) => {}
        }
    }

    /// Whether this session set or verified the PIN (so the PC/SC backend clears the card's
    /// verified state before other applications get the card).
    pub fn pin_was_verified(&self) -> bool {
        self.pin_verified
    }

    /// Sends any command (chaining and GET RESPONSE handled) and returns the raw response,
    /// whatever its status word: for callers relaying standard commands this module lacks.
    pub fn transmit(&mut self, command: &Command) -> Result<Response, CardError> {
        exchange(self.transport, command)
    }

    /// SELECT the PIV application. 6A82 (or any failure) means this is not a PIV card.
    pub fn select(&mut self) -> Result<(), CardError> {
        let command = Command::new(0x00, 0xA4, 0x04, 0x00)
            .with_data(PIV_AID.to_vec())
            .with_le(256);
        let response = self.transmit(&command)?;
        if response.is_success() {
            Ok(())
        } else {
            log::debug!("SELECT PIV answered {}", response.sw);
            Err(CardError::UnsupportedCard)
        }
    }

    /// The certificate in `slot`'s data object, decompressed; `None` when the card has none.
    pub fn read_certificate(&mut self, slot: Slot) -> Result<Option<Vec<u8>>, CardError> {
        let tag = slot
            .certificate_tag()
            .ok_or_else(|| CardError::invalid_input(format!("slot {slot} has no certificate")))?;
        match self.read_object(tag)? {
            Some(object) => certificate_from_object(&object),
            None => Ok(None),
        }
    }

    /// GET DATA for one object; returns the contents of its `53` wrapper, `None` on 6A82.
    pub fn read_object(&mut self, tag: u32) -> Result<Option<Vec<u8>>, CardError> {
        let command = Command::new(0x00, 0xCB, 0x3F, 0xFF)
            .with_data(tlv::encode(0x5C, &object_id(tag)))
            .with_le(256);
        // Room for the TLV headers (53, 70, 71, FE: 13 bytes at most) around a certificate of
        // MAX_OBJECT bytes; anything longer is refused before it is all read.
        let response = exchange_with_limit(self.transport, &command, MAX_OBJECT + 16)?;
        if response.sw.is_not_found() {
            return Ok(None);
        }
        let data = response.into_data()?;
        let (wrapper, _trailing) = tlv::parse_one(&data)?;
        if wrapper.tag != 0x53 {
            return Err(CardError::malformed("GET DATA reply is not a 53 object"));
        }
        Ok(Some(wrapper.value.to_vec()))
    }

    /// VERIFY the PIN once. Never retried here: a wrong PIN costs the user a try.
    pub fn verify_pin(&mut self, pin: &[u8]) -> Result<(), CardError> {
        let mut block = Zeroizing::new(Vec::with_capacity(PIN_BLOCK));
        pad_pin_into(&mut block, pin)?;
        let command =
            Command::new(0x00, 0x20, 0x00, PIN_REFERENCE).with_data(std::mem::take(&mut *block));
        let response = self.transmit(&command)?;
        let outcome = check_reference_data(response.sw, Secret::Pin);
        self.note_pin_check(&outcome);
        outcome?;
        self.pin_verified = true;
        Ok(())
    }

    /// The reader's PIN-entry features (PC/SC part 10); none when the transport has no control
    /// channel or the reader answers none.
    pub fn pin_pad(&mut self) -> PinPad {
        match self.transport.reader_control() {
            Some(control) => PinPad::discover(control),
            None => PinPad::default(),
        }
    }

    /// VERIFY with the PIN typed on the reader's PIN pad (FEATURE_VERIFY_PIN_DIRECT): the host
    /// never sees it. Outcomes as [`Piv::verify_pin`], plus `PinEntryTimeout`,
    /// `PinEntryCancelled`, and `NoPinPad` when the reader has no pad.
    pub fn verify_pin_on_reader(&mut self) -> Result<(), CardError> {
        let code = self.pin_pad().verify.ok_or(CardError::NoPinPad)?;
        let structure = pinpad::verify_structure(&pinpad::verify_apdu(PIN_REFERENCE));
        let outcome = self.pad_operation(code, &structure);
        self.note_pin_check(&outcome);
        outcome?;
        self.pin_verified = true;
        Ok(())
    }

    /// CHANGE REFERENCE DATA with the current PIN and the new one (twice) typed on the reader's
    /// PIN pad (FEATURE_MODIFY_PIN_DIRECT).
    pub fn change_pin_on_reader(&mut self) -> Result<(), CardError> {
        let code = self.pin_pad().modify.ok_or(CardError::NoPinPad)?;
        let structure = pinpad::modify_structure(&pinpad::modify_apdu(PIN_REFERENCE));
        let outcome = self.pad_operation(code, &structure);
        self.note_pin_check(&outcome);
        outcome?;
        self.pin_verified = true;
        Ok(())
    }

    fn pad_operation(&mut self, code: u32, structure: &[u8]) -> Result<(), CardError> {
        let control = self.transport.reader_control().ok_or(CardError::NoPinPad)?;
        let answer = control.control(code, structure)?;
        check_reference_data(pinpad::reader_status(&answer)?, Secret::Pin)
    }

    /// VERIFY without data: asks for the PIN state without spending a try.
    pub fn pin_status(&mut self) -> Result<PinStatus, CardError> {
        let response = self.transmit(&Command::new(0x00, 0x20, 0x00, PIN_REFERENCE))?;
        let sw = response.sw;
        if sw.is_success() {
            Ok(PinStatus::Verified)
        } else if let Some(n) = sw.retries_left() {
            Ok(if n == 0 {
                PinStatus::Blocked
            } else {
                PinStatus::RetriesLeft(n)
            })
        } else if sw.is_blocked() {
            Ok(PinStatus::Blocked)
        } else {
            Err(status_error(sw))
        }
    }

    /// VERIFY with P1 = FF (SP 800-73-4 §3.2.1): drops the PIN's verified state so no other
    /// application sharing the card can use it after this session.
    pub fn reset_pin_status(&mut self) -> Result<(), CardError> {
        let response = self.transmit(&Command::new(0x00, 0x20, 0xFF, PIN_REFERENCE))?;
        response.into_data().map(|_| {
            self.pin_verified = false;
        })
    }

    /// CHANGE REFERENCE DATA for the PIN: old PIN ‖ new PIN, each padded.
    pub fn change_pin(&mut self, old: &[u8], new: &[u8]) -> Result<(), CardError> {
        let mut data = two_blocks(old, new)?;
        let command =
            Command::new(0x00, 0x24, 0x00, PIN_REFERENCE).with_data(std::mem::take(&mut *data));
        let response = self.transmit(&command)?;
        let outcome = check_reference_data(response.sw, Secret::Pin);
        self.note_pin_check(&outcome);
        outcome?;
        // Some cards count a successful change as a verification: clear it afterwards too.
        self.pin_verified = true;
        Ok(())
    }

    /// RESET RETRY COUNTER: PUK ‖ new PIN unblocks the PIN and sets it.
    pub fn reset_retry_counter(&mut self, puk: &[u8], new_pin: &[u8]) -> Result<(), CardError> {
        let mut data = two_blocks(puk, new_pin)?;
        let command =
            Command::new(0x00, 0x2C, 0x00, PIN_REFERENCE).with_data(std::mem::take(&mut *data));
        let response = self.transmit(&command)?;
        check_reference_data(response.sw, Secret::Puk)?;
        self.pin_verified = true;
        Ok(())
    }

    /// GENERAL AUTHENTICATE: the card applies the private key in `slot` to `input` (a padded
    /// RSA block or an EC digest) and returns the raw result (RSA) or a DER signature (EC).
    pub fn general_authenticate(
        &mut self,
        slot: Slot,
        algorithm: Algorithm,
        input: &[u8],
    ) -> Result<Vec<u8>, CardError> {
        let mut template = tlv::encode(0x82, &[]);
        tlv::encode_into(&mut template, 0x81, input);
        let command = Command::new(0x00, 0x87, algorithm.id(), slot.key_reference())
            .with_data(tlv::encode(0x7C, &template))
            .with_le(256);
        let data = self.transmit(&command)?.into_data()?;
        let (outer, _) = tlv::parse_one(&data)?;
        if outer.tag != 0x7C {
            return Err(CardError::malformed("GENERAL AUTHENTICATE reply is not 7C"));
        }
        tlv::find(outer.value, 0x82)?
            .map(<[u8]>::to_vec)
            .ok_or_else(|| CardError::malformed("GENERAL AUTHENTICATE reply has no 82"))
    }
}

/// A tag as the bytes of a `5C` tag list (5FC105 → 5F C1 05).
pub(crate) fn object_id(tag: u32) -> Vec<u8> {
    let bytes = tag.to_be_bytes();
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// A certificate object `70 cert, 71 certinfo, FE lrc`: the DER, gunzipped when 71 says so.
fn certificate_from_object(object: &[u8]) -> Result<Option<Vec<u8>>, CardError> {
    let certificate = match tlv::find(object, 0x70)? {
        Some(c) if !c.is_empty() => c,
        // An empty object is how cards say "slot not provisioned".
        _ => return Ok(None),
    };
    let info = tlv::find(object, 0x71)?.and_then(|v| v.first().copied());
    match info {
        // Bit 0 of CertInfo: compressed with gzip.
        // A stream that inflates to nothing is no certificate, like an empty 70.
        Some(info) if info & 0x01 != 0 => {
            decompress(certificate).map(|der| (!der.is_empty()).then_some(der))
        }
        _ => Ok(Some(certificate.to_vec())),
    }
}

/// gzip (as SP 800-73-4 says); zlib streams some issuers wrote are accepted too. The output
/// is capped at [`MAX_OBJECT`] so a small bomb cannot exhaust memory.
fn decompress(data: &[u8]) -> Result<Vec<u8>, CardError> {
    let reader: Box<dyn Read + '_> = if data.starts_with(&[0x1F, 0x8B]) {
        Box::new(flate2::read::GzDecoder::new(data))
    } else {
        Box::new(flate2::read::ZlibDecoder::new(data))
    };
    let mut out = Vec::new();
    reader
        .take(MAX_OBJECT as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| CardError::malformed(format!("compressed certificate: {e}")))?;
    if out.len() > MAX_OBJECT {
        return Err(CardError::malformed(format!(
            "certificate larger than {MAX_OBJECT} bytes"
        )));
    }
    Ok(out)
}

/// Appends a PIN or PUK padded with 0xFF to 8 bytes. Straight into the caller's (wiped, heap)
/// buffer: a padded block returned by value would be moved through stack slots that are never
/// wiped, and a scan of the host's memory found the PIN there.
fn pad_pin_into(out: &mut Vec<u8>, pin: &[u8]) -> Result<(), CardError> {
    if pin.is_empty() || pin.len() > PIN_BLOCK || pin.contains(&0xFF) {
        return Err(CardError::PinFormat);
    }
    out.extend_from_slice(pin);
    out.resize(out.len() + PIN_BLOCK - pin.len(), 0xFF);
    Ok(())
}

fn two_blocks(first: &[u8], second: &[u8]) -> Result<Zeroizing<Vec<u8>>, CardError> {
    let mut data = Zeroizing::new(Vec::with_capacity(2 * PIN_BLOCK));
    pad_pin_into(&mut data, first)?;
    pad_pin_into(&mut data, second)?;
    Ok(data)
}

/// Status words of VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER.
fn check_reference_data(sw: StatusWord, secret: Secret) -> Result<(), CardError> {
    if sw.is_success() {
        return Ok(());
    }
    if let Some(retries_left) = sw.retries_left() {
        return Err(match secret {
            Secret::Pin => CardError::PinIncorrect { retries_left },
            Secret::Puk => CardError::PukIncorrect { retries_left },
        });
    }
    if sw.is_blocked() {
        return Err(match secret {
            Secret::Pin => CardError::PinBlocked,
            Secret::Puk => CardError::PukBlocked,
        });
    }
    // 6A80: the card rejected the new reference data's format (e.g. too short).
    if sw == StatusWord::WRONG_DATA {
        return Err(CardError::PinFormat);
    }
    Err(status_error(sw))
}

#[cfg(test)]
mod tests;
