//! CertificateSummary from DER (holder, 12-digit user ID, validity, key algorithm).

mod common;

use carecard_protocol::{CertificateSummary, ErrorCode, KeyAlgorithm, TokenAlgorithm};
use common::{certificate, ec_key, other_key, rsa_key, NOT_AFTER, NOT_BEFORE};
use serde_json::json;

const HOLDER: &str = "cn=Jane Doe,givenName=Jane,sn=Doe,serialNumber=123456789012,o=NHS";

fn summary(der: &[u8]) -> CertificateSummary {
    CertificateSummary::from_der(der).unwrap_or_else(|e| panic!("not summarised: {e}"))
}

#[test]
fn a_p256_holder_certificate_is_summarised() {
    let s = summary(&certificate(HOLDER, None));
    assert_eq!(
        s,
        CertificateSummary {
            common_name: "Jane Doe".into(),
            given_name: Some("Jane".into()),
            surname: Some("Doe".into()),
            user_id: Some("123456789012".into()),
            not_before: NOT_BEFORE as i64,
            not_after: NOT_AFTER as i64,
            key: KeyAlgorithm::P256,
        }
    );
    assert_eq!(s.token_algorithm(), Some(TokenAlgorithm::Es256));
}

#[test]
fn the_summary_serialises_camel_case() {
    let s = summary(&certificate(HOLDER, None));
    assert_eq!(
        serde_json::to_value(&s).expect("json"),
        json!({
            "commonName": "Jane Doe",
            "givenName": "Jane",
            "surname": "Doe",
            "userId": "123456789012",
            "notBefore": NOT_BEFORE,
            "notAfter": NOT_AFTER,
            "key": {"type": "p256"},
        })
    );
}

#[test]
fn a_serial_number_that_is_not_12_digits_is_no_user_id() {
    for serial in ["12345678901", "1234567890123", "12345678901A"] {
        let s = summary(&certificate(&format!("cn=X,serialNumber={serial}"), None));
        assert_eq!(s.user_id, None, "{serial}");
    }
}

#[test]
fn absent_attributes_are_absent() {
    let s = summary(&certificate("o=NHS", None));
    assert_eq!(s.common_name, "");
    assert_eq!((s.given_name, s.surname, s.user_id), (None, None, None));
}

#[test]
fn rsa_key_size_is_the_modulus_bit_length() {
    let mut modulus = vec![0xc5; 256];
    let s = summary(&certificate(HOLDER, Some(rsa_key(&modulus))));
    assert_eq!(s.key, KeyAlgorithm::Rsa { bits: 2048 });
    assert_eq!(s.token_algorithm(), Some(TokenAlgorithm::Rs256));
    assert_eq!(
        serde_json::to_value(&s.key).expect("json"),
        json!({"type": "rsa", "bits": 2048})
    );

    modulus[0] = 0x7f;
    let s = summary(&certificate(HOLDER, Some(rsa_key(&modulus))));
    assert_eq!(s.key, KeyAlgorithm::Rsa { bits: 2047 });

    let s = summary(&certificate(HOLDER, Some(rsa_key(&[0x80; 384]))));
    assert_eq!(s.key, KeyAlgorithm::Rsa { bits: 3072 });
}

#[test]
fn ec_curves_are_told_apart_by_oid() {
    let s = summary(&certificate(HOLDER, Some(ec_key("1.3.132.0.34"))));
    assert_eq!(s.key, KeyAlgorithm::P384);
    assert_eq!(s.token_algorithm(), Some(TokenAlgorithm::Es384));
    let s = summary(&certificate(HOLDER, Some(ec_key("1.2.840.10045.3.1.7"))));
    assert_eq!(s.key, KeyAlgorithm::P256);
    // secp521r1 is not a curve the token format names.
    let s = summary(&certificate(HOLDER, Some(ec_key("1.3.132.0.35"))));
    assert_eq!(s.key, KeyAlgorithm::Other);
    assert_eq!(s.token_algorithm(), None);
}

#[test]
fn other_key_algorithms_are_other() {
    let s = summary(&certificate(HOLDER, Some(other_key())));
    assert_eq!(s.key, KeyAlgorithm::Other);
    assert_eq!(
        serde_json::to_value(&s.key).expect("json"),
        json!({"type": "other"})
    );
}

#[test]
fn garbage_is_an_invalid_request() {
    let mut der = certificate(HOLDER, None);
    der.truncate(der.len() - 1);
    for bad in [&b""[..], b"\x30\x00", b"not a certificate", &der] {
        let e = CertificateSummary::from_der(bad).expect_err("refused");
        assert_eq!(e.code(), ErrorCode::InvalidRequest);
    }
}
