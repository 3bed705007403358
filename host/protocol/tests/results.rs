//! Result objects, events and the token serialise exactly as DESIGN.md / ARCHITECTURE.md say.

use carecard_protocol::{
    hex_upper, AuthenticationToken, CardStatus, CertificateEntry, CertificateSlot,
    CertificatesResult, CryptoAlgorithm, Event, HashFunction, PaddingScheme, PcscState,
    PinStatusResult, ReaderStatus, SignResult, SignatureAlgorithm, StatusResult, TokenAlgorithm,
};
use serde::Serialize;
use serde_json::{json, Value};

fn json_of(value: &impl Serialize) -> Value {
    serde_json::to_value(value).expect("serialises")
}

#[test]
fn status_result() {
    let status = StatusResult::new(
        "0.1.0",
        PcscState::Available,
        vec![
            ReaderStatus {
                name: "Virtual PCD 00 00".into(),
                card: Some(CardStatus {
                    atr: hex_upper(&[0x3b, 0x8f, 0x01]),
                    application: Some("PIV".into()),
                }),
            },
            ReaderStatus {
                name: "Virtual PCD 00 01".into(),
                card: None,
            },
        ],
    );
    assert_eq!(
        serde_json::to_string(&status).expect("json"),
        r#"{"version":"0.1.0","protocol":1,"pcsc":"available","readers":[{"name":"Virtual PCD 00 00","card":{"atr":"3B8F01","application":"PIV"}},{"name":"Virtual PCD 00 01","card":null}]}"#
    );
    let other = CardStatus {
        atr: "3B00".into(),
        application: None,
    };
    assert_eq!(json_of(&other), json!({"atr": "3B00", "application": null}));
    assert_eq!(json_of(&PcscState::Unavailable), json!("unavailable"));
}

#[test]
fn certificates_result() {
    let result = CertificatesResult {
        certificates: vec![
            CertificateEntry {
                reader: "R".into(),
                slot: CertificateSlot::Authentication,
                certificate: "MIIB".into(),
            },
            CertificateEntry {
                reader: "R".into(),
                slot: CertificateSlot::Signature,
                certificate: "MIIC".into(),
            },
        ],
    };
    assert_eq!(
        json_of(&result),
        json!({"certificates": [
            {"reader": "R", "slot": "9A", "certificate": "MIIB"},
            {"reader": "R", "slot": "9C", "certificate": "MIIC"},
        ]})
    );
}

#[test]
fn sign_result() {
    let rsa = SignResult {
        signature: "AAEC".into(),
        signature_algorithm: SignatureAlgorithm {
            crypto_algorithm: CryptoAlgorithm::Rsa,
            hash_function: HashFunction::Sha384,
            padding_scheme: PaddingScheme::Pkcs1v15,
        },
    };
    assert_eq!(
        serde_json::to_string(&rsa).expect("json"),
        r#"{"signature":"AAEC","signatureAlgorithm":{"cryptoAlgorithm":"RSA","hashFunction":"SHA-384","paddingScheme":"PKCS1.5"}}"#
    );
    let ecc = SignatureAlgorithm {
        crypto_algorithm: CryptoAlgorithm::Ecc,
        hash_function: HashFunction::Sha256,
        padding_scheme: PaddingScheme::None,
    };
    assert_eq!(
        json_of(&ecc),
        json!({"cryptoAlgorithm": "ECC", "hashFunction": "SHA-256", "paddingScheme": "NONE"})
    );
}

#[test]
fn pin_status_result() {
    assert_eq!(
        serde_json::to_string(&PinStatusResult {
            pin_retries_left: 3
        })
        .expect("json"),
        r#"{"pinRetriesLeft":3}"#
    );
}

#[test]
fn events() {
    let cases = [
        (
            Event::ReaderAdded { reader: "R".into() },
            r#"{"event":"reader-added","reader":"R"}"#,
        ),
        (
            Event::ReaderRemoved { reader: "R".into() },
            r#"{"event":"reader-removed","reader":"R"}"#,
        ),
        (
            Event::CardInserted {
                reader: "R".into(),
                atr: "3B8F".into(),
            },
            r#"{"event":"card-inserted","reader":"R","atr":"3B8F"}"#,
        ),
        (
            Event::CardRemoved { reader: "R".into() },
            r#"{"event":"card-removed","reader":"R"}"#,
        ),
        (Event::PcscUnavailable, r#"{"event":"pcsc-unavailable"}"#),
    ];
    for (event, text) in cases {
        assert_eq!(serde_json::to_string(&event).expect("json"), text);
        let back: Event = serde_json::from_str(text).expect("reads back");
        assert_eq!(back, event);
    }
}

#[test]
fn authentication_token_is_web_eid_1_0() {
    let token = AuthenticationToken::new(
        &[0x30, 0x82, 0x01],
        TokenAlgorithm::Es384,
        &[0xff, 0x00],
        "https://carecard.invalid/carecard/0.1.0",
    );
    assert_eq!(
        json_of(&token),
        json!({
            "unverifiedCertificate": "MIIB",
            "algorithm": "ES384",
            "signature": "/wA=",
            "format": "web-eid:1.0",
            "appVersion": "https://carecard.invalid/carecard/0.1.0",
        })
    );
    for (alg, name) in [
        (TokenAlgorithm::Rs256, "RS256"),
        (TokenAlgorithm::Es256, "ES256"),
        (TokenAlgorithm::Es384, "ES384"),
        (TokenAlgorithm::Ps256, "PS256"),
    ] {
        assert_eq!(json_of(&alg), json!(name));
        assert_eq!(alg.as_str(), name);
    }
}

#[test]
fn hex_is_upper_case_and_padded() {
    assert_eq!(hex_upper(&[0x00, 0x0a, 0xff]), "000AFF");
    assert_eq!(hex_upper(&[]), "");
}

#[test]
fn a_held_card_says_so_instead_of_looking_like_a_card_without_piv() {
    use carecard_protocol::{CardEntry, CardsResult};
    let unread = |held| CardEntry {
        held,
        ..CardEntry::unread("R", "3B88")
    };
    let result = CardsResult {
        cards: vec![unread(true), unread(false)],
    };
    assert_eq!(
        json_of(&result),
        json!({"cards": [
            {"reader": "R", "atr": "3B88", "application": null, "held": true, "pinPad": false,
             "pinPadChange": false, "pinBlocked": false, "pukRetriesLeft": null, "cardId": null},
            {"reader": "R", "atr": "3B88", "application": null, "held": false, "pinPad": false,
             "pinPadChange": false, "pinBlocked": false, "pukRetriesLeft": null, "cardId": null},
        ]})
    );
    // An older host's answer without the field reads as not held.
    let old: CardEntry =
        serde_json::from_value(json!({"reader": "R", "atr": "3B88", "application": null}))
            .expect("reads");
    assert!(!old.held && !old.pin_pad && !old.pin_pad_change);
}
