//! The PC/SC backend against a real pcscd with the virtual card behind vpcd.
//!
//! pcsc-lite reads `PCSCLITE_CSOCK_NAME` once per process, so each scenario runs in a child
//! process (this same executable, told which scenario by an environment variable) started with
//! the stack's environment. Needs the workspace binaries: `cargo build --workspace --bins`.

#![allow(clippy::print_stdout)] // the harness-less test reports like libtest does

use carecard_card::management::PublicKey;
use carecard_card::signing::{sign_digest, HashAlgorithm};
use carecard_card::{tlv, Algorithm, CardError, Pcsc, PinStatus, Slot};
use carecard_testkit::{ServeOptions, Stack};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = "CARECARD_CARD_TEST_SCENARIO";
const READER: &str = "Virtual PCD 00 00";
const EMPTY_READER: &str = "Virtual PCD 00 01";

type Outcome = Result<(), String>;

fn check(condition: bool, what: impl Into<String>) -> Outcome {
    if condition {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn err(e: CardError) -> String {
    format!("{e:?}")
}

/// Readers, certificates, PIN handling and an ECDSA signature through pcscd.
fn ecdsa_card() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let readers = pcsc.readers().map_err(err)?;
    let with_card = readers.iter().find(|r| r.name == READER);
    check(
        with_card.is_some_and(|r| r.atr.as_ref().is_some_and(|a| a.first() == Some(&0x3B))),
        format!("reader with card and ATR: {readers:?}"),
    )?;
    let empty = readers.iter().find(|r| r.name == EMPTY_READER);
    check(
        empty.is_some_and(|r| r.atr.is_none()),
        format!("empty reader: {readers:?}"),
    )?;

    let mut card = pcsc.connect(READER).map_err(err)?;
    let (status, certificate) = card
        .transaction(|piv| {
            Ok((
                piv.pin_status()?,
                piv.read_certificate(Slot::Authentication)?,
            ))
        })
        .map_err(err)?;
    check(
        status == PinStatus::RetriesLeft(3),
        format!("fresh PIN state {status:?}"),
    )?;
    check(
        certificate.is_some_and(|c| c.first() == Some(&0x30)),
        "9A certificate is DER",
    )?;

    let wrong = card.transaction(|piv| piv.verify_pin(b"000000"));
    check(
        wrong == Err(CardError::PinIncorrect { retries_left: 2 }),
        format!("wrong PIN: {wrong:?}"),
    )?;

    let digest = [0x5Au8; 32];
    let signature = card
        .transaction(|piv| {
            piv.verify_pin(b"123456")?;
            sign_digest(
                piv,
                Slot::Authentication,
                Algorithm::EccP256,
                HashAlgorithm::Sha256,
                &digest,
            )
        })
        .map_err(err)?;
    check(
        signature.len() == 64,
        format!("raw P-256 signature of {} bytes", signature.len()),
    )?;

    // The next operation must not find the PIN still verified.
    let after = card.transaction(|piv| piv.pin_status()).map_err(err)?;
    check(
        after == PinStatus::RetriesLeft(3),
        format!("PIN state after signing {after:?}"),
    )?;
    let refused = card.transaction(|piv| {
        piv.general_authenticate(Slot::Authentication, Algorithm::EccP256, &digest)
    });
    check(
        refused == Err(CardError::SecurityStatusNotSatisfied),
        format!("signing without a PIN: {refused:?}"),
    )
}

/// Another application resets the card: the next transaction reconnects and succeeds.
fn reset_by_another_application() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut card = pcsc.connect(READER).map_err(err)?;
    card.transaction(|piv| piv.pin_status()).map_err(err)?;

    let context = pcsc::Context::establish(pcsc::Scope::User).map_err(|e| e.to_string())?;
    let name = std::ffi::CString::new(READER).map_err(|e| e.to_string())?;
    let mut other = context
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .map_err(|e| e.to_string())?;
    other
        .reconnect(
            pcsc::ShareMode::Shared,
            pcsc::Protocols::ANY,
            pcsc::Disposition::ResetCard,
        )
        .map_err(|e| e.to_string())?;

    let status = card.transaction(|piv| piv.pin_status());
    check(
        status == Ok(PinStatus::RetriesLeft(3)),
        format!("after reset: {status:?}"),
    )?;
    let busy = context.connect(&name, pcsc::ShareMode::Exclusive, pcsc::Protocols::ANY);
    check(
        matches!(busy, Err(pcsc::Error::SharingViolation)),
        "exclusive connect while shared",
    )?;
    check(
        pcsc.connect(EMPTY_READER).err() == Some(CardError::NoCard),
        "connecting to an empty reader",
    )
}

/// RSA-2048: the 266-byte GENERAL AUTHENTICATE is chained, the answer fetched with GET RESPONSE.
fn rsa_card() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut card = pcsc.connect(READER).map_err(err)?;
    let digest = [0x11u8; 48];
    let signature = card
        .transaction(|piv| {
            piv.verify_pin(b"123456")?;
            sign_digest(
                piv,
                Slot::Authentication,
                Algorithm::Rsa2048,
                HashAlgorithm::Sha384,
                &digest,
            )
        })
        .map_err(err)?;
    check(
        signature.len() == 256,
        format!("RSA signature of {} bytes", signature.len()),
    )
}

/// The card disappears after a few APDUs: a clear CardRemoved/NoCard, not a hang or panic.
fn card_vanishes() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut card = pcsc.connect(READER).map_err(err)?;
    let result = card.transaction(|piv| {
        for _ in 0..10 {
            piv.read_certificate(Slot::Authentication)?;
        }
        Ok(())
    });
    check(
        matches!(result, Err(CardError::CardRemoved | CardError::NoCard)),
        format!("vanished card: {result:?}"),
    )
}

/// The watcher reports the current readers first, then nothing, then the card's removal
/// (the parent removes it about two seconds after starting this scenario).
fn watch_sees_removal() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut watcher = pcsc.watcher();
    let first = watcher.wait(Duration::from_secs(5)).map_err(err)?;
    let has_card = |readers: &[carecard_card::ReaderInfo]| {
        readers.iter().any(|r| r.name == READER && r.atr.is_some())
    };
    check(
        first.as_deref().is_some_and(has_card),
        format!("first snapshot: {first:?}"),
    )?;
    let quiet = watcher.wait(Duration::from_millis(200)).map_err(err)?;
    check(quiet.is_none(), format!("no change expected: {quiet:?}"))?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(15) {
        if let Some(readers) = watcher.wait(Duration::from_secs(1)).map_err(err)? {
            if !has_card(&readers) {
                return check(
                    readers.iter().any(|r| r.name == READER),
                    "the reader is still listed",
                );
            }
        }
    }
    Err("removal not reported within 15 s".into())
}

/// pcscd stops while the watcher waits (the parent stops it about two seconds in): the
/// watcher reports the service gone rather than hanging or spinning.
fn watch_sees_service_stop() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut watcher = pcsc.watcher();
    watcher.wait(Duration::from_secs(5)).map_err(err)?;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        match watcher.wait(Duration::from_secs(1)) {
            Ok(_) => {}
            Err(CardError::PcscUnavailable) => return Ok(()),
            Err(e) => return Err(format!("unexpected error {e:?}")),
        }
    }
    Err("service stop not reported within 20 s".into())
}

/// 3DES with the virtual card's default management key, as the card-management server would
/// compute it; here only to drive the relay.
#[allow(deprecated)] // cipher 0.4 takes generic-array 0.14 blocks
fn decrypt_3des(block: &[u8]) -> Result<Vec<u8>, String> {
    use des::cipher::{generic_array::GenericArray, BlockDecrypt, KeyInit};
    const KEY: [u8; 24] = [
        1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8, 1, 2, 3, 4, 5, 6, 7, 8,
    ];
    if block.len() != 8 {
        return Err(format!("3DES block of {} bytes", block.len()));
    }
    let cipher = des::TdesEde3::new_from_slice(&KEY).map_err(|e| e.to_string())?;
    let mut out = block.to_vec();
    cipher.decrypt_block(GenericArray::from_mut_slice(&mut out));
    Ok(out)
}

/// Relayed 9B mutual authentication, then a new key and its certificate written back.
fn card_management() -> Outcome {
    let pcsc = Pcsc::establish().map_err(err)?;
    let mut card = pcsc.connect(READER).map_err(err)?;
    let result = card.transaction(|piv| {
        let certificate = piv
            .read_certificate(Slot::Authentication)?
            .ok_or(CardError::ObjectNotFound)?;
        let generate = piv.generate_key_pair(Slot::Authentication, Algorithm::EccP256);
        if generate != Err(CardError::SecurityStatusNotSatisfied) {
            return Err(CardError::Pcsc(format!("GENERATE before 9B: {generate:?}")));
        }
        let witness = piv.management_authenticate(0x03, &[0x80, 0x00])?;
        let encrypted = tlv::find(&witness, 0x80)
            .ok()
            .flatten()
            .ok_or_else(|| CardError::Pcsc("no witness".into()))?;
        let plain = decrypt_3des(encrypted).map_err(CardError::Pcsc)?;
        let mut step2 = tlv::encode(0x80, &plain);
        tlv::encode_into(&mut step2, 0x81, &[0x42; 8]);
        let answer = piv.management_authenticate(0x03, &step2)?;
        let encrypted_challenge = tlv::find(&answer, 0x82)
            .ok()
            .flatten()
            .ok_or_else(|| CardError::Pcsc("no challenge response".into()))?;
        if decrypt_3des(encrypted_challenge).map_err(CardError::Pcsc)? != [0x42; 8] {
            return Err(CardError::Pcsc("card did not prove the key".into()));
        }
        let key = piv.generate_key_pair(Slot::Authentication, Algorithm::EccP256)?;
        piv.write_certificate(Slot::Authentication, &certificate)?;
        let read_back = piv.read_certificate(Slot::Authentication)?;
        Ok((key, read_back == Some(certificate)))
    });
    match result {
        Ok((PublicKey::Ec { point }, true)) => check(
            point.len() == 65 && point[0] == 4,
            "uncompressed P-256 point",
        ),
        other => Err(format!("card management: {other:?}")),
    }
}

type Scenario = fn() -> Outcome;

fn scenarios() -> Vec<(&'static str, Scenario)> {
    vec![
        ("ecdsa_card", ecdsa_card),
        ("reset_by_another_application", reset_by_another_application),
        ("rsa_card", rsa_card),
        ("card_vanishes", card_vanishes),
        ("watch_sees_removal", watch_sees_removal),
        ("watch_sees_service_stop", watch_sees_service_stop),
        ("card_management", card_management),
    ]
}

/// Parent side: the stack and card each scenario runs against.
fn run_scenario(name: &str) -> Outcome {
    let mut stack = Stack::start().map_err(|e| format!("stack: {e}"))?;
    let (profile, options) = match name {
        "rsa_card" => ("rsa2048", ServeOptions::default()),
        "card_vanishes" => (
            "p256",
            ServeOptions {
                vanish_after: Some(6),
                ..ServeOptions::default()
            },
        ),
        _ => ("p256", ServeOptions::default()),
    };
    let card_dir = stack.new_card(profile);
    let inserted = stack.insert(&card_dir, &options);
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .env(SCENARIO, name)
        .envs(stack.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    match name {
        "watch_sees_removal" => {
            std::thread::sleep(Duration::from_secs(2));
            inserted.remove();
        }
        "watch_sees_service_stop" => {
            std::thread::sleep(Duration::from_secs(2));
            stack.stop_pcscd();
        }
        _ => {}
    }
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    check(
        output.status.success(),
        format!(
            "child failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn main() -> ExitCode {
    if let Ok(name) = std::env::var(SCENARIO) {
        let Some((_, scenario)) = scenarios().into_iter().find(|(n, _)| *n == name) else {
            println!("unknown scenario {name}");
            return ExitCode::FAILURE;
        };
        return match scenario() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                println!("{e}");
                ExitCode::FAILURE
            }
        };
    }
    // Arguments that are not flags filter scenarios by name, as libtest does.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    for (name, _) in scenarios() {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match run_scenario(name) {
            Ok(()) => println!("test {name} ... ok"),
            Err(e) => {
                failed += 1;
                println!("test {name} ... FAILED\n{e}");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
