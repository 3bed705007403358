//! `authenticate` through the real binary, a real pcscd and the virtual card; tokens are
//! verified independently with RustCrypto.

mod common;

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::json;

fn token_for(profile: &str, algorithm: &str) {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card(profile);
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = authenticate(&mut host, DEFAULT_PIN);
    let token = &reply["result"];
    assert_eq!(token["algorithm"], json!(algorithm), "{reply}");
    assert!(
        token["appVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("https://")),
        "{reply}"
    );
    verify_token(token, ORIGIN, &nonce())
        .unwrap_or_else(|e| panic!("token does not verify: {e}: {reply}"));
    assert!(
        verify_token(token, OTHER_ORIGIN, &nonce()).is_err(),
        "the token must not verify for another origin"
    );
    assert!(
        verify_token(token, ORIGIN, &"A".repeat(44)).is_err(),
        "nor for another nonce"
    );
    // The certificate argument picks the same card.
    let cert = token["unverifiedCertificate"].clone();
    let again = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN, "certificate": cert}),
    );
    verify_token(&again["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {again}"));
    assert!(host.wait().success());
}

#[test]
fn rsa2048_token_verifies() {
    token_for("rsa2048", "RS256");
}

#[test]
fn p256_token_verifies() {
    token_for("p256", "ES256");
}

#[test]
fn p384_token_verifies() {
    token_for("p384", "ES384");
}

#[test]
fn wrong_pins_count_down_once_each_and_block() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let inserted = stack.insert(
        &card,
        &ServeOptions {
            extra_args: vec!["--trace".into()],
            ..ServeOptions::default()
        },
    );
    let mut host = HostProcess::spawn(&stack, &[]);
    assert_eq!(pin_retries(&mut host), 3);

    // One wrong PIN, then the right one: the counter is back to 3.
    let reply = authenticate(&mut host, WRONG_PIN);
    assert_eq!(code(&reply), "ERR_PIN_INCORRECT", "{reply}");
    assert_eq!(reply["error"]["retriesLeft"], json!(2), "{reply}");
    assert_eq!(pin_retries(&mut host), 2);
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert!(reply["result"]["signature"].is_string(), "{reply}");
    assert_eq!(pin_retries(&mut host), 3);

    // Three wrong ones: 2, 1, blocked; each request cost exactly one try.
    let before = pin_verifies(&inserted.log_text());
    let reply = authenticate(&mut host, WRONG_PIN);
    assert_eq!(
        (
            code(&reply).as_str(),
            reply["error"]["retriesLeft"].as_u64()
        ),
        ("ERR_PIN_INCORRECT", Some(2)),
        "{reply}"
    );
    let reply = authenticate(&mut host, WRONG_PIN);
    assert_eq!(
        (
            code(&reply).as_str(),
            reply["error"]["retriesLeft"].as_u64()
        ),
        ("ERR_PIN_INCORRECT", Some(1)),
        "{reply}"
    );
    assert_eq!(
        pin_retries(&mut host),
        1,
        "pin-status does not use up a try"
    );
    let reply = authenticate(&mut host, WRONG_PIN);
    assert_eq!(code(&reply), "ERR_PIN_BLOCKED", "{reply}");
    assert!(reply["error"]["message"]
        .as_str()
        .is_some_and(|m| !m.is_empty()));
    assert_eq!(
        pin_verifies(&inserted.log_text()) - before,
        3,
        "exactly one VERIFY per request:\n{}",
        inserted.log_text()
    );
    // Blocked stays blocked, even with the right PIN.
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(code(&reply), "ERR_PIN_BLOCKED", "{reply}");
    assert_eq!(pin_retries(&mut host), 0);

    // Unlock with the PUK sets a new PIN that works.
    let reply = host.command("unlock", json!({"puk": "12345678", "newPin": "246810"}));
    assert_eq!(reply["result"], json!({}), "{reply}");
    assert_eq!(pin_retries(&mut host), 3);
    let reply = authenticate(&mut host, "246810");
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(host.wait().success());
    let log = host.log_text();
    for secret in [DEFAULT_PIN, WRONG_PIN, "12345678", "246810"] {
        assert!(!log.contains(secret), "host log holds {secret}:\n{log}");
    }
}

#[test]
fn card_error_status_word_is_reported() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(
        &card,
        &ServeOptions {
            fail: vec!["87=6F00".into()],
            ..ServeOptions::default()
        },
    );
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(code(&reply), "ERR_CARD_ERROR", "{reply}");
    assert_eq!(reply["error"]["statusWord"], json!("6F00"), "{reply}");
    // Still serving.
    assert!(host.command("status", json!({}))["result"]["readers"].is_array());
    assert!(host.wait().success());
}

#[test]
fn card_vanishing_mid_command_is_card_removed() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    // A traced run tells us which APDU of an authentication is GENERAL AUTHENTICATE.
    let traced = stack.insert(
        &card,
        &ServeOptions {
            extra_args: vec!["--trace".into()],
            ..ServeOptions::default()
        },
    );
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert!(reply["result"]["signature"].is_string(), "{reply}");
    let trace = traced.log_text();
    let apdus: Vec<&str> = trace
        .lines()
        .filter(|l| l.contains("carecard-vcard: > "))
        .collect();
    let general_authenticate = apdus
        .iter()
        .position(|l| l.contains("> 0087"))
        .unwrap_or_else(|| panic!("no GENERAL AUTHENTICATE in\n{trace}"));
    traced.remove();

    let mut vanishing = stack.insert(
        &card,
        &ServeOptions {
            vanish_after: Some(general_authenticate as u64 + 1),
            ..ServeOptions::default()
        },
    );
    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(code(&reply), "ERR_CARD_REMOVED", "{reply}");
    assert!(!vanishing.is_serving());
    let status = host.command("status", json!({}));
    let reader = &status["result"]["readers"][0];
    assert_eq!(reader["card"], json!(null), "{status}");
    assert!(host.wait().success());
}

#[test]
fn the_certificate_argument_picks_the_card() {
    let stack = Stack::start().expect("stack");
    let p256 = stack.new_card("p256");
    let p384 = stack.new_card("p384");
    let _a = stack.insert(&p256, &ServeOptions::default());
    let _b = stack.insert(
        &p384,
        &ServeOptions {
            slot: 1,
            ..ServeOptions::default()
        },
    );
    let mut host = HostProcess::spawn(&stack, &[]);
    let certs = host.command("certificates", json!({}));
    let second = certs["result"]["certificates"]
        .as_array()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["slot"] == json!("9A") && c["reader"] == json!(stack.reader(1)))
        })
        .map(|c| c["certificate"].clone())
        .unwrap_or_else(|| panic!("no 9A certificate in reader 1: {certs}"));
    let reply = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN, "certificate": second}),
    );
    assert_eq!(reply["result"]["algorithm"], json!("ES384"), "{reply}");
    assert_eq!(reply["result"]["unverifiedCertificate"], second);
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));

    // Without the argument two cards are ambiguous: refused before any PIN try is spent.
    let reply = authenticate(&mut host, "000000");
    assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("Several smartcards")),
        "{reply}"
    );
    for reader in [stack.reader(0), stack.reader(1)] {
        let status = host.command("pin-status", json!({"reader": reader}));
        assert_eq!(status["result"]["pinRetriesLeft"], json!(3), "{status}");
    }

    // A certificate no card holds.
    let other = Stack::start().expect("stack");
    let stranger = other.new_card("p256");
    let der = std::fs::read(&stranger.ca_der).expect("ca");
    let reply = host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN,
               "certificate": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)}),
    );
    assert_eq!(code(&reply), "ERR_CERTIFICATE_NOT_FOUND", "{reply}");
    assert!(host.wait().success());
}

#[test]
fn developer_mode_allows_localhost_http_only_when_on() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let localhost = "http://localhost:8443";
    let request = json!({"origin": localhost, "challengeNonce": nonce(), "pin": DEFAULT_PIN});
    let mut host = HostProcess::spawn(&stack, &[]);
    let reply = host.command("authenticate", request.clone());
    assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{reply}");
    assert!(host.wait().success());
    // Developer mode is the config file's to give (the environment cannot turn it on).
    let developer = stack.dir().join("developer.json");
    std::fs::write(
        &developer,
        r#"{"allowedExtensionIds": ["pggklkelfcagmclfcaejdknbclgpeaco"], "developerMode": true}"#,
    )
    .expect("config");
    let developer = developer.to_string_lossy().into_owned();
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_DEVELOPER_MODE", "1")]);
    let reply = host.command("authenticate", request.clone());
    assert_eq!(code(&reply), "ERR_INVALID_REQUEST", "{reply}");
    assert!(host.wait().success());
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_CONFIG", developer.as_str())]);
    let reply = host.command("authenticate", request);
    verify_token(&reply["result"], localhost, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(host.wait().success());
}
