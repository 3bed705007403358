//! OpenSC against the virtual card through the real PC/SC stack (isolated pcscd + vpcd +
//! `carecard-vcard serve`): an independent PIV client must list and use the card.
//!
//! Needs pcscd, vsmartcard-vpcd and opensc installed, and the workspace binaries built
//! (`cargo build --workspace --bins`; the testkit looks next to the test executable).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use carecard_testkit::{CardDir, ServeOptions, Stack};
use carecard_vcard::{tlv, CardState};
use common::assert_signature_matches_certificate;

const MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";

fn pkcs11_tool(stack: &Stack, args: &[&str]) -> Output {
    assert!(
        Path::new(MODULE).is_file(),
        "{MODULE} missing: install Debian's opensc package"
    );
    Command::new("pkcs11-tool")
        .arg("--module")
        .arg(MODULE)
        .args(args)
        .envs(stack.env())
        .output()
        .expect("run pkcs11-tool (install Debian's opensc package)")
}

fn text(output: &Output) -> String {
    format!(
        "status {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The certificate DER stored in the card's state for an object tag.
fn stored_certificate(card: &CardDir, tag: u32) -> Vec<u8> {
    let state = CardState::load(&card.state).expect("card state");
    let object = state.object(tag).expect("certificate object");
    tlv::find(object, 0x70).expect("70").to_vec()
}

/// Signs `message` with the key of PKCS#11 id `id` and checks the signature against the
/// certificate on the card.
fn sign_and_verify(stack: &Stack, card: &CardDir, mechanism: &str, id: &str, tag: u32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = dir.path().join("message");
    let output = dir.path().join("signature");
    let message = format!("carecard OpenSC test, key {id}, {mechanism}");
    std::fs::write(&input, &message).expect("write message");
    let run = pkcs11_tool(
        stack,
        &[
            "--login",
            "--pin",
            "123456",
            "--sign",
            "--mechanism",
            mechanism,
            "--id",
            id,
            "--signature-format",
            "openssl",
            "--input-file",
            input.to_str().expect("utf-8 path"),
            "--output-file",
            output.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        run.status.success(),
        "pkcs11-tool --sign failed: {}",
        text(&run)
    );
    let signature = std::fs::read(&output).expect("signature written");
    assert_signature_matches_certificate(
        &stored_certificate(card, tag),
        message.as_bytes(),
        &signature,
    );
}

fn opensc_lists_and_signs(profile: &str, mechanism: &str) {
    let stack = Stack::start().expect("isolated pcscd");
    let card = stack.new_card(profile);
    let inserted = stack.insert(&card, &ServeOptions::default());

    let list = pkcs11_tool(&stack, &["-O"]);
    let listing = text(&list);
    assert!(list.status.success(), "pkcs11-tool -O failed: {listing}");
    assert!(
        listing.contains("Certificate for PIV Authentication"),
        "{listing}"
    );
    assert!(
        listing.contains("Certificate for Digital Signature"),
        "{listing}"
    );
    assert!(listing.contains("CN=Alex Tester"), "{listing}");

    // The certificate OpenSC reads is the one on the card, byte for byte.
    let dir = tempfile::tempdir().expect("tempdir");
    let cert_file = dir.path().join("cert.der");
    let read = pkcs11_tool(
        &stack,
        &[
            "--read-object",
            "--type",
            "cert",
            "--id",
            "01",
            "--output-file",
            cert_file.to_str().expect("utf-8 path"),
        ],
    );
    assert!(
        read.status.success(),
        "reading the certificate failed: {}",
        text(&read)
    );
    assert_eq!(
        std::fs::read(&cert_file).expect("certificate written"),
        stored_certificate(&card, carecard_vcard::TAG_CERT_9A)
    );

    sign_and_verify(&stack, &card, mechanism, "01", carecard_vcard::TAG_CERT_9A);
    // 9C is "PIN always": OpenSC logs in again for each signature (context-specific login).
    sign_and_verify(&stack, &card, mechanism, "02", carecard_vcard::TAG_CERT_9C);

    // OpenSC changes the PIN (CHANGE REFERENCE DATA) and the card keeps the new one.
    let change = pkcs11_tool(
        &stack,
        &["--change-pin", "--pin", "123456", "--new-pin", "24681357"],
    );
    assert!(change.status.success(), "--change-pin: {}", text(&change));
    let login = pkcs11_tool(&stack, &["--login", "--pin", "24681357", "--list-objects"]);
    assert!(
        login.status.success(),
        "login with the new PIN: {}",
        text(&login)
    );

    // A wrong PIN is refused and counted in the card's (persisted) state.
    let wrong = pkcs11_tool(&stack, &["--login", "--pin", "999999", "--list-objects"]);
    assert!(
        !wrong.status.success(),
        "a wrong PIN logged in: {}",
        text(&wrong)
    );
    let state = CardState::load(&card.state).expect("card state");
    assert_eq!(state.pin.retries_left, 2, "{}", inserted.log_text());
}

#[test]
fn opensc_uses_an_rsa2048_card() {
    opensc_lists_and_signs("rsa2048", "SHA256-RSA-PKCS");
}

#[test]
fn opensc_uses_a_p256_card() {
    opensc_lists_and_signs("p256", "ECDSA-SHA256");
}

#[test]
fn opensc_uses_a_p384_card() {
    opensc_lists_and_signs("p384", "ECDSA-SHA256");
}

fn piv_tool(stack: &Stack, key_file: Option<&Path>, args: &[&str]) -> Output {
    let mut cmd = Command::new("piv-tool");
    cmd.args(args).envs(stack.env());
    if let Some(key_file) = key_file {
        cmd.env("PIV_EXT_AUTH_KEY", key_file);
    }
    cmd.output()
        .expect("run piv-tool (install Debian's opensc package)")
}

/// piv-tool reads the serial (CHUID), authenticates with the 3DES management key (mutual
/// authentication) and writes a certificate object; a wrong key writes nothing.
#[test]
fn piv_tool_administers_the_card() {
    let stack = Stack::start().expect("isolated pcscd");
    let card = stack.new_card("p256");
    let _inserted = stack.insert(&card, &ServeOptions::default());

    let serial = piv_tool(&stack, None, &["--serial"]);
    assert!(
        serial.status.success(),
        "piv-tool --serial: {}",
        text(&serial)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let wrong_key = dir.path().join("wrong-key");
    std::fs::write(
        &wrong_key,
        "0102030405060708010203040506070801020304050607FF\n",
    )
    .expect("write key");
    let good_key = dir.path().join("key");
    std::fs::write(
        &good_key,
        "010203040506070801020304050607080102030405060708\n",
    )
    .expect("write key");
    let pem = card.ca_pem.to_str().expect("utf-8 path");
    const KEY_MANAGEMENT_CERT: u32 = 0x5FC10B;

    let refused = piv_tool(
        &stack,
        Some(&wrong_key),
        &["-A", "M:9B:03", "-C", "9D", "-i", pem],
    );
    assert!(
        text(&refused).contains("admin_mode failed"),
        "wrong key accepted: {}",
        text(&refused)
    );
    let state = CardState::load(&card.state).expect("state");
    assert!(state.object(KEY_MANAGEMENT_CERT).is_none());

    let written = piv_tool(
        &stack,
        Some(&good_key),
        &["-A", "M:9B:03", "-C", "9D", "-i", pem],
    );
    // piv-tool exits with the byte count it wrote (mod 256), not 0: judge by the card.
    assert!(!text(&written).contains("failed"), "{}", text(&written));
    assert_eq!(
        stored_certificate(&card, KEY_MANAGEMENT_CERT),
        std::fs::read(&card.ca_der).expect("ca.der")
    );
}
