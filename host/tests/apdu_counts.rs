//! APDUs per login (issue 7), counted in the virtual card's `--trace` log, and a card swapped
//! between two logins of one host process.
//!
//! A browser login is `cards`, then `authenticate` naming the certificate `cards` returned.
//! Warm (this host process already read the certificate, on a PC/SC handle it kept): SELECT,
//! VERIFY, GENERAL AUTHENTICATE, PIN-state reset. Cold: the certificate read (GET DATA and its
//! GET RESPONSEs) in the same transaction, before VERIFY.

mod common;

use carecard_testkit::{HostProcess, InsertedCard, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};

/// The command APDUs (hex) the card saw in `log`.
fn apdus(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once("carecard-vcard: > "))
        .map(|(_, apdu)| apdu.to_owned())
        .collect()
}

/// The APDUs `inserted` saw while `f` ran.
fn apdus_during<T>(inserted: &InsertedCard, f: impl FnOnce() -> T) -> (T, Vec<String>) {
    let before = apdus(&inserted.log_text()).len();
    let out = f();
    let after = apdus(&inserted.log_text());
    (out, after[before..].to_vec())
}

fn traced() -> ServeOptions {
    ServeOptions {
        extra_args: vec!["--trace".into()],
        ..ServeOptions::default()
    }
}

fn login(host: &mut HostProcess, certificate: &Value) -> Value {
    host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": DEFAULT_PIN,
               "certificate": certificate}),
    )
}

/// The 9A certificate `cards` reports for the first card.
fn authentication_certificate(host: &mut HostProcess) -> Value {
    let cards = host.command("cards", json!({}));
    cards["result"]["cards"][0]["certificates"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["slot"] == json!("9A")))
        .map(|c| c["certificate"].clone())
        .unwrap_or_else(|| panic!("no 9A certificate in {cards}"))
}

/// VERIFY commands carrying a PIN (the trace redacts it), as `common::pin_verifies` counts.
fn pins(apdus: &[String]) -> usize {
    apdus
        .iter()
        .filter(|a| a.starts_with("00200080") && a.contains("redacted"))
        .count()
}

fn instructions(apdus: &[String]) -> Vec<&str> {
    apdus.iter().map(|a| a.get(2..4).unwrap_or("")).collect()
}

fn counts_for(profile: &str, cold_max: usize, warm_max: usize) {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card(profile);
    let inserted = stack.insert(&card, &traced());
    let mut host = HostProcess::spawn(&stack, &[]);
    let certificate = authentication_certificate(&mut host);

    let (reply, cold) = apdus_during(&inserted, || login(&mut host, &certificate));
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    let ins = instructions(&cold);
    assert!(
        cold.len() <= cold_max,
        "cold login: {} APDUs {cold:#?}",
        cold.len()
    );
    assert_eq!(
        ins.iter().filter(|i| **i == "A4").count(),
        1,
        "one SELECT: {cold:#?}"
    );
    assert_eq!(ins.first(), Some(&"A4"), "{cold:#?}");
    assert_eq!(ins.last(), Some(&"20"), "PIN state cleared last: {cold:#?}");
    assert!(
        cold.last().is_some_and(|a| a.starts_with("0020FF80")),
        "{cold:#?}"
    );
    assert_eq!(pins(&cold), 1, "the PIN sent once: {cold:#?}");
    eprintln!("{profile}: cold login {} APDUs", cold.len());

    for _ in 0..3 {
        let (reply, warm) = apdus_during(&inserted, || login(&mut host, &certificate));
        verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
        assert!(
            warm.len() <= warm_max,
            "warm login: {} APDUs {warm:#?}",
            warm.len()
        );
        assert_eq!(pins(&warm), 1, "the PIN sent once: {warm:#?}");
        eprintln!("{profile}: warm login {} APDUs", warm.len());
        let ins = instructions(&warm);
        assert!(
            !ins.contains(&"CB"),
            "no certificate read when warm: {warm:#?}"
        );
        assert_eq!(ins.first(), Some(&"A4"), "{warm:#?}");
        assert!(
            warm.last().is_some_and(|a| a.starts_with("0020FF80")),
            "{warm:#?}"
        );
    }
    assert!(host.wait().success());
}

#[test]
fn p256_login_is_4_apdus_warm_and_7_cold() {
    // SELECT, VERIFY, GENERAL AUTHENTICATE, VERIFY FF (reset); cold adds GET DATA 5FC105 and
    // the two GET RESPONSEs its ~580 bytes take in short APDUs.
    counts_for("p256", 7, 4);
}

#[test]
fn rsa2048_login_needs_the_chained_general_authenticate() {
    // Short APDUs: the 266-byte GENERAL AUTHENTICATE template is two chained commands and the
    // 264-byte answer one GET RESPONSE (the card names no extended length in its ATR).
    counts_for("rsa2048", 10, 6);
}

#[test]
fn a_swapped_card_is_never_signed_with_the_old_certificate() {
    let stack = Stack::start().expect("stack");
    let first = stack.new_card("p256");
    let second = stack
        .try_new_card(
            "p256",
            &["--name", "Bea Other", "--user-id", "555000000002"],
        )
        .expect("second card");
    let inserted = stack.insert(&first, &traced());
    let mut host = HostProcess::spawn(&stack, &[]);
    let old = authentication_certificate(&mut host);
    let reply = login(&mut host, &old);
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    // Warm now: the host holds the card's handle and certificate.
    let reply = login(&mut host, &old);
    assert!(reply["result"]["signature"].is_string(), "{reply}");

    inserted.remove();
    let swapped = stack.insert(&second, &traced());
    // The old card's certificate names no card now: refused before any PIN is sent.
    let (reply, sent) = apdus_during(&swapped, || login(&mut host, &old));
    assert_eq!(code(&reply), "ERR_CERTIFICATE_NOT_FOUND", "{reply}");
    assert_eq!(pins(&sent), 0, "no PIN to the new card: {sent:#?}");
    // Without a selector the new card signs with its own certificate.
    let reply = authenticate(&mut host, DEFAULT_PIN);
    let token = &reply["result"];
    verify_token(token, ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert_ne!(token["unverifiedCertificate"], old, "{reply}");
    // And naming the new card's certificate works, warm.
    let new = authentication_certificate(&mut host);
    assert_eq!(token["unverifiedCertificate"], new);
    let (reply, warm) = apdus_during(&swapped, || login(&mut host, &new));
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(warm.len() <= 4, "{warm:#?}");

    // Swapped back while the host keeps the second card's handle: a login naming the first
    // card's certificate reads it from the card again (cold) and signs with the first card.
    swapped.remove();
    let back = stack.insert(&first, &traced());
    let (reply, cold) = apdus_during(&back, || login(&mut host, &old));
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert_eq!(reply["result"]["unverifiedCertificate"], old);
    assert!(instructions(&cold).contains(&"CB"), "read again: {cold:#?}");
    assert_eq!(pin_verifies(&back.log_text()), 1);
    assert!(host.wait().success());
}

#[test]
fn a_kept_handle_does_not_stop_a_card_session() {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let certificate = authentication_certificate(&mut host);
    let reply = login(&mut host, &certificate);
    assert!(reply["result"]["signature"].is_string(), "{reply}");
    // The login's handle is still open; an exclusive session must still be possible.
    let opened = host.command("session-open", json!({"certificate": certificate}));
    let session = opened["result"]["session"]
        .as_str()
        .unwrap_or_else(|| panic!("session-open: {opened}"))
        .to_owned();
    let closed = host.command("session-close", json!({"session": session}));
    assert!(closed["result"].is_object(), "{closed}");
    let reply = login(&mut host, &certificate);
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(host.wait().success());
}
