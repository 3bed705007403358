//! Seeded random input through the real binary, with a real card behind it: every frame gets
//! exactly one well-formed answer with a known error code or a result, the host never panics,
//! and it still serves (and exits cleanly) afterwards.

mod common;

use carecard_protocol::ErrorCode;
use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const FRAMES: usize = 400;
const WAIT: Duration = Duration::from_secs(10);

/// The codes the host may answer with: all of the protocol's but the two only the browser side
/// raises (it cannot be "unavailable" to itself).
fn host_code(code: &str) -> bool {
    ErrorCode::ALL.iter().any(|c| {
        c.as_str() == code
            && !matches!(
                c,
                ErrorCode::ExtensionUnavailable | ErrorCode::NativeUnavailable
            )
    })
}

/// xorshift64*: a fixed seed makes a failure reproducible without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Requests close to valid ones, so mutations reach the validators and handlers, not only the
/// JSON parser.
fn seeds() -> Vec<Value> {
    let auth = json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": "000000"});
    vec![
        json!({"id": 1, "command": "status"}),
        json!({"id": 2, "command": "certificates", "arguments": {}}),
        json!({"id": 3, "command": "authenticate", "arguments": auth}),
        json!({"id": 4, "command": "pin-status", "arguments": {}}),
        json!({"id": 5, "command": "sign", "arguments": {"origin": ORIGIN, "hash": "AAAA", "hashFunction": "SHA-256", "certificate": "AAAA", "pin": "1234"}}),
        json!({"id": 6, "command": "change-pin", "arguments": {"pin": "12", "newPin": "abcdef"}}),
        json!({"id": 7, "command": "unlock", "arguments": {"puk": "1", "newPin": "1"}}),
    ]
}

fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.next() % 2 == 0),
        2 => json!(rng.next() as i64),
        3 => json!(-(rng.below(1000) as i64)),
        4 => json!(1e308),
        5 => {
            let len = rng.below(300);
            json!((0..len)
                .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
                .collect::<String>())
        }
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                map.insert(
                    rng.pick(&["id", "command", "arguments", "origin", "pin", "x"])
                        .to_string(),
                    random_value(rng, depth + 1),
                );
            }
            Value::Object(map)
        }
    }
}

/// One mutated frame payload (always under the 64 KiB limit).
fn mutate(rng: &mut Rng, seeds: &[Value]) -> Vec<u8> {
    let mut request = rng.pick(seeds).clone();
    match rng.below(5) {
        // Replace one field of the envelope or of the arguments with anything.
        0 | 1 => {
            let field = *rng.pick(&["id", "command", "arguments"]);
            request[field] = random_value(rng, 0);
        }
        2 => {
            if let Some(args) = request.get_mut("arguments").and_then(Value::as_object_mut) {
                let keys: Vec<String> = args.keys().cloned().collect();
                if !keys.is_empty() {
                    let key = rng.pick(&keys).clone();
                    args.insert(key, random_value(rng, 0));
                }
            }
        }
        // Byte-level damage: flips, truncation, raw garbage.
        3 => {
            let mut bytes = serde_json::to_vec(&request).expect("json");
            for _ in 0..=rng.below(4) {
                let i = rng.below(bytes.len());
                bytes[i] = rng.next() as u8;
            }
            let keep = bytes.len() - rng.below(bytes.len() / 2 + 1);
            bytes.truncate(keep);
            return bytes;
        }
        _ => return (0..rng.below(64)).map(|_| rng.next() as u8).collect(),
    }
    serde_json::to_vec(&request).expect("json")
}

fn assert_well_formed(reply: &Value, payload: &[u8]) {
    let shown = String::from_utf8_lossy(payload);
    assert!(
        reply["id"].is_u64() || reply["id"].is_null(),
        "bad id in {reply} for {shown}"
    );
    match (reply.get("result"), reply.get("error")) {
        (Some(_), None) => {}
        (None, Some(error)) => {
            let code = error["code"].as_str().unwrap_or_default();
            assert!(host_code(code), "unknown code in {reply} for {shown}");
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "no message in {reply}"
            );
        }
        _ => panic!("neither result nor error: {reply} for {shown}"),
    }
}

#[test]
fn random_frames_each_get_one_well_formed_answer_and_never_crash_the_host() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let seeds = seeds();
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let (mut results, mut reached_the_card) = (0, 0);
    for _ in 0..FRAMES {
        let payload = mutate(&mut rng, &seeds);
        host.send_frame(&payload);
        // Card events (a mutated request may have been a valid `watch`) are not answers.
        let reply = loop {
            let frame = host.read_frame(WAIT).unwrap_or_else(|| {
                panic!(
                    "no answer to {}; stderr: {}",
                    String::from_utf8_lossy(&payload),
                    host.stderr_text()
                )
            });
            if frame.get("event").is_none() {
                break frame;
            }
        };
        assert_well_formed(&reply, &payload);
        results += usize::from(reply.get("result").is_some());
        reached_the_card += usize::from(matches!(
            reply["error"]["code"].as_str(),
            Some("ERR_PIN_INCORRECT" | "ERR_PIN_BLOCKED" | "ERR_CERTIFICATE_NOT_FOUND")
        ));
    }
    // The mutations must reach the handlers and the card, not only the JSON parser.
    assert!(
        results > 0 && reached_the_card > 0,
        "{results} results, {reached_the_card} card errors"
    );
    let status = host.command("status", json!({}));
    assert!(status["result"]["readers"].is_array(), "{status}");
    host.close_stdin();
    assert!(host.wait().success(), "stderr: {}", host.stderr_text());
    assert!(!host.stderr_text().contains("panicked"));
}
