#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use super::*;
use crate::piv::Piv;
use crate::transport::fake::{h, ScriptedCard};

const VERIFY_CODE: u32 = 0x4200_3136;
const MODIFY_CODE: u32 = 0x4200_3137;

/// A GET_FEATURE_REQUEST answer as a CCID reader with a PIN pad gives it (with other features
/// around the two we use: IFD_PIN_PROPERTIES 0A, GET_TLV_PROPERTIES 12).
fn features() -> Vec<u8> {
    h("06 04 42 00 31 36  07 04 42 00 31 37  0A 04 42 00 33 0A  12 04 42 00 33 12")
}

fn pad_card() -> ScriptedCard {
    ScriptedCard::new().expect_control(GET_FEATURE_REQUEST, &[], Ok(features()))
}

/// PIN_VERIFY_STRUCTURE of PC/SC part 10 v2.02.09 §2.5.2, field by field, for a PIV VERIFY.
const VERIFY_STRUCTURE: &str = concat!(
    "1E",                                     // bTimerOut: 30 s
    "1E",                                     // bTimerOut2: 30 s after the first key
    "82",                                     // bmFormatString: bytes, offset 0, left, ASCII
    "08",                                     // bmPINBlockString: no length field, 8-byte block
    "00",                                     // bmPINLengthFormat: no length field
    "08 06",                                  // wPINMaxExtraDigit 0x0608 LE: 6 to 8 digits
    "02",                                     // bEntryValidationCondition: OK key
    "01",                                     // bNumberMessage
    "09 04",                                  // wLangId 0x0409 LE
    "00",                                     // bMsgIndex
    "00 00 00",                               // bTeoPrologue
    "0D 00 00 00",                            // ulDataLength 13 LE
    "00 20 00 80 08 FF FF FF FF FF FF FF FF", // VERIFY PIN, block padded with FF
);

/// PIN_MODIFY_STRUCTURE (§2.5.3) for a PIV CHANGE REFERENCE DATA of the PIN.
const MODIFY_STRUCTURE: &str = concat!(
    "1E 1E 82 08 00",
    "00",    // bInsertionOffsetOld
    "08",    // bInsertionOffsetNew: after the old 8-byte block
    "08 06", // wPINMaxExtraDigit
    "03",    // bConfirmPIN: current PIN asked, new PIN confirmed
    "02",    // bEntryValidationCondition
    "03",    // bNumberMessage
    "09 04", // wLangId
    "00 01 02",
    "00 00 00",
    "15 00 00 00", // ulDataLength 21
    "00 24 00 80 10 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
);

#[test]
fn the_control_code_is_the_platforms_scard_ctl_code() {
    assert_eq!(u64::from(GET_FEATURE_REQUEST), pcsc::ctl_code(3400) as u64);
    if cfg!(not(windows)) {
        assert_eq!(GET_FEATURE_REQUEST, 0x4200_0D48);
    }
}

#[test]
fn features_are_read_from_the_tlv_list() {
    assert_eq!(
        PinPad::from_features(&features()),
        PinPad {
            verify: Some(VERIFY_CODE),
            modify: Some(MODIFY_CODE)
        }
    );
    // A reader without a pad lists other features, or none; a truncated entry ends the list.
    assert_eq!(
        PinPad::from_features(&h("0A 04 42 00 33 0A")),
        PinPad::default()
    );
    assert_eq!(PinPad::from_features(&[]), PinPad::default());
    assert_eq!(
        PinPad::from_features(&h("06 04 42 00 31")),
        PinPad::default()
    );
    assert_eq!(
        PinPad::from_features(&h("06 02 42 00 07 04 42 00 31 37")),
        PinPad::default(),
        "a bad length stops the reading"
    );
}

#[test]
fn the_structures_follow_part_10() {
    assert_eq!(verify_structure(&verify_apdu(0x80)), h(VERIFY_STRUCTURE));
    assert_eq!(modify_structure(&modify_apdu(0x80)), h(MODIFY_STRUCTURE));
}

#[test]
fn verify_on_the_reader_sends_the_structure_and_never_a_pin() {
    let mut card = pad_card().expect_control(VERIFY_CODE, &h(VERIFY_STRUCTURE), Ok(h("90 00")));
    let mut piv = Piv::new(&mut card);
    piv.verify_pin_on_reader().unwrap();
    assert!(
        piv.pin_was_verified(),
        "cleared at the end of the transaction"
    );
    assert_eq!(piv.pin_checked(), Some(true));
    assert!(
        card.sent.is_empty(),
        "no APDU from the host: the reader sent VERIFY"
    );
    card.finish();
}

#[test]
fn pin_pad_outcomes_are_clear_errors() {
    let cases = [
        (
            "63C2",
            CardError::PinIncorrect { retries_left: 2 },
            Some(false),
        ),
        ("6983", CardError::PinBlocked, Some(false)),
        ("6400", CardError::PinEntryTimeout, None),
        ("6401", CardError::PinEntryCancelled, None),
        ("6402", CardError::PinFormat, None),
        ("6403", CardError::PinFormat, None),
        (
            "6B80",
            CardError::invalid_input("the reader refused the PIN-entry parameters"),
            None,
        ),
        ("6F00", CardError::Status(StatusWord(0x6F00)), None),
    ];
    for (sw, expected, checked) in cases {
        let mut card = pad_card().expect_control(VERIFY_CODE, &h(VERIFY_STRUCTURE), Ok(h(sw)));
        let mut piv = Piv::new(&mut card);
        assert_eq!(piv.verify_pin_on_reader(), Err(expected), "{sw}");
        assert!(!piv.pin_was_verified(), "{sw}");
        assert_eq!(piv.pin_checked(), checked, "{sw}");
        card.finish();
    }
    // An answer without a status word, and a control that fails (reader gone).
    let mut card = pad_card().expect_control(VERIFY_CODE, &h(VERIFY_STRUCTURE), Ok(vec![0x90]));
    assert!(matches!(
        Piv::new(&mut card).verify_pin_on_reader(),
        Err(CardError::Malformed(_))
    ));
    let mut card = pad_card().expect_control(
        VERIFY_CODE,
        &h(VERIFY_STRUCTURE),
        Err(CardError::CardRemoved),
    );
    assert_eq!(
        Piv::new(&mut card).verify_pin_on_reader(),
        Err(CardError::CardRemoved)
    );
}

#[test]
fn change_pin_on_the_reader_asks_old_new_and_confirmation_there() {
    let mut card = pad_card().expect_control(MODIFY_CODE, &h(MODIFY_STRUCTURE), Ok(h("90 00")));
    let mut piv = Piv::new(&mut card);
    piv.change_pin_on_reader().unwrap();
    assert_eq!(piv.pin_checked(), Some(true));
    card.finish();
    let mut card = pad_card().expect_control(MODIFY_CODE, &h(MODIFY_STRUCTURE), Ok(h("63C1")));
    assert_eq!(
        Piv::new(&mut card).change_pin_on_reader(),
        Err(CardError::PinIncorrect { retries_left: 1 })
    );
}

#[test]
fn a_reader_without_a_pad_is_told_so_before_anything_is_sent() {
    // No control channel at all (vpcd), a reader that refuses the feature request, and one
    // with VERIFY but not MODIFY.
    let mut card = ScriptedCard::new();
    assert_eq!(
        Piv::new(&mut card).verify_pin_on_reader(),
        Err(CardError::NoPinPad)
    );
    assert_eq!(Piv::new(&mut card).pin_pad(), PinPad::default());
    let mut card = ScriptedCard::new().expect_control(
        GET_FEATURE_REQUEST,
        &[],
        Err(CardError::Pcsc("Transaction failed.".into())),
    );
    assert_eq!(
        Piv::new(&mut card).verify_pin_on_reader(),
        Err(CardError::NoPinPad)
    );
    card.finish();
    let mut card =
        ScriptedCard::new().expect_control(GET_FEATURE_REQUEST, &[], Ok(h("06 04 42 00 31 36")));
    let mut piv = Piv::new(&mut card);
    assert_eq!(piv.change_pin_on_reader(), Err(CardError::NoPinPad));
    assert_eq!(piv.pin_checked(), None);
    card.finish();
    assert!(card.sent.is_empty());
}
