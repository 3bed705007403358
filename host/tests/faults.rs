//! Faults around one operation (issue 8, "Faults not yet tested"), each with a clear error and
//! the next request succeeding: pcscd stopped mid-operation; the host killed after VERIFY (the
//! PIN must not stay verified); the card reset by another application while the host has it
//! open (the reconnect path of `PcscCard::transaction`); two hosts on one card at once.
//!
//! "Another application" is a small PC/SC client (Python ctypes over libpcsclite, in its own
//! process with the stack's `PCSCLITE_CSOCK_NAME`): it holds transactions, resets the card and
//! sends raw APDUs, independent of the host's own code.

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Reads commands from stdin, one per line, and answers each with one line: `ok [data]` or
/// `err <PC/SC code>`. connect READER | lock | reset | unlock | apdu HEX | disconnect leave|reset.
const PCSC_CLIENT: &str = r#"
import ctypes, sys
lib = ctypes.CDLL("libpcsclite.so.1")
L, D = ctypes.c_long, ctypes.c_ulong
class IO(ctypes.Structure):
    _fields_ = [("proto", D), ("len", D)]
ctx, card, proto = L(), L(), D()
def check(rv):
    rv &= 0xFFFFFFFF
    if rv:
        raise RuntimeError("0x%08X" % rv)
check(lib.SCardEstablishContext(D(2), None, None, ctypes.byref(ctx)))
for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    out = ""
    try:
        cmd, arg = words[0], (words[1:] + [""])[0]
        if cmd == "connect":
            check(lib.SCardConnect(ctx, " ".join(words[1:]).encode(), D(2), D(3), ctypes.byref(card), ctypes.byref(proto)))
        elif cmd == "lock":
            check(lib.SCardBeginTransaction(card))
        elif cmd == "reset":
            check(lib.SCardReconnect(card, D(2), D(3), D(1), ctypes.byref(proto)))
        elif cmd == "unlock":
            check(lib.SCardEndTransaction(card, D(0)))
        elif cmd == "apdu":
            send = bytes.fromhex(arg)
            buf = ctypes.create_string_buffer(264)
            n = D(264)
            pci = IO(proto.value, ctypes.sizeof(IO))
            check(lib.SCardTransmit(card, ctypes.byref(pci), send, D(len(send)), None, buf, ctypes.byref(n)))
            out = buf.raw[: n.value].hex().upper()
        elif cmd == "disconnect":
            check(lib.SCardDisconnect(card, D(1 if arg == "reset" else 0)))
        else:
            raise RuntimeError("unknown command " + cmd)
        print("ok", out, flush=True)
    except RuntimeError as e:
        print("err", e, flush=True)
"#;

const SELECT_PIV: &str = "00A4040009A00000030800001000";
const VERIFY_STATUS: &str = "00200080";
/// VERIFY with PIN 123456 padded with FF to 8 bytes.
const VERIFY_PIN: &str = "0020008008313233343536FFFF";
const VERIFY_RESET: &str = "0020FF80";

/// Another PC/SC application on the stack's pcscd.
struct OtherApp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl OtherApp {
    fn start(stack: &Stack) -> OtherApp {
        let mut child = Command::new("python3")
            .args(["-c", PCSC_CLIENT])
            .envs(stack.env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (Debian package python3)");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        OtherApp {
            child,
            stdin,
            stdout,
        }
    }

    /// Sends one command and returns the answer line.
    fn ask(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").expect("write to the PC/SC client");
        let mut line = String::new();
        self.stdout
            .read_line(&mut line)
            .expect("read from the PC/SC client");
        assert!(!line.is_empty(), "the PC/SC client exited on {command:?}");
        line.trim().to_owned()
    }

    /// `ask`, which must succeed; returns the data (hex) if any.
    fn must(&mut self, command: &str) -> String {
        let answer = self.ask(command);
        match answer.strip_prefix("ok") {
            Some(data) => data.trim().to_owned(),
            None => panic!("{command}: {answer}"),
        }
    }

    /// The status word of a status-only VERIFY (after SELECT), in its own transaction.
    fn pin_state(&mut self, reader: &str) -> String {
        self.must(&format!("connect {reader}"));
        self.must("lock");
        assert!(self.must(&format!("apdu {SELECT_PIV}")).ends_with("9000"));
        let sw = self.must(&format!("apdu {VERIFY_STATUS}"));
        self.must("unlock");
        self.must("disconnect leave");
        sw
    }
}

impl Drop for OtherApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A distinct challenge nonce (base64 of 32 bytes) per `n`.
fn nonce_n(n: u8) -> String {
    STANDARD.encode([n; 32])
}

fn authenticate_with(host: &mut HostProcess, nonce: &str) -> Value {
    host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce, "pin": DEFAULT_PIN}),
    )
}

fn assert_token(reply: &Value, nonce: &str) {
    verify_token(&reply["result"], ORIGIN, nonce).unwrap_or_else(|e| panic!("{e}: {reply}"));
}

/// Sends a request without waiting for its reply.
fn send(host: &mut HostProcess, id: u64, command: &str, arguments: Value) {
    let frame = json!({"id": id, "command": command, "arguments": arguments});
    host.send_frame(&serde_json::to_vec(&frame).expect("json"));
}

/// The reply with `id`, within `timeout`.
fn reply_to(host: &mut HostProcess, id: u64, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let frame = host
            .read_frame(left)
            .unwrap_or_else(|| panic!("no reply to request {id} within {timeout:?}"));
        if frame["id"] == json!(id) {
            return frame;
        }
    }
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "{what} within {timeout:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn pcscd_stopped_during_an_operation_then_restarted() {
    let mut stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let slow = ServeOptions {
        delay_ms: Some(150),
        ..ServeOptions::default()
    };
    let inserted = stack.insert(&card, &slow);
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_eq!(pin_retries(&mut host), 3);

    let started = Instant::now();
    send(
        &mut host,
        100,
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN}),
    );
    thread::sleep(Duration::from_millis(500));
    stack.stop_pcscd();
    let reply = reply_to(&mut host, 100, Duration::from_secs(20));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the error took {:?}",
        started.elapsed()
    );
    assert_eq!(code(&reply), "ERR_PCSC_UNAVAILABLE", "{reply}");
    assert!(reply["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    // While it is down, every request says so.
    let reply = host.command("pin-status", json!({}));
    assert_eq!(code(&reply), "ERR_PCSC_UNAVAILABLE", "{reply}");

    stack.start_pcscd().expect("pcscd restarts");
    inserted.wait(true).expect("the card is back");
    // The same host (the browser's port stays open) serves the next request.
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_token(&reply, &nonce());
    assert_eq!(pin_retries(&mut host), 3, "no PIN try spent by the fault");
    assert!(host.wait().success());
}

#[test]
fn host_killed_after_verify_leaves_no_verified_pin() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let slow = ServeOptions {
        delay_ms: Some(300),
        extra_args: vec!["--trace".into()],
        ..ServeOptions::default()
    };
    let inserted = stack.insert(&card, &slow);
    let reader = inserted.reader().to_owned();
    let mut other = OtherApp::start(&stack);

    // The probe sees a verified PIN where there is one: VERIFY, leave the card without a
    // reset, and a new connection still finds it verified (the card keeps its state).
    other.must(&format!("connect {reader}"));
    other.must("lock");
    assert!(other.must(&format!("apdu {SELECT_PIV}")).ends_with("9000"));
    assert_eq!(other.must(&format!("apdu {VERIFY_PIN}")), "9000");
    other.must("unlock");
    other.must("disconnect leave");
    assert_eq!(
        other.pin_state(&reader),
        "9000",
        "the probe must see a verified PIN"
    );
    other.must(&format!("connect {reader}"));
    other.must("lock");
    other.must(&format!("apdu {SELECT_PIV}"));
    assert_eq!(other.must(&format!("apdu {VERIFY_RESET}")), "9000");
    other.must("unlock");
    other.must("disconnect leave");
    assert_eq!(other.pin_state(&reader), "63C3");

    // The host is killed while the card signs, after its VERIFY succeeded.
    let mut host = HostProcess::spawn(&stack, &[]);
    let verifies = |log: &str| log.matches("> 0020008008").count();
    let before = verifies(&inserted.log_text());
    send(
        &mut host,
        1,
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN}),
    );
    wait_until("the host's VERIFY", Duration::from_secs(30), || {
        verifies(&inserted.log_text()) > before
    });
    let log = inserted.log_text();
    let verify_answer = log[log.rfind("> 0020008008").expect("VERIFY")..]
        .lines()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    assert!(verify_answer.ends_with("< 9000"), "{verify_answer}");
    drop(host); // SIGKILL, mid-operation

    // An independent client: the PIN is not verified (pcscd reset the card of the dead
    // client), and no try was spent.
    assert_eq!(other.pin_state(&reader), "63C3", "{}", inserted.log_text());
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_eq!(pin_retries(&mut host), 3);
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_token(&reply, &nonce());
    assert!(host.wait().success());
}

#[test]
fn card_reset_by_another_application_is_reconnected_and_the_operation_completes() {
    // Two cards: the host reads card A, keeps its handle open while it checks card B, then
    // signs on A. Another application resets A in between, while B is held by a third: the
    // host's next transaction on A finds the handle reset (SCARD_W_RESET_CARD), reconnects and
    // runs the operation again from the start.
    let stack = Stack::start().expect("stack");
    let card_a = stack.new_card("p256");
    let card_b = stack.new_card("p384");
    let a = stack.insert(&card_a, &ServeOptions::default());
    let b = stack.insert(
        &card_b,
        &ServeOptions {
            slot: 1,
            ..ServeOptions::default()
        },
    );
    let mut host = HostProcess::spawn(&stack, &[]);
    let certificates = host.command("certificates", json!({}));
    let cert_of = |slot: &str| {
        certificates["result"]["certificates"]
            .as_array()
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["slot"] == json!(slot) && c["reader"] == json!(a.reader()))
            })
            .map(|c| c["certificate"].clone())
            .unwrap_or_else(|| panic!("no {slot} certificate in {}: {certificates}", a.reader()))
    };
    let (cert_a, signing_a) = (cert_of("9A"), cert_of("9C"));

    let mut holder = OtherApp::start(&stack);
    let mut resetter = OtherApp::start(&stack);
    let mut resets = 0;
    for (id, command) in [(1u64, "authenticate"), (2, "pin-status"), (3, "sign")] {
        let nonce = nonce_n(id as u8);
        let hash = STANDARD.encode([7u8; 32]);
        let arguments = match command {
            "authenticate" => json!({"origin": ORIGIN, "challengeNonce": nonce, "pin": DEFAULT_PIN,
                                     "certificate": cert_a}),
            "pin-status" => json!({ "certificate": cert_a }),
            _ => json!({"origin": ORIGIN, "hash": hash, "hashFunction": "SHA-256",
                        "certificate": signing_a, "pin": DEFAULT_PIN}),
        };
        holder.must(&format!("connect {}", b.reader()));
        holder.must("lock");
        send(&mut host, id, command, arguments);
        // The host has read A and waits for B.
        thread::sleep(Duration::from_millis(400));
        assert_eq!(
            host.read_frame(Duration::from_millis(10)),
            None,
            "{command}: waits for B"
        );
        resetter.must(&format!("connect {}", a.reader()));
        resetter.must("reset");
        resets += 1;
        resetter.must("disconnect leave");
        holder.must("unlock");
        holder.must("disconnect leave");
        let reply = reply_to(&mut host, id, Duration::from_secs(20));
        match command {
            "authenticate" => {
                assert_token(&reply, &nonce);
                assert_eq!(reply["result"]["unverifiedCertificate"], cert_a);
            }
            "pin-status" => assert_eq!(reply["result"], json!({"pinRetriesLeft": 3}), "{reply}"),
            _ => assert!(reply["result"]["signature"].is_string(), "{reply}"),
        }
    }
    let log = host.log_text();
    assert_eq!(
        log.matches("was reset; reconnecting").count(),
        resets,
        "the reconnect path ran once per reset:\n{log}"
    );
    // The next request runs normally, and no PIN was left verified on A.
    let nonce = nonce_n(9);
    let reply = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce, "pin": DEFAULT_PIN, "certificate": cert_a}),
    );
    assert_token(&reply, &nonce);
    assert_eq!(resetter.pin_state(a.reader()), "63C3");
    assert!(host.wait().success());
}

#[test]
fn two_hosts_on_one_card_never_get_a_wrong_answer() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    // A little slow, so the two hosts' operations overlap.
    let slow = ServeOptions {
        delay_ms: Some(5),
        ..ServeOptions::default()
    };
    let _inserted = stack.insert(&card, &slow);
    let mut hosts = [
        HostProcess::spawn(&stack, &[]),
        HostProcess::spawn(&stack, &[]),
    ];
    let rounds = 12u8;
    let outcomes: Vec<Vec<(String, Value)>> = thread::scope(|s| {
        let workers: Vec<_> = hosts
            .iter_mut()
            .enumerate()
            .map(|(h, host)| {
                s.spawn(move || {
                    (0..rounds)
                        .map(|r| {
                            let nonce = nonce_n(h as u8 * 100 + r);
                            let reply = if r % 3 == 2 {
                                host.command("pin-status", json!({}))
                            } else {
                                authenticate_with(host, &nonce)
                            };
                            (nonce, reply)
                        })
                        .collect()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    let mut busy = 0;
    for (h, outcome) in outcomes.iter().enumerate() {
        for (nonce, reply) in outcome {
            if code(reply) == "ERR_CARD_BUSY" {
                busy += 1;
                continue;
            }
            if reply["result"].get("pinRetriesLeft").is_some() {
                assert_eq!(
                    reply["result"],
                    json!({"pinRetriesLeft": 3}),
                    "host {h}: {reply}"
                );
            } else {
                // Each token is for this host's own nonce: no answer crossed over.
                assert_token(reply, nonce);
            }
        }
    }
    assert!(
        busy < usize::from(rounds),
        "{busy} of {} requests busy",
        2 * rounds
    );
    // The hosts really ran at once: some request of one started while one of the other ran.
    let spans: Vec<Vec<(u64, u64)>> = hosts.iter().map(|h| request_spans(&h.log_text())).collect();
    assert!(
        spans[0]
            .iter()
            .any(|a| spans[1].iter().any(|b| a.0 < b.1 && b.0 < a.1)),
        "no overlap: {spans:?}"
    );
    for (h, host) in hosts.iter_mut().enumerate() {
        let nonce = nonce_n(200 + h as u8);
        assert_token(&authenticate_with(host, &nonce), &nonce);
        assert_eq!(pin_retries(host), 3);
    }
    for host in &mut hosts {
        assert!(host.wait().success());
    }
}

/// (start, end) in ms of the day of each request in a host log (`request N: <command>` …
/// `request N: ok in` / `ERR_… in`).
fn request_spans(log: &str) -> Vec<(u64, u64)> {
    let time = |line: &str| -> Option<u64> {
        let t = line.get(11..23)?; // HH:MM:SS.mmm
        let h: u64 = t.get(0..2)?.parse().ok()?;
        let m: u64 = t.get(3..5)?.parse().ok()?;
        let s: u64 = t.get(6..8)?.parse().ok()?;
        let ms: u64 = t.get(9..12)?.parse().ok()?;
        Some(((h * 60 + m) * 60 + s) * 1000 + ms)
    };
    let mut open = std::collections::HashMap::new();
    let mut spans = Vec::new();
    for line in log.lines() {
        let Some(rest) = line.split("dispatch: request ").nth(1) else {
            continue;
        };
        let Some((id, what)) = rest.split_once(": ") else {
            continue;
        };
        let Some(at) = time(line) else { continue };
        if what.contains(" in ") {
            if let Some(start) = open.remove(id) {
                spans.push((start, at));
            }
        } else {
            open.insert(id.to_owned(), at);
        }
    }
    spans
}
