//! Shared helpers for the host's integration tests: independent token/signature verification
//! with RustCrypto (nothing from the host's own crates is trusted to check the host).

#![allow(dead_code)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_testkit::HostProcess;
use der::{Decode, Encode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384};
use x509_cert::Certificate;

pub const ORIGIN: &str = "https://am.nhsidentity.spineservices.nhs.uk";
pub const OTHER_ORIGIN: &str = "https://evil.example.org";
pub const DEFAULT_PIN: &str = "123456";
pub const WRONG_PIN: &str = "654321";

/// A challenge nonce: base64 of 32 bytes (44 characters).
pub fn nonce() -> String {
    STANDARD.encode(*b"carecard-test-nonce-32-bytes-abc")
}

pub fn b64(s: &str) -> Vec<u8> {
    STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("bad base64 {s:?}: {e}"))
}

/// The error code of a reply, or "" for a success.
pub fn code(reply: &Value) -> String {
    reply["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

pub fn authenticate(host: &mut HostProcess, pin: &str) -> Value {
    host.command(
        "authenticate",
        json!({"origin": ORIGIN, "challengeNonce": nonce(), "pin": pin}),
    )
}

pub fn pin_retries(host: &mut HostProcess) -> u64 {
    let reply = host.command("pin-status", json!({}));
    reply["result"]["pinRetriesLeft"]
        .as_u64()
        .unwrap_or_else(|| panic!("pin-status: {reply}"))
}

/// Verifies a Web eID 1.0 token for `origin` and `nonce`: the certificate's key over
/// `H(origin) || H(nonce)` with the token's algorithm.
pub fn verify_token(token: &Value, origin: &str, nonce: &str) -> Result<(), String> {
    if token["format"] != json!("web-eid:1.0") {
        return Err(format!("format {}", token["format"]));
    }
    let cert = b64(token["unverifiedCertificate"]
        .as_str()
        .ok_or("no certificate")?);
    let signature = b64(token["signature"].as_str().ok_or("no signature")?);
    let algorithm = token["algorithm"].as_str().ok_or("no algorithm")?;
    let signed = match algorithm {
        "ES384" => [Sha384::digest(origin), Sha384::digest(nonce)].concat(),
        _ => [Sha256::digest(origin), Sha256::digest(nonce)].concat(),
    };
    verify(&cert, algorithm, &signed, &signature)
}

/// The DER of the certificate's SubjectPublicKeyInfo.
fn spki(cert: &[u8]) -> Result<Vec<u8>, String> {
    let cert = Certificate::from_der(cert).map_err(|e| e.to_string())?;
    cert.tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| e.to_string())
}

/// Verifies `signature` over `message` (hashed by the verifier) with the certificate's key.
pub fn verify(
    cert: &[u8],
    algorithm: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use p256::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    let spki = spki(cert)?;
    match algorithm {
        "RS256" => {
            let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|e| e.to_string())?;
            let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(|e| e.to_string())?;
            rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
                .verify(message, &sig)
                .map_err(|e| e.to_string())
        }
        "ES256" => {
            let key =
                p256::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|e| e.to_string())?;
            let sig = p256::ecdsa::Signature::from_slice(signature).map_err(|e| e.to_string())?;
            key.verify(message, &sig).map_err(|e| e.to_string())
        }
        "ES384" => {
            let key =
                p384::ecdsa::VerifyingKey::from_public_key_der(&spki).map_err(|e| e.to_string())?;
            let sig = p384::ecdsa::Signature::from_slice(signature).map_err(|e| e.to_string())?;
            key.verify(message, &sig).map_err(|e| e.to_string())
        }
        other => Err(format!("unexpected algorithm {other}")),
    }
}

/// How many VERIFY commands carrying a PIN (not the status-only or reset forms) the virtual
/// card saw, from its `--trace` log.
pub fn pin_verifies(card_log: &str) -> usize {
    card_log
        .lines()
        .filter(|l| l.contains("> 00200080") && l.contains("redacted"))
        .count()
}
