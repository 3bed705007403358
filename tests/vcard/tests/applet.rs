//! The PIV applet over the in-memory card: selection, data objects, PIN/PUK rules, chaining,
//! GET RESPONSE, signatures and the persisted state.

mod common;

use carecard_vcard::{tlv, CardProfile, VirtualCard};
use common::*;
use sha2::{Digest, Sha256};

fn card(profile: CardProfile) -> VirtualCard {
    VirtualCard::in_memory(profile)
}

#[test]
fn select_answers_the_application_property_template() {
    let mut card = card(CardProfile::P256);
    let template = select(&mut card);
    let body = tlv::find(&template, 0x61).expect("61 template");
    assert_eq!(
        tlv::find(body, 0x4F),
        Some(&[0x00, 0x00, 0x10, 0x00, 0x01, 0x00][..])
    );
    let authority = tlv::find(body, 0x79).expect("79");
    assert_eq!(
        tlv::find(authority, 0x4F),
        Some(&[0xA0, 0x00, 0x00, 0x03, 0x08][..])
    );
    let algorithms = tlv::parse(tlv::find(body, 0xAC).expect("AC")).expect("AC parses");
    assert!(algorithms
        .iter()
        .any(|t| t.tag == 0x80 && t.value == [0x11]));
    // The full 11-byte AID selects it too.
    let (_, sw) =
        split(&card.process(&[0, 0xA4, 4, 0, 11, 0xA0, 0, 0, 3, 8, 0, 0, 0x10, 0, 1, 0, 0]));
    assert_eq!(sw, 0x9000);
}

#[test]
fn piv_commands_need_the_application_selected() {
    let mut card = card(CardProfile::P256);
    assert_eq!(
        split(&card.process(&[0, 0xCB, 0x3F, 0xFF, 5, 0x5C, 3, 0x5F, 0xC1, 0x05])).1,
        0x6D00
    );
    select(&mut card);
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    // Another application: PIV's PIN status goes with it.
    assert_eq!(
        split(&card.process(&[0, 0xA4, 4, 0, 5, 0xA0, 0, 0, 0, 0x63])).1,
        0x6A82
    );
    select(&mut card);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x63C3);
}

#[test]
fn reselecting_piv_keeps_the_pin_verified_but_reset_clears_it() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    select(&mut card);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x9000);
    card.reset();
    select(&mut card);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x63C3);
}

#[test]
fn long_objects_come_in_get_response_chunks() {
    let mut card = card(CardProfile::Rsa2048);
    select(&mut card);
    let first = card.process(&[0, 0xCB, 0x3F, 0xFF, 5, 0x5C, 3, 0x5F, 0xC1, 0x05, 0]);
    let (data, sw) = split(&first);
    assert_eq!(data.len(), 256, "first chunk is a full short response");
    assert_eq!(sw >> 8, 0x61);
    let cert = read_certificate(&mut card, [0x5F, 0xC1, 0x05]);
    let stored = card.state().object(0x5FC105).expect("stored object");
    assert_eq!(tlv::find(stored, 0x70), Some(&cert[..]));
    // GET RESPONSE with nothing pending is refused.
    assert_eq!(split(&card.process(&[0, 0xC0, 0, 0, 0])).1, 0x6985);
}

#[test]
fn data_objects_and_missing_ones() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    let (chuid, sw) = exchange(&mut card, 0xCB, 0x3F, 0xFF, &[0x5C, 3, 0x5F, 0xC1, 0x02]);
    assert_eq!(sw, 0x9000);
    let chuid = tlv::find(&chuid, 0x53).expect("53");
    assert_eq!(tlv::find(chuid, 0x34).map(<[u8]>::len), Some(16), "GUID");
    let (ccc, sw) = exchange(&mut card, 0xCB, 0x3F, 0xFF, &[0x5C, 3, 0x5F, 0xC1, 0x07]);
    assert_eq!((tlv::find(&ccc, 0x53).is_some(), sw), (true, 0x9000));
    let (discovery, sw) = exchange(&mut card, 0xCB, 0x3F, 0xFF, &[0x5C, 1, 0x7E]);
    assert_eq!(sw, 0x9000);
    let discovery = tlv::find(&discovery, 0x7E).expect("7E");
    assert_eq!(tlv::find(discovery, 0x4F).map(<[u8]>::len), Some(11));
    // Facial image, key history: not on this card.
    for tag in [[0x5F, 0xC1, 0x08], [0x5F, 0xC1, 0x0C]] {
        let (_, sw) = exchange(
            &mut card,
            0xCB,
            0x3F,
            0xFF,
            &[0x5C, 3, tag[0], tag[1], tag[2]],
        );
        assert_eq!(sw, 0x6A82);
    }
    assert_eq!(
        exchange(&mut card, 0xCB, 0x3F, 0x00, &[0x5C, 1, 0x7E]).1,
        0x6A86
    );
    assert_eq!(
        exchange(&mut card, 0xCB, 0x3F, 0xFF, &[0x5D, 1, 0x7E]).1,
        0x6A80
    );
}

#[test]
fn three_wrong_pins_block_and_the_puk_unlocks() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    assert_eq!(verify(&mut card, "000000"), 0x63C2);
    assert_eq!(verify(&mut card, "000000"), 0x63C1);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x63C1);
    assert_eq!(verify(&mut card, "000000"), 0x63C0);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x6983);
    assert_eq!(
        verify(&mut card, "123456"),
        0x6983,
        "blocked even for the right PIN"
    );
    // A wrong PUK counts down the PUK.
    let mut wrong = padded("87654321");
    wrong.extend(padded("654321"));
    assert_eq!(exchange(&mut card, 0x2C, 0, 0x80, &wrong).1, 0x63C2);
    // A new PIN that is not 6-8 digits is refused before the PUK is tried.
    let mut bad_pin = padded("12345678");
    bad_pin.extend(padded("12ab"));
    assert_eq!(exchange(&mut card, 0x2C, 0, 0x80, &bad_pin).1, 0x6A80);
    let mut unlock = padded("12345678");
    unlock.extend(padded("654321"));
    assert_eq!(exchange(&mut card, 0x2C, 0, 0x80, &unlock).1, 0x9000);
    assert_eq!(card.state().puk.retries_left, 3);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x63C3);
    assert_eq!(verify(&mut card, "123456"), 0x63C2);
    assert_eq!(verify(&mut card, "654321"), 0x9000);
}

#[test]
fn puk_blocks_after_three_wrong_tries() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    let mut wrong = padded("00000000");
    wrong.extend(padded("654321"));
    for expected in [0x63C2, 0x63C1, 0x63C0, 0x6983] {
        assert_eq!(exchange(&mut card, 0x2C, 0, 0x80, &wrong).1, expected);
    }
    let mut right = padded("12345678");
    right.extend(padded("654321"));
    assert_eq!(exchange(&mut card, 0x2C, 0, 0x80, &right).1, 0x6983);
}

#[test]
fn change_pin_needs_the_old_pin() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    let mut change = padded("111111");
    change.extend(padded("24681357"));
    assert_eq!(exchange(&mut card, 0x24, 0, 0x80, &change).1, 0x63C2);
    let mut change = padded("123456");
    change.extend(padded("24681357"));
    assert_eq!(exchange(&mut card, 0x24, 0, 0x80, &change).1, 0x9000);
    assert_eq!(card.state().pin.retries_left, 3);
    assert_eq!(verify(&mut card, "123456"), 0x63C2);
    assert_eq!(verify(&mut card, "24681357"), 0x9000);
    assert_eq!(exchange(&mut card, 0x24, 0, 0x80, &[0; 15]).1, 0x6A80);
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    carecard_vcard::init(dir.path(), CardProfile::P256, &Default::default()).expect("init");
    let path = dir.path().join("card.json");
    let mut card = VirtualCard::load(&path).expect("load");
    select(&mut card);
    assert_eq!(verify(&mut card, "999999"), 0x63C2);
    let mut change = padded("123456");
    change.extend(padded("7654321"));
    // The failed VERIFY counted; the change with the right PIN resets the counter.
    assert_eq!(exchange(&mut card, 0x24, 0, 0x80, &change).1, 0x9000);
    assert_eq!(verify(&mut card, "000000"), 0x63C2);
    let cert = read_certificate(&mut card, [0x5F, 0xC1, 0x05]);
    drop(card);

    let mut card = VirtualCard::load(&path).expect("reload");
    select(&mut card);
    assert_eq!(
        exchange(&mut card, 0x20, 0, 0x80, &[]).1,
        0x63C2,
        "counter persisted"
    );
    assert_eq!(verify(&mut card, "7654321"), 0x9000, "new PIN persisted");
    assert_eq!(read_certificate(&mut card, [0x5F, 0xC1, 0x05]), cert);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary state files left behind");
}

#[test]
fn rsa_signature_through_chaining_verifies_against_the_certificate() {
    let mut card = card(CardProfile::Rsa2048);
    select(&mut card);
    let message = b"carecard rsa test";
    let block = pkcs1_sha256_block(&Sha256::digest(message));
    let (sig, sw) = general_authenticate(&mut card, 0x07, 0x9A, &block);
    assert_eq!((sig, sw), (None, 0x6982), "9A needs the PIN");
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    for (key, tag) in [(0x9A, [0x5F, 0xC1, 0x05]), (0x9C, [0x5F, 0xC1, 0x0A])] {
        assert_eq!(verify(&mut card, "123456"), 0x9000);
        let (sig, sw) = general_authenticate(&mut card, 0x07, key, &block);
        assert_eq!(sw, 0x9000);
        let sig = sig.expect("signature");
        assert_eq!(sig.len(), 256);
        let cert = read_certificate(&mut card, tag);
        assert_signature_matches_certificate(&cert, message, &sig);
    }
    // A short block is not a raw RSA input.
    assert_eq!(
        general_authenticate(&mut card, 0x07, 0x9A, &[1; 32]).1,
        0x6A80
    );
    // A block not below the modulus is refused.
    assert_eq!(
        general_authenticate(&mut card, 0x07, 0x9A, &[0xFF; 256]).1,
        0x6A80
    );
}

#[test]
fn ecdsa_signatures_verify_for_both_curves() {
    for (profile, alg) in [(CardProfile::P256, 0x11), (CardProfile::P384, 0x14)] {
        let mut card = card(profile);
        select(&mut card);
        assert_eq!(verify(&mut card, "123456"), 0x9000);
        let message = b"carecard ecdsa test";
        let digest = Sha256::digest(message);
        let (sig, sw) = general_authenticate(&mut card, alg, 0x9A, &digest);
        assert_eq!(sw, 0x9000, "{profile:?}");
        let cert = read_certificate(&mut card, [0x5F, 0xC1, 0x05]);
        assert_signature_matches_certificate(&cert, message, &sig.expect("signature"));
        // The wrong algorithm for the key is refused.
        let other = if alg == 0x11 { 0x14 } else { 0x11 };
        assert_eq!(
            general_authenticate(&mut card, other, 0x9A, &digest).1,
            0x6A86
        );
    }
}

#[test]
fn signature_key_needs_the_pin_before_every_signature() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    let digest = Sha256::digest(b"x");
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9C, &digest).1,
        0x9000
    );
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9C, &digest).1,
        0x6982
    );
    // 9A stays usable for the session.
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9A, &digest).1,
        0x9000
    );
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9A, &digest).1,
        0x9000
    );
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9C, &digest).1,
        0x9000
    );
    // VERIFY P1=FF drops the PIN status.
    assert_eq!(exchange(&mut card, 0x20, 0xFF, 0x80, &[]).1, 0x9000);
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9A, &digest).1,
        0x6982
    );
}

#[test]
fn malformed_and_unknown_commands() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    assert_eq!(split(&card.process(&[0x00, 0x99, 0, 0])).1, 0x6D00);
    assert_eq!(split(&card.process(&[0x80, 0xCB, 0x3F, 0xFF])).1, 0x6E00);
    assert_eq!(split(&card.process(&[0x00])).1, 0x6700);
    assert_eq!(
        split(&card.process(&[0x00, 0xCB, 0x3F, 0xFF, 9, 1])).1,
        0x6700
    );
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    // GENERAL AUTHENTICATE without the 82 00 request, or without 7C at all.
    assert_eq!(
        exchange(
            &mut card,
            0x87,
            0x11,
            0x9A,
            &tlv::encode(0x7C, &tlv::encode(0x81, &[1; 32]))
        )
        .1,
        0x6A80
    );
    assert_eq!(
        exchange(&mut card, 0x87, 0x11, 0x9A, &[0x81, 1, 1]).1,
        0x6A80
    );
    // No key in 9D; no reference data 82.
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9D, &[1; 32]).1,
        0x6A88
    );
    assert_eq!(
        exchange(&mut card, 0x20, 0, 0x82, &padded("123456")).1,
        0x6A88
    );
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[0x31; 7]).1, 0x6A80);
    // PUT DATA: a well-formed write still needs 9B; a malformed one is refused as such.
    let put = [0x5C, 3, 0x5F, 0xC1, 0x09, 0x53, 1, 0];
    assert_eq!(exchange(&mut card, 0xDB, 0x3F, 0xFF, &put).1, 0x6982);
    assert_eq!(
        exchange(&mut card, 0xDB, 0x3F, 0xFF, &[0x5C, 1, 0x7E]).1,
        0x6A80
    );
}

#[test]
fn chaining_is_reset_by_an_unrelated_command() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    assert_eq!(verify(&mut card, "123456"), 0x9000);
    let digest = Sha256::digest(b"y");
    let mut inner = tlv::encode(0x82, &[]);
    inner.extend(tlv::encode(0x81, &digest));
    let body = tlv::encode(0x7C, &inner);
    let (head, tail) = body.split_at(10);
    let mut first = vec![0x10, 0x87, 0x11, 0x9A, head.len() as u8];
    first.extend_from_slice(head);
    assert_eq!(split(&card.process(&first)).1, 0x9000);
    // An interleaved command drops the half-sent chain, so the tail alone is malformed.
    assert_eq!(exchange(&mut card, 0x20, 0, 0x80, &[]).1, 0x9000);
    let mut second = vec![0x00, 0x87, 0x11, 0x9A, tail.len() as u8];
    second.extend_from_slice(tail);
    second.push(0);
    assert_eq!(split(&card.process(&second)).1, 0x6A80);
    // The whole chain in order works.
    assert_eq!(split(&card.process(&first)).1, 0x9000);
    let (data, sw) = split(&card.process(&second));
    assert_eq!(sw, 0x9000);
    assert!(tlv::find(&data, 0x7C).is_some());
}

/// Random APDUs (random lengths, PIV instructions, chaining bit) never panic the card and
/// always get at least a status word back; a seeded run keeps failures reproducible.
#[test]
fn random_apdus_never_panic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5EED_CA4E);
    let mut card = card(CardProfile::P256);
    const INS: [u8; 10] = [0xA4, 0xCB, 0x20, 0x24, 0x2C, 0x87, 0xC0, 0xDB, 0x47, 0x00];
    for round in 0..20_000 {
        if round % 500 == 0 {
            select(&mut card);
            assert_eq!(
                verify(&mut card, "123456") >> 8,
                0x90,
                "PIN blocked at round {round}"
            );
        }
        let apdu = if rng.gen_bool(0.2) {
            // Raw noise: mostly length errors.
            let len = rng.gen_range(0..300);
            (0..len).map(|_| rng.gen()).collect()
        } else {
            // Well-formed: real header shapes, data that often starts like PIV templates.
            let ins = INS[rng.gen_range(0..INS.len())];
            let (p1, p2) = match rng.gen_range(0..3) {
                0 => (0x3F, 0xFF),
                1 => (
                    [0x03, 0x07, 0x11, 0x14][rng.gen_range(0..4)],
                    [0x9A, 0x9B, 0x9C][rng.gen_range(0..3)],
                ),
                _ => (rng.gen(), rng.gen()),
            };
            let len = rng.gen_range(0..=255usize);
            let mut data: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
            if len >= 2 && rng.gen_bool(0.6) {
                data[0] = [0x7C, 0x5C, 0x53, 0xAC][rng.gen_range(0..4)];
                data[1] = rng.gen_range(0..=(len - 2) as u8);
            }
            let mut apdu = vec![rng.gen::<u8>() & 0x10, ins, p1, p2];
            if len > 0 {
                apdu.push(len as u8);
                apdu.extend(data);
            }
            if rng.gen_bool(0.5) {
                apdu.push(rng.gen());
            }
            apdu
        };
        // Keep the PIN usable: random VERIFY / CHANGE / RESET data would block it.
        if matches!(apdu.get(1), Some(0x20 | 0x24 | 0x2C)) {
            continue;
        }
        let response = card.process(&apdu);
        assert!(response.len() >= 2, "no status word for {apdu:02X?}");
    }
}

#[test]
fn verify_of_the_puk_checks_and_counts_it() {
    let mut card = card(CardProfile::P256);
    select(&mut card);
    assert_eq!(exchange(&mut card, 0x20, 0, 0x81, &[]).1, 0x63C3);
    assert_eq!(
        exchange(&mut card, 0x20, 0, 0x81, &padded("00000000")).1,
        0x63C2
    );
    assert_eq!(
        exchange(&mut card, 0x20, 0, 0x81, &padded("12345678")).1,
        0x9000
    );
    assert_eq!(card.state().puk.retries_left, 3);
    // It grants nothing: signing still needs the PIN.
    let digest = Sha256::digest(b"z");
    assert_eq!(
        general_authenticate(&mut card, 0x11, 0x9A, &digest).1,
        0x6982
    );
}
