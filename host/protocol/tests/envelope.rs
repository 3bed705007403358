//! Envelope parsing and reply serialisation (DESIGN.md "Envelope").

use carecard_protocol::{parse_request, ErrorCode, RejectedRequest, Request, Response, WireError};
use serde_json::json;

fn rejected(frame: &[u8]) -> RejectedRequest {
    match parse_request(frame) {
        Ok(r) => panic!("{:?} was accepted as {r:?}", String::from_utf8_lossy(frame)),
        Err(e) => e,
    }
}

#[test]
fn a_well_formed_request_parses() {
    let r = parse_request(br#"{"id": 7, "command": "authenticate", "arguments": {"pin": "1234"}}"#)
        .expect("valid");
    assert_eq!(
        r,
        Request {
            id: 7,
            command: "authenticate".into(),
            arguments: json!({"pin": "1234"}),
        }
    );
}

#[test]
fn missing_or_null_arguments_become_an_empty_object() {
    for frame in [
        &br#"{"id": 0, "command": "status"}"#[..],
        br#"{"id": 0, "command": "status", "arguments": null}"#,
    ] {
        assert_eq!(parse_request(frame).expect("valid").arguments, json!({}));
    }
}

#[test]
fn invalid_utf8_is_an_invalid_request_without_id() {
    let e = rejected(b"{\"id\": 1, \"command\": \"st\xffatus\"}");
    assert_eq!(e.id, None);
    assert_eq!(e.error.code, ErrorCode::InvalidRequest);
}

#[test]
fn invalid_json_is_an_invalid_request() {
    for frame in [&b"{"[..], b"", b"{\"id\": 1,}", b"null null"] {
        let e = rejected(frame);
        assert_eq!((e.id, e.error.code), (None, ErrorCode::InvalidRequest));
    }
}

#[test]
fn json_that_is_not_an_object_is_an_invalid_request() {
    for frame in [&b"[]"[..], b"7", b"\"status\"", b"null", b"true"] {
        let e = rejected(frame);
        assert_eq!((e.id, e.error.code), (None, ErrorCode::InvalidRequest));
    }
}

#[test]
fn id_must_be_present_and_a_non_negative_integer() {
    for frame in [
        &br#"{"command": "status"}"#[..],
        br#"{"id": "7", "command": "status"}"#,
        br#"{"id": -1, "command": "status"}"#,
        br#"{"id": 1.5, "command": "status"}"#,
        br#"{"id": null, "command": "status"}"#,
        br#"{"id": 18446744073709551616, "command": "status"}"#,
    ] {
        let e = rejected(frame);
        assert_eq!((e.id, e.error.code), (None, ErrorCode::InvalidRequest));
    }
}

#[test]
fn command_must_be_a_string_and_the_id_is_kept() {
    for frame in [
        &br#"{"id": 9, "command": 5}"#[..],
        br#"{"id": 9, "command": null}"#,
        br#"{"id": 9}"#,
    ] {
        let e = rejected(frame);
        assert_eq!((e.id, e.error.code), (Some(9), ErrorCode::InvalidRequest));
    }
}

#[test]
fn arguments_must_be_an_object() {
    let e = rejected(br#"{"id": 3, "command": "status", "arguments": [1]}"#);
    assert_eq!((e.id, e.error.code), (Some(3), ErrorCode::InvalidRequest));
}

#[test]
fn duplicate_keys_are_refused_at_every_level() {
    // DESIGN.md: duplicate keys are ERR_INVALID_REQUEST (serde_json alone lets the last win).
    for frame in [
        &br#"{"id": 5, "id": 6, "command": "status"}"#[..],
        br#"{"id": 5, "command": "status", "command": "watch"}"#,
        br#"{"id": 5, "command": "status", "arguments": {}, "arguments": {}}"#,
        br#"{"id": 5, "command": "authenticate", "arguments": {"pin": "1234", "pin": "5678"}}"#,
        br#"{"id": 5, "command": "status", "arguments": {"a": {"b": 1, "b": 2}}}"#,
        br#"{"id": 5, "command": "status", "arguments": {"a": [{"c": 1}, {"c": 1, "c": 1}]}}"#,
        br#"{"id": 5, "command": "status", "extra": {"x": null, "x": null}}"#,
        // The same key spelt with an escape is still the same key.
        br#"{"id": 5, "command": "status", "\u0069d": 6}"#,
    ] {
        let e = rejected(frame);
        assert_eq!(
            e.error.code,
            ErrorCode::InvalidRequest,
            "{}",
            String::from_utf8_lossy(frame)
        );
        assert!(
            e.error.message.contains("duplicate"),
            "{}: {}",
            String::from_utf8_lossy(frame),
            e.error.message
        );
    }
    // Equal keys in different objects are not duplicates.
    let r = parse_request(
        br#"{"id": 5, "command": "status", "arguments": {"id": 1, "a": [{"c": 1}, {"c": 2}]}}"#,
    )
    .expect("valid");
    assert_eq!(r.arguments, json!({"id": 1, "a": [{"c": 1}, {"c": 2}]}));
}

#[test]
fn json_edge_cases_read_as_serde_json_reads_them() {
    // The envelope parser is strict RFC 8259 like serde_json: same acceptances, same values.
    let r = parse_request(
        br#" {"id":1,"command":"st\u0061tus","arguments":{"s":"\ud83d\ude00\n\"\\\/\b\f\r\t","n":[-0,1.5e3,-12,1E-2,18446744073709551615,-9223372036854775808,true,false,null,[],{}]}} "#,
    )
    .expect("valid");
    assert_eq!(r.command, "status");
    assert_eq!(
        r.arguments,
        serde_json::from_str::<serde_json::Value>(
            r#"{"s":"\ud83d\ude00\n\"\\\/\b\f\r\t","n":[-0,1.5e3,-12,1E-2,18446744073709551615,-9223372036854775808,true,false,null,[],{}]}"#
        )
        .expect("serde_json")
    );
    for frame in [
        &br#"{"id":1,"command":"status",}"#[..],
        br#"{"id":01,"command":"status"}"#,
        br#"{"id":1,"command":"st\x"}"#,
        br#"{"id":1,"command":"\ud800"}"#,
        b"{\"id\":1,\"command\":\"a\tb\"}",
        br#"{"id":1,"command":"status"} x"#,
        br#"{"id":1,"command":"status","arguments":{"n":1e400}}"#,
        br#"{"id":1,"command":"status","arguments":{"n":-}}"#,
        br#"{"id":1,"command":"status","arguments":{"n":1.}}"#,
        br#"{'id':1}"#,
    ] {
        let e = rejected(frame);
        assert_eq!(e.error.code, ErrorCode::InvalidRequest);
    }
    // Nesting is bounded (serde_json's limit is 128), so a deep frame cannot exhaust the stack.
    let deep = format!(
        r#"{{"id":1,"command":"status","arguments":{{"a":{}{}}}}}"#,
        "[".repeat(20_000),
        "]".repeat(20_000)
    );
    assert_eq!(
        rejected(deep.as_bytes()).error.code,
        ErrorCode::InvalidRequest
    );
    let fine = format!(
        r#"{{"id":1,"command":"status","arguments":{{"a":{}{}}}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert!(parse_request(fine.as_bytes()).is_ok());
}

#[test]
fn a_pin_failure_serialises_exactly() {
    let error = WireError::new(ErrorCode::PinIncorrect, "Wrong PIN.").with_retries_left(2);
    let frame = Response::failure(Some(7), error).to_vec();
    assert_eq!(
        String::from_utf8(frame).expect("utf-8"),
        r#"{"id":7,"error":{"code":"ERR_PIN_INCORRECT","message":"Wrong PIN.","retriesLeft":2}}"#
    );
}

#[test]
fn a_failure_without_extras_omits_them_and_an_unknown_id_is_null() {
    let frame = Response::failure(None, WireError::new(ErrorCode::InvalidRequest, "x")).to_vec();
    assert_eq!(
        String::from_utf8(frame).expect("utf-8"),
        r#"{"id":null,"error":{"code":"ERR_INVALID_REQUEST","message":"x"}}"#
    );
}

#[test]
fn a_card_error_carries_the_status_word_as_four_hex_digits() {
    let error = WireError::new(ErrorCode::CardError, "m").with_status_word(0x6a82);
    assert_eq!(
        serde_json::to_value(Response::failure(Some(1), error)).expect("json"),
        json!({"id": 1, "error": {"code": "ERR_CARD_ERROR", "message": "m", "statusWord": "6A82"}})
    );
}

#[test]
fn a_success_serialises_exactly() {
    let frame = Response::success(12, json!({"pinRetriesLeft": 3})).to_vec();
    assert_eq!(
        String::from_utf8(frame).expect("utf-8"),
        r#"{"id":12,"result":{"pinRetriesLeft":3}}"#
    );
}

#[test]
fn a_rejected_request_is_answered_with_its_id() {
    let e = rejected(br#"{"id": 4, "command": []}"#);
    let reply = serde_json::to_value(Response::rejected(e)).expect("json");
    assert_eq!(reply["id"], json!(4));
    assert_eq!(reply["error"]["code"], json!("ERR_INVALID_REQUEST"));
}

#[test]
fn replies_read_back() {
    let text = r#"{"id":7,"error":{"code":"ERR_PUK_INCORRECT","message":"m","retriesLeft":1}}"#;
    let parsed: Response = serde_json::from_str(text).expect("parses");
    assert_eq!(
        parsed,
        Response::failure(
            Some(7),
            WireError::new(ErrorCode::PukIncorrect, "m").with_retries_left(1)
        )
    );
    let parsed: Response = serde_json::from_str(r#"{"id":2,"result":{}}"#).expect("parses");
    assert_eq!(parsed, Response::success(2, json!({})));
}

/// Every code named in DESIGN.md, plus the two the browser side raises.
const WIRE_CODES: [&str; 22] = [
    "ERR_INVALID_REQUEST",
    "ERR_MESSAGE_TOO_LARGE",
    "ERR_UNKNOWN_COMMAND",
    "ERR_ORIGIN_NOT_ALLOWED",
    "ERR_PCSC_UNAVAILABLE",
    "ERR_NO_READER",
    "ERR_NO_CARD",
    "ERR_CARD_REMOVED",
    "ERR_CARD_BUSY",
    "ERR_UNSUPPORTED_CARD",
    "ERR_CERTIFICATE_NOT_FOUND",
    "ERR_PIN_FORMAT",
    "ERR_PIN_INCORRECT",
    "ERR_PIN_BLOCKED",
    "ERR_PUK_INCORRECT",
    "ERR_PUK_BLOCKED",
    "ERR_USER_CANCELLED",
    "ERR_TIMEOUT",
    "ERR_CARD_ERROR",
    "ERR_INTERNAL",
    "ERR_EXTENSION_UNAVAILABLE",
    "ERR_NATIVE_UNAVAILABLE",
];

#[test]
fn every_code_has_its_wire_string_both_ways() {
    for wire in WIRE_CODES {
        let code = ErrorCode::from_wire(wire).unwrap_or_else(|| panic!("{wire} is missing"));
        assert_eq!(code.as_str(), wire);
        assert_eq!(code.to_string(), wire);
        assert_eq!(
            serde_json::to_string(&code).ok(),
            Some(format!("\"{wire}\""))
        );
        let back: ErrorCode = serde_json::from_str(&format!("\"{wire}\"")).expect("reads back");
        assert_eq!(back, code);
    }
    assert_eq!(ErrorCode::ALL.len(), WIRE_CODES.len());
    assert_eq!(ErrorCode::from_wire("ERR_SOMETHING_ELSE"), None);
}

#[test]
fn every_code_has_its_own_plain_english_message() {
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
        let m = code.default_message();
        assert!(m.len() > 20 && m.ends_with('.'), "{code}: {m}");
        assert!(
            !m.contains("ERR_") && !m.contains("APDU") && !m.contains("PC/SC"),
            "{m}"
        );
        assert!(seen.insert(m), "{code} shares its message");
        assert_eq!(WireError::from_code(code).message, m);
    }
}

#[test]
fn deeply_nested_json_is_refused_not_a_crash() {
    let depth = 100_000;
    let frame = format!(
        r#"{{"id": 1, "command": "status", "arguments": {{"a": {}{}}}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let e = rejected(frame.as_bytes());
    assert_eq!(e.error.code, ErrorCode::InvalidRequest);
}
