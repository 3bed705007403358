//! Typed commands and argument validation (INTERFACES.md `Command::parse`).

use carecard_protocol::{Command, ErrorCode, HashFunction, OriginPolicy, WireError, COMMAND_NAMES};
use serde_json::{json, Value};

const NONCE: &str = "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=";
const ORIGIN: &str = "https://am.nhsidentity.spineservices.nhs.uk";

fn parse(command: &str, arguments: Value) -> Result<Command, WireError> {
    Command::parse(command, &arguments, &OriginPolicy::default())
}

fn code_of(command: &str, arguments: Value) -> ErrorCode {
    match parse(command, arguments) {
        Ok(c) => panic!("{command} was accepted as {c:?}"),
        Err(e) => e.code,
    }
}

fn authenticate_args() -> Value {
    json!({"origin": ORIGIN, "challengeNonce": NONCE, "pin": "123456"})
}

fn sign_args() -> Value {
    json!({
        "origin": ORIGIN,
        "hash": base64_of(&[7u8; 32]),
        "hashFunction": "SHA-256",
        "certificate": "MIIB",
        "pin": "123456",
    })
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn with(mut args: Value, field: &str, value: Value) -> Value {
    args[field] = value;
    args
}

fn without(mut args: Value, field: &str) -> Value {
    if let Some(o) = args.as_object_mut() {
        o.remove(field);
    }
    args
}

#[test]
fn commands_without_arguments_parse() {
    assert!(matches!(parse("status", json!({})), Ok(Command::Status)));
    assert!(matches!(parse("status", Value::Null), Ok(Command::Status)));
    assert!(matches!(
        parse("certificates", json!({"extra": 1})),
        Ok(Command::Certificates)
    ));
    assert!(matches!(parse("watch", json!({})), Ok(Command::Watch)));
}

#[test]
fn every_command_name_parses_to_itself() {
    let full = json!({
        "origin": ORIGIN, "challengeNonce": NONCE, "pin": "123456", "newPin": "654321",
        "puk": "12345678", "hash": base64_of(&[1u8; 32]), "hashFunction": "SHA-256",
        "certificate": "MIIB",
    });
    for name in COMMAND_NAMES {
        let command = parse(name, full.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(command.name(), name);
    }
}

#[test]
fn an_unknown_command_is_refused() {
    assert_eq!(code_of("format-card", json!({})), ErrorCode::UnknownCommand);
    assert_eq!(code_of("Status", json!({})), ErrorCode::UnknownCommand);
    assert_eq!(code_of("", json!({})), ErrorCode::UnknownCommand);
}

#[test]
fn arguments_must_be_an_object() {
    assert_eq!(code_of("status", json!([])), ErrorCode::InvalidRequest);
    assert_eq!(
        code_of("authenticate", json!("pin")),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn authenticate_parses_into_typed_arguments() {
    let args = with(
        authenticate_args(),
        "certificate",
        json!(base64_of(b"\x30\x03der")),
    );
    let Ok(Command::Authenticate(a)) = parse("authenticate", args) else {
        panic!("not parsed");
    };
    assert_eq!(a.origin.as_str(), ORIGIN);
    assert_eq!(a.challenge_nonce, NONCE);
    assert_eq!(a.pin.as_bytes(), b"123456");
    assert_eq!(a.certificate.as_deref(), Some(&b"\x30\x03der"[..]));

    let Ok(Command::Authenticate(a)) = parse("authenticate", authenticate_args()) else {
        panic!("not parsed");
    };
    assert_eq!(a.certificate, None);
}

#[test]
fn a_missing_argument_is_an_invalid_request() {
    for field in ["origin", "challengeNonce", "pin"] {
        let args = without(authenticate_args(), field);
        assert_eq!(
            code_of("authenticate", args),
            ErrorCode::InvalidRequest,
            "{field}"
        );
    }
    for field in ["origin", "hash", "hashFunction", "certificate", "pin"] {
        assert_eq!(
            code_of("sign", without(sign_args(), field)),
            ErrorCode::InvalidRequest
        );
    }
    assert_eq!(
        code_of("change-pin", json!({"pin": "1234"})),
        ErrorCode::InvalidRequest
    );
    assert_eq!(
        code_of("unlock", json!({"newPin": "123456"})),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn a_missing_argument_message_names_it() {
    let e = parse(
        "authenticate",
        without(authenticate_args(), "challengeNonce"),
    )
    .expect_err("missing nonce");
    assert!(e.message.contains("challengeNonce"), "{}", e.message);
}

#[test]
fn an_ill_typed_argument_is_an_invalid_request() {
    for (field, value) in [
        ("pin", json!(123456)),
        ("origin", json!(["https://a.nhs.uk"])),
        ("challengeNonce", json!(true)),
        ("certificate", json!({})),
    ] {
        let args = with(authenticate_args(), field, value);
        assert_eq!(
            code_of("authenticate", args),
            ErrorCode::InvalidRequest,
            "{field}"
        );
    }
}

#[test]
fn malformed_origin_or_nonce_is_an_invalid_request() {
    let args = with(
        authenticate_args(),
        "origin",
        json!("http://am.nhsidentity.spineservices.nhs.uk"),
    );
    assert_eq!(code_of("authenticate", args), ErrorCode::InvalidRequest);
    let args = with(authenticate_args(), "challengeNonce", json!("short"));
    assert_eq!(code_of("authenticate", args), ErrorCode::InvalidRequest);
}

#[test]
fn developer_mode_reaches_origin_validation() {
    let args = with(
        authenticate_args(),
        "origin",
        json!("http://localhost:8080"),
    );
    assert!(parse("authenticate", args.clone()).is_err());
    let dev = OriginPolicy {
        developer_mode: true,
    };
    let Ok(Command::Authenticate(a)) = Command::parse("authenticate", &args, &dev) else {
        panic!("refused in developer mode");
    };
    assert_eq!(a.origin.as_str(), "http://localhost:8080");
}

#[test]
fn a_badly_shaped_pin_is_a_pin_format_error() {
    let args = with(authenticate_args(), "pin", json!("123"));
    assert_eq!(code_of("authenticate", args), ErrorCode::PinFormat);
    assert_eq!(
        code_of("change-pin", json!({"pin": "1234", "newPin": "12345a"})),
        ErrorCode::PinFormat
    );
    assert_eq!(
        code_of("unlock", json!({"puk": "123", "newPin": "123456"})),
        ErrorCode::PinFormat
    );
}

#[test]
fn change_pin_and_unlock_parse() {
    let Ok(Command::ChangePin(c)) =
        parse("change-pin", json!({"pin": "1234", "newPin": "87654321"}))
    else {
        panic!("not parsed");
    };
    assert_eq!(
        (c.pin.as_bytes(), c.new_pin.as_bytes()),
        (&b"1234"[..], &b"87654321"[..])
    );
    let Ok(Command::Unlock(u)) = parse("unlock", json!({"puk": "12345678", "newPin": "123456"}))
    else {
        panic!("not parsed");
    };
    assert_eq!(
        (u.puk.as_bytes(), u.new_pin.as_bytes()),
        (&b"12345678"[..], &b"123456"[..])
    );
}

#[test]
fn pin_status_takes_an_optional_certificate() {
    let Ok(Command::PinStatus(p)) = parse("pin-status", json!({})) else {
        panic!("not parsed");
    };
    assert_eq!(p.certificate, None);
    let Ok(Command::PinStatus(p)) = parse("pin-status", json!({"certificate": "AQID"})) else {
        panic!("not parsed");
    };
    assert_eq!(p.certificate, Some(vec![1, 2, 3]));
}

#[test]
fn base64_fields_must_be_standard_padded_base64() {
    for bad in ["AQI", "AQ-_", "not base64!", "AQID\n", ""] {
        let args = json!({"certificate": bad});
        assert_eq!(
            code_of("pin-status", args),
            ErrorCode::InvalidRequest,
            "{bad:?}"
        );
    }
}

#[test]
fn sign_parses_into_typed_arguments() {
    let Ok(Command::Sign(s)) = parse("sign", sign_args()) else {
        panic!("not parsed");
    };
    assert_eq!(s.origin.as_str(), ORIGIN);
    assert_eq!(s.hash, vec![7u8; 32]);
    assert_eq!(s.hash_function, HashFunction::Sha256);
    assert_eq!(s.certificate, vec![0x30, 0x82, 0x01]);
    assert_eq!(s.pin.as_bytes(), b"123456");
}

#[test]
fn sign_hash_length_must_match_hash_function() {
    for (function, len) in [
        ("SHA-224", 28),
        ("SHA-256", 32),
        ("SHA-384", 48),
        ("SHA-512", 64),
    ] {
        let good = with(
            with(sign_args(), "hashFunction", json!(function)),
            "hash",
            json!(base64_of(&vec![1u8; len])),
        );
        assert!(parse("sign", good.clone()).is_ok(), "{function}");
        for wrong in [len - 1, len + 1, 28, 32, 48, 64] {
            if wrong == len {
                continue;
            }
            let bad = with(good.clone(), "hash", json!(base64_of(&vec![1u8; wrong])));
            assert_eq!(
                code_of("sign", bad),
                ErrorCode::InvalidRequest,
                "{function} {wrong}"
            );
        }
    }
}

#[test]
fn sign_refuses_unknown_hash_functions() {
    for f in ["SHA-1", "sha-256", "SHA256", "SHA3-256", ""] {
        let args = with(sign_args(), "hashFunction", json!(f));
        assert_eq!(code_of("sign", args), ErrorCode::InvalidRequest, "{f}");
    }
}

#[test]
fn debug_of_a_command_hides_the_pins() {
    let command = parse("change-pin", json!({"pin": "9182", "newPin": "73645546"})).expect("ok");
    let shown = format!("{command:?}");
    assert!(
        !shown.contains("9182") && !shown.contains("73645546"),
        "{shown}"
    );
}
