//! A card personalised by the virtual card (tests/vcard), signing through its PIV APDUs exactly as
//! the host does, produces tokens this verifier accepts: the two teams' certificate profiles and
//! signature formats agree.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_mock_cis2::verify::{
    verify_token, Expected, TrustAnchor, UnverifiedToken, VerifyError,
};
use carecard_protocol::{authentication_signed_data, TokenAlgorithm};
use carecard_vcard::{personalise, CardProfile, Holder, VirtualCard, DEFAULT_PIN, PIV_AID};
use sha2::Digest as _;

const ORIGIN: &str = "https://am.nhsidentity.spineservices.nhs.uk";
const NONCE: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

/// Sends one command (chained when longer than 255 bytes) and collects a `61xx` reply.
fn transmit(card: &mut VirtualCard, header: [u8; 4], data: &[u8]) -> Vec<u8> {
    let chunks: Vec<&[u8]> = if data.is_empty() {
        vec![&[][..]]
    } else {
        data.chunks(255).collect()
    };
    let mut reply = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = i + 1 == chunks.len();
        let mut apdu = vec![
            if last { header[0] } else { header[0] | 0x10 },
            header[1],
            header[2],
            header[3],
        ];
        if !chunk.is_empty() {
            apdu.push(u8::try_from(chunk.len()).expect("short chunk"));
            apdu.extend_from_slice(chunk);
        }
        if last {
            apdu.push(0x00);
        }
        reply = card.process(&apdu);
        if !last {
            assert_eq!(reply, [0x90, 0x00], "chained part accepted");
        }
    }
    let mut data = Vec::new();
    loop {
        let (body, sw) = reply.split_at(reply.len() - 2);
        data.extend_from_slice(body);
        match sw {
            [0x90, 0x00] => return data,
            [0x61, left] => reply = card.process(&[0x00, 0xC0, 0x00, 0x00, *left]),
            other => panic!("card answered {other:02X?}"),
        }
    }
}

/// The value of the first BER-TLV with `tag` (one- or two-byte tags) at the top level of `data`.
fn tlv<'a>(mut data: &'a [u8], tag: &[u8]) -> &'a [u8] {
    while !data.is_empty() {
        let tag_len = if data[0] & 0x1F == 0x1F { 2 } else { 1 };
        let (this, rest) = data.split_at(tag_len);
        let (len, rest) = match rest[0] {
            0x81 => (usize::from(rest[1]), &rest[2..]),
            0x82 => (usize::from(rest[1]) << 8 | usize::from(rest[2]), &rest[3..]),
            n => (usize::from(n), &rest[1..]),
        };
        if this == tag {
            return &rest[..len];
        }
        data = &rest[len..];
    }
    panic!("tag {tag:02X?} not found");
}

/// The PKCS#1 v1.5 block for a SHA-256 digest (the host pads; PIV cards do raw RSA).
fn pkcs1_block(digest: &[u8], size: usize) -> Vec<u8> {
    let prefix = [
        0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        0x05, 0x00, 0x04, 0x20,
    ];
    let mut block = vec![0x00, 0x01];
    block.resize(size - prefix.len() - digest.len() - 1, 0xFF);
    block.push(0x00);
    block.extend_from_slice(&prefix);
    block.extend_from_slice(digest);
    block
}

fn login_with_virtual_card(profile: CardProfile) -> Result<String, VerifyError> {
    let holder = Holder::new("Alice Example", "555012345678").expect("holder");
    let (state, ca) = personalise(profile, &holder).expect("personalise");
    let mut card = VirtualCard::from_state(state);

    transmit(&mut card, [0x00, 0xA4, 0x04, 0x00], &PIV_AID);
    let object = transmit(
        &mut card,
        [0x00, 0xCB, 0x3F, 0xFF],
        &[0x5C, 0x03, 0x5F, 0xC1, 0x05],
    );
    let certificate = tlv(tlv(&object, &[0x53]), &[0x70]).to_vec();
    let mut pin = DEFAULT_PIN.as_bytes().to_vec();
    pin.resize(8, 0xFF);
    transmit(&mut card, [0x00, 0x20, 0x00, 0x80], &pin);

    let (algorithm, piv_algorithm) = match profile {
        CardProfile::Rsa2048 => (TokenAlgorithm::Rs256, 0x07),
        CardProfile::P256 => (TokenAlgorithm::Es256, 0x11),
        CardProfile::P384 => (TokenAlgorithm::Es384, 0x14),
    };
    let signed = authentication_signed_data(algorithm, ORIGIN, NONCE);
    let input = match profile {
        CardProfile::Rsa2048 => pkcs1_block(&sha2::Sha256::digest(&signed), 256),
        CardProfile::P256 => sha2::Sha256::digest(&signed).to_vec(),
        CardProfile::P384 => sha2::Sha384::digest(&signed).to_vec(),
    };
    let mut template = vec![0x82, 0x00, 0x81];
    template.extend(der_length(input.len()));
    template.extend_from_slice(&input);
    let mut command = vec![0x7C];
    command.extend(der_length(template.len()));
    command.extend_from_slice(&template);
    let reply = transmit(&mut card, [0x00, 0x87, piv_algorithm, 0x9A], &command);
    let card_signature = tlv(tlv(&reply, &[0x7C]), &[0x82]);
    // The token carries ECDSA as raw r || s; the card returns DER.
    let signature = match profile {
        CardProfile::Rsa2048 => card_signature.to_vec(),
        CardProfile::P256 => p256::ecdsa::Signature::from_der(card_signature)
            .expect("DER")
            .to_bytes()
            .to_vec(),
        CardProfile::P384 => p384::ecdsa::Signature::from_der(card_signature)
            .expect("DER")
            .to_bytes()
            .to_vec(),
    };

    let token = UnverifiedToken::from_json(&serde_json::json!({
        "unverifiedCertificate": STANDARD.encode(&certificate),
        "algorithm": serde_json::to_value(algorithm).expect("name"),
        "signature": STANDARD.encode(signature),
        "format": "web-eid:1.0",
        "appVersion": "https://carecard.invalid/carecard/test",
    }))?;
    let anchor = TrustAnchor::from_der(&ca.der().expect("CA DER"))?;
    let expected = Expected {
        origin: ORIGIN,
        nonce: NONCE,
        earlier_nonces: &[],
    };
    let user = verify_token(&token, &expected, &anchor, std::time::SystemTime::now())?;
    Ok(user.user_id)
}

fn der_length(len: usize) -> Vec<u8> {
    match len {
        0..=0x7F => vec![u8::try_from(len).expect("short")],
        0x80..=0xFF => vec![0x81, u8::try_from(len).expect("one byte")],
        _ => vec![
            0x82,
            u8::try_from(len >> 8).expect("two bytes"),
            (len & 0xFF) as u8,
        ],
    }
}

#[test]
fn p256_virtual_card_logs_in() {
    assert_eq!(
        login_with_virtual_card(CardProfile::P256),
        Ok("555012345678".into())
    );
}

#[test]
fn p384_virtual_card_logs_in() {
    assert_eq!(
        login_with_virtual_card(CardProfile::P384),
        Ok("555012345678".into())
    );
}

#[test]
fn rsa_virtual_card_logs_in() {
    assert_eq!(
        login_with_virtual_card(CardProfile::Rsa2048),
        Ok("555012345678".into())
    );
}
