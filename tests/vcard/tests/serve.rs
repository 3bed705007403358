//! `carecard-vcard serve` against a stand-in vpcd (a TCP listener in the test): framing,
//! controls, reconnection, and the misbehaviour flags the host's tests rely on.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use carecard_vcard::{objects::ATR, CardProfile};

const SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xA0, 0x00, 0x00, 0x03, 0x08, 0x00, 0x00, 0x10, 0x00, 0x00,
];
const VERIFY_STATUS: [u8; 4] = [0x00, 0x20, 0x00, 0x80];

/// A served card and the vpcd side of its connection; the server is killed on drop.
struct Served {
    child: Child,
    vpcd: TcpStream,
    listener: TcpListener,
    _dir: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(flags: &[&str]) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    carecard_vcard::init(dir.path(), CardProfile::P256, &Default::default()).expect("init");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_carecard-vcard"))
        .arg("serve")
        .arg("--state")
        .arg(dir.path().join("card.json"))
        .args(["--port", &port])
        .args(flags)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn carecard-vcard serve");
    let vpcd = match accept(&listener) {
        Ok(vpcd) => vpcd,
        Err(message) => {
            // Never leave a reconnecting server behind a failed test.
            let _ = child.kill();
            let _ = child.wait();
            panic!("{message}");
        }
    };
    Served {
        child,
        vpcd,
        listener,
        _dir: dir,
    }
}

/// Waits up to 10 s for the card to connect (a card that never does fails the test rather
/// than hanging it).
fn accept(listener: &TcpListener) -> Result<TcpStream, String> {
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() > deadline {
                    return Err("the card did not connect within 10 s".into());
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(format!("accept: {e}")),
        }
    };
    stream.set_nonblocking(false).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    Ok(stream)
}

fn send(stream: &mut TcpStream, payload: &[u8]) {
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    stream.write_all(&frame).expect("send frame");
}

fn receive(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn transmit(stream: &mut TcpStream, apdu: &[u8]) -> Vec<u8> {
    send(stream, apdu);
    receive(stream).expect("answer")
}

fn sw(response: &[u8]) -> u16 {
    let n = response.len();
    u16::from_be_bytes([response[n - 2], response[n - 1]])
}

#[test]
fn answers_controls_and_apdus() {
    let mut served = serve(&[]);
    let vpcd = &mut served.vpcd;
    send(vpcd, &[0x01]); // power on: no answer
    send(vpcd, &[0x04]);
    assert_eq!(receive(vpcd).expect("ATR"), ATR);
    assert_eq!(sw(&transmit(vpcd, &SELECT)), 0x9000);
    assert_eq!(sw(&transmit(vpcd, &VERIFY_STATUS)), 0x63C3);
    // Power cycling drops the selection.
    send(vpcd, &[0x00]);
    send(vpcd, &[0x01]);
    assert_eq!(sw(&transmit(vpcd, &VERIFY_STATUS)), 0x6D00);
}

#[test]
fn reconnects_when_vpcd_goes_away() {
    let mut served = serve(&[]);
    assert_eq!(sw(&transmit(&mut served.vpcd, &SELECT)), 0x9000);
    served
        .vpcd
        .shutdown(std::net::Shutdown::Both)
        .expect("close");
    let mut again = accept(&served.listener).expect("card reconnects");
    assert_eq!(sw(&transmit(&mut again, &SELECT)), 0x9000);
}

#[test]
fn fail_rule_answers_that_instruction_with_the_status_word() {
    let mut served = serve(&["--fail", "20=6F00"]);
    let vpcd = &mut served.vpcd;
    assert!(transmit(vpcd, &SELECT).len() > 2);
    assert_eq!(transmit(vpcd, &VERIFY_STATUS), vec![0x6F, 0x00]);
}

#[test]
fn delay_makes_every_answer_late() {
    let mut served = serve(&["--delay-ms", "300"]);
    let start = Instant::now();
    assert_eq!(sw(&transmit(&mut served.vpcd, &SELECT)), 0x9000);
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[test]
fn vanish_drops_the_connection_at_the_nth_apdu_and_exits() {
    let mut served = serve(&["--vanish-after", "2"]);
    assert_eq!(sw(&transmit(&mut served.vpcd, &SELECT)), 0x9000);
    send(&mut served.vpcd, &VERIFY_STATUS);
    let answer = receive(&mut served.vpcd);
    assert!(answer.is_err(), "answered {answer:02X?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = served.child.try_wait().expect("wait") {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "server still running after vanishing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn oversized_frames_are_refused_without_an_answer() {
    let mut served = serve(&["--once"]);
    let vpcd = &mut served.vpcd;
    // Claim 60000 bytes: the card must hang up rather than wait for (and allocate) them.
    vpcd.write_all(&60000u16.to_be_bytes())
        .expect("send length");
    assert!(receive(vpcd).is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while served.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "--once server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn trace_logs_apdus_but_never_the_pin() {
    let mut served = serve(&["--trace", "--once"]);
    let vpcd = &mut served.vpcd;
    assert_eq!(sw(&transmit(vpcd, &SELECT)), 0x9000);
    let verify = [
        0, 0x20, 0, 0x80, 8, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF,
    ];
    assert_eq!(sw(&transmit(vpcd, &verify)), 0x9000);
    vpcd.shutdown(std::net::Shutdown::Both).expect("close");
    let output = std::mem::replace(
        &mut served.child,
        Command::new("true").spawn().expect("true"),
    )
    .wait_with_output()
    .expect("server output");
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(log.contains("> 00A4040009A0000003080000100000"), "{log}");
    assert!(log.contains("> 0020008008 <8 bytes redacted>"), "{log}");
    assert!(!log.contains("313233343536"), "PIN in the log: {log}");
}
