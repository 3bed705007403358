//! Tokens built in the test, signed correctly and incorrectly, each rejected with its own error.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_protocol::TokenAlgorithm;
use const_oid::db::rfc5280;
use x509_cert::ext::pkix::KeyUsages;

use super::*;
use crate::test_pki::{self, Ca, Key, Profile, ALICE};

const ORIGIN: &str = "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk";
const NONCE: &str = "12345678901234567890123456789012345678901234";
const OTHER_NONCE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqr";

struct Case {
    ca: Ca,
    key: Key,
    certificate: Vec<u8>,
}

impl Case {
    fn new(ca_key: Key, key: Key, profile: &Profile) -> Self {
        let ca = Ca::new(ca_key);
        let certificate = ca.issue(ALICE, &key, profile);
        Self {
            ca,
            key,
            certificate,
        }
    }

    fn p256() -> Self {
        Self::new(
            test_pki::p256_key(),
            test_pki::p256_key(),
            &Profile::login(),
        )
    }

    fn token(&self, algorithm: TokenAlgorithm, origin: &str, nonce: &str) -> UnverifiedToken {
        let json = test_pki::token(&self.certificate, &self.key, algorithm, origin, nonce);
        UnverifiedToken::from_json(&json).expect("token shape")
    }

    fn signed(&self, origin: &str, nonce: &str) -> UnverifiedToken {
        self.token(self.key.token_algorithm(), origin, nonce)
    }

    fn verify(&self, token: &UnverifiedToken) -> Result<VerifiedUser, VerifyError> {
        self.verify_with(token, &[])
    }

    fn verify_with(
        &self,
        token: &UnverifiedToken,
        earlier: &[String],
    ) -> Result<VerifiedUser, VerifyError> {
        let anchor = TrustAnchor::from_der(&self.ca.der).expect("anchor");
        let expected = Expected {
            origin: ORIGIN,
            nonce: NONCE,
            earlier_nonces: earlier,
        };
        verify_token(token, &expected, &anchor, test_pki::now())
    }
}

fn assert_accepted(case: &Case, algorithm: TokenAlgorithm) {
    let user = case
        .verify(&case.token(algorithm, ORIGIN, NONCE))
        .expect("valid token");
    assert_eq!(user.user_id, "555012345678");
    assert_eq!(user.summary.common_name, "Alice Example");
    assert_eq!(user.summary.given_name.as_deref(), Some("Alice"));
    assert_eq!(user.summary.surname.as_deref(), Some("Example"));
    assert_eq!(user.certificate, case.certificate);
}

#[test]
fn valid_es256_token_is_accepted() {
    assert_accepted(&Case::p256(), TokenAlgorithm::Es256);
}

#[test]
fn valid_es384_token_is_accepted() {
    let case = Case::new(
        test_pki::p256_key(),
        test_pki::p384_key(),
        &Profile::login(),
    );
    assert_accepted(&case, TokenAlgorithm::Es384);
}

#[test]
fn valid_rs256_and_ps256_tokens_are_accepted() {
    let case = Case::new(
        test_pki::p256_key(),
        test_pki::rsa_key(0),
        &Profile::login(),
    );
    assert_accepted(&case, TokenAlgorithm::Rs256);
    assert_accepted(&case, TokenAlgorithm::Ps256);
}

#[test]
fn rsa_and_p384_issuers_are_supported() {
    assert_accepted(
        &Case::new(
            test_pki::rsa_key(1),
            test_pki::p256_key(),
            &Profile::login(),
        ),
        TokenAlgorithm::Es256,
    );
    assert_accepted(
        &Case::new(
            test_pki::p384_key(),
            test_pki::p256_key(),
            &Profile::login(),
        ),
        TokenAlgorithm::Es256,
    );
}

#[test]
fn token_for_a_look_alike_origin_is_an_origin_mismatch() {
    let case = Case::p256();
    let err = case.verify(&case.signed(
        "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443",
        NONCE,
    ));
    assert_eq!(
        err.err(),
        Some(VerifyError::OriginMismatch {
            signed_for: "https://am.nhsint.auth-ptl.cis2.spineservices.nhs.uk:443".into(),
            expected: ORIGIN.into()
        })
    );
}

#[test]
fn token_for_another_site_is_a_bad_signature() {
    let case = Case::p256();
    let err = case.verify(&case.signed("https://evil.example", NONCE));
    assert_eq!(err.err(), Some(VerifyError::BadSignature));
}

#[test]
fn token_for_another_nonce_is_rejected() {
    let case = Case::p256();
    let token = case.signed(ORIGIN, OTHER_NONCE);
    assert_eq!(case.verify(&token).err(), Some(VerifyError::BadSignature));
    // The same token, when the nonce was this session's previous challenge, says so.
    assert_eq!(
        case.verify_with(&token, &[OTHER_NONCE.to_owned()]).err(),
        Some(VerifyError::StaleNonce)
    );
}

#[test]
fn tampered_signature_is_rejected() {
    for case in [
        Case::p256(),
        Case::new(
            test_pki::p256_key(),
            test_pki::rsa_key(0),
            &Profile::login(),
        ),
    ] {
        let mut token = case.signed(ORIGIN, NONCE);
        let mut signature = STANDARD.decode(&token.signature).expect("base64");
        signature[10] ^= 0x01;
        token.signature = STANDARD.encode(&signature);
        assert_eq!(case.verify(&token).err(), Some(VerifyError::BadSignature));
    }
}

#[test]
fn signature_of_the_wrong_shape_is_malformed() {
    let case = Case::p256();
    let mut token = case.signed(ORIGIN, NONCE);
    token.signature = STANDARD.encode([1u8; 70]);
    assert_eq!(
        case.verify(&token).err(),
        Some(VerifyError::MalformedSignature { algorithm: "ES256" })
    );
}

#[test]
fn certificate_from_another_ca_is_untrusted() {
    let case = Case::p256();
    // Same CA name, different key: only the signature check can catch it.
    let impostor = Ca::new(test_pki::p256_key());
    let forged = Case {
        certificate: impostor.issue(ALICE, &case.key, &Profile::login()),
        ..Case::p256()
    };
    let forged = Case {
        ca: case.ca.clone(),
        key: case.key.clone(),
        ..forged
    };
    assert!(matches!(
        forged.verify(&forged.signed(ORIGIN, NONCE)),
        Err(VerifyError::UntrustedCertificate(_))
    ));
    // A different CA name.
    let stranger = Ca::named("cn=Somebody Else CA", test_pki::p256_key());
    let other = Case {
        certificate: stranger.issue(ALICE, &case.key, &Profile::login()),
        ..case
    };
    assert!(matches!(
        other.verify(&other.signed(ORIGIN, NONCE)),
        Err(VerifyError::UntrustedCertificate(_))
    ));
}

#[test]
fn altered_certificate_is_untrusted() {
    let mut case = Case::p256();
    // Change the user ID's last digit: the CA's signature no longer matches.
    let at = case
        .certificate
        .windows(12)
        .position(|w| w == b"555012345678")
        .expect("user id in DER");
    case.certificate[at + 11] = b'9';
    assert!(matches!(
        case.verify(&case.signed(ORIGIN, NONCE)),
        Err(VerifyError::UntrustedCertificate(_))
    ));
}

#[test]
fn expired_and_not_yet_valid_certificates_are_rejected() {
    let case = Case::p256();
    let anchor = TrustAnchor::from_der(&case.ca.der).expect("anchor");
    let token = case.signed(ORIGIN, NONCE);
    let expected = Expected {
        origin: ORIGIN,
        nonce: NONCE,
        earlier_nonces: &[],
    };
    let expired_profile = Profile {
        not_after: test_pki::NOT_BEFORE + 3600,
        ..Profile::login()
    };
    let expired = Case {
        certificate: case.ca.issue(ALICE, &case.key, &expired_profile),
        ..Case::p256()
    };
    let expired = Case {
        ca: case.ca.clone(),
        key: case.key.clone(),
        ..expired
    };
    let err = expired
        .verify(&expired.signed(ORIGIN, NONCE))
        .expect_err("expired");
    assert!(
        matches!(err, VerifyError::CertificateExpired { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("expired on 2025-01-01T01:00:00Z"),
        "{err}"
    );
    let future_profile = Profile {
        not_before: test_pki::NOT_BEFORE + 2 * 86_400,
        ..Profile::login()
    };
    let future = Case {
        certificate: case.ca.issue(ALICE, &case.key, &future_profile),
        ..Case::p256()
    };
    let future = Case {
        ca: case.ca.clone(),
        key: case.key.clone(),
        ..future
    };
    assert!(matches!(
        future.verify(&future.signed(ORIGIN, NONCE)),
        Err(VerifyError::CertificateNotYetValid { .. })
    ));
    // The same valid certificate, checked after it expired.
    let late = SystemTime::UNIX_EPOCH + Duration::from_secs(test_pki::NOT_AFTER + 60);
    assert!(matches!(
        verify_token(&token, &expected, &anchor, late),
        Err(VerifyError::UntrustedCertificate(_) | VerifyError::CertificateExpired { .. })
    ));
}

#[test]
fn certificate_without_client_auth_is_rejected() {
    let no_eku = Profile {
        extended_key_usage: None,
        ..Profile::login()
    };
    let case = Case::new(test_pki::p256_key(), test_pki::p256_key(), &no_eku);
    assert_eq!(
        case.verify(&case.signed(ORIGIN, NONCE)).err(),
        Some(VerifyError::MissingClientAuth)
    );
    let server_only = Profile {
        extended_key_usage: Some(vec![rfc5280::ID_KP_SERVER_AUTH]),
        ..Profile::login()
    };
    let case = Case::new(test_pki::p256_key(), test_pki::p256_key(), &server_only);
    assert_eq!(
        case.verify(&case.signed(ORIGIN, NONCE)).err(),
        Some(VerifyError::MissingClientAuth)
    );
}

#[test]
fn certificate_without_digital_signature_is_rejected() {
    let encipher_only = Profile {
        key_usage: Some(KeyUsages::KeyEncipherment),
        ..Profile::login()
    };
    let case = Case::new(test_pki::p256_key(), test_pki::p256_key(), &encipher_only);
    assert_eq!(
        case.verify(&case.signed(ORIGIN, NONCE)).err(),
        Some(VerifyError::WrongKeyUsage)
    );
}

#[test]
fn algorithm_must_fit_the_key() {
    let case = Case::p256();
    let token = UnverifiedToken {
        algorithm: "ES384".into(),
        ..case.signed(ORIGIN, NONCE)
    };
    assert_eq!(
        case.verify(&token).err(),
        Some(VerifyError::AlgorithmKeyMismatch {
            algorithm: "ES384",
            key: "P-256"
        })
    );
}

#[test]
fn unknown_format_and_algorithm_are_rejected() {
    let case = Case::p256();
    let token = UnverifiedToken {
        format: "web-eid:2.0".into(),
        ..case.signed(ORIGIN, NONCE)
    };
    assert_eq!(
        case.verify(&token).err(),
        Some(VerifyError::UnsupportedFormat("web-eid:2.0".into()))
    );
    let token = UnverifiedToken {
        algorithm: "HS256".into(),
        ..case.signed(ORIGIN, NONCE)
    };
    assert_eq!(
        case.verify(&token).err(),
        Some(VerifyError::UnsupportedAlgorithm("HS256".into()))
    );
    let missing = serde_json::json!({"algorithm": "ES256"});
    assert!(matches!(
        UnverifiedToken::from_json(&missing),
        Err(VerifyError::MalformedToken(_))
    ));
}

#[test]
fn certificate_without_user_id_is_rejected() {
    let ca = Ca::new(test_pki::p256_key());
    let key = test_pki::p256_key();
    let case = Case {
        certificate: ca.issue("cn=No Id", &key, &Profile::login()),
        ca,
        key,
    };
    assert_eq!(
        case.verify(&case.signed(ORIGIN, NONCE)).err(),
        Some(VerifyError::NoUserId)
    );
}

#[test]
fn look_alikes_cover_common_developer_mistakes() {
    let alikes = origin_look_alikes("http://localhost:8443");
    for wanted in [
        "http://127.0.0.1:8443",
        "https://localhost:8443",
        "http://localhost:8443/",
    ] {
        assert!(
            alikes.iter().any(|a| a == wanted),
            "{wanted} missing from {alikes:?}"
        );
    }
    assert!(!alikes.iter().any(|a| a == "http://localhost:8443"));
}

/// The valid token of the Web eID project's own validator tests (web-eid-authtoken-validation-java,
/// `AbstractTestWithValidator.VALID_AUTH_TOKEN`): signed by a real Estonian test ID card (P-384,
/// ES384) for origin `https://ria.ee` and nonce `VALID_CHALLENGE_NONCE`. Its CA is not ours and its
/// certificate has expired, so only the signature and key-usage steps are checked: they must agree
/// with Web eID's own validators, or carecard tokens would not be accepted by them either.
const WEB_EID_CERTIFICATE: &str = concat!(
    "MIIEBDCCA2WgAwIBAgIQY5OGshxoPMFg+Wfc0gFEaTAKBggqhkjOPQQDBDBgMQswCQYDVQQGEwJFRTEbMBkGA1UECgwSU0sgSUQg",
    "U29sdXRpb25zIEFTMRcwFQYDVQRhDA5OVFJFRS0xMDc0NzAxMzEbMBkGA1UEAwwSVEVTVCBvZiBFU1RFSUQyMDE4MB4XDTIxMDcy",
    "MjEyNDMwOFoXDTI2MDcwOTIxNTk1OVowfzELMAkGA1UEBhMCRUUxKjAoBgNVBAMMIUrDlUVPUkcsSkFBSy1LUklTVEpBTiwzODAw",
    "MTA4NTcxODEQMA4GA1UEBAwHSsOVRU9SRzEWMBQGA1UEKgwNSkFBSy1LUklTVEpBTjEaMBgGA1UEBRMRUE5PRUUtMzgwMDEwODU3",
    "MTgwdjAQBgcqhkjOPQIBBgUrgQQAIgNiAAQmwEKsJTjaMHSaZj19hb9EJaJlwbKc5VFzmlGMFSJVk4dDy+eUxa5KOA7tWXqzcmhh",
    "5SYdv+MxcaQKlKWLMa36pfgv20FpEDb03GCtLqjLTRZ7649PugAQ5EmAqIic29CjggHDMIIBvzAJBgNVHRMEAjAAMA4GA1UdDwEB",
    "/wQEAwIDiDBHBgNVHSAEQDA+MDIGCysGAQQBg5EhAQIBMCMwIQYIKwYBBQUHAgEWFWh0dHBzOi8vd3d3LnNrLmVlL0NQUzAIBgYE",
    "AI96AQIwHwYDVR0RBBgwFoEUMzgwMDEwODU3MThAZWVzdGkuZWUwHQYDVR0OBBYEFPlp/ceABC52itoqppEmbf71TJz6MGEGCCsG",
    "AQUFBwEDBFUwUzBRBgYEAI5GAQUwRzBFFj9odHRwczovL3NrLmVlL2VuL3JlcG9zaXRvcnkvY29uZGl0aW9ucy1mb3ItdXNlLW9m",
    "LWNlcnRpZmljYXRlcy8TAkVOMCAGA1UdJQEB/wQWMBQGCCsGAQUFBwMCBggrBgEFBQcDBDAfBgNVHSMEGDAWgBTAhJkpxE6fOwI0",
    "9pnhClYACCk+ezBzBggrBgEFBQcBAQRnMGUwLAYIKwYBBQUHMAGGIGh0dHA6Ly9haWEuZGVtby5zay5lZS9lc3RlaWQyMDE4MDUG",
    "CCsGAQUFBzAChilodHRwOi8vYy5zay5lZS9UZXN0X29mX0VTVEVJRDIwMTguZGVyLmNydDAKBggqhkjOPQQDBAOBjAAwgYgCQgDC",
    "Agybz0u3W+tGI+AX+PiI5CrE9ptEHO5eezR1Jo4j7iGaO0i39xTGUB+NSC7P6AQbyE/ywqJjA1a62jTLcS9GHAJCARxN4NO4eVdW",
    "U3zVohCXm8WN3DWA7XUcn9TZiLGQ29P4xfQZOXJi/z4PNRRsR4plvSNB3dfyBvZn31HhC7my8woi",
);
const WEB_EID_SIGNATURE: &str =
    "0Ov7ME6pTY1K2GXMj8Wxov/o2fGIMEds8OMY5dKdkB0nrqQX7fG1E5mnsbvyHpMDecMUH6Yg+p1HXdgB/lLqOcFZjt/OVXPjAAApC5d1YgRYATDcxsR1zqQwiNcHdmWn";
const WEB_EID_NONCE: &str = "12345678123456781234567812345678912356789123";

#[test]
fn web_eid_reference_token_signature_verifies() {
    let der = STANDARD.decode(WEB_EID_CERTIFICATE).expect("base64");
    let certificate = Certificate::from_der(&der).expect("certificate");
    check_key_usage(&certificate).expect("digitalSignature + clientAuth");
    let key =
        PublicKey::from_spki(&certificate.tbs_certificate.subject_public_key_info).expect("key");
    key.check_fits(TokenAlgorithm::Es384).expect("P-384");
    let signature = STANDARD.decode(WEB_EID_SIGNATURE).expect("base64");
    let expected = Expected {
        origin: "https://ria.ee",
        nonce: WEB_EID_NONCE,
        earlier_nonces: &[],
    };
    assert_eq!(
        check_token_signature(&key, TokenAlgorithm::Es384, &signature, &expected),
        Ok(())
    );
    let elsewhere = Expected {
        origin: "https://ria.ee.example",
        ..expected
    };
    assert_eq!(
        check_token_signature(&key, TokenAlgorithm::Es384, &signature, &elsewhere),
        Err(VerifyError::BadSignature)
    );
}
