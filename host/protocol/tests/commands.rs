//! Typed commands and argument validation (INTERFACES.md `Command::parse`).

use carecard_protocol::{
    command_names, is_management_command, CardSelector, Command, ErrorCode, HashFunction,
    OriginPolicy, WireError,
};
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
fn the_command_table_names_each_command_once() {
    let names: Vec<&str> = command_names().collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    for name in [
        "status",
        "cards",
        "authenticate",
        "session-open",
        "put-data",
    ] {
        assert!(names.contains(&name), "{name}");
    }
    // Card management only through the management list (the extension gates it by origin).
    assert!(is_management_command("session-open"));
    assert!(is_management_command("generate-key"));
    assert!(!is_management_command("authenticate"));
    assert!(!is_management_command("change-pin"));
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
    assert_eq!(a.pin.typed().expect("typed").as_bytes(), b"123456");
    assert_eq!(a.card, CardSelector::Certificate(b"\x30\x03der".to_vec()));

    let Ok(Command::Authenticate(a)) = parse("authenticate", authenticate_args()) else {
        panic!("not parsed");
    };
    assert_eq!(a.card, CardSelector::Any);
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
        (
            c.pin.typed().expect("typed").as_bytes(),
            c.new_pin.as_ref().expect("new PIN").as_bytes()
        ),
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
    assert_eq!(p.card, CardSelector::Any);
    let Ok(Command::PinStatus(p)) = parse("pin-status", json!({"certificate": "AQID"})) else {
        panic!("not parsed");
    };
    assert_eq!(p.card, CardSelector::Certificate(vec![1, 2, 3]));
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
    assert_eq!(s.pin.typed().expect("typed").as_bytes(), b"123456");
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

const SESSION: &str = "s-0123456789abcdef";

#[test]
fn every_card_command_takes_one_selector() {
    for (command, args) in [
        ("authenticate", authenticate_args()),
        ("pin-status", json!({})),
        ("change-pin", json!({"pin": "123456", "newPin": "654321"})),
        ("unlock", json!({"puk": "12345678", "newPin": "654321"})),
    ] {
        let by_reader = with(args.clone(), "reader", json!("Virtual PCD 00 00"));
        let card = card_of(parse(command, by_reader).expect(command));
        assert_eq!(
            card,
            CardSelector::Reader("Virtual PCD 00 00".into()),
            "{command}"
        );
        let by_session = with(args.clone(), "session", json!(SESSION));
        let card = card_of(parse(command, by_session).expect(command));
        assert!(matches!(card, CardSelector::Session(ref id) if id.as_str() == SESSION));
        // Two selectors: the request is ambiguous, so refused before any card is touched.
        let both = with(
            with(args.clone(), "reader", json!("Virtual PCD 00 00")),
            "certificate",
            json!("AQID"),
        );
        assert_eq!(
            code_of(command, both),
            ErrorCode::InvalidRequest,
            "{command}"
        );
        let bad_session = with(args, "session", json!("s-XYZ"));
        assert_eq!(code_of(command, bad_session), ErrorCode::InvalidRequest);
    }
    // A session cannot be opened from inside another one.
    let Ok(Command::SessionOpen(open)) = parse("session-open", json!({"session": SESSION})) else {
        panic!("session-open refused");
    };
    assert_eq!(open.card, CardSelector::Any);
}

fn card_of(command: Command) -> CardSelector {
    match command {
        Command::Authenticate(a) => a.card,
        Command::PinStatus(a) => a.card,
        Command::ChangePin(a) => a.card,
        Command::Unlock(a) => a.card,
        other => panic!("no selector in {other:?}"),
    }
}

#[test]
fn management_commands_need_a_session_and_bounded_arguments() {
    let Ok(Command::ManagementAuthenticate(m)) = parse(
        "management-authenticate",
        json!({"session": SESSION, "algorithm": "AES128", "template": base64_of(&[0x80, 0])}),
    ) else {
        panic!("not parsed");
    };
    assert_eq!((m.algorithm.id(), m.template), (0x08, vec![0x80, 0]));
    for (command, args) in [
        ("generate-key", json!({"slot": "9A", "algorithm": "P256"})),
        ("verify-pin", json!({"pin": "123456"})),
        ("put-data", json!({"object": "CHUID", "data": "AQID"})),
    ] {
        assert_eq!(
            code_of(command, args.clone()),
            ErrorCode::InvalidRequest,
            "{command}"
        );
        assert!(
            parse(command, with(args, "session", json!(SESSION))).is_ok(),
            "{command}"
        );
    }
    let bad = [
        ("generate-key", json!({"slot": "9B", "algorithm": "P256"})),
        (
            "generate-key",
            json!({"slot": "9A", "algorithm": "RSA1024"}),
        ),
        (
            "management-authenticate",
            json!({"algorithm": "DES", "template": "gAA="}),
        ),
        // A template over 64 bytes is refused before it is decoded in full.
        (
            "management-authenticate",
            json!({"algorithm": "3DES", "template": base64_of(&[0; 65])}),
        ),
        (
            "prove-possession",
            json!({"slot": "9A", "challenge": base64_of(&[1; 15]), "pin": "123456"}),
        ),
        (
            "prove-possession",
            json!({"slot": "9A", "challenge": base64_of(&[1; 65]), "pin": "123456"}),
        ),
        (
            "write-certificate",
            json!({"slot": "9C", "certificate": base64_of(&vec![0x30; 16 * 1024 + 1])}),
        ),
        ("put-data", json!({"object": "5FC105", "data": "AQID"})),
        (
            "put-data",
            json!({"object": "CHUID", "data": base64_of(&vec![0; 4097])}),
        ),
    ];
    for (command, args) in bad {
        let args = with(args, "session", json!(SESSION));
        assert_eq!(
            code_of(command, args.clone()),
            ErrorCode::InvalidRequest,
            "{command} {args}"
        );
    }
}

#[test]
fn prove_possession_takes_one_proof_or_a_list_under_one_pin() {
    use carecard_protocol::{CertificateSlot, KeyType, Proof};
    let challenge = base64_of(&[7; 32]);
    let single = json!({"session": SESSION, "slot": "9C", "challenge": challenge, "pin": "123456"});
    let Ok(Command::ProvePossession(args)) = parse("prove-possession", single) else {
        panic!("single form refused");
    };
    assert!(!args.listed);
    assert_eq!(
        args.proofs,
        [Proof {
            slot: CertificateSlot::Signature,
            challenge: vec![7; 32],
            generate: None
        }]
    );
    let listed = json!({"session": SESSION, "pin": "123456", "proofs": [
        {"slot": "9A", "challenge": challenge, "generate": "P384"},
        {"slot": "9C", "challenge": base64_of(&[8; 16])},
    ]});
    let Ok(Command::ProvePossession(args)) = parse("prove-possession", listed) else {
        panic!("list form refused");
    };
    assert!(args.listed);
    assert_eq!(
        args.proofs
            .iter()
            .map(|p| (p.slot, p.challenge.len(), p.generate))
            .collect::<Vec<_>>(),
        [
            (CertificateSlot::Authentication, 32, Some(KeyType::P384)),
            (CertificateSlot::Signature, 16, None)
        ]
    );
    let entry = |slot: &str| json!({"slot": slot, "challenge": challenge});
    let bad = [
        // Neither form, both forms, half the single form.
        json!({}),
        json!({"proofs": [entry("9A")], "slot": "9A", "challenge": challenge}),
        json!({"slot": "9A"}),
        json!({"challenge": challenge}),
        // Empty, too many, a slot twice, a bad entry, a bad field in an entry.
        json!({"proofs": []}),
        json!({"proofs": [entry("9A"), entry("9C"), entry("9A")]}),
        json!({"proofs": [entry("9A"), entry("9A")]}),
        json!({"proofs": ["9A"]}),
        json!({"proofs": entry("9A")}),
        json!({"proofs": [{"slot": "9B", "challenge": challenge}]}),
        json!({"proofs": [{"slot": "9A", "challenge": base64_of(&[1; 15])}]}),
        json!({"proofs": [{"slot": "9A", "challenge": challenge, "generate": "RSA1024"}]}),
        json!({"proofs": [{"slot": "9A", "challenge": 7}]}),
        json!({"proofs": [{"slot": "9A"}]}),
    ];
    for args in bad {
        let args = with(
            with(args, "session", json!(SESSION)),
            "pin",
            json!("123456"),
        );
        assert_eq!(
            code_of("prove-possession", args.clone()),
            ErrorCode::InvalidRequest,
            "{args}"
        );
    }
    // The PIN is still required by the host.
    let no_pin = json!({"session": SESSION, "proofs": [entry("9A")]});
    assert_eq!(
        code_of("prove-possession", no_pin),
        ErrorCode::InvalidRequest
    );
}

#[test]
fn pin_entry_on_the_reader_replaces_the_pin_explicitly() {
    use carecard_protocol::PinSource;
    let challenge = base64_of(&[7; 32]);
    let reader = json!("reader");
    // Every command that takes the holder's PIN takes pinEntry "reader" instead of it.
    let cases = [
        ("authenticate", without(authenticate_args(), "pin")),
        ("sign", without(sign_args(), "pin")),
        ("change-pin", json!({})),
        ("verify-pin", json!({"session": SESSION})),
        (
            "prove-possession",
            json!({"session": SESSION, "slot": "9C", "challenge": challenge}),
        ),
    ];
    for (command, args) in cases {
        let on_reader = with(args.clone(), "pinEntry", reader.clone());
        let source = match parse(command, on_reader.clone()) {
            Ok(Command::Authenticate(a)) => a.pin,
            Ok(Command::Sign(a)) => a.pin,
            Ok(Command::ChangePin(a)) => {
                assert!(a.new_pin.is_none());
                a.pin
            }
            Ok(Command::VerifyPin(a)) => a.pin,
            Ok(Command::ProvePossession(a)) => a.pin,
            other => panic!("{command}: {other:?}"),
        };
        assert!(matches!(source, PinSource::Reader), "{command}");
        // Without pinEntry the PIN stays required; with it, no PIN may come along.
        assert_eq!(
            code_of(command, args.clone()),
            ErrorCode::InvalidRequest,
            "{command}"
        );
        assert_eq!(
            code_of(command, with(on_reader.clone(), "pin", json!("123456"))),
            ErrorCode::InvalidRequest,
            "{command}: a PIN with pinEntry reader"
        );
        // "window" is the default, spelled out.
        let window = with(
            with(args, "pinEntry", json!("window")),
            "pin",
            json!("123456"),
        );
        let window = if command == "change-pin" {
            with(window, "newPin", json!("654321"))
        } else {
            window
        };
        assert!(parse(command, window).is_ok(), "{command}");
    }
    assert_eq!(
        code_of(
            "change-pin",
            json!({"pinEntry": "reader", "newPin": "654321"})
        ),
        ErrorCode::InvalidRequest,
        "the new PIN is typed on the reader too"
    );
    assert_eq!(
        code_of(
            "verify-pin",
            json!({"session": SESSION, "pinEntry": "keyboard"})
        ),
        ErrorCode::InvalidRequest
    );
    // unlock carries the site's PUK: it has no reader entry (an unknown argument is ignored).
    assert_eq!(
        code_of("unlock", json!({"puk": "12345678", "pinEntry": "reader"})),
        ErrorCode::InvalidRequest
    );
}
