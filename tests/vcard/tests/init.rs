//! `init` and the `carecard-vcard` command line: the files written, the certificate profile
//! (NHS-style holder certificates chained to the test CA) and `show`.

use std::process::Command;
use std::time::SystemTime;

use carecard_vcard::{tlv, CardState, TAG_CERT_9A, TAG_CERT_9C};
use const_oid::db::rfc4519;
use der::{Decode, Encode};
use signature::Verifier;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

const BIN: &str = env!("CARGO_BIN_EXE_carecard-vcard");

fn attribute(cert: &Certificate, oid: const_oid::ObjectIdentifier) -> Option<String> {
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == oid)
        .map(|atv| String::from_utf8_lossy(atv.value.value()).into_owned())
}

fn extension<T: for<'a> Decode<'a>>(
    cert: &Certificate,
    oid: const_oid::ObjectIdentifier,
) -> Option<T> {
    cert.tbs_certificate
        .extensions
        .as_ref()?
        .iter()
        .find(|e| e.extn_id == oid)
        .map(|e| T::from_der(e.extn_value.as_bytes()).expect("extension parses"))
}

fn unix(t: &x509_cert::time::Time) -> u64 {
    t.to_unix_duration().as_secs()
}

#[test]
fn init_writes_a_card_with_nhs_style_certificates_from_its_ca() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(BIN)
        .args(["init", "--dir"])
        .arg(dir.path())
        .args([
            "--algorithm",
            "p384",
            "--name",
            "Mary Ann Jones",
            "--user-id",
            "987650000042",
        ])
        .output()
        .expect("run init");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "init wrote to stdout");

    let ca_der = std::fs::read(dir.path().join("ca.der")).expect("ca.der");
    let ca_pem = std::fs::read_to_string(dir.path().join("ca.pem")).expect("ca.pem");
    assert!(ca_pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    // The CA's key beside it, owner-only, for the mock card-management service's CA.
    let ca_key_path = dir.path().join("ca.key");
    let ca_key_pkcs8 = std::fs::read(&ca_key_path).expect("ca.key");
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&ca_key_path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "ca.key is private: {mode:o}");
    }
    let ca_signing = {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::ecdsa::SigningKey::from_pkcs8_der(&ca_key_pkcs8).expect("ca.key: P-256 PKCS#8")
    };
    let ca = Certificate::from_der(&ca_der).expect("CA parses");
    assert_eq!(
        Some(
            ca_signing
                .verifying_key()
                .to_encoded_point(false)
                .as_bytes()
        ),
        ca.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .as_bytes(),
        "ca.key is the CA certificate's key"
    );
    assert_eq!(
        attribute(&ca, rfc4519::CN).as_deref(),
        Some("carecard Test CA")
    );
    let bc: BasicConstraints =
        extension(&ca, const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS).expect("bc");
    assert!(bc.ca);
    let ten_years = unix(&ca.tbs_certificate.validity.not_after)
        - unix(&ca.tbs_certificate.validity.not_before);
    assert!(ten_years >= 3650 * 86400, "CA valid for {ten_years} s");
    let ca_key = p256::ecdsa::VerifyingKey::from_sec1_bytes(
        ca.tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes(),
    )
    .expect("CA key is P-256");

    let state_path = dir.path().join("card.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state_path)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "card.json readable by others: {mode:o}");
    }
    let state = CardState::load(&state_path).expect("state");
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    for (tag, usages, client_auth) in [
        (TAG_CERT_9A, KeyUsages::DigitalSignature.into(), true),
        (
            TAG_CERT_9C,
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
            false,
        ),
    ] {
        let object = state.object(tag).expect("certificate object");
        let der = tlv::find(object, 0x70).expect("70");
        let cert = Certificate::from_der(der).expect("holder certificate parses");
        assert_eq!(
            attribute(&cert, rfc4519::CN).as_deref(),
            Some("Mary Ann Jones")
        );
        assert_eq!(
            attribute(&cert, rfc4519::GIVEN_NAME).as_deref(),
            Some("Mary Ann")
        );
        assert_eq!(attribute(&cert, rfc4519::SN).as_deref(), Some("Jones"));
        assert_eq!(
            attribute(&cert, rfc4519::SERIAL_NUMBER).as_deref(),
            Some("987650000042")
        );
        assert_eq!(
            attribute(&cert, rfc4519::O).as_deref(),
            Some("carecard test")
        );
        assert_eq!(
            attribute(&cert, rfc4519::OU).as_deref(),
            Some("Care Identity Service (test)")
        );
        assert_eq!(cert.tbs_certificate.issuer, ca.tbs_certificate.subject);
        let ku: KeyUsage = extension(&cert, const_oid::db::rfc5280::ID_CE_KEY_USAGE).expect("ku");
        assert_eq!(ku.0, usages);
        let eku: Option<ExtendedKeyUsage> =
            extension(&cert, const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE);
        assert_eq!(
            eku.map(|e| e.0.contains(&const_oid::db::rfc5280::ID_KP_CLIENT_AUTH)),
            client_auth.then_some(true)
        );
        let validity = &cert.tbs_certificate.validity;
        let (from, to) = (unix(&validity.not_before), unix(&validity.not_after));
        assert!(from < now && now - from <= 86400 + 600, "starts yesterday");
        assert!((to - from).abs_diff(730 * 86400) < 86400, "two years");
        // Signed by the CA.
        let tbs = cert.tbs_certificate.to_der().expect("tbs");
        let sig = p256::ecdsa::DerSignature::try_from(cert.signature.raw_bytes()).expect("sig");
        ca_key.verify(&tbs, &sig).expect("issued by the CA");
        // And the public key matches the card's private key in that slot.
        let slot = if tag == TAG_CERT_9A { "9A" } else { "9C" };
        let key = &state.keys[slot];
        let info = carecard_vcard::keys::public_key_info(state.profile, &key.private_key_pkcs8)
            .expect("public key");
        assert_eq!(info, cert.tbs_certificate.subject_public_key_info);
    }

    let show = Command::new(BIN)
        .args(["show", "--state"])
        .arg(&state_path)
        .output()
        .expect("run show");
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(show.status.success());
    assert!(text.contains("profile: p384"), "{text}");
    assert!(text.contains("PIN retries left: 3/3"), "{text}");
    assert!(text.contains("Mary Ann Jones"), "{text}");
    assert!(
        !text.contains("123456\n") && !text.contains("12345678"),
        "secrets shown: {text}"
    );
}

#[test]
fn bad_arguments_are_refused() {
    for args in [
        &["init", "--algorithm", "p256"][..],
        &["init", "--dir", "/tmp/x", "--algorithm", "ed25519"],
        &[
            "init",
            "--dir",
            "/tmp/x",
            "--algorithm",
            "p256",
            "--user-id",
            "12",
        ],
        &["serve"],
        &["serve", "--state", "x", "--fail", "87"],
        &["serve", "--state", "x", "--port", "http"],
        &["frobnicate"],
    ] {
        let out = Command::new(BIN).args(args).output().expect("run");
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(!out.stderr.is_empty(), "{args:?}: no explanation");
    }
}
