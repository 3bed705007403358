#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

use super::*;
use crate::transport::fake::{h, ScriptedCard};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;

const SELECT: &str = "00 A4 04 00 09 A0 00 00 03 08 00 00 10 00 00";
const GET_9A: &str = "00 CB 3F FF 05 5C 03 5F C1 05 00";

fn certificate_object(cert: &[u8], info: u8) -> Vec<u8> {
    let mut inner = tlv::encode(0x70, cert);
    inner.extend(tlv::encode(0x71, &[info]));
    inner.extend(tlv::encode(0xFE, &[]));
    tlv::encode(0x53, &inner)
}

/// Script for a GET DATA answered in 256-byte pieces via 61xx, as a card does.
fn answer_in_pieces(mut card: ScriptedCard, command: &[u8], reply: &[u8]) -> ScriptedCard {
    let mut pieces = reply.chunks(256).peekable();
    let mut sent = command.to_vec();
    while let Some(piece) = pieces.next() {
        let sw = match pieces.peek() {
            Some(next) => [0x61, (next.len() & 0xFF) as u8],
            None => [0x90, 0x00],
        };
        card = card.expect(&sent, &[piece, &sw].concat());
        sent = vec![0x00, 0xC0, 0x00, 0x00, sw[1]];
    }
    card
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn select_sends_the_piv_aid() {
    // The application property template comes back through GET RESPONSE, as on many cards.
    let template = [
        h("61 11 4F 06 00 00 10 00 01 00 79 07 4F 05 A0 00 00 03 08"),
        h("9000"),
    ]
    .concat();
    let mut card = ScriptedCard::new()
        .expect(&h(SELECT), &h("61 13"))
        .expect(&h("00 C0 00 00 13"), &template);
    Piv::new(&mut card).select().unwrap();
    card.finish();
}

#[test]
fn select_refused_is_an_unsupported_card() {
    let mut card = ScriptedCard::new().expect(&h(SELECT), &h("6A82"));
    assert_eq!(
        Piv::new(&mut card).select(),
        Err(CardError::UnsupportedCard)
    );
}

#[test]
fn reads_a_plain_certificate_across_61xx() {
    let cert: Vec<u8> = (0..700u32).map(|i| (i % 251) as u8).collect();
    let reply = certificate_object(&cert, 0x00);
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    let got = Piv::new(&mut card)
        .read_certificate(Slot::Authentication)
        .unwrap();
    assert_eq!(got, Some(cert));
    card.finish();
}

#[test]
fn reads_a_gzip_certificate() {
    let cert: Vec<u8> = b"0\x82\x03\x00 a certificate that compresses well "
        .iter()
        .copied()
        .cycle()
        .take(1500)
        .collect();
    let reply = certificate_object(&gzip(&cert), 0x01);
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    let got = Piv::new(&mut card)
        .read_certificate(Slot::Authentication)
        .unwrap();
    assert_eq!(got, Some(cert));
    card.finish();
}

#[test]
fn a_compressed_certificate_that_inflates_to_nothing_is_no_certificate() {
    // Found by the read_certificate fuzz target: it came back as Some(empty), which an empty
    // uncompressed 70 never does (an empty object means "slot not provisioned").
    for compressed in [gzip(b""), {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), Compression::default());
        z.write_all(b"").unwrap();
        z.finish().unwrap()
    }] {
        let reply = certificate_object(&compressed, 0x01);
        let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
        let got = Piv::new(&mut card).read_certificate(Slot::Authentication);
        assert_eq!(got, Ok(None));
        card.finish();
    }
}

#[test]
fn refuses_a_gzip_bomb() {
    let reply = certificate_object(&gzip(&vec![0u8; MAX_OBJECT + 1]), 0x01);
    assert!(reply.len() < 256, "the bomb is small: {}", reply.len());
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    let err = Piv::new(&mut card)
        .read_certificate(Slot::Authentication)
        .unwrap_err();
    assert!(matches!(err, CardError::Malformed(_)), "{err:?}");
}

#[test]
fn refuses_corrupt_gzip() {
    let mut compressed = gzip(b"some certificate bytes");
    let last = compressed.len() - 1;
    compressed[last] ^= 0xFF; // breaks the length trailer
    let reply = certificate_object(&compressed, 0x01);
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    assert!(matches!(
        Piv::new(&mut card).read_certificate(Slot::Authentication),
        Err(CardError::Malformed(_))
    ));
}

#[test]
fn accepts_a_certificate_of_the_maximum_size() {
    let cert = vec![0x30; MAX_OBJECT];
    let reply = certificate_object(&cert, 0x00);
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    let got = Piv::new(&mut card)
        .read_certificate(Slot::Authentication)
        .unwrap();
    assert_eq!(got.map(|c| c.len()), Some(MAX_OBJECT));
    card.finish();
}

#[test]
fn refuses_an_object_over_the_limit() {
    let reply = certificate_object(&vec![0x30; MAX_OBJECT + 100], 0x00);
    let mut card = answer_in_pieces(ScriptedCard::new(), &h(GET_9A), &reply);
    // The card is cut off once the limit is passed, so not every piece is fetched.
    let err = Piv::new(&mut card)
        .read_certificate(Slot::Authentication)
        .unwrap_err();
    assert!(matches!(err, CardError::Malformed(_)), "{err:?}");
}

#[test]
fn missing_or_empty_certificate_is_none() {
    let mut card = ScriptedCard::new().expect(&h(GET_9A), &h("6A82"));
    assert_eq!(
        Piv::new(&mut card).read_certificate(Slot::Authentication),
        Ok(None)
    );
    let reply = [certificate_object(&[], 0), h("9000")].concat();
    let mut card = ScriptedCard::new().expect(&h(GET_9A), &reply);
    assert_eq!(
        Piv::new(&mut card).read_certificate(Slot::Authentication),
        Ok(None)
    );
}

#[test]
fn reads_the_signature_slot_object() {
    let reply = [certificate_object(b"sig", 0), h("9000")].concat();
    let mut card = ScriptedCard::new().expect(&h("00 CB 3F FF 05 5C 03 5F C1 0A 00"), &reply);
    assert_eq!(
        Piv::new(&mut card).read_certificate(Slot::Signature),
        Ok(Some(b"sig".to_vec()))
    );
    card.finish();
}

#[test]
fn malformed_object_replies_are_errors() {
    for reply in [
        h("70 03 010203 9000"),   // no 53 wrapper
        h("53 05 70 10 01 9000"), // inner length past the end
        h("53 82 01 9000"),       // truncated length
        h("9000"),                // nothing at all
    ] {
        let mut card = ScriptedCard::new().expect(&h(GET_9A), &reply);
        let result = Piv::new(&mut card).read_certificate(Slot::Authentication);
        assert!(
            matches!(result, Err(CardError::Malformed(_))),
            "{reply:02X?}: {result:?}"
        );
    }
}

#[test]
fn verify_pads_the_pin_and_sends_one_verify() {
    let mut card =
        ScriptedCard::new().expect(&h("00 20 00 80 08 31 32 33 34 35 36 FF FF"), &h("9000"));
    let mut piv = Piv::new(&mut card);
    piv.verify_pin(b"123456").unwrap();
    assert!(piv.pin_was_verified());
    assert_eq!(card.sent.len(), 1);
    card.finish();
}

#[test]
fn verify_outcomes() {
    let pin = h("00 20 00 80 08 31 32 33 34 FF FF FF FF");
    let cases = [
        ("63C2", CardError::PinIncorrect { retries_left: 2 }),
        ("63C0", CardError::PinIncorrect { retries_left: 0 }),
        ("6983", CardError::PinBlocked),
        ("6A80", CardError::PinFormat),
        ("6D00", CardError::Status(StatusWord(0x6D00))),
    ];
    for (sw, expected) in cases {
        let mut card = ScriptedCard::new().expect(&pin, &h(sw));
        let mut piv = Piv::new(&mut card);
        assert_eq!(piv.verify_pin(b"1234"), Err(expected), "{sw}");
        assert!(!piv.pin_was_verified());
        assert_eq!(card.sent.len(), 1, "{sw}: exactly one VERIFY");
    }
}

#[test]
fn unsendable_pins_never_reach_the_card() {
    for pin in [&b""[..], b"123456789", b"12\xFF4"] {
        // An empty script: any command sent fails the test.
        let mut card = ScriptedCard::new();
        assert_eq!(
            Piv::new(&mut card).verify_pin(pin),
            Err(CardError::PinFormat)
        );
        assert!(card.sent.is_empty());
    }
}

#[test]
fn pin_status_without_spending_a_try() {
    for (sw, expected) in [
        ("9000", PinStatus::Verified),
        ("63C3", PinStatus::RetriesLeft(3)),
        ("63C0", PinStatus::Blocked),
        ("6983", PinStatus::Blocked),
    ] {
        let mut card = ScriptedCard::new().expect(&h("00 20 00 80"), &h(sw));
        assert_eq!(Piv::new(&mut card).pin_status(), Ok(expected), "{sw}");
    }
    let mut card = ScriptedCard::new().expect(&h("00 20 00 80"), &h("6A86"));
    assert_eq!(
        Piv::new(&mut card).pin_status(),
        Err(CardError::Status(StatusWord(0x6A86)))
    );
}

#[test]
fn reset_pin_status_sends_verify_ff() {
    let mut card = ScriptedCard::new()
        .expect(&h("00 20 00 80 08 31 32 33 34 35 36 FF FF"), &h("9000"))
        .expect(&h("00 20 FF 80"), &h("9000"));
    let mut piv = Piv::new(&mut card);
    piv.verify_pin(b"123456").unwrap();
    piv.reset_pin_status().unwrap();
    assert!(!piv.pin_was_verified());
    card.finish();
}

#[test]
fn change_pin_bytes_and_outcomes() {
    let command = h("00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 30 FF");
    let mut card = ScriptedCard::new().expect(&command, &h("9000"));
    Piv::new(&mut card)
        .change_pin(b"123456", b"6543210")
        .unwrap();
    card.finish();
    let mut card = ScriptedCard::new().expect(&command, &h("63C1"));
    assert_eq!(
        Piv::new(&mut card).change_pin(b"123456", b"6543210"),
        Err(CardError::PinIncorrect { retries_left: 1 })
    );
    let mut card = ScriptedCard::new();
    assert_eq!(
        Piv::new(&mut card).change_pin(b"123456", b"123456789"),
        Err(CardError::PinFormat)
    );
}

#[test]
fn reset_retry_counter_bytes_and_outcomes() {
    let command = h("00 2C 00 80 10 31 32 33 34 35 36 37 38 39 39 39 39 39 39 FF FF");
    let mut card = ScriptedCard::new().expect(&command, &h("9000"));
    Piv::new(&mut card)
        .reset_retry_counter(b"12345678", b"999999")
        .unwrap();
    card.finish();
    for (sw, expected) in [
        ("63C2", CardError::PukIncorrect { retries_left: 2 }),
        ("6983", CardError::PukBlocked),
    ] {
        let mut card = ScriptedCard::new().expect(&command, &h(sw));
        assert_eq!(
            Piv::new(&mut card).reset_retry_counter(b"12345678", b"999999"),
            Err(expected)
        );
    }
}

#[test]
fn general_authenticate_template() {
    let digest = [0xAB; 32];
    let mut command = h("00 87 11 9A 26 7C 24 82 00 81 20");
    command.extend_from_slice(&digest);
    command.push(0x00);
    let mut card = ScriptedCard::new().expect(&command, &h("7C 04 82 02 AA BB 9000"));
    let out = Piv::new(&mut card)
        .general_authenticate(Slot::Authentication, Algorithm::EccP256, &digest)
        .unwrap();
    assert_eq!(out, h("AABB"));
    card.finish();
}

#[test]
fn general_authenticate_failures() {
    let digest = [0x01; 48];
    let mut command = h("00 87 14 9C 36 7C 34 82 00 81 30");
    command.extend_from_slice(&digest);
    command.push(0x00);
    let cases = [
        ("6982", CardError::SecurityStatusNotSatisfied),
        ("6A82", CardError::ObjectNotFound),
    ];
    for (sw, expected) in cases {
        let mut card = ScriptedCard::new().expect(&command, &h(sw));
        let result =
            Piv::new(&mut card).general_authenticate(Slot::Signature, Algorithm::EccP384, &digest);
        assert_eq!(result, Err(expected), "{sw}");
    }
    for reply in [
        "7C 02 81 00 9000",
        "7D 02 82 00 9000",
        "7C 05 82 09 00 9000",
        "9000",
    ] {
        let mut card = ScriptedCard::new().expect(&command, &h(reply));
        let result =
            Piv::new(&mut card).general_authenticate(Slot::Signature, Algorithm::EccP384, &digest);
        assert!(
            matches!(result, Err(CardError::Malformed(_))),
            "{reply}: {result:?}"
        );
    }
}

#[test]
fn slot_and_algorithm_numbers() {
    assert_eq!(Slot::Authentication.key_reference(), 0x9A);
    assert_eq!(Slot::from_key_reference(0x9C), Some(Slot::Signature));
    assert_eq!(Slot::from_key_reference(0x01), None);
    assert_eq!(Slot::CardManagement.certificate_tag(), None);
    assert_eq!(Algorithm::from_id(0x14), Some(Algorithm::EccP384));
    assert_eq!(Algorithm::Rsa2048.id(), 7);
    assert_eq!(Slot::Signature.to_string(), "9C");
}

#[test]
fn pin_checked_reports_the_holders_pin_not_the_puk() {
    let verify = h("00 20 00 80 08 31 32 33 34 35 36 FF FF");
    // Nothing sent: no check.
    let mut card = ScriptedCard::new().expect(&h("00 20 00 80"), &h("63C3"));
    let mut piv = Piv::new(&mut card);
    piv.pin_status().unwrap();
    assert_eq!(
        piv.pin_checked(),
        None,
        "a status-only VERIFY checks nothing"
    );
    // Right, then wrong: the last outcome counts.
    let mut card = ScriptedCard::new()
        .expect(&verify, &h("9000"))
        .expect(&verify, &h("63C2"));
    let mut piv = Piv::new(&mut card);
    piv.verify_pin(b"123456").unwrap();
    assert_eq!(piv.pin_checked(), Some(true));
    assert!(piv.verify_pin(b"123456").is_err());
    assert_eq!(piv.pin_checked(), Some(false));
    // A card error is no verdict on the PIN.
    let mut card = ScriptedCard::new().expect(&verify, &h("6D00"));
    let mut piv = Piv::new(&mut card);
    assert!(piv.verify_pin(b"123456").is_err());
    assert_eq!(piv.pin_checked(), None);
    // CHANGE REFERENCE DATA proves the old PIN; RESET RETRY COUNTER proves only the PUK.
    let mut card = ScriptedCard::new().expect(
        &h("00 24 00 80 10 31 32 33 34 35 36 FF FF 36 35 34 33 32 31 30 FF"),
        &h("9000"),
    );
    let mut piv = Piv::new(&mut card);
    piv.change_pin(b"123456", b"6543210").unwrap();
    assert_eq!(piv.pin_checked(), Some(true));
    let mut card = ScriptedCard::new().expect(
        &h("00 2C 00 80 10 31 32 33 34 35 36 37 38 39 39 39 39 39 39 FF FF"),
        &h("9000"),
    );
    let mut piv = Piv::new(&mut card);
    piv.reset_retry_counter(b"12345678", b"999999").unwrap();
    assert_eq!(piv.pin_checked(), None);
}
