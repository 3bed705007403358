//! No PIN is left in the memory of the running host: after rejected envelopes that carried a
//! PIN, and after an authentication with a wrong PIN, a scan of the whole address space of the
//! real `carecard-host` process (`/proc/<pid>/maps` + `/proc/<pid>/mem`, which needs root or
//! ptrace rights over the child) must not find the PIN's bytes anywhere: not in live data, not
//! in freed heap blocks, not in stdin buffers, not on a stack.

mod common;

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Put before the PIN in the longer strings.
const FILLER: &str = "carecard memory scan, filler: ";
const DEV_EXTENSION_ORIGIN: &str = "chrome-extension://pggklkelfcagmclfcaejdknbclgpeaco/";

/// Eight random letters and digits, different for every call (a PIN no memory holds by chance).
fn canary() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let mut x = nanos
        ^ (u64::from(std::process::id()) << 32)
        ^ COUNTER
            .fetch_add(1, Ordering::Relaxed)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    (0..8)
        .map(|_| {
            // xorshift64*
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
            char::from(ALPHABET[(r >> 33) as usize % ALPHABET.len()])
        })
        .collect()
}

/// Every readable mapping of `pid`, as (start, end, description).
fn readable_regions(pid: u32) -> Vec<(u64, u64, String)> {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    maps.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let range = fields.next()?;
            let perms = fields.next()?;
            let name = fields.nth(3).unwrap_or("").to_owned();
            let (start, end) = range.split_once('-')?;
            let start = u64::from_str_radix(start, 16).ok()?;
            let end = u64::from_str_radix(end, 16).ok()?;
            (perms.starts_with('r') && name != "[vvar]" && name != "[vsyscall]")
                .then_some((start, end, name))
        })
        .collect()
}

/// Where each needle occurs in the process's memory: `(needle, region name, address)`.
/// Also returns the number of bytes read, so a scan that read nothing cannot pass.
fn scan(pid: u32, needles: &[&[u8]]) -> (Vec<(usize, String, u64)>, u64) {
    let mut mem = File::open(format!("/proc/{pid}/mem"))
        .expect("open /proc/<pid>/mem (the test must run as root or with ptrace rights)");
    let mut hits = Vec::new();
    let mut scanned = 0u64;
    for (start, end, name) in readable_regions(pid) {
        let Ok(len) = usize::try_from(end - start) else {
            continue;
        };
        let mut buffer = vec![0u8; len];
        if mem.seek(SeekFrom::Start(start)).is_err() {
            continue;
        }
        // Some special mappings refuse reads; everything the host's code touches reads fine.
        let mut filled = 0;
        while filled < len {
            match mem.read(&mut buffer[filled..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => filled += n,
            }
        }
        scanned += filled as u64;
        for (i, needle) in needles.iter().enumerate() {
            for at in buffer[..filled]
                .windows(needle.len())
                .enumerate()
                .filter(|(_, w)| w == needle)
                .map(|(at, _)| at)
            {
                hits.push((i, name.clone(), start + at as u64));
            }
        }
    }
    (hits, scanned)
}

/// Scans the host for the named PINs; lists every one found (and where).
fn leaks(host: &HostProcess, cases: &[(String, String)]) -> Vec<String> {
    // Control: the caller origin (the host's argv) must be found, or the scan is not working.
    let mut needles: Vec<&[u8]> = cases.iter().map(|(_, pin)| pin.as_bytes()).collect();
    needles.push(DEV_EXTENSION_ORIGIN.as_bytes());
    let (hits, scanned) = scan(host.pid(), &needles);
    assert!(
        scanned > 100_000,
        "only {scanned} bytes of the host were read"
    );
    assert!(
        hits.iter().any(|(i, _, _)| *i == cases.len()),
        "the control string (the host's argv) was not found: the scan is broken"
    );
    hits.iter()
        .filter(|(i, _, _)| *i < cases.len())
        .map(|(i, region, at)| format!("{} at {at:#x} in {region:?}", cases[*i].0))
        .collect()
}

fn assert_no_leaks(leaks: &[String]) {
    assert!(
        leaks.is_empty(),
        "PIN left in the host's memory:\n  {}",
        leaks.join("\n  ")
    );
}

fn json_escaped(s: &str) -> String {
    s.chars()
        .map(|c| format!("\\u{:04x}", u32::from(c)))
        .collect()
}

/// Sends a frame and waits for its one reply.
fn exchange(host: &mut HostProcess, frame: &[u8]) -> Value {
    host.send_frame(frame);
    host.read_frame(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("no reply to {:?}", String::from_utf8_lossy(frame)))
}

#[test]
fn rejected_envelopes_leave_no_pin_in_host_memory() {
    let stack = Stack::start().expect("stack");
    let mut host = HostProcess::spawn(&stack, &[]);
    // A valid request first, so the host's buffers and heap are in normal use.
    assert_eq!(code(&host.command("status", json!({}))), "");

    let nonce = nonce();
    // Each frame carries its PIN as `pin` (@: the PIN) and inside a longer `memo` string (&:
    // filler then the PIN). A freed block of 8 bytes gets the allocator's free-list pointers
    // written over it, hiding an unwiped short PIN from the scan; a longer string keeps its tail.
    let arguments = |pin: &str| -> String {
        format!(r#"{{"origin":"{ORIGIN}","challengeNonce":"{nonce}","pin":"{pin}","memo":"&"}}"#)
    };
    // (what the case is, the frame with placeholders @ & and % (& as JSON \u escapes), the
    // expected error code or "" for none)
    let shapes: Vec<(&str, String, &str)> = vec![
        (
            "id is a string",
            format!(
                r#"{{"id":"7","command":"authenticate","arguments":{}}}"#,
                arguments("@")
            ),
            "ERR_INVALID_REQUEST",
        ),
        (
            "id is negative",
            format!(
                r#"{{"id":-1,"command":"authenticate","arguments":{}}}"#,
                arguments("@")
            ),
            "ERR_INVALID_REQUEST",
        ),
        (
            "no id",
            format!(
                r#"{{"command":"authenticate","arguments":{}}}"#,
                arguments("@")
            ),
            "ERR_INVALID_REQUEST",
        ),
        (
            "command is a number",
            format!(r#"{{"id":11,"command":5,"arguments":{}}}"#, arguments("@")),
            "ERR_INVALID_REQUEST",
        ),
        (
            "no command",
            format!(r#"{{"id":12,"arguments":{}}}"#, arguments("@")),
            "ERR_INVALID_REQUEST",
        ),
        (
            "arguments are an array",
            r#"{"id":13,"command":"authenticate","arguments":["@","&"]}"#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "an ignored top-level field",
            r#"{"id":14,"command":"status","pin":"@","memo":"&"}"#.to_owned(),
            "",
        ),
        (
            "the PIN as JSON escapes",
            r#"{"id":"x","command":"authenticate","arguments":{"pin":"%"}}"#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "escaped in arguments that are refused",
            r#"{"id":15,"command":"authenticate","arguments":{"pin":"%"}}"#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "JSON cut short",
            format!(
                r#"{{"id":16,"command":"authenticate","arguments":{}"#,
                arguments("@")
            ),
            "ERR_INVALID_REQUEST",
        ),
        (
            "escaped, JSON cut short",
            r#"{"id":17,"command":"authenticate","arguments":{"memo":"%","#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "not an object",
            r#"["@", {"pin": "@", "memo": "&"}]"#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "a duplicate key",
            format!(
                r#"{{"id":18,"id":19,"command":"authenticate","arguments":{}}}"#,
                arguments("@")
            ),
            "ERR_INVALID_REQUEST",
        ),
        (
            "a duplicate PIN key",
            r#"{"id":20,"command":"authenticate","arguments":{"pin":"@","memo":"&","memo":"&"}}"#
                .to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "a missing origin",
            r#"{"id":21,"command":"authenticate","arguments":{"pin":"@","memo":"&"}}"#.to_owned(),
            "ERR_INVALID_REQUEST",
        ),
        (
            "an unknown command",
            r#"{"id":22,"command":"erase","arguments":{"pin":"@","memo":"&"}}"#.to_owned(),
            "ERR_UNKNOWN_COMMAND",
        ),
        (
            "a PIN too long",
            format!(
                r#"{{"id":23,"command":"authenticate","arguments":{}}}"#,
                arguments("@@")
            ),
            "ERR_PIN_FORMAT",
        ),
    ];
    let mut cases = Vec::new();
    let mut wrong_codes = Vec::new();
    let mut found = Vec::new();
    for (what, shape, expected) in shapes {
        let pin = canary();
        let memo = format!("{FILLER}{pin}");
        let frame = shape
            .replace('@', &pin)
            .replace('&', &memo)
            .replace('%', &json_escaped(&memo));
        let reply = exchange(&mut host, frame.as_bytes());
        if code(&reply) != expected {
            wrong_codes.push(format!("{what}: expected {expected:?}, got {reply}"));
        }
        // Scan at once: later frames may reuse (and so overwrite) what this one left behind.
        let case = [(what.to_owned(), pin)];
        found.extend(leaks(&host, &case));
        cases.extend(case);
    }
    // One frame that is not UTF-8 after the PIN.
    let pin = canary();
    let frame = [
        format!(r#"{{"id":24,"command":"authenticate","arguments":{{"pin":"{pin}","x":""#)
            .as_bytes(),
        b"\xff\"}}",
    ]
    .concat();
    assert_eq!(code(&exchange(&mut host, &frame)), "ERR_INVALID_REQUEST");
    cases.push(("not UTF-8".to_owned(), pin));
    // A frame over the 64 KiB limit, refused unread and skipped.
    let pin = canary();
    let mut frame =
        format!(r#"{{"id":25,"command":"authenticate","arguments":{{"pin":"{pin}","x":""#)
            .into_bytes();
    frame.resize(70_000, b' ');
    frame.extend_from_slice(format!(r#"","pin2":"{pin}"}}}}"#).as_bytes());
    assert_eq!(code(&exchange(&mut host, &frame)), "ERR_MESSAGE_TOO_LARGE");
    cases.push(("a frame too large".to_owned(), pin));
    // The host still serves.
    assert_eq!(code(&host.command("status", json!({}))), "");
    found.extend(leaks(&host, &cases));

    assert_no_leaks(&found);
    assert!(wrong_codes.is_empty(), "{}", wrong_codes.join("\n"));
    assert!(host.wait().success());
}

#[test]
fn a_wrong_pin_leaves_no_pin_in_host_memory() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let plain = canary();
    let reply = authenticate(&mut host, &plain);
    assert_eq!(code(&reply), "ERR_PIN_INCORRECT", "{reply}");
    assert_eq!(reply["error"]["retriesLeft"], json!(2), "{reply}");
    let mut found = leaks(&host, &[("a wrong PIN".to_owned(), plain.clone())]);
    // The same through JSON escapes (serde_json decodes those in a scratch buffer).
    let escaped = canary();
    let frame = format!(
        r#"{{"id":900,"command":"authenticate","arguments":{{"origin":"{ORIGIN}","challengeNonce":"{}","pin":"{}"}}}}"#,
        nonce(),
        json_escaped(&escaped)
    );
    let reply = exchange(&mut host, frame.as_bytes());
    assert_eq!(code(&reply), "ERR_PIN_INCORRECT", "{reply}");
    found.extend(leaks(
        &host,
        &[
            ("a wrong PIN (after the next request)".to_owned(), plain),
            ("a wrong PIN sent as JSON escapes".to_owned(), escaped),
        ],
    ));
    assert_no_leaks(&found);
    assert!(host.wait().success());
}
