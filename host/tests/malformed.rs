//! Malformed input through the real binary: each gets its own error and the host keeps
//! serving, or (where the stream cannot be trusted any more) answers and exits.

mod common;

use carecard_testkit::{HostProcess, Stack, DEV_EXTENSION_ORIGIN};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn next(host: &mut HostProcess) -> Value {
    host.read_frame(WAIT).expect("a reply frame")
}

fn assert_serving(host: &mut HostProcess) {
    let reply = host.command("status", json!({}));
    assert!(
        reply["result"]["readers"].is_array(),
        "still serving: {reply}"
    );
}

#[test]
fn each_malformed_request_gets_its_own_error_and_the_host_keeps_serving() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    let auth = |origin: &str, nonce: &str, pin: &str| json!({"origin": origin, "challengeNonce": nonce, "pin": pin});

    // Frames the envelope parser refuses.
    for (payload, why) in [
        (&b"\xff\xfe{\"id\":1}"[..], "invalid UTF-8"),
        (b"{\"id\": 1, \"command\": ", "invalid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (
            b"{\"id\": \"seven\", \"command\": \"status\"}",
            "id of the wrong type",
        ),
        (b"{\"id\": 3}", "no command"),
    ] {
        host.send_frame(payload);
        let reply = next(&mut host);
        assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{why}: {reply}");
        assert!(
            reply["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{why}"
        );
    }
    assert_serving(&mut host);

    let nonce = nonce();
    for (command, arguments, expected, why) in [
        (
            "self-destruct",
            json!({}),
            "ERR_UNKNOWN_COMMAND",
            "unknown command",
        ),
        (
            "authenticate",
            json!({"origin": ORIGIN, "pin": DEFAULT_PIN}),
            "ERR_INVALID_REQUEST",
            "missing nonce",
        ),
        (
            "authenticate",
            auth(ORIGIN, "c2hvcnQ=", DEFAULT_PIN),
            "ERR_INVALID_REQUEST",
            "nonce too short",
        ),
        (
            "authenticate",
            auth(
                "http://am.nhsidentity.spineservices.nhs.uk",
                &nonce,
                DEFAULT_PIN,
            ),
            "ERR_INVALID_REQUEST",
            "http origin",
        ),
        (
            "authenticate",
            auth(
                "https://am.nhsidentity.spineservices.nhs.uk/login",
                &nonce,
                DEFAULT_PIN,
            ),
            "ERR_INVALID_REQUEST",
            "origin with a path",
        ),
        (
            "authenticate",
            auth(ORIGIN, &nonce, "12"),
            "ERR_PIN_FORMAT",
            "PIN too short",
        ),
        (
            "authenticate",
            json!({"origin": ORIGIN, "challengeNonce": nonce, "pin": 123456}),
            "ERR_INVALID_REQUEST",
            "PIN not a string",
        ),
        (
            "sign",
            json!({"origin": ORIGIN, "hash": "AAAA", "hashFunction": "MD5", "certificate": "AAAA", "pin": DEFAULT_PIN}),
            "ERR_INVALID_REQUEST",
            "unknown hash function",
        ),
    ] {
        let reply = host.command(command, arguments);
        assert_eq!(code(&reply), expected, "{why}: {reply}");
        assert!(reply["id"].is_u64(), "the id is kept: {reply}");
    }
    assert_serving(&mut host);
    assert!(host.wait().success());
}

#[test]
fn oversized_frame_is_refused_without_losing_the_stream() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    let big = vec![b' '; 64 * 1024 + 1];
    host.send_frame(&big);
    let reply = next(&mut host);
    assert_eq!(code(&reply), "ERR_MESSAGE_TOO_LARGE", "{reply}");
    assert_eq!(reply["id"], json!(null), "{reply}");
    assert_serving(&mut host);
    // Exactly at the limit is fine (whitespace-padded JSON).
    let mut at_limit = br#"{"id": 99, "command": "status"}"#.to_vec();
    at_limit.resize(64 * 1024, b' ');
    host.send_frame(&at_limit);
    assert_eq!(next(&mut host)["id"], json!(99));
    assert!(host.wait().success());
}

#[test]
fn a_huge_claim_is_answered_at_once_and_the_host_exits_when_stdin_ends() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    // 4 GiB announced, nothing sent: refused before a byte of payload arrives.
    host.write_raw(&u32::MAX.to_ne_bytes());
    let reply = next(&mut host);
    assert_eq!(code(&reply), "ERR_MESSAGE_TOO_LARGE", "{reply}");
    let status = host.wait();
    assert!(!status.success(), "stdin ended inside the frame: {status}");
}

#[test]
fn a_truncated_frame_gets_an_error_then_the_host_exits() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    let mut raw = 100u32.to_ne_bytes().to_vec();
    raw.extend_from_slice(br#"{"id": 5, "comm"#);
    host.write_raw(&raw);
    host.close_stdin();
    let reply = next(&mut host);
    assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{reply}");
    let status = host.wait();
    assert!(!status.success(), "{status}");
    // A half length prefix is just as broken.
    let mut host = HostProcess::spawn(&stack, &[]);
    host.write_raw(&[7, 0]);
    host.close_stdin();
    assert_eq!(code(&next(&mut host)), "ERR_INVALID_REQUEST");
    assert!(!host.wait().success());
}

#[test]
fn clean_end_of_stdin_exits_zero() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_serving(&mut host);
    assert!(host.wait().success());
}

#[test]
fn a_refused_caller_gets_one_error_and_the_host_exits() {
    let stack = Stack::start().expect("stack");
    let stranger = "chrome-extension://abcdefghijklmnopabcdefghijklmnop/";
    for args in [vec![stranger], vec!["https://example.org/"], vec![]] {
        let mut host = HostProcess::spawn_with_args(&stack, &args, &[]);
        let reply = next(&mut host);
        assert_eq!(code(&reply), "ERR_ORIGIN_NOT_ALLOWED", "{args:?}: {reply}");
        assert_eq!(reply["id"], json!(null));
        assert_eq!(
            host.read_frame(Duration::from_millis(200)),
            None,
            "only one frame"
        );
        assert!(!host.wait().success());
    }

    // Allowed once the config names it; Windows' --parent-window is ignored.
    let config = stack.dir().join("allow.json");
    std::fs::write(
        &config,
        r#"{"allowedExtensionIds": ["abcdefghijklmnopabcdefghijklmnop"], "logLevel": "trace"}"#,
    )
    .expect("config");
    let config = config.to_string_lossy().into_owned();
    let mut host = HostProcess::spawn_with_args(
        &stack,
        &[stranger, "--parent-window=1234"],
        &[("CARECARD_CONFIG", &config)],
    );
    assert_serving(&mut host);
    assert!(host.wait().success());
    let mut host =
        HostProcess::spawn_with_args(&stack, &["--parent-window=7", DEV_EXTENSION_ORIGIN], &[]);
    assert_serving(&mut host);
    assert!(host.wait().success());
}

#[test]
fn an_unknown_command_name_is_not_logged() {
    // A confused caller might put a PIN where the command name goes: the log (trace level in
    // tests) must not keep it, while a known command's refusal still names the command.
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = host.command("40817263", json!({}));
    assert_eq!(code(&reply), "ERR_UNKNOWN_COMMAND", "{reply}");
    let reply = host.command("pin-status", json!({"reader": ""}));
    assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{reply}");
    assert!(host.wait().success());
    let log = host.log_text();
    assert!(!log.contains("40817263"), "{log}");
    assert!(log.contains("unknown command refused"), "{log}");
    assert!(log.contains("pin-status refused"), "{log}");
}
