//! vpcd client: connects to vsmartcard's vpcd reader driver (inside pcscd) and answers its
//! requests with a [`VirtualCard`], optionally misbehaving on purpose.
//!
//! Framing: 2-byte big-endian length + payload. A 1-byte payload is a control (00 power off,
//! 01 power on, 02 reset, 04 send ATR); anything longer is a command APDU.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::linux::net::TcpStreamExt;
use std::thread;
use std::time::Duration;

use crate::card::VirtualCard;

/// Largest APDU accepted from vpcd (extended length with a few KiB of data); a longer frame
/// is a broken peer, not a card command, and is refused before allocating it.
pub const MAX_APDU: usize = 4096 + 9;
const RECONNECT_DELAY: Duration = Duration::from_millis(100);

/// How `serve` should (mis)behave.
#[derive(Debug, Clone, Default)]
pub struct ServeOptions {
    pub host: String,
    pub port: u16,
    /// Answer each APDU this late.
    pub delay: Option<Duration>,
    /// Answer these INS bytes with these status words instead of running them.
    pub fail: Vec<(u8, u16)>,
    /// Drop the connection without answering the Nth APDU, then stop (card pulled mid-command).
    pub vanish_after: Option<u64>,
    /// Stop when vpcd closes the connection instead of reconnecting.
    pub once: bool,
    /// Log every APDU and answer to stderr (PIN, PUK and management-key data redacted).
    pub trace: bool,
}

/// Why a connection ended.
#[derive(Debug)]
enum End {
    /// vpcd closed it (or it broke): reconnect unless `once`.
    Closed(io::Error),
    /// `vanish_after` fired: stop serving altogether.
    Vanished,
}

/// Serves `card` until killed (or per `once`/`vanish_after`).
pub fn serve(card: &mut VirtualCard, options: &ServeOptions) -> io::Result<()> {
    let mut apdus_seen = 0u64;
    let mut announced = false;
    loop {
        match TcpStream::connect((options.host.as_str(), options.port)) {
            Ok(stream) => {
                eprintln!(
                    "carecard-vcard: connected to vpcd at {}:{}",
                    options.host, options.port
                );
                announced = false;
                card.reset();
                match serve_connection(card, stream, options, &mut apdus_seen) {
                    End::Vanished => {
                        eprintln!("carecard-vcard: vanished after {apdus_seen} APDUs");
                        return Ok(());
                    }
                    End::Closed(e) => {
                        eprintln!("carecard-vcard: connection closed: {e}");
                        if options.once {
                            return Ok(());
                        }
                    }
                }
            }
            Err(e) => {
                if options.once {
                    return Err(e);
                }
                if !announced {
                    eprintln!(
                        "carecard-vcard: waiting for vpcd at {}:{} ({e})",
                        options.host, options.port
                    );
                    announced = true;
                }
            }
        }
        thread::sleep(RECONNECT_DELAY);
    }
}

fn serve_connection(
    card: &mut VirtualCard,
    mut stream: TcpStream,
    options: &ServeOptions,
    apdus_seen: &mut u64,
) -> End {
    if let Err(e) = stream.set_nodelay(true) {
        return End::Closed(e);
    }
    loop {
        let payload = match receive(&mut stream) {
            Ok(p) => p,
            Err(e) => return End::Closed(e),
        };
        let answer = match payload.as_slice() {
            [control] => control_answer(card, *control),
            apdu => {
                *apdus_seen += 1;
                if options.vanish_after == Some(*apdus_seen) {
                    let _ = stream.shutdown(std::net::Shutdown::Both);
                    return End::Vanished;
                }
                Some(apdu_answer(card, apdu, options))
            }
        };
        if let Some(answer) = answer {
            if let Err(e) = send(&mut stream, &answer) {
                return End::Closed(e);
            }
        }
    }
}

fn control_answer(card: &mut VirtualCard, control: u8) -> Option<Vec<u8>> {
    match control {
        0x00..=0x02 => {
            card.reset();
            None
        }
        0x04 => Some(card.atr().to_vec()),
        other => {
            eprintln!("carecard-vcard: ignoring unknown vpcd control {other:#04x}");
            None
        }
    }
}

fn apdu_answer(card: &mut VirtualCard, apdu: &[u8], options: &ServeOptions) -> Vec<u8> {
    if let Some(delay) = options.delay {
        thread::sleep(delay);
    }
    let ins = apdu.get(1).copied();
    let answer = match options.fail.iter().find(|(i, _)| Some(*i) == ins) {
        Some((_, sw)) => sw.to_be_bytes().to_vec(),
        None => card.process(apdu),
    };
    if options.trace {
        eprintln!("carecard-vcard: > {}", redacted(apdu));
        eprintln!("carecard-vcard: < {}", abbreviated(&answer));
    }
    answer
}

/// The APDU for the log: header and length only when its data may hold a PIN, a PUK or a
/// management-key cryptogram (VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER, 9B).
fn redacted(apdu: &[u8]) -> String {
    let secret = matches!(apdu, [_, 0x20 | 0x24 | 0x2C, ..] | [_, 0x87, _, 0x9B, ..]);
    if secret && apdu.len() > 5 {
        format!(
            "{} <{} bytes redacted>",
            crate::hex::encode(&apdu[..5]),
            apdu.len() - 5
        )
    } else {
        abbreviated(apdu)
    }
}

fn abbreviated(bytes: &[u8]) -> String {
    const SHOWN: usize = 48;
    if bytes.len() <= SHOWN + 2 {
        return crate::hex::encode(bytes);
    }
    format!(
        "{}… ({} bytes) …{}",
        crate::hex::encode(&bytes[..SHOWN]),
        bytes.len(),
        crate::hex::encode(&bytes[bytes.len() - 2..])
    )
}

/// One frame from vpcd. TCP_QUICKACK is re-armed before every read: Linux clears it after
/// an ACK, and without it every APDU waits for the delayed-ACK timer (about 40 ms).
fn receive(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    stream.set_quickack(true)?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len)?;
    let len = usize::from(u16::from_be_bytes(len));
    if len > MAX_APDU {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("vpcd sent a {len}-byte frame (limit {MAX_APDU})"),
        ));
    }
    let mut payload = vec![0u8; len];
    stream.set_quickack(true)?;
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn send(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "answer too long for vpcd"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}
