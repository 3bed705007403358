//! A request frame → `parse_request` → `Command::parse`, the host's whole path from bytes to a
//! typed command, and the extension's `validate_request_json` (wasm `validateRequest`) on the
//! same command and arguments. Never panics; the strict JSON reader agrees with serde_json on
//! what is JSON (except that it refuses duplicate keys) and reads the same values; what the
//! extension's validation returns validates again to the same text.
#![no_main]

use carecard_protocol::envelope::json::{self, JsonError};
use carecard_protocol::extension::{validate_origin, validate_request_json};
use carecard_protocol::{command_takes_origin, parse_request, Command, OriginPolicy};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Equal, with floats allowed the last-digit difference of two correct-enough parsers.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            _ if x == y => true,
            (Some(p), Some(q)) if x.is_f64() || y.is_f64() => {
                p == q
                    || (p - q).abs() <= p.abs().max(q.abs()) * 1e-15
                    || p.abs().max(q.abs()) < 1e-300
            }
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|frame: &[u8]| {
    let ours = json::from_slice(frame);
    let theirs = serde_json::from_slice::<Value>(frame);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert!(same(a, b), "ours {a} serde_json {b}"),
        (Err(JsonError::DuplicateKey), Ok(_)) => {}
        (Err(_), Err(_)) => {}
        (Ok(a), Err(e)) => panic!("accepted what serde_json refuses ({e}): {a}"),
        (Err(e), Ok(b)) => panic!("refused what serde_json accepts ({e:?}): {b}"),
    }
    let request = match parse_request(frame) {
        Ok(request) => request,
        Err(rejected) => {
            assert_eq!(rejected.error.code.as_str(), "ERR_INVALID_REQUEST");
            return;
        }
    };
    assert!(ours.is_ok());
    for developer_mode in [false, true] {
        let policy = OriginPolicy { developer_mode };
        if let Ok(command) = Command::parse(&request.command, &request.arguments, &policy) {
            let _ = format!("{command:?}");
        }
        // The extension's side: the page's arguments with the sender's origin.
        let origin = request
            .arguments
            .get("origin")
            .and_then(Value::as_str)
            .unwrap_or("https://am.nhsidentity.spineservices.nhs.uk");
        let arguments = request.arguments.to_string();
        let _ = validate_origin(origin, developer_mode);
        if let Ok(out) = validate_request_json(&request.command, &arguments, origin, developer_mode)
        {
            let value = json::from_str(&out).expect("valid JSON out");
            if command_takes_origin(&request.command) {
                let normalised = validate_origin(origin, developer_mode).expect("origin was valid");
                assert_eq!(
                    value.get("origin").and_then(Value::as_str),
                    Some(normalised.as_str())
                );
            }
            let again = validate_request_json(&request.command, &out, origin, developer_mode)
                .expect("its own output validates");
            assert_eq!(again, out);
        }
    }
});
