//! The JSON-in/JSON-out validation the extension calls through wasm.

mod common;

use carecard_protocol::extension::{
    certificate_summary_json, protocol_version, validate_origin, validate_request_json,
};
use carecard_protocol::ErrorCode;
use serde_json::{json, Value};

const NONCE: &str = "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=";
const SENDER: &str = "https://am.nhsidentity.spineservices.nhs.uk";

fn normalised(command: &str, arguments: Value, origin: &str) -> Value {
    let out = validate_request_json(command, &arguments.to_string(), origin, false)
        .unwrap_or_else(|e| panic!("{command} refused: {e}"));
    serde_json::from_str(&out).expect("json")
}

fn refused(command: &str, arguments: &str, origin: &str) -> ErrorCode {
    match validate_request_json(command, arguments, origin, false) {
        Ok(out) => panic!("{command} accepted as {out}"),
        Err(e) => e.code,
    }
}

#[test]
fn the_sender_origin_replaces_the_pages_and_is_normalised() {
    let out = normalised(
        "authenticate",
        json!({"challengeNonce": NONCE, "origin": "https://evil.example"}),
        "HTTPS://AM.NHSIdentity.SpineServices.NHS.UK:443",
    );
    assert_eq!(out, json!({"origin": SENDER, "challengeNonce": NONCE}));
}

#[test]
fn pins_may_come_later_but_a_present_one_is_checked() {
    let out = normalised("change-pin", json!({}), SENDER);
    assert_eq!(out, json!({}));
    let out = normalised(
        "change-pin",
        json!({"pin": "1234", "newPin": "123456"}),
        SENDER,
    );
    assert_eq!(out, json!({"pin": "1234", "newPin": "123456"}));
    assert_eq!(
        refused("change-pin", r#"{"newPin": "12345x"}"#, SENDER),
        ErrorCode::PinFormat
    );
}

#[test]
fn base64_fields_stay_strings_and_unknown_fields_are_dropped() {
    let hash = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
    let out = normalised(
        "sign",
        json!({"hash": hash, "hashFunction": "SHA-256", "certificate": "MIIB", "x": 1}),
        SENDER,
    );
    assert_eq!(
        out,
        json!({"origin": SENDER, "hash": hash, "hashFunction": "SHA-256", "certificate": "MIIB"})
    );
}

#[test]
fn commands_without_an_origin_get_none() {
    assert_eq!(
        normalised("status", json!({"origin": SENDER}), SENDER),
        json!({})
    );
    assert_eq!(
        normalised("pin-status", json!({"certificate": "AQID"}), SENDER),
        json!({"certificate": "AQID"})
    );
}

#[test]
fn empty_arguments_mean_an_empty_object() {
    let out = validate_request_json("status", "", SENDER, false).expect("ok");
    assert_eq!(out, "{}");
}

#[test]
fn refusals_carry_the_right_code() {
    assert_eq!(
        refused("status", "{}", "http://am.nhs.uk"),
        ErrorCode::InvalidRequest
    );
    assert_eq!(refused("status", "{", SENDER), ErrorCode::InvalidRequest);
    assert_eq!(refused("status", "[]", SENDER), ErrorCode::InvalidRequest);
    assert_eq!(refused("erase", "{}", SENDER), ErrorCode::UnknownCommand);
    assert_eq!(
        refused("authenticate", r#"{"challengeNonce": "abc"}"#, SENDER),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        refused("authenticate", "{}", SENDER),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        refused(
            "sign",
            r#"{"hash": "AQID", "hashFunction": "SHA-256", "certificate": "MIIB"}"#,
            SENDER
        ),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn duplicate_keys_in_the_arguments_are_refused_at_every_level() {
    for arguments in [
        r#"{"challengeNonce": "NONCE", "challengeNonce": "NONCE"}"#,
        r#"{"challengeNonce": "NONCE", "pin": "1234", "pin": "5678"}"#,
        r#"{"challengeNonce": "NONCE", "origin": "https://a.nhs.uk", "origin": "https://b.nhs.uk"}"#,
        r#"{"challengeNonce": "NONCE", "extra": {"a": 1, "a": 2}}"#,
        r#"{"challengeNonce": "NONCE", "extra": [[{"a": 1, "\u0061": 2}]]}"#,
    ] {
        let arguments = arguments.replace("NONCE", NONCE);
        let e =
            validate_request_json("authenticate", &arguments, SENDER, false).expect_err(&arguments);
        assert_eq!(e.code, ErrorCode::InvalidRequest, "{arguments}");
        assert!(
            e.message.contains("duplicate"),
            "{arguments}: {}",
            e.message
        );
    }
}

#[test]
fn developer_mode_allows_http_localhost() {
    let out = validate_request_json(
        "authenticate",
        &json!({"challengeNonce": NONCE}).to_string(),
        "http://localhost:8080",
        true,
    )
    .expect("developer mode");
    let out: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(out["origin"], json!("http://localhost:8080"));
}

#[test]
fn validate_origin_returns_the_normalised_origin() {
    assert_eq!(
        validate_origin("HTTPS://Example.NHS.uk:8443", false).ok(),
        Some("https://example.nhs.uk:8443".to_owned())
    );
    assert_eq!(
        validate_origin("https://example.nhs.uk/", false).map_err(|e| e.code),
        Err(ErrorCode::InvalidRequest)
    );
    assert!(validate_origin("http://127.0.0.1", false).is_err());
    assert!(validate_origin("http://127.0.0.1", true).is_ok());
}

#[test]
fn certificate_summary_json_of_base64_der() {
    use base64::Engine as _;
    let der = common::certificate("cn=Sam Smith,serialNumber=555566667777", None);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let out: Value =
        serde_json::from_str(&certificate_summary_json(&b64).expect("ok")).expect("json");
    assert_eq!(out["commonName"], json!("Sam Smith"));
    assert_eq!(out["userId"], json!("555566667777"));
    assert_eq!(out["key"], json!({"type": "p256"}));
    assert_eq!(
        certificate_summary_json("%%%").map_err(|e| e.code),
        Err(ErrorCode::InvalidRequest)
    );
    assert_eq!(
        certificate_summary_json("AQID").map_err(|e| e.code),
        Err(ErrorCode::InvalidRequest)
    );
}

#[test]
fn protocol_version_is_1() {
    assert_eq!(protocol_version(), 1);
}

#[test]
fn a_list_of_proofs_passes_through_the_extensions_validation_normalised() {
    let challenge = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    // As a page sends it (no PIN: the window adds it; an unknown field in an entry is dropped).
    let page = json!({"session": "s-0123456789abcdef", "purpose": "renew", "proofs": [
        {"slot": "9A", "challenge": challenge, "generate": "P256", "note": "dropped"},
        {"slot": "9C", "challenge": challenge},
    ]});
    assert_eq!(
        normalised("prove-possession", page, SENDER),
        json!({"session": "s-0123456789abcdef", "proofs": [
            {"slot": "9A", "challenge": challenge, "generate": "P256"},
            {"slot": "9C", "challenge": challenge},
        ]})
    );
    assert_eq!(
        refused(
            "prove-possession",
            r#"{"session": "s-0123456789abcdef", "proofs": [{"slot": "9A", "challenge": "AA=="}]}"#,
            SENDER
        ),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn where_the_pin_is_typed_is_the_extensions_choice_not_the_pages() {
    // A page's pinEntry is dropped like its PIN: the extension decides from `cards`' pinPad.
    let out = normalised(
        "verify-pin",
        json!({"session": "s-0123456789abcdef", "pinEntry": "reader"}),
        SENDER,
    );
    assert_eq!(out, json!({"session": "s-0123456789abcdef"}));
}
