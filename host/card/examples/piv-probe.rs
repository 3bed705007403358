//! `piv-probe`: exercises the PC/SC backend against whatever readers PC/SC shows — for
//! checking a real card or the virtual card behind vpcd by hand.
//!
//! ```text
//! piv-probe                 list readers, and for each card: PIN state and certificate sizes
//! CARECARD_PROBE_PIN=123456 piv-probe --sign
//!                           also VERIFY and sign a fixed SHA-256 digest with the 9A key
//! ```
//! The PIN comes from the environment so it is not in the process list; use a test card.

#![allow(clippy::print_stdout)] // a tool for a person: its report goes to stdout

use carecard_card::signing::{sign_digest, HashAlgorithm};
use carecard_card::{Algorithm, CardError, Pcsc, Slot};
use std::process::ExitCode;
use zeroize::Zeroizing;

fn main() -> ExitCode {
    let sign = std::env::args().any(|a| a == "--sign");
    match run(sign) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("piv-probe: {e}"); // stdout-ok: a command-line probe, not the host
            ExitCode::FAILURE
        }
    }
}

fn run(sign: bool) -> Result<(), CardError> {
    let pcsc = Pcsc::establish()?;
    let readers = pcsc.readers()?;
    if readers.is_empty() {
        println!("no readers"); // stdout-ok: a command-line probe, not the host
    }
    for reader in readers {
        let Some(atr) = &reader.atr else {
            println!("{}: no card", reader.name); // stdout-ok: a command-line probe, not the host
            continue;
        };
        println!("{}: card, ATR {}", reader.name, hex(atr)); // stdout-ok: a command-line probe, not the host
        let mut card = pcsc.connect(&reader.name)?;
        let report = card.transaction(|piv| {
            let pin = piv.pin_status()?;
            let auth = piv.read_certificate(Slot::Authentication)?;
            let signature = piv.read_certificate(Slot::Signature)?;
            Ok((pin, auth.map(|c| c.len()), signature.map(|c| c.len())))
        });
        match report {
            Ok((pin, auth, signature)) => {
                // The PIN's status (retries), never a PIN.
                let line = format!(
                    "PIN: {pin:?}; 9A certificate: {auth:?} bytes; 9C: {signature:?} bytes"
                );
                println!("  {line}"); // stdout-ok: a command-line probe, not the host
            }
            Err(e) => println!("  {e}"), // stdout-ok: a command-line probe, not the host
        }
        if sign {
            sign_with_9a(&mut card)?;
        }
    }
    Ok(())
}

fn sign_with_9a(card: &mut carecard_card::PcscCard) -> Result<(), CardError> {
    let pin = Zeroizing::new(std::env::var("CARECARD_PROBE_PIN").unwrap_or_default());
    let digest = [0x42u8; 32];
    for algorithm in [Algorithm::EccP256, Algorithm::EccP384, Algorithm::Rsa2048] {
        let result = card.transaction(|piv| {
            piv.verify_pin(pin.as_bytes())?;
            sign_digest(
                piv,
                Slot::Authentication,
                algorithm,
                HashAlgorithm::Sha256,
                &digest,
            )
        });
        match result {
            Ok(signature) => {
                println!("  {algorithm:?} signature: {}", hex(&signature)); // stdout-ok: a command-line probe, not the host
                return Ok(());
            }
            // A wrong PIN must not be tried again with the next algorithm.
            Err(e @ (CardError::PinIncorrect { .. } | CardError::PinBlocked)) => return Err(e),
            Err(e) => println!("  {algorithm:?}: {e}"), // stdout-ok: a command-line probe, not the host
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}
