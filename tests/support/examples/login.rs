//! The host-only demo: an isolated PC/SC stack with a fresh virtual card, the real
//! `carecard-host`, and one real `authenticate` as the CIS2 integration site would ask for it.
//! Run through `scripts/demo` (which builds the binaries first).
//!
//! `login [--algorithm rsa2048|p256|p384]`

#![allow(clippy::print_stdout)] // a demo's output is for the person running it

use std::process::ExitCode;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use carecard_mock_cis2::verify::{verify_token, Expected, TrustAnchor, UnverifiedToken};
use carecard_protocol::CertificateSummary;
use carecard_testkit::{HostProcess, ServeOptions, Stack};
use rand::RngCore;
use serde_json::{json, Value};

const ORIGIN: &str = "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk";
const DEFAULT_PIN: &str = "123456";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo failed: {message}");
            ExitCode::FAILURE
        }
    }
}

fn algorithm_arg() -> Result<String, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().position(|a| a == "--algorithm") {
        None => Ok("p256".to_owned()),
        Some(i) => args
            .get(i + 1)
            .cloned()
            .ok_or_else(|| "--algorithm needs a value".to_owned()),
    }
}

fn run() -> Result<(), String> {
    let algorithm = algorithm_arg()?;
    println!("Starting a private pcscd and a virtual {algorithm} card...");
    let stack = Stack::start().map_err(|e| format!("starting pcscd: {e}"))?;
    let card = stack
        .try_new_card(&algorithm, &[])
        .map_err(|e| format!("creating the card: {e}"))?;
    let _inserted = stack
        .try_insert(&card, &ServeOptions::default())
        .map_err(|e| format!("inserting the card: {e}"))?;

    let started = Instant::now();
    let mut host = HostProcess::try_spawn(&stack, &[carecard_testkit::DEV_EXTENSION_ORIGIN], &[])
        .map_err(|e| format!("starting carecard-host: {e}"))?;
    let status = result_of(host.command("status", json!({})))?;
    println!(
        "carecard-host {} sees:",
        status["version"].as_str().unwrap_or("?")
    );
    for reader in status["readers"].as_array().into_iter().flatten() {
        let card = &reader["card"];
        let what = if card.is_null() {
            "no card".to_owned()
        } else {
            format!(
                "card {} ({})",
                card["atr"].as_str().unwrap_or("?"),
                card["application"]
                    .as_str()
                    .unwrap_or("unknown application")
            )
        };
        println!("  {}: {what}", reader["name"].as_str().unwrap_or("?"));
    }

    let mut nonce = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut nonce);
    let challenge = STANDARD.encode(nonce);
    println!("\nAuthenticating to {ORIGIN}\n  challenge nonce {challenge}\n  PIN {DEFAULT_PIN} (the demo card's default)");
    let asked = Instant::now();
    let token = result_of(host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": challenge, "pin": DEFAULT_PIN}),
    ))?;
    let took = asked.elapsed();

    let certificate = token["unverifiedCertificate"]
        .as_str()
        .and_then(|b64| STANDARD.decode(b64).ok())
        .ok_or("the token has no readable certificate")?;
    let who = CertificateSummary::from_der(&certificate)
        .map_err(|e| format!("reading the certificate: {e}"))?;
    let name = match (&who.given_name, &who.surname) {
        (Some(given), Some(family)) => format!("{given} {family}"),
        _ => who.common_name.clone(),
    };
    println!(
        "\nAuthenticated: {name}, user ID {}",
        who.user_id.as_deref().unwrap_or("(none on the card)")
    );
    println!(
        "  algorithm {}, authenticate took {:.1} ms ({:.1} ms since the host started)",
        token["algorithm"].as_str().unwrap_or("?"),
        took.as_secs_f64() * 1e3,
        started.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "\nWeb eID authentication token:\n{}",
        serde_json::to_string_pretty(&token).unwrap_or_default()
    );

    // What the CIS2 server would do with it: the reference verifier, trusting the card's test CA.
    let ca = std::fs::read(&card.ca_der).map_err(|e| format!("reading the test CA: {e}"))?;
    let anchor = TrustAnchor::from_der(&ca).map_err(|e| format!("test CA: {e}"))?;
    let unverified = UnverifiedToken::from_json(&token).map_err(|e| format!("token: {e}"))?;
    let expected = Expected {
        origin: ORIGIN,
        nonce: &challenge,
        earlier_nonces: &[],
    };
    let user = verify_token(
        &unverified,
        &expected,
        &anchor,
        std::time::SystemTime::now(),
    )
    .map_err(|e| format!("the reference verifier rejected the token: {e}"))?;
    println!(
        "\nThe reference server-side verifier (tests/mock-cis2) accepts it: user ID {}, issued by {}",
        user.user_id,
        anchor.subject()
    );

    host.close_stdin();
    let exit = host.wait();
    if !exit.success() {
        return Err(format!("carecard-host exited with {exit}"));
    }
    Ok(())
}

/// The `result` of a reply, or its error as text.
fn result_of(reply: Value) -> Result<Value, String> {
    if let Some(error) = reply.get("error") {
        return Err(format!("the host answered {error}"));
    }
    reply
        .get("result")
        .cloned()
        .ok_or_else(|| format!("reply without a result: {reply}"))
}
