//! PIN-pad readers (PC/SC part 10 v2.02.09, "IFDs with secure PIN entry"): the PIN is typed on
//! the reader and goes from its keypad straight into the VERIFY or CHANGE REFERENCE DATA APDU,
//! never through the host.
//!
//! - Features: `CM_IOCTL_GET_FEATURE_REQUEST` (`SCARD_CTL_CODE(3400)`) answers a list of TLVs
//!   `tag (1) ‖ length (1) = 4 ‖ control code (4, big-endian)`; we use
//!   `FEATURE_VERIFY_PIN_DIRECT` (06) and `FEATURE_MODIFY_PIN_DIRECT` (07).
//! - Then `SCardControl(code, PIN_VERIFY_STRUCTURE | PIN_MODIFY_STRUCTURE)`; multi-byte fields are
//!   little-endian (CCID), the APDU follows with the PIN block(s) filled with the pad byte 0xFF,
//!   which the reader overwrites from the left with the digits typed (ASCII). A PIV PIN is 6–8
//!   digits padded with 0xFF to 8 bytes (SP 800-73-4), so: ASCII, byte units, block size 8, no
//!   length field in the APDU, 6 to 8 digits, entry ended by the OK key.
//! - The reader returns the card's status word, or its own: 6400 timeout, 6401 cancelled,
//!   6402 the two new PINs differ, 6403 a PIN of the wrong length, 6B80 a bad structure.

use crate::error::CardError;
use crate::status::StatusWord;
use crate::transport::Control;

/// `SCARD_CTL_CODE(code)` as the platform's PC/SC defines it.
pub const fn scard_ctl_code(code: u32) -> u32 {
    if cfg!(windows) {
        // FILE_DEVICE_SMARTCARD << 16 | code << 2 (METHOD_BUFFERED, FILE_ANY_ACCESS).
        (0x31 << 16) | (code << 2)
    } else {
        // pcsc-lite and macOS.
        0x4200_0000 + code
    }
}

/// `CM_IOCTL_GET_FEATURE_REQUEST`: which part 10 features the reader has.
pub const GET_FEATURE_REQUEST: u32 = scard_ctl_code(3400);
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;

/// Seconds the reader waits for the first key, and after each key.
const TIMEOUT_SECONDS: u8 = 30;
/// bmFormatString: system units are bytes (bit 7), PIN at offset 0 of the block (bits 6-3),
/// left justified (bit 2 clear), ASCII (bits 1-0 = 10).
const FORMAT_ASCII_BYTES: u8 = 0x82;
/// bmPINBlockString: no PIN length field in the APDU (bits 7-4), an 8-byte PIN block (bits 3-0).
const PIN_BLOCK_8: u8 = 0x08;
/// bmPINLengthFormat: no PIN length field.
const NO_LENGTH_FIELD: u8 = 0x00;
/// A PIV PIN on the pad: 6 to 8 digits.
const MIN_DIGITS: u8 = 6;
const MAX_DIGITS: u8 = 8;
/// bEntryValidationCondition: the user presses the OK key.
const VALIDATE_WITH_KEY: u8 = 0x02;
/// wLangId: English (United States).
const LANG_EN_US: u16 = 0x0409;
/// The 8-byte PIN block of a PIV VERIFY / CHANGE REFERENCE DATA before the reader fills it.
const PADDED_BLOCK: [u8; 8] = [0xFF; 8];

/// The PIN-entry features a reader offers, by control code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinPad {
    pub verify: Option<u32>,
    pub modify: Option<u32>,
}

impl PinPad {
    /// Asks the reader for its features. A reader (or PC/SC driver) that does not answer
    /// `GET_FEATURE_REQUEST`, or answers garbage, has no PIN pad as far as we are concerned.
    pub fn discover(control: &mut dyn Control) -> PinPad {
        match control.control(GET_FEATURE_REQUEST, &[]) {
            Ok(features) => PinPad::from_features(&features),
            Err(e) => {
                log::debug!("reader features not available: {e}");
                PinPad::default()
            }
        }
    }

    /// Reads the TLV list of a `GET_FEATURE_REQUEST` answer; a malformed entry ends the list.
    pub fn from_features(features: &[u8]) -> PinPad {
        let mut pad = PinPad::default();
        let mut rest = features;
        while let [tag, 4, a, b, c, d, tail @ ..] = rest {
            let code = u32::from_be_bytes([*a, *b, *c, *d]);
            match *tag {
                FEATURE_VERIFY_PIN_DIRECT => pad.verify = Some(code),
                FEATURE_MODIFY_PIN_DIRECT => pad.modify = Some(code),
                _ => {}
            }
            rest = tail;
        }
        pad
    }

    /// Whether the reader takes the PIN itself for VERIFY (what `cards` reports as `pinPad`).
    pub fn can_verify(&self) -> bool {
        self.verify.is_some()
    }
}

/// PIN_VERIFY_STRUCTURE for `apdu` (a VERIFY whose data is the padded PIN block).
pub fn verify_structure(apdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(19 + apdu.len());
    out.push(TIMEOUT_SECONDS); // bTimerOut
    out.push(TIMEOUT_SECONDS); // bTimerOut2
    out.push(FORMAT_ASCII_BYTES); // bmFormatString
    out.push(PIN_BLOCK_8); // bmPINBlockString
    out.push(NO_LENGTH_FIELD); // bmPINLengthFormat
    out.extend_from_slice(&max_extra_digit().to_le_bytes()); // wPINMaxExtraDigit
    out.push(VALIDATE_WITH_KEY); // bEntryValidationCondition
    out.push(0x01); // bNumberMessage: one message, "enter PIN"
    out.extend_from_slice(&LANG_EN_US.to_le_bytes()); // wLangId
    out.push(0x00); // bMsgIndex
    out.extend_from_slice(&[0, 0, 0]); // bTeoPrologue (T=1 only; the reader fills it)
    push_apdu(&mut out, apdu);
    out
}

/// PIN_MODIFY_STRUCTURE for `apdu` (a CHANGE REFERENCE DATA whose data is the old PIN block
/// followed by the new one): the reader asks the current PIN, the new PIN, and the new PIN again.
pub fn modify_structure(apdu: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + apdu.len());
    out.push(TIMEOUT_SECONDS); // bTimerOut
    out.push(TIMEOUT_SECONDS); // bTimerOut2
    out.push(FORMAT_ASCII_BYTES); // bmFormatString
    out.push(PIN_BLOCK_8); // bmPINBlockString
    out.push(NO_LENGTH_FIELD); // bmPINLengthFormat
    out.push(0x00); // bInsertionOffsetOld: the old PIN block starts the data
    out.push(PADDED_BLOCK.len() as u8); // bInsertionOffsetNew: the new one follows it
    out.extend_from_slice(&max_extra_digit().to_le_bytes()); // wPINMaxExtraDigit
    out.push(0x03); // bConfirmPIN: current PIN asked (bit 1), new PIN confirmed (bit 0)
    out.push(VALIDATE_WITH_KEY); // bEntryValidationCondition
    out.push(0x03); // bNumberMessage: current, new, confirm
    out.extend_from_slice(&LANG_EN_US.to_le_bytes()); // wLangId
    out.extend_from_slice(&[0x00, 0x01, 0x02]); // bMsgIndex1..3
    out.extend_from_slice(&[0, 0, 0]); // bTeoPrologue
    push_apdu(&mut out, apdu);
    out
}

/// `XXYY`: XX the minimum, YY the maximum number of digits.
fn max_extra_digit() -> u16 {
    u16::from(MIN_DIGITS) << 8 | u16::from(MAX_DIGITS)
}

fn push_apdu(out: &mut Vec<u8>, apdu: &[u8]) {
    out.extend_from_slice(&(apdu.len() as u32).to_le_bytes()); // ulDataLength
    out.extend_from_slice(apdu); // abData
}

/// VERIFY `00 20 00 <reference> 08` with an empty 8-byte PIN block for the reader to fill.
pub fn verify_apdu(reference: u8) -> Vec<u8> {
    [&[0x00, 0x20, 0x00, reference, 0x08][..], &PADDED_BLOCK].concat()
}

/// CHANGE REFERENCE DATA `00 24 00 <reference> 10` with two empty 8-byte PIN blocks.
pub fn modify_apdu(reference: u8) -> Vec<u8> {
    [
        &[0x00, 0x24, 0x00, reference, 0x10][..],
        &PADDED_BLOCK,
        &PADDED_BLOCK,
    ]
    .concat()
}

/// The reader's answer to a PIN-pad operation: the status word that ends it. Its own failures
/// become errors here; the card's status word is returned for the caller to read.
pub fn reader_status(answer: &[u8]) -> Result<StatusWord, CardError> {
    let [.., sw1, sw2] = answer else {
        return Err(CardError::malformed(
            "the PIN pad's answer has no status word",
        ));
    };
    let sw = StatusWord(u16::from_be_bytes([*sw1, *sw2]));
    match sw.0 {
        0x6400 => Err(CardError::PinEntryTimeout),
        0x6401 => Err(CardError::PinEntryCancelled),
        // The two new PINs differ, or a PIN of the wrong length was typed.
        0x6402 | 0x6403 => Err(CardError::PinFormat),
        0x6B80 => Err(CardError::invalid_input(
            "the reader refused the PIN-entry parameters",
        )),
        _ => Ok(sw),
    }
}

#[cfg(test)]
mod tests;
