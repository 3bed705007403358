//! `sign` with the 9C key, `change-pin`, and the PIN never reaching the log.

mod common;

use carecard_testkit::{HostProcess, ServeOptions, Stack};
use common::*;
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384};

fn certificate(host: &mut HostProcess, slot: &str) -> Value {
    let reply = host.command("certificates", json!({}));
    reply["result"]["certificates"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["slot"] == json!(slot)))
        .map(|c| c["certificate"].clone())
        .unwrap_or_else(|| panic!("no {slot} certificate: {reply}"))
}

fn sign_with(profile: &str, hash_function: &str, algorithm: &str, crypto: &str, padding: &str) {
    let stack = Stack::start().expect("stack");
    let card = stack.new_card(profile);
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[]);
    let cert = certificate(&mut host, "9C");
    let document = b"Prescription 42: paracetamol 500 mg";
    let hash = match hash_function {
        "SHA-384" => Sha384::digest(document).to_vec(),
        _ => Sha256::digest(document).to_vec(),
    };
    let reply = host.command(
        "sign",
        json!({"origin": ORIGIN, "hash": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &hash),
               "hashFunction": hash_function, "certificate": cert, "pin": DEFAULT_PIN}),
    );
    let result = &reply["result"];
    assert_eq!(
        result["signatureAlgorithm"],
        json!({"cryptoAlgorithm": crypto, "hashFunction": hash_function, "paddingScheme": padding}),
        "{reply}"
    );
    let signature = b64(result["signature"].as_str().expect("signature"));
    let cert_der = b64(cert.as_str().expect("b64"));
    verify(&cert_der, algorithm, document, &signature).unwrap_or_else(|e| panic!("{e}: {reply}"));
    assert!(verify(&cert_der, algorithm, b"another document", &signature).is_err());
    // The 9A certificate is not a signing certificate.
    let auth = certificate(&mut host, "9A");
    let reply = host.command(
        "sign",
        json!({"origin": ORIGIN, "hash": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &hash),
               "hashFunction": hash_function, "certificate": auth, "pin": DEFAULT_PIN}),
    );
    assert_eq!(code(&reply), "ERR_CERTIFICATE_NOT_FOUND", "{reply}");
    // The PIN is card-wide: the signing certificate names the card for pin-status too.
    let reply = host.command("pin-status", json!({ "certificate": cert }));
    assert_eq!(reply["result"], json!({"pinRetriesLeft": 3}), "{reply}");
    assert!(host.wait().success());
}

#[test]
fn sign_p256_with_9c_verifies() {
    sign_with("p256", "SHA-256", "ES256", "ECC", "NONE");
}

#[test]
fn sign_rsa_with_9c_verifies() {
    sign_with("rsa2048", "SHA-256", "RS256", "RSA", "PKCS1.5");
}

#[test]
fn sign_p384_with_9c_verifies() {
    sign_with("p384", "SHA-384", "ES384", "ECC", "NONE");
}

#[test]
fn changed_pin_works_and_never_reaches_the_trace_log() {
    const NEW_PIN: &str = "918273";
    let stack = Stack::start().expect("stack");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());
    let mut host = HostProcess::spawn(&stack, &[("CARECARD_LOG_LEVEL", "trace")]);

    let reply = host.command("change-pin", json!({"pin": WRONG_PIN, "newPin": NEW_PIN}));
    assert_eq!(code(&reply), "ERR_PIN_INCORRECT", "{reply}");
    assert_eq!(reply["error"]["retriesLeft"], json!(2));
    let reply = host.command("change-pin", json!({"pin": DEFAULT_PIN, "newPin": "12ab"}));
    assert_eq!(code(&reply), "ERR_PIN_FORMAT", "{reply}");
    let reply = host.command("change-pin", json!({"pin": DEFAULT_PIN, "newPin": NEW_PIN}));
    assert_eq!(reply["result"], json!({}), "{reply}");
    assert_eq!(pin_retries(&mut host), 3);

    let reply = authenticate(&mut host, DEFAULT_PIN);
    assert_eq!(
        code(&reply),
        "ERR_PIN_INCORRECT",
        "the old PIN no longer works: {reply}"
    );
    let reply = authenticate(&mut host, NEW_PIN);
    verify_token(&reply["result"], ORIGIN, &nonce()).unwrap_or_else(|e| panic!("{e}: {reply}"));
    let cert = certificate(&mut host, "9C");
    let reply = host.command(
        "sign",
        json!({"origin": ORIGIN, "hash": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, Sha256::digest(b"x")),
               "hashFunction": "SHA-256", "certificate": cert, "pin": NEW_PIN}),
    );
    assert!(reply["result"]["signature"].is_string(), "{reply}");
    let reply = host.command("unlock", json!({"puk": "87654321", "newPin": "135791"}));
    assert_eq!(code(&reply), "ERR_PUK_INCORRECT", "{reply}");
    assert_eq!(reply["error"]["retriesLeft"], json!(2), "{reply}");
    assert!(host.wait().success());

    let log = host.log_text();
    assert!(
        log.contains("TRACE") || log.contains("DEBUG") || log.contains("INFO"),
        "a log was written: {log}"
    );
    assert!(
        log.contains("change-pin") && log.contains("authenticate"),
        "commands are logged:\n{log}"
    );
    for secret in [NEW_PIN, DEFAULT_PIN, WRONG_PIN, "87654321", "135791"] {
        assert!(!log.contains(secret), "host log holds {secret}:\n{log}");
        // Nor as hex of its bytes (as an APDU dump would show it).
        let hex: String = secret.bytes().map(|b| format!("{b:02X}")).collect();
        assert!(
            !log.to_uppercase().contains(&hex),
            "host log holds {secret} as hex"
        );
        assert!(!host.stderr_text().contains(secret));
    }
}
